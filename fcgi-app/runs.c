/*
 * runs.c: starting, reading, cancelling and retrying runs of pipelines,
 * at every path the seeds document.
 *
 * The API never runs a pipeline itself (DESIGN.md). Starting one writes
 * the run and its request in the outbox in one statement; after commit
 * the request is published to JetStream with the outbox id as Nats-Msg-Id
 * and the outbox row marked sent. When NATS is down at that moment the
 * run still stands, pending, and the relay publishes it later. An
 * Idempotency-Key header makes a retried start return the run the first
 * one made.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "authenticate.h"
#include "bus.h"
#include "check.h"
#include "clock.h"
#include "err.h"
#include "handlers.h"
#include "json.h"
#include "limits.h"
#include "list.h"
#include "pipelines.h"
#include "request.h"
#include "sched.h"
#include "utf8.h"
#include "uuid.h"

#define MAX_IDEMPOTENCY_KEY 255

/* A word a client may send, and the value we store for it. */
struct alias {
    const char *given, *value;
};

/* Seed 003's upper-case statuses and other seeds' words for ours. */
static const struct alias status_names[] = {
    {"pending", "pending"},     {"queued", "pending"},
    {"running", "running"},     {"started", "running"},
    {"completed", "completed"}, {"complete", "completed"},
    {"success", "completed"},   {"succeeded", "completed"},
    {"failed", "failed"},       {"failure", "failed"},
    {"error", "failed"},        {"cancelled", "cancelled"},
    {"canceled", "cancelled"},
};

/* Seed 004's log levels, in any case, and WARN for WARNING. */
static const struct alias level_names[] = {
    {"debug", "DEBUG"},  {"info", "INFO"},   {"warning", "WARNING"},
    {"warn", "WARNING"}, {"error", "ERROR"},
};

#define ALIAS_FIND(table, s)                                                   \
    alias_find(table, sizeof(table) / sizeof(*table), s)

/* The value table gives for s (compared without case), or NULL. */
static const char *
alias_find(const struct alias *table, size_t n, const char *s)
{
    for (size_t i = 0; i < n; i++)
        if (strcasecmp(s, table[i].given) == 0)
            return table[i].value;
    return NULL;
}

static int API_ANSWERS
pipeline_not_found(struct api_req *r, const char *ref)
{
    return api_error(r, 404, "PIPELINE_NOT_FOUND", "No such pipeline",
                     json_pack("{s:s}", "pipeline_id", ref ? ref : ""));
}

static int API_ANSWERS
run_not_found(struct api_req *r)
{
    const char *id = api_param(r, "run_id");

    return api_error(r, 404, "RUN_NOT_FOUND", "No such run",
                     json_pack("{s:s}", "run_id", id ? id : ""));
}

/*
 * The id of the pipeline the route names in {id}, resolved (a slug
 * becomes its id), in *id; NULL when the route names no pipeline.
 * Returns 0, or API_ANSWERED with the 404 or the database's error set.
 */
static int API_ANSWERS
route_pipeline(struct api_req *r, const char **id)
{
    const char *ref = api_param(r, "id"), *params[2];
    PGresult *res;
    int rc;

    *id = NULL;
    if (ref == NULL)
        return 0;
    if (!api_pipeline_ref(r, ref, params))
        return pipeline_not_found(r, ref);
    rc = api_exec_scoped(r, r->who.tenant_id, r->who.user_id, ST_PIPELINE_ID, 2,
                         params, &res);
    if (rc != SL_OK)
        return api_db_error(r, rc);
    if (PQntuples(res) == 0)
        return pipeline_not_found(r, ref);
    *id = PQgetvalue(res, 0, 0);
    return 0;
}

/*
 * The run's parameters: the body's parameters (seeds 001, 002), params
 * (seed 004) or input_data (seed 000), over the pipeline's defaults.
 */
static json_t *
run_params(struct api_check *c, json_t *body, const char *defaults)
{
    static const char *const names[] = {"parameters", "params", "input_data"};
    json_t *out = json_loads(defaults ? defaults : "{}", 0, NULL);

    if (!json_is_object(out)) {
        json_decref(out);
        out = json_object();
    }
    for (size_t i = 0; i < 3; i++) {
        json_t *v = json_object_get(body, names[i]);

        if (v == NULL || json_is_null(v))
            continue;
        if (!json_is_object(v)) {
            api_check_fail(c, names[i], "must be an object");
            continue;
        }
        json_object_update(out, v);
    }
    return out;
}

