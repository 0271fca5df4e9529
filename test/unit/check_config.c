/*
 * check_config.c: lib/config, keyward.conf loading.  Each case writes a
 * config into a fresh temporary directory and loads it: defaults, every
 * integer bound (at, below and above), every kind of error with its
 * FILE:LINE, value syntax (inline comments, quotes, conninfo '='), path
 * resolution, the listen address parser, the dump, and that
 * packaging/keyward.conf.example is what the table generates.
 */
#include <sys/stat.h>

#include <check.h>
#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/config.h"
#include "check_main.h"

#define EXAMPLE		"packaging/keyward.conf.example"
#define EXAMPLE_NEW	"/tmp/keyward.conf.example.new"
/* The smallest valid file: mtls (the default) needs a client CA. */
#define BASE		"[tls]\nclient_ca_file = ca.pem\n"

static char	tmpdir[PATH_MAX];	/* realpath'd */
static char	cfgpath[PATH_MAX + 32];
static char	err[1024];

static void
tmp_setup(void)
{
	char t[] = "/tmp/check_config.XXXXXX";

	ck_assert_ptr_nonnull(mkdtemp(t));
	ck_assert_ptr_nonnull(realpath(t, tmpdir));
	snprintf(cfgpath, sizeof(cfgpath), "%s/keyward.conf", tmpdir);
}

static void
tmp_teardown(void)
{
	(void)unlink(cfgpath);
	(void)rmdir(tmpdir);
}

/* Write text as keyward.conf and load it; err holds any message. */
static struct kw_config *
load(const char *text)
{
	FILE *fp;

	ck_assert_ptr_nonnull(fp = fopen(cfgpath, "w"));
	ck_assert_int_eq(fputs(text, fp) >= 0, 1);
	ck_assert_int_eq(fclose(fp), 0);
	err[0] = '\0';
	return config_load(cfgpath, err, sizeof(err));
}

static struct kw_config *
load_ok(const char *text)
{
	struct kw_config *cfg;

	cfg = load(text);
	ck_assert_msg(cfg != NULL, "refused: %s\n--- config:\n%s", err, text);
	return cfg;
}

static char *
in_dir(const char *rel)
{
	static char p[PATH_MAX * 2];

	snprintf(p, sizeof(p), "%s/%s", tmpdir, rel);
	return p;
}

START_TEST(test_defaults)
{
	struct kw_config *cfg = load_ok(BASE);

	ck_assert_str_eq(cfg->node_name, "keyward");
	ck_assert_str_eq(cfg->listen, "127.0.0.1:9600");
	ck_assert_str_eq(cfg->peer_url, "");
	ck_assert_str_eq(cfg->tls_cert_file, in_dir("tls/server.pem"));
	ck_assert_str_eq(cfg->tls_key_file, in_dir("tls/server.key"));
	ck_assert_str_eq(cfg->tls_client_ca_file, in_dir("ca.pem"));
	ck_assert_str_eq(cfg->tls_priorities,
	    "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2");
	ck_assert_int_eq(cfg->auth_mode, AUTH_MTLS);
	ck_assert_str_eq(cfg->db_local,
	    "host=127.0.0.1 port=11381 dbname=keyward user=keyward");
	ck_assert_str_eq(cfg->db_peer, "");
	ck_assert_str_eq(cfg->db_password_file, "");
	ck_assert_int_eq(cfg->db_pool_size, 8);
	ck_assert_int_eq(cfg->db_connect_timeout_s, 2);
	ck_assert_int_eq(cfg->commit_deadline_ms, 2000);
	ck_assert_int_eq(cfg->monitor_interval_ms, 250);
	ck_assert_str_eq(cfg->master_key_file, in_dir("master.key"));
	ck_assert_int_eq(cfg->cache_ttl_ms, 10000);
	ck_assert_int_eq(cfg->max_body_bytes, 4194304);
	ck_assert_int_eq(cfg->max_num_keys, 1000);
	ck_assert_int_eq(cfg->max_batch, 10000);
	ck_assert_int_eq(cfg->request_timeout_s, 30);
	ck_assert_int_eq(cfg->max_connections, 512);
	ck_assert_str_eq(cfg->log_level, "info");
	ck_assert_str_eq(cfg->path, cfgpath);
	ck_assert_str_eq(cfg->dir, tmpdir);
	config_free(cfg);
	config_free(NULL);
}
END_TEST

