/*
 * authenticate.c: who is calling, and may they.
 *
 * Three credentials (DESIGN.md, Identity):
 *   Authorization: Bearer <access token>  a user, in one organisation;
 *   X-API-Key: sk_<tenant>_<32 alnum>      a tenant;
 *   X-Admin-Key: <key>                     the operator.
 * A token's signature and expiry are checked in memory; then one
 * round trip to PostgreSQL confirms that its session is live, its jti not
 * revoked, the user active and a member of the organisation, and reads
 * the user's current role (a demotion takes effect at once, not when the
 * token expires). That answer is kept in the host's shared cache
 * (authcache.h) until the TTL passes or the user's standing changes.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "authcache.h"
#include "authenticate.h"
#include "check.h"
#include "clock.h"
#include "crypto.h"
#include "err.h"
#include "json.h"
#include "limits.h"
#include "request.h"
#include "router.h"
#include "token.h"

/* Answers 401 with code and message. Returns API_ANSWERED. */
static int API_ANSWERS
unauthenticated(struct api_req *r, const char *code, const char *message)
{
    api_add_header(r, "WWW-Authenticate: Bearer realm=\"sluice\"");
    return api_error(r, 401, code, message, NULL);
}

/* Answers 403 with message; details (taken) may be NULL. */
static int API_ANSWERS
forbidden(struct api_req *r, const char *message, json_t *details)
{
    return api_error(r, 403, "INSUFFICIENT_PERMISSIONS", message, details);
}

bool
api_admin_key_valid(struct api_req *r)
{
    const char *key = api_header(r, "X-Admin-Key");
    unsigned char h[SL_SHA256_LEN];

    return r->ctx->admin_key_set && key != NULL && strlen(key) <= 1024 &&
           sl_sha256(key, strlen(key), h) == SL_OK &&
           sl_ct_equal(h, r->ctx->admin_key_hash, sizeof(h));
}

static int API_ANSWERS
auth_admin(struct api_req *r)
{
    const char *key = api_header(r, "X-Admin-Key");

    if (!r->ctx->admin_key_set)
        return unauthenticated(r, "AUTHENTICATION_FAILED",
                               "Admin endpoints are disabled: the server has "
                               "no admin key configured");
    if (key == NULL || *key == '\0')
        return unauthenticated(r, "AUTHENTICATION_FAILED",
                               "This endpoint requires the X-Admin-Key header");
    if (!api_admin_key_valid(r))
        return unauthenticated(r, "AUTHENTICATION_FAILED", "Invalid admin key");
    r->who.kind = API_PRINCIPAL_ADMIN;
    r->who.role = SL_ROLE_ADMIN;
    return 0;
}

int
api_key_tenant(const char *key, char *out, size_t outsz)
{
    const char *last;
    size_t tlen;

    if (key == NULL || strncmp(key, "sk_", 3) != 0 || strlen(key) > 100)
        return SL_EINVAL;
    last = strrchr(key, '_');
    if (last == NULL || last < key + 3 || strlen(last + 1) != 32)
        return SL_EINVAL;
    for (const char *p = last + 1; *p != '\0'; p++)
        if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
              (*p >= '0' && *p <= '9')))
            return SL_EINVAL;
    tlen = (size_t)(last - (key + 3));
    if (tlen + 1 > outsz)
        return SL_EINVAL;
    memcpy(out, key + 3, tlen);
    out[tlen] = '\0';
    return api_tenant_id_valid(out) ? SL_OK : SL_EINVAL;
}

static int API_ANSWERS
auth_api_key(struct api_req *r, const char *key)
{
    char tenant[64], hash[SL_SHA256_HEX_LEN];
    const char *org = api_header(r, "X-Organization-ID");
    const char *params[1] = {hash};
    PGresult *res;
    int rc;

    if (api_key_tenant(key, tenant, sizeof(tenant)) != SL_OK)
        return unauthenticated(r, "AUTHENTICATION_FAILED",
                               "Invalid or missing API key");
    if (org != NULL && strcmp(org, tenant) != 0)
        return forbidden(r,
                         "The API key does not belong to the organization "
                         "named by X-Organization-ID",
                         NULL);
    sl_sha256_hex(key, strlen(key), hash);
    rc = api_exec_scoped(r, tenant, NULL, ST_AUTH_API_KEY, 1, params, &res);
    if (rc != SL_OK)
        return api_db_error(r, rc);
    if (PQntuples(res) == 0)
        return unauthenticated(r, "AUTHENTICATION_FAILED",
                               "Invalid or missing API key");
    if (strcmp(PQgetvalue(res, 0, 2), "t") != 0)
        return unauthenticated(r, "AUTHENTICATION_FAILED",
                               "The API key has been revoked");
    if (strcmp(PQgetvalue(res, 0, 3), "t") == 0)
        return unauthenticated(r, "AUTHENTICATION_FAILED",
                               "The API key has expired");
    if (strcmp(PQgetvalue(res, 0, 4), "t") != 0)
        return forbidden(r, "The organization is not active", NULL);
    r->who.kind = API_PRINCIPAL_KEY;
    r->who.tenant_id = sl_pstrdup(r->pool, tenant);
    r->who.key_id = PQgetvalue(res, 0, 0);
    r->who.role = sl_role_parse(PQgetvalue(res, 0, 1));
    return 0;
}

