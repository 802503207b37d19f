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
 * When the hub itself must make the feed again (nats.c gave the
 * subscription up, or SIGHUP), it starts from the event after the last
 * one the feed saw (feed_seq), so that its subscribers miss nothing. If
 * the stream no longer holds that event, the feed starts at the stream's
 * first and the loop sends every subscriber a gap message (conn.c).
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

/* Tells the loop that the events after since and before resumes_at are
 * gone (HUB_ITEM_FEED_GAP). */
static void
post_gap(struct hub_ctx *ctx, uint64_t since, uint64_t resumes_at)
{
    struct hub_item *item = calloc(1, sizeof(*item));

    if (item == NULL)
        return;
    item->kind = HUB_ITEM_FEED_GAP;
    item->since = since;
    item->resumes_at = resumes_at;
    hub_inbox_put(&ctx->inbox, item);
}

/*
 * Sets so's start: from the event after *after (the last one the feed
 * saw), or when that is 0 (a first feed) after the stream's last event,
 * which *after becomes. Returns 0, or SL_EBUS when the stream's state
 * cannot be read; *gap_at is the sequence it resumes at when events after
 * *after are gone already (else 0).
 */
static int
resume_point(struct hub_ctx *ctx, uint64_t *after, jsSubOptions *so,
             uint64_t *gap_at)
{
    jsStreamInfo *si = NULL;
    jsErrCode jerr = 0;
    uint64_t first, last;

    *gap_at = 0;
    if (js_GetStreamInfo(&si, ctx->bus.js, SL_STREAM_EVENTS, NULL, &jerr) !=
        NATS_OK)
        return SL_EBUS;
    first = si->State.FirstSeq;
    last = si->State.LastSeq;
    jsStreamInfo_Destroy(si);
    if (*after == 0) {
        *after = last;
    } else if (*after > last) {
        /* Not the stream the feed read: made anew. Its subscribers' seqs
         * mean nothing there; they resume when they reconnect. */
        sl_log_warn(&ctx->d.log,
                    "the events stream ends at %llu, before the feed's "
                    "last event %llu: live from its new events",
                    (unsigned long long)last, (unsigned long long)*after);
        *after = last;
    }
    so->Config.DeliverPolicy = js_DeliverByStartSequence;
    so->Config.OptStartSeq = *after + 1;
    if (*after + 1 < first) {
        so->Config.OptStartSeq = first;
        *gap_at = first;
    }
    return 0;
}

int
hub_feed_start(struct hub_ctx *ctx)
{
    jsSubOptions so;
    jsErrCode jerr = 0;
    natsSubscription *sub = NULL;
    natsStatus s;
    uint_fast64_t seen;
    uint64_t after, gap_at = 0;
    bool again;
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
    seen = atomic_load(&ctx->feed_seq);
    after = seen;
    again = after > 0;
    if (resume_point(ctx, &after, &so, &gap_at) != 0) {
        sl_log_warn(&ctx->d.log, "live feed not started: no stream info");
        rc = SL_EBUS;
        goto out;
    }
    if (gap_at != 0) {
        /* Told before the new feed's first event, and once: the feed
         * stands just before the stream's first event from now on. */
        sl_log_warn(&ctx->d.log,
                    "live feed: events %llu to %llu are gone from the "
                    "stream; subscribers are told",
                    (unsigned long long)after + 1,
                    (unsigned long long)gap_at - 1);
        post_gap(ctx, after, gap_at);
        after = gap_at - 1;
        if (atomic_compare_exchange_strong(&ctx->feed_seq, &seen, after))
            seen = after;
    }
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
    /* Where the feed stands, unless an event came in already. */
    atomic_compare_exchange_strong(&ctx->feed_seq, &seen, after);
    if (again)
        sl_log_info(&ctx->d.log, "live feed started again after %llu",
                    (unsigned long long)after);
    else
        sl_log_info(&ctx->d.log, "live feed started on %s>",
                    SL_SUBJ_EVENT_PREFIX);
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
