/*
 * filesink.h: a file a loader writes, all or nothing.
 *
 * Rows go to a temporary file beside the target (for append, the target's
 * current content is copied into it first); commit makes it durable
 * (fsync) and renames it over the target, so readers see the old file or
 * the new one, never half of one; abort removes it. The target is never
 * opened through a symbolic link.
 */
#ifndef RUN_FILESINK_H
#define RUN_FILESINK_H

#include <stdbool.h>

#include "buf.h"
#include "engine.h"

struct run_filesink {
    const char *path; /* the target; borrowed */
    char *tmp;        /* in the node's pool */
    int fd;
    sl_buf buf;
    bool rows_written; /* anything but the copied content */
};

/*
 * Opens the sink of loader n: the file its config's "path" names
 * (run_file_path(), for writing); with "mode" append, the target's content
 * (if any) is kept ahead of the new rows, and *existing says whether
 * there was any. Returns 0, or fails n.
 */
int run_filesink_open(struct run_node *n, struct run_filesink *f,
                      bool *existing);

/* Appends len bytes. Returns 0, or fails n. */
int run_filesink_write(struct run_node *n, struct run_filesink *f,
                       const void *data, size_t len);

/* Flushes, syncs and renames over the target, and logs what n wrote.
 * Returns 0, or fails n. */
int run_filesink_commit(struct run_node *n, struct run_filesink *f);

/* Removes the temporary file, if it is still there, and releases the
 * sink. Accepts a sink never opened (zeroed). */
void run_filesink_abort(struct run_filesink *f);

#endif
