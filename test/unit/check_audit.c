/*
 * check_audit.c: server/audit, the record format (every member, in order,
 * omitted members, escaping), which events are aggregated and how they
 * are counted, the aggregation thread, rotation without losing or
 * splitting a record, the file mode, write errors, and many threads.
 * Each test runs in its own temporary directory.
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lib/log.h"
#include "server/audit.h"
#include "capture.h"
#include "check_main.h"

static char	tmpdir[PATH_MAX];
static char	logpath[PATH_MAX + 16];

static void
setup(void)
{
	const char *t = getenv("TMPDIR");

	snprintf(tmpdir, sizeof(tmpdir), "%s/check_audit.XXXXXX",
	    t != NULL && *t != '\0' ? t : "/tmp");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	snprintf(logpath, sizeof(logpath), "%s/audit.log", tmpdir);
	log_init("kw", LOG_LVL_INFO);
}

static void
teardown(void)
{
	char p[PATH_MAX + 256];
	struct dirent *d;
	DIR *dir;

	if ((dir = opendir(tmpdir)) == NULL)
		return;
	while ((d = readdir(dir)) != NULL) {
		if (strcmp(d->d_name, ".") == 0 || strcmp(d->d_name, "..") == 0)
			continue;
		snprintf(p, sizeof(p), "%s/%s", tmpdir, d->d_name);
		unlink(p);
	}
	closedir(dir);
	rmdir(tmpdir);
}

/* ---- helpers ---- */

static size_t
count_str(const char *hay, const char *needle)
{
	size_t n = 0;

	while ((hay = strstr(hay, needle)) != NULL) {
		n++;
		hay += strlen(needle);
	}
	return n;
}

/* The records of one file, each checked to be a whole line of JSON. */
struct recs {
	json_t	**r;
	size_t	  n;
};

static void
recs_free(struct recs *rs)
{
	size_t i;

	for (i = 0; i < rs->n; i++)
		json_decref(rs->r[i]);
	free(rs->r);
	rs->r = NULL;
	rs->n = 0;
}

/*
 * Read path: every line must end in '\n' and be a JSON object.  A file
 * that does not exist has no records.
 */
static struct recs
read_recs(const char *path)
{
	struct recs rs = { NULL, 0 };
	json_error_t jerr;
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	json_t *j;
	FILE *fp;

	if ((fp = fopen(path, "r")) == NULL) {
		ck_assert_int_eq(errno, ENOENT);
		return rs;
	}
	while ((len = getline(&line, &cap, fp)) != -1) {
		ck_assert_msg(len > 0 && line[len - 1] == '\n',
		    "%s: line without newline: %s", path, line);
		j = json_loadb(line, (size_t)len, 0, &jerr);
		ck_assert_msg(j != NULL, "%s: not JSON (%s): %s", path,
		    jerr.text, line);
		ck_assert_msg(json_is_object(j), "%s: not an object: %s", path,
		    line);
		ck_assert_ptr_nonnull(rs.r = realloc(rs.r,
		    (rs.n + 1) * sizeof(*rs.r)));
		rs.r[rs.n++] = j;
	}
	free(line);
	fclose(fp);
	return rs;
}

static const char *
sget(json_t *o, const char *name)
{
	json_t *j = json_object_get(o, name);

	ck_assert_msg(json_is_string(j), "member %s missing or not a string",
	    name);
	return json_string_value(j);
}

static long long
iget(json_t *o, const char *name)
{
	json_t *j = json_object_get(o, name);

	ck_assert_msg(json_is_integer(j), "member %s missing or not an "
	    "integer", name);
	return json_integer_value(j);
}

static struct audit *
open_audit(const char *path, long max_bytes, int keep, int to_stderr,
    int aggregate_ms)
{
	struct audit_opts o;
	struct audit *a;
	char err[512];

	memset(&o, 0, sizeof(o));
	o.path = path;
	o.max_bytes = max_bytes;
	o.keep = keep;
	o.to_stderr = to_stderr;
	o.aggregate_ms = aggregate_ms;
	o.node = "kw-a";
	err[0] = '\0';
	a = audit_open(&o, err, sizeof(err));
	ck_assert_msg(a != NULL, "audit_open: %s", err);
	return a;
}

static struct audit_event
event(const char *identity, const char *op, const char *key,
    const char *result)
{
	struct audit_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.identity = identity;
	ev.op = op;
	ev.key = key;
	ev.result = result;
	ev.status = strcmp(result, "OK") == 0 ? 200 :
	    strcmp(result, "DENIED") == 0 ? 403 :
	    strcmp(result, "UNAUTHENTICATED") == 0 ? 401 : 500;
	ev.request_id = "00000000000000aa";
	ev.peer = "127.0.0.1";
	return ev;
}

