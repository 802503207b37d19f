/*
 * conn.c: one WebSocket subscriber, from its handshake to its close, on
 * the loop thread.
 *
 * Handshake: nginx has asked the API (auth_request) and passes its
 * ticket as X-Sluice-Ticket (lib/ticket.h). The hub verifies it (HMAC,
 * compared in constant time) before the upgrade and refuses a missing,
 * forged or expired one with 401; the path must be the one the ticket
 * names (/ws/events, /ws/pipeline/{id}, /ws/runs/{id}). Query
 * parameters: since=<seq> (resume), event_type= and pipeline_id= (comma
 * lists; /ws/events' filters).
 *
 * Order of what a subscriber receives: the welcome; a gap message when
 * since is older than the stream keeps, or beyond its last event (then
 * what follows that event is sent); the snapshot or the replay
 * (catchup.c); {"type": "caught_up", "seq"}; then live events. Live events that
 * arrive meanwhile are held, then sent if after the last one replayed: every
 * event at most once, none missed.
 *
 * Each subscriber has a send queue bounded by frames and bytes
 * (hub_queue_frames, hub_queue_kb); one that overflows is closed (1008,
 * "send queue overflow; resume with since=<last seq delivered>"), so a
 * slow client never holds up the loop or the others. Its memory is its
 * own pool (see struct hub_sub in hub.h): idle, the struct only.
 *
 * Close codes: 1008 for the credential's expiry ("token expired"), the
 * end of the session's lifetime (hub_session_max_seconds, whatever the
 * credential: an API key's is none, and a revoked key is refused only at
 * a handshake), a malformed since, an overflow; 1009 for a client message over
 * SL_MAX_WS_MESSAGE; 1001 when the hub stops.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <jansson.h>

#include "clock.h"
#include "err.h"
#include "hub.h"
#include "json.h"
#include "limits.h"
#include "log.h"

/* How many frames one writeable callback sends at most (fairness); more
 * than the loop dispatches between two turns (HUB_DRAIN_MAX), so that a
 * client that reads keeps up with a burst. */
#define WRITE_BURST 256
/* Events per catch-up job at most. */
#define CATCHUP_BATCH 512

/* A subscriber's struct fits in its pool's first block. */
_Static_assert(sizeof(struct hub_sub) <= HUB_POOL_BLOCK,
               "struct hub_sub outgrew HUB_POOL_BLOCK");

/* The send queue back to its first slots, the block beyond them given
 * back. */
static void
queue_to_base(struct hub_sub *s)
{
    if (s->q != s->qbase)
        sl_pfree_block(s->pool, s->q);
    s->q = s->qbase;
    s->qcap = HUB_QUEUE_BASE;
    s->qhead = 0;
}

static void
drop_queue(struct hub_sub *s)
{
    while (s->qlen > 0) {
        hub_frame_unref(s->q[s->qhead]);
        s->qhead = (s->qhead + 1) % s->qcap;
        s->qlen--;
    }
    queue_to_base(s);
    s->qbytes = 0;
    for (unsigned i = 0; i < s->nheld; i++)
        hub_frame_unref(s->held[i]);
    sl_pfree_block(s->pool, s->held);
    s->held = NULL;
    s->nheld = s->capheld = 0;
    s->heldbytes = 0;
}

void
hub_sub_unref(struct hub_sub *s)
{
    if (s == NULL || --s->refs > 0)
        return;
    /* The frames are shared: references, released one by one. The rest
     * is the pool's, s included. */
    drop_queue(s);
    sl_pool_destroy(s->pool);
}

void
hub_sub_close(struct hub_sub *s, int code, const char *reason)
{
    if (s->closing || s->wsi == NULL)
        return;
    s->closing = true;
    s->close_code = code;
    snprintf(s->close_reason, sizeof(s->close_reason), "%s", reason);
    drop_queue(s);
    lws_callback_on_writable(s->wsi);
    /* A peer that reads nothing never lets the close frame out. */
    lws_set_timeout(s->wsi, PENDING_TIMEOUT_CLOSE_SEND, 5);
}

