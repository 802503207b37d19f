/*
 * pii.c: /pii (seed 000's PII detection, with Microsoft Presidio's field
 * names accepted too): analyze, anonymize, deanonymize, and the lists of
 * recognizers and entity types. All the work is lib/pii.c's, the engine
 * the runner's pii_mask module uses too.
 *
 * Nothing is stored: an analysis is answered and forgotten (its
 * analysis_id names the answer in logs). Keys are the organisation's,
 * derived from the configured secret_key (sl_pii_org_key): "hash" for
 * the hash operator, the same key pii_mask hashes with, so that tokens
 * from the API and from pipelines join; "encrypt" for encrypt and
 * deanonymize.
 *
 * Bounds (limits.h), each named in its answer: a text of more than
 * SL_PII_MAX_TEXT bytes is 413 PAYLOAD_TOO_LARGE; a batch of more than
 * SL_PII_MAX_BATCH texts, more than SL_PII_MAX_ENTITIES findings in one
 * text, an allow list of more than SL_PII_MAX_ALLOW entries, a new_value
 * longer than SL_PII_MAX_NEW_VALUE, and text that is not well-formed
 * UTF-8 are 422 VALIDATION_ERROR.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "buf.h"
#include "check.h"
#include "clock.h"
#include "err.h"
#include "handlers.h"
#include "json.h"
#include "pii.h"
#include "request.h"
#include "utf8.h"
#include "uuid.h"

/* The one language whose context words the recognizers know. */
#define PII_LANGUAGE "en"

/* A bound passed: 413 for a text's size, 422 for the rest. */
static int API_ANSWERS
bound_error(struct api_req *r, int status, const char *field, long limit,
            const char *what)
{
    return api_error(r, status,
                     status == 413 ? "PAYLOAD_TOO_LARGE" : "VALIDATION_ERROR",
                     what,
                     json_pack("{s:s, s:I, s:s}", "field", field, "limit",
                               (json_int_t)limit, "reason", what));
}

/* Registers a malloc'ed pointer for release with the request. */
static int
pool_own(struct api_req *r, void *p)
{
    return p == NULL ? 0 : sl_pool_cleanup_add(r->pool, free, p);
}

static void
cleanse_key(void *k)
{
    OPENSSL_cleanse(k, SL_PII_KEY_LEN);
}

/*
 * Moves *cp, the code points before byte *pos of s (len bytes), forward
 * to target. Returns whether the text reaches it.
 */
static bool
cp_advance(const char *s, size_t len, size_t *pos, size_t *cp, size_t target)
{
    while (*cp < target && *pos < len) {
        (*pos)++;
        while (*pos < len && ((unsigned char)s[*pos] & 0xc0) == 0x80)
            (*pos)++;
        (*cp)++;
    }
    return *cp == target;
}

static double
round4(double x)
{
    return (double)(long long)(x * 10000.0 + 0.5) / 10000.0;
}

/*
 * Reads the analysis options shared by analyze and anonymize: language,
 * entities, score_threshold, allow_list. Problems go to c.
 */
