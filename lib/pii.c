/*
 * pii.c: the PII engine (see pii.h): recognizers written as scanners over
 * the bytes, the context enhancer, and the anonymization operators.
 *
 * The analysis walks the text once. At the start of each word (a run of
 * ASCII letters and digits and non-ASCII characters) it tries, in order,
 * the recognizers that may begin there; the first that accepts a span
 * reports it and the walk resumes after it, so findings never overlap and
 * come out ordered. Each recognizer validates before it accepts: Luhn for
 * cards, mod-97 and the country's length for IBANs, SHA-256 double hash
 * (base58check) or the bech32 checksum for Bitcoin addresses, mod-11 for
 * NHS numbers, SSA's rules for social security numbers, octet ranges for
 * IPv4, calendar ranges for dates. Context words are looked for in the
 * words around a candidate, at the moment it is found.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "buf.h"
#include "crypto.h"
#include "err.h"
#include "pii.h"
#include "pii_lists.h"
#include "utf8.h"

/* --- entities and recognizers -------------------------------------------
 */

static const char *const entity_names[SL_PII_NENTITIES] = {
    [SL_PII_CREDIT_CARD] = "CREDIT_CARD",
    [SL_PII_CRYPTO] = "CRYPTO",
    [SL_PII_DATE_TIME] = "DATE_TIME",
    [SL_PII_EMAIL_ADDRESS] = "EMAIL_ADDRESS",
    [SL_PII_IBAN_CODE] = "IBAN_CODE",
    [SL_PII_IP_ADDRESS] = "IP_ADDRESS",
    [SL_PII_LOCATION] = "LOCATION",
    [SL_PII_MAC_ADDRESS] = "MAC_ADDRESS",
    [SL_PII_PERSON] = "PERSON",
    [SL_PII_PHONE_NUMBER] = "PHONE_NUMBER",
    [SL_PII_UK_NHS] = "UK_NHS",
    [SL_PII_URL] = "URL",
    [SL_PII_US_BANK_NUMBER] = "US_BANK_NUMBER",
    [SL_PII_US_PASSPORT] = "US_PASSPORT",
    [SL_PII_US_SSN] = "US_SSN",
};

#define WORDS(...)                                                             \
    (const char *const[])                                                      \
    {                                                                          \
        __VA_ARGS__, NULL                                                      \
    }

static const char *const ctx_person[] = {
    "name",     "named",     "mr",      "mrs",     "ms",
    "dr",       "called",    "contact", "patient", "client",
    "customer", "employee",  "dear",    "hi",      "hello",
    "signed",   "sincerely", "regards", "author",  "manager",
    "member",   "user",      "by",      "i'm",     NULL};
static const char *const ctx_location[] = {
    "lives", "live",    "living",  "lived", "in",   "from",  "city",
    "town",  "address", "located", "moved", "born", "visit", "visited",
    "near",  "country", "state",   "based", "to",   "at",    NULL};

/* Indexed by enum sl_pii_entity. */
static const struct sl_pii_recognizer recognizers[SL_PII_NENTITIES] = {
    [SL_PII_CREDIT_CARD] = {"CreditCardRecognizer", SL_PII_CREDIT_CARD, 1.0,
                            "luhn",
                            WORDS("card", "credit", "visa", "mastercard",
                                  "amex", "debit", "payment", "cc"),
                            false},
    [SL_PII_CRYPTO] = {"CryptoRecognizer", SL_PII_CRYPTO, 1.0,
                       "base58check (double SHA-256) or bech32",
                       WORDS("bitcoin", "btc", "wallet", "crypto", "send"),
                       false},
    [SL_PII_DATE_TIME] = {"DateRecognizer", SL_PII_DATE_TIME, 0.6,
                          "calendar ranges",
                          WORDS("date", "born", "birth", "dob", "birthday",
                                "on", "since", "until", "expires", "expiry",
                                "due", "dated"),
                          false},
    [SL_PII_EMAIL_ADDRESS] = {"EmailRecognizer", SL_PII_EMAIL_ADDRESS, 1.0,
                              "RFC 5321 shape, a top-level domain",
                              WORDS("email", "mail", "contact", "address"),
                              false},
    [SL_PII_IBAN_CODE] = {"IbanRecognizer", SL_PII_IBAN_CODE, 1.0,
                          "mod-97 and the country's length",
                          WORDS("iban", "bank", "account", "transfer", "swift",
                                "bic"),
                          false},
    [SL_PII_IP_ADDRESS] = {"IpRecognizer", SL_PII_IP_ADDRESS, 0.6,
                           "octets 0-255 (v4), groups (v6)",
                           WORDS("ip", "ipv4", "ipv6", "server", "host",
                                 "address", "client", "connected"),
                           false},
    [SL_PII_LOCATION] = {"LocationRecognizer", SL_PII_LOCATION, 0.5,
                         "place list", ctx_location, false},
    [SL_PII_MAC_ADDRESS] = {"MacAddressRecognizer", SL_PII_MAC_ADDRESS, 0.8,
                            "six hex octets, one separator",
                            WORDS("mac", "hardware", "device", "ethernet",
                                  "wifi", "interface", "nic"),
                            false},
    [SL_PII_PERSON] = {"PersonRecognizer", SL_PII_PERSON, 0.5,
                       "given-name and family-name lists", ctx_person, false},
    [SL_PII_PHONE_NUMBER] = {"PhoneRecognizer", SL_PII_PHONE_NUMBER, 0.6,
                             "national and international shapes",
                             WORDS("phone", "tel", "telephone", "mobile",
                                   "cell", "call", "fax", "contact", "number",
                                   "whatsapp", "sms"),
                             false},
    [SL_PII_UK_NHS] = {"NhsRecognizer", SL_PII_UK_NHS, 0.65, "mod-11",
                       WORDS("nhs", "health", "patient", "national", "service"),
                       true},
    [SL_PII_URL] = {"UrlRecognizer", SL_PII_URL, 0.6, "scheme or www., a host",
                    WORDS("url", "website", "site", "link", "web", "visit",
                          "homepage"),
                    false},
    [SL_PII_US_BANK_NUMBER] = {"UsBankRecognizer", SL_PII_US_BANK_NUMBER, 0.05,
                               "8 to 17 digits",
                               WORDS("account", "acct", "bank", "checking",
                                     "savings", "routing", "deposit"),
                               true},
    [SL_PII_US_PASSPORT] = {"UsPassportRecognizer", SL_PII_US_PASSPORT, 0.05,
                            "9 digits, or a letter and 8 digits",
                            WORDS("passport", "travel", "document"), true},
    [SL_PII_US_SSN] = {"UsSsnRecognizer", SL_PII_US_SSN, 0.85,
                       "area not 000, 666 or 9xx; group not 00; serial not "
                       "0000",
                       WORDS("ssn", "social", "security", "ssa"), false},
};

/* Words before an IPv4 address that make it a version number. */
static const char *const ip_not_after[] = {
    "version", "ver", "v", "release", "build", "firmware", "tag", NULL};

const char *
sl_pii_entity_name(int e)
{
    return e >= 0 && e < SL_PII_NENTITIES ? entity_names[e] : NULL;
}

int
sl_pii_entity_parse(const char *name)
{
    for (int e = 0; name != NULL && e < SL_PII_NENTITIES; e++)
        if (strcmp(entity_names[e], name) == 0)
            return e;
    return -1;
}

const struct sl_pii_recognizer *
sl_pii_recognizer_at(size_t i)
{
    return i < SL_PII_NENTITIES ? &recognizers[i] : NULL;
}

/* --- bytes ----------------------------------------------------------------
 */

#define C_DIGIT 0x01
#define C_UPPER 0x02
#define C_LOWER 0x04
#define C_HEX   0x08
#define C_HIGH  0x10 /* a byte of a non-ASCII character */
#define C_LOCAL 0x20 /* may stand in an e-mail's local part */
#define C_URL   0x40 /* may stand in a URL after its host */
#define C_WORD  (C_DIGIT | C_UPPER | C_LOWER | C_HIGH)

static const unsigned char cls[256] = {
    ['0' ... '9'] = C_DIGIT | C_HEX | C_LOCAL | C_URL,
    ['A' ... 'F'] = C_UPPER | C_HEX | C_LOCAL | C_URL,
    ['G' ... 'Z'] = C_UPPER | C_LOCAL | C_URL,
    ['a' ... 'f'] = C_LOWER | C_HEX | C_LOCAL | C_URL,
    ['g' ... 'z'] = C_LOWER | C_LOCAL | C_URL,
    [0x80 ... 0xff] = C_HIGH | C_LOCAL | C_URL,
    ['.'] = C_LOCAL | C_URL,
    ['_'] = C_LOCAL | C_URL,
    ['%'] = C_LOCAL | C_URL,
    ['+'] = C_LOCAL | C_URL,
    ['-'] = C_LOCAL | C_URL,
    ['/'] = C_URL,
    ['?'] = C_URL,
    ['='] = C_URL,
    ['&'] = C_URL,
    ['#'] = C_URL,
    ['~'] = C_URL,
    [':'] = C_URL,
    [';'] = C_URL,
    [','] = C_URL,
    ['!'] = C_URL,
    ['*'] = C_URL,
    ['@'] = C_URL,
    ['$'] = C_URL,
    ['\''] = C_URL,
    ['('] = C_URL,
    [')'] = C_URL,
    ['['] = C_URL,
    [']'] = C_URL,
};

#define IS(c, k)   ((cls[(unsigned char)(c)] & (k)) != 0)
#define ISDIG(c)   IS(c, C_DIGIT)
#define ISWORD(c)  IS(c, C_WORD)
#define ISALPHA(c) IS(c, C_UPPER | C_LOWER)
#define LOWER(c)   ((c) >= 'A' && (c) <= 'Z' ? (c) + 32 : (c))

/* The text being analysed and the findings so far. */
struct scan {
    const unsigned char *s;
    size_t len;
    uint32_t want;
    struct sl_pii_match *m;
    size_t n, cap, max;
    const struct sl_pii_opts *o;
    bool too_many;
    size_t next_at; /* where the next '@' is at or after the walk, or len */
};

