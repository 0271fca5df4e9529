/*
 * metrics.c: the server's counters and their Prometheus text exposition.
 *
 * Owns every counter (relaxed atomics, so recording costs no lock and
 * never blocks a request) and the text a scrape returns.  It does not
 * decide what happened: the glue, the API, the cluster monitor, the cache,
 * the audit log and the ACL holder call in when it does.
 *
 * The counters are process-wide statics, against the house habit of
 * passing state around: they are facts about the process, like the log's
 * level, and a handle threaded through every module that counts (down to
 * the key cache inside the key store) would couple them all to this one.
 * Only what changes is counted here; what the cluster monitor knows
 * (probes, roles, replication) is read from its view at scrape time.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"
#include "api.h"		/* api_op_name: the operations' names */

/* Status codes the server answers with; anything else is "other". */
static const int status_codes[] = {
	200, 201, 400, 401, 403, 404, 405, 409, 413, 429, 500, 503,
};
#define NSTATUS	(sizeof(status_codes) / sizeof(status_codes[0]) + 1)

/* Latency buckets (upper bounds) in microseconds and as written. */
static const int64_t bucket_us[] = {
	1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 500000,
	1000000, 2500000, 5000000, 10000000,
};
static const char *const bucket_le[] = {
	"0.001", "0.0025", "0.005", "0.01", "0.025", "0.05", "0.1", "0.25",
	"0.5", "1", "2.5", "5", "10",
};
#define NBUCKETS	(sizeof(bucket_us) / sizeof(bucket_us[0]))

struct op_stats {
	atomic_ullong	 by_status[NSTATUS];
	atomic_ullong	 bucket[NBUCKETS];	/* not cumulative: le only */
	atomic_ullong	 count;
	atomic_ullong	 sum_us;
};

static atomic_ullong	counters[MC_MAX];
static struct op_stats	ops[OP_MAX];
static atomic_ullong	refused[DB_REFUSE_MAX];
static atomic_ullong	cache[MK_MAX][2];	/* [kind][hit] */
static atomic_ullong	probes[2][2];		/* [peer][up] */
static atomic_llong	conns_open;

/* Name, type and help of each plain counter, in enum order. */
static const struct {
	const char	*name;
	const char	*help;
} counter_info[MC_MAX] = {
	[MC_NOT_ACKNOWLEDGED] = { "keyward_writes_not_acknowledged_total",
	    "Writes answered 503 not acknowledged: the commit was not "
	    "confirmed by the synchronous standby within the deadline." },
	[MC_SETTLED_ROWS] = { "keyward_settled_rows_total",
	    "Unsettled key rows the cluster monitor settled once the standby "
	    "was found to hold them." },
	[MC_SETTLE_ERRORS] = { "keyward_settle_errors_total",
	    "Settling sweeps of the cluster monitor that failed with a "
	    "database error." },
	[MC_AUDIT_WRITTEN] = { "keyward_audit_records_total",
	    "Audit records written." },
	[MC_AUDIT_DROPPED] = { "keyward_audit_records_dropped_total",
	    "Audit records that could not be written (the log says why)." },
	[MC_TLS_HANDSHAKE_FAILED] = { "keyward_tls_handshake_failures_total",
	    "Connections closed before a request arrived: their TLS "
	    "handshake failed, or the client sent nothing." },
	[MC_CLIENT_CERT_REFUSED] = { "keyward_client_certificates_refused_total",
	    "Client certificates not accepted (none, unknown CA, expired, "
	    "revoked, no clientAuth usage, no usable identity)." },
	[MC_CONN_REFUSED_TOTAL] = { "keyward_connections_refused_total",
	    "Connections refused because limits.max_connections were open." },
	[MC_ACL_RELOADS] = { "keyward_acl_reloads_total",
	    "Reloads of the access control file that took effect." },
	[MC_ACL_RELOAD_FAILURES] = { "keyward_acl_reload_failures_total",
	    "Reloads of the access control file refused (the rules in force "
	    "were kept)." },
};

