/*
 * it_pii.c: PII detection and anonymisation as a user meets them: seed
 * 000's analyze and anonymize examples give the documented output; a
 * batch; Presidio's field names; keyed hashing stable within an
 * organisation and different across two; encrypt then deanonymize
 * round-trips (and another organisation cannot open the tokens); every
 * bound answered 413 or 422 naming it; malformed UTF-8 refused; no
 * credentials 401, a viewer 403.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "it.h"
#include "unit.h"

#define SEED_TEXT "My name is John Doe and my email is john.doe@example.com"

static char *
analyst_of_new_org(struct it_client *c)
{
    char *user, *org, *admin = it_new_org(c, &user, &org);
    char *tok = it_member(c, admin, "analyst");

    free(user);
    free(org);
    free(admin);
    return tok;
}

START_TEST(seed_000_examples)
{
    struct it_client c;
    struct it_resp r;
    char *tok;
    json_t *e;

    it_client_init(&c);
    tok = analyst_of_new_org(&c);

    /* POST /pii/analyze, as seed 000 writes it. */
    it_call(&c, "POST", "/api/v1/pii/analyze", tok,
            json_pack("{s:s, s:s, s:[s,s,s], s:f}", "text", SEED_TEXT,
                      "language", "en", "entities", "PERSON", "EMAIL_ADDRESS",
                      "PHONE_NUMBER", "score_threshold", 0.35),
            &r);
    it_assert_status(&r, 200);
    ck_assert_int_eq(it_int(&r, "entity_count"), 2);
    ck_assert_uint_eq(strlen(it_str(&r, "analysis_id")), 36);
    ck_assert(it_str(&r, "analyzed_at")[19] == 'Z');
    e = json_array_get(it_at(&r, "detected_entities"), 0);
    ck_assert_str_eq(json_string_value(json_object_get(e, "entity_type")),
                     "PERSON");
    ck_assert_int_eq(json_integer_value(json_object_get(e, "start")), 11);
    ck_assert_int_eq(json_integer_value(json_object_get(e, "end")), 19);
    ck_assert(json_real_value(json_object_get(e, "score")) == 0.85);
    ck_assert_str_eq(json_string_value(json_object_get(e, "text")), "John Doe");
    e = json_array_get(it_at(&r, "detected_entities"), 1);
    ck_assert_str_eq(json_string_value(json_object_get(e, "entity_type")),
                     "EMAIL_ADDRESS");
    ck_assert_int_eq(json_integer_value(json_object_get(e, "start")), 36);
    ck_assert_int_eq(json_integer_value(json_object_get(e, "end")), 56);
    ck_assert(json_number_value(json_object_get(e, "score")) == 1.0);
    ck_assert_str_eq(json_string_value(json_object_get(e, "text")),
                     "john.doe@example.com");
    it_resp_free(&r);

    /* POST /pii/anonymize, as seed 000 writes it. */
    it_call(&c, "POST", "/api/v1/pii/anonymize", tok,
            json_pack("{s:s, s:{s:s, s:s}, s:s}", "text", SEED_TEXT,
                      "anonymization_strategy", "PERSON", "replace",
                      "EMAIL_ADDRESS", "mask", "language", "en"),
            &r);
    it_assert_status(&r, 200);
    ck_assert_str_eq(it_str(&r, "anonymized_text"),
                     "My name is <PERSON> and my email is ***@example.com");
    ck_assert_int_eq(it_int(&r, "entities_anonymized"), 2);
    ck_assert_str_eq(it_str(&r, "strategy_applied.PERSON"), "replace");
    ck_assert_str_eq(it_str(&r, "strategy_applied.EMAIL_ADDRESS"), "mask");
    e = json_array_get(it_at(&r, "items"), 1);
    ck_assert_int_eq(json_integer_value(json_object_get(e, "start")), 36);
    ck_assert_int_eq(json_integer_value(json_object_get(e, "end")), 51);
    ck_assert_str_eq(json_string_value(json_object_get(e, "text")),
                     "***@example.com");
    it_resp_free(&r);

    /* Presidio's names: anonymizers with a DEFAULT and parameters. */
    it_call(&c, "POST", "/api/v1/pii/anonymize", tok,
            json_pack("{s:s, s:{s:{s:s, s:s}, s:{s:s, s:s, s:i, s:b}}}", "text",
                      "Call 415-555-0132 or mail a@example.com", "anonymizers",
                      "DEFAULT", "type", "replace", "new_value", "[x]",
                      "PHONE_NUMBER", "type", "mask", "masking_char", "#",
                      "chars_to_mask", 4, "from_end", 1),
            &r);
    it_assert_status(&r, 200);
    ck_assert_str_eq(it_str(&r, "anonymized_text"),
                     "Call 415-555-#### or mail [x]");
    it_resp_free(&r);

    /* Presidio's analyzer_results instead of an analysis. */
    it_call(&c, "POST", "/api/v1/pii/anonymize", tok,
            json_pack("{s:s, s:[{s:i, s:i, s:s, s:f}]}", "text", SEED_TEXT,
                      "analyzer_results", "start", 11, "end", 19, "entity_type",
                      "PERSON", "score", 0.9),
            &r);
    it_assert_status(&r, 200);
    ck_assert_str_eq(it_str(&r, "anonymized_text"),
                     "My name is <PERSON> and my email is "
                     "john.doe@example.com");
    it_resp_free(&r);
    it_call(&c, "POST", "/api/v1/pii/anonymize", tok,
            json_pack("{s:s, s:[{s:i, s:i, s:s}]}", "text", "short",
                      "analyzer_results", "start", 2, "end", 40, "entity_type",
                      "PERSON"),
            &r);
    it_assert_error(&r, 422, "VALIDATION_ERROR");
    ck_assert_str_eq(it_str(&r, "error.details.field"), "analyzer_results");
    it_resp_free(&r);

    /* A batch, the decision process, and non-ASCII offsets. */
    it_call(&c, "POST", "/api/v1/pii/analyze", tok,
            json_pack("{s:[s,s], s:b}", "text",
                      "Zo\xc3\xab M\xc3\xbcller, \xe6\x9d\xb1\xe4\xba\xac, "
                      "zo\xc3\xab@example.com",
                      "nothing here", "return_decision_process", 1),
            &r);
    it_assert_status(&r, 200);
    ck_assert_int_eq(json_array_size(it_at(&r, "results")), 2);
    ck_assert_int_eq(it_int(&r, "entity_count"), 3);
    e = json_array_get(json_object_get(json_array_get(it_at(&r, "results"), 0),
                                       "detected_entities"),
                       2);
    ck_assert_int_eq(json_integer_value(json_object_get(e, "start")), 16);
    ck_assert_int_eq(json_integer_value(json_object_get(e, "end")), 31);
    ck_assert_str_eq(
        json_string_value(json_object_get(
            json_object_get(e, "analysis_explanation"), "recognizer")),
        "EmailRecognizer");
    it_resp_free(&r);

    it_get(&c, "/api/v1/pii/supportedentities", tok, &r);
    it_assert_status(&r, 200);
    ck_assert_int_eq(it_int(&r, "total"), 15);
    it_resp_free(&r);
    it_get(&c, "/api/v1/pii/recognizers", tok, &r);
    it_assert_status(&r, 200);
    ck_assert_int_eq(it_int(&r, "total"), 15);
    it_resp_free(&r);
    free(tok);
}
END_TEST