/* Every integer setting and its bounds, as specified. */
static const struct {
	const char	*section;
	const char	*name;
	long		 min, max;
	size_t		 off;
} ints[] = {
#define I(s, n, lo, hi, f) { s, n, lo, hi, offsetof(struct kw_config, f) }
	I("db", "pool_size", 1, 256, db_pool_size),
	I("db", "connect_timeout_s", 1, 60, db_connect_timeout_s),
	I("db", "commit_deadline_ms", 100, 60000, commit_deadline_ms),
	I("db", "monitor_interval_ms", 50, 10000, monitor_interval_ms),
	I("keys", "cache_ttl_ms", 0, 3600000, cache_ttl_ms),
	I("limits", "max_body_bytes", 1024, 67108864, max_body_bytes),
	I("limits", "max_num_keys", 1, 100000, max_num_keys),
	I("limits", "max_batch", 1, 100000, max_batch),
	I("limits", "request_timeout_s", 1, 3600, request_timeout_s),
	I("limits", "max_connections", 1, 65535, max_connections),
#undef I
};

START_TEST(test_int_bounds)
{
	struct kw_config	*cfg;
	char			 text[256], want[PATH_MAX * 2];
	long			 v[4];
	int			 k;

	v[0] = ints[_i].min;
	v[1] = ints[_i].max;
	v[2] = ints[_i].min - 1;
	v[3] = ints[_i].max + 1;
	for (k = 0; k < 4; k++) {
		snprintf(text, sizeof(text), BASE "[%s]\n%s = %ld\n",
		    ints[_i].section, ints[_i].name, v[k]);
		cfg = load(text);
		if (k < 2) {
			ck_assert_msg(cfg != NULL, "%s.%s = %ld: %s",
			    ints[_i].section, ints[_i].name, v[k], err);
			ck_assert_int_eq(*(int *)((char *)cfg + ints[_i].off),
			    v[k]);
			config_free(cfg);
			continue;
		}
		ck_assert_msg(cfg == NULL, "%s.%s = %ld accepted",
		    ints[_i].section, ints[_i].name, v[k]);
		snprintf(want, sizeof(want), "%s:4: %s.%s = %ld is out of range "
		    "(%ld to %ld)", cfgpath, ints[_i].section, ints[_i].name,
		    v[k], ints[_i].min, ints[_i].max);
		ck_assert_str_eq(err, want);
	}
}
END_TEST

