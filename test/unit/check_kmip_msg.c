/*
 * check_kmip_msg.c: kmip/message and kmip/attr against requests captured
 * from PyKMIP's client, the response PyKMIP itself encodes, and every
 * malformed message shape the parser must refuse.
 *
 * The vectors below are the bytes Debian's python3-pykmip 0.10
 * (ProxyKmipClient, over TLS) sent to a capturing listener, and the
 * response its kmip.core.messages encodes; test/unit/kmip_capture.py
 * produced them and reproduces them.
 */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kmip/attr.h"
#include "kmip/message.h"
#include "kmip/tags.h"
#include "check_main.h"
#include "hexbytes.h"

static const char create_1_2[] =
    "42007801000001684200770100000038420069010000002042006a0200000004"
    "000000010000000042006b0200000004000000020000000042000d0200000004"
    "000000010000000042000f010000012042005c05000000040000000100000000"
    "42007901000001084200570500000004000000020000000042009101000000f0"
    "420008010000003042000a070000001743727970746f6772617068696320416c"
    "676f726974686d0042000b050000000400000003000000004200080100000030"
    "42000a070000001443727970746f67726170686963204c656e67746800000000"
    "42000b02000000040000010000000000420008010000003042000a0700000018"
    "43727970746f67726170686963205573616765204d61736b42000b0200000004"
    "0000000c00000000420008010000004042000a07000000044e616d6500000000"
    "42000b0100000028420055070000000a746170652d6b65792d31000000000000"
    "42005405000000040000000100000000";

static const char create_2_0[] =
    "42007801000000d04200770100000038420069010000002042006a0200000004"
    "000000020000000042006b0200000004000000000000000042000d0200000004"
    "000000010000000042000f010000008842005c05000000040000000100000000"
    "4200790100000070420057050000000400000002000000004201250100000058"
    "4200280500000004000000030000000042002a02000000040000008000000000"
    "42002c02000000040000000c0000000042005301000000204200550700000008"
    "766d2d6b65792d3742005405000000040000000100000000";

static const char register_1_2[] =
    "42007801000001684200770100000038420069010000002042006a0200000004"
    "000000010000000042006b0200000004000000020000000042000d0200000004"
    "000000010000000042000f010000012042005c05000000040000000300000000"
    "4200790100000108420057050000000400000002000000004200910100000080"
    "420008010000003042000a070000001843727970746f67726170686963205573"
    "616765204d61736b42000b020000000400000000000000004200080100000040"
    "42000a07000000044e616d650000000042000b0100000028420055070000000d"
    "53796d6d6574726963204b657900000042005405000000040000000100000000"
    "42008f0100000068420040010000006042004205000000040000000100000000"
    "42004501000000284200430800000020000102030405060708090a0b0c0d0e0f"
    "101112131415161718191a1b1c1d1e1f42002805000000040000000300000000"
    "42002a02000000040000010000000000";

static const char get_attributes_1_2[] =
    "42007801000000904200770100000038420069010000002042006a0200000004"
    "000000010000000042006b0200000004000000020000000042000d0200000004"
    "000000010000000042000f010000004842005c05000000040000000b00000000"
    "42007901000000304200940700000002343200000000000042000a0700000005"
    "537461746500000042000a07000000044e616d6500000000";

static const char encrypt_1_4[] =
    "42007801000000e04200770100000038420069010000002042006a0200000004"
    "000000010000000042006b0200000004000000040000000042000d0200000004"
    "000000010000000042000f010000009842005c05000000040000001f00000000"
    "42007901000000804200940700000001370000000000000042002b0100000030"
    "4200110500000004000000090000000042002805000000040000000300000000"
    "4200ce020000000400000010000000004200c2080000001377656b612d66696c"
    "6573797374656d2d6b6579000000000042003d080000000c0000000000000000"
    "0000000000000000";

static const char set_attribute_2_0[] =
    "42007801000000884200770100000038420069010000002042006a0200000004"
    "000000020000000042006b0200000004000000000000000042000d0200000004"
    "000000010000000042000f010000004042005c05000000040000003100000000"
    "42007901000000284200940700000002343200000000000042013d0100000010"
    "42002a02000000040000008000000000";

static const char batch_1_1[] =
    "42007801000001104200770100000038420069010000002042006a0200000004"
    "000000010000000042006b0200000004000000010000000042000d0200000004"
    "000000020000000042000f010000007842005c05000000040000001e00000000"
    "4200930800000001010000000000000042007901000000504200690100000020"
    "42006a0200000004000000020000000042006b02000000040000000000000000"
    "420069010000002042006a0200000004000000010000000042006b0200000004"
    "000000020000000042000f010000004842005c05000000040000001800000000"
    "4200930800000001020000000000000042007901000000204200740500000004"
    "000000010000000042007405000000040000000200000000";

static const char response_1_2[] =
    "42007b01000000b042007a0100000048420069010000002042006a0200000004"
    "000000010000000042006b020000000400000002000000004200920900000008"
    "0000000047da67f842000d0200000004000000010000000042000f0100000058"
    "42005c05000000040000000a0000000042009308000000010100000000000000"
    "42007f0500000004000000010000000042007e05000000040000000100000000"
    "42007d070000000b6e6f2073756368206b65790000000000";

/* The register_1_2 case's key material. */
static const unsigned char key32[32] = {
	0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19,
	20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31 };

/* Parse hex; the request (the caller frees it) or a failed test. */
static struct kmip_request *
parse_hex(const char *hex, int32_t major, int32_t minor, size_t nitems)
{
	struct kmip_request *r;
	struct kmip_version v;
	unsigned char *in;
	size_t n;
	char err[200] = "";

	in = hexbytes(hex, &n);
	ck_assert_msg(kmip_request_parse(in, n, NULL, &r, &v, err,
	    sizeof(err)) == 0, "refused: %s", err);
	ck_assert_int_eq(r->version.major, major);
	ck_assert_int_eq(r->version.minor, minor);
	ck_assert_int_eq(v.major, major);
	ck_assert_int_eq(v.minor, minor);
	ck_assert_uint_eq(r->nitems, nitems);
	ck_assert_ptr_nonnull(r->items[0].payload);
	ck_assert(kmip_version_known(&r->version));
	free(in);
	return r;
}

