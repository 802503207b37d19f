/*
 * request.c: reading a request (headers, parameters, bodies) and building
 * a response (JSON, errors, lists), for the handlers of sluice-api.
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

#include "api.h"
#include "clock.h"
#include "cron.h"
#include "err.h"
#include "form.h"
#include "uuid.h"
#include "json.h"
#include "limits.h"

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

/* --- validation ------------------------------------------------------------
 */

void
api_check_init(struct api_check *c, struct api_req *r)
{
    c->r = r;
    c->errors = sl_json_pool_own(r->pool, json_array());
}

void
api_check_fail(struct api_check *c, const char *field, const char *fmt, ...)
{
    char reason[256];
    va_list ap;

    /* A body can hold many faults: name the first ones, not all. */
    if (json_array_size(c->errors) >= API_CHECK_MAX_ERRORS)
        return;
    va_start(ap, fmt);
    vsnprintf(reason, sizeof(reason), fmt, ap);
    va_end(ap);
    json_array_append_new(
        c->errors, json_pack("{s:s, s:s}", "field", field, "reason", reason));
}

/* Counts UTF-8 code points (the string is valid UTF-8: jansson checked). */
static size_t
utf8_len(const char *s)
{
    size_t n = 0;

    for (; *s != '\0'; s++)
        if (((unsigned char)*s & 0xc0) != 0x80)
            n++;
    return n;
}

const char *
api_check_str(struct api_check *c, json_t *obj, const char *field, int flags,
              size_t min, size_t max)
{
    json_t *v = json_object_get(obj, field);
    const char *s;
    size_t n;

    if (v == NULL || json_is_null(v)) {
        if (flags & API_REQUIRED)
            api_check_fail(c, field, "is required");
        return NULL;
    }
    if (!json_is_string(v)) {
        api_check_fail(c, field, "must be a string");
        return NULL;
    }
    s = json_string_value(v);
    if (strlen(s) != json_string_length(v)) {
        api_check_fail(c, field, "must not contain NUL characters");
        return NULL;
    }
    n = utf8_len(s);
    if (n < min || n > max) {
        if (min == max)
            api_check_fail(c, field, "must be %zu characters", min);
        else if (n < min)
            api_check_fail(c, field, "must be at least %zu characters", min);
        else
            api_check_fail(c, field, "must be at most %zu characters", max);
        return NULL;
    }
    return s;
}

bool
api_check_cron(struct api_check *c, const char *cron_field,
               const char *tz_field, const char *expr, const char *zone,
               int64_t *next)
{
    char err[200];

    switch (
        sl_cron_next_in(expr, zone, sl_clock_now(), next, err, sizeof(err))) {
    case SL_OK:
        return true;
    case SL_EPARSE:
        api_check_fail(c, cron_field, "is not a valid cron expression: %s",
                       err);
        break;
    case SL_EINVAL:
        api_check_fail(c, tz_field,
                       "'%s' is not a known time zone (an IANA name such as "
                       "Europe/Paris)",
                       zone);
        break;
    default:
        api_check_fail(c, cron_field, "'%s' never fires", expr);
    }
    return false;
}

json_t *
api_check_tags(struct api_check *c, json_t *obj)
{
    json_t *v = json_object_get(obj, "tags"), *t;
    bool ok;
    size_t i;

    if (v == NULL)
        return NULL;
    if (json_is_null(v))
        return sl_json_pool_own(c->r->pool, json_array());
    ok = json_is_array(v) && json_array_size(v) <= API_MAX_TAGS;
    json_array_foreach(v, i, t) ok = ok && json_is_string(t) &&
                                     json_string_length(t) >= 1 &&
                                     json_string_length(t) <= API_MAX_TAG_LEN;
    if (!ok) {
        api_check_fail(c, "tags",
                       "must be an array of at most %d strings of 1 to %d "
                       "characters",
                       API_MAX_TAGS, API_MAX_TAG_LEN);
        return NULL;
    }
    return v;
}

