/*
 * mod_filter.c: the filter transformer: keeps the rows its expression
 * holds for (expr.h: comparisons, and/or/not, is null, in, like), parsed
 * once per input schema and evaluated row by row; nothing of it reaches a
 * shell or SQL.
 */
#include "config.h"

#include <string.h>

#include "engine.h"
#include "expr.h"
#include "json.h"

struct filter {
    const struct run_schema *in;
    struct run_expr *expr;
};

static int
filter_open(struct run_node *n)
{
    n->state = sl_pcalloc(n->pool, sizeof(struct filter));
    return n->state ? 0 : SL_ENOMEM;
}

static int
plan(struct run_node *n, struct filter *x, const struct run_schema *s)
{
    const char **names;
    char err[256];

    if (x->in == s)
        return 0;
    names = sl_palloc(n->pool, sizeof(char *) * (size_t)(s->ncols + 1));
    if (names == NULL)
        return SL_ENOMEM;
    for (int i = 0; i < s->ncols; i++)
        names[i] = s->cols[i].name;
    if (run_expr_parse(n->pool, sl_json_get_str(n->config, "expression"), names,
                       s->ncols, &x->expr, err, sizeof(err)) != 0)
        return run_node_fail(n, "VALIDATION_ERROR", "expression: %s", err);
    x->in = s;
    return 0;
}

static int
filter_push(struct run_node *n, struct run_batch *b)
{
    struct filter *x = n->state;
    size_t w = (size_t)b->schema->ncols, keep = 0;
    int rc = plan(n, x, b->schema);

    if (rc != 0) {
        run_batch_free(b);
        return rc;
    }
    for (size_t r = 0; r < b->nrows; r++) {
        char **row = b->cells + r * w;

        if (!run_expr_eval(x->expr, row)) {
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
filter_finish(struct run_node *n)
{
    run_node_log(n, "INFO",
                 json_pack("{s:I, s:I}", "rows_before", (json_int_t)n->rows_in,
                           "rows_after", (json_int_t)n->rows_out),
                 "Kept %llu of %llu rows", (unsigned long long)n->rows_out,
                 (unsigned long long)n->rows_in);
    return 0;
}

const struct run_module_ops run_mod_filter = {
    .type = SL_MODULE_TRANSFORMER,
    .open = filter_open,
    .push = filter_push,
    .finish = filter_finish,
};