/* Every captured request decodes and re-encodes to the same bytes. */
static const char *const captured[] = { create_1_2, create_2_0,
	register_1_2, get_attributes_1_2, encrypt_1_4, set_attribute_2_0,
	batch_1_1, response_1_2 };

START_TEST(test_captured_round_trip)
{
	unsigned char *in;
	const unsigned char *out;
	size_t n, m;
	struct ttlv *t;
	struct ttlv_buf *b = ttlv_buf_new(0);

	in = hexbytes(captured[_i], &n);
	ck_assert_int_eq(ttlv_decode(in, n, NULL, &t, NULL, 0), TTLV_OK);
	ttlv_put_node(b, t, 0);
	ck_assert_ptr_nonnull(out = ttlv_buf_data(b, &m));
	ck_assert_uint_eq(m, n);
	ck_assert_mem_eq(out, in, n);
	ttlv_buf_free(b);
	ttlv_free(t);
	free(in);
}
END_TEST

/* The attributes a Create carries, read the same way from 1.2 and 2.0. */
static void
check_create_attrs(const struct kmip_request *r, int32_t length,
    const char *name)
{
	const struct ttlv *pl = r->items[0].payload;
	struct kmip_attr *a;
	size_t n, len;
	uint32_t e;
	int32_t i;
	const char *s;
	char err[200] = "";

	ck_assert_uint_eq(r->items[0].op, KMIP_OP_CREATE);
	ck_assert_ptr_null(r->items[0].id);
	ck_assert_int_eq(ttlv_get_enum(ttlv_find(pl, KMIP_TAG_OBJECT_TYPE), &e),
	    0);
	ck_assert_uint_eq(e, KMIP_OBJ_SYMMETRIC_KEY);
	ck_assert_msg(kmip_attrs_read(kmip_attrs_container(pl), &a, &n, err,
	    sizeof(err)) == 0, "%s", err);
	ck_assert_uint_eq(n, 4);
	ck_assert_uint_eq(a[0].tag, KMIP_TAG_CRYPTOGRAPHIC_ALGORITHM);
	ck_assert_str_eq(a[0].name, "Cryptographic Algorithm");
	ck_assert_int_eq(a[0].index, -1);
	ck_assert_int_eq(ttlv_get_enum(a[0].value, &e), 0);
	ck_assert_uint_eq(e, KMIP_ALG_AES);
	ck_assert_uint_eq(a[1].tag, KMIP_TAG_CRYPTOGRAPHIC_LENGTH);
	ck_assert_int_eq(ttlv_get_int(a[1].value, &i), 0);
	ck_assert_int_eq(i, length);
	ck_assert_uint_eq(a[2].tag, KMIP_TAG_CRYPTOGRAPHIC_USAGE_MASK);
	ck_assert_int_eq(ttlv_get_int(a[2].value, &i), 0);
	ck_assert_int_eq(i, KMIP_USAGE_ENCRYPT | KMIP_USAGE_DECRYPT);
	ck_assert_uint_eq(a[3].tag, KMIP_TAG_NAME);
	ck_assert_str_eq(a[3].name, "Name");
	ck_assert_int_eq(ttlv_get_text(ttlv_find(a[3].value,
	    KMIP_TAG_NAME_VALUE), &s, &len), 0);
	ck_assert_str_eq(s, name);
	ck_assert_int_eq(ttlv_get_enum(ttlv_find(a[3].value,
	    KMIP_TAG_NAME_TYPE), &e), 0);
	ck_assert_uint_eq(e, KMIP_NAME_UNINTERPRETED_TEXT_STRING);
	free(a);
}

START_TEST(test_create_1_2)
{
	struct kmip_request *r = parse_hex(create_1_2, 1, 2, 1);

	check_create_attrs(r, 256, "tape-key-1");
	ck_assert_int_eq(r->max_response_size, 0);
	ck_assert_int_eq(r->batch_order, -1);
	kmip_request_free(r);
}
END_TEST

START_TEST(test_create_2_0)
{
	struct kmip_request *r = parse_hex(create_2_0, 2, 0, 1);

	check_create_attrs(r, 128, "vm-key-7");
	kmip_request_free(r);
}
END_TEST

START_TEST(test_register_key_material)
{
	struct kmip_request *r = parse_hex(register_1_2, 1, 2, 1);
	const struct ttlv *kv;
	const unsigned char *p;
	size_t n;

	ck_assert_uint_eq(r->items[0].op, KMIP_OP_REGISTER);
	kv = ttlv_find(ttlv_find(ttlv_find(r->items[0].payload,
	    KMIP_TAG_SYMMETRIC_KEY), KMIP_TAG_KEY_BLOCK), KMIP_TAG_KEY_VALUE);
	ck_assert_int_eq(ttlv_get_bytes(ttlv_find(kv, KMIP_TAG_KEY_MATERIAL),
	    &p, &n), 0);
	ck_assert_uint_eq(n, 32);
	ck_assert_mem_eq(p, key32, 32);
	kmip_request_free(r);
}
END_TEST

START_TEST(test_get_attributes_names)
{
	struct kmip_request *r = parse_hex(get_attributes_1_2, 1, 2, 1);
	const struct ttlv *c;
	const char *name, *uid;
	uint32_t tag;
	size_t len;
	char err[200];

	ck_assert_uint_eq(r->items[0].op, KMIP_OP_GET_ATTRIBUTES);
	ck_assert_int_eq(ttlv_get_text(ttlv_find(r->items[0].payload,
	    KMIP_TAG_UNIQUE_IDENTIFIER), &uid, &len), 0);
	ck_assert_str_eq(uid, "42");
	c = ttlv_find(r->items[0].payload, KMIP_TAG_ATTRIBUTE_NAME);
	ck_assert_int_eq(kmip_attr_ref_read(c, &tag, &name, err, sizeof(err)),
	    0);
	ck_assert_uint_eq(tag, KMIP_TAG_STATE);
	c = ttlv_find_next(c);
	ck_assert_int_eq(kmip_attr_ref_read(c, &tag, &name, err, sizeof(err)),
	    0);
	ck_assert_uint_eq(tag, KMIP_TAG_NAME);
	ck_assert_str_eq(name, "Name");
	ck_assert_ptr_null(ttlv_find_next(c));
	kmip_request_free(r);
}
END_TEST

