/*
 * mod_select.c: the select transformer: keeps only the named columns, in
 * the order named.
 */
#include "config.h"

#include <string.h>

#include "engine.h"
#include "json.h"

struct select {
    const struct run_schema *in, *out;
    int *map; /* out column i is in column map[i] */
};

/* Works out the output for input schema s, once per schema. */
static int
plan(struct run_node *n, struct select *x, const struct run_schema *s)
{
    json_t *cols = json_object_get(n->config, "columns"), *c;
    struct run_schema *out;
    size_t i;

    if (x->in == s)
        return 0;
    out = sl_pcalloc(n->pool, sizeof(*out));
    if (out == NULL ||
        (out->cols = sl_pcalloc(n->pool, sizeof(*out->cols) *
                                             (json_array_size(cols) + 1))) ==
            NULL ||
        (x->map = sl_pcalloc(n->pool, sizeof(int) *
                                          (json_array_size(cols) + 1))) == NULL)
        return SL_ENOMEM;
    json_array_foreach(cols, i, c)
    {
        const char *name = json_string_value(c);
        int k = name ? run_schema_find(s, name) : -1;

        if (k < 0)
            return run_node_fail(n, "VALIDATION_ERROR",
                                 "columns[%zu]: the input has no column %.63s",
                                 i, name ? name : "");
        out->cols[i] = s->cols[k];
        x->map[i] = k;
    }
    out->ncols = (int)json_array_size(cols);
    x->in = s;
    x->out = out;
    return 0;
}

static int
select_open(struct run_node *n)
{
    n->state = sl_pcalloc(n->pool, sizeof(struct select));
    return n->state ? 0 : SL_ENOMEM;
}

static int
select_push(struct run_node *n, struct run_batch *b)
{
    struct select *x = n->state;
    char **cells;
    int rc = plan(n, x, b->schema), w;

    if (rc != 0) {
        run_batch_free(b);
        return rc;
    }
    w = x->out->ncols;
    cells = sl_palloc(b->pool, sizeof(char *) * (b->nrows ? b->nrows : 1) *
                                   (size_t)(w ? w : 1));
    if (cells == NULL) {
        run_batch_free(b);
        return SL_ENOMEM;
    }
    for (size_t r = 0; r < b->nrows; r++)
        for (int i = 0; i < w; i++)
            cells[r * (size_t)w + (size_t)i] = run_cell(b, r, x->map[i]);
    b->cells = cells;
    b->cap = b->nrows;
    b->schema = x->out;
    return run_emit(n, b);
}

const struct run_module_ops run_mod_select = {
    .type = SL_MODULE_TRANSFORMER,
    .open = select_open,
    .push = select_push,
};
