/*
 * check_ttlv.c: kmip/ttlv against the encoding examples of the KMIP
 * specification (section 9.1.2 of KMIP 1.0 to 1.4, the same bytes in
 * 2.0), both ways, and every malformed shape the decoder must refuse with
 * its own error.
 */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kmip/ttlv.h"
#include "check_main.h"
#include "hexbytes.h"

#define TAG_EX	0x420020	/* the examples' tag (Compromise Date) */

/*
 * KMIP 1.4 section 9.1.2, "Examples": a Protocol Object of tag 420020 of
 * each type.  bigint is 1234567890000000000000000000, datetime Friday,
 * March 14, 2008, 11:56:40 GMT, interval 10 days.
 */
static const struct {
	const char	*what;
	const char	*hex;
	enum ttlv_type	 type;
	int64_t		 num;		/* the number, for number types */
	const char	*str;		/* the bytes, for string types */
	size_t		 slen;
} spec[] = {
	{ "Integer 8", "42 00 20 | 02 | 00 00 00 04 | 00 00 00 08 00 00 00 00",
	    TTLV_INTEGER, 8, NULL, 0 },
	{ "Long Integer 123456789000000000",
	    "42 00 20 | 03 | 00 00 00 08 | 01 B6 9B 4B A5 74 92 00",
	    TTLV_LONG_INTEGER, 123456789000000000LL, NULL, 0 },
	{ "Big Integer 1234567890000000000000000000",
	    "42 00 20 | 04 | 00 00 00 10 | 00 00 00 00 03 FD 35 EB 6B C2 DF 46 "
	    "18 08 00 00", TTLV_BIG_INTEGER, 0,
	    "\x00\x00\x00\x00\x03\xfd\x35\xeb\x6b\xc2\xdf\x46\x18\x08\x00\x00",
	    16 },
	{ "Enumeration 255",
	    "42 00 20 | 05 | 00 00 00 04 | 00 00 00 FF 00 00 00 00",
	    TTLV_ENUMERATION, 255, NULL, 0 },
	{ "Boolean True",
	    "42 00 20 | 06 | 00 00 00 08 | 00 00 00 00 00 00 00 01",
	    TTLV_BOOLEAN, 1, NULL, 0 },
	{ "Text String Hello World",
	    "42 00 20 | 07 | 00 00 00 0B | 48 65 6C 6C 6F 20 57 6F 72 6C 64 "
	    "00 00 00 00 00", TTLV_TEXT_STRING, 0, "Hello World", 11 },
	{ "Byte String 01 02 03",
	    "42 00 20 | 08 | 00 00 00 03 | 01 02 03 00 00 00 00 00",
	    TTLV_BYTE_STRING, 0, "\x01\x02\x03", 3 },
	{ "Date-Time 2008-03-14 11:56:40",
	    "42 00 20 | 09 | 00 00 00 08 | 00 00 00 00 47 DA 67 F8",
	    TTLV_DATE_TIME, 1205495800, NULL, 0 },
	{ "Interval 10 days",
	    "42 00 20 | 0A | 00 00 00 04 | 00 0D 2F 00 00 00 00 00",
	    TTLV_INTERVAL, 864000, NULL, 0 },
};

/* The Structure example: an Enumeration 254 (tag 420004) then an Integer
 * 255 (tag 420005). */
static const char spec_struct[] =
    "42 00 20 | 01 | 00 00 00 20 | 42 00 04 | 05 | 00 00 00 04 | "
    "00 00 00 FE 00 00 00 00 | 42 00 05 | 02 | 00 00 00 04 | "
    "00 00 00 FF 00 00 00 00";

