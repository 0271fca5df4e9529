/*
 * migrations.h: the schema migrations embedded in the binaries.
 *
 * db/embed-sql.sh turns db/NNN_name.sql into build/db/migrations.c, which
 * defines db_migrations[] in ascending version order.  db/migrate.c
 * applies them; nothing else should need this header.
 */
#ifndef KW_DB_MIGRATIONS_H
#define KW_DB_MIGRATIONS_H

#include <stddef.h>

struct db_migration {
	int		 version;	/* NNN of the file name */
	const char	*name;		/* file name without directory */
	const char	*sql;		/* the file's text */
};

extern const struct db_migration db_migrations[];
extern const size_t db_nmigrations;

#endif
