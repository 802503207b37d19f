/*
 * deliver.c: sluice-hub's webhook deliverer (see deliver.h): events into
 * delivery rows, and delivery rows into signed HTTP POSTs.
 *
 * Why a client of our own rather than libwebsockets' client: the hub must
 * resolve each host itself, check every address, and connect to the
 * address it checked while verifying the certificate against the name;
 * libwebsockets 4.1 resolves for itself (blocking, or with an async DNS
 * DESIGN.md says not to rely on). A webhook needs one POST and a status
 * code, which is little code with epoll and OpenSSL, and every byte read
 * from a receiver is bounded in lib/httpc.c.
 *
 * Threads: ingest (its own database connection), send (its own database
 * connection, the epoll loop, every socket), two resolvers (getaddrinfo
 * only). They share the stop flag, the wake eventfd and the resolver
 * queue (under rmu); NATS's thread touches only the wake eventfd.
 */
#include "config.h"

#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "bus.h"
#include "clock.h"
#include "crypto.h"
#include "daemon.h"
#include "db.h"
#include "deliver.h"
#include "deliver_rules.h"
#include "err.h"
#include "httpc.h"
#include "json.h"
#include "pgconn.h"
#include "secretbox.h"
#include "webhook.h"

#define DLV_DURABLE         "sluice-deliveries"
#define DLV_ACK_WAIT_MS     30000
#define DLV_MAX_ACK_PENDING 1024
#define DLV_FETCH_BATCH     128
#define DLV_FETCH_WAIT_MS   1000
/* A delivery's whole attempt: resolution, connection, TLS, request and
 * response. */
#define DLV_TIMEOUT_MS 15000
/* How long a claimed row is this hub's unless renewed; renewed every
 * DLV_RENEW_MS while in flight, so a dead hub's rows come back within
 * DLV_LEASE_S of its last renewal. */
#define DLV_LEASE_S   10
#define DLV_RENEW_MS  3000
#define DLV_POLL_MS   1000
#define DLV_RESOLVERS 2
#define DLV_GRACE_MS  5000
/* How long a read response waits for the peer to close first. */
#define DLV_DRAIN_MS   500
/* How long the body may take once the status line and headers are in:
 * the status is the answer, the body is discarded. */
#define DLV_BODY_MS 2000
#define DLV_MAX_EVENTS 128
/* Resolved addresses are kept this long, for this many host names: a
 * busy endpoint is resolved once, not once per delivery. */
#define DLV_DNS_TTL_MS  30000
#define DLV_DNS_ENTRIES 64
/* Results waiting for the database, at most (past that, their leases
 * run out and the rows are sent again). */
#define DLV_MAX_PENDING_RESULTS 20000
#define DLV_USER_AGENT          "sluice-hub/" PACKAGE_VERSION
/* The longest webhook-id sent (rows the API adds carry their own). */
#define DLV_MAX_MSG_ID  128
#define EXHAUSTED_EVENT "webhook.delivery.exhausted"

/* --- statements ----------------------------------------------------------- */

enum { ST_ENDPOINTS, ST_ADD };
static const struct sl_db_stmt ingest_stmts[] = {
    [ST_ENDPOINTS] = {"hub_endpoints", "SELECT hub_endpoints($1)::text", true},
    [ST_ADD] = {"hub_deliveries_add", "SELECT hub_deliveries_add($1::jsonb)",
                false},
};

enum { ST_CLAIM, ST_RECORD, ST_RENEW, ST_OWNERS, ST_RELEASE };
static const struct sl_db_stmt send_stmts[] = {
    [ST_CLAIM] = {"hub_delivery_claim",
                  "SELECT id, tenant_id, msg_id, body, attempts, webhook_id, "
                  "channel_id, url, secret, secret_previous, previous_valid, "
                  "channel_type FROM hub_delivery_claim($1, $2::int, $3::int, "
                  "$4::int)",
                  false},
    [ST_RECORD] = {"hub_delivery_record",
                   "SELECT hub_delivery_record($1, $2::jsonb)", false},
    [ST_RENEW] = {"hub_delivery_renew",
                  "SELECT hub_delivery_renew($1, $2::uuid[], $3::int)", false},
    [ST_OWNERS] = {"hub_delivery_owners", "SELECT hub_delivery_owners($1)",
                   true},
    [ST_RELEASE] = {"hub_delivery_release",
                    "SELECT hub_delivery_release($1)", false},
};

/* --- the deliverer -------------------------------------------------------- */

enum phase { P_RESOLVE, P_CONNECT, P_TLS, P_WRITE, P_READ };

struct rjob; /* a host to resolve */

/* The addresses a host resolved to, at most SL_PGCONN_MAX_ADDRS. */
struct addrset {
    int n;
    struct sockaddr_storage a[SL_PGCONN_MAX_ADDRS];
    socklen_t len[SL_PGCONN_MAX_ADDRS];
};

struct dns_entry {
    char host[SL_HTTPC_MAX_HOST + 1];
    char port[6];
    int64_t until_us;
    struct addrset set;
};

/* One delivery in flight: the send thread's alone. */
struct dlv {
    struct dlv *prev, *next;
    char id[40];
    int attempts;
    bool tls;
    char *req; /* head and body */
    size_t req_len, req_off;
    struct sl_httpc_url url;
    struct addrset addrs;
    int cur; /* the next address to try */
    struct rjob *job;
    int fd;
    SSL *ssl;
    enum phase phase;
    /* The response is read: waiting for the peer's close, so that the
     * closed connection's TIME_WAIT is the receiver's, not ours. */
    bool draining;
    size_t drained;
    bool body_timed; /* the deadline is cut to DLV_BODY_MS after the head */
    int64_t start_us, deadline_us;
    char addr[SL_PGCONN_ADDR_MAX + 16];
    struct sl_httpc_resp resp;
};

struct rjob {
    struct rjob *next;
    struct dlv *d; /* NULL once abandoned */
    char host[SL_HTTPC_MAX_HOST + 1];
    char port[6];
    struct addrinfo *res;
    int err;
};

struct hub_deliver {
    const struct sl_conf *conf;
    struct sl_logger *log;
    struct sl_bus *bus;
    char owner[200];
    unsigned char key[SL_SECRETBOX_KEY_LEN];
    bool have_key;
    SSL_CTX *tls;
    atomic_bool stop;
    int wake_fd;     /* eventfd: claim now */
    int resolved_fd; /* eventfd: resolutions done */
    natsSubscription *wake_sub;

    pthread_t ingest_thr, send_thr, resolver_thr[DLV_RESOLVERS];
    bool ingest_started, send_started;
    int resolvers_started;

    /* resolver queue, under rmu */
    pthread_mutex_t rmu;
    pthread_cond_t rcond;
    struct rjob *rq, *rq_tail, *rdone;

