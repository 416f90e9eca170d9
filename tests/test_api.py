"""The public surface: both backends implement the Protocol of pidlab.api, call for call."""

from __future__ import annotations

import re

import inspect

import pytest

import pidlab
from pidlab.api import KernelAPI, TaskAPI
from pidlab.live.kernel import LiveKernel, LiveTask
from pidlab.model.kernel import Kernel, Task


def _methods(cls: type) -> dict[str, inspect.Signature]:
    return {name: inspect.signature(fn) for name, fn in inspect.getmembers(cls, inspect.isfunction)
            if not name.startswith("_")}


def _shape(sig: inspect.Signature) -> list[tuple[str, object, object]]:
    """Names, kinds and defaults (annotations are strings in one place, objects in another)."""
    return [(p.name, p.kind, p.default) for p in sig.parameters.values()]


@pytest.mark.parametrize("backend", [Task, LiveTask], ids=["model", "live"])
def test_every_task_method_of_a_backend_is_in_the_protocol_with_the_same_signature(backend):
    protocol, impl = _methods(TaskAPI), _methods(backend)
    assert sorted(impl) == sorted(protocol)
    for name, sig in protocol.items():
        assert _shape(impl[name]) == _shape(sig), name


def test_a_model_task_is_a_taskapi_and_the_model_a_kernelapi():
    k = pidlab.Kernel()
    assert isinstance(k, KernelAPI) and isinstance(k.init, TaskAPI)
    assert isinstance(k.init.fork().task, TaskAPI)


def test_both_kernels_have_the_members_of_the_contract():
    for cls in (Kernel, LiveKernel):
        for member in ("init", "close", "__enter__", "__exit__", "name"):
            assert hasattr(cls, member), (cls, member)


# ---------------------------------------------------------------- Child

def test_a_child_is_a_frozen_record_of_pid_task_and_pidfd(kernel):
    import dataclasses
    c = kernel.init.clone(pidfd=True)
    assert (c.pid, c.pidfd) == (2, 3)
    with pytest.raises(dataclasses.FrozenInstanceError):
        c.pid = 5
    with pytest.raises(dataclasses.FrozenInstanceError):
        c.task = kernel.init
    with pytest.raises(dataclasses.FrozenInstanceError):
        del c.pidfd
    match c:
        case pidlab.Child(pid, task, pidfd):
            assert (pid, task, pidfd) == (2, c.task, 3)
    assert repr(c) == f"Child(pid=2, task={c.task!r}, pidfd=3)"


def test_children_compare_and_hash_by_pid_task_and_pidfd(kernel):
    c = kernel.init.fork()
    same = pidlab.Child(c.pid, c.task, None)
    assert c == same and hash(c) == hash(same)
    assert c != pidlab.Child(c.pid, c.task, 7)
    assert c != pidlab.Child(c.pid + 1, c.task, None)
    assert c != (c.pid, c.task, None)
    assert len({c, same}) == 1


def test_a_childs_task_is_one_handle_for_as_long_as_it_is_held(kernel):
    c = kernel.init.fork()
    t = c.task
    assert c.task is t
    assert t.getpid() == c.pid
    assert [h for h in kernel.tasks() if h.numbers == t.numbers] == [t]


def test_a_child_made_by_a_user_keeps_the_task_it_was_given():
    sentinel = object()
    assert pidlab.Child(4, sentinel).task is sentinel
    assert pidlab.Child(4, sentinel).pidfd is None


def test_the_model_keeps_no_task_handle_alive_by_itself(model):
    # Handles are the user's: the model refers to them weakly (and makes a
    # Child's handle only when its `task` is first read).
    import gc
    import weakref
    from pidlab.model.kernel import Task
    model.init.fork()
    c = model.init.fork()
    ref = weakref.ref(c.task)
    assert ref() is c.task
    del c
    gc.collect()
    assert ref() is None
    assert [o for o in gc.get_objects() if type(o) is Task and o.kernel is model] == [model.init]


def test_a_task_prints_the_same_on_both_backends_in_the_sandbox_numbers(kernel):
    init = kernel.init
    assert repr(init) == "<Task 1>"
    ns = init.clone(pidlab.CLONE_NEWPID)
    leaf = ns.task.fork()
    assert repr(leaf.task) == f"<Task {'/'.join(map(str, leaf.task.numbers))}>"
    assert repr(leaf.task).startswith(f"<Task {leaf.task.numbers[0]}/")
    c = init.fork()
    c.task.exit_group(0)
    assert repr(c.task) == f"<Task {c.pid} zombie>"
    init.waitpid(c.pid, 0)
    assert repr(c.task) == "<Task (released)>"


def test_help_of_the_public_classes_shows_no_kernel_internals():
    import pydoc
    text = pydoc.render_doc(pidlab.Kernel, renderer=pydoc.plaintext)
    for internal in ("commit_creds", "wake", "runq", "run_pending", "init_ns", "sibling_seq",
                     "pidfd_create", "exit_files", "new_ns_inum"):
        assert internal not in text, internal
    for public in ("init", "tasks", "snapshot", "check", "close", "has", "version"):
        assert public in text


def test_every_system_call_of_both_backends_has_a_docstring_naming_the_linux_call():
    for cls in (pidlab.Task, pidlab.LiveTask):
        for name in pidlab.api.SYSCALL_DOCS:
            doc = getattr(cls, name).__doc__
            first = doc.split("\n", 1)[0] if doc else ""
            assert re.search(r"[a-z_0-9]+\(", first), (cls, name, first)
