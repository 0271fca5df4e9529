/*
 * check_service.c: the key service (server/service.c) and the HTTP rows
 * (server/api.c).  The table's invariants: every key operation has a
 * name, an operation ACL, a valid key ACL, a class and an exec step, and
 * exactly the operations that change the store are writes.  svc_run's
 * order over real rules (authz.c loading an acls.conf), a real audit
 * log and a real cluster monitor whose databases are down: no identity,
 * doAs, operation ACL, key ACL, prepare, the arguments' ACLs, write
 * admission, exec, then one audit line, each refusal stopping the rest.
 */
#include <sys/stat.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "server/api.h"
#include "server/service.h"
#include "server/audit.h"
#include "server/authz.h"
#include "server/clustermon.h"
#include "db/db.h"
#include "lib/config.h"
#include "check_main.h"

#define ACLS \
	"hadoop.kms.acl.CREATE = alice,bob\n" \
	"hadoop.kms.acl.DELETE = alice,bob\n" \
	"hadoop.kms.acl.GET = alice,bob,carol\n" \
	"hadoop.kms.acl.SET_KEY_MATERIAL = alice\n" \
	"default.key.acl.MANAGEMENT = alice\n" \
	"default.key.acl.READ = alice,bob\n" \
	"hadoop.kms.proxyuser.hue.users = bob\n" \
	"hadoop.kms.proxyuser.hue.hosts = 127.0.0.1\n"

static char		 tmpdir[PATH_MAX];
static char		 auditpath[PATH_MAX + 16];
static struct svc	 svc;
static struct kw_config	 cfg;
static struct db	*db;
static char		 node_name[] = "t", peer_name[] = "u", no_peer[] = "";
/* loopback ports nothing listens on: connections are refused at once */
static char		 down_local[] = "host=127.0.0.1 port=2 connect_timeout=2";
static char		 down_peer[] = "host=127.0.0.1 port=1 connect_timeout=2";

/* What the test protocol saw, in order. */
struct targs {
	char		 trace[256];
	enum kw_err	 err;		/* the answer's */
	char		 msg[1024];
	const char	*prep_key;	/* prepare names this key */
	int		 prep_extra;	/* prepare asks for SET_KEY_MATERIAL */
	int		 prep_fail;
};

static void
t_refuse(struct svc_call *c, enum kw_err e, const char *msg)
{
	struct targs *t = c->args;

	strcat(t->trace, "refuse;");
	t->err = e;
	snprintf(t->msg, sizeof(t->msg), "%s", msg);
}

static enum kw_err
t_outcome(const struct svc_call *c, int *status)
{
	const struct targs *t = c->args;

	*status = 900 + (int)t->err;	/* any protocol number */
	return t->err;
}

static const struct svc_proto tproto = { t_refuse, t_outcome };

static int
t_prepare(struct svc_call *c)
{
	struct targs *t = c->args;

	strcat(t->trace, "prepare;");
	if (t->prep_fail) {
		t->err = KW_EINVAL;
		return -1;
	}
	if (t->prep_key != NULL)
		c->key = t->prep_key;
	if (t->prep_extra)
		c->extra_acl_op = ACL_SET_KEY_MATERIAL;
	return 0;
}

static void
t_exec(struct svc_call *c)
{
	struct targs *t = c->args;

	strcat(t->trace, "exec;");
	t->err = KW_OK;
}

static const struct svc_op t_read = { "T_READ", ACL_GET, KEYOP_READ, SVC_READ,
    0, NULL, t_exec };
static const struct svc_op t_write = { "T_WRITE", ACL_DELETE,
    KEYOP_MANAGEMENT, SVC_WRITE, 0, t_prepare, t_exec };
static const struct svc_op t_create = { "T_CREATE", ACL_CREATE,
    KEYOP_MANAGEMENT, SVC_WRITE, 0, t_prepare, t_exec };
static const struct svc_op t_none = { .name = "T_NONE" };

