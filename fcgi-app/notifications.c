/*
 * notifications.c: seed 001's notification service under
 * /notifications: channels (webhook and slack), alert rules, and
 * POST /notifications/send.
 *
 * A channel's URL (for Slack an incoming-webhook URL, itself a
 * credential) and a webhook channel's optional signing secret are sealed
 * together into its secret column (notifications.h) and shown masked;
 * the rest of its configuration (Slack's channel, username, icon) is
 * kept in clear. The URL is checked, and the secret sealed, as a
 * webhook's are (endpoints.h).
 *
 * An alert rule names an event (events.h), filters on the event's data,
 * channels of the same organisation, and a template (lib/template.h)
 * checked here and rendered by the hub when an event matches.
 *
 * Sending writes a delivery row due now, its body the exact bytes the
 * hub will POST: Slack's incoming-webhook body for a slack channel, a
 * notification.sent event for a webhook channel; then wakes the hubs.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "endpoints.h"
#include "err.h"
#include "events.h"
#include "handlers.h"
#include "json.h"
#include "list.h"
#include "notifications.h"
#include "request.h"
#include "secretbox.h"
#include "template.h"
#include "uuid.h"
#include "webhooks.h"

#define MAX_CHANNELS      32  /* of one alert rule (sql/019's check) */
#define MAX_FILTERS       32  /* members of a condition's filters */
#define MAX_FILTER_VALUES 100 /* values of one filter */
#define MAX_SUBJECT       500
#define MAX_MESSAGE       10000
#define MASK              "********"

/* --- channels ----------------------------------------------------------------
 */

static int API_ANSWERS
channel_not_found(struct api_req *r, const char *id)
{
    return api_error(r, 404, "CHANNEL_NOT_FOUND",
                     "No such notification channel",
                     json_pack("{s:s}", "channel_id", id ? id : ""));
}

static int API_ANSWERS
duplicate_channel(struct api_req *r, const char *name)
{
    return api_error(
        r, 409, "DUPLICATE_RESOURCE",
        "Another notification channel of this organization has this name",
        json_pack("{s:s, s:s}", "field", "name", "name", name ? name : ""));
}

/*
 * Opens a channel's sealed JSON. Returns 0 with it in *out (the pool's),
 * SL_EINVAL when no key is configured, or the secretbox's code.
 */
static int
channel_unseal(struct api_req *r, const char *id, const char *sealed,
               json_t **out)
{
    char *plain = NULL;
    size_t len = 0;
    int rc;

    *out = NULL;
    if ((rc = api_endpoint_unseal(r, id, sealed, &plain, &len)) != 0)
        return rc;
    *out = sl_json_pool_own(r->pool, json_loadb(plain, len, 0, NULL));
    sl_secretbox_free(plain, len);
    return *out != NULL ? 0 : SL_EPARSE;
}

/*
 * Reads a body's configuration into its clear part (*clear, merged over
 * base, a new reference) and its sealed part (merged over sealed_base,
 * a new reference), recording problems in c. url is set when the body
 * gives a URL (to be checked).
 */
