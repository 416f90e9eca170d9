"""Core dumps as far as pids, wait statuses and pidfs see them; RLIMIT_CORE.

Where the expected values come from:
* fs/coredump.c (6.18) vfs_coredump: coredump_skip (not dumpable: nothing),
  coredump_file (RLIMIT_CORE below binfmt->min_coredump, one page, writes
  nothing; a set-uid dump needs an absolute pattern), coredump_pipe (RLIMIT_CORE 1
  aborts), umh_coredump_setup and coredump_sock_connect (the only callers of
  pidfs_coredump, so a file pattern never records a coredump mask), and
  coredump_finish (0x80 only when a dump was written);
* fs/binfmt_elf.c elf_core_dump: `has_dumped = 1` once the notes are collected,
  so a dump truncated by RLIMIT_CORE still counts as a dump;
* coredump_wait/zap_threads: the other threads enter do_exit with the bare signal
  as their code, before 0x80 is added to the group's;
* kernel/exit.c wait_task_zombie (CLD_DUMPED when status & 0x80) and release_task
  (a delayed group leader takes the group code);
* kernel/sys.c do_prlimit: EINVAL for a resource >= RLIM_NLIMITS or soft > hard,
  EPERM to raise a hard limit without CAP_SYS_RESOURCE; include/asm-generic/resource.h
  INIT_RLIMITS: RLIMIT_CORE starts at {0, RLIM_INFINITY};
* kernel/sysctl.c proc_sys_permission/test_perm: a global sysctl of mode 0644 is
  writable by euid 0 only; fs/coredump.c proc_dostring_coredump, check_coredump_socket.

Versions (pidlab/_changes.py): PIDFD_GET_INFO reports the exit code from 6.15
(pidfd-info-exit) and the coredump mask from 6.16 (pidfd-info-coredump), so the
scenarios check those where the kernel has them and the wait status everywhere.
Before 6.16 ("coredump: add coredump socket") a '@' pattern is a file name and
writing core_pattern never fails (a 6.15-era fs/coredump.c: format_corename
knows only '|', proc_dostring_coredump only warns); 6.17 adds '@@', the
UNIX_PATH_MAX limit and the '..' refusal (coredump-socket-req).  %F hands a
pipe helper a pidfd from 6.15.1 (not modelled) and is recorded by pidfs from 6.16.

The live sandbox writes core files to its own tmpfs (its working directory).  A
live test that makes a process dump core runs only when the host's
kernel.core_pattern is a plain relative file name, so that no dump leaves the
sandbox; kernel.core_pattern and fs.suid_dumpable are global, so only the model
lets a scenario change them.
"""

from __future__ import annotations

import errno
import resource

import pytest

import pidlab
from pidlab import (CAP_KILL, CAP_SYS_PTRACE, CAP_SYS_RESOURCE, CLD_DUMPED, CLD_KILLED,
                    P_PID, PIDFD_COREDUMP_ROOT, PIDFD_COREDUMP_SKIP, PIDFD_COREDUMP_USER,
                    PIDFD_COREDUMPED, PIDFD_INFO_COREDUMP, PIDFD_INFO_EXIT, PIDFD_THREAD,
                    PR_SET_DUMPABLE, RLIM_INFINITY, RLIMIT_CORE, RLIMIT_NOFILE, SIGABRT,
                    SIGBUS, SIGFPE, SIGILL, SIGKILL, SIGQUIT, SIGSEGV, SIGSYS, SIGTERM,
                    SIGTRAP, SIGUSR1, SIGXCPU, SIGXFSZ, WEXITED)

from pidlab.conformance.helpers import needs, raises_errno, snapshot

# Every scenario runs on the model at every kernel version and on every live kernel.
pytestmark = pytest.mark.pidlab_kernels("all")

CORE_SIGNALS = (SIGQUIT, SIGILL, SIGTRAP, SIGABRT, SIGBUS, SIGFPE, SIGSEGV, SIGXCPU,
                SIGXFSZ, SIGSYS)
PAGE = 4096
CORE_PATTERN = "/proc/sys/kernel/core_pattern"
SUID_DUMPABLE = "/proc/sys/fs/suid_dumpable"