/* Refused files: the message (after "FILE:") must contain want. */
static const struct {
	const char	*text;
	const char	*want;
} bad[] = {
	{ BASE "[nosuch]\nx = 1\n", ":4: unknown section [nosuch]" },
	{ BASE "[db]\nnope = 1\n", ":4: unknown setting \"nope\" in [db]" },
	{ BASE "[DB]\npool_size = 1\n", ":4: unknown section [DB]" },
	{ BASE "[db]\nPool_Size = 1\n", ":4: unknown setting \"Pool_Size\"" },
	{ "name = x\n", ":1: setting \"name\" comes before any [section]" },
	{ BASE "[db]\npool_size = abc\n",
	    ":4: db.pool_size: \"abc\" is not an integer" },
	{ BASE "[db]\npool_size = 8x\n", "\"8x\" is not an integer" },
	{ BASE "[db]\npool_size = 0x10\n", "\"0x10\" is not an integer" },
	{ BASE "[db]\npool_size = +8\n", "\"+8\" is not an integer" },
	{ BASE "[db]\npool_size = 1.5\n", "\"1.5\" is not an integer" },
	{ BASE "[db]\npool_size = 8 8\n", "\"8 8\" is not an integer" },
	{ BASE "[db]\npool_size =\n", "\"\" is not an integer" },
	{ BASE "[db]\npool_size = 99999999999999999999999\n",
	    "is out of range (1 to 256)" },
	{ BASE "[db]\npool_size = -1\n", "is out of range (1 to 256)" },
	{ BASE "[auth]\nmode = kerberos\n",
	    ":4: auth.mode: \"kerberos\" is not one of mtls, pseudo" },
	{ BASE "[auth]\nmode = MTLS\n", "\"MTLS\" is not one of mtls, pseudo" },
	{ BASE "[auth]\nmode =\n", "\"\" is not one of" },
	{ BASE "[log]\nlevel = verbose\n",
	    ":4: log.level: \"verbose\" is not one of debug, info, warn, "
	    "error" },
	{ BASE "[db]\npool_size = 2\n\npool_size = 3\n",
	    ":6: db.pool_size is already set on line 4" },
	{ BASE "[db]\npool_size = 2\n[db]\npool_size = 3\n",
	    ":6: db.pool_size is already set on line 4" },
	{ BASE "[tls]\nclient_ca_file = other.pem\n",
	    ":4: tls.client_ca_file is already set on line 2" },
	{ BASE "[db\npool_size = 2\n", ":3: syntax error" },
	{ BASE "[db]\njustaword\n", ":4: syntax error" },
	{ BASE "[node]\nname =\n", ":4: node.name may not be empty" },
	{ BASE "[node]\nname = \"\"\n", ":4: node.name may not be empty" },
	{ BASE "[keys]\nmaster_key_file = ; later\n",
	    "keys.master_key_file may not be empty" },
	{ BASE "[node]\nname = \"abc\n", ":4: node.name: missing closing" },
	{ BASE "[node]\nname = \"a\" b\n",
	    ":4: node.name: unexpected text after the closing" },
	{ "[node]\nname = a\n",
	    "auth.mode is mtls but tls.client_ca_file is not set" },
	{ "[tls]\nclient_ca_file =\n",
	    "auth.mode is mtls but tls.client_ca_file is not set" },
	{ BASE "[node]\nlisten = 127.0.0.1\n",
	    ":4: node.listen = 127.0.0.1: expected HOST:PORT or [IPV6]:PORT" },
	{ BASE "[node]\nlisten = 127.0.0.1:0\n", ":4: node.listen" },
	{ BASE "[node]\nlisten = 127.0.0.1:65536\n", ":4: node.listen" },
	{ BASE "[node]\nlisten = ::1:9600\n", ":4: node.listen" },
	{ BASE "[node]\nlisten = :9600\n", ":4: node.listen" },
};

START_TEST(test_bad)
{
	struct kw_config	*cfg;
	char			 want[PATH_MAX + 256];

	cfg = load(bad[_i].text);
	ck_assert_msg(cfg == NULL, "accepted:\n%s", bad[_i].text);
	snprintf(want, sizeof(want), "%s:", cfgpath);
	ck_assert_msg(strncmp(err, want, strlen(want)) == 0, "no file in: %s",
	    err);
	ck_assert_msg(strstr(err, bad[_i].want) != NULL,
	    "want \"%s\" in: %s", bad[_i].want, err);
}
END_TEST

