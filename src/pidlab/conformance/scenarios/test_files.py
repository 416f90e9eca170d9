"""Descriptors as files: fcntl(F_SETFL), who owns an inode, /proc/<pid>/fd links,
/proc/thread-self as a thread's directory, and POSIX ACL names on pidfds.

Expected values come from the kernel: fs/fcntl.c (check_fcntl_cmd lets an O_PATH
descriptor take only F_DUPFD*, F_GETFD/SETFD and F_GETFL, else EBADF; setfl checks
O_NOATIME with inode_owner_or_capable, refuses O_DIRECT without FMODE_CAN_ODIRECT
with EINVAL, and leaves FASYNC to the file's ->fasync, which only sockets have
here), fs/proc/base.c (task_dump_owner: the 0555 directories belong to the task's
effective ids, other files to root while the task is not dumpable;
proc_pid_readlink checks ptrace access), fs/proc/fd.c (proc_fd_permission: the
0500 fd directory opens to its owner, CAP_DAC_READ_SEARCH/OVERRIDE or the same
thread group; proc_lookupfd takes no leading zero), net/socket.c (sock_alloc: the
creator's fsuid and fsgid), fs/posix_acl.c (posix_acl_from_xattr's EINVAL and
EOPNOTSUPP before set_posix_acl's EOPNOTSUPP on pidfs, which has no ACLs), and
/work/shared/spec/linux-pid-6.18.md section 8 (a pidfd is "anon_inode:[pidfd]").
Each was observed on the live kernel by the same scenario.

Versions (pidlab/_changes.py): 6.9's pidfs inodes made the fd link read
pidfd:[INO] until 6.10's lsof fix (pidfs-stashed, pidfs-lsof); POSIX ACLs are
parsed first from 6.2 ("xattr: use posix acl api"; 6.1 answers EOPNOTSUPP to
every one, seen on 6.1.0-57), and the 6.9-6.16 pidfs inodes are immutable, so a
well-formed ACL is EPERM there (seen on 6.12.117).
"""

from __future__ import annotations

import errno
import struct

import pytest

from pidlab import (AT_EMPTY_PATH, F_DUPFD, F_GETFD, F_GETFL, F_SETFD, F_SETFL, O_APPEND, O_ASYNC, O_DIRECT,
                    O_NOATIME, O_NONBLOCK, O_PATH)
from pidlab import Unsupported
from pidlab.conformance.helpers import machine_root, raises_errno, skip_in_user_namespace

# Every scenario runs on the model at every kernel version and on every live kernel.
pytestmark = pytest.mark.pidlab_kernels("all")

CAP_FOWNER = 3


def _setfl_targets(init, child_pid: int) -> dict[str, int]:
    a, _ = init.socketpair()
    return {"pidfd": init.pidfd_open(child_pid), "socket": a, "procdir": init.open("/proc/self"),
            "nsfs": init.open("/proc/self/ns/pid"), "status": init.open("/proc/self/status"),
            "stdin": 0}


# ---------------------------------------------------------------- fcntl(F_SETFL)

@pytest.mark.parametrize("target", ["pidfd", "socket", "procdir", "nsfs", "status", "stdin"])
def test_setfl_o_direct_is_einval_and_changes_nothing(kernel, target):
    init = kernel.init
    fd = _setfl_targets(init, init.fork().pid)[target]
    before = init.fcntl(fd, F_GETFL)
    with raises_errno(errno.EINVAL):
        init.fcntl(fd, F_SETFL, O_DIRECT | O_NONBLOCK)
    assert init.fcntl(fd, F_GETFL) == before


@pytest.mark.parametrize("target, kept", [("socket", True), ("pidfd", False), ("procdir", False),
                                          ("nsfs", False), ("stdin", False)])
def test_setfl_o_async_is_kept_only_by_files_with_fasync(kernel, target, kept):
    init = kernel.init
    fd = _setfl_targets(init, init.fork().pid)[target]
    init.fcntl(fd, F_SETFL, O_ASYNC)
    assert bool(init.fcntl(fd, F_GETFL) & O_ASYNC) is kept
    init.fcntl(fd, F_SETFL, 0)
    assert not init.fcntl(fd, F_GETFL) & O_ASYNC


