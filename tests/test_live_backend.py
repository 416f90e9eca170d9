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
    print(k.userns, len(k.id_map.uids), len(k.id_map.gids))
    try:
        c.task.setuid(1000)
        print("setuid", c.task.getuid())
    except pidlab.Unsupported as e:
        print("setuid Unsupported", "userns-ids" in str(e))
    fd = k.init.pidfd_open(c.pid)
    st = k.init.fstat(fd)
    print(st.st_uid, st.st_gid, *k.file_owner(k.init, fd))
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


@pytest.fixture
def readable_src():
    """pidlab's sources where any user can read them: the checkout may be in a directory
    only its owner can enter (a clone under `mktemp -d`), so a test that runs pidlab as
    another user gives it a world-readable copy."""
    base = tempfile.mkdtemp(prefix="pidlab-src-")
    try:
        shutil.copytree(os.path.join(SRC, "pidlab"), os.path.join(base, "pidlab"),
                        ignore=shutil.ignore_patterns("__pycache__"))
        for root, dirs, files in os.walk(base):
            os.chmod(root, 0o755)
            for f in files:
                os.chmod(os.path.join(root, f), 0o644)
        if not _reachable_by(65534, os.path.join(base, "pidlab", "__init__.py")):
            pytest.skip(f"{base} cannot be reached by other users (TMPDIR={tempfile.gettempdir()})")
        yield base
    finally:
        shutil.rmtree(base, ignore_errors=True)


def _run_as(uid: int, gid: int, src: str, script: str, timeout: float = 120
            ) -> subprocess.CompletedProcess:
    python = _system_python()
    if python is None or shutil.which("setpriv") is None:
        pytest.skip("needs setpriv and a Python >= 3.11 that another user can run")
    return subprocess.run(["setpriv", f"--reuid={uid}", f"--regid={gid}", "--clear-groups",
                           "env", f"PYTHONPATH={src}", "PYTHONDONTWRITEBYTECODE=1", python,
                           "-c", script],
                          capture_output=True, text=True, timeout=timeout, cwd="/")


def test_an_unprivileged_user_gets_a_sandbox_through_a_user_namespace(readable_src):
    """As a non-root user the sandbox lives in an unprivileged user namespace, in which
    its init is uid 0; everything else works as for root.  uid 65534 has no subordinate
    ids, so the map is its one id: other uids are Unsupported, and the pidfs inode of the
    machine's root shows as the overflow ids while LiveKernel.file_owner names it 0."""
    if os.geteuid() != 0:
        pytest.skip("needs root to become an unprivileged user for the test")
    r = _run_as(65534, 65534, readable_src, UNPRIVILEGED_SCRIPT)
    if "BackendUnavailable" in r.stderr:
        assert "user namespace" in r.stderr         # the clear message, with its reason
        pytest.skip(f"unprivileged user namespaces are not allowed here: {r.stderr[-200:]}")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].split() == ["2", "0", "1", "(3,", "1)", "2"]
    assert lines[1:] == ["True 1 1", "setuid Unsupported True", "65534 65534 0 0"]


def _user_with_subordinate_ids() -> tuple[int, int, int, int] | None:
    """(uid, gid, uid count, gid count) of a user of this machine with a range in both
    /etc/subuid and /etc/subgid, when newuidmap and newgidmap are installed."""
    import pwd
    from pidlab.live import userns
    if not all(shutil.which(h) for h in userns.HELPERS.values()):
        return None
    try:
        with open("/etc/subuid") as f:
            names = [line.split(":")[0] for line in f if line.count(":") == 2]
    except OSError:
        return None
    for name in names:
        try:
            pw = pwd.getpwnam(name) if not name.isdigit() else pwd.getpwuid(int(name))
        except KeyError:
            continue
        if pw.pw_uid == 0:
            continue
        p = userns.plan(pw.pw_uid)
        if p.subids:
            return pw.pw_uid, pw.pw_gid, p.subids["uid"][1], p.subids["gid"][1]
    return None


def test_a_user_with_subordinate_ids_gets_them_mapped_by_newuidmap(readable_src):
    """With a range in /etc/subuid and /etc/subgid and shadow's newuidmap/newgidmap, the
    sandbox maps the user's own ids to 0 and the range to 1..N: set*id to small ids
    works as for root; the machine's root stays unmapped."""
    if os.geteuid() != 0:
        pytest.skip("needs root to become another user for the test")
    who = _user_with_subordinate_ids()
    if who is None:
        pytest.skip("no user here has ranges in both /etc/subuid and /etc/subgid with "
                    "newuidmap/newgidmap installed (Debian: apt-get install uidmap)")
    uid, gid, ucount, gcount = who
    r = _run_as(uid, gid, readable_src, UNPRIVILEGED_SCRIPT)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].split() == ["2", "0", "1", "(3,", "1)", "2"]
    assert lines[1:] == [f"True {1 + ucount} {1 + gcount}", "setuid 1000", "65534 65534 0 0"]


