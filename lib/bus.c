/*
 * bus.c: NATS connection, streams, JetStream publish, request-reply.
 */
#include "bus.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"

static void
on_disconnected(natsConnection *nc, void *closure)
{
    struct sl_bus *bus = closure;

    (void)nc;
    if (bus->log != NULL)
        sl_log_warn(bus->log, "nats disconnected");
}

static void
on_reconnected(natsConnection *nc, void *closure)
{
    struct sl_bus *bus = closure;

    (void)nc;
    if (bus->log != NULL)
        sl_log_info(bus->log, "nats reconnected");
}

static void
on_connected(natsConnection *nc, void *closure)
{
    struct sl_bus *bus = closure;

    (void)nc;
    if (bus->log != NULL)
        sl_log_info(bus->log, "nats connected");
}

/*
 * Copies url into out (outsz bytes) with any user:password@ replaced by
 * ***@, so that credentials in a URL never reach a log.
 */
static void
redact(const char *url, char *out, size_t outsz)
{
    size_t o = 0;

    for (const char *p = url ? url : ""; *p != '\0' && o + 1 < outsz;) {
        const char *scheme = strstr(p, "://"), *at, *end;

        if (scheme == NULL) {
            o += (size_t)snprintf(out + o, outsz - o, "%s", p);
            break;
        }
        scheme += 3;
        end = p + strcspn(p, ",");
        at = memchr(scheme, '@', (size_t)(end - scheme));
        o += (size_t)snprintf(out + o, outsz - o, "%.*s%s", (int)(scheme - p),
                              p, at ? "***@" : "");
        if (o >= outsz)
            break;
        p = at ? at + 1 : scheme;
        o += (size_t)snprintf(out + o, outsz - o, "%.*s", (int)(end - p), p);
        if (o >= outsz)
            break;
        p = end;
        if (*p == ',') {
            o += (size_t)snprintf(out + o, outsz - o, ",");
            p++;
        }
    }
    out[o < outsz ? o : outsz - 1] = '\0';
}

/*
 * True when url is a comma-separated list of nats:// or tls:// URLs with a
 * host. The library would otherwise retry a hopeless address forever.
 */
static bool
url_valid(const char *url)
{
    const char *p = url;

    if (url == NULL || *url == '\0')
        return false;
    while (*p != '\0') {
        size_t n = strcspn(p, ","), skip;

        if (strncmp(p, "nats://", 7) == 0)
            skip = 7;
        else if (strncmp(p, "tls://", 6) == 0)
            skip = 6;
        else
            return false;
        if (n <= skip || p[skip] == ':' || memchr(p, ' ', n) != NULL)
            return false;
        p += n;
        if (*p == ',')
            p++;
    }
    return true;
}

int
sl_bus_connect(struct sl_bus *bus, const char *url, const char *name,
               struct sl_logger *log)
{
    natsOptions *opts = NULL;
    natsStatus s = NATS_OK;
    char shown[512];
    int rc = SL_EBUS;

    memset(bus, 0, sizeof(*bus));
    bus->log = log;
    redact(url, shown, sizeof(shown));
    if (!url_valid(url)) {
        if (log != NULL)
            sl_log_error(log, "nats: invalid URL '%s'", shown);
        return SL_EINVAL;
    }
    if (natsOptions_Create(&opts) != NATS_OK)
        return SL_ENOMEM;
    s = natsOptions_SetURL(opts, url);
    if (s != NATS_OK) {
        rc = SL_EINVAL;
        goto out;
    }
    if (name != NULL)
        s = natsOptions_SetName(opts, name);
    if (s == NATS_OK)
        s = natsOptions_SetTimeout(opts, 2000);
    if (s == NATS_OK)
        s = natsOptions_SetAllowReconnect(opts, true);
    if (s == NATS_OK)
        s = natsOptions_SetMaxReconnect(opts, -1);
    if (s == NATS_OK)
        s = natsOptions_SetReconnectWait(opts, 250);
    if (s == NATS_OK)
        s = natsOptions_SetPingInterval(opts, 5000);
    if (s == NATS_OK)
        s = natsOptions_SetDisconnectedCB(opts, on_disconnected, bus);
    if (s == NATS_OK)
        s = natsOptions_SetReconnectedCB(opts, on_reconnected, bus);
    if (s == NATS_OK)
        s = natsOptions_SetRetryOnFailedConnect(opts, true, on_connected, bus);
    if (s != NATS_OK)
        goto out;
    s = natsConnection_Connect(&bus->nc, opts);
    if (s != NATS_OK && s != NATS_NOT_YET_CONNECTED)
        goto out;
    if (natsConnection_JetStream(&bus->js, bus->nc, NULL) != NATS_OK)
        goto out;
    rc = SL_OK;
out:
    natsOptions_Destroy(opts);
    if (rc != SL_OK) {
        if (log != NULL)
            sl_log_error(log, "nats: cannot connect to %s: %s", shown,
                         natsStatus_GetText(s));
        sl_bus_close(bus);
    }
    return rc;
}

