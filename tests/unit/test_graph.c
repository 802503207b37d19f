/*
 * test_graph.c: a pipeline's graph from each seed's request shape to the
 * canonical form (seed 004's nodes and edges, at the top or in config;
 * seed 002's lists; seed 001's source and target; seed 000's ordered
 * steps), and the validation of the canonical graph: modules and their
 * types, configs against their schemas with the path of each problem,
 * connections, the warehouse's layers and the path rule, edges, cycles,
 * connectedness, where extractors and loaders may stand, and the order
 * the runner takes the nodes in.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "check.h"
#include "err.h"
#include "graph.h"
#include "json.h"
#include "pool.h"
#include "unit.h"

static sl_pool *pool;
static struct api_req req;
static struct api_check check;
/* The last graph made or checked, and what validation said of it. */
static json_t *nodes, *edges, *warnings, *conns, *sorted;

static void
setup(void)
{
    pool = sl_pool_create(0, 0);
    ck_assert_ptr_nonnull(pool);
    memset(&req, 0, sizeof(req));
    req.pool = pool;
    api_check_init(&check, &req);
    nodes = edges = sorted = NULL;
    warnings = json_array();
    conns = json_array();
}

/* The graph's JSON is the pool's (graph.h): nothing of it is freed here. */
static void
teardown(void)
{
    json_decref(warnings);
    json_decref(conns);
    sl_pool_destroy(pool);
}

/* Normalises the request body text; returns what api_graph_from_body()
 * did. The graph stays in nodes and edges. */
static int
from_body(const char *text)
{
    json_error_t e;
    json_t *body = json_loads(text, 0, &e);
    int rc;

    ck_assert_msg(body != NULL, "%s: %s", text, e.text);
    rc = api_graph_from_body(&check, body, &nodes, &edges);
    json_decref(body);
    return rc;
}

/* Validates nodes and edges (JSON text, or those of from_body()). */
static void
validate(const char *nodes_text, const char *edges_text)
{
    if (nodes_text != NULL) {
        nodes = sl_json_pool_own(pool, json_loads(nodes_text, 0, NULL));
        edges = sl_json_pool_own(pool, json_loads(edges_text, 0, NULL));
        ck_assert_msg(nodes != NULL && edges != NULL, "bad test JSON");
    }
    ck_assert_int_eq(
        api_graph_validate(&check, nodes, edges, warnings, conns, &sorted), 0);
}

/* Whether a problem with field, whose reason holds part, was recorded. */
static bool
has_error(const char *field, const char *part)
{
    json_t *e;
    size_t i;

    json_array_foreach(check.errors, i, e)
    {
        const char *f = json_string_value(json_object_get(e, "field"));
        const char *why = json_string_value(json_object_get(e, "reason"));

        if (strcmp(f, field) == 0 && (part == NULL || strstr(why, part)))
            return true;
    }
    return false;
}

#define assert_error(field, part)                                              \
    ck_assert_msg(has_error(field, part), "no error on %s (%s) in %s", field,  \
                  part ? part : "", json_dumps(check.errors, 0))
#define assert_no_errors()                                                     \
    ck_assert_msg(json_array_size(check.errors) == 0, "%s",                    \
                  json_dumps(check.errors, 0))

/* The member at path (as it_str() reads it: "0.config.path") of j. */
static json_t *
at(json_t *j, const char *path)
{
    char key[64];
    const char *dot;

    while (j != NULL && *path != '\0') {
        dot = strchr(path, '.');
        snprintf(key, sizeof(key), "%.*s",
                 (int)(dot ? (size_t)(dot - path) : strlen(path)), path);
        if (json_is_array(j))
            j = json_array_get(j, (size_t)atoi(key));
        else
            j = json_object_get(j, key);
        path = dot ? dot + 1 : "";
    }
    return j;
}

static const char *
str_at(json_t *j, const char *path)
{
    return json_string_value(at(j, path));
}

/* Asserts the edges are exactly the pairs given, "a>b" each. */
static void
assert_edges(int n, ...)
{
    va_list ap;

    ck_assert_uint_eq(json_array_size(edges), (size_t)n);
    va_start(ap, n);
    for (int i = 0; i < n; i++) {
        json_t *e = json_array_get(edges, (size_t)i);
        char got[160];

        snprintf(got, sizeof(got), "%s>%s",
                 json_string_value(json_object_get(e, "source")),
                 json_string_value(json_object_get(e, "target")));
        ck_assert_str_eq(got, va_arg(ap, const char *));
    }
    va_end(ap);
}

