/*
 * graph.c: normalising a pipeline's graph from each seed's request shape,
 * and validating the canonical graph (see graph.h).
 *
 * Normalising never guesses silently: a member of the wrong type, a
 * module named by an unknown source or target type, a step without a
 * module are all recorded with their path, and the caller answers 422.
 * Validation then looks at the canonical graph only, so that a pipeline
 * made from any shape is checked the same way.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "err.h"
#include "graph.h"
#include "jschema.h"
#include "json.h"
#include "modules.h"
#include "pool.h"
#include "sqltext.h"
#include "uuid.h"
#include "warehouse.h"

#define PATH_MAX_LEN  200
#define FIELD_MAX_LEN (PATH_MAX_LEN + 64)

/* True when s is a usable node id: [A-Za-z0-9_.-]{1,64}. */
static bool
node_id_valid(const char *s)
{
    size_t n = 0;

    for (; s[n] != '\0'; n++) {
        char ch = s[n];

        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
              (ch >= '0' && ch <= '9') || ch == '_' || ch == '.' || ch == '-'))
            return false;
    }
    return n >= 1 && n <= 64;
}

/*
 * Copies the optional descriptive members of a raw node (name,
 * description, position) into the canonical node, checking their types.
 */
static void
copy_extras(struct api_check *c, const char *path, json_t *raw, json_t *node)
{
    static const char *const strs[] = {"name", "description"};
    char field[FIELD_MAX_LEN];
    json_t *v;

    for (size_t i = 0; i < 2; i++) {
        v = json_object_get(raw, strs[i]);
        if (v == NULL || json_is_null(v))
            continue;
        snprintf(field, sizeof(field), "%s.%s", path, strs[i]);
        if (!json_is_string(v) || json_string_length(v) > 2000)
            api_check_fail(c, field,
                           "must be a string of at most 2000 "
                           "characters");
        else
            json_object_set(node, strs[i], v);
    }
    v = json_object_get(raw, "position");
    if (v != NULL && !json_is_null(v)) {
        snprintf(field, sizeof(field), "%s.position", path);
        if (!json_is_object(v) || !json_is_number(json_object_get(v, "x")) ||
            !json_is_number(json_object_get(v, "y")))
            api_check_fail(c, field, "must be {\"x\": number, \"y\": number}");
        else
            json_object_set_new(node, "position",
                                json_pack("{s:O, s:O}", "x",
                                          json_object_get(v, "x"), "y",
                                          json_object_get(v, "y")));
    }
}

/*
 * A canonical node {id, type, module, config, ...}. type may be NULL (then
 * the module decides, when its name is not shared by several types);
 * config NULL means {}. Problems are recorded at path.
 */
static json_t *
make_node(struct api_check *c, const char *path, const char *id,
          const char *type, const char *module, json_t *config, json_t *raw)
{
    char field[FIELD_MAX_LEN];
    json_t *node = json_object();

    if (id == NULL || !node_id_valid(id)) {
        snprintf(field, sizeof(field), "%s.id", path);
        api_check_fail(c, field,
                       "must be 1 to 64 characters of letters, "
                       "digits, '_', '.' and '-'");
    }
    if (config != NULL && !json_is_object(config)) {
        snprintf(field, sizeof(field), "%s.config", path);
        api_check_fail(c, field, "must be an object");
        config = NULL;
    }
    json_object_set_new(node, "id", json_string(id ? id : ""));
    if (type != NULL)
        json_object_set_new(node, "type", json_string(type));
    json_object_set_new(node, "module", json_string(module ? module : ""));
    json_object_set_new(node, "config",
                        config ? json_deep_copy(config) : json_object());
    if (raw != NULL)
        copy_extras(c, path, raw, node);
    return node;
}

/* Appends an edge source -> target. */
static void
add_edge(json_t *edges, json_t *source, json_t *target)
{
    json_array_append_new(
        edges, json_pack("{s:O, s:O}", "source", json_object_get(source, "id"),
                         "target", json_object_get(target, "id")));
}

/* --- seed 004: nodes and edges ----------------------------------------- */

