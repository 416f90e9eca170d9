"""Messages between the controller and the agents: length-prefixed pickles on pipes.

Pipes (not sockets) on purpose: an AF_UNIX socket registers its creator's
pid with pidfs, which would change what pidfs later reports about agents.
"""

from __future__ import annotations

import os
import pickle
import struct

_HDR = struct.Struct("<I")


def send(fd: int, msg: object) -> None:
    data = pickle.dumps(msg, protocol=pickle.HIGHEST_PROTOCOL)
    buf = memoryview(_HDR.pack(len(data)) + data)
    while buf:
        n = os.write(fd, buf)
        buf = buf[n:]


def _read_exact(fd: int, n: int) -> bytes:
    chunks = []
    while n:
        b = os.read(fd, n)
        if not b:
            raise EOFError
        chunks.append(b)
        n -= len(b)
    return b"".join(chunks)


def recv(fd: int) -> object:
    (n,) = _HDR.unpack(_read_exact(fd, _HDR.size))
    return pickle.loads(_read_exact(fd, n))


def send_bytes(fd: int, data: bytes) -> None:
    """One message already pickled (with the sender's own persistent ids)."""
    buf = memoryview(_HDR.pack(len(data)) + data)
    while buf:
        n = os.write(fd, buf)
        buf = buf[n:]


def recv_bytes(fd: int) -> bytes:
    (n,) = _HDR.unpack(_read_exact(fd, _HDR.size))
    return _read_exact(fd, n)
