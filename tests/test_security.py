"""The model posing as the sandboxes users' code meets (model/security.py): seccomp filters,
LSM denials and a small RLIMIT_NOFILE.  Model only: the live kernel is what it is."""

from __future__ import annotations

import errno

import pytest

import pidlab
from pidlab.conformance.helpers import raises_errno


def test_a_seccomp_filter_refuses_a_system_call_with_its_errno():
    k = pidlab.Kernel(seccomp={"pidfd_open": errno.ENOSYS})
    c = k.init.fork()
    with raises_errno(errno.ENOSYS):
        k.init.pidfd_open(c.pid)
    # Nothing else changes: the fallback a supervisor takes still works.
    assert k.init.kill(c.pid, 0) is None
    k.check()


def test_a_filter_on_a_linux_name_refuses_every_method_that_makes_that_call():
    k = pidlab.Kernel(seccomp={"clone3": errno.EPERM, "ioctl": errno.EPERM})
    with raises_errno(errno.EPERM):
        k.init.clone(pidfd=True)
    with raises_errno(errno.EPERM):
        k.init.spawn_thread()
    c = k.init.fork()                           # glibc's fork is clone(2), not clone3
    fd = k.init.pidfd_open(c.pid)
    with raises_errno(errno.EPERM):
        k.init.pidfd_get_info(fd)               # an ioctl
    with raises_errno(errno.EPERM):
        k.init.ioctl(fd, pidlab.PIDFD_GET_PID_NAMESPACE)


def test_a_filtered_call_of_a_task_that_has_exited_is_still_taskexited():
    k = pidlab.Kernel(seccomp={"getpid": errno.ENOSYS})
    c = k.init.fork()
    t = c.task
    t.exit_group(0)
    with pytest.raises(pidlab.TaskExited):
        t.getpid()


def test_an_lsm_denies_signals_after_the_permission_checks():
    k = pidlab.Kernel(lsm={"task_kill": errno.EACCES})
    c = k.init.fork()
    with raises_errno(errno.EACCES):
        k.init.kill(c.pid, 0)
    fd = k.init.pidfd_open(c.pid)
    with raises_errno(errno.EACCES):
        k.init.pidfd_send_signal(fd, pidlab.SIGTERM)
    with raises_errno(errno.EINVAL):            # the signal number is checked first
        k.init.kill(c.pid, 99)
    with raises_errno(errno.ESRCH):             # and the target must exist
        k.init.kill(12345, 0)


def test_an_lsm_denies_ptrace_access_to_pidfd_getfd_and_proc_fd():
    k = pidlab.Kernel(lsm={"ptrace_access_check": errno.EACCES})
    c = k.init.fork()
    fd = k.init.pidfd_open(c.pid)
    with raises_errno(errno.EPERM):
        k.init.pidfd_getfd(fd, 0)
    with raises_errno(errno.EACCES):
        k.init.readlink(f"/proc/{c.pid}/fd/0")
    with raises_errno(errno.EACCES):
        k.init.ioctl(fd, pidlab.PIDFD_GET_PID_NAMESPACE)


def test_an_lsm_denies_opening_files():
    k = pidlab.Kernel(lsm={"file_open": errno.EACCES})
    with raises_errno(errno.EACCES):
        k.init.open("/proc/self/status")
    with raises_errno(errno.ENOENT):            # the lookup comes first
        k.init.open("/proc/no-such-file")


def test_a_small_rlimit_nofile_makes_the_descriptor_table_full():
    k = pidlab.Kernel(nofile=5)
    c = k.init.fork()
    assert k.init.pidfd_open(c.pid) == 3
    assert k.init.pidfd_open(c.pid) == 4
    with raises_errno(errno.EMFILE):
        k.init.pidfd_open(c.pid)
    with raises_errno(errno.EMFILE):            # children inherit the limit
        c.task.dup(0), c.task.dup(0), c.task.dup(0)
    k.check()


@pytest.mark.parametrize("kwargs, exc", [
    ({"seccomp": {"no_such_call": errno.EPERM}}, ValueError),
    ({"seccomp": {"pidfd_open": 0}}, ValueError),
    ({"seccomp": {"pidfd_open": "EPERM"}}, TypeError),
    ({"seccomp": ["pidfd_open"]}, TypeError),
    ({"lsm": {"no_such_hook": errno.EACCES}}, ValueError),
    ({"nofile": 2}, ValueError),
    ({"nofile": "16"}, TypeError),
])
def test_a_profile_that_cannot_be_is_refused(kwargs, exc):
    with pytest.raises(exc):
        pidlab.Kernel(**kwargs)