static void
from_nodes(struct api_check *c, const char *prefix, json_t *in_nodes,
           json_t *in_edges, json_t *nodes, json_t *edges)
{
    char path[PATH_MAX_LEN];
    size_t i;
    json_t *raw;

    if (!json_is_array(in_nodes)) {
        snprintf(path, sizeof(path), "%snodes", prefix);
        api_check_fail(c, path, "must be an array of nodes");
        return;
    }
    json_array_foreach(in_nodes, i, raw)
    {
        snprintf(path, sizeof(path), "%snodes[%zu]", prefix, i);
        if (!json_is_object(raw)) {
            api_check_fail(c, path, "must be an object");
            continue;
        }
        json_array_append_new(nodes,
                              make_node(c, path, sl_json_get_str(raw, "id"),
                                        sl_json_get_str(raw, "type"),
                                        sl_json_get_str(raw, "module"),
                                        json_object_get(raw, "config"), raw));
    }
    if (in_edges == NULL || json_is_null(in_edges))
        return;
    if (!json_is_array(in_edges)) {
        snprintf(path, sizeof(path), "%sedges", prefix);
        api_check_fail(c, path, "must be an array of edges");
        return;
    }
    json_array_foreach(in_edges, i, raw)
    {
        const char *s = sl_json_get_str(raw, "source");
        const char *t = sl_json_get_str(raw, "target");

        snprintf(path, sizeof(path), "%sedges[%zu]", prefix, i);
        if (s == NULL || t == NULL) {
            api_check_fail(
                c, path, "must be {\"source\": node id, \"target\": node id}");
            continue;
        }
        json_array_append_new(
            edges, json_pack("{s:s, s:s}", "source", s, "target", t));
    }
}

/* --- seed 002: sources, transformations, targets ----------------------- */

/* Members of an inline connection that belong in a connector instead,
 * and the connector setting each one is. */
static const struct {
    const char *given, *setting;
} inline_conn[] = {
    {"host", "host"},
    {"port", "port"},
    {"database", "database"},
    {"username", "username"},
    {"user", "username"},
    {"password", "password"},
    {"connection_string", "connection_string"},
    {"dsn", "connection_string"},
    {"ssl_mode", "ssl_mode"},
};

/*
 * The config of a seed 001/002 source or target (node index of the graph,
 * of module): its settings, with a connector_id renamed connection_id.
 * Connection settings given inline (host, password...) never stay in the
 * node: a postgres node that names no connector gives them to
 * inline_conns, as {"node": index, "field": path, "settings": {...}}, for
 * the caller to seal into a connector; without inline_conns, beside a
 * connector, or for another module, they are refused.
 */
static json_t *
endpoint_config(struct api_check *c, const char *path, json_t *conf,
                json_t *raw, const char *module, size_t index,
                json_t *inline_conns)
{
    json_t *out = json_is_object(conf) ? json_deep_copy(conf) : json_object();
    json_t *settings = json_object();
    const char *conn = sl_json_get_str(raw, "connection_id");
    const char *why = NULL; /* why inline settings are refused here */
    char field[FIELD_MAX_LEN];

    if (conn == NULL)
        conn = sl_json_get_str(raw, "connector_id");
    if (conn == NULL)
        conn = sl_json_get_str(out, "connector_id");
    /* Set before the delete: conn may point into the member deleted. */
    if (conn != NULL)
        json_object_set_new(out, "connection_id", json_string(conn));
    json_object_del(out, "connector_id");
    if (json_object_get(out, "connection_id") != NULL)
        why = "give either a connector_id or the connection settings, not "
              "both: a pipeline does not change its connector (PATCH "
              "/api/v1/connectors/{id} does)";
    else if (inline_conns == NULL)
        why = "connection settings are not kept in pipelines: create a "
              "connector (POST /api/v1/connectors) and give its id as "
              "connection_id";
    else if (module == NULL || strcmp(module, "postgres") != 0)
        why = "only a postgresql source or target takes connection settings";
    for (size_t i = 0; i < sizeof(inline_conn) / sizeof(inline_conn[0]); i++) {
        json_t *v = json_object_get(out, inline_conn[i].given);

        if (v == NULL)
            continue;
        if (why != NULL) {
            snprintf(field, sizeof(field), "%s.%s", path, inline_conn[i].given);
            api_check_fail(c, field, "%s", why);
        } else {
            json_object_set(settings, inline_conn[i].setting, v);
        }
        json_object_del(out, inline_conn[i].given);
    }
    if (why == NULL && json_object_size(settings) > 0)
        json_array_append_new(inline_conns,
                              json_pack("{s:I, s:s, s:O}", "node",
                                        (json_int_t)index, "field", path,
                                        "settings", settings));
    json_decref(settings);
    return out;
}

/*
 * The members of a transformation other than its identity, as config (a
 * new reference). Seed 002 gives an sql transformation's query as "code".
 */
