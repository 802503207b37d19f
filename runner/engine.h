/*
 * engine.h: how a run moves rows through its graph.
 *
 * Rows travel as batches: up to batch_size rows of one schema, every value
 * held as text in PostgreSQL's text output form (the form COPY ... TO
 * STDOUT gives and COPY ... FROM STDIN takes), or NULL for SQL NULL. A
 * batch owns its memory (a pool); nodes may change its values in place.
 *
 * A node is an instance of a module (lib/modules.c names them; each has
 * its file here). The engine drives the graph by pushing:
 *
 *   open      each node, in dependency order: read and check the config,
 *             connect, begin transactions.
 *   produce   each extractor in turn: read everything, handing each batch
 *             to run_emit(), which passes it to the node's successors'
 *             push (a copy for every successor after the first).
 *   push      a transformer, gate or loader receives a batch; it passes on
 *             what it keeps with run_emit() (or nothing, for a loader).
 *   finish    every non-extractor, in dependency order, once all its input
 *             has arrived: flush what was held back, deliver verdicts.
 *   prepare   loaders, when every node finished well: make the output
 *             durable but not yet visible (PREPARE TRANSACTION; a synced
 *             temporary file). Before the first prepare, the engine asks
 *             the hook enlist to record every loader's participant (what
 *             it prepares, and where) for the sweep (commit.h).
 *   -         the caller decides: it records the run's end, with the
 *             decision to commit, in the state database, fenced by the
 *             claim (run_engine_commit_last() commits a loader that
 *             cannot prepare, within that decision).
 *   commit    loaders, after the decision to commit (run_engine_settle()):
 *             make the output visible (COMMIT PREPARED; a rename). Until
 *             then nothing a run wrote is visible.
 *   close     every node, always; with ok false, undo (roll back, also a
 *             prepared transaction).
 *
 * Each callback returns 0 or a negative SL_E* code; on failure the node
 * says why with run_node_fail() (a message for the run's error_message,
 * and a code such as QUALITY_CHECK_FAILED). A cancelled run, or one past
 * its deadline, makes run_emit() return RUN_ECANCELLED; callbacks return
 * it as they get it. A run stopped by its deadline fails with
 * PIPELINE_TIMEOUT, its loads rolled back like those of any failed run.
 *
 * Nodes run on the run's thread, one call at a time; a node needs no
 * locks. Everything a node allocates for the run comes from n->pool.
 */
#ifndef RUN_ENGINE_H
#define RUN_ENGINE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>
#include <libpq-fe.h>

#include "conf.h"
#include "db.h"
#include "err.h"
#include "log.h"
#include "modules.h"
#include "pool.h"

/* A run that was cancelled: returned by run_emit() and passed up. */
#define RUN_ECANCELLED (-100)
/* The run is no longer this attempt's: nothing of it may be committed. */
#define RUN_ELOST (-101)

/* Bounds on what a run's data may make the runner hold. */
#define RUN_MAX_COLUMNS     1600 /* PostgreSQL's own limit */
#define RUN_MAX_VALUE_BYTES (64 * 1024 * 1024)
#define RUN_BATCH_DEFAULT   5000
#define RUN_BATCH_MAX       100000

/* A column: its name and the PostgreSQL type a loader creates it as. */
struct run_col {
    const char *name;
    const char *type; /* "text", "bigint", "numeric(10,2)", ... */
};

/* The columns of a batch. Immutable once a batch carries it. */
struct run_schema {
    int ncols;
    struct run_col *cols;
};

/*
 * Rows of one schema. cells holds nrows * ncols pointers, row-major; a
 * NULL pointer is SQL NULL. Values are NUL-terminated UTF-8 text in
 * writable memory of the batch's pool (or of a pool that outlives it).
 */
struct run_batch {
    const struct run_schema *schema;
    size_t nrows, cap; /* cap: rows cells has room for */
    char **cells;
    sl_pool *pool;
};

struct run_job;
struct run_node;

/*
 * What a module does, in the runner. Which module it is, its name and its
 * config's schema are its entry in lib/modules.c; run_module_ops() pairs
 * the two. type is the entry's type again, for the engine's stages
 * (test_modules checks that they agree).
 */
