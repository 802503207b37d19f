/*
 * test_pii.c: the PII engine: every recognizer on what it must find and on
 * near misses it must not (a failed Luhn digit, a bad IBAN checksum, an
 * SSN of area 000, an octet past 255, a version number, a price), context
 * raising scores, code-point offsets in text of several scripts,
 * malformed UTF-8 and the bounds refused, and the anonymization operators.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "err.h"
#include "pii.h"
#include "pii_lists.h"
#include "unit.h"
#include "utf8.h"

/* The findings of text, all entities, no threshold. */
static struct sl_pii_result
analyze(const char *text)
{
    struct sl_pii_result r;

    ck_assert_int_eq(sl_pii_analyze(text, strlen(text), NULL, &r), 0);
    return r;
}

/* The finding of entity e whose text is want, or NULL. */
static const struct sl_pii_match *
find(const struct sl_pii_result *r, const char *text, int e, const char *want)
{
    for (size_t i = 0; i < r->n; i++)
        if ((int)r->m[i].entity == e &&
            r->m[i].bend - r->m[i].bstart == strlen(want) &&
            memcmp(text + r->m[i].bstart, want, strlen(want)) == 0)
            return &r->m[i];
    return NULL;
}

/* Whether text holds exactly want as an e finding. */
static bool
found(const char *text, int e, const char *want)
{
    struct sl_pii_result r = analyze(text);
    bool ok = find(&r, text, e, want) != NULL;

    sl_pii_result_free(&r);
    return ok;
}

/* Whether text yields any finding of e at all. */
static bool
any(const char *text, int e)
{
    struct sl_pii_result r = analyze(text);
    bool ok = false;

    for (size_t i = 0; i < r.n; i++)
        ok |= (int)r.m[i].entity == e;
    sl_pii_result_free(&r);
    return ok;
}

START_TEST(emails)
{
    ck_assert(found("write to john.doe@example.com.", SL_PII_EMAIL_ADDRESS,
                    "john.doe@example.com"));
    ck_assert(
        found("a+tag@mail.co.uk", SL_PII_EMAIL_ADDRESS, "a+tag@mail.co.uk"));
    ck_assert(!any("user@localhost", SL_PII_EMAIL_ADDRESS));
    ck_assert(!any("a..b@example.com", SL_PII_EMAIL_ADDRESS));
    ck_assert(!any("@example.com and x@ and x@y", SL_PII_EMAIL_ADDRESS));
    ck_assert(!any("x@example.c0m", SL_PII_EMAIL_ADDRESS));
    /* Addresses one after another are each found. */
    {
        struct sl_pii_result r = analyze("a@bc.de a@bc.de b@bc.de, c@bc.de");

        ck_assert_uint_eq(r.n, 4);
        sl_pii_result_free(&r);
    }
}
END_TEST

START_TEST(phones)
{
    ck_assert(
        found("call (415) 555-0132", SL_PII_PHONE_NUMBER, "(415) 555-0132"));
    ck_assert(found("415-555-0132", SL_PII_PHONE_NUMBER, "415-555-0132"));
    ck_assert(
        found("+44 20 7946 0958", SL_PII_PHONE_NUMBER, "+44 20 7946 0958"));
    ck_assert(
        found("+1 (415) 555-0132", SL_PII_PHONE_NUMBER, "+1 (415) 555-0132"));
    ck_assert(
        found("+33 1 23 45 67 89", SL_PII_PHONE_NUMBER, "+33 1 23 45 67 89"));
    ck_assert(found("020 7946 0958", SL_PII_PHONE_NUMBER, "020 7946 0958"));
    ck_assert(found("1-800-555-0199", SL_PII_PHONE_NUMBER, "1-800-555-0199"));
    /* Bare digits only with a phone word. */
    ck_assert(found("phone 4155550132", SL_PII_PHONE_NUMBER, "4155550132"));
    ck_assert(!any("order 4155550132", SL_PII_PHONE_NUMBER));
    /* Area codes starting 0 or 1 are not North American numbers. */
    ck_assert(!any("115-555-0132", SL_PII_PHONE_NUMBER));
    ck_assert(!any("+12", SL_PII_PHONE_NUMBER));
}
END_TEST

