/*
 * connectors.c: /connectors and /connections (seeds 001, 002, 004) — one
 * resource under two names — and their types, test and schema.
 *
 * Settings arrive as seed 001's `configuration`, as `config`, and with
 * seed 002's separate `credentials`; they are merged and checked against
 * the type's schema. The secret members (password, connection_string)
 * are sealed with the configured key, bound to the connector's tenant and
 * id (lib/secretbox.h), and replaced by a mask in what is stored in
 * clear: no response, log line or error ever holds them. Testing and
 * introspection really connect (lib/pgconn.h), within
 * connector_timeout_ms, and reach loopback or private addresses only when
 * the operator allows it.
 */
#include "config.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/crypto.h>

#include "check.h"
#include "clock.h"
#include "connector.h"
#include "connectors.h"
#include "err.h"
#include "handlers.h"
#include "jschema.h"
#include "json.h"
#include "limits.h"
#include "list.h"
#include "pgconn.h"
#include "request.h"
#include "secretbox.h"
#include "uuid.h"
#include "warehouse.h"
#include "webhooks.h"

#define MASK            "********"
#define MAX_TREE_TABLES 500
#define MAX_FILES       1000

/* The members of a connector's settings that are secret. */

struct connector_type {
    const char *type;
    const char *name;
    const char *category;
    const char *description;
    const char *schema; /* JSON Schema of the settings */
};

static const struct connector_type types[] = {
    {"postgresql", "PostgreSQL Database", "database",
     "Connect to PostgreSQL databases",
     "{\"type\": \"object\", \"properties\": {"
     "\"host\": {\"type\": \"string\", \"minLength\": 1, \"maxLength\": 255, "
     "\"required\": true}, "
     "\"port\": {\"type\": \"integer\", \"minimum\": 1, \"maximum\": 65535, "
     "\"default\": 5432}, "
     "\"database\": {\"type\": \"string\", \"minLength\": 1, "
     "\"maxLength\": 63, \"required\": true}, "
     "\"username\": {\"type\": \"string\", \"minLength\": 1, "
     "\"maxLength\": 63, \"required\": true}, "
     "\"password\": {\"type\": \"string\", \"maxLength\": 1024, "
     "\"required\": true, \"sensitive\": true}, "
     "\"connection_string\": {\"type\": \"string\", \"maxLength\": 4096, "
     "\"sensitive\": true, \"description\": \"postgresql://user:password@"
     "host:port/database, instead of the members above\"}, "
     "\"ssl_mode\": {\"enum\": [\"disable\", \"allow\", \"prefer\", "
     "\"require\", \"verify-ca\", \"verify-full\"], \"default\": \"prefer\"}, "
     "\"schema\": {\"type\": \"string\", \"maxLength\": 63}}, "
     "\"additionalProperties\": false}"},
    {"file", "Files (CSV, JSON lines)", "file",
     "A directory of CSV and JSON-lines files under the operator's data "
     "directory",
     "{\"type\": \"object\", \"properties\": {"
     "\"path\": {\"type\": \"string\", \"maxLength\": " SL_WH_PATH_MAX_TEXT
     ", \"default\": \"\", "
     "\"description\": \"A directory relative to the data directory\"}, "
     "\"format\": {\"enum\": [\"csv\", \"jsonl\"]}}, "
     "\"additionalProperties\": false}"},
};
#define NTYPES (sizeof(types) / sizeof(types[0]))

/* The type named s; seed 004's "postgres" is postgresql. */
static const struct connector_type *
type_find(const char *s)
{
    if (s == NULL)
        return NULL;
    if (strcasecmp(s, "postgres") == 0 || strcasecmp(s, "pg") == 0)
        s = "postgresql";
    for (size_t i = 0; i < NTYPES; i++)
        if (strcasecmp(types[i].type, s) == 0)
            return &types[i];
    return NULL;
}

/* Whether key is one of the n names of list. */
static bool
listed(const char *key, const char *const *list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(key, list[i]) == 0)
            return true;
    return false;
}

static bool
is_secret(const char *key)
{
    return listed(key, sl_connector_secret_fields, sl_connector_nsecret);
}

int
api_h_connector_types(struct api_req *r)
{
    json_t *list = json_array();

    for (size_t i = 0; i < NTYPES; i++)
        json_array_append_new(
            list,
            json_pack("{s:s, s:s, s:s, s:s, s:s, s:o}", "type", types[i].type,
                      "name", types[i].name, "category", types[i].category,
                      "version", "1.0.0", "description", types[i].description,
                      "configuration_schema",
                      json_loads(types[i].schema, 0, NULL)));
    return api_reply(
        r, 200, json_pack("{s:O, s:o}", "connectors", list, "items", list));
}

