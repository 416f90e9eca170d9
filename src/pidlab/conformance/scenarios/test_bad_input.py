"""Arguments that are wrong: the wrong Python type, integers that fit no C type,
and values the kernel rejects.  Every failing call must change nothing.

Expected values: src/pidlab/args.py documents the conversion of Python values
(TypeError for a wrong type; an integer outside its C type gives ESRCH for a
pid, EBADF for a file descriptor, EINVAL otherwise); the errnos of valid C
values come from the kernel: kernel/exit.c (kernel_wait4 refuses options
outside WNOHANG|WUNTRACED|WCONTINUED|__WNOTHREAD|__WCLONE|__WALL and
upid == INT_MIN; kernel_waitid refuses unknown options, no WEXITED/WSTOPPED/
WCONTINUED, P_PID with id <= 0, P_PGID with id < 0, unknown idtypes, and a
non-pidfd for P_PIDFD), kernel/signal.c (kill_something_info: INT_MIN is
ESRCH), kernel/sys.c (setpgid: pgid 0 becomes pid before the pgid < 0 test;
prctl PR_SET_PDEATHSIG needs valid_signal, PR_SET_DUMPABLE takes 0 or 1),
security/commoncap.c (PR_SET_KEEPCAPS takes 0 or 1), and
/work/shared/spec/linux-pid-6.18.md section 5 plus live-kernel-facts.md 3b
(pid_max accepts 301..4194304, ns_last_pid 0..pid_max, anything else EINVAL).
"""

from __future__ import annotations

import errno

import pytest

from pidlab import (SIG_CATCH, CAP_KILL, F_GETFD, P_ALL, P_PGID, P_PID, P_PIDFD, PR_GET_DUMPABLE,
                    PR_GET_PDEATHSIG, PR_SET_DUMPABLE, PR_SET_KEEPCAPS, PR_SET_PDEATHSIG,
                    SIG_DFL, SIG_IGN, SIGUSR1, WEXITED, WNOHANG, WNOWAIT, WSTOPPED)

from pidlab.conformance.helpers import raises_errno, snapshot

# Every scenario runs on the model at every kernel version and on every live kernel.
pytestmark = pytest.mark.pidlab_kernels("all")

INT_MIN = -(2**31)
INT_MAX = 2**31 - 1
PID_MAX = "/proc/sys/kernel/pid_max"
NS_LAST_PID = "/proc/sys/kernel/ns_last_pid"


def setup(kernel):
    init = kernel.init
    t = init.fork().task
    return init, t


# ---------------------------------------------------------------- wrong Python types