static void
read_opts(struct api_check *c, json_t *body, struct sl_pii_opts *o)
{
    json_t *v;
    const char *lang = api_check_str(c, body, "language", 0, 2, 16);

    memset(o, 0, sizeof(*o));
    if (lang != NULL && strcmp(lang, PII_LANGUAGE) != 0)
        api_check_fail(c, "language", "only \"en\" is supported");
    if ((v = json_object_get(body, "entities")) != NULL && !json_is_null(v)) {
        size_t i;
        json_t *e;

        if (!json_is_array(v))
            api_check_fail(c, "entities", "must be an array of entity types");
        json_array_foreach(v, i, e)
        {
            int k = json_is_string(e)
                        ? sl_pii_entity_parse(json_string_value(e))
                        : -1;

            /* An empty list is every entity type, as Presidio's. */
            if (k < 0 && i < 20)
                api_check_fail(c, "entities",
                               "entities[%zu] is not a "
                               "supported entity type (see "
                               "GET /pii/supportedentities)",
                               i);
            else if (k >= 0)
                o->entities |= 1u << k;
        }
    }
    if ((v = json_object_get(body, "score_threshold")) != NULL &&
        !json_is_null(v)) {
        if (!json_is_number(v) || json_number_value(v) < 0 ||
            json_number_value(v) > 1)
            api_check_fail(c, "score_threshold",
                           "must be a number from 0 to 1");
        else
            o->score_threshold = json_number_value(v) - 1e-9;
    }
    if ((v = json_object_get(body, "allow_list")) != NULL && !json_is_null(v)) {
        size_t i;
        json_t *e;
        const char **list;

        if (!json_is_array(v)) {
            api_check_fail(c, "allow_list", "must be an array of strings");
            return;
        }
        if (json_array_size(v) > SL_PII_MAX_ALLOW) {
            api_check_fail(
                c, "allow_list",
                "at most " SL_LIMIT_TEXT(SL_PII_MAX_ALLOW) " entries");
            return;
        }
        list = sl_palloc(c->r->pool, sizeof(*list) * (json_array_size(v) + 1));
        if (list == NULL)
            return;
        json_array_foreach(v, i, e)
        {
            if (!json_is_string(e)) {
                api_check_fail(c, "allow_list",
                               "allow_list[%zu] is not a "
                               "string",
                               i);
                return;
            }
            list[i] = json_string_value(e);
        }
        o->allow_list = list;
        o->nallow = json_array_size(v);
    }
}

/*
 * The texts to analyse: "text" (a string, or an array of strings: a
 * batch), or "texts". Sets *texts (borrowed from body) and *batch.
 * Returns 0, or API_ANSWERED with the 413/422 set.
 */
static int API_ANSWERS
read_texts(struct api_req *r, struct api_check *c, json_t *body, json_t **texts,
           bool *batch, bool allow_batch)
{
    json_t *t = json_object_get(body, "text");
    size_t i;
    json_t *e;

    if (t == NULL)
        t = json_object_get(body, "texts");
    *texts = NULL;
    *batch = json_is_array(t);
    if (t == NULL || json_is_null(t)) {
        api_check_fail(c, "text", "is required");
        return 0;
    }
    if (!json_is_string(t) && !(allow_batch && json_is_array(t))) {
        api_check_fail(c, "text",
                       allow_batch ? "must be a string or an "
                                     "array of strings"
                                   : "must be a string");
        return 0;
    }
    if (*batch && json_array_size(t) > SL_PII_MAX_BATCH)
        return bound_error(
            r, 422, "text", SL_PII_MAX_BATCH,
            "A batch holds at most " SL_LIMIT_TEXT(SL_PII_MAX_BATCH) " texts");
    if (*batch && json_array_size(t) == 0) {
        api_check_fail(c, "text", "the batch is empty");
        return 0;
    }
    if (!*batch) {
        *texts = t;
        return json_string_length(t) > SL_PII_MAX_TEXT
                   ? bound_error(r, 413, "text", SL_PII_MAX_TEXT,
                                 "A text holds at most " SL_LIMIT_TEXT(
                                     SL_PII_MAX_TEXT) " bytes")
                   : 0;
    }
    json_array_foreach(t, i, e)
    {
        if (!json_is_string(e)) {
            api_check_fail(c, "text", "text[%zu] is not a string", i);
            return 0;
        }
        if (json_string_length(e) > SL_PII_MAX_TEXT)
            return bound_error(r, 413, "text", SL_PII_MAX_TEXT,
                               "A text holds at most " SL_LIMIT_TEXT(
                                   SL_PII_MAX_TEXT) " bytes");
    }
    *texts = t;
    return 0;
}

/*
 * Refuses a body that is not well-formed UTF-8 with 422 (jansson would
 * answer 400 "not valid JSON", which does not say what is wrong).
 */
static int API_ANSWERS
check_utf8(struct api_req *r)
{
    if (r->body_len > 0 && !sl_utf8_valid(r->body, r->body_len))
        return api_error(r, 422, "VALIDATION_ERROR",
                         "The text is not well-formed UTF-8",
                         json_pack("{s:s, s:s}", "field", "text", "reason",
                                   "malformed UTF-8"));
    return 0;
}

