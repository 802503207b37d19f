/* placeholder, written next */
#include "it.h"
#include "unit.h"
static Suite *live_suite(void) { return suite_create("it_live"); }
SL_TEST_MAIN(live_suite)
