/*
 * feed.c: the hub's live feed of events.
 *
 * Each hub creates its own ephemeral, ordered JetStream push consumer on
 * sluice.event.> (the SLUICE_EVENTS stream), delivering only events that
 * arrive after it is made. So hubs share nothing: two hubs each see every
 * event, and a hub that restarts needs nothing from before (its clients
 * come back with ?since=). An ordered consumer is recreated by nats.c
 * after a gap or a reconnection, from the last sequence it delivered; the
 * stream sequence of each message (its metadata) is the message's seq.
 *
 * The callback runs on a nats.c thread: it parses the event and builds
 * its frame there (frame.c), then hands it to the loop (hub.h's inbox).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "hub.h"
#include "log.h"

static void
on_event(natsConnection *nc, natsSubscription *sub, natsMsg *msg, void *closure)
{
    struct hub_ctx *ctx = closure;
    jsMsgMetaData *meta = NULL;
    struct hub_event *ev = NULL;
    struct hub_item *item;

    (void)nc;
    (void)sub;
    if (natsMsg_GetMetaData(&meta, msg) == NATS_OK) {
        ev = hub_event_parse(natsMsg_GetSubject(msg), natsMsg_GetData(msg),
                             (size_t)natsMsg_GetDataLength(msg),
                             meta->Sequence.Stream);
        atomic_store(&ctx->feed_seq, meta->Sequence.Stream);
        jsMsgMetaData_Destroy(meta);
    }
    natsMsg_Destroy(msg);
    if (ev == NULL)
        return;
    item = calloc(1, sizeof(*item));
    if (item == NULL) {
        hub_event_destroy(ev);
        return;
    }
    item->kind = HUB_ITEM_EVENT;
    item->ev = ev;
    hub_inbox_put(&ctx->inbox, item);
}

int
hub_feed_start(struct hub_ctx *ctx)
{
    jsSubOptions so;
    jsErrCode jerr = 0;
    natsSubscription *sub = NULL;
    natsStatus s;
    int rc = 0;

    pthread_mutex_lock(&ctx->feed_mu);
    if (ctx->feed != NULL && natsSubscription_IsValid(ctx->feed))
        goto out;
    if (ctx->feed != NULL) {
        natsSubscription_Destroy(ctx->feed);
        ctx->feed = NULL;
    }
    if (ctx->bus.js == NULL || !sl_bus_connected(&ctx->bus)) {
        rc = SL_EBUS;
        goto out;
    }
    jsSubOptions_Init(&so);
    so.Stream = SL_STREAM_EVENTS;
    so.Ordered = true;
    so.Config.DeliverPolicy = js_DeliverNew;
    s = js_Subscribe(&sub, ctx->bus.js, SL_SUBJ_EVENT_PREFIX ">", on_event, ctx,
                     NULL, &so, &jerr);
    if (s != NATS_OK) {
        sl_log_warn(&ctx->d.log, "live feed not started: %s (%d)",
                    natsStatus_GetText(s), (int)jerr);
        rc = SL_EBUS;
        goto out;
    }
    /* A flood is bounded by the inbox, not by nats.c's defaults. */
    natsSubscription_SetPendingLimits(sub, 1000000, 512 * 1024 * 1024);
    ctx->feed = sub;
    sl_log_info(&ctx->d.log, "live feed started on %s>", SL_SUBJ_EVENT_PREFIX);
out:
    pthread_mutex_unlock(&ctx->feed_mu);
    return rc;
}

void
hub_feed_stop(struct hub_ctx *ctx)
{
    pthread_mutex_lock(&ctx->feed_mu);
    if (ctx->feed != NULL) {
        natsSubscription_Unsubscribe(ctx->feed);
        natsSubscription_Destroy(ctx->feed);
        ctx->feed = NULL;
    }
    pthread_mutex_unlock(&ctx->feed_mu);
}
