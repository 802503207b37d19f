/*
 * request.c: reading a request (headers, parameters, bodies), setting its
 * response (JSON, errors) and running its statements, for the handlers of
 * sluice-api (request.h).
 *
 * Everything allocated here comes from the request's pool.
 */
#include "config.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "err.h"
#include "form.h"
#include "json.h"
#include "limits.h"
#include "request.h"
#include "uuid.h"

const char *
api_header(struct api_req *r, const char *name)
{
    char param[128];
    size_t i = 5;

    memcpy(param, "HTTP_", 5);
    for (; *name != '\0' && i < sizeof(param) - 1; name++, i++)
        param[i] = *name == '-' ? '_' : (char)toupper((unsigned char)*name);
    param[i] = '\0';
    return FCGX_GetParam(param, r->fcgi->envp);
}

const char *
api_param(struct api_req *r, const char *name)
{
    for (int i = 0; i < r->nparams; i++)
        if (strcmp(r->params[i].name, name) == 0)
            return r->params[i].value;
    return NULL;
}

const char *
api_query(struct api_req *r, const char *name)
{
    /* The dispatcher parsed the query string before routing. */
    for (int i = 0; i < r->nquery; i++)
        if (strcmp(r->query_params[i].name, name) == 0)
            return r->query_params[i].value;
    return NULL;
}

const char *
api_param_uuid(struct api_req *r, const char *name)
{
    const char *id = api_param(r, name);
    char *canon;

    if (!sl_uuid_valid(id))
        return NULL;
    canon = sl_pstrdup(r->pool, id);
    for (char *p = canon; *p != '\0'; p++)
        *p = (char)tolower((unsigned char)*p);
    return canon;
}

/* True when the Content-Type's media type is type (parameters ignored). */
static bool
content_type_is(struct api_req *r, const char *type)
{
    size_t n = strlen(type);

    return r->content_type != NULL &&
           strncasecmp(r->content_type, type, n) == 0 &&
           (r->content_type[n] == '\0' || r->content_type[n] == ';' ||
            r->content_type[n] == ' ');
}

int
api_body_object(struct api_req *r, bool allow_empty, json_t **out)
{
    char err[256];
    json_t *j = NULL;
    int rc;

    *out = NULL;
    if (r->body_len == 0) {
        if (allow_empty) {
            *out = sl_json_pool_own(r->pool, json_object());
            return 0;
        }
        return api_error(r, 400, "VALIDATION_ERROR", "A JSON body is required",
                         json_pack("{s:s, s:s}", "field", "body", "reason",
                                   "the request has no body"));
    }
    if (r->content_type != NULL && !content_type_is(r, "application/json") &&
        strstr(r->content_type, "json") == NULL) {
        return api_errorf(r, 415, "UNSUPPORTED_MEDIA_TYPE",
                          "Expected Content-Type application/json, not %.100s",
                          r->content_type);
    }
    rc = sl_json_parse(r->body, r->body_len, r->ctx->conf->max_json_depth, &j,
                       err, sizeof(err));
    if (rc != SL_OK) {
        return api_error(
            r, 400, "VALIDATION_ERROR",
            rc == SL_ETOOBIG ? "The JSON body nests too deeply"
                             : "The body is not valid JSON",
            json_pack("{s:s, s:s}", "field", "body", "reason", err));
    }
    if (!json_is_object(j)) {
        json_decref(j);
        return api_error(r, 400, "VALIDATION_ERROR",
                         "The body must be a JSON object",
                         json_pack("{s:s, s:s}", "field", "body", "reason",
                                   "expected an object"));
    }
    *out = sl_json_pool_own(r->pool, j);
    return 0;
}

int
api_body_form(struct api_req *r, json_t **out)
{
    struct api_param *pairs;
    json_t *obj;
    int n;

    *out = NULL;
    pairs = sl_palloc(r->pool, sizeof(*pairs) * SL_MAX_FORM_PARAMS);
    if (pairs == NULL)
        return SL_ENOMEM;
    n = api_form_parse(r->pool, r->body ? r->body : "", r->body_len, pairs,
                       SL_MAX_FORM_PARAMS);
    if (n == SL_ENOMEM)
        return n;
    if (n < 0)
        return api_error(
            r, 400, "VALIDATION_ERROR", "The form body is malformed",
            json_pack("{s:s, s:s}", "field", "body", "reason",
                      n == SL_ETOOBIG ? "too many fields"
                                      : "malformed percent-encoding"));
    obj = sl_json_pool_own(r->pool, json_object());
    for (int i = 0; i < n; i++) {
        json_t *v = json_string(pairs[i].value);

        if (v == NULL)
            return api_error(r, 400, "VALIDATION_ERROR",
                             "The form body is not UTF-8",
                             json_pack("{s:s, s:s}", "field", pairs[i].name,
                                       "reason", "not valid UTF-8"));
        /* The first occurrence wins, as for query strings. */
        if (json_object_get(obj, pairs[i].name) == NULL)
            json_object_set_new(obj, pairs[i].name, v);
        else
            json_decref(v);
    }
    *out = obj;
    return 0;
}

