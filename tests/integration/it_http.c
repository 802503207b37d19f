/*
 * it_http.c: what every client meets at the door: JSON errors for unknown
 * paths, wrong methods, malformed and oversized bodies, rate limits; a
 * request id on every response; HTTPS; HEAD.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "it.h"
#include "unit.h"

START_TEST(unknown_path_and_wrong_method)
{
    struct it_client c;
    struct it_resp r;

    it_client_init(&c);
    it_get(&c, "/api/v1/no/such/thing", NULL, &r);
    it_assert_error(&r, 404, "NOT_FOUND");
    it_resp_free(&r);

    it_call(&c, "DELETE", "/api/v1/auth/login", NULL, NULL, &r);
    it_assert_error(&r, 405, "METHOD_NOT_ALLOWED");
    ck_assert_str_eq(it_header(&r, "Allow"), "POST");
    it_resp_free(&r);

    it_call(&c, "PUT", "/api/v1/users", NULL, json_object(), &r);
    it_assert_error(&r, 405, "METHOD_NOT_ALLOWED");
    ck_assert_str_eq(it_header(&r, "Allow"), "GET, POST");
    it_resp_free(&r);

    /* A path that does not decode: nginx refuses it, in JSON too. */
    it_get(&c, "/api/v1/admin/tenants/%ZZ", NULL, &r);
    it_assert_error(&r, 400, "BAD_REQUEST");
    it_resp_free(&r);
}
END_TEST

static void
post_raw(struct it_client *c, const char *type, const char *body,
         struct it_resp *r)
{
    it_request(c, "POST", "/api/v1/auth/login", NULL, type, body, strlen(body),
               r);
}

START_TEST(malformed_bodies)
{
    struct it_client c;
    struct it_resp r;
    char deep[200];

    it_client_init(&c);
    post_raw(&c, "application/json", "{\"username\": \"a\", ", &r);
    it_assert_error(&r, 400, "VALIDATION_ERROR");
    ck_assert_str_eq(it_str(&r, "error.details.field"), "body");
    ck_assert_ptr_nonnull(strstr(it_str(&r, "error.details.reason"), "line"));
    it_resp_free(&r);

    post_raw(&c, "application/json", "[1, 2, 3]", &r);
    it_assert_error(&r, 400, "VALIDATION_ERROR");
    it_resp_free(&r);

    post_raw(&c, "application/json",
             "{\"username\": \"a\", \"username\": \"b\", \"password\": \"x\"}",
             &r);
    it_assert_error(&r, 400, "VALIDATION_ERROR");
    it_resp_free(&r);

    memset(deep, '[', 100);
    memset(deep + 100, ']', 99);
    deep[199] = '\0';
    post_raw(&c, "application/json", deep, &r);
    it_assert_error(&r, 400, "VALIDATION_ERROR");
    ck_assert_ptr_nonnull(strstr(it_str(&r, "error.message"), "deep"));
    it_resp_free(&r);

    post_raw(&c, "text/plain", "username=a", &r);
    it_assert_error(&r, 415, "UNSUPPORTED_MEDIA_TYPE");
    it_resp_free(&r);

    /* Wrong types are named. */
    post_raw(&c, "application/json", "{\"username\": 42, \"password\": []}",
             &r);
    it_assert_error(&r, 422, "VALIDATION_ERROR");
    ck_assert_str_eq(it_str(&r, "error.details.errors.0.field"), "username");
    ck_assert_str_eq(it_str(&r, "error.details.errors.0.reason"),
                     "must be a string");
    ck_assert_str_eq(it_str(&r, "error.details.errors.1.field"), "password");
    it_resp_free(&r);

    /* A bad escape in the query string. */
    it_get(&c, "/health?x=%G1", NULL, &r);
    it_assert_error(&r, 400, "VALIDATION_ERROR");
    it_resp_free(&r);
}
END_TEST

START_TEST(oversize_body_is_413_json)
{
    struct it_client c;
    struct it_resp r;
    size_t n = 1300 * 1024;
    char *big = malloc(n + 1);

    it_client_init(&c);
    memset(big, ' ', n);
    big[0] = '{';
    big[n - 1] = '}';
    big[n] = '\0';
    it_request(&c, "POST", "/api/v1/auth/register", NULL, "application/json",
               big, n, &r);
    it_assert_error(&r, 413, "PAYLOAD_TOO_LARGE");
    it_resp_free(&r);
    free(big);
}
END_TEST

START_TEST(rate_limit_is_429_json_per_client)
{
    struct it_client c;
    struct it_resp r;
    int limited = 0, ok = 0;
    char *token, *user, *org;

    it_client_init(&c);
    /* A token first (two anonymous requests), then the burst. */
    token = it_new_org(&c, &user, &org);
    for (int i = 0; i < 45; i++) {
        it_get(&c, "/health", NULL, &r);
        if (r.status == 429) {
            if (limited++ == 0) {
                it_assert_error(&r, 429, "RATE_LIMIT_EXCEEDED");
                ck_assert_str_eq(it_header(&r, "Retry-After"), "60");
                ck_assert_int_eq(it_int(&r, "error.retry_after"), 60);
            }
        } else {
            it_assert_status(&r, 200);
            ok++;
        }
        it_resp_free(&r);
    }
    /* 20 a minute with a burst of 20: about 20 pass, the rest do not. */
    ck_assert_int_ge(ok, 15);
    ck_assert_int_ge(limited, 20);
    /* The same client, authenticated, is counted apart (100 a minute). */
    it_get(&c, "/api/v1/auth/me", token, &r);
    it_assert_status(&r, 200);
    it_resp_free(&r);
    /* And another client is not limited at all. */
    {
        struct it_client other;

        it_client_init(&other);
        snprintf(other.source, sizeof(other.source), "127.253.1.1");
        it_get(&other, "/health", NULL, &r);
        it_assert_status(&r, 200);
        it_resp_free(&r);
    }
    free(token);
    free(user);
    free(org);
}
END_TEST

