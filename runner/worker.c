/*
 * worker.c: the threads that execute runs, and their heartbeat (see
 * worker.h).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "engine.h"
#include "err.h"
#include "event.h"
#include "json.h"
#include "limits.h"
#include "sched.h"
#include "stmt.h"
#include "uuid.h"
#include "worker.h"

#define CONSUMER          "runners"
#define ACK_WAIT_MS       30000
#define FETCH_WAIT_MS     1000
#define PUBLISH_WAIT_MS   2000
#define BEAT_MS           1000
#define PROGRESS_EVERY_MS 500
/* Log lines a run keeps; more are counted, not kept. */
#define MAX_LOG_LINES 2000
/* Statements a run may be blocked on at once (one per node at most). */
#define MAX_WATCH    64
#define FINISH_TRIES 5

/* What one worker thread holds. Members below "run" are under rn->mu. */
struct run_slot {
    struct runner *rn;
    pthread_t thread;
    bool started;
    struct sl_db db;
    natsSubscription *sub;

    /* run */
    struct run_job *job; /* NULL when idle */
    char run_id[SL_UUID_LEN];
    char tenant_id[64];
    bool released; /* stopped by shutdown, to be handed back */
    json_t *logs;  /* lines not yet written */
    long logs_dropped;
    double progress_at; /* when run.progress was last published */
    struct {
        struct run_node *node;
        PGcancel *cancel;
    } watch[MAX_WATCH];
};

static double
now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

static double
epoch_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* --- events ------------------------------------------------------------------
 */

/*
 * Publishes a non-terminal event of the slot's run (seed 001's payload),
 * taking data, within SL_MAX_EVENT_BYTES (a huge log line's metadata and
 * message are trimmed, and the event says so; run_logs keeps them whole).
 * Best effort: terminal events go through the outbox.
 */
static void
publish_event(struct run_slot *s, const char *type, json_t *data)
{
    char id[SL_UUID_LEN], subject[160], ts[SL_RFC3339_MAX], evt[48];
    json_t *body;
    char *text = NULL;
    int k = 0, rc;

    if (sl_uuid_v4(id) != 0 || data == NULL) {
        json_decref(data);
        return;
    }
    /* evt_ and the UUID's 32 hex digits, as run_event() makes them. */
    memcpy(evt, "evt_", 4);
    for (const char *c = id; *c != '\0' && k < 32; c++)
        if (*c != '-')
            evt[4 + k++] = *c;
    evt[4 + k] = '\0';
    sl_clock_format(sl_clock_now(), ts);
    json_object_set_new(data, "pipeline_id", json_string(s->job->pipeline_id));
    json_object_set_new(data, "execution_id", json_string(s->run_id));
    json_object_set_new(data, "run_id", json_string(s->run_id));
    body = json_pack("{s:s, s:s, s:s, s:s, s:o}", "event_id", evt, "event_type",
                     type, "timestamp", ts, "organization_id", s->tenant_id,
                     "data", data);
    rc = body ? sl_event_dump(body, SL_MAX_EVENT_BYTES, &text) : SL_ENOMEM;
    if (rc != SL_OK)
        sl_log_warn(s->rn->log, "run %s: its %s event not published: %s",
                    s->run_id, type, sl_strerror(rc));
    snprintf(subject, sizeof(subject), "%s%s.%s", SL_SUBJ_EVENT_PREFIX,
             s->tenant_id, type);
    if (text != NULL)
        sl_bus_publish(s->rn->bus, subject, text, strlen(text), evt,
                       PUBLISH_WAIT_MS, NULL);
    free(text);
    json_decref(body);
}

/* --- the engine's hooks -------------------------------------------------- */

static void
hook_log(void *arg, const char *level, const char *node_id, json_t *meta,
         const char *message)
{
    struct run_slot *s = arg;
    json_t *line = json_pack("{s:f, s:s, s:s?, s:s, s:O?}", "ts", epoch_s(),
                             "level", level, "node_id", node_id, "message",
                             message, "metadata", meta);

    if (line == NULL)
        return;
    pthread_mutex_lock(&s->rn->mu);
    if (json_array_size(s->logs) < MAX_LOG_LINES)
        json_array_append(s->logs, line);
    else
        s->logs_dropped++;
    pthread_mutex_unlock(&s->rn->mu);
    json_decref(line);
    publish_event(s, "run.log",
                  json_pack("{s:s, s:s?, s:s, s:O?}", "level", level, "node_id",
                            node_id, "message", message, "metadata", meta));
}

