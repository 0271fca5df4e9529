/*
 * config_edit.h: changing settings in a keyward.conf file in place.
 *
 * Part of the config module (it checks names against the settings
 * table): a change replaces the setting's line, or adds one to its
 * section (or a new section at the end); comments and every other line
 * stay as they were.  Values are written so that config_load reads them
 * back unchanged (double-quoted when the syntax needs it).  The result
 * must load before it replaces the file.  Used by `keyward-admin config
 * set` when keyward-restore moves a node to a new host.
 */
#ifndef KW_CONFIG_EDIT_H
#define KW_CONFIG_EDIT_H

#include <stddef.h>
#include "kwerr.h"

struct config_change {
	const char	*section;	/* "db" */
	const char	*name;		/* "local" */
	const char	*value;		/* as the setting should read */
};

/*
 * How value is written after "name = " so that config_load reads it back
 * as value, into out (len bytes): 0, or -1 with the reason in err (a line
 * break, or a '"' in a value that must be quoted).
 */
int	config_edit_quote(const char *value, char *out, size_t len, char *err,
	    size_t errlen) WUR;

/*
 * Apply n changes to the file at path through a temporary file in the
 * same directory (same mode and, when permitted, owner), which must load
 * with config_load before it is renamed over path.  0, or -1 with a
 * message in err (an unknown setting, a value that cannot be written,
 * the file would not load) and path unchanged.
 */
int	config_edit(const char *path, const struct config_change *changes,
	    size_t n, char *err, size_t errlen) WUR;

#endif
