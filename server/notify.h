/*
 * notify.h: telling systemd where keyward-server is in its life
 * (sd_notify(3), for a Type=notify unit).  Each call is a no-op when
 * NOTIFY_SOCKET is unset (not started by systemd); a failure to send is
 * logged at debug level and otherwise ignored: the server runs the same
 * with or without a service manager.  Call from the main thread.
 */
#ifndef KW_NOTIFY_H
#define KW_NOTIFY_H

/* Start-up is complete: TLS is loaded, the listener is up and the
 * database pools are warm.  status is a one-line summary for
 * `systemctl status` (no secrets). */
void	notify_ready(const char *status);
/* A SIGHUP reload begins (RELOADING=1); notify_ready() ends it. */
void	notify_reloading(void);
/* Shutdown begins (STOPPING=1), on SIGTERM or SIGINT. */
void	notify_stopping(void);

#endif
