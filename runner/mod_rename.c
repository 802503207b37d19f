/*
 * mod_rename.c: the rename transformer: {"mapping": {"old": "new"}}. A
 * column the mapping names must exist; two columns may not end with one
 * name.
 */
#include "config.h"

#include <string.h>

#include "engine.h"
#include "json.h"

struct rename {
    const struct run_schema *in, *out;
};

static int
plan(struct run_node *n, struct rename *x, const struct run_schema *s)
{
    json_t *mapping = json_object_get(n->config, "mapping"), *v;
    struct run_schema *out;
    const char *old;

    if (x->in == s)
        return 0;
    if ((out = run_schema_copy(n->pool, s)) == NULL)
        return SL_ENOMEM;
    json_object_foreach(mapping, old, v)
    {
        int k = run_schema_find(s, old);

        if (k < 0)
            return run_node_fail(n, "VALIDATION_ERROR",
                                 "mapping: the input has no column %.63s", old);
        out->cols[k].name = json_string_value(v);
    }
    for (int i = 0; i < out->ncols; i++)
        for (int j = i + 1; j < out->ncols; j++)
            if (strcmp(out->cols[i].name, out->cols[j].name) == 0)
                return run_node_fail(n, "VALIDATION_ERROR",
                                     "mapping: two columns would be named "
                                     "%.63s",
                                     out->cols[i].name);
    x->in = s;
    x->out = out;
    return 0;
}

static int
rename_open(struct run_node *n)
{
    n->state = sl_pcalloc(n->pool, sizeof(struct rename));
    return n->state ? 0 : SL_ENOMEM;
}

static int
rename_push(struct run_node *n, struct run_batch *b)
{
    struct rename *x = n->state;
    int rc = plan(n, x, b->schema);

    if (rc != 0) {
        run_batch_free(b);
        return rc;
    }
    b->schema = x->out;
    return run_emit(n, b);
}

const struct run_module_ops run_mod_rename = {
    .type = SL_MODULE_TRANSFORMER,
    .open = rename_open,
    .push = rename_push,
};
