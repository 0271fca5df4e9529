/*
 * fuzz_config.c: libFuzzer target for keyward.conf parsing (lib/config.c
 * over inih, with the settings table).
 *
 * The input is written to a memfd and loaded through its /proc/self/fd/N
 * name, so nothing touches the disk; config_load then takes
 * /proc/PID/fd as the config directory and resolves relative paths
 * against it (it only joins names, it opens none of them).
 *
 * Checks: a refused file yields a message that names the file; an
 * accepted one has an absolute path and directory, a value for every
 * setting that the table allows (integers within bounds, enum and word
 * values among the choices, required strings not empty, every path
 * empty or absolute), a listen address that parses, and auth.mode mtls
 * only with a client CA.  config_dump and config_restart_needed (against
 * a minimal config, into a short buffer) run on it too.
 */
#include <sys/mman.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz.h"
#include "lib/config.h"
#include "lib/config_table.h"

static FILE			*devnull;
static struct kw_config		*base;	/* "[auth] mode = pseudo" */

/* A file descriptor for an anonymous file, and its /proc name. */
static int
anon_file(char *path, size_t len)
{
	int fd = memfd_create("keyward.conf", MFD_CLOEXEC);
	FILE *fp;

	if (fd == -1) {
		/* kernels without memfd: an unlinked temporary file */
		FUZZ_CHECK((fp = tmpfile()) != NULL);
		FUZZ_CHECK((fd = dup(fileno(fp))) != -1);
		fclose(fp);
	}
	snprintf(path, len, "/proc/self/fd/%d", fd);
	return fd;
}

/* Replace the contents of fd with data[0..size). */
static void
fill(int fd, const uint8_t *data, size_t size)
{
	size_t off = 0;
	ssize_t n;

	FUZZ_CHECK(ftruncate(fd, 0) == 0);
	while (off < size) {
		n = pwrite(fd, data + off, size - off, (off_t)off);
		if (n == -1 && errno == EINTR)
			continue;
		FUZZ_CHECK(n > 0);
		off += (size_t)n;
	}
}

static void
setup(void)
{
	static const char minimal[] = "[auth]\nmode = pseudo\n";
	char path[64], err[512];
	int fd;

	FUZZ_CHECK((devnull = fopen("/dev/null", "we")) != NULL);
	fd = anon_file(path, sizeof(path));
	fill(fd, (const uint8_t *)minimal, strlen(minimal));
	base = config_load(path, err, sizeof(err));
	if (base == NULL) {
		fprintf(stderr, "fuzz_config: minimal config refused: %s\n", err);
		abort();
	}
	close(fd);
}

/* The table's rules hold for every setting of cfg. */
static void
check_settings(const struct kw_config *cfg)
{
	const struct cfg_setting *st;
	const char *s;
	size_t i, c;
	int v;

	for (i = 0; i < cfg_nsettings; i++) {
		st = &cfg_table[i];
		if (!cfg_is_string(st)) {
			v = *(const int *)cfg_field(cfg, st);
			if (st->type == CFG_INT)
				FUZZ_CHECK(v >= st->min && v <= st->max);
			else {
				for (c = 0; st->choices[c] != NULL; c++)
					;
				FUZZ_CHECK(v >= 0 && (size_t)v < c);
			}
			continue;
		}
		s = *(char *const *)cfg_field(cfg, st);
		FUZZ_CHECK(s != NULL);
		if (st->flags & CFG_REQUIRED)
			FUZZ_CHECK(*s != '\0');
		if (st->type == CFG_PATH)
			FUZZ_CHECK(*s == '\0' || *s == '/');
		if (st->type == CFG_WORD) {
			for (c = 0; st->choices[c] != NULL; c++)
				if (strcmp(s, st->choices[c]) == 0)
					break;
			FUZZ_CHECK(st->choices[c] != NULL);
		}
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int fd = -1;
	static char path[64];
	struct kw_config *cfg;
	char err[512], host[256], names[48];
	int port, n;

	if (devnull == NULL)
		setup();
	if (fd == -1)
		fd = anon_file(path, sizeof(path));
	fill(fd, data, size);
	memset(err, 'x', sizeof(err));
	cfg = config_load(path, err, sizeof(err));
	if (cfg == NULL) {
		FUZZ_CHECK(memchr(err, '\0', sizeof(err)) != NULL);
		FUZZ_CHECK(strncmp(err, path, strlen(path)) == 0);
		return 0;
	}
	FUZZ_CHECK(cfg->dir != NULL && cfg->dir[0] == '/');
	FUZZ_CHECK(cfg->path != NULL &&
	    strncmp(cfg->path, cfg->dir, strlen(cfg->dir)) == 0);
	check_settings(cfg);
	FUZZ_CHECK(config_listen_addr(cfg, host, sizeof(host), &port) == 0);
	FUZZ_CHECK(port >= 1 && port <= 65535 && host[0] != '\0');
	FUZZ_CHECK(cfg->auth_mode != AUTH_MTLS ||
	    cfg->tls_client_ca_file[0] != '\0');
	config_dump(devnull, cfg);
	n = config_restart_needed(base, cfg, names, sizeof(names));
	FUZZ_CHECK(n >= 0 && (n == 0) == (names[0] == '\0'));
	FUZZ_CHECK(config_restart_needed(cfg, cfg, NULL, 0) == 0);
	config_free(cfg);
	return 0;
}
