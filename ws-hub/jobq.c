/*
 * jobq.c: the catch-up thread's queue of jobs, fair between
 * organisations.
 *
 * Each organisation's jobs wait in a queue of their own (found by tenant
 * in ctx->jobqs, a chained hash table); the organisations with jobs wait
 * in ctx's turns list. Taking a job takes the first organisation's first
 * job and sends that organisation to the back of the turns (or away, when
 * it has no more). So a replay of many batches, or many subscribers of
 * one organisation at once, delay another organisation's snapshot by one
 * job per organisation ahead of it, never by all of their jobs. The
 * caller holds ctx->jobs_mu.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "hub.h"

/* An organisation's waiting jobs; in ctx->jobqs (by tenant) and in the
 * turns list while it has any. */
struct hub_jobq {
    struct hub_jobq *next;  /* in the turns list */
    struct hub_jobq *hnext; /* in its bucket */
    struct hub_catchup *head, *tail;
    char tenant[64];
};

static uint32_t
jobq_hash(const char *s)
{
    uint32_t h = 2166136261u; /* FNV-1a */

    for (; *s != '\0'; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h % HUB_JOBQ_BUCKETS;
}

struct hub_catchup *
hub_jobq_take(struct hub_ctx *ctx)
{
    struct hub_jobq *q = ctx->turns_head, **pp;
    struct hub_catchup *job;

    if (q == NULL)
        return NULL;
    job = q->head;
    q->head = job->next;
    job->next = NULL;
    ctx->turns_head = q->next;
    if (ctx->turns_head == NULL)
        ctx->turns_tail = NULL;
    q->next = NULL;
    if (q->head != NULL) {
        if (ctx->turns_tail != NULL)
            ctx->turns_tail->next = q;
        else
            ctx->turns_head = q;
        ctx->turns_tail = q;
        return job;
    }
    for (pp = &ctx->jobqs[jobq_hash(q->tenant)]; *pp != q; pp = &(*pp)->hnext)
        ;
    *pp = q->hnext;
    free(q);
    return job;
}

int
hub_jobq_put(struct hub_ctx *ctx, struct hub_catchup *job)
{
    uint32_t b = jobq_hash(job->t.tenant);
    struct hub_jobq *q;

    job->next = NULL;
    for (q = ctx->jobqs[b]; q != NULL; q = q->hnext)
        if (strcmp(q->tenant, job->t.tenant) == 0)
            break;
    if (q == NULL) {
        q = calloc(1, sizeof(*q));
        if (q == NULL)
            return SL_ENOMEM;
        snprintf(q->tenant, sizeof(q->tenant), "%s", job->t.tenant);
        q->hnext = ctx->jobqs[b];
        ctx->jobqs[b] = q;
        if (ctx->turns_tail != NULL)
            ctx->turns_tail->next = q;
        else
            ctx->turns_head = q;
        ctx->turns_tail = q;
    }
    if (q->tail != NULL)
        q->tail->next = job;
    else
        q->head = job;
    q->tail = job;
    return 0;
}