/* --- reading and sealing settings ---------------------------------------- */

/*
 * Fills host, port, database, username, password and ssl_mode from a
 * postgresql:// connection string, where they are not given.
 */
static void
from_connection_string(struct api_check *c, json_t *settings)
{
    static const struct {
        const char *kw, *member;
    } map[] = {
        {"host", "host"},     {"port", "port"},         {"dbname", "database"},
        {"user", "username"}, {"password", "password"}, {"sslmode", "ssl_mode"},
    };
    const char *cs = sl_json_get_str(settings, "connection_string");
    PQconninfoOption *opts;
    char *err = NULL;

    if (cs == NULL)
        return;
    opts = PQconninfoParse(cs, &err);
    if (opts == NULL) {
        /* libpq's message may quote the string, password and all. */
        PQfreemem(err);
        api_check_fail(c, "configuration.connection_string",
                       "is not a valid PostgreSQL connection string");
        return;
    }
    for (PQconninfoOption *o = opts; o->keyword != NULL; o++) {
        for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
            if (strcmp(o->keyword, map[i].kw) != 0 || o->val == NULL ||
                *o->val == '\0' ||
                json_object_get(settings, map[i].member) != NULL)
                continue;
            if (strcmp(map[i].member, "port") == 0)
                json_object_set_new(settings, "port",
                                    json_integer(atoi(o->val)));
            else
                json_object_set_new(settings, map[i].member,
                                    json_string(o->val));
        }
    }
    PQconninfoFree(opts);
}

struct schema_errs {
    struct api_check *c;
};

static void
on_schema_error(void *arg, const char *path, const char *reason)
{
    struct schema_errs *se = arg;
    char field[256];

    snprintf(field, sizeof(field), "configuration%s%s",
             path[0] == '\0' || path[0] == '[' ? "" : ".", path);
    api_check_fail(se->c, field, "%s", reason);
}

/*
 * The settings that decide where a connector's password is sent: a
 * change to any of them is a move. A connection string names all of
 * them, so a new one replaces what the old one gave.
 */
static const char *const destination[] = {
    "host", "port", "database", "username", "ssl_mode", "connection_string"};
#define NDESTINATION (sizeof(destination) / sizeof(destination[0]))

/* Whether v, given for key, is the mask of a secret: "keep it as it is". */
static bool
is_mask(const char *key, const json_t *v)
{
    return is_secret(key) && json_is_string(v) &&
           strcmp(json_string_value(v), MASK) == 0;
}

/*
 * Merges the settings of a body (configuration, config, credentials) over
 * base (a stored connector's settings, or {}), into a new object. A secret
 * member given as the mask keeps its stored value. A stored password goes
 * only where it was given for: when the body moves the connector (changes
 * a member of destination[]) without giving a password, the stored
 * password and connection string are dropped; a password in a new
 * connection string counts as given (check_settings() reads it).
 */
static json_t *
merge_settings(struct api_check *c, json_t *body, json_t *base)
{
    static const char *const parts[] = {"configuration", "config",
                                        "credentials"};
    json_t *out = json_deep_copy(base), *part, *v;
    bool moved = false, new_password = false, new_string = false;
    const char *key;

    for (size_t i = 0; i < 3; i++) {
        part = json_object_get(body, parts[i]);
        if (part == NULL || json_is_null(part))
            continue;
        if (!json_is_object(part)) {
            api_check_fail(c, parts[i], "must be an object");
            continue;
        }
        json_object_foreach(part, key, v)
        {
            const char *k = strcmp(key, "user") == 0 ? "username" : key;

            if (is_mask(k, v))
                continue;
            if (listed(k, destination, NDESTINATION) &&
                !json_equal(v, json_object_get(base, k)))
                moved = true;
            new_password |= strcmp(k, "password") == 0;
            new_string |= strcmp(k, "connection_string") == 0;
        }
    }
    /* What the old connection string gave gives way to the new one's. */
    if (new_string)
        for (size_t k = 0; k < NDESTINATION; k++)
            json_object_del(out, destination[k]);
    if (moved && !new_password)
        for (size_t i = 0; i < sl_connector_nsecret; i++)
            json_object_del(out, sl_connector_secret_fields[i]);
    for (size_t i = 0; i < 3; i++) {
        part = json_object_get(body, parts[i]);
        if (!json_is_object(part))
            continue;
        json_object_foreach(part, key, v)
        {
            const char *k = strcmp(key, "user") == 0 ? "username" : key;

            if (!is_mask(k, v))
                json_object_set(out, k, v);
        }
    }
    return out;
}

