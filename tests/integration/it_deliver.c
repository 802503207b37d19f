/*
 * it_deliver.c: webhooks and alerts as their receivers see them.
 *
 * The test runs its own HTTP receiver on a loopback port (a thread),
 * which records every request (path, headers, body) and answers as the
 * test tells it: 200, 500, 410, a 302, or nothing at all. Webhooks,
 * channels and alert rules are made as the database's owner, their
 * secrets sealed with the stack's secret_key as the API seals them
 * (bound to "<organisation>/<id>"); events come from real runs or from
 * outbox rows, which the runner's relay publishes on the events stream.
 *
 * Scenarios: a run's completion reaches two webhooks, one per family of
 * names, with both signatures valid (and both Standard Webhooks
 * signatures while a rotated secret overlaps); a receiver answering 500
 * gets the same delivery again 5 s later and takes it; a 429's
 * Retry-After puts the next attempt an hour away; the last failed
 * attempt writes webhook.delivery.exhausted, which reaches a webhook
 * that subscribed to it but never the endpoint that exhausted; a hub SIGKILLed
 * while a receiver holds the request delivers after its restart under
 * the same webhook-id; NATS restarted, the hubs' durable consumer
 * resumes and an event written meanwhile arrives; 410 disables the webhook and
 * fails what was pending for it; a 302 is a failure and is not followed; an
 * https receiver whose certificate is not trusted is never sent the body; an
 * alert rule renders its template with the run's fields, for a webhook
 * channel and in Slack's body for a Slack channel, and a rule whose
 * filter does not match sends nothing; a loopback receiver is refused
 * at send time once the hub runs with webhook_allow_private off; two
 * hubs share due rows, each sent once.
 *
 * Waits are on the receiver (a condition variable) or on the database
 * (it_await_sql), each bounded.
 */
#include "config.h"

#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/prctl.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>
#include <fcntl.h>

#include <arpa/inet.h>
#include <libpq-fe.h>
#include <openssl/ssl.h>

#include "it.h"
#include "secretbox.h"
#include "unit.h"
#include "uuid.h"
#include "webhook.h"

/* --- the receiver -----------------------------------------------------------
 */

enum rx_mode {
    RX_OK,
    RX_500,
    RX_410,
    RX_302,
    RX_HANG,
    RX_429,
    RX_HEAD_ONLY, /* 200 and its headers, then a body that never ends */
};

#define RX_MAX 64

struct rx_req {
    char path[256];
    char id[128];
    char ts[32];
    char std_sig[512];
    char hex_sig[128];
    char agent[128];
    char ctype[128];
    char *body;
    size_t body_len;
};

struct rx {
    int lfd;
    int port;
    pthread_t thr;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    atomic_int mode;
    atomic_bool stop;
    struct rx_req reqs[RX_MAX];
    int n;
    int hung[RX_MAX];
    int nhung;
    SSL_CTX *tls; /* an https receiver when set */
};

static void
header_copy(const char *head, const char *name, char *out, size_t outsz)
{
    size_t nl = strlen(name);
    const char *p = head;

    out[0] = '\0';
    while ((p = strchr(p, '\n')) != NULL) {
        p++;
        if (strncasecmp(p, name, nl) == 0 && p[nl] == ':') {
            const char *v = p + nl + 1, *end = strstr(v, "\r\n");
            size_t n;

            while (*v == ' ')
                v++;
            n = end == NULL ? strlen(v) : (size_t)(end - v);
            if (n >= outsz)
                n = outsz - 1;
            memcpy(out, v, n);
            out[n] = '\0';
            return;
        }
    }
}

/* Reads one request from fd and records it; false if none came whole. */
static ssize_t
rx_recv(int fd, SSL *ssl, char *buf, size_t n)
{
    return ssl != NULL ? SSL_read(ssl, buf, (int)n) : recv(fd, buf, n, 0);
}

static bool
rx_read(struct rx *rx, int fd, SSL *ssl)
{
    char buf[70000], cl[32];
    size_t len = 0, need;
    char *end = NULL;
    struct rx_req q;

    memset(&q, 0, sizeof(q));
    while (end == NULL) {
        ssize_t r = rx_recv(fd, ssl, buf + len, sizeof(buf) - 1 - len);

        if (r <= 0)
            return false;
        len += (size_t)r;
        buf[len] = '\0';
        end = strstr(buf, "\r\n\r\n");
        if (end == NULL && len >= sizeof(buf) - 1)
            return false;
    }
    *end = '\0';
    header_copy(buf, "Content-Length", cl, sizeof(cl));
    need = (size_t)(end + 4 - buf) + (size_t)atol(cl);
    if (need >= sizeof(buf))
        return false;
    while (len < need) {
        ssize_t r = rx_recv(fd, ssl, buf + len, need - len);

        if (r <= 0)
            return false;
        len += (size_t)r;
    }
    sscanf(buf, "POST %255s ", q.path);
    header_copy(buf, "webhook-id", q.id, sizeof(q.id));
    header_copy(buf, "webhook-timestamp", q.ts, sizeof(q.ts));
    header_copy(buf, "webhook-signature", q.std_sig, sizeof(q.std_sig));
    header_copy(buf, "X-Webhook-Signature", q.hex_sig, sizeof(q.hex_sig));
    header_copy(buf, "User-Agent", q.agent, sizeof(q.agent));
    header_copy(buf, "Content-Type", q.ctype, sizeof(q.ctype));
    q.body_len = (size_t)atol(cl);
    q.body = strndup(end + 4, q.body_len);
    pthread_mutex_lock(&rx->mu);
    if (rx->n < RX_MAX)
        rx->reqs[rx->n++] = q;
    else
        free(q.body);
    pthread_cond_broadcast(&rx->cv);
    pthread_mutex_unlock(&rx->mu);
    return true;
}

static void *
rx_main(void *arg)
{
    struct rx *rx = arg;

    while (!atomic_load(&rx->stop)) {
        struct pollfd p = {.fd = rx->lfd, .events = POLLIN};
        struct timeval tv = {5, 0};
        const char *answer = NULL;
        char moved[256];
        SSL *ssl = NULL;
        int fd;

        if (poll(&p, 1, 100) <= 0)
            continue;
        fd = accept(rx->lfd, NULL, NULL);
        if (fd < 0)
            continue;
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
        if (rx->tls != NULL) {
            ssl = SSL_new(rx->tls);
            SSL_set_fd(ssl, fd);
            if (SSL_accept(ssl) != 1) {
                /* The hub did not trust us: it sends nothing. */
                SSL_free(ssl);
                close(fd);
                continue;
            }
        }
        if (!rx_read(rx, fd, ssl)) {
            SSL_free(ssl);
            close(fd);
            continue;
        }
        switch (atomic_load(&rx->mode)) {
        case RX_OK:
            answer = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
            break;
        case RX_500:
            answer = "HTTP/1.1 500 Internal Server Error\r\n"
                     "Content-Length: 4\r\n\r\noops";
            break;
        case RX_410:
            answer = "HTTP/1.1 410 Gone\r\nContent-Length: 0\r\n\r\n";
            break;
        case RX_429:
            answer = "HTTP/1.1 429 Too Many Requests\r\nRetry-After: 3600"
                     "\r\nContent-Length: 0\r\n\r\n";
            break;
        case RX_302:
            snprintf(moved, sizeof(moved),
                     "HTTP/1.1 302 Found\r\nLocation: "
                     "http://127.0.0.1:%d/elsewhere\r\n"
                     "Content-Length: 0\r\n\r\n",
                     rx->port);
            answer = moved;
            break;
        case RX_HEAD_ONLY:
            answer = "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npart";
            if (send(fd, answer, strlen(answer), MSG_NOSIGNAL) < 0) {
                /* the hub went away: nothing to do */
            }
            /* fall through: the rest of the body never comes */
        case RX_HANG:
            /* Holds the request: no answer, and the socket stays open. */
            pthread_mutex_lock(&rx->mu);
            if (rx->nhung < RX_MAX)
                rx->hung[rx->nhung++] = fd;
            pthread_mutex_unlock(&rx->mu);
            continue;
        }
        if (ssl != NULL) {
            SSL_write(ssl, answer, (int)strlen(answer));
            SSL_shutdown(ssl);
            SSL_free(ssl);
        } else if (send(fd, answer, strlen(answer), MSG_NOSIGNAL) < 0) {
            /* the hub went away: nothing to do */
        }
        close(fd);
    }
    return NULL;
}