/* Encode spec[i]'s value with the typed put functions. */
static void
put_spec(struct ttlv_buf *b, size_t i)
{
	switch (spec[i].type) {
	case TTLV_INTEGER:
		ttlv_put_int(b, TAG_EX, (int32_t)spec[i].num);
		break;
	case TTLV_LONG_INTEGER:
		ttlv_put_long(b, TAG_EX, spec[i].num);
		break;
	case TTLV_BIG_INTEGER:
		/* the shortest form: the encoder sign-extends it */
		ttlv_put_bigint(b, TAG_EX,
		    (const unsigned char *)spec[i].str + 4, spec[i].slen - 4);
		break;
	case TTLV_ENUMERATION:
		ttlv_put_enum(b, TAG_EX, (uint32_t)spec[i].num);
		break;
	case TTLV_BOOLEAN:
		ttlv_put_bool(b, TAG_EX, (int)spec[i].num);
		break;
	case TTLV_TEXT_STRING:
		ttlv_put_text(b, TAG_EX, spec[i].str, spec[i].slen);
		break;
	case TTLV_BYTE_STRING:
		ttlv_put_bytes(b, TAG_EX, spec[i].str, spec[i].slen);
		break;
	case TTLV_DATE_TIME:
		ttlv_put_datetime(b, TAG_EX, spec[i].num);
		break;
	case TTLV_INTERVAL:
		ttlv_put_interval(b, TAG_EX, (uint32_t)spec[i].num);
		break;
	default:
		ck_abort_msg("no put for %s", spec[i].what);
	}
}

/* The decoded node's value equals spec[i]'s. */
static void
check_value(const struct ttlv *t, size_t i)
{
	int32_t i32;
	int64_t i64;
	uint32_t u32;
	int b;
	const char *s;
	const unsigned char *p;
	size_t n;

	switch (spec[i].type) {
	case TTLV_INTEGER:
		ck_assert_int_eq(ttlv_get_int(t, &i32), 0);
		ck_assert_int_eq(i32, spec[i].num);
		break;
	case TTLV_LONG_INTEGER:
		ck_assert_int_eq(ttlv_get_long(t, &i64), 0);
		ck_assert_int_eq(i64, spec[i].num);
		break;
	case TTLV_ENUMERATION:
		ck_assert_int_eq(ttlv_get_enum(t, &u32), 0);
		ck_assert_uint_eq(u32, (uint64_t)spec[i].num);
		break;
	case TTLV_BOOLEAN:
		ck_assert_int_eq(ttlv_get_bool(t, &b), 0);
		ck_assert_int_eq(b, spec[i].num);
		break;
	case TTLV_DATE_TIME:
		ck_assert_int_eq(ttlv_get_datetime(t, &i64), 0);
		ck_assert_int_eq(i64, spec[i].num);
		break;
	case TTLV_INTERVAL:
		ck_assert_int_eq(ttlv_get_interval(t, &u32), 0);
		ck_assert_uint_eq(u32, (uint64_t)spec[i].num);
		break;
	case TTLV_TEXT_STRING:
		ck_assert_int_eq(ttlv_get_text(t, &s, &n), 0);
		ck_assert_uint_eq(n, spec[i].slen);
		ck_assert_str_eq(s, spec[i].str);
		break;
	case TTLV_BYTE_STRING:
		ck_assert_int_eq(ttlv_get_bytes(t, &p, &n), 0);
		ck_assert_uint_eq(n, spec[i].slen);
		ck_assert_mem_eq(p, spec[i].str, n);
		break;
	case TTLV_BIG_INTEGER:
		ck_assert_int_eq(ttlv_get_bigint(t, &p, &n), 0);
		ck_assert_uint_eq(n, spec[i].slen);
		ck_assert_mem_eq(p, spec[i].str, n);
		break;
	default:
		ck_abort();
	}
}

/* b holds exactly want[0..wlen); b is freed. */
static void
assert_buf_eq(struct ttlv_buf *b, const unsigned char *want, size_t wlen)
{
	const unsigned char *got;
	size_t glen;

	ck_assert_ptr_nonnull(got = ttlv_buf_data(b, &glen));
	ck_assert_uint_eq(glen, wlen);
	ck_assert_mem_eq(got, want, wlen);
	ttlv_buf_free(b);
}

START_TEST(test_spec_decode_encode)
{
	unsigned char *want;
	size_t wlen;
	struct ttlv *t;
	struct ttlv_buf *b;
	char err[128];

	want = hexbytes(spec[_i].hex, &wlen);
	ck_assert_msg(ttlv_decode(want, wlen, NULL, &t, err, sizeof(err)) ==
	    TTLV_OK, "%s: %s", spec[_i].what, err);
	ck_assert_uint_eq(ttlv_tag(t), TAG_EX);
	ck_assert_int_eq(ttlv_type(t), spec[_i].type);
	check_value(t, _i);

	/* encoded from the value: the same bytes */
	ck_assert_ptr_nonnull(b = ttlv_buf_new(0));
	put_spec(b, _i);
	assert_buf_eq(b, want, wlen);

	/* re-encoded from the tree: the same bytes */
	ck_assert_ptr_nonnull(b = ttlv_buf_new(0));
	ttlv_put_node(b, t, 0);
	assert_buf_eq(b, want, wlen);
	ttlv_free(t);
	free(want);
}
END_TEST