static void
split_configuration(struct api_check *c, json_t *body, const char *type,
                    json_t *base, json_t *sealed_base, json_t **clear,
                    json_t **sealed, const char **url)
{
    json_t *conf = json_object_get(body, "configuration"), *v;
    const char *key;

    *clear = json_deep_copy(base ? base : json_object());
    *sealed = json_deep_copy(sealed_base ? sealed_base : json_object());
    *url = NULL;
    if (*clear == NULL)
        *clear = json_object();
    if (*sealed == NULL)
        *sealed = json_object();
    if (conf == NULL || json_is_null(conf))
        return;
    if (!json_is_object(conf)) {
        api_check_fail(c, "configuration", "must be an object");
        return;
    }
    json_object_foreach(conf, key, v)
    {
        if (strcmp(key, "webhook_url") == 0 || strcmp(key, "url") == 0) {
            if (json_is_string(v) && strcmp(json_string_value(v), MASK) == 0)
                continue; /* the mask: keep the stored URL */
            if (!json_is_string(v)) {
                api_check_fail(c, "configuration.webhook_url",
                               "must be a string");
                continue;
            }
            *url = json_string_value(v);
            json_object_set(*sealed, API_CHANNEL_SEALED_URL, v);
        } else if (strcmp(key, "secret") == 0) {
            if (strcmp(type, "webhook") != 0) {
                api_check_fail(c, "configuration.secret",
                               "is for webhook channels only");
            } else if (json_is_null(v)) {
                json_object_del(*sealed, API_CHANNEL_SEALED_SECRET);
            } else if (!json_is_string(v) || json_string_length(v) < 8 ||
                       json_string_length(v) > 512) {
                api_check_fail(c, "configuration.secret",
                               "must be a string of 8 to 512 characters");
            } else if (strcmp(json_string_value(v), MASK) != 0) {
                json_object_set(*sealed, API_CHANNEL_SEALED_SECRET, v);
            }
        } else if (json_is_null(v)) {
            json_object_del(*clear, key);
        } else {
            json_object_set(*clear, key, v);
        }
    }
    if (strcmp(type, "slack") == 0) {
        static const char *const str[] = {"channel", "username", "icon_emoji",
                                          "icon_url"};

        for (size_t i = 0; i < 4; i++) {
            json_t *s = json_object_get(*clear, str[i]);
            char field[64];

            snprintf(field, sizeof(field), "configuration.%s", str[i]);
            if (s != NULL &&
                (!json_is_string(s) || json_string_length(s) > 200))
                api_check_fail(c, field,
                               "must be a string of at most 200 characters");
        }
    }
    if (json_object_get(*sealed, API_CHANNEL_SEALED_URL) == NULL)
        api_check_fail(c, "configuration.webhook_url", "is required");
}

/*
 * Seals sealed (the JSON of notifications.h) to channel id. Returns 0
 * with the text in *out (the pool's), API_ANSWERED (no secret_key), or a
 * code (api_endpoint_seal()).
 */
static int API_ANSWERS
channel_seal(struct api_req *r, const char *id, json_t *sealed,
             const char **out)
{
    char *text = json_dumps(sealed, JSON_COMPACT);
    int rc;

    if (text == NULL)
        return SL_ENOMEM;
    rc = api_endpoint_seal(r, id, "configuration.webhook_url", text,
                           strlen(text), out);
    sl_secretbox_free(text, strlen(text));
    return rc;
}

int
api_h_channels_create(struct api_req *r)
{
    struct sl_db *db = &r->ctx->db;
    struct api_check c;
    const char *name, *type, *url = NULL, *enabled, *sealed_text, *params[6];
    char id[SL_UUID_LEN];
    json_t *body, *clear = NULL, *sealed = NULL;
    PGresult *res;
    int rc;

    if ((rc = api_body_object(r, false, &body)) != 0)
        return rc;
    api_check_init(&c, r);
    name = api_check_str(&c, body, "name", API_REQUIRED, 1, 200);
    type = api_check_str(&c, body, "type", API_REQUIRED, 1, 20);
    if (type != NULL && strcmp(type, "webhook") != 0 &&
        strcmp(type, "slack") != 0) {
        api_check_fail(&c, "type", "must be webhook or slack");
        type = NULL;
    }
    if (json_object_get(body, "configuration") == NULL)
        api_check_fail(&c, "configuration", "is required");
    else if (type != NULL)
        split_configuration(&c, body, type, NULL, NULL, &clear, &sealed, &url);
    sl_json_pool_own(r->pool, clear);
    sl_json_pool_own(r->pool, sealed);
    enabled = api_endpoint_enabled(&c, body);
    if ((rc = api_check_done(&c)) != 0)
        return rc;
    if (url != NULL &&
        (rc = api_endpoint_url_check(r, "configuration.webhook_url", url)) != 0)
        return rc;
    if (sl_uuid_v7(id) != SL_OK)
        return SL_ECRYPTO;
    if ((rc = channel_seal(r, id, sealed, &sealed_text)) != 0)
        return rc;
    params[0] = id;
    params[1] = name;
    params[2] = type;
    params[3] = api_json_text(r, clear);
    params[4] = sealed_text;
    params[5] = enabled;
    if ((rc = sl_db_begin(db, r->who.tenant_id, r->who.user_id)) != SL_OK ||
        (rc = api_exec(r, ST_CHANNEL_INSERT, 6, params, &res)) != SL_OK ||
        (rc = sl_db_commit(db)) != SL_OK) {
        sl_db_rollback(db);
        if (rc == SL_ECONFLICT)
            return duplicate_channel(r, name);
        return api_db_error(r, rc);
    }
    api_add_header(r, "Location: /api/v1/notifications/channels/%s", id);
    return api_reply_raw(r, 201, PQgetvalue(res, 0, 0));
}

