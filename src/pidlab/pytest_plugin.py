"""pytest fixtures for testing process-management code against the model and real kernels.

Installed with pidlab (entry point `pytest11`), so any project gets:

* ``pidlab_model``  -- a fresh model per test, checked with ``k.check()`` at teardown;
* ``pidlab_live``   -- a live sandbox (a fresh pid namespace of the running
  kernel), skipped with the reason when this machine cannot start one;
* ``pidlab_kernel`` -- parametrised over backends and kernel versions: the same
  test runs on each.

Kernel versions.  By default ``pidlab_kernel`` is the model at Linux 6.18 and
the running kernel (ids ``[model]`` and ``[live]``).  Name versions per test
with ``@pytest.mark.pidlab_kernels("6.1", "6.12")``, for a whole run with the
ini option ``pidlab_kernels``, or on the command line with
``--pidlab-kernel 6.1 --pidlab-kernel 6.16`` (``all`` for every version the
model knows; it overrides the markers, to focus a run): the test then runs on the model
at each version (``[model-6.1]``) and on every live kernel of those versions
this machine has (``[live-6.18]`` the running kernel; ``[live-6.1]``,
``[live-6.12]`` Debian's kernels in pidlab's virtual machines, see
``make kernels``).  ``kernel.version`` and ``kernel.has("change-key")`` say
what the backend is, so that one test can state each version's expectation.

Markers: ``@pytest.mark.model_only(reason)`` skips the live runs of a test
that only the model can show (the reason is required and reported);
``@pytest.mark.live_only(reason)`` does the opposite.

A test that meets ``pidlab.Unsupported`` (a call one backend cannot carry out
here, such as a write to a machine-wide sysctl on a host) is skipped with
that reason, never passed.  ``--pidlab-require-live`` (ini
``pidlab_require_live = true``) makes a live backend that cannot start a
failure instead of a skip, so that CI cannot silently skip half of the tests.
``--pidlab-agent=native`` (ini ``pidlab_agent``) drives the live tasks with the C
agent (LiveKernel(agent="native")); a test making a call it does not make skips.
``--pidlab-leftovers=warn|fail|ignore`` (ini ``pidlab_leftovers``; default
warn): at teardown, a test that left a task other than init behind (a zombie
nobody reaped, a process still running) is reported.
"""

from __future__ import annotations

import warnings
from typing import Iterator

import pytest

from . import versions
from .api import BackendUnavailable, Unsupported
from .model import Kernel


class LeftoverTasks(UserWarning):
    """A test left tasks behind in its kernel (see --pidlab-leftovers)."""


def pytest_addoption(parser: pytest.Parser) -> None:
    g = parser.getgroup("pidlab")
    g.addoption("--pidlab-kernel", action="append", default=[], metavar="VERSION",
                help="run pidlab_kernel tests on this kernel version: the model at it, and the "
                     "live kernel of that version where this machine has one (repeatable; "
                     "'all' for every version the model knows)")
    g.addoption("--pidlab-backend", choices=("both", "model", "live"), default=None,
                help="which backends pidlab_kernel runs on (default: both)")
    g.addoption("--pidlab-require-live", action="store_true", default=None,
                help="a live backend that cannot start fails the test instead of skipping it")
    g.addoption("--pidlab-leftovers", choices=("ignore", "warn", "fail"), default=None,
                help="what to do when a test leaves tasks behind (default: warn)")
    g.addoption("--pidlab-agent", choices=("python", "native"), default=None,
                help="the live backend's agents: python (every call; the default) or native "
                     "(the C agent: fork, exit, wait and integer system calls; a test that "
                     "makes another call skips as unsupported)")
    g.addoption("--pidlab-guests", choices=("all", "changed"), default=None,
                help="on the kernels of pidlab's virtual machines, run every test (all), or "
                     "only those whose calls and results on the model at that version differ "
                     "from the model at the running kernel's (changed: the rest follow the "
                     "same code paths, which the running kernel's run checks)")
    parser.addini("pidlab_kernels", "kernel versions for pidlab_kernel (space separated, "
                  "or 'all')", default="")
    parser.addini("pidlab_backend", "both, model or live", default="both")
    parser.addini("pidlab_require_live", "fail instead of skip when a live backend cannot start",
                  type="bool", default=False)
    parser.addini("pidlab_leftovers", "ignore, warn or fail", default="warn")
    parser.addini("pidlab_guests", "all or changed", default="all")
    parser.addini("pidlab_agent", "python or native", default="python")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "model_only(reason): the live kernel cannot show this")
    config.addinivalue_line("markers", "live_only(reason): only the live kernel can show this")
    config.addinivalue_line("markers", "pidlab_kernels(*versions): run pidlab_kernel on these "
                                       "kernel versions ('all' for every one)")
    config.addinivalue_line("markers", "pidlab_leftovers(mode): ignore, warn or fail for this "
                                       "test's leftover tasks")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item):
    try:
        return (yield)
    except Unsupported as e:
        pytest.skip(f"unsupported here: {e}")