/* Analyses one text; answers the bound or UTF-8 errors itself. */
static int API_ANSWERS
analyze_one(struct api_req *r, json_t *text, const struct sl_pii_opts *o,
            const char *field, struct sl_pii_result *res)
{
    int rc = sl_pii_analyze(json_string_value(text), json_string_length(text),
                            o, res);

    if (pool_own(r, res->m) != 0) {
        res->m = NULL;
        return SL_ENOMEM;
    }
    if (rc == SL_EPARSE)
        return api_error(r, 422, "VALIDATION_ERROR",
                         "The text is not well-formed UTF-8",
                         json_pack("{s:s, s:s}", "field", field, "reason",
                                   "malformed UTF-8 (or a NUL character)"));
    if (rc == SL_ETOOBIG && res->too_many)
        return bound_error(r, 422, "detected_entities", SL_PII_MAX_ENTITIES,
                           "A text may hold at most " SL_LIMIT_TEXT(
                               SL_PII_MAX_ENTITIES) " entities");
    if (rc == SL_ETOOBIG)
        return bound_error(
            r, 413, field, SL_PII_MAX_TEXT,
            "A text holds at most " SL_LIMIT_TEXT(SL_PII_MAX_TEXT) " bytes");
    return rc;
}

/* Presidio's analysis_explanation of one finding. */
static json_t *
explanation(const struct sl_pii_match *m)
{
    const struct sl_pii_recognizer *rec = sl_pii_recognizer_at(m->entity);
    double boost = round4(m->score - m->base_score);

    return json_pack(
        "{s:s, s:s, s:f, s:f, s:f, s:o, s:s, s:s?, s:o}", "recognizer",
        rec->name, "pattern_name", m->pattern, "original_score",
        round4(m->base_score), "score", round4(m->score),
        "score_context_improvement", boost, "supportive_context_word",
        sl_json_str_or_null(m->context_word), "textual_explanation",
        m->context_word != NULL ? "Matched by the recognizer; raised by a "
                                  "context word nearby"
                                : "Matched by the recognizer",
        "validation_name", m->validation, "validation_result",
        m->validation != NULL ? json_true() : json_null());
}

static json_t *
entities_json(const char *text, const struct sl_pii_result *res, bool explain)
{
    json_t *arr = json_array();

    for (size_t i = 0; arr != NULL && i < res->n; i++) {
        const struct sl_pii_match *m = &res->m[i];
        json_t *e = json_pack("{s:s, s:I, s:I, s:f, s:s%}", "entity_type",
                              sl_pii_entity_name(m->entity), "start",
                              (json_int_t)m->start, "end", (json_int_t)m->end,
                              "score", round4(m->score), "text",
                              text + m->bstart, m->bend - m->bstart);

        if (e != NULL && explain)
            json_object_set_new(e, "analysis_explanation", explanation(m));
        if (e == NULL || json_array_append_new(arr, e) != 0) {
            json_decref(arr);
            return NULL;
        }
    }
    return arr;
}

int
api_h_pii_analyze(struct api_req *r)
{
    struct api_check c;
    struct sl_pii_opts o;
    json_t *body, *texts, *out, *results = NULL, *ents = NULL;
    char id[SL_UUID_LEN], now[SL_RFC3339_MAX];
    bool batch, explain;
    size_t total = 0;
    int rc;

    if ((rc = check_utf8(r)) != 0 || (rc = api_body_object(r, false, &body)))
        return rc;
    api_check_init(&c, r);
    read_opts(&c, body, &o);
    explain = sl_json_get_bool(body, "return_decision_process", false);
    if ((rc = read_texts(r, &c, body, &texts, &batch, true)) != 0 ||
        (rc = api_check_done(&c)) != 0)
        return rc;
    if (sl_uuid_v4(id) != 0 || sl_clock_format(sl_clock_now(), now) != 0)
        return SL_ERR;
    /* The pool holds the batch's results, so that an error half-way
     * leaks nothing. */
    if (batch && (results = sl_json_pool_own(r->pool, json_array())) == NULL)
        return SL_ENOMEM;
    for (size_t i = 0; i < (batch ? json_array_size(texts) : 1); i++) {
        json_t *t = batch ? json_array_get(texts, i) : texts;
        struct sl_pii_result res;
        char field[32];

        if (batch)
            snprintf(field, sizeof(field), "text[%zu]", i);
        else
            snprintf(field, sizeof(field), "text");
        if ((rc = analyze_one(r, t, &o, field, &res)) != 0)
            return rc;
        ents = entities_json(json_string_value(t), &res, explain);
        if (ents == NULL)
            return SL_ENOMEM;
        total += res.n;
        if (batch)
            json_array_append_new(
                results, json_pack("{s:I, s:o, s:I}", "index", (json_int_t)i,
                                   "detected_entities", ents, "entity_count",
                                   (json_int_t)res.n));
    }
    out = json_pack("{s:s, s:I, s:s, s:s}", "analysis_id", id, "entity_count",
                    (json_int_t)total, "analyzed_at", now, "language",
                    PII_LANGUAGE);
    if (out == NULL)
        return SL_ENOMEM;
    if (batch)
        json_object_set(out, "results", results);
    else
        json_object_set_new(out, "detected_entities", ents);
    return api_reply(r, 200, out);
}

