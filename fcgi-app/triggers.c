/*
 * triggers.c: /mvp/triggers (seed 002) — cron and manual triggers of a
 * pipeline: create, list, delete. A cron trigger's expression and time
 * zone are checked and its next run computed here; firing it is the
 * runner's scheduler. A manual trigger fires at
 * POST /mvp/triggers/manual/{pipeline_id} (runs.c).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "clock.h"
#include "err.h"
#include "handlers.h"
#include "json.h"
#include "list.h"
#include "pipelines.h"
#include "request.h"
#include "uuid.h"

int
api_h_triggers_create(struct api_req *r)
{
    const char *name, *type, *ref, *expr = NULL, *zone = "UTC", *params[10];
    char id[SL_UUID_LEN], next[SL_RFC3339_MAX] = "";
    struct api_check c;
    json_t *body, *config, *v, *parameters;
    bool enabled = true;
    int64_t t;
    PGresult *res;
    int rc;

    if ((rc = api_body_object(r, false, &body)) != 0)
        return rc;
    api_check_init(&c, r);
    name = api_check_str(&c, body, "name", API_REQUIRED, 1, 200);
    ref = api_check_str(&c, body, "pipeline_id", API_REQUIRED, 1, 100);
    type = api_check_str(&c, body, "trigger_type", API_REQUIRED, 1, 20);
    if (type != NULL && strcmp(type, "cron") != 0 &&
        strcmp(type, "manual") != 0) {
        api_check_fail(&c, "trigger_type", "must be cron or manual");
        type = NULL;
    }
    config = json_object_get(body, "config");
    if (config != NULL && !json_is_object(config))
        api_check_fail(&c, "config", "must be an object");
    if (type != NULL && strcmp(type, "cron") == 0 && json_is_object(config)) {
        expr = sl_json_get_str(config, "cron_expression");
        if (expr == NULL)
            expr = sl_json_get_str(config, "cron");
        if (sl_json_get_str(config, "timezone") != NULL)
            zone = sl_json_get_str(config, "timezone");
    }
    if (type != NULL && strcmp(type, "cron") == 0 && expr == NULL)
        api_check_fail(&c, "config.cron_expression",
                       "is required for a cron trigger");
    if ((v = json_object_get(body, "enabled")) != NULL) {
        if (!json_is_boolean(v))
            api_check_fail(&c, "enabled", "must be true or false");
        else
            enabled = json_is_true(v);
    }
    parameters = json_object_get(body, "parameters");
    if (parameters != NULL && !json_is_object(parameters))
        api_check_fail(&c, "parameters", "must be an object");
    if (expr != NULL && strlen(expr) > 256)
        api_check_fail(&c, "config.cron_expression",
                       "must be at most 256 characters");
    else if (expr != NULL && api_check_cron(&c, "config.cron_expression",
                                            "config.timezone", expr, zone, &t))
        sl_clock_format(t, next);
    if ((rc = api_check_done(&c)) != 0)
        return rc;
    if (sl_uuid_v4(id) != SL_OK)
        return SL_ECRYPTO;
    params[0] = id;
    if (!api_pipeline_ref(r, ref, params + 1))
        return api_error(r, 404, "PIPELINE_NOT_FOUND", "No such pipeline",
                         json_pack("{s:s}", "pipeline_id", ref));
    params[3] = name;
    params[4] = type;
    params[5] = expr;
    params[6] = zone;
    params[7] = parameters ? api_json_text(r, parameters) : "{}";
    params[8] = enabled ? "true" : "false";
    params[9] = enabled && next[0] ? next : NULL;
    rc = api_exec_scoped(r, r->who.tenant_id, r->who.user_id, ST_TRIGGER_INSERT,
                         10, params, &res);
    if (rc != SL_OK)
        return api_db_error(r, rc);
    if (PQntuples(res) == 0)
        return api_error(r, 404, "PIPELINE_NOT_FOUND", "No such pipeline",
                         json_pack("{s:s}", "pipeline_id", ref));
    return api_reply_raw(r, 201, PQgetvalue(res, 0, 0));
}

int
api_h_triggers_list(struct api_req *r)
{
    const char *pipeline = api_query(r, "pipeline_id"), *params[3];
    struct api_page pg;
    int rc;

    if ((rc = api_page_parse(r, &pg)) != 0)
        return rc;
    if (pipeline != NULL && !sl_uuid_valid(pipeline))
        return api_error(r, 422, "VALIDATION_ERROR",
                         "pipeline_id must be a pipeline id (a UUID)",
                         json_pack("{s:s, s:s}", "field", "pipeline_id",
                                   "reason", "must be a UUID"));
    params[0] = pipeline;
    return api_reply_list_stmt(r, &pg, ST_TRIGGER_LIST, 3, params);
}

int
api_h_triggers_delete(struct api_req *r)
{
    const char *id = api_param_uuid(r, "id");
    PGresult *res;
    int rc;

    if (id != NULL) {
        rc = api_exec_scoped(r, r->who.tenant_id, r->who.user_id,
                             ST_TRIGGER_DELETE, 1, &id, &res);
        if (rc != SL_OK)
            return api_db_error(r, rc);
        if (PQntuples(res) == 1)
            return api_reply(r, 200,
                             json_pack("{s:s, s:s, s:b}", "message",
                                       "Trigger deleted", "trigger_id", id,
                                       "deleted", 1));
    }
    return api_error(r, 404, "TRIGGER_NOT_FOUND", "No such trigger",
                     json_pack("{s:s}", "trigger_id", api_param(r, "id")));
}
