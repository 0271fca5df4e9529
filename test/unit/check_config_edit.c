/*
 * check_config_edit.c: lib/config_edit, changing settings in a
 * keyward.conf in place.  Each value case sets node.url and loads the
 * result: it must read back exactly (quotes added only where the syntax
 * needs them).  Layout cases check that a setting is replaced where it
 * stands, added to its section or in a new section, that other lines and
 * comments stay, and that every refusal leaves the file as it was.
 */
#include <check.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/config.h"
#include "lib/config_edit.h"
#include "lib/files.h"
#include "check_main.h"

/* The smallest valid file: mtls (the default) needs a client CA. */
#define BASE	"[node]\nname = a\n; keep me\n\n[tls]\nclient_ca_file = ca.pem\n"

static char	tmpdir[PATH_MAX];
static char	cfgpath[PATH_MAX + 32];
static char	err[1024];

static void
tmp_setup(void)
{
	char t[] = "/tmp/check_config_edit.XXXXXX";

	ck_assert_ptr_nonnull(mkdtemp(t));
	snprintf(tmpdir, sizeof(tmpdir), "%s", t);
	snprintf(cfgpath, sizeof(cfgpath), "%s/keyward.conf", tmpdir);
}

static void
tmp_teardown(void)
{
	(void)unlink(cfgpath);
	(void)rmdir(tmpdir);
}

static void
write_conf(const char *text)
{
	FILE *fp;

	ck_assert_ptr_nonnull(fp = fopen(cfgpath, "w"));
	ck_assert_int_eq(fputs(text, fp) >= 0, 1);
	ck_assert_int_eq(fclose(fp), 0);
}

/* The file's text (caller frees). */
static char *
read_conf(void)
{
	char *s = file_read(cfgpath, 1 << 16, NULL, err, sizeof(err));

	ck_assert_ptr_nonnull(s);
	return s;
}

static int
set(const char *section, const char *name, const char *value)
{
	struct config_change c = { section, name, value };

	err[0] = '\0';
	return config_edit(cfgpath, &c, 1, err, sizeof(err));
}

static const struct {
	const char	*value;		/* node.url set to this */
	int		 quoted;	/* written in double quotes */
} values[] = {
	{ "https://kw-a.example:9600", 0 },
	{ "", 0 },
	{ "x;y#z", 0 },			/* no blank before: not a comment */
	{ "a ;b", 1 },
	{ "a #b", 1 },
	{ ";at the start", 1 },
	{ " leading", 1 },
	{ "trailing\t", 1 },
	{ "a \"b\" c", 0 },		/* quotes inside need no quoting */
	{ "host='x' dbname='key ward' password='a b'", 0 },
};

START_TEST(test_values)
{
	struct kw_config *cfg;
	char *text, want[256];

	write_conf(BASE);
	ck_assert_msg(set("node", "url", values[_i].value) == 0, "%s", err);
	ck_assert_ptr_nonnull(cfg = config_load(cfgpath, err, sizeof(err)));
	ck_assert_str_eq(cfg->url, values[_i].value);
	config_free(cfg);
	text = read_conf();
	snprintf(want, sizeof(want), values[_i].quoted ? "url = \"%s\"\n" :
	    "url = %s\n", values[_i].value);
	ck_assert_msg(strstr(text, want) != NULL, "%s", text);
	free(text);
}
END_TEST

static const struct {
	const char	*section, *name, *value;
	const char	*why;		/* in the message */
} refused[] = {
	{ "node", "nope", "x", "no setting node.nope" },
	{ "nope", "name", "x", "no setting nope.name" },
	{ "node", "url", "\"quoted\"", "may not hold '\"'" },
	{ "node", "url", "a\nb", "line break" },
	{ "limits", "max_connections", "many", "would not load" },
	{ "node", "name", "", "would not load" },
};

START_TEST(test_refused)
{
	char *before, *after;

	write_conf(BASE);
	before = read_conf();
	ck_assert_int_eq(set(refused[_i].section, refused[_i].name,
	    refused[_i].value), -1);
	ck_assert_msg(strstr(err, refused[_i].why) != NULL, "%s", err);
	after = read_conf();
	ck_assert_str_eq(after, before);
	ck_assert_int_eq(access(cfgpath, F_OK), 0);
	free(before);
	free(after);
}
END_TEST

START_TEST(test_layout)
{
	char *t;

	/* replaced where it stands, "name: value" too; the rest kept */
	write_conf("; head\n[node]\nname: old\n; keep me\n[tls]\n"
	    "client_ca_file = ca.pem\n");
	ck_assert_int_eq(set("node", "name", "new"), 0);
	t = read_conf();
	ck_assert_str_eq(t, "; head\n[node]\nname = new\n; keep me\n[tls]\n"
	    "client_ca_file = ca.pem\n");
	free(t);
	/* added at the end of its section, before the blank line */
	write_conf(BASE);
	ck_assert_int_eq(set("node", "listen", "0.0.0.0:1"), 0);
	t = read_conf();
	ck_assert_str_eq(t, "[node]\nname = a\n; keep me\nlisten = 0.0.0.0:1\n"
	    "\n[tls]\nclient_ca_file = ca.pem\n");
	free(t);
	/* a new section at the end; a last line without '\n' ended */
	write_conf("[tls]\nclient_ca_file = ca.pem");
	ck_assert_int_eq(set("db", "peer", "host=b"), 0);
	t = read_conf();
	ck_assert_str_eq(t, "[tls]\nclient_ca_file = ca.pem\n\n[db]\n"
	    "peer = host=b\n");
	free(t);
	/* the same name in another section is not touched */
	write_conf("[tls]\nclient_ca_file = ca.pem\n[audit]\nfile = a.log\n"
	    "[acl]\nfile = acls.conf\n");
	ck_assert_int_eq(set("acl", "file", "other.conf"), 0);
	t = read_conf();
	ck_assert_str_eq(t, "[tls]\nclient_ca_file = ca.pem\n[audit]\n"
	    "file = a.log\n[acl]\nfile = other.conf\n");
	free(t);
}
END_TEST

START_TEST(test_several)
{
	struct config_change c[] = {
		{ "node", "listen", "10.0.0.1:9600" },
		{ "db", "local", "host=10.0.0.1 port=5 dbname='key ward'" },
		{ "node", "listen", "10.0.0.2:9600" },	/* the last wins */
	};
	struct kw_config *cfg;

	write_conf(BASE);
	ck_assert_msg(config_edit(cfgpath, c, 3, err, sizeof(err)) == 0,
	    "%s", err);
	ck_assert_ptr_nonnull(cfg = config_load(cfgpath, err, sizeof(err)));
	ck_assert_str_eq(cfg->listen, "10.0.0.2:9600");
	ck_assert_str_eq(cfg->db_local, c[1].value);
	config_free(cfg);
}
END_TEST

static Suite *
config_edit_suite(void)
{
	Suite	*s = suite_create("config_edit");
	TCase	*tc = tcase_create("edit");

	tcase_add_checked_fixture(tc, tmp_setup, tmp_teardown);
	tcase_add_loop_test(tc, test_values, 0,
	    sizeof(values) / sizeof(values[0]));
	tcase_add_loop_test(tc, test_refused, 0,
	    sizeof(refused) / sizeof(refused[0]));
	tcase_add_test(tc, test_layout);
	tcase_add_test(tc, test_several);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return check_run(config_edit_suite(), CK_FORK);
}
