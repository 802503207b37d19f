/*
 * pii.h: the PII engine: finds personal data in UTF-8 text and replaces
 * it. One implementation, used by the API (fcgi-app/pii.c) and by the
 * runner's pii_mask module alike.
 *
 * Analysis is one pass of hand-written scanners over the bytes (no
 * regular expressions): each recognizer validates what it finds
 * (checksums, ranges, country lengths, name and place lists), then
 * Presidio's context enhancer raises a score by SL_PII_CONTEXT_BOOST
 * (capped at 1.0) when one of the recognizer's context words stands within
 * SL_PII_CONTEXT_BEFORE words before the match or SL_PII_CONTEXT_AFTER
 * words after it. Overlapping findings are resolved before they are
 * returned: at most one entity covers any character. Offsets are given
 * both in bytes and in Unicode code points (Presidio's "start"/"end").
 *
 * Anonymization applies Presidio's operators (replace, redact, mask, hash,
 * encrypt, keep) to the findings of one analysis, per entity type, and
 * gives the new text and each item's new offsets. hash is HMAC-SHA256
 * under a key the caller derives per organisation (sl_pii_org_key), so
 * equal values give equal tokens within an organisation and different
 * ones across organisations. encrypt is AES-256-GCM; its text is base64
 * of nonce (12 bytes) || ciphertext || tag (16 bytes).
 *
 * Everything is bounded: SL_PII_MAX_TEXT bytes of text, SL_PII_MAX_ENTITIES
 * findings per text (limits.h).
 */
#ifndef SL_PII_H
#define SL_PII_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "limits.h"

/* The entity types, in the order GET /pii/supportedentities lists them. */
enum sl_pii_entity {
    SL_PII_CREDIT_CARD,
    SL_PII_CRYPTO,
    SL_PII_DATE_TIME,
    SL_PII_EMAIL_ADDRESS,
    SL_PII_IBAN_CODE,
    SL_PII_IP_ADDRESS,
    SL_PII_LOCATION,
    SL_PII_MAC_ADDRESS,
    SL_PII_PERSON,
    SL_PII_PHONE_NUMBER,
    SL_PII_UK_NHS,
    SL_PII_URL,
    SL_PII_US_BANK_NUMBER,
    SL_PII_US_PASSPORT,
    SL_PII_US_SSN,
    SL_PII_NENTITIES
};

#define SL_PII_ALL ((1u << SL_PII_NENTITIES) - 1)

/* Context: how much a context word adds, and how far it may stand. */
#define SL_PII_CONTEXT_BOOST  0.35
#define SL_PII_CONTEXT_BEFORE 5
#define SL_PII_CONTEXT_AFTER  2

#define SL_PII_KEY_LEN       32
#define SL_PII_GCM_NONCE_LEN 12
#define SL_PII_GCM_TAG_LEN   16

/* One finding. Offsets are half-open: [start, end). */
struct sl_pii_match {
    enum sl_pii_entity entity;
    size_t bstart, bend;      /* bytes */
    size_t start, end;        /* Unicode code points */
    double score;             /* after context */
    double base_score;        /* before context */
    const char *pattern;      /* what matched (static text), for the decision */
    const char *validation;   /* the check passed ("luhn", ...) or NULL */
    const char *context_word; /* the word that raised it (static) or NULL */
};

/* What to look for. Zeroed means: every entity, no threshold. */
struct sl_pii_opts {
    uint32_t entities;             /* bits 1u << SL_PII_*; 0 means all */
    double score_threshold;        /* findings below it are left out */
    const char *const *allow_list; /* borrowed; exact texts not reported */
    size_t nallow;
    size_t max_entities; /* 0 means SL_PII_MAX_ENTITIES */
};

/* The findings of one text, ordered by offset. Owned by the caller. */
struct sl_pii_result {
    struct sl_pii_match *m; /* malloc'ed; sl_pii_result_free() */
    size_t n;
    bool too_many; /* analysis stopped at max_entities */
};

/* The entity's name ("EMAIL_ADDRESS"); NULL past SL_PII_NENTITIES. */
const char *sl_pii_entity_name(int e);

/* The entity named name, or -1. */
int sl_pii_entity_parse(const char *name);

/*
 * One recognizer as GET /pii/recognizers describes it: its name, the
 * entity it finds, its base score, what it validates, its context words
 * (a NULL-terminated static array), and whether it reports only with a
 * context word nearby. i from 0; NULL past the last.
 */
