/*
 * stmt.h: every SQL statement sluice-api runs, by name.
 *
 * The statements themselves are one table in stmt.c, prepared lazily on
 * each worker's connection. Parameters are always bound, never pasted.
 */
#ifndef API_STMT_H
#define API_STMT_H

#include "db.h"

enum api_stmt {
    ST_AUTH_SESSION,
    ST_AUTH_SESSION_ORGS,
    ST_AUTH_API_KEY,
    ST_LOGIN_LOOKUP,
    ST_USER_ORGS,
    ST_MEMBERSHIP_ACCEPT,
    ST_INVITE,
    ST_USER_LAST_LOGIN,
    ST_SESSION_INSERT,
    ST_SESSION_GET,
    ST_SESSION_REVOKE,
    ST_REFRESH_INSERT,
    ST_REFRESH_OWNER,
    ST_REFRESH_CONSUME,
    ST_REFRESH_STATE,
    ST_JTI_REVOKE,
    ST_TENANT_INSERT,
    ST_TENANT_ENSURE,
    ST_TENANT_GET,
    ST_TENANT_EXISTS,
    ST_TENANT_LOCK,
    ST_SUBSCRIPTION_INSERT,
    ST_PLAN_GET,
    ST_USER_INSERT,
    ST_MEMBERSHIP_INSERT,
    ST_MEMBER_GET,
    ST_MEMBER_LIST,
    ST_MEMBER_COUNT,
    ST_MEMBER_UPDATE,
    ST_MEMBER_OTHER_ADMINS,
    ST_APIKEY_INSERT,
    ST_APIKEY_LIST,
    ST_APIKEY_TENANT,
    ST_APIKEY_REVOKE,
    ST_MIGRATIONS,
    ST_COUNT_
};

extern const struct sl_db_stmt api_stmts[ST_COUNT_];

#endif
