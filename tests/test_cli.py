"""The pidlab command line, end to end: every command as a user types it.

Each command is driven the way a user drives it: through click's CliRunner (not a
terminal, so the output must be plain text), through `python -m pidlab` in a
subprocess (the real entry point, which promises one-line errors and never a
traceback), and on a pseudo-terminal with pexpect (the interactive shell and the
rich output).

Where the expected values come from:
* the shipped examples (examples/*.pidlab): their expectations and comments state
  what Linux does, so every example must pass on both backends and agree in
  `compare`; the numbers a drawing must show come from nested-namespaces.pidlab's
  comments (`leaf.numbers == (5, 4, 3, 2)`, ns1 is pid 2 outside and 1 inside);
* /work/shared/spec/linux-pid-6.18.md: the first fork of a fresh namespace gets 2
  after init's 1 (section 3.5), the cursor wraps to RESERVED_PIDS = 300 (3.5, the
  demo's 397, 398, 399, 300, 301 with pid_max 400), kill of a number nobody holds
  is ESRCH, a fork into a namespace whose init died is ENOMEM (5), pidfs inodes are
  never reused (4);
* the CLI's documented conventions (the issue): plain text when not on a terminal,
  `--format json` parses, exit status 0 on success and 1 on any failure, `--help`
  everywhere, errors as one line naming the file and line.

Live tests skip, saying why, when pidlab.LiveKernel() cannot start here.
"""

from __future__ import annotations

import functools
import json
import os
import re
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

import pidlab
from pidlab.cli.main import cli

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted((ROOT / "examples").glob("*.pidlab"))
EXAMPLE_IDS = [p.stem for p in EXAMPLES]
ANSI = re.compile(r"\x1b\[[0-9;?<=>]*[A-Za-z]|\x1b[()][A-Z0-9]|\x1b[=>]")
COMMANDS = ("demo", "run", "compare", "shell", "tree", "conformance")
SCENARIOS = ROOT / "src" / "pidlab" / "conformance" / "scenarios"


# ---------------------------------------------------------------- helpers

def invoke(*args: str, input: str | None = None) -> Result:
    """pidlab ARGS through CliRunner: stdout is not a terminal, so output is plain."""
    result = CliRunner().invoke(cli, list(args), input=input)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"pidlab {' '.join(args)} crashed instead of reporting an error: "
                             f"{result.exception!r}") from result.exception
    return result


def pidlab_cmd(*args: str, input: str | None = None, cwd: Path = ROOT,
               timeout: float = 90) -> subprocess.CompletedProcess:
    """`python -m pidlab ARGS`: the real entry point, with its one-line error handler."""
    env = {k: v for k, v in os.environ.items() if k not in ("PIDLAB_DEBUG", "FORCE_COLOR")}
    return subprocess.run([sys.executable, "-m", "pidlab", *args], input=input, cwd=cwd,
                          capture_output=True, text=True, env=env, timeout=timeout)


def one_line_error(proc: subprocess.CompletedProcess) -> str:
    """The error a failing command printed: exactly one line, no traceback anywhere."""
    assert proc.returncode != 0
    assert "Traceback" not in proc.stdout + proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, f"expected one error line, got:\n{proc.stderr}"
    return lines[0]


@functools.cache
def _live_unavailable() -> str | None:
    try:
        k = pidlab.LiveKernel()
    except pidlab.BackendUnavailable as e:
        return str(e) or type(e).__name__
    k.close()
    return None


def need_live() -> None:
    reason = _live_unavailable()
    if reason is not None:
        pytest.skip(f"live backend unavailable here: {reason}")


def with_backend(backend: str) -> str:
    if backend == "live":
        need_live()
    return backend


def steps_of(path: Path) -> list[tuple[int, str]]:
    """The steps as the file writes them: (line number, text without its comment).

    The examples hold no '#' inside a string, so a split is enough here."""
    out = []
    for n, line in enumerate(path.read_text().splitlines(), 1):
        body = line.split("#", 1)[0].strip()
        if body:
            out.append((n, body))
    return out


def expectations_of(path: Path) -> int:
    return sum(1 for _, body in steps_of(path) if body.startswith("assert ") or "->" in body)


def read_jsonl(path: Path) -> list[dict]:
    text = path.read_text()
    assert text.endswith("\n")
    return [json.loads(line) for line in text.splitlines()]


