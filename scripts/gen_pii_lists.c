/*
 * gen_pii_lists.c: a build-time tool that writes lib/pii_lists.c, the PII
 * engine's word lists, from lib/pii-data/{first_names,surnames,places}.txt.
 *
 *   gen_pii_lists DATADIR >lib/pii_lists.c
 *
 * Each list is read as UTF-8, one entry a line ("\n", "\r\n" or "\r" ends
 * a line); runs of white space are cut at the ends and made one space
 * within; blank lines and lines starting with '#' are skipped. The entries
 * are sorted in byte order (strcmp's), without duplicates, and written as
 * const arrays with an FNV-1a open-addressing table each, followed by the
 * 65536-bit set of the words an entry, a title or a month may start with
 * (pii_lists.h says what each symbol holds). It replaces a Python script,
 * so that a build needs only the C compiler; its output is the same,
 * white space being Unicode's (Python's str.split()) as it was there.
 *
 * Returns 0 on success, 1 on failure (a list missing, not UTF-8, holding a
 * NUL byte or too long; out of memory; stdout not written), with a message
 * on stderr.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The most bytes a list file may hold: the lists are a few KB each. */
#define GEN_LIST_MAX_BYTES (1024 * 1024)

/* The set of first words: 65536 bits, indexed by FNV-1a & 0xffff. */
#define GEN_WORD_BITS_BYTES 8192

/* A list's file name (under DATADIR, plus ".txt") and its C symbol. */
struct gen_list_def {
    const char *name;
    const char *sym;
};

static const struct gen_list_def gen_lists[] = {
    {"first_names", "sl_pii_first_names"},
    {"surnames", "sl_pii_surnames"},
    {"places", "sl_pii_places"},
};
#define GEN_NLISTS (sizeof(gen_lists) / sizeof(gen_lists[0]))

/*
 * Titles and months a name or a date may start with: pii.c's titles[] and
 * months[] (with each month's first three letters and "sept"). Keep them
 * equal to pii.c's.
 */
static const char *const gen_titles[] = {"mr",   "mrs", "ms",    "miss", "dr",
                                         "prof", "sir", "madam", "mx"};
static const char *const gen_months[] = {
    "january", "february", "march",     "april",   "may",      "june",
    "july",    "august",   "september", "october", "november", "december"};

/* A list's entries, each owned by it (malloc'd). */
struct gen_words {
    char **w;
    size_t n;
    size_t cap;
};

/* FNV-1a of the len bytes at s, as pii.c computes it. */
static uint32_t
gen_fnv1a(const char *s, size_t len)
{
    uint32_t h = 0x811c9dc5;

    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)s[i];
        h *= 0x01000193;
    }
    return h;
}

/*
 * Decodes the UTF-8 sequence at s (len bytes left) into *cp. Returns its
 * length in bytes, or 0 if it is not valid UTF-8 (overlong forms,
 * surrogates and code points past U+10FFFF included, as Python refuses).
 */
static size_t
gen_utf8_decode(const unsigned char *s, size_t len, uint32_t *cp)
{
    uint32_t c = s[0];
    size_t n;
    uint32_t min;

    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    if (c >= 0xc2 && c <= 0xdf) {
        n = 2, min = 0x80, c &= 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
        n = 3, min = 0x800, c &= 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 4, min = 0x10000, c &= 0x07;
    } else {
        return 0;
    }
    if (len < n)
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        c = (c << 6) | (s[i] & 0x3f);
    }
    if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
        return 0;
    *cp = c;
    return n;
}

/* Whether code point c is white space to Python's str.split(). */
static int
gen_is_space(uint32_t c)
{
    return (c >= 0x09 && c <= 0x0d) || (c >= 0x1c && c <= 0x20) || c == 0x85 ||
           c == 0xa0 || c == 0x1680 || (c >= 0x2000 && c <= 0x200a) ||
           c == 0x2028 || c == 0x2029 || c == 0x202f || c == 0x205f ||
           c == 0x3000;
}

/*
 * Appends the line s[0..len) to ws, its white space normalised, unless it
 * is blank or a comment. Returns 0, or -1 when out of memory.
 */