def test_setfl_replaces_append_nonblock_and_noatime_together(kernel):
    skip_in_user_namespace(kernel, "userns-caps", "O_NOATIME on a pidfd asks for its owner or "
                           "CAP_FOWNER over it (inode_owner_or_capable)")
    init = kernel.init
    fd = init.pidfd_open(init.fork().pid)
    init.fcntl(fd, F_SETFL, O_APPEND | O_NONBLOCK | O_NOATIME)
    assert init.fcntl(fd, F_GETFL) & (O_APPEND | O_NONBLOCK | O_NOATIME) == O_APPEND | O_NONBLOCK | O_NOATIME
    init.fcntl(fd, F_SETFL, O_NONBLOCK)
    assert init.fcntl(fd, F_GETFL) & (O_APPEND | O_NONBLOCK | O_NOATIME) == O_NONBLOCK


def test_setfl_o_noatime_needs_the_inode_owner_or_cap_fowner(kernel):
    init = kernel.init
    c = init.fork()
    t = c.task
    t.setuid(1000)                   # drops every capability
    own_socket, _ = t.socketpair()
    root_pidfd = t.pidfd_open(1)     # pidfs inodes belong to root
    with raises_errno(errno.EPERM):
        t.fcntl(root_pidfd, F_SETFL, O_NOATIME)
    assert not t.fcntl(root_pidfd, F_GETFL) & O_NOATIME
    with raises_errno(errno.EPERM):
        t.fcntl(0, F_SETFL, O_NOATIME)
    t.fcntl(own_socket, F_SETFL, O_NOATIME)
    assert t.fcntl(own_socket, F_GETFL) & O_NOATIME
    own_dir = t.open("/proc/self")   # a 0555 /proc directory is the task's own
    t.fcntl(own_dir, F_SETFL, O_NOATIME)
    assert t.fcntl(own_dir, F_GETFL) & O_NOATIME


def test_setfl_o_noatime_with_cap_fowner_alone(kernel):
    skip_in_user_namespace(kernel, "userns-caps", "O_NOATIME on a pidfd asks for its owner or "
                           "CAP_FOWNER over it (inode_owner_or_capable)")
    init = kernel.init
    t = init.fork().task
    fd = t.pidfd_open(1)
    t.setresuid(0, 1000, 0)          # effective 1000: the effective set is emptied
    with raises_errno(errno.EPERM):
        t.fcntl(fd, F_SETFL, O_NOATIME)
    t.capset({CAP_FOWNER})            # permitted shrinks to it as well
    t.fcntl(fd, F_SETFL, O_NOATIME)
    assert t.fcntl(fd, F_GETFL) & O_NOATIME


def test_an_o_path_descriptor_takes_only_the_path_commands(kernel):
    init = kernel.init
    fd = init.open("/proc/self", O_PATH)
    flags = init.fcntl(fd, F_GETFL)
    assert flags & O_PATH
    with raises_errno(errno.EBADF):
        init.fcntl(fd, F_SETFL, O_NONBLOCK)
    with raises_errno(errno.EBADF):
        init.fcntl(fd, 9999)              # an unknown command is EBADF too, not EINVAL
    assert init.fcntl(fd, F_GETFL) == flags
    init.fcntl(fd, F_SETFD, 1)
    assert init.fcntl(fd, F_GETFD) == 1
    dup = init.fcntl(fd, F_DUPFD, 10)
    assert dup >= 10 and init.fcntl(dup, F_GETFL) == flags


# ---------------------------------------------------------------- inode owners

def test_a_socket_belongs_to_its_creators_fsuid_and_fsgid(kernel):
    t = kernel.init.fork().task
    t.setgid(2000)
    t.setuid(1000)
    a, b = t.socketpair()
    assert (t.fstat(a).st_uid, t.fstat(a).st_gid) == (1000, 2000)
    assert (t.fstat(b).st_uid, t.fstat(b).st_gid) == (1000, 2000)