/* --- seed 004 ------------------------------------------------------------ */

#define GRAPH_004                                                              \
    "\"nodes\": ["                                                             \
    "{\"id\": \"read\", \"type\": \"extractor\", \"module\": \"csv\", "        \
    "\"config\": {\"path\": \"in/customers.csv\"}, \"name\": \"Read\", "       \
    "\"description\": \"read the file\", \"position\": {\"x\": 1, \"y\": 2}}," \
    "{\"id\": \"clean\", \"type\": \"transformer\", \"module\": \"cleaner\", " \
    "\"config\": {\"remove_duplicates\": true}, \"description\": \"dedupe\"}," \
    "{\"id\": \"write\", \"type\": \"loader\", \"module\": \"postgres\", "     \
    "\"config\": {\"table\": \"customers\"}, \"description\": \"load\"}],"     \
    "\"edges\": [{\"source\": \"read\", \"target\": \"clean\"}, "              \
    "{\"source\": \"clean\", \"target\": \"write\"}]"

START_TEST(no_graph_is_no_graph)
{
    ck_assert_int_eq(from_body("{\"name\": \"x\"}"), SL_ENOTFOUND);
    ck_assert_ptr_null(nodes);
    ck_assert_ptr_null(edges);
    assert_no_errors();
}
END_TEST

START_TEST(seed_004_nodes_and_edges)
{
    ck_assert_int_eq(from_body("{" GRAPH_004 "}"), SL_OK);
    assert_no_errors();
    ck_assert_uint_eq(json_array_size(nodes), 3);
    ck_assert_str_eq(str_at(nodes, "0.id"), "read");
    ck_assert_str_eq(str_at(nodes, "0.module"), "csv");
    ck_assert_str_eq(str_at(nodes, "0.config.path"), "in/customers.csv");
    ck_assert_str_eq(str_at(nodes, "0.name"), "Read");
    ck_assert_int_eq(json_integer_value(at(nodes, "0.position.y")), 2);
    assert_edges(2, "read>clean", "clean>write");
    validate(NULL, NULL);
    assert_no_errors();
    ck_assert_uint_eq(json_array_size(warnings), 0); /* described, loaded */
    ck_assert_uint_eq(json_array_size(sorted), 3);

    /* The same graph inside config, its problems named from there. */
    ck_assert_int_eq(from_body("{\"config\": {" GRAPH_004 "}}"), SL_OK);
    assert_no_errors();
    ck_assert_uint_eq(json_array_size(nodes), 3);
    ck_assert_int_eq(from_body("{\"config\": {\"nodes\": [{\"id\": \"a b\", "
                               "\"module\": \"csv\", \"config\": 3}]}}"),
                     SL_OK);
    assert_error("config.nodes[0].id", "letters, digits");
    assert_error("config.nodes[0].config", "must be an object");
}
END_TEST

START_TEST(seed_004_shapes_refused)
{
    ck_assert_int_eq(from_body("{\"nodes\": {\"id\": \"a\"}}"), SL_OK);
    assert_error("nodes", "must be an array of nodes");
    ck_assert_int_eq(
        from_body("{\"nodes\": [3, {\"id\": \"b\", \"module\": \"csv\", "
                  "\"position\": {\"x\": \"left\"}, \"name\": 5}], "
                  "\"edges\": [{\"source\": \"b\"}]}"),
        SL_OK);
    assert_error("nodes[0]", "must be an object");
    assert_error("nodes[1].position", "\"x\": number");
    assert_error("nodes[1].name", "string of at most 2000");
    assert_error("edges[0]", "\"source\": node id");
    ck_assert_int_eq(from_body("{\"nodes\": [], \"edges\": {}}"), SL_OK);
    assert_error("edges", "must be an array of edges");
}
END_TEST

/* --- seed 002 ------------------------------------------------------------ */

