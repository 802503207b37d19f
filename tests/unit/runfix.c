/*
 * runfix.c: a run of the unit suites' own (see runfix.h).
 */
#include "runfix.h"

#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "err.h"
#include "filesink.h"
#include "unit.h"

/* Records a log line of the run. */
static void
record(void *arg, const char *level, const char *node_id, json_t *meta,
       const char *message)
{
    struct runfix *f = arg;

    json_array_append_new(f->logged,
                          json_pack("{s:s, s:s?, s:s}", "level", level, "node",
                                    node_id, "message", message));
}

void
runfix_init(struct runfix *f)
{
    memset(f, 0, sizeof(*f));
    snprintf(f->dir, sizeof(f->dir), "/tmp/sluice-runfix.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(f->dir));
    f->conf.data_dir = f->dir;
    f->conf.connector_timeout_ms = 5000;
    sl_log_init(&f->log, "runfix", SL_LOG_ERROR, 2);
    f->logged = json_array();
    f->job.run_id = "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b";
    f->job.tenant_id = RUNFIX_TENANT;
    f->job.pipeline_id = "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5c";
    f->job.params = json_object();
    f->job.conf = &f->conf;
    f->job.log = &f->log;
    f->job.batch_size = RUN_BATCH_DEFAULT;
    atomic_init(&f->job.cancel, false);
    f->job.pool = sl_pool_create(0, 0);
    ck_assert_ptr_nonnull(f->job.pool);
    f->job.hooks.log = record;
    f->job.hooks.arg = f;
    ck_assert_int_eq(mkdir(runfix_path(f, ""), 0750), 0);
}

static int
remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    return remove(path);
}

void
runfix_free(struct runfix *f)
{
    nftw(f->dir, remove_one, 16, FTW_DEPTH | FTW_PHYS);
    json_decref(f->job.result);
    json_decref(f->job.params);
    json_decref(f->logged);
    sl_pool_destroy(f->job.pool);
    memset(f, 0, sizeof(*f));
}

/* Releases a node's pool with the job's. */
static void
pool_destroy(void *p)
{
    sl_pool_destroy(p);
}

struct run_node *
runfix_node(struct runfix *f, const char *id, json_t *config)
{
    struct run_node *n = sl_pcalloc(f->job.pool, sizeof(*n));

    ck_assert_ptr_nonnull(n);
    n->job = &f->job;
    n->id = sl_pstrdup(f->job.pool, id);
    n->module = "test";
    n->config =
        sl_json_pool_own(f->job.pool, config != NULL ? config : json_object());
    n->pool = sl_pool_create(0, 0);
    ck_assert_ptr_nonnull(n->pool);
    ck_assert_int_eq(sl_pool_cleanup_add(f->job.pool, pool_destroy, n->pool),
                     0);
    return n;
}

static int
sink_push(struct run_node *n, struct run_batch *b)
{
    struct runfix_sink *s = n->state;

    if (s->fail != 0) {
        run_batch_free(b);
        return s->fail == SL_ERR ? run_node_fail(n, "TEST", "refused")
                                 : s->fail;
    }
    ck_assert_int_lt(s->nbatches, RUNFIX_MAX_BATCHES);
    s->batches[s->nbatches++] = b;
    return 0;
}

static const struct run_module_ops sink_ops = {
    .type = SL_MODULE_LOADER,
    .push = sink_push,
};

struct run_node *
runfix_sink_node(struct runfix *f, const char *id, struct runfix_sink *s)
{
    struct run_node *n = runfix_node(f, id, NULL);

    memset(s, 0, sizeof(*s));
    n->ops = &sink_ops;
    n->state = s;
    return n;
}

void
runfix_sink_free(struct runfix_sink *s)
{
    for (int i = 0; i < s->nbatches; i++)
        run_batch_free(s->batches[i]);
    s->nbatches = 0;
}

/* A source fed by the test itself: run_emit() counts what it reads. */
static const struct run_module_ops source_ops = {
    .type = SL_MODULE_EXTRACTOR,
};

struct run_node *
runfix_feeding(struct runfix *f, struct run_node **next, int nnext)
{
    struct run_node *n = runfix_node(f, "source", NULL);

    n->ops = &source_ops;
    n->next = next;
    n->nnext = nnext;
    for (int i = 0; i < nnext; i++)
        next[i]->nprev++;
    return n;
}

const char *
runfix_path(struct runfix *f, const char *rel)
{
    return sl_psprintf(f->job.pool, "%s/%s/%s", f->dir, RUNFIX_TENANT, rel);
}

void
runfix_write(struct runfix *f, const char *rel, const char *text)
{
    char *path = sl_pstrdup(f->job.pool, runfix_path(f, rel));
    FILE *out;

    /* mkdir -p of the file's directory. */
    for (char *s = path + strlen(f->dir) + 1; *s != '\0'; s++) {
        if (*s != '/')
            continue;
        *s = '\0';
        ck_assert_msg(mkdir(path, 0750) == 0 || errno == EEXIST, "%s", path);
        *s = '/';
    }
    out = fopen(path, "w");
    ck_assert_msg(out != NULL, "%s", path);
    ck_assert_int_eq(fputs(text, out) >= 0, 1);
    ck_assert_int_eq(fclose(out), 0);
}

char *
runfix_read(struct runfix *f, const char *rel)
{
    FILE *in = fopen(runfix_path(f, rel), "r");
    char *text;
    long len;

    if (in == NULL)
        return NULL;
    ck_assert_int_eq(fseek(in, 0, SEEK_END), 0);
    len = ftell(in);
    ck_assert_int_ge(len, 0);
    rewind(in);
    text = malloc((size_t)len + 1);
    ck_assert_ptr_nonnull(text);
    ck_assert_uint_eq(fread(text, 1, (size_t)len, in), (size_t)len);
    text[len] = '\0';
    fclose(in);
    return text;
}

/* Whether s ends with suffix. */
static bool
has_suffix(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);

    return n >= k && strcmp(s + n - k, suffix) == 0;
}

int
runfix_entries(struct runfix *f, const char *rel_dir)
{
    DIR *d = opendir(runfix_path(f, rel_dir));
    struct dirent *e;
    int n = 0;

    ck_assert_ptr_nonnull(d);
    while ((e = readdir(d)) != NULL)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0 &&
            !has_suffix(e->d_name, RUN_FILE_LOCK_SUFFIX))
            n++;
    closedir(d);
    return n;
}

void
runfix_assert_file(struct runfix *f, const char *rel, const char *want)
{
    char *got = runfix_read(f, rel);

    if (want == NULL)
        ck_assert_msg(got == NULL, "%s was written: %s", rel, got);
    else
        ck_assert_msg(got != NULL && strcmp(got, want) == 0,
                      "%s holds:\n%s\nnot:\n%s", rel, got ? got : "(none)",
                      want);
    free(got);
}

bool
runfix_logged(const struct runfix *f, const char *part)
{
    json_t *line;
    size_t i;

    json_array_foreach(f->logged, i, line)
    {
        const char *m = json_string_value(json_object_get(line, "message"));

        if (m != NULL && strstr(m, part) != NULL)
            return true;
    }
    return false;
}
