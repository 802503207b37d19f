/*
 * test_jschema.c: module config validation against JSON Schema.
 *
 * Each keyword passes and fails with its exact path and reason; problems
 * are all reported at once, in a documented order; schemas that are
 * malformed, too deep or (for sl_jschema_check) use unknown keywords are
 * refused; defaults fill what is absent and nothing else.
 *
 * JSON in these tests is written with ' for " to keep it readable; load()
 * swaps them back.
 */
#include <stdio.h>
#include <string.h>

#include "err.h"
#include "jschema.h"
#include "limits.h"
#include "unit.h"

/* Every "path: reason" line one call produced, and how many. */
struct collected {
    int calls;
    size_t len;
    char text[16384];
};

static void
collect(void *arg, const char *path, const char *reason)
{
    struct collected *e = arg;
    size_t room = sizeof(e->text) - e->len;
    int n = snprintf(e->text + e->len, room, "%s: %s\n", path, reason);

    e->calls++;
    if (n > 0 && (size_t)n < room)
        e->len += (size_t)n;
}

/* Parses text, with ' standing for ", or fails the test. */
static json_t *
load(const char *text)
{
    char buf[8192];
    json_error_t je;
    json_t *j;

    ck_assert_uint_lt(strlen(text), sizeof(buf));
    strcpy(buf, text);
    for (char *p = buf; *p != '\0'; p++)
        if (*p == '\'')
            *p = '"';
    j = json_loads(buf, JSON_DECODE_ANY | JSON_ALLOW_NUL, &je);
    ck_assert_msg(j != NULL, "test JSON %s: %s", buf, je.text);
    return j;
}

/*
 * Validates value against schema and returns the lines reported; the
 * return value must equal the number of calls.
 */
static const char *
errors_of(const char *schema_text, const char *value_text, struct collected *e)
{
    json_t *schema = load(schema_text), *value = load(value_text);
    int rc;

    memset(e, 0, sizeof(*e));
    rc = sl_jschema_validate(schema, value, collect, e);
    json_decref(schema);
    json_decref(value);
    ck_assert_int_eq(rc, e->calls);
    return e->text;
}

#define ck_assert_errors(schema, value, want)                                  \
    do {                                                                       \
        struct collected e_;                                                   \
        ck_assert_str_eq(errors_of(schema, value, &e_), want);                 \
    } while (0)

/* Runs sl_jschema_check() and returns its lines; *rc gets its result. */
static const char *
check_of(const char *schema_text, struct collected *e, int *rc)
{
    json_t *schema = load(schema_text);

    memset(e, 0, sizeof(*e));
    *rc = sl_jschema_check(schema, collect, e);
    json_decref(schema);
    return e->text;
}

START_TEST(type_each)
{
    ck_assert_errors("{'type': 'string'}", "'abc'", "");
    ck_assert_errors("{'type': 'string'}", "5", ": must be a string\n");
    ck_assert_errors("{'type': 'object'}", "{}", "");
    ck_assert_errors("{'type': 'object'}", "[]", ": must be an object\n");
    ck_assert_errors("{'type': 'array'}", "[]", "");
    ck_assert_errors("{'type': 'array'}", "{}", ": must be an array\n");
    ck_assert_errors("{'type': 'boolean'}", "false", "");
    ck_assert_errors("{'type': 'boolean'}", "0", ": must be a boolean\n");
    ck_assert_errors("{'type': 'null'}", "null", "");
    ck_assert_errors("{'type': 'null'}", "''", ": must be null\n");
    ck_assert_errors("{'type': 'number'}", "1", "");
    ck_assert_errors("{'type': 'number'}", "1.5", "");
    ck_assert_errors("{'type': 'number'}", "true", ": must be a number\n");
    ck_assert_errors("{'type': 'number'}", "'1'", ": must be a number\n");
    /* An integer is a JSON integer or a real with no fractional part. */
    ck_assert_errors("{'type': 'integer'}", "-3", "");
    ck_assert_errors("{'type': 'integer'}", "3.0", "");
    ck_assert_errors("{'type': 'integer'}", "1e300", "");
    ck_assert_errors("{'type': 'integer'}", "3.5", ": must be an integer\n");
    ck_assert_errors("{'type': 'integer'}", "'3'", ": must be an integer\n");
    ck_assert_errors("{'type': ['string', 'null']}", "null", "");
    ck_assert_errors("{'type': ['string', 'null']}", "1",
                     ": must be a string or null\n");
    ck_assert_errors("{'type': ['null', 'integer', 'string']}", "1.5",
                     ": must be a string, an integer or null\n");
}
END_TEST

