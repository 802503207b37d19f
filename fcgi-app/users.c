/*
 * users.c: an organisation's admins manage its members at /users.
 *
 * Users are global (one login, several organisations); what an admin
 * manages is the membership: its role and whether it is active. Creating a
 * user with a password makes a new account in this organisation; naming an
 * existing account (by username or e-mail, without a password) invites it,
 * and it joins when its owner logs in to this organisation: an admin can
 * neither pull other people's accounts in nor learn anything about them.
 * DELETE deactivates the membership; nothing is erased. An organisation
 * always keeps at least one active admin.
 *
 * Also how a user account is written and shown, which registration
 * (sessions.c) shares (users.h).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authenticate.h"
#include "check.h"
#include "err.h"
#include "handlers.h"
#include "json.h"
#include "list.h"
#include "password.h"
#include "permissions.h"
#include "request.h"
#include "users.h"
#include "uuid.h"

/* A user from the USER_COLS columns of stmt.c, starting at column 0. */
json_t *
api_user_json(const PGresult *res, int row)
{
    const char *role = sl_db_value(res, row, 4);

    return json_pack(
        "{s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "id",
        api_col_str(res, row, 0), "username", api_col_str(res, row, 1), "email",
        api_col_str(res, row, 2), "full_name", api_col_str(res, row, 3), "role",
        api_col_str(res, row, 4), "is_active", api_col_bool(res, row, 5),
        "created_at", api_col_str(res, row, 6), "last_login",
        api_col_str(res, row, 7), "permissions",
        api_permissions(sl_role_parse(role)));
}

int
api_user_insert(struct api_req *r, const char *uid, const char *username,
                const char *email, const char *full_name, const char *hash,
                const char *org, const char *role, const char **created_at)
{
    const char *up[5] = {uid, username, email, full_name, hash};
    const char *mp[3] = {org, uid, role};
    PGresult *res;
    int rc;

    rc = api_exec(r, ST_USER_INSERT, 5, up, &res);
    if (rc != SL_OK)
        return rc;
    *created_at = PQgetvalue(res, 0, 0);
    return api_exec(r, ST_MEMBERSHIP_INSERT, 3, mp, &res);
}

int
api_duplicate_user(struct api_req *r)
{
    const char *constraint = sl_db_constraint(&r->ctx->db);
    const char *field =
        strstr(constraint, "email") != NULL ? "email" : "username";

    return api_error(
        r, 409, "DUPLICATE_RESOURCE",
        sl_psprintf(r->pool, "A user with this %s already exists", field),
        json_pack("{s:s, s:s}", "field", field, "reason", "already taken"));
}

/* Answers with the member id as this organisation sees them. */
static int API_ANSWERS
reply_member(struct api_req *r, int status, const char *uid)
{
    const char *params[1] = {uid};
    PGresult *res;
    int rc = api_exec_scoped(r, r->who.tenant_id, r->who.user_id, ST_MEMBER_GET,
                             1, params, &res);

    if (rc != SL_OK)
        return api_db_error(r, rc);
    if (PQntuples(res) == 0)
        return api_error(r, 404, "USER_NOT_FOUND",
                         "No such user in this organization",
                         json_pack("{s:s}", "user_id", uid));
    return api_reply(r, status, api_user_json(res, 0));
}

int
api_h_users_list(struct api_req *r)
{
    struct api_page pg;
    char limit[24], offset[24];
    const char *params[2] = {limit, offset};
    json_t *items;
    PGresult *res;
    long total = 0;
    int rc;

    if ((rc = api_page_parse(r, &pg)) != 0)
        return rc;
    snprintf(limit, sizeof(limit), "%ld", pg.limit);
    snprintf(offset, sizeof(offset), "%ld", pg.offset);
    rc = api_exec_scoped(r, r->who.tenant_id, r->who.user_id, ST_MEMBER_LIST, 2,
                         params, &res);
    if (rc != SL_OK)
        return api_db_error(r, rc);
    items = json_array();
    for (int i = 0; i < PQntuples(res); i++)
        json_array_append_new(items, api_user_json(res, i));
    if (PQntuples(res) > 0) {
        total = strtol(PQgetvalue(res, 0, 8), NULL, 10);
    } else if (pg.offset > 0) {
        rc = api_exec_scoped(r, r->who.tenant_id, r->who.user_id,
                             ST_MEMBER_COUNT, 0, NULL, &res);
        if (rc != SL_OK) {
            json_decref(items);
            return api_db_error(r, rc);
        }
        total = strtol(PQgetvalue(res, 0, 0), NULL, 10);
    }
    return api_reply_list(r, &pg, items, total);
}