int
api_h_channels_list(struct api_req *r)
{
    struct api_page pg;
    const char *params[2];
    int rc;

    if ((rc = api_page_parse(r, &pg)) != 0)
        return rc;
    return api_reply_list_stmt(r, &pg, ST_CHANNEL_LIST, 2, params);
}

/* The route's {id} of a channel or an alert: 0 or the 404 answered. */
static int API_ANSWERS
id_param(struct api_req *r, const char **id, bool channel)
{
    *id = api_param_uuid(r, "id");
    if (*id != NULL)
        return 0;
    if (channel)
        return channel_not_found(r, api_param(r, "id"));
    return api_error(r, 404, "ALERT_NOT_FOUND", "No such alert rule",
                     json_pack("{s:s}", "alert_id", api_param(r, "id")));
}

static int API_ANSWERS
alert_not_found(struct api_req *r, const char *id)
{
    return api_error(r, 404, "ALERT_NOT_FOUND", "No such alert rule",
                     json_pack("{s:s}", "alert_id", id ? id : ""));
}

/* GET of one row by id with statement st. */
static int API_ANSWERS
get_one(struct api_req *r, enum api_stmt st, bool channel)
{
    const char *id;
    PGresult *res;
    int rc;

    if ((rc = id_param(r, &id, channel)) != 0)
        return rc;
    rc = api_exec_scoped(r, r->who.tenant_id, r->who.user_id, st, 1, &id, &res);
    if (rc != SL_OK)
        return api_db_error(r, rc);
    if (PQntuples(res) == 0)
        return channel ? channel_not_found(r, id) : alert_not_found(r, id);
    return api_reply_raw(r, 200, PQgetvalue(res, 0, 0));
}

int
api_h_channels_get(struct api_req *r)
{
    return get_one(r, ST_CHANNEL_GET, true);
}

int
api_h_channels_update(struct api_req *r)
{
    struct sl_db *db = &r->ctx->db;
    struct api_check c;
    const char *id, *name, *type, *url = NULL, *enabled, *sealed_text = NULL;
    const char *params[5];
    json_t *body, *base, *sealed_base, *clear = NULL, *sealed = NULL;
    PGresult *res;
    int rc;

    if ((rc = id_param(r, &id, true)) != 0 ||
        (rc = api_body_object(r, false, &body)) != 0)
        return rc;
    if ((rc = sl_db_begin(db, r->who.tenant_id, r->who.user_id)) != SL_OK ||
        (rc = api_exec(r, ST_CHANNEL_LOCK, 1, &id, &res)) != SL_OK)
        goto failed;
    if (PQntuples(res) == 0) {
        sl_db_rollback(db);
        return channel_not_found(r, id);
    }
    type = PQgetvalue(res, 0, 0);
    base =
        sl_json_pool_own(r->pool, json_loads(PQgetvalue(res, 0, 1), 0, NULL));
    rc = channel_unseal(r, id, PQgetvalue(res, 0, 2), &sealed_base);
    if (rc != 0) {
        sl_db_rollback(db);
        return api_error(r, 500, "CHANNEL_ERROR",
                         "The channel's URL cannot be opened with the "
                         "configured key",
                         NULL);
    }
    api_check_init(&c, r);
    name = api_check_str(&c, body, "name", 0, 1, 200);
    if (json_object_get(body, "type") != NULL &&
        (sl_json_get_str(body, "type") == NULL ||
         strcmp(sl_json_get_str(body, "type"), type) != 0))
        api_check_fail(&c, "type", "cannot be changed");
    split_configuration(&c, body, type, base, sealed_base, &clear, &sealed,
                        &url);
    sl_json_pool_own(r->pool, clear);
    sl_json_pool_own(r->pool, sealed);
    enabled = api_endpoint_enabled(&c, body);
    if ((rc = api_check_done(&c)) != 0) {
        sl_db_rollback(db);
        return rc;
    }
    /* The DNS lookup runs outside the transaction; the row stays ours
     * meanwhile only in that nobody else's change is lost: it is read
     * again below. */
    sl_db_rollback(db);
    if (url != NULL &&
        (rc = api_endpoint_url_check(r, "configuration.webhook_url", url)) != 0)
        return rc;
    if (json_object_get(body, "configuration") != NULL) {
        if ((rc = channel_seal(r, id, sealed, &sealed_text)) != 0)
            return rc;
    }
    params[0] = id;
    params[1] = name;
    params[2] = json_object_get(body, "configuration") != NULL
                    ? api_json_text(r, clear)
                    : NULL;
    params[3] = sealed_text;
    params[4] = enabled;
    rc = api_exec_scoped(r, r->who.tenant_id, r->who.user_id, ST_CHANNEL_UPDATE,
                         5, params, &res);
    if (rc == SL_ECONFLICT)
        return duplicate_channel(r, name);
    if (rc != SL_OK)
        return api_db_error(r, rc);
    if (PQntuples(res) == 0)
        return channel_not_found(r, id);
    return api_reply_raw(r, 200, PQgetvalue(res, 0, 0));
failed:
    sl_db_rollback(db);
    return api_db_error(r, rc);
}