static json_t *
transformation_config(json_t *raw, const char *module)
{
    json_t *conf = json_object_get(raw, "config");
    const char *key;
    json_t *v, *out;

    if (conf != NULL) {
        out = json_is_object(conf) ? json_deep_copy(conf) : json_incref(conf);
    } else {
        out = json_object();
        json_object_foreach(raw, key, v)
        {
            if (strcmp(key, "id") != 0 && strcmp(key, "type") != 0 &&
                strcmp(key, "name") != 0 && strcmp(key, "description") != 0 &&
                strcmp(key, "position") != 0)
                json_object_set(out, key, v);
        }
    }
    v = json_object_get(out, "code");
    if (v == NULL)
        v = json_object_get(raw, "code");
    if (module != NULL && strcmp(module, "sql") == 0 && json_is_object(out) &&
        v != NULL && json_object_get(out, "query") == NULL) {
        json_object_set(out, "query", v);
        json_object_del(out, "code");
    }
    return out;
}

/*
 * Records that a transformation names no transformer, saying which ones
 * Sluice runs: seed 002's "python" transformations have no runtime here.
 */
static void
unknown_transformation(struct api_check *c, const char *field, const char *kind)
{
    char names[512] = "";
    size_t len = 0;

    for (size_t i = 0; i < sl_nmodules; i++)
        if (sl_modules[i].type == SL_MODULE_TRANSFORMER &&
            strcmp(sl_modules[i].name, "sql") != 0 &&
            len + strlen(sl_modules[i].name) + 3 < sizeof(names))
            len += (size_t)snprintf(names + len, sizeof(names) - len, "%s%s",
                                    len ? ", " : "", sl_modules[i].name);
    api_check_fail(c, field,
                   "'%.64s' is not a transformation Sluice runs: it runs SQL "
                   "(type \"sql\", the query given as code, reading the "
                   "relation \"input\") and the modules %s "
                   "(see GET /api/v1/modules)",
                   kind, names);
}

/*
 * Reads one list of seed 002 (sources, transformations or targets) into
 * nodes of the given type (inline_conns: as for endpoint_config()).
 * Returns the number of nodes added.
 */
static size_t
from_list(struct api_check *c, json_t *body, const char *key,
          enum sl_module_type type, const char *id_prefix, json_t *nodes,
          json_t *inline_conns)
{
    json_t *list = json_object_get(body, key), *raw;
    char path[PATH_MAX_LEN], idbuf[80];
    size_t i, added = 0;

    if (list == NULL || json_is_null(list))
        return 0;
    if (!json_is_array(list)) {
        api_check_fail(c, key, "must be an array");
        return 0;
    }
    json_array_foreach(list, i, raw)
    {
        const char *id, *kind, *module;
        json_t *conf;

        snprintf(path, sizeof(path), "%s[%zu]", key, i);
        if (!json_is_object(raw)) {
            api_check_fail(c, path, "must be an object");
            continue;
        }
        id = sl_json_get_str(raw, "id");
        if (id == NULL) {
            snprintf(idbuf, sizeof(idbuf), "%s_%zu", id_prefix, i + 1);
            id = idbuf;
        }
        kind = sl_json_get_str(raw, "type");
        if (kind == NULL)
            kind = sl_json_get_str(raw, "module");
        module = kind;
        if (type != SL_MODULE_TRANSFORMER && kind != NULL &&
            sl_module_alias(kind) != NULL)
            module = sl_module_alias(kind);
        if (kind == NULL) {
            char field[FIELD_MAX_LEN];

            snprintf(field, sizeof(field), "%s.type", path);
            api_check_fail(c, field, "is required");
        }
        if (type == SL_MODULE_TRANSFORMER) {
            char field[FIELD_MAX_LEN];

            snprintf(field, sizeof(field), "%s.type", path);
            if (kind != NULL &&
                sl_module_find(SL_MODULE_TRANSFORMER, kind) == NULL)
                unknown_transformation(c, field, kind);
            conf = transformation_config(raw, kind);
        } else {
            char cpath[FIELD_MAX_LEN];

            snprintf(cpath, sizeof(cpath), "%s.config", path);
            conf =
                endpoint_config(c, cpath, json_object_get(raw, "config"), raw,
                                module, json_array_size(nodes), inline_conns);
        }
        json_array_append_new(nodes,
                              make_node(c, path, id, sl_module_type_name(type),
                                        module, conf, raw));
        json_decref(conf);
        added++;
    }
    return added;
}