START_TEST(seed_002_lists_are_chained)
{
    ck_assert_int_eq(
        from_body("{\"sources\": [{\"type\": \"postgresql\", \"connector_id\": "
                  "\"0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b\", \"config\": "
                  "{\"table\": \"orders\"}}, {\"type\": \"csv\", \"config\": "
                  "{\"path\": \"more.csv\"}}], "
                  "\"transformations\": [{\"type\": \"filter\", "
                  "\"expression\": \"amount > 0\", \"name\": \"positive\"}, "
                  "{\"id\": \"cols\", \"type\": \"select\", \"config\": "
                  "{\"columns\": [\"id\"]}}], "
                  "\"targets\": [{\"type\": \"json\", \"config\": {\"path\": "
                  "\"out.jsonl\"}}]}"),
        SL_OK);
    assert_no_errors();
    ck_assert_uint_eq(json_array_size(nodes), 5);
    /* Ids made from the list and the place; aliases resolved. */
    ck_assert_str_eq(str_at(nodes, "0.id"), "source_1");
    ck_assert_str_eq(str_at(nodes, "0.module"), "postgres");
    ck_assert_str_eq(str_at(nodes, "0.type"), "extractor");
    ck_assert_str_eq(str_at(nodes, "0.config.connection_id"),
                     "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b");
    ck_assert_ptr_null(at(nodes, "0.config.connector_id"));
    ck_assert_str_eq(str_at(nodes, "2.id"), "transform_1");
    ck_assert_str_eq(str_at(nodes, "2.config.expression"), "amount > 0");
    ck_assert_ptr_null(at(nodes, "2.config.name"));
    ck_assert_str_eq(str_at(nodes, "2.name"), "positive");
    ck_assert_str_eq(str_at(nodes, "3.id"), "cols");
    ck_assert_str_eq(str_at(nodes, "4.module"), "jsonl");
    ck_assert_str_eq(str_at(nodes, "4.type"), "loader");
    /* Every source feeds the first transformation; the last feeds every
     * target. */
    assert_edges(4, "source_1>transform_1", "source_2>transform_1",
                 "transform_1>cols", "cols>target_1");
    validate(NULL, NULL);
    assert_no_errors();
    ck_assert_uint_eq(json_array_size(conns), 1);
    ck_assert_str_eq(str_at(conns, "0.kind"), "postgresql");
    ck_assert_str_eq(str_at(conns, "0.field"), "nodes[0].config.connection_id");
}
END_TEST

START_TEST(seed_002_without_transformations)
{
    ck_assert_int_eq(
        from_body("{\"sources\": [{\"type\": \"csv\", \"config\": {\"path\": "
                  "\"a.csv\"}}, {\"type\": \"csv\", \"config\": {\"path\": "
                  "\"b.csv\"}}], \"targets\": [{\"type\": \"csv\", \"config\": "
                  "{\"path\": \"x.csv\"}}, {\"type\": \"jsonl\", \"config\": "
                  "{\"path\": \"y.jsonl\"}}]}"),
        SL_OK);
    assert_no_errors();
    assert_edges(4, "source_1>target_1", "source_1>target_2",
                 "source_2>target_1", "source_2>target_2");
    /* A source without a type, a list that is no list. */
    ck_assert_int_eq(from_body("{\"sources\": [{\"config\": {}}], "
                               "\"targets\": {\"type\": \"csv\"}}"),
                     SL_OK);
    assert_error("sources[0].type", "is required");
    assert_error("targets", "must be an array");
}
END_TEST

/* --- seed 001 ------------------------------------------------------------ */