def dumps_stay_in_sandbox(kernel) -> None:
    """Skip a live test whose dump would be handed to the host."""
    if isinstance(kernel, pidlab.Kernel):
        return
    pattern = kernel.init.read_text(CORE_PATTERN).rstrip("\n")
    if pattern.startswith(("|", "@", "/")) or "/" in pattern:
        pytest.skip(f"the host's core_pattern {pattern!r} would take the dump out of the "
                    "sandbox; this test needs a relative file pattern such as 'core'")


def dumping_child(kernel, soft=RLIM_INFINITY):
    child = kernel.init.clone(pidfd=True)
    child.task.setrlimit(RLIMIT_CORE, soft, RLIM_INFINITY)
    return child


MODEL_ONLY_CORE_PATTERN = ("kernel.core_pattern is machine-wide: the live backend never writes "
                           "it (the 'host-sysctls' difference)")


def exit_info(kernel, task, pidfd):
    """(exit code, coredump mask) that PIDFD_GET_INFO reports for a reaped process, None
    for what this kernel cannot report: the exit code before pidfd-info-exit (6.15), the
    mask before pidfd-info-coredump (6.16; 6.15 ignores the flag it does not know)."""
    if not kernel.has("pidfd-info-exit"):
        return None, None
    info = task.pidfd_get_info(pidfd, PIDFD_INFO_EXIT | PIDFD_INFO_COREDUMP)
    assert info.mask & PIDFD_INFO_EXIT
    if not kernel.has("pidfd-info-coredump"):
        assert not info.mask & PIDFD_INFO_COREDUMP
        return info.exit_code, None
    return info.exit_code, info.coredump_mask


def reports(kernel, exit_code, coredump_mask):
    """What exit_info gives on this kernel for a process that left these behind."""
    return (exit_code if kernel.has("pidfd-info-exit") else None,
            coredump_mask if kernel.has("pidfd-info-coredump") else None)


def thread_pidfd(kernel, tid):
    """A PIDFD_THREAD pidfd, for kernels whose PIDFD_GET_INFO reports exit codes (they
    all have pidfd-thread, 6.9); None where exit_info reports nothing anyway."""
    return kernel.init.pidfd_open(tid, PIDFD_THREAD) if kernel.has("pidfd-info-exit") else None


# ---------------------------------------------------------------- RLIMIT_CORE

def test_rlimit_core_starts_at_zero_soft_and_infinite_hard(kernel):
    if not isinstance(kernel, pidlab.Kernel) and \
            resource.getrlimit(resource.RLIMIT_CORE)[1] != resource.RLIM_INFINITY:
        pytest.skip("the host's hard RLIMIT_CORE is finite and cannot be raised here")
    assert kernel.init.getrlimit(RLIMIT_CORE) == (0, RLIM_INFINITY)


def test_rlimit_core_is_inherited_by_fork(kernel):
    kernel.init.setrlimit(RLIMIT_CORE, 8192, RLIM_INFINITY)
    child = kernel.init.fork()
    assert child.task.getrlimit(RLIMIT_CORE) == (8192, RLIM_INFINITY)


def test_rlimit_core_is_shared_by_threads(kernel):
    child = kernel.init.fork()
    thread = child.task.spawn_thread()
    thread.task.setrlimit(RLIMIT_CORE, 12345, RLIM_INFINITY)
    assert child.task.getrlimit(RLIMIT_CORE) == (12345, RLIM_INFINITY)


def test_rlimit_core_survives_execve(kernel):
    child = kernel.init.fork()
    child.task.setrlimit(RLIMIT_CORE, PAGE, PAGE * 2)
    child.task.execve()
    assert child.task.getrlimit(RLIMIT_CORE) == (PAGE, PAGE * 2)


def test_minus_one_stands_for_rlim_infinity(kernel):
    child = kernel.init.fork()
    child.task.setrlimit(RLIMIT_CORE, -1, -1)
    assert child.task.getrlimit(RLIMIT_CORE) == (RLIM_INFINITY, RLIM_INFINITY)


def test_setrlimit_soft_above_hard_is_einval_and_changes_nothing(kernel):
    child = kernel.init.fork()
    before = child.task.getrlimit(RLIMIT_CORE)
    with raises_errno(errno.EINVAL):
        child.task.setrlimit(RLIMIT_CORE, 5, 4)
    assert child.task.getrlimit(RLIMIT_CORE) == before


