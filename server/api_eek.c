/*
 * api_eek.c: the encrypted-key endpoints of the KMS API: generate EEKs,
 * decrypt and re-encrypt one EEK, re-encrypt a batch.  The arithmetic
 * is the keystore's; this file validates input and shapes Hadoop's JSON.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "errors.h"
#include "../lib/log.h"

/* {"versionName", "iv", "encryptedKeyVersion": {name, "EEK", material}} */
static json_t *
eek_json(const char *name, const struct ks_eek *k)
{
	char vname[ROUTE_NAME_MAX + 16];

	snprintf(vname, sizeof(vname), "%s@%u", name, k->version);
	return json_pack("{s:s, s:o, s:{s:s, s:s, s:o}}",
	    "versionName", vname, "iv", api_b64(k->iv, KW_IV_LEN),
	    "encryptedKeyVersion", "name", name, "versionName", "EEK",
	    "material", api_b64(k->edek, k->edek_len));
}

/* Strictly parse a positive decimal count no larger than max. */
static int
parse_count(const char *s, long max, long *out)
{
	char *end;
	long v;

	if (s == NULL || *s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < 1 || v > max)
		return -1;
	*out = v;
	return 0;
}

void
api_generate(struct svc_call *c)
{
	struct api_call *a = c->args;
	struct api_ctx *ctx = a->ctx;
	const struct kw_request *req = a->req;
	const struct route *rt = a->rt;
	struct kw_response *resp = a->resp;
	const char *op = req_query(req, "eek_op"), *nk = req_query(req, "num_keys");
	struct ks_eek *eeks;
	long n = 1;
	long i;
	json_t *arr;
	enum kw_err e;

	if (op == NULL || strcmp(op, "generate") != 0) {
		resp_error(resp, KW_EINVAL, "eek_op must be \"generate\" here");
		return;
	}
	if (nk != NULL && parse_count(nk, ctx->svc.cfg->max_num_keys, &n) != 0) {
		resp_error(resp, KW_EINVAL, "num_keys must be an integer from 1 "
		    "to %d", ctx->svc.cfg->max_num_keys);
		return;
	}
	if ((eeks = calloc((size_t)n, sizeof(*eeks))) == NULL) {
		resp_error(resp, KW_ENOMEM, "out of memory");
		return;
	}
	if ((e = ks_generate(ctx->svc.ks, rt->name, (size_t)n, eeks)) != KW_OK) {
		api_store_error(resp, e, rt->name);
		goto out;
	}
	if ((arr = json_array()) != NULL)
		for (i = 0; i < n; i++)
			json_array_append_new(arr, eek_json(rt->name, &eeks[i]));
	api_send_json(resp, 200, arr);
out:
	secure_wipe(eeks, (size_t)n * sizeof(*eeks));
	free(eeks);
}

/* Read iv and material members into k (k->version set by the caller). */
static int
eek_from_json(json_t *iv_obj, json_t *mat_obj, struct ks_eek *k,
    struct kw_response *resp)
{
	size_t ivlen = 0;

	if (api_b64_member(iv_obj, "iv", k->iv, sizeof(k->iv), &ivlen, resp) != 0)
		return -1;
	if (ivlen != KW_IV_LEN) {
		resp_error(resp, KW_EINVAL, "\"iv\" must be %d bytes, not %zu",
		    KW_IV_LEN, ivlen);
		return -1;
	}
	if (api_b64_member(mat_obj, "material", k->edek, sizeof(k->edek),
	    &k->edek_len, resp) != 0)
		return -1;
	if (k->edek_len != 16 && k->edek_len != 32) {
		resp_error(resp, KW_EINVAL, "encrypted key material must be 16 "
		    "or 32 bytes, not %zu", k->edek_len);
		return -1;
	}
	return 0;
}

/* Decrypt one EEK and answer {"name", "versionName": "EK", "material"}. */
static void
decrypt_one(struct api_ctx *ctx, const struct route *rt, const struct ks_eek *k,
    struct kw_response *resp)
{
	struct secbuf *dek = NULL;
	enum kw_err e;

	e = ks_decrypt(ctx->svc.ks, rt->name, k, &dek);
	if (e == KW_ENOTFOUND)
		resp_error(resp, KW_EINVAL, "'%s@%u' not found", rt->name,
		    rt->version);
	else if (e == KW_EINVAL)
		resp_error(resp, e, "encrypted key material does not match "
		    "the length of '%s@%u'", rt->name, rt->version);
	else if (e != KW_OK)
		api_store_error(resp, e, rt->name);
	else
		api_send_json(resp, 200, json_pack("{s:s, s:s, s:o}",
		    "name", rt->name, "versionName", "EK",
		    "material", api_b64(dek->data, dek->len)));
	secbuf_free(dek);
}

