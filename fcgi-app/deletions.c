/*
 * deletions.c: an organisation admin's view of what was deleted (seed 002):
 * list, statistics, restore, purge, and the audit log that records each
 * delete, restore and purge with who and when.
 *
 * Everything here is scoped to the caller's organisation by row-level
 * security like any other read; the routes require the admin role.
 * Each change is one statement whose audit record is written in the same
 * statement, so that no change can happen unrecorded.
 */
#include "config.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "clock.h"
#include "err.h"
#include "handlers.h"
#include "json.h"
#include "list.h"
#include "request.h"
#include "uuid.h"

/* Entity types as the seed names them (plural) and as rows do. */
static const struct {
    const char *plural, *singular;
} entity_types[] = {
    {"projects", "project"},     {"pipelines", "pipeline"},
    {"connectors", "connector"}, {"runs", "run"},
    {"artifacts", "artifact"},
};
#define NTYPES (sizeof(entity_types) / sizeof(entity_types[0]))

static const char *
entity_singular(const char *s)
{
    for (size_t i = 0; i < NTYPES; i++)
        if (strcmp(s, entity_types[i].plural) == 0 ||
            strcmp(s, entity_types[i].singular) == 0)
            return entity_types[i].singular;
    return NULL;
}

/* The entity_type filter, singular, or NULL (absent or bad: recorded). */
static const char *
entity_filter(struct api_check *c, const char *type)
{
    const char *one = type ? entity_singular(type) : NULL;

    if (type != NULL && one == NULL)
        api_check_fail(c, "entity_type",
                       "must be one of projects, pipelines, connectors, runs, "
                       "artifacts");
    return one;
}

int
api_h_admin_deleted_list(struct api_req *r)
{
    const char *type = api_query(r, "entity_type"), *params[5];
    struct api_page pg;
    struct api_check c;
    int rc;

    if ((rc = api_page_parse(r, &pg)) != 0)
        return rc;
    api_check_init(&c, r);
    params[0] = entity_filter(&c, type);
    params[1] = api_query_time(r, &c, "deleted_after");
    params[2] = api_query_time(r, &c, "deleted_before");
    if ((rc = api_check_done(&c)) != 0)
        return rc;
    return api_reply_list_stmt(r, &pg, ST_DELETED_LIST, 5, params);
}

int
api_h_admin_deletion_stats(struct api_req *r)
{
    PGresult *res;
    int rc = api_exec_scoped(r, r->who.tenant_id, r->who.user_id,
                             ST_DELETION_STATS, 0, NULL, &res);

    if (rc != SL_OK)
        return api_db_error(r, rc);
    return api_reply_raw(r, 200, PQgetvalue(res, 0, 0));
}