static void
rx_start(struct rx *rx, enum rx_mode mode)
{
    struct sockaddr_in a = {.sin_family = AF_INET};
    socklen_t alen = sizeof(a);
    int one = 1;

    memset(rx, 0, sizeof(*rx));
    pthread_mutex_init(&rx->mu, NULL);
    pthread_cond_init(&rx->cv, NULL);
    atomic_store(&rx->mode, mode);
    rx->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ck_assert_int_ge(rx->lfd, 0);
    setsockopt(rx->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ck_assert_int_eq(bind(rx->lfd, (struct sockaddr *)&a, sizeof(a)), 0);
    ck_assert_int_eq(listen(rx->lfd, 128), 0);
    getsockname(rx->lfd, (struct sockaddr *)&a, &alen);
    rx->port = ntohs(a.sin_port);
    ck_assert_int_eq(pthread_create(&rx->thr, NULL, rx_main, rx), 0);
}

/* An https receiver, with the certificate dir/srv.pem and its key. */
static void
rx_start_tls(struct rx *rx, const char *dir)
{
    char cert[512], key[512];
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());

    snprintf(cert, sizeof(cert), "%s/srv.pem", dir);
    snprintf(key, sizeof(key), "%s/srv.key", dir);
    ck_assert_ptr_nonnull(ctx);
    ck_assert_int_eq(SSL_CTX_use_certificate_file(ctx, cert, SSL_FILETYPE_PEM),
                     1);
    ck_assert_int_eq(SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM),
                     1);
    rx_start(rx, RX_OK);
    rx->tls = ctx; /* before the first connection can come */
}

static void
rx_stop(struct rx *rx)
{
    atomic_store(&rx->stop, true);
    pthread_join(rx->thr, NULL);
    close(rx->lfd);
    for (int i = 0; i < rx->nhung; i++)
        close(rx->hung[i]);
    for (int i = 0; i < rx->n; i++)
        free(rx->reqs[i].body);
    SSL_CTX_free(rx->tls);
}

/* Answers 200 to every request the receiver holds; mode first, so that
 * what comes after is answered at once. */
static void
rx_release(struct rx *rx, enum rx_mode mode)
{
    static const char ok[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";

    atomic_store(&rx->mode, mode);
    pthread_mutex_lock(&rx->mu);
    for (int i = 0; i < rx->nhung; i++) {
        if (send(rx->hung[i], ok, sizeof(ok) - 1, MSG_NOSIGNAL) < 0) {
            /* the hub went away: its lease brings the row back */
        }
        close(rx->hung[i]);
    }
    rx->nhung = 0;
    pthread_mutex_unlock(&rx->mu);
}

/* Waits up to limit seconds until the receiver has n requests. */
static void
rx_wait(struct rx *rx, int n, double limit)
{
    struct timespec until;
    double end = it_now() + limit;

    pthread_mutex_lock(&rx->mu);
    while (rx->n < n) {
        double left = end - it_now();

        if (left <= 0) {
            int got = rx->n;

            pthread_mutex_unlock(&rx->mu);
            ck_abort_msg("the receiver got %d requests in %.0f s, not %d", got,
                         limit, n);
        }
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += (time_t)left;
        until.tv_nsec += (long)((left - (double)(long)left) * 1e9);
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&rx->cv, &rx->mu, &until);
    }
    pthread_mutex_unlock(&rx->mu);
}

static int
rx_count(struct rx *rx)
{
    int n;

    pthread_mutex_lock(&rx->mu);
    n = rx->n;
    pthread_mutex_unlock(&rx->mu);
    return n;
}

/* Asserts that request q is signed with secret, both ways. */
static void
assert_signed(const struct rx_req *q, const char *secret)
{
    char hex[SL_WEBHOOK_HEX_SIG_SIZE];

    ck_assert_str_eq(q->ctype, "application/json");
    ck_assert_msg(strncmp(q->agent, "sluice-hub/", 11) == 0, "%s", q->agent);
    ck_assert_msg(strncmp(q->id, "msg_", 4) == 0, "webhook-id %s", q->id);
    ck_assert_msg(llabs(atoll(q->ts) - (long long)time(NULL)) < 120,
                  "webhook-timestamp %s", q->ts);
    ck_assert_int_eq(sl_webhook_sign_hex(secret, q->body, q->body_len, hex), 0);
    ck_assert_str_eq(q->hex_sig, hex);
    ck_assert_msg(sl_webhook_verify_std(secret, q->std_sig, q->id, atoll(q->ts),
                                        q->body, q->body_len),
                  "webhook-signature %s does not verify", q->std_sig);
}

/* --- rows made as the owner -------------------------------------------------
 */

/* Runs sql with n parameters as the owner; the first value, malloc'd. */
static char *
owner_q(const char *sql, int n, const char *const *p)
{
    PGconn *conn = PQconnectdb(it_env("SLUICE_TEST_OWNER_DB_URL"));
    PGresult *res;
    char *out;

    ck_assert_msg(PQstatus(conn) == CONNECTION_OK, "%s", PQerrorMessage(conn));
    res = PQexecParams(conn, sql, n, NULL, p, NULL, NULL, 0);
    ck_assert_msg(PQresultStatus(res) == PGRES_TUPLES_OK ||
                      PQresultStatus(res) == PGRES_COMMAND_OK,
                  "%s: %s", sql, PQresultErrorMessage(res));
    out = strdup(
        PQntuples(res) > 0 && PQnfields(res) > 0 ? PQgetvalue(res, 0, 0) : "");
    PQclear(res);
    PQfinish(conn);
    return out;
}

/* Seals plain as the API does, bound to "<org>/<id>". */
static char *
seal(const char *org, const char *id, const char *plain)
{
    unsigned char key[SL_SECRETBOX_KEY_LEN];
    char path[512], text[200] = "", aad[256], *out = NULL;
    FILE *f;

    snprintf(path, sizeof(path), "%s/secrets/secret_key",
             it_env("SLUICE_TEST_VAR"));
    f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    ck_assert_ptr_nonnull(fgets(text, sizeof(text), f));
    fclose(f);
    ck_assert_int_eq(sl_secretbox_key_parse(text, key), 0);
    snprintf(aad, sizeof(aad), "%s/%s", org, id);
    ck_assert_int_eq(sl_secretbox_seal(key, aad, plain, strlen(plain), &out),
                     0);
    return out;
}

