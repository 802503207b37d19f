/*
 * filesink.h: a file a loader writes, all or nothing, and one writer at a
 * time.
 *
 * Rows go to a temporary file beside the target (for append, the target's
 * current content is copied into it first). prepare makes it complete and
 * durable (flush, fsync) before the run's decision; commit, after the
 * decision, renames it over the target and syncs the directory, so
 * readers see the old file or the new one, never half of one; close
 * without the decision removes it. The target is never opened through a
 * symbolic link.
 *
 * Writers of one target take turns: each holds an exclusive lock (flock)
 * on the file <target>.sluice-lock from before it reads the old content
 * until after its rename, so two runs appending to one file never lose
 * each other's rows. The lock is the process's: it goes with a runner
 * that dies. Having taken it, a writer first finishes the renames that
 * runs decided to commit but whose runner died before renaming (the
 * state database records them, sql/011_commit.sql), so it appends to
 * their rows, not over them.
 */
#ifndef RUN_FILESINK_H
#define RUN_FILESINK_H

#include <stdbool.h>

#include "buf.h"
#include "engine.h"

/* The lock file of a target: <target> and this suffix. */
#define RUN_FILE_LOCK_SUFFIX ".sluice-lock"

struct run_filesink {
    const char *path; /* the target; in the node's pool */
    char *tmp;        /* in the node's pool; NULL once renamed or removed */
    int fd;
    int lock_fd;
    sl_buf buf;
    bool rows_written; /* anything but the copied content */
};

/*
 * Opens the sink of loader n: the file its config's "path" names
 * (run_file_path(), for writing), waiting for the target's lock (a
 * cancel stops the wait); with "mode" append, the target's content (if
 * any) is kept ahead of the new rows, and *existing says whether there
 * was any. Fills n->part (a file participant). Returns 0, RUN_ECANCELLED,
 * or fails n.
 */
int run_filesink_open(struct run_node *n, struct run_filesink *f,
                      bool *existing);

/* Appends len bytes. Returns 0, or fails n. */
int run_filesink_write(struct run_node *n, struct run_filesink *f,
                       const void *data, size_t len);

/* Flushes and syncs the temporary file, and logs what n wrote. Returns 0,
 * or fails n. */
int run_filesink_prepare(struct run_node *n, struct run_filesink *f);

/* Renames the temporary file over the target. Returns 0, or fails n. */
int run_filesink_commit(struct run_node *n, struct run_filesink *f);

/*
 * Releases the lock and the sink. Unless ok (the run decided to commit),
 * removes the temporary file if it is still there; with ok, a temporary
 * file not yet renamed stays for the sweep. n's participant is resolved
 * when no temporary file is left. Accepts a sink never opened (zeroed).
 */
void run_filesink_close(struct run_node *n, struct run_filesink *f, bool ok);

/*
 * Takes the lock of target path: waiting (with cancel checked every
 * 50 ms when n is not NULL) or, with n NULL, not. Returns the lock's
 * descriptor (close it to release), or SL_ECONFLICT when another holds it
 * (n NULL), RUN_ECANCELLED, or SL_EIO.
 */
int run_file_lock(struct run_node *n, const char *path);

/* Renames tmp over path and syncs the directory. Returns 0 or SL_EIO
 * (errno says why). */
int run_file_replace(const char *tmp, const char *path);

/*
 * Whether path and tmp, a file part read back from the state database,
 * are what a sink of tenant makes: path inside data_dir/<tenant>/ (real
 * paths compared), tmp the temporary file beside it. A runner renames or
 * removes nothing else.
 */
bool run_file_part_ok(const char *data_dir, const char *tenant,
                      const char *path, const char *tmp);

#endif