/*
 * Who the run says started it (seed 003): the body's trigger_by, else the
 * X-User-ID header, else the user of a token; NULL for an API key that
 * names nobody. It is the caller's word, kept as given: the credential
 * that started the run is recorded apart (api_key_id, user_id). Problems
 * are recorded in c.
 */
static const char *
run_trigger_by(struct api_check *c, json_t *body)
{
    const char *by =
        api_check_str(c, body, "trigger_by", 0, 1, SL_MAX_TRIGGER_BY);
    const char *hdr = api_header(c->r, "X-User-ID");

    if (json_object_get(body, "trigger_by") != NULL)
        return by;
    if (hdr != NULL) {
        size_t n = strlen(hdr);

        if (n == 0 || n > SL_MAX_TRIGGER_BY || !sl_utf8_valid(hdr, n)) {
            api_check_fail(c, "X-User-ID",
                           "must be 1 to %d bytes of UTF-8 text",
                           SL_MAX_TRIGGER_BY);
            return NULL;
        }
        return hdr;
    }
    return c->r->who.user_id;
}

/*
 * Publishes the run request of outbox row outbox_id (lib/sched.h). A
 * failure leaves the row for the relay: the run stands either way.
 */
static void
publish_request(struct api_req *r, const char *outbox_id, const char *run_id,
                const char *pipeline_id)
{
    char payload[256];
    int n;

    n = snprintf(payload, sizeof(payload),
                 "{\"run_id\":\"%s\",\"tenant_id\":\"%s\",\"pipeline_id\":"
                 "\"%s\",\"outbox_id\":\"%s\"}",
                 run_id, r->who.tenant_id, pipeline_id, outbox_id);
    if (n > 0 && (size_t)n < sizeof(payload))
        sl_sched_publish_request(&r->ctx->db, &r->ctx->bus, ST_OUTBOX_SENT,
                                 r->who.tenant_id, run_id, outbox_id, payload,
                                 &r->ctx->log);
}

/*
 * Checks the organisation's plan quotas (seed 003) in the open
 * transaction: runs a day, runs a month, runs at once. The rules are
 * run_quota_check() (sql/009_scheduler_fire.sql), which the scheduler
 * shares; this says them to the client. Returns 0 when a run may start;
 * API_ANSWERED when a quota is spent or the subscription is not active,
 * with the 429 or 403 set; or a database code.
 */
static int API_ANSWERS
check_quota(struct api_req *r)
{
    static const struct {
        const char *type, *what;
    } quotas[] = {
        {"daily_pipelines", "Daily pipeline quota"},
        {"monthly_pipelines", "Monthly pipeline quota"},
        {"concurrent_runs", "Concurrent run quota"},
    };
    const char *spent, *status, *reset, *what = "Pipeline quota";
    long used, limit;
    PGresult *res;
    int rc;

    if ((rc = api_exec(r, ST_RUN_QUOTA, 0, NULL, &res)) != SL_OK)
        return rc;
    if ((spent = sl_db_value(res, 0, 0)) == NULL)
        return 0;
    status = PQgetvalue(res, 0, 1);
    if (strcmp(spent, "subscription") == 0)
        return api_error(r, 403, "SUBSCRIPTION_INACTIVE",
                         sl_psprintf(r->pool,
                                     "The organization's subscription is %s: "
                                     "no run can start",
                                     status),
                         json_pack("{s:s}", "subscription_status", status));
    for (size_t i = 0; i < sizeof(quotas) / sizeof(quotas[0]); i++)
        if (strcmp(spent, quotas[i].type) == 0)
            what = quotas[i].what;
    used = strtol(PQgetvalue(res, 0, 2), NULL, 10);
    limit = strtol(PQgetvalue(res, 0, 3), NULL, 10);
    reset = sl_db_value(res, 0, 4);
    api_add_header(r, "Retry-After: %d", reset ? 3600 : 30);
    return api_error(r, 429, "QUOTA_EXCEEDED",
                     sl_psprintf(r->pool,
                                 "%s exceeded: %ld of %ld used; the run was "
                                 "not started",
                                 what, used, limit),
                     json_pack("{s:s, s:I, s:I, s:s?}", "quota_type", spent,
                               "current_usage", (json_int_t)used, "limit",
                               (json_int_t)limit, "reset_at", reset));
}

