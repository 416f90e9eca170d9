"""A virtual machine of pidlab's own: one of Debian's kernels under QEMU, on this machine's files.

The guest's root is this machine's root, shared read-only over 9p, with a
tmpfs overlay on top: the same Python and the same pidlab run inside, and
nothing the guest writes reaches the host.  Its pid 1 starts the guest
server (live/guest.py), which carries out LiveKernel calls in sandboxes of
the guest; the controller here talks to it over a virtio console port.

One machine per kernel series serves the whole process (machine_for); each
LiveKernel(kernel=...) is a fresh sandbox inside it.  A machine ends:

* when the process exits (atexit), after its sandboxes are closed;
* when the process dies: QEMU has PR_SET_PDEATHSIG(SIGKILL), and the guest
  server powers the guest off when its port loses the host's end;
* when anything takes longer than its bound (boot, a call, the shutdown).

KVM: used where it works; on machines whose /dev/kvm is PVM (kvm_pvm, which
runs only PVM-built guest kernels, as on these machines), and where a KVM
boot once hung, QEMU's software emulation (TCG) runs the guest instead.
`Machine.accel` says which.
"""

from __future__ import annotations

import atexit
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from typing import Any

from ..api import BackendUnavailable, PidlabError
from . import channel
from . import images

PORT_NAME = "org.pidlab.0"
BOOT_TIMEOUT = 180.0            # software emulation on a loaded 2-core machine
CALL_TIMEOUT = 600.0            # a guest-side call is itself bounded; this is the backstop
MEMORY = "1G"

# Stage 1, the initramfs's /init (busybox sh): the host's root over 9p under a tmpfs
# overlay, then switch_root, so that the guest's root is its mount namespace's root
# (in a chroot, CLONE_NEWUSER fails with EPERM).  Stage 2 is pid 1 of the new root: it
# runs the guest server and powers the machine off when the server ends.
INITRAMFS_INIT = r"""#!/bin/sh
export PATH=/bin
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
say() { echo "pidlab-guest: $*" > /dev/console; }
die() { say "FATAL: $*"; poweroff -f; echo o > /proc/sysrq-trigger; sleep 5; }
for m in $(cat /modules); do insmod /lib/modules/$m.ko || say "insmod $m failed"; done
mount -t 9p -o ro,trans=virtio,version=9p2000.L,msize=512000,cache=loose hostroot /lower \
  || die "cannot mount the host's root"
mount -t tmpfs -o mode=0755 tmpfs /upper
mkdir -p /upper/u /upper/w
mount -t overlay -o lowerdir=/lower,upperdir=/upper/u,workdir=/upper/w overlay /newroot \
  || die "cannot mount the overlay"
mount -t proc proc /newroot/proc
mount -t sysfs sysfs /newroot/sys
mount -t devtmpfs devtmpfs /newroot/dev
mkdir -p /newroot/dev/pts /newroot/dev/shm
mount -t devpts -o newinstance,ptmxmode=0666 devpts /newroot/dev/pts
mount -t tmpfs -o mode=1777 tmpfs /newroot/dev/shm
# A private /tmp, unless pidlab itself runs from the host's /tmp (git clone . /tmp/fresh):
# then the overlay's /tmp shows the checkout, and what the guest writes there stays in RAM.
case " $(cat /proc/cmdline) " in
  *" pidlab.root=/tmp/"*|*" pidlab.python=/tmp/"*|*" pidlab.cwd=/tmp/"*) ;;
  *) mount -t tmpfs -o mode=1777 tmpfs /newroot/tmp;;
esac
mount -t tmpfs -o mode=0755 tmpfs /newroot/run
mount -t cgroup2 cgroup2 /newroot/sys/fs/cgroup 2>/dev/null
mkdir -p /newroot/run/pidlab
cp /bin/busybox /newroot/run/pidlab/busybox
cat > /newroot/run/pidlab/init2 <<'EOF'
#!/run/pidlab/busybox sh
bb=/run/pidlab/busybox
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root \
  LANG=C.UTF-8 TMPDIR=/tmp TERM=dumb
python=; root=; cwd=/
for a in $($bb cat /proc/cmdline); do
  case "$a" in
    pidlab.python=*) python=${a#*=};;
    pidlab.root=*) root=${a#*=};;
    pidlab.cwd=*) cwd=${a#*=};;
  esac
done
port=
for d in /sys/class/virtio-ports/*; do
  [ "$($bb cat $d/name 2>/dev/null)" = "org.pidlab.0" ] && port=/dev/${d##*/}
done
$bb hostname pidlab-guest
cd "$cwd" 2>/dev/null || cd /
boot='import sys, runpy; sys.path.insert(0, sys.argv.pop(1)); '
boot="$boot"'runpy.run_module("pidlab.live.guest", run_name="__main__", alter_sys=True)'
"$python" -I -c "$boot" "$root" "$port" </dev/null >/dev/console 2>&1
echo "pidlab-guest: server ended ($?)" >/dev/console
$bb sync
$bb poweroff -f
echo o > /proc/sysrq-trigger
$bb sleep 5
EOF
chmod 0755 /newroot/run/pidlab/init2
exec switch_root /newroot /run/pidlab/busybox sh /run/pidlab/init2
"""


