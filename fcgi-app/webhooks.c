/*
 * webhooks.c: /webhooks (seed 000's {webhook_url, events, secret}, seed
 * 001's url), their deliveries, and what notifications.c shares: the
 * check of a URL Sluice will POST to, sealing, the API's own events and
 * the hubs' wake-up.
 *
 * A webhook's signing secret is the one given, or "whsec_" and base64 of
 * 24 random bytes (Standard Webhooks). It is answered in clear once, by
 * the request that made it (create, rotate-secret), and stored sealed
 * with the configured key bound to "tenant/webhook-id" (lib/secretbox.h),
 * as the plain secret text; rotating keeps the previous one sealed the
 * same way in secret_previous until secret_previous_until (24 hours), so
 * that the hub signs with both meanwhile.
 *
 * The API sends nothing itself. A test or a redelivery is a delivery row
 * due now, committed, then a nudge on SL_SUBJ_DELIVERY_WAKE; a hub's
 * deliverer sends it (ws-hub/), records each attempt and retries.
 */
#include "config.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "bus.h"
#include "check.h"
#include "conf.h"
#include "clock.h"
#include "crypto.h"
#include "err.h"
#include "events.h"
#include "handlers.h"
#include "json.h"
#include "list.h"
#include "pgconn.h"
#include "request.h"
#include "resolve.h"
#include "secretbox.h"
#include "uuid.h"
#include "webhooks.h"

/* A webhook subscribes to at most this many events (sql/019's check). */
#define MAX_EVENTS 64
/* A secret given by the client: bounds on its length. */
#define SECRET_MIN 8
#define SECRET_MAX 512
/* Random bytes of a generated secret. */
#define SECRET_BYTES 24
/* A whsec_ secret's key: Standard Webhooks says 24 to 64 bytes. */
#define WHSEC_KEY_MIN 24
#define WHSEC_KEY_MAX 64
#define WHSEC_PREFIX  "whsec_"
/* How long a publish after commit may wait for JetStream. */
#define PUBLISH_TIMEOUT_MS 2000

/* --- URLs Sluice posts to -------------------------------------------------
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
    if (len > API_WEBHOOK_URL_MAX)
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
api_url_check(struct api_req *r, const char *field, const char *url)
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

/* --- secrets, events, the wake-up ------------------------------------------
 */

int
api_seal(struct api_req *r, const char *id, const char *plain, size_t len,
         const char **sealed)
{
    unsigned char key[SL_SECRETBOX_KEY_LEN];
    char aad[128], *out = NULL;
    int rc;

    *sealed = NULL;
    if (sl_secretbox_key_parse(r->ctx->conf->secret_key, key) != SL_OK)
        return SL_EINVAL;
    snprintf(aad, sizeof(aad), "%s/%s", r->who.tenant_id, id);
    rc = sl_secretbox_seal(key, aad, plain, len, &out);
    OPENSSL_cleanse(key, sizeof(key));
    if (rc == 0)
        *sealed = sl_pstrdup(r->pool, out);
    free(out);
    return rc;
}

int
api_no_secret_key(struct api_req *r, const char *field)
{
    return api_error(r, 422, "VALIDATION_ERROR",
                     "Secrets cannot be stored: the operator has not "
                     "configured secret_key",
                     json_pack("{s:s, s:s}", "field", field, "reason",
                               "no secret_key is configured"));
}

json_t *
api_event_new(struct api_req *r, const char *type, json_t *data, char *hex)
{
    char uuid[SL_UUID_LEN], h[33], ts[SL_RFC3339_MAX];
    size_t n = 0;

    if (sl_uuid_v4(uuid) != SL_OK) {
        json_decref(data);
        return NULL;
    }
    for (const char *p = uuid; *p && n < 32; p++)
        if (*p != '-')
            h[n++] = *p;
    h[n] = '\0';
    if (hex != NULL)
        memcpy(hex, h, 33);
    sl_clock_format(sl_clock_now(), ts);
    return json_pack("{s:s, s:s, s:s, s:s, s:o}", "event_id",
                     sl_psprintf(r->pool, "evt_%s", h), "event_type", type,
                     "timestamp", ts, "organization_id", r->who.tenant_id,
                     "data", data ? data : json_object());
}