/* --- anonymize ------------------------------------------------------------
 */

/*
 * Reads one operator: "replace" or {"type": "mask", "masking_char": "#",
 * ...}. field names it in problems. Returns whether it is one.
 */
static bool
read_op(struct api_check *c, const char *field, json_t *v, struct sl_pii_op *op)
{
    const char *type =
        json_is_string(v) ? json_string_value(v) : sl_json_get_str(v, "type");
    json_t *p;
    int k = sl_pii_op_parse(type);

    memset(op, 0, sizeof(*op));
    op->chars_to_mask = -1;
    if (k < 0) {
        api_check_fail(c, field,
                       "the operator must be one of replace, redact, mask, "
                       "hash, encrypt, keep");
        return false;
    }
    op->kind = (enum sl_pii_op_kind)k;
    if (!json_is_object(v))
        return true;
    if ((p = json_object_get(v, "new_value")) != NULL && !json_is_null(p)) {
        if (!json_is_string(p) ||
            json_string_length(p) > SL_PII_MAX_NEW_VALUE) {
            api_check_fail(
                c, field,
                "new_value must be a string of at most " SL_LIMIT_TEXT(
                    SL_PII_MAX_NEW_VALUE) " bytes");
            return false;
        }
        op->new_value = json_string_value(p);
    }
    if ((p = json_object_get(v, "masking_char")) != NULL && !json_is_null(p)) {
        const char *mc = json_is_string(p) ? json_string_value(p) : "";
        size_t n = strlen(mc);

        size_t chars = 0;

        for (size_t j = 0; j < n; j++)
            chars += ((unsigned char)mc[j] & 0xc0) != 0x80;
        if (n == 0 || n > 4 || !sl_utf8_valid(mc, n) || chars != 1) {
            api_check_fail(c, field, "masking_char must be one character");
            return false;
        }
        op->masking_char = mc;
    }
    if ((p = json_object_get(v, "chars_to_mask")) != NULL && !json_is_null(p)) {
        if (!json_is_integer(p) || json_integer_value(p) < 0 ||
            json_integer_value(p) > SL_PII_MAX_TEXT) {
            api_check_fail(c, field,
                           "chars_to_mask must be a non-negative integer");
            return false;
        }
        op->chars_to_mask = (long)json_integer_value(p);
    }
    op->from_end = sl_json_get_bool(v, "from_end", false);
    if (json_object_get(v, "key") != NULL) {
        api_check_fail(c, field,
                       "key: Sluice encrypts with the "
                       "organisation's key from its configuration; "
                       "leave key out");
        return false;
    }
    if ((type = sl_json_get_str(v, "hash_type")) != NULL &&
        strcmp(type, "sha256") != 0) {
        api_check_fail(c, field, "hash_type must be sha256");
        return false;
    }
    return true;
}

/*
 * The organisation's key for purpose in *key (the pool's, wiped with the
 * request), or API_ANSWERED when no secret_key is configured.
 */
static int API_ANSWERS
org_key(struct api_req *r, const char *purpose, unsigned char **key)
{
    const char *secret = r->ctx->conf->secret_key;

    if (secret == NULL || *secret == '\0')
        return api_error(
            r, 422, "VALIDATION_ERROR",
            "hash, encrypt and decrypt need the operator's secret_key",
            json_pack("{s:s, s:s}", "field", "anonymizers", "reason",
                      "no secret_key is configured"));
    if ((*key = sl_palloc(r->pool, SL_PII_KEY_LEN)) == NULL ||
        sl_pool_cleanup_add(r->pool, cleanse_key, *key) != 0)
        return SL_ENOMEM;
    return sl_pii_org_key(secret, purpose, r->who.tenant_id, *key) != 0
               ? SL_ECRYPTO
               : 0;
}

