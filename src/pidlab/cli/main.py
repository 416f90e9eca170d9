"""pidlab: the command line."""

from __future__ import annotations

import os
import sys

import click

from .bench import bench
from .conformance import conformance
from .demo import demo
from .run import compare, run
from .shell import shell
from .tree import tree


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="pidlab")
def cli() -> None:
    """Linux 6.18's PID subsystem: an executable model, held to the real kernel.

    Every command runs on the model unless told --backend live; `compare` and
    `conformance` run both and show where they differ.
    """


for command in (demo, run, compare, shell, tree, conformance, bench):
    cli.add_command(command)


def main(argv: list[str] | None = None) -> None:
    """Entry point: errors are one line, never a traceback (PIDLAB_DEBUG=1 shows it)."""
    try:
        cli.main(args=argv, prog_name="pidlab", standalone_mode=True)
    except KeyboardInterrupt:
        click.echo("pidlab: interrupted", err=True)
        sys.exit(130)
    except Exception as e:           # noqa: BLE001 -- the promise is one line per error
        if os.environ.get("PIDLAB_DEBUG"):
            raise
        click.echo(f"pidlab: error: {type(e).__name__}: {e}", err=True)
        sys.exit(1)


if __name__ == "__main__":
    main()
