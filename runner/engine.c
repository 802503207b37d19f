/*
 * engine.c: builds a run's graph of nodes from a pipeline version and
 * pushes its rows through, as engine.h describes; batches and schemas.
 *
 * Each node's time is its own: while a node emits, the time its
 * successors spend is counted as theirs (nested_*), not its. Peak memory
 * is the runner's resident size sampled as each node works: nodes share
 * one process, so it is an upper bound of what the node needed.
 */
#include "config.h"

#include <ctype.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "engine.h"
#include "json.h"

/* The largest pool one batch may take: RUN_BATCH_MAX rows of wide text. */
#define BATCH_POOL_MAX ((size_t)1 << 30)

extern const struct run_module_ops run_mod_pg_extract, run_mod_csv_extract,
    run_mod_jsonl_extract, run_mod_sql, run_mod_cleaner, run_mod_filter,
    run_mod_select, run_mod_rename, run_mod_cast, run_mod_pii_mask,
    run_mod_quality_gate, run_mod_pg_load, run_mod_csv_load, run_mod_jsonl_load;

/* The operations of each module of lib/modules.c, by its id. */
static const struct run_module_ops *const module_table[SL_MOD_COUNT_] = {
    [SL_MOD_PG_EXTRACT] = &run_mod_pg_extract,
    [SL_MOD_CSV_EXTRACT] = &run_mod_csv_extract,
    [SL_MOD_JSONL_EXTRACT] = &run_mod_jsonl_extract,
    [SL_MOD_SQL] = &run_mod_sql,
    [SL_MOD_CLEANER] = &run_mod_cleaner,
    [SL_MOD_FILTER] = &run_mod_filter,
    [SL_MOD_SELECT] = &run_mod_select,
    [SL_MOD_RENAME] = &run_mod_rename,
    [SL_MOD_CAST] = &run_mod_cast,
    [SL_MOD_PII_MASK] = &run_mod_pii_mask,
    [SL_MOD_QUALITY_GATE] = &run_mod_quality_gate,
    [SL_MOD_PG_LOAD] = &run_mod_pg_load,
    [SL_MOD_CSV_LOAD] = &run_mod_csv_load,
    [SL_MOD_JSONL_LOAD] = &run_mod_jsonl_load,
};

const struct run_module_ops *
run_module_ops(const struct sl_module *m)
{
    return m != NULL && m->id >= 0 && m->id < SL_MOD_COUNT_
               ? module_table[m->id]
               : NULL;
}

/* --- batches and schemas ----------------------------------------------------
 */

struct run_batch *
run_batch_new(const struct run_schema *s, size_t cap)
{
    sl_pool *p = sl_pool_create(64 * 1024, BATCH_POOL_MAX);
    struct run_batch *b;

    if (p == NULL)
        return NULL;
    b = sl_pcalloc(p, sizeof(*b));
    if (cap == 0)
        cap = 1;
    if (b == NULL || (b->cells = sl_palloc(p, cap * (size_t)s->ncols *
                                                  sizeof(char *))) == NULL) {
        sl_pool_destroy(p);
        return NULL;
    }
    b->schema = s;
    b->cap = cap;
    b->pool = p;
    return b;
}

void
run_batch_free(struct run_batch *b)
{
    if (b != NULL)
        sl_pool_destroy(b->pool);
}

char **
run_batch_add_row(struct run_batch *b)
{
    size_t w = (size_t)b->schema->ncols;
    char **row;

    if (b->nrows == b->cap) {
        char **cells = sl_palloc(b->pool, 2 * b->cap * w * sizeof(char *));

        if (cells == NULL)
            return NULL;
        memcpy(cells, b->cells, b->nrows * w * sizeof(char *));
        b->cells = cells;
        b->cap *= 2;
    }
    row = b->cells + b->nrows * w;
    memset(row, 0, w * sizeof(char *));
    b->nrows++;
    return row;
}