static void
overflow(struct hub_sub *s)
{
    char reason[96];

    snprintf(reason, sizeof(reason),
             "send queue overflow; resume with since=%llu",
             (unsigned long long)s->sent_seq);
    hub_sub_close(s, LWS_CLOSE_STATUS_POLICY_VIOLATION, reason);
}

/* Appends f to the send queue (a reference); false when it is full. */
static bool
enqueue(struct hub_sub *s, struct hub_frame *f)
{
    const struct sl_conf *conf = &s->ctx->d.conf;

    if (s->qlen >= (unsigned)conf->hub_queue_frames ||
        s->qbytes + f->len > (size_t)conf->hub_queue_kb * 1024)
        return false;
    if (s->qlen == s->qcap) {
        /* Past the first slots: the whole bound at once, given back when
         * the queue is empty again (writeable()). */
        unsigned cap = (unsigned)conf->hub_queue_frames;
        struct hub_frame **q = sl_palloc_block(s->pool, cap * sizeof(*q));

        if (q == NULL)
            return false;
        for (unsigned i = 0; i < s->qlen; i++)
            q[i] = s->q[(s->qhead + i) % s->qcap];
        if (s->q != s->qbase)
            sl_pfree_block(s->pool, s->q);
        s->q = q;
        s->qcap = cap;
        s->qhead = 0;
    }
    hub_frame_ref(f);
    s->q[(s->qhead + s->qlen) % s->qcap] = f;
    s->qlen++;
    s->qbytes += f->len;
    if (f->seq > s->last_seq)
        s->last_seq = f->seq;
    lws_callback_on_writable(s->wsi);
    return true;
}

/* Holds f while s catches up (a reference); false when full. */
static bool
hold(struct hub_sub *s, struct hub_frame *f)
{
    const struct sl_conf *conf = &s->ctx->d.conf;

    if (s->nheld >= (unsigned)conf->hub_queue_frames ||
        s->heldbytes + f->len > (size_t)conf->hub_queue_kb * 1024)
        return false;
    if (s->nheld == s->capheld) {
        /* The whole bound at once, given back once caught up. */
        unsigned cap = (unsigned)conf->hub_queue_frames;
        struct hub_frame **h = sl_palloc_block(s->pool, cap * sizeof(*h));

        if (h == NULL)
            return false;
        if (s->nheld > 0)
            memcpy(h, s->held, s->nheld * sizeof(*h));
        sl_pfree_block(s->pool, s->held);
        s->held = h;
        s->capheld = cap;
    }
    hub_frame_ref(f);
    s->held[s->nheld++] = f;
    s->heldbytes += f->len;
    return true;
}

void
hub_sub_deliver(struct hub_sub *s, struct hub_frame *f)
{
    if (s->wsi == NULL || s->closing)
        return;
    if (f->seq != 0 && f->seq <= s->last_seq)
        return; /* had it already (a replay reached past it) */
    if (s->catching_up ? !hold(s, f) : !enqueue(s, f))
        overflow(s);
}

/* Queues a message of the hub's own (welcome, pong, gap...): j taken. */
static void
send_own(struct hub_sub *s, json_t *j)
{
    char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
    struct hub_frame *f = text ? hub_frame_create(text, strlen(text), 0) : NULL;

    json_decref(j);
    free(text);
    if (f == NULL)
        return;
    if (s->wsi != NULL && !s->closing && !enqueue(s, f))
        overflow(s);
    hub_frame_unref(f);
}

/* --- the handshake ---------------------------------------------------------
 */

/* One filter list's names, pointing into a query or a message (borrowed);
 * not set: no filter (every one passes). */
struct name_list {
    bool set;
    int n;
    const char *v[SL_MAX_WS_FILTERS];
    size_t len[SL_MAX_WS_FILTERS];
};

/*
 * Makes lists[0] s's event type filter and lists[1] its pipeline filter,
 * copied into one block of s's pool; the block of the filters they
 * replace is given back. Returns 0, or SL_ENOMEM (s's filters unchanged).
 */
