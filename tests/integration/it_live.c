/*
 * it_live.c: watching runs live over WebSocket, as seed 002's and seed
 * 004's clients do: a subscriber to a pipeline sees its run go pending ->
 * running -> completed with progress, the node working, rows and log
 * lines; one that comes back with ?since= gets what it missed exactly
 * once; a run's subscriber gets its state first; /ws/events' filters
 * (the query's, then a subscribe message's) apply; another organisation
 * sees nothing and cannot even find the pipeline; a bad credential gets
 * 401 at the handshake; two hubs both deliver; a client that never reads
 * is closed without holding up one that does; a since older than the
 * stream keeps gets a gap message, and so does one beyond its end; an
 * expired token and a malformed since get a close frame with the reason;
 * a resume whose replay batch holds nothing for the subscriber still goes
 * on to the live events; a live feed made again loses nothing, or says
 * what it lost; a socket whose credential never expires is closed at the
 * session's maximum lifetime; an organisation's subscribers are capped on
 * each hub, and one address's handshakes by nginx.
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bus.h"
#include "clock.h"
#include "it.h"
#include "limits.h"
#include "token.h"
#include "unit.h"
#include "wsclient.h"

/* An organisation of its own, and its admin's token. */
struct org {
    struct it_client c;
    char *user, *id, *token;
};

static void
org_init(struct org *o)
{
    it_client_init(&o->c);
    o->token = it_new_org(&o->c, &o->user, &o->id);
    it_scale_up(o->id);
}

static void
org_free(struct org *o)
{
    free(o->token);
    free(o->user);
    free(o->id);
}

/* A csv -> postgres pipeline of three rows; returns its id. */
static char *
small_pipeline(struct org *o)
{
    json_t *nodes;

    it_data_file(o->id, "live.csv",
                 "id,name\r\n1,Ada\r\n2,Grace\r\n3,Linus\r\n");
    nodes = json_pack("[o, o]",
                      it_node("in", "extractor", "csv",
                              json_pack("{s:s}", "path", "live.csv")),
                      it_node("out", "loader", "postgres",
                              json_pack("{s:s, s:s}", "schema", "bronze",
                                        "table", "live_people")));
    return it_pipeline(&o->c, o->token, nodes, it_chain(nodes));
}

/* Opens path (formatted, "?token=" appended) through nginx as o. */
static int
open_ws(struct org *o, const char *path)
{
    char target[4096];
    int fd, status = 0;

    snprintf(target, sizeof(target), "%s%stoken=%s", path,
             strchr(path, '?') ? "&" : "?", o->token);
    fd = ws_open_nginx(&o->c, target, NULL, &status, NULL);
    ck_assert_msg(fd >= 0, "%s: handshake answered %d", path, status);
    return fd;
}

static const char *
jstr(json_t *j, const char *k)
{
    return json_string_value(json_object_get(j, k));
}

/* Reads the welcome. */
static void
expect_welcome(int fd)
{
    json_t *j = ws_next(fd, 10000, NULL);

    ck_assert_ptr_nonnull(j);
    ck_assert_str_eq(jstr(j, "type"), "welcome");
    json_decref(j);
}

/* Reads the welcome, then up to caught_up: live from then on. Nothing
 * else may come first (no run exists yet). */
static void
expect_ready(int fd)
{
    json_t *j;

    expect_welcome(fd);
    j = ws_next(fd, 10000, NULL);
    ck_assert_ptr_nonnull(j);
    ck_assert_msg(strcmp(jstr(j, "type"), "caught_up") == 0, "%s",
                  json_dumps(j, 0));
    json_decref(j);
}

/*
 * Appends every message of fd to all until an execution_update of run
 * says completed or failed (30 s at most).
 */
static void
collect_run(int fd, const char *run, json_t *all)
{
    double end = it_now() + 30;

    for (;;) {
        json_t *j;
        const char *st;

        ck_assert_msg(it_now() < end, "run %s did not end on the socket", run);
        j = ws_next(fd, 30000, NULL);
        ck_assert_msg(j != NULL, "the socket closed or went quiet");
        json_array_append_new(all, j);
        st = jstr(j, "status");
        if (strcmp(jstr(j, "type"), "execution_update") == 0 &&
            jstr(j, "run_id") != NULL && strcmp(jstr(j, "run_id"), run) == 0 &&
            st != NULL &&
            (strcmp(st, "completed") == 0 || strcmp(st, "failed") == 0))
            return;
    }
}

static int
status_rank(const char *s)
{
    static const char *const order[] = {"pending", "running", "completed"};

    for (int i = 0; i < 3; i++)
        if (strcmp(s, order[i]) == 0)
            return i;
    return -1;
}

