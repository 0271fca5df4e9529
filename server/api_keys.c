/*
 * api_keys.c: the key-management endpoints of the KMS API: create, roll
 * over, delete, invalidate cache, metadata (one and bulk), names,
 * versions.  Validates bodies, calls the keystore, shapes the JSON.
 */
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "errors.h"
#include "../lib/log.h"

#define DEFAULT_CIPHER	"AES/CTR/NoPadding"

/* Percent-encode a key name for the Location header. */
static char *
location_of(const char *name)
{
	static const char hex[] = "0123456789ABCDEF";
	const unsigned char *p;
	char *out, *o;
	const char *prefix = "/kms/v1/key/";

	if ((out = malloc(strlen(prefix) + 3 * strlen(name) + 1)) == NULL)
		return NULL;
	o = stpcpy(out, prefix);
	for (p = (const unsigned char *)name; *p != '\0'; p++) {
		if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
		    (*p >= '0' && *p <= '9') || strchr("-._~", *p) != NULL)
			*o++ = (char)*p;
		else {
			*o++ = '%';
			*o++ = hex[*p >> 4];
			*o++ = hex[*p & 15];
		}
	}
	*o = '\0';
	return out;
}

/* Optional "material" member into a new secbuf (*out NULL when absent). */
static int
optional_material(json_t *body, struct secbuf **out, struct kw_response *resp)
{
	unsigned char buf[KW_MAX_KEY_LEN + 4];
	size_t len = 0;
	json_t *m = json_object_get(body, "material");

	*out = NULL;
	if (m == NULL || json_is_null(m))
		return 0;
	if (api_b64_member(body, "material", buf, sizeof(buf), &len, resp) != 0)
		return -1;
	*out = secbuf_dup(buf, len);
	secure_wipe(buf, sizeof(buf));
	if (*out == NULL) {
		resp_error(resp, KW_ENOMEM, "out of memory");
		return -1;
	}
	return 0;
}

/* Attributes: null/absent or an object of strings, as compact JSON text. */
static int
attributes_text(json_t *body, char **out, struct kw_response *resp)
{
	json_t *a = json_object_get(body, "attributes"), *v;
	const char *k;

	*out = NULL;
	if (a == NULL || json_is_null(a))
		return 0;
	if (!json_is_object(a)) {
		resp_error(resp, KW_EINVAL, "\"attributes\" must be an object");
		return -1;
	}
	json_object_foreach(a, k, v) {
		if (!json_is_string(v)) {
			resp_error(resp, KW_EINVAL, "attribute \"%s\" must be a "
			    "string", k);
			return -1;
		}
	}
	if ((*out = json_dumps(a, JSON_COMPACT | JSON_SORT_KEYS)) == NULL) {
		resp_error(resp, KW_ENOMEM, "out of memory");
		return -1;
	}
	return 0;
}

/* Optional string member (NULL when absent or null); -1 on a wrong type. */
static int
optional_string(json_t *body, const char *field, const char **out,
    struct kw_response *resp)
{
	json_t *v = json_object_get(body, field);

	*out = NULL;
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_string(v)) {
		resp_error(resp, KW_EINVAL, "\"%s\" must be a string", field);
		return -1;
	}
	*out = json_string_value(v);
	return 0;
}

/* The name key ACLs know a new key by: its key.acl.name attribute, or
 * its own name; 0, or -1 with resp filled. */
static int
acl_name_of(json_t *body, const char *name, const char **out,
    struct kw_response *resp)
{
	json_t *v = json_object_get(json_object_get(body, "attributes"),
	    ACL_NAME_ATTR);

	*out = name;
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_string(v) || !route_valid_name(json_string_value(v))) {
		resp_error(resp, KW_EINVAL, "attribute \"%s\" must be a valid "
		    "key name", ACL_NAME_ATTR);
		return -1;
	}
	*out = json_string_value(v);
	return 0;
}