START_TEST(test_encrypt_parameters)
{
	struct kmip_request *r = parse_hex(encrypt_1_4, 1, 4, 1);
	const struct ttlv *pl = r->items[0].payload, *cp;
	const unsigned char *p;
	uint32_t e;
	int32_t i;
	size_t n;

	ck_assert_uint_eq(r->items[0].op, KMIP_OP_ENCRYPT);
	cp = ttlv_find(pl, KMIP_TAG_CRYPTOGRAPHIC_PARAMETERS);
	ck_assert_int_eq(ttlv_get_enum(ttlv_find(cp, KMIP_TAG_BLOCK_CIPHER_MODE),
	    &e), 0);
	ck_assert_uint_eq(e, KMIP_MODE_GCM);
	ck_assert_int_eq(ttlv_get_int(ttlv_find(cp, KMIP_TAG_TAG_LENGTH), &i),
	    0);
	ck_assert_int_eq(i, 16);
	ck_assert_int_eq(ttlv_get_bytes(ttlv_find(pl, KMIP_TAG_DATA), &p, &n),
	    0);
	ck_assert_uint_eq(n, 19);
	ck_assert_mem_eq(p, "weka-filesystem-key", 19);
	ck_assert_int_eq(ttlv_get_bytes(ttlv_find(pl, KMIP_TAG_IV_COUNTER_NONCE),
	    &p, &n), 0);
	ck_assert_uint_eq(n, 12);
	kmip_request_free(r);
}
END_TEST

START_TEST(test_set_attribute_2_0)
{
	struct kmip_request *r = parse_hex(set_attribute_2_0, 2, 0, 1);
	struct kmip_attr a;
	int32_t i;
	char err[200];

	ck_assert_uint_eq(r->items[0].op, KMIP_OP_SET_ATTRIBUTE);
	ck_assert_int_eq(kmip_attr_read(ttlv_first(ttlv_find(
	    r->items[0].payload, KMIP_TAG_NEW_ATTRIBUTE)), &a, err,
	    sizeof(err)), 0);
	ck_assert_uint_eq(a.tag, KMIP_TAG_CRYPTOGRAPHIC_LENGTH);
	ck_assert_str_eq(a.name, "Cryptographic Length");
	ck_assert_int_eq(ttlv_get_int(a.value, &i), 0);
	ck_assert_int_eq(i, 128);
	kmip_request_free(r);
}
END_TEST

START_TEST(test_batch_of_two)
{
	struct kmip_request *r = parse_hex(batch_1_1, 1, 1, 2);

	ck_assert_uint_eq(r->items[0].op, KMIP_OP_DISCOVER_VERSIONS);
	ck_assert_uint_eq(r->items[0].id_len, 1);
	ck_assert_uint_eq(r->items[0].id[0], 1);
	ck_assert_uint_eq(ttlv_count(r->items[0].payload,
	    KMIP_TAG_PROTOCOL_VERSION), 2);
	ck_assert_uint_eq(r->items[1].op, KMIP_OP_QUERY);
	ck_assert_uint_eq(r->items[1].id_len, 1);
	ck_assert_uint_eq(r->items[1].id[0], 2);
	ck_assert_uint_eq(ttlv_count(r->items[1].payload,
	    KMIP_TAG_QUERY_FUNCTION), 2);
	ck_assert_str_eq(kmip_op_name(r->items[1].op), "Query");
	kmip_request_free(r);
}
END_TEST

/* Our failed Get answer is byte for byte the one PyKMIP encodes. */
START_TEST(test_response_matches_pykmip)
{
	struct kmip_version v = { 1, 2 };
	struct kmip_item it = { KMIP_OP_GET, (const unsigned char *)"\x01", 1,
	    NULL };
	struct kmip_resp *r = kmip_resp_new(&v, 0x47DA67F8, NULL, 0);
	const unsigned char *out;
	unsigned char *want;
	size_t n, wlen;

	kmip_resp_item(r, &it, KMIP_STATUS_OPERATION_FAILED,
	    KMIP_REASON_ITEM_NOT_FOUND, "no such key");
	ck_assert_ptr_nonnull(out = kmip_resp_finish(r, &n));
	want = hexbytes(response_1_2, &wlen);
	ck_assert_uint_eq(n, wlen);
	ck_assert_mem_eq(out, want, wlen);
	kmip_resp_free(r);
	free(want);
}
END_TEST