START_TEST(pipeline_subscriber_sees_the_run_in_order)
{
    struct org o;
    char path[256], *pid, *run;
    json_t *all = json_array(), *j;
    int fd, last_rank = -1, logs = 0, nodes = 0;
    long long last_seq = 0;
    size_t i;
    const char *first = NULL;

    org_init(&o);
    pid = small_pipeline(&o);
    snprintf(path, sizeof(path), "/ws/pipeline/%s", pid);
    fd = open_ws(&o, path);
    expect_ready(fd);
    run = it_execute(&o.c, o.token, pid);
    collect_run(fd, run, all);

    json_array_foreach(all, i, j)
    {
        const char *type = jstr(j, "type");
        long long seq = json_integer_value(json_object_get(j, "seq"));

        ck_assert_msg(jstr(j, "event_id") != NULL, "no event_id: %s",
                      json_dumps(j, 0));
        ck_assert_msg(seq > last_seq, "seq not increasing: %lld after %lld",
                      seq, last_seq);
        last_seq = seq;
        ck_assert_ptr_nonnull(jstr(j, "timestamp"));
        ck_assert_ptr_nonnull(jstr(j, "event_type"));
        if (strcmp(type, "log") == 0) {
            ck_assert_str_eq(jstr(j, "execution_id"), run);
            ck_assert_ptr_nonnull(jstr(j, "level"));
            ck_assert_ptr_nonnull(jstr(j, "message"));
            ck_assert_ptr_nonnull(json_object_get(j, "node_id"));
            logs++;
            continue;
        }
        if (strcmp(type, "execution_update") != 0)
            continue;
        ck_assert_str_eq(jstr(j, "execution_id"), run);
        ck_assert_str_eq(jstr(j, "run_id"), run);
        ck_assert_str_eq(jstr(j, "pipeline_id"), pid);
        /* Seed 002's client reads both from every update. */
        ck_assert_ptr_nonnull(jstr(j, "status"));
        ck_assert(json_is_integer(json_object_get(j, "rows_processed")));
        ck_assert(json_is_number(json_object_get(j, "progress")));
        ck_assert_ptr_nonnull(json_object_get(j, "current_node"));
        if (jstr(j, "current_node") != NULL)
            nodes++;
        if (first == NULL)
            first = jstr(j, "status");
        ck_assert_msg(status_rank(jstr(j, "status")) >= last_rank,
                      "status went back to %s", jstr(j, "status"));
        last_rank = status_rank(jstr(j, "status"));
    }
    ck_assert_str_eq(first, "pending");
    ck_assert_int_eq(last_rank, 2);
    j = json_array_get(all, json_array_size(all) - 1);
    ck_assert_int_eq(json_integer_value(json_object_get(j, "rows_processed")),
                     3);
    ck_assert_int_eq(json_integer_value(json_object_get(j, "progress")), 100);
    ck_assert_msg(nodes > 0, "no update named the node working");
    ck_assert_msg(logs > 0, "no log line");
    close(fd);
    json_decref(all);
    free(run);
    free(pid);
    org_free(&o);
}
END_TEST

/* The event ids of the messages in all that have one. */
static json_t *
ids_of(json_t *all)
{
    json_t *ids = json_object(), *j;
    size_t i;

    json_array_foreach(all, i, j)
    {
        const char *id = jstr(j, "event_id");

        if (id == NULL)
            continue;
        ck_assert_msg(json_object_get(ids, id) == NULL, "%s twice", id);
        json_object_set_new(ids, id, json_true());
    }
    return ids;
}

START_TEST(resume_with_since_gets_each_message_once)
{
    struct org o;
    char path[256], *pid, *run;
    json_t *full = json_array(), *part1 = json_array(), *part2 = json_array();
    json_t *ids_full, *ids1, *ids2, *v;
    long long since = 0;
    const char *k;
    int a, b;

    org_init(&o);
    pid = small_pipeline(&o);
    snprintf(path, sizeof(path), "/ws/pipeline/%s", pid);
    b = open_ws(&o, path);
    expect_ready(b);
    a = open_ws(&o, path);
    expect_ready(a);
    run = it_execute(&o.c, o.token, pid);
    /* a reads the first update, then drops off mid-run. */
    {
        json_t *j = ws_next(a, 10000, NULL);

        ck_assert_ptr_nonnull(j);
        ck_assert_str_eq(jstr(j, "type"), "execution_update");
        since = json_integer_value(json_object_get(j, "seq"));
        json_array_append_new(part1, j);
    }
    close(a);
    collect_run(b, run, full);
    /* Back with since: what it missed, then live. */
    snprintf(path, sizeof(path), "/ws/pipeline/%s?since=%lld", pid, since);
    a = open_ws(&o, path);
    expect_welcome(a);
    collect_run(a, run, part2);

    ids_full = ids_of(full);
    ids1 = ids_of(part1);
    ids2 = ids_of(part2);
    json_object_foreach(ids1, k, v)
    {
        ck_assert_msg(json_object_get(ids2, k) == NULL, "%s delivered twice",
                      k);
    }
    json_object_update(ids1, ids2);
    ck_assert_int_eq(json_object_size(ids1), json_object_size(ids_full));
    json_object_foreach(ids_full, k, v)
    {
        ck_assert_msg(json_object_get(ids1, k) != NULL, "%s missed", k);
    }
    close(a);
    close(b);
    json_decref(ids_full);
    json_decref(ids1);
    json_decref(ids2);
    json_decref(full);
    json_decref(part1);
    json_decref(part2);
    free(run);
    free(pid);
    org_free(&o);
}
END_TEST