int
api_event_stage(struct api_req *r, const char *type, json_t *data,
                struct api_event *ev)
{
    json_t *event = api_event_new(r, type, data, NULL);
    const char *params[3];
    PGresult *res;

    if (event == NULL)
        return SL_ENOMEM;
    ev->payload = api_json_text(r, event);
    json_decref(event);
    if (ev->payload == NULL)
        return SL_ENOMEM;
    if (sl_uuid_v7(ev->outbox_id) != SL_OK)
        return SL_ECRYPTO;
    ev->subject = sl_psprintf(r->pool, "%s%s.%s", SL_SUBJ_EVENT_PREFIX,
                              r->who.tenant_id, type);
    params[0] = ev->outbox_id;
    params[1] = ev->subject;
    params[2] = ev->payload;
    return api_exec(r, ST_OUTBOX_EVENT, 3, params, &res);
}

void
api_event_publish(struct api_req *r, const struct api_event *ev)
{
    const char *params[1] = {ev->outbox_id};
    PGresult *res;

    if (sl_bus_publish(&r->ctx->bus, ev->subject, ev->payload,
                       strlen(ev->payload), ev->outbox_id, PUBLISH_TIMEOUT_MS,
                       NULL) != SL_OK) {
        sl_log_warn(&r->ctx->log, "event %s not published now; the relay will",
                    ev->outbox_id);
        return;
    }
    if (api_exec_scoped(r, r->who.tenant_id, r->who.user_id, ST_OUTBOX_SENT, 1,
                        params, &res) != SL_OK)
        sl_log_warn(&r->ctx->log, "event %s published, not marked sent",
                    ev->outbox_id);
}

void
api_delivery_wake(struct api_req *r)
{
    if (r->ctx->bus.nc == NULL ||
        natsConnection_Publish(r->ctx->bus.nc, SL_SUBJ_DELIVERY_WAKE, NULL,
                               0) != NATS_OK)
        sl_log_debug(&r->ctx->log, "delivery wake-up not sent; hubs poll");
}

/* --- reading a webhook ------------------------------------------------------
 */

static int API_ANSWERS
webhook_not_found(struct api_req *r, const char *id)
{
    return api_error(r, 404, "WEBHOOK_NOT_FOUND", "No such webhook",
                     json_pack("{s:s}", "webhook_id", id ? id : ""));
}

/* The route's {id}: 0, or API_ANSWERED with the 404 set. */
static int API_ANSWERS
webhook_param(struct api_req *r, const char **id)
{
    *id = api_param_uuid(r, "id");
    return *id != NULL ? 0 : webhook_not_found(r, api_param(r, "id"));
}

/*
 * The events member of body: 1 to MAX_EVENTS known names or "*", as JSON
 * text without duplicates (the pool's), or NULL (recorded in c; absent
 * is recorded only when required).
 */
static const char *
check_events(struct api_check *c, json_t *body, bool required)
{
    json_t *ev = json_object_get(body, "events"), *v, *out;
    size_t i;
    const char *text;

    if (ev == NULL || json_is_null(ev)) {
        if (required)
            api_check_fail(c, "events", "is required");
        return NULL;
    }
    if (!json_is_array(ev) || json_array_size(ev) == 0 ||
        json_array_size(ev) > MAX_EVENTS) {
        api_check_fail(c, "events", "must be an array of 1 to %d event names",
                       MAX_EVENTS);
        return NULL;
    }
    out = json_array();
    json_array_foreach(ev, i, v)
    {
        const char *name = json_string_value(v);
        bool dup = false;
        json_t *w;
        size_t j;

        if (name == NULL ||
            (!sl_event_known(name) && strcmp(name, SL_EVENT_ALL) != 0)) {
            char field[32];

            snprintf(field, sizeof(field), "events[%zu]", i);
            if (name == NULL)
                api_check_fail(c, field, "must be a string");
            else
                api_check_fail(c, field,
                               "names an unknown event '%.80s' (see "
                               "GET /api/v1/webhooks/events)",
                               name);
            continue;
        }
        json_array_foreach(out, j, w)
        {
            dup = dup || strcmp(json_string_value(w), name) == 0;
        }
        if (!dup)
            json_array_append(out, v);
    }
    text = api_json_text(c->r, out);
    json_decref(out);
    return text;
}

