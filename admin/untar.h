/*
 * untar.h: a strict reader of the ustar archives inside keyward backups.
 *
 * Reads an archive held in memory (the verified content of a backup), so
 * the whole listing is checked before one byte is written: only regular
 * files and directories, relative names without "." or ".." components
 * or control characters, no name twice, no file standing where another
 * member needs a directory.  Symbolic and hard links, devices, fifos and
 * any extension header (pax, GNU long names) are refused.  Extraction
 * creates a fresh directory (mode 0700) and writes below it only, through
 * directory descriptors opened without following links.  What it does
 * not own: where the archive comes from (backupopen.c), what the members
 * mean (keyward-restore).
 */
#ifndef KW_ADMIN_UNTAR_H
#define KW_ADMIN_UNTAR_H

#include <stddef.h>
#include "../lib/kwerr.h"

/*
 * Check the archive buf[0..len): 0 and the number of regular files in
 * *nfiles, or -1 with the first offending member and why in err.
 */
int	untar_check(const unsigned char *buf, size_t len, size_t *nfiles,
	    char *err, size_t errlen) WUR;

/*
 * untar_check, then make the directory dir (mode 0700; it must not exist)
 * and write every member below it: files with the permission bits the
 * archive gives (never set-id or sticky), directories with at least 0700.
 * When run as root, members get the owner and group the archive names
 * when this host knows those names (as tar does), else stay root's.
 * 0, or -1 with a message in err (dir may then hold part of the archive:
 * the caller removes its private parent).
 */
int	untar_extract(const unsigned char *buf, size_t len, const char *dir,
	    char *err, size_t errlen) WUR;

#endif
