/*
 * webhook_sink.c: the delivery benchmark's helper (tests/bench/deliver.sh).
 *
 *   webhook_sink serve PORT SECRET OUTFILE
 *       A webhook receiver on 127.0.0.1:PORT: one epoll loop, answers
 *       every well-formed POST 200, verifies both signatures with SECRET,
 *       and writes one line per request to OUTFILE:
 *           <unix ms> <webhook-id> <event_id> <1 if both signatures verify>
 *       until SIGTERM. The count of requests so far is in OUTFILE.count.
 *   webhook_sink seal KEYFILE AAD PLAIN
 *       Prints PLAIN sealed as the API seals secrets (lib/secretbox.h).
 *   webhook_sink publish NATS_URL ORG N
 *       Publishes N pipeline.completed events of ORG on the events stream
 *       (JetStream, asynchronously, Nats-Msg-Id = the event id), as the
 *       API and the runner do after their commits.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <nats/nats.h>
#include <netinet/in.h>

#include "bus.h"
#include "secretbox.h"
#include "webhook.h"

#define MAX_REQ (128 * 1024)

struct conn {
    int fd;
    size_t len;
    char buf[MAX_REQ + 1];
};

static volatile sig_atomic_t stopping;

static void
on_term(int sig)
{
    (void)sig;
    stopping = 1;
}

static void
header(const char *head, const char *name, char *out, size_t outsz)
{
    size_t nl = strlen(name);
    const char *p = head;

    out[0] = '\0';
    while ((p = strchr(p, '\n')) != NULL) {
        p++;
        if (strncasecmp(p, name, nl) == 0 && p[nl] == ':') {
            const char *v = p + nl + 1;
            size_t n;

            while (*v == ' ')
                v++;
            n = strcspn(v, "\r\n");
            if (n >= outsz)
                n = outsz - 1;
            memcpy(out, v, n);
            out[n] = '\0';
            return;
        }
    }
}

/* Handles c's request if it is whole; returns 1 when done with c. */
static int
handle(struct conn *c, const char *secret, FILE *out, long *count)
{
    char *end = strstr(c->buf, "\r\n\r\n"), cl[32], id[128], ts[32], std[512],
         hex[128], want[SL_WEBHOOK_HEX_SIG_SIZE], eid[128] = "-";
    const char *body, *e;
    size_t blen;
    int ok;
    static const char answer[] = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n"
                                 "Connection: close\r\n\r\n";

    if (end == NULL)
        return c->len >= MAX_REQ;
    *end = '\0';
    header(c->buf, "Content-Length", cl, sizeof(cl));
    body = end + 4;
    blen = (size_t)atol(cl);
    if ((size_t)(body - c->buf) + blen > c->len) {
        *end = '\r';
        return 0;
    }
    header(c->buf, "webhook-id", id, sizeof(id));
    header(c->buf, "webhook-timestamp", ts, sizeof(ts));
    header(c->buf, "webhook-signature", std, sizeof(std));
    header(c->buf, "X-Webhook-Signature", hex, sizeof(hex));
    ok = sl_webhook_sign_hex(secret, body, blen, want) == 0 &&
         strcmp(want, hex) == 0 &&
         sl_webhook_verify_std(secret, std, id, atoll(ts), body, blen);
    /* "event_id": "...", however the JSON is spaced. */
    e = strstr(body, "\"event_id\"");
    if (e != NULL) {
        size_t n;

        e += 10;
        while (*e == ' ' || *e == ':')
            e++;
        if (*e == '"') {
            n = strcspn(e + 1, "\"");
            if (n < sizeof(eid)) {
                memcpy(eid, e + 1, n);
                eid[n] = '\0';
            }
        }
    }
    {
        struct timespec now;

        clock_gettime(CLOCK_REALTIME, &now);
        fprintf(out, "%lld %s %s %d\n",
                (long long)now.tv_sec * 1000 + now.tv_nsec / 1000000,
                id[0] ? id : "-", eid, ok);
    }
    (*count)++;
    if (send(c->fd, answer, sizeof(answer) - 1, MSG_NOSIGNAL) < 0) {
        /* the hub went away */
    }
    return 1;
}

