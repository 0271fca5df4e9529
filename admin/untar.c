/*
 * untar.c: the strict ustar reader of keyward backups (see untar.h).
 *
 * POSIX ustar only (what keyward-backup writes with tar --format=ustar):
 * 512-byte headers, octal numbers, name = prefix "/" name, the archive
 * ends at a block of zeros.  Everything the restore does not need is
 * refused rather than interpreted.
 */
#include <sys/stat.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "untar.h"

#define BLOCK		512
#define NAME_MAX_LEN	256	/* prefix (155) + '/' + name (100) */

struct member {
	char		 name[NAME_MAX_LEN + 1];
	char		 uname[33];
	char		 gname[33];
	char		 type;		/* '0' file, '5' directory */
	unsigned	 mode;
	size_t		 size;
	const unsigned char *data;
};

/* An octal field (NUL or space terminated); 0 or -1. */
static int
octal(const unsigned char *f, size_t n, unsigned long long *out)
{
	unsigned long long v = 0;
	size_t i = 0;

	while (i < n && f[i] == ' ')
		i++;
	if (i == n || f[i] < '0' || f[i] > '7')
		return -1;
	for (; i < n && f[i] >= '0' && f[i] <= '7'; i++) {
		if (v > (~0ULL >> 3))
			return -1;
		v = v * 8 + (unsigned)(f[i] - '0');
	}
	for (; i < n; i++)
		if (f[i] != ' ' && f[i] != '\0')
			return -1;
	*out = v;
	return 0;
}

/* A NUL-padded text field into out (n + 1 bytes). */
static void
text(const unsigned char *f, size_t n, char *out)
{
	size_t len = strnlen((const char *)f, n);

	memcpy(out, f, len);
	out[len] = '\0';
}

static const char *
type_name(char t)
{
	switch (t) {
	case '1': return "a hard link";
	case '2': return "a symbolic link";
	case '3': return "a character device";
	case '4': return "a block device";
	case '6': return "a fifo";
	case '7': return "a contiguous file";
	case 'x': case 'g': return "a pax extended header";
	case 'L': case 'K': return "a GNU long-name header";
	default: return "of an unknown type";
	}
}