static int
set_filters(struct hub_sub *s, const struct name_list lists[2])
{
    char **ptrs[2] = {NULL, NULL};
    size_t size = 0;
    char *mem = NULL, *at;

    for (int k = 0; k < 2; k++) {
        if (!lists[k].set)
            continue;
        size += (size_t)(lists[k].n + 1) * sizeof(char *);
        for (int i = 0; i < lists[k].n; i++)
            size += lists[k].len[i] + 1;
    }
    if (size > 0 && (mem = sl_palloc_block(s->pool, size)) == NULL)
        return SL_ENOMEM;
    /* The pointer arrays first (the block is aligned), then the names. */
    at = mem;
    for (int k = 0; k < 2; k++)
        if (lists[k].set) {
            ptrs[k] = (char **)(void *)at;
            at += (size_t)(lists[k].n + 1) * sizeof(char *);
        }
    for (int k = 0; k < 2; k++) {
        for (int i = 0; lists[k].set && i < lists[k].n; i++) {
            ptrs[k][i] = at;
            memcpy(at, lists[k].v[i], lists[k].len[i]);
            at[lists[k].len[i]] = '\0';
            at += lists[k].len[i] + 1;
        }
        if (ptrs[k] != NULL)
            ptrs[k][lists[k].n] = NULL;
    }
    sl_pfree_block(s->pool, s->filters);
    s->filters = mem;
    s->types = ptrs[0];
    s->ntypes = lists[0].n;
    s->pipes = ptrs[1];
    s->npipes = lists[1].n;
    return SL_OK;
}

/* Splits v, a comma list of at most SL_MAX_WS_FILTERS names, into out
 * (pointing into v). An empty list, or one with too many names or a name
 * too long, is no filter (out->set false). */
static void
split_list(const char *v, struct name_list *out)
{
    out->set = false;
    out->n = 0;
    while (*v != '\0') {
        const char *comma = strchr(v, ',');
        size_t len = comma ? (size_t)(comma - v) : strlen(v);

        if (len > 0) {
            if (out->n >= SL_MAX_WS_FILTERS || len > 64) {
                out->n = 0;
                return;
            }
            out->v[out->n] = v;
            out->len[out->n++] = len;
        }
        v += len + (comma ? 1 : 0);
    }
    out->set = out->n > 0;
}

/*
 * Refuses a handshake with status and a JSON error body, written straight
 * to the socket (libwebsockets closes a connection whose filter refuses
 * it without answering). A few hundred bytes on a fresh socket: the write
 * does not block. Returns -1, the filter's refusal.
 */
static int
refuse(struct lws *wsi, unsigned status)
{
    static const struct {
        unsigned status;
        const char *reason, *code, *message, *headers;
    } answers[] = {
        {401, "Unauthorized", "AUTHENTICATION_FAILED",
         "A valid hub ticket is required (connect through nginx's /ws/)", ""},
        {404, "Not Found", "NOT_FOUND", "No such resource", ""},
        {429, "Too Many Requests", "TOO_MANY_SUBSCRIBERS",
         "The organization has as many live subscribers on this server as "
         "it may; close one or retry later",
         "Retry-After: 30\r\n"},
        {503, "Service Unavailable", "SERVICE_UNAVAILABLE",
         "The hub takes no more subscribers now", ""},
    };
    const size_t n_answers = sizeof(answers) / sizeof(answers[0]);
    char buf[768], body[320];
    size_t i = 0;
    int n, b;

    /* An unlisted status answers as the last (503). */
    while (i < n_answers - 1 && answers[i].status != status)
        i++;
    b = snprintf(body, sizeof(body),
                 "{\"error\":{\"code\":\"%s\",\"message\":\"%s\","
                 "\"details\":{}}}",
                 answers[i].code, answers[i].message);
    n = snprintf(buf, sizeof(buf),
                 "HTTP/1.1 %u %s\r\nContent-Type: application/json\r\n"
                 "%sContent-Length: %d\r\nConnection: close\r\n\r\n%s",
                 answers[i].status, answers[i].reason, answers[i].headers, b,
                 body);
    if (n > 0 && (size_t)n < sizeof(buf))
        (void)!send(lws_get_socket_fd(wsi), buf, (size_t)n, MSG_NOSIGNAL);
    return -1;
}

