/*
 * main.c: keyward-admin, the operator's tool.  Finds the command in the
 * table and runs it; every command has --help and exits 0 on success,
 * 1 on failure, 2 on a usage error.
 */
#include <stdio.h>
#include <string.h>

#include "admin.h"
#include "../lib/log.h"
#include "../lib/version.h"

static const struct admin_cmd cmds[] = {
	{ "init", "--confdir DIR [--node-name NAME] [--listen HOST:PORT] "
	    "[--db-local CONNINFO] [--db-password-file FILE] [--auth mtls|pseudo] "
	    "[--tls-cert FILE --tls-key FILE] [--client-ca FILE] [--force]",
	    "create a node's config directory: keyward.conf, master.key, TLS "
	    "material", cmd_init },
	{ "db migrate", "[-c CONFIG]",
	    "apply the database schema and store (or verify) the master key "
	    "check value", cmd_db_migrate },
	{ "config show", "[-c CONFIG]",
	    "print every setting with its effective value", cmd_config_show },
};
#define NCMDS (sizeof(cmds) / sizeof(cmds[0]))

static void
usage_all(FILE *fp)
{
	size_t i;

	fprintf(fp, "usage: keyward-admin COMMAND [ARGS]   (keyward %s)\n\n"
	    "commands:\n", KW_VERSION);
	for (i = 0; i < NCMDS; i++)
		fprintf(fp, "  %-12s %s\n", cmds[i].name, cmds[i].help);
	fprintf(fp, "\n`keyward-admin COMMAND --help` shows a command's "
	    "arguments.  Exit status: 0 success, 1 failure, 2 usage error.\n");
}

void
admin_usage(const char *name)
{
	size_t i;

	for (i = 0; i < NCMDS; i++)
		if (strcmp(cmds[i].name, name) == 0)
			fprintf(stderr, "usage: keyward-admin %s %s\n  %s\n",
			    cmds[i].name, cmds[i].usage, cmds[i].help);
}

int
main(int argc, char **argv)
{
	char two[64];
	size_t i;

	log_init("keyward-admin", LOG_LVL_INFO);
	if (argc < 2) {
		usage_all(stderr);
		return EXIT_USAGE;
	}
	if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		usage_all(stdout);
		return EXIT_OK;
	}
	if (strcmp(argv[1], "-V") == 0 || strcmp(argv[1], "--version") == 0) {
		printf("keyward-admin %s\n", KW_VERSION);
		return EXIT_OK;
	}
	if (argc >= 3) {
		snprintf(two, sizeof(two), "%s %s", argv[1], argv[2]);
		for (i = 0; i < NCMDS; i++)
			if (strcmp(cmds[i].name, two) == 0)
				return cmds[i].exec(argc - 2, argv + 2);
	}
	for (i = 0; i < NCMDS; i++)
		if (strcmp(cmds[i].name, argv[1]) == 0)
			return cmds[i].exec(argc - 1, argv + 1);
	fprintf(stderr, "keyward-admin: unknown command \"%s\"\n", argv[1]);
	usage_all(stderr);
	return EXIT_USAGE;
}
