/*
 * cmd_status.c: `keyward-admin status`: the pair as this node sees it.
 *
 * Probes both databases with the cluster monitor's own probe
 * (db_cluster_probe, the rule keyward-server admits writes by): which
 * answers, which is primary, how the standby streams (state, sync state,
 * age of its last reply, lag), whether writes are allowed and why not.
 * A table, or JSON with --json.  Exit 0 when writes are allowed, 1 when
 * not (or when nothing answers), 2 on a usage error.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include "admin.h"
#include "pair.h"
#include "../db/cluster.h"
#include "../db/db.h"
#include "../lib/log.h"

/* An operator can wait longer for one probe than the monitor does. */
#define STATUS_PROBE_MS		3000

static json_t *
node_json(const char *name, const struct pg_addr *a,
    const struct db_node_state *n, const char *detail)
{
	char where[300];

	snprintf(where, sizeof(where), "%s:%s", a->host, a->port);
	return json_pack("{s:s, s:s, s:s, s:I, s:s}", "name", name,
	    "database", where, "role", db_role_name(n->role),
	    "probe_ms", (json_int_t)n->probe_ms,
	    "error", n->role == DB_ROLE_DOWN ? detail : "");
}

static void
print_json(const struct pair *p, const struct db_cluster_state *s,
    const char *lerr, const char *perr)
{
	const struct db_repl_state *r = &s->repl;
	json_t *o, *nodes;
	char *text;

	nodes = json_array();
	json_array_append_new(nodes, node_json(p->cfg->node_name, &p->local,
	    &s->local, lerr));
	if (p->peer.host[0] != '\0')
		json_array_append_new(nodes, node_json(p->cfg->peer_name,
		    &p->peer, &s->peer, perr));
	o = json_pack("{s:s, s:o, s:{s:b, s:s, s:s, s:s, s:I, s:I}, s:b, s:b, "
	    "s:s}", "node", p->cfg->node_name, "databases", nodes,
	    "replication", "present", r->present, "standby", r->app_name,
	    "state", r->state, "sync_state", r->sync_state,
	    "reply_age_ms", (json_int_t)r->reply_age_ms,
	    "lag_bytes", (json_int_t)r->lag_bytes,
	    "writable", s->writable, "readable", s->readable, "why", s->why);
	if (o == NULL || (text = json_dumps(o, JSON_INDENT(2))) == NULL) {
		log_errx("out of memory");
		json_decref(o);
		return;
	}
	printf("%s\n", text);
	free(text);
	json_decref(o);
}

static void
print_node(const char *name, const char *who, const struct pg_addr *a,
    const struct db_node_state *n, const char *err)
{
	char where[300];

	snprintf(where, sizeof(where), "%s:%s", a->host, a->port);
	printf("  %-12s %-10s database %-22s %-8s", name, who, where,
	    db_role_name(n->role));
	if (n->role == DB_ROLE_DOWN)
		printf(" %s\n", err);
	else
		printf(" (answered in %lld ms)\n", (long long)n->probe_ms);
}

int
cmd_status(int argc, char **argv)
{
	struct pair_opts o;
	struct pair p;
	struct db_cluster_state s;
	struct db *db = NULL;
	const struct db_repl_state *r = &s.repl;
	char lerr[512] = "", perr[512] = "";
	int rc = EXIT_FAIL;

	rc = pair_getopt(argc, argv, "status", PO_JSON, 0, &o);
	if (rc != 0)
		return rc > 0 ? EXIT_OK : EXIT_USAGE;
	rc = EXIT_FAIL;
	if (pair_open(&p, o.config) != 0)
		goto out;
	db = db_new(p.cfg->db_local, p.cfg->db_peer,
	    (const char *)p.pw->data, 1, p.cfg->db_connect_timeout_s,
	    p.cfg->commit_deadline_ms);
	if (db == NULL) {
		log_errx("out of memory");
		goto out;
	}
	db_cluster_probe(db, STATUS_PROBE_MS, p.cfg->standby_stale_ms,
	    p.cfg->node_name, p.cfg->peer_name, NULL, &s);
	/* the probe says "cannot connect"; libpq says why */
	if (s.local.role == DB_ROLE_DOWN && pair_role(&p, &p.local,
	    PAIR_DB_TIMEOUT_S, lerr, sizeof(lerr)) != PAIR_DOWN)
		snprintf(lerr, sizeof(lerr), "%s", s.local.error);
	if (s.local.role == DB_ROLE_DOWN && *lerr == '\0')
		snprintf(lerr, sizeof(lerr), "%s", s.local.error);
	if (p.peer.host[0] != '\0' && s.peer.role == DB_ROLE_DOWN &&
	    pair_role(&p, &p.peer, PAIR_DB_TIMEOUT_S, perr,
	    sizeof(perr)) != PAIR_DOWN)
		snprintf(perr, sizeof(perr), "%s", s.peer.error);
	if (s.peer.role == DB_ROLE_DOWN && *perr == '\0')
		snprintf(perr, sizeof(perr), "%s", s.peer.error);
	if (o.json) {
		print_json(&p, &s, lerr, perr);
	} else {
		printf("node %s%s\n", p.cfg->node_name, p.peer.host[0] ?
		    " and its peer" : " (single node: no [db] peer)");
		print_node(p.cfg->node_name, "(this)", &p.local, &s.local, lerr);
		if (p.peer.host[0] != '\0')
			print_node(p.cfg->peer_name, "(peer)", &p.peer, &s.peer,
			    perr);
		if (r->present)
			printf("replication: standby %s %s, sync_state %s, last "
			    "reply %s%.1f s ago, lag %lld bytes\n", r->app_name,
			    r->state, r->sync_state, r->reply_age_ms < 0 ?
			    "? (unknown) " : "", r->reply_age_ms < 0 ? 0.0 :
			    (double)r->reply_age_ms / 1000,
			    (long long)r->lag_bytes);
		else if (p.peer.host[0] != '\0')
			printf("replication: no standby streams from the "
			    "primary\n");
		if (s.writable)
			printf("writes: allowed\n");
		else
			printf("writes: refused: %s\n", s.why);
		if (!s.readable)
			printf("reads: refused: no database answers\n");
	}
	rc = s.writable ? EXIT_OK : EXIT_FAIL;
out:
	db_free(db);
	pair_close(&p);
	return rc;
}
