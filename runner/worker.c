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
#include "runlineage.h"
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
#define MAX_WATCH 64
/* Writing a run's end is tried again after these, doubling. */
#define RETRY_MIN_MS 250
#define RETRY_MAX_MS 5000
/* How often the watchdog looks at the heartbeat. */
#define WATCHDOG_MS 250

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
    char attempt[16];
    bool released; /* stopped by shutdown, to be handed back */
    bool lost;     /* stopped because heartbeats failed: may be another's */
    bool gone;     /* known to be another's (or ended by another) */
    bool enlisted; /* its participants are recorded (commit.h) */
    json_t *logs;  /* lines not yet written */
    long logs_dropped;
    double progress_at; /* when run.progress was last published */
    /* Recording lineage failed: this slot's runs end without it. */
    bool lineage_off;
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

/* Whether the slot's run is to be given up: its heartbeats failed, or the
 * runner is stopping and the grace is over. */
static bool
giving_up(struct run_slot *s)
{
    bool out;

    pthread_mutex_lock(&s->rn->mu);
    out = s->lost || (s->released && run_cancelled(s->job));
    pthread_mutex_unlock(&s->rn->mu);
    return out;
}

/* Sleeps ms unless the run is given up meanwhile; false if it is. */
static bool
nap(struct run_slot *s, int ms)
{
    for (int t = 0; t < ms; t += 50) {
        if (giving_up(s))
            return false;
        usleep(50 * 1000);
    }
    return !giving_up(s);
}

/* The next wait of a retry: doubled, up to RETRY_MAX_MS. */
static int
backoff(int ms)
{
    return ms * 2 > RETRY_MAX_MS ? RETRY_MAX_MS : ms * 2;
}

/* Whether a failure of the state database may pass if tried again. */
static bool
transient(int rc)
{
    return rc == SL_EDBCONN || rc == SL_ETIMEDOUT;
}

/*
 * The engine's enlist: records the participants of the job's loaders
 * (sql/011_commit.sql) while the run is still this attempt's, trying
 * again while the database is away. Returns 0, RUN_ELOST (the run is
 * another's, or given up), or the database's refusal.
 */
static int
hook_enlist(void *arg, struct run_job *job)
{
    static const char *const kinds[] = {
        [RUN_PART_POSTGRES] = "postgres", [RUN_PART_FILE] = "file"};
    struct run_slot *s = arg;
    json_t *parts = json_array();
    char *text;
    const char *p[4];
    int want = 0, rc, wait = RETRY_MIN_MS;

    for (int i = 0; i < job->nnodes; i++) {
        struct run_part *pt = &job->nodes[i].part;

        if (pt->kind == RUN_PART_NONE)
            continue;
        json_array_append_new(
            parts, json_pack("{s:s, s:s, s:s, s:s?, s:s?, s:s?}", "gid",
                             pt->gid, "node_id", job->nodes[i].id, "kind",
                             kinds[pt->kind], "connector_id", pt->connector_id,
                             "path", pt->path, "tmp_path", pt->tmp));
        want++;
    }
    text = json_dumps(parts, JSON_COMPACT);
    json_decref(parts);
    if (text == NULL)
        return SL_ENOMEM;
    p[0] = s->run_id;
    p[1] = s->rn->instance;
    p[2] = s->attempt;
    p[3] = text;
    for (;;) {
        PGresult *res = NULL;

        rc = sl_db_exec_scoped(&s->db, s->tenant_id, NULL, RUN_ST_ENLIST, 4, p,
                               &res);
        if (rc == 0) {
            rc = PQntuples(res) == want ? 0 : RUN_ELOST;
            PQclear(res);
            break;
        }
        sl_log_warn(s->rn->log, "run %s: cannot record what it prepares: %s",
                    s->run_id, sl_db_error(&s->db));
        if (!transient(rc))
            break;
        if (!nap(s, wait)) {
            rc = RUN_ELOST;
            break;
        }
        wait = backoff(wait);
    }
    free(text);
    if (rc == 0)
        s->enlisted = true;
    else if (rc == RUN_ELOST && !giving_up(s))
        s->gone = true;
    return rc;
}