int
api_h_channels_delete(struct api_req *r)
{
    const char *id;
    PGresult *res;
    int rc;

    if ((rc = id_param(r, &id, true)) != 0)
        return rc;
    rc = api_exec_scoped(r, r->who.tenant_id, r->who.user_id, ST_CHANNEL_DELETE,
                         1, &id, &res);
    if (rc != SL_OK)
        return api_db_error(r, rc);
    if (!PQgetisnull(res, 0, 0))
        return api_reply(r, 200,
                         json_pack("{s:s, s:s}", "message",
                                   "Notification channel deleted "
                                   "successfully",
                                   "channel_id", id));
    if (strcmp(PQgetvalue(res, 0, 2), "t") != 0)
        return channel_not_found(r, id);
    return api_error(r, 409, "CHANNEL_IN_USE",
                     "Alert rules send to this channel: change or delete "
                     "them first",
                     json_pack("{s:s, s:o}", "channel_id", id, "alert_ids",
                               json_loads(PQgetvalue(res, 0, 1), 0, NULL)));
}

/* --- alert rules -------------------------------------------------------------
 */

/*
 * The condition of body: {event_type (a known name), filters (an object
 * of field -> scalar or array of scalars)}, as JSON text (the pool's),
 * or NULL (absent, or recorded in c).
 */
static const char *
check_condition(struct api_check *c, json_t *body, bool required)
{
    json_t *cond = json_object_get(body, "condition"), *filters, *v;
    const char *type, *key;

    if (cond == NULL || json_is_null(cond)) {
        if (required)
            api_check_fail(c, "condition", "is required");
        return NULL;
    }
    if (!json_is_object(cond)) {
        api_check_fail(c, "condition", "must be an object");
        return NULL;
    }
    type = sl_json_get_str(cond, "event_type");
    if (type == NULL) {
        api_check_fail(c, "condition.event_type", "is required");
    } else if (!sl_event_known(type)) {
        api_check_fail(c, "condition.event_type",
                       "names an unknown event '%.80s' (see "
                       "GET /api/v1/webhooks/events)",
                       type);
    }
    filters = json_object_get(cond, "filters");
    if (filters != NULL && !json_is_null(filters)) {
        if (!json_is_object(filters) ||
            json_object_size(filters) > MAX_FILTERS) {
            api_check_fail(c, "condition.filters",
                           "must be an object of at most %d fields",
                           MAX_FILTERS);
        } else {
            json_object_foreach(filters, key, v)
            {
                bool ok = !json_is_object(v);

                if (json_is_array(v)) {
                    size_t i;
                    json_t *e;

                    ok = json_array_size(v) <= MAX_FILTER_VALUES;
                    json_array_foreach(v, i, e)
                    {
                        ok = ok && !json_is_object(e) && !json_is_array(e);
                    }
                }
                if (!ok)
                    api_check_fail(c,
                                   sl_psprintf(c->r->pool,
                                               "condition.filters.%.100s", key),
                                   "must be a value or an array of at most "
                                   "%d values",
                                   MAX_FILTER_VALUES);
            }
        }
    }
    {
        const char *k;

        json_object_foreach(cond, k, v)
        {
            if (strcmp(k, "event_type") != 0 && strcmp(k, "filters") != 0)
                api_check_fail(c,
                               sl_psprintf(c->r->pool, "condition.%.100s", k),
                               "is not a member of a condition (event_type, "
                               "filters)");
        }
    }
    return api_json_text(c->r, cond);
}