START_TEST(wrong_type_is_one_error)
{
    /* The other keywords would only repeat what the type says. */
    ck_assert_errors("{'type': 'string', 'enum': ['a'], 'minLength': 3}", "7",
                     ": must be a string\n");
}
END_TEST

START_TEST(properties_and_required)
{
    const char *s = "{'type': 'object', 'required': ['name', 'mode'],"
                    " 'properties': {'name': {'type': 'string'},"
                    "                'mode': {'type': 'string'}}}";

    ck_assert_errors(s, "{'name': 'a', 'mode': 'b'}", "");
    ck_assert_errors(s, "{'mode': 'b'}", "name: is required\n");
    ck_assert_errors(s, "{'name': 1}",
                     "mode: is required\nname: must be a string\n");
    /* Members the schema does not name are allowed by default. */
    ck_assert_errors(s, "{'name': 'a', 'mode': 'b', 'x': 1}", "");
    /* A member that is present as null is present. */
    ck_assert_errors("{'required': ['a']}", "{'a': null}", "");
    /* required and properties concern objects only. */
    ck_assert_errors("{'required': ['a']}", "'text'", "");
}
END_TEST

START_TEST(additional_properties)
{
    const char *closed = "{'properties': {'a': {}},"
                         " 'additionalProperties': false}";

    ck_assert_errors(closed, "{'a': 1}", "");
    ck_assert_errors(closed, "{'b': 1, 'a': 1, 'c': 2}",
                     "b: is not allowed\nc: is not allowed\n");
    ck_assert_errors("{'properties': {'a': {}}, 'additionalProperties': true}",
                     "{'b': 1}", "");
    ck_assert_errors("{'properties': {'a': {}},"
                     " 'additionalProperties': {'type': 'integer'}}",
                     "{'a': 'x', 'b': 'y', 'c': 3}", "b: must be an integer\n");
}
END_TEST

START_TEST(enum_and_const)
{
    json_t *schema, *values, *value;
    struct collected e;
    char name[32];

    ck_assert_errors("{'enum': ['append', 'replace', 'upsert']}", "'upsert'",
                     "");
    ck_assert_errors("{'enum': ['append', 'replace', 'upsert']}", "'merge'",
                     ": must be one of: append, replace, upsert\n");
    /* Numbers compare by value, objects whatever their members' order. */
    ck_assert_errors("{'enum': [1, 2]}", "1.0", "");
    ck_assert_errors("{'enum': [1, 2]}", "3", ": must be one of: 1, 2\n");
    ck_assert_errors("{'enum': [{'a': 1, 'b': [true]}]}",
                     "{'b': [true], 'a': 1}", "");
    ck_assert_errors("{'enum': [null, true, 'x', 1.5, {'a': 1}]}", "'y'",
                     ": must be one of: null, true, x, 1.5, {\"a\":1}\n");
    ck_assert_errors("{'const': 'v1'}", "'v1'", "");
    ck_assert_errors("{'const': 'v1'}", "'v2'", ": must equal v1\n");
    ck_assert_errors("{'const': {'a': [1, 2]}}", "{'a': [1, 2.0]}", "");
    ck_assert_errors("{'const': 0.1}", "0.2", ": must equal 0.1\n");

    /* A long list is cut, at a bounded length, with "...". */
    schema = json_object();
    values = json_array();
    for (int i = 0; i < 100; i++) {
        snprintf(name, sizeof(name), "value_%02d", i);
        json_array_append_new(values, json_string(name));
    }
    json_object_set_new(schema, "enum", values);
    value = json_string("none");
    memset(&e, 0, sizeof(e));
    ck_assert_int_eq(sl_jschema_validate(schema, value, collect, &e), 1);
    ck_assert_uint_lt(strlen(e.text), 260);
    ck_assert_int_eq(
        strncmp(e.text, ": must be one of: value_00, value_01, ", 38), 0);
    ck_assert_str_eq(e.text + strlen(e.text) - 4, "...\n");
    json_decref(value);
    json_decref(schema);
}
END_TEST

