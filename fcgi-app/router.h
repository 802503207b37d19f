/*
 * router.h: matching a request's method and path against the route table.
 */
#ifndef API_ROUTER_H
#define API_ROUTER_H

#include <stddef.h>

#include "pool.h"

struct api_route;
struct api_param;

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