/* The byte at i, or 0 past the end. */
static inline unsigned char
at(const struct scan *sc, size_t i)
{
    return i < sc->len ? sc->s[i] : 0;
}

/* Where the word starting at i ends (ASCII letters, digits, non-ASCII). */
static size_t
word_end(const struct scan *sc, size_t i)
{
    while (i < sc->len && ISWORD(sc->s[i]))
        i++;
    return i;
}

/*
 * True when a structured finding may end at e: no word character follows,
 * nor a '.', '-', '_' or '@' that is followed by one (the finding would be
 * a piece of something longer).
 */
static bool
ends_clean(const struct scan *sc, size_t e)
{
    unsigned char c = at(sc, e);

    if (ISWORD(c))
        return false;
    if ((c == '.' || c == '-' || c == '_' || c == '@' || c == '/') &&
        ISWORD(at(sc, e + 1)))
        return false;
    return true;
}

/* True when a structured finding may start at i. */
static bool
starts_clean(const struct scan *sc, size_t i)
{
    unsigned char p;

    if (i == 0)
        return true;
    p = sc->s[i - 1];
    return !ISWORD(p) && p != '.' && p != '-' && p != '_' && p != '@' &&
           p != '/' && p != '+' && p != ':' && p != '\\';
}

/* --- context ----------------------------------------------------------------
 */

/* The word of words equal to the n bytes at w (ASCII lower-cased), or NULL. */
static const char *
word_in(const unsigned char *w, size_t n, const char *const *words)
{
    unsigned char c0;

    /* No context word, title or version word is longer than 12. */
    if (n == 0 || n > 12)
        return NULL;
    c0 = (unsigned char)LOWER(w[0]);
    for (; *words != NULL; words++) {
        const char *x = *words;
        size_t k = 1;

        if ((unsigned char)x[0] != c0)
            continue;
        /* x shorter than n stops at its NUL, which no word byte equals;
         * x[n] is read only when x[0..n) all matched. */
        while (k < n && (unsigned char)x[k] == LOWER(w[k]))
            k++;
        if (k == n && x[n] == '\0')
            return x;
    }
    return NULL;
}

/*
 * The first of words standing within `before` words before bs or `after`
 * words after be, or NULL. Gaps of more than 40 bytes between words end
 * the search (another sentence, a table cell).
 */
static const char *
context_near(const struct scan *sc, size_t bs, size_t be,
             const char *const *words, int before, int after)
{
    const unsigned char *s = sc->s;
    size_t i = bs, j = be;
    const char *hit;

    for (int k = 0; k < before && i > 0; k++) {
        size_t gap = 0, e;

        while (i > 0 && !ISWORD(s[i - 1]) && s[i - 1] != '\'' && gap++ < 40)
            i--;
        if (i == 0 || gap > 40)
            break;
        e = i;
        while (i > 0 && (ISWORD(s[i - 1]) || s[i - 1] == '\'') && e - i < 32)
            i--;
        if ((hit = word_in(s + i, e - i, words)) != NULL)
            return hit;
    }
    for (int k = 0; k < after && j < sc->len; k++) {
        size_t gap = 0, b;

        while (j < sc->len && !ISWORD(s[j]) && gap++ < 40)
            j++;
        if (j >= sc->len || gap > 40)
            break;
        b = j;
        while (j < sc->len && ISWORD(s[j]) && j - b < 32)
            j++;
        if ((hit = word_in(s + b, j - b, words)) != NULL)
            return hit;
    }
    return NULL;
}

static const char *
context_for(const struct scan *sc, enum sl_pii_entity e, size_t bs, size_t be)
{
    return context_near(sc, bs, be, recognizers[e].context,
                        SL_PII_CONTEXT_BEFORE, SL_PII_CONTEXT_AFTER);
}

/* --- findings ---------------------------------------------------------------
 */

/*
 * Records a finding of e over [bs, be) with base score base; ctx is the
 * context word found (or looked up here when ctx_known is false). Returns
 * be when the span is taken (reported, or left out by the options: not
 * wanted, under the threshold, allowed), 0 when e needs context and has
 * none, or a negative SL_ENOMEM or SL_ETOOBIG (max_entities reached).
 */
static long
emit_ctx(struct scan *sc, enum sl_pii_entity e, size_t bs, size_t be,
         double base, const char *pattern, const char *ctx, bool ctx_known)
{
    struct sl_pii_match *m;
    double score;

    if (!ctx_known)
        ctx = context_for(sc, e, bs, be);
    if (recognizers[e].needs_context && ctx == NULL)
        return 0;
    score = base + (ctx != NULL ? SL_PII_CONTEXT_BOOST : 0.0);
    if (score > 1.0)
        score = 1.0;
    if ((sc->want & (1u << e)) == 0 || score < sc->o->score_threshold)
        return (long)be;
    /* strnlen(): an entry's length is read no further than the span's,
     * or each finding would read every entry of the list to its end. */
    for (size_t k = 0; k < sc->o->nallow; k++) {
        const char *a = sc->o->allow_list[k];

        if (a != NULL && strnlen(a, be - bs + 1) == be - bs &&
            memcmp(a, sc->s + bs, be - bs) == 0)
            return (long)be;
    }
    if (sc->n == sc->max) {
        sc->too_many = true;
        return SL_ETOOBIG;
    }
    if (sc->n == sc->cap) {
        size_t cap = sc->cap == 0 ? 16 : sc->cap * 2;
        struct sl_pii_match *nm;

        if (cap > sc->max)
            cap = sc->max;
        nm = realloc(sc->m, cap * sizeof(*nm));
        if (nm == NULL)
            return SL_ENOMEM;
        sc->m = nm;
        sc->cap = cap;
    }
    m = &sc->m[sc->n++];
    memset(m, 0, sizeof(*m));
    m->entity = e;
    m->bstart = bs;
    m->bend = be;
    m->score = score;
    m->base_score = base;
    m->pattern = pattern;
    m->validation = recognizers[e].validation;
    m->context_word = ctx;
    return (long)be;
}

static long
emit(struct scan *sc, enum sl_pii_entity e, size_t bs, size_t be, double base,
     const char *pattern)
{
    return emit_ctx(sc, e, bs, be, base, pattern, NULL, false);
}

/* --- e-mail addresses and URLs ------------------------------------------
 */

/* A host name at i: labels of letters, digits, '-' and non-ASCII,
 * separated by dots; at least two labels, the last of two or more letters.
 * Returns its end, or 0. */
static size_t
host_end(const struct scan *sc, size_t i, bool need_dot)
{
    size_t p = i, last_label = i, labels = 0, end = 0;

    while (p < sc->len && p - i < 253) {
        size_t b = p;

        while (p < sc->len && (ISWORD(sc->s[p]) || sc->s[p] == '-') &&
               p - b < 63)
            p++;
        if (p == b || sc->s[b] == '-' || sc->s[p - 1] == '-')
            break;
        labels++;
        last_label = b;
        end = p;
        if (at(sc, p) == '.' && ISWORD(at(sc, p + 1)))
            p++;
        else
            break;
    }
    if (end == 0 || (need_dot && labels < 2))
        return 0;
    if (labels >= 2) {
        /* The top-level domain: two or more letters (or non-ASCII). */
        size_t n = 0;

        for (size_t k = last_label; k < end; k++) {
            if (!IS(sc->s[k], C_UPPER | C_LOWER | C_HIGH))
                return 0;
            n++;
        }
        if (n < 2)
            return 0;
    }
    return end;
}

static long
try_email(struct scan *sc, size_t i, size_t we)
{
    size_t p = we, h;

    /* Not from the middle of something that is no local part. */
    if (i > 0 && IS(sc->s[i - 1], C_LOCAL))
        return 0;
    /* From the word's end we (the word is local-part characters) to the
     * next '@', only local-part characters. */
    while (p < sc->next_at && IS(sc->s[p], C_LOCAL))
        p++;
    if (p != sc->next_at || at(sc, p) != '@' || p - i > 64 ||
        sc->s[p - 1] == '.')
        return 0;
    for (size_t k = i; k + 1 < p; k++)
        if (sc->s[k] == '.' && sc->s[k + 1] == '.')
            return 0;
    if ((h = host_end(sc, p + 1, true)) == 0 || !ends_clean(sc, h))
        return 0;
    return emit(sc, SL_PII_EMAIL_ADDRESS, i, h, 1.0, "email");
}

static bool
prefix_ci(const struct scan *sc, size_t i, const char *p)
{
    for (; *p != '\0'; p++, i++)
        if (i >= sc->len || LOWER(sc->s[i]) != *p)
            return false;
    return true;
}

static long
try_url(struct scan *sc, size_t i)
{
    static const char *const schemes[] = {"https://", "http://", "ftp://",
                                          "www."};
    size_t p = 0, h, e;
    int depth = 0;
    bool scheme = false;

    for (size_t k = 0; k < 4 && !scheme; k++)
        if (prefix_ci(sc, i, schemes[k])) {
            p = i + (k < 3 ? strlen(schemes[k]) : 0);
            scheme = true;
        }
    if (!scheme || !starts_clean(sc, i))
        return 0;
    /* user@ is not taken apart: the host follows the scheme. */
    if ((h = host_end(sc, p, false)) == 0)
        return 0;
    if (h - p < 4 && !prefix_ci(sc, p, "localhost")) {
        bool dot = false;

        for (size_t k = p; k < h; k++)
            dot |= sc->s[k] == '.';
        if (!dot)
            return 0;
    }
    e = h;
    while (e < sc->len && IS(sc->s[e], C_URL) && e - i < 2048) {
        if (sc->s[e] == '(')
            depth++;
        else if (sc->s[e] == ')' && --depth < 0)
            break;
        e++;
    }
    /* The length bound may stop inside a character: the URL ends before
     * it, so that no finding splits one (a split character made the
     * anonymized text malformed UTF-8). */
    while (e > p && e < sc->len && (sc->s[e] & 0xc0) == 0x80)
        e--;
    if (e <= p)
        return 0;
    /* Trailing punctuation belongs to the sentence. */
    while (e > h && memchr(".,;:!?'*", sc->s[e - 1], 8) != NULL)
        e--;
    return emit(sc, SL_PII_URL, i, e, 0.6, "url");
}

/* --- numbers ----------------------------------------------------------------
 */