/* Run op as who on key (NULL: none); the last audit line in line. */
static void
run(const struct svc_op *op, const char *who, const char *doas,
    const char *key, struct targs *t, char *line, size_t linelen)
{
	struct svc_call c;
	FILE *fp;
	char buf[2048];

	memset(&c, 0, sizeof(c));
	c.identity = who;
	c.auth_why = "no client certificate";
	c.doas = doas;
	c.peer = "127.0.0.1";
	c.request_id = "00000000000000a1";
	c.key = key;
	c.proto = &tproto;
	c.args = t;
	svc_run(&svc, op, &c);
	line[0] = '\0';
	ck_assert_ptr_nonnull(fp = fopen(auditpath, "r"));
	while (fgets(buf, sizeof(buf), fp) != NULL)
		snprintf(line, linelen, "%s", buf);
	fclose(fp);
}

static void
setup(void)
{
	char path[PATH_MAX + 16], err[512];
	struct audit_opts ao;
	FILE *fp;

	snprintf(tmpdir, sizeof(tmpdir), "%s/kwsvc.XXXXXX",
	    getenv("TMPDIR") != NULL ? getenv("TMPDIR") : "/tmp");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	snprintf(path, sizeof(path), "%s/acls.conf", tmpdir);
	ck_assert_ptr_nonnull(fp = fopen(path, "w"));
	fputs(ACLS, fp);
	fclose(fp);
	chmod(path, 0600);
	memset(&svc, 0, sizeof(svc));
	svc.authz = authz_new(path, 60000, err, sizeof(err));
	ck_assert_msg(svc.authz != NULL, "%s", err);
	snprintf(auditpath, sizeof(auditpath), "%s/audit.log", tmpdir);
	memset(&ao, 0, sizeof(ao));
	ao.path = auditpath;
	ao.max_bytes = 1 << 20;
	ao.keep = 1;
	ao.node = "t";
	svc.audit = audit_open(&ao, err, sizeof(err));
	ck_assert_msg(svc.audit != NULL, "%s", err);
	memset(&cfg, 0, sizeof(cfg));
	cfg.node_name = node_name;
	cfg.peer_name = peer_name;
	cfg.db_peer = no_peer;		/* a single node: writes admitted */
	cfg.monitor_interval_ms = 60000;
	cfg.probe_timeout_ms = 2000;
	cfg.standby_stale_ms = 10000;
	svc.cfg = &cfg;
}

static void
teardown(void)
{
	char cmd[PATH_MAX + 16];

	cluster_stop(svc.cl);
	db_free(db);
	db = NULL;
	audit_close(svc.audit);
	authz_free(svc.authz);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	ck_assert_int_eq(system(cmd), 0);
}

/* A pair whose databases refuse connections: the monitor's view says
 * writes may not be admitted. */
static void
pair_down(void)
{
	cfg.db_peer = down_peer;
	db = db_new(down_local, cfg.db_peer,
	    NULL, 1, 2, 2000);
	ck_assert_ptr_nonnull(db);
	svc.cl = cluster_start(db, &cfg, NULL, NULL, NULL);
	ck_assert_ptr_nonnull(svc.cl);
}

START_TEST(test_table)
{
	int op, w;

	for (op = OP_NONE; op < OP_MAX; op++) {
		const struct svc_op *r = &api_ops[op];

		ck_assert_ptr_nonnull(r->name);
		ck_assert_str_eq(api_op_name((enum kw_op)op), r->name);
		if (op == OP_NONE || op == OP_HEALTH || op == OP_CLUSTER ||
		    op == OP_METRICS) {
			ck_assert_int_eq(r->cls, SVC_NOT_KEY_OP);
			ck_assert_ptr_null(r->exec);
			continue;
		}
		ck_assert_msg(r->cls == SVC_READ || r->cls == SVC_WRITE,
		    "%s has no class", r->name);
		ck_assert_msg(r->acl_op >= 0 && r->acl_op < ACL_NOPS,
		    "%s has no operation ACL", r->name);
		ck_assert_msg(r->key_op == SVC_NO_ACL ||
		    (r->key_op >= 0 && r->key_op < KEYOP_NKEYOPS),
		    "%s has a bad key ACL", r->name);
		ck_assert_ptr_nonnull(r->exec);
		/* the writes are exactly the operations that change the store */
		w = op == OP_CREATE || op == OP_ROLL || op == OP_DELETE;
		ck_assert_msg((r->cls == SVC_WRITE) == w, "%s: wrong class",
		    r->name);
		/* only listing names no key */
		ck_assert_msg((r->key_op == SVC_NO_ACL) == (op == OP_NAMES),
		    "%s: key ACL", r->name);
	}
	ck_assert_str_eq(api_op_name(OP_MAX), "UNKNOWN");
	ck_assert_str_eq(api_op_reencrypt.name, "REENCRYPT_EEK");
	ck_assert_int_eq(api_op_reencrypt.acl_op, ACL_GENERATE_EEK);
	ck_assert_int_eq(api_op_reencrypt.key_op, KEYOP_GENERATE_EEK);
	ck_assert_int_eq(api_op_reencrypt.cls, SVC_READ);
	ck_assert_ptr_eq(api_op_reencrypt.exec, api_ops[OP_DECRYPT].exec);
	ck_assert_int_eq(api_ops[OP_DECRYPT].acl_op, ACL_DECRYPT_EEK);
}
END_TEST

