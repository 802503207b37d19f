/*
 * pipelines.c: /pipelines — create, read, change, validate, deploy, pause,
 * resume, delete (softly), and the versions of each.
 *
 * A create or change is read into one struct pipeline (a change starts
 * from the stored pipeline and applies the body on top, so that PUT and
 * PATCH both change only what they name), which is then validated as a
 * whole: the graph (graph.c), the project, the connectors its nodes name,
 * the schedule. An invalid pipeline is never stored: 422 names every
 * problem. Reads are one statement whose JSON PostgreSQL builds
 * (pipeline_doc() in sql/002), passed on unparsed.
 */
#include "config.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "clock.h"
#include "connectors.h"
#include "err.h"
#include "graph.h"
#include "handlers.h"
#include "json.h"
#include "limits.h"
#include "list.h"
#include "pipelines.h"
#include "request.h"
#include "utf8.h"
#include "uuid.h"
#include "webhooks.h"

#define MAX_RULES     200
#define MAX_SLUG_LEN  100
#define SLUG_ATTEMPTS 3

/* Statuses a client may set; "created" is seed 001's word for draft. */
static const char *const statuses[] = {
    "draft", "active", "paused", "inactive", "archived", "failed",
};

/* A pipeline being created or changed. Strings and JSON live in the
 * request pool. */
struct pipeline {
    char id[SL_UUID_LEN];
    const char *project_id; /* NULL: none */
    const char *slug;
    bool slug_given;
    const char *name, *description, *status;
    json_t *nodes, *edges;
    json_t *tags, *params, *rules, *configuration;
    const char *cron; /* NULL: not scheduled */
    const char *tz;
    bool enabled;
    char next_run[SL_RFC3339_MAX]; /* "" when none */
    /* Connection settings the body gave inline (graph.h), each with its
     * "node" (the node object), and the connectors made of them:
     * [{"id", "name", "node_id"}]. */
    json_t *inline_conns, *made;
};

/* --- addressing ---------------------------------------------------------- */

/* True when s can be a slug: [a-z0-9][a-z0-9_-]{0,99}, and not a UUID. */
static bool
slug_valid(const char *s)
{
    size_t n = 0;

    if (s == NULL ||
        !(islower((unsigned char)*s) || isdigit((unsigned char)*s)))
        return false;
    for (; s[n] != '\0'; n++)
        if (!(islower((unsigned char)s[n]) || isdigit((unsigned char)s[n]) ||
              s[n] == '_' || s[n] == '-'))
            return false;
    /* Words the routes use after /pipelines/ are not slugs. */
    if (strcmp(s, "runs") == 0 || strcmp(s, "execute") == 0 ||
        strcmp(s, "run") == 0)
        return false;
    return n <= MAX_SLUG_LEN && !sl_uuid_valid(s);
}

/*
 * The {id} of the route as statement parameters: params[0] the id when
 * it is a UUID (lower-cased), params[1] the slug otherwise. Returns 0, or
 * API_ANSWERED with the 404 set when it can be neither.
 */
static int API_ANSWERS
pipeline_ref(struct api_req *r, const char *params[2])
{
    const char *id = api_param(r, "id");

    if (api_pipeline_ref(r, id, params))
        return 0;
    return api_error(r, 404, "PIPELINE_NOT_FOUND", "No such pipeline",
                     json_pack("{s:s}", "pipeline_id", id ? id : ""));
}

bool
api_pipeline_ref(struct api_req *r, const char *ref, const char *params[2])
{
    params[0] = params[1] = NULL;
    if (sl_uuid_valid(ref)) {
        char *canon = sl_pstrdup(r->pool, ref);

        for (char *p = canon; *p != '\0'; p++)
            *p = (char)tolower((unsigned char)*p);
        params[0] = canon;
        return true;
    }
    if (slug_valid(ref)) {
        params[1] = ref;
        return true;
    }
    return false;
}

static int API_ANSWERS
not_found(struct api_req *r)
{
    return api_error(r, 404, "PIPELINE_NOT_FOUND", "No such pipeline",
                     json_pack("{s:s}", "pipeline_id", api_param(r, "id")));
}

/* A slug made from a name: "Bronze to Silver" gives "bronze_to_silver". */
static void
slug_from_name(const char *name, char *out, size_t outsz)
{
    size_t n = 0;
    bool sep = false;

    for (const char *p = name; *p != '\0' && n + 1 < outsz && n < 60; p++) {
        unsigned char ch = (unsigned char)*p;

        if (isalnum(ch) && ch < 0x80) {
            if (sep && n > 0)
                out[n++] = '_';
            out[n++] = (char)tolower(ch);
            sep = false;
        } else {
            sep = true;
        }
    }
    out[n] = '\0';
    if (n == 0 || !slug_valid(out))
        snprintf(out, outsz, "pipeline");
}

/* --- reading a pipeline from the database and from a body ------------------
 */

static json_t *
own(struct api_req *r, json_t *j)
{
    return sl_json_pool_own(r->pool, j);
}