/*
 * run.progress: rows so far, and how far the extractors are (0..99; 100
 * once the run completed), n the node working.
 */
static void
publish_progress(struct run_slot *s, struct run_node *n, bool done)
{
    struct run_job *job = s->job;
    double sum = 0;
    uint64_t rows = 0;
    int nx = 0;

    for (int i = 0; i < job->nnodes; i++) {
        struct run_node *x = &job->nodes[i];

        if (x->ops->type != SL_MODULE_EXTRACTOR)
            continue;
        nx++;
        rows += x->rows_out;
        sum += x->status == RUN_NODE_DONE ? 1.0
               : x->progress > 0          ? x->progress
                                          : 0.0;
    }
    publish_event(s, "run.progress",
                  json_pack("{s:f, s:s, s:I, s:I}", "progress",
                            done ? 100.0
                            : nx ? (double)(int)(sum / nx * 990) / 10
                                 : 0.0,
                            "current_node", n->id, "rows_processed",
                            (json_int_t)rows, "rows_read", (json_int_t)rows));
}

/* Throttled: at most one event every PROGRESS_EVERY_MS. */
static void
hook_progress(void *arg, struct run_node *n)
{
    struct run_slot *s = arg;
    double t = now_ms();

    if (t - s->progress_at < PROGRESS_EVERY_MS)
        return;
    s->progress_at = t;
    publish_progress(s, n, false);
}

static void
hook_watch(void *arg, struct run_node *n, PGconn *c)
{
    struct run_slot *s = arg;
    int free_at = -1;

    pthread_mutex_lock(&s->rn->mu);
    for (int i = 0; i < MAX_WATCH; i++) {
        if (s->watch[i].node == n) {
            PQfreeCancel(s->watch[i].cancel);
            s->watch[i].node = NULL;
            s->watch[i].cancel = NULL;
        }
        if (s->watch[i].node == NULL && free_at < 0)
            free_at = i;
    }
    if (c != NULL && free_at >= 0) {
        s->watch[free_at].node = n;
        s->watch[free_at].cancel = PQgetCancel(c);
    }
    pthread_mutex_unlock(&s->rn->mu);
}

/* Stops the slot's run: its flag, then what it is blocked on. Under mu. */
static void
cancel_locked(struct run_slot *s, const char *why)
{
    char err[256];

    if (s->job == NULL || run_cancelled(s->job))
        return;
    sl_log_info(s->rn->log, "run %s: stopping (%s)", s->run_id, why);
    atomic_store(&s->job->cancel, true);
    for (int i = 0; i < MAX_WATCH; i++)
        if (s->watch[i].cancel != NULL)
            PQcancel(s->watch[i].cancel, err, sizeof(err));
}

/* --- a run from claim to acknowledgement ---------------------------------- */

/* The steps of a finished run, for RUN_ST_STEPS. */
static json_t *
steps_json(struct run_job *job, double started_epoch, double started_mono)
{
    static const char *const names[] = {[RUN_NODE_PENDING] = "skipped",
                                        [RUN_NODE_RUNNING] = "running",
                                        [RUN_NODE_DONE] = "completed",
                                        [RUN_NODE_FAILED] = "failed"};
    json_t *a = json_array();

    for (int i = 0; i < job->nnodes; i++) {
        struct run_node *n = &job->nodes[i];
        const char *status = names[n->status];
        double st = n->started_ms
                        ? started_epoch + (n->started_ms - started_mono) / 1000
                        : 0;
        double en = n->ended_ms
                        ? started_epoch + (n->ended_ms - started_mono) / 1000
                        : 0;

        /* A node interrupted by another's failure, or by a cancel. */
        if (n->status == RUN_NODE_RUNNING)
            status = "cancelled";
        json_array_append_new(
            a, json_pack("{s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:s?, s:o, s:o, "
                         "s:o}",
                         "node_id", n->id, "status", status, "rows_input",
                         (json_int_t)n->rows_in, "rows_output",
                         (json_int_t)n->rows_out, "rows_filtered",
                         (json_int_t)n->rows_filtered, "memory_peak_kb",
                         (json_int_t)n->rss_peak_kb, "cpu_ms",
                         (json_int_t)(n->cpu_ms + 0.5), "error_message",
                         n->error[0] ? n->error : NULL, "started",
                         st > 0 ? json_real(st) : json_null(), "completed",
                         en > 0 ? json_real(en) : json_null(), "bytes_read",
                         n->ops->type == SL_MODULE_EXTRACTOR
                             ? json_integer((json_int_t)n->bytes_read)
                             : json_null()));
    }
    return a;
}

