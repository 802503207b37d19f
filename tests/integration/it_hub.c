/*
 * it_hub.c: a WebSocket client reaches sluice-hub through nginx's /ws/,
 * is greeted, and gets an answer to its ping; an oversized message is
 * refused with a close.
 */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "it.h"
#include "unit.h"

/* Reads exactly n bytes, or fails the test after a timeout. */
static void
read_exact(int fd, unsigned char *buf, size_t n)
{
    size_t got = 0;

    while (got < n) {
        struct pollfd pfd = {fd, POLLIN, 0};
        ssize_t r;

        ck_assert_msg(poll(&pfd, 1, 10000) == 1, "no data from the hub");
        r = read(fd, buf + got, n - got);
        ck_assert_msg(r > 0, "the hub closed the connection");
        got += (size_t)r;
    }
}

/* Reads one server frame; returns the opcode, payload in buf (NUL). */
static int
read_frame(int fd, char *buf, size_t bufsz)
{
    unsigned char h[2], ext[8];
    size_t len;

    read_exact(fd, h, 2);
    ck_assert_msg((h[1] & 0x80) == 0, "server frames are not masked");
    len = h[1] & 0x7f;
    if (len == 126) {
        read_exact(fd, ext, 2);
        len = (size_t)ext[0] << 8 | ext[1];
    } else if (len == 127) {
        ck_abort_msg("unexpectedly large frame");
    }
    ck_assert_uint_lt(len, bufsz);
    read_exact(fd, (unsigned char *)buf, len);
    buf[len] = '\0';
    return h[0] & 0x0f;
}

/* Sends one masked text frame of n bytes (n < 65536). */
static void
send_text(int fd, const char *text, size_t n)
{
    unsigned char *f = malloc(n + 8), mask[4] = {0x12, 0x34, 0x56, 0x78};
    size_t k = 0;

    f[k++] = 0x81;
    if (n < 126) {
        f[k++] = (unsigned char)(0x80 | n);
    } else {
        f[k++] = 0x80 | 126;
        f[k++] = (unsigned char)(n >> 8);
        f[k++] = (unsigned char)n;
    }
    memcpy(f + k, mask, 4);
    k += 4;
    for (size_t i = 0; i < n; i++)
        f[k++] = (unsigned char)text[i] ^ mask[i % 4];
    ck_assert_int_eq(write(fd, f, k), (ssize_t)k);
    free(f);
}

/* Opens a WebSocket through nginx; returns the socket after the 101. */
static int
ws_open(struct it_client *c)
{
    static const char req[] =
        "GET /ws/live HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\n"
        "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
        "Sec-WebSocket-Version: 13\r\n\r\n";
    char head[2048];
    size_t n = 0;
    int fd = it_socket(c);

    ck_assert_int_eq(write(fd, req, sizeof(req) - 1), (ssize_t)sizeof(req) - 1);
    /* Read the response head byte by byte: frames may follow at once. */
    while (n < sizeof(head) - 1) {
        read_exact(fd, (unsigned char *)head + n, 1);
        n++;
        if (n >= 4 && memcmp(head + n - 4, "\r\n\r\n", 4) == 0)
            break;
    }
    head[n] = '\0';
    ck_assert_msg(strncmp(head, "HTTP/1.1 101", 12) == 0, "%s", head);
    /* RFC 6455's example key and its accept value. */
    ck_assert_ptr_nonnull(strstr(head, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="));
    return fd;
}

START_TEST(welcome_and_pong_through_nginx)
{
    struct it_client c;
    char buf[4096];
    json_t *j;
    int fd;

    it_client_init(&c);
    fd = ws_open(&c);
    ck_assert_int_eq(read_frame(fd, buf, sizeof(buf)), 1);
    j = json_loads(buf, 0, NULL);
    ck_assert_ptr_nonnull(j);
    ck_assert_str_eq(json_string_value(json_object_get(j, "type")), "welcome");
    json_decref(j);

    send_text(fd, "{\"type\":\"ping\"}", 15);
    ck_assert_int_eq(read_frame(fd, buf, sizeof(buf)), 1);
    j = json_loads(buf, 0, NULL);
    ck_assert_str_eq(json_string_value(json_object_get(j, "type")), "pong");
    json_decref(j);
    close(fd);
}
END_TEST

START_TEST(oversized_message_is_refused)
{
    struct it_client c;
    char buf[4096], *big = malloc(6000);
    int fd, op;

    it_client_init(&c);
    fd = ws_open(&c);
    read_frame(fd, buf, sizeof(buf));
    memset(big, 'x', 6000);
    send_text(fd, big, 6000);
    /* A close frame (opcode 8) with status 1009, message too big. */
    op = read_frame(fd, buf, sizeof(buf));
    ck_assert_int_eq(op, 8);
    ck_assert_int_eq(((unsigned char)buf[0] << 8) | (unsigned char)buf[1],
                     1009);
    free(big);
    close(fd);
}
END_TEST

static Suite *
hub_suite(void)
{
    Suite *s = suite_create("it_hub");
    TCase *tc = tcase_create("hub");

    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, welcome_and_pong_through_nginx);
    tcase_add_test(tc, oversized_message_is_refused);
    suite_add_tcase(s, tc);
    return s;
}

SL_TEST_MAIN(hub_suite)
