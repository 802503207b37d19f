/*
 * list.c: reading the page a client asks for and answering lists (see
 * list.h).
 */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "err.h"
#include "limits.h"
#include "list.h"
#include "request.h"

/* Parses a non-negative decimal no larger than max: 0 or SL_EINVAL. */
static int
parse_count(const char *s, long max, long *out)
{
    char *end;
    long v;

    if (s == NULL || *s == '\0' || !isdigit((unsigned char)*s))
        return SL_EINVAL;
    v = strtol(s, &end, 10);
    if (*end != '\0' || v < 0 || v > max)
        return SL_EINVAL;
    *out = v;
    return 0;
}

int
api_page_parse(struct api_req *r, struct api_page *pg)
{
    const char *skip = api_query(r, "skip"), *offset = api_query(r, "offset");
    const char *limit = api_query(r, "limit"), *page = api_query(r, "page");
    const char *page_size = api_query(r, "page_size");
    struct api_check c;

    api_check_init(&c, r);
    pg->offset = 0;
    pg->limit = SL_LIST_LIMIT_DEFAULT;
    pg->page_based = false;
    pg->page = 1;
    if (page != NULL || page_size != NULL) {
        pg->page_based = true;
        pg->limit = 20;
        if (page != NULL &&
            (parse_count(page, 1000000, &pg->page) || pg->page < 1))
            api_check_fail(&c, "page", "must be an integer of at least 1");
        if (page_size != NULL &&
            (parse_count(page_size, SL_LIST_LIMIT_MAX, &pg->limit) ||
             pg->limit < 1))
            api_check_fail(&c, "page_size", "must be an integer in 1..%d",
                           SL_LIST_LIMIT_MAX);
        pg->offset = (pg->page - 1) * pg->limit;
    } else {
        if (skip != NULL && parse_count(skip, 100000000, &pg->offset))
            api_check_fail(&c, "skip", "must be a non-negative integer");
        if (offset != NULL && parse_count(offset, 100000000, &pg->offset))
            api_check_fail(&c, "offset", "must be a non-negative integer");
        if (limit != NULL &&
            (parse_count(limit, SL_LIST_LIMIT_MAX, &pg->limit) ||
             pg->limit < 1))
            api_check_fail(&c, "limit", "must be an integer in 1..%d",
                           SL_LIST_LIMIT_MAX);
    }
    return api_check_done(&c);
}

/* Seed 004's pagination headers, on every list. */
static void
list_headers(struct api_req *r, const struct api_page *pg, long total,
             long pages)
{
    api_add_header(r, "X-Total-Count: %ld", total);
    api_add_header(r, "X-Page: %ld", pg->offset / pg->limit + 1);
    api_add_header(r, "X-Page-Size: %ld", pg->limit);
    api_add_header(r, "X-Total-Pages: %ld", pages);
}

int
api_reply_list(struct api_req *r, const struct api_page *pg, json_t *items,
               long total)
{
    json_t *body = json_object();
    long pages = pg->limit > 0 ? (total + pg->limit - 1) / pg->limit : 0;

    json_object_set_new(body, "items", items);
    json_object_set_new(body, "total", json_integer(total));
    json_object_set_new(body, "skip", json_integer(pg->offset));
    json_object_set_new(body, "offset", json_integer(pg->offset));
    json_object_set_new(body, "limit", json_integer(pg->limit));
    if (pg->page_based) {
        json_object_set_new(body, "page", json_integer(pg->page));
        json_object_set_new(body, "page_size", json_integer(pg->limit));
        json_object_set_new(body, "total_pages", json_integer(pages));
    }
    list_headers(r, pg, total, pages);
    return api_reply(r, 200, body);
}

int
api_reply_list_rows(struct api_req *r, const struct api_page *pg,
                    const char *member, const PGresult *res, int col,
                    long total)
{
    long pages = pg->limit > 0 ? (total + pg->limit - 1) / pg->limit : 0;
    int n = PQntuples(res);
    size_t len = 256 + strlen(member);
    char *body, *p;

    for (int i = 0; i < n; i++)
        len += (size_t)PQgetlength(res, i, col) + 1;
    body = p = sl_palloc(r->pool, len);
    if (body == NULL)
        return SL_ENOMEM;
    p += snprintf(p, len, "{\"%s\":[", member);
    for (int i = 0; i < n; i++) {
        size_t l = (size_t)PQgetlength(res, i, col);

        if (i > 0)
            *p++ = ',';
        memcpy(p, PQgetvalue(res, i, col), l);
        p += l;
    }
    p += snprintf(p, len - (size_t)(p - body),
                  "],\"total\":%ld,\"skip\":%ld,\"offset\":%ld,\"limit\":%ld",
                  total, pg->offset, pg->offset, pg->limit);
    if (pg->page_based)
        p += snprintf(p, len - (size_t)(p - body),
                      ",\"page\":%ld,\"page_size\":%ld,\"total_pages\":%ld",
                      pg->page, pg->limit, pages);
    snprintf(p, len - (size_t)(p - body), "}");
    list_headers(r, pg, total, pages);
    r->status = 200;
    r->resp_type = "application/json";
    r->resp_body = body;
    r->resp_len = strlen(body);
    return API_ANSWERED;
}

int
api_list_total(struct api_req *r, enum api_stmt id, int n, const char **params,
               int limit_at, const PGresult *res, int col, long *total)
{
    PGresult *first;
    int rc;

    *total = 0;
    if (PQntuples(res) > 0) {
        *total = strtol(PQgetvalue(res, 0, col), NULL, 10);
        return 0;
    }
    if (strcmp(params[limit_at + 1], "0") == 0)
        return 0;
    params[limit_at] = "1";
    params[limit_at + 1] = "0";
    rc = api_exec_scoped(r, r->who.tenant_id, r->who.user_id, id, n, params,
                         &first);
    if (rc == SL_OK && PQntuples(first) > 0)
        *total = strtol(PQgetvalue(first, 0, col), NULL, 10);
    return rc;
}

int
api_reply_list_stmt(struct api_req *r, const struct api_page *pg,
                    enum api_stmt id, int n, const char **params)
{
    return api_reply_list_stmt_as(r, pg, "items", id, n, params);
}

int
api_reply_list_stmt_as(struct api_req *r, const struct api_page *pg,
                       const char *member, enum api_stmt id, int n,
                       const char **params)
{
    char *limit = sl_psprintf(r->pool, "%ld", pg->limit);
    char *offset = sl_psprintf(r->pool, "%ld", pg->offset);
    PGresult *res;
    long total;
    int rc;

    params[n - 2] = limit;
    params[n - 1] = offset;
    rc = api_exec_scoped(r, r->who.tenant_id, r->who.user_id, id, n, params,
                         &res);
    if (rc != SL_OK ||
        (rc = api_list_total(r, id, n, params, n - 2, res, 1, &total)) != SL_OK)
        return api_db_error(r, rc);
    return api_reply_list_rows(r, pg, member, res, 0, total);
}
