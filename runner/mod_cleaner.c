/*
 * mod_cleaner.c: the cleaner transformer.
 *
 *   trim              strip blanks around every text value
 *   empty_as_null     make empty values NULL
 *   drop_nulls        drop rows with NULL in any of these columns
 *   remove_duplicates drop rows seen before, judged on "columns" (all
 *                     columns when empty); the first one stays
 *
 * in that order. Deduplication remembers a keyed hash per distinct row
 * (hashset.h), so memory grows with distinct rows, never with their width.
 */
#include "config.h"

#include <ctype.h>
#include <string.h>

#include "engine.h"
#include "hashset.h"
#include "json.h"

struct cleaner {
    bool trim, empty_as_null, dedupe;
    const struct run_schema *in;
    int *drop; /* column indexes, ndrop of them */
    int ndrop;
    int *key; /* dedupe columns, nkey of them (0: all) */
    int nkey;
    char **scratch; /* a key row */
    struct run_hashset seen;
    uint64_t duplicates, nulls;
};

/* Column indexes of the names in list (an array), or fails n. */
static int
indexes(struct run_node *n, const struct run_schema *s, json_t *list,
        const char *what, int **out, int *count)
{
    json_t *v;
    size_t i;

    *count = (int)json_array_size(list);
    *out = sl_palloc(n->pool, sizeof(int) * (size_t)(*count + 1));
    if (*out == NULL)
        return SL_ENOMEM;
    json_array_foreach(list, i, v)
    {
        int k =
            json_is_string(v) ? run_schema_find(s, json_string_value(v)) : -1;

        if (k < 0)
            return run_node_fail(
                n, "VALIDATION_ERROR", "%s[%zu]: the input has no column %.63s",
                what, i, json_is_string(v) ? json_string_value(v) : "");
        (*out)[i] = k;
    }
    return 0;
}

static int
plan(struct run_node *n, struct cleaner *x, const struct run_schema *s)
{
    int rc;

    if (x->in == s)
        return 0;
    if (x->in != NULL && !run_schema_same(x->in, s))
        return run_node_fail(n, "VALIDATION_ERROR",
                             "rows arrive with other columns than the first");
    if ((rc = indexes(n, s, json_object_get(n->config, "drop_nulls"),
                      "drop_nulls", &x->drop, &x->ndrop)) != 0 ||
        (rc = indexes(n, s, json_object_get(n->config, "columns"), "columns",
                      &x->key, &x->nkey)) != 0)
        return rc;
    x->scratch = sl_palloc(n->pool, sizeof(char *) * (size_t)(s->ncols + 1));
    if (x->scratch == NULL)
        return SL_ENOMEM;
    x->in = s;
    return 0;
}

static int
cleaner_open(struct run_node *n)
{
    struct cleaner *x = sl_pcalloc(n->pool, sizeof(*x));

    if (x == NULL)
        return SL_ENOMEM;
    n->state = x;
    x->trim = sl_json_get_bool(n->config, "trim", false);
    x->empty_as_null = sl_json_get_bool(n->config, "empty_as_null", false);
    x->dedupe = sl_json_get_bool(n->config, "remove_duplicates", false);
    return run_hashset_init(&x->seen);
}

static int
cleaner_push(struct run_node *n, struct run_batch *b)
{
    struct cleaner *x = n->state;
    size_t w = (size_t)b->schema->ncols, keep = 0;
    int rc = plan(n, x, b->schema);

    if (rc != 0) {
        run_batch_free(b);
        return rc;
    }
    for (size_t r = 0; r < b->nrows; r++) {
        char **row = b->cells + r * w;
        bool drop = false;

        for (size_t c = 0; c < w; c++) {
            if (row[c] == NULL)
                continue;
            if (x->trim)
                row[c] = run_trim(row[c]);
            if (x->empty_as_null && row[c][0] == '\0')
                row[c] = NULL;
        }
        for (int i = 0; i < x->ndrop && !drop; i++)
            drop = row[x->drop[i]] == NULL;
        if (drop) {
            x->nulls++;
        } else if (x->dedupe) {
            char *const *key = row;
            int nkey = (int)w;

            if (x->nkey > 0) {
                for (int i = 0; i < x->nkey; i++)
                    x->scratch[i] = row[x->key[i]];
                key = x->scratch;
                nkey = x->nkey;
            }
            rc = run_hashset_add(&x->seen,
                                 run_hashset_hash(&x->seen, key, nkey));
            if (rc < 0) {
                run_batch_free(b);
                return run_node_fail(n, "RESOURCE_LIMIT",
                                     "too many distinct rows to deduplicate "
                                     "(more than %zu)",
                                     (size_t)RUN_HASHSET_MAX);
            }
            drop = rc == 0;
            x->duplicates += drop;
        }
        if (drop) {
            n->rows_filtered++;
            continue;
        }
        if (keep != r)
            memmove(b->cells + keep * w, row, w * sizeof(char *));
        keep++;
    }
    b->nrows = keep;
    return run_emit(n, b);
}

static int
cleaner_finish(struct run_node *n)
{
    struct cleaner *x = n->state;

    run_node_log(
        n, "INFO",
        json_pack("{s:I, s:I, s:I, s:I}", "rows_before", (json_int_t)n->rows_in,
                  "rows_after", (json_int_t)n->rows_out, "duplicates_removed",
                  (json_int_t)x->duplicates, "null_rows_removed",
                  (json_int_t)x->nulls),
        "Removed %llu duplicate rows and %llu rows with nulls",
        (unsigned long long)x->duplicates, (unsigned long long)x->nulls);
    return 0;
}

static void
cleaner_close(struct run_node *n, bool ok)
{
    struct cleaner *x = n->state;

    (void)ok;
    if (x != NULL)
        run_hashset_free(&x->seen);
}

const struct run_module_ops run_mod_cleaner = {
    .type = SL_MODULE_TRANSFORMER,
    .open = cleaner_open,
    .push = cleaner_push,
    .finish = cleaner_finish,
    .close = cleaner_close,
};