static bool
luhn(const char *d, size_t n)
{
    int sum = 0;

    for (size_t k = 0; k < n; k++) {
        int x = d[n - 1 - k] - '0';

        if (k % 2 == 1 && (x *= 2) > 9)
            x -= 9;
        sum += x;
    }
    return sum % 10 == 0;
}

/* Whether the digits start like a card of a known brand. */
static bool
card_brand(const char *d, size_t n)
{
    int two = (d[0] - '0') * 10 + (d[1] - '0');
    int four = two * 100 + (d[2] - '0') * 10 + (d[3] - '0');

    if (d[0] == '4')
        return n == 13 || n == 16 || n == 19; /* Visa */
    if ((two >= 51 && two <= 55) || (four >= 2221 && four <= 2720))
        return n == 16; /* Mastercard */
    if (two == 34 || two == 37)
        return n == 15; /* American Express */
    if (four == 6011 || two == 65 || (four >= 6440 && four <= 6499))
        return n >= 16; /* Discover */
    if (two == 35)
        return n >= 16; /* JCB */
    if (two == 36 || two == 38 || two == 30)
        return n >= 14; /* Diners Club */
    if (two == 62)
        return n >= 16; /* UnionPay */
    if (four == 5018 || four == 5020 || four == 5038 || four == 6304 ||
        two == 67)
        return n >= 12; /* Maestro */
    return false;
}

static bool
ssn_valid(const char *d)
{
    int area = (d[0] - '0') * 100 + (d[1] - '0') * 10 + (d[2] - '0');

    if (area == 0 || area == 666 || area >= 900)
        return false;
    if (d[3] == '0' && d[4] == '0')
        return false;
    if (memcmp(d + 5, "0000", 4) == 0)
        return false;
    /* The numbers SSA says were used in advertising, and all one digit. */
    if (memcmp(d, "078051120", 9) == 0 || memcmp(d, "219099999", 9) == 0 ||
        memcmp(d, "123456789", 9) == 0)
        return false;
    return true;
}

static bool
nhs_valid(const char *d)
{
    int sum = 0, check;

    for (int k = 0; k < 9; k++)
        sum += (d[k] - '0') * (10 - k);
    check = 11 - sum % 11;
    if (check == 11)
        check = 0;
    return check != 10 && check == d[9] - '0';
}

/* A run of digit groups: "(415) 555-0132", "4111 1111 1111 1111". */
#define MAX_GROUPS 8
#define MAX_DIGITS 19
struct numtok {
    size_t b, e;            /* bytes */
    char d[MAX_DIGITS + 1]; /* the digits */
    size_t nd;
    int glen[MAX_GROUPS];    /* digits per group */
    char sep[MAX_GROUPS];    /* separator before group k (0 for the first) */
    size_t gend[MAX_GROUPS]; /* where group k ends (after a ')') */
    size_t gnd[MAX_GROUPS];  /* digits up to the end of group k */
    int ng;
    bool plus, paren;
};

/*
 * Reads digit groups from i: digits, separated by one of ' ', '-', '.',
 * '/', one group of them possibly in parentheses ("+1 (415) 555-0132"),
 * at most MAX_GROUPS groups and MAX_DIGITS digits (reading stops before a
 * group that would pass them). Returns false when there is nothing of the
 * kind.
 */
static bool
read_number(const struct scan *sc, size_t i, struct numtok *t)
{
    size_t p = i;
    bool paren_used = false;

    /* The arrays are filled as groups are read; only these start at 0. */
    t->nd = 0;
    t->ng = 0;
    t->plus = t->paren = false;
    t->sep[0] = 0;
    t->b = i;
    if (at(sc, p) == '+') {
        t->plus = true;
        p++;
    }
    for (;;) {
        size_t g = p, nd = t->nd;
        bool in_paren = false;

        if (at(sc, p) == '(' && !paren_used && ISDIG(at(sc, p + 1))) {
            in_paren = paren_used = true;
            if (t->ng == 0)
                t->paren = true;
            g = ++p;
        }
        while (p < sc->len && ISDIG(sc->s[p]) && nd < MAX_DIGITS)
            t->d[nd++] = (char)sc->s[p++];
        if (p == g || ISDIG(at(sc, p)))
            break; /* nothing, or a group too long: stop before it */
        if (in_paren) {
            if (at(sc, p) != ')')
                break;
            p++;
        }
        t->glen[t->ng] = (int)(p - g - in_paren);
        t->gend[t->ng] = p;
        t->gnd[t->ng] = nd;
        t->nd = nd;
        t->ng++;
        if (t->ng == MAX_GROUPS)
            break;
        {
            unsigned char c = at(sc, p);
            size_t q = p + 1;

            if (in_paren && ISDIG(c)) {
                t->sep[t->ng] = ')';
                continue;
            }
            if (c == ' ' || c == '-' || c == '.' || c == '/') {
                if (at(sc, q) == '(' && !paren_used && c == ' ')
                    q++;
                if (ISDIG(at(sc, q))) {
                    t->sep[t->ng] = (char)c;
                    p++;
                    continue;
                }
            }
        }
        break;
    }
    if (t->ng == 0)
        return false;
    t->e = t->gend[t->ng - 1];
    t->d[t->nd] = '\0';
    return true;
}

/* Keeps the first k groups of t. */
static void
number_prefix(struct numtok *t, int k)
{
    t->ng = k;
    t->e = t->gend[k - 1];
    t->nd = t->gnd[k - 1];
    t->d[t->nd] = '\0';
}

/* True when every separator after the first group is c. */
static bool
seps_all(const struct numtok *t, int from, char c)
{
    for (int k = from; k < t->ng; k++)
        if (t->sep[k] != c)
            return false;
    return true;
}

/* Whether t (or its first ng groups) has group lengths l[0..n). */
static bool
shape(const struct numtok *t, int n, const int *l)
{
    if (t->ng != n)
        return false;
    for (int k = 0; k < n; k++)
        if (t->glen[k] != l[k])
            return false;
    return true;
}

#define SHAPE(t, ...)                                                          \
    shape(t, (int)(sizeof((int[]){__VA_ARGS__}) / sizeof(int)),                \
          (int[]){__VA_ARGS__})

static int
num2(const char *d)
{
    return (d[0] - '0') * 10 + (d[1] - '0');
}

static bool
ymd_valid(int y, int m, int d)
{
    static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

    return y >= 1000 && y <= 2999 && m >= 1 && m <= 12 && d >= 1 &&
           d <= mdays[m - 1];
}

/* After a date ending at e: "T10:30", " 10:30:00", "Z", "+02:00". */
static size_t
time_end(const struct scan *sc, size_t e)
{
    size_t p = e;

    if ((at(sc, p) == 'T' || at(sc, p) == ' ') && ISDIG(at(sc, p + 1)) &&
        ISDIG(at(sc, p + 2)) && at(sc, p + 3) == ':' && ISDIG(at(sc, p + 4)) &&
        ISDIG(at(sc, p + 5))) {
        int hh = num2((const char *)sc->s + p + 1),
            mm = num2((const char *)sc->s + p + 4);

        if (hh > 23 || mm > 59)
            return e;
        p += 6;
        if (at(sc, p) == ':' && ISDIG(at(sc, p + 1)) && ISDIG(at(sc, p + 2)))
            p += 3;
        if (at(sc, p) == '.' && ISDIG(at(sc, p + 1)))
            for (p++; ISDIG(at(sc, p)); p++)
                ;
        if (at(sc, p) == 'Z')
            p++;
        else if ((at(sc, p) == '+' || at(sc, p) == '-') &&
                 ISDIG(at(sc, p + 1)) && ISDIG(at(sc, p + 2)) &&
                 at(sc, p + 3) == ':' && ISDIG(at(sc, p + 4)) &&
                 ISDIG(at(sc, p + 5)))
            p += 6;
        return p;
    }
    return e;
}

/* A numeric date: 2024-01-15, 15/01/2024, 01/15/2024, 15.01.2024. */
static long
try_numeric_date(struct scan *sc, const struct numtok *t)
{
    const char *d = t->d;
    int y, a, b;

    if (t->plus || t->paren || t->ng != 3)
        return 0;
    if (SHAPE(t, 4, 2, 2) && t->sep[1] == t->sep[2] &&
        (t->sep[1] == '-' || t->sep[1] == '/')) {
        y = atoi((char[]){d[0], d[1], d[2], d[3], 0});
        if (!ymd_valid(y, num2(d + 4), num2(d + 6)))
            return 0;
        if (!ends_clean(sc, time_end(sc, t->e)))
            return 0;
        return emit(sc, SL_PII_DATE_TIME, t->b, time_end(sc, t->e), 0.6,
                    "date (ISO 8601)");
    }
    if (t->glen[2] == 4 && t->glen[0] <= 2 && t->glen[1] <= 2 &&
        t->sep[1] == t->sep[2] &&
        (t->sep[1] == '/' || t->sep[1] == '-' || t->sep[1] == '.')) {
        const char *p = d;

        a = t->glen[0] == 2 ? num2(p) : p[0] - '0';
        p += t->glen[0];
        b = t->glen[1] == 2 ? num2(p) : p[0] - '0';
        p += t->glen[1];
        y = atoi(p);
        /* Day first or month first: either reading will do. */
        if ((!ymd_valid(y, b, a) && !ymd_valid(y, a, b)) ||
            !ends_clean(sc, t->e))
            return 0;
        return emit(sc, SL_PII_DATE_TIME, t->b, t->e, 0.6, "date (numeric)");
    }
    return 0;
}

/* North American numbering: area and exchange start with 2-9. */
static bool
nanp(const char *d)
{
    return d[0] >= '2' && d[3] >= '2' && !(d[1] == '1' && d[2] == '1');
}

