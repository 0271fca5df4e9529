/*
 * acl_parse.c: the access control file, acls.conf (keyward-acls.conf(5)),
 * read into a struct acls.
 *
 * Owns the file's syntax and its checks: NAME = VALUE lines, the property
 * names, ACL values, group and proxy-user lines, and the messages that
 * say what is wrong ("FILE:LINE: message", into the caller's buffer).
 * Group references are checked once every line is read; then acl_expand
 * (acl.c) precomputes what the decisions need.
 *
 * The SHA-256 of the text parsed (byte for byte, comments included) is
 * kept with the rules: the drift check compares it between the nodes.
 *
 * Not here: the decisions and the structure's memory (acl.c), when to
 * reload, logging.
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "errbuf.h"
#include "acl.h"
#include "acl_impl.h"

#define ACL_FILE_MAX	(4u * 1024 * 1024)	/* bytes acls_load reads */
#define ACL_NAME_MAX	255			/* bytes of a user or group */

#define PFX_OP		"hadoop.kms.acl."
#define PFX_BLACK	"hadoop.kms.blacklist."
#define PFX_PROXY	"hadoop.kms.proxyuser."
#define PFX_KEY		"key.acl."
#define PFX_DEFAULT	"default.key.acl."
#define PFX_WHITE	"whitelist.key.acl."
#define PFX_GROUP	"group."

/* A group named by an ACL, checked once every group.NAME line is read. */
struct acl_gref {
	const char	*group, *prop;
	int		 line;
};

/* State of one acls_parse call. */
struct acl_parse {
	struct acls		*a;
	const char		*fname;
	int			 line;
	char			*err;
	size_t			 errlen;
	struct acl_map		 props;		/* property -> line */
	struct acl_gref		*grefs;
	size_t			 ngrefs, capgrefs;
};

static void	acl_error(struct acl_parse *, int, const char *, ...)
		    __attribute__((format(printf, 3, 4)));
/* "FILE:LINE: message", or "FILE: message" for line 0. */
static void
acl_error(struct acl_parse *ps, int line, const char *fmt, ...)
{
	char	msg[512];
	va_list	ap;

	va_start(ap, fmt);
	(void)vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (line > 0)
		kw_seterr(ps->err, ps->errlen, "%s:%d: %s", ps->fname, line,
		    msg);
	else
		kw_seterr(ps->err, ps->errlen, "%s: %s", ps->fname, msg);
}

/*
 * Text from the file made safe for a message: control characters become
 * '?', and more than 80 bytes are cut with "...".  Returns buf.
 */
static const char *
acl_quote(const char *s, size_t n, char *buf, size_t buflen)
{
	size_t i, max = buflen - 4;

	if (max > 80)
		max = 80;
	for (i = 0; i < n && i < max; i++)
		buf[i] = ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) ? '?' :
		    s[i];
	if (i < n)
		buf[i++] = '.', buf[i++] = '.', buf[i++] = '.';
	buf[i] = '\0';
	return buf;
}

static int
is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

/* Whether s[0..n) is a valid user or group name; else *why says why. */
static int
name_ok(const char *s, size_t n, const char **why)
{
	size_t i;

	if (n == 0) {
		*why = "is empty";
		return 0;
	}
	if (n > ACL_NAME_MAX) {
		*why = "is longer than 255 bytes";
		return 0;
	}
	if (n == 1 && s[0] == '*') {
		*why = "is \"*\", which means everyone only as the whole value";
		return 0;
	}
	for (i = 0; i < n; i++) {
		if (is_blank(s[i])) {
			*why = "contains white space";
			return 0;
		}
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) {
			*why = "contains a control character";
			return 0;
		}
		if (s[i] == ',') {
			*why = "contains ','";
			return 0;
		}
		if (s[i] == '#') {
			*why = "contains '#' (a comment takes a whole line)";
			return 0;
		}
	}
	return 1;
}