static char *
new_id(void)
{
    char *id = malloc(SL_UUID_LEN + 1);

    ck_assert_int_eq(sl_uuid_v4(id), 0);
    return id;
}

/* A webhook of org to url for events (a PostgreSQL array literal). */
static char *
webhook(const char *org, const char *url, const char *events,
        const char *secret, const char *previous)
{
    char *id = new_id(), *sealed = seal(org, id, secret),
         *prev = previous != NULL ? seal(org, id, previous) : NULL;
    const char *p[6] = {id, org, url, events, sealed, prev};

    free(owner_q("INSERT INTO webhooks (id, tenant_id, url, events, secret, "
                 "secret_previous, secret_previous_until) VALUES ($1::uuid, "
                 "$2, $3, $4::text[], $5, $6::text, CASE WHEN $6::text IS NULL "
                 "THEN NULL "
                 "ELSE now() + interval '1 hour' END)",
                 6, p));
    free(sealed);
    free(prev);
    return id;
}

static char *
rx_url(const struct rx *rx, const char *path)
{
    char *u;

    ck_assert_int_gt(asprintf(&u, "http://127.0.0.1:%d%s", rx->port, path), 0);
    return u;
}

/* Writes an event to the outbox as already due, so the relay publishes it
 * at its next pass. Returns its event_id (malloc'd). */
static char *
outbox_event(const char *org, const char *type, const char *data_json)
{
    char *eid;
    const char *p[4];

    ck_assert_int_gt(asprintf(&eid, "evt_%s", it_unique()), 0);
    p[0] = org;
    p[1] = type;
    p[2] = eid;
    p[3] = data_json;
    free(owner_q("INSERT INTO outbox (id, tenant_id, subject, payload, "
                 "created_at) VALUES (gen_random_uuid(), $1, 'sluice.event.' "
                 "|| $1 || '.' || $2, jsonb_build_object('event_id', $3::text, "
                 "'event_type', $2::text, 'timestamp', rfc3339(now()), "
                 "'organization_id', $1::text, 'data', $4::jsonb), "
                 "now() - interval '1 minute')",
                 4, p));
    return eid;
}

static pid_t
hub_pid(void)
{
    char path[512];
    FILE *f;
    long pid = 0;

    snprintf(path, sizeof(path), "%s/run/hub.pid", it_env("SLUICE_TEST_VAR"));
    f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(fscanf(f, "%ld", &pid), 1);
    fclose(f);
    return (pid_t)pid;
}

/* A two-row CSV loaded into a table: a run that completes. */
static char *
small_run(struct it_client *c, const char *token, const char *org,
          char **pipeline)
{
    json_t *nodes;
    struct it_resp r;
    char *run;

    it_data_file(org, "two.csv", "id,name\n1,a\n2,b\n");
    nodes = json_pack("[o, o]",
                      it_node("in", "extractor", "csv",
                              json_pack("{s:s}", "path", "two.csv")),
                      it_node("out", "loader", "postgres",
                              json_pack("{s:s}", "table", "two")));
    *pipeline = it_pipeline(c, token, nodes, it_chain(nodes));
    run = it_execute(c, token, *pipeline);
    it_await_run(c, token, run, "completed|failed", 60, &r);
    ck_assert_msg(strcmp(it_str(&r, "status"), "completed") == 0, "%s", r.body);
    it_resp_free(&r);
    return run;
}

#define DELIVERY_OF                                                            \
    "SELECT status || '/' || attempts FROM deliveries WHERE msg_id = $1"

/* --- scenarios --------------------------------------------------------------
 */

START_TEST(a_completed_run_is_signed_both_ways)
{
    struct it_client c;
    struct rx rx;
    char *user, *org, *token, *run, *pipeline, *u1, *u2, *w1, *w2;
    const char *whsec = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    json_t *b1 = NULL, *b2 = NULL;

    it_client_init(&c);
    token = it_new_org(&c, &user, &org);
    rx_start(&rx, RX_OK);
    u1 = rx_url(&rx, "/new-names");
    u2 = rx_url(&rx, "/old-names?x=1");
    w1 = webhook(org, u1, "{pipeline.execution.completed}", whsec, NULL);
    /* A rotated secret: both sign until secret_previous_until. */
    w2 = webhook(org, u2, "{pipeline.started,pipeline.completed}",
                 "new-secret-2", "old-secret-1");
    run = small_run(&c, token, org, &pipeline);
    /* The completion for each, and pipeline.started for the second. */
    rx_wait(&rx, 3, 30);
    for (int i = 0; i < 3; i++) {
        struct rx_req *q = &rx.reqs[i];
        json_t *b = json_loadb(q->body, q->body_len, 0, NULL);
        const char *type;

        ck_assert_ptr_nonnull(b);
        type = json_string_value(json_object_get(b, "event_type"));
        if (strcmp(q->path, "/new-names") == 0) {
            b1 = b;
        } else if (strcmp(type, "pipeline.completed") == 0) {
            b2 = b;
        } else {
            ck_assert_str_eq(type, "pipeline.started");
            json_decref(b);
        }
        if (strcmp(q->path, "/new-names") == 0) {
            assert_signed(q, whsec);
        } else {
            ck_assert_str_eq(q->path, "/old-names?x=1");
            assert_signed(q, "new-secret-2");
            /* Standard Webhooks: the old secret's signature beside. */
            ck_assert(sl_webhook_verify_std("old-secret-1", q->std_sig, q->id,
                                            atoll(q->ts), q->body,
                                            q->body_len));
            ck_assert_ptr_nonnull(strchr(q->std_sig, ' '));
        }
        it_await_sql(DELIVERY_OF, q->id, NULL, "succeeded/1", 10);
    }
    ck_assert_ptr_nonnull(b1);
    ck_assert_ptr_nonnull(b2);
    /* Each in the name its webhook subscribed to. */
    ck_assert_str_eq(json_string_value(json_object_get(b1, "event_type")),
                     "pipeline.execution.completed");
    ck_assert_str_eq(json_string_value(json_object_get(b2, "event_type")),
                     "pipeline.completed");
    ck_assert_str_eq(json_string_value(json_object_get(
                         json_object_get(b1, "data"), "run_id")),
                     run);
    ck_assert_str_eq(json_string_value(json_object_get(b1, "event_id")),
                     json_string_value(json_object_get(b2, "event_id")));
    ck_assert_str_ne(rx.reqs[0].id, rx.reqs[1].id);
    ck_assert_str_ne(rx.reqs[1].id, rx.reqs[2].id);
    /* One delivery per event and endpoint: the completion to each, and
     * pipeline.started to the second alone. */
    {
        char *v = it_owner_value(
            "SELECT count(*) FILTER (WHERE webhook_id = $1::uuid) || '/' || "
            "count(*) FILTER (WHERE webhook_id = $2::uuid) FROM deliveries",
            w1, w2);

        ck_assert_str_eq(v, "1/2");
        free(v);
    }
    json_decref(b1);
    json_decref(b2);
    rx_stop(&rx);
    free(u1), free(u2), free(w1), free(w2), free(run), free(pipeline);
    free(user), free(org), free(token);
}
END_TEST