@pytest.mark.parametrize("res", [16, 17, 2**31, 2**32 - 1, -1])
def test_a_resource_beyond_rlim_nlimits_is_einval(kernel, res):
    with raises_errno(errno.EINVAL):
        kernel.init.getrlimit(res)
    with raises_errno(errno.EINVAL):
        kernel.init.setrlimit(res, 0, 0)


def test_raising_the_hard_limit_needs_cap_sys_resource(kernel):
    child = kernel.init.fork()
    child.task.setrlimit(RLIMIT_CORE, 0, PAGE)
    child.task.capset([CAP_KILL, CAP_SYS_PTRACE])
    with raises_errno(errno.EPERM):
        child.task.setrlimit(RLIMIT_CORE, 0, PAGE + 1)
    assert child.task.getrlimit(RLIMIT_CORE) == (0, PAGE)


def test_lowering_the_hard_limit_needs_no_capability_and_is_for_good(kernel):
    child = kernel.init.fork()
    child.task.capset([CAP_KILL, CAP_SYS_PTRACE])
    child.task.setrlimit(RLIMIT_CORE, 0, PAGE)
    child.task.setrlimit(RLIMIT_CORE, PAGE, PAGE)       # the soft limit moves freely
    with raises_errno(errno.EPERM):
        child.task.setrlimit(RLIMIT_CORE, 0, RLIM_INFINITY)
    assert child.task.getrlimit(RLIMIT_CORE) == (PAGE, PAGE)


@pytest.mark.model_only(reason="the live agents hold no CAP_SYS_RESOURCE on this machine "
                        "(its bounding set lacks it: see the 'caps' difference)")
def test_cap_sys_resource_raises_a_hard_limit(kernel):
    child = kernel.init.fork()
    child.task.setrlimit(RLIMIT_CORE, 0, PAGE)
    child.task.capset([CAP_SYS_RESOURCE])
    child.task.setrlimit(RLIMIT_CORE, 0, RLIM_INFINITY)
    assert child.task.getrlimit(RLIMIT_CORE) == (0, RLIM_INFINITY)


def test_setrlimit_checks_before_it_refuses_other_resources(kernel):
    """Only RLIMIT_CORE is in the API, but the kernel's EINVAL/EPERM checks that
    come before the resource is looked at hold for every resource."""
    with raises_errno(errno.EINVAL):
        kernel.init.setrlimit(RLIMIT_NOFILE, 10, 9)
    with raises_errno(errno.EPERM):         # above fs.nr_open (1048576)
        kernel.init.setrlimit(RLIMIT_NOFILE, 10, 2**20 + 1)
    with pytest.raises(pidlab.Unsupported):
        kernel.init.setrlimit(RLIMIT_NOFILE, 10, 10)


@pytest.mark.parametrize("args", [("4", 0, 0), (RLIMIT_CORE, "0", 0), (RLIMIT_CORE, 0, None),
                                  (4.0, 0, 0)])
def test_setrlimit_wrong_types_are_typeerror(kernel, args):
    before = kernel.init.getrlimit(RLIMIT_CORE)
    with pytest.raises(TypeError):
        kernel.init.setrlimit(*args)
    assert kernel.init.getrlimit(RLIMIT_CORE) == before


# ---------------------------------------------------------------- dumps and wait statuses

@pytest.mark.parametrize("sig", CORE_SIGNALS)
def test_no_core_is_dumped_with_the_default_rlimit(kernel, sig):
    child = kernel.init.clone(pidfd=True)
    kernel.init.kill(child.pid, sig)
    assert kernel.init.waitpid(child.pid) == (child.pid, sig)
    assert exit_info(kernel, kernel.init, child.pidfd) == reports(kernel, sig, 0)


@pytest.mark.parametrize("sig", CORE_SIGNALS)
def test_a_written_dump_adds_0x80_to_the_status(kernel, sig):
    dumps_stay_in_sandbox(kernel)
    child = dumping_child(kernel)
    kernel.init.kill(child.pid, sig)
    assert kernel.init.waitpid(child.pid) == (child.pid, sig | 0x80)


@pytest.mark.parametrize("sig", [SIGTERM, SIGKILL, SIGUSR1])
def test_signals_that_do_not_dump_never_set_0x80(kernel, sig):
    child = dumping_child(kernel)
    kernel.init.kill(child.pid, sig)
    assert kernel.init.waitpid(child.pid) == (child.pid, sig)