/*
 * Split the comma list s[0..n) into an arena array of names (*out, *nout;
 * an empty s gives none).  what ("user", "group") names them in
 * messages.  0, or -1 with the error set.
 */
static int
parse_names(struct acl_parse *ps, const char *prop, const char *what,
    const char *s, size_t n, const char ***out, size_t *nout)
{
	const char	**v, *p, *end = s + n, *comma, *why;
	size_t		  cnt = 1, k = 0;
	char		  q[96];

	*out = NULL;
	*nout = 0;
	if (n == 0)
		return 0;
	for (p = s; p < end; p++)
		if (*p == ',')
			cnt++;
	if ((v = acl_arena_alloc(ps->a, cnt * sizeof(*v))) == NULL) {
		acl_error(ps, 0, "out of memory");
		return -1;
	}
	for (p = s; k < cnt; p = comma + 1) {
		if ((comma = memchr(p, ',', (size_t)(end - p))) == NULL)
			comma = end;
		if (!name_ok(p, (size_t)(comma - p), &why)) {
			if (comma == p)
				acl_error(ps, ps->line, "%s: empty %s name in "
				    "\"%s\"", prop, what,
				    acl_quote(s, n, q, sizeof(q)));
			else
				acl_error(ps, ps->line, "%s: %s name \"%s\" %s",
				    prop, what, acl_quote(p,
				    (size_t)(comma - p), q, sizeof(q)), why);
			return -1;
		}
		if ((v[k++] = acl_arena_strndup(ps->a, p,
		    (size_t)(comma - p))) == NULL) {
			acl_error(ps, 0, "out of memory");
			return -1;
		}
	}
	*out = v;
	*nout = cnt;
	return 0;
}

/* Remember that prop names group g, to check once all groups are read. */
static int
add_grefs(struct acl_parse *ps, const char *prop, const char **g, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (acl_vec_grow(&ps->grefs, &ps->capgrefs, ps->ngrefs,
		    sizeof(*ps->grefs)) == -1) {
			acl_error(ps, 0, "out of memory");
			return -1;
		}
		ps->grefs[ps->ngrefs].group = g[i];
		ps->grefs[ps->ngrefs].prop = prop;
		ps->grefs[ps->ngrefs].line = ps->line;
		ps->ngrefs++;
	}
	return 0;
}

/* An ACL value: "*", "", "USERS", "USERS GROUPS" or "- GROUPS". */
static int
parse_acl(struct acl_parse *ps, const char *prop, const char *v,
    struct acl_list *l)
{
	const char	*u = v, *g, *end = v + strlen(v);
	size_t		 ulen;

	l->prop = prop;
	l->line = ps->line;
	if (strcmp(v, "*") == 0) {
		l->everyone = 1;
		return 0;
	}
	for (g = u; g < end && !is_blank(*g); g++)
		;
	ulen = (size_t)(g - u);
	while (g < end && is_blank(*g))
		g++;
	if (memchr(g, ' ', (size_t)(end - g)) != NULL ||
	    memchr(g, '\t', (size_t)(end - g)) != NULL) {
		acl_error(ps, ps->line, "%s: expected \"USERS GROUPS\", found "
		    "more than two fields (write lists without spaces)", prop);
		return -1;
	}
	if (ulen == 1 && *u == '-')
		ulen = 0;
	if (parse_names(ps, prop, "user", u, ulen, &l->users, &l->nusers) ==
	    -1 || parse_names(ps, prop, "group", g, (size_t)(end - g),
	    &l->groups, &l->ngroups) == -1)
		return -1;
	return add_grefs(ps, prop, l->groups, l->ngroups);
}

