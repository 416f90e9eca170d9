"""/proc as a task of either backend sees it: status lines, self and thread-self,
threads, visibility, and the two pid sysctls.

Expected values come from fs/proc/array.c (proc_pid_status: "Key:\\tvalue",
the NS* lines list the numbers from the reader's namespace down to the task's,
signal sets as 16 hex digits with bit n-1 for signal n), fs/proc/base.c
(/proc/self -> "<tgid>", /proc/thread-self -> "<tgid>/task/<tid>", a tid is
looked up like a pid but not listed), /work/shared/spec/linux-pid-6.18.md
sections 5 (sysctls, read as "%d\\n" of the reader's active namespace) and 6
(numbers outside the reader's namespace are 0), and the outputs recorded in
/work/shared/spec/live-kernel-facts.md.  Both backends name their first task "init"
and a task keeps its parent's name (test_comm.py has the rest).  Only the lines the
model produces are compared (helpers.status_lines).

What the model does not model of /proc is Unsupported, never ENOENT: the tables of
pidlab.model.procfs list what Linux has (with the kernel file and the options each entry
needs), and the last section holds them against the running kernel and its
/proc/config.gz; a name Linux never has is ENOENT on both backends.
"""

from __future__ import annotations

import errno

import pytest

from pidlab import (F_GETFL, O_ACCMODE, O_CREAT, O_DIRECTORY, O_EXCL, O_NOFOLLOW, O_PATH, O_TRUNC)
from pidlab import (CLONE_NEWPID, O_RDONLY, O_RDWR, O_WRONLY, SIG_CATCH, SIG_IGN, SIGCHLD, SIGKILL, SIGSTOP,
                    SIGTERM, SIGUSR1, WNOHANG)

from pidlab import Unsupported
from pidlab.conformance.helpers import raises_errno, status_lines
from pidlab.model import procfs as tables

# Every scenario runs on the model at every kernel version and on every live kernel.
pytestmark = pytest.mark.pidlab_kernels("all")

ZERO_SET = "0000000000000000"


def lines(observer, pid="self") -> dict[str, str]:
    return status_lines(observer.read_text(f"/proc/{pid}/status"))


# ---------------------------------------------------------------- status lines

def test_status_of_an_idle_child_as_its_parent_sees_it(kernel):
    init = kernel.init
    c = init.fork()
    # A settling call first: the live backend's fork can return while the new
    # child is still on its way to its idle loop (State R); see the report.
    init.kill(c.pid, 0)
    assert lines(init, c.pid) == {
        "Name": "init", "State": "S (sleeping)", "Tgid": "2", "Pid": "2", "PPid": "1",
        "Uid": "0\t0\t0\t0", "Gid": "0\t0\t0\t0", "NStgid": "2", "NSpid": "2",
        "NSpgid": "1", "NSsid": "1", "Threads": "1", "SigIgn": ZERO_SET, "SigCgt": ZERO_SET,
    }


def test_status_lines_are_a_key_a_colon_and_tab_separated_values(kernel):
    init = kernel.init
    ns_init = init.clone(CLONE_NEWPID)
    text = init.read_text(f"/proc/{ns_init.pid}/status").splitlines()
    assert f"Pid:\t{ns_init.pid}" in text
    assert f"NSpid:\t{ns_init.pid}\t1" in text
    assert f"NStgid:\t{ns_init.pid}\t1" in text
    assert "NSpgid:\t1\t0" in text
    assert "Uid:\t0\t0\t0\t0" in text
    assert "Name:\tinit" in text


def test_status_has_a_kthread_line_0_after_nssid_from_64_none_before(kernel):
    # fs/proc/array.c task_state ends with "Kthread:\t%c\n" (PF_KTHREAD) from 6.4
    # ("proc-status-kthread"); no task of a scenario is a kernel thread.
    init = kernel.init
    c = init.fork()
    for text in (init.read_text(f"/proc/{c.pid}/status"), c.task.read_text("/proc/self/status"),
                 init.read_text(f"/proc/{c.pid}/task/{c.pid}/status")):
        keys = [line.partition(":")[0] for line in text.splitlines()]
        if kernel.has("proc-status-kthread"):
            assert keys[keys.index("NSsid") + 1] == "Kthread"
            assert "Kthread:\t0" in text.splitlines()
        else:
            assert "Kthread" not in keys