/* Copies src into dst (dstsz bytes); false when it does not fit. */
static bool
fits(char *dst, size_t dstsz, const char *src)
{
    size_t n = src ? strlen(src) : 0;

    if (n >= dstsz)
        return false;
    memcpy(dst, src ? src : "", n + 1);
    return true;
}

/* The principal of a user from a token check (cached or not). */
static void
set_user(struct api_req *r, const struct api_auth_entry *e, int64_t exp)
{
    struct api_auth_entry *k = sl_palloc(r->pool, sizeof(*k));

    if (k == NULL)
        return;
    *k = *e;
    r->who.kind = API_PRINCIPAL_USER;
    r->who.tenant_id = k->org;
    r->who.user_id = k->sub;
    r->who.session_id = k->sid;
    r->who.jti = k->jti;
    r->who.token_exp = exp;
    r->who.role = k->role;
    r->who.username = k->username;
    r->who.email = k->email;
    r->who.full_name = k->has_full_name ? k->full_name : NULL;
    r->who.created_at = k->created_at;
    r->who.last_login = k->has_last_login ? k->last_login : NULL;
    r->who.organizations = k->has_orgs ? k->orgs : NULL;
}

static int API_ANSWERS
auth_bearer(struct api_req *r, const char *token)
{
    const struct sl_conf *conf = r->ctx->conf;
    const char *org = api_header(r, "X-Organization-ID");
    bool need_orgs = (r->route->flags & API_ROUTE_ORGS) != 0;
    struct api_auth_entry e;
    struct api_auth_epochs ep;
    struct sl_claims c;
    const char *params[4];
    PGresult *res;
    int rc;

    rc = sl_token_verify(conf->jwt_secret, strlen(conf->jwt_secret), token,
                         sl_clock_now(), &c);
    if (rc == SL_EEXPIRED)
        return unauthenticated(r, "TOKEN_EXPIRED",
                               "The access token has "
                               "expired; refresh it or "
                               "log in again");
    if (rc != SL_OK)
        return unauthenticated(r, "INVALID_TOKEN",
                               "The access token is malformed or its "
                               "signature is invalid");
    if (org == NULL || *org == '\0')
        org = c.org;
    else if (!api_tenant_id_valid(org))
        return forbidden(r, "X-Organization-ID is not a valid organization id",
                         json_pack("{s:s}", "field", "X-Organization-ID"));

    /* A recent check of this very token in this organisation? */
    if (api_authcache_get(r->ctx->authcache, c.jti, org, need_orgs, &e) &&
        strcmp(e.sub, c.sub) == 0 && strcmp(e.sid, c.sid) == 0) {
        set_user(r, &e, c.exp);
        return 0;
    }
    /* Epochs first, then the database: a change committed meanwhile makes
     * what we store stale at once. */
    api_authcache_epochs(r->ctx->authcache, c.sub, org, &ep);
    params[0] = c.sid;
    params[1] = org;
    params[2] = c.sub;
    params[3] = c.jti;
    rc = api_exec_scoped(r, org, c.sub,
                         need_orgs ? ST_AUTH_SESSION_ORGS : ST_AUTH_SESSION, 4,
                         params, &res);
    if (rc != SL_OK)
        return api_db_error(r, rc);
    if (PQntuples(res) == 0)
        return unauthenticated(r, "INVALID_TOKEN",
                               "The access token has been revoked");
    if (PQgetisnull(res, 0, 5) || strcmp(PQgetvalue(res, 0, 6), "t") != 0)
        return forbidden(r, "You are not a member of this organization",
                         json_pack("{s:s}", "organization_id", org));
    if (strcmp(PQgetvalue(res, 0, 7), "t") != 0)
        return forbidden(r, "The organization is not active",
                         json_pack("{s:s}", "organization_id", org));

    memset(&e, 0, sizeof(e));
    e.role = sl_role_parse(PQgetvalue(res, 0, 5));
    e.has_full_name = !PQgetisnull(res, 0, 2);
    e.has_last_login = !PQgetisnull(res, 0, 4);
    e.has_orgs = PQnfields(res) > 8;
    if (fits(e.jti, sizeof(e.jti), c.jti) && fits(e.org, sizeof(e.org), org) &&
        fits(e.sid, sizeof(e.sid), c.sid) &&
        fits(e.sub, sizeof(e.sub), c.sub) &&
        fits(e.username, sizeof(e.username), PQgetvalue(res, 0, 0)) &&
        fits(e.email, sizeof(e.email), PQgetvalue(res, 0, 1)) &&
        fits(e.full_name, sizeof(e.full_name), PQgetvalue(res, 0, 2)) &&
        fits(e.created_at, sizeof(e.created_at), PQgetvalue(res, 0, 3)) &&
        fits(e.last_login, sizeof(e.last_login), PQgetvalue(res, 0, 4)) &&
        (!e.has_orgs || fits(e.orgs, sizeof(e.orgs), PQgetvalue(res, 0, 8)))) {
        api_authcache_put(r->ctx->authcache, &e, &ep);
        set_user(r, &e, c.exp);
        return 0;
    }
    /* Too big to cache (a very long name, very many organisations): use
     * the result as it is. */
    r->who.kind = API_PRINCIPAL_USER;
    r->who.tenant_id = sl_pstrdup(r->pool, org);
    r->who.user_id = sl_pstrdup(r->pool, c.sub);
    r->who.session_id = sl_pstrdup(r->pool, c.sid);
    r->who.jti = sl_pstrdup(r->pool, c.jti);
    r->who.token_exp = c.exp;
    r->who.username = PQgetvalue(res, 0, 0);
    r->who.email = PQgetvalue(res, 0, 1);
    r->who.full_name = sl_db_value(res, 0, 2);
    r->who.created_at = PQgetvalue(res, 0, 3);
    r->who.last_login = sl_db_value(res, 0, 4);
    r->who.role = e.role;
    r->who.organizations = e.has_orgs ? PQgetvalue(res, 0, 8) : NULL;
    return 0;
}