struct run_module_ops {
    enum sl_module_type type;
    int (*open)(struct run_node *n);
    int (*produce)(struct run_node *n); /* extractors only */
    int (*push)(struct run_node *n, struct run_batch *b);
    int (*finish)(struct run_node *n);          /* may be NULL */
    int (*prepare)(struct run_node *n);         /* loaders; may be NULL */
    int (*commit)(struct run_node *n);          /* loaders; may be NULL */
    void (*close)(struct run_node *n, bool ok); /* may be NULL */
};

/*
 * What a loader makes durable before the decision, and where: its
 * participant in the run's commit (sql/011_commit.sql). The loader's open
 * fills it; kind RUN_PART_NONE takes no part. gid names the run, the
 * attempt and the node (run_part_gid()); a postgres target prepares a
 * transaction of that name, a file target is recorded under it.
 */
enum run_part_kind { RUN_PART_NONE, RUN_PART_POSTGRES, RUN_PART_FILE };

struct run_part {
    enum run_part_kind kind;
    char gid[64];
    const char *connector_id; /* postgres: NULL for the warehouse */
    const char *path, *tmp;   /* file: the target, the temporary file */
    /* A postgres target whose server refuses PREPARE TRANSACTION: it
     * commits in one phase, within the decision (the "last resource"),
     * and is not recorded. */
    bool last_resource;
    bool prepared;  /* its prepare succeeded */
    bool committed; /* by run_engine_commit_last(), or the settle */
    bool resolved;  /* committed or undone: the record may go */
};

struct run_node {
    const struct run_module_ops *ops;
    struct run_job *job;
    const char *id;     /* the node's id in the graph */
    const char *module; /* module name */
    json_t *config;     /* borrowed from the job's pipeline */
    int position;       /* in dependency order, from 0 */
    sl_pool *pool;      /* the node's memory for the whole run */
    void *state;        /* the module's own */

    struct run_node **next; /* successors, nnext of them */
    int nnext;
    int nprev;

    /* What the node did, for run_steps and the metrics endpoint. */
    uint64_t rows_in, rows_out, rows_filtered;
    uint64_t rows_failed;                 /* rows set aside for bad values */
    double wall_ms, cpu_ms;               /* spent in this node's own code */
    double nested_wall_ms, nested_cpu_ms; /* in successors, while emitting */
    double started_ms, ended_ms;          /* monotonic, for the step */
    long rss_peak_kb; /* runner RSS seen while the node ran */
    int status;       /* RUN_NODE_* */
    char error[512];
    const char *error_code; /* "QUALITY_CHECK_FAILED", ...; static */
    json_t *result;         /* the node's share of result_data, or NULL; the
                               engine releases it */
    double progress;        /* extractors: how far, 0..1, when known */
    /* Extractors: the bytes of the values they emitted, as text (NULLs
     * count none): what the run read. */
    uint64_t bytes_read;
    struct run_part part; /* loaders: see above */
    /* The columns of the first batch pushed to the node (the job's pool),
     * or NULL: what lineage (lineage.h) says the node received. */
    const struct run_schema *in_schema;
};

enum { RUN_NODE_PENDING, RUN_NODE_RUNNING, RUN_NODE_DONE, RUN_NODE_FAILED };

/*
 * What the engine tells the one who runs it (the worker; a unit test).
 * Every member may be NULL. Called on the run's thread.
 */
struct run_hooks {
    /* A log line of the run; meta (may be NULL) is borrowed. */
    void (*log)(void *arg, const char *level, const char *node_id, json_t *meta,
                const char *message);
    /* Rows moved: n is the node working now. Called often: throttle. */
    void (*progress)(void *arg, struct run_node *n);
    /* n now blocks on c (NULL: no more), which a cancel should interrupt. */
    void (*watch)(void *arg, struct run_node *n, PGconn *c);
    /*
     * Records the participants of the job's loaders (those whose part.kind
     * is not RUN_PART_NONE) before any prepares. Returns 0, RUN_ELOST when
     * the run is no longer this attempt's, or another code (the run then
     * fails). NULL: nothing is recorded.
     */
    int (*enlist)(void *arg, struct run_job *job);
    void *arg;
};

/* How a run ended. */
enum run_end { RUN_END_COMPLETED, RUN_END_FAILED, RUN_END_CANCELLED };

/*
 * What a run's nodes may know of their run. Filled by the caller of
 * run_engine_execute(), which owns it.
 */