/* The URL of body (webhook_url, or seed 001's url), or NULL. */
static const char *
body_url(struct api_check *c, json_t *body, bool required)
{
    const char *field =
        json_object_get(body, "webhook_url") != NULL ? "webhook_url" : "url";

    return api_check_str(c, body, field, required ? API_REQUIRED : 0, 1,
                         API_WEBHOOK_URL_MAX);
}

/*
 * The secret of body (given), or a new one; checks a given whsec_ secret
 * decodes to a key of 24 to 64 bytes. NULL with the problem in c.
 */
static const char *
body_secret(struct api_check *c, json_t *body)
{
    const char *s = api_check_str(c, body, "secret", 0, SECRET_MIN, SECRET_MAX);
    unsigned char raw[SECRET_BYTES], dec[SECRET_MAX];
    char b64[64];

    if (s != NULL) {
        if (strncmp(s, WHSEC_PREFIX, strlen(WHSEC_PREFIX)) == 0) {
            const char *t = s + strlen(WHSEC_PREFIX);
            size_t tl = strlen(t);
            int n =
                tl % 4 == 0 && tl > 0
                    ? EVP_DecodeBlock(dec, (const unsigned char *)t, (int)tl)
                    : -1;

            if (n >= 0)
                n -=
                    (tl > 0 && t[tl - 1] == '=') + (tl > 1 && t[tl - 2] == '=');
            if (n < WHSEC_KEY_MIN || n > WHSEC_KEY_MAX) {
                api_check_fail(c, "secret",
                               "starts with whsec_ but its rest is not base64 "
                               "of 24 to 64 bytes");
                s = NULL;
            }
            OPENSSL_cleanse(dec, sizeof(dec));
        }
        return s;
    }
    if (json_object_get(body, "secret") != NULL &&
        !json_is_null(json_object_get(body, "secret")))
        return NULL; /* given but refused by api_check_str() */
    if (sl_random_bytes(raw, sizeof(raw)) != SL_OK)
        return NULL;
    EVP_EncodeBlock((unsigned char *)b64, raw, sizeof(raw));
    OPENSSL_cleanse(raw, sizeof(raw));
    s = sl_psprintf(c->r->pool, WHSEC_PREFIX "%s", b64);
    OPENSSL_cleanse(b64, sizeof(b64));
    return s;
}

/* The enabled member: "true", "false" or NULL (absent; bad recorded). */
static const char *
body_enabled(struct api_check *c, json_t *body)
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

/* Answers doc (a webhook_doc() text) with its secret shown in clear. */
static int API_ANSWERS
reply_with_secret(struct api_req *r, int status, const char *doc,
                  const char *secret)
{
    json_t *j = json_loads(doc, 0, NULL);

    if (j == NULL)
        return api_error(r, 500, "INTERNAL_ERROR", "Unreadable webhook", NULL);
    json_object_set_new(j, "secret", json_string(secret));
    json_object_set_new(j, "secret_shown_once", json_true());
    return api_reply(r, status, j);
}

/* --- handlers ---------------------------------------------------------------
 */

int
api_h_webhook_events(struct api_req *r)
{
    json_t *names = json_array();

    for (size_t i = 0; i < sl_event_nnames; i++)
        json_array_append_new(names, json_string(sl_event_names[i]));
    return api_reply(r, 200, json_pack("{s:o}", "events", names));
}

