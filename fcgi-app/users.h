/*
 * users.h: user accounts and memberships as registration (sessions.c)
 * and an organisation's admins (users.c) both write and show them.
 */
#ifndef API_USERS_H
#define API_USERS_H

#include <jansson.h>
#include <libpq-fe.h>

#include "request.h"

/*
 * Inserts a user and their membership of org with role, in the open
 * transaction, which must be scoped to the new user's id (RLS lets a user
 * row be written only by that user). *created_at points into the pool.
 * Returns 0 or a database code (SL_ECONFLICT: username or e-mail taken).
 */
int api_user_insert(struct api_req *r, const char *uid, const char *username,
                    const char *email, const char *full_name, const char *hash,
                    const char *org, const char *role, const char **created_at);

/*
 * Answers a unique violation on users with 409, naming the taken field.
 * Returns API_ANSWERED.
 */
int api_duplicate_user(struct api_req *r) API_ANSWERS;

/*
 * A user as the API shows one, from the USER_COLS columns of stmt.c at
 * row of res (starting at column 0), with the permissions of the role: a
 * new object the caller owns.
 */
json_t *api_user_json(const PGresult *res, int row);

#endif