def test_the_reader_sees_itself_running(kernel):
    c = kernel.init.fork()
    assert lines(c.task)["State"] == "R (running)"
    assert lines(c.task, c.pid)["State"] == "R (running)"
    assert lines(kernel.init)["State"] == "R (running)"


def test_a_zombie_shows_state_z(kernel):
    init = kernel.init
    c = init.fork()
    c.task.exit(0)
    st = lines(init, c.pid)
    assert st["State"] == "Z (zombie)"
    assert (st["Pid"], st["PPid"]) == (str(c.pid), "1")


def test_a_stopped_process_shows_state_t(kernel):
    init = kernel.init
    c = init.fork()
    init.kill(c.pid, SIGSTOP)
    assert lines(init, c.pid)["State"] == "T (stopped)"


def test_uid_and_gid_lines_show_real_effective_saved_and_fs_ids(kernel):
    t = kernel.init.fork().task
    t.setresgid(10, 20, 30)
    t.setresuid(1000, 2000, 3000)
    st = lines(t)
    assert st["Uid"] == "1000\t2000\t3000\t2000"
    assert st["Gid"] == "10\t20\t30\t20"


def test_sigign_and_sigcgt_show_bit_n_minus_1_for_signal_n(kernel):
    init = kernel.init
    t = init.fork().task
    t.sigaction(SIGUSR1, SIG_IGN)
    t.sigaction(SIGTERM, SIG_CATCH)
    t.sigaction(SIGCHLD, SIG_CATCH)
    st = lines(t)
    assert st["SigIgn"] == f"{1 << (SIGUSR1 - 1):016x}" == "0000000000000200"
    assert st["SigCgt"] == f"{(1 << (SIGTERM - 1)) | (1 << (SIGCHLD - 1)):016x}" == "0000000000014000"


def test_a_caught_signal_is_no_longer_caught_after_execve(kernel):
    t = kernel.init.fork().task
    t.sigaction(SIGUSR1, SIG_IGN)
    t.sigaction(SIGTERM, SIG_CATCH)
    t.execve()                              # flush_signal_handlers: ignored stays ignored
    st = lines(t)
    assert st["SigCgt"] == ZERO_SET
    assert st["SigIgn"] == "0000000000000200"


def test_an_orphan_shows_the_namespace_init_as_its_parent(kernel):
    init = kernel.init
    a = init.fork()
    b = a.task.fork()
    assert lines(init, b.pid)["PPid"] == str(a.pid)
    a.task.exit(0)
    init.waitpid(a.pid, 0)
    assert lines(init, b.pid)["PPid"] == "1"


# ---------------------------------------------------------------- namespaces

def test_ns_lines_list_every_level_from_the_readers_namespace_down(kernel):
    init = kernel.init
    ns_init = init.clone(CLONE_NEWPID)
    inner = ns_init.task.fork()
    outer = ns_init.pid + 1
    from_top = lines(init, outer)
    assert (from_top["Pid"], from_top["PPid"]) == (str(outer), str(ns_init.pid))
    assert from_top["NSpid"] == from_top["NStgid"] == f"{outer}\t{inner.pid}"
    assert from_top["NSpgid"] == from_top["NSsid"] == "1\t0"
    from_inside = lines(ns_init.task, inner.pid)
    assert (from_inside["Pid"], from_inside["PPid"]) == (str(inner.pid), "1")
    assert from_inside["NSpid"] == str(inner.pid)
    assert from_inside["NSpgid"] == from_inside["NSsid"] == "0"


def test_a_namespace_init_sees_itself_as_pid_1_with_parent_0(kernel):
    ns_init = kernel.init.clone(CLONE_NEWPID)
    st = lines(ns_init.task)
    assert (st["Tgid"], st["Pid"], st["PPid"], st["NSpid"]) == ("1", "1", "0", "1")


def test_a_pid_not_visible_in_the_readers_namespace_is_enoent(kernel):
    init = kernel.init
    outsider = init.fork()                  # pid 2 of the top namespace only
    ns_init = init.clone(CLONE_NEWPID)
    with raises_errno(errno.ENOENT):
        ns_init.task.read_text(f"/proc/{outsider.pid}/status")
    with raises_errno(errno.ENOENT):
        ns_init.task.read_text(f"/proc/{ns_init.pid}/status")


# ---------------------------------------------------------------- self, thread-self, threads