int
api_check_done(struct api_check *c)
{
    size_t n = json_array_size(c->errors);
    json_t *first;
    char msg[512];

    if (n == 0)
        return 0;
    first = json_array_get(c->errors, 0);
    snprintf(msg, sizeof(msg), "%s %s%s",
             json_string_value(json_object_get(first, "field")),
             json_string_value(json_object_get(first, "reason")),
             n > 1 ? " (see details.errors for more)" : "");
    return api_error(c->r, 422, "VALIDATION_ERROR", msg,
                     json_pack("{s:O, s:O, s:O}", "field",
                               json_object_get(first, "field"), "reason",
                               json_object_get(first, "reason"), "errors",
                               c->errors));
}

/* --- lists -----------------------------------------------------------------
 */

/* Parses a non-negative decimal no larger than max: 0 or SL_EINVAL. */
static int
parse_count(const char *s, long max, long *out)
{
    char *end;
    long v;

    if (s == NULL || *s == '\0' || !isdigit((unsigned char)*s))
        return SL_EINVAL;
    v = strtol(s, &end, 10);
    if (*end != '\0' || v < 0 || v > max)
        return SL_EINVAL;
    *out = v;
    return 0;
}

int
api_page_parse(struct api_req *r, struct api_page *pg)
{
    const char *skip = api_query(r, "skip"), *offset = api_query(r, "offset");
    const char *limit = api_query(r, "limit"), *page = api_query(r, "page");
    const char *page_size = api_query(r, "page_size");
    struct api_check c;

    api_check_init(&c, r);
    pg->offset = 0;
    pg->limit = SL_LIST_LIMIT_DEFAULT;
    pg->page_based = false;
    pg->page = 1;
    if (page != NULL || page_size != NULL) {
        pg->page_based = true;
        pg->limit = 20;
        if (page != NULL &&
            (parse_count(page, 1000000, &pg->page) || pg->page < 1))
            api_check_fail(&c, "page", "must be an integer of at least 1");
        if (page_size != NULL &&
            (parse_count(page_size, SL_LIST_LIMIT_MAX, &pg->limit) ||
             pg->limit < 1))
            api_check_fail(&c, "page_size", "must be an integer in 1..%d",
                           SL_LIST_LIMIT_MAX);
        pg->offset = (pg->page - 1) * pg->limit;
    } else {
        if (skip != NULL && parse_count(skip, 100000000, &pg->offset))
            api_check_fail(&c, "skip", "must be a non-negative integer");
        if (offset != NULL && parse_count(offset, 100000000, &pg->offset))
            api_check_fail(&c, "offset", "must be a non-negative integer");
        if (limit != NULL &&
            (parse_count(limit, SL_LIST_LIMIT_MAX, &pg->limit) ||
             pg->limit < 1))
            api_check_fail(&c, "limit", "must be an integer in 1..%d",
                           SL_LIST_LIMIT_MAX);
    }
    return api_check_done(&c);
}

/* Seed 004's pagination headers, on every list. */
static void
list_headers(struct api_req *r, const struct api_page *pg, long total,
             long pages)
{
    api_add_header(r, "X-Total-Count: %ld", total);
    api_add_header(r, "X-Page: %ld", pg->offset / pg->limit + 1);
    api_add_header(r, "X-Page-Size: %ld", pg->limit);
    api_add_header(r, "X-Total-Pages: %ld", pages);
}

int
api_reply_list(struct api_req *r, const struct api_page *pg, json_t *items,
               long total)
{
    json_t *body = json_object();
    long pages = pg->limit > 0 ? (total + pg->limit - 1) / pg->limit : 0;

    json_object_set_new(body, "items", items);
    json_object_set_new(body, "total", json_integer(total));
    json_object_set_new(body, "skip", json_integer(pg->offset));
    json_object_set_new(body, "offset", json_integer(pg->offset));
    json_object_set_new(body, "limit", json_integer(pg->limit));
    if (pg->page_based) {
        json_object_set_new(body, "page", json_integer(pg->page));
        json_object_set_new(body, "page_size", json_integer(pg->limit));
        json_object_set_new(body, "total_pages", json_integer(pages));
    }
    list_headers(r, pg, total, pages);
    return api_reply(r, 200, body);
}