START_TEST(cards)
{
    ck_assert(found("4111 1111 1111 1111", SL_PII_CREDIT_CARD,
                    "4111 1111 1111 1111"));
    ck_assert(found("4111-1111-1111-1111", SL_PII_CREDIT_CARD,
                    "4111-1111-1111-1111"));
    ck_assert(
        found("amex 378282246310005", SL_PII_CREDIT_CARD, "378282246310005"));
    ck_assert(found("5500 0000 0000 0004", SL_PII_CREDIT_CARD,
                    "5500 0000 0000 0004"));
    /* One digit off: Luhn fails. */
    ck_assert(!any("4111 1111 1111 1112", SL_PII_CREDIT_CARD));
    /* Luhn-valid, but no card brand starts with 9. */
    ck_assert(!any("9111111111111110", SL_PII_CREDIT_CARD));
    /* Two cards side by side are two findings. */
    {
        const char *t = "4111111111111111 5500000000000004";
        struct sl_pii_result r = analyze(t);

        ck_assert_uint_eq(r.n, 2);
        sl_pii_result_free(&r);
    }
}
END_TEST

START_TEST(ssns)
{
    ck_assert(found("SSN 123-45-6788", SL_PII_US_SSN, "123-45-6788"));
    ck_assert(found("536 22 1234", SL_PII_US_SSN, "536 22 1234"));
    ck_assert(!any("000-12-3456", SL_PII_US_SSN));
    ck_assert(!any("666-12-3456", SL_PII_US_SSN));
    ck_assert(!any("900-12-3456", SL_PII_US_SSN));
    ck_assert(!any("123-00-4567", SL_PII_US_SSN));
    ck_assert(!any("123-45-0000", SL_PII_US_SSN));
    /* Nine bare digits: only with an SSN word. */
    ck_assert(found("my ssn is 536221234", SL_PII_US_SSN, "536221234"));
    ck_assert(!any("invoice 536221234", SL_PII_US_SSN));
}
END_TEST

START_TEST(ibans)
{
    ck_assert(found("IBAN GB82 WEST 1234 5698 7654 32", SL_PII_IBAN_CODE,
                    "GB82 WEST 1234 5698 7654 32"));
    ck_assert(found("DE89370400440532013000", SL_PII_IBAN_CODE,
                    "DE89370400440532013000"));
    ck_assert(found("FR1420041010050500013M02606", SL_PII_IBAN_CODE,
                    "FR1420041010050500013M02606"));
    /* A wrong check digit, a wrong length, an unknown country. */
    ck_assert(!any("GB82WEST12345698765433", SL_PII_IBAN_CODE));
    ck_assert(!any("GB82WEST1234569876543", SL_PII_IBAN_CODE));
    ck_assert(!any("ZZ82WEST12345698765432", SL_PII_IBAN_CODE));
}
END_TEST

START_TEST(ips)
{
    ck_assert(
        found("from 192.168.1.10 today", SL_PII_IP_ADDRESS, "192.168.1.10"));
    ck_assert(found("10.0.0.0/8", SL_PII_IP_ADDRESS, "10.0.0.0/8"));
    ck_assert(found("2001:db8::1", SL_PII_IP_ADDRESS, "2001:db8::1"));
    ck_assert(found("fe80:0000:0000:0000:0202:b3ff:fe1e:8329",
                    SL_PII_IP_ADDRESS,
                    "fe80:0000:0000:0000:0202:b3ff:fe1e:8329"));
    ck_assert(!any("999.1.1.1", SL_PII_IP_ADDRESS));
    ck_assert(!any("1.2.3.4.5", SL_PII_IP_ADDRESS));
    ck_assert(!any("256.1.1.1", SL_PII_IP_ADDRESS));
    /* A version number is not an address (documented in docs/api.md). */
    ck_assert(!any("version 1.2.3.4", SL_PII_IP_ADDRESS));
    ck_assert(!any("release v1.2.3.4", SL_PII_IP_ADDRESS));
    /* A time is not an IPv6 address. */
    ck_assert(!any("at 14:30:00", SL_PII_IP_ADDRESS));
}
END_TEST

