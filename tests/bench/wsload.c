/*
 * wsload.c: the WebSocket load client of tests/bench/fanout.sh and
 * tests/bench/reaction.sh. Many sockets in one process, one epoll loop.
 *
 * Fan-out:
 *   wsload fanout HOST PORT N PIPELINE_FILE ORG RATE SECONDS NATS_URL
 *          (token TOKEN | ticket KEY_FILE) [HUB_PID]
 *   opens N subscribers to /ws/pipeline/{id}, spread over the pipeline
 *   ids of PIPELINE_FILE (one a line), through nginx (?token=) or straight
 *   to a hub (a ticket signed with KEY_FILE, as the API would); prints the
 *   hub's RSS per idle subscriber (VmRSS of HUB_PID before and after);
 *   then publishes RATE events a second for SECONDS on NATS, each for one
 *   pipeline in turn and stamped with the time, and prints the
 *   publish-to-receive latency's p50/p99 over every frame received.
 *
 * Reaction:
 *   wsload reaction HOST PORT TOKEN PIPELINE_ID RUNS
 *   subscribes to /ws/pipeline/{id} through nginx, then RUNS times: POST
 *   /api/v1/pipelines/{id}/execute, and the time until the socket shows
 *   the new run's first execution_update; waits for the run's end before
 *   the next. Prints p50/p95.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <nats/nats.h>

#include "clock.h"
#include "limits.h"
#include "ticket.h"

#define CONN_BUF 8192

struct conn {
    int fd;
    bool up; /* handshake done */
    size_t len;
    unsigned char buf[CONN_BUF];
};

static double
now_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static void
die(const char *what)
{
    perror(what);
    exit(1);
}

static int
dial(const char *host, int port, bool nonblock)
{
    struct sockaddr_in a;
    int fd = socket(AF_INET, SOCK_STREAM | (nonblock ? SOCK_NONBLOCK : 0), 0),
        one = 1;

    if (fd < 0)
        die("socket");
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    inet_pton(AF_INET, host, &a.sin_addr);
    if (connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0 &&
        errno != EINPROGRESS)
        die("connect");
    return fd;
}

static void
write_all(int fd, const void *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);

        if (w < 0 && (errno == EAGAIN || errno == EINTR)) {
            struct pollfd pfd = {fd, POLLOUT, 0};

            poll(&pfd, 1, 1000);
            continue;
        }
        if (w <= 0)
            die("write");
        p = (const char *)p + w;
        n -= (size_t)w;
    }
}

static long
vmrss_kb(int pid)
{
    char path[64], line[256];
    long kb = -1;
    FILE *f;

    snprintf(path, sizeof(path), "/proc/%d/status", pid);
    if ((f = fopen(path, "r")) == NULL)
        return -1;
    while (fgets(line, sizeof(line), f))
        if (sscanf(line, "VmRSS: %ld", &kb) == 1)
            break;
    fclose(f);
    return kb;
}

static int
cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

static double
pct(double *v, size_t n, double p)
{
    size_t i = (size_t)(p / 100.0 * (double)(n - 1) + 0.5);

    return n ? v[i] : 0;
}

/* Consumes whole frames of c's buffer; calls on_text for text ones.
 * Returns false when the peer closed. */
static bool
frames(struct conn *c, void (*on_text)(const char *, size_t, void *), void *arg)
{
    size_t off = 0;

    for (;;) {
        unsigned char *h = c->buf + off;
        size_t avail = c->len - off, hl = 2, len;

        if (avail < 2)
            break;
        len = h[1] & 0x7f;
        if (len == 126) {
            if (avail < 4)
                break;
            len = (size_t)h[2] << 8 | h[3];
            hl = 4;
        } else if (len == 127) {
            if (avail < 10)
                break;
            len = 0;
            for (int i = 0; i < 8; i++)
                len = len << 8 | h[2 + i];
            hl = 10;
        }
        if (hl + len > CONN_BUF) {
            fprintf(stderr, "wsload: a frame too large\n");
            exit(1);
        }
        if (avail < hl + len)
            break;
        switch (h[0] & 0x0f) {
        case 1:
            on_text((const char *)h + hl, len, arg);
            break;
        case 8:
            return false;
        case 9: { /* ping: answer with a masked pong */
            unsigned char pong[6 + 125] = {
                0x8a, (unsigned char)(0x80 | len), 0, 0, 0, 0};

            if (len <= 125) {
                memcpy(pong + 6, h + hl, len);
                write_all(c->fd, pong, 6 + len);
            }
            break;
        }
        default:
            break;
        }
        off += hl + len;
    }
    memmove(c->buf, c->buf + off, c->len - off);
    c->len -= off;
    return true;
}