int
api_reply_list_rows(struct api_req *r, const struct api_page *pg,
                    const char *member, const PGresult *res, int col,
                    long total)
{
    long pages = pg->limit > 0 ? (total + pg->limit - 1) / pg->limit : 0;
    int n = PQntuples(res);
    size_t len = 256 + strlen(member);
    char *body, *p;

    for (int i = 0; i < n; i++)
        len += (size_t)PQgetlength(res, i, col) + 1;
    body = p = sl_palloc(r->pool, len);
    if (body == NULL)
        return SL_ENOMEM;
    p += snprintf(p, len, "{\"%s\":[", member);
    for (int i = 0; i < n; i++) {
        size_t l = (size_t)PQgetlength(res, i, col);

        if (i > 0)
            *p++ = ',';
        memcpy(p, PQgetvalue(res, i, col), l);
        p += l;
    }
    p += snprintf(p, len - (size_t)(p - body),
                  "],\"total\":%ld,\"skip\":%ld,\"offset\":%ld,\"limit\":%ld",
                  total, pg->offset, pg->offset, pg->limit);
    if (pg->page_based)
        p += snprintf(p, len - (size_t)(p - body),
                      ",\"page\":%ld,\"page_size\":%ld,\"total_pages\":%ld",
                      pg->page, pg->limit, pages);
    snprintf(p, len - (size_t)(p - body), "}");
    list_headers(r, pg, total, pages);
    r->status = 200;
    r->resp_type = "application/json";
    r->resp_body = body;
    r->resp_len = strlen(body);
    return API_ANSWERED;
}

int
api_list_total(struct api_req *r, enum api_stmt id, int n, const char **params,
               int limit_at, const PGresult *res, int col, long *total)
{
    PGresult *first;
    int rc;

    *total = 0;
    if (PQntuples(res) > 0) {
        *total = strtol(PQgetvalue(res, 0, col), NULL, 10);
        return 0;
    }
    if (strcmp(params[limit_at + 1], "0") == 0)
        return 0;
    params[limit_at] = "1";
    params[limit_at + 1] = "0";
    rc = api_exec_scoped(r, r->who.tenant_id, r->who.user_id, id, n, params,
                         &first);
    if (rc == SL_OK && PQntuples(first) > 0)
        *total = strtol(PQgetvalue(first, 0, col), NULL, 10);
    return rc;
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

const char *
api_query_time(struct api_req *r, struct api_check *c, const char *name)
{
    const char *v = api_query(r, name);
    char out[SL_RFC3339_MAX];
    int64_t t;

    if (v == NULL || *v == '\0')
        return NULL;
    if (sl_clock_parse(v, &t) != SL_OK) {
        api_check_fail(c, name, "must be an ISO 8601 date or date-time");
        return NULL;
    }
    sl_clock_format(t, out);
    return sl_pstrdup(r->pool, out);
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

int
api_reply_list_stmt(struct api_req *r, const struct api_page *pg,
                    enum api_stmt id, int n, const char **params)
{
    return api_reply_list_stmt_as(r, pg, "items", id, n, params);
}

int
api_reply_list_stmt_as(struct api_req *r, const struct api_page *pg,
                       const char *member, enum api_stmt id, int n,
                       const char **params)
{
    char *limit = sl_psprintf(r->pool, "%ld", pg->limit);
    char *offset = sl_psprintf(r->pool, "%ld", pg->offset);
    PGresult *res;
    long total;
    int rc;

    params[n - 2] = limit;
    params[n - 1] = offset;
    rc = api_exec_scoped(r, r->who.tenant_id, r->who.user_id, id, n, params,
                         &res);
    if (rc != SL_OK ||
        (rc = api_list_total(r, id, n, params, n - 2, res, 1, &total)) != SL_OK)
        return api_db_error(r, rc);
    return api_reply_list_rows(r, pg, member, res, 0, total);
}

/* --- small shared helpers --------------------------------------------------
 */

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

bool
api_email_valid(const char *s)
{
    const char *at, *dot;

    if (s == NULL || strlen(s) > 254 || strpbrk(s, " \t\r\n<>,;\"") != NULL)
        return false;
    at = strchr(s, '@');
    if (at == NULL || at == s || strchr(at + 1, '@') != NULL)
        return false;
    dot = strrchr(at, '.');
    return dot != NULL && dot > at + 1 && dot[1] != '\0';
}

bool
api_tenant_id_valid(const char *s)
{
    size_t n = s ? strlen(s) : 0;

    if (n < 3 || n > 50)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') ||
              s[i] == '_'))
            return false;
    return true;
}