START_TEST(a_run_subscriber_gets_the_state_first_and_filters_apply)
{
    struct org o;
    char path[256], *pid, *run, *run2;
    json_t *all = json_array(), *j;
    struct it_resp r;
    int fd, ev;

    org_init(&o);
    pid = small_pipeline(&o);
    run = it_execute(&o.c, o.token, pid);
    it_await_run(&o.c, o.token, run, "completed|failed", 30, &r);
    it_resp_free(&r);
    /* After the run: its state first, then caught_up. */
    snprintf(path, sizeof(path), "/ws/runs/%s", run);
    fd = open_ws(&o, path);
    expect_welcome(fd);
    j = ws_next(fd, 10000, NULL);
    ck_assert_ptr_nonnull(j);
    ck_assert_str_eq(jstr(j, "type"), "execution_update");
    ck_assert(json_is_true(json_object_get(j, "snapshot")));
    ck_assert_str_eq(jstr(j, "run_id"), run);
    ck_assert_str_eq(jstr(j, "status"), "completed");
    ck_assert_int_eq(json_integer_value(json_object_get(j, "rows_processed")),
                     3);
    json_decref(j);
    j = ws_next(fd, 10000, NULL);
    ck_assert_ptr_nonnull(j);
    ck_assert_str_eq(jstr(j, "type"), "caught_up");
    json_decref(j);
    close(fd);

    /* /ws/events filtered to the runs' ends; then, by a subscribe
     * message, to their starts alone. */
    ev = open_ws(&o, "/ws/events?event_type=pipeline.completed,"
                     "pipeline.failed");
    expect_ready(ev);
    run2 = it_execute(&o.c, o.token, pid);
    j = ws_next(ev, 30000, NULL);
    ck_assert_ptr_nonnull(j);
    ck_assert_str_eq(jstr(j, "event_type"), "pipeline.completed");
    ck_assert_str_eq(jstr(j, "run_id"), run2);
    json_decref(j);
    free(run2);
    ws_send(ev,
            "{\"type\":\"subscribe\",\"event_types\":"
            "[\"pipeline.started\"]}",
            strlen("{\"type\":\"subscribe\",\"event_types\":"
                   "[\"pipeline.started\"]}"));
    j = ws_next(ev, 10000, NULL);
    ck_assert_ptr_nonnull(j);
    ck_assert_str_eq(jstr(j, "type"), "subscribed");
    json_decref(j);
    run2 = it_execute(&o.c, o.token, pid);
    j = ws_next(ev, 30000, NULL);
    ck_assert_ptr_nonnull(j);
    ck_assert_str_eq(jstr(j, "event_type"), "pipeline.started");
    ck_assert_str_eq(jstr(j, "run_id"), run2);
    json_decref(j);
    /* Nothing else of that run: its end is filtered out now. */
    it_await_run(&o.c, o.token, run2, "completed|failed", 30, &r);
    it_resp_free(&r);
    j = ws_next(ev, 1500, NULL);
    ck_assert_msg(j == NULL, "got %s", j ? json_dumps(j, 0) : "");
    close(ev);
    free(run2);
    json_decref(all);
    free(run);
    free(pid);
    org_free(&o);
}
END_TEST

/* The handshake of target as o fails with status and code. */
static void
assert_refused(struct it_client *c, const char *target, const char *headers,
               int want, const char *code)
{
    char *resp = NULL, quoted[80];
    int status = 0;

    ck_assert_int_eq(ws_open_nginx(c, target, headers, &status, &resp), -1);
    ck_assert_msg(status == want, "%s: want %d, got %d: %s", target, want,
                  status, resp ? resp : "");
    snprintf(quoted, sizeof(quoted), "\"code\":\"%s\"", code);
    ck_assert_msg(resp != NULL && strstr(resp, quoted) != NULL,
                  "%s: no %s in %s", target, code, resp ? resp : "");
    free(resp);
}

START_TEST(another_organisation_sees_nothing)
{
    struct org o1, o2;
    char path[4096], *pid, *run;
    json_t *all = json_array(), *j;
    int fd1, fd2;

    org_init(&o1);
    org_init(&o2);
    pid = small_pipeline(&o1);
    fd2 = open_ws(&o2, "/ws/events");
    expect_ready(fd2);
    snprintf(path, sizeof(path), "/ws/pipeline/%s", pid);
    fd1 = open_ws(&o1, path);
    expect_ready(fd1);
    run = it_execute(&o1.c, o1.token, pid);
    collect_run(fd1, run, all);
    /* o2's socket stays silent (its own events would be none here). */
    j = ws_next(fd2, 1500, NULL);
    ck_assert_msg(j == NULL, "o2 got %s", j ? json_dumps(j, 0) : "");
    /* o1's pipeline and run look like ones that do not exist. */
    snprintf(path, sizeof(path), "/ws/pipeline/%s?token=%s", pid, o2.token);
    assert_refused(&o2.c, path, NULL, 404, "PIPELINE_NOT_FOUND");
    snprintf(path, sizeof(path), "/ws/runs/%s?token=%s", run, o2.token);
    assert_refused(&o2.c, path, NULL, 404, "RUN_NOT_FOUND");
    snprintf(path, sizeof(path),
             "/ws/pipeline/00000000-0000-4000-8000-000000000000?token=%s",
             o2.token);
    assert_refused(&o2.c, path, NULL, 404, "PIPELINE_NOT_FOUND");
    close(fd1);
    close(fd2);
    json_decref(all);
    free(run);
    free(pid);
    org_free(&o1);
    org_free(&o2);
}
END_TEST

