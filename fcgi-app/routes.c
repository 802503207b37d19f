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

#include "handlers.h"
#include "router.h"

#define ROUTE(m, p, h, ...)                                                    \
    {                                                                          \
        m, p, h, __VA_ARGS__                                                   \
    }
#define NONE         API_AUTH_NONE, SL_ROLE_NONE, 0
#define ADMIN_KEY    API_AUTH_ADMIN, SL_ROLE_NONE, 0
#define USER(role)   API_AUTH_USER, SL_ROLE_##role, 0
#define TENANT(role) API_AUTH_TENANT, SL_ROLE_##role, 0
/* A WebSocket handshake (live.c): a user or an API key, the token also
 * from ?token=. */
#define WS(role) API_AUTH_TENANT, SL_ROLE_##role, API_ROUTE_QUERY_TOKEN
/* A user's route whose handler also needs the user's organisations. */
#define USER_ORGS(role) API_AUTH_USER, SL_ROLE_##role, API_ROUTE_ORGS

const struct api_route api_routes[] = {
    /* Health (seeds 000, 002, 003) */
    ROUTE("GET", "/health", api_h_health, NONE),
    ROUTE("GET", "/api/v1/health", api_h_health, NONE),
    ROUTE("GET", "/health/detailed", api_h_health_detailed, NONE),
    ROUTE("GET", "/api/v1/health/detailed", api_h_health_detailed, NONE),

    /* WebSocket handshakes, asked by nginx's auth_request (seeds 002 and
     * 004; the hub serves the sockets themselves) */
    ROUTE("GET", "/ws/pipeline/{id}", api_h_ws_authorize, WS(VIEWER)),
    ROUTE("GET", "/ws/runs/{id}", api_h_ws_authorize, WS(VIEWER)),
    ROUTE("GET", "/ws/events", api_h_ws_authorize, WS(VIEWER)),

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

    /* Runs (seeds 000, 001, 002, 003, 004): before /pipelines/{id}, whose
     * pattern would take "runs" and "execute" for an id. */
    ROUTE("GET", "/api/v1/pipelines/runs", api_h_runs_list, TENANT(VIEWER)),
    ROUTE("GET", "/api/v1/pipelines/runs/{run_id}", api_h_runs_get,
          TENANT(VIEWER)),
    ROUTE("GET", "/api/v1/pipelines/runs/{run_id}/logs", api_h_runs_logs,
          TENANT(VIEWER)),
    ROUTE("GET", "/api/v1/pipelines/runs/{run_id}/metrics", api_h_runs_metrics,
          TENANT(VIEWER)),
    ROUTE("POST", "/api/v1/pipelines/runs/{run_id}/cancel", api_h_runs_cancel,
          TENANT(ANALYST)),
    ROUTE("POST", "/api/v1/pipelines/runs/{run_id}/retry", api_h_runs_retry,
          TENANT(ANALYST)),
    ROUTE("POST", "/api/v1/pipelines/execute", api_h_runs_start,
          TENANT(ANALYST)),
    ROUTE("POST",
          "/api/v1/pipelines/run/{tenant_id}/{provider}/{domain}/"
          "{pipeline_id}",
          api_h_runs_start, TENANT(ANALYST)),
    ROUTE("POST", "/api/v1/pipelines/{id}/execute", api_h_runs_start,
          TENANT(ANALYST)),
    ROUTE("POST", "/api/v1/pipelines/{id}/run", api_h_runs_start,
          TENANT(ANALYST)),
    ROUTE("GET", "/api/v1/pipelines/{id}/runs", api_h_runs_list,
          TENANT(VIEWER)),
    ROUTE("GET", "/api/v1/pipelines/{id}/executions", api_h_runs_list,
          TENANT(VIEWER)),
    ROUTE("GET", "/api/v1/pipelines/{id}/executions/{run_id}", api_h_runs_get,
          TENANT(VIEWER)),
    ROUTE("POST", "/api/v1/pipelines/{id}/executions/{run_id}/cancel",
          api_h_runs_cancel, TENANT(ANALYST)),
    ROUTE("GET", "/api/v1/executions", api_h_runs_list, TENANT(VIEWER)),
    ROUTE("GET", "/api/v1/executions/{run_id}", api_h_runs_get, TENANT(VIEWER)),
    ROUTE("GET", "/api/v1/executions/{run_id}/logs", api_h_runs_logs,
          TENANT(VIEWER)),
    ROUTE("GET", "/api/v1/executions/{run_id}/metrics", api_h_runs_metrics,
          TENANT(VIEWER)),
    ROUTE("POST", "/api/v1/mvp/triggers/manual/{pipeline_id}", api_h_runs_start,
          TENANT(ANALYST)),

    /* The scheduler (seed 003): start whatever is due now. */
    ROUTE("POST", "/api/v1/scheduler/trigger", api_h_scheduler_trigger,
          ADMIN_KEY),

    /* Triggers (seed 002) */
    ROUTE("POST", "/api/v1/mvp/triggers/create", api_h_triggers_create,
          TENANT(ENGINEER)),
    ROUTE("GET", "/api/v1/mvp/triggers", api_h_triggers_list, TENANT(VIEWER)),
    ROUTE("DELETE", "/api/v1/mvp/triggers/{id}", api_h_triggers_delete,
          TENANT(ENGINEER)),

    /* Pipelines (seeds 000, 001, 002, 004) */
    ROUTE("GET", "/api/v1/pipelines", api_h_pipelines_list, TENANT(VIEWER)),
    ROUTE("POST", "/api/v1/pipelines", api_h_pipelines_create,
          TENANT(ENGINEER)),
    ROUTE("GET", "/api/v1/pipelines/{id}", api_h_pipelines_get, TENANT(VIEWER)),
    ROUTE("PUT", "/api/v1/pipelines/{id}", api_h_pipelines_update,
          TENANT(ENGINEER)),
    ROUTE("PATCH", "/api/v1/pipelines/{id}", api_h_pipelines_update,
          TENANT(ENGINEER)),
    ROUTE("DELETE", "/api/v1/pipelines/{id}", api_h_pipelines_delete,
          TENANT(ENGINEER)),
    ROUTE("POST", "/api/v1/pipelines/{id}/validate", api_h_pipelines_validate,
          TENANT(VIEWER)),
    ROUTE("POST", "/api/v1/pipelines/{id}/deploy", api_h_pipelines_deploy,
          TENANT(ENGINEER)),
    ROUTE("POST", "/api/v1/pipelines/{id}/pause", api_h_pipelines_pause,
          TENANT(ENGINEER)),
    ROUTE("POST", "/api/v1/pipelines/{id}/resume", api_h_pipelines_resume,
          TENANT(ENGINEER)),
    ROUTE("GET", "/api/v1/pipelines/{id}/versions", api_h_pipelines_versions,
          TENANT(VIEWER)),
    ROUTE("GET", "/api/v1/pipelines/{id}/versions/{version}",
          api_h_pipelines_version_get, TENANT(VIEWER)),

    /* Projects (seed 002) */
    ROUTE("GET", "/api/v1/projects", api_h_projects_list, TENANT(VIEWER)),
    ROUTE("POST", "/api/v1/projects", api_h_projects_create, TENANT(ARCHITECT)),
    ROUTE("GET", "/api/v1/projects/{id}", api_h_projects_get, TENANT(VIEWER)),
    ROUTE("PUT", "/api/v1/projects/{id}", api_h_projects_update,
          TENANT(ARCHITECT)),
    ROUTE("PATCH", "/api/v1/projects/{id}", api_h_projects_update,
          TENANT(ARCHITECT)),
    ROUTE("DELETE", "/api/v1/projects/{id}", api_h_projects_delete,
          TENANT(ARCHITECT)),

    /* Modules (seed 004) */
    ROUTE("GET", "/api/v1/modules", api_h_modules_list, TENANT(VIEWER)),
    ROUTE("GET", "/api/v1/modules/{type}/{name}/schema", api_h_modules_schema,
          TENANT(VIEWER)),

    /* Connectors (seeds 001, 002) and connections (seed 004): one
     * resource. /types comes before /{id}. */
    ROUTE("GET", "/api/v1/connectors/types", api_h_connector_types,
          TENANT(VIEWER)),
    ROUTE("GET", "/api/v1/connectors", api_h_connectors_list, TENANT(VIEWER)),
    ROUTE("POST", "/api/v1/connectors", api_h_connectors_create,
          TENANT(ENGINEER)),
    ROUTE("GET", "/api/v1/connectors/{id}", api_h_connectors_get,
          TENANT(VIEWER)),
    ROUTE("PUT", "/api/v1/connectors/{id}", api_h_connectors_update,
          TENANT(ENGINEER)),
    ROUTE("PATCH", "/api/v1/connectors/{id}", api_h_connectors_update,
          TENANT(ENGINEER)),
    ROUTE("DELETE", "/api/v1/connectors/{id}", api_h_connectors_delete,
          TENANT(ENGINEER)),
    ROUTE("POST", "/api/v1/connectors/{id}/test", api_h_connectors_test,
          TENANT(ENGINEER)),
    ROUTE("GET", "/api/v1/connectors/{id}/schema", api_h_connectors_schema,
          TENANT(ANALYST)),
    ROUTE("GET", "/api/v1/connectors/{id}/schema/{table}",
          api_h_connectors_table, TENANT(ANALYST)),
    ROUTE("GET", "/api/v1/connections", api_h_connectors_list, TENANT(VIEWER)),
    ROUTE("POST", "/api/v1/connections", api_h_connectors_create,
          TENANT(ENGINEER)),
    ROUTE("GET", "/api/v1/connections/{id}", api_h_connectors_get,
          TENANT(VIEWER)),
    ROUTE("PUT", "/api/v1/connections/{id}", api_h_connectors_update,
          TENANT(ENGINEER)),
    ROUTE("PATCH", "/api/v1/connections/{id}", api_h_connectors_update,
          TENANT(ENGINEER)),
    ROUTE("DELETE", "/api/v1/connections/{id}", api_h_connectors_delete,
          TENANT(ENGINEER)),
    ROUTE("POST", "/api/v1/connections/{id}/test", api_h_connectors_test,
          TENANT(ENGINEER)),
    ROUTE("GET", "/api/v1/connections/{id}/schema", api_h_connectors_schema,
          TENANT(ANALYST)),
    ROUTE("GET", "/api/v1/connections/{id}/schema/{table}",
          api_h_connectors_table, TENANT(ANALYST)),

    /* The catalog (seed 001) */
    ROUTE("GET", "/api/v1/catalog/catalogs", api_h_catalogs_list,
          TENANT(VIEWER)),
    ROUTE("GET", "/api/v1/catalog/catalogs/{catalog}/schemas",
          api_h_catalog_schemas, TENANT(VIEWER)),
    ROUTE("GET", "/api/v1/catalog/catalogs/{catalog}/schemas/{schema}/tables",
          api_h_catalog_tables, TENANT(VIEWER)),
    ROUTE("GET",
          "/api/v1/catalog/catalogs/{catalog}/schemas/{schema}/tables/"
          "{table}/schema",
          api_h_catalog_table_schema, TENANT(VIEWER)),
    ROUTE("GET",
          "/api/v1/catalog/catalogs/{catalog}/schemas/{schema}/tables/"
          "{table}/stats",
          api_h_catalog_table_stats, TENANT(ANALYST)),

    /* Webhooks (seed 000's {webhook_url, events, secret}; seed 001's
     * events and signature). /events comes before /{id}. */
    ROUTE("GET", "/api/v1/webhooks/events", api_h_webhook_events,
          TENANT(VIEWER)),
    ROUTE("GET", "/api/v1/webhooks", api_h_webhooks_list, TENANT(VIEWER)),
    ROUTE("POST", "/api/v1/webhooks", api_h_webhooks_create, TENANT(ENGINEER)),
    ROUTE("GET", "/api/v1/webhooks/{id}", api_h_webhooks_get, TENANT(VIEWER)),
    ROUTE("PUT", "/api/v1/webhooks/{id}", api_h_webhooks_update,
          TENANT(ENGINEER)),
    ROUTE("PATCH", "/api/v1/webhooks/{id}", api_h_webhooks_update,
          TENANT(ENGINEER)),
    ROUTE("DELETE", "/api/v1/webhooks/{id}", api_h_webhooks_delete,
          TENANT(ENGINEER)),
    ROUTE("POST", "/api/v1/webhooks/{id}/rotate-secret", api_h_webhooks_rotate,
          TENANT(ENGINEER)),
    ROUTE("POST", "/api/v1/webhooks/{id}/test", api_h_webhooks_test,
          TENANT(ENGINEER)),
    ROUTE("GET", "/api/v1/webhooks/{id}/deliveries", api_h_deliveries_list,
          TENANT(VIEWER)),
    ROUTE("GET", "/api/v1/webhooks/{id}/deliveries/{delivery_id}",
          api_h_deliveries_get, TENANT(VIEWER)),
    ROUTE("POST", "/api/v1/webhooks/{id}/deliveries/{delivery_id}/redeliver",
          api_h_deliveries_redeliver, TENANT(ENGINEER)),

    /* The notification service (seed 001): channels, alert rules, and
     * sending to a channel now. */
    ROUTE("GET", "/api/v1/notifications/channels", api_h_channels_list,
          TENANT(VIEWER)),
    ROUTE("POST", "/api/v1/notifications/channels", api_h_channels_create,
          TENANT(ENGINEER)),
    ROUTE("GET", "/api/v1/notifications/channels/{id}", api_h_channels_get,
          TENANT(VIEWER)),
    ROUTE("PUT", "/api/v1/notifications/channels/{id}", api_h_channels_update,
          TENANT(ENGINEER)),
    ROUTE("PATCH", "/api/v1/notifications/channels/{id}", api_h_channels_update,
          TENANT(ENGINEER)),
    ROUTE("DELETE", "/api/v1/notifications/channels/{id}",
          api_h_channels_delete, TENANT(ENGINEER)),
    ROUTE("GET", "/api/v1/notifications/alerts", api_h_alerts_list,
          TENANT(VIEWER)),
    ROUTE("POST", "/api/v1/notifications/alerts", api_h_alerts_create,
          TENANT(ENGINEER)),
    ROUTE("GET", "/api/v1/notifications/alerts/{id}", api_h_alerts_get,
          TENANT(VIEWER)),
    ROUTE("PUT", "/api/v1/notifications/alerts/{id}", api_h_alerts_update,
          TENANT(ENGINEER)),
    ROUTE("PATCH", "/api/v1/notifications/alerts/{id}", api_h_alerts_update,
          TENANT(ENGINEER)),
    ROUTE("DELETE", "/api/v1/notifications/alerts/{id}", api_h_alerts_delete,
          TENANT(ENGINEER)),
    ROUTE("POST", "/api/v1/notifications/send", api_h_notifications_send,
          TENANT(ENGINEER)),

    /* PII detection and anonymisation (seed 000; Presidio's names) */
    ROUTE("POST", "/api/v1/pii/analyze", api_h_pii_analyze, TENANT(ANALYST)),
    ROUTE("POST", "/api/v1/pii/anonymize", api_h_pii_anonymize,
          TENANT(ANALYST)),
    ROUTE("POST", "/api/v1/pii/deanonymize", api_h_pii_deanonymize,
          TENANT(ANALYST)),
    ROUTE("GET", "/api/v1/pii/recognizers", api_h_pii_recognizers,
          TENANT(ANALYST)),
    ROUTE("GET", "/api/v1/pii/supportedentities", api_h_pii_supported_entities,
          TENANT(ANALYST)),

    /* Soft delete administration (seed 002) */
    ROUTE("GET", "/api/v1/admin/deleted-entities", api_h_admin_deleted_list,
          TENANT(ADMIN)),
    ROUTE("GET", "/api/v1/admin/deletion-stats", api_h_admin_deletion_stats,
          TENANT(ADMIN)),
    ROUTE("POST", "/api/v1/admin/cleanup-old-deletions", api_h_admin_cleanup,
          TENANT(ADMIN)),
    ROUTE("POST", "/api/v1/admin/projects/{id}/restore",
          api_h_admin_project_restore, TENANT(ADMIN)),
    ROUTE("POST", "/api/v1/admin/pipelines/{id}/restore",
          api_h_admin_pipeline_restore, TENANT(ADMIN)),
    ROUTE("DELETE", "/api/v1/admin/projects/{id}/permanent",
          api_h_admin_project_purge, TENANT(ADMIN)),
    ROUTE("GET", "/api/v1/admin/audit-log", api_h_admin_audit_log,
          TENANT(ADMIN)),

    /* Lineage (seed 000; OpenLineage's HTTP transport posts to
     * /api/v1/lineage, as Marquez serves it). */
    ROUTE("POST", "/api/v1/lineage", api_h_lineage_event, TENANT(ENGINEER)),
    ROUTE("POST", "/api/v1/lineage/events", api_h_lineage_event,
          TENANT(ENGINEER)),
    ROUTE("GET", "/api/v1/lineage/datasets/{name}", api_h_lineage_dataset,
          TENANT(VIEWER)),
    ROUTE("GET", "/api/v1/lineage/graph", api_h_lineage_graph, TENANT(VIEWER)),
    ROUTE("GET", "/api/v1/lineage/columns/{name}", api_h_lineage_columns,
          TENANT(VIEWER)),
};

const size_t api_nroutes = sizeof(api_routes) / sizeof(api_routes[0]);
