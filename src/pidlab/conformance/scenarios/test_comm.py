"""Task names (comm) on both backends: prctl, execve, /proc/<pid>/comm and status's Name.

Expected values come from the kernel sources and a probe of 6.18.44 here:

* kernel/sys.c sys_prctl: PR_SET_NAME copies at most TASK_COMM_LEN - 1 = 15 bytes of a
  C string (strncpy_from_user) into the calling thread's comm, and a NULL name faults
  (EFAULT); PR_GET_NAME copies the 16-byte comm, NUL-padded (get_task_comm).
* fs/exec.c begin_new_exec: __set_task_comm(me, kbasename(bprm->filename)), 15 bytes;
  fs/namei.c getname_flags: an empty path is ENOENT, one of PATH_MAX bytes or more
  ENAMETOOLONG, before anything is looked up.
* kernel/fork.c dup_task_struct copies the calling thread's comm to a thread or a child.
* fs/proc/base.c comm_show (the comm and "\\n", unescaped), comm_write (at most 15 bytes,
  newline kept, only a task of the writer's own thread group: else EINVAL) and
  proc_tid_comm_permission (task/<tid>/comm is always writable by the thread group).
* fs/proc/array.c proc_task_name: status's Name line escapes "\\n" and "\\\\" only.

pidlab's forms: `prctl(PR_SET_NAME, name)` takes a str or bytes (0 is a NULL pointer),
`prctl(PR_GET_NAME)` returns a str; `execve(filename)` names the task after the file,
`execve()` keeps the name.  The live backend carries execve(filename) out by exec'ing its
interpreter and setting PR_SET_NAME of the file's last component in the new image.
"""

from __future__ import annotations

import errno
import os

import pytest

import pidlab
from pidlab import (PR_GET_NAME, PR_GET_PDEATHSIG, PR_SET_DUMPABLE, PR_SET_NAME, TASK_COMM_LEN,
                    Unsupported)
from pidlab.conformance.helpers import raises_errno

# Every scenario runs on the model at every kernel version and on every live kernel.
pytestmark = pytest.mark.pidlab_kernels("all")


def name(task) -> str:
    return task.prctl(PR_GET_NAME)


def comm(observer, path: str = "/proc/self") -> str:
    return observer.read_text(f"{path}/comm")


def status_name(observer, path: str = "/proc/self") -> str:
    """The value of status's Name line, exactly (a tab inside the name is kept)."""
    for line in observer.read_text(f"{path}/status").split("\n"):
        if line.startswith("Name:\t"):
            return line[len("Name:\t"):]
    raise AssertionError("no Name line")


def cut(text: str) -> str:
    """What the kernel keeps of a name: its first TASK_COMM_LEN - 1 bytes."""
    return os.fsdecode(os.fsencode(text)[:TASK_COMM_LEN - 1])


# ---------------------------------------------------------------- prctl

def test_pr_set_name_renames_the_caller_and_pr_get_name_returns_the_name(kernel):
    c = kernel.init.fork().task
    assert c.prctl(PR_SET_NAME, "svc") == 0
    assert name(c) == "svc"
    assert comm(c) == "svc\n"
    assert status_name(c) == "svc"


def test_pr_set_name_keeps_the_first_15_bytes(kernel):
    c = kernel.init.fork().task
    c.prctl(PR_SET_NAME, "abcdefghijklmnopqrstuvwxyz")
    assert name(c) == "abcdefghijklmno"
    assert comm(c) == "abcdefghijklmno\n"


def test_pr_set_name_reads_bytes_as_a_c_string_up_to_the_first_nul(kernel):
    c = kernel.init.fork().task
    c.prctl(PR_SET_NAME, b"ab\0cd")
    assert name(c) == "ab"


def test_pr_set_name_of_an_empty_name_leaves_the_task_nameless(kernel):
    c = kernel.init.fork().task
    c.prctl(PR_SET_NAME, "")
    assert name(c) == ""
    assert comm(c) == "\n"
    assert status_name(c) == ""


def test_a_name_cut_inside_a_multibyte_character_keeps_its_bytes(kernel):
    c = kernel.init.fork().task
    c.prctl(PR_SET_NAME, "é" * 9)                   # 18 bytes: the 15th is half an "é"
    assert os.fsencode(name(c)) == ("é" * 9).encode()[:15]
    assert comm(c) == cut("é" * 9) + "\n"


@pytest.mark.parametrize("null", [0, None])
def test_pr_set_name_with_a_null_name_is_efault_and_keeps_the_name(kernel, null):
    c = kernel.init.fork().task
    c.prctl(PR_SET_NAME, "before")
    with raises_errno(errno.EFAULT):
        if null is None:
            c.prctl(PR_SET_NAME)                    # arg left out: 0, a NULL pointer
        else:
            c.prctl(PR_SET_NAME, null)
    assert name(c) == "before"