START_TEST(a_receiver_down_then_up_gets_it)
{
    struct rx rx;
    char *org, *url, *w, *eid, *v;
    struct it_client c;
    char *user, *token;

    it_client_init(&c);
    token = it_new_org(&c, &user, &org);
    rx_start(&rx, RX_500);
    url = rx_url(&rx, "/flaky");
    w = webhook(org, url, "{*}", "s3cret", NULL);
    eid = outbox_event(org, "pii.detected", "{\"columns\": [\"email\"]}");
    rx_wait(&rx, 1, 30);
    atomic_store(&rx.mode, RX_OK);
    it_await_sql(DELIVERY_OF, rx.reqs[0].id, NULL, "pending/1", 10);
    /* Svix's second attempt: 5 s later, give or take 15 %. */
    rx_wait(&rx, 2, 20);
    ck_assert_str_eq(rx.reqs[0].id, rx.reqs[1].id);
    assert_signed(&rx.reqs[1], "s3cret");
    it_await_sql(DELIVERY_OF, rx.reqs[0].id, NULL, "succeeded/2", 10);
    v = it_owner_value(
        "SELECT string_agg(coalesce(status_code, 0)::text, ',' "
        "ORDER BY attempt) FROM delivery_attempts a JOIN "
        "deliveries d ON d.id = a.delivery_id WHERE d.msg_id = $1",
        rx.reqs[0].id, NULL);
    ck_assert_str_eq(v, "500,200");
    free(v);
    rx_stop(&rx);
    free(org), free(url), free(w), free(eid), free(user), free(token);
}
END_TEST

START_TEST(a_hub_killed_mid_delivery_delivers_under_the_same_id)
{
    struct rx rx;
    struct it_client c;
    char *user, *token, *org, *url, *w, *eid;

    it_client_init(&c);
    token = it_new_org(&c, &user, &org);
    rx_start(&rx, RX_HANG);
    url = rx_url(&rx, "/slow");
    w = webhook(org, url, "{pipeline.failed}", "k1ll", NULL);
    eid = outbox_event(org, "pipeline.failed", "{\"error_message\": \"x\"}");
    rx_wait(&rx, 1, 30);
    /* The hub is waiting for our answer: kill it there. */
    ck_assert_int_eq(kill(hub_pid(), SIGKILL), 0);
    atomic_store(&rx.mode, RX_OK);
    it_stack("start", "hub");
    /* The new hub takes back what its dead predecessor held and sends it
     * again at once: well before the lease would have ended (10 s after
     * its last renewal, at most 3 s before the kill). */
    rx_wait(&rx, 2, 5);
    ck_assert_str_eq(rx.reqs[1].id, rx.reqs[0].id);
    ck_assert_str_eq(rx.reqs[1].body, rx.reqs[0].body);
    assert_signed(&rx.reqs[1], "k1ll");
    it_await_sql(DELIVERY_OF, rx.reqs[0].id, NULL, "succeeded/1", 10);
    rx_stop(&rx);
    free(user), free(token), free(org), free(url), free(w), free(eid);
}
END_TEST

START_TEST(gone_disables_the_webhook)
{
    struct rx rx;
    struct it_client c;
    char *user, *token, *org, *url, *w, *eid, *other, *v;
    const char *p[2];

    it_client_init(&c);
    token = it_new_org(&c, &user, &org);
    rx_start(&rx, RX_410);
    url = rx_url(&rx, "/gone");
    w = webhook(org, url, "{pipeline.completed}", "g0ne", NULL);
    /* A delivery waiting for a later attempt: it must not be sent. */
    p[0] = org;
    p[1] = w;
    other = owner_q("INSERT INTO deliveries (id, tenant_id, event_id, "
                    "event_type, webhook_id, msg_id, body, next_attempt_at) "
                    "VALUES (gen_random_uuid(), $1, 'evt_later', "
                    "'pipeline.completed', $2::uuid, 'msg_later', '{}', "
                    "now() + interval '1 hour') RETURNING id",
                    2, p);
    eid =
        outbox_event(org, "pipeline.completed", "{\"status\": \"completed\"}");
    rx_wait(&rx, 1, 30);
    it_await_sql("SELECT enabled::text || '/' || (disabled_reason LIKE "
                 "'%410%')::text FROM webhooks WHERE id = $1::uuid",
                 w, NULL, "false/true", 10);
    it_await_sql(DELIVERY_OF, rx.reqs[0].id, NULL, "failed/1", 10);
    v = it_owner_value("SELECT status || '/' || attempts FROM deliveries "
                       "WHERE id = $1::uuid",
                       other, NULL);
    ck_assert_str_eq(v, "failed/0");
    free(v);
    ck_assert_int_eq(rx_count(&rx), 1);
    rx_stop(&rx);
    free(user), free(token), free(org), free(url), free(w), free(eid);
    free(other);
}
END_TEST

START_TEST(a_redirect_is_a_failure_not_followed)
{
    struct rx rx;
    struct it_client c;
    char *user, *token, *org, *url, *w, *eid, *v;

    it_client_init(&c);
    token = it_new_org(&c, &user, &org);
    rx_start(&rx, RX_302);
    url = rx_url(&rx, "/moved");
    w = webhook(org, url, "{pipeline.completed}", "r3dir", NULL);
    eid = outbox_event(org, "pipeline.completed", "{}");
    rx_wait(&rx, 1, 30);
    it_await_sql("SELECT status || '/' || attempts || '/' || last_status_code "
                 "|| '/' || (last_error LIKE '%redirect%')::text FROM "
                 "deliveries WHERE msg_id = $1",
                 rx.reqs[0].id, NULL, "pending/1/302/true", 10);
    v = it_owner_value("SELECT status_code::text FROM delivery_attempts a "
                       "JOIN deliveries d ON d.id = a.delivery_id WHERE "
                       "d.msg_id = $1",
                       rx.reqs[0].id, NULL);
    ck_assert_str_eq(v, "302");
    free(v);
    /* The attempt is recorded: nothing went to /elsewhere. */
    ck_assert_int_eq(rx_count(&rx), 1);
    ck_assert_str_eq(rx.reqs[0].path, "/moved");
    rx_stop(&rx);
    free(user), free(token), free(org), free(url), free(w), free(eid);
}
END_TEST

START_TEST(retry_after_is_honoured)
{
    struct rx rx;
    struct it_client c;
    char *user, *token, *org, *url, *w, *eid;

    it_client_init(&c);
    token = it_new_org(&c, &user, &org);
    rx_start(&rx, RX_429);
    url = rx_url(&rx, "/busy");
    w = webhook(org, url, "{pipeline.completed}", "b5sy", NULL);
    eid = outbox_event(org, "pipeline.completed", "{}");
    rx_wait(&rx, 1, 30);
    /* Not Svix's 5 s: the hour the receiver asked for. */
    it_await_sql("SELECT status || '/' || attempts || '/' || "
                 "(next_attempt_at BETWEEN now() + interval '59 minutes' AND "
                 "now() + interval '61 minutes')::text FROM deliveries WHERE "
                 "msg_id = $1",
                 rx.reqs[0].id, NULL, "pending/1/true", 10);
    rx_stop(&rx);
    free(user), free(token), free(org), free(url), free(w), free(eid);
}
END_TEST