/* "2026-11-23T10:00:00.123Z" -> seconds since the epoch, or -1. */
static time_t
parse_time(const char *s)
{
	struct tm tm;
	const char *p;

	memset(&tm, 0, sizeof(tm));
	if (strlen(s) != 24 || (p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm)) ==
	    NULL || p[0] != '.' || p[1] < '0' || p[1] > '9' || p[2] < '0' ||
	    p[2] > '9' || p[3] < '0' || p[3] > '9' || strcmp(p + 4, "Z") != 0)
		return -1;
	return timegm(&tm);
}

/* ---- the record ---- */

START_TEST(test_one_event)
{
	static const char *const order[] = { "time", "node", "identity",
	    "real_user", "op", "key", "version", "result", "status",
	    "request_id", "peer" };
	struct audit_event ev;
	struct audit *a;
	struct recs rs;
	const char *name;
	json_t *v;
	time_t before, after, t;
	size_t i;

	a = open_audit(logpath, 1 << 20, 3, 0, 10000);
	ev = event("alice", "DECRYPT_EEK", "k1", "DENIED");
	ev.real_user = "hdfs";
	ev.version = 3;
	ev.has_version = 1;
	ev.request_id = "1a2b3c4d00000007";
	ev.peer = "10.0.0.7";
	before = time(NULL);
	audit_log(a, &ev);
	after = time(NULL);

	rs = read_recs(logpath);	/* written at once, before close */
	ck_assert_uint_eq(rs.n, 1);
	i = 0;
	json_object_foreach(rs.r[0], name, v) {
		ck_assert_uint_lt(i, sizeof(order) / sizeof(order[0]));
		ck_assert_str_eq(name, order[i]);
		i++;
	}
	ck_assert_uint_eq(i, sizeof(order) / sizeof(order[0]));
	t = parse_time(sget(rs.r[0], "time"));
	ck_assert_msg(t != -1, "bad time %s", sget(rs.r[0], "time"));
	ck_assert_int_ge(t, before);
	ck_assert_int_le(t, after);
	ck_assert_str_eq(sget(rs.r[0], "node"), "kw-a");
	ck_assert_str_eq(sget(rs.r[0], "identity"), "alice");
	ck_assert_str_eq(sget(rs.r[0], "real_user"), "hdfs");
	ck_assert_str_eq(sget(rs.r[0], "op"), "DECRYPT_EEK");
	ck_assert_str_eq(sget(rs.r[0], "key"), "k1");
	ck_assert_int_eq(iget(rs.r[0], "version"), 3);
	ck_assert_str_eq(sget(rs.r[0], "result"), "DENIED");
	ck_assert_int_eq(iget(rs.r[0], "status"), 403);
	ck_assert_str_eq(sget(rs.r[0], "request_id"), "1a2b3c4d00000007");
	ck_assert_str_eq(sget(rs.r[0], "peer"), "10.0.0.7");
	recs_free(&rs);
	audit_close(a);
	rs = read_recs(logpath);
	ck_assert_uint_eq(rs.n, 1);
	recs_free(&rs);
}
END_TEST

START_TEST(test_omitted_members)
{
	struct audit_event ev;
	struct audit *a;
	struct recs rs;

	a = open_audit(logpath, 1 << 20, 3, 0, 0);
	ev = event("bob", "GET_KEYS", NULL, "OK");
	audit_log(a, &ev);
	ev = event(NULL, "CREATE", "k2", "UNAUTHENTICATED");
	audit_log(a, &ev);
	audit_close(a);

	rs = read_recs(logpath);
	ck_assert_uint_eq(rs.n, 2);
	ck_assert_ptr_null(json_object_get(rs.r[0], "real_user"));
	ck_assert_ptr_null(json_object_get(rs.r[0], "key"));
	ck_assert_ptr_null(json_object_get(rs.r[0], "version"));
	ck_assert_ptr_null(json_object_get(rs.r[0], "count"));
	ck_assert_ptr_null(json_object_get(rs.r[0], "interval_ms"));
	ck_assert_uint_eq(json_object_size(rs.r[0]), 8);
	ck_assert_str_eq(sget(rs.r[0], "op"), "GET_KEYS");
	ck_assert_str_eq(sget(rs.r[1], "identity"), "-");
	ck_assert_str_eq(sget(rs.r[1], "key"), "k2");
	ck_assert_ptr_null(json_object_get(rs.r[1], "version"));
	ck_assert_int_eq(iget(rs.r[1], "status"), 401);
	recs_free(&rs);
}
END_TEST