/* A plain comma list (group members, proxy users or groups). */
static int
parse_plain(struct acl_parse *ps, const char *prop, const char *what,
    const char *v, int star_ok, struct acl_list *l)
{
	l->prop = prop;
	l->line = ps->line;
	if (strcmp(v, "*") == 0) {
		if (!star_ok) {
			acl_error(ps, ps->line, "%s: \"*\" is not allowed here; "
			    "list the members", prop);
			return -1;
		}
		l->everyone = 1;
		return 0;
	}
	if (strpbrk(v, " \t") != NULL) {
		acl_error(ps, ps->line, "%s: white space in a list (write "
		    "%s1,%s2 without spaces)", prop, what, what);
		return -1;
	}
	if (strcmp(what, "group") == 0) {
		if (parse_names(ps, prop, what, v, strlen(v), &l->groups,
		    &l->ngroups) == -1)
			return -1;
		return add_grefs(ps, prop, l->groups, l->ngroups);
	}
	return parse_names(ps, prop, what, v, strlen(v), &l->users,
	    &l->nusers);
}

static int
parse_hosts(struct acl_parse *ps, const char *prop, const char *v,
    struct acl_proxy *px)
{
	const char	**h, *why;
	char		  q[96];
	size_t		  n, i;

	px->hosts_line = ps->line;
	if (strcmp(v, "*") == 0) {
		px->hosts_everyone = 1;
		return 0;
	}
	if (strpbrk(v, " \t") != NULL) {
		acl_error(ps, ps->line, "%s: white space in a list (write "
		    "addr1,addr2 without spaces)", prop);
		return -1;
	}
	if (parse_names(ps, prop, "host", v, strlen(v), &h, &n) == -1)
		return -1;
	if (n > 0 && (px->nets = acl_arena_alloc(ps->a,
	    n * sizeof(*px->nets))) == NULL) {
		acl_error(ps, 0, "out of memory");
		return -1;
	}
	for (i = 0; i < n; i++)
		if (acl_net_parse(h[i], &px->nets[i], 1, &why) == -1) {
			acl_error(ps, ps->line, "%s: \"%s\" %s", prop,
			    acl_quote(h[i], strlen(h[i]), q, sizeof(q)), why);
			return -1;
		}
	px->nnets = n;
	return 0;
}

/* Index of name in names[0..n), or -1. */
static int
lookup_name(const char *const *names, size_t n, const char *s)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(names[i], s) == 0)
			return (int)i;
	return -1;
}

/* KEYOP name after a prefix: 0..KEYOP_NKEYOPS-1, KEYOP_ALL, or -1. */
static int
keyop_of(const char *s)
{
	if (strcmp(s, "ALL") == 0)
		return KEYOP_ALL;
	return lookup_name(acl_keyop_names, KEYOP_NKEYOPS, s);
}

static int
bad_keyop(struct acl_parse *ps, const char *prop, const char *s)
{
	char q[96];

	acl_error(ps, ps->line, "%s: unknown key operation \"%s\" (MANAGEMENT, "
	    "GENERATE_EEK, DECRYPT_EEK, READ or ALL)", prop,
	    acl_quote(s, strlen(s), q, sizeof(q)));
	return -1;
}

/* s past prefix pfx, or NULL when s does not start with it. */
static const char *
after(const char *s, const char *pfx)
{
	size_t n = strlen(pfx);

	return strncmp(s, pfx, n) == 0 ? s + n : NULL;
}

static int
has_ctl(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 1;
	return 0;
}

/* hadoop.kms.acl.OP or hadoop.kms.blacklist.OP; op is the OP part. */
static int
parse_op_prop(struct acl_parse *ps, const char *prop, const char *op,
    const char *v, struct acl_list *lists)
{
	char	q[96];
	int	k;

	if ((k = lookup_name(acl_op_names, ACL_NOPS, op)) == -1) {
		acl_error(ps, ps->line, "%s: unknown operation \"%s\" (CREATE, "
		    "DELETE, ROLLOVER, GET, GET_KEYS, GET_METADATA, "
		    "SET_KEY_MATERIAL, GENERATE_EEK or DECRYPT_EEK)",
		    prop, acl_quote(op, strlen(op), q, sizeof(q)));
		return -1;
	}
	return parse_acl(ps, prop, v, &lists[k]);
}

