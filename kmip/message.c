/*
 * message.c: KMIP Request Message parsing and Response Message building
 * (see message.h).  The shapes checked here are those of the KMIP 1.0 to
 * 1.4 and 2.0 specifications' "Message Contents" and "Message Format"
 * chapters; the fields of each structure are declared in a table with
 * their type and the version that brought them.
 */
#include <stdlib.h>
#include <string.h>

#include "kmip/message.h"
#include "kmip/tags.h"
#include "lib/errbuf.h"
#include "lib/secbuf.h"

/* A field a structure may hold. */
struct field {
	uint32_t	 tag;
	enum ttlv_type	 type;
	int32_t		 since_major;	/* the version that brought it */
	int32_t		 since_minor;
	int		 repeats;	/* may appear more than once */
	const char	*name;
};

static const struct field header_fields[] = {
	{ KMIP_TAG_PROTOCOL_VERSION, TTLV_STRUCTURE, 1, 0, 0,
	    "Protocol Version" },
	{ KMIP_TAG_MAXIMUM_RESPONSE_SIZE, TTLV_INTEGER, 1, 0, 0,
	    "Maximum Response Size" },
	{ KMIP_TAG_CLIENT_CORRELATION_VALUE, TTLV_TEXT_STRING, 1, 4, 0,
	    "Client Correlation Value" },
	{ KMIP_TAG_SERVER_CORRELATION_VALUE, TTLV_TEXT_STRING, 1, 4, 0,
	    "Server Correlation Value" },
	{ KMIP_TAG_ASYNCHRONOUS_INDICATOR, TTLV_BOOLEAN, 1, 0, 0,
	    "Asynchronous Indicator" },
	{ KMIP_TAG_ATTESTATION_CAPABLE_INDICATOR, TTLV_BOOLEAN, 1, 2, 0,
	    "Attestation Capable Indicator" },
	{ KMIP_TAG_ATTESTATION_TYPE, TTLV_ENUMERATION, 1, 2, 1,
	    "Attestation Type" },
	{ KMIP_TAG_AUTHENTICATION, TTLV_STRUCTURE, 1, 0, 0, "Authentication" },
	{ KMIP_TAG_BATCH_ERROR_CONTINUATION_OPTION, TTLV_ENUMERATION, 1, 0, 0,
	    "Batch Error Continuation Option" },
	{ KMIP_TAG_BATCH_ORDER_OPTION, TTLV_BOOLEAN, 1, 0, 0,
	    "Batch Order Option" },
	{ KMIP_TAG_TIME_STAMP, TTLV_DATE_TIME, 1, 0, 0, "Time Stamp" },
	{ KMIP_TAG_BATCH_COUNT, TTLV_INTEGER, 1, 0, 0, "Batch Count" },
};

static const struct field item_fields[] = {
	{ KMIP_TAG_OPERATION, TTLV_ENUMERATION, 1, 0, 0, "Operation" },
	{ KMIP_TAG_EPHEMERAL, TTLV_BOOLEAN, 2, 0, 0, "Ephemeral" },
	{ KMIP_TAG_UNIQUE_BATCH_ITEM_ID, TTLV_BYTE_STRING, 1, 0, 0,
	    "Unique Batch Item ID" },
	{ KMIP_TAG_REQUEST_PAYLOAD, TTLV_STRUCTURE, 1, 0, 0, "Request Payload" },
	{ KMIP_TAG_MESSAGE_EXTENSION, TTLV_STRUCTURE, 1, 0, 0,
	    "Message Extension" },
};

static const struct field version_fields[] = {
	{ KMIP_TAG_PROTOCOL_VERSION_MAJOR, TTLV_INTEGER, 1, 0, 0,
	    "Protocol Version Major" },
	{ KMIP_TAG_PROTOCOL_VERSION_MINOR, TTLV_INTEGER, 1, 0, 0,
	    "Protocol Version Minor" },
};

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

int
kmip_version_known(const struct kmip_version *v)
{
	return (v->major == 1 && v->minor >= 0 && v->minor <= 4) ||
	    (v->major == 2 && v->minor == 0);
}

