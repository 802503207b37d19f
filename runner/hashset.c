/*
 * hashset.c: keyed-hash sets (see hashset.h). The hash is SipHash-2-4,
 * written from its paper (Aumasson and Bernstein, 2012), over each cell's
 * bytes framed by its length (or a NULL mark), so that ("ab","c") and
 * ("a","bc") differ.
 */
#include "hashset.h"

#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "err.h"

#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))

struct sip {
    uint64_t v0, v1, v2, v3;
    uint64_t tail; /* bytes not yet in a word */
    size_t ntail, total;
};

static void
sip_round(struct sip *s)
{
    s->v0 += s->v1;
    s->v1 = ROTL(s->v1, 13);
    s->v1 ^= s->v0;
    s->v0 = ROTL(s->v0, 32);
    s->v2 += s->v3;
    s->v3 = ROTL(s->v3, 16);
    s->v3 ^= s->v2;
    s->v0 += s->v3;
    s->v3 = ROTL(s->v3, 21);
    s->v3 ^= s->v0;
    s->v2 += s->v1;
    s->v1 = ROTL(s->v1, 17);
    s->v1 ^= s->v2;
    s->v2 = ROTL(s->v2, 32);
}

static void
sip_word(struct sip *s, uint64_t m)
{
    s->v3 ^= m;
    sip_round(s);
    sip_round(s);
    s->v0 ^= m;
}

static void
sip_bytes(struct sip *s, const unsigned char *p, size_t n)
{
    s->total += n;
    while (n > 0) {
        s->tail |= (uint64_t)*p++ << (8 * s->ntail);
        n--;
        if (++s->ntail == 8) {
            sip_word(s, s->tail);
            s->tail = 0;
            s->ntail = 0;
        }
    }
}

static uint64_t
sip_end(struct sip *s)
{
    sip_word(s, s->tail | ((uint64_t)(s->total & 0xff) << 56));
    s->v2 ^= 0xff;
    for (int i = 0; i < 4; i++)
        sip_round(s);
    return s->v0 ^ s->v1 ^ s->v2 ^ s->v3;
}

int
run_hashset_init(struct run_hashset *s)
{
    memset(s, 0, sizeof(*s));
    if (sl_random_bytes(&s->k0, sizeof(s->k0)) != 0 ||
        sl_random_bytes(&s->k1, sizeof(s->k1)) != 0)
        return SL_EIO;
    return 0;
}

void
run_hashset_free(struct run_hashset *s)
{
    free(s->slots);
    s->slots = NULL;
    s->cap = s->n = 0;
}

uint64_t
run_hashset_hash(const struct run_hashset *set, char *const *cells, int n)
{
    struct sip s = {set->k0 ^ 0x736f6d6570736575ULL,
                    set->k1 ^ 0x646f72616e646f6dULL,
                    set->k0 ^ 0x6c7967656e657261ULL,
                    set->k1 ^ 0x7465646279746573ULL,
                    0,
                    0,
                    0};
    uint64_t h;

    for (int i = 0; i < n; i++) {
        unsigned char mark = cells[i] == NULL ? 0 : 1;
        uint32_t len = cells[i] == NULL ? 0 : (uint32_t)strlen(cells[i]);

        sip_bytes(&s, &mark, 1);
        sip_bytes(&s, (const unsigned char *)&len, sizeof(len));
        if (len > 0)
            sip_bytes(&s, (const unsigned char *)cells[i], len);
    }
    h = sip_end(&s);
    return h == 0 ? 1 : h;
}

static void
put(uint64_t *slots, size_t cap, uint64_t h)
{
    size_t i = (size_t)h & (cap - 1);

    while (slots[i] != 0)
        i = (i + 1) & (cap - 1);
    slots[i] = h;
}

int
run_hashset_add(struct run_hashset *s, uint64_t h)
{
    size_t i;

    if (s->n + 1 > s->cap / 2) {
        size_t cap = s->cap ? s->cap * 2 : 1024;
        uint64_t *slots;

        if (s->n >= RUN_HASHSET_MAX)
            return SL_ETOOBIG;
        if ((slots = calloc(cap, sizeof(*slots))) == NULL)
            return SL_ENOMEM;
        for (size_t k = 0; k < s->cap; k++)
            if (s->slots[k] != 0)
                put(slots, cap, s->slots[k]);
        free(s->slots);
        s->slots = slots;
        s->cap = cap;
    }
    for (i = (size_t)h & (s->cap - 1); s->slots[i] != 0;
         i = (i + 1) & (s->cap - 1))
        if (s->slots[i] == h)
            return 0;
    s->slots[i] = h;
    s->n++;
    return 1;
}
