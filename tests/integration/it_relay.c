/*
 * it_relay.c: nothing lost, nothing stalled. The outbox relay goes past a
 * row NATS refuses (bigger than the server's max_payload), tries it again
 * with backoff, parks it after its last try, shows it on /health/detailed
 * and takes it back when the operator re-queues it; reconciliation
 * requests again a run whose request NATS lost while another run keeps
 * the work queue busy, or whose request was parked, and spaces a waiting
 * run's requests out; and while NATS is away, or JetStream fails under a
 * connection that stays up, no row is charged a try.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libpq-fe.h>
#include <nats/nats.h>

#include "bus.h"
#include "it.h"
#include "unit.h"

/* runner/relay.h's RUN_RELAY_MAX_ATTEMPTS, as the operator guide says. */
#define MAX_ATTEMPTS 10
/* How long the relay may take to publish a row that is due (it runs every
 * two seconds, and the machine is shared). */
#define RELAY_WITHIN_S 20

/* Rows in the outbox, back-dated a minute so that they are the relay's:
 * one a little over a megabyte (nats-server's default max_payload is one
 * MiB), on subject sluice.event.<org>.relay.big, then three small ones
 * on sluice.event.<org>.relay.ok, created after it. Returns the big
 * row's id. */
#define INSERT_ROWS                                                            \
    "WITH big AS (INSERT INTO outbox (id, tenant_id, subject, payload, "       \
    "created_at) VALUES (gen_random_uuid(), $1, 'sluice.event.' || $1 || "     \
    "'.relay.big', jsonb_build_object('blob', repeat('x', 1100000)), "         \
    "now() - interval '60 seconds') RETURNING id), "                           \
    "ok AS (INSERT INTO outbox (id, tenant_id, subject, payload, created_at) " \
    "SELECT gen_random_uuid(), $1, 'sluice.event.' || $1 || '.relay.ok', "     \
    "jsonb_build_object('n', g), now() - interval '59 seconds' + g * "         \
    "interval '1 millisecond' FROM generate_series(1, 3) g) "                  \
    "SELECT id FROM big"

/* The small rows of org sent so far. */
#define OK_SENT                                                                \
    "SELECT count(*) FROM outbox WHERE subject = 'sluice.event.' || $1 || "    \
    "'.relay.ok' AND sent_at IS NOT NULL"

/* What the relay recorded of row $1. */
#define ROW_STATE                                                              \
    "SELECT (sent_at IS NULL) || '/' || (parked_at IS NOT NULL) || '/' || "    \
    "attempts FROM outbox WHERE id = $1::uuid"

/* /health/detailed, read by a client with credentials (its own rate
 * bucket). */
static void
health(struct it_client *c, struct it_resp *r)
{
    it_request(c, "GET", "/health/detailed", it_admin_header(), NULL, NULL, 0,
               r);
    it_assert_status(r, 200);
}

START_TEST(a_refused_row_does_not_hold_up_the_others)
{
    struct it_client c;
    struct it_resp r;
    char *user, *org, *token, *big, *v;

    it_client_init(&c);
    token = it_new_org(&c, &user, &org);
    big = it_owner_value(INSERT_ROWS, org, NULL);
    ck_assert_msg(*big != '\0', "no row inserted");

    /* The rows behind the refused one go. */
    it_await_sql(OK_SENT, org, NULL, "3", RELAY_WITHIN_S);
    /* The refused one waits for its next try, and says why. */
    it_await_sql("SELECT attempts >= 1 FROM outbox WHERE id = $1::uuid", big,
                 NULL, "t", RELAY_WITHIN_S);
    v = it_owner_value("SELECT (sent_at IS NULL) || '/' || "
                       "(parked_at IS NULL) || '/' || "
                       "(next_attempt_at IS NOT NULL) || '/' || last_error "
                       "FROM outbox WHERE id = $1::uuid",
                       big, NULL);
    ck_assert_msg(strncmp(v, "true/true/true/", 15) == 0 &&
                      strstr(v, "max_payload") != NULL,
                  "the refused row: %s", v);
    free(v);
    health(&c, &r);
    ck_assert_msg(it_int(&r, "components.outbox.retrying") >= 1 &&
                      it_int(&r, "components.outbox.unsent") >= 1 &&
                      it_int(&r, "components.outbox.parked") == 0,
                  "%s", r.body);
    it_resp_free(&r);

    /* Its last try parks it: kept, not tried again, shown. */
    it_owner_sql("UPDATE outbox SET attempts = " /* one try left */
                 "9, next_attempt_at = now() WHERE id = $1::uuid",
                 big);
    it_await_sql(ROW_STATE, big, NULL, "true/true/10", RELAY_WITHIN_S);
    health(&c, &r);
    ck_assert_str_eq(it_str(&r, "status"), "degraded");
    ck_assert_str_eq(it_str(&r, "components.outbox.status"), "degraded");
    ck_assert_msg(it_int(&r, "components.outbox.parked") >= 1, "%s", r.body);
    ck_assert_ptr_nonnull(
        strstr(it_str(&r, "components.outbox.error"), "parked"));
    it_resp_free(&r);

    /* The operator re-queues it: tries counted from zero, tried again. */
    v = it_owner_value("SELECT outbox_requeue($1::uuid)", big, NULL);
    ck_assert_str_eq(v, "1");
    free(v);
    it_await_sql("SELECT (sent_at IS NULL) || '/' || (parked_at IS NULL) "
                 "|| '/' || (attempts BETWEEN 1 AND 3) FROM outbox "
                 "WHERE id = $1::uuid",
                 big, NULL, "true/true/true", RELAY_WITHIN_S);

    /* Gone, the organisation's outbox is healthy again. */
    it_owner_sql("DELETE FROM outbox WHERE id = $1::uuid", big);
    free(big);
    free(token);
    free(user);
    free(org);
}
END_TEST

