/*
 * relay.c: publishes the outbox rows the API left unsent, retrying and
 * parking the ones NATS refuses, and requests again the runs whose
 * request was lost (see relay.h).
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "clock.h"
#include "err.h"
#include "relay.h"
#include "stmt.h"

#define PUBLISH_TIMEOUT_MS 2000

/* The columns of RUN_ST_OUTBOX_DUE. */
enum { DUE_ID, DUE_SUBJECT, DUE_PAYLOAD, DUE_ATTEMPTS };

/*
 * Records that row id (seen after attempts tries) failed with rc, and
 * logs it. Returns 0, or the database's code.
 */
static int
row_failed(struct sl_db *db, struct sl_bus *bus, struct sl_logger *log,
           const char *id, const char *subject, const char *attempts,
           size_t len, int rc)
{
    char why[256];
    const char *params[6] = {id,
                             attempts,
                             why,
                             RUN_RELAY_MAX_ATTEMPTS,
                             RUN_RELAY_BACKOFF,
                             RUN_RELAY_BACKOFF_MAX};
    PGresult *res = NULL;

    if (rc == SL_ETOOBIG)
        snprintf(why, sizeof(why),
                 "the payload (%zu bytes) is larger than NATS's max_payload "
                 "(%" PRId64 " bytes) or its stream's largest message",
                 len, sl_bus_max_payload(bus));
    else
        snprintf(why, sizeof(why), "no JetStream stream takes its subject");
    if ((rc = sl_db_exec(db, RUN_ST_OUTBOX_FAILED, 6, params, &res)) != SL_OK)
        return rc;
    /* No row: another relay recorded this same failure first. */
    if (PQntuples(res) == 1 && strcmp(PQgetvalue(res, 0, 1), "t") == 0)
        sl_log_error(log,
                     "relay: outbox row %s (%s) parked after %s failed "
                     "tries: %s; once the cause is fixed, re-queue it with "
                     "SELECT outbox_requeue('%s')",
                     id, subject, PQgetvalue(res, 0, 0), why, id);
    else if (PQntuples(res) == 1)
        sl_log_warn(log,
                    "relay: outbox row %s (%s) not published (try %s of "
                    "%s): %s; tried again later",
                    id, subject, PQgetvalue(res, 0, 0), RUN_RELAY_MAX_ATTEMPTS,
                    why);
    PQclear(res);
    return SL_OK;
}

/*
 * Whether a publish of a row on subject that failed with rc is the row's
 * own fault, and counts against it: a payload too big, a subject no
 * stream takes. Anything else (no answer in time, one of Sluice's own
 * streams taking nothing, JetStream unavailable or out of storage) is
 * JetStream's trouble and would befall every row alike.
 */
static bool
row_at_fault(int rc, const char *subject)
{
    return rc == SL_ETOOBIG ||
           (rc == SL_ENOTFOUND && !sl_bus_stream_subject(subject));
}

int
run_relay(struct sl_db *db, struct sl_bus *bus, struct sl_logger *log)
{
    const char *params[2] = {RUN_RELAY_BATCH, RUN_RELAY_GRACE};
    int64_t end = sl_clock_mono_us() + (int64_t)RUN_RELAY_PASS_MS * 1000;
    PGresult *rows = NULL, *res;
    int rc, n, sent = 0, failed = 0;

    if (!sl_bus_connected(bus))
        return SL_EBUS;
    rc = sl_db_exec(db, RUN_ST_OUTBOX_DUE, 2, params, &rows);
    if (rc != SL_OK)
        return rc;
    n = PQntuples(rows);
    for (int i = 0; i < n && sl_clock_mono_us() < end; i++) {
        const char *id = PQgetvalue(rows, i, DUE_ID);
        const char *subject = PQgetvalue(rows, i, DUE_SUBJECT);
        const char *payload = PQgetvalue(rows, i, DUE_PAYLOAD);
        size_t len = (size_t)PQgetlength(rows, i, DUE_PAYLOAD);
        const char *p[1] = {id};

        rc = sl_bus_publish(bus, subject, payload, len, id, PUBLISH_TIMEOUT_MS,
                            NULL);
        if (rc != SL_OK) {
            /* NATS gone: no row's fault; the next pass starts over. */
            if (!sl_bus_connected(bus)) {
                rc = SL_EBUS;
                break;
            }
            /* JetStream's trouble: no row's either; the pass stops, and
             * its code tells the caller which. */
            if (!row_at_fault(rc, subject))
                break;
            rc = row_failed(db, bus, log, id, subject,
                            PQgetvalue(rows, i, DUE_ATTEMPTS), len, rc);
            if (rc != SL_OK)
                break;
            failed++;
            continue;
        }
        rc = sl_db_exec(db, RUN_ST_OUTBOX_SENT, 1, p, &res);
        if (rc != SL_OK)
            break;
        PQclear(res);
        sent++;
    }
    PQclear(rows);
    if (sent > 0)
        sl_log_info(log, "relay: published %d outbox message%s", sent,
                    sent == 1 ? "" : "s");
    if (failed > 0)
        sl_log_debug(log, "relay: %d row%s not published this pass", failed,
                     failed == 1 ? "" : "s");
    return rc == SL_OK ? sent : rc;
}

int
run_reconcile(struct sl_db *db, struct sl_logger *log)
{
    const char *params[2] = {RUN_RECONCILE_AFTER, RUN_RECONCILE_AFTER_MAX};
    PGresult *res;
    int rc, n;

    if ((rc = sl_db_exec(db, RUN_ST_RECONCILE, 2, params, &res)) != SL_OK)
        return rc;
    n = PQntuples(res);
    for (int i = 0; i < n; i++)
        sl_log_warn(log,
                    "run %s (organization %s): still pending, its last "
                    "request perhaps lost; requested again (request %s)",
                    PQgetvalue(res, i, 0), PQgetvalue(res, i, 1),
                    PQgetvalue(res, i, 2));
    PQclear(res);
    return n;
}