int
api_h_webhooks_create(struct api_req *r)
{
    struct sl_db *db = &r->ctx->db;
    struct api_check c;
    const char *url, *events, *secret, *desc, *enabled, *sealed, *params[6];
    char id[SL_UUID_LEN];
    json_t *body;
    PGresult *res;
    int rc;

    if ((rc = api_body_object(r, false, &body)) != 0)
        return rc;
    api_check_init(&c, r);
    url = body_url(&c, body, true);
    events = check_events(&c, body, true);
    secret = body_secret(&c, body);
    desc = api_check_str(&c, body, "description", 0, 0, 2000);
    enabled = body_enabled(&c, body);
    if ((rc = api_check_done(&c)) != 0)
        return rc;
    if (secret == NULL)
        return SL_ECRYPTO;
    if ((rc = api_url_check(
             r, json_object_get(body, "webhook_url") ? "webhook_url" : "url",
             url)) != 0)
        return rc;
    if (sl_uuid_v7(id) != SL_OK)
        return SL_ECRYPTO;
    rc = api_seal(r, id, secret, strlen(secret), &sealed);
    if (rc == SL_EINVAL)
        return api_no_secret_key(r, "secret");
    if (rc != 0)
        return rc;
    params[0] = id;
    params[1] = url;
    params[2] = events;
    params[3] = desc != NULL && *desc != '\0' ? desc : NULL;
    params[4] = sealed;
    params[5] = enabled;
    if ((rc = sl_db_begin(db, r->who.tenant_id, r->who.user_id)) != SL_OK ||
        (rc = api_exec(r, ST_WEBHOOK_INSERT, 6, params, &res)) != SL_OK ||
        (rc = sl_db_commit(db)) != SL_OK) {
        sl_db_rollback(db);
        return api_db_error(r, rc);
    }
    api_add_header(r, "Location: /api/v1/webhooks/%s", id);
    return reply_with_secret(r, 201, PQgetvalue(res, 0, 0), secret);
}

int
api_h_webhooks_list(struct api_req *r)
{
    struct api_page pg;
    const char *params[2];
    int rc;

    if ((rc = api_page_parse(r, &pg)) != 0)
        return rc;
    return api_reply_list_stmt(r, &pg, ST_WEBHOOK_LIST, 2, params);
}

int
api_h_webhooks_get(struct api_req *r)
{
    const char *id;
    PGresult *res;
    int rc;

    if ((rc = webhook_param(r, &id)) != 0)
        return rc;
    rc = api_exec_scoped(r, r->who.tenant_id, r->who.user_id, ST_WEBHOOK_GET, 1,
                         &id, &res);
    if (rc != SL_OK)
        return api_db_error(r, rc);
    if (PQntuples(res) == 0)
        return webhook_not_found(r, id);
    return api_reply_raw(r, 200, PQgetvalue(res, 0, 0));
}

int
api_h_webhooks_update(struct api_req *r)
{
    struct api_check c;
    const char *id, *url, *events, *desc, *enabled, *params[6];
    json_t *body;
    PGresult *res;
    int rc;

    if ((rc = webhook_param(r, &id)) != 0 ||
        (rc = api_body_object(r, false, &body)) != 0)
        return rc;
    api_check_init(&c, r);
    url = body_url(&c, body, false);
    events = check_events(&c, body, false);
    desc = api_check_str(&c, body, "description", 0, 0, 2000);
    enabled = body_enabled(&c, body);
    if (json_object_get(body, "secret") != NULL)
        api_check_fail(&c, "secret",
                       "cannot be changed here: POST "
                       "/api/v1/webhooks/{id}/rotate-secret");
    if ((rc = api_check_done(&c)) != 0)
        return rc;
    if (url != NULL &&
        (rc = api_url_check(
             r, json_object_get(body, "webhook_url") ? "webhook_url" : "url",
             url)) != 0)
        return rc;
    params[0] = id;
    params[1] = url;
    params[2] = events;
    params[3] = desc;
    params[4] = json_object_get(body, "description") != NULL ? "true" : "false";
    params[5] = enabled;
    rc = api_exec_scoped(r, r->who.tenant_id, r->who.user_id, ST_WEBHOOK_UPDATE,
                         6, params, &res);
    if (rc != SL_OK)
        return api_db_error(r, rc);
    if (PQntuples(res) == 0)
        return webhook_not_found(r, id);
    return api_reply_raw(r, 200, PQgetvalue(res, 0, 0));
}