/*
 * Invites an existing account, named by login, to the caller's
 * organisation. The answer is the same whether or not such an account
 * exists, and shows nothing of it: the account joins (and the organisation
 * sees it) only when its owner logs in to the organisation. The only
 * refusal is the organisation's own: too many invitations of its own
 * pending (sql/014).
 */
static int API_ANSWERS
invite(struct api_req *r, const char *login, const char *role)
{
    const char *params[2] = {login, role};
    PGresult *res;
    int rc = api_exec_scoped(r, r->who.tenant_id, r->who.user_id, ST_INVITE, 2,
                             params, &res);

    if (rc != SL_OK)
        return api_db_error(r, rc);
    if (!PQgetisnull(res, 0, 0))
        return api_error(
            r, 429, "QUOTA_EXCEEDED",
            "This organization has sent as many invitations as it may in "
            "24 hours; more can be sent as those grow older",
            json_pack("{s:s, s:o, s:s}", "quota_type", "daily_invitations",
                      "limit", api_col_int(res, 0, 0), "window", "24h"));
    return api_reply(
        r, 202,
        json_pack("{s:s, s:s, s:s, s:s}", "status", "invited",
                  "organization_id", r->who.tenant_id, "role", role, "message",
                  "If an active account has this username or e-mail, it is "
                  "invited; it joins when its owner logs in with this "
                  "organization_id"));
}

int
api_h_users_create(struct api_req *r)
{
    const struct sl_conf *conf = r->ctx->conf;
    const char *username, *email, *password, *full_name, *role_name;
    const char *created_at;
    char uid[SL_UUID_LEN], hash[SL_PASSWORD_HASH_MAX];
    struct api_check c;
    json_t *body;
    enum sl_role role = SL_ROLE_VIEWER;
    int rc;

    if ((rc = api_body_object(r, false, &body)) != 0)
        return rc;
    api_check_init(&c, r);
    username = api_check_str(&c, body, "username", 0, 3, 50);
    email = api_check_str(&c, body, "email", 0, 3, 254);
    password = api_check_str(&c, body, "password", 0, 1, 1024);
    full_name = api_check_str(&c, body, "full_name", 0, 0, 200);
    role_name = api_check_str(&c, body, "role", 0, 1, 20);
    if (role_name != NULL && (role = sl_role_parse(role_name)) == SL_ROLE_NONE)
        api_check_fail(&c, "role",
                       "must be one of viewer, analyst, engineer, "
                       "architect, admin");
    if (password == NULL) {
        if (username == NULL && email == NULL)
            api_check_fail(&c, "username",
                           "is required (or email, of an existing account)");
        if ((rc = api_check_done(&c)) != 0)
            return rc;
        return invite(r, username ? username : email, sl_role_name(role));
    }
    if (username == NULL)
        api_check_fail(&c, "username", "is required");
    if (email == NULL)
        api_check_fail(&c, "email", "is required");
    else if (!api_email_valid(email))
        api_check_fail(&c, "email", "is not a valid e-mail address");
    api_password_check(&c, "password", password, username);
    if (username != NULL && !api_username_valid(username))
        api_check_fail(&c, "username",
                       "may contain only letters, digits, "
                       "'_', '.' and '-'");
    if ((rc = api_check_done(&c)) != 0)
        return rc;

    if (sl_password_hash(password, conf->password_cost, hash) != SL_OK ||
        sl_uuid_v7(uid) != SL_OK)
        return SL_ECRYPTO;
    /* The new row is visible to its own id: insert as the new user. */
    rc = sl_db_begin(&r->ctx->db, r->who.tenant_id, uid);
    if (rc != SL_OK)
        return api_db_error(r, rc);
    rc = api_user_insert(r, uid, username, email, full_name, hash,
                         r->who.tenant_id, sl_role_name(role), &created_at);
    if (rc == SL_OK)
        rc = sl_db_commit(&r->ctx->db);
    if (rc != SL_OK) {
        sl_db_rollback(&r->ctx->db);
        return rc == SL_ECONFLICT ? api_duplicate_user(r) : api_db_error(r, rc);
    }
    return reply_member(r, 201, uid);
}

/*
 * The route's {id} in *id, lower-cased. Returns 0, or API_ANSWERED with
 * the 404 set when it is not a user id.
 */