static long
try_phone(struct scan *sc, const struct numtok *t)
{
    size_t nd = t->nd;

    if (t->plus) {
        /* +CC and groups: 8 to 15 digits in all, two groups or more
         * (or one of 10 to 15 digits). */
        if (nd < 8 || nd > 15 || (t->ng < 2 && nd < 10) || t->d[0] == '0')
            return 0;
        for (int k = 1; k < t->ng; k++)
            if (t->sep[k] == '/')
                return 0;
        return emit(sc, SL_PII_PHONE_NUMBER, t->b, t->e, 0.7,
                    "phone (international)");
    }
    if (t->paren) {
        if (nd == 10 && t->glen[0] == 3 && nanp(t->d) &&
            (SHAPE(t, 3, 3, 4) || SHAPE(t, 3, 7)))
            return emit(sc, SL_PII_PHONE_NUMBER, t->b, t->e, 0.6,
                        "phone (national, US)");
        if (t->d[0] == '0' && nd >= 9 && nd <= 11)
            return emit(sc, SL_PII_PHONE_NUMBER, t->b, t->e, 0.5,
                        "phone (national)");
        return 0;
    }
    if (t->ng >= 2 && seps_all(t, 2, t->sep[1]) && t->sep[1] != '/') {
        if (nd == 10 && SHAPE(t, 3, 3, 4) && nanp(t->d))
            return emit(sc, SL_PII_PHONE_NUMBER, t->b, t->e, 0.6,
                        "phone (national, US)");
        if (nd == 11 && t->d[0] == '1' && SHAPE(t, 1, 3, 3, 4) &&
            nanp(t->d + 1))
            return emit(sc, SL_PII_PHONE_NUMBER, t->b, t->e, 0.6,
                        "phone (national, US)");
        if (t->d[0] == '0' && t->d[1] != '0' && nd >= 9 && nd <= 11 &&
            t->sep[1] != '.')
            return emit(sc, SL_PII_PHONE_NUMBER, t->b, t->e, 0.5,
                        "phone (national)");
        if (t->d[0] == '0' && t->d[1] != '0' && nd == 10 && t->ng == 5)
            return emit(sc, SL_PII_PHONE_NUMBER, t->b, t->e, 0.5,
                        "phone (national)");
    }
    /* Bare digits: a phone number only with a phone word nearby. */
    if (t->ng == 1 && ((nd == 10 && (nanp(t->d) || t->d[0] == '0')) ||
                       (nd == 11 && t->d[0] == '0'))) {
        const char *c = context_for(sc, SL_PII_PHONE_NUMBER, t->b, t->e);

        if (c != NULL)
            return emit_ctx(sc, SL_PII_PHONE_NUMBER, t->b, t->e, 0.4,
                            "phone (digits only)", c, true);
    }
    return 0;
}

/* Classifies the digit groups t (starting at i). */
static long
classify_number(struct scan *sc, size_t i, const struct numtok *t)
{
    long r;

    if ((r = try_numeric_date(sc, t)) != 0)
        return r;
    if (!ends_clean(sc, t->e))
        return 0;
    if (!t->plus && !t->paren) {
        /* Cards: 13 to 19 digits, groups by ' ' or '-' or none. */
        if (t->nd >= 13 && t->nd <= 19 &&
            (t->ng == 1 || ((seps_all(t, 1, ' ') || seps_all(t, 1, '-')) &&
                            t->glen[0] == 4)) &&
            card_brand(t->d, t->nd) && luhn(t->d, t->nd))
            return emit(sc, SL_PII_CREDIT_CARD, i, t->e, 1.0, "credit card");
        /* Social security numbers: 123-45-6789, 123 45 6789. */
        if (t->nd == 9 && SHAPE(t, 3, 2, 4) && t->sep[1] == t->sep[2] &&
            (t->sep[1] == '-' || t->sep[1] == ' ')) {
            if (!ssn_valid(t->d))
                return (long)t->e; /* looks like one; is none: skip it */
            return emit(sc, SL_PII_US_SSN, i, t->e,
                        t->sep[1] == '-' ? 0.85 : 0.6, "ssn (formatted)");
        }
        /* Nine bare digits: by their context. */
        if (t->nd == 9 && t->ng == 1) {
            const char *c = ssn_valid(t->d)
                                ? context_for(sc, SL_PII_US_SSN, i, t->e)
                                : NULL;

            if (c != NULL)
                return emit_ctx(sc, SL_PII_US_SSN, i, t->e, 0.5,
                                "ssn (digits only)", c, true);
            if ((r = emit(sc, SL_PII_US_PASSPORT, i, t->e, 0.05,
                          "passport (9 digits)")) != 0)
                return r;
        }
        /* NHS numbers: 943 476 5919, with an NHS word nearby; one that
         * fails its check there is a mistyped NHS number, not a phone's. */
        if (t->nd == 10 &&
            (t->ng == 1 || (SHAPE(t, 3, 3, 4) && t->sep[1] == t->sep[2] &&
                            t->sep[1] != '.')) &&
            !nhs_valid(t->d) && context_for(sc, SL_PII_UK_NHS, i, t->e) != NULL)
            return (long)t->e;
        /* NHS numbers: 943 476 5919, with an NHS word nearby. */
        if (t->nd == 10 &&
            (t->ng == 1 || (SHAPE(t, 3, 3, 4) && t->sep[1] == t->sep[2] &&
                            t->sep[1] != '.')) &&
            nhs_valid(t->d) &&
            (r = emit(sc, SL_PII_UK_NHS, i, t->e, 0.65, "nhs number")) != 0)
            return r;
    }
    /* Bare digits by a bank word are an account, before a phone. */
    if (!t->plus && !t->paren && t->ng == 1 && t->nd >= 8 && t->nd <= 17 &&
        context_for(sc, SL_PII_US_BANK_NUMBER, i, t->e) != NULL &&
        (r = emit(sc, SL_PII_US_BANK_NUMBER, i, t->e, 0.05,
                  "bank account (digits)")) != 0)
        return r;
    if ((r = try_phone(sc, t)) != 0)
        return r;
    if (!t->plus && !t->paren && t->ng == 1 && t->nd >= 8 && t->nd <= 17 &&
        (r = emit(sc, SL_PII_US_BANK_NUMBER, i, t->e, 0.05,
                  "bank account (digits)")) != 0)
        return r;
    return 0;
}

/*
 * The digit groups at i, or the longest run of their first groups that is
 * something: "4111111111111111 4111111111111112" is two numbers.
 */
static long
try_number(struct scan *sc, size_t i)
{
    struct numtok t;
    long r;

    if (!read_number(sc, i, &t) || !starts_clean(sc, i))
        return 0;
    for (int k = t.ng; k >= 1; k--) {
        number_prefix(&t, k);
        if ((r = classify_number(sc, i, &t)) != 0)
            return r;
    }
    return 0;
}

/* --- network addresses ------------------------------------------------------
 */

static long
try_ipv4(struct scan *sc, size_t i)
{
    size_t p = i;

    for (int k = 0; k < 4; k++) {
        size_t b = p;
        int v = 0;

        while (p < sc->len && ISDIG(sc->s[p]) && p - b < 3)
            v = v * 10 + (sc->s[p++] - '0');
        if (p == b || ISDIG(at(sc, p)) || v > 255 ||
            (p - b > 1 && sc->s[b] == '0'))
            return 0;
        if (k < 3) {
            if (at(sc, p) != '.' || !ISDIG(at(sc, p + 1)))
                return 0;
            p++;
        }
    }
    /* A CIDR suffix belongs to the address. */
    if (at(sc, p) == '/' && ISDIG(at(sc, p + 1))) {
        size_t q = p + 1;
        int v = 0;

        while (ISDIG(at(sc, q)) && q - p <= 2)
            v = v * 10 + (sc->s[q++] - '0');
        if (v <= 32 && !ISWORD(at(sc, q)))
            p = q;
    }
    if (!ends_clean(sc, p) || !starts_clean(sc, i))
        return 0;
    if (context_near(sc, i, p, ip_not_after, 2, 0) != NULL)
        return (long)p; /* a version number: skipped */
    if (i > 0 && (sc->s[i - 1] == 'v' || sc->s[i - 1] == 'V') &&
        (i == 1 || !ISWORD(sc->s[i - 2])))
        return (long)p;
    return emit(sc, SL_PII_IP_ADDRESS, i, p, 0.6, "ipv4");
}

static long
try_ipv6(struct scan *sc, size_t i)
{
    size_t p = i, groups = 0;
    bool dbl = false;

    if (at(sc, p) == ':' && at(sc, p + 1) == ':') {
        dbl = true;
        p += 2;
    }
    for (;;) {
        size_t b = p;

        while (p < sc->len && IS(sc->s[p], C_HEX) && p - b < 5)
            p++;
        if (p - b > 4)
            return 0;
        if (p == b) {
            if (groups == 0 && !dbl)
                return 0;
            break;
        }
        groups++;
        if (at(sc, p) == ':' && at(sc, p + 1) == ':' && !dbl && groups < 8) {
            dbl = true;
            p += 2;
            continue;
        }
        if (at(sc, p) == ':' && IS(at(sc, p + 1), C_HEX) && groups < 8) {
            p++;
            continue;
        }
        break;
    }
    if ((dbl ? groups > 7 : groups != 8) || groups + dbl < 2 ||
        ISWORD(at(sc, p)) || !starts_clean(sc, i))
        return 0;
    if (dbl && groups < 2 && p - i < 3)
        return 0;
    return emit(sc, SL_PII_IP_ADDRESS, i, p, 0.6, "ipv6");
}

static long
try_mac(struct scan *sc, size_t i)
{
    const unsigned char *s = sc->s + i;
    size_t need;

    if (!starts_clean(sc, i))
        return 0;
    /* 00:1A:2B:3C:4D:5E, 00-1A-2B-3C-4D-5E */
    need = 17;
    if (i + need <= sc->len && (s[2] == ':' || s[2] == '-')) {
        bool ok = true;

        for (size_t k = 0; k < 17 && ok; k++)
            ok = k % 3 == 2 ? s[k] == s[2] : IS(s[k], C_HEX);
        if (ok && ends_clean(sc, i + 17) && at(sc, i + 17) != ':')
            return emit(sc, SL_PII_MAC_ADDRESS, i, i + 17, 0.8,
                        "mac (colon or hyphen)");
    }
    /* 001a.2b3c.4d5e */
    need = 14;
    if (i + need <= sc->len && s[4] == '.' && s[9] == '.') {
        bool ok = true;

        for (size_t k = 0; k < 14 && ok; k++)
            ok = k == 4 || k == 9 || IS(s[k], C_HEX);
        if (ok && ends_clean(sc, i + 14))
            return emit(sc, SL_PII_MAC_ADDRESS, i, i + 14, 0.8, "mac (dot)");
    }
    return 0;
}