def _reason(marker: pytest.Mark) -> str:
    reason = marker.kwargs.get("reason") or (marker.args[0] if marker.args else "")
    if not reason:
        raise pytest.UsageError(f"@pytest.mark.{marker.name} needs a reason")
    return reason


# ---------------------------------------------------------------- which kernels

def _expand(names: list[str]) -> list[str]:
    out: list[str] = []
    for name in names:
        for v in name.replace(",", " ").split():
            vs = list(versions.KERNEL_VERSIONS) if v == "all" else [v]
            for x in vs:
                try:
                    versions.parse(x)
                except ValueError as e:
                    raise pytest.UsageError(f"pidlab: {e}") from None
                if x not in out:
                    out.append(x)
    return out


def _live_targets(wanted: list[str]) -> list[str]:
    """The live kernels among `wanted`: the running kernel's series, and the series pidlab
    boots in virtual machines."""
    from .live import images
    from .live.kernel import running_series
    host = running_series()
    out = []
    for v in wanted:
        series = ".".join(v.split(".")[:2])
        if (series == host or series in images.SERIES) and series not in out:
            out.append(series)
    return out


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "pidlab_kernel" not in metafunc.fixturenames:
        return
    config = metafunc.config
    # The command line decides first (to focus a run), then the test's marker, then the ini.
    marker = metafunc.definition.get_closest_marker("pidlab_kernels")
    names = config.getoption("--pidlab-kernel") or \
        (list(marker.args) if marker is not None else config.getini("pidlab_kernels").split())
    backend = config.getoption("--pidlab-backend") or config.getini("pidlab_backend")
    params, ids = [], []
    if not names:
        if backend in ("both", "model"):
            params.append(("model", None))
            ids.append("model")
        if backend in ("both", "live"):
            params.append(("live", None))
            ids.append("live")
    else:
        wanted = _expand(names)
        if backend in ("both", "model"):
            for v in wanted:
                params.append(("model", v))
                ids.append(f"model-{v}")
        if backend in ("both", "live"):
            for series in _live_targets(wanted):
                params.append(("live", series))
                ids.append(f"live-{series}")
    metafunc.parametrize("pidlab_kernel", params, ids=ids, indirect=True)


# ---------------------------------------------------------------- the backends

def _leftovers(request: pytest.FixtureRequest, k: object) -> None:
    m = request.node.get_closest_marker("pidlab_leftovers")
    mode = (m.args[0] if m is not None and m.args else None) or \
        request.config.getoption("--pidlab-leftovers") or request.config.getini("pidlab_leftovers")
    if mode == "ignore" or getattr(k, "closed", False):
        return
    try:
        left = [t for t in k.tasks() if t != k.init]
    except Exception:           # noqa: BLE001 -- a kernel torn down by the test has nothing left
        return
    if not left:
        return
    def describe(t: object) -> str:
        nums = "/".join(map(str, t.numbers)) or "?"
        try:
            state = k.init.read_text(f"/proc/{t.numbers[0]}/status") if t.numbers else ""
            state = next((ln.split()[1] for ln in state.splitlines()
                          if ln.startswith("State:")), "?")
        except Exception:       # noqa: BLE001 -- only for the message
            state = "?"
        return f"{nums} ({'zombie' if state == 'Z' else 'state ' + state})"
    msg = (f"{request.node.nodeid} left {len(left)} task(s) behind in its {k.name} kernel: "
           + ", ".join(describe(t) for t in left[:10]) + (" ..." if len(left) > 10 else ""))
    if mode == "fail":
        pytest.fail(msg, pytrace=False)
    warnings.warn(LeftoverTasks(msg), stacklevel=1)


def _base_id(request: pytest.FixtureRequest) -> str:
    """The test's id without its pidlab_kernel parameter (other parameters kept)."""
    node = request.node
    callspec = getattr(node, "callspec", None)
    params = [] if callspec is None else [
        i for key, i in zip(callspec.params, callspec._idlist) if key != "pidlab_kernel"]
    return f"{node.nodeid.split('[')[0]}[{'-'.join(params)}]"