/* Why name cannot be written below the extraction directory, or NULL. */
static const char *
name_unsafe(const char *name, int is_dir)
{
	const char *p, *c;
	size_t n;

	if (*name == '\0')
		return "has an empty name";
	if (*name == '/')
		return "has an absolute path";
	for (p = name; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return "has a control character in its name";
	for (c = name;; c = p + 1) {
		p = c + strcspn(c, "/");
		n = (size_t)(p - c);
		if (n == 0) {
			/* "dir/": a directory's name may end in one '/' */
			if (*p == '\0' && is_dir && c != name)
				break;
			return "has an empty path component";
		}
		if (n == 2 && c[0] == '.' && c[1] == '.')
			return "has a \"..\" component";
		if (n == 1 && c[0] == '.')
			return "has a \".\" component";
		if (*p == '\0')
			break;
	}
	return NULL;
}

/*
 * Parse the header at buf[*off]; 1 and the member in m (*off moved past
 * its data), 0 at the end of the archive, -1 with a message in err.
 */
static int
next_member(const unsigned char *buf, size_t len, size_t *off,
    struct member *m, char *err, size_t errlen)
{
	const unsigned char *h = buf + *off;
	unsigned long long sum, v;
	unsigned s = 0;
	char name[101], prefix[156];
	size_t i, blocks;
	const char *why;

	if (len - *off < BLOCK) {
		snprintf(err, errlen, "the archive is cut short at byte %zu",
		    *off);
		return -1;
	}
	for (i = 0; i < BLOCK && h[i] == 0; i++)
		;
	if (i == BLOCK)
		return 0;
	for (i = 0; i < BLOCK; i++)
		s += (i >= 148 && i < 156) ? ' ' : h[i];
	if (octal(h + 148, 8, &sum) != 0 || sum != s) {
		snprintf(err, errlen, "the archive header at byte %zu is "
		    "damaged (checksum)", *off);
		return -1;
	}
	if (memcmp(h + 257, "ustar", 5) != 0) {
		snprintf(err, errlen, "the archive header at byte %zu is not "
		    "ustar", *off);
		return -1;
	}
	text(h, 100, name);
	text(h + 345, 155, prefix);
	snprintf(m->name, sizeof(m->name), "%s%s%s", prefix,
	    *prefix ? "/" : "", name);
	text(h + 265, 32, m->uname);
	text(h + 297, 32, m->gname);
	m->type = h[156] == '\0' ? '0' : (char)h[156];
	if (m->type != '0' && m->type != '5') {
		snprintf(err, errlen, "UNSAFE MEMBER \"%.256s\": it is %s "
		    "(only regular files and directories are restored)",
		    m->name, type_name(m->type));
		return -1;
	}
	if ((why = name_unsafe(m->name, m->type == '5')) != NULL) {
		snprintf(err, errlen, "UNSAFE MEMBER \"%.256s\": it %s",
		    m->name, why);
		return -1;
	}
	if (octal(h + 100, 8, &v) != 0) {
		snprintf(err, errlen, "member \"%.256s\" has a bad mode",
		    m->name);
		return -1;
	}
	m->mode = (unsigned)(v & 0777);
	if (octal(h + 124, 12, &v) != 0 || (m->type == '5' && v != 0)) {
		snprintf(err, errlen, "member \"%.256s\" has a bad size",
		    m->name);
		return -1;
	}
	blocks = (size_t)((v + BLOCK - 1) / BLOCK);
	if (v > len || blocks > (len - *off) / BLOCK - 1) {
		snprintf(err, errlen, "the archive is cut short in member "
		    "\"%.256s\"", m->name);
		return -1;
	}
	m->size = (size_t)v;
	m->data = h + BLOCK;
	*off += BLOCK + blocks * BLOCK;
	return 1;
}

static int
cmp_names(const void *a, const void *b)
{
	return strcmp(((const struct member *)a)->name,
	    ((const struct member *)b)->name);
}

/* Every member into a new array (*n of them); NULL with err. */
static struct member *
list_members(const unsigned char *buf, size_t len, size_t *n, char *err,
    size_t errlen)
{
	struct member *ms = NULL, *grown, m;
	size_t off = 0, cap = 0;
	int r;

	*n = 0;
	while ((r = next_member(buf, len, &off, &m, err, errlen)) == 1) {
		if (*n == cap) {
			cap = cap ? cap * 2 : 32;
			if ((grown = realloc(ms, cap * sizeof(*ms))) == NULL) {
				snprintf(err, errlen, "out of memory");
				goto fail;
			}
			ms = grown;
		}
		/* "d/" and "d" are one directory */
		if (m.type == '5' && m.name[strlen(m.name) - 1] == '/')
			m.name[strlen(m.name) - 1] = '\0';
		ms[(*n)++] = m;
	}
	if (r < 0)
		goto fail;
	if (*n == 0) {
		snprintf(err, errlen, "the archive is empty");
		goto fail;
	}
	return ms;
fail:
	free(ms);
	return NULL;
}

/*
 * Names sorted: the same name twice, or a file where another member
 * needs a directory ("f" and "f/x"), is refused.  0 or -1 with err.
 */
static int
check_listing(struct member *ms, size_t n, char *err, size_t errlen)
{
	char want[NAME_MAX_LEN + 2];
	size_t i, j;

	qsort(ms, n, sizeof(*ms), cmp_names);
	for (i = 0; i < n; i++) {
		if (i + 1 < n && strcmp(ms[i].name, ms[i + 1].name) == 0 &&
		    (ms[i].type != '5' || ms[i + 1].type != '5')) {
			snprintf(err, errlen, "UNSAFE MEMBER \"%s\": it appears "
			    "twice in the archive", ms[i].name);
			return -1;
		}
		if (ms[i].type == '5')
			continue;
		snprintf(want, sizeof(want), "%s/", ms[i].name);
		/* names under "f/" sort after "f", maybe not right after */
		for (j = i + 1; j < n && strncmp(ms[j].name, ms[i].name,
		    strlen(ms[i].name)) == 0; j++)
			if (strncmp(ms[j].name, want, strlen(want)) == 0) {
				snprintf(err, errlen, "UNSAFE MEMBER \"%s\": a "
				    "file where \"%s\" needs a directory",
				    ms[i].name, ms[j].name);
				return -1;
			}
	}
	return 0;
}

int
untar_check(const unsigned char *buf, size_t len, size_t *nfiles,
    char *err, size_t errlen)
{
	struct member *ms;
	size_t n, i;
	int rc;

	if ((ms = list_members(buf, len, &n, err, errlen)) == NULL)
		return -1;
	rc = check_listing(ms, n, err, errlen);
	for (*nfiles = 0, i = 0; i < n; i++)
		*nfiles += ms[i].type == '0';
	free(ms);
	return rc;
}

/* Give fd the owner and group the archive names (root only). */
static void
set_owner(int fd, const struct member *m)
{
	struct passwd *pw;
	struct group *gr;
	uid_t uid = (uid_t)-1;
	gid_t gid = (gid_t)-1;

	if (geteuid() != 0)
		return;
	if (*m->uname != '\0' && (pw = getpwnam(m->uname)) != NULL)
		uid = pw->pw_uid;
	if (*m->gname != '\0' && (gr = getgrnam(m->gname)) != NULL)
		gid = gr->gr_gid;
	if (uid != (uid_t)-1 || gid != (gid_t)-1)
		(void)!fchown(fd, uid, gid);
}

/*
 * The directory holding path's last component, below root, made (0700)
 * where missing; never through a symbolic link.  A descriptor, or -1.
 */
static int
open_parent(int root, const char *path, const char **last)
{
	char comp[NAME_MAX_LEN + 1];
	const char *p = path, *slash;
	int fd = dup(root), next;

	while (fd >= 0 && (slash = strchr(p, '/')) != NULL) {
		memcpy(comp, p, (size_t)(slash - p));
		comp[slash - p] = '\0';
		if (mkdirat(fd, comp, 0700) != 0 && errno != EEXIST) {
			close(fd);
			return -1;
		}
		next = openat(fd, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
		    O_CLOEXEC);
		close(fd);
		fd = next;
		p = slash + 1;
	}
	*last = p;
	return fd;
}

/* Write one member below root; 0 or -1 with err. */
static int
write_member(int root, const struct member *m, char *err, size_t errlen)
{
	const char *last;
	size_t done = 0;
	ssize_t w;
	int dir, fd = -1, rc = -1;

	if ((dir = open_parent(root, m->name, &last)) < 0)
		goto fail;
	if (m->type == '5') {
		if (mkdirat(dir, last, 0700) != 0 && errno != EEXIST)
			goto fail;
		fd = openat(dir, last, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
		    O_CLOEXEC);
		if (fd < 0 || fchmod(fd, m->mode | 0700) != 0)
			goto fail;
	} else {
		fd = openat(dir, last, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
		    O_CLOEXEC, 0600);
		if (fd < 0)
			goto fail;
		while (done < m->size) {
			if ((w = write(fd, m->data + done, m->size - done)) < 0) {
				if (errno == EINTR)
					continue;
				goto fail;
			}
			done += (size_t)w;
		}
		if (fchmod(fd, m->mode) != 0 || fsync(fd) != 0)
			goto fail;
	}
	set_owner(fd, m);
	rc = 0;
	goto out;
fail:
	snprintf(err, errlen, "could not write member \"%s\": %s", m->name,
	    strerror(errno));
out:
	if (fd >= 0)
		close(fd);
	if (dir >= 0)
		close(dir);
	return rc;
}

int
untar_extract(const unsigned char *buf, size_t len, const char *dir,
    char *err, size_t errlen)
{
	struct member *ms;
	size_t n, i;
	int root = -1, rc = -1;

	if ((ms = list_members(buf, len, &n, err, errlen)) == NULL)
		return -1;
	if (check_listing(ms, n, err, errlen) != 0)
		goto out;
	if (mkdir(dir, 0700) != 0) {
		snprintf(err, errlen, "could not create \"%s\": %s", dir,
		    strerror(errno));
		goto out;
	}
	if ((root = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC)) < 0) {
		snprintf(err, errlen, "could not open \"%s\": %s", dir,
		    strerror(errno));
		goto out;
	}
	/* sorted: a directory comes before what it holds */
	for (i = 0; i < n; i++)
		if (write_member(root, &ms[i], err, errlen) != 0)
			goto out;
	rc = 0;
out:
	if (root >= 0)
		close(root);
	free(ms);
	return rc;
}
