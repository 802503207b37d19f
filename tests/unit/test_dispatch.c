/*
 * test_dispatch.c: the one rule for what a handler returns (request.h), as
 * the dispatcher applies it: API_ANSWERED keeps the response the handler
 * set; a negative SL_E* is answered 503, 504 or 500 and logged; 0, or
 * any other value, answered nothing and is a bug, logged and answered
 * 500. And the functions that answer say so with API_ANSWERED.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "dispatch.h"
#include "err.h"
#include "list.h"
#include "request.h"
#include "router.h"
#include "unit.h"

static struct sl_conf conf;
static struct api_ctx ctx;
static struct api_req req;
static FILE *log_file;

static void
setup(void)
{
    memset(&conf, 0, sizeof(conf));
    conf.max_json_depth = 32;
    memset(&ctx, 0, sizeof(ctx));
    ctx.conf = &conf;
    ctx.pool = sl_pool_create(0, 0);
    ck_assert_ptr_nonnull(ctx.pool);
    log_file = tmpfile();
    ck_assert_ptr_nonnull(log_file);
    sl_log_init(&ctx.log, "api", SL_LOG_DEBUG, fileno(log_file));
    memset(&req, 0, sizeof(req));
    req.ctx = &ctx;
    req.pool = ctx.pool;
    req.method = "GET";
    req.path = "/api/v1/things";
    req.request_id = "req_test";
}

static void
teardown(void)
{
    fclose(log_file);
    sl_pool_destroy(ctx.pool);
}

/* What the dispatcher's log holds so far. */
static const char *
logged(void)
{
    static char text[8192];
    size_t n;

    fflush(log_file);
    rewind(log_file);
    n = fread(text, 1, sizeof(text) - 1, log_file);
    text[n] = '\0';
    return text;
}

/* The error code of the response body, or "" for a body without one. */
static const char *
error_code(void)
{
    static char code[64];
    json_t *body =
        json_loadb(req.resp_body ? req.resp_body : "", req.resp_len, 0, NULL);
    const char *c = json_string_value(
        json_object_get(json_object_get(body, "error"), "code"));

    snprintf(code, sizeof(code), "%s", c ? c : "");
    json_decref(body);
    return code;
}

/* --- handlers, one for each way a handler can end ------------------------ */

static int
h_created(struct api_req *r)
{
    return api_reply(r, 201, json_pack("{s:s}", "id", "thing"));
}

static int
h_raw(struct api_req *r)
{
    return api_reply_raw(r, 200, "{\"id\":\"thing\"}");
}

static int
h_empty(struct api_req *r)
{
    return api_reply_empty(r, 204);
}

static int
h_not_found(struct api_req *r)
{
    return api_error(r, 404, "THING_NOT_FOUND", "No such thing", NULL);
}

/* A helper answered; the handler passes its return on. */
static int
h_invalid(struct api_req *r)
{
    struct api_check c;
    int rc;

    api_check_init(&c, r);
    api_check_fail(&c, "name", "is required");
    if ((rc = api_check_done(&c)) != 0)
        return rc;
    return api_reply(r, 200, json_object());
}

static int
h_nothing(struct api_req *r)
{
    (void)r;
    return 0;
}

static int
h_one(struct api_req *r)
{
    (void)r;
    return 1;
}

/* Says it answered and did not. */
static int
h_lies(struct api_req *r)
{
    (void)r;
    return API_ANSWERED;
}

static int
h_db_down(struct api_req *r)
{
    (void)r;
    return SL_EDBCONN;
}

static int
h_db_slow(struct api_req *r)
{
    (void)r;
    return SL_ETIMEDOUT;
}

static int
h_db_refused(struct api_req *r)
{
    (void)r;
    return SL_EDB;
}

/* Began a response (a header), then failed: nothing of it is sent. */
static int
h_half(struct api_req *r)
{
    api_add_header(r, "Location: /api/v1/things/1");
    return SL_ECRYPTO;
}

static const struct {
    const char *name;
    api_handler handler;
    int status;
    const char *code; /* of the error body; "" for none */
    const char *log;  /* a part of the line logged, NULL for none */
} cases[] = {
    {"created", h_created, 201, "", NULL},
    {"raw", h_raw, 200, "", NULL},
    {"empty", h_empty, 204, "", NULL},
    {"not_found", h_not_found, 404, "THING_NOT_FOUND", NULL},
    {"invalid", h_invalid, 422, "VALIDATION_ERROR", NULL},
    {"nothing", h_nothing, 500, "INTERNAL_ERROR", "returned 0 and set no"},
    {"one", h_one, 500, "INTERNAL_ERROR", "returned 1 and set no"},
    {"lies", h_lies, 500, "INTERNAL_ERROR", "set no response"},
    {"db_down", h_db_down, 503, "SERVICE_UNAVAILABLE", "database unreachable"},
    {"db_slow", h_db_slow, 504, "DATABASE_TIMEOUT", "timed out"},
    {"db_refused", h_db_refused, 500, "DATABASE_ERROR", "database error"},
    {"half", h_half, 500, "INTERNAL_ERROR", "cryptographic failure"},
};

START_TEST(each_return_means_one_thing)
{
    int rc = cases[_i].handler(&req);

    api_answer(&req, rc);
    ck_assert_msg(req.status == cases[_i].status, "%s: status %d, want %d",
                  cases[_i].name, req.status, cases[_i].status);
    ck_assert_msg(strcmp(error_code(), cases[_i].code) == 0,
                  "%s: code '%s', want '%s'", cases[_i].name, error_code(),
                  cases[_i].code);
    if (cases[_i].log != NULL)
        ck_assert_msg(strstr(logged(), cases[_i].log) != NULL,
                      "%s: the log does not say '%s': %s", cases[_i].name,
                      cases[_i].log, logged());
    else
        ck_assert_msg(strstr(logged(), "\"level\":\"error\"") == NULL,
                      "%s: logged an error: %s", cases[_i].name, logged());
}
END_TEST