/* --- IBAN -------------------------------------------------------------------
 */

static const struct {
    char cc[3];
    int len;
} iban_lengths[] = {
    {"AD", 24}, {"AE", 23}, {"AL", 28}, {"AT", 20}, {"AZ", 28}, {"BA", 20},
    {"BE", 16}, {"BG", 22}, {"BH", 22}, {"BR", 29}, {"BY", 28}, {"CH", 21},
    {"CR", 22}, {"CY", 28}, {"CZ", 24}, {"DE", 22}, {"DK", 18}, {"DO", 28},
    {"EE", 20}, {"EG", 29}, {"ES", 24}, {"FI", 18}, {"FO", 18}, {"FR", 27},
    {"GB", 22}, {"GE", 22}, {"GI", 23}, {"GL", 18}, {"GR", 27}, {"GT", 28},
    {"HR", 21}, {"HU", 28}, {"IE", 22}, {"IL", 23}, {"IQ", 23}, {"IS", 26},
    {"IT", 27}, {"JO", 30}, {"KW", 30}, {"KZ", 20}, {"LB", 28}, {"LC", 32},
    {"LI", 21}, {"LT", 20}, {"LU", 20}, {"LV", 21}, {"MC", 27}, {"MD", 24},
    {"ME", 22}, {"MK", 19}, {"MR", 27}, {"MT", 31}, {"MU", 30}, {"NL", 18},
    {"NO", 15}, {"PK", 24}, {"PL", 28}, {"PS", 29}, {"PT", 25}, {"QA", 29},
    {"RO", 24}, {"RS", 22}, {"SA", 24}, {"SC", 31}, {"SE", 24}, {"SI", 19},
    {"SK", 24}, {"SM", 27}, {"ST", 25}, {"SV", 28}, {"TL", 23}, {"TN", 24},
    {"TR", 26}, {"UA", 29}, {"VA", 22}, {"VG", 24}, {"XK", 20},
};

static int
iban_length(const unsigned char *cc)
{
    for (size_t k = 0; k < sizeof(iban_lengths) / sizeof(iban_lengths[0]); k++)
        if (iban_lengths[k].cc[0] == cc[0] && iban_lengths[k].cc[1] == cc[1])
            return iban_lengths[k].len;
    return 0;
}

static long
try_iban(struct scan *sc, size_t i)
{
    char c[40];
    int want, n = 0, rem = 0;
    size_t p = i;

    if (!IS(at(sc, i + 1), C_UPPER) || !ISDIG(at(sc, i + 2)) ||
        !ISDIG(at(sc, i + 3)) || !starts_clean(sc, i) ||
        (want = iban_length(sc->s + i)) == 0)
        return 0;
    while (n < want && p < sc->len) {
        unsigned char ch = sc->s[p];

        if (IS(ch, C_UPPER | C_DIGIT)) {
            c[n++] = (char)ch;
            p++;
        } else if (ch == ' ' && n % 4 == 0 && n > 0 &&
                   IS(at(sc, p + 1), C_UPPER | C_DIGIT)) {
            p++;
        } else {
            break;
        }
    }
    if (n != want || !ends_clean(sc, p))
        return 0;
    /* mod-97 of the rearranged number, letters as 10..35. */
    for (int k = 0; k < n; k++) {
        char ch = c[(k + 4) % n];

        if (ch >= 'A')
            rem = (rem * 100 + (ch - 'A' + 10)) % 97;
        else
            rem = (rem * 10 + (ch - '0')) % 97;
    }
    if (rem != 1)
        return (long)p; /* an IBAN's shape, a wrong checksum: skipped */
    return emit(sc, SL_PII_IBAN_CODE, i, p, 1.0, "iban");
}

/* --- Bitcoin ----------------------------------------------------------------
 */

/* Base58 digits: value + 1 of each character of Bitcoin's alphabet
 * (123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz), 0 for the
 * rest. */
static const unsigned char b58[256] = {
    ['1'] = 1,  ['2'] = 2,  ['3'] = 3,  ['4'] = 4,  ['5'] = 5,  ['6'] = 6,
    ['7'] = 7,  ['8'] = 8,  ['9'] = 9,  ['A'] = 10, ['B'] = 11, ['C'] = 12,
    ['D'] = 13, ['E'] = 14, ['F'] = 15, ['G'] = 16, ['H'] = 17, ['J'] = 18,
    ['K'] = 19, ['L'] = 20, ['M'] = 21, ['N'] = 22, ['P'] = 23, ['Q'] = 24,
    ['R'] = 25, ['S'] = 26, ['T'] = 27, ['U'] = 28, ['V'] = 29, ['W'] = 30,
    ['X'] = 31, ['Y'] = 32, ['Z'] = 33, ['a'] = 34, ['b'] = 35, ['c'] = 36,
    ['d'] = 37, ['e'] = 38, ['f'] = 39, ['g'] = 40, ['h'] = 41, ['i'] = 42,
    ['j'] = 43, ['k'] = 44, ['m'] = 45, ['n'] = 46, ['o'] = 47, ['p'] = 48,
    ['q'] = 49, ['r'] = 50, ['s'] = 51, ['t'] = 52, ['u'] = 53, ['v'] = 54,
    ['w'] = 55, ['x'] = 56, ['y'] = 57, ['z'] = 58,
};

static int
b58val(unsigned char c)
{
    return (int)b58[c] - 1;
}

/* Base58check: 25 bytes, version 0 or 5, checksum = SHA256(SHA256(21)).
 * The number is built in seven 32-bit limbs (28 bytes; the top three
 * must stay 0). */
static bool
base58check(const unsigned char *s, size_t n)
{
    uint32_t limb[7] = {0};
    unsigned char b[28], h1[SL_SHA256_LEN], h2[SL_SHA256_LEN];

    for (size_t k = 0; k < n; k++) {
        int v = b58val(s[k]);
        uint64_t carry;

        if (v < 0)
            return false;
        carry = (uint64_t)v;
        for (int j = 6; j >= 0; j--) {
            uint64_t t = (uint64_t)limb[j] * 58 + carry;

            limb[j] = (uint32_t)t;
            carry = t >> 32;
        }
        if (carry != 0)
            return false;
    }
    for (int j = 0; j < 7; j++) {
        b[4 * j] = (unsigned char)(limb[j] >> 24);
        b[4 * j + 1] = (unsigned char)(limb[j] >> 16);
        b[4 * j + 2] = (unsigned char)(limb[j] >> 8);
        b[4 * j + 3] = (unsigned char)limb[j];
    }
    if (b[0] != 0 || b[1] != 0 || b[2] != 0 || (b[3] != 0 && b[3] != 5))
        return false;
    if (sl_sha256(b + 3, 21, h1) != 0 || sl_sha256(h1, sizeof(h1), h2) != 0)
        return false;
    return memcmp(h2, b + 24, 4) == 0;
}

static bool
bech32_valid(const unsigned char *s, size_t n)
{
    static const char charset[] = "qpzry9x8gf2tvdw0s3jn54khce6mua7l";
    static const uint32_t gen[5] = {0x3b6a57b2, 0x26508e6d, 0x1ea119fa,
                                    0x3d4233dd, 0x2a1462b3};
    uint32_t chk = 1;
    bool upper = s[0] == 'B';
    size_t sep = 2; /* "bc" then '1' */

    /* The human-readable part, expanded: high bits, 0, low bits. */
    for (size_t k = 0; k < sep; k++) {
        uint32_t top = chk >> 25;

        chk = ((chk & 0x1ffffff) << 5) ^ ((unsigned)LOWER(s[k]) >> 5);
        for (int g = 0; g < 5; g++)
            if ((top >> g) & 1)
                chk ^= gen[g];
    }
    for (size_t k = 0; k <= sep; k++) {
        uint32_t top = chk >> 25,
                 v = k == 0 ? 0 : (unsigned)LOWER(s[k - 1]) & 31;

        chk = ((chk & 0x1ffffff) << 5) ^ v;
        for (int g = 0; g < 5; g++)
            if ((top >> g) & 1)
                chk ^= gen[g];
    }
    for (size_t k = sep + 1; k < n; k++) {
        unsigned char c = s[k];
        const char *p;
        uint32_t top = chk >> 25;

        if ((upper && c >= 'a' && c <= 'z') || (!upper && c >= 'A' && c <= 'Z'))
            return false;
        p = c != 0 ? memchr(charset, LOWER(c), 32) : NULL;
        if (p == NULL)
            return false;
        chk = ((chk & 0x1ffffff) << 5) ^ (uint32_t)(p - charset);
        for (int g = 0; g < 5; g++)
            if ((top >> g) & 1)
                chk ^= gen[g];
    }
    return chk == 1 || chk == 0x2bc830a3; /* bech32, bech32m */
}

static long
try_bitcoin(struct scan *sc, size_t i)
{
    size_t e = word_end(sc, i), n = e - i;

    if (!starts_clean(sc, i) || !ends_clean(sc, e))
        return 0;
    if ((sc->s[i] == '1' || sc->s[i] == '3') && n >= 26 && n <= 35 &&
        base58check(sc->s + i, n))
        return emit(sc, SL_PII_CRYPTO, i, e, 1.0, "bitcoin (base58check)");
    if (n >= 14 && n <= 74 && (prefix_ci(sc, i, "bc1")) &&
        bech32_valid(sc->s + i, n))
        return emit(sc, SL_PII_CRYPTO, i, e, 1.0, "bitcoin (bech32)");
    return 0;
}

/* --- dates with month names -------------------------------------------------
 */

static const char *const months[] = {
    "january", "february", "march",     "april",   "may",      "june",
    "july",    "august",   "september", "october", "november", "december"};

/* The month (1-12) named by the word [b, e), full or three letters (and
 * "sept"), or 0. */