START_TEST(an_exhausted_delivery_is_an_event_but_not_to_itself)
{
    struct rx dead, watcher;
    struct it_client c;
    char *user, *token, *org, *u1, *u2, *w_dead, *w_watch, *d, *v;
    const char *p[2];
    json_t *b;

    it_client_init(&c);
    token = it_new_org(&c, &user, &org);
    rx_start(&dead, RX_500);
    rx_start(&watcher, RX_OK);
    u1 = rx_url(&dead, "/dead");
    u2 = rx_url(&watcher, "/watch");
    /* The dead endpoint takes every event, its own exhaustion included. */
    w_dead = webhook(org, u1, "{*}", "d3ad", NULL);
    w_watch = webhook(org, u2, "{webhook.delivery.exhausted}", "w4tch", NULL);
    /* Seven attempts failed already: the next is the last. */
    p[0] = org;
    p[1] = w_dead;
    d = owner_q("INSERT INTO deliveries (id, tenant_id, event_id, event_type, "
                "webhook_id, msg_id, body, attempts) VALUES "
                "(gen_random_uuid(), $1, 'evt_last', 'pipeline.completed', "
                "$2::uuid, 'msg_last', '{}', 7) RETURNING id",
                2, p);
    rx_wait(&dead, 1, 30);
    it_await_sql("SELECT status || '/' || attempts FROM deliveries WHERE "
                 "id = $1::uuid",
                 d, NULL, "exhausted/8", 10);
    v = it_owner_value("SELECT count(*) FROM outbox WHERE subject = "
                       "'sluice.event.' || $1 || '.webhook.delivery.exhausted' "
                       "AND payload #>> '{data,delivery_id}' = $2",
                       org, d);
    ck_assert_str_eq(v, "1");
    free(v);
    /* The relay publishes it; the watcher gets it, signed. */
    rx_wait(&watcher, 1, 60);
    assert_signed(&watcher.reqs[0], "w4tch");
    b = json_loadb(watcher.reqs[0].body, watcher.reqs[0].body_len, 0, NULL);
    ck_assert_ptr_nonnull(b);
    ck_assert_str_eq(json_string_value(json_object_get(b, "event_type")),
                     "webhook.delivery.exhausted");
    ck_assert_str_eq(json_string_value(json_object_get(
                         json_object_get(b, "data"), "webhook_id")),
                     w_dead);
    ck_assert_str_eq(json_string_value(
                         json_object_get(json_object_get(b, "data"), "msg_id")),
                     "msg_last");
    /* Its rows were written together: none for the dead endpoint. */
    v = it_owner_value("SELECT count(*) FROM deliveries WHERE webhook_id = "
                       "$1::uuid AND event_type = 'webhook.delivery.exhausted'",
                       w_dead, NULL);
    ck_assert_str_eq(v, "0");
    free(v);
    ck_assert_int_eq(rx_count(&dead), 1);
    /* Sent again (as POST .../redeliver does), under the same id; it
     * fails again, and is not announced twice. */
    it_owner_sql("UPDATE deliveries SET status = 'pending', next_attempt_at "
                 "= now() WHERE id = $1::uuid",
                 d);
    rx_wait(&dead, 2, 30);
    ck_assert_str_eq(dead.reqs[1].id, "msg_last");
    it_await_sql("SELECT status || '/' || attempts FROM deliveries WHERE "
                 "id = $1::uuid",
                 d, NULL, "exhausted/9", 10);
    v = it_owner_value("SELECT count(*) FROM outbox WHERE subject = "
                       "'sluice.event.' || $1 || '.webhook.delivery.exhausted' "
                       "AND payload #>> '{data,delivery_id}' = $2",
                       org, d);
    ck_assert_str_eq(v, "1");
    free(v);
    json_decref(b);
    rx_stop(&dead);
    rx_stop(&watcher);
    free(user), free(token), free(org), free(u1), free(u2), free(w_dead);
    free(w_watch), free(d);
}
END_TEST

/* A row whose msg_id would smuggle a header in is never sent. */
START_TEST(a_msg_id_is_never_a_header_injection)
{
    struct rx rx;
    struct it_client c;
    char *user, *token, *org, *url, *w, *d;
    const char *p[2];

    it_client_init(&c);
    token = it_new_org(&c, &user, &org);
    rx_start(&rx, RX_OK);
    url = rx_url(&rx, "/inject");
    w = webhook(org, url, "{pipeline.completed}", "inj", NULL);
    p[0] = org;
    p[1] = w;
    d = owner_q("INSERT INTO deliveries (id, tenant_id, event_id, event_type, "
                "webhook_id, msg_id, body) VALUES (gen_random_uuid(), $1, "
                "'evt_inj', 'pipeline.completed', $2::uuid, "
                "E'msg_x\\r\\nX-Evil: 1', '{}') RETURNING id",
                2, p);
    it_await_sql("SELECT status || '/' || attempts || '/' || (last_error LIKE "
                 "'%msg_id%')::text FROM deliveries WHERE id = $1::uuid",
                 d, NULL, "pending/1/true", 30);
    ck_assert_int_eq(rx_count(&rx), 0);
    rx_stop(&rx);
    free(user), free(token), free(org), free(url), free(w), free(d);
}
END_TEST

START_TEST(an_untrusted_certificate_gets_nothing)
{
    struct it_client c;
    char *user, *token, *org, *url, *w, *eid;

    it_client_init(&c);
    token = it_new_org(&c, &user, &org);
    /* nginx's HTTPS port, with the stack's self-signed certificate. */
    ck_assert_int_gt(asprintf(&url, "https://127.0.0.1:%s/api/v1/health",
                              it_env("SLUICE_TEST_HTTPS_PORT")),
                     0);
    w = webhook(org, url, "{pipeline.completed}", "tls", NULL);
    eid = outbox_event(org, "pipeline.completed", "{}");
    it_await_sql("SELECT status || '/' || attempts || '/' || "
                 "coalesce(last_status_code, 0) || '/' || "
                 "(last_error LIKE 'TLS: certificate not trusted%')::text "
                 "FROM deliveries WHERE webhook_id = $1::uuid",
                 w, NULL, "pending/1/0/true", 30);
    free(user), free(token), free(org), free(url), free(w), free(eid);
}
END_TEST