WRONG_TYPES = [
    ("clone", ("0",), {}),
    ("clone", (0,), {"exit_signal": None}),
    ("clone", (0,), {"set_tid": "2"}),
    ("clone", (0,), {"set_tid": [2.0]}),
    ("clone", (0,), {"set_tid": {2}}),                # unordered
    ("clone", (0,), {"set_tid": 2}),
    ("clone", (0,), {"pidfd": "yes"}),
    ("exit", ("0",), {}),
    ("exit_group", (1.0,), {}),
    ("getpgid", ("0",), {}),
    ("getsid", (None,), {}),
    ("setpgid", ("0", 0), {}),
    ("setpgid", (0, 1.5), {}),
    ("kill", ("1", 0), {}),
    ("kill", (1, "0"), {}),
    ("tgkill", (1, "1", 0), {}),
    ("tgkill", (1, 1, None), {}),
    ("sigaction", ("10", SIG_IGN), {}),
    ("sigaction", (SIGUSR1, "SIG_IGN"), {}),
    ("sigaction", (SIGUSR1, 1.0), {}),
    ("waitpid", ("-1", WNOHANG), {}),
    ("waitpid", (-1, None), {}),
    ("waitid", ("0", 0, WEXITED), {}),
    ("waitid", (P_ALL, "0", WEXITED), {}),
    ("waitid", (P_ALL, 0, float(WEXITED)), {}),
    ("unshare", ("0",), {}),
    ("setns", ("3", 0), {}),
    ("setns", (3, "0"), {}),
    ("prctl", ("36",), {}),
    ("prctl", (PR_SET_PDEATHSIG, "10"), {}),
    ("setuid", ("0",), {}),
    ("setgid", (0.0,), {}),
    ("setreuid", (0, "0"), {}),
    ("setresuid", (0, 0, None), {}),
    ("setresgid", ([0], 0, 0), {}),
    ("capset", (5,), {}),
    ("capset", ("abc",), {}),
    ("capset", ([1.5],), {}),
    ("capset", ({CAP_KILL},), {"permitted": 3}),
    ("capset", ({CAP_KILL},), {"inheritable": "x"}),
    ("open", (3,), {}),
    ("open", ("/proc/self", "r"), {}),
    ("close", ("3",), {}),
    ("dup", (None,), {}),
    ("fcntl", ("0", F_GETFD), {}),
    ("fcntl", (0, "1"), {}),
    ("fcntl", (0, F_GETFD, "0"), {}),
    ("read_text", (None,), {}),
    ("read_text", (3,), {}),
    ("write_text", (3, "1"), {}),
    ("write_text", (PID_MAX, 40000), {}),
    ("readlink", (None,), {}),
    ("pidfd_open", ("1",), {}),
    ("pidfd_open", (1, None), {}),
    ("pidfd_send_signal", ("3", 0), {}),
    ("pidfd_send_signal", (3, 0.0), {}),
    ("pidfd_send_signal", (3, 0, "0"), {}),
    ("pidfd_getfd", (3, "0"), {}),
    ("pidfd_get_info", ("3",), {}),
    ("pidfd_get_info", (3, "0"), {}),
    ("pidfd_get_info", (3, 0, 72.0), {}),
    ("poll", (3,), {}),
    ("poll", ("3",), {}),
    ("poll", ([3.0],), {}),
    ("poll", ([3], None), {}),
    ("fstat", ("0",), {}),
    ("name_to_handle_at", ("3", "", 0), {}),
    ("name_to_handle_at", (3, 5, 0), {}),
    ("name_to_handle_at", (3, "", None), {}),
    ("open_by_handle_at", (-10002, b"\x02\0\0\0\0\0\0\0"), {}),
    ("open_by_handle_at", ("3", None), {}),
    ("fsetxattr", ("3", "trusted.x", b"v"), {}),
    ("fsetxattr", (3, 5, b"v"), {}),
    ("fsetxattr", (3, "trusted.x", 5), {}),
    ("fgetxattr", (3, None), {}),
    ("flistxattr", (None,), {}),
    ("fremovexattr", (3, 1.0), {}),
    ("getsockopt", ("3", 1, 1), {}),
    ("getsockopt", (3, 1, None), {}),
]


@pytest.mark.parametrize("method,args,kwargs", WRONG_TYPES,
                         ids=[f"{m}-{i}" for i, (m, _, _) in enumerate(WRONG_TYPES)])
def test_a_wrong_python_type_raises_typeerror_and_changes_nothing(kernel, method, args, kwargs):
    init, t = setup(kernel)
    before = snapshot([init, t])
    with pytest.raises(TypeError):
        getattr(t, method)(*args, **kwargs)
    assert snapshot([init, t]) == before


@pytest.mark.parametrize("handler", [5, -1, 3, 2**64 - 1])
def test_sigaction_with_any_other_value_installs_a_user_handler(kernel, handler):
    # sa_handler is a pointer: anything but SIG_DFL and SIG_IGN is a handler's address.
    init, t = setup(kernel)
    assert t.sigaction(SIGUSR1, handler) == SIG_DFL
    assert t.sigaction(SIGUSR1) == SIG_CATCH
    t.kill(t.getpid(), SIGUSR1)             # caught: the task lives on
    assert t.getpid() > 0


def test_sigaction_with_a_handler_outside_a_pointer_is_einval_and_changes_nothing(kernel):
    init, t = setup(kernel)
    before = snapshot([init, t])
    with raises_errno(errno.EINVAL):
        t.sigaction(SIGUSR1, 2**64)
    assert snapshot([init, t]) == before
    assert t.sigaction(SIGUSR1) == SIG_DFL


# ---------------------------------------------------------------- integers that fit no C type (args.py)