/* An Idempotency-Key already used to start another pipeline's run. */
static int API_ANSWERS
idempotency_conflict(struct api_req *r)
{
    return api_error(r, 422, "VALIDATION_ERROR",
                     "This Idempotency-Key started a run of another pipeline",
                     json_pack("{s:s, s:s}", "field", "Idempotency-Key",
                               "reason", "was used for another pipeline"));
}

/* The 202 answer: the run, with seed 001's message. */
static int API_ANSWERS
reply_started(struct api_req *r, int status, const char *doc)
{
    json_t *run = json_loads(doc, 0, NULL);

    if (run == NULL)
        return api_reply_raw(r, status, doc);
    json_object_set_new(run, "message",
                        json_string("Pipeline execution initiated"));
    api_add_header(r, "Location: /api/v1/pipelines/runs/%s",
                   sl_json_get_str(run, "id"));
    return api_reply(r, status, run);
}

/*
 * Starts a run of the pipeline ref (id or slug) with body's parameters.
 * trigger_type and original (a run being retried, or NULL) describe it.
 */
static int API_ANSWERS
start_run(struct api_req *r, const char *ref, json_t *body,
          const char *trigger_type, const char *original, json_t *fixed_params)
{
    struct sl_db *db = &r->ctx->db;
    const char *key = api_header(r, "Idempotency-Key"), *params[11], *by;
    char run_id[SL_UUID_LEN], outbox_id[SL_UUID_LEN], *pid;
    struct api_check c;
    json_t *input;
    PGresult *res;
    int rc;

    if (!api_pipeline_ref(r, ref, params))
        return pipeline_not_found(r, ref);
    if (key != NULL && (*key == '\0' || strlen(key) > MAX_IDEMPOTENCY_KEY ||
                        !sl_utf8_valid(key, strlen(key))))
        return api_error(r, 422, "VALIDATION_ERROR",
                         "Idempotency-Key must be 1 to 255 bytes of UTF-8 text",
                         json_pack("{s:s, s:s}", "field", "Idempotency-Key",
                                   "reason",
                                   "must be 1 to 255 bytes of UTF-8 text"));
    if ((rc = sl_db_begin(db, r->who.tenant_id, r->who.user_id)) != SL_OK)
        return api_db_error(r, rc);
    if ((rc = api_exec(r, ST_RUN_PIPELINE, 2, params, &res)) != SL_OK)
        goto failed;
    if (PQntuples(res) == 0) {
        sl_db_rollback(db);
        return pipeline_not_found(r, ref);
    }
    if (key != NULL) {
        const char *kp[1] = {key};
        PGresult *prev;

        if ((rc = api_exec(r, ST_RUN_BY_KEY, 1, kp, &prev)) != SL_OK)
            goto failed;
        if (PQntuples(prev) == 1) {
            sl_db_rollback(db);
            if (strcmp(PQgetvalue(prev, 0, 1), PQgetvalue(res, 0, 0)) != 0)
                return idempotency_conflict(r);
            return reply_started(r, 202, PQgetvalue(prev, 0, 0));
        }
    }
    if (strcmp(PQgetvalue(res, 0, 2), "archived") == 0) {
        sl_db_rollback(db);
        return api_error(
            r, 409, "INVALID_STATE", "The pipeline is archived: it cannot run",
            json_pack("{s:s}", "pipeline_id", PQgetvalue(res, 0, 0)));
    }
    if ((rc = check_quota(r)) != 0) {
        sl_db_rollback(db);
        return rc == API_ANSWERED ? rc : api_db_error(r, rc);
    }
    api_check_init(&c, r);
    input = fixed_params ? json_incref(fixed_params)
                         : run_params(&c, body, PQgetvalue(res, 0, 3));
    by = run_trigger_by(&c, body);
    sl_json_pool_own(r->pool, input);
    if ((rc = api_check_done(&c)) != 0) {
        sl_db_rollback(db);
        return rc;
    }
    if (sl_uuid_v7(run_id) != SL_OK || sl_uuid_v7(outbox_id) != SL_OK) {
        sl_db_rollback(db);
        return SL_ECRYPTO;
    }
    pid = sl_pstrdup(r->pool, PQgetvalue(res, 0, 0));
    params[0] = run_id;
    params[1] = pid;
    params[2] = sl_pstrdup(r->pool, PQgetvalue(res, 0, 1));
    params[3] = trigger_type;
    params[4] = by;
    params[5] = api_json_text(r, input);
    params[6] = original;
    params[7] = key;
    params[8] = outbox_id;
    params[9] = r->who.key_id;
    params[10] = r->who.user_id;
    rc = api_exec(r, ST_RUN_INSERT, 11, params, &res);
    if (rc == SL_OK)
        rc = sl_db_commit(db);
    if (rc == SL_ECONFLICT && key != NULL) {
        /* The same key, at the same moment: answer with that run. */
        const char *kp[1] = {key};

        sl_db_rollback(db);
        rc = api_exec_scoped(r, r->who.tenant_id, r->who.user_id, ST_RUN_BY_KEY,
                             1, kp, &res);
        if (rc != SL_OK)
            return api_db_error(r, rc);
        if (PQntuples(res) == 1)
            return strcmp(PQgetvalue(res, 0, 1), pid) == 0
                       ? reply_started(r, 202, PQgetvalue(res, 0, 0))
                       : idempotency_conflict(r);
        return api_error(r, 409, "CONFLICT",
                         "The run conflicted with another; try again", NULL);
    }
    if (rc != SL_OK)
        goto failed;
    /* pipeline.queued first, so that subscribers see pending before the
     * runner's pipeline.started (sql/020_run_queued.sql). */
    {
        char subject[160];

        snprintf(subject, sizeof(subject), "%s%s.pipeline.queued",
                 SL_SUBJ_EVENT_PREFIX, r->who.tenant_id);
        sl_sched_publish_outbox(&r->ctx->db, &r->ctx->bus, ST_OUTBOX_SENT,
                                r->who.tenant_id, run_id, subject, run_id,
                                PQgetvalue(res, 0, 1), &r->ctx->log);
    }
    publish_request(r, outbox_id, run_id, pid);
    return reply_started(r, 202, PQgetvalue(res, 0, 0));
failed:
    sl_db_rollback(db);
    return api_db_error(r, rc);
}

