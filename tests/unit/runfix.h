/*
 * runfix.h: what the runner's unit suites share: a run of their own,
 * with no database and no bus, whose organisation's files live in a fresh
 * temporary data directory, and nodes made by hand for the engine's and
 * the modules' functions.
 *
 * A suite calls runfix_init() in its setup and runfix_free() in its
 * teardown; everything made in between (nodes, paths, the job's pool)
 * goes with runfix_free(), the directory included.
 */
#ifndef SL_TEST_RUNFIX_H
#define SL_TEST_RUNFIX_H

#include <stdbool.h>

#include <jansson.h>

#include "conf.h"
#include "engine.h"
#include "json.h"
#include "log.h"

/* The organisation the run belongs to. */
#define RUNFIX_TENANT "acme"

struct runfix {
    char dir[64]; /* data_dir, made by runfix_init() */
    struct sl_conf conf;
    struct sl_logger log;
    struct run_job job;
    json_t *logged; /* [{"level", "node", "message"}]: the run's log lines */
};

/*
 * Prepares f: a data directory with the organisation's own directory in
 * it, a job with batch_size 5000, no parameters, hooks that record log
 * lines in f->logged. Aborts the test on failure.
 */
void runfix_init(struct runfix *f);

/* Releases what f holds and removes its data directory. */
void runfix_free(struct runfix *f);

/*
 * A node of f's job with id id and config (taken; NULL for {}), as the
 * engine would make it for a module's own functions: its pool, job and
 * config set, no operations, no successors. Freed by runfix_free().
 */
struct run_node *runfix_node(struct runfix *f, const char *id, json_t *config);

/* What a sink node (runfix_sink_node()) was given. */
#define RUNFIX_MAX_BATCHES 64
struct runfix_sink {
    struct run_batch *batches[RUNFIX_MAX_BATCHES]; /* kept, in order */
    int nbatches;
    int fail; /* 0, or what push returns instead (failing the node first
                 when it is SL_ERR), the batch dropped */
};

/*
 * A loader node of f's job that keeps each batch it is given in *s (made
 * empty here), unless s->fail says otherwise. runfix_sink_free() releases
 * the batches kept.
 */
struct run_node *runfix_sink_node(struct runfix *f, const char *id,
                                  struct runfix_sink *s);
void runfix_sink_free(struct runfix_sink *s);

/* A node of f's job with the nnext nodes of next (borrowed) after it. */
struct run_node *runfix_feeding(struct runfix *f, struct run_node **next,
                                int nnext);

/* The absolute path of rel in the organisation's directory (f's pool). */
const char *runfix_path(struct runfix *f, const char *rel);

/* Writes text to rel in the organisation's directory, making its
 * directories. */
void runfix_write(struct runfix *f, const char *rel, const char *text);

/* The content of rel in the organisation's directory (the caller frees
 * it), or NULL when there is no such file. */
char *runfix_read(struct runfix *f, const char *rel);

/* Asserts that rel in the organisation's directory holds exactly want
 * (NULL: that there is no such file). */
void runfix_assert_file(struct runfix *f, const char *rel, const char *want);

/* Whether a line the run logged holds part in its message. */
bool runfix_logged(const struct runfix *f, const char *part);

/* The number of entries in the directory of rel (which must exist). */
int runfix_entries(struct runfix *f, const char *rel_dir);

#endif