static void
pipeline_defaults(struct api_req *r, struct pipeline *pl)
{
    memset(pl, 0, sizeof(*pl));
    pl->status = "draft";
    pl->tz = "UTC";
    pl->enabled = true;
    pl->nodes = own(r, json_array());
    pl->edges = own(r, json_array());
    pl->tags = own(r, json_array());
    pl->params = own(r, json_object());
    pl->rules = own(r, json_array());
    pl->configuration = own(r, json_object());
    pl->inline_conns = own(r, json_array());
    pl->made = own(r, json_array());
}

/* Fills pl from a stored pipeline's document (taken by the pool). */
static void
pipeline_from_doc(struct api_req *r, struct pipeline *pl, json_t *doc)
{
    json_t *sched = json_object_get(doc, "schedule_config");

    pipeline_defaults(r, pl);
    own(r, doc);
    snprintf(pl->id, sizeof(pl->id), "%s", sl_json_get_str(doc, "id"));
    pl->project_id = sl_json_get_str(doc, "project_id");
    pl->slug = sl_json_get_str(doc, "slug");
    pl->slug_given = true;
    pl->name = sl_json_get_str(doc, "name");
    pl->description = sl_json_get_str(doc, "description");
    pl->status = sl_json_get_str(doc, "status");
    pl->nodes = json_object_get(doc, "nodes");
    pl->edges = json_object_get(doc, "edges");
    pl->tags = json_object_get(doc, "tags");
    pl->params = json_object_get(doc, "default_params");
    pl->rules = json_object_get(doc, "data_quality_rules");
    pl->configuration = json_object_get(doc, "configuration");
    if (json_is_object(sched)) {
        pl->cron = sl_json_get_str(sched, "cron");
        pl->tz = sl_json_get_str(sched, "timezone");
        pl->enabled = sl_json_get_bool(sched, "enabled", true);
    }
}

/* Reads the schedule member: a cron string, null, or seed 001's object. */
static void
apply_schedule(struct api_check *c, struct pipeline *pl, json_t *v)
{
    if (json_is_null(v)) {
        pl->cron = NULL;
        return;
    }
    if (json_is_string(v)) {
        pl->cron = json_string_value(v);
        return;
    }
    if (!json_is_object(v)) {
        api_check_fail(c, "schedule",
                       "must be a cron string, null, or "
                       "{\"cron\", \"timezone\", \"enabled\"}");
        return;
    }
    pl->cron = api_check_str(c, v, "cron", API_REQUIRED, 1, 256);
    if (json_object_get(v, "timezone") != NULL)
        pl->tz = api_check_str(c, v, "timezone", 0, 1, 64);
    if (pl->tz == NULL)
        pl->tz = "UTC";
    if (json_object_get(v, "enabled") != NULL) {
        if (!json_is_boolean(json_object_get(v, "enabled")))
            api_check_fail(c, "schedule.enabled", "must be true or false");
        else
            pl->enabled = json_is_true(json_object_get(v, "enabled"));
    }
}

/* Reads seed 000's settings: batch_size, max_retries, timeout. */
static void
apply_configuration(struct api_check *c, struct pipeline *pl, json_t *conf)
{
    /* timeout: at most what the operator lets a run have (max 0). */
    static const struct {
        const char *name;
        json_int_t min, max;
    } keys[] = {
        {"batch_size", 1, 1000000},
        {"max_retries", 0, 100},
        {"timeout", 1, 0},
    };
    const char *key;
    json_t *v, *out = json_deep_copy(pl->configuration);

    json_object_foreach(conf, key, v)
    {
        size_t i;
        char field[96];
        json_int_t max;

        /* seed 001 keeps its graph here: graph.c read it. */
        if (strcmp(key, "source") == 0 || strcmp(key, "target") == 0 ||
            strcmp(key, "transformation") == 0)
            continue;
        for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
            if (strcmp(key, keys[i].name) == 0)
                break;
        snprintf(field, sizeof(field), "configuration.%.*s",
                 (int)sl_utf8_prefix(key, 60), key);
        if (i == sizeof(keys) / sizeof(keys[0])) {
            api_check_fail(c, field,
                           "is not a setting (batch_size, max_retries, "
                           "timeout)");
            continue;
        }
        max = keys[i].max ? keys[i].max
                          : c->r->ctx->conf->run_timeout_max_seconds;
        if (json_is_null(v)) {
            json_object_del(out, key);
        } else if (!json_is_integer(v) || json_integer_value(v) < keys[i].min ||
                   json_integer_value(v) > max) {
            api_check_fail(c, field, "must be an integer in %lld..%lld",
                           (long long)keys[i].min, (long long)max);
        } else {
            json_object_set(out, key, v);
        }
    }
    pl->configuration = own(c->r, out);
}

/*
 * Applies a request body to pl: every member it names. creating requires
 * name and a graph. Problems are recorded in c. Returns 0 (whether or not
 * problems were recorded) or SL_ENOMEM.
 */