START_TEST(bad_credentials_get_401_at_the_handshake)
{
    struct it_client c;
    char *resp = NULL, hdr[SL_MAX_TICKET + 64], *t;
    int status = 0, port = atoi(it_env("SLUICE_HUB_PORT"));

    it_client_init(&c);
    assert_refused(&c, "/ws/events?token=not.a.token", NULL, 401,
                   "INVALID_TOKEN");
    assert_refused(&c, "/ws/events", "Authorization: Bearer abc.def.ghi\r\n",
                   401, "INVALID_TOKEN");
    assert_refused(&c, "/ws/pipeline/x", "X-API-Key: sk_nobody_x\r\n", 401,
                   "AUTHENTICATION_FAILED");
    /* The hub itself trusts no ticket it cannot verify. */
    ck_assert_int_eq(ws_open_direct(port, "/ws/events", NULL, &status, &resp),
                     -1);
    ck_assert_int_eq(status, 401);
    free(resp);
    t = ws_ticket("acme", "events", NULL, 30);
    t[strlen(t) - 2] = t[strlen(t) - 2] == 'A' ? 'B' : 'A';
    snprintf(hdr, sizeof(hdr), "X-Sluice-Ticket: %s\r\n", t);
    ck_assert_int_eq(ws_open_direct(port, "/ws/events", hdr, &status, NULL),
                     -1);
    ck_assert_int_eq(status, 401);
    free(t);
    /* A good ticket for another path than the one opened. */
    t = ws_ticket("acme", "run", "00000000-0000-4000-8000-000000000000", 30);
    snprintf(hdr, sizeof(hdr), "X-Sluice-Ticket: %s\r\n", t);
    ck_assert_int_eq(ws_open_direct(port, "/ws/events", hdr, &status, NULL),
                     -1);
    ck_assert_int_eq(status, 401);
    /* The same scope, another run than the ticket's. */
    ck_assert_int_eq(ws_open_direct(port,
                                    "/ws/runs/"
                                    "11111111-1111-4111-8111-111111111111",
                                    hdr, &status, NULL),
                     -1);
    ck_assert_int_eq(status, 401);
    free(t);
}
END_TEST

START_TEST(two_hubs_both_deliver)
{
    struct org o;
    char hdr[SL_MAX_TICKET + 64], *pid, *run, *t;
    json_t *a1 = json_array(), *a2 = json_array();
    int port = it_free_port(), fd1, fd2, status = 0;
    pid_t hub2;

    org_init(&o);
    pid = small_pipeline(&o);
    hub2 = it_second_hub(port);
    t = ws_ticket(o.id, "events", NULL, 30);
    snprintf(hdr, sizeof(hdr), "X-Sluice-Ticket: %s\r\n", t);
    /* The second hub listens once its pid file is there; retry briefly. */
    for (double end = it_now() + 10;;) {
        fd2 = ws_open_direct(port, "/ws/events", hdr, &status, NULL);
        if (fd2 >= 0 || it_now() > end)
            break;
        usleep(100 * 1000);
    }
    ck_assert_msg(fd2 >= 0, "the second hub answered %d", status);
    expect_ready(fd2);
    fd1 = open_ws(&o, "/ws/events");
    expect_ready(fd1);
    run = it_execute(&o.c, o.token, pid);
    collect_run(fd1, run, a1);
    collect_run(fd2, run, a2);
    ck_assert_int_ge(json_array_size(a1), 3);
    ck_assert_int_ge(json_array_size(a2), 3);
    close(fd1);
    close(fd2);
    kill(hub2, SIGTERM);
    waitpid(hub2, NULL, 0);
    json_decref(a1);
    json_decref(a2);
    free(t);
    free(run);
    free(pid);
    org_free(&o);
}
END_TEST

/* A NATS connection to the stack, up. */
static void
bus_up(struct sl_bus *bus)
{
    double end = it_now() + 10;

    ck_assert_int_eq(
        sl_bus_connect(bus, it_env("SLUICE_TEST_NATS_URL"), "it_live", NULL),
        0);
    while (!sl_bus_connected(bus)) {
        ck_assert_msg(it_now() < end, "NATS not reachable");
        usleep(50 * 1000);
    }
}

/* Publishes an event of org's of about size bytes; returns its seq. */
static void
publish(struct sl_bus *bus, const char *org, const char *type, size_t size,
        int n)
{
    char subject[256], *pad = malloc(size + 1);
    json_t *e;
    char *text;

    memset(pad, 'x', size);
    pad[size] = '\0';
    snprintf(subject, sizeof(subject), "sluice.event.%s.%s", org, type);
    e = json_pack("{s:s, s:s, s:s, s:s, s:{s:i, s:s}}", "event_id", it_unique(),
                  "event_type", type, "timestamp", "2026-01-01T00:00:00Z",
                  "organization_id", org, "data", "n", n, "pad", pad);
    text = json_dumps(e, JSON_COMPACT);
    ck_assert_int_eq(
        sl_bus_publish(bus, subject, text, strlen(text), NULL, 5000, NULL), 0);
    free(text);
    json_decref(e);
    free(pad);
}

struct bulk {
    struct sl_bus *bus;
    const char *org;
    int total;
};

/* Publishes the bulk events, on a thread of its own, 600 a second (3.6
 * MB/s: a client that reads keeps up even on a busy machine). */
static void *
publish_bulk(void *arg)
{
    struct bulk *b = arg;
    double start = it_now();

    for (int i = 0; i < b->total; i++) {
        while (it_now() < start + i / 600.0)
            usleep(500);
        publish(b->bus, b->org, "test.bulk", 6000, i);
    }
    return NULL;
}

