/*
 * endpoints.c: a URL someone asks Sluice to POST to, shared by webhooks
 * (webhooks.c) and notification channels (notifications.c): the URL's
 * check, SSRF refusal included, the sealing of its secrets to its row,
 * and its "enabled" switch. See endpoints.h.
 */
#include "config.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include <openssl/crypto.h>

#include "conf.h"
#include "endpoints.h"
#include "err.h"
#include "pgconn.h"
#include "resolve.h"
#include "secretbox.h"

/* --- the URL ----------------------------------------------------------------
 */

/*
 * Splits url into host (without brackets) and port (the scheme's when
 * absent). Returns NULL, or why it is not a URL Sluice posts to.
 */
static const char *
url_split(const char *url, char *host, size_t hostsz, char *port, size_t portsz)
{
    size_t len = strlen(url), hl;
    const char *p, *a, *end, *colon = NULL, *h, *he;
    bool tls;

    if (len == 0)
        return "must not be empty";
    if (len > API_ENDPOINT_URL_MAX)
        return "must be at most 2048 characters";
    for (p = url; *p; p++)
        if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f)
            return "must be printable ASCII without spaces (encode the rest)";
    if (strncasecmp(url, "https://", 8) == 0)
        tls = true;
    else if (strncasecmp(url, "http://", 7) == 0)
        tls = false;
    else
        return "must be an http:// or https:// URL";
    a = url + (tls ? 8 : 7);
    end = a + strcspn(a, "/?#");
    if (end == a)
        return "has no host";
    if (memchr(a, '@', (size_t)(end - a)) != NULL)
        return "must not hold a user name or password";
    if (*a == '[') {
        h = a + 1;
        he = memchr(h, ']', (size_t)(end - h));
        if (he == NULL)
            return "has an unclosed '[' in its host";
        if (he + 1 < end) {
            if (he[1] != ':')
                return "has a malformed host";
            colon = he + 1;
        }
        for (p = h; p < he; p++)
            if (strchr("0123456789abcdefABCDEF:.", *p) == NULL)
                return "has a malformed IPv6 address";
    } else {
        h = a;
        colon = memchr(a, ':', (size_t)(end - a));
        he = colon ? colon : end;
        for (p = h; p < he; p++)
            if (strchr("abcdefghijklmnopqrstuvwxyz"
                       "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-",
                       *p) == NULL)
                return "has a malformed host name";
    }
    hl = (size_t)(he - h);
    if (hl == 0)
        return "has no host";
    if (hl >= hostsz || hl > 253)
        return "has a host name that is too long";
    memcpy(host, h, hl);
    host[hl] = '\0';
    if (colon != NULL) {
        size_t pl = (size_t)(end - colon - 1);
        long v = 0;

        if (pl == 0 || pl > 5)
            return "has a malformed port";
        for (p = colon + 1; p < end; p++) {
            if (*p < '0' || *p > '9')
                return "has a malformed port";
            v = v * 10 + (*p - '0');
        }
        if (v < 1 || v > 65535)
            return "has a port outside 1-65535";
        snprintf(port, portsz, "%ld", v);
    } else {
        snprintf(port, portsz, "%s", tls ? "443" : "80");
    }
    return NULL;
}

