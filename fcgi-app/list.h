/*
 * list.h: answering lists (list.c), as DESIGN.md's Lists says: a page
 * asked for as skip/limit, offset/limit or page/page_size, and
 * {"items", "total", "skip", "offset", "limit"} (with page, page_size and
 * total_pages for page-based requests) and seed 004's X-Total-Count,
 * X-Page, X-Page-Size and X-Total-Pages headers. Most lists are one
 * statement whose rows are JSON already, copied into the body unparsed.
 */
#ifndef API_LIST_H
#define API_LIST_H

#include <stdbool.h>

#include <jansson.h>
#include <libpq-fe.h>

#include "request.h"
#include "stmt.h"

/* The page a client asked for (caller-owned). */
struct api_page {
    long offset;
    long limit;
    bool page_based; /* page/page_size were used */
    long page;
};

/*
 * Reads skip/limit, offset/limit or page/page_size from the query string
 * into pg (limit at most SL_LIST_LIMIT_MAX). Returns 0; API_ANSWERED with
 * the 422 set on a bad value.
 */
int api_page_parse(struct api_req *r, struct api_page *pg) API_ANSWERS;

/*
 * Answers a list of items (taken) of total in all, as pg asked for it.
 * Returns API_ANSWERED.
 */
int api_reply_list(struct api_req *r, const struct api_page *pg, json_t *items,
                   long total) API_ANSWERS;

/*
 * As api_reply_list(), the items being column col of every row of res
 * (borrowed), each JSON text already (a statement's json_build_object()):
 * they are copied as they are, never parsed. They are the array member,
 * "items" unless a resource's seed names it otherwise; member is a name
 * written in the code, put in the body as it is (never escaped). Returns
 * API_ANSWERED, or SL_ENOMEM (nothing answered).
 */
int api_reply_list_rows(struct api_req *r, const struct api_page *pg,
                        const char *member, const PGresult *res, int col,
                        long total) API_ANSWERS;

/*
 * The total of a list whose statement id gives count(*) OVER () in column
 * col: read from res, or, when res is empty because the page lies past
 * the end, from the statement run again with params[limit_at] "1" and
 * params[limit_at + 1] (the offset) "0". Returns 0 or a database code.
 */
int api_list_total(struct api_req *r, enum api_stmt id, int n,
                   const char **params, int limit_at, const PGresult *res,
                   int col, long *total);

/*
 * Answers a list from statement id, whose last two of n parameters are
 * LIMIT and OFFSET (filled here from pg; params[0..n-3] are the filters)
 * and whose rows are (JSON item, count(*) OVER ()). Returns API_ANSWERED
 * (the list, or the database's error), or SL_ENOMEM.
 */
int api_reply_list_stmt(struct api_req *r, const struct api_page *pg,
                        enum api_stmt id, int n,
                        const char **params) API_ANSWERS;

/*
 * As api_reply_list_stmt(), the items under member instead of "items"
 * (seed 004's {"logs": [...]}); member as for api_reply_list_rows().
 */
int api_reply_list_stmt_as(struct api_req *r, const struct api_page *pg,
                           const char *member, enum api_stmt id, int n,
                           const char **params) API_ANSWERS;

#endif
