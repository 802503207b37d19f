/*
 * permissions.c: each permission and the routes it covers (see
 * permissions.h). A route is named by its method and its pattern as
 * routes.c writes it; a pattern ending in '*' covers every route pattern
 * that starts with what comes before it. The role a permission needs is
 * never written here: it is read from the routes.
 */
#include "config.h"

#include <string.h>

#include "permissions.h"
#include "router.h"

/* Routes of one permission: methods (one or several, space-separated) and
 * a route pattern. */
struct perm_rule {
    const char *methods;
    const char *pattern;
};

struct perm {
    const char *name;
    const struct perm_rule *rules; /* ends with {NULL, NULL} */
};

/* A permission's rules, as a static array ended by {NULL, NULL}. */
#define RULES(...)                                                             \
    (const struct perm_rule[])                                                 \
    {                                                                          \
        __VA_ARGS__,                                                           \
        {                                                                      \
            NULL, NULL                                                         \
        }                                                                      \
    }
#define WRITE "POST PUT PATCH DELETE"

static const struct perm perms[] = {
    {"pipeline:read",
     RULES({"GET", "/api/v1/pipelines"}, {"GET", "/api/v1/pipelines/{id}"},
           {"GET", "/api/v1/pipelines/{id}/versions*"},
           {"POST", "/api/v1/pipelines/{id}/validate"})},
    {"run:read", RULES({"GET", "/api/v1/pipelines/runs*"},
                       {"GET", "/api/v1/pipelines/{id}/runs"},
                       {"GET", "/api/v1/pipelines/{id}/executions*"},
                       {"GET", "/api/v1/executions*"})},
    {"project:read", RULES({"GET", "/api/v1/projects*"})},
    {"module:read", RULES({"GET", "/api/v1/modules*"})},
    {"connector:read",
     RULES({"GET", "/api/v1/connectors/types"}, {"GET", "/api/v1/connectors"},
           {"GET", "/api/v1/connectors/{id}"}, {"GET", "/api/v1/connections"},
           {"GET", "/api/v1/connections/{id}"})},
    {"catalog:read",
     RULES({"GET", "/api/v1/catalog/catalogs"},
           {"GET", "/api/v1/catalog/catalogs/{catalog}/schemas"},
           {"GET", "/api/v1/catalog/catalogs/{catalog}/schemas/"
                   "{schema}/tables"},
           {"GET", "/api/v1/catalog/catalogs/{catalog}/schemas/"
                   "{schema}/tables/{table}/schema"})},
    {"trigger:read", RULES({"GET", "/api/v1/mvp/triggers"})},
    {"webhook:read", RULES({"GET", "/api/v1/webhooks*"})},
    {"notification:read", RULES({"GET", "/api/v1/notifications/*"})},
    {"lineage:read", RULES({"GET", "/api/v1/lineage/*"})},
    {"live:read", RULES({"GET", "/ws/*"})},
    {"account:read",
     RULES({"GET", "/api/v1/auth/me"}, {"GET", "/api/v1/users/me"})},
    {"session:write", RULES({"POST", "/api/v1/auth/logout"})},
    {"pipeline:execute", RULES({"POST", "/api/v1/pipelines/runs/*"},
                               {"POST", "/api/v1/pipelines/execute"},
                               {"POST", "/api/v1/pipelines/run/*"},
                               {"POST", "/api/v1/pipelines/{id}/execute"},
                               {"POST", "/api/v1/pipelines/{id}/run"},
                               {"POST", "/api/v1/pipelines/{id}/executions/*"},
                               {"POST", "/api/v1/mvp/triggers/manual/*"})},
    {"connector:schema", RULES({"GET", "/api/v1/connectors/{id}/schema*"},
                               {"GET", "/api/v1/connections/{id}/schema*"})},
    {"catalog:stats", RULES({"GET", "/api/v1/catalog/catalogs/{catalog}/"
                                    "schemas/{schema}/tables/{table}/stats"})},
    {"pipeline:write", RULES({"POST", "/api/v1/pipelines"},
                             {"PUT PATCH DELETE", "/api/v1/pipelines/{id}"},
                             {"POST", "/api/v1/pipelines/{id}/deploy"},
                             {"POST", "/api/v1/pipelines/{id}/pause"},
                             {"POST", "/api/v1/pipelines/{id}/resume"})},
    {"connector:write",
     RULES({"POST", "/api/v1/connectors"}, {WRITE, "/api/v1/connectors/{id}"},
           {"POST", "/api/v1/connectors/{id}/test"},
           {"POST", "/api/v1/connections"}, {WRITE, "/api/v1/connections/{id}"},
           {"POST", "/api/v1/connections/{id}/test"})},
    {"trigger:write", RULES({"POST", "/api/v1/mvp/triggers/create"},
                            {"DELETE", "/api/v1/mvp/triggers/{id}"})},
    {"webhook:write",
     RULES({"POST", "/api/v1/webhooks"}, {WRITE, "/api/v1/webhooks/{id}"},
           {"POST", "/api/v1/webhooks/{id}/*"})},
    {"notification:write", RULES({WRITE, "/api/v1/notifications/*"})},
    {"lineage:write",
     RULES({"POST", "/api/v1/lineage"}, {"POST", "/api/v1/lineage/events"})},
    {"project:write",
     RULES({"POST", "/api/v1/projects"}, {WRITE, "/api/v1/projects/{id}"})},
    {"user:read",
     RULES({"GET", "/api/v1/users"}, {"GET", "/api/v1/users/{id}"})},
    {"user:write",
     RULES({"POST", "/api/v1/users"}, {WRITE, "/api/v1/users/{id}"})},
    {"pii:read", RULES({"GET", "/api/v1/pii/*"})},
    {"pii:analyze", RULES({"POST", "/api/v1/pii/analyze"})},
    {"pii:anonymize", RULES({"POST", "/api/v1/pii/anonymize"},
                            {"POST", "/api/v1/pii/deanonymize"})},
    {"org:admin", RULES({"GET POST DELETE", "/api/v1/admin/*"})},
};
#define NPERMS (sizeof(perms) / sizeof(perms[0]))

