/*
 * config_edit.c: changing settings in a keyward.conf file (see
 * config_edit.h).  Reads the syntax config.c reads: "[section]" headers,
 * "name = value" or "name: value" lines, whole-line comments with ';' or
 * '#'.  It does not interpret values: config_load on the result does.
 */
#include <sys/stat.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "config_edit.h"
#include "config_table.h"
#include "files.h"

#define EDIT_MAX_FILE	(1 << 20)
#define EDIT_MAX_CHANGES 32

int
config_edit_quote(const char *value, char *out, size_t len, char *err,
    size_t errlen)
{
	size_t n = strlen(value);
	const char *p;
	int quote = 0;

	if (strpbrk(value, "\r\n") != NULL) {
		snprintf(err, errlen, "a value may not hold a line break");
		return -1;
	}
	/* what config.c would otherwise trim or take for a comment */
	if (n > 0 && (value[0] == ' ' || value[0] == '\t' || value[0] == '"' ||
	    value[n - 1] == ' ' || value[n - 1] == '\t'))
		quote = 1;
	for (p = value; *p != '\0'; p++)
		if ((*p == ';' || *p == '#') &&
		    (p == value || p[-1] == ' ' || p[-1] == '\t'))
			quote = 1;
	if (quote && strchr(value, '"') != NULL) {
		snprintf(err, errlen, "a value that needs quotes may not hold "
		    "'\"' (keyward.conf has no escapes)");
		return -1;
	}
	if ((size_t)snprintf(out, len, quote ? "\"%s\"" : "%s", value) >= len) {
		snprintf(err, errlen, "value too long");
		return -1;
	}
	return 0;
}

/* The table entry of section.name, or NULL. */
static const struct cfg_setting *
find_setting(const char *section, const char *name)
{
	size_t i;

	for (i = 0; i < cfg_nsettings; i++)
		if (strcmp(cfg_table[i].section, section) == 0 &&
		    strcmp(cfg_table[i].name, name) == 0)
			return &cfg_table[i];
	return NULL;
}

/* s[0..n) with blanks trimmed both sides equals word? */
static int
trimmed_is(const char *s, size_t n, const char *word)
{
	while (n > 0 && (*s == ' ' || *s == '\t')) {
		s++;
		n--;
	}
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' ||
	    s[n - 1] == '\r'))
		n--;
	return n == strlen(word) && memcmp(s, word, n) == 0;
}

/*
 * Line ln (n bytes, no newline): 1 when it is a section header (its name
 * checked against section), 2 when a setting named name, 0 otherwise.
 */
static int
classify(const char *ln, size_t n, const char *section, const char *name,
    int *in_section)
{
	const char *p = ln, *close;
	size_t k;

	while (n > 0 && (*p == ' ' || *p == '\t')) {
		p++;
		n--;
	}
	if (n == 0 || *p == ';' || *p == '#')
		return 0;
	if (*p == '[') {
		close = memchr(p, ']', n);
		*in_section = close != NULL &&
		    trimmed_is(p + 1, (size_t)(close - p - 1), section);
		return 1;
	}
	for (k = 0; k < n && p[k] != '=' && p[k] != ':'; k++)
		;
	return *in_section && k < n && trimmed_is(p, k, name) ? 2 : 0;
}

/* Append s (n bytes) to the growing buffer *b; 0 or -1. */
static int
put(char **b, size_t *len, size_t *cap, const char *s, size_t n)
{
	char *g;

	if (*len + n + 1 > *cap) {
		*cap = (*len + n + 1) * 2;
		if ((g = realloc(*b, *cap)) == NULL)
			return -1;
		*b = g;
	}
	memcpy(*b + *len, s, n);
	*len += n;
	(*b)[*len] = '\0';
	return 0;
}

/*
 * text with one setting changed into a new malloc'd string; NULL when
 * memory is short.
 */