/*
 * Removes seed 001's per-property "required": true from a type's schema
 * (shown to clients as the seed shows it; JSON Schema lists required
 * members at the object instead, which check_settings() does by hand).
 */
static void
strip_bool_required(json_t *schema)
{
    const char *key;
    json_t *prop;

    json_object_foreach(json_object_get(schema, "properties"), key, prop)
    {
        if (json_is_boolean(json_object_get(prop, "required")))
            json_object_del(prop, "required");
    }
}

/* Checks merged settings against the type's schema and required members. */
static void
check_settings(struct api_check *c, const struct connector_type *t,
               json_t *settings, const char *dir_root)
{
    json_t *schema = json_loads(t->schema, 0, NULL);
    struct schema_errs se = {c};

    if (strcmp(t->type, "postgresql") == 0)
        from_connection_string(c, settings);
    if (schema != NULL) {
        strip_bool_required(schema);
        if (sl_jschema_apply_defaults(schema, settings) < 0 ||
            sl_jschema_validate(schema, settings, on_schema_error, &se) < 0)
            api_check_fail(c, "configuration",
                           "cannot be checked (the type's schema is broken)");
        json_decref(schema);
    }
    if (strcmp(t->type, "postgresql") == 0) {
        static const char *const req[] = {"host", "database", "username"};

        for (size_t i = 0; i < 3; i++)
            if (json_object_get(settings, req[i]) == NULL) {
                char field[64];

                snprintf(field, sizeof(field), "configuration.%s", req[i]);
                api_check_fail(c, field, "is required");
            }
    } else {
        const char *p = sl_json_get_str(settings, "path");

        if (p != NULL && *p != '\0' && !sl_wh_path_ok(p))
            api_check_fail(c, "configuration.path",
                           "must be relative to the data directory, without "
                           "'..'");
        (void)dir_root;
    }
}

/*
 * Splits settings into what is stored in clear (secrets masked) and the
 * sealed secrets (NULL when there are none). Returns 0 or a negative code;
 * SL_EINVAL when there are secrets but no key is configured.
 */
static int
seal_settings(struct api_req *r, const char *id, json_t *settings,
              const char **clear, const char **sealed)
{
    json_t *secrets = json_object(), *shown = json_deep_copy(settings);
    unsigned char key[SL_SECRETBOX_KEY_LEN];
    char aad[128], *text = NULL, *out = NULL;
    int rc = 0;

    *sealed = NULL;
    for (size_t i = 0; i < sl_connector_nsecret; i++) {
        json_t *v = json_object_get(settings, sl_connector_secret_fields[i]);

        if (v == NULL)
            continue;
        json_object_set(secrets, sl_connector_secret_fields[i], v);
        json_object_set_new(shown, sl_connector_secret_fields[i],
                            json_string(MASK));
    }
    *clear = api_json_text(r, shown);
    if (json_object_size(secrets) > 0) {
        if (sl_secretbox_key_parse(r->ctx->conf->secret_key, key) != SL_OK) {
            rc = SL_EINVAL;
            goto out;
        }
        snprintf(aad, sizeof(aad), "%s/%s", r->who.tenant_id, id);
        text = json_dumps(secrets, JSON_COMPACT);
        if (text == NULL ||
            (rc = sl_secretbox_seal(key, aad, text, strlen(text), &out)) != 0)
            goto out;
        *sealed = sl_pstrdup(r->pool, out);
    }
out:
    if (text != NULL)
        sl_secretbox_free(text, strlen(text));
    free(out);
    OPENSSL_cleanse(key, sizeof(key));
    json_decref(secrets);
    json_decref(shown);
    return rc;
}

/* Opens a stored connector's secrets and puts them back into settings. */
static int
unseal_settings(struct api_req *r, const char *id, const char *sealed,
                json_t *settings)
{
    return sl_connector_unseal(r->ctx->conf->secret_key, r->who.tenant_id, id,
                               sealed, settings);
}

static int API_ANSWERS
no_key(struct api_req *r)
{
    return api_error(r, 422, "VALIDATION_ERROR",
                     "Credentials cannot be stored: the operator has not "
                     "configured secret_key",
                     json_pack("{s:s, s:s}", "field", "configuration.password",
                               "reason", "no secret_key is configured"));
}

