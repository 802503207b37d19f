/*
 * it_events.c: what runs tell the world on NATS, as a subscriber sees it.
 * The test connects to the stack's nats-server itself, subscribes to one
 * organisation's events (sluice.event.<org>.>) and to every event
 * (sluice.event.>), and follows runs from the API's execute to their end:
 * a long run that completes (pipeline.queued, pipeline.started, run.log,
 * run.progress, pipeline.completed, each in seed 001's webhook format, each
 * where it belongs), a run failed by its quality gate, a run cancelled midway,
 * a run whose result is too big for an event (trimmed, and said so), and a run
 * requested while NATS is down, which must happen exactly once when NATS is
 * back.
 *
 * Waits are bounded: events are awaited on the subscription with a
 * timeout; the end of a run's events is known when its terminal event's
 * outbox row is marked sent (published, so routed to us) and a flush of
 * our own connection has come back.
 */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <nats/nats.h>

#include "bus.h"
#include "it.h"
#include "limits.h"
#include "unit.h"

#define TERMINAL "pipeline.completed|pipeline.failed|pipeline.cancelled"

/*
 * The long run: a CSV of LONG_CSV rows read in batches of LONG_BATCH,
 * then a second extractor of SLOW_ROWS rows that pauses for 0.3 s every
 * 5000, so that run.progress (every 500 ms at most) speaks more than once
 * however fast the machine, and shows the extractors' average moving.
 */
#define LONG_CSV   50000
#define LONG_BATCH 1000
#define SLOW_ROWS  20000
#define LONG_ROWS  (LONG_CSV + SLOW_ROWS)

/*
 * A subscriber: one organisation's events and everybody's, each message
 * kept as {"subject", "raw", "event" (the body parsed, or null)} in the
 * order it arrived.
 */
struct watch {
    natsConnection *nc;
    natsSubscription *org_sub; /* sluice.event.<org>.> */
    natsSubscription *all_sub; /* sluice.event.> */
    json_t *org_log;
    json_t *all_log;
};

static void
watch_open(struct watch *w, const char *org)
{
    char subject[128];
    natsStatus s;

    memset(w, 0, sizeof(*w));
    s = natsConnection_ConnectTo(&w->nc, it_env("SLUICE_TEST_NATS_URL"));
    ck_assert_msg(s == NATS_OK, "nats connect: %s", natsStatus_GetText(s));
    snprintf(subject, sizeof(subject), "%s%s.>", SL_SUBJ_EVENT_PREFIX, org);
    s = natsConnection_SubscribeSync(&w->org_sub, w->nc, subject);
    if (s == NATS_OK)
        s = natsConnection_SubscribeSync(&w->all_sub, w->nc,
                                         SL_SUBJ_EVENT_PREFIX ">");
    /* The server has the subscriptions before any run starts. */
    if (s == NATS_OK)
        s = natsConnection_FlushTimeout(w->nc, 5000);
    ck_assert_msg(s == NATS_OK, "nats subscribe: %s", natsStatus_GetText(s));
    w->org_log = json_array();
    w->all_log = json_array();
}

static void
watch_close(struct watch *w)
{
    natsSubscription_Destroy(w->org_sub);
    natsSubscription_Destroy(w->all_sub);
    natsConnection_Destroy(w->nc);
    json_decref(w->org_log);
    json_decref(w->all_log);
}

/*
 * Waits up to timeout_ms for sub's next message and appends it to log.
 * Returns the entry (borrowed from log), or NULL when none came.
 */
static json_t *
watch_next(natsSubscription *sub, json_t *log, int64_t timeout_ms)
{
    natsMsg *m = NULL;
    natsStatus s = natsSubscription_NextMsg(&m, sub, timeout_ms);
    json_t *entry;

    if (s == NATS_TIMEOUT)
        return NULL;
    ck_assert_msg(s == NATS_OK, "nats next: %s", natsStatus_GetText(s));
    entry =
        json_pack("{s:s, s:s%, s:o*}", "subject", natsMsg_GetSubject(m), "raw",
                  natsMsg_GetData(m), (size_t)natsMsg_GetDataLength(m), "event",
                  json_loadb(natsMsg_GetData(m),
                             (size_t)natsMsg_GetDataLength(m), 0, NULL));
    natsMsg_Destroy(m);
    ck_assert_ptr_nonnull(entry);
    if (json_object_get(entry, "event") == NULL)
        json_object_set_new(entry, "event", json_null());
    json_array_append_new(log, entry);
    return entry;
}

