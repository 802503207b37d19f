/*
 * frame.c: an event, parsed once, becomes one WebSocket message built
 * once, in a reference-counted buffer that every matching subscriber's
 * send queue shares (hub.h).
 *
 * Messages are seed 004's: a run's lifecycle (pipeline.queued, .started,
 * .completed, .failed, .cancelled) and run.progress become
 * {"type": "execution_update", "execution_id", "run_id", "pipeline_id",
 * "status", "progress", "current_node", "rows_processed", ...}, with
 * status and rows_processed on every one (seed 002's client reads both);
 * run.log becomes {"type": "log", "execution_id", "timestamp", "level",
 * "message", "node_id"}; any other event {"type": "event", "event_type",
 * "data"}. Every message also carries event_id, seq (the events
 * stream's sequence: what ?since= takes), event_type and timestamp.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "bus.h"
#include "hub.h"

struct hub_frame *
hub_frame_create(const char *text, size_t len, uint64_t seq)
{
    struct hub_frame *f = malloc(sizeof(*f) + LWS_PRE + len);

    if (f == NULL)
        return NULL;
    f->refs = 1;
    f->seq = seq;
    f->len = len;
    memcpy(f->buf + LWS_PRE, text, len);
    return f;
}

void
hub_frame_ref(struct hub_frame *f)
{
    if (f != NULL)
        f->refs++;
}

void
hub_frame_unref(struct hub_frame *f)
{
    if (f != NULL && --f->refs == 0)
        free(f);
}

/* What an event type becomes. */
enum msg_kind { MSG_UPDATE, MSG_LOG, MSG_EVENT };

static const struct {
    const char *type;
    enum msg_kind kind;
    const char *status; /* the run's status it means; NULL: data's */
} kinds[] = {
    {"pipeline.queued", MSG_UPDATE, "pending"},
    {"pipeline.started", MSG_UPDATE, "running"},
    {"pipeline.completed", MSG_UPDATE, "completed"},
    {"pipeline.failed", MSG_UPDATE, "failed"},
    {"pipeline.cancelled", MSG_UPDATE, "cancelled"},
    {"run.progress", MSG_UPDATE, "running"},
    {"run.log", MSG_LOG, NULL},
};