static int
gen_add_line(struct gen_words *ws, const unsigned char *s, size_t len)
{
    char *out;
    size_t o = 0, i = 0, k;
    uint32_t c;

    out = malloc(len + 1);
    if (out == NULL)
        return -1;
    while (i < len) {
        k = gen_utf8_decode(s + i, len - i, &c); /* checked by the caller */
        if (gen_is_space(c)) {
            i += k;
            continue;
        }
        if (o > 0)
            out[o++] = ' ';
        while (i < len) {
            k = gen_utf8_decode(s + i, len - i, &c);
            if (gen_is_space(c))
                break;
            memcpy(out + o, s + i, k);
            o += k, i += k;
        }
    }
    out[o] = '\0';
    if (o == 0 || out[0] == '#') {
        free(out);
        return 0;
    }
    if (ws->n == ws->cap) {
        size_t cap = ws->cap ? 2 * ws->cap : 256;
        char **w = realloc(ws->w, cap * sizeof(*w));

        if (w == NULL) {
            free(out);
            return -1;
        }
        ws->w = w, ws->cap = cap;
    }
    ws->w[ws->n++] = out;
    return 0;
}

static int
gen_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * Reads list path into ws (empty, caller-owned; gen_words_free releases
 * it): its entries normalised, sorted in byte order, without duplicates.
 * Returns 0, or -1 with a message on stderr.
 */
static int
gen_read_list(const char *path, struct gen_words *ws)
{
    FILE *f;
    unsigned char *buf = NULL;
    size_t len, i, start, k, n;
    uint32_t c;
    int rc = -1;

    f = fopen(path, "rb");
    if (f == NULL) {
        fprintf(stderr, "gen_pii_lists: %s: %s\n", path, strerror(errno));
        return -1;
    }
    buf = malloc(GEN_LIST_MAX_BYTES + 1);
    if (buf == NULL)
        goto nomem;
    len = fread(buf, 1, GEN_LIST_MAX_BYTES + 1, f);
    if (ferror(f)) {
        fprintf(stderr, "gen_pii_lists: %s: read error\n", path);
        goto out;
    }
    if (len > GEN_LIST_MAX_BYTES) {
        fprintf(stderr, "gen_pii_lists: %s: longer than %d bytes\n", path,
                GEN_LIST_MAX_BYTES);
        goto out;
    }
    for (i = 0; i < len; i += k) {
        k = gen_utf8_decode(buf + i, len - i, &c);
        if (k == 0 || c == 0) {
            fprintf(stderr, "gen_pii_lists: %s: byte %zu: %s\n", path, i,
                    k == 0 ? "not UTF-8" : "a NUL byte");
            goto out;
        }
    }
    for (start = i = 0; i <= len; i++) {
        if (i < len && buf[i] != '\n' && buf[i] != '\r')
            continue;
        if (gen_add_line(ws, buf + start, i - start) < 0)
            goto nomem;
        start = i + 1;
    }
    qsort(ws->w, ws->n, sizeof(*ws->w), gen_cmp);
    for (n = i = 0; i < ws->n; i++) {
        if (n > 0 && strcmp(ws->w[n - 1], ws->w[i]) == 0)
            free(ws->w[i]);
        else
            ws->w[n++] = ws->w[i];
    }
    ws->n = n;
    rc = 0;
    goto out;
nomem:
    fprintf(stderr, "gen_pii_lists: %s: out of memory\n", path);
out:
    free(buf);
    fclose(f);
    return rc;
}

/* Releases ws's entries and array; ws may be NULL. */
static void
gen_words_free(struct gen_words *ws)
{
    if (ws == NULL)
        return;
    for (size_t i = 0; i < ws->n; i++)
        free(ws->w[i]);
    free(ws->w);
    ws->w = NULL, ws->n = ws->cap = 0;
}

/* Writes w as a C string literal: bytes past ASCII, '"' and '\' in octal. */
static void
gen_put_c_string(const char *w)
{
    putchar('"');
    for (const unsigned char *p = (const unsigned char *)w; *p != '\0'; p++) {
        if (*p < 0x80 && *p != '"' && *p != '\\')
            putchar(*p);
        else
            printf("\\%03o", *p);
    }
    putchar('"');
}

/*
 * Writes list ws as array sym, its length, and its hash table: slot
 * FNV-1a(entry) & mask, or the next free one, holds the entry's index + 1.
 * Returns 0, or -1 (with a message) when the list is too long for the
 * table's unsigned shorts or memory runs out.
 */
