/*
 * json.h: jansson helpers and the error body every Sluice error uses.
 *
 * Client JSON is parsed with a nesting limit and with duplicate keys
 * refused. The error body is DESIGN.md's:
 *
 *   {"error": {"code": "...", "message": "...", "details": {...},
 *              "timestamp": "2026-01-09T16:40:00Z", "request_id": "req_..."}}
 */
#ifndef SL_JSON_H
#define SL_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "pool.h"

/*
 * Parses len bytes of JSON text. Returns 0 and a new reference in *out
 * (owned by the caller), SL_ETOOBIG when arrays and objects nest deeper
 * than max_depth, or SL_EPARSE with jansson's account of the error (line,
 * column, text) in err. Duplicate object keys are an error.
 */
int sl_json_parse(const char *buf, size_t len, int max_depth, json_t **out,
                  char *err, size_t errsz);

/* True when no array or object in the text nests deeper than max_depth. */
bool sl_json_depth_ok(const char *buf, size_t len, int max_depth);

/* The string member key of obj, or NULL if absent or not a string. */
const char *sl_json_get_str(const json_t *obj, const char *key);

/* The boolean member key of obj, or def if absent or not a boolean. */
bool sl_json_get_bool(const json_t *obj, const char *key, bool def);

/* The integer member key of obj, or def if absent or not an integer. */
json_int_t sl_json_get_int(const json_t *obj, const char *key, json_int_t def);

/* A new JSON string of the RFC 3339 time, or JSON null when unix_sec < 0. */
json_t *sl_json_time(int64_t unix_sec);

/* A new JSON string, or JSON null when s is NULL. */
json_t *sl_json_str_or_null(const char *s);

/*
 * Builds the error body. details (taken; NULL for none) must be an object.
 * request_id may be NULL. Returns a new reference, or NULL out of memory.
 */
json_t *sl_json_error_body(const char *code, const char *message,
                           json_t *details, const char *request_id);

/*
 * Hands a reference to the pool: it is released when the pool is reset.
 * Returns j (NULL stays NULL).
 */
json_t *sl_json_pool_own(sl_pool *p, json_t *j);

#endif
