/*
 * errbuf.h: writing a message into a caller's error buffer, the way every
 * module below the programs reports why it failed (char *err, size_t
 * errlen).  Logging is the caller's business.
 */
#ifndef KW_ERRBUF_H
#define KW_ERRBUF_H

#include <stddef.h>

/* printf fmt into err (errlen bytes, always terminated); a NULL err or a
 * zero errlen is ignored.  Thread-safe. */
void	kw_seterr(char *err, size_t errlen, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));

#endif
