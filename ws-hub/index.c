/*
 * index.c: which subscribers an event is for, without a scan of them all.
 *
 * Each subscriber sits under one key, made of its organisation and its
 * scope: "e|<tenant>" for /ws/events, "p|<tenant>|<pipeline id>" for
 * /ws/pipeline/{id}, "r|<tenant>|<run id>" for /ws/runs/{id}. An event
 * of tenant T, pipeline P and run R looks up exactly three keys; the
 * organisation is part of every key, so one organisation's events cannot
 * reach another's subscribers whatever ids they share. Keys live in a
 * chained hash table of HUB_INDEX_BUCKETS buckets and are freed when
 * their last subscriber leaves. The same table counts each organisation's
 * subscribers ("o|<tenant>", no subscriber list), for the hub's cap per
 * organisation. Loop thread only.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "hub.h"

#define KEY_MAX 128

struct hub_key {
    struct hub_key *next; /* in its bucket */
    struct hub_sub *subs; /* a doubly linked list */
    int64_t count;        /* an "o|" key's: its organisation's subscribers */
    char name[];
};

static uint32_t
hash(const char *s)
{
    uint32_t h = 2166136261u; /* FNV-1a */

    for (; *s != '\0'; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}

static void
key_of(char *out, char kind, const char *tenant, const char *id)
{
    if (id == NULL)
        snprintf(out, KEY_MAX, "%c|%s", kind, tenant);
    else
        snprintf(out, KEY_MAX, "%c|%s|%s", kind, tenant, id);
}

static struct hub_key *
lookup(struct hub_ctx *ctx, const char *name)
{
    struct hub_key *k = ctx->index[hash(name) % HUB_INDEX_BUCKETS];

    for (; k != NULL; k = k->next)
        if (strcmp(k->name, name) == 0)
            return k;
    return NULL;
}

static void
sub_key(const struct hub_sub *s, char *out)
{
    switch (s->t.scope) {
    case SL_TICKET_PIPELINE:
        key_of(out, 'p', s->t.tenant, s->t.target);
        break;
    case SL_TICKET_RUN:
        key_of(out, 'r', s->t.tenant, s->t.target);
        break;
    default:
        key_of(out, 'e', s->t.tenant, NULL);
        break;
    }
}

/* The key name, made if missing; NULL when out of memory. */
static struct hub_key *
lookup_or_add(struct hub_ctx *ctx, const char *name)
{
    struct hub_key *k = lookup(ctx, name);
    uint32_t b = hash(name) % HUB_INDEX_BUCKETS;

    if (k != NULL)
        return k;
    k = malloc(sizeof(*k) + strlen(name) + 1);
    if (k == NULL)
        return NULL;
    strcpy(k->name, name);
    k->subs = NULL;
    k->count = 0;
    k->next = ctx->index[b];
    ctx->index[b] = k;
    return k;
}

static void
unlink_key(struct hub_ctx *ctx, struct hub_key *k)
{
    struct hub_key **pp;

    for (pp = &ctx->index[hash(k->name) % HUB_INDEX_BUCKETS]; *pp != NULL;
         pp = &(*pp)->next)
        if (*pp == k) {
            *pp = k->next;
            break;
        }
    free(k);
}

int
hub_index_add(struct hub_ctx *ctx, struct hub_sub *s)
{
    char name[KEY_MAX];
    struct hub_key *k;

    sub_key(s, name);
    k = lookup_or_add(ctx, name);
    if (k == NULL)
        return SL_ENOMEM;
    s->key = k;
    s->prev = NULL;
    s->next = k->subs;
    if (k->subs != NULL)
        k->subs->prev = s;
    k->subs = s;
    return 0;
}

void
hub_index_remove(struct hub_ctx *ctx, struct hub_sub *s)
{
    struct hub_key *k = s->key;

    if (k == NULL)
        return;
    if (s->prev != NULL)
        s->prev->next = s->next;
    else
        k->subs = s->next;
    if (s->next != NULL)
        s->next->prev = s->prev;
    s->key = NULL;
    s->prev = s->next = NULL;
    if (k->subs == NULL)
        unlink_key(ctx, k);
}

int64_t
hub_org_count(struct hub_ctx *ctx, const char *tenant)
{
    char name[KEY_MAX];
    struct hub_key *k;

    key_of(name, 'o', tenant, NULL);
    k = lookup(ctx, name);
    return k ? k->count : 0;
}

int
hub_org_add(struct hub_ctx *ctx, const char *tenant)
{
    char name[KEY_MAX];
    struct hub_key *k;

    key_of(name, 'o', tenant, NULL);
    k = lookup_or_add(ctx, name);
    if (k == NULL)
        return SL_ENOMEM;
    k->count++;
    return 0;
}

void
hub_org_remove(struct hub_ctx *ctx, const char *tenant)
{
    char name[KEY_MAX];
    struct hub_key *k;

    key_of(name, 'o', tenant, NULL);
    k = lookup(ctx, name);
    if (k != NULL && --k->count <= 0)
        unlink_key(ctx, k);
}

static bool
listed(char **list, int n, const char *v)
{
    if (list == NULL)
        return true;
    for (int i = 0; i < n; i++)
        if (strcmp(list[i], v) == 0)
            return true;
    return false;
}

bool
hub_sub_matches(const struct hub_sub *s, const struct hub_event *ev)
{
    if (strcmp(s->t.tenant, ev->tenant) != 0)
        return false;
    switch (s->t.scope) {
    case SL_TICKET_PIPELINE:
        return strcmp(s->t.target, ev->pipeline_id) == 0;
    case SL_TICKET_RUN:
        return strcmp(s->t.target, ev->run_id) == 0;
    default:
        return listed(s->types, s->ntypes, ev->type) &&
               listed(s->pipes, s->npipes, ev->pipeline_id);
    }
}

static void
deliver_all(struct hub_key *k, const struct hub_event *ev)
{
    struct hub_sub *s, *next;

    if (k == NULL)
        return;
    for (s = k->subs; s != NULL; s = next) {
        next = s->next; /* delivering may close s, not unlink it */
        if (hub_sub_matches(s, ev))
            hub_sub_deliver(s, ev->frame);
    }
}

void
hub_index_dispatch(struct hub_ctx *ctx, const struct hub_event *ev)
{
    char name[KEY_MAX];

    key_of(name, 'e', ev->tenant, NULL);
    deliver_all(lookup(ctx, name), ev);
    if (ev->pipeline_id[0] != '\0') {
        key_of(name, 'p', ev->tenant, ev->pipeline_id);
        deliver_all(lookup(ctx, name), ev);
    }
    if (ev->run_id[0] != '\0') {
        key_of(name, 'r', ev->tenant, ev->run_id);
        deliver_all(lookup(ctx, name), ev);
    }
}

void
hub_index_each(struct hub_ctx *ctx, void (*fn)(struct hub_sub *, void *),
               void *arg)
{
    for (size_t b = 0; b < HUB_INDEX_BUCKETS; b++)
        for (struct hub_key *k = ctx->index[b]; k != NULL; k = k->next)
            for (struct hub_sub *s = k->subs, *next; s != NULL; s = next) {
                next = s->next;
                fn(s, arg);
            }
}
