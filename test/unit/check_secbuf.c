/*
 * check_secbuf.c: lib/secbuf (secret buffers) and lib/secfile (secret
 * files): the checks that make keyward refuse a loosely protected master
 * key, and the atomic 0600 writer.
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <check.h>
#include <dirent.h>
#include <fcntl.h>
#include <jansson.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/secbuf.h"
#include "lib/secfile.h"
#include "check_main.h"

/* ---- secbuf ---- */

START_TEST(test_new_zeroed)
{
	static const size_t	 lens[] = { 0, 1, 16, 32, 4095, 4096, 70000 };
	struct secbuf		*sb;
	size_t			 i, j;

	for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		ck_assert_ptr_nonnull(sb = secbuf_new(lens[i]));
		ck_assert_uint_eq(sb->len, lens[i]);
		ck_assert_ptr_nonnull(sb->data);
		for (j = 0; j <= lens[i]; j++)	/* data[len] too */
			ck_assert_int_eq(sb->data[j], 0);
		secbuf_free(sb);
	}
	secbuf_free(NULL);
}
END_TEST

START_TEST(test_dup)
{
	struct secbuf *sb;

	ck_assert_ptr_nonnull(sb = secbuf_dup("secret", 6));
	ck_assert_uint_eq(sb->len, 6);
	ck_assert_str_eq((char *)sb->data, "secret");	/* NUL after */
	secbuf_free(sb);
	ck_assert_ptr_nonnull(sb = secbuf_dup(NULL, 0));
	ck_assert_uint_eq(sb->len, 0);
	secbuf_free(sb);
}
END_TEST

/* A caller may shorten len (decoded length); free still works. */
START_TEST(test_shortened)
{
	struct secbuf *sb;

	ck_assert_ptr_nonnull(sb = secbuf_new(48));
	memset(sb->data, 0x5a, 48);
	sb->len = 32;
	secbuf_free(sb);
}
END_TEST

static const struct {
	const char	*a;
	size_t		 alen;
	const char	*b;
	size_t		 blen;
	int		 equal;
} eq[] = {
	{ "abc", 3, "abc", 3, 1 },
	{ "", 0, "", 0, 1 },
	{ "abc", 3, "abd", 3, 0 },
	{ "abc", 3, "bbc", 3, 0 },
	{ "abc", 3, "ab", 2, 0 },
	{ "ab", 2, "abc", 3, 0 },
	{ "a\0b", 3, "a\0c", 3, 0 },
	{ "", 0, "x", 1, 0 },
};

START_TEST(test_equal)
{
	struct secbuf *a, *b;

	ck_assert_ptr_nonnull(a = secbuf_dup(eq[_i].a, eq[_i].alen));
	ck_assert_ptr_nonnull(b = secbuf_dup(eq[_i].b, eq[_i].blen));
	ck_assert_int_eq(secbuf_equal(a, b), eq[_i].equal);
	ck_assert_int_eq(secbuf_equal(b, a), eq[_i].equal);
	ck_assert_int_eq(secbuf_equal(a, a), 1);
	ck_assert_int_eq(secbuf_equal(a, NULL), 0);
	ck_assert_int_eq(secbuf_equal(NULL, NULL), 1);
	secbuf_free(a);
	secbuf_free(b);
}
END_TEST

START_TEST(test_wipe)
{
	unsigned char	buf[40], zero[40];

	memset(buf, 0xee, sizeof(buf));
	memset(zero, 0, sizeof(zero));
	secure_wipe(buf, sizeof(buf));
	ck_assert_mem_eq(buf, zero, sizeof(buf));
	secure_wipe(NULL, 0);
}
END_TEST

/* What release_checked saw: blocks handed over, and how many of them
 * still held a non-zero byte. */
static int released, unwiped;

static void
release_checked(void *p)
{
	const unsigned char *b = p;
	size_t i, n = malloc_usable_size(p);

	released++;
	for (i = 0; i < n; i++)
		if (b[i] != 0) {
			unwiped++;
			break;
		}
	free(p);
}

/* secure_free wipes the whole block (malloc_usable_size: also any slack
 * past the size asked for) before it frees it. */