int
api_h_runs_start(struct api_req *r)
{
    const char *ref = api_param(r, "id");
    const char *trigger = r->who.kind == API_PRINCIPAL_KEY ? "api" : "manual";
    json_t *body;
    int rc;

    if (ref == NULL)
        ref = api_param(r, "pipeline_id");
    if ((api_param(r, "tenant_id") != NULL &&
         (rc = api_check_tenant_param(r)) != 0) ||
        (rc = api_body_object(r, true, &body)) != 0)
        return rc;
    if (ref == NULL) {
        /* POST /pipelines/execute names the pipeline in the body. */
        ref = sl_json_get_str(body, "pipeline_id");
        if (ref == NULL)
            return api_error(r, 422, "VALIDATION_ERROR",
                             "pipeline_id is required",
                             json_pack("{s:s, s:s}", "field", "pipeline_id",
                                       "reason", "is required"));
    }
    return start_run(r, ref, body, trigger, NULL, NULL);
}

int
api_h_runs_list(struct api_req *r)
{
    static const char *const triggers[] = {"manual", "api", "schedule", "retry",
                                           "trigger"};
    const char *pipeline, *params[7];
    const char *status = api_query(r, "status");
    const char *trigger = api_query(r, "trigger_type");
    struct api_page pg;
    struct api_check c;
    PGresult *res;
    int rc;

    if ((rc = route_pipeline(r, &pipeline)) != 0 ||
        (rc = api_page_parse(r, &pg)) != 0)
        return rc;
    api_check_init(&c, r);
    params[0] = pipeline;
    if (params[0] == NULL && api_query(r, "pipeline_id") != NULL) {
        const char *q = api_query(r, "pipeline_id"), *pp[2];

        if (*q == '\0' || strlen(q) > 100) {
            api_check_fail(&c, "pipeline_id", "is not a pipeline id");
        } else if (!api_pipeline_ref(r, q, pp)) {
            /* No pipeline has such an id: it has no runs. */
            params[0] = "00000000-0000-0000-0000-000000000000";
        } else {
            rc = api_exec_scoped(r, r->who.tenant_id, r->who.user_id,
                                 ST_PIPELINE_ID, 2, pp, &res);
            if (rc != SL_OK)
                return api_db_error(r, rc);
            /* An unknown pipeline has no runs. */
            params[0] = PQntuples(res) ? PQgetvalue(res, 0, 0)
                                       : "00000000-0000-0000-0000-000000000000";
        }
    }
    params[1] = NULL;
    if (status != NULL &&
        (params[1] = ALIAS_FIND(status_names, status)) == NULL)
        api_check_fail(&c, "status",
                       "must be one of pending, running, completed, failed, "
                       "cancelled");
    params[2] = NULL;
    if (trigger != NULL) {
        if (strcmp(trigger, "scheduled") == 0) /* seed 004's word */
            trigger = "schedule";
        for (size_t i = 0; i < 5; i++)
            if (strcmp(trigger, triggers[i]) == 0)
                params[2] = triggers[i];
        if (params[2] == NULL)
            api_check_fail(&c, "trigger_type",
                           "must be one of manual, api, schedule, retry, "
                           "trigger");
    }
    params[3] = api_query_time(
        r, &c, api_query(r, "from_date") ? "from_date" : "start_date");
    params[4] =
        api_query_time(r, &c, api_query(r, "to_date") ? "to_date" : "end_date");
    if ((rc = api_check_done(&c)) != 0)
        return rc;
    return api_reply_list_stmt(r, &pg, ST_RUN_LIST, 7, params);
}

