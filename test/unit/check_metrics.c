/*
 * check_metrics.c: the counters (server/metrics.c) and their exposition
 * text: what was counted is what a scrape reads, histograms are
 * cumulative, label values are escaped, the cluster view's gauges follow
 * it, and nothing but fixed words ever becomes a label.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/metrics.h"
#include "check_main.h"

/* A pair as the monitor sees it when healthy. */
static void
healthy(struct db_cluster_state *st)
{
	memset(st, 0, sizeof(*st));
	st->local.configured = 1;
	st->local.role = DB_ROLE_PRIMARY;
	st->local.probe_ms = 3;
	st->peer.configured = 1;
	st->peer.role = DB_ROLE_STANDBY;
	st->peer.probe_ms = 1250;
	st->repl.present = 1;
	snprintf(st->repl.state, sizeof(st->repl.state), "streaming");
	snprintf(st->repl.sync_state, sizeof(st->repl.sync_state), "sync");
	st->repl.reply_age_ms = 40;
	st->repl.lag_bytes = 4096;
	st->writable = 1;
	st->readable = 1;
}

static char *
render(const struct db_cluster_state *st, const char *node)
{
	struct metrics_view v;
	size_t len = 0;
	char *text;

	memset(&v, 0, sizeof(v));
	v.cluster = st;
	v.keys_served = 1;
	v.confirmed_age_ms = 250;
	v.version = "9.9.9";
	v.node = node;
	text = metrics_render(&v, &len);
	ck_assert_ptr_nonnull(text);
	ck_assert_uint_eq(strlen(text), len);
	return text;
}

/* text holds line (a whole line) exactly. */
static void
has_line(const char *text, const char *line)
{
	const char *p = text;
	size_t n = strlen(line);

	while ((p = strstr(p, line)) != NULL) {
		if ((p == text || p[-1] == '\n') && p[n] == '\n')
			return;
		p++;
	}
	fprintf(stderr, "-- the text --\n%s-- end --\n", text);
	ck_abort_msg("line \"%s\" missing (the text is on stderr)", line);
}

START_TEST(test_requests)
{
	struct db_cluster_state st;
	char *t;

	metrics_reset();
	healthy(&st);
	metrics_request(OP_CREATE, 201, 800);		/* 0.0008 s */
	metrics_request(OP_CREATE, 201, 30000);		/* 0.03 s */
	metrics_request(OP_CREATE, 503, 2100000);	/* 2.1 s */
	metrics_request(OP_GENERATE, 299, 20000000);	/* past every bucket */
	t = render(&st, "kw-a");
	has_line(t, "keyward_requests_total{op=\"CREATE\",code=\"201\"} 2");
	has_line(t, "keyward_requests_total{op=\"CREATE\",code=\"503\"} 1");
	has_line(t, "keyward_requests_total{op=\"GENERATE_EEK\","
	    "code=\"other\"} 1");
	has_line(t, "keyward_request_duration_seconds_bucket{op=\"CREATE\","
	    "le=\"0.001\"} 1");
	has_line(t, "keyward_request_duration_seconds_bucket{op=\"CREATE\","
	    "le=\"0.025\"} 1");
	has_line(t, "keyward_request_duration_seconds_bucket{op=\"CREATE\","
	    "le=\"0.05\"} 2");
	has_line(t, "keyward_request_duration_seconds_bucket{op=\"CREATE\","
	    "le=\"2.5\"} 3");
	has_line(t, "keyward_request_duration_seconds_bucket{op=\"CREATE\","
	    "le=\"+Inf\"} 3");
	has_line(t, "keyward_request_duration_seconds_count{op=\"CREATE\"} 3");
	has_line(t, "keyward_request_duration_seconds_sum{op=\"CREATE\"} "
	    "2.130800");
	has_line(t, "keyward_request_duration_seconds_bucket{op=\"GENERATE_EEK\","
	    "le=\"10\"} 0");
	has_line(t, "keyward_request_duration_seconds_bucket{op=\"GENERATE_EEK\","
	    "le=\"+Inf\"} 1");
	/* an operation never asked for has no series */
	ck_assert_ptr_null(strstr(t, "op=\"DELETE\""));
	free(t);
}
END_TEST