static int API_ANSWERS
connector_not_found(struct api_req *r, const char *id)
{
    return api_error(r, 404, "CONNECTOR_NOT_FOUND", "No such connector",
                     json_pack("{s:s}", "connector_id", id ? id : ""));
}

/*
 * The route's {id} in *id, lower-cased. Returns 0, or API_ANSWERED with
 * the 404 set when it is not a connector id.
 */
static int API_ANSWERS
connector_param(struct api_req *r, const char **id)
{
    *id = api_param_uuid(r, "id");
    return *id != NULL ? 0 : connector_not_found(r, api_param(r, "id"));
}

static int API_ANSWERS
duplicate(struct api_req *r, const char *name)
{
    return api_error(
        r, 409, "DUPLICATE_RESOURCE",
        "Another connector of this organization has this name",
        json_pack("{s:s, s:s}", "field", "name", "name", name ? name : ""));
}

int
api_h_connectors_create(struct api_req *r)
{
    const struct connector_type *t;
    const char *name, *desc, *type, *tags, *clear, *sealed, *params[7];
    char id[SL_UUID_LEN];
    struct api_check c;
    json_t *body, *settings, *empty, *tags_v;
    PGresult *res;
    int rc;

    if ((rc = api_body_object(r, false, &body)) != 0)
        return rc;
    api_check_init(&c, r);
    name = api_check_str(&c, body, "name", API_REQUIRED, 1, 200);
    desc = api_check_str(&c, body, "description", 0, 0, 2000);
    type = sl_json_get_str(body, "type");
    if (type == NULL)
        type = sl_json_get_str(body, "connector_type");
    t = type_find(type);
    if (type == NULL)
        api_check_fail(&c, "type", "is required (postgresql or file)");
    else if (t == NULL)
        api_check_fail(&c, "type",
                       "must be postgresql (or postgres) or file; see GET "
                       "/api/v1/connectors/types");
    tags_v = api_check_tags(&c, body);
    tags = tags_v ? api_json_text(r, tags_v) : "[]";
    empty = sl_json_pool_own(r->pool, json_object());
    settings = sl_json_pool_own(r->pool, merge_settings(&c, body, empty));
    if (t != NULL)
        check_settings(&c, t, settings, r->ctx->conf->data_dir);
    if ((rc = api_check_done(&c)) != 0)
        return rc;
    if (sl_uuid_v4(id) != SL_OK)
        return SL_ECRYPTO;
    rc = seal_settings(r, id, settings, &clear, &sealed);
    if (rc == SL_EINVAL)
        return no_key(r);
    if (rc != 0)
        return rc;
    params[0] = id;
    params[1] = name;
    params[2] = t->type;
    params[3] = desc && *desc ? desc : NULL;
    params[4] = clear;
    params[5] = sealed;
    params[6] = tags;
    rc = api_exec_scoped(r, r->who.tenant_id, r->who.user_id,
                         ST_CONNECTOR_INSERT, 7, params, &res);
    if (rc == SL_ECONFLICT)
        return duplicate(r, name);
    if (rc != SL_OK)
        return api_db_error(r, rc);
    api_add_header(r, "Location: /api/v1/connectors/%s", id);
    return api_reply_raw(r, 201, PQgetvalue(res, 0, 0));
}

int
api_connector_create_in(struct api_req *r, struct api_check *c,
                        const char *field, const char *id, const char *name,
                        const char *description, json_t *settings)
{
    const struct connector_type *t = type_find("postgresql");
    const char *clear, *sealed, *params[7];
    struct api_check own;
    json_t *body, *merged, *e;
    PGresult *res;
    size_t i;
    int rc;

    api_check_init(&own, r);
    body = sl_json_pool_own(r->pool,
                            json_pack("{s:O}", "configuration", settings));
    merged = sl_json_pool_own(
        r->pool,
        merge_settings(&own, body, sl_json_pool_own(r->pool, json_object())));
    check_settings(&own, t, merged, r->ctx->conf->data_dir);
    /* The settings' problems, at "configuration.host", are the caller's
     * at "<field>.host". */
    json_array_foreach(own.errors, i, e)
    {
        const char *f = sl_json_get_str(e, "field");

        if (strncmp(f, "configuration", 13) == 0)
            f += 13;
        api_check_fail(c, sl_psprintf(r->pool, "%s%s", field, f), "%s",
                       sl_json_get_str(e, "reason"));
    }
    if (json_array_size(own.errors) > 0)
        return 0;
    rc = seal_settings(r, id, merged, &clear, &sealed);
    if (rc == SL_EINVAL) {
        api_check_fail(c, sl_psprintf(r->pool, "%s.password", field),
                       "cannot be stored: the operator has not configured "
                       "secret_key");
        return 0;
    }
    if (rc != 0)
        return rc;
    params[0] = id;
    params[1] = name;
    params[2] = t->type;
    params[3] = description;
    params[4] = clear;
    params[5] = sealed;
    params[6] = "[]";
    return api_exec(r, ST_CONNECTOR_INSERT, 7, params, &res);
}

