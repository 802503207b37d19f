/*
 * unit.h: what every Check suite of tests/ shares.
 *
 * A test program defines one function returning its Suite and ends with
 * SL_TEST_MAIN(that_function). The program exits 0 only when every test
 * ran and passed.
 */
#ifndef SL_UNIT_H
#define SL_UNIT_H

#include <check.h>
#include <stdlib.h>

#define SL_TEST_MAIN(suite_fn)                                                 \
    int main(void)                                                             \
    {                                                                          \
        SRunner *sr = srunner_create(suite_fn());                              \
        int failed;                                                            \
                                                                               \
        srunner_run_all(sr, CK_NORMAL);                                        \
        failed = srunner_ntests_failed(sr);                                    \
        srunner_free(sr);                                                      \
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;                      \
    }

#endif
