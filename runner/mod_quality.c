/*
 * mod_quality.c: the quality gate. Rows pass through unchanged while each
 * rule counts how many of them hold; at the end every rule has a score
 * (the share of rows, of non-NULL values for value rules, that hold) and
 * passes when the score reaches its threshold (default 1). When a rule
 * fails and fail_run is true (the default), the run fails with
 * QUALITY_CHECK_FAILED, so the loaders downstream roll back, and the
 * scores are in result_data either way:
 *
 *   {"quality": {"passed": false, "score": 0.75, "rules": [{"type":
 *    "not_null", "column": "email", "score": 0.5, "threshold": 1,
 *    "passed": false, "checked": 4, "failed": 2}]}}
 *
 * Rules: not_null, unique (keyed hashes, hashset.h), regex (POSIX
 * extended, without back-references, whose matching time is bounded),
 * range (min and/or max, numbers), accepted_values, row_count (min and/or
 * max rows).
 */
#include "config.h"

#include <math.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "hashset.h"
#include "json.h"

enum rule_type { R_NOT_NULL, R_UNIQUE, R_REGEX, R_RANGE, R_ACCEPTED, R_ROWS };

static const char *const rule_names[] = {
    [R_NOT_NULL] = "not_null",
    [R_UNIQUE] = "unique",
    [R_REGEX] = "regex",
    [R_RANGE] = "range",
    [R_ACCEPTED] = "accepted_values",
    [R_ROWS] = "row_count",
};

struct rule {
    enum rule_type type;
    json_t *spec;
    const char *column;
    int col;
    double threshold, min, max;
    bool has_min, has_max;
    regex_t re;
    bool re_ok;
    struct run_hashset seen;
    const char **values;
    size_t nvalues;
    uint64_t checked, failed;
};

struct gate {
    struct rule *rules;
    size_t nrules;
    const struct run_schema *in;
    bool fail_run;
};

/* Reads rule i of the config; fails n on a bad rule. */
static int
read_rule(struct run_node *n, size_t i, json_t *spec, struct rule *r)
{
    const char *type = sl_json_get_str(spec, "type");
    json_t *v;
    size_t k;

    r->spec = spec;
    r->col = -1;
    for (k = 0; k < sizeof(rule_names) / sizeof(rule_names[0]); k++)
        if (type != NULL && strcmp(type, rule_names[k]) == 0)
            break;
    if (k == sizeof(rule_names) / sizeof(rule_names[0]))
        return run_node_fail(n, "VALIDATION_ERROR", "rules[%zu].type: unknown",
                             i);
    r->type = (enum rule_type)k;
    r->column = sl_json_get_str(spec, "column");
    if (r->type != R_ROWS && r->column == NULL)
        return run_node_fail(n, "VALIDATION_ERROR",
                             "rules[%zu].column: required for %s", i, type);
    v = json_object_get(spec, "threshold");
    r->threshold = json_is_number(v) ? json_number_value(v) : 1.0;
    if ((v = json_object_get(spec, "min")) != NULL && json_is_number(v))
        r->has_min = true, r->min = json_number_value(v);
    if ((v = json_object_get(spec, "max")) != NULL && json_is_number(v))
        r->has_max = true, r->max = json_number_value(v);
    if ((r->type == R_RANGE || r->type == R_ROWS) && !r->has_min && !r->has_max)
        return run_node_fail(n, "VALIDATION_ERROR",
                             "rules[%zu]: %s needs min or max", i, type);
    if (r->type == R_REGEX) {
        const char *pat = sl_json_get_str(spec, "pattern");

        if (pat == NULL)
            return run_node_fail(n, "VALIDATION_ERROR",
                                 "rules[%zu].pattern: required", i);
        for (const char *s = pat; *s != '\0'; s++)
            if (s[0] == '\\' && s[1] >= '1' && s[1] <= '9')
                return run_node_fail(n, "VALIDATION_ERROR",
                                     "rules[%zu].pattern: back-references "
                                     "are not allowed",
                                     i);
        if (regcomp(&r->re, pat, REG_EXTENDED | REG_NOSUB) != 0)
            return run_node_fail(n, "VALIDATION_ERROR",
                                 "rules[%zu].pattern: not a valid regular "
                                 "expression",
                                 i);
        r->re_ok = true;
    }
    if (r->type == R_ACCEPTED) {
        json_t *vals = json_object_get(spec, "values"), *e;
        size_t j;

        r->nvalues = json_array_size(vals);
        r->values = sl_pcalloc(n->pool, sizeof(char *) * (r->nvalues + 1));
        if (r->values == NULL)
            return SL_ENOMEM;
        json_array_foreach(vals, j, e)
        {
            r->values[j] = json_is_string(e) ? json_string_value(e)
                           : json_is_integer(e)
                               ? sl_psprintf(n->pool, "%lld",
                                             (long long)json_integer_value(e))
                           : json_is_true(e)  ? "true"
                           : json_is_false(e) ? "false"
                           : json_is_real(e)
                               ? sl_psprintf(n->pool, "%g", json_real_value(e))
                               : NULL;
        }
    }
    if (r->type == R_UNIQUE)
        return run_hashset_init(&r->seen);
    return 0;
}

