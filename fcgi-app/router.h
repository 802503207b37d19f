/*
 * router.h: the route table (routes.c, the API's table of contents) and
 * matching a request's method and path against it (router.c).
 */
#ifndef API_ROUTER_H
#define API_ROUTER_H

#include <stddef.h>

#include "pool.h"
#include "request.h"
#include "role.h"

/* Who may call a route. */
enum api_auth {
    API_AUTH_NONE,   /* anyone */
    API_AUTH_ADMIN,  /* X-Admin-Key */
    API_AUTH_USER,   /* a user's bearer token */
    API_AUTH_TENANT, /* a user's bearer token or a tenant's X-API-Key */
};

/* A handler: answers r, returning as request.h says (API_ANSWERED). */
typedef int (*api_handler)(struct api_req *r);

/* Route flags. */
enum {
    /* Authentication also reads the user's organisations (one round trip
     * for both), into who.organizations. */
    API_ROUTE_ORGS = 1,
    /* A WebSocket handshake's check: the access token may also come as
     * ?token= (seed 002's browser client cannot set headers). */
    API_ROUTE_QUERY_TOKEN = 2,
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

/*
 * Finds the route for method and the raw (still percent-encoded) path;
 * HEAD matches GET routes, and one trailing slash is ignored. Path
 * parameters are decoded into pool memory and stored in params (at most
 * API_MAX_PARAMS), their count in *nparams.
 *
 * Returns the route; or NULL with allow (allowsz bytes) holding the
 * comma-separated methods the path does accept, when only the method is
 * wrong (405); or NULL with allow empty when no route has this path (404).
 */
const struct api_route *api_route_find(const struct api_route *routes, size_t n,
                                       const char *method, const char *path,
                                       sl_pool *pool, struct api_param *params,
                                       int *nparams, char *allow,
                                       size_t allowsz);

#endif
