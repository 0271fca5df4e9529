/*
 * config.c: loading keyward.conf with the settings table.
 *
 * Owns reading a config file into a struct kw_config: defaults from the
 * table (config_table.c) for what the file leaves out, the value syntax,
 * relative path resolution, the checks that span settings, and the
 * listen address parser.  The table itself and everything printed from
 * it (config_print.c) live elsewhere; acting on settings is the
 * programs' business.
 *
 * Syntax is inih's, with these choices made here rather than left to the
 * library's build defaults:
 *   - "name = value" (or "name: value") lines under "[section]" headers;
 *     whole-line comments start with ';' or '#';
 *   - an inline comment starts at ';' or '#' at the start of the value or
 *     after white space, so "x=y;z" keeps its ';' and libpq conninfo
 *     values such as "host=a port=5" keep their '=' (inih splits a line
 *     at the first '=' or ':' only);
 *   - a value may be wrapped in double quotes, which keep leading or
 *     trailing spaces, ';' and '#'; there are no escapes;
 *   - no continuation lines, no line longer than CFG_MAX_LINE;
 *   - unknown sections and settings, repeated settings and bad values are
 *     errors, reported as "FILE:LINE: message" (the first one only).
 * Relative paths are resolved against the absolute directory of the
 * config file; the defaults are relative, so a node's files all sit
 * beside its keyward.conf unless the file says otherwise.
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ini.h>

#include "config.h"
#include "config_table.h"

#define CFG_MAX_LINE	4096	/* longest line inih is asked to hold */

/* What one config_load call carries through inih's callbacks. */
struct cfg_parse {
	struct kw_config	*cfg;
	const char		*file;		/* as the caller named it */
	FILE			*fp;
	char			*line;		/* getline's buffer */
	size_t			 linecap;
	int			 lineno;
	int			 set_on[CFG_MAX_SETTINGS];	/* line, 0 = default */
	int			 failed;
	char			*err;
	size_t			 errlen;
};

static pthread_once_t cfg_ini_once = PTHREAD_ONCE_INIT;

static void	cfg_error(struct cfg_parse *, int, const char *, ...)
		    __attribute__((format(printf, 3, 4)));

/*
 * Debian's libinih exposes its build options as globals; set them once
 * so that parsing does not depend on how the library was built.
 */
static void
cfg_ini_setup(void)
{
	ini_allow_multiline = false;
	ini_allow_inline_comments = false;	/* cfg_clean_value does it */
	ini_allow_bom = true;
	ini_allow_no_value = false;
	/*
	 * One heap buffer of CFG_MAX_LINE bytes (the buffer size is
	 * initial_alloc when realloc is off); cfg_reader returns whole
	 * lines only, and refuses longer ones instead of letting inih read
	 * the rest of a line as a line of its own.
	 */
	ini_use_stack = false;
	ini_allow_realloc = false;
	ini_initial_alloc = CFG_MAX_LINE;
	ini_max_line = CFG_MAX_LINE;
	ini_stop_on_first_error = true;
}

static void
cfg_error(struct cfg_parse *ps, int line, const char *fmt, ...)
{
	char	msg[512];
	va_list	ap;

	ps->failed = 1;
	va_start(ap, fmt);
	(void)vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (ps->err == NULL || ps->errlen == 0)
		return;
	if (line > 0)
		snprintf(ps->err, ps->errlen, "%s:%d: %s", ps->file, line, msg);
	else
		snprintf(ps->err, ps->errlen, "%s: %s", ps->file, msg);
}

/*
 * inih's line reader: one whole line per call, so the line count is
 * exact, and over-long lines or NUL bytes stop the parse with a clear
 * message instead of being split or truncated.
 */
static char *
cfg_reader(char *str, int num, void *stream)
{
	struct cfg_parse	*ps = stream;
	ssize_t			 n;

	if (ps->failed)
		return NULL;
	if ((n = getline(&ps->line, &ps->linecap, ps->fp)) == -1)
		return NULL;
	ps->lineno++;
	if (memchr(ps->line, '\0', (size_t)n) != NULL) {
		cfg_error(ps, ps->lineno, "line contains a NUL byte");
		return NULL;
	}
	if (num < 3 || n > num - 3) {
		cfg_error(ps, ps->lineno, "line longer than %d characters",
		    num - 3);
		return NULL;
	}
	memcpy(str, ps->line, (size_t)n + 1);
	return str;
}

/*
 * Strip an inline comment or a pair of double quotes from a value inih
 * has already trimmed.  Writes the result to out (at least strlen(v) + 1
 * bytes).  0, or -1 with the reason in *why.
 */
