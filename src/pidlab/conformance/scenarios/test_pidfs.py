"""pidfs: PIDFD_GET_INFO, the pidfs inode behind every pidfd (fstat, fstatfs,
FS_IOC_GETVERSION), file handles, trusted.* xattrs, SO_PEERPIDFD, and the ports of the
pidfs selftests, at every kernel version from 6.1.

Every scenario runs on the model at each version and on every live kernel (the host,
and the 6.1 and 6.12 virtual machines).  A scenario that differs by version states
each version's answer and names the upstream change that makes the difference
(`kernel.has(key)`, src/pidlab/_changes.py); a scenario of a feature an older kernel
lacks altogether skips there (`needs`), and one scenario per such feature says what
the older kernel answers instead:
* PIDFD_GET_INFO ("pidfd-info", 6.13): test_get_info_before_613_...;
* pidfs inodes ("pidfs", 6.9): test_pidfds_of_every_process_share_one_anonymous_inode_...;
* file handles ("pidfs-fhandle", 6.14): test_name_to_handle_at_of_a_pidfd_is_eopnotsupp_...;
  FD_PIDFS_ROOT ("fd-pidfs-root", 6.17): test_open_by_handle_at_with_fd_pidfs_root_...;
* xattrs ("pidfs-xattr", 6.17): test_xattrs_of_a_pidfd_before_617_...;
* SO_PEERPIDFD ("so-peerpidfd", 6.5): test_so_peerpidfd_is_enoprotoopt_before_65; of a
  reaped peer ("peerpidfd-reaped", 6.16): test_so_peerpidfd_of_a_reaped_peer_is_einval_...;
* exit information ("pidfd-info-exit", 6.15) and PIDFD_INFO_COREDUMP
  ("pidfd-info-coredump", 6.16): per-version answers inside the GET_INFO scenarios.

Where the expected values come from:
* /work/shared/spec/linux-pid-6.18.md sections 7 (pidfs inodes, attr, xattrs, stat),
  9 (PIDFD_GET_INFO), 10 (file handles), 11 (the persistence race and SO_PEERPIDFD);
* /work/shared/spec/live-kernel-facts.md sections 5d (inode numbers), 6 (GET_INFO),
  7 (file handles) and 9 (SO_PEERPIDFD, xattrs);
* /work/shared/spec/versions.md and the code quoted per version in the versions brief
  (pidfd_info, pidfd_ioctl, xattr_permission, handle_to_path by release); the 6.1.0-57
  and 6.12.117 virtual machines for those two;
* /work/shared/spec/kernel-selftests.md sections 2.8, 2.9, 2.11, 2.14;
* kernel sources named in a test's comment: fs/pidfs.c (pidfd_info,
  pidfs_export_permission, pidfs_export_open, pidfs_fh_to_dentry, pidfs_xattr_get),
  fs/fhandle.c (name_to_handle_at, handle_to_path, get_path_anchor), fs/xattr.c
  (path_setxattrat, path_getxattrat, path_removexattrat, setxattr_copy,
  import_xattr_name, xattr_permission, xattr_resolve_name).

Inode numbers are compared by equality and order only (src/pidlab/differences.py:
"pidfs-ino"), never by value: the 6.12 machine counts them from 301, the host from 2,
machine-wide, and 6.1 has one anonymous inode for every pidfd.

Selftests ported (each as test_selftest_<file>_<case>; each needs the features it
tests):
* pidfd_info_test.c: sigkill_exit, sigkill_reaped, success_exit, success_reaped,
  success_reaped_poll, thread_group (newest expectations: the group's SIGKILL is the
  leader's exit code), thread_group_exec, thread_group_exec_thread (pidfd_exec_helper
  is the agent after execve), supported_mask_field and supported_mask_with_other_fields
  (PIDFD_INFO_SUPPORTED_MASK is 6.19's; earlier kernels ignore the bit);
* pidfd_file_handle_test.c: all 11 tests (CLONE_NEWUSER dropped from the fixture);
* pidfd_xattr_test.c: set_get_list_xattr_multiple and the older
  set_get_list_xattr_persistent;
* pidfd_inode_owner_test.c (vfs tree only): owner_self, owner_child,
  owner_child_changed_uid, owner_exited_child, owner_exited_child_changed_uid,
  permission_same_user, with the mainline answers (the inode is always owned by 0:0).

Left out, and why:
* pidfd_bind_mount.c (bind_mount, reopen, bind_mount_reopen): the API has no
  open_tree/move_mount and no /proc/<pid>/fd/<n> to reopen.
* pidfd_setattr_test.c (no_chown, no_chmod, no_exec): no fchown, fchmod or execveat.
* pidfd_inode_owner_test.c permission_different_user_denied (its EACCES comes from
  the vfs-tree owner patches; 6.18's answer for user.* read by a non-owner is not in
  the spec) and owner_kthread (no kthreadd in either backend).
* pidfd_info_test.c child fixtures with CLONE_NEWUSER: user namespaces are not in the
  model; CLONE_NEWPID alone is kept.
* Core dumps (PIDFD_COREDUMPED, the coredump selftests): no backend can dump core;
  the coredump_mask derived from the dumpable mode is tested.
* The ioctl forms the API cannot build: a NULL argument (EINVAL), a faulting buffer
  (EFAULT), _IOR or another nr (ENOTTY); read/write/lseek on a pidfd; the mount id of
  name_to_handle_at; SCM_PIDFD (no sendmsg); unconnected sockets (socketpair() is
  always connected, so SO_PEERPIDFD's ENODATA cannot occur).
* AT_HANDLE_FID handles of pidfds before 6.14 (6.7-6.13 build a FILEID_INO64_GEN id from
  the inode number; the model declines them: pidlab.Unsupported).
* 32-bit inode/generation split: the live kernels are 64-bit, and a 32-bit wrap would
  take 2**32 pids.
"""

from __future__ import annotations

import errno
import os
import struct

import pytest

import pidlab
from pidlab import (ANON_INODE_FS_MAGIC, AT_EMPTY_PATH, AT_FDCWD, AT_HANDLE_CONNECTABLE,
                    AT_HANDLE_FID, AT_HANDLE_MNT_ID_UNIQUE, CAP_SYS_ADMIN, CLONE_NEWPID,
                    F_GETFD, F_GETFL, FD_CLOEXEC, FD_PIDFS_ROOT, FILEID_KERNFS,
                    FS_IOC_GETVERSION, FileHandle, O_APPEND, O_ASYNC, O_CLOEXEC, O_CREAT,
                    O_DIRECT, O_DIRECTORY, O_DSYNC, O_EXCL, O_LARGEFILE, O_NOATIME, O_NOCTTY,
                    O_NOFOLLOW, O_NONBLOCK, O_PATH, O_RDONLY, O_RDWR, O_SYNC, O_TMPFILE,
                    O_TRUNC, O_WRONLY, P_PID, P_PIDFD, PID_FS_MAGIC, PIDFD_COREDUMP_SKIP,
                    PIDFD_COREDUMP_USER, PIDFD_INFO_CGROUPID, PIDFD_INFO_COREDUMP,
                    PIDFD_INFO_COREDUMP_SIGNAL, PIDFD_INFO_CREDS, PIDFD_INFO_EXIT,
                    PIDFD_INFO_PID, PIDFD_INFO_SUPPORTED_MASK, PIDFD_THREAD, POLLHUP, POLLIN,
                    POLLRDNORM, PR_SET_DUMPABLE, PidfdInfo, SIGCHLD, SIGKILL, SIGTERM,
                    SO_PEERPIDFD, SOL_SOCKET, WaitidResult, WEXITED, WNOWAIT, XATTR_CREATE,
                    XATTR_REPLACE)

from pidlab.conformance.helpers import (NS_LAST_PID_PATH, fdinfo, lowest_free_fd, machine_root,
                                        needs, raises_errno, skip_in_user_namespace, snapshot)

# Every scenario runs on the model at every kernel version and on every live kernel.
pytestmark = pytest.mark.pidlab_kernels("all")

ALIVE_MASK = PIDFD_INFO_PID | PIDFD_INFO_CREDS | PIDFD_INFO_CGROUPID      # 0x7
REAPED_MASK = PIDFD_INFO_EXIT | PIDFD_INFO_CGROUPID                       # 0xc
PIDFD_INFO_COREDUMP_CODE = 1 << 7           # newer than every modelled kernel
# 6.19's PIDFD_INFO_SUPPORTED (fs/pidfs.c): what supported_mask reports.
PIDFD_INFO_SUPPORTED = (ALIVE_MASK | PIDFD_INFO_EXIT | PIDFD_INFO_COREDUMP |
                        PIDFD_INFO_SUPPORTED_MASK | PIDFD_INFO_COREDUMP_SIGNAL)
ENOTSUP = errno.EOPNOTSUPP
CLOSED_FD = 500
READABLE = POLLIN | POLLRDNORM
REAPED = POLLIN | POLLRDNORM | POLLHUP


def ino(task, fd: int) -> int:
    return task.fstat(fd).st_ino


def handle_of(task, fd: int, flags: int = AT_EMPTY_PATH) -> FileHandle:
    return task.name_to_handle_at(fd, "", flags)


def anchor(kernel, pidfd: int) -> int:
    """A mount fd that decodes pidfs handles: FD_PIDFS_ROOT from "fd-pidfs-root" (6.17),
    before that any pidfd (6.14-6.16 get_path_from_fd takes only a real descriptor)."""
    return FD_PIDFS_ROOT if kernel.has("fd-pidfs-root") else pidfd


def reaped_child(kernel, code: int = 0, flags: int = 0):
    """A child of init that exited with `code` and was reaped; init holds its pidfd."""
    init = kernel.init
    child = init.clone(flags, pidfd=True)
    child.task.exit(code)
    init.waitpid(child.pid, 0)
    return init, child


def info_size(kernel) -> int:
    """sizeof(struct pidfd_info): 64 bytes (6.13), 72 with coredump_mask
    ("pidfd-info-coredump", 6.16), 80 with supported_mask ("pidfd-info-supported-mask")."""
    if kernel.has("pidfd-info-supported-mask"):
        return pidlab.PIDFD_INFO_SIZE_VER2
    if kernel.has("pidfd-info-coredump"):
        return pidlab.PIDFD_INFO_SIZE_VER1
    return pidlab.PIDFD_INFO_SIZE_VER0


def coredump_bit(kernel, mask: int, mm: bool) -> int:
    """PIDFD_INFO_COREDUMP in the answer to `mask` for a task that did not dump core:
    6.16-6.18 set it whenever it is asked for; from "pidfd-info-coredump-fix" (6.19)
    only while the task has an mm, whose dumpability then fills coredump_mask."""
    if not mask & PIDFD_INFO_COREDUMP or not kernel.has("pidfd-info-coredump"):
        return 0
    if kernel.has("pidfd-info-coredump-fix") and not mm:
        return 0
    return PIDFD_INFO_COREDUMP


def supported_bit(kernel, mask: int) -> int:
    """PIDFD_INFO_SUPPORTED_MASK in the answer: 6.19 sets it when asked; before, the
    bit is unknown and ignored."""
    if mask & PIDFD_INFO_SUPPORTED_MASK and kernel.has("pidfd-info-supported-mask"):
        return PIDFD_INFO_SUPPORTED_MASK
    return 0


# ================================================================ PIDFD_GET_INFO

@pytest.mark.parametrize("state", ["alive", "reaped"])
def test_get_info_before_613_is_enotty_without_pidfd_ioctls_and_einval_with_them(kernel, state):
    """What kernels without "pidfd-info" (6.13) answer: 6.1-6.10 pidfds have no ioctl at
    all (vfs_ioctl: ENOTTY); 6.11-6.12 pidfd_ioctl refuses any non-zero argument before
    it looks at the command or the task (EINVAL, the 6.12 machine's answer).  From 6.13
    the struct comes back, and a reaped task is ESRCH unless its exit was asked for."""
    init = kernel.init
    child = init.clone(pidfd=True)
    if state == "reaped":
        child.task.exit(0)
        init.waitpid(child.pid, 0)
    if kernel.has("pidfd-info"):
        if state == "alive":
            assert init.pidfd_get_info(child.pidfd).pid == child.pid
        else:
            with raises_errno(errno.ESRCH):
                init.pidfd_get_info(child.pidfd, 0)
        return
    with raises_errno(errno.EINVAL if kernel.has("pidfs-ns-ioctls") else errno.ENOTTY):
        init.pidfd_get_info(child.pidfd, PIDFD_INFO_EXIT)


def test_get_info_of_a_live_process_reports_pid_creds_and_cgroupid(kernel):
    # spec 9 step 7: identifiers and credentials always, cgroupid when not yet set (facts 6a).
    needs(kernel, "pidfd-info")
    init = kernel.init
    parent = init.fork().task
    child = parent.clone(pidfd=True)
    info = parent.pidfd_get_info(child.pidfd)
    assert info.mask == ALIVE_MASK
    assert (info.pid, info.tgid, info.ppid) == (child.pid, child.pid, parent.getpid())
    assert (info.ruid, info.rgid, info.euid, info.egid, info.suid, info.sgid,
            info.fsuid, info.fsgid) == (0,) * 8
    assert info.cgroupid != 0
    assert (info.exit_code, info.coredump_mask) == (0, 0)


def test_get_info_request_bits_of_a_live_process(kernel):
    # spec 9: unknown request bits are ignored; EXIT only appears after reap (facts 6a);
    # COREDUMP is answered from 6.16, SUPPORTED_MASK from 6.19.
    needs(kernel, "pidfd-info")
    init = kernel.init
    child = init.clone(pidfd=True)
    for mask in (0, PIDFD_INFO_PID, PIDFD_INFO_EXIT, PIDFD_INFO_COREDUMP,
                 PIDFD_INFO_SUPPORTED_MASK | PIDFD_INFO_COREDUMP_SIGNAL | PIDFD_INFO_COREDUMP_CODE,
                 2**64 - 1):
        expected = ALIVE_MASK | coredump_bit(kernel, mask, mm=True) | supported_bit(kernel, mask)
        assert init.pidfd_get_info(child.pidfd, mask).mask == expected, hex(mask)