static const char *
ev_str(const json_t *entry, const char *key)
{
    return json_string_value(
        json_object_get(json_object_get(entry, "event"), key));
}

static const char *
ev_data_str(const json_t *entry, const char *key)
{
    return json_string_value(json_object_get(
        json_object_get(json_object_get(entry, "event"), "data"), key));
}

/* True when type is one of set ("a|b"). */
static bool
one_of(const char *type, const char *set)
{
    size_t n = type ? strlen(type) : 0;

    for (const char *p = set; n > 0 && *p != '\0';) {
        size_t k = strcspn(p, "|");

        if (k == n && strncmp(p, type, n) == 0)
            return true;
        p += k + (p[k] == '|');
    }
    return false;
}

/*
 * Reads the organisation's subscription until an event of run of a type
 * in types ("a|b") arrives, for up to limit seconds; returns it (borrowed
 * from w->org_log). Fails the test when the time is up.
 */
static json_t *
await_event(struct watch *w, const char *run, const char *types, double limit)
{
    double end = it_now() + limit;
    size_t i;
    json_t *e;

    /* Perhaps already read. */
    json_array_foreach(w->org_log, i, e)
    {
        const char *r = ev_data_str(e, "run_id");

        if (r != NULL && strcmp(r, run) == 0 &&
            one_of(ev_str(e, "event_type"), types))
            return e;
    }
    for (;;) {
        double left = end - it_now();
        const char *r;

        ck_assert_msg(left > 0, "run %s: no %s event in %.0f s", run, types,
                      limit);
        e = watch_next(w->org_sub, w->org_log, (int64_t)(left * 1000) + 1);
        if (e == NULL)
            continue;
        r = ev_data_str(e, "run_id");
        if (r != NULL && strcmp(r, run) == 0 &&
            one_of(ev_str(e, "event_type"), types))
            return e;
    }
}

/*
 * Waits until every outbox row of run is marked sent (published, so
 * already routed to this subscriber), then flushes this connection and
 * reads what remains on both subscriptions: after this, the logs hold
 * every event the run's end produced, duplicates included.
 */
static void
settle(struct watch *w, const char *run, double limit)
{
    double end = it_now() + limit;
    natsStatus s;

    for (;;) {
        char err[256] = "";
        char *n = it_sql("SLUICE_TEST_OWNER_DB_URL",
                         "SELECT count(*) FILTER (WHERE sent_at IS NULL) "
                         "FROM outbox WHERE payload->>'run_id' = $1 OR "
                         "payload->'data'->>'run_id' = $1",
                         run, NULL, NULL, err, sizeof(err));
        bool done;

        ck_assert_msg(n != NULL, "%s", err);
        done = strcmp(n, "0") == 0;
        free(n);
        if (done)
            break;
        ck_assert_msg(it_now() < end,
                      "run %s: its outbox rows not all sent after %.0f s", run,
                      limit);
        usleep(50 * 1000);
    }
    s = natsConnection_FlushTimeout(w->nc, 5000);
    ck_assert_msg(s == NATS_OK, "nats flush: %s", natsStatus_GetText(s));
    while (watch_next(w->org_sub, w->org_log, 100) != NULL)
        ;
    while (watch_next(w->all_sub, w->all_log, 100) != NULL)
        ;
}

/* The entries of log about run, a new array. Every entry must be a
 * JSON object: nothing else is published on sluice.event.>. */
static json_t *
of_run(json_t *log, const char *run)
{
    json_t *out = json_array(), *e;
    size_t i;

    json_array_foreach(log, i, e)
    {
        const char *r = ev_data_str(e, "run_id");

        ck_assert_msg(json_is_object(json_object_get(e, "event")),
                      "not a JSON object on %s: %.300s",
                      json_string_value(json_object_get(e, "subject")),
                      json_string_value(json_object_get(e, "raw")));

        if (r != NULL && strcmp(r, run) == 0)
            json_array_append(out, e);
    }
    return out;
}

/* How many of events have this type. */
static int
count_type(json_t *events, const char *type)
{
    json_t *e;
    size_t i;
    int n = 0;

    json_array_foreach(events, i, e)
    {
        const char *t = ev_str(e, "event_type");

        n += t != NULL && strcmp(t, type) == 0;
    }
    return n;
}

/* True when s is an RFC 3339 UTC time (seconds, optional fraction, Z);
 * its time in *t. */