    /* the send thread's */
    struct sl_db sdb;
    int ep;
    struct dlv *inflight;
    int ninflight;
    int finished; /* deliveries ended since the last claim */
    json_t *results;
    uint32_t rnd;
    struct dns_entry dns[DLV_DNS_ENTRIES];
    int dns_next;
    int64_t send_trouble_us; /* when the send thread last logged one */
};

static void
poke(int fd)
{
    uint64_t one = 1;

    if (write(fd, &one, sizeof(one)) < 0) {
        /* The counter is full: a wake is pending anyway. */
    }
}

static void
drain(int fd)
{
    uint64_t v;

    while (read(fd, &v, sizeof(v)) > 0)
        ;
}

/*
 * Logs a database failure of what, at most once a minute per *last (the
 * calling thread's own clock of it): an error naming the fix when the
 * role may not run the deliverer's functions, else a warning.
 */
static void
db_trouble(struct hub_deliver *dv, struct sl_db *db, const char *what,
           int64_t *last)
{
    int64_t now = sl_clock_mono_us();

    if (*last != 0 && now - *last < 60 * 1000000LL)
        return;
    *last = now;
    if (strcmp(sl_db_sqlstate(db), "42501") == 0)
        sl_log_error(dv->log,
                     "deliver: %s: the hub's database role may not use the "
                     "deliverer's functions: set hub_db_url to a connection "
                     "as sluice_hub (docs/operator-guide.md); webhooks wait",
                     what);
    else
        sl_log_warn(dv->log, "deliver: %s: %s", what, sl_db_error(db));
}

/* Sleeps up to ms, returning early when the deliverer stops. */
static void
nap(struct hub_deliver *dv, int ms)
{
    for (int i = 0; i < ms / 50 && !atomic_load(&dv->stop); i++)
        usleep(50000);
}

/* --- ingest: events into delivery rows ------------------------------------ */

/* The endpoints of tenant, from cache or the database. Borrowed from
 * cache; NULL when the database failed. */
static json_t *
endpoints_of(struct sl_db *db, json_t *cache, const char *tenant)
{
    json_t *e = json_object_get(cache, tenant);
    const char *p[1] = {tenant};
    PGresult *res = NULL;

    if (e != NULL)
        return e;
    if (sl_db_exec(db, ST_ENDPOINTS, 1, p, &res) != SL_OK)
        return NULL;
    e = json_loads(PQntuples(res) == 1 ? sl_db_value(res, 0, 0) : "{}", 0,
                   NULL);
    PQclear(res);
    if (e == NULL)
        return NULL;
    json_object_set_new(cache, tenant, e);
    return e;
}

/*
 * Turns a batch of event messages into delivery rows, in one statement;
 * acknowledges them all once it committed, or asks for them again a
 * second later when it failed. Returns the rows added.
 */
static int
ingest_batch(struct hub_deliver *dv, struct sl_db *db, natsMsg **msgs, int n,
             int64_t *trouble)
{
    json_t *rows = json_array(), *cache = json_object();
    int added = 0, rc = SL_OK;
    char *text = NULL;

    for (int i = 0; i < n && rc == SL_OK; i++) {
        const char *subj = natsMsg_GetSubject(msgs[i]);
        const char *tenant, *eid, *type;
        jsMsgMetaData *meta = NULL;
        json_int_t seq = 0;
        json_t *event, *eps;
        size_t plen = strlen(SL_SUBJ_EVENT_PREFIX);

        if (hub_deliver_skipped(subj))
            continue;
        event = json_loadb(natsMsg_GetData(msgs[i]),
                           (size_t)natsMsg_GetDataLength(msgs[i]), 0, NULL);
        tenant = sl_json_get_str(event, "organization_id");
        eid = sl_json_get_str(event, "event_id");
        type = sl_json_get_str(event, "event_type");
        /* The subject names the organisation (the outbox checks it): an
         * event that claims another is not delivered. */
        if (tenant == NULL || eid == NULL || type == NULL ||
            strncmp(subj, SL_SUBJ_EVENT_PREFIX, plen) != 0 ||
            strncmp(subj + plen, tenant, strlen(tenant)) != 0 ||
            subj[plen + strlen(tenant)] != '.') {
            sl_log_warn(dv->log, "deliver: event on %s is malformed: skipped",
                        subj);
            json_decref(event);
            continue;
        }
        if (natsMsg_GetMetaData(&meta, msgs[i]) == NATS_OK) {
            seq = (json_int_t)meta->Sequence.Stream;
            jsMsgMetaData_Destroy(meta);
        }
        eps = endpoints_of(db, cache, tenant);
        if (eps == NULL)
            rc = SL_EDB;
        else
            rc = hub_deliver_rows(rows, tenant, event, seq, eps);
        json_decref(event);
    }
    if (rc == SL_OK && json_array_size(rows) > 0) {
        PGresult *res = NULL;
        const char *p[1];

        text = json_dumps(rows, JSON_COMPACT);
        p[0] = text;
        rc = text == NULL ? SL_ENOMEM : sl_db_exec(db, ST_ADD, 1, p, &res);
        if (rc == SL_OK)
            added = atoi(sl_db_value(res, 0, 0));
        PQclear(res);
    }
    for (int i = 0; i < n; i++) {
        if (rc == SL_OK)
            natsMsg_Ack(msgs[i], NULL);
        else
            natsMsg_NakWithDelay(msgs[i], 1000, NULL);
    }
    if (rc == SL_EDB || rc == SL_EDBCONN || rc == SL_EPERM ||
        rc == SL_ETIMEDOUT)
        db_trouble(dv, db, "events not taken (again soon)", trouble);
    else if (rc != SL_OK)
        sl_log_warn(dv->log, "deliver: %d events not taken (%s): again soon", n,
                    sl_strerror(rc));
    free(text);
    json_decref(rows);
    json_decref(cache);
    return added;
}

static int
ingest_bind(struct hub_deliver *dv, natsSubscription **sub)
{
    jsSubOptions so;
    jsErrCode jerr = 0;
    natsStatus s;

    if (!sl_bus_connected(dv->bus) || dv->bus->js == NULL)
        return SL_EBUS;
    jsSubOptions_Init(&so);
    so.Stream = SL_STREAM_EVENTS;
    so.Config.Durable = DLV_DURABLE;
    so.Config.AckPolicy = js_AckExplicit;
    so.Config.AckWait = (int64_t)DLV_ACK_WAIT_MS * 1000000;
    so.Config.MaxAckPending = DLV_MAX_ACK_PENDING;
    /* A new consumer starts with the events to come: webhooks are not
     * sent the stream's history. Once made, it remembers its place. */
    so.Config.DeliverPolicy = js_DeliverNew;
    s = js_PullSubscribe(sub, dv->bus->js, SL_SUBJ_EVENT_PREFIX ">",
                         DLV_DURABLE, NULL, &so, &jerr);
    if (s != NATS_OK && sl_bus_ensure_streams(dv->bus) == SL_OK)
        s = js_PullSubscribe(sub, dv->bus->js, SL_SUBJ_EVENT_PREFIX ">",
                             DLV_DURABLE, NULL, &so, &jerr);
    if (s != NATS_OK) {
        *sub = NULL;
        return SL_EBUS;
    }
    return SL_OK;
}