def shape(value):
    """The structure of a JSON value: keys and element shapes, scalars by type."""
    if isinstance(value, dict):
        return {k: shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [shape(v) for v in value]
    return type(value).__name__


def without_inodes(value):
    if isinstance(value, dict):
        return {k: without_inodes(v) for k, v in value.items() if k != "inode"}
    if isinstance(value, list):
        return [without_inodes(v) for v in value]
    return value


def write(tmp_path: Path, name: str, text: str) -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


# ---------------------------------------------------------------- --help, --version

@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help(command):
    result = invoke(command, "--help")
    assert result.exit_code == 0
    assert result.stdout.startswith(f"Usage: cli {command}") or \
        result.stdout.startswith(f"Usage: pidlab {command}")
    assert "--help" in result.stdout


def test_top_level_help_lists_every_command():
    result = invoke("--help")
    assert result.exit_code == 0
    for command in COMMANDS:
        assert re.search(rf"^\s+{command}\s", result.stdout, re.M), command
    assert invoke("-h").stdout == result.stdout


def test_python_m_pidlab_version_is_the_installed_version():
    proc = pidlab_cmd("--version")
    assert proc.returncode == 0
    assert proc.stdout.strip() == f"pidlab, version {metadata.version('pidlab')}"


def test_python_m_pidlab_help_exits_0():
    proc = pidlab_cmd("--help")
    assert proc.returncode == 0
    assert "Usage: pidlab" in proc.stdout


# ---------------------------------------------------------------- run: the examples

def test_examples_directory_is_not_empty_and_every_file_is_a_shipped_example():
    assert EXAMPLES, "examples/ holds no .pidlab file"
    for name in EXAMPLE_IDS:            # reachable by name, as README and demo say
        result = invoke("run", name, "--format", "json")
        assert result.exit_code == 0, result.output
        assert json.loads(result.stdout)["script"] == name


@pytest.mark.parametrize("backend", ["model", "live"])
@pytest.mark.parametrize("example", EXAMPLES, ids=EXAMPLE_IDS)
def test_every_example_runs_with_every_expectation_met(example, backend):
    result = invoke("run", str(example), "--backend", with_backend(backend))
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "\x1b" not in out                                   # not a terminal: plain text
    assert "FAILED" not in out
    steps = steps_of(example)
    for line, _ in steps:                                      # each step printed, by its line
        assert re.search(rf"^\s*{line}\s", out, re.M), f"line {line} not printed"
    m = re.search(r"on (\w+): (\d+) steps, (\d+) expectations, (\d+) met, (\d+) failed$",
                  out.rstrip().splitlines()[-1])
    assert m, out.rstrip().splitlines()[-1]
    n_exp = expectations_of(example)
    assert m.groups() == (backend, str(len(steps)), str(n_exp), str(n_exp), "0")


@pytest.mark.parametrize("example", EXAMPLES, ids=EXAMPLE_IDS)
def test_run_prints_every_step_source_verbatim(example):
    """Plain output shows each line of the scenario exactly as written (brackets too)."""
    out = invoke("run", str(example)).stdout
    for line, body in steps_of(example):
        assert re.search(rf"^\s*{line}  {re.escape(body)}(\s|$)", out, re.M), \
            f"line {line} is not printed as written: {body!r}"


def test_run_format_json_parses_and_summarises_every_step():
    example = ROOT / "examples" / "nested-namespaces.pidlab"
    result = invoke("run", str(example), "--format", "json")
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    steps = steps_of(example)
    assert data["backend"] == "model"
    assert [e["line"] for e in data["events"]] == [n for n, _ in steps]
    assert data["summary"] == {"steps": len(steps), "expectations": 9, "met": 9, "failed": 0,
                               "unexpected_errors": 0, "error": None}
    leaf = next(e for e in data["events"] if e["source"].startswith("leaf = ns3.fork()"))
    # ns3's second process: pid 2 as ns3's init sees it (the example's expectation)
    assert leaf["result"] == {"outcome": "ok", "value": {"type": "Child", "pid": 2, "pidfd": None}}
    ns3_kill = next(e for e in data["events"] if e["source"].startswith("ns3.kill(4, 0)"))
    assert ns3_kill["result"] == {"outcome": "errno", "errno": "ESRCH"}


# ---------------------------------------------------------------- run: failures

FAILING = """\
# a scenario with one wrong expectation and one error nothing expected
c = init.fork() -> 2
c.getppid() -> 7
init.kill(99999, 0) -> ESRCH
init.kill(99999, 0)
"""


def test_failed_expectation_exits_1_and_names_the_line_and_the_expected_value(tmp_path):
    path = write(tmp_path, "wrong.pidlab", FAILING)
    result = invoke("run", str(path))
    assert result.exit_code == 1
    out = result.stdout
    # the first fork after init gets 2, its parent is init (1): line 3 expected 7
    failed = [ln for ln in out.splitlines() if "FAILED" in ln]
    assert len(failed) == 2, out
    assert re.match(r"^\s*3\s+c\.getppid\(\) -> 7\b", failed[0])
    assert "expected 7" in failed[0] and "got 1" in failed[0]
    # kill of a number nobody holds: ESRCH, and unexpected on line 5
    assert re.match(r"^\s*5\s+init\.kill\(99999, 0\)", failed[1])
    assert "ESRCH" in failed[1] and "unexpected" in failed[1]
    assert re.search(r"^\s*2\s+c = init\.fork\(\) -> 2 .*\bok$", out, re.M)
    assert re.search(r"^\s*4\s+init\.kill\(99999, 0\) -> ESRCH .*\bok$", out, re.M)
    assert re.search(r"4 steps, 3 expectations, 2 met, 1 failed, 1 unexpected errors?$", out.rstrip())


def test_failed_expectation_in_json_names_the_line_and_exits_1(tmp_path):
    path = write(tmp_path, "wrong.pidlab", FAILING)
    result = invoke("run", str(path), "--format", "json")
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    bad = [e for e in data["events"] if e["passed"] is False]
    assert [(e["line"], e["expect"], e["result"]) for e in bad] == [
        (3, "7", {"outcome": "ok", "value": 1})]
    assert data["summary"]["failed"] == 1 and data["summary"]["unexpected_errors"] == 1


@pytest.mark.parametrize("backend", ["model", "live"])
def test_failed_expectation_exits_1_on_both_backends(tmp_path, backend):
    path = write(tmp_path, "wrong.pidlab", "c = init.fork()\nc.getppid() -> 7\n")
    result = invoke("run", str(path), "--backend", with_backend(backend))
    assert result.exit_code == 1
    assert "expected 7, got 1" in result.stdout


def test_unbound_name_is_reported_with_file_and_line_and_exits_1(tmp_path):
    path = write(tmp_path, "unbound.pidlab", "init.fork()\nzz.getpid()\n")
    result = invoke("run", str(path))
    assert result.exit_code == 1
    assert f"{path}:2: 'zz' is not bound" in result.stdout


SYNTAX_ERRORS = [
    # (scenario, line, what the message must say was expected)
    ("c = init.fork()\nc.getpid() ->\n", 2, "expected a value or an errno after '->'"),
    ("# comment\n\nrepeat lots init.fork()\n", 3, "expected `repeat N CALL`"),
    ("init.fork()\nassert\n", 2, "expected an expression after 'assert'"),
    ("init.fork() init.fork()\n", 1, "expected a call like `init.fork()`"),
    ("x = 3\n", 1, "expected a system call like `init.fork()`"),
    ("init.fork()\ntree sideways\n", 2, "text, json, dot or svg"),
    ("init.frobnicate()\n", 1, "'frobnicate' is not a Task system call"),
]


@pytest.mark.parametrize("text,line,expected", SYNTAX_ERRORS,
                         ids=[f"line{n}-{e.split()[0]}" for _, n, e in SYNTAX_ERRORS])
def test_syntax_error_names_file_line_and_what_was_expected(tmp_path, text, line, expected):
    path = write(tmp_path, "bad.pidlab", text)
    proc = pidlab_cmd("run", str(path))
    assert proc.returncode == 1
    err = one_line_error(proc)
    assert f"{path}:{line}: " in err
    assert expected in err
    assert proc.stdout == ""                  # nothing ran: the file is parsed first


@pytest.mark.parametrize("bad", ["c = init.clone(CLONE_NEWPID", "init.fork())"],
                         ids=["unclosed", "extra-close"])
def test_unbalanced_parenthesis_names_the_line_and_what_was_expected(tmp_path, bad):
    path = write(tmp_path, "bad.pidlab", f"init.fork()\n{bad}\n")
    err = one_line_error(pidlab_cmd("run", str(path)))
    assert f"{path}:2: " in err
    # what the line needed (a closing parenthesis, or nothing after the call), not
    # the tokenizer's internal error tuple with its own line numbering
    assert "expected" in err, err
    assert "EOF in multi-line statement" not in err and "(2, 0)" not in err, err


@pytest.mark.parametrize("command", ["run", "tree", "compare"])
def test_unknown_file_is_one_line_naming_it(command):
    proc = pidlab_cmd(command, "no-such-scenario.pidlab")
    assert proc.returncode != 0
    err = one_line_error(proc)
    assert "no-such-scenario.pidlab" in err and "no such file" in err


def test_a_directory_is_one_line_error():
    err = one_line_error(pidlab_cmd("run", str(ROOT / "examples")))
    assert "examples" in err


def test_undecodable_scenario_file_is_one_line_naming_the_file(tmp_path):
    path = tmp_path / "binary.pidlab"
    path.write_bytes(b"\xff\xfe\x00init.fork()\n")
    err = one_line_error(pidlab_cmd("run", str(path)))
    assert str(path) in err, err


def test_scenario_text_that_looks_like_markup_is_printed_as_written(tmp_path):
    """Brackets are scenario text, not rich markup: printed verbatim, never a crash."""
    path = write(tmp_path, "brackets.pidlab",
                 'echo [bold]not bold[/bold] and [x]\n'
                 'init.read_text("/proc/[/x]/status") -> ENOENT\n')
    proc = pidlab_cmd("run", str(path))
    assert "Traceback" not in proc.stderr
    assert "[bold]not bold[/bold] and [x]" in proc.stdout, proc.stdout + proc.stderr
    assert 'init.read_text("/proc/[/x]/status") -> ENOENT' in proc.stdout, proc.stderr
    assert proc.returncode == 0, proc.stderr


def test_live_backend_unavailable_is_one_line(monkeypatch):
    _live_unavailable()                 # cache the real answer before LiveKernel is replaced
    def refuse():
        raise pidlab.BackendUnavailable("no pid namespaces for this test")
    monkeypatch.setattr(pidlab, "LiveKernel", refuse)
    result = invoke("run", "nested-namespaces", "--backend", "live")
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "live backend is not available" in lines[0]
    assert "no pid namespaces for this test" in lines[0]


# ---------------------------------------------------------------- traces

TRACE_KEYS = {"step", "line", "source", "backend", "kind", "call", "result", "expect", "passed"}


@pytest.fixture(scope="module")
def traces(tmp_path_factory) -> dict:
    """Every example traced on the model and, when it can start, on the live kernel."""
    base = tmp_path_factory.mktemp("traces")
    out: dict[tuple[str, str], Path] = {}
    backends = ["model"] + ([] if _live_unavailable() else ["live"])
    for ex in EXAMPLES:
        for backend in backends:
            path = base / f"{ex.stem}.{backend}.jsonl"
            result = invoke("run", str(ex), "--backend", backend, "--trace", str(path))
            assert result.exit_code == 0, result.output
            out[ex.stem, backend] = path
    return out


@pytest.mark.parametrize("backend", ["model", "live"])
@pytest.mark.parametrize("example", EXAMPLES, ids=EXAMPLE_IDS)
def test_trace_is_json_lines_one_event_per_step(traces, example, backend):
    with_backend(backend)
    events = read_jsonl(traces[example.stem, backend])
    steps = steps_of(example)
    assert len(events) == len(steps)
    for n, (ev, (line, body)) in enumerate(zip(events, steps), 1):
        assert set(ev) == TRACE_KEYS
        assert (ev["step"], ev["line"], ev["source"], ev["backend"]) == (n, line, body, backend)
        assert "outcome" in ev["result"]
        assert ev["passed"] in (True, None)


@pytest.mark.parametrize("example", EXAMPLES, ids=EXAMPLE_IDS)
def test_trace_has_the_same_shape_on_both_backends(traces, example):
    need_live()
    model = read_jsonl(traces[example.stem, "model"])
    live = read_jsonl(traces[example.stem, "live"])
    assert len(model) == len(live)
    for m, lv in zip(model, live):
        assert shape(m) == shape(lv), m["source"]
        assert (m["call"].get("task"), m["call"].get("method"), m["expect"]) == \
            (lv["call"].get("task"), lv["call"].get("method"), lv["expect"])


@pytest.mark.parametrize("example", EXAMPLES, ids=EXAMPLE_IDS)
def test_compare_traces_of_model_and_live_agree(traces, example):
    need_live()
    a, b = traces[example.stem, "model"], traces[example.stem, "live"]
    result = invoke("compare", "--trace", str(a), "--trace", str(b))
    assert result.exit_code == 0, result.stdout
    n = len(steps_of(example))
    assert result.stdout.rstrip().endswith(f"agree on all {n} steps")


def test_compare_traces_of_two_different_scripts_disagree_at_step_1(traces):
    a = traces["nested-namespaces", "model"]
    b = traces["pid-reuse-vs-pidfd", "model"]
    result = invoke("compare", "--trace", str(a), "--trace", str(b))
    assert result.exit_code == 1
    assert "first difference at step 1" in result.stdout
    # The two sides ran different steps: each is named with its line and source.
    assert "line 4: ns1 = init.clone(CLONE_NEWPID) -> 2" in result.stdout
    assert "line 3: ns = init.clone(CLONE_NEWPID)" in result.stdout
    data = json.loads(invoke("compare", "--format", "json", "--trace", str(a),
                             "--trace", str(b)).stdout)
    assert data["diverged"] is True and data["first_difference"]["step"] == 1


def test_compare_traces_shows_both_sides_of_the_diverging_step(tmp_path):
    a = write(tmp_path, "a.pidlab", "c = init.fork() -> 2\nc.getpid() -> 2\n")
    b = write(tmp_path, "b.pidlab", "c = init.fork() -> 2\ninit.fork() -> 3\n")
    for p in (a, b):
        assert invoke("run", str(p), "--trace", str(p.with_suffix(".jsonl"))).exit_code == 0
    result = invoke("compare", "--trace", str(a.with_suffix(".jsonl")),
                    "--trace", str(b.with_suffix(".jsonl")))
    assert result.exit_code == 1
    assert "first difference at step 2" in result.stdout
    # side by side: what each trace did at that step, not only the first trace's source
    assert "c.getpid() -> 2" in result.stdout
    assert "init.fork() -> 3" in result.stdout, result.stdout


def test_compare_traces_finds_a_changed_result_and_shows_both(traces, tmp_path):
    src = traces["nested-namespaces", "model"]
    events = read_jsonl(src)
    idx = next(i for i, e in enumerate(events) if e["source"].startswith("ns3.kill(4, 0)"))
    events[idx]["result"] = {"outcome": "ok", "value": None}      # as if 4 were visible
    edited = tmp_path / "edited.jsonl"
    edited.write_text("".join(json.dumps(e) + "\n" for e in events))
    result = invoke("compare", "--trace", str(src), "--trace", str(edited))
    assert result.exit_code == 1
    out = result.stdout
    assert f"first difference at step {idx + 1} (line 12): ns3.kill(4, 0) -> ESRCH" in out
    assert re.search(r"^\s+\S+: ESRCH$", out, re.M)
    assert out.count("  same") == idx                              # the steps before agreed


def test_compare_rejects_a_file_that_is_not_a_trace(tmp_path, traces):
    bad = write(tmp_path, "bad.jsonl", '{"step": 1}\n')
    proc = pidlab_cmd("compare", "--trace", str(bad), "--trace",
                      str(traces["nested-namespaces", "model"]))
    err = one_line_error(proc)
    assert f"{bad}:1: " in err
    notjson = write(tmp_path, "notjson.jsonl", "hello\n")
    err = one_line_error(pidlab_cmd("compare", "--trace", str(notjson), "--trace", str(bad)))
    assert f"{notjson}:1: not a JSON line" in err


def test_compare_needs_a_script_or_two_traces(traces):
    assert invoke("compare").exit_code == 2
    assert invoke("compare", "--trace", str(traces["nested-namespaces", "model"])).exit_code == 2


# ---------------------------------------------------------------- compare SCRIPT

@pytest.mark.parametrize("example", EXAMPLES, ids=EXAMPLE_IDS)
def test_compare_every_example_model_and_live_agree(example):
    need_live()
    result = invoke("compare", str(example))
    assert result.exit_code == 0, result.stdout
    n = len(steps_of(example))
    assert result.stdout.rstrip().endswith(f"model and live agree on all {n} steps")
    assert result.stdout.count("  same") == n


def test_compare_format_json_parses():
    need_live()
    result = invoke("compare", "nested-namespaces", "--format", "json")
    assert result.exit_code == 0
    assert json.loads(result.stdout) == {"sides": ["model", "live"], "steps": 12,
                                         "diverged": False, "first_difference": None}


def test_compare_a_script_with_the_check_directive_agrees(tmp_path):
    """`check` verifies the model's invariants; it is not a kernel behaviour to compare."""
    need_live()
    path = write(tmp_path, "check.pidlab", "c = init.fork() -> 2\ncheck\nc.getppid() -> 1\n")
    result = invoke("compare", str(path))
    assert result.exit_code == 0, result.stdout


# ---------------------------------------------------------------- shell from a pipe

def test_shell_from_a_pipe_runs_lines_and_shows_ps_and_tree():
    result = invoke("shell", input="c = init.fork()\nc.getppid() -> 1\nps\ntree\nnames\n")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "\x1b" not in out
    assert re.search(r"^\s*1\s+c = init\.fork\(\)\s+=> Child\(pid=2\)$", out, re.M)
    assert re.search(r"^\s*2\s+c\.getppid\(\) -> 1\s+=> 1\s+ok$", out, re.M)
    # ps: init (1, no parent) and c (2, child of 1)
    assert re.search(r"^1\s+1\s+ns0\s+0\s+1\s+\w+\s+\w+", out, re.M)
    assert re.search(r"^2\s+2\s+ns0\s+1\s+2\s+\w+\s+\w+", out, re.M)
    assert re.search(r"^\s+└─ 2\s+S\s+ns0", out, re.M)           # tree: 2 under 1
    assert "c = Child(pid=2)" in out                              # names


@pytest.mark.parametrize("backend", ["model", "live"])
def test_shell_from_a_pipe_exits_1_on_a_failed_expectation(backend):
    result = invoke("shell", "--backend", with_backend(backend),
                    input="c = init.fork()\nc.getppid() -> 5\nc.getppid() -> 1\n")
    assert result.exit_code == 1
    assert "expected 5, got 1" in result.stdout
    assert re.search(r"^\s*3\s+c\.getppid\(\) -> 1\s+=> 1\s+ok$", result.stdout, re.M)


def test_shell_from_a_pipe_reports_a_syntax_error_by_line_and_exits_1():
    result = invoke("shell", input="init.fork()\nc = init.fork() ->\ninit.getpid() -> 1\n")
    assert result.exit_code == 1
    assert "line 2: expected a value or an errno after '->'" in result.stdout
    assert re.search(r"^\s*3\s+init\.getpid\(\) -> 1\s+=> 1\s+ok$", result.stdout, re.M)


def test_shell_quit_stops_reading():
    result = invoke("shell", input="init.getpid() -> 1\nquit\ninit.getpid() -> 99\n")
    assert result.exit_code == 0
    assert "99" not in result.stdout


def test_shell_subprocess_from_a_pipe():
    proc = pidlab_cmd("shell", input="init.kill(99999, 0) -> ESRCH\n")
    assert proc.returncode == 0 and "ESRCH" in proc.stdout and proc.stderr == ""
    proc = pidlab_cmd("shell", input="init.kill(99999, 0) -> 0\n")
    assert proc.returncode == 1 and "Traceback" not in proc.stderr


# ---------------------------------------------------------------- shell on a terminal

def _spawn(args: list[str], tmp_path: Path):
    pexpect = pytest.importorskip("pexpect", reason="pexpect is not installed (test extra)")
    env = {k: v for k, v in os.environ.items() if k not in ("PIDLAB_DEBUG", "NO_COLOR")}
    env.update(PIDLAB_HISTORY=str(tmp_path / "history"), TERM="xterm",
               PROMPT_TOOLKIT_NO_CPR="1", COLUMNS="120", LINES="40")
    child = pexpect.spawn(sys.executable, ["-m", "pidlab", *args], env=env, cwd=str(ROOT),
                          encoding="utf-8", timeout=20, dimensions=(40, 120))
    return pexpect, child


def _finish(pexpect, child) -> None:
    child.expect(pexpect.EOF)
    child.close()


def test_interactive_shell_completes_recalls_and_draws(tmp_path):
    pexpect, sh = _spawn(["shell"], tmp_path)
    seen = []
    sh.logfile_read = _Sink(seen)
    try:
        prompt = "pidlab>"
        sh.expect_exact(prompt)
        sh.sendline("child = init.fork()")
        sh.expect_exact("Child(pid=2)")
        sh.expect_exact(prompt)
        sh.send("chi\t")                         # a bound task name
        sh.expect_exact("child")
        sh.send(".getpp\t")                      # a method after `name.`
        sh.expect_exact("getppid")
        sh.send("()\r")
        sh.expect(r"⇒\S*\s*\S*1")
        sh.expect_exact(prompt)
        sh.send("\x1b[A")                        # Up: the last line again
        sh.expect_exact("child.getppid()")
        sh.send("\r")
        sh.expect(r"⇒\S*\s*\S*1")
        sh.expect_exact(prompt)
        sh.send("tr\t")                          # a command word
        sh.expect_exact("ee")
        sh.send("\r")
        sh.expect_exact("init of ns0")
        sh.expect_exact(prompt)
        sh.sendline("ps")
        sh.expect_exact("PPID")
        sh.expect_exact(prompt)
        sh.sendcontrol("d")                      # Ctrl-D leaves
        _finish(pexpect, sh)
    finally:
        if sh.isalive():
            sh.terminate(force=True)
    assert sh.exitstatus == 0
    text = ANSI.sub("", "".join(seen))
    lines = [ln.strip() for ln in text.replace("\r", "\n").splitlines()]
    # the completed line ran as `child.getppid()` (step 2), the recalled one as step 3
    assert any(re.fullmatch(r"2\s+child\.getppid\(\)\s+⇒ 1", ln) for ln in lines), lines
    assert any(re.fullmatch(r"3\s+child\.getppid\(\)\s+⇒ 1", ln) for ln in lines), lines
    assert any(re.fullmatch(r"4\s+tree", ln) for ln in lines), lines
    assert any(re.match(r"2\s+2\s+ns0\s+1\s+2\s", ln) for ln in lines), lines   # ps row of c
    history = (tmp_path / "history").read_text()
    for line in ("child = init.fork()", "child.getppid()", "tree", "ps"):
        assert f"\n+{line}\n" in history


def test_interactive_shell_history_persists_across_sessions(tmp_path):
    (tmp_path / "history").write_text("\n# earlier session\n+init.getpid() -> 1\n")
    pexpect, sh = _spawn(["shell"], tmp_path)
    try:
        sh.expect_exact("pidlab>")
        sh.send("\x1b[A")
        sh.expect_exact("init.getpid() -> 1")
        sh.send("\r")
        sh.expect_exact("✓")                    # the expectation held (rich mark)
        sh.expect_exact("pidlab>")
        sh.sendcontrol("d")
        _finish(pexpect, sh)
    finally:
        if sh.isalive():
            sh.terminate(force=True)
    assert sh.exitstatus == 0


class _Sink:
    """A pexpect log that keeps everything the child printed."""

    def __init__(self, out: list[str]) -> None:
        self.out = out

    def write(self, s: str) -> None:
        self.out.append(s)

    def flush(self) -> None:
        pass


def test_run_on_a_terminal_is_rich(tmp_path):
    pexpect, p = _spawn(["run", "nested-namespaces"], tmp_path)
    seen: list[str] = []
    p.logfile_read = _Sink(seen)
    _finish(pexpect, p)
    out = "".join(seen)
    assert p.exitstatus == 0
    assert re.search(r"\x1b\[[0-9;]*m", out), "no colour on a terminal"
    assert "⇒" in out                                        # rich arrows, not plain "=>"


# ---------------------------------------------------------------- tree

NESTED_ROWS = ["1", "2/1", "3/2/1", "4/3/2/1", "5/4/3/2"]


def test_tree_text_shows_every_number_of_every_level():
    result = invoke("tree")                          # default: nested-namespaces
    assert result.exit_code == 0
    out = result.stdout
    assert "\x1b" not in out
    for level in range(4):
        assert re.search(rf"ns{level}\s+level {level}, ", out), level
    assert "PID: the number at every level, outermost first" in out
    rows = re.findall(r"^\s+(?:[│ ]*└─ )?([\d/]+)\s+S\s+(ns\d)", out, re.M)
    # ns1's init is 2 outside, 1 inside; each nested init is 2 in its parent; the
    # leaf is (5, 4, 3, 2) and lives in ns3 with ns3's init
    assert rows == [(n, f"ns{min(i, 3)}") for i, n in enumerate(NESTED_ROWS)]


def test_tree_dot_is_graphviz_with_nested_clusters():
    result = invoke("tree", "--format", "dot")
    assert result.exit_code == 0
    dot = result.stdout
    assert dot.startswith("digraph ") and dot.rstrip().endswith("}")
    depth, cluster_depth, nodes, edges = 0, {}, {}, []
    for line in dot.splitlines():
        m = re.match(r"\s*subgraph (cluster_\w+) \{$", line)
        if m:
            cluster_depth[m.group(1)] = depth
        m = re.match(r'\s*(t\d+) \[label="([^"]*)"', line)
        if m:
            nodes[m.group(1)] = m.group(2)
        m = re.match(r"\s*(t\d+) -> (t\d+)", line)
        if m:
            edges.append(m.groups())
        depth += line.count("{") - line.count("}")
        assert depth >= 0
    assert depth == 0
    assert cluster_depth == {"cluster_ns0": 1, "cluster_ns1": 2, "cluster_ns2": 3,
                             "cluster_ns3": 4}
    labels = {k: v.split("\\n")[0].replace(" | ", "/") for k, v in nodes.items()}
    assert labels == {f"t{i}": row for i, row in enumerate(NESTED_ROWS, 1)}
    assert edges == [("t1", "t2"), ("t2", "t3"), ("t3", "t4"), ("t4", "t5")]
    assert all(a in nodes and b in nodes for a, b in edges)


@pytest.mark.parametrize("example", EXAMPLES, ids=EXAMPLE_IDS)
def test_tree_live_json_equals_the_model_apart_from_inodes(example):
    need_live()
    model = invoke("tree", str(example), "--format", "json")
    live = invoke("tree", str(example), "--format", "json", "--backend", "live")
    assert model.exit_code == live.exit_code == 0, live.output
    assert without_inodes(json.loads(live.stdout)) == without_inodes(json.loads(model.stdout))


def test_tree_of_a_failing_scenario_is_one_line_naming_the_step(tmp_path):
    path = write(tmp_path, "wrong.pidlab", FAILING)
    err = one_line_error(pidlab_cmd("tree", str(path)))
    assert f"{path}:3: c.getppid() -> 7 failed" in err


def test_tree_output_file_holds_the_same_drawing(tmp_path):
    out = tmp_path / "t.dot"
    result = invoke("tree", "--format", "dot", "-o", str(out))
    assert result.exit_code == 0 and result.stdout == ""
    assert out.read_text() == invoke("tree", "--format", "dot").stdout


# ---------------------------------------------------------------- conformance

def _two_scenario_tests() -> list[str]:
    proc = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q",
                           "-p", "no:cacheprovider", "-o", "addopts=", str(SCENARIOS)],
                          capture_output=True, text=True, cwd=ROOT, timeout=120)
    names = []
    for line in proc.stdout.splitlines():
        m = re.match(r"\S+::(test_\w+)", line)
        if m and m.group(1) not in names:
            names.append(m.group(1))
    if len(names) < 2:
        pytest.skip(f"the conformance suite in {SCENARIOS} has fewer than two tests yet")
    return names[:2]