/*
 * Presidio's analyzer_results: [{start, end, entity_type, score}] in code
 * points, instead of an analysis. Converted into findings with byte
 * offsets, sorted; overlaps are refused.
 */
static int
read_results(struct api_check *c, json_t *arr, const char *text, size_t len,
             struct sl_pii_result *res)
{
    size_t n = json_array_size(arr), i, cp = 0, pos = 0;

    json_t *e;

    memset(res, 0, sizeof(*res));
    if (!json_is_array(arr)) {
        api_check_fail(c, "analyzer_results", "must be an array");
        return 0;
    }
    if (n > SL_PII_MAX_ENTITIES) {
        api_check_fail(c, "analyzer_results",
                       "at most " SL_LIMIT_TEXT(SL_PII_MAX_ENTITIES) " items");
        return 0;
    }
    if (n == 0)
        return 0;
    if ((res->m = calloc(n, sizeof(*res->m))) == NULL)
        return SL_ENOMEM;
    json_array_foreach(arr, i, e)
    {
        json_t *s = json_object_get(e, "start"),
               *en = json_object_get(e, "end");
        int k = sl_pii_entity_parse(sl_json_get_str(e, "entity_type"));
        struct sl_pii_match *m = &res->m[i];

        if (!json_is_integer(s) || !json_is_integer(en) || k < 0 ||
            json_integer_value(s) < 0 ||
            json_integer_value(en) < json_integer_value(s) ||
            (i > 0 && json_integer_value(s) < (json_int_t)res->m[i - 1].end)) {
            api_check_fail(c, "analyzer_results",
                           "analyzer_results[%zu] needs start <= end (code "
                           "points, ordered, not overlapping) and a "
                           "supported entity_type",
                           i);
            return 0;
        }
        m->entity = (enum sl_pii_entity)k;
        m->start = (size_t)json_integer_value(s);
        m->end = (size_t)json_integer_value(en);
        m->score = json_is_number(json_object_get(e, "score"))
                       ? json_number_value(json_object_get(e, "score"))
                       : 1.0;
        res->n = i + 1;
    }
    /* Code points to bytes, in one pass. */
    for (i = 0; i < n; i++) {
        struct sl_pii_match *m = &res->m[i];
        bool ok = cp_advance(text, len, &pos, &cp, m->start);

        m->bstart = pos;
        ok = ok && cp_advance(text, len, &pos, &cp, m->end);
        m->bend = pos;
        if (!ok) {
            api_check_fail(c, "analyzer_results",
                           "analyzer_results[%zu] ends past the text", i);
            return 0;
        }
    }
    return 0;
}

