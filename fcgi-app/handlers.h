/*
 * handlers.h: every request handler, by the file that defines it.
 * routes.c maps methods and paths onto them.
 */
#ifndef API_HANDLERS_H
#define API_HANDLERS_H

#include <stdbool.h>

struct api_req;

/* health.c */
int api_h_health(struct api_req *r);
int api_h_health_detailed(struct api_req *r);

/* sessions.c */
int api_h_register(struct api_req *r);
int api_h_login(struct api_req *r);
int api_h_refresh(struct api_req *r);
int api_h_logout(struct api_req *r);
int api_h_me(struct api_req *r);

/* users.c */
int api_h_users_list(struct api_req *r);
int api_h_users_create(struct api_req *r);
int api_h_users_get(struct api_req *r);
int api_h_users_update(struct api_req *r);
int api_h_users_delete(struct api_req *r);

/* tenants.c */
int api_h_admin_bootstrap(struct api_req *r);
int api_h_admin_tenants_create(struct api_req *r);
int api_h_admin_tenants_get(struct api_req *r);
int api_h_admin_api_keys_create(struct api_req *r);
int api_h_admin_api_keys_revoke(struct api_req *r);
int api_h_tenants_onboard(struct api_req *r);
int api_h_tenants_dryrun(struct api_req *r);

/* pipelines.c */
int api_h_pipelines_list(struct api_req *r);
int api_h_pipelines_create(struct api_req *r);
int api_h_pipelines_get(struct api_req *r);
int api_h_pipelines_update(struct api_req *r);
int api_h_pipelines_delete(struct api_req *r);
int api_h_pipelines_validate(struct api_req *r);
int api_h_pipelines_deploy(struct api_req *r);
int api_h_pipelines_pause(struct api_req *r);
int api_h_pipelines_resume(struct api_req *r);
int api_h_pipelines_versions(struct api_req *r);
int api_h_pipelines_version_get(struct api_req *r);

/* runs.c */
int api_h_runs_start(struct api_req *r);
int api_h_runs_list(struct api_req *r);
int api_h_runs_get(struct api_req *r);
int api_h_runs_logs(struct api_req *r);
int api_h_runs_metrics(struct api_req *r);
int api_h_runs_cancel(struct api_req *r);
int api_h_runs_retry(struct api_req *r);
int api_h_scheduler_trigger(struct api_req *r);

/* triggers.c */
int api_h_triggers_create(struct api_req *r);
int api_h_triggers_list(struct api_req *r);
int api_h_triggers_delete(struct api_req *r);

/* projects.c */
int api_h_projects_list(struct api_req *r);
int api_h_projects_create(struct api_req *r);
int api_h_projects_get(struct api_req *r);
int api_h_projects_update(struct api_req *r);
int api_h_projects_delete(struct api_req *r);

/* module_catalog.c */
int api_h_modules_list(struct api_req *r);
int api_h_modules_schema(struct api_req *r);

/* deletions.c */
int api_h_admin_deleted_list(struct api_req *r);
int api_h_admin_deletion_stats(struct api_req *r);
int api_h_admin_cleanup(struct api_req *r);
int api_h_admin_project_restore(struct api_req *r);
int api_h_admin_pipeline_restore(struct api_req *r);
int api_h_admin_project_purge(struct api_req *r);
int api_h_admin_audit_log(struct api_req *r);

/* connectors.c */
int api_h_connector_types(struct api_req *r);
int api_h_connectors_list(struct api_req *r);
int api_h_connectors_create(struct api_req *r);
int api_h_connectors_get(struct api_req *r);
int api_h_connectors_update(struct api_req *r);
int api_h_connectors_delete(struct api_req *r);
int api_h_connectors_test(struct api_req *r);
int api_h_connectors_schema(struct api_req *r);
int api_h_connectors_table(struct api_req *r);

/* live.c: nginx's question for each WebSocket handshake */
int api_h_ws_authorize(struct api_req *r);
/* Whether r is nginx's /_ws_auth subrequest (FastCGI SLUICE_WS_AUTH). */
bool api_ws_subrequest(struct api_req *r);

/* catalog.c */
int api_h_catalogs_list(struct api_req *r);
int api_h_catalog_schemas(struct api_req *r);
int api_h_catalog_tables(struct api_req *r);
int api_h_catalog_table_schema(struct api_req *r);
int api_h_catalog_table_stats(struct api_req *r);

/* webhooks.c */
int api_h_webhook_events(struct api_req *r);
int api_h_webhooks_list(struct api_req *r);
int api_h_webhooks_create(struct api_req *r);
int api_h_webhooks_get(struct api_req *r);
int api_h_webhooks_update(struct api_req *r);
int api_h_webhooks_delete(struct api_req *r);
int api_h_webhooks_rotate(struct api_req *r);
int api_h_webhooks_test(struct api_req *r);
int api_h_deliveries_list(struct api_req *r);
int api_h_deliveries_get(struct api_req *r);
int api_h_deliveries_redeliver(struct api_req *r);

/* notifications.c */
int api_h_channels_list(struct api_req *r);
int api_h_channels_create(struct api_req *r);
int api_h_channels_get(struct api_req *r);
int api_h_channels_update(struct api_req *r);
int api_h_channels_delete(struct api_req *r);
int api_h_alerts_list(struct api_req *r);
int api_h_alerts_create(struct api_req *r);
int api_h_alerts_get(struct api_req *r);
int api_h_alerts_update(struct api_req *r);
int api_h_alerts_delete(struct api_req *r);
int api_h_notifications_send(struct api_req *r);

/* lineage.c */
int api_h_lineage_event(struct api_req *r);
int api_h_lineage_dataset(struct api_req *r);
int api_h_lineage_graph(struct api_req *r);
int api_h_lineage_columns(struct api_req *r);
/* pii.c */
int api_h_pii_analyze(struct api_req *r);
int api_h_pii_anonymize(struct api_req *r);
int api_h_pii_deanonymize(struct api_req *r);
int api_h_pii_recognizers(struct api_req *r);
int api_h_pii_supported_entities(struct api_req *r);

#endif