START_TEST(test_spec_structure)
{
	unsigned char *want;
	const struct ttlv *c;
	size_t wlen, mark;
	struct ttlv *t;
	struct ttlv_buf *b;
	uint32_t e;
	int32_t i;

	want = hexbytes(spec_struct, &wlen);
	ck_assert_int_eq(ttlv_decode(want, wlen, NULL, &t, NULL, 0), TTLV_OK);
	ck_assert_int_eq(ttlv_type(t), TTLV_STRUCTURE);
	ck_assert_uint_eq(ttlv_count(t, 0), 2);
	ck_assert_uint_eq(ttlv_count(t, 0x420004), 1);
	c = ttlv_first(t);
	ck_assert_uint_eq(ttlv_tag(c), 0x420004);
	ck_assert_int_eq(ttlv_get_enum(c, &e), 0);
	ck_assert_uint_eq(e, 254);
	c = ttlv_next(c);
	ck_assert_uint_eq(ttlv_tag(c), 0x420005);
	ck_assert_int_eq(ttlv_get_int(c, &i), 0);
	ck_assert_int_eq(i, 255);
	ck_assert_ptr_null(ttlv_next(c));
	ck_assert_ptr_eq(ttlv_find(t, 0x420005), c);
	ck_assert_ptr_null(ttlv_find(t, 0x420006));
	ck_assert_ptr_null(ttlv_find_next(c));

	ck_assert_ptr_nonnull(b = ttlv_buf_new(0));
	mark = ttlv_begin(b, TAG_EX);
	ttlv_put_enum(b, 0x420004, 254);
	ttlv_put_int(b, 0x420005, 255);
	ttlv_end(b, mark);
	assert_buf_eq(b, want, wlen);

	ck_assert_ptr_nonnull(b = ttlv_buf_new(0));
	ttlv_put_node(b, t, 0);
	assert_buf_eq(b, want, wlen);
	ttlv_free(t);
	free(want);
}
END_TEST

/* KMIP 2.0's Date-Time Extended: microseconds, 8 bytes. */
START_TEST(test_datetime_ext)
{
	static const char hex[] =
	    "42 00 20 | 0B | 00 00 00 08 | 00 04 48 64 5C EF EE 00";
	unsigned char *in;
	size_t n;
	struct ttlv *t;
	struct ttlv_buf *b;
	int64_t v;

	in = hexbytes(hex, &n);
	ck_assert_int_eq(ttlv_decode(in, n, NULL, &t, NULL, 0), TTLV_OK);
	ck_assert_int_eq(ttlv_get_datetime_ext(t, &v), 0);
	ck_assert_int_eq(v, 1205495800000000LL);
	ck_assert_int_eq(ttlv_get_datetime(t, &v), -1);
	b = ttlv_buf_new(0);
	ttlv_put_datetime_ext(b, TAG_EX, 1205495800000000LL);
	assert_buf_eq(b, in, n);
	ttlv_free(t);
	free(in);
}
END_TEST

