/*
 * ticket.c: signing and checking the hub's handshake tickets (ticket.h).
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "err.h"
#include "limits.h"
#include "ticket.h"

#define TICKET_PREFIX "v1."
#define FIELDS_MAX    256

static const char *const scope_names[] = {
    [SL_TICKET_EVENTS] = "events",
    [SL_TICKET_PIPELINE] = "pipeline",
    [SL_TICKET_RUN] = "run",
};

const char *
sl_ticket_scope_name(enum sl_ticket_scope scope)
{
    return (unsigned)scope < 3 ? scope_names[scope] : "?";
}

static bool
clean(const char *s)
{
    return strchr(s, '|') == NULL;
}

int
sl_ticket_sign(const void *key, size_t klen, const struct sl_ticket *t,
               char *out, size_t outsz)
{
    char fields[FIELDS_MAX];
    unsigned char mac[SL_SHA256_LEN];
    size_t n, k;
    int len;

    if (klen < 32 || !clean(t->tenant) || !clean(t->principal) ||
        !clean(t->target) || (unsigned)t->scope > SL_TICKET_RUN)
        return SL_EINVAL;
    len = snprintf(fields, sizeof(fields), "%s|%s|%s|%s|%" PRId64 "|%" PRId64,
                   t->tenant, t->principal, sl_ticket_scope_name(t->scope),
                   t->target, t->cred_exp, t->exp);
    if (len < 0 || (size_t)len >= sizeof(fields))
        return SL_ETOOBIG;
    if (sl_hmac_sha256(key, klen, fields, (size_t)len, mac) != 0)
        return SL_ECRYPTO;
    if (outsz < sizeof(TICKET_PREFIX))
        return SL_ETOOBIG;
    memcpy(out, TICKET_PREFIX, sizeof(TICKET_PREFIX));
    n = sizeof(TICKET_PREFIX) - 1;
    k = sl_b64url_encode(fields, (size_t)len, out + n, outsz - n);
    if (k == 0 || n + k + 2 >= outsz)
        return SL_ETOOBIG;
    n += k;
    out[n++] = '.';
    k = sl_b64url_encode(mac, sizeof(mac), out + n, outsz - n);
    return k == 0 ? SL_ETOOBIG : 0;
}

/* Copies the next '|'-separated field of *p into dst (dstsz bytes). */
static bool
field(char **p, char *dst, size_t dstsz)
{
    char *bar = strchr(*p, '|');
    size_t n = bar ? (size_t)(bar - *p) : strlen(*p);

    if (n >= dstsz)
        return false;
    memcpy(dst, *p, n);
    dst[n] = '\0';
    *p += n + (bar ? 1 : 0);
    return true;
}

static bool
int_field(char **p, int64_t *v)
{
    char buf[24], *end;

    if (!field(p, buf, sizeof(buf)) || buf[0] == '\0')
        return false;
    *v = strtoll(buf, &end, 10);
    return *end == '\0';
}

int
sl_ticket_verify(const void *key, size_t klen, const char *text, int64_t now,
                 struct sl_ticket *t)
{
    unsigned char fields[FIELDS_MAX + 1], mac[SL_SHA256_LEN],
        want[SL_SHA256_LEN];
    char scope[16], *p;
    const char *dot;
    size_t flen, mlen, tlen;

    memset(t, 0, sizeof(*t));
    if (text == NULL || klen < 32)
        return SL_EINVAL;
    tlen = strlen(text);
    if (tlen > SL_MAX_TICKET ||
        strncmp(text, TICKET_PREFIX, sizeof(TICKET_PREFIX) - 1) != 0)
        return SL_EINVAL;
    text += sizeof(TICKET_PREFIX) - 1;
    dot = strchr(text, '.');
    if (dot == NULL ||
        sl_b64url_decode(text, (size_t)(dot - text), fields, FIELDS_MAX,
                         &flen) != 0 ||
        sl_b64url_decode(dot + 1, strlen(dot + 1), mac, sizeof(mac), &mlen) !=
            0 ||
        mlen != sizeof(mac))
        return SL_EINVAL;
    if (sl_hmac_sha256(key, klen, fields, flen, want) != 0)
        return SL_EINVAL;
    /* CRYPTO_memcmp underneath: the time says nothing of the MAC. */
    if (!sl_ct_equal(mac, want, sizeof(mac)))
        return SL_EINVAL;
    fields[flen] = '\0';
    if (memchr(fields, '\0', flen) != NULL)
        return SL_EINVAL;
    p = (char *)fields;
    if (!field(&p, t->tenant, sizeof(t->tenant)) ||
        !field(&p, t->principal, sizeof(t->principal)) ||
        !field(&p, scope, sizeof(scope)) ||
        !field(&p, t->target, sizeof(t->target)) ||
        !int_field(&p, &t->cred_exp) || !int_field(&p, &t->exp) || *p != '\0' ||
        t->tenant[0] == '\0')
        return SL_EINVAL;
    if (strcmp(scope, "events") == 0)
        t->scope = SL_TICKET_EVENTS;
    else if (strcmp(scope, "pipeline") == 0 && t->target[0] != '\0')
        t->scope = SL_TICKET_PIPELINE;
    else if (strcmp(scope, "run") == 0 && t->target[0] != '\0')
        t->scope = SL_TICKET_RUN;
    else
        return SL_EINVAL;
    if (now >= t->exp || (t->cred_exp != 0 && now >= t->cred_exp))
        return SL_EEXPIRED;
    return 0;
}
