/*
 * test_csvio.c: CSV reading (quoting, line endings, BOM, blank lines,
 * bounds, malformed input, UTF-8, reads that split records) and writing,
 * and round trips that keep NULL apart from the empty string.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "buf.h"
#include "csvio.h"
#include "err.h"
#include "pool.h"
#include "unit.h"

#define MAX_FIELD  (1024 * 1024)
#define MAX_FIELDS 64

static sl_pool *pool;

static void
setup(void)
{
    pool = sl_pool_create(0, 0);
    ck_assert_ptr_nonnull(pool);
}

static void
teardown(void)
{
    sl_pool_destroy(pool);
}

/* A file descriptor reading the len bytes of data, from an unlinked file. */
static int
fd_of(const char *data, size_t len)
{
    FILE *f = tmpfile();
    int fd;

    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(data, 1, len, f), len);
    ck_assert_int_eq(fflush(f), 0);
    fd = dup(fileno(f));
    ck_assert_int_ge(fd, 0);
    fclose(f);
    ck_assert_int_eq(lseek(fd, 0, SEEK_SET), 0);
    return fd;
}

/* A reader of the C string data with the delimiter and quote given. */
static int
open_reader(struct run_csv_reader *r, const char *data, char delim, char quote,
            size_t max_field, size_t max_fields)
{
    int fd = fd_of(data, strlen(data));

    ck_assert_int_eq(
        run_csv_reader_init(r, fd, delim, quote, max_field, max_fields), SL_OK);
    return fd;
}

static void
close_reader(struct run_csv_reader *r, int fd)
{
    run_csv_reader_free(r);
    close(fd);
}

/*
 * Asserts that the next record starts on line and has the n fields given
 * after n, as text (quoting not looked at).
 */
static void
expect(struct run_csv_reader *r, size_t line, int n, ...)
{
    char **f = NULL;
    int nf = -1, rc;
    va_list ap;

    rc = run_csv_next(r, pool, &f, &nf, NULL);
    ck_assert_msg(rc == 1, "line %zu: rc %d: %s", line, rc, run_csv_error(r));
    ck_assert_uint_eq(run_csv_line(r), line);
    ck_assert_int_eq(nf, n);
    va_start(ap, n);
    for (int i = 0; i < n; i++) {
        const char *want = va_arg(ap, const char *);

        ck_assert_msg(strcmp(f[i], want) == 0,
                      "line %zu field %d: \"%s\", expected \"%s\"", line, i + 1,
                      f[i], want);
    }
    va_end(ap);
}

static void
expect_end(struct run_csv_reader *r)
{
    char **f = NULL;
    int nf = -1;

    ck_assert_int_eq(run_csv_next(r, pool, &f, &nf, NULL), 0);
    ck_assert_ptr_null(f);
    ck_assert_int_eq(nf, -1);
    /* And again. */
    ck_assert_int_eq(run_csv_next(r, pool, &f, &nf, NULL), 0);
}

/* Asserts that reading fails with rc and exactly the message msg. */
static void
expect_failure(struct run_csv_reader *r, int rc, const char *msg)
{
    char **f;
    int nf;

    ck_assert_int_eq(run_csv_next(r, pool, &f, &nf, NULL), rc);
    ck_assert_msg(strcmp(run_csv_error(r), msg) == 0, "\"%s\", expected \"%s\"",
                  run_csv_error(r), msg);
    /* The reader is spent: the failure repeats. */
    ck_assert_int_eq(run_csv_next(r, pool, &f, &nf, NULL), rc);
}

/* Reads the whole of data and expects failure rc with message msg. */
static void
check_refused(const char *data, size_t max_field, size_t max_fields, int rc,
              const char *msg)
{
    struct run_csv_reader r;
    int fd = open_reader(&r, data, ',', '"', max_field, max_fields);
    char **f;
    int nf, got;

    while ((got = run_csv_next(&r, pool, &f, &nf, NULL)) == 1)
        ;
    ck_assert_msg(got == rc, "%s: rc %d, expected %d", data, got, rc);
    ck_assert_msg(strcmp(run_csv_error(&r), msg) == 0,
                  "\"%s\", expected \"%s\"", run_csv_error(&r), msg);
    close_reader(&r, fd);
}

/* --- Reading -------------------------------------------------------------- */

