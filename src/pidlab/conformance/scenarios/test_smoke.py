"""The first fork of a fresh namespace: the minimal agreement of both backends."""

import pytest

import pidlab
from pidlab.conformance.helpers import ns_last_pid, pid_max

# Every scenario runs on the model at every kernel version and on every live kernel.
pytestmark = pytest.mark.pidlab_kernels("all")


def test_init_is_pid_1_with_no_visible_parent(kernel):
    assert (kernel.init.getpid(), kernel.init.getppid()) == (1, 0)


def test_first_fork_after_init_gets_pid_2(kernel):
    child = kernel.init.fork()
    assert child.pid == 2
    assert child.task.getppid() == 1


def test_top_namespace_starts_with_the_per_cpu_pid_max_and_cursor_after_init(kernel):
    assert pid_max(kernel.init) == 32768
    assert ns_last_pid(kernel.init) == 1


def test_a_closed_kernel_takes_no_more_calls(kernel):
    # api.md: close() releases everything; a task of a closed kernel is gone like an
    # exited one (TaskExited), on the model as on the live sandbox.
    t = kernel.init.fork().task
    kernel.close()
    for call in (kernel.init.getpid, t.fork, lambda: t.kill(1, 0)):
        with pytest.raises(pidlab.TaskExited):
            call()
    kernel.close()                              # closing twice is harmless