struct run_batch *
run_batch_clone(const struct run_batch *b)
{
    struct run_batch *c = run_batch_new(b->schema, b->nrows);
    size_t n = b->nrows * (size_t)b->schema->ncols;

    if (c == NULL)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        if (b->cells[i] != NULL &&
            (c->cells[i] = sl_pstrdup(c->pool, b->cells[i])) == NULL) {
            run_batch_free(c);
            return NULL;
        }
        if (b->cells[i] == NULL)
            c->cells[i] = NULL;
    }
    c->nrows = b->nrows;
    return c;
}

int
run_schema_find(const struct run_schema *s, const char *name)
{
    for (int i = 0; i < s->ncols; i++)
        if (strcmp(s->cols[i].name, name) == 0)
            return i;
    return -1;
}

bool
run_schema_same(const struct run_schema *a, const struct run_schema *b)
{
    if (a == b)
        return true;
    if (a->ncols != b->ncols)
        return false;
    for (int i = 0; i < a->ncols; i++)
        if (strcmp(a->cols[i].name, b->cols[i].name) != 0)
            return false;
    return true;
}

struct run_schema *
run_schema_copy(sl_pool *p, const struct run_schema *s)
{
    struct run_schema *c = sl_palloc(p, sizeof(*c));

    if (c == NULL || (c->cols = sl_palloc(p, (size_t)(s->ncols ? s->ncols : 1) *
                                                 sizeof(*c->cols))) == NULL)
        return NULL;
    c->ncols = s->ncols;
    for (int i = 0; i < s->ncols; i++) {
        c->cols[i].name = sl_pstrdup(p, s->cols[i].name);
        c->cols[i].type = sl_pstrdup(p, s->cols[i].type);
        if (c->cols[i].name == NULL || c->cols[i].type == NULL)
            return NULL;
    }
    return c;
}

/* --- what nodes call --------------------------------------------------------
 */

char *
run_trim(char *v)
{
    char *e;

    while (isspace((unsigned char)*v))
        v++;
    e = v + strlen(v);
    while (e > v && isspace((unsigned char)e[-1]))
        e--;
    *e = '\0';
    return v;
}

bool
run_cancelled(const struct run_job *job)
{
    return atomic_load_explicit(&job->cancel, memory_order_relaxed);
}

