/*
 * cmd_config_set.c: `keyward-admin config set`: change settings in a
 * keyward.conf in place (lib/config_edit.c), and move [db] local to
 * another host or port by editing its connection string with libpq's own
 * parser, so quoted values (password='a b', dbname='key ward') survive.
 * keyward-restore runs it to fit a restored config to its new host.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "admin.h"
#include "../lib/config_edit.h"
#include "../lib/crypto.h"
#include "../lib/log.h"

#define SET_MAX_CHANGES	24

/* Append s to out (len bytes) as a conninfo value, quoted when needed. */
static int
put_value(char *out, size_t len, size_t *used, const char *s)
{
	int quote = *s == '\0' || strpbrk(s, " \t\n\r\f\v'\\") != NULL;

	if (quote && *used + 1 < len)
		out[(*used)++] = '\'';
	for (; *s != '\0'; s++) {
		if (quote && (*s == '\'' || *s == '\\') && *used + 1 < len)
			out[(*used)++] = '\\';
		if (*used + 1 < len)
			out[(*used)++] = *s;
	}
	if (quote && *used + 1 < len)
		out[(*used)++] = '\'';
	out[*used] = '\0';
	return *used + 1 < len ? 0 : -1;
}

/*
 * ci with host (and hostaddr, when it has one) set to host and port to
 * port (either may be NULL: unchanged), into out.  0, or -1 with a
 * message that never quotes ci (it may hold a password).
 */
static int
conninfo_move(const char *ci, const char *host, const char *port, char *out,
    size_t len)
{
	PQconninfoOption *opts, *o;
	char *msg = NULL;
	const char *val;
	size_t used = 0;
	int rc = 0;

	if ((opts = PQconninfoParse(ci, &msg)) == NULL) {
		log_errx("db.local is not a connection "
		    "string libpq reads: %s", msg != NULL ? msg : "out of "
		    "memory");
		PQfreemem(msg);
		return -1;
	}
	out[0] = '\0';
	for (o = opts; o->keyword != NULL && rc == 0; o++) {
		val = o->val;
		if (host != NULL && (strcmp(o->keyword, "host") == 0 ||
		    (strcmp(o->keyword, "hostaddr") == 0 && val != NULL)))
			val = host;
		if (port != NULL && strcmp(o->keyword, "port") == 0)
			val = port;
		if (val == NULL)
			continue;
		if ((size_t)snprintf(out + used, len - used, "%s%s=",
		    used ? " " : "", o->keyword) >= len - used)
			rc = -1;
		else
			used += strlen(out + used);
		if (rc == 0)
			rc = put_value(out, len, &used, val);
	}
	PQconninfoFree(opts);
	if (rc != 0)
		log_errx("the new db.local is too long");
	return rc;
}

/* "SECTION.NAME=VALUE" into c (pointing into arg, which it changes). */
static int
parse_change(char *arg, struct config_change *c)
{
	char *eq = strchr(arg, '='), *dot = strchr(arg, '.');

	if (eq == NULL || dot == NULL || dot > eq || dot == arg ||
	    dot + 1 == eq) {
		log_errx("\"%s\" is not "
		    "SECTION.NAME=VALUE", arg);
		return -1;
	}
	*dot = '\0';
	*eq = '\0';
	c->section = arg;
	c->name = dot + 1;
	c->value = eq + 1;
	return 0;
}

int
cmd_config_set(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "db-host", required_argument, NULL, 'H' },
		{ "db-port", required_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct config_change ch[SET_MAX_CHANGES + 1];
	const char *path = ADMIN_DEFAULT_CONFIG, *host = NULL, *port = NULL,
	    *local = NULL;
	char err[1024], moved[4096], *end;
	struct kw_config *cfg = NULL;
	size_t n = 0, i;
	long v;
	int c, rc = EXIT_FAIL;

	optind = 1;
	while ((c = getopt_long(argc, argv, "c:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'c': path = optarg; break;
		case 'H': host = optarg; break;
		case 'p': port = optarg; break;
		case 'h':
			admin_usage("config set");
			return EXIT_OK;
		default:
			admin_usage("config set");
			return EXIT_USAGE;
		}
	}
	if (port != NULL) {
		errno = 0;
		v = strtol(port, &end, 10);
		if (errno != 0 || *end != '\0' || end == port || v < 1 ||
		    v > 65535) {
			log_errx("--db-port \"%s\" is not "
			    "a port", port);
			return EXIT_USAGE;
		}
	}
	if (argc - optind > SET_MAX_CHANGES) {
		log_errx("at most %d settings at once",
		    SET_MAX_CHANGES);
		return EXIT_USAGE;
	}
	for (; optind < argc; optind++, n++) {
		if (parse_change(argv[optind], &ch[n]) != 0)
			return EXIT_USAGE;
		if (strcmp(ch[n].section, "db") == 0 &&
		    strcmp(ch[n].name, "local") == 0)
			local = ch[n].value;
	}
	if (n == 0 && host == NULL && port == NULL) {
		admin_usage("config set");
		return EXIT_USAGE;
	}
	if (host != NULL || port != NULL) {
		if (local == NULL) {
			if ((cfg = config_load(path, err, sizeof(err))) == NULL) {
				log_errx("%s", err);
				return EXIT_FAIL;
			}
			local = cfg->db_local;
		}
		if (conninfo_move(local, host, port, moved, sizeof(moved)) != 0)
			goto out;
		for (i = 0; i < n && !(strcmp(ch[i].section, "db") == 0 &&
		    strcmp(ch[i].name, "local") == 0); i++)
			;
		ch[i] = (struct config_change){ "db", "local", moved };
		n += i == n;
	}
	if (config_edit(path, ch, n, err, sizeof(err)) != 0) {
		log_errx("%s: %s", path, err);
		goto out;
	}
	for (i = 0; i < n; i++)
		printf("set %s.%s\n", ch[i].section, ch[i].name);
	rc = EXIT_OK;
out:
	config_free(cfg);
	secure_wipe(moved, sizeof(moved));	/* it may hold a password */
	return rc;
}