/* Malformed shapes: each is refused with its own error. */
static const struct {
	const char	*what;
	const char	*hex;
	enum ttlv_err	 want;
} bad[] = {
	{ "empty input", "", TTLV_ESHORT },
	{ "header of 7 bytes", "42 00 20 | 02 | 00 00 00", TTLV_ESHORT },
	{ "Integer without its padding",
	    "42 00 20 | 02 | 00 00 00 04 | 00 00 00 08", TTLV_EOVERRUN },
	{ "Text String longer than the input",
	    "42 00 20 | 07 | 00 00 00 0B | 48 65 6C 6C 6F 20 57 6F", TTLV_EOVERRUN },
	{ "Byte String of length 2^32-1",
	    "42 00 20 | 08 | FF FF FF FF | 01 02 03 00 00 00 00 00", TTLV_EOVERRUN },
	{ "child past the end of its structure",
	    "42 00 20 | 01 | 00 00 00 08 | 42 00 04 | 02 | 00 00 00 04 | "
	    "00 00 00 01 00 00 00 00", TTLV_EOVERRUN },
	{ "non-zero padding after an Integer",
	    "42 00 20 | 02 | 00 00 00 04 | 00 00 00 08 00 00 00 01", TTLV_EPAD },
	{ "non-zero padding after a Text String",
	    "42 00 20 | 07 | 00 00 00 03 | 61 62 63 00 00 00 20 00", TTLV_EPAD },
	{ "Integer of length 8",
	    "42 00 20 | 02 | 00 00 00 08 | 00 00 00 00 00 00 00 08", TTLV_ELENGTH },
	{ "Enumeration of length 8",
	    "42 00 20 | 05 | 00 00 00 08 | 00 00 00 00 00 00 00 08", TTLV_ELENGTH },
	{ "Interval of length 8",
	    "42 00 20 | 0A | 00 00 00 08 | 00 00 00 00 00 00 00 08", TTLV_ELENGTH },
	{ "Long Integer of length 4",
	    "42 00 20 | 03 | 00 00 00 04 | 00 00 00 08 00 00 00 00", TTLV_ELENGTH },
	{ "Date-Time of length 4",
	    "42 00 20 | 09 | 00 00 00 04 | 47 DA 67 F8 00 00 00 00", TTLV_ELENGTH },
	{ "Boolean of length 4",
	    "42 00 20 | 06 | 00 00 00 04 | 00 00 00 01 00 00 00 00", TTLV_ELENGTH },
	{ "Date-Time Extended of length 4",
	    "42 00 20 | 0B | 00 00 00 04 | 00 00 00 01 00 00 00 00", TTLV_ELENGTH },
	{ "Big Integer of length 4",
	    "42 00 20 | 04 | 00 00 00 04 | 00 00 00 01 00 00 00 00", TTLV_ELENGTH },
	{ "Structure of length 4",
	    "42 00 20 | 01 | 00 00 00 04 | 00 00 00 01 00 00 00 00", TTLV_ELENGTH },
	{ "type 0x00", "42 00 20 | 00 | 00 00 00 00", TTLV_ETYPE },
	{ "type 0x0C", "42 00 20 | 0C | 00 00 00 00", TTLV_ETYPE },
	{ "type 0xFF", "42 00 20 | FF | 00 00 00 04 | 00 00 00 01 00 00 00 00",
	    TTLV_ETYPE },
	{ "unknown type inside a structure",
	    "42 00 20 | 01 | 00 00 00 08 | 42 00 04 | 42 | 00 00 00 00",
	    TTLV_ETYPE },
	{ "Boolean 2",
	    "42 00 20 | 06 | 00 00 00 08 | 00 00 00 00 00 00 00 02", TTLV_EBOOL },
	{ "Boolean with a high bit",
	    "42 00 20 | 06 | 00 00 00 08 | 80 00 00 00 00 00 00 01", TTLV_EBOOL },
	{ "Text String with a NUL",
	    "42 00 20 | 07 | 00 00 00 03 | 61 00 62 00 00 00 00 00", TTLV_ETEXT },
	{ "Text String with a lone continuation byte",
	    "42 00 20 | 07 | 00 00 00 02 | 61 80 00 00 00 00 00 00", TTLV_ETEXT },
	{ "Text String with an overlong '/'",
	    "42 00 20 | 07 | 00 00 00 02 | C0 AF 00 00 00 00 00 00", TTLV_ETEXT },
	{ "Text String with a surrogate",
	    "42 00 20 | 07 | 00 00 00 03 | ED A0 80 00 00 00 00 00", TTLV_ETEXT },
	{ "Text String cut inside a character",
	    "42 00 20 | 07 | 00 00 00 02 | 61 E2 00 00 00 00 00 00", TTLV_ETEXT },
	{ "8 bytes after the item",
	    "42 00 20 | 02 | 00 00 00 04 | 00 00 00 08 00 00 00 00 | "
	    "42 00 20 | 01 | 00 00 00 00", TTLV_ETRAILING },
	{ "1 byte after the item",
	    "42 00 20 | 02 | 00 00 00 04 | 00 00 00 08 00 00 00 00 | 00",
	    TTLV_ETRAILING },
};