static int
version_at_least(const struct kmip_version *v, int32_t major, int32_t minor)
{
	return v->major > major || (v->major == major && v->minor >= minor);
}

/*
 * Every child of s (the structure called what) is a field of the table,
 * of its type, of a version at or before v, and not repeated unless it
 * may be; each field marked required is there.  0 or -1 with err set.
 */
static int
check_fields(const struct ttlv *s, const char *what, const struct field *tab,
    size_t n, const uint32_t *required, size_t nreq,
    const struct kmip_version *v, char *err, size_t errlen)
{
	const struct ttlv *c;
	size_t i;

	for (c = ttlv_first(s); c != NULL; c = ttlv_next(c)) {
		for (i = 0; i < n && tab[i].tag != ttlv_tag(c); i++)
			;
		if (i == n) {
			kw_seterr(err, errlen, "unexpected field with tag 0x%06x "
			    "in the %s", (unsigned int)ttlv_tag(c), what);
			return -1;
		}
		if (ttlv_type(c) != tab[i].type) {
			kw_seterr(err, errlen, "%s in the %s has type 0x%02x, not "
			    "0x%02x", tab[i].name, what, ttlv_type(c),
			    tab[i].type);
			return -1;
		}
		if (v != NULL && !version_at_least(v, tab[i].since_major,
		    tab[i].since_minor)) {
			kw_seterr(err, errlen, "%s in the %s is not part of KMIP "
			    "%d.%d", tab[i].name, what, (int)v->major,
			    (int)v->minor);
			return -1;
		}
		if (!tab[i].repeats && ttlv_find_next(c) != NULL) {
			kw_seterr(err, errlen, "%s appears twice in the %s",
			    tab[i].name, what);
			return -1;
		}
	}
	for (i = 0; i < nreq; i++) {
		if (ttlv_find(s, required[i]) == NULL) {
			size_t k;

			for (k = 0; k < n && tab[k].tag != required[i]; k++)
				;
			kw_seterr(err, errlen, "the %s has no %s", what,
			    k < n ? tab[k].name : "required field");
			return -1;
		}
	}
	return 0;
}

/* The Protocol Version structure pv into *v. */
static int
read_version(const struct ttlv *pv, struct kmip_version *v, char *err,
    size_t errlen)
{
	static const uint32_t req[] = { KMIP_TAG_PROTOCOL_VERSION_MAJOR,
	    KMIP_TAG_PROTOCOL_VERSION_MINOR };
	struct kmip_version got;

	if (check_fields(pv, "Protocol Version", version_fields,
	    NELEM(version_fields), req, NELEM(req), NULL, err, errlen) != 0)
		return -1;
	if (ttlv_get_int(ttlv_find(pv, KMIP_TAG_PROTOCOL_VERSION_MAJOR),
	    &got.major) != 0 || ttlv_get_int(ttlv_find(pv,
	    KMIP_TAG_PROTOCOL_VERSION_MINOR), &got.minor) != 0)
		return -1;	/* (checked above) */
	if (got.major < 0 || got.minor < 0) {
		kw_seterr(err, errlen, "negative protocol version");
		return -1;
	}
	*v = got;
	return 0;
}

