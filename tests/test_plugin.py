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
    pidlab_model.state.init_ns.pid_allocated += 5      # corrupt the model on purpose
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


VERSIONED_TEST = '''
import pytest
import pidlab

@pytest.mark.pidlab_kernels("6.1", "6.16")
def test_pidfd_open_of_a_thread(pidlab_kernel):
    k = pidlab_kernel
    t = k.init.spawn_thread()
    with pytest.raises(OSError) as e:
        k.init.pidfd_open(t.pid)
    import errno
    assert e.value.errno == (errno.ENOENT if k.has("pidfd-open-errnos") else errno.EINVAL)
    assert k.version in ("6.1", "6.16") or k.name == "live"
'''


def test_a_marker_runs_a_test_on_the_model_at_each_version_it_names(pytester):
    pytester.makepyfile(test_v=VERSIONED_TEST)
    result = pytester.runpytest_subprocess("-v", "-p", "no:cacheprovider", "--pidlab-backend",
                                           "model")
    out = result.stdout.str()
    assert "test_pidfd_open_of_a_thread[model-6.1] PASSED" in out
    assert "test_pidfd_open_of_a_thread[model-6.16] PASSED" in out
    assert result.ret == 0


def test_the_option_names_versions_for_every_test(pytester):
    pytester.makepyfile(test_o='''
def test_version(pidlab_kernel):
    assert pidlab_kernel.version in ("6.12", "6.19")
''')
    result = pytester.runpytest_subprocess("-v", "--pidlab-kernel", "6.12", "--pidlab-kernel",
                                           "6.19", "--pidlab-backend", "model")
    out = result.stdout.str()
    assert "test_version[model-6.12] PASSED" in out and "test_version[model-6.19] PASSED" in out
    assert result.ret == 0


def test_an_unknown_version_is_a_usage_error(pytester):
    pytester.makepyfile(test_u='''
def test_x(pidlab_kernel):
    pass
''')
    result = pytester.runpytest_subprocess("--pidlab-kernel", "5.4")
    assert result.ret != 0
    assert "5.4" in result.stdout.str() + result.stderr.str()


def test_require_live_turns_a_missing_live_backend_into_a_failure(pytester, monkeypatch):
    pytester.makepyfile(test_r='''
def test_x(pidlab_kernel):
    pass
''')
    # A sandbox that cannot start: the interpreter it would run is missing.
    pytester.makeconftest('''
import sys
sys.executable = "/nonexistent/python"
''')
    skipped = pytester.runpytest_subprocess("-rs")
    assert "1 skipped" in skipped.stdout.str() and skipped.ret == 0
    failed = pytester.runpytest_subprocess("--pidlab-require-live")
    out = failed.stdout.str()
    assert "1 error" in out and "--pidlab-require-live" in out     # the fixture fails
    assert failed.ret != 0


LEFTOVER_TEST = '''
def test_forgets_to_reap(pidlab_kernel):
    c = pidlab_kernel.init.fork()
    c.task.exit_group(0)            # a zombie nobody reaps

def test_reaps(pidlab_kernel):
    c = pidlab_kernel.init.fork()
    c.task.exit_group(0)
    pidlab_kernel.init.waitpid(c.pid, 0)
'''


def test_a_test_that_leaves_a_zombie_behind_is_reported(pytester):
    pytester.makepyfile(test_l=LEFTOVER_TEST)
    warned = pytester.runpytest_subprocess("--pidlab-backend", "model")
    out = warned.stdout.str()
    assert "LeftoverTasks" in out and "2 (zombie)" in out and warned.ret == 0
    failed = pytester.runpytest_subprocess("--pidlab-backend", "model", "--pidlab-leftovers=fail")
    out = failed.stdout.str()
    assert "test_forgets_to_reap" in out and "2 passed, 1 error" in out     # at teardown
    assert failed.ret != 0
    quiet = pytester.runpytest_subprocess("--pidlab-backend", "model", "--pidlab-leftovers=ignore")
    assert "LeftoverTasks" not in quiet.stdout.str() and quiet.ret == 0


def test_leftovers_are_checked_on_the_live_kernel_too(pytester):
    pytester.makepyfile(test_l=LEFTOVER_TEST)
    result = pytester.runpytest_subprocess("--pidlab-backend", "live", "--pidlab-leftovers=fail",
                                           "-rs")
    out = result.stdout.str()
    if "live backend" in out and "unavailable" in out:
        import pytest
        pytest.skip("no live backend here")
    assert "test_forgets_to_reap" in out and "2 passed, 1 error" in out and result.ret != 0