/* Client-chosen names cannot break a line and come back unchanged. */
static const char *const nasty[] = {
	"a\"b\nc",
	"\n{\"time\":\"forged\"}\n",
	"back\\slash\ttab\r\x01\x1f",
	"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x94\x91",
	"</script>'",
};

START_TEST(test_escaping)
{
	struct audit_event ev;
	struct audit *a;
	struct recs rs;
	char *raw;
	size_t len;

	a = open_audit(logpath, 1 << 20, 3, 0, 10000);
	ev = event(nasty[_i], "CREATE", nasty[_i], "OK");
	ev.real_user = nasty[_i];
	ev.peer = nasty[_i];
	audit_log(a, &ev);
	audit_close(a);
	rs = read_recs(logpath);
	ck_assert_uint_eq(rs.n, 1);
	ck_assert_str_eq(sget(rs.r[0], "identity"), nasty[_i]);
	ck_assert_str_eq(sget(rs.r[0], "real_user"), nasty[_i]);
	ck_assert_str_eq(sget(rs.r[0], "key"), nasty[_i]);
	ck_assert_str_eq(sget(rs.r[0], "peer"), nasty[_i]);
	recs_free(&rs);
	/* and the file is exactly one line */
	{
		FILE *fp = fopen(logpath, "r");

		ck_assert_ptr_nonnull(fp);
		raw = NULL;
		len = 0;
		ck_assert_int_gt(getdelim(&raw, &len, '\0', fp), 0);
		fclose(fp);
		ck_assert_uint_eq(count_str(raw, "\n"), 1);
		ck_assert_ptr_null(strchr(raw, '\r'));
		free(raw);
	}
}
END_TEST

/* Bytes that are not UTF-8 still give one valid JSON line. */
START_TEST(test_bad_utf8)
{
	struct audit_event ev;
	struct audit *a;
	struct recs rs;

	a = open_audit(logpath, 1 << 20, 3, 0, 0);
	ev = event("x\xff" "y", "CREATE", "k\xc3(\xed\xa0\x80z\xc0\xaf", "OK");
	audit_log(a, &ev);
	audit_close(a);
	rs = read_recs(logpath);
	ck_assert_uint_eq(rs.n, 1);
	ck_assert_str_eq(sget(rs.r[0], "identity"), "x\xef\xbf\xbdy");
	ck_assert_str_eq(sget(rs.r[0], "key"),
	    "k\xef\xbf\xbd(\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbdz"
	    "\xef\xbf\xbd\xef\xbf\xbd");
	recs_free(&rs);
}
END_TEST

/* A long key name does not fit the stack buffer: still one whole line. */
START_TEST(test_long_record)
{
	struct audit_event ev;
	struct audit *a;
	struct recs rs;
	char *big;
	size_t n = 20000;

	ck_assert_ptr_nonnull(big = malloc(n + 1));
	memset(big, 'q', n);
	big[n] = '\0';
	a = open_audit(logpath, 1 << 20, 3, 0, 0);
	ev = event("alice", "CREATE", big, "OK");
	audit_log(a, &ev);
	audit_close(a);
	rs = read_recs(logpath);
	ck_assert_uint_eq(rs.n, 1);
	ck_assert_str_eq(sget(rs.r[0], "key"), big);
	recs_free(&rs);
	free(big);
}
END_TEST

/* ---- aggregation ---- */