/* default.key.acl.KEYOP or whitelist.key.acl.KEYOP. */
static int
parse_keyset_prop(struct acl_parse *ps, const char *prop, const char *kop,
    const char *v, struct acl_keyset *ks)
{
	int k;

	if ((k = keyop_of(kop)) == -1)
		return bad_keyop(ps, prop, kop);
	return parse_acl(ps, prop, v, &ks->op[k]);
}

/* key.acl.KEY.KEYOP; rest is "KEY.KEYOP". */
static int
parse_key_prop(struct acl_parse *ps, const char *prop, const char *rest,
    const char *v)
{
	struct acl_keyset	*ks;
	const char		*dot;
	char			*name, q[96];
	int			 k;

	acl_quote(prop, strlen(prop), q, sizeof(q));
	if ((dot = strrchr(rest, '.')) == NULL) {
		acl_error(ps, ps->line, "%s: expected key.acl.KEY.OPERATION", q);
		return -1;
	}
	if (dot == rest) {
		acl_error(ps, ps->line, "%s: empty key name", q);
		return -1;
	}
	if ((k = keyop_of(dot + 1)) == -1)
		return bad_keyop(ps, prop, dot + 1);
	if ((name = acl_arena_strndup(ps->a, rest, (size_t)(dot - rest))) ==
	    NULL) {
		acl_error(ps, 0, "out of memory");
		return -1;
	}
	if ((ks = acl_keyset_get(ps->a, name)) == NULL) {
		acl_error(ps, 0, "out of memory");
		return -1;
	}
	return parse_acl(ps, prop, v, &ks->op[k]);
}

/* group.NAME = user1,user2; name is the NAME part. */
static int
parse_group_prop(struct acl_parse *ps, const char *prop, const char *name,
    const char *v)
{
	struct acl_list		 members;
	const char		*why;
	char			 q[96];

	if (!name_ok(name, strlen(name), &why)) {
		acl_error(ps, ps->line, "%s: group name %s",
		    acl_quote(prop, strlen(prop), q, sizeof(q)), why);
		return -1;
	}
	memset(&members, 0, sizeof(members));
	if (parse_plain(ps, prop, "user", v, 0, &members) == -1)
		return -1;
	if (acl_group_add(ps->a, name, members.users, members.nusers) == -1) {
		acl_error(ps, 0, "out of memory");
		return -1;
	}
	return 0;
}

/* hadoop.kms.proxyuser.REAL.{users,groups,hosts}; rest is after the
 * prefix. */
static int
parse_proxy_prop(struct acl_parse *ps, const char *prop, const char *rest,
    const char *v)
{
	struct acl_proxy	*px;
	const char		*dot, *why;
	char			*real, q[96];

	acl_quote(prop, strlen(prop), q, sizeof(q));
	if ((dot = strrchr(rest, '.')) == NULL || (strcmp(dot, ".users") != 0 &&
	    strcmp(dot, ".groups") != 0 && strcmp(dot, ".hosts") != 0)) {
		acl_error(ps, ps->line, "%s: expected "
		    "hadoop.kms.proxyuser.USER.users, .groups or .hosts", q);
		return -1;
	}
	if (!name_ok(rest, (size_t)(dot - rest), &why)) {
		acl_error(ps, ps->line, "%s: user name %s", q, why);
		return -1;
	}
	if ((real = acl_arena_strndup(ps->a, rest, (size_t)(dot - rest))) ==
	    NULL) {
		acl_error(ps, 0, "out of memory");
		return -1;
	}
	if ((px = acl_proxy_get(ps->a, real)) == NULL) {
		acl_error(ps, 0, "out of memory");
		return -1;
	}
	if (strcmp(dot, ".hosts") == 0)
		return parse_hosts(ps, prop, v, px);
	if (strcmp(dot, ".users") == 0)
		return parse_plain(ps, prop, "user", v, 1, &px->users);
	return parse_plain(ps, prop, "group", v, 1, &px->groups);
}