static int
month_at(const struct scan *sc, size_t b, size_t e)
{
    size_t n = e - b;

    if (n < 3 || n > 9)
        return 0;
    static const size_t mlen[12] = {7, 8, 5, 5, 3, 4, 4, 6, 9, 7, 8, 8};

    for (int k = 0; k < 12; k++) {
        size_t ml = mlen[k];

        if (n != ml && n != 3 && !(k == 8 && n == 4))
            continue;
        if (n > ml)
            continue;
        size_t j = 0;

        while (j < n && LOWER(sc->s[b + j]) == months[k][j])
            j++;
        if (j == n)
            return k + 1;
    }
    return 0;
}

/* Reads 1-2 digits (a day, with an optional st/nd/rd/th) or 4 (a year). */
static size_t
read_int(const struct scan *sc, size_t p, int maxd, int *v)
{
    size_t b = p;

    *v = 0;
    while (ISDIG(at(sc, p)) && (int)(p - b) < maxd)
        *v = *v * 10 + (sc->s[p++] - '0');
    if (p == b || ISDIG(at(sc, p)))
        return 0;
    return p;
}

static size_t
skip_ordinal(const struct scan *sc, size_t p)
{
    if (prefix_ci(sc, p, "st") || prefix_ci(sc, p, "nd") ||
        prefix_ci(sc, p, "rd") || prefix_ci(sc, p, "th"))
        if (!ISWORD(at(sc, p + 2)))
            return p + 2;
    return p;
}

/* "January 5, 2024", "Jan 5 2024", "March 2024". */
static long
try_month_date(struct scan *sc, size_t i)
{
    size_t e = word_end(sc, i), p, q;
    int m = month_at(sc, i, e), d, y;

    if (m == 0)
        return 0;
    p = e;
    if (at(sc, p) == '.')
        p++;
    if (at(sc, p) != ' ')
        return 0;
    p++;
    if ((q = read_int(sc, p, 4, &d)) == 0)
        return 0;
    if (q - p == 4) { /* "March 2024" */
        if (d < 1000 || d > 2999 || m == 5)
            return 0;
        return emit(sc, SL_PII_DATE_TIME, i, q, 0.6, "date (month year)");
    }
    if (d < 1 || d > 31)
        return 0;
    q = skip_ordinal(sc, q);
    p = q;
    if (at(sc, p) == ',')
        p++;
    if (at(sc, p) == ' ' && read_int(sc, p + 1, 4, &y) == p + 5 &&
        ymd_valid(y, m, d))
        return emit(sc, SL_PII_DATE_TIME, i, p + 5, 0.6,
                    "date (month day year)");
    if (m == 5) /* "May 5" is too often not a date */
        return 0;
    return emit(sc, SL_PII_DATE_TIME, i, q, 0.6, "date (month day)");
}

/* "5 January 2024", "5th of March, 2024". */
static long
try_day_month(struct scan *sc, size_t i)
{
    int d, m, y;
    size_t p = read_int(sc, i, 2, &d), b, e;

    if (p == 0 || d < 1 || d > 31 || !starts_clean(sc, i))
        return 0;
    p = skip_ordinal(sc, p);
    if (at(sc, p) != ' ')
        return 0;
    p++;
    if (prefix_ci(sc, p, "of "))
        p += 3;
    b = p;
    e = word_end(sc, b);
    if ((m = month_at(sc, b, e)) == 0 || !IS(sc->s[b], C_UPPER))
        return 0;
    p = e;
    if (at(sc, p) == '.')
        p++;
    if (at(sc, p) == ',')
        p++;
    if (at(sc, p) == ' ' && read_int(sc, p + 1, 4, &y) == p + 5 &&
        ymd_valid(y, m, d))
        return emit(sc, SL_PII_DATE_TIME, i, p + 5, 0.6,
                    "date (day month year)");
    return emit(sc, SL_PII_DATE_TIME, i, e, 0.6, "date (day month)");
}

/* --- names and places -------------------------------------------------------
 */

/* FNV-1a of the string w, as scripts/gen_pii_lists.c computes it. */
static uint32_t
fnv1a(const char *w)
{
    uint32_t h = 0x811c9dc5;

    for (; *w != '\0'; w++) {
        h ^= (unsigned char)*w;
        h *= 0x01000193;
    }
    return h;
}

/* Whether key is in list, by its hash table (pii_lists.h). */
static bool
in_list(const char *const *list, const unsigned short *table, size_t mask,
        const char *key)
{
    for (size_t h = fnv1a(key) & mask; table[h] != 0; h = (h + 1) & mask) {
        const char *w = list[table[h] - 1];

        if (w[0] == key[0] && strcmp(w, key) == 0)
            return true;
    }
    return false;
}

static const char *const titles[] = {"mr",   "mrs", "ms",    "miss", "dr",
                                     "prof", "sir", "madam", "mx",   NULL};

#define MAX_NAME_WORDS 4
#define MAX_NAME_BYTES 40

struct nword {
    size_t b, e;
    char low[MAX_NAME_BYTES + 1];
};

/* A word that may be a name: a capital letter first, or a non-ASCII
 * character (scripts without case). */
static bool
capital_at(const struct scan *sc, size_t i)
{
    return IS(at(sc, i), C_UPPER | C_HIGH);
}

/* The name word at i: a word, with inner "'" or '-' before a letter
 * (O'Brien, Smith-Jones). Returns its end, or 0 (also for a word longer
 * than MAX_NAME_BYTES). The scan stops one byte past that length: each
 * '-' or "'" starts another word of the walk, and reading "A-A-A-..." to
 * its end from every one of them would be quadratic. */
static size_t
name_word(const struct scan *sc, size_t i, struct nword *w)
{
    size_t p = i;

    while (p < sc->len && p - i <= MAX_NAME_BYTES) {
        if (ISWORD(sc->s[p]))
            p++;
        else if ((sc->s[p] == '\'' || sc->s[p] == '-') && p > i &&
                 IS(at(sc, p + 1), C_UPPER | C_LOWER | C_HIGH))
            p++;
        else
            break;
    }
    if (p == i || p - i > MAX_NAME_BYTES)
        return 0;
    w->b = i;
    w->e = p;
    for (size_t k = i; k < p; k++) {
        unsigned char c = sc->s[k], n = k + 1 < p ? sc->s[k + 1] : 0;

        if (ISDIG(c))
            return 0;
        w->low[k - i] = (char)LOWER(c);
        /* Capitals of Latin-1 (À-Þ but ×) and Cyrillic (А-Я) lowered. */
        if (c == 0xc3 && n >= 0x80 && n <= 0x9e && n != 0x97) {
            w->low[k - i + 1] = (char)(n + 0x20);
            k++;
        } else if (c == 0xd0 && n >= 0x90 && n <= 0x9f) {
            w->low[k - i + 1] = (char)(n + 0x20);
            k++;
        } else if (c == 0xd0 && n >= 0xa0 && n <= 0xaf) {
            w->low[k - i] = (char)0xd1;
            w->low[k - i + 1] = (char)(n - 0x20);
            k++;
        }
    }
    w->low[p - i] = '\0';
    return p;
}

/* Whether words w[0..k) joined by spaces are a place. */
static bool
is_place(const struct nword *w, int k)
{
    char key[MAX_NAME_WORDS * (MAX_NAME_BYTES + 1)];
    size_t n = 0;

    for (int j = 0; j < k; j++) {
        size_t l = strlen(w[j].low);

        if (j > 0)
            key[n++] = ' ';
        memcpy(key + n, w[j].low, l);
        n += l;
    }
    key[n] = '\0';
    return in_list(sl_pii_places, sl_pii_places_table, sl_pii_places_mask, key);
}

static bool
is_first(const struct nword *w)
{
    return in_list(sl_pii_first_names, sl_pii_first_names_table,
                   sl_pii_first_names_mask, w->low);
}

static bool
is_surname(const struct nword *w)
{
    return in_list(sl_pii_surnames, sl_pii_surnames_table, sl_pii_surnames_mask,
                   w->low);
}

/* Names and places from i, whose first word is first (name_word()). */
static long
try_names(struct scan *sc, size_t i, const struct nword *first)
{
    struct nword w[MAX_NAME_WORDS];
    int nw = 0, place = 0;
    size_t p = i;
    bool title = false;

    while (nw < MAX_NAME_WORDS && capital_at(sc, p)) {
        size_t e;

        if (nw == 0) {
            w[0] = *first;
            e = first->e;
        } else {
            e = name_word(sc, p, &w[nw]);
        }

        if (e == 0)
            break;
        nw++;
        if (nw == 1 && word_in((const unsigned char *)w[0].low,
                               strlen(w[0].low), titles) != NULL) {
            title = true;
            if (at(sc, e) == '.')
                e++;
        }
        if (at(sc, e) == ' ' && capital_at(sc, e + 1))
            p = e + 1;
        else
            break;
    }
    if (nw == 0)
        return 0;
    if (title) {
        /* "Dr. Jane Smith", "Mr Smith": the names after the title. */
        int last = 0;

        for (int k = 1; k < nw && k <= 2; k++)
            if (is_first(&w[k]) || is_surname(&w[k]) || k == 1)
                last = k;
        if (last == 0 || month_at(sc, w[1].b, w[1].e) != 0)
            return 0;
        return emit(sc, SL_PII_PERSON, w[1].b, w[last].e, 0.6,
                    "title and name");
    }
    for (int k = nw; k >= 1 && place == 0; k--)
        if (is_place(w, k))
            place = k;
    if (is_first(&w[0])) {
        if (nw >= 2 && !(place >= 2)) {
            int last = 1;
            bool sur = is_surname(&w[1]);

            if (!sur && (is_place(&w[1], 1) || month_at(sc, w[1].b, w[1].e)))
                goto single;
            if (nw >= 3 && is_surname(&w[2]))
                last = 2, sur = true;
            return emit(sc, SL_PII_PERSON, i, w[last].e, sur ? 0.5 : 0.4,
                        sur ? "given and family name"
                            : "given name and "
                              "capitalized word");
        }
    single:
        if (place == 1 && nw >= 1) {
            /* A given name that is also a place (Jordan, Sofia): by the
             * context, a place when none says otherwise. */
            const char *cp = context_for(sc, SL_PII_PERSON, i, w[0].e);

            if (cp != NULL)
                return emit_ctx(sc, SL_PII_PERSON, i, w[0].e, 0.3, "given name",
                                cp, true);
            return emit(sc, SL_PII_LOCATION, i, w[0].e, 0.3,
                        "place (also a given name)");
        }
        if (place == 0)
            return emit(sc, SL_PII_PERSON, i, w[0].e, 0.3, "given name");
    }
    if (place > 0)
        return emit(sc, SL_PII_LOCATION, i, w[place - 1].e, 0.5, "place");
    return 0;
}