def test_proc_self_links_to_the_callers_tgid(kernel):
    init = kernel.init
    c = init.fork()
    assert init.readlink("/proc/self") == "1"
    assert c.task.readlink("/proc/self") == str(c.pid)
    assert c.task.readlink("/proc/thread-self") == f"{c.pid}/task/{c.pid}"


def test_proc_self_of_a_thread_is_its_process_and_thread_self_is_the_thread(kernel):
    c = kernel.init.fork()
    th = c.task.spawn_thread()
    assert th.task.readlink("/proc/self") == str(c.pid)
    assert th.task.readlink("/proc/thread-self") == f"{c.pid}/task/{th.pid}"
    assert lines(th.task)["Pid"] == str(c.pid)
    ts = lines(th.task, "thread-self")
    assert (ts["Tgid"], ts["Pid"], ts["Threads"]) == (str(c.pid), str(th.pid), "2")


def test_proc_self_in_a_namespace_uses_the_inner_number(kernel):
    ns_init = kernel.init.clone(CLONE_NEWPID)
    inner = ns_init.task.fork()
    assert ns_init.task.readlink("/proc/self") == "1"
    assert inner.task.readlink("/proc/self") == str(inner.pid)


def test_a_non_leader_thread_is_readable_by_its_tid(kernel):
    init = kernel.init
    c = init.fork()
    th = c.task.spawn_thread()
    st = lines(init, th.pid)
    assert (st["Tgid"], st["Pid"], st["PPid"], st["Threads"]) == (str(c.pid), str(th.pid), "1", "2")
    assert st["NStgid"] == str(c.pid) and st["NSpid"] == str(th.pid)
    assert lines(init, c.pid)["Threads"] == "2"


def test_task_tid_status_names_the_thread(kernel):
    init = kernel.init
    c = init.fork()
    th = c.task.spawn_thread()
    st = lines(init, f"{c.pid}/task/{th.pid}")
    assert (st["Tgid"], st["Pid"]) == (str(c.pid), str(th.pid))
    leader = lines(init, f"{c.pid}/task/{c.pid}")
    assert (leader["Tgid"], leader["Pid"]) == (str(c.pid), str(c.pid))


def test_task_of_a_tid_from_another_process_is_enoent(kernel):
    init = kernel.init
    a, b = init.fork(), init.fork()
    th = a.task.spawn_thread()
    with raises_errno(errno.ENOENT):
        init.read_text(f"/proc/{b.pid}/task/{th.pid}/status")
    with raises_errno(errno.ENOENT):
        init.read_text(f"/proc/{b.pid}/task/{a.pid}/status")


# ---------------------------------------------------------------- lookups that fail, directories, open

@pytest.mark.parametrize("path", ["/proc/999/status", "/proc/0/status", "/proc/-1/status",
                                  "/proc/02/status", "/proc/abc/status"])
def test_a_pid_that_does_not_exist_is_enoent(kernel, path):
    kernel.init.fork()                      # so that pid 2 exists: "02" is still no pid
    with raises_errno(errno.ENOENT):
        kernel.init.read_text(path)


def test_a_reaped_pid_is_enoent(kernel):
    init = kernel.init
    c = init.fork()
    c.task.exit(0)
    init.waitpid(c.pid, 0)
    with raises_errno(errno.ENOENT):
        init.read_text(f"/proc/{c.pid}/status")


@pytest.mark.parametrize("path", ["/proc/self", "/proc/1", "/proc/thread-self", "/proc/1/task/1"])
def test_reading_a_directory_is_eisdir(kernel, path):
    with raises_errno(errno.EISDIR):
        kernel.init.read_text(path)


def test_opening_proc_pid_read_only_gives_a_file_descriptor(kernel):
    init = kernel.init
    c = init.fork()
    fd = init.open(f"/proc/{c.pid}", O_RDONLY)
    assert fd == 3                          # 0, 1 and 2 are taken, as on both backends
    assert init.open("/proc/self") == 4
    init.close(fd)
    assert init.open(f"/proc/{c.pid}") == 3


def test_opening_a_missing_pid_directory_is_enoent(kernel):
    with raises_errno(errno.ENOENT):
        kernel.init.open("/proc/999")


# ---------------------------------------------------------------- the pid sysctls

def test_pid_max_and_ns_last_pid_read_as_a_decimal_and_a_newline(kernel):
    init = kernel.init
    assert init.read_text("/proc/sys/kernel/pid_max") == "32768\n"
    assert init.read_text("/proc/sys/kernel/ns_last_pid") == "1\n"
    init.fork()
    init.fork()
    assert init.read_text("/proc/sys/kernel/ns_last_pid") == "3\n"


