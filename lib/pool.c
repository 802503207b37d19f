/*
 * pool.c: the arena behind sl_pool (see pool.h).
 *
 * Memory comes in blocks. A request that fits in what is left of the current
 * block is carved from it; otherwise one larger than a quarter of the block
 * size gets a block of its own so that it does not waste the rest of the
 * current one. A block of its own can also be asked for by name
 * (sl_palloc_block()) and given back before the pool ends
 * (sl_pfree_block()): the one piece of a pool that can. Cleanups are kept
 * in a singly linked list, newest first, allocated from the pool itself.
 */
#include "pool.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "limits.h"

#define POOL_ALIGN         16
#define POOL_DEFAULT_BLOCK (16 * 1024)

struct pool_block {
    struct pool_block *next;
    size_t size;
    size_t used;
    int own; /* one allocation's own block (sl_palloc_block()) */
    _Alignas(POOL_ALIGN) unsigned char data[];
};

struct pool_cleanup {
    struct pool_cleanup *next;
    sl_cleanup_fn fn;
    void *data;
};

struct sl_pool {
    struct pool_block *first;   /* kept across resets */
    struct pool_block *current; /* small allocations come from here */
    struct pool_cleanup *cleanups;
    size_t block_size;
    size_t total;
    size_t max;
};

static size_t
align_up(size_t n)
{
    return (n + POOL_ALIGN - 1) & ~(size_t)(POOL_ALIGN - 1);
}

static struct pool_block *
block_new(sl_pool *p, size_t size)
{
    struct pool_block *b;

    if (size > SIZE_MAX - sizeof(*b) || p->total + size > p->max)
        return NULL;
    b = malloc(sizeof(*b) + size);
    if (b == NULL)
        return NULL;
    b->next = NULL;
    b->size = size;
    b->used = 0;
    b->own = 0;
    p->total += size;
    return b;
}

sl_pool *
sl_pool_create(size_t block_size, size_t max_bytes)
{
    sl_pool *p = calloc(1, sizeof(*p));

    if (p == NULL)
        return NULL;
    p->block_size = block_size ? align_up(block_size) : POOL_DEFAULT_BLOCK;
    p->max = max_bytes ? max_bytes : SL_MAX_POOL_BYTES;
    p->first = block_new(p, p->block_size);
    if (p->first == NULL) {
        free(p);
        return NULL;
    }
    p->current = p->first;
    return p;
}

static void
run_cleanups(sl_pool *p)
{
    /* A cleanup may not register another; take the list first. */
    struct pool_cleanup *c = p->cleanups;

    p->cleanups = NULL;
    for (; c != NULL; c = c->next)
        c->fn(c->data);
}

void
sl_pool_reset(sl_pool *p)
{
    struct pool_block *b, *next;

    if (p == NULL)
        return;
    run_cleanups(p);
    for (b = p->first->next; b != NULL; b = next) {
        next = b->next;
        free(b);
    }
    p->first->next = NULL;
    p->first->used = 0;
    p->current = p->first;
    p->total = p->first->size;
}

void
sl_pool_destroy(sl_pool *p)
{
    if (p == NULL)
        return;
    sl_pool_reset(p);
    free(p->first);
    free(p);
}

void *
sl_palloc(sl_pool *p, size_t n)
{
    struct pool_block *b;
    void *out;

    if (n == 0)
        n = 1;
    if (n > SIZE_MAX - POOL_ALIGN)
        return NULL;
    n = align_up(n);

    if (p->current->size - p->current->used >= n) {
        out = p->current->data + p->current->used;
        p->current->used += n;
        return out;
    }
    if (n > p->block_size / 4) {
        /* A large request: its own block, linked after the current one. */
        b = block_new(p, n);
        if (b == NULL)
            return NULL;
        b->used = n;
        b->next = p->current->next;
        p->current->next = b;
        return b->data;
    }
    b = block_new(p, p->block_size);
    if (b == NULL)
        return NULL;
    b->next = p->current->next;
    p->current->next = b;
    p->current = b;
    out = p->current->data + p->current->used;
    p->current->used += n;
    return out;
}

void *
sl_palloc_block(sl_pool *p, size_t n)
{
    struct pool_block *b;

    if (n == 0)
        n = 1;
    if (n > SIZE_MAX - POOL_ALIGN)
        return NULL;
    b = block_new(p, align_up(n));
    if (b == NULL)
        return NULL;
    b->used = b->size;
    b->own = 1;
    b->next = p->current->next;
    p->current->next = b;
    return b->data;
}

int
sl_pfree_block(sl_pool *p, void *m)
{
    struct pool_block *prev, *b;

    if (m == NULL)
        return SL_OK;
    for (prev = p->first; (b = prev->next) != NULL; prev = b)
        if (b->own && (void *)b->data == m) {
            prev->next = b->next;
            p->total -= b->size;
            free(b);
            return SL_OK;
        }
    return SL_EINVAL;
}

void *
sl_pcalloc(sl_pool *p, size_t n)
{
    void *m = sl_palloc(p, n);

    if (m != NULL)
        memset(m, 0, n);
    return m;
}

char *
sl_pstrndup(sl_pool *p, const char *s, size_t n)
{
    char *d;

    if (s == NULL || n == SIZE_MAX)
        return NULL;
    d = sl_palloc(p, n + 1);
    if (d == NULL)
        return NULL;
    memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

char *
sl_pstrdup(sl_pool *p, const char *s)
{
    return s == NULL ? NULL : sl_pstrndup(p, s, strlen(s));
}

char *
sl_pvsprintf(sl_pool *p, const char *fmt, va_list ap)
{
    va_list cp;
    int n;
    char *d;

    va_copy(cp, ap);
    n = vsnprintf(NULL, 0, fmt, cp);
    va_end(cp);
    if (n < 0)
        return NULL;
    d = sl_palloc(p, (size_t)n + 1);
    if (d == NULL)
        return NULL;
    vsnprintf(d, (size_t)n + 1, fmt, ap);
    return d;
}

char *
sl_psprintf(sl_pool *p, const char *fmt, ...)
{
    va_list ap;
    char *d;

    va_start(ap, fmt);
    d = sl_pvsprintf(p, fmt, ap);
    va_end(ap);
    return d;
}

int
sl_pool_cleanup_add(sl_pool *p, sl_cleanup_fn fn, void *data)
{
    struct pool_cleanup *c = sl_palloc(p, sizeof(*c));

    if (c == NULL) {
        fn(data);
        return SL_ENOMEM;
    }
    c->fn = fn;
    c->data = data;
    c->next = p->cleanups;
    p->cleanups = c;
    return SL_OK;
}

size_t
sl_pool_size(const sl_pool *p)
{
    return p->total;
}
