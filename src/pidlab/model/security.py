"""The sandboxes users' code meets: a seccomp filter, an LSM's denials, a small RLIMIT_NOFILE.

`Kernel(seccomp={"pidfd_open": errno.ENOSYS}, lsm={"task_kill": errno.EACCES},
nofile=16)` makes the model pose as a container runtime's or a service
manager's sandbox, so that code can be tested against what it meets there:

* seccomp: a filter that answers SECCOMP_RET_ERRNO for a system call, before the
  kernel runs it (kernel/seccomp.c __seccomp_filter).  Keys are Linux's system
  call names ("clone3", "pidfd_open", "ioctl", ...) or the Task methods that make
  them; a key names every method that makes that system call.
* lsm: an LSM hook that denies (SELinux and AppArmor answer EACCES): "task_kill"
  (security_task_kill, after the permission checks: kill, tgkill,
  pidfd_send_signal), "ptrace_access_check" (__ptrace_may_access: pidfd_getfd,
  the namespace ioctls, /proc/<pid>/fd and fdinfo), "file_open"
  (security_file_open: open(2) of /proc files).
* nofile: the soft RLIMIT_NOFILE every task inherits (1024 by default): the
  descriptor that would be the nofile-th is EMFILE.
"""

from __future__ import annotations

from typing import Any, Mapping

# Linux's system call -> the Task methods that make it (x86_64; glibc's fork is clone).
SYSCALLS: dict[str, tuple[str, ...]] = {
    "clone": ("fork",), "clone3": ("clone", "spawn_thread"), "execve": ("execve",),
    "exit": ("exit",), "exit_group": ("exit_group",), "getpid": ("getpid",),
    "gettid": ("gettid",), "getppid": ("getppid",), "getpgid": ("getpgid", "getpgrp"),
    "getsid": ("getsid",), "setpgid": ("setpgid",), "setsid": ("setsid",), "kill": ("kill",),
    "tgkill": ("tgkill",), "rt_sigaction": ("sigaction",), "wait4": ("waitpid",),
    "waitid": ("waitid",), "unshare": ("unshare",), "setns": ("setns",), "prctl": ("prctl",),
    "prlimit64": ("getrlimit", "setrlimit"), "getuid": ("getuid",), "geteuid": ("geteuid",),
    "getgid": ("getgid",), "getegid": ("getegid",), "getresuid": ("getresuid",),
    "getresgid": ("getresgid",), "setuid": ("setuid",), "setgid": ("setgid",),
    "setreuid": ("setreuid",), "setresuid": ("setresuid",), "setresgid": ("setresgid",),
    "capget": ("capget",), "capset": ("capset",), "pidfd_open": ("pidfd_open",),
    "pidfd_send_signal": ("pidfd_send_signal",), "pidfd_getfd": ("pidfd_getfd",),
    "ioctl": ("ioctl", "pidfd_get_info"), "poll": ("poll",), "fstat": ("fstat",),
    "fstatfs": ("fstatfs",), "name_to_handle_at": ("name_to_handle_at",),
    "open_by_handle_at": ("open_by_handle_at",), "fsetxattr": ("fsetxattr",),
    "fgetxattr": ("fgetxattr",), "flistxattr": ("flistxattr",),
    "fremovexattr": ("fremovexattr",), "socketpair": ("socketpair",),
    "getsockopt": ("getsockopt",), "openat": ("open", "read_text", "write_text"),
    "close": ("close",), "dup": ("dup",), "fcntl": ("fcntl",), "readlinkat": ("readlink",),
}
LSM_HOOKS = ("task_kill", "ptrace_access_check", "file_open")
NOFILE_DEFAULT = 1024


def seccomp_methods(rules: Mapping[str, int] | None, methods: set[str]) -> dict[str, int]:
    """The Task methods a seccomp profile refuses, with the errno of each."""
    if not rules:
        return {}
    if not isinstance(rules, Mapping):
        raise TypeError("seccomp must map system call names to errnos")
    out: dict[str, int] = {}
    for name, err in rules.items():
        if not isinstance(name, str):
            raise TypeError("seccomp's keys are system call names (str)")
        if not isinstance(err, int) or isinstance(err, bool):
            raise TypeError(f"seccomp[{name!r}] must be an errno (int)")
        if not 0 < err < 4096:
            raise ValueError(f"seccomp[{name!r}] = {err} is not an errno (1 ... 4095)")
        targets = SYSCALLS.get(name) or ((name,) if name in methods else None)
        if targets is None:
            raise ValueError(f"unknown system call {name!r} (pidlab.model.security.SYSCALLS "
                             "lists them, or name a Task method)")
        for m in targets:
            out[m] = err
    return out


def lsm_rules(rules: Mapping[str, int] | None) -> dict[str, int]:
    if not rules:
        return {}
    if not isinstance(rules, Mapping):
        raise TypeError("lsm must map LSM hooks to errnos")
    out = {}
    for hook, err in rules.items():
        if hook not in LSM_HOOKS:
            raise ValueError(f"unknown LSM hook {hook!r}; pidlab models {', '.join(LSM_HOOKS)}")
        if not isinstance(err, int) or isinstance(err, bool) or not 0 < err < 4096:
            raise ValueError(f"lsm[{hook!r}] must be an errno (1 ... 4095)")
        out[hook] = err
    return out


def nofile_limit(value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError("nofile must be an int")
    if not 4 <= value <= 1 << 20:
        raise ValueError("nofile must be between 4 (stdio and one more) and fs.nr_open")
    return value


def task_class(base: type, denied: dict[str, int]) -> type:
    """A Task class whose denied methods fail as a SECCOMP_RET_ERRNO filter makes them:
    with that errno, before the kernel looks at anything (the task must be alive)."""
    if not denied:
        return base
    ns: dict[str, Any] = {"__slots__": ()}
    for name, err in denied.items():
        def refused(self: Any, *args: Any, _err: int = err, _name: str = name,
                    **kwargs: Any) -> Any:
            self._enter()
            from ..api import oserror
            raise oserror(_err, f"{_name}: refused by the sandbox's seccomp filter")
        refused.__name__ = name
        refused.__doc__ = getattr(base, name).__doc__
        ns[name] = refused
    return type("SandboxedTask", (base,), ns)


def deny(k: Any, hook: str) -> int:
    """The errno an LSM gives at `hook`, 0 when it allows."""
    return k.lsm.get(hook, 0) if k.lsm else 0

