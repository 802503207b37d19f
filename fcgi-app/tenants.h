/*
 * tenants.h: what other handlers use of tenants.c: the default
 * organisation, tenant ids made from names, and whether a caller may
 * make an organisation.
 */
#ifndef API_TENANTS_H
#define API_TENANTS_H

#include <stdbool.h>
#include <stddef.h>

#include "conf.h"
#include "db.h"
#include "request.h"

/*
 * True when a new tenant may not take the id s: the default organisation
 * and a few names kept for the platform.
 */
bool api_tenant_id_reserved(const struct sl_conf *conf, const char *s);

/*
 * Creates the default organisation if it does not exist, in a transaction
 * of its own on db. Returns 0 (with *created, which may be NULL, saying
 * whether it did not exist) or a database code.
 */
int api_default_org_ensure(struct sl_db *db, const struct sl_conf *conf,
                           bool *created);

/*
 * A tenant id made from a display name ("Acme Corp." gives "acme_corp")
 * into out (outsz bytes): lower case, [a-z0-9_], 3 to 40 characters.
 */
void api_tenant_slug(const char *name, char *out, size_t outsz);

/* The same with a random suffix, for when the plain slug is taken. */
void api_tenant_slug_retry(const char *name, char *out, size_t outsz);

/*
 * Whether the caller may make an organisation (onboarding, registering
 * with organization_name): when self_onboarding is off, only with the
 * admin key. Returns 0, or API_ANSWERED with the 403 set.
 */
int api_onboarding_allowed(struct api_req *r) API_ANSWERS;

#endif
