/*
 * ttlv.c: the TTLV decoder (strict, to a tree) and encoder (to a growable
 * buffer).  See ttlv.h for the contract.  Values of strings never reach
 * an error message; string values and output buffers are wiped on free.
 */
#include <stdlib.h>
#include <string.h>

#include "kmip/ttlv.h"
#include "lib/errbuf.h"
#include "lib/secbuf.h"

struct ttlv {
	uint32_t	 tag;
	enum ttlv_type	 type;
	int64_t		 num;		/* Integer .. Interval, Boolean */
	unsigned char	*str;		/* Text, Byte String, Big Integer */
	size_t		 len;
	struct ttlv	*child;
	struct ttlv	*next;
};

struct ttlv_buf {
	unsigned char	*p;
	size_t		 len;
	size_t		 cap;
	size_t		 max;
	enum ttlv_err	 err;
};

static const char *const err_names[TTLV_ERR_MAX] = {
	[TTLV_OK]	= "no error",
	[TTLV_ESHORT]	= "truncated header",
	[TTLV_EOVERRUN]	= "value past the end",
	[TTLV_EPAD]	= "non-zero padding",
	[TTLV_ELENGTH]	= "wrong length for the type",
	[TTLV_ETYPE]	= "unknown item type",
	[TTLV_EBOOL]	= "Boolean neither 0 nor 1",
	[TTLV_ETEXT]	= "Text String not valid UTF-8",
	[TTLV_EDEPTH]	= "structures nested too deep",
	[TTLV_ETOOBIG]	= "message too large",
	[TTLV_ETRAILING] = "trailing bytes after the message",
	[TTLV_ENOMEM]	= "out of memory",
};

const char *
ttlv_strerror(enum ttlv_err e)
{
	if ((unsigned int)e >= TTLV_ERR_MAX)
		return "unknown error";
	return err_names[e];
}

static const char *const type_names[] = {
	[TTLV_STRUCTURE] = "Structure", [TTLV_INTEGER] = "Integer",
	[TTLV_LONG_INTEGER] = "Long Integer", [TTLV_BIG_INTEGER] = "Big Integer",
	[TTLV_ENUMERATION] = "Enumeration", [TTLV_BOOLEAN] = "Boolean",
	[TTLV_TEXT_STRING] = "Text String", [TTLV_BYTE_STRING] = "Byte String",
	[TTLV_DATE_TIME] = "Date-Time", [TTLV_INTERVAL] = "Interval",
	[TTLV_DATE_TIME_EXT] = "Date-Time Extended",
};

/* The length a type must have, 0 for variable, -1 for an unknown type. */
static long
fixed_len(unsigned int type)
{
	switch (type) {
	case TTLV_INTEGER:
	case TTLV_ENUMERATION:
	case TTLV_INTERVAL:
		return 4;
	case TTLV_LONG_INTEGER:
	case TTLV_BOOLEAN:
	case TTLV_DATE_TIME:
	case TTLV_DATE_TIME_EXT:
		return 8;
	case TTLV_STRUCTURE:
	case TTLV_BIG_INTEGER:
	case TTLV_TEXT_STRING:
	case TTLV_BYTE_STRING:
		return 0;
	default:
		return -1;
	}
}

static uint32_t
get_be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
}

static uint64_t
get_be64(const unsigned char *p)
{
	return (uint64_t)get_be32(p) << 32 | get_be32(p + 4);
}

/* Whether p[0..n) is UTF-8 without NUL, overlong forms, surrogates or
 * code points past U+10FFFF (RFC 3629). */
