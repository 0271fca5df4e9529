/*
 * pgexec.c: PostgreSQL's programs run as the service user, under a
 * deadline (see pgexec.h).  Owns forking, dropping privileges, capturing
 * output and the password hand-over directory; what to run is the
 * commands' business.
 */
#include <sys/stat.h>
#include <sys/wait.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "pgexec.h"
#include "../lib/log.h"
#include "../lib/secbuf.h"

extern char **environ;

long long
pgx_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Append n bytes to out, keeping the last outlen - 1 bytes. */
static void
keep_tail(char *out, size_t outlen, size_t *used, const char *buf, size_t n)
{
	size_t room = outlen - 1, drop;

	if (n >= room) {
		memcpy(out, buf + (n - room), room);
		*used = room;
	} else {
		if (*used + n > room) {
			drop = *used + n - room;
			memmove(out, out + drop, *used - drop);
			*used -= drop;
		}
		memcpy(out + *used, buf, n);
		*used += n;
	}
	out[*used] = '\0';
}

/*
 * fork and exec path with argv (execvp when path has no '/'), as the
 * service user when drop; see pgx_run for the rest.
 */
static int
run_as(const struct pgx *x, int drop, int timeout_s, const char *const *env,
    char *out, size_t outlen, const char *path, const char *const *argv)
{
	int fds[2], status = 0, devnull, n_left, i, killed = 0;
	long long end = pgx_now_ms() + (long long)timeout_s * 1000, left;
	size_t used = 0;
	struct pollfd pfd;
	char buf[4096];
	ssize_t n;
	pid_t pid;

	out[0] = '\0';
	if (pipe2(fds, O_CLOEXEC) != 0) {
		snprintf(out, outlen, "pipe: %s", strerror(errno));
		return -1;
	}
	if ((pid = fork()) == -1) {
		snprintf(out, outlen, "fork: %s", strerror(errno));
		close(fds[0]);
		close(fds[1]);
		return -1;
	}
	if (pid == 0) {
		devnull = open("/dev/null", O_RDONLY);
		if (devnull < 0 || dup2(devnull, 0) < 0 || dup2(fds[1], 1) < 0 ||
		    dup2(fds[1], 2) < 0)
			_exit(127);
		if (drop && (setgroups(1, &x->gid) != 0 ||
		    setgid(x->gid) != 0 || setuid(x->uid) != 0 ||
		    setenv("HOME", x->home, 1) != 0)) {
			dprintf(2, "cannot switch to user %s: %s\n", x->user,
			    strerror(errno));
			_exit(126);
		}
		if (chdir("/") != 0)
			_exit(127);
		for (i = 0; env != NULL && env[i] != NULL; i++)
			putenv((char *)env[i]);
		if (strchr(path, '/') != NULL)
			execv(path, (char *const *)argv);
		else
			execvp(path, (char *const *)argv);
		dprintf(2, "cannot run %s: %s\n", path, strerror(errno));
		_exit(127);
	}
	close(fds[1]);
	n_left = 1;
	while (n_left) {
		left = end - pgx_now_ms();
		if (left <= 0) {
			/* past the deadline: TERM, then KILL after 2 s */
			kill(pid, killed ? SIGKILL : SIGTERM);
			if (killed)
				break;
			killed = 1;
			end = pgx_now_ms() + 2000;
			continue;
		}
		pfd.fd = fds[0];
		pfd.events = POLLIN;
		pfd.revents = 0;
		if (poll(&pfd, 1, (int)left) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (pfd.revents == 0)
			continue;
		n = read(fds[0], buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			n_left = 0;
		else
			keep_tail(out, outlen, &used, buf, (size_t)n);
	}
	close(fds[0]);
	if (killed) {
		/* still alive (holding no pipe)?  it gets 2 s, then KILL */
		for (i = 0; i < 20 && waitpid(pid, &status, WNOHANG) == 0; i++)
			usleep(100 * 1000);
		if (i == 20) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
		}
		return -2;
	}
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR) {
			snprintf(out, outlen, "waitpid: %s", strerror(errno));
			return -1;
		}
	}
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	snprintf(buf, sizeof(buf), "\n(killed by signal %d)",
	    WIFSIGNALED(status) ? WTERMSIG(status) : 0);
	keep_tail(out, outlen, &used, buf, strlen(buf));
	return 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