/* One "prop = v" line (both in the arena). */
static int
parse_prop(struct acl_parse *ps, const char *prop, const char *v)
{
	struct acls	*a = ps->a;
	const char	*rest;
	char		 q[96];

	if ((rest = after(prop, PFX_OP)) != NULL)
		return parse_op_prop(ps, prop, rest, v, a->op);
	if ((rest = after(prop, PFX_BLACK)) != NULL)
		return parse_op_prop(ps, prop, rest, v, a->black);
	if ((rest = after(prop, PFX_DEFAULT)) != NULL)
		return parse_keyset_prop(ps, prop, rest, v, &a->def);
	if ((rest = after(prop, PFX_WHITE)) != NULL)
		return parse_keyset_prop(ps, prop, rest, v, &a->white);
	if ((rest = after(prop, PFX_KEY)) != NULL)
		return parse_key_prop(ps, prop, rest, v);
	if ((rest = after(prop, PFX_GROUP)) != NULL)
		return parse_group_prop(ps, prop, rest, v);
	if ((rest = after(prop, PFX_PROXY)) != NULL)
		return parse_proxy_prop(ps, prop, rest, v);
	acl_error(ps, ps->line, "unknown property \"%s\"",
	    acl_quote(prop, strlen(prop), q, sizeof(q)));
	return -1;
}

/* After the last line: check group references, precompute. */
static int
finish(struct acl_parse *ps)
{
	struct acls	*a = ps->a;
	size_t		 i;
	char		 q[96];

	for (i = 0; i < ps->ngrefs; i++)
		if (acl_map_get(&a->groupmap, ps->grefs[i].group) == NULL) {
			acl_quote(ps->grefs[i].group,
			    strlen(ps->grefs[i].group), q, sizeof(q));
			acl_error(ps, ps->grefs[i].line, "%s: group \"%s\" is "
			    "not defined (no group.%s line)",
			    ps->grefs[i].prop, q, q);
			return -1;
		}
	if (acl_expand(a) == -1) {
		acl_error(ps, 0, "out of memory");
		return -1;
	}
	return 0;
}

/* One line s[0..n) (no newline). */
static int
parse_line(struct acl_parse *ps, const char *s, size_t n)
{
	const struct acl_mapent	*e;
	const char		*eq, *ne, *vs, *ve = s + n;
	char			*prop, *v, q[96];

	if (memchr(s, '\0', n) != NULL) {
		acl_error(ps, ps->line, "line contains a NUL byte");
		return -1;
	}
	while (s < ve && is_blank(*s))
		s++;
	while (ve > s && is_blank(ve[-1]))
		ve--;
	if (s == ve || *s == '#')
		return 0;
	if ((eq = memchr(s, '=', (size_t)(ve - s))) == NULL) {
		acl_error(ps, ps->line, "expected NAME = VALUE, found no '='");
		return -1;
	}
	for (ne = eq; ne > s && is_blank(ne[-1]); ne--)
		;
	for (vs = eq + 1; vs < ve && is_blank(*vs); vs++)
		;
	if (ne == s) {
		acl_error(ps, ps->line, "no property name before '='");
		return -1;
	}
	if ((prop = acl_arena_strndup(ps->a, s, (size_t)(ne - s))) == NULL ||
	    (v = acl_arena_strndup(ps->a, vs, (size_t)(ve - vs))) == NULL) {
		acl_error(ps, 0, "out of memory");
		return -1;
	}
	if (has_ctl(prop)) {
		acl_error(ps, ps->line, "the property name contains a control "
		    "character");
		return -1;
	}
	if ((e = acl_map_get(&ps->props, prop)) != NULL) {
		acl_error(ps, ps->line, "%s is already set on line %u",
		    acl_quote(prop, strlen(prop), q, sizeof(q)),
		    (unsigned int)e->val);
		return -1;
	}
	if (acl_map_put(&ps->props, prop, (uint32_t)ps->line) == -1) {
		acl_error(ps, 0, "out of memory");
		return -1;
	}
	return parse_prop(ps, prop, v);
}

