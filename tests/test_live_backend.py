"""The live backend's promises beyond the scenarios: how it starts, as whom, and how it fails."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile

import pytest

import pidlab

SRC = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "src")

UNPRIVILEGED_SCRIPT = """
import pidlab
with pidlab.LiveKernel() as k:
    c = k.init.fork()
    ns = k.init.clone(pidlab.CLONE_NEWPID)
    c.task.execve()
    print(c.pid, k.init.getuid(), ns.task.getpid(), ns.task.numbers, c.task.getpid())
"""


def _system_python() -> str | None:
    """A Python >= 3.11 that an unprivileged user can run (the venv's may live under /root)."""
    for cand in ("/usr/bin/python3", "/usr/local/bin/python3"):
        if os.path.exists(cand):
            r = subprocess.run([cand, "-c", "import sys; print(sys.version_info >= (3, 11))"],
                               capture_output=True, text=True)
            if r.stdout.strip() == "True":
                return cand
    return None


def test_an_unprivileged_user_gets_a_sandbox_through_a_user_namespace():
    """As a non-root user the sandbox lives in an unprivileged user namespace, in which
    its init is uid 0; everything else works as for root."""
    if os.geteuid() != 0:
        pytest.skip("needs root to become an unprivileged user for the test")
    python = _system_python()
    if python is None or shutil.which("setpriv") is None:
        pytest.skip("needs setpriv and a Python >= 3.11 that uid 65534 can run")
    r = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                        "env", f"PYTHONPATH={SRC}", python, "-c", UNPRIVILEGED_SCRIPT],
                       capture_output=True, text=True, timeout=120, cwd="/")
    if "BackendUnavailable" in r.stderr:
        assert "user namespace" in r.stderr         # the clear message, with its reason
        pytest.skip(f"unprivileged user namespaces are not allowed here: {r.stderr[-200:]}")
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["2", "0", "1", "(3,", "1)", "2"]


def test_a_backend_that_cannot_start_says_why_in_one_exception(monkeypatch, tmp_path):
    def leftovers() -> set[str]:
        return {p for p in os.listdir(tempfile.gettempdir()) if p.startswith("pidlab-proc-")}
    before = leftovers()
    missing = str(tmp_path / "no-python")
    monkeypatch.setattr(sys, "executable", missing)
    with pytest.raises(pidlab.BackendUnavailable) as info:
        pidlab.LiveKernel()
    assert missing in str(info.value)
    assert leftovers() <= before                    # nothing left behind in /tmp


def test_close_leaves_no_process_behind():
    try:
        k = pidlab.LiveKernel()
    except pidlab.BackendUnavailable as e:
        pytest.skip(str(e))
    with k:
        ns = k.init.clone(pidlab.CLONE_NEWPID)
        ns.task.fork()
        k.init.fork().task.spawn_thread()
        hosts = [a.host_pid for a in k._agents]
    for pid in hosts:
        assert not os.path.exists(f"/proc/{pid}"), f"host pid {pid} outlived close()"


CHILD_SCRIPT = """
import os, sys, time
import pidlab
k = pidlab.LiveKernel()
ns = k.init.clone(pidlab.CLONE_NEWPID)
ns.task.fork()
k.init.fork().task.spawn_thread()
print(" ".join(str(a.host_pid) for a in k._agents), flush=True)
if sys.argv[1] == "crash":
    time.sleep(60)          # killed with SIGKILL by the test before this ends
"""


def _gone(pids: list[int], timeout: float = 15.0) -> list[int]:
    """The pids still alive after waiting up to `timeout` seconds."""
    import time
    deadline = time.monotonic() + timeout
    left = pids
    while left and time.monotonic() < deadline:
        left = [p for p in left if os.path.exists(f"/proc/{p}")]
        time.sleep(0.05)
    return left