def test_a_proc_pid_directory_belongs_to_the_tasks_effective_ids(kernel):
    init = kernel.init
    c = init.fork()
    fd = init.open(f"/proc/{c.pid}")
    assert (init.fstat(fd).st_uid, init.fstat(fd).st_gid) == (0, 0)
    c.task.setgid(2000)
    c.task.setuid(1000)              # no longer dumpable: that does not matter to a 0555 dir
    # pid_getattr asks the task again: the descriptor opened before shows the new owner.
    assert (init.fstat(fd).st_uid, init.fstat(fd).st_gid) == (1000, 2000)
    o_path = init.open(f"/proc/{c.pid}", O_PATH)
    assert init.fstat(o_path).st_uid == 1000


def test_a_proc_file_of_a_task_that_is_not_dumpable_belongs_to_root(kernel):
    init = kernel.init
    c = init.fork()
    c.task.setuid(1000)              # commit_creds: a changed euid makes the task non-dumpable
    fd = c.task.open("/proc/self/status")
    assert (c.task.fstat(fd).st_uid, c.task.fstat(fd).st_gid) == (0, 0)


def test_pidfds_and_nsfs_files_belong_to_root(kernel):
    t = kernel.init.fork().task
    t.setuid(1000)
    for fd in (t.pidfd_open(1), t.open("/proc/self/ns/pid")):
        assert (t.fstat(fd).st_uid, t.fstat(fd).st_gid) == machine_root(kernel)


# ---------------------------------------------------------------- /proc/<pid>/fd links

def test_fd_links_name_what_a_descriptor_is(kernel):
    init = kernel.init
    c = init.fork()
    pidfd = init.pidfd_open(c.pid)
    sock, _ = init.socketpair()
    nsfd = init.open("/proc/self/ns/pid")
    if kernel.has("pidfs-stashed") and not kernel.has("pidfs-lsof"):
        expected = f"pidfd:[{init.fstat(pidfd).st_ino}]"    # 6.9 only
    else:
        expected = "anon_inode:[pidfd]"
    assert init.readlink(f"/proc/self/fd/{pidfd}") == expected
    assert init.readlink(f"/proc/self/fd/{sock}") == f"socket:[{init.fstat(sock).st_ino}]"
    assert init.readlink(f"/proc/self/fd/{nsfd}") == f"pid:[{init.fstat(nsfd).st_ino}]"
    assert init.readlink("/proc/self/fd/0") == "/dev/null"
    assert init.readlink(f"/proc/{c.pid}/fd/0") == "/dev/null"


def test_fd_links_of_descriptors_that_are_not_open(kernel):
    init = kernel.init
    fd = init.pidfd_open(init.fork().pid)
    with raises_errno(errno.ENOENT):
        init.readlink("/proc/self/fd/777")
    with raises_errno(errno.ENOENT):
        init.readlink(f"/proc/self/fd/0{fd}")      # no leading zero
    init.close(fd)
    with raises_errno(errno.ENOENT):
        init.readlink(f"/proc/self/fd/{fd}")


def test_the_fd_directory_is_no_link(kernel):
    with raises_errno(errno.EINVAL):
        kernel.init.readlink("/proc/self/fd")


def test_another_users_fd_directory_is_closed(kernel):
    init = kernel.init
    c = init.fork()
    other = init.fork()
    t = c.task
    t.setuid(1000)
    assert t.readlink("/proc/self/fd/0") == "/dev/null"    # the same thread group
    with raises_errno(errno.EACCES):
        t.readlink("/proc/1/fd/0")
    with raises_errno(errno.EACCES):                      # before the fd is looked up
        t.readlink("/proc/1/fd/777")
    other.task.setuid(1000)           # same uid, but not dumpable: the directory is root's
    with raises_errno(errno.EACCES):
        t.readlink(f"/proc/{other.pid}/fd/0")


# ---------------------------------------------------------------- file handles of other files

@pytest.mark.parametrize("what", ["procdir", "status", "sysctl", "socket", "o_path"])
def test_procfs_and_sockfs_files_have_no_file_handles(kernel, what):
    """fs/fhandle.c: exportfs_can_encode_fh fails without export_operations, before
    the handle size is looked at."""
    init = kernel.init
    fd = {"procdir": lambda: init.open("/proc/self"),
          "status": lambda: init.open("/proc/self/status"),
          "sysctl": lambda: init.open("/proc/sys/kernel/pid_max"),
          "socket": lambda: init.socketpair()[0],
          "o_path": lambda: init.open("/proc/self", O_PATH)}[what]()
    with raises_errno(errno.EOPNOTSUPP):
        init.name_to_handle_at(fd, "", AT_EMPTY_PATH)
    with raises_errno(errno.EOPNOTSUPP):
        init.name_to_handle_at(fd, "", AT_EMPTY_PATH, 0)