START_TEST(simple_records)
{
    struct run_csv_reader r;
    int fd = open_reader(&r, "id,name,amount\n1,Ann,10.5\n2,Bob,-3\n", ',', '"',
                         MAX_FIELD, MAX_FIELDS);

    ck_assert_uint_eq(run_csv_line(&r), 0);
    expect(&r, 1, 3, "id", "name", "amount");
    expect(&r, 2, 3, "1", "Ann", "10.5");
    expect(&r, 3, 3, "2", "Bob", "-3");
    expect_end(&r);
    ck_assert_str_eq(run_csv_error(&r), "");
    close_reader(&r, fd);
}
END_TEST

START_TEST(quoted_fields)
{
    struct run_csv_reader r;
    int fd = open_reader(&r,
                         "\"a,b\",\"say \"\"hi\"\"\",\"two\nlines\"\n"
                         "\"\"\"\",\"\",\"x\"\"\"\n"
                         "\"three\n\nlines\",next\n"
                         "last\n",
                         ',', '"', MAX_FIELD, MAX_FIELDS);

    expect(&r, 1, 3, "a,b", "say \"hi\"", "two\nlines");
    expect(&r, 3, 3, "\"", "", "x\"");
    expect(&r, 4, 2, "three\n\nlines", "next");
    expect(&r, 7, 1, "last");
    expect_end(&r);
    close_reader(&r, fd);
}
END_TEST

START_TEST(quote_inside_unquoted_field_is_literal)
{
    struct run_csv_reader r;
    int fd =
        open_reader(&r, "a\"b,5\"\" ,x\"\n", ',', '"', MAX_FIELD, MAX_FIELDS);

    expect(&r, 1, 3, "a\"b", "5\"\" ", "x\"");
    expect_end(&r);
    close_reader(&r, fd);
}
END_TEST

START_TEST(crlf_line_endings)
{
    struct run_csv_reader r;
    int fd = open_reader(&r,
                         "a,b\r\n"
                         "\"c\",\"d\"\r\n"
                         "\"e\r\nf\",g\r\n"
                         "cr\rinside,x\r\n"
                         "h,\r\n"
                         "i,j\r",
                         ',', '"', MAX_FIELD, MAX_FIELDS);

    expect(&r, 1, 2, "a", "b");
    expect(&r, 2, 2, "c", "d");
    /* A CRLF inside quotes is data. */
    expect(&r, 3, 2, "e\r\nf", "g");
    expect(&r, 5, 2, "cr\rinside", "x");
    expect(&r, 6, 2, "h", "");
    /* A final CR without LF ends the record too. */
    expect(&r, 7, 2, "i", "j");
    expect_end(&r);
    close_reader(&r, fd);
}
END_TEST

START_TEST(byte_order_mark)
{
    struct run_csv_reader r;
    int fd = open_reader(&r, "\xEF\xBB\xBFid,name\n\xEF\xBB\xBFx,y\n", ',', '"',
                         MAX_FIELD, MAX_FIELDS);

    expect(&r, 1, 2, "id", "name");
    /* Only at the very start. */
    expect(&r, 2, 2, "\xEF\xBB\xBFx", "y");
    expect_end(&r);
    close_reader(&r, fd);

    fd = open_reader(&r, "\xEF\xBB\xBF", ',', '"', MAX_FIELD, MAX_FIELDS);
    expect_end(&r);
    close_reader(&r, fd);
    fd = open_reader(&r, "\xEF\xBB", ',', '"', MAX_FIELD, MAX_FIELDS);
    ck_assert_int_eq(run_csv_next(&r, pool, &(char **){NULL}, &(int){0}, NULL),
                     SL_EPARSE);
    close_reader(&r, fd);
    fd = open_reader(&r, "\xEF\xBB\xBF\"q\"", ',', '"', MAX_FIELD, MAX_FIELDS);
    expect(&r, 1, 1, "q");
    expect_end(&r);
    close_reader(&r, fd);
}
END_TEST

