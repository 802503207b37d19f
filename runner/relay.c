/*
 * relay.c: publishes the outbox rows the API left unsent (see relay.h).
 */
#include "config.h"

#include <string.h>

#include "err.h"
#include "relay.h"
#include "stmt.h"

#define PUBLISH_TIMEOUT_MS 2000

int
run_relay(struct sl_db *db, struct sl_bus *bus, struct sl_logger *log)
{
    const char *params[2] = {RUN_RELAY_BATCH, RUN_RELAY_GRACE};
    PGresult *rows = NULL, *res;
    int rc, n, sent = 0;

    if (!sl_bus_connected(bus))
        return SL_EBUS;
    rc = sl_db_exec(db, RUN_ST_OUTBOX_UNSENT, 2, params, &rows);
    if (rc != SL_OK)
        return rc;
    n = PQntuples(rows);
    for (int i = 0; i < n; i++) {
        const char *id = PQgetvalue(rows, i, 0);
        const char *subject = PQgetvalue(rows, i, 1);
        const char *payload = PQgetvalue(rows, i, 2);
        const char *p[1] = {id};

        rc = sl_bus_publish(bus, subject, payload, strlen(payload), id,
                            PUBLISH_TIMEOUT_MS, NULL);
        if (rc != SL_OK) {
            sl_log_warn(log, "relay: %s not published; will try again", id);
            break;
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
    return rc == SL_OK ? sent : rc;
}

int
run_reconcile(struct sl_db *db, struct sl_bus *bus, struct sl_logger *log)
{
    const char *params[1] = {RUN_RECONCILE_AFTER};
    PGresult *res;
    uint64_t queued;
    int rc, n;

    /* A request still in the queue will be taken in its turn. */
    if ((rc = sl_bus_stream_msgs(bus, SL_STREAM_RUNS, &queued)) != SL_OK)
        return rc;
    if (queued > 0)
        return 0;
    if ((rc = sl_db_exec(db, RUN_ST_RECONCILE, 1, params, &res)) != SL_OK)
        return rc;
    n = PQntuples(res);
    for (int i = 0; i < n; i++)
        sl_log_warn(log,
                    "run %s (organization %s): pending, its request lost; "
                    "requested again",
                    PQgetvalue(res, i, 0), PQgetvalue(res, i, 1));
    PQclear(res);
    return n;
}