START_TEST(numeric_bounds)
{
    ck_assert_errors("{'minimum': 1}", "1", "");
    ck_assert_errors("{'minimum': 1}", "0", ": must be at least 1\n");
    ck_assert_errors("{'minimum': 1}", "0.5", ": must be at least 1\n");
    ck_assert_errors("{'maximum': 10}", "10", "");
    ck_assert_errors("{'maximum': 10}", "10.25", ": must be at most 10\n");
    ck_assert_errors("{'exclusiveMinimum': 0}", "0.5", "");
    ck_assert_errors("{'exclusiveMinimum': 0}", "0",
                     ": must be greater than 0\n");
    ck_assert_errors("{'exclusiveMaximum': 1.5}", "1", "");
    ck_assert_errors("{'exclusiveMaximum': 1.5}", "1.5",
                     ": must be less than 1.5\n");
    ck_assert_errors("{'minimum': 1, 'exclusiveMaximum': 3}", "4",
                     ": must be less than 3\n");
    ck_assert_errors("{'minimum': 5, 'exclusiveMaximum': 3}", "3",
                     ": must be at least 5\n: must be less than 3\n");
    /* Integers compare exactly, beyond what a double holds. */
    ck_assert_errors("{'maximum': 9007199254740992}", "9007199254740993",
                     ": must be at most 9007199254740992\n");
    /* Bounds concern numbers only. */
    ck_assert_errors("{'minimum': 1}", "'abc'", "");
}
END_TEST

START_TEST(string_length_and_pattern)
{
    const char *len = "{'minLength': 2, 'maxLength': 5}";
    const char *ident = "{'pattern': '^[a-z_][a-z0-9_]*$'}";

    /* Lengths count code points: "héllo" is 6 bytes, 5 characters. */
    ck_assert_errors(len, "'h\\u00e9llo'", "");
    ck_assert_errors(len, "'h\\u00e9llo!'",
                     ": must have at most 5 characters\n");
    ck_assert_errors(len, "'a'", ": must have at least 2 characters\n");
    ck_assert_errors("{'minLength': 1}", "''",
                     ": must have at least 1 character\n");
    ck_assert_errors(ident, "'order_id'", "");
    ck_assert_errors(ident, "'Order id'",
                     ": must match the pattern ^[a-z_][a-z0-9_]*$\n");
    /* Not anchored unless the pattern says so, as in JSON Schema. */
    ck_assert_errors("{'pattern': 'b'}", "'abc'", "");
    /* POSIX extended syntax: alternation, groups, classes. */
    ck_assert_errors("{'pattern': '^(ab|cd)+[[:digit:]]{2}$'}", "'abcd42'", "");
    ck_assert_errors("{'pattern': '^(ab|cd)+[[:digit:]]{2}$'}", "'abce42'",
                     ": must match the pattern ^(ab|cd)+[[:digit:]]{2}$\n");
    /* A string holding a NUL never matches. */
    ck_assert_errors("{'pattern': '^a'}", "'a\\u0000b'",
                     ": must match the pattern ^a\n");
}
END_TEST

START_TEST(arrays)
{
    const char *s = "{'type': 'array', 'items': {'type': 'string'},"
                    " 'minItems': 1, 'maxItems': 2}";

    ck_assert_errors(s, "['a', 'b']", "");
    ck_assert_errors(s, "[]", ": must have at least 1 item\n");
    ck_assert_errors(s, "['a', 'b', 'c']", ": must have at most 2 items\n");
    ck_assert_errors(s, "[1, 'b', 3]",
                     ": must have at most 2 items\n[0]: must be a string\n"
                     "[2]: must be a string\n");
    ck_assert_errors("{'maxItems': 100}", "[1, 2]", "");
    ck_assert_errors("{'maxItems': 2.0}", "[1, 2, 3]",
                     ": must have at most 2 items\n");
}
END_TEST

