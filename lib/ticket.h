/*
 * ticket.h: the capability the API hands nginx for one WebSocket
 * handshake, and sluice-hub checks before the upgrade.
 *
 * nginx's /ws/ location asks the API (auth_request) whether a handshake's
 * credential may open the path it names; the API answers with a ticket:
 * the organisation, the principal, the scope (all events, one pipeline or
 * one run), when the credential itself expires, and when the ticket does
 * (a few seconds ahead). It is signed with HMAC-SHA256 under the key the
 * API and every hub share (hub_ticket_key), so the hub trusts nothing
 * else a client could send, and needs neither the database nor the JWT
 * secret to admit a subscriber.
 *
 * Text form: "v1." base64url(fields) "." base64url(mac), where fields is
 * "tenant|principal|scope|target|cred_exp|exp" (no field holds '|').
 */
#ifndef SL_TICKET_H
#define SL_TICKET_H

#include <stddef.h>
#include <stdint.h>

enum sl_ticket_scope {
    SL_TICKET_EVENTS = 0, /* every event of the organisation */
    SL_TICKET_PIPELINE,   /* one pipeline's runs: target is its id */
    SL_TICKET_RUN,        /* one run: target is its id */
};

struct sl_ticket {
    char tenant[64];
    char principal[64]; /* a user's id, or "key:" an API key's id */
    enum sl_ticket_scope scope;
    char target[40];  /* a UUID, or "" for SL_TICKET_EVENTS */
    int64_t cred_exp; /* Unix seconds the credential expires; 0: never */
    int64_t exp;      /* Unix seconds the ticket expires */
};

/* The scope's name ("events", "pipeline", "run"). */
const char *sl_ticket_scope_name(enum sl_ticket_scope scope);

/*
 * Signs t with key (klen bytes, at least 32) into out (outsz bytes,
 * SL_MAX_TICKET is enough). Returns 0; SL_EINVAL for a field holding '|'
 * or a short key; SL_ETOOBIG; SL_ECRYPTO.
 */
int sl_ticket_sign(const void *key, size_t klen, const struct sl_ticket *t,
                   char *out, size_t outsz);

/*
 * Verifies text against key (compared in constant time) and that it has
 * not expired at now (Unix seconds); fills *t. Returns 0; SL_EINVAL for a
 * malformed ticket or a bad signature; SL_EEXPIRED for an expired one.
 */
int sl_ticket_verify(const void *key, size_t klen, const char *text,
                     int64_t now, struct sl_ticket *t);

#endif
