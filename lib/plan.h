/*
 * plan.h: the subscription plans (seed 003), weakest first.
 *
 * Each plan's quotas are a row of the plans table (sql/001), copied into
 * an organisation's subscription when it is made; this module knows only
 * their names and their order, for what must compare them: the highest
 * plan self-service onboarding may grant (self_onboarding_max_plan).
 */
#ifndef SL_PLAN_H
#define SL_PLAN_H

enum sl_plan {
    SL_PLAN_NONE = 0,
    SL_PLAN_STARTER,
    SL_PLAN_PROFESSIONAL,
    SL_PLAN_SCALE,
};

/* Every plan's name, for messages. */
#define SL_PLAN_NAMES "STARTER, PROFESSIONAL or SCALE"

/* The plan named s, in any case, or SL_PLAN_NONE. */
enum sl_plan sl_plan_parse(const char *s);

/* The name of a plan as the plans table has it ("PROFESSIONAL"); NULL
 * for SL_PLAN_NONE. */
const char *sl_plan_name(enum sl_plan plan);

#endif
