"""The virtual machines: Debian's 6.1 and 6.12 kernels booted under QEMU as live oracles.

These tests need `make kernels` (QEMU and the kernel images); without them they
skip, naming that command.  One machine per kernel serves the whole session.
"""

from __future__ import annotations

import glob
import os
import signal
import subprocess
import sys
import tempfile
import time

import pytest

import pidlab
from pidlab.live import images, machine

SERIES = tuple(images.SERIES)


def _need(series: str) -> None:
    if images.qemu_binary() is None:
        pytest.skip(f"QEMU is not installed: run `{images.INSTALL_COMMAND}` as root")
    if images.image(series) is None:
        pytest.skip(f"no {series} kernel image: run `{images.INSTALL_COMMAND}`")


def _live(series: str, **kw):
    _need(series)
    return pidlab.LiveKernel(kernel=series, **kw)


@pytest.mark.parametrize("series", SERIES)
def test_a_guest_runs_the_kernel_of_its_series(series):
    with _live(series) as k:
        assert k.release == images.image(series).release
        assert k.version.startswith(series + ".")
        m = k.machine
        assert m.accel in ("kvm", "tcg") and m.accel_why
        assert k.init.getpid() == 1
        c = k.init.fork()
        assert c.pid == 2 and c.task.getppid() == 1


@pytest.mark.parametrize("series", SERIES)
def test_pid_max_is_one_value_for_the_whole_machine_before_614(series):
    """versions.md: written in a child pid namespace, pid_max changes the machine's value
    on 6.1 and 6.12; the probe must find that out without writing."""
    with _live(series) as k:
        assert not k.pid_max_scope.per_namespace, k.pid_max_scope.how
        assert "unknown" not in k.pid_max_scope.how


@pytest.mark.parametrize("series", SERIES)
def test_in_pidlabs_guest_a_machine_wide_pid_max_comes_back_when_the_sandbox_closes(series):
    with _live(series) as k:
        before = k.machine_sysctl("kernel/pid_max")
        assert k.pid_max_writable
        # One below the machine's: a small value would leave the guest's root namespace,
        # whose cursor is long past RESERVED_PIDS, no number for the second sandbox.
        value = str(int(before) - 1)
        k.init.write_text("/proc/sys/kernel/pid_max", value)
        assert k.machine_sysctl("kernel/pid_max") == value     # it was the machine's
        other = pidlab.LiveKernel(kernel=series)                 # open at the same time:
        assert other.init.read_text("/proc/sys/kernel/pid_max").strip() == value   # shared
        other.close()
        assert k.machine_sysctl("kernel/pid_max") == value     # one sandbox still open
    with _live(series, host_rules=True) as k:
        assert k.machine_sysctl("kernel/pid_max") == before


@pytest.mark.parametrize("series", SERIES)
def test_with_a_hosts_rules_a_machine_wide_pid_max_is_never_written(series):
    """What a user's pre-6.14 host gets: the sandbox keeps the machine's value and refuses
    a scenario's write, so the machine's value cannot change."""
    with _live(series, host_rules=True) as k:
        before = k.machine_sysctl("kernel/pid_max")
        assert not k.pid_max_writable
        assert k.pid_max_default == int(before)
        with pytest.raises(pidlab.Unsupported, match="whole machine"):
            k.init.write_text("/proc/sys/kernel/pid_max", "301")
        with pytest.raises(pidlab.Unsupported):
            k.init.write_text("/proc/self/../sys/kernel/pid_max", "301")
        k.init.write_text("/proc/sys/kernel/ns_last_pid", "400")    # per namespace: its own
        assert k.init.fork().pid == 401
        assert k.machine_sysctl("kernel/pid_max") == before
    with _live(series, host_rules=True) as k:
        assert k.machine_sysctl("kernel/pid_max") == before


def test_an_unknown_kernel_is_refused_naming_what_there_is():
    with pytest.raises(pidlab.BackendUnavailable, match="6.12"):
        pidlab.LiveKernel(kernel="5.4")
    with pytest.raises(TypeError):
        pidlab.LiveKernel(kernel=6.12)


def test_a_missing_image_names_the_command_that_installs_it(monkeypatch, tmp_path):
    monkeypatch.setenv("PIDLAB_CACHE", str(tmp_path))
    monkeypatch.setattr(machine, "_machines", {})
    with pytest.raises(pidlab.BackendUnavailable, match="make kernels"):
        pidlab.LiveKernel(kernel="6.12")


CRASH = """
import os, sys, time
sys.path.insert(0, sys.argv[1])
import pidlab
from pidlab.live import machine
k = pidlab.LiveKernel(kernel=sys.argv[2])
print(machine.running()[0]._proc.pid, flush=True)
time.sleep(120)
"""


@pytest.mark.parametrize("series", SERIES[-1:])
def test_no_machine_is_left_behind_when_its_controller_is_killed(series):
    _need(series)
    src = os.path.dirname(os.path.dirname(pidlab.__file__))
    p = subprocess.Popen([sys.executable, "-c", CRASH, src, series], stdout=subprocess.PIPE,
                         text=True)
    try:
        line = p.stdout.readline()
        assert line.strip().isdigit(), line
        qemu = int(line)
        os.kill(p.pid, signal.SIGKILL)         # our own child
        p.wait(timeout=10)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and _alive(qemu):
            time.sleep(0.1)
        assert not _alive(qemu), "QEMU outlived its controller"
        # Its directory (console log, port) could not be removed by a killed process:
        # the next machine of this user sweeps it away.
        left = glob.glob(os.path.join(tempfile.gettempdir(), f"pidlab-vm-{p.pid}-*"))
        assert left, "the killed controller's machine had no directory of its own"
        assert set(left) <= set(machine.sweep_stale_dirs())
        assert not any(os.path.exists(d) for d in left)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait(timeout=10)


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_a_machine_that_is_shut_down_leaves_no_qemu(tmp_path):
    _need(SERIES[-1])
    m = machine.Machine(SERIES[-1])
    pid = m._proc.pid
    assert _alive(pid)
    m.shutdown()
    assert not _alive(pid)
    assert not os.path.exists(m.console)