/* Takes the slot's unwritten log lines (a new array; NULL if none). */
static json_t *
take_logs(struct run_slot *s)
{
    json_t *out = NULL;

    pthread_mutex_lock(&s->rn->mu);
    if (s->logs != NULL && json_array_size(s->logs) > 0) {
        out = s->logs;
        s->logs = json_array();
    }
    pthread_mutex_unlock(&s->rn->mu);
    return out;
}

/* Writes lines (taken) for the slot's run on db; 0 or a code. */
static int
write_logs(struct sl_db *db, const char *run_id, json_t *lines)
{
    char *text = lines ? json_dumps(lines, JSON_COMPACT) : NULL;
    const char *p[2] = {run_id, text};
    PGresult *res = NULL;
    int rc = 0;

    if (lines != NULL)
        rc = text ? sl_db_exec(db, RUN_ST_LOGS, 2, p, &res) : SL_ENOMEM;
    PQclear(res);
    free(text);
    json_decref(lines);
    return rc;
}

static const char *
end_name(enum run_end e)
{
    return e == RUN_END_COMPLETED   ? "completed"
           : e == RUN_END_CANCELLED ? "cancelled"
                                    : "failed";
}

/*
 * Writes the run's end, steps, remaining logs and terminal event in one
 * transaction, then publishes the event. Returns 0, or a code when the
 * database would not take it (the caller tries again).
 */
static int
finish(struct run_slot *s, json_t *steps, json_t *lines)
{
    struct run_job *job = s->job;
    const char *status = end_name(job->end);
    char type[32], outbox[SL_UUID_LEN], records[24], failed[24];
    char *steps_text = json_dumps(steps, JSON_COMPACT);
    char *result = json_dumps(job->result ? job->result : json_null(),
                              JSON_COMPACT | JSON_ENCODE_ANY);
    const char *p[9];
    PGresult *res = NULL;
    int rc;

    snprintf(type, sizeof(type), "pipeline.%s", status);
    snprintf(records, sizeof(records), "%llu",
             (unsigned long long)job->records);
    snprintf(failed, sizeof(failed), "%llu",
             (unsigned long long)job->records_failed);
    if (steps_text == NULL || result == NULL || sl_uuid_v7(outbox) != 0) {
        rc = SL_ENOMEM;
        goto out;
    }
    if ((rc = sl_db_begin(&s->db, s->tenant_id, NULL)) != 0)
        goto out;
    p[0] = s->run_id;
    p[1] = steps_text;
    if ((rc = sl_db_exec(&s->db, RUN_ST_STEPS, 2, p, &res)) != 0)
        goto rollback;
    PQclear(res);
    res = NULL;
    if ((rc = write_logs(&s->db, s->run_id, json_incref(lines))) != 0)
        goto rollback;
    p[1] = s->rn->instance;
    p[2] = status;
    p[3] = job->error[0] ? job->error : NULL;
    p[4] = result;
    p[5] = records;
    p[6] = failed;
    p[7] = type;
    p[8] = outbox;
    if ((rc = sl_db_exec(&s->db, RUN_ST_FINISH, 9, p, &res)) != 0)
        goto rollback;
    if ((rc = sl_db_commit(&s->db)) != 0)
        goto out;
    if (PQntuples(res) == 0) {
        /* Taken back meanwhile (a sweep thought this runner dead). */
        sl_log_warn(s->rn->log, "run %s: no longer ours; its end is dropped",
                    s->run_id);
    } else if (sl_bus_publish(s->rn->bus, PQgetvalue(res, 0, 0),
                              PQgetvalue(res, 0, 1),
                              strlen(PQgetvalue(res, 0, 1)), outbox,
                              PUBLISH_WAIT_MS, NULL) == 0) {
        PGresult *r2 = NULL;
        const char *q[1] = {outbox};

        if (sl_db_exec(&s->db, RUN_ST_OUTBOX_SENT, 1, q, &r2) == 0)
            PQclear(r2);
    }
    goto out;
rollback:
    sl_db_rollback(&s->db);
out:
    PQclear(res);
    free(steps_text);
    free(result);
    return rc;
}