static int
pipeline_apply(struct api_check *c, struct pipeline *pl, json_t *body,
               bool creating)
{
    json_t *nodes, *edges, *v;
    const char *s;
    int g;

    s = api_check_str(c, body, "name", creating ? API_REQUIRED : 0, 1, 200);
    if (s != NULL)
        pl->name = s;
    v = json_object_get(body, "description");
    if (json_is_null(v))
        pl->description = NULL;
    else if (v != NULL &&
             (s = api_check_str(c, body, "description", 0, 0, 2000)) != NULL)
        pl->description = *s ? s : NULL;
    v = json_object_get(body, "project_id");
    if (json_is_null(v))
        pl->project_id = NULL;
    else if (v != NULL &&
             (!json_is_string(v) || !sl_uuid_valid(json_string_value(v))))
        api_check_fail(c, "project_id", "must be a project id (a UUID)");
    else if (v != NULL)
        pl->project_id = json_string_value(v);

    v = json_object_get(body, "slug");
    if (v == NULL && creating) {
        /* Seed 000 names pipelines by a readable id. */
        s = sl_json_get_str(body, "pipeline_id");
        if (s != NULL && !sl_uuid_valid(s))
            v = json_object_get(body, "pipeline_id");
    }
    if (v != NULL) {
        if (!json_is_string(v) || !slug_valid(json_string_value(v)))
            api_check_fail(c, "slug",
                           "must be 1 to 100 characters of a-z, 0-9, '_' and "
                           "'-', starting with a letter or digit, and not a "
                           "UUID");
        else {
            pl->slug = json_string_value(v);
            pl->slug_given = true;
        }
    }

    v = json_object_get(body, "status");
    if (v != NULL) {
        size_t i;

        s = json_is_string(v) ? json_string_value(v) : "";
        if (strcmp(s, "created") == 0)
            s = "draft";
        for (i = 0; i < sizeof(statuses) / sizeof(statuses[0]); i++)
            if (strcmp(s, statuses[i]) == 0)
                break;
        if (i == sizeof(statuses) / sizeof(statuses[0]))
            api_check_fail(c, "status",
                           "must be one of draft, active, paused, inactive, "
                           "archived, failed");
        else
            pl->status = statuses[i];
    }

    if ((v = api_check_tags(c, body)) != NULL)
        pl->tags = v;
    if ((v = json_object_get(body, "default_params")) != NULL) {
        if (json_is_null(v))
            pl->params = own(c->r, json_object());
        else if (!json_is_object(v))
            api_check_fail(c, "default_params", "must be an object");
        else
            pl->params = v;
    }
    if ((v = json_object_get(body, "data_quality_rules")) != NULL) {
        if (json_is_null(v))
            pl->rules = own(c->r, json_array());
        else if (!json_is_array(v) || json_array_size(v) > MAX_RULES)
            api_check_fail(c, "data_quality_rules",
                           "must be an array of at most %d rules", MAX_RULES);
        else
            pl->rules = v;
    }
    if ((v = json_object_get(body, "configuration")) != NULL &&
        !json_is_null(v)) {
        if (!json_is_object(v))
            api_check_fail(c, "configuration", "must be an object");
        else
            apply_configuration(c, pl, v);
    }
    if ((v = json_object_get(body, "schedule")) != NULL)
        apply_schedule(c, pl, v);
    if ((v = json_object_get(body, "timezone")) != NULL && json_is_string(v))
        pl->tz = json_string_value(v);

    json_array_clear(pl->inline_conns);
    g = api_graph_from_body_inline(c, body, &nodes, &edges, pl->inline_conns);
    if (g == SL_OK) {
        size_t i;

        pl->nodes = nodes;
        pl->edges = edges;
        /* Each inline connection names its node by index, until the
         * graph is sorted: hold the node itself instead. */
        json_array_foreach(pl->inline_conns, i, v)
        {
            json_object_set(
                v, "node",
                json_array_get(nodes, (size_t)sl_json_get_int(v, "node", -1)));
        }
    } else if (g == SL_ENOTFOUND && creating) {
        api_check_fail(c, "nodes",
                       "is required: give the graph as config.nodes/edges, "
                       "sources/transformations/targets, "
                       "source_type/target_type with configuration, or "
                       "steps");
    }
    return g == SL_ENOMEM ? g : 0;
}

/* --- validation against the database and the clock ------------------------
 */

/* Checks the schedule and computes the next run into pl->next_run. */
static void
check_schedule(struct api_check *c, struct pipeline *pl)
{
    int64_t next;

    pl->next_run[0] = '\0';
    if (pl->cron != NULL &&
        api_check_cron(c, "schedule", "schedule.timezone", pl->cron, pl->tz,
                       &next) &&
        pl->enabled)
        sl_clock_format(next, pl->next_run);
}

/*
 * Checks that every connector the graph names exists in this organisation
 * and is of the kind its module needs. conns is graph.c's list. Runs in
 * the open transaction. Returns 0 or a database error code.
 */