START_TEST(unique_items)
{
    const char *s = "{'uniqueItems': true}";

    ck_assert_errors(s, "[1, '1', true, null, [1], [1.5], {'a': 1}, {}]", "");
    ck_assert_errors(s,
                     "[1, 2, 1, 1.0, {'a': 1, 'b': [2]}, {'b': [2], 'a': 1}]",
                     "[2]: is a duplicate of item 0\n"
                     "[3]: is a duplicate of item 0\n"
                     "[5]: is a duplicate of item 4\n");
    ck_assert_errors(s, "[0.0, -0.0]", "[1]: is a duplicate of item 0\n");
    ck_assert_errors("{'uniqueItems': false}", "[1, 1]", "");
}
END_TEST

START_TEST(member_counts)
{
    ck_assert_errors("{'minProperties': 1}", "{'a': 1}", "");
    ck_assert_errors("{'minProperties': 1}", "{}",
                     ": must have at least 1 member\n");
    ck_assert_errors("{'maxProperties': 1}", "{'a': 1, 'b': 2}",
                     ": must have at most 1 member\n");
    ck_assert_errors("{'minProperties': 3}", "{'a': 1, 'b': 2}",
                     ": must have at least 3 members\n");
}
END_TEST

START_TEST(one_of_and_any_of)
{
    const char *any = "{'properties': {'cols': {'anyOf': ["
                      " {'type': 'string'},"
                      " {'type': 'array', 'items': {'type': 'string'}}]}}}";
    const char *one = "{'oneOf': [{'type': 'integer'}, {'type': 'number'}]}";

    ck_assert_errors(any, "{'cols': 'a'}", "");
    ck_assert_errors(any, "{'cols': ['a', 'b']}", "");
    /* Of no branch's type: the types are named. */
    ck_assert_errors(any, "{'cols': 5}",
                     "cols: must be an array or a string\n");
    /* Of a branch's type but invalid: one error, not the branch's. */
    ck_assert_errors(any, "{'cols': ['a', 5]}",
                     "cols: must match one of the allowed forms\n");
    ck_assert_errors(one, "1.5", "");
    ck_assert_errors(one, "1",
                     ": matches more than one of the allowed forms\n");
    ck_assert_errors(one, "'x'", ": must be an integer or a number\n");
    ck_assert_errors("{'oneOf': [{'minimum': 5}, {'maximum': 0}]}", "3",
                     ": must match one of the allowed forms\n");
    ck_assert_errors("{'oneOf': [{'minimum': 5}, {'maximum': 0}]}", "7", "");
    /* Branches nest. */
    ck_assert_errors("{'anyOf': [{'anyOf': [{'const': 1}, {'const': 2}]},"
                     "           {'const': 3}]}",
                     "2", "");
    ck_assert_errors("{'anyOf': [{'anyOf': [{'const': 1}, {'const': 2}]},"
                     "           {'const': 3}]}",
                     "4", ": must match one of the allowed forms\n");
}
END_TEST

START_TEST(boolean_schemas)
{
    ck_assert_errors("true", "{'anything': [1]}", "");
    ck_assert_errors("false", "1", ": is not allowed\n");
    ck_assert_errors("{'items': false}", "[]", "");
    ck_assert_errors("{'items': false}", "[1]", "[0]: is not allowed\n");
    ck_assert_errors("{'properties': {'old': false}}", "{'old': 1}",
                     "old: is not allowed\n");
}
END_TEST

/* A writer module's schema, as the built-in modules will have them. */
static const char writer_schema[] =
    "{'type': 'object', 'additionalProperties': false,"
    " 'required': ['table', 'mode', 'columns'],"
    " 'properties': {"
    "  'table': {'type': 'string', 'pattern': '^[a-z_][a-z0-9_]*$',"
    "            'title': 'Table', 'description': 'Where rows go'},"
    "  'mode': {'enum': ['append', 'replace', 'upsert'], 'default': 'append'},"
    "  'batch_size': {'type': 'integer', 'minimum': 1, 'maximum': 100000},"
    "  'password': {'type': 'string', 'sensitive': true},"
    "  'columns': {'type': 'array', 'minItems': 1, 'maxItems': 100,"
    "   'items': {'type': 'object', 'required': ['name', 'type'],"
    "    'additionalProperties': false,"
    "    'properties': {"
    "     'name': {'type': 'string', 'minLength': 1},"
    "     'type': {'enum': ['text', 'integer', 'numeric', 'boolean',"
    "                       'timestamp']},"
    "     'nullable': {'type': 'boolean', 'default': true}}}},"
    "  'options': {'type': 'object', 'default': {},"
    "   'properties': {'delimiter': {'type': 'string', 'maxLength': 1,"
    "                                'default': ','},"
    "                  'header': {'type': 'boolean', 'default': true}}}}}";

