"""A throwaway root for installing the keyward package: this machine's own
root file system under an overlay (writes go to a temporary directory), in
a private mount and PID namespace, chrooted.  dpkg, users, /etc and /var
changed inside it are gone when it is closed, and every process started in
it dies with it (the namespace's init is killed).  The host is untouched.

Needs root (mount, unshare), util-linux's unshare and nsenter, and a kernel
with overlayfs.
"""

import os
import shutil
import signal
import subprocess
import tempfile
import time

# /share inside the root is <tmp>/share outside: files and sockets in and out
SHARE = "/kwshare"

_HOLDER = r"""
set -eu
t=$1
m=$t/merged
mount -t overlay overlay -o lowerdir=/,upperdir=$t/upper,workdir=$t/work "$m"
mount -t proc proc "$m/proc"
mount --rbind /dev "$m/dev"
mount --rbind /sys "$m/sys"
mount -t tmpfs -o mode=0755 tmpfs "$m/run"
mount -t tmpfs -o mode=1777 tmpfs "$m/tmp"
mkdir -p "$m%(share)s"
mount --bind "$t/share" "$m%(share)s"
echo ready
exec chroot "$m" /bin/sleep %(life)d
""" % {"share": SHARE, "life": 1800}

ENV = {
    "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "LANG": "C.UTF-8",
    "HOME": "/root",
    "DEBIAN_FRONTEND": "noninteractive",
}


class Root:
    def __init__(self):
        self.tmp = tempfile.mkdtemp(prefix="keyward-troot-")
        for d in ("upper", "work", "merged", "share"):
            os.mkdir(os.path.join(self.tmp, d))
        os.chmod(os.path.join(self.tmp, "share"), 0o755)
        self.share = os.path.join(self.tmp, "share")
        self.holder = subprocess.Popen(
            ["unshare", "--mount", "--pid", "--fork", "--propagation",
             "private", "--kill-child", "sh", "-c", _HOLDER, "holder",
             self.tmp],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, start_new_session=True)
        line = self.holder.stdout.readline().decode().strip()
        if line != "ready":
            err = self.holder.stderr.read().decode("utf-8", "replace")
            self.close()
            raise RuntimeError("could not make the throwaway root: %s" % err)
        self.init_pid = self._child_of(self.holder.pid)

    @staticmethod
    def _child_of(pid):
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
                kids = f.read().split()
            if kids:
                return int(kids[0])
            time.sleep(0.05)
        raise RuntimeError("the throwaway root's init did not appear")

    def argv(self, cmd):
        # nsenter's own -r is undone by entering the mount namespace here
        return ["nsenter", "-t", str(self.init_pid), "-m", "-p", "--",
                "chroot", os.path.join(self.tmp, "merged"),
                "/usr/bin/env", "-i"] + \
            ["%s=%s" % kv for kv in sorted(ENV.items())] + list(cmd)

    def run(self, cmd, timeout=300, check=True, env=None):
        """Run cmd (a list) as root inside; (rc, stdout, stderr) as text.
        env adds variables.  check: fail with the output on rc != 0."""
        if env:
            cmd = ["/usr/bin/env"] + ["%s=%s" % kv for kv in env.items()] + cmd
        p = subprocess.run(self.argv(cmd), stdin=subprocess.DEVNULL,
                           capture_output=True, timeout=timeout)
        out = p.stdout.decode("utf-8", "replace")
        err = p.stderr.decode("utf-8", "replace")
        if check and p.returncode != 0:
            raise AssertionError("%s exited %d\nstdout:\n%s\nstderr:\n%s"
                                 % (" ".join(cmd), p.returncode, out, err))
        return p.returncode, out, err

    def popen(self, cmd, log, env=None):
        """Start cmd inside in the background, output to log (a host path)."""
        if env:
            cmd = ["/usr/bin/env"] + ["%s=%s" % kv for kv in env.items()] + cmd
        with open(log, "ab") as f:
            return subprocess.Popen(self.argv(cmd), stdin=subprocess.DEVNULL,
                                    stdout=f, stderr=f)

    def path(self, p):
        """The host path of a file the root changed (its overlay upper)."""
        return os.path.join(self.tmp, "upper", p.lstrip("/"))

    def close(self):
        if getattr(self, "init_pid", None):
            try:
                os.kill(self.init_pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if self.holder.poll() is None:
            try:
                self.holder.wait(20)
            except subprocess.TimeoutExpired:
                self.holder.kill()
                self.holder.wait(20)
        self.holder.stdout.close()
        self.holder.stderr.close()
        # the mounts lived only in the namespace: merged is an empty
        # directory here
        if not os.listdir(os.path.join(self.tmp, "merged")):
            shutil.rmtree(self.tmp, ignore_errors=True)