struct run_job {
    const char *run_id, *tenant_id, *pipeline_id;
    int attempt;    /* the claim's: 1 for the first */
    json_t *params; /* the run's merged parameters (an object) */
    const struct sl_conf *conf;
    struct sl_db *db; /* the runner's, for this thread; borrowed */
    struct sl_logger *log;
    size_t batch_size;
    atomic_bool cancel;
    int timeout_s;         /* the run's timeout, for its error message */
    double deadline_ms;    /* CLOCK_MONOTONIC, in ms: past it, the run stops
                              and fails with PIPELINE_TIMEOUT; 0: none */
    atomic_bool timed_out; /* stopped because its deadline passed */
    sl_pool *pool;         /* the run's memory */
    struct run_hooks hooks;

    /* Filled by run_engine_execute(). */
    struct run_node *nodes; /* in dependency order */
    int nnodes;
    enum run_end end;
    const char *error_code; /* static, or NULL */
    char error[1024];       /* "" when completed */
    json_t *result;         /* result_data: an object, owned by the job */
    json_t *warnings;       /* result_data.warnings, or NULL; the engine's */
    uint64_t records, records_failed;
    int opened; /* nodes opened and not yet closed */
};

/*
 * Runs definition (a pipeline version: {"nodes": [...], "edges": [...]})
 * as the header comment describes, up to the decision. Returns 0 when
 * the run was carried out to an end, which job->end says (a failed run is
 * an end, not an error), or SL_ENOMEM / SL_EINVAL when it could not be
 * set up (job->error says why). A completed run's loaders are prepared
 * and its nodes open; any other run's nodes are closed, everything
 * undone. Either way run_engine_settle() must follow. The nodes stay in
 * job->nodes, their figures filled, until the job's pool goes.
 */
int run_engine_execute(struct run_job *job, json_t *definition);

/*
 * Commits the loaders that could not prepare (part.last_resource), in
 * one phase, one after another: the caller does this within its decision,
 * after every other loader prepared and before the decision is made
 * durable. Returns 0, or the first failure: the run is then failed
 * (job->end, job->error) and nothing further may be committed.
 */
int run_engine_commit_last(struct run_job *job);

/*
 * Ends a run executed by run_engine_execute(): with commit (the decision
 * is recorded), every prepared loader commits; otherwise each undoes
 * what it prepared. Every node is then closed and its memory released. A
 * loader that cannot end its participant now (its database away) leaves
 * part.resolved false: the sweep (commit.h) ends it. Failures are logged.
 */
void run_engine_settle(struct run_job *job, bool commit);

/*
 * The gid of loader n's participant: sluice_<run id's 32 hex digits>_
 * <attempt>_<node position>, in out.
 */
void run_part_gid(const struct run_node *n, char out[64]);

/* --- for modules ---------------------------------------------------------- */

/*
 * Passes b, which n produced, to n's successors. The batch is theirs
 * afterwards: n must not touch it again. Returns 0, RUN_ECANCELLED, or
 * the first failure of a successor.
 */
int run_emit(struct run_node *n, struct run_batch *b);

/*
 * Marks n failed with a message (printf-style) and an optional code
 * (static string, NULL for none); returns SL_ERR for convenience. The
 * message must never contain a secret.
 */