START_TEST(every_problem_at_once)
{
    ck_assert_errors(writer_schema,
                     "{'table': 'orders', 'mode': 'upsert',"
                     " 'columns': [{'name': 'id', 'type': 'integer'}]}",
                     "");
    ck_assert_errors(
        writer_schema,
        "{'table': 'Orders', 'mode': 'merge', 'batch_size': 0,"
        " 'columns': [{'name': 'id', 'type': 'integer'},"
        "             {'name': '', 'type': 'text', 'nullable': 'yes'},"
        "             {'type': 'money'}],"
        " 'options': {'delimiter': ';;'}, 'colour': 'red'}",
        "table: must match the pattern ^[a-z_][a-z0-9_]*$\n"
        "mode: must be one of: append, replace, upsert\n"
        "batch_size: must be at least 1\n"
        "columns[1].name: must have at least 1 character\n"
        "columns[1].nullable: must be a boolean\n"
        "columns[2].name: is required\n"
        "columns[2].type: must be one of: text, integer, numeric, boolean, "
        "timestamp\n"
        "options.delimiter: must have at most 1 character\n"
        "colour: is not allowed\n");
    ck_assert_errors(writer_schema, "{'columns': []}",
                     "table: is required\nmode: is required\n"
                     "columns: must have at least 1 item\n");
    ck_assert_errors(writer_schema, "[]", ": must be an object\n");
}
END_TEST

START_TEST(odd_member_names)
{
    json_t *schema = load("{'properties': {'m': {'properties': {'x y': {"
                          "'additionalProperties': false}}}}}");
    json_t *value = load("{'m': {'x y': {'a.b': 1, '': 2, 'na\\u00efve': 3,"
                         " 'line\\nbreak': 4, 'ok_name-2': 5}}}");
    struct collected e;

    json_object_set_new(json_object_get(json_object_get(value, "m"), "x y"),
                        "say \"hi\"\\", json_integer(6));
    memset(&e, 0, sizeof(e));
    ck_assert_int_eq(sl_jschema_validate(schema, value, collect, &e), 6);
    ck_assert_str_eq(e.text,
                     "m[\"x y\"][\"a.b\"]: is not allowed\n"
                     "m[\"x y\"][\"\"]: is not allowed\n"
                     "m[\"x y\"][\"na\xc3\xafve\"]: is not allowed\n"
                     "m[\"x y\"][\"line\\u000abreak\"]: is not allowed\n"
                     "m[\"x y\"].ok_name-2: is not allowed\n"
                     "m[\"x y\"][\"say \\\"hi\\\"\\\\\"]: is not "
                     "allowed\n");
    json_decref(value);
    json_decref(schema);
}
END_TEST

/* Records the last path it is given. */
static void
keep_path(void *arg, const char *path, const char *reason)
{
    snprintf(arg, SL_MAX_SCHEMA_PATH + 8, "%s", path);
}

START_TEST(long_paths_are_cut_whole)
{
    json_t *schema = load("{'additionalProperties': {'additionalProperties':"
                          " {'type': 'string'}}}");
    json_t *value = json_object(), *inner = json_object(), *s;
    char key[701], path[SL_MAX_SCHEMA_PATH + 8];
    size_t len;

    /* A name of 350 two-byte characters, then one of 700 bytes. */
    for (int i = 0; i < 700; i += 2)
        memcpy(key + i, "\xc3\xa9", 2);
    key[700] = '\0';
    json_object_set_new(inner, "x", json_integer(1));
    json_object_set_new(value, key, inner);
    ck_assert_int_eq(sl_jschema_validate(schema, value, keep_path, path), 1);
    len = strlen(path);
    ck_assert_uint_lt(len, SL_MAX_SCHEMA_PATH);
    ck_assert_str_eq(path + len - 3, "...");
    ck_assert_int_eq(strncmp(path, "[\"\xc3\xa9", 4), 0);
    /* The cut falls between characters: the path is valid UTF-8. */
    s = json_string(path);
    ck_assert_ptr_nonnull(s);
    json_decref(s);
    json_decref(value);
    json_decref(schema);
}
END_TEST

