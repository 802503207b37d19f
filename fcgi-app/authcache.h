/*
 * authcache.h: what the last database check of a bearer token found,
 * shared by the workers of one host, so that a busy client does not cost
 * a round trip to PostgreSQL on every request.
 *
 * The master maps the cache (shared, anonymous) before it forks; workers
 * read and fill it. An entry is keyed by the token's jti and the
 * organisation acted in, and holds what authentication needs: the role,
 * whether membership and organisation are active, the user's profile and,
 * when read, their organisations. Only positive answers are kept.
 *
 * Invalidation is by epochs: every user and every tenant hashes to a
 * counter, and an entry is valid only while both counters still hold the
 * values read before the database was asked. Whatever changes a user's
 * standing (logout, a session revoked, a membership changed, a login)
 * bumps the user's counter before the response leaves, so the change is
 * seen at once by every worker of the host; other hosts are told over NATS
 * (sluice.auth.changed), and in any case entries expire after the
 * configured TTL. Entries are written under a per-entry sequence lock, so
 * a reader never uses a half-written entry.
 */
#ifndef API_AUTHCACHE_H
#define API_AUTHCACHE_H

#include <stdbool.h>
#include <stdint.h>

#include "role.h"
#include "uuid.h"

struct api_authcache;

/* The NATS subject that carries invalidations between hosts. */
#define API_SUBJ_AUTH_CHANGED "sluice.auth.changed"

/* What a cached check says; the strings are copies. */
struct api_auth_entry {
    char jti[SL_UUID_LEN];
    char org[64];
    char sid[SL_UUID_LEN];
    char sub[SL_UUID_LEN];
    enum sl_role role;
    char username[64];
    char email[256];
    char full_name[208];
    bool has_full_name;
    char created_at[24];
    char last_login[24];
    bool has_last_login;
    bool has_orgs;
    char orgs[1024]; /* JSON array, when has_orgs */
};

/* The counters to read before asking the database, and to fill with. */
struct api_auth_epochs {
    uint32_t user;
    uint32_t tenant;
};

/*
 * Maps a cache shared with every process forked afterwards. ttl_ms 0
 * disables caching (every call then misses or does nothing). Returns NULL
 * when the mapping fails.
 */
struct api_authcache *api_authcache_create(int ttl_ms);

/* Changes the TTL (on reload); entries already stored keep theirs. */
void api_authcache_set_ttl(struct api_authcache *c, int ttl_ms);

/* Unmaps it. Accepts NULL. */
void api_authcache_destroy(struct api_authcache *c);

/* Reads the current epochs of user and tenant (zeros without a cache). */
void api_authcache_epochs(struct api_authcache *c, const char *user,
                          const char *tenant, struct api_auth_epochs *out);

/*
 * Looks up jti in org. Returns true and fills out when a valid entry
 * exists (and has the organisations, if need_orgs).
 */
bool api_authcache_get(struct api_authcache *c, const char *jti,
                       const char *org, bool need_orgs,
                       struct api_auth_entry *out);

/*
 * Stores e, valid while the epochs are still those in ep (read before the
 * database was asked) and for at most the TTL.
 */
void api_authcache_put(struct api_authcache *c, const struct api_auth_entry *e,
                       const struct api_auth_epochs *ep);

/* Invalidates every entry of user (may be NULL) and of tenant (may be
 * NULL). Safe from any thread of any process sharing the cache. */
void api_authcache_bump(struct api_authcache *c, const char *user,
                        const char *tenant);

#endif