def test_the_sysctls_show_the_readers_own_namespace_pid_max_the_machines_before_614(kernel):
    # ns_last_pid is the reader's active namespace's on every version; pid_max is from 6.14
    # ("pidns-pid-max", a new namespace at PID_MAX_LIMIT: spec §1), before it is one
    # value for the whole machine (kernel/sysctl.c kern_table).
    own = kernel.has("pidns-pid-max")
    init = kernel.init
    init.fork()
    ns_init = init.clone(CLONE_NEWPID)
    fresh = "4194304\n" if kernel.has("pidns-pid-max-limit") else "32768\n"
    assert ns_init.task.read_text("/proc/sys/kernel/pid_max") == fresh
    assert ns_init.task.read_text("/proc/sys/kernel/ns_last_pid") == "1\n"
    ns_init.task.write_text("/proc/sys/kernel/pid_max", "5000")
    assert ns_init.task.read_text("/proc/sys/kernel/pid_max") == "5000\n"
    assert init.read_text("/proc/sys/kernel/pid_max") == ("32768\n" if own else "5000\n")
    assert init.read_text("/proc/sys/kernel/ns_last_pid") == "3\n"


def test_a_written_value_reads_back_in_the_same_format(kernel):
    init = kernel.init
    init.write_text("/proc/sys/kernel/pid_max", " 4000\n")     # proc_dointvec skips blanks
    init.write_text("/proc/sys/kernel/ns_last_pid", "77")
    assert init.read_text("/proc/sys/kernel/pid_max") == "4000\n"
    assert init.read_text("/proc/sys/kernel/ns_last_pid") == "77\n"
    assert init.fork().pid == 78


def test_the_status_of_a_process_killed_while_stopped_is_gone_after_reap(kernel):
    init = kernel.init
    c = init.fork()
    init.kill(c.pid, SIGSTOP)
    init.kill(c.pid, SIGKILL)
    assert lines(init, c.pid)["State"] == "Z (zombie)"
    assert init.waitpid(c.pid, WNOHANG) == (c.pid, SIGKILL)
    with raises_errno(errno.ENOENT):
        init.read_text(f"/proc/{c.pid}/status")


def test_a_zombie_keeps_its_numbers_ids_and_signal_sets(kernel):
    init = kernel.init
    c = init.fork()
    c.task.sigaction(SIGUSR1, SIG_IGN)
    c.task.sigaction(SIGTERM, SIG_CATCH)
    c.task.exit(3)
    assert lines(init, c.pid) == {
        "Name": "init", "State": "Z (zombie)", "Tgid": "2", "Pid": "2", "PPid": "1",
        "Uid": "0\t0\t0\t0", "Gid": "0\t0\t0\t0", "NStgid": "2", "NSpid": "2",
        "NSpgid": "1", "NSsid": "1", "Threads": "1",
        "SigIgn": "0000000000000200", "SigCgt": "0000000000004000",
    }


def test_a_leader_that_exited_before_its_thread_is_a_zombie_still_counting_both(kernel):
    init = kernel.init
    c = init.fork()
    th = c.task.spawn_thread()
    c.task.exit(0)                          # exit(2) of the leader thread only
    st = lines(init, c.pid)
    assert (st["State"], st["Threads"]) == ("Z (zombie)", "2")
    assert th.task.readlink("/proc/self") == str(c.pid)
    assert th.task.getpid() == c.pid
    assert lines(th.task, "thread-self")["State"] == "R (running)"


def test_signal_sets_cover_the_real_time_signals(kernel):
    t = kernel.init.fork().task
    t.sigaction(64, SIG_IGN)
    t.sigaction(34, SIG_CATCH)
    st = lines(t)
    assert st["SigIgn"] == "8000000000000000"
    assert st["SigCgt"] == "0000000200000000"


def test_a_thread_directory_lists_its_sibling_threads(kernel):
    # proc_task_lookup accepts any tid of the same thread group under /proc/<tid>/task.
    init = kernel.init
    c = init.fork()
    th = c.task.spawn_thread()
    assert lines(init, f"{th.pid}/task/{c.pid}")["Pid"] == str(c.pid)
    assert lines(init, f"{th.pid}/task/{th.pid}")["Pid"] == str(th.pid)