/* The scope a path names, and its id in id (idsz bytes); -1 for none. */
static int
path_scope(const char *uri, char *id, size_t idsz)
{
    static const struct {
        const char *prefix;
        enum sl_ticket_scope scope;
    } paths[] = {
        {"/ws/pipeline/", SL_TICKET_PIPELINE},
        {"/ws/runs/", SL_TICKET_RUN},
    };
    const char *q = strchr(uri, '?');
    size_t n = q ? (size_t)(q - uri) : strlen(uri);

    if (n == 10 && strncmp(uri, "/ws/events", 10) == 0) {
        id[0] = '\0';
        return SL_TICKET_EVENTS;
    }
    for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
        size_t pl = strlen(paths[i].prefix);

        if (n > pl && n - pl < idsz && strncmp(uri, paths[i].prefix, pl) == 0 &&
            memchr(uri + pl, '/', n - pl) == NULL) {
            memcpy(id, uri + pl, n - pl);
            id[n - pl] = '\0';
            return (int)paths[i].scope;
        }
    }
    return -1;
}

/*
 * LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION: verifies the ticket and the
 * path, and reads the query. Returns 0 to accept (with *slot set), or
 * nonzero after answering 401, 404, 429 (the organisation's subscribers
 * at hub_max_subscribers_per_org) or 503.
 */
static int
admit(struct hub_ctx *ctx, struct lws *wsi, struct hub_sub **slot)
{
    const char *key = ctx->d.conf.hub_ticket_key;
    char ticket[SL_MAX_TICKET + 1], uri[512], id[64], arg[512], arg2[512];
    struct name_list lists[2];
    struct hub_sub *s;
    sl_pool *pool;
    struct sl_ticket t;
    const char *v;
    int scope;

    if (key == NULL || strlen(key) < 32)
        return refuse(wsi, 503);
    if (lws_hdr_custom_copy(wsi, ticket, sizeof(ticket),
                            "x-sluice-ticket:", 16) <= 0 ||
        sl_ticket_verify(key, strlen(key), ticket, sl_clock_now(), &t) != 0)
        return refuse(wsi, 401);
    if (lws_hdr_copy(wsi, uri, sizeof(uri), WSI_TOKEN_GET_URI) <= 0)
        return refuse(wsi, 404);
    scope = path_scope(uri, id, sizeof(id));
    if (scope < 0)
        return refuse(wsi, 404);
    /* The ticket names the path it was issued for, id and all. */
    if (scope != (int)t.scope || strcmp(id, t.target) != 0)
        return refuse(wsi, 401);
    if (ctx->subscribers >= ctx->d.conf.hub_max_subscribers)
        return refuse(wsi, 503);
    /* One organisation cannot take the whole hub from the others. */
    if (hub_org_count(ctx, t.tenant) >= ctx->d.conf.hub_max_subscribers_per_org)
        return refuse(wsi, 429);
    pool = sl_pool_create(HUB_POOL_BLOCK, 0);
    s = pool ? sl_pcalloc(pool, sizeof(*s)) : NULL;
    if (s == NULL) {
        sl_pool_destroy(pool);
        return refuse(wsi, 503);
    }
    s->pool = pool;
    s->q = s->qbase;
    s->qcap = HUB_QUEUE_BASE;
    s->ctx = ctx;
    s->refs = 1;
    s->t = t;
    v = lws_get_urlarg_by_name(wsi, "since=", arg, sizeof(arg));
    if (v != NULL) {
        char *end;

        errno = 0;
        s->since = strtoull(v, &end, 10);
        s->has_since = true;
        if (*v == '\0' || !isdigit((unsigned char)*v) || *end != '\0' ||
            errno != 0) {
            s->closing = true;
            s->close_code = LWS_CLOSE_STATUS_POLICY_VIOLATION;
            snprintf(s->close_reason, sizeof(s->close_reason),
                     "malformed since: a stream sequence number expected");
        }
    }
    if (t.scope == SL_TICKET_EVENTS) {
        lists[0].set = lists[1].set = false;
        v = lws_get_urlarg_by_name(wsi, "event_type=", arg, sizeof(arg));
        if (v != NULL)
            split_list(v, &lists[0]);
        v = lws_get_urlarg_by_name(wsi, "pipeline_id=", arg2, sizeof(arg2));
        if (v != NULL)
            split_list(v, &lists[1]);
        /* Out of memory: no filter, as for a list that is not one. */
        (void)set_filters(s, lists);
    }
    *slot = s;
    return 0;
}