/* Two items, one with a payload: Batch Count says 2, and it all decodes. */
START_TEST(test_response_two_items)
{
	struct kmip_version v = { 2, 0 };
	struct kmip_item a = { KMIP_OP_CREATE, (const unsigned char *)"A", 1,
	    NULL }, b = { KMIP_OP_QUERY, NULL, 0, NULL };
	struct kmip_resp *r = kmip_resp_new(&v, 1, NULL, 0);
	struct ttlv_buf *pl;
	const unsigned char *out;
	struct ttlv *t;
	const struct ttlv *h, *it;
	size_t n, len;
	int32_t i;
	uint32_t e;
	const char *s;

	kmip_resp_item(r, &a, KMIP_STATUS_SUCCESS, 0, NULL);
	ck_assert_ptr_nonnull(pl = kmip_resp_payload(r));
	ck_assert_ptr_eq(kmip_resp_payload(r), pl);
	ttlv_put_enum(pl, KMIP_TAG_OBJECT_TYPE, KMIP_OBJ_SYMMETRIC_KEY);
	ttlv_put_text(pl, KMIP_TAG_UNIQUE_IDENTIFIER, "k1", 2);
	kmip_resp_item(r, &b, KMIP_STATUS_OPERATION_FAILED,
	    KMIP_REASON_OPERATION_NOT_SUPPORTED, "not yet");
	ck_assert_ptr_nonnull(out = kmip_resp_finish(r, &n));
	ck_assert_int_eq(ttlv_decode(out, n, NULL, &t, NULL, 0), TTLV_OK);
	ck_assert_uint_eq(ttlv_tag(t), KMIP_TAG_RESPONSE_MESSAGE);
	h = ttlv_find(t, KMIP_TAG_RESPONSE_HEADER);
	ck_assert_int_eq(ttlv_get_int(ttlv_find(h, KMIP_TAG_BATCH_COUNT), &i),
	    0);
	ck_assert_int_eq(i, 2);
	ck_assert_int_eq(ttlv_get_int(ttlv_find(ttlv_find(h,
	    KMIP_TAG_PROTOCOL_VERSION), KMIP_TAG_PROTOCOL_VERSION_MAJOR), &i), 0);
	ck_assert_int_eq(i, 2);
	ck_assert_uint_eq(ttlv_count(t, KMIP_TAG_BATCH_ITEM), 2);
	it = ttlv_find(t, KMIP_TAG_BATCH_ITEM);
	ck_assert_ptr_null(ttlv_find(it, KMIP_TAG_RESULT_REASON));
	ck_assert_int_eq(ttlv_get_text(ttlv_find(ttlv_find(it,
	    KMIP_TAG_RESPONSE_PAYLOAD), KMIP_TAG_UNIQUE_IDENTIFIER), &s, &len),
	    0);
	ck_assert_str_eq(s, "k1");
	it = ttlv_find_next(it);
	ck_assert_ptr_null(ttlv_find(it, KMIP_TAG_UNIQUE_BATCH_ITEM_ID));
	ck_assert_ptr_null(ttlv_find(it, KMIP_TAG_RESPONSE_PAYLOAD));
	ck_assert_int_eq(ttlv_get_enum(ttlv_find(it, KMIP_TAG_RESULT_REASON),
	    &e), 0);
	ck_assert_uint_eq(e, KMIP_REASON_OPERATION_NOT_SUPPORTED);
	ttlv_free(t);
	kmip_resp_free(r);
}
END_TEST

/* An item whose payload does not fit becomes Response Too Large; the
 * item before it stays. */
START_TEST(test_response_too_large)
{
	struct kmip_version v = { 1, 4 };
	struct kmip_request req = { .max_response_size = 300 };
	struct kmip_item a = { KMIP_OP_GET, (const unsigned char *)"1", 1,
	    NULL }, b = { KMIP_OP_GET, (const unsigned char *)"2", 1, NULL };
	struct kmip_resp *r;
	unsigned char big[400];
	const unsigned char *out;
	struct ttlv *t;
	const struct ttlv *it;
	size_t n;
	uint32_t e;

	memset(big, 0x5a, sizeof(big));
	r = kmip_resp_new(&v, 1, &req, 4096);
	kmip_resp_item(r, &a, KMIP_STATUS_SUCCESS, 0, NULL);
	ttlv_put_bytes(kmip_resp_payload(r), KMIP_TAG_DATA, big, 16);
	kmip_resp_item(r, &b, KMIP_STATUS_SUCCESS, 0, NULL);
	ttlv_put_bytes(kmip_resp_payload(r), KMIP_TAG_DATA, big, sizeof(big));
	ck_assert_ptr_nonnull(out = kmip_resp_finish(r, &n));
	ck_assert_uint_le(n, 300);
	ck_assert_int_eq(ttlv_decode(out, n, NULL, &t, NULL, 0), TTLV_OK);
	it = ttlv_find(t, KMIP_TAG_BATCH_ITEM);
	ck_assert_int_eq(ttlv_get_enum(ttlv_find(it, KMIP_TAG_RESULT_STATUS),
	    &e), 0);
	ck_assert_uint_eq(e, KMIP_STATUS_SUCCESS);
	it = ttlv_find_next(it);
	ck_assert_int_eq(ttlv_get_enum(ttlv_find(it, KMIP_TAG_RESULT_STATUS),
	    &e), 0);
	ck_assert_uint_eq(e, KMIP_STATUS_OPERATION_FAILED);
	ck_assert_int_eq(ttlv_get_enum(ttlv_find(it, KMIP_TAG_RESULT_REASON),
	    &e), 0);
	ck_assert_uint_eq(e, KMIP_REASON_RESPONSE_TOO_LARGE);
	ck_assert_ptr_nonnull(ttlv_find(it, KMIP_TAG_UNIQUE_BATCH_ITEM_ID));
	ck_assert_ptr_null(ttlv_find(it, KMIP_TAG_RESPONSE_PAYLOAD));
	ck_assert_ptr_nonnull(ttlv_find(it, KMIP_TAG_RESULT_MESSAGE));
	ttlv_free(t);
	kmip_resp_free(r);

	/* a client limit below any answer: failed items, still sent */
	req.max_response_size = 8;
	r = kmip_resp_new(&v, 1, &req, 4096);
	kmip_resp_item(r, &a, KMIP_STATUS_SUCCESS, 0, NULL);
	ck_assert_ptr_nonnull(out = kmip_resp_finish(r, &n));
	ck_assert_int_eq(ttlv_decode(out, n, NULL, &t, NULL, 0), TTLV_OK);
	ck_assert_int_eq(ttlv_get_enum(ttlv_find(ttlv_find(t,
	    KMIP_TAG_BATCH_ITEM), KMIP_TAG_RESULT_REASON), &e), 0);
	ck_assert_uint_eq(e, KMIP_REASON_RESPONSE_TOO_LARGE);
	ttlv_free(t);
	kmip_resp_free(r);

	/* the server's cap: the failed item goes without its message when
	 * that is what fits */
	r = kmip_resp_new(&v, 1, NULL, 260);
	kmip_resp_item(r, &a, KMIP_STATUS_SUCCESS, 0, NULL);
	ttlv_put_bytes(kmip_resp_payload(r), KMIP_TAG_DATA, big, 16);
	kmip_resp_item(r, &b, KMIP_STATUS_SUCCESS, 0, NULL);
	ttlv_put_bytes(kmip_resp_payload(r), KMIP_TAG_DATA, big, sizeof(big));
	ck_assert_ptr_nonnull(out = kmip_resp_finish(r, &n));
	ck_assert_int_eq(ttlv_decode(out, n, NULL, &t, NULL, 0), TTLV_OK);
	it = ttlv_find_next(ttlv_find(t, KMIP_TAG_BATCH_ITEM));
	ck_assert_int_eq(ttlv_get_enum(ttlv_find(it, KMIP_TAG_RESULT_REASON),
	    &e), 0);
	ck_assert_uint_eq(e, KMIP_REASON_RESPONSE_TOO_LARGE);
	ck_assert_ptr_null(ttlv_find(it, KMIP_TAG_RESULT_MESSAGE));
	ttlv_free(t);
	kmip_resp_free(r);
}
END_TEST