def test_get_info_coredump_mask_follows_the_dumpable_mode_from_616(kernel):
    # fs/pidfs.c pidfs_coredump_mask: dumpable 1 -> USER (4), 0 -> SKIP (2) (facts 6a,
    # 6f).  Before "pidfd-info-coredump" (6.16) the bit is unknown and the struct has no
    # coredump_mask: it reads 0 whatever the mode.
    needs(kernel, "pidfd-info")
    init = kernel.init
    child = init.clone(pidfd=True)
    on = kernel.has("pidfd-info-coredump")

    def coredump():
        info = init.pidfd_get_info(child.pidfd, PIDFD_INFO_COREDUMP)
        return info.mask & PIDFD_INFO_COREDUMP, info.coredump_mask

    assert coredump() == ((PIDFD_INFO_COREDUMP, PIDFD_COREDUMP_USER) if on else (0, 0))
    child.task.prctl(PR_SET_DUMPABLE, 0)
    assert coredump() == ((PIDFD_INFO_COREDUMP, PIDFD_COREDUMP_SKIP) if on else (0, 0))
    assert init.pidfd_get_info(child.pidfd, 0).coredump_mask == 0


def test_get_info_of_a_zombie_has_no_exit_information_yet(kernel):
    # spec 9: exit info appears only after reap (pidfs_exit runs in release_task).  A
    # zombie has no mm, so from 6.19 COREDUMP is not even set (coredump_bit).
    needs(kernel, "pidfd-info")
    init = kernel.init
    child = init.clone(pidfd=True)
    child.task.exit(7)
    info = init.pidfd_get_info(child.pidfd, PIDFD_INFO_EXIT | PIDFD_INFO_COREDUMP)
    assert info.mask == ALIVE_MASK | coredump_bit(kernel, PIDFD_INFO_COREDUMP, mm=False)
    assert (info.pid, info.exit_code, info.coredump_mask) == (child.pid, 0, 0)


def test_get_info_after_reap_reports_only_the_exit_information(kernel):
    needs(kernel, "pidfd-info-exit")
    init = kernel.init
    child = init.clone(pidfd=True)
    alive = init.pidfd_get_info(child.pidfd)
    child.task.exit(7)
    assert init.waitpid(child.pid, 0) == (child.pid, 0x700)
    info = init.pidfd_get_info(child.pidfd, PIDFD_INFO_EXIT)
    assert info == PidfdInfo(mask=REAPED_MASK, cgroupid=alive.cgroupid, exit_code=0x700)


@pytest.mark.parametrize("mask", [
    0, PIDFD_INFO_PID | PIDFD_INFO_CREDS, PIDFD_INFO_CGROUPID, PIDFD_INFO_COREDUMP,
    PIDFD_INFO_EXIT, PIDFD_INFO_EXIT | PIDFD_INFO_COREDUMP, 2**64 - 1,
], ids=["0", "PID|CREDS", "CGROUPID", "COREDUMP", "EXIT", "EXIT|COREDUMP", "all_ones"])
def test_get_info_after_reap_needs_pidfd_info_exit_in_the_request(kernel, mask):
    # spec 9 step 6: no task and no EXIT requested gives ESRCH (facts 6d: 0xc, 0x1c,
    # ESRCH).  Before "pidfd-info-exit" (6.15) a reaped task is ESRCH whatever is asked:
    # pidfd_ioctl looks the task up first (6.13-6.14).
    needs(kernel, "pidfd-info")
    init, child = reaped_child(kernel, 3)
    if not (kernel.has("pidfd-info-exit") and mask & PIDFD_INFO_EXIT):
        with raises_errno(errno.ESRCH):
            init.pidfd_get_info(child.pidfd, mask)
        return
    info = init.pidfd_get_info(child.pidfd, mask)
    expected = REAPED_MASK | coredump_bit(kernel, mask, mm=False) | supported_bit(kernel, mask)
    assert (info.mask, info.exit_code, info.coredump_mask) == (expected, 0x300, 0)
    assert (info.pid, info.tgid, info.ppid, info.ruid, info.euid) == (0, 0, 0, 0, 0)


@pytest.mark.parametrize("how, status", [("exit_7", 0x700), ("exit_255", 0xFF00),
                                         ("SIGKILL", SIGKILL), ("SIGTERM", SIGTERM)])
def test_get_info_exit_code_is_the_wait_status(kernel, how, status):
    # spec 9: exit_code is task->exit_code, the wait(2) status.
    needs(kernel, "pidfd-info-exit")
    init = kernel.init
    child = init.clone(pidfd=True)
    if how.startswith("exit"):
        child.task.exit(int(how[5:]))
    else:
        init.pidfd_send_signal(child.pidfd, SIGKILL if how == "SIGKILL" else SIGTERM)
    assert init.waitpid(child.pid, 0) == (child.pid, status)
    assert init.pidfd_get_info(child.pidfd, PIDFD_INFO_EXIT).exit_code == status


def test_get_info_exit_information_of_a_pidfd_made_only_while_the_child_was_a_zombie(kernel):
    needs(kernel, "pidfd-info-exit")
    init = kernel.init
    child = init.fork()
    child.task.exit(9)
    fd = init.pidfd_open(child.pid)
    init.waitpid(child.pid, 0)
    assert init.pidfd_get_info(fd, PIDFD_INFO_EXIT).exit_code == 0x900


def test_get_info_of_an_exited_thread_reports_its_own_exit_code(kernel):
    # spec 7 pidfs_exit: threads get their own exit info (facts 6c).
    needs(kernel, "pidfd-info-exit")
    init = kernel.init
    proc = init.fork()
    thread = proc.task.spawn_thread()
    fd = init.pidfd_open(thread.pid, PIDFD_THREAD)
    info = init.pidfd_get_info(fd)
    assert (info.pid, info.tgid, info.ppid) == (thread.pid, proc.pid, 1)
    thread.task.exit(3)
    assert init.pidfd_get_info(fd, PIDFD_INFO_EXIT) == \
        PidfdInfo(mask=REAPED_MASK, cgroupid=info.cgroupid, exit_code=0x300)
    with raises_errno(errno.ESRCH):
        init.pidfd_get_info(fd, 0)
    assert init.pidfd_get_info(init.pidfd_open(proc.pid)).mask == ALIVE_MASK


def test_get_info_leader_reports_the_group_exit_code_even_if_it_exited_first(kernel):
    # spec 9: for exit_group the group code becomes the leader's code, even after the
    # leader's own pthread_exit (facts: 0x300).
    needs(kernel, "pidfd-info-exit")
    init = kernel.init
    proc = init.clone(pidfd=True)
    worker = proc.task.spawn_thread()
    proc.task.exit(0)
    worker.task.exit_group(3)
    assert init.waitpid(proc.pid, 0) == (proc.pid, 0x300)
    assert init.pidfd_get_info(proc.pidfd, PIDFD_INFO_EXIT).exit_code == 0x300


def test_get_info_threads_killed_by_exit_group_report_the_group_code(kernel):
    # kernel/exit.c do_group_exit: the other threads exit with the group's code.
    needs(kernel, "pidfd-info-exit")
    init = kernel.init
    proc = init.fork()
    a = proc.task.spawn_thread()
    b = proc.task.spawn_thread()
    fd_b = init.pidfd_open(b.pid, PIDFD_THREAD)
    a.task.exit_group(3)
    assert init.pidfd_get_info(fd_b, PIDFD_INFO_EXIT).exit_code == 0x300
    assert init.waitpid(proc.pid, 0) == (proc.pid, 0x300)


def test_get_info_threads_killed_by_a_sibling_exec_report_exit_code_0(kernel):
    # kernel/exit.c do_group_exit: while group_exec_task is set (de_thread), the zapped
    # threads exit with 0; the old leader is released under the exec'ing thread's old
    # TID, so that thread pidfd reports the leader's 0 too.
    needs(kernel, "pidfd-info-exit")
    init = kernel.init
    proc = init.fork()
    t1 = proc.task.spawn_thread()
    t2 = proc.task.spawn_thread()
    fd1 = init.pidfd_open(t1.pid, PIDFD_THREAD)
    fd2 = init.pidfd_open(t2.pid, PIDFD_THREAD)
    t1.task.execve()
    for fd in (fd1, fd2):
        assert init.pidfd_get_info(fd, PIDFD_INFO_EXIT) == \
            PidfdInfo(mask=REAPED_MASK, cgroupid=init.pidfd_get_info(init.pidfd_open(proc.pid)).cgroupid)
    assert init.pidfd_get_info(init.pidfd_open(proc.pid)).pid == proc.pid


def test_get_info_credentials_are_all_eight_ids(kernel):
    needs(kernel, "pidfd-info")
    init = kernel.init
    child = init.clone(pidfd=True)
    child.task.setresgid(2000, 2001, 2002)
    child.task.setresuid(1000, 1001, 1002)
    info = init.pidfd_get_info(child.pidfd)
    assert (info.ruid, info.euid, info.suid, info.fsuid) == (1000, 1001, 1002, 1001)
    assert (info.rgid, info.egid, info.sgid, info.fsgid) == (2000, 2001, 2002, 2001)


def test_get_info_cgroupid_is_the_same_for_tasks_of_one_cgroup_and_survives_reap_from_615(kernel):
    # The exit record keeps the cgroup id ("pidfd-info-exit", 6.15); before, a reaped
    # task is ESRCH.
    needs(kernel, "pidfd-info")
    init = kernel.init
    a = init.clone(pidfd=True)
    b = init.clone(pidfd=True)
    own = init.pidfd_get_info(init.pidfd_open(init.getpid()))
    ia = init.pidfd_get_info(a.pidfd)
    assert ia.cgroupid == init.pidfd_get_info(b.pidfd).cgroupid == own.cgroupid != 0
    a.task.exit(0)
    init.waitpid(a.pid, 0)
    if not kernel.has("pidfd-info-exit"):
        with raises_errno(errno.ESRCH):
            init.pidfd_get_info(a.pidfd, PIDFD_INFO_EXIT)
        return
    assert init.pidfd_get_info(a.pidfd, PIDFD_INFO_EXIT).cgroupid == ia.cgroupid


def test_get_info_translates_numbers_into_the_callers_namespace(kernel):
    # facts 6i: an ancestor sees the nested init as (3, ppid 2); the init itself sees 1, ppid 0.
    needs(kernel, "pidfd-info")
    init = kernel.init
    parent = init.fork()
    ns_init = parent.task.clone(CLONE_NEWPID, pidfd=True)
    inner = ns_init.task.fork()
    info = parent.task.pidfd_get_info(ns_init.pidfd)
    assert (info.pid, info.tgid, info.ppid) == (ns_init.pid, ns_init.pid, parent.pid)
    own = ns_init.task.pidfd_get_info(ns_init.task.pidfd_open(1))
    assert (own.pid, own.tgid, own.ppid) == (1, 1, 0)
    child = ns_init.task.pidfd_get_info(ns_init.task.pidfd_open(inner.pid))
    assert (child.pid, child.ppid) == (inner.pid, 1)


@pytest.mark.parametrize("relation", ["ancestor", "sibling", "reaped_ancestor"])
@pytest.mark.parametrize("mask", [0, PIDFD_INFO_EXIT], ids=["0", "EXIT"])
def test_get_info_of_a_process_outside_the_callers_namespace_is_eremote_from_the_7_0_fix(
        kernel, relation, mask):
    # spec 9 step 3: "pidfd-info-eremote" (7.0, in 6.18.14 and 6.19.4) answers EREMOTE,
    # checked before the exit information (facts 6i).  Before it: ESRCH, from 6.15's
    # pid_in_current_pidns, on 6.13-6.14 from the task lookup or its pid_vnr() of 0.
    needs(kernel, "pidfd-info")
    init = kernel.init
    target = init.clone(CLONE_NEWPID if relation == "sibling" else 0, pidfd=True)
    if relation == "reaped_ancestor":
        target.task.exit(0)
        init.waitpid(target.pid, 0)
    ns_init = init.clone(CLONE_NEWPID)              # inherits target.pidfd
    with raises_errno(errno.EREMOTE if kernel.has("pidfd-info-eremote") else errno.ESRCH):
        ns_init.task.pidfd_get_info(target.pidfd, mask)


def test_get_info_with_a_struct_smaller_than_ver0_is_enotty_from_618_einval_before(kernel):
    # spec 9 step 1: "pidfd-info-ioctl-size" (6.18, 6.17.4): extensible_ioctl_valid wants
    # size >= 64, else ENOTTY (facts 6b); 6.13-6.17.3 pidfd_info refuses it, EINVAL.
    needs(kernel, "pidfd-info")
    init = kernel.init
    child = init.clone(pidfd=True)
    before = snapshot([init, child.task])
    err = errno.ENOTTY if kernel.has("pidfd-info-ioctl-size") else errno.EINVAL
    for size in (0, 1, 32, 63):
        with raises_errno(err):
            init.pidfd_get_info(child.pidfd, 0, size)
    assert snapshot([init, child.task]) == before


def test_get_info_with_the_ver0_size_truncates_but_keeps_the_mask(kernel):
    # spec 9 step 8: copy_struct_to_user cuts the struct; the mask is not trimmed.
    needs(kernel, "pidfd-info-coredump")
    init = kernel.init
    child = init.clone(pidfd=True)
    full = init.pidfd_get_info(child.pidfd, PIDFD_INFO_COREDUMP, 72)
    assert full.coredump_mask == PIDFD_COREDUMP_USER
    short = init.pidfd_get_info(child.pidfd, PIDFD_INFO_COREDUMP, pidlab.PIDFD_INFO_SIZE_VER0)
    assert short.mask == ALIVE_MASK | PIDFD_INFO_COREDUMP
    assert short.coredump_mask == 0
    assert short.to_bytes()[:64] == full.to_bytes()[:64]


def test_get_info_with_a_size_between_ver0_and_ver1_copies_that_many_bytes(kernel):
    # include/linux/uaccess.h copy_struct_to_user: min(ksize, usize) bytes.
    needs(kernel, "pidfd-info-coredump")
    init = kernel.init
    child = init.clone(pidfd=True)
    full = init.pidfd_get_info(child.pidfd, PIDFD_INFO_COREDUMP, 72).to_bytes()
    for size in (65, 68, 71):
        got = init.pidfd_get_info(child.pidfd, PIDFD_INFO_COREDUMP, size).to_bytes()
        assert got == full[:size] + bytes(72 - size)
        assert got[64] == PIDFD_COREDUMP_USER


