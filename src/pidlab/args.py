"""Argument conversion shared by both backends.

A Python value becomes the C value the system call would receive, exactly
once, here, so that the model and the live kernel see the same input and
fail the same way:

* a value of the wrong Python type raises TypeError;
* an integer that fits the C type is converted the way C converts it
  (a negative value passed as an unsigned type wraps around);
* an integer that cannot be represented at all raises the errno the kernel
  gives for a value of that kind that it does not know (ESRCH for a pid,
  EBADF for a file descriptor, EINVAL for everything else).
"""

from __future__ import annotations

import errno
import os
from typing import Any, Iterable

from .api import oserror
from .constants import CAP_LAST_CAP, INT_MAX, INT_MIN, PR_SET_NAME


def _int(value: Any, name: str) -> int:
    if type(value) is int:
        return value
    if isinstance(value, int):          # bool, IntEnum, IntFlag
        return int(value)
    raise TypeError(f"{name} must be an int, not {type(value).__name__}")


def c_int(value: Any, name: str, err: int = errno.EINVAL) -> int:
    """A C int (pid_t, signal numbers, flags declared int)."""
    if type(value) is int and INT_MIN <= value <= INT_MAX:
        return value
    v = _int(value, name)
    if not INT_MIN <= v <= INT_MAX:
        raise oserror(err, f"{name}={v} does not fit a C int")
    return v


def c_uint(value: Any, name: str, err: int = errno.EINVAL) -> int:
    """A C unsigned int (uid_t, gid_t, unsigned flags): negatives wrap."""
    if type(value) is int and 0 <= value <= 0xFFFFFFFF:
        return value
    v = _int(value, name)
    if not INT_MIN <= v <= 0xFFFFFFFF:
        raise oserror(err, f"{name}={v} does not fit a C unsigned int")
    return v & 0xFFFFFFFF


def c_ulong(value: Any, name: str, err: int = errno.EINVAL) -> int:
    """A C unsigned long / u64 (clone flags, prctl arguments): negatives wrap."""
    v = _int(value, name)
    if not -(2**63) <= v <= 2**64 - 1:
        raise oserror(err, f"{name}={v} does not fit 64 bits")
    return v & (2**64 - 1)


def pid_arg(value: Any, name: str = "pid") -> int:
    if type(value) is int and INT_MIN <= value <= INT_MAX:
        return value
    return c_int(value, name, errno.ESRCH)


def fd_arg(value: Any, name: str = "fd") -> int:
    return c_int(value, name, errno.EBADF)


def sig_arg(value: Any, name: str = "sig") -> int:
    return c_int(value, name, errno.EINVAL)


def handler_arg(value: Any) -> int | None:
    """A disposition for sigaction: SIG_DFL, SIG_IGN or SIG_CATCH (None: only read it).

    sa_handler is a pointer: every value but SIG_DFL (0) and SIG_IGN (1) is a user
    handler's address, which pidlab calls SIG_CATCH (where it points does not matter)."""
    if value is None:
        return None
    h = c_ulong(value, "handler")
    return h if h in (0, 1) else 2


def bool_arg(value: Any, name: str) -> bool:
    if not isinstance(value, (bool, int)):
        raise TypeError(f"{name} must be a bool, not {type(value).__name__}")
    return bool(value)


def path_arg(value: Any, name: str = "path") -> str:
    if isinstance(value, bytes):
        return os.fsdecode(value)
    if isinstance(value, (str, os.PathLike)):
        p = os.fspath(value)
        return p if isinstance(p, str) else os.fsdecode(p)
    raise TypeError(f"{name} must be a str, bytes or os.PathLike, not {type(value).__name__}")


def filename_arg(value: Any, name: str = "filename") -> bytes:
    """A path as the bytes the kernel reads (str is encoded as os.fsencode does)."""
    if isinstance(value, bytes):
        return value
    return os.fsencode(path_arg(value, name))


def prctl_arg(option: int, value: Any) -> int | bytes:
    """prctl's arg2: the name for PR_SET_NAME, an unsigned long for every other option.

    PR_SET_NAME takes a str (encoded as os.fsencode does) or bytes, read by the
    kernel as a C string; 0 stands for a NULL pointer (the kernel's EFAULT).  Any
    other number would be an address in C, which a Python caller has none of.
    PR_GET_NAME's buffer is pidlab's own: its arg, like PR_GET_PDEATHSIG's, is
    not a pointer the caller supplies.
    """
    if option == PR_SET_NAME:
        if isinstance(value, str):
            return os.fsencode(value)
        if isinstance(value, (bytes, bytearray, memoryview)):
            return bytes(value)
        if isinstance(value, int) and not isinstance(value, bool) and value == 0:
            return 0
        raise TypeError(f"PR_SET_NAME takes the name as a str or bytes (0 for NULL), "
                        f"not {type(value).__name__}")
    return c_ulong(value, "arg")


def text_arg(value: Any, name: str = "text") -> str:
    if isinstance(value, bytes):
        return value.decode()
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a str, not {type(value).__name__}")
    return value


def bytes_arg(value: Any, name: str = "value") -> bytes:
    if isinstance(value, str):
        return value.encode()
    if not isinstance(value, (bytes, bytearray, memoryview)):
        raise TypeError(f"{name} must be bytes, not {type(value).__name__}")
    return bytes(value)


def ioctl_arg(value: Any) -> int | bytes:
    """An ioctl's argument: an unsigned long (0 is NULL) or a buffer (bytes-like, at most
    4096 bytes like fcntl.ioctl's)."""
    if isinstance(value, (bytes, bytearray, memoryview)):
        data = bytes(value)
        if len(data) > 4096:
            raise ValueError("an ioctl buffer is at most 4096 bytes")
        return data
    return c_ulong(value, "arg")


def int_list(value: Any, name: str) -> list[int]:
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        raise TypeError(f"{name} must be an iterable of ints, not {type(value).__name__}")
    return [_int(v, f"{name}[]") for v in value]


def set_tid_arg(value: Any) -> tuple[int, ...]:
    """clone3's set_tid array: innermost namespace first."""
    if value == () and type(value) is tuple:
        return value
    # Any ordered iterable (a list, a tuple, a generator...); text and unordered
    # collections are refused: the order of the levels is the point of the array.
    if isinstance(value, (str, bytes, bytearray, set, frozenset, dict)) or \
            not isinstance(value, Iterable):
        raise TypeError(f"set_tid must be an ordered iterable of ints, not {type(value).__name__}")
    return tuple(c_int(v, "set_tid[]") for v in value)


def caps_arg(value: Any, name: str = "caps") -> int:
    """A set of CAP_* numbers as a kernel_cap_t bitmask.

    Like capset(2), bits above CAP_LAST_CAP are dropped silently; a number
    that is not a bit of the 64-bit mask at all is EINVAL.
    """
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        raise TypeError(f"{name} must be an iterable of CAP_* numbers, not {type(value).__name__}")
    mask = 0
    for cap in value:
        c = _int(cap, f"{name}[]")
        if not 0 <= c < 64:
            raise oserror(errno.EINVAL, f"capability {c} does not exist")
        mask |= 1 << c
    return mask & ((1 << (CAP_LAST_CAP + 1)) - 1)


def caps_from_mask(mask: int) -> frozenset[int]:
    return frozenset(i for i in range(CAP_LAST_CAP + 1) if mask >> i & 1)
