/*
 * cmd_audit.c: `keyward-admin audit`: the newest records of the audit log
 * (audit.file and its rotated copies FILE.1 ... FILE.keep), filtered by
 * key, user or result, oldest first, as a table or as the raw JSON lines.
 * It only reads; the format of a record belongs to server/audit.c.
 *
 * Files are read newest first and the reading stops once COUNT matching
 * records are found, so a short listing does not read every rotated file.
 * A rotation while it reads may show a record twice or miss one.
 */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin.h"
#include "../lib/log.h"

#define AUDIT_COUNT_DEFAULT	20
#define AUDIT_COUNT_MAX		10000000L

struct audit_filter {
	const char	*key;
	const char	*user;		/* identity or real_user */
	const char	*result;
};

/* One matching record: the line as written and its parse. */
struct audit_line {
	char		*raw;
	json_t		*j;
};

/* The newest cap matching records of one file, oldest first from start. */
struct audit_ring {
	struct audit_line *v;
	size_t		 cap;
	size_t		 n;
	size_t		 start;
};

static const char *
jstr(json_t *o, const char *name)
{
	json_t *j = json_object_get(o, name);

	return json_is_string(j) ? json_string_value(j) : NULL;
}

static int
eq(const char *x, const char *y)
{
	return x != NULL && strcmp(x, y) == 0;
}

static int
audit_match(json_t *o, const struct audit_filter *f)
{
	if (f->key != NULL && !eq(jstr(o, "key"), f->key))
		return 0;
	if (f->user != NULL && !eq(jstr(o, "identity"), f->user) &&
	    !eq(jstr(o, "real_user"), f->user))
		return 0;
	if (f->result != NULL && !eq(jstr(o, "result"), f->result))
		return 0;
	return 1;
}

static void
line_free(struct audit_line *l)
{
	free(l->raw);
	json_decref(l->j);
	l->raw = NULL;
	l->j = NULL;
}

/* Take raw and j into the ring, dropping its oldest when full. */
static void
ring_push(struct audit_ring *r, char *raw, json_t *j)
{
	struct audit_line *l;

	if (r->n < r->cap) {
		l = &r->v[(r->start + r->n) % r->cap];
		r->n++;
	} else {
		l = &r->v[r->start];
		line_free(l);
		r->start = (r->start + 1) % r->cap;
	}
	l->raw = raw;
	l->j = j;
}

/*
 * Read path into r (matching records only); *invalid counts the lines
 * that are not JSON objects.  1 when read, 0 when it does not exist, -1
 * on another error (printed).
 */
static int
audit_scan(const char *path, const struct audit_filter *f,
    struct audit_ring *r, size_t *invalid)
{
	char *line = NULL, *raw;
	size_t cap = 0;
	ssize_t len;
	json_t *j;
	FILE *fp;
	int rc = 1;

	if ((fp = fopen(path, "r")) == NULL) {
		if (errno == ENOENT)
			return 0;
		log_errx("could not open audit file "
		    "\"%s\": %s", path, strerror(errno));
		return -1;
	}
	while ((len = getline(&line, &cap, fp)) != -1) {
		if (len > 0 && line[len - 1] == '\n')
			line[--len] = '\0';
		if (len == 0)
			continue;
		j = json_loadb(line, (size_t)len, 0, NULL);
		if (!json_is_object(j)) {
			json_decref(j);
			(*invalid)++;
			continue;
		}
		if (!audit_match(j, f)) {
			json_decref(j);
			continue;
		}
		if ((raw = strdup(line)) == NULL) {
			json_decref(j);
			log_errx("out of memory");
			rc = -1;
			break;
		}
		ring_push(r, raw, j);
	}
	if (rc == 1 && ferror(fp)) {
		log_errx("could not read audit file "
		    "\"%s\": %s", path, strerror(errno));
		rc = -1;
	}
	free(line);
	fclose(fp);
	return rc;
}

/*
 * s for a terminal: control bytes as \xNN, so a client's key name cannot
 * move the cursor or start a line.  Malloc'd, or NULL.
 */
static char *
printable(const char *s)
{
	const unsigned char *p;
	char *out, *q;

	if ((out = malloc(strlen(s) * 4 + 1)) == NULL)
		return NULL;
	for (p = (const unsigned char *)s, q = out; *p != '\0'; p++) {
		if (*p < 0x20 || *p == 0x7f)
			q += sprintf(q, "\\x%02x", *p);
		else
			*q++ = (char)*p;
	}
	*q = '\0';
	return out;
}