static const char *const cache_kinds[MK_MAX] = {
	[MK_VERSION] = "version",
	[MK_CURRENT] = "current",
	[MK_ACLNAME] = "acl_name",
};

void
metrics_inc(enum metric_counter c)
{
	metrics_add(c, 1);
}

void
metrics_add(enum metric_counter c, uint64_t n)
{
	if ((unsigned)c < MC_MAX)
		atomic_fetch_add_explicit(&counters[c], n,
		    memory_order_relaxed);
}

void
metrics_request(enum kw_op op, int status, int64_t us)
{
	struct op_stats *s;
	size_t i;

	if ((unsigned)op >= OP_MAX)
		op = OP_NONE;
	if (us < 0)
		us = 0;
	s = &ops[op];
	for (i = 0; i < NSTATUS - 1 && status_codes[i] != status; i++)
		;
	atomic_fetch_add_explicit(&s->by_status[i], 1, memory_order_relaxed);
	for (i = 0; i < NBUCKETS && us > bucket_us[i]; i++)
		;
	if (i < NBUCKETS)
		atomic_fetch_add_explicit(&s->bucket[i], 1,
		    memory_order_relaxed);
	atomic_fetch_add_explicit(&s->sum_us, (unsigned long long)us,
	    memory_order_relaxed);
	atomic_fetch_add_explicit(&s->count, 1, memory_order_relaxed);
}

void
metrics_refused(enum db_refusal r)
{
	if ((unsigned)r >= DB_REFUSE_MAX || r == DB_REFUSE_NONE)
		r = DB_REFUSE_NO_PRIMARY;
	atomic_fetch_add_explicit(&refused[r], 1, memory_order_relaxed);
}

void
metrics_cache(enum metric_cache k, int hit)
{
	if ((unsigned)k < MK_MAX)
		atomic_fetch_add_explicit(&cache[k][hit != 0], 1,
		    memory_order_relaxed);
}

void
metrics_probe(int peer, int up)
{
	atomic_fetch_add_explicit(&probes[peer != 0][up != 0], 1,
	    memory_order_relaxed);
}

void
metrics_connection(int delta)
{
	atomic_fetch_add_explicit(&conns_open, delta, memory_order_relaxed);
}

void
metrics_reset(void)
{
	size_t i, j;

	for (i = 0; i < MC_MAX; i++)
		atomic_store(&counters[i], 0);
	for (i = 0; i < DB_REFUSE_MAX; i++)
		atomic_store(&refused[i], 0);
	for (i = 0; i < MK_MAX; i++)
		for (j = 0; j < 2; j++)
			atomic_store(&cache[i][j], 0);
	for (i = 0; i < 2; i++)
		for (j = 0; j < 2; j++)
			atomic_store(&probes[i][j], 0);
	atomic_store(&conns_open, 0);
	memset(ops, 0, sizeof(ops));
}

static unsigned long long
get(atomic_ullong *a)
{
	return atomic_load_explicit(a, memory_order_relaxed);
}

/* v as a label value: backslash, double quote and newline escaped. */
static void
label(FILE *fp, const char *v)
{
	for (; *v != '\0'; v++) {
		if (*v == '\\' || *v == '"')
			fputc('\\', fp);
		if (*v == '\n')
			fputs("\\n", fp);
		else
			fputc(*v, fp);
	}
}

