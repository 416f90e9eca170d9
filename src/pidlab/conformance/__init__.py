"""The conformance suite as a report: one row per behaviour and version, model / live / agree.

The suite is the scenario tests shipped in `pidlab.conformance.scenarios`: each
test states what Linux does at each kernel version and runs once per backend
and version.  `run()` executes them with pytest and folds the model's and the
live kernel's run of every test at one version into one row.
"""

from __future__ import annotations

import dataclasses
import io
import os
import re
from contextlib import redirect_stderr, redirect_stdout
from typing import Callable, Iterable

SCENARIOS = os.path.join(os.path.dirname(__file__), "scenarios")


@dataclasses.dataclass
class Result:
    outcome: str = "not run"        # passed, failed, skipped, error, not run
    detail: str = ""

    def __str__(self) -> str:
        return self.outcome if not self.detail else f"{self.outcome}: {self.detail}"


@dataclasses.dataclass
class Row:
    behaviour: str                  # module::test[params]
    description: str
    model: Result
    live: Result

    @property
    def agree(self) -> bool | None:
        """True when both pass, False when they differ, None when one cannot run."""
        m, lv = self.model.outcome, self.live.outcome
        if "skipped" in (m, lv) or "not run" in (m, lv):
            return None if "failed" not in (m, lv) and "error" not in (m, lv) else False
        return m == lv == "passed"

    @property
    def reason(self) -> str:
        """Why a row does not agree: each side's skip reason or the failure's first line."""
        if self.agree is True:
            return ""
        parts = []
        for side, res in (("model", self.model), ("live", self.live)):
            if res.outcome != "passed":
                parts.append(f"{side} {res.outcome}" + (f": {res.detail}" if res.detail else ""))
        return "; ".join(parts)

    def as_dict(self) -> dict:
        return {"behaviour": self.behaviour, "description": self.description,
                "model": dataclasses.asdict(self.model), "live": dataclasses.asdict(self.live),
                "agree": self.agree, "reason": self.reason}


@dataclasses.dataclass
class Report:
    rows: list[Row]
    exit_status: int

    @property
    def summary(self) -> dict[str, int]:
        agree = sum(1 for r in self.rows if r.agree is True)
        differ = sum(1 for r in self.rows if r.agree is False)
        single = sum(1 for r in self.rows if r.agree is None)
        return {"behaviours": len(self.rows), "agree": agree, "differ": differ,
                "one_backend_only": single}

    @property
    def ok(self) -> bool:
        return not any(r.agree is False for r in self.rows)


_VERSION = re.compile(r"\d+\.\d+(\.\d+)?")


def _split(nodeid: str) -> tuple[str, str | None]:
    """(behaviour id without the backend parameter, backend).  A kernel version after the
    backend ("model-6.12", "live-6.12") stays in the behaviour: one row per version."""
    m = re.search(r"\[([^\]]*)\]$", nodeid)
    if not m:
        return nodeid, None
    parts = m.group(1).split("-")
    at = next((i for i, p in enumerate(parts) if p in ("model", "live")), None)
    if at is None:
        return nodeid, None
    backend = parts[at]
    rest = parts[:at] + parts[at + 1:]
    base = nodeid[: m.start()]
    return (f"{base}[{'-'.join(rest)}]" if rest else base), backend


def live_kernels() -> list[str]:
    """The series of every live kernel this machine can run: its own, and the images of
    pidlab's virtual machines that `make kernels` installed."""
    from ..live import images
    from ..live.kernel import running_series
    out = [running_series()]
    for series in images.SERIES:
        if series not in out and images.image(series) is not None and images.qemu_binary():
            out.append(series)
    return out


class _Collector:
    def __init__(self, backends: tuple[str, ...],
                 progress: Callable[[int, int, str], None] | None = None) -> None:
        self.rows: dict[str, Row] = {}
        self.docs: dict[str, str] = {}
        self.backends = backends
        self.progress = progress
        self.total = self.done = 0
        self.planned: dict[str, Planned] = {}

    def pytest_collection_modifyitems(self, config, items) -> None:  # noqa: ANN001
        # Keep the selected backends (a test without the parameter is model-only).
        keep, drop = [], []
        for item in items:
            (keep if (_split(item.nodeid)[1] or "model") in self.backends else drop).append(item)
        if drop:
            config.hook.pytest_deselected(items=drop)
            items[:] = keep
        for item in items:
            doc = (getattr(item.function, "__doc__", None) or "").strip().splitlines()
            key, backend = _split(item.nodeid)
            self.docs[key] = doc[0] if doc else item.name.split("[")[0].replace("_", " ")
            plan = self.planned.setdefault(key, Planned(key.split("scenarios/", 1)[-1]))
            plan.backends.add(backend or "model")
            if backend is None:
                plan.one_sided = "a model-only scenario (it builds its own model)"
            for mark, side in (("model_only", "live"), ("live_only", "model")):
                if item.get_closest_marker(mark) is not None and backend == side:
                    plan.one_sided = f"declared {mark}"

    def pytest_collection_finish(self, session) -> None:  # noqa: ANN001
        self.total = len(session.items)
        if self.progress is not None:
            self.progress(0, self.total, "")

    def pytest_runtest_logfinish(self, nodeid, location) -> None:  # noqa: ANN001
        self.done += 1
        if self.progress is not None:
            self.progress(self.done, self.total, nodeid)

    def pytest_runtest_logreport(self, report) -> None:  # noqa: ANN001
        key, backend = _split(report.nodeid)
        row = self.rows.get(key)
        if row is None:
            row = self.rows[key] = Row(key.split("scenarios/", 1)[-1], self.docs.get(key, ""),
                                       Result(), Result())
        if backend is None:
            # A test of the model alone (it builds its own pidlab.Kernel).
            backend = "model"
            row.live = Result("not run", "a model-only scenario (it builds its own model)")
        res = row.model if backend == "model" else row.live
        if report.when == "call" or report.outcome != "passed":
            if report.outcome == "skipped":
                detail = report.longrepr[2] if isinstance(report.longrepr, tuple) else ""
                res.outcome, res.detail = "skipped", detail.replace("Skipped: ", "")
            elif report.outcome == "failed":
                msg = str(report.longrepr.reprcrash.message) if hasattr(report.longrepr, "reprcrash") \
                    else str(report.longrepr)
                res.outcome = "failed" if report.when == "call" else "error"
                res.detail = msg.splitlines()[0][:300] if msg else ""
            elif report.when == "call":
                res.outcome, res.detail = "passed", ""