START_TEST(test_decode_bad)
{
	unsigned char *in;
	size_t n;
	struct ttlv *t = (struct ttlv *)&n;	/* must be set to NULL */
	char err[200] = "";
	enum ttlv_err e;

	in = hexbytes(bad[_i].hex, &n);
	e = ttlv_decode(in, n, NULL, &t, err, sizeof(err));
	ck_assert_msg(e == bad[_i].want, "%s: got %d (%s: %s), want %d (%s)",
	    bad[_i].what, e, ttlv_strerror(e), err, bad[_i].want,
	    ttlv_strerror(bad[_i].want));
	ck_assert_ptr_null(t);
	ck_assert_msg(strlen(err) > 10, "%s: no message", bad[_i].what);
	free(in);
}
END_TEST

/* Every error has its own name. */
START_TEST(test_strerror_distinct)
{
	int a, b;

	for (a = 0; a < TTLV_ERR_MAX; a++)
		for (b = a + 1; b < TTLV_ERR_MAX; b++)
			ck_assert_str_ne(ttlv_strerror(a), ttlv_strerror(b));
	ck_assert_str_eq(ttlv_strerror(TTLV_ERR_MAX), "unknown error");
}
END_TEST

/* The message says where, never what: a byte string's content stays out. */
START_TEST(test_error_keeps_secrets_out)
{
	/* "SECRETKEY" in a Byte String whose padding is bad */
	unsigned char *in;
	size_t n;
	struct ttlv *t;
	char err[200];

	in = hexbytes("42 00 20 | 08 | 00 00 00 09 | 53 45 43 52 45 54 4B 45 "
	    "59 01 00 00 00 00 00 00", &n);
	ck_assert_int_eq(ttlv_decode(in, n, NULL, &t, err, sizeof(err)),
	    TTLV_EPAD);
	ck_assert_ptr_null(strstr(err, "SECRET"));
	ck_assert_ptr_nonnull(strstr(err, "at byte 17"));
	free(in);
}
END_TEST

/* depth structures, each inside the last, around an Integer. */
static unsigned char *
nested(unsigned int depth, size_t *len)
{
	struct ttlv_buf *b = ttlv_buf_new(0);
	size_t marks[64], k;
	const unsigned char *p;
	unsigned char *out;

	ck_assert_uint_le(depth, 64);
	for (k = 0; k < depth; k++)
		marks[k] = ttlv_begin(b, TAG_EX);
	ttlv_put_int(b, 0x420004, 1);
	while (k-- > 0)
		ttlv_end(b, marks[k]);
	ck_assert_ptr_nonnull(p = ttlv_buf_data(b, len));
	out = malloc(*len);
	memcpy(out, p, *len);
	ttlv_buf_free(b);
	return out;
}

START_TEST(test_depth)
{
	struct ttlv_limits lim = { TTLV_DEFAULT_MAX_SIZE, 4 };
	unsigned char *in;
	size_t n;
	struct ttlv *t;
	char err[128];

	in = nested(4, &n);
	ck_assert_int_eq(ttlv_decode(in, n, &lim, &t, NULL, 0), TTLV_OK);
	ttlv_free(t);
	free(in);
	in = nested(5, &n);
	ck_assert_int_eq(ttlv_decode(in, n, &lim, &t, err, sizeof(err)),
	    TTLV_EDEPTH);
	ck_assert_ptr_nonnull(strstr(err, "deeper than 4"));
	ck_assert_ptr_null(t);
	free(in);
	/* the default limit: 16 */
	in = nested(TTLV_DEFAULT_MAX_DEPTH, &n);
	ck_assert_int_eq(ttlv_decode(in, n, NULL, &t, NULL, 0), TTLV_OK);
	ttlv_free(t);
	free(in);
	in = nested(TTLV_DEFAULT_MAX_DEPTH + 1, &n);
	ck_assert_int_eq(ttlv_decode(in, n, NULL, &t, NULL, 0), TTLV_EDEPTH);
	free(in);
}
END_TEST

START_TEST(test_too_big)
{
	struct ttlv_limits lim = { 32, TTLV_DEFAULT_MAX_DEPTH };
	unsigned char *in;
	size_t n;
	struct ttlv *t;

	in = nested(1, &n);		/* 24 bytes */
	ck_assert_uint_eq(n, 24);
	lim.max_size = 24;
	ck_assert_int_eq(ttlv_decode(in, n, &lim, &t, NULL, 0), TTLV_OK);
	ttlv_free(t);
	lim.max_size = 23;
	ck_assert_int_eq(ttlv_decode(in, n, &lim, &t, NULL, 0), TTLV_ETOOBIG);
	ck_assert_ptr_null(t);
	free(in);
}
END_TEST