/* --- fan-out ------------------------------------------------------------- */

struct fan {
    double *lat;
    size_t nlat, cap;
    long received;
};

static void
on_fan_text(const char *text, size_t len, void *arg)
{
    struct fan *f = arg;
    const char *p = memmem(text, len, "\"sent_us\":", 10);

    f->received++;
    if (p == NULL || f->nlat >= f->cap)
        return;
    f->lat[f->nlat++] = (now_us() - strtod(p + 10, NULL)) / 1000.0;
}

struct pub {
    const char *nats_url, *org;
    char **pids;
    int npids, rate, seconds;
    long sent;
};

static void *
publisher(void *arg)
{
    struct pub *p = arg;
    natsConnection *nc = NULL;
    char subject[256], body[512];
    double start, next;
    long total = (long)p->rate * p->seconds;

    if (natsConnection_ConnectTo(&nc, p->nats_url) != NATS_OK) {
        fprintf(stderr, "wsload: cannot connect to %s\n", p->nats_url);
        exit(1);
    }
    snprintf(subject, sizeof(subject), "sluice.event.%s.bench.tick", p->org);
    start = now_us();
    for (long i = 0; i < total; i++) {
        int n;

        next = start + (double)i * 1e6 / p->rate;
        while (now_us() < next)
            usleep(100);
        n = snprintf(body, sizeof(body),
                     "{\"event_id\":\"evt_bench%ld\",\"event_type\":"
                     "\"bench.tick\",\"timestamp\":\"2026-01-01T00:00:00Z\","
                     "\"organization_id\":\"%s\",\"data\":{\"pipeline_id\":"
                     "\"%s\",\"sent_us\":%.0f}}",
                     i, p->org, p->pids[i % p->npids], now_us());
        natsConnection_Publish(nc, subject, body, n);
        p->sent++;
    }
    natsConnection_Flush(nc);
    natsConnection_Destroy(nc);
    return NULL;
}

static char *
read_key(const char *path, size_t *n)
{
    static char key[256];
    FILE *f = fopen(path, "r");

    if (f == NULL)
        die(path);
    *n = fread(key, 1, sizeof(key) - 1, f);
    fclose(f);
    while (*n > 0 && (key[*n - 1] == '\n' || key[*n - 1] == '\r'))
        (*n)--;
    key[*n] = '\0';
    return key;
}

static void
handshake_request(int fd, const char *pid, const char *mode, const char *cred,
                  const char *org)
{
    char req[2048], hdr[SL_MAX_TICKET + 64] = "", query[1024] = "";

    if (strcmp(mode, "token") == 0) {
        snprintf(query, sizeof(query), "?token=%s", cred);
    } else {
        struct sl_ticket t;
        char text[SL_MAX_TICKET];
        size_t klen;
        const char *key = read_key(cred, &klen);

        memset(&t, 0, sizeof(t));
        snprintf(t.tenant, sizeof(t.tenant), "%s", org);
        snprintf(t.principal, sizeof(t.principal), "wsload");
        t.scope = SL_TICKET_PIPELINE;
        snprintf(t.target, sizeof(t.target), "%s", pid);
        t.exp = sl_clock_now() + 60;
        if (sl_ticket_sign(key, klen, &t, text, sizeof(text)) != 0) {
            fprintf(stderr, "wsload: cannot sign a ticket\n");
            exit(1);
        }
        snprintf(hdr, sizeof(hdr), "X-Sluice-Ticket: %s\r\n", text);
    }
    snprintf(req, sizeof(req),
             "GET /ws/pipeline/%s%s HTTP/1.1\r\nHost: localhost\r\n"
             "Upgrade: websocket\r\nConnection: Upgrade\r\n"
             "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
             "Sec-WebSocket-Version: 13\r\n%s\r\n",
             pid, query, hdr);
    write_all(fd, req, strlen(req));
}

/* Reads what arrived on c; completes its handshake. false: closed. */
static bool
conn_read(struct conn *c, void (*on_text)(const char *, size_t, void *),
          void *arg)
{
    for (;;) {
        ssize_t r = read(c->fd, c->buf + c->len, CONN_BUF - c->len);

        if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return true;
        if (r <= 0)
            return false;
        c->len += (size_t)r;
        if (!c->up) {
            unsigned char *end = memmem(c->buf, c->len, "\r\n\r\n", 4);

            if (end == NULL)
                continue;
            if (memcmp(c->buf, "HTTP/1.1 101", 12) != 0) {
                fprintf(stderr, "wsload: handshake refused: %.60s\n",
                        (char *)c->buf);
                exit(1);
            }
            c->up = true;
            end += 4;
            c->len -= (size_t)(end - c->buf);
            memmove(c->buf, end, c->len);
        }
        if (!frames(c, on_text, arg))
            return false;
    }
}