int
api_h_admin_cleanup(struct api_req *r)
{
    bool include[NTYPES] = {false};
    const char *params[6];
    char days[16];
    struct api_check c;
    json_t *body, *v, *t, *breakdown;
    json_int_t older = 90;
    bool dry_run = true;
    PGresult *res;
    size_t i;
    int rc;

    if ((rc = api_body_object(r, true, &body)) != 0)
        return rc;
    api_check_init(&c, r);
    v = json_object_get(body, "older_than_days");
    if (v != NULL && (!json_is_integer(v) || json_integer_value(v) < 0 ||
                      json_integer_value(v) > 36500))
        api_check_fail(&c, "older_than_days", "must be an integer in 0..36500");
    else if (v != NULL)
        older = json_integer_value(v);
    v = json_object_get(body, "dry_run");
    if (v != NULL && !json_is_boolean(v))
        api_check_fail(&c, "dry_run", "must be true or false");
    else if (v != NULL)
        dry_run = json_is_true(v);
    v = json_object_get(body, "entity_types");
    if (v == NULL || json_is_null(v)) {
        for (i = 0; i < NTYPES; i++)
            include[i] = true;
    } else if (!json_is_array(v)) {
        api_check_fail(&c, "entity_types", "must be an array");
    } else {
        json_array_foreach(v, i, t)
        {
            const char *s = json_is_string(t) ? json_string_value(t) : "";
            const char *one = entity_singular(s);
            size_t k;

            for (k = 0; one != NULL && k < NTYPES; k++)
                if (strcmp(entity_types[k].singular, one) == 0)
                    include[k] = true;
            if (one == NULL)
                api_check_fail(&c, "entity_types",
                               "'%s' is not one of projects, pipelines, "
                               "connectors, runs, artifacts",
                               s);
        }
    }
    if ((rc = api_check_done(&c)) != 0)
        return rc;
    snprintf(days, sizeof(days), "%lld", (long long)older);
    params[0] = days;
    params[1] = include[0] ? "true" : "false";
    params[2] = include[1] ? "true" : "false";
    params[3] = include[2] ? "true" : "false";
    params[4] = dry_run ? "false" : "true";
    params[5] = r->who.key_id;
    rc = api_exec_scoped(r, r->who.tenant_id, r->who.user_id, ST_CLEANUP, 6,
                         params, &res);
    if (rc != SL_OK)
        return api_db_error(r, rc);
    breakdown = json_object();
    for (i = 0; i < NTYPES; i++)
        if (include[i])
            json_object_set_new(
                breakdown, entity_types[i].plural,
                json_integer(
                    i < 3 ? strtoll(PQgetvalue(res, 0, (int)i), NULL, 10) : 0));
    {
        json_int_t total = 0;
        const char *key;
        json_t *n;

        json_object_foreach(breakdown, key, n) total += json_integer_value(n);
        return api_reply(
            r, 200,
            json_pack("{s:b, s:I, s:I, s:f, s:o, s:I}", "dry_run", dry_run,
                      dry_run ? "entities_to_delete" : "entities_deleted",
                      total, "older_than_days", older,
                      dry_run ? "disk_space_to_free_mb" : "disk_space_freed_mb",
                      strtod(PQgetvalue(res, 0, 3), NULL), "breakdown",
                      breakdown, "total", total));
    }
}

/*
 * The route's {id} in *id, lower-cased. Returns 0, or API_ANSWERED with
 * the 404 set (code, what, and the id under field) when it is not a UUID.
 */
static int API_ANSWERS
id_param(struct api_req *r, const char *code, const char *what,
         const char *field, const char **id)
{
    *id = api_param_uuid(r, "id");
    if (*id != NULL)
        return 0;
    return api_error(r, 404, code, what,
                     json_pack("{s:s}", field, api_param(r, "id")));
}

int
api_h_admin_project_restore(struct api_req *r)
{
    const char *id, *params[2];
    PGresult *res;
    int rc;

    if ((rc = id_param(r, "PROJECT_NOT_FOUND", "No deleted project has this id",
                       "project_id", &id)) != 0)
        return rc;
    params[0] = id;
    params[1] = r->who.key_id;
    rc = api_exec_scoped(r, r->who.tenant_id, r->who.user_id,
                         ST_PROJECT_RESTORE, 2, params, &res);
    if (rc == SL_ECONFLICT)
        return api_error(r, 409, "DUPLICATE_RESOURCE",
                         "A project with this name exists; rename it first",
                         json_pack("{s:s}", "project_id", id));
    if (rc != SL_OK)
        return api_db_error(r, rc);
    if (PQntuples(res) == 0)
        return api_error(r, 404, "PROJECT_NOT_FOUND",
                         "No deleted project has this id",
                         json_pack("{s:s}", "project_id", id));
    return api_reply(
        r, 200,
        json_pack("{s:s, s:b, s:{s:I, s:i}, s:s}", "project_id", id, "restored",
                  1, "related_entities_restored", "pipelines",
                  (json_int_t)strtoll(PQgetvalue(res, 0, 2), NULL, 10),
                  "artifacts", 0, "restored_at", PQgetvalue(res, 0, 1)));
}

