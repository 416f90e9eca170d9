"""pidlab.bulk(): make or drop millions of model tasks without CPython's cyclic collector.

Every model task is a few objects that can hold references (a TaskStruct, its
SignalStruct, its struct Pid, the Child record a user keeps), so CPython's
cyclic garbage collector tracks them.  It runs a full collection whenever the
long-lived heap has grown by a quarter, and each full collection traverses
every task again: while 4,194,303 tasks are forked, that is about half of the
time.  The collector is the whole interpreter's, so the model never switches it
behind the user's back; `bulk()` is the user's explicit request to pause it for
one block.

The tasks themselves never need it: the model frees what it releases by
reference counting, and a Kernel that is dropped is collected whenever the
collector next runs after the block.
"""

from __future__ import annotations

import gc
from types import TracebackType

__all__ = ["bulk"]


class bulk:
    """Pause CPython's cyclic garbage collector for a block, then put it back as it was.

        with pidlab.bulk():
            kept = [init.fork() for _ in range(4_194_302)]

    On entry the collector is disabled (`gc.disable()`); on exit, an exception
    included, it is enabled again only if it was enabled on entry, so nested
    blocks and a collector the user disabled themselves stay as they were.  No
    threshold is changed and nothing is frozen: the objects made in the block
    are collected as usual afterwards: the first collections after the block
    traverse them a few times (young, middle, then a full collection), instead
    of once per quarter of growth during it.  To skip those too, call
    gc.freeze() inside the block; that is the user's call, since frozen objects
    are never collected until gc.unfreeze().  The collector is process-wide:
    other threads see it paused while the block runs.
    """

    __slots__ = ("_was_enabled",)

    def __init__(self) -> None:
        self._was_enabled: bool | None = None

    def __enter__(self) -> "bulk":
        if self._was_enabled is not None:
            raise RuntimeError("this pidlab.bulk() block is already running (make one per with)")
        self._was_enabled = gc.isenabled()
        gc.disable()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        was, self._was_enabled = self._was_enabled, None
        if was:
            gc.enable()
