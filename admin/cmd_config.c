/*
 * cmd_config.c: `keyward-admin config show`: the effective settings.
 */
#include <stdio.h>

#include "admin.h"
#include "../lib/log.h"

int
cmd_config_show(int argc, char **argv)
{
	const char *path;
	struct kw_config *cfg;
	char err[512];
	int ch;

	if ((ch = admin_config_arg(argc, argv, "config show", &path)) >= 0)
		return ch;
	if ((cfg = config_load(path, err, sizeof(err))) == NULL) {
		log_errx("%s", err);
		return EXIT_FAIL;
	}
	config_dump(stdout, cfg);
	config_free(cfg);
	return EXIT_OK;
}
