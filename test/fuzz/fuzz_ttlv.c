/*
 * fuzz_ttlv.c: libFuzzer target for kmip/ttlv.c, kmip/message.c and
 * kmip/attr.c: what a KMIP client can send.
 *
 * Every input is:
 *   - decoded as TTLV under the default limits and under a depth limit
 *     of 3.  A decode that succeeds re-encodes (ttlv_put_node) to exactly
 *     the input: the decoder accepts only the canonical form.  One that
 *     fails leaves no tree and says why.  ttlv_frame_len on the first 8
 *     bytes agrees with a decoded Structure's length;
 *   - parsed as a Request Message.  A request that parses gets the
 *     response a server would build: each item echoed with its payload
 *     copied back, its attributes (Template-Attribute or Attributes, New
 *     and Current Attribute, Attribute Names and References) read into
 *     the neutral form and written at 1.2 and 2.0.  The response must
 *     decode, carry Batch Count = items, and stay under its size cap
 *     (items past the request's Maximum Response Size become failed
 *     ones).
 *     A request that does not parse is refused with Invalid Message (or
 *     General Failure for memory) and a message.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "kmip/attr.h"
#include "kmip/message.h"
#include "kmip/tags.h"
#include "kmip/ttlv.h"

#define RESP_CAP	(1024 * 1024)

static void
fuzz_decode(const uint8_t *data, size_t size, const struct ttlv_limits *lim)
{
	struct ttlv *t = (struct ttlv *)&t;
	struct ttlv_buf *b;
	const unsigned char *out;
	size_t n, total;
	char err[256] = "";
	enum ttlv_err e, fe;

	e = ttlv_decode(data, size, lim, &t, err, sizeof(err));
	fe = ttlv_frame_len(data, size, lim, &total, NULL, 0);
	if (e != TTLV_OK) {
		FUZZ_CHECK(t == NULL);
		FUZZ_CHECK(e > TTLV_OK && e < TTLV_ERR_MAX);
		FUZZ_CHECK(err[0] != '\0');
		return;
	}
	FUZZ_CHECK(t != NULL);
	if (ttlv_type(t) == TTLV_STRUCTURE)
		FUZZ_CHECK(fe == TTLV_OK && total == size);
	FUZZ_CHECK((b = ttlv_buf_new(size + 8)) != NULL);
	ttlv_put_node(b, t, 0);
	out = ttlv_buf_data(b, &n);
	FUZZ_CHECK(out != NULL);
	FUZZ_CHECK(n == size && memcmp(out, data, size) == 0);
	ttlv_buf_free(b);
	ttlv_free(t);
}

/* Read one attribute and write it back at 1.2 and 2.0. */
static void
attr_both_ways(struct ttlv_buf *out, const struct ttlv *n)
{
	static const struct kmip_version v12 = { 1, 2 }, v20 = { 2, 0 };
	struct kmip_attr a;
	char err[256];

	if (kmip_attr_read(n, &a, err, sizeof(err)) != 0)
		return;
	FUZZ_CHECK(a.value != NULL && a.name != NULL);
	FUZZ_CHECK(kmip_attr_put(out, &v12, &a) == 0);
	FUZZ_CHECK(kmip_attr_put(out, &v20, &a) == 0 || a.tag == 0);
}

/* What a server reads of a payload's attributes, echoed into out. */
static void
attrs_of(struct ttlv_buf *out, const struct ttlv *pl)
{
	const struct ttlv *c;
	struct kmip_attr *list;
	size_t n, i;
	uint32_t tag;
	const char *name;
	char err[256];

	if (kmip_attrs_read(kmip_attrs_container(pl), &list, &n, err,
	    sizeof(err)) == 0) {
		for (i = 0; i < n; i++)
			FUZZ_CHECK(list[i].value != NULL);
		free(list);
	}
	for (c = ttlv_first(pl); c != NULL; c = ttlv_next(c)) {
		switch (ttlv_tag(c)) {
		case KMIP_TAG_ATTRIBUTE:
			attr_both_ways(out, c);
			break;
		case KMIP_TAG_NEW_ATTRIBUTE:
		case KMIP_TAG_CURRENT_ATTRIBUTE:
			attr_both_ways(out, ttlv_first(c));
			break;
		case KMIP_TAG_ATTRIBUTE_NAME:
		case KMIP_TAG_ATTRIBUTE_REFERENCE:
			if (kmip_attr_ref_read(c, &tag, &name, err,
			    sizeof(err)) == 0)
				FUZZ_CHECK(name != NULL);
			break;
		default:
			break;
		}
	}
}

static void
fuzz_request(const uint8_t *data, size_t size)
{
	struct kmip_request *r = (struct kmip_request *)&r;
	struct kmip_version v;
	struct kmip_resp *resp;
	struct ttlv_buf *pl;
	const unsigned char *out;
	struct ttlv *t;
	size_t n, i;
	int32_t count;
	char err[256] = "";
	uint32_t reason;

	reason = kmip_request_parse(data, size, NULL, &r, &v, err, sizeof(err));
	if (reason != 0) {
		FUZZ_CHECK(r == NULL);
		FUZZ_CHECK(reason == KMIP_REASON_INVALID_MESSAGE ||
		    reason == KMIP_REASON_GENERAL_FAILURE);
		FUZZ_CHECK(err[0] != '\0');
		return;
	}
	FUZZ_CHECK(r->nitems >= 1);
	FUZZ_CHECK(r->version.major == v.major && r->version.minor == v.minor);
	resp = kmip_resp_new(&v, 0, r, RESP_CAP);
	FUZZ_CHECK(resp != NULL);
	for (i = 0; i < r->nitems; i++) {
		FUZZ_CHECK(r->items[i].payload != NULL);
		FUZZ_CHECK(r->nitems == 1 || r->items[i].id != NULL);
		kmip_resp_item(resp, &r->items[i], KMIP_STATUS_SUCCESS, 0, NULL);
		FUZZ_CHECK((pl = kmip_resp_payload(resp)) != NULL);
		ttlv_put_node(pl, r->items[i].payload, KMIP_TAG_DATA);
		attrs_of(pl, r->items[i].payload);
	}
	out = kmip_resp_finish(resp, &n);
	FUZZ_CHECK(out != NULL);
	FUZZ_CHECK(n <= RESP_CAP);
	FUZZ_CHECK(ttlv_decode(out, n, NULL, &t, err, sizeof(err)) == TTLV_OK);
	FUZZ_CHECK(ttlv_get_int(ttlv_find(ttlv_find(t, KMIP_TAG_RESPONSE_HEADER),
	    KMIP_TAG_BATCH_COUNT), &count) == 0);
	FUZZ_CHECK(count >= 0 && (size_t)count == r->nitems);
	FUZZ_CHECK(ttlv_count(t, KMIP_TAG_BATCH_ITEM) == r->nitems);
	ttlv_free(t);
	kmip_resp_free(resp);
	kmip_request_free(r);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ttlv_limits shallow = { TTLV_DEFAULT_MAX_SIZE, 3 };

	fuzz_decode(data, size, NULL);
	fuzz_decode(data, size, &shallow);
	fuzz_request(data, size);
	return 0;
}