static int
check_connectors(struct api_req *r, struct api_check *c, json_t *conns)
{
    size_t n = json_array_size(conns), i, len = 3;
    json_t *conn;
    char *arr, *p;
    const char *params[1];
    PGresult *res;
    int rc;

    if (n == 0)
        return 0;
    len += n * (SL_UUID_LEN + 1);
    arr = p = sl_palloc(r->pool, len);
    if (arr == NULL)
        return SL_ENOMEM;
    *p++ = '{';
    json_array_foreach(conns, i, conn)
    {
        /* Each id was checked to be a UUID: nothing else can be in it. */
        p += snprintf(p, len - (size_t)(p - arr), "%s%s", i ? "," : "",
                      sl_json_get_str(conn, "id"));
    }
    snprintf(p, len - (size_t)(p - arr), "}");
    params[0] = arr;
    if ((rc = api_exec(r, ST_CONNECTORS_KINDS, 1, params, &res)) != SL_OK)
        return rc;
    json_array_foreach(conns, i, conn)
    {
        const char *id = sl_json_get_str(conn, "id");
        const char *kind = sl_json_get_str(conn, "kind");
        int row;

        for (row = 0; row < PQntuples(res); row++)
            if (strcasecmp(PQgetvalue(res, row, 0), id) == 0)
                break;
        if (row == PQntuples(res))
            api_check_fail(c, sl_json_get_str(conn, "field"),
                           "no connector '%s' in this organization", id);
        else if (strcmp(PQgetvalue(res, row, 1), kind) != 0)
            api_check_fail(c, sl_json_get_str(conn, "field"),
                           "connector '%s' is a %s connector; this module "
                           "needs a %s one",
                           id, PQgetvalue(res, row, 1), kind);
    }
    return 0;
}

/*
 * Seals the connection settings the body gave inline into new connectors,
 * in the open transaction, and points their nodes at them (seed 001's
 * configuration.source and .target, seed 002's sources and targets): the
 * pipeline keeps only the connector's id, and the connector shows in
 * /connectors, where its password can be rotated. Each is recorded in
 * pl->made. Problems go to c. Returns 0 or a database error code.
 */
static int
make_connectors(struct api_req *r, struct api_check *c, struct pipeline *pl)
{
    size_t i;
    json_t *ic;

    json_array_clear(pl->made);
    json_array_foreach(pl->inline_conns, i, ic)
    {
        json_t *node = json_object_get(ic, "node");
        const char *field = sl_json_get_str(ic, "field");
        const char *node_id = sl_json_get_str(node, "id");
        const char *name, *desc, *pl_name;
        char id[SL_UUID_LEN];
        size_t before = json_array_size(c->errors);
        int rc;

        if (sl_uuid_v4(id) != SL_OK)
            return SL_ECRYPTO;
        pl_name = pl->name ? pl->name : "pipeline";
        node_id = node_id ? node_id : "";
        /* Cut between characters: the database takes only UTF-8. */
        name = sl_psprintf(r->pool, "%.*s: %.*s (%s)",
                           (int)sl_utf8_prefix(pl_name, 120), pl_name,
                           (int)sl_utf8_prefix(node_id, 64), node_id, id);
        desc = sl_psprintf(r->pool,
                           "Made from the connection settings pipeline "
                           "%s gave at %s",
                           pl->id, field);
        rc = api_connector_create_in(r, c, field, id, name, desc,
                                     json_object_get(ic, "settings"));
        if (rc != SL_OK)
            return rc;
        if (json_array_size(c->errors) > before)
            continue;
        json_object_set_new(json_object_get(node, "config"), "connection_id",
                            json_string(id));
        json_array_append_new(pl->made,
                              json_pack("{s:s, s:s, s:s?}", "id", id, "name",
                                        name, "node_id", node_id));
    }
    return 0;
}

/*
 * Validates pl as a whole, in the open transaction: the graph (whose
 * nodes are put in dependency order), the project, the connectors and
 * the schedule, after making the connectors of its inline connection
 * settings (make_connectors()), which the transaction then writes.
 * Problems go to c and warnings (strings) to warnings. Returns 0 or a
 * database error code.
 */
static int
pipeline_check(struct api_req *r, struct api_check *c, struct pipeline *pl,
               json_t *warnings)
{
    json_t *conns = own(r, json_array()), *sorted;
    PGresult *res;
    int rc;

    if (pl->name == NULL)
        api_check_fail(c, "name", "is required");
    if ((rc = make_connectors(r, c, pl)) != SL_OK ||
        (rc = api_graph_validate(c, pl->nodes, pl->edges, warnings, conns,
                                 &sorted)) != SL_OK)
        return rc;
    if (sorted != NULL)
        pl->nodes = sorted;
    check_schedule(c, pl);
    if (pl->project_id != NULL) {
        const char *params[1] = {pl->project_id};

        if ((rc = api_exec(r, ST_PROJECT_EXISTS, 1, params, &res)) != SL_OK)
            return rc;
        if (PQntuples(res) == 0)
            api_check_fail(c, "project_id",
                           "no project '%s' in this organization",
                           pl->project_id);
    }
    return check_connectors(r, c, conns);
}