OUT_OF_RANGE = [
    # pids: ESRCH
    ("kill", (2**31, 0), errno.ESRCH),
    ("kill", (INT_MIN - 1, 0), errno.ESRCH),
    ("tgkill", (2**31, 1, 0), errno.ESRCH),
    ("tgkill", (1, -(2**40), 0), errno.ESRCH),
    ("getpgid", (2**31,), errno.ESRCH),
    ("getsid", (-(2**63),), errno.ESRCH),
    ("setpgid", (2**31, 0), errno.ESRCH),
    ("setpgid", (0, 2**31), errno.ESRCH),
    ("waitpid", (2**31, WNOHANG), errno.ESRCH),
    # file descriptors: EBADF
    ("close", (2**31,), errno.EBADF),
    ("dup", (INT_MIN - 1,), errno.EBADF),
    ("fcntl", (2**31, F_GETFD), errno.EBADF),
    ("setns", (2**40, 0), errno.EBADF),
    ("pidfd_send_signal", (2**31, 0), errno.EBADF),
    ("pidfd_getfd", (3, INT_MIN - 1), errno.EBADF),
    ("pidfd_get_info", (2**31,), errno.EBADF),
    ("fstat", (2**31,), errno.EBADF),
    ("fgetxattr", (2**31, "trusted.x"), errno.EBADF),
    ("flistxattr", (-(2**40),), errno.EBADF),
    ("getsockopt", (2**31, 1, 1), errno.EBADF),
    ("name_to_handle_at", (2**31, "", 0x1000), errno.EBADF),
    ("pidfd_open", (2**31,), errno.ESRCH),
    # everything else: EINVAL
    ("kill", (1, 2**31), errno.EINVAL),
    ("tgkill", (1, 1, INT_MIN - 1), errno.EINVAL),
    ("sigaction", (2**31, SIG_IGN), errno.EINVAL),
    ("waitpid", (-1, 2**32), errno.EINVAL),
    ("waitid", (2**31, 0, WEXITED), errno.EINVAL),
    ("waitid", (P_ALL, 2**31, WEXITED), errno.EINVAL),
    ("waitid", (P_ALL, 0, 2**32), errno.EINVAL),
    ("setuid", (2**32,), errno.EINVAL),
    ("setgid", (INT_MIN - 1,), errno.EINVAL),
    ("setresuid", (0, 0, 2**32), errno.EINVAL),
    ("prctl", (2**31, 0), errno.EINVAL),
    ("prctl", (PR_SET_PDEATHSIG, 2**64), errno.EINVAL),
    ("exit", (2**31,), errno.EINVAL),
    ("exit_group", (INT_MIN - 1,), errno.EINVAL),
    ("unshare", (2**64,), errno.EINVAL),
    ("open", ("/proc/self", 2**31), errno.EINVAL),
    ("fcntl", (0, 2**31), errno.EINVAL),
    ("capset", ({64},), errno.EINVAL),
    ("capset", ({-1},), errno.EINVAL),
    ("pidfd_open", (1, 2**32), errno.EINVAL),
    ("pidfd_get_info", (0, 2**64), errno.EINVAL),
    ("pidfd_send_signal", (0, 2**31), errno.EINVAL),
]


@pytest.mark.parametrize("method,args,err", OUT_OF_RANGE,
                         ids=[f"{m}-{i}" for i, (m, _, _) in enumerate(OUT_OF_RANGE)])
def test_an_integer_outside_its_c_type_fails_with_the_errno_of_its_kind(kernel, method, args, err):
    init, t = setup(kernel)
    before = snapshot([init, t])
    with raises_errno(err):
        getattr(t, method)(*args)
    assert snapshot([init, t]) == before


def test_clone_arguments_outside_their_c_types_are_einval_and_create_nothing(kernel):
    init, t = setup(kernel)
    before = snapshot([init, t])
    with raises_errno(errno.EINVAL):
        t.clone(2**64)
    with raises_errno(errno.EINVAL):
        t.clone(0, exit_signal=2**64)
    with raises_errno(errno.EINVAL):
        t.clone(0, set_tid=[2**31])
    assert snapshot([init, t]) == before
    assert t.fork().pid == 3                # no number was consumed