void
api_auth_changed(struct api_req *r, const char *user, const char *tenant)
{
    json_t *j;
    char *text;

    api_authcache_bump(r->ctx->authcache, user, tenant);
    j = json_pack("{s:s?, s:s?}", "user_id", user, "tenant_id", tenant);
    text = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    /* Best effort: a host that misses this forgets within the TTL. */
    if (text != NULL && r->ctx->bus.nc != NULL)
        natsConnection_PublishString(r->ctx->bus.nc, API_SUBJ_AUTH_CHANGED,
                                     text);
    free(text);
}

/* The token of an "Authorization: Bearer <token>" header, or NULL; on a
 * route with API_ROUTE_QUERY_TOKEN, also ?token=. */
static const char *
bearer_token(struct api_req *r)
{
    const char *h = api_header(r, "Authorization");

    if (h == NULL && (r->route->flags & API_ROUTE_QUERY_TOKEN) != 0 &&
        api_header(r, "X-API-Key") == NULL) {
        h = api_query(r, "token");
        return h != NULL && *h != '\0' ? h : NULL;
    }
    if (h == NULL || strncasecmp(h, "Bearer ", 7) != 0)
        return NULL;
    h += 7;
    while (*h == ' ')
        h++;
    return *h != '\0' ? h : NULL;
}

int
api_check_tenant_param(struct api_req *r)
{
    const char *want = api_param(r, "tenant_id");

    if (want == NULL || r->who.kind == API_PRINCIPAL_ADMIN ||
        r->who.tenant_id == NULL || strcmp(want, r->who.tenant_id) == 0)
        return 0;
    return forbidden(r,
                     sl_psprintf(r->pool,
                                 "Tenant ID mismatch: authenticated as '%s' "
                                 "but requested resource for '%.60s'",
                                 r->who.tenant_id, want),
                     json_pack("{s:s, s:s}", "authenticated_tenant",
                               r->who.tenant_id, "requested_tenant", want));
}

int
api_authenticate(struct api_req *r)
{
    const struct api_route *rt = r->route;
    const char *token, *key;
    int rc;

    switch (rt->auth) {
    case API_AUTH_NONE:
        return 0;
    case API_AUTH_ADMIN:
        return auth_admin(r);
    case API_AUTH_USER:
    case API_AUTH_TENANT:
        token = bearer_token(r);
        key = api_header(r, "X-API-Key");
        if (token != NULL) {
            if (strlen(token) > SL_MAX_TOKEN)
                return unauthenticated(r, "INVALID_TOKEN",
                                       "The access token is too long");
            rc = auth_bearer(r, token);
        } else if (key != NULL && rt->auth == API_AUTH_TENANT) {
            rc = auth_api_key(r, key);
        } else if (key != NULL) {
            return unauthenticated(r, "AUTHENTICATION_FAILED",
                                   "This endpoint needs a user's bearer "
                                   "token, not an API key");
        } else {
            return unauthenticated(r, "AUTHENTICATION_FAILED",
                                   "Authentication required: send "
                                   "Authorization: Bearer <token>");
        }
        if (rc != 0)
            return rc;
        break;
    }
    if (r->who.role < rt->min_role) {
        return forbidden(
            r,
            sl_psprintf(r->pool,
                        "This action requires the role '%s' or "
                        "higher; you have '%s'",
                        sl_role_name(rt->min_role), sl_role_name(r->who.role)),
            json_pack("{s:s, s:s}", "required_role", sl_role_name(rt->min_role),
                      "role", sl_role_name(r->who.role)));
    }
    return api_check_tenant_param(r);
}