START_TEST(no_trailing_newline)
{
    static const char *const inputs[] = {"a,b\nc,d", "a,b\nc,\"d\"",
                                         "a,b\nc,d\n"};
    struct run_csv_reader r;
    int fd;

    for (size_t i = 0; i < sizeof(inputs) / sizeof(*inputs); i++) {
        fd = open_reader(&r, inputs[i], ',', '"', MAX_FIELD, MAX_FIELDS);
        expect(&r, 1, 2, "a", "b");
        expect(&r, 2, 2, "c", "d");
        expect_end(&r);
        close_reader(&r, fd);
    }
    fd = open_reader(&r, "a,", ',', '"', MAX_FIELD, MAX_FIELDS);
    expect(&r, 1, 2, "a", "");
    expect_end(&r);
    close_reader(&r, fd);
    fd = open_reader(&r, "", ',', '"', MAX_FIELD, MAX_FIELDS);
    expect_end(&r);
    close_reader(&r, fd);
}
END_TEST

START_TEST(blank_lines_are_skipped)
{
    struct run_csv_reader r;
    int fd = open_reader(&r, "\n\na,b\n\r\n\nc,d\n\n\r\n\n", ',', '"',
                         MAX_FIELD, MAX_FIELDS);

    expect(&r, 3, 2, "a", "b");
    expect(&r, 6, 2, "c", "d");
    expect_end(&r);
    close_reader(&r, fd);

    /* A line of a quoted empty field, or of a space, is no blank line. */
    fd = open_reader(&r, "\"\"\n \n", ',', '"', MAX_FIELD, MAX_FIELDS);
    expect(&r, 1, 1, "");
    expect(&r, 2, 1, " ");
    expect_end(&r);
    close_reader(&r, fd);
}
END_TEST

START_TEST(quoted_flags_tell_null_from_empty)
{
    struct run_csv_reader r;
    int fd =
        open_reader(&r, "a,,\"\",\"b\",\n,\n", ',', '"', MAX_FIELD, MAX_FIELDS);
    static const bool want[] = {false, false, true, true, false};
    char **f;
    bool *q;
    int n;

    ck_assert_int_eq(run_csv_next(&r, pool, &f, &n, &q), 1);
    ck_assert_int_eq(n, 5);
    for (int i = 0; i < n; i++)
        ck_assert_msg(q[i] == want[i], "field %d", i + 1);
    ck_assert_str_eq(f[1], "");
    ck_assert_str_eq(f[2], "");
    ck_assert_int_eq(run_csv_next(&r, pool, &f, &n, &q), 1);
    ck_assert_int_eq(n, 2);
    ck_assert(!q[0] && !q[1]);
    expect_end(&r);
    close_reader(&r, fd);
}
END_TEST

START_TEST(other_delimiters_and_quotes)
{
    struct run_csv_reader r;
    int fd = open_reader(&r, "a;b,c;\"x;y\"\n1;2;3\n", ';', '"', MAX_FIELD,
                         MAX_FIELDS);

    expect(&r, 1, 3, "a", "b,c", "x;y");
    expect(&r, 2, 3, "1", "2", "3");
    expect_end(&r);
    close_reader(&r, fd);

    fd = open_reader(&r, "'it''s'\t\"q\"\t'a\tb'\n", '\t', '\'', MAX_FIELD,
                     MAX_FIELDS);
    expect(&r, 1, 3, "it's", "\"q\"", "a\tb");
    expect_end(&r);
    close_reader(&r, fd);
}
END_TEST

START_TEST(malformed)
{
    struct run_csv_reader r;
    int fd;

    check_refused("a,b\nc,\"d\ne\n", MAX_FIELD, MAX_FIELDS, SL_EPARSE,
                  "line 2: quoted field does not end");
    check_refused("\"", MAX_FIELD, MAX_FIELDS, SL_EPARSE,
                  "line 1: quoted field does not end");
    check_refused("a\n\"ab\"c,d\n", MAX_FIELD, MAX_FIELDS, SL_EPARSE,
                  "line 2: a closing quote must be followed by a delimiter "
                  "or a line ending");
    check_refused("\"say \"hi\" now\"\n", MAX_FIELD, MAX_FIELDS, SL_EPARSE,
                  "line 1: a closing quote must be followed by a delimiter "
                  "or a line ending");
    check_refused("\"a\"\rb\n", MAX_FIELD, MAX_FIELDS, SL_EPARSE,
                  "line 1: a closing quote must be followed by a delimiter "
                  "or a line ending");
    check_refused("\"a\" ,b\n", MAX_FIELD, MAX_FIELDS, SL_EPARSE,
                  "line 1: a closing quote must be followed by a delimiter "
                  "or a line ending");

    /* The record's line stays known after the failure. */
    fd = open_reader(&r, "x\n\"a\nb\nc", ',', '"', MAX_FIELD, MAX_FIELDS);
    expect(&r, 1, 1, "x");
    expect_failure(&r, SL_EPARSE, "line 2: quoted field does not end");
    ck_assert_uint_eq(run_csv_line(&r), 2);
    close_reader(&r, fd);
}
END_TEST

