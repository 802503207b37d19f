/*
 * csvio.c: streaming CSV reading and writing (see csvio.h).
 *
 * The reader has two paths. The common record (one line, no quote, whole
 * in the 64 KiB read buffer) takes the fast one: memchr() finds its end and
 * its delimiters, it is checked as UTF-8 where it lies, and copied into the
 * caller's pool at once, its delimiters made NULs. Any other record goes
 * through a small state machine which, within a state, skips a run of
 * ordinary bytes with a tight loop over a 256-entry table of the bytes
 * that end it (the delimiter and LF outside quotes; the quote and LF
 * inside them) and copies the run at once. It assembles the record in a
 * buffer of the reader, so that fields may straddle reads and be longer
 * than the read buffer, then checks and copies it into the pool.
 *
 * UTF-8 is checked eight ASCII bytes at a time. The writer appends to a
 * bounded sl_buf and undoes a row it could not finish.
 */
#include "csvio.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "err.h"

/* Where a field of the record being read starts in r->data. */
struct field_info {
    size_t off;
    bool quoted;
};

/* Where the reader is within a record. */
enum state {
    S_RECORD,   /* before a record (blank lines are skipped here) */
    S_FIELD,    /* at the start of a field */
    S_PLAIN,    /* inside an unquoted field */
    S_QUOTED,   /* inside a quoted field */
    S_QUOTE,    /* after a quote inside a quoted field: "" or its end */
    S_QUOTE_CR, /* after a closing quote and CR: LF must follow */
};

static const char bom[3] = "\xEF\xBB\xBF";

/* Whether delim and quote are usable as the delimiter and the quote. */
static bool
chars_ok(char delim, char quote)
{
    unsigned char d = (unsigned char)delim, q = (unsigned char)quote;

    return d != q && d > 0 && d < 0x80 && q > 0 && q < 0x80 && d != '\r' &&
           d != '\n' && q != '\r' && q != '\n';
}

int
run_csv_reader_init(struct run_csv_reader *r, int fd, char delim, char quote,
                    size_t max_field, size_t max_fields)
{
    size_t max_data;

    memset(r, 0, sizeof(*r));
    sl_buf_init(&r->data, 0);
    sl_buf_init(&r->fields, 0);
    if (!chars_ok(delim, quote) || max_field == 0 || max_field >= SIZE_MAX ||
        max_fields == 0 || max_fields > INT_MAX)
        return SL_EINVAL;
    r->buf = malloc(RUN_CSV_READ_BUF);
    if (r->buf == NULL)
        return SL_ENOMEM;
    r->fd = fd;
    r->delim = delim;
    r->quote = quote;
    r->max_field = max_field;
    r->max_fields = max_fields;
    r->line = 1;
    r->rec_line = 0;
    /* Every field and its NUL; sl_buf needs room for one more byte. */
    max_data = max_field + 1 > (SIZE_MAX - 1) / max_fields
                   ? SIZE_MAX - 1
                   : (max_field + 1) * max_fields;
    sl_buf_init(&r->data, max_data);
    sl_buf_init(&r->fields, max_fields * sizeof(struct field_info));
    r->stop_plain[(unsigned char)delim] = 1;
    r->stop_plain['\n'] = 1;
    r->stop_quoted[(unsigned char)quote] = 1;
    r->stop_quoted['\n'] = 1;
    return SL_OK;
}

void
run_csv_reader_free(struct run_csv_reader *r)
{
    if (r == NULL)
        return;
    free(r->buf);
    r->buf = NULL;
    sl_buf_free(&r->data);
    sl_buf_free(&r->fields);
}

size_t
run_csv_line(const struct run_csv_reader *r)
{
    return r->rec_line;
}

const char *
run_csv_error(const struct run_csv_reader *r)
{
    return r->err;
}

/* Records a failure: the message, prefixed with "line N: ", and rc. */
static int fail(struct run_csv_reader *r, int rc, size_t line, const char *fmt,
                ...) __attribute__((format(printf, 4, 5)));