/* A finish() whose run failed within the decision: record it again. */
#define FINISH_AGAIN (-102)
/* A finish() whose lineage statement failed: record it again, without. */
#define LINEAGE_AGAIN (-103)

/*
 * Records the run's lineage (runlineage.h) in the open transaction. Returns
 * 0 (recorded, or nothing to record), or the statement's failure, which
 * aborted the transaction. lineage_record_run() turns its own problems
 * into warnings, so a failure here is the statement's (the function
 * missing, say).
 */
static int
record_lineage(struct run_slot *s)
{
    struct run_job *job = s->job;
    const char *type = job->end == RUN_END_COMPLETED ? "COMPLETE"
                       : job->end == RUN_END_FAILED  ? "FAIL"
                                                     : "ABORT";
    char id[SL_UUID_LEN], *text = NULL;
    const char *p[3];
    json_t *ev = run_lineage_event(job, type);
    PGresult *res = NULL;
    int rc = 0;

    if (ev == NULL || sl_uuid_v7(id) != 0)
        goto out; /* out of memory: the run ends without its lineage */
    if (sl_lineage_check(ev, NULL, NULL) != 0) {
        sl_log_warn(s->rn->log, "run %s: its lineage event is invalid",
                    s->run_id);
        goto out;
    }
    if ((text = json_dumps(ev, JSON_COMPACT)) == NULL)
        goto out;
    p[0] = id;
    p[1] = s->run_id;
    p[2] = text;
    rc = sl_db_exec(&s->db, RUN_ST_LINEAGE, 3, p, &res);
out:
    PQclear(res);
    free(text);
    json_decref(ev);
    return rc;
}