START_TEST(bounds)
{
    struct run_csv_reader r;
    int fd;

    /* Exactly max_field bytes and max_fields fields pass. */
    fd = open_reader(&r, "12345,\"1\"\"345\",c\n", ',', '"', 5, 3);
    expect(&r, 1, 3, "12345", "1\"345", "c");
    expect_end(&r);
    close_reader(&r, fd);

    check_refused("a\n123456,b\n", 5, 3, SL_ETOOBIG,
                  "line 2: field 1 is longer than 5 bytes");
    check_refused("a,\"12\"\"456\"\n", 5, 3, SL_ETOOBIG,
                  "line 1: field 2 is longer than 5 bytes");
    check_refused("a,b,c,d\n", 5, 3, SL_ETOOBIG, "line 1: more than 3 fields");
    check_refused("a,b,c,\n", 5, 3, SL_ETOOBIG, "line 1: more than 3 fields");
    check_refused("a,b,c,", 5, 3, SL_ETOOBIG, "line 1: more than 3 fields");

    /* A field far longer than the read buffer, within the bound. */
    {
        size_t len = 3 * RUN_CSV_READ_BUF + 17;
        char *data = malloc(len + 4);

        data[0] = '"';
        memset(data + 1, 'x', len);
        memcpy(data + 1 + len, "\"\n", 3);
        fd = open_reader(&r, data, ',', '"', len, 1);
        data[1 + len] = '\0';
        expect(&r, 1, 1, data + 1);
        expect_end(&r);
        close_reader(&r, fd);
        data[1 + len] = '"';
        fd = open_reader(&r, data, ',', '"', len - 1, 1);
        expect_failure(&r, SL_ETOOBIG,
                       "line 1: field 1 is longer than 196624 "
                       "bytes");
        close_reader(&r, fd);
        free(data);
    }
}
END_TEST

START_TEST(utf8)
{
    struct run_csv_reader r;
    int fd =
        open_reader(&r, "é,日本,😀,\"Zoë\nÅngström\",a long ascii run then ü\n",
                    ',', '"', MAX_FIELD, MAX_FIELDS);

    expect(&r, 1, 5, "é", "日本", "😀", "Zoë\nÅngström",
           "a long ascii run then ü");
    expect_end(&r);
    close_reader(&r, fd);

    check_refused("ok,\xC3\x28\n", MAX_FIELD, MAX_FIELDS, SL_EPARSE,
                  "line 1: field 2: invalid UTF-8 at byte 1");
    check_refused("x\nok,abcdefghij\x80\n", MAX_FIELD, MAX_FIELDS, SL_EPARSE,
                  "line 2: field 2: invalid UTF-8 at byte 11");
    /* Overlong, a surrogate, past U+10FFFF, cut short, 0xFF. */
    check_refused("\xC0\xAF\n", MAX_FIELD, MAX_FIELDS, SL_EPARSE,
                  "line 1: field 1: invalid UTF-8 at byte 1");
    check_refused("\xE0\x80\xAF\n", MAX_FIELD, MAX_FIELDS, SL_EPARSE,
                  "line 1: field 1: invalid UTF-8 at byte 1");
    check_refused("ab\xED\xA0\x80\n", MAX_FIELD, MAX_FIELDS, SL_EPARSE,
                  "line 1: field 1: invalid UTF-8 at byte 3");
    check_refused("\xF4\x90\x80\x80\n", MAX_FIELD, MAX_FIELDS, SL_EPARSE,
                  "line 1: field 1: invalid UTF-8 at byte 1");
    check_refused("abc\xE2\x82,d\n", MAX_FIELD, MAX_FIELDS, SL_EPARSE,
                  "line 1: field 1: invalid UTF-8 at byte 4");
    check_refused("\"abc\xE2\x82\"\n", MAX_FIELD, MAX_FIELDS, SL_EPARSE,
                  "line 1: field 1: invalid UTF-8 at byte 4");
    check_refused("a,\xFF\n", MAX_FIELD, MAX_FIELDS, SL_EPARSE,
                  "line 1: field 2: invalid UTF-8 at byte 1");

    /* A NUL byte cannot be in a C string: refused. */
    fd = fd_of("a,b\0c\n", 6);
    ck_assert_int_eq(run_csv_reader_init(&r, fd, ',', '"', 10, 10), SL_OK);
    expect_failure(&r, SL_EPARSE, "line 1: field 2: NUL byte at byte 2");
    close_reader(&r, fd);
}
END_TEST