static void
from_lists(struct api_check *c, json_t *body, json_t *nodes, json_t *edges,
           json_t *inline_conns)
{
    size_t ns = from_list(c, body, "sources", SL_MODULE_EXTRACTOR, "source",
                          nodes, inline_conns);
    size_t nt = from_list(c, body, "transformations", SL_MODULE_TRANSFORMER,
                          "transform", nodes, inline_conns);
    size_t nl = from_list(c, body, "targets", SL_MODULE_LOADER, "target", nodes,
                          inline_conns);

    /* Every source feeds the first transformation, the transformations
     * run in order, and the last feeds every target. */
    for (size_t s = 0; s < ns; s++) {
        json_t *src = json_array_get(nodes, s);

        if (nt > 0)
            add_edge(edges, src, json_array_get(nodes, ns));
        else
            for (size_t l = 0; l < nl; l++)
                add_edge(edges, src, json_array_get(nodes, ns + l));
    }
    for (size_t t = 1; t < nt; t++)
        add_edge(edges, json_array_get(nodes, ns + t - 1),
                 json_array_get(nodes, ns + t));
    if (nt > 0)
        for (size_t l = 0; l < nl; l++)
            add_edge(edges, json_array_get(nodes, ns + nt - 1),
                     json_array_get(nodes, ns + nt + l));
}

/* --- seed 001: source_type, target_type, configuration ------------------ */

static const char *
module_of_type(struct api_check *c, const char *field, const char *type)
{
    const char *m = sl_module_alias(type);

    if (type == NULL) {
        api_check_fail(c, field, "is required");
        return NULL;
    }
    if (m == NULL) {
        api_check_fail(
            c, field, "'%s' has no module; use postgresql, csv or jsonl", type);
        return type;
    }
    return m;
}

/* Reads seed 001's source, target and transformation. Returns 0 or
 * SL_ENOMEM. */
static int
from_source_target(struct api_check *c, json_t *body, json_t *nodes,
                   json_t *edges, json_t *inline_conns)
{
    json_t *conf = json_object_get(body, "configuration");
    json_t *src_conf, *dst_conf, *xform, *src, *dst;
    const char *sm, *dm, *query;

    if (conf != NULL && !json_is_object(conf)) {
        api_check_fail(c, "configuration", "must be an object");
        return 0;
    }
    sm = module_of_type(c, "source_type", sl_json_get_str(body, "source_type"));
    dm = module_of_type(c, "target_type", sl_json_get_str(body, "target_type"));
    src_conf = endpoint_config(c, "configuration.source",
                               json_object_get(conf, "source"), NULL, sm,
                               json_array_size(nodes), inline_conns);
    xform = json_object_get(conf, "transformation");
    if (json_is_object(xform)) {
        /* The transformation's SQL is how the source is read; its
         * parameters are bound, never pasted. */
        json_t *sql = json_object_get(xform, "sql");
        json_t *params = json_object_get(xform, "parameters");

        if (sql == NULL)
            sql = json_object_get(xform, "query");
        if (json_is_string(sql)) {
            query =
                sl_sql_unquote_placeholders(c->r->pool, json_string_value(sql));
            if (query == NULL) {
                json_decref(src_conf);
                return SL_ENOMEM;
            }
            json_object_set_new(src_conf, "query", json_string(query));
        } else if (sql != NULL)
            json_object_set(src_conf, "query", sql);
        if (params != NULL)
            json_object_set(src_conf, "params", params);
    } else if (xform != NULL && !json_is_null(xform)) {
        api_check_fail(c, "configuration.transformation", "must be an object");
    }
    dst_conf = endpoint_config(c, "configuration.target",
                               json_object_get(conf, "target"), NULL, dm,
                               json_array_size(nodes) + 1, inline_conns);
    src = make_node(c, "configuration.source", "source", "extractor", sm,
                    src_conf, NULL);
    dst = make_node(c, "configuration.target", "target", "loader", dm, dst_conf,
                    NULL);
    json_array_append_new(nodes, src);
    json_array_append_new(nodes, dst);
    add_edge(edges, src, dst);
    json_decref(src_conf);
    json_decref(dst_conf);
    return 0;
}

/* --- seed 000: ordered steps ------------------------------------------- */

static int
step_cmp(const void *a, const void *b)
{
    const json_t *const *x = a, *const *y = b;
    json_int_t ox = sl_json_get_int(*x, "order", 0);
    json_int_t oy = sl_json_get_int(*y, "order", 0);

    return ox < oy ? -1 : ox > oy;
}

