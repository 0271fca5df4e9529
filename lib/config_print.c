/*
 * config_print.c: everything printed from the settings table.
 *
 * Owns the effective-values dump (`keyward-server -n -v`, `keyward-admin
 * config show`), with conninfo passwords masked; the help listing; the
 * commented example config (packaging/keyward.conf.example is its
 * output); and the comparison SIGHUP uses to find settings that need a
 * restart.  Parsing is in config.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "config_table.h"

/*
 * A conninfo with the value of any password keyword (and the password of
 * a URI) replaced by "********", for display.  NULL when memory is short.
 */
static char *
cfg_mask_conninfo(const char *ci)
{
	char	*s, *p, *q, *at;
	size_t	 n;

	/* Each mask grows the text by at most 8 bytes per 9 it matched. */
	n = strlen(ci);
	if ((s = malloc(n * 2 + 32)) == NULL)
		return NULL;
	memcpy(s, ci, n + 1);
	/* URI: scheme://user:password@host... */
	if ((p = strstr(s, "://")) != NULL) {
		p += 3;
		n = strcspn(p, "/?");
		if ((at = memchr(p, '@', n)) != NULL &&
		    (q = memchr(p, ':', (size_t)(at - p))) != NULL) {
			memmove(q + 9, at, strlen(at) + 1);
			memcpy(q, ":********", 9);
		}
	}
	for (p = s; (p = strstr(p, "password")) != NULL; p += 8) {
		if (p != s && p[-1] != ' ' && p[-1] != '\t' && p[-1] != '?' &&
		    p[-1] != '&')
			continue;
		for (q = p + 8; *q == ' ' || *q == '\t'; q++)
			;
		if (*q != '=')
			continue;
		for (q++; *q == ' ' || *q == '\t'; q++)
			;
		at = q;
		if (*at == '\'') {
			for (at++; *at != '\0' && *at != '\''; at++)
				if (*at == '\\' && at[1] != '\0')
					at++;
			if (*at == '\'')
				at++;
		} else
			while (*at != '\0' && *at != ' ' && *at != '\t' &&
			    *at != '&')
				at++;
		memmove(q + 8, at, strlen(at) + 1);
		memcpy(q, "********", 8);
	}
	return s;
}

/* The value of a setting as text, for dumps; caller frees.  NULL: ENOMEM */
static char *
cfg_value_text(const struct kw_config *cfg, const struct cfg_setting *st)
{
	const void	*field = cfg_field(cfg, st);
	char		 num[32];
	int		 i;

	switch (st->type) {
	case CFG_INT:
		snprintf(num, sizeof(num), "%d", *(const int *)field);
		return strdup(num);
	case CFG_ENUM:
		i = *(const int *)field;
		return strdup(i >= 0 && st->choices[i] != NULL ?
		    st->choices[i] : "?");
	case CFG_CONNINFO:
		return cfg_mask_conninfo(*(char *const *)field);
	case CFG_STRING:
	case CFG_PATH:
	case CFG_WORD:
	default:
		return strdup(*(char *const *)field);
	}
}

/*
 * Print "section.name = value" for every setting, in table order, with
 * effective values (paths absolute, passwords in conninfo masked).  An
 * empty value prints as "".
 */
void
config_dump(FILE *fp, const struct kw_config *cfg)
{
	char	*v;
	size_t	 i;

	for (i = 0; i < cfg_nsettings; i++) {
		v = cfg_value_text(cfg, &cfg_table[i]);
		fprintf(fp, "%s.%s = %s\n", cfg_table[i].section,
		    cfg_table[i].name, v == NULL ? "?" : *v == '\0' ? "\"\"" :
		    v);
		free(v);
	}
}

/* Print text wrapped to width, each line starting with prefix. */
static void
cfg_wrap(FILE *fp, const char *prefix, const char *text, size_t width)
{
	const char	*p = text, *brk, *q, *end;
	size_t		 avail = width - strlen(prefix);

	while (*p != '\0') {
		while (*p == ' ')
			p++;
		if (strlen(p) <= avail) {
			fprintf(fp, "%s%s\n", prefix, p);
			return;
		}
		for (brk = NULL, q = p; q <= p + avail; q++)
			if (*q == ' ')
				brk = q;
		if (brk == NULL)
			for (brk = p + avail; *brk != '\0' && *brk != ' ';)
				brk++;
		for (end = brk; end > p && end[-1] == ' '; end--)
			;
		fprintf(fp, "%s%.*s\n", prefix, (int)(end - p), p);
		p = brk;
	}
}