/*
 * The {run_id} of the route in params[0], and the pipeline the path names
 * (or NULL) in params[1]. Returns 0, or API_ANSWERED with the 404 or the
 * database's error set.
 */
static int API_ANSWERS
run_ref(struct api_req *r, const char *params[2])
{
    int rc = route_pipeline(r, &params[1]);

    if (rc != 0)
        return rc;
    params[0] = api_param_uuid(r, "run_id");
    return params[0] != NULL ? 0 : run_not_found(r);
}

/*
 * Runs statement id on the run the route names, in a transaction of its
 * own, with params (filled here) the run and the pipeline the path names
 * or NULL. Returns 0 with *res holding the run's row (in the pool), or
 * API_ANSWERED with the answer set: 404 when the run is not the
 * organisation's (or not that pipeline's), or the database's error.
 */
static int API_ANSWERS
run_read(struct api_req *r, enum api_stmt id, const char *params[2],
         PGresult **res)
{
    int rc;

    if ((rc = run_ref(r, params)) != 0)
        return rc;
    rc = api_exec_scoped(r, r->who.tenant_id, r->who.user_id, id, 2, params,
                         res);
    if (rc != SL_OK)
        return api_db_error(r, rc);
    if (PQntuples(*res) == 0)
        return run_not_found(r);
    return 0;
}

/* Answers with the document statement id makes of the run (run_read()). */
static int
reply_run_doc(struct api_req *r, enum api_stmt id)
{
    const char *params[2];
    PGresult *res;
    int rc;

    if ((rc = run_read(r, id, params, &res)) != 0)
        return rc;
    return api_reply_raw(r, 200, PQgetvalue(res, 0, 0));
}

int
api_h_runs_get(struct api_req *r)
{
    return reply_run_doc(r, ST_RUN_GET);
}

/* Per node rows, duration, memory and CPU, from run_steps (seed 004). */
int
api_h_runs_metrics(struct api_req *r)
{
    return reply_run_doc(r, ST_RUN_METRICS);
}

/*
 * A run's log, oldest first (seed 004: {"logs", "total"}), filtered by
 * level and node_id, in any of the list's pagination styles.
 */
int
api_h_runs_logs(struct api_req *r)
{
    const char *level = api_query(r, "level"), *node = api_query(r, "node_id");
    const char *run[2], *params[5];
    struct api_page pg;
    struct api_check c;
    PGresult *res;
    int rc;

    if ((rc = api_page_parse(r, &pg)) != 0)
        return rc;
    api_check_init(&c, r);
    params[1] = NULL;
    if (level != NULL && *level != '\0' &&
        (params[1] = ALIAS_FIND(level_names, level)) == NULL)
        api_check_fail(&c, "level",
                       "must be one of DEBUG, INFO, WARNING, ERROR");
    params[2] = node != NULL && *node != '\0' ? node : NULL;
    /* The run must be the organisation's: an empty log cannot say. */
    if ((rc = api_check_done(&c)) != 0 ||
        (rc = run_read(r, ST_RUN_EXISTS, run, &res)) != 0)
        return rc;
    params[0] = run[0];
    return api_reply_list_stmt_as(r, &pg, "logs", ST_RUN_LOGS, 5, params);
}

