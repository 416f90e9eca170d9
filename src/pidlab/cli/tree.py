"""pidlab tree: draw processes and pid namespaces."""

from __future__ import annotations

import click

from .. import render, script
from .common import BACKENDS, backend, backend_label, console, is_rich, kernel_option, load

DEFAULT_SCENARIO = "nested-namespaces"


@click.command()
@click.argument("script_path", metavar="[SCRIPT]", required=False)
@click.option("--format", "fmt", type=click.Choice(render.FORMATS), default="text",
              show_default=True, help="text (rich on a terminal), Graphviz dot, SVG or JSON.")
@click.option("--backend", "backend_name", type=click.Choice(BACKENDS), default="model",
              show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True),
              help="Write the drawing to this file instead of stdout.")
@kernel_option()
def tree(script_path: str | None, fmt: str, backend_name: str, output: str | None,
         kernel: str | None) -> None:
    """Draw every task and pid namespace after running SCRIPT.

    Each task shows its pid in every namespace from the outermost down to its
    own.  Without SCRIPT, the shipped `nested-namespaces` example is played
    first.  Exits 1 if a step of the scenario fails.
    """
    name, steps = load(script_path or DEFAULT_SCENARIO)
    with backend(backend_name, kernel) as k:
        runner = script.Runner(k, name)
        for step in steps:
            try:
                out = runner.step(step)
            except script.ScriptError as e:
                raise click.ClickException(str(e)) from None
            if out.failed:
                raise click.ClickException(
                    f"{name}:{step.line}: {step.source} failed ({out.describe()})")
        views = k.snapshot()
        labels = bound_names(runner)
    title = f"pidlab · {name} · {backend_label(backend_name, kernel)}"
    if output:
        try:
            with open(output, "w", encoding="utf-8") as f:
                f.write(render.render(views, fmt, title, labels=labels))
        except OSError as e:
            raise click.ClickException(f"{output}: {e.strerror}") from None
        return
    con = console()
    if fmt == "text" and is_rich(con):
        con.print(render.to_rich(views, labels=labels))
    else:
        click.echo(render.render(views, fmt, title, labels=labels), nl=False)


def bound_names(runner: script.Runner) -> dict[int, list[str]]:
    """The names the scenario bound to each task still alive, by its top-level pid number.

    A name whose task has been reaped is left out (`numbers` is empty then): its number may
    already belong to another task.  The predefined `init` is not a binding of the scenario's
    (the card of pid 1 says init of ns0 already); a scenario that rebinds the name shows it."""
    out: dict[int, list[str]] = {}
    for name, task in runner.env.task_names().items():
        if name == "init" and name not in runner.env.names:
            continue
        numbers = task.numbers
        if numbers:
            out.setdefault(numbers[0], []).append(name)
    return out
