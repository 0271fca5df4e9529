/*
 * cmd_config.c: `keyward-admin config show`: the effective settings.
 */
#include <getopt.h>
#include <stdio.h>

#include "admin.h"

int
cmd_config_show(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *path = ADMIN_DEFAULT_CONFIG;
	struct kw_config *cfg;
	char err[512];
	int ch;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "c:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			path = optarg;
			break;
		case 'h':
			admin_usage("config show");
			return EXIT_OK;
		default:
			admin_usage("config show");
			return EXIT_USAGE;
		}
	}
	if (optind != argc) {
		admin_usage("config show");
		return EXIT_USAGE;
	}
	if ((cfg = config_load(path, err, sizeof(err))) == NULL) {
		fprintf(stderr, "keyward-admin: %s\n", err);
		return EXIT_FAIL;
	}
	config_dump(stdout, cfg);
	config_free(cfg);
	return EXIT_OK;
}