static int
gate_open(struct run_node *n)
{
    struct gate *g = sl_pcalloc(n->pool, sizeof(*g));
    json_t *rules = json_object_get(n->config, "rules"), *spec;
    size_t i;
    int rc;

    if (g == NULL)
        return SL_ENOMEM;
    n->state = g;
    g->fail_run = sl_json_get_bool(n->config, "fail_run", true);
    g->nrules = json_array_size(rules);
    g->rules = sl_pcalloc(n->pool, sizeof(*g->rules) * (g->nrules + 1));
    if (g->rules == NULL)
        return SL_ENOMEM;
    json_array_foreach(rules, i,
                       spec) if ((rc = read_rule(n, i, spec, &g->rules[i])) !=
                                 0) return rc;
    return 0;
}

/* Whether value v holds for rule r (v is not NULL). */
static bool
holds(struct rule *r, char *v)
{
    char *end;
    double x;

    switch (r->type) {
    case R_UNIQUE:
        return run_hashset_add(&r->seen, run_hashset_hash(&r->seen, &v, 1)) !=
               0;
    case R_REGEX:
        return regexec(&r->re, v, 0, NULL, 0) == 0;
    case R_RANGE:
        x = strtod(v, &end);
        return end != v && *end == '\0' && !isnan(x) &&
               (!r->has_min || x >= r->min) && (!r->has_max || x <= r->max);
    case R_ACCEPTED:
        for (size_t i = 0; i < r->nvalues; i++)
            if (r->values[i] != NULL && strcmp(r->values[i], v) == 0)
                return true;
        return false;
    default:
        return true;
    }
}

static int
gate_push(struct run_node *n, struct run_batch *b)
{
    struct gate *g = n->state;

    if (g->in != b->schema) {
        for (size_t i = 0; i < g->nrules; i++) {
            struct rule *r = &g->rules[i];

            if (r->column == NULL)
                continue;
            r->col = run_schema_find(b->schema, r->column);
            if (r->col < 0) {
                run_batch_free(b);
                return run_node_fail(n, "VALIDATION_ERROR",
                                     "rules[%zu].column: the input has no "
                                     "column %.63s",
                                     i, r->column);
            }
        }
        g->in = b->schema;
    }
    for (size_t i = 0; i < g->nrules; i++) {
        struct rule *r = &g->rules[i];

        if (r->type == R_ROWS)
            continue;
        for (size_t row = 0; row < b->nrows; row++) {
            char *v = run_cell(b, row, r->col);

            if (r->type == R_NOT_NULL) {
                r->checked++;
                r->failed += v == NULL;
            } else if (v != NULL) {
                r->checked++;
                r->failed += !holds(r, v);
            }
        }
    }
    return run_emit(n, b);
}

static int
gate_finish(struct run_node *n)
{
    struct gate *g = n->state;
    json_t *rules = json_array();
    double total = 0;
    bool passed = true;
    char first[256] = "";

    for (size_t i = 0; i < g->nrules; i++) {
        struct rule *r = &g->rules[i];
        double score;
        bool ok;

        if (r->type == R_ROWS) {
            double rows = (double)n->rows_in;

            r->checked = 1;
            r->failed =
                (r->has_min && rows < r->min) || (r->has_max && rows > r->max);
        }
        score = r->checked ? 1.0 - (double)r->failed / (double)r->checked : 1.0;
        score = floor(score * 10000 + 0.5) / 10000;
        ok = score >= r->threshold;
        total += score;
        if (!ok && passed)
            snprintf(first, sizeof(first), "rule %s%s%s scored %.4g, below %g",
                     rule_names[r->type], r->column ? " on " : "",
                     r->column ? r->column : "", score, r->threshold);
        passed &= ok;
        json_array_append_new(
            rules,
            json_pack("{s:s, s:s?, s:f, s:f, s:b, s:I, s:I}", "type",
                      rule_names[r->type], "column", r->column, "score", score,
                      "threshold", r->threshold, "passed", ok, "checked",
                      (json_int_t)(r->type == R_ROWS ? n->rows_in : r->checked),
                      "failed", (json_int_t)r->failed));
    }
    n->result = json_pack(
        "{s:{s:b, s:f, s:o}}", "quality", "passed", passed, "score",
        g->nrules ? floor(total / (double)g->nrules * 10000 + 0.5) / 10000
                  : 1.0,
        "rules", rules);
    if (passed) {
        run_node_log(n, "INFO", NULL, "All %zu quality rules passed",
                     g->nrules);
        return 0;
    }
    run_node_log(n, g->fail_run ? "ERROR" : "WARNING",
                 json_incref(json_object_get(n->result, "quality")),
                 "Quality check failed: %s", first);
    if (!g->fail_run)
        return 0;
    return run_node_fail(n, "QUALITY_CHECK_FAILED", "%s", first);
}

static void
gate_close(struct run_node *n, bool ok)
{
    struct gate *g = n->state;

    (void)ok;
    for (size_t i = 0; g != NULL && i < g->nrules; i++) {
        if (g->rules[i].re_ok)
            regfree(&g->rules[i].re);
        run_hashset_free(&g->rules[i].seen);
    }
}

const struct run_module_ops run_mod_quality_gate = {
    .type = SL_MODULE_QUALITY,
    .open = gate_open,
    .push = gate_push,
    .finish = gate_finish,
    .close = gate_close,
};
