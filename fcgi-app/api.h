/*
 * api.h: what the parts of sluice-api share.
 *
 * One struct api_ctx per worker process holds the connections and the
 * per-request pool. One struct api_req per request holds what nginx sent,
 * the route that matched, who is calling, and the response being built.
 * Handlers are `int api_h_x(struct api_req *r)` in one file per resource;
 * routes.c lists them all.
 *
 * One way to say "I answered". A handler, and every function that may set
 * the response, returns one of:
 *   0             nothing was answered: the caller goes on;
 *   API_ANSWERED  the response is set (a success or an error): the caller
 *                 unwinds, returning it, up to the dispatcher;
 *   SL_E* (< 0)   it failed and answered nothing: the dispatcher answers
 *                 503 (SL_EDBCONN), 504 (SL_ETIMEDOUT) or 500, and logs.
 * A handler always answers: one that returns 0 is a bug, logged and
 * answered 500. Nothing else means "answered", and nobody reads
 * r->status to find out.
 */
#ifndef API_H
#define API_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <fcgiapp.h>
#include <jansson.h>

#include "authcache.h"
#include "bus.h"
#include "conf.h"
#include "crypto.h"
#include "db.h"
#include "log.h"
#include "pool.h"
#include "role.h"
#include "stmt.h"

#define API_VERSION    PACKAGE_VERSION
#define API_MAX_PARAMS 8

/*
 * "The response is set": what api_reply(), api_error() and every function
 * that answers return. A negative value far below every SL_E* of err.h, so
 * that `rc < 0` still means "stop here" and it is never taken for one.
 */
#define API_ANSWERED (-1000)

/* Marks a function that may answer: its result must be passed on. */
#define API_ANSWERS __attribute__((warn_unused_result))

struct api_ctx {
    const struct sl_conf *conf; /* read-only, owned by main */
    struct sl_logger log;
    struct sl_logger bus_log; /* for NATS's threads: no request id */
    struct sl_db db;
    struct sl_bus bus;
    sl_pool *pool;                   /* reset after every request */
    struct api_authcache *authcache; /* shared by the host's workers */
    natsSubscription *auth_changed;  /* invalidations from other hosts */
    unsigned char admin_key_hash[SL_SHA256_LEN];
    bool admin_key_set;
    int64_t started_at;
};

/* Who may call a route. */
enum api_auth {
    API_AUTH_NONE,   /* anyone */
    API_AUTH_ADMIN,  /* X-Admin-Key */
    API_AUTH_USER,   /* a user's bearer token */
    API_AUTH_TENANT, /* a user's bearer token or a tenant's X-API-Key */
};

struct api_req;
typedef int (*api_handler)(struct api_req *r);

/* Route flags. */
enum {
    /* Authentication also reads the user's organisations (one round trip
     * for both), into who.organizations. */
    API_ROUTE_ORGS = 1,
};

struct api_route {
    const char *method;
    const char *pattern; /* "/api/v1/users/{id}" */
    api_handler handler;
    enum api_auth auth;
    enum sl_role min_role; /* for API_AUTH_USER and API_AUTH_TENANT */
    unsigned flags;        /* API_ROUTE_* */
};

/* The routes, in routes.c. */
extern const struct api_route api_routes[];
extern const size_t api_nroutes;