static void *
ingest_main(void *arg)
{
    struct hub_deliver *dv = arg;
    struct sl_db db;
    natsSubscription *sub = NULL;
    bool warned = false;
    int64_t trouble = 0;

    if (sl_db_init(&db, dv->conf->hub_db_url, "sluice-hub",
                   dv->conf->db_statement_timeout_ms, ingest_stmts,
                   sizeof(ingest_stmts) / sizeof(ingest_stmts[0]),
                   dv->log) != SL_OK)
        return NULL;
    while (!atomic_load(&dv->stop)) {
        natsMsgList first = {0}, more = {0};
        jsFetchRequest fr;
        natsMsg *batch[DLV_FETCH_BATCH];
        natsStatus s;
        int n = 0;

        if (sub == NULL && ingest_bind(dv, &sub) != SL_OK) {
            if (!warned)
                sl_log_warn(dv->log, "deliver: cannot read the events "
                                     "stream yet; trying every second");
            warned = true;
            nap(dv, 1000);
            continue;
        }
        warned = false;
        /* Wait for one event, then take what else is there at once. */
        jsFetchRequest_Init(&fr);
        fr.Batch = 1;
        fr.Expires = (int64_t)DLV_FETCH_WAIT_MS * 1000000;
        s = natsSubscription_FetchRequest(&first, sub, &fr);
        if (s == NATS_TIMEOUT || (s == NATS_OK && first.Count == 0)) {
            natsMsgList_Destroy(&first);
            continue;
        }
        if (s != NATS_OK) {
            /* NATS away, or the stream or consumer gone: bind afresh. */
            natsMsgList_Destroy(&first);
            natsSubscription_Destroy(sub);
            sub = NULL;
            nap(dv, 1000);
            continue;
        }
        batch[n++] = first.Msgs[0];
        first.Msgs[0] = NULL;
        natsMsgList_Destroy(&first);
        jsFetchRequest_Init(&fr);
        fr.Batch = DLV_FETCH_BATCH - 1;
        fr.NoWait = true;
        fr.Expires = 200 * 1000000LL;
        if (natsSubscription_FetchRequest(&more, sub, &fr) == NATS_OK) {
            for (int i = 0; i < more.Count && n < DLV_FETCH_BATCH; i++) {
                batch[n++] = more.Msgs[i];
                more.Msgs[i] = NULL;
            }
        }
        natsMsgList_Destroy(&more);
        if (ingest_batch(dv, &db, batch, n, &trouble) > 0)
            poke(dv->wake_fd);
        for (int i = 0; i < n; i++)
            natsMsg_Destroy(batch[i]);
    }
    natsSubscription_Destroy(sub);
    sl_db_free(&db);
    return NULL;
}

/* --- resolvers ------------------------------------------------------------ */

static void *
resolver_main(void *arg)
{
    struct hub_deliver *dv = arg;

    for (;;) {
        struct rjob *j;
        struct addrinfo hints;
        bool wanted;

        pthread_mutex_lock(&dv->rmu);
        while (dv->rq == NULL && !atomic_load(&dv->stop))
            pthread_cond_wait(&dv->rcond, &dv->rmu);
        if (dv->rq == NULL) {
            pthread_mutex_unlock(&dv->rmu);
            return NULL;
        }
        j = dv->rq;
        dv->rq = j->next;
        if (dv->rq == NULL)
            dv->rq_tail = NULL;
        wanted = j->d != NULL;
        pthread_mutex_unlock(&dv->rmu);

        memset(&hints, 0, sizeof(hints));
        hints.ai_family = AF_UNSPEC;
        hints.ai_socktype = SOCK_STREAM;
        hints.ai_flags = AI_ADDRCONFIG;
        if (wanted) /* not abandoned while it queued */
            j->err = getaddrinfo(j->host, j->port, &hints, &j->res);
        else
            j->err = EAI_AGAIN;

        pthread_mutex_lock(&dv->rmu);
        if (j->d == NULL) {
            if (j->res != NULL)
                freeaddrinfo(j->res);
            free(j);
        } else {
            j->next = dv->rdone;
            dv->rdone = j;
        }
        pthread_mutex_unlock(&dv->rmu);
        poke(dv->resolved_fd);
    }
}

/* --- send: one delivery --------------------------------------------------- */

static void
dlv_close(struct hub_deliver *dv, struct dlv *d)
{
    if (d->ssl != NULL) {
        SSL_free(d->ssl);
        d->ssl = NULL;
    }
    if (d->fd >= 0) {
        epoll_ctl(dv->ep, EPOLL_CTL_DEL, d->fd, NULL);
        close(d->fd);
        d->fd = -1;
    }
}

/*
 * Ends d: records its outcome (status 0 when no response was read, with
 * error saying why) for the next flush, and frees it.
 */
static void
dlv_finish(struct hub_deliver *dv, struct dlv *d, int status, const char *error)
{
    int64_t latency = (sl_clock_mono_us() - d->start_us) / 1000;
    const char *outcome;
    char etext[300];
    int64_t delay = -1;
    json_t *r;

    dv->finished++;

    if (status >= 200 && status < 300) {
        outcome = "succeeded";
        error = NULL;
    } else if (status == 410) {
        outcome = "gone";
        error = "HTTP 410 Gone: the endpoint is disabled";
    } else {
        if (status >= 300 && status < 400) {
            snprintf(etext, sizeof(etext),
                     "HTTP %d: redirects are not "
                     "followed",
                     status);
            error = etext;
        } else if (status != 0) {
            snprintf(etext, sizeof(etext), "HTTP %d", status);
            error = etext;
        }
        dv->rnd = dv->rnd * 1103515245u + 12345u;
        delay = sl_webhook_retry_delay_ms(d->attempts + 1, dv->rnd >> 8);
        if (delay >= 0 && (status == 429 || status == 503) &&
            d->resp.retry_after[0] != '\0') {
            int64_t ra =
                sl_webhook_retry_after_ms(d->resp.retry_after, sl_clock_now());

            if (ra > delay)
                delay = ra;
        }
        outcome = delay >= 0 ? "retry" : "exhausted";
    }
    r = json_pack("{s:s, s:I, s:s}", "id", d->id, "latency_ms",
                  (json_int_t)latency, "outcome", outcome);
    if (r != NULL) {
        json_object_set_new(r, "status_code",
                            status > 0 ? json_integer(status) : json_null());
        json_object_set_new(r, "error",
                            error != NULL ? json_string(error) : json_null());
        if (delay >= 0)
            json_object_set_new(r, "retry_in_ms", json_integer(delay));
        /* A redelivery of an exhausted row that fails again is not
         * announced a second time. */
        if (strcmp(outcome, "exhausted") == 0)
            json_object_set_new(
                r, "announce",
                json_boolean(d->attempts + 1 == SL_WEBHOOK_MAX_ATTEMPTS));
        if (json_array_size(dv->results) < DLV_MAX_PENDING_RESULTS)
            json_array_append_new(dv->results, r);
        else
            json_decref(r);
    }
    if (error != NULL)
        sl_log_debug(dv->log, "deliver: %s attempt %d: %s", d->id,
                     d->attempts + 1, error);

    dlv_close(dv, d);
    if (d->job != NULL) {
        pthread_mutex_lock(&dv->rmu);
        d->job->d = NULL; /* the resolver frees it */
        pthread_mutex_unlock(&dv->rmu);
    }
    if (d->prev != NULL)
        d->prev->next = d->next;
    else
        dv->inflight = d->next;
    if (d->next != NULL)
        d->next->prev = d->prev;
    dv->ninflight--;
    free(d->req);
    free(d);
}

