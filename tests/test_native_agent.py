"""LiveKernel(agent="native"): the C agent answers as the Python agent and the model do.

The conformance scenarios also run on it (`make test`'s native pass: every scenario whose
calls it makes passes, the others skip as unsupported).  Here: its own promises -- the
same results call for call, the calls it refuses change nothing, its build and its
cache, and nothing left behind -- on this machine's kernel and on the guests'.
"""

from __future__ import annotations

import errno
import os
import stat

import pytest

import pidlab
from pidlab import (CLONE_NEWPID, P_ALL, P_PID, P_PIDFD, SIGCHLD, SIGKILL, SIGTERM, WEXITED,
                    WNOHANG)
from pidlab.live import native

GUESTS = ("6.1", "6.12")


def _live(kernel: str | None, agent: str):
    try:
        return pidlab.LiveKernel(agent=agent) if kernel is None else \
            pidlab.LiveKernel(kernel=kernel, agent=agent)
    except pidlab.BackendUnavailable as e:
        pytest.skip(f"live backend {kernel or 'of this machine'} unavailable: {e}")


def _err(fn, *args):
    try:
        return ("ok", fn(*args))
    except OSError as e:
        return ("err", errno.errorcode.get(e.errno, e.errno))
    except pidlab.WouldBlock:
        return ("blocks",)


def lifecycle(k) -> list:
    """Every kind of call the native agent makes, with its results (pidfds by their number)."""
    out = []
    ns = k.init.clone(CLONE_NEWPID)
    t = ns.task
    out.append(("ns", ns.pid, t.getpid(), t.getppid()))
    a = t.fork()
    b = t.clone(0, exit_signal=SIGCHLD, pidfd=True)
    out.append(("children", a.pid, a.task.getpid(), a.task.getppid(), b.pid, b.pidfd is not None))
    out.append(("block", _err(t.waitpid, a.pid, 0)))
    out.append(("nohang", t.waitpid(-1, WNOHANG)))
    out.append(("waitid nohang", t.waitid(P_ALL, 0, WEXITED | WNOHANG)))
    a.task.exit_group(7)
    out.append(("reaped", t.waitpid(a.pid, 0)))
    out.append(("echild", _err(t.waitpid, a.pid, 0)))
    out.append(("kill-bad-signal", _err(t.kill, b.pid, 99)))
    out.append(("pidfd_send_signal", _err(t.pidfd_send_signal, b.pidfd, SIGTERM)))
    w = t.waitid(P_PIDFD, b.pidfd, WEXITED)
    out.append(("waitid pidfd", w.si_pid, w.si_signo, w.si_status, w.si_code))
    out.append(("close", _err(t.close, b.pidfd), _err(t.close, b.pidfd)))
    # Reparenting: the orphan's parent is the namespace's init, which reaps it.
    c = t.fork()
    g = c.task.fork()
    c.task.exit_group(0)
    t.waitpid(c.pid, 0)
    out.append(("orphan", g.task.getppid()))
    fd = t.pidfd_open(g.pid)
    out.append(("pidfd_open", fd >= 0, _err(t.pidfd_open, 4000), _err(t.pidfd_open, g.pid, 1)))
    t.kill(g.pid, SIGKILL)
    w = t.waitid(P_PID, g.pid, WEXITED)
    out.append(("killed", w.si_pid, w.si_signo, w.si_status, w.si_code))
    # Sessions, process groups, the subreaper, and a nested namespace by unshare.
    s = t.fork()
    out.append(("setsid", s.task.setsid(), s.task.getsid(), s.task.getpgid(),
                _err(s.task.setsid)))
    out.append(("setpgid", _err(t.setpgid, s.pid, s.pid), _err(t.setpgid, 9999, 0)))
    out.append(("subreaper", s.task.prctl(pidlab.PR_SET_CHILD_SUBREAPER, 1),
                s.task.prctl(pidlab.PR_GET_CHILD_SUBREAPER)))
    s.task.unshare(CLONE_NEWPID)
    inner = s.task.fork()
    out.append(("unshared", inner.pid, inner.task.getpid(), inner.task.getppid()))
    inner.task.exit(3)
    out.append(("inner reaped", s.task.waitpid(inner.pid, 0)))
    out.append(("bad options", _err(t.waitpid, -1, 0x100)))
    s.task.exit_group(0)
    out.append(("last", t.waitpid(-1, 0), _err(t.waitpid, -1, 0)))
    return out


