/*
 * dispatch.c: serving one FastCGI request, from nginx's parameters to the
 * bytes of the response.
 *
 * The order is fixed: bound the request line, find the route (404, 405),
 * read the body (413), authenticate and authorize, run the handler, write
 * the response, log one line. Whatever a handler does, the client gets a
 * JSON response with a status, and the request's pool is emptied after.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authenticate.h"
#include "clock.h"
#include "dispatch.h"
#include "err.h"
#include "form.h"
#include "handlers.h"
#include "json.h"
#include "limits.h"
#include "request.h"
#include "router.h"
#include "uuid.h"

static const char *
reason_phrase(int status)
{
    switch (status) {
    case 200:
        return "OK";
    case 201:
        return "Created";
    case 202:
        return "Accepted";
    case 204:
        return "No Content";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 409:
        return "Conflict";
    case 413:
        return "Payload Too Large";
    case 414:
        return "URI Too Long";
    case 415:
        return "Unsupported Media Type";
    case 422:
        return "Unprocessable Entity";
    case 429:
        return "Too Many Requests";
    case 500:
        return "Internal Server Error";
    case 503:
        return "Service Unavailable";
    case 504:
        return "Gateway Timeout";
    }
    return "Status";
}

static const char *
param(FCGX_Request *fcgi, const char *name)
{
    return FCGX_GetParam(name, fcgi->envp);
}

/*
 * Reads the body into pool memory. Returns 0; API_ANSWERED with the 400
 * or 413 set; SL_ENOMEM.
 */
static int
read_body(struct api_req *r)
{
    const char *cl = param(r->fcgi, "CONTENT_LENGTH");
    long max = r->ctx->conf->max_body_bytes, len;
    char *end;
    size_t got = 0;

    if (cl == NULL || *cl == '\0')
        return 0;
    errno = 0;
    len = strtol(cl, &end, 10);
    if (errno != 0 || *end != '\0' || len < 0)
        return api_error(r, 400, "VALIDATION_ERROR", "Invalid Content-Length",
                         NULL);
    if (len > max)
        return api_error(r, 413, "PAYLOAD_TOO_LARGE",
                         "The request body exceeds the limit",
                         json_pack("{s:I}", "limit_bytes", (json_int_t)max));
    if (len == 0)
        return 0;
    r->body = sl_palloc(r->pool, (size_t)len + 1);
    if (r->body == NULL)
        return SL_ENOMEM;
    while (got < (size_t)len) {
        int n =
            FCGX_GetStr(r->body + got, (int)((size_t)len - got), r->fcgi->in);

        if (n <= 0)
            break;
        got += (size_t)n;
    }
    if (got != (size_t)len)
        return api_error(r, 400, "VALIDATION_ERROR",
                         "The request body is shorter than its Content-Length",
                         NULL);
    r->body[got] = '\0';
    r->body_len = got;
    return 0;
}

/*
 * Splits REQUEST_URI into path and query. Returns 0; API_ANSWERED with
 * the 400 or 414 set; SL_ENOMEM.
 */
static int
parse_uri(struct api_req *r)
{
    const char *uri = param(r->fcgi, "REQUEST_URI");
    const char *q;
    size_t plen;

    if (uri == NULL || uri[0] != '/')
        uri = param(r->fcgi, "DOCUMENT_URI");
    if (uri == NULL || uri[0] != '/')
        return api_error(r, 400, "BAD_REQUEST", "No request path", NULL);
    q = strchr(uri, '?');
    plen = q ? (size_t)(q - uri) : strlen(uri);
    if (plen > SL_MAX_PATH || (q != NULL && strlen(q + 1) > SL_MAX_QUERY))
        return api_error(r, 414, "URI_TOO_LONG", "The request URI is too long",
                         NULL);
    r->path = sl_pstrndup(r->pool, uri, plen);
    r->query = q ? q + 1 : "";
    return r->path != NULL ? 0 : SL_ENOMEM;
}

/*
 * Parses the query string once, for api_query(). Returns 0; API_ANSWERED
 * with the 400 set for a malformed one; SL_ENOMEM.
 */