/* A schema of n nested `items`, the innermost asking for integers. */
static json_t *
nested_items(int n)
{
    json_t *schema = json_pack("{s:s}", "type", "integer");

    for (int i = 0; i < n; i++)
        schema = json_pack("{s:o}", "items", schema);
    return schema;
}

/* An array nesting n levels deep around one string. */
static json_t *
nested_array(int n)
{
    json_t *v = json_string("deep");

    for (int i = 0; i < n; i++)
        v = json_pack("[o]", v);
    return v;
}

START_TEST(depth_bound)
{
    json_t *ok = nested_items(SL_MAX_SCHEMA_DEPTH);
    json_t *deep = nested_items(SL_MAX_SCHEMA_DEPTH + 1);
    json_t *value = nested_array(SL_MAX_SCHEMA_DEPTH);
    struct collected e;
    char want[512] = "";

    memset(&e, 0, sizeof(e));
    ck_assert_int_eq(sl_jschema_validate(ok, value, collect, &e), 1);
    for (int i = 0; i < SL_MAX_SCHEMA_DEPTH; i++)
        strcat(want, "[0]");
    strcat(want, ": must be an integer\n");
    ck_assert_str_eq(e.text, want);

    memset(&e, 0, sizeof(e));
    ck_assert_int_eq(sl_jschema_validate(deep, value, collect, &e), SL_EINVAL);
    ck_assert_int_eq(e.calls, 0);
    ck_assert_int_eq(sl_jschema_check(ok, NULL, NULL), SL_OK);
    ck_assert_int_eq(sl_jschema_check(deep, collect, &e), SL_EINVAL);
    want[0] = '\0';
    for (int i = 0; i <= SL_MAX_SCHEMA_DEPTH; i++)
        strcat(want, i == 0 ? "items" : ".items");
    strcat(want, ": nests deeper than 32 levels\n");
    ck_assert_str_eq(e.text, want);
    json_decref(value);
    json_decref(deep);
    json_decref(ok);
}
END_TEST

START_TEST(error_cap)
{
    json_t *schema = load("{'items': {'type': 'string'}}");
    json_t *many = json_array(), *exact = json_array();
    struct collected e;
    const char *last;

    for (int i = 0; i < 150; i++)
        json_array_append_new(many, json_integer(i));
    for (int i = 0; i < SL_MAX_SCHEMA_ERRORS; i++)
        json_array_append_new(exact, json_integer(i));

    memset(&e, 0, sizeof(e));
    ck_assert_int_eq(sl_jschema_validate(schema, many, collect, &e),
                     SL_MAX_SCHEMA_ERRORS + 1);
    ck_assert_int_eq(e.calls, SL_MAX_SCHEMA_ERRORS + 1);
    ck_assert_ptr_nonnull(strstr(e.text, "\n[99]: must be a string\n"
                                         ": too many errors\n"));
    last = e.text + e.len - strlen(": too many errors\n");
    ck_assert_str_eq(last, ": too many errors\n");
    ck_assert_ptr_null(strstr(e.text, "[100]"));

    /* Exactly the cap: no "too many". */
    memset(&e, 0, sizeof(e));
    ck_assert_int_eq(sl_jschema_validate(schema, exact, collect, &e),
                     SL_MAX_SCHEMA_ERRORS);
    ck_assert_ptr_null(strstr(e.text, "too many"));

    /* Without a callback the errors are only counted. */
    ck_assert_int_eq(sl_jschema_validate(schema, many, NULL, NULL),
                     SL_MAX_SCHEMA_ERRORS + 1);
    json_decref(exact);
    json_decref(many);
    json_decref(schema);
}
END_TEST

