/*
 * check.h: checking what a client sent (check.c). A struct api_check
 * collects every problem of a body or a query, each with the field at
 * fault, and api_check_done() then answers 422 naming them all, so that a
 * client learns of every problem at once, not one per attempt. And the
 * shapes of the names the API takes (e-mail addresses, usernames, tenant
 * ids, passwords).
 */
#ifndef API_CHECK_H
#define API_CHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "request.h"

/* The problems found so far; init'ed on the stack, its JSON the pool's. */
struct api_check {
    struct api_req *r;
    json_t *errors; /* [{"field", "reason"}] */
};

enum {
    API_REQUIRED = 1, /* absent is an error */
};

/* At most this many problems are named in one answer. */
#define API_CHECK_MAX_ERRORS 100

/* Tags of pipelines, projects and connectors. */
#define API_MAX_TAGS    50
#define API_MAX_TAG_LEN 64

/* Starts c with no problem, for request r. */
void api_check_init(struct api_check *c, struct api_req *r);

/* Records a problem with field (both texts copied). */
void api_check_fail(struct api_check *c, const char *field, const char *fmt,
                    ...) __attribute__((format(printf, 3, 4)));

/*
 * The string member field of obj (borrowed from obj), between min and max
 * characters (UTF-8 code points), or NULL: absent (an error when
 * API_REQUIRED), not a string, or out of bounds (errors).
 */
const char *api_check_str(struct api_check *c, json_t *obj, const char *field,
                          int flags, size_t min, size_t max);

/*
 * Checks a cron expression and an IANA time zone, recording a problem
 * with cron_field or tz_field; *next gets the first run after now (UTC
 * seconds). Returns whether both are valid.
 */
bool api_check_cron(struct api_check *c, const char *cron_field,
                    const char *tz_field, const char *expr, const char *zone,
                    int64_t *next);

/*
 * The member "tags" of obj: an array of at most API_MAX_TAGS strings
 * (borrowed from obj), [] for null (the pool's), or NULL when absent or
 * invalid (then recorded).
 */
json_t *api_check_tags(struct api_check *c, json_t *obj);

/*
 * Checks one entry of a list for api_check_list(): v (borrowed) is the
 * entry at field ("name[i]"). Records any problem in c at field and
 * returns whether v is kept.
 */
typedef bool (*api_check_entry_fn)(struct api_check *c, const char *field,
                                   json_t *v);

/*
 * The member name of obj: an array of 1 to max entries ("must be an
 * array of 1 to <max> <noun>" otherwise), each passed to entry; those
 * kept are answered as JSON text (the pool's), without repeats when
 * unique. NULL when absent or null (recorded only when required) or
 * not an array of the right size (recorded); problems with entries are
 * recorded by entry and do not make it NULL.
 */
const char *api_check_list(struct api_check *c, json_t *obj, const char *name,
                           bool required, int max, const char *noun,
                           bool unique, api_check_entry_fn entry);

/*
 * The query parameter name as a time (RFC 3339 or a date), in the form
 * statements take (in the pool), or NULL when absent or bad (then
 * recorded in c).
 */
const char *api_query_time(struct api_req *r, struct api_check *c,
                           const char *name);

/*
 * When problems were recorded: sets the 422 VALIDATION_ERROR response
 * naming them and returns API_ANSWERED. Otherwise returns 0.
 */
int api_check_done(struct api_check *c) API_ANSWERS;

/* --- shapes of names ------------------------------------------------------
 */

/* True when s looks like an e-mail address. */
bool api_email_valid(const char *s);

/* True when s matches ^[a-z0-9_]{3,50}$ (seed 003's tenant id). */
bool api_tenant_id_valid(const char *s);

/* True when s matches ^[A-Za-z0-9_.-]{3,50}$ (a username). */
bool api_username_valid(const char *s);

/*
 * Records in c, at field, why password may not be a password (its length,
 * its mix of characters, the username in it); returns whether it may.
 */
bool api_password_check(struct api_check *c, const char *field,
                        const char *password, const char *username);

#endif