int
api_h_connectors_list(struct api_req *r)
{
    const char *type = api_query(r, "type"), *params[3];
    struct api_page pg;
    int rc;

    if ((rc = api_page_parse(r, &pg)) != 0)
        return rc;
    if (type != NULL && type_find(type) == NULL)
        return api_error(r, 422, "VALIDATION_ERROR",
                         "type must be postgresql or file",
                         json_pack("{s:s, s:s}", "field", "type", "reason",
                                   "must be postgresql or file"));
    params[0] = type ? type_find(type)->type : NULL;
    return api_reply_list_stmt(r, &pg, ST_CONNECTOR_LIST, 3, params);
}

int
api_h_connectors_get(struct api_req *r)
{
    const char *id;
    PGresult *res;
    int rc;

    if ((rc = connector_param(r, &id)) != 0)
        return rc;
    rc = api_exec_scoped(r, r->who.tenant_id, r->who.user_id, ST_CONNECTOR_GET,
                         1, &id, &res);
    if (rc != SL_OK)
        return api_db_error(r, rc);
    if (PQntuples(res) == 0)
        return connector_not_found(r, id);
    return api_reply_raw(r, 200, PQgetvalue(res, 0, 0));
}

int
api_connector_load(struct api_req *r, const char *id, bool lock,
                   const char **type, json_t **settings, const char **name)
{
    PGresult *res;
    int rc;

    rc = lock ? api_exec(r, ST_CONNECTOR_LOCK, 1, &id, &res)
              : api_exec_scoped(r, r->who.tenant_id, r->who.user_id,
                                ST_CONNECTOR_LOCK, 1, &id, &res);
    if (rc != SL_OK)
        return rc;
    if (PQntuples(res) == 0)
        return SL_ENOTFOUND;
    *type = PQgetvalue(res, 0, 0);
    *settings =
        sl_json_pool_own(r->pool, json_loads(PQgetvalue(res, 0, 1), 0, NULL));
    if (name != NULL)
        *name = PQgetvalue(res, 0, 3);
    if (*settings == NULL)
        return SL_EPARSE;
    return unseal_settings(r, id, sl_db_value(res, 0, 2), *settings);
}

int
api_connector_error(struct api_req *r, const char *id, int rc)
{
    if (rc == SL_ENOTFOUND)
        return connector_not_found(r, id);
    if (rc == SL_ECRYPTO || rc == SL_EPARSE || rc == SL_EINVAL)
        return api_error(r, 500, "CONNECTOR_ERROR",
                         "The connector's credentials cannot be opened with "
                         "the configured key",
                         NULL);
    return api_db_error(r, rc);
}

/* As api_connector_load(), with the type's entry. */
static int
load_connector(struct api_req *r, const char *id, bool lock,
               const struct connector_type **t, json_t **settings,
               const char **name)
{
    const char *type;
    int rc = api_connector_load(r, id, lock, &type, settings, name);

    if (rc == SL_OK && (*t = type_find(type)) == NULL)
        rc = SL_EPARSE;
    return rc;
}

