/*
 * plan.c: the plans' names, in their order (see plan.h).
 */
#include "plan.h"

#include <stddef.h>
#include <strings.h>

static const char *const plan_names[] = {
    [SL_PLAN_STARTER] = "STARTER",
    [SL_PLAN_PROFESSIONAL] = "PROFESSIONAL",
    [SL_PLAN_SCALE] = "SCALE",
};

enum sl_plan
sl_plan_parse(const char *s)
{
    for (int p = SL_PLAN_STARTER; s != NULL && p <= SL_PLAN_SCALE; p++)
        if (strcasecmp(s, plan_names[p]) == 0)
            return (enum sl_plan)p;
    return SL_PLAN_NONE;
}

const char *
sl_plan_name(enum sl_plan plan)
{
    if (plan <= SL_PLAN_NONE || plan > SL_PLAN_SCALE)
        return NULL;
    return plan_names[plan];
}