/* Reads seed 000's steps. Returns 0 or SL_ENOMEM. */
static int
from_steps(struct api_check *c, json_t *steps, json_t *nodes, json_t *edges)
{
    char path[PATH_MAX_LEN];
    size_t n, i;
    json_t **sorted, *raw;

    if (!json_is_array(steps)) {
        api_check_fail(c, "steps", "must be an array of steps");
        return 0;
    }
    n = json_array_size(steps);
    if (n > API_GRAPH_MAX_NODES) {
        api_check_fail(c, "steps", "must have at most %d steps",
                       API_GRAPH_MAX_NODES);
        return 0;
    }
    sorted = sl_pcalloc(c->r->pool, (n ? n : 1) * sizeof(*sorted));
    if (sorted == NULL)
        return SL_ENOMEM;
    json_array_foreach(steps, i, raw) sorted[i] = raw;
    /* qsort is not stable: order ties keep the array order through the
     * index, which the comparison does not see; steps without an order
     * all compare equal, so sort only when every step has one. */
    for (i = 0; i < n; i++)
        if (!json_is_integer(json_object_get(sorted[i], "order")))
            break;
    if (i == n)
        qsort(sorted, n, sizeof(*sorted), step_cmp);
    for (i = 0; i < n; i++) {
        const char *id, *module;

        raw = sorted[i];
        snprintf(path, sizeof(path), "steps[%zu]", i);
        if (!json_is_object(raw)) {
            api_check_fail(c, path, "must be an object");
            continue;
        }
        id = sl_json_get_str(raw, "step_id");
        if (id == NULL)
            id = sl_json_get_str(raw, "id");
        module = sl_json_get_str(raw, "module");
        if (module == NULL) {
            char field[FIELD_MAX_LEN];

            snprintf(field, sizeof(field), "%s.module", path);
            api_check_fail(c, field, "is required (see GET /api/v1/modules)");
        }
        json_array_append_new(
            nodes, make_node(c, path, id, sl_json_get_str(raw, "type"), module,
                             json_object_get(raw, "config"), raw));
        if (i > 0)
            add_edge(edges, json_array_get(nodes, json_array_size(nodes) - 2),
                     json_array_get(nodes, json_array_size(nodes) - 1));
    }
    return 0;
}

/*
 * Refuses arrays longer than a graph may be before anything is built from
 * them: seed 002's lists make an edge per source and target, so their
 * product is bounded too.
 */
static bool
sizes_ok(struct api_check *c, json_t *body, json_t *config)
{
    static const char *const lists[] = {"nodes", "sources", "transformations",
                                        "targets", "steps"};
    size_t total = 0, sources, targets;

    for (size_t i = 0; i < sizeof(lists) / sizeof(lists[0]); i++)
        total += json_array_size(json_object_get(body, lists[i]));
    total += json_array_size(json_object_get(config, "nodes"));
    if (total > API_GRAPH_MAX_NODES) {
        api_check_fail(c, "nodes", "a pipeline has at most %d nodes",
                       API_GRAPH_MAX_NODES);
        return false;
    }
    if (json_array_size(json_object_get(body, "edges")) > API_GRAPH_MAX_EDGES ||
        json_array_size(json_object_get(config, "edges")) >
            API_GRAPH_MAX_EDGES) {
        api_check_fail(c, "edges", "a pipeline has at most %d edges",
                       API_GRAPH_MAX_EDGES);
        return false;
    }
    sources = json_array_size(json_object_get(body, "sources"));
    targets = json_array_size(json_object_get(body, "targets"));
    if (json_array_size(json_object_get(body, "transformations")) == 0 &&
        sources * targets > API_GRAPH_MAX_EDGES) {
        api_check_fail(c, "targets", "a pipeline has at most %d edges",
                       API_GRAPH_MAX_EDGES);
        return false;
    }
    return true;
}

int
api_graph_from_body(struct api_check *c, json_t *body, json_t **nodes,
                    json_t **edges)
{
    return api_graph_from_body_inline(c, body, nodes, edges, NULL);
}