START_TEST(request_ids)
{
    struct it_client c;
    struct it_resp r;
    const char *id;

    it_client_init(&c);
    it_get(&c, "/health", NULL, &r);
    id = it_header(&r, "X-Request-ID");
    ck_assert_ptr_nonnull(id);
    ck_assert_int_eq(strncmp(id, "req_", 4), 0);
    it_resp_free(&r);

    /* A sane id from the client is kept, through to error bodies. */
    it_request(&c, "GET", "/api/v1/nope", "X-Request-ID: trace-1234-abcd\r\n",
               NULL, NULL, 0, &r);
    ck_assert_str_eq(it_header(&r, "X-Request-ID"), "trace-1234-abcd");
    it_assert_error(&r, 404, "NOT_FOUND");
    it_resp_free(&r);
    /* An insane one is replaced. */
    it_request(&c, "GET", "/health", "X-Request-ID: <script>\r\n", NULL, NULL,
               0, &r);
    ck_assert_int_eq(strncmp(it_header(&r, "X-Request-ID"), "req_", 4), 0);
    it_resp_free(&r);
}
END_TEST

START_TEST(https_and_head_and_trailing_slash)
{
    struct it_client c;
    struct it_resp r;

    it_client_init(&c);
    c.tls = true;
    it_get(&c, "/api/v1/health", NULL, &r);
    it_assert_status(&r, 200);
    ck_assert_str_eq(it_str(&r, "status"), "healthy");
    ck_assert_ptr_nonnull(it_str(&r, "version"));
    ck_assert_ptr_nonnull(it_str(&r, "timestamp"));
    it_resp_free(&r);
    c.tls = false;

    it_request(&c, "HEAD", "/health", NULL, NULL, NULL, 0, &r);
    it_assert_status(&r, 200);
    ck_assert_uint_eq(r.body_len, 0);
    it_resp_free(&r);

    it_get(&c, "/health/", NULL, &r);
    it_assert_status(&r, 200);
    it_resp_free(&r);
}
END_TEST

START_TEST(api_reference_is_served)
{
    struct it_client c;
    struct it_resp r;

    it_client_init(&c);
    it_get(&c, "/openapi.json", NULL, &r);
    it_assert_status(&r, 200);
    ck_assert_ptr_nonnull(r.json);
    ck_assert_ptr_nonnull(it_str(&r, "openapi"));
    ck_assert_ptr_nonnull(it_at(&r, "paths./api/v1/auth/login"));
    it_resp_free(&r);
}
END_TEST

START_TEST(credential_headers_do_not_lift_the_login_limit)
{
    struct it_client c;
    struct it_resp r;
    char h[128];
    int limited = 0;

    it_client_init(&c);
    for (int i = 0; i < 45; i++) {
        const char *body = "{\"username\":\"nobody\",\"password\":\"x\"}";

        /* A made-up key each time, as a password guesser would send. */
        snprintf(h, sizeof(h), "X-API-Key: junk_%d\r\n", i);
        it_request(&c, "POST", "/api/v1/auth/login", h, "application/json",
                   body, strlen(body), &r);
        if (r.status == 429)
            limited++;
        else
            it_assert_error(&r, 401, "AUTHENTICATION_FAILED");
        it_resp_free(&r);
    }
    ck_assert_int_ge(limited, 20);
}
END_TEST

START_TEST(unread_bodies_do_not_break_kept_connections)
{
    struct it_client c;
    struct it_resp r;
    char h[256];
    size_t n = 64 * 1024;
    char *big = malloc(n);
    char *user, *org, *token;

    it_client_init(&c);
    token = it_new_org(&c, &user, &org);
    snprintf(h, sizeof(h), "Authorization: Bearer %.180s\r\n", "x");
    memset(big, 'x', n);
    /* A body nobody reads (the method is refused first), then a request on
     * what is likely the same upstream connection, many times over: never
     * a 502. */
    for (int i = 0; i < 30; i++) {
        it_request(&c, "PUT", "/api/v1/users/me", NULL, "application/json", big,
                   n, &r);
        ck_assert_int_ne(r.status, 502);
        it_resp_free(&r);
        it_call(&c, "POST", "/api/v1/auth/logout", "not-a-token", NULL, &r);
        it_assert_error(&r, 401, "INVALID_TOKEN");
        it_resp_free(&r);
    }
    (void)h;
    free(big);
    free(token);
    free(user);
    free(org);
}
END_TEST

static Suite *
http_suite(void)
{
    Suite *s = suite_create("it_http");
    TCase *tc = tcase_create("http");

    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, unknown_path_and_wrong_method);
    tcase_add_test(tc, malformed_bodies);
    tcase_add_test(tc, oversize_body_is_413_json);
    tcase_add_test(tc, rate_limit_is_429_json_per_client);
    tcase_add_test(tc, request_ids);
    tcase_add_test(tc, https_and_head_and_trailing_slash);
    tcase_add_test(tc, api_reference_is_served);
    tcase_add_test(tc, credential_headers_do_not_lift_the_login_limit);
    tcase_add_test(tc, unread_bodies_do_not_break_kept_connections);
    suite_add_tcase(s, tc);
    return s;
}

SL_TEST_MAIN(http_suite)