/* The messages the work queue SLUICE_RUNS holds now (waiting or being
 * worked on). */
/* A JetStream context on a new connection to the stack's NATS (*nc);
 * the caller destroys both. Fails the test when NATS cannot be reached. */
static jsCtx *
js_open(natsConnection **nc)
{
    jsCtx *js = NULL;
    natsStatus s;

    *nc = NULL;
    s = natsConnection_ConnectTo(nc, it_env("SLUICE_TEST_NATS_URL"));
    if (s == NATS_OK)
        s = natsConnection_JetStream(&js, *nc, NULL);
    ck_assert_msg(s == NATS_OK, "NATS: %s", natsStatus_GetText(s));
    return js;
}

static uint64_t
queued(void)
{
    natsConnection *nc;
    jsCtx *js = js_open(&nc);
    jsStreamInfo *si = NULL;
    jsErrCode jerr = 0;
    natsStatus s;
    uint64_t n;

    s = js_GetStreamInfo(&si, js, SL_STREAM_RUNS, NULL, &jerr);
    ck_assert_msg(s == NATS_OK, "stream info: %s (%d)", natsStatus_GetText(s),
                  (int)jerr);
    n = si->State.Msgs;
    jsStreamInfo_Destroy(si);
    jsCtx_Destroy(js);
    natsConnection_Destroy(nc);
    return n;
}

/*
 * A run of pipeline $1 created a minute ago, pending, whose one request
 * NATS acknowledged then (sent_at) and lost: nothing of it is in the
 * queue. Returns the run's id.
 */
#define LOST_RUN                                                               \
    "WITH r AS (INSERT INTO runs (id, tenant_id, pipeline_id, "                \
    "pipeline_version, trigger_type, created_at) SELECT gen_random_uuid(), "   \
    "p.tenant_id, p.id, p.version, 'api', now() - interval '1 minute' "        \
    "FROM pipelines p WHERE p.id = $1::uuid RETURNING *), "                    \
    "o AS (INSERT INTO outbox (id, tenant_id, subject, payload, created_at, "  \
    "sent_at) SELECT x.o, r.tenant_id, 'sluice.run.request', "                 \
    "jsonb_build_object('run_id', r.id, 'tenant_id', r.tenant_id, "            \
    "'pipeline_id', r.pipeline_id, 'outbox_id', x.o), "                        \
    "now() - interval '1 minute', now() - interval '1 minute' "                \
    "FROM r, (SELECT gen_random_uuid() AS o) x RETURNING 1) "                  \
    "SELECT r.id FROM r, o"

