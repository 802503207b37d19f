/*
 * role.c: the role ladder: names, the alias, and their order.
 */
#include "role.h"

#include <string.h>
#include <strings.h>

static const char *const role_names[] = {
    "none", "viewer", "analyst", "engineer", "architect", "admin",
};

enum sl_role
sl_role_parse(const char *s)
{
    if (s == NULL)
        return SL_ROLE_NONE;
    if (strcasecmp(s, "developer") == 0)
        return SL_ROLE_ENGINEER;
    for (int r = SL_ROLE_VIEWER; r <= SL_ROLE_ADMIN; r++)
        if (strcasecmp(s, role_names[r]) == 0)
            return (enum sl_role)r;
    return SL_ROLE_NONE;
}

const char *
sl_role_name(enum sl_role role)
{
    if (role < SL_ROLE_NONE || role > SL_ROLE_ADMIN)
        return "none";
    return role_names[role];
}
