/*
 * fuzz_json_body.c: libFuzzer target for request bodies, from the bytes
 * on the wire to the values the key handlers act on.
 *
 * The input is the body.  It goes through the server's own api_body
 * (server/api.c: json_loadb with JSON_REJECT_DUPLICATES, the empty-body
 * and type rules, the error envelope) and api_b64_member, and the
 * harness walks the shapes the handlers read, mirroring their checks
 * (server/api_keys.c and server/api_eek.c hold the originals; the store
 * calls that follow them need a database and are left out):
 *   - an object as create and roll read it: "name", "cipher",
 *     "description" strings, "length" 128 or 256, "material" base64 of
 *     at most KW_MAX_KEY_LEN + 4 bytes, "attributes" an object of
 *     strings stored as compact sorted JSON text;
 *   - the same object as decrypt and re-encrypt read it: "iv" base64 of
 *     16 bytes, "material" of 16 or 32, "name";
 *   - an array as the re-encrypt batch reads it: objects with
 *     "versionName" NAME@N and "encryptedKeyVersion" {"material"} plus
 *     "iv".
 * Decode buffers are heap blocks of exactly the handlers' sizes, so ASan
 * sees any overrun.
 *
 * Checks: every error response is one JSON object with a
 * RemoteException; a refused base64 member leaves its buffer wiped;
 * decoded material encodes back (api_b64) to text that decodes to the
 * same bytes; the attributes text reloads to an equal object (the
 * metadata endpoint reloads it from the database); a KeyVersion built
 * for an accepted name serialises.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "fuzz.h"
#include "lib/base64.h"
#include "lib/crypto.h"
#include "lib/secbuf.h"
#include "server/api.h"
#include "server/errors.h"
#include "server/api_route.h"

/* Whether resp holds a well-formed error envelope, then reset it. */
static void
check_error(struct kw_response *resp)
{
	json_t *j, *re;

	FUZZ_CHECK(resp->status >= 400);
	FUZZ_CHECK(resp->body != NULL && resp->len == strlen(resp->body));
	j = json_loads(resp->body, 0, NULL);
	FUZZ_CHECK(j != NULL);
	re = json_object_get(j, "RemoteException");
	FUZZ_CHECK(json_is_object(re));
	FUZZ_CHECK(json_is_string(json_object_get(re, "message")));
	FUZZ_CHECK(json_is_string(json_object_get(re, "javaClassName")));
	json_decref(j);
	free(resp->body);
	free(resp->location);
	memset(resp, 0, sizeof(*resp));
}

/* A zeroed heap buffer of exactly n bytes. */
static unsigned char *
zalloc(size_t n)
{
	unsigned char *p = calloc(n, 1);

	FUZZ_CHECK(p != NULL);
	return p;
}

static int
all_zero(const unsigned char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (p[i] != 0)
			return 0;
	return 1;
}

/*
 * api_b64_member into a buffer of cap bytes; the decoded bytes in a new
 * secbuf, or NULL (response checked and reset) when refused.
 */
static struct secbuf *
b64_member(json_t *obj, const char *field, size_t cap)
{
	struct kw_response resp;
	struct secbuf *sb;
	unsigned char *buf = zalloc(cap);
	size_t len = 0;

	memset(&resp, 0, sizeof(resp));
	if (api_b64_member(obj, field, buf, cap, &len, &resp) != 0) {
		check_error(&resp);
		FUZZ_CHECK(all_zero(buf, cap));
		free(buf);
		return NULL;
	}
	FUZZ_CHECK(resp.status == 0 && resp.body == NULL);
	FUZZ_CHECK(len <= cap);
	sb = secbuf_dup(buf, len);
	FUZZ_CHECK(sb != NULL);
	secure_wipe(buf, cap);
	free(buf);
	return sb;
}

/* What api_b64 makes of sb decodes back to sb. */
static void
check_b64_out(const struct secbuf *sb)
{
	json_t *s = api_b64(sb->data, sb->len);
	unsigned char *back = zalloc(sb->len + 1);
	size_t n = 0;

	FUZZ_CHECK(json_is_string(s));
	FUZZ_CHECK(b64_decode(json_string_value(s), json_string_length(s),
	    back, sb->len + 1, &n) == 0);
	FUZZ_CHECK(n == sb->len && memcmp(back, sb->data, n) == 0);
	free(back);
	json_decref(s);
}

/* Optional string member: 1 with *out set (NULL when absent or null),
 * 0 when it has another type (the handlers answer 400). */
static int
optional_string(json_t *obj, const char *field, const char **out)
{
	json_t *v = json_object_get(obj, field);

	*out = NULL;
	if (v == NULL || json_is_null(v))
		return 1;
	if (!json_is_string(v))
		return 0;
	*out = json_string_value(v);
	return 1;
}