/*
 * The run's deadline, counted from now (its claim): its pipeline's
 * configuration.timeout (seconds, seed 000), else run_timeout_seconds.
 */
static void
set_deadline(struct run_job *job, json_t *def, const struct sl_conf *conf)
{
    json_int_t t =
        sl_json_get_int(json_object_get(def, "configuration"), "timeout", 0);

    job->timeout_s =
        t >= 1 && t <= SL_RUN_TIMEOUT_CEIL ? (int)t : conf->run_timeout_seconds;
    job->deadline_ms = now_ms() + job->timeout_s * 1000.0;
    atomic_init(&job->timed_out, false);
}

/*
 * Hands the slot's run back: pending again, with a new request (through
 * the outbox, published at once if NATS takes it) for another runner.
 */
static void
release(struct run_slot *s)
{
    char outbox[SL_UUID_LEN];
    const char *p[3] = {s->run_id, s->rn->instance, outbox};
    PGresult *res = NULL;

    if (sl_uuid_v7(outbox) != 0 ||
        sl_db_exec_scoped(&s->db, s->tenant_id, NULL, RUN_ST_RELEASE, 3, p,
                          &res) != 0) {
        sl_log_warn(s->rn->log, "run %s: cannot hand it back: %s", s->run_id,
                    sl_db_error(&s->db));
        return;
    }
    if (PQntuples(res) == 1) {
        sl_log_info(s->rn->log, "run %s: handed back", s->run_id);
        sl_sched_publish_request(&s->db, s->rn->bus, RUN_ST_OUTBOX_SENT,
                                 s->tenant_id, s->run_id, outbox,
                                 PQgetvalue(res, 0, 0), s->rn->log);
    }
    PQclear(res);
}

/*
 * Carries a run the claim gave (res, taken: run_id, tenant, pipeline,
 * params, definition, attempt, started) to its end, written with its
 * event.
 */