START_TEST(test_long_line_and_nul)
{
	char	*text;
	size_t	 n = 5000;

	ck_assert_ptr_nonnull(text = malloc(n + 64));
	snprintf(text, n + 64, BASE "[node]\nname = ");
	memset(text + strlen(text), 'x', n);
	text[strlen(BASE "[node]\nname = ") + n] = '\0';
	strcat(text, "\n");
	ck_assert_ptr_null(load(text));
	ck_assert_msg(strstr(err, ":4: line longer than") != NULL, "%s", err);
	free(text);

	/* Long but within the limit: fine, and not split. */
	ck_assert_ptr_nonnull(text = malloc(4000));
	snprintf(text, 4000, BASE "[node]\nname = ");
	memset(text + strlen(text), 'y', 3000);
	text[strlen(BASE "[node]\nname = ") + 3000] = '\0';
	strcat(text, "\n[db]\npool_size = 3\n");
	{
		struct kw_config *cfg = load_ok(text);

		ck_assert_uint_eq(strlen(cfg->node_name), 3000);
		ck_assert_int_eq(cfg->db_pool_size, 3);
		config_free(cfg);
	}
	free(text);
}
END_TEST

START_TEST(test_nul_byte)
{
	FILE *fp;

	ck_assert_ptr_nonnull(fp = fopen(cfgpath, "w"));
	fputs(BASE "[node]\nname = a", fp);
	fputc('\0', fp);
	fputs("b\n", fp);
	fclose(fp);
	ck_assert_ptr_null(config_load(cfgpath, err, sizeof(err)));
	ck_assert_msg(strstr(err, ":4: line contains a NUL byte") != NULL,
	    "%s", err);
}
END_TEST

/* Value syntax: what the node name becomes for each line. */
static const struct {
	const char	*line;
	const char	*value;
} values[] = {
	{ "name = kw-a", "kw-a" },
	{ "name=kw-a", "kw-a" },
	{ "name: kw-a", "kw-a" },
	{ "  name   =   kw-a   ", "kw-a" },
	{ "\tname\t=\tkw-a\t", "kw-a" },
	{ "name = kw-a ; the name", "kw-a" },
	{ "name = kw-a\t; the name", "kw-a" },
	{ "name = kw-a # the name", "kw-a" },
	{ "name = kw;a", "kw;a" },
	{ "name = kw#a", "kw#a" },
	{ "name = a b  c", "a b  c" },
	{ "name = \"kw-a\"", "kw-a" },
	{ "name = \"a ; b # c\" ; comment", "a ; b # c" },
	{ "name = \"  padded \"", "  padded " },
	{ "name = \"x=y:z\"", "x=y:z" },
	{ "name = a=b", "a=b" },
	{ "name = a:b", "a:b" },
	{ "name = kw-a\r", "kw-a" },
	{ "name = \xc3\xa9t\xc3\xa9", "\xc3\xa9t\xc3\xa9" },
};

START_TEST(test_values)
{
	struct kw_config	*cfg;
	char			 text[256];

	snprintf(text, sizeof(text), BASE "[node]\n%s\n", values[_i].line);
	cfg = load_ok(text);
	ck_assert_str_eq(cfg->node_name, values[_i].value);
	config_free(cfg);
}
END_TEST

START_TEST(test_conninfo_and_comments)
{
	struct kw_config *cfg;

	cfg = load_ok(
	    "; a comment line\n"
	    "# another\n"
	    "[db]   ; section comment\n"
	    "local = host=db.example port=5432 dbname=kw user=kw "
	    "sslmode=verify-full ; the local one\n"
	    "peer=host=a,b port=1,2 target_session_attrs=any\n"
	    "[auth]\n"
	    "mode = pseudo # tests only\n"
	    "[log]\r\n"
	    "level = debug\r\n");
	ck_assert_str_eq(cfg->db_local, "host=db.example port=5432 dbname=kw "
	    "user=kw sslmode=verify-full");
	ck_assert_str_eq(cfg->db_peer,
	    "host=a,b port=1,2 target_session_attrs=any");
	ck_assert_int_eq(cfg->auth_mode, AUTH_PSEUDO);
	ck_assert_str_eq(cfg->log_level, "debug");
	/* pseudo needs no client CA */
	ck_assert_str_eq(cfg->tls_client_ca_file, "");
	config_free(cfg);
}
END_TEST