void
sl_bus_close(struct sl_bus *bus)
{
    if (bus->js != NULL)
        jsCtx_Destroy(bus->js);
    if (bus->nc != NULL) {
        natsConnection_Close(bus->nc);
        natsConnection_Destroy(bus->nc);
    }
    bus->js = NULL;
    bus->nc = NULL;
}

void
sl_bus_shutdown(void)
{
    nats_CloseAndWait(2000);
}

bool
sl_bus_connected(const struct sl_bus *bus)
{
    return bus->nc != NULL &&
           natsConnection_Status(bus->nc) == NATS_CONN_STATUS_CONNECTED;
}

/*
 * Creates stream name on subject unless it exists; max_age_s and
 * max_bytes (0: unlimited) are its limits, and an existing stream whose
 * limits differ is updated to them (so that the operator's retention
 * settings take effect on the next start).
 */
static int
ensure_stream(struct sl_bus *bus, const char *name, const char *subject,
              jsRetentionPolicy retention, int64_t max_age_s, int64_t max_bytes)
{
    jsStreamConfig cfg;
    jsStreamInfo *si = NULL;
    jsErrCode jerr = 0;
    natsStatus s;
    const char *subjects[1] = {subject};
    int64_t age_ns = max_age_s * 1000000000;
    int64_t bytes = max_bytes > 0 ? max_bytes : -1;

    s = js_GetStreamInfo(&si, bus->js, name, NULL, &jerr);
    if (s == NATS_OK) {
        if (si->Config->MaxAge != age_ns || si->Config->MaxBytes != bytes) {
            jsStreamInfo *nsi = NULL;

            si->Config->MaxAge = age_ns;
            si->Config->MaxBytes = bytes;
            s = js_UpdateStream(&nsi, bus->js, si->Config, NULL, &jerr);
            jsStreamInfo_Destroy(nsi);
            if (bus->log != NULL)
                sl_log_info(bus->log, "nats: stream %s retention set: %s (%d)",
                            name, natsStatus_GetText(s), (int)jerr);
        }
        jsStreamInfo_Destroy(si);
        return SL_OK;
    }
    if (s != NATS_NOT_FOUND)
        return SL_EBUS;
    jsStreamConfig_Init(&cfg);
    cfg.Name = name;
    cfg.Subjects = subjects;
    cfg.SubjectsLen = 1;
    cfg.Retention = retention;
    cfg.Storage = js_FileStorage;
    cfg.Duplicates = (int64_t)120 * 1000000000; /* nanoseconds */
    cfg.MaxAge = age_ns;
    cfg.MaxBytes = bytes;
    s = js_AddStream(&si, bus->js, &cfg, NULL, &jerr);
    if (s == NATS_OK) {
        jsStreamInfo_Destroy(si);
        if (bus->log != NULL)
            sl_log_info(bus->log, "nats: created stream %s", name);
        return SL_OK;
    }
    /* Another process created it meanwhile. */
    if (jerr == JSStreamNameExistErr)
        return SL_OK;
    if (bus->log != NULL)
        sl_log_warn(bus->log, "nats: cannot create stream %s: %s (%d)", name,
                    natsStatus_GetText(s), (int)jerr);
    return SL_EBUS;
}

int
sl_bus_ensure_streams(struct sl_bus *bus)
{
    int rc;

    if (bus->js == NULL)
        return SL_EBUS;
    rc = ensure_stream(bus, SL_STREAM_RUNS, SL_SUBJ_RUN_REQUEST,
                       js_WorkQueuePolicy, (int64_t)7 * 24 * 3600, 0);
    if (rc == SL_OK)
        rc = ensure_stream(bus, SL_STREAM_EVENTS, SL_SUBJ_EVENT_PREFIX ">",
                           js_LimitsPolicy, bus->events_max_age_s,
                           bus->events_max_bytes);
    return rc;
}

int64_t
sl_bus_max_payload(const struct sl_bus *bus)
{
    return sl_bus_connected(bus) ? natsConnection_GetMaxPayload(bus->nc) : 0;
}

int
sl_bus_publish(struct sl_bus *bus, const char *subject, const void *data,
               size_t len, const char *msg_id, int timeout_ms, bool *duplicate)
{
    jsPubOptions po;
    jsPubAck *ack = NULL;
    jsErrCode jerr = 0;
    natsStatus s;

    if (duplicate != NULL)
        *duplicate = false;
    if (bus->js == NULL || len > (size_t)INT32_MAX)
        return SL_EBUS;
    if (!sl_bus_connected(bus))
        return SL_EBUS;
    if ((int64_t)len > natsConnection_GetMaxPayload(bus->nc))
        return SL_ETOOBIG;
    jsPubOptions_Init(&po);
    po.MsgId = msg_id;
    po.MaxWait = timeout_ms;
    s = js_Publish(&ack, bus->js, subject, data, (int)len, &po, &jerr);
    if (s == NATS_OK) {
        if (duplicate != NULL)
            *duplicate = ack->Duplicate;
        jsPubAck_Destroy(ack);
        return SL_OK;
    }
    if (bus->log != NULL)
        sl_log_warn(bus->log, "nats: publish to %s failed: %s (%d)", subject,
                    natsStatus_GetText(s), (int)jerr);
    if (s == NATS_TIMEOUT)
        return SL_ETIMEDOUT;
    /* Nothing answered the subject: no stream takes it, or JetStream is
     * off (nats.c then says JSNotEnabledErr either way). */
    if (s == NATS_NO_RESPONDERS)
        return SL_ENOTFOUND;
    if (jerr == JSStreamMessageExceedsMaximumErr)
        return SL_ETOOBIG;
    return SL_EBUS;
}