/* How long a cancel waits for the runner to stop a running run, which it
 * does within two seconds (at its next heartbeat, sooner on the signal),
 * and how often it looks. */
#define CANCEL_WAIT_US (2500 * 1000)
#define CANCEL_POLL_US (50 * 1000)

/*
 * Waits, up to CANCEL_WAIT_US, for run id, which was running and is asked
 * to stop, to be running no more, reading its status alone. Returns 0
 * (whether or not it stopped) or a database code.
 */
static int
await_stop(struct api_req *r, const char *id)
{
    int64_t end = sl_clock_mono_us() + CANCEL_WAIT_US;
    PGresult *res;
    int rc;

    for (;;) {
        rc = api_exec_scoped(r, r->who.tenant_id, r->who.user_id, ST_RUN_STATUS,
                             1, &id, &res);
        if (rc != SL_OK)
            return rc;
        if (PQntuples(res) == 0 ||
            strcmp(PQgetvalue(res, 0, 0), "running") != 0 ||
            sl_clock_mono_us() + CANCEL_POLL_US > end)
            return 0;
        usleep(CANCEL_POLL_US);
    }
}

/*
 * Seed 000's answer to a cancel of a running run: the run once its runner
 * stopped it (cancelled, with cancelled_at; or completed or failed, when it
 * ended first), or, while it still stops, the run with status cancelling.
 * Never "running". Only the first cancel of a run waits (wait): one asked
 * to stop already is answered as it is, so that cancels repeated while a
 * runner is slow to stop do not each hold a worker.
 */
static int API_ANSWERS
reply_cancel_of_running(struct api_req *r, const char *params[2], bool wait)
{
    json_t *run;
    PGresult *res;
    int rc;

    if ((wait && (rc = await_stop(r, params[0])) != SL_OK) ||
        (rc = api_exec_scoped(r, r->who.tenant_id, r->who.user_id, ST_RUN_GET,
                              2, params, &res)) != SL_OK)
        return api_db_error(r, rc);
    if (PQntuples(res) == 0)
        return run_not_found(r);
    run = json_loads(PQgetvalue(res, 0, 0), 0, NULL);
    if (run == NULL)
        return api_error(r, 500, "INTERNAL_ERROR", "Unreadable run", NULL);
    if (strcmp(sl_json_get_str(run, "status"), "running") == 0) {
        json_object_set_new(run, "status", json_string("cancelling"));
        json_object_set_new(run, "message",
                            json_string("The run is stopping: it will be "
                                        "cancelled within seconds"));
        return api_reply(r, 200, run);
    }
    if (strcmp(sl_json_get_str(run, "status"), "cancelled") != 0)
        json_object_set_new(run, "message",
                            json_string("The run ended before it could be "
                                        "cancelled"));
    return api_reply(r, 200, run);
}

int
api_h_runs_cancel(struct api_req *r)
{
    struct sl_db *db = &r->ctx->db;
    const char *params[2], *status;
    char subject[80];
    PGresult *res;
    bool asked;
    int rc;

    if ((rc = run_ref(r, params)) != 0)
        return rc;
    if ((rc = sl_db_begin(db, r->who.tenant_id, r->who.user_id)) != SL_OK ||
        (rc = api_exec(r, ST_RUN_LOCK, 2, params, &res)) != SL_OK)
        goto failed;
    if (PQntuples(res) == 0) {
        sl_db_rollback(db);
        return run_not_found(r);
    }
    status = sl_pstrdup(r->pool, PQgetvalue(res, 0, 0));
    asked = strcmp(PQgetvalue(res, 0, 3), "t") == 0;
    if (strcmp(status, "pending") != 0 && strcmp(status, "running") != 0) {
        sl_db_rollback(db);
        return api_error(
            r, 409, "INVALID_STATE",
            sl_psprintf(r->pool,
                        "The run is %s: only a pending or "
                        "running run can be cancelled",
                        status),
            json_pack("{s:s, s:s}", "run_id", params[0], "status", status));
    }
    if ((rc = api_exec(r, ST_RUN_CANCEL, 1, params, &res)) != SL_OK ||
        (rc = sl_db_commit(db)) != SL_OK)
        goto failed;
    if (strcmp(status, "running") == 0 && sl_bus_connected(&r->ctx->bus)) {
        /* The runner also sees cancel_requested at its next heartbeat:
         * the signal only makes it sooner. */
        snprintf(subject, sizeof(subject), "%s%s", SL_SUBJ_RUN_CANCEL_PREFIX,
                 params[0]);
        natsConnection_PublishString(r->ctx->bus.nc, subject, "{}");
    }
    if (strcmp(status, "running") == 0)
        return reply_cancel_of_running(r, params, !asked);
    return api_reply_raw(r, 200, PQgetvalue(res, 0, 0));
failed:
    sl_db_rollback(db);
    return api_db_error(r, rc);
}