@pytest.mark.parametrize("how", ["exit", "crash"])
def test_the_sandbox_dies_with_its_controller(how, tmp_path):
    """Interpreter exit without close() and a SIGKILLed controller both leave no process."""
    try:
        pidlab.LiveKernel().close()
    except pidlab.BackendUnavailable as e:
        pytest.skip(str(e))
    # A killed controller cannot remove its procfs directory: keep it in pytest's tmp_path.
    proc = subprocess.Popen([sys.executable, "-c", CHILD_SCRIPT, how], stdout=subprocess.PIPE,
                            text=True, env=dict(os.environ, TMPDIR=str(tmp_path)))
    line = proc.stdout.readline()
    pids = [int(x) for x in line.split()]
    assert len(pids) >= 4, line
    if how == "crash":
        proc.kill()
    proc.wait(timeout=60)
    assert _gone(pids) == []


@pytest.mark.parametrize("path", ["/proc/self/root{victim}", "/proc/1/root{victim}",
                                  "/proc/self/task/1/root{victim}", "/proc/self/cwd/x",
                                  "/proc/self/fd/0", "/proc/self/root/proc/sys/kernel/core_pattern",
                                  "{victim}"])
def test_no_write_reaches_a_file_of_the_host(path, tmp_path):
    """The sandbox's procfs offers ways out (/proc/<pid>/root, cwd, fd/N): the live backend
    writes through none of them, neither with write_text nor with open(O_WRONLY/O_CREAT)."""
    try:
        k = pidlab.LiveKernel()
    except pidlab.BackendUnavailable as e:
        pytest.skip(str(e))
    victim = tmp_path / "victim"
    victim.write_text("original\n")
    path = path.format(victim=victim)
    with k:
        with pytest.raises(pidlab.Unsupported):
            k.init.write_text(path, "overwritten\n")
        with pytest.raises(pidlab.Unsupported):
            k.init.open(path, pidlab.O_WRONLY | pidlab.O_TRUNC)
        # (procfs itself refuses to create "/proc/self/fd/0-new": ENOENT)
        with pytest.raises((pidlab.Unsupported, FileNotFoundError)):
            k.init.open(path + "-new", pidlab.O_WRONLY | pidlab.O_CREAT)
    assert victim.read_text() == "original\n"
    assert not os.path.exists(str(victim) + "-new")


@pytest.mark.parametrize("text, n", [("0\n", 1), ("0-1\n", 2), ("0-3,8-11\n", 8), ("0,2,4-5\n", 4)])
def test_the_sandbox_counts_possible_cpus_as_the_pid_max_formula_does(tmp_path, text, n):
    from pidlab.live.kernel import possible_cpus
    f = tmp_path / "possible"
    f.write_text(text)
    assert possible_cpus(str(f)) == n


def test_the_sandbox_pid_max_follows_this_machines_possible_cpus():
    from pidlab.live.kernel import possible_cpus
    try:
        k = pidlab.LiveKernel()
    except pidlab.BackendUnavailable as e:
        pytest.skip(str(e))
    with k:
        want = min(4194304, max(32768, 1024 * possible_cpus()))
        assert int(k.init.read_text("/proc/sys/kernel/pid_max")) == want


def _reachable_by(uid: int, path: str) -> bool:
    """Can `uid` (no capabilities) search every directory on the way to `path`?"""
    d = os.path.dirname(os.path.realpath(path))
    while True:
        st = os.stat(d)
        bits = 0o100 if st.st_uid == uid else 0o001
        if not st.st_mode & bits:
            return False
        if d == "/":
            return True
        d = os.path.dirname(d)


def test_an_execve_the_agent_cannot_make_is_unsupported_and_leaves_the_task_as_it_was(pidlab_live):
    """pidlab's execve is a successful one: when the task's ids cannot reach the
    backend's interpreter, the backend says so instead of inventing an errno."""
    c = pidlab_live.init.fork()
    t = c.task
    t.setuid(1000)
    if _reachable_by(1000, sys.executable):
        t.execve()
    else:
        with pytest.raises(pidlab.Unsupported, match="interpreter"):
            t.execve()
    assert (t.getpid(), t.getuid()) == (c.pid, 1000)
    t.exit_group(3)
    assert pidlab_live.init.waitpid(c.pid, 0) == (c.pid, 3 << 8)
