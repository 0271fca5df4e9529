/*
 * check_log.c: lib/log, the format of a log line, level filtering, errno
 * handling, one line per call (also from many threads), fatal exits.
 */
#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/log.h"
#include "capture.h"
#include "check_main.h"

START_TEST(test_format)
{
	char *out;

	capture_start();
	log_init("/usr/sbin/keyward-server", LOG_LVL_INFO);
	log_info("listening on %s:%d", "127.0.0.1", 9600);
	log_warnx("key \"%s\" not found", "k1");
	log_errx("database %s is down", "local");
	out = captured();
	ck_assert_str_eq(out,
	    "keyward-server: info: listening on 127.0.0.1:9600\n"
	    "keyward-server: warning: key \"k1\" not found\n"
	    "keyward-server: error: database local is down\n");
	free(out);
}
END_TEST

START_TEST(test_levels)
{
	char *out;

	capture_start();
	log_init("kw", LOG_LVL_INFO);
	log_debug("hidden");
	log_set_level(LOG_LVL_DEBUG);
	log_debug("shown %d", 1);
	log_set_level(LOG_LVL_ERR);
	log_info("hidden");
	log_warnx("hidden");
	log_errx("shown %d", 2);
	out = captured();
	ck_assert_str_eq(out, "kw: debug: shown 1\nkw: error: shown 2\n");
	free(out);
}
END_TEST

START_TEST(test_warn_errno)
{
	char *out;

	capture_start();
	log_init("kw", LOG_LVL_INFO);
	errno = ENOENT;
	log_warn("could not open \"%s\"", "/x");
	ck_assert_int_eq(errno, ENOENT);	/* preserved */
	errno = EACCES;
	log_warnx("no errno here");
	ck_assert_int_eq(errno, EACCES);
	out = captured();
	ck_assert_str_eq(out,
	    "kw: warning: could not open \"/x\": No such file or directory\n"
	    "kw: warning: no errno here\n");
	free(out);
}
END_TEST

/*
 * An operator's command (keyward-admin, LOG_MODE_COMMAND): errors and
 * warnings name their level, progress lines do not, errno is appended as
 * in the server's lines; the server's shape comes back with log_init.
 */
START_TEST(test_command_mode)
{
	char *out;

	capture_start();
	log_init_mode("/usr/sbin/keyward-admin", LOG_LVL_INFO,
	    LOG_MODE_COMMAND);
	log_errx("could not open \"%s\"", "/etc/keyward/keyward.conf");
	log_warnx("the peer's database %s does not answer", "b:5432");
	log_info("skipped %d lines that are not JSON records", 2);
	errno = ENOENT;
	log_warn("could not remove \"%s\"", "/x");
	log_debug("hidden");
	log_init("keyward-server", LOG_LVL_INFO);
	log_info("listening");
	out = captured();
	ck_assert_str_eq(out,
	    "keyward-admin: error: could not open "
	    "\"/etc/keyward/keyward.conf\"\n"
	    "keyward-admin: warning: the peer's database b:5432 does not "
	    "answer\n"
	    "keyward-admin: skipped 2 lines that are not JSON records\n"
	    "keyward-admin: warning: could not remove \"/x\": No such file or "
	    "directory\n"
	    "keyward-server: info: listening\n");
	free(out);
}
END_TEST

/* A newline in a message (say, a client's key name) cannot forge a line. */
START_TEST(test_one_line)
{
	char *out;

	capture_start();
	log_init("kw", LOG_LVL_INFO);
	log_warnx("key \"%s\"", "a\nkw: error: forged\r\x1b[31m");
	out = captured();
	ck_assert_str_eq(out, "kw: warning: key \"a?kw: error: forged??[31m\"\n");
	free(out);
}
END_TEST

START_TEST(test_long_message)
{
	char	*big, *out;
	size_t	 n = 10000;

	capture_start();
	log_init("kw", LOG_LVL_INFO);
	ck_assert_ptr_nonnull(big = malloc(n + 1));
	memset(big, 'z', n);
	big[n] = '\0';
	log_info("%s", big);
	out = captured();
	ck_assert(strncmp(out, "kw: info: zzz", 13) == 0);
	ck_assert_ptr_eq(strchr(out, '\n'), out + strlen(out) - 1);
	free(out);
	free(big);
}
END_TEST

