"""Kernel versions as sets of upstream changes, and the commands that tell them apart."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest

import pidlab
from pidlab import features as F
from pidlab import versions

PIDH_COMMITS = ("pidfd: add pidfs", "pidfs: convert to path_from_stashed() helper",
                "pidfs: remove config option", "pid: allow pid_max to be set per pid namespace",
                "pidfs: lookup pid through rbtree",
                "pid: perform free_pid() calls outside of tasklist_lock",
                "pidfs: get rid of __pidfd_prepare()", "pidfs: move to anonymous struct",
                "pidfs: persist information",
                "pidfd: implement PIDFD_THREAD flag for pidfd_open()")


def test_every_version_from_61_to_619_is_known_oldest_first_and_618_is_the_default():
    assert pidlab.KERNEL_VERSIONS[0] == "6.1" and pidlab.KERNEL_VERSIONS[-1] == "6.19"
    assert len(pidlab.KERNEL_VERSIONS) == 19
    assert pidlab.Kernel().version == "6.18" == pidlab.DEFAULT_VERSION


def test_every_commit_of_pid_h_from_69_to_619_is_a_change_record():
    titles = {c.title for c in pidlab.changes()}
    for title in PIDH_COMMITS:
        assert title in titles, title


def test_change_records_are_frozen_complete_and_oldest_first():
    cs = pidlab.changes()
    keys = [c.key for c in cs]
    assert len(set(keys)) == len(keys)
    order = [versions._series_key(c.version) for c in cs]
    assert order == sorted(order)
    for c in cs:
        assert re.fullmatch(r"[0-9a-f]{12,40}", c.commit), c
        assert c.title and c.effect and c.evidence, c
        assert c.kind in ("behaviour", "refactor", "concurrency", "unmodelled"), c
        for r in c.requires:
            assert r in keys[:keys.index(c.key)] or \
                versions._series_key(versions.by_key()[r].version) <= \
                versions._series_key(c.version), (c.key, r)
    with pytest.raises(Exception):
        cs[0].key = "x"                                         # frozen


@pytest.mark.parametrize("version", pidlab.KERNEL_VERSIONS)
def test_every_version_runs_and_holds_its_invariants(version):
    k = pidlab.Kernel(version=version)
    c = k.init.fork()
    c.task.exit_group(0)
    assert k.init.waitpid(c.pid, 0) == (c.pid, 0)
    k.check()
    assert k.version == version


def test_a_version_is_its_changes_up_to_it():
    assert not pidlab.Kernel(version="6.1").has("pidfs")
    assert pidlab.Kernel(version="6.9").has("pidfs")
    assert not pidlab.Kernel(version="6.16").has("pidfs-xattr")
    assert pidlab.Kernel(version="6.17").has("pidfs-xattr")


@pytest.mark.parametrize("version, has", [("6.18", True), ("6.18.44", True), ("6.18.14", True),
                                          ("6.18.13", False), ("6.18.0", False),
                                          ("6.19.3", False), ("6.19.4", True), ("6.17", False)])
def test_a_stable_backport_counts_from_its_sublevel(version, has):
    """EREMOTE (7.0, ab89060fbc92) reached 6.18.14 and 6.19.4; "6.18" is the series as
    pidlab knows it, every recorded backport included."""
    assert pidlab.Kernel(version=version).has("pidfd-info-eremote") is has


def test_one_change_can_be_switched_on_or_off():
    k = pidlab.Kernel(version="6.16", changes={"pidfs-xattr": True})
    assert k.has("pidfs-xattr") and k.version == "6.16"
    fd = k.init.pidfd_open(1)
    k.init.fsetxattr(fd, "trusted.x", b"1")
    assert k.init.fgetxattr(fd, "trusted.x") == b"1"
    off = pidlab.Kernel(changes={"pidfd-info-eremote": False})
    assert not off.has("pidfd-info-eremote")


@pytest.mark.parametrize("kwargs, message", [
    ({"version": "7.0"}, "6.1 to 6.19"), ({"version": "5.15"}, "6.1 to 6.19"),
    ({"version": "6.x"}, "not a kernel version"), ({"version": ""}, "not a kernel version"),
    ({"changes": {"no-such-change": True}}, "unknown change"),
    ({"version": "6.12", "changes": {"pidfs-persist": True}}, "cannot be on without"),
    ({"changes": {"pidfs": False}}, "cannot be on without"),
])
def test_what_cannot_be_is_a_valueerror_naming_it(kwargs, message):
    with pytest.raises(ValueError, match=message):
        pidlab.Kernel(**kwargs)


def test_wrong_types_are_typeerrors():
    with pytest.raises(TypeError):
        pidlab.Kernel(version=6.12)
    with pytest.raises(TypeError):
        pidlab.Kernel(changes={"pidfs": 1})
    with pytest.raises(TypeError):
        pidlab.Kernel(changes=["pidfs"])


def test_has_answers_for_known_keys_only_on_the_live_kernel_too():
    try:
        k = pidlab.LiveKernel()
    except pidlab.BackendUnavailable as e:
        pytest.skip(f"live backend unavailable: {e}")
    with k:
        assert re.fullmatch(r"\d+\.\d+\.\d+", k.version)
        if k.changes is None:
            pytest.skip(f"the model knows no Linux {k.version}")
        assert k.has("pidfs") == ("pidfs" in versions.changeset(k.version))
        with pytest.raises(ValueError):
            k.has("no-such-change")


@pytest.mark.parametrize("uname, want", [
    (("Linux", "h", "6.1.0-57-amd64", "#1 SMP PREEMPT_DYNAMIC Debian 6.1.192-3 (2025-12-14)",
      "x86_64"), "6.1.192"),
    (("Linux", "h", "6.12.117+deb12-amd64", "#1 SMP PREEMPT_DYNAMIC Debian 6.12.117-1~deb12u1",
      "x86_64"), "6.12.117"),
    (("Linux", "h", "6.18.44-fc-v669", "#1 SMP", "x86_64"), "6.18.44"),
])
def test_the_live_version_is_the_real_sublevel_not_debians_abi_name(uname, want):
    from pidlab.live.kernel import kernel_version
    assert kernel_version(os.uname_result(uname)) == want


# ---------------------------------------------------------------- features

def test_features_name_the_change_behind_each_new_answer():
    table = dict((p.key, spans) for p, spans in F.features())
    spans = table["open-non-leader"]
    assert [(s.first, s.last, s.answer) for s in spans] == [("6.1", "6.15", "EINVAL"),
                                                            ("6.16", "6.19", "ENOENT")]
    assert [c.key for c in spans[1].changes] == ["pidfd-open-errnos"]
    fs = table["pidfd-fs"]
    assert fs[0].answer == "anon_inodefs" and fs[1].first == "6.9" and fs[1].answer == "pidfs"
    assert [c.key for c in table["xattr"][-1].changes] == ["pidfs-xattr"]


def test_every_probe_answers_on_every_version_without_a_pidlab_error():
    for probe, spans in F.features():
        for s in spans:
            assert not s.answer.startswith(("unsupported", "PidlabError", "TaskExited")), \
                (probe.key, s)


def test_a_change_switched_on_changes_the_probe_it_is_responsible_for():
    for probe, spans in F.features():
        for prev, cur in zip(spans, spans[1:]):
            for c in cur.changes:
                need = {c.key: True}
                for r in c.requires:
                    need[r] = True
                assert F.model_answer(probe, prev.last, need) == cur.answer, (probe.key, c.key)


def _pidlab(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pidlab", *args], capture_output=True,
                          text=True, timeout=timeout)


def test_features_json_has_every_version_and_the_responsible_commits():
    r = _pidlab("features", "--format", "json", "--probe", "open-non-leader")
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    (b,) = data["behaviours"]
    assert set(b["answers"]) == set(pidlab.KERNEL_VERSIONS)
    assert b["answers"]["6.15"] == "EINVAL" and b["answers"]["6.16"] == "ENOENT"
    assert b["spans"][1]["changed_by"][0]["commit"] == "8cf4b738f6d8"


def test_features_table_for_a_few_kernels_is_a_matrix():
    r = _pidlab("features", "--kernel", "6.12", "--kernel", "6.18", "--probe", "fhandle")
    assert r.returncode == 0, r.stderr
    row = next(ln for ln in r.stdout.splitlines() if ln.split()[:1] == ["fhandle"])
    assert "EOPNOTSUPP" in row and "ok" in row and "pidfs-fhandle" in row


def test_features_refuse_an_unknown_version_or_probe():
    assert _pidlab("features", "--kernel", "7.1").returncode == 2
    assert _pidlab("features", "--probe", "nope").returncode == 2


def test_detect_says_this_kernel_behaves_as_its_own_version():
    try:
        pidlab.LiveKernel().close()
    except pidlab.BackendUnavailable as e:
        pytest.skip(f"live backend unavailable: {e}")
    r = _pidlab("detect", "--format", "json")
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    series = ".".join(data["version"].split(".")[:2])
    if series not in pidlab.KERNEL_VERSIONS:
        pytest.skip(f"the model knows no Linux {data['version']}")
    disagree = [p for p in data["probes"] if not p["agrees"]]
    assert not disagree, disagree
    assert series in data["fits"] or any(f.startswith(series + ".") for f in data["fits"])


@pytest.mark.parametrize("series", ["6.1", "6.12"])
def test_detect_on_a_guest_kernel_matches_its_version(series):
    from pidlab.live import images
    if images.qemu_binary() is None or images.image(series) is None:
        pytest.skip(f"no {series} guest: run `{images.INSTALL_COMMAND}`")
    version, verdicts = F.detect(lambda: pidlab.LiveKernel(kernel=series))
    assert version.startswith(series + ".")
    disagree = [(d.probe.key, d.live, d.expected) for d in verdicts if d.live != d.expected]
    assert not disagree, disagree
    assert any(v == series or v.startswith(series + ".") for v in F.summarize(version, verdicts)["fits"])


# ---------------------------------------------------------------- --kernel on the commands

def test_run_takes_a_kernel_version(tmp_path):
    path = tmp_path / "t.pidlab"
    path.write_text("c = init.spawn_thread()\ninit.pidfd_open(c.pid) -> EINVAL\n")
    assert _pidlab("run", str(path), "--kernel", "6.12").returncode == 0
    r = _pidlab("run", str(path), "--kernel", "6.18")
    assert r.returncode == 1 and "ENOENT" in r.stdout


def test_compare_two_model_versions_names_the_change_that_explains_the_difference(tmp_path):
    path = tmp_path / "t.pidlab"
    path.write_text("c = init.spawn_thread()\ninit.pidfd_open(c.pid)\n")
    r = _pidlab("compare", "--kernel", "6.15", "--kernel", "6.16", str(path))
    assert r.returncode == 1
    assert "first difference at step 2" in r.stdout
    assert "explained by pidfd-open-errnos (6.16, 8cf4b738f6d8" in r.stdout
    j = _pidlab("compare", "--kernel", "6.15", "--kernel", "6.16", str(path), "--format", "json")
    data = json.loads(j.stdout)
    assert data["sides"] == ["model 6.15", "model 6.16"]
    assert [c["key"] for c in data["explained_by"]] == ["pidfd-open-errnos"]


OLD_ERRNOS = "6.16+pidfd-open-locked=0,pidfd-open-errnos=0"


def test_run_and_compare_take_a_version_with_changes_switched(tmp_path):
    path = tmp_path / "t.pidlab"
    path.write_text("c = init.spawn_thread()\ninit.pidfd_open(c.pid) -> EINVAL\n")
    assert _pidlab("run", str(path), "--kernel", OLD_ERRNOS).returncode == 0
    assert _pidlab("run", str(path), "--kernel", "6.16").returncode == 1
    path.write_text("c = init.spawn_thread()\ninit.pidfd_open(c.pid)\n")
    for sides in ((OLD_ERRNOS, "6.16"), ("6.16", OLD_ERRNOS)):
        j = _pidlab("compare", "--kernel", sides[0], "--kernel", sides[1], str(path),
                    "--format", "json")
        assert j.returncode == 1, j.stderr
        data = json.loads(j.stdout)
        assert data["sides"] == [f"model {sides[0]}", f"model {sides[1]}"]
        # Switched on in the first, or off (with what needs it): the same change explains it.
        assert [c["key"] for c in data["explained_by"]] == ["pidfd-open-errnos"]
    r = _pidlab("compare", "--kernel", "6.16", "--kernel", "6.16+pidfd-open-locked=1", str(path))
    assert r.returncode == 0 and "agree on all" in r.stdout


@pytest.mark.parametrize("args, why", [
    (["run", "--kernel", "6.18+nope=0"], "no change 'nope'"),
    (["run", "--kernel", "6.18+pidfs=2"], "expected KEY=0 or KEY=1"),
    (["run", "--kernel", "6.16+pidfd-open-errnos=0"], "cannot be on without"),
    (["compare", "--kernel", "6.18", "--kernel", "6.18+pidfs"], "expected KEY=0 or KEY=1"),
    (["run", "--backend", "live", "--kernel", "6.18+pidfs-persist=0,pidfs-xattr=0"],
     "the live kernel's changes cannot be switched"),
    (["compare", "--kernel", "6.18+pidfs-persist=0,pidfs-xattr=0"],
     "the live kernel's changes cannot be switched"),
])
def test_a_switch_that_cannot_be_is_refused_before_anything_runs(tmp_path, args, why):
    path = tmp_path / "t.pidlab"
    path.write_text("c = init.fork() -> 2\n")
    r = _pidlab(*args, str(path))
    assert r.returncode == 2 and why in r.stderr, r.stderr


def test_compare_two_versions_that_agree_exits_0(tmp_path):
    path = tmp_path / "t.pidlab"
    path.write_text("c = init.fork() -> 2\n")
    r = _pidlab("compare", "--kernel", "6.1", "--kernel", "6.19", str(path))
    assert r.returncode == 0 and "agree on all" in r.stdout


@pytest.mark.parametrize("command", [["tree"], ["shell"], ["demo"], ["conformance", "-k", "x"]])
def test_every_command_refuses_an_unknown_kernel(command):
    r = _pidlab(*command, "--kernel", "5.4")
    assert r.returncode == 2 and "6.1 to 6.19" in r.stderr


def test_tree_and_shell_run_on_the_model_at_a_version():
    r = _pidlab("tree", "--kernel", "6.1", "--format", "json")
    assert r.returncode == 0 and json.loads(r.stdout)["tasks"]
    sh = subprocess.run([sys.executable, "-m", "pidlab", "shell", "--kernel", "6.12"],
                        input="fd = init.pidfd_open(1)\ninit.pidfd_get_info(fd) -> EINVAL\n",
                        capture_output=True, text=True, timeout=60)
    assert sh.returncode == 0, sh.stdout + sh.stderr


def test_demo_at_an_old_version_says_which_changes_it_lacks():
    r = _pidlab("demo", "--kernel", "6.12")
    assert r.returncode == 0, r.stderr
    assert "Linux 6.12 predates it: pidfs: implement file handle support" in \
        " ".join(r.stdout.split())
    assert "One pid_max for the whole machine" in r.stdout


def test_conformance_at_a_version_runs_the_model_there():
    r = _pidlab("conformance", "--kernel", "6.12", "--backend", "model", "--format", "json",
                "-k", "test_first_fork_after_init_gets_pid_2")
    assert r.returncode == 0, r.stderr
    rows = json.loads(r.stdout)["rows"]
    assert [row["behaviour"].split("[")[1] for row in rows] == ["6.12]"]



def test_detect_leaves_out_a_probe_the_sandbox_cannot_ask():
    """An ordinary user's one-id sandbox cannot set trusted.* xattrs as root: such a probe
    answers "unsupported", which says nothing of the kernel, so it constrains no version."""
    def cannot(k):
        raise pidlab.Unsupported("the sandbox has no root to ask as")

    def fd_number(k):
        fd = k.init.pidfd_open(k.init.getpid())
        k.init.close(fd)
        return fd
    probes = [F.Probe("cannot", "a question this sandbox cannot ask", cannot),
              F.Probe("fd", "pidfd_open's descriptor", fd_number)]
    version, verdicts = F.detect(lambda: pidlab.Kernel(version="6.12"), probes)
    assert version == pidlab.Kernel(version="6.12").version
    by_key = {d.probe.key: d for d in verdicts}
    assert by_key["cannot"].live.startswith("unsupported: ")
    assert by_key["cannot"].expected is None and by_key["cannot"].matching == F._candidates()
    assert by_key["fd"].expected == by_key["fd"].live == 3
    assert "6.12" in F.summarize(version, verdicts)["fits"]


def test_detect_prints_a_bracketed_answer_as_the_kernel_gave_it(monkeypatch):
    """A plain console prints markup as it is: no escaping backslash before '['."""
    from click.testing import CliRunner
    from pidlab.cli.main import cli
    probe = F.Probe("pidfd-link", "readlink of a pidfd", lambda k: "anon_inode:[pidfd]")
    verdicts = [F.Verdict(probe, "anon_inode:[pidfd]", "anon_inode:[pidfd]", ["6.1"])]
    monkeypatch.setattr(F, "detect", lambda open_kernel: ("6.1.192", verdicts))
    r = CliRunner().invoke(cli, ["detect"])
    assert r.exit_code == 0, r.output
    assert "anon_inode:[pidfd]" in r.output and "\\[" not in r.output
