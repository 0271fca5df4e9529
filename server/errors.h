/*
 * errors.h: the one table mapping enum kw_err to an HTTP status and a
 * Hadoop exception class, and the error envelope
 *   {"RemoteException": {"message", "exception", "javaClassName"}}.
 */
#ifndef KW_ERRORS_H
#define KW_ERRORS_H

#include "../lib/kwerr.h"
#include "request.h"

int	 kw_err_status(enum kw_err e);
const char *kw_err_class(enum kw_err e);	/* "java.io.IOException" */
const char *kw_err_name(enum kw_err e);		/* "IOException" */
/* Fill resp with the envelope for e and a printf-style message. */
void	 resp_error(struct kw_response *resp, enum kw_err e, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));

#endif