# ---------------------------------------------------------------- /proc/thread-self

def test_thread_self_is_a_threads_directory_not_a_process_one(kernel):
    init = kernel.init
    fd = init.open("/proc/thread-self")
    with raises_errno(errno.EBADF):
        init.pidfd_send_signal(fd, 0)
    init.pidfd_send_signal(init.open("/proc/self"), 0)
    with raises_errno(errno.ENOENT):
        init.open("/proc/thread-self/task")


# ---------------------------------------------------------------- POSIX ACL names

def _acl(*entries: tuple[int, int], version: int = 2) -> bytes:
    return struct.pack("<I", version) + b"".join(struct.pack("<HHI", tag, 7, id_) for tag, id_ in entries)


@pytest.mark.parametrize("name", ["system.posix_acl_access", "system.posix_acl_default"])
@pytest.mark.parametrize("value, parse_err", [
    (b"", None),                                   # no value: no ACL to parse
    (b"\x02\x00\x00", errno.EINVAL),               # shorter than the header
    (_acl(version=2), None),                       # no entries
    (_acl((1, 0), version=1), errno.EOPNOTSUPP),   # another version
    (_acl(version=2) + b"xx", errno.EINVAL),       # a partial entry
    (_acl((3, 0)), errno.EINVAL),                  # an unknown tag
    (_acl((2, 0xFFFFFFFF)), errno.EINVAL),         # ACL_USER with the invalid uid
    (_acl((8, 0xFFFFFFFF)), errno.EINVAL),         # ACL_GROUP with the invalid gid
    (_acl((0x20, 0xFFFFFFFF)), None),              # ACL_OTHER ignores its id
    (_acl((1, 0), (4, 0), (0x20, 0)), None),
])
def test_posix_acls_are_parsed_from_62_before_the_pidfd_refuses_them(kernel, name, value,
                                                                     parse_err):
    """do_set_acl parses the value (posix_acl_from_xattr), then vfs_set_acl's
    may_write_xattr refuses an immutable inode (EPERM: the pidfs inodes of 6.9-6.16)
    and set_posix_acl a file without ACLs (EOPNOTSUPP).  6.1 parses nothing."""
    if parse_err is not None and kernel.has("xattr-posix-acl-api"):
        err = parse_err
    elif kernel.has("pidfs-stashed") and not kernel.has("pidfs-xattr"):
        err = errno.EPERM
    else:
        err = errno.EOPNOTSUPP
    init = kernel.init
    fd = init.pidfd_open(init.fork().pid)
    with raises_errno(err):
        init.fsetxattr(fd, name, value)
    with raises_errno(err):
        init.fsetxattr(fd, name, value, 3)         # XATTR_CREATE|XATTR_REPLACE are not looked at
    assert init.flistxattr(fd) == []


# ---------------------------------------------------------------- what the model does not model

def test_the_model_refuses_what_it_does_not_model_instead_of_claiming_enoent(model):
    """The live kernel answers these; the model says Unsupported (the 'unsupported'
    difference) rather than an errno Linux would not give."""
    init = model.init
    a, _ = init.socketpair()
    status = init.open("/proc/self/status")
    for call in (lambda: init.readlink(f"/proc/self/fd/{status}"),   # a /proc path behind an fd
                 lambda: init.read_text(f"/proc/self/fd/{status}"),
                 lambda: init.open("/proc/self/fd/0"),
                 lambda: init.read_text(f"/proc/self/fdinfo/{a}"),      # host mount and inode ids
                 lambda: init.read_text("/proc/self/cmdline"),
                 lambda: init.open("/proc/self/ns/net")):
        with pytest.raises(Unsupported):
            call()
    with raises_errno(errno.ENOENT):
        init.read_text("/proc/self/no-such-entry")