START_TEST(test_secure_free)
{
	unsigned char *p;

	released = unwiped = 0;
	ck_assert_ptr_nonnull(p = malloc(100));
	memset(p, 0xa5, 100);
	secure_free_using(p, release_checked);
	ck_assert_int_eq(released, 1);
	ck_assert_int_eq(unwiped, 0);
	secure_free_using(NULL, release_checked);
	ck_assert_int_eq(released, 1);
	secure_free(NULL);
}
END_TEST

static void
json_free_checked(void *p)
{
	secure_free_using(p, release_checked);
}

/*
 * After secure_json_alloc every block jansson frees goes through
 * secure_free: a document holding a secret, its parse and its text are
 * all wiped when freed.
 */
START_TEST(test_json_wipe)
{
	json_malloc_t m;
	json_free_t f;
	json_t *j, *back;
	char *text;

	secure_json_alloc();
	json_get_alloc_funcs(&m, &f);
	ck_assert_ptr_eq((void *)f, (void *)secure_free);

	/* the same allocator, with the look at each block before it goes */
	json_set_alloc_funcs(malloc, json_free_checked);
	released = unwiped = 0;
	ck_assert_ptr_nonnull(j = json_pack("{s:s, s:s}", "name", "k",
	    "material", "SECRET-MATERIAL-0123456789abcdef"));
	ck_assert_ptr_nonnull(text = json_dumps(j, JSON_COMPACT));
	ck_assert_ptr_nonnull(back = json_loads(text, 0, NULL));
	json_decref(j);
	json_decref(back);
	json_free_checked(text);
	ck_assert_int_ge(released, 6);
	ck_assert_int_eq(unwiped, 0);
	secure_json_alloc();
}
END_TEST

/* ---- secfile ---- */

static char tmpdir[64];

static void
tmp_setup(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/check_secbuf.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void
tmp_teardown(void)
{
	char		 p[512];
	DIR		*d;
	struct dirent	*e;

	if ((d = opendir(tmpdir)) == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		snprintf(p, sizeof(p), "%s/%s", tmpdir, e->d_name);
		if (unlink(p) == -1)
			(void)rmdir(p);
	}
	closedir(d);
	(void)rmdir(tmpdir);
}

/* Write a file with exactly this mode; returns its path (static). */
static const char *
put(const char *name, const char *content, size_t len, mode_t mode)
{
	static char	path[512];
	int		fd;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	ck_assert_int_ne(fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600),
	    -1);
	ck_assert_int_eq(write(fd, content, len), (ssize_t)len);
	ck_assert_int_eq(fchmod(fd, mode), 0);
	close(fd);
	return path;
}