static int
watch(struct hub_deliver *dv, struct dlv *d, uint32_t events, bool add)
{
    struct epoll_event ev = {.events = events, .data.ptr = d};

    return epoll_ctl(dv->ep, add ? EPOLL_CTL_ADD : EPOLL_CTL_MOD, d->fd, &ev);
}

/* The address sa as text (no port). */
static void
addr_text(const struct sockaddr *sa, char *out, size_t outsz)
{
    const void *ip =
        sa->sa_family == AF_INET6
            ? (const void *)&((const struct sockaddr_in6 *)sa)->sin6_addr
            : (const void *)&((const struct sockaddr_in *)sa)->sin_addr;

    if (inet_ntop(sa->sa_family, ip, out, (socklen_t)outsz) == NULL)
        snprintf(out, outsz, "?");
}

/* Copies the addresses of res (not freed) into set. */
static void
addrset_from(const struct addrinfo *res, struct addrset *set)
{
    set->n = 0;
    for (const struct addrinfo *a = res;
         a != NULL && set->n < SL_PGCONN_MAX_ADDRS; a = a->ai_next) {
        if (a->ai_addrlen > sizeof(set->a[0]))
            continue;
        memcpy(&set->a[set->n], a->ai_addr, a->ai_addrlen);
        set->len[set->n++] = a->ai_addrlen;
    }
}

static const struct addrset *
dns_find(struct hub_deliver *dv, const char *host, const char *port)
{
    int64_t now = sl_clock_mono_us();

    for (int i = 0; i < DLV_DNS_ENTRIES; i++) {
        struct dns_entry *e = &dv->dns[i];

        if (e->until_us > now && strcmp(e->host, host) == 0 &&
            strcmp(e->port, port) == 0)
            return &e->set;
    }
    return NULL;
}

static void
dns_keep(struct hub_deliver *dv, const char *host, const char *port,
         const struct addrset *set)
{
    struct dns_entry *e = &dv->dns[dv->dns_next];

    dv->dns_next = (dv->dns_next + 1) % DLV_DNS_ENTRIES;
    snprintf(e->host, sizeof(e->host), "%s", host);
    snprintf(e->port, sizeof(e->port), "%s", port);
    e->set = *set;
    e->until_us = sl_clock_mono_us() + (int64_t)DLV_DNS_TTL_MS * 1000;
}

