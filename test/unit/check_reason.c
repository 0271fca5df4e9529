/*
 * check_reason.c: libpq's messages in keyward's words (db/reason.c), and
 * none of a message's details (host, port, user) in the reason.
 */
#include <check.h>
#include <string.h>

#include "db/reason.h"
#include "check_main.h"

static const struct {
	const char	*msg;		/* as libpq 15 and PostgreSQL 15 say it */
	const char	*reason;
} cases[] = {
	{ "connection to server at \"10.0.0.2\", port 11381 failed: "
	    "Connection refused  Is the server running on that host and "
	    "accepting TCP/IP connections?", "connection refused" },
	{ "connection to server at \"10.0.0.2\", port 11381 failed: timeout "
	    "expired", "timed out" },
	{ "connection to server at \"10.0.0.2\", port 11381 failed: FATAL:  "
	    "password authentication failed for user \"keyward\"",
	    "authentication failed" },
	{ "connection to server at \"10.0.0.2\", port 11381 failed: "
	    "fe_sendauth: no password supplied", "authentication failed" },
	{ "connection to server at \"10.0.0.2\", port 11381 failed: FATAL:  "
	    "no pg_hba.conf entry for host \"10.0.0.1\", user \"keyward\", "
	    "database \"keyward\", no encryption", "authentication failed" },
	{ "connection to server at \"10.0.0.2\", port 11381 failed: FATAL:  "
	    "database \"kw\" does not exist", "database or role does not exist" },
	{ "could not translate host name \"kw-b.example\" to address: Name "
	    "or service not known", "host name not found" },
	{ "connection to server at \"10.0.0.2\", port 11381 failed: No route "
	    "to host", "network unreachable" },
	{ "connection to server at \"10.0.0.2\", port 11381 failed: FATAL:  "
	    "the database system is starting up", "database starting up" },
	{ "connection to server at \"10.0.0.2\", port 11381 failed: FATAL:  "
	    "the database system is shutting down", "database shutting down" },
	{ "connection to server at \"10.0.0.2\", port 11381 failed: FATAL:  "
	    "sorry, too many clients already", "too many connections" },
	{ "FATAL:  terminating connection due to administrator command "
	    "server closed the connection unexpectedly", "connection lost" },
	{ "server closed the connection unexpectedly  This probably means "
	    "the server terminated abnormally", "connection lost" },
	{ "no connection to the server", "connection lost" },
	{ "connection to server at \"10.0.0.2\", port 11381 failed: SSL "
	    "error: certificate verify failed", "TLS failed" },
	{ "something nobody foresaw at 10.0.0.2:11381", "FALLBACK" },
	{ "", "FALLBACK" },
	{ NULL, "FALLBACK" },
};

START_TEST(test_reason)
{
	const char *r = db_reason(cases[_i].msg, "FALLBACK");

	ck_assert_str_eq(r, cases[_i].reason);
	ck_assert_ptr_null(strstr(r, "10.0.0"));
	ck_assert_ptr_null(strstr(r, "11381"));
	ck_assert_ptr_null(strstr(r, "keyward"));
}
END_TEST

static Suite *
reason_suite(void)
{
	Suite *s = suite_create("reason");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, test_reason, 0, sizeof(cases) / sizeof(cases[0]));
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return check_run(reason_suite(), CK_FORK_GETENV);
}
