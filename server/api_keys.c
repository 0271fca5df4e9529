/*
 * api_keys.c: the key-management endpoints of the KMS API: create, roll
 * over, delete, invalidate cache, metadata (one and bulk), names,
 * versions.  Validates bodies, calls the keystore, shapes the JSON.
 */
#include <stdatomic.h>
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

int
api_create_prepare(struct svc_call *c)
{
	struct api_call *a = c->args;
	struct kw_response *resp = a->resp;
	struct ks_new_key *nk = &a->nk;
	const char *acl_name = NULL;
	json_t *len;
	const char *why;

	if ((a->body = api_body(a->req, JSON_OBJECT, 0, resp)) == NULL)
		return -1;
	if (optional_string(a->body, "name", &nk->name, resp) != 0 ||
	    optional_string(a->body, "cipher", &nk->cipher, resp) != 0 ||
	    optional_string(a->body, "description", &nk->description,
	    resp) != 0)
		return -1;
	if (nk->name == NULL) {
		resp_error(resp, KW_EINVAL, "missing \"name\"");
		return -1;
	}
	if ((why = route_refuse_name(nk->name)) != NULL) {
		resp_error(resp, KW_EINVAL, "invalid key name: %s", why);
		return -1;
	}
	if (nk->cipher != NULL && strcmp(nk->cipher, DEFAULT_CIPHER) != 0) {
		resp_error(resp, KW_EINVAL, "unsupported cipher: only %s",
		    DEFAULT_CIPHER);
		return -1;
	}
	nk->length = 128;
	if ((len = json_object_get(a->body, "length")) != NULL &&
	    !json_is_null(len)) {
		if (!json_is_integer(len) || (json_integer_value(len) != 128 &&
		    json_integer_value(len) != 256)) {
			resp_error(resp, KW_EINVAL, "\"length\" must be 128 or 256");
			return -1;
		}
		nk->length = (int)json_integer_value(len);
	}
	c->key = nk->name;	/* audited from here on */
	if (optional_material(a->body, &a->mat, resp) != 0 ||
	    attributes_text(a->body, &a->attrs, resp) != 0 ||
	    acl_name_of(a->body, nk->name, &acl_name, resp) != 0)
		return -1;
	nk->material = a->mat;
	nk->attributes = a->attrs;
	c->acl_name = acl_name;
	if (a->mat != NULL)
		c->extra_acl_op = ACL_SET_KEY_MATERIAL;
	return 0;
}

void
api_create(struct svc_call *c)
{
	struct api_call *a = c->args;
	struct kw_response *resp = a->resp;
	struct ks_version kv = { 0, NULL };
	enum kw_err e;

	if ((e = ks_create(a->ctx->svc.ks, &a->nk, &kv)) != KW_OK) {
		api_store_error(resp, e, a->nk.name);
		goto out;
	}
	c->version = kv.version;
	c->has_version = 1;
	log_info("id=%s created key \"%s\" (%d bits)", c->identity,
	    a->nk.name, a->nk.length);
	resp->location = location_of(a->nk.name);
	/* material only for a caller who may also GET it */
	api_send_json(resp, 201, api_key_version(a->nk.name, kv.version,
	    svc_holds(c, ACL_GET) ? kv.material : NULL));
out:
	ks_version_clear(&kv);
}

int
api_roll_prepare(struct svc_call *c)
{
	struct api_call *a = c->args;

	if ((a->body = api_body(a->req, JSON_OBJECT, 1, a->resp)) == NULL ||
	    optional_material(a->body, &a->mat, a->resp) != 0)
		return -1;
	if (a->mat != NULL)
		c->extra_acl_op = ACL_SET_KEY_MATERIAL;
	return 0;
}

void
api_roll(struct svc_call *c)
{
	struct api_call *a = c->args;
	const struct route *rt = a->rt;
	struct kw_response *resp = a->resp;
	struct ks_version kv = { 0, NULL };
	enum kw_err e;

	if ((e = ks_roll(a->ctx->svc.ks, rt->name, a->mat, &kv)) != KW_OK) {
		api_store_error(resp, e, rt->name);
		goto out;
	}
	c->version = kv.version;
	c->has_version = 1;
	log_info("id=%s rolled key \"%s\" to version %u", c->identity,
	    rt->name, kv.version);
	api_send_json(resp, 200, api_key_version(rt->name, kv.version,
	    svc_holds(c, ACL_GET) ? kv.material : NULL));
out:
	ks_version_clear(&kv);
}