static int
fanout(int argc, char **argv)
{
    const char *host = argv[2], *mode = argv[10], *cred = argv[11];
    int port = atoi(argv[3]), n = atoi(argv[4]), hub_pid = 0, ep, up = 0,
        next = 0, closed = 0;
    struct pub pub = {.org = argv[6], .nats_url = argv[9]};
    struct fan fan = {0};
    struct conn *conns;
    struct epoll_event evs[256];
    char line[128];
    long before = 0, after = 0, expected;
    pthread_t th;
    double t0, t_end;
    FILE *f;

    if (argc > 12)
        hub_pid = atoi(argv[12]);
    pub.rate = atoi(argv[7]);
    pub.seconds = atoi(argv[8]);
    if ((f = fopen(argv[5], "r")) == NULL)
        die(argv[5]);
    pub.pids = calloc(100000, sizeof(char *));
    while (pub.npids < 100000 && fgets(line, sizeof(line), f)) {
        line[strcspn(line, "\r\n")] = '\0';
        if (line[0] != '\0')
            pub.pids[pub.npids++] = strdup(line);
    }
    fclose(f);
    if (pub.npids == 0 || n <= 0) {
        fprintf(stderr, "wsload: no pipelines or no subscribers\n");
        return 1;
    }
    conns = calloc((size_t)n, sizeof(*conns));
    if (hub_pid > 0)
        before = vmrss_kb(hub_pid);
    ep = epoll_create1(0);

    /* Connect, at most 256 handshakes in flight. */
    t0 = now_us();
    while (up < n) {
        while (next < n && next - up < 256) {
            struct conn *c = &conns[next];
            struct epoll_event e = {.events = EPOLLIN, .data.ptr = c};
            struct pollfd pfd;

            c->fd = dial(host, port, true);
            pfd.fd = c->fd;
            pfd.events = POLLOUT;
            poll(&pfd, 1, 5000);
            handshake_request(c->fd, pub.pids[next % pub.npids], mode, cred,
                              pub.org);
            epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &e);
            next++;
        }
        int k = epoll_wait(ep, evs, 256, 10000);

        if (k <= 0) {
            fprintf(stderr, "wsload: handshakes stalled at %d of %d\n", up, n);
            return 1;
        }
        for (int i = 0; i < k; i++) {
            struct conn *c = evs[i].data.ptr;
            bool was = c->up;

            if (!conn_read(c, on_fan_text, &fan)) {
                fprintf(stderr, "wsload: a subscriber was closed\n");
                return 1;
            }
            if (!was && c->up)
                up++;
        }
    }
    printf("connected: %d subscribers over %d pipelines in %.1f s\n", n,
           pub.npids < n ? pub.npids : n, (now_us() - t0) / 1e6);
    /* Idle: let the welcome and caught_up messages go out, then measure. */
    t_end = now_us() + 3e6;
    while (now_us() < t_end) {
        int k = epoll_wait(ep, evs, 256, 100);

        for (int i = 0; i < k; i++)
            conn_read(evs[i].data.ptr, on_fan_text, &fan);
    }
    if (hub_pid > 0) {
        after = vmrss_kb(hub_pid);
        printf("hub RSS: %ld kB before, %ld kB after: %.2f kB per idle "
               "subscriber\n",
               before, after, (double)(after - before) / n);
    }
    fflush(stdout);
    fan.received = 0;
    expected = (long)pub.rate * pub.seconds *
               (n / pub.npids + 0); /* pipelines have n/npids each */
    fan.cap = (size_t)expected + (size_t)n * 4 + 1024;
    fan.lat = malloc(fan.cap * sizeof(double));
    pthread_create(&th, NULL, publisher, &pub);
    t_end = now_us() + (pub.seconds + 3) * 1e6;
    while (now_us() < t_end) {
        int k = epoll_wait(ep, evs, 256, 100);

        for (int i = 0; i < k; i++)
            if (!conn_read(evs[i].data.ptr, on_fan_text, &fan)) {
                struct conn *c = evs[i].data.ptr;

                epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
                closed++;
            }
    }
    pthread_join(th, NULL);
    qsort(fan.lat, fan.nlat, sizeof(double), cmp_double);
    printf("published %ld events (%d/s for %d s); frames received %zu of "
           "%ld expected; subscribers closed %d\n",
           pub.sent, pub.rate, pub.seconds, fan.nlat, expected, closed);
    printf("latency ms: p50 %.2f  p99 %.2f  max %.2f\n",
           pct(fan.lat, fan.nlat, 50), pct(fan.lat, fan.nlat, 99),
           fan.nlat ? fan.lat[fan.nlat - 1] : 0.0);
    return 0;
}

