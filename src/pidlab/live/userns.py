"""The sandbox's user namespace: which ids it maps, and how the map is made.

Root's sandbox stays in the initial user namespace, whose map is the
identity ("0 0 4294967295").  An ordinary user needs a user namespace of
its own to unshare a pid namespace (CAP_SYS_ADMIN over it); its map is the
most a user namespace allows that user:

* the user's own uid and gid as 0 inside, and its subordinate range from
  /etc/subuid and /etc/subgid as 1..N inside, written by the setuid helpers
  newuidmap/newgidmap (shadow's `uidmap` package) from outside the new
  namespace -- the only way an unprivileged process may map more than
  its own id (kernel/user_namespace.c new_idmap_permitted);
* otherwise the one id the kernel lets a process map for itself ("0 <uid>
  1", after "deny" to /proc/<pid>/setgroups, as the kernel requires for
  an unprivileged gid_map).

Every id outside the map is unrepresentable in the sandbox: set*id to it
fails with EINVAL (make_kuid), and owners outside it (the machine's root
owns pidfs and nsfs inodes) show as the overflow ids (from_kuid_munged).
pidlab.differences names what follows from that ("userns-*").
"""

from __future__ import annotations

import dataclasses
import os
import pwd
import shutil
import subprocess

UID_MAX = 0xFFFFFFFF - 1            # (uid_t)-1 is never a valid id
SUBID_FILES = {"uid": "/etc/subuid", "gid": "/etc/subgid"}
HELPERS = {"uid": "newuidmap", "gid": "newgidmap"}
Extent = tuple[int, int, int]       # (first id inside, first id outside, count), as in uid_map


@dataclasses.dataclass(frozen=True, slots=True)
class IdMap:
    """The uid_map and gid_map of the sandbox's user namespace, as the initial
    namespace reads them, with why they are what they are."""

    uid: tuple[Extent, ...]
    gid: tuple[Extent, ...]
    userns: bool                    # False: the initial user namespace itself (root)
    how: str                        # one sentence: where the map comes from
    overflowuid: int = 65534        # what an unmapped owner looks like (kernel.overflowuid)
    overflowgid: int = 65534

    def maps_uid(self, uid: int) -> bool:
        return _inside(self.uid, uid) is not None

    def maps_gid(self, gid: int) -> bool:
        return _inside(self.gid, gid) is not None

    def uid_in_sandbox(self, host_uid: int) -> int | None:
        """The sandbox's name for the machine's uid `host_uid` (None: unmapped)."""
        return _outside_to_inside(self.uid, host_uid)

    def gid_in_sandbox(self, host_gid: int) -> int | None:
        return _outside_to_inside(self.gid, host_gid)

    def uid_on_host(self, uid: int) -> int | None:
        """The machine's name for the sandbox's uid `uid` (None: unmapped)."""
        e = _inside(self.uid, uid)
        return None if e is None else e[1] + uid - e[0]

    def gid_on_host(self, gid: int) -> int | None:
        e = _inside(self.gid, gid)
        return None if e is None else e[1] + gid - e[0]

    @property
    def uids(self) -> range:
        """The ids 0..N-1 the sandbox can take as uids (the map is contiguous from 0)."""
        return range(0, _contiguous(self.uid))

    @property
    def gids(self) -> range:
        return range(0, _contiguous(self.gid))

    def describe(self) -> str:
        def fmt(ext: tuple[Extent, ...]) -> str:
            return ", ".join(f"{i}..{i + n - 1} -> {o}..{o + n - 1}" if n > 1 else f"{i} -> {o}"
                             for i, o, n in ext)
        return f"uids {fmt(self.uid)}; gids {fmt(self.gid)} ({self.how})"


def _inside(ext: tuple[Extent, ...], ident: int) -> Extent | None:
    for e in ext:
        if e[0] <= ident < e[0] + e[2]:
            return e
    return None


def _outside_to_inside(ext: tuple[Extent, ...], host: int) -> int | None:
    for first, lower, count in ext:
        if lower <= host < lower + count:
            return first + host - lower
    return None


def _contiguous(ext: tuple[Extent, ...]) -> int:
    end = 0
    for first, _, count in sorted(ext):
        if first != end:
            break
        end = first + count
    return end