struct api_param {
    const char *name;
    const char *value;
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

/* --- request.c: reading the request and writing the response ----------- */

/* A request header by its HTTP name ("X-API-Key"), or NULL. */
const char *api_header(struct api_req *r, const char *name);

/* A path parameter of the route ("id" for {id}), or NULL. */
const char *api_param(struct api_req *r, const char *name);

/*
 * The path parameter name when it is a UUID, lower-cased (the form every
 * statement compares with), in the pool; NULL when it is not one.
 */
const char *api_param_uuid(struct api_req *r, const char *name);

/*
 * s with %, _ and \ escaped for ILIKE (whose escape character is \), in
 * the pool; NULL for NULL or "".
 */
const char *api_like_escape(struct api_req *r, const char *s);

/* j as compact JSON text in the request pool, or NULL out of memory. */
const char *api_json_text(struct api_req *r, const json_t *j);

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

/* Adds a response header line ("Allow: GET, POST"). */
void api_add_header(struct api_req *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* --- validation: collects every problem of a body, then answers 422 ---- */

struct api_check {
    struct api_req *r;
    json_t *errors; /* [{"field", "reason"}] */
};

enum {
    API_REQUIRED = 1, /* absent is an error */
};

/* At most this many problems are named in one answer. */
#define API_CHECK_MAX_ERRORS 100

void api_check_init(struct api_check *c, struct api_req *r);

/* Records a problem with field. */
void api_check_fail(struct api_check *c, const char *field, const char *fmt,
                    ...) __attribute__((format(printf, 3, 4)));

/*
 * The string member field of obj, between min and max characters (UTF-8
 * code points), or NULL: absent (an error when API_REQUIRED), not a
 * string, or out of bounds (errors).
 */
const char *api_check_str(struct api_check *c, json_t *obj, const char *field,
                          int flags, size_t min, size_t max);

/*
 * Checks a cron expression and an IANA time zone, recording a problem
 * with cron_field or tz_field; *next gets the first run after now (UTC
 * seconds). Returns whether both are valid.
 */
bool api_check_cron(struct api_check *c, const char *cron_field,
                    const char *tz_field, const char *expr, const char *zone,
                    int64_t *next);

/* Tags of pipelines, projects and connectors. */
#define API_MAX_TAGS    50
#define API_MAX_TAG_LEN 64

/*
 * The member "tags" of obj: an array of at most API_MAX_TAGS strings
 * (borrowed from obj), [] for null, or NULL when absent or invalid (then
 * recorded).
 */
json_t *api_check_tags(struct api_check *c, json_t *obj);

/*
 * When problems were recorded: sets the 422 VALIDATION_ERROR response
 * naming them and returns API_ANSWERED. Otherwise returns 0.
 */
int api_check_done(struct api_check *c) API_ANSWERS;

/*
 * The query parameter name as a time (RFC 3339 or a date), in the form
 * statements take, or NULL when absent or bad (then recorded in c).
 */
const char *api_query_time(struct api_req *r, struct api_check *c,
                           const char *name);

/* --- lists -----------------------------------------------------------------
 */

struct api_page {
    long offset;
    long limit;
    bool page_based; /* page/page_size were used */
    long page;
};

/*
 * Reads skip/limit, offset/limit or page/page_size from the query string.
 * Returns 0; API_ANSWERED with the 422 set on a bad value.
 */
int api_page_parse(struct api_req *r, struct api_page *pg) API_ANSWERS;

/*
 * Answers a list: {"items", "total", "skip", "offset", "limit"} (and page,
 * page_size, total_pages when page-based), with seed 004's X-Total-Count,
 * X-Page, X-Page-Size and X-Total-Pages headers. items is taken. Returns
 * API_ANSWERED.
 */
int api_reply_list(struct api_req *r, const struct api_page *pg, json_t *items,
                   long total) API_ANSWERS;

/*
 * As api_reply_list(), the items being column col of every row of res,
 * each JSON text already (a statement's json_build_object()): they are
 * copied as they are, never parsed. They are the array member, "items"
 * unless a resource's seed names it otherwise; member is a name written
 * in the code, put in the body as it is (never escaped). Returns
 * API_ANSWERED, or SL_ENOMEM (nothing answered).
 */
int api_reply_list_rows(struct api_req *r, const struct api_page *pg,
                        const char *member, const PGresult *res, int col,
                        long total) API_ANSWERS;

/*
 * The total of a list whose statement id gives count(*) OVER () in column
 * col: read from res, or, when res is empty because the page lies past
 * the end, from the statement run again with params[limit_at] "1" and
 * params[limit_at + 1] (the offset) "0". Returns 0 or a database code.
 */
int api_list_total(struct api_req *r, enum api_stmt id, int n,
                   const char **params, int limit_at, const PGresult *res,
                   int col, long *total);

/*
 * Answers a list from statement id, whose last two of n parameters are
 * LIMIT and OFFSET (filled here from pg; params[0..n-3] are the filters)
 * and whose rows are (JSON item, count(*) OVER ()). Returns API_ANSWERED
 * (the list, or the database's error), or SL_ENOMEM.
 */
int api_reply_list_stmt(struct api_req *r, const struct api_page *pg,
                        enum api_stmt id, int n,
                        const char **params) API_ANSWERS;

/*
 * As api_reply_list_stmt(), the items under member instead of "items"
 * (seed 004's {"logs": [...]}); member as for api_reply_list_rows().
 */
int api_reply_list_stmt_as(struct api_req *r, const struct api_page *pg,
                           const char *member, enum api_stmt id, int n,
                           const char **params) API_ANSWERS;

/* --- authenticate.c ------------------------------------------------------
 */

/*
 * Authenticates the caller as the route requires and checks the role.
 * Returns 0; API_ANSWERED with the 401 or 403 set (or the database's
 * error).
 */
int api_authenticate(struct api_req *r) API_ANSWERS;

/*
 * Checks a {tenant_id} path parameter against the caller's tenant
 * (seed 003). Returns 0, or API_ANSWERED with the 403 set.
 */
int api_check_tenant_param(struct api_req *r) API_ANSWERS;

/*
 * The tenant in an API key sk_<tenant>_<32 alnum>, copied into out.
 * Returns 0 or SL_EINVAL.
 */
int api_key_tenant(const char *key, char *out, size_t outsz);

/* Whether the request carries the operator's X-Admin-Key (compared in
 * constant time). */
bool api_admin_key_valid(struct api_req *r);

/* --- helpers shared by handlers --------------------------------------------
 */

/* Runs statement id in the open transaction; the result lives in the pool. */
int api_exec(struct api_req *r, enum api_stmt id, int n,
             const char *const *params, PGresult **res);

/* As api_exec() in a transaction of its own, scoped to tenant and user. */
int api_exec_scoped(struct api_req *r, const char *tenant, const char *user,
                    enum api_stmt id, int n, const char *const *params,
                    PGresult **res);

/* A value from a result as a JSON string, or null. */
json_t *api_col_str(const PGresult *res, int row, int col);

/* A value from a result as a JSON boolean. */
json_t *api_col_bool(const PGresult *res, int row, int col);

/* A value from a result as a JSON integer, or null. */
json_t *api_col_int(const PGresult *res, int row, int col);

/* True when s looks like an e-mail address. */
bool api_email_valid(const char *s);

/* True when s matches ^[a-z0-9_]{3,50}$ (seed 003's tenant id). */
bool api_tenant_id_valid(const char *s);

/* True when s matches ^[A-Za-z0-9_.-]{3,50}$ (a username). */
bool api_username_valid(const char *s);

/*
 * True when a new tenant may not take the id s: the default organisation
 * and a few names kept for the platform (tenants.c).
 */
bool api_tenant_id_reserved(const struct sl_conf *conf, const char *s);

/*
 * Creates the default organisation if it does not exist (tenants.c).
 * Returns 0 (with *created when it did not exist) or a negative code.
 */
int api_default_org_ensure(struct sl_db *db, const struct sl_conf *conf,
                           bool *created);

/*
 * A tenant id made from a display name ("Acme Corp." gives "acme_corp"):
 * lower case, [a-z0-9_], 3 to 40 characters (tenants.c).
 */
void api_tenant_slug(const char *name, char *out, size_t outsz);

/* The same with a random suffix, for when the plain slug is taken. */
void api_tenant_slug_retry(const char *name, char *out, size_t outsz);

/*
 * Whether the caller may make an organisation (onboarding, registering
 * with organization_name): when self_onboarding is off, only with the
 * admin key (tenants.c). Returns 0, or API_ANSWERED with the 403 set.
 */
int api_onboarding_allowed(struct api_req *r) API_ANSWERS;

/*
 * Says that user's (and/or tenant's) standing changed: cached token checks
 * of this host are dropped at once, and other hosts are told over NATS.
 * Call after the change is committed, before answering.
 */
void api_auth_changed(struct api_req *r, const char *user, const char *tenant);

/*
 * Inserts a user and their membership of org with role, in the open
 * transaction, which must be scoped to the new user's id (RLS lets a user
 * row be written only by that user). *created_at points into the pool.
 * Returns 0 or a negative code (SL_ECONFLICT: username or e-mail taken).
 */
int api_user_insert(struct api_req *r, const char *uid, const char *username,
                    const char *email, const char *full_name, const char *hash,
                    const char *org, const char *role, const char **created_at);

/*
 * Answers a unique violation on users with 409, naming the taken field.
 * Returns API_ANSWERED.
 */
int api_duplicate_user(struct api_req *r) API_ANSWERS;

/*
 * A pipeline reference, a UUID or a slug, as statement parameters
 * (pipelines.c): params[0] the id (lower-cased) or NULL, params[1] the
 * slug or NULL. Returns false when ref can be neither.
 */
bool api_pipeline_ref(struct api_req *r, const char *ref,
                      const char *params[2]);

/*
 * A connector's type ("postgresql", "file") and settings with its secrets
 * opened (connectors.c), read in the open transaction when lock (then
 * FOR UPDATE), else in one of its own. *settings is owned by the pool;
 * *name (may be NULL) points into it too. Returns 0, SL_ENOTFOUND, a
 * database code, or SL_EINVAL / SL_ECRYPTO / SL_EPARSE when the secrets
 * cannot be opened with the configured key.
 */
int api_connector_load(struct api_req *r, const char *id, bool lock,
                       const char **type, json_t **settings, const char **name);

/*
 * Makes connector id of type postgresql, named name (description may be
 * NULL), from settings (borrowed) that a pipeline gave inline, in the
 * open transaction: checked as POST /connectors checks them, its secrets
 * sealed (connectors.c). A problem with the settings is recorded in c at
 * field plus the member ("configuration.source" gives
 * "configuration.source.host"), and then nothing is written. Returns 0
 * (whether or not problems were recorded) or a database code.
 */
int api_connector_create_in(struct api_req *r, struct api_check *c,
                            const char *field, const char *id, const char *name,
                            const char *description, json_t *settings);

/* Answers for a failure of api_connector_load(). Returns API_ANSWERED. */
int api_connector_error(struct api_req *r, const char *id, int rc) API_ANSWERS;

struct sl_pgconn_params;
struct sl_pgconn_opts;

/*
 * libpq parameters (strings borrowed from settings or in the pool) and
 * the operator's connection options for a postgresql connector.
 */
void api_connector_pg(struct api_req *r, json_t *settings,
                      struct sl_pgconn_params *p, struct sl_pgconn_opts *o);

/*
 * Handler helpers of sessions.c used by users.c. api_password_check()
 * records in c why password may not be used, and returns whether it may.
 */
bool api_password_check(struct api_check *c, const char *field,
                        const char *password, const char *username);
json_t *api_user_json(const PGresult *res, int row);

#endif
