/*
 * request.h: one request of sluice-api and the worker it runs in, and the
 * one way for whatever handles it to say that it answered.
 *
 * One struct api_ctx per worker process holds the connections and the
 * per-request pool. One struct api_req per request holds what nginx sent,
 * the route that matched, who is calling, and the response being built.
 * Handlers are `int api_h_x(struct api_req *r)` in one file per resource
 * (handlers.h); routes.c lists them all. This header has what reads the
 * request (request.c), sets the response, and runs the request's
 * statements; check.h collects a body's problems, list.h answers lists.
 *
 * One way to say "I answered". A handler, and every function that may set
 * the response, returns one of:
 *   0             nothing was answered: the caller goes on;
 *   API_ANSWERED  the response is set (a success or an error): the caller
 *                 unwinds, returning it, up to the dispatcher;
 *   SL_E* (< 0)   it failed and answered nothing: the dispatcher answers
 *                 503 (SL_EDBCONN), 504 (SL_ETIMEDOUT) or 500, and logs.
 * A handler always answers: one that returns 0 is a bug, logged and
 * answered 500 (dispatch.h). Nothing else means "answered", and nobody
 * reads r->status to find out.
 *
 * Everything a request allocates comes from r->pool, emptied after the
 * response is written: strings and JSON these functions return are the
 * pool's unless said otherwise.
 */
#ifndef API_REQUEST_H
#define API_REQUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <fcgiapp.h>
#include <jansson.h>
#include <libpq-fe.h>

#include "bus.h"
#include "conf.h"
#include "crypto.h"
#include "db.h"
#include "form.h"
#include "log.h"
#include "pool.h"
#include "role.h"
#include "stmt.h"

#define API_VERSION PACKAGE_VERSION

/* Path parameters one route may have. */
#define API_MAX_PARAMS 8

/*
 * "The response is set": what api_reply(), api_error() and every function
 * that answers return. A negative value far below every SL_E* of err.h, so
 * that `rc < 0` still means "stop here" and it is never taken for one.
 */
#define API_ANSWERED (-1000)

/* Marks a function that may answer: its result must be passed on. */
#define API_ANSWERS __attribute__((warn_unused_result))

struct api_authcache;
struct api_route;

/* A worker's context: one per process, borrowed by each request. */
struct api_ctx {
    const struct sl_conf *conf; /* read-only, owned by main */
    struct sl_logger log;
    struct sl_logger bus_log; /* for NATS's threads: no request id */
    struct sl_db db;
    /* The login statements' own connection, as sluice_login (sql/018):
     * only it may read and replace password hashes. Connected when a
     * login first needs it. */
    struct sl_db auth_db;
    struct sl_bus bus;
    sl_pool *pool;                   /* reset after every request */
    struct api_authcache *authcache; /* shared by the host's workers */
    natsSubscription *auth_changed;  /* invalidations from other hosts */
    unsigned char admin_key_hash[SL_SHA256_LEN];
    bool admin_key_set;
    int64_t started_at;
};

enum api_principal_kind {
    API_ANONYMOUS,
    API_PRINCIPAL_USER,
    API_PRINCIPAL_KEY,
    API_PRINCIPAL_ADMIN,
};

/* The caller, once authenticated. Strings live in the request pool. */
struct api_principal {
    enum api_principal_kind kind;
    const char *tenant_id; /* the organisation acted in */
    const char *user_id;   /* NULL for an API key */
    enum sl_role role;
    /* A user's token. */
    const char *session_id;
    const char *jti;
    int64_t token_exp;
    /* A user's profile, read while checking the token. */
    const char *username;
    const char *email;
    const char *full_name;
    const char *created_at;
    const char *last_login;
    const char *organizations; /* JSON array, with API_ROUTE_ORGS */
    /* An API key. */
    const char *key_id;
};

/* One request, on the dispatcher's stack while it is served. */
struct api_req {
    struct api_ctx *ctx;
    sl_pool *pool;
    FCGX_Request *fcgi;

    const char *method;
    const char *path; /* without the query string */
    const char *query;
    const char *content_type;
    const char *request_id;
    const char *remote_addr;
    char *body;
    size_t body_len;
    bool head; /* a HEAD request: answer as GET, without the body */

