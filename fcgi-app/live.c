/*
 * live.c: who may open a WebSocket, asked by nginx for each handshake.
 *
 * nginx's /ws/ location makes an auth_request subrequest to its internal
 * /_ws_auth location, which passes the handshake's request line and
 * headers here with the FastCGI parameter SLUICE_WS_AUTH set (a client
 * cannot set a parameter that is not an HTTP_ header). The caller is
 * authenticated by the API's one implementation (authenticate.c: a bearer
 * token, ?token= as seed 002's client sends it, or X-API-Key, with
 * X-Organization-ID), the path's pipeline or run must exist in the
 * caller's organisation (another's answers as a missing one does: 404),
 * and the answer carries an X-Sluice-Ticket (lib/ticket.h) that nginx
 * hands the hub. dispatch.c turns what auth_request cannot pass on (a
 * 404, say) into a 403 naming the real status, which nginx's error pages
 * answer in the seeds' JSON.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "authenticate.h"
#include "clock.h"
#include "handlers.h"
#include "limits.h"
#include "request.h"
#include "router.h"
#include "stmt.h"
#include "ticket.h"

bool
api_ws_subrequest(struct api_req *r)
{
    const char *v = FCGX_GetParam("SLUICE_WS_AUTH", r->fcgi->envp);

    return v != NULL && strcmp(v, "1") == 0;
}

int
api_h_ws_authorize(struct api_req *r)
{
    const struct sl_conf *conf = r->ctx->conf;
    const char *pattern = r->route->pattern;
    const char *params[2];
    struct sl_ticket t;
    char text[SL_MAX_TICKET];
    PGresult *res;
    int rc;

    if (!api_ws_subrequest(r))
        return api_error(r, 404, "NOT_FOUND", "No such resource", NULL);
    if (conf->hub_ticket_key == NULL || strlen(conf->hub_ticket_key) < 32)
        return api_error(r, 503, "SERVICE_UNAVAILABLE",
                         "Live updates are not configured on this server",
                         NULL);
    memset(&t, 0, sizeof(t));
    if (strncmp(pattern, "/ws/pipeline/", 13) == 0) {
        params[0] = api_param_uuid(r, "id");
        params[1] = api_param(r, "id");
        rc = api_exec_scoped(r, r->who.tenant_id, r->who.user_id,
                             ST_WS_PIPELINE, 2, params, &res);
        if (rc != 0)
            return api_db_error(r, rc);
        if (PQntuples(res) == 0)
            return api_error(r, 404, "PIPELINE_NOT_FOUND", "No such pipeline",
                             NULL);
        t.scope = SL_TICKET_PIPELINE;
        snprintf(t.target, sizeof(t.target), "%s", PQgetvalue(res, 0, 0));
    } else if (strncmp(pattern, "/ws/runs/", 9) == 0) {
        params[0] = api_param_uuid(r, "id");
        if (params[0] == NULL)
            return api_error(r, 404, "RUN_NOT_FOUND", "No such run", NULL);
        rc = api_exec_scoped(r, r->who.tenant_id, r->who.user_id, ST_WS_RUN, 1,
                             params, &res);
        if (rc != 0)
            return api_db_error(r, rc);
        if (PQntuples(res) == 0)
            return api_error(r, 404, "RUN_NOT_FOUND", "No such run", NULL);
        t.scope = SL_TICKET_RUN;
        snprintf(t.target, sizeof(t.target), "%s", PQgetvalue(res, 0, 0));
    } else {
        t.scope = SL_TICKET_EVENTS;
    }
    snprintf(t.tenant, sizeof(t.tenant), "%s", r->who.tenant_id);
    if (r->who.kind == API_PRINCIPAL_USER) {
        snprintf(t.principal, sizeof(t.principal), "%s", r->who.user_id);
        t.cred_exp = r->who.token_exp;
    } else {
        snprintf(t.principal, sizeof(t.principal), "key:%s",
                 r->who.key_id ? r->who.key_id : "");
        /* API keys do not expire: revoked ones are refused at connect,
         * and the hub ends every session at hub_session_max_seconds. */
        t.cred_exp = 0;
    }
    t.exp = sl_clock_now() + conf->hub_ticket_ttl;
    rc = sl_ticket_sign(conf->hub_ticket_key, strlen(conf->hub_ticket_key), &t,
                        text, sizeof(text));
    if (rc != 0)
        return rc;
    api_add_header(r, "X-Sluice-Ticket: %s", text);
    return api_reply(r, 200, json_pack("{s:s}", "status", "ok"));
}