START_TEST(a_slow_client_is_closed_and_a_fast_one_is_not_delayed)
{
    struct org o;
    struct sl_bus bus;
    struct ws_frame f;
    char hdr[SL_MAX_TICKET + 64], *t;
    int port = atoi(it_env("SLUICE_HUB_PORT")), slow, fast, n = 0;
    const int total = 4000;
    double t0, took;
    struct bulk b;
    pthread_t th;

    org_init(&o);
    t = ws_ticket(o.id, "events", NULL, 30);
    snprintf(hdr, sizeof(hdr), "X-Sluice-Ticket: %s\r\n", t);
    slow = ws_open_direct(port, "/ws/events", hdr, NULL, NULL);
    fast = ws_open_direct(port, "/ws/events", hdr, NULL, NULL);
    ck_assert_int_ge(slow, 0);
    ck_assert_int_ge(fast, 0);
    expect_ready(fast);
    bus_up(&bus);
    /* 4000 events of 6 KB: 24 MB, more than the sockets' buffers hold;
     * the fast client reads while they are published. */
    t0 = it_now();
    b.bus = &bus;
    b.org = o.id;
    b.total = total;
    ck_assert_int_eq(pthread_create(&th, NULL, publish_bulk, &b), 0);
    while (n < total) {
        json_t *j = ws_next(fast, 10000, &f);

        ck_assert_msg(j != NULL, "the fast client got %d of %d (%s %d %s)", n,
                      total, f.op == WS_CLOSE ? "closed" : "timed out", f.code,
                      f.reason ? f.reason : "");
        if (strcmp(jstr(j, "type"), "event") == 0)
            n++;
        json_decref(j);
    }
    took = it_now() - t0;
    pthread_join(th, NULL);
    ck_assert_msg(took < 20, "the fast client took %.1f s", took);
    /* The slow one: what fitted, then a close frame saying where to
     * resume. */
    for (;;) {
        ws_read(slow, 10000, &f);
        ck_assert_msg(f.op != -1, "the slow client was not closed");
        ck_assert_msg(f.op != -2, "the slow client got no close frame");
        if (f.op == WS_CLOSE)
            break;
        ws_frame_free(&f);
    }
    ck_assert_int_eq(f.code, 1008);
    ck_assert_msg(
        strncmp(f.reason, "send queue overflow; resume with since=", 39) == 0,
        "reason: %s", f.reason);
    ws_frame_free(&f);
    close(slow);
    close(fast);
    sl_bus_close(&bus);
    free(t);
    org_free(&o);
}
END_TEST

START_TEST(a_since_older_than_the_stream_gets_a_gap)
{
    struct org o;
    struct sl_bus bus;
    jsErrCode jerr = 0;
    jsStreamInfo *si = NULL;
    json_t *j;
    uint64_t first;
    int fd;

    org_init(&o);
    bus_up(&bus);
    publish(&bus, o.id, "test.before", 10, 1);
    publish(&bus, o.id, "test.before", 10, 2);
    ck_assert_int_eq(js_PurgeStream(bus.js, "SLUICE_EVENTS", NULL, &jerr),
                     NATS_OK);
    publish(&bus, o.id, "test.after", 10, 3);
    ck_assert_int_eq(
        js_GetStreamInfo(&si, bus.js, "SLUICE_EVENTS", NULL, &jerr), NATS_OK);
    first = si->State.FirstSeq;
    jsStreamInfo_Destroy(si);
    ck_assert_uint_gt(first, 2);

    fd = open_ws(&o, "/ws/events?since=1");
    expect_welcome(fd);
    j = ws_next(fd, 10000, NULL);
    ck_assert_ptr_nonnull(j);
    ck_assert_str_eq(jstr(j, "type"), "gap");
    ck_assert_int_eq(json_integer_value(json_object_get(j, "since")), 1);
    ck_assert_int_eq(json_integer_value(json_object_get(j, "resumes_at")),
                     (long long)first);
    json_decref(j);
    j = ws_next(fd, 10000, NULL);
    ck_assert_ptr_nonnull(j);
    ck_assert_str_eq(jstr(j, "event_type"), "test.after");
    ck_assert_int_eq(json_integer_value(json_object_get(j, "seq")),
                     (long long)first);
    json_decref(j);
    close(fd);
    sl_bus_close(&bus);
    org_free(&o);
}
END_TEST

/* The events stream's last sequence now. */
static uint64_t
stream_last(struct sl_bus *bus)
{
    jsErrCode jerr = 0;
    jsStreamInfo *si = NULL;
    uint64_t last;

    ck_assert_int_eq(
        js_GetStreamInfo(&si, bus->js, "SLUICE_EVENTS", NULL, &jerr), NATS_OK);
    last = si->State.LastSeq;
    jsStreamInfo_Destroy(si);
    return last;
}

/* Publishes a run.log event of org's for run. */
static void
publish_for_run(struct sl_bus *bus, const char *org, const char *run,
                const char *message)
{
    char subject[256], *text;
    json_t *e;

    snprintf(subject, sizeof(subject), "sluice.event.%s.run.log", org);
    e = json_pack("{s:s, s:s, s:s, s:s, s:{s:s, s:s, s:s, s:s}}", "event_id",
                  it_unique(), "event_type", "run.log", "timestamp",
                  "2026-01-01T00:00:00Z", "organization_id", org, "data",
                  "run_id", run, "pipeline_id",
                  "00000000-0000-4000-8000-00000000cafe", "level", "info",
                  "message", message);
    text = json_dumps(e, JSON_COMPACT);
    ck_assert_int_eq(
        sl_bus_publish(bus, subject, text, strlen(text), NULL, 5000, NULL), 0);
    free(text);
    json_decref(e);
}

/* Reads messages of fd until one of type (10 s at most); returns it. */
static json_t *
next_of_type(int fd, const char *type)
{
    struct ws_frame f;

    for (;;) {
        json_t *j = ws_next(fd, 10000, &f);

        ck_assert_msg(j != NULL, "no %s message (%s %d %s)", type,
                      f.op == WS_CLOSE ? "closed" : "timed out", f.code,
                      f.reason ? f.reason : "");
        if (strcmp(jstr(j, "type"), type) == 0)
            return j;
        json_decref(j);
    }
}

/*
 * A run's subscriber resuming after many of its organisation's events,
 * none of them the run's: the replay's first batch (128 events) queues
 * nothing for it, and the next batch must still follow -- then
 * caught_up, and the run's live events.
 */
