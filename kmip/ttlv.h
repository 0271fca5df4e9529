/*
 * ttlv.h: KMIP's binary encoding (Tag, Type, Length, Value), both ways.
 *
 * An item is a 3-byte tag, a 1-byte type, a 4-byte big-endian length and
 * the value, padded with zero bytes to a multiple of 8.  The decoder is
 * strict: every malformed shape is its own error code with a message that
 * names the offset and never quotes a value (byte strings carry key
 * material).  It builds a tree of opaque nodes; byte and text strings are
 * copied out and wiped when the tree is freed.  The encoder writes into a
 * growable buffer with a size cap; its errors are sticky, so a response is
 * built with plain calls and checked once at the end.
 *
 * What a tag means is not this module's business (kmip/tags.h, message.h).
 * Nothing here keeps global state: every function is thread-safe on its
 * own arguments.
 */
#ifndef KW_KMIP_TTLV_H
#define KW_KMIP_TTLV_H

#include <stddef.h>
#include <stdint.h>

#include "lib/kwerr.h"

/* Item types (KMIP 1.0 section 9.1.1.2; Date-Time Extended is 2.0's). */
enum ttlv_type {
	TTLV_STRUCTURE		= 0x01,
	TTLV_INTEGER		= 0x02,
	TTLV_LONG_INTEGER	= 0x03,
	TTLV_BIG_INTEGER	= 0x04,
	TTLV_ENUMERATION	= 0x05,
	TTLV_BOOLEAN		= 0x06,
	TTLV_TEXT_STRING	= 0x07,
	TTLV_BYTE_STRING	= 0x08,
	TTLV_DATE_TIME		= 0x09,
	TTLV_INTERVAL		= 0x0A,
	TTLV_DATE_TIME_EXT	= 0x0B,
};

/* Why a decode or an encode failed; ttlv_strerror names each. */
enum ttlv_err {
	TTLV_OK = 0,
	TTLV_ESHORT,		/* fewer than 8 bytes where a header must be */
	TTLV_EOVERRUN,		/* value or padding past the end of its parent */
	TTLV_EPAD,		/* a padding byte is not zero */
	TTLV_ELENGTH,		/* wrong length for the type (Integer not 4, ...) */
	TTLV_ETYPE,		/* unknown type byte */
	TTLV_EBOOL,		/* Boolean neither 0 nor 1 */
	TTLV_ETEXT,		/* Text String not UTF-8, or holding a NUL */
	TTLV_EDEPTH,		/* structures nested deeper than the limit */
	TTLV_ETOOBIG,		/* message (or output) over the size limit */
	TTLV_ETRAILING,		/* bytes after the item */
	TTLV_ENOMEM,
	TTLV_ERR_MAX
};

/* Limits a decode enforces; see TTLV_DEFAULT_* for sensible values. */
struct ttlv_limits {
	size_t		max_size;	/* whole message, header included */
	unsigned int	max_depth;	/* the top item is depth 1 */
};

#define TTLV_DEFAULT_MAX_SIZE	(1024 * 1024)
#define TTLV_DEFAULT_MAX_DEPTH	16
#define TTLV_HEADER_LEN		8

struct ttlv;		/* a decoded item and, for structures, its children */
struct ttlv_buf;	/* an encoder's output */

/* --- errors --- */

/* A short English name of e ("value past the end"); never NULL. */
const char	*ttlv_strerror(enum ttlv_err e);

/* --- decoding --- */

/* Decode buf[0..len) as exactly one item under lim (NULL: the defaults).
 * On success *out is the tree (free with ttlv_free) and TTLV_OK is
 * returned; otherwise *out is NULL and err (when not NULL) holds a
 * message naming the byte offset of the fault. */
enum ttlv_err	 ttlv_decode(const unsigned char *buf, size_t len,
		    const struct ttlv_limits *lim, struct ttlv **out,
		    char *err, size_t errlen) WUR;
/* For a reader of a stream: from the first 8 bytes of a message, the
 * whole message's length in *total.  Fails with TTLV_ESHORT (len < 8),
 * TTLV_ETYPE (not a Structure: a KMIP message always is), TTLV_ELENGTH
 * (length not a multiple of 8) or TTLV_ETOOBIG (over lim->max_size). */
enum ttlv_err	 ttlv_frame_len(const unsigned char *hdr, size_t len,
		    const struct ttlv_limits *lim, size_t *total,
		    char *err, size_t errlen) WUR;
/* Free a tree, wiping every string value first; NULL is a no-op. */
void		 ttlv_free(struct ttlv *t);

/* --- the tree --- */

uint32_t	 ttlv_tag(const struct ttlv *t);
enum ttlv_type	 ttlv_type(const struct ttlv *t);
/* First child of a structure (NULL for none or for a primitive), and the
 * next sibling (NULL at the end): for (c = ttlv_first(s); c; c = ttlv_next(c)). */