START_TEST(defaults_fill_absent_members)
{
    json_t *schema = load(writer_schema);
    json_t *value = load("{'table': 't', 'columns': [{'name': 'a', 'type':"
                         " 'text'}, {'name': 'b', 'type': 'text',"
                         " 'nullable': false}]}");
    json_t *want = load("{'table': 't', 'mode': 'append',"
                        " 'columns': [{'name': 'a', 'type': 'text',"
                        "              'nullable': true},"
                        "             {'name': 'b', 'type': 'text',"
                        "              'nullable': false}],"
                        " 'options': {'delimiter': ',', 'header': true}}");
    const json_t *def;

    /* Before the defaults, the required mode is missing. */
    ck_assert_int_eq(sl_jschema_validate(schema, value, NULL, NULL), 1);
    ck_assert_int_eq(sl_jschema_apply_defaults(schema, value), SL_OK);
    ck_assert_msg(json_equal(value, want), "got %s",
                  json_dumps(value, JSON_COMPACT));
    /* The default was copied, not shared with the schema. */
    def = json_object_get(
        json_object_get(json_object_get(schema, "properties"), "options"),
        "default");
    ck_assert_ptr_ne(json_object_get(value, "options"), def);
    ck_assert_int_eq(json_object_size(def), 0);
    ck_assert_int_eq(sl_jschema_validate(schema, value, NULL, NULL), 0);
    json_decref(want);
    json_decref(value);
    json_decref(schema);
}
END_TEST

START_TEST(defaults_never_overwrite)
{
    json_t *schema = load(writer_schema);
    json_t *value = load("{'mode': 'upsert', 'options': {'delimiter': ';',"
                         " 'header': null}}");
    json_t *want = load("{'mode': 'upsert', 'options': {'delimiter': ';',"
                        " 'header': null}}");

    ck_assert_int_eq(sl_jschema_apply_defaults(schema, value), SL_OK);
    ck_assert(json_equal(value, want));
    json_decref(want);
    json_decref(value);

    /* A value that is not an object is left as it is. */
    value = load("'text'");
    ck_assert_int_eq(sl_jschema_apply_defaults(schema, value), SL_OK);
    ck_assert_str_eq(json_string_value(value), "text");
    json_decref(value);

    /* A malformed schema is refused before anything is filled. */
    json_decref(schema);
    schema = load("{'properties': {'a': {'default': 1}, 'b': 7}}");
    value = json_object();
    ck_assert_int_eq(sl_jschema_apply_defaults(schema, value), SL_EINVAL);
    ck_assert_int_eq(json_object_size(value), 0);
    ck_assert_int_eq(sl_jschema_apply_defaults(schema, NULL), SL_EINVAL);
    ck_assert_int_eq(sl_jschema_apply_defaults(NULL, value), SL_EINVAL);
    json_decref(value);
    json_decref(schema);
}
END_TEST

/* Malformed schemas and what sl_jschema_check() says of each. */
static const struct {
    const char *schema;
    const char *problems;
} malformed[] = {
    {"5", ": must be a schema: an object or a boolean\n"},
    {"{'type': 'str'}", "type: must name a type: object, array, string, "
                        "integer, number, boolean or null\n"},
    {"{'type': []}", "type: must be a type name or a non-empty array of "
                     "them\n"},
    {"{'type': ['string', 'string']}", "type[1]: is listed twice\n"},
    {"{'required': 'name'}", "required: must be an array of strings\n"},
    {"{'required': ['a', 1]}", "required[1]: must be a string\n"},
    {"{'properties': {'a': 5}}",
     "properties.a: must be a schema: an object or a boolean\n"},
    {"{'properties': []}", "properties: must be an object of schemas\n"},
    {"{'items': [{}]}",
     "items: must be one schema: the array form is not supported\n"},
    {"{'additionalProperties': 'no'}",
     "additionalProperties: must be a schema: an object or a boolean\n"},
    {"{'enum': []}", "enum: must be a non-empty array\n"},
    {"{'minimum': '1'}", "minimum: must be a number\n"},
    {"{'exclusiveMinimum': true}", "exclusiveMinimum: must be a number\n"},
    {"{'minLength': -1}", "minLength: must be a non-negative integer\n"},
    {"{'maxItems': 1.5}", "maxItems: must be a non-negative integer\n"},
    {"{'uniqueItems': 'yes'}", "uniqueItems: must be a boolean\n"},
    {"{'pattern': 5}", "pattern: must be a string\n"},
    {"{'oneOf': []}", "oneOf: must be a non-empty array of schemas\n"},
    {"{'anyOf': [{'type': 'x'}]}",
     "anyOf[0].type: must name a type: object, array, string, integer, "
     "number, boolean or null\n"},
    {"{'type': 'str', 'minimum': 'x', 'properties': {'a': {'maxItems': -2}}}",
     "type: must name a type: object, array, string, integer, number, "
     "boolean or null\n"
     "minimum: must be a number\n"
     "properties.a.maxItems: must be a non-negative integer\n"},
};

