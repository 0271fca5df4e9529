/*
 * http_impl.h: what the two libmicrohttpd listeners (http.c, the HTTPS
 * API; http_plain.c, metrics.listen) share.  Only they include it.
 */
#ifndef KW_HTTP_IMPL_H
#define KW_HTTP_IMPL_H

#include <sys/socket.h>
#include <stdarg.h>

/* Resolve host:port for MHD_OPTION_SOCK_ADDR; *v6 set for IPv6.  0 or
 * -1. */
int	http_listen_addr(const char *host, int port,
	    struct sockaddr_storage *ss, int *v6);
/* MHD_OPTION_EXTERNAL_LOGGER: debug lines; cls NULL for the HTTPS
 * listener (its connection-limit refusals are counted), else the
 * listener's name. */
void	http_mhd_log(void *cls, const char *fmt, va_list ap)
	    __attribute__((format(printf, 2, 0)));

#endif