static void
execute(struct run_slot *s, PGresult *res)
{
    struct runner *rn = s->rn;
    const char *run_id = PQgetvalue(res, 0, 0), *tenant = PQgetvalue(res, 0, 1);
    struct run_job *job = NULL;
    sl_pool *pool = NULL;
    json_t *def = NULL, *steps = NULL;
    double started_epoch, started_mono;
    int rc;

    started_epoch = atof(PQgetvalue(res, 0, 6));
    started_mono = now_ms() - (epoch_s() - started_epoch) * 1000;
    if ((pool = sl_pool_create(0, 0)) == NULL ||
        (job = sl_pcalloc(pool, sizeof(*job))) == NULL) {
        /* Left running: the sweep takes it back once its beats stop. */
        sl_log_error(rn->log, "run %s: out of memory", run_id);
        goto out;
    }
    job->run_id = sl_pstrdup(pool, run_id);
    job->tenant_id = sl_pstrdup(pool, tenant);
    job->pipeline_id = sl_pstrdup(pool, PQgetvalue(res, 0, 2));
    job->params =
        sl_json_pool_own(pool, json_loads(PQgetvalue(res, 0, 3), 0, NULL));
    def = json_loads(PQgetvalue(res, 0, 4), 0, NULL);
    job->conf = rn->conf;
    job->db = &s->db;
    job->log = rn->log;
    job->pool = pool;
    job->hooks = (struct run_hooks){hook_log, hook_progress, hook_watch, s};
    job->batch_size = (size_t)sl_json_get_int(
        json_object_get(def, "configuration"), "batch_size",
        sl_json_get_int(job->params, "batch_size", RUN_BATCH_DEFAULT));
    if (job->batch_size < 1 || job->batch_size > RUN_BATCH_MAX)
        job->batch_size = RUN_BATCH_DEFAULT;
    atomic_init(&job->cancel, false);
    set_deadline(job, def, rn->conf);

    pthread_mutex_lock(&rn->mu);
    s->job = job;
    snprintf(s->run_id, sizeof(s->run_id), "%s", run_id);
    snprintf(s->tenant_id, sizeof(s->tenant_id), "%s", tenant);
    s->released = false;
    s->logs = json_array();
    s->logs_dropped = 0;
    s->progress_at = 0;
    pthread_mutex_unlock(&rn->mu);

    sl_log_info(rn->log, "run %s: started (attempt %s)", run_id,
                PQgetvalue(res, 0, 5));
    publish_event(s, "pipeline.started",
                  json_pack("{s:s, s:i}", "status", "running", "attempt",
                            atoi(PQgetvalue(res, 0, 5))));
    if (def == NULL) {
        snprintf(job->error, sizeof(job->error),
                 "the pipeline's definition cannot be read");
        job->end = RUN_END_FAILED;
    } else if (run_engine_execute(job, def) != 0) {
        job->end = RUN_END_FAILED;
    }
    if (job->end == RUN_END_CANCELLED && s->released) {
        release(s);
        goto done;
    }
    if (s->logs_dropped > 0)
        hook_log(s, "WARNING", NULL, NULL, "more log lines were dropped");
    if (job->end == RUN_END_COMPLETED && job->nnodes > 0)
        publish_progress(s, &job->nodes[job->nnodes - 1], true);
    hook_log(s, job->end == RUN_END_COMPLETED ? "INFO" : "ERROR", NULL,
             json_pack("{s:I}", "records_processed", (json_int_t)job->records),
             job->end == RUN_END_COMPLETED ? "Run completed" : job->error);
    steps = steps_json(job, started_epoch, started_mono);
    for (int i = 0; i < FINISH_TRIES; i++) {
        json_t *lines = take_logs(s);

        rc = finish(s, steps, lines);
        if (rc == 0) {
            json_decref(lines);
            break;
        }
        /* Put the lines back for the next try. */
        pthread_mutex_lock(&rn->mu);
        if (lines != NULL)
            json_array_extend(lines, s->logs), json_decref(s->logs),
                s->logs = lines;
        pthread_mutex_unlock(&rn->mu);
        sl_log_warn(rn->log, "run %s: cannot record its end: %s", run_id,
                    sl_db_error(&s->db));
        sleep(1);
    }
    sl_log_info(rn->log, "run %s: %s, %llu rows", run_id, end_name(job->end),
                (unsigned long long)job->records);
done:
    pthread_mutex_lock(&rn->mu);
    s->job = NULL;
    json_decref(s->logs);
    s->logs = NULL;
    pthread_mutex_unlock(&rn->mu);
out:
    json_decref(job ? job->result : NULL);
    json_decref(steps);
    json_decref(def);
    PQclear(res);
    sl_pool_destroy(pool);
}

/*
 * Answers a wake-up: msg (taken), a request from the work queue, or NULL
 * when the slot's run just ended. Claims the run this runner should take
 * now (not necessarily the one msg names: sql/012_fair_claim.sql), carries
 * it out, and claims again, until nothing may start. msg is acknowledged
 * once the claim was answered: a run it named and not taken now stays
 * pending, for a later claim (or requested again when it waits long).
 */
static void
claim_and_run(struct run_slot *s, natsMsg *msg)
{
    struct runner *rn = s->rn;
    const char *p[1] = {rn->instance};

    for (;;) {
        PGresult *res = NULL;
        int rc = sl_db_exec(&s->db, RUN_ST_CLAIM_NEXT, 1, p, &res);

        if (msg != NULL) {
            if (rc == 0)
                natsMsg_Ack(msg, NULL);
            else
                natsMsg_NakWithDelay(msg, 2000, NULL);
            natsMsg_Destroy(msg);
            msg = NULL;
        }
        if (rc != 0) {
            sl_log_warn(rn->log, "cannot claim a run: %s", sl_db_error(&s->db));
            return;
        }
        if (PQntuples(res) == 0) {
            PQclear(res);
            return;
        }
        execute(s, res);
        if (atomic_load(&rn->stopping))
            return;
    }
}