/* --- reaction ------------------------------------------------------------ */

struct react {
    char seen[64][40]; /* run ids already seen */
    int nseen;
    bool got_new; /* a new run's first update arrived */
    char run[40];
    bool ended; /* that run's end arrived */
};

static void
on_react_text(const char *text, size_t len, void *arg)
{
    struct react *r = arg;
    const char *p = memmem(text, len, "\"run_id\":\"", 10), *st;

    if (memmem(text, len, "\"execution_update\"", 18) == NULL || p == NULL)
        return;
    p += 10;
    if (!r->got_new) {
        for (int i = 0; i < r->nseen; i++)
            if (strncmp(r->seen[i], p, 36) == 0)
                return;
        memcpy(r->run, p, 36);
        r->run[36] = '\0';
        memcpy(r->seen[r->nseen++ % 64], p, 36);
        r->got_new = true;
    }
    st = memmem(text, len, "\"status\":\"", 10);
    if (strncmp(p, r->run, 36) == 0 && st != NULL &&
        (strncmp(st + 10, "completed", 9) == 0 ||
         strncmp(st + 10, "failed", 6) == 0))
        r->ended = true;
}

static int
reaction(int argc, char **argv)
{
    const char *host = argv[2], *token = argv[4], *pid = argv[5];
    int port = atoi(argv[3]), runs = atoi(argv[6]), ws, http;
    struct conn c = {0};
    struct react r = {0};
    char req[4096], resp[8192];
    double *lat = calloc((size_t)runs, sizeof(double));

    (void)argc;
    ws = dial(host, port, false);
    snprintf(req, sizeof(req),
             "GET /ws/pipeline/%s?token=%s HTTP/1.1\r\nHost: localhost\r\n"
             "Upgrade: websocket\r\nConnection: Upgrade\r\n"
             "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
             "Sec-WebSocket-Version: 13\r\n\r\n",
             pid, token);
    write_all(ws, req, strlen(req));
    c.fd = ws;
    fcntl(ws, F_SETFL, O_NONBLOCK);
    http = dial(host, port, false);
    for (int i = 0; i < runs; i++) {
        double t0, deadline;
        size_t n;

        r.got_new = false;
        r.ended = false;
        n = (size_t)snprintf(req, sizeof(req),
                             "POST /api/v1/pipelines/%s/execute HTTP/1.1\r\n"
                             "Host: localhost\r\nAuthorization: Bearer %s\r\n"
                             "Content-Type: application/json\r\n"
                             "Content-Length: 2\r\n\r\n{}",
                             pid, token);
        t0 = now_us();
        write_all(http, req, n);
        deadline = t0 + 10e6;
        while (!r.got_new && now_us() < deadline) {
            struct pollfd pfd = {ws, POLLIN, 0};

            if (poll(&pfd, 1, 100) == 1 && !conn_read(&c, on_react_text, &r))
                return 1;
        }
        if (!r.got_new) {
            fprintf(stderr, "wsload: no update for run %d\n", i);
            return 1;
        }
        lat[i] = (now_us() - t0) / 1000.0;
        /* The POST's answer (it may come after the update). */
        n = 0;
        while (memmem(resp, n, "\r\n\r\n", 4) == NULL ||
               (memmem(resp, n, "}", 1) == NULL)) {
            ssize_t k = read(http, resp + n, sizeof(resp) - 1 - n);

            if (k <= 0)
                die("read");
            n += (size_t)k;
        }
        if (memcmp(resp, "HTTP/1.1 202", 12) != 0) {
            fprintf(stderr, "wsload: execute answered %.60s\n", resp);
            return 1;
        }
        deadline = now_us() + 30e6;
        while (!r.ended && now_us() < deadline) {
            struct pollfd pfd = {ws, POLLIN, 0};

            if (poll(&pfd, 1, 100) == 1 && !conn_read(&c, on_react_text, &r))
                return 1;
        }
    }
    qsort(lat, (size_t)runs, sizeof(double), cmp_double);
    printf("reaction over %d runs, ms: p50 %.2f  p95 %.2f  max %.2f\n", runs,
           pct(lat, (size_t)runs, 50), pct(lat, (size_t)runs, 95),
           lat[runs - 1]);
    return 0;
}

int
main(int argc, char **argv)
{
    if (argc >= 12 && strcmp(argv[1], "fanout") == 0)
        return fanout(argc, argv);
    if (argc >= 7 && strcmp(argv[1], "reaction") == 0)
        return reaction(argc, argv);
    fprintf(stderr, "usage: see the head of tests/bench/wsload.c\n");
    return 2;
}
