/*
 * httpc.c: URL parsing, request heads and incremental response reading
 * for the webhook deliverer's HTTP/1.1 client (see httpc.h).
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "err.h"
#include "httpc.h"

enum {
    ST_HEAD,
    ST_BODY,       /* Content-Length, or until the close */
    ST_CHUNK_SIZE, /* reading a chunk-size line */
    ST_CHUNK_DATA,
    ST_CHUNK_END, /* the CRLF after a chunk's data */
    ST_TRAILER,   /* trailer lines up to an empty one */
    ST_DONE,
};

int
sl_httpc_url_parse(const char *url, struct sl_httpc_url *u)
{
    const char *p, *auth, *auth_end, *host_end, *port = NULL;
    size_t n, hn;

    memset(u, 0, sizeof(*u));
    if (url == NULL || strlen(url) > SL_HTTPC_MAX_URL)
        return SL_EINVAL;
    for (p = url; *p != '\0'; p++)
        if ((unsigned char)*p <= 0x20 || *p == 0x7f)
            return SL_EINVAL;
    if (strncasecmp(url, "http://", 7) == 0) {
        auth = url + 7;
    } else if (strncasecmp(url, "https://", 8) == 0) {
        auth = url + 8;
        u->tls = true;
    } else {
        return SL_EINVAL;
    }
    auth_end = auth + strcspn(auth, "/?#");
    if (memchr(auth, '@', (size_t)(auth_end - auth)) != NULL)
        return SL_EINVAL;
    if (*auth == '[') {
        const char *close = memchr(auth, ']', (size_t)(auth_end - auth));

        if (close == NULL)
            return SL_EINVAL;
        hn = (size_t)(close - auth - 1);
        if (hn == 0 || hn > SL_HTTPC_MAX_HOST)
            return SL_EINVAL;
        memcpy(u->host, auth + 1, hn);
        host_end = close + 1;
        if (host_end < auth_end && *host_end != ':')
            return SL_EINVAL;
    } else {
        host_end = memchr(auth, ':', (size_t)(auth_end - auth));
        if (host_end == NULL)
            host_end = auth_end;
        hn = (size_t)(host_end - auth);
        if (hn == 0 || hn > SL_HTTPC_MAX_HOST)
            return SL_EINVAL;
        memcpy(u->host, auth, hn);
        for (size_t i = 0; i < hn; i++)
            if (!isalnum((unsigned char)u->host[i]) &&
                strchr("-._", u->host[i]) == NULL)
                return SL_EINVAL;
    }
    if (host_end < auth_end) {
        char *e;
        long v;

        port = host_end + 1;
        n = (size_t)(auth_end - port);
        if (n == 0 || n > 5)
            return SL_EINVAL;
        for (size_t i = 0; i < n; i++)
            if (!isdigit((unsigned char)port[i]))
                return SL_EINVAL;
        v = strtol(port, &e, 10);
        if (v < 1 || v > 65535)
            return SL_EINVAL;
        snprintf(u->port, sizeof(u->port), "%ld", v);
    } else {
        strcpy(u->port, u->tls ? "443" : "80");
    }
    n = (size_t)(auth_end - auth);
    if (n >= sizeof(u->authority))
        return SL_EINVAL;
    memcpy(u->authority, auth, n);
    /* The path and query, without the fragment. */
    n = strcspn(auth_end, "#");
    if (n == 0 || *auth_end == '?') {
        u->target[0] = '/';
        memcpy(u->target + 1, auth_end, n);
    } else {
        memcpy(u->target, auth_end, n);
    }
    return SL_OK;
}

void
sl_httpc_resp_init(struct sl_httpc_resp *r)
{
    memset(r, 0, sizeof(*r));
    r->content_length = -1;
    r->state = ST_HEAD;
}

/* The value of header name in the head (lines after the first), copied
 * into out; false if absent. */
static bool
head_value(const char *head, const char *name, char *out, size_t outsz)
{
    size_t nl = strlen(name);
    const char *p = strchr(head, '\n');

    while (p != NULL && p[1] != '\0') {
        const char *line = p + 1, *end = strchr(line, '\n');
        size_t len = end == NULL ? strlen(line) : (size_t)(end - line);

        if (len > nl && strncasecmp(line, name, nl) == 0 && line[nl] == ':') {
            const char *v = line + nl + 1;
            size_t vn = len - nl - 1;

            while (vn > 0 && (*v == ' ' || *v == '\t'))
                v++, vn--;
            while (vn > 0 &&
                   (v[vn - 1] == '\r' || v[vn - 1] == ' ' || v[vn - 1] == '\t'))
                vn--;
            if (vn >= outsz)
                vn = outsz - 1;
            memcpy(out, v, vn);
            out[vn] = '\0';
            return true;
        }
        p = end;
    }
    return false;
}

