/*
 * role.c: the role ladder and its permissions, as one table.
 */
#include "role.h"

#include <string.h>
#include <strings.h>

static const char *const role_names[] = {
    "none", "viewer", "analyst", "engineer", "architect", "admin",
};

/* Each permission and the weakest role that holds it. */
static const struct {
    const char *perm;
    enum sl_role from;
} perms[] = {
    {"pipeline:read", SL_ROLE_VIEWER},    {"run:read", SL_ROLE_VIEWER},
    {"connector:read", SL_ROLE_VIEWER},   {"catalog:read", SL_ROLE_VIEWER},
    {"quality:read", SL_ROLE_VIEWER},     {"lineage:read", SL_ROLE_VIEWER},
    {"project:read", SL_ROLE_VIEWER},     {"pipeline:execute", SL_ROLE_ANALYST},
    {"quality:execute", SL_ROLE_ANALYST}, {"pii:analyze", SL_ROLE_ANALYST},
    {"pipeline:write", SL_ROLE_ENGINEER}, {"connector:write", SL_ROLE_ENGINEER},
    {"quality:write", SL_ROLE_ENGINEER},  {"lineage:write", SL_ROLE_ENGINEER},
    {"webhook:write", SL_ROLE_ENGINEER},  {"project:write", SL_ROLE_ARCHITECT},
    {"user:read", SL_ROLE_ADMIN},         {"user:write", SL_ROLE_ADMIN},
    {"org:admin", SL_ROLE_ADMIN},
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

json_t *
sl_role_permissions(enum sl_role role)
{
    json_t *a = json_array();

    if (a == NULL)
        return NULL;
    for (size_t i = 0; i < sizeof(perms) / sizeof(perms[0]); i++)
        if (role != SL_ROLE_NONE && role >= perms[i].from)
            json_array_append_new(a, json_string(perms[i].perm));
    return a;
}

int
sl_role_can(enum sl_role role, const char *perm)
{
    for (size_t i = 0; i < sizeof(perms) / sizeof(perms[0]); i++)
        if (strcmp(perms[i].perm, perm) == 0)
            return role != SL_ROLE_NONE && role >= perms[i].from;
    return 0;
}