int
api_h_admin_pipeline_restore(struct api_req *r)
{
    const char *id, *params[2];
    PGresult *res;
    int rc;

    if ((rc = id_param(r, "PIPELINE_NOT_FOUND",
                       "No deleted pipeline has this id", "pipeline_id",
                       &id)) != 0)
        return rc;
    params[0] = id;
    params[1] = r->who.key_id;
    rc = api_exec_scoped(r, r->who.tenant_id, r->who.user_id,
                         ST_PIPELINE_RESTORE, 2, params, &res);
    if (rc == SL_ECONFLICT)
        return api_error(r, 409, "DUPLICATE_RESOURCE",
                         "Another pipeline has this pipeline's slug now; "
                         "change that one's slug first",
                         json_pack("{s:s}", "pipeline_id", id));
    if (rc != SL_OK)
        return api_db_error(r, rc);
    if (PQntuples(res) == 1)
        return api_reply(
            r, 200,
            json_pack("{s:s, s:b, s:{s:i, s:i, s:I}, s:s}", "pipeline_id", id,
                      "restored", 1, "related_entities_restored", "artifacts",
                      0, "runs", 0, "versions",
                      (json_int_t)strtoll(PQgetvalue(res, 0, 2), NULL, 10),
                      "restored_at", PQgetvalue(res, 0, 1)));
    /* Why not: no such deleted pipeline, or its project is deleted. */
    rc = api_exec_scoped(r, r->who.tenant_id, r->who.user_id,
                         ST_PIPELINE_DELETED_STATE, 1, params, &res);
    if (rc != SL_OK)
        return api_db_error(r, rc);
    if (PQntuples(res) == 1 && strcmp(PQgetvalue(res, 0, 0), "t") == 0 &&
        strcmp(PQgetvalue(res, 0, 2), "t") == 0)
        return api_error(r, 409, "INVALID_STATE",
                         "The pipeline's project is deleted: restore the "
                         "project first",
                         json_pack("{s:s, s:s}", "pipeline_id", id,
                                   "project_id", PQgetvalue(res, 0, 1)));
    return api_error(r, 404, "PIPELINE_NOT_FOUND",
                     "No deleted pipeline has this id",
                     json_pack("{s:s}", "pipeline_id", id));
}

int
api_h_admin_project_purge(struct api_req *r)
{
    const char *id, *params[2];
    PGresult *res;
    int rc;

    if ((rc = id_param(r, "PROJECT_NOT_FOUND", "No such project", "project_id",
                       &id)) != 0)
        return rc;
    params[0] = id;
    params[1] = r->who.key_id;
    rc = api_exec_scoped(r, r->who.tenant_id, r->who.user_id, ST_PROJECT_PURGE,
                         2, params, &res);
    if (rc != SL_OK)
        return api_db_error(r, rc);
    if (PQntuples(res) == 0)
        return api_error(r, 404, "PROJECT_NOT_FOUND", "No such project",
                         json_pack("{s:s}", "project_id", id));
    return api_reply(
        r, 200,
        json_pack("{s:s, s:b, s:{s:I, s:i, s:I}, s:f}", "project_id", id,
                  "permanently_deleted", 1, "cascade_deleted", "pipelines",
                  (json_int_t)strtoll(PQgetvalue(res, 0, 1), NULL, 10),
                  "artifacts", 0, "runs",
                  (json_int_t)strtoll(PQgetvalue(res, 0, 3), NULL, 10),
                  "disk_space_freed_mb", strtod(PQgetvalue(res, 0, 2), NULL)));
}

int
api_h_admin_audit_log(struct api_req *r)
{
    const char *type = api_query(r, "entity_type"), *params[4];
    struct api_page pg;
    struct api_check c;
    int rc;

    if ((rc = api_page_parse(r, &pg)) != 0)
        return rc;
    api_check_init(&c, r);
    params[0] = entity_filter(&c, type);
    if ((rc = api_check_done(&c)) != 0)
        return rc;
    params[1] = api_query(r, "entity_id");
    return api_reply_list_stmt(r, &pg, ST_AUDIT_LIST, 4, params);
}