int
pgx_run(const struct pgx *x, int timeout_s, const char *const *env,
    char *out, size_t outlen, const char *const *argv)
{
	char path[PATH_MAX];

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", x->bindir, argv[0]) >=
	    sizeof(path)) {
		snprintf(out, outlen, "path too long: %s/%s", x->bindir, argv[0]);
		return -1;
	}
	/* argv[0] with its directory: pg_rewind finds postgres through it */
	{
		const char *full[64];
		size_t i;

		for (i = 0; argv[i] != NULL && i + 1 < 64; i++)
			full[i] = argv[i];
		full[i] = NULL;
		full[0] = path;
		return run_as(x, x->drop, timeout_s, env, out, outlen, path,
		    full);
	}
}

/* The service user; created (as a system user) when missing. */
static int
find_user(struct pgx *x, char *err, size_t errlen)
{
	const char *argv[] = { "useradd", "--system", "--user-group",
	    "--home-dir", "/nonexistent", "--shell", "/usr/sbin/nologin",
	    x->user, NULL };
	struct passwd *pw;
	char out[1024];
	int rc;

	if ((pw = getpwnam(x->user)) == NULL) {
		rc = run_as(x, 0, PGX_T_SHORT, NULL, out, sizeof(out), "useradd",
		    argv);
		if (rc != 0) {
			snprintf(err, errlen, "could not create the service user "
			    "\"%s\" (useradd): %s", x->user, out);
			return -1;
		}
		printf("created system user \"%s\" to run PostgreSQL\n", x->user);
		if ((pw = getpwnam(x->user)) == NULL) {
			snprintf(err, errlen, "user \"%s\" still unknown after "
			    "useradd", x->user);
			return -1;
		}
	}
	if (pw->pw_uid == 0) {
		snprintf(err, errlen, "the service user \"%s\" is root: "
		    "PostgreSQL refuses to run as root", x->user);
		return -1;
	}
	x->uid = pw->pw_uid;
	x->gid = pw->pw_gid;
	snprintf(x->home, sizeof(x->home), "%s", pw->pw_dir != NULL &&
	    *pw->pw_dir != '\0' ? pw->pw_dir : "/nonexistent");
	return 0;
}

int
pgx_init(struct pgx *x, const char *user, char *err, size_t errlen)
{
	const char *argv[] = { "pg_config", "--bindir", NULL };
	const char *env = getenv("PG_BINDIR");
	struct passwd *pw;
	char out[PATH_MAX], path[PATH_MAX + 16];
	size_t n;
	int rc;

	memset(x, 0, sizeof(*x));
	if (env != NULL && *env != '\0') {
		snprintf(x->bindir, sizeof(x->bindir), "%s", env);
	} else {
		rc = run_as(x, 0, PGX_T_SHORT, NULL, out, sizeof(out),
		    "pg_config", argv);
		if (rc != 0) {
			snprintf(err, errlen, "could not run pg_config --bindir "
			    "(install postgresql-15, or set PG_BINDIR): %s", out);
			return -1;
		}
		n = strlen(out);
		while (n > 0 && (out[n - 1] == '\n' || out[n - 1] == ' '))
			out[--n] = '\0';
		snprintf(x->bindir, sizeof(x->bindir), "%s", out);
	}
	snprintf(path, sizeof(path), "%s/pg_ctl", x->bindir);
	if (access(path, X_OK) != 0) {
		snprintf(err, errlen, "no pg_ctl in \"%s\": install the "
		    "PostgreSQL 15 server (postgresql-15) or set PG_BINDIR",
		    x->bindir);
		return -1;
	}
	if (geteuid() == 0) {
		snprintf(x->user, sizeof(x->user), "%s", user);
		x->drop = 1;
		return find_user(x, err, errlen);
	}
	/* not root: everything runs as ourselves */
	x->uid = geteuid();
	x->gid = getegid();
	pw = getpwuid(x->uid);
	snprintf(x->user, sizeof(x->user), "%s",
	    pw != NULL ? pw->pw_name : "(self)");
	return 0;
}

int
pgx_chown(const struct pgx *x, const char *path, char *err, size_t errlen)
{
	if (!x->drop)
		return 0;
	if (lchown(path, x->uid, x->gid) != 0) {
		snprintf(err, errlen, "could not chown \"%s\" to %s: %s", path,
		    x->user, strerror(errno));
		return -1;
	}
	return 0;
}