START_TEST(an_alert_renders_the_runs_fields)
{
    struct it_client c;
    struct rx rx;
    char *user, *token, *org, *run, *pipeline, *hook_url, *slack_url;
    char *ch_hook, *ch_slack, *conf_hook, *conf_slack, *s1, *s2, *rule, *quiet,
        *want, *v;
    const char *p[5];
    struct rx_req *slack = NULL, *hook = NULL;
    json_t *sb, *hb;

    it_client_init(&c);
    token = it_new_org(&c, &user, &org);
    rx_start(&rx, RX_OK);
    hook_url = rx_url(&rx, "/alert-hook");
    slack_url = rx_url(&rx, "/services/T000/B000/XXXX");
    ch_hook = new_id();
    ch_slack = new_id();
    ck_assert_int_gt(asprintf(&conf_hook,
                              "{\"url\": \"%s\", \"secret\": \"ch-secret\"}",
                              hook_url),
                     0);
    ck_assert_int_gt(asprintf(&conf_slack, "{\"url\": \"%s\"}", slack_url), 0);
    s1 = seal(org, ch_hook, conf_hook);
    s2 = seal(org, ch_slack, conf_slack);
    p[0] = ch_hook, p[1] = org, p[2] = s1;
    free(owner_q("INSERT INTO notification_channels (id, tenant_id, name, "
                 "type, secret) VALUES ($1::uuid, $2, 'hook', 'webhook', $3)",
                 3, p));
    p[0] = ch_slack, p[2] = s2;
    free(owner_q("INSERT INTO notification_channels (id, tenant_id, name, "
                 "type, configuration, secret) VALUES ($1::uuid, $2, 'ops', "
                 "'slack', '{\"channel\": \"#ops\", \"username\": "
                 "\"sluice\"}', $3)",
                 3, p));
    rule = new_id();
    quiet = new_id();
    p[0] = rule, p[1] = org, p[2] = ch_hook, p[3] = ch_slack,
    p[4] = "completed";
    free(owner_q(
        "INSERT INTO alert_rules (id, tenant_id, name, condition, channels, "
        "template) VALUES ($1::uuid, $2, 'Run done', jsonb_build_object("
        "'event_type', 'pipeline.execution.completed', 'filters', "
        "jsonb_build_object('status', jsonb_build_array($5::text))), "
        "ARRAY[$3::uuid, $4::uuid], '{\"subject\": \"Run {{run_id}} "
        "{{status}}\", \"body\": \"Pipeline {{pipeline_id}} processed "
        "{{records_processed}} rows at {{timestamp}}\"}')",
        5, p));
    /* A rule whose filter does not hold: nothing. */
    p[0] = quiet, p[4] = "failed";
    free(owner_q(
        "INSERT INTO alert_rules (id, tenant_id, name, condition, channels) "
        "VALUES ($1::uuid, $2, 'Quiet', jsonb_build_object('event_type', "
        "'pipeline.completed', 'filters', jsonb_build_object('status', "
        "$5::text)), ARRAY[$3::uuid, $4::uuid])",
        5, p));
    run = small_run(&c, token, org, &pipeline);
    rx_wait(&rx, 2, 30);
    for (int i = 0; i < 2; i++) {
        if (strcmp(rx.reqs[i].path, "/alert-hook") == 0)
            hook = &rx.reqs[i];
        else
            slack = &rx.reqs[i];
    }
    ck_assert_ptr_nonnull(hook);
    ck_assert_ptr_nonnull(slack);
    ck_assert_str_eq(slack->path, "/services/T000/B000/XXXX");
    sb = json_loadb(slack->body, slack->body_len, 0, NULL);
    hb = json_loadb(hook->body, hook->body_len, 0, NULL);
    ck_assert_ptr_nonnull(sb);
    ck_assert_ptr_nonnull(hb);
    /* Slack's incoming-webhook body: text, channel, username. */
    ck_assert_int_eq(json_object_size(sb), 3);
    ck_assert_str_eq(json_string_value(json_object_get(sb, "channel")), "#ops");
    ck_assert_str_eq(json_string_value(json_object_get(sb, "username")),
                     "sluice");
    ck_assert_int_gt(
        asprintf(&want,
                 "*Run %s completed*\nPipeline %s processed 2 rows at %s", run,
                 pipeline, json_string_value(json_object_get(hb, "timestamp"))),
        0);
    ck_assert_str_eq(json_string_value(json_object_get(sb, "text")), want);
    /* The webhook channel: the event, and the alert rendered, signed. */
    assert_signed(hook, "ch-secret");
    ck_assert_str_eq(json_string_value(json_object_get(hb, "event_type")),
                     "pipeline.execution.completed");
    ck_assert_str_eq(json_string_value(
                         json_object_get(json_object_get(hb, "alert"), "name")),
                     "Run done");
    ck_assert_str_eq(json_string_value(json_object_get(
                         json_object_get(hb, "alert"), "message")),
                     strchr(want, '\n') + 1);
    v = it_owner_value("SELECT count(*) FILTER (WHERE alert_id = $1::uuid) "
                       "|| '/' || count(*) FILTER (WHERE alert_id = $2::uuid) "
                       "FROM deliveries",
                       rule, quiet);
    ck_assert_str_eq(v, "2/0");
    free(v);
    json_decref(sb);
    json_decref(hb);
    rx_stop(&rx);
    free(user), free(token), free(org), free(run), free(pipeline);
    free(hook_url), free(slack_url), free(ch_hook), free(ch_slack);
    free(conf_hook), free(conf_slack), free(s1), free(s2), free(rule);
    free(quiet), free(want);
}
END_TEST

START_TEST(nats_restarted_the_consumer_resumes)
{
    struct rx rx;
    struct it_client c;
    char *user, *token, *org, *url, *w, *e1, *e2;

    it_client_init(&c);
    token = it_new_org(&c, &user, &org);
    rx_start(&rx, RX_OK);
    url = rx_url(&rx, "/after-nats");
    w = webhook(org, url, "{pipeline.completed}", "n4ts", NULL);
    e1 = outbox_event(org, "pipeline.completed", "{\"n\": 1}");
    rx_wait(&rx, 1, 30);
    it_stack("stop", "nats");
    /* Written while NATS is away: the relay sends it once it is back,
     * and the hubs' durable consumer takes it from where it was. */
    e2 = outbox_event(org, "pipeline.completed", "{\"n\": 2}");
    it_stack("start", "nats");
    rx_wait(&rx, 2, 60);
    ck_assert_ptr_nonnull(strstr(rx.reqs[1].body, e2));
    ck_assert_str_ne(rx.reqs[0].id, rx.reqs[1].id);
    assert_signed(&rx.reqs[1], "n4ts");
    rx_stop(&rx);
    free(user), free(token), free(org), free(url), free(w), free(e1);
    free(e2);
}
END_TEST

/* A second hub on the stack's configuration, on its own WebSocket port,
 * with 4 deliveries in flight at most. */
static pid_t
second_hub(void)
{
    char bin[512], pidfile[512], log[512], port[16];
    double end;
    pid_t pid;

    snprintf(bin, sizeof(bin), "%s/ws-hub/sluice-hub", it_env("abs_builddir"));
    snprintf(pidfile, sizeof(pidfile), "%s/run/hub2.pid",
             it_env("SLUICE_TEST_VAR"));
    snprintf(log, sizeof(log), "%s/log/hub2.log", it_env("SLUICE_TEST_VAR"));
    {
        /* A free port for its WebSocket listener. */
        struct sockaddr_in a = {.sin_family = AF_INET};
        socklen_t alen = sizeof(a);
        int s = socket(AF_INET, SOCK_STREAM, 0);

        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        ck_assert_int_eq(bind(s, (struct sockaddr *)&a, sizeof(a)), 0);
        getsockname(s, (struct sockaddr *)&a, &alen);
        snprintf(port, sizeof(port), "%d", ntohs(a.sin_port));
        close(s);
    }
    unlink(pidfile);
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);

        prctl(PR_SET_PDEATHSIG, SIGTERM);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
        }
        setenv("SLUICE_HUB_PORT", port, 1);
        setenv("SLUICE_WEBHOOK_CONCURRENCY", "4", 1);
        execl(bin, bin, "-c", it_env("SLUICE_TEST_CONF"), "--pid-file", pidfile,
              (char *)NULL);
        _exit(127);
    }
    end = it_now() + 10;
    while (access(pidfile, F_OK) != 0) {
        ck_assert_msg(waitpid(pid, NULL, WNOHANG) == 0,
                      "the second hub exited; see %s", log);
        ck_assert_msg(it_now() < end, "the second hub did not start; see %s",
                      log);
        usleep(50 * 1000);
    }
    return pid;
}

/* Two hubs, 4 deliveries in flight each, share 40 due rows: each row is
 * sent once, and both hubs send some. The receiver holds the first 8
 * requests: one hub has 4 in flight at most, so 8 held at once are both
 * hubs' (the endpoint's own limit, 8, lets them), whichever started
 * first. */