static const char *
str(json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

/* Copies s (may be NULL) into dst of dstsz bytes; false when too long. */
static bool
copy(char *dst, size_t dstsz, const char *s)
{
    size_t n = s ? strlen(s) : 0;

    if (n >= dstsz)
        return false;
    memcpy(dst, s ? s : "", n + 1);
    return true;
}

/* Sets key to a copy of data's member from (or null) in m. */
static void
take(json_t *m, const char *key, json_t *data, const char *from)
{
    json_t *v = json_object_get(data, from);

    json_object_set_new(m, key, v ? json_incref(v) : json_null());
}

static json_t *
update_message(json_t *data, const char *status)
{
    json_t *m = json_object(), *v;
    const char *st = str(data, "status");

    json_object_set_new(m, "type", json_string("execution_update"));
    take(m, "execution_id", data, "execution_id");
    take(m, "run_id", data, "run_id");
    take(m, "pipeline_id", data, "pipeline_id");
    json_object_set_new(m, "status", json_string(st ? st : status));
    v = json_object_get(data, "progress");
    if (v == NULL)
        v = json_integer(strcmp(status, "completed") == 0 ? 100 : 0);
    else
        json_incref(v);
    json_object_set_new(m, "progress", v);
    take(m, "current_node", data, "current_node");
    v = json_object_get(data, "rows_processed");
    if (v == NULL)
        v = json_object_get(data, "records_processed");
    json_object_set_new(m, "rows_processed",
                        json_is_integer(v) ? json_incref(v) : json_integer(0));
    if (json_object_get(data, "records_failed") != NULL)
        take(m, "rows_failed", data, "records_failed");
    if (json_object_get(data, "error_message") != NULL)
        take(m, "error_message", data, "error_message");
    if (json_object_get(data, "duration_seconds") != NULL)
        take(m, "duration_seconds", data, "duration_seconds");
    if (json_object_get(data, "attempt") != NULL)
        take(m, "attempt", data, "attempt");
    return m;
}

static json_t *
log_message(json_t *data)
{
    json_t *m = json_object();

    json_object_set_new(m, "type", json_string("log"));
    take(m, "execution_id", data, "execution_id");
    take(m, "run_id", data, "run_id");
    take(m, "pipeline_id", data, "pipeline_id");
    take(m, "level", data, "level");
    take(m, "message", data, "message");
    take(m, "node_id", data, "node_id");
    return m;
}

struct hub_event *
hub_event_parse(const char *subject, const char *text, size_t len, uint64_t seq)
{
    static const size_t plen = sizeof(SL_SUBJ_EVENT_PREFIX) - 1;
    struct hub_event *ev = NULL;
    json_t *e, *data, *m = NULL;
    const char *type, *tenant, *dot, *pid, *rid;
    enum msg_kind kind = MSG_EVENT;
    const char *status = NULL;
    char *out = NULL;

    if (strncmp(subject, SL_SUBJ_EVENT_PREFIX, plen) != 0)
        return NULL;
    tenant = subject + plen;
    dot = strchr(tenant, '.');
    e = json_loadb(text, len, 0, NULL);
    data = json_object_get(e, "data");
    type = str(e, "event_type");
    if (dot == NULL || !json_is_object(data) || type == NULL)
        goto out;
    ev = calloc(1, sizeof(*ev));
    if (ev == NULL || (size_t)(dot - tenant) >= sizeof(ev->tenant))
        goto fail;
    memcpy(ev->tenant, tenant, (size_t)(dot - tenant));
    pid = str(data, "pipeline_id");
    rid = str(data, "run_id");
    if (rid == NULL)
        rid = str(data, "execution_id");
    if (!copy(ev->type, sizeof(ev->type), type) ||
        !copy(ev->pipeline_id, sizeof(ev->pipeline_id), pid) ||
        !copy(ev->run_id, sizeof(ev->run_id), rid))
        goto fail;
    ev->seq = seq;
    for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
        if (strcmp(type, kinds[i].type) == 0) {
            kind = kinds[i].kind;
            status = kinds[i].status;
        }
    switch (kind) {
    case MSG_UPDATE:
        m = update_message(data, status);
        break;
    case MSG_LOG:
        m = log_message(data);
        break;
    case MSG_EVENT:
        m = json_pack("{s:s, s:O}", "type", "event", "data", data);
        break;
    }
    if (m == NULL)
        goto fail;
    json_object_set(m, "event_id", json_object_get(e, "event_id"));
    json_object_set_new(m, "seq", json_integer((json_int_t)seq));
    json_object_set_new(m, "event_type", json_string(type));
    json_object_set(m, "timestamp", json_object_get(e, "timestamp"));
    out = json_dumps(m, JSON_COMPACT);
    if (out == NULL)
        goto fail;
    ev->frame = hub_frame_create(out, strlen(out), seq);
    if (ev->frame == NULL)
        goto fail;
    goto out;
fail:
    hub_event_destroy(ev);
    ev = NULL;
out:
    free(out);
    json_decref(m);
    json_decref(e);
    return ev;
}

void
hub_event_destroy(struct hub_event *ev)
{
    if (ev == NULL)
        return;
    hub_frame_unref(ev->frame);
    free(ev);
}

/* --- the inbox ------------------------------------------------------------ */

void
hub_inbox_init(struct hub_inbox *in, size_t max, struct lws_context *lws)
{
    memset(in, 0, sizeof(*in));
    pthread_mutex_init(&in->mu, NULL);
    pthread_cond_init(&in->room, NULL);
    in->max = max;
    in->lws = lws;
}

static void
item_free(struct hub_item *it)
{
    if (it->kind == HUB_ITEM_EVENT)
        hub_event_destroy(it->ev);
    else
        hub_catchup_destroy(it->job);
    free(it);
}

void
hub_inbox_free(struct hub_inbox *in)
{
    struct hub_item *it = in->head, *next;

    for (; it != NULL; it = next) {
        next = it->next;
        item_free(it);
    }
    pthread_mutex_destroy(&in->mu);
    pthread_cond_destroy(&in->room);
}

int
hub_inbox_put(struct hub_inbox *in, struct hub_item *item)
{
    pthread_mutex_lock(&in->mu);
    while (in->n >= in->max && !in->closed)
        pthread_cond_wait(&in->room, &in->mu);
    if (in->closed) {
        pthread_mutex_unlock(&in->mu);
        item_free(item);
        return -3; /* SL_EINVAL */
    }
    item->next = NULL;
    if (in->tail != NULL)
        in->tail->next = item;
    else
        in->head = item;
    in->tail = item;
    in->n++;
    pthread_mutex_unlock(&in->mu);
    lws_cancel_service(in->lws);
    return 0;
}

struct hub_item *
hub_inbox_take(struct hub_inbox *in, size_t max, bool *more)
{
    struct hub_item *first, *last;
    size_t k = 1;

    pthread_mutex_lock(&in->mu);
    first = last = in->head;
    if (first == NULL) {
        *more = false;
        pthread_mutex_unlock(&in->mu);
        return NULL;
    }
    while (k < max && last->next != NULL) {
        last = last->next;
        k++;
    }
    in->head = last->next;
    if (in->head == NULL)
        in->tail = NULL;
    last->next = NULL;
    in->n -= k;
    *more = in->head != NULL;
    pthread_cond_broadcast(&in->room);
    pthread_mutex_unlock(&in->mu);
    return first;
}

void
hub_inbox_close(struct hub_inbox *in)
{
    pthread_mutex_lock(&in->mu);
    in->closed = true;
    pthread_cond_broadcast(&in->room);
    pthread_mutex_unlock(&in->mu);
}