START_TEST(seed_001_source_and_target)
{
    ck_assert_int_eq(
        from_body(
            "{\"source_type\": \"postgresql\", \"target_type\": "
            "\"PostgreSQL\", \"configuration\": {\"source\": "
            "{\"connector_id\": \"0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b\"}, "
            "\"target\": {\"table\": \"daily\", \"schema\": \"gold\"}, "
            "\"transformation\": {\"sql\": \"SELECT * FROM sales WHERE "
            "day = ${day}\", \"parameters\": {\"day\": \"2025-01-01\"}}}}"),
        SL_OK);
    assert_no_errors();
    ck_assert_uint_eq(json_array_size(nodes), 2);
    ck_assert_str_eq(str_at(nodes, "0.id"), "source");
    ck_assert_str_eq(str_at(nodes, "0.type"), "extractor");
    ck_assert_str_eq(str_at(nodes, "0.module"), "postgres");
    /* The SQL is how the source is read; its parameters are bound. */
    ck_assert_str_eq(str_at(nodes, "0.config.query"),
                     "SELECT * FROM sales WHERE day = ${day}");
    ck_assert_str_eq(str_at(nodes, "0.config.params.day"), "2025-01-01");
    ck_assert_str_eq(str_at(nodes, "1.module"), "postgres");
    ck_assert_str_eq(str_at(nodes, "1.type"), "loader");
    assert_edges(1, "source>target");
    validate(NULL, NULL);
    assert_no_errors();

    ck_assert_int_eq(from_body("{\"source_type\": \"mongodb\", "
                               "\"configuration\": {\"transformation\": 3}}"),
                     SL_OK);
    assert_error("source_type", "'mongodb' has no module");
    assert_error("target_type", "is required");
    assert_error("configuration.transformation", "must be an object");
    ck_assert_int_eq(
        from_body("{\"source_type\": \"csv\", \"configuration\": []}"), SL_OK);
    assert_error("configuration", "must be an object");
}
END_TEST

/* --- seed 000 ------------------------------------------------------------ */

START_TEST(seed_000_steps_in_their_order)
{
    ck_assert_int_eq(
        from_body(
            "{\"steps\": ["
            "{\"step_id\": \"load\", \"order\": 3, \"type\": \"loader\", "
            "\"module\": \"csv\", \"config\": {\"path\": \"o.csv\"}},"
            "{\"step_id\": \"read\", \"order\": 1, \"type\": "
            "\"extractor\", \"module\": \"csv\", \"config\": {\"path\": "
            "\"i.csv\"}},"
            "{\"id\": \"trim\", \"order\": 2, \"module\": \"cleaner\"}]}"),
        SL_OK);
    assert_no_errors();
    ck_assert_str_eq(str_at(nodes, "0.id"), "read");
    ck_assert_str_eq(str_at(nodes, "1.id"), "trim");
    ck_assert_str_eq(str_at(nodes, "2.id"), "load");
    assert_edges(2, "read>trim", "trim>load");
    validate(NULL, NULL);
    assert_no_errors();
    /* The validator names the module's type on the canonical node. */
    ck_assert_str_eq(str_at(nodes, "1.type"), "transformer");

    /* Without an order on every step, the array's order stands. */
    ck_assert_int_eq(from_body("{\"steps\": [{\"id\": \"b\", \"order\": 2, "
                               "\"module\": \"csv\"}, {\"id\": \"a\", "
                               "\"module\": \"cleaner\"}]}"),
                     SL_OK);
    ck_assert_str_eq(str_at(nodes, "0.id"), "b");
    ck_assert_int_eq(from_body("{\"steps\": [{\"id\": \"x\"}, 3]}"), SL_OK);
    assert_error("steps[0].module", "is required");
    assert_error("steps[1]", "must be an object");
    ck_assert_int_eq(from_body("{\"steps\": {}}"), SL_OK);
    assert_error("steps", "must be an array of steps");
}
END_TEST

START_TEST(one_shape_at_a_time_and_bounded)
{
    char body[64 * 1024], *w = body;

    ck_assert_int_eq(from_body("{\"steps\": [], \"sources\": []}"), SL_EINVAL);
    assert_error("nodes", "give the graph in one form");
    ck_assert_ptr_null(nodes);

    /* Sizes are refused before anything is built. */
    w += sprintf(w, "{\"nodes\": [");
    for (int i = 0; i <= API_GRAPH_MAX_NODES; i++)
        w += sprintf(w, "%s{\"id\": \"n%d\"}", i ? "," : "", i);
    sprintf(w, "]}");
    ck_assert_int_eq(from_body(body), SL_EINVAL);
    assert_error("nodes", "at most 200 nodes");
    w = body;
    w += sprintf(w, "{\"sources\": [");
    for (int i = 0; i < 101; i++)
        w += sprintf(w, "%s{\"type\": \"csv\"}", i ? "," : "");
    w += sprintf(w, "], \"targets\": [");
    for (int i = 0; i < 10; i++)
        w += sprintf(w, "%s{\"type\": \"csv\"}", i ? "," : "");
    sprintf(w, "]}");
    ck_assert_int_eq(from_body(body), SL_EINVAL);
    assert_error("targets", "at most 1000 edges");
}
END_TEST