START_TEST(malformed_schema_refused)
{
    json_t *schema = load(malformed[_i].schema), *value = load("{}");
    struct collected e;
    int rc;

    memset(&e, 0, sizeof(e));
    ck_assert_int_eq(sl_jschema_validate(schema, value, collect, &e),
                     SL_EINVAL);
    ck_assert_int_eq(e.calls, 0);
    json_decref(value);
    json_decref(schema);
    ck_assert_str_eq(check_of(malformed[_i].schema, &e, &rc),
                     malformed[_i].problems);
    ck_assert_int_eq(rc, SL_EINVAL);
}
END_TEST

START_TEST(bad_pattern_refused)
{
    struct collected e;
    const char *want = "pattern: is not a POSIX extended regular expression: ";
    int rc;

    check_of("{'pattern': '(['}", &e, &rc);
    ck_assert_int_eq(rc, SL_EINVAL);
    ck_assert_int_eq(e.calls, 1);
    ck_assert_int_eq(strncmp(e.text, want, strlen(want)), 0);
    ck_assert_int_eq(sl_jschema_validate(NULL, json_null(), NULL, NULL),
                     SL_EINVAL);
    ck_assert_int_eq(sl_jschema_validate(json_true(), NULL, NULL, NULL),
                     SL_EINVAL);
    ck_assert_int_eq(sl_jschema_check(NULL, NULL, NULL), SL_EINVAL);
}
END_TEST

START_TEST(check_refuses_unknown_keywords)
{
    const char *typo = "{'type': 'object', 'requried': ['a'],"
                       " 'properties': {'a': {'type': 'string',"
                       "                      'maxlength': 3}}}";
    struct collected e;
    int rc;

    /* Validation ignores what it does not know... */
    ck_assert_errors(typo, "{'a': 'long'}", "");
    /* ...and the check says where each is. */
    ck_assert_str_eq(check_of(typo, &e, &rc),
                     "requried: is not a supported keyword\n"
                     "properties.a.maxlength: is not a supported keyword\n");
    ck_assert_int_eq(rc, SL_EINVAL);
    /* Annotations and default are supported. */
    ck_assert_str_eq(check_of(writer_schema, &e, &rc), "");
    ck_assert_int_eq(rc, SL_OK);
    ck_assert_str_eq(
        check_of("{'$schema': 'http://json-schema.org/draft-07/schema#',"
                 " '$id': 'x', '$comment': 'c', 'format': 'uri',"
                 " 'language': 'sql', 'examples': [1], 'title': 't',"
                 " 'description': 'd', 'sensitive': true, 'default': 3}",
                 &e, &rc),
        "");
    ck_assert_int_eq(rc, SL_OK);
}
END_TEST

static Suite *
jschema_suite(void)
{
    Suite *s = suite_create("jschema");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, type_each);
    tcase_add_test(tc, wrong_type_is_one_error);
    tcase_add_test(tc, properties_and_required);
    tcase_add_test(tc, additional_properties);
    tcase_add_test(tc, enum_and_const);
    tcase_add_test(tc, numeric_bounds);
    tcase_add_test(tc, string_length_and_pattern);
    tcase_add_test(tc, arrays);
    tcase_add_test(tc, unique_items);
    tcase_add_test(tc, member_counts);
    tcase_add_test(tc, one_of_and_any_of);
    tcase_add_test(tc, boolean_schemas);
    tcase_add_test(tc, every_problem_at_once);
    tcase_add_test(tc, odd_member_names);
    tcase_add_test(tc, long_paths_are_cut_whole);
    tcase_add_test(tc, depth_bound);
    tcase_add_test(tc, error_cap);
    tcase_add_test(tc, defaults_fill_absent_members);
    tcase_add_test(tc, defaults_never_overwrite);
    tcase_add_loop_test(tc, malformed_schema_refused, 0,
                        sizeof(malformed) / sizeof(malformed[0]));
    tcase_add_test(tc, bad_pattern_refused);
    tcase_add_test(tc, check_refuses_unknown_keywords);
    suite_add_tcase(s, tc);
    return s;
}

SL_TEST_MAIN(jschema_suite)