/* The statement parameters $1..$16 of ST_PIPELINE_INSERT / _UPDATE. */
static void
pipeline_params(struct api_req *r, const struct pipeline *pl,
                const char *params[16])
{
    params[0] = pl->id;
    params[1] = pl->project_id;
    params[2] = pl->slug;
    params[3] = pl->name;
    params[4] = pl->description;
    params[5] = pl->status;
    {
        json_t *const js[] = {pl->nodes,  pl->edges, pl->tags,
                              pl->params, pl->rules, pl->configuration};
        const int at[] = {6, 7, 12, 13, 14, 15};

        for (size_t i = 0; i < 6; i++) {
            char *t = json_dumps(js[i], JSON_COMPACT);

            params[at[i]] = t ? sl_pstrdup(r->pool, t) : "null";
            free(t);
        }
    }
    params[8] = pl->cron;
    params[9] = pl->tz ? pl->tz : "UTC";
    params[10] = pl->enabled ? "true" : "false";
    params[11] = pl->next_run[0] ? pl->next_run : NULL;
}

/* --- handlers ---------------------------------------------------------------
 */

/*
 * Writes the event type (pipeline.created, .updated, .deleted) of
 * pipeline id named name to the outbox, in the open transaction, with
 * who did it. Returns 0 or a database code.
 */
static int
pipeline_event(struct api_req *r, const char *type, const char *id,
               const char *name, struct api_event *ev)
{
    return api_event_stage(r, type,
                           json_pack("{s:s, s:s?, s:{s:s?, s:s?}}",
                                     "pipeline_id", id, "pipeline_name", name,
                                     "actor", "user_id", r->who.user_id,
                                     "api_key_id", r->who.key_id),
                           ev);
}

/*
 * Inserts pl in a transaction of its own. A slug that was derived from
 * the name and is taken gets a random suffix, up to SLUG_ATTEMPTS times.
 * Returns 0 with the stored document in *doc (pool text); API_ANSWERED
 * with the 409, the 422 or the database's error set; SL_ECRYPTO.
 */
static int API_ANSWERS
pipeline_insert(struct api_req *r, struct pipeline *pl, json_t *warnings,
                const char **doc)
{
    struct sl_db *db = &r->ctx->db;
    char slug[MAX_SLUG_LEN + 1], base[MAX_SLUG_LEN + 1];
    const char *params[16];
    struct api_event ev;
    struct api_check c;
    PGresult *res;
    int rc;

    if (!pl->slug_given) {
        slug_from_name(pl->name, base, sizeof(base));
        snprintf(slug, sizeof(slug), "%s", base);
        pl->slug = slug;
    }
    if (sl_uuid_v4(pl->id) != SL_OK)
        return SL_ECRYPTO;
    for (int attempt = 0;; attempt++) {
        api_check_init(&c, r);
        json_array_clear(warnings);
        if ((rc = sl_db_begin(db, r->who.tenant_id, r->who.user_id)) != SL_OK)
            goto failed;
        if ((rc = pipeline_check(r, &c, pl, warnings)) != SL_OK)
            goto failed;
        if (json_array_size(c.errors) > 0) {
            sl_db_rollback(db);
            return api_check_done(&c);
        }
        pipeline_params(r, pl, params);
        rc = api_exec(r, ST_PIPELINE_INSERT, 16, params, &res);
        if (rc == SL_OK)
            rc = pipeline_event(r, "pipeline.created", pl->id, pl->name, &ev);
        if (rc == SL_OK && (rc = sl_db_commit(db)) == SL_OK) {
            *doc = PQgetvalue(res, 0, 0);
            api_event_publish(r, &ev);
            return 0;
        }
        sl_db_rollback(db);
        if (rc != SL_ECONFLICT)
            goto failed;
        if (pl->slug_given || attempt + 1 >= SLUG_ATTEMPTS)
            return api_error(
                r, 409, "DUPLICATE_RESOURCE",
                "Another pipeline of this organization has this slug",
                json_pack("{s:s, s:s}", "field", "slug", "slug", pl->slug));
        {
            char suffix[7];

            sl_random_alnum(suffix, sizeof(suffix) - 1);
            suffix[6] = '\0';
            for (char *p = suffix; *p; p++)
                *p = (char)tolower((unsigned char)*p);
            snprintf(slug, sizeof(slug), "%.90s-%s", base, suffix);
        }
    }
failed:
    sl_db_rollback(db);
    return api_db_error(r, rc);
}

int
api_h_pipelines_create(struct api_req *r)
{
    struct pipeline pl;
    struct api_check c;
    json_t *body, *warnings, *doc;
    const char *text = NULL;
    int rc;

    if ((rc = api_body_object(r, false, &body)) != 0)
        return rc;
    api_check_init(&c, r);
    pipeline_defaults(r, &pl);
    if ((rc = pipeline_apply(&c, &pl, body, true)) != 0 ||
        (rc = api_check_done(&c)) != 0)
        return rc;
    warnings = own(r, json_array());
    if ((rc = pipeline_insert(r, &pl, warnings, &text)) != 0)
        return rc;
    doc = json_loads(text, 0, NULL);
    if (doc == NULL)
        return api_reply_raw(r, 201, text);
    json_object_set_new(doc, "message",
                        json_string("Pipeline created successfully"));
    /* Seed 001's word: deploying is synchronous here, so a pipeline is
     * deployed (its schedule fires) exactly when it is active. */
    json_object_set_new(doc, "deployment_status",
                        json_string(strcmp(pl.status, "active") == 0
                                        ? "deployed"
                                        : "not_deployed"));
    json_object_set(doc, "connectors_created", pl.made);
    json_object_set(doc, "warnings", warnings);
    api_add_header(r, "Location: /api/v1/pipelines/%s", pl.id);
    return api_reply(r, 201, doc);
}