START_TEST(test_paths)
{
	struct kw_config	*cfg;
	char			 want[PATH_MAX * 2], cwd[PATH_MAX];

	cfg = load_ok("[tls]\n"
	    "client_ca_file = sub/ca.pem\n"
	    "cert_file = /etc/keyward/tls/server.pem\n"
	    "key_file = ../elsewhere/server.key\n"
	    "[keys]\n"
	    "master_key_file = \"secret dir/master.key\"\n"
	    "[db]\n"
	    "password_file =\n");
	ck_assert_str_eq(cfg->tls_client_ca_file, in_dir("sub/ca.pem"));
	ck_assert_str_eq(cfg->tls_cert_file, "/etc/keyward/tls/server.pem");
	ck_assert_str_eq(cfg->tls_key_file, in_dir("../elsewhere/server.key"));
	ck_assert_str_eq(cfg->master_key_file,
	    in_dir("secret dir/master.key"));
	ck_assert_str_eq(cfg->db_password_file, "");
	config_free(cfg);

	/* Loaded by a relative name: dir and paths still absolute. */
	ck_assert_ptr_nonnull(getcwd(cwd, sizeof(cwd)));
	ck_assert_int_eq(chdir(tmpdir), 0);
	ck_assert_ptr_nonnull(cfg = config_load("keyward.conf", err,
	    sizeof(err)));
	ck_assert_str_eq(cfg->dir, tmpdir);
	ck_assert_str_eq(cfg->path, cfgpath);
	snprintf(want, sizeof(want), "%s/sub/ca.pem", tmpdir);
	ck_assert_str_eq(cfg->tls_client_ca_file, want);
	config_free(cfg);
	ck_assert_int_eq(chdir(cwd), 0);
}
END_TEST

START_TEST(test_missing_file)
{
	char	path[PATH_MAX * 2];

	snprintf(path, sizeof(path), "%s/nope.conf", tmpdir);
	ck_assert_ptr_null(config_load(path, err, sizeof(err)));
	ck_assert_msg(strstr(err, "could not open config file: No such file")
	    != NULL, "%s", err);
	ck_assert_msg(strncmp(err, path, strlen(path)) == 0, "%s", err);
}
END_TEST

static const struct {
	const char	*listen;
	const char	*host;		/* NULL: refused */
	int		 port;
} listens[] = {
	{ "127.0.0.1:9600", "127.0.0.1", 9600 },
	{ "0.0.0.0:1", "0.0.0.0", 1 },
	{ "localhost:65535", "localhost", 65535 },
	{ "kw-a.example:443", "kw-a.example", 443 },
	{ "[::1]:9600", "::1", 9600 },
	{ "[::]:80", "::", 80 },
	{ "[fe80::1%eth0]:9600", "fe80::1%eth0", 9600 },
	{ "127.0.0.1", NULL, 0 },
	{ "127.0.0.1:", NULL, 0 },
	{ ":9600", NULL, 0 },
	{ "127.0.0.1:0", NULL, 0 },
	{ "127.0.0.1:65536", NULL, 0 },
	{ "127.0.0.1:100000", NULL, 0 },
	{ "127.0.0.1:-1", NULL, 0 },
	{ "127.0.0.1:+80", NULL, 0 },
	{ "127.0.0.1:80x", NULL, 0 },
	{ "127.0.0.1: 80", NULL, 0 },
	{ "::1:9600", NULL, 0 },
	{ "[::1]9600", NULL, 0 },
	{ "[::1]:", NULL, 0 },
	{ "[]:80", NULL, 0 },
	{ "[::1:80", NULL, 0 },
	{ "", NULL, 0 },
};