def _traces(config: pytest.Config) -> dict:
    traces = getattr(config, "_pidlab_traces", None)
    if traces is None:
        traces = config._pidlab_traces = {}         # type: ignore[attr-defined]
    return traces


def _model(request: pytest.FixtureRequest, version: str | None = None) -> Iterator[Kernel]:
    k = Kernel() if version is None else Kernel(version=version)
    if version is not None:
        # What the test asked of this version and what it answered: the guests' "changed"
        # selection compares it with the running kernel's version.
        log: list = []
        _traces(request.config)[(_base_id(request), version)] = log
        _record(k, log)
    yield k
    _leftovers(request, k)
    k.check()
    k.close()


def _summary(v: object) -> object:
    from .api import Child
    if isinstance(v, Child):
        return ("Child", v.pid, v.pidfd is not None)
    if hasattr(v, "numbers") and hasattr(v, "kernel"):
        return ("Task", tuple(v.numbers))
    if isinstance(v, (tuple, list)):
        return tuple(_summary(x) for x in v)
    if isinstance(v, dict):
        return tuple(sorted((repr(a), _summary(b)) for a, b in v.items()))
    if isinstance(v, (bytes, str, int, float, type(None), bool, frozenset)):
        return v
    return repr(v)


def _record(k: Kernel, log: list) -> None:
    """Make every task of `k` (and k.has) log its calls and their results."""
    from .api import SYSCALL_DOCS
    state = k.state
    base = state._task_class

    def wrap(name: str):  # noqa: ANN202
        fn = getattr(base, name)

        def method(self, *args, **kw):  # noqa: ANN001, ANN202
            try:
                r = fn(self, *args, **kw)
            except OSError as e:
                log.append((name, _summary(args), "errno", e.errno))
                raise
            except Exception as e:
                log.append((name, _summary(args), type(e).__name__))
                raise
            log.append((name, _summary(args), _summary(r)))
            return r
        method.__name__ = name
        method.__doc__ = fn.__doc__
        return method
    cls = type("RecordingTask", (base,), {"__slots__": ()} |
               {n: wrap(n) for n in SYSCALL_DOCS if hasattr(base, n)})
    state._task_class = cls
    state._init_handle.__class__ = cls
    k._on_has = lambda key, v: log.append(("has", key, v))


def _live(request: pytest.FixtureRequest, series: str | None = None) -> Iterator[object]:
    from .live import LiveKernel
    from .live.kernel import running_series
    require = request.config.getoption("--pidlab-require-live") or \
        request.config.getini("pidlab_require_live")
    host = running_series()
    mode = request.config.getoption("--pidlab-guests") or request.config.getini("pidlab_guests")
    if series not in (None, host) and mode == "changed":
        traces = _traces(request.config)
        base = _base_id(request)
        here, there = traces.get((base, series)), traces.get((base, host))
        if here is not None and there is not None and here == there:
            pytest.skip(f"the model makes the same calls with the same results on Linux "
                        f"{series} as on {host}, whose live run checks them "
                        "(--pidlab-guests=changed; `make conformance-all` runs them all)")
    try:
        agent = request.config.getoption("--pidlab-agent") or \
            request.config.getini("pidlab_agent")
        k = LiveKernel(agent=agent) if series in (None, host) else \
            LiveKernel(kernel=series, agent=agent)
    except BackendUnavailable as e:
        what = f"live backend {series or ''} unavailable: {e}".replace("  ", " ")
        if require:
            pytest.fail(f"{what} (--pidlab-require-live)", pytrace=False)
        pytest.skip(what)
    try:
        yield k
        _leftovers(request, k)
    finally:
        k.close()


@pytest.fixture
def pidlab_model(request: pytest.FixtureRequest) -> Iterator[Kernel]:
    """A fresh model; its invariants are checked when the test ends."""
    yield from _model(request)


@pytest.fixture
def pidlab_live(request: pytest.FixtureRequest) -> Iterator[object]:
    """A fresh live sandbox, or a skip saying why there cannot be one."""
    yield from _live(request)


@pytest.fixture
def pidlab_kernel(request: pytest.FixtureRequest) -> Iterator[object]:
    """The backends and versions the test runs on (see the module's docstring)."""
    backend, version = getattr(request, "param", ("model", None))
    node = request.node
    if backend == "live":
        m = node.get_closest_marker("model_only")
        if m is not None:
            pytest.skip(f"model only: {_reason(m)}")
        yield from _live(request, version)
    else:
        m = node.get_closest_marker("live_only")
        if m is not None:
            pytest.skip(f"live only: {_reason(m)}")
        yield from _model(request, version)