@pytest.fixture(scope="module")
def model_trace():
    return lifecycle(pidlab.Kernel())


@pytest.mark.parametrize("kernel", [None, *GUESTS], ids=["host", *GUESTS])
def test_the_native_agent_answers_as_the_python_agent_and_the_model(kernel, model_trace):
    with _live(kernel, "native") as k:
        version = k.version
        fast = lifecycle(k)
    with _live(kernel, "python") as k:
        slow = lifecycle(k)
    model = lifecycle(pidlab.Kernel(version=version)) if kernel else model_trace
    assert fast == slow
    assert fast == model


def test_a_call_it_cannot_make_is_refused_before_anything_is_sent():
    with _live(None, "native") as k:
        c = k.init.fork()
        before = [(t.numbers, t.getpid()) for t in k.tasks()]
        for call in (lambda: c.task.read_text("/proc/self/status"),
                     lambda: c.task.spawn_thread(),
                     lambda: c.task.clone(pidlab.CLONE_VFORK),
                     lambda: c.task.clone(0, set_tid=[50]),
                     lambda: c.task.execve("/bin/true"),
                     lambda: c.task.prctl(pidlab.PR_SET_NAME, "x"),
                     lambda: c.task.pidfd_get_info(0)):
            with pytest.raises(pidlab.Unsupported, match="native agent"):
                call()
        assert [(t.numbers, t.getpid()) for t in k.tasks()] == before
        c.task.exit_group(0)
        assert k.init.waitpid(c.pid, 0) == (c.pid, 0)


@pytest.mark.parametrize("agent, exc", [(1, TypeError), (None, TypeError), ("c", ValueError),
                                        ("Native", ValueError)])
def test_a_wrong_agent_is_refused_before_a_sandbox_starts(agent, exc, monkeypatch):
    from pidlab.live import kernel as live_kernel

    def no_sandbox(*a, **kw):
        raise AssertionError("a sandbox was started")
    monkeypatch.setattr(live_kernel.tempfile, "mkdtemp", no_sandbox)
    monkeypatch.setattr(live_kernel.subprocess, "Popen", no_sandbox)
    with pytest.raises(exc, match="agent"):
        pidlab.LiveKernel(agent=agent)
    with pytest.raises(exc, match="agent"):
        pidlab.LiveKernel(kernel="6.12", agent=agent)


def test_its_processes_are_gone_when_the_sandbox_closes():
    k = _live(None, "native")
    with k:
        ns = k.init.clone(CLONE_NEWPID).task
        kids = [ns.fork() for _ in range(5)]
        hosts = [t._a.host_pid for t in (k.init, ns, *(c.task for c in kids))]
        assert all(os.path.exists(f"/proc/{p}") for p in hosts)
    assert [p for p in hosts if os.path.exists(f"/proc/{p}")] == []


@pytest.fixture
def empty_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("TMPDIR", str(tmp_path / "tmp"))
    os.makedirs(tmp_path / "tmp")
    monkeypatch.setattr(native.tempfile, "tempdir", None)
    monkeypatch.setattr(native, "_binary", None)
    return tmp_path


def test_without_a_compiler_the_native_agent_is_unavailable_and_says_how(empty_cache,
                                                                         monkeypatch):
    monkeypatch.setattr(native.shutil, "which", lambda name: None)
    with pytest.raises(pidlab.BackendUnavailable, match="gcc"):
        native.binary()
    with pytest.raises(pidlab.BackendUnavailable, match="gcc"):
        pidlab.LiveKernel(agent="native")


def test_the_build_is_cached_by_the_source_and_an_untrusted_file_is_not_run(empty_cache,
                                                                         monkeypatch):
    if not (native.shutil.which("gcc") or native.shutil.which("cc")):
        pytest.skip("no C compiler here to build the native agent")
    path = native.binary()
    assert path.startswith(str(empty_cache / "xdg" / "pidlab")) and native._trusted(path)
    runs = []
    real_run = native.subprocess.run
    monkeypatch.setattr(native.subprocess, "run", lambda *a, **kw: runs.append(a) or real_run(*a, **kw))
    monkeypatch.setattr(native, "_binary", None)
    assert native.binary() == path and runs == []           # the cache's, not built again
    os.chmod(path, 0o777)                                    # anyone could have replaced it
    monkeypatch.setattr(native, "_binary", None)
    assert native.binary() == path and len(runs) == 1        # built again
    assert not os.stat(path).st_mode & (stat.S_IWGRP | stat.S_IWOTH)