static bool
rfc3339(const char *s, time_t *t)
{
    struct tm tm;
    const char *end;

    memset(&tm, 0, sizeof(tm));
    if (s == NULL || strlen(s) < 20 || s[4] != '-' || s[7] != '-' ||
        s[10] != 'T' || s[13] != ':' || s[16] != ':')
        return false;
    end = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
    if (end == NULL || end != s + 19)
        return false;
    if (*end == '.') {
        if (!isdigit((unsigned char)*++end))
            return false;
        while (isdigit((unsigned char)*end))
            end++;
    }
    if (strcmp(end, "Z") != 0)
        return false;
    *t = timegm(&tm);
    return true;
}

/*
 * Asserts that entry is an event of seed 001's webhook format about run
 * of pipeline pid in org, on the subject of its type, sent after since;
 * and that its event_id is not among ids (then added).
 */
static void
check_event(json_t *entry, const char *org, const char *pid, const char *run,
            time_t since, json_t *ids)
{
    const char *subject = json_string_value(json_object_get(entry, "subject"));
    const char *raw = json_string_value(json_object_get(entry, "raw"));
    const char *id = ev_str(entry, "event_id");
    const char *type = ev_str(entry, "event_type");
    char want[160];
    time_t t = 0;

    ck_assert_msg(json_is_object(json_object_get(entry, "event")),
                  "not a JSON object on %s: %.300s", subject, raw);
    ck_assert_msg(id != NULL && strncmp(id, "evt_", 4) == 0 &&
                      strlen(id) == 36 &&
                      strspn(id + 4, "0123456789abcdef") == 32,
                  "event_id, not evt_ and 32 hex digits: %.300s", raw);
    ck_assert_msg(json_object_get(ids, id) == NULL, "event_id %s twice: %.300s",
                  id, raw);
    json_object_set_new(ids, id, json_true());
    ck_assert_msg(type != NULL, "no event_type: %.300s", raw);
    snprintf(want, sizeof(want), "%s%s.%s", SL_SUBJ_EVENT_PREFIX, org, type);
    ck_assert_msg(strcmp(subject, want) == 0, "on %s, want %s: %.300s", subject,
                  want, raw);
    ck_assert_msg(ev_str(entry, "organization_id") != NULL &&
                      strcmp(ev_str(entry, "organization_id"), org) == 0,
                  "organization_id: %.300s", raw);
    ck_assert_msg(rfc3339(ev_str(entry, "timestamp"), &t),
                  "timestamp not RFC 3339: %.300s", raw);
    ck_assert_msg(t >= since - 2 && t <= time(NULL) + 2,
                  "timestamp out of the test's time: %.300s", raw);
    ck_assert_msg(ev_data_str(entry, "pipeline_id") != NULL &&
                      strcmp(ev_data_str(entry, "pipeline_id"), pid) == 0,
                  "data.pipeline_id: %.300s", raw);
    ck_assert_msg(ev_data_str(entry, "execution_id") != NULL &&
                      strcmp(ev_data_str(entry, "execution_id"), run) == 0,
                  "data.execution_id: %.300s", raw);
}

/*
 * Asserts what every run's events share: each well formed, exactly one
 * pipeline.queued (pending), first, written with the run (sql/020), then
 * exactly one pipeline.started, and exactly one terminal event, of type
 * end, last. Returns the terminal event (borrowed from events).
 */
static json_t *
check_run_events(json_t *events, const char *org, const char *pid,
                 const char *run, const char *end, time_t since)
{
    json_t *ids = json_object(), *e, *first, *last;
    size_t i, n = json_array_size(events);

    json_array_foreach(events, i, e) check_event(e, org, pid, run, since, ids);
    json_decref(ids);
    ck_assert_msg(count_type(events, "pipeline.started") == 1,
                  "run %s: %d pipeline.started", run,
                  count_type(events, "pipeline.started"));
    ck_assert_msg(count_type(events, end) == 1, "run %s: %d %s", run,
                  count_type(events, end), end);
    json_array_foreach(events, i, e)
    {
        const char *t = ev_str(e, "event_type");

        ck_assert_msg(!one_of(t, TERMINAL) || strcmp(t, end) == 0,
                      "run %s: a %s as well as its %s", run, t, end);
    }
    ck_assert_msg(count_type(events, "pipeline.queued") == 1,
                  "run %s: %d pipeline.queued", run,
                  count_type(events, "pipeline.queued"));
    first = json_array_get(events, 0);
    ck_assert_str_eq(ev_str(first, "event_type"), "pipeline.queued");
    ck_assert_str_eq(ev_data_str(first, "status"), "pending");
    first = json_array_get(events, 1);
    last = json_array_get(events, n - 1);
    ck_assert_str_eq(ev_str(first, "event_type"), "pipeline.started");
    ck_assert_str_eq(ev_data_str(first, "status"), "running");
    ck_assert_int_eq(
        json_integer_value(json_object_get(
            json_object_get(json_object_get(first, "event"), "data"),
            "attempt")),
        1);
    ck_assert_msg(strcmp(ev_str(last, "event_type"), end) == 0,
                  "run %s: %s is not its last event", run, end);
    ck_assert_msg(count_type(events, "run.log") >= 1, "run %s: no run.log",
                  run);
    return last;
}