@pytest.mark.parametrize("bad", [5, 1.5, True, ["svc"], object()])
def test_pr_set_name_with_a_name_of_another_type_is_a_type_error(kernel, bad):
    c = kernel.init.fork().task
    c.prctl(PR_SET_NAME, "before")
    with pytest.raises(TypeError):
        c.prctl(PR_SET_NAME, bad)
    assert name(c) == "before"


def test_other_prctl_options_still_take_an_integer_only(kernel):
    with pytest.raises(TypeError):
        kernel.init.prctl(PR_GET_PDEATHSIG, "svc")


def test_pr_get_name_fills_pidlabs_own_buffer_whatever_the_integer_arg(kernel):
    c = kernel.init.fork().task
    c.prctl(PR_SET_NAME, "svc")
    assert c.prctl(PR_GET_NAME, 0) == "svc"


# ---------------------------------------------------------------- threads and fork

def test_pr_set_name_names_only_the_calling_thread(kernel):
    p = kernel.init.fork().task
    p.prctl(PR_SET_NAME, "leader")
    th = p.spawn_thread()
    th.task.prctl(PR_SET_NAME, "worker")
    assert name(p) == "leader"
    assert name(th.task) == "worker"
    assert comm(p, f"/proc/self/task/{th.pid}") == "worker\n"
    assert comm(th.task, "/proc/thread-self") == "worker\n"
    # /proc/<pid> is the leader's, even read by the thread.
    assert comm(th.task) == "leader\n"
    assert status_name(th.task) == "leader"
    assert status_name(p, f"/proc/self/task/{th.pid}") == "worker"
    # A tid is looked up like a pid: /proc/<tid> shows the thread.
    assert comm(p, f"/proc/{th.pid}") == "worker\n"


def test_a_new_thread_and_a_forked_child_copy_the_calling_threads_name(kernel):
    p = kernel.init.fork().task
    p.prctl(PR_SET_NAME, "leader")
    th = p.spawn_thread().task
    th.prctl(PR_SET_NAME, "worker")
    assert name(th.spawn_thread().task) == "worker"
    assert name(th.fork().task) == "worker"
    assert name(p.fork().task) == "leader"


def test_the_snapshot_shows_each_task_by_its_own_name(kernel):
    p = kernel.init.fork()
    p.task.prctl(PR_SET_NAME, "leader")
    th = p.task.spawn_thread()
    th.task.prctl(PR_SET_NAME, "worker")
    names = {v.numbers[-1]: v.name for v in kernel.snapshot()}
    assert names[p.pid] == "leader"
    assert names[th.pid] == "worker"
    assert names[1] == name(kernel.init)


def test_a_zombie_keeps_its_name(kernel):
    init = kernel.init
    c = init.fork()
    c.task.prctl(PR_SET_NAME, "done")
    c.task.exit(0)
    assert comm(init, f"/proc/{c.pid}") == "done\n"
    assert status_name(init, f"/proc/{c.pid}") == "done"


# ---------------------------------------------------------------- execve

@pytest.mark.parametrize("filename, expected", [
    ("/usr/local/bin/server", "server"),
    ("prog", "prog"),
    ("./a/b/run", "run"),
    ("/opt/averyveryverylongprogramname", "averyveryverylo"),
    (b"/bin/bytes-name", "bytes-name"),
    ("/x//y", "y"),
])
def test_execve_names_the_task_after_the_last_component_of_the_filename(kernel, filename,
                                                                          expected):
    c = kernel.init.fork().task
    c.prctl(PR_SET_NAME, "before")
    c.execve(filename)
    assert name(c) == expected
    assert comm(c) == expected + "\n"
    assert status_name(c) == expected


def test_execve_without_a_filename_keeps_the_name(kernel):
    c = kernel.init.fork().task
    c.prctl(PR_SET_NAME, "svc")
    c.execve()
    assert name(c) == "svc"


def test_execve_by_a_thread_leaves_the_process_named_after_the_file(kernel):
    p = kernel.init.fork()
    p.task.prctl(PR_SET_NAME, "leader")
    th = p.task.spawn_thread().task
    th.prctl(PR_SET_NAME, "worker")
    th.execve("/usr/bin/next")
    assert th.getpid() == p.pid                 # the thread took the leader's place
    assert comm(kernel.init, f"/proc/{p.pid}") == "next\n"


def test_execve_by_a_thread_without_a_filename_keeps_the_threads_name(kernel):
    p = kernel.init.fork()
    p.task.prctl(PR_SET_NAME, "leader")
    th = p.task.spawn_thread().task
    th.prctl(PR_SET_NAME, "worker")
    th.execve()
    assert comm(kernel.init, f"/proc/{p.pid}") == "worker\n"