def test_get_info_exit_code_fits_in_the_ver0_size(kernel):
    needs(kernel, "pidfd-info-exit")
    init, child = reaped_child(kernel, 5)
    assert init.pidfd_get_info(child.pidfd, PIDFD_INFO_EXIT, 64).exit_code == 0x500


def test_get_info_with_a_larger_struct_gets_the_kernels_whole_struct(kernel):
    # spec 9: a caller's struct longer than the kernel's (64 bytes in 6.13, 72 from 6.16,
    # 80 from 6.19) gets all of it and a zeroed tail: copy_struct_to_user from 6.15;
    # 6.13-6.14 copy_to_user(min) leaves the caller's tail, which is zeros here too.
    needs(kernel, "pidfd-info")
    init = kernel.init
    child = init.clone(pidfd=True)
    mask = PIDFD_INFO_COREDUMP | PIDFD_INFO_SUPPORTED_MASK
    ksize = info_size(kernel)
    expected = init.pidfd_get_info(child.pidfd, mask, ksize)
    for size in (ksize + 1, 81, 200, 4096, (1 << 14) - 1):
        assert init.pidfd_get_info(child.pidfd, mask, size) == expected, size


@pytest.mark.parametrize("what, err", [("closed", errno.EBADF), ("proc_file", errno.ENOTTY),
                                       ("proc_dir", errno.ENOTTY)])
def test_get_info_on_a_descriptor_that_is_no_pidfd(kernel, what, err):
    # procfs has no ioctls at any version (vfs_ioctl: ENOTTY).
    init = kernel.init
    fd = {"closed": lambda: CLOSED_FD, "proc_file": lambda: init.open("/proc/self/status"),
          "proc_dir": lambda: init.open("/proc/self", O_DIRECTORY)}[what]()
    with raises_errno(err):
        init.pidfd_get_info(fd, PIDFD_INFO_EXIT)


def test_get_info_through_a_pidfd_from_a_file_handle_is_the_same(kernel):
    needs(kernel, "pidfd-info", "pidfs-fhandle")
    init = kernel.init
    child = init.clone(pidfd=True)
    fd = init.open_by_handle_at(anchor(kernel, child.pidfd), handle_of(init, child.pidfd))
    assert init.pidfd_get_info(fd) == init.pidfd_get_info(child.pidfd)


# ================================================================ the pidfs inode (fstat)

def test_fstat_of_a_pidfd_is_mode_0700_from_610_owned_by_root_with_one_link(kernel):
    # spec 7 stat: st_mode 0700 with no file-type bits, nlink 1, uid/gid 0, size 0.  By
    # version: 6.1-6.8 the anonymous inode (alloc_anon_inode: S_IRUSR|S_IWUSR, 0600);
    # 6.9 a pidfs regular file ("pidfs-stashed": S_IFREG|0700); from the lsof fix
    # ("pidfs-lsof", 6.10) pidfs_getattr masks the file type away.
    init = kernel.init
    st = init.fstat(init.pidfd_open(init.fork().pid))
    mode = 0o700 if kernel.has("pidfs-lsof") else 0o100700 if kernel.has("pidfs") else 0o600
    assert (st.st_mode, st.st_nlink, st.st_uid, st.st_gid, st.st_size) == \
        (mode, 1, *machine_root(kernel), 0)
    # os.stat_result's order: mode, ino, dev, nlink, uid, gid, size.
    assert (st[0], st[1], st[2], st[3], st[4:7]) == (st.st_mode, st.st_ino, st.st_dev,
                                                     st.st_nlink, (*machine_root(kernel), 0))
    assert tuple(st) == tuple(st[:7])


def test_fstatfs_of_a_pidfd_is_pidfs_from_69_anon_inodefs_before(kernel):
    # "pidfs" (6.9): pidfs_init_fs_context sets PID_FS_MAGIC; before, pidfds are
    # anon_inode_getfd files (ANON_INODE_FS_MAGIC), as on the 6.1 machine.
    init = kernel.init
    child = init.clone(pidfd=True)
    magic = PID_FS_MAGIC if kernel.has("pidfs") else ANON_INODE_FS_MAGIC
    for fd in (child.pidfd, init.pidfd_open(child.pid), init.pidfd_open(init.getpid())):
        assert init.fstatfs(fd).f_type == magic


def test_fs_ioc_getversion_of_a_pidfd_is_generation_0_from_614(kernel):
    # fs/pidfs.c pidfd_ioctl, "pidfs-getversion" (6.14): FS_IOC_GETVERSION comes before
    # the task lookup and puts the int i_generation (0 on 64-bit), also after the reap; a
    # NULL argument is EINVAL.  Before there is no handler: 6.1-6.10 no ioctls at all
    # (ENOTTY); 6.11-6.12 `if (arg) return -EINVAL` first; 6.13 looks the task up first
    # (ESRCH once reaped).  With a NULL argument an unknown command is ENOTTY.
    init = kernel.init
    child = init.clone(pidfd=True)
    live = (init.pidfd_open(init.fork().pid), init.pidfd_open(init.getpid()))
    reaped = child.pidfd
    child.task.exit(0)
    init.waitpid(child.pid, 0)
    buf = b"\xff" * 8
    if kernel.has("pidfs-getversion"):
        for fd in live + (reaped,):
            assert init.ioctl(fd, FS_IOC_GETVERSION, buf) == bytes(4) + buf[4:]
            with raises_errno(errno.EINVAL):
                init.ioctl(fd, FS_IOC_GETVERSION, 0)
        return
    if not kernel.has("pidfs-ns-ioctls"):
        for fd in live + (reaped,):
            for arg in (buf, 0):
                with raises_errno(errno.ENOTTY):
                    init.ioctl(fd, FS_IOC_GETVERSION, arg)
        return
    for fd in live:
        with raises_errno(errno.EINVAL):
            init.ioctl(fd, FS_IOC_GETVERSION, buf)
        with raises_errno(errno.ENOTTY):
            init.ioctl(fd, FS_IOC_GETVERSION, 0)
    with raises_errno(errno.ESRCH if kernel.has("pidfd-info") else errno.EINVAL):
        init.ioctl(reaped, FS_IOC_GETVERSION, buf)
    with raises_errno(errno.ESRCH):
        init.ioctl(reaped, FS_IOC_GETVERSION, 0)


def test_pidfds_of_every_process_share_one_anonymous_inode_before_69(kernel):
    """What kernels without "pidfs" (6.9) answer: every pidfd is a file of the one
    anonymous inode (anon_inode_getfd), so st_dev and st_ino of pidfds of different
    processes are equal.  From 6.9 each struct pid has an inode of its own."""
    init = kernel.init
    a = init.clone(pidfd=True)
    b = init.clone(pidfd=True)
    sa, sb = init.fstat(a.pidfd), init.fstat(b.pidfd)
    assert sa.st_dev == sb.st_dev
    assert (sa.st_ino == sb.st_ino) == (not kernel.has("pidfs"))


def test_every_pidfd_of_one_struct_pid_has_the_same_inode(kernel):
    # facts 5d: identical for all pidfds of one struct pid (SO_PEERPIDFD, the leader's
    # thread pidfd, open_by_handle_at included), each where the kernel has it.
    init = kernel.init
    proc = init.fork()
    p = proc.task
    child = p.clone(pidfd=True)
    fds = [child.pidfd, p.pidfd_open(child.pid), p.pidfd_open(child.pid, pidlab.PIDFD_NONBLOCK),
           p.dup(child.pidfd)]
    if kernel.has("pidfd-thread"):
        fds.append(p.pidfd_open(child.pid, PIDFD_THREAD))
    if kernel.has("pidfs-fhandle"):
        fds.append(p.open_by_handle_at(anchor(kernel, child.pidfd), handle_of(p, child.pidfd)))
    stats = {(p.fstat(fd).st_dev, p.fstat(fd).st_ino) for fd in fds}
    assert len(stats) == 1
    if kernel.has("so-peerpidfd"):
        sock, _ = child.task.socketpair()
        peer_in_child = child.task.getsockopt(sock, SOL_SOCKET, SO_PEERPIDFD)
        assert child.task.fstat(peer_in_child).st_ino == p.fstat(child.pidfd).st_ino
        via_getfd = p.pidfd_getfd(child.pidfd, peer_in_child)
        assert (p.fstat(via_getfd).st_dev, p.fstat(via_getfd).st_ino) in stats


def test_pidfs_inodes_are_distinct_and_grow_in_creation_order(kernel):
    # spec 7: a global counter, incremented at each successful alloc_pid; threads too
    # (6.9-6.13 `pid->ino = ++pidfs_ino`, from "pidfs-rbtree" (6.14) pidfs_add_pid).
    needs(kernel, "pidfs")
    init = kernel.init
    a = init.clone(pidfd=True)
    t = a.task.clone(pidlab.CLONE_THREAD | pidlab.CLONE_VM | pidlab.CLONE_SIGHAND
                     | pidlab.CLONE_FS | pidlab.CLONE_FILES, exit_signal=0, pidfd=True)
    b = init.clone(pidfd=True)
    ns = init.clone(CLONE_NEWPID, pidfd=True)
    inos = [ino(init, a.pidfd), ino(a.task, t.pidfd), ino(init, b.pidfd), ino(init, ns.pidfd)]
    assert inos == sorted(inos) and len(set(inos)) == 4
    assert init.fstat(a.pidfd).st_dev == init.fstat(b.pidfd).st_dev == a.task.fstat(t.pidfd).st_dev
    assert ino(init, init.pidfd_open(init.getpid())) < inos[0]


def test_pidfs_inode_stays_the_same_after_every_pidfd_was_closed_and_after_reap(kernel):
    # facts 5d/5g: the next open builds a new inode with the same ino; fstat works after
    # reap.  (Before 6.9 the one anonymous inode never changes either.)
    init = kernel.init
    child = init.fork()
    fd = init.pidfd_open(child.pid)
    first = ino(init, fd)
    init.close(fd)
    fd = init.pidfd_open(child.pid)
    assert ino(init, fd) == first
    child.task.exit(0)
    init.waitpid(child.pid, 0)
    assert ino(init, fd) == first


def test_a_failed_fork_takes_no_pidfs_inode_out_of_order(kernel):
    # spec 3 step 10: failed attempts consume no ino; relations only (the live counter
    # is shared with the whole machine).
    needs(kernel, "pidfs")
    init = kernel.init
    a = init.clone(pidfd=True)
    with raises_errno(errno.EEXIST):
        init.clone(set_tid=[a.pid])
    b = init.clone(pidfd=True)
    assert ino(init, a.pidfd) < ino(init, b.pidfd)


def _recycle(kernel):
    """In a fresh namespace, process 100 exits and is reaped, and a new process gets 100;
    the old one had its file handle taken and an xattr set where the kernel has them."""
    ns_init = kernel.init.clone(CLONE_NEWPID).task
    ns_init.write_text(NS_LAST_PID_PATH, "99")
    old = ns_init.clone(pidfd=True)
    h_old = handle_of(ns_init, old.pidfd) if kernel.has("pidfs-fhandle") else None
    if kernel.has("pidfs-xattr"):
        ns_init.fsetxattr(old.pidfd, "trusted.who", b"old")
    old.task.exit(1)
    ns_init.waitpid(old.pid, 0)
    ns_init.write_text(NS_LAST_PID_PATH, "99")
    new = ns_init.clone(pidfd=True)
    assert new.pid == old.pid == 100
    return ns_init, old, new, h_old


def test_a_recycled_pid_number_gets_a_new_pidfs_identity(kernel):
    # spec 4: the ino is never recycled; its handle (6.14), xattrs (6.17) and exit
    # information (6.15) belong to the old struct pid.
    needs(kernel, "pidfs")
    ns_init, old, new, h_old = _recycle(kernel)
    assert ino(ns_init, new.pidfd) > ino(ns_init, old.pidfd)
    if kernel.has("pidfs-fhandle"):
        assert handle_of(ns_init, new.pidfd) != h_old
        with raises_errno(errno.ESTALE):
            ns_init.open_by_handle_at(anchor(kernel, new.pidfd), h_old)
        fd = ns_init.open_by_handle_at(anchor(kernel, new.pidfd), handle_of(ns_init, new.pidfd))
        assert ino(ns_init, fd) == ino(ns_init, new.pidfd)
    if kernel.has("pidfs-xattr"):
        assert ns_init.fgetxattr(old.pidfd, "trusted.who") == b"old"
        assert ns_init.flistxattr(new.pidfd) == []
    if kernel.has("pidfd-info-exit"):
        assert ns_init.pidfd_get_info(old.pidfd, PIDFD_INFO_EXIT).exit_code == 0x100
        assert ns_init.pidfd_get_info(new.pidfd, PIDFD_INFO_EXIT).mask == ALIVE_MASK


# ================================================================ file handles

def test_name_to_handle_at_of_a_pidfd_is_eopnotsupp_before_614(kernel):
    """What kernels without "pidfs-fhandle" (6.14) answer: neither anon_inodefs nor
    6.9-6.13 pidfs has export operations, so do_sys_name_to_handle refuses before it
    reads the buffer (EOPNOTSUPP, even for a buffer of 0 bytes), and a handle built by
    hand decodes to nothing on a pidfd (ESTALE; a negative handle_type is EINVAL only
    from "fhandle-connectable", 6.13).  From 6.14 the handle holds the inode number."""
    init = kernel.init
    fd = init.pidfd_open(init.fork().pid)
    made = FileHandle(FILEID_KERNFS, struct.pack("<Q", ino(init, fd)))
    if kernel.has("pidfs-fhandle"):
        assert handle_of(init, fd) == made
        assert ino(init, init.open_by_handle_at(fd, made)) == ino(init, fd)
        return
    for flags, handle_bytes in ((AT_EMPTY_PATH, 128), (AT_EMPTY_PATH | 0x400, 128),
                                (AT_EMPTY_PATH, 0)):
        with raises_errno(ENOTSUP):
            init.name_to_handle_at(fd, "", flags, handle_bytes)
    # AT_HANDLE_MNT_ID_UNIQUE is an unknown flag before 6.12.
    with raises_errno(ENOTSUP if kernel.has("at-handle-mnt-id-unique") else errno.EINVAL):
        init.name_to_handle_at(fd, "", AT_EMPTY_PATH | AT_HANDLE_MNT_ID_UNIQUE)
    before = lowest_free_fd(init)
    with raises_errno(errno.ESTALE):
        init.open_by_handle_at(fd, made)
    with raises_errno(errno.EINVAL if kernel.has("fhandle-connectable") else errno.ESTALE):
        init.open_by_handle_at(fd, FileHandle(-1, made.handle))
    assert lowest_free_fd(init) == before