int
api_h_pipelines_get(struct api_req *r)
{
    const char *params[2];
    PGresult *res;
    int rc;

    if ((rc = pipeline_ref(r, params)) != 0)
        return rc;
    rc = api_exec_scoped(r, r->who.tenant_id, r->who.user_id, ST_PIPELINE_GET,
                         2, params, &res);
    if (rc != SL_OK)
        return api_db_error(r, rc);
    if (PQntuples(res) == 0)
        return not_found(r);
    return api_reply_raw(r, 200, PQgetvalue(res, 0, 0));
}

/*
 * Opens a transaction and locks the pipeline of the route, reading it
 * into pl. Returns 0 with the transaction open, or API_ANSWERED with the
 * response set (and no transaction).
 */
static int API_ANSWERS
lock_pipeline(struct api_req *r, struct pipeline *pl)
{
    struct sl_db *db = &r->ctx->db;
    const char *params[2];
    PGresult *res;
    json_t *doc;
    int rc;

    if ((rc = pipeline_ref(r, params)) != 0)
        return rc;
    if ((rc = sl_db_begin(db, r->who.tenant_id, r->who.user_id)) != SL_OK ||
        (rc = api_exec(r, ST_PIPELINE_LOCK, 2, params, &res)) != SL_OK) {
        sl_db_rollback(db);
        return api_db_error(r, rc);
    }
    if (PQntuples(res) == 0) {
        sl_db_rollback(db);
        return not_found(r);
    }
    doc = json_loads(PQgetvalue(res, 0, 0), 0, NULL);
    if (doc == NULL) {
        sl_db_rollback(db);
        return api_error(r, 500, "INTERNAL_ERROR", "Unreadable pipeline", NULL);
    }
    pipeline_from_doc(r, pl, doc);
    return 0;
}

int
api_h_pipelines_update(struct api_req *r)
{
    struct sl_db *db = &r->ctx->db;
    struct pipeline pl;
    struct api_check c;
    json_t *body, *warnings = own(r, json_array());
    const char *params[16];
    struct api_event ev;
    PGresult *res;
    int rc;

    if ((rc = api_body_object(r, false, &body)) != 0 ||
        (rc = lock_pipeline(r, &pl)) != 0)
        return rc;
    api_check_init(&c, r);
    if ((rc = pipeline_apply(&c, &pl, body, false)) != SL_OK ||
        (rc = pipeline_check(r, &c, &pl, warnings)) != SL_OK)
        goto failed;
    if (json_array_size(c.errors) > 0) {
        sl_db_rollback(db);
        return api_check_done(&c);
    }
    pipeline_params(r, &pl, params);
    rc = api_exec(r, ST_PIPELINE_UPDATE, 16, params, &res);
    if (rc == SL_OK)
        rc = pipeline_event(r, "pipeline.updated", pl.id, pl.name, &ev);
    if (rc == SL_OK && (rc = sl_db_commit(db)) == SL_OK)
        api_event_publish(r, &ev);
    if (rc == SL_ECONFLICT) {
        sl_db_rollback(db);
        return api_error(
            r, 409, "DUPLICATE_RESOURCE",
            "Another pipeline of this organization has this slug",
            json_pack("{s:s, s:s}", "field", "slug", "slug", pl.slug));
    }
    if (rc != SL_OK)
        goto failed;
    if (json_array_size(pl.made) > 0) {
        json_t *doc = json_loads(PQgetvalue(res, 0, 0), 0, NULL);

        if (doc != NULL) {
            json_object_set(doc, "connectors_created", pl.made);
            return api_reply(r, 200, doc);
        }
    }
    return api_reply_raw(r, 200, PQgetvalue(res, 0, 0));
failed:
    sl_db_rollback(db);
    return api_db_error(r, rc);
}

/* The problems of c as seed 004's strings ("field: reason"). */
static json_t *
problem_strings(const struct api_check *c)
{
    json_t *out = json_array(), *e;
    size_t i;

    json_array_foreach(c->errors, i, e)
    {
        char line[512];

        snprintf(line, sizeof(line), "%s: %s", sl_json_get_str(e, "field"),
                 sl_json_get_str(e, "reason"));
        json_array_append_new(out, json_string(line));
    }
    return out;
}

