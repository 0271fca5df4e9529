/*
 * secfile.h: reading and writing secret files (master key, TLS key,
 * database password, passphrases).
 *
 * A secret file must be a regular file owned by the effective user and
 * not accessible by group or others; otherwise reading it fails with a
 * message naming the file and the reason, so the caller can refuse to
 * start.
 */
#ifndef KW_SECFILE_H
#define KW_SECFILE_H

#include <stddef.h>
#include "kwerr.h"
#include "secbuf.h"

/*
 * Read path after the ownership and mode checks.  The secbuf holds the
 * contents (len = file size) followed by one NUL byte not counted in len.
 * Files larger than max_len are refused.  NULL with a message in err.
 */
struct secbuf *secfile_read(const char *path, size_t max_len, char *err,
	    size_t errlen);
/*
 * secfile_read with messages that say what the file is, e.g. what =
 * "master key file" gives `master key file "PATH" is readable by group
 * or others (mode 0644); chmod 600 it`.  what may be NULL.
 */
struct secbuf *secfile_read_as(const char *what, const char *path,
	    size_t max_len, char *err, size_t errlen);
/*
 * A password file: secfile_read_as("database password file", ...) cut at
 * the first line break, so every program reads the same password from
 * the same file.  NULL with a message in err.
 */
struct secbuf *secfile_read_password(const char *path, char *err,
	    size_t errlen);
/* The same for any one-line secret file; what names it in messages. */
struct secbuf *secfile_read_line_as(const char *what, const char *path,
	    char *err, size_t errlen);
/*
 * Write data to path with mode 0600 through a temporary file, fsync and
 * rename.  Refuses to replace an existing file unless overwrite.  0 or -1
 * with a message in err.
 */
int	secfile_write(const char *path, const void *data, size_t len,
	    int overwrite, char *err, size_t errlen) WUR;

#endif
