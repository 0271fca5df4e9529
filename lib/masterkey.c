/*
 * masterkey.c: reading a node's keyring file and the passphrase of a
 * sealed one (masterkey.h).  The file format is keyring.c's; the secret
 * file checks are secfile.c's.  A passphrase is held only in locked
 * secbufs and never appears in a message.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "masterkey.h"
#include "secfile.h"

#define KEYRING_MAX	(64 * 1024)
#define PASS_MAX	4096

struct masterkey {
	char			*path;
	char			*pass_file;
	int			 pass_fd;
	int			 prompt;
	struct secbuf		*pass;		/* opened it last, or NULL */
	struct keyring_seal	 seal;
};

struct masterkey *
masterkey_new(const struct masterkey_opts *o)
{
	struct masterkey *mk;

	if ((mk = calloc(1, sizeof(*mk))) == NULL)
		return NULL;
	mk->pass_fd = o->pass_fd;
	mk->prompt = o->prompt;
	if ((mk->path = strdup(o->path != NULL ? o->path : "")) == NULL ||
	    (mk->pass_file = strdup(o->pass_file != NULL ? o->pass_file :
	    "")) == NULL) {
		masterkey_free(mk);
		return NULL;
	}
	return mk;
}

void
masterkey_free(struct masterkey *mk)
{
	if (mk == NULL)
		return;
	secbuf_free(mk->pass);
	free(mk->path);
	free(mk->pass_file);
	free(mk);
}

const struct secbuf *
masterkey_passphrase(const struct masterkey *mk)
{
	return mk->pass;
}

const struct keyring_seal *
masterkey_seal(const struct masterkey *mk)
{
	return &mk->seal;
}

/* A copy of p[0..len) up to its first line break, in locked memory. */
static struct secbuf *
first_line(const unsigned char *p, size_t len)
{
	struct secbuf *sb;
	size_t n;

	for (n = 0; n < len && p[n] != '\n' && p[n] != '\r'; n++)
		;
	if ((sb = secbuf_new_locked(n)) != NULL)
		memcpy(sb->data, p, n);
	return sb;
}