START_TEST(test_aggregate_counts)
{
	struct audit_event ev;
	struct audit *a;
	struct recs rs;
	char rid[32];
	json_t *r1000 = NULL, *r3 = NULL;
	size_t i;

	a = open_audit(logpath, 1 << 20, 3, 0, 600000);
	for (i = 0; i < 1000; i++) {
		ev = event("alice", "DECRYPT_EEK", "k1", "OK");
		ev.version = 2;
		ev.has_version = 1;
		snprintf(rid, sizeof(rid), "%016zx", i);
		ev.request_id = rid;
		audit_log(a, &ev);
		if (i % 300 == 0) {
			ev = event("bob", "DECRYPT_EEK", "k2", "OK");
			ev.real_user = "hdfs";
			snprintf(rid, sizeof(rid), "b%015zx", i);
			ev.request_id = rid;
			ev.peer = "10.1.1.1";
			ev.version = (uint32_t)i;	/* differs: no version */
			ev.has_version = 1;
			if (i < 900)
				audit_log(a, &ev);
		}
	}
	rs = read_recs(logpath);
	ck_assert_uint_eq(rs.n, 0);	/* nothing until the window ends */
	audit_flush(a);
	rs = read_recs(logpath);
	ck_assert_uint_eq(rs.n, 2);
	for (i = 0; i < rs.n; i++) {
		if (iget(rs.r[i], "count") == 1000)
			r1000 = rs.r[i];
		else if (iget(rs.r[i], "count") == 3)
			r3 = rs.r[i];
	}
	ck_assert_ptr_nonnull(r1000);
	ck_assert_ptr_nonnull(r3);
	ck_assert_str_eq(sget(r1000, "identity"), "alice");
	ck_assert_ptr_null(json_object_get(r1000, "real_user"));
	ck_assert_str_eq(sget(r1000, "op"), "DECRYPT_EEK");
	ck_assert_str_eq(sget(r1000, "key"), "k1");
	ck_assert_int_eq(iget(r1000, "version"), 2);
	ck_assert_str_eq(sget(r1000, "result"), "OK");
	ck_assert_int_eq(iget(r1000, "status"), 200);
	ck_assert_str_eq(sget(r1000, "request_id"), "0000000000000000");
	ck_assert_int_ge(iget(r1000, "interval_ms"), 0);
	ck_assert_int_lt(iget(r1000, "interval_ms"), 600000);
	ck_assert_msg(parse_time(sget(r1000, "time")) != -1, "bad time");
	ck_assert_str_eq(sget(r3, "identity"), "bob");
	ck_assert_str_eq(sget(r3, "real_user"), "hdfs");
	ck_assert_str_eq(sget(r3, "key"), "k2");
	ck_assert_str_eq(sget(r3, "request_id"), "b000000000000000");
	ck_assert_str_eq(sget(r3, "peer"), "10.1.1.1");
	ck_assert_ptr_null(json_object_get(r3, "version"));
	recs_free(&rs);

	/* flushed aggregates are forgotten: a new window starts at 1 */
	ev = event("alice", "DECRYPT_EEK", "k1", "OK");
	audit_log(a, &ev);
	audit_flush(a);
	audit_flush(a);		/* nothing pending: writes nothing */
	rs = read_recs(logpath);
	ck_assert_uint_eq(rs.n, 3);
	ck_assert_int_eq(iget(rs.r[2], "count"), 1);
	ck_assert_int_eq(iget(rs.r[2], "interval_ms"), 0);
	recs_free(&rs);
	audit_close(a);
	rs = read_recs(logpath);
	ck_assert_uint_eq(rs.n, 3);
	recs_free(&rs);
}
END_TEST

/* Each part of (identity, real_user, op, key) makes its own aggregate. */
START_TEST(test_aggregate_keys)
{
	static const struct {
		const char *identity, *real_user, *op, *key;
	} evs[] = {
		{ "alice", NULL, "DECRYPT_EEK", "k1" },
		{ "alice", "hdfs", "DECRYPT_EEK", "k1" },
		{ "alice", "", "DECRYPT_EEK", "k1" },
		{ "alice", NULL, "GENERATE_EEK", "k1" },
		{ "alice", NULL, "DECRYPT_EEK", "k2" },
		{ "bob", NULL, "DECRYPT_EEK", "k1" },
		{ "alicehdfs", NULL, "DECRYPT_EEK", "k1" },
	};
	const size_t n = sizeof(evs) / sizeof(evs[0]);
	struct audit_event ev;
	struct audit *a;
	struct recs rs;
	size_t i, j;

	a = open_audit(logpath, 1 << 20, 3, 0, 600000);
	for (j = 0; j < 5; j++)
		for (i = 0; i < n; i++) {
			ev = event(evs[i].identity, evs[i].op, evs[i].key, "OK");
			ev.real_user = evs[i].real_user;
			audit_log(a, &ev);
		}
	audit_close(a);
	rs = read_recs(logpath);
	ck_assert_uint_eq(rs.n, n);
	for (i = 0; i < n; i++) {	/* oldest first */
		ck_assert_int_eq(iget(rs.r[i], "count"), 5);
		ck_assert_str_eq(sget(rs.r[i], "identity"), evs[i].identity);
		ck_assert_str_eq(sget(rs.r[i], "op"), evs[i].op);
		ck_assert_str_eq(sget(rs.r[i], "key"), evs[i].key);
		if (evs[i].real_user == NULL)
			ck_assert_ptr_null(json_object_get(rs.r[i],
			    "real_user"));
		else
			ck_assert_str_eq(sget(rs.r[i], "real_user"),
			    evs[i].real_user);
	}
	recs_free(&rs);
}
END_TEST