/* The number of messages SLUICE_EVENTS holds on exactly subject. */
static uint64_t
stored(const char *subject)
{
    natsConnection *nc = NULL;
    jsCtx *js = NULL;
    jsStreamInfo *si = NULL;
    jsOptions o;
    jsErrCode jerr = 0;
    natsStatus s;
    uint64_t n = 0;

    s = natsConnection_ConnectTo(&nc, it_env("SLUICE_TEST_NATS_URL"));
    if (s == NATS_OK)
        s = natsConnection_JetStream(&js, nc, NULL);
    jsOptions_Init(&o);
    o.Stream.Info.SubjectsFilter = subject;
    if (s == NATS_OK)
        s = js_GetStreamInfo(&si, js, SL_STREAM_EVENTS, &o, &jerr);
    ck_assert_msg(s == NATS_OK, "stream info: %s (%d)", natsStatus_GetText(s),
                  (int)jerr);
    for (int i = 0; si->State.Subjects != NULL && i < si->State.Subjects->Count;
         i++)
        if (strcmp(si->State.Subjects->List[i].Subject, subject) == 0)
            n = si->State.Subjects->List[i].Msgs;
    jsStreamInfo_Destroy(si);
    jsCtx_Destroy(js);
    natsConnection_Destroy(nc);
    return n;
}

/* The count of org's stored events of type. */
static uint64_t
stored_of(const char *org, const char *type)
{
    char subject[160];

    snprintf(subject, sizeof(subject), "%s%s.%s", SL_SUBJ_EVENT_PREFIX, org,
             type);
    return stored(subject);
}

/* Starts a run of pid with params (taken); returns its id. */
static char *
execute_with(struct it_client *c, const char *token, const char *pid,
             json_t *params)
{
    char path[256];
    struct it_resp r;
    char *id;

    snprintf(path, sizeof(path), "/api/v1/pipelines/%s/execute", pid);
    it_call(c, "POST", path, token, json_pack("{s:o}", "params", params), &r);
    it_assert_status(&r, 202);
    ck_assert_str_eq(it_str(&r, "status"), "pending");
    id = strdup(it_str(&r, "run_id"));
    it_resp_free(&r);
    return id;
}

/* A CSV of rows lines: id, name, amount. */
static char *
big_csv(int rows)
{
    size_t cap = (size_t)rows * 40 + 64, n;
    char *text = malloc(cap);

    ck_assert_ptr_nonnull(text);
    n = (size_t)snprintf(text, cap, "id,name,amount\n");
    for (int i = 1; i <= rows; i++)
        n += (size_t)snprintf(text + n, cap - n, "%d,name_%d,%d.%02d\n", i, i,
                              i % 1000, i % 100);
    return text;
}

