/*
 * test_log.c: structured log lines, read back through a pipe.
 */
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "unit.h"

/* Reads what the logger wrote into the pipe and parses it as one object. */
static json_t *
read_line(int fd)
{
    char buf[8192];
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    json_error_t je;

    ck_assert_int_gt(n, 0);
    buf[n] = '\0';
    ck_assert_int_eq(buf[n - 1], '\n');
    ck_assert_ptr_null(memchr(buf, '\n', (size_t)n - 1));
    return json_loads(buf, 0, &je);
}

START_TEST(line_has_fields)
{
    int p[2];
    struct sl_logger lg;
    json_t *j;

    ck_assert_int_eq(pipe(p), 0);
    sl_log_init(&lg, "api", SL_LOG_INFO, p[1]);
    lg.request_id = "req_abc";
    sl_log_fields(&lg, SL_LOG_WARN, "hello \"world\"",
                  json_pack("{s:i, s:s}", "status", 404, "level", "spoof"));
    j = read_line(p[0]);
    ck_assert_ptr_nonnull(j);
    ck_assert_str_eq(json_string_value(json_object_get(j, "msg")),
                     "hello \"world\"");
    ck_assert_str_eq(json_string_value(json_object_get(j, "level")), "warn");
    ck_assert_str_eq(json_string_value(json_object_get(j, "component")), "api");
    ck_assert_str_eq(json_string_value(json_object_get(j, "request_id")),
                     "req_abc");
    ck_assert_int_eq(json_integer_value(json_object_get(j, "status")), 404);
    ck_assert_int_eq(json_integer_value(json_object_get(j, "pid")), getpid());
    ck_assert_ptr_nonnull(json_object_get(j, "ts"));
    json_decref(j);
    close(p[0]);
    close(p[1]);
}
END_TEST

START_TEST(level_filters)
{
    int p[2];
    struct sl_logger lg;
    json_t *j;

    ck_assert_int_eq(pipe(p), 0);
    sl_log_init(&lg, "runner", SL_LOG_WARN, p[1]);
    sl_log_info(&lg, "dropped");
    sl_log_error(&lg, "kept %d", 7);
    j = read_line(p[0]);
    ck_assert_str_eq(json_string_value(json_object_get(j, "msg")), "kept 7");
    ck_assert_ptr_null(json_object_get(j, "request_id"));
    json_decref(j);
    close(p[0]);
    close(p[1]);
}
END_TEST

START_TEST(invalid_utf8_is_replaced)
{
    int p[2];
    struct sl_logger lg;
    json_t *j;

    ck_assert_int_eq(pipe(p), 0);
    sl_log_init(&lg, "api", SL_LOG_DEBUG, p[1]);
    sl_log_info(&lg, "bad \xff bytes");
    j = read_line(p[0]);
    ck_assert_str_eq(json_string_value(json_object_get(j, "msg")), "?");
    json_decref(j);
    close(p[0]);
    close(p[1]);
}
END_TEST

START_TEST(level_names)
{
    ck_assert_int_eq(sl_log_level_parse("debug"), SL_LOG_DEBUG);
    ck_assert_int_eq(sl_log_level_parse("INFO"), SL_LOG_INFO);
    ck_assert_int_eq(sl_log_level_parse("warning"), SL_LOG_WARN);
    ck_assert_int_eq(sl_log_level_parse("error"), SL_LOG_ERROR);
    ck_assert_int_eq(sl_log_level_parse("loud"), -1);
    ck_assert_int_eq(sl_log_level_parse(NULL), -1);
}
END_TEST

static Suite *
log_suite(void)
{
    Suite *s = suite_create("log");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, line_has_fields);
    tcase_add_test(tc, level_filters);
    tcase_add_test(tc, invalid_utf8_is_replaced);
    tcase_add_test(tc, level_names);
    suite_add_tcase(s, tc);
    return s;
}

SL_TEST_MAIN(log_suite)