def sweep_stale_dirs() -> list[str]:
    """Remove the directories (console log, port) of machines whose controller died
    without closing them -- killed, so that nothing of it could clean up; QEMU itself
    dies with its parent.  A directory is named after its controller's pid; only this
    user's, and only those whose controller is gone, are removed."""
    removed = []
    base = tempfile.gettempdir()
    for name in os.listdir(base):
        if not name.startswith("pidlab-vm-"):
            continue
        pid = name[len("pidlab-vm-"):].split("-", 1)[0]
        path = os.path.join(base, name)
        try:
            if not pid.isdigit() or os.lstat(path).st_uid != os.geteuid():
                continue
            os.kill(int(pid), 0)
            continue                        # its controller still runs
        except ProcessLookupError:
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
        except OSError:
            continue                        # gone meanwhile, or another user's process
    return removed


class GuestError(PidlabError):
    """The guest machine failed (boot, transport, a crash): never a result."""


def _kvm_verdict_path() -> str:
    return os.path.join(images.cache_dir(), "kvm-verdict")


def choose_accel() -> tuple[str, str]:
    """("kvm" | "tcg", why)."""
    forced = os.environ.get("PIDLAB_ACCEL")
    if forced in ("kvm", "tcg"):
        return forced, f"PIDLAB_ACCEL={forced}"
    if os.path.exists("/sys/module/kvm_pvm"):
        return "tcg", ("/dev/kvm is PVM (kvm_pvm), which runs only PVM-built guest kernels: "
                       "software emulation")
    if not os.access("/dev/kvm", os.R_OK | os.W_OK):
        return "tcg", "no usable /dev/kvm: software emulation"
    try:
        with open(_kvm_verdict_path()) as f:
            verdict = f.read().strip()
        if verdict:
            return "tcg", f"a KVM boot failed here before ({verdict}): software emulation"
    except OSError:
        pass
    return "kvm", "/dev/kvm"