START_TEST(a_run_told_on_nats)
{
    struct it_client c;
    struct watch w;
    char *org, *user, *token, *org_b, *user_b, *token_b, *pid, *pid_b, *run,
        *run_b, *csv, *conn, *v, prefix[128], prefix_b[128], sql[256],
        slow[256];
    json_t *nodes, *edges, *events, *end, *e;
    time_t since = time(NULL);
    double last_progress = -1;
    long long last_rows = -1;
    int progress = 0;
    size_t i;

    it_client_init(&c);
    token = it_new_org(&c, &user, &org);
    token_b = it_new_org(&c, &user_b, &org_b);
    it_scale_up(org);
    it_scale_up(org_b);
    csv = big_csv(LONG_CSV);
    it_data_file(org, "big.csv", csv);
    free(csv);
    it_data_file(org_b, "small.csv", "id,name\n1,a\n2,b\n");
    conn = it_wh_connector(&c, token);
    snprintf(slow, sizeof(slow),
             "SELECT g AS id, 'slow_' || g || coalesce(CASE WHEN g %% 5000 "
             "= 0 THEN pg_sleep(0.3)::text END, '') AS name, g %% 1000 AS "
             "amount FROM generate_series(1, %d) g",
             SLOW_ROWS);
    /* Both extractors into one filter and one table. */
    nodes = json_pack(
        "[o, o, o, o]",
        it_node("in", "extractor", "csv",
                json_pack("{s:s}", "path", "big.csv")),
        it_node("slow", "extractor", "postgres",
                json_pack("{s:s, s:s}", "connection_id", conn, "query", slow)),
        it_node("keep", "transformer", "filter",
                json_pack("{s:s}", "expression", "amount >= 0")),
        it_node("out", "loader", "postgres",
                json_pack("{s:s, s:s}", "table", "big", "mode", "append")));
    edges = json_pack("[{s:s, s:s}, {s:s, s:s}, {s:s, s:s}]", "source", "in",
                      "target", "keep", "source", "slow", "target", "keep",
                      "source", "keep", "target", "out");
    pid = it_pipeline(&c, token, nodes, edges);
    nodes = json_pack(
        "[o, o]",
        it_node("in", "extractor", "csv",
                json_pack("{s:s}", "path", "small.csv")),
        it_node("out", "loader", "postgres", json_pack("{s:s}", "table", "s")));
    pid_b = it_pipeline(&c, token_b, nodes, it_chain(nodes));

    watch_open(&w, org);
    run = execute_with(&c, token, pid,
                       json_pack("{s:i}", "batch_size", LONG_BATCH));
    /* Another organisation's run at the same time. */
    run_b = it_execute(&c, token_b, pid_b);
    await_event(&w, run, TERMINAL, 60);
    settle(&w, run, 30);
    settle(&w, run_b, 30);

    /* The run's events, on the organisation's subjects. */
    events = of_run(w.org_log, run);
    end = check_run_events(events, org, pid, run, "pipeline.completed", since);
    ck_assert_str_eq(ev_data_str(end, "status"), "completed");
    ck_assert_int_eq(json_integer_value(json_object_get(
                         json_object_get(json_object_get(end, "event"), "data"),
                         "records_processed")),
                     LONG_ROWS);
    ck_assert(json_is_null(
        json_object_get(json_object_get(json_object_get(end, "event"), "data"),
                        "error_message")));
    json_array_foreach(events, i, e)
    {
        json_t *data = json_object_get(json_object_get(e, "event"), "data");
        const char *t = ev_str(e, "event_type"), *node;
        double p;
        long long rows;

        if (strcmp(t, "run.log") == 0) {
            ck_assert_ptr_nonnull(ev_data_str(e, "level"));
            ck_assert_ptr_nonnull(ev_data_str(e, "message"));
            continue;
        }
        if (strcmp(t, "run.progress") != 0)
            continue;
        progress++;
        ck_assert_msg(json_is_number(json_object_get(data, "progress")), "%s",
                      json_string_value(json_object_get(e, "raw")));
        p = json_number_value(json_object_get(data, "progress"));
        rows = json_integer_value(json_object_get(data, "rows_processed"));
        node = ev_data_str(e, "current_node");
        ck_assert_msg(p >= 0 && p <= 100 && p >= last_progress,
                      "progress %g after %g", p, last_progress);
        ck_assert_msg(rows >= last_rows && rows <= LONG_ROWS,
                      "rows_processed %lld after %lld", rows, last_rows);
        ck_assert_msg(
            node != NULL &&
                (strcmp(node, "in") == 0 || strcmp(node, "keep") == 0 ||
                 strcmp(node, "out") == 0 || strcmp(node, "slow") == 0),
            "current_node: %s", json_string_value(json_object_get(e, "raw")));
        last_progress = p;
        last_rows = rows;
    }
    ck_assert_msg(progress >= 2, "%d run.progress events", progress);
    ck_assert_msg(last_progress == 100, "the last progress is %g, not 100",
                  last_progress);
    json_decref(events);
    /* The stream holds them once. */
    ck_assert_uint_eq(stored_of(org, "pipeline.started"), 1);
    ck_assert_uint_eq(stored_of(org, "pipeline.completed"), 1);
    snprintf(sql, sizeof(sql),
             "SELECT count(*) || '/' || count(*) FILTER (WHERE name LIKE "
             "'slow_%%') FROM t_%s_bronze.big",
             org);
    v = it_wh(sql, NULL);
    snprintf(sql, sizeof(sql), "%d/%d", LONG_ROWS, SLOW_ROWS);
    ck_assert_str_eq(v, sql);
    free(v);

    /* The other organisation's run: its events on its own subjects, none
     * on this organisation's; and this run's on no one else's. */
    snprintf(prefix, sizeof(prefix), "%s%s.", SL_SUBJ_EVENT_PREFIX, org);
    snprintf(prefix_b, sizeof(prefix_b), "%s%s.", SL_SUBJ_EVENT_PREFIX, org_b);
    json_array_foreach(w.org_log, i, e)
    {
        const char *raw = json_string_value(json_object_get(e, "raw"));

        ck_assert_msg(strstr(raw, org_b) == NULL && strstr(raw, run_b) == NULL,
                      "another organisation's event on %s: %.300s",
                      json_string_value(json_object_get(e, "subject")), raw);
    }
    events = of_run(w.all_log, run_b);
    ck_assert_msg(count_type(events, "pipeline.completed") == 1,
                  "the other organisation's run: %zu events",
                  json_array_size(events));
    json_decref(events);
    json_array_foreach(w.all_log, i, e)
    {
        const char *raw = json_string_value(json_object_get(e, "raw"));
        const char *subject = json_string_value(json_object_get(e, "subject"));

        if (strstr(raw, run) != NULL)
            ck_assert_msg(strncmp(subject, prefix, strlen(prefix)) == 0,
                          "run %s's event on %s", run, subject);
        if (strstr(raw, run_b) != NULL)
            ck_assert_msg(strncmp(subject, prefix_b, strlen(prefix_b)) == 0,
                          "run %s's event on %s", run_b, subject);
    }
    /* Everything the organisation's subscription saw, the wide one saw. */
    events = of_run(w.all_log, run);
    e = of_run(w.org_log, run);
    ck_assert_uint_eq(json_array_size(events), json_array_size(e));
    json_decref(e);
    json_decref(events);

    watch_close(&w);
    free(conn);
    free(run);
    free(run_b);
    free(pid);
    free(pid_b);
    free(token);
    free(user);
    free(org);
    free(token_b);
    free(user_b);
    free(org_b);
}
END_TEST