/* Attributes read from one version and written at the other read back
 * the same; written at their own version, the bytes are the client's. */
START_TEST(test_attributes_across_versions)
{
	static const struct { const char *hex; int32_t major, minor; } src[] = {
		{ create_1_2, 1, 2 }, { create_2_0, 2, 0 } };
	struct kmip_version other, same;
	struct kmip_request *r;
	struct kmip_attr *a, *back;
	const struct ttlv *c;
	struct ttlv_buf *b, *cb;
	const unsigned char *out, *orig;
	struct ttlv *t;
	size_t n, m, k, olen;
	char err[200];
	int w;

	for (w = 0; w < 2; w++) {
		r = parse_hex(src[w].hex, src[w].major, src[w].minor, 1);
		c = kmip_attrs_container(r->items[0].payload);
		ck_assert_int_eq(kmip_attrs_read(c, &a, &n, err, sizeof(err)), 0);
		same = r->version;
		other.major = same.major == 1 ? 2 : 1;
		other.minor = same.major == 1 ? 0 : 2;

		/* the other version, and back */
		b = ttlv_buf_new(0);
		k = ttlv_begin(b, other.major == 1 ? KMIP_TAG_TEMPLATE_ATTRIBUTE :
		    KMIP_TAG_ATTRIBUTES);
		for (m = 0; m < n; m++)
			ck_assert_int_eq(kmip_attr_put(b, &other, &a[m]), 0);
		ttlv_end(b, k);
		ck_assert_ptr_nonnull(out = ttlv_buf_data(b, &olen));
		ck_assert_int_eq(ttlv_decode(out, olen, NULL, &t, NULL, 0),
		    TTLV_OK);
		ck_assert_int_eq(kmip_attrs_read(t, &back, &m, err,
		    sizeof(err)), 0);
		ck_assert_uint_eq(m, n);
		for (m = 0; m < n; m++) {
			ck_assert_uint_eq(back[m].tag, a[m].tag);
			ck_assert_int_eq(ttlv_type(back[m].value),
			    ttlv_type(a[m].value));
		}
		free(back);
		ttlv_free(t);
		ttlv_buf_free(b);

		/* the same version: the client's bytes */
		b = ttlv_buf_new(0);
		k = ttlv_begin(b, ttlv_tag(c));
		for (m = 0; m < n; m++)
			ck_assert_int_eq(kmip_attr_put(b, &same, &a[m]), 0);
		ttlv_end(b, k);
		ck_assert_ptr_nonnull(out = ttlv_buf_data(b, &olen));
		cb = ttlv_buf_new(0);
		ttlv_put_node(cb, c, 0);
		ck_assert_ptr_nonnull(orig = ttlv_buf_data(cb, &m));
		ck_assert_uint_eq(olen, m);
		ck_assert_mem_eq(out, orig, m);
		ttlv_buf_free(cb);
		ttlv_buf_free(b);
		free(a);
		kmip_request_free(r);
	}
}
END_TEST

/* Ways to bend a request (a Get of "k", one item) out of shape. */
enum bend {
	B_NONE		= 0,
	B_NO_HEADER	= 1 << 0,
	B_NO_VERSION	= 1 << 1,
	B_NO_MINOR	= 1 << 2,
	B_COUNT_2	= 1 << 3,
	B_COUNT_0	= 1 << 4,
	B_NO_OP		= 1 << 5,
	B_NO_PAYLOAD	= 1 << 6,
	B_SECOND_ITEM	= 1 << 7,	/* a second item, Batch Count 2 */
	B_NO_IDS	= 1 << 8,	/* ... and no Unique Batch Item IDs */
	B_UNKNOWN_FIELD	= 1 << 9,	/* in the header */
	B_MRS_ENUM	= 1 << 10,	/* Maximum Response Size an Enumeration */
	B_MRS_NEGATIVE	= 1 << 11,
	B_EPHEMERAL	= 1 << 12,	/* 2.0's, in the item */
	B_CORRELATION	= 1 << 13,	/* 1.4's Client Correlation Value */
	B_DUP_COUNT	= 1 << 14,
	B_EXTRA_FIELD	= 1 << 15,	/* a non-item after the header */
	B_RESPONSE	= 1 << 16,	/* a Response Message's tag */
	B_AUTH		= 1 << 17,	/* Authentication with a credential */
	B_OPTIONS	= 1 << 18,	/* Time Stamp, batch options, MRS */
	B_PAYLOAD_TEXT	= 1 << 19,	/* Request Payload a Text String */
	B_EMPTY_ID	= 1 << 20,
	B_ITEM_UNKNOWN	= 1 << 21,	/* an unknown field in the item */
};

static void
put_item(struct ttlv_buf *b, unsigned int f, const char *id)
{
	size_t it = ttlv_begin(b, KMIP_TAG_BATCH_ITEM), pl;

	if (!(f & B_NO_OP))
		ttlv_put_enum(b, KMIP_TAG_OPERATION, KMIP_OP_GET);
	if (f & B_EPHEMERAL)
		ttlv_put_bool(b, KMIP_TAG_EPHEMERAL, 0);
	if (f & B_ITEM_UNKNOWN)
		ttlv_put_int(b, KMIP_TAG_BATCH_COUNT, 1);
	if (f & B_EMPTY_ID)
		ttlv_put_bytes(b, KMIP_TAG_UNIQUE_BATCH_ITEM_ID, "", 0);
	else if (id != NULL)
		ttlv_put_bytes(b, KMIP_TAG_UNIQUE_BATCH_ITEM_ID, id, strlen(id));
	if (f & B_PAYLOAD_TEXT) {
		ttlv_put_text(b, KMIP_TAG_REQUEST_PAYLOAD, "k", 1);
	} else if (!(f & B_NO_PAYLOAD)) {
		pl = ttlv_begin(b, KMIP_TAG_REQUEST_PAYLOAD);
		ttlv_put_text(b, KMIP_TAG_UNIQUE_IDENTIFIER, "k", 1);
		ttlv_end(b, pl);
	}
	ttlv_end(b, it);
}