/* Which events wait for their aggregate and which are written at once. */
static const struct {
	const char	*op;
	const char	*result;
	int		 aggregated;
} kinds[] = {
	{ "DECRYPT_EEK", "OK", 1 },
	{ "GENERATE_EEK", "OK", 1 },
	{ "DECRYPT_EEK", "DENIED", 0 },
	{ "DECRYPT_EEK", "ERROR", 0 },
	{ "DECRYPT_EEK", "UNAUTHENTICATED", 0 },
	{ "GENERATE_EEK", "DENIED", 0 },
	{ "CREATE", "OK", 0 },
	{ "ROLL_NEW_VERSION", "OK", 0 },
	{ "DELETE", "OK", 0 },
	{ "GET_KEY_VERSION", "OK", 0 },
	{ "REENCRYPT_EEK", "OK", 0 },
	{ "GET_METADATA", "OK", 0 },
};

START_TEST(test_aggregated_or_not)
{
	struct audit_event ev;
	struct audit *a;
	struct recs rs;
	size_t i;

	a = open_audit(logpath, 1 << 20, 3, 0, 600000);
	for (i = 0; i < 3; i++) {
		ev = event("alice", kinds[_i].op, "k1", kinds[_i].result);
		audit_log(a, &ev);
	}
	rs = read_recs(logpath);
	if (kinds[_i].aggregated) {
		ck_assert_uint_eq(rs.n, 0);
		recs_free(&rs);
		audit_flush(a);
		rs = read_recs(logpath);
		ck_assert_uint_eq(rs.n, 1);
		ck_assert_int_eq(iget(rs.r[0], "count"), 3);
	} else {
		ck_assert_uint_eq(rs.n, 3);
		for (i = 0; i < rs.n; i++) {
			ck_assert_ptr_null(json_object_get(rs.r[i], "count"));
			ck_assert_ptr_null(json_object_get(rs.r[i],
			    "interval_ms"));
			ck_assert_str_eq(sget(rs.r[i], "op"), kinds[_i].op);
			ck_assert_str_eq(sget(rs.r[i], "result"),
			    kinds[_i].result);
		}
	}
	recs_free(&rs);
	audit_close(a);
	rs = read_recs(logpath);
	ck_assert_uint_eq(rs.n, kinds[_i].aggregated ? 1 : 3);
	recs_free(&rs);
}
END_TEST

START_TEST(test_no_aggregation)
{
	struct audit_event ev;
	struct audit *a;
	struct recs rs;
	size_t i;

	a = open_audit(logpath, 1 << 20, 3, 0, 0);
	for (i = 0; i < 10; i++) {
		ev = event("alice", i % 2 ? "GENERATE_EEK" : "DECRYPT_EEK",
		    "k1", "OK");
		audit_log(a, &ev);
	}
	rs = read_recs(logpath);
	ck_assert_uint_eq(rs.n, 10);
	for (i = 0; i < rs.n; i++)
		ck_assert_ptr_null(json_object_get(rs.r[i], "count"));
	recs_free(&rs);
	audit_close(a);
}
END_TEST

/* Records in the file after up to 2 s, at least want of them. */
static struct recs
wait_recs(size_t want)
{
	struct timespec ts = { 0, 10 * 1000 * 1000 };
	struct recs rs;
	int i;

	for (i = 0; i < 200; i++) {
		rs = read_recs(logpath);
		if (rs.n >= want)
			return rs;
		recs_free(&rs);
		nanosleep(&ts, NULL);
	}
	return read_recs(logpath);
}

START_TEST(test_thread_writes)
{
	struct audit_event ev;
	struct audit *a;
	struct recs rs;
	size_t i;

	a = open_audit(logpath, 1 << 20, 3, 0, 50);
	for (i = 0; i < 5; i++) {
		ev = event("alice", "GENERATE_EEK", "k1", "OK");
		audit_log(a, &ev);
	}
	rs = wait_recs(1);
	ck_assert_uint_eq(rs.n, 1);
	ck_assert_int_eq(iget(rs.r[0], "count"), 5);
	ck_assert_str_eq(sget(rs.r[0], "op"), "GENERATE_EEK");
	recs_free(&rs);

	/* the entry was forgotten; the idle thread wakes for a new one */
	for (i = 0; i < 7; i++) {
		ev = event("alice", "GENERATE_EEK", "k1", "OK");
		audit_log(a, &ev);
	}
	rs = wait_recs(2);
	ck_assert_uint_eq(rs.n, 2);
	ck_assert_int_eq(iget(rs.r[1], "count"), 7);
	recs_free(&rs);
	audit_close(a);
	rs = read_recs(logpath);
	ck_assert_uint_eq(rs.n, 2);
	recs_free(&rs);
}
END_TEST

