/*
 * sched.c: fires the schedules and cron triggers that are due (see
 * sched.h). The rules (the claim, the quotas, the run written) are SQL
 * in sql/009_scheduler_fire.sql; this file walks what is due, computes
 * each next time, and publishes what was started.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "clock.h"
#include "cron.h"
#include "err.h"
#include "sched.h"
#include "uuid.h"

#define PUBLISH_TIMEOUT_MS 2000

/* The columns of SL_SCHED_SQL_DUE. */
enum { DUE_KIND, DUE_ID, DUE_TENANT, DUE_PIPELINE, DUE_CRON, DUE_ZONE, DUE_AT };

/* The columns of SL_SCHED_SQL_FIRE. */
enum { FIRE_OUTCOME, FIRE_PIPELINE, FIRE_RUN, FIRE_QUOTA, FIRE_PAYLOAD };

/* What scheduler_fire() answers, and what the caller hears of it. */
static const struct {
    const char *name;
    enum sl_sched_outcome outcome;
    bool reported; /* another scheduler's firing is not this one's news */
} outcomes[] = {
    {"fired", SL_SCHED_FIRED, true},
    {"quota", SL_SCHED_QUOTA, true},
    {"inactive", SL_SCHED_INACTIVE, true},
    {"taken", SL_SCHED_FIRED, false},
};

/* One item being fired: the item as reported, and the text it points to. */
struct firing {
    struct sl_sched_item it;
    bool reported;
    const char *failed; /* what failed, when it was not the database */
    char next[SL_RFC3339_MAX];
    char run_id[SL_UUID_LEN];
    char outbox_id[SL_UUID_LEN];
    char quota_type[32];
    char reason[512];
};

int
sl_sched_next_time(const char *expr, const char *zone, int64_t now, char *out,
                   char *why, size_t whysz)
{
    char err[256] = "";
    int64_t t;
    int rc = sl_cron_next_in(expr, zone, now, &t, err, sizeof(err));

    if (rc == SL_OK)
        return sl_clock_format(t, out);
    if (why == NULL || whysz == 0)
        return rc;
    if (rc == SL_EPARSE)
        snprintf(why, whysz, "the cron expression \"%s\" is not valid: %s",
                 expr, err[0] ? err : "it does not parse");
    else if (rc == SL_EINVAL)
        snprintf(why, whysz, "the time zone \"%s\" cannot be loaded", zone);
    else if (rc == SL_ENOTFOUND)
        snprintf(why, whysz, "the cron expression \"%s\" never fires", expr);
    else if (rc == SL_EIO)
        snprintf(why, whysz,
                 "the time zone \"%s\" cannot be read now; it stays due and "
                 "is tried again",
                 zone);
    else
        snprintf(why, whysz,
                 "its next time cannot be computed now (%s); it stays due "
                 "and is tried again",
                 sl_strerror(rc));
    return rc;
}

bool
sl_sched_next_final(int rc)
{
    return rc == SL_EPARSE || rc == SL_EINVAL || rc == SL_ENOTFOUND;
}

int
sl_sched_outcome_parse(const char *name, enum sl_sched_outcome *outcome,
                       bool *reported)
{
    for (size_t i = 0;
         name != NULL && i < sizeof(outcomes) / sizeof(outcomes[0]); i++)
        if (strcmp(name, outcomes[i].name) == 0) {
            *outcome = outcomes[i].outcome;
            *reported = outcomes[i].reported;
            return SL_OK;
        }
    return SL_EDB;
}

/*
 * Disables the item of f, seen due at due, for f->reason, in a
 * transaction of its organisation. Returns 0 with f's outcome set (not
 * reported when another scheduler moved the item first), or a code.
 */
static int
disable_one(struct sl_db *db, const struct sl_sched_stmts *st, const char *due,
            struct firing *f)
{
    const char *params[4] = {f->it.kind, f->it.id, due, f->reason};
    PGresult *res = NULL;
    int rc = sl_db_exec_scoped(db, f->it.tenant_id, NULL, st->disable, 4,
                               params, &res);

    if (rc == SL_OK) {
        f->it.outcome = SL_SCHED_INVALID;
        f->it.reason = f->reason;
        f->reported = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
    }
    PQclear(res);
    return rc;
}

void
sl_sched_publish_request(struct sl_db *db, struct sl_bus *bus, int sent,
                         const char *tenant_id, const char *run_id,
                         const char *outbox_id, const char *payload,
                         struct sl_logger *log)
{
    sl_sched_publish_outbox(db, bus, sent, tenant_id, run_id,
                            SL_SUBJ_RUN_REQUEST, outbox_id, payload, log);
}

void
sl_sched_publish_outbox(struct sl_db *db, struct sl_bus *bus, int sent,
                        const char *tenant_id, const char *run_id,
                        const char *subject, const char *outbox_id,
                        const char *payload, struct sl_logger *log)
{
    const char *params[1] = {outbox_id};
    PGresult *res = NULL;

    if (sl_bus_publish(bus, subject, payload, strlen(payload), outbox_id,
                       PUBLISH_TIMEOUT_MS, NULL) != SL_OK) {
        if (log != NULL)
            sl_log_warn(log, "run %s: %s not published now; the relay will",
                        run_id, subject);
        return;
    }
    if (sl_db_exec_scoped(db, tenant_id, NULL, sent, 1, params, &res) !=
            SL_OK &&
        log != NULL)
        sl_log_warn(log, "run %s: published, not marked sent", run_id);
    PQclear(res);
}

