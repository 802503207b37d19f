/*
 * resolve.h: resolving a host name that a user gave, within a deadline.
 *
 * getaddrinfo() cannot be bounded in time, so a name a user controls could
 * hold a worker for as long as its DNS servers like. sl_resolve() runs the
 * lookup with getaddrinfo_a() and stops waiting at the deadline. glibc
 * cannot cancel a lookup that is running, so one that outlives the
 * deadline finishes in the background (within the resolver's own
 * timeouts) and frees itself; the caller is not kept waiting.
 *
 * Used by lib/pgconn.c (connectors' PostgreSQL hosts) and by the API's
 * check of URLs it will POST to (fcgi-app/webhooks.c).
 */
#ifndef SL_RESOLVE_H
#define SL_RESOLVE_H

#include <netdb.h>

/* The longest host name sl_resolve() takes (a DNS name's limit). */
#define SL_RESOLVE_HOST_MAX 255
/* The longest service (port) text sl_resolve() takes. */
#define SL_RESOLVE_PORT_MAX 31

/*
 * Resolves host (borrowed; at most SL_RESOLVE_HOST_MAX bytes) and port
 * (borrowed; decimal text or a service name, at most SL_RESOLVE_PORT_MAX
 * bytes; NULL: no service, ports 0) to TCP stream addresses of any family,
 * waiting at most timeout_ms (0 or less: the lookup is started and
 * checked once).
 *
 * Returns 0 with the addresses in *out (owned by the caller:
 * freeaddrinfo() them; never NULL on success), or a negative code with
 * *out NULL: SL_EINVAL (host or port too long), SL_ETIMEDOUT,
 * SL_ENOMEM, or SL_ENOTFOUND. When gai is not NULL it receives the
 * resolver's code (EAI_*, for gai_strerror()), 0 when there was none
 * (success, a timeout, SL_EINVAL, or calloc() failing).
 */
int sl_resolve(const char *host, const char *port, int timeout_ms,
               struct addrinfo **out, int *gai);

#endif