static int
cfg_clean_value(const char *v, char *out, const char **why)
{
	const char	*end, *p;
	size_t		 n;

	if (*v == '"') {
		if ((end = strchr(v + 1, '"')) == NULL) {
			*why = "missing closing '\"'";
			return -1;
		}
		for (p = end + 1; *p == ' ' || *p == '\t'; p++)
			;
		if (*p != '\0' && *p != ';' && *p != '#') {
			*why = "unexpected text after the closing '\"'";
			return -1;
		}
		n = (size_t)(end - (v + 1));
		memcpy(out, v + 1, n);
		out[n] = '\0';
		return 0;
	}
	for (p = v; *p != '\0'; p++)
		if ((*p == ';' || *p == '#') &&
		    (p == v || p[-1] == ' ' || p[-1] == '\t'))
			break;
	while (p > v && (p[-1] == ' ' || p[-1] == '\t'))
		p--;
	n = (size_t)(p - v);
	memcpy(out, v, n);
	out[n] = '\0';
	return 0;
}

/* A relative path joined to dir; NULL when memory is short. */
static char *
cfg_resolve(const char *dir, const char *v)
{
	char	*s;
	size_t	 n;

	if (*v == '\0' || *v == '/')
		return strdup(v);
	n = strlen(dir) + strlen(v) + 2;
	if ((s = malloc(n)) == NULL)
		return NULL;
	snprintf(s, n, "%s%s%s", dir, strcmp(dir, "/") == 0 ? "" : "/", v);
	return s;
}

/*
 * Store value v (already cleaned) into the setting; line is for
 * messages (0 for defaults).  0 or -1 with the error recorded.
 */
static int
cfg_set(struct cfg_parse *ps, const struct cfg_setting *st, const char *v,
    int line)
{
	void		*field = cfg_field(ps->cfg, st);
	char		*s, *endp;
	long		 l;
	int		 i;

	if ((st->flags & CFG_REQUIRED) && *v == '\0') {
		cfg_error(ps, line, "%s.%s may not be empty", st->section,
		    st->name);
		return -1;
	}
	switch (st->type) {
	case CFG_INT:
		errno = 0;
		l = strtol(v, &endp, 10);
		if (*v == '\0' || endp == v || *endp != '\0' ||
		    !(*v == '-' || (*v >= '0' && *v <= '9'))) {
			cfg_error(ps, line, "%s.%s: \"%s\" is not an integer",
			    st->section, st->name, v);
			return -1;
		}
		if (errno == ERANGE || l < st->min || l > st->max) {
			cfg_error(ps, line, "%s.%s = %s is out of range (%d to "
			    "%d)", st->section, st->name, v, st->min, st->max);
			return -1;
		}
		*(int *)field = (int)l;
		return 0;
	case CFG_ENUM:
	case CFG_WORD:
		for (i = 0; st->choices[i] != NULL; i++)
			if (strcmp(v, st->choices[i]) == 0)
				break;
		if (st->choices[i] == NULL) {
			char list[128] = "";

			for (i = 0; st->choices[i] != NULL; i++) {
				if (i > 0)
					strncat(list, ", ", sizeof(list) -
					    strlen(list) - 1);
				strncat(list, st->choices[i], sizeof(list) -
				    strlen(list) - 1);
			}
			cfg_error(ps, line, "%s.%s: \"%s\" is not one of %s",
			    st->section, st->name, v, list);
			return -1;
		}
		if (st->type == CFG_ENUM) {
			*(int *)field = i;
			return 0;
		}
		s = strdup(v);
		break;
	case CFG_PATH:
		s = cfg_resolve(ps->cfg->dir, v);
		break;
	case CFG_STRING:
	case CFG_CONNINFO:
	default:
		s = strdup(v);
		break;
	}
	if (s == NULL) {
		cfg_error(ps, line, "out of memory");
		return -1;
	}
	free(*(char **)field);
	*(char **)field = s;
	return 0;
}