def test_waitid_reports_cld_dumped(kernel):
    dumps_stay_in_sandbox(kernel)
    child = dumping_child(kernel)
    kernel.init.kill(child.pid, SIGABRT)
    r = kernel.init.waitid(P_PID, child.pid, WEXITED)
    assert (r.si_pid, r.si_code, r.si_status) == (child.pid, CLD_DUMPED, SIGABRT)


def test_waitid_reports_cld_killed_without_a_dump(kernel):
    child = kernel.init.fork()
    kernel.init.kill(child.pid, SIGABRT)
    r = kernel.init.waitid(P_PID, child.pid, WEXITED)
    assert (r.si_code, r.si_status) == (CLD_KILLED, SIGABRT)


def test_rlimit_core_below_one_page_writes_nothing(kernel):
    dumps_stay_in_sandbox(kernel)
    child = dumping_child(kernel, soft=PAGE - 1)
    kernel.init.kill(child.pid, SIGSEGV)
    assert kernel.init.waitpid(child.pid)[1] == SIGSEGV


def test_a_dump_truncated_by_rlimit_core_still_counts(kernel):
    dumps_stay_in_sandbox(kernel)
    child = dumping_child(kernel, soft=PAGE)
    kernel.init.kill(child.pid, SIGSEGV)
    assert kernel.init.waitpid(child.pid)[1] == SIGSEGV | 0x80


def test_a_non_dumpable_process_dumps_nothing(kernel):
    child = dumping_child(kernel)
    child.task.prctl(PR_SET_DUMPABLE, 0)
    kernel.init.kill(child.pid, SIGSEGV)
    assert kernel.init.waitpid(child.pid)[1] == SIGSEGV
    assert exit_info(kernel, kernel.init, child.pidfd) == reports(kernel, SIGSEGV, 0)


def test_a_process_made_non_dumpable_by_setuid_dumps_nothing(kernel):
    """commit_creds sets dumpable to fs.suid_dumpable (0 by default) when the euid changes."""
    if kernel.init.read_text(SUID_DUMPABLE).strip() != "0":
        pytest.skip("the host's fs.suid_dumpable is not 0")
    child = dumping_child(kernel)
    child.task.setresuid(-1, 1000, -1)
    kernel.init.kill(child.pid, SIGSEGV)
    assert kernel.init.waitpid(child.pid)[1] == SIGSEGV


def test_a_file_dump_records_no_coredump_mask_in_pidfs(kernel):
    """Only the pipe (%F) and socket patterns call pidfs_coredump."""
    dumps_stay_in_sandbox(kernel)
    child = dumping_child(kernel)
    kernel.init.kill(child.pid, SIGQUIT)
    kernel.init.waitpid(child.pid)
    assert exit_info(kernel, kernel.init, child.pidfd) == reports(kernel, SIGQUIT | 0x80, 0)


def test_the_thread_that_dumps_gives_the_group_its_status(kernel):
    dumps_stay_in_sandbox(kernel)
    child = dumping_child(kernel)
    thread = child.task.spawn_thread()
    tfd = thread_pidfd(kernel, thread.pid)
    kernel.init.tgkill(child.pid, thread.pid, SIGSEGV)
    assert kernel.init.waitpid(child.pid)[1] == SIGSEGV | 0x80
    assert exit_info(kernel, kernel.init, tfd) == reports(kernel, SIGSEGV | 0x80, 0)
    # The leader was zapped with the bare signal.  If it is still a zombie when the
    # dumping thread is released, it takes the group's code (release_task); the two
    # run concurrently after coredump_finish, so Linux gives either.
    assert exit_info(kernel, kernel.init, child.pidfd) in (reports(kernel, SIGSEGV | 0x80, 0),
                                                           reports(kernel, SIGSEGV, 0))


def test_zapped_threads_exit_with_the_bare_signal(kernel):
    dumps_stay_in_sandbox(kernel)
    child = dumping_child(kernel)
    thread = child.task.spawn_thread()
    tfd = thread_pidfd(kernel, thread.pid)
    kernel.init.tgkill(child.pid, child.pid, SIGSEGV)      # the leader dumps
    assert kernel.init.waitpid(child.pid)[1] == SIGSEGV | 0x80
    assert exit_info(kernel, kernel.init, child.pidfd) == reports(kernel, SIGSEGV | 0x80, 0)
    assert exit_info(kernel, kernel.init, tfd) == reports(kernel, SIGSEGV, 0)


