/*
 * role.h: organisation roles and the permissions each grants.
 *
 * Roles are ordered, weakest first: viewer, analyst, engineer (alias
 * developer), architect, admin. Each role holds every permission of the
 * roles below it. Permissions are "<resource>:<action>" strings as seed 001
 * shows them ("pipeline:read", "pipeline:write").
 */
#ifndef SL_ROLE_H
#define SL_ROLE_H

#include <jansson.h>

enum sl_role {
    SL_ROLE_NONE = 0,
    SL_ROLE_VIEWER,
    SL_ROLE_ANALYST,
    SL_ROLE_ENGINEER,
    SL_ROLE_ARCHITECT,
    SL_ROLE_ADMIN,
};

/* The role named s ("developer" is engineer), or SL_ROLE_NONE. */
enum sl_role sl_role_parse(const char *s);

/* The canonical name of a role; "none" for SL_ROLE_NONE. */
const char *sl_role_name(enum sl_role role);

/* A new JSON array of the role's permissions, weakest first. */
json_t *sl_role_permissions(enum sl_role role);

/* True when role holds permission perm. */
int sl_role_can(enum sl_role role, const char *perm);

#endif
