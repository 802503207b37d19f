/*
 * test_httpc.c: webhook URLs accepted and refused, request heads, and
 * responses read in pieces: Content-Length, chunked, until the close,
 * interim responses, Retry-After, the body cap and malformed answers.
 */
#include <string.h>

#include "err.h"
#include "httpc.h"
#include "unit.h"

START_TEST(url_forms)
{
    struct sl_httpc_url u;

    ck_assert_int_eq(sl_httpc_url_parse("http://example.com", &u), SL_OK);
    ck_assert(!u.tls);
    ck_assert_str_eq(u.host, "example.com");
    ck_assert_str_eq(u.port, "80");
    ck_assert_str_eq(u.target, "/");
    ck_assert_str_eq(u.authority, "example.com");
    ck_assert_int_eq(
        sl_httpc_url_parse("https://h.example:8443/a/b?x=1#frag", &u), SL_OK);
    ck_assert(u.tls);
    ck_assert_str_eq(u.port, "8443");
    ck_assert_str_eq(u.target, "/a/b?x=1");
    ck_assert_str_eq(u.authority, "h.example:8443");
    ck_assert_int_eq(sl_httpc_url_parse("http://[::1]:9000?q", &u), SL_OK);
    ck_assert_str_eq(u.host, "::1");
    ck_assert_str_eq(u.target, "/?q");
    ck_assert_str_eq(u.authority, "[::1]:9000");
    ck_assert_int_eq(sl_httpc_url_parse("HTTPS://127.0.0.1/x", &u), SL_OK);
    ck_assert_str_eq(u.port, "443");
}
END_TEST

START_TEST(url_refused)
{
    struct sl_httpc_url u;
    static const char *bad[] = {
        "ftp://example.com/", "http://",
        "http://:80/",        "http://a@b/",
        "http://u:p@host/",   "http://host:0/",
        "http://host:65536/", "http://host:8x/",
        "http://ho st/",      "http://host/a b",
        "http://host/\n",     "http://[::1/",
        "http://[::1]x/",     "//host/",
        "http://ho%73t/",     NULL,
    };

    for (int i = 0; bad[i] != NULL; i++)
        ck_assert_msg(sl_httpc_url_parse(bad[i], &u) == SL_EINVAL, "%s",
                      bad[i]);
    ck_assert_int_eq(sl_httpc_url_parse(NULL, &u), SL_EINVAL);
}
END_TEST

START_TEST(request_head)
{
    struct sl_httpc_url u;
    char buf[512];
    int n;

    sl_httpc_url_parse("http://h:81/p?q", &u);
    n = sl_httpc_request_head(&u, "ua/1", 12, "X-A: b\r\n", buf, sizeof(buf));
    ck_assert_int_gt(n, 0);
    ck_assert_str_eq(buf, "POST /p?q HTTP/1.1\r\nHost: h:81\r\nUser-Agent: "
                          "ua/1\r\nContent-Type: application/json\r\n"
                          "Content-Length: 12\r\nConnection: close\r\n"
                          "X-A: b\r\n\r\n");
    ck_assert_int_eq(sl_httpc_request_head(&u, "ua", 1, NULL, buf, 20),
                     SL_ETOOBIG);
}
END_TEST

/* Feeds text one byte at a time. */
static int
feed_bytes(struct sl_httpc_resp *r, const char *text)
{
    for (size_t i = 0; text[i] != '\0'; i++) {
        int rc = sl_httpc_resp_feed(r, text + i, 1);

        if (rc != SL_OK)
            return rc;
    }
    return SL_OK;
}

START_TEST(content_length)
{
    struct sl_httpc_resp r;
    const char *t = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello";

    sl_httpc_resp_init(&r);
    ck_assert_int_eq(sl_httpc_resp_feed(&r, t, strlen(t) - 1), SL_OK);
    ck_assert(r.head_done);
    ck_assert(!r.done);
    ck_assert_int_eq(r.status, 200);
    ck_assert_int_eq(sl_httpc_resp_feed(&r, "o", 1), SL_OK);
    ck_assert(r.done);
    ck_assert_int_eq(r.body, 5);
    /* Cut short: an error at the close. */
    sl_httpc_resp_init(&r);
    ck_assert_int_eq(sl_httpc_resp_feed(&r, t, strlen(t) - 2), SL_OK);
    ck_assert_int_eq(sl_httpc_resp_eof(&r), SL_EPARSE);
}
END_TEST