static int
parse_query(struct api_req *r)
{
    int n;

    r->query_params =
        sl_palloc(r->pool, sizeof(*r->query_params) * SL_MAX_QUERY_PARAMS);
    if (r->query_params == NULL)
        return SL_ENOMEM;
    n = api_form_parse(r->pool, r->query, strlen(r->query), r->query_params,
                       SL_MAX_QUERY_PARAMS);
    if (n == SL_EPARSE || n == SL_ETOOBIG)
        return api_error(r, 400, "VALIDATION_ERROR",
                         n == SL_EPARSE
                             ? "Malformed percent-encoding in the query string"
                             : "Too many query parameters",
                         json_pack("{s:s}", "field", "query"));
    if (n < 0)
        return n;
    r->nquery = n;
    return 0;
}

/*
 * Takes the request from its line to its handler: 404 or 405 when no
 * route has it, then the body, the caller's credentials and role, and
 * the handler. Returns what the first stage that stopped returned, or the
 * handler's return (request.h's rule).
 */
static int
route(struct api_req *r)
{
    char allow[128];
    int rc;

    if ((rc = parse_uri(r)) != 0 || (rc = parse_query(r)) != 0)
        return rc;
    r->route =
        api_route_find(api_routes, api_nroutes, r->method, r->path, r->pool,
                       r->params, &r->nparams, allow, sizeof(allow));
    if (r->route == NULL && allow[0] != '\0') {
        api_add_header(r, "Allow: %s", allow);
        return api_errorf(r, 405, "METHOD_NOT_ALLOWED",
                          "%s is not allowed on this path; use %s", r->method,
                          allow);
    }
    if (r->route == NULL)
        return api_errorf(r, 404, "NOT_FOUND", "No route for %s %.200s",
                          r->method, r->path);
    if ((rc = read_body(r)) != 0 || (rc = api_authenticate(r)) != 0)
        return rc;
    return r->route->handler(r);
}

/* err.h's codes run from -1 down to SL_ECRYPTO: API_ANSWERED is none. */
_Static_assert(API_ANSWERED < SL_ECRYPTO, "API_ANSWERED is an SL_E* code");

void
api_answer(struct api_req *r, int rc)
{
    const char *what = r->route ? r->route->pattern : r->path;

    if (rc == API_ANSWERED && r->status != 0)
        return;
    if (rc < 0 && rc != API_ANSWERED)
        sl_log_error(&r->ctx->log, "%s %s failed: %s", r->method,
                     what ? what : "", sl_strerror(rc));
    else
        sl_log_error(&r->ctx->log,
                     "%s %s: the handler returned %d and set no response, "
                     "a bug",
                     r->method, what ? what : "", rc);
    /* Nothing a failed handler began of its response is sent. */
    r->resp_headers = NULL;
    if (rc == SL_EDBCONN || rc == SL_ETIMEDOUT || rc == SL_EDB)
        rc = api_db_error(r, rc);
    else
        rc = api_error(r, 500, "INTERNAL_ERROR", "An unexpected error occurred",
                       NULL);
}

/*
 * nginx's auth_request passes on only a 2xx, 401 or 403 (anything else is
 * its own 500): for a WebSocket handshake's check (live.c), any other
 * status becomes a 403 whose X-Sluice-Status names the real one, and
 * every refusal names its error code and message in X-Sluice-Error and
 * X-Sluice-Message, from which nginx's error pages answer in the seeds'
 * JSON (nginx/sluice.conf.in). A 429 or 503 also names when to come back
 * in X-Sluice-Retry-After (the response's Retry-After; for a 429 without
 * one, 60 seconds), which nginx answers as Retry-After.
 */
