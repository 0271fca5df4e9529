/*
 * check_main.h: the main() every test/unit/check_*.c program shares: run
 * one suite, print Check's normal report, exit 0 when all passed.
 */
#ifndef KW_CHECK_MAIN_H
#define KW_CHECK_MAIN_H

#include <check.h>
#include <stdlib.h>

/*
 * Run s (the runner takes it over) with fork status fs: CK_FORK to run
 * each test in a child whatever the environment says, CK_FORK_GETENV to
 * let CK_FORK=no in the environment turn that off.  EXIT_SUCCESS when
 * no test failed, else EXIT_FAILURE.
 */
static inline int
check_run(Suite *s, enum fork_status fs)
{
	SRunner	*sr = srunner_create(s);
	int	 failed;

	srunner_set_fork_status(sr, fs);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

#endif