void
api_delete(struct svc_call *c)
{
	struct api_call *a = c->args;
	enum kw_err e;

	if ((e = ks_delete(a->ctx->svc.ks, a->rt->name)) != KW_OK) {
		api_store_error(a->resp, e, a->rt->name);
		return;
	}
	log_info("id=%s deleted key \"%s\"", c->identity, a->rt->name);
	a->resp->status = 200;
}

void
api_invalidate(struct svc_call *c)
{
	struct api_call *a = c->args;

	ks_invalidate(a->ctx->svc.ks, a->rt->name);
	a->resp->status = 200;
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
	e = ks_metadata(ctx->svc.ks, name, &m);
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
api_metadata(struct svc_call *c)
{
	struct api_call *a = c->args;
	struct api_ctx *ctx = a->ctx;
	const struct kw_request *req = a->req;
	const struct route *rt = a->rt;
	struct kw_response *resp = a->resp;
	json_t *j;

	(void)req;
	if ((j = metadata_or_empty(ctx, rt->name, resp)) != NULL)
		api_send_json(resp, 200, j);
}

/* Bulk metadata answers up to this many keys at once, more as a stream. */
#define METADATA_INLINE	16

/* The rest of a bulk metadata answer, made while it is sent. */
struct meta_stream {
	struct api_ctx	*ctx;
	char		**names;	/* copies: the request is gone */
	size_t		 n, i;
};

static json_t *
meta_stream_next(void *arg, int *failed)
{
	struct meta_stream *m = arg;
	struct kw_response scratch;
	json_t *j;

	if (m->i == m->n)
		return NULL;
	memset(&scratch, 0, sizeof(scratch));
	if ((j = metadata_or_empty(m->ctx, m->names[m->i], &scratch)) == NULL) {
		/* too late for an error status: cut the answer off */
		log_warnx("bulk metadata cut off at key \"%s\" (%d)",
		    m->names[m->i], scratch.status);
		secure_free(scratch.body);
		*failed = 1;
		return NULL;
	}
	m->i++;
	return j;
}

static void
meta_stream_free(void *arg)
{
	struct meta_stream *m = arg;

	db_names_free(m->names, m->n);
	free(m);
}

/* Answer the metadata of names[0..n) as a stream; 0, or -1 (resp filled). */
static int
bulk_metadata_stream(struct api_ctx *ctx, const char **names, size_t n,
    struct kw_response *resp)
{
	struct meta_stream *m;

	if ((m = calloc(1, sizeof(*m))) == NULL ||
	    (m->names = calloc(n, sizeof(*m->names))) == NULL) {
		free(m);
		resp_error(resp, KW_ENOMEM, "out of memory");
		return -1;
	}
	m->ctx = ctx;
	for (m->n = 0; m->n < n; m->n++)
		if ((m->names[m->n] = strdup(names[m->n])) == NULL) {
			meta_stream_free(m);
			resp_error(resp, KW_ENOMEM, "out of memory");
			return -1;
		}
	api_send_stream(resp, meta_stream_next, meta_stream_free, m);
	return 0;
}

void
api_bulk_metadata(struct svc_call *c)
{
	struct api_call *a = c->args;
	struct api_ctx *ctx = a->ctx;
	const struct kw_request *req = a->req;
	struct kw_response *resp = a->resp;
	const char **names;
	size_t n, i, max = (size_t)ctx->svc.cfg->max_batch;
	json_t *arr, *j;

	if ((names = calloc(max + 1, sizeof(*names))) == NULL) {
		resp_error(resp, KW_ENOMEM, "out of memory");
		return;
	}
	n = req->query_all(req, "key", names, max + 1);
	if (n > max) {
		resp_error(resp, KW_EINVAL, "at most %zu keys per request", max);
		goto out;
	}
	/* every refusal before the first byte of the answer */
	for (i = 0; i < n; i++) {
		if (!route_valid_name(names[i])) {
			resp_error(resp, KW_EINVAL, "invalid key name");
			goto out;
		}
		if (!svc_allow_key(c, names[i], KEYOP_READ))
			goto out;
	}
	if (n > METADATA_INLINE) {
		(void)bulk_metadata_stream(ctx, names, n, resp);
		goto out;
	}
	if ((arr = json_array()) == NULL) {
		resp_error(resp, KW_ENOMEM, "out of memory");
		goto out;
	}
	for (i = 0; i < n; i++) {
		if ((j = metadata_or_empty(ctx, names[i], resp)) == NULL) {
			json_decref(arr);
			goto out;
		}
		json_array_append_new(arr, j);
	}
	api_send_json(resp, 200, arr);
out:
	free(names);
}

/* Names are read from the database this many at a time. */
#define NAMES_BATCH	1000
/*
 * A names answer longer than one batch holds a pooled database
 * connection until the client has read it all, however slowly: at most
 * this many at once, so slow readers cannot take the pool from every
 * other request; past it, 503 and the client tries again.
 */
#define NAMES_STREAMS_MAX	2

static atomic_int names_streams;

/* A names answer longer than one batch, made while it is sent. */
struct names_stream {
	struct db_names_cursor	*cur;
	char			**batch;
	size_t			 n, i;
	int			 counted;	/* one of names_streams */
};

static json_t *
names_stream_next(void *arg, int *failed)
{
	struct names_stream *s = arg;

	if (s->i == s->n) {
		db_names_free(s->batch, s->n);
		s->batch = NULL;
		s->n = s->i = 0;
		if (db_names_next(s->cur, NAMES_BATCH, &s->batch, &s->n) !=
		    KW_OK) {
			log_warnx("key names cut off: the database did not "
			    "give the next names");
			*failed = 1;
			return NULL;
		}
		if (s->n == 0)
			return NULL;
	}
	return json_string(s->batch[s->i++]);
}

static void
names_stream_free(void *arg)
{
	struct names_stream *s = arg;

	db_names_free(s->batch, s->n);
	db_names_close(s->cur);
	if (s->counted)
		atomic_fetch_sub(&names_streams, 1);
	free(s);
}

void
api_names(struct svc_call *c)
{
	struct api_call *a = c->args;
	struct api_ctx *ctx = a->ctx;
	struct kw_response *resp = a->resp;
	struct names_stream *s;
	json_t *arr;
	size_t i;
	enum kw_err e;

	if ((s = calloc(1, sizeof(*s))) == NULL) {
		resp_error(resp, KW_ENOMEM, "out of memory");
		return;
	}
	/* the first batch before the answer, so a failure is a status */
	if ((e = db_names_open(ks_db(ctx->svc.ks), &s->cur)) != KW_OK ||
	    (e = db_names_next(s->cur, NAMES_BATCH, &s->batch, &s->n)) !=
	    KW_OK) {
		names_stream_free(s);
		api_store_error(resp, e, "");
		return;
	}
	if (s->n == NAMES_BATCH) {
		if (atomic_fetch_add(&names_streams, 1) >= NAMES_STREAMS_MAX) {
			atomic_fetch_sub(&names_streams, 1);
			names_stream_free(s);
			resp_error(resp, KW_EUNAVAIL, "%d long key name listings "
			    "are being sent now; try again shortly",
			    NAMES_STREAMS_MAX);
			return;
		}
		s->counted = 1;
		api_send_stream(resp, names_stream_next, names_stream_free, s);
		return;
	}
	if ((arr = json_array()) != NULL)
		for (i = 0; i < s->n; i++)
			json_array_append_new(arr, json_string(s->batch[i]));
	names_stream_free(s);
	api_send_json(resp, 200, arr);
}

void
api_current(struct svc_call *c)
{
	struct api_call *a = c->args;
	struct api_ctx *ctx = a->ctx;
	const struct kw_request *req = a->req;
	const struct route *rt = a->rt;
	struct kw_response *resp = a->resp;
	struct ks_version kv = { 0, NULL };
	enum kw_err e;

	(void)req;
	e = ks_current(ctx->svc.ks, rt->name, &kv);
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
api_version(struct svc_call *c)
{
	struct api_call *a = c->args;
	struct api_ctx *ctx = a->ctx;
	const struct kw_request *req = a->req;
	const struct route *rt = a->rt;
	struct kw_response *resp = a->resp;
	struct ks_version kv = { 0, NULL };
	enum kw_err e;

	(void)req;
	e = ks_version(ctx->svc.ks, rt->name, rt->version, &kv);
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
api_versions(struct svc_call *c)
{
	struct api_call *a = c->args;
	struct api_ctx *ctx = a->ctx;
	const struct kw_request *req = a->req;
	const struct route *rt = a->rt;
	struct kw_response *resp = a->resp;
	struct ks_version *kv = NULL;
	size_t n = 0, i;
	json_t *arr;
	enum kw_err e;

	(void)req;
	e = ks_versions(ctx->svc.ks, rt->name, &kv, &n);
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