/* Says that what follows is live, from after seq. */
static void
caught_up(struct hub_sub *s, uint64_t seq)
{
    s->caught_seq = seq;
    send_own(s, json_pack("{s:s, s:I}", "type", "caught_up", "seq",
                          (json_int_t)seq));
}

static void
start_catchup(struct hub_sub *s, uint64_t since, bool snapshot)
{
    struct hub_catchup *job = calloc(1, sizeof(*job));

    if (job == NULL) {
        hub_sub_close(s, LWS_CLOSE_STATUS_UNEXPECTED_CONDITION,
                      "out of memory");
        return;
    }
    s->catching_up = true;
    s->refs++;
    job->sub = s;
    job->t = s->t;
    job->snapshot = snapshot;
    job->since = since;
    job->snap_seq = s->ctx->loop_seq;
    /* A batch fills at most half the send queue. */
    job->max = s->ctx->d.conf.hub_queue_frames / 2;
    if (job->max > CATCHUP_BATCH)
        job->max = CATCHUP_BATCH;
    job->max_bytes = (size_t)s->ctx->d.conf.hub_queue_kb * 1024 / 2;
    if (hub_catchup_submit(s->ctx, job) != 0) {
        s->refs--;
        free(job);
        hub_sub_close(s, LWS_CLOSE_STATUS_UNEXPECTED_CONDITION,
                      "out of memory");
    }
}

/* Replaces /ws/events' filters from a subscribe message. */
static void
subscribe(struct hub_sub *s, json_t *msg)
{
    static const char *const names[2] = {"event_types", "pipeline_ids"};
    struct name_list lists[2];

    if (s->t.scope != SL_TICKET_EVENTS) {
        send_own(s, json_pack("{s:s, s:s}", "type", "error", "message",
                              "subscribe applies to /ws/events only"));
        return;
    }
    for (int k = 0; k < 2; k++) {
        json_t *a = json_object_get(msg, names[k]), *v;
        size_t i;

        lists[k].set = false;
        lists[k].n = 0;
        if (a == NULL || json_is_null(a))
            continue;
        if (!json_is_array(a) || json_array_size(a) > SL_MAX_WS_FILTERS)
            goto bad;
        /* An empty array is a filter that passes nothing. */
        lists[k].set = true;
        json_array_foreach(a, i, v)
        {
            if (!json_is_string(v) || json_string_length(v) > 64)
                goto bad;
            lists[k].v[lists[k].n] = json_string_value(v);
            lists[k].len[lists[k].n++] = strlen(json_string_value(v));
        }
    }
    if (set_filters(s, lists) != 0)
        goto bad;
    send_own(s,
             json_pack("{s:s, s:O?, s:O?}", "type", "subscribed", "event_types",
                       json_object_get(msg, "event_types"), "pipeline_ids",
                       json_object_get(msg, "pipeline_ids")));
    return;
bad:
    send_own(s, json_pack("{s:s, s:s}", "type", "error", "message",
                          "subscribe takes event_types and pipeline_ids: "
                          "arrays of at most " SL_LIMIT_TEXT(
                              SL_MAX_WS_FILTERS) " names"));
}