def test_a_backend_that_cannot_start_says_why_in_one_exception(monkeypatch, tmp_path):
    def leftovers() -> set[str]:
        return {p for p in os.listdir(tempfile.gettempdir()) if p.startswith("pidlab-proc-")}
    # In a directory of its own: other runs on this machine make sandboxes in /tmp too.
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
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
    from pidlab.live.agent import PACKAGE_ROOT
    c = pidlab_live.init.fork()
    t = c.task
    t.setuid(1000)
    host_uid = pidlab_live.id_map.uid_on_host(1000)     # the machine's name for uid 1000
    if _reachable_by(host_uid, sys.executable):
        if not _reachable_by(host_uid, os.path.join(PACKAGE_ROOT, "pidlab", "__init__.py")):
            pytest.skip(f"uid {host_uid} can run {sys.executable} but not read pidlab in "
                        f"{PACKAGE_ROOT}: the agent's execve would not come back")
        t.execve()
    else:
        with pytest.raises(pidlab.Unsupported, match="interpreter"):
            t.execve()
    assert (t.getpid(), t.getuid()) == (c.pid, 1000)
    t.exit_group(3)
    assert pidlab_live.init.waitpid(c.pid, 0) == (c.pid, 3 << 8)


def test_subordinate_id_files_are_read_as_shadow_reads_them(tmp_path):
    """The first "name:start:count" line for the user's name or numeric id counts;
    malformed lines and other users' are passed over (shadow's subordinateio.c)."""
    from pidlab.live.userns import _subid_range
    f = tmp_path / "subuid"
    f.write_text("alice:100000:65536\nbob:x:1\nbob:200000\n1002:300000:10\nbob:400000:5\n")
    assert _subid_range(str(f), {"alice", "1001"}) == (100000, 65536)
    assert _subid_range(str(f), {"bob", "1002"}) == (300000, 10)
    assert _subid_range(str(f), {"carol", "1003"}) is None
    assert _subid_range(str(tmp_path / "missing"), {"alice"}) is None


def test_an_id_map_names_ids_inside_and_outside_as_uid_map_does():
    from pidlab.live.userns import INITIAL, IdMap
    m = IdMap(((0, 1002, 1), (1, 165536, 65536)), ((0, 1002, 1),), True, "test")
    assert (m.maps_uid(0), m.maps_uid(65536), m.maps_uid(65537)) == (True, True, False)
    assert (m.uid_on_host(0), m.uid_on_host(1000), m.uid_on_host(65537)) == (1002, 166535, None)
    assert (m.uid_in_sandbox(1002), m.uid_in_sandbox(166535), m.uid_in_sandbox(0)) == (0, 1000, None)
    assert (m.uids, m.gids) == (range(0, 65537), range(0, 1))
    assert not m.maps_gid(1) and m.gid_on_host(0) == 1002
    assert INITIAL.maps_uid(4294967294) and not INITIAL.maps_uid(4294967295)
    assert INITIAL.uid_in_sandbox(1000) == 1000 and not INITIAL.userns


def test_roots_sandbox_stays_in_the_initial_user_namespace(pidlab_live):
    if os.geteuid() != 0:
        pytest.skip("an ordinary user's sandbox has a user namespace of its own")
    assert not pidlab_live.userns and pidlab_live.id_map.uids == range(0, 4294967295)
    fd = pidlab_live.init.pidfd_open(pidlab_live.init.fork().pid)
    st = pidlab_live.init.fstat(fd)
    assert (st.st_uid, st.st_gid) == pidlab_live.file_owner(pidlab_live.init, fd) == (0, 0)


def test_an_ordinary_users_sandbox_maps_what_the_machine_grants(pidlab_live):
    """Run as an ordinary user: the map is the user's own ids, plus the subordinate range
    where newuidmap worked; ids beyond it are Unsupported, as differences.py says."""
    if os.geteuid() == 0:
        pytest.skip("root's sandbox has no user namespace (see the setpriv tests above)")
    k = pidlab_live
    assert k.userns and k.id_map.uid_on_host(0) == os.getuid()
    assert k.id_map.gid_on_host(0) == os.getgid()
    beyond = len(k.id_map.uids)
    t = k.init.fork().task
    with pytest.raises(pidlab.Unsupported, match="userns-ids"):
        t.setuid(beyond)
    assert t.getuid() == 0
    if beyond > 1000:
        t.setresuid(1000, 1000, 1000)
        assert t.getresuid() == (1000, 1000, 1000)