/* Starts a connection to the next address; finishes d when none is left. */
static void
dlv_connect_next(struct hub_deliver *dv, struct dlv *d, const char *why)
{
    char host[SL_PGCONN_ADDR_MAX];

    for (; d->cur < d->addrs.n; d->cur++) {
        const struct sockaddr *sa =
            (const struct sockaddr *)&d->addrs.a[d->cur];

        addr_text(sa, host, sizeof(host));
        snprintf(d->addr, sizeof(d->addr), "%s port %s", host, d->url.port);
        d->fd = socket(sa->sa_family,
                       SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (d->fd < 0)
            continue;
        if ((connect(d->fd, sa, d->addrs.len[d->cur]) == 0 ||
             errno == EINPROGRESS) &&
            watch(dv, d, EPOLLOUT, true) == 0) {
            d->phase = P_CONNECT;
            d->cur++;
            return;
        }
        why = strerror(errno);
        close(d->fd);
        d->fd = -1;
    }
    {
        char e[300];

        snprintf(e, sizeof(e), "cannot connect to %s: %s", d->addr,
                 why != NULL ? why : "no address");
        dlv_finish(dv, d, 0, e);
    }
}

/* The addresses are known: checks every one, then connects to them. */
static void
dlv_resolved(struct hub_deliver *dv, struct dlv *d, const struct addrset *set)
{
    d->addrs = *set;
    d->cur = 0;
    if (!dv->conf->webhook_allow_private) {
        for (int i = 0; i < d->addrs.n; i++) {
            const struct sockaddr *sa = (const struct sockaddr *)&d->addrs.a[i];

            if (sl_pgconn_addr_private(sa)) {
                char host[SL_PGCONN_ADDR_MAX], e[200];

                addr_text(sa, host, sizeof(host));
                snprintf(e, sizeof(e),
                         "address not allowed (private or loopback): %s", host);
                dlv_finish(dv, d, 0, e);
                return;
            }
        }
    }
    dlv_connect_next(dv, d, NULL);
}

static void
tls_error(char *buf, size_t n, SSL *ssl)
{
    long v = SSL_get_verify_result(ssl);
    unsigned long e = ERR_get_error();

    if (v != X509_V_OK)
        snprintf(buf, n, "TLS: certificate not trusted: %s",
                 X509_verify_cert_error_string(v));
    else if (e != 0)
        snprintf(buf, n, "TLS: %s", ERR_reason_error_string(e));
    else
        snprintf(buf, n, "TLS: handshake failed");
    ERR_clear_error();
}

/* Does what d's phase can do now. */
static void
dlv_io(struct hub_deliver *dv, struct dlv *d, uint32_t events)
{
    char buf[16384], e[300];

    if (d->phase == P_CONNECT) {
        int err = 0;
        socklen_t len = sizeof(err);

        getsockopt(d->fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err != 0) {
            dlv_close(dv, d);
            dlv_connect_next(dv, d, strerror(err));
            return;
        }
        if (d->tls) {
            X509_VERIFY_PARAM *vp;
            struct in6_addr ip6;
            struct in_addr ip4;
            bool literal = inet_pton(AF_INET, d->url.host, &ip4) == 1 ||
                           inet_pton(AF_INET6, d->url.host, &ip6) == 1;

            d->ssl = SSL_new(dv->tls);
            if (d->ssl == NULL || SSL_set_fd(d->ssl, d->fd) != 1) {
                dlv_finish(dv, d, 0, "TLS: cannot set up");
                return;
            }
            vp = SSL_get0_param(d->ssl);
            if (literal) {
                X509_VERIFY_PARAM_set1_ip_asc(vp, d->url.host);
            } else {
                SSL_set_tlsext_host_name(d->ssl, d->url.host);
                SSL_set1_host(d->ssl, d->url.host);
            }
            SSL_set_connect_state(d->ssl);
            d->phase = P_TLS;
        } else {
            d->phase = P_WRITE;
        }
    }
    if (d->phase == P_TLS) {
        int r = SSL_do_handshake(d->ssl);

        if (r != 1) {
            int err = SSL_get_error(d->ssl, r);

            if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
                watch(dv, d, err == SSL_ERROR_WANT_READ ? EPOLLIN : EPOLLOUT,
                      false);
                return;
            }
            tls_error(e, sizeof(e), d->ssl);
            dlv_finish(dv, d, 0, e);
            return;
        }
        d->phase = P_WRITE;
    }
    if (d->phase == P_WRITE) {
        while (d->req_off < d->req_len) {
            ssize_t w;

            if (d->ssl != NULL) {
                int r = SSL_write(d->ssl, d->req + d->req_off,
                                  (int)(d->req_len - d->req_off));

                if (r <= 0) {
                    int err = SSL_get_error(d->ssl, r);

                    if (err == SSL_ERROR_WANT_READ ||
                        err == SSL_ERROR_WANT_WRITE) {
                        watch(dv, d,
                              err == SSL_ERROR_WANT_READ ? EPOLLIN : EPOLLOUT,
                              false);
                        return;
                    }
                    tls_error(e, sizeof(e), d->ssl);
                    dlv_finish(dv, d, 0, e);
                    return;
                }
                w = r;
            } else {
                w = send(d->fd, d->req + d->req_off, d->req_len - d->req_off,
                         MSG_NOSIGNAL);
                if (w < 0 && (errno == EAGAIN || errno == EINTR)) {
                    watch(dv, d, EPOLLOUT, false);
                    return;
                }
                if (w < 0) {
                    snprintf(e, sizeof(e), "sending to %s: %s", d->addr,
                             strerror(errno));
                    dlv_finish(dv, d, 0, e);
                    return;
                }
            }
            d->req_off += (size_t)w;
        }
        d->phase = P_READ;
        watch(dv, d, EPOLLIN, false);
        return; /* the answer comes later */
    }
    if (d->phase == P_READ) {
        for (;;) {
            ssize_t r;
            int rc;

            if (d->ssl != NULL) {
                int n = SSL_read(d->ssl, buf, sizeof(buf));

                if (n <= 0) {
                    int err = SSL_get_error(d->ssl, n);

                    if (err == SSL_ERROR_WANT_READ ||
                        err == SSL_ERROR_WANT_WRITE) {
                        watch(dv, d,
                              err == SSL_ERROR_WANT_READ ? EPOLLIN : EPOLLOUT,
                              false);
                        return;
                    }
                    /* close_notify, or a peer that just closes: the end
                     * of the response, as with a plain close. */
                    r = 0;
                    ERR_clear_error();
                } else {
                    r = n;
                }
            } else {
                r = recv(d->fd, buf, sizeof(buf), 0);
                if (r < 0 && (errno == EAGAIN || errno == EINTR))
                    return;
            }
            if (d->draining &&
                (r <= 0 || (d->drained += (size_t)r) > SL_HTTPC_MAX_BODY)) {
                dlv_finish(dv, d, d->resp.status, NULL);
                return;
            }
            if (d->draining)
                continue;
            if (r < 0) {
                if (d->resp.head_done) {
                    dlv_finish(dv, d, d->resp.status, NULL);
                    return;
                }
                snprintf(e, sizeof(e), "reading from %s: %s", d->addr,
                         strerror(errno));
                dlv_finish(dv, d, 0, e);
                return;
            }
            if (r == 0) {
                rc = sl_httpc_resp_eof(&d->resp);
                if (rc == SL_OK || d->resp.head_done)
                    dlv_finish(dv, d, d->resp.status, NULL);
                else
                    dlv_finish(dv, d, 0,
                               "the connection closed before a response");
                return;
            }
            rc = sl_httpc_resp_feed(&d->resp, buf, (size_t)r);
            if (rc != SL_OK) {
                snprintf(e, sizeof(e), "the response is not HTTP/1.1 (%s)",
                         sl_strerror(rc));
                dlv_finish(dv, d, 0, e);
                return;
            }
            if (d->resp.head_done && !d->body_timed) {
                int64_t until = sl_clock_mono_us() + DLV_BODY_MS * 1000;

                d->body_timed = true;
                if (until < d->deadline_us)
                    d->deadline_us = until;
            }
            if (d->resp.done) {
                int64_t until = sl_clock_mono_us() + DLV_DRAIN_MS * 1000;

                d->draining = true;
                if (until < d->deadline_us)
                    d->deadline_us = until;
            }
        }
    }
    (void)events;
}

/* Opens sealed (bound to tenant/id) into a malloc'd string, or NULL. */
static char *
unseal(struct hub_deliver *dv, const char *tenant, const char *id,
       const char *sealed)
{
    char aad[256], *plain = NULL, *copy;
    size_t len = 0;

    if (!dv->have_key || sealed == NULL)
        return NULL;
    snprintf(aad, sizeof(aad), "%s/%s", tenant, id);
    if (sl_secretbox_open(dv->key, aad, sealed, &plain, &len) != SL_OK)
        return NULL;
    copy = strndup(plain, len);
    sl_secretbox_free(plain, len);
    return copy;
}

static void
free_secret(char *s)
{
    if (s != NULL)
        sl_secretbox_free(s, strlen(s));
}

/*
 * Starts one claimed row (claim's columns: id, tenant_id, msg_id, body,
 * attempts, webhook_id, channel_id, url, secret, secret_previous,
 * previous_valid, channel_type).
 */
