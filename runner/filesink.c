/*
 * filesink.c: all-or-nothing output files, one writer at a time (see
 * filesink.h).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "err.h"
#include "filesink.h"
#include "json.h"
#include "stmt.h"

#define SINK_CHUNK   (256 * 1024)
#define LOCK_POLL_MS 50

static int
flush(struct run_node *n, struct run_filesink *f)
{
    size_t off = 0;

    while (off < f->buf.len) {
        ssize_t w = write(f->fd, f->buf.data + off, f->buf.len - off);

        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return run_node_fail(n, "IO_ERROR", "cannot write %s: %s", f->path,
                                 strerror(errno));
        off += (size_t)w;
    }
    sl_buf_reset(&f->buf);
    return 0;
}

int
run_file_lock(struct run_node *n, const char *path)
{
    char lock[4096];
    bool said = false;
    int fd;

    if (snprintf(lock, sizeof(lock), "%s%s", path, RUN_FILE_LOCK_SUFFIX) >=
        (int)sizeof(lock))
        return SL_EIO;
    fd = open(lock, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0640);
    if (fd < 0)
        return SL_EIO;
    while (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        if (errno == EINTR)
            continue;
        if (errno != EWOULDBLOCK || n == NULL || run_cancelled(n->job)) {
            int e = errno;

            close(fd);
            return e != EWOULDBLOCK ? SL_EIO
                   : n == NULL      ? SL_ECONFLICT
                                    : RUN_ECANCELLED;
        }
        if (!said)
            run_node_log(n, "INFO", NULL, "Waiting for another run writing %s",
                         sl_json_get_str(n->config, "path"));
        said = true;
        usleep(LOCK_POLL_MS * 1000);
    }
    return fd;
}

/* Syncs the directory of path, so that a rename in it is durable. */
static int
sync_dir(const char *path)
{
    char dir[4096];
    const char *slash = strrchr(path, '/');
    int fd, rc;

    if (slash == NULL || (size_t)(slash - path) >= sizeof(dir))
        return 0;
    memcpy(dir, path, (size_t)(slash - path));
    dir[slash - path] = '\0';
    fd = open(dir[0] ? dir : "/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return SL_EIO;
    rc = fsync(fd) == 0 ? 0 : SL_EIO;
    close(fd);
    return rc;
}

int
run_file_replace(const char *tmp, const char *path)
{
    if (rename(tmp, path) != 0)
        return SL_EIO;
    return sync_dir(path);
}

bool
run_file_part_ok(const char *data_dir, const char *tenant, const char *path,
                 const char *tmp)
{
    char root[PATH_MAX], dir[PATH_MAX], real[PATH_MAX];
    const char *slash = strrchr(path, '/');
    size_t plen = strlen(path), rlen;

    /* tmp: path, ".sluice-" and mkstemp's six characters. */
    if (strncmp(tmp, path, plen) != 0 || strlen(tmp) != plen + 14 ||
        strncmp(tmp + plen, ".sluice-", 8) != 0 ||
        strchr(tmp + plen, '/') != NULL || slash == NULL ||
        (size_t)(slash - path) >= sizeof(dir) ||
        snprintf(root, sizeof(root), "%s/%s", data_dir, tenant) >=
            (int)sizeof(root) ||
        realpath(root, real) == NULL)
        return false;
    memcpy(root, real, sizeof(root));
    memcpy(dir, path, (size_t)(slash - path));
    dir[slash - path] = '\0';
    if (realpath(dir, real) == NULL)
        return false;
    rlen = strlen(root);
    return strncmp(real, root, rlen) == 0 &&
           (real[rlen] == '/' || real[rlen] == '\0');
}

/*
 * Under the target's lock: renames the temporary files that runs decided
 * to commit but did not rename (their runner died), oldest decision
 * first, and forgets them. A job without a state database (a unit test's)
 * has none. Returns 0, or fails n.
 */
static int
finish_left_renames(struct run_node *n, const char *path)
{
    struct run_job *job = n->job;
    const char *p[1] = {path};
    PGresult *res = NULL;
    int rc;

    if (job->db == NULL)
        return 0;
    rc = sl_db_exec_scoped(job->db, job->tenant_id, NULL, RUN_ST_PART_FILE, 1,
                           p, &res);
    if (rc != 0)
        return run_node_fail(n, NULL, "cannot read what other runs left in %s",
                             sl_json_get_str(n->config, "path"));
    for (int i = 0; i < PQntuples(res) && rc == 0; i++) {
        const char *tmp = PQgetvalue(res, i, 1);
        char arr[96];
        const char *q[1] = {arr};
        PGresult *r2 = NULL;

        if (!run_file_part_ok(job->conf->data_dir, job->tenant_id, path, tmp)) {
            rc = run_node_fail(n, NULL,
                               "a recorded part of %s is not one "
                               "this runner writes",
                               sl_json_get_str(n->config, "path"));
            break;
        }
        if (access(tmp, F_OK) == 0) {
            if (run_file_replace(tmp, path) != 0) {
                rc = run_node_fail(n, "IO_ERROR",
                                   "cannot finish an earlier run's write of "
                                   "%s: %s",
                                   sl_json_get_str(n->config, "path"),
                                   strerror(errno));
                break;
            }
            run_node_log(n, "INFO", NULL,
                         "Finished an earlier run's write of %s first",
                         sl_json_get_str(n->config, "path"));
        }
        snprintf(arr, sizeof(arr), "{%s}", PQgetvalue(res, i, 0));
        if (sl_db_exec_scoped(job->db, job->tenant_id, NULL, RUN_ST_PART_DONE,
                              1, q, &r2) == 0)
            PQclear(r2);
    }
    PQclear(res);
    return rc;
}

int
run_filesink_open(struct run_node *n, struct run_filesink *f, bool *existing)
{
    const char *mode = sl_json_get_str(n->config, "mode");
    const char *path =
        run_file_path(n, sl_json_get_str(n->config, "path"), true);
    bool append = mode != NULL && strcmp(mode, "append") == 0;
    int in = -1, rc = 0;
    char chunk[65536];
    ssize_t r;

    memset(f, 0, sizeof(*f));
    f->fd = -1;
    f->lock_fd = -1;
    *existing = false;
    if (path == NULL)
        return SL_ERR;
    f->path = path;
    sl_buf_init(&f->buf, SINK_CHUNK + RUN_MAX_VALUE_BYTES);
    f->lock_fd = run_file_lock(n, path);
    if (f->lock_fd == RUN_ECANCELLED)
        return RUN_ECANCELLED;
    if (f->lock_fd < 0)
        return run_node_fail(n, "IO_ERROR", "cannot lock %s: %s",
                             sl_json_get_str(n->config, "path"),
                             strerror(errno));
    if ((rc = finish_left_renames(n, path)) != 0)
        return rc;
    f->tmp = sl_psprintf(n->pool, "%s.sluice-XXXXXX", path);
    if (f->tmp == NULL)
        return SL_ENOMEM;
    if ((f->fd = mkstemp(f->tmp)) < 0) {
        f->tmp = NULL;
        return run_node_fail(n, "IO_ERROR",
                             "cannot create a file beside %s: %s", path,
                             strerror(errno));
    }
    fchmod(f->fd, 0640);
    n->part.kind = RUN_PART_FILE;
    run_part_gid(n, n->part.gid);
    n->part.path = f->path;
    n->part.tmp = f->tmp;
    if (!append)
        return 0;
    in = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (in < 0 && errno == ENOENT)
        return 0;
    if (in < 0)
        return run_node_fail(n, "IO_ERROR", "cannot read %s: %s", path,
                             strerror(errno));
    while ((r = read(in, chunk, sizeof(chunk))) != 0) {
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            rc = run_node_fail(n, "IO_ERROR", "cannot read %s: %s", path,
                               strerror(errno));
            break;
        }
        *existing = true;
        if ((rc = run_filesink_write(n, f, chunk, (size_t)r)) != 0)
            break;
    }
    close(in);
    return rc;
}

