/*
 * resolve.c: a host name resolved within a deadline, by getaddrinfo_a()
 * (see resolve.h).
 */
#include "config.h"

#include "resolve.h"

#include <netdb.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "clock.h"
#include "err.h"

/*
 * One asynchronous lookup. glibc may still be running it after we stop
 * waiting, so it lives on the heap with two references: the caller's, and
 * the completion notification's, which glibc delivers on a thread of its
 * own once the lookup ends. Whoever lets go last frees it, results
 * included.
 */
struct lookup {
    atomic_int refs;
    struct gaicb cb;
    struct addrinfo hints;
    char name[SL_RESOLVE_HOST_MAX + 1];
    char port[SL_RESOLVE_PORT_MAX + 1];
};

static void
lookup_release(struct lookup *l)
{
    if (atomic_fetch_sub(&l->refs, 1) != 1)
        return;
    if (l->cb.ar_result != NULL)
        freeaddrinfo(l->cb.ar_result);
    free(l);
}

static void
lookup_done(union sigval v)
{
    lookup_release(v.sival_ptr);
}

int
sl_resolve(const char *host, const char *port, int timeout_ms,
           struct addrinfo **out, int *gai)
{
    struct lookup *l;
    struct gaicb *list[1];
    struct sigevent sev;
    int64_t deadline;
    int code, rc;

    *out = NULL;
    if (gai != NULL)
        *gai = 0;
    if (strlen(host) > SL_RESOLVE_HOST_MAX ||
        (port != NULL && strlen(port) > SL_RESOLVE_PORT_MAX))
        return SL_EINVAL;
    if ((l = calloc(1, sizeof(*l))) == NULL)
        return SL_ENOMEM;
    deadline = sl_clock_mono_us() + (int64_t)timeout_ms * 1000;
    atomic_init(&l->refs, 2);
    snprintf(l->name, sizeof(l->name), "%s", host);
    l->hints.ai_family = AF_UNSPEC;
    l->hints.ai_socktype = SOCK_STREAM;
    l->hints.ai_protocol = IPPROTO_TCP;
    l->cb.ar_name = l->name;
    if (port != NULL) {
        snprintf(l->port, sizeof(l->port), "%s", port);
        l->cb.ar_service = l->port;
    }
    l->cb.ar_request = &l->hints;
    list[0] = &l->cb;
    memset(&sev, 0, sizeof(sev));
    sev.sigev_notify = SIGEV_THREAD;
    sev.sigev_notify_function = lookup_done;
    sev.sigev_value.sival_ptr = l;
    if ((code = getaddrinfo_a(GAI_NOWAIT, list, 1, &sev)) != 0) {
        /*
         * No notification will come. When glibc queued the lookup all the
         * same (it does when only the notification could not be set up,
         * out of memory), nothing says when it may be freed: it is left.
         */
        if (gai_error(&l->cb) != EAI_INPROGRESS) {
            if (l->cb.ar_result != NULL)
                freeaddrinfo(l->cb.ar_result);
            free(l);
        }
        rc = code == EAI_MEMORY ? SL_ENOMEM : SL_ENOTFOUND;
        goto out;
    }
    while ((code = gai_error(&l->cb)) == EAI_INPROGRESS) {
        int64_t left = deadline - sl_clock_mono_us();
        struct timespec ts;

        if (left <= 0)
            break;
        ts.tv_sec = (time_t)(left / 1000000);
        ts.tv_nsec = (long)(left % 1000000) * 1000L;
        gai_suspend((const struct gaicb *const *)list, 1, &ts);
    }
    if (code == EAI_INPROGRESS) {
        /*
         * Not cancelled: glibc cannot stop a lookup that is running, and
         * one cancelled before it runs is never notified (glibc then
         * leaks its own bookkeeping). It ends within the resolver's
         * timeouts, and its notification frees it.
         */
        lookup_release(l);
        code = 0;
        rc = SL_ETIMEDOUT;
        goto out;
    }
    if (code == 0 && l->cb.ar_result != NULL) {
        /* The results are the caller's now; the notification frees the
         * rest. */
        *out = l->cb.ar_result;
        l->cb.ar_result = NULL;
        rc = SL_OK;
    } else {
        rc = code == EAI_MEMORY ? SL_ENOMEM : SL_ENOTFOUND;
    }
    lookup_release(l);
out:
    if (gai != NULL)
        *gai = code;
    return rc;
}