/* Columns on screen: UTF-8 continuation bytes take none. */
static int
width(const char *s)
{
	int w = 0;

	for (; *s != '\0'; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			w++;
	return w;
}

#define NCOLS	7
static const char *const col_names[NCOLS] = {
	"TIME", "IDENTITY", "OP", "KEY", "RESULT", "STATUS", "COUNT"
};

/* The table cells of record o, each malloc'd; -1 when out of memory. */
static int
cells(json_t *o, char *cell[NCOLS])
{
	char buf[1024];
	const char *id, *ru, *key;
	json_t *v;
	int i;

	memset(cell, 0, sizeof(char *) * NCOLS);
	id = jstr(o, "identity");
	ru = jstr(o, "real_user");
	key = jstr(o, "key");
	if (ru != NULL)
		snprintf(buf, sizeof(buf), "%s (via %s)", id != NULL ? id : "-",
		    ru);
	else
		snprintf(buf, sizeof(buf), "%s", id != NULL ? id : "-");
	cell[1] = printable(buf);
	cell[0] = printable(jstr(o, "time") != NULL ? jstr(o, "time") : "-");
	cell[2] = printable(jstr(o, "op") != NULL ? jstr(o, "op") : "-");
	v = json_object_get(o, "version");
	if (json_is_integer(v))
		snprintf(buf, sizeof(buf), "%s@%" JSON_INTEGER_FORMAT,
		    key != NULL ? key : "-", json_integer_value(v));
	else
		snprintf(buf, sizeof(buf), "%s", key != NULL ? key : "-");
	cell[3] = printable(buf);
	cell[4] = printable(jstr(o, "result") != NULL ? jstr(o, "result") :
	    "-");
	v = json_object_get(o, "status");
	if (json_is_integer(v))
		snprintf(buf, sizeof(buf), "%" JSON_INTEGER_FORMAT,
		    json_integer_value(v));
	else
		snprintf(buf, sizeof(buf), "-");
	cell[5] = strdup(buf);
	v = json_object_get(o, "count");
	if (json_is_integer(v))
		snprintf(buf, sizeof(buf), "%" JSON_INTEGER_FORMAT,
		    json_integer_value(v));
	else
		buf[0] = '\0';
	cell[6] = strdup(buf);
	for (i = 0; i < NCOLS; i++)
		if (cell[i] == NULL)
			return -1;
	return 0;
}

/* Print the n records in v as an aligned table; -1 when out of memory. */
static int
print_table(struct audit_line *v, size_t n)
{
	char *(*tab)[NCOLS];
	int w[NCOLS], i, last, pad, rc = -1;
	size_t r;

	if ((tab = calloc(n, sizeof(*tab))) == NULL)
		goto out;
	for (i = 0; i < NCOLS; i++)
		w[i] = width(col_names[i]);
	for (r = 0; r < n; r++) {
		if (cells(v[r].j, tab[r]) == -1)
			goto out;
		for (i = 0; i < NCOLS; i++)
			if (width(tab[r][i]) > w[i])
				w[i] = width(tab[r][i]);
	}
	for (i = 0; i < NCOLS; i++)
		printf("%-*s%s", i == NCOLS - 1 ? 0 : w[i], col_names[i],
		    i == NCOLS - 1 ? "\n" : "  ");
	for (r = 0; r < n; r++) {
		/* no padding after the last non-empty cell */
		for (last = NCOLS - 1; last > 0 && *tab[r][last] == '\0';
		    last--)
			;
		for (i = 0; i <= last; i++) {
			/* pad by columns, not bytes: names may be UTF-8 */
			pad = i == last ? 0 : w[i] - width(tab[r][i]);
			printf("%s%*s%s", tab[r][i], pad, "",
			    i == last ? "\n" : "  ");
		}
	}
	rc = 0;
out:
	if (tab != NULL) {
		for (r = 0; r < n; r++)
			for (i = 0; i < NCOLS; i++)
				free(tab[r][i]);
		free(tab);
	}
	if (rc == -1)
		log_errx("out of memory");
	return rc;
}

int
cmd_audit(int argc, char **argv)
{
	enum { OPT_KEY = 256, OPT_USER, OPT_RESULT, OPT_JSON };
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "count", required_argument, NULL, 'n' },
		{ "key", required_argument, NULL, OPT_KEY },
		{ "user", required_argument, NULL, OPT_USER },
		{ "result", required_argument, NULL, OPT_RESULT },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static const char *const results[] = { "OK", "DENIED",
	    "UNAUTHENTICATED", "ERROR" };
	const char *path = ADMIN_DEFAULT_CONFIG;
	struct audit_filter f = { NULL, NULL, NULL };
	struct audit_line *out = NULL;
	struct audit_ring ring = { NULL, 0, 0, 0 };
	struct kw_config *cfg = NULL;
	char err[512], *file = NULL, *end;
	size_t count = AUDIT_COUNT_DEFAULT, have = 0, invalid = 0, i, flen;
	long n;
	int ch, k, json = 0, found = 0, rc = EXIT_FAIL, got;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "c:n:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			path = optarg;
			break;
		case 'n':
			errno = 0;
			n = strtol(optarg, &end, 10);
			if (errno != 0 || end == optarg || *end != '\0' ||
			    n < 1 || n > AUDIT_COUNT_MAX) {
				log_errx("-n wants a "
				    "number from 1 to %ld", AUDIT_COUNT_MAX);
				admin_usage("audit");
				return EXIT_USAGE;
			}
			count = (size_t)n;
			break;
		case OPT_KEY:
			f.key = optarg;
			break;
		case OPT_USER:
			f.user = optarg;
			break;
		case OPT_RESULT:
			for (i = 0; i < sizeof(results) / sizeof(results[0]); i++)
				if (strcmp(optarg, results[i]) == 0)
					break;
			if (i == sizeof(results) / sizeof(results[0])) {
				log_errx("--result wants "
				    "OK, DENIED, UNAUTHENTICATED or ERROR");
				admin_usage("audit");
				return EXIT_USAGE;
			}
			f.result = optarg;
			break;
		case OPT_JSON:
			json = 1;
			break;
		case 'h':
			admin_usage("audit");
			return EXIT_OK;
		default:
			admin_usage("audit");
			return EXIT_USAGE;
		}
	}
	if (optind != argc) {
		admin_usage("audit");
		return EXIT_USAGE;
	}
	if ((cfg = config_load(path, err, sizeof(err))) == NULL) {
		log_errx("%s", err);
		goto out;
	}
	if (cfg->audit_file == NULL || *cfg->audit_file == '\0') {
		log_errx("no audit file is configured "
		    "(audit.file is empty in \"%s\")", path);
		goto out;
	}
	flen = strlen(cfg->audit_file) + 16;
	if ((file = malloc(flen)) == NULL ||
	    (out = calloc(count, sizeof(*out))) == NULL ||
	    (ring.v = calloc(count, sizeof(*ring.v))) == NULL) {
		log_errx("out of memory");
		goto out;
	}

	/* newest file first; out[] fills from its end */
	for (k = 0; k <= cfg->audit_keep && have < count; k++) {
		if (k == 0)
			snprintf(file, flen, "%s", cfg->audit_file);
		else
			snprintf(file, flen, "%s.%d", cfg->audit_file, k);
		ring.cap = count - have;
		ring.n = ring.start = 0;
		got = audit_scan(file, &f, &ring, &invalid);
		for (i = 0; i < ring.n; i++)
			out[count - have - ring.n + i] =
			    ring.v[(ring.start + i) % ring.cap];
		have += ring.n;
		ring.n = 0;
		if (got == -1)
			goto out;
		found |= got;
	}

	if (!found) {
		/* stdout stays JSON lines with --json */
		if (json)
			log_info("no audit records yet");
		else
			printf("no audit records yet\n");
	} else if (json) {
		for (i = count - have; i < count; i++)
			printf("%s\n", out[i].raw);
	} else if (have == 0) {
		printf("no matching audit records\n");
	} else if (print_table(out + (count - have), have) == -1)
		goto out;
	if (invalid > 0)
		log_warnx("skipped %zu line%s that %s not "
		    "JSON records", invalid, invalid == 1 ? "" : "s",
		    invalid == 1 ? "is" : "are");
	if (fflush(stdout) != 0 || ferror(stdout)) {
		log_errx("could not write the output: "
		    "%s", strerror(errno));
		goto out;
	}
	rc = EXIT_OK;
out:
	if (out != NULL)
		for (i = 0; i < count; i++)
			line_free(&out[i]);
	free(out);
	free(ring.v);
	free(file);
	config_free(cfg);
	return rc;
}
