"""The cyclic id allocator of one pid namespace (lib/idr.c semantics).

Linux keeps a namespace's pid numbers in an IDR (a radix tree with free-slot
tags) and a cursor, `idr_next`.  pidlab keeps:

* `entries`: nr -> struct pid, for find_pid_ns(): a table of 4096-slot blocks
  (8 bytes per number in a block that holds any pid, instead of a dict entry);
* `used`: one byte per number (1 = allocated), searched with
  bytearray.find (memchr), plus `full`, one byte per block of 4096 numbers
  (1 = no free number in the block), so that "lowest free number >= n" costs
  two short memchr calls however full the namespace is;
* `next`: the cursor.

Nothing here knows about pid_max or RESERVED_PIDS; alloc_pid() passes the
bounds (Linux: kernel/pid.c alloc_pid).
"""

from __future__ import annotations

from typing import Any

_SHIFT = 12
_BLOCK = 1 << _SHIFT
IDR_SHIFT, IDR_MASK = _SHIFT, _BLOCK - 1     # for alloc_pid's inlined idr_replace


class PidTable:
    """nr -> struct pid as lazily allocated blocks of 4096 slots (a dict's interface).

    The IDR keeps `blocks` at least as long as its `used` map, so that a number
    the IDR handed out always has its entry in the list (the block itself may
    still be None).  Its length is counted when asked for (check(), statistics):
    the hot paths do not keep a count; pid_allocated is the namespace's count.
    """

    __slots__ = ("blocks", "used")

    def __init__(self, used: bytearray | None = None) -> None:
        self.blocks: list[list[Any] | None] = []
        # The IDR's allocation map (a slot can hold a pid only where it is 1): walking
        # it with bytearray.find skips free numbers at C speed.
        self.used = used

    def get(self, nr: int, default: Any = None) -> Any:
        if nr < 0:
            return default
        blocks = self.blocks
        b = nr >> _SHIFT
        if b < len(blocks):
            blk = blocks[b]
            if blk is not None:
                v = blk[nr & (_BLOCK - 1)]
                if v is not None:
                    return v
        return default

    def __getitem__(self, nr: int) -> Any:
        v = self.get(nr)
        if v is None:
            raise KeyError(nr)
        return v

    def __setitem__(self, nr: int, value: Any) -> None:
        blocks = self.blocks
        b = nr >> _SHIFT
        if b >= len(blocks):
            blocks.extend([None] * (b + 1 - len(blocks)))
        blk = blocks[b]
        if blk is None:
            blk = self.new_block(b)
        blk[nr & (_BLOCK - 1)] = value

    def new_block(self, b: int) -> list[Any]:
        blk = self.blocks[b] = [None] * _BLOCK
        return blk

    def pop(self, nr: int, default: Any = None) -> Any:
        v = self.get(nr)
        if v is None:
            return default
        self.blocks[nr >> _SHIFT][nr & (_BLOCK - 1)] = None
        return v

    def __len__(self) -> int:
        return sum(_BLOCK - blk.count(None) for blk in self.blocks if blk is not None)

    def __contains__(self, nr: int) -> bool:
        return self.get(nr) is not None

    def items(self) -> list[tuple[int, Any]]:
        """(nr, pid) in increasing nr (a list: callers may change the table)."""
        out = []
        blocks = self.blocks
        used = self.used
        if used is None:
            for b, blk in enumerate(blocks):
                if blk is not None:
                    base = b << _SHIFT
                    out.extend((base + i, v) for i, v in enumerate(blk) if v is not None)
            return out
        find = used.find
        nr = find(1)
        while nr >= 0:
            blk = blocks[nr >> _SHIFT]
            if blk is not None:
                v = blk[nr & (_BLOCK - 1)]
                if v is not None:
                    out.append((nr, v))
            nr = find(1, nr + 1)
        return out

    def values(self) -> list[Any]:
        return [v for _, v in self.items()]

    def __iter__(self):
        return iter([nr for nr, _ in self.items()])