void
api_eek(struct svc_call *c)
{
	struct api_call *a = c->args;
	struct api_ctx *ctx = a->ctx;
	const struct kw_request *req = a->req;
	const struct route *rt = a->rt;
	struct kw_response *resp = a->resp;
	const char *op = req_query(req, "eek_op"), *bname;
	struct ks_eek in, out;
	json_t *body;
	enum kw_err e;

	if (op == NULL || (strcmp(op, "decrypt") != 0 &&
	    strcmp(op, "reencrypt") != 0)) {
		resp_error(resp, KW_EINVAL, "eek_op must be \"decrypt\" or "
		    "\"reencrypt\"");
		return;
	}
	if ((body = api_body(req, JSON_OBJECT, 0, resp)) == NULL)
		return;
	memset(&in, 0, sizeof(in));
	in.version = rt->version;
	if (eek_from_json(body, body, &in, resp) != 0)
		goto out;
	bname = json_string_value(json_object_get(body, "name"));
	if (bname != NULL && strcmp(bname, rt->name) != 0) {
		resp_error(resp, KW_EINVAL, "'%s@%u' not found", bname,
		    rt->version);
		goto out;
	}
	if (strcmp(op, "decrypt") == 0) {
		decrypt_one(ctx, rt, &in, resp);
		goto out;
	}
	e = ks_reencrypt(ctx->svc.ks, rt->name, &in, &out);
	if (e == KW_ENOTFOUND)
		resp_error(resp, KW_EINVAL, "'%s@%u' not found", rt->name,
		    rt->version);
	else if (e != KW_OK)
		api_store_error(resp, e, rt->name);
	else
		api_send_json(resp, 200, eek_json(rt->name, &out));
	secure_wipe(&out, sizeof(out));
out:
	secure_wipe(&in, sizeof(in));
	json_decref(body);
}

/* Parse "NAME@N" requiring NAME to be key; 0 or -1. */
static int
parse_version_name(const char *vn, const char *key, uint32_t *version)
{
	const char *at = strrchr(vn, '@');
	char *end;
	unsigned long v;

	if (at == NULL || (size_t)(at - vn) != strlen(key) ||
	    strncmp(vn, key, strlen(key)) != 0 || at[1] < '0' || at[1] > '9')
		return -1;
	errno = 0;
	v = strtoul(at + 1, &end, 10);
	if (errno != 0 || *end != '\0' || v > INT32_MAX)
		return -1;
	*version = (uint32_t)v;
	return 0;
}

void
api_reencrypt_batch(struct svc_call *c)
{
	struct api_call *a = c->args;
	struct api_ctx *ctx = a->ctx;
	const struct kw_request *req = a->req;
	const struct route *rt = a->rt;
	struct kw_response *resp = a->resp;
	json_t *body, *item, *ekv, *arr = NULL;
	const char *vn;
	struct ks_eek in, out;
	size_t i;
	enum kw_err e;

	if ((body = api_body(req, JSON_ARRAY, 0, resp)) == NULL)
		return;
	if (json_array_size(body) > (size_t)ctx->svc.cfg->max_batch) {
		resp_error(resp, KW_EINVAL, "at most %d encrypted keys per batch",
		    ctx->svc.cfg->max_batch);
		goto out;
	}
	if ((arr = json_array()) == NULL) {
		resp_error(resp, KW_ENOMEM, "out of memory");
		goto out;
	}
	json_array_foreach(body, i, item) {
		memset(&in, 0, sizeof(in));
		vn = json_string_value(json_object_get(item, "versionName"));
		ekv = json_object_get(item, "encryptedKeyVersion");
		if (!json_is_object(item) || vn == NULL || !json_is_object(ekv)) {
			resp_error(resp, KW_EINVAL, "batch item %zu is not an "
			    "encrypted key version", i);
			goto out;
		}
		if (parse_version_name(vn, rt->name, &in.version) != 0) {
			resp_error(resp, KW_EINVAL, "batch item %zu: '%s' is not "
			    "a version of '%s'", i, vn, rt->name);
			goto out;
		}
		if (eek_from_json(item, ekv, &in, resp) != 0)
			goto out;
		e = ks_reencrypt(ctx->svc.ks, rt->name, &in, &out);
		if (e == KW_ENOTFOUND) {
			resp_error(resp, KW_EINVAL, "'%s' not found", vn);
			goto out;
		}
		if (e != KW_OK) {
			api_store_error(resp, e, rt->name);
			goto out;
		}
		json_array_append_new(arr, eek_json(rt->name, &out));
	}
	api_send_json(resp, 200, arr);
	arr = NULL;
out:
	secure_wipe(&in, sizeof(in));
	secure_wipe(&out, sizeof(out));
	json_decref(arr);
	json_decref(body);
}