int
api_graph_from_body_inline(struct api_check *c, json_t *body, json_t **nodes,
                           json_t **edges, json_t *inline_conns)
{
    sl_pool *pool = c->r->pool;
    json_t *config = json_object_get(body, "config");
    json_t *configuration = json_object_get(body, "configuration");
    bool g004 =
        json_object_get(body, "nodes") != NULL ||
        (json_is_object(config) && json_object_get(config, "nodes") != NULL);
    bool g002 = json_object_get(body, "sources") != NULL ||
                json_object_get(body, "transformations") != NULL ||
                json_object_get(body, "targets") != NULL;
    bool g001 = json_object_get(body, "source_type") != NULL ||
                json_object_get(body, "target_type") != NULL ||
                (json_is_object(configuration) &&
                 (json_object_get(configuration, "source") != NULL ||
                  json_object_get(configuration, "target") != NULL));
    bool g000 = json_object_get(body, "steps") != NULL;
    int rc = 0;

    *nodes = *edges = NULL;
    if (g004 + g002 + g001 + g000 == 0)
        return SL_ENOTFOUND;
    if (!sizes_ok(c, body, config))
        return SL_EINVAL;
    if (g004 + g002 + g001 + g000 > 1) {
        api_check_fail(c, "nodes",
                       "give the graph in one form: nodes/edges, "
                       "sources/transformations/targets, "
                       "source_type/target_type, or steps");
        return SL_EINVAL;
    }
    *nodes = sl_json_pool_own(pool, json_array());
    *edges = sl_json_pool_own(pool, json_array());
    if (*nodes == NULL || *edges == NULL)
        return SL_ENOMEM;
    if (g004 && json_object_get(body, "nodes") != NULL)
        from_nodes(c, "", json_object_get(body, "nodes"),
                   json_object_get(body, "edges"), *nodes, *edges);
    else if (g004)
        from_nodes(c, "config.", json_object_get(config, "nodes"),
                   json_object_get(config, "edges"), *nodes, *edges);
    else if (g002)
        from_lists(c, body, *nodes, *edges, inline_conns);
    else if (g001)
        rc = from_source_target(c, body, *nodes, *edges, inline_conns);
    else
        rc = from_steps(c, json_object_get(body, "steps"), *nodes, *edges);
    return rc;
}

/* --- validation --------------------------------------------------------- */

struct node_info {
    const char *id;
    const struct sl_module *mod;
    int indeg, outdeg;
    int comp;    /* union-find parent */
    int waiting; /* topo_sort(): inputs not placed yet */
    bool placed; /* topo_sort(): in order[] */
};

static int
find(struct node_info *ni, int i)
{
    while (ni[i].comp != i) {
        ni[i].comp = ni[ni[i].comp].comp;
        i = ni[i].comp;
    }
    return i;
}

static int
node_index(struct node_info *ni, size_t n, const char *id)
{
    for (size_t i = 0; i < n; i++)
        if (ni[i].id != NULL && strcmp(ni[i].id, id) == 0)
            return (int)i;
    return -1;
}

/* Problems of a node config, as the schema validator reports them. */
struct api_schema_errs {
    struct api_check *c;
    const char *prefix; /* "nodes[2].config" */
};

static void
api_schema_error(void *arg, const char *path, const char *reason)
{
    struct api_schema_errs *se = arg;
    char field[FIELD_MAX_LEN];

    if (path == NULL || *path == '\0')
        snprintf(field, sizeof(field), "%s", se->prefix);
    else
        snprintf(field, sizeof(field), "%s%s%s", se->prefix,
                 path[0] == '[' ? "" : ".", path);
    api_check_fail(se->c, field, "%s", reason);
}