/*
 * Parse len bytes of acls.conf text (no NUL needed).  A new struct acls
 * the caller frees with acls_free, or NULL with "FNAME:LINE: why" (or
 * "FNAME: out of memory") in err.  Reentrant; keeps no pointer to text.
 */
struct acls *
acls_parse(const char *text, size_t len, const char *fname, char *err,
    size_t errlen)
{
	struct acl_parse	 ps;
	const char		*p = text, *end = text + len, *nl;
	int			 ok = 0;

	memset(&ps, 0, sizeof(ps));
	ps.fname = fname != NULL ? fname : "acls.conf";
	ps.err = err;
	ps.errlen = errlen;
	if ((ps.a = calloc(1, sizeof(*ps.a))) == NULL) {
		acl_error(&ps, 0, "out of memory");
		return NULL;
	}
	if (len >= 3 && memcmp(p, "\xef\xbb\xbf", 3) == 0)
		p += 3;		/* a UTF-8 byte order mark */
	while (len > 0 && p < end) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			nl = end;
		ps.line++;
		if (parse_line(&ps, p, (size_t)(nl - p)) == -1)
			goto out;
		p = nl + 1;
	}
	if (finish(&ps) == -1)
		goto out;
	if (EVP_Digest(text, len, ps.a->sha256, NULL, EVP_sha256(), NULL) !=
	    1) {
		acl_error(&ps, 0, "could not hash the file");
		goto out;
	}
	ok = 1;
out:
	free(ps.props.ent);
	free(ps.grefs);
	if (!ok) {
		acls_free(ps.a);
		return NULL;
	}
	return ps.a;
}

/*
 * Read path (a regular file, symbolic links followed, not writable by
 * group or others, at most ACL_FILE_MAX bytes) and parse it.  As
 * acls_parse; messages name path as given.
 */
struct acls *
acls_load(const char *path, char *err, size_t errlen)
{
	struct acls	*a = NULL;
	struct stat	 st;
	char		*buf = NULL;
	size_t		 got = 0;
	ssize_t		 n;
	int		 fd;

	/* O_NONBLOCK: a FIFO planted at the path must not hang us. */
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)) == -1) {
		kw_seterr(err, errlen, "could not open \"%s\": %s", path,
		    strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) == -1) {
		kw_seterr(err, errlen, "could not stat \"%s\": %s", path,
		    strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		kw_seterr(err, errlen, "\"%s\" is not a regular file", path);
		goto out;
	}
	if ((st.st_mode & 022) != 0) {
		kw_seterr(err, errlen, "\"%s\" is writable by group or others "
		    "(mode %04o); chmod go-w it", path,
		    (unsigned int)(st.st_mode & 07777));
		goto out;
	}
	if (st.st_size < 0 || (unsigned long long)st.st_size > ACL_FILE_MAX) {
		kw_seterr(err, errlen, "\"%s\" is too large (%lld bytes, at "
		    "most %u)", path, (long long)st.st_size, ACL_FILE_MAX);
		goto out;
	}
	/* one byte more than the size, to notice a file that grew */
	if ((buf = malloc((size_t)st.st_size + 1)) == NULL) {
		kw_seterr(err, errlen, "could not read \"%s\": out of memory",
		    path);
		goto out;
	}
	for (;;) {
		n = read(fd, buf + got, (size_t)st.st_size + 1 - got);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			kw_seterr(err, errlen, "could not read \"%s\": %s",
			    path, strerror(errno));
			goto out;
		}
		if (n == 0 || (got += (size_t)n) > (size_t)st.st_size)
			break;
	}
	if (got != (size_t)st.st_size) {
		kw_seterr(err, errlen, "\"%s\" changed while being read",
		    path);
		goto out;
	}
	a = acls_parse(buf, got, path, err, errlen);
out:
	free(buf);
	close(fd);
	return a;
}

const unsigned char *
acls_sha256(const struct acls *a)
{
	return a->sha256;
}