struct sl_pii_recognizer {
    const char *name;
    enum sl_pii_entity entity;
    double base_score;
    const char *validation;
    const char *const *context;
    bool needs_context;
};
const struct sl_pii_recognizer *sl_pii_recognizer_at(size_t i);

/*
 * Analyses the len bytes of text. Returns 0 and the findings in *res
 * (sl_pii_result_free() it, also on failure); SL_EPARSE when text is not
 * well-formed UTF-8 (NUL bytes included); SL_ETOOBIG when len passes
 * SL_PII_MAX_TEXT (res->too_many false) or more than max_entities
 * findings were made (res->too_many true, res holding the first ones);
 * SL_ENOMEM.
 */
int sl_pii_analyze(const char *text, size_t len, const struct sl_pii_opts *o,
                   struct sl_pii_result *res);

/* Releases res's findings. Accepts a zeroed res. */
void sl_pii_result_free(struct sl_pii_result *res);

/* --- anonymization --------------------------------------------------------
 */

enum sl_pii_op_kind {
    SL_PII_OP_REPLACE,
    SL_PII_OP_REDACT,
    SL_PII_OP_MASK,
    SL_PII_OP_HASH,
    SL_PII_OP_ENCRYPT,
    SL_PII_OP_KEEP,
};

/* An operator and its parameters; strings borrowed. */
struct sl_pii_op {
    enum sl_pii_op_kind kind;
    const char *new_value;    /* replace: NULL means "<ENTITY_TYPE>" */
    const char *masking_char; /* mask: one character (UTF-8); NULL: "*" */
    long chars_to_mask;       /* mask: < 0 means all (an e-mail: "***") */
    bool from_end;            /* mask */
};

/* The operator's name ("replace"); its kind from a name, or -1. */
const char *sl_pii_op_name(enum sl_pii_op_kind k);
int sl_pii_op_parse(const char *name);

/* Keys an anonymization may need; either may be NULL if not used. */
struct sl_pii_keys {
    const unsigned char *hash_key;    /* SL_PII_KEY_LEN bytes */
    const unsigned char *encrypt_key; /* SL_PII_KEY_LEN bytes */
};

/* One item of an anonymization: where its replacement now stands. */
struct sl_pii_item {
    enum sl_pii_entity entity;
    enum sl_pii_op_kind op;
    size_t start, end;   /* code points in the new text */
    size_t bstart, bend; /* bytes in the new text */
};

/*
 * Applies ops[entity] (NULL entries: *dflt) to the n findings m of text
 * (as sl_pii_analyze() gave them: ordered, not overlapping). Returns 0,
 * the new text in *out (NUL-terminated, malloc'ed, the caller's) and,
 * when items is not NULL, one item per finding in items[0..n) (the
 * caller's array of n). Fails with SL_EINVAL (hash or encrypt without its
 * key, a bad masking_char), SL_ETOOBIG (the new text would pass
 * SL_PII_MAX_OUTPUT), SL_ECRYPTO or SL_ENOMEM; *out is NULL then.
 */
int sl_pii_anonymize(const char *text, size_t len, const struct sl_pii_match *m,
                     size_t n,
                     const struct sl_pii_op *const ops[SL_PII_NENTITIES],
                     const struct sl_pii_op *dflt,
                     const struct sl_pii_keys *keys, char **out,
                     struct sl_pii_item *items);

/*
 * Writes the organisation's key for purpose ("hash", "encrypt") into key:
 * HMAC-SHA256(secret, "sluice pii <purpose>/<tenant_id>"). secret is the
 * configured secret_key text. Returns 0, SL_EINVAL for an empty secret,
 * or SL_ECRYPTO.
 */
int sl_pii_org_key(const char *secret, const char *purpose,
                   const char *tenant_id, unsigned char key[SL_PII_KEY_LEN]);

/*
 * The hash operator's token for the n bytes at v: hex HMAC-SHA256 under
 * key, 64 characters and a NUL into out.
 */
int sl_pii_hash_token(const unsigned char key[SL_PII_KEY_LEN], const char *v,
                      size_t n, char out[65]);

/*
 * Decrypts text made by the encrypt operator under key. Returns 0 and the
 * plaintext in *out (malloc'ed, NUL-terminated, the caller's); SL_EPARSE
 * when text is not base64 of at least a nonce and a tag, SL_ETOOBIG past
 * SL_PII_MAX_TEXT, SL_ECRYPTO when authentication fails, SL_ENOMEM.
 */
int sl_pii_decrypt(const unsigned char key[SL_PII_KEY_LEN], const char *text,
                   size_t len, char **out, size_t *outlen);

#endif