START_TEST(a_lost_request_is_reconciled_behind_a_long_run)
{
    struct it_client c;
    struct it_resp r;
    char *user, *org, *token, *conn, *slow_pid, *slow[3], *pid, *lost, *v,
        path[160];
    json_t *nodes;

    it_client_init(&c);
    token = it_new_org(&c, &user, &org);
    it_scale_up(org);
    conn = it_wh_connector(&c, token);

    /* Long runs hold both of the runner's slots; a third one's request
     * then waits in the work queue, which is never empty meanwhile. */
    nodes = json_pack("[o, o]", it_slow_source(conn, 45),
                      it_node("out", "loader", "postgres",
                              json_pack("{s:s}", "table", "slow")));
    slow_pid = it_pipeline(&c, token, nodes, it_chain(nodes));
    for (int i = 0; i < 3; i++)
        slow[i] = it_execute(&c, token, slow_pid);
    it_await_sql("SELECT count(*) FROM runs WHERE pipeline_id = $1::uuid "
                 "AND status = 'running'",
                 slow_pid, NULL, "2", 30);
    ck_assert_uint_ge(queued(), 1);

    /* Meanwhile a run whose request NATS lost. */
    it_data_file(org, "lost.csv", "id,v\n1,a\n2,b\n");
    nodes = json_pack("[o, o]",
                      it_node("in", "extractor", "csv",
                              json_pack("{s:s}", "path", "lost.csv")),
                      it_node("out", "loader", "postgres",
                              json_pack("{s:s}", "table", "lost")));
    pid = it_pipeline(&c, token, nodes, it_chain(nodes));
    lost = it_owner_value(LOST_RUN, pid, NULL);
    ck_assert_msg(*lost != '\0', "no run inserted");

    /* It is requested again, once, the queue still holding a request. */
    it_await_sql("SELECT count(*) FROM outbox WHERE subject = "
                 "'sluice.run.request' AND payload->>'run_id' = $1",
                 lost, NULL, "2", 30);
    ck_assert_msg(queued() >= 1, "the queue emptied before the lost run was "
                                 "requested again: the test proves nothing");

    /* Once the slots free, it runs. */
    for (int i = 0; i < 3; i++) {
        snprintf(path, sizeof(path), "/api/v1/pipelines/runs/%s/cancel",
                 slow[i]);
        it_call(&c, "POST", path, token, json_object(), &r);
        it_assert_status(&r, 200);
        it_resp_free(&r);
    }
    it_await_run(&c, token, lost, "completed|failed|cancelled", 35, &r);
    ck_assert_msg(strcmp(it_str(&r, "status"), "completed") == 0, "%s", r.body);
    it_resp_free(&r);
    v = it_owner_value("SELECT count(*) FROM outbox WHERE subject = "
                       "'sluice.run.request' AND payload->>'run_id' = $1",
                       lost, NULL);
    ck_assert_str_eq(v, "2");
    free(v);
    for (int i = 0; i < 3; i++) {
        it_await_run(&c, token, slow[i], "cancelled", 30, &r);
        it_resp_free(&r);
        free(slow[i]);
    }
    free(lost);
    free(pid);
    free(slow_pid);
    free(conn);
    free(token);
    free(user);
    free(org);
}
END_TEST

/* Runs sql with parameters p1 and p2 (p2, or both, may be NULL: fewer
 * parameters) on conn; returns its first value (malloc'd). Fails the test
 * when it fails. */
static char *
tx_value(PGconn *conn, const char *sql, const char *p1, const char *p2)
{
    const char *params[2] = {p1, p2};
    PGresult *res = PQexecParams(conn, sql,
                                 p2   ? 2
                                 : p1 ? 1
                                      : 0,
                                 NULL, params, NULL, NULL, 0);
    char *v;

    ck_assert_msg(PQresultStatus(res) == PGRES_TUPLES_OK ||
                      PQresultStatus(res) == PGRES_COMMAND_OK,
                  "%s: %s", sql, PQerrorMessage(conn));
    v = strdup(PQntuples(res) > 0 ? PQgetvalue(res, 0, 0) : "");
    PQclear(res);
    return v;
}

/* Whether reconciling now requests run $1 again. */
#define RECONCILE_NOW                                                          \
    "SELECT count(*) FROM run_reconcile('10 seconds', '5 minutes', 100) "      \
    "WHERE id = $1::uuid"

/* Makes run $1's last request one sent $2 ago: every request of the run
 * unsent or sent since then is now sent then. */
#define LAST_SENT_AGO                                                          \
    "UPDATE outbox SET sent_at = now() - $2::interval WHERE subject = "        \
    "'sluice.run.request' AND payload->>'run_id' = $1 AND (sent_at IS NULL "   \
    "OR sent_at > now() - $2::interval) RETURNING 1"

/* Checks that reconciling now requests run (again) or not. */
static void
reconciles(PGconn *conn, const char *run, const char *want, int line)
{
    char *v = tx_value(conn, RECONCILE_NOW, run, NULL);

    ck_assert_msg(strcmp(v, want) == 0, "line %d: reconciled %s times, not %s",
                  line, v, want);
    free(v);
}

/*
 * In a transaction on *conn (a new owner's connection, the caller rolls
 * back and closes it), a LOST_RUN of a new pipeline of a new organisation
 * (named name); returns the run's id (malloc'd).
 */