int
pgx_can(const struct pgx *x, const char *path, int mode)
{
	int status;
	pid_t pid;

	if (!x->drop)
		return access(path, mode) == 0;
	if ((pid = fork()) == -1)
		return 0;
	if (pid == 0) {
		if (setgroups(1, &x->gid) != 0 || setgid(x->gid) != 0 ||
		    setuid(x->uid) != 0)
			_exit(2);
		_exit(access(path, mode) == 0 ? 0 : 1);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return 0;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

int
pgx_running(const struct pgx *x, const char *datadir)
{
	const char *argv[] = { "pg_ctl", "-D", datadir, "status", NULL };
	char out[1024];
	int rc;

	rc = pgx_run(x, PGX_T_SHORT, NULL, out, sizeof(out), argv);
	if (rc == 0)
		return 1;
	if (rc == 3)
		return 0;
	return -1;
}

/* The last lines of file (at most 2 KB) into err after prefix. */
static void
tail_into(const char *file, const char *prefix, char *err, size_t errlen)
{
	char buf[2048];
	ssize_t n = 0;
	off_t size;
	int fd;

	snprintf(err, errlen, "%s", prefix);
	if ((fd = open(file, O_RDONLY | O_CLOEXEC)) < 0)
		return;
	size = lseek(fd, 0, SEEK_END);
	if (size > 0 && lseek(fd, size > (off_t)sizeof(buf) - 1 ?
	    size - (off_t)sizeof(buf) + 1 : 0, SEEK_SET) >= 0)
		n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return;
	buf[n] = '\0';
	snprintf(err + strlen(err), errlen - strlen(err),
	    "; last lines of %s:\n%s", file, buf);
}

int
pgx_start(const struct pgx *x, const char *datadir, const char *logfile,
    const char *sockdir, int *started, char *err, size_t errlen)
{
	const char *argv[] = { "pg_ctl", "-D", datadir, "-l", logfile, "-w",
	    "-t", "60", "-s", "start", NULL };
	char out[2048], prefix[2300];
	int fd, rc;

	*started = 0;
	if ((rc = pgx_running(x, datadir)) == 1)
		return 0;
	if (rc < 0) {
		snprintf(err, errlen, "pg_ctl status failed for \"%s\"", datadir);
		return -1;
	}
	/* the log sits outside the data directory: pg_rewind would replace it */
	if ((fd = open(logfile, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC,
	    0600)) < 0) {
		snprintf(err, errlen, "could not create \"%s\": %s", logfile,
		    strerror(errno));
		return -1;
	}
	close(fd);
	if (pgx_chown(x, logfile, err, errlen) != 0)
		return -1;
	if (sockdir != NULL) {
		if (mkdir(sockdir, 0750) != 0 && errno != EEXIST) {
			snprintf(err, errlen, "could not create \"%s\": %s",
			    sockdir, strerror(errno));
			return -1;
		}
		if (pgx_chown(x, sockdir, err, errlen) != 0)
			return -1;
	}
	rc = pgx_run(x, PGX_T_START, NULL, out, sizeof(out), argv);
	if (rc != 0) {
		snprintf(prefix, sizeof(prefix), "could not start PostgreSQL in "
		    "\"%s\" (pg_ctl %s): %s", datadir, rc == -2 ? "timed out" :
		    "failed", out);
		tail_into(logfile, prefix, err, errlen);
		return -1;
	}
	*started = 1;
	return 0;
}

int
pgx_stop(const struct pgx *x, const char *datadir, int *stopped, char *err,
    size_t errlen)
{
	const char *argv[] = { "pg_ctl", "-D", datadir, "-m", "fast", "-w",
	    "-t", "60", "-s", "stop", NULL };
	char out[2048];
	int rc;

	*stopped = 0;
	if ((rc = pgx_running(x, datadir)) == 0)
		return 0;
	if (rc < 0) {
		snprintf(err, errlen, "pg_ctl status failed for \"%s\"", datadir);
		return -1;
	}
	rc = pgx_run(x, PGX_T_START, NULL, out, sizeof(out), argv);
	if (rc != 0) {
		snprintf(err, errlen, "could not stop PostgreSQL in \"%s\" "
		    "(pg_ctl %s): %s", datadir, rc == -2 ? "timed out" : "failed",
		    out);
		return -1;
	}
	*stopped = 1;
	return 0;
}

char *
pgx_passfile_line(const char *user, const char *password)
{
	size_t len = 8 + 2 * (strlen(user) + strlen(password)) + 2, o = 0;
	const char *parts[2] = { user, password }, *s;
	char *line;
	int i;

	if ((line = malloc(len)) == NULL)
		return NULL;
	memcpy(line, "*:*:*:", 6);
	o = 6;
	for (i = 0; i < 2; i++) {
		for (s = parts[i]; *s != '\0'; s++) {
			if (*s == ':' || *s == '\\')
				line[o++] = '\\';
			line[o++] = *s;
		}
		line[o++] = i == 0 ? ':' : '\n';
	}
	line[o] = '\0';
	return line;
}

/* Write data to a new file path (mode 0600, service user's).  0 or -1. */
static int
write_secret(const struct pgx *x, const char *path, const char *data,
    char *err, size_t errlen)
{
	size_t len = strlen(data), off = 0;
	ssize_t n;
	int fd;

	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC, 0600)) < 0) {
		snprintf(err, errlen, "could not create \"%s\": %s", path,
		    strerror(errno));
		return -1;
	}
	while (off < len) {
		if ((n = write(fd, data + off, len - off)) < 0) {
			if (errno == EINTR)
				continue;
			snprintf(err, errlen, "could not write \"%s\": %s", path,
			    strerror(errno));
			close(fd);
			return -1;
		}
		off += (size_t)n;
	}
	close(fd);
	return pgx_chown(x, path, err, errlen);
}