/*
 * Puts every byte of a tricky record (quotes doubled across the boundary,
 * a CRLF inside quotes and one ending the record) at the boundary of the
 * 64 KiB read buffer in turn, after a first record of padding.
 */
START_TEST(records_straddle_the_read_buffer)
{
    static const char tricky[] =
        "\"q\"\"uo\r\nte\",b\xC3\xA9\r\n\"\",\"\"\"\"\n";
    size_t tlen = sizeof(tricky) - 1;
    char *data = malloc(RUN_CSV_READ_BUF + 64), *pad;

    for (size_t at = 0; at <= tlen; at++) {
        struct run_csv_reader r;
        size_t padlen = RUN_CSV_READ_BUF - at - 1;
        int fd;

        memset(data, 'p', padlen);
        data[padlen] = '\n';
        memcpy(data + padlen + 1, tricky, tlen);
        memcpy(data + padlen + 1 + tlen, "end", 4);
        fd = open_reader(&r, data, ',', '"', MAX_FIELD, MAX_FIELDS);
        pad = strndup(data, padlen);
        expect(&r, 1, 1, pad);
        expect(&r, 2, 2, "q\"uo\r\nte", "b\xC3\xA9");
        expect(&r, 4, 2, "", "\"");
        expect(&r, 5, 1, "end");
        expect_end(&r);
        close_reader(&r, fd);
        free(pad);
    }
    free(data);
}
END_TEST

/* Many records across several buffers: each read back as written. */
START_TEST(many_records_across_buffers)
{
    struct run_csv_reader r;
    sl_buf b;
    char id[32], *row[3], **f;
    int fd, n, i;

    sl_buf_init(&b, 16 * 1024 * 1024);
    for (i = 0; i < 20000; i++) {
        snprintf(id, sizeof(id), "%d", i);
        row[0] = id;
        row[1] = i % 7 == 0 ? "with,comma" : "plain text";
        row[2] = i % 11 == 0 ? "line\nbreak \"quoted\"" : NULL;
        ck_assert_int_eq(run_csv_write_row(&b, row, 3, ',', '"'), SL_OK);
    }
    ck_assert_uint_gt(b.len, 4 * RUN_CSV_READ_BUF);
    fd = fd_of(b.data, b.len);
    ck_assert_int_eq(
        run_csv_reader_init(&r, fd, ',', '"', MAX_FIELD, MAX_FIELDS), SL_OK);
    for (i = 0; run_csv_next(&r, pool, &f, &n, NULL) == 1; i++) {
        snprintf(id, sizeof(id), "%d", i);
        ck_assert_int_eq(n, 3);
        ck_assert_str_eq(f[0], id);
        ck_assert_str_eq(f[1], i % 7 == 0 ? "with,comma" : "plain text");
        ck_assert_str_eq(f[2], i % 11 == 0 ? "line\nbreak \"quoted\"" : "");
        if (i % 1000 == 0)
            sl_pool_reset(pool);
    }
    ck_assert_int_eq(i, 20000);
    ck_assert_str_eq(run_csv_error(&r), "");
    close_reader(&r, fd);
    sl_buf_free(&b);
}
END_TEST

/*
 * A pipe whose writer sends data in pieces, with pauses, so that reads
 * come back short: a BOM split across reads, a record across many.
 */