def test_a_number_that_only_names_a_process_group_has_no_proc_entry(kernel):
    init = kernel.init
    p = init.fork()
    p.task.setpgid(0, 0)
    p.task.fork()
    p.task.exit(0)
    init.waitpid(p.pid, 0)
    assert init.getpgid(p.pid + 1) == p.pid
    with raises_errno(errno.ENOENT):
        init.read_text(f"/proc/{p.pid}/status")


def test_opening_a_pid_directory_for_writing_is_eisdir(kernel):
    init = kernel.init
    with raises_errno(errno.EISDIR):
        init.open("/proc/self", O_WRONLY)
    with raises_errno(errno.EISDIR):
        init.open("/proc/1", O_RDWR)
    assert init.open("/proc/1") == 3        # no descriptor was used up


# ================================================================ open(2) flags on procfs
# fs/open.c build_open_how/build_open_flags and fs/namei.c open_last_lookups, do_open and
# may_open, in that order; each case was run on this 6.18 kernel (both backends agree).

@pytest.mark.parametrize("path, flags, err", [
    ("/proc/self", O_CREAT | O_DIRECTORY, errno.EINVAL),          # refused before the walk
    ("/proc/self/status", O_CREAT | O_DIRECTORY, errno.EINVAL),
    ("/proc/self", O_CREAT | O_EXCL, errno.EEXIST),               # everything exists
    ("/proc/self/status", O_CREAT | O_EXCL, errno.EEXIST),
    ("/proc/self", O_NOFOLLOW | O_CREAT | O_EXCL, errno.EEXIST),   # ... even a link
    ("/proc/self", O_CREAT, errno.EISDIR),
    ("/proc/self", O_TRUNC, errno.EISDIR),                        # O_TRUNC asks for MAY_WRITE
    ("/proc/self", O_ACCMODE, errno.EISDIR),
    ("/proc", O_WRONLY, errno.EISDIR),
    ("/proc/self/task", O_RDWR, errno.EISDIR),
    ("/proc/self/ns/pid", O_DIRECTORY, errno.ENOTDIR),
    ("/proc/self/status", O_DIRECTORY, errno.ENOTDIR),
    ("/proc/sys/kernel/pid_max", O_WRONLY | O_DIRECTORY, errno.ENOTDIR),
    ("/proc/self", O_DIRECTORY | O_NOFOLLOW, errno.ENOTDIR),      # the link is no directory
    ("/proc/self", O_NOFOLLOW, errno.ELOOP),
    ("/proc/thread-self", O_NOFOLLOW, errno.ELOOP),
    ("/proc/self/ns/pid", O_NOFOLLOW, errno.ELOOP),
    ("/proc/self/ns/pid", O_WRONLY, errno.EPERM),                 # nsfs inodes are immutable
    ("/proc/self/ns/pid_for_children", O_RDWR, errno.EPERM),
    ("/proc/self/ns/pid", O_TRUNC, errno.EPERM),
])
def test_open_flags_on_procfs_fail_in_the_kernels_order(kernel, path, flags, err):
    init = kernel.init
    lowest = init.dup(0)
    init.close(lowest)
    with raises_errno(err):
        init.open(path, flags)
    assert init.dup(0) == lowest                    # the failed open took no descriptor


@pytest.mark.parametrize("path, mode", [
    ("/proc/self", 0o40555), ("/proc/self/task", 0o40555),
    ("/proc/self/status", 0o100444), ("/proc/sys/kernel/pid_max", 0o100644),
    ("/proc/sys/kernel/ns_last_pid", 0o100666), ("/proc/self/ns/pid", 0o100444),
])
def test_an_o_path_descriptor_keeps_only_o_path_and_the_file_type(kernel, path, mode):
    # build_open_how: O_PATH drops every flag but O_DIRECTORY/O_NOFOLLOW/O_CLOEXEC, so
    # O_CREAT|O_EXCL and write access are ignored; fdget() then refuses the fd to
    # everything but fstat, fcntl, dup and close.
    init = kernel.init
    fd = init.open(path, O_PATH | O_WRONLY | O_CREAT | O_EXCL | O_TRUNC)
    assert init.fcntl(fd, F_GETFL) == O_PATH
    assert init.fstat(fd).st_mode == mode
    with raises_errno(errno.EBADF):
        init.pidfd_send_signal(fd, 0)
    with raises_errno(errno.EBADF):
        init.setns(fd, 0)
    with raises_errno(errno.EBADF):
        init.fgetxattr(fd, "trusted.x")
    init.close(fd)