/* ---- the file ---- */

/* Read FILE.keep ... FILE.1, FILE into one list, oldest first. */
static struct recs
read_all(int keep)
{
	struct recs all = { NULL, 0 }, rs;
	char p[PATH_MAX + 32];
	size_t i;
	int k;

	for (k = keep; k >= 0; k--) {
		if (k == 0)
			snprintf(p, sizeof(p), "%s", logpath);
		else
			snprintf(p, sizeof(p), "%s.%d", logpath, k);
		rs = read_recs(p);
		for (i = 0; i < rs.n; i++) {
			ck_assert_ptr_nonnull(all.r = realloc(all.r,
			    (all.n + 1) * sizeof(*all.r)));
			all.r[all.n++] = rs.r[i];
		}
		free(rs.r);
	}
	return all;
}

static off_t
file_size(const char *path)
{
	struct stat st;

	if (stat(path, &st) == -1)
		return -1;
	return st.st_size;
}

/* Log CREATE events first..last-1, request id = the number. */
static void
log_numbered(struct audit *a, size_t first, size_t last)
{
	struct audit_event ev;
	char rid[32];
	size_t i;

	for (i = first; i < last; i++) {
		ev = event("alice", "CREATE", "some-key-name", "OK");
		snprintf(rid, sizeof(rid), "%016zu", i);
		ev.request_id = rid;
		audit_log(a, &ev);
	}
}

START_TEST(test_rotation)
{
	const long max = 4096;
	char p[PATH_MAX + 32];
	struct audit *a;
	struct recs rs;
	off_t linelen, sz;
	size_t per, n, i, first;

	/* every numbered record has the same length */
	a = open_audit(logpath, max, 2, 0, 0);
	log_numbered(a, 0, 1);
	linelen = file_size(logpath);
	ck_assert_int_gt(linelen, 100);
	per = (size_t)(max / linelen);

	/* two rotations: FILE.2 and FILE.1 full, FILE half full */
	n = 2 * per + per / 2;
	log_numbered(a, 1, n);
	for (i = 0; i <= 3; i++) {
		if (i == 0)
			snprintf(p, sizeof(p), "%s", logpath);
		else
			snprintf(p, sizeof(p), "%s.%zu", logpath, i);
		sz = file_size(p);
		if (i == 3) {
			ck_assert_int_eq(sz, -1);
			continue;
		}
		ck_assert_msg(sz > 0, "%s missing", p);
		ck_assert_int_le(sz, max);
		ck_assert_int_eq(sz % linelen, 0);	/* whole records */
	}
	ck_assert_int_eq(file_size(logpath), (off_t)(per / 2) * linelen);
	rs = read_all(5);
	ck_assert_uint_eq(rs.n, n);		/* nothing lost */
	for (i = 0; i < rs.n; i++)
		ck_assert_uint_eq(strtoull(sget(rs.r[i], "request_id"), NULL,
		    10), i);
	recs_free(&rs);

	/* many more: only keep rotated files, the newest records, in order */
	log_numbered(a, n, n + 10 * per + 1);
	n += 10 * per + 1;
	audit_close(a);
	snprintf(p, sizeof(p), "%s.3", logpath);
	ck_assert_int_eq(file_size(p), -1);
	rs = read_all(5);
	ck_assert_uint_ge(rs.n, 2 * per + 1);
	ck_assert_uint_le(rs.n, 3 * per);
	first = n - rs.n;
	for (i = 0; i < rs.n; i++)
		ck_assert_uint_eq(strtoull(sget(rs.r[i], "request_id"), NULL,
		    10), first + i);
	recs_free(&rs);
}
END_TEST

/* Records written by several openers append; rotation counts the old size. */
START_TEST(test_reopen_appends)
{
	char p[PATH_MAX + 32];
	struct audit *a;
	struct recs rs;
	off_t linelen;

	a = open_audit(logpath, 4096, 1, 0, 0);
	log_numbered(a, 0, 1);
	audit_close(a);
	linelen = file_size(logpath);
	a = open_audit(logpath, 4096, 1, 0, 0);
	log_numbered(a, 1, (size_t)(4096 / linelen));	/* just fills it */
	snprintf(p, sizeof(p), "%s.1", logpath);
	ck_assert_int_eq(file_size(p), -1);
	log_numbered(a, (size_t)(4096 / linelen), (size_t)(4096 / linelen) + 1);
	audit_close(a);
	ck_assert_int_eq(file_size(p), (4096 / linelen) * linelen);
	ck_assert_int_eq(file_size(logpath), linelen);
	rs = read_all(1);
	ck_assert_uint_eq(rs.n, (size_t)(4096 / linelen) + 1);
	recs_free(&rs);
}
END_TEST

