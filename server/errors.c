/*
 * errors.c: the table from enum kw_err to HTTP status and Hadoop exception
 * class, and the JSON error envelope.  The Java client rebuilds the
 * exception from javaClassName, which decides whether it fails over, so
 * refusals that another node might serve are IOExceptions and caller
 * mistakes are IllegalArgumentExceptions.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "errors.h"
#include "../lib/secbuf.h"

#define IOE	"java.io.IOException"
#define IAE	"java.lang.IllegalArgumentException"
#define AZE	"org.apache.hadoop.security.authorize.AuthorizationException"
#define ANE	"org.apache.hadoop.security.authentication.client.AuthenticationException"

static const struct {
	int		 status;
	const char	*cls;
} err_table[KW_ERR_MAX] = {
	[KW_OK] =		{ 200, NULL },
	[KW_ENOTFOUND] =	{ 500, IOE },
	[KW_EEXIST] =		{ 500, IOE },
	[KW_EINVAL] =		{ 400, IAE },
	[KW_EBADLEN] =		{ 500, IOE },
	[KW_ETOOBIG] =		{ 413, IAE },
	[KW_ENOROUTE] =		{ 404, IAE },
	[KW_EMETHOD] =		{ 405, IAE },
	[KW_EUNAUTH] =		{ 401, ANE },
	[KW_EDENIED] =		{ 403, AZE },
	[KW_EDB] =		{ 500, IOE },
	[KW_EUNAVAIL] =		{ 503, IOE },
	[KW_ENOTACK] =		{ 503, IOE },
	[KW_ECRYPTO] =		{ 500, IOE },
	[KW_ENOMEM] =		{ 500, IOE },
	[KW_EUNCONFIRMED] =	{ 503, IOE },
	[KW_ESTALE] =		{ 503, IOE },
	[KW_EPENDING] =		{ 500, IOE },
};

int
kw_err_status(enum kw_err e)
{
	if (e < 0 || e >= KW_ERR_MAX)
		return 500;
	return err_table[e].status;
}

const char *
kw_err_class(enum kw_err e)
{
	if (e <= KW_OK || e >= KW_ERR_MAX)
		return IOE;
	return err_table[e].cls;
}

const char *
kw_err_name(enum kw_err e)
{
	const char *cls = kw_err_class(e), *dot = strrchr(cls, '.');

	return dot != NULL ? dot + 1 : cls;
}

void
resp_error(struct kw_response *resp, enum kw_err e, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	json_t *env;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);

	secure_free(resp->body);	/* it may have held material */
	resp->body = NULL;
	resp->len = 0;
	resp->status = kw_err_status(e);
	resp->err = (int)e;
	env = json_pack("{s:{s:s, s:s, s:s}}", "RemoteException",
	    "message", msg, "exception", kw_err_name(e),
	    "javaClassName", kw_err_class(e));
	if (env == NULL) {
		/* message not valid UTF-8 (it quotes client input): drop it */
		env = json_pack("{s:{s:s, s:s, s:s}}", "RemoteException",
		    "message", "invalid request", "exception", kw_err_name(e),
		    "javaClassName", kw_err_class(e));
	}
	if (env != NULL) {
		resp->body = json_dumps(env, JSON_COMPACT);
		resp->len = resp->body != NULL ? strlen(resp->body) : 0;
		json_decref(env);
	}
}
