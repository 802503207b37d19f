/*
 * module_catalog.c: GET /modules and /modules/{type}/{name}/schema (seed
 * 004), served from lib/modules.c's table: the list the runner runs.
 */
#include "config.h"

#include <string.h>

#include "handlers.h"
#include "json.h"
#include "modules.h"
#include "request.h"

int
api_h_modules_list(struct api_req *r)
{
    json_t *body = json_object();

    for (int t = 0; t < SL_MODULE_TYPE_COUNT_; t++)
        json_object_set_new(body, sl_module_type_plural(t), json_array());
    for (size_t i = 0; i < sl_nmodules; i++) {
        const struct sl_module *m = &sl_modules[i];

        json_array_append_new(
            json_object_get(body, sl_module_type_plural(m->type)),
            json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "name", m->name, "type",
                      sl_module_type_name(m->type), "display_name",
                      m->display_name, "description", m->description, "icon",
                      m->icon, "color", m->color));
    }
    return api_reply(r, 200, body);
}

int
api_h_modules_schema(struct api_req *r)
{
    const char *type = api_param(r, "type"), *name = api_param(r, "name");
    enum sl_module_type t = sl_module_type_parse(type);
    const struct sl_module *m =
        t == SL_MODULE_NONE ? NULL : sl_module_find(t, name);
    json_t *schema, *defaults;

    if (m == NULL)
        return api_error(r, 404, "MODULE_NOT_FOUND",
                         "No such module (see GET /api/v1/modules)",
                         json_pack("{s:s, s:s}", "module_type",
                                   type ? type : "", "module_name",
                                   name ? name : ""));
    schema = json_loads(m->schema, 0, NULL);
    defaults = json_loads(m->defaults, 0, NULL);
    if (schema == NULL || defaults == NULL) {
        json_decref(schema);
        json_decref(defaults);
        return api_error(r, 500, "INTERNAL_ERROR", "Unreadable module schema",
                         NULL);
    }
    return api_reply(r, 200,
                     json_pack("{s:s, s:s, s:s, s:o, s:o}", "type",
                               sl_module_type_name(m->type), "name", m->name,
                               "display_name", m->display_name, "schema",
                               schema, "defaults", defaults));
}