/*
 * Publishes the pipeline.queued event of run run_id (outbox row run_id,
 * sql/020_run_queued.sql) before its request, so that subscribers see
 * pending before the runner's pipeline.started. Best effort: the relay
 * sends what this does not.
 */
static void
publish_queued(struct sl_db *db, struct sl_bus *bus,
               const struct sl_sched_stmts *st, const char *tenant_id,
               const char *run_id, struct sl_logger *log)
{
    const char *params[1] = {run_id};
    PGresult *res = NULL;

    if (st->queued <= 0 || sl_db_exec_scoped(db, tenant_id, NULL, st->queued, 1,
                                             params, &res) != SL_OK)
        return;
    if (PQntuples(res) == 1)
        sl_sched_publish_outbox(db, bus, st->sent, tenant_id, run_id,
                                PQgetvalue(res, 0, 0), run_id,
                                PQgetvalue(res, 0, 1), log);
    PQclear(res);
}

/*
 * Fires row of due as f: computes the next time, then claims, checks and
 * writes in one transaction of the item's organisation, then publishes.
 * Returns 0 with f's outcome set, or a negative code: the transaction
 * rolled back and nothing changed, except when scheduler_fire() answered
 * an outcome this file does not know (SL_EDB, after commit).
 */
static int
fire_one(struct sl_db *db, struct sl_bus *bus, const struct sl_sched_stmts *st,
         const PGresult *due, int row, struct firing *f, struct sl_logger *log)
{
    const char *params[6], *v;
    PGresult *res = NULL;
    int rc;

    f->reported = true;
    rc = sl_sched_next_time(PQgetvalue(due, row, DUE_CRON),
                            PQgetvalue(due, row, DUE_ZONE), sl_clock_now(),
                            f->next, f->reason, sizeof(f->reason));
    if (rc != SL_OK && sl_sched_next_final(rc))
        return disable_one(db, st, PQgetvalue(due, row, DUE_AT), f);
    if (rc != SL_OK) {
        /* It may pass: the item stays due, for the next pass. */
        f->failed = f->reason;
        return rc;
    }
    f->it.next_run = f->next;
    if (sl_uuid_v7(f->run_id) != SL_OK || sl_uuid_v7(f->outbox_id) != SL_OK) {
        f->failed = sl_strerror(SL_ECRYPTO);
        return SL_ECRYPTO;
    }
    params[0] = f->it.kind;
    params[1] = f->it.id;
    params[2] = PQgetvalue(due, row, DUE_AT);
    params[3] = f->next;
    params[4] = f->run_id;
    params[5] = f->outbox_id;
    if ((rc = sl_db_begin(db, f->it.tenant_id, NULL)) != SL_OK)
        return rc;
    if ((rc = sl_db_exec(db, st->fire, 6, params, &res)) != SL_OK) {
        sl_db_rollback(db);
        return rc;
    }
    /* The claim stands even when no run starts: that firing is spent. */
    if ((rc = sl_db_commit(db)) != SL_OK)
        goto out;
    rc = sl_sched_outcome_parse(PQgetvalue(res, 0, FIRE_OUTCOME),
                                &f->it.outcome, &f->reported);
    if (rc != SL_OK || !f->reported)
        goto out;
    if ((v = sl_db_value(res, 0, FIRE_QUOTA)) != NULL) {
        snprintf(f->quota_type, sizeof(f->quota_type), "%s", v);
        f->it.quota_type = f->quota_type;
    }
    if (f->it.outcome == SL_SCHED_FIRED) {
        f->it.run_id = f->run_id;
        publish_queued(db, bus, st, f->it.tenant_id, f->run_id, log);
        sl_sched_publish_request(db, bus, st->sent, f->it.tenant_id, f->run_id,
                                 f->outbox_id, PQgetvalue(res, 0, FIRE_PAYLOAD),
                                 log);
    }
out:
    PQclear(res);
    return rc;
}

int
sl_sched_fire_due(struct sl_db *db, struct sl_bus *bus,
                  const struct sl_sched_stmts *st, sl_sched_report_fn report,
                  void *arg, struct sl_logger *log)
{
    char limit[16];
    const char *params[1] = {limit};
    PGresult *due = NULL;
    int rc, fired = 0;

    snprintf(limit, sizeof(limit), "%d", SL_SCHED_BATCH);
    if ((rc = sl_db_exec(db, st->due, 1, params, &due)) != SL_OK)
        return rc;
    for (int i = 0; i < PQntuples(due); i++) {
        struct firing f;

        memset(&f, 0, sizeof(f));
        f.it.kind = PQgetvalue(due, i, DUE_KIND);
        f.it.id = PQgetvalue(due, i, DUE_ID);
        f.it.tenant_id = PQgetvalue(due, i, DUE_TENANT);
        f.it.pipeline_id = PQgetvalue(due, i, DUE_PIPELINE);
        /* One item's failure is reported, and the others still fire. */
        if ((rc = fire_one(db, bus, st, due, i, &f, log)) != SL_OK) {
            if (log != NULL)
                sl_log_error(log, "scheduler: %s %s: %s", f.it.kind, f.it.id,
                             f.failed != NULL ? f.failed : sl_db_error(db));
            f.it.outcome = SL_SCHED_ERROR;
            f.it.run_id = NULL;
            f.it.quota_type = NULL;
            f.it.reason = NULL;
            f.reported = true;
        }
        if (f.it.outcome == SL_SCHED_FIRED && f.reported)
            fired++;
        if (f.reported && report != NULL)
            report(arg, &f.it);
    }
    PQclear(due);
    return fired;
}