START_TEST(test_names_unique)
{
	int i, j;

	for (i = 0; i < OP_MAX; i++) {
		ck_assert_str_ne(api_ops[i].name, api_op_reencrypt.name);
		for (j = i + 1; j < OP_MAX; j++)
			ck_assert_str_ne(api_ops[i].name, api_ops[j].name);
	}
}
END_TEST

/* The order, one case per row: who does what, what the protocol saw,
 * and what the audit line holds. */
static const struct order_case {
	const struct svc_op *op;
	const char	*who;
	const char	*doas;
	const char	*key;
	const char	*prep_key;
	int		 prep_extra;
	int		 prep_fail;
	const char	*trace;
	enum kw_err	 err;
	const char	*msg;		/* the refusal's, "" for none */
	const char	*audit[4];	/* substrings of the audit line */
} order[] = {
	{ &t_read, NULL, NULL, "k1", NULL, 0, 0, "refuse;", KW_EUNAUTH,
	    "authentication required: no client certificate",
	    { "\"identity\":\"-\"", "\"result\":\"UNAUTHENTICATED\"",
	    "\"key\":\"k1\"", "\"status\":908" } },
	{ &t_none, "alice", NULL, "k1", NULL, 0, 0, "refuse;", KW_ENOROUTE,
	    "no such operation", { "\"op\":\"T_NONE\"" } },
	/* the operation ACL before anything reads the arguments */
	{ &t_write, "carol", NULL, "k1", NULL, 0, 0, "refuse;", KW_EDENIED,
	    "user 'carol' is not allowed to do DELETE",
	    { "\"result\":\"DENIED\"", "\"op\":\"T_WRITE\"" } },
	/* the key ACL of a key the request names, before the arguments */
	{ &t_write, "bob", NULL, "k1", NULL, 0, 0, "refuse;", KW_EDENIED,
	    "user 'bob' is not allowed MANAGEMENT on key 'k1'",
	    { "\"result\":\"DENIED\"" } },
	{ &t_read, "carol", NULL, "k1", NULL, 0, 0, "refuse;", KW_EDENIED,
	    "user 'carol' is not allowed READ on key 'k1'", { "\"k1\"" } },
	{ &t_read, "bob", NULL, "k1", NULL, 0, 0, "exec;", KW_OK, "",
	    { "\"result\":\"OK\"", "\"identity\":\"bob\"" } },
	/* arguments that do not parse: no ACL on what they would name */
	{ &t_create, "bob", NULL, NULL, "k2", 1, 1, "prepare;", KW_EINVAL, "",
	    { "\"result\":\"ERROR\"", "\"op\":\"T_CREATE\"" } },
	/* the ACL the arguments add, then the key they name */
	{ &t_create, "bob", NULL, NULL, "k2", 1, 0, "prepare;refuse;",
	    KW_EDENIED, "user 'bob' is not allowed to do SET_KEY_MATERIAL",
	    { "\"key\":\"k2\"" } },
	{ &t_create, "bob", NULL, NULL, "k2", 0, 0, "prepare;refuse;",
	    KW_EDENIED, "user 'bob' is not allowed MANAGEMENT on key 'k2'",
	    { "\"key\":\"k2\"", "\"result\":\"DENIED\"" } },
	/* a row whose key nobody names is denied, never let through */
	{ &t_create, "alice", NULL, NULL, NULL, 0, 0, "prepare;refuse;",
	    KW_EDENIED, "user 'alice' is not allowed MANAGEMENT on an "
	    "unnamed key", { "\"result\":\"DENIED\"" } },
	{ &t_create, "alice", NULL, NULL, "k2", 1, 0, "prepare;exec;", KW_OK,
	    "", { "\"key\":\"k2\"", "\"result\":\"OK\"" } },
	/* doAs: refused before any ACL; allowed, the ACLs are the user's */
	{ &t_read, "alice", "bob", "k1", NULL, 0, 0, "refuse;", KW_EDENIED,
	    "user 'alice' is not allowed to act as 'bob' from 127.0.0.1",
	    { "\"identity\":\"alice\"" } },
	{ &t_write, "hue", "bob", "k1", NULL, 0, 0, "refuse;", KW_EDENIED,
	    "user 'bob' is not allowed MANAGEMENT on key 'k1'",
	    { "\"identity\":\"bob\"", "\"real_user\":\"hue\"" } },
	{ &t_read, "hue", "bob", "k1", NULL, 0, 0, "exec;", KW_OK, "",
	    { "\"identity\":\"bob\"", "\"real_user\":\"hue\"" } },
	/* a single node admits writes */
	{ &t_write, "alice", NULL, "k1", NULL, 0, 0, "prepare;exec;", KW_OK,
	    "", { "\"op\":\"T_WRITE\"", "\"result\":\"OK\"" } },
};