int
api_h_pii_anonymize(struct api_req *r)
{
    static const char *const strategy_fields[] = {"anonymization_strategy",
                                                  "anonymizers", "operators"};
    struct api_check c;
    struct sl_pii_opts o;
    struct sl_pii_op ops_store[SL_PII_NENTITIES], dflt_store;
    const struct sl_pii_op *ops[SL_PII_NENTITIES] = {0}, *dflt = NULL;
    unsigned char *hkey = NULL, *ekey = NULL;
    struct sl_pii_keys keys = {NULL, NULL};
    struct sl_pii_result res;
    struct sl_pii_item *items = NULL;
    json_t *body, *text, *strategy = NULL, *applied, *jitems, *ar;
    const char *field = "anonymization_strategy", *key, *t;
    char *out = NULL;
    bool batch, need_hash = false, need_enc = false;
    json_t *v;
    int rc;

    if ((rc = check_utf8(r)) != 0 || (rc = api_body_object(r, false, &body)))
        return rc;
    api_check_init(&c, r);
    read_opts(&c, body, &o);
    if ((rc = read_texts(r, &c, body, &text, &batch, false)) != 0)
        return rc;
    for (size_t i = 0; i < 3 && strategy == NULL; i++)
        if ((strategy = json_object_get(body, strategy_fields[i])) != NULL)
            field = strategy_fields[i];
    if (strategy != NULL && !json_is_null(strategy) &&
        !json_is_object(strategy))
        api_check_fail(&c, field,
                       "must be an object: entity type (or "
                       "DEFAULT) to operator");
    else if (strategy != NULL)
        json_object_foreach(strategy, key, v)
        {
            int e = sl_pii_entity_parse(key);
            struct sl_pii_op *op = strcmp(key, "DEFAULT") == 0 ? &dflt_store
                                   : e >= 0                    ? &ops_store[e]
                                                               : NULL;
            char f[128];

            snprintf(f, sizeof(f), "%s.%.64s", field, key);
            if (op == NULL) {
                api_check_fail(&c, f,
                               "not a supported entity type, nor "
                               "DEFAULT");
                continue;
            }
            if (!read_op(&c, f, v, op))
                continue;
            if (op == &dflt_store)
                dflt = op;
            else
                ops[e] = op;
            need_hash |= op->kind == SL_PII_OP_HASH;
            need_enc |= op->kind == SL_PII_OP_ENCRYPT;
        }
    if ((rc = api_check_done(&c)) != 0)
        return rc;
    if (need_hash) {
        if ((rc = org_key(r, "hash", &hkey)) != 0)
            return rc;
        keys.hash_key = hkey;
    }
    if (need_enc) {
        if ((rc = org_key(r, "encrypt", &ekey)) != 0)
            return rc;
        keys.encrypt_key = ekey;
    }
    t = json_string_value(text);
    if ((ar = json_object_get(body, "analyzer_results")) != NULL &&
        !json_is_null(ar)) {
        rc = read_results(&c, ar, t, json_string_length(text), &res);
        if (pool_own(r, res.m) != 0)
            return SL_ENOMEM;
        if (rc != 0 || (rc = api_check_done(&c)) != 0)
            return rc;
    } else if ((rc = analyze_one(r, text, &o, "text", &res)) != 0) {
        return rc;
    }
    if (res.n > 0 &&
        ((items = sl_pcalloc(r->pool, sizeof(*items) * res.n)) == NULL))
        return SL_ENOMEM;
    rc = sl_pii_anonymize(t, json_string_length(text), res.m, res.n, ops, dflt,
                          &keys, &out, items);
    if (rc == SL_ETOOBIG)
        return bound_error(r, 422, "anonymized_text", SL_PII_MAX_OUTPUT,
                           "The anonymized text would pass " SL_LIMIT_TEXT(
                               SL_PII_MAX_OUTPUT) " bytes");
    if (rc != 0 || (rc = pool_own(r, out)) != 0)
        return rc;
    applied = json_object();
    jitems = json_array();
    for (size_t i = 0; i < res.n; i++) {
        const char *name = sl_pii_entity_name(res.m[i].entity);
        /* The item's new text, by its byte offsets in out (finding it by
         * its code points from the start, item after item, was quadratic:
         * 18 s for 10000 items in 512 KB). */
        size_t s = items[i].bstart, b = items[i].bend;

        json_object_set_new(applied, name,
                            json_string(sl_pii_op_name(items[i].op)));
        json_array_append_new(
            jitems,
            json_pack("{s:s, s:I, s:I, s:s, s:s%}", "entity_type", name,
                      "start", (json_int_t)items[i].start, "end",
                      (json_int_t)items[i].end, "operator",
                      sl_pii_op_name(items[i].op), "text", out + s, b - s));
    }
    return api_reply(r, 200,
                     json_pack("{s:s, s:I, s:o, s:o}", "anonymized_text", out,
                               "entities_anonymized", (json_int_t)res.n,
                               "strategy_applied", applied, "items", jitems));
}

/* --- deanonymize ----------------------------------------------------------
 */

static bool
b64_char(unsigned char ch)
{
    return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
           (ch >= '0' && ch <= '9') || ch == '+' || ch == '/' || ch == '=';
}

/*
 * POST /pii/deanonymize: the text of an anonymization whose items were
 * encrypted. Every run of base64 that opens under the organisation's key
 * is decrypted in place (GCM's tag tells tokens from other text); items,
 * when given (Presidio's anonymizer_results), are checked to be such
 * tokens.
 */
