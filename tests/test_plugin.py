"""The pytest plugin, as a user meets it: fixtures registered through the entry point."""

from __future__ import annotations


pytest_plugins = ["pytester"]

USER_TEST = '''
import pytest

def test_my_supervisor_reaps_its_children(pidlab_kernel):
    sup = pidlab_kernel.init.fork().task
    worker = sup.fork()
    worker.task.exit_group(3)
    assert sup.waitpid(worker.pid, 0) == (worker.pid, 3 << 8)

def test_model_is_checked(pidlab_model):
    assert pidlab_model.name == "model"

@pytest.mark.model_only(reason="only the model has 64 CPUs")
def test_only_model(pidlab_kernel):
    assert pidlab_kernel.name == "model"

@pytest.mark.live_only(reason="the real thing")
def test_only_live(pidlab_kernel):
    assert pidlab_kernel.name == "live"
'''


def test_the_fixtures_run_a_users_test_on_both_backends(pytester):
    pytester.makepyfile(test_user=USER_TEST)
    result = pytester.runpytest_subprocess("-v", "-rs")
    out = result.stdout.str()
    assert "test_my_supervisor_reaps_its_children[model] PASSED" in out
    assert "test_model_is_checked PASSED" in out
    assert "test_only_model[model] PASSED" in out
    assert "test_only_live[model] SKIPPED" in out
    assert "test_only_model[live] SKIPPED" in out
    live = "test_my_supervisor_reaps_its_children[live]"
    assert f"{live} PASSED" in out or f"{live} SKIPPED" in out
    assert result.ret == 0


def test_a_marker_without_a_reason_is_an_error(pytester):
    pytester.makepyfile(test_bad='''
import pytest

@pytest.mark.model_only
def test_x(pidlab_kernel):
    pass
''')
    result = pytester.runpytest_subprocess()
    assert result.ret != 0
    assert "reason" in result.stdout.str() + result.stderr.str()


def test_the_model_fixture_fails_a_test_that_breaks_an_invariant(pytester):
    pytester.makepyfile(test_break='''
def test_break(pidlab_model):
    pidlab_model.init_ns.pid_allocated += 5      # corrupt the model on purpose
''')
    result = pytester.runpytest_subprocess()
    assert result.ret != 0
    assert "InvariantError" in result.stdout.str()


def test_a_call_the_backend_cannot_make_here_skips_with_its_reason(pytester):
    pytester.makepyfile(test_unsupported='''
import pidlab

def test_needs_what_the_backend_lacks():
    raise pidlab.Unsupported("kernel.pid_max is the machine's here")
''')
    result = pytester.runpytest_subprocess("-rs")
    out = result.stdout.str()
    assert "1 skipped" in out
    assert "kernel.pid_max is the machine's here" in out