needs_scenarios = pytest.mark.skipif(
    not SCENARIOS.is_dir(),
    reason=f"{SCENARIOS.relative_to(ROOT)} does not exist yet (the conformance suite is "
           "being written); the test runs once it does")


@needs_scenarios
def test_conformance_json_has_one_row_per_behaviour_and_a_summary():
    names = _two_scenario_tests()
    proc = pidlab_cmd("conformance", "--format", "json", "-k", " or ".join(names), timeout=110)
    assert "Traceback" not in proc.stderr
    data = json.loads(proc.stdout)
    rows, summary = data["rows"], data["summary"]
    selected = {r["behaviour"].split("::")[-1].split("[")[0] for r in rows}
    assert set(names) <= selected                               # -k matches substrings
    assert all(any(n in b for n in names) for b in selected)
    assert len({r["behaviour"] for r in rows}) == len(rows)     # one row per behaviour
    for r in rows:
        assert {"behaviour", "model", "live", "agree"} <= r.keys()
        assert r["agree"] in (True, False, None)
        assert {"outcome", "detail"} <= r["model"].keys() and "outcome" in r["live"]
    assert set(summary) == {"behaviours", "agree", "differ", "one_backend_only"}
    assert summary["behaviours"] == len(rows)
    assert summary["agree"] == sum(r["agree"] is True for r in rows)
    assert summary["differ"] == sum(r["agree"] is False for r in rows)
    assert summary["one_backend_only"] == sum(r["agree"] is None for r in rows)
    assert (proc.returncode == 0) == (summary["differ"] == 0) == data["ok"]


