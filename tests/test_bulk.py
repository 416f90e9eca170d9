"""pidlab.bulk(): CPython's cyclic collector paused for one block and put back as it was.

The collector is the interpreter's, not the model's: these tests check that the block
changes nothing of it after it ends (enabled or not, thresholds, frozen objects), and
that tasks made inside it are the same tasks on either backend.
"""

from __future__ import annotations

import gc

import pytest

import pidlab


@pytest.fixture
def collector():
    """The collector's state as the test found it, restored whatever the test does."""
    was, thresholds = gc.isenabled(), gc.get_threshold()
    yield
    gc.set_threshold(*thresholds)
    (gc.enable if was else gc.disable)()


def test_bulk_pauses_an_enabled_collector_and_enables_it_again(collector):
    gc.enable()
    with pidlab.bulk():
        assert not gc.isenabled()
    assert gc.isenabled()


def test_bulk_leaves_a_collector_the_user_disabled_disabled(collector):
    gc.disable()
    with pidlab.bulk():
        assert not gc.isenabled()
    assert not gc.isenabled()


def test_bulk_puts_the_collector_back_when_the_block_raises(collector):
    gc.enable()
    with pytest.raises(KeyError):
        with pidlab.bulk():
            raise KeyError("x")
    assert gc.isenabled()


def test_nested_bulk_blocks_enable_the_collector_only_when_the_outermost_ends(collector):
    gc.enable()
    with pidlab.bulk():
        with pidlab.bulk():
            pass
        assert not gc.isenabled()
    assert gc.isenabled()


def test_bulk_changes_no_threshold_and_freezes_nothing(collector):
    gc.enable()
    gc.set_threshold(1234, 7, 9)
    frozen = gc.get_freeze_count()
    with pidlab.bulk():
        kept = [[i] for i in range(1000)]
    assert gc.get_threshold() == (1234, 7, 9)
    assert gc.get_freeze_count() == frozen
    assert all(gc.is_tracked(x) for x in kept)


def test_one_bulk_object_runs_one_block_at_a_time_and_can_run_again(collector):
    gc.enable()
    b = pidlab.bulk()
    with b:
        with pytest.raises(RuntimeError):
            b.__enter__()
        assert not gc.isenabled()
    assert gc.isenabled()
    with b:
        assert not gc.isenabled()
    assert gc.isenabled()


def test_a_cycle_made_in_a_bulk_block_is_collected_after_it(collector):
    gc.enable()

    class Node:
        pass
    import weakref
    with pidlab.bulk():
        a, b = Node(), Node()
        a.other, b.other = b, a
        ref = weakref.ref(a)
        del a, b
        assert ref() is not None
    gc.collect()
    assert ref() is None


def test_tasks_forked_in_a_bulk_block_are_children_waited_for_as_any(kernel, collector):
    init = kernel.init
    with pidlab.bulk():
        kids = [init.fork() for _ in range(5)]
    assert [c.pid for c in kids] == list(range(2, 7))
    for c in kids:
        c.task.exit_group(3)
    for c in kids:
        assert init.waitpid(c.pid, 0) == (c.pid, 3 << 8)