static int
valid_utf8(const unsigned char *p, size_t n)
{
	size_t i = 0, k, more;
	uint32_t cp, min;

	while (i < n) {
		unsigned char c = p[i++];

		if (c == 0)
			return 0;
		if (c < 0x80)
			continue;
		if ((c & 0xe0) == 0xc0) {
			more = 1, cp = c & 0x1f, min = 0x80;
		} else if ((c & 0xf0) == 0xe0) {
			more = 2, cp = c & 0x0f, min = 0x800;
		} else if ((c & 0xf8) == 0xf0) {
			more = 3, cp = c & 0x07, min = 0x10000;
		} else {
			return 0;
		}
		if (n - i < more)
			return 0;
		for (k = 0; k < more; k++, i++) {
			if ((p[i] & 0xc0) != 0x80)
				return 0;
			cp = cp << 6 | (p[i] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
	}
	return 1;
}

struct decoder {
	const unsigned char	*buf;
	unsigned int		 max_depth;
	char			*err;
	size_t			 errlen;
};

static enum ttlv_err decode_item(struct decoder *d, size_t *pos, size_t end,
    unsigned int depth, struct ttlv **out);

/* Every item in [pos, end) as a list of children of parent. */
static enum ttlv_err
decode_children(struct decoder *d, size_t pos, size_t end, unsigned int depth,
    struct ttlv *parent)
{
	struct ttlv **tail = &parent->child, *c;
	enum ttlv_err e;

	while (pos < end) {
		if ((e = decode_item(d, &pos, end, depth, &c)) != TTLV_OK)
			return e;
		*tail = c;
		tail = &c->next;
	}
	return TTLV_OK;
}

/* The value of an item whose header is checked: n bytes at p. */
static enum ttlv_err
decode_value(struct decoder *d, size_t off, const unsigned char *p, size_t n,
    unsigned int depth, struct ttlv *t)
{
	switch (t->type) {
	case TTLV_STRUCTURE:
		return decode_children(d, off + TTLV_HEADER_LEN,
		    off + TTLV_HEADER_LEN + n, depth, t);
	case TTLV_INTEGER:
		t->num = (int32_t)get_be32(p);
		return TTLV_OK;
	case TTLV_ENUMERATION:
	case TTLV_INTERVAL:
		t->num = get_be32(p);
		return TTLV_OK;
	case TTLV_BOOLEAN:
		if (get_be64(p) > 1) {
			kw_seterr(d->err, d->errlen, "at byte %zu: Boolean value "
			    "is neither 0 nor 1", off);
			return TTLV_EBOOL;
		}
		t->num = (int64_t)get_be64(p);
		return TTLV_OK;
	case TTLV_LONG_INTEGER:
	case TTLV_DATE_TIME:
	case TTLV_DATE_TIME_EXT:
		t->num = (int64_t)get_be64(p);
		return TTLV_OK;
	case TTLV_TEXT_STRING:
		if (!valid_utf8(p, n)) {
			kw_seterr(d->err, d->errlen, "at byte %zu: Text String is "
			    "not valid UTF-8 or holds a NUL byte", off);
			return TTLV_ETEXT;
		}
		break;
	case TTLV_BIG_INTEGER:
	case TTLV_BYTE_STRING:
		break;
	}
	/* strings: a copy with a NUL after it, wiped on free */
	if ((t->str = malloc(n + 1)) == NULL) {
		kw_seterr(d->err, d->errlen, "out of memory");
		return TTLV_ENOMEM;
	}
	if (n > 0)
		memcpy(t->str, p, n);
	t->str[n] = '\0';
	t->len = n;
	return TTLV_OK;
}

/* Check the item's length against its type; 0 or an error. */
static enum ttlv_err
check_length(struct decoder *d, size_t off, unsigned int type, uint32_t len)
{
	long want = fixed_len(type);

	if (want > 0 && len != (uint32_t)want) {
		kw_seterr(d->err, d->errlen, "at byte %zu: %s has length %u, "
		    "must be %ld", off, type_names[type], (unsigned int)len, want);
		return TTLV_ELENGTH;
	}
	if ((type == TTLV_STRUCTURE || type == TTLV_BIG_INTEGER) &&
	    len % 8 != 0) {
		kw_seterr(d->err, d->errlen, "at byte %zu: %s has length %u, "
		    "not a multiple of 8", off, type_names[type],
		    (unsigned int)len);
		return TTLV_ELENGTH;
	}
	return TTLV_OK;
}

/* One item at *pos, ending no later than end; *pos moves past it. */
static enum ttlv_err
decode_item(struct decoder *d, size_t *pos, size_t end, unsigned int depth,
    struct ttlv **out)
{
	const unsigned char *h = d->buf + *pos;
	size_t off = *pos, room, padded, i;
	unsigned int type;
	uint32_t len;
	struct ttlv *t;
	enum ttlv_err e;

	*out = NULL;
	if (end - off < TTLV_HEADER_LEN) {
		kw_seterr(d->err, d->errlen, "at byte %zu: %zu bytes left where "
		    "an 8-byte item header must be", off, end - off);
		return TTLV_ESHORT;
	}
	type = h[3];
	len = get_be32(h + 4);
	if (fixed_len(type) < 0) {
		kw_seterr(d->err, d->errlen, "at byte %zu: unknown item type "
		    "0x%02x", off, type);
		return TTLV_ETYPE;
	}
	if ((e = check_length(d, off, type, len)) != TTLV_OK)
		return e;
	room = end - off - TTLV_HEADER_LEN;
	padded = ((size_t)len + 7) & ~(size_t)7;
	if (len > room || padded > room) {
		kw_seterr(d->err, d->errlen, "at byte %zu: %s of length %u "
		    "(%zu with padding) runs past the end, %zu bytes left", off,
		    type_names[type], (unsigned int)len, padded, room);
		return TTLV_EOVERRUN;
	}
	for (i = len; i < padded; i++) {
		if (h[TTLV_HEADER_LEN + i] != 0) {
			kw_seterr(d->err, d->errlen, "at byte %zu: padding byte "
			    "of the %s at byte %zu is not zero",
			    off + TTLV_HEADER_LEN + i, type_names[type], off);
			return TTLV_EPAD;
		}
	}
	if (type == TTLV_STRUCTURE && depth + 1 > d->max_depth) {
		kw_seterr(d->err, d->errlen, "at byte %zu: structures nested "
		    "deeper than %u", off, d->max_depth);
		return TTLV_EDEPTH;
	}
	if ((t = calloc(1, sizeof(*t))) == NULL) {
		kw_seterr(d->err, d->errlen, "out of memory");
		return TTLV_ENOMEM;
	}
	t->tag = (uint32_t)h[0] << 16 | (uint32_t)h[1] << 8 | h[2];
	t->type = (enum ttlv_type)type;
	if ((e = decode_value(d, off, h + TTLV_HEADER_LEN, len, depth + 1,
	    t)) != TTLV_OK) {
		ttlv_free(t);
		return e;
	}
	*pos = off + TTLV_HEADER_LEN + padded;
	*out = t;
	return TTLV_OK;
}

enum ttlv_err
ttlv_decode(const unsigned char *buf, size_t len, const struct ttlv_limits *lim,
    struct ttlv **out, char *err, size_t errlen)
{
	struct ttlv_limits def = { TTLV_DEFAULT_MAX_SIZE, TTLV_DEFAULT_MAX_DEPTH };
	struct decoder d = { buf, 0, err, errlen };
	size_t pos = 0;
	enum ttlv_err e;

	*out = NULL;
	if (lim == NULL)
		lim = &def;
	d.max_depth = lim->max_depth;
	if (len > lim->max_size) {
		kw_seterr(err, errlen, "message of %zu bytes is over the limit "
		    "of %zu", len, lim->max_size);
		return TTLV_ETOOBIG;
	}
	if ((e = decode_item(&d, &pos, len, 0, out)) != TTLV_OK)
		return e;
	if (pos != len) {
		kw_seterr(err, errlen, "at byte %zu: %zu bytes after the end of "
		    "the message", pos, len - pos);
		ttlv_free(*out);
		*out = NULL;
		return TTLV_ETRAILING;
	}
	return TTLV_OK;
}

enum ttlv_err
ttlv_frame_len(const unsigned char *hdr, size_t len,
    const struct ttlv_limits *lim, size_t *total, char *err, size_t errlen)
{
	size_t max = lim != NULL ? lim->max_size : TTLV_DEFAULT_MAX_SIZE;
	uint32_t n;

	*total = 0;
	if (len < TTLV_HEADER_LEN) {
		kw_seterr(err, errlen, "%zu bytes where an 8-byte message "
		    "header must be", len);
		return TTLV_ESHORT;
	}
	if (hdr[3] != TTLV_STRUCTURE) {
		kw_seterr(err, errlen, "message of type 0x%02x, not a Structure",
		    hdr[3]);
		return TTLV_ETYPE;
	}
	n = get_be32(hdr + 4);
	if (n % 8 != 0) {
		kw_seterr(err, errlen, "message length %u is not a multiple "
		    "of 8", (unsigned int)n);
		return TTLV_ELENGTH;
	}
	if ((size_t)n + TTLV_HEADER_LEN > max) {
		kw_seterr(err, errlen, "message of %zu bytes is over the limit "
		    "of %zu", (size_t)n + TTLV_HEADER_LEN, max);
		return TTLV_ETOOBIG;
	}
	*total = (size_t)n + TTLV_HEADER_LEN;
	return TTLV_OK;
}

void
ttlv_free(struct ttlv *t)
{
	struct ttlv *next;

	/* siblings in a loop, children by recursion (depth is bounded) */
	for (; t != NULL; t = next) {
		next = t->next;
		ttlv_free(t->child);
		if (t->str != NULL) {
			secure_wipe(t->str, t->len + 1);
			free(t->str);
		}
		secure_wipe(t, sizeof(*t));
		free(t);
	}
}

/* --- the tree --- */

uint32_t
ttlv_tag(const struct ttlv *t)
{
	return t->tag;
}

enum ttlv_type
ttlv_type(const struct ttlv *t)
{
	return t->type;
}

const struct ttlv *
ttlv_first(const struct ttlv *t)
{
	return t != NULL ? t->child : NULL;
}

const struct ttlv *
ttlv_next(const struct ttlv *t)
{
	return t != NULL ? t->next : NULL;
}

const struct ttlv *
ttlv_find(const struct ttlv *s, uint32_t tag)
{
	const struct ttlv *c;

	for (c = ttlv_first(s); c != NULL; c = c->next)
		if (c->tag == tag)
			return c;
	return NULL;
}

const struct ttlv *
ttlv_find_next(const struct ttlv *c)
{
	const struct ttlv *n;

	if (c == NULL)
		return NULL;
	for (n = c->next; n != NULL; n = n->next)
		if (n->tag == c->tag)
			return n;
	return NULL;
}

size_t
ttlv_count(const struct ttlv *s, uint32_t tag)
{
	const struct ttlv *c;
	size_t n = 0;

	for (c = ttlv_first(s); c != NULL; c = c->next)
		if (tag == 0 || c->tag == tag)
			n++;
	return n;
}

int
ttlv_get_int(const struct ttlv *t, int32_t *v)
{
	if (t == NULL || t->type != TTLV_INTEGER)
		return -1;
	*v = (int32_t)t->num;
	return 0;
}

int
ttlv_get_long(const struct ttlv *t, int64_t *v)
{
	if (t == NULL || t->type != TTLV_LONG_INTEGER)
		return -1;
	*v = t->num;
	return 0;
}

int
ttlv_get_enum(const struct ttlv *t, uint32_t *v)
{
	if (t == NULL || t->type != TTLV_ENUMERATION)
		return -1;
	*v = (uint32_t)t->num;
	return 0;
}

int
ttlv_get_bool(const struct ttlv *t, int *v)
{
	if (t == NULL || t->type != TTLV_BOOLEAN)
		return -1;
	*v = t->num != 0;
	return 0;
}

int
ttlv_get_interval(const struct ttlv *t, uint32_t *v)
{
	if (t == NULL || t->type != TTLV_INTERVAL)
		return -1;
	*v = (uint32_t)t->num;
	return 0;
}

int
ttlv_get_datetime(const struct ttlv *t, int64_t *v)
{
	if (t == NULL || t->type != TTLV_DATE_TIME)
		return -1;
	*v = t->num;
	return 0;
}

int
ttlv_get_datetime_ext(const struct ttlv *t, int64_t *v)
{
	if (t == NULL || t->type != TTLV_DATE_TIME_EXT)
		return -1;
	*v = t->num;
	return 0;
}

/* The string of a node of type want. */
static int
get_str(const struct ttlv *t, enum ttlv_type want, const unsigned char **p,
    size_t *len)
{
	if (t == NULL || t->type != want)
		return -1;
	*p = t->str;
	*len = t->len;
	return 0;
}

int
ttlv_get_text(const struct ttlv *t, const char **s, size_t *len)
{
	const unsigned char *p;

	if (get_str(t, TTLV_TEXT_STRING, &p, len) != 0)
		return -1;
	*s = (const char *)p;
	return 0;
}

int
ttlv_get_bytes(const struct ttlv *t, const unsigned char **p, size_t *len)
{
	return get_str(t, TTLV_BYTE_STRING, p, len);
}

int
ttlv_get_bigint(const struct ttlv *t, const unsigned char **p, size_t *len)
{
	return get_str(t, TTLV_BIG_INTEGER, p, len);
}

/* --- encoding --- */

struct ttlv_buf *
ttlv_buf_new(size_t max)
{
	struct ttlv_buf *b = calloc(1, sizeof(*b));

	if (b != NULL)
		b->max = max != 0 ? max : TTLV_DEFAULT_MAX_SIZE;
	return b;
}

void
ttlv_buf_free(struct ttlv_buf *b)
{
	if (b == NULL)
		return;
	if (b->p != NULL) {
		secure_wipe(b->p, b->cap);
		free(b->p);
	}
	free(b);
}

const unsigned char *
ttlv_buf_data(const struct ttlv_buf *b, size_t *len)
{
	static const unsigned char empty[1];

	*len = 0;
	if (b->err != TTLV_OK)
		return NULL;
	*len = b->len;
	return b->p != NULL ? b->p : empty;
}

size_t
ttlv_buf_len(const struct ttlv_buf *b)
{
	return b->len;
}

enum ttlv_err
ttlv_buf_error(const struct ttlv_buf *b)
{
	return b->err;
}

void
ttlv_buf_rewind(struct ttlv_buf *b, size_t len)
{
	if (len > b->len)
		return;
	if (b->p != NULL)
		secure_wipe(b->p + len, b->len - len);
	b->len = len;
	if (b->err == TTLV_ETOOBIG)
		b->err = TTLV_OK;
}

/* Room for n more bytes; 0, or -1 with the error recorded.  Growing
 * copies into a new block and wipes the old (responses carry keys). */
static int
reserve(struct ttlv_buf *b, size_t n)
{
	size_t cap;
	unsigned char *p;

	if (b->err != TTLV_OK)
		return -1;
	if (n > b->max || b->len > b->max - n) {
		b->err = TTLV_ETOOBIG;
		return -1;
	}
	if (b->len + n <= b->cap)
		return 0;
	cap = b->cap != 0 ? b->cap : 256;
	while (cap < b->len + n)
		cap *= 2;
	if ((p = malloc(cap)) == NULL) {
		b->err = TTLV_ENOMEM;
		return -1;
	}
	if (b->p != NULL) {
		memcpy(p, b->p, b->len);
		secure_wipe(b->p, b->cap);
		free(b->p);
	}
	b->p = p;
	b->cap = cap;
	return 0;
}

static void
put_be32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

static void
put_be64(unsigned char *p, uint64_t v)
{
	put_be32(p, (uint32_t)(v >> 32));
	put_be32(p + 4, (uint32_t)v);
}

/* A header and room for len value bytes plus padding, zeroed; returns
 * where the value goes, or NULL. */
static unsigned char *
put_header(struct ttlv_buf *b, uint32_t tag, enum ttlv_type type, size_t len)
{
	size_t padded = (len + 7) & ~(size_t)7;
	unsigned char *h;

	if (len > UINT32_MAX || padded < len) {
		if (b->err == TTLV_OK)
			b->err = TTLV_ETOOBIG;
		return NULL;
	}
	if (reserve(b, TTLV_HEADER_LEN + padded) != 0)
		return NULL;
	h = b->p + b->len;
	h[0] = (unsigned char)(tag >> 16);
	h[1] = (unsigned char)(tag >> 8);
	h[2] = (unsigned char)tag;
	h[3] = (unsigned char)type;
	put_be32(h + 4, (uint32_t)len);
	memset(h + TTLV_HEADER_LEN, 0, padded);
	b->len += TTLV_HEADER_LEN + padded;
	return h + TTLV_HEADER_LEN;
}

static void
put_u32(struct ttlv_buf *b, uint32_t tag, enum ttlv_type type, uint32_t v)
{
	unsigned char *p = put_header(b, tag, type, 4);

	if (p != NULL)
		put_be32(p, v);
}

static void
put_u64(struct ttlv_buf *b, uint32_t tag, enum ttlv_type type, uint64_t v)
{
	unsigned char *p = put_header(b, tag, type, 8);

	if (p != NULL)
		put_be64(p, v);
}

void
ttlv_put_int(struct ttlv_buf *b, uint32_t tag, int32_t v)
{
	put_u32(b, tag, TTLV_INTEGER, (uint32_t)v);
}

void
ttlv_put_enum(struct ttlv_buf *b, uint32_t tag, uint32_t v)
{
	put_u32(b, tag, TTLV_ENUMERATION, v);
}

void
ttlv_put_interval(struct ttlv_buf *b, uint32_t tag, uint32_t v)
{
	put_u32(b, tag, TTLV_INTERVAL, v);
}

void
ttlv_put_long(struct ttlv_buf *b, uint32_t tag, int64_t v)
{
	put_u64(b, tag, TTLV_LONG_INTEGER, (uint64_t)v);
}

void
ttlv_put_bool(struct ttlv_buf *b, uint32_t tag, int v)
{
	put_u64(b, tag, TTLV_BOOLEAN, v != 0);
}

void
ttlv_put_datetime(struct ttlv_buf *b, uint32_t tag, int64_t v)
{
	put_u64(b, tag, TTLV_DATE_TIME, (uint64_t)v);
}

void
ttlv_put_datetime_ext(struct ttlv_buf *b, uint32_t tag, int64_t v)
{
	put_u64(b, tag, TTLV_DATE_TIME_EXT, (uint64_t)v);
}

static void
put_str(struct ttlv_buf *b, uint32_t tag, enum ttlv_type type, const void *s,
    size_t len)
{
	unsigned char *p = put_header(b, tag, type, len);

	if (p != NULL && len > 0)
		memcpy(p, s, len);
}

void
ttlv_put_text(struct ttlv_buf *b, uint32_t tag, const char *s, size_t len)
{
	put_str(b, tag, TTLV_TEXT_STRING, s, len);
}

void
ttlv_put_bytes(struct ttlv_buf *b, uint32_t tag, const void *p, size_t len)
{
	put_str(b, tag, TTLV_BYTE_STRING, p, len);
}

void
ttlv_put_bigint(struct ttlv_buf *b, uint32_t tag, const unsigned char *p,
    size_t len)
{
	size_t full = len == 0 ? 8 : (len + 7) & ~(size_t)7;
	unsigned char *v, fill;

	if (full < len) {
		if (b->err == TTLV_OK)
			b->err = TTLV_ETOOBIG;
		return;
	}
	if ((v = put_header(b, tag, TTLV_BIG_INTEGER, full)) == NULL)
		return;
	fill = len > 0 && (p[0] & 0x80) ? 0xff : 0x00;
	memset(v, fill, full - len);
	if (len > 0)
		memcpy(v + full - len, p, len);
}

void
ttlv_buf_set_int(struct ttlv_buf *b, size_t mark, int32_t v)
{
	if (b->err != TTLV_OK || mark > b->len || b->len - mark < 16 ||
	    b->p[mark + 3] != TTLV_INTEGER)
		return;
	put_be32(b->p + mark + TTLV_HEADER_LEN, (uint32_t)v);
}

size_t
ttlv_begin(struct ttlv_buf *b, uint32_t tag)
{
	size_t mark = b->len;

	(void)put_header(b, tag, TTLV_STRUCTURE, 0);
	return mark;
}

void
ttlv_end(struct ttlv_buf *b, size_t mark)
{
	if (b->err != TTLV_OK || mark + TTLV_HEADER_LEN > b->len)
		return;
	/* everything inside is whole padded items: a multiple of 8 */
	put_be32(b->p + mark + 4, (uint32_t)(b->len - mark - TTLV_HEADER_LEN));
}

void
ttlv_put_node(struct ttlv_buf *b, const struct ttlv *t, uint32_t tag)
{
	const struct ttlv *c;
	size_t mark;

	if (tag == 0)
		tag = t->tag;
	switch (t->type) {
	case TTLV_STRUCTURE:
		mark = ttlv_begin(b, tag);
		for (c = t->child; c != NULL; c = c->next)
			ttlv_put_node(b, c, 0);
		ttlv_end(b, mark);
		break;
	case TTLV_INTEGER:
	case TTLV_ENUMERATION:
	case TTLV_INTERVAL:
		put_u32(b, tag, t->type, (uint32_t)t->num);
		break;
	case TTLV_LONG_INTEGER:
	case TTLV_BOOLEAN:
	case TTLV_DATE_TIME:
	case TTLV_DATE_TIME_EXT:
		put_u64(b, tag, t->type, (uint64_t)t->num);
		break;
	case TTLV_BIG_INTEGER:
	case TTLV_TEXT_STRING:
	case TTLV_BYTE_STRING:
		put_str(b, tag, t->type, t->str, t->len);
		break;
	}
}