static int API_ANSWERS
user_param(struct api_req *r, const char **id)
{
    *id = api_param_uuid(r, "id");
    if (*id != NULL)
        return 0;
    return api_error(r, 404, "USER_NOT_FOUND",
                     "No such user in this organization",
                     json_pack("{s:s}", "user_id", api_param(r, "id")));
}

int
api_h_users_get(struct api_req *r)
{
    const char *id;
    int rc = user_param(r, &id);

    return rc != 0 ? rc : reply_member(r, 200, id);
}

/*
 * Changes a membership: role and/or is_active. Refuses a change that would
 * leave the organisation without an active admin. Returns 0 when it is
 * changed, or API_ANSWERED with the 404, the 409 or the database's error
 * set.
 */
static int API_ANSWERS
update_member(struct api_req *r, const char *id, const char *role,
              const char *active)
{
    const char *params[3] = {id, role, active};
    PGresult *res;
    int rc;
    bool loses_admin = (role != NULL && strcmp(role, "admin") != 0) ||
                       (active != NULL && strcmp(active, "false") == 0);

    rc = sl_db_begin(&r->ctx->db, r->who.tenant_id, r->who.user_id);
    if (rc != SL_OK)
        return api_db_error(r, rc);
    /* One change to the organisation's admins at a time, or two admins
     * demoting each other at once could both pass the check below. */
    if ((rc = api_exec(r, ST_TENANT_LOCK, 0, NULL, &res)) != SL_OK)
        goto failed;
    if (loses_admin) {
        if ((rc = api_exec(r, ST_MEMBER_OTHER_ADMINS, 1, params, &res)) !=
            SL_OK)
            goto failed;
        if (strcmp(PQgetvalue(res, 0, 0), "0") == 0) {
            /* Is the user an admin at all? Only then is this the last. */
            if ((rc = api_exec(r, ST_MEMBER_GET, 1, params, &res)) != SL_OK)
                goto failed;
            if (PQntuples(res) == 1 &&
                strcmp(PQgetvalue(res, 0, 4), "admin") == 0 &&
                strcmp(PQgetvalue(res, 0, 5), "t") == 0) {
                sl_db_rollback(&r->ctx->db);
                return api_error(r, 409, "CONFLICT",
                                 "The organization must keep at least one "
                                 "active admin",
                                 json_pack("{s:s}", "user_id", id));
            }
        }
    }
    if ((rc = api_exec(r, ST_MEMBER_UPDATE, 3, params, &res)) != SL_OK)
        goto failed;
    if (PQntuples(res) == 0) {
        sl_db_rollback(&r->ctx->db);
        return api_error(r, 404, "USER_NOT_FOUND",
                         "No such user in this organization",
                         json_pack("{s:s}", "user_id", id));
    }
    if ((rc = sl_db_commit(&r->ctx->db)) != SL_OK)
        goto failed;
    /* The user's role or access changed: no cached check may survive. */
    api_auth_changed(r, id, NULL);
    return 0;
failed:
    sl_db_rollback(&r->ctx->db);
    return api_db_error(r, rc);
}

int
api_h_users_update(struct api_req *r)
{
    const char *id, *role_name, *active = NULL;
    struct api_check c;
    json_t *body, *v;
    enum sl_role role = SL_ROLE_NONE;
    int rc;

    if ((rc = user_param(r, &id)) != 0 ||
        (rc = api_body_object(r, false, &body)) != 0)
        return rc;
    api_check_init(&c, r);
    role_name = api_check_str(&c, body, "role", 0, 1, 20);
    if (role_name != NULL && (role = sl_role_parse(role_name)) == SL_ROLE_NONE)
        api_check_fail(&c, "role",
                       "must be one of viewer, analyst, engineer, "
                       "architect, admin");
    v = json_object_get(body, "is_active");
    if (v != NULL && !json_is_boolean(v))
        api_check_fail(&c, "is_active", "must be true or false");
    else if (v != NULL)
        active = json_is_true(v) ? "true" : "false";
    if (role_name == NULL && active == NULL && json_array_size(c.errors) == 0)
        api_check_fail(&c, "role", "give role and/or is_active to change");
    if ((rc = api_check_done(&c)) != 0 ||
        (rc = update_member(r, id, role_name ? sl_role_name(role) : NULL,
                            active)) != 0)
        return rc;
    return reply_member(r, 200, id);
}

int
api_h_users_delete(struct api_req *r)
{
    const char *id;
    int rc;

    if ((rc = user_param(r, &id)) != 0 ||
        (rc = update_member(r, id, NULL, "false")) != 0)
        return rc;
    return reply_member(r, 200, id);
}