static void
dlv_start(struct hub_deliver *dv, PGresult *res, int row)
{
    const char *id = sl_db_value(res, row, 0),
               *tenant = sl_db_value(res, row, 1),
               *msg_id = sl_db_value(res, row, 2),
               *body = sl_db_value(res, row, 3),
               *webhook = sl_db_value(res, row, 5),
               *channel = sl_db_value(res, row, 6),
               *url = sl_db_value(res, row, 7),
               *sealed = sl_db_value(res, row, 8),
               *sealed_prev = sl_db_value(res, row, 9);
    bool prev_valid = strcmp(PQgetvalue(res, row, 10), "t") == 0;
    struct dlv *d = calloc(1, sizeof(*d));
    char *secret = NULL, *prev = NULL, *chan_json = NULL;
    char extra[512], hexsig[SL_WEBHOOK_HEX_SIG_SIZE],
        std[SL_WEBHOOK_STD_SIG_SIZE], std2[SL_WEBHOOK_STD_SIG_SIZE];
    const char *error = NULL;
    json_t *chan = NULL;
    size_t blen = strlen(body);
    int64_t ts = sl_clock_now();
    int hlen;

    if (d == NULL)
        return; /* the lease runs out; sent later */
    d->fd = -1;
    snprintf(d->id, sizeof(d->id), "%s", id);
    d->attempts = atoi(sl_db_value(res, row, 4));
    d->start_us = sl_clock_mono_us();
    d->deadline_us = d->start_us + (int64_t)DLV_TIMEOUT_MS * 1000;
    sl_httpc_resp_init(&d->resp);
    d->next = dv->inflight;
    if (dv->inflight != NULL)
        dv->inflight->prev = d;
    dv->inflight = d;
    dv->ninflight++;

    if (webhook != NULL) {
        secret = unseal(dv, tenant, webhook, sealed);
        if (secret == NULL)
            error = "cannot open the webhook's secret (secret_key)";
        if (prev_valid && sealed_prev != NULL)
            prev = unseal(dv, tenant, webhook, sealed_prev);
    } else {
        chan_json = unseal(dv, tenant, channel, sealed);
        chan = chan_json == NULL ? NULL : json_loads(chan_json, 0, NULL);
        url = sl_json_get_str(chan, "url");
        if (sl_json_get_str(chan, "secret") != NULL)
            secret = strdup(sl_json_get_str(chan, "secret"));
        if (url == NULL)
            error = "cannot open the channel's settings (secret_key)";
    }
    if (error == NULL && sl_httpc_url_parse(url, &d->url) != SL_OK)
        error = "the URL is not a valid http or https URL";
    /* The id goes into a header: a token of at most DLV_MAX_MSG_ID. */
    if (error == NULL &&
        (strlen(msg_id) == 0 || strlen(msg_id) > DLV_MAX_MSG_ID ||
         strspn(msg_id, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghij"
                        "klmnopqrstuvwxyz0123456789_-.") != strlen(msg_id)))
        error = "the delivery's msg_id is not a token of at most 128 "
                "characters";
    d->tls = d->url.tls;
    /* The headers: the seeds' signature with the current secret, and
     * Standard Webhooks' with every secret that signs now. */
    if (error == NULL) {
        int n = snprintf(extra, sizeof(extra),
                         "webhook-id: %s\r\nwebhook-timestamp: %lld\r\n",
                         msg_id, (long long)ts);

        if (secret != NULL) {
            if (sl_webhook_sign_hex(secret, body, blen, hexsig) != SL_OK ||
                sl_webhook_sign_std(secret, msg_id, ts, body, blen, std) !=
                    SL_OK)
                error = "the secret cannot sign (a bad whsec_ secret?)";
            else if (prev != NULL && sl_webhook_sign_std(prev, msg_id, ts, body,
                                                         blen, std2) == SL_OK)
                snprintf(extra + n, sizeof(extra) - (size_t)n,
                         "X-Webhook-Signature: %s\r\n"
                         "webhook-signature: %s %s\r\n",
                         hexsig, std, std2);
            else
                snprintf(extra + n, sizeof(extra) - (size_t)n,
                         "X-Webhook-Signature: %s\r\n"
                         "webhook-signature: %s\r\n",
                         hexsig, std);
        }
    }
    if (error == NULL) {
        size_t cap = 4096 + sizeof(extra) + strlen(d->url.target) + blen;

        d->req = malloc(cap);
        hlen = d->req == NULL
                   ? SL_ENOMEM
                   : sl_httpc_request_head(&d->url, DLV_USER_AGENT, blen, extra,
                                           d->req, cap - blen);
        if (hlen < 0) {
            error = "cannot build the request";
        } else {
            memcpy(d->req + hlen, body, blen);
            d->req_len = (size_t)hlen + blen;
        }
    }
    free_secret(secret);
    free_secret(prev);
    json_decref(chan);
    free_secret(chan_json);
    if (error != NULL) {
        dlv_finish(dv, d, 0, error);
        return;
    }
    /* An address needs no resolver; a name resolved lately neither. */
    {
        struct addrinfo hints, *ai = NULL;
        const struct addrset *known;
        struct addrset set;

        memset(&hints, 0, sizeof(hints));
        hints.ai_socktype = SOCK_STREAM;
        hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
        if (getaddrinfo(d->url.host, d->url.port, &hints, &ai) == 0) {
            addrset_from(ai, &set);
            freeaddrinfo(ai);
            dlv_resolved(dv, d, &set);
            return;
        }
        if ((known = dns_find(dv, d->url.host, d->url.port)) != NULL) {
            set = *known;
            dlv_resolved(dv, d, &set);
            return;
        }
    }
    d->phase = P_RESOLVE;
    d->job = calloc(1, sizeof(*d->job));
    if (d->job == NULL) {
        dlv_finish(dv, d, 0, "out of memory");
        return;
    }
    d->job->d = d;
    snprintf(d->job->host, sizeof(d->job->host), "%s", d->url.host);
    snprintf(d->job->port, sizeof(d->job->port), "%s", d->url.port);
    pthread_mutex_lock(&dv->rmu);
    if (dv->rq_tail != NULL)
        dv->rq_tail->next = d->job;
    else
        dv->rq = d->job;
    dv->rq_tail = d->job;
    pthread_cond_signal(&dv->rcond);
    pthread_mutex_unlock(&dv->rmu);
}

/* Takes finished resolutions. */
static void
take_resolved(struct hub_deliver *dv)
{
    struct rjob *done;

    drain(dv->resolved_fd);
    pthread_mutex_lock(&dv->rmu);
    done = dv->rdone;
    dv->rdone = NULL;
    pthread_mutex_unlock(&dv->rmu);
    while (done != NULL) {
        struct rjob *j = done;
        struct dlv *d = j->d;

        done = j->next;
        if (d == NULL) {
            /* Its delivery ended (timed out) after the resolver was done
             * with it. */
            if (j->res != NULL)
                freeaddrinfo(j->res);
            free(j);
            continue;
        }
        d->job = NULL;
        if (j->err != 0) {
            char e[300];

            snprintf(e, sizeof(e), "could not resolve host %s: %s", j->host,
                     gai_strerror(j->err));
            free(j);
            dlv_finish(dv, d, 0, e);
            continue;
        }
        {
            struct addrset set;

            addrset_from(j->res, &set);
            freeaddrinfo(j->res);
            if (set.n > 0)
                dns_keep(dv, j->host, j->port, &set);
            free(j);
            dlv_resolved(dv, d, &set);
        }
    }
}

/* Records the outcomes gathered so far; kept for the next try when the
 * database fails. */
static void
flush_results(struct hub_deliver *dv)
{
    const char *p[2] = {dv->owner, NULL};
    PGresult *res = NULL;
    char *text;

    if (json_array_size(dv->results) == 0)
        return;
    text = json_dumps(dv->results, JSON_COMPACT);
    if (text == NULL)
        return;
    p[1] = text;
    if (sl_db_exec(&dv->sdb, ST_RECORD, 2, p, &res) == SL_OK)
        json_array_clear(dv->results);
    else
        db_trouble(dv, &dv->sdb, "cannot record outcomes",
                   &dv->send_trouble_us);
    PQclear(res);
    free(text);
}