/* --- validation ---------------------------------------------------------- */

START_TEST(modules_and_their_types)
{
    validate("[{\"id\": \"a\", \"type\": \"extractor\", \"module\": \"s3\"},"
             "{\"id\": \"b\", \"type\": \"loader\", \"module\": \"filter\", "
             "\"config\": {}},"
             "{\"id\": \"c\", \"module\": \"postgres\", \"config\": {}},"
             "{\"id\": \"d\", \"type\": \"sink\", \"module\": \"csv\"},"
             "{\"id\": \"e\", \"type\": \"extractor\", \"module\": "
             "\"postgresql\", \"config\": {\"table\": \"t\"}},"
             "{\"id\": \"f\", \"module\": \"cleaner\", \"config\": {}},"
             "{\"id\": \"a\", \"type\": \"loaders\", \"module\": \"jsonl\", "
             "\"config\": {\"path\": \"x.jsonl\"}}]",
             "[]");
    assert_error("nodes[0].module", "unknown module 's3'");
    assert_error("nodes[1].module", "'filter' is a transformer module, not a "
                                    "loader");
    assert_error("nodes[2].type", "'postgres' is both an extractor and a "
                                  "loader");
    assert_error("nodes[3].type", "must be extractor, transformer, quality or "
                                  "loader");
    assert_error("nodes[6].id", "'a' is the id of another node");
    /* An alias and a plural are made exact on the canonical node. */
    ck_assert_str_eq(str_at(nodes, "4.module"), "postgres");
    ck_assert_str_eq(str_at(nodes, "5.type"), "transformer");
    ck_assert_str_eq(str_at(nodes, "6.type"), "loader");
}
END_TEST

START_TEST(configs_against_their_schemas)
{
    validate("[{\"id\": \"r\", \"type\": \"extractor\", \"module\": \"csv\", "
             "\"config\": {\"delimiter\": \";;\", \"extra\": 1}},"
             "{\"id\": \"w\", \"type\": \"loader\", \"module\": \"postgres\", "
             "\"config\": {\"mode\": \"merge\", \"table\": \"1bad\", "
             "\"key_columns\": []}}]",
             "[{\"source\": \"r\", \"target\": \"w\"}]");
    assert_error("nodes[0].config.path", "is required");
    assert_error("nodes[0].config.delimiter", NULL);
    assert_error("nodes[0].config.extra", NULL);
    assert_error("nodes[1].config.mode", "append");
    assert_error("nodes[1].config.table", NULL);
    assert_error("nodes[1].config.key_columns", NULL);
}
END_TEST

START_TEST(connections_layers_and_paths)
{
    validate("[{\"id\": \"r\", \"type\": \"extractor\", \"module\": \"csv\", "
             "\"config\": {\"path\": \"in/a..b.csv\", \"connection_id\": "
             "\"not-a-uuid\"}},"
             "{\"id\": \"s\", \"type\": \"extractor\", \"module\": \"jsonl\", "
             "\"config\": {\"path\": \"/etc/passwd\"}},"
             "{\"id\": \"t\", \"type\": \"extractor\", \"module\": \"jsonl\", "
             "\"config\": {\"path\": \"../up.jsonl\"}},"
             "{\"id\": \"w\", \"type\": \"loader\", \"module\": \"postgres\", "
             "\"config\": {\"table\": \"x\", \"schema\": \"public\"}},"
             "{\"id\": \"v\", \"type\": \"loader\", \"module\": \"postgres\", "
             "\"config\": {\"table\": \"x\", \"schema\": \"public\", "
             "\"connection_id\": \"0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b\"}},"
             "{\"id\": \"u\", \"type\": \"loader\", \"module\": \"csv\", "
             "\"config\": {\"path\": \"out/ok.csv\", \"connection_id\": "
             "\"0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5c\"}}]",
             "[{\"source\": \"r\", \"target\": \"w\"}, {\"source\": \"s\", "
             "\"target\": \"w\"}, {\"source\": \"t\", \"target\": \"w\"}, "
             "{\"source\": \"r\", \"target\": \"v\"}, {\"source\": \"r\", "
             "\"target\": \"u\"}]");
    /* The runner's rule: no "..", even inside a name; nothing absolute. */
    assert_error("nodes[0].config.path", "no '..'");
    assert_error("nodes[1].config.path", "must be relative");
    assert_error("nodes[2].config.path", "must be relative");
    assert_error("nodes[0].config.connection_id", "a UUID");
    /* In the warehouse, a schema is a layer; on a connector, anything. */
    assert_error("nodes[3].config.schema", "bronze, silver or gold");
    ck_assert(!has_error("nodes[4].config.schema", NULL));
    ck_assert(!has_error("nodes[5].config.path", NULL));
    ck_assert_uint_eq(json_array_size(check.errors), 5);
    /* The connections, for the caller to look up. */
    ck_assert_uint_eq(json_array_size(conns), 2);
    ck_assert_str_eq(str_at(conns, "0.kind"), "postgresql");
    ck_assert_str_eq(str_at(conns, "0.field"), "nodes[4].config.connection_id");
    ck_assert_str_eq(str_at(conns, "1.kind"), "file");
    ck_assert_str_eq(str_at(conns, "1.id"),
                     "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5c");
}
END_TEST