int
api_h_webhooks_delete(struct api_req *r)
{
    const char *id;
    PGresult *res;
    int rc;

    if ((rc = webhook_param(r, &id)) != 0)
        return rc;
    rc = api_exec_scoped(r, r->who.tenant_id, r->who.user_id, ST_WEBHOOK_DELETE,
                         1, &id, &res);
    if (rc != SL_OK)
        return api_db_error(r, rc);
    if (PQntuples(res) == 0)
        return webhook_not_found(r, id);
    return api_reply(r, 200,
                     json_pack("{s:s, s:s}", "message",
                               "Webhook deleted successfully", "webhook_id",
                               id));
}

int
api_h_webhooks_rotate(struct api_req *r)
{
    struct api_check c;
    const char *id, *secret, *sealed, *params[2];
    json_t *body;
    PGresult *res;
    int rc;

    if ((rc = webhook_param(r, &id)) != 0 ||
        (rc = api_body_object(r, true, &body)) != 0)
        return rc;
    api_check_init(&c, r);
    secret = body_secret(&c, body);
    if ((rc = api_check_done(&c)) != 0)
        return rc;
    if (secret == NULL)
        return SL_ECRYPTO;
    rc = api_seal(r, id, secret, strlen(secret), &sealed);
    if (rc == SL_EINVAL)
        return api_no_secret_key(r, "secret");
    if (rc != 0)
        return rc;
    params[0] = id;
    params[1] = sealed;
    rc = api_exec_scoped(r, r->who.tenant_id, r->who.user_id, ST_WEBHOOK_ROTATE,
                         2, params, &res);
    if (rc != SL_OK)
        return api_db_error(r, rc);
    if (PQntuples(res) == 0)
        return webhook_not_found(r, id);
    return reply_with_secret(r, 200, PQgetvalue(res, 0, 0), secret);
}

/*
 * Writes a delivery of event (borrowed) to webhook webhook_id or channel
 * channel_id (one of them NULL) with body text body, due now, in the open
 * transaction; its event id's hex gives its msg_id ("msg_<hex>").
 * Returns 0 with the delivery_doc() text in *doc, or a database code.
 */
int
api_delivery_insert(struct api_req *r, const char *webhook_id,
                    const char *channel_id, json_t *event, const char *hex,
                    const char *body, const char **doc)
{
    char id[SL_UUID_LEN];
    const char *params[7];
    PGresult *res;
    int rc;

    if (sl_uuid_v7(id) != SL_OK)
        return SL_ECRYPTO;
    params[0] = id;
    params[1] = sl_json_get_str(event, "event_id");
    params[2] = sl_json_get_str(event, "event_type");
    params[3] = webhook_id;
    params[4] = channel_id;
    params[5] = sl_psprintf(r->pool, "msg_%s", hex);
    params[6] = body;
    if ((rc = api_exec(r, ST_DELIVERY_INSERT, 7, params, &res)) != SL_OK)
        return rc;
    *doc = PQgetvalue(res, 0, 0);
    return 0;
}

/* Answers 202 with a delivery just committed, and wakes the hubs. */
int
api_delivery_accepted(struct api_req *r, const char *doc, const char *message)
{
    json_t *j = json_loads(doc, 0, NULL);

    api_delivery_wake(r);
    if (j == NULL)
        return api_reply_raw(r, 202, doc);
    json_object_set_new(j, "message", json_string(message));
    return api_reply(r, 202, j);
}

int
api_h_webhooks_test(struct api_req *r)
{
    struct sl_db *db = &r->ctx->db;
    const char *id, *body, *doc;
    char hex[33];
    json_t *event;
    PGresult *res;
    int rc;

    if ((rc = webhook_param(r, &id)) != 0)
        return rc;
    event = sl_json_pool_own(
        r->pool, api_event_new(r, "webhook.test",
                               json_pack("{s:s, s:s}", "webhook_id", id,
                                         "message", "A test event from Sluice"),
                               hex));
    if (event == NULL || (body = api_json_text(r, event)) == NULL)
        return SL_ENOMEM;
    if ((rc = sl_db_begin(db, r->who.tenant_id, r->who.user_id)) != SL_OK ||
        (rc = api_exec(r, ST_WEBHOOK_EXISTS, 1, &id, &res)) != SL_OK)
        goto failed;
    if (PQntuples(res) == 0) {
        sl_db_rollback(db);
        return webhook_not_found(r, id);
    }
    if ((rc = api_delivery_insert(r, id, NULL, event, hex, body, &doc)) !=
            SL_OK ||
        (rc = sl_db_commit(db)) != SL_OK)
        goto failed;
    return api_delivery_accepted(r, doc, "Test event queued for delivery");
failed:
    sl_db_rollback(db);
    return api_db_error(r, rc);
}