/* Forgets the response req holds. */
static void
no_response(void)
{
    req.status = 0;
    req.resp_type = NULL;
    req.resp_body = NULL;
    req.resp_len = 0;
    req.resp_headers = NULL;
}

START_TEST(a_response_that_failed_keeps_none_of_its_headers)
{
    api_answer(&req, h_half(&req));
    ck_assert_ptr_null(req.resp_headers);
    /* 503 says when to come back, and only that. */
    no_response();
    api_answer(&req, h_db_down(&req));
    ck_assert_str_eq(req.resp_headers, "Retry-After: 5\r\n");
}
END_TEST

/*
 * A WebSocket handshake's check refused with 429 or 503 (which nginx's
 * auth_request cannot pass on): a 403 naming the real status and when to
 * come back, which nginx answers as that status with Retry-After -- the
 * response's own, or 60 seconds for a 429 that names none.
 */
START_TEST(a_handshake_refused_429_says_when_to_come_back)
{
    static const struct {
        int status;
        const char *retry_after, *want;
    } cases[] = {
        {429, "Retry-After: 30", "X-Sluice-Retry-After: 30\r\n"},
        {429, NULL, "X-Sluice-Retry-After: 60\r\n"},
        {503, "Retry-After: 5", "X-Sluice-Retry-After: 5\r\n"},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char status[40];

        no_response();
        if (cases[i].retry_after != NULL)
            api_add_header(&req, "%s", cases[i].retry_after);
        api_error(&req, cases[i].status, "QUOTA_EXCEEDED", "Too many", NULL);
        api_ws_auth_adapt(&req);
        ck_assert_int_eq(req.status, 403);
        snprintf(status, sizeof(status), "X-Sluice-Status: %d\r\n",
                 cases[i].status);
        ck_assert_msg(strstr(req.resp_headers, status) != NULL, "%s",
                      req.resp_headers);
        ck_assert_msg(strstr(req.resp_headers, cases[i].want) != NULL, "%d: %s",
                      cases[i].status, req.resp_headers);
    }
    /* Nothing of the kind for a refusal that has no time to name. */
    no_response();
    api_error(&req, 404, "RUN_NOT_FOUND", "No such run", NULL);
    api_ws_auth_adapt(&req);
    ck_assert_ptr_null(strstr(req.resp_headers, "Retry-After"));
}
END_TEST

/* What answers returns API_ANSWERED; what goes on returns 0. */
START_TEST(answering_returns_api_answered)
{
    struct api_page pg;
    json_t *body;

    ck_assert_int_eq(api_reply(&req, 200, json_object()), API_ANSWERED);
    ck_assert_int_eq(api_reply_raw(&req, 200, "{}"), API_ANSWERED);
    ck_assert_int_eq(api_reply_empty(&req, 204), API_ANSWERED);
    ck_assert_int_eq(api_error(&req, 400, "X", "x", NULL), API_ANSWERED);
    ck_assert_int_eq(api_errorf(&req, 400, "X", "%d", 1), API_ANSWERED);
    ck_assert_int_eq(api_db_error(&req, SL_EDB), API_ANSWERED);

    /* A body that is not one: answered 400. */
    no_response();
    req.body = "[1]";
    req.body_len = 3;
    ck_assert_int_eq(api_body_object(&req, false, &body), API_ANSWERED);
    ck_assert_int_eq(req.status, 400);
    req.body = "{\"a\": 1}";
    req.body_len = strlen(req.body);
    ck_assert_int_eq(api_body_object(&req, false, &body), 0);
    ck_assert_ptr_nonnull(body);

    /* A bad page: answered 422; a good one goes on. */
    no_response();
    req.nquery = 1;
    req.query_params = (struct api_param[]){{"limit", "0"}};
    ck_assert_int_eq(api_page_parse(&req, &pg), API_ANSWERED);
    ck_assert_int_eq(req.status, 422);
    no_response();
    req.query_params = (struct api_param[]){{"limit", "5"}};
    ck_assert_int_eq(api_page_parse(&req, &pg), 0);
    ck_assert_int_eq(pg.limit, 5);
    ck_assert_int_eq(req.status, 0);
}
END_TEST

/* API_ANSWERED is below every SL_E* code that sl_strerror() knows. */
START_TEST(api_answered_is_no_error_code)
{
    int rc = -1;

    while (strcmp(sl_strerror(rc), "unknown error") != 0)
        rc--;
    ck_assert_int_le(API_ANSWERED, rc);
    ck_assert_str_eq(sl_strerror(API_ANSWERED), "unknown error");
}
END_TEST

static Suite *
dispatch_suite(void)
{
    Suite *s = suite_create("dispatch");
    TCase *tc = tcase_create("rule");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_loop_test(tc, each_return_means_one_thing, 0,
                        (int)(sizeof(cases) / sizeof(cases[0])));
    tcase_add_test(tc, a_response_that_failed_keeps_none_of_its_headers);
    tcase_add_test(tc, answering_returns_api_answered);
    tcase_add_test(tc, api_answered_is_no_error_code);
    tcase_add_test(tc, a_handshake_refused_429_says_when_to_come_back);
    suite_add_tcase(s, tc);
    return s;
}

SL_TEST_MAIN(dispatch_suite)