/* Checks one node's module, type and config. */
static const struct sl_module *
check_node(struct api_check *c, size_t i, json_t *node, json_t *conns)
{
    const char *module = sl_json_get_str(node, "module");
    const char *tname = sl_json_get_str(node, "type");
    enum sl_module_type type = sl_module_type_parse(tname);
    const struct sl_module *mod;
    json_t *config = json_object_get(node, "config"), *schema;
    char field[FIELD_MAX_LEN];
    const char *conn;

    snprintf(field, sizeof(field), "nodes[%zu].type", i);
    if (tname != NULL && type == SL_MODULE_NONE) {
        api_check_fail(c, field,
                       "must be extractor, transformer, quality or loader");
        return NULL;
    }
    mod = sl_module_lookup(module, type);
    if (mod == NULL && type != SL_MODULE_TRANSFORMER &&
        sl_module_alias(module) != NULL)
        mod = sl_module_lookup(sl_module_alias(module), type);
    snprintf(field, sizeof(field), "nodes[%zu].module", i);
    if (mod == NULL) {
        api_check_fail(c, field,
                       "unknown module '%s' (see GET /api/v1/modules)",
                       module ? module : "");
        return NULL;
    }
    if (type != SL_MODULE_NONE && mod->type != type) {
        api_check_fail(c, field, "'%s' is a %s module, not a %s", mod->name,
                       sl_module_type_name(mod->type),
                       sl_module_type_name(type));
        return NULL;
    }
    if (type == SL_MODULE_NONE &&
        sl_module_find(SL_MODULE_LOADER, mod->name) != NULL &&
        sl_module_find(SL_MODULE_EXTRACTOR, mod->name) != NULL) {
        snprintf(field, sizeof(field), "nodes[%zu].type", i);
        api_check_fail(c, field,
                       "is required: '%s' is both an extractor and a loader",
                       mod->name);
        return NULL;
    }
    /* The canonical node names the module and its type exactly. */
    json_object_set_new(node, "module", json_string(mod->name));
    json_object_set_new(node, "type",
                        json_string(sl_module_type_name(mod->type)));

    schema = json_loads(mod->schema, 0, NULL);
    if (schema != NULL) {
        struct api_schema_errs se;

        snprintf(field, sizeof(field), "nodes[%zu].config", i);
        se.c = c;
        se.prefix = field;
        if (sl_jschema_validate(schema, config, api_schema_error, &se) < 0)
            api_check_fail(c, field,
                           "cannot be checked (the module's schema "
                           "is broken)");
        json_decref(schema);
    }
    conn = sl_json_get_str(config, "connection_id");
    if (conn != NULL && mod->conn != SL_CONN_NONE) {
        snprintf(field, sizeof(field), "nodes[%zu].config.connection_id", i);
        if (!sl_uuid_valid(conn))
            api_check_fail(c, field, "must be a connector id (a UUID)");
        else
            json_array_append_new(
                conns,
                json_pack("{s:s, s:s, s:s}", "id", conn, "kind",
                          mod->conn == SL_CONN_POSTGRES ? "postgresql" : "file",
                          "field", field));
    }
    if (mod->conn == SL_CONN_POSTGRES && conn == NULL &&
        sl_json_get_str(config, "schema") != NULL &&
        sl_wh_layer(sl_json_get_str(config, "schema")) == NULL) {
        snprintf(field, sizeof(field), "nodes[%zu].config.schema", i);
        api_check_fail(c, field,
                       "in the warehouse (no connection_id) must be bronze, "
                       "silver or gold");
    }
    if (mod->conn == SL_CONN_FILE && sl_json_get_str(config, "path") != NULL &&
        !sl_wh_path_ok(sl_json_get_str(config, "path"))) {
        snprintf(field, sizeof(field), "nodes[%zu].config.path", i);
        api_check_fail(c, field,
                       "must be relative and stay inside its directory "
                       "(no leading '/', no '..')");
    }
    return mod;
}