START_TEST(failed_and_cancelled_runs_told_once)
{
    struct it_client c;
    struct it_resp r;
    struct watch w;
    char *org, *user, *token, *pid, *run, *conn, path[256];
    const char *msg;
    json_t *nodes, *events, *end, *e;
    time_t since = time(NULL);
    bool error_logged = false;
    size_t i;

    it_client_init(&c);
    token = it_new_org(&c, &user, &org);
    it_scale_up(org);
    watch_open(&w, org);

    /* A quality gate that fails: one pipeline.failed, with the error. */
    it_data_file(org, "q.csv", "id,email\n1,a@x.io\n2,\n3,c@x.io\n4,\n");
    nodes = json_pack(
        "[o, o, o]",
        it_node("in", "extractor", "csv", json_pack("{s:s}", "path", "q.csv")),
        it_node("gate", "quality", "quality_gate",
                json_pack("{s:[{s:s, s:s, s:f}]}", "rules", "type", "not_null",
                          "column", "email", "threshold", 0.9)),
        it_node("out", "loader", "postgres", json_pack("{s:s}", "table", "q")));
    pid = it_pipeline(&c, token, nodes, it_chain(nodes));
    run = it_execute(&c, token, pid);
    await_event(&w, run, TERMINAL, 30);
    settle(&w, run, 30);
    events = of_run(w.org_log, run);
    end = check_run_events(events, org, pid, run, "pipeline.failed", since);
    ck_assert_str_eq(ev_data_str(end, "status"), "failed");
    msg = ev_data_str(end, "error_message");
    ck_assert_msg(msg != NULL && strstr(msg, "QUALITY_CHECK_FAILED") != NULL,
                  "%s", json_string_value(json_object_get(end, "raw")));
    json_array_foreach(events, i, e)
    {
        if (strcmp(ev_str(e, "event_type"), "run.log") == 0 &&
            strcmp(ev_data_str(e, "level"), "ERROR") == 0)
            error_logged = true;
    }
    ck_assert_msg(error_logged, "run %s: no run.log at level ERROR", run);
    ck_assert_uint_eq(stored_of(org, "pipeline.failed"), 1);
    json_decref(events);
    free(run);
    free(pid);

    /* A run cancelled while it loads: one pipeline.cancelled. */
    conn = it_wh_connector(&c, token);
    nodes = json_pack("[o, o]", it_slow_source(conn, 60),
                      it_node("out", "loader", "postgres",
                              json_pack("{s:s}", "table", "half")));
    pid = it_pipeline(&c, token, nodes, it_chain(nodes));
    run = it_execute(&c, token, pid);
    await_event(&w, run, "pipeline.started", 20);
    snprintf(path, sizeof(path), "/api/v1/pipelines/runs/%s/cancel", run);
    it_call(&c, "POST", path, token, json_object(), &r);
    it_assert_status(&r, 200);
    it_resp_free(&r);
    await_event(&w, run, TERMINAL, 15);
    settle(&w, run, 30);
    events = of_run(w.org_log, run);
    end = check_run_events(events, org, pid, run, "pipeline.cancelled", since);
    ck_assert_str_eq(ev_data_str(end, "status"), "cancelled");
    ck_assert_uint_eq(stored_of(org, "pipeline.cancelled"), 1);
    ck_assert_uint_eq(stored_of(org, "pipeline.completed"), 0);
    json_decref(events);
    free(run);

    /* A run cancelled before any runner took it: its pipeline.queued,
     * then one pipeline.cancelled too (through the outbox, which a runner
     * relays), and nothing else. */
    it_stack("stop", "runner");
    run = it_execute(&c, token, pid);
    snprintf(path, sizeof(path), "/api/v1/pipelines/runs/%s/cancel", run);
    it_call(&c, "POST", path, token, json_object(), &r);
    it_assert_status(&r, 200);
    ck_assert_str_eq(it_str(&r, "status"), "cancelled");
    it_resp_free(&r);
    it_stack("start", "runner");
    end = await_event(&w, run, TERMINAL, 20);
    settle(&w, run, 30);
    events = of_run(w.org_log, run);
    ck_assert_msg(json_array_size(events) == 2, "run %s: %zu events", run,
                  json_array_size(events));
    ck_assert_str_eq(ev_str(json_array_get(events, 0), "event_type"),
                     "pipeline.queued");
    ck_assert_str_eq(ev_str(end, "event_type"), "pipeline.cancelled");
    ck_assert_str_eq(ev_data_str(end, "status"), "cancelled");
    ck_assert_uint_eq(stored_of(org, "pipeline.cancelled"), 2);
    json_decref(events);

    watch_close(&w);
    free(run);
    free(pid);
    free(conn);
    free(token);
    free(user);
    free(org);
}
END_TEST