def test_execve_of_an_empty_path_is_enoent_and_leaves_the_threads_alone(kernel):
    p = kernel.init.fork()
    p.task.prctl(PR_SET_NAME, "before")
    th = p.task.spawn_thread()
    with raises_errno(errno.ENOENT):
        p.task.execve("")
    assert name(p.task) == "before"
    assert th.task.gettid() == th.pid           # de_thread never ran


def test_execve_reads_the_filename_as_a_c_string(kernel):
    c = kernel.init.fork().task
    with raises_errno(errno.ENOENT):
        c.execve("\0/bin/sh")
    c.execve("/bin/sh\0ignored")
    assert name(c) == "sh"


def test_execve_of_a_path_of_path_max_bytes_is_enametoolong(kernel):
    c = kernel.init.fork().task
    c.prctl(PR_SET_NAME, "before")
    with raises_errno(errno.ENAMETOOLONG):
        c.execve("/" + "a" * (pidlab.PATH_MAX - 1))
    assert name(c) == "before"
    c.execve("/" + "a" * (pidlab.PATH_MAX - 2))     # with its NUL, exactly PATH_MAX bytes
    assert name(c) == "a" * 15


@pytest.mark.parametrize("filename", ["/usr/bin/", "/usr/bin/.", "/usr/..", ".", "a/"])
def test_execve_of_a_path_that_names_a_directory_is_unsupported(kernel, filename):
    """Linux always fails it, with an errno that depends on the files (EACCES for a
    directory, ENOTDIR or ENOENT otherwise): neither backend can say which."""
    c = kernel.init.fork().task
    with pytest.raises(Unsupported):
        c.execve(filename)
    assert name(c) == name(kernel.init)


@pytest.mark.parametrize("bad", [5, 1.5, ["prog"]])
def test_execve_with_a_filename_of_another_type_is_a_type_error(kernel, bad):
    c = kernel.init.fork().task
    with pytest.raises(TypeError):
        c.execve(bad)


# ---------------------------------------------------------------- /proc/<pid>/comm

def test_writing_comm_renames_the_task_and_keeps_the_newline(kernel):
    c = kernel.init.fork().task
    c.write_text("/proc/self/comm", "xyz\n")
    assert name(c) == "xyz\n"
    assert comm(c) == "xyz\n\n"
    assert status_name(c) == "xyz\\n"


def test_writing_comm_keeps_the_first_15_bytes(kernel):
    c = kernel.init.fork().task
    c.write_text("/proc/self/comm", "0123456789abcdefghij")
    assert name(c) == "0123456789abcde"


def test_writing_comm_stops_at_a_nul(kernel):
    c = kernel.init.fork().task
    c.write_text("/proc/self/comm", "ab\0cd")
    assert name(c) == "ab"


def test_a_thread_names_a_sibling_through_task_tid_comm(kernel):
    p = kernel.init.fork().task
    p.prctl(PR_SET_NAME, "leader")
    th = p.spawn_thread()
    p.write_text(f"/proc/self/task/{th.pid}/comm", "named")
    assert name(th.task) == "named"
    assert name(p) == "leader"
    th.task.write_text("/proc/self/comm", "by-thread")    # the leader's file, same group
    assert name(p) == "by-thread"


def test_writing_the_comm_of_another_process_is_einval(kernel):
    init = kernel.init
    c = init.fork()
    c.task.prctl(PR_SET_NAME, "child")
    with raises_errno(errno.EINVAL):
        init.write_text(f"/proc/{c.pid}/comm", "renamed")
    with raises_errno(errno.EINVAL):
        init.write_text(f"/proc/{c.pid}/task/{c.pid}/comm", "renamed")
    assert name(c.task) == "child"


def test_a_process_that_is_not_dumpable_writes_its_task_comm_but_not_its_pid_comm(kernel):
    """/proc/<pid>/comm then belongs to root (task_dump_owner); task/<tid>/comm lets the
    thread group in anyway (proc_tid_comm_permission)."""
    c = kernel.init.fork().task
    c.setuid(1000)
    c.prctl(PR_SET_DUMPABLE, 0)
    tid = c.gettid()
    with raises_errno(errno.EACCES):
        c.write_text("/proc/self/comm", "nope")
    c.write_text(f"/proc/self/task/{tid}/comm", "tid-ok")
    assert name(c) == "tid-ok"
    c.prctl(PR_SET_DUMPABLE, 1)                     # its own files are its own again
    c.write_text("/proc/self/comm", "pid-ok")
    assert name(c) == "pid-ok"


# ---------------------------------------------------------------- status's Name line

def test_status_name_escapes_newline_and_backslash_and_nothing_else(kernel):
    c = kernel.init.fork().task
    c.prctl(PR_SET_NAME, 'a\nb\\c\td"e')
    assert status_name(c) == 'a\\nb\\\\c\td"e'
    assert comm(c) == 'a\nb\\c\td"e\n'           # comm_show does not escape