/* One whole client message. */
static void
client_message(struct hub_sub *s, const char *text, size_t len)
{
    json_t *j;
    const char *type;

    if (len == 4 && memcmp(text, "ping", 4) == 0) {
        send_own(s, json_pack("{s:s, s:o}", "type", "pong", "timestamp",
                              sl_json_time(sl_clock_now())));
        return;
    }
    j = json_loadb(text, len, 0, NULL);
    type = json_string_value(json_object_get(j, "type"));
    if (type != NULL && strcmp(type, "ping") == 0)
        send_own(s, json_pack("{s:s, s:o}", "type", "pong", "timestamp",
                              sl_json_time(sl_clock_now())));
    else if (type != NULL && strcmp(type, "subscribe") == 0)
        subscribe(s, j);
    else
        send_own(s, json_pack("{s:s, s:s}", "type", "error", "message",
                              "unknown message: ping and subscribe are "
                              "understood"));
    json_decref(j);
}

static int
receive(struct hub_sub *s, struct lws *wsi, const char *in, size_t len)
{
    bool final = lws_is_final_fragment(wsi);

    if (s->rxlen + len > SL_MAX_WS_MESSAGE) {
        lws_close_reason(wsi, LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE,
                         (unsigned char *)"message too large", 17);
        return -1;
    }
    if (final && s->rx == NULL) {
        client_message(s, in, len);
        return 0;
    }
    if (s->rx == NULL &&
        (s->rx = sl_palloc_block(s->pool, SL_MAX_WS_MESSAGE)) == NULL)
        return -1;
    memcpy(s->rx + s->rxlen, in, len);
    s->rxlen += len;
    if (final) {
        client_message(s, s->rx, s->rxlen);
        sl_pfree_block(s->pool, s->rx);
        s->rx = NULL;
        s->rxlen = 0;
    }
    return 0;
}

static int
writeable(struct hub_sub *s, struct lws *wsi)
{
    int burst = 0;

    if (s->closing) {
        lws_close_reason(wsi, (enum lws_close_status)s->close_code,
                         (unsigned char *)s->close_reason,
                         strlen(s->close_reason));
        return -1;
    }
    while (s->qlen > 0 && burst++ < WRITE_BURST) {
        struct hub_frame *f = s->q[s->qhead];

        if (lws_write(wsi, f->buf + LWS_PRE, f->len, LWS_WRITE_TEXT) <
            (int)f->len)
            return -1;
        if (f->seq > s->sent_seq)
            s->sent_seq = f->seq;
        s->qhead = (s->qhead + 1) % s->qcap;
        s->qlen--;
        s->qbytes -= f->len;
        hub_frame_unref(f);
        if (lws_send_pipe_choked(wsi))
            break;
    }
    if (s->qlen > 0) {
        lws_callback_on_writable(wsi);
    } else if (s->want_more) {
        s->want_more = false;
        start_catchup(s, s->last_seq, false);
    } else if (s->q != s->qbase) {
        /* Idle again: give back what a burst made it take. */
        queue_to_base(s);
    }
    return 0;
}