/* A request at major.minor bent by f, in a malloc'd block. */
static unsigned char *
bent(int32_t major, int32_t minor, unsigned int f, size_t *len)
{
	struct ttlv_buf *b = ttlv_buf_new(0);
	size_t m, h, pv, au;
	const unsigned char *p;
	unsigned char *out;
	int two = (f & B_SECOND_ITEM) != 0;

	m = ttlv_begin(b, f & B_RESPONSE ? KMIP_TAG_RESPONSE_MESSAGE :
	    KMIP_TAG_REQUEST_MESSAGE);
	if (!(f & B_NO_HEADER)) {
		h = ttlv_begin(b, KMIP_TAG_REQUEST_HEADER);
		if (!(f & B_NO_VERSION)) {
			pv = ttlv_begin(b, KMIP_TAG_PROTOCOL_VERSION);
			ttlv_put_int(b, KMIP_TAG_PROTOCOL_VERSION_MAJOR, major);
			if (!(f & B_NO_MINOR))
				ttlv_put_int(b, KMIP_TAG_PROTOCOL_VERSION_MINOR,
				    minor);
			ttlv_end(b, pv);
		}
		if (f & B_MRS_ENUM)
			ttlv_put_enum(b, KMIP_TAG_MAXIMUM_RESPONSE_SIZE, 4096);
		if (f & B_MRS_NEGATIVE)
			ttlv_put_int(b, KMIP_TAG_MAXIMUM_RESPONSE_SIZE, -1);
		if (f & B_OPTIONS)
			ttlv_put_int(b, KMIP_TAG_MAXIMUM_RESPONSE_SIZE, 4096);
		if (f & B_CORRELATION)
			ttlv_put_text(b, KMIP_TAG_CLIENT_CORRELATION_VALUE, "c", 1);
		if (f & B_AUTH) {
			au = ttlv_begin(b, KMIP_TAG_AUTHENTICATION);
			pv = ttlv_begin(b, KMIP_TAG_CREDENTIAL);
			ttlv_put_enum(b, KMIP_TAG_CREDENTIAL_TYPE, 1);
			ttlv_end(b, pv);
			ttlv_end(b, au);
		}
		if (f & B_OPTIONS) {
			ttlv_put_enum(b, KMIP_TAG_BATCH_ERROR_CONTINUATION_OPTION,
			    KMIP_BATCHERR_CONTINUE);
			ttlv_put_bool(b, KMIP_TAG_BATCH_ORDER_OPTION, 1);
			ttlv_put_datetime(b, KMIP_TAG_TIME_STAMP, 0x47DA67F8);
		}
		if (f & B_UNKNOWN_FIELD)
			ttlv_put_text(b, KMIP_TAG_COMMENT, "hi", 2);
		ttlv_put_int(b, KMIP_TAG_BATCH_COUNT, f & B_COUNT_0 ? 0 :
		    (f & B_COUNT_2) || two ? 2 : 1);
		if (f & B_DUP_COUNT)
			ttlv_put_int(b, KMIP_TAG_BATCH_COUNT, 1);
		ttlv_end(b, h);
	}
	put_item(b, f, two && !(f & B_NO_IDS) ? "1" : NULL);
	if (two)
		put_item(b, f & ~(unsigned int)B_EMPTY_ID,
		    f & B_NO_IDS ? NULL : "2");
	if (f & B_EXTRA_FIELD)
		ttlv_put_int(b, KMIP_TAG_BATCH_COUNT, 1);
	ttlv_end(b, m);
	ck_assert_ptr_nonnull(p = ttlv_buf_data(b, len));
	out = malloc(*len);
	memcpy(out, p, *len);
	ttlv_buf_free(b);
	return out;
}

static const struct {
	const char	*what;
	int32_t		 major, minor;
	unsigned int	 bend;
	int		 ok;
	const char	*says;		/* in the error message */
} shapes[] = {
	{ "a plain Get at 1.0", 1, 0, B_NONE, 1, NULL },
	{ "a plain Get at 2.0", 2, 0, B_NONE, 1, NULL },
	{ "Authentication is accepted", 1, 2, B_AUTH, 1, NULL },
	{ "the header's options", 1, 2, B_OPTIONS, 1, NULL },
	{ "a batch of two with IDs", 1, 2, B_SECOND_ITEM, 1, NULL },
	{ "Ephemeral at 2.0", 2, 0, B_EPHEMERAL, 1, NULL },
	{ "Client Correlation Value at 1.4", 1, 4, B_CORRELATION, 1, NULL },
	{ "a Response Message", 1, 2, B_RESPONSE, 0, "not a Request Message" },
	{ "no Request Header", 1, 2, B_NO_HEADER, 0, "Request Header" },
	{ "no Protocol Version", 1, 2, B_NO_VERSION, 0, "Protocol Version" },
	{ "no Protocol Version Minor", 1, 2, B_NO_MINOR, 0,
	    "Protocol Version Minor" },
	{ "Batch Count 2, one item", 1, 2, B_COUNT_2, 0, "Batch Count is 2" },
	{ "Batch Count 0", 1, 2, B_COUNT_0, 0, "less than 1" },
	{ "Batch Count twice", 1, 2, B_DUP_COUNT, 0, "twice" },
	{ "no Operation", 1, 2, B_NO_OP, 0, "no Operation" },
	{ "no Request Payload", 1, 2, B_NO_PAYLOAD, 0, "no Request Payload" },
	{ "a Text String payload", 1, 2, B_PAYLOAD_TEXT, 0, "has type 0x07" },
	{ "two items without IDs", 1, 2, B_SECOND_ITEM | B_NO_IDS, 0,
	    "no Unique Batch Item ID" },
	{ "an empty Unique Batch Item ID", 1, 2, B_SECOND_ITEM | B_EMPTY_ID, 0,
	    "empty Unique Batch Item ID" },
	{ "an unknown header field", 1, 2, B_UNKNOWN_FIELD, 0,
	    "unexpected field with tag 0x4200fd in the Request Header" },
	{ "an unknown item field", 1, 2, B_ITEM_UNKNOWN, 0,
	    "in the Batch Item 1" },
	{ "Maximum Response Size an Enumeration", 1, 2, B_MRS_ENUM, 0,
	    "Maximum Response Size in the Request Header has type 0x05" },
	{ "Maximum Response Size -1", 1, 2, B_MRS_NEGATIVE, 0, "not positive" },
	{ "Ephemeral at 1.4", 1, 4, B_EPHEMERAL, 0, "not part of KMIP 1.4" },
	{ "Client Correlation Value at 1.2", 1, 2, B_CORRELATION, 0,
	    "not part of KMIP 1.2" },
	{ "a field after the items", 1, 2, B_EXTRA_FIELD, 0,
	    "other than a Batch Item" },
};