# ---------------------------------------------------------------- the coredump mask of a live task

@pytest.mark.parametrize("dumpable, mask", [(1, PIDFD_COREDUMP_USER), (0, PIDFD_COREDUMP_SKIP)])
def test_pr_set_dumpable_decides_the_mask_of_a_live_task(kernel, dumpable, mask):
    needs(kernel, "pidfd-info-coredump")
    child = kernel.init.clone(pidfd=True)
    child.task.prctl(PR_SET_DUMPABLE, dumpable)
    info = kernel.init.pidfd_get_info(child.pidfd, PIDFD_INFO_COREDUMP)
    assert info.mask & PIDFD_INFO_COREDUMP
    assert info.coredump_mask == mask


def test_pidfd_info_coredump_is_an_unknown_flag_before_616(kernel):
    """6.13-6.15 fill what they know and leave PIDFD_INFO_COREDUMP out of the mask
    (before 6.13 there is no PIDFD_GET_INFO at all)."""
    needs(kernel, "pidfd-info")
    child = kernel.init.clone(pidfd=True)
    info = kernel.init.pidfd_get_info(child.pidfd, PIDFD_INFO_COREDUMP)
    assert bool(info.mask & PIDFD_INFO_COREDUMP) is kernel.has("pidfd-info-coredump")
    assert info.coredump_mask == (PIDFD_COREDUMP_USER if kernel.has("pidfd-info-coredump")
                                  else 0)


def test_pr_set_dumpable_2_is_einval(kernel):
    child = kernel.init.fork()
    with raises_errno(errno.EINVAL):
        child.task.prctl(PR_SET_DUMPABLE, 2)
    assert child.task.prctl(pidlab.PR_GET_DUMPABLE) == 1


# ---------------------------------------------------------------- core_pattern and suid_dumpable

def test_the_core_sysctls_read_as_text(kernel):
    pattern = kernel.init.read_text(CORE_PATTERN)
    assert pattern.endswith("\n") and len(pattern) <= 128
    assert kernel.init.read_text(SUID_DUMPABLE) in ("0\n", "1\n", "2\n")


def test_the_model_takes_linuxs_default_core_sysctls(model):
    assert model.init.read_text(CORE_PATTERN) == "core\n"
    assert model.init.read_text(SUID_DUMPABLE) == "0\n"


@pytest.mark.live_only(reason="the refusal protects the host: the live backend never writes "
                       "a global sysctl")
def test_the_live_backend_refuses_to_write_global_sysctls(kernel):
    for path in (CORE_PATTERN, SUID_DUMPABLE, "/proc/sys/kernel/threads-max", "/tmp/x"):
        with pytest.raises(pidlab.Unsupported):
            kernel.init.write_text(path, "1")


@pytest.mark.model_only(reason=MODEL_ONLY_CORE_PATTERN)
def test_pipe_pattern_with_pidfd_records_the_coredump_mask_from_616(kernel):
    kernel.init.write_text(CORE_PATTERN, "|/usr/lib/core-helper %P %F")
    child = kernel.init.clone(pidfd=True)       # RLIMIT_CORE 0 does not stop a pipe
    kernel.init.kill(child.pid, SIGSEGV)
    assert kernel.init.waitpid(child.pid)[1] == SIGSEGV | 0x80
    assert exit_info(kernel, kernel.init, child.pidfd) == reports(
        kernel, SIGSEGV | 0x80, PIDFD_COREDUMPED | PIDFD_COREDUMP_USER)


@pytest.mark.model_only(reason=MODEL_ONLY_CORE_PATTERN)
def test_pipe_pattern_without_pidfd_records_no_mask(kernel):
    kernel.init.write_text(CORE_PATTERN, "|/usr/lib/core-helper %P %%F")
    child = kernel.init.clone(pidfd=True)
    kernel.init.kill(child.pid, SIGSEGV)
    kernel.init.waitpid(child.pid)
    assert exit_info(kernel, kernel.init, child.pidfd) == reports(kernel, SIGSEGV | 0x80, 0)