START_TEST(two_hubs_share_the_work)
{
    struct rx rx;
    struct it_client c;
    char *user, *token, *org, *url, *w, *v;
    const char *p[2];
    pid_t hub2;

    it_client_init(&c);
    token = it_new_org(&c, &user, &org);
    rx_start(&rx, RX_HANG);
    url = rx_url(&rx, "/shared");
    w = webhook(org, url, "{pipeline.completed}", "tw0", NULL);
    it_stack("stop", "hub");
    ck_assert_int_eq(it_sh("SLUICE_WEBHOOK_CONCURRENCY=4 %s start hub "
                           ">/dev/null 2>&1",
                           it_env("SLUICE_TEST_STACKCTL")),
                     0);
    hub2 = second_hub();
    p[0] = org;
    p[1] = w;
    free(owner_q("INSERT INTO deliveries (id, tenant_id, event_id, "
                 "event_type, webhook_id, msg_id, body) SELECT "
                 "gen_random_uuid(), $1, 'evt_two_' || i, "
                 "'pipeline.completed', $2::uuid, 'msg_two_' || i, '{}' "
                 "FROM generate_series(1, 40) i",
                 2, p));
    rx_wait(&rx, 8, 30);
    rx_release(&rx, RX_OK);
    rx_wait(&rx, 40, 60);
    it_await_sql("SELECT count(*) FILTER (WHERE status = 'succeeded') FROM "
                 "deliveries WHERE webhook_id = $1::uuid",
                 w, NULL, "40", 30);
    v = it_owner_value("SELECT count(*) || '/' || count(DISTINCT a.hub) FROM "
                       "delivery_attempts a JOIN deliveries d ON d.id = "
                       "a.delivery_id WHERE d.webhook_id = $1::uuid",
                       w, NULL);
    ck_assert_str_eq(v, "40/2");
    free(v);
    ck_assert_int_eq(rx_count(&rx), 40);
    kill(hub2, SIGTERM);
    waitpid(hub2, NULL, 0);
    it_stack("stop", "hub");
    it_stack("start", "hub");
    rx_stop(&rx);
    free(user), free(token), free(org), free(url), free(w);
}
END_TEST

/*
 * https: the hub resolves "localhost" itself, connects to the address it
 * checked and verifies the certificate against the name (a CA of the
 * test's own, given to the hub through SSL_CERT_FILE); the same receiver
 * named by its IP address fails verification (the certificate names
 * only localhost) and gets no request.
 */
START_TEST(https_verifies_the_name_on_the_checked_address)
{
    struct rx rx;
    struct it_client c;
    char *user, *token, *org, *u1, *u2, *w1, *w2, *e;
    char dir[] = "/tmp/it_deliver_tls.XXXXXX";

    it_client_init(&c);
    token = it_new_org(&c, &user, &org);
    ck_assert_ptr_nonnull(mkdtemp(dir));
    ck_assert_int_eq(
        it_sh("(cd %s && openssl req -x509 -newkey rsa:2048 -nodes -keyout "
              "ca.key -out ca.pem -days 2 -subj /CN=it-deliver-ca && "
              "openssl req -newkey rsa:2048 -nodes -keyout srv.key -out "
              "srv.csr -subj /CN=localhost && printf "
              "'subjectAltName=DNS:localhost\\n' >ext && openssl x509 -req "
              "-in srv.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out "
              "srv.pem -days 2 -extfile ext) >/dev/null 2>&1",
              dir),
        0);
    rx_start_tls(&rx, dir);
    it_stack("stop", "hub");
    ck_assert_int_eq(it_sh("SSL_CERT_FILE=%s/ca.pem %s start hub >/dev/null "
                           "2>&1",
                           dir, it_env("SLUICE_TEST_STACKCTL")),
                     0);
    ck_assert_int_gt(asprintf(&u1, "https://localhost:%d/tls-ok", rx.port), 0);
    ck_assert_int_gt(asprintf(&u2, "https://127.0.0.1:%d/tls-ip", rx.port), 0);
    w1 = webhook(org, u1, "{pipeline.completed}", "tls-secret", NULL);
    w2 = webhook(org, u2, "{pipeline.completed}", "tls-secret", NULL);
    e = outbox_event(org, "pipeline.completed", "{}");
    rx_wait(&rx, 1, 30);
    ck_assert_str_eq(rx.reqs[0].path, "/tls-ok");
    assert_signed(&rx.reqs[0], "tls-secret");
    it_await_sql(DELIVERY_OF, rx.reqs[0].id, NULL, "succeeded/1", 10);
    it_await_sql("SELECT status || '/' || attempts || '/' || (last_error LIKE "
                 "'TLS: certificate not trusted: IP address mismatch%')::text "
                 "FROM deliveries WHERE webhook_id = $1::uuid",
                 w2, NULL, "pending/1/true", 30);
    ck_assert_int_eq(rx_count(&rx), 1);
    it_stack("stop", "hub");
    it_stack("start", "hub");
    rx_stop(&rx);
    it_sh("rm -rf %s", dir);
    free(user), free(token), free(org), free(u1), free(u2), free(w1);
    free(w2), free(e);
}
END_TEST

/*
 * One organisation's receiver that never answers, with a backlog of due
 * rows, holds at most webhook_endpoint_concurrency of the hub's slots:
 * another organisation's delivery, due after the whole backlog, is sent
 * at once, not after the slow endpoint's timeouts.
 */
START_TEST(a_slow_endpoint_cannot_take_every_slot)
{
    struct rx slow, fast;
    struct it_client c;
    char *user1, *token1, *org1, *user2, *token2, *org2, *u1, *u2, *w1, *w2;
    const char *p[2];

    it_client_init(&c);
    token1 = it_new_org(&c, &user1, &org1);
    token2 = it_new_org(&c, &user2, &org2);
    rx_start(&slow, RX_HANG);
    rx_start(&fast, RX_OK);
    u1 = rx_url(&slow, "/slow");
    u2 = rx_url(&fast, "/fast");
    w1 = webhook(org1, u1, "{pipeline.completed}", "sl0w", NULL);
    w2 = webhook(org2, u2, "{pipeline.completed}", "f4st", NULL);
    it_stack("stop", "hub");
    ck_assert_int_eq(it_sh("SLUICE_WEBHOOK_CONCURRENCY=4 "
                           "SLUICE_WEBHOOK_ENDPOINT_CONCURRENCY=2 %s start "
                           "hub >/dev/null 2>&1",
                           it_env("SLUICE_TEST_STACKCTL")),
                     0);
    p[0] = org1;
    p[1] = w1;
    free(owner_q("INSERT INTO deliveries (id, tenant_id, event_id, "
                 "event_type, webhook_id, msg_id, body, next_attempt_at) "
                 "SELECT gen_random_uuid(), $1, 'evt_slow_' || i, "
                 "'pipeline.completed', $2::uuid, 'msg_slow_' || i, '{}', "
                 "now() - interval '1 minute' FROM generate_series(1, 20) i",
                 2, p));
    rx_wait(&slow, 2, 30);
    p[0] = org2;
    p[1] = w2;
    free(owner_q("INSERT INTO deliveries (id, tenant_id, event_id, "
                 "event_type, webhook_id, msg_id, body) VALUES "
                 "(gen_random_uuid(), $1, 'evt_fast', 'pipeline.completed', "
                 "$2::uuid, 'msg_fast', '{}')",
                 2, p));
    /* Well within the slow receiver's 15 s timeout. */
    rx_wait(&fast, 1, 6);
    ck_assert_str_eq(fast.reqs[0].id, "msg_fast");
    it_await_sql(DELIVERY_OF, "msg_fast", NULL, "succeeded/1", 10);
    /* The slow endpoint never had more than 2 in flight. */
    ck_assert_int_eq(rx_count(&slow), 2);
    it_stack("stop", "hub");
    it_stack("start", "hub");
    rx_stop(&slow);
    rx_stop(&fast);
    free(user1), free(token1), free(org1), free(user2), free(token2);
    free(org2), free(u1), free(u2), free(w1), free(w2);
}
END_TEST