/*
 * Writes the run's end, steps, remaining logs and terminal event in one
 * transaction, fenced by the claim; for a completed run, that is the
 * decision to commit, and the loaders that cannot prepare commit within
 * it. Then publishes the event. Returns 0; RUN_ELOST when the run is no
 * longer this attempt's; FINISH_AGAIN when a loader failed to commit
 * within the decision (the run is failed now); or a code when the
 * database would not take it, which may leave it unknown whether the end
 * was written (fate() tells).
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
    const char *p[10];
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
    p[9] = s->attempt;
    if ((rc = sl_db_exec(&s->db, RUN_ST_FINISH, 10, p, &res)) != 0)
        goto rollback;
    if (PQntuples(res) == 0) {
        /* Taken back meanwhile (a sweep thought this runner dead). */
        rc = RUN_ELOST;
        goto rollback;
    }
    if (!s->lineage_off && record_lineage(s) != 0) {
        sl_log_warn(s->rn->log,
                    "run %s: cannot record its lineage (%s); its end is "
                    "recorded without",
                    s->run_id, sl_db_error(&s->db));
        s->lineage_off = true;
        rc = LINEAGE_AGAIN;
        goto rollback;
    }
    /* The run's row is locked until the commit: nobody can take it while
     * the loaders that cannot prepare commit. */
    if (job->end == RUN_END_COMPLETED && run_engine_commit_last(job) != 0) {
        rc = FINISH_AGAIN;
        goto rollback;
    }
    if ((rc = sl_db_commit(&s->db)) != 0)
        goto out;
    if (sl_bus_publish(s->rn->bus, PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 1),
                       strlen(PQgetvalue(res, 0, 1)), outbox, PUBLISH_WAIT_MS,
                       NULL) == 0) {
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
 * After an answer of the database was lost: whether the run's end, as
 * this attempt wanted it, was written (0), the run is another's or ended
 * otherwise (RUN_ELOST), it is still this attempt's and unended (1), or
 * it cannot be told now (< 0).
 */
static int
fate(struct run_slot *s)
{
    const char *p[3] = {s->run_id, s->rn->instance, s->attempt};
    PGresult *res = NULL;
    int rc;

    rc = sl_db_exec_scoped(&s->db, s->tenant_id, NULL, RUN_ST_FATE, 3, p, &res);
    if (rc != 0)
        return rc;
    if (PQntuples(res) == 0 || PQgetvalue(res, 0, 1)[0] != 't')
        rc = RUN_ELOST;
    else if (strcmp(PQgetvalue(res, 0, 0), "running") == 0)
        rc = 1;
    else if (PQgetvalue(res, 0, 2)[0] == 't' ||
             s->job->end != RUN_END_COMPLETED)
        rc = 0;
    else
        rc = RUN_ELOST; /* ended by another (a sweep), not as completed */
    PQclear(res);
    return rc;
}

/*
 * Writes the run's end (finish()), trying again with backoff until it is
 * written or the run is known to be another's. Returns 0 (written),
 * RUN_ELOST (another's: nothing of it may be committed), or
 * RUN_ECANCELLED (given up: heartbeats failed or the runner stops; it is
 * unknown whether the run is still this attempt's, and it was not
 * written).
 */
static int
record_end(struct run_slot *s, double started_epoch, double started_mono)
{
    struct runner *rn = s->rn;
    int rc, wait = RETRY_MIN_MS, tries = 0;

    for (;;) {
        json_t *steps, *lines;

        /* An answer may have been lost: was the end written after all? */
        if (tries > 0 && ((rc = fate(s)) == 0 || rc == RUN_ELOST))
            return rc;
        tries++;
        steps = steps_json(s->job, started_epoch, started_mono);
        lines = take_logs(s);
        rc = finish(s, steps, lines);
        json_decref(steps);
        if (rc == 0 || rc == RUN_ELOST) {
            json_decref(lines);
            return rc;
        }
        /* Put the lines back for the next try. */
        pthread_mutex_lock(&rn->mu);
        if (lines != NULL)
            json_array_extend(lines, s->logs), json_decref(s->logs),
                s->logs = lines;
        pthread_mutex_unlock(&rn->mu);
        if (rc == LINEAGE_AGAIN) {
            tries = 0; /* nothing was written */
            continue;
        }
        if (rc == FINISH_AGAIN) {
            sl_log_warn(rn->log, "run %s: failed within its decision: %s",
                        s->run_id, s->job->error);
            hook_log(s, "ERROR", NULL, NULL, s->job->error);
            tries = 0; /* nothing was written */
            continue;
        }
        /* Said at the first failures, then every minute or so. */
        if (tries <= 3 || tries % 12 == 0)
            sl_log_warn(rn->log, "run %s: cannot record its end (try %d): %s",
                        s->run_id, tries, sl_db_error(&s->db));
        if (!nap(s, wait))
            return RUN_ECANCELLED;
        wait = backoff(wait);
    }
}

/*
 * Hands the slot's run back, if it is still this attempt's: pending again,
 * with a new request (through the outbox, published at once if NATS
 * takes it) for another runner.
 */
static void
release(struct run_slot *s)
{
    char outbox[SL_UUID_LEN];
    const char *p[4] = {s->run_id, s->rn->instance, s->attempt, outbox};
    PGresult *res = NULL;

    if (sl_uuid_v7(outbox) != 0 ||
        sl_db_exec_scoped(&s->db, s->tenant_id, NULL, RUN_ST_RELEASE, 4, p,
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
 * Forgets the participants of the slot's run that are ended (engine.h:
 * part.resolved); best effort: the sweep forgets the others.
 */
static void
forget_parts(struct run_slot *s)
{
    struct run_job *job = s->job;
    char arr[64 * 70 + 3], *w = arr;
    const char *p[1] = {arr};
    PGresult *res = NULL;
    int n = 0;

    if (!s->enlisted)
        return;
    *w++ = '{';
    for (int i = 0; i < job->nnodes && i < 64; i++) {
        const struct run_part *pt = &job->nodes[i].part;

        if (pt->kind != RUN_PART_NONE && pt->resolved)
            w += sprintf(w, "%s%s", n++ ? "," : "", pt->gid);
    }
    *w++ = '}';
    *w = '\0';
    if (n > 0 && sl_db_exec_scoped(&s->db, s->tenant_id, NULL, RUN_ST_PART_DONE,
                                   1, p, &res) == 0)
        PQclear(res);
}

/* SLUICE_RUNNER_FAULT (worker.h): exits here if it names this point. */
static void
fault_point(struct run_slot *s, const char *point)
{
    if (s->rn->fault == NULL || strcmp(s->rn->fault, point) != 0)
        return;
    sl_log_warn(s->rn->log,
                "run %s: SLUICE_RUNNER_FAULT=%s: exiting (a test hook)",
                s->run_id, point);
    _exit(70);
}

/*
 * Ends the slot's executed run: records it and commits its loads, or
 * gives it up and hands it back (pending again, with a new request) when
 * it is still this attempt's.
 */
static void
conclude_run(struct run_slot *s, double started_epoch, double started_mono)
{
    struct runner *rn = s->rn;
    struct run_job *job = s->job;
    bool lost, released;
    int rc;

    pthread_mutex_lock(&rn->mu);
    lost = s->lost;
    released = s->released && job->end == RUN_END_CANCELLED;
    pthread_mutex_unlock(&rn->mu);
    if (lost || released || s->gone) {
        rc = s->gone ? RUN_ELOST : RUN_ECANCELLED;
    } else {
        if (s->logs_dropped > 0)
            hook_log(s, "WARNING", NULL, NULL, "more log lines were dropped");
        if (job->end == RUN_END_COMPLETED && job->nnodes > 0)
            publish_progress(s, &job->nodes[job->nnodes - 1], true);
        hook_log(
            s, job->end == RUN_END_COMPLETED ? "INFO" : "ERROR", NULL,
            json_pack("{s:I}", "records_processed", (json_int_t)job->records),
            job->end == RUN_END_COMPLETED ? "Run completed" : job->error);
        if (job->end == RUN_END_COMPLETED && s->enlisted)
            fault_point(s, "after_prepare");
        rc = record_end(s, started_epoch, started_mono);
    }
    if (rc == 0 && job->end == RUN_END_COMPLETED)
        fault_point(s, "after_decision");
    run_engine_settle(job, rc == 0 && job->end == RUN_END_COMPLETED);
    forget_parts(s);
    if (rc == 0) {
        sl_log_info(rn->log, "run %s: %s, %llu rows", s->run_id,
                    end_name(job->end), (unsigned long long)job->records);
    } else if (rc == RUN_ELOST) {
        sl_log_warn(rn->log,
                    "run %s: no longer this runner's; its end is dropped "
                    "and its loads rolled back",
                    s->run_id);
    } else {
        if (lost)
            sl_log_warn(rn->log,
                        "run %s: given up (its heartbeats failed); nothing "
                        "of it is committed",
                        s->run_id);
        release(s);
    }
}

/* The run's deadline (run_timeout_for()), counted from now: its claim. */
static void
set_deadline(struct run_job *job, json_t *def, const struct sl_conf *conf)
{
    job->timeout_s = run_timeout_for(def, conf);
    job->deadline_ms = now_ms() + job->timeout_s * 1000.0;
    atomic_init(&job->timed_out, false);
}

/*
 * Carries a run the claim gave (res, taken: run_id, tenant, pipeline,
 * params, definition, attempt, started) to its end, written with its
 * event and its loads committed, or given up and handed back.
 */
static void
execute(struct run_slot *s, PGresult *res)
{
    struct runner *rn = s->rn;
    const char *run_id = PQgetvalue(res, 0, 0), *tenant = PQgetvalue(res, 0, 1);
    struct run_job *job = NULL;
    sl_pool *pool = NULL;
    json_t *def = NULL;
    double started_epoch, started_mono;

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
    job->attempt = atoi(PQgetvalue(res, 0, 5));
    job->params =
        sl_json_pool_own(pool, json_loads(PQgetvalue(res, 0, 3), 0, NULL));
    def = json_loads(PQgetvalue(res, 0, 4), 0, NULL);
    job->conf = rn->conf;
    job->db = &s->db;
    job->log = rn->log;
    job->pool = pool;
    job->hooks =
        (struct run_hooks){hook_log, hook_progress, hook_watch, hook_enlist, s};
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
    snprintf(s->attempt, sizeof(s->attempt), "%d", job->attempt);
    s->released = false;
    s->lost = false;
    s->gone = false;
    s->enlisted = false;
    s->logs = json_array();
    s->logs_dropped = 0;
    s->progress_at = 0;
    pthread_mutex_unlock(&rn->mu);

    sl_log_info(rn->log, "run %s: started (attempt %d)", run_id, job->attempt);
    publish_event(
        s, "pipeline.started",
        json_pack("{s:s, s:i}", "status", "running", "attempt", job->attempt));
    if (def == NULL) {
        snprintf(job->error, sizeof(job->error),
                 "the pipeline's definition cannot be read");
        job->end = RUN_END_FAILED;
    } else if (run_engine_execute(job, def) != 0) {
        job->end = RUN_END_FAILED;
    }
    conclude_run(s, started_epoch, started_mono);
    pthread_mutex_lock(&rn->mu);
    s->job = NULL;
    json_decref(s->logs);
    s->logs = NULL;
    pthread_mutex_unlock(&rn->mu);
out:
    json_decref(job ? job->result : NULL);
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
            if (!atomic_load(&rn->ready) || !sl_bus_connected(rn->bus) ||
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
            /* NATS away, or the work queue or its consumer gone (the
             * runner makes the stream again): bind afresh, which makes
             * the consumer again, once NATS answers. */
            natsSubscription_Destroy(s->sub);
            s->sub = NULL;
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
    if (n == 0) {
        /* Nothing held, nothing to lose. */
        atomic_store(&rn->beat_ok_ms, (long long)now_ms());
        return;
    }
    if (sl_db_exec(&rn->beat_db, RUN_ST_HEARTBEAT, 2, p, &res) != 0) {
        sl_log_warn(rn->log, "heartbeat: %s", sl_db_error(&rn->beat_db));
        return;
    }
    atomic_store(&rn->beat_ok_ms, (long long)now_ms());
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

/*
 * Stops every run in hand when no heartbeat has held for RUN_BEAT_LOST_MS
 * (worker.h): its own thread, since a heartbeat may hang as long as the
 * database connection does.
 */
static void *
watchdog_main(void *arg)
{
    struct runner *rn = arg;

    while (!atomic_load(&rn->stopping) || run_workers_busy(rn) > 0) {
        double silent = now_ms() - (double)atomic_load(&rn->beat_ok_ms);

        usleep(WATCHDOG_MS * 1000);
        if (silent < RUN_BEAT_LOST_MS)
            continue;
        pthread_mutex_lock(&rn->mu);
        for (int i = 0; i < rn->nslots; i++) {
            struct run_slot *s = &rn->slots[i];

            if (s->job == NULL || s->lost)
                continue;
            s->lost = true;
            cancel_locked(s, "its heartbeats have failed for 5 s: another "
                             "runner may take it");
        }
        pthread_mutex_unlock(&rn->mu);
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
    rn->fault = getenv("SLUICE_RUNNER_FAULT");
    pthread_mutex_init(&rn->mu, NULL);
    atomic_init(&rn->stopping, false);
    atomic_init(&rn->beat_ok_ms, (long long)now_ms());
    rn->nslots = conf->runner_concurrency;
    rn->slots = calloc((size_t)rn->nslots, sizeof(*rn->slots));
    if (rn->slots == NULL ||
        sl_db_init(&rn->beat_db, conf->runner_db_url, "sluice-runner",
                   conf->db_statement_timeout_ms, run_stmts, RUN_ST_COUNT_,
                   log) != 0)
        return SL_ENOMEM;
    for (int i = 0; i < rn->nslots; i++) {
        struct run_slot *s = &rn->slots[i];

        s->rn = rn;
        if (sl_db_init(&s->db, conf->runner_db_url, "sluice-runner",
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
    if (pthread_create(&rn->watchdog, NULL, watchdog_main, rn) != 0)
        return SL_EIO;
    rn->watchdog_started = true;
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
    if (rn->watchdog_started)
        pthread_join(rn->watchdog, NULL);
    if (rn->cancel_sub != NULL) {
        natsSubscription_Unsubscribe(rn->cancel_sub);
        natsSubscription_Destroy(rn->cancel_sub);
    }
    sl_db_free(&rn->beat_db);
    free(rn->slots);
    rn->slots = NULL;
    pthread_mutex_destroy(&rn->mu);
}
