/*
 * expr.c: the filter expression language of expr.h.
 *
 * A hand-written lexer feeds a recursive-descent parser with one function
 * per precedence level (or, and, not, predicate). Each '(' and each NOT
 * counts one level of depth, bounded by RUN_EXPR_MAX_DEPTH, so parsing
 * recursion is bounded; AND and OR chains become one node with a list of
 * operands rather than a deep tree, so evaluation recursion is bounded by
 * the same depth. Literals are read once at parse time (their numeric form
 * included); column values are read lazily, when a comparison needs them.
 */
#include "expr.h"

#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "err.h"

/* At most this many bytes of a name or token are quoted in a message. */
#define QUOTE_MAX 32

/* SQL's three truth values. */
enum tri { TRI_FALSE, TRI_TRUE, TRI_UNKNOWN };

enum tok_kind {
    TK_END,
    TK_NAME,   /* a bare column name */
    TK_QNAME,  /* a "quoted" column name */
    TK_STRING, /* a 'string' literal */
    TK_NUMBER,
    TK_LPAREN,
    TK_RPAREN,
    TK_COMMA,
    TK_CMP, /* a comparison operator */
    TK_AND,
    TK_OR,
    TK_NOT,
    TK_IS,
    TK_IN,
    TK_LIKE,
    TK_NULL,
    TK_TRUE,
    TK_FALSE,
};

enum cmp_op { CMP_EQ, CMP_NE, CMP_LT, CMP_LE, CMP_GT, CMP_GE };

static const struct {
    const char *word;
    enum tok_kind kind;
} keywords[] = {
    {"and", TK_AND},   {"or", TK_OR},     {"not", TK_NOT},
    {"is", TK_IS},     {"in", TK_IN},     {"like", TK_LIKE},
    {"null", TK_NULL}, {"true", TK_TRUE}, {"false", TK_FALSE},
};

/* Longest first, so that "<=" is not read as "<". */
static const struct {
    const char *text;
    size_t len;
    enum cmp_op op;
} cmp_ops[] = {
    {"==", 2, CMP_EQ}, {"!=", 2, CMP_NE}, {"<>", 2, CMP_NE}, {"<=", 2, CMP_LE},
    {">=", 2, CMP_GE}, {"=", 1, CMP_EQ},  {"<", 1, CMP_LT},  {">", 1, CMP_GT},
};

/* How the text of a value spells true and false. */
static const struct {
    const char *text;
    int value;
} bool_texts[] = {
    {"t", 1}, {"true", 1}, {"1", 1}, {"f", 0}, {"false", 0}, {"0", 0},
};

struct token {
    enum tok_kind kind;
    size_t off; /* where it starts in the text */
    size_t len; /* its length in the text */
    enum cmp_op op;
};

/*
 * A decimal number as its digits: the integer part without leading zeros,
 * the fraction without trailing zeros (both point into the text), so that
 * numbers without an exponent compare exactly.
 */
struct num {
    bool neg;
    bool has_exp; /* compare as doubles, through d */
    const char *ip, *fp;
    size_t ni, nf;
    double d; /* set when has_exp */
};

/* A value as a comparison sees it. */
struct value {
    const char *text;    /* NULL for SQL NULL */
    signed char boolean; /* the literal TRUE (1) or FALSE (0); else -1 */
    signed char numeric; /* 1: num holds it; 0: not a number; -1: unread */
    struct num num;
};

/* A column (col >= 0) or a literal. */
struct operand {
    int col;
    struct value lit;
};

enum node_kind { N_OR, N_AND, N_NOT, N_CMP, N_ISNULL, N_IN, N_LIKE };

struct node {
    enum node_kind kind;
    bool negate;       /* IS NOT NULL, NOT IN, NOT LIKE */
    enum cmp_op op;    /* N_CMP */
    struct node *kids; /* N_OR, N_AND: the first operand; N_NOT: its own */
    struct node *next; /* the next operand of the parent N_OR or N_AND */
    struct operand a;
    struct operand b;    /* N_CMP: the right side; N_LIKE: the pattern */
    struct value *items; /* N_IN */
    int nitems;
};