int
run_filesink_write(struct run_node *n, struct run_filesink *f, const void *data,
                   size_t len)
{
    if (sl_buf_append(&f->buf, data, len) != 0)
        return run_node_fail(n, "RESOURCE_LIMIT", "a row is too large");
    return f->buf.len >= SINK_CHUNK ? flush(n, f) : 0;
}

int
run_filesink_prepare(struct run_node *n, struct run_filesink *f)
{
    int rc = flush(n, f);

    if (rc != 0)
        return rc;
    if (fsync(f->fd) != 0 || close(f->fd) != 0) {
        f->fd = -1;
        return run_node_fail(n, "IO_ERROR", "cannot write %s: %s", f->path,
                             strerror(errno));
    }
    f->fd = -1;
    run_node_log(n, "INFO", NULL, "Wrote %llu rows to %s",
                 (unsigned long long)n->rows_in,
                 sl_json_get_str(n->config, "path"));
    return 0;
}

int
run_filesink_commit(struct run_node *n, struct run_filesink *f)
{
    if (f->tmp == NULL)
        return 0;
    if (run_file_replace(f->tmp, f->path) != 0 && access(f->tmp, F_OK) == 0)
        return run_node_fail(n, "IO_ERROR", "cannot replace %s: %s", f->path,
                             strerror(errno));
    f->tmp = NULL;
    n->part.resolved = true;
    return 0;
}

void
run_filesink_close(struct run_node *n, struct run_filesink *f, bool ok)
{
    if (f->path == NULL)
        return;
    if (f->fd >= 0)
        close(f->fd);
    f->fd = -1;
    /* Decided committed but not renamed: the sweep renames it. */
    if (!ok && f->tmp != NULL && (unlink(f->tmp) == 0 || errno == ENOENT))
        f->tmp = NULL;
    if (f->tmp == NULL)
        n->part.resolved = true;
    if (f->lock_fd >= 0)
        close(f->lock_fd);
    f->lock_fd = -1;
    sl_buf_free(&f->buf);
}