START_TEST(test_listen_addr)
{
	struct kw_config	cfg;
	char			host[64];
	int			port = -1, rv;

	memset(&cfg, 0, sizeof(cfg));
	cfg.listen = (char *)(uintptr_t)listens[_i].listen;
	rv = config_listen_addr(&cfg, host, sizeof(host), &port);
	if (listens[_i].host == NULL) {
		ck_assert_msg(rv == -1, "accepted \"%s\"", listens[_i].listen);
		return;
	}
	ck_assert_msg(rv == 0, "refused \"%s\"", listens[_i].listen);
	ck_assert_str_eq(host, listens[_i].host);
	ck_assert_int_eq(port, listens[_i].port);
	/* Too small a host buffer is an error, not a truncation. */
	ck_assert_int_eq(config_listen_addr(&cfg, host,
	    strlen(listens[_i].host), &port), -1);
}
END_TEST

static char *
capture(void (*fn)(FILE *, const struct kw_config *),
    const struct kw_config *cfg, void (*fn2)(FILE *))
{
	char	*buf = NULL;
	size_t	 len = 0;
	FILE	*fp;

	ck_assert_ptr_nonnull(fp = open_memstream(&buf, &len));
	if (fn != NULL)
		fn(fp, cfg);
	else
		fn2(fp);
	fclose(fp);
	return buf;
}

static const char *const all_names[] = {
	"node.name", "node.listen", "node.peer_url", "tls.cert_file",
	"tls.key_file", "tls.client_ca_file", "tls.priorities", "auth.mode",
	"db.local", "db.peer", "db.password_file", "db.pool_size",
	"db.connect_timeout_s", "db.commit_deadline_ms",
	"db.monitor_interval_ms", "keys.master_key_file", "keys.cache_ttl_ms",
	"limits.max_body_bytes", "limits.max_num_keys", "limits.max_batch",
	"limits.request_timeout_s", "limits.max_connections", "log.level",
};

START_TEST(test_dump_and_help)
{
	struct kw_config	*cfg;
	char			*dump, *help, want[PATH_MAX * 2];
	size_t			 i;

	cfg = load_ok(BASE "[db]\n"
	    "local = host=a password=hunter2 user=kw\n"
	    "peer = postgresql://kw:hunter3@b:5432/kw?password=hunter4\n"
	    "pool_size = 17\n");
	dump = capture(config_dump, cfg, NULL);
	help = capture(NULL, NULL, config_help);
	for (i = 0; i < sizeof(all_names) / sizeof(all_names[0]); i++) {
		snprintf(want, sizeof(want), "\n%s = ", all_names[i]);
		ck_assert_msg(strstr(dump, want) != NULL ||
		    strncmp(dump, want + 1, strlen(want + 1)) == 0,
		    "%s not in dump", all_names[i]);
		snprintf(want, sizeof(want), "%s\n", all_names[i]);
		ck_assert_msg(strstr(help, want) != NULL, "%s not in help",
		    all_names[i]);
	}
	ck_assert_ptr_nonnull(strstr(dump, "\ndb.pool_size = 17\n"));
	ck_assert_ptr_nonnull(strstr(dump, "\nnode.peer_url = \"\"\n"));
	ck_assert_ptr_nonnull(strstr(dump, "\nauth.mode = mtls\n"));
	snprintf(want, sizeof(want), "\ntls.client_ca_file = %s/ca.pem\n",
	    tmpdir);
	ck_assert_ptr_nonnull(strstr(dump, want));
	ck_assert_ptr_nonnull(strstr(dump,
	    "\ndb.local = host=a password=******** user=kw\n"));
	ck_assert_ptr_null(strstr(dump, "hunter"));
	ck_assert_ptr_nonnull(strstr(help, "integer, 1 to 256; default: 8;"));
	ck_assert_ptr_nonnull(strstr(help, "one of mtls, pseudo"));
	free(dump);
	free(help);
	config_free(cfg);
}
END_TEST

START_TEST(test_restart_needed)
{
	struct kw_config	*a, *b;
	char			 names[256];

	a = load_ok(BASE);
	b = load_ok(BASE "[node]\nlisten = 127.0.0.1:9700\n"
	    "[log]\nlevel = debug\n[db]\npool_size = 9\n"
	    "commit_deadline_ms = 500\n");
	ck_assert_int_eq(config_restart_needed(a, a, names, sizeof(names)), 0);
	ck_assert_str_eq(names, "");
	ck_assert_int_eq(config_restart_needed(a, b, names, sizeof(names)), 3);
	ck_assert_str_eq(names, "node.listen, db.pool_size, db.commit_deadline_ms");
	config_free(a);
	config_free(b);
}
END_TEST