/* The anonymized text of text under one operator for every entity. */
static char *
anonymize_all(struct it_client *c, const char *tok, const char *text,
              const char *op)
{
    struct it_resp r;
    char *out;

    it_call(c, "POST", "/api/v1/pii/anonymize", tok,
            json_pack("{s:s, s:{s:s}}", "text", text, "anonymization_strategy",
                      "DEFAULT", op),
            &r);
    it_assert_status(&r, 200);
    out = strdup(it_str(&r, "anonymized_text"));
    it_resp_free(&r);
    return out;
}

START_TEST(keyed_hash_and_encryption)
{
    struct it_client c;
    struct it_resp r;
    char *a = NULL, *b = NULL, *h1, *h2, *h3, *enc, *enc2;
    const char *text = "Reach jane.smith@example.com now";

    it_client_init(&c);
    a = analyst_of_new_org(&c);
    b = analyst_of_new_org(&c);

    /* Equal values, equal tokens within an organisation; others differ. */
    h1 = anonymize_all(&c, a, text, "hash");
    h2 = anonymize_all(&c, a, text, "hash");
    h3 = anonymize_all(&c, b, text, "hash");
    ck_assert_str_eq(h1, h2);
    ck_assert_str_ne(h1, h3);
    ck_assert_uint_eq(strlen(h1), strlen("Reach  now") + 64);
    ck_assert_ptr_null(strstr(h1, "jane"));

    /* Encrypt, then deanonymize: the text comes back. */
    enc = anonymize_all(&c, a, text, "encrypt");
    enc2 = anonymize_all(&c, a, text, "encrypt");
    ck_assert_ptr_null(strstr(enc, "jane"));
    ck_assert_str_ne(enc, enc2); /* a fresh nonce each time */
    it_call(&c, "POST", "/api/v1/pii/deanonymize", a,
            json_pack("{s:s}", "text", enc), &r);
    it_assert_status(&r, 200);
    ck_assert_str_eq(it_str(&r, "text"), text);
    ck_assert_int_eq(it_int(&r, "entities_deanonymized"), 1);
    it_resp_free(&r);

    /* Another organisation's key opens nothing. */
    it_call(&c, "POST", "/api/v1/pii/deanonymize", b,
            json_pack("{s:s}", "text", enc), &r);
    it_assert_status(&r, 200);
    ck_assert_str_eq(it_str(&r, "text"), enc);
    ck_assert_int_eq(it_int(&r, "entities_deanonymized"), 0);
    it_resp_free(&r);

    /* A key in the request is refused: keys are the configuration's. */
    it_call(&c, "POST", "/api/v1/pii/anonymize", a,
            json_pack("{s:s, s:{s:{s:s, s:s}}}", "text", text, "anonymizers",
                      "DEFAULT", "type", "encrypt", "key", "WmZq4t7w!z%C&F)J"),
            &r);
    it_assert_error(&r, 422, "VALIDATION_ERROR");
    it_resp_free(&r);
    free(h1);
    free(h2);
    free(h3);
    free(enc);
    free(enc2);
    free(a);
    free(b);
}
END_TEST

