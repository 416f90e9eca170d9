"""What every command shares: output, backends, scenario files."""

from __future__ import annotations

import contextlib
import json
import os
import sys
from importlib import resources
from typing import Any, Iterator

import click
from rich.console import Console

from .. import script
from ..api import BackendUnavailable

BACKENDS = ("model", "live")


def console(stderr: bool = False) -> Console:
    """Rich output on a terminal; plain text (no colour, no markup codes) otherwise."""
    stream = sys.stderr if stderr else sys.stdout
    if stream.isatty():
        return Console(file=stream, highlight=False)
    # markup=False: scenario text such as `ns.poll([a, b])` is printed as written.
    return Console(file=stream, no_color=True, highlight=False, emoji=False, width=200,
                   force_terminal=False, soft_wrap=True, markup=False)


def is_rich(con: Console) -> bool:
    return con.is_terminal


def emit_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, default=str))


def kernel_option(help_text: str = "Linux version the model stands for (6.1 ... 6.19, or with "
                                    "a sublevel: 6.18.13); with --backend live, the live kernel "
                                    "of that series (this machine's, or Debian's 6.1 or 6.12 in "
                                    "pidlab's virtual machine).") -> Any:
    return click.option("--kernel", "kernel", metavar="VERSION", default=None,
                        callback=_check_version, help=help_text)


def parse_kernel_spec(spec: str) -> tuple[str, dict[str, bool]]:
    """VERSION[+KEY=0|1,...]: a version pidlab knows (6.16, or an exact release such as
    6.16.0) with upstream changes switched off or on; ValueError saying what is wrong."""
    from .. import versions
    version, _, rest = spec.partition("+")
    versions.parse(version)
    changes: dict[str, bool] = {}
    known = versions.by_key()
    for item in filter(None, rest.split(",")):
        key, eq, value = item.partition("=")
        if not eq or value not in ("0", "1"):
            raise ValueError(f"expected KEY=0 or KEY=1 after '+', got {item!r}")
        if key not in known:
            raise ValueError(f"no change {key!r} (pidlab features lists them)")
        changes[key] = value == "1"
    versions.changeset(version, changes)    # a combination the model cannot run: ValueError
    return version, changes


def check_kernel_spec(ctx: Any, param: Any, value: Any) -> Any:
    """--kernel VERSION[+KEY=0|1,...] of the commands that run the model with changes switched."""
    for v in (value if isinstance(value, tuple) else (value,)):
        if v is not None:
            try:
                parse_kernel_spec(v)
            except ValueError as e:
                raise click.BadParameter(f"{v}: {e}") from None
    return value


def _check_version(ctx: Any, param: Any, value: Any) -> Any:
    from .. import versions
    for v in (value if isinstance(value, tuple) else (value,)):
        if v is None:
            continue
        try:
            versions.parse(v)
        except ValueError as e:
            raise click.BadParameter(str(e)) from None
    return value


@contextlib.contextmanager
def backend(name: str, version: str | None = None) -> Iterator[Any]:
    """A fresh kernel of the named backend (the model at `version`, or the live kernel of
    that series); a one-line error when it cannot start."""
    import pidlab
    if name == "model":
        with (pidlab.Kernel(version=version) if version else pidlab.Kernel()) as k:
            yield k
        return
    try:
        if version is None:
            k = pidlab.LiveKernel()
        else:
            k = pidlab.LiveKernel(kernel=".".join(version.split(".")[:2]))
    except BackendUnavailable as e:
        raise click.ClickException(f"the live backend is not available here: {e}") from None
    with k:
        yield k


def backend_label(name: str, version: str | None) -> str:
    return name if version is None else f"{name} {version}"


def examples() -> dict[str, str]:
    """The example scenarios shipped with pidlab: name -> path."""
    base = resources.files("pidlab") / "examples"
    return {p.name.removesuffix(".pidlab"): str(p) for p in sorted(base.iterdir(), key=str)
            if p.name.endswith(".pidlab")}


def resolve_script(path: str) -> str:
    """A file path, or the name of a shipped example."""
    if os.path.exists(path):
        return path
    ex = examples()
    name = os.path.basename(path).removesuffix(".pidlab")
    if name in ex and os.sep not in path.rstrip(os.sep).removeprefix("examples" + os.sep):
        return ex[name]
    raise click.ClickException(f"{path}: no such file (examples: {', '.join(ex)})")


def load(path: str) -> tuple[str, list[script.Step]]:
    """The steps of a scenario file, a shipped example, or `-` (standard input);
    every mistake of the file is reported, one line each, before anything runs."""
    if path == "-":
        name = "<stdin>"
        try:
            text = sys.stdin.read()
        except UnicodeDecodeError as e:
            raise click.ClickException(f"{name}: not UTF-8 text (byte {e.start}: "
                                       f"{e.reason})") from None
    else:
        name = path
        real = resolve_script(path)
        try:
            with open(real, encoding="utf-8") as f:
                text = f.read()
        except OSError as e:
            raise click.ClickException(f"{path}: {e.strerror}") from None
        except UnicodeDecodeError as e:
            raise click.ClickException(f"{path}: not a UTF-8 text file (byte {e.start}: "
                                       f"{e.reason})") from None
    try:
        return name, script.parse(text, name)
    except script.ScriptError as e:
        raise click.ClickException("\n".join(str(x) for x in e.errors)) from None
