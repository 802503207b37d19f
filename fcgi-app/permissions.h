/*
 * permissions.h: the permissions a role holds, as seed 001's login shows
 * them ("pipeline:read", "pipeline:write"), derived from the route table.
 *
 * A permission names a set of routes (permissions.c says which, by method
 * and path pattern); a role holds it exactly when the role may call those
 * routes, which is what routes.c's min_role says. The list a login answers
 * is computed from the routes, so that it cannot promise what the routes
 * refuse, nor leave out what they allow. test_permissions checks that
 * every route a role decides is covered by exactly one permission, and
 * that the routes of one permission ask for the same role.
 */
#ifndef API_PERMISSIONS_H
#define API_PERMISSIONS_H

#include <stdbool.h>

#include <jansson.h>

#include "role.h"
#include "router.h"

/*
 * True when permission perm covers route rt. Routes of API_AUTH_NONE and
 * API_AUTH_ADMIN, which no role decides, are covered by none.
 */
bool api_permission_covers(const char *perm, const struct api_route *rt);

/*
 * The weakest role that holds perm: the strongest min_role among the
 * routes perm covers (they all ask for the same one, test_permissions
 * says). SL_ROLE_NONE when perm covers no route.
 */
enum sl_role api_permission_role(const char *perm);

/*
 * A new JSON array of the permissions role holds, in the table's order
 * (weakest first within each resource); [] for SL_ROLE_NONE. NULL only
 * when out of memory. The caller owns it.
 */
json_t *api_permissions(enum sl_role role);

/* The number of permissions in the table, and the i-th (for tests). */
size_t api_npermissions(void);
const char *api_permission_name(size_t i);

#endif