START_TEST(urls_macs_dates)
{
    ck_assert(found("see https://example.com/a?b=1.", SL_PII_URL,
                    "https://example.com/a?b=1"));
    ck_assert(found("www.test.org, ok", SL_PII_URL, "www.test.org"));
    ck_assert(!any("http:// nothing", SL_PII_URL));
    ck_assert(found("MAC 00:1A:2B:3C:4D:5E", SL_PII_MAC_ADDRESS,
                    "00:1A:2B:3C:4D:5E"));
    ck_assert(
        found("00-1a-2b-3c-4d-5e", SL_PII_MAC_ADDRESS, "00-1a-2b-3c-4d-5e"));
    ck_assert(found("001a.2b3c.4d5e", SL_PII_MAC_ADDRESS, "001a.2b3c.4d5e"));
    ck_assert(!any("00:1A-2B:3C:4D:5E", SL_PII_MAC_ADDRESS));
    ck_assert(
        found("born January 5, 2024", SL_PII_DATE_TIME, "January 5, 2024"));
    ck_assert(found("on 5 March 2024", SL_PII_DATE_TIME, "5 March 2024"));
    ck_assert(found("2024-01-15T10:30:00Z", SL_PII_DATE_TIME,
                    "2024-01-15T10:30:00Z"));
    ck_assert(found("15/01/2024", SL_PII_DATE_TIME, "15/01/2024"));
    ck_assert(!any("2024-13-45", SL_PII_DATE_TIME));
    ck_assert(!any("32/01/2024", SL_PII_DATE_TIME));
    /* A price is nothing. */
    {
        struct sl_pii_result r = analyze("it costs $1,299.99 or 12.50 EUR");

        ck_assert_uint_eq(r.n, 0);
        sl_pii_result_free(&r);
    }
}
END_TEST

START_TEST(crypto)
{
    ck_assert(found("btc 1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2", SL_PII_CRYPTO,
                    "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2"));
    ck_assert(found("3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy", SL_PII_CRYPTO,
                    "3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy"));
    ck_assert(found("bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq", SL_PII_CRYPTO,
                    "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq"));
    /* One character changed: the checksums fail. */
    ck_assert(!any("1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN3", SL_PII_CRYPTO));
    ck_assert(
        !any("bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdx", SL_PII_CRYPTO));
}
END_TEST

START_TEST(context_only_recognizers)
{
    ck_assert(found("passport 123456789", SL_PII_US_PASSPORT, "123456789"));
    ck_assert(found("passport no. A12345678", SL_PII_US_PASSPORT, "A12345678"));
    ck_assert(!any("ref 123456789", SL_PII_US_PASSPORT));
    ck_assert(found("NHS number 943 476 5919", SL_PII_UK_NHS, "943 476 5919"));
    ck_assert(!any("NHS number 943 476 5918", SL_PII_UK_NHS));
    ck_assert(!any("ref 943 476 5919", SL_PII_UK_NHS));
    ck_assert(found("account number 12345678901", SL_PII_US_BANK_NUMBER,
                    "12345678901"));
    ck_assert(!any("order 12345678901", SL_PII_US_BANK_NUMBER));
}
END_TEST

