"""The live backend never changes a sysctl of the machine it runs on (live/sysctl.py).

Whether kernel.pid_max is per pid namespace (6.14+) is probed, not taken from
`uname -r`.  On this host the probe is held to independent evidence (the
kernel's symbol table); the machine-wide case is shown on the 6.1 and 6.12
kernels in tests/test_vm.py, and here by making the host's sandbox believe its
kernel has one machine-wide pid_max: it must then write nothing.
"""

from __future__ import annotations

import pytest

import pidlab
from pidlab.live import sysctl


def _kallsyms_has(name: str) -> bool | None:
    try:
        with open("/proc/kallsyms") as f:
            return any(line.rstrip().endswith(f" {name}") for line in f)
    except OSError:
        return None


def _live(**kw):
    try:
        return pidlab.LiveKernel(**kw)
    except pidlab.BackendUnavailable as e:
        pytest.skip(f"live backend unavailable: {e}")


def test_the_probe_agrees_with_the_kernels_symbols():
    """register_pidns_sysctls exists exactly where pid_max is per namespace (6.14+)."""
    has = _kallsyms_has("register_pidns_sysctls")
    if has is None:
        pytest.skip("/proc/kallsyms is not readable here: no independent evidence")
    scope = sysctl.probe()
    if "unknown" in scope.how:
        pytest.skip(f"the probe cannot run here: {scope.how}")
    assert scope.per_namespace == has, scope.how


def test_the_probe_sees_the_per_namespace_table_by_its_owner_too():
    """pid_table_root_set_ownership: in a namespace owned by a new user namespace the file
    belongs to that namespace's root, whatever the values say (6.14+ only)."""
    if not _kallsyms_has("register_pidns_sysctls"):
        pytest.skip("this kernel has one machine-wide pid_max (no register_pidns_sysctls)")
    seen = sysctl.observe()
    if "error" in seen:
        pytest.skip(f"the probe cannot run here: {seen['error']}")
    assert seen["pid"] == 1
    assert seen["uid"] == 0
    assert seen["value"] == pidlab.PID_MAX_LIMIT       # create_pid_namespace's start value


@pytest.mark.parametrize("seen, per_ns", [
    ({"pid": 1, "uid": 65534, "value": 32768, "machine": 32768}, False),
    ({"pid": 1, "uid": 0, "value": 4194304, "machine": 4194304}, True),
    ({"pid": 1, "uid": 65534, "value": 4194304, "machine": 32768}, True),
    ({"pid": 7, "uid": 0, "value": 4194304, "machine": 32768}, False),
    ({"error": "unshare: Operation not permitted"}, False),
])
def test_whatever_the_probe_cannot_prove_counts_as_machine_wide(seen, per_ns):
    assert sysctl.decide(seen).per_namespace is per_ns


@pytest.fixture
def machine_wide(monkeypatch):
    """This host's sandbox, told that its kernel's pid_max is the machine's."""
    monkeypatch.setattr(sysctl, "pid_max_scope",
                        lambda: sysctl.PidMaxScope(False, "assumed by the test"))
    monkeypatch.setattr(sysctl, "in_own_guest", lambda: False)


def test_a_host_sandbox_with_a_machine_wide_pid_max_writes_none(machine_wide):
    """It keeps the value it finds: on this 6.18 host that shows as the new namespace's own
    start value, PID_MAX_LIMIT, where a normal sandbox writes the model's default."""
    machine = sysctl.read_pid_max()
    with _live() as k:
        assert not k.pid_max_writable
        assert k.pid_max_default == machine
        assert int(k.init.read_text(sysctl.PID_MAX)) == pidlab.PID_MAX_LIMIT
    assert sysctl.read_pid_max() == machine


def test_a_host_sandbox_refuses_a_scenarios_write_to_a_machine_wide_pid_max(machine_wide):
    with _live() as k:
        with pytest.raises(pidlab.Unsupported, match="whole machine"):
            k.init.write_text("/proc/sys/kernel/pid_max", "301")
        with pytest.raises(pidlab.Unsupported):
            k.init.write_text("/proc/self/../sys/kernel//pid_max", "301")
        assert int(k.init.read_text(sysctl.PID_MAX)) == pidlab.PID_MAX_LIMIT
        k.init.write_text("/proc/sys/kernel/ns_last_pid", "500")     # per namespace: allowed
        assert k.init.fork().pid == 501


def test_the_agent_refuses_it_too_when_the_controller_is_bypassed(machine_wide):
    with _live() as k:
        with pytest.raises(pidlab.Unsupported, match="machine"):
            k._call(k.init._a, "write_text", "/proc/sys/kernel/pid_max", "301")
        assert int(k.init.read_text(sysctl.PID_MAX)) == pidlab.PID_MAX_LIMIT


def test_a_normal_sandbox_on_this_host_says_why_it_may_write():
    with _live() as k:
        if not k.pid_max_scope.per_namespace:
            pytest.skip(f"this host's pid_max is machine-wide ({k.pid_max_scope.how})")
        assert k.pid_max_writable
        assert int(k.init.read_text(sysctl.PID_MAX)) == k.pid_max_default


def test_the_machines_value_is_restored_only_in_pidlabs_own_guest(monkeypatch):
    """MachinePidMax writes the machine's sysctl: it refuses to run outside a guest."""
    if sysctl.in_own_guest():
        pytest.skip("inside pidlab's guest: tests/test_vm.py shows the restore")
    with pytest.raises(RuntimeError, match="guest"):
        sysctl.MachinePidMax.acquire()