START_TEST(test_file_mode)
{
	struct audit_event ev;
	struct audit *a;
	struct stat st;
	char *out;

	umask(0);
	a = open_audit(logpath, 1 << 20, 3, 0, 0);
	ck_assert_int_eq(stat(logpath, &st), 0);
	ck_assert_int_eq(st.st_mode & 07777, 0600);
	audit_close(a);

	/* an existing loose file is used, with a warning */
	ck_assert_int_eq(chmod(logpath, 0644), 0);
	capture_start();
	a = open_audit(logpath, 1 << 20, 3, 0, 0);
	ev = event("alice", "CREATE", "k", "OK");
	audit_log(a, &ev);
	audit_close(a);
	out = captured();
	ck_assert_msg(strstr(out, "warning:") != NULL &&
	    strstr(out, logpath) != NULL && strstr(out, "0644") != NULL,
	    "no warning: %s", out);
	free(out);
	ck_assert_uint_eq(file_size(logpath) > 0, 1);
}
END_TEST

START_TEST(test_rotated_mode)
{
	char p[PATH_MAX + 32];
	struct audit *a;
	struct stat st;

	umask(0);
	a = open_audit(logpath, 1024, 2, 0, 0);
	log_numbered(a, 0, 20);
	audit_close(a);
	ck_assert_int_eq(stat(logpath, &st), 0);
	ck_assert_int_eq(st.st_mode & 07777, 0600);
	snprintf(p, sizeof(p), "%s.2", logpath);
	ck_assert_int_eq(stat(p, &st), 0);
	ck_assert_int_eq(st.st_mode & 07777, 0600);
}
END_TEST

START_TEST(test_open_fails)
{
	struct audit_opts o;
	char err[512], p[PATH_MAX + 32];

	snprintf(p, sizeof(p), "%s/no/such/dir/audit.log", tmpdir);
	memset(&o, 0, sizeof(o));
	o.path = p;
	o.max_bytes = 65536;
	o.keep = 1;
	o.node = "kw-a";
	err[0] = '\0';
	ck_assert_ptr_null(audit_open(&o, err, sizeof(err)));
	ck_assert_msg(strstr(err, p) != NULL && strstr(err, "No such file")
	    != NULL, "err: %s", err);
}
END_TEST

/* A full disk loses records, says so once, and never stops the caller. */
START_TEST(test_write_error)
{
	struct audit_event ev;
	struct audit *a;
	char *out;
	size_t i;

	if (access("/dev/full", W_OK) != 0)
		return;		/* not on this system */
	capture_start();
	a = open_audit("/dev/full", 65536, 2, 0, 0);
	for (i = 0; i < 100; i++) {
		ev = event("alice", "CREATE", "k", "OK");
		audit_log(a, &ev);
	}
	audit_close(a);
	out = captured();
	ck_assert_uint_eq(count_str(out, "could not write to audit file "
	    "\"/dev/full\": No space left on device"), 1);
	free(out);
}
END_TEST

/* ---- no file ---- */

START_TEST(test_disabled)
{
	struct audit_event ev = event("alice", "CREATE", "k", "OK");
	struct audit *a;
	char *out;

	capture_start();
	a = open_audit(NULL, 0, 0, 0, 10000);
	audit_log(a, &ev);
	audit_flush(a);
	audit_close(a);
	a = open_audit("", 0, 0, 0, 0);
	audit_log(a, &ev);
	audit_close(a);
	audit_log(NULL, &ev);
	audit_flush(NULL);
	audit_close(NULL);
	out = captured();
	ck_assert_str_eq(out, "");
	free(out);
}
END_TEST

START_TEST(test_stderr)
{
	struct audit_event ev;
	struct audit *a;
	struct recs rs;
	json_error_t jerr;
	json_t *j;
	char *out, *nl;

	capture_start();
	a = open_audit(logpath, 1 << 20, 3, 1, 10000);
	ev = event("alice", "CREATE", "k\n1", "OK");
	audit_log(a, &ev);
	ev = event("alice", "DECRYPT_EEK", "k1", "OK");
	audit_log(a, &ev);
	audit_log(a, &ev);
	audit_close(a);
	out = captured();
	ck_assert_uint_eq(count_str(out, "\n"), 2);
	ck_assert(strncmp(out, "audit: {", 8) == 0);
	ck_assert_ptr_nonnull(nl = strchr(out, '\n'));
	ck_assert_ptr_nonnull(j = json_loadb(out + 7, (size_t)(nl - out - 7), 0,
	    &jerr));
	ck_assert_str_eq(sget(j, "key"), "k\n1");
	json_decref(j);
	ck_assert(strncmp(nl + 1, "audit: {", 8) == 0);
	ck_assert_ptr_nonnull(strstr(nl + 1, "\"count\":2"));
	free(out);
	rs = read_recs(logpath);	/* and the file has both */
	ck_assert_uint_eq(rs.n, 2);
	recs_free(&rs);
}
END_TEST