int
api_h_pipelines_validate(struct api_req *r)
{
    struct sl_db *db = &r->ctx->db;
    struct pipeline pl;
    struct api_check c;
    json_t *body, *warnings = own(r, json_array());
    int rc;

    if ((rc = api_body_object(r, true, &body)) != 0 ||
        (rc = lock_pipeline(r, &pl)) != 0)
        return rc;
    api_check_init(&c, r);
    /* A body is a proposed change: validated, not stored. */
    if ((rc = pipeline_apply(&c, &pl, body, false)) == SL_OK)
        rc = pipeline_check(r, &c, &pl, warnings);
    sl_db_rollback(db);
    if (rc != SL_OK)
        return api_db_error(r, rc);
    return api_reply(r, 200,
                     json_pack("{s:b, s:o, s:O, s:O, s:s}", "valid",
                               json_array_size(c.errors) == 0, "errors",
                               problem_strings(&c), "warnings", warnings,
                               "issues", c.errors, "pipeline_id", pl.id));
}

/*
 * Changes the pipeline's status to to, when it is now one of from (NULL:
 * any). deploying also validates it and records the deployment.
 */
static int
change_status(struct api_req *r, const char *const *from, const char *to,
              bool deploying)
{
    struct sl_db *db = &r->ctx->db;
    struct pipeline pl;
    struct api_check c;
    json_t *warnings = own(r, json_array()), *doc;
    const char *params[3];
    struct api_event ev;
    PGresult *res;
    int rc;

    if ((rc = lock_pipeline(r, &pl)) != 0)
        return rc;
    if (from != NULL) {
        bool ok = false;

        for (const char *const *f = from; *f != NULL; f++)
            ok = ok || strcmp(pl.status, *f) == 0;
        if (!ok) {
            sl_db_rollback(db);
            return api_error(
                r, 409, "INVALID_STATE",
                sl_psprintf(r->pool, "The pipeline is %s; it cannot become %s",
                            pl.status, to),
                json_pack("{s:s, s:s, s:s}", "pipeline_id", pl.id, "status",
                          pl.status, "requested", to));
        }
    }
    if (deploying) {
        api_check_init(&c, r);
        if ((rc = pipeline_check(r, &c, &pl, warnings)) != SL_OK)
            goto failed;
        if (json_array_size(c.errors) > 0) {
            sl_db_rollback(db);
            return api_check_done(&c);
        }
    }
    params[0] = pl.id;
    params[1] = to;
    params[2] = deploying ? "true" : "false";
    if ((rc = api_exec(r, ST_PIPELINE_STATUS, 3, params, &res)) != SL_OK ||
        (rc = pipeline_event(r, "pipeline.updated", pl.id, pl.name, &ev)) !=
            SL_OK ||
        (rc = sl_db_commit(db)) != SL_OK)
        goto failed;
    api_event_publish(r, &ev);
    if (!deploying)
        return api_reply_raw(r, 200, PQgetvalue(res, 0, 0));
    doc = json_loads(PQgetvalue(res, 0, 0), 0, NULL);
    return api_reply(
        r, 200,
        json_pack("{s:s, s:s, s:s, s:O, s:O, s:O, s:o}", "pipeline_id", pl.id,
                  "status", "deployed", "pipeline_status", to, "version",
                  json_object_get(doc, "version"), "deployment_time",
                  json_object_get(doc, "deployed_at"), "warnings", warnings,
                  "pipeline", doc ? doc : json_null()));
failed:
    sl_db_rollback(db);
    return api_db_error(r, rc);
}

int
api_h_pipelines_deploy(struct api_req *r)
{
    static const char *const from[] = {"draft",    "active", "paused",
                                       "inactive", "failed", NULL};

    return change_status(r, from, "active", true);
}

int
api_h_pipelines_pause(struct api_req *r)
{
    static const char *const from[] = {"active", "paused", NULL};

    return change_status(r, from, "paused", false);
}

int
api_h_pipelines_resume(struct api_req *r)
{
    static const char *const from[] = {"paused", "active", NULL};

    return change_status(r, from, "active", false);
}

int
api_h_pipelines_delete(struct api_req *r)
{
    struct sl_db *db = &r->ctx->db;
    const char *params[3];
    struct api_event ev;
    PGresult *res;
    int rc;

    if ((rc = pipeline_ref(r, params)) != 0)
        return rc;
    params[2] = r->who.key_id;
    if ((rc = sl_db_begin(db, r->who.tenant_id, r->who.user_id)) != SL_OK ||
        (rc = api_exec(r, ST_PIPELINE_DELETE, 3, params, &res)) != SL_OK) {
        sl_db_rollback(db);
        return api_db_error(r, rc);
    }
    if (PQntuples(res) == 0) {
        sl_db_rollback(db);
        return not_found(r);
    }
    if ((rc = pipeline_event(r, "pipeline.deleted", PQgetvalue(res, 0, 0),
                             PQgetvalue(res, 0, 2), &ev)) != SL_OK ||
        (rc = sl_db_commit(db)) != SL_OK) {
        sl_db_rollback(db);
        return api_db_error(r, rc);
    }
    api_event_publish(r, &ev);
    return api_reply(r, 200,
                     json_pack("{s:s, s:s, s:s, s:b}", "message",
                               "Pipeline deleted successfully", "pipeline_id",
                               PQgetvalue(res, 0, 0), "deleted_at",
                               PQgetvalue(res, 0, 1), "can_restore", 1));
}

