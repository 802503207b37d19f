/*
 * buf.c: the bounded buffer of buf.h.
 */
#include "buf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"

void
sl_buf_init(sl_buf *b, size_t max)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->max = max;
}

void
sl_buf_free(sl_buf *b)
{
    if (b == NULL)
        return;
    free(b->data);
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
}

void
sl_buf_reset(sl_buf *b)
{
    b->len = 0;
    if (b->data != NULL)
        b->data[0] = '\0';
}

/* Makes room for extra more bytes plus the NUL. */
static int
buf_reserve(sl_buf *b, size_t extra)
{
    size_t need, cap;
    char *d;

    if (extra > b->max || b->len > b->max - extra)
        return SL_ETOOBIG;
    need = b->len + extra + 1;
    if (need <= b->cap)
        return SL_OK;
    cap = b->cap ? b->cap : 64;
    while (cap < need)
        cap *= 2;
    if (cap > b->max + 1)
        cap = b->max + 1;
    d = realloc(b->data, cap);
    if (d == NULL)
        return SL_ENOMEM;
    b->data = d;
    b->cap = cap;
    return SL_OK;
}

int
sl_buf_append(sl_buf *b, const void *p, size_t n)
{
    int rc = buf_reserve(b, n);

    if (rc != SL_OK)
        return rc;
    if (n > 0)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
    return SL_OK;
}

int
sl_buf_puts(sl_buf *b, const char *s)
{
    return sl_buf_append(b, s, strlen(s));
}

int
sl_buf_printf(sl_buf *b, const char *fmt, ...)
{
    va_list ap;
    int n, rc;

    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return SL_EINVAL;
    rc = buf_reserve(b, (size_t)n);
    if (rc != SL_OK)
        return rc;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return SL_OK;
}

char *
sl_buf_take(sl_buf *b)
{
    char *d = b->data;

    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    return d;
}