/* A catch-up job came back (loop thread). */
static void
catchup_done(struct hub_ctx *ctx, struct hub_catchup *job)
{
    struct hub_sub *s = job->sub;

    (void)ctx;
    if (s == NULL || s->wsi == NULL || s->closing)
        goto out;
    if (job->error != 0 && job->error != SL_ENOTFOUND) {
        hub_sub_close(s, LWS_CLOSE_STATUS_UNEXPECTED_CONDITION,
                      "catch-up failed; reconnect");
        goto out;
    }
    for (int i = 0; i < job->nsnap; i++)
        if (!enqueue(s, job->snap[i])) {
            overflow(s);
            goto out;
        }
    if (!job->snapshot && !s->gap_sent && job->since + 1 < job->first_seq) {
        /* since is older than what the stream keeps: say so, once. */
        s->gap_sent = true;
        send_own(s, json_pack("{s:s, s:I, s:I, s:s}", "type", "gap", "since",
                              (json_int_t)job->since, "resumes_at",
                              (json_int_t)job->first_seq, "message",
                              "events before resumes_at are no longer "
                              "kept; read the run's state again"));
    } else if (!job->snapshot && !s->gap_sent &&
               job->since > job->stream_last) {
        /* since is beyond the stream's end: the events after its last
         * one follow, once; say where they start. */
        s->gap_sent = true;
        send_own(s, json_pack("{s:s, s:I, s:I, s:s}", "type", "gap", "since",
                              (json_int_t)job->since, "resumes_at",
                              (json_int_t)(job->stream_last + 1), "message",
                              "since is beyond the stream's last event; "
                              "events resume at resumes_at"));
    }
    for (int i = 0; i < job->nevs; i++) {
        struct hub_event *ev = job->evs[i];

        if (!hub_sub_matches(s, ev) || ev->seq <= s->last_seq)
            continue;
        if (!enqueue(s, ev->frame)) {
            overflow(s);
            goto out;
        }
    }
    if (!job->snapshot && job->last_seq > s->last_seq)
        s->last_seq = job->last_seq;
    if (job->more) {
        /* The next batch once this one is on its way (writeable()); at
         * once when it queued nothing for s, since then no write is
         * coming to ask for it. */
        if (s->qlen > 0)
            s->want_more = true;
        else
            start_catchup(s, s->last_seq, false);
        goto out;
    }
    s->catching_up = false;
    caught_up(s, job->snapshot ? job->snap_seq : s->last_seq);
    {
        struct hub_frame **held = s->held;
        unsigned n = s->nheld;

        s->held = NULL;
        s->nheld = s->capheld = 0;
        s->heldbytes = 0;
        for (unsigned i = 0; i < n; i++) {
            hub_sub_deliver(s, held[i]);
            hub_frame_unref(held[i]);
        }
        sl_pfree_block(s->pool, held);
    }
out:
    hub_sub_unref(s);
    job->sub = NULL;
    hub_catchup_destroy(job);
}

/* The live feed was made again after events it had not delivered were
 * gone from the stream: every subscriber is told, as one whose since is
 * older than the stream keeps is. */
static void
feed_gap(struct hub_sub *s, void *arg)
{
    const struct hub_item *item = arg;

    send_own(s, json_pack("{s:s, s:I, s:I, s:s}", "type", "gap", "since",
                          (json_int_t)item->since, "resumes_at",
                          (json_int_t)item->resumes_at, "message",
                          "the live feed was interrupted and events before "
                          "resumes_at are no longer kept; read the run's "
                          "state again"));
}

void
hub_handle_item(struct hub_ctx *ctx, struct hub_item *item)
{
    switch (item->kind) {
    case HUB_ITEM_EVENT:
        if (item->ev->seq > ctx->loop_seq)
            ctx->loop_seq = item->ev->seq;
        hub_index_dispatch(ctx, item->ev);
        hub_event_destroy(item->ev);
        break;
    case HUB_ITEM_CATCHUP:
        catchup_done(ctx, item->job);
        break;
    case HUB_ITEM_FEED_GAP:
        hub_index_each(ctx, feed_gap, item);
        break;
    }
    free(item);
}

void
hub_drain(struct hub_ctx *ctx)
{
    bool more = false;
    struct hub_item *it = hub_inbox_take(&ctx->inbox, HUB_DRAIN_MAX, &more),
                    *next;

    for (; it != NULL; it = next) {
        next = it->next;
        hub_handle_item(ctx, it);
    }
    /* The rest after the sockets had their turn: a burst of events is
     * interleaved with writing, not queued whole before any write. */
    if (more)
        lws_cancel_service(ctx->lws);
}

/*
 * The timer: the credential expired, or the session reached
 * hub_session_max_seconds. The reason names the since to resume from:
 * the last event written, or, with nothing left to write after
 * caught_up, the seq caught_up named.
 */