/* Whether the lower-cased word w may start a name, a place, a title or a
 * month (sl_pii_word_bits); false means it surely does not. */
static bool
word_maybe(const char *w)
{
    uint32_t h = fnv1a(w) & 0xffff;

    return (sl_pii_word_bits[h >> 3] >> (h & 7)) & 1;
}

/* --- the walk ---------------------------------------------------------------
 */

/* Tries every recognizer that may start at i. Returns the end of what was
 * taken, 0 for nothing, or a negative SL_E*. */
static long
try_at(struct scan *sc, size_t i, size_t we)
{
    unsigned char c = sc->s[i], c2 = at(sc, i + 2);
    long r;

    if (c == '+' || c == '(') {
        if (!ISDIG(at(sc, i + 1)) && !(c == '+' && at(sc, i + 1) == '('))
            return 0;
        return try_number(sc, i);
    }
    if ((c == 'h' || c == 'H' || c == 'f' || c == 'w' || c == 'W') &&
        (r = try_url(sc, i)) != 0)
        return r;
    /* An e-mail address only where an '@' follows within a local part's
     * length (the walk keeps next_at ahead of i). */
    if (sc->next_at - i <= 64 && we > i && (r = try_email(sc, i, we)) != 0)
        return r;
    if (IS(c, C_HEX)) {
        if ((c2 == ':' || c2 == '-' || at(sc, i + 4) == '.') &&
            (r = try_mac(sc, i)) != 0)
            return r;
        if ((c2 == ':' || at(sc, i + 1) == ':' || at(sc, i + 3) == ':' ||
             at(sc, i + 4) == ':') &&
            (r = try_ipv6(sc, i)) != 0)
            return r;
    }
    if (ISDIG(c)) {
        if ((c == '1' || c == '3') && ISWORD(at(sc, i + 25)) &&
            (r = try_bitcoin(sc, i)) != 0)
            return r;
        if ((r = try_ipv4(sc, i)) != 0)
            return r;
        if ((r = try_day_month(sc, i)) != 0)
            return r;
        return try_number(sc, i);
    }
    if (IS(c, C_UPPER)) {
        if (IS(at(sc, i + 1), C_UPPER) && (r = try_iban(sc, i)) != 0)
            return r;
        if (ISDIG(at(sc, i + 1)) && word_end(sc, i) == i + 9 &&
            starts_clean(sc, i)) {
            bool digits = true;

            for (size_t k = i + 1; k < i + 9; k++)
                digits &= ISDIG(sc->s[k]);
            if (digits && ends_clean(sc, i + 9) &&
                (r = emit(sc, SL_PII_US_PASSPORT, i, i + 9, 0.05,
                          "passport (letter and 8 digits)")) != 0)
                return r;
        }
    }
    if ((c == 'b' || c == 'B') && (at(sc, i + 1) | 0x20) == 'c' &&
        at(sc, i + 2) == '1' && (r = try_bitcoin(sc, i)) != 0)
        return r;
    if (IS(c, C_UPPER | C_HIGH)) {
        struct nword w;

        /* Most capitalized words are no name, place, title or month:
         * one bit says so without a look at the lists. */
        if (name_word(sc, i, &w) == 0 || !word_maybe(w.low))
            return 0;
        if (IS(c, C_UPPER) && (r = try_month_date(sc, i)) != 0)
            return r;
        return try_names(sc, i, &w);
    }
    return 0;
}

/* Well-formed UTF-8 without NUL, eight ASCII bytes at a time where it
 * can. */
static bool
text_valid(const unsigned char *s, size_t n)
{
    size_t i = 0;

    while (i < n) {
        if (i + 8 <= n) {
            uint64_t w;

            memcpy(&w, s + i, 8);
            if ((w & 0x8080808080808080ull) == 0 &&
                ((w - 0x0101010101010101ull) & ~w & 0x8080808080808080ull) ==
                    0) {
                i += 8;
                continue;
            }
        }
        if (s[i] == 0)
            return false;
        if (s[i] < 0x80) {
            i++;
            continue;
        }
        {
            size_t j = i;

            while (j < n && s[j] >= 0x80)
                j++;
            if (!sl_utf8_valid((const char *)s + i, j - i))
                return false;
            i = j;
        }
    }
    return true;
}

/* The characters in the n bytes at s: the bytes that are no UTF-8
 * continuation byte (10xxxxxx), counted eight at a time. */
static size_t
chars_in(const unsigned char *s, size_t n)
{
    size_t c = n, k = 0;

    for (; k + 8 <= n; k += 8) {
        uint64_t w;

        memcpy(&w, s + k, 8);
        /* High bit set and next bit clear: a continuation byte. */
        w = w & ~(w << 1) & 0x8080808080808080ull;
        c -= (size_t)__builtin_popcountll(w);
    }
    for (; k < n; k++)
        c -= (s[k] & 0xc0) == 0x80;
    return c;
}

int
sl_pii_analyze(const char *text, size_t len, const struct sl_pii_opts *o,
               struct sl_pii_result *res)
{
    static const struct sl_pii_opts none = {0};
    struct scan sc = {0};
    size_t i = 0, cp = 0, pos = 0;
    int rc = 0;

    memset(res, 0, sizeof(*res));
    if (o == NULL)
        o = &none;
    if (len > SL_PII_MAX_TEXT)
        return SL_ETOOBIG;
    sc.s = (const unsigned char *)text;
    sc.len = len;
    if (!text_valid(sc.s, len))
        return SL_EPARSE;
    sc.o = o;
    {
        const unsigned char *at_ = memchr(sc.s, '@', len);

        sc.next_at = at_ != NULL ? (size_t)(at_ - sc.s) : len;
    }
    sc.want = o->entities != 0 ? o->entities : SL_PII_ALL;
    sc.max = o->max_entities != 0 && o->max_entities < SL_PII_MAX_ENTITIES
                 ? o->max_entities
                 : SL_PII_MAX_ENTITIES;
    while (i < len) {
        unsigned char c = sc.s[i];
        size_t we;
        long r;

        if (!IS(c, C_WORD) && c != '+' && c != '(') {
            i++;
            continue;
        }
        if (sc.next_at < i) {
            const unsigned char *at_ = memchr(sc.s + i, '@', len - i);

            sc.next_at = at_ != NULL ? (size_t)(at_ - sc.s) : len;
        }
        we = IS(c, C_WORD) ? word_end(&sc, i) : i;
        /* Most words are lower case, with no '@' near: only a URL, a MAC
         * or IPv6 address, or a bech32 address may start with them. */
        if (IS(c, C_LOWER) && sc.next_at - i > 64 && c != 'h' && c != 'f' &&
            c != 'w' && !(c == 'b' && at(&sc, i + 2) == '1') &&
            !(IS(c, C_HEX) && we - i <= 4 &&
              (at(&sc, we) == ':' || at(&sc, we) == '-' ||
               at(&sc, we) == '.'))) {
            i = we;
            continue;
        }
        r = try_at(&sc, i, we);
        if (r < 0) {
            rc = (int)r;
            break;
        }
        if (r > 0) {
            i = (size_t)r;
            continue;
        }
        if (IS(c, C_WORD))
            i = we;
        else
            i++;
    }
    /* Code-point offsets, in one pass up to the last finding. */
    for (size_t k = 0; k < sc.n; k++) {
        struct sl_pii_match *m = &sc.m[k];

        cp += chars_in(sc.s + pos, m->bstart - pos);
        m->start = cp;
        cp += chars_in(sc.s + m->bstart, m->bend - m->bstart);
        m->end = cp;
        pos = m->bend;
    }
    res->m = sc.m;
    res->n = sc.n;
    res->too_many = sc.too_many;
    return rc;
}

void
sl_pii_result_free(struct sl_pii_result *res)
{
    if (res == NULL)
        return;
    free(res->m);
    res->m = NULL;
    res->n = 0;
}

/* --- anonymization ----------------------------------------------------------
 */

static const char *const op_names[] = {
    [SL_PII_OP_REPLACE] = "replace", [SL_PII_OP_REDACT] = "redact",
    [SL_PII_OP_MASK] = "mask",       [SL_PII_OP_HASH] = "hash",
    [SL_PII_OP_ENCRYPT] = "encrypt", [SL_PII_OP_KEEP] = "keep",
};

const char *
sl_pii_op_name(enum sl_pii_op_kind k)
{
    return (unsigned)k < sizeof(op_names) / sizeof(op_names[0]) ? op_names[k]
                                                                : NULL;
}

int
sl_pii_op_parse(const char *name)
{
    for (size_t k = 0;
         name != NULL && k < sizeof(op_names) / sizeof(op_names[0]); k++)
        if (strcmp(op_names[k], name) == 0)
            return (int)k;
    return -1;
}

/* Code points in the n bytes at s. */
static size_t
cp_count(const char *s, size_t n)
{
    size_t c = 0;

    for (size_t k = 0; k < n; k++)
        c += ((unsigned char)s[k] & 0xc0) != 0x80;
    return c;
}

/* The byte length of the UTF-8 character at s. */
static size_t
char_bytes(const unsigned char *s)
{
    return s[0] < 0x80 ? 1 : s[0] < 0xe0 ? 2 : s[0] < 0xf0 ? 3 : 4;
}

/* Masks the n bytes of v into b: chars_to_mask characters (all when < 0)
 * from the start or the end become mc. */
static int
mask_into(sl_buf *b, const char *v, size_t n, const char *mc, long count,
          bool from_end)
{
    size_t chars = cp_count(v, n), k = 0, mlen = strlen(mc);
    size_t lo, hi; /* characters [lo, hi) are masked */
    int rc = 0;

    if (count < 0 || (size_t)count > chars)
        count = (long)chars;
    lo = from_end ? chars - (size_t)count : 0;
    hi = from_end ? chars : (size_t)count;
    for (size_t p = 0; p < n && rc == 0; k++) {
        size_t cl = char_bytes((const unsigned char *)v + p);

        rc = k >= lo && k < hi ? sl_buf_append(b, mc, mlen)
                               : sl_buf_append(b, v + p, cl);
        p += cl;
    }
    return rc;
}