    const struct api_route *route;
    struct api_param params[API_MAX_PARAMS];
    int nparams;
    struct api_param *query_params; /* parsed before routing */
    int nquery;

    struct api_principal who;

    /* The response. */
    int status;
    const char *resp_type;
    char *resp_body;
    size_t resp_len;
    char *resp_headers; /* extra header lines, each ending in \r\n */
};

/* --- reading the request --------------------------------------------------
 */

/* A request header by its HTTP name ("X-API-Key"), or NULL. */
const char *api_header(struct api_req *r, const char *name);

/* A path parameter of the route ("id" for {id}), or NULL. */
const char *api_param(struct api_req *r, const char *name);

/*
 * The path parameter name when it is a UUID, lower-cased (the form every
 * statement compares with), in the pool; NULL when it is not one.
 */
const char *api_param_uuid(struct api_req *r, const char *name);

/* A query-string parameter (first occurrence), or NULL. */
const char *api_query(struct api_req *r, const char *name);

/*
 * The body as a JSON object (owned by the pool) in *out. An empty body
 * counts as {} when allow_empty. Returns 0; API_ANSWERED with the 400 or
 * 415 set when the body is not one.
 */
int api_body_object(struct api_req *r, bool allow_empty,
                    json_t **out) API_ANSWERS;

/*
 * The body as form fields (application/x-www-form-urlencoded), as a JSON
 * object of strings owned by the pool. Returns 0; API_ANSWERED with the
 * 400 set when it is malformed; SL_ENOMEM.
 */
int api_body_form(struct api_req *r, json_t **out) API_ANSWERS;

/*
 * s with %, _ and \ escaped for ILIKE (whose escape character is \), in
 * the pool; NULL for NULL or "".
 */
const char *api_like_escape(struct api_req *r, const char *s);

/* j as compact JSON text in the request pool, or NULL out of memory. */
const char *api_json_text(struct api_req *r, const json_t *j);

/* --- setting the response -------------------------------------------------
 */

/*
 * Sets a JSON response; body is taken. Returns API_ANSWERED, so that a
 * handler ends with `return api_reply(...)` (out of memory, the response
 * set is a fixed 500).
 */
int api_reply(struct api_req *r, int status, json_t *body) API_ANSWERS;

/* As api_reply(), from text that is JSON already (copied). */
int api_reply_raw(struct api_req *r, int status, const char *json) API_ANSWERS;

/* Sets a response without a body (204). Returns API_ANSWERED. */
int api_reply_empty(struct api_req *r, int status) API_ANSWERS;

/*
 * Sets the error response of DESIGN.md; details (taken) may be NULL.
 * Returns API_ANSWERED, so that handlers can `return api_error(...)`.
 */
int api_error(struct api_req *r, int status, const char *code,
              const char *message, json_t *details) API_ANSWERS;

/* As api_error(), the message formatted. */
int api_errorf(struct api_req *r, int status, const char *code, const char *fmt,
               ...) __attribute__((format(printf, 4, 5))) API_ANSWERS;

/*
 * Answers for a failed database call rc: 503 when the database is
 * unreachable, 504 on a statement timeout, 500 otherwise (logged).
 * Returns API_ANSWERED.
 */
int api_db_error(struct api_req *r, int rc) API_ANSWERS;

/* Adds a response header line ("Allow: GET, POST"); the text is copied. */
void api_add_header(struct api_req *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* --- the request's statements ---------------------------------------------
 */

/*
 * Runs statement id in the open transaction. Returns 0 with *res (owned by
 * the pool), or a database code (db.h).
 */
int api_exec(struct api_req *r, enum api_stmt id, int n,
             const char *const *params, PGresult **res);

/* As api_exec() in a transaction of its own, scoped to tenant and user. */
int api_exec_scoped(struct api_req *r, const char *tenant, const char *user,
                    enum api_stmt id, int n, const char *const *params,
                    PGresult **res);

/* A value from a result as a new JSON string, or null. */
json_t *api_col_str(const PGresult *res, int row, int col);

/* A value from a result as a JSON boolean. */
json_t *api_col_bool(const PGresult *res, int row, int col);

/* A value from a result as a new JSON integer, or null. */
json_t *api_col_int(const PGresult *res, int row, int col);

#endif