int
api_h_pii_deanonymize(struct api_req *r)
{
    struct api_check c;
    json_t *body, *text, *jitems;
    unsigned char *key = NULL;
    const char *t;
    size_t len, p = 0, cp_out = 0, n = 0;
    sl_buf b;
    bool batch;
    char *out;
    int rc;

    if ((rc = check_utf8(r)) != 0 || (rc = api_body_object(r, false, &body)))
        return rc;
    api_check_init(&c, r);
    if ((rc = read_texts(r, &c, body, &text, &batch, false)) != 0 ||
        (rc = api_check_done(&c)) != 0)
        return rc;
    if ((rc = org_key(r, "encrypt", &key)) != 0)
        return rc;
    t = json_string_value(text);
    len = json_string_length(text);
    jitems = json_array();
    sl_buf_init(&b, SL_PII_MAX_OUTPUT);
    while (p < len) {
        size_t e = p;
        char *plain = NULL;
        size_t plen = 0;

        while (e < len && b64_char((unsigned char)t[e]))
            e++;
        if (e - p >= 40 && (p == 0 || !b64_char((unsigned char)t[p - 1])) &&
            sl_pii_decrypt(key, t + p, e - p, &plain, &plen) == 0) {
            size_t ccount = 0;

            for (size_t k = 0; k < plen; k++)
                ccount += ((unsigned char)plain[k] & 0xc0) != 0x80;
            json_array_append_new(
                jitems,
                json_pack("{s:I, s:I, s:s, s:s%}", "start", (json_int_t)cp_out,
                          "end", (json_int_t)(cp_out + ccount), "operator",
                          "decrypt", "text", plain, plen));
            rc = sl_buf_append(&b, plain, plen);
            OPENSSL_cleanse(plain, plen);
            free(plain);
            cp_out += ccount;
            n++;
            p = e;
        } else {
            size_t end = e > p ? e : p + 1;

            for (size_t k = p; k < end; k++)
                cp_out += ((unsigned char)t[k] & 0xc0) != 0x80;
            rc = sl_buf_append(&b, t + p, end - p);
            p = end;
        }
        if (rc != 0) {
            sl_buf_free(&b);
            json_decref(jitems);
            return rc == SL_ETOOBIG
                       ? bound_error(r, 422, "text", SL_PII_MAX_OUTPUT,
                                     "The text would pass the output bound")
                       : rc;
        }
    }
    if (b.data == NULL && sl_buf_append(&b, "", 0) != 0)
        return SL_ENOMEM;
    out = sl_buf_take(&b);
    if (out == NULL || pool_own(r, out) != 0)
        return SL_ENOMEM;
    return api_reply(
        r, 200,
        json_pack("{s:s, s:s, s:I, s:o}", "text", out, "deanonymized_text", out,
                  "entities_deanonymized", (json_int_t)n, "items", jitems));
}

/* --- what the engine knows --------------------------------------------------
 */

static json_t *
list_body(json_t *items)
{
    size_t n = json_array_size(items);

    return json_pack("{s:o, s:I, s:I, s:I}", "items", items, "total",
                     (json_int_t)n, "skip", (json_int_t)0, "limit",
                     (json_int_t)n);
}

int
api_h_pii_recognizers(struct api_req *r)
{
    json_t *items = json_array();
    const struct sl_pii_recognizer *rec;

    for (size_t i = 0; (rec = sl_pii_recognizer_at(i)) != NULL; i++) {
        json_t *ctx = json_array();

        for (const char *const *w = rec->context; *w != NULL; w++)
            json_array_append_new(ctx, json_string(*w));
        json_array_append_new(
            items,
            json_pack("{s:s, s:[s], s:s, s:f, s:s, s:o, s:b}", "name",
                      rec->name, "supported_entities",
                      sl_pii_entity_name(rec->entity), "supported_language",
                      PII_LANGUAGE, "base_score", rec->base_score, "validation",
                      rec->validation, "context", ctx, "requires_context",
                      rec->needs_context));
    }
    return api_reply(r, 200, list_body(items));
}

int
api_h_pii_supported_entities(struct api_req *r)
{
    json_t *items = json_array();

    for (int e = 0; e < SL_PII_NENTITIES; e++)
        json_array_append_new(items, json_string(sl_pii_entity_name(e)));
    return api_reply(r, 200, list_body(items));
}
