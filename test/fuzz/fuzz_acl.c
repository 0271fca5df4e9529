/*
 * fuzz_acl.c: libFuzzer target for acls.conf parsing and the ACL
 * decisions (lib/acl.c).
 *
 * The input is the text of an acls.conf, handed to acls_parse as a
 * buffer without a terminating NUL (so ASan sees a read past its end).
 * A refused text must come with a message that names the file.  On an
 * accepted one the harness asks every decision the server asks: each
 * operation ACL, each key ACL and acls_proxy_allowed, for a few fixed
 * users, keys and addresses plus names taken from the text itself (the
 * words after '=' as users, the NAME of key.acl.NAME.OP lines as keys,
 * the REAL of hadoop.kms.proxyuser.REAL.* as proxies), so that the
 * fuzzer reaches the paths where a name is found.  Every answer must be
 * 0 or 1.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "lib/acl.h"

#define FNAME		"acls.conf"
#define NPICK		4	/* names of each kind taken from the text */
#define PICK_MAX	64	/* longest name taken */

static const char *const fixed_users[] = {
	"admin", "alice", "hdfs", "*", "", "nobody",
};
static const char *const fixed_keys[] = { "k1", "team1", "", "a/b@c" };
static const char *const addrs[] = {
	"127.0.0.1", "10.1.2.3", "::1", "fe80::1", "::ffff:10.0.0.1",
	"not-an-address", "",
};

struct picks {
	char	*name[NPICK];
	size_t	 n;
};

/* Keep s[0..len) in p when there is room and it is a plausible name. */
static void
pick(struct picks *p, const char *s, size_t len)
{
	size_t i;

	if (p->n == NPICK || len == 0 || len > PICK_MAX ||
	    memchr(s, '\0', len) != NULL)
		return;
	for (i = 0; i < p->n; i++)
		if (strlen(p->name[i]) == len && memcmp(p->name[i], s, len) == 0)
			return;
	/* not strndup: s is not NUL-terminated, and strict string
	 * checks would stop at the read past its end */
	p->name[p->n] = fuzz_strndup((const uint8_t *)s, len);
	p->n++;
}

static void
picks_free(struct picks *p)
{
	size_t i;

	for (i = 0; i < p->n; i++)
		free(p->name[i]);
	p->n = 0;
}

/* Users, keys and proxies named in the text. */
static void
scan(const char *text, size_t len, struct picks *users, struct picks *keys,
    struct picks *proxies)
{
	const char *line = text, *end = text + len, *eol, *eq, *p, *q, *dot;
	static const char kpfx[] = "key.acl.", ppfx[] = "hadoop.kms.proxyuser.";

	for (; line < end; line = eol + 1) {
		if ((eol = memchr(line, '\n', (size_t)(end - line))) == NULL)
			eol = end;
		if ((eq = memchr(line, '=', (size_t)(eol - line))) == NULL)
			continue;
		/* the property: key.acl.NAME.OP, hadoop.kms.proxyuser.REAL.X */
		for (q = eq; q > line && (q[-1] == ' ' || q[-1] == '\t'); q--)
			;
		for (dot = q; dot > line && dot[-1] != '.'; dot--)
			;
		if (dot > line) {
			dot--;
			if ((size_t)(dot - line) > sizeof(kpfx) - 1 &&
			    memcmp(line, kpfx, sizeof(kpfx) - 1) == 0)
				pick(keys, line + sizeof(kpfx) - 1,
				    (size_t)(dot - line) - (sizeof(kpfx) - 1));
			if ((size_t)(dot - line) > sizeof(ppfx) - 1 &&
			    memcmp(line, ppfx, sizeof(ppfx) - 1) == 0)
				pick(proxies, line + sizeof(ppfx) - 1,
				    (size_t)(dot - line) - (sizeof(ppfx) - 1));
		}
		/* the value: words separated by ',', space or tab */
		for (p = eq + 1; p < eol; p = q + 1) {
			for (q = p; q < eol && *q != ',' && *q != ' ' &&
			    *q != '\t' && *q != '\r'; q++)
				;
			pick(users, p, (size_t)(q - p));
		}
	}
}

static void
decide(const struct acls *a, const char *user, const struct picks *keys,
    const struct picks *proxies)
{
	size_t i, j;
	int op, kop, r;

	for (op = 0; op < ACL_NOPS; op++) {
		r = acls_op_allowed(a, user, (enum acl_op)op);
		FUZZ_CHECK(r == 0 || r == 1);
	}
	for (kop = 0; kop < KEYOP_NKEYOPS; kop++) {
		for (i = 0; i < sizeof(fixed_keys) / sizeof(fixed_keys[0]); i++) {
			r = acls_key_allowed(a, user, fixed_keys[i],
			    (enum acl_keyop)kop);
			FUZZ_CHECK(r == 0 || r == 1);
		}
		for (i = 0; i < keys->n; i++) {
			r = acls_key_allowed(a, user, keys->name[i],
			    (enum acl_keyop)kop);
			FUZZ_CHECK(r == 0 || r == 1);
		}
	}
	for (i = 0; i < proxies->n; i++)
		for (j = 0; j < sizeof(addrs) / sizeof(addrs[0]); j++) {
			r = acls_proxy_allowed(a, proxies->name[i], user,
			    addrs[j]);
			FUZZ_CHECK(r == 0 || r == 1);
		}
	r = acls_proxy_allowed(a, "hue", user, "127.0.0.1");
	FUZZ_CHECK(r == 0 || r == 1);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct picks users = { { NULL }, 0 }, keys = { { NULL }, 0 };
	struct picks proxies = { { NULL }, 0 };
	struct acls *a;
	char err[512];
	size_t i;
	int r;

	memset(err, 'x', sizeof(err));
	a = acls_parse((const char *)data, size, FNAME, err, sizeof(err));
	if (a == NULL) {
		FUZZ_CHECK(memchr(err, '\0', sizeof(err)) != NULL);
		FUZZ_CHECK(strncmp(err, FNAME ":", strlen(FNAME ":")) == 0);
		return 0;
	}
	for (i = 0; i < ACL_NOPS; i++)
		FUZZ_CHECK(acl_op_name((enum acl_op)i) != NULL);
	for (i = 0; i < KEYOP_NKEYOPS; i++)
		FUZZ_CHECK(acl_keyop_name((enum acl_keyop)i) != NULL);
	r = acls_has_key_acls(a);
	FUZZ_CHECK(r == 0 || r == 1);

	scan((const char *)data, size, &users, &keys, &proxies);
	for (i = 0; i < sizeof(fixed_users) / sizeof(fixed_users[0]); i++)
		decide(a, fixed_users[i], &keys, &proxies);
	for (i = 0; i < users.n; i++)
		decide(a, users.name[i], &keys, &proxies);
	picks_free(&users);
	picks_free(&keys);
	picks_free(&proxies);
	acls_free(a);
	acls_free(NULL);
	return 0;
}