/* Overwrite path with zeros, then remove it. */
static void
wipe_file(const char *path)
{
	char zero[512];
	struct stat st;
	off_t left;
	int fd;

	if (*path == '\0')
		return;
	if ((fd = open(path, O_WRONLY | O_NOFOLLOW | O_CLOEXEC)) >= 0) {
		memset(zero, 0, sizeof(zero));
		if (fstat(fd, &st) == 0)
			for (left = st.st_size; left > 0;
			    left -= (off_t)sizeof(zero))
				if (write(fd, zero, sizeof(zero)) < 0)
					break;
		fsync(fd);
		close(fd);
	}
	unlink(path);
}

int
pgx_secret_new(const struct pgx *x, const char *user, const char *password,
    struct pgx_secret *s, char *err, size_t errlen)
{
	char *line = NULL, *pw = NULL;
	const char *tmp = getenv("TMPDIR");
	size_t len;
	int rc = -1;

	memset(s, 0, sizeof(*s));
	if (tmp == NULL || *tmp != '/' || strlen(tmp) > 512)
		tmp = "/tmp";
	snprintf(s->dir, sizeof(s->dir), "%s/keyward-admin.XXXXXX", tmp);
	if (mkdtemp(s->dir) == NULL) {
		snprintf(err, errlen, "could not create a temporary directory "
		    "in %s: %s", tmp, strerror(errno));
		s->dir[0] = '\0';
		return -1;
	}
	if ((size_t)snprintf(s->pwfile, sizeof(s->pwfile), "%s/pw", s->dir) >=
	    sizeof(s->pwfile) || (size_t)snprintf(s->passfile,
	    sizeof(s->passfile), "%s/pgpass", s->dir) >= sizeof(s->passfile)) {
		snprintf(err, errlen, "temporary path too long");
		goto out;
	}
	snprintf(s->env, sizeof(s->env), "PGPASSFILE=%s", s->passfile);
	len = strlen(password) + 2;
	if ((pw = malloc(len)) == NULL ||
	    (line = pgx_passfile_line(user, password)) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	snprintf(pw, len, "%s\n", password);
	if (pgx_chown(x, s->dir, err, errlen) != 0 ||
	    write_secret(x, s->pwfile, pw, err, errlen) != 0 ||
	    write_secret(x, s->passfile, line, err, errlen) != 0)
		goto out;
	rc = 0;
out:
	if (pw != NULL) {
		secure_wipe(pw, len);
		free(pw);
	}
	if (line != NULL) {
		secure_wipe(line, strlen(line));
		free(line);
	}
	if (rc != 0)
		pgx_secret_free(s);
	return rc;
}

void
pgx_secret_free(struct pgx_secret *s)
{
	if (s->dir[0] == '\0')
		return;
	wipe_file(s->pwfile);
	wipe_file(s->passfile);
	rmdir(s->dir);
	memset(s, 0, sizeof(*s));
}

void
pgx_report(const char *tool, const char *what, int rc, int timeout_s,
    const char *out)
{
	const char *s, *nl;

	if (rc == -2)
		log_errx("%s%s%s did not finish within %d s", tool,
		    what != NULL ? " " : "", what != NULL ? what : "",
		    timeout_s);
	else
		log_errx("%s%s%s failed", tool, what != NULL ? " " : "",
		    what != NULL ? what : "");
	for (s = out; s != NULL && *s != '\0'; s = nl != NULL ? nl + 1 : NULL) {
		nl = strchr(s, '\n');
		if (nl != s)
			log_errx("%s: %.*s", tool, nl != NULL ? (int)(nl - s) :
			    (int)strlen(s), s);
	}
}