/* The Request Header h into r (r->version is set already). */
static int
read_header(const struct ttlv *h, struct kmip_request *r, int32_t *count,
    char *err, size_t errlen)
{
	static const uint32_t req[] = { KMIP_TAG_PROTOCOL_VERSION,
	    KMIP_TAG_BATCH_COUNT };
	const struct ttlv *f;
	uint32_t e;
	int b;

	if (check_fields(h, "Request Header", header_fields,
	    NELEM(header_fields), req, NELEM(req), &r->version, err,
	    errlen) != 0)
		return -1;
	if ((f = ttlv_find(h, KMIP_TAG_MAXIMUM_RESPONSE_SIZE)) != NULL &&
	    (ttlv_get_int(f, &r->max_response_size) != 0 ||
	    r->max_response_size <= 0)) {
		kw_seterr(err, errlen, "Maximum Response Size is not positive");
		return -1;
	}
	if ((f = ttlv_find(h, KMIP_TAG_TIME_STAMP)) != NULL)
		r->has_time_stamp = ttlv_get_datetime(f, &r->time_stamp) == 0;
	if (ttlv_get_enum(ttlv_find(h, KMIP_TAG_BATCH_ERROR_CONTINUATION_OPTION),
	    &e) == 0)
		r->batch_error_option = e;
	if (ttlv_get_bool(ttlv_find(h, KMIP_TAG_BATCH_ORDER_OPTION), &b) == 0)
		r->batch_order = b;
	if (ttlv_get_bool(ttlv_find(h, KMIP_TAG_ASYNCHRONOUS_INDICATOR),
	    &b) == 0)
		r->asynchronous = b;
	if (ttlv_get_int(ttlv_find(h, KMIP_TAG_BATCH_COUNT), count) != 0 ||
	    *count < 1) {
		kw_seterr(err, errlen, "Batch Count is less than 1");
		return -1;
	}
	return 0;
}

/* Batch item bi, the n-th (from 1) of count, into it. */
static int
read_item(const struct ttlv *bi, size_t n, int32_t count,
    const struct kmip_version *v, struct kmip_item *it, char *err,
    size_t errlen)
{
	static const uint32_t req[] = { KMIP_TAG_OPERATION,
	    KMIP_TAG_REQUEST_PAYLOAD };
	const struct ttlv *id;
	char what[40];

	kw_seterr(what, sizeof(what), "Batch Item %zu", n);
	if (ttlv_type(bi) != TTLV_STRUCTURE) {
		kw_seterr(err, errlen, "%s is not a Structure", what);
		return -1;
	}
	if (check_fields(bi, what, item_fields, NELEM(item_fields), req,
	    NELEM(req), v, err, errlen) != 0)
		return -1;
	if (ttlv_get_enum(ttlv_find(bi, KMIP_TAG_OPERATION), &it->op) != 0)
		return -1;	/* (checked above) */
	it->payload = ttlv_find(bi, KMIP_TAG_REQUEST_PAYLOAD);
	id = ttlv_find(bi, KMIP_TAG_UNIQUE_BATCH_ITEM_ID);
	if (id == NULL && count > 1) {
		kw_seterr(err, errlen, "%s of %d has no Unique Batch Item ID",
		    what, (int)count);
		return -1;
	}
	if (id != NULL && (ttlv_get_bytes(id, &it->id, &it->id_len) != 0 ||
	    it->id_len == 0)) {
		kw_seterr(err, errlen, "%s has an empty Unique Batch Item ID",
		    what);
		return -1;
	}
	return 0;
}

/* The Request Message tree t into r. */
static int
read_message(const struct ttlv *t, struct kmip_request *r,
    struct kmip_version *version, char *err, size_t errlen)
{
	const struct ttlv *h, *pv, *c;
	int32_t count;
	size_t n;

