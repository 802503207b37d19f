/*
 * stmt.c: the runner's statement table (see stmt.h).
 */
#include "stmt.h"

#include "bus.h"
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
     * Claims for runner $1 the run it should take now, across
     * organisations, fairly (sql/012_fair_claim.sql): its pipeline, input
     * parameters, definition, attempt, start (epoch seconds). No row:
     * nothing may start.
     */
    [RUN_ST_CLAIM_NEXT] = {"claim_next",
                           "SELECT run_id, run_tenant, run_pipeline, params, "
                           "definition, attempt, started "
                           "FROM run_claim_next($1)",
                           false},
    /*
     * Ends run $1 of runner $2, attempt $10, with status $3 and writes its
     * event $8 (outbox id $9) in the same statement; returns the outbox
     * row. A completed run's commit_attempt is the decision to commit
     * that attempt's loads (sql/011_commit.sql). No row: the run is no
     * longer that attempt's, and nothing of it may be committed.
     */
    [RUN_ST_FINISH] =
        {"finish",
         "WITH u AS (UPDATE runs r SET status = $3, completed_at = now(), "
         "cancelled_at = CASE WHEN $3 = 'cancelled' THEN now() END, "
         "error_message = $4, result_data = $5::jsonb, "
         "records_processed = $6::bigint, records_failed = $7::bigint, "
         "heartbeat_at = now(), "
         "commit_attempt = CASE WHEN $3 = 'completed' THEN r.attempts END "
         "WHERE r.id = $1::uuid AND r.claimed_by = $2 "
         "AND r.attempts = $10::integer "
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
    /* Hands run $1 of runner $2, attempt $3, back (the runner is stopping
     * or lost touch), with a request for it (outbox id $4), whose payload
     * it returns; no row when the run is no longer that attempt's. */
    [RUN_ST_RELEASE] =
        {"release",
         "WITH u AS (UPDATE runs SET status = 'pending', claimed_by = NULL, "
         "heartbeat_at = NULL WHERE id = $1::uuid "
         "AND claimed_by = $2 AND attempts = $3::integer "
         "AND status = 'running' "
         "RETURNING id, tenant_id, pipeline_id), "
         "o AS (INSERT INTO outbox (id, tenant_id, subject, payload) "
         "SELECT $4::uuid, u.tenant_id, '" SL_SUBJ_RUN_REQUEST "', "
         "jsonb_build_object('run_id', u.id, 'tenant_id', u.tenant_id, "
         "'pipeline_id', u.pipeline_id, 'outbox_id', $4::uuid) FROM u "
         "RETURNING payload::text) SELECT payload FROM o",
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
    [RUN_ST_SCHED_QUEUED] = {"sched_queued", SL_SCHED_SQL_QUEUED, true},
    /*
     * What became of run $1 for runner $2, attempt $3, after an answer
     * was lost: its status, whether it is still that attempt's, whether
     * that attempt's loads were decided committed.
     */
    [RUN_ST_FATE] = {"fate",
                     "SELECT status, coalesce(claimed_by = $2 AND attempts = "
                     "$3::integer, false), coalesce(commit_attempt = "
                     "$3::integer, false) FROM runs WHERE id = $1::uuid",
                     true},
    /*
     * Records the participants $4 ([{gid, node_id, kind, connector_id,
     * path, tmp_path}]) of run $1, runner $2, attempt $3, while it is
     * still that attempt's; returns a row for each recorded.
     */
    [RUN_ST_ENLIST] =
        {"enlist",
         "INSERT INTO run_prepared (gid, run_id, tenant_id, attempt, runner, "
         "node_id, kind, connector_id, path, tmp_path) "
         "SELECT x.gid, r.id, r.tenant_id, r.attempts, r.claimed_by, "
         "x.node_id, x.kind, x.connector_id, x.path, x.tmp_path "
         "FROM runs r, jsonb_to_recordset($4::jsonb) AS x(gid text, "
         "node_id text, kind text, connector_id uuid, path text, "
         "tmp_path text) "
         "WHERE r.id = $1::uuid AND r.claimed_by = $2 "
         "AND r.attempts = $3::integer AND r.status = 'running' "
         "RETURNING gid",
         false},
    /* Forgets the participants $1 (text[]): they are ended. */
    [RUN_ST_PART_DONE] = {"part_done",
                          "DELETE FROM run_prepared WHERE gid = "
                          "ANY ($1::text[])",
                          false},
    /* Participants a runner left, whose fate is known (sql/011). */
    [RUN_ST_PART_DUE] = {"part_due",
                         "SELECT gid, tenant_id, run_id, kind, connector_id, "
                         "path, tmp_path, action FROM run_prepared_due("
                         "50, $1::interval)",
                         true},
    /* In a run's organisation: the temporary files decided committed but
     * not yet renamed over target $1. */
    [RUN_ST_PART_FILE] = {"part_file",
                          "SELECT p.gid, p.tmp_path FROM run_prepared p "
                          "JOIN runs r ON r.id = p.run_id "
                          "WHERE p.kind = 'file' AND p.path = $1 "
                          "AND r.commit_attempt = p.attempt "
                          "ORDER BY r.completed_at",
                          true},
    /* Whether this role may claim runs (sql/016), and its name. */
    [RUN_ST_MAY_CLAIM] = {"may_claim",
                          "SELECT has_function_privilege("
                          "'run_claim_next(text)', 'EXECUTE'), current_user",
                          true},
    /* In a participant's organisation: its connector, even deleted. */
    [RUN_ST_PART_CONNECTOR] = {"part_connector",
                               "SELECT type, config::text, secret FROM "
                               "connectors WHERE id = $1::uuid",
                               true},
    /* $1 a new event id, $2 the run, $3 its OpenLineage event
     * (runlineage.h), in the transaction of the run's end; never fails it
     * (sql/025_lineage.sql). */
    [RUN_ST_LINEAGE] = {"lineage_record_run",
                        "SELECT lineage_record_run($1::uuid, $2::uuid, "
                        "$3::jsonb)",
                        false},
};