static void *
worker_main(void *arg)
{
    struct run_slot *s = arg;
    struct runner *rn = s->rn;
    natsMsg *msg;
    int rc;

    while (!atomic_load(&rn->stopping)) {
        if (s->sub == NULL) {
            if (!atomic_load(&rn->ready) ||
                sl_bus_pull_subscribe(rn->bus, SL_SUBJ_RUN_REQUEST, CONSUMER,
                                      ACK_WAIT_MS, &s->sub) != 0) {
                sleep(1);
                continue;
            }
        }
        rc = sl_bus_fetch(s->sub, FETCH_WAIT_MS, &msg);
        if (rc == SL_ETIMEDOUT)
            continue;
        if (rc != 0) {
            /* NATS away: the subscription comes back with it; wait. */
            sleep(1);
            continue;
        }
        if (atomic_load(&rn->stopping)) {
            natsMsg_Nak(msg, NULL);
            natsMsg_Destroy(msg);
            break;
        }
        claim_and_run(s, msg);
    }
    return NULL;
}

/* --- heartbeat ------------------------------------------------------------ */

static void
beat_once(struct runner *rn)
{
    char ids[64 * (SL_UUID_LEN + 1) + 3], *w = ids;
    const char *p[2] = {rn->instance, ids};
    PGresult *res = NULL;
    int n = 0;

    *w++ = '{';
    pthread_mutex_lock(&rn->mu);
    for (int i = 0; i < rn->nslots && i < 64; i++) {
        struct run_slot *s = &rn->slots[i];

        if (s->job == NULL)
            continue;
        w += sprintf(w, "%s%s", n++ ? "," : "", s->run_id);
    }
    pthread_mutex_unlock(&rn->mu);
    *w++ = '}';
    *w = '\0';
    if (n == 0)
        return;
    if (sl_db_exec(&rn->beat_db, RUN_ST_HEARTBEAT, 2, p, &res) != 0) {
        sl_log_warn(rn->log, "heartbeat: %s", sl_db_error(&rn->beat_db));
        return;
    }
    pthread_mutex_lock(&rn->mu);
    for (int i = 0; i < rn->nslots; i++) {
        struct run_slot *s = &rn->slots[i];
        bool held = false;

        /* Only the runs this beat asked about: a slot may have taken a
         * new one meanwhile. */
        if (s->job == NULL || strstr(ids, s->run_id) == NULL)
            continue;
        for (int r = 0; r < PQntuples(res); r++) {
            if (strcmp(PQgetvalue(res, r, 0), s->run_id) != 0)
                continue;
            held = true;
            if (PQgetvalue(res, r, 1)[0] == 't')
                cancel_locked(s, "cancel requested");
        }
        if (!held)
            cancel_locked(s, "no longer this runner's");
    }
    pthread_mutex_unlock(&rn->mu);
    PQclear(res);
    /* Logs gathered so far, visible while the run goes on. */
    for (int i = 0; i < rn->nslots; i++) {
        struct run_slot *s = &rn->slots[i];
        char run_id[SL_UUID_LEN], tenant[64];
        json_t *lines;

        pthread_mutex_lock(&rn->mu);
        lines = NULL;
        if (s->job != NULL && s->logs != NULL && json_array_size(s->logs) > 0) {
            lines = s->logs;
            s->logs = json_array();
            memcpy(run_id, s->run_id, SL_UUID_LEN);
            strcpy(tenant, s->tenant_id);
        }
        pthread_mutex_unlock(&rn->mu);
        if (lines == NULL)
            continue;
        if (sl_db_begin(&rn->beat_db, tenant, NULL) == 0 &&
            write_logs(&rn->beat_db, run_id, lines) == 0)
            sl_db_commit(&rn->beat_db);
        else
            sl_db_rollback(&rn->beat_db);
    }
}

/* Stops the runs past their deadline: they fail with PIPELINE_TIMEOUT. */
static void
check_deadlines(struct runner *rn)
{
    pthread_mutex_lock(&rn->mu);
    for (int i = 0; i < rn->nslots; i++) {
        struct run_slot *s = &rn->slots[i];

        if (s->job == NULL || run_cancelled(s->job) ||
            run_time_left_ms(s->job) > 0)
            continue;
        atomic_store(&s->job->timed_out, true);
        cancel_locked(s, "past its deadline");
    }
    pthread_mutex_unlock(&rn->mu);
}

static void *
beat_main(void *arg)
{
    struct runner *rn = arg;

    while (!atomic_load(&rn->stopping) || run_workers_busy(rn) > 0) {
        check_deadlines(rn);
        beat_once(rn);
        usleep(BEAT_MS * 1000);
    }
    return NULL;
}