START_TEST(edges_and_where_nodes_stand)
{
    validate("[{\"id\": \"r\", \"type\": \"extractor\", \"module\": \"csv\", "
             "\"config\": {\"path\": \"a.csv\"}, \"description\": \"d\"},"
             "{\"id\": \"f\", \"type\": \"transformer\", \"module\": "
             "\"cleaner\", \"config\": {}, \"description\": \"d\"},"
             "{\"id\": \"g\", \"type\": \"transformer\", \"module\": "
             "\"cleaner\", \"config\": {}, \"description\": \"d\"},"
             "{\"id\": \"w\", \"type\": \"loader\", \"module\": \"csv\", "
             "\"config\": {\"path\": \"b.csv\"}, \"description\": \"d\"}]",
             "[{\"source\": \"r\", \"target\": \"nowhere\"}, "
             "{\"source\": \"f\", \"target\": \"f\"}, "
             "{\"source\": \"w\", \"target\": \"r\"}, "
             "{\"source\": \"r\", \"target\": \"w\"}, "
             "{\"source\": \"r\", \"target\": \"w\"}]");
    assert_error("edges[0].target", "no node has the id 'nowhere'");
    assert_error("edges[1]", "cannot feed itself");
    assert_error("edges", "cycle through 'r', 'w'");
    assert_error("edges", "not connected");
    assert_error("nodes[0]", "extractor 'r' cannot have an input edge");
    assert_error("nodes[1]", "transformer 'f' has no input");
    assert_error("nodes[3]", "loader 'w' ends a path");
    ck_assert_ptr_null(sorted);
    ck_assert_uint_eq(json_array_size(warnings), 1);
    ck_assert_ptr_nonnull(strstr(str_at(warnings, "0"), "given twice"));
}
END_TEST

START_TEST(the_order_the_runner_takes)
{
    /* Listed backwards, with a diamond: sorted puts each node after its
     * inputs, and among nodes ready together keeps the listed order. */
    validate("[{\"id\": \"w\", \"type\": \"loader\", \"module\": \"csv\", "
             "\"config\": {\"path\": \"b.csv\"}},"
             "{\"id\": \"y\", \"type\": \"transformer\", \"module\": "
             "\"cleaner\", \"config\": {}},"
             "{\"id\": \"x\", \"type\": \"transformer\", \"module\": "
             "\"cleaner\", \"config\": {}},"
             "{\"id\": \"r\", \"type\": \"extractor\", \"module\": \"csv\", "
             "\"config\": {\"path\": \"a.csv\"}}]",
             "[{\"source\": \"r\", \"target\": \"x\"}, "
             "{\"source\": \"r\", \"target\": \"y\"}, "
             "{\"source\": \"x\", \"target\": \"w\"}, "
             "{\"source\": \"y\", \"target\": \"w\"}]");
    assert_no_errors();
    ck_assert_uint_eq(json_array_size(sorted), 4);
    ck_assert_str_eq(str_at(sorted, "0.id"), "r");
    ck_assert_str_eq(str_at(sorted, "1.id"), "y");
    ck_assert_str_eq(str_at(sorted, "2.id"), "x");
    ck_assert_str_eq(str_at(sorted, "3.id"), "w");
    /* The same node objects, not copies. */
    ck_assert_ptr_eq(json_array_get(sorted, 0), json_array_get(nodes, 3));
    ck_assert_uint_eq(json_array_size(warnings), 4); /* no descriptions */
}
END_TEST