static char *
lost_run_in_tx(const char *name, PGconn **conn)
{
    struct it_client c;
    struct it_resp r;
    char *user, *org, *token, *pid, *run;

    it_client_init(&c);
    token = it_new_org(&c, &user, &org);
    it_call(&c, "POST", "/api/v1/pipelines", token,
            json_pack("{s:s, s:o}", "name", name, "config", it_graph()), &r);
    it_assert_status(&r, 201);
    pid = strdup(it_str(&r, "id"));
    it_resp_free(&r);

    *conn = PQconnectdb(it_env("SLUICE_TEST_OWNER_DB_URL"));
    ck_assert_msg(PQstatus(*conn) == CONNECTION_OK, "%s",
                  PQerrorMessage(*conn));
    free(tx_value(*conn, "BEGIN", NULL, NULL));
    run = tx_value(*conn, LOST_RUN, pid, NULL);
    ck_assert_msg(*run != '\0', "no run inserted");
    free(pid);
    free(token);
    free(user);
    free(org);
    return run;
}

/*
 * A run that stays pending (its organisation at its cap, a long queue) is
 * requested again at most once per interval, each interval twice the
 * last: 10 s after its first request, 20 s after the second, 40 s after
 * the third. Done in one transaction, rolled back: the stack's runner
 * never sees the run.
 */
START_TEST(reconciliation_spaces_a_runs_requests_out)
{
    PGconn *conn;
    char *run = lost_run_in_tx("Waiting", &conn);

    /* Its request went out a minute ago: requested again, once. */
    reconciles(conn, run, "1", __LINE__);
    reconciles(conn, run, "0", __LINE__); /* that request is not out yet */
    free(tx_value(conn, LAST_SENT_AGO, run, "15 seconds"));
    reconciles(conn, run, "0", __LINE__); /* the second request: 20 s */
    free(tx_value(conn, LAST_SENT_AGO, run, "25 seconds"));
    reconciles(conn, run, "1", __LINE__);
    free(tx_value(conn, LAST_SENT_AGO, run, "35 seconds"));
    reconciles(conn, run, "0", __LINE__); /* the third: 40 s */
    free(tx_value(conn, LAST_SENT_AGO, run, "45 seconds"));
    reconciles(conn, run, "1", __LINE__);
    /* A run asked to stop is not requested. */
    free(tx_value(conn, LAST_SENT_AGO, run, "1 hour"));
    free(tx_value(conn, "UPDATE runs SET cancel_requested = true WHERE id = $1",
                  run, NULL));
    reconciles(conn, run, "0", __LINE__);
    free(tx_value(conn, "ROLLBACK", NULL, NULL));
    PQfinish(conn);
    free(run);
}
END_TEST

/*
 * A run's only request was parked (before 016, a JetStream outage parked
 * every row): the run is requested again, not left pending for ever.
 * In one transaction, rolled back: the stack's runner never sees it.
 */
START_TEST(a_parked_request_is_requested_again)
{
    PGconn *conn;
    char *run = lost_run_in_tx("Parked", &conn);

    free(tx_value(conn,
                  "UPDATE outbox SET sent_at = NULL, attempts = "
                  "10, parked_at = now() - interval '1 minute' WHERE "
                  "payload->>'run_id' = $1 RETURNING 1",
                  run, NULL));
    reconciles(conn, run, "1", __LINE__);
    /* The new request is not out yet: not again. */
    reconciles(conn, run, "0", __LINE__);
    free(tx_value(conn, "ROLLBACK", NULL, NULL));
    PQfinish(conn);
    free(run);
}
END_TEST

/* Deletes the stream name through the JetStream API, NATS staying up. */
static void
delete_stream(const char *name)
{
    natsConnection *nc;
    jsCtx *js = js_open(&nc);
    jsErrCode jerr = 0;
    natsStatus s = js_DeleteStream(js, name, NULL, &jerr);

    ck_assert_msg(s == NATS_OK, "delete %s: %s (%d)", name,
                  natsStatus_GetText(s), (int)jerr);
    jsCtx_Destroy(js);
    natsConnection_Destroy(nc);
}

/*
 * When JetStream fails while NATS stays connected (here its events
 * stream is gone; lost quorum or a full disk do the same), that is no
 * row's fault: no row is charged a try, and once the runner has made the
 * stream again the row goes. A row whose subject no stream takes is the
 * row's own fault, and is charged.
 */
