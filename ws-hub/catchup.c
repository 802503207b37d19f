/*
 * catchup.c: what a subscriber receives before the live stream, read off
 * the loop thread.
 *
 * A subscriber is registered for live events (which the loop holds for
 * it) before its catch-up job is queued here, so nothing falls between
 * the two. Then one thread, in turn for each job:
 *   - without ?since= on /ws/runs/{id} or /ws/pipeline/{id}: reads the
 *     current state from PostgreSQL (the run, or the pipeline's pending
 *     and running runs), in the subscriber's organisation (row-level
 *     security, as the API's role), as execution_update messages whose
 *     seq is the last the hub had seen when it registered the subscriber;
 *   - with ?since=<seq>: replays the organisation's events after seq from
 *     JetStream (an ordered consumer filtered on sluice.event.<tenant>.>,
 *     from since + 1) until the consumer has nothing pending, at most
 *     job->max events per job (the loop asks again when the subscriber's
 *     queue has drained), noting the stream's first sequence so that the
 *     loop can say when since is older than what the stream keeps, or
 *     beyond its end (then the replay stands at the stream's last
 *     sequence, and the live events after it are sent).
 * The job goes back to the loop through the inbox; the loop sends the
 * results, then the held live events after the last one replayed.
 *
 * Jobs wait in one queue per organisation, and the organisations with
 * jobs take turns, one job each (jobq.c).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "clock.h"
#include "err.h"
#include "hub.h"
#include "json.h"
#include "log.h"

#define REPLAY_WAIT_MS 2000

enum { ST_SNAP_RUN, ST_SNAP_PIPELINE };

static const struct sl_db_stmt stmts[] = {
    [ST_SNAP_RUN] = {"hub_snap_run",
                     "SELECT id, pipeline_id, status, "
                     "coalesce(records_processed, 0), error_message "
                     "FROM runs WHERE id = $1::uuid",
                     true},
    [ST_SNAP_PIPELINE] = {"hub_snap_pipeline",
                          "SELECT id, pipeline_id, status, "
                          "coalesce(records_processed, 0), error_message "
                          "FROM runs WHERE pipeline_id = $1::uuid "
                          "AND status IN ('pending', 'running') "
                          "ORDER BY created_at, id LIMIT 200",
                          true},
};

void
hub_catchup_destroy(struct hub_catchup *job)
{
    if (job == NULL)
        return;
    for (int i = 0; i < job->nevs; i++)
        hub_event_destroy(job->evs[i]);
    free(job->evs);
    /* Frames of a job not yet handed to the loop are the job's alone. */
    for (int i = 0; i < job->nsnap; i++)
        hub_frame_unref(job->snap[i]);
    free(job->snap);
    free(job);
}

static void
snapshot(struct hub_ctx *ctx, struct hub_catchup *job)
{
    const char *params[1] = {job->t.target};
    PGresult *res = NULL;
    int rc, n;

    rc = sl_db_exec_scoped(&ctx->catchup_db, job->t.tenant, NULL,
                           job->t.scope == SL_TICKET_RUN ? ST_SNAP_RUN
                                                         : ST_SNAP_PIPELINE,
                           1, params, &res);
    if (rc != SL_OK) {
        job->error = rc;
        goto out;
    }
    n = PQntuples(res);
    job->snap = calloc((size_t)n + 1, sizeof(*job->snap));
    if (job->snap == NULL) {
        job->error = SL_ENOMEM;
        goto out;
    }
    for (int i = 0; i < n; i++) {
        const char *status = PQgetvalue(res, i, 2);
        json_t *m = json_pack(
            "{s:s, s:n, s:I, s:s, s:o, s:b, s:s, s:s, s:s, s:s, s:i, s:n, "
            "s:I, s:o}",
            "type", "execution_update", "event_id", "seq",
            (json_int_t)job->snap_seq, "event_type", "run.snapshot",
            "timestamp", sl_json_time(sl_clock_now()), "snapshot", 1,
            "execution_id", PQgetvalue(res, i, 0), "run_id",
            PQgetvalue(res, i, 0), "pipeline_id", PQgetvalue(res, i, 1),
            "status", status, "progress",
            strcmp(status, "completed") == 0 ? 100 : 0, "current_node",
            "rows_processed", (json_int_t)atoll(PQgetvalue(res, i, 3)),
            "error_message", sl_json_str_or_null(sl_db_value(res, i, 4)));
        char *text = m ? json_dumps(m, JSON_COMPACT) : NULL;

        json_decref(m);
        if (text == NULL)
            continue;
        job->snap[job->nsnap] = hub_frame_create(text, strlen(text), 0);
        if (job->snap[job->nsnap] != NULL)
            job->nsnap++;
        free(text);
    }
out:
    PQclear(res);
}