START_TEST(a_replay_batch_with_nothing_for_the_subscriber_goes_on)
{
    const char *run = "00000000-0000-4000-8000-0000000000f1";
    char hdr[SL_MAX_TICKET + 64], path[256], *t;
    int port = atoi(it_env("SLUICE_HUB_PORT")), fd;
    struct sl_bus bus;
    struct org o;
    uint64_t since;
    json_t *j;

    org_init(&o);
    bus_up(&bus);
    since = stream_last(&bus);
    for (int i = 0; i < 300; i++)
        publish(&bus, o.id, "test.other", 10, i);
    publish_for_run(&bus, o.id, run, "replayed");
    t = ws_ticket(o.id, "run", run, 30);
    snprintf(hdr, sizeof(hdr), "X-Sluice-Ticket: %s\r\n", t);
    snprintf(path, sizeof(path), "/ws/runs/%s?since=%llu", run,
             (unsigned long long)since);
    fd = ws_open_direct(port, path, hdr, NULL, NULL);
    ck_assert_int_ge(fd, 0);
    expect_welcome(fd);
    j = next_of_type(fd, "log");
    ck_assert_str_eq(jstr(j, "message"), "replayed");
    json_decref(j);
    json_decref(next_of_type(fd, "caught_up"));
    publish_for_run(&bus, o.id, run, "live");
    j = next_of_type(fd, "log");
    ck_assert_str_eq(jstr(j, "message"), "live");
    json_decref(j);
    close(fd);
    sl_bus_close(&bus);
    free(t);
    org_free(&o);
}
END_TEST

/* A since beyond the stream's last event: a gap message saying where the
 * events resume, caught_up, then the live events (none swallowed). */
START_TEST(a_since_beyond_the_stream_gets_a_gap_and_live_events)
{
    struct sl_bus bus;
    struct org o;
    char path[128];
    uint64_t last;
    json_t *j;
    int fd;

    org_init(&o);
    bus_up(&bus);
    last = stream_last(&bus);
    snprintf(path, sizeof(path), "/ws/events?since=%llu",
             (unsigned long long)last + 1000);
    fd = open_ws(&o, path);
    expect_welcome(fd);
    j = ws_next(fd, 10000, NULL);
    ck_assert_ptr_nonnull(j);
    ck_assert_msg(strcmp(jstr(j, "type"), "gap") == 0, "%s", json_dumps(j, 0));
    ck_assert_int_eq(json_integer_value(json_object_get(j, "since")),
                     (long long)last + 1000);
    ck_assert_int_ge(json_integer_value(json_object_get(j, "resumes_at")),
                     (long long)last + 1);
    json_decref(j);
    json_decref(next_of_type(fd, "caught_up"));
    publish(&bus, o.id, "test.after_gap", 10, 1);
    j = next_of_type(fd, "event");
    ck_assert_str_eq(jstr(j, "event_type"), "test.after_gap");
    json_decref(j);
    close(fd);
    sl_bus_close(&bus);
    org_free(&o);
}
END_TEST

/*
 * The live feed made again (SIGHUP drops it; the hub makes it again at
 * its next tick, two seconds at most): an event published meanwhile still
 * reaches the subscriber; and when the stream no longer holds the events
 * published meanwhile (purged), the subscriber gets a gap message, then
 * the events that follow.
 */
START_TEST(a_feed_made_again_loses_nothing_or_says_so)
{
    char hdr[SL_MAX_TICKET + 64], *t;
    int port = it_free_port(), fd, status = 0;
    struct sl_bus bus;
    struct org o;
    jsErrCode jerr = 0;
    uint64_t first;
    pid_t hub2;
    json_t *j;

    org_init(&o);
    bus_up(&bus);
    hub2 = it_second_hub(port);
    t = ws_ticket(o.id, "events", NULL, 30);
    snprintf(hdr, sizeof(hdr), "X-Sluice-Ticket: %s\r\n", t);
    for (double end = it_now() + 10;;) {
        fd = ws_open_direct(port, "/ws/events", hdr, &status, NULL);
        if (fd >= 0 || it_now() > end)
            break;
        usleep(100 * 1000);
    }
    ck_assert_msg(fd >= 0, "the second hub answered %d", status);
    expect_ready(fd);
    publish(&bus, o.id, "test.before", 10, 1);
    j = next_of_type(fd, "event");
    ck_assert_str_eq(jstr(j, "event_type"), "test.before");
    json_decref(j);

    /* Dropped; an event while it is away. */
    kill(hub2, SIGHUP);
    usleep(300 * 1000);
    publish(&bus, o.id, "test.meanwhile", 10, 2);
    j = next_of_type(fd, "event");
    ck_assert_str_eq(jstr(j, "event_type"), "test.meanwhile");
    json_decref(j);

    /* Dropped again; the events meanwhile are purged. */
    kill(hub2, SIGHUP);
    usleep(300 * 1000);
    publish(&bus, o.id, "test.lost", 10, 3);
    ck_assert_int_eq(js_PurgeStream(bus.js, "SLUICE_EVENTS", NULL, &jerr),
                     NATS_OK);
    publish(&bus, o.id, "test.after", 10, 4);
    first = stream_last(&bus);
    j = next_of_type(fd, "gap");
    ck_assert_int_eq(json_integer_value(json_object_get(j, "resumes_at")),
                     (long long)first);
    json_decref(j);
    j = next_of_type(fd, "event");
    ck_assert_str_eq(jstr(j, "event_type"), "test.after");
    json_decref(j);

    close(fd);
    kill(hub2, SIGTERM);
    waitpid(hub2, NULL, 0);
    sl_bus_close(&bus);
    free(t);
    org_free(&o);
}
END_TEST