/* The create and roll handlers' reading of an object. */
static void
walk_create(json_t *body)
{
	const char *name, *cipher, *descr;
	json_t *len, *attrs, *v, *back, *kv;
	struct secbuf *mat = NULL;
	const char *k;
	char *text;
	int ok = 1;

	if (!optional_string(body, "name", &name) ||
	    !optional_string(body, "cipher", &cipher) ||
	    !optional_string(body, "description", &descr))
		return;
	if (name != NULL && !route_valid_name(name))
		name = NULL;
	if (cipher != NULL)
		(void)strcmp(cipher, "AES/CTR/NoPadding");
	if ((len = json_object_get(body, "length")) != NULL &&
	    !json_is_null(len) && (!json_is_integer(len) ||
	    (json_integer_value(len) != 128 && json_integer_value(len) != 256)))
		ok = 0;
	v = json_object_get(body, "material");
	if (v != NULL && !json_is_null(v)) {
		if ((mat = b64_member(body, "material", KW_MAX_KEY_LEN + 4)) == NULL)
			return;
		check_b64_out(mat);
	}
	attrs = json_object_get(body, "attributes");
	if (attrs != NULL && json_is_object(attrs)) {
		json_object_foreach(attrs, k, v)
			if (!json_is_string(v))
				ok = 0;
		if (ok) {
			text = json_dumps(attrs, JSON_COMPACT | JSON_SORT_KEYS);
			FUZZ_CHECK(text != NULL);
			back = json_loads(text, 0, NULL);
			FUZZ_CHECK(back != NULL && json_equal(back, attrs));
			json_decref(back);
			free(text);
		}
	}
	if (ok && name != NULL) {
		kv = api_key_version(name, 0, mat);
		FUZZ_CHECK(kv != NULL);
		text = json_dumps(kv, JSON_COMPACT);
		FUZZ_CHECK(text != NULL);
		free(text);
		json_decref(kv);
	}
	secbuf_free(mat);
}

/* eek_from_json: "iv" from iv_obj, "material" from mat_obj. */
static void
walk_eek(json_t *iv_obj, json_t *mat_obj)
{
	struct secbuf *iv, *mat;

	if ((iv = b64_member(iv_obj, "iv", KW_IV_LEN)) == NULL)
		return;
	if (iv->len == KW_IV_LEN &&
	    (mat = b64_member(mat_obj, "material", KW_MAX_KEY_LEN)) != NULL) {
		if (mat->len == 16 || mat->len == 32)
			check_b64_out(mat);
		secbuf_free(mat);
	}
	secbuf_free(iv);
}

/* The batch handler's reading of one item; the key is the versionName's
 * own (the server takes it from the path and insists they agree). */
static void
walk_batch_item(json_t *item)
{
	const char *vn, *at;
	json_t *ekv;
	char *key;

	vn = json_string_value(json_object_get(item, "versionName"));
	ekv = json_object_get(item, "encryptedKeyVersion");
	if (!json_is_object(item) || vn == NULL || !json_is_object(ekv))
		return;
	if ((at = strrchr(vn, '@')) == NULL || at[1] < '0' || at[1] > '9')
		return;
	key = strndup(vn, (size_t)(at - vn));
	FUZZ_CHECK(key != NULL);
	if (route_valid_name(key))
		walk_eek(item, ekv);
	free(key);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct kw_request req;
	struct kw_response resp;
	json_t *body, *item;
	char *text = fuzz_strndup(data, size);
	size_t i;

	memset(&req, 0, sizeof(req));
	memset(&resp, 0, sizeof(resp));
	req.method = "POST";
	req.path = "/kms/v1/keys";
	req.body = text;
	req.body_len = size;
	req.identity = "fuzz";
	req.peer_addr = "127.0.0.1";

	/* the first byte that is not the white space api_body skips */
	for (i = 0; i < size && (text[i] == ' ' || text[i] == '\t' ||
	    text[i] == '\r' || text[i] == '\n'); i++)
		;
	if (i == size) {
		/* create refuses an empty body, roll takes it as {} */
		FUZZ_CHECK(api_body(&req, JSON_OBJECT, 0, &resp) == NULL);
		check_error(&resp);
		body = api_body(&req, JSON_OBJECT, 1, &resp);
		FUZZ_CHECK(json_is_object(body) && json_object_size(body) == 0);
		json_decref(body);
	} else if (text[i] == '[') {
		/* as the batch reads it */
		if ((body = api_body(&req, JSON_ARRAY, 0, &resp)) != NULL) {
			FUZZ_CHECK(json_is_array(body) && resp.body == NULL);
			json_array_foreach(body, i, item)
				walk_batch_item(item);
			json_decref(body);
		} else
			check_error(&resp);
	} else if ((body = api_body(&req, JSON_OBJECT, 0, &resp)) != NULL) {
		/* as create, roll, decrypt and re-encrypt read it */
		FUZZ_CHECK(json_is_object(body) && resp.body == NULL);
		walk_create(body);
		walk_eek(body, body);
		json_decref(body);
	} else
		check_error(&resp);
	free(text);
	return 0;
}