static int
fail(struct run_csv_reader *r, int rc, size_t line, const char *fmt, ...)
{
    va_list ap;
    int n;

    n = snprintf(r->err, sizeof(r->err), "line %zu: ", line);
    if (n > 0 && (size_t)n < sizeof(r->err)) {
        va_start(ap, fmt);
        vsnprintf(r->err + n, sizeof(r->err) - (size_t)n, fmt, ap);
        va_end(ap);
    }
    r->failed = rc;
    return rc;
}

/*
 * Reads more input into the buffer, after what it holds from r->len on
 * (the whole buffer when it was used up). Sets r->eof at the end of the
 * file. Returns 0 or SL_EIO.
 */
static int
fill(struct run_csv_reader *r)
{
    ssize_t n;

    if (r->pos == r->len)
        r->pos = r->len = 0;
    do
        n = read(r->fd, r->buf + r->len, RUN_CSV_READ_BUF - r->len);
    while (n < 0 && errno == EINTR);
    if (n < 0)
        return fail(r, SL_EIO, r->line, "read failed: %s", strerror(errno));
    if (n == 0)
        r->eof = true;
    r->len += (size_t)n;
    return SL_OK;
}

/* The first read: reads at least three bytes, if any, and skips a BOM. */
static int
first_read(struct run_csv_reader *r)
{
    int rc;

    while (r->len < sizeof(bom) && !r->eof) {
        rc = fill(r);
        if (rc != SL_OK)
            return rc;
    }
    if (r->len >= sizeof(bom) && memcmp(r->buf, bom, sizeof(bom)) == 0)
        r->pos = sizeof(bom);
    r->started = true;
    return SL_OK;
}

/* The number of fields of the record read so far. */
static size_t
nfields_so_far(const struct run_csv_reader *r)
{
    return r->fields.len / sizeof(struct field_info);
}

/*
 * Appends n bytes to the field that starts at start in r->data. Returns 0,
 * SL_ETOOBIG past max_field or SL_ENOMEM.
 */
static int
append(struct run_csv_reader *r, const char *s, size_t n, size_t start)
{
    if (n > r->max_field || r->data.len - start > r->max_field - n)
        return fail(r, SL_ETOOBIG, r->line,
                    "field %zu is longer than %zu bytes", nfields_so_far(r) + 1,
                    r->max_field);
    if (sl_buf_append(&r->data, s, n) != SL_OK)
        return fail(r, SL_ENOMEM, r->line, "out of memory");
    return SL_OK;
}

/* Ends the field that starts at start. Returns 0, SL_ETOOBIG or SL_ENOMEM. */
static int
end_field(struct run_csv_reader *r, size_t start, bool quoted)
{
    struct field_info f = {start, quoted};

    if (nfields_so_far(r) == r->max_fields)
        return fail(r, SL_ETOOBIG, r->line, "more than %zu fields",
                    r->max_fields);
    if (sl_buf_append(&r->fields, &f, sizeof(f)) != SL_OK ||
        sl_buf_append(&r->data, "", 1) != SL_OK)
        return fail(r, SL_ENOMEM, r->line, "out of memory");
    return SL_OK;
}

/* Drops a CR that ends the unquoted field starting at start. */
static void
drop_cr(struct run_csv_reader *r, size_t start)
{
    if (r->data.len > start && r->data.data[r->data.len - 1] == '\r')
        r->data.data[--r->data.len] = '\0';
}

/* Whether the record read is a blank line: one empty unquoted field. */
static bool
is_blank(const struct run_csv_reader *r)
{
    const struct field_info *f = (const struct field_info *)r->fields.data;

    return nfields_so_far(r) == 1 && !f->quoted && r->data.len == 1;
}

/*
 * The offset of the first byte of s[0..n) that is NUL or not part of valid
 * UTF-8 (overlong forms, surrogates and values past U+10FFFF are not), or
 * n when there is none.
 */