/* "integer, 1 to 256" and the like, for help and the example. */
static void
cfg_type_text(const struct cfg_setting *st, char *buf, size_t len)
{
	size_t	i, n;

	switch (st->type) {
	case CFG_INT:
		snprintf(buf, len, "integer, %d to %d", st->min, st->max);
		return;
	case CFG_ENUM:
	case CFG_WORD:
		n = (size_t)snprintf(buf, len, "one of");
		for (i = 0; st->choices[i] != NULL && n < len; i++)
			n += (size_t)snprintf(buf + n, len - n, "%s %s",
			    i > 0 ? "," : "", st->choices[i]);
		return;
	case CFG_PATH:
		snprintf(buf, len, "path");
		return;
	case CFG_CONNINFO:
		snprintf(buf, len, "libpq conninfo");
		return;
	case CFG_STRING:
	default:
		snprintf(buf, len, "string");
		return;
	}
}

/*
 * Print the settings table: for each setting its name, type and bounds,
 * default, whether SIGHUP applies a change, and the help text.
 */
void
config_help(FILE *fp)
{
	const struct cfg_setting	*st;
	const char			*q;
	char				 type[128];
	size_t				 i;

	for (i = 0; i < cfg_nsettings; i++) {
		st = &cfg_table[i];
		cfg_type_text(st, type, sizeof(type));
		fprintf(fp, "%s%s.%s\n", i > 0 ? "\n" : "", st->section,
		    st->name);
		q = cfg_is_string(st) && st->type != CFG_WORD ? "\"" : "";
		fprintf(fp, "    type: %s; default: %s%s%s; %s\n", type,
		    *st->def == '\0' ? "(empty)" : q,
		    *st->def == '\0' ? "" : st->def,
		    *st->def == '\0' ? "" : q,
		    st->flags & CFG_RELOAD ? "SIGHUP applies changes" :
		    "restart to change");
		cfg_wrap(fp, "    ", st->help, 76);
	}
}

/*
 * Print a complete keyward.conf in which every setting appears, commented
 * out, with its default and help text (packaging/keyward.conf.example
 * is this output).
 */
void
config_example(FILE *fp)
{
	const struct cfg_setting	*st;
	const char			*section = "";
	char				 type[128];
	size_t				 i;

	fputs("# keyward.conf: the configuration of one keyward node.\n"
	    "#\n"
	    "# Generated from the settings table in lib/config_table.c (see\n"
	    "# config_example); `keyward-server -n -v` prints the values in\n"
	    "# effect.  Every setting is listed with its default, commented\n"
	    "# out: uncomment a line to change it.\n"
	    "#\n"
	    "# Syntax: \"name = value\" under a [section] header.  A comment\n"
	    "# starts with ';' or '#' at the start of a line, or after white\n"
	    "# space in a value; quote a value with \"...\" to keep a ';' or\n"
	    "# '#' in it.  Relative paths are taken from the directory of this\n"
	    "# file.  Unknown settings, repeated settings and values out of\n"
	    "# range are errors: the server will not start.\n"
	    "#\n"
	    "# The defaults alone are not enough: auth.mode = mtls (the\n"
	    "# default) needs tls.client_ca_file.\n", fp);
	for (i = 0; i < cfg_nsettings; i++) {
		st = &cfg_table[i];
		if (strcmp(section, st->section) != 0) {
			section = st->section;
			fprintf(fp, "\n[%s]\n", section);
		}
		cfg_type_text(st, type, sizeof(type));
		fputs("\n", fp);
		cfg_wrap(fp, "# ", st->help, 72);
		fprintf(fp, "# (%s; %s)\n", type, st->flags & CFG_RELOAD ?
		    "SIGHUP applies changes" : "restart to change");
		fprintf(fp, "#%s =%s%s\n", st->name, *st->def != '\0' ? " " :
		    "", st->def);
	}
}

/*
 * For SIGHUP: the number of settings that differ between old and new but
 * need a restart to take effect; their "section.name"s, comma-separated,
 * go to names (truncated to len).  The caller keeps the old values of
 * those settings (or refuses the reload) and logs the list.
 */
int
config_restart_needed(const struct kw_config *old,
    const struct kw_config *new, char *names, size_t len)
{
	const struct cfg_setting	*st;
	const void			*a, *b;
	size_t				 i;
	int				 differ, count = 0;

	if (names != NULL && len > 0)
		*names = '\0';
	for (i = 0; i < cfg_nsettings; i++) {
		st = &cfg_table[i];
		if (st->flags & CFG_RELOAD)
			continue;
		a = cfg_field(old, st);
		b = cfg_field(new, st);
		if (cfg_is_string(st))
			differ = strcmp(*(char *const *)a, *(char *const *)b);
		else
			differ = *(const int *)a != *(const int *)b;
		if (!differ)
			continue;
		if (names != NULL && len > 0) {
			size_t n = strlen(names);

			snprintf(names + n, len - n, "%s%s.%s",
			    count > 0 ? ", " : "", st->section, st->name);
		}
		count++;
	}
	return count;
}