static int
gen_put_list(const char *sym, const struct gen_words *ws)
{
    unsigned short *table;
    size_t size = 1, i, h;

    if (ws->n >= 0xffff) {
        fprintf(stderr, "gen_pii_lists: %s: %zu entries, at most %d\n", sym,
                ws->n, 0xffff - 1);
        return -1;
    }
    printf("const char *const %s[] = {\n", sym);
    for (i = 0; i < ws->n; i++) {
        printf("    ");
        gen_put_c_string(ws->w[i]);
        printf(",\n");
    }
    printf("};\n");
    printf("const size_t %s_n = %zu;\n", sym, ws->n);

    while (size < 2 * ws->n)
        size *= 2;
    table = calloc(size, sizeof(*table));
    if (table == NULL) {
        fprintf(stderr, "gen_pii_lists: %s: out of memory\n", sym);
        return -1;
    }
    for (i = 0; i < ws->n; i++) {
        h = gen_fnv1a(ws->w[i], strlen(ws->w[i])) & (size - 1);
        while (table[h] != 0)
            h = (h + 1) & (size - 1);
        table[h] = (unsigned short)(i + 1);
    }
    printf("const unsigned short %s_table[%zu] = {\n", sym, size);
    for (i = 0; i < size; i++)
        printf("%s%u,%s", i % 12 == 0 ? "    " : " ", table[i],
               i % 12 == 11 || i == size - 1 ? "\n" : "");
    printf("};\n");
    printf("const size_t %s_mask = %zu;\n\n", sym, size - 1);
    free(table);
    return 0;
}

/* Sets the bit of the len bytes at w (FNV-1a & 0xffff) in bits. */
static void
gen_set_bit(unsigned char *bits, const char *w, size_t len)
{
    uint32_t h = gen_fnv1a(w, len) & 0xffff;

    bits[h >> 3] |= (unsigned char)(1u << (h & 7));
}

/*
 * Sets in bits the first word of each entry of lists, each title, each
 * month, its first three letters, and "sept".
 */
static void
gen_fill_word_bits(unsigned char *bits, const struct gen_words *lists)
{
    const char *w;
    size_t i, j;

    for (i = 0; i < GEN_NLISTS; i++) {
        for (j = 0; j < lists[i].n; j++) {
            w = lists[i].w[j];
            gen_set_bit(bits, w, strcspn(w, " "));
        }
    }
    for (i = 0; i < sizeof(gen_titles) / sizeof(gen_titles[0]); i++)
        gen_set_bit(bits, gen_titles[i], strlen(gen_titles[i]));
    for (i = 0; i < sizeof(gen_months) / sizeof(gen_months[0]); i++) {
        w = gen_months[i];
        gen_set_bit(bits, w, strlen(w));
        gen_set_bit(bits, w, 3);
    }
    gen_set_bit(bits, "sept", 4);
}

int
main(int argc, char **argv)
{
    static struct gen_words lists[GEN_NLISTS];
    static unsigned char bits[GEN_WORD_BITS_BYTES];
    char path[4096];
    size_t i;
    int rc = 1;

    if (argc != 2) {
        fprintf(stderr, "usage: gen_pii_lists DATADIR >pii_lists.c\n");
        return 1;
    }
    for (i = 0; i < GEN_NLISTS; i++) {
        if ((size_t)snprintf(path, sizeof(path), "%s/%s.txt", argv[1],
                             gen_lists[i].name) >= sizeof(path)) {
            fprintf(stderr, "gen_pii_lists: %s: path too long\n", argv[1]);
            goto out;
        }
        if (gen_read_list(path, &lists[i]) < 0)
            goto out;
    }

    printf("/*\n"
           " * pii_lists.c: the PII engine's name and place lists, generated "
           "by\n"
           " * scripts/gen_pii_lists.c from the lists in lib/pii-data/ (whose\n"
           " * heads name their sources and licences). Do not edit: edit the "
           "lists.\n"
           " */\n"
           "#include \"config.h\"\n\n#include <stddef.h>\n\n"
           "#include \"pii_lists.h\"\n\n");
    for (i = 0; i < GEN_NLISTS; i++)
        if (gen_put_list(gen_lists[i].sym, &lists[i]) < 0)
            goto out;

    gen_fill_word_bits(bits, lists);
    printf("const unsigned char sl_pii_word_bits[%d] = {\n",
           GEN_WORD_BITS_BYTES);
    for (i = 0; i < GEN_WORD_BITS_BYTES; i++)
        printf("%s0x%02x,%s", i % 16 == 0 ? "    " : " ", bits[i],
               i % 16 == 15 ? "\n" : "");
    printf("};\n");

    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "gen_pii_lists: writing: %s\n", strerror(errno));
        goto out;
    }
    rc = 0;
out:
    for (i = 0; i < GEN_NLISTS; i++)
        gen_words_free(&lists[i]);
    return rc;
}