/* Appends a warning string. */
static void warn(json_t *warnings, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
warn(json_t *warnings, const char *fmt, ...)
{
    char msg[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    json_array_append_new(warnings, json_string(msg));
}

/*
 * Kahn's algorithm, stable: among the nodes ready at each step the first
 * in the original order goes first. Returns the number of nodes placed
 * in order[]; fewer than n means a cycle among the rest.
 */
static size_t
topo_sort(struct node_info *ni, size_t n, const int *esrc, const int *edst,
          size_t ne, int *order)
{
    size_t placed = 0;

    for (size_t i = 0; i < n; i++) {
        ni[i].waiting = 0;
        ni[i].placed = false;
    }
    for (size_t e = 0; e < ne; e++)
        ni[edst[e]].waiting++;
    while (placed < n) {
        size_t i;

        for (i = 0; i < n; i++)
            if (!ni[i].placed && ni[i].waiting == 0)
                break;
        if (i == n)
            break;
        ni[i].placed = true;
        order[placed++] = (int)i;
        for (size_t e = 0; e < ne; e++)
            if (esrc[e] == (int)i)
                ni[edst[e]].waiting--;
    }
    return placed;
}

int
api_graph_validate(struct api_check *c, json_t *nodes, json_t *edges,
                   json_t *warnings, json_t *conns, json_t **sorted)
{
    sl_pool *pool = c->r->pool;
    size_t n = json_array_size(nodes), ne = json_array_size(edges), i;
    size_t nvalid_edges = 0, placed;
    struct node_info *ni;
    int *esrc, *edst, *order;
    char field[FIELD_MAX_LEN];
    bool has_loader = false;
    json_t *node, *edge;

    *sorted = NULL;
    if (n == 0) {
        api_check_fail(c, "nodes", "a pipeline needs at least one node");
        return 0;
    }
    if (n > API_GRAPH_MAX_NODES) {
        api_check_fail(c, "nodes", "must have at most %d nodes",
                       API_GRAPH_MAX_NODES);
        return 0;
    }
    if (ne > API_GRAPH_MAX_EDGES) {
        api_check_fail(c, "edges", "must have at most %d edges",
                       API_GRAPH_MAX_EDGES);
        return 0;
    }
    ni = sl_pcalloc(pool, n * sizeof(*ni));
    esrc = sl_pcalloc(pool, (ne ? ne : 1) * sizeof(int));
    edst = sl_pcalloc(pool, (ne ? ne : 1) * sizeof(int));
    order = sl_pcalloc(pool, n * sizeof(int));
    if (ni == NULL || esrc == NULL || edst == NULL || order == NULL)
        return SL_ENOMEM;

    json_array_foreach(nodes, i, node)
    {
        const char *id = sl_json_get_str(node, "id");

        ni[i].comp = (int)i;
        if (id != NULL && *id != '\0' && node_index(ni, i, id) >= 0) {
            snprintf(field, sizeof(field), "nodes[%zu].id", i);
            api_check_fail(c, field, "'%s' is the id of another node", id);
        } else {
            ni[i].id = id;
        }
        ni[i].mod = check_node(c, i, node, conns);
        if (ni[i].mod != NULL && ni[i].mod->type == SL_MODULE_LOADER)
            has_loader = true;
        if (ni[i].id != NULL && sl_json_get_str(node, "description") == NULL)
            warn(warnings, "Node '%s' has no description", ni[i].id);
    }

    json_array_foreach(edges, i, edge)
    {
        const char *s = sl_json_get_str(edge, "source");
        const char *t = sl_json_get_str(edge, "target");
        int a = s ? node_index(ni, n, s) : -1;
        int b = t ? node_index(ni, n, t) : -1;

        if (a < 0) {
            snprintf(field, sizeof(field), "edges[%zu].source", i);
            api_check_fail(c, field, "no node has the id '%s'", s ? s : "");
        }
        if (b < 0) {
            snprintf(field, sizeof(field), "edges[%zu].target", i);
            api_check_fail(c, field, "no node has the id '%s'", t ? t : "");
        }
        if (a < 0 || b < 0)
            continue;
        if (a == b) {
            snprintf(field, sizeof(field), "edges[%zu]", i);
            api_check_fail(c, field, "node '%s' cannot feed itself", s);
            continue;
        }
        for (size_t e = 0; e < nvalid_edges; e++)
            if (esrc[e] == a && edst[e] == b) {
                warn(warnings, "Edge %s -> %s is given twice", s, t);
                a = -1;
                break;
            }
        if (a < 0)
            continue;
        esrc[nvalid_edges] = a;
        edst[nvalid_edges] = b;
        nvalid_edges++;
        ni[a].outdeg++;
        ni[b].indeg++;
        ni[find(ni, a)].comp = find(ni, b);
    }

    placed = topo_sort(ni, n, esrc, edst, nvalid_edges, order);
    if (placed < n) {
        char cycle[160] = "";
        size_t len = 0;

        /* Names the nodes left over (those on or after a cycle), as many
         * as fit; node ids are at most 64 characters. */
        for (size_t k = 0; k < n; k++) {
            if (ni[k].placed || ni[k].id == NULL ||
                len + strlen(ni[k].id) + 5 >= sizeof(cycle))
                continue;
            len += (size_t)snprintf(cycle + len, sizeof(cycle) - len,
                                    "%s'%.64s'", len ? ", " : "", ni[k].id);
        }
        api_check_fail(c, "edges", "the graph has a cycle through %s", cycle);
    } else {
        *sorted = sl_json_pool_own(pool, json_array());
        if (*sorted == NULL)
            return SL_ENOMEM;
        for (size_t k = 0; k < n; k++)
            json_array_append(*sorted, json_array_get(nodes, order[k]));
    }

    for (i = 1; i < n; i++)
        if (find(ni, (int)i) != find(ni, 0) && ni[i].id != NULL &&
            ni[0].id != NULL) {
            api_check_fail(c, "edges",
                           "the graph is not connected: no path links '%s' "
                           "and '%s'",
                           ni[0].id, ni[i].id);
            break;
        }

    for (i = 0; i < n; i++) {
        if (ni[i].mod == NULL || ni[i].id == NULL)
            continue;
        snprintf(field, sizeof(field), "nodes[%zu]", i);
        if (ni[i].mod->type == SL_MODULE_EXTRACTOR && ni[i].indeg > 0)
            api_check_fail(c, field, "extractor '%s' cannot have an input edge",
                           ni[i].id);
        else if (ni[i].mod->type != SL_MODULE_EXTRACTOR && ni[i].indeg == 0)
            api_check_fail(c, field,
                           "%s '%s' has no input: an edge must lead to it",
                           sl_module_type_name(ni[i].mod->type), ni[i].id);
        if (ni[i].mod->type == SL_MODULE_LOADER && ni[i].outdeg > 0)
            api_check_fail(c, field,
                           "loader '%s' ends a path: it cannot have an "
                           "output edge",
                           ni[i].id);
    }
    if (!has_loader)
        warn(warnings, "The pipeline has no loader: its rows are not kept");
    return 0;
}