static int
count_entries(void)
{
	DIR		*d;
	struct dirent	*e;
	int		 n = 0;

	ck_assert_ptr_nonnull(d = opendir(tmpdir));
	while ((e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

START_TEST(test_read_ok)
{
	static const mode_t	 modes[] = { 0600, 0400, 0700, 0200 };
	const char		*path;
	struct secbuf		*sb;
	char			 err[512];
	size_t			 i;

	for (i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		path = put("master.key", "0123456789abcdef", 16, modes[i]);
		sb = secfile_read(path, 64, err, sizeof(err));
		ck_assert_msg(sb != NULL, "mode %04o: %s", modes[i], err);
		ck_assert_uint_eq(sb->len, 16);
		ck_assert_mem_eq(sb->data, "0123456789abcdef", 16);
		ck_assert_int_eq(sb->data[16], 0);
		secbuf_free(sb);
	}
}
END_TEST

/* Loose modes: refused, and the message says which file and what to do. */
static const struct {
	mode_t		 mode;
	const char	*word;
} loose[] = {
	{ 0644, "readable by group or others (mode 0644); chmod 600 it" },
	{ 0640, "readable by group or others (mode 0640)" },
	{ 0604, "readable by group or others (mode 0604)" },
	{ 0660, "(mode 0660)" },
	{ 0602, "accessible by group or others (mode 0602)" },
	{ 0610, "accessible by group or others (mode 0610)" },
	{ 0601, "(mode 0601)" },
	{ 0777, "(mode 0777)" },
};

START_TEST(test_read_loose_mode)
{
	const char	*path;
	char		 err[512], want[600];

	path = put("master.key", "k", 1, loose[_i].mode);
	err[0] = '\0';
	ck_assert_ptr_null(secfile_read(path, 64, err, sizeof(err)));
	snprintf(want, sizeof(want), "\"%s\" is ", path);
	ck_assert_msg(strstr(err, want) != NULL, "no path in: %s", err);
	ck_assert_msg(strstr(err, loose[_i].word) != NULL, "got: %s", err);

	ck_assert_ptr_null(secfile_read_as("master key file", path, 64, err,
	    sizeof(err)));
	snprintf(want, sizeof(want), "master key file \"%s\" is ", path);
	ck_assert_msg(strncmp(err, want, strlen(want)) == 0, "got: %s", err);
	ck_assert_msg(strstr(err, loose[_i].word) != NULL, "got: %s", err);
}
END_TEST

START_TEST(test_read_size)
{
	const char	*path;
	struct secbuf	*sb;
	char		 err[512];

	path = put("k", "12345", 5, 0600);
	ck_assert_ptr_null(secfile_read(path, 4, err, sizeof(err)));
	ck_assert_msg(strstr(err, "too large (5 bytes, at most 4)") != NULL,
	    "got: %s", err);
	ck_assert_ptr_nonnull(sb = secfile_read(path, 5, err, sizeof(err)));
	secbuf_free(sb);
	path = put("empty", "", 0, 0600);
	ck_assert_ptr_nonnull(sb = secfile_read(path, 5, err, sizeof(err)));
	ck_assert_uint_eq(sb->len, 0);
	secbuf_free(sb);
}
END_TEST

START_TEST(test_read_missing)
{
	char	path[512], err[512], want[700];

	snprintf(path, sizeof(path), "%s/nope.key", tmpdir);
	ck_assert_ptr_null(secfile_read(path, 64, err, sizeof(err)));
	snprintf(want, sizeof(want), "could not open \"%s\": No such file or "
	    "directory", path);
	ck_assert_str_eq(err, want);
	ck_assert_ptr_null(secfile_read_as("master key file", path, 64, err,
	    sizeof(err)));
	snprintf(want, sizeof(want), "could not open master key file \"%s\": "
	    "No such file or directory", path);
	ck_assert_str_eq(err, want);
}
END_TEST

START_TEST(test_read_not_regular)
{
	char	path[512], link_path[512], err[512];

	/* A directory. */
	ck_assert_ptr_null(secfile_read(tmpdir, 64, err, sizeof(err)));
	ck_assert_msg(strstr(err, "is not a regular file") != NULL, "%s", err);
	/* A FIFO: refused without blocking. */
	snprintf(path, sizeof(path), "%s/fifo", tmpdir);
	ck_assert_int_eq(mkfifo(path, 0600), 0);
	ck_assert_ptr_null(secfile_read(path, 64, err, sizeof(err)));
	ck_assert_msg(strstr(err, "is not a regular file") != NULL, "%s", err);
	/* A symbolic link to a good file. */
	snprintf(path, sizeof(path), "%s", put("real.key", "k", 1, 0600));
	snprintf(link_path, sizeof(link_path), "%s/link.key", tmpdir);
	ck_assert_int_eq(symlink(path, link_path), 0);
	ck_assert_ptr_null(secfile_read(link_path, 64, err, sizeof(err)));
	ck_assert_msg(strstr(err, "is a symbolic link") != NULL, "%s", err);
}
END_TEST

/*
 * Owned by someone else.  Root may read the service user's secret files
 * (the operator runs keyward-admin as root against files owned by the
 * service user); the mode check still applies.  A non-root reader of a
 * file it does not own is refused: tested by dropping to nobody in this
 * forked test.
 */
START_TEST(test_read_owner)
{
	const char	*path;
	char		 err[512];
	struct secbuf	*sb;

	if (geteuid() != 0) {
		fprintf(stderr, "test_read_owner: not root, owner check not "
		    "exercised\n");
		return;
	}
	path = put("master.key", "k", 1, 0600);
	ck_assert_int_eq(chown(path, 65534, 65534), 0);
	sb = secfile_read(path, 64, err, sizeof(err));
	ck_assert_msg(sb != NULL, "root refused: %s", err);
	secbuf_free(sb);
	ck_assert_int_eq(chmod(path, 0640), 0);
	ck_assert_ptr_null(secfile_read(path, 64, err, sizeof(err)));
	ck_assert_msg(strstr(err, "mode 0640") != NULL, "got: %s", err);

	/* as nobody, a root-owned 0600 file is refused (cannot even open) */
	ck_assert_int_eq(chown(path, 0, 0), 0);
	ck_assert_int_eq(chmod(path, 0600), 0);
	ck_assert_int_eq(chmod(tmpdir, 0755), 0);
	ck_assert_int_eq(setgid(65534), 0);
	ck_assert_int_eq(setuid(65534), 0);
	ck_assert_ptr_null(secfile_read(path, 64, err, sizeof(err)));
	ck_assert_msg(strstr(err, path) != NULL, "got: %s", err);
}
END_TEST

START_TEST(test_write_new)
{
	char		 path[512], err[512];
	struct stat	 st;
	struct secbuf	*sb;

	umask(0);	/* the result is 0600 whatever the umask */
	snprintf(path, sizeof(path), "%s/new.key", tmpdir);
	ck_assert_msg(secfile_write(path, "abcdef", 6, 0, err, sizeof(err)) ==
	    0, "%s", err);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_uint_eq(st.st_mode & 07777, 0600);
	ck_assert_int_eq(count_entries(), 1);	/* no temporary left */
	ck_assert_ptr_nonnull(sb = secfile_read(path, 64, err, sizeof(err)));
	ck_assert_uint_eq(sb->len, 6);
	ck_assert_mem_eq(sb->data, "abcdef", 6);
	secbuf_free(sb);
}
END_TEST

START_TEST(test_write_existing)
{
	char		 path[512], err[512];
	struct stat	 st;
	struct secbuf	*sb;

	snprintf(path, sizeof(path), "%s", put("old.key", "old", 3, 0644));
	ck_assert_int_eq(secfile_write(path, "new", 3, 0, err, sizeof(err)),
	    -1);
	ck_assert_msg(strstr(err, "already exists") != NULL, "%s", err);
	ck_assert_msg(strstr(err, path) != NULL, "%s", err);
	ck_assert_int_eq(count_entries(), 1);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_uint_eq(st.st_mode & 07777, 0644);	/* untouched */

	ck_assert_msg(secfile_write(path, "newer", 5, 1, err, sizeof(err)) ==
	    0, "%s", err);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_uint_eq(st.st_mode & 07777, 0600);
	ck_assert_int_eq(count_entries(), 1);
	ck_assert_ptr_nonnull(sb = secfile_read(path, 64, err, sizeof(err)));
	ck_assert_mem_eq(sb->data, "newer", 5);
	secbuf_free(sb);
}
END_TEST

START_TEST(test_write_bad_dir)
{
	char	path[512], err[512];

	snprintf(path, sizeof(path), "%s/no/such/dir/x.key", tmpdir);
	ck_assert_int_eq(secfile_write(path, "x", 1, 0, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, "could not create a temporary file") !=
	    NULL, "%s", err);
	ck_assert_int_eq(count_entries(), 0);
}
END_TEST

static Suite *
secbuf_suite(void)
{
	Suite	*s = suite_create("secbuf");
	TCase	*buf = tcase_create("secbuf");
	TCase	*file = tcase_create("secfile");

	tcase_add_test(buf, test_new_zeroed);
	tcase_add_test(buf, test_dup);
	tcase_add_test(buf, test_shortened);
	tcase_add_loop_test(buf, test_equal, 0, sizeof(eq) / sizeof(eq[0]));
	tcase_add_test(buf, test_wipe);
	tcase_add_test(buf, test_secure_free);
	tcase_add_test(buf, test_json_wipe);
	suite_add_tcase(s, buf);

	tcase_add_checked_fixture(file, tmp_setup, tmp_teardown);
	tcase_add_test(file, test_read_ok);
	tcase_add_loop_test(file, test_read_loose_mode, 0,
	    sizeof(loose) / sizeof(loose[0]));
	tcase_add_test(file, test_read_size);
	tcase_add_test(file, test_read_missing);
	tcase_add_test(file, test_read_not_regular);
	tcase_add_test(file, test_read_owner);
	tcase_add_test(file, test_write_new);
	tcase_add_test(file, test_write_existing);
	tcase_add_test(file, test_write_bad_dir);
	suite_add_tcase(s, file);
	return s;
}

int
main(void)
{
	return check_run(secbuf_suite(), CK_FORK);
}