/* An entry of an alert rule's channels: the shape of a channel id. */
static bool
channel_entry(struct api_check *c, const char *field, json_t *v)
{
    const char *s = json_string_value(v);

    if (s != NULL && sl_uuid_valid(s))
        return true;
    api_check_fail(c, field,
                   "names no notification channel of this organization: "
                   "'%.80s'",
                   s ? s : "(not a string)");
    return false;
}

/*
 * The channels of body: 1 to MAX_CHANNELS channel ids, as JSON text (the
 * pool's), or NULL (absent, or recorded). Whether they exist is checked
 * by channels_exist(), in the transaction.
 */
static const char *
check_channels(struct api_check *c, json_t *body, bool required)
{
    return api_check_list(c, body, "channels", required, MAX_CHANNELS,
                          "channel ids", false, channel_entry);
}

/* Checks that every id of channels (JSON text) is a channel of the
 * organisation, in the open transaction; records those that are not. */
static int
channels_exist(struct api_check *c, const char *channels)
{
    PGresult *res;
    json_t *missing, *v;
    size_t i;
    int rc;

    if (channels == NULL)
        return 0;
    if ((rc = api_exec(c->r, ST_CHANNELS_MISSING, 1, &channels, &res)) != 0)
        return rc;
    missing = sl_json_pool_own(c->r->pool,
                               json_loads(PQgetvalue(res, 0, 0), 0, NULL));
    json_array_foreach(missing, i, v)
    {
        json_t *given =
            sl_json_pool_own(c->r->pool, json_loads(channels, 0, NULL));
        json_t *g;
        size_t j;

        json_array_foreach(given, j, g)
        {
            if (strcasecmp(json_string_value(g), json_string_value(v)) == 0) {
                api_check_fail(c, sl_psprintf(c->r->pool, "channels[%zu]", j),
                               "names no notification channel of this "
                               "organization: '%s'",
                               json_string_value(v));
                break;
            }
        }
    }
    return 0;
}

/*
 * The template of body: {subject, body}, each checked by
 * sl_template_check(); JSON text or NULL.
 */
static const char *
check_template(struct api_check *c, json_t *body)
{
    json_t *t = json_object_get(body, "template"), *v;
    const char *key;

    if (t == NULL || json_is_null(t))
        return NULL;
    if (!json_is_object(t)) {
        api_check_fail(c, "template", "must be an object {subject, body}");
        return NULL;
    }
    json_object_foreach(t, key, v)
    {
        char why[200];
        const char *field = sl_psprintf(c->r->pool, "template.%.50s", key);

        if (strcmp(key, "subject") != 0 && strcmp(key, "body") != 0) {
            api_check_fail(c, field,
                           "is not a member of a template "
                           "(subject, body)");
            continue;
        }
        if (!json_is_string(v)) {
            api_check_fail(c, field, "must be a string");
            continue;
        }
        if (sl_template_check(json_string_value(v), why, sizeof(why)) != 0)
            api_check_fail(c, field, "%s", why);
    }
    return api_json_text(c->r, t);
}

int
api_h_alerts_create(struct api_req *r)
{
    struct sl_db *db = &r->ctx->db;
    struct api_check c;
    const char *params[7], *channels;
    char id[SL_UUID_LEN];
    json_t *body;
    PGresult *res;
    int rc;

    if ((rc = api_body_object(r, false, &body)) != 0)
        return rc;
    api_check_init(&c, r);
    params[1] = api_check_str(&c, body, "name", API_REQUIRED, 1, 200);
    params[2] = api_check_str(&c, body, "description", 0, 0, 2000);
    params[3] = check_condition(&c, body, true);
    params[4] = channels = check_channels(&c, body, true);
    params[5] = check_template(&c, body);
    params[6] = api_endpoint_enabled(&c, body);
    if (params[5] == NULL)
        params[5] = "{}";
    if (params[2] != NULL && *params[2] == '\0')
        params[2] = NULL;
    if (sl_uuid_v7(id) != SL_OK)
        return SL_ECRYPTO;
    params[0] = id;
    if ((rc = sl_db_begin(db, r->who.tenant_id, r->who.user_id)) != SL_OK ||
        (rc = channels_exist(&c, channels)) != SL_OK)
        goto failed;
    if (json_array_size(c.errors) > 0) {
        sl_db_rollback(db);
        return api_check_done(&c);
    }
    if ((rc = api_exec(r, ST_ALERT_INSERT, 7, params, &res)) != SL_OK ||
        (rc = sl_db_commit(db)) != SL_OK)
        goto failed;
    api_add_header(r, "Location: /api/v1/notifications/alerts/%s", id);
    return api_reply_raw(r, 201, PQgetvalue(res, 0, 0));
failed:
    sl_db_rollback(db);
    return api_db_error(r, rc);
}

