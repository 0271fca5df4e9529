/*
 * request.h: one HTTP request and its response as the API layer sees
 * them, free of libmicrohttpd types.  The glue (http.c) fills a
 * kw_request, calls the handler, and sends the kw_response.
 */
#ifndef KW_REQUEST_H
#define KW_REQUEST_H

#include <stddef.h>
#include <stdint.h>

struct kw_request {
	const char	*method;	/* "GET", "POST", ... */
	const char	*path;		/* percent-decoded path, no query */
	const char	*body;		/* NUL-terminated copy, may be "" */
	size_t		 body_len;
	const char	*identity;	/* authenticated principal, NULL if none
					   (the API answers 401 where it must) */
	const char	*auth_why;	/* why identity is NULL */
	const char	*doas;		/* doAs query parameter, or NULL */
	const char	*real_user;	/* set by the API for a proxied request:
					   the proxy's own identity */
	const char	*peer_addr;	/* client address, text */
	char		 request_id[17];
	/* query lookup, provided by the glue */
	const char	*(*query)(const struct kw_request *, const char *name);
	size_t		 (*query_all)(const struct kw_request *,
			    const char *name, const char **vals, size_t max);
	void		*glue;
};

struct kw_response {
	int		 status;
	char		*body;		/* malloc'd, NULL for an empty body */
	size_t		 len;
	char		*location;	/* malloc'd Location header or NULL */
	const char	*content_type;	/* static text; NULL: JSON */
	int		 op;		/* the route's enum kw_op, for the
					   request metrics (0: none) */
	int		 err;		/* enum kw_err of an error answer */
	/*
	 * A body made while it is sent, instead of body (for answers too
	 * large to hold): the glue calls stream for up to max more bytes
	 * into buf until it returns 0 (the end); -1 ends the response
	 * early (the client sees a cut-off answer, never a wrong one).
	 * stream_free(stream_arg) is called once in every case.  stream
	 * runs on the request's thread.
	 */
	long		(*stream)(void *arg, char *buf, size_t max);
	void		(*stream_free)(void *arg);
	void		*stream_arg;
};

/* First value of query parameter name, or NULL. */
static inline const char *
req_query(const struct kw_request *r, const char *name)
{
	return r->query(r, name);
}

typedef void (*kw_handler_fn)(void *ctx, const struct kw_request *req,
    struct kw_response *resp);

#endif