/* inih's callback: one "name = value" line. */
static int
cfg_handler(void *user, const char *section, const char *name,
    const char *value)
{
	struct cfg_parse		*ps = user;
	const struct cfg_setting	*st = NULL;
	const char			*why = NULL;
	char				*clean = NULL;
	size_t				 i;
	int				 known_section = 0, rv = 0;

	if (*section == '\0') {
		cfg_error(ps, ps->lineno, "setting \"%s\" comes before any "
		    "[section]", name);
		goto out;
	}
	for (i = 0; i < cfg_nsettings; i++) {
		if (strcmp(cfg_table[i].section, section) != 0)
			continue;
		known_section = 1;
		if (strcmp(cfg_table[i].name, name) == 0) {
			st = &cfg_table[i];
			break;
		}
	}
	if (!known_section) {
		cfg_error(ps, ps->lineno, "unknown section [%s]", section);
		goto out;
	}
	if (st == NULL) {
		cfg_error(ps, ps->lineno, "unknown setting \"%s\" in [%s]",
		    name, section);
		goto out;
	}
	if (ps->set_on[i] != 0) {
		cfg_error(ps, ps->lineno, "%s.%s is already set on line %d",
		    section, name, ps->set_on[i]);
		goto out;
	}
	if ((clean = malloc(strlen(value) + 1)) == NULL) {
		cfg_error(ps, ps->lineno, "out of memory");
		goto out;
	}
	if (cfg_clean_value(value, clean, &why) != 0) {
		cfg_error(ps, ps->lineno, "%s.%s: %s", section, name, why);
		goto out;
	}
	if (cfg_set(ps, st, clean, ps->lineno) != 0)
		goto out;
	ps->set_on[i] = ps->lineno;
	rv = 1;
out:
	free(clean);
	return rv;
}

/* The absolute directory of path and the absolute path; 0 or -1. */
static int
cfg_locate(struct cfg_parse *ps, const char *path)
{
	char		*dir = NULL, real[PATH_MAX];
	const char	*slash, *base;
	size_t		 n;
	int		 rv = -1;

	if ((slash = strrchr(path, '/')) == NULL) {
		dir = strdup(".");
		base = path;
	} else {
		dir = strndup(path, slash == path ? 1 : (size_t)(slash - path));
		base = slash + 1;
	}
	if (dir == NULL)
		goto nomem;
	if (realpath(dir, real) == NULL) {
		cfg_error(ps, 0, "could not resolve directory \"%s\": %s", dir,
		    strerror(errno));
		goto out;
	}
	if ((ps->cfg->dir = strdup(real)) == NULL)
		goto nomem;
	n = strlen(real) + strlen(base) + 2;
	if ((ps->cfg->path = malloc(n)) == NULL)
		goto nomem;
	snprintf(ps->cfg->path, n, "%s%s%s", real,
	    strcmp(real, "/") == 0 ? "" : "/", base);
	rv = 0;
	goto out;
nomem:
	cfg_error(ps, 0, "out of memory");
out:
	free(dir);
	return rv;
}

/* The line the setting at offset off was set on, 0 when defaulted. */
static int
cfg_line_of(const struct cfg_parse *ps, size_t off)
{
	size_t i;

	for (i = 0; i < cfg_nsettings; i++)
		if (cfg_table[i].off == off)
			return ps->set_on[i];
	return 0;
}

/* Checks that span settings, after the whole file is read. */
static int
cfg_check(struct cfg_parse *ps)
{
	const struct kw_config	*cfg = ps->cfg;
	char			 host[256];
	int			 port;

	if (config_listen_addr(cfg, host, sizeof(host), &port) != 0) {
		cfg_error(ps, cfg_line_of(ps, offsetof(struct kw_config,
		    listen)), "node.listen = %s: expected HOST:PORT or "
		    "[IPV6]:PORT with a port from 1 to 65535", cfg->listen);
		return -1;
	}
	if (*cfg->metrics_listen != '\0' && config_parse_addr(
	    cfg->metrics_listen, host, sizeof(host), &port) != 0) {
		cfg_error(ps, cfg_line_of(ps, offsetof(struct kw_config,
		    metrics_listen)), "metrics.listen = %s: expected HOST:PORT "
		    "or [IPV6]:PORT with a port from 1 to 65535, or nothing",
		    cfg->metrics_listen);
		return -1;
	}
	if (*cfg->kmip_listen != '\0' && config_parse_addr(
	    cfg->kmip_listen, host, sizeof(host), &port) != 0) {
		cfg_error(ps, cfg_line_of(ps, offsetof(struct kw_config,
		    kmip_listen)), "kmip.listen = %s: expected HOST:PORT "
		    "or [IPV6]:PORT with a port from 1 to 65535, or nothing",
		    cfg->kmip_listen);
		return -1;
	}
	if (*cfg->kmip_listen != '\0' && *cfg->tls_client_ca_file == '\0') {
		cfg_error(ps, 0, "kmip.listen is set but tls.client_ca_file is "
		    "empty: KMIP clients need a CA to verify them");
		return -1;
	}
	if (cfg->auth_mode == AUTH_MTLS && *cfg->tls_client_ca_file == '\0') {
		cfg_error(ps, 0, "auth.mode is mtls but tls.client_ca_file is "
		    "not set: name the CA file that issues client "
		    "certificates, or set auth.mode = pseudo (for tests only)");
		return -1;
	}
	return 0;
}

