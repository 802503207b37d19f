/*
 * test_resolve.c: sl_resolve(), a host resolved within a deadline:
 * numeric addresses, localhost, a name that cannot resolve, bounds on
 * its input, and the deadline itself.
 */
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>

#include "clock.h"
#include "err.h"
#include "resolve.h"
#include "unit.h"

/* Whether res holds an address of family whose text is want. */
static int
has_addr(const struct addrinfo *res, int family, const char *want)
{
    char text[INET6_ADDRSTRLEN];

    for (; res != NULL; res = res->ai_next) {
        const void *bin;

        if (res->ai_family != family)
            continue;
        bin =
            family == AF_INET6
                ? (const void *)&((struct sockaddr_in6 *)res->ai_addr)
                      ->sin6_addr
                : (const void *)&((struct sockaddr_in *)res->ai_addr)->sin_addr;
        if (inet_ntop(family, bin, text, sizeof(text)) != NULL &&
            strcmp(text, want) == 0)
            return 1;
    }
    return 0;
}

/* The port of res's first address, in host order. */
static int
first_port(const struct addrinfo *res)
{
    if (res->ai_family == AF_INET6)
        return ntohs(((struct sockaddr_in6 *)res->ai_addr)->sin6_port);
    return ntohs(((struct sockaddr_in *)res->ai_addr)->sin_port);
}

START_TEST(numeric_v4)
{
    struct addrinfo *res = NULL;
    int gai = -1;

    ck_assert_int_eq(sl_resolve("192.0.2.7", "8443", 2000, &res, &gai), SL_OK);
    ck_assert_ptr_nonnull(res);
    ck_assert_int_eq(gai, 0);
    ck_assert(has_addr(res, AF_INET, "192.0.2.7"));
    ck_assert_int_eq(res->ai_socktype, SOCK_STREAM);
    ck_assert_int_eq(first_port(res), 8443);
    freeaddrinfo(res);
}
END_TEST

START_TEST(numeric_v6)
{
    struct addrinfo *res = NULL;

    ck_assert_int_eq(sl_resolve("2001:db8::1", "443", 2000, &res, NULL), SL_OK);
    ck_assert(has_addr(res, AF_INET6, "2001:db8::1"));
    ck_assert_int_eq(first_port(res), 443);
    freeaddrinfo(res);
}
END_TEST

START_TEST(no_port)
{
    struct addrinfo *res = NULL;

    ck_assert_int_eq(sl_resolve("127.0.0.1", NULL, 2000, &res, NULL), SL_OK);
    ck_assert(has_addr(res, AF_INET, "127.0.0.1"));
    ck_assert_int_eq(first_port(res), 0);
    freeaddrinfo(res);
}
END_TEST

START_TEST(localhost)
{
    struct addrinfo *res = NULL;

    ck_assert_int_eq(sl_resolve("localhost", "80", 5000, &res, NULL), SL_OK);
    ck_assert(has_addr(res, AF_INET, "127.0.0.1") ||
              has_addr(res, AF_INET6, "::1"));
    freeaddrinfo(res);
}
END_TEST

START_TEST(unresolvable)
{
    struct addrinfo *res = (struct addrinfo *)1;
    int gai = 0;
    int rc = sl_resolve("nonexistent.invalid", "443", 10000, &res, &gai);

    /* .invalid never resolves (RFC 6761); a slow resolver may still run
     * past the deadline. */
    ck_assert(rc == SL_ENOTFOUND || rc == SL_ETIMEDOUT);
    ck_assert_ptr_null(res);
    if (rc == SL_ENOTFOUND)
        ck_assert_int_ne(gai, 0);
}
END_TEST

START_TEST(too_long)
{
    char host[SL_RESOLVE_HOST_MAX + 2];
    struct addrinfo *res = (struct addrinfo *)1;

    memset(host, 'a', sizeof(host) - 1);
    host[sizeof(host) - 1] = '\0';
    ck_assert_int_eq(sl_resolve(host, "80", 1000, &res, NULL), SL_EINVAL);
    ck_assert_ptr_null(res);
    ck_assert_int_eq(sl_resolve("localhost", "12345678901234567890123456789012",
                                1000, &res, NULL),
                     SL_EINVAL);
}
END_TEST

/* Whatever the resolver does, the caller waits no longer than asked (plus
 * a margin for a loaded machine). */
START_TEST(deadline_bound)
{
    struct addrinfo *res = NULL;
    int64_t t0 = sl_clock_mono_us(), waited_ms;
    int rc =
        sl_resolve("deadline-test.nonexistent.invalid", "443", 50, &res, NULL);

    waited_ms = (sl_clock_mono_us() - t0) / 1000;
    ck_assert(rc == SL_ENOTFOUND || rc == SL_ETIMEDOUT);
    ck_assert_ptr_null(res);
    ck_assert_int_lt(waited_ms, 50 + 500);
    /* A zero timeout checks once and never blocks. */
    t0 = sl_clock_mono_us();
    rc = sl_resolve("zero-timeout.nonexistent.invalid", "80", 0, &res, NULL);
    ck_assert(rc == SL_ENOTFOUND || rc == SL_ETIMEDOUT);
    ck_assert_int_lt((sl_clock_mono_us() - t0) / 1000, 500);
}
END_TEST

static Suite *
resolve_suite(void)
{
    Suite *s = suite_create("resolve");
    TCase *tc = tcase_create("core");

    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, numeric_v4);
    tcase_add_test(tc, numeric_v6);
    tcase_add_test(tc, no_port);
    tcase_add_test(tc, localhost);
    tcase_add_test(tc, unresolvable);
    tcase_add_test(tc, too_long);
    tcase_add_test(tc, deadline_bound);
    suite_add_tcase(s, tc);
    return s;
}

SL_TEST_MAIN(resolve_suite)