bool
sl_bus_stream_subject(const char *subject)
{
    return subject != NULL && (strcmp(subject, SL_SUBJ_RUN_REQUEST) == 0 ||
                               strncmp(subject, SL_SUBJ_EVENT_PREFIX,
                                       strlen(SL_SUBJ_EVENT_PREFIX)) == 0);
}

int
sl_bus_request(struct sl_bus *bus, const char *subject, const void *data,
               size_t len, int timeout_ms, char **reply, size_t *rlen)
{
    natsMsg *msg = NULL;
    natsStatus s;
    int n;

    *reply = NULL;
    *rlen = 0;
    if (bus->nc == NULL || len > (size_t)INT32_MAX)
        return SL_EBUS;
    if (!sl_bus_connected(bus))
        return SL_EBUS;
    s = natsConnection_Request(&msg, bus->nc, subject, data, (int)len,
                               timeout_ms);
    if (s == NATS_TIMEOUT || s == NATS_NO_RESPONDERS)
        return SL_ETIMEDOUT;
    if (s != NATS_OK)
        return SL_EBUS;
    n = natsMsg_GetDataLength(msg);
    *reply = malloc((size_t)n + 1);
    if (*reply == NULL) {
        natsMsg_Destroy(msg);
        return SL_ENOMEM;
    }
    memcpy(*reply, natsMsg_GetData(msg), (size_t)n);
    (*reply)[n] = '\0';
    *rlen = (size_t)n;
    natsMsg_Destroy(msg);
    return SL_OK;
}

int
sl_bus_subscribe(struct sl_bus *bus, const char *subject, const char *queue,
                 natsMsgHandler cb, void *closure, natsSubscription **sub)
{
    natsStatus s;

    *sub = NULL;
    if (bus->nc == NULL)
        return SL_EBUS;
    if (queue != NULL)
        s = natsConnection_QueueSubscribe(sub, bus->nc, subject, queue, cb,
                                          closure);
    else
        s = natsConnection_Subscribe(sub, bus->nc, subject, cb, closure);
    return s == NATS_OK ? SL_OK : SL_EBUS;
}

int
sl_bus_reply(struct sl_bus *bus, natsMsg *msg, const void *data, size_t len)
{
    const char *reply = natsMsg_GetReply(msg);

    if (bus->nc == NULL || reply == NULL || len > (size_t)INT32_MAX)
        return SL_EBUS;
    return natsConnection_Publish(bus->nc, reply, data, (int)len) == NATS_OK
               ? SL_OK
               : SL_EBUS;
}

int
sl_bus_rtt(struct sl_bus *bus, double *ms)
{
    int64_t ns = 0;

    if (!sl_bus_connected(bus))
        return SL_EBUS;
    if (natsConnection_GetRTT(bus->nc, &ns) != NATS_OK)
        return SL_EBUS;
    *ms = (double)ns / 1e6;
    return SL_OK;
}

int
sl_bus_pull_subscribe(struct sl_bus *bus, const char *subject,
                      const char *durable, int ack_wait_ms,
                      natsSubscription **sub)
{
    jsSubOptions so;
    jsErrCode jerr = 0;
    natsStatus s;

    *sub = NULL;
    if (bus->js == NULL)
        return SL_EBUS;
    jsSubOptions_Init(&so);
    so.Config.AckPolicy = js_AckExplicit;
    so.Config.AckWait = (int64_t)ack_wait_ms * 1000000;
    so.Config.MaxAckPending = 10000;
    s = js_PullSubscribe(sub, bus->js, subject, durable, NULL, &so, &jerr);
    if (s != NATS_OK) {
        if (bus->log != NULL)
            sl_log_warn(bus->log, "nats: cannot subscribe to %s as %s: %s (%d)",
                        subject, durable, natsStatus_GetText(s), (int)jerr);
        *sub = NULL;
        return SL_EBUS;
    }
    return SL_OK;
}

int
sl_bus_fetch(natsSubscription *sub, int timeout_ms, natsMsg **msg)
{
    natsMsgList list = {0};
    natsStatus s;

    *msg = NULL;
    s = natsSubscription_Fetch(&list, sub, 1, timeout_ms, NULL);
    if (s == NATS_TIMEOUT || (s == NATS_OK && list.Count == 0)) {
        natsMsgList_Destroy(&list);
        return SL_ETIMEDOUT;
    }
    if (s != NATS_OK) {
        natsMsgList_Destroy(&list);
        return SL_EBUS;
    }
    *msg = list.Msgs[0];
    list.Msgs[0] = NULL;
    natsMsgList_Destroy(&list);
    return SL_OK;
}