START_TEST(test_shapes)
{
	struct kmip_request *r = (struct kmip_request *)&r;
	struct kmip_version v = { 9, 9 };
	unsigned char *in;
	size_t n;
	char err[200] = "";
	uint32_t reason;

	in = bent(shapes[_i].major, shapes[_i].minor, shapes[_i].bend, &n);
	reason = kmip_request_parse(in, n, NULL, &r, &v, err, sizeof(err));
	if (shapes[_i].ok) {
		ck_assert_msg(reason == 0, "%s: refused: %s", shapes[_i].what,
		    err);
		ck_assert_int_eq(r->version.major, shapes[_i].major);
		ck_assert_uint_eq(r->nitems, shapes[_i].bend & B_SECOND_ITEM ?
		    2 : 1);
		if (shapes[_i].bend & B_OPTIONS) {
			ck_assert_int_eq(r->max_response_size, 4096);
			ck_assert_int_eq(r->batch_order, 1);
			ck_assert_uint_eq(r->batch_error_option,
			    KMIP_BATCHERR_CONTINUE);
			ck_assert_int_eq(r->has_time_stamp, 1);
			ck_assert_int_eq(r->time_stamp, 0x47DA67F8);
		}
		kmip_request_free(r);
	} else {
		ck_assert_msg(reason == KMIP_REASON_INVALID_MESSAGE,
		    "%s: accepted", shapes[_i].what);
		ck_assert_ptr_null(r);
		ck_assert_msg(strstr(err, shapes[_i].says) != NULL,
		    "%s: said \"%s\"", shapes[_i].what, err);
	}
	/* the version the error response speaks: the client's once read */
	if (!(shapes[_i].bend & (B_NO_HEADER | B_NO_VERSION | B_NO_MINOR |
	    B_RESPONSE))) {
		ck_assert_int_eq(v.major, shapes[_i].major);
		ck_assert_int_eq(v.minor, shapes[_i].minor);
	} else {
		ck_assert_int_eq(v.major, 1);
		ck_assert_int_eq(v.minor, 0);
	}
	free(in);
}
END_TEST

/* Bytes that are not TTLV at all: Invalid Message, version 1.0. */
START_TEST(test_not_ttlv)
{
	struct kmip_request *r;
	struct kmip_version v = { 2, 0 };
	unsigned char *in;
	size_t n;
	char err[200];

	in = hexbytes(create_2_0, &n);
	ck_assert_uint_eq(kmip_request_parse(in, n - 8, NULL, &r, &v, err,
	    sizeof(err)), KMIP_REASON_INVALID_MESSAGE);
	ck_assert_ptr_null(r);
	ck_assert_int_eq(v.major, 1);
	ck_assert_ptr_nonnull(strstr(err, "runs past the end"));
	free(in);
}
END_TEST