static void
replay(struct hub_ctx *ctx, struct hub_catchup *job)
{
    char subject[160];
    jsSubOptions so;
    jsStreamInfo *si = NULL;
    jsConsumerInfo *ci = NULL;
    jsErrCode jerr = 0;
    natsSubscription *sub = NULL;
    uint64_t last_stream = 0;
    size_t bytes = 0;

    job->last_seq = job->since;
    if (ctx->bus.js == NULL ||
        js_GetStreamInfo(&si, ctx->bus.js, SL_STREAM_EVENTS, NULL, &jerr) !=
            NATS_OK) {
        job->error = SL_EBUS;
        return;
    }
    job->first_seq = si->State.FirstSeq;
    last_stream = si->State.LastSeq;
    job->stream_last = last_stream;
    jsStreamInfo_Destroy(si);
    if (job->since > last_stream) {
        /* Beyond the stream's end (a since from elsewhere, or a stream
         * made anew): what follows its last event is live; the loop says
         * so with a gap message. */
        job->last_seq = last_stream;
        return;
    }
    if (job->since == last_stream)
        return; /* nothing after since */
    snprintf(subject, sizeof(subject), "%s%s.>", SL_SUBJ_EVENT_PREFIX,
             job->t.tenant);
    jsSubOptions_Init(&so);
    so.Stream = SL_STREAM_EVENTS;
    so.Ordered = true;
    so.Config.DeliverPolicy = js_DeliverByStartSequence;
    so.Config.OptStartSeq = job->since + 1;
    if (js_SubscribeSync(&sub, ctx->bus.js, subject, NULL, &so, &jerr) !=
            NATS_OK ||
        natsSubscription_GetConsumerInfo(&ci, sub, NULL, &jerr) != NATS_OK) {
        job->error = SL_EBUS;
        goto out;
    }
    job->evs = calloc((size_t)job->max, sizeof(*job->evs));
    if (job->evs == NULL) {
        job->error = SL_ENOMEM;
        goto out;
    }
    /* Nothing pending and nothing delivered: none of this organisation's
     * events follows since. */
    if (ci->NumPending == 0 && ci->Delivered.Consumer == 0)
        goto out;
    for (;;) {
        natsMsg *msg = NULL;
        jsMsgMetaData *meta = NULL;
        uint64_t seq, pending;
        natsStatus s;

        s = natsSubscription_NextMsg(&msg, sub, REPLAY_WAIT_MS);
        if (s != NATS_OK) {
            job->error = s == NATS_TIMEOUT ? 0 : SL_EBUS;
            break;
        }
        if (natsMsg_GetMetaData(&meta, msg) != NATS_OK) {
            natsMsg_Destroy(msg);
            continue;
        }
        seq = meta->Sequence.Stream;
        pending = meta->NumPending;
        jsMsgMetaData_Destroy(meta);
        if (seq > job->last_seq) {
            struct hub_event *ev =
                hub_event_parse(natsMsg_GetSubject(msg), natsMsg_GetData(msg),
                                (size_t)natsMsg_GetDataLength(msg), seq);

            if (ev != NULL) {
                job->evs[job->nevs++] = ev;
                bytes += ev->frame->len;
            }
            job->last_seq = seq;
        }
        natsMsg_Destroy(msg);
        if (pending == 0)
            break; /* up to the stream's end, for this organisation */
        if (job->nevs >= job->max || bytes >= job->max_bytes) {
            job->more = true;
            break;
        }
    }
out:
    jsConsumerInfo_Destroy(ci);
    if (sub != NULL) {
        natsSubscription_Unsubscribe(sub);
        natsSubscription_Destroy(sub);
    }
}

static void *
worker(void *arg)
{
    struct hub_ctx *ctx = arg;

    for (;;) {
        struct hub_catchup *job;
        struct hub_item *item;

        pthread_mutex_lock(&ctx->jobs_mu);
        while (ctx->turns_head == NULL && !ctx->jobs_stop)
            pthread_cond_wait(&ctx->jobs_cond, &ctx->jobs_mu);
        if (ctx->jobs_stop) {
            pthread_mutex_unlock(&ctx->jobs_mu);
            break;
        }
        job = hub_jobq_take(ctx);
        pthread_mutex_unlock(&ctx->jobs_mu);

        if (job->snapshot)
            snapshot(ctx, job);
        else
            replay(ctx, job);
        item = calloc(1, sizeof(*item));
        if (item == NULL) {
            /* The loop still holds the subscriber: it is not freed here
             * (sub is the loop's to release); it stays catching up. */
            job->sub = NULL;
            hub_catchup_destroy(job);
            continue;
        }
        item->kind = HUB_ITEM_CATCHUP;
        item->job = job;
        hub_inbox_put(&ctx->inbox, item);
    }
    return NULL;
}

int
hub_catchup_start(struct hub_ctx *ctx)
{
    pthread_mutex_init(&ctx->jobs_mu, NULL);
    pthread_cond_init(&ctx->jobs_cond, NULL);
    if (sl_db_init(&ctx->catchup_db, ctx->d.conf.db_url, "sluice-hub-catchup",
                   ctx->d.conf.db_statement_timeout_ms, stmts,
                   sizeof(stmts) / sizeof(stmts[0]), &ctx->d.log) != SL_OK)
        return SL_EDBCONN;
    if (pthread_create(&ctx->catchup_thread, NULL, worker, ctx) != 0)
        return SL_ERR;
    ctx->catchup_started = true;
    return 0;
}

void
hub_catchup_stop(struct hub_ctx *ctx)
{
    struct hub_catchup *job;

    if (!ctx->catchup_started)
        return;
    pthread_mutex_lock(&ctx->jobs_mu);
    ctx->jobs_stop = true;
    pthread_cond_broadcast(&ctx->jobs_cond);
    pthread_mutex_unlock(&ctx->jobs_mu);
    pthread_join(ctx->catchup_thread, NULL);
    while ((job = hub_jobq_take(ctx)) != NULL)
        hub_catchup_destroy(job);
    sl_db_free(&ctx->catchup_db);
    ctx->catchup_started = false;
}

int
hub_catchup_submit(struct hub_ctx *ctx, struct hub_catchup *job)
{
    int rc;

    pthread_mutex_lock(&ctx->jobs_mu);
    rc = hub_jobq_put(ctx, job);
    if (rc == 0)
        pthread_cond_broadcast(&ctx->jobs_cond);
    pthread_mutex_unlock(&ctx->jobs_mu);
    return rc;
}
