/*
 * errbuf.c: kw_seterr, the one way a module fills its caller's error
 * buffer (see errbuf.h).
 */
#include <stdarg.h>
#include <stdio.h>

#include "errbuf.h"

void
kw_seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	(void)vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}
