/*
 * handlers.h: every request handler, by the file that defines it.
 * routes.c maps methods and paths onto them.
 */
#ifndef API_HANDLERS_H
#define API_HANDLERS_H

struct api_req;

/* health.c */
int api_h_health(struct api_req *r);
int api_h_health_detailed(struct api_req *r);

/* auth.c */
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

#endif