START_TEST(test_frame_len)
{
	struct ttlv_limits lim = { 1024, 8 };
	unsigned char h[8] = { 0x42, 0x00, 0x78, 0x01, 0, 0, 0x01, 0x00 };
	size_t total = 1;

	ck_assert_int_eq(ttlv_frame_len(h, 8, &lim, &total, NULL, 0), TTLV_OK);
	ck_assert_uint_eq(total, 256 + 8);
	ck_assert_int_eq(ttlv_frame_len(h, 7, &lim, &total, NULL, 0),
	    TTLV_ESHORT);
	ck_assert_uint_eq(total, 0);
	h[6] = 0x04;			/* 1024 + 8 > 1024 */
	ck_assert_int_eq(ttlv_frame_len(h, 8, &lim, &total, NULL, 0),
	    TTLV_ETOOBIG);
	h[6] = 0x00, h[7] = 0x0c;
	ck_assert_int_eq(ttlv_frame_len(h, 8, &lim, &total, NULL, 0),
	    TTLV_ELENGTH);
	h[7] = 0x08, h[3] = 0x02;
	ck_assert_int_eq(ttlv_frame_len(h, 8, &lim, &total, NULL, 0),
	    TTLV_ETYPE);
}
END_TEST

/* A getter of the wrong type fails and leaves its output alone. */
START_TEST(test_getters_refuse_other_types)
{
	unsigned char *in;
	size_t n, len = 77;
	struct ttlv *t;
	int32_t i32 = 7;
	int64_t i64 = 7;
	uint32_t u32 = 7;
	int b = 7;
	const char *s = NULL;
	const unsigned char *p = NULL;

	in = hexbytes(spec[0].hex, &n);		/* Integer 8 */
	ck_assert_int_eq(ttlv_decode(in, n, NULL, &t, NULL, 0), TTLV_OK);
	ck_assert_int_eq(ttlv_get_long(t, &i64), -1);
	ck_assert_int_eq(ttlv_get_enum(t, &u32), -1);
	ck_assert_int_eq(ttlv_get_interval(t, &u32), -1);
	ck_assert_int_eq(ttlv_get_bool(t, &b), -1);
	ck_assert_int_eq(ttlv_get_datetime(t, &i64), -1);
	ck_assert_int_eq(ttlv_get_datetime_ext(t, &i64), -1);
	ck_assert_int_eq(ttlv_get_text(t, &s, &len), -1);
	ck_assert_int_eq(ttlv_get_bytes(t, &p, &len), -1);
	ck_assert_int_eq(ttlv_get_bigint(t, &p, &len), -1);
	ck_assert_int_eq(i64, 7);
	ck_assert_uint_eq(u32, 7);
	ck_assert_int_eq(b, 7);
	ck_assert_ptr_null(s);
	ck_assert_ptr_null(p);
	ck_assert_uint_eq(len, 77);
	ck_assert_int_eq(ttlv_get_int(NULL, &i32), -1);
	ck_assert_int_eq(i32, 7);
	ck_assert_ptr_null(ttlv_first(t));
	ck_assert_ptr_null(ttlv_find(t, TAG_EX));
	ck_assert_uint_eq(ttlv_count(t, 0), 0);
	ttlv_free(t);
	ttlv_free(NULL);
	free(in);
}
END_TEST

/* Big Integers are sign-extended to whole 8-byte groups. */
START_TEST(test_bigint_sign_extension)
{
	static const unsigned char neg[] = { 0x80, 0x01 }, pos[] = { 0x7f };
	static const unsigned char want_neg[] = { 0xff, 0xff, 0xff, 0xff, 0xff,
	    0xff, 0x80, 0x01 };
	static const unsigned char want_pos[] = { 0, 0, 0, 0, 0, 0, 0, 0x7f };
	struct ttlv_buf *b = ttlv_buf_new(0);
	const unsigned char *p;
	size_t n;

	ttlv_put_bigint(b, TAG_EX, neg, sizeof(neg));
	ttlv_put_bigint(b, TAG_EX, pos, sizeof(pos));
	ck_assert_ptr_nonnull(p = ttlv_buf_data(b, &n));
	ck_assert_uint_eq(n, 32);
	ck_assert_mem_eq(p + 8, want_neg, 8);
	ck_assert_mem_eq(p + 24, want_pos, 8);
	ttlv_buf_free(b);
}
END_TEST