INITIAL = IdMap(((0, 0, UID_MAX + 1),), ((0, 0, UID_MAX + 1),), False,
                "root: the sandbox stays in the initial user namespace")


def read_map(path: str) -> tuple[Extent, ...]:
    """The extents of a /proc/<pid>/uid_map or gid_map, as the reader's namespace sees them."""
    with open(path) as f:
        return tuple(tuple(int(x) for x in line.split()) for line in f if line.strip())  # type: ignore[misc]


def overflow_ids() -> tuple[int, int]:
    out = []
    for name in ("overflowuid", "overflowgid"):
        try:
            with open(f"/proc/sys/kernel/{name}") as f:
                out.append(int(f.read()))
        except (OSError, ValueError):
            out.append(65534)
    return out[0], out[1]


@dataclasses.dataclass(frozen=True, slots=True)
class Plan:
    """What the controller will try for an ordinary user, decided before the sandbox starts.

    `subids[kind]` is the (start, count) of the user's subordinate range when the
    machine offers one and a helper to write it; `why_not` says, when it does not,
    what is missing (the holder then maps the one id itself)."""

    subids: dict[str, tuple[int, int]]
    why_not: str
    helpers: dict[str, str]


def plan(uid: int | None = None) -> Plan:
    """Which map an ordinary user's sandbox can have on this machine: a range where
    /etc/subuid AND /etc/subgid give the user one and newuidmap AND newgidmap are
    on PATH; otherwise one id.  Whether the helpers really work is known only when
    they run (LiveKernel falls back to one id then, saying why)."""
    uid = os.getuid() if uid is None else uid
    user = user_name(uid)
    names = {user, str(uid)}
    subids: dict[str, tuple[int, int]] = {}
    missing = []
    for kind, path in SUBID_FILES.items():
        rng = _subid_range(path, names)
        if rng is None:
            missing.append(f"{path} has no range for {user}")
        else:
            subids[kind] = rng
    helpers = {}
    for kind, prog in HELPERS.items():
        found = shutil.which(prog)
        if found is None:
            missing.append(f"{prog} is not installed (Debian: apt-get install uidmap)")
        else:
            helpers[kind] = found
    if missing:
        return Plan({}, "; ".join(missing), {})
    return Plan(subids, "", helpers)


def user_name(uid: int | None = None) -> str:
    uid = os.getuid() if uid is None else uid
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


def _subid_range(path: str, names: set[str]) -> tuple[int, int] | None:
    """The first "name:start:count" line of a subordinate id file for this user
    (shadow's lib/subordinateio.c matches the name or the numeric id)."""
    try:
        with open(path) as f:
            lines = f.read().splitlines()
    except OSError:
        return None
    for line in lines:
        parts = line.strip().split(":")
        if len(parts) != 3 or parts[0] not in names:
            continue
        try:
            start, count = int(parts[1]), int(parts[2])
        except ValueError:
            continue
        # Inside, the range is 1..count: it must end below (uid_t)-1.
        count = min(count, UID_MAX)
        if count > 0 and start >= 0:
            return start, count
    return None


def write_with_helpers(p: Plan, pid: int, uid: int, gid: int, timeout: float) -> tuple[set[str], str]:
    """Run newuidmap and newgidmap on `pid` (a process of this user that has just
    unshared CLONE_NEWUSER): own id -> 0, subordinate range -> 1..N.  Returns the
    kinds written ("uid", "gid") and, for any that failed, why."""
    done: set[str] = set()
    errors = []
    own = {"uid": uid, "gid": gid}
    for kind in ("uid", "gid"):
        start, count = p.subids[kind]
        argv = [p.helpers[kind], str(pid), "0", str(own[kind]), "1", "1", str(start), str(count)]
        try:
            r = subprocess.run(argv, capture_output=True, text=True, timeout=timeout,
                               stdin=subprocess.DEVNULL)
        except (OSError, subprocess.TimeoutExpired) as e:
            errors.append(f"{HELPERS[kind]}: {e}")
            continue
        if r.returncode == 0:
            done.add(kind)
        else:
            errors.append(f"{HELPERS[kind]} failed: {r.stderr.strip()[-200:] or r.returncode}")
    return done, "; ".join(errors)