@pytest.mark.model_only(reason=MODEL_ONLY_CORE_PATTERN)
def test_rlimit_core_1_aborts_a_pipe_dump(kernel):
    kernel.init.write_text(CORE_PATTERN, "|/helper %F")
    child = kernel.init.clone(pidfd=True)
    child.task.setrlimit(RLIMIT_CORE, 1, 1)
    kernel.init.kill(child.pid, SIGSEGV)
    assert kernel.init.waitpid(child.pid)[1] == SIGSEGV
    assert exit_info(kernel, kernel.init, child.pidfd) == reports(kernel, SIGSEGV, 0)


@pytest.mark.model_only(reason=MODEL_ONLY_CORE_PATTERN)
def test_a_socket_pattern_records_the_mask_although_nobody_listens(kernel):
    needs(kernel, "coredump-socket")
    kernel.init.write_text(CORE_PATTERN, "@/run/coredump.socket")
    child = kernel.init.clone(pidfd=True)
    child.task.setrlimit(RLIMIT_CORE, -1, -1)   # a socket dump ignores RLIMIT_CORE
    kernel.init.kill(child.pid, SIGSEGV)
    assert kernel.init.waitpid(child.pid)[1] == SIGSEGV
    assert exit_info(kernel, kernel.init, child.pidfd) == (
        SIGSEGV, PIDFD_COREDUMPED | PIDFD_COREDUMP_USER)
    # 6.19 also records the signal that dumped (6.16-6.18: the slot is __spare1, 0).
    info = kernel.init.pidfd_get_info(child.pidfd, PIDFD_INFO_EXIT | PIDFD_INFO_COREDUMP, 80)
    assert info.coredump_signal == (SIGSEGV if kernel.has("pidfd-info-coredump-signal") else 0)


@pytest.mark.model_only(reason=MODEL_ONLY_CORE_PATTERN)
def test_an_at_sign_pattern_names_a_file_before_616(kernel):
    """Before the coredump socket, '@/run/coredump.socket' is the relative file name
    '@/run/coredump.socket': RLIMIT_CORE below one page stops it, as any file dump,
    and pidfs records nothing (6.16 and later: a socket, whatever RLIMIT_CORE)."""
    kernel.init.write_text(CORE_PATTERN, "@/run/coredump.socket")
    assert kernel.init.read_text(CORE_PATTERN) == "@/run/coredump.socket\n"
    child = kernel.init.clone(pidfd=True)
    child.task.setrlimit(RLIMIT_CORE, PAGE - 1, RLIM_INFINITY)
    kernel.init.kill(child.pid, SIGSEGV)
    assert kernel.init.waitpid(child.pid)[1] == SIGSEGV
    mask = PIDFD_COREDUMPED | PIDFD_COREDUMP_USER if kernel.has("coredump-socket") else 0
    assert exit_info(kernel, kernel.init, child.pidfd) == reports(kernel, SIGSEGV, mask)


@pytest.mark.model_only(reason=MODEL_ONLY_CORE_PATTERN)
def test_suid_dumpable_2_dumps_setuid_processes_as_root_through_a_pipe(kernel):
    kernel.init.write_text(CORE_PATTERN, "|/helper %F")
    kernel.init.write_text(SUID_DUMPABLE, "2")
    child = kernel.init.clone(pidfd=True)
    child.task.setresuid(-1, 1000, -1)
    if kernel.has("pidfd-info-coredump"):
        info = kernel.init.pidfd_get_info(child.pidfd, PIDFD_INFO_COREDUMP)
        assert info.coredump_mask == PIDFD_COREDUMP_ROOT
    kernel.init.kill(child.pid, SIGSEGV)
    assert kernel.init.waitpid(child.pid)[1] == SIGSEGV | 0x80
    assert exit_info(kernel, kernel.init, child.pidfd) == reports(
        kernel, SIGSEGV | 0x80, PIDFD_COREDUMPED | PIDFD_COREDUMP_ROOT)


def test_suid_dumpable_2_refuses_a_relative_file_pattern():
    k = pidlab.Kernel(suid_dumpable=2)
    child = k.init.fork()
    child.task.setrlimit(RLIMIT_CORE, -1, -1)
    child.task.setresuid(-1, 1000, -1)
    k.init.kill(child.pid, SIGSEGV)
    assert k.init.waitpid(child.pid)[1] == SIGSEGV
    k2 = pidlab.Kernel(core_pattern="/var/crash/core", suid_dumpable=2)
    child = k2.init.fork()
    child.task.setrlimit(RLIMIT_CORE, -1, -1)
    child.task.setresuid(-1, 1000, -1)
    k2.init.kill(child.pid, SIGSEGV)
    assert k2.init.waitpid(child.pid)[1] == SIGSEGV | 0x80