void
api_ws_auth_adapt(struct api_req *r)
{
    json_t *body, *err;
    const char *code = "INTERNAL_ERROR", *message = "";
    char safe[301];
    size_t i;

    if (r->status < 300)
        return;
    body = json_loadb(r->resp_body ? r->resp_body : "", r->resp_len, 0, NULL);
    err = json_object_get(body, "error");
    if (json_is_string(json_object_get(err, "code")))
        code = json_string_value(json_object_get(err, "code"));
    if (json_is_string(json_object_get(err, "message")))
        message = json_string_value(json_object_get(err, "message"));
    /* nginx pastes both into a JSON string: nothing that would end it. */
    for (i = 0; message[i] != '\0' && i < sizeof(safe) - 1; i++)
        safe[i] = message[i] == '"' || message[i] == '\\' ||
                          (unsigned char)message[i] < 0x20
                      ? '\''
                      : message[i];
    safe[i] = '\0';
    api_add_header(r, "X-Sluice-Error: %.60s", code);
    api_add_header(r, "X-Sluice-Message: %s", safe);
    if (r->status == 429 || r->status == 503) {
        const char *ra = r->resp_headers
                             ? strcasestr(r->resp_headers, "Retry-After: ")
                             : NULL;
        long secs = ra ? strtol(ra + 13, NULL, 10) : 0;

        if (secs <= 0 && r->status == 429)
            secs = 60;
        if (secs > 0)
            api_add_header(r, "X-Sluice-Retry-After: %ld", secs);
    }
    if (r->status != 401 && r->status != 403) {
        api_add_header(r, "X-Sluice-Status: %d", r->status);
        r->status = 403;
    }
    json_decref(body);
}

static void
write_response(struct api_req *r)
{
    FCGX_Stream *out = r->fcgi->out;
    bool body = r->resp_len > 0 && !r->head && r->status != 204;
    char head[512];
    int n;

    /* libfcgi's own printf knows too few conversions: format here. */
    n = snprintf(head, sizeof(head),
                 "Status: %d %s\r\n%s%s%sContent-Length: %zu\r\n"
                 "Cache-Control: no-store\r\n",
                 r->status, reason_phrase(r->status),
                 r->resp_type ? "Content-Type: " : "",
                 r->resp_type ? r->resp_type : "", r->resp_type ? "\r\n" : "",
                 r->status == 204 ? (size_t)0 : r->resp_len);
    FCGX_PutStr(head, n, out);
    if (r->resp_headers != NULL)
        FCGX_PutS(r->resp_headers, out);
    FCGX_PutStr("\r\n", 2, out);
    if (body)
        FCGX_PutStr(r->resp_body, (int)r->resp_len, out);
}

/*
 * Reads whatever body the request still has. libfcgi does not, and a body
 * left unread (a 404, 405 or 401 answered before reading it) would be
 * taken for the next request on the kept-alive connection, and the
 * connection lost. nginx bounds it with client_max_body_size.
 */
static void
drain_body(FCGX_Request *fcgi)
{
    char buf[8192];

    while (FCGX_GetStr(buf, sizeof(buf), fcgi->in) > 0)
        ;
}

void
api_handle(struct api_ctx *ctx, FCGX_Request *fcgi)
{
    struct api_req r;
    int64_t t0 = sl_clock_mono_us();
    const char *rid = param(fcgi, "REQUEST_ID");
    char generated[40];

    memset(&r, 0, sizeof(r));
    r.ctx = ctx;
    r.pool = ctx->pool;
    r.fcgi = fcgi;
    r.method = param(fcgi, "REQUEST_METHOD");
    if (r.method == NULL)
        r.method = "GET";
    r.head = strcmp(r.method, "HEAD") == 0;
    r.content_type = param(fcgi, "CONTENT_TYPE");
    if (r.content_type != NULL && *r.content_type == '\0')
        r.content_type = NULL;
    r.remote_addr = param(fcgi, "REMOTE_ADDR");
    if (rid == NULL || *rid == '\0' || strlen(rid) > 64) {
        char u[SL_UUID_LEN];

        sl_uuid_v4(u);
        snprintf(generated, sizeof(generated), "req_%.8s%.4s%.4s%.4s%.12s", u,
                 u + 9, u + 14, u + 19, u + 24);
        rid = generated;
    }
    r.request_id = rid;
    ctx->log.request_id = rid;

    api_answer(&r, route(&r));
    if (api_ws_subrequest(&r))
        api_ws_auth_adapt(&r);
    write_response(&r);
    drain_body(fcgi);

    sl_log_fields(
        &ctx->log, r.status >= 500 ? SL_LOG_ERROR : SL_LOG_INFO, "request",
        json_pack("{s:s, s:s, s:i, s:f, s:s?, s:s?}", "method", r.method,
                  "path", r.path ? r.path : "", "status", r.status,
                  "duration_ms", (double)(sl_clock_mono_us() - t0) / 1000.0,
                  "tenant_id", r.who.tenant_id, "user_id", r.who.user_id));
    ctx->log.request_id = NULL;
}
