/*
 * httpc.h: the pieces of a minimal HTTP/1.1 client that need no socket:
 * parsing the URL a webhook names, writing the request, and reading the
 * response incrementally, within bounds.
 *
 * The webhook deliverer (ws-hub/deliver.c) drives the sockets itself, on
 * its own event loop; these functions only turn bytes into facts, so they
 * are tested alone (tests/unit/test_httpc.c).
 *
 * Only what a webhook needs is supported: http and https URLs without
 * user information, one request per connection ("Connection: close"), a
 * response read until its end (Content-Length, chunked, or the peer's
 * close) or until SL_HTTPC_MAX_BODY bytes of body, whichever comes first;
 * the body itself is discarded.
 */
#ifndef SL_HTTPC_H
#define SL_HTTPC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SL_HTTPC_MAX_URL  2048
#define SL_HTTPC_MAX_HOST 255
/* A response's status line and headers together. */
#define SL_HTTPC_MAX_HEAD (16 * 1024)
/* Body bytes read (and discarded) before the response counts as read. */
#define SL_HTTPC_MAX_BODY        (64 * 1024)
#define SL_HTTPC_MAX_RETRY_AFTER 64

struct sl_httpc_url {
    bool tls;                         /* https */
    char host[SL_HTTPC_MAX_HOST + 1]; /* a name or an address, no brackets */
    char port[6];                     /* decimal */
    char authority[SL_HTTPC_MAX_HOST + 9]; /* Host: header's value */
    char target[SL_HTTPC_MAX_URL + 1];     /* path and query; "/" at least */
};

/*
 * Parses an absolute http:// or https:// URL. The fragment is dropped.
 * Returns 0, or SL_EINVAL for anything else: another scheme, user
 * information, an empty host, a bad port, spaces or control characters,
 * a URL longer than SL_HTTPC_MAX_URL.
 */
int sl_httpc_url_parse(const char *url, struct sl_httpc_url *u);

/* An incremental response reader; the caller owns the struct. */
struct sl_httpc_resp {
    int status; /* the final status code, once the head is read */
    bool head_done;
    bool done; /* the response has been read (or enough of it) */
    bool chunked;
    int64_t content_length;                     /* -1: not given */
    int64_t body;                               /* body bytes seen */
    char retry_after[SL_HTTPC_MAX_RETRY_AFTER]; /* "" when absent */
    /* internal */
    int state;
    int64_t chunk_left;
    size_t headlen;
    char line[64];
    size_t linelen;
    char head[SL_HTTPC_MAX_HEAD + 1];
};

void sl_httpc_resp_init(struct sl_httpc_resp *r);

/*
 * Feeds n bytes read from the connection. Returns 0 (r->done says whether
 * the response is complete), SL_EPARSE for a malformed response, or
 * SL_ETOOBIG for a head over SL_HTTPC_MAX_HEAD. Bytes past the end of the
 * response are ignored.
 */
int sl_httpc_resp_feed(struct sl_httpc_resp *r, const char *data, size_t n);

/*
 * The peer closed the connection. Returns 0 when that ends the response
 * (a body without a length, or one already complete): r->done is then
 * true; SL_EPARSE when the response was cut short.
 */
int sl_httpc_resp_eof(struct sl_httpc_resp *r);

/*
 * Writes the request head of a POST of len bytes of JSON to u, with the
 * extra header lines extra (each ending "\r\n"; may be NULL), into buf
 * (bufsz bytes, NUL-terminated). Returns the head's length, or SL_ETOOBIG.
 */
int sl_httpc_request_head(const struct sl_httpc_url *u, const char *user_agent,
                          size_t len, const char *extra, char *buf,
                          size_t bufsz);

#endif
