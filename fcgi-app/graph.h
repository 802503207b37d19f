/*
 * graph.h: a pipeline's graph, from any seed's request shape to the
 * canonical form, and its validation.
 *
 * The canonical form (DESIGN.md): nodes [{id, type, module, config,
 * position?, name?, description?}] and edges [{source, target}]. Four
 * request shapes are accepted:
 *   - seed 004: config.nodes / config.edges (or nodes / edges at the top);
 *   - seed 002: sources, transformations, targets (chained in that order);
 *   - seed 001: source_type, target_type and configuration.source /
 *     .target / .transformation (its SQL becomes the extractor's query,
 *     its parameters the extractor's params; '${name}', a placeholder
 *     that is a whole quoted literal, becomes the parameter ${name});
 *   - seed 000: ordered steps (chained by their order).
 * Problems are recorded in a struct api_check, each with the path of the
 * member at fault ("sources[0].type", "nodes[2].config.table"). What these
 * functions make lives in the pool of the check's request (c->r->pool):
 * the JSON they return is registered on it, and nothing is the caller's
 * to free.
 */
#ifndef API_GRAPH_H
#define API_GRAPH_H

#include <jansson.h>

#include "check.h"

/* Bounds on a graph. */
#define API_GRAPH_MAX_NODES 200
#define API_GRAPH_MAX_EDGES 1000

/*
 * Reads the graph a request body gives, in whichever shape. Returns 0
 * with *nodes and *edges (owned by the pool) when the body gives one
 * (problems, if any, recorded in c); SL_ENOTFOUND when it gives none;
 * SL_EINVAL when it mixes shapes or is too big (recorded in c); or
 * SL_ENOMEM. Connection settings given inline by a seed 001 or 002
 * source or target (host, port, database, username, password,
 * connection_string, ssl_mode) are refused: they belong in a connector.
 */
int api_graph_from_body(struct api_check *c, json_t *body, json_t **nodes,
                        json_t **edges);

/*
 * As api_graph_from_body(), except that the inline connection settings of
 * a postgresql source or target that names no connector are taken out of
 * its node and appended to inline_conns (an array), one object each:
 * {"node": the node's index in *nodes, "field": where the body gave them
 * ("configuration.source", "targets[0].config"), "settings": {host, port,
 * database, username, password, connection_string, ssl_mode}}, for the
 * caller to seal into a connector whose id becomes the node's
 * connection_id. They are still refused beside a connector_id or
 * connection_id, and for other modules.
 */
int api_graph_from_body_inline(struct api_check *c, json_t *body,
                               json_t **nodes, json_t **edges,
                               json_t *inline_conns);

/*
 * Checks a canonical graph: node ids unique, modules known and of the
 * node's type, each config valid for its module's schema, edges between
 * existing nodes, acyclic, connected, extractors first and loaders last.
 * Errors go to c; warnings (strings) are appended to warnings. Each
 * connection_id a node names is appended to conns as {"id", "kind"
 * ("postgresql" | "file"), "field"}, for the caller to check against the
 * database. When the graph is acyclic, *sorted receives the nodes in
 * dependency order (stable; an array owned by the pool), else NULL.
 * Returns 0 (whether or not problems were recorded) or SL_ENOMEM.
 */
int api_graph_validate(struct api_check *c, json_t *nodes, json_t *edges,
                       json_t *warnings, json_t *conns, json_t **sorted);

#endif