/* ---- threads ---- */

#define THREADS	4
#define EVENTS	5000

static struct audit *shared;

static const char *const thread_ops[][2] = {
	{ "DECRYPT_EEK", "OK" },
	{ "GENERATE_EEK", "OK" },
	{ "CREATE", "OK" },
	{ "DECRYPT_EEK", "DENIED" },
};
#define NOPS	(sizeof(thread_ops) / sizeof(thread_ops[0]))

static void *
hammer(void *arg)
{
	struct audit_event ev;
	char id[16], key[16], rid[32];
	size_t t = (size_t)(uintptr_t)arg, i, k;

	snprintf(id, sizeof(id), "user%zu", t);
	for (i = 0; i < EVENTS; i++) {
		k = i % NOPS;
		snprintf(key, sizeof(key), "key%zu", i % 7);
		ev = event(id, thread_ops[k][0], key, thread_ops[k][1]);
		snprintf(rid, sizeof(rid), "%02zu%014zu", t, i);
		ev.request_id = rid;
		audit_log(shared, &ev);
	}
	return NULL;
}

START_TEST(test_threads)
{
	pthread_t th[THREADS];
	struct recs rs;
	long long per[NOPS], total = 0, c;
	size_t i, k;

	memset(per, 0, sizeof(per));
	/* a small window and small files: the thread and rotation race */
	shared = open_audit(logpath, 256 * 1024, 50, 0, 5);
	for (i = 0; i < THREADS; i++)
		ck_assert_int_eq(pthread_create(&th[i], NULL, hammer,
		    (void *)(uintptr_t)i), 0);
	for (i = 0; i < THREADS; i++)
		ck_assert_int_eq(pthread_join(th[i], NULL), 0);
	audit_close(shared);

	rs = read_all(50);
	for (i = 0; i < rs.n; i++) {
		c = json_object_get(rs.r[i], "count") != NULL ?
		    iget(rs.r[i], "count") : 1;
		for (k = 0; k < NOPS; k++)
			if (strcmp(sget(rs.r[i], "op"), thread_ops[k][0]) == 0 &&
			    strcmp(sget(rs.r[i], "result"), thread_ops[k][1])
			    == 0)
				break;
		ck_assert_uint_lt(k, NOPS);
		ck_assert_msg((k < 2) == (json_object_get(rs.r[i], "count") !=
		    NULL), "aggregated or not wrongly: %s %s",
		    thread_ops[k][0], thread_ops[k][1]);
		per[k] += c;
		total += c;
	}
	ck_assert_int_eq(total, THREADS * EVENTS);
	for (k = 0; k < NOPS; k++)
		ck_assert_int_eq(per[k], THREADS * EVENTS / NOPS);
	/* singles were written one by one */
	ck_assert_uint_ge(rs.n, THREADS * EVENTS / 2);
	recs_free(&rs);
}
END_TEST

static Suite *
audit_suite(void)
{
	Suite	*s = suite_create("audit");
	TCase	*tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_one_event);
	tcase_add_test(tc, test_omitted_members);
	tcase_add_loop_test(tc, test_escaping, 0,
	    sizeof(nasty) / sizeof(nasty[0]));
	tcase_add_test(tc, test_bad_utf8);
	tcase_add_test(tc, test_long_record);
	tcase_add_test(tc, test_aggregate_counts);
	tcase_add_test(tc, test_aggregate_keys);
	tcase_add_loop_test(tc, test_aggregated_or_not, 0,
	    sizeof(kinds) / sizeof(kinds[0]));
	tcase_add_test(tc, test_no_aggregation);
	tcase_add_test(tc, test_thread_writes);
	tcase_add_test(tc, test_rotation);
	tcase_add_test(tc, test_reopen_appends);
	tcase_add_test(tc, test_file_mode);
	tcase_add_test(tc, test_rotated_mode);
	tcase_add_test(tc, test_open_fails);
	tcase_add_test(tc, test_write_error);
	tcase_add_test(tc, test_disabled);
	tcase_add_test(tc, test_stderr);
	tcase_add_test(tc, test_threads);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return check_run(audit_suite(), CK_FORK);
}