/* Parses the head just completed; sets the state the body starts in. */
static int
head_parse(struct sl_httpc_resp *r)
{
    char v[64];
    int status;

    if (strncmp(r->head, "HTTP/1.", 7) != 0 ||
        !isdigit((unsigned char)r->head[7]) || r->head[8] != ' ' ||
        !isdigit((unsigned char)r->head[9]) ||
        !isdigit((unsigned char)r->head[10]) ||
        !isdigit((unsigned char)r->head[11]))
        return SL_EPARSE;
    status = (r->head[9] - '0') * 100 + (r->head[10] - '0') * 10 +
             (r->head[11] - '0');
    if (status < 100)
        return SL_EPARSE;
    if (status < 200 && status != 101) {
        /* An interim response: the final one follows. */
        r->headlen = 0;
        return SL_OK;
    }
    r->status = status;
    r->head_done = true;
    if (head_value(r->head, "Retry-After", r->retry_after,
                   sizeof(r->retry_after)) == false)
        r->retry_after[0] = '\0';
    if (head_value(r->head, "Transfer-Encoding", v, sizeof(v)) &&
        strcasestr(v, "chunked") != NULL)
        r->chunked = true;
    if (!r->chunked && head_value(r->head, "Content-Length", v, sizeof(v))) {
        char *e;
        long long cl = strtoll(v, &e, 10);

        if (e == v || *e != '\0' || cl < 0)
            return SL_EPARSE;
        r->content_length = cl;
    }
    if (status == 204 || status == 304 || status == 101 ||
        r->content_length == 0)
        r->state = ST_DONE;
    else if (r->chunked)
        r->state = ST_CHUNK_SIZE;
    else
        r->state = ST_BODY;
    return SL_OK;
}

/* Takes one byte of a chunk-size or trailer line; *full when it ended. */
static int
line_byte(struct sl_httpc_resp *r, char c, bool *full)
{
    *full = false;
    if (c == '\n') {
        if (r->linelen > 0 && r->line[r->linelen - 1] == '\r')
            r->linelen--;
        r->line[r->linelen] = '\0';
        *full = true;
        return SL_OK;
    }
    /* Lines are discarded past their first bytes (chunk extensions,
     * trailers): only a chunk size's digits matter. */
    if (r->linelen < sizeof(r->line) - 1)
        r->line[r->linelen++] = c;
    return SL_OK;
}

int
sl_httpc_resp_feed(struct sl_httpc_resp *r, const char *data, size_t n)
{
    size_t i = 0;
    int rc;

    while (i < n && r->state != ST_DONE) {
        switch (r->state) {
        case ST_HEAD: {
            char c = data[i++];

            if (r->headlen >= SL_HTTPC_MAX_HEAD)
                return SL_ETOOBIG;
            r->head[r->headlen++] = c;
            r->head[r->headlen] = '\0';
            if (c == '\n' &&
                ((r->headlen >= 4 &&
                  memcmp(r->head + r->headlen - 4, "\r\n\r\n", 4) == 0) ||
                 (r->headlen >= 2 &&
                  memcmp(r->head + r->headlen - 2, "\n\n", 2) == 0))) {
                if ((rc = head_parse(r)) != SL_OK)
                    return rc;
            }
            break;
        }
        case ST_BODY: {
            size_t take = n - i;

            if (r->content_length >= 0 &&
                (int64_t)take > r->content_length - r->body)
                take = (size_t)(r->content_length - r->body);
            r->body += (int64_t)take;
            i += take;
            if (r->body == r->content_length)
                r->state = ST_DONE;
            break;
        }
        case ST_CHUNK_SIZE: {
            bool full;
            char *e;
            long long size;

            line_byte(r, data[i++], &full);
            if (!full)
                break;
            size = strtoll(r->line, &e, 16);
            if (e == r->line || size < 0 ||
                (*e != '\0' && *e != ';' && *e != ' ' && *e != '\t'))
                return SL_EPARSE;
            r->linelen = 0;
            r->chunk_left = size;
            r->state = size == 0 ? ST_TRAILER : ST_CHUNK_DATA;
            break;
        }
        case ST_CHUNK_DATA: {
            size_t take = n - i;

            if ((int64_t)take > r->chunk_left)
                take = (size_t)r->chunk_left;
            r->chunk_left -= (int64_t)take;
            r->body += (int64_t)take;
            i += take;
            if (r->chunk_left == 0)
                r->state = ST_CHUNK_END;
            break;
        }
        case ST_CHUNK_END: {
            bool full;

            line_byte(r, data[i++], &full);
            if (!full)
                break;
            if (r->linelen != 0)
                return SL_EPARSE;
            r->state = ST_CHUNK_SIZE;
            break;
        }
        case ST_TRAILER: {
            bool full;

            line_byte(r, data[i++], &full);
            if (!full)
                break;
            if (r->linelen == 0)
                r->state = ST_DONE;
            r->linelen = 0;
            break;
        }
        default:
            return SL_EPARSE;
        }
        if (r->head_done && r->body >= SL_HTTPC_MAX_BODY)
            r->state = ST_DONE;
    }
    r->done = r->state == ST_DONE;
    return SL_OK;
}

int
sl_httpc_resp_eof(struct sl_httpc_resp *r)
{
    if (r->state == ST_DONE || (r->state == ST_BODY && r->content_length < 0)) {
        r->state = ST_DONE;
        r->done = true;
        return SL_OK;
    }
    return SL_EPARSE;
}

int
sl_httpc_request_head(const struct sl_httpc_url *u, const char *user_agent,
                      size_t len, const char *extra, char *buf, size_t bufsz)
{
    int n = snprintf(buf, bufsz,
                     "POST %s HTTP/1.1\r\n"
                     "Host: %s\r\n"
                     "User-Agent: %s\r\n"
                     "Content-Type: application/json\r\n"
                     "Content-Length: %zu\r\n"
                     "Connection: close\r\n"
                     "%s\r\n",
                     u->target, u->authority, user_agent, len,
                     extra == NULL ? "" : extra);

    if (n < 0 || (size_t)n >= bufsz)
        return SL_ETOOBIG;
    return n;
}
