/*
 * scheduler.c: the runner's clock (see scheduler.h); the firing itself is
 * lib/sched.c, shared with the API.
 */
#include "config.h"

#include <string.h>

#include "err.h"
#include "sched.h"
#include "scheduler.h"
#include "stmt.h"

static const struct sl_sched_stmts sched_stmts = {
    .due = RUN_ST_SCHED_DUE,
    .fire = RUN_ST_SCHED_FIRE,
    .disable = RUN_ST_SCHED_DISABLE,
    .sent = RUN_ST_OUTBOX_SENT,
    .queued = RUN_ST_SCHED_QUEUED,
};

/* Why an item was skipped, for the log. */
static const char *const skip_reasons[] = {
    [SL_SCHED_QUOTA] = "a plan quota is spent",
    [SL_SCHED_INACTIVE] = "the subscription is not active",
    [SL_SCHED_INVALID] = "disabled, since its next time cannot be "
                         "computed: ",
    [SL_SCHED_ERROR] = "it failed for now (logged above) and stays due",
};

/* Logs what became of one item. */
static void
report(void *arg, const struct sl_sched_item *it)
{
    struct sl_logger *log = arg;

    if (it->outcome == SL_SCHED_FIRED)
        sl_log_info(log,
                    "scheduler: %s %s of %s: run %s of pipeline %s started; "
                    "next at %s",
                    it->kind, it->id, it->tenant_id, it->run_id,
                    it->pipeline_id, it->next_run);
    else if (it->outcome == SL_SCHED_INVALID)
        sl_log_warn(log, "scheduler: %s %s of %s: %s%s", it->kind, it->id,
                    it->tenant_id, skip_reasons[it->outcome], it->reason);
    else
        sl_log_warn(log, "scheduler: %s %s of %s: no run: %s%s%s", it->kind,
                    it->id, it->tenant_id, skip_reasons[it->outcome],
                    it->quota_type ? " " : "",
                    it->quota_type ? it->quota_type : "");
}

/* Runs the lock statement id; returns whether it answered true. */
static bool
lock_call(struct sl_db *db, int id)
{
    PGresult *res = NULL;
    bool held;

    if (sl_db_exec(db, id, 0, NULL, &res) != SL_OK)
        return false;
    held = PQntuples(res) == 1 && strcmp(PQgetvalue(res, 0, 0), "t") == 0;
    PQclear(res);
    return held;
}

int
run_schedule(struct sl_db *db, struct sl_bus *bus, struct sl_logger *log)
{
    int rc;

    if (!lock_call(db, RUN_ST_SCHED_LOCK))
        return 0;
    rc = sl_sched_fire_due(db, bus, &sched_stmts, report, log, log);
    if (rc < 0)
        sl_log_warn(log, "scheduler: what is due could not be read: %s",
                    sl_db_error(db));
    /* False when the connection broke meanwhile: the lock went with it. */
    lock_call(db, RUN_ST_SCHED_UNLOCK);
    return rc;
}
