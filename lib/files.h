/*
 * files.h: reading small non-secret files (certificates, CA bundles).
 * Secret files go through secfile.h, which also checks their mode.
 */
#ifndef KW_FILES_H
#define KW_FILES_H

#include <stddef.h>

/*
 * Read all of path (at most max bytes) into a malloc'd NUL-terminated
 * buffer; *len (may be NULL) gets the length.  NULL with a message in err.
 */
char	*file_read(const char *path, size_t max, size_t *len, char *err,
	    size_t errlen);

#endif
