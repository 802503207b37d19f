/*
 * test_bus.c: the NATS layer against a real nats-server with JetStream.
 *
 * Runs inside a private stack (tests/integration/with-stack), which sets
 * SLUICE_TEST_NATS_URL and SLUICE_TEST_STACKCTL (which can restart NATS).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bus.h"
#include "clock.h"
#include "err.h"
#include "unit.h"
#include "uuid.h"

static struct sl_bus bus;

/* Waits up to ms for the connection to be up; the event, not a guess. */
static int
wait_connected(int ms)
{
    int64_t end = sl_clock_mono_us() + (int64_t)ms * 1000;

    while (!sl_bus_connected(&bus)) {
        if (sl_clock_mono_us() > end)
            return 0;
        usleep(20000);
    }
    return 1;
}

static void
setup(void)
{
    const char *url = getenv("SLUICE_TEST_NATS_URL");

    ck_assert_msg(url != NULL, "SLUICE_TEST_NATS_URL is not set: run this "
                               "test through make check");
    ck_assert_int_eq(sl_bus_connect(&bus, url, "test_bus", NULL), SL_OK);
    ck_assert(wait_connected(5000));
    ck_assert_int_eq(sl_bus_ensure_streams(&bus), SL_OK);
}

static void
teardown(void)
{
    sl_bus_close(&bus);
}

START_TEST(publish_deduplicates_by_msg_id)
{
    char id[SL_UUID_LEN];
    bool dup = true;

    sl_uuid_v7(id);
    ck_assert_int_eq(
        sl_bus_publish(&bus, "sluice.event.t1.test", "{}", 2, id, 2000, &dup),
        SL_OK);
    ck_assert(!dup);
    ck_assert_int_eq(
        sl_bus_publish(&bus, "sluice.event.t1.test", "{}", 2, id, 2000, &dup),
        SL_OK);
    ck_assert(dup);
}
END_TEST

START_TEST(ensure_streams_is_idempotent)
{
    ck_assert_int_eq(sl_bus_ensure_streams(&bus), SL_OK);
    ck_assert_int_eq(sl_bus_ensure_streams(&bus), SL_OK);
}
END_TEST

/* Nothing takes the subject: said at once, apart from other failures. */
START_TEST(publish_without_stream_fails)
{
    ck_assert_int_eq(
        sl_bus_publish(&bus, "nowhere.subject", "x", 1, NULL, 1000, NULL),
        SL_ENOTFOUND);
    ck_assert(!sl_bus_stream_subject("nowhere.subject"));
    ck_assert(!sl_bus_stream_subject("sluice.run.requests"));
    ck_assert(!sl_bus_stream_subject(NULL));
    ck_assert(sl_bus_stream_subject(SL_SUBJ_RUN_REQUEST));
    ck_assert(sl_bus_stream_subject("sluice.event.acme.pipeline.completed"));
}
END_TEST

START_TEST(request_without_responder_times_out)
{
    char *reply = NULL;
    size_t n;
    int64_t t0 = sl_clock_mono_us();

    ck_assert_int_eq(
        sl_bus_request(&bus, "sluice.ping.nobody", "", 0, 500, &reply, &n),
        SL_ETIMEDOUT);
    ck_assert_ptr_null(reply);
    ck_assert_int_lt(sl_clock_mono_us() - t0, 2000000);
}
END_TEST

static void
echo(natsConnection *nc, natsSubscription *sub, natsMsg *msg, void *closure)
{
    natsConnection_Publish(nc, natsMsg_GetReply(msg), natsMsg_GetData(msg),
                           natsMsg_GetDataLength(msg));
    natsMsg_Destroy(msg);
}

START_TEST(request_reply)
{
    natsSubscription *sub = NULL;
    char *reply = NULL;
    size_t n = 0;
    double ms = -1;

    ck_assert_int_eq(
        natsConnection_Subscribe(&sub, bus.nc, "t.echo", echo, NULL), NATS_OK);
    ck_assert_int_eq(
        sl_bus_request(&bus, "t.echo", "hello", 5, 2000, &reply, &n), SL_OK);
    ck_assert_uint_eq(n, 5);
    ck_assert_str_eq(reply, "hello");
    free(reply);
    ck_assert_int_eq(sl_bus_rtt(&bus, &ms), SL_OK);
    ck_assert(ms >= 0);
    natsSubscription_Destroy(sub);
}
END_TEST

START_TEST(reconnects_after_server_restart)
{
    const char *ctl = getenv("SLUICE_TEST_STACKCTL");
    char cmd[1024], id[SL_UUID_LEN];

    ck_assert_ptr_nonnull(ctl);
    snprintf(cmd, sizeof(cmd), "%s restart nats >/dev/null", ctl);
    ck_assert_int_eq(system(cmd), 0);
    ck_assert(wait_connected(10000));
    /* The stream survived on disk and takes messages again. */
    sl_uuid_v7(id);
    ck_assert_int_eq(
        sl_bus_publish(&bus, "sluice.event.t1.after", "{}", 2, id, 5000, NULL),
        SL_OK);
}
END_TEST

START_TEST(bad_url_refused)
{
    struct sl_bus b;

    ck_assert_int_ne(sl_bus_connect(&b, "::not a url::", "x", NULL), SL_OK);
    sl_bus_close(&b);
}
END_TEST

START_TEST(credentials_in_urls_never_reach_the_log)
{
    struct sl_bus b;
    struct sl_logger lg;
    char line[4096];
    int p[2];
    ssize_t n;

    ck_assert_int_eq(pipe(p), 0);
    sl_log_init(&lg, "test", SL_LOG_DEBUG, p[1]);
    /* Refused (the second URL has no scheme), and logged. */
    ck_assert_int_eq(sl_bus_connect(&b,
                                    "nats://alice:s3cret@127.0.0.1:4222,"
                                    "bob:hunter2@127.0.0.1:4223",
                                    "x", &lg),
                     SL_EINVAL);
    n = read(p[0], line, sizeof(line) - 1);
    ck_assert_int_gt(n, 0);
    line[n] = '\0';
    ck_assert_ptr_null(strstr(line, "s3cret"));
    ck_assert_ptr_null(strstr(line, "alice"));
    ck_assert_ptr_nonnull(strstr(line, "***@127.0.0.1:4222"));
    sl_bus_close(&b);
    close(p[0]);
    close(p[1]);
}
END_TEST

static Suite *
bus_suite(void)
{
    Suite *s = suite_create("bus");
    TCase *tc = tcase_create("server");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, publish_deduplicates_by_msg_id);
    tcase_add_test(tc, ensure_streams_is_idempotent);
    tcase_add_test(tc, publish_without_stream_fails);
    tcase_add_test(tc, request_without_responder_times_out);
    tcase_add_test(tc, request_reply);
    tcase_add_test(tc, reconnects_after_server_restart);
    tcase_add_test(tc, bad_url_refused);
    tcase_add_test(tc, credentials_in_urls_never_reach_the_log);
    suite_add_tcase(s, tc);
    return s;
}

SL_TEST_MAIN(bus_suite)
