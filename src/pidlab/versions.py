"""Kernel versions as sets of upstream changes: the one table the model, the CLI and the tests read.

A `Change` is one upstream commit (or, for a series, its merge) that changed
what a program can observe of the PID subsystem, or that touched
include/linux/pid.h (a pure refactor says so in its effect).  A version is
the set of changes whose `version` is not newer than it, plus the stable
backports the table records: a backport counts from the sublevel it reached
(`Change.backports`).  The model's code asks for a change by its key
(`k.has("pidfs-persist")`) and never compares version numbers.

Version strings: "6.12" is the 6.12 stable series as pidlab knows it (every
backport the table records for it included); "6.18.0" is the release itself
and "6.18.20" that sublevel (backports from later sublevels left out).
"""

from __future__ import annotations

import functools

import dataclasses
import re
from typing import Callable, Iterable, Mapping

KERNEL_VERSIONS = ("6.1", "6.2", "6.3", "6.4", "6.5", "6.6", "6.7", "6.8", "6.9", "6.10",
                   "6.11", "6.12", "6.13", "6.14", "6.15", "6.16", "6.17", "6.18", "6.19")
DEFAULT_VERSION = "6.18"
# A version without a sublevel is the series with every recorded backport.
LATEST = 1 << 30


@dataclasses.dataclass(frozen=True)
class Change:
    """One upstream change: what it is, where it landed, what it changed."""

    key: str                    # a short stable name: "pidfs-persist"
    version: str                # the release it first appeared in: "6.17"
    commit: str                 # the upstream commit id (for a series: its merge)
    title: str                  # the upstream subject line
    effect: str                 # one sentence: what a user can observe
    # "behaviour" (a program can see it), "refactor" (nothing to see), "concurrency"
    # (only interleavings differ: pidlab.explore), "unmodelled" (outside the API; effect says)
    kind: str = "behaviour"
    # Stable backports: (series, first sublevel that has it).
    backports: tuple[tuple[str, int], ...] = ()
    # Changes without which this one cannot be switched on (the model could not run it).
    requires: tuple[str, ...] = ()
    # Where the record was verified: files at that version, pulls, stable mails.
    evidence: str = ""


def parse(version: str) -> tuple[int, int, int]:
    """(major, minor, sublevel) of "6.12" (the series: LATEST) or "6.12.117"."""
    if not isinstance(version, str):
        raise TypeError("a kernel version is a str such as '6.12' or '6.18.44'")
    m = re.fullmatch(r"(\d+)\.(\d+)(?:\.(\d+))?", version.strip())
    if m is None:
        raise ValueError(f"{version!r} is not a kernel version (write it as '6.12' or '6.18.44')")
    major, minor, sub = int(m.group(1)), int(m.group(2)), m.group(3)
    series = f"{major}.{minor}"
    if series not in KERNEL_VERSIONS:
        raise ValueError(f"the model knows Linux {KERNEL_VERSIONS[0]} to {KERNEL_VERSIONS[-1]}, "
                         f"not {version}")
    return major, minor, LATEST if sub is None else int(sub)


def _series_key(series: str) -> tuple[int, int]:
    a, b = series.split(".")
    return int(a), int(b)


def _has_at(change: Change, at: tuple[int, int, int]) -> bool:
    if _series_key(change.version) <= at[:2]:
        return True
    for series, sublevel in change.backports:
        if _series_key(series) == at[:2] and at[2] >= sublevel:
            return True
    return False


def changes() -> tuple[Change, ...]:
    """Every upstream change the model knows, oldest first."""
    from ._changes import CHANGES
    return CHANGES


def by_key() -> dict[str, Change]:
    return {c.key: c for c in changes()}