struct run_expr {
    struct node *root;
};

struct parser {
    sl_pool *pool;
    const char *text;
    size_t len;
    size_t pos; /* where the lexer goes on */
    const char *const *columns;
    int ncols;
    struct token tok; /* the current token */
    int depth;
    int nodes;
    char *err;
    size_t errsz;
};

/* --- messages ------------------------------------------------------------- */

/*
 * Writes a message and " at offset off" to the parser's err, if it has
 * room, and returns rc.
 */
static int fail(struct parser *ps, int rc, size_t off, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int
fail(struct parser *ps, int rc, size_t off, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (ps->err == NULL || ps->errsz == 0)
        return rc;
    va_start(ap, fmt);
    n = vsnprintf(ps->err, ps->errsz, fmt, ap);
    va_end(ap);
    if (n >= 0 && (size_t)n < ps->errsz)
        snprintf(ps->err + n, ps->errsz - (size_t)n, " at offset %zu", off);
    return rc;
}

/* The length of s[0..n) to quote: at most QUOTE_MAX bytes, whole UTF-8. */
static int
quote_len(const char *s, size_t n)
{
    if (n <= QUOTE_MAX)
        return (int)n;
    n = QUOTE_MAX;
    while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
        n--;
    return (int)n;
}

/*
 * Fails with "expected <what> but found <the current token>", for the
 * current token.
 */
static int
fail_expected(struct parser *ps, const char *what)
{
    const struct token *t = &ps->tok;

    if (t->kind == TK_END)
        return fail(ps, SL_EPARSE, t->off, "expected %s but found the end",
                    what);
    return fail(ps, SL_EPARSE, t->off, "expected %s but found %.*s", what,
                quote_len(ps->text + t->off, t->len), ps->text + t->off);
}

/* --- lexing --------------------------------------------------------------- */

static bool
is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static bool
is_name_start(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
}

static bool
is_name_char(char c)
{
    return is_name_start(c) || is_digit(c);
}

static bool
is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/*
 * Reads a 'string' or "quoted name" starting at i (its opening quote) and
 * returns its length in the text, quotes included, or 0 when it does not
 * end.
 */
static size_t
lex_quoted(const struct parser *ps, size_t i)
{
    char q = ps->text[i];
    size_t j = i + 1;

    for (;;) {
        const char *end = memchr(ps->text + j, q, ps->len - j);

        if (end == NULL)
            return 0;
        j = (size_t)(end - ps->text) + 1;
        if (j < ps->len && ps->text[j] == q)
            j++; /* a doubled quote stands for one */
        else
            return j - i;
    }
}

/*
 * Reads a number starting at i: [-]digits[.digits][e[+|-]digits], or
 * [-].digits... Returns its length, or 0 when it is malformed (no digits,
 * an exponent without digits, or a name or '.' right after it).
 */
static size_t
lex_number(const struct parser *ps, size_t i)
{
    const char *s = ps->text;
    size_t j = i, digits = 0;

    if (s[j] == '-')
        j++;
    for (; is_digit(s[j]); j++)
        digits++;
    if (s[j] == '.')
        for (j++; is_digit(s[j]); j++)
            digits++;
    if (digits == 0)
        return 0;
    if (s[j] == 'e' || s[j] == 'E') {
        j++;
        if (s[j] == '+' || s[j] == '-')
            j++;
        if (!is_digit(s[j]))
            return 0;
        while (is_digit(s[j]))
            j++;
    }
    if (is_name_char(s[j]) || s[j] == '.')
        return 0;
    return j - i;
}

/*
 * Reads the next token into ps->tok. Returns 0, or SL_EPARSE for text
 * that is no token.
 */
static int
lex(struct parser *ps)
{
    const char *s = ps->text;
    struct token *t = &ps->tok;
    size_t i = ps->pos;
    char c;

    while (i < ps->len && is_space(s[i]))
        i++;
    t->off = i;
    t->len = 1;
    c = s[i];
    if (i == ps->len) {
        t->kind = TK_END;
        t->len = 0;
    } else if (c == '(') {
        t->kind = TK_LPAREN;
    } else if (c == ')') {
        t->kind = TK_RPAREN;
    } else if (c == ',') {
        t->kind = TK_COMMA;
    } else if (c == '\'' || c == '"') {
        t->kind = c == '\'' ? TK_STRING : TK_QNAME;
        t->len = lex_quoted(ps, i);
        if (t->len == 0)
            return fail(ps, SL_EPARSE, i, "%s does not end",
                        c == '\'' ? "string literal" : "quoted name");
        if (t->kind == TK_QNAME && t->len == 2)
            return fail(ps, SL_EPARSE, i, "empty quoted name");
    } else if (is_digit(c) || c == '-' || c == '.') {
        t->kind = TK_NUMBER;
        t->len = lex_number(ps, i);
        if (t->len == 0)
            return fail(ps, SL_EPARSE, i, "malformed number");
    } else if (is_name_start(c)) {
        t->kind = TK_NAME;
        for (t->len = 1; is_name_char(s[i + t->len]); t->len++)
            ;
        for (size_t k = 0; k < sizeof(keywords) / sizeof(*keywords); k++)
            if (strlen(keywords[k].word) == t->len &&
                strncasecmp(s + i, keywords[k].word, t->len) == 0) {
                t->kind = keywords[k].kind;
                break;
            }
    } else {
        size_t k;

        for (k = 0; k < sizeof(cmp_ops) / sizeof(*cmp_ops); k++)
            if (strncmp(s + i, cmp_ops[k].text, cmp_ops[k].len) == 0)
                break;
        if (k == sizeof(cmp_ops) / sizeof(*cmp_ops)) {
            if ((unsigned char)c > 0x20 && (unsigned char)c < 0x7F)
                return fail(ps, SL_EPARSE, i, "unexpected character '%c'", c);
            return fail(ps, SL_EPARSE, i, "unexpected byte 0x%02X",
                        (unsigned char)c);
        }
        t->kind = TK_CMP;
        t->len = cmp_ops[k].len;
        t->op = cmp_ops[k].op;
    }
    ps->pos = i + t->len;
    return SL_OK;
}

/*
 * Copies the current token, a 'string' or a "quoted name", into the pool
 * without its quotes and with each doubled quote made one. Returns 0 or
 * SL_ENOMEM.
 */
static int
unquote(struct parser *ps, char **out)
{
    const char *s = ps->text + ps->tok.off;
    size_t n = ps->tok.len - 2, j = 0;
    char q = s[0], *d = sl_palloc(ps->pool, n + 1);

    if (d == NULL)
        return fail(ps, SL_ENOMEM, ps->tok.off, "out of memory");
    for (size_t i = 1; i <= n; i++) {
        d[j++] = s[i];
        if (s[i] == q)
            i++;
    }
    d[j] = '\0';
    *out = d;
    return SL_OK;
}

/* --- values --------------------------------------------------------------- */

/*
 * Reads s as a decimal number into *n. Returns false when s is not one, or
 * has an exponent and is out of a double's finite range.
 */
static bool
num_parse(const char *s, struct num *n)
{
    const char *p = s, *start;
    size_t digits;
    char *end;

    n->neg = false;
    n->has_exp = false;
    if (*p == '+' || *p == '-')
        n->neg = *p++ == '-';
    for (start = p; is_digit(*p); p++)
        ;
    digits = (size_t)(p - start);
    for (n->ip = start; n->ip < p && *n->ip == '0'; n->ip++)
        ;
    n->ni = (size_t)(p - n->ip);
    n->fp = p;
    n->nf = 0;
    if (*p == '.') {
        for (n->fp = ++p; is_digit(*p); p++)
            ;
        n->nf = (size_t)(p - n->fp);
        digits += n->nf;
        while (n->nf > 0 && n->fp[n->nf - 1] == '0')
            n->nf--;
    }
    if (digits == 0)
        return false;
    if (*p == 'e' || *p == 'E') {
        p++;
        if (*p == '+' || *p == '-')
            p++;
        if (!is_digit(*p))
            return false;
        while (is_digit(*p))
            p++;
        n->has_exp = true;
    }
    if (*p != '\0')
        return false;
    if (n->has_exp) {
        /* The syntax is checked: strtod() reads exactly the same text. */
        n->d = strtod(s, &end);
        if (end != p || !isfinite(n->d))
            return false;
    }
    return true;
}

/* Whether v is a number, reading it the first time. */
static bool
is_number(struct value *v)
{
    if (v->numeric < 0)
        v->numeric = num_parse(v->text, &v->num);
    return v->numeric == 1;
}

/* -1, 0 or 1 as the number a is less than, equal to or more than b. */
static int
num_cmp(const struct value *va, const struct value *vb)
{
    const struct num *a = &va->num, *b = &vb->num;
    int sa, sb, mag;
    size_t nf;

    if (a->has_exp || b->has_exp) {
        double x = a->has_exp ? a->d : strtod(va->text, NULL);
        double y = b->has_exp ? b->d : strtod(vb->text, NULL);

        return (x > y) - (x < y);
    }
    sa = a->ni == 0 && a->nf == 0 ? 0 : a->neg ? -1 : 1;
    sb = b->ni == 0 && b->nf == 0 ? 0 : b->neg ? -1 : 1;
    if (sa != sb || sa == 0)
        return (sa > sb) - (sa < sb);
    if (a->ni != b->ni) {
        mag = a->ni > b->ni ? 1 : -1;
    } else {
        nf = a->nf < b->nf ? a->nf : b->nf;
        mag = memcmp(a->ip, b->ip, a->ni);
        if (mag == 0)
            mag = memcmp(a->fp, b->fp, nf);
        /* Trailing zeros are gone: more digits is more. */
        if (mag == 0)
            mag = (a->nf > b->nf) - (a->nf < b->nf);
    }
    return mag > 0 ? sa : mag < 0 ? -sa : 0;
}

/* 1 or 0 for a text that spells true or false, else -1. */
static int
text_bool(const char *s)
{
    for (size_t i = 0; i < sizeof(bool_texts) / sizeof(*bool_texts); i++)
        if (strcasecmp(s, bool_texts[i].text) == 0)
            return bool_texts[i].value;
    return -1;
}

/*
 * Compares a and b by the rules of expr.h, storing in *cmp a number less
 * than, equal to or more than 0. Returns false when they do not compare
 * (a NULL, or a boolean against a text that is none): the result is then
 * unknown.
 */
static bool
value_cmp(struct value *a, struct value *b, int *cmp)
{
    if (a->text == NULL || b->text == NULL)
        return false;
    if (a->boolean >= 0 || b->boolean >= 0) {
        int x = a->boolean >= 0 ? a->boolean : text_bool(a->text);
        int y = b->boolean >= 0 ? b->boolean : text_bool(b->text);

        if (x < 0 || y < 0)
            return false;
        *cmp = x - y;
    } else if (is_number(a) && is_number(b)) {
        *cmp = num_cmp(a, b);
    } else {
        *cmp = strcmp(a->text, b->text);
    }
    return true;
}

/* Skips one UTF-8 character of the non-empty string s. */
static const char *
next_char(const char *s)
{
    s++;
    while (((unsigned char)*s & 0xC0) == 0x80)
        s++;
    return s;
}

/*
 * Whether s matches the LIKE pattern pat as a whole. Only the last '%'
 * seen needs remembering: when the text after it fails to match, that '%'
 * takes one more character and matching resumes. Time is at most
 * proportional to strlen(s) * strlen(pat); no recursion.
 */
static bool
like(const char *s, const char *pat)
{
    const char *p = pat, *star_p = NULL, *star_s = NULL;

    while (*s != '\0') {
        if (*p == '%') {
            while (*p == '%')
                p++;
            if (*p == '\0')
                return true;
            star_p = p;
            star_s = s;
        } else if (*p == '_') {
            s = next_char(s);
            p++;
        } else if (*p != '\0' && *p == *s) {
            s++;
            p++;
        } else if (star_p != NULL) {
            star_s = next_char(star_s);
            s = star_s;
            p = star_p;
        } else {
            return false;
        }
    }
    while (*p == '%')
        p++;
    return *p == '\0';
}

/* --- parsing -------------------------------------------------------------- */

/*
 * Allocates a zeroed node of kind k, counting it against
 * RUN_EXPR_MAX_NODES. Returns 0, SL_ETOOBIG or SL_ENOMEM.
 */
static int
new_node(struct parser *ps, enum node_kind k, struct node **out)
{
    struct node *n;

    if (++ps->nodes > RUN_EXPR_MAX_NODES)
        return fail(ps, SL_ETOOBIG, ps->tok.off,
                    "expression has more than %d nodes", RUN_EXPR_MAX_NODES);
    n = sl_pcalloc(ps->pool, sizeof(*n));
    if (n == NULL)
        return fail(ps, SL_ENOMEM, ps->tok.off, "out of memory");
    n->kind = k;
    *out = n;
    return SL_OK;
}

/* Enters a '(' or NOT. Returns 0, or SL_ETOOBIG past RUN_EXPR_MAX_DEPTH. */
static int
enter(struct parser *ps)
{
    if (++ps->depth > RUN_EXPR_MAX_DEPTH)
        return fail(ps, SL_ETOOBIG, ps->tok.off,
                    "expression nests deeper than %d", RUN_EXPR_MAX_DEPTH);
    return SL_OK;
}

static bool
is_literal(enum tok_kind k)
{
    return k == TK_STRING || k == TK_NUMBER || k == TK_NULL || k == TK_TRUE ||
           k == TK_FALSE;
}

/* Reads the current token, a literal, into *v and moves on. */
static int
parse_literal(struct parser *ps, struct value *v)
{
    char *text;
    int rc;

    v->boolean = -1;
    v->numeric = 0;
    switch (ps->tok.kind) {
    case TK_STRING:
        rc = unquote(ps, &text);
        if (rc != SL_OK)
            return rc;
        v->text = text;
        v->numeric = num_parse(text, &v->num);
        break;
    case TK_NUMBER:
        text = sl_pstrndup(ps->pool, ps->text + ps->tok.off, ps->tok.len);
        if (text == NULL)
            return fail(ps, SL_ENOMEM, ps->tok.off, "out of memory");
        if (!num_parse(text, &v->num))
            return fail(ps, SL_EPARSE, ps->tok.off,
                        "number %.*s is out of range",
                        quote_len(text, ps->tok.len), text);
        v->text = text;
        v->numeric = 1;
        break;
    case TK_TRUE:
    case TK_FALSE:
        v->boolean = ps->tok.kind == TK_TRUE;
        v->text = v->boolean ? "true" : "false";
        break;
    default:
        v->text = NULL;
        break;
    }
    return lex(ps);
}

/*
 * Reads a column or a literal into *o and moves on. Returns 0, SL_EPARSE,
 * SL_EINVAL (no such column) or SL_ENOMEM.
 */
static int
parse_operand(struct parser *ps, struct operand *o)
{
    const struct token *t = &ps->tok;
    const char *name = ps->text + t->off;
    size_t len = t->len;
    char *unquoted;
    int rc;

    if (is_literal(t->kind)) {
        o->col = -1;
        return parse_literal(ps, &o->lit);
    }
    if (t->kind != TK_NAME && t->kind != TK_QNAME)
        return fail_expected(ps, "a column, a value, not or '('");
    if (t->kind == TK_QNAME) {
        rc = unquote(ps, &unquoted);
        if (rc != SL_OK)
            return rc;
        name = unquoted;
        len = strlen(unquoted);
    }
    for (o->col = 0; o->col < ps->ncols; o->col++) {
        const char *c = ps->columns[o->col];

        if (c != NULL && strncmp(c, name, len) == 0 && c[len] == '\0')
            break;
    }
    if (o->col == ps->ncols)
        return fail(ps, SL_EINVAL, t->off, "unknown column \"%.*s\"",
                    quote_len(name, len), name);
    return lex(ps);
}

/* After "x [not] in": reads "(literal, ...)" into n. */
static int
parse_in(struct parser *ps, struct node *n)
{
    int rc, cap = 0;

    if (ps->tok.kind != TK_LPAREN)
        return fail_expected(ps, "'(' after in");
    do {
        rc = lex(ps);
        if (rc != SL_OK)
            return rc;
        if (!is_literal(ps->tok.kind))
            return fail_expected(ps, "a value in the list");
        if (++ps->nodes > RUN_EXPR_MAX_NODES)
            return fail(ps, SL_ETOOBIG, ps->tok.off,
                        "expression has more than %d nodes",
                        RUN_EXPR_MAX_NODES);
        if (n->nitems == cap) {
            struct value *items;

            cap = cap == 0 ? 8 : cap * 2;
            items = sl_palloc(ps->pool, (size_t)cap * sizeof(*items));
            if (items == NULL)
                return fail(ps, SL_ENOMEM, ps->tok.off, "out of memory");
            if (n->nitems > 0)
                memcpy(items, n->items, (size_t)n->nitems * sizeof(*items));
            n->items = items;
        }
        rc = parse_literal(ps, &n->items[n->nitems++]);
        if (rc != SL_OK)
            return rc;
    } while (ps->tok.kind == TK_COMMA);
    if (ps->tok.kind != TK_RPAREN)
        return fail_expected(ps, "',' or ')'");
    return lex(ps);
}

static int parse_or(struct parser *ps, struct node **out);

static bool
is_null_literal(const struct operand *o)
{
    return o->col < 0 && o->lit.text == NULL;
}

/*
 * predicate := ( or ) | operand cmp operand | operand is [not] null
 *            | operand [not] in (...) | operand [not] like 'pattern'
 */
static int
parse_predicate(struct parser *ps, struct node **out)
{
    struct node *n;
    size_t aoff = ps->tok.off, boff;
    int rc;

    if (ps->tok.kind == TK_LPAREN) {
        rc = enter(ps);
        if (rc == SL_OK)
            rc = lex(ps);
        if (rc == SL_OK)
            rc = parse_or(ps, out);
        if (rc != SL_OK)
            return rc;
        if (ps->tok.kind != TK_RPAREN)
            return fail_expected(ps, "')'");
        ps->depth--;
        return lex(ps);
    }
    rc = new_node(ps, N_CMP, &n);
    if (rc == SL_OK)
        rc = parse_operand(ps, &n->a);
    if (rc != SL_OK)
        return rc;
    switch (ps->tok.kind) {
    case TK_CMP:
        n->op = ps->tok.op;
        rc = lex(ps);
        boff = ps->tok.off;
        if (rc == SL_OK)
            rc = parse_operand(ps, &n->b);
        if (rc != SL_OK)
            break;
        if (is_null_literal(&n->a) || is_null_literal(&n->b))
            rc = fail(ps, SL_EPARSE, is_null_literal(&n->a) ? aoff : boff,
                      "comparison with null is never true; use \"is null\"");
        break;
    case TK_IS:
        n->kind = N_ISNULL;
        rc = lex(ps);
        if (rc == SL_OK && ps->tok.kind == TK_NOT) {
            n->negate = true;
            rc = lex(ps);
        }
        if (rc == SL_OK && ps->tok.kind != TK_NULL)
            rc = fail_expected(ps, n->negate ? "null after is not"
                                             : "null or not after is");
        if (rc == SL_OK)
            rc = lex(ps);
        break;
    case TK_NOT:
    case TK_IN:
    case TK_LIKE:
        if (ps->tok.kind == TK_NOT) {
            n->negate = true;
            rc = lex(ps);
            if (rc == SL_OK && ps->tok.kind != TK_IN && ps->tok.kind != TK_LIKE)
                rc = fail_expected(ps, "in or like after not");
            if (rc != SL_OK)
                break;
        }
        n->kind = ps->tok.kind == TK_IN ? N_IN : N_LIKE;
        rc = lex(ps);
        if (rc != SL_OK)
            break;
        if (n->kind == N_IN) {
            rc = parse_in(ps, n);
        } else if (ps->tok.kind != TK_STRING) {
            rc = fail_expected(ps, "a 'pattern' after like");
        } else {
            n->b.col = -1;
            rc = parse_literal(ps, &n->b.lit);
        }
        break;
    default:
        rc = fail_expected(ps, "a comparison, is, in or like");
        break;
    }
    if (rc == SL_OK)
        *out = n;
    return rc;
}

/* not := NOT not | predicate */
static int
parse_not(struct parser *ps, struct node **out)
{
    struct node *n, *kid;
    int rc;

    if (ps->tok.kind != TK_NOT)
        return parse_predicate(ps, out);
    rc = enter(ps);
    if (rc == SL_OK)
        rc = new_node(ps, N_NOT, &n);
    if (rc == SL_OK)
        rc = lex(ps);
    if (rc == SL_OK)
        rc = parse_not(ps, &kid);
    if (rc != SL_OK)
        return rc;
    ps->depth--;
    n->kids = kid;
    *out = n;
    return SL_OK;
}

/*
 * Reads operands of the connective tok (TK_AND, TK_OR) with sub, as one
 * node of kind k listing them, or as the lone operand when there is one.
 */
static int
parse_chain(struct parser *ps, enum tok_kind tok, enum node_kind k,
            int (*sub)(struct parser *, struct node **), struct node **out)
{
    struct node *first, *last, *n, *kid;
    int rc;

    rc = sub(ps, &first);
    if (rc != SL_OK)
        return rc;
    if (ps->tok.kind != tok) {
        *out = first;
        return SL_OK;
    }
    rc = new_node(ps, k, &n);
    if (rc != SL_OK)
        return rc;
    n->kids = last = first;
    while (ps->tok.kind == tok) {
        rc = lex(ps);
        if (rc == SL_OK)
            rc = sub(ps, &kid);
        if (rc != SL_OK)
            return rc;
        last->next = kid;
        last = kid;
    }
    *out = n;
    return SL_OK;
}

/* and := not [AND not]... */
static int
parse_and(struct parser *ps, struct node **out)
{
    return parse_chain(ps, TK_AND, N_AND, parse_not, out);
}

/* or := and [OR and]... */
static int
parse_or(struct parser *ps, struct node **out)
{
    return parse_chain(ps, TK_OR, N_OR, parse_and, out);
}

int
run_expr_parse(sl_pool *p, const char *text, const char *const *columns,
               int ncols, struct run_expr **out, char *err, size_t errsz)
{
    struct parser ps = {.pool = p,
                        .text = text,
                        .columns = columns,
                        .ncols = ncols,
                        .err = err,
                        .errsz = errsz};
    struct run_expr *e;
    struct node *root;
    int rc;

    if (err != NULL && errsz > 0)
        err[0] = '\0';
    if (p == NULL || text == NULL || out == NULL || ncols < 0 ||
        (columns == NULL && ncols > 0))
        return fail(&ps, SL_EINVAL, 0, "invalid argument");
    ps.len = strnlen(text, RUN_EXPR_MAX_TEXT + 1);
    if (ps.len > RUN_EXPR_MAX_TEXT)
        return fail(&ps, SL_ETOOBIG, RUN_EXPR_MAX_TEXT,
                    "expression is longer than %d bytes", RUN_EXPR_MAX_TEXT);
    rc = lex(&ps);
    if (rc != SL_OK)
        return rc;
    if (ps.tok.kind == TK_END)
        return fail(&ps, SL_EPARSE, ps.tok.off, "empty expression");
    rc = parse_or(&ps, &root);
    if (rc != SL_OK)
        return rc;
    if (ps.tok.kind != TK_END)
        return fail_expected(&ps, "and, or or the end");
    e = sl_palloc(p, sizeof(*e));
    if (e == NULL)
        return fail(&ps, SL_ENOMEM, ps.len, "out of memory");
    e->root = root;
    *out = e;
    return SL_OK;
}

/* --- evaluation ----------------------------------------------------------- */

static enum tri
tri_not(enum tri v)
{
    return v == TRI_UNKNOWN ? TRI_UNKNOWN
           : v == TRI_TRUE  ? TRI_FALSE
                            : TRI_TRUE;
}

static enum tri
tri_of(bool b)
{
    return b ? TRI_TRUE : TRI_FALSE;
}

/* The value of operand o in row, in *v. */
static void
load(const struct operand *o, char *const *row, struct value *v)
{
    if (o->col < 0) {
        *v = o->lit;
        return;
    }
    v->text = row[o->col];
    v->boolean = -1;
    v->numeric = -1;
}

static bool
cmp_holds(enum cmp_op op, int cmp)
{
    switch (op) {
    case CMP_EQ:
        return cmp == 0;
    case CMP_NE:
        return cmp != 0;
    case CMP_LT:
        return cmp < 0;
    case CMP_LE:
        return cmp <= 0;
    case CMP_GT:
        return cmp > 0;
    case CMP_GE:
        return cmp >= 0;
    }
    return false;
}

/* x IN (items): true, false, or unknown (x NULL; no match, one unknown). */
static enum tri
eval_in(const struct node *n, char *const *row)
{
    struct value x, item;
    enum tri r = TRI_FALSE;
    int cmp;

    load(&n->a, row, &x);
    if (x.text == NULL)
        return TRI_UNKNOWN;
    for (int i = 0; i < n->nitems; i++) {
        item = n->items[i];
        if (!value_cmp(&x, &item, &cmp))
            r = TRI_UNKNOWN;
        else if (cmp == 0)
            return TRI_TRUE;
    }
    return r;
}

/* Evaluates n; recursion is bounded by the parse depth (see the top). */
static enum tri
eval_node(const struct node *n, char *const *row)
{
    struct value a, b;
    enum tri r, v, wins;
    int cmp;

    switch (n->kind) {
    case N_OR:
    case N_AND:
        /* True decides an OR, false an AND; else unknown beats the rest. */
        wins = n->kind == N_OR ? TRI_TRUE : TRI_FALSE;
        r = tri_not(wins);
        for (const struct node *k = n->kids; k != NULL; k = k->next) {
            v = eval_node(k, row);
            if (v == wins)
                return wins;
            if (v == TRI_UNKNOWN)
                r = TRI_UNKNOWN;
        }
        return r;
    case N_NOT:
        return tri_not(eval_node(n->kids, row));
    case N_CMP:
        load(&n->a, row, &a);
        load(&n->b, row, &b);
        if (!value_cmp(&a, &b, &cmp))
            return TRI_UNKNOWN;
        return tri_of(cmp_holds(n->op, cmp));
    case N_ISNULL:
        load(&n->a, row, &a);
        return tri_of((a.text == NULL) != n->negate);
    case N_IN:
        r = eval_in(n, row);
        return n->negate ? tri_not(r) : r;
    case N_LIKE:
        load(&n->a, row, &a);
        if (a.text == NULL)
            return TRI_UNKNOWN;
        return tri_of(like(a.text, n->b.lit.text) != n->negate);
    }
    return TRI_UNKNOWN;
}

int
run_expr_eval(const struct run_expr *e, char *const *row)
{
    return eval_node(e->root, row) == TRI_TRUE;
}
