/*
 * notify.c: sd_notify(3) messages for systemd's Type=notify.
 *
 * Owns only the wording of the messages; when to send them is main.c's
 * decision.  libsystemd's sd_notify() itself does nothing (and returns 0)
 * when NOTIFY_SOCKET is unset, so a server started by hand, by the tests
 * or by another service manager sends nothing.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <systemd/sd-daemon.h>

#include "notify.h"
#include "../lib/log.h"

static void
send_state(const char *state)
{
	int rc;

	if ((rc = sd_notify(0, state)) < 0)
		log_debug("sd_notify failed: %s", strerror(-rc));
}

void
notify_ready(const char *status)
{
	char msg[512];

	snprintf(msg, sizeof(msg), "READY=1\nSTATUS=%s", status);
	send_state(msg);
}

void
notify_reloading(void)
{
	struct timespec ts;
	char msg[128];

	/* MONOTONIC_USEC lets systemd (253+, Type=notify-reload) tell this
	 * reload from an earlier one; older versions ignore it */
	clock_gettime(CLOCK_MONOTONIC, &ts);
	snprintf(msg, sizeof(msg), "RELOADING=1\nMONOTONIC_USEC=%llu",
	    (unsigned long long)ts.tv_sec * 1000000ULL +
	    (unsigned long long)ts.tv_nsec / 1000ULL);
	send_state(msg);
}

void
notify_stopping(void)
{
	send_state("STOPPING=1");
}