int
api_h_runs_retry(struct api_req *r)
{
    const char *params[2], *status;
    json_t *input;
    PGresult *res;
    int rc;

    if ((rc = run_read(r, ST_RUN_LOCK, params, &res)) != 0)
        return rc;
    status = PQgetvalue(res, 0, 0);
    if (strcmp(status, "pending") == 0 || strcmp(status, "running") == 0)
        return api_error(
            r, 409, "INVALID_STATE",
            sl_psprintf(r->pool,
                        "The run is %s: only a finished run can "
                        "be retried",
                        status),
            json_pack("{s:s, s:s}", "run_id", params[0], "status", status));
    input =
        sl_json_pool_own(r->pool, json_loads(PQgetvalue(res, 0, 2), 0, NULL));
    return start_run(r, sl_pstrdup(r->pool, PQgetvalue(res, 0, 1)), NULL,
                     "retry", params[0], input);
}

/* --- the scheduler ---------------------------------------------------------
 */

/* The answer being built: runs started, items skipped. */
struct sched_report {
    json_t *fired, *skipped;
};

/* Why an item was skipped, as the answer says it. */
static const char *const skip_reasons[] = {
    [SL_SCHED_QUOTA] = "quota exceeded",
    [SL_SCHED_INACTIVE] = "subscription inactive",
    [SL_SCHED_INVALID] = "invalid schedule: disabled",
    [SL_SCHED_ERROR] = "error",
};

/* Adds one item lib/sched.c fired or skipped to the answer. */
static void
sched_report(void *arg, const struct sl_sched_item *it)
{
    struct sched_report *rep = arg;

    if (it->outcome == SL_SCHED_FIRED) {
        json_array_append_new(
            rep->fired,
            json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "kind", it->kind, "id",
                      it->id, "tenant_id", it->tenant_id, "pipeline_id",
                      it->pipeline_id, "run_id", it->run_id, "next_run",
                      it->next_run));
        return;
    }
    json_array_append_new(
        rep->skipped,
        json_pack("{s:s, s:s, s:s, s:s, s:s?, s:s?}", "kind", it->kind, "id",
                  it->id, "tenant_id", it->tenant_id, "reason",
                  skip_reasons[it->outcome], "quota_type", it->quota_type,
                  "disabled_reason", it->reason));
}

/*
 * POST /api/v1/scheduler/trigger (admin key): fires whatever is due now,
 * as the runner's clock does every two seconds (lib/sched.h), and says
 * what it started and what it skipped.
 */
int
api_h_scheduler_trigger(struct api_req *r)
{
    static const struct sl_sched_stmts st = {.due = ST_SCHED_DUE,
                                             .fire = ST_SCHED_FIRE,
                                             .disable = ST_SCHED_DISABLE,
                                             .sent = ST_OUTBOX_SENT,
                                             .queued = ST_SCHED_QUEUED};
    struct sched_report rep = {json_array(), json_array()};
    char now[SL_RFC3339_MAX];
    int rc;

    sl_json_pool_own(r->pool, rep.fired);
    sl_json_pool_own(r->pool, rep.skipped);
    sl_clock_format(sl_clock_now(), now);
    rc = sl_sched_fire_due(&r->ctx->db, &r->ctx->bus, &st, sched_report, &rep,
                           &r->ctx->log);
    if (rc < 0)
        return api_db_error(r, rc);
    return api_reply(
        r, 200,
        json_pack("{s:s, s:I, s:I, s:O, s:O}", "checked_at", now, "triggered",
                  (json_int_t)json_array_size(rep.fired), "skipped_count",
                  (json_int_t)json_array_size(rep.skipped), "runs", rep.fired,
                  "skipped", rep.skipped));
}