	if (ttlv_tag(t) != KMIP_TAG_REQUEST_MESSAGE ||
	    ttlv_type(t) != TTLV_STRUCTURE) {
		kw_seterr(err, errlen, "not a Request Message (tag 0x%06x)",
		    (unsigned int)ttlv_tag(t));
		return -1;
	}
	h = ttlv_first(t);
	if (h == NULL || ttlv_tag(h) != KMIP_TAG_REQUEST_HEADER ||
	    ttlv_type(h) != TTLV_STRUCTURE) {
		kw_seterr(err, errlen, "the Request Message does not start "
		    "with a Request Header");
		return -1;
	}
	/* the version first: it decides which header fields exist */
	if ((pv = ttlv_find(h, KMIP_TAG_PROTOCOL_VERSION)) == NULL ||
	    ttlv_type(pv) != TTLV_STRUCTURE) {
		kw_seterr(err, errlen, "the Request Header has no Protocol "
		    "Version");
		return -1;
	}
	if (read_version(pv, &r->version, err, errlen) != 0)
		return -1;
	*version = r->version;
	if (read_header(h, r, &count, err, errlen) != 0)
		return -1;
	n = ttlv_count(t, 0) - 1;
	if (ttlv_count(t, KMIP_TAG_BATCH_ITEM) != n) {
		kw_seterr(err, errlen, "the Request Message holds a field other "
		    "than a Batch Item after its header");
		return -1;
	}
	if (n != (size_t)count) {
		kw_seterr(err, errlen, "Batch Count is %d but the message holds "
		    "%zu items after its header", (int)count, n);
		return -1;
	}
	if ((r->items = calloc(n, sizeof(*r->items))) == NULL) {
		kw_seterr(err, errlen, "out of memory");
		return -1;
	}
	r->nitems = n;
	for (c = ttlv_next(h), n = 0; c != NULL; c = ttlv_next(c), n++)
		if (read_item(c, n + 1, count, &r->version, &r->items[n], err,
		    errlen) != 0)
			return -1;
	return 0;
}

uint32_t
kmip_request_parse(const unsigned char *buf, size_t len,
    const struct ttlv_limits *lim, struct kmip_request **out,
    struct kmip_version *version, char *err, size_t errlen)
{
	struct kmip_request *r;
	enum ttlv_err e;

	*out = NULL;
	version->major = 1;
	version->minor = 0;
	if ((r = calloc(1, sizeof(*r))) == NULL) {
		kw_seterr(err, errlen, "out of memory");
		return KMIP_REASON_GENERAL_FAILURE;
	}
	r->batch_order = -1;
	if ((e = ttlv_decode(buf, len, lim, &r->tree, err, errlen)) != TTLV_OK) {
		free(r);
		return e == TTLV_ENOMEM ? KMIP_REASON_GENERAL_FAILURE :
		    KMIP_REASON_INVALID_MESSAGE;
	}
	if (read_message(r->tree, r, version, err, errlen) != 0) {
		kmip_request_free(r);
		return KMIP_REASON_INVALID_MESSAGE;
	}
	*out = r;
	return 0;
}

void
kmip_request_free(struct kmip_request *r)
{
	if (r == NULL)
		return;
	ttlv_free(r->tree);
	free(r->items);
	free(r);
}

/* --- responses --- */

struct kmip_resp {
	struct ttlv_buf		*b;
	size_t			 msg_mark;
	size_t			 count_mark;	/* the Batch Count item */
	int32_t			 count;
	int			 in_item;
	size_t			 item_mark;
	int			 in_payload;
	size_t			 payload_mark;
	/* the open item's echo, for a Response Too Large in its place */
	int			 has_op;
	uint32_t		 op;
	unsigned char		*id;
	size_t			 id_len;
	int			 done;
	size_t			 soft_max;	/* Maximum Response Size */
};

struct kmip_resp *
kmip_resp_new(const struct kmip_version *v, int64_t now,
    const struct kmip_request *req, size_t cap)
{
	struct kmip_resp *r = calloc(1, sizeof(*r));
	size_t h, pv;

	if (r == NULL || (r->b = ttlv_buf_new(cap)) == NULL) {
		free(r);
		return NULL;
	}
	r->soft_max = req != NULL && req->max_response_size > 0 ?
	    (size_t)req->max_response_size : SIZE_MAX;
	r->msg_mark = ttlv_begin(r->b, KMIP_TAG_RESPONSE_MESSAGE);
	h = ttlv_begin(r->b, KMIP_TAG_RESPONSE_HEADER);
	pv = ttlv_begin(r->b, KMIP_TAG_PROTOCOL_VERSION);
	ttlv_put_int(r->b, KMIP_TAG_PROTOCOL_VERSION_MAJOR, v->major);
	ttlv_put_int(r->b, KMIP_TAG_PROTOCOL_VERSION_MINOR, v->minor);
	ttlv_end(r->b, pv);
	ttlv_put_datetime(r->b, KMIP_TAG_TIME_STAMP, now);
	r->count_mark = ttlv_buf_len(r->b);
	ttlv_put_int(r->b, KMIP_TAG_BATCH_COUNT, 0);	/* set by finish */
	ttlv_end(r->b, h);
	return r;
}

