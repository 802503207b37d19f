/*
 * mod_pii_mask.c: the pii_mask transformer: masks personal data in the
 * named columns and, with detect, in the columns found to hold it.
 *
 * Detection looks at the first batch: a text column is personal data when
 * at least half of its non-NULL values look like e-mail addresses, phone
 * numbers, payment card numbers (Luhn-valid), US social security numbers
 * or IPv4 addresses. The run's log names each column found and its kind.
 *
 * Methods: mask replaces every letter and digit with '*' (keeping the
 * shape: "***@*******.***"); partial keeps the last four characters
 * ("************1234") and, for an e-mail, the first letter and the domain
 * ("j***@example.com"); redact writes "[REDACTED]"; hash writes the
 * HMAC-SHA256 of the value under a key of the organisation's own derived
 * from secret_key, in hex, so the same value hashes the same across runs
 * (joins still work) and cannot be looked up in a table of hashes made
 * elsewhere.
 */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "crypto.h"
#include "engine.h"
#include "json.h"

enum method { M_MASK, M_HASH, M_REDACT, M_PARTIAL };

struct pii {
    enum method method;
    bool detect;
    const struct run_schema *in;
    bool *masked; /* per column */
    unsigned char key[SL_SHA256_LEN];
    uint64_t values;
};

/* --- detectors --------------------------------------------------------------
 */

static bool
is_email(const char *v)
{
    const char *at = strchr(v, '@'), *dot;

    if (at == NULL || at == v || strchr(at + 1, '@') != NULL ||
        strchr(v, ' ') != NULL)
        return false;
    dot = strrchr(at, '.');
    return dot != NULL && dot > at + 1 && dot[1] != '\0';
}

static int
digits_only(const char *v, const char *allowed, char *out, size_t outsz)
{
    size_t n = 0;

    for (; *v != '\0'; v++) {
        if (isdigit((unsigned char)*v)) {
            if (n + 1 >= outsz)
                return -1;
            out[n++] = *v;
        } else if (strchr(allowed, *v) == NULL) {
            return -1;
        }
    }
    out[n] = '\0';
    return (int)n;
}

static bool
is_card(const char *v)
{
    char d[32];
    int n = digits_only(v, " -", d, sizeof(d)), sum = 0;

    if (n < 13 || n > 19)
        return false;
    for (int i = n - 1, k = 0; i >= 0; i--, k++) {
        int x = d[i] - '0';

        if (k % 2 == 1 && (x *= 2) > 9)
            x -= 9;
        sum += x;
    }
    return sum % 10 == 0;
}

static bool
is_phone(const char *v)
{
    char d[32];
    int n = digits_only(v, " +-().", d, sizeof(d));

    return n >= 9 && n <= 15 && !is_card(v) &&
           (v[0] == '+' || v[0] == '(' || strpbrk(v, " -.") != NULL ||
            v[0] == '0');
}

static bool
is_ssn(const char *v)
{
    return strlen(v) == 11 && v[3] == '-' && v[6] == '-' &&
           strspn(v, "0123456789-") == 11;
}

static bool
is_ipv4(const char *v)
{
    int a, b, c, d, used = 0;

    return sscanf(v, "%3d.%3d.%3d.%3d%n", &a, &b, &c, &d, &used) == 4 &&
           v[used] == '\0' && a <= 255 && b <= 255 && c <= 255 && d <= 255 &&
           a >= 0 && b >= 0 && c >= 0 && d >= 0;
}

static const struct {
    const char *kind;
    bool (*fn)(const char *);
} detectors[] = {
    {"email", is_email}, {"credit_card", is_card}, {"ssn", is_ssn},
    {"phone", is_phone}, {"ip_address", is_ipv4},
};

/* --- masking ----------------------------------------------------------------
 */

static char *
apply(struct pii *x, sl_pool *p, char *v)
{
    size_t len = strlen(v);
    char *out;

    switch (x->method) {
    case M_REDACT:
        return sl_pstrdup(p, "[REDACTED]");
    case M_HASH: {
        unsigned char mac[SL_SHA256_LEN];

        out = sl_palloc(p, 2 * SL_SHA256_LEN + 1);
        if (out == NULL ||
            sl_hmac_sha256(x->key, sizeof(x->key), v, len, mac) != 0)
            return NULL;
        sl_hex(mac, sizeof(mac), out);
        return out;
    }
    case M_PARTIAL:
        if (is_email(v)) {
            const char *at = strchr(v, '@');

            out = sl_psprintf(p, "%c***%s", v[0], at);
            return out;
        }
        for (size_t i = 0; i + 4 < len; i++)
            if (isalnum((unsigned char)v[i]))
                v[i] = '*';
        return v;
    default:
        for (size_t i = 0; i < len; i++)
            if (isalnum((unsigned char)v[i]))
                v[i] = '*';
        return v;
    }
}

