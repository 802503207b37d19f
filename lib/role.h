/*
 * role.h: organisation roles.
 *
 * Roles are ordered, weakest first: viewer, analyst, engineer (alias
 * developer), architect, admin; a role may do whatever the roles below it
 * may. What each may do is the API's route table (fcgi-app/routes.c),
 * and the permissions a login shows are derived from it
 * (fcgi-app/permissions.h).
 */
#ifndef SL_ROLE_H
#define SL_ROLE_H

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

#endif