START_TEST(a_graph_has_bounds)
{
    char big[64 * 1024], *w = big;

    validate("[]", "[]");
    assert_error("nodes", "at least one node");
    ck_assert_ptr_null(sorted);

    w += sprintf(w, "[");
    for (int i = 0; i <= API_GRAPH_MAX_NODES; i++)
        w += sprintf(w, "%s{\"id\": \"n%d\"}", i ? "," : "", i);
    sprintf(w, "]");
    validate(big, "[]");
    assert_error("nodes", "at most 200 nodes");

    w = big;
    w += sprintf(w, "[");
    for (int i = 0; i <= API_GRAPH_MAX_EDGES; i++)
        w += sprintf(w, "%s{}", i ? "," : "");
    sprintf(w, "]");
    validate("[{\"id\": \"a\", \"type\": \"extractor\", \"module\": \"csv\", "
             "\"config\": {\"path\": \"a.csv\"}}]",
             big);
    assert_error("edges", "at most 1000 edges");
}
END_TEST

START_TEST(a_graph_without_a_loader_is_only_warned)
{
    validate("[{\"id\": \"r\", \"type\": \"extractor\", \"module\": \"csv\", "
             "\"config\": {\"path\": \"a.csv\"}, \"description\": \"d\"}]",
             "[]");
    assert_no_errors();
    ck_assert_uint_eq(json_array_size(warnings), 1);
    ck_assert_ptr_nonnull(strstr(str_at(warnings, "0"), "no loader"));
    ck_assert_uint_eq(json_array_size(sorted), 1);
}
END_TEST

/*
 * What normalising and validating make is the request pool's: the pool
 * holds the one reference to each result, and its reset releases them.
 */
START_TEST(the_graph_is_the_pools)
{
    json_t *held[3];

    ck_assert_int_eq(from_body("{" GRAPH_004 "}"), SL_OK);
    validate(NULL, NULL);
    assert_no_errors();
    held[0] = nodes;
    held[1] = edges;
    held[2] = sorted;
    for (size_t i = 0; i < 3; i++) {
        ck_assert_ptr_nonnull(held[i]);
        ck_assert_uint_eq(held[i]->refcount, 1);
        json_incref(held[i]);
    }
    sl_pool_reset(pool);
    for (size_t i = 0; i < 3; i++) {
        ck_assert_uint_eq(held[i]->refcount, 1);
        json_decref(held[i]);
    }
    nodes = edges = sorted = NULL;
}
END_TEST

static Suite *
graph_suite(void)
{
    Suite *s = suite_create("graph");
    TCase *shapes = tcase_create("shapes"), *valid = tcase_create("validate");

    tcase_add_checked_fixture(shapes, setup, teardown);
    tcase_add_test(shapes, no_graph_is_no_graph);
    tcase_add_test(shapes, seed_004_nodes_and_edges);
    tcase_add_test(shapes, seed_004_shapes_refused);
    tcase_add_test(shapes, seed_002_lists_are_chained);
    tcase_add_test(shapes, seed_002_without_transformations);
    tcase_add_test(shapes, seed_001_source_and_target);
    tcase_add_test(shapes, seed_000_steps_in_their_order);
    tcase_add_test(shapes, one_shape_at_a_time_and_bounded);
    suite_add_tcase(s, shapes);
    tcase_add_checked_fixture(valid, setup, teardown);
    tcase_add_test(valid, modules_and_their_types);
    tcase_add_test(valid, configs_against_their_schemas);
    tcase_add_test(valid, connections_layers_and_paths);
    tcase_add_test(valid, edges_and_where_nodes_stand);
    tcase_add_test(valid, the_order_the_runner_takes);
    tcase_add_test(valid, a_graph_has_bounds);
    tcase_add_test(valid, a_graph_without_a_loader_is_only_warned);
    tcase_add_test(valid, the_graph_is_the_pools);
    suite_add_tcase(s, valid);
    return s;
}

SL_TEST_MAIN(graph_suite)