def test_o_path_with_o_nofollow_opens_the_link_itself(kernel):
    init = kernel.init
    fd = init.open("/proc/self", O_PATH | O_NOFOLLOW)
    assert init.fcntl(fd, F_GETFL) == O_PATH | O_NOFOLLOW
    assert init.fstat(fd).st_mode == 0o120777
    with raises_errno(errno.ENOTDIR):
        init.open("/proc/self", O_PATH | O_NOFOLLOW | O_DIRECTORY)
    assert init.fcntl(init.open("/proc/self", O_PATH | O_DIRECTORY), F_GETFL) == O_PATH | O_DIRECTORY


def test_proc_pid_task_is_a_directory_that_is_no_pidfd(kernel):
    init = kernel.init
    child = init.fork()
    fd = init.open(f"/proc/{child.pid}/task", O_DIRECTORY)
    assert init.fstat(fd).st_mode == 0o40555
    with raises_errno(errno.EBADF):              # only /proc/<tgid> itself works as a pidfd
        init.pidfd_send_signal(fd, 0)
    init.pidfd_send_signal(init.open(f"/proc/{child.pid}", O_DIRECTORY), 0)


@pytest.mark.parametrize("drop", ["setuid", "cap_sys_admin"])
def test_an_init_made_without_cap_sys_admin_sees_its_own_namespace_in_proc(kernel, drop):
    """/proc resolves as a procfs of the reader's own active namespace, whoever made it."""
    parent = kernel.init.fork().task
    parent.unshare(CLONE_NEWPID)
    if drop == "setuid":
        parent.setuid(1001)
    else:
        parent.capset(parent.capget() - {21})      # CAP_SYS_ADMIN
    ns_init = parent.fork().task
    assert ns_init.getpid() == 1
    st = lines(ns_init)
    assert (st["Pid"], st["NSpid"], st["PPid"]) == ("1", "1", "0")
    assert ns_init.readlink("/proc/self") == "1"
    with raises_errno(errno.ENOENT):
        ns_init.read_text("/proc/2/status")        # the parent's namespace is not visible
    child = ns_init.fork()
    assert (child.pid, lines(child.task)["NSpid"]) == (2, "2")


# ---------------------------------------------------------------- what Linux has and the model does not model

# Small files of every Linux (no option in the tables), read in full here.
EVERY_LINUX = ["/proc/loadavg", "/proc/uptime", "/proc/version", "/proc/meminfo", "/proc/stat",
               "/proc/cpuinfo", "/proc/filesystems", "/proc/cmdline", "/proc/devices",
               "/proc/sys/kernel/threads-max", "/proc/sys/kernel/osrelease",
               "/proc/sys/kernel/ngroups_max", "/proc/sys/kernel/random/boot_id",
               "/proc/sys/user/max_pid_namespaces", "/proc/self/limits", "/proc/self/stat",
               "/proc/self/statm", "/proc/self/cmdline", "/proc/self/oom_score_adj",
               "/proc/thread-self/stat", "/proc/self/task/{tid}/sched"]


def entry_of(path: str) -> tables.Entry:
    """The table entry for a path of EVERY_LINUX (so the list and the tables agree)."""
    parts = path.split("/")[2:]
    if parts[0] in ("self", "thread-self"):
        table = tables.PROC_TID if parts[0] == "thread-self" or parts[1] == "task" \
            else tables.PROC_TGID
        return table[parts[-1]]
    return tables.PROC_DIRS["/".join(parts[:-1])][parts[-1]]


@pytest.mark.parametrize("path", EVERY_LINUX)
def test_a_file_every_linux_has_reads_live_and_is_unsupported_in_the_model(kernel, path):
    init = kernel.init
    path = path.format(tid=init.gettid())
    e = entry_of(path)
    assert e.kind == "f" and not e.needs and not e.more, f"{path} needs {e.why()}"
    if kernel.name == "model":
        with pytest.raises(Unsupported):
            init.read_text(path)
    else:
        assert init.read_text(path)