int
api_h_connectors_update(struct api_req *r)
{
    struct sl_db *db = &r->ctx->db;
    const char *id, *params[7], *name, *desc, *tags;
    const char *clear, *sealed, *old_name;
    const struct connector_type *t;
    struct api_check c;
    json_t *body, *settings, *merged, *tags_v;
    PGresult *res;
    int rc;

    if ((rc = connector_param(r, &id)) != 0 ||
        (rc = api_body_object(r, false, &body)) != 0)
        return rc;
    if ((rc = sl_db_begin(db, r->who.tenant_id, r->who.user_id)) != SL_OK)
        return api_db_error(r, rc);
    rc = load_connector(r, id, true, &t, &settings, &old_name);
    if (rc == SL_ENOTFOUND) {
        sl_db_rollback(db);
        return connector_not_found(r, id);
    }
    if (rc != SL_OK)
        goto failed;
    api_check_init(&c, r);
    name = api_check_str(&c, body, "name", 0, 1, 200);
    desc = api_check_str(&c, body, "description", 0, 0, 2000);
    if (json_object_get(body, "type") != NULL &&
        type_find(sl_json_get_str(body, "type")) != t)
        api_check_fail(&c, "type", "cannot be changed");
    tags_v = api_check_tags(&c, body);
    tags = tags_v ? api_json_text(r, tags_v) : NULL;
    merged = sl_json_pool_own(r->pool, merge_settings(&c, body, settings));
    check_settings(&c, t, merged, r->ctx->conf->data_dir);
    if ((rc = api_check_done(&c)) != 0) {
        sl_db_rollback(db);
        return rc;
    }
    rc = seal_settings(r, id, merged, &clear, &sealed);
    if (rc == SL_EINVAL) {
        sl_db_rollback(db);
        return no_key(r);
    }
    if (rc != 0)
        goto failed;
    params[0] = id;
    params[1] = name;
    params[2] = json_object_get(body, "description") == NULL ? NULL
                : desc == NULL                               ? ""
                                                             : desc;
    params[3] = clear;
    params[4] = sealed;
    params[5] = tags;
    params[6] = sl_json_get_str(body, "status");
    if (params[6] != NULL && strcmp(params[6], "active") != 0 &&
        strcmp(params[6], "inactive") != 0) {
        sl_db_rollback(db);
        return api_error(r, 422, "VALIDATION_ERROR",
                         "status must be active or inactive",
                         json_pack("{s:s, s:s}", "field", "status", "reason",
                                   "must be active or inactive"));
    }
    rc = api_exec(r, ST_CONNECTOR_UPDATE, 7, params, &res);
    if (rc == SL_OK)
        rc = sl_db_commit(db);
    if (rc == SL_ECONFLICT) {
        sl_db_rollback(db);
        return duplicate(r, name);
    }
    if (rc != SL_OK)
        goto failed;
    return api_reply_raw(r, 200, PQgetvalue(res, 0, 0));
failed:
    sl_db_rollback(db);
    if (rc == SL_ECRYPTO || rc == SL_EPARSE || rc == SL_EINVAL)
        return api_error(r, 500, "CONNECTOR_ERROR",
                         "The connector's credentials cannot be opened with "
                         "the configured key",
                         NULL);
    return api_db_error(r, rc);
}

int
api_h_connectors_delete(struct api_req *r)
{
    const char *id, *params[2];
    PGresult *res;
    int rc;

    if ((rc = connector_param(r, &id)) != 0)
        return rc;
    params[0] = id;
    params[1] = r->who.key_id;
    rc = api_exec_scoped(r, r->who.tenant_id, r->who.user_id,
                         ST_CONNECTOR_DELETE, 2, params, &res);
    if (rc != SL_OK)
        return api_db_error(r, rc);
    if (PQntuples(res) == 0)
        return connector_not_found(r, id);
    return api_reply(r, 200,
                     json_pack("{s:s, s:s, s:s}", "message",
                               "Connector deleted successfully", "connector_id",
                               id, "deleted_at", PQgetvalue(res, 0, 1)));
}

/* --- reaching the data ----------------------------------------------------
 */

void
api_connector_pg(struct api_req *r, json_t *s, struct sl_pgconn_params *p,
                 struct sl_pgconn_opts *o)
{
    /* The port's text lives as long as the request, like the settings. */
    char *port = sl_pcalloc(r->pool, 16);

    memset(o, 0, sizeof(*o));
    if (port == NULL) {
        memset(p, 0, sizeof(*p));
        return;
    }
    sl_connector_pg(s, port, p);
    o->timeout_ms = r->ctx->conf->connector_timeout_ms;
    o->allow_private = r->ctx->conf->connector_allow_private;
}

/*
 * The directory of a file connector: under the organisation's own
 * directory of data_dir, data_dir/<tenant>/; NULL when the path would
 * leave it.
 */
static const char *
file_dir(struct api_req *r, json_t *settings)
{
    return sl_connector_dir(r->pool, r->ctx->conf->data_dir, r->who.tenant_id,
                            settings);
}