/* Claims up to the free slots; returns how many rows came. */
static int
claim(struct hub_deliver *dv)
{
    int free_slots = dv->conf->webhook_concurrency - dv->ninflight;
    char limit[16], lease[16], per[16];
    const char *p[4] = {dv->owner, limit, lease, per};
    PGresult *res = NULL;
    int n;

    if (free_slots <= 0)
        return 0;
    snprintf(limit, sizeof(limit), "%d", free_slots);
    snprintf(lease, sizeof(lease), "%d", DLV_LEASE_S);
    snprintf(per, sizeof(per), "%d", dv->conf->webhook_endpoint_concurrency);
    if (sl_db_exec(&dv->sdb, ST_CLAIM, 4, p, &res) != SL_OK) {
        db_trouble(dv, &dv->sdb, "cannot claim deliveries",
                   &dv->send_trouble_us);
        return 0;
    }
    n = PQntuples(res);
    for (int i = 0; i < n; i++)
        dlv_start(dv, res, i);
    PQclear(res);
    return n;
}

/* Extends the leases of the rows in flight. */
static void
renew(struct hub_deliver *dv)
{
    char lease[16], *ids;
    const char *p[3];
    PGresult *res = NULL;
    size_t off = 0;

    if (dv->ninflight == 0)
        return;
    ids = malloc((size_t)dv->ninflight * 41 + 3);
    if (ids == NULL)
        return;
    ids[off++] = '{';
    for (struct dlv *d = dv->inflight; d != NULL; d = d->next)
        off += (size_t)sprintf(ids + off, "%s%s", off > 1 ? "," : "", d->id);
    ids[off++] = '}';
    ids[off] = '\0';
    snprintf(lease, sizeof(lease), "%d", DLV_LEASE_S);
    p[0] = dv->owner;
    p[1] = ids;
    p[2] = lease;
    if (sl_db_exec(&dv->sdb, ST_RENEW, 3, p, &res) != SL_OK)
        db_trouble(dv, &dv->sdb, "cannot renew leases", &dv->send_trouble_us);
    PQclear(res);
    free(ids);
}

static void
wake_cb(natsConnection *nc, natsSubscription *sub, natsMsg *msg, void *arg)
{
    struct hub_deliver *dv = arg;

    /* Once stopping, wake_fd is about to close. */
    if (!atomic_load(&dv->stop))
        poke(dv->wake_fd);
    natsMsg_Destroy(msg);
}

static void *
send_main(void *arg)
{
    struct hub_deliver *dv = arg;
    struct epoll_event evs[DLV_MAX_EVENTS];
    int64_t next_claim = 0, stop_by = 0, next_renew = 0;
    bool full = false, found = false;

    for (;;) {
        int64_t now = sl_clock_mono_us(), wait_us;
        bool woken = false;
        int n;

        if (atomic_load(&dv->stop)) {
            if (stop_by == 0)
                stop_by = now + (int64_t)DLV_GRACE_MS * 1000;
            if (dv->ninflight == 0 || now >= stop_by)
                break;
        }
        if (dv->wake_sub == NULL && sl_bus_connected(dv->bus))
            sl_bus_subscribe(dv->bus, SL_SUBJ_DELIVERY_WAKE, NULL, wake_cb, dv,
                             &dv->wake_sub);
        wait_us = next_claim - now;
        for (struct dlv *d = dv->inflight; d != NULL; d = d->next)
            if (d->deadline_us - now < wait_us)
                wait_us = d->deadline_us - now;
        if (wait_us < 0)
            wait_us = 0;
        if (wait_us > (int64_t)DLV_POLL_MS * 1000)
            wait_us = (int64_t)DLV_POLL_MS * 1000;
        n = epoll_wait(dv->ep, evs, DLV_MAX_EVENTS,
                       (int)((wait_us + 999) / 1000));
        for (int i = 0; i < n; i++) {
            void *ptr = evs[i].data.ptr;

            if (ptr == &dv->wake_fd) {
                drain(dv->wake_fd);
                woken = true;
            } else if (ptr == &dv->resolved_fd) {
                take_resolved(dv);
            } else {
                dlv_io(dv, ptr, evs[i].events);
            }
        }
        now = sl_clock_mono_us();
        for (struct dlv *d = dv->inflight, *next; d != NULL; d = next) {
            next = d->next;
            if (now >= d->deadline_us &&
                (d->draining || d->resp.head_done)) {
                /* The status came in time; a body still trickling in
                 * is the receiver's business (it is discarded). */
                dlv_finish(dv, d, d->resp.status, NULL);
            } else if (now >= d->deadline_us) {
                char e[200];
                static const char *const what[] = {
                    "resolving the host", "connecting", "in the TLS handshake",
                    "sending the request", "waiting for the response"};

                snprintf(e, sizeof(e), "timed out after %d s %s%s%s",
                         DLV_TIMEOUT_MS / 1000, what[d->phase],
                         d->addr[0] != '\0' ? " from " : "", d->addr);
                dlv_finish(dv, d, 0, e);
            }
        }
        flush_results(dv);
        if (now >= next_renew) {
            renew(dv);
            next_renew = now + (int64_t)DLV_RENEW_MS * 1000;
        }
        if (atomic_load(&dv->stop))
            continue;
        /* Claim on a wake, at each poll, while the last claim came back
         * full and a quarter of the slots are free again, and while the
         * last one found work and deliveries have ended since (an
         * endpoint's own limit, webhook_endpoint_concurrency, may have
         * held it back: its next rows go as soon as a slot frees). */
        if (woken || now >= next_claim ||
            (full && dv->ninflight <= dv->conf->webhook_concurrency * 3 / 4) ||
            (found && dv->finished > 0 &&
             dv->ninflight < dv->conf->webhook_concurrency)) {
            int want = dv->conf->webhook_concurrency - dv->ninflight;
            int got = claim(dv);

            dv->finished = 0;
            full = want > 0 && got == want;
            found = got > 0;
            next_claim = sl_clock_mono_us() + (int64_t)DLV_POLL_MS * 1000;
        }
    }
    /* Those still in flight come back to some hub when their leases end. */
    while (dv->inflight != NULL)
        dlv_finish(dv, dv->inflight, 0, "the hub stopped");
    json_array_clear(dv->results);
    return NULL;
}

/* Whether process pid is there: not gone, nor a zombie its parent has
 * not reaped yet. One of another user's counts as there. */
static bool
process_alive(long pid)
{
    char path[64], buf[512], *close_paren;
    size_t n;
    FILE *f;

    if (kill((pid_t)pid, 0) != 0 && errno == ESRCH)
        return false;
    snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
    f = fopen(path, "r");
    if (f == NULL)
        return errno != ENOENT;
    n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    /* "pid (comm) state ...": comm may hold spaces and parentheses. */
    close_paren = strrchr(buf, ')');
    return close_paren == NULL || close_paren[1] != ' ' ||
           (close_paren[2] != 'Z' && close_paren[2] != 'X');
}