int
api_reply(struct api_req *r, int status, json_t *body)
{
    char *text = json_dumps(body, JSON_COMPACT | JSON_REAL_PRECISION(10));

    json_decref(body);
    r->status = status;
    r->resp_type = "application/json";
    if (text == NULL) {
        /* Out of memory: a fixed body rather than none. */
        r->status = 500;
        r->resp_body = "{\"error\":{\"code\":\"INTERNAL_ERROR\"}}";
        r->resp_len = strlen(r->resp_body);
        return API_ANSWERED;
    }
    r->resp_len = strlen(text);
    r->resp_body = sl_pstrndup(r->pool, text, r->resp_len);
    free(text);
    if (r->resp_body == NULL) {
        r->status = 500;
        r->resp_body = "{\"error\":{\"code\":\"INTERNAL_ERROR\"}}";
        r->resp_len = strlen(r->resp_body);
    }
    return API_ANSWERED;
}

int
api_reply_raw(struct api_req *r, int status, const char *json)
{
    r->status = status;
    r->resp_type = "application/json";
    r->resp_len = strlen(json);
    r->resp_body = sl_pstrndup(r->pool, json, r->resp_len);
    if (r->resp_body == NULL) {
        r->status = 500;
        r->resp_body = "{\"error\":{\"code\":\"INTERNAL_ERROR\"}}";
        r->resp_len = strlen(r->resp_body);
    }
    return API_ANSWERED;
}

int
api_reply_empty(struct api_req *r, int status)
{
    r->status = status;
    r->resp_type = NULL;
    r->resp_body = NULL;
    r->resp_len = 0;
    return API_ANSWERED;
}

int
api_error(struct api_req *r, int status, const char *code, const char *message,
          json_t *details)
{
    return api_reply(r, status,
                     sl_json_error_body(code, message, details, r->request_id));
}

int
api_errorf(struct api_req *r, int status, const char *code, const char *fmt,
           ...)
{
    char msg[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    return api_error(r, status, code, msg, NULL);
}

int
api_db_error(struct api_req *r, int rc)
{
    struct api_ctx *ctx = r->ctx;

    if (rc == SL_EDBCONN) {
        sl_log_error(&ctx->log, "database unavailable: %s",
                     sl_db_error(&ctx->db));
        api_add_header(r, "Retry-After: 5");
        return api_error(r, 503, "SERVICE_UNAVAILABLE",
                         "The database is unavailable; try again shortly",
                         NULL);
    }
    if (rc == SL_ETIMEDOUT)
        return api_error(r, 504, "DATABASE_TIMEOUT",
                         "The database did not answer in time", NULL);
    sl_log_error(&ctx->log, "database error %s: %s", sl_db_sqlstate(&ctx->db),
                 sl_db_error(&ctx->db));
    return api_error(r, 500, "DATABASE_ERROR", "A database error occurred",
                     NULL);
}

void
api_add_header(struct api_req *r, const char *fmt, ...)
{
    char line[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    /* A value with a line break would split the header block. */
    if (strpbrk(line, "\r\n") != NULL)
        return;
    r->resp_headers = sl_psprintf(r->pool, "%s%s\r\n",
                                  r->resp_headers ? r->resp_headers : "", line);
}

/* Escapes % _ and \ for ILIKE, whose escape character is \. */
const char *
api_like_escape(struct api_req *r, const char *s)
{
    char *out, *p;

    if (s == NULL || *s == '\0')
        return NULL;
    out = p = sl_palloc(r->pool, strlen(s) * 2 + 1);
    for (; *s != '\0'; s++) {
        if (*s == '%' || *s == '_' || *s == '\\')
            *p++ = '\\';
        *p++ = *s;
    }
    *p = '\0';
    return out;
}

const char *
api_json_text(struct api_req *r, const json_t *j)
{
    char *t = json_dumps(j, JSON_COMPACT), *p;

    if (t == NULL)
        return NULL;
    p = sl_pstrdup(r->pool, t);
    free(t);
    return p;
}

/* --- the request's statements ------------------------------------------ */

int
api_exec(struct api_req *r, enum api_stmt id, int n, const char *const *params,
         PGresult **res)
{
    int rc = sl_db_exec(&r->ctx->db, (int)id, n, params, res);

    if (rc == SL_OK)
        sl_db_pool_own(r->pool, *res);
    return rc;
}

int
api_exec_scoped(struct api_req *r, const char *tenant, const char *user,
                enum api_stmt id, int n, const char *const *params,
                PGresult **res)
{
    int rc =
        sl_db_exec_scoped(&r->ctx->db, tenant, user, (int)id, n, params, res);

    if (rc == SL_OK)
        sl_db_pool_own(r->pool, *res);
    return rc;
}

json_t *
api_col_str(const PGresult *res, int row, int col)
{
    return sl_json_str_or_null(sl_db_value(res, row, col));
}

json_t *
api_col_bool(const PGresult *res, int row, int col)
{
    const char *v = sl_db_value(res, row, col);

    return json_boolean(v != NULL && v[0] == 't');
}

json_t *
api_col_int(const PGresult *res, int row, int col)
{
    const char *v = sl_db_value(res, row, col);

    return v == NULL ? json_null() : json_integer(strtoll(v, NULL, 10));
}