int run_node_fail(struct run_node *n, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Logs a line for the run (GET /executions/{id}/logs and run.log). level
 * is "DEBUG", "INFO", "WARNING" or "ERROR"; meta may be NULL (stolen). */
void run_node_log(struct run_node *n, const char *level, json_t *meta,
                  const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* A warning of the run: a WARNING line of n's, and an entry of
 * result_data.warnings ({"node_id", "message"}). */
void run_node_warn(struct run_node *n, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* v without the blanks around it: moves the start, cuts the end in place. */
char *run_trim(char *v);

/* Whether the run has been asked to stop. */
bool run_cancelled(const struct run_job *job);

/*
 * Whether the run is past its deadline; once it is, the run is also
 * marked timed out and asked to stop (run_cancelled() says so).
 */
bool run_deadline_passed(struct run_job *job);

/* Milliseconds until the run's deadline (<= 0: passed); INT_MAX when it
 * has none or it is further. */
int run_time_left_ms(const struct run_job *job);

/*
 * The seconds a run of definition def (a pipeline version) is given: its
 * configuration.timeout (seed 000) when it is a whole number of seconds,
 * at most conf's run_timeout_max_seconds, else run_timeout_seconds.
 */
int run_timeout_for(const json_t *def, const struct sl_conf *conf);

/*
 * Registers a connection a node is blocked on so that cancelling the run
 * can interrupt it (PQcancel); NULL unregisters. One per node.
 */
void run_node_watch(struct run_node *n, PGconn *c);

/*
 * Opens the PostgreSQL database n's config names: its connection_id's
 * connector of the run's organisation, or else the organisation's
 * warehouse. *warehouse says which. The connection is the node's
 * (PQfinish() it in close). Returns 0, or fails n and returns < 0.
 */
int run_pg_open(struct run_node *n, PGconn **conn, bool *warehouse);

/*
 * Opens the organisation's warehouse as its own role, sluice_t_<tenant>,
 * for SQL a user wrote: that role can read the organisation's layer
 * schemas (on its search path) and make temporary tables, nothing else,
 * within its limits (warehouse_statement_timeout_ms, _temp_file_limit_mb,
 * _work_mem_mb), which it cannot raise. The role is made the first time,
 * and set up again when its limits are not the configured ones. The
 * connection is the node's (PQfinish() it in close); what the runner
 * itself does on it (staging rows) is not bound by the role's statement
 * timeout: call run_pg_timeout() with it before the user's SQL. Returns 0,
 * or fails n and returns < 0.
 */
int run_wh_open_org(struct run_node *n, PGconn **conn);

/*
 * Sets the statement_timeout of the session c: the time the run has left
 * until its deadline, or cap_ms when that is less (0: no cap), so that no
 * statement outlives the run, even should the runner die. Returns 0,
 * RUN_ECANCELLED when the deadline has passed, or fails n.
 */
int run_pg_timeout(struct run_node *n, PGconn *c, int cap_ms);

/*
 * The warehouse schema of layer (NULL: "bronze") for the run's
 * organisation, t_<tenant>_<layer>, in n's pool; NULL (n failed) when
 * layer is not bronze, silver or gold.
 */
const char *run_wh_schema(struct run_node *n, const char *layer);

/*
 * The absolute path of rel, a file n's config names under its
 * connection's directory, or the organisation's own under data_dir. A
 * path that would leave that directory (.., a symbolic link out) is
 * refused. With for_write, missing parent directories inside it are
 * made. Returns the path in n's pool, or NULL with n failed.
 */
const char *run_file_path(struct run_node *n, const char *rel, bool for_write);

/*
 * Opens for reading the regular file n's config's "path" names (as
 * run_file_path()): the descriptor in *fd (n's to close), its size in
 * *size. Returns 0, or fails n.
 */
int run_file_open(struct run_node *n, int *fd, off_t *size);

/* --- batches ---------------------------------------------------------------
 */

/*
 * A new empty batch of schema s with room for cap rows. Returns NULL when
 * out of memory. Free with run_batch_free().
 */
struct run_batch *run_batch_new(const struct run_schema *s, size_t cap);
void run_batch_free(struct run_batch *b);

/* A deep copy of b (for a second successor). NULL when out of memory. */
struct run_batch *run_batch_clone(const struct run_batch *b);

/* The value at row r, column c (NULL for SQL NULL). */
static inline char *
run_cell(const struct run_batch *b, size_t r, int c)
{
    return b->cells[r * (size_t)b->schema->ncols + (size_t)c];
}

/*
 * Appends a row of b->schema->ncols empty cells and returns them, growing
 * cells as needed; NULL when out of memory.
 */
char **run_batch_add_row(struct run_batch *b);

/* The index of the column named name, or -1. */
int run_schema_find(const struct run_schema *s, const char *name);

/* Whether a and b have the same column names in the same order. */
bool run_schema_same(const struct run_schema *a, const struct run_schema *b);

/* A copy of s in pool p, or NULL. */
struct run_schema *run_schema_copy(sl_pool *p, const struct run_schema *s);

/* --- the module table ------------------------------------------------------
 */

/*
 * The operations of m, an entry of lib/modules.c's sl_modules (one file
 * per module here), or NULL when m is NULL.
 */
const struct run_module_ops *run_module_ops(const struct sl_module *m);

#endif