/* Milliseconds of the monotonic clock and of this thread's CPU. */
static double
ms_of(clockid_t id)
{
    struct timespec ts;

    clock_gettime(id, &ts);
    return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

int
run_timeout_for(const json_t *def, const struct sl_conf *conf)
{
    json_t *t = json_object_get(json_object_get(def, "configuration"),
                                "timeout");
    json_int_t s = json_is_integer(t) ? json_integer_value(t) : 0;

    if (s < 1)
        return conf->run_timeout_seconds;
    return s > conf->run_timeout_max_seconds ? conf->run_timeout_max_seconds
                                             : (int)s;
}

int
run_time_left_ms(const struct run_job *job)
{
    double left = job->deadline_ms - ms_of(CLOCK_MONOTONIC);

    if (job->deadline_ms <= 0 || left >= INT_MAX)
        return INT_MAX;
    return left <= 0 ? 0 : (int)left + 1;
}

bool
run_deadline_passed(struct run_job *job)
{
    if (run_time_left_ms(job) > 0)
        return false;
    atomic_store(&job->timed_out, true);
    atomic_store(&job->cancel, true);
    return true;
}

int
run_node_fail(struct run_node *n, const char *code, const char *fmt, ...)
{
    va_list ap;

    /* The first failure is the one that explains. */
    if (n->status == RUN_NODE_FAILED)
        return SL_ERR;
    va_start(ap, fmt);
    vsnprintf(n->error, sizeof(n->error), fmt, ap);
    va_end(ap);
    n->error_code = code;
    n->status = RUN_NODE_FAILED;
    return SL_ERR;
}

void
run_node_log(struct run_node *n, const char *level, json_t *meta,
             const char *fmt, ...)
{
    const struct run_hooks *h = &n->job->hooks;
    char msg[1024];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (h->log != NULL)
        h->log(h->arg, level, n->id, meta, msg);
    json_decref(meta);
}

void
run_node_warn(struct run_node *n, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    run_node_log(n, "WARNING", NULL, "%s", msg);
    if (n->job->warnings == NULL)
        n->job->warnings = json_array();
    json_array_append_new(n->job->warnings, json_pack("{s:s, s:s}", "node_id",
                                                      n->id, "message", msg));
}

void
run_part_gid(const struct run_node *n, char out[64])
{
    char hex[33];
    int k = 0;

    for (const char *c = n->job->run_id; *c != '\0' && k < 32; c++)
        if (*c != '-')
            hex[k++] = *c;
    hex[k] = '\0';
    snprintf(out, 64, "sluice_%s_%d_%d", hex, n->job->attempt, n->position);
}

void
run_node_watch(struct run_node *n, PGconn *c)
{
    const struct run_hooks *h = &n->job->hooks;

    if (h->watch != NULL)
        h->watch(h->arg, n, c);
}

/* The runner's resident size in KiB, or 0. */
static long
rss_kb(void)
{
    long pages = 0, resident = 0;
    FILE *f = fopen("/proc/self/statm", "re");

    if (f == NULL)
        return 0;
    if (fscanf(f, "%ld %ld", &pages, &resident) != 2)
        resident = 0;
    fclose(f);
    return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

/* Time and memory of one call into a node. */
struct span {
    double wall, cpu, nested_wall, nested_cpu;
};

static void
span_begin(struct run_node *n, struct span *s)
{
    s->wall = ms_of(CLOCK_MONOTONIC);
    s->cpu = ms_of(CLOCK_THREAD_CPUTIME_ID);
    s->nested_wall = n->nested_wall_ms;
    s->nested_cpu = n->nested_cpu_ms;
    if (n->started_ms == 0)
        n->started_ms = s->wall;
}

static void
span_end(struct run_node *n, const struct span *s)
{
    double wall = ms_of(CLOCK_MONOTONIC), cpu = ms_of(CLOCK_THREAD_CPUTIME_ID);
    long rss = rss_kb();

    n->wall_ms += (wall - s->wall) - (n->nested_wall_ms - s->nested_wall);
    n->cpu_ms += (cpu - s->cpu) - (n->nested_cpu_ms - s->nested_cpu);
    n->ended_ms = wall;
    if (rss > n->rss_peak_kb)
        n->rss_peak_kb = rss;
}

/*
 * After n's code returned rc: unless rc is 0 or a cancel, or the failure
 * is explained already (by n, or by a node n passed rows to, whose
 * failure rc only carries up), n failed, with rc's text.
 */
static void
blame(struct run_node *n, int rc)
{
    if (rc == 0 || rc == RUN_ECANCELLED || n->status == RUN_NODE_FAILED)
        return;
    for (int i = 0; i < n->job->nnodes; i++)
        if (n->job->nodes[i].status == RUN_NODE_FAILED)
            return;
    run_node_fail(n, NULL, "%s", sl_strerror(rc));
}

static int
call_push(struct run_node *n, struct run_batch *b)
{
    struct span s;
    int rc;

    if (n->status == RUN_NODE_FAILED) {
        run_batch_free(b);
        return SL_ERR;
    }
    n->status = RUN_NODE_RUNNING;
    n->rows_in += b->nrows;
    if (n->in_schema == NULL && n->rows_in == b->nrows && b->schema != NULL)
        n->in_schema = run_schema_copy(n->job->pool, b->schema);
    span_begin(n, &s);
    rc = n->ops->push(n, b);
    span_end(n, &s);
    blame(n, rc);
    return rc;
}

/* The bytes of the values of b, in their text form. */
static uint64_t
batch_bytes(const struct run_batch *b)
{
    size_t cells = b->nrows * (size_t)b->schema->ncols;
    uint64_t bytes = 0;

    for (size_t i = 0; i < cells; i++)
        if (b->cells[i] != NULL)
            bytes += strlen(b->cells[i]);
    return bytes;
}

int
run_emit(struct run_node *n, struct run_batch *b)
{
    const struct run_hooks *h = &n->job->hooks;
    double wall, cpu;
    int rc = 0;

    /* What the run read: counted where rows enter the graph, in the
     * extractor's own time. */
    if (n->ops->type == SL_MODULE_EXTRACTOR)
        n->bytes_read += batch_bytes(b);
    wall = ms_of(CLOCK_MONOTONIC);
    cpu = ms_of(CLOCK_THREAD_CPUTIME_ID);
    n->rows_out += b->nrows;
    if (h->progress != NULL)
        h->progress(h->arg, n);
    if (run_cancelled(n->job) || run_deadline_passed(n->job)) {
        run_batch_free(b);
        return RUN_ECANCELLED;
    }
    if (b->nrows == 0 || n->nnext == 0) {
        run_batch_free(b);
        goto out;
    }
    for (int i = 1; i < n->nnext && rc == 0; i++) {
        struct run_batch *c = run_batch_clone(b);

        rc = c != NULL ? call_push(n->next[i], c) : SL_ENOMEM;
    }
    if (rc == 0)
        rc = call_push(n->next[0], b);
    else
        run_batch_free(b);
out:
    n->nested_wall_ms += ms_of(CLOCK_MONOTONIC) - wall;
    n->nested_cpu_ms += ms_of(CLOCK_THREAD_CPUTIME_ID) - cpu;
    if (rc == 0 && run_cancelled(n->job))
        rc = RUN_ECANCELLED;
    return rc;
}

/* --- building the graph -----------------------------------------------------
 */

static int __attribute__((format(printf, 2, 3)))
setup_fail(struct run_job *job, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(job->error, sizeof(job->error), fmt, ap);
    va_end(ap);
    job->end = RUN_END_FAILED;
    return SL_EINVAL;
}

/* The node of job whose id is id, or NULL. */
static struct run_node *
node_by_id(struct run_job *job, const char *id)
{
    for (int i = 0; id != NULL && i < job->nnodes; i++)
        if (strcmp(job->nodes[i].id, id) == 0)
            return &job->nodes[i];
    return NULL;
}

static int
build(struct run_job *job, json_t *definition)
{
    json_t *nodes = json_object_get(definition, "nodes");
    json_t *edges = json_object_get(definition, "edges");
    json_t *v;
    size_t i;

    if (!json_is_array(nodes) || json_array_size(nodes) == 0)
        return setup_fail(job, "%s", "the pipeline has no nodes");
    job->nnodes = (int)json_array_size(nodes);
    job->nodes = sl_pcalloc(job->pool, sizeof(*job->nodes) * job->nnodes);
    if (job->nodes == NULL)
        return SL_ENOMEM;
    json_array_foreach(nodes, i, v)
    {
        struct run_node *n = &job->nodes[i];
        const char *type = sl_json_get_str(v, "type");

        n->job = job;
        n->id = sl_json_get_str(v, "id");
        n->module = sl_json_get_str(v, "module");
        n->config = json_object_get(v, "config");
        n->position = (int)i;
        n->ops = run_module_ops(
            sl_module_find(sl_module_type_parse(type), n->module));
        if (n->id == NULL)
            return setup_fail(job, "%s", "a node has no id");
        if (n->ops == NULL)
            return setup_fail(job, "no module %s for this node",
                              n->module ? n->module : "(none)");
        if (!json_is_object(n->config))
            n->config = json_object(); /* kept by definition below */
        if (n->config != json_object_get(v, "config"))
            json_object_set_new(v, "config", n->config);
        if ((n->pool = sl_pool_create(0, 0)) == NULL)
            return SL_ENOMEM;
    }
    /* Successors, counted then filled. */
    json_array_foreach(edges, i, v)
    {
        struct run_node *a = node_by_id(job, sl_json_get_str(v, "source"));
        struct run_node *b = node_by_id(job, sl_json_get_str(v, "target"));

        if (a == NULL || b == NULL)
            return setup_fail(job, "%s", "an edge names an unknown node");
        a->nnext++;
        b->nprev++;
    }
    for (int k = 0; k < job->nnodes; k++) {
        struct run_node *n = &job->nodes[k];

        n->next = sl_pcalloc(job->pool, sizeof(*n->next) * (n->nnext + 1));
        if (n->next == NULL)
            return SL_ENOMEM;
        n->nnext = 0;
    }
    json_array_foreach(edges, i, v)
    {
        struct run_node *a = node_by_id(job, sl_json_get_str(v, "source"));
        struct run_node *b = node_by_id(job, sl_json_get_str(v, "target"));

        if (b->position <= a->position)
            return setup_fail(job, "the edge into %s goes backwards", b->id);
        a->next[a->nnext++] = b;
    }
    return 0;
}

/* --- running ----------------------------------------------------------------
 */

/* Calls one stage (open, produce, finish, commit) of n, timed. */
static int
call_stage(struct run_node *n, int (*fn)(struct run_node *))
{
    struct span s;
    int rc;

    if (fn == NULL)
        return 0;
    if (n->status == RUN_NODE_PENDING)
        n->status = RUN_NODE_RUNNING;
    span_begin(n, &s);
    rc = fn(n);
    span_end(n, &s);
    blame(n, rc);
    return rc;
}

/* The node that failed first in dependency order, or NULL. */
static struct run_node *
first_failed(struct run_job *job)
{
    for (int i = 0; i < job->nnodes; i++)
        if (job->nodes[i].status == RUN_NODE_FAILED)
            return &job->nodes[i];
    return NULL;
}

static void
conclude(struct run_job *job, int rc)
{
    struct run_node *bad = first_failed(job);

    if (rc != 0 && atomic_load(&job->timed_out)) {
        /* Stopped by its deadline: whatever a node said then is a
         * consequence. */
        job->end = RUN_END_FAILED;
        job->error_code = "PIPELINE_TIMEOUT";
        snprintf(job->error, sizeof(job->error),
                 "PIPELINE_TIMEOUT: the run did not end within its timeout "
                 "of %d s",
                 job->timeout_s);
    } else if (rc == RUN_ECANCELLED || (rc != 0 && run_cancelled(job))) {
        job->end = RUN_END_CANCELLED;
        snprintf(job->error, sizeof(job->error), "Cancelled");
    } else if (rc != 0 || bad != NULL) {
        job->end = RUN_END_FAILED;
        if (bad != NULL) {
            job->error_code = bad->error_code;
            snprintf(job->error, sizeof(job->error), "%s%snode %s (%s): %s",
                     bad->error_code ? bad->error_code : "",
                     bad->error_code ? ": " : "", bad->id, bad->module,
                     bad->error);
        } else {
            snprintf(job->error, sizeof(job->error), "%s", sl_strerror(rc));
        }
    } else {
        job->end = RUN_END_COMPLETED;
        job->error[0] = '\0';
    }
}

/* Gathers the nodes' figures and results into the job. */
static void
tally(struct run_job *job)
{
    json_t *nodes = json_object();

    for (int i = 0; i < job->nnodes; i++) {
        struct run_node *n = &job->nodes[i];

        if (n->ops == NULL) /* not built: the definition was refused */
            continue;
        if (n->ops->type == SL_MODULE_LOADER)
            job->records += n->rows_in;
        job->records_failed += n->rows_failed;
        if (n->result != NULL)
            json_object_set(nodes, n->id, n->result);
        if (n->status == RUN_NODE_RUNNING && job->end == RUN_END_COMPLETED)
            n->status = RUN_NODE_DONE;
    }
    job->result = json_pack("{s:I, s:I, s:o}", "records_processed",
                            (json_int_t)job->records, "records_failed",
                            (json_int_t)job->records_failed, "nodes", nodes);
    if (job->result != NULL && job->warnings != NULL)
        json_object_set(job->result, "warnings", job->warnings);
}

/*
 * Records the loaders' participants (the hook enlist), then prepares each
 * loader. Returns 0 or the first failure.
 */
static int
prepare_all(struct run_job *job)
{
    const struct run_hooks *h = &job->hooks;
    int rc = 0, nparts = 0;

    for (int i = 0; i < job->nnodes; i++)
        nparts += job->nodes[i].part.kind != RUN_PART_NONE;
    if (nparts > 0 && h->enlist != NULL && (rc = h->enlist(h->arg, job)) != 0)
        return rc;
    for (int i = 0; i < job->nnodes && rc == 0; i++) {
        struct run_node *n = &job->nodes[i];

        if (n->ops->type != SL_MODULE_LOADER)
            continue;
        rc = call_stage(n, n->ops->prepare);
        if (rc == 0 && n->part.kind != RUN_PART_NONE)
            n->part.prepared = true;
    }
    return rc;
}

/* Closes the open nodes, last first; ok false undoes what each did. */
static void
close_all(struct run_job *job, bool ok)
{
    for (int i = job->opened - 1; i >= 0; i--) {
        struct run_node *n = &job->nodes[i];

        if (n->ops->close != NULL)
            n->ops->close(n, ok);
        run_node_watch(n, NULL);
    }
    job->opened = 0;
}

int
run_engine_execute(struct run_job *job, json_t *definition)
{
    int rc;

    job->end = RUN_END_FAILED;
    job->error[0] = '\0';
    job->opened = 0;
    rc = build(job, definition);
    if (rc != 0)
        goto out;
    for (; job->opened < job->nnodes && rc == 0; job->opened++)
        rc = call_stage(&job->nodes[job->opened],
                        job->nodes[job->opened].ops->open);
    for (int i = 0; i < job->nnodes && rc == 0; i++)
        if (job->nodes[i].ops->type == SL_MODULE_EXTRACTOR)
            rc = call_stage(&job->nodes[i], job->nodes[i].ops->produce);
    for (int i = 0; i < job->nnodes && rc == 0; i++)
        if (job->nodes[i].ops->type != SL_MODULE_EXTRACTOR)
            rc = call_stage(&job->nodes[i], job->nodes[i].ops->finish);
    if (rc == 0 && (run_cancelled(job) || run_deadline_passed(job)))
        rc = RUN_ECANCELLED;
    /* Loaders prepare only when everything before them held, in time. */
    if (rc == 0)
        rc = prepare_all(job);
    if (rc == RUN_ELOST) /* the hook that said so knows why */
        rc = RUN_ECANCELLED;
    conclude(job, rc);
    if (job->end != RUN_END_COMPLETED)
        close_all(job, false);
    rc = 0;
out:
    if (rc == SL_EINVAL) /* a definition this runner cannot run */
        rc = 0;
    if (rc == 0)
        tally(job);
    return rc;
}

int
run_engine_commit_last(struct run_job *job)
{
    int rc = 0;

    for (int i = 0; i < job->nnodes && rc == 0; i++) {
        struct run_node *n = &job->nodes[i];

        if (!n->part.last_resource || n->part.committed ||
            n->ops->commit == NULL)
            continue;
        rc = call_stage(n, n->ops->commit);
        n->part.committed = rc == 0;
    }
    if (rc != 0)
        conclude(job, rc);
    return rc;
}

void
run_engine_settle(struct run_job *job, bool commit)
{
    for (int i = 0; commit && i < job->nnodes; i++) {
        struct run_node *n = &job->nodes[i];

        if (n->ops->type != SL_MODULE_LOADER || n->ops->commit == NULL ||
            n->part.committed || i >= job->opened)
            continue;
        n->error[0] = '\0';
        if (n->ops->commit(n) != 0)
            sl_log_error(job->log,
                         "run %s: node %s: its output is decided committed "
                         "but could not be made visible now (%s); the sweep "
                         "will finish it",
                         job->run_id, n->id, n->error);
        else
            n->part.committed = true;
    }
    close_all(job, commit);
    for (int i = 0; job->nodes != NULL && i < job->nnodes; i++) {
        json_decref(job->nodes[i].result);
        job->nodes[i].result = NULL;
        sl_pool_destroy(job->nodes[i].pool);
        job->nodes[i].pool = NULL;
        job->nodes[i].state = NULL;
    }
    json_decref(job->warnings);
    job->warnings = NULL;
}
