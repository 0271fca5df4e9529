/*
 * dispatch.h: from a KMIP request message to its response: parsing
 * (message.c), one svc_op row per operation run through the key service
 * (server/service.h: identity, ACLs, write admission, audit), and the
 * response message.  The listener's handler (listen.h).
 */
#ifndef KW_KMIP_DISPATCH_H
#define KW_KMIP_DISPATCH_H

#include <stddef.h>

#include "listen.h"

struct kmip_ctx;
struct svc;

/* A context over the key service svc; NULL when out of memory. */
struct kmip_ctx *kmip_ctx_new(struct svc *svc, size_t max_message);
void	kmip_ctx_free(struct kmip_ctx *x);

/* The kmip_handler_fn of the listener (ctx is a struct kmip_ctx). */
unsigned char *kmip_handle(void *ctx, const struct kmip_conn_info *ci,
	    const unsigned char *msg, size_t len, const char *framing_err,
	    size_t *outlen);

#endif