static size_t
utf8_check(const unsigned char *s, size_t n)
{
    const uint64_t ones = UINT64_C(0x0101010101010101);
    const uint64_t highs = UINT64_C(0x8080808080808080);
    size_t i = 0, len, k;
    unsigned char c, lo, hi;
    uint64_t w;

    while (i < n) {
        /* Eight ASCII bytes, none of them NUL, at a time. */
        if (n - i >= 8) {
            memcpy(&w, s + i, 8);
            if ((w & highs) == 0 && ((w - ones) & ~w & highs) == 0) {
                i += 8;
                continue;
            }
        }
        c = s[i];
        if (c < 0x80) {
            if (c == 0)
                return i;
            i++;
            continue;
        }
        if (c < 0xC2) { /* a continuation byte, or overlong */
            return i;
        } else if (c < 0xE0) {
            len = 2, lo = 0x80, hi = 0xBF;
        } else if (c < 0xF0) {
            len = 3, lo = c == 0xE0 ? 0xA0 : 0x80, hi = c == 0xED ? 0x9F : 0xBF;
        } else if (c < 0xF5) {
            len = 4, lo = c == 0xF0 ? 0x90 : 0x80, hi = c == 0xF4 ? 0x8F : 0xBF;
        } else {
            return i;
        }
        if (n - i < len || s[i + 1] < lo || s[i + 1] > hi)
            return i;
        for (k = 2; k < len; k++)
            if ((s[i + k] & 0xC0) != 0x80)
                return i;
        i += len;
    }
    return n;
}

/* Fails for the byte at bad, the n-th byte of field i, not being UTF-8. */
static int
fail_utf8(struct run_csv_reader *r, size_t i, const char *bad, size_t n)
{
    return fail(r, SL_EPARSE, r->rec_line, "field %zu: %s at byte %zu", i,
                *bad == '\0' ? "NUL byte" : "invalid UTF-8", n);
}

/* What fast_record() did. */
enum { FAST_NO, FAST_BLANK, FAST_RECORD };

/*
 * The fast path, for the common record: one line, no quote, whole in the
 * read buffer. It is checked where it lies and copied into p in one go,
 * its delimiters made NULs. Returns FAST_RECORD having delivered it (see
 * run_csv_next()), FAST_BLANK having skipped a blank line, FAST_NO when
 * the record is not for this path (nothing is consumed), or a failure.
 */
static int
fast_record(struct run_csv_reader *r, sl_pool *p, char ***fields, int *nfields,
            bool **quoted)
{
    const char *b = r->buf + r->pos, *nl, *end, *s, *d;
    size_t len, n = 1, bad, i;
    char *data, **f, *t;
    bool *q = NULL;

    nl = memchr(b, '\n', r->len - r->pos);
    if (nl == NULL || memchr(b, r->quote, (size_t)(nl - b)) != NULL)
        return FAST_NO;
    r->rec_line = r->line;
    end = nl > b && nl[-1] == '\r' ? nl - 1 : nl;
    len = (size_t)(end - b);
    if (len == 0) {
        r->pos = (size_t)(nl + 1 - r->buf);
        r->line++;
        return FAST_BLANK;
    }
    /* Count the fields, bounding them. */
    for (s = b;; s = d + 1, n++) {
        d = memchr(s, r->delim, (size_t)(end - s));
        if ((size_t)((d != NULL ? d : end) - s) > r->max_field)
            return fail(r, SL_ETOOBIG, r->line,
                        "field %zu is longer than %zu bytes", n, r->max_field);
        if (d == NULL)
            break;
        if (n == r->max_fields)
            return fail(r, SL_ETOOBIG, r->line, "more than %zu fields",
                        r->max_fields);
    }
    bad = utf8_check((const unsigned char *)b, len);
    if (bad < len) {
        for (i = 1, s = b; (d = memchr(s, r->delim, (size_t)(b + bad - s)));
             i++)
            s = d + 1;
        return fail_utf8(r, i, b + bad, (size_t)(b + bad - s) + 1);
    }
    data = sl_palloc(p, len + 1);
    f = sl_palloc(p, n * sizeof(*f));
    if (quoted != NULL)
        q = sl_pcalloc(p, n * sizeof(*q));
    if (data == NULL || f == NULL || (quoted != NULL && q == NULL))
        return fail(r, SL_ENOMEM, r->line, "out of memory");
    memcpy(data, b, len);
    data[len] = '\0';
    f[0] = data;
    for (i = 1, t = data; (t = memchr(t, r->delim, (size_t)(data + len - t)));
         i++) {
        *t++ = '\0';
        f[i] = t;
    }
    *fields = f;
    *nfields = (int)n;
    if (quoted != NULL)
        *quoted = q;
    r->pos = (size_t)(nl + 1 - r->buf);
    r->line++;
    return FAST_RECORD;
}