@dataclasses.dataclass
class Planned:
    """A behaviour as collection sees it, before anything runs."""

    behaviour: str
    backends: set[str] = dataclasses.field(default_factory=set)
    one_sided: str = ""             # why it can show on one backend only, if it says so


def _pytest(args: list[str], collector: _Collector, quiet: bool) -> int:
    import pytest

    args = [SCENARIOS, "-p", "no:cacheprovider", "-q", "-rN", "--no-header",
            "-o", "addopts=", "-o", "pidlab_leftovers=ignore",
            "-W", "ignore::pytest.PytestAssertRewriteWarning", *args]
    if not quiet:
        return int(pytest.main(args, plugins=[collector]))
    sink = io.StringIO()
    with redirect_stdout(sink), redirect_stderr(sink):
        return int(pytest.main(args, plugins=[collector]))


def _kernel_args(kernels: Iterable[str] | None) -> list[str]:
    """--pidlab-kernel options: the versions named, or every live kernel here."""
    names = list(kernels) if kernels else live_kernels()
    return [arg for v in names for arg in ("--pidlab-kernel", v)]


def run(keyword: str | None = None, backends: Iterable[str] = ("model", "live"),
        quiet: bool = True, progress: Callable[[int, int, str], None] | None = None,
        kernels: Iterable[str] | None = None, guests: str = "all") -> Report:
    """Run the conformance suite; return one row per behaviour and kernel version.

    `kernels` are the versions to run (the model at each, and the live kernel of
    each that this machine has; "all" for every version); by default every live
    kernel here.  `progress(done, total, nodeid)` is called once collection knows
    the number of tests (done 0) and after each test.  `guests` is "all" (every
    scenario on the virtual machines' kernels) or "changed" (those whose calls and
    results on the model differ there from the running kernel's version)."""
    collector = _Collector(tuple(backends), progress)
    args = (["-k", keyword] if keyword else []) + _kernel_args(kernels) + \
        ["--pidlab-guests", guests]
    status = _pytest(args, collector, quiet)
    rows = sorted(collector.rows.values(), key=lambda r: r.behaviour)
    return Report(rows, status)


def collect(keyword: str | None = None,
            backends: Iterable[str] = ("model", "live"),
            kernels: Iterable[str] | None = None) -> list[Planned]:
    """The behaviours `run` would report, without running them (a few seconds):
    what the README's counts are checked against."""
    collector = _Collector(tuple(backends))
    _pytest(["--collect-only", *(["-k", keyword] if keyword else []), *_kernel_args(kernels)],
            collector, True)
    return sorted(collector.planned.values(), key=lambda p: p.behaviour)


def markdown(report: Report, kernel: str) -> str:
    """A report of one kernel's rows, for docs/conformance/<kernel>.md."""
    rows = [r for r in report.rows if r.behaviour.endswith(f"[{kernel}]") or
            f"[{kernel}-" in r.behaviour or f"-{kernel}]" in r.behaviour]
    agree = sum(1 for r in rows if r.agree is True)
    differ = [r for r in rows if r.agree is False]
    single = [r for r in rows if r.agree is None]
    per_file: dict[str, list[int]] = {}
    for r in rows:
        f = r.behaviour.split("::", 1)[0]
        c = per_file.setdefault(f, [0, 0, 0])
        c[0 if r.agree is True else 1 if r.agree is False else 2] += 1
    out = [f"# Conformance on Linux {kernel}", "",
           f"{len(rows)} behaviours: {agree} agree, {len(differ)} differ, {len(single)} shown "
           "on one backend only (the model at this version against the live kernel of it).", "",
           "| file | agree | differ | one-sided |", "|---|---|---|---|"]
    out += [f"| {f} | {a} | {d} | {o} |" for f, (a, d, o) in sorted(per_file.items())]
    if differ:
        out += ["", "## Differences", "", "| behaviour | model | live | reason |",
                "|---|---|---|---|"]
        out += [f"| {r.behaviour} | {r.model.outcome} | {r.live.outcome} | "
                f"{r.reason.replace('|', '/')} |" for r in differ]
    reasons: dict[str, int] = {}
    for r in single:
        reasons[r.reason] = reasons.get(r.reason, 0) + 1
    if reasons:
        out += ["", "## One-sided rows, by reason", "", "| rows | reason |", "|---|---|"]
        out += [f"| {n} | {why.replace('|', '/')} |"
                for why, n in sorted(reasons.items(), key=lambda x: -x[1])]
    return "\n".join(out) + "\n"