START_TEST(chunked_and_close)
{
    struct sl_httpc_resp r;

    sl_httpc_resp_init(&r);
    ck_assert_int_eq(feed_bytes(&r, "HTTP/1.1 503 Busy\r\nRetry-After:  7 \r\n"
                                    "Transfer-Encoding: chunked\r\n\r\n"
                                    "5;ext=1\r\nhello\r\n10\r\n0123456789abcdef"
                                    "\r\n0\r\nX-T: 1\r\n\r\n"),
                     SL_OK);
    ck_assert(r.done);
    ck_assert_int_eq(r.status, 503);
    ck_assert_str_eq(r.retry_after, "7");
    ck_assert_int_eq(r.body, 21);
    /* No length: the close ends it. */
    sl_httpc_resp_init(&r);
    ck_assert_int_eq(feed_bytes(&r, "HTTP/1.0 410 Gone\n\nbye"), SL_OK);
    ck_assert(!r.done);
    ck_assert_int_eq(sl_httpc_resp_eof(&r), SL_OK);
    ck_assert(r.done);
    ck_assert_int_eq(r.status, 410);
}
END_TEST

START_TEST(interim_and_no_body)
{
    struct sl_httpc_resp r;

    sl_httpc_resp_init(&r);
    ck_assert_int_eq(feed_bytes(&r, "HTTP/1.1 100 Continue\r\n\r\n"
                                    "HTTP/1.1 204 No Content\r\n\r\n"),
                     SL_OK);
    ck_assert(r.done);
    ck_assert_int_eq(r.status, 204);
    sl_httpc_resp_init(&r);
    ck_assert_int_eq(feed_bytes(&r, "HTTP/1.1 302 Found\r\nLocation: "
                                    "http://x/\r\nContent-Length: 0\r\n\r\n"),
                     SL_OK);
    ck_assert(r.done);
    ck_assert_int_eq(r.status, 302);
}
END_TEST

START_TEST(bounded)
{
    struct sl_httpc_resp r;
    static char big[SL_HTTPC_MAX_BODY + 100];
    const char *h = "HTTP/1.1 200 OK\r\n\r\n";

    sl_httpc_resp_init(&r);
    ck_assert_int_eq(sl_httpc_resp_feed(&r, h, strlen(h)), SL_OK);
    memset(big, 'x', sizeof(big));
    ck_assert_int_eq(sl_httpc_resp_feed(&r, big, sizeof(big)), SL_OK);
    ck_assert(r.done);
    /* A head that never ends. */
    sl_httpc_resp_init(&r);
    ck_assert_int_eq(sl_httpc_resp_feed(&r, "HTTP/1.1 200 OK\r\n", 17), SL_OK);
    ck_assert_int_eq(sl_httpc_resp_feed(&r, big, sizeof(big)), SL_ETOOBIG);
    /* Not HTTP at all; a bad length; a bad chunk size. */
    sl_httpc_resp_init(&r);
    ck_assert_int_eq(feed_bytes(&r, "SSH-2.0-x\r\n\r\n"), SL_EPARSE);
    sl_httpc_resp_init(&r);
    ck_assert_int_eq(feed_bytes(&r, "HTTP/1.1 200 OK\r\nContent-Length: -1"
                                    "\r\n\r\n"),
                     SL_EPARSE);
    sl_httpc_resp_init(&r);
    ck_assert_int_eq(feed_bytes(&r, "HTTP/1.1 200 OK\r\nTransfer-Encoding: "
                                    "chunked\r\n\r\nzz\r\n"),
                     SL_EPARSE);
}
END_TEST

static Suite *
httpc_suite(void)
{
    Suite *s = suite_create("httpc");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, url_forms);
    tcase_add_test(tc, url_refused);
    tcase_add_test(tc, request_head);
    tcase_add_test(tc, content_length);
    tcase_add_test(tc, chunked_and_close);
    tcase_add_test(tc, interim_and_no_body);
    tcase_add_test(tc, bounded);
    suite_add_tcase(s, tc);
    return s;
}

SL_TEST_MAIN(httpc_suite)