/* Tests a file connector: its directory exists and can be listed. */
static void
test_file(struct api_req *r, json_t *settings, json_t *result)
{
    const char *dir = file_dir(r, settings);
    struct stat st;
    DIR *d;
    int files = 0;

    if (dir == NULL || stat(dir, &st) != 0 || !S_ISDIR(st.st_mode) ||
        (d = opendir(dir)) == NULL) {
        json_object_set_new(result, "status", json_string("failed"));
        json_object_set_new(result, "message",
                            json_string("The directory does not exist or "
                                        "cannot be read"));
        return;
    }
    for (struct dirent *e; (e = readdir(d)) != NULL;)
        if (e->d_name[0] != '.')
            files++;
    closedir(d);
    json_object_set_new(result, "status", json_string("success"));
    json_object_set_new(result, "message", json_string("Directory readable"));
    json_object_set_new(result, "metadata",
                        json_pack("{s:i}", "file_count", files));
}

int
api_h_connectors_test(struct api_req *r)
{
    struct sl_db *db = &r->ctx->db;
    const char *id, *params[3], *name = NULL;
    const struct connector_type *t;
    char tested_at[SL_RFC3339_MAX];
    json_t *settings, *result = json_object(), *details;
    struct api_event ev;
    PGresult *res;
    int64_t t0 = sl_clock_mono_us();
    bool failed;
    int rc;

    sl_json_pool_own(r->pool, result);
    if ((rc = connector_param(r, &id)) != 0)
        return rc;
    rc = load_connector(r, id, false, &t, &settings, &name);
    if (rc != SL_OK)
        return api_connector_error(r, id, rc);
    sl_clock_format(sl_clock_now(), tested_at);
    if (strcmp(t->type, "postgresql") == 0) {
        struct sl_pgconn_params p;
        struct sl_pgconn_opts o;
        struct sl_pgconn_report rep;
        json_t *schemas = NULL;

        api_connector_pg(r, settings, &p, &o);
        rc = sl_pgconn_test(&p, &o, &rep, &schemas);
        details = json_pack(
            "{s:b, s:b, s:b, s:b, s:f}", "host_resolved", rep.resolved,
            "connection_established", rep.connection_established,
            "authentication_successful", rep.authentication_successful,
            "query_execution_successful", rep.query_execution_successful,
            "latency_ms", rep.latency_ms);
        if (rep.server_version[0] != '\0')
            json_object_set_new(details, "version",
                                json_string(rep.server_version));
        json_object_set_new(result, "status",
                            json_string(rc == 0 ? "success" : "failed"));
        json_object_set_new(
            result, "message",
            json_string(rc == 0 ? "Connection successful" : rep.error));
        json_object_set_new(
            result, "metadata",
            json_pack("{s:s?, s:o}", "database_version",
                      rep.server_version[0] ? rep.server_version : NULL,
                      "available_schemas", schemas ? schemas : json_array()));
        json_object_set_new(result, "details", details);
        json_object_set_new(result, "latency_ms", json_real(rep.latency_ms));
    } else {
        test_file(r, settings, result);
        json_object_set_new(
            result, "latency_ms",
            json_real((double)(sl_clock_mono_us() - t0) / 1000.0));
    }
    json_object_set_new(result, "connector_id", json_string(id));
    json_object_set_new(result, "tested_at", json_string(tested_at));
    json_object_set(result, "test_status", json_object_get(result, "status"));
    params[0] = id;
    params[1] = sl_json_get_str(result, "status");
    params[2] = sl_json_get_str(result, "message");
    failed = strcmp(params[1], "success") != 0;
    /* A failed test is seed 001's connector.connection.failed event,
     * written with the test's outcome. */
    if ((rc = sl_db_begin(db, r->who.tenant_id, r->who.user_id)) != SL_OK ||
        (rc = api_exec(r, ST_CONNECTOR_TESTED, 3, params, &res)) != SL_OK ||
        (failed &&
         (rc = api_event_stage(
              r, "connector.connection.failed",
              json_pack("{s:s, s:s?, s:s, s:s?, s:s}", "connector_id", id,
                        "connector_name", name, "connector_type", t->type,
                        "error_message", params[2], "tested_at", tested_at),
              &ev)) != SL_OK) ||
        (rc = sl_db_commit(db)) != SL_OK) {
        sl_db_rollback(db);
        return api_db_error(r, rc);
    }
    if (failed)
        api_event_publish(r, &ev);
    return api_reply(r, 200, json_incref(result));
}