def _config(kernel) -> dict[str, str]:
    """The running kernel's configuration, from its /proc/config.gz as this process sees it."""
    import gzip
    import os
    if kernel.release != os.uname().release:
        pytest.skip(f"the configuration of Linux {kernel.release} is not readable here: "
                    f"/proc/config.gz is this machine's {os.uname().release}'s (and the tables "
                    f"record 6.18's entries, not the release each appeared in)")
    try:
        with gzip.open("/proc/config.gz", "rt") as f:
            text = f.read()
    except OSError as e:
        pytest.skip(f"the running kernel's configuration is not readable: {e}")
    out = {}
    for line in text.splitlines():
        if line.startswith("CONFIG_"):
            key, _, value = line.partition("=")
            out[key[len("CONFIG_"):]] = value
    return out


def _every_entry(tid: int):
    """(path, entry) for every entry of the tables, in a directory every kernel has."""
    for key, table in tables.PROC_DIRS.items():
        for name, e in table.items():
            yield f"/proc/{key + '/' if key else ''}{name}", e
    for name, e in tables.PROC_TGID.items():
        yield f"/proc/self/{name}", e
    for name, e in tables.PROC_TID.items():
        yield f"/proc/self/task/{tid}/{name}", e
    for name, e in tables.PROC_NS.items():
        yield f"/proc/self/ns/{name}", e


def test_every_entry_linux_has_is_unsupported_or_modelled_never_enoent_in_the_model(model):
    init = model.init
    for path, _ in _every_entry(init.gettid()):
        try:
            init.close(init.open(path, O_PATH))       # a modelled entry opens
        except Unsupported:
            pass


@pytest.mark.live_only("holds the tables against the running kernel and its configuration")
def test_every_entry_exists_live_exactly_when_its_options_are_set(kernel):
    """An entry whose options are all =y exists; one with an option not set does not.
    Entries that also need hardware or boot options, or an option =m, are not judged."""
    config = _config(kernel)
    init = kernel.init
    wrong = []
    for path, e in _every_entry(init.gettid()):
        values = [config.get(n, "") for n in e.needs]
        if any(v == "m" for v in values):
            continue
        expected = all(v == "y" for v in values)
        if expected and e.more:
            continue
        try:
            init.close(init.open(path, O_PATH))
            exists = True
        except FileNotFoundError:
            exists = False
        if exists != expected:
            wrong.append(f"{path}: {'present' if exists else 'absent'} here, needs {e.why()}")
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize("path", [
    "/proc/nonexistent", "/proc/sys/no_such_table", "/proc/sys/kernel/no_such_sysctl",
    "/proc/sys/kernel/random/no_such", "/proc/sys/user/no_such", "/proc/self/no_such",
    "/proc/self/children",                  # a thread's file: tid_base_stuff only
    "/proc/self/task/{tid}/task", "/proc/self/task/{tid}/timers", "/proc/self/ns/no_such",
    "/proc/self/fdinfo/999", "/proc/self/task/self",
])
def test_a_name_no_linux_has_is_enoent(kernel, path):
    init = kernel.init
    with raises_errno(errno.ENOENT):
        init.read_text(path.format(tid=init.gettid()))


@pytest.mark.parametrize("path", ["/proc/loadavg/x", "/proc/self/status/x", "/proc/self/comm/x",
                                  "/proc/sys/kernel/pid_max/x", "/proc/sys/kernel/threads-max/x",
                                  "/proc/self/ns/pid/x", "/proc/self/limits/", "/proc/self/status/"])
def test_a_path_through_a_file_is_enotdir(kernel, path):
    with raises_errno(errno.ENOTDIR):
        kernel.init.read_text(path)


@pytest.mark.parametrize("path", ["/proc/sys", "/proc/sys/kernel", "/proc/sys/kernel/random",
                                  "/proc/sys/vm", "/proc/self/ns", "/proc/self/fdinfo",
                                  "/proc/driver", "/proc/fs", "/proc/irq"])
def test_reading_a_directory_linux_has_is_eisdir_modelled_or_not(kernel, path):
    with raises_errno(errno.EISDIR):
        kernel.init.read_text(path)


@pytest.mark.parametrize("link, target", [("/proc/mounts", "self/mounts"), ("/proc/net", "self/net")])
def test_proc_mounts_and_proc_net_link_to_the_readers_own(kernel, link, target):
    assert kernel.init.readlink(link) == target


def test_a_machine_wide_sysctl_is_not_written_on_either_backend(kernel):
    """The model does not model it; the live backend never writes the host's."""
    with pytest.raises(Unsupported):
        kernel.init.write_text("/proc/sys/kernel/hostname", "renamed")
