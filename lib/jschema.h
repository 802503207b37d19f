/*
 * jschema.h: a validator for the subset of JSON Schema (draft 7) that the
 * pipeline modules' schemas use.
 *
 * A module describes its node's `config` object with a schema; the API and
 * the runner validate every node's config against it before a pipeline is
 * saved or run, and report every problem at once, each with the path of the
 * offending member and a reason a person can act on.
 *
 * Keywords that are checked:
 *
 *   type          a name or an array of names: object, array, string,
 *                 integer, number, boolean, null. "integer" accepts a JSON
 *                 integer and a real with no fractional part.
 *   properties, required, additionalProperties (a boolean or a schema),
 *   minProperties, maxProperties,
 *   enum, const   values compare as JSON values: 1 equals 1.0, and object
 *                 members compare whatever their order.
 *   minimum, maximum, exclusiveMinimum, exclusiveMaximum (numbers, the
 *                 draft 7 form: exclusiveMinimum is a bound, not a flag),
 *   minLength, maxLength  in Unicode code points, not bytes,
 *   pattern       a POSIX extended regular expression (regcomp with
 *                 REG_EXTENDED), NOT an ECMA 262 one: no \d, \w, lookahead
 *                 or lazy quantifiers; use [0-9], [[:alnum:]_] and the like.
 *                 As in JSON Schema it is not anchored: write ^ and $. A
 *                 string holding a NUL character never matches.
 *   items (one schema for every item; the array form is refused),
 *   minItems, maxItems, uniqueItems,
 *   oneOf, anyOf  a value that matches no branch (or, for oneOf, more than
 *                 one) gets one error of its own, not its branches' errors.
 *
 * A schema may also be true (anything) or false (nothing). `default` is
 * used by sl_jschema_apply_defaults() only. The annotations title,
 * description, format, examples, sensitive, language, $schema, $id and
 * $comment are accepted and ignored. Any other keyword is ignored by
 * validation and refused by sl_jschema_check().
 *
 * Paths. An error names the offending member relative to the value that
 * was validated: member names are joined with dots and array items are
 * written with their index in brackets, so `columns[2].name` is the member
 * "name" of the third item of the member "columns". A member name that is
 * not made only of ASCII letters, digits, '_' and '-' is written in
 * brackets as a JSON string: `mapping["first name"]`. The value itself is
 * the empty path "". A caller naming the value "config" writes "config",
 * then a '.' unless the path is empty or starts with '[', then the path.
 * A path that would not fit in SL_MAX_SCHEMA_PATH bytes (NUL included) is
 * cut between two characters and ends in "...", so it is always UTF-8.
 *
 * Reasons are short English phrases that follow the path: "is required",
 * "must be a string", "must be one of: append, replace, upsert", "must be
 * at least 1", "must have at most 100 items", "is not allowed".
 *
 * Bounds (limits.h): a schema may nest at most SL_MAX_SCHEMA_DEPTH levels
 * of sub-schemas; one validation reports at most SL_MAX_SCHEMA_ERRORS
 * problems, then one last error with the path "" and the reason "too many
 * errors", and stops.
 *
 * Every function borrows its arguments: schemas and values stay the
 * caller's. Nothing here keeps state between calls; the functions are
 * safe to call from several threads on values no thread modifies.
 */
#ifndef SL_JSCHEMA_H
#define SL_JSCHEMA_H

#include <jansson.h>

/*
 * Receives one problem. path and reason are borrowed for the duration of
 * the call only: copy them to keep them. arg is the caller's.
 */
typedef void (*sl_jschema_error_fn)(void *arg, const char *path,
                                    const char *reason);

/*
 * Validates value against schema, calling fn (which may be NULL to only
 * count) once for each problem, in this order for each object: its member
 * count, its missing required members (in the order of `required`), then
 * its members in the order they appear in value; for each array: its item
 * count, duplicates, then its items in order.
 *
 * Returns the number of calls made to fn: 0 when value is valid, at most
 * SL_MAX_SCHEMA_ERRORS + 1 (the last being "too many errors"). Returns
 * SL_EINVAL, before any call to fn, when schema or value is NULL or schema
 * is malformed (a supported keyword of the wrong form, a pattern that does
 * not compile, nesting deeper than SL_MAX_SCHEMA_DEPTH), and SL_ENOMEM when
 * memory runs out, possibly after some calls to fn.
 */
int sl_jschema_validate(const json_t *schema, const json_t *value,
                        sl_jschema_error_fn fn, void *arg);

/*
 * Fills in value the members its objects lack with deep copies of the
 * `default` of their schema in `properties`, then does the same inside
 * each member (present or just filled) whose schema has properties, and
 * inside each item of an array whose schema has `items`. A member that is
 * present, even as null, is never replaced. Branches of oneOf and anyOf are
 * not looked into, since which applies is not known before validation.
 *
 * Call it before sl_jschema_validate(), so that defaults satisfy
 * `required`. value is modified in place and stays the caller's.
 *
 * Returns 0; SL_EINVAL when schema or value is NULL or schema is malformed
 * (value is then untouched); SL_ENOMEM when memory runs out (value may then
 * hold some of the defaults).
 */
int sl_jschema_apply_defaults(const json_t *schema, json_t *value);

/*
 * Checks that schema is well formed and uses only the keywords above,
 * calling fn (which may be NULL) for each problem, with the path of the
 * keyword inside the schema (`properties.mode.enum`) and a reason ("is not
 * a supported keyword", "must be a non-empty array"). Meant for a unit
 * test over every built-in module schema, so that a typo such as
 * "requried", silently ignored by validation, fails the build.
 *
 * Returns 0, SL_EINVAL when schema is NULL or has any problem, or
 * SL_ENOMEM.
 */
int sl_jschema_check(const json_t *schema, sl_jschema_error_fn fn, void *arg);

#endif