/*
 * A run's result too big for an event (three quality gates of 200 rules
 * each, on columns with long names: about 90 KB of result_data): its
 * pipeline.completed holds at most SL_MAX_EVENT_BYTES, keeps the
 * result's figures and says it was trimmed; the run itself keeps the
 * whole result.
 */
START_TEST(a_big_result_is_trimmed_in_its_event)
{
    struct it_client c;
    struct it_resp r;
    struct watch w;
    char *org, *user, *token, *pid, *run, col[5][64], csv[512], path[160];
    json_t *nodes, *end, *data, *result;
    const char *raw;
    size_t n = 0;

    it_client_init(&c);
    token = it_new_org(&c, &user, &org);
    it_scale_up(org);
    for (int k = 0; k < 5; k++) {
        memset(col[k], 'a' + k, 63);
        col[k][63] = '\0';
        n += (size_t)snprintf(csv + n, sizeof(csv) - n, "%s%s", k ? "," : "",
                              col[k]);
    }
    snprintf(csv + n, sizeof(csv) - n, "\n1,2,3,4,5\n6,7,8,9,10\n");
    it_data_file(org, "wide.csv", csv);
    nodes = json_array();
    json_array_append_new(nodes,
                          it_node("in", "extractor", "csv",
                                  json_pack("{s:s}", "path", "wide.csv")));
    for (int g = 0; g < 3; g++) {
        json_t *rules = json_array();
        char id[8];

        for (int i = 0; i < 200; i++)
            json_array_append_new(rules,
                                  json_pack("{s:s, s:s}", "type", "not_null",
                                            "column", col[i % 5]));
        snprintf(id, sizeof(id), "g%d", g);
        json_array_append_new(nodes,
                              it_node(id, "quality", "quality_gate",
                                      json_pack("{s:o}", "rules", rules)));
    }
    json_array_append_new(nodes, it_node("out", "loader", "postgres",
                                         json_pack("{s:s}", "table", "wide")));
    pid = it_pipeline(&c, token, nodes, it_chain(nodes));

    watch_open(&w, org);
    run = it_execute(&c, token, pid);
    end = await_event(&w, run, TERMINAL, 60);
    settle(&w, run, 30);
    raw = json_string_value(json_object_get(end, "raw"));
    data = json_object_get(json_object_get(end, "event"), "data");
    ck_assert_str_eq(ev_str(end, "event_type"), "pipeline.completed");
    ck_assert_msg(strlen(raw) <= SL_MAX_EVENT_BYTES, "an event of %zu bytes",
                  strlen(raw));
    ck_assert(json_is_true(json_object_get(data, "result_data_truncated")));
    result = json_object_get(data, "result_data");
    ck_assert_int_eq(
        json_integer_value(json_object_get(result, "records_processed")), 2);
    ck_assert_ptr_null(json_object_get(result, "nodes"));
    /* The run keeps the whole result. */
    snprintf(path, sizeof(path), "/api/v1/executions/%s", run);
    it_get(&c, path, token, &r);
    it_assert_status(&r, 200);
    ck_assert_msg(r.body_len > SL_MAX_EVENT_BYTES, "a result of %zu bytes",
                  r.body_len);
    ck_assert_uint_eq(
        json_array_size(it_at(&r, "result_data.nodes.g2.quality.rules")), 200);
    it_resp_free(&r);

    watch_close(&w);
    free(run);
    free(pid);
    free(token);
    free(user);
    free(org);
}
END_TEST

