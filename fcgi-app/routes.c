/*
 * routes.c: the API's table of contents.
 *
 * Every endpoint of every seed is served at its documented path under
 * /api/v1 (health also at the root). Where seeds name one thing twice,
 * both paths point at one handler. Each row: method, path pattern, handler,
 * who may call it, and the weakest role allowed. docs/openapi.json
 * documents exactly these rows; test_routes fails when they differ.
 */
#include "config.h"

#include "api.h"
#include "handlers.h"

#define ROUTE(m, p, h, ...)                                                    \
    {                                                                          \
        m, p, h, __VA_ARGS__                                                   \
    }
#define NONE         API_AUTH_NONE, SL_ROLE_NONE, 0
#define ADMIN_KEY    API_AUTH_ADMIN, SL_ROLE_NONE, 0
#define USER(role)   API_AUTH_USER, SL_ROLE_##role, 0
#define TENANT(role) API_AUTH_TENANT, SL_ROLE_##role, 0
/* A user's route whose handler also needs the user's organisations. */
#define USER_ORGS(role) API_AUTH_USER, SL_ROLE_##role, API_ROUTE_ORGS

const struct api_route api_routes[] = {
    /* Health (seeds 000, 002, 003) */
    ROUTE("GET", "/health", api_h_health, NONE),
    ROUTE("GET", "/api/v1/health", api_h_health, NONE),
    ROUTE("GET", "/health/detailed", api_h_health_detailed, NONE),
    ROUTE("GET", "/api/v1/health/detailed", api_h_health_detailed, NONE),

    /* Authentication (seeds 000, 001, 002, 004) */
    ROUTE("POST", "/api/v1/auth/register", api_h_register, NONE),
    ROUTE("POST", "/api/v1/auth/login", api_h_login, NONE),
    ROUTE("POST", "/api/v1/auth/refresh", api_h_refresh, NONE),
    ROUTE("POST", "/api/v1/auth/logout", api_h_logout, USER(VIEWER)),
    ROUTE("GET", "/api/v1/auth/me", api_h_me, USER_ORGS(VIEWER)),

    /* Users of an organisation (seed 002's /users/me; admin management) */
    ROUTE("GET", "/api/v1/users/me", api_h_me, USER_ORGS(VIEWER)),
    ROUTE("GET", "/api/v1/users", api_h_users_list, TENANT(ADMIN)),
    ROUTE("POST", "/api/v1/users", api_h_users_create, TENANT(ADMIN)),
    ROUTE("GET", "/api/v1/users/{id}", api_h_users_get, TENANT(ADMIN)),
    ROUTE("PATCH", "/api/v1/users/{id}", api_h_users_update, TENANT(ADMIN)),
    ROUTE("DELETE", "/api/v1/users/{id}", api_h_users_delete, TENANT(ADMIN)),

    /* Tenants and keys (seed 003) */
    ROUTE("POST", "/api/v1/admin/bootstrap", api_h_admin_bootstrap, ADMIN_KEY),
    ROUTE("POST", "/api/v1/admin/tenants", api_h_admin_tenants_create,
          ADMIN_KEY),
    ROUTE("GET", "/api/v1/admin/tenants/{tenant_id}", api_h_admin_tenants_get,
          ADMIN_KEY),
    ROUTE("POST", "/api/v1/admin/api-keys", api_h_admin_api_keys_create,
          ADMIN_KEY),
    ROUTE("DELETE", "/api/v1/admin/api-keys/{api_key_hash}",
          api_h_admin_api_keys_revoke, ADMIN_KEY),
    ROUTE("POST", "/api/v1/tenants/onboard", api_h_tenants_onboard, NONE),
    ROUTE("POST", "/api/v1/tenants/dryrun", api_h_tenants_dryrun, NONE),
};

const size_t api_nroutes = sizeof(api_routes) / sizeof(api_routes[0]);