static const struct {
	const char	*s;
	int		 level;
} levels[] = {
	{ "debug", LOG_LVL_DEBUG },
	{ "info", LOG_LVL_INFO },
	{ "warn", LOG_LVL_WARN },
	{ "warning", LOG_LVL_WARN },
	{ "error", LOG_LVL_ERR },
	{ "", -1 },
	{ "INFO", -1 },
	{ "fatal", -1 },
	{ "info ", -1 },
	{ NULL, -1 },
};

START_TEST(test_level_parse)
{
	ck_assert_int_eq(log_level_parse(levels[_i].s), levels[_i].level);
}
END_TEST

#define THREADS	8
#define LINES	300

static void *
log_thread(void *arg)
{
	int i, t = (int)(long)arg;

	for (i = 0; i < LINES; i++)
		log_info("thread %d line %d %s", t, i,
		    "padding-padding-padding-padding-padding-padding");
	return NULL;
}

START_TEST(test_threads)
{
	pthread_t	 th[THREADS];
	char		*out, *line, *save = NULL;
	int		 t, i, n = 0, seen[THREADS] = { 0 };

	capture_start();
	log_init("kw", LOG_LVL_INFO);
	for (t = 0; t < THREADS; t++)
		ck_assert_int_eq(pthread_create(&th[t], NULL, log_thread,
		    (void *)(long)t), 0);
	for (t = 0; t < THREADS; t++)
		pthread_join(th[t], NULL);
	out = captured();
	for (line = strtok_r(out, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		ck_assert_msg(sscanf(line, "kw: info: thread %d line %d "
		    "padding-padding-padding-padding-padding-padding", &t, &i)
		    == 2, "mangled line: %s", line);
		ck_assert_int_eq(seen[t], i);	/* in order per thread */
		seen[t]++;
		n++;
	}
	ck_assert_int_eq(n, THREADS * LINES);
	free(out);
}
END_TEST

/* A second thread, serving no request, while the first serves one. */
static void *
log_other_thread(void *arg)
{
	(void)arg;
	log_warnx("from another thread");
	return NULL;
}

START_TEST(test_request_id)
{
	pthread_t	 th;
	char		*out;

	capture_start();
	log_init("kw", LOG_LVL_INFO);
	log_request_begin("0a1b2c3d00000007");
	log_warnx("local database: commit not acknowledged within %d ms", 2000);
	errno = EIO;
	log_warn("could not write");
	ck_assert_int_eq(pthread_create(&th, NULL, log_other_thread, NULL), 0);
	pthread_join(th, NULL);
	log_request_end();
	log_info("after the request");
	log_request_begin("bad\nid");
	log_info("control characters in an id stay on one line");
	log_request_end();
	out = captured();
	ck_assert_str_eq(out,
	    "kw: warning: req=0a1b2c3d00000007 local database: commit not "
	    "acknowledged within 2000 ms\n"
	    "kw: warning: req=0a1b2c3d00000007 could not write: "
	    "Input/output error\n"
	    "kw: warning: from another thread\n"
	    "kw: info: after the request\n"
	    "kw: info: req=bad?id control characters in an id stay on one "
	    "line\n");
	free(out);
}
END_TEST

START_TEST(test_fatalx)
{
	capture_start();
	log_init("kw", LOG_LVL_ERR);
	fatalx("cannot continue");
}
END_TEST

START_TEST(test_fatal)
{
	capture_start();
	log_init("kw", LOG_LVL_ERR);
	errno = EPERM;
	fatal("cannot continue");
}
END_TEST

static Suite *
log_suite(void)
{
	Suite	*s = suite_create("log");
	TCase	*tc = tcase_create("core");

	tcase_add_test(tc, test_format);
	tcase_add_test(tc, test_levels);
	tcase_add_test(tc, test_warn_errno);
	tcase_add_test(tc, test_command_mode);
	tcase_add_test(tc, test_one_line);
	tcase_add_test(tc, test_long_message);
	tcase_add_test(tc, test_request_id);
	tcase_add_loop_test(tc, test_level_parse, 0,
	    sizeof(levels) / sizeof(levels[0]));
	tcase_add_test(tc, test_threads);
	tcase_add_exit_test(tc, test_fatalx, 1);
	tcase_add_exit_test(tc, test_fatal, 1);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return check_run(log_suite(), CK_FORK);
}
