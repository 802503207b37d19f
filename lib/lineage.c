/*
 * lineage.c: checking OpenLineage run events (see lineage.h).
 *
 * The checks follow OpenLineage's JSON Schema (spec/OpenLineage.json
 * 2-0-2, facets/SchemaDatasetFacet.json, facets/ColumnLineageDatasetFacet
 * .json 1-2-0) for the members Sluice reads, and bound every list. Facets
 * Sluice does not read are kept as sent, as long as they are objects.
 */
#include "config.h"

#include "lineage.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "err.h"
#include "uuid.h"

/* One check: where it reports, and how many problems it told. */
struct lcheck {
    sl_lineage_fail_fn fail;
    void *arg;
    int problems;
    /* columnLineage input fields seen so far, over all outputs */
    size_t column_inputs;
};

static void fail(struct lcheck *c, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
fail(struct lcheck *c, const char *field, const char *fmt, ...)
{
    char reason[256];
    va_list ap;

    if (c->problems++ >= SL_LINEAGE_MAX_PROBLEMS)
        return;
    va_start(ap, fmt);
    vsnprintf(reason, sizeof(reason), fmt, ap);
    va_end(ap);
    if (c->fail != NULL)
        c->fail(c->arg, field, reason);
}

/* The UTF-8 characters of s (jansson checked the encoding). */
static size_t
chars(const char *s)
{
    size_t n = 0;

    for (; *s; s++)
        if (((unsigned char)*s & 0xC0) != 0x80)
            n++;
    return n;
}

static const char *const event_types[] = {"START", "RUNNING", "COMPLETE",
                                          "ABORT", "FAIL",    "OTHER"};

bool
sl_lineage_event_type_valid(const char *s)
{
    for (size_t i = 0; i < sizeof(event_types) / sizeof(event_types[0]); i++)
        if (s != NULL && strcmp(s, event_types[i]) == 0)
            return true;
    return false;
}

static bool
digits(const char *s, int n)
{
    for (int i = 0; i < n; i++)
        if (!isdigit((unsigned char)s[i]))
            return false;
    return true;
}

static int
num(const char *s, int n)
{
    int v = 0;

    for (int i = 0; i < n; i++)
        v = v * 10 + (s[i] - '0');
    return v;
}

bool
sl_lineage_time_valid(const char *s)
{
    static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int mon, day;

    /* YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM|-HH:MM) */
    if (s == NULL || strlen(s) < 20 || !digits(s, 4) || s[4] != '-' ||
        !digits(s + 5, 2) || s[7] != '-' || !digits(s + 8, 2) ||
        (s[10] != 'T' && s[10] != 't' && s[10] != ' ') || !digits(s + 11, 2) ||
        s[13] != ':' || !digits(s + 14, 2) || s[16] != ':' ||
        !digits(s + 17, 2))
        return false;
    mon = num(s + 5, 2);
    day = num(s + 8, 2);
    if (num(s, 4) < 1 || mon < 1 || mon > 12 || day < 1 ||
        day > mdays[mon - 1] || num(s + 11, 2) > 23 || num(s + 14, 2) > 59 ||
        num(s + 17, 2) > 60)
        return false;
    s += 19;
    if (*s == '.') {
        int n = 0;

        for (s++; isdigit((unsigned char)*s); s++)
            n++;
        if (n < 1 || n > 9)
            return false;
    }
    if ((s[0] == 'Z' || s[0] == 'z') && s[1] == '\0')
        return true;
    return (s[0] == '+' || s[0] == '-') && digits(s + 1, 2) && s[3] == ':' &&
           digits(s + 4, 2) && s[6] == '\0' && num(s + 1, 2) <= 23 &&
           num(s + 4, 2) <= 59;
}

/* Moves obj's member from (seed 000's name) to to, unless to is set. */
static int
rename_member(json_t *obj, const char *from, const char *to)
{
    json_t *v = json_object_get(obj, from);

    if (v == NULL)
        return 0;
    if (json_object_get(obj, to) == NULL && json_object_set(obj, to, v) != 0)
        return SL_ENOMEM;
    return json_object_del(obj, from) == 0 ? 0 : SL_ENOMEM;
}

/*
 * The string member key of obj at path, at most max characters and, when
 * required, at least 1; NULL when absent (a problem when required) or bad
 * (a problem).
 */
static const char *
str_member(struct lcheck *c, json_t *obj, const char *path, const char *key,
           bool required, size_t max)
{
    char field[512];
    json_t *v = json_object_get(obj, key);
    size_t n;

    snprintf(field, sizeof(field), "%s%s%s", path, *path ? "." : "", key);
    if (v == NULL || json_is_null(v)) {
        if (required)
            fail(c, field, "is required");
        return NULL;
    }
    if (!json_is_string(v)) {
        fail(c, field, "must be a string");
        return NULL;
    }
    /* An optional member may be empty (OpenLineage's own examples send
     * "description": ""). */
    n = chars(json_string_value(v));
    if ((required && n < 1) || n > max) {
        fail(c, field, "must have %d to %zu characters", required ? 1 : 0, max);
        return NULL;
    }
    return json_string_value(v);
}

/* A URI: a scheme, then ':' and something. */
static bool
uri_valid(const char *s)
{
    const char *p = s;

    if (!isalpha((unsigned char)*p))
        return false;
    while (isalnum((unsigned char)*p) || *p == '+' || *p == '-' || *p == '.')
        p++;
    if (*p != ':' || p[1] == '\0')
        return false;
    for (; *p; p++)
        if ((unsigned char)*p <= ' ')
            return false;
    return true;
}

/* facets at path: absent, null, or an object of objects. */
static void
check_facets(struct lcheck *c, json_t *facets, const char *path)
{
    const char *key;
    json_t *v;
    char field[512];

    if (facets == NULL || json_is_null(facets))
        return;
    if (!json_is_object(facets)) {
        fail(c, path, "must be an object");
        return;
    }
    json_object_foreach(facets, key, v)
    {
        if (!json_is_object(v)) {
            snprintf(field, sizeof(field), "%s.%s", path, key);
            fail(c, field, "must be an object (a facet)");
        }
    }
}

/* The schema facet of a dataset: fields [{name, type?, description?}]. */
static void
check_schema_facet(struct lcheck *c, json_t *facet, const char *path)
{
    json_t *fields = json_object_get(facet, "fields"), *f;
    char field[512];
    size_t i;

    snprintf(field, sizeof(field), "%s.fields", path);
    if (fields == NULL) {
        fail(c, field, "is required");
        return;
    }
    if (!json_is_array(fields)) {
        fail(c, field, "must be an array");
        return;
    }
    if (json_array_size(fields) > SL_LINEAGE_MAX_FIELDS) {
        fail(c, field, "has more than %d fields", SL_LINEAGE_MAX_FIELDS);
        return;
    }
    json_array_foreach(fields, i, f)
    {
        snprintf(field, sizeof(field), "%s.fields[%zu]", path, i);
        if (!json_is_object(f)) {
            fail(c, field, "must be an object");
            continue;
        }
        str_member(c, f, field, "name", true, SL_LINEAGE_MAX_NAME);
        str_member(c, f, field, "type", false, SL_LINEAGE_MAX_NAME);
        str_member(c, f, field, "description", false, 4096);
    }
}

/* One input field's transformations: [{type, subtype?, description?,
 * masking?}]. */
static void
check_transformations(struct lcheck *c, json_t *ts, const char *path)
{
    json_t *t, *m;
    char field[832];
    size_t i;

    if (ts == NULL || json_is_null(ts))
        return;
    if (!json_is_array(ts)) {
        fail(c, path, "must be an array");
        return;
    }
    if (json_array_size(ts) > SL_LINEAGE_MAX_TRANSFORMS) {
        fail(c, path, "has more than %d transformations",
             SL_LINEAGE_MAX_TRANSFORMS);
        return;
    }
    json_array_foreach(ts, i, t)
    {
        const char *type;

        snprintf(field, sizeof(field), "%s[%zu]", path, i);
        if (!json_is_object(t)) {
            fail(c, field, "must be an object");
            continue;
        }
        type = str_member(c, t, field, "type", true, 64);
        if (type != NULL && strcmp(type, "DIRECT") != 0 &&
            strcmp(type, "INDIRECT") != 0) {
            char f2[900];

            snprintf(f2, sizeof(f2), "%s.type", field);
            fail(c, f2, "must be DIRECT or INDIRECT");
        }
        str_member(c, t, field, "subtype", false, 64);
        str_member(c, t, field, "description", false, 4096);
        if ((m = json_object_get(t, "masking")) != NULL && !json_is_null(m) &&
            !json_is_boolean(m)) {
            char f2[900];

            snprintf(f2, sizeof(f2), "%s.masking", field);
            fail(c, f2, "must be a boolean");
        }
    }
}

/* The columnLineage facet: fields {outField: {inputFields: [...],
 * transformationDescription?, transformationType?}}. */
static void
check_column_lineage(struct lcheck *c, json_t *facet, const char *path)
{
    json_t *fields = json_object_get(facet, "fields"), *f, *ins, *in;
    const char *out;
    char field[512], ifield[640], tfield[768];
    size_t i;

    snprintf(field, sizeof(field), "%s.fields", path);
    if (fields == NULL) {
        fail(c, field, "is required");
        return;
    }
    if (!json_is_object(fields)) {
        fail(c, field, "must be an object");
        return;
    }
    if (json_object_size(fields) > SL_LINEAGE_MAX_FIELDS) {
        fail(c, field, "has more than %d fields", SL_LINEAGE_MAX_FIELDS);
        return;
    }
    json_object_foreach(fields, out, f)
    {
        snprintf(field, sizeof(field), "%s.fields.%s", path, out);
        if (*out == '\0' || chars(out) > SL_LINEAGE_MAX_NAME) {
            fail(c, field, "a field's name must have 1 to %d characters",
                 SL_LINEAGE_MAX_NAME);
            continue;
        }
        if (!json_is_object(f)) {
            fail(c, field, "must be an object");
            continue;
        }
        str_member(c, f, field, "transformationDescription", false, 4096);
        str_member(c, f, field, "transformationType", false, 64);
        ins = json_object_get(f, "inputFields");
        snprintf(ifield, sizeof(ifield), "%s.inputFields", field);
        if (ins == NULL) {
            fail(c, ifield, "is required");
            continue;
        }
        if (!json_is_array(ins)) {
            fail(c, ifield, "must be an array");
            continue;
        }
        if (json_array_size(ins) > SL_LINEAGE_MAX_INPUT_FIELDS) {
            fail(c, ifield, "has more than %d input fields",
                 SL_LINEAGE_MAX_INPUT_FIELDS);
            continue;
        }
        if (c->column_inputs <= SL_LINEAGE_MAX_COLUMN_INPUTS &&
            (c->column_inputs += json_array_size(ins)) >
                SL_LINEAGE_MAX_COLUMN_INPUTS) {
            fail(c, ifield,
                 "makes the event's column lineage more than %d input "
                 "fields",
                 SL_LINEAGE_MAX_COLUMN_INPUTS);
            continue;
        }
        json_array_foreach(ins, i, in)
        {
            snprintf(ifield, sizeof(ifield), "%s.inputFields[%zu]", field, i);
            if (!json_is_object(in)) {
                fail(c, ifield, "must be an object");
                continue;
            }
            str_member(c, in, ifield, "namespace", true, SL_LINEAGE_MAX_NAME);
            str_member(c, in, ifield, "name", true, SL_LINEAGE_MAX_NAME);
            str_member(c, in, ifield, "field", true, SL_LINEAGE_MAX_NAME);
            snprintf(tfield, sizeof(tfield), "%s.transformations", ifield);
            check_transformations(c, json_object_get(in, "transformations"),
                                  tfield);
        }
    }
}

/* inputs or outputs (key): at most SL_LINEAGE_MAX_DATASETS datasets. */
static void
check_datasets(struct lcheck *c, json_t *event, const char *key)
{
    json_t *list = json_object_get(event, key), *d, *facets, *f;
    char path[64], field[128];
    size_t i;

    if (list == NULL || json_is_null(list))
        return;
    if (!json_is_array(list)) {
        fail(c, key, "must be an array");
        return;
    }
    if (json_array_size(list) > SL_LINEAGE_MAX_DATASETS) {
        fail(c, key, "has more than %d datasets", SL_LINEAGE_MAX_DATASETS);
        return;
    }
    json_array_foreach(list, i, d)
    {
        snprintf(path, sizeof(path), "%s[%zu]", key, i);
        if (!json_is_object(d)) {
            fail(c, path, "must be an object");
            continue;
        }
        str_member(c, d, path, "namespace", true, SL_LINEAGE_MAX_NAME);
        str_member(c, d, path, "name", true, SL_LINEAGE_MAX_NAME);
        snprintf(field, sizeof(field), "%s.facets", path);
        facets = json_object_get(d, "facets");
        check_facets(c, facets, field);
        if (!json_is_object(facets))
            continue;
        if ((f = json_object_get(facets, "schema")) != NULL &&
            json_is_object(f)) {
            snprintf(field, sizeof(field), "%s.facets.schema", path);
            check_schema_facet(c, f, field);
        }
        if ((f = json_object_get(facets, "columnLineage")) != NULL &&
            json_is_object(f)) {
            snprintf(field, sizeof(field), "%s.facets.columnLineage", path);
            check_column_lineage(c, f, field);
        }
        snprintf(field, sizeof(field), "%s.%s", path,
                 strcmp(key, "inputs") == 0 ? "inputFacets" : "outputFacets");
        check_facets(c,
                     json_object_get(d, strcmp(key, "inputs") == 0
                                            ? "inputFacets"
                                            : "outputFacets"),
                     field);
    }
}

/* Sets obj's string member key to def when it is absent or null. */
static int
default_str(json_t *obj, const char *key, const char *def)
{
    json_t *v = json_object_get(obj, key);

    if (v != NULL && !json_is_null(v))
        return 0;
    return json_object_set_new(obj, key, json_string(def)) == 0 ? 0 : SL_ENOMEM;
}

int
sl_lineage_check(json_t *event, sl_lineage_fail_fn failfn, void *arg)
{
    struct lcheck c = {.fail = failfn, .arg = arg};
    json_t *run, *job;
    const char *s;
    int rc;

    if (!json_is_object(event)) {
        fail(&c, "", "the event must be a JSON object");
        return SL_EINVAL;
    }
    /* Seed 000's names. */
    if ((rc = rename_member(event, "event_type", "eventType")) != 0 ||
        (rc = rename_member(event, "event_time", "eventTime")) != 0 ||
        (rc = rename_member(event, "schema_url", "schemaURL")) != 0)
        return rc;
    run = json_object_get(event, "run");
    if (json_is_object(run) &&
        (rc = rename_member(run, "run_id", "runId")) != 0)
        return rc;
    if ((rc = default_str(event, "eventType", "OTHER")) != 0 ||
        (rc = default_str(event, "producer", SL_LINEAGE_PRODUCER)) != 0 ||
        (rc = default_str(event, "schemaURL", SL_LINEAGE_SCHEMA_URL)) != 0)
        return rc;

    s = str_member(&c, event, "", "eventType", true, 16);
    if (s != NULL && !sl_lineage_event_type_valid(s))
        fail(&c, "eventType",
             "must be START, RUNNING, COMPLETE, ABORT, FAIL or OTHER");
    s = str_member(&c, event, "", "eventTime", true, 64);
    if (s != NULL && !sl_lineage_time_valid(s))
        fail(&c, "eventTime", "must be an RFC 3339 date-time with a time zone");
    s = str_member(&c, event, "", "producer", true, SL_LINEAGE_MAX_URI);
    if (s != NULL && !uri_valid(s))
        fail(&c, "producer", "must be a URI");
    s = str_member(&c, event, "", "schemaURL", true, SL_LINEAGE_MAX_URI);
    if (s != NULL && !uri_valid(s))
        fail(&c, "schemaURL", "must be a URI");

    if (run == NULL) {
        fail(&c, "run", "is required");
    } else if (!json_is_object(run)) {
        fail(&c, "run", "must be an object");
    } else {
        s = str_member(&c, run, "run", "runId", true, 36);
        if (s != NULL) {
            if (!sl_uuid_valid(s)) {
                fail(&c, "run.runId", "must be a UUID");
            } else {
                char low[37];

                for (int i = 0; i < 37; i++)
                    low[i] = (char)tolower((unsigned char)s[i]);
                if (json_object_set_new(run, "runId", json_string(low)) != 0)
                    return SL_ENOMEM;
            }
        }
        check_facets(&c, json_object_get(run, "facets"), "run.facets");
    }

    job = json_object_get(event, "job");
    if (job == NULL) {
        fail(&c, "job", "is required");
    } else if (!json_is_object(job)) {
        fail(&c, "job", "must be an object");
    } else {
        str_member(&c, job, "job", "namespace", true, SL_LINEAGE_MAX_NAME);
        str_member(&c, job, "job", "name", true, SL_LINEAGE_MAX_NAME);
        check_facets(&c, json_object_get(job, "facets"), "job.facets");
    }
    check_datasets(&c, event, "inputs");
    check_datasets(&c, event, "outputs");
    return c.problems == 0 ? 0 : SL_EINVAL;
}