START_TEST(names_and_places)
{
    ck_assert(
        found("Yesterday Jane Smith called", SL_PII_PERSON, "Jane Smith"));
    ck_assert(found("I met Dr. Watson", SL_PII_PERSON, "Watson"));
    ck_assert(found("She lives in New York.", SL_PII_LOCATION, "New York"));
    ck_assert(found("flew to Paris", SL_PII_LOCATION, "Paris"));
    /* Capitalized words that are neither. */
    ck_assert(!any("The Quick Brown Fox", SL_PII_PERSON));
    ck_assert(!any("The Quick Brown Fox", SL_PII_LOCATION));
    /* The lists are sorted: bisection depends on it. */
    for (size_t i = 1; i < sl_pii_first_names_n; i++)
        ck_assert(strcmp(sl_pii_first_names[i - 1], sl_pii_first_names[i]) < 0);
    for (size_t i = 1; i < sl_pii_surnames_n; i++)
        ck_assert(strcmp(sl_pii_surnames[i - 1], sl_pii_surnames[i]) < 0);
    for (size_t i = 1; i < sl_pii_places_n; i++)
        ck_assert(strcmp(sl_pii_places[i - 1], sl_pii_places[i]) < 0);
}
END_TEST

START_TEST(context_raises_scores)
{
    const char *t = "My name is John Doe and my email is john.doe@example.com";
    struct sl_pii_result r = analyze(t);
    const struct sl_pii_match *p = find(&r, t, SL_PII_PERSON, "John Doe");
    const struct sl_pii_match *e =
        find(&r, t, SL_PII_EMAIL_ADDRESS, "john.doe@example.com");

    /* Seed 000's example: PERSON 0.85 at [11, 19), the e-mail 1.0. */
    ck_assert_ptr_nonnull(p);
    ck_assert_ptr_nonnull(e);
    ck_assert_uint_eq(r.n, 2);
    ck_assert_uint_eq(p->start, 11);
    ck_assert_uint_eq(p->end, 19);
    ck_assert(p->score > 0.849 && p->score < 0.851);
    ck_assert_str_eq(p->context_word, "name");
    ck_assert_uint_eq(e->start, 36);
    ck_assert_uint_eq(e->end, 56);
    ck_assert(e->score == 1.0);
    sl_pii_result_free(&r);

    /* The same name without context scores lower. */
    t = "Then John Doe left.";
    r = analyze(t);
    p = find(&r, t, SL_PII_PERSON, "John Doe");
    ck_assert_ptr_nonnull(p);
    ck_assert(p->score > 0.49 && p->score < 0.51);
    ck_assert_ptr_null(p->context_word);
    sl_pii_result_free(&r);

    /* An IP address with "ip" near. */
    ck_assert(found("ip 10.1.2.3", SL_PII_IP_ADDRESS, "10.1.2.3"));
    t = "server ip: 10.1.2.3";
    r = analyze(t);
    ck_assert_uint_eq(r.n, 1);
    ck_assert(r.m[0].score > r.m[0].base_score);
    ck_assert(r.m[0].score <= 1.0);
    sl_pii_result_free(&r);
}
END_TEST

START_TEST(code_point_offsets)
{
    const char *t = "Zoë Müller, 東京, zoë@example.com";
    struct sl_pii_result r = analyze(t);
    const struct sl_pii_match *m;

    m = find(&r, t, SL_PII_PERSON, "Zoë Müller");
    ck_assert_ptr_nonnull(m);
    ck_assert_uint_eq(m->start, 0);
    ck_assert_uint_eq(m->end, 10);
    m = find(&r, t, SL_PII_LOCATION, "東京");
    ck_assert_ptr_nonnull(m);
    ck_assert_uint_eq(m->start, 12);
    ck_assert_uint_eq(m->end, 14);
    m = find(&r, t, SL_PII_EMAIL_ADDRESS, "zoë@example.com");
    ck_assert_ptr_nonnull(m);
    ck_assert_uint_eq(m->start, 16);
    ck_assert_uint_eq(m->end, 31);
    ck_assert_uint_eq(m->bstart, 22);
    sl_pii_result_free(&r);

    /* A four-byte character (an emoji) counts once. */
    t = "\xf0\x9f\x98\x80 ip 10.0.0.1";
    r = analyze(t);
    ck_assert_uint_eq(r.n, 1);
    ck_assert_uint_eq(r.m[0].start, 5);
    ck_assert_uint_eq(r.m[0].end, 13);
    sl_pii_result_free(&r);
}
END_TEST