/* --- deliveries --------------------------------------------------------------
 */

static int API_ANSWERS
delivery_not_found(struct api_req *r, const char *id)
{
    return api_error(r, 404, "DELIVERY_NOT_FOUND", "No such delivery",
                     json_pack("{s:s}", "delivery_id", id ? id : ""));
}

/* Whether webhook id is the organisation's: 0, API_ANSWERED (404 or the
 * database's error). */
static int API_ANSWERS
webhook_exists(struct api_req *r, const char *id)
{
    PGresult *res;
    int rc = api_exec_scoped(r, r->who.tenant_id, r->who.user_id,
                             ST_WEBHOOK_EXISTS, 1, &id, &res);

    if (rc != SL_OK)
        return api_db_error(r, rc);
    return PQntuples(res) == 0 ? webhook_not_found(r, id) : 0;
}

int
api_h_deliveries_list(struct api_req *r)
{
    static const char *const statuses[] = {"pending", "succeeded", "failed",
                                           "exhausted"};
    struct api_page pg;
    const char *id, *status = api_query(r, "status"), *params[4];
    bool ok = status == NULL;
    int rc;

    if ((rc = webhook_param(r, &id)) != 0 || (rc = api_page_parse(r, &pg)) != 0)
        return rc;
    for (size_t i = 0; i < 4 && !ok; i++)
        ok = strcmp(status, statuses[i]) == 0;
    if (!ok)
        return api_error(r, 422, "VALIDATION_ERROR",
                         "status must be pending, succeeded, failed or "
                         "exhausted",
                         json_pack("{s:s, s:s}", "field", "status", "reason",
                                   "must be pending, succeeded, failed or "
                                   "exhausted"));
    if ((rc = webhook_exists(r, id)) != 0)
        return rc;
    params[0] = id;
    params[1] = status;
    return api_reply_list_stmt(r, &pg, ST_DELIVERY_LIST, 4, params);
}

int
api_h_deliveries_get(struct api_req *r)
{
    const char *id, *did = api_param_uuid(r, "delivery_id"), *params[2];
    PGresult *res;
    int rc;

    if ((rc = webhook_param(r, &id)) != 0)
        return rc;
    if (did == NULL)
        return delivery_not_found(r, api_param(r, "delivery_id"));
    params[0] = did;
    params[1] = id;
    rc = api_exec_scoped(r, r->who.tenant_id, r->who.user_id, ST_DELIVERY_GET,
                         2, params, &res);
    if (rc != SL_OK)
        return api_db_error(r, rc);
    if (PQntuples(res) == 0)
        return delivery_not_found(r, did);
    return api_reply_raw(r, 200, PQgetvalue(res, 0, 0));
}

int
api_h_deliveries_redeliver(struct api_req *r)
{
    const char *id, *did = api_param_uuid(r, "delivery_id"), *params[2];
    PGresult *res;
    int rc;

    if ((rc = webhook_param(r, &id)) != 0)
        return rc;
    if (did == NULL)
        return delivery_not_found(r, api_param(r, "delivery_id"));
    params[0] = did;
    params[1] = id;
    rc = api_exec_scoped(r, r->who.tenant_id, r->who.user_id,
                         ST_DELIVERY_REDELIVER, 2, params, &res);
    if (rc != SL_OK)
        return api_db_error(r, rc);
    if (PQntuples(res) == 0)
        return delivery_not_found(r, did);
    return api_delivery_accepted(r, PQgetvalue(res, 0, 0),
                                 "Delivery queued again under the same "
                                 "webhook-id");
}
