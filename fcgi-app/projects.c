/*
 * projects.c: /projects (seed 002) — the folders pipelines belong to.
 *
 * Deleting a project is soft and takes its pipelines with it; each is
 * marked as deleted with the project, so that restoring the project
 * (deletions.c) brings back exactly those. Names are unique in an
 * organisation among projects not deleted.
 */
#include "config.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "err.h"
#include "handlers.h"
#include "json.h"
#include "list.h"
#include "request.h"
#include "uuid.h"

static int API_ANSWERS
project_not_found(struct api_req *r, const char *id)
{
    return api_error(r, 404, "PROJECT_NOT_FOUND", "No such project",
                     json_pack("{s:s}", "project_id", id ? id : ""));
}

/*
 * The route's {id} in *id, lower-cased. Returns 0, or API_ANSWERED with
 * the 404 set when it is not a project id.
 */
static int API_ANSWERS
project_param(struct api_req *r, const char **id)
{
    *id = api_param_uuid(r, "id");
    return *id != NULL ? 0 : project_not_found(r, api_param(r, "id"));
}

/*
 * Reads name, description, settings and tags from body into params[1..4]
 * (NULL when absent). Returns 0, or API_ANSWERED with the 422 set.
 */
static int API_ANSWERS
project_fields(struct api_req *r, json_t *body, bool creating,
               const char *params[5])
{
    struct api_check c;
    json_t *v;

    api_check_init(&c, r);
    params[1] =
        api_check_str(&c, body, "name", creating ? API_REQUIRED : 0, 1, 200);
    params[2] = api_check_str(&c, body, "description", 0, 0, 2000);
    if (json_is_null(json_object_get(body, "description")))
        params[2] = "";
    params[3] = params[4] = NULL;
    if ((v = json_object_get(body, "settings")) != NULL) {
        if (!json_is_object(v))
            api_check_fail(&c, "settings", "must be an object");
        else
            params[3] = api_json_text(r, v);
    }
    if ((v = api_check_tags(&c, body)) != NULL)
        params[4] = api_json_text(r, v);
    return api_check_done(&c);
}

static int API_ANSWERS
duplicate(struct api_req *r, const char *name)
{
    return api_error(
        r, 409, "DUPLICATE_RESOURCE",
        "Another project of this organization has this name",
        json_pack("{s:s, s:s}", "field", "name", "name", name ? name : ""));
}

int
api_h_projects_create(struct api_req *r)
{
    char id[SL_UUID_LEN];
    const char *params[5];
    json_t *body;
    PGresult *res;
    int rc;

    if ((rc = api_body_object(r, false, &body)) != 0 ||
        (rc = project_fields(r, body, true, params)) != 0)
        return rc;
    if (sl_uuid_v4(id) != SL_OK)
        return SL_ECRYPTO;
    params[0] = id;
    if (params[2] != NULL && *params[2] == '\0')
        params[2] = NULL;
    if (params[3] == NULL)
        params[3] = "{}";
    if (params[4] == NULL)
        params[4] = "[]";
    rc = api_exec_scoped(r, r->who.tenant_id, r->who.user_id, ST_PROJECT_INSERT,
                         5, params, &res);
    if (rc == SL_ECONFLICT)
        return duplicate(r, params[1]);
    if (rc != SL_OK)
        return api_db_error(r, rc);
    api_add_header(r, "Location: /api/v1/projects/%s", id);
    return api_reply_raw(r, 201, PQgetvalue(res, 0, 0));
}

int
api_h_projects_list(struct api_req *r)
{
    struct api_page pg;
    const char *params[3];
    int rc;

    if ((rc = api_page_parse(r, &pg)) != 0)
        return rc;
    params[0] = api_like_escape(r, api_query(r, "search"));
    return api_reply_list_stmt(r, &pg, ST_PROJECT_LIST, 3, params);
}

int
api_h_projects_get(struct api_req *r)
{
    const char *id;
    PGresult *res;
    int rc;

    if ((rc = project_param(r, &id)) != 0)
        return rc;
    rc = api_exec_scoped(r, r->who.tenant_id, r->who.user_id, ST_PROJECT_GET, 1,
                         &id, &res);
    if (rc != SL_OK)
        return api_db_error(r, rc);
    if (PQntuples(res) == 0)
        return project_not_found(r, id);
    return api_reply_raw(r, 200, PQgetvalue(res, 0, 0));
}

int
api_h_projects_update(struct api_req *r)
{
    const char *id, *params[5];
    json_t *body;
    PGresult *res;
    int rc;

    if ((rc = project_param(r, &id)) != 0 ||
        (rc = api_body_object(r, false, &body)) != 0 ||
        (rc = project_fields(r, body, false, params)) != 0)
        return rc;
    params[0] = id;
    rc = api_exec_scoped(r, r->who.tenant_id, r->who.user_id, ST_PROJECT_UPDATE,
                         5, params, &res);
    if (rc == SL_ECONFLICT)
        return duplicate(r, params[1]);
    if (rc != SL_OK)
        return api_db_error(r, rc);
    if (PQntuples(res) == 0)
        return project_not_found(r, id);
    return api_reply_raw(r, 200, PQgetvalue(res, 0, 0));
}

int
api_h_projects_delete(struct api_req *r)
{
    const char *id, *params[2];
    PGresult *res;
    int rc;

    if ((rc = project_param(r, &id)) != 0)
        return rc;
    params[0] = id;
    params[1] = r->who.key_id;
    rc = api_exec_scoped(r, r->who.tenant_id, r->who.user_id, ST_PROJECT_DELETE,
                         2, params, &res);
    if (rc != SL_OK)
        return api_db_error(r, rc);
    if (PQntuples(res) == 0)
        return project_not_found(r, id);
    return api_reply(
        r, 200,
        json_pack("{s:s, s:s, s:s, s:{s:I}, s:b}", "message",
                  "Project deleted successfully", "project_id", id,
                  "deleted_at", PQgetvalue(res, 0, 1),
                  "related_entities_deleted", "pipelines",
                  (json_int_t)strtoll(PQgetvalue(res, 0, 2), NULL, 10),
                  "can_restore", 1));
}