def test_name_to_handle_at_gives_a_kernfs_handle_holding_the_inode_number(kernel):
    # spec 10: type FILEID_KERNFS (0xfe), 8 bytes, the u64 pid->ino, equal to st_ino on 64-bit.
    needs(kernel, "pidfs-fhandle")
    init = kernel.init
    fd = init.pidfd_open(init.fork().pid)
    h = handle_of(init, fd)
    assert h.handle_type == FILEID_KERNFS == 0xFE
    assert len(h.handle) == 8
    assert struct.unpack("<Q", h.handle)[0] == ino(init, fd)


@pytest.mark.parametrize("flags", [AT_EMPTY_PATH | AT_HANDLE_FID,
                                   AT_EMPTY_PATH | AT_HANDLE_MNT_ID_UNIQUE,
                                   AT_EMPTY_PATH | 0x400],
                         ids=["HANDLE_FID", "MNT_ID_UNIQUE", "SYMLINK_FOLLOW"])
def test_name_to_handle_at_accepts_the_other_valid_flags_with_the_same_handle(kernel, flags):
    needs(kernel, "pidfs-fhandle")
    init = kernel.init
    fd = init.pidfd_open(init.fork().pid)
    assert init.name_to_handle_at(fd, "", flags) == handle_of(init, fd)


@pytest.mark.parametrize("handle_bytes, err", [(0, errno.EOVERFLOW), (4, errno.EOVERFLOW),
                                                (7, errno.EOVERFLOW), (129, errno.EINVAL)])
def test_name_to_handle_at_with_a_bad_buffer_size(kernel, handle_bytes, err):
    # fs/fhandle.c do_sys_name_to_handle: > MAX_HANDLE_SZ is EINVAL, too small EOVERFLOW.
    needs(kernel, "pidfs-fhandle")
    init = kernel.init
    fd = init.pidfd_open(init.fork().pid)
    with raises_errno(err):
        init.name_to_handle_at(fd, "", AT_EMPTY_PATH, handle_bytes)
    assert init.name_to_handle_at(fd, "", AT_EMPTY_PATH, 8) == handle_of(init, fd)


def test_name_to_handle_at_without_at_empty_path_is_enoent(kernel):
    # user_path_at of "" without LOOKUP_EMPTY, at every version.
    init = kernel.init
    fd = init.pidfd_open(init.fork().pid)
    with raises_errno(errno.ENOENT):
        init.name_to_handle_at(fd, "", 0)


@pytest.mark.parametrize("flags", [0x8000, 1 << 30, AT_EMPTY_PATH | AT_HANDLE_CONNECTABLE,
                                   AT_HANDLE_FID | AT_HANDLE_CONNECTABLE],
                         ids=["0x8000", "bit30", "EMPTY_PATH|CONNECTABLE", "FID|CONNECTABLE"])
def test_name_to_handle_at_rejects_bad_flags_before_looking_at_the_descriptor(kernel, flags):
    # fs/fhandle.c name_to_handle_at: unknown flags, and CONNECTABLE with FID or
    # EMPTY_PATH, are EINVAL before user_path_at looks at dfd (before 6.13
    # AT_HANDLE_CONNECTABLE itself is an unknown flag: EINVAL all the same).
    init = kernel.init
    fd = init.pidfd_open(init.fork().pid)
    for dirfd in (fd, CLOSED_FD):
        with raises_errno(errno.EINVAL):
            init.name_to_handle_at(dirfd, "", flags)


def test_name_to_handle_at_on_a_closed_descriptor_is_ebadf(kernel):
    with raises_errno(errno.EBADF):
        kernel.init.name_to_handle_at(CLOSED_FD, "", AT_EMPTY_PATH)


def test_name_to_handle_at_still_encodes_a_reaped_process(kernel):
    # spec 10: "Works even after reap."
    needs(kernel, "pidfs-fhandle")
    init = kernel.init
    child = init.clone(pidfd=True)
    before = handle_of(init, child.pidfd)
    child.task.exit(0)
    init.waitpid(child.pid, 0)
    assert handle_of(init, child.pidfd) == before


@pytest.mark.parametrize("mount", ["same_pidfd", "other_pidfd", "FD_PIDFS_ROOT"])
def test_open_by_handle_at_decodes_through_any_pidfd_or_fd_pidfs_root(kernel, mount):
    needs(kernel, "pidfs-fhandle")
    if mount == "FD_PIDFS_ROOT":
        needs(kernel, "fd-pidfs-root")
    init = kernel.init
    child = init.fork()
    fd = init.pidfd_open(child.pid)
    mount_fd = {"same_pidfd": fd, "other_pidfd": init.pidfd_open(init.fork().pid),
                "FD_PIDFS_ROOT": FD_PIDFS_ROOT}[mount]
    new = init.open_by_handle_at(mount_fd, handle_of(init, fd))
    assert new != fd and ino(init, new) == ino(init, fd)
    assert fdinfo(init, new)["Pid"] == str(child.pid)


def test_open_by_handle_at_with_fd_pidfs_root_is_ebadf_before_617(kernel):
    """What kernels without "fd-pidfs-root" (6.17) answer: FD_PIDFS_ROOT is just a
    negative descriptor, so get_path_from_fd (get_vfsmount_from_fd on 6.1) finds no
    file (EBADF); from 6.17 it is the pidfs root and the handle decodes."""
    init = kernel.init
    fd = init.pidfd_open(init.fork().pid)
    h = (handle_of(init, fd) if kernel.has("pidfs-fhandle") else
         FileHandle(FILEID_KERNFS, struct.pack("<Q", ino(init, fd))))
    if kernel.has("fd-pidfs-root"):
        assert ino(init, init.open_by_handle_at(FD_PIDFS_ROOT, h)) == ino(init, fd)
        return
    before = lowest_free_fd(init)
    with raises_errno(errno.EBADF):
        init.open_by_handle_at(FD_PIDFS_ROOT, h)
    assert lowest_free_fd(init) == before


@pytest.mark.parametrize("flags, f_getfl, cloexec", [
    (O_RDONLY, O_RDWR, 0),
    (O_WRONLY, O_WRONLY | O_RDWR, 0),
    (O_RDWR, O_RDWR, 0),
    (O_NONBLOCK, O_RDWR | O_NONBLOCK, 0),
    (O_CLOEXEC, O_RDWR | O_CLOEXEC, FD_CLOEXEC),
    (O_EXCL, O_RDWR, 0),
    (O_LARGEFILE, O_RDWR, 0),
    (O_RDWR | O_NONBLOCK | O_CLOEXEC | O_EXCL, O_RDWR | O_NONBLOCK | O_CLOEXEC, FD_CLOEXEC),
], ids=["RDONLY", "WRONLY", "RDWR", "NONBLOCK", "CLOEXEC", "EXCL", "LARGEFILE", "all"])
def test_open_by_handle_at_opens_read_write_and_drops_o_excl(kernel, flags, f_getfl, cloexec):
    # fs/pidfs.c pidfs_export_open: `oflags &= ~O_LARGEFILE; dentry_open(path, oflags |
    # O_RDWR)`; fs/open.c do_dentry_open then clears only O_CREAT|O_EXCL|O_NOCTTY|O_TRUNC
    # from f_flags.  So O_EXCL is gone (no PIDFD_THREAD), and O_CLOEXEC, which no
    # build_open_flags strips on this path, stays in f_flags (F_GETFL shows it) besides
    # making the descriptor close-on-exec only when asked for (facts 7c).
    needs(kernel, "pidfs-fhandle")
    init = kernel.init
    fd = init.pidfd_open(init.fork().pid)
    new = init.open_by_handle_at(anchor(kernel, fd), handle_of(init, fd), flags)
    assert init.fcntl(new, F_GETFL) == f_getfl
    assert init.fcntl(new, F_GETFD) == cloexec


def test_open_by_handle_at_rejects_other_open_flags_with_einval(kernel):
    # fs/pidfs.c pidfs_export_permission (facts 7c); nothing is installed.
    needs(kernel, "pidfs-fhandle")
    init = kernel.init
    fd = init.pidfd_open(init.fork().pid)
    h = handle_of(init, fd)
    before = lowest_free_fd(init)
    for flags in (O_CREAT, O_TRUNC, O_PATH, O_DIRECTORY, O_NOFOLLOW, O_NOCTTY, O_APPEND,
                  O_SYNC, O_DSYNC, O_NOATIME, O_TMPFILE, O_ASYNC, O_DIRECT, O_RDWR | O_TRUNC):
        with raises_errno(errno.EINVAL):
            init.open_by_handle_at(fd, h, flags)
    assert lowest_free_fd(init) == before


def _handle(task, fd, **kw) -> FileHandle:
    h = handle_of(task, fd)
    return FileHandle(kw.get("handle_type", h.handle_type), kw.get("handle", h.handle))


@pytest.mark.parametrize("case, err", [
    ("bogus_ino", errno.ESTALE),
    ("type_1", errno.ESTALE),
    ("four_bytes", errno.ESTALE),
    ("negative_type", errno.EINVAL),
    ("unknown_user_flag_in_type", errno.EINVAL),
])
def test_open_by_handle_at_with_a_bad_handle(kernel, case, err):
    # spec 10 / facts 7d: an unknown id, another type, or fewer than 8 bytes decode to
    # nothing (ESTALE).  fs/fhandle.c handle_to_path refuses a negative handle_type and
    # user flag bits outside FILEID_IS_CONNECTABLE|FILEID_IS_DIR (0xffff0000 mask) with
    # EINVAL before it decodes ("fhandle-connectable", 6.13, older than pidfs handles).
    needs(kernel, "pidfs-fhandle")
    init = kernel.init
    fd = init.pidfd_open(init.fork().pid)
    h = {
        "bogus_ino": lambda: _handle(init, fd, handle=struct.pack("<Q", ino(init, fd) + 10**9)),
        "type_1": lambda: _handle(init, fd, handle_type=1),
        "four_bytes": lambda: _handle(init, fd, handle=handle_of(init, fd).handle[:4]),
        "negative_type": lambda: _handle(init, fd, handle_type=-1),
        "unknown_user_flag_in_type": lambda: _handle(init, fd, handle_type=0x40000 | FILEID_KERNFS),
    }[case]()
    before = lowest_free_fd(init)
    with raises_errno(err):
        init.open_by_handle_at(fd, h)
    assert lowest_free_fd(init) == before


@pytest.mark.parametrize("handle_bytes, err", [(0, errno.EINVAL), (129, errno.EINVAL), (4, errno.ESTALE),
                                                (7, errno.ESTALE)])
def test_open_by_handle_at_with_a_bad_handle_size(kernel, handle_bytes, err):
    needs(kernel, "pidfs-fhandle")
    init = kernel.init
    fd = init.pidfd_open(init.fork().pid)
    h = FileHandle(FILEID_KERNFS, handle_of(init, fd).handle + bytes(128))
    with raises_errno(err):
        init.open_by_handle_at(fd, h, O_RDONLY, handle_bytes)


def test_open_by_handle_at_ignores_bytes_after_the_inode_number(kernel):
    needs(kernel, "pidfs-fhandle")
    init = kernel.init
    fd = init.pidfd_open(init.fork().pid)
    h = FileHandle(FILEID_KERNFS, handle_of(init, fd).handle + b"junkjunk")
    assert ino(init, init.open_by_handle_at(fd, h)) == ino(init, fd)


@pytest.mark.parametrize("mount, err", [("AT_FDCWD", errno.ESTALE), ("proc_dir", errno.ESTALE),
                                        ("FD_NSFS_ROOT", errno.ESTALE),
                                        ("minus_EBADF", errno.EBADF), ("closed", errno.EBADF),
                                        ("FD_NSFS_ROOT-1", errno.EBADF)])
def test_open_by_handle_at_with_a_mount_fd_that_is_no_pidfs_anchor(kernel, mount, err):
    # fs/fhandle.c get_path_anchor: a negative fd other than AT_FDCWD, FD_PIDFS_ROOT and
    # FD_NSFS_ROOT, or a closed one, is EBADF; another filesystem (nsfs included) does
    # not decode the handle (ESTALE).  FD_NSFS_ROOT is an anchor from "fd-nsfs-root"
    # (6.18); before, it is one more negative descriptor (EBADF).
    needs(kernel, "pidfs-fhandle")
    if mount in ("AT_FDCWD", "proc_dir"):
        skip_in_user_namespace(kernel, "userns-caps", "decoding a handle through a mount other "
                               "than pidfs needs CAP_DAC_READ_SEARCH (may_decode_fh: EPERM)")
    if mount == "FD_NSFS_ROOT" and not kernel.has("fd-nsfs-root"):
        err = errno.EBADF
    init = kernel.init
    fd = init.pidfd_open(init.fork().pid)
    mount_fd = {"AT_FDCWD": lambda: AT_FDCWD,
                "proc_dir": lambda: init.open("/proc/self", O_DIRECTORY),
                "FD_NSFS_ROOT": lambda: pidlab.FD_NSFS_ROOT,
                "FD_NSFS_ROOT-1": lambda: pidlab.FD_NSFS_ROOT - 1,
                "minus_EBADF": lambda: -errno.EBADF, "closed": lambda: CLOSED_FD}[mount]()
    with raises_errno(err):
        init.open_by_handle_at(mount_fd, handle_of(init, fd))