/*
 * Checks the record read and copies it into p for the caller (see
 * run_csv_next()). Returns 1, SL_EPARSE or SL_ENOMEM.
 */
static int
deliver(struct run_csv_reader *r, sl_pool *p, char ***fields, int *nfields,
        bool **quoted)
{
    const struct field_info *info = (const struct field_info *)r->fields.data;
    size_t n = nfields_so_far(r), bad, end;
    char *data, **f;
    bool *q = NULL;

    for (size_t i = 0; i < n; i++) {
        end = i + 1 < n ? info[i + 1].off - 1 : r->data.len - 1;
        bad = utf8_check((const unsigned char *)r->data.data + info[i].off,
                         end - info[i].off);
        if (bad < end - info[i].off)
            return fail_utf8(r, i + 1, r->data.data + info[i].off + bad,
                             bad + 1);
    }
    data = sl_palloc(p, r->data.len);
    f = sl_palloc(p, n * sizeof(*f));
    if (quoted != NULL)
        q = sl_palloc(p, n * sizeof(*q));
    if (data == NULL || f == NULL || (quoted != NULL && q == NULL))
        return fail(r, SL_ENOMEM, r->rec_line, "out of memory");
    memcpy(data, r->data.data, r->data.len);
    for (size_t i = 0; i < n; i++) {
        f[i] = data + info[i].off;
        if (q != NULL)
            q[i] = info[i].quoted;
    }
    *fields = f;
    *nfields = (int)n;
    if (quoted != NULL)
        *quoted = q;
    return 1;
}

int
run_csv_next(struct run_csv_reader *r, sl_pool *p, char ***fields, int *nfields,
             bool **quoted)
{
    enum state st = S_RECORD;
    size_t start = 0, qline = 0;
    const char *b, *end, *s;
    bool fq = false;
    int rc;

    if (r->failed != SL_OK)
        return r->failed;
    if (r->buf == NULL || p == NULL || fields == NULL || nfields == NULL)
        return fail(r, SL_EINVAL, r->line, "invalid argument");
    if (!r->started && (rc = first_read(r)) != SL_OK)
        return rc;
    sl_buf_reset(&r->data);
    sl_buf_reset(&r->fields);
    r->rec_line = r->line;
    for (;;) {
        if (r->pos == r->len) {
            if (!r->eof) {
                rc = fill(r);
                if (rc != SL_OK)
                    return rc;
                continue;
            }
            /* The end of the file ends the record, if any. */
            if (st == S_RECORD)
                return 0;
            if (st == S_QUOTED)
                return fail(r, SL_EPARSE, qline, "quoted field does not end");
            if (st == S_FIELD) { /* after a delimiter: an empty field */
                start = r->data.len;
                fq = false;
            }
            if (st == S_PLAIN)
                drop_cr(r, start);
            rc = end_field(r, start, fq);
            if (rc != SL_OK)
                return rc;
            if (is_blank(r))
                return 0;
            break;
        }
        b = r->buf + r->pos;
        end = r->buf + r->len;
        if (st == S_RECORD) {
            rc = fast_record(r, p, fields, nfields, quoted);
            if (rc < 0)
                return rc;
            if (rc == FAST_RECORD)
                return 1;
            if (rc == FAST_BLANK)
                continue;
            r->rec_line = r->line;
            st = S_FIELD;
        }
        if (st == S_FIELD) {
            start = r->data.len;
            fq = *b == r->quote;
            if (fq) {
                qline = r->line;
                r->pos++;
            }
            st = fq ? S_QUOTED : S_PLAIN;
            continue;
        }
        if (st == S_PLAIN) {
            for (s = b; s < end && !r->stop_plain[(unsigned char)*s]; s++)
                ;
            rc = append(r, b, (size_t)(s - b), start);
            if (rc != SL_OK)
                return rc;
            r->pos = (size_t)(s - r->buf);
            if (s == end)
                continue;
            r->pos++;
            if (*s == r->delim) {
                rc = end_field(r, start, false);
                if (rc != SL_OK)
                    return rc;
                st = S_FIELD;
                continue;
            }
            /* LF: the end of the record, or of a blank line. */
            drop_cr(r, start);
            rc = end_field(r, start, false);
            if (rc != SL_OK)
                return rc;
            r->line++;
            if (!is_blank(r))
                break;
            sl_buf_reset(&r->data);
            sl_buf_reset(&r->fields);
            st = S_RECORD;
            continue;
        }
        if (st == S_QUOTED) {
            /* Line breaks are data here; count them and go on. */
            for (s = b;; s++) {
                while (s < end && !r->stop_quoted[(unsigned char)*s])
                    s++;
                if (s == end || *s != '\n')
                    break;
                r->line++;
            }
            rc = append(r, b, (size_t)(s - b), start);
            if (rc != SL_OK)
                return rc;
            r->pos = (size_t)(s - r->buf);
            if (s < end) {
                r->pos++;
                st = S_QUOTE;
            }
            continue;
        }
        /* S_QUOTE or S_QUOTE_CR: one byte decides. */
        r->pos++;
        if (st == S_QUOTE && *b == r->quote) {
            rc = append(r, b, 1, start);
            if (rc != SL_OK)
                return rc;
            st = S_QUOTED;
        } else if (st == S_QUOTE && *b == r->delim) {
            rc = end_field(r, start, true);
            if (rc != SL_OK)
                return rc;
            st = S_FIELD;
        } else if (st == S_QUOTE && *b == '\r') {
            st = S_QUOTE_CR;
        } else if (*b == '\n') {
            rc = end_field(r, start, true);
            if (rc != SL_OK)
                return rc;
            r->line++;
            break;
        } else {
            return fail(r, SL_EPARSE, r->line,
                        "a closing quote must be followed by a delimiter or "
                        "a line ending");
        }
    }
    return deliver(r, p, fields, nfields, quoted);
}