@needs_scenarios
def test_conformance_table_ends_with_the_summary_line():
    names = _two_scenario_tests()
    proc = pidlab_cmd("conformance", "-k", " or ".join(names), timeout=110)
    assert "Traceback" not in proc.stderr and "\x1b" not in proc.stdout
    last = proc.stdout.rstrip().splitlines()[-1]
    m = re.fullmatch(r"(\d+) behaviours: (\d+) agree, (\d+) differ, (\d+) shown on one "
                     r"backend only", last)
    assert m, last
    total, agree, differ, single = map(int, m.groups())
    assert total == agree + differ + single >= len(names)
    assert proc.returncode == (0 if differ == 0 else 1)
    header = proc.stdout.splitlines()[0].split()
    assert header == ["behaviour", "model", "live", "agree"]


# ---------------------------------------------------------------- demo

def test_demo_tours_every_topic_and_exits_0():
    result = invoke("demo")
    assert result.exit_code == 0
    out = result.stdout
    assert "\x1b" not in out
    low = out.lower()
    for topic in ("nested pid namespaces", "pid_max", "pidfd", "file handle",
                  "exit information", "init dies"):
        assert topic in low, topic
    # the nested chain: each level's init is 1 inside; the child is (5, 4, 3, 2)
    assert re.search(r"its child\s+2\s+5 / 4 / 3 / 2", out)
    # outer pid_max 310 leaves 3..309 (307 numbers) for the inner init, then EAGAIN
    assert "307 children" in out and "Resource temporarily unavailable" in out
    # ns_last_pid 396, pid_max 400: 397, 398, 399, then the wrap to RESERVED_PIDS = 300
    assert "397, 398, 399, 300, 301" in out
    assert "No such process" in out                      # a pidfd of a reaped process: ESRCH
    assert "same inode: True" in out and "Stale file handle" in out
    assert "0x700 (exit status 7)" in out
    assert "Cannot allocate memory" in out               # fork into a dead namespace: ENOMEM
    assert "Every invariant of the model holds" in out


