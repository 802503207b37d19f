/*
 * mod_pii_mask.c: the pii_mask transformer: masks personal data in the
 * named columns and, with detect, in the columns found to hold it. What is
 * personal data is the PII engine's call (lib/pii.h), the same engine
 * POST /pii/analyze answers with.
 *
 * Detection looks at the first batch: a text column is personal data when
 * at least half of its non-NULL values (of the first 1000) are, whole, one
 * finding of the engine of one entity type: an e-mail address, a phone
 * number, a payment card (Luhn-valid), a US social security number (valid
 * area, group and serial), an IBAN (mod-97), an IP address, a URL, a MAC
 * address, a Bitcoin address, a name, a place... `entities` narrows the
 * types looked for; DATE_TIME is left out unless named there, since dates
 * are seldom personal on their own. The run's log names each column found
 * and its entity type.
 *
 * Methods: mask replaces every letter and digit with '*' (keeping the
 * shape: "***@*******.***"); partial keeps the last four characters
 * ("************1234") and, for an e-mail, the first letter and the domain
 * ("j***@example.com"); redact writes "[REDACTED]"; hash writes the
 * HMAC-SHA256 of the value under a key of the organisation's own derived
 * from secret_key (sl_pii_org_key(), the key POST /pii/anonymize's hash
 * uses too), in hex, so the same value hashes the same across runs and
 * requests (joins still work) and cannot be looked up in a table of hashes
 * made elsewhere.
 *
 * With scope "entities", only the findings inside each value of those
 * columns are replaced (free text: "call 415-555-0132" becomes "call
 * ***-***-****"): mask masks each finding's letters and digits, hash
 * replaces it with its token, redact with "[REDACTED]", partial masks all
 * but its last four characters (an e-mail: "j***@example.com").
 */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "crypto.h"
#include "engine.h"
#include "json.h"
#include "pii.h"

enum method { M_MASK, M_HASH, M_REDACT, M_PARTIAL };

struct pii {
    enum method method;
    bool detect;
    bool spans;        /* scope "entities" */
    uint32_t entities; /* what detection looks for */
    const struct run_schema *in;
    bool *masked; /* per column */
    unsigned char key[SL_PII_KEY_LEN];
    uint64_t values;
    uint64_t findings; /* scope "entities" */
};

/* --- detection --------------------------------------------------------------
 */

/*
 * The entity type the whole of v is, by the engine, among those x looks
 * for; -1 when it is none (or not one finding, or not text).
 */
static int
value_kind(const char *v, uint32_t entities)
{
    struct sl_pii_opts o = {.entities = entities, .max_entities = 4};
    struct sl_pii_result r;
    size_t len = strlen(v), b = 0, e = len;
    int kind = -1;

    while (b < len && isspace((unsigned char)v[b]))
        b++;
    while (e > b && isspace((unsigned char)v[e - 1]))
        e--;
    if (e == b || e - b > 1024)
        return -1;
    if (sl_pii_analyze(v + b, e - b, &o, &r) == 0 && r.n == 1 &&
        r.m[0].bstart == 0 && r.m[0].bend == e - b)
        kind = (int)r.m[0].entity;
    sl_pii_result_free(&r);
    return kind;
}

/* --- masking ----------------------------------------------------------------
 */

/* Where the character at v[i] ends: after its continuation bytes (a stray
 * one belongs to the character before it; the NUL stops the walk). */
static size_t
char_end(const char *v, size_t i)
{
    for (i++; ((unsigned char)v[i] & 0xc0) == 0x80; i++)
        ;
    return i;
}

/*
 * Masks v in place, character by character: each ASCII letter or digit,
 * and each non-ASCII character (a letter of another script: Müller,
 * Анна), becomes one '*', but for the last keep characters; punctuation
 * and spaces stay. Returns v.
 */
static char *
mask_chars(char *v, size_t keep)
{
    size_t chars = 0, k = 0, i = 0, o = 0;

    for (size_t j = 0; v[j] != '\0'; j++)
        chars += ((unsigned char)v[j] & 0xc0) != 0x80;
    while (v[i] != '\0') {
        unsigned char c = (unsigned char)v[i];
        size_t e = char_end(v, i);

        if (k++ + keep < chars && (c >= 0x80 || isalnum(c))) {
            v[o++] = '*';
        } else {
            memmove(v + o, v + i, e - i);
            o += e - i;
        }
        i = e;
    }
    v[o] = '\0';
    return v;
}