static int
plan(struct run_node *n, struct pii *x, struct run_batch *b)
{
    const struct run_schema *s = b->schema;
    json_t *cols = json_object_get(n->config, "columns"), *v;
    size_t i;

    if (x->in == s)
        return 0;
    x->masked = sl_pcalloc(n->pool, sizeof(bool) * (size_t)(s->ncols + 1));
    if (x->masked == NULL)
        return SL_ENOMEM;
    json_array_foreach(cols, i, v)
    {
        int k =
            json_is_string(v) ? run_schema_find(s, json_string_value(v)) : -1;

        if (k < 0)
            return run_node_fail(n, "VALIDATION_ERROR",
                                 "columns[%zu]: the input has no column %.63s",
                                 i,
                                 json_is_string(v) ? json_string_value(v) : "");
        x->masked[k] = true;
    }
    for (int c = 0; x->detect && c < s->ncols; c++) {
        for (size_t d = 0; d < sizeof(detectors) / sizeof(detectors[0]); d++) {
            size_t seen = 0, hits = 0;

            for (size_t r = 0; r < b->nrows && seen < 1000; r++) {
                const char *val = run_cell(b, r, c);

                if (val == NULL || *val == '\0')
                    continue;
                seen++;
                hits += detectors[d].fn(val);
            }
            if (seen > 0 && hits * 2 >= seen) {
                if (!x->masked[c])
                    run_node_log(n, "WARNING",
                                 json_pack("{s:s, s:s}", "column",
                                           s->cols[c].name, "kind",
                                           detectors[d].kind),
                                 "PII detected in column %s (%s)",
                                 s->cols[c].name, detectors[d].kind);
                x->masked[c] = true;
                break;
            }
        }
    }
    x->in = s;
    return 0;
}

static int
pii_open(struct run_node *n)
{
    struct pii *x = sl_pcalloc(n->pool, sizeof(*x));
    const char *m = sl_json_get_str(n->config, "method");
    const char *secret = n->job->conf->secret_key;
    char label[96];

    if (x == NULL)
        return SL_ENOMEM;
    n->state = x;
    x->detect = sl_json_get_bool(n->config, "detect", false);
    x->method = m == NULL || strcmp(m, "mask") == 0 ? M_MASK
                : strcmp(m, "hash") == 0            ? M_HASH
                : strcmp(m, "redact") == 0          ? M_REDACT
                                                    : M_PARTIAL;
    if (x->method == M_HASH && (secret == NULL || *secret == '\0'))
        return run_node_fail(n, "CONFIGURATION_ERROR",
                             "method hash needs the operator's secret_key");
    snprintf(label, sizeof(label), "sluice pii hash/%s", n->job->tenant_id);
    if (x->method == M_HASH && sl_hmac_sha256(secret, strlen(secret), label,
                                              strlen(label), x->key) != 0)
        return SL_ERR;
    return 0;
}

static int
pii_push(struct run_node *n, struct run_batch *b)
{
    struct pii *x = n->state;
    int rc = plan(n, x, b);

    if (rc != 0) {
        run_batch_free(b);
        return rc;
    }
    for (size_t r = 0; r < b->nrows; r++)
        for (int c = 0; c < b->schema->ncols; c++) {
            char **cell = &b->cells[r * (size_t)b->schema->ncols + (size_t)c];

            if (!x->masked[c] || *cell == NULL)
                continue;
            if ((*cell = apply(x, b->pool, *cell)) == NULL) {
                run_batch_free(b);
                return SL_ENOMEM;
            }
            x->values++;
        }
    return run_emit(n, b);
}

static int
pii_finish(struct run_node *n)
{
    struct pii *x = n->state;
    json_t *cols = json_array();

    for (int c = 0; x->in != NULL && c < x->in->ncols; c++)
        if (x->masked[c])
            json_array_append_new(cols, json_string(x->in->cols[c].name));
    n->result = json_pack("{s:{s:o, s:I}}", "pii", "columns", cols,
                          "values_masked", (json_int_t)x->values);
    run_node_log(n, "INFO", NULL, "Masked %llu values",
                 (unsigned long long)x->values);
    return 0;
}

const struct run_module_ops run_mod_pii_mask = {
    .type = SL_MODULE_TRANSFORMER,
    .open = pii_open,
    .push = pii_push,
    .finish = pii_finish,
};