/* Answers with a file connector's files as its "schema". */
static int API_ANSWERS
file_schema(struct api_req *r, json_t *settings)
{
    const char *dir = file_dir(r, settings);
    json_t *files = json_array();
    DIR *d = dir ? opendir(dir) : NULL;
    int n = 0;

    if (d == NULL) {
        json_decref(files);
        return api_error(r, 422, "CONNECTOR_ERROR",
                         "The connector's directory cannot be read", NULL);
    }
    for (struct dirent *e; (e = readdir(d)) != NULL && n < MAX_FILES;) {
        struct stat st;
        const char *path = sl_psprintf(r->pool, "%s/%s", dir, e->d_name);

        if (e->d_name[0] == '.' || stat(path, &st) != 0 || !S_ISREG(st.st_mode))
            continue;
        json_array_append_new(files,
                              json_pack("{s:s, s:I}", "name", e->d_name,
                                        "size_bytes", (json_int_t)st.st_size));
        n++;
    }
    closedir(d);
    return api_reply(r, 200, json_pack("{s:o}", "files", files));
}

/*
 * Connects to a postgresql connector for introspection. Returns 0 with
 * the connection in *conn (the caller PQfinish()es it), or API_ANSWERED
 * with the 502 set.
 */
static int API_ANSWERS
connect_for_schema(struct api_req *r, json_t *settings, PGconn **conn)
{
    struct sl_pgconn_params p;
    struct sl_pgconn_opts o;
    struct sl_pgconn_report rep;

    *conn = NULL;
    api_connector_pg(r, settings, &p, &o);
    if (sl_pgconn_open(&p, &o, conn, &rep) != 0)
        return api_error(r, 502, "CONNECTOR_ERROR", rep.error, NULL);
    return 0;
}

/*
 * Answers for an introspection that failed with rc (lib/pgconn.h): the
 * server answered past Sluice's bounds, or what says what was asked.
 */
static int API_ANSWERS
introspection_failed(struct api_req *r, int rc, const char *what)
{
    if (rc == SL_ETOOBIG)
        return api_errorf(r, 502, "CONNECTOR_ERROR",
                          "The database answered more than %d rows or %d "
                          "bytes to one statement",
                          SL_PGCONN_MAX_RESULT_ROWS,
                          SL_PGCONN_MAX_RESULT_BYTES);
    return api_error(r, 502, "CONNECTOR_ERROR", what, NULL);
}

int
api_h_connectors_schema(struct api_req *r)
{
    const char *id;
    const struct connector_type *t;
    json_t *settings, *tree = NULL;
    PGconn *conn;
    int rc;

    if ((rc = connector_param(r, &id)) != 0)
        return rc;
    rc = load_connector(r, id, false, &t, &settings, NULL);
    if (rc != SL_OK)
        return api_connector_error(r, id, rc);
    if (strcmp(t->type, "file") == 0)
        return file_schema(r, settings);
    if ((rc = connect_for_schema(r, settings, &conn)) != 0)
        return rc;
    rc = sl_pgconn_schema_tree(conn, MAX_TREE_TABLES, &tree);
    PQfinish(conn);
    if (rc != 0)
        return introspection_failed(r, rc,
                                    "The database did not describe its schema");
    return api_reply(r, 200, tree);
}

int
api_h_connectors_table(struct api_req *r)
{
    const char *id, *name = api_param(r, "table");
    const char *schema = "public", *table = name, *dot;
    const struct connector_type *t;
    json_t *settings, *out = NULL;
    PGconn *conn;
    int rc;

    if ((rc = connector_param(r, &id)) != 0)
        return rc;
    rc = load_connector(r, id, false, &t, &settings, NULL);
    if (rc != SL_OK)
        return api_connector_error(r, id, rc);
    if (strcmp(t->type, "postgresql") != 0)
        return api_error(r, 422, "CONNECTOR_ERROR",
                         "Tables are described for postgresql connectors",
                         NULL);
    if ((dot = strchr(name, '.')) != NULL) {
        schema = sl_pstrndup(r->pool, name, (size_t)(dot - name));
        table = dot + 1;
    } else if (sl_json_get_str(settings, "schema") != NULL) {
        schema = sl_json_get_str(settings, "schema");
    }
    if ((rc = connect_for_schema(r, settings, &conn)) != 0)
        return rc;
    rc = sl_pgconn_table(conn, schema, table, &out);
    PQfinish(conn);
    if (rc == SL_ENOTFOUND)
        return api_error(
            r, 404, "TABLE_NOT_FOUND", "No such table",
            json_pack("{s:s, s:s}", "schema", schema, "table", table));
    if (rc != 0)
        return introspection_failed(r, rc,
                                    "The database did not describe the table");
    return api_reply(r, 200, out);
}
