/*
 * filesink.h: a file a loader writes, all or nothing.
 *
 * Rows go to a temporary file beside the target (for append, the target's
 * current content is copied into it first). prepare makes it complete and
 * durable (flush, fsync) before the run's decision; commit, after the
 * decision, renames it over the target and syncs the directory, so
 * readers see the old file or the new one, never half of one; close
 * without the decision removes it. The target is never opened through a
 * symbolic link.
 */
#ifndef RUN_FILESINK_H
#define RUN_FILESINK_H

#include <stdbool.h>

#include "buf.h"
#include "engine.h"

struct run_filesink {
    const char *path; /* the target; in the node's pool */
    char *tmp;        /* in the node's pool; NULL once renamed or removed */
    int fd;
    sl_buf buf;
    bool rows_written; /* anything but the copied content */
};

/*
 * Opens the sink of loader n: the file its config's "path" names
 * (run_file_path(), for writing); with "mode" append, the target's
 * content (if any) is kept ahead of the new rows, and *existing says
 * whether there was any. Fills n->part (a file participant). Returns 0,
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
 * Releases the sink. Unless ok (the run decided to commit),
 * removes the temporary file if it is still there; with ok, a temporary
 * file not yet renamed stays for the sweep. n's participant is resolved
 * when no temporary file is left. Accepts a sink never opened (zeroed).
 */
void run_filesink_close(struct run_node *n, struct run_filesink *f, bool ok);

/* Renames tmp over path and syncs the directory. Returns 0 or SL_EIO
 * (errno says why). */
int run_file_replace(const char *tmp, const char *path);

#endif