START_TEST(test_counters)
{
	struct db_cluster_state st;
	char *t;

	metrics_reset();
	healthy(&st);
	metrics_refused(DB_REFUSE_STANDBY_DOWN);
	metrics_refused(DB_REFUSE_STANDBY_DOWN);
	metrics_refused(DB_REFUSE_MONITOR_STALLED);
	metrics_inc(MC_NOT_ACKNOWLEDGED);
	metrics_add(MC_SETTLED_ROWS, 7);
	metrics_inc(MC_AUDIT_DROPPED);
	metrics_inc(MC_ACL_RELOAD_FAILURES);
	metrics_cache(MK_VERSION, 1);
	metrics_cache(MK_VERSION, 1);
	metrics_cache(MK_VERSION, 0);
	metrics_probe(1, 0);
	metrics_connection(1);
	metrics_connection(1);
	metrics_connection(-1);
	t = render(&st, "kw-a");
	has_line(t, "keyward_writes_refused_total{reason=\"standby_down\"} 2");
	has_line(t, "keyward_writes_refused_total{reason=\"monitor_stalled\"} 1");
	has_line(t, "keyward_writes_refused_total{reason=\"split_brain\"} 0");
	has_line(t, "keyward_writes_not_acknowledged_total 1");
	has_line(t, "keyward_settled_rows_total 7");
	has_line(t, "keyward_audit_records_dropped_total 1");
	has_line(t, "keyward_audit_records_total 0");
	has_line(t, "keyward_acl_reload_failures_total 1");
	has_line(t, "keyward_cache_lookups_total{kind=\"version\",result=\"hit\"} 2");
	has_line(t, "keyward_cache_lookups_total{kind=\"version\",result=\"miss\"} 1");
	has_line(t, "keyward_database_probes_total{database=\"peer\","
	    "result=\"down\"} 1");
	has_line(t, "keyward_connections_open 1");
	has_line(t, "# TYPE keyward_writes_not_acknowledged_total counter");
	free(t);
}
END_TEST

START_TEST(test_cluster_view)
{
	struct db_cluster_state st;
	char *t;

	metrics_reset();
	healthy(&st);
	t = render(&st, "kw-a");
	has_line(t, "keyward_database_up{database=\"local\"} 1");
	has_line(t, "keyward_database_role{database=\"peer\",role=\"standby\"} 1");
	has_line(t, "keyward_database_role{database=\"peer\",role=\"primary\"} 0");
	has_line(t, "keyward_database_probe_seconds{database=\"peer\"} 1.250");
	has_line(t, "keyward_replication_lag_bytes 4096");
	has_line(t, "keyward_replication_reply_age_seconds 0.040");
	has_line(t, "keyward_replication_standby{state=\"streaming\","
	    "sync_state=\"sync\"} 1");
	has_line(t, "keyward_writable 1");
	has_line(t, "keyward_build_info{version=\"9.9.9\",node=\"kw-a\"} 1");
	free(t);

	/* the standby gone: no lag to speak of, the peer down */
	st.peer.role = DB_ROLE_DOWN;
	st.repl.present = 0;
	st.writable = 0;
	t = render(&st, "kw-a");
	has_line(t, "keyward_database_up{database=\"peer\"} 0");
	has_line(t, "keyward_database_role{database=\"peer\",role=\"down\"} 1");
	has_line(t, "keyward_replication_standby{state=\"none\","
	    "sync_state=\"none\"} 0");
	ck_assert_ptr_null(strstr(t, "keyward_replication_lag_bytes"));
	has_line(t, "keyward_writable 0");
	free(t);

	/* a single node: no peer series at all */
	st.peer.configured = 0;
	t = render(&st, "kw-a");
	ck_assert_ptr_null(strstr(t, "database=\"peer\""));
	free(t);
}
END_TEST

START_TEST(test_escaping)
{
	struct db_cluster_state st;
	char *t;

	metrics_reset();
	healthy(&st);
	t = render(&st, "a\"b\\c\nd");
	has_line(t, "keyward_build_info{version=\"9.9.9\","
	    "node=\"a\\\"b\\\\c\\nd\"} 1");
	free(t);
}
END_TEST

static Suite *
metrics_suite(void)
{
	Suite *s = suite_create("metrics");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_requests);
	tcase_add_test(tc, test_counters);
	tcase_add_test(tc, test_cluster_view);
	tcase_add_test(tc, test_escaping);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return check_run(metrics_suite(), CK_FORK_GETENV);
}