START_TEST(nats_down_the_run_happens_once)
{
    struct it_client c;
    struct it_resp r;
    char *org, *user, *token, *pid, *run, *conn, *v, sql[256];
    json_t *nodes;

    it_client_init(&c);
    token = it_new_org(&c, &user, &org);
    it_scale_up(org);
    conn = it_wh_connector(&c, token);
    /* Appended: a second execution of the run would double the table. */
    nodes = json_pack(
        "[o, o]",
        it_node("src", "extractor", "postgres",
                json_pack("{s:s, s:s}", "connection_id", conn, "query",
                          "SELECT g AS id, md5(g::text) AS v FROM "
                          "generate_series(1, 5000) g")),
        it_node("out", "loader", "postgres",
                json_pack("{s:s, s:s}", "table", "once", "mode", "append")));
    pid = it_pipeline(&c, token, nodes, it_chain(nodes));

    it_stack("stop", "nats");
    run = execute_with(&c, token, pid, json_object());
    v = it_owner_value(
        "SELECT status || '/' || (SELECT count(*) FROM outbox WHERE "
        "sent_at IS NULL AND payload->>'run_id' = $1::text) FROM runs "
        "WHERE id = $1::uuid",
        run, NULL);
    /* Pending, its request kept for the relay. */
    ck_assert_str_eq(v, "pending/1");
    free(v);
    it_stack("start", "nats");

    it_await_run(&c, token, run, "completed|failed|cancelled", 60, &r);
    ck_assert_msg(strcmp(it_str(&r, "status"), "completed") == 0, "%s", r.body);
    ck_assert_int_eq(it_int(&r, "records_processed"), 5000);
    it_resp_free(&r);
    /* Once: one run, started once, its rows once. */
    v = it_owner_value("SELECT count(*) || '/' || max(attempts) FROM runs "
                       "WHERE pipeline_id = $1",
                       pid, NULL);
    ck_assert_msg(strcmp(v, "1/1") == 0, "runs/attempts: %s", v);
    free(v);
    snprintf(sql, sizeof(sql),
             "SELECT count(*) || '/' || count(DISTINCT id) FROM "
             "t_%s_bronze.once",
             org);
    v = it_wh(sql, NULL);
    ck_assert_str_eq(v, "5000/5000");
    free(v);
    /* Its request and its end both reached NATS, the end stored once. */
    it_await_sql("SELECT count(*) FROM outbox WHERE sent_at IS NULL AND "
                 "(payload->>'run_id' = $1 OR "
                 "payload->'data'->>'run_id' = $1)",
                 run, NULL, "0", 30);
    ck_assert_uint_eq(stored_of(org, "pipeline.started"), 1);
    ck_assert_uint_eq(stored_of(org, "pipeline.completed"), 1);
    /* A late duplicate of the request would be claimed by nobody; the
     * run log says the run started once. */
    v = it_owner_value(
        "SELECT count(*) FROM run_logs WHERE run_id = $1::uuid AND "
        "message = 'Run completed'",
        run, NULL);
    ck_assert_str_eq(v, "1");
    free(v);

    free(run);
    free(pid);
    free(conn);
    free(token);
    free(user);
    free(org);
}
END_TEST

static Suite *
events_suite(void)
{
    Suite *s = suite_create("it_events");
    TCase *tc = tcase_create("events");

    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, a_run_told_on_nats);
    tcase_add_test(tc, failed_and_cancelled_runs_told_once);
    tcase_add_test(tc, a_big_result_is_trimmed_in_its_event);
    /* Last: it stops NATS. */
    tcase_add_test(tc, nats_down_the_run_happens_once);
    suite_add_tcase(s, tc);
    return s;
}

SL_TEST_MAIN(events_suite)
