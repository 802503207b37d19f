/*
 * buf.h: a growable byte buffer with a hard maximum.
 *
 * Every buffer that grows from outside input has a ceiling, given at init:
 * an append that would pass it fails with SL_ETOOBIG and leaves the buffer
 * as it was. The data is always NUL-terminated (the NUL is not counted in
 * len), so a buffer of text can be used as a C string.
 *
 * The struct is owned by the caller; sl_buf_free() releases its memory.
 */
#ifndef SL_BUF_H
#define SL_BUF_H

#include <stdarg.h>
#include <stddef.h>

typedef struct sl_buf {
    char *data; /* NULL until the first append */
    size_t len;
    size_t cap;
    size_t max;
} sl_buf;

/* Prepares an empty buffer that may hold at most max bytes. */
void sl_buf_init(sl_buf *b, size_t max);

/* Releases the memory; the buffer may be used again. Accepts NULL. */
void sl_buf_free(sl_buf *b);

/* Empties the buffer, keeping its memory. */
void sl_buf_reset(sl_buf *b);

/* Appends n bytes. Returns 0, SL_ETOOBIG or SL_ENOMEM. */
int sl_buf_append(sl_buf *b, const void *p, size_t n);

/* Appends a C string. */
int sl_buf_puts(sl_buf *b, const char *s);

/* Appends formatted text. */
int sl_buf_printf(sl_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/*
 * Hands the data to the caller (who frees it with free()) and leaves the
 * buffer empty. Returns NULL for a buffer that never held anything.
 */
char *sl_buf_take(sl_buf *b);

#endif