class IDR:
    """One namespace's number space: idr_alloc, idr_alloc_cyclic, idr_remove."""

    __slots__ = ("entries", "next", "used", "full")

    def __init__(self) -> None:
        self.used = bytearray()  # grows by whole blocks (in place: entries shares it)
        self.entries = PidTable(self.used)
        self.next = 0            # idr_next, the cursor (unsigned int in Linux)
        # One byte per block of `used`: 1 means "known to have no free number".  A
        # search that scans a whole block without success sets it; freeing a number
        # clears it.  (Nothing is counted when a number is taken.)
        self.full = bytearray()

    # -- internal -----------------------------------------------------------

    def _grow(self, nr: int) -> None:
        nblocks = (nr >> _SHIFT) + 1
        have = len(self.full)
        if nblocks > have:
            # Grow geometrically so that a cursor walking upwards costs O(1) amortised.
            nblocks = max(nblocks, 2 * have)
            self.used.extend(bytes((nblocks - have) << _SHIFT))
            self.full.extend(bytes(nblocks - have))
            blocks = self.entries.blocks
            if len(blocks) < nblocks:
                blocks.extend([None] * (nblocks - len(blocks)))

    def find_free(self, start: int, end: int) -> int:
        """The lowest free id in [start, end), or -1."""
        if start >= end:
            return -1
        used = self.used
        n = len(used)
        if start >= n:
            return start
        stop = end if end < n else n
        full = self.full
        blk = start >> _SHIFT
        if not full[blk]:
            blk_end = (blk + 1) << _SHIFT
            i = used.find(0, start, blk_end if blk_end < stop else stop)
            if i >= 0:
                return i
            if start == blk << _SHIFT and blk_end <= stop:
                full[blk] = 1
        blk += 1
        last_blk = (stop - 1) >> _SHIFT
        while blk <= last_blk:
            blk = full.find(0, blk, last_blk + 1)
            if blk < 0:
                break
            lo = blk << _SHIFT
            hi = lo + _BLOCK
            i = used.find(0, lo, hi if hi < stop else stop)
            if i >= 0:
                return i
            if hi <= stop:
                full[blk] = 1
            blk += 1
        return n if n < end else -1

    # -- the IDR interface alloc_pid() uses ------------------------------------

    def alloc(self, nr: int) -> bool:
        """idr_alloc(nr, nr+1): take exactly `nr`; False if it is in use."""
        if nr < len(self.used):
            if self.used[nr]:
                return False
        else:
            self._grow(nr)
        self.used[nr] = 1
        return True

    def alloc_cyclic(self, start: int, end: int) -> int:
        """idr_alloc_cyclic(start, end): -1 stands for -ENOSPC.

        Linux: lib/idr.c idr_alloc_cyclic -- search [max(next, start), end),
        then, if that failed and the first search did not begin at `start`,
        [start, end); the cursor moves past the id handed out.
        """
        nxt = self.next
        first = nxt if nxt > start else start
        used = self.used
        if first < len(used) and first < end and not used[first]:
            nr = first                  # the common case: the cursor's number is free
        else:
            nr = self.find_free(first, end)
            if nr < 0 and first > start:
                nr = self.find_free(start, end)
            if nr < 0:
                return -1
        if nr >= len(used):
            self._grow(nr)
            used = self.used
        used[nr] = 1
        self.next = nr + 1
        return nr

    def remove(self, nr: int) -> None:
        """idr_remove: the number becomes free again."""
        blocks = self.entries.blocks
        b = nr >> _SHIFT
        if 0 <= b < len(blocks):
            blk = blocks[b]
            if blk is not None:
                blk[nr & (_BLOCK - 1)] = None
        used = self.used
        if nr < len(used) and used[nr]:
            used[nr] = 0
            self.full[b] = 0

    def is_used(self, nr: int) -> bool:
        return nr < len(self.used) and bool(self.used[nr])

    def allocated(self) -> int:
        return self.used.count(1)
