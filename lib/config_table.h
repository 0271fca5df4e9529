/*
 * config_table.h: the settings table, shared by the files of the config
 * module only (config_table.c holds it, config.c parses with it,
 * config_print.c documents with it).  Not for other modules: they see
 * struct kw_config and config.h.
 */
#ifndef KW_CONFIG_TABLE_H
#define KW_CONFIG_TABLE_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"

enum cfg_type {
	CFG_STRING,		/* any text */
	CFG_CONNINFO,		/* libpq conninfo; passwords masked in dumps */
	CFG_PATH,		/* file name, made absolute */
	CFG_INT,		/* decimal integer within [min, max] */
	CFG_ENUM,		/* one of choices, stored as its index (int) */
	CFG_WORD,		/* one of choices, stored as the string */
};

#define CFG_REQUIRED	0x01	/* may not be empty */
#define CFG_RELOAD	0x02	/* SIGHUP applies a change */

struct cfg_setting {
	const char		*section;
	const char		*name;
	enum cfg_type		 type;
	const char		*def;		/* as it would be written */
	int			 min, max;	/* CFG_INT */
	const char *const	*choices;	/* CFG_ENUM, CFG_WORD */
	int			 flags;
	size_t			 off;		/* in struct kw_config */
	const char		*help;
};


/* More than the table holds; sizes per-setting arrays in config.c. */
#define CFG_MAX_SETTINGS	64

extern const struct cfg_setting	cfg_table[];
extern const size_t		cfg_nsettings;

/* Where setting st lives inside cfg. */
static inline void *
cfg_field(const struct kw_config *cfg, const struct cfg_setting *st)
{
	return (char *)(uintptr_t)cfg + st->off;
}

/* Whether st is stored as a char * (else as an int). */
static inline int
cfg_is_string(const struct cfg_setting *st)
{
	return st->type != CFG_INT && st->type != CFG_ENUM;
}

#endif