def changeset(version: str = DEFAULT_VERSION,
              overrides: Mapping[str, bool] | None = None) -> frozenset[str]:
    """The keys of the changes a version has, with some switched on or off.

    ValueError for an unknown version or key, and for a combination the
    kernel never had that the model cannot run (a change on without one it
    requires, or off while a change that requires it is on).
    """
    items: tuple = ()
    if overrides:
        if not isinstance(overrides, Mapping):
            raise TypeError("changes must map change keys to True or False")
        for key, on in overrides.items():
            if not isinstance(key, str):
                raise TypeError("change keys are strings")
            if not isinstance(on, bool):
                raise TypeError(f"changes[{key!r}] must be True or False")
        items = tuple(overrides.items())
    if not isinstance(version, str):
        parse(version)                  # its TypeError
    return _changeset(version, items)


@functools.lru_cache(maxsize=256)
def _changeset(version: str, items: tuple) -> frozenset[str]:
    """changeset() once per (version, overrides): a Kernel is made per explored schedule."""
    at = parse(version)
    table = by_key()
    keys = {c.key for c in table.values() if _has_at(c, at)}
    if items:
        for key, on in items:
            if key not in table:
                raise ValueError(f"unknown change {key!r}; pidlab.changes() lists them")
            if on:
                keys.add(key)
            else:
                keys.discard(key)
    for key in sorted(keys):
        missing = [r for r in table[key].requires if r not in keys]
        if missing:
            raise ValueError(f"{key!r} ({table[key].title}) cannot be on without "
                             f"{', '.join(repr(m) for m in missing)}: no kernel had that")
    return frozenset(keys)


def introduced(key: str) -> Change:
    """The change record of `key` (ValueError for an unknown key)."""
    try:
        return by_key()[key]
    except KeyError:
        raise ValueError(f"unknown change {key!r}; pidlab.changes() lists them") from None


def difference(a: Iterable[str], b: Iterable[str]) -> list[Change]:
    """The changes one set has and the other lacks, oldest first."""
    sa, sb = set(a), set(b)
    return [c for c in changes() if (c.key in sa) != (c.key in sb)]


def responsible(older: str, newer: str, same: Callable[[dict[str, bool]], bool],
                older_changes: Mapping[str, bool] | None = None,
                newer_changes: Mapping[str, bool] | None = None,
                switch_off: bool = False) -> list[Change]:
    """The changes between two kernels (versions, each with changes switched) that explain
    a difference: each change the newer one has that, switched on in the older one with
    what it needs, makes `same(changes)` true -- and with `switch_off`, each change the
    older one has and the newer one lacks that, switched off with what needs it, does; a
    change that only needs another one that does is left out (that one is it)."""
    base = dict(older_changes or {})
    older_set, newer_set = changeset(older, base), changeset(newer, newer_changes)
    table = by_key()
    flips: dict[str, set[str]] = {}
    for c in difference(older_set, newer_set):
        if c.key not in newer_set:
            if not switch_off:
                continue
            # Off, with every change of the older one that needs it.
            off: set[str] = set()
            stack = [c.key]
            while stack:
                key = stack.pop()
                if key in off or key not in older_set:
                    continue
                off.add(key)
                stack.extend(k for k in older_set if key in table[k].requires)
            try:
                if same({**base, **{key: False for key in off}}):
                    flips[c.key] = off
            except ValueError:
                pass
            continue
        need: set[str] = set()
        stack = [c.key]
        while stack:
            key = stack.pop()
            if key in need or key in older_set:
                continue
            need.add(key)
            stack.extend(table[key].requires)
        try:
            if same({**base, **{key: True for key in need}}):
                flips[c.key] = need
        except ValueError:
            continue
    return [table[key] for key, need in flips.items()
            if not any(other != key and other in need for other in flips)]


def version_of(release: str) -> str:
    """The version string of a running kernel's release ("6.12.117+deb12-amd64" -> "6.12.117")."""
    m = re.match(r"(\d+)\.(\d+)(?:\.(\d+))?", release)
    if m is None:
        raise ValueError(f"{release!r} is not a kernel release")
    return ".".join(g for g in m.groups() if g is not None)