const struct ttlv *ttlv_first(const struct ttlv *t);
const struct ttlv *ttlv_next(const struct ttlv *t);
/* The first child of s with tag, or NULL; the next sibling after c with
 * the same tag as c, or NULL. */
const struct ttlv *ttlv_find(const struct ttlv *s, uint32_t tag);
const struct ttlv *ttlv_find_next(const struct ttlv *c);
/* How many children of s carry tag (all children when tag is 0). */
size_t		 ttlv_count(const struct ttlv *s, uint32_t tag);

/* Typed getters: 0 and the value, or -1 when t is NULL or of another
 * type (the out value is then left alone).  String pointers live as long
 * as the tree; a Text String is NUL-terminated as well. */
int		 ttlv_get_int(const struct ttlv *t, int32_t *v) WUR;
int		 ttlv_get_long(const struct ttlv *t, int64_t *v) WUR;
int		 ttlv_get_enum(const struct ttlv *t, uint32_t *v) WUR;
int		 ttlv_get_bool(const struct ttlv *t, int *v) WUR;
int		 ttlv_get_text(const struct ttlv *t, const char **s,
		    size_t *len) WUR;
int		 ttlv_get_bytes(const struct ttlv *t, const unsigned char **p,
		    size_t *len) WUR;
/* Big Integer: two's complement, big-endian, a multiple of 8 bytes. */
int		 ttlv_get_bigint(const struct ttlv *t, const unsigned char **p,
		    size_t *len) WUR;
/* Date-Time in seconds, Date-Time Extended in microseconds, since the
 * POSIX epoch. */
int		 ttlv_get_datetime(const struct ttlv *t, int64_t *v) WUR;
int		 ttlv_get_datetime_ext(const struct ttlv *t, int64_t *v) WUR;
int		 ttlv_get_interval(const struct ttlv *t, uint32_t *v) WUR;

/* --- encoding --- */

/* An empty output that refuses to grow past max bytes (0: the default
 * message size).  NULL when memory is short. */
struct ttlv_buf	*ttlv_buf_new(size_t max);
/* Wipe and free; NULL is a no-op. */
void		 ttlv_buf_free(struct ttlv_buf *b);
/* The bytes so far and their count, or NULL when an earlier put failed
 * (ttlv_buf_error says why).  Valid until the next put or the free. */
const unsigned char *ttlv_buf_data(const struct ttlv_buf *b, size_t *len);
size_t		 ttlv_buf_len(const struct ttlv_buf *b);
enum ttlv_err	 ttlv_buf_error(const struct ttlv_buf *b);
/* Cut the output back to len bytes (a mark from ttlv_buf_len) and clear
 * a TTLV_ETOOBIG error, so that a caller can replace an item that did not
 * fit with a shorter one.  Other errors stay. */
void		 ttlv_buf_rewind(struct ttlv_buf *b, size_t len);

/* Each put appends one item; on failure the buffer records the error and
 * ignores every later put (so these return nothing). */
void		 ttlv_put_int(struct ttlv_buf *b, uint32_t tag, int32_t v);
void		 ttlv_put_long(struct ttlv_buf *b, uint32_t tag, int64_t v);
void		 ttlv_put_enum(struct ttlv_buf *b, uint32_t tag, uint32_t v);
void		 ttlv_put_bool(struct ttlv_buf *b, uint32_t tag, int v);
void		 ttlv_put_text(struct ttlv_buf *b, uint32_t tag, const char *s,
		    size_t len);
void		 ttlv_put_bytes(struct ttlv_buf *b, uint32_t tag,
		    const void *p, size_t len);
/* p[0..len) is a big-endian two's complement number of any length; it is
 * sign-extended on the left to a multiple of 8 bytes. */
void		 ttlv_put_bigint(struct ttlv_buf *b, uint32_t tag,
		    const unsigned char *p, size_t len);
void		 ttlv_put_datetime(struct ttlv_buf *b, uint32_t tag, int64_t v);
void		 ttlv_put_datetime_ext(struct ttlv_buf *b, uint32_t tag,
		    int64_t v);
void		 ttlv_put_interval(struct ttlv_buf *b, uint32_t tag,
		    uint32_t v);
/* Overwrite the value of the Integer put at mark (ttlv_buf_len before
 * it was put): for a count known only at the end. */
void		 ttlv_buf_set_int(struct ttlv_buf *b, size_t mark, int32_t v);
/* Open a structure; returns the mark ttlv_end needs.  Structures nest. */
size_t		 ttlv_begin(struct ttlv_buf *b, uint32_t tag);
void		 ttlv_end(struct ttlv_buf *b, size_t mark);
/* Append a decoded item (and its children) as it was, under a new tag
 * when tag is not 0: for echoing attribute values back. */
void		 ttlv_put_node(struct ttlv_buf *b, const struct ttlv *t,
		    uint32_t tag);

#endif
