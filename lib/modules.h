/*
 * modules.h: the pipeline node modules, defined once.
 *
 * A pipeline node names a module (an extractor, transformer, quality gate
 * or loader) and gives it a config that must satisfy the module's JSON
 * Schema. sl_modules is the one list: the API serves it at /modules and
 * validates pipelines against it, and the runner finds a node's module in
 * it and takes the module's operations by its id (runner/engine.c's
 * table, indexed by enum sl_module_id). Adding a module is an id here, an
 * entry in lib/modules.c and an implementation in the runner; test_modules
 * fails while one of the three is missing.
 */
#ifndef SL_MODULES_H
#define SL_MODULES_H

#include <stdbool.h>
#include <stddef.h>

enum sl_module_type {
    SL_MODULE_EXTRACTOR,
    SL_MODULE_TRANSFORMER,
    SL_MODULE_QUALITY,
    SL_MODULE_LOADER,
    SL_MODULE_TYPE_COUNT_,
    SL_MODULE_NONE = -1,
};

/* What a module reads or writes through a connection, if anything. */
enum sl_module_conn {
    SL_CONN_NONE,     /* no connection_id */
    SL_CONN_POSTGRES, /* a postgresql connector, or the warehouse */
    SL_CONN_FILE,     /* a file connector, or the data directory */
};

/* Every module, by what it is: the index of its entry in sl_modules. */
enum sl_module_id {
    SL_MOD_PG_EXTRACT,
    SL_MOD_CSV_EXTRACT,
    SL_MOD_JSONL_EXTRACT,
    SL_MOD_SQL,
    SL_MOD_CLEANER,
    SL_MOD_FILTER,
    SL_MOD_SELECT,
    SL_MOD_RENAME,
    SL_MOD_CAST,
    SL_MOD_PII_MASK,
    SL_MOD_QUALITY_GATE,
    SL_MOD_PG_LOAD,
    SL_MOD_CSV_LOAD,
    SL_MOD_JSONL_LOAD,
    SL_MOD_COUNT_
};

struct sl_module {
    enum sl_module_id id; /* its index in sl_modules */
    enum sl_module_type type;
    const char *name; /* "postgres" */
    const char *display_name;
    const char *description;
    const char *icon;
    const char *color;
    enum sl_module_conn conn;
    const char *schema;   /* JSON Schema of the node config, as JSON text */
    const char *defaults; /* a JSON object: the config a new node starts with */
};

/* The modules, sl_modules[id] for each id: sl_nmodules is SL_MOD_COUNT_. */
extern const struct sl_module sl_modules[];
extern const size_t sl_nmodules;

/* The module of that type and name, or NULL. */
const struct sl_module *sl_module_find(enum sl_module_type type,
                                       const char *name);

/*
 * The module named name, whatever its type, or NULL. Names are unique
 * across types except where an extractor and a loader share one
 * (postgres, csv, jsonl): then want (or SL_MODULE_NONE for the
 * extractor) decides.
 */
const struct sl_module *sl_module_lookup(const char *name,
                                         enum sl_module_type want);

/* "extractor", "transformer", "quality", "loader". */
const char *sl_module_type_name(enum sl_module_type t);

/* The key of the type in GET /modules: "extractors", ... */
const char *sl_module_type_plural(enum sl_module_type t);

/*
 * A node type from its name, singular or plural ("loader", "loaders"),
 * with "quality_gate" and "quality_gates" for SL_MODULE_QUALITY; or
 * SL_MODULE_NONE.
 */
enum sl_module_type sl_module_type_parse(const char *s);

/*
 * The module a seed's source or target type names: "postgresql" and
 * "postgres" are the postgres module, "json" and "jsonl" jsonl, "csv"
 * csv. Returns the module name, or NULL for a type Sluice has no module
 * for.
 */
const char *sl_module_alias(const char *type);

#endif