START_TEST(short_reads_from_a_pipe)
{
    static const char *const pieces[] = {
        "\xEF",
        "\xBB",
        "\xBF"
        "a,\"b",
        "\"\"",
        "c\"\r",
        "\n",
        "d",
        ",e",
    };
    struct run_csv_reader r;
    int fds[2];
    pid_t pid;

    ck_assert_int_eq(pipe(fds), 0);
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        close(fds[0]);
        for (size_t i = 0; i < sizeof(pieces) / sizeof(*pieces); i++) {
            if (write(fds[1], pieces[i], strlen(pieces[i])) < 0)
                _exit(1);
            usleep(20 * 1000);
        }
        _exit(0);
    }
    close(fds[1]);
    ck_assert_int_eq(
        run_csv_reader_init(&r, fds[0], ',', '"', MAX_FIELD, MAX_FIELDS),
        SL_OK);
    expect(&r, 1, 2, "a", "b\"c");
    expect(&r, 2, 2, "d", "e");
    expect_end(&r);
    close_reader(&r, fds[0]);
    ck_assert_int_eq(waitpid(pid, NULL, 0), pid);
}
END_TEST

START_TEST(read_errors)
{
    struct run_csv_reader r;

    ck_assert_int_eq(run_csv_reader_init(&r, -1, ',', '"', 10, 10), SL_OK);
    expect_failure(&r, SL_EIO, "line 1: read failed: Bad file descriptor");
    run_csv_reader_free(&r);
    run_csv_reader_free(&r);
    run_csv_reader_free(NULL);
}
END_TEST

START_TEST(init_refusals)
{
    struct run_csv_reader r;

    ck_assert_int_eq(run_csv_reader_init(&r, 0, ',', ',', 10, 10), SL_EINVAL);
    run_csv_reader_free(&r);
    ck_assert_int_eq(run_csv_reader_init(&r, 0, '\n', '"', 10, 10), SL_EINVAL);
    ck_assert_int_eq(run_csv_reader_init(&r, 0, ',', '\r', 10, 10), SL_EINVAL);
    ck_assert_int_eq(run_csv_reader_init(&r, 0, '\0', '"', 10, 10), SL_EINVAL);
    ck_assert_int_eq(run_csv_reader_init(&r, 0, (char)0xC3, '"', 10, 10),
                     SL_EINVAL);
    ck_assert_int_eq(run_csv_reader_init(&r, 0, ',', '"', 0, 10), SL_EINVAL);
    ck_assert_int_eq(run_csv_reader_init(&r, 0, ',', '"', 10, 0), SL_EINVAL);
    run_csv_reader_free(&r);
}
END_TEST

/* --- Writing -------------------------------------------------------------- */

START_TEST(write_quotes_only_when_needed)
{
    char *row[] = {"plain",   NULL,   "",     "a,b",  "q\"uote", " lead",
                   "trail\t", "x\ny", "cr\r", "日本", "a;b"};
    sl_buf b;

    sl_buf_init(&b, 1024);
    ck_assert_int_eq(
        run_csv_write_row(&b, row, sizeof(row) / sizeof(*row), ',', '"'),
        SL_OK);
    ck_assert_str_eq(b.data, "plain,,\"\",\"a,b\",\"q\"\"uote\",\" lead\","
                             "\"trail\t\",\"x\ny\",\"cr\r\",日本,a;b\n");
    sl_buf_reset(&b);
    ck_assert_int_eq(run_csv_write_row(&b, row + 3, 1, ';', '"'), SL_OK);
    ck_assert_int_eq(run_csv_write_row(&b, row + 10, 1, ';', '\''), SL_OK);
    ck_assert_int_eq(run_csv_write_row(&b, (char *[]){"it's"}, 1, ';', '\''),
                     SL_OK);
    ck_assert_str_eq(b.data, "a,b\n'a;b'\n'it''s'\n");
    sl_buf_reset(&b);
    /* One NULL field is an empty line: see csvio.h. */
    ck_assert_int_eq(run_csv_write_row(&b, row + 1, 1, ',', '"'), SL_OK);
    ck_assert_str_eq(b.data, "\n");
    sl_buf_reset(&b);
    /* A field starting with a byte-order mark is quoted: first in a file,
     * unquoted, it would be read back as the file's BOM and dropped. */
    ck_assert_int_eq(
        run_csv_write_row(&b, (char *[]){"\xEF\xBB\xBFx", "y"}, 2, ',', '"'),
        SL_OK);
    ck_assert_str_eq(b.data, "\"\xEF\xBB\xBFx\",y\n");
    sl_buf_free(&b);
}
END_TEST