@pytest.mark.parametrize("handle_bytes", [0, 129])
def test_open_by_handle_at_checks_the_handle_size_before_the_mount_fd_except_on_611_to_616(
        kernel, handle_bytes):
    # fs/fhandle.c handle_to_path, by version: 6.1-6.10 copy the handle (EINVAL for its
    # size) before get_vfsmount_from_fd (EBADF); "fhandle-relax-perms" (6.11) looks the
    # mount fd up first; "fhandle-copy-first" (6.17) moves the copy in front again.  The
    # 6.1 machine says EINVAL, the 6.12 one EBADF.
    init = kernel.init
    fd = init.pidfd_open(init.fork().pid)
    h = FileHandle(FILEID_KERNFS, struct.pack("<Q", ino(init, fd)))
    fd_first = kernel.has("fhandle-relax-perms") and not kernel.has("fhandle-copy-first")
    with raises_errno(errno.EBADF if fd_first else errno.EINVAL):
        init.open_by_handle_at(CLOSED_FD, h, O_RDONLY, handle_bytes)


def test_open_by_handle_at_decodes_a_zombie_but_not_a_reaped_process(kernel):
    # spec 10: the rbtree entry goes at free_pid; ESTALE after reap even with pidfds open.
    needs(kernel, "pidfs-fhandle")
    init = kernel.init
    child = init.clone(pidfd=True)
    other = init.pidfd_open(init.getpid())
    h = handle_of(init, child.pidfd)
    child.task.exit(0)
    assert ino(init, init.open_by_handle_at(anchor(kernel, other), h)) == ino(init, child.pidfd)
    init.waitpid(child.pid, 0)
    with raises_errno(errno.ESTALE):
        init.open_by_handle_at(anchor(kernel, other), h)
    with raises_errno(errno.ESTALE):
        init.open_by_handle_at(child.pidfd, h)


def test_open_by_handle_at_decodes_a_live_process_without_any_open_pidfd(kernel):
    needs(kernel, "pidfs-fhandle")
    init = kernel.init
    child = init.fork()
    fd = init.pidfd_open(child.pid)
    h, first = handle_of(init, fd), ino(init, fd)
    init.close(fd)
    mount_fd = anchor(kernel, init.pidfd_open(init.getpid()))     # a pidfd of another process
    assert ino(init, init.open_by_handle_at(mount_fd, h)) == first


def test_open_by_handle_at_through_a_pidfd_needs_no_capability_from_614(kernel):
    # spec 10: pidfs_export_permission checks only the flags (facts 7h).  Before
    # "pidfs-fhandle" pidfs has no permission operation: without CAP_DAC_READ_SEARCH
    # the caller is EPERM -- on 6.1-6.10 before anything else, a closed mount fd
    # included; from "fhandle-relax-perms" (6.11) after the descriptor (EBADF first).
    proc = kernel.init.fork().task
    fd = proc.pidfd_open(proc.fork().pid)
    h = (handle_of(proc, fd) if kernel.has("pidfs-fhandle") else
         FileHandle(FILEID_KERNFS, struct.pack("<Q", ino(proc, fd))))
    proc.capset([])
    if kernel.has("pidfs-fhandle"):
        assert ino(proc, proc.open_by_handle_at(anchor(kernel, fd), h)) == ino(proc, fd)
        assert ino(proc, proc.open_by_handle_at(fd, h)) == ino(proc, fd)
        return
    with raises_errno(errno.EPERM):
        proc.open_by_handle_at(fd, h)
    with raises_errno(errno.EBADF if kernel.has("fhandle-relax-perms") else errno.EPERM):
        proc.open_by_handle_at(CLOSED_FD, h)


@pytest.mark.parametrize("mount", ["AT_FDCWD", "proc_dir"])
def test_open_by_handle_at_outside_pidfs_needs_cap_dac_read_search(kernel, mount):
    # fs/fhandle.c may_decode_fh: a filesystem without a permission operation of its own
    # lets a caller without CAP_DAC_READ_SEARCH (and no mount privilege) decode nothing:
    # EPERM before the handle is looked at.  6.1-6.10 handle_to_path asks it first of
    # all; the answer is the same.
    proc = kernel.init.fork().task
    pfd = proc.pidfd_open(proc.getpid())
    h = FileHandle(FILEID_KERNFS, struct.pack("<Q", ino(proc, pfd)))
    mount_fd = AT_FDCWD if mount == "AT_FDCWD" else proc.open("/proc/self", O_DIRECTORY)
    proc.capset([])
    before = lowest_free_fd(proc)
    for flags in (O_RDONLY, O_CREAT):
        with raises_errno(errno.EPERM):
            proc.open_by_handle_at(mount_fd, h, flags)
    assert lowest_free_fd(proc) == before


def test_open_by_handle_at_of_a_thread_handle_gives_a_process_style_pidfd_on_the_thread(kernel):
    # facts 7c/7e: O_EXCL is dropped, so the decoded pidfd has no PIDFD_THREAD, but it
    # names the thread's struct pid (GET_INFO pid = its tid).
    needs(kernel, "pidfs-fhandle")
    init = kernel.init
    proc = init.fork()
    thread = proc.task.spawn_thread()
    tfd = init.pidfd_open(thread.pid, PIDFD_THREAD)
    fd = init.open_by_handle_at(anchor(kernel, tfd), handle_of(init, tfd), O_EXCL)
    assert not init.fcntl(fd, F_GETFL) & O_EXCL
    assert ino(init, fd) == ino(init, tfd)
    info = init.pidfd_get_info(fd)
    assert (info.pid, info.tgid) == (thread.pid, proc.pid)


@pytest.mark.parametrize("relation", ["ancestor", "sibling"])
def test_open_by_handle_at_of_a_process_outside_the_callers_namespace_is_estale(kernel, relation):
    # spec 10: pid_vnr() == 0 decodes to nothing (facts 7i).
    needs(kernel, "pidfs-fhandle")
    init = kernel.init
    target = init.clone(CLONE_NEWPID if relation == "sibling" else 0, pidfd=True)
    h = handle_of(init, target.pidfd)
    ns_init = init.clone(CLONE_NEWPID)            # inherits target.pidfd
    for mount_fd in {anchor(kernel, target.pidfd), target.pidfd}:
        with raises_errno(errno.ESTALE):
            ns_init.task.open_by_handle_at(mount_fd, h)


def test_open_by_handle_at_from_an_ancestor_namespace_decodes_a_nested_process(kernel):
    needs(kernel, "pidfs-fhandle")
    init = kernel.init
    ns_init = init.clone(CLONE_NEWPID)
    inner = ns_init.task.fork()
    h = handle_of(ns_init.task, ns_init.task.pidfd_open(inner.pid))
    fd = init.open_by_handle_at(anchor(kernel, init.pidfd_open(ns_init.pid)), h)
    assert fdinfo(init, fd)["NSpid"] == f"{inner.task.numbers[0]}\t{inner.pid}"


# ================================================================ xattrs

@pytest.mark.parametrize("name", ["trusted.x", "user.x", "system.x", "foo"])
def test_xattrs_of_a_pidfd_before_617_have_no_handler(kernel, name):
    """What kernels without "pidfs-xattr" (6.17) answer (root, fs/xattr.c): no pidfd
    inode has xattr handlers.  6.9-6.16 pidfs inodes are S_IMMUTABLE
    (prepare_anon_dentry), so xattr_permission refuses every change (EPERM) and a read
    reaches xattr_resolve_name (EOPNOTSUPP).  6.1-6.8's anonymous inode has no file type:
    user.* is refused as on a special file (EPERM to change, ENODATA to read), other
    names find no handler (EOPNOTSUPP).  flistxattr lists nothing.  From 6.17 trusted.*
    works and every other name is EOPNOTSUPP."""
    init = kernel.init
    fd = init.pidfd_open(init.fork().pid)
    if kernel.has("pidfs-xattr"):
        if name.startswith("trusted."):
            init.fsetxattr(fd, name, b"v")
            assert init.fgetxattr(fd, name) == b"v"
            assert init.flistxattr(fd) == [name]
            init.fremovexattr(fd, name)
            assert init.flistxattr(fd) == []
            return
        change = read = ENOTSUP
    elif kernel.has("pidfs"):
        change, read = errno.EPERM, ENOTSUP
    elif name.startswith("user."):
        change, read = errno.EPERM, errno.ENODATA
    else:
        change = read = ENOTSUP
    with raises_errno(change):
        init.fsetxattr(fd, name, b"v")
    with raises_errno(read):
        init.fgetxattr(fd, name)
    with raises_errno(change):
        init.fremovexattr(fd, name)
    assert init.flistxattr(fd) == []


def test_xattrs_live_on_the_struct_pid_and_every_pidfd_sees_them(kernel):
    # spec 7 xattrs: per struct pid, shared by all pidfds (facts 9d/9e).
    needs(kernel, "pidfs-xattr")
    init = kernel.init
    child = init.fork()
    a = init.pidfd_open(child.pid)
    b = init.pidfd_open(child.pid, PIDFD_THREAD)
    init.fsetxattr(a, "trusted.colour", b"blue")
    assert init.fgetxattr(b, "trusted.colour") == b"blue"
    assert init.flistxattr(b) == ["trusted.colour"]
    other = init.pidfd_open(init.fork().pid)
    assert init.flistxattr(other) == []
    assert child.task.fgetxattr(child.task.pidfd_open(child.task.getpid()),
                                "trusted.colour") == b"blue"


def _other_files(init) -> dict[str, int]:
    """A file of every kind a scenario can open besides pidfds."""
    files = {"stdin (/dev/null)": 0}
    for path in ("/proc/self", "/proc/self/ns/pid", "/proc/sys/kernel/pid_max",
                 "/proc/self/status"):
        files[path] = init.open(path, O_RDONLY)
    files["AF_UNIX socket"] = init.socketpair()[0]
    return files


@pytest.mark.parametrize("name", ["trusted.x", "user.x"])
def test_reading_xattrs_of_files_that_are_not_pidfds(kernel, name):
    # fs/xattr.c xattr_permission: user.* exists on regular files and directories only
    # (ENODATA elsewhere); then xattr_resolve_name: procfs and nsfs have no handler
    # (EOPNOTSUPP), sockfs only system.sockprotoname; /dev/null has none set.  The same
    # at every version.
    init = kernel.init
    want = {"stdin (/dev/null)": errno.ENODATA, "/proc/self": errno.EOPNOTSUPP,
            "/proc/self/ns/pid": errno.EOPNOTSUPP, "/proc/sys/kernel/pid_max": errno.EOPNOTSUPP,
            "/proc/self/status": errno.EOPNOTSUPP,
            "AF_UNIX socket": errno.ENODATA if name == "user.x" else errno.EOPNOTSUPP}
    for what, fd in _other_files(init).items():
        with raises_errno(want[what]):
            init.fgetxattr(fd, name)
        assert init.flistxattr(fd) == (["system.sockprotoname"] if what == "AF_UNIX socket"
                                       else []), what


@pytest.mark.parametrize("name, err", [("trusted.x", errno.EOPNOTSUPP), ("user.x", errno.EPERM)])
def test_writing_xattrs_of_a_socket(kernel, name, err):
    # sockfs has no handler for trusted.*; user.* is refused on a non-regular inode.
    init = kernel.init
    a, _ = init.socketpair()
    with raises_errno(err):
        init.fsetxattr(a, name, b"v")
    with raises_errno(err):
        init.fremovexattr(a, name)


def test_xattrs_of_other_files_are_never_written(kernel):
    # /dev/null and the like are the host's inodes on the live backend: both backends
    # refuse to change them (src/pidlab/differences.py "unsupported").
    init = kernel.init
    for what, fd in _other_files(init).items():
        if what == "AF_UNIX socket":
            continue
        with pytest.raises(pidlab.Unsupported):
            init.fsetxattr(fd, "trusted.x", b"v")
        with pytest.raises(pidlab.Unsupported):
            init.fremovexattr(fd, "trusted.x")
    assert init.flistxattr(0) == []


def test_xattr_of_a_non_leader_thread_is_its_own(kernel):
    needs(kernel, "pidfs-xattr")
    init = kernel.init
    proc = init.fork()
    thread = proc.task.spawn_thread()
    pfd = init.pidfd_open(proc.pid)
    tfd = init.pidfd_open(thread.pid, PIDFD_THREAD)
    init.fsetxattr(tfd, "trusted.t", b"1")
    assert init.flistxattr(pfd) == []
    assert init.flistxattr(tfd) == ["trusted.t"]


def test_xattr_values_may_be_empty_and_up_to_65536_bytes(kernel):
    needs(kernel, "pidfs-xattr")
    init = kernel.init
    fd = init.pidfd_open(init.fork().pid)
    init.fsetxattr(fd, "trusted.empty", b"")
    init.fsetxattr(fd, "trusted.big", b"x" * 65536)
    assert init.fgetxattr(fd, "trusted.empty") == b""
    assert init.fgetxattr(fd, "trusted.big") == b"x" * 65536
    with raises_errno(errno.E2BIG):
        init.fsetxattr(fd, "trusted.bigger", b"x" * 65537)
    assert sorted(init.flistxattr(fd)) == ["trusted.big", "trusted.empty"]


@pytest.mark.parametrize("name, err", [
    ("user.foo", ENOTSUP), ("security.foo", ENOTSUP), ("system.foo", ENOTSUP),
    ("foo", ENOTSUP), ("trusted.", errno.EINVAL), ("", errno.ERANGE),
    ("trusted." + "n" * 248, errno.ERANGE),
])
def test_xattr_names_other_than_trusted_are_refused(kernel, name, err):
    # facts 9d: only trusted.* (EOPNOTSUPP otherwise); fs/xattr.c xattr_resolve_name:
    # an empty suffix is EINVAL; import_xattr_name: "" or > 255 bytes is ERANGE.
    needs(kernel, "pidfs-xattr")
    init = kernel.init
    fd = init.pidfd_open(init.fork().pid)
    init.fsetxattr(fd, "trusted.keep", b"1")
    with raises_errno(err):
        init.fsetxattr(fd, name, b"v")
    with raises_errno(err):
        init.fgetxattr(fd, name)
    with raises_errno(err):
        init.fremovexattr(fd, name)
    assert init.flistxattr(fd) == ["trusted.keep"]


def test_xattr_name_of_255_bytes_is_accepted(kernel):
    needs(kernel, "pidfs-xattr")
    init = kernel.init
    fd = init.pidfd_open(init.fork().pid)
    name = "trusted." + "n" * 247
    assert len(name) == 255
    init.fsetxattr(fd, name, b"v")
    assert init.fgetxattr(fd, name) == b"v"