static char *
apply(const char *text, const struct config_change *c, const char *quoted)
{
	char *out = NULL, *line;
	size_t len = 0, cap = 0, n, after = (size_t)-1;
	const char *p = text, *nl;
	int in_sec = 0, done = 0, r, ok = 0;

	n = strlen(c->name) + strlen(quoted) + 5;
	if ((line = malloc(n)) == NULL)
		return NULL;
	snprintf(line, n, "%s = %s\n", c->name, quoted);
	/* the end of the section's last non-blank line: where to add */
	for (p = text; *p != '\0'; p = nl) {
		nl = p + strcspn(p, "\n");
		n = (size_t)(nl - p);
		nl += *nl == '\n';
		r = classify(p, n, c->section, c->name, &in_sec);
		if (in_sec && (r != 0 || strspn(p, " \t\r") < n))
			after = (size_t)(nl - text);
	}
	in_sec = 0;
	for (p = text; *p != '\0'; p = nl) {
		nl = p + strcspn(p, "\n");
		n = (size_t)(nl - p);
		nl += *nl == '\n';
		r = classify(p, n, c->section, c->name, &in_sec);
		if (r == 2 && !done) {
			if (put(&out, &len, &cap, line, strlen(line)) != 0)
				goto out;
			done = 1;
			continue;
		}
		if (put(&out, &len, &cap, p, (size_t)(nl - p)) != 0)
			goto out;
		if (nl[-1] != '\n' && put(&out, &len, &cap, "\n", 1) != 0)
			goto out;
		if (!done && after == (size_t)(nl - text)) {
			if (put(&out, &len, &cap, line, strlen(line)) != 0)
				goto out;
			done = 1;
		}
	}
	if (!done) {
		char head[128];

		snprintf(head, sizeof(head), "%s[%s]\n", len > 0 ? "\n" : "",
		    c->section);
		if (put(&out, &len, &cap, head, strlen(head)) != 0 ||
		    put(&out, &len, &cap, line, strlen(line)) != 0)
			goto out;
	}
	if (out == NULL && put(&out, &len, &cap, "", 0) != 0)
		goto out;
	ok = 1;
out:
	free(line);
	if (!ok) {
		free(out);
		out = NULL;
	}
	return out;
}

/* Write text to tmp with path's mode and owner; 0 or -1 with err. */
static int
write_like(const char *path, const char *tmp, const char *text, char *err,
    size_t errlen)
{
	struct stat st;
	size_t n = strlen(text);
	int fd;

	if (stat(path, &st) != 0) {
		snprintf(err, errlen, "could not stat \"%s\": %s", path,
		    strerror(errno));
		return -1;
	}
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
	    st.st_mode & 0777)) < 0) {
		snprintf(err, errlen, "could not create \"%s\": %s", tmp,
		    strerror(errno));
		return -1;
	}
	(void)!fchown(fd, st.st_uid, st.st_gid);
	if (write(fd, text, n) != (ssize_t)n || fsync(fd) != 0) {
		snprintf(err, errlen, "could not write \"%s\": %s", tmp,
		    strerror(errno));
		close(fd);
		unlink(tmp);
		return -1;
	}
	close(fd);
	return 0;
}

int
config_edit(const char *path, const struct config_change *changes, size_t n,
    char *err, size_t errlen)
{
	char tmp[4096], quoted[4096], why[256], *text, *next;
	struct kw_config *cfg;
	size_t i;

	if (n > EDIT_MAX_CHANGES) {
		snprintf(err, errlen, "at most %d changes at once",
		    EDIT_MAX_CHANGES);
		return -1;
	}
	for (i = 0; i < n; i++)
		if (find_setting(changes[i].section, changes[i].name) == NULL) {
			snprintf(err, errlen, "there is no setting %s.%s "
			    "(keyward.conf(5))", changes[i].section,
			    changes[i].name);
			return -1;
		}
	if ((text = file_read(path, EDIT_MAX_FILE, NULL, err, errlen)) == NULL)
		return -1;
	for (i = 0; i < n; i++) {
		if (config_edit_quote(changes[i].value, quoted, sizeof(quoted),
		    why, sizeof(why)) != 0) {
			snprintf(err, errlen, "%s.%s: %s", changes[i].section,
			    changes[i].name, why);
			goto fail;
		}
		if ((next = apply(text, &changes[i], quoted)) == NULL) {
			snprintf(err, errlen, "out of memory");
			goto fail;
		}
		free(text);
		text = next;
	}
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.edit", path) >= sizeof(tmp)) {
		snprintf(err, errlen, "path too long: %s", path);
		goto fail;
	}
	unlink(tmp);		/* left by an interrupted run */
	if (write_like(path, tmp, text, err, errlen) != 0)
		goto fail;
	if ((cfg = config_load(tmp, why, sizeof(why))) == NULL) {
		snprintf(err, errlen, "the changed file would not load: %s",
		    why);
		unlink(tmp);
		goto fail;
	}
	config_free(cfg);
	if (rename(tmp, path) != 0) {
		snprintf(err, errlen, "could not rename \"%s\": %s", tmp,
		    strerror(errno));
		unlink(tmp);
		goto fail;
	}
	free(text);
	return 0;
fail:
	free(text);
	return -1;
}