/* The passphrase from descriptor fd (read to its end, then closed). */
static struct secbuf *
pass_from_fd(int fd, char *err, size_t errlen)
{
	struct secbuf *buf, *pw = NULL;
	size_t got = 0;
	ssize_t n;

	if ((buf = secbuf_new(PASS_MAX)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	while (got < PASS_MAX) {
		n = read(fd, buf->data + got, PASS_MAX - got);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			snprintf(err, errlen, "could not read the passphrase "
			    "from descriptor %d: %s", fd, strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	if ((pw = first_line(buf->data, got)) == NULL)
		snprintf(err, errlen, "out of memory");
out:
	(void)close(fd);
	secbuf_free(buf);
	return pw;
}

struct secbuf *
masterkey_ask(const char *prompt, int confirm, char *err, size_t errlen)
{
	struct termios old, noecho;
	struct secbuf *a = NULL, *b = NULL;
	unsigned char line[PASS_MAX];
	ssize_t n;
	int fd, round, restore = 0;

	if ((fd = open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY)) == -1) {
		snprintf(err, errlen, "no terminal to ask for the passphrase");
		return NULL;
	}
	if (tcgetattr(fd, &old) == 0) {
		noecho = old;
		noecho.c_lflag &= ~(tcflag_t)ECHO;
		noecho.c_lflag |= ECHONL;
		restore = tcsetattr(fd, TCSAFLUSH, &noecho) == 0;
	}
	for (round = 0; round < (confirm ? 2 : 1); round++) {
		if (dprintf(fd, "%s%s: ", round ? "again, " : "", prompt) < 0)
			break;
		n = read(fd, line, sizeof(line));
		if (n <= 0)
			break;
		if (round == 0)
			a = first_line(line, (size_t)n);
		else
			b = first_line(line, (size_t)n);
	}
	secure_wipe(line, sizeof(line));
	if (restore)
		(void)tcsetattr(fd, TCSAFLUSH, &old);
	close(fd);
	if (a == NULL || (confirm && b == NULL)) {
		snprintf(err, errlen, "no passphrase read from the terminal");
		goto fail;
	}
	if (a->len == 0) {
		snprintf(err, errlen, "an empty passphrase is refused");
		goto fail;
	}
	if (confirm && !secbuf_equal(a, b)) {
		snprintf(err, errlen, "the two passphrases differ");
		goto fail;
	}
	secbuf_free(b);
	return a;
fail:
	secbuf_free(a);
	secbuf_free(b);
	return NULL;
}

/*
 * Try to open the sealed data with pass: KEYRING_OK (pass kept as the
 * one that opened it), or the KEYRING_E* code.
 */
static int
try_pass(struct masterkey *mk, const struct secbuf *file, struct secbuf *pass,
    struct keyring **out, enum keyring_form *form, char *err, size_t errlen)
{
	int rc;

	rc = keyring_parse(file->data, file->len, pass, out, form, &mk->seal,
	    err, errlen);
	if (rc == KEYRING_OK && pass != mk->pass) {
		secbuf_free(mk->pass);
		mk->pass = pass;
	} else if (pass != mk->pass)
		secbuf_free(pass);
	return rc;
}

int
masterkey_load(struct masterkey *mk, struct keyring **out,
    enum keyring_form *form, char *err, size_t errlen)
{
	struct secbuf *file, *pass;
	char why[256];
	int rc = KEYRING_EFORMAT;

	*out = NULL;
	if ((file = secfile_read_as("master key file", mk->path, KEYRING_MAX,
	    err, errlen)) == NULL)
		return -1;
	if (!keyring_is_sealed(file->data, file->len)) {
		rc = keyring_parse(file->data, file->len, NULL, out, form, NULL,
		    why, sizeof(why));
		goto out;
	}
	/* the passphrase that worked last time (a reload) */
	if (mk->pass != NULL && (rc = try_pass(mk, file, mk->pass, out, form,
	    why, sizeof(why))) != KEYRING_EBADPASS)
		goto out;
	if (mk->pass_fd >= 0) {
		pass = pass_from_fd(mk->pass_fd, err, errlen);
		mk->pass_fd = -1;	/* read once */
		if (pass == NULL)
			goto out_err;
		if ((rc = try_pass(mk, file, pass, out, form, why,
		    sizeof(why))) != KEYRING_EBADPASS)
			goto out;
	}
	if (mk->pass_file[0] != '\0') {
		if ((pass = secfile_read_line_as("passphrase file",
		    mk->pass_file, err, errlen)) == NULL)
			goto out_err;
		rc = try_pass(mk, file, pass, out, form, why, sizeof(why));
		goto out;
	}
	if (rc != KEYRING_EBADPASS && mk->prompt && isatty(STDIN_FILENO)) {
		snprintf(why, sizeof(why), "passphrase of %s", mk->path);
		if ((pass = masterkey_ask(why, 0, err, errlen)) == NULL)
			goto out_err;
		rc = try_pass(mk, file, pass, out, form, why, sizeof(why));
		goto out;
	}
	if (rc != KEYRING_EBADPASS) {
		snprintf(err, errlen, "master key file \"%s\" is sealed and no "
		    "passphrase was given (a descriptor, keys.passphrase_file "
		    "or a terminal)", mk->path);
		goto out_err;
	}
out:
	if (rc == KEYRING_OK) {
		secbuf_free(file);
		return 0;
	}
	if (rc == KEYRING_EBADPASS)
		snprintf(err, errlen, "master key file \"%s\": wrong passphrase: "
		    "the keyring did not unseal", mk->path);
	else
		snprintf(err, errlen, "master key file \"%s\": %s", mk->path,
		    why);
out_err:
	secbuf_free(file);
	return -1;
}

int
masterkey_save(const char *path, const struct keyring *kr,
    const struct secbuf *pass, const struct keyring_seal *seal, char *err,
    size_t errlen)
{
	struct secbuf *text;
	struct stat st;
	int had, rc;

	had = stat(path, &st) == 0;
	if ((text = keyring_format(kr, pass, seal, err, errlen)) == NULL)
		return -1;
	rc = secfile_write(path, text->data, text->len, 1, err, errlen);
	secbuf_free(text);
	if (rc != 0)
		return -1;
	/* root rewrote the service user's file: it stays the service user's */
	if (had && geteuid() == 0 && chown(path, st.st_uid, st.st_gid) != 0) {
		snprintf(err, errlen, "could not give \"%s\" back to uid %u: %s",
		    path, (unsigned)st.st_uid, strerror(errno));
		return -1;
	}
	return 0;
}