int
api_endpoint_url_check(struct api_req *r, const char *field, const char *url)
{
    char host[256], port[8], addr[INET6_ADDRSTRLEN];
    struct addrinfo *res = NULL, *ai;
    const char *why = url_split(url, host, sizeof(host), port, sizeof(port));
    int rc;

    if (why != NULL)
        return api_error(
            r, 422, "VALIDATION_ERROR",
            sl_psprintf(r->pool, "%s %s", field, why),
            json_pack("{s:s, s:s}", "field", field, "reason", why));
    rc = sl_resolve(host, port, r->ctx->conf->connector_timeout_ms, &res, NULL);
    if (rc == SL_ENOMEM)
        return rc;
    if (rc != 0 || res == NULL) {
        const char *reason =
            rc == SL_ETIMEDOUT
                ? sl_psprintf(r->pool,
                              "names a host, '%s', that did not resolve in "
                              "time",
                              host)
                : sl_psprintf(r->pool,
                              "names a host, '%s', that does not resolve",
                              host);

        if (res != NULL)
            freeaddrinfo(res);
        return api_error(r, 422, "VALIDATION_ERROR",
                         sl_psprintf(r->pool, "%s %s", field, reason),
                         json_pack("{s:s, s:s, s:s}", "field", field, "reason",
                                   reason, "host", host));
    }
    if (r->ctx->conf->webhook_allow_private) {
        freeaddrinfo(res);
        return 0;
    }
    for (ai = res; ai != NULL; ai = ai->ai_next) {
        const void *bin;

        if (!sl_pgconn_addr_private(ai->ai_addr))
            continue;
        bin =
            ai->ai_family == AF_INET6
                ? (const void *)&((struct sockaddr_in6 *)ai->ai_addr)->sin6_addr
                : (const void *)&((struct sockaddr_in *)ai->ai_addr)->sin_addr;
        if (inet_ntop(ai->ai_family, bin, addr, sizeof(addr)) == NULL)
            snprintf(addr, sizeof(addr), "?");
        freeaddrinfo(res);
        return api_error(
            r, 422, "WEBHOOK_URL_FORBIDDEN",
            sl_psprintf(r->pool,
                        "%s resolves to %s, a loopback, private, link-local "
                        "or metadata address, which this server does not "
                        "send to (the operator's webhook_allow_private)",
                        field, addr),
            json_pack("{s:s, s:s, s:s, s:s}", "field", field, "reason",
                      "resolves to an address that is not allowed", "host",
                      host, "address", addr));
    }
    freeaddrinfo(res);
    return 0;
}

/* --- its secrets ------------------------------------------------------------
 */

/*
 * The configured key in key[] and the row's binding "tenant/id" in aad.
 * Returns 0, or SL_EINVAL when no key is configured.
 */
static int
endpoint_key(struct api_req *r, const char *id,
             unsigned char key[SL_SECRETBOX_KEY_LEN], char *aad, size_t aadsz)
{
    if (sl_secretbox_key_parse(r->ctx->conf->secret_key, key) != SL_OK)
        return SL_EINVAL;
    snprintf(aad, aadsz, "%s/%s", r->who.tenant_id, id);
    return 0;
}

int
api_endpoint_seal(struct api_req *r, const char *id, const char *field,
                  const char *plain, size_t len, const char **sealed)
{
    unsigned char key[SL_SECRETBOX_KEY_LEN];
    char aad[128], *out = NULL;
    int rc;

    *sealed = NULL;
    if (endpoint_key(r, id, key, aad, sizeof(aad)) != 0)
        return api_error(r, 422, "VALIDATION_ERROR",
                         "Secrets cannot be stored: the operator has not "
                         "configured secret_key",
                         json_pack("{s:s, s:s}", "field", field, "reason",
                                   "no secret_key is configured"));
    rc = sl_secretbox_seal(key, aad, plain, len, &out);
    OPENSSL_cleanse(key, sizeof(key));
    if (rc == 0)
        *sealed = sl_pstrdup(r->pool, out);
    free(out);
    return rc;
}

int
api_endpoint_unseal(struct api_req *r, const char *id, const char *sealed,
                    char **plain, size_t *len)
{
    unsigned char key[SL_SECRETBOX_KEY_LEN];
    char aad[128];
    int rc;

    *plain = NULL;
    *len = 0;
    if (endpoint_key(r, id, key, aad, sizeof(aad)) != 0)
        return SL_EINVAL;
    rc = sl_secretbox_open(key, aad, sealed, plain, len);
    OPENSSL_cleanse(key, sizeof(key));
    return rc;
}

/* --- its switch --------------------------------------------------------------
 */

const char *
api_endpoint_enabled(struct api_check *c, json_t *body)
{
    json_t *v = json_object_get(body, "enabled");

    if (v == NULL || json_is_null(v))
        return NULL;
    if (!json_is_boolean(v)) {
        api_check_fail(c, "enabled", "must be true or false");
        return NULL;
    }
    return json_is_true(v) ? "true" : "false";
}