/* True when method is one of the space-separated words of methods. */
static bool
method_in(const char *method, const char *methods)
{
    size_t n = strlen(method);

    for (const char *m = methods; *m != '\0';) {
        size_t len = strcspn(m, " ");

        if (len == n && strncmp(m, method, n) == 0)
            return true;
        m += len;
        m += strspn(m, " ");
    }
    return false;
}

static bool
rule_covers(const struct perm_rule *rule, const struct api_route *rt)
{
    size_t n = strlen(rule->pattern);

    if (!method_in(rt->method, rule->methods))
        return false;
    if (n > 0 && rule->pattern[n - 1] == '*')
        return strncmp(rt->pattern, rule->pattern, n - 1) == 0;
    return strcmp(rt->pattern, rule->pattern) == 0;
}

/* True when a role decides who may call rt. */
static bool
role_decides(const struct api_route *rt)
{
    return rt->auth == API_AUTH_USER || rt->auth == API_AUTH_TENANT;
}

static bool
perm_covers(const struct perm *p, const struct api_route *rt)
{
    if (!role_decides(rt))
        return false;
    for (const struct perm_rule *rule = p->rules; rule->pattern != NULL; rule++)
        if (rule_covers(rule, rt))
            return true;
    return false;
}

/* The permission named name, or NULL. */
static const struct perm *
perm_find(const char *name)
{
    for (size_t i = 0; i < NPERMS; i++)
        if (strcmp(perms[i].name, name) == 0)
            return &perms[i];
    return NULL;
}

bool
api_permission_covers(const char *perm, const struct api_route *rt)
{
    const struct perm *p = perm_find(perm);

    return p != NULL && perm_covers(p, rt);
}

/* The strongest min_role among the routes p covers. */
static enum sl_role
perm_role(const struct perm *p)
{
    enum sl_role role = SL_ROLE_NONE;

    for (size_t i = 0; i < api_nroutes; i++)
        if (perm_covers(p, &api_routes[i]) && api_routes[i].min_role > role)
            role = api_routes[i].min_role;
    return role;
}

enum sl_role
api_permission_role(const char *perm)
{
    const struct perm *p = perm_find(perm);

    return p != NULL ? perm_role(p) : SL_ROLE_NONE;
}

json_t *
api_permissions(enum sl_role role)
{
    json_t *out = json_array();

    if (out == NULL || role == SL_ROLE_NONE)
        return out;
    for (size_t i = 0; i < NPERMS; i++) {
        enum sl_role need = perm_role(&perms[i]);

        if (need != SL_ROLE_NONE && role >= need &&
            json_array_append_new(out, json_string(perms[i].name)) != 0) {
            json_decref(out);
            return NULL;
        }
    }
    return out;
}

size_t
api_npermissions(void)
{
    return NPERMS;
}

const char *
api_permission_name(size_t i)
{
    return i < NPERMS ? perms[i].name : NULL;
}