START_TEST(test_order)
{
	const struct order_case *oc = &order[_i];
	struct targs t;
	char line[2048];
	size_t i;

	memset(&t, 0, sizeof(t));
	t.prep_key = oc->prep_key;
	t.prep_extra = oc->prep_extra;
	t.prep_fail = oc->prep_fail;
	run(oc->op, oc->who, oc->doas, oc->key, &t, line, sizeof(line));
	ck_assert_str_eq(t.trace, oc->trace);
	ck_assert_int_eq(t.err, oc->err);
	ck_assert_str_eq(t.msg, oc->msg);
	ck_assert_msg(strstr(line, oc->op->name) != NULL, "audit: %s", line);
	for (i = 0; i < 4 && oc->audit[i] != NULL; i++)
		ck_assert_msg(strstr(line, oc->audit[i]) != NULL,
		    "audit line lacks %s: %s", oc->audit[i], line);
}
END_TEST

/* Writes wait for the pair; reads do not. */
START_TEST(test_admission)
{
	struct targs t;
	char line[2048];

	pair_down();
	memset(&t, 0, sizeof(t));
	run(&t_write, "alice", NULL, "k1", &t, line, sizeof(line));
	/* admission after every ACL and the arguments, before exec */
	ck_assert_str_eq(t.trace, "prepare;refuse;");
	ck_assert_int_eq(t.err, KW_EUNAVAIL);
	ck_assert_msg(strncmp(t.msg, "writes refused by node t: ", 26) == 0,
	    "%s", t.msg);
	ck_assert_msg(strstr(line, "\"result\":\"ERROR\"") != NULL, "%s", line);
	/* a denied write is denied, not refused for the pair */
	memset(&t, 0, sizeof(t));
	run(&t_write, "bob", NULL, "k1", &t, line, sizeof(line));
	ck_assert_int_eq(t.err, KW_EDENIED);
	memset(&t, 0, sizeof(t));
	run(&t_read, "alice", NULL, "k1", &t, line, sizeof(line));
	ck_assert_str_eq(t.trace, "exec;");
	ck_assert_int_eq(t.err, KW_OK);
}
END_TEST

static Suite *
service_suite(void)
{
	Suite *s = suite_create("service");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_table);
	tcase_add_test(tc, test_names_unique);
	tcase_add_loop_test(tc, test_order, 0, sizeof(order) / sizeof(order[0]));
	tcase_add_test(tc, test_admission);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return check_run(service_suite(), CK_FORK_GETENV);
}