/* Starts a second hub on port with one setting of its own (an
 * environment variable, the child's alone); returns once it admits the
 * ticket in hdr, with the socket in *fd. */
static pid_t
hub_with(int port, const char *var, const char *value, const char *hdr, int *fd)
{
    int status = 0;
    pid_t hub;

    setenv(var, value, 1);
    hub = it_second_hub(port);
    unsetenv(var);
    for (double end = it_now() + 10;;) {
        *fd = ws_open_direct(port, "/ws/events", hdr, &status, NULL);
        if (*fd >= 0 || it_now() > end)
            break;
        usleep(100 * 1000);
    }
    ck_assert_msg(*fd >= 0, "the second hub answered %d", status);
    return hub;
}

/*
 * A credential that never expires (an API key's ticket has no expiry)
 * still gets a socket of bounded life: at hub_session_max_seconds it is
 * closed, 1008, with the since to reconnect with.
 */
START_TEST(a_session_ends_at_its_maximum_lifetime)
{
    char hdr[SL_MAX_TICKET + 64], want[96], *t;
    int port = it_free_port(), fd;
    struct ws_frame f;
    struct sl_bus bus;
    struct org o;
    long long seq;
    pid_t hub2;
    json_t *j;

    org_init(&o);
    bus_up(&bus);
    t = ws_ticket(o.id, "events", NULL, 30); /* no credential expiry */
    snprintf(hdr, sizeof(hdr), "X-Sluice-Ticket: %s\r\n", t);
    hub2 = hub_with(port, "SLUICE_HUB_SESSION_MAX_SECONDS", "3", hdr, &fd);
    expect_ready(fd);
    publish(&bus, o.id, "test.session", 10, 1);
    j = next_of_type(fd, "event");
    seq = json_integer_value(json_object_get(j, "seq"));
    json_decref(j);
    j = ws_next(fd, 10000, &f);
    ck_assert_msg(j == NULL, "%s", j ? json_dumps(j, 0) : "");
    ck_assert_int_eq(f.op, WS_CLOSE);
    ck_assert_int_eq(f.code, 1008);
    snprintf(want, sizeof(want),
             "session lifetime reached; reconnect with since=%lld", seq);
    ck_assert_str_eq(f.reason, want);
    ws_frame_free(&f);
    close(fd);
    kill(hub2, SIGTERM);
    waitpid(hub2, NULL, 0);
    sl_bus_close(&bus);
    free(t);
    org_free(&o);
}
END_TEST

/*
 * One organisation cannot take a hub from the others: past
 * hub_max_subscribers_per_org (2 here) its handshakes get 429
 * TOO_MANY_SUBSCRIBERS with Retry-After, while another organisation's
 * still get in; a socket closed makes room again.
 */
START_TEST(an_organisation_has_a_subscriber_cap_of_its_own)
{
    char hdr_a[SL_MAX_TICKET + 64], hdr_b[SL_MAX_TICKET + 64], *ta, *tb;
    char *resp = NULL;
    int port = it_free_port(), a1, a2, a3, b1, status = 0;
    struct org a, b;
    pid_t hub2;

    org_init(&a);
    org_init(&b);
    ta = ws_ticket(a.id, "events", NULL, 60);
    tb = ws_ticket(b.id, "events", NULL, 60);
    snprintf(hdr_a, sizeof(hdr_a), "X-Sluice-Ticket: %s\r\n", ta);
    snprintf(hdr_b, sizeof(hdr_b), "X-Sluice-Ticket: %s\r\n", tb);
    hub2 =
        hub_with(port, "SLUICE_HUB_MAX_SUBSCRIBERS_PER_ORG", "2", hdr_a, &a1);
    expect_ready(a1);
    a2 = ws_open_direct(port, "/ws/events", hdr_a, &status, NULL);
    ck_assert_msg(a2 >= 0, "the second answered %d", status);
    expect_ready(a2);
    a3 = ws_open_direct(port, "/ws/events", hdr_a, &status, &resp);
    ck_assert_int_lt(a3, 0);
    ck_assert_int_eq(status, 429);
    ck_assert_msg(strstr(resp, "TOO_MANY_SUBSCRIBERS") != NULL, "%s", resp);
    ck_assert_msg(strstr(resp, "Retry-After: ") != NULL, "%s", resp);
    free(resp);
    b1 = ws_open_direct(port, "/ws/events", hdr_b, &status, NULL);
    ck_assert_msg(b1 >= 0, "another organisation answered %d", status);
    expect_ready(b1);
    /* Room again once one of a's sockets is closed. */
    close(a1);
    for (double end = it_now() + 10;;) {
        a3 = ws_open_direct(port, "/ws/events", hdr_a, &status, NULL);
        if (a3 >= 0 || it_now() > end)
            break;
        usleep(100 * 1000);
    }
    ck_assert_msg(a3 >= 0, "after a close: %d", status);
    close(a2);
    close(a3);
    close(b1);
    kill(hub2, SIGTERM);
    waitpid(hub2, NULL, 0);
    free(ta);
    free(tb);
    org_free(&a);
    org_free(&b);
}
END_TEST

/*
 * A handshake the API refuses with a status auth_request cannot pass on
 * keeps it, with its Retry-After: with the database down, a pipeline's
 * handshake gets the API's 503 and Retry-After: 5 (a 429 goes the same
 * way: X-Sluice-Status and X-Sluice-Retry-After).
 */