/* The tags filter: ?tags=a,b or ?tags=a&tags=b, as a JSON array text. */
static const char *
tags_filter(struct api_req *r)
{
    json_t *arr = own(r, json_array());
    char *t;

    for (int i = 0; i < r->nquery; i++) {
        char *copy, *save = NULL;

        if (strcmp(r->query_params[i].name, "tags") != 0 &&
            strcmp(r->query_params[i].name, "tags[]") != 0)
            continue;
        copy = sl_pstrdup(r->pool, r->query_params[i].value);
        for (char *tok = strtok_r(copy, ",", &save); tok != NULL;
             tok = strtok_r(NULL, ",", &save))
            if (*tok != '\0')
                json_array_append_new(arr, json_string(tok));
    }
    if (json_array_size(arr) == 0)
        return NULL;
    t = json_dumps(arr, JSON_COMPACT);
    if (t == NULL)
        return NULL;
    {
        char *p = sl_pstrdup(r->pool, t);

        free(t);
        return p;
    }
}

int
api_h_pipelines_list(struct api_req *r)
{
    static const char *const sorts[] = {"name", "created_at", "updated_at",
                                        "status"};
    const char *status = api_query(r, "status"),
               *project = api_query(r, "project_id");
    const char *sort = api_query(r, "sort"), *order = api_query(r, "order");
    struct api_page pg;
    struct api_check c;
    const char *params[8];
    int rc;

    if ((rc = api_page_parse(r, &pg)) != 0)
        return rc;
    api_check_init(&c, r);
    if (status != NULL) {
        size_t i;

        if (strcmp(status, "created") == 0)
            status = "draft";
        for (i = 0; i < sizeof(statuses) / sizeof(statuses[0]); i++)
            if (strcmp(status, statuses[i]) == 0)
                break;
        if (i == sizeof(statuses) / sizeof(statuses[0]))
            api_check_fail(&c, "status",
                           "must be one of draft, active, paused, inactive, "
                           "archived, failed");
    }
    if (project != NULL && !sl_uuid_valid(project))
        api_check_fail(&c, "project_id", "must be a project id (a UUID)");
    if (sort == NULL)
        sort = "created_at";
    else {
        size_t i;

        if (sort[0] == '-' && order == NULL) {
            sort++;
            order = "desc";
        }
        for (i = 0; i < 4; i++)
            if (strcmp(sort, sorts[i]) == 0)
                break;
        if (i == 4)
            api_check_fail(&c, "sort",
                           "must be one of name, created_at, updated_at, "
                           "status");
    }
    if (order == NULL)
        order = strcmp(sort, "name") == 0 ? "asc" : "desc";
    else if (strcasecmp(order, "asc") == 0)
        order = "asc";
    else if (strcasecmp(order, "desc") == 0)
        order = "desc";
    else
        api_check_fail(&c, "order", "must be asc or desc");
    if ((rc = api_check_done(&c)) != 0)
        return rc;

    params[0] = status;
    params[1] = project;
    params[2] = api_like_escape(r, api_query(r, "search"));
    params[3] = tags_filter(r);
    params[4] = sort;
    params[5] = order;
    return api_reply_list_stmt(r, &pg, ST_PIPELINE_LIST, 8, params);
}

int
api_h_pipelines_versions(struct api_req *r)
{
    const char *params[4];
    struct api_page pg;
    PGresult *res;
    int rc;

    if ((rc = pipeline_ref(r, params)) != 0 ||
        (rc = api_page_parse(r, &pg)) != 0)
        return rc;
    rc = api_exec_scoped(r, r->who.tenant_id, r->who.user_id, ST_PIPELINE_GET,
                         2, params, &res);
    if (rc != SL_OK)
        return api_db_error(r, rc);
    if (PQntuples(res) == 0)
        return not_found(r);
    return api_reply_list_stmt(r, &pg, ST_PIPELINE_VERSIONS, 4, params);
}

int
api_h_pipelines_version_get(struct api_req *r)
{
    const char *params[3], *n = api_param(r, "version");
    char *end;
    long v;
    PGresult *res;
    int rc;

    if ((rc = pipeline_ref(r, params)) != 0)
        return rc;
    v = n ? strtol(n, &end, 10) : 0;
    if (n == NULL || *n == '\0' || *end != '\0' || v < 1 || v > 1000000000)
        return api_error(r, 404, "VERSION_NOT_FOUND", "No such version",
                         json_pack("{s:s}", "version", n ? n : ""));
    params[2] = n;
    rc = api_exec_scoped(r, r->who.tenant_id, r->who.user_id,
                         ST_PIPELINE_VERSION_GET, 3, params, &res);
    if (rc != SL_OK)
        return api_db_error(r, rc);
    if (PQntuples(res) == 0)
        return api_error(r, 404, "VERSION_NOT_FOUND",
                         "No such version of this pipeline",
                         json_pack("{s:s, s:s}", "pipeline_id",
                                   api_param(r, "id"), "version", n));
    return api_reply_raw(r, 200, PQgetvalue(res, 0, 0));
}