def test_xattr_create_and_replace_flags(kernel):
    needs(kernel, "pidfs-xattr")
    init = kernel.init
    fd = init.pidfd_open(init.fork().pid)
    init.fsetxattr(fd, "trusted.a", b"1", XATTR_CREATE)
    with raises_errno(errno.EEXIST):
        init.fsetxattr(fd, "trusted.a", b"2", XATTR_CREATE)
    with raises_errno(errno.ENODATA):
        init.fsetxattr(fd, "trusted.b", b"2", XATTR_REPLACE)
    init.fsetxattr(fd, "trusted.a", b"3", XATTR_REPLACE)
    assert init.fgetxattr(fd, "trusted.a") == b"3"
    with raises_errno(errno.EINVAL):
        init.fsetxattr(fd, "trusted.a", b"4", 4)
    with raises_errno(errno.ENODATA):
        init.fremovexattr(fd, "trusted.b")
    # fs/xattr.c simple_xattr_set: with both flags, CREATE fails on an existing
    # name and REPLACE on a missing one.
    with raises_errno(errno.EEXIST):
        init.fsetxattr(fd, "trusted.a", b"5", XATTR_CREATE | XATTR_REPLACE)
    with raises_errno(errno.ENODATA):
        init.fsetxattr(fd, "trusted.b", b"5", XATTR_CREATE | XATTR_REPLACE)
    assert init.flistxattr(fd) == ["trusted.a"]
    assert init.fgetxattr(fd, "trusted.a") == b"3"


def test_xattr_get_before_any_was_ever_set_returns_an_empty_value(kernel):
    # spec 7 quirk: with no xattr ever set, pidfs_xattr_get returns length 0.  Once
    # the set exists, a missing name is ENODATA, even after everything was removed.
    needs(kernel, "pidfs-xattr")
    init = kernel.init
    fd = init.pidfd_open(init.fork().pid)
    assert init.fgetxattr(fd, "trusted.missing") == b""
    init.fsetxattr(fd, "trusted.a", b"1")
    init.fremovexattr(fd, "trusted.a")
    with raises_errno(errno.ENODATA):
        init.fgetxattr(fd, "trusted.missing")
    assert init.flistxattr(fd) == []


@pytest.mark.parametrize("call", ["remove", "replace"])
def test_xattr_a_failed_change_still_creates_the_empty_xattr_set(kernel, call):
    # fs/pidfs.c pidfs_xattr_set allocates attr->xattrs before simple_xattr_set fails with
    # ENODATA (removexattr reaches it as a set of NULL with XATTR_REPLACE).  From then
    # on pidfs_xattr_get finds a set, so a missing name is ENODATA, no longer "".
    needs(kernel, "pidfs-xattr")
    init = kernel.init
    fd = init.pidfd_open(init.fork().pid)
    assert init.fgetxattr(fd, "trusted.a") == b""
    with raises_errno(errno.ENODATA):
        if call == "remove":
            init.fremovexattr(fd, "trusted.a")
        else:
            init.fsetxattr(fd, "trusted.a", b"1", XATTR_REPLACE)
    with raises_errno(errno.ENODATA):
        init.fgetxattr(fd, "trusted.a")
    assert init.flistxattr(fd) == []


def test_xattrs_without_cap_sys_admin(kernel):
    # fs/xattr.c xattr_permission: trusted.* needs CAP_SYS_ADMIN: EPERM to write,
    # ENODATA to read; simple_xattr_list hides trusted.* (facts 9g).
    needs(kernel, "pidfs-xattr")
    init = kernel.init
    proc = init.fork().task
    fd = proc.pidfd_open(proc.fork().pid)
    proc.fsetxattr(fd, "trusted.x", b"1")
    proc.capset(proc.capget() - {CAP_SYS_ADMIN})
    with raises_errno(errno.EPERM):
        proc.fsetxattr(fd, "trusted.y", b"1")
    with raises_errno(errno.EPERM):
        proc.fremovexattr(fd, "trusted.x")
    with raises_errno(errno.ENODATA):
        proc.fgetxattr(fd, "trusted.x")
    assert proc.flistxattr(fd) == []
    # The argument checks (setxattr_copy) come before the permission, the permission
    # before the name resolution (xattr_resolve_name's EINVAL for "trusted.").
    with raises_errno(errno.E2BIG):
        proc.fsetxattr(fd, "trusted.y", b"v" * 65537)
    with raises_errno(errno.EPERM):
        proc.fsetxattr(fd, "trusted.", b"v")
    assert init.flistxattr(init.pidfd_open(proc.getpid())) == []


def test_xattrs_survive_closing_every_pidfd_and_the_reap(kernel):
    # spec 7: attr lives as long as the struct pid (facts 9e, 9f).
    needs(kernel, "pidfs-xattr")
    init = kernel.init
    child = init.fork()
    fd = init.pidfd_open(child.pid)
    init.fsetxattr(fd, "trusted.a", b"1")
    init.close(fd)
    fd = init.pidfd_open(child.pid)
    assert init.fgetxattr(fd, "trusted.a") == b"1"
    child.task.exit(0)
    init.fsetxattr(fd, "trusted.zombie", b"2")
    init.waitpid(child.pid, 0)
    assert init.fgetxattr(fd, "trusted.zombie") == b"2"
    init.fsetxattr(fd, "trusted.reaped", b"3")
    assert sorted(init.flistxattr(fd)) == ["trusted.a", "trusted.reaped", "trusted.zombie"]


@pytest.mark.parametrize("call, err", [
    (lambda t: t.fsetxattr(CLOSED_FD, "trusted.a", b"v", 4), errno.EINVAL),
    (lambda t: t.fsetxattr(CLOSED_FD, "", b"v"), errno.ERANGE),
    (lambda t: t.fsetxattr(CLOSED_FD, "trusted.a", b"v" * 65537), errno.E2BIG),
    (lambda t: t.fgetxattr(CLOSED_FD, ""), errno.ERANGE),
    (lambda t: t.fremovexattr(CLOSED_FD, ""), errno.ERANGE),
    (lambda t: t.fsetxattr(CLOSED_FD, "trusted.a", b"v"), errno.EBADF),
    (lambda t: t.fgetxattr(CLOSED_FD, "trusted.a"), errno.EBADF),
    (lambda t: t.fremovexattr(CLOSED_FD, "trusted.a"), errno.EBADF),
    (lambda t: t.flistxattr(CLOSED_FD), errno.EBADF),
], ids=["set_flags", "set_empty_name", "set_too_big", "get_empty_name", "remove_empty_name",
        "set", "get", "remove", "list"])
def test_xattr_calls_check_their_arguments_before_the_descriptor_from_613(kernel, call, err):
    # fs/xattr.c path_setxattrat ("xattr-at", 6.13): setxattr_copy (flags EINVAL, name
    # ERANGE, size E2BIG) runs before the fd is looked up; path_getxattrat and
    # path_removexattrat import the name first too.  Only valid arguments reach the
    # EBADF.  Before 6.13 fsetxattr, fgetxattr and fremovexattr fdget() first: EBADF.
    with raises_errno(err if kernel.has("xattr-at") else errno.EBADF):
        call(kernel.init)


# ================================================================ SO_PEERPIDFD

def test_so_peerpidfd_is_enoprotoopt_before_65(kernel):
    """What kernels without "so-peerpidfd" (6.5) answer: sk_getsockopt does not know the
    option (ENOPROTOOPT, the 6.1 machine's answer) and installs nothing; from 6.5 it is a
    new pidfd of the peer."""
    proc = kernel.init.fork().task
    a, _ = proc.socketpair()
    before = lowest_free_fd(proc)
    if kernel.has("so-peerpidfd"):
        fd = proc.getsockopt(a, SOL_SOCKET, SO_PEERPIDFD)
        assert fd == before and fdinfo(proc, fd)["Pid"] == str(proc.getpid())
        return
    with raises_errno(errno.ENOPROTOOPT):
        proc.getsockopt(a, SOL_SOCKET, SO_PEERPIDFD)
    assert lowest_free_fd(proc) == before


def test_so_peerpidfd_of_a_socketpair_names_its_creator(kernel):
    # facts 9a: a new O_CLOEXEC pidfd; for a socketpair the peer is the creator.
    needs(kernel, "so-peerpidfd")
    proc = kernel.init.fork().task
    a, b = proc.socketpair()
    fd = proc.getsockopt(a, SOL_SOCKET, SO_PEERPIDFD)
    fd2 = proc.getsockopt(b, SOL_SOCKET, SO_PEERPIDFD)
    assert fd != fd2
    assert ino(proc, fd) == ino(proc, fd2) == ino(proc, proc.pidfd_open(proc.getpid()))
    assert proc.fcntl(fd, F_GETFD) == FD_CLOEXEC
    assert proc.fcntl(fd, F_GETFL) == O_RDWR
    assert fdinfo(proc, fd)["Pid"] == str(proc.getpid())


def test_so_peerpidfd_names_the_process_of_the_thread_that_made_the_socketpair(kernel):
    # net/unix/af_unix.c: the peer pid is task_tgid(current).  That it is not the
    # thread's struct pid shows in fdinfo, and from "pidfs" (6.9) in the inode too.
    needs(kernel, "so-peerpidfd")
    proc = kernel.init.fork()
    thread = proc.task.spawn_thread()
    a, _ = thread.task.socketpair()
    fd = thread.task.getsockopt(a, SOL_SOCKET, SO_PEERPIDFD)
    assert fdinfo(proc.task, fd)["Pid"] == str(proc.pid) != str(thread.pid)
    assert ino(proc.task, fd) == ino(proc.task, proc.task.pidfd_open(proc.pid))
    if kernel.has("pidfs"):
        assert ino(proc.task, fd) != ino(proc.task, proc.task.pidfd_open(thread.pid, PIDFD_THREAD))


def test_so_peerpidfd_of_an_inherited_socket_still_names_the_creator(kernel):
    needs(kernel, "so-peerpidfd")
    init = kernel.init
    proc = init.fork()
    a, _ = proc.task.socketpair()
    child = proc.task.fork()
    fd = child.task.getsockopt(a, SOL_SOCKET, SO_PEERPIDFD)
    assert fdinfo(child.task, fd)["Pid"] == str(child.task.getppid()) == str(proc.pid)


def test_so_peerpidfd_of_a_zombie_peer_names_it(kernel):
    needs(kernel, "so-peerpidfd")
    init = kernel.init
    proc = init.fork()
    a, _ = proc.task.socketpair()
    child = proc.task.fork()
    proc.task.exit(4)
    fd = child.task.getsockopt(a, SOL_SOCKET, SO_PEERPIDFD)
    assert fdinfo(child.task, fd)["Pid"] == str(proc.pid)
    assert child.task.poll([fd])[fd] == READABLE


def test_so_peerpidfd_of_a_reaped_peer_is_einval_before_616(kernel):
    """What kernels without "peerpidfd-reaped" (6.16) answer: pidfd_prepare of a peer
    whose task is gone (EINVAL), installing nothing.  From 6.16 the peer, registered
    with pidfs at socketpair time, gets a pidfd whose fdinfo says Pid -1."""
    needs(kernel, "so-peerpidfd")
    init = kernel.init
    proc = init.fork()
    a, _ = proc.task.socketpair()
    child = proc.task.fork()
    proc.task.exit(5)
    init.waitpid(proc.pid, 0)
    before = lowest_free_fd(child.task)
    if kernel.has("peerpidfd-reaped"):
        fd = child.task.getsockopt(a, SOL_SOCKET, SO_PEERPIDFD)
        assert fd == before and fdinfo(child.task, fd)["Pid"] == "-1"
        return
    with raises_errno(errno.EINVAL):
        child.task.getsockopt(a, SOL_SOCKET, SO_PEERPIDFD)
    assert lowest_free_fd(child.task) == before


def test_so_peerpidfd_still_works_after_the_peer_was_reaped(kernel):
    # spec 11 ("net, pidfs: enable handing out pidfds for reaped sk->sk_peer_pid", 6.16):
    # the peer was registered with pidfs at socketpair time, so SO_PEERPIDFD hands out a
    # pidfd for a reaped peer, with fdinfo Pid -1, POLLIN|POLLHUP and the exit status
    # (facts 9b).
    needs(kernel, "peerpidfd-reaped")
    init = kernel.init
    proc = init.fork()
    a, _ = proc.task.socketpair()
    child = proc.task.fork()
    proc.task.exit(5)
    assert init.waitpid(proc.pid, 0) == (proc.pid, 0x500)
    fd = child.task.getsockopt(a, SOL_SOCKET, SO_PEERPIDFD)
    info = fdinfo(child.task, fd)
    assert (info["Pid"], info["NSpid"]) == ("-1", "-1")
    assert child.task.poll([fd])[fd] == REAPED
    got = child.task.pidfd_get_info(fd, PIDFD_INFO_EXIT)
    assert (got.mask, got.exit_code) == (REAPED_MASK, 0x500)
    with raises_errno(errno.ESRCH):
        child.task.pidfd_get_info(fd, 0)


def test_every_pidfd_ever_handed_out_reports_exit_information_after_the_reap(kernel):
    """Whichever way a pidfd was obtained -- CLONE_PIDFD, pidfd_open, open_by_handle_at,
    or SO_PEERPIDFD asked only after the peer was reaped -- it reports the exit status
    once the task is reaped (spec 7, pidfs_exit; spec 11): each way where the kernel has
    it, exit information from 6.15."""
    needs(kernel, "pidfd-info-exit")
    init = kernel.init
    proc = init.clone(pidfd=True)                               # CLONE_PIDFD
    holders = [(init, proc.pidfd), (init, init.pidfd_open(proc.pid))]      # pidfd_open
    if kernel.has("pidfs-fhandle"):
        handle = init.name_to_handle_at(proc.pidfd, "", AT_EMPTY_PATH)
        holders.append((init, init.open_by_handle_at(anchor(kernel, proc.pidfd), handle, O_RDONLY)))
    a, _ = proc.task.socketpair()                               # the peer is proc
    keeper = proc.task.fork()                                   # holds the socket on
    proc.task.exit_group(9)
    assert init.waitpid(proc.pid, 0) == (proc.pid, 9 << 8)
    if kernel.has("peerpidfd-reaped"):
        holders.append((keeper.task, keeper.task.getsockopt(a, SOL_SOCKET, SO_PEERPIDFD)))
    for task, fd in holders:
        info = task.pidfd_get_info(fd, PIDFD_INFO_EXIT)
        assert (info.mask, info.exit_code) == (REAPED_MASK, 9 << 8), fd
        assert task.poll([fd])[fd] == REAPED