int
api_h_alerts_list(struct api_req *r)
{
    struct api_page pg;
    const char *params[2];
    int rc;

    if ((rc = api_page_parse(r, &pg)) != 0)
        return rc;
    return api_reply_list_stmt(r, &pg, ST_ALERT_LIST, 2, params);
}

int
api_h_alerts_get(struct api_req *r)
{
    return get_one(r, ST_ALERT_GET, false);
}

int
api_h_alerts_update(struct api_req *r)
{
    struct sl_db *db = &r->ctx->db;
    struct api_check c;
    const char *id, *params[8], *channels;
    json_t *body;
    PGresult *res;
    int rc;

    if ((rc = id_param(r, &id, false)) != 0 ||
        (rc = api_body_object(r, false, &body)) != 0)
        return rc;
    api_check_init(&c, r);
    params[0] = id;
    params[1] = api_check_str(&c, body, "name", 0, 1, 200);
    params[2] = api_check_str(&c, body, "description", 0, 0, 2000);
    params[3] = check_condition(&c, body, false);
    params[4] = channels = check_channels(&c, body, false);
    params[5] = check_template(&c, body);
    params[6] = api_endpoint_enabled(&c, body);
    params[7] = json_object_get(body, "description") != NULL ? "true" : "false";
    if ((rc = sl_db_begin(db, r->who.tenant_id, r->who.user_id)) != SL_OK ||
        (rc = channels_exist(&c, channels)) != SL_OK)
        goto failed;
    if (json_array_size(c.errors) > 0) {
        sl_db_rollback(db);
        return api_check_done(&c);
    }
    if ((rc = api_exec(r, ST_ALERT_UPDATE, 8, params, &res)) != SL_OK)
        goto failed;
    if (PQntuples(res) == 0) {
        sl_db_rollback(db);
        return alert_not_found(r, id);
    }
    if ((rc = sl_db_commit(db)) != SL_OK)
        goto failed;
    return api_reply_raw(r, 200, PQgetvalue(res, 0, 0));
failed:
    sl_db_rollback(db);
    return api_db_error(r, rc);
}

int
api_h_alerts_delete(struct api_req *r)
{
    const char *id;
    PGresult *res;
    int rc;

    if ((rc = id_param(r, &id, false)) != 0)
        return rc;
    rc = api_exec_scoped(r, r->who.tenant_id, r->who.user_id, ST_ALERT_DELETE,
                         1, &id, &res);
    if (rc != SL_OK)
        return api_db_error(r, rc);
    if (PQntuples(res) == 0)
        return alert_not_found(r, id);
    return api_reply(r, 200,
                     json_pack("{s:s, s:s}", "message",
                               "Alert rule deleted successfully", "alert_id",
                               id));
}

/* --- sending now -------------------------------------------------------------
 */

/* s with Slack's three control characters escaped (&, <, >), appended. */
static void
slack_escape(sl_pool *pool, const char *s, char **out)
{
    size_t n = 0;
    char *o, *p;

    for (const char *q = s; *q; q++)
        n += *q == '&' ? 5 : (*q == '<' || *q == '>') ? 4 : 1;
    o = p = sl_pcalloc(pool, n + 1);
    if (o == NULL) {
        *out = NULL;
        return;
    }
    for (const char *q = s; *q; q++) {
        if (*q == '&')
            p = stpcpy(p, "&amp;");
        else if (*q == '<')
            p = stpcpy(p, "&lt;");
        else if (*q == '>')
            p = stpcpy(p, "&gt;");
        else
            *p++ = *q;
    }
    *p = '\0';
    *out = o;
}