def test_demo_as_json_has_every_screen_with_what_it_showed():
    result = invoke("demo", "--format", "json")
    assert result.exit_code == 0
    doc = json.loads(result.stdout)
    screens = doc["screens"]
    assert [s["screen"] for s in screens] == list(range(1, 8))
    assert screens[0]["title"] == "Nested pid namespaces"
    table = screens[0]["shows"][0]
    assert table["rows"][-1] == ["its child", "2", "5 / 4 / 3 / 2"]
    tree = next(item["tree"] for item in screens[0]["shows"] if "tree" in item)
    assert [t["numbers"] for t in tree["tasks"]][-1] == [5, 4, 3, 2]
    texts = " ".join(item.get("text", "") for s in screens for item in s["shows"])
    assert "397, 398, 399, 300, 301" in texts and "Cannot allocate memory" in texts
    assert "[bold" not in texts                          # plain text, no markup


def test_demo_on_a_terminal_is_rich(tmp_path):
    pexpect, p = _spawn(["demo"], tmp_path)
    seen: list[str] = []
    p.logfile_read = _Sink(seen)
    _finish(pexpect, p)
    assert p.exitstatus == 0
    assert re.search(r"\x1b\[[0-9;]*m", "".join(seen))


# ---------------------------------------------------------------- plain output

@pytest.mark.parametrize("args", [
    ("run", "nested-namespaces"), ("tree",), ("demo",), ("shell",),
    ("compare", "--trace", "{a}", "--trace", "{a}")], ids=lambda a: a[0])
def test_output_off_a_terminal_has_no_escape_codes(args, tmp_path):
    trace = tmp_path / "a.jsonl"
    invoke("run", "nested-namespaces", "--trace", str(trace))
    args = [a.format(a=trace) for a in args]
    result = invoke(*args, input="init.fork()\ntree\nps\n")
    assert result.exit_code == 0, result.output
    assert result.stdout and "\x1b" not in result.stdout


def test_shell_json_format_prints_one_trace_event_per_line():
    result = invoke("shell", "--format", "json",
                    input="c = init.fork()\nc.getppid() -> 1\nbogus\n")
    assert result.exit_code == 1                 # the bad line is a failure
    events = [json.loads(line) for line in result.stdout.splitlines()]
    assert [e["step"] for e in events] == [1, 2, 3]
    assert events[0]["result"] == {"outcome": "ok",
                                   "value": {"type": "Child", "pid": 2, "pidfd": None}}
    assert events[1]["passed"] is True
    assert events[2]["result"]["outcome"] == "script-error"
