/*
 * wsclient.c: the integration tests' WebSocket client (wsclient.h).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "limits.h"
#include "ticket.h"
#include "unit.h"
#include "wsclient.h"

static double
now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000.0 + ts.tv_nsec / 1e6;
}

/* Reads n bytes by deadline; false on timeout or end of stream. */
static bool
read_full(int fd, void *buf, size_t n, double deadline, bool *eof)
{
    size_t got = 0;

    *eof = false;
    while (got < n) {
        struct pollfd p = {fd, POLLIN, 0};
        int left = (int)(deadline - now_ms());
        ssize_t r;

        if (left < 0 || poll(&p, 1, left) != 1)
            return false;
        r = read(fd, (char *)buf + got, n - got);
        if (r <= 0) {
            *eof = true;
            return false;
        }
        got += (size_t)r;
    }
    return true;
}

static int
handshake(int fd, const char *target, const char *headers, int *status,
          char **resp)
{
    char req[8192], head[16384];
    size_t n = 0;
    bool eof;
    double deadline = now_ms() + 10000;
    int st = 0;

    snprintf(req, sizeof(req),
             "GET %s HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\n"
             "Connection: Upgrade\r\n"
             "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
             "Sec-WebSocket-Version: 13\r\n%s\r\n",
             target, headers ? headers : "");
    ck_assert_int_eq(write(fd, req, strlen(req)), (ssize_t)strlen(req));
    /* The head byte by byte: frames may follow at once. */
    while (n < sizeof(head) - 1) {
        if (!read_full(fd, head + n, 1, deadline, &eof))
            break;
        n++;
        if (n >= 4 && memcmp(head + n - 4, "\r\n\r\n", 4) == 0)
            break;
    }
    head[n] = '\0';
    sscanf(head, "HTTP/1.1 %d", &st);
    if (status != NULL)
        *status = st;
    if (st == 101) {
        ck_assert_ptr_nonnull(strstr(head, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="));
        return fd;
    }
    if (resp != NULL) {
        /* The body, if any: what arrives within a moment. */
        const char *cl = strcasestr(head, "Content-Length:");
        size_t blen = cl ? (size_t)atol(cl + 15) : 0;

        if (blen > sizeof(head) - 1 - n)
            blen = sizeof(head) - 1 - n;
        read_full(fd, head + n, blen, now_ms() + 5000, &eof);
        head[n + blen] = '\0';
        *resp = strdup(head);
    }
    close(fd);
    return -1;
}

int
ws_open_nginx(struct it_client *c, const char *target, const char *headers,
              int *status, char **resp)
{
    return handshake(it_socket(c), target, headers, status, resp);
}

int
ws_open_direct(int port, const char *target, const char *headers, int *status,
               char **resp)
{
    struct sockaddr_in a;
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ck_assert_int_eq(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    return handshake(fd, target, headers, status, resp);
}

static void
send_frame(int fd, int op, const char *data, size_t n)
{
    unsigned char *f = malloc(n + 14), mask[4] = {0x12, 0x34, 0x56, 0x78};
    size_t k = 0;

    f[k++] = (unsigned char)(0x80 | op);
    if (n < 126) {
        f[k++] = (unsigned char)(0x80 | n);
    } else if (n < 65536) {
        f[k++] = 0x80 | 126;
        f[k++] = (unsigned char)(n >> 8);
        f[k++] = (unsigned char)n;
    } else {
        f[k++] = 0x80 | 127;
        for (int i = 7; i >= 0; i--)
            f[k++] = (unsigned char)((uint64_t)n >> (8 * i));
    }
    memcpy(f + k, mask, 4);
    k += 4;
    for (size_t i = 0; i < n; i++)
        f[k++] = (unsigned char)data[i] ^ mask[i % 4];
    ck_assert_int_eq(write(fd, f, k), (ssize_t)k);
    free(f);
}

void
ws_send(int fd, const char *text, size_t n)
{
    send_frame(fd, WS_TEXT, text, n);
}

void
ws_read(int fd, int timeout_ms, struct ws_frame *f)
{
    double deadline = now_ms() + timeout_ms;
    unsigned char h[2], ext[8];
    uint64_t len;
    bool eof;

    memset(f, 0, sizeof(*f));
    for (;;) {
        if (!read_full(fd, h, 2, deadline, &eof)) {
            f->op = eof ? -2 : -1;
            return;
        }
        ck_assert_msg((h[1] & 0x80) == 0, "server frames are not masked");
        len = h[1] & 0x7f;
        if (len == 126) {
            ck_assert(read_full(fd, ext, 2, deadline + 5000, &eof));
            len = (uint64_t)ext[0] << 8 | ext[1];
        } else if (len == 127) {
            ck_assert(read_full(fd, ext, 8, deadline + 5000, &eof));
            len = 0;
            for (int i = 0; i < 8; i++)
                len = len << 8 | ext[i];
        }
        ck_assert_msg(len < 64 * 1024 * 1024, "a frame too large");
        f->data = malloc(len + 1);
        ck_assert(len == 0 ||
                  read_full(fd, f->data, len, deadline + 10000, &eof));
        f->data[len] = '\0';
        f->len = len;
        f->op = h[0] & 0x0f;
        if (f->op == WS_PING) {
            send_frame(fd, 0xA, f->data, len);
            free(f->data);
            f->data = NULL;
            continue;
        }
        if (f->op == WS_CLOSE && len >= 2) {
            f->code =
                (unsigned char)f->data[0] << 8 | (unsigned char)f->data[1];
            f->reason = f->data + 2;
        }
        return;
    }
}

void
ws_frame_free(struct ws_frame *f)
{
    free(f->data);
    f->data = NULL;
}

json_t *
ws_next(int fd, int timeout_ms, struct ws_frame *closed)
{
    double deadline = now_ms() + timeout_ms;

    for (;;) {
        struct ws_frame f;
        json_t *j;
        int left = (int)(deadline - now_ms());

        ws_read(fd, left > 0 ? left : 0, &f);
        if (f.op == WS_TEXT) {
            j = json_loadb(f.data, f.len, 0, NULL);
            ws_frame_free(&f);
            ck_assert_msg(j != NULL, "a text message that is not JSON");
            return j;
        }
        if (f.op < 0 || f.op == WS_CLOSE) {
            if (closed != NULL)
                *closed = f;
            else
                ws_frame_free(&f);
            return NULL;
        }
        ws_frame_free(&f);
    }
}

char *
ws_ticket(const char *tenant, const char *scope, const char *target, int ttl)
{
    char path[512], key[256], text[SL_MAX_TICKET];
    struct sl_ticket t;
    FILE *fp;
    size_t n;

    snprintf(path, sizeof(path), "%s/secrets/hub_ticket_key",
             it_env("SLUICE_TEST_VAR"));
    fp = fopen(path, "r");
    ck_assert_ptr_nonnull(fp);
    n = fread(key, 1, sizeof(key) - 1, fp);
    fclose(fp);
    while (n > 0 && (key[n - 1] == '\n' || key[n - 1] == '\r'))
        n--;
    key[n] = '\0';
    memset(&t, 0, sizeof(t));
    snprintf(t.tenant, sizeof(t.tenant), "%s", tenant);
    snprintf(t.principal, sizeof(t.principal), "test");
    t.scope = strcmp(scope, "pipeline") == 0 ? SL_TICKET_PIPELINE
              : strcmp(scope, "run") == 0    ? SL_TICKET_RUN
                                             : SL_TICKET_EVENTS;
    snprintf(t.target, sizeof(t.target), "%s", target ? target : "");
    t.exp = sl_clock_now() + ttl;
    ck_assert_int_eq(sl_ticket_sign(key, n, &t, text, sizeof(text)), 0);
    return strdup(text);
}