/*
 * The shipped example is the table's output, and uncommenting every
 * setting in it (plus a client CA) yields exactly the defaults.
 */
START_TEST(test_example)
{
	struct kw_config	*ex, *def;
	char			*gen, *file, *text, *p, *dump_ex, *dump_def;
	const char		*line;
	long			 n;
	FILE			*fp;

	gen = capture(NULL, NULL, config_example);
	fp = fopen(EXAMPLE, "r");
	ck_assert_msg(fp != NULL, "%s not found: run from the source tree",
	    EXAMPLE);
	fseek(fp, 0, SEEK_END);
	n = ftell(fp);
	rewind(fp);
	ck_assert_ptr_nonnull(file = calloc(1, (size_t)n + 1));
	ck_assert_int_eq(fread(file, 1, (size_t)n, fp), (size_t)n);
	fclose(fp);
	if (strcmp(gen, file) != 0) {
		/* Leave the fresh text where the message says. */
		if ((fp = fopen(EXAMPLE_NEW, "w")) != NULL) {
			fputs(gen, fp);
			fclose(fp);
		}
		ck_abort_msg("%s does not match the settings table: "
		    "cp %s %s", EXAMPLE, EXAMPLE_NEW, EXAMPLE);
	}

	ck_assert_ptr_nonnull(text = calloc(1, strlen(gen) + 64));
	for (p = strtok(gen, "\n"); p != NULL; p = strtok(NULL, "\n")) {
		line = p;
		if (line[0] == '#' && line[1] >= 'a' && line[1] <= 'z' &&
		    strstr(line, " =") != NULL)
			line++;		/* uncomment a setting */
		if (strcmp(line, "client_ca_file =") == 0)
			line = "client_ca_file = ca.pem";
		strcat(text, line);
		strcat(text, "\n");
	}
	ex = load_ok(text);
	def = load_ok(BASE);
	dump_ex = capture(config_dump, ex, NULL);
	dump_def = capture(config_dump, def, NULL);
	ck_assert_str_eq(dump_ex, dump_def);
	free(dump_ex);
	free(dump_def);
	config_free(ex);
	config_free(def);
	free(text);
	free(file);
	free(gen);
}
END_TEST

static Suite *
config_suite(void)
{
	Suite	*s = suite_create("config");
	TCase	*tc = tcase_create("load");
	TCase	*misc = tcase_create("listen");

	tcase_add_checked_fixture(tc, tmp_setup, tmp_teardown);
	tcase_add_test(tc, test_defaults);
	tcase_add_loop_test(tc, test_int_bounds, 0,
	    sizeof(ints) / sizeof(ints[0]));
	tcase_add_loop_test(tc, test_bad, 0, sizeof(bad) / sizeof(bad[0]));
	tcase_add_test(tc, test_long_line_and_nul);
	tcase_add_test(tc, test_nul_byte);
	tcase_add_loop_test(tc, test_values, 0,
	    sizeof(values) / sizeof(values[0]));
	tcase_add_test(tc, test_conninfo_and_comments);
	tcase_add_test(tc, test_paths);
	tcase_add_test(tc, test_missing_file);
	tcase_add_test(tc, test_dump_and_help);
	tcase_add_test(tc, test_restart_needed);
	tcase_add_test(tc, test_example);
	suite_add_tcase(s, tc);

	tcase_add_loop_test(misc, test_listen_addr, 0,
	    sizeof(listens) / sizeof(listens[0]));
	suite_add_tcase(s, misc);
	return s;
}

int
main(void)
{
	return check_run(config_suite(), CK_FORK);
}