/* sluice.run.cancel.<id>: stops that run at once if it is here. */
static void
on_cancel(natsConnection *nc, natsSubscription *sub, natsMsg *msg, void *arg)
{
    struct runner *rn = arg;
    const char *subject = natsMsg_GetSubject(msg);
    size_t plen = strlen(SL_SUBJ_RUN_CANCEL_PREFIX);

    (void)nc;
    (void)sub;
    if (strncmp(subject, SL_SUBJ_RUN_CANCEL_PREFIX, plen) == 0) {
        pthread_mutex_lock(&rn->mu);
        for (int i = 0; i < rn->nslots; i++)
            if (rn->slots[i].job != NULL &&
                strcmp(rn->slots[i].run_id, subject + plen) == 0)
                cancel_locked(&rn->slots[i], "cancel message");
        pthread_mutex_unlock(&rn->mu);
    }
    natsMsg_Destroy(msg);
}

/* --- start and stop ------------------------------------------------------- */

int
run_workers_busy(struct runner *rn)
{
    int n = 0;

    pthread_mutex_lock(&rn->mu);
    for (int i = 0; i < rn->nslots; i++)
        n += rn->slots[i].job != NULL;
    pthread_mutex_unlock(&rn->mu);
    return n;
}

int
run_workers_start(struct runner *rn, const struct sl_conf *conf,
                  struct sl_logger *log, struct sl_bus *bus,
                  const char *instance)
{
    rn->conf = conf;
    rn->log = log;
    rn->bus = bus;
    rn->instance = instance;
    pthread_mutex_init(&rn->mu, NULL);
    atomic_init(&rn->stopping, false);
    rn->nslots = conf->runner_concurrency;
    rn->slots = calloc((size_t)rn->nslots, sizeof(*rn->slots));
    if (rn->slots == NULL ||
        sl_db_init(&rn->beat_db, conf->db_url, "sluice-runner",
                   conf->db_statement_timeout_ms, run_stmts, RUN_ST_COUNT_,
                   log) != 0)
        return SL_ENOMEM;
    for (int i = 0; i < rn->nslots; i++) {
        struct run_slot *s = &rn->slots[i];

        s->rn = rn;
        if (sl_db_init(&s->db, conf->db_url, "sluice-runner",
                       conf->db_statement_timeout_ms, run_stmts, RUN_ST_COUNT_,
                       log) != 0)
            return SL_ENOMEM;
        if (pthread_create(&s->thread, NULL, worker_main, s) != 0)
            return SL_EIO;
        s->started = true;
    }
    if (pthread_create(&rn->beat, NULL, beat_main, rn) != 0)
        return SL_EIO;
    rn->beat_started = true;
    sl_bus_subscribe(bus, SL_SUBJ_RUN_CANCEL_PREFIX "*", NULL, on_cancel, rn,
                     &rn->cancel_sub);
    return 0;
}

void
run_workers_stop(struct runner *rn, int grace_seconds)
{
    double deadline = now_ms() + grace_seconds * 1000.0;

    if (rn->slots == NULL)
        return;
    atomic_store(&rn->stopping, true);
    if (run_workers_busy(rn) > 0)
        sl_log_info(rn->log, "waiting up to %d s for %d run(s)", grace_seconds,
                    run_workers_busy(rn));
    while (run_workers_busy(rn) > 0 && now_ms() < deadline)
        usleep(100 * 1000);
    pthread_mutex_lock(&rn->mu);
    for (int i = 0; i < rn->nslots; i++) {
        if (rn->slots[i].job == NULL)
            continue;
        rn->slots[i].released = true;
        cancel_locked(&rn->slots[i], "the runner is stopping");
    }
    pthread_mutex_unlock(&rn->mu);
    for (int i = 0; i < rn->nslots; i++) {
        struct run_slot *s = &rn->slots[i];

        if (s->started)
            pthread_join(s->thread, NULL);
        natsSubscription_Destroy(s->sub);
        sl_db_free(&s->db);
    }
    if (rn->beat_started)
        pthread_join(rn->beat, NULL);
    if (rn->cancel_sub != NULL) {
        natsSubscription_Unsubscribe(rn->cancel_sub);
        natsSubscription_Destroy(rn->cancel_sub);
    }
    sl_db_free(&rn->beat_db);
    free(rn->slots);
    rn->slots = NULL;
    pthread_mutex_destroy(&rn->mu);
}