/*
 * Takes back the rows that a dead hub of this host held (sql/029): a hub
 * restarted after a crash sends them now, not once their leases end. An
 * owner whose process is still there (process_alive()) is left alone;
 * on trouble, the leases end as they would.
 */
static void
take_back(struct hub_deliver *dv)
{
    char prefix[sizeof(dv->owner)];
    const char *p[1] = {prefix};
    PGresult *res = NULL;
    char *slash;

    snprintf(prefix, sizeof(prefix), "%s", dv->owner);
    slash = strrchr(prefix, ':');
    if (slash == NULL)
        return;
    slash[1] = '\0'; /* "<host>:" */
    if (sl_db_exec(&dv->sdb, ST_OWNERS, 1, p, &res) != SL_OK) {
        PQclear(res);
        return;
    }
    for (int i = 0; i < PQntuples(res); i++) {
        const char *owner = sl_db_value(res, i, 0);
        long pid = hub_deliver_owner_pid(owner, prefix);
        const char *q[1] = {owner};
        PGresult *r = NULL;

        if (pid <= 0 || pid == (long)getpid() || process_alive(pid))
            continue;
        if (sl_db_exec(&dv->sdb, ST_RELEASE, 1, q, &r) == SL_OK)
            sl_log_info(dv->log,
                        "deliver: took back %s rows of %s, a hub no longer "
                        "running",
                        sl_db_value(r, 0, 0), owner);
        PQclear(r);
    }
    PQclear(res);
}

/* --- start and stop ------------------------------------------------------- */

int
hub_deliver_start(const struct sl_conf *conf, struct sl_logger *log,
                  struct sl_bus *bus, struct hub_deliver **out)
{
    struct hub_deliver *dv = calloc(1, sizeof(*dv));
    struct epoll_event ev = {.events = EPOLLIN};
    char inst[160], rnd[9];

    *out = NULL;
    if (dv == NULL)
        return SL_ENOMEM;
    dv->conf = conf;
    dv->log = log;
    dv->bus = bus;
    dv->wake_fd = dv->resolved_fd = dv->ep = -1;
    pthread_mutex_init(&dv->rmu, NULL);
    pthread_cond_init(&dv->rcond, NULL);
    sl_daemon_instance(inst, sizeof(inst));
    sl_random_alnum(rnd, 8);
    snprintf(dv->owner, sizeof(dv->owner), "%s/%s", inst, rnd);
    sl_random_bytes(&dv->rnd, sizeof(dv->rnd));
    dv->have_key = conf->secret_key != NULL && conf->secret_key[0] != '\0' &&
                   sl_secretbox_key_parse(conf->secret_key, dv->key) == SL_OK;
    if (!dv->have_key)
        sl_log_warn(log, "deliver: no usable secret_key: webhooks cannot be "
                         "signed, and will be retried until one is set");
    dv->results = json_array();
    dv->tls = SSL_CTX_new(TLS_client_method());
    if (dv->results == NULL || dv->tls == NULL)
        goto fail;
    SSL_CTX_set_min_proto_version(dv->tls, TLS1_2_VERSION);
    SSL_CTX_set_verify(dv->tls, SSL_VERIFY_PEER, NULL);
    SSL_CTX_set_default_verify_paths(dv->tls);
    SSL_CTX_set_mode(dv->tls, SSL_MODE_ENABLE_PARTIAL_WRITE |
                                  SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    if (sl_db_init(&dv->sdb, conf->hub_db_url, "sluice-hub",
                   conf->db_statement_timeout_ms, send_stmts,
                   sizeof(send_stmts) / sizeof(send_stmts[0]), log) != SL_OK)
        goto fail;
    take_back(dv);
    dv->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    dv->resolved_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    dv->ep = epoll_create1(EPOLL_CLOEXEC);
    if (dv->wake_fd < 0 || dv->resolved_fd < 0 || dv->ep < 0)
        goto fail;
    ev.data.ptr = &dv->wake_fd;
    epoll_ctl(dv->ep, EPOLL_CTL_ADD, dv->wake_fd, &ev);
    ev.data.ptr = &dv->resolved_fd;
    epoll_ctl(dv->ep, EPOLL_CTL_ADD, dv->resolved_fd, &ev);
    for (int i = 0; i < DLV_RESOLVERS; i++) {
        if (pthread_create(&dv->resolver_thr[i], NULL, resolver_main, dv) != 0)
            goto fail;
        dv->resolvers_started++;
    }
    if (pthread_create(&dv->send_thr, NULL, send_main, dv) != 0)
        goto fail;
    dv->send_started = true;
    if (pthread_create(&dv->ingest_thr, NULL, ingest_main, dv) != 0)
        goto fail;
    dv->ingest_started = true;
    sl_log_info(log, "deliver: sending webhooks as %s, %d at once%s", dv->owner,
                conf->webhook_concurrency,
                conf->webhook_allow_private ? " (private addresses allowed)"
                                            : "");
    *out = dv;
    return SL_OK;
fail:
    sl_log_error(log, "deliver: cannot start");
    hub_deliver_stop(dv);
    return SL_EIO;
}

void
hub_deliver_stop(struct hub_deliver *dv)
{
    if (dv == NULL)
        return;
    atomic_store(&dv->stop, true);
    if (dv->wake_fd >= 0)
        poke(dv->wake_fd);
    pthread_mutex_lock(&dv->rmu);
    pthread_cond_broadcast(&dv->rcond);
    pthread_mutex_unlock(&dv->rmu);
    if (dv->ingest_started)
        pthread_join(dv->ingest_thr, NULL);
    if (dv->send_started)
        pthread_join(dv->send_thr, NULL);
    for (int i = 0; i < dv->resolvers_started; i++)
        pthread_join(dv->resolver_thr[i], NULL);
    natsSubscription_Destroy(dv->wake_sub);
    while (dv->rq != NULL) {
        struct rjob *j = dv->rq;

        dv->rq = j->next;
        free(j);
    }
    while (dv->rdone != NULL) {
        struct rjob *j = dv->rdone;

        dv->rdone = j->next;
        if (j->res != NULL)
            freeaddrinfo(j->res);
        free(j);
    }
    sl_db_free(&dv->sdb);
    if (dv->ep >= 0)
        close(dv->ep);
    if (dv->wake_fd >= 0)
        close(dv->wake_fd);
    if (dv->resolved_fd >= 0)
        close(dv->resolved_fd);
    SSL_CTX_free(dv->tls);
    json_decref(dv->results);
    OPENSSL_cleanse(dv->key, sizeof(dv->key));
    pthread_mutex_destroy(&dv->rmu);
    pthread_cond_destroy(&dv->rcond);
    free(dv);
}