START_TEST(jetstream_trouble_charges_no_row)
{
    char *user, *org, *token, *row, *stray, *v;
    struct it_client c;

    it_client_init(&c);
    token = it_new_org(&c, &user, &org);
    delete_stream(SL_STREAM_EVENTS);
    row = it_owner_value("INSERT INTO outbox (id, tenant_id, subject, "
                         "payload, created_at) VALUES (gen_random_uuid(), $1, "
                         "'sluice.event.' || $1 || '.relay.ok', '{}', "
                         "now() - interval '1 minute') RETURNING id",
                         org, NULL);
    stray = it_owner_value("INSERT INTO outbox (id, tenant_id, subject, "
                           "payload, created_at) VALUES (gen_random_uuid(), "
                           "$1, 'sluice.nowhere.' || $1, '{}', "
                           "now() - interval '59 seconds') RETURNING id",
                           org, NULL);
    it_await_sql("SELECT (sent_at IS NOT NULL) || '/' || attempts || '/' || "
                 "(last_error IS NULL) FROM outbox WHERE id = $1::uuid",
                 row, NULL, "true/0/true", RELAY_WITHIN_S);
    it_await_sql("SELECT attempts >= 1 FROM outbox WHERE id = $1::uuid", stray,
                 NULL, "t", RELAY_WITHIN_S);
    v = it_owner_value("SELECT last_error FROM outbox WHERE id = $1::uuid",
                       stray, NULL);
    ck_assert_msg(strstr(v, "no JetStream stream") != NULL, "%s", v);
    free(v);
    it_owner_sql("DELETE FROM outbox WHERE id = $1::uuid", stray);
    free(stray);
    free(row);
    free(token);
    free(user);
    free(org);
}
END_TEST

/*
 * The work queue deleted while NATS stays up: the runner makes it again,
 * its workers take requests from it again, and a run started meanwhile
 * runs.
 */
START_TEST(a_deleted_work_queue_comes_back)
{
    struct it_client c;
    struct it_resp r;
    char *user, *org, *token, *pid, *run;
    json_t *g = it_graph(); /* in.csv into table t */

    it_client_init(&c);
    token = it_new_org(&c, &user, &org);
    it_data_file(org, "in.csv", "id,v\n1,a\n");
    pid = it_pipeline(&c, token, json_incref(json_object_get(g, "nodes")),
                      json_incref(json_object_get(g, "edges")));
    json_decref(g);
    delete_stream(SL_STREAM_RUNS);
    run = it_execute(&c, token, pid);
    it_await_run(&c, token, run, "completed|failed|cancelled", 40, &r);
    ck_assert_msg(strcmp(it_str(&r, "status"), "completed") == 0, "%s", r.body);
    it_resp_free(&r);
    free(run);
    free(pid);
    free(token);
    free(user);
    free(org);
}
END_TEST

/* While NATS is away the relay tries nothing: no row is charged a try. */
START_TEST(nats_away_charges_no_row)
{
    char *user, *org, *token, *row, *v;
    struct it_client c;

    it_client_init(&c);
    token = it_new_org(&c, &user, &org);
    it_stack("stop", "nats");
    row = it_owner_value("INSERT INTO outbox (id, tenant_id, subject, "
                         "payload, created_at) VALUES (gen_random_uuid(), $1, "
                         "'sluice.event.' || $1 || '.relay.ok', '{}', "
                         "now() - interval '1 minute') RETURNING id",
                         org, NULL);
    /* Three of the relay's passes (what did not happen takes time to
     * see). */
    usleep(6500 * 1000);
    v = it_owner_value(ROW_STATE, row, NULL);
    ck_assert_str_eq(v, "true/false/0");
    free(v);
    it_stack("start", "nats");
    it_await_sql("SELECT (sent_at IS NOT NULL) || '/' || attempts FROM outbox "
                 "WHERE id = $1::uuid",
                 row, NULL, "true/0", 30);
    free(row);
    free(token);
    free(user);
    free(org);
}
END_TEST

static Suite *
relay_suite(void)
{
    Suite *s = suite_create("it_relay");
    TCase *tc = tcase_create("relay");

    tcase_set_timeout(tc, 150);
    tcase_add_test(tc, a_refused_row_does_not_hold_up_the_others);
    tcase_add_test(tc, a_lost_request_is_reconciled_behind_a_long_run);
    tcase_add_test(tc, reconciliation_spaces_a_runs_requests_out);
    tcase_add_test(tc, a_parked_request_is_requested_again);
    tcase_add_test(tc, jetstream_trouble_charges_no_row);
    tcase_add_test(tc, a_deleted_work_queue_comes_back);
    /* Last: it stops NATS. */
    tcase_add_test(tc, nats_away_charges_no_row);
    suite_add_tcase(s, tc);
    return s;
}

SL_TEST_MAIN(relay_suite)
