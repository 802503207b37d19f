/*
 * csvio.h: CSV (RFC 4180) read from a file descriptor as a stream of
 * records, and written row by row into a buffer.
 *
 * Reading follows RFC 4180 and what real files do besides:
 *
 * - Records end with LF or CRLF; the last may have no line ending. A line
 *   that is entirely empty is skipped (so a one-column file cannot hold an
 *   unquoted empty value: write it as "").
 * - A field starting with the quote character is quoted: it may hold the
 *   delimiter, line breaks and the quote doubled (""), and must be followed
 *   by a delimiter, a line ending or the end of the file; anything else is
 *   malformed, as is a quoted field the file ends inside. A quote inside an
 *   unquoted field is taken literally (a"b reads as a"b).
 * - A UTF-8 byte order mark at the very start of the stream is skipped.
 * - Fields must be valid UTF-8 without NUL bytes.
 * - A field's length and a record's number of fields are bounded, by
 *   max_field and max_fields given at init.
 *
 * Each record comes back with, for each field, whether it was quoted, so
 * that a caller can read an unquoted empty field as NULL and a quoted ""
 * as the empty string, the convention of PostgreSQL's COPY ... CSV and of
 * run_csv_write_row().
 */
#ifndef RUN_CSVIO_H
#define RUN_CSVIO_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "pool.h"

/* The reader's read(2) buffer: fields may be longer; they are assembled. */
#define RUN_CSV_READ_BUF (64 * 1024)

/* A reader; the caller owns the struct, whose fields are private. */
struct run_csv_reader {
    int fd; /* borrowed: never closed here */
    char delim, quote;
    size_t max_field, max_fields;
    char *buf; /* RUN_CSV_READ_BUF bytes, of which [pos, len) unread */
    size_t pos, len;
    bool started; /* the first read, where a BOM is looked for, was done */
    bool eof;
    int failed;      /* the code of the first failure, which then repeats */
    size_t line;     /* the line at pos, from 1 */
    size_t rec_line; /* the line the last record returned starts on */
    sl_buf data;     /* the record being read: fields, each with a NUL */
    sl_buf fields;   /* where each field starts, and if it was quoted */
    unsigned char stop_plain[256];  /* bytes that end an unquoted run */
    unsigned char stop_quoted[256]; /* bytes that end a quoted run */
    char err[160];
};

/*
 * Prepares r to read fd (borrowed; the caller closes it after
 * run_csv_reader_free()) with the delimiter delim and the quote character
 * quote (typically ',' and '"'), refusing a field longer than max_field
 * bytes or a record of more than max_fields fields. Returns 0; SL_EINVAL
 * when delim or quote is not ASCII, is NUL, CR or LF, or they are equal,
 * or when a maximum is 0; or SL_ENOMEM. On failure there is nothing to
 * free, but run_csv_reader_free() may be called all the same.
 */
int run_csv_reader_init(struct run_csv_reader *r, int fd, char delim,
                        char quote, size_t max_field, size_t max_fields);

/* Releases what r holds (not its fd). Accepts NULL. */
void run_csv_reader_free(struct run_csv_reader *r);

/*
 * Reads the next record. On success stores in *fields an array of
 * *nfields NUL-terminated fields and, when quoted is not NULL, in *quoted
 * an array saying for each field whether it was quoted; all of it is
 * allocated from p and lives as long as p does. Returns:
 *
 *   1           a record was read;
 *   0           the end of the file (the outputs are untouched);
 *   SL_EPARSE   malformed CSV or invalid UTF-8;
 *   SL_ETOOBIG  a field longer than max_field, or more than max_fields;
 *   SL_EIO      read(2) failed (errno tells why);
 *   SL_ENOMEM   out of memory, the reader's or p's.
 *
 * On failure run_csv_error() says what and where; the reader is then
 * spent, and every later call returns the same code.
 */
int run_csv_next(struct run_csv_reader *r, sl_pool *p, char ***fields,
                 int *nfields, bool **quoted);

/*
 * The line (from 1) on which the last record returned started, or, after
 * a failure, the one the faulty record started on.
 */
size_t run_csv_line(const struct run_csv_reader *r);

/*
 * A message on the last failure, naming the line ("line 12: quoted field
 * does not end"), or "" when there was none. Owned by r.
 */
const char *run_csv_error(const struct run_csv_reader *r);

/*
 * Appends one record of n fields to out (owned by the caller), ending it
 * with "\n" (LF alone, not RFC 4180's CRLF). A field is quoted only when it
 * must be: when it holds delim, quote, CR or LF, starts or ends with a
 * space or tab, or is empty. A NULL field is written as an unquoted empty
 * field, so that run_csv_next() tells the two apart again; note that a
 * record of one NULL field is thus an empty line, which a reader skips.
 * Returns 0, or SL_ETOOBIG or SL_ENOMEM from out, or SL_EINVAL (n < 1,
 * or delim and quote as run_csv_reader_init() refuses); on failure out is
 * as it was.
 */
int run_csv_write_row(sl_buf *out, char *const *fields, int n, char delim,
                      char quote);

#endif