START_TEST(write_failure_leaves_the_buffer_as_it_was)
{
    char *row[] = {"abc", "de\"f", "ghi"};
    sl_buf b;

    sl_buf_init(&b, 12);
    ck_assert_int_eq(run_csv_write_row(&b, row, 1, ',', '"'), SL_OK);
    ck_assert_int_eq(run_csv_write_row(&b, row, 3, ',', '"'), SL_ETOOBIG);
    ck_assert_uint_eq(b.len, 4);
    ck_assert_str_eq(b.data, "abc\n");
    ck_assert_int_eq(run_csv_write_row(&b, row, 0, ',', '"'), SL_EINVAL);
    ck_assert_int_eq(run_csv_write_row(&b, row, 1, '"', '"'), SL_EINVAL);
    ck_assert_int_eq(run_csv_write_row(&b, NULL, 1, ',', '"'), SL_EINVAL);
    ck_assert_str_eq(b.data, "abc\n");
    sl_buf_free(&b);
}
END_TEST

/* Rows written then read back, with NULL read from unquoted empties. */
START_TEST(round_trip)
{
    static char *rows[][4] = {
        {"1", "plain", NULL, ""},
        {"", NULL, "a,b", "say \"hi\""},
        {"multi\nline", "crlf\r\ninside", " spaced ", "\t"},
        {"\"", "\"\"", ",", "日本語"},
        {NULL, NULL, NULL, NULL},
        {"", "", "", ""},
    };
    static const char delims[] = {',', ';', '\t', '|'};
    struct run_csv_reader r;
    char **f;
    bool *q;
    sl_buf b;
    int fd, n;

    for (size_t d = 0; d < sizeof(delims); d++) {
        sl_buf_init(&b, 4096);
        for (size_t i = 0; i < sizeof(rows) / sizeof(*rows); i++)
            ck_assert_int_eq(run_csv_write_row(&b, rows[i], 4, delims[d], '"'),
                             SL_OK);
        fd = fd_of(b.data, b.len);
        ck_assert_int_eq(
            run_csv_reader_init(&r, fd, delims[d], '"', MAX_FIELD, MAX_FIELDS),
            SL_OK);
        for (size_t i = 0; i < sizeof(rows) / sizeof(*rows); i++) {
            ck_assert_int_eq(run_csv_next(&r, pool, &f, &n, &q), 1);
            ck_assert_int_eq(n, 4);
            for (int j = 0; j < 4; j++) {
                const char *got = f[j][0] == '\0' && !q[j] ? NULL : f[j];

                if (rows[i][j] == NULL)
                    ck_assert_msg(got == NULL, "row %zu field %d", i, j);
                else
                    ck_assert_msg(got != NULL && strcmp(got, rows[i][j]) == 0,
                                  "row %zu field %d: %s", i, j,
                                  got ? got : "NULL");
            }
        }
        expect_end(&r);
        close_reader(&r, fd);
        sl_buf_free(&b);
    }
}
END_TEST

static Suite *
csvio_suite(void)
{
    Suite *s = suite_create("csvio");
    TCase *tc = tcase_create("core");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, simple_records);
    tcase_add_test(tc, quoted_fields);
    tcase_add_test(tc, quote_inside_unquoted_field_is_literal);
    tcase_add_test(tc, crlf_line_endings);
    tcase_add_test(tc, byte_order_mark);
    tcase_add_test(tc, no_trailing_newline);
    tcase_add_test(tc, blank_lines_are_skipped);
    tcase_add_test(tc, quoted_flags_tell_null_from_empty);
    tcase_add_test(tc, other_delimiters_and_quotes);
    tcase_add_test(tc, malformed);
    tcase_add_test(tc, bounds);
    tcase_add_test(tc, utf8);
    tcase_add_test(tc, records_straddle_the_read_buffer);
    tcase_add_test(tc, many_records_across_buffers);
    tcase_add_test(tc, short_reads_from_a_pipe);
    tcase_add_test(tc, read_errors);
    tcase_add_test(tc, init_refusals);
    tcase_add_test(tc, write_quotes_only_when_needed);
    tcase_add_test(tc, write_failure_leaves_the_buffer_as_it_was);
    tcase_add_test(tc, round_trip);
    suite_add_tcase(s, tc);
    return s;
}

SL_TEST_MAIN(csvio_suite)