static void
session_end(struct hub_sub *s)
{
    char reason[96];
    uint64_t since = s->sent_seq;

    if (s->timer_is_expiry) {
        hub_sub_close(s, LWS_CLOSE_STATUS_POLICY_VIOLATION, "token expired");
        return;
    }
    if (!s->catching_up && s->qlen == 0 && s->caught_seq > since)
        since = s->caught_seq;
    snprintf(reason, sizeof(reason),
             "session lifetime reached; reconnect with since=%llu",
             (unsigned long long)since);
    hub_sub_close(s, LWS_CLOSE_STATUS_POLICY_VIOLATION, reason);
}

static int
on_ws(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
      size_t len)
{
    struct lws_context *lc = lws_get_context(wsi);
    struct hub_ctx *ctx = lc ? lws_context_user(lc) : NULL;
    struct hub_sub **slot = user, *s = slot ? *slot : NULL;
    int64_t left;

    switch (reason) {
    case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
        if (ctx != NULL)
            hub_drain(ctx);
        return 0;
    case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
        if (slot == NULL)
            return refuse(wsi, 503);
        *slot = NULL;
        return admit(ctx, wsi, slot);
    case LWS_CALLBACK_ESTABLISHED:
        if (s == NULL)
            return -1;
        s->wsi = wsi;
        atomic_fetch_add(&ctx->clients, 1);
        ctx->subscribers++;
        if (hub_org_add(ctx, s->t.tenant) != 0)
            return -1;
        s->org_counted = true;
        send_own(s, json_pack("{s:s, s:s, s:o, s:s, s:I}", "type", "welcome",
                              "server", "sluice-hub " PACKAGE_VERSION,
                              "timestamp", sl_json_time(sl_clock_now()),
                              "scope", sl_ticket_scope_name(s->t.scope), "seq",
                              (json_int_t)ctx->loop_seq));
        if (s->closing) {
            lws_callback_on_writable(wsi);
            return 0;
        }
        if (hub_index_add(ctx, s) != 0)
            return -1;
        /* The credential's expiry, or the session's end if sooner. */
        left = ctx->d.conf.hub_session_max_seconds;
        if (s->t.cred_exp != 0 && s->t.cred_exp - sl_clock_now() < left) {
            left = s->t.cred_exp - sl_clock_now();
            s->timer_is_expiry = true;
        }
        lws_set_timer_usecs(wsi, left > 0 ? left * LWS_US_PER_SEC : 1);
        if (s->has_since)
            start_catchup(s, s->since, false);
        else if (s->t.scope != SL_TICKET_EVENTS)
            start_catchup(s, 0, true);
        else
            caught_up(s, ctx->loop_seq);
        return 0;
    case LWS_CALLBACK_TIMER:
        if (s != NULL)
            session_end(s);
        return 0;
    case LWS_CALLBACK_CLOSED:
        if (s == NULL)
            return 0;
        if (s->wsi != NULL) {
            atomic_fetch_sub(&ctx->clients, 1);
            ctx->subscribers--;
        }
        if (s->org_counted) {
            hub_org_remove(ctx, s->t.tenant);
            s->org_counted = false;
        }
        hub_index_remove(ctx, s);
        s->wsi = NULL;
        drop_queue(s);
        *slot = NULL;
        hub_sub_unref(s);
        return 0;
    case LWS_CALLBACK_RECEIVE:
        if (s == NULL)
            return -1;
        return receive(s, wsi, in, len);
    case LWS_CALLBACK_SERVER_WRITEABLE:
        if (s == NULL)
            return -1;
        return writeable(s, wsi);
    default:
        break;
    }
    return lws_callback_http_dummy(wsi, reason, user, in, len);
}

const struct lws_protocols hub_protocols[] = {
    /* First: WebSocket clients that name no subprotocol land here. The
     * per-session data is one pointer: the state itself (struct hub_sub)
     * is allocated when the ticket verifies. rx_buffer_size: 1 KB, client
     * messages are small (longer ones arrive in pieces). */
    {"sluice", on_ws, sizeof(struct hub_sub *), 1024, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0}, /* terminator */
};
