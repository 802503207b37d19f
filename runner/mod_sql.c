/*
 * mod_sql.c: the sql transformer (placeholder until the warehouse's
 * per-organisation roles land).
 */
#include "config.h"

#include "engine.h"

static int
sql_open(struct run_node *n)
{
    return run_node_fail(n, "NOT_IMPLEMENTED",
                         "the sql transform is not available yet");
}

const struct run_module_ops run_mod_sql = {
    .type = SL_MODULE_TRANSFORMER,
    .name = "sql",
    .open = sql_open,
};