static void
family(FILE *fp, const char *name, const char *type, const char *help)
{
	fprintf(fp, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* Requests by operation and status, and the latency histograms. */
static void
render_requests(FILE *fp)
{
	unsigned long long n, cum;
	size_t op, i;
	char code[16];

	family(fp, "keyward_requests_total", "counter",
	    "HTTP requests answered, by operation and status code.");
	for (op = 0; op < OP_MAX; op++)
		for (i = 0; i < NSTATUS; i++) {
			if ((n = get(&ops[op].by_status[i])) == 0)
				continue;
			if (i < NSTATUS - 1)
				snprintf(code, sizeof(code), "%d",
				    status_codes[i]);
			else
				snprintf(code, sizeof(code), "other");
			fprintf(fp, "keyward_requests_total{op=\"%s\","
			    "code=\"%s\"} %llu\n",
			    api_op_name((enum kw_op)op), code, n);
		}
	family(fp, "keyward_request_duration_seconds", "histogram",
	    "Time from a request's headers to its answer, by operation.");
	for (op = 0; op < OP_MAX; op++) {
		if ((n = get(&ops[op].count)) == 0)
			continue;
		/* read the buckets first: +Inf never falls below them */
		for (i = 0, cum = 0; i < NBUCKETS; i++) {
			cum += get(&ops[op].bucket[i]);
			fprintf(fp, "keyward_request_duration_seconds_bucket{"
			    "op=\"%s\",le=\"%s\"} %llu\n",
			    api_op_name((enum kw_op)op), bucket_le[i], cum);
		}
		n = get(&ops[op].count);
		if (n < cum)
			n = cum;
		fprintf(fp, "keyward_request_duration_seconds_bucket{op=\"%s\","
		    "le=\"+Inf\"} %llu\n", api_op_name((enum kw_op)op), n);
		fprintf(fp, "keyward_request_duration_seconds_sum{op=\"%s\"} "
		    "%.6f\n", api_op_name((enum kw_op)op),
		    (double)get(&ops[op].sum_us) / 1e6);
		fprintf(fp, "keyward_request_duration_seconds_count{op=\"%s\"} "
		    "%llu\n", api_op_name((enum kw_op)op), n);
	}
}

/* What the cluster monitor saw last. */
static void
render_cluster(FILE *fp, const struct metrics_view *v)
{
	const struct db_cluster_state *st = v->cluster;
	const struct db_node_state *n[2] = { &st->local, &st->peer };
	static const char *const which[2] = { "local", "peer" };
	static const enum db_role roles[] = {
		DB_ROLE_PRIMARY, DB_ROLE_STANDBY, DB_ROLE_DOWN,
	};
	size_t i, j;

	family(fp, "keyward_database_up", "gauge",
	    "Whether the database answered the cluster monitor's last probe.");
	for (i = 0; i < 2; i++)
		if (n[i]->configured)
			fprintf(fp, "keyward_database_up{database=\"%s\"} %d\n",
			    which[i], n[i]->role != DB_ROLE_DOWN);
	family(fp, "keyward_database_role", "gauge",
	    "The database's role at the last probe (1 for the role it has).");
	for (i = 0; i < 2; i++)
		for (j = 0; n[i]->configured && j < 3; j++)
			fprintf(fp, "keyward_database_role{database=\"%s\","
			    "role=\"%s\"} %d\n", which[i],
			    db_role_name(roles[j]), n[i]->role == roles[j]);
	family(fp, "keyward_database_probe_seconds", "gauge",
	    "How long the cluster monitor's last probe of the database took.");
	for (i = 0; i < 2; i++)
		if (n[i]->configured)
			fprintf(fp, "keyward_database_probe_seconds{database="
			    "\"%s\"} %.3f\n", which[i],
			    (double)n[i]->probe_ms / 1e3);
	family(fp, "keyward_database_probes_total", "counter",
	    "Probes of the database by the cluster monitor, by result.");
	for (i = 0; i < 2; i++)
		for (j = 0; n[i]->configured && j < 2; j++)
			fprintf(fp, "keyward_database_probes_total{database="
			    "\"%s\",result=\"%s\"} %llu\n", which[i],
			    j ? "up" : "down", get(&probes[i][j]));

	family(fp, "keyward_writable", "gauge",
	    "Whether this node admits writes (the pair is healthy).");
	fprintf(fp, "keyward_writable %d\n", st->writable);
	family(fp, "keyward_readable", "gauge",
	    "Whether some database answers reads.");
	fprintf(fp, "keyward_readable %d\n", st->readable);
	family(fp, "keyward_keys_served", "gauge",
	    "Whether this node serves key material (a database answers, or "
	    "the cache was confirmed within keys.cache_confirm_ms).");
	fprintf(fp, "keyward_keys_served %d\n", v->keys_served);
	if (v->drift >= 0) {
		family(fp, "keyward_config_drift", "gauge",
		    "How many of acls.conf, cookie secret, version and schema "
		    "version differ from the peer's (as it last published).");
		fprintf(fp, "keyward_config_drift %d\n", v->drift);
	}
	if (v->confirmed_age_ms >= 0) {
		family(fp, "keyward_cache_confirmed_age_seconds", "gauge",
		    "Time since the cluster monitor last confirmed the cache.");
		fprintf(fp, "keyward_cache_confirmed_age_seconds %.3f\n",
		    (double)v->confirmed_age_ms / 1e3);
	}

	family(fp, "keyward_replication_standby", "gauge",
	    "Whether the primary lists a standby (1), with its state and "
	    "sync_state as pg_stat_replication says them.");
	if (st->repl.present) {
		fputs("keyward_replication_standby{state=\"", fp);
		label(fp, st->repl.state);
		fputs("\",sync_state=\"", fp);
		label(fp, st->repl.sync_state);
		fputs("\"} 1\n", fp);
	} else
		fprintf(fp, "keyward_replication_standby{state=\"none\","
		    "sync_state=\"none\"} 0\n");
	if (st->repl.present && st->repl.lag_bytes >= 0) {
		family(fp, "keyward_replication_lag_bytes", "gauge",
		    "WAL the standby has not replayed yet, in bytes.");
		fprintf(fp, "keyward_replication_lag_bytes %lld\n",
		    (long long)st->repl.lag_bytes);
	}
	if (st->repl.present && st->repl.reply_age_ms >= 0) {
		family(fp, "keyward_replication_reply_age_seconds", "gauge",
		    "Age of the standby's last reply to the primary.");
		fprintf(fp, "keyward_replication_reply_age_seconds %.3f\n",
		    (double)st->repl.reply_age_ms / 1e3);
	}
}

/* Counters that are not about single requests. */
static void
render_counters(FILE *fp)
{
	size_t i, j;

	family(fp, "keyward_writes_refused_total", "counter",
	    "Writes refused at once because the pair was not healthy, by "
	    "reason.");
	for (i = 1; i < DB_REFUSE_MAX; i++)
		fprintf(fp, "keyward_writes_refused_total{reason=\"%s\"} %llu\n",
		    db_refusal_name((enum db_refusal)i), get(&refused[i]));
	for (i = 0; i < MC_MAX; i++) {
		family(fp, counter_info[i].name, "counter", counter_info[i].help);
		fprintf(fp, "%s %llu\n", counter_info[i].name,
		    get(&counters[i]));
	}
	family(fp, "keyward_cache_lookups_total", "counter",
	    "Key cache lookups, by what was looked up and whether it was "
	    "cached.");
	for (i = 0; i < MK_MAX; i++)
		for (j = 0; j < 2; j++)
			fprintf(fp, "keyward_cache_lookups_total{kind=\"%s\","
			    "result=\"%s\"} %llu\n", cache_kinds[i],
			    j ? "hit" : "miss", get(&cache[i][j]));
	family(fp, "keyward_connections_open", "gauge",
	    "Client connections open now.");
	fprintf(fp, "keyward_connections_open %lld\n",
	    (long long)atomic_load(&conns_open));
}

char *
metrics_render(const struct metrics_view *v, size_t *len)
{
	FILE *fp;
	char *buf = NULL;
	size_t n = 0;

	if ((fp = open_memstream(&buf, &n)) == NULL)
		return NULL;
	family(fp, "keyward_build_info", "gauge",
	    "The running keyward: its version and node name.");
	fputs("keyward_build_info{version=\"", fp);
	label(fp, v->version);
	fputs("\",node=\"", fp);
	label(fp, v->node);
	fputs("\"} 1\n", fp);
	render_requests(fp);
	render_cluster(fp, v);
	render_counters(fp);
	if (ferror(fp) || fclose(fp) != 0) {
		free(buf);
		return NULL;
	}
	*len = n;
	return buf;
}