void
kmip_resp_free(struct kmip_resp *r)
{
	if (r == NULL)
		return;
	ttlv_buf_free(r->b);
	free(r->id);
	free(r);
}

/* A Batch Item's fields up to its payload, with the open item's echo. */
static void
put_item_head(struct kmip_resp *r, uint32_t status, uint32_t reason,
    const char *msg)
{
	r->item_mark = ttlv_begin(r->b, KMIP_TAG_BATCH_ITEM);
	if (r->has_op)
		ttlv_put_enum(r->b, KMIP_TAG_OPERATION, r->op);
	if (r->id != NULL)
		ttlv_put_bytes(r->b, KMIP_TAG_UNIQUE_BATCH_ITEM_ID, r->id,
		    r->id_len);
	ttlv_put_enum(r->b, KMIP_TAG_RESULT_STATUS, status);
	if (reason != 0)
		ttlv_put_enum(r->b, KMIP_TAG_RESULT_REASON, reason);
	if (msg != NULL)
		ttlv_put_text(r->b, KMIP_TAG_RESULT_MESSAGE, msg, strlen(msg));
	r->in_item = 1;
}

/* Replace the open item by a failed one, Response Too Large. */
static void
put_too_large(struct kmip_resp *r, const char *msg)
{
	ttlv_buf_rewind(r->b, r->item_mark);
	put_item_head(r, KMIP_STATUS_OPERATION_FAILED,
	    KMIP_REASON_RESPONSE_TOO_LARGE, msg);
	ttlv_end(r->b, r->item_mark);
}

/* Close the open item; one that did not fit becomes Response Too Large. */
static void
close_item(struct kmip_resp *r)
{
	enum ttlv_err e;

	if (!r->in_item)
		return;
	if (r->in_payload)
		ttlv_end(r->b, r->payload_mark);
	r->in_payload = 0;
	ttlv_end(r->b, r->item_mark);
	e = ttlv_buf_error(r->b);
	if (e == TTLV_ETOOBIG ||
	    (e == TTLV_OK && ttlv_buf_len(r->b) > r->soft_max)) {
		/* the failed item need only fit under the cap; without
		 * its message if that is what it takes */
		put_too_large(r, "over the Maximum Response Size");
		if (ttlv_buf_error(r->b) == TTLV_ETOOBIG)
			put_too_large(r, NULL);
	}
	r->in_item = 0;
}

void
kmip_resp_item(struct kmip_resp *r, const struct kmip_item *req,
    uint32_t status, uint32_t reason, const char *msg)
{
	if (r->done)
		return;
	close_item(r);
	free(r->id);
	r->id = NULL;
	r->id_len = 0;
	r->has_op = req != NULL;
	r->op = req != NULL ? req->op : 0;
	if (req != NULL && req->id != NULL) {
		if ((r->id = malloc(req->id_len)) == NULL) {
			/* no echo rather than no answer */
			r->id_len = 0;
		} else {
			memcpy(r->id, req->id, req->id_len);
			r->id_len = req->id_len;
		}
	}
	r->count++;
	put_item_head(r, status, reason, msg);
}

struct ttlv_buf *
kmip_resp_payload(struct kmip_resp *r)
{
	if (!r->in_item || r->done)
		return NULL;
	if (!r->in_payload) {
		r->payload_mark = ttlv_begin(r->b, KMIP_TAG_RESPONSE_PAYLOAD);
		r->in_payload = 1;
	}
	return r->b;
}

const unsigned char *
kmip_resp_finish(struct kmip_resp *r, size_t *len)
{
	*len = 0;
	if (!r->done) {
		close_item(r);
		ttlv_buf_set_int(r->b, r->count_mark, r->count);
		ttlv_end(r->b, r->msg_mark);
		r->done = 1;
	}
	return ttlv_buf_data(r->b, len);
}