@pytest.mark.parametrize("what, err", [("closed", errno.EBADF), ("pidfd", errno.ENOTSOCK),
                                       ("proc_file", errno.ENOTSOCK)])
def test_so_peerpidfd_on_a_descriptor_that_is_no_socket(kernel, what, err):
    # sockfd_lookup comes before the option: the same answer at every version.
    proc = kernel.init.fork().task
    fd = {"closed": lambda: CLOSED_FD, "pidfd": lambda: proc.pidfd_open(proc.getpid()),
          "proc_file": lambda: proc.open("/proc/self/status")}[what]()
    before = lowest_free_fd(proc)
    with raises_errno(err):
        proc.getsockopt(fd, SOL_SOCKET, SO_PEERPIDFD)
    assert lowest_free_fd(proc) == before


# ================================================================ wrong Python types

FD = object()        # stands for the pidfd the test opens


WRONG_TYPES = [
    ("pidfd_get_info", (FD, 0, 72.0)),
    ("pidfd_get_info", (FD, None)),
    ("name_to_handle_at", (FD, None, AT_EMPTY_PATH)),
    ("name_to_handle_at", (FD, "", "0")),
    ("name_to_handle_at", (FD, "", AT_EMPTY_PATH, 8.0)),
    ("open_by_handle_at", (FD, b"\xfe" * 8)),
    ("open_by_handle_at", (FD, None)),
    ("open_by_handle_at", (FD, FileHandle(FILEID_KERNFS, bytes(8)), "0")),
    ("fsetxattr", (FD, 5, b"v")),
    ("fsetxattr", (FD, "trusted.a", 5)),
    ("fsetxattr", (FD, "trusted.a", b"v", "0")),
    ("fgetxattr", (FD, None)),
    ("fremovexattr", (FD, ["trusted.a"])),
    ("flistxattr", ("3",)),
    ("getsockopt", (FD, "1", SO_PEERPIDFD)),
    ("fstat", (3.0,)),
    ("fstatfs", (3.0,)),
    ("ioctl", (FD, "1")),
]


def test_wrong_python_types_raise_typeerror_and_change_nothing(kernel):
    # The types are checked before any system call, at every version.
    init = kernel.init
    child = init.fork()
    fd = init.pidfd_open(child.pid)
    if kernel.has("pidfs-xattr"):
        init.fsetxattr(fd, "trusted.keep", b"1")
    before = snapshot([init, child.task]), lowest_free_fd(init), init.flistxattr(fd)
    for method, args in WRONG_TYPES:
        with pytest.raises(TypeError):
            getattr(init, method)(*[fd if a is FD else a for a in args])
    assert (snapshot([init, child.task]), lowest_free_fd(init), init.flistxattr(fd)) == before


# ================================================================ selftests: pidfd_info_test.c

def _info_fixture(kernel, which):
    """pidfd_info_test.c FIXTURE(pidfd_info): child1 SIGKILLed (zombie), child2 SIGKILLed
    and reaped, child3 NEWPID exit 0 (zombie), child4 NEWPID exit 0 and reaped."""
    init = kernel.init
    flags = CLONE_NEWPID if which in (3, 4) else 0
    child = init.clone(flags, pidfd=True)
    if which in (1, 2):
        init.pidfd_send_signal(child.pidfd, SIGKILL)
    else:
        child.task.exit(0)
    if which in (2, 4):
        assert init.waitid(P_PID, child.pid, WEXITED) is not None
    return init, child


def test_selftest_pidfd_info_test_sigkill_exit(kernel):
    """pidfd_info_test.c TEST_F(pidfd_info, sigkill_exit): a SIGKILLed, unreaped child
    has CREDS and no EXIT."""
    needs(kernel, "pidfd-info")
    init, child = _info_fixture(kernel, 1)
    assert init.pidfd_get_info(child.pidfd, PIDFD_INFO_CGROUPID).mask & PIDFD_INFO_CGROUPID
    info = init.pidfd_get_info(child.pidfd, PIDFD_INFO_CGROUPID | PIDFD_INFO_EXIT)
    assert info.mask & PIDFD_INFO_CREDS and not info.mask & PIDFD_INFO_EXIT


def test_selftest_pidfd_info_test_sigkill_reaped(kernel):
    """pidfd_info_test.c TEST_F(pidfd_info, sigkill_reaped): after reap, CGROUPID alone is
    ESRCH; CGROUPID|EXIT gives EXIT without CREDS and a SIGKILL wait status."""
    needs(kernel, "pidfd-info-exit")
    init, child = _info_fixture(kernel, 2)
    with raises_errno(errno.ESRCH):
        init.pidfd_get_info(child.pidfd, PIDFD_INFO_CGROUPID)
    info = init.pidfd_get_info(child.pidfd, PIDFD_INFO_CGROUPID | PIDFD_INFO_EXIT)
    assert not info.mask & PIDFD_INFO_CREDS and info.mask & PIDFD_INFO_EXIT
    assert os.WIFSIGNALED(info.exit_code) and os.WTERMSIG(info.exit_code) == SIGKILL


def test_selftest_pidfd_info_test_success_exit(kernel):
    """pidfd_info_test.c TEST_F(pidfd_info, success_exit): a child (init of a new pid
    namespace) that exited 0, unreaped: CREDS, no EXIT."""
    needs(kernel, "pidfd-info")
    init, child = _info_fixture(kernel, 3)
    info = init.pidfd_get_info(child.pidfd, PIDFD_INFO_CGROUPID | PIDFD_INFO_EXIT)
    assert info.mask & PIDFD_INFO_CREDS and not info.mask & PIDFD_INFO_EXIT


def test_selftest_pidfd_info_test_success_reaped(kernel):
    """pidfd_info_test.c TEST_F(pidfd_info, success_reaped): reaped: CGROUPID alone is
    ESRCH; with EXIT: no CREDS, EXIT, WIFEXITED with status 0."""
    needs(kernel, "pidfd-info-exit")
    init, child = _info_fixture(kernel, 4)
    with raises_errno(errno.ESRCH):
        init.pidfd_get_info(child.pidfd, PIDFD_INFO_CGROUPID)
    info = init.pidfd_get_info(child.pidfd, PIDFD_INFO_CGROUPID | PIDFD_INFO_EXIT)
    assert not info.mask & PIDFD_INFO_CREDS and info.mask & PIDFD_INFO_EXIT
    assert os.WIFEXITED(info.exit_code) and os.WEXITSTATUS(info.exit_code) == 0


def test_selftest_pidfd_info_test_success_reaped_poll(kernel):
    """pidfd_info_test.c TEST_F(pidfd_info, success_reaped_poll): the reaped child2 polls
    POLLIN|POLLHUP; its exit info says SIGKILL."""
    needs(kernel, "pidfd-info-exit")
    init, child = _info_fixture(kernel, 2)
    revents = init.poll([child.pidfd], POLLIN)[child.pidfd]
    assert revents & POLLIN and revents & POLLHUP
    info = init.pidfd_get_info(child.pidfd, PIDFD_INFO_CGROUPID | PIDFD_INFO_EXIT)
    assert not info.mask & PIDFD_INFO_CREDS and info.mask & PIDFD_INFO_EXIT
    assert os.WIFSIGNALED(info.exit_code) and os.WTERMSIG(info.exit_code) == SIGKILL


def _thread_group(kernel, leader_exits: bool):
    # The thread-group selftests are about 6.15's exit information and its delayed
    # notification of a leader that exited first ("pidfs-thread-leader").
    needs(kernel, "pidfd-info-exit", "pidfs-thread-leader")
    init = kernel.init
    leader = init.clone(pidfd=True)
    thread = leader.task.spawn_thread()
    if leader_exits:
        leader.task.exit(0)                          # raw SYS_exit(0) of the leader thread
    return init, leader, thread


MASK = PIDFD_INFO_CGROUPID | PIDFD_INFO_EXIT


def test_selftest_pidfd_info_test_thread_group(kernel):
    """pidfd_info_test.c TEST_F(pidfd_info, thread_group): the leader SYS_exit(0)s while
    a thread lives: no poll event, pidfd_open(tid, 0) fails (ENOENT from
    "pidfd-open-errnos", 6.16; EINVAL before); GET_INFO shows CREDS; after SIGKILL and
    waitid, POLLIN|POLLHUP and every pidfd reports SIGKILL (newest)."""
    init, leader, thread = _thread_group(kernel, True)
    leader_thread = init.pidfd_open(leader.pid, PIDFD_THREAD)
    assert init.poll([leader_thread], POLLIN)[leader_thread] == 0
    with raises_errno(errno.ENOENT if kernel.has("pidfd-open-errnos") else errno.EINVAL):
        init.pidfd_open(thread.pid, 0)
    tfd = init.pidfd_open(thread.pid, PIDFD_THREAD)
    for fd, pid in ((leader.pidfd, leader.pid), (leader_thread, leader.pid), (tfd, thread.pid)):
        info = init.pidfd_get_info(fd, MASK)
        assert info.mask & PIDFD_INFO_CREDS and not info.mask & PIDFD_INFO_EXIT
        assert info.pid == pid
    init.pidfd_send_signal(leader.pidfd, SIGKILL)
    assert init.waitid(P_PIDFD, leader.pidfd, WEXITED) == \
        WaitidResult(leader.pid, 0, SIGCHLD, SIGKILL, pidlab.CLD_KILLED)
    revents = init.poll([leader.pidfd], POLLIN)[leader.pidfd]
    assert revents & POLLIN and revents & POLLHUP
    for fd in (leader.pidfd, leader_thread, tfd):
        info = init.pidfd_get_info(fd, MASK)
        assert not info.mask & PIDFD_INFO_CREDS and info.mask & PIDFD_INFO_EXIT
        assert os.WIFSIGNALED(info.exit_code) and os.WTERMSIG(info.exit_code) == SIGKILL


def _check_after_exec(init, leader, leader_thread, tfd):
    assert init.poll([tfd], POLLHUP)[tfd] == POLLHUP
    info = init.pidfd_get_info(tfd, MASK)
    assert not info.mask & PIDFD_INFO_CREDS and info.mask & PIDFD_INFO_EXIT
    assert os.WIFEXITED(info.exit_code) and os.WEXITSTATUS(info.exit_code) == 0
    info = init.pidfd_get_info(leader.pidfd, MASK)
    assert info.mask & PIDFD_INFO_CREDS and not info.mask & PIDFD_INFO_EXIT
    assert info.pid == leader.pid
    init.pidfd_send_signal(leader.pidfd, SIGKILL)
    revents = init.poll([leader_thread], POLLIN)[leader_thread]
    assert revents & POLLIN and not revents & POLLHUP
    assert init.waitid(P_PIDFD, leader.pidfd, WEXITED) is not None
    info = init.pidfd_get_info(leader.pidfd, MASK)
    assert not info.mask & PIDFD_INFO_CREDS and info.mask & PIDFD_INFO_EXIT


def test_selftest_pidfd_info_test_thread_group_exec(kernel):
    """pidfd_info_test.c TEST_F(pidfd_info, thread_group_exec): the leader SYS_exit(0)s,
    then the thread execs pidfd_exec_helper: the leader pidfds see no event, the old tid
    hangs up with a clean exit 0, the leader pid lives on until SIGKILL."""
    init, leader, thread = _thread_group(kernel, True)
    leader_thread = init.pidfd_open(leader.pid, PIDFD_THREAD)
    assert init.poll([leader_thread], POLLIN)[leader_thread] == 0
    tfd = init.pidfd_open(thread.pid, PIDFD_THREAD)
    thread.task.execve()
    assert init.poll([leader_thread], POLLIN)[leader_thread] == 0
    _check_after_exec(init, leader, leader_thread, tfd)


def test_selftest_pidfd_info_test_thread_group_exec_thread(kernel):
    """pidfd_info_test.c TEST_F(pidfd_info, thread_group_exec_thread): the leader stays
    alive while the thread execs; the assertions are those of thread_group_exec."""
    init, leader, thread = _thread_group(kernel, False)
    leader_thread = init.pidfd_open(leader.pid, PIDFD_THREAD)
    tfd = init.pidfd_open(thread.pid, PIDFD_THREAD)
    thread.task.execve()
    assert init.poll([leader_thread], POLLIN)[leader_thread] == 0
    _check_after_exec(init, leader, leader_thread, tfd)


def test_selftest_pidfd_info_test_supported_mask_field(kernel):
    """pidfd_info_test.c TEST(supported_mask_field): asks for PIDFD_INFO_SUPPORTED_MASK.
    From "pidfd-info-supported-mask" (6.19) the bit comes back with supported_mask =
    6.19's PIDFD_INFO_SUPPORTED (bits 0-6; the selftest's COREDUMP_CODE is newer still);
    before, the bit is unknown: ignored, not set in the reply (spec 9, facts 6a)."""
    needs(kernel, "pidfd-info")
    init = kernel.init
    child = init.clone(pidfd=True)
    info = init.pidfd_get_info(child.pidfd, PIDFD_INFO_SUPPORTED_MASK, 80)
    if kernel.has("pidfd-info-supported-mask"):
        assert info.mask == ALIVE_MASK | PIDFD_INFO_SUPPORTED_MASK
        assert info.supported_mask == PIDFD_INFO_SUPPORTED
    else:
        assert (info.mask, info.supported_mask) == (ALIVE_MASK, 0)
    init.pidfd_send_signal(child.pidfd, SIGKILL)
    assert init.waitid(P_PIDFD, child.pidfd, WEXITED) is not None