def test_capability_numbers_above_the_last_one_are_dropped_silently(kernel):
    init, t = setup(kernel)
    t.capset({CAP_KILL, 63})
    assert t.capget() == {CAP_KILL}


# ---------------------------------------------------------------- values the kernel rejects

@pytest.mark.parametrize("pid,options,err", [
    (-1, WNOWAIT, errno.EINVAL),            # waitid-only option
    (-1, WEXITED, errno.EINVAL),            # waitid-only option
    (-1, 0x100, errno.EINVAL),
    (INT_MIN, WNOHANG, errno.ESRCH),        # -INT_MIN is undefined
    (999, WNOHANG, errno.ECHILD),
    (-999, WNOHANG, errno.ECHILD),
    (1, WNOHANG, errno.ECHILD),             # the caller's parent is no child
])
def test_waitpid_with_invalid_values(kernel, pid, options, err):
    init, t = setup(kernel)
    before = snapshot([init, t])
    with raises_errno(err):
        t.waitpid(pid, options)
    assert snapshot([init, t]) == before


def test_waitpid_without_children_is_echild(kernel):
    init, t = setup(kernel)
    with raises_errno(errno.ECHILD):
        t.waitpid(-1, WNOHANG)
    with raises_errno(errno.ECHILD):
        t.waitpid(0, 0)


@pytest.mark.parametrize("idtype,id_,options,err", [
    (P_ALL, 0, 0, errno.EINVAL),            # none of WEXITED, WSTOPPED, WCONTINUED
    (P_ALL, 0, WNOHANG, errno.EINVAL),
    (P_ALL, 0, WEXITED | 0x100, errno.EINVAL),
    (P_PID, 0, WEXITED, errno.EINVAL),
    (P_PID, -1, WEXITED, errno.EINVAL),
    (P_PGID, -1, WEXITED, errno.EINVAL),
    (7, 0, WEXITED, errno.EINVAL),
    (-1, 0, WEXITED, errno.EINVAL),
    (P_PIDFD, -1, WEXITED, errno.EINVAL),
    (P_PIDFD, 0, WEXITED, errno.EBADF),     # fd 0 is no pidfd
    (P_PIDFD, 500, WEXITED, errno.EBADF),   # not open
    (P_ALL, 0, WEXITED | WNOHANG, errno.ECHILD),
    (P_PID, 999, WSTOPPED | WNOHANG, errno.ECHILD),
])
def test_waitid_with_invalid_values(kernel, idtype, id_, options, err):
    init, t = setup(kernel)
    before = snapshot([init, t])
    with raises_errno(err):
        t.waitid(idtype, id_, options)
    assert snapshot([init, t]) == before


@pytest.mark.parametrize("pid,sig,err", [
    (INT_MIN, 0, errno.ESRCH),
    (INT_MIN, 65, errno.ESRCH),
    (1, 65, errno.EINVAL),
    (0, -1, errno.EINVAL),
    (-1, 64 + 1, errno.EINVAL),
    (999, 0, errno.ESRCH),
])
def test_kill_with_invalid_values(kernel, pid, sig, err):
    init, t = setup(kernel)                 # init sends: t is there to be found by 0 and -1
    before = snapshot([init, t])
    with raises_errno(err):
        init.kill(pid, sig)
    assert snapshot([init, t]) == before


@pytest.mark.parametrize("pid,pgid,err", [
    (0, -1, errno.EINVAL),
    (-1, 0, errno.EINVAL),                  # pgid 0 becomes pid, then pgid < 0
    (INT_MIN, 0, errno.EINVAL),
    (-1, 5, errno.ESRCH),
    (999, 999, errno.ESRCH),
])
def test_setpgid_with_invalid_values(kernel, pid, pgid, err):
    init, t = setup(kernel)
    before = snapshot([init, t])
    with raises_errno(err):
        t.setpgid(pid, pgid)
    assert snapshot([init, t]) == before