static int
encrypt_into(sl_buf *b, const unsigned char key[SL_PII_KEY_LEN], const char *v,
             size_t n)
{
    unsigned char *raw = NULL;
    char *b64 = NULL;
    EVP_CIPHER_CTX *ctx = NULL;
    size_t rawlen = SL_PII_GCM_NONCE_LEN + n + SL_PII_GCM_TAG_LEN;
    int outl = 0, finl = 0, rc = SL_ECRYPTO;

    if ((raw = malloc(rawlen)) == NULL ||
        (b64 = malloc(4 * ((rawlen + 2) / 3) + 1)) == NULL) {
        rc = SL_ENOMEM;
        goto out;
    }
    if (sl_random_bytes(raw, SL_PII_GCM_NONCE_LEN) != 0 ||
        (ctx = EVP_CIPHER_CTX_new()) == NULL ||
        EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL) != 1 ||
        EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, SL_PII_GCM_NONCE_LEN,
                            NULL) != 1 ||
        EVP_EncryptInit_ex(ctx, NULL, NULL, key, raw) != 1 ||
        (n > 0 && EVP_EncryptUpdate(ctx, raw + SL_PII_GCM_NONCE_LEN, &outl,
                                    (const unsigned char *)v, (int)n) != 1) ||
        EVP_EncryptFinal_ex(ctx, raw + SL_PII_GCM_NONCE_LEN + outl, &finl) !=
            1 ||
        EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, SL_PII_GCM_TAG_LEN,
                            raw + SL_PII_GCM_NONCE_LEN + n) != 1)
        goto out;
    EVP_EncodeBlock((unsigned char *)b64, raw, (int)rawlen);
    rc = sl_buf_puts(b, b64);
out:
    EVP_CIPHER_CTX_free(ctx);
    free(raw);
    free(b64);
    return rc;
}

int
sl_pii_hash_token(const unsigned char key[SL_PII_KEY_LEN], const char *v,
                  size_t n, char out[65])
{
    unsigned char mac[SL_SHA256_LEN];
    int rc = sl_hmac_sha256(key, SL_PII_KEY_LEN, v, n, mac);

    if (rc == 0)
        sl_hex(mac, sizeof(mac), out);
    return rc;
}

/* Applies op to the finding m (its text at v, n bytes) into b. */
static int
apply_op(sl_buf *b, const struct sl_pii_op *op, const struct sl_pii_match *m,
         const char *v, size_t n, const struct sl_pii_keys *keys)
{
    const char *mc = op->masking_char != NULL ? op->masking_char : "*";

    switch (op->kind) {
    case SL_PII_OP_REPLACE:
        if (op->new_value != NULL)
            return sl_buf_puts(b, op->new_value);
        return sl_buf_printf(b, "<%s>", entity_names[m->entity]);
    case SL_PII_OP_REDACT:
        return 0;
    case SL_PII_OP_KEEP:
        return sl_buf_append(b, v, n);
    case SL_PII_OP_MASK:
        if (*mc == '\0' ||
            strlen(mc) != char_bytes((const unsigned char *)mc) ||
            !sl_utf8_valid(mc, strlen(mc)))
            return SL_EINVAL;
        if (m->entity == SL_PII_EMAIL_ADDRESS) {
            const char *at_ = memchr(v, '@', n);
            size_t local = at_ != NULL ? (size_t)(at_ - v) : n;
            int rc;

            /* The local part only; by default three characters, whatever
             * its length, so that the mask does not tell it. */
            if (op->chars_to_mask < 0)
                rc = sl_buf_printf(b, "%s%s%s", mc, mc, mc);
            else
                rc =
                    mask_into(b, v, local, mc, op->chars_to_mask, op->from_end);
            return rc != 0 ? rc : sl_buf_append(b, v + local, n - local);
        }
        return mask_into(b, v, n, mc, op->chars_to_mask, op->from_end);
    case SL_PII_OP_HASH: {
        char hex[65];
        int rc;

        if (keys == NULL || keys->hash_key == NULL)
            return SL_EINVAL;
        if ((rc = sl_pii_hash_token(keys->hash_key, v, n, hex)) != 0)
            return rc;
        return sl_buf_append(b, hex, 64);
    }
    case SL_PII_OP_ENCRYPT:
        if (keys == NULL || keys->encrypt_key == NULL)
            return SL_EINVAL;
        return encrypt_into(b, keys->encrypt_key, v, n);
    }
    return SL_EINVAL;
}

int
sl_pii_anonymize(const char *text, size_t len, const struct sl_pii_match *m,
                 size_t n, const struct sl_pii_op *const ops[SL_PII_NENTITIES],
                 const struct sl_pii_op *dflt, const struct sl_pii_keys *keys,
                 char **out, struct sl_pii_item *items)
{
    static const struct sl_pii_op replace = {.kind = SL_PII_OP_REPLACE,
                                             .chars_to_mask = -1};
    sl_buf b;
    size_t pos = 0, cp = 0;
    int rc = 0;

    *out = NULL;
    sl_buf_init(&b, SL_PII_MAX_OUTPUT);
    for (size_t k = 0; k < n && rc == 0; k++) {
        const struct sl_pii_op *op = ops != NULL ? ops[m[k].entity] : NULL;
        size_t before;

        if (op == NULL)
            op = dflt != NULL ? dflt : &replace;
        if (m[k].bstart < pos || m[k].bend > len || m[k].bend < m[k].bstart) {
            rc = SL_EINVAL;
            break;
        }
        if ((rc = sl_buf_append(&b, text + pos, m[k].bstart - pos)) != 0)
            break;
        cp += cp_count(text + pos, m[k].bstart - pos);
        before = b.len;
        rc = apply_op(&b, op, &m[k], text + m[k].bstart,
                      m[k].bend - m[k].bstart, keys);
        if (rc != 0)
            break;
        if (items != NULL) {
            items[k].entity = m[k].entity;
            items[k].op = op->kind;
            items[k].start = cp;
            items[k].bstart = before;
            items[k].bend = b.len;
        }
        cp += cp_count(b.data != NULL ? b.data + before : "", b.len - before);
        if (items != NULL)
            items[k].end = cp;
        pos = m[k].bend;
    }
    if (rc == 0)
        rc = sl_buf_append(&b, text + pos, len - pos);
    if (rc == 0 && b.data == NULL)
        rc = sl_buf_append(&b, "", 0);
    if (rc != 0) {
        sl_buf_free(&b);
        return rc;
    }
    *out = sl_buf_take(&b);
    return *out != NULL ? 0 : SL_ENOMEM;
}

int
sl_pii_org_key(const char *secret, const char *purpose, const char *tenant_id,
               unsigned char key[SL_PII_KEY_LEN])
{
    char label[160];
    int n;

    if (secret == NULL || *secret == '\0')
        return SL_EINVAL;
    n = snprintf(label, sizeof(label), "sluice pii %s/%s", purpose,
                 tenant_id != NULL ? tenant_id : "");
    if (n < 0 || (size_t)n >= sizeof(label))
        return SL_EINVAL;
    return sl_hmac_sha256(secret, strlen(secret), label, (size_t)n, key);
}

int
sl_pii_decrypt(const unsigned char key[SL_PII_KEY_LEN], const char *text,
               size_t len, char **out, size_t *outlen)
{
    unsigned char *raw = NULL;
    char *pt = NULL;
    EVP_CIPHER_CTX *ctx = NULL;
    size_t pad = 0, rawlen, ctlen;
    int outl = 0, finl = 0, rc = SL_EPARSE, dl;

    *out = NULL;
    *outlen = 0;
    if (len > 4 * ((SL_PII_MAX_TEXT + 28 + 2) / 3))
        return SL_ETOOBIG;
    if (len == 0 || len % 4 != 0)
        return SL_EPARSE;
    for (size_t k = 0; k < len; k++) {
        unsigned char c = (unsigned char)text[k];

        if (c == '=' && k >= len - 2)
            pad++;
        else if (pad > 0 ||
                 !(IS(c, C_UPPER | C_LOWER | C_DIGIT) || c == '+' || c == '/'))
            return SL_EPARSE;
    }
    if ((raw = malloc(len / 4 * 3 + 1)) == NULL)
        return SL_ENOMEM;
    dl = EVP_DecodeBlock(raw, (const unsigned char *)text, (int)len);
    if (dl < 0 || (size_t)dl < pad)
        goto out;
    rawlen = (size_t)dl - pad;
    if (rawlen < SL_PII_GCM_NONCE_LEN + SL_PII_GCM_TAG_LEN)
        goto out;
    ctlen = rawlen - SL_PII_GCM_NONCE_LEN - SL_PII_GCM_TAG_LEN;
    if ((pt = malloc(ctlen + 1)) == NULL) {
        rc = SL_ENOMEM;
        goto out;
    }
    rc = SL_ECRYPTO;
    if ((ctx = EVP_CIPHER_CTX_new()) == NULL ||
        EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL) != 1 ||
        EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, SL_PII_GCM_NONCE_LEN,
                            NULL) != 1 ||
        EVP_DecryptInit_ex(ctx, NULL, NULL, key, raw) != 1 ||
        (ctlen > 0 &&
         EVP_DecryptUpdate(ctx, (unsigned char *)pt, &outl,
                           raw + SL_PII_GCM_NONCE_LEN, (int)ctlen) != 1) ||
        EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, SL_PII_GCM_TAG_LEN,
                            raw + SL_PII_GCM_NONCE_LEN + ctlen) != 1 ||
        EVP_DecryptFinal_ex(ctx, (unsigned char *)pt + outl, &finl) != 1) {
        OPENSSL_cleanse(pt, ctlen + 1);
        goto out;
    }
    pt[ctlen] = '\0';
    *out = pt;
    *outlen = ctlen;
    pt = NULL;
    rc = 0;
out:
    EVP_CIPHER_CTX_free(ctx);
    free(pt);
    free(raw);
    return rc;
}
