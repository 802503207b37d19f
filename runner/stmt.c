/*
 * stmt.c: the runner's statement table (see stmt.h).
 */
#include "stmt.h"

#include "sched.h"
#include "scheduler.h"

const struct sl_db_stmt run_stmts[RUN_ST_COUNT_] = {
    /* The relay (relay.h). */
    [RUN_ST_OUTBOX_DUE] = {"outbox_due",
                           "SELECT id, subject, payload, attempts FROM "
                           "outbox_due($1::integer, $2::interval)",
                           true},
    [RUN_ST_OUTBOX_SENT] = {"outbox_sent", "SELECT outbox_mark_sent($1::uuid)",
                            true},
    [RUN_ST_OUTBOX_FAILED] = {"outbox_failed",
                              "SELECT attempts, parked FROM "
                              "outbox_mark_failed($1::uuid, $2::integer, $3, "
                              "$4::integer, $5::interval, $6::interval)",
                              false},
    /* In the run's organisation. */
    [RUN_ST_CONNECTOR] = {"connector",
                          "SELECT type, config::text, secret FROM connectors "
                          "WHERE id = $1::uuid AND deleted_at IS NULL",
                          true},
    /*
     * Claims run $1 for runner $2: a pending run, or a running one whose
     * runner stopped beating. Resets its steps, one per node of the
     * pipeline version it runs. No row: not this runner's to run.
     */
    [RUN_ST_CLAIM] =
        {"claim",
         "WITH c AS (UPDATE runs r SET status = 'running', claimed_by = $2, "
         "heartbeat_at = now(), started_at = coalesce(r.started_at, now()), "
         "attempts = r.attempts + 1 "
         "WHERE r.id = $1::uuid AND NOT r.cancel_requested "
         "AND (r.status = 'pending' OR (r.status = 'running' "
         "AND r.heartbeat_at < now() - run_stale_after())) "
         "RETURNING r.*), "
         "v AS (SELECT c.*, pv.definition FROM c JOIN pipeline_versions pv "
         "ON pv.pipeline_id = c.pipeline_id "
         "AND pv.version = c.pipeline_version), "
         "s AS (INSERT INTO run_steps AS s (run_id, tenant_id, node_id, "
         "module, position) SELECT v.id, v.tenant_id, n->>'id', "
         "coalesce(n->>'module', ''), o - 1 FROM v, "
         "jsonb_array_elements(v.definition->'nodes') WITH ORDINALITY "
         "AS x(n, o) ON CONFLICT (run_id, node_id) DO UPDATE SET "
         "status = 'pending', rows_input = 0, rows_output = 0, "
         "rows_filtered = 0, memory_peak_kb = NULL, cpu_ms = NULL, "
         "error_message = NULL, started_at = NULL, completed_at = NULL) "
         "SELECT v.pipeline_id, v.input_params::text, v.definition::text, "
         "v.attempts, extract(epoch FROM v.started_at)::float8 FROM v",
         false},
    /*
     * Ends run $1 of runner $2 with status $3 and writes its event $8
     * (outbox id $9) in the same statement; returns the outbox row.
     */
    [RUN_ST_FINISH] =
        {"finish",
         "WITH u AS (UPDATE runs r SET status = $3, completed_at = now(), "
         "cancelled_at = CASE WHEN $3 = 'cancelled' THEN now() END, "
         "error_message = $4, result_data = $5::jsonb, "
         "records_processed = $6::bigint, records_failed = $7::bigint, "
         "heartbeat_at = now() "
         "WHERE r.id = $1::uuid AND r.claimed_by = $2 "
         "AND r.status = 'running' RETURNING r.*), "
         "o AS (INSERT INTO outbox (id, tenant_id, subject, payload) "
         "SELECT $9::uuid, u.tenant_id, 'sluice.event.' || u.tenant_id || "
         "'.' || $8, run_event(ROW(u.*)::runs, $8) FROM u "
         "RETURNING subject, payload) "
         "SELECT subject, payload::text FROM o",
         false},
    /* $2: [{node_id, status, rows_*, memory_peak_kb, cpu_ms,
     * error_message, started, completed (epoch seconds), bytes_read}]. */
    [RUN_ST_STEPS] =
        {"steps",
         "UPDATE run_steps s SET status = x.status, "
         "rows_input = x.rows_input, rows_output = x.rows_output, "
         "rows_filtered = x.rows_filtered, "
         "memory_peak_kb = x.memory_peak_kb, cpu_ms = x.cpu_ms, "
         "error_message = x.error_message, "
         "started_at = to_timestamp(x.started), "
         "completed_at = to_timestamp(x.completed), "
         "bytes_read = x.bytes_read "
         "FROM jsonb_to_recordset($2::jsonb) AS x(node_id text, status text, "
         "rows_input bigint, rows_output bigint, rows_filtered bigint, "
         "memory_peak_kb bigint, cpu_ms bigint, error_message text, "
         "started float8, completed float8, bytes_read bigint) "
         "WHERE s.run_id = $1::uuid AND s.node_id = x.node_id",
         false},
    /* $2: [{ts (epoch seconds), level, node_id, message, metadata}]. */
    [RUN_ST_LOGS] =
        {"logs",
         "INSERT INTO run_logs (run_id, tenant_id, ts, level, node_id, "
         "message, metadata) SELECT $1::uuid, app_tenant(), "
         "to_timestamp(x.ts), x.level, x.node_id, x.message, x.metadata "
         "FROM jsonb_to_recordset($2::jsonb) AS x(ts float8, level text, "
         "node_id text, message text, metadata jsonb)",
         false},
    /* Hands run $1 of runner $2 back (the runner is stopping). */
    [RUN_ST_RELEASE] =
        {"release",
         "UPDATE runs SET status = 'pending', claimed_by = NULL, "
         "heartbeat_at = NULL WHERE id = $1::uuid "
         "AND claimed_by = $2 AND status = 'running'",
         false},
    [RUN_ST_HEARTBEAT] = {"heartbeat",
                          "SELECT id, cancel_requested FROM "
                          "run_heartbeat($1, $2::uuid[])",
                          false},
    [RUN_ST_SWEEP] = {"sweep",
                      "SELECT id, tenant_id, outcome FROM run_sweep(50)",
                      false},
    /* Pending runs whose request was lost (relay.h). */
    [RUN_ST_RECONCILE] = {"reconcile",
                          "SELECT id, tenant_id, requests FROM run_reconcile("
                          "$1::interval, $2::interval, 100)",
                          false},
    /* The scheduler (scheduler.h): one runner at a time. */
    [RUN_ST_SCHED_LOCK] = {"sched_lock",
                           "SELECT pg_try_advisory_lock(" RUN_SCHED_LOCK_KEY
                           ")",
                           true},
    [RUN_ST_SCHED_UNLOCK] = {"sched_unlock",
                             "SELECT pg_advisory_unlock(" RUN_SCHED_LOCK_KEY
                             ")",
                             false},
    [RUN_ST_SCHED_DUE] = {"sched_due", SL_SCHED_SQL_DUE, true},
    [RUN_ST_SCHED_FIRE] = {"sched_fire", SL_SCHED_SQL_FIRE, false},
    [RUN_ST_SCHED_DISABLE] = {"sched_disable", SL_SCHED_SQL_DISABLE, false},
};