/*
 * Whether field f of len bytes must be quoted to be read back as it is.
 * One that starts with a byte-order mark is quoted too: at the start of a
 * file, the reader would skip it as the file's BOM.
 */
static bool
needs_quotes(const char *f, size_t len, char delim, char quote)
{
    if (len == 0 || f[0] == ' ' || f[0] == '\t' || f[len - 1] == ' ' ||
        f[len - 1] == '\t' ||
        (len >= sizeof(bom) && memcmp(f, bom, sizeof(bom)) == 0))
        return true;
    for (size_t i = 0; i < len; i++)
        if (f[i] == delim || f[i] == quote || f[i] == '\n' || f[i] == '\r')
            return true;
    return false;
}

/* Appends f, of len bytes, quoted, its quotes doubled. */
static int
append_quoted(sl_buf *out, const char *f, size_t len, char quote)
{
    const char *s = f, *end = f + len, *q;
    int rc;

    rc = sl_buf_append(out, &quote, 1);
    while (rc == SL_OK && (q = memchr(s, quote, (size_t)(end - s))) != NULL) {
        /* Up to and with the quote, then the quote again. */
        rc = sl_buf_append(out, s, (size_t)(q - s) + 1);
        if (rc == SL_OK)
            rc = sl_buf_append(out, &quote, 1);
        s = q + 1;
    }
    if (rc == SL_OK)
        rc = sl_buf_append(out, s, (size_t)(end - s));
    if (rc == SL_OK)
        rc = sl_buf_append(out, &quote, 1);
    return rc;
}

int
run_csv_write_row(sl_buf *out, char *const *fields, int n, char delim,
                  char quote)
{
    size_t mark, len;
    int rc = SL_OK;

    if (out == NULL || fields == NULL || n < 1 || !chars_ok(delim, quote))
        return SL_EINVAL;
    mark = out->len;
    for (int i = 0; i < n && rc == SL_OK; i++) {
        if (i > 0)
            rc = sl_buf_append(out, &delim, 1);
        if (rc != SL_OK || fields[i] == NULL)
            continue;
        len = strlen(fields[i]);
        if (needs_quotes(fields[i], len, delim, quote))
            rc = append_quoted(out, fields[i], len, quote);
        else
            rc = sl_buf_append(out, fields[i], len);
    }
    if (rc == SL_OK)
        rc = sl_buf_append(out, "\n", 1);
    if (rc != SL_OK) {
        out->len = mark;
        if (out->data != NULL)
            out->data[mark] = '\0';
    }
    return rc;
}