void
api_create(struct api_ctx *ctx, const struct kw_request *req,
    const struct route *rt, struct kw_response *resp)
{
	struct ks_new_key nk;
	struct ks_version kv = { 0, NULL };
	struct secbuf *mat = NULL;
	const char *acl_name = NULL;
	char *attrs = NULL;
	json_t *body, *len;
	const char *why;
	enum kw_err e;

	(void)rt;
	if ((body = api_body(req, JSON_OBJECT, 0, resp)) == NULL)
		return;
	memset(&nk, 0, sizeof(nk));
	if (optional_string(body, "name", &nk.name, resp) != 0 ||
	    optional_string(body, "cipher", &nk.cipher, resp) != 0 ||
	    optional_string(body, "description", &nk.description, resp) != 0)
		goto out;
	if (nk.name == NULL) {
		resp_error(resp, KW_EINVAL, "missing \"name\"");
		goto out;
	}
	if ((why = route_refuse_name(nk.name)) != NULL) {
		resp_error(resp, KW_EINVAL, "invalid key name: %s", why);
		goto out;
	}
	if (nk.cipher != NULL && strcmp(nk.cipher, DEFAULT_CIPHER) != 0) {
		resp_error(resp, KW_EINVAL, "unsupported cipher: only %s",
		    DEFAULT_CIPHER);
		goto out;
	}
	nk.length = 128;
	if ((len = json_object_get(body, "length")) != NULL && !json_is_null(len)) {
		if (!json_is_integer(len) || (json_integer_value(len) != 128 &&
		    json_integer_value(len) != 256)) {
			resp_error(resp, KW_EINVAL, "\"length\" must be 128 or 256");
			goto out;
		}
		nk.length = (int)json_integer_value(len);
	}
	resp->audit_key = strdup(nk.name);
	if (optional_material(body, &mat, resp) != 0 ||
	    attributes_text(body, &attrs, resp) != 0 ||
	    acl_name_of(body, nk.name, &acl_name, resp) != 0)
		goto out;
	nk.material = mat;
	nk.attributes = attrs;
	if ((mat != NULL &&
	    !api_allow_op(ctx, req, ACL_SET_KEY_MATERIAL, resp)) ||
	    !api_allow_key_as(ctx, req, nk.name, acl_name, KEYOP_MANAGEMENT,
	    resp) || !api_admit_write(ctx, resp))
		goto out;
	if ((e = ks_create(ctx->ks, &nk, &kv)) != KW_OK) {
		api_store_error(resp, e, nk.name);
		goto out;
	}
	resp->audit_version = kv.version;
	resp->audit_has_version = 1;
	log_info("id=%s created key \"%s\" (%d bits)", req->identity,
	    nk.name, nk.length);
	resp->location = location_of(nk.name);
	/* material only for a caller who may also GET it */
	api_send_json(resp, 201, api_key_version(nk.name, kv.version,
	    api_holds(ctx, req, ACL_GET) ? kv.material : NULL));
out:
	ks_version_clear(&kv);
	secbuf_free(mat);
	free(attrs);
	json_decref(body);
}

void
api_roll(struct api_ctx *ctx, const struct kw_request *req,
    const struct route *rt, struct kw_response *resp)
{
	struct ks_version kv = { 0, NULL };
	struct secbuf *mat = NULL;
	json_t *body;
	enum kw_err e;

	if ((body = api_body(req, JSON_OBJECT, 1, resp)) == NULL)
		return;
	if (optional_material(body, &mat, resp) != 0 ||
	    (mat != NULL &&
	    !api_allow_op(ctx, req, ACL_SET_KEY_MATERIAL, resp)) ||
	    !api_admit_write(ctx, resp))
		goto out;
	if ((e = ks_roll(ctx->ks, rt->name, mat, &kv)) != KW_OK) {
		api_store_error(resp, e, rt->name);
		goto out;
	}
	resp->audit_version = kv.version;
	resp->audit_has_version = 1;
	log_info("id=%s rolled key \"%s\" to version %u", req->identity,
	    rt->name, kv.version);
	api_send_json(resp, 200, api_key_version(rt->name, kv.version,
	    api_holds(ctx, req, ACL_GET) ? kv.material : NULL));
out:
	ks_version_clear(&kv);
	secbuf_free(mat);
	json_decref(body);
}

void
api_delete(struct api_ctx *ctx, const struct kw_request *req,
    const struct route *rt, struct kw_response *resp)
{
	enum kw_err e;

	if (!api_admit_write(ctx, resp))
		return;
	if ((e = ks_delete(ctx->ks, rt->name)) != KW_OK) {
		api_store_error(resp, e, rt->name);
		return;
	}
	log_info("id=%s deleted key \"%s\"", req->identity, rt->name);
	resp->status = 200;
}

void
api_invalidate(struct api_ctx *ctx, const struct kw_request *req,
    const struct route *rt, struct kw_response *resp)
{
	(void)req;
	ks_invalidate(ctx->ks, rt->name);
	resp->status = 200;
}

/* Metadata JSON of one key. */
static json_t *
metadata_json(const struct db_key_meta *m)
{
	json_t *attrs = NULL;

	if (m->attributes != NULL)
		attrs = json_loads(m->attributes, 0, NULL);
	if (attrs == NULL)
		attrs = json_object();
	return json_pack("{s:s, s:s, s:i, s:o, s:o, s:I, s:I}",
	    "name", m->name, "cipher", m->cipher, "length", m->length,
	    "description", m->description != NULL ?
	    json_string(m->description) : json_null(),
	    "attributes", attrs, "created", (json_int_t)m->created_ms,
	    "versions", (json_int_t)m->versions);
}