/*
 * Slack's incoming-webhook body: {"text": "*subject*\nmessage"} with the
 * configuration's channel, username, icon_emoji and icon_url. JSON text
 * in the pool, or NULL out of memory.
 */
static const char *
slack_body(struct api_req *r, json_t *conf, const char *subject,
           const char *message)
{
    static const char *const keep[] = {"channel", "username", "icon_emoji",
                                       "icon_url"};
    char *s = NULL, *m = NULL;
    json_t *b;
    const char *text;

    slack_escape(r->pool, message, &m);
    if (subject != NULL && *subject != '\0')
        slack_escape(r->pool, subject, &s);
    if (m == NULL)
        return NULL;
    b = json_pack("{s:s}", "text",
                  s ? sl_psprintf(r->pool, "*%s*\n%s", s, m) : m);
    for (size_t i = 0; i < 4; i++) {
        json_t *v = json_object_get(conf, keep[i]);

        if (json_is_string(v))
            json_object_set(b, keep[i], v);
    }
    text = api_json_text(r, b);
    json_decref(b);
    return text;
}

int
api_h_notifications_send(struct api_req *r)
{
    static const char *const priorities[] = {"low", "medium", "high",
                                             "critical"};
    struct sl_db *db = &r->ctx->db;
    struct api_check c;
    const char *chan, *subject, *message, *priority, *body_text, *doc;
    char hex[33];
    json_t *body, *event, *conf;
    PGresult *res;
    bool ok = false;
    int rc;

    if ((rc = api_body_object(r, false, &body)) != 0)
        return rc;
    api_check_init(&c, r);
    chan = api_check_str(&c, body, "channel_id", API_REQUIRED, 1, 100);
    subject = api_check_str(&c, body, "subject", 0, 0, MAX_SUBJECT);
    message = api_check_str(&c, body, "message", API_REQUIRED, 1, MAX_MESSAGE);
    priority = api_check_str(&c, body, "priority", 0, 1, 20);
    if (priority == NULL)
        priority = "medium";
    for (size_t i = 0; i < 4; i++)
        ok = ok || strcmp(priority, priorities[i]) == 0;
    if (!ok)
        api_check_fail(&c, "priority", "must be low, medium, high or critical");
    if (chan != NULL && !sl_uuid_valid(chan))
        api_check_fail(&c, "channel_id",
                       "names no notification channel of this organization: "
                       "'%.80s'",
                       chan);
    if ((rc = api_check_done(&c)) != 0)
        return rc;
    event = sl_json_pool_own(
        r->pool, api_event_new(r, "notification.sent",
                               json_pack("{s:s, s:s?, s:s, s:s}", "channel_id",
                                         chan, "subject", subject, "message",
                                         message, "priority", priority),
                               hex));
    if (event == NULL)
        return SL_ENOMEM;
    if ((rc = sl_db_begin(db, r->who.tenant_id, r->who.user_id)) != SL_OK ||
        (rc = api_exec(r, ST_CHANNEL_LOCK, 1, &chan, &res)) != SL_OK)
        goto failed;
    if (PQntuples(res) == 0) {
        sl_db_rollback(db);
        api_check_fail(&c, "channel_id",
                       "names no notification channel of this organization: "
                       "'%s'",
                       chan);
        return api_check_done(&c);
    }
    if (strcmp(PQgetvalue(res, 0, 3), "t") != 0) {
        sl_db_rollback(db);
        return api_error(r, 409, "CHANNEL_DISABLED",
                         "The notification channel is disabled",
                         json_pack("{s:s}", "channel_id", chan));
    }
    conf =
        sl_json_pool_own(r->pool, json_loads(PQgetvalue(res, 0, 1), 0, NULL));
    body_text = strcmp(PQgetvalue(res, 0, 0), "slack") == 0
                    ? slack_body(r, conf, subject, message)
                    : api_json_text(r, event);
    if (body_text == NULL) {
        rc = SL_ENOMEM;
        goto failed;
    }
    if ((rc = api_delivery_insert(r, NULL, chan, event, hex, body_text,
                                  &doc)) != SL_OK ||
        (rc = sl_db_commit(db)) != SL_OK)
        goto failed;
    return api_delivery_accepted(r, doc, "Notification queued for delivery");
failed:
    sl_db_rollback(db);
    return api_db_error(r, rc);
}