/* Attributes the neutral reader refuses. */
START_TEST(test_attr_refusals)
{
	struct ttlv_buf *b = ttlv_buf_new(0);
	const unsigned char *p;
	struct ttlv *t;
	struct kmip_attr a, *list;
	size_t n, k, s;
	char err[200];
	uint32_t tag;
	const char *name;

	/* [0] an Attribute without a value, [1] an unknown name, [2] a
	 * custom name, [3] a non-attribute tag, [4] a reference Integer */
	s = ttlv_begin(b, KMIP_TAG_REQUEST_PAYLOAD);
	k = ttlv_begin(b, KMIP_TAG_ATTRIBUTE);
	ttlv_put_text(b, KMIP_TAG_ATTRIBUTE_NAME, "State", 5);
	ttlv_end(b, k);
	k = ttlv_begin(b, KMIP_TAG_ATTRIBUTE);
	ttlv_put_text(b, KMIP_TAG_ATTRIBUTE_NAME, "Colour", 6);
	ttlv_put_int(b, KMIP_TAG_ATTRIBUTE_VALUE, 1);
	ttlv_end(b, k);
	k = ttlv_begin(b, KMIP_TAG_ATTRIBUTE);
	ttlv_put_text(b, KMIP_TAG_ATTRIBUTE_NAME, "x-library", 9);
	ttlv_put_int(b, KMIP_TAG_ATTRIBUTE_INDEX, 2);
	ttlv_put_text(b, KMIP_TAG_ATTRIBUTE_VALUE, "LTO", 3);
	ttlv_end(b, k);
	ttlv_put_int(b, KMIP_TAG_BATCH_COUNT, 1);
	ttlv_put_int(b, KMIP_TAG_ATTRIBUTE_REFERENCE, 1);
	ttlv_end(b, s);
	ck_assert_ptr_nonnull(p = ttlv_buf_data(b, &n));
	ck_assert_int_eq(ttlv_decode(p, n, NULL, &t, NULL, 0), TTLV_OK);

	ck_assert_int_eq(kmip_attr_read(ttlv_first(t), &a, err, sizeof(err)),
	    -1);
	ck_assert_ptr_nonnull(strstr(err, "no Attribute Value"));
	ck_assert_int_eq(kmip_attr_read(ttlv_next(ttlv_first(t)), &a, err,
	    sizeof(err)), -1);
	ck_assert_str_eq(err, "unknown attribute name");
	ck_assert_int_eq(kmip_attr_read(ttlv_next(ttlv_next(ttlv_first(t))),
	    &a, err, sizeof(err)), 0);
	ck_assert_uint_eq(a.tag, 0);
	ck_assert_str_eq(a.name, "x-library");
	ck_assert_int_eq(a.index, 2);
	ck_assert_int_eq(kmip_attr_read(ttlv_find(t, KMIP_TAG_BATCH_COUNT), &a,
	    err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "not an attribute's"));
	ck_assert_int_eq(kmip_attr_ref_read(ttlv_find(t,
	    KMIP_TAG_ATTRIBUTE_REFERENCE), &tag, &name, err, sizeof(err)), -1);
	ck_assert_int_eq(kmip_attr_ref_read(ttlv_find(t, KMIP_TAG_BATCH_COUNT),
	    &tag, &name, err, sizeof(err)), -1);
	/* not a container */
	ck_assert_int_eq(kmip_attrs_read(t, &list, &n, err, sizeof(err)), -1);
	ck_assert_ptr_null(list);
	ttlv_free(t);
	ttlv_buf_free(b);

	/* a custom attribute has no 2.0 form; a 1.x form it has */
	b = ttlv_buf_new(0);
	{
		struct kmip_version v2 = { 2, 0 }, v1 = { 1, 2 };

		ck_assert_uint_eq(kmip_attr_begin(b, &v2, 0, "x-library", -1,
		    &k), 0);
		ck_assert_uint_eq(kmip_attr_begin(b, &v1, 0, "x-library", -1,
		    &k), KMIP_TAG_ATTRIBUTE_VALUE);
		ttlv_put_text(b, KMIP_TAG_ATTRIBUTE_VALUE, "LTO", 3);
		kmip_attr_end(b, &v1, k);
	}
	ck_assert_ptr_nonnull(p = ttlv_buf_data(b, &n));
	ck_assert_int_eq(ttlv_decode(p, n, NULL, &t, NULL, 0), TTLV_OK);
	ck_assert_int_eq(kmip_attr_read(t, &a, err, sizeof(err)), 0);
	ck_assert_str_eq(a.name, "x-library");
	ttlv_free(t);
	ttlv_buf_free(b);
}
END_TEST

/* A Template-Attribute naming a template is refused. */
START_TEST(test_template_refused)
{
	struct ttlv_buf *b = ttlv_buf_new(0);
	const unsigned char *p;
	struct ttlv *t;
	struct kmip_attr *list;
	size_t n, k, nm;
	char err[200];

	k = ttlv_begin(b, KMIP_TAG_TEMPLATE_ATTRIBUTE);
	nm = ttlv_begin(b, KMIP_TAG_NAME);
	ttlv_put_text(b, KMIP_TAG_NAME_VALUE, "tpl", 3);
	ttlv_put_enum(b, KMIP_TAG_NAME_TYPE, 1);
	ttlv_end(b, nm);
	ttlv_end(b, k);
	ck_assert_ptr_nonnull(p = ttlv_buf_data(b, &n));
	ck_assert_int_eq(ttlv_decode(p, n, NULL, &t, NULL, 0), TTLV_OK);
	ck_assert_int_eq(kmip_attrs_read(t, &list, &n, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "templates are not supported"));
	ttlv_free(t);
	ttlv_buf_free(b);
}
END_TEST

/* The name tables. */
START_TEST(test_names)
{
	ck_assert_uint_eq(kmip_attr_name_tag("Cryptographic Usage Mask"),
	    KMIP_TAG_CRYPTOGRAPHIC_USAGE_MASK);
	ck_assert_uint_eq(kmip_attr_name_tag("Application Specific Information"),
	    KMIP_TAG_APPLICATION_SPECIFIC_INFORMATION);
	ck_assert_uint_eq(kmip_attr_name_tag("x-anything"), 0);
	ck_assert_str_eq(kmip_attr_tag_name(KMIP_TAG_OBJECT_GROUP),
	    "Object Group");
	ck_assert_ptr_null(kmip_attr_tag_name(KMIP_TAG_BATCH_COUNT));
	ck_assert_str_eq(kmip_op_name(KMIP_OP_DISCOVER_VERSIONS),
	    "Discover Versions");
	ck_assert_str_eq(kmip_op_name(KMIP_OP_SET_ATTRIBUTE), "Set Attribute");
	ck_assert_ptr_null(kmip_op_name(0));
	ck_assert_str_eq(kmip_reason_name(KMIP_REASON_WRONG_KEY_LIFECYCLE_STATE),
	    "Wrong Key Lifecycle State");
}
END_TEST

static Suite *
kmip_msg_suite(void)
{
	Suite	*s = suite_create("kmip_msg");
	TCase	*tc = tcase_create("core");

	tcase_add_loop_test(tc, test_captured_round_trip, 0,
	    sizeof(captured) / sizeof(captured[0]));
	tcase_add_test(tc, test_create_1_2);
	tcase_add_test(tc, test_create_2_0);
	tcase_add_test(tc, test_register_key_material);
	tcase_add_test(tc, test_get_attributes_names);
	tcase_add_test(tc, test_encrypt_parameters);
	tcase_add_test(tc, test_set_attribute_2_0);
	tcase_add_test(tc, test_batch_of_two);
	tcase_add_test(tc, test_response_matches_pykmip);
	tcase_add_test(tc, test_response_two_items);
	tcase_add_test(tc, test_response_too_large);
	tcase_add_test(tc, test_attributes_across_versions);
	tcase_add_loop_test(tc, test_shapes, 0, sizeof(shapes) / sizeof(shapes[0]));
	tcase_add_test(tc, test_not_ttlv);
	tcase_add_test(tc, test_attr_refusals);
	tcase_add_test(tc, test_template_refused);
	tcase_add_test(tc, test_names);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return check_run(kmip_msg_suite(), CK_FORK);
}
