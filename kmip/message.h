/*
 * message.h: KMIP request and response messages, KMIP 1.0 to 1.4 and 2.0.
 *
 * kmip_request_parse turns a whole request (bytes) into a Request Header
 * and its batch items, checking the shape of both strictly: required
 * fields present, each of its type, no unknown or repeated field, header
 * fields a version does not have refused, Batch Count equal to the number
 * of items.  The payloads stay TTLV trees for the operations to read.
 * Authentication is accepted and ignored: the client is who its TLS
 * certificate says.
 *
 * kmip_resp builds the response: a Response Header (Protocol Version,
 * Time Stamp, Batch Count) and one Batch Item a request item, with its
 * Operation and Unique Batch Item ID echoed, Result Status, Result Reason
 * and Result Message, and an optional Response Payload the caller fills
 * through the TTLV encoder.  An item that does not fit under the size
 * limit is replaced by a failed one with reason Response Too Large.
 *
 * What an operation does is not this module's business.
 */
#ifndef KW_KMIP_MESSAGE_H
#define KW_KMIP_MESSAGE_H

#include <stddef.h>
#include <stdint.h>

#include "kmip/ttlv.h"

/* A Protocol Version. */
struct kmip_version {
	int32_t		major;
	int32_t		minor;
};

/* One request batch item. */
struct kmip_item {
	uint32_t		 op;		/* Operation (enum kmip_op) */
	const unsigned char	*id;		/* Unique Batch Item ID or NULL */
	size_t			 id_len;
	const struct ttlv	*payload;	/* Request Payload, a Structure */
};

/* A parsed request.  Pointers point into the tree the request owns. */
struct kmip_request {
	struct kmip_version	 version;
	int32_t			 max_response_size;	/* 0: not given */
	int			 has_time_stamp;
	int64_t			 time_stamp;
	uint32_t		 batch_error_option;	/* 0: not given */
	int			 batch_order;		/* -1: not given */
	int			 asynchronous;		/* 0 or 1 */
	size_t			 nitems;
	struct kmip_item	*items;
	struct ttlv		*tree;
};

/* Whether this code speaks v (1.0 to 1.4, 2.0). */
int		 kmip_version_known(const struct kmip_version *v);

/*
 * Parse buf[0..len) under lim (NULL: the TTLV defaults) into *out (free
 * with kmip_request_free).  Returns 0, or a Result Reason for the
 * error response (KMIP_REASON_INVALID_MESSAGE for every malformed shape)
 * with err holding a message that never quotes a value.  *version is the
 * request's Protocol Version when it could be read, else 1.0, so that the
 * error response is one the client can decode.  A version this code does
 * not know is not refused here (see kmip_version_known).
 */
uint32_t	 kmip_request_parse(const unsigned char *buf, size_t len,
		    const struct ttlv_limits *lim, struct kmip_request **out,
		    struct kmip_version *version, char *err, size_t errlen) WUR;
/* Free (and wipe) a request; NULL is a no-op. */
void		 kmip_request_free(struct kmip_request *r);

/* --- responses --- */

struct kmip_resp;

/*
 * A response at version v, stamped now (seconds since the epoch).  An
 * item that takes the response past req's Maximum Response Size (req may
 * be NULL: no such limit) is replaced by a failed one, Response Too
 * Large; those failed items, and the whole message, stay under cap bytes
 * (0: the TTLV default).  NULL when memory is short.
 */
struct kmip_resp *kmip_resp_new(const struct kmip_version *v, int64_t now,
		    const struct kmip_request *req, size_t cap);
/* Wipe and free; NULL is a no-op. */
void		 kmip_resp_free(struct kmip_resp *r);
/*
 * Start the next batch item, closing the one before.  req (NULL for none,
 * as in the answer to a message that did not parse) gives the Operation
 * and Unique Batch Item ID to echo.  reason 0 and msg NULL leave those
 * fields out; a failed status wants a reason.  The strings are copied.
 */
void		 kmip_resp_item(struct kmip_resp *r, const struct kmip_item *req,
		    uint32_t status, uint32_t reason, const char *msg);
/* Open the current item's Response Payload and return the encoder to put
 * its fields into; it is closed with the item.  NULL before any item. */
struct ttlv_buf	*kmip_resp_payload(struct kmip_resp *r);
/* Close the message; its bytes (valid until kmip_resp_free), or NULL
 * when even the failed items did not fit under cap (so many items that
 * the caller should close the connection) or memory ran short. */
const unsigned char *kmip_resp_finish(struct kmip_resp *r, size_t *len);

#endif