START_TEST(malformed_and_bounds)
{
    struct sl_pii_result r;
    struct sl_pii_opts o = {.max_entities = 3};
    size_t big = SL_PII_MAX_TEXT + 1;
    char *t = malloc(big);

    ck_assert_int_eq(sl_pii_analyze("caf\xc3", 4, NULL, &r), SL_EPARSE);
    ck_assert_int_eq(sl_pii_analyze("a\xc0\xaf", 3, NULL, &r), SL_EPARSE);
    ck_assert_int_eq(sl_pii_analyze("a\0b", 3, NULL, &r), SL_EPARSE);
    sl_pii_result_free(&r);
    ck_assert_ptr_nonnull(t);
    memset(t, 'a', big);
    ck_assert_int_eq(sl_pii_analyze(t, big, NULL, &r), SL_ETOOBIG);
    ck_assert(!r.too_many);
    ck_assert_int_eq(sl_pii_analyze(t, big - 1, NULL, &r), 0);
    ck_assert_uint_eq(r.n, 0);
    sl_pii_result_free(&r);
    free(t);
    ck_assert_int_eq(
        sl_pii_analyze("1.1.1.1 2.2.2.2 3.3.3.3 4.4.4.4", 31, &o, &r),
        SL_ETOOBIG);
    ck_assert(r.too_many);
    ck_assert_uint_eq(r.n, 3);
    sl_pii_result_free(&r);
}
END_TEST

START_TEST(options)
{
    const char *t = "john@example.com and 10.0.0.1 and jane@example.com";
    const char *allow[] = {"jane@example.com"};
    struct sl_pii_opts o = {.entities = 1u << SL_PII_EMAIL_ADDRESS,
                            .allow_list = allow,
                            .nallow = 1};
    struct sl_pii_result r;

    ck_assert_int_eq(sl_pii_analyze(t, strlen(t), &o, &r), 0);
    ck_assert_uint_eq(r.n, 1);
    ck_assert_int_eq(r.m[0].entity, SL_PII_EMAIL_ADDRESS);
    sl_pii_result_free(&r);
    o = (struct sl_pii_opts){.score_threshold = 0.9};
    ck_assert_int_eq(sl_pii_analyze(t, strlen(t), &o, &r), 0);
    ck_assert_uint_eq(r.n, 2); /* the address scores 0.6 */
    sl_pii_result_free(&r);
    ck_assert_int_eq(sl_pii_entity_parse("US_SSN"), SL_PII_US_SSN);
    ck_assert_int_eq(sl_pii_entity_parse("NOPE"), -1);
    ck_assert_str_eq(sl_pii_entity_name(SL_PII_UK_NHS), "UK_NHS");
}
END_TEST

static char *
anonymize(const char *t, const struct sl_pii_op *const ops[SL_PII_NENTITIES],
          const struct sl_pii_op *dflt, const struct sl_pii_keys *k,
          struct sl_pii_item *items)
{
    struct sl_pii_result r = analyze(t);
    char *out = NULL;

    ck_assert_int_eq(
        sl_pii_anonymize(t, strlen(t), r.m, r.n, ops, dflt, k, &out, items), 0);
    sl_pii_result_free(&r);
    return out;
}

