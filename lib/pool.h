/*
 * pool.h: an arena with cleanup hooks, one per unit of work.
 *
 * A pool hands out memory that lives until the pool is reset or destroyed;
 * nothing allocated from it is freed on its own. Resources that are not
 * pool memory (a PGresult, a json_t, a file descriptor) are registered with
 * sl_pool_cleanup_add() and released, newest first, when the pool is reset
 * or destroyed. The API keeps one pool per FastCGI request, the runner one
 * per run, the hub one per connection.
 *
 * A pool refuses to grow beyond the max_bytes given at creation: allocation
 * then returns NULL, as it does when malloc fails. Pools are not thread-safe.
 */
#ifndef SL_POOL_H
#define SL_POOL_H

#include <stdarg.h>
#include <stddef.h>

typedef struct sl_pool sl_pool;
typedef void (*sl_cleanup_fn)(void *data);

/*
 * Creates a pool whose blocks are block_size bytes (0 picks 16 KiB) and
 * whose total size is capped at max_bytes (0 picks SL_MAX_POOL_BYTES).
 * Returns NULL when out of memory. The caller owns the pool.
 */
sl_pool *sl_pool_create(size_t block_size, size_t max_bytes);

/* Runs every cleanup and frees the pool. Accepts NULL. */
void sl_pool_destroy(sl_pool *p);

/*
 * Runs every cleanup (newest first) and forgets everything allocated,
 * keeping the first block for reuse.
 */
void sl_pool_reset(sl_pool *p);

/* Returns n bytes aligned for any type, or NULL (out of memory or cap). */
void *sl_palloc(sl_pool *p, size_t n);

/*
 * Returns n bytes in a block of their own, or NULL (out of memory or cap).
 * Unlike the rest of the pool's memory, such a block can be given back
 * before the pool ends, with sl_pfree_block(): for a buffer that comes
 * and goes many times in a pool's life (a connection's reassembly buffer,
 * a queue's storage beyond its first few slots).
 */
void *sl_palloc_block(sl_pool *p, size_t n);

/*
 * Gives back m, a block from sl_palloc_block() on p (taken). Accepts NULL.
 * Returns 0, or SL_EINVAL (nothing done) when m is not such a block.
 */
int sl_pfree_block(sl_pool *p, void *m);

/* As sl_palloc(), zero-filled. */
void *sl_pcalloc(sl_pool *p, size_t n);

/* Copies s (NULL gives NULL) into the pool. */
char *sl_pstrdup(sl_pool *p, const char *s);

/* Copies n bytes of s and a terminating NUL into the pool. */
char *sl_pstrndup(sl_pool *p, const char *s, size_t n);

/* Formats into pool memory; NULL on failure. */
char *sl_psprintf(sl_pool *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
char *sl_pvsprintf(sl_pool *p, const char *fmt, va_list ap);

/*
 * Registers fn(data) to run when the pool is reset or destroyed.
 * Returns 0, or SL_ENOMEM, in which case fn(data) has been run at once so
 * that the resource is never leaked.
 */
int sl_pool_cleanup_add(sl_pool *p, sl_cleanup_fn fn, void *data);

/* Bytes currently taken from the system by this pool (blocks included). */
size_t sl_pool_size(const sl_pool *p);

#endif