static char *
apply(struct pii *x, sl_pool *p, char *v)
{
    size_t len = strlen(v);
    char *out;

    switch (x->method) {
    case M_REDACT:
        return sl_pstrdup(p, "[REDACTED]");
    case M_HASH:
        out = sl_palloc(p, 2 * SL_SHA256_LEN + 1);
        if (out == NULL || sl_pii_hash_token(x->key, v, len, out) != 0)
            return NULL;
        return out;
    case M_PARTIAL:
        if (value_kind(v, 1u << SL_PII_EMAIL_ADDRESS) == SL_PII_EMAIL_ADDRESS) {
            const char *at = strchr(v, '@');

            /* The first character whole, not its first byte. */
            out = sl_psprintf(p, "%.*s***%s", (int)char_end(v, 0), v, at);
            return out;
        }
        return mask_chars(v, 4);
    default:
        return mask_chars(v, 0);
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
        size_t seen = 0, hits[SL_PII_NENTITIES] = {0};
        int best = -1;

        for (size_t r = 0; r < b->nrows && seen < 1000; r++) {
            const char *val = run_cell(b, r, c);
            int k;

            if (val == NULL || *val == '\0')
                continue;
            seen++;
            if ((k = value_kind(val, x->entities)) < 0)
                continue;
            hits[k]++;
            if (best < 0 || hits[k] > hits[best])
                best = k;
        }
        if (best >= 0 && hits[best] * 2 >= seen) {
            if (!x->masked[c])
                run_node_log(n, "WARNING",
                             json_pack("{s:s, s:s}", "column", s->cols[c].name,
                                       "kind", sl_pii_entity_name(best)),
                             "PII detected in column %s (%s)", s->cols[c].name,
                             sl_pii_entity_name(best));
            x->masked[c] = true;
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
    const char *scope = sl_json_get_str(n->config, "scope");
    const char *secret = n->job->conf->secret_key;
    json_t *ents = json_object_get(n->config, "entities"), *v;
    size_t i;

    if (x == NULL)
        return SL_ENOMEM;
    n->state = x;
    x->detect = sl_json_get_bool(n->config, "detect", false);
    x->spans = scope != NULL && strcmp(scope, "entities") == 0;
    x->method = m == NULL || strcmp(m, "mask") == 0 ? M_MASK
                : strcmp(m, "hash") == 0            ? M_HASH
                : strcmp(m, "redact") == 0          ? M_REDACT
                                                    : M_PARTIAL;
    x->entities = SL_PII_ALL & ~(1u << SL_PII_DATE_TIME);
    if (json_is_array(ents) && json_array_size(ents) > 0) {
        x->entities = 0;
        json_array_foreach(ents, i, v)
        {
            int k = sl_pii_entity_parse(json_string_value(v));

            if (k < 0)
                return run_node_fail(n, "VALIDATION_ERROR",
                                     "entities[%zu]: not an entity type of "
                                     "GET /pii/supportedentities",
                                     i);
            x->entities |= 1u << k;
        }
    }
    if (x->method == M_HASH && (secret == NULL || *secret == '\0'))
        return run_node_fail(n, "CONFIGURATION_ERROR",
                             "method hash needs the operator's secret_key");
    if (x->method == M_HASH &&
        sl_pii_org_key(secret, "hash", n->job->tenant_id, x->key) != 0)
        return SL_ERR;
    return 0;
}

/*
 * Scope "entities": the findings inside v replaced by the method. Returns
 * the new value (in p), v itself when there is nothing, or NULL out of
 * memory. A value the engine refuses (not UTF-8, too long) is masked
 * whole, never passed on as it is.
 */
static char *
apply_spans(struct pii *x, sl_pool *p, char *v)
{
    static const struct sl_pii_op redact = {.kind = SL_PII_OP_REPLACE,
                                            .new_value = "[REDACTED]"};
    static const struct sl_pii_op hash = {.kind = SL_PII_OP_HASH};
    struct sl_pii_opts o = {.entities = x->entities};
    struct sl_pii_keys keys = {x->key, NULL};
    struct sl_pii_result r;
    char *out = NULL, *res;
    int rc = sl_pii_analyze(v, strlen(v), &o, &r);

    if (rc == SL_ENOMEM) {
        sl_pii_result_free(&r);
        return NULL;
    }
    if (rc != 0) {
        sl_pii_result_free(&r);
        return apply(x, p, v);
    }
    if (r.n == 0) {
        sl_pii_result_free(&r);
        return v;
    }
    x->findings += r.n;
    if (x->method == M_PARTIAL || x->method == M_MASK) {
        /* Each finding in place, by apply(): letters and digits masked
         * (partial: all but the last four). */
        sl_buf b;

        sl_buf_init(&b, SL_PII_MAX_OUTPUT);
        rc = 0;
        for (size_t k = 0, pos = 0; k <= r.n && rc == 0; k++) {
            size_t end = k < r.n ? r.m[k].bstart : strlen(v);
            char *piece;

            rc = sl_buf_append(&b, v + pos, end - pos);
            if (k == r.n || rc != 0)
                break;
            piece =
                sl_pstrndup(p, v + r.m[k].bstart, r.m[k].bend - r.m[k].bstart);
            if (piece == NULL || (piece = apply(x, p, piece)) == NULL) {
                rc = SL_ENOMEM;
                break;
            }
            rc = sl_buf_puts(&b, piece);
            pos = r.m[k].bend;
        }
        sl_pii_result_free(&r);
        if (rc == 0 && b.data == NULL)
            rc = sl_buf_append(&b, "", 0);
        res = rc == 0 ? sl_pstrdup(p, b.data) : NULL;
        sl_buf_free(&b);
        return res;
    }
    rc = sl_pii_anonymize(v, strlen(v), r.m, r.n, NULL,
                          x->method == M_HASH ? &hash : &redact, &keys, &out,
                          NULL);
    sl_pii_result_free(&r);
    if (rc != 0)
        return NULL;
    res = sl_pstrdup(p, out);
    free(out);
    return res;
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
            char *was = *cell;

            if (!x->masked[c] || *cell == NULL)
                continue;
            *cell = x->spans ? apply_spans(x, b->pool, *cell)
                             : apply(x, b->pool, *cell);
            if (*cell == NULL) {
                run_batch_free(b);
                return SL_ENOMEM;
            }
            x->values += !x->spans || *cell != was;
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
    if (x->spans && n->result != NULL)
        json_object_set_new(json_object_get(n->result, "pii"),
                            "entities_masked",
                            json_integer((json_int_t)x->findings));
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