def test_selftest_pidfd_info_test_supported_mask_with_other_fields(kernel):
    """pidfd_info_test.c TEST(supported_mask_with_other_fields): CGROUPID|SUPPORTED_MASK:
    both come back from 6.19 (supported_mask != 0); before, CGROUPID alone (with PID
    and CREDS)."""
    needs(kernel, "pidfd-info")
    init = kernel.init
    child = init.clone(pidfd=True)
    info = init.pidfd_get_info(child.pidfd, PIDFD_INFO_CGROUPID | PIDFD_INFO_SUPPORTED_MASK, 80)
    assert info.mask & PIDFD_INFO_CGROUPID
    on = kernel.has("pidfd-info-supported-mask")
    assert bool(info.mask & PIDFD_INFO_SUPPORTED_MASK) == on == (info.supported_mask != 0)


# ================================================================ selftests: pidfd_file_handle_test.c

def _fh_fixture(kernel):
    """FIXTURE(file_handle): our own pidfd; child1 plain (CLONE_NEWUSER dropped), child2
    and child3 each init of a new pid namespace; all pause."""
    needs(kernel, "pidfs-fhandle")
    proc = kernel.init.fork().task
    self_fd = proc.pidfd_open(proc.getpid())
    child1 = proc.clone(pidfd=True)
    child2 = proc.clone(CLONE_NEWPID, pidfd=True)
    child3 = proc.clone(CLONE_NEWPID, pidfd=True)
    return proc, self_fd, child1, child2, child3


def test_selftest_pidfd_file_handle_test_file_handle_same_pidns(kernel):
    """pidfd_file_handle_test.c TEST_F(file_handle, file_handle_same_pidns)."""
    proc, self_fd, child1, _, _ = _fh_fixture(kernel)
    h = handle_of(proc, child1.pidfd)
    st1 = proc.fstat(child1.pidfd)
    for flags in (0, O_CLOEXEC, O_NONBLOCK):
        st = proc.fstat(proc.open_by_handle_at(self_fd, h, flags))
        assert (st.st_dev, st.st_ino) == (st1.st_dev, st1.st_ino)


def test_selftest_pidfd_file_handle_test_file_handle_child_pidns(kernel):
    """pidfd_file_handle_test.c TEST_F(file_handle, file_handle_child_pidns)."""
    proc, self_fd, _, child2, _ = _fh_fixture(kernel)
    h = handle_of(proc, child2.pidfd)
    st2 = proc.fstat(child2.pidfd)
    for flags in (0, O_CLOEXEC, O_NONBLOCK):
        st = proc.fstat(proc.open_by_handle_at(self_fd, h, flags))
        assert (st.st_dev, st.st_ino) == (st2.st_dev, st2.st_ino)


def test_selftest_pidfd_file_handle_test_file_handle_foreign_pidns(kernel):
    """pidfd_file_handle_test.c TEST_F(file_handle, file_handle_foreign_pidns): after
    setns into child2's pid namespace, a forked child cannot decode our own handle."""
    proc, self_fd, _, child2, _ = _fh_fixture(kernel)
    h = handle_of(proc, self_fd)
    proc.setns(child2.pidfd, CLONE_NEWPID)
    grandchild = proc.fork()
    with raises_errno(errno.ESTALE):
        grandchild.task.open_by_handle_at(self_fd, h, 0)
    grandchild.task.exit(0)
    assert proc.waitpid(grandchild.pid, 0) == (grandchild.pid, 0)


def test_selftest_pidfd_file_handle_test_pid_has_exited(kernel):
    """pidfd_file_handle_test.c TEST_F(file_handle, pid_has_exited): a SIGKILLed, unreaped
    child still decodes."""
    proc, self_fd, _, _, child3 = _fh_fixture(kernel)
    h = handle_of(proc, child3.pidfd)
    st = proc.fstat(child3.pidfd)
    assert ino(proc, proc.open_by_handle_at(self_fd, h)) == st.st_ino
    proc.pidfd_send_signal(child3.pidfd, SIGKILL)
    proc.close(child3.pidfd)
    assert proc.waitid(P_PID, child3.pid, WEXITED | WNOWAIT) is not None
    assert ino(proc, proc.open_by_handle_at(self_fd, h)) == st.st_ino


def test_selftest_pidfd_file_handle_test_pid_has_been_reaped(kernel):
    """pidfd_file_handle_test.c TEST_F(file_handle, pid_has_been_reaped): a reaped child
    no longer decodes."""
    proc, self_fd, _, _, child3 = _fh_fixture(kernel)
    h = handle_of(proc, child3.pidfd)
    proc.pidfd_send_signal(child3.pidfd, SIGKILL)
    proc.close(child3.pidfd)
    assert proc.waitid(P_PID, child3.pid, WEXITED) is not None
    with raises_errno(errno.ESTALE):
        proc.open_by_handle_at(self_fd, h)


def test_selftest_pidfd_file_handle_test_open_by_handle_at_valid_flags(kernel):
    """pidfd_file_handle_test.c TEST_F(file_handle, open_by_handle_at_valid_flags)."""
    proc, self_fd, _, child2, _ = _fh_fixture(kernel)
    flags = O_RDONLY | O_WRONLY | O_RDWR | O_NONBLOCK | O_CLOEXEC | O_EXCL   # O_NDELAY == O_NONBLOCK
    fd = proc.open_by_handle_at(self_fd, handle_of(proc, child2.pidfd), flags)
    assert ino(proc, fd) == ino(proc, child2.pidfd)


def test_selftest_pidfd_file_handle_test_open_by_handle_at_invalid_flags(kernel):
    """pidfd_file_handle_test.c TEST_F(file_handle, open_by_handle_at_invalid_flags)."""
    proc, self_fd, _, child2, _ = _fh_fixture(kernel)
    h = handle_of(proc, child2.pidfd)
    for flags in (O_ASYNC, O_CREAT, O_NOCTTY, O_TRUNC, O_APPEND, O_SYNC, O_DSYNC, O_DIRECT,
                  O_DIRECTORY, O_NOFOLLOW, O_NOATIME, O_PATH, O_TMPFILE):
        with raises_errno(errno.EINVAL):
            proc.open_by_handle_at(self_fd, h, flags)


def test_selftest_pidfd_file_handle_test_lookup_must_fail(kernel):
    """pidfd_file_handle_test.c TEST_F(file_handle, lookup_must_fail): a path below a
    pidfd is ENOTDIR, with and without AT_EMPTY_PATH."""
    proc, _, _, child2, _ = _fh_fixture(kernel)
    for flags in (AT_EMPTY_PATH, 0):
        with raises_errno(errno.ENOTDIR):
            proc.name_to_handle_at(child2.pidfd, "lookup-is-not-possible-with-pidfs", flags)


def test_selftest_pidfd_file_handle_test_invalid_name_to_handle_at_flags(kernel):
    """pidfd_file_handle_test.c TEST_F(file_handle, invalid_name_to_handle_at_flags):
    AT_EMPTY_PATH | AT_HANDLE_CONNECTABLE fails (EINVAL)."""
    proc, _, _, child2, _ = _fh_fixture(kernel)
    with raises_errno(errno.EINVAL):
        proc.name_to_handle_at(child2.pidfd, "", AT_EMPTY_PATH | AT_HANDLE_CONNECTABLE)


def test_selftest_pidfd_file_handle_test_valid_name_to_handle_at_flags(kernel):
    """pidfd_file_handle_test.c TEST_F(file_handle, valid_name_to_handle_at_flags):
    AT_EMPTY_PATH | AT_HANDLE_FID works and the handle decodes."""
    proc, self_fd, _, child2, _ = _fh_fixture(kernel)
    h = proc.name_to_handle_at(child2.pidfd, "", AT_EMPTY_PATH | AT_HANDLE_FID)
    assert ino(proc, proc.open_by_handle_at(self_fd, h, 0)) == ino(proc, child2.pidfd)


def test_selftest_pidfd_file_handle_test_decode_purely_based_on_file_handle(kernel):
    """pidfd_file_handle_test.c TEST_F(file_handle, decode_purely_based_on_file_handle):
    FD_PIDFS_ROOT decodes with 0/O_CLOEXEC/O_NONBLOCK; -EBADF and AT_FDCWD do not."""
    needs(kernel, "fd-pidfs-root")
    proc, self_fd, child1, _, _ = _fh_fixture(kernel)
    h = handle_of(proc, child1.pidfd)
    for flags in (0, O_CLOEXEC, O_NONBLOCK):
        assert ino(proc, proc.open_by_handle_at(FD_PIDFS_ROOT, h, flags)) == ino(proc, child1.pidfd)
    assert ino(proc, proc.open_by_handle_at(self_fd, h, 0)) == ino(proc, child1.pidfd)
    with raises_errno(errno.EBADF):
        proc.open_by_handle_at(-errno.EBADF, h, 0)
    skip_in_user_namespace(kernel, "userns-caps", "decoding a handle through a mount other "
                           "than pidfs needs CAP_DAC_READ_SEARCH (may_decode_fh: EPERM)")
    with raises_errno(errno.ESTALE):
        proc.open_by_handle_at(AT_FDCWD, h, 0)


# ================================================================ selftests: pidfd_xattr_test.c

def test_selftest_pidfd_xattr_test_set_get_list_xattr_multiple(kernel):
    """pidfd_xattr_test.c TEST_F(pidfd_xattr, set_get_list_xattr_multiple): ten trusted.*
    values on an exited child (init of a new pid namespace), listed, then removed."""
    needs(kernel, "pidfs-xattr")
    init = kernel.init
    child = init.clone(CLONE_NEWPID, pidfd=True)
    child.task.exit(0)
    fd = child.pidfd
    names = [f"trusted.testattr{i}" for i in range(10)]
    for i, name in enumerate(names):
        init.fsetxattr(fd, name, f"testvalue{i}".encode())
    for i, name in enumerate(names):
        assert init.fgetxattr(fd, name) == f"testvalue{i}".encode()
    assert sorted(init.flistxattr(fd)) == sorted(names)
    for name in names:
        init.fremovexattr(fd, name)
        with raises_errno(errno.ENODATA):
            init.fgetxattr(fd, name)
    assert init.waitpid(child.pid, 0) == (child.pid, 0)


def test_selftest_pidfd_xattr_test_set_get_list_xattr_persistent(kernel):
    """pidfd_xattr_test.c (older version) set_get_list_xattr_persistent: the xattr stays
    after the pidfd is closed and the zombie child is opened again."""
    needs(kernel, "pidfs-xattr")
    init = kernel.init
    child = init.clone(CLONE_NEWPID, pidfd=True)
    child.task.exit(0)
    init.fsetxattr(child.pidfd, "trusted.persistent", b"persistent value")
    assert init.fgetxattr(child.pidfd, "trusted.persistent") == b"persistent value"
    assert init.flistxattr(child.pidfd) == ["trusted.persistent"]
    init.close(child.pidfd)
    fd = init.pidfd_open(child.pid, 0)
    assert init.fgetxattr(fd, "trusted.persistent") == b"persistent value"
    assert init.flistxattr(fd) == ["trusted.persistent"]


# ================================================================ selftests: pidfd_inode_owner_test.c

def test_selftest_pidfd_inode_owner_test_owner_self(kernel):
    """pidfd_inode_owner_test.c owner_self (vfs tree): st_uid/st_gid of our own pidfd;
    mainline always 0:0 (spec 7 stat; 6.1's anonymous inode too), which is also
    getuid/getgid for root."""
    proc = kernel.init.fork().task
    st = proc.fstat(proc.pidfd_open(proc.getpid()))
    assert (st.st_uid, st.st_gid) == machine_root(kernel)
    assert (proc.getuid(), proc.getgid()) == (0, 0)


def test_selftest_pidfd_inode_owner_test_owner_child(kernel):
    """pidfd_inode_owner_test.c owner_child: the child's pidfd is owned by 0:0."""
    init = kernel.init
    child = init.clone(pidfd=True)
    st = init.fstat(child.pidfd)
    assert (st.st_uid, st.st_gid) == machine_root(kernel)


def test_selftest_pidfd_inode_owner_test_owner_child_changed_uid(kernel):
    """pidfd_inode_owner_test.c owner_child_changed_uid: the vfs tree tracks the child's
    new 65534 ids; mainline has no inode owner (spec 7: uid and gid 0), so it stays 0:0
    while PIDFD_GET_INFO (6.13) shows the new ids."""
    init = kernel.init
    child = init.clone(pidfd=True)
    child.task.setresgid(65534, 65534, 65534)
    child.task.setresuid(65534, 65534, 65534)
    st = init.fstat(child.pidfd)
    assert (st.st_uid, st.st_gid) == machine_root(kernel)
    if kernel.has("pidfd-info"):
        assert init.pidfd_get_info(child.pidfd).ruid == 65534


def test_selftest_pidfd_inode_owner_test_owner_exited_child(kernel):
    """pidfd_inode_owner_test.c owner_exited_child: after reap still 0:0."""
    init, child = reaped_child(kernel)
    st = init.fstat(child.pidfd)
    assert (st.st_uid, st.st_gid) == machine_root(kernel)


def test_selftest_pidfd_inode_owner_test_owner_exited_child_changed_uid(kernel):
    """pidfd_inode_owner_test.c owner_exited_child_changed_uid: the vfs tree keeps the
    ids at exit (65534); mainline reports 0:0."""
    init = kernel.init
    child = init.clone(pidfd=True)
    child.task.setresgid(65534, 65534, 65534)
    child.task.setresuid(65534, 65534, 65534)
    child.task.exit(0)
    init.waitpid(child.pid, 0)
    st = init.fstat(child.pidfd)
    assert (st.st_uid, st.st_gid) == machine_root(kernel)


def test_selftest_pidfd_inode_owner_test_permission_same_user(kernel):
    """pidfd_inode_owner_test.c permission_same_user: a child reading user.test through a
    pidfd on its parent gets EOPNOTSUPP (no user.* handler), not EACCES.  From "pidfs"
    (6.9) the inode is a regular file, so user.* passes xattr_permission; 6.1-6.8's
    anonymous inode has no file type, and user.* reads there are ENODATA."""
    proc = kernel.init.fork().task
    child = proc.fork()
    fd = child.task.pidfd_open(child.task.getppid())
    with raises_errno(errno.EOPNOTSUPP if kernel.has("pidfs") else errno.ENODATA):
        child.task.fgetxattr(fd, "user.test")