/*
 * Load path: defaults first, then the file, then the cross-setting
 * checks.  Returns a new config (free with config_free), or NULL with
 * the first error, as "FILE:LINE: message" or "FILE: message", in err.
 * Thread-safe; may be called again on SIGHUP while the old config is in
 * use.
 */
struct kw_config *
config_load(const char *path, char *err, size_t errlen)
{
	struct cfg_parse	 ps;
	struct kw_config	*cfg = NULL;
	size_t			 i;
	int			 rc, ok = 0;

	memset(&ps, 0, sizeof(ps));
	ps.file = path != NULL ? path : "(null)";
	ps.err = err;
	ps.errlen = errlen;
	if (err != NULL && errlen > 0)
		*err = '\0';
	if (path == NULL || *path == '\0') {
		cfg_error(&ps, 0, "no config file given");
		return NULL;
	}
	(void)pthread_once(&cfg_ini_once, cfg_ini_setup);

	if ((ps.fp = fopen(path, "re")) == NULL) {
		cfg_error(&ps, 0, "could not open config file: %s",
		    strerror(errno));
		goto out;
	}
	if ((cfg = calloc(1, sizeof(*cfg))) == NULL) {
		cfg_error(&ps, 0, "out of memory");
		goto out;
	}
	ps.cfg = cfg;
	if (cfg_locate(&ps, path) != 0)
		goto out;
	for (i = 0; i < cfg_nsettings; i++)
		if (cfg_set(&ps, &cfg_table[i], cfg_table[i].def, 0) != 0)
			goto out;

	rc = ini_parse_stream(cfg_reader, &ps, cfg_handler, &ps);
	if (ps.failed)
		goto out;
	if (ferror(ps.fp)) {
		cfg_error(&ps, 0, "could not read config file");
		goto out;
	}
	if (rc == -2) {
		cfg_error(&ps, 0, "out of memory");
		goto out;
	}
	if (rc != 0) {
		cfg_error(&ps, rc, "syntax error: expected \"[section]\" or "
		    "\"name = value\"");
		goto out;
	}
	if (cfg_check(&ps) != 0)
		goto out;
	ok = 1;
out:
	if (ps.fp != NULL)
		fclose(ps.fp);
	free(ps.line);
	if (!ok) {
		config_free(cfg);
		cfg = NULL;
	}
	return cfg;
}

/* Free a config from config_load; NULL is a no-op. */
void
config_free(struct kw_config *cfg)
{
	size_t i;

	if (cfg == NULL)
		return;
	for (i = 0; i < cfg_nsettings; i++)
		if (cfg_is_string(&cfg_table[i]))
			free(*(char **)cfg_field(cfg, &cfg_table[i]));
	free(cfg->path);
	free(cfg->dir);
	free(cfg);
}

/*
 * Split cfg->listen into host (hostlen bytes, brackets removed for IPv6)
 * and port.  Accepts "HOST:PORT" where HOST has no ':', and
 * "[V6ADDR]:PORT"; the port is 1 to 65535 in decimal.  0 or -1.
 */
int
config_listen_addr(const struct kw_config *cfg, char *host, size_t hostlen,
    int *port)
{
	if (cfg == NULL)
		return -1;
	return config_parse_addr(cfg->listen, host, hostlen, port);
}

/* Parse "HOST:PORT" or "[V6]:PORT" (port 1..65535); 0 or -1. */
int
config_parse_addr(const char *s, char *host, size_t hostlen, int *port)
{
	const char	*h, *colon, *p;
	size_t		 hlen;
	long		 v = 0;

	if (s == NULL || host == NULL || port == NULL)
		return -1;
	if (*s == '[') {
		h = s + 1;
		if ((colon = strchr(h, ']')) == NULL)
			return -1;
		hlen = (size_t)(colon - h);
		if (colon[1] != ':')
			return -1;
		colon++;
	} else {
		h = s;
		if ((colon = strchr(s, ':')) == NULL ||
		    strchr(colon + 1, ':') != NULL)
			return -1;
		hlen = (size_t)(colon - h);
	}
	if (hlen == 0 || hlen >= hostlen)
		return -1;
	p = colon + 1;
	if (*p == '\0' || strlen(p) > 5)
		return -1;
	for (; *p != '\0'; p++) {
		if (*p < '0' || *p > '9')
			return -1;
		v = v * 10 + (*p - '0');
	}
	if (v < 1 || v > 65535)
		return -1;
	memcpy(host, h, hlen);
	host[hlen] = '\0';
	*port = (int)v;
	return 0;
}
