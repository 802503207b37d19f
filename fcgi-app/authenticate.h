/*
 * authenticate.h: who is calling, and may they (authenticate.c).
 *
 * The dispatcher authenticates every request as its route requires
 * before the handler runs; handlers find the caller in r->who.
 */
#ifndef API_AUTHENTICATE_H
#define API_AUTHENTICATE_H

#include <stdbool.h>
#include <stddef.h>

#include "request.h"

/*
 * Authenticates the caller as the route requires, into r->who, and
 * checks the role. Returns 0; API_ANSWERED with the 401 or 403 set (or
 * the database's error).
 */
int api_authenticate(struct api_req *r) API_ANSWERS;

/*
 * Checks a {tenant_id} path parameter against the caller's tenant
 * (seed 003). Returns 0, or API_ANSWERED with the 403 set.
 */
int api_check_tenant_param(struct api_req *r) API_ANSWERS;

/*
 * The tenant in an API key sk_<tenant>_<32 alnum>, copied into out
 * (outsz bytes). Returns 0 or SL_EINVAL.
 */
int api_key_tenant(const char *key, char *out, size_t outsz);

/* Whether the request carries the operator's X-Admin-Key (compared in
 * constant time). */
bool api_admin_key_valid(struct api_req *r);

/*
 * Says that user's (and/or tenant's) standing changed (either may be
 * NULL): cached token checks of this host are dropped at once, and other
 * hosts are told over NATS. Call after the change is committed, before
 * answering.
 */
void api_auth_changed(struct api_req *r, const char *user, const char *tenant);

#endif