class Machine:
    """One booted guest and the channel to its server."""

    def __init__(self, series: str, smp: int = 1) -> None:
        im = images.image(series)
        if im is None:
            raise BackendUnavailable(f"no {series} kernel image in {images.cache_dir()}: "
                                     f"run `{images.INSTALL_COMMAND}` to install it")
        qemu = images.qemu_binary()
        if qemu is None:
            raise BackendUnavailable("QEMU (qemu-system-x86_64) is not installed: run "
                                     f"`{images.INSTALL_COMMAND}` as root")
        self.series = series
        self.image = im
        self.smp = smp
        self._qemu = qemu
        self._lock = threading.Lock()
        self._proc: subprocess.Popen | None = None
        self._sock: socket.socket | None = None
        sweep_stale_dirs()
        self._dir = tempfile.mkdtemp(prefix=f"pidlab-vm-{os.getpid()}-")
        self.console = os.path.join(self._dir, "console.log")
        self.release = ""
        self.accel, self.accel_why = choose_accel()
        self.closed = False
        self._boot()

    # ------------------------------------------------------------------ boot

    def _cmdline(self) -> list[str]:
        from .agent import PACKAGE_ROOT
        for path in (sys.executable, PACKAGE_ROOT, os.getcwd()):
            if any(c.isspace() for c in path):
                raise BackendUnavailable(f"cannot boot a guest: {path!r} has a space, which the "
                                         "kernel command line cannot carry")
        return ["console=ttyS0", "panic=-1", "oops=panic", "quiet", "loglevel=1",
                "mitigations=off", "pidlab.guest=1", f"pidlab.python={sys.executable}",
                f"pidlab.root={PACKAGE_ROOT}", f"pidlab.cwd={os.getcwd()}"]

    def _argv(self, accel: str, sock: str) -> list[str]:
        cpu = "host" if accel == "kvm" else "max"
        accel_arg = "kvm" if accel == "kvm" else "tcg,thread=multi"
        return [self._qemu, "-accel", accel_arg, "-cpu", cpu, "-m", MEMORY,
                "-smp", str(self.smp), "-display", "none", "-no-reboot", "-nodefaults",
                "-no-user-config", "-kernel", self.image.vmlinux,
                "-initrd", images.initrd_for(self.image), "-append", " ".join(self._cmdline()),
                "-serial", f"file:{self.console}",
                "-virtfs", "local,path=/,mount_tag=hostroot,security_model=none,readonly=on,"
                           "multidevs=remap",
                "-device", "virtio-serial-pci",
                "-chardev", f"socket,id=pidlab,path={sock},server=on,wait=on",
                "-device", f"virtserialport,chardev=pidlab,name={PORT_NAME}"]

    def _boot(self) -> None:
        try:
            self._start(self.accel, BOOT_TIMEOUT if self.accel == "tcg" else 60.0)
        except GuestError as e:
            if self.accel != "kvm":
                self._stop()
                raise BackendUnavailable(f"the {self.series} guest did not boot: {e}") from None
            self._stop()
            with open(_kvm_verdict_path(), "w") as f:
                f.write(f"{time.strftime('%Y-%m-%d')}: {e}\n")
            self.accel, self.accel_why = "tcg", f"KVM failed ({e}): software emulation"
            try:
                self._start("tcg", BOOT_TIMEOUT)
            except GuestError as e2:
                self._stop()
                raise BackendUnavailable(f"the {self.series} guest did not boot: {e2}") from None

    def _start(self, accel: str, timeout: float) -> None:
        sock = os.path.join(self._dir, "port")
        deadline = time.monotonic() + timeout

        def die_with_parent() -> None:
            import ctypes
            ctypes.CDLL(None).prctl(1, signal.SIGKILL)      # PR_SET_PDEATHSIG
        self._proc = subprocess.Popen(self._argv(accel, sock), stdin=subprocess.DEVNULL,
                                      stdout=subprocess.DEVNULL,
                                      stderr=open(os.path.join(self._dir, "qemu.err"), "wb"),
                                      preexec_fn=die_with_parent)
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        while True:
            try:
                s.connect(sock)
                break
            except (FileNotFoundError, ConnectionRefusedError):
                if self._proc.poll() is not None or time.monotonic() > deadline:
                    s.close()
                    raise GuestError(f"QEMU did not start: {self._qemu_err()}")
                time.sleep(0.02)
        self._sock = s
        msg = self._recv(deadline)
        if msg[0] != "hello":
            raise GuestError(f"unexpected first message {msg[0]!r}")
        self.release = msg[1]

    def _qemu_err(self) -> str:
        try:
            with open(os.path.join(self._dir, "qemu.err"), errors="replace") as f:
                err = f.read().strip()
        except OSError:
            err = ""
        return err[-400:] or f"exit status {self._proc.poll() if self._proc else '?'}"

    def console_tail(self, n: int = 2000) -> str:
        try:
            with open(self.console, errors="replace") as f:
                return f.read()[-n:]
        except OSError:
            return ""

    # ------------------------------------------------------------------ transport

    def _recv_bytes(self, deadline: float) -> bytes:
        import select
        s = self._sock
        assert s is not None
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise GuestError(f"the guest did not answer in time; console: "
                                 f"{self.console_tail(600)}")
            r, _, _ = select.select([s], [], [], min(left, 0.5))
            if r:
                try:
                    return channel.recv_bytes(s.fileno())
                except EOFError:
                    raise GuestError(f"the guest went away; console: {self.console_tail(600)}") \
                        from None
            if self._proc is not None and self._proc.poll() is not None:
                raise GuestError(f"QEMU exited ({self._qemu_err()}); console: "
                                 f"{self.console_tail(600)}")

    def _recv(self, deadline: float) -> Any:
        import pickle
        return pickle.loads(self._recv_bytes(deadline))

    def request(self, data: bytes, timeout: float = CALL_TIMEOUT) -> bytes:
        """Send one pickled request and return the guest's pickled reply (one at a time)."""
        with self._lock:
            if self.closed or self._sock is None:
                raise GuestError(f"the {self.series} guest is shut down")
            try:
                channel.send_bytes(self._sock.fileno(), data)
            except OSError as e:
                raise GuestError(f"cannot reach the guest: {e}") from None
            return self._recv_bytes(time.monotonic() + timeout)

    # ------------------------------------------------------------------ shutdown

    def shutdown(self) -> None:
        if self.closed:
            return
        self.closed = True
        with self._lock:
            if self._sock is not None:
                try:
                    channel.send(self._sock.fileno(), ("shutdown",))
                except OSError:
                    pass
        self._stop()

    def _stop(self) -> None:
        if self._sock is not None:
            self._sock.close()          # the guest sees its port's host end go: it powers off
            self._sock = None
        p = self._proc
        if p is not None:
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()                # our own child, by its Popen
                p.wait(timeout=10)
            self._proc = None
        shutil.rmtree(self._dir, ignore_errors=True)

    def __repr__(self) -> str:
        state = "shut down" if self.closed else f"{self.release}, {self.accel}"
        return f"<pidlab Machine {self.series} ({state})>"


_machines: dict[str, Machine] = {}
_machines_lock = threading.Lock()


def machine_for(series: str) -> Machine:
    """The process's machine for a kernel series, booted on first use."""
    with _machines_lock:
        m = _machines.get(series)
        if m is None or m.closed:
            m = Machine(series)
            _machines[series] = m
        return m


def running() -> list[Machine]:
    with _machines_lock:
        return [m for m in _machines.values() if not m.closed]


@atexit.register
def shutdown_all() -> None:
    with _machines_lock:
        ms = list(_machines.values())
        _machines.clear()
    for m in ms:
        try:
            m.shutdown()
        except Exception:       # noqa: BLE001 -- at exit, every machine must get its turn
            pass
