/*
 * kwerr.h: the error codes every layer below the HTTP glue returns.
 *
 * Lower layers return an enum kw_err and never log the client's fault;
 * server/errors.c maps each code to an HTTP status and a Hadoop exception
 * class in one table.
 */
#ifndef KW_KWERR_H
#define KW_KWERR_H

enum kw_err {
	KW_OK = 0,
	KW_ENOTFOUND,		/* key or version does not exist */
	KW_EEXIST,		/* key already exists */
	KW_EINVAL,		/* bad parameter or body (400) */
	KW_EBADLEN,		/* material of the wrong length (500) */
	KW_ETOOBIG,		/* body over the limit (413) */
	KW_ENOROUTE,		/* unknown path (404) */
	KW_EMETHOD,		/* wrong method for the path (405) */
	KW_EUNAUTH,		/* no or bad credentials (401) */
	KW_EDENIED,		/* authorization refused (403) */
	KW_EDB,			/* database failure (500) */
	KW_EUNAVAIL,		/* writes refused, pair not healthy (503) */
	KW_ENOTACK,		/* write not acknowledged in time (503) */
	KW_ECRYPTO,		/* unwrap or cipher failure (500) */
	KW_ENOMEM,		/* allocation failure (500) */
	KW_EUNCONFIRMED,	/* latest change not yet on both nodes (503) */
	KW_ESTALE,		/* cache cannot be confirmed, no database (503) */
	KW_EPENDING,		/* inside db/ only: ask the standby */
	KW_ERR_MAX
};

#define WUR __attribute__((warn_unused_result))

#endif