START_TEST(operators)
{
    const char *t = "My name is John Doe and my email is john.doe@example.com";
    struct sl_pii_op replace = {.kind = SL_PII_OP_REPLACE, .chars_to_mask = -1};
    struct sl_pii_op mask = {.kind = SL_PII_OP_MASK, .chars_to_mask = -1};
    struct sl_pii_op mask4 = {.kind = SL_PII_OP_MASK,
                              .chars_to_mask = 4,
                              .masking_char = "#",
                              .from_end = true};
    struct sl_pii_op redact = {.kind = SL_PII_OP_REDACT};
    struct sl_pii_op keep = {.kind = SL_PII_OP_KEEP};
    struct sl_pii_op hash = {.kind = SL_PII_OP_HASH};
    struct sl_pii_op enc = {.kind = SL_PII_OP_ENCRYPT};
    struct sl_pii_op named = {.kind = SL_PII_OP_REPLACE, .new_value = "X"};
    const struct sl_pii_op *ops[SL_PII_NENTITIES] = {0};
    struct sl_pii_item items[2];
    unsigned char k1[SL_PII_KEY_LEN], k2[SL_PII_KEY_LEN];
    struct sl_pii_keys keys = {k1, k1};
    char *out, *out2, *plain;
    size_t plen;

    /* Seed 000's example. */
    ops[SL_PII_PERSON] = &replace;
    ops[SL_PII_EMAIL_ADDRESS] = &mask;
    out = anonymize(t, ops, NULL, NULL, items);
    ck_assert_str_eq(out,
                     "My name is <PERSON> and my email is ***@example.com");
    ck_assert_uint_eq(items[0].start, 11);
    ck_assert_uint_eq(items[0].end, 19);
    ck_assert_uint_eq(items[1].start, 36);
    ck_assert_uint_eq(items[1].end, 51);
    free(out);

    ops[SL_PII_PERSON] = &redact;
    ops[SL_PII_EMAIL_ADDRESS] = &keep;
    out = anonymize(t, ops, NULL, NULL, NULL);
    ck_assert_str_eq(out, "My name is  and my email is john.doe@example.com");
    free(out);

    ops[SL_PII_PERSON] = &named;
    ops[SL_PII_EMAIL_ADDRESS] = NULL;
    out = anonymize(t, ops, &mask4, NULL, NULL);
    ck_assert_str_eq(out, "My name is X and my email is john####@example.com");
    free(out);

    out = anonymize("card 4111 1111 1111 1111", NULL, &mask4, NULL, NULL);
    ck_assert_str_eq(out, "card 4111 1111 1111 ####");
    free(out);
    out = anonymize("Zoë Müller", NULL, &mask, NULL, NULL);
    ck_assert_str_eq(out, "**********");
    free(out);

    /* Keyed hashing: equal values, equal tokens; other keys, others. */
    ck_assert_int_eq(sl_pii_org_key("s3cret", "hash", "org_a", k1), 0);
    ck_assert_int_eq(sl_pii_org_key("s3cret", "hash", "org_b", k2), 0);
    ck_assert(memcmp(k1, k2, sizeof(k1)) != 0);
    out = anonymize("a@example.com", NULL, &hash, &keys, NULL);
    out2 = anonymize("a@example.com", NULL, &hash, &keys, NULL);
    ck_assert_uint_eq(strlen(out), 64);
    ck_assert_str_eq(out, out2);
    free(out2);
    keys.hash_key = k2;
    out2 = anonymize("a@example.com", NULL, &hash, &keys, NULL);
    ck_assert_str_ne(out, out2);
    free(out);
    free(out2);

    /* Encryption round-trips, and only under its key. */
    out = anonymize("a@example.com", NULL, &enc, &keys, NULL);
    ck_assert_int_eq(sl_pii_decrypt(k1, out, strlen(out), &plain, &plen), 0);
    ck_assert_str_eq(plain, "a@example.com");
    ck_assert_uint_eq(plen, 13);
    free(plain);
    ck_assert_int_eq(sl_pii_decrypt(k2, out, strlen(out), &plain, &plen),
                     SL_ECRYPTO);
    ck_assert_int_eq(sl_pii_decrypt(k1, "!!!!", 4, &plain, &plen), SL_EPARSE);
    free(out);

    /* hash without a key is refused. */
    {
        struct sl_pii_result r = analyze("a@example.com");

        ck_assert_int_eq(sl_pii_anonymize("a@example.com", 13, r.m, r.n, NULL,
                                          &hash, NULL, &out, NULL),
                         SL_EINVAL);
        ck_assert_ptr_null(out);
        sl_pii_result_free(&r);
    }
}
END_TEST

