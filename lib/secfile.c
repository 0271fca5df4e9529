/*
 * secfile.c: reading and writing files that hold secrets.
 *
 * Owns the checks a secret file must pass before keyward reads it
 * (regular file, not a symbolic link, owned by the effective user, no
 * access for group or others, not larger than the caller allows) and the
 * safe way to create one (a private temporary file in the same directory,
 * fsync, then an atomic link or rename, then fsync of the directory).
 * Errors go to the caller's buffer and name the file and the reason, so
 * an operator can fix the problem from the message alone.  File contents
 * never appear in a message.
 *
 * Not here: what the file contains (the callers parse it) and sealing
 * with a passphrase.
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "errbuf.h"
#include "secbuf.h"
#include "secfile.h"

/*
 * Read a secret file after checking it.  The result holds the file's
 * bytes (len = size) followed by a NUL not counted in len.  Returns NULL
 * with a message in err when the file cannot be opened, is not a regular
 * file, is owned by another user, is accessible by group or others, is
 * larger than max_len, or changes while being read.  Thread-safe.
 */
struct secbuf *
secfile_read_as(const char *what, const char *path, size_t max_len,
    char *err, size_t errlen)
{
	struct secbuf	*sb = NULL;
	struct stat	 st;
	const char	*sp = what != NULL ? what : "";
	const char	*sep = what != NULL ? " " : "";
	unsigned char	 extra;
	size_t		 got = 0;
	ssize_t		 n;
	int		 fd = -1, ok = 0;

	if (path == NULL || *path == '\0') {
		kw_seterr(err, errlen, "no %s%spath given",
		    sp, sep);
		return NULL;
	}
	/* O_NONBLOCK: a FIFO planted at the path must not hang us. */
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	if (fd == -1) {
		if (errno == ELOOP)
			kw_seterr(err, errlen, "%s%s\"%s\" is a symbolic link;"
			    " name the file itself", sp, sep, path);
		else
			kw_seterr(err, errlen, "could not open %s%s\"%s\": %s",
			    sp, sep, path, strerror(errno));
		goto out;
	}
	if (fstat(fd, &st) == -1) {
		kw_seterr(err, errlen, "could not stat %s%s\"%s\": %s",
		    sp, sep, path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		kw_seterr(err, errlen, "%s%s\"%s\" is not a regular file",
		    sp, sep, path);
		goto out;
	}
	/*
	 * Root (the operator running keyward-admin, or a test) may read the
	 * service user's secret files; anyone else must own them.  The mode
	 * check below applies to everyone.
	 */
	if (st.st_uid != geteuid() && geteuid() != 0) {
		kw_seterr(err, errlen, "%s%s\"%s\" is owned by uid %lu, not "
		    "the running user (uid %lu); chown it", sp, sep, path,
		    (unsigned long)st.st_uid, (unsigned long)geteuid());
		goto out;
	}
	if ((st.st_mode & 077) != 0) {
		kw_seterr(err, errlen, "%s%s\"%s\" is %s by group or others "
		    "(mode %04o); chmod 600 it", sp, sep, path,
		    (st.st_mode & 044) != 0 ? "readable" : "accessible",
		    (unsigned int)(st.st_mode & 07777));
		goto out;
	}
	if (st.st_size < 0 || (unsigned long long)st.st_size > max_len) {
		kw_seterr(err, errlen, "%s%s\"%s\" is too large (%lld bytes, "
		    "at most %zu)", sp, sep, path, (long long)st.st_size,
		    max_len);
		goto out;
	}
	if ((sb = secbuf_new((size_t)st.st_size)) == NULL) {
		kw_seterr(err, errlen, "could not read %s%s\"%s\": out of "
		    "memory", sp, sep, path);
		goto out;
	}
	while (got < sb->len) {
		n = read(fd, sb->data + got, sb->len - got);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			kw_seterr(err, errlen, "could not read %s%s\"%s\": %s",
			    sp, sep, path, strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	do
		n = read(fd, &extra, 1);
	while (n == -1 && errno == EINTR);
	secure_wipe(&extra, sizeof(extra));
	if (got != sb->len || n != 0) {
		kw_seterr(err, errlen, "%s%s\"%s\" changed while being read",
		    sp, sep, path);
		goto out;
	}
	ok = 1;
out:
	if (fd != -1)
		close(fd);
	if (!ok) {
		secbuf_free(sb);
		sb = NULL;
	}
	return sb;
}

/* secfile_read_as without naming the kind of file. */
struct secbuf *
secfile_read(const char *path, size_t max_len, char *err, size_t errlen)
{
	return secfile_read_as(NULL, path, max_len, err, errlen);
}

/* Open the directory and fsync it so a rename or link is durable. */
static int
secfile_sync_dir(const char *dir)
{
	int fd, rv;

	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return -1;
	rv = fsync(fd);
	close(fd);
	return rv;
}

/*
 * Create path holding data[0..len), mode 0600, atomically: readers see
 * either no file (or the old one) or the complete new one, never a
 * partial write.  Without overwrite an existing path is left alone and
 * the call fails.  0, or -1 with a message in err; the temporary file is
 * removed on failure.  Not safe against another process writing the same
 * path concurrently with overwrite set (the last rename wins).
 */
int
secfile_write(const char *path, const void *data, size_t len, int overwrite,
    char *err, size_t errlen)
{
	char		 dir[PATH_MAX], tmp[PATH_MAX];
	const char	*slash, *base, *p = data;
	size_t		 off = 0;
	ssize_t		 n;
	int		 fd = -1, rv = -1, tmp_made = 0;

	if (path == NULL || *path == '\0' || (data == NULL && len > 0)) {
		kw_seterr(err, errlen, "no path given");
		return -1;
	}
	if ((slash = strrchr(path, '/')) == NULL) {
		strcpy(dir, ".");
		base = path;
	} else {
		if ((size_t)(slash - path) >= sizeof(dir)) {
			kw_seterr(err, errlen, "path too long: \"%s\"", path);
			return -1;
		}
		if (slash == path)
			strcpy(dir, "/");
		else {
			memcpy(dir, path, (size_t)(slash - path));
			dir[slash - path] = '\0';
		}
		base = slash + 1;
	}
	if (*base == '\0') {
		kw_seterr(err, errlen, "\"%s\" names a directory, not a file",
		    path);
		return -1;
	}
	if (!overwrite && access(path, F_OK) == 0) {
		kw_seterr(err, errlen, "\"%s\" already exists; refusing to "
		    "overwrite it", path);
		return -1;
	}
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s/.%s.XXXXXX", dir, base) >=
	    sizeof(tmp)) {
		kw_seterr(err, errlen, "path too long: \"%s\"", path);
		return -1;
	}
	/* mkostemp opens with O_EXCL and mode 0600. */
	if ((fd = mkostemp(tmp, O_CLOEXEC)) == -1) {
		kw_seterr(err, errlen, "could not create a temporary file in "
		    "\"%s\": %s", dir, strerror(errno));
		goto out;
	}
	tmp_made = 1;
	/* Whatever the umask did, the result is exactly 0600. */
	if (fchmod(fd, 0600) == -1) {
		kw_seterr(err, errlen, "could not chmod \"%s\": %s", tmp,
		    strerror(errno));
		goto out;
	}
	while (off < len) {
		n = write(fd, p + off, len - off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			kw_seterr(err, errlen, "could not write \"%s\": %s",
			    tmp, strerror(errno));
			goto out;
		}
		off += (size_t)n;
	}
	if (fsync(fd) == -1) {
		kw_seterr(err, errlen, "could not fsync \"%s\": %s", tmp,
		    strerror(errno));
		goto out;
	}
	if (close(fd) == -1) {
		fd = -1;
		kw_seterr(err, errlen, "could not write \"%s\": %s", tmp,
		    strerror(errno));
		goto out;
	}
	fd = -1;
	if (overwrite) {
		if (rename(tmp, path) == -1) {
			kw_seterr(err, errlen, "could not rename \"%s\" to "
			    "\"%s\": %s", tmp, path, strerror(errno));
			goto out;
		}
		tmp_made = 0;
	} else {
		/* link() fails if path appeared meanwhile: no replacement. */
		if (link(tmp, path) == -1) {
			if (errno == EEXIST)
				kw_seterr(err, errlen, "\"%s\" already exists;"
				    " refusing to overwrite it", path);
			else
				kw_seterr(err, errlen, "could not create "
				    "\"%s\": %s", path, strerror(errno));
			goto out;
		}
	}
	if (secfile_sync_dir(dir) == -1) {
		kw_seterr(err, errlen, "could not fsync directory \"%s\": %s",
		    dir, strerror(errno));
		goto out;
	}
	rv = 0;
out:
	if (fd != -1)
		close(fd);
	if (tmp_made)
		(void)unlink(tmp);
	return rv;
}

struct secbuf *
secfile_read_password(const char *path, char *err, size_t errlen)
{
	return secfile_read_line_as("database password file", path, err,
	    errlen);
}

struct secbuf *
secfile_read_line_as(const char *what, const char *path, char *err,
    size_t errlen)
{
	struct secbuf *pw;
	size_t n;

	pw = secfile_read_as(what, path, 4096, err, errlen);
	if (pw == NULL)
		return NULL;
	for (n = 0; n < pw->len && pw->data[n] != '\n' && pw->data[n] != '\r';
	    n++)
		;
	/* secbuf_free still wipes the whole allocation */
	secure_wipe(pw->data + n, pw->len - n);
	pw->len = n;
	return pw;
}