/* The encoder stops at its cap, says so, and can be rewound. */
START_TEST(test_encoder_cap)
{
	struct ttlv_buf *b = ttlv_buf_new(32);
	const unsigned char *p;
	size_t n, mark;

	ttlv_put_int(b, TAG_EX, 1);		/* 16 bytes */
	mark = ttlv_buf_len(b);
	ttlv_put_text(b, TAG_EX, "0123456789", 10);	/* 24: too many */
	ck_assert_int_eq(ttlv_buf_error(b), TTLV_ETOOBIG);
	ck_assert_ptr_null(ttlv_buf_data(b, &n));
	ck_assert_uint_eq(n, 0);
	ttlv_put_int(b, TAG_EX, 2);		/* ignored: the error sticks */
	ck_assert_ptr_null(ttlv_buf_data(b, &n));
	ttlv_buf_rewind(b, mark);
	ck_assert_int_eq(ttlv_buf_error(b), TTLV_OK);
	ttlv_put_int(b, TAG_EX, 3);
	ck_assert_ptr_nonnull(p = ttlv_buf_data(b, &n));
	ck_assert_uint_eq(n, 32);
	ck_assert_uint_eq(p[27], 3);
	ttlv_buf_free(b);
	ttlv_buf_free(NULL);
}
END_TEST

/* Growing past the first block keeps every byte (and a re-tag works). */
START_TEST(test_encoder_growth_and_retag)
{
	struct ttlv_buf *b = ttlv_buf_new(0), *c = ttlv_buf_new(0);
	unsigned char big[3000];
	const unsigned char *p, *q;
	size_t n, m, k;
	struct ttlv *t;
	const struct ttlv *f;
	const unsigned char *v;

	for (k = 0; k < sizeof(big); k++)
		big[k] = (unsigned char)(k * 7);
	k = ttlv_begin(b, 0x420079);
	ttlv_put_bytes(b, 0x420043, big, sizeof(big));
	ttlv_put_text(b, 0x420055, "name", 4);
	ttlv_end(b, k);
	ck_assert_ptr_nonnull(p = ttlv_buf_data(b, &n));
	ck_assert_int_eq(ttlv_decode(p, n, NULL, &t, NULL, 0), TTLV_OK);
	ck_assert_int_eq(ttlv_get_bytes(ttlv_find(t, 0x420043), &v, &m), 0);
	ck_assert_uint_eq(m, sizeof(big));
	ck_assert_mem_eq(v, big, m);
	f = ttlv_find(t, 0x420055);
	ttlv_put_node(c, f, 0x42000B);
	ck_assert_ptr_nonnull(q = ttlv_buf_data(c, &m));
	ck_assert_uint_eq(m, 16);
	ck_assert_uint_eq(q[2], 0x0B);
	ck_assert_mem_eq(q + 3, p + n - 13, 13);
	ttlv_free(t);
	ttlv_buf_free(b);
	ttlv_buf_free(c);
}
END_TEST

static Suite *
ttlv_suite(void)
{
	Suite	*s = suite_create("ttlv");
	TCase	*tc = tcase_create("core");

	tcase_add_loop_test(tc, test_spec_decode_encode, 0,
	    sizeof(spec) / sizeof(spec[0]));
	tcase_add_test(tc, test_spec_structure);
	tcase_add_test(tc, test_datetime_ext);
	tcase_add_loop_test(tc, test_decode_bad, 0, sizeof(bad) / sizeof(bad[0]));
	tcase_add_test(tc, test_strerror_distinct);
	tcase_add_test(tc, test_error_keeps_secrets_out);
	tcase_add_test(tc, test_depth);
	tcase_add_test(tc, test_too_big);
	tcase_add_test(tc, test_frame_len);
	tcase_add_test(tc, test_getters_refuse_other_types);
	tcase_add_test(tc, test_bigint_sign_extension);
	tcase_add_test(tc, test_encoder_cap);
	tcase_add_test(tc, test_encoder_growth_and_retag);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return check_run(ttlv_suite(), CK_FORK);
}