/*
 * A disabled webhook's pending deliveries are parked (no next attempt, so
 * no claim reads them), those added while it is disabled too; enabling
 * it sends them, under their own ids.
 */
START_TEST(a_disabled_webhook_parks_its_deliveries_until_enabled)
{
    struct rx rx;
    struct it_client c;
    char *user, *token, *org, *url, *w, *v;
    const char *p[2];

    it_client_init(&c);
    token = it_new_org(&c, &user, &org);
    rx_start(&rx, RX_OK);
    url = rx_url(&rx, "/paused");
    w = webhook(org, url, "{pipeline.completed}", "p4use", NULL);
    p[0] = org;
    p[1] = w;
    /* One waiting for a later attempt, then the webhook is disabled. */
    free(owner_q("INSERT INTO deliveries (id, tenant_id, event_id, "
                 "event_type, webhook_id, msg_id, body, next_attempt_at) "
                 "VALUES (gen_random_uuid(), $1, 'evt_p1', "
                 "'pipeline.completed', $2::uuid, 'msg_paused_1', '{}', "
                 "now() + interval '1 hour')",
                 2, p));
    free(owner_q("UPDATE webhooks SET enabled = false WHERE id = $1::uuid", 1,
                 p + 1));
    /* One added while it is disabled, due now. */
    free(owner_q("INSERT INTO deliveries (id, tenant_id, event_id, "
                 "event_type, webhook_id, msg_id, body) VALUES "
                 "(gen_random_uuid(), $1, 'evt_p2', 'pipeline.completed', "
                 "$2::uuid, 'msg_paused_2', '{}')",
                 2, p));
    v = it_owner_value("SELECT string_agg(status || '/' || "
                       "coalesce(next_attempt_at::text, 'parked'), ',') FROM "
                       "deliveries WHERE webhook_id = $1::uuid",
                       w, NULL);
    ck_assert_str_eq(v, "pending/parked,pending/parked");
    free(v);
    sleep(2);
    ck_assert_int_eq(rx_count(&rx), 0);
    free(owner_q("UPDATE webhooks SET enabled = true WHERE id = $1::uuid", 1,
                 p + 1));
    rx_wait(&rx, 2, 20);
    it_await_sql(DELIVERY_OF, "msg_paused_1", NULL, "succeeded/1", 10);
    it_await_sql(DELIVERY_OF, "msg_paused_2", NULL, "succeeded/1", 10);
    rx_stop(&rx);
    free(user), free(token), free(org), free(url), free(w);
}
END_TEST

/*
 * A receiver that answers 200 and then never finishes its body has
 * answered: the delivery succeeds within a couple of seconds, rather than
 * holding its slot for the whole 15 s and being retried as a timeout.
 */
START_TEST(a_status_then_a_stalled_body_is_an_answer)
{
    struct rx rx;
    struct it_client c;
    char *user, *token, *org, *url, *w, *eid, *v;

    it_client_init(&c);
    token = it_new_org(&c, &user, &org);
    rx_start(&rx, RX_HEAD_ONLY);
    url = rx_url(&rx, "/stalled-body");
    w = webhook(org, url, "{pipeline.completed}", "st4ll", NULL);
    eid = outbox_event(org, "pipeline.completed", "{}");
    rx_wait(&rx, 1, 30);
    it_await_sql(DELIVERY_OF, rx.reqs[0].id, NULL, "succeeded/1", 8);
    v = it_owner_value("SELECT (latency_ms < 5000)::text FROM "
                       "delivery_attempts a JOIN deliveries d ON d.id = "
                       "a.delivery_id WHERE d.msg_id = $1",
                       rx.reqs[0].id, NULL);
    ck_assert_str_eq(v, "true");
    free(v);
    rx_stop(&rx);
    free(user), free(token), free(org), free(url), free(w), free(eid);
}
END_TEST

/* Last: it restarts the hub with loopback receivers refused. */
START_TEST(loopback_is_refused_when_not_allowed)
{
    struct rx rx;
    struct it_client c;
    char *user, *token, *org, *url, *w, *d;
    const char *p[2];

    it_client_init(&c);
    token = it_new_org(&c, &user, &org);
    rx_start(&rx, RX_OK);
    url = rx_url(&rx, "/internal");
    w = webhook(org, url, "{pipeline.completed}", "ssrf", NULL);
    it_stack("stop", "hub");
    ck_assert_int_eq(it_sh("SLUICE_WEBHOOK_ALLOW_PRIVATE=false %s start hub "
                           ">/dev/null 2>&1",
                           it_env("SLUICE_TEST_STACKCTL")),
                     0);
    p[0] = org;
    p[1] = w;
    d = owner_q("INSERT INTO deliveries (id, tenant_id, event_id, event_type, "
                "webhook_id, msg_id, body) VALUES (gen_random_uuid(), $1, "
                "'evt_ssrf', 'pipeline.completed', $2::uuid, 'msg_ssrf', "
                "'{}') RETURNING id",
                2, p);
    it_await_sql("SELECT status || '/' || attempts || '/' || (last_error = "
                 "'address not allowed (private or loopback): 127.0.0.1')"
                 "::text FROM deliveries WHERE id = $1::uuid",
                 d, NULL, "pending/1/true", 30);
    ck_assert_int_eq(rx_count(&rx), 0);
    it_stack("stop", "hub");
    it_stack("start", "hub");
    rx_stop(&rx);
    free(user), free(token), free(org), free(url), free(w), free(d);
}
END_TEST

static Suite *
deliver_suite(void)
{
    Suite *s = suite_create("it_deliver");
    TCase *tc = tcase_create("deliver");

    tcase_set_timeout(tc, 150);
    tcase_add_test(tc, a_completed_run_is_signed_both_ways);
    tcase_add_test(tc, a_receiver_down_then_up_gets_it);
    tcase_add_test(tc, gone_disables_the_webhook);
    tcase_add_test(tc, a_redirect_is_a_failure_not_followed);
    tcase_add_test(tc, retry_after_is_honoured);
    tcase_add_test(tc, an_exhausted_delivery_is_an_event_but_not_to_itself);
    tcase_add_test(tc, a_msg_id_is_never_a_header_injection);
    tcase_add_test(tc, an_untrusted_certificate_gets_nothing);
    tcase_add_test(tc, an_alert_renders_the_runs_fields);
    tcase_add_test(tc, a_hub_killed_mid_delivery_delivers_under_the_same_id);
    tcase_add_test(tc, nats_restarted_the_consumer_resumes);
    tcase_add_test(tc, two_hubs_share_the_work);
    tcase_add_test(tc, https_verifies_the_name_on_the_checked_address);
    tcase_add_test(tc, a_slow_endpoint_cannot_take_every_slot);
    tcase_add_test(tc, a_status_then_a_stalled_body_is_an_answer);
    tcase_add_test(tc, a_disabled_webhook_parks_its_deliveries_until_enabled);
    tcase_add_test(tc, loopback_is_refused_when_not_allowed);
    suite_add_tcase(s, tc);
    return s;
}

SL_TEST_MAIN(deliver_suite)