/* Seconds of CPU time since an arbitrary start. */
static double
cpu_now(void)
{
    struct timespec t;

    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* A text of SL_PII_MAX_TEXT bytes (or just under): unit repeated. */
static char *
repeated(const char *unit, size_t *len)
{
    size_t u = strlen(unit), n = 0;
    char *s = malloc(SL_PII_MAX_TEXT + 1);

    ck_assert_ptr_nonnull(s);
    while (n + u <= SL_PII_MAX_TEXT) {
        memcpy(s + n, unit, u);
        n += u;
    }
    s[n] = '\0';
    *len = n;
    return s;
}

/* The CPU seconds sl_pii_analyze() takes over unit repeated to the
 * largest text. */
static double
analyze_time(const char *unit)
{
    struct sl_pii_result r;
    size_t len;
    char *s = repeated(unit, &len);
    double t0 = cpu_now();
    int rc = sl_pii_analyze(s, len, NULL, &r);
    double t = cpu_now() - t0;

    ck_assert(rc == 0 || (rc == SL_ETOOBIG && r.too_many));
    sl_pii_result_free(&r);
    free(s);
    return t;
}

/*
 * Adversarial texts take linear time: a hyphenated or apostrophed chain of
 * capitalized words ("A-A-A-...") made every word start read the chain to
 * its end (minutes for the largest text).
 */
START_TEST(adversarial_texts_are_linear)
{
    static const char *const units[] = {
        "A-", "Ab'",   "John-", "\xc3\x89\xc3\xa9-", "1", "1 ", "@",
        ".",  "Aaaa ", "a@",    "http://a.bc/ "};

    for (size_t k = 0; k < sizeof(units) / sizeof(units[0]); k++) {
        double t = analyze_time(units[k]);

        if (t > 1.0)
            ck_abort_msg("%s repeated: %.2f s", units[k], t);
    }
}
END_TEST

/*
 * A URL longer than its 2048-byte bound ends on a character boundary: the
 * bound fell inside a two-byte character, and replacing the URL left the
 * character's second byte alone in the text (malformed UTF-8, which the
 * API could not answer).
 */
START_TEST(long_url_ends_on_a_character)
{
    char text[3100], *out = NULL;
    struct sl_pii_result r;
    size_t n;

    strcpy(text, "see http://a.com/");
    n = strlen(text);
    while (n + 2 < 3000) {
        text[n++] = (char)0xc3; /* é */
        text[n++] = (char)0xa9;
    }
    text[n] = '\0';
    r = analyze(text);
    ck_assert_uint_eq(r.n, 1);
    ck_assert_int_eq(r.m[0].entity, SL_PII_URL);
    ck_assert_int_ne((unsigned char)text[r.m[0].bend] & 0xc0, 0x80);
    ck_assert_int_eq(
        sl_pii_anonymize(text, n, r.m, r.n, NULL, NULL, NULL, &out, NULL), 0);
    ck_assert(sl_utf8_valid(out, strlen(out)));
    free(out);
    sl_pii_result_free(&r);
}
END_TEST

/*
 * Each item gives its byte offsets in the new text too, so that the API
 * takes the item's text from them (finding it by code points from the
 * start for every item was quadratic: 18 s for 10000 items in 512 KB).
 */
START_TEST(items_give_byte_offsets)
{
    static const char text[] = "Zo\xc3\xab: a@example.com, Ren\xc3\xa9"
                               "e b@example.org";
    static const struct sl_pii_op mask = {.kind = SL_PII_OP_MASK,
                                          .masking_char = "\xc3\xa9",
                                          .chars_to_mask = -1};
    const struct sl_pii_op *ops[SL_PII_NENTITIES] = {0};
    struct sl_pii_result r;
    struct sl_pii_item items[4];
    char *out = NULL;
    size_t nemail = 0;

    ops[SL_PII_EMAIL_ADDRESS] = &mask;
    r = analyze(text);
    ck_assert_uint_le(r.n, 4);
    ck_assert_int_eq(sl_pii_anonymize(text, strlen(text), r.m, r.n, ops, NULL,
                                      NULL, &out, items),
                     0);
    for (size_t k = 0; k < r.n; k++) {
        size_t cp = 0;

        ck_assert_uint_le(items[k].bstart, items[k].bend);
        ck_assert_uint_le(items[k].bend, strlen(out));
        for (size_t j = 0; j < items[k].bstart; j++)
            cp += ((unsigned char)out[j] & 0xc0) != 0x80;
        ck_assert_uint_eq(cp, items[k].start);
        for (size_t j = items[k].bstart; j < items[k].bend; j++)
            cp += ((unsigned char)out[j] & 0xc0) != 0x80;
        ck_assert_uint_eq(cp, items[k].end);
        if (items[k].entity == SL_PII_EMAIL_ADDRESS) {
            const char *want = nemail++ == 0
                                   ? "\xc3\xa9\xc3\xa9\xc3\xa9@example.com"
                                   : "\xc3\xa9\xc3\xa9\xc3\xa9@example.org";

            ck_assert_uint_eq(items[k].bend - items[k].bstart, strlen(want));
            ck_assert(memcmp(out + items[k].bstart, want, strlen(want)) == 0);
        }
    }
    ck_assert_uint_eq(nemail, 2);
    free(out);
    sl_pii_result_free(&r);
}
END_TEST

/*
 * An allow list of long entries costs each finding no more than its own
 * length per entry: strlen() of every entry for every finding made 10000
 * findings and 1000 entries of 512 KB (one string, to keep the test
 * small) read 5 TB.
 */
START_TEST(long_allow_list_entries_are_cheap)
{
    const char **allow = malloc(SL_PII_MAX_ALLOW * sizeof(*allow));
    struct sl_pii_opts o = {0};
    struct sl_pii_result r;
    size_t len, blen;
    char *text = repeated("a@b.cd , ", &len), *big = repeated("x", &blen);
    double t0;

    ck_assert_ptr_nonnull(allow);
    for (size_t k = 0; k < SL_PII_MAX_ALLOW; k++)
        allow[k] = big;
    allow[SL_PII_MAX_ALLOW - 1] = "a@b.cd";
    o.allow_list = allow;
    o.nallow = SL_PII_MAX_ALLOW;
    t0 = cpu_now();
    ck_assert_int_eq(sl_pii_analyze(text, 90000, &o, &r), 0);
    ck_assert_uint_eq(r.n, 0); /* every one allowed, by the last entry */
    if (cpu_now() - t0 > 1.0)
        ck_abort_msg("%.2f s", cpu_now() - t0);
    sl_pii_result_free(&r);
    free(text);
    free(big);
    free(allow);
}
END_TEST

static Suite *
pii_suite(void)
{
    Suite *s = suite_create("pii");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, emails);
    tcase_add_test(tc, phones);
    tcase_add_test(tc, cards);
    tcase_add_test(tc, ssns);
    tcase_add_test(tc, ibans);
    tcase_add_test(tc, ips);
    tcase_add_test(tc, urls_macs_dates);
    tcase_add_test(tc, crypto);
    tcase_add_test(tc, context_only_recognizers);
    tcase_add_test(tc, names_and_places);
    tcase_add_test(tc, context_raises_scores);
    tcase_add_test(tc, code_point_offsets);
    tcase_add_test(tc, malformed_and_bounds);
    tcase_add_test(tc, options);
    tcase_add_test(tc, operators);
    tcase_add_test(tc, adversarial_texts_are_linear);
    tcase_add_test(tc, long_url_ends_on_a_character);
    tcase_add_test(tc, items_give_byte_offsets);
    tcase_add_test(tc, long_allow_list_entries_are_cheap);
    suite_add_tcase(s, tc);
    return s;
}

SL_TEST_MAIN(pii_suite)