/* Metadata of name, {} when missing, NULL (and resp filled) on error. */
static json_t *
metadata_or_empty(struct api_ctx *ctx, const char *name, struct kw_response *resp)
{
	struct db_key_meta m;
	json_t *j;
	enum kw_err e;

	memset(&m, 0, sizeof(m));
	e = ks_metadata(ctx->ks, name, &m);
	if (e == KW_ENOTFOUND)
		return json_object();
	if (e != KW_OK) {
		api_store_error(resp, e, name);
		return NULL;
	}
	j = metadata_json(&m);
	db_key_meta_clear(&m);
	if (j == NULL)
		resp_error(resp, KW_ENOMEM, "out of memory");
	return j;
}

void
api_metadata(struct api_ctx *ctx, const struct kw_request *req,
    const struct route *rt, struct kw_response *resp)
{
	json_t *j;

	(void)req;
	if ((j = metadata_or_empty(ctx, rt->name, resp)) != NULL)
		api_send_json(resp, 200, j);
}

void
api_bulk_metadata(struct api_ctx *ctx, const struct kw_request *req,
    const struct route *rt, struct kw_response *resp)
{
	const char **names;
	size_t n, i, max = (size_t)ctx->cfg->max_batch;
	json_t *arr, *j;

	(void)rt;
	if ((names = calloc(max + 1, sizeof(*names))) == NULL) {
		resp_error(resp, KW_ENOMEM, "out of memory");
		return;
	}
	n = req->query_all(req, "key", names, max + 1);
	if (n > max) {
		resp_error(resp, KW_EINVAL, "at most %zu keys per request", max);
		goto out;
	}
	if ((arr = json_array()) == NULL) {
		resp_error(resp, KW_ENOMEM, "out of memory");
		goto out;
	}
	for (i = 0; i < n; i++) {
		if (!route_valid_name(names[i])) {
			json_decref(arr);
			resp_error(resp, KW_EINVAL, "invalid key name");
			goto out;
		}
		if (!api_allow_key(ctx, req, names[i], KEYOP_READ, resp) ||
		    (j = metadata_or_empty(ctx, names[i], resp)) == NULL) {
			json_decref(arr);
			goto out;
		}
		json_array_append_new(arr, j);
	}
	api_send_json(resp, 200, arr);
out:
	free(names);
}

void
api_names(struct api_ctx *ctx, const struct kw_request *req,
    const struct route *rt, struct kw_response *resp)
{
	char **names = NULL;
	size_t n = 0, i;
	json_t *arr;
	enum kw_err e;

	(void)req;
	(void)rt;
	if ((e = ks_names(ctx->ks, &names, &n)) != KW_OK) {
		api_store_error(resp, e, "");
		return;
	}
	if ((arr = json_array()) != NULL)
		for (i = 0; i < n; i++)
			json_array_append_new(arr, json_string(names[i]));
	db_names_free(names, n);
	api_send_json(resp, 200, arr);
}

void
api_current(struct api_ctx *ctx, const struct kw_request *req,
    const struct route *rt, struct kw_response *resp)
{
	struct ks_version kv = { 0, NULL };
	enum kw_err e;

	(void)req;
	e = ks_current(ctx->ks, rt->name, &kv);
	if (e == KW_ENOTFOUND)
		api_send_json(resp, 200, json_object());
	else if (e != KW_OK)
		api_store_error(resp, e, rt->name);
	else
		api_send_json(resp, 200,
		    api_key_version(rt->name, kv.version, kv.material));
	ks_version_clear(&kv);
}

void
api_version(struct api_ctx *ctx, const struct kw_request *req,
    const struct route *rt, struct kw_response *resp)
{
	struct ks_version kv = { 0, NULL };
	enum kw_err e;

	(void)req;
	e = ks_version(ctx->ks, rt->name, rt->version, &kv);
	if (e == KW_ENOTFOUND)
		api_send_json(resp, 200, json_object());
	else if (e != KW_OK)
		api_store_error(resp, e, rt->name);
	else
		api_send_json(resp, 200,
		    api_key_version(rt->name, kv.version, kv.material));
	ks_version_clear(&kv);
}

void
api_versions(struct api_ctx *ctx, const struct kw_request *req,
    const struct route *rt, struct kw_response *resp)
{
	struct ks_version *kv = NULL;
	size_t n = 0, i;
	json_t *arr;
	enum kw_err e;

	(void)req;
	e = ks_versions(ctx->ks, rt->name, &kv, &n);
	if (e == KW_ENOTFOUND) {
		api_send_json(resp, 200, json_array());
		return;
	}
	if (e != KW_OK) {
		api_store_error(resp, e, rt->name);
		return;
	}
	if ((arr = json_array()) != NULL)
		for (i = 0; i < n; i++)
			json_array_append_new(arr, api_key_version(rt->name,
			    kv[i].version, kv[i].material));
	ks_versions_free(kv, n);
	api_send_json(resp, 200, arr);
}