def test_writing_core_pattern_in_the_model():
    k = pidlab.Kernel()
    k.init.write_text(CORE_PATTERN, "|/helper %F\nignored")
    assert k.init.read_text(CORE_PATTERN) == "|/helper %F\n"
    k.init.write_text(CORE_PATTERN, "x" * 200)
    assert k.init.read_text(CORE_PATTERN) == "x" * 127 + "\n"


@pytest.mark.model_only(reason=MODEL_ONLY_CORE_PATTERN)
@pytest.mark.parametrize("pattern, refused_by", [
    ("@relative", "coredump-socket"),           # not an absolute path
    ("@@relative", "coredump-socket"),
    ("@/a/../b", "coredump-socket-req"),        # 6.16 takes '..' and any length
    ("@/" + "s" * 107, "coredump-socket-req"),  # the path reaches UNIX_PATH_MAX
])
def test_bad_socket_patterns_are_einval_and_keep_the_old_one(kernel, pattern, refused_by):
    """Before the change that refuses a pattern, it is written as it is (before 6.16,
    a '@' pattern is a file name and proc_dostring_coredump never fails)."""
    if kernel.has(refused_by):
        with raises_errno(errno.EINVAL):
            kernel.init.write_text(CORE_PATTERN, pattern)
        assert kernel.init.read_text(CORE_PATTERN) == "core\n"
    else:
        kernel.init.write_text(CORE_PATTERN, pattern)
        assert kernel.init.read_text(CORE_PATTERN) == pattern + "\n"


@pytest.mark.model_only(reason=MODEL_ONLY_CORE_PATTERN)
def test_the_socket_request_pattern_is_einval_only_on_616(kernel):
    """'@@/path' (6.17's request protocol) is refused by 6.16's check, which wants '@/'."""
    if kernel.has("coredump-socket") and not kernel.has("coredump-socket-req"):
        with raises_errno(errno.EINVAL):
            kernel.init.write_text(CORE_PATTERN, "@@/run/coredump.socket")
        assert kernel.init.read_text(CORE_PATTERN) == "core\n"
    else:
        kernel.init.write_text(CORE_PATTERN, "@@/run/coredump.socket")
        assert kernel.init.read_text(CORE_PATTERN) == "@@/run/coredump.socket\n"


def test_only_euid_0_writes_the_core_sysctls():
    k = pidlab.Kernel()
    child = k.init.fork()
    child.task.setresuid(-1, 1000, -1)
    for path in (CORE_PATTERN, SUID_DUMPABLE):
        with raises_errno(errno.EACCES):
            child.task.write_text(path, "1")
    assert k.init.read_text(SUID_DUMPABLE) == "0\n"
    assert child.task.read_text(CORE_PATTERN) == "core\n"


@pytest.mark.parametrize("text", ["3", "-1", "x", "0x"])
def test_suid_dumpable_range_is_0_to_2(text):
    k = pidlab.Kernel()
    with raises_errno(errno.EINVAL):
        k.init.write_text(SUID_DUMPABLE, text)
    assert k.init.read_text(SUID_DUMPABLE) == "0\n"
    k.init.write_text(SUID_DUMPABLE, "0x2")
    assert k.init.read_text(SUID_DUMPABLE) == "2\n"


def test_kernel_rejects_bad_core_settings():
    with pytest.raises(TypeError):
        pidlab.Kernel(core_pattern=b"core")
    with pytest.raises(TypeError):
        pidlab.Kernel(suid_dumpable="0")
    with pytest.raises(ValueError):
        pidlab.Kernel(suid_dumpable=3)
    with pytest.raises(ValueError):
        pidlab.Kernel(core_pattern="@relative")
    # Before the coredump socket (6.16) that is a file name like any other.
    assert pidlab.Kernel(version="6.15", core_pattern="@relative").core_pattern == "@relative"


def test_a_failed_setrlimit_changes_nothing_observable(kernel):
    child = kernel.init.fork()
    before = snapshot([kernel.init, child.task])
    for args in [(RLIMIT_CORE, 2, 1), (99, 0, 0)]:
        with pytest.raises(OSError):
            child.task.setrlimit(*args)
    assert snapshot([kernel.init, child.task]) == before
