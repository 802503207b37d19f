/*
 * pipelines.h: what other handlers use of pipelines.c: naming a
 * pipeline by its id or its slug.
 */
#ifndef API_PIPELINES_H
#define API_PIPELINES_H

#include <stdbool.h>

#include "request.h"

/*
 * A pipeline reference, a UUID or a slug, as statement parameters:
 * params[0] the id (lower-cased, in the pool) or NULL, params[1] the slug
 * (ref itself) or NULL. Returns false when ref can be neither.
 */
bool api_pipeline_ref(struct api_req *r, const char *ref,
                      const char *params[2]);

#endif
