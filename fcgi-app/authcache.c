/*
 * authcache.c: the shared cache of token checks (see authcache.h).
 *
 * Layout, in one shared anonymous mapping: the TTL, the user and tenant
 * epoch counters, then a direct-mapped table of entries. Each entry has a
 * sequence number: even when stable, odd while a writer fills it. A writer
 * claims an entry by moving its sequence from even to odd (losing the race
 * means another worker is filling it: this one just does not cache); a
 * reader copies the entry and uses the copy only if the sequence was even
 * and unchanged across the copy. A worker that dies mid-write leaves its
 * entry odd: that one slot then never hits, which costs only speed.
 */
#include "authcache.h"

#include <stdatomic.h>
#include <stddef.h>
#include <string.h>
#include <sys/mman.h>

#include "clock.h"

#define USER_EPOCHS   65536
#define TENANT_EPOCHS 4096
#define SLOTS         4096

struct slot {
    _Atomic uint32_t seq;
    uint32_t user_epoch;
    uint32_t tenant_epoch;
    uint32_t user_bucket;
    uint32_t tenant_bucket;
    int64_t expires_us; /* monotonic, system-wide */
    struct api_auth_entry e;
};

struct api_authcache {
    _Atomic int64_t ttl_us; /* the master changes it on reload */
    _Atomic uint32_t user_epochs[USER_EPOCHS];
    _Atomic uint32_t tenant_epochs[TENANT_EPOCHS];
    struct slot slots[SLOTS];
};

/* FNV-1a over the bytes of a and b. */
static uint32_t
hash2(const char *a, const char *b)
{
    uint32_t h = 2166136261u;

    for (; a && *a; a++)
        h = (h ^ (unsigned char)*a) * 16777619u;
    h = (h ^ 0xff) * 16777619u;
    for (; b && *b; b++)
        h = (h ^ (unsigned char)*b) * 16777619u;
    return h;
}

struct api_authcache *
api_authcache_create(int ttl_ms)
{
    struct api_authcache *c = mmap(NULL, sizeof(*c), PROT_READ | PROT_WRITE,
                                   MAP_SHARED | MAP_ANONYMOUS, -1, 0);

    if (c == MAP_FAILED)
        return NULL;
    /* The mapping is zeroed: every sequence even, every epoch 0. */
    atomic_store(&c->ttl_us, (int64_t)ttl_ms * 1000);
    return c;
}

void
api_authcache_destroy(struct api_authcache *c)
{
    if (c != NULL)
        munmap(c, sizeof(*c));
}

static uint32_t
user_bucket(const char *user)
{
    return hash2(user, NULL) % USER_EPOCHS;
}

static uint32_t
tenant_bucket(const char *tenant)
{
    return hash2(tenant, NULL) % TENANT_EPOCHS;
}

void
api_authcache_set_ttl(struct api_authcache *c, int ttl_ms)
{
    if (c != NULL)
        atomic_store(&c->ttl_us, (int64_t)ttl_ms * 1000);
}

void
api_authcache_epochs(struct api_authcache *c, const char *user,
                     const char *tenant, struct api_auth_epochs *out)
{
    if (c == NULL) {
        out->user = out->tenant = 0;
        return;
    }
    out->user = atomic_load_explicit(&c->user_epochs[user_bucket(user)],
                                     memory_order_acquire);
    out->tenant = atomic_load_explicit(&c->tenant_epochs[tenant_bucket(tenant)],
                                       memory_order_acquire);
}

bool
api_authcache_get(struct api_authcache *c, const char *jti, const char *org,
                  bool need_orgs, struct api_auth_entry *out)
{
    struct slot *s;
    struct slot copy;
    uint32_t seq;

    if (c == NULL || atomic_load(&c->ttl_us) == 0)
        return false;
    s = &c->slots[hash2(jti, org) % SLOTS];
    seq = atomic_load_explicit(&s->seq, memory_order_acquire);
    if (seq & 1)
        return false;
    memcpy(&copy, s, sizeof(copy));
    atomic_thread_fence(memory_order_acquire);
    if (atomic_load_explicit(&s->seq, memory_order_relaxed) != seq)
        return false;
    if (copy.expires_us == 0 || copy.expires_us < sl_clock_mono_us() ||
        strcmp(copy.e.jti, jti) != 0 || strcmp(copy.e.org, org) != 0 ||
        (need_orgs && !copy.e.has_orgs))
        return false;
    /* Anything that changed the user's or the tenant's standing since? */
    if (atomic_load_explicit(&c->user_epochs[copy.user_bucket],
                             memory_order_acquire) != copy.user_epoch ||
        atomic_load_explicit(&c->tenant_epochs[copy.tenant_bucket],
                             memory_order_acquire) != copy.tenant_epoch)
        return false;
    *out = copy.e;
    return true;
}

void
api_authcache_put(struct api_authcache *c, const struct api_auth_entry *e,
                  const struct api_auth_epochs *ep)
{
    struct slot *s;
    uint32_t seq;

    int64_t ttl = c != NULL ? atomic_load(&c->ttl_us) : 0;

    if (ttl == 0)
        return;
    s = &c->slots[hash2(e->jti, e->org) % SLOTS];
    seq = atomic_load_explicit(&s->seq, memory_order_relaxed);
    if ((seq & 1) ||
        !atomic_compare_exchange_strong_explicit(
            &s->seq, &seq, seq + 1, memory_order_acquire, memory_order_relaxed))
        return; /* another worker is writing this slot */
    atomic_thread_fence(memory_order_release);
    s->e = *e;
    s->user_epoch = ep->user;
    s->tenant_epoch = ep->tenant;
    s->user_bucket = user_bucket(e->sub);
    s->tenant_bucket = tenant_bucket(e->org);
    s->expires_us = sl_clock_mono_us() + ttl;
    atomic_store_explicit(&s->seq, seq + 2, memory_order_release);
}

void
api_authcache_bump(struct api_authcache *c, const char *user,
                   const char *tenant)
{
    if (c == NULL)
        return;
    if (user != NULL)
        atomic_fetch_add_explicit(&c->user_epochs[user_bucket(user)], 1,
                                  memory_order_acq_rel);
    if (tenant != NULL)
        atomic_fetch_add_explicit(&c->tenant_epochs[tenant_bucket(tenant)], 1,
                                  memory_order_acq_rel);
}
