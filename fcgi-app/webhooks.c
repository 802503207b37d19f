/*
 * webhooks.c: /webhooks (seed 000's {webhook_url, events, secret}, seed
 * 001's url), their deliveries, and what notifications.c shares: the
 * API's own events and the hubs' wake-up. The URL's check and the
 * secret's sealing are endpoints.c's, shared with notification channels.
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

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "bus.h"
#include "check.h"
#include "conf.h"
#include "clock.h"
#include "crypto.h"
#include "endpoints.h"
#include "err.h"
#include "events.h"
#include "handlers.h"
#include "json.h"
#include "list.h"
#include "request.h"
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

/* --- events, the wake-up --------------------------------------------------
 */

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

/* An entry of a webhook's events: a known event name or "*". */
static bool
event_entry(struct api_check *c, const char *field, json_t *v)
{
    const char *name = json_string_value(v);

    if (name == NULL) {
        api_check_fail(c, field, "must be a string");
        return false;
    }
    if (!sl_event_known(name) && strcmp(name, SL_EVENT_ALL) != 0) {
        api_check_fail(c, field,
                       "names an unknown event '%.80s' (see "
                       "GET /api/v1/webhooks/events)",
                       name);
        return false;
    }
    return true;
}

/*
 * The events member of body: 1 to MAX_EVENTS known names or "*", as JSON
 * text without duplicates (the pool's), or NULL (recorded in c; absent
 * is recorded only when required).
 */
static const char *
check_events(struct api_check *c, json_t *body, bool required)
{
    return api_check_list(c, body, "events", required, MAX_EVENTS,
                          "event names", true, event_entry);
}

/* The URL of body (webhook_url, or seed 001's url), or NULL. */
static const char *
body_url(struct api_check *c, json_t *body, bool required)
{
    const char *field =
        json_object_get(body, "webhook_url") != NULL ? "webhook_url" : "url";

    return api_check_str(c, body, field, required ? API_REQUIRED : 0, 1,
                         API_ENDPOINT_URL_MAX);
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
    enabled = api_endpoint_enabled(&c, body);
    if ((rc = api_check_done(&c)) != 0)
        return rc;
    if (secret == NULL)
        return SL_ECRYPTO;
    if ((rc = api_endpoint_url_check(
             r, json_object_get(body, "webhook_url") ? "webhook_url" : "url",
             url)) != 0)
        return rc;
    if (sl_uuid_v7(id) != SL_OK)
        return SL_ECRYPTO;
    if ((rc = api_endpoint_seal(r, id, "secret", secret, strlen(secret),
                                &sealed)) != 0)
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
    enabled = api_endpoint_enabled(&c, body);
    if (json_object_get(body, "secret") != NULL)
        api_check_fail(&c, "secret",
                       "cannot be changed here: POST "
                       "/api/v1/webhooks/{id}/rotate-secret");
    if ((rc = api_check_done(&c)) != 0)
        return rc;
    if (url != NULL &&
        (rc = api_endpoint_url_check(
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
    if ((rc = api_endpoint_seal(r, id, "secret", secret, strlen(secret),
                                &sealed)) != 0)
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