@pytest.mark.parametrize("option,arg", [
    (PR_SET_PDEATHSIG, 65),
    (PR_SET_PDEATHSIG, -1),                 # becomes ULONG_MAX
    (PR_SET_DUMPABLE, 2),                   # SUID_DUMP_ROOT cannot be set
    (PR_SET_DUMPABLE, 3),
    (PR_SET_KEEPCAPS, 2),
])
def test_prctl_with_invalid_values_is_einval_and_changes_nothing(kernel, option, arg):
    init, t = setup(kernel)
    before = snapshot([init, t]), t.prctl(PR_GET_DUMPABLE), t.prctl(PR_GET_PDEATHSIG)
    with raises_errno(errno.EINVAL):
        t.prctl(option, arg)
    assert (snapshot([init, t]), t.prctl(PR_GET_DUMPABLE), t.prctl(PR_GET_PDEATHSIG)) == before


@pytest.mark.parametrize("text", ["abc", "300", "0", "-1", "4194305", "2147483648", "40000x",
                                  "0x", "99999999999999999999999"])
def test_a_bad_pid_max_write_is_einval_and_leaves_the_value(kernel, text):
    init, t = setup(kernel)
    before = snapshot([init, t])
    with raises_errno(errno.EINVAL):
        init.write_text(PID_MAX, text)
    assert snapshot([init, t]) == before
    assert init.read_text(PID_MAX) == "32768\n"


@pytest.mark.parametrize("text", ["abc", "-1", "32769", "99999999999", "5x"])
def test_a_bad_ns_last_pid_write_is_einval_and_leaves_the_value(kernel, text):
    init, t = setup(kernel)
    before = snapshot([init, t])
    with raises_errno(errno.EINVAL):
        init.write_text(NS_LAST_PID, text)
    assert snapshot([init, t]) == before
    assert init.read_text(NS_LAST_PID) == "2\n"


def test_pid_max_is_parsed_with_base_0_so_hex_and_octal_are_accepted(kernel):
    # proc_get_long: strtoul_lenient(p, &p, 0, val) (kernel/sysctl.c).
    init, t = setup(kernel)
    init.write_text(PID_MAX, "0x9000")
    assert init.read_text(PID_MAX) == "36864\n"
    init.write_text(PID_MAX, "0100000")
    assert init.read_text(PID_MAX) == "32768\n"


def test_ns_last_pid_accepts_exactly_pid_max(kernel):
    init, t = setup(kernel)
    init.write_text(NS_LAST_PID, "32768")
    assert init.read_text(NS_LAST_PID) == "32768\n"
    assert init.fork().pid == 300           # spec §3: the cursor wraps to RESERVED_PIDS


@pytest.mark.parametrize("option", [0, 17, 18, 48, 49, 79, 9999, -1, 2**31 - 1])
def test_prctl_with_an_option_linux_does_not_have_is_einval(kernel, option):
    # kernel/sys.c prctl: the switch's default case (probed on 6.18: 0, 17, 18, 48, 49
    # and every option above 78 are unknown).
    init, t = setup(kernel)
    before = snapshot([init, t])
    with raises_errno(errno.EINVAL):
        t.prctl(option, 0)
    assert snapshot([init, t]) == before


@pytest.mark.parametrize("level, optname, err", [
    (0, 1, errno.EOPNOTSUPP),               # SOL_IP on AF_UNIX: no such level
    (6, 1, errno.EOPNOTSUPP),               # SOL_TCP
    (9999, 77, errno.EOPNOTSUPP),
    (1, 0, errno.ENOPROTOOPT),              # SOL_SOCKET, no such option
    (1, 22, errno.ENOPROTOOPT),
    (1, 84, errno.ENOPROTOOPT),
    (1, 9999, errno.ENOPROTOOPT),
    (1, -1, errno.ENOPROTOOPT),
])
def test_getsockopt_of_an_unknown_level_or_option(kernel, level, optname, err):
    # net/socket.c do_sock_getsockopt -> sk_getsockopt (default: -ENOPROTOOPT); other
    # levels go to the protocol, which AF_UNIX stream sockets do not have (EOPNOTSUPP).
    init, t = setup(kernel)
    a, _ = t.socketpair()
    with raises_errno(err):
        t.getsockopt(a, level, optname)