/* The details.field and details.limit of an error. */
static void
assert_bound(const struct it_resp *r, int status, const char *field,
             long long limit)
{
    it_assert_status(r, status);
    ck_assert_str_eq(it_str(r, "error.details.field"), field);
    if (limit >= 0)
        ck_assert_int_eq(it_int(r, "error.details.limit"), limit);
}

START_TEST(bounds_and_refusals)
{
    struct it_client c;
    struct it_resp r;
    char *user, *org, *admin, *tok, *viewer, *big, hdr[4200];
    json_t *arr;
    size_t n;

    it_client_init(&c);
    admin = it_new_org(&c, &user, &org);
    tok = it_member(&c, admin, "analyst");
    viewer = it_member(&c, admin, "viewer");

    /* No credentials, and too weak a role. */
    it_call(&c, "POST", "/api/v1/pii/analyze", NULL,
            json_pack("{s:s}", "text", "x"), &r);
    it_assert_error(&r, 401, "AUTHENTICATION_FAILED");
    it_resp_free(&r);
    it_call(&c, "POST", "/api/v1/pii/analyze", viewer,
            json_pack("{s:s}", "text", "x"), &r);
    it_assert_error(&r, 403, "INSUFFICIENT_PERMISSIONS");
    it_resp_free(&r);

    /* A text over 512 KiB: 413 naming text. */
    n = 600 * 1024;
    big = malloc(n + 1);
    memset(big, 'a', n);
    big[n] = '\0';
    it_call(&c, "POST", "/api/v1/pii/analyze", tok,
            json_pack("{s:s}", "text", big), &r);
    assert_bound(&r, 413, "text", 512 * 1024);
    ck_assert_str_eq(it_str(&r, "error.code"), "PAYLOAD_TOO_LARGE");
    it_resp_free(&r);
    free(big);

    /* A batch of 101: 422 naming text and 100. */
    arr = json_array();
    for (int i = 0; i < 101; i++)
        json_array_append_new(arr, json_string("x"));
    it_call(&c, "POST", "/api/v1/pii/analyze", tok,
            json_pack("{s:o}", "text", arr), &r);
    assert_bound(&r, 422, "text", 100);
    it_resp_free(&r);

    /* More than 10000 entities in one text. */
    n = 10001;
    big = malloc(n * 8 + 1);
    for (size_t i = 0; i < n; i++)
        memcpy(big + i * 8, "a@bc.de ", 8);
    big[n * 8] = '\0';
    it_call(&c, "POST", "/api/v1/pii/analyze", tok,
            json_pack("{s:s}", "text", big), &r);
    assert_bound(&r, 422, "detected_entities", 10000);
    it_resp_free(&r);
    free(big);

    /* The bound holds for a whole batch: two texts of 6000 each. */
    n = 6000;
    big = malloc(n * 8 + 1);
    for (size_t i = 0; i < n; i++)
        memcpy(big + i * 8, "a@bc.de ", 8);
    big[n * 8] = '\0';
    it_call(&c, "POST", "/api/v1/pii/analyze", tok,
            json_pack("{s:[s,s]}", "text", big, big), &r);
    assert_bound(&r, 422, "detected_entities", 10000);
    it_resp_free(&r);
    free(big);

    /* Malformed UTF-8: 422 naming text. */
    snprintf(hdr, sizeof(hdr), "Authorization: Bearer %s\r\n", tok);
    it_request(&c, "POST", "/api/v1/pii/analyze", hdr, "application/json",
               "{\"text\": \"caf\xc3\x28\"}", 15, &r);
    it_assert_error(&r, 422, "VALIDATION_ERROR");
    ck_assert_str_eq(it_str(&r, "error.details.field"), "text");
    it_resp_free(&r);

    /* Unknown entity types and operators are named. */
    it_call(&c, "POST", "/api/v1/pii/analyze", tok,
            json_pack("{s:s, s:[s]}", "text", "x", "entities", "NOPE"), &r);
    it_assert_error(&r, 422, "VALIDATION_ERROR");
    it_resp_free(&r);
    it_call(&c, "POST", "/api/v1/pii/anonymize", tok,
            json_pack("{s:s, s:{s:s}}", "text", "x", "anonymization_strategy",
                      "PERSON", "shred"),
            &r);
    it_assert_error(&r, 422, "VALIDATION_ERROR");
    it_resp_free(&r);
    free(user);
    free(org);
    free(admin);
    free(tok);
    free(viewer);
}
END_TEST

static Suite *
pii_suite(void)
{
    Suite *s = suite_create("it_pii");
    TCase *tc = tcase_create("pii");

    tcase_set_timeout(tc, 90);
    tcase_add_test(tc, seed_000_examples);
    tcase_add_test(tc, keyed_hash_and_encryption);
    tcase_add_test(tc, bounds_and_refusals);
    suite_add_tcase(s, tc);
    return s;
}

SL_TEST_MAIN(pii_suite)