START_TEST(a_handshake_refused_for_a_while_says_when_to_come_back)
{
    struct org o;
    char path[4096], *pid, *resp = NULL;
    int fd, status = 0;

    org_init(&o);
    pid = small_pipeline(&o);
    snprintf(path, sizeof(path), "/ws/pipeline/%s?token=%s", pid, o.token);
    it_stack("stop", "postgres");
    fd = ws_open_nginx(&o.c, path, NULL, &status, &resp);
    it_stack("start", "postgres");
    ck_assert_int_lt(fd, 0);
    ck_assert_msg(status == 503, "%d: %s", status, resp);
    ck_assert_msg(strstr(resp, "Retry-After: 5") != NULL, "%s", resp);
    ck_assert_msg(strstr(resp, "SERVICE_UNAVAILABLE") != NULL, "%s", resp);
    free(resp);
    /* The API back, the handshake goes through again. */
    for (double end = it_now() + 30;;) {
        fd = ws_open_nginx(&o.c, path, NULL, &status, NULL);
        if (fd >= 0 || it_now() > end)
            break;
        usleep(500 * 1000);
    }
    ck_assert_msg(fd >= 0, "after the database came back: %d", status);
    close(fd);
    free(pid);
    org_free(&o);
}
END_TEST

/*
 * nginx limits how fast one address opens WebSocket handshakes (before
 * they reach the API): a flood soon gets 429 RATE_LIMIT_EXCEEDED with
 * Retry-After. Last of the suite: it spends this address's allowance.
 */
START_TEST(a_flood_of_handshakes_is_rate_limited)
{
    struct org o;
    char target[4096], *resp = NULL;
    int status = 0, i;

    org_init(&o);
    snprintf(target, sizeof(target), "/ws/events?token=%s", o.token);
    for (i = 0; i < 300; i++) {
        int fd = ws_open_nginx(&o.c, target, NULL, &status, &resp);

        if (fd < 0)
            break;
        close(fd);
    }
    ck_assert_msg(i < 300, "300 handshakes in a row, none limited");
    ck_assert_int_eq(status, 429);
    ck_assert_msg(strstr(resp, "RATE_LIMIT_EXCEEDED") != NULL, "%s", resp);
    ck_assert_msg(strstr(resp, "Retry-After: 60") != NULL, "%s", resp);
    free(resp);
    org_free(&o);
}
END_TEST

START_TEST(an_expired_token_and_a_bad_since_close_with_a_reason)
{
    struct org o;
    struct sl_claims cl;
    struct ws_frame f;
    const char *secret = it_env("SLUICE_TEST_JWT_SECRET");
    char *shortlived = NULL, path[4096];
    json_t *j;
    int fd, status = 0;

    org_init(&o);
    /* The admin's own token, expiring in 3 s. */
    ck_assert_int_eq(
        sl_token_verify(secret, strlen(secret), o.token, sl_clock_now(), &cl),
        0);
    cl.exp = sl_clock_now() + 3;
    ck_assert_int_eq(sl_token_issue(secret, strlen(secret), &cl, &shortlived),
                     0);
    snprintf(path, sizeof(path), "/ws/events?token=%s", shortlived);
    fd = ws_open_nginx(&o.c, path, NULL, &status, NULL);
    ck_assert_msg(fd >= 0, "handshake answered %d", status);
    expect_ready(fd);
    j = ws_next(fd, 10000, &f);
    ck_assert_ptr_null(j);
    ck_assert_int_eq(f.op, WS_CLOSE);
    ck_assert_int_eq(f.code, 1008);
    ck_assert_str_eq(f.reason, "token expired");
    ws_frame_free(&f);
    close(fd);

    fd = open_ws(&o, "/ws/events?since=12abc");
    j = ws_next(fd, 10000, &f);
    ck_assert_ptr_null(j);
    ck_assert_int_eq(f.op, WS_CLOSE);
    ck_assert_int_eq(f.code, 1008);
    ck_assert_msg(strncmp(f.reason, "malformed since", 15) == 0, "%s",
                  f.reason);
    ws_frame_free(&f);
    close(fd);
    free(shortlived);
    org_free(&o);
}
END_TEST

static Suite *
live_suite(void)
{
    Suite *s = suite_create("it_live");
    TCase *tc = tcase_create("live");

    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, pipeline_subscriber_sees_the_run_in_order);
    tcase_add_test(tc, resume_with_since_gets_each_message_once);
    tcase_add_test(tc, a_run_subscriber_gets_the_state_first_and_filters_apply);
    tcase_add_test(tc, another_organisation_sees_nothing);
    tcase_add_test(tc, bad_credentials_get_401_at_the_handshake);
    tcase_add_test(tc, two_hubs_both_deliver);
    tcase_add_test(tc, a_slow_client_is_closed_and_a_fast_one_is_not_delayed);
    tcase_add_test(tc, a_since_older_than_the_stream_gets_a_gap);
    tcase_add_test(tc, an_expired_token_and_a_bad_since_close_with_a_reason);
    tcase_add_test(tc, a_replay_batch_with_nothing_for_the_subscriber_goes_on);
    tcase_add_test(tc, a_since_beyond_the_stream_gets_a_gap_and_live_events);
    tcase_add_test(tc, a_feed_made_again_loses_nothing_or_says_so);
    tcase_add_test(tc, a_session_ends_at_its_maximum_lifetime);
    tcase_add_test(tc, an_organisation_has_a_subscriber_cap_of_its_own);
    tcase_add_test(tc, a_handshake_refused_for_a_while_says_when_to_come_back);
    /* Last: it spends the address's allowance of handshakes. */
    tcase_add_test(tc, a_flood_of_handshakes_is_rate_limited);
    suite_add_tcase(s, tc);
    return s;
}

SL_TEST_MAIN(live_suite)