static int
serve(int port, const char *secret, const char *path)
{
    struct sockaddr_in a = {.sin_family = AF_INET};
    struct epoll_event ev, evs[256];
    int lfd, ep, one = 1;
    long count = 0, written = -1;
    char cpath[4096];
    FILE *out = fopen(path, "w");

    if (out == NULL)
        return 1;
    snprintf(cpath, sizeof(cpath), "%s.count", path);
    signal(SIGTERM, on_term);
    signal(SIGINT, on_term);
    lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons((uint16_t)port);
    if (bind(lfd, (struct sockaddr *)&a, sizeof(a)) != 0 ||
        listen(lfd, 1024) != 0) {
        perror("bind");
        return 1;
    }
    ep = epoll_create1(0);
    ev.events = EPOLLIN;
    ev.data.ptr = NULL;
    epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
    while (!stopping) {
        int n = epoll_wait(ep, evs, 256, 200);

        for (int i = 0; i < n; i++) {
            struct conn *c = evs[i].data.ptr;

            if (c == NULL) {
                int fd;

                while ((fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
                    c = calloc(1, sizeof(*c));
                    c->fd = fd;
                    ev.events = EPOLLIN;
                    ev.data.ptr = c;
                    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
                }
                continue;
            }
            for (;;) {
                ssize_t r = recv(c->fd, c->buf + c->len, MAX_REQ - c->len, 0);

                if (r > 0) {
                    c->len += (size_t)r;
                    c->buf[c->len] = '\0';
                    continue;
                }
                if (r < 0 && errno == EAGAIN) {
                    if (!handle(c, secret, out, &count))
                        break;
                }
                close(c->fd);
                free(c);
                break;
            }
        }
        if (count != written) {
            FILE *f = fopen(cpath, "w");

            fflush(out);
            if (f != NULL) {
                fprintf(f, "%ld\n", count);
                fclose(f);
            }
            written = count;
        }
    }
    fclose(out);
    return 0;
}

static int
seal(const char *keyfile, const char *aad, const char *plain)
{
    unsigned char key[SL_SECRETBOX_KEY_LEN];
    char text[256] = "", *out = NULL;
    FILE *f = fopen(keyfile, "r");

    if (f == NULL || fgets(text, sizeof(text), f) == NULL)
        return 1;
    fclose(f);
    if (sl_secretbox_key_parse(text, key) != 0 ||
        sl_secretbox_seal(key, aad, plain, strlen(plain), &out) != 0)
        return 1;
    printf("%s\n", out);
    free(out);
    return 0;
}

static int
publish(const char *url, const char *org, long n)
{
    natsConnection *nc = NULL;
    jsCtx *js = NULL;
    jsOptions o;
    char subject[256], body[1024], id[64];
    natsStatus s;

    s = natsConnection_ConnectTo(&nc, url);
    jsOptions_Init(&o);
    o.PublishAsync.MaxPending = 4096;
    /* A busy machine: wait for acknowledgements rather than give up. */
    o.PublishAsync.StallWait = 30000;
    if (s == NATS_OK)
        s = natsConnection_JetStream(&js, nc, &o);
    snprintf(subject, sizeof(subject), "%s%s.pipeline.completed",
             SL_SUBJ_EVENT_PREFIX, org);
    for (long i = 0; s == NATS_OK && i < n; i++) {
        jsPubOptions po;

        snprintf(id, sizeof(id), "evt_bench_%ld_%ld", (long)getpid(), i);
        snprintf(body, sizeof(body),
                 "{\"event_id\":\"%s\",\"event_type\":\"pipeline.completed\","
                 "\"timestamp\":\"2026-01-01T00:00:00Z\","
                 "\"organization_id\":\"%s\",\"data\":{\"run_id\":\"r%ld\","
                 "\"status\":\"completed\",\"records_processed\":%ld}}",
                 id, org, i, i);
        jsPubOptions_Init(&po);
        po.MsgId = id;
        s = js_PublishAsync(js, subject, body, (int)strlen(body), &po);
    }
    if (s == NATS_OK) {
        jsPubOptions po;

        jsPubOptions_Init(&po);
        po.MaxWait = 60000;
        s = js_PublishAsyncComplete(js, &po);
    }
    jsCtx_Destroy(js);
    natsConnection_Destroy(nc);
    if (s != NATS_OK) {
        fprintf(stderr, "publish: %s\n", natsStatus_GetText(s));
        return 1;
    }
    return 0;
}

int
main(int argc, char **argv)
{
    if (argc == 5 && strcmp(argv[1], "serve") == 0)
        return serve(atoi(argv[2]), argv[3], argv[4]);
    if (argc == 5 && strcmp(argv[1], "seal") == 0)
        return seal(argv[2], argv[3], argv[4]);
    if (argc == 5 && strcmp(argv[1], "publish") == 0)
        return publish(argv[2], argv[3], atol(argv[4]));
    fprintf(stderr, "usage: webhook_sink serve PORT SECRET OUTFILE | seal "
                    "KEYFILE AAD PLAIN | publish NATS_URL ORG N\n");
    return 2;
}
