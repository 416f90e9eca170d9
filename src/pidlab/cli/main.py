"""pidlab: the command line."""

from __future__ import annotations

import errno
import os
import sys

import click

from .. import script
from .bench import bench
from .conformance import conformance
from .demo import demo
from .explore import explore, replay
from .features import detect, features
from .fuzz import fuzz
from .run import compare, run
from .shell import shell
from .stress import stress
from .tree import tree


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="pidlab")
def cli() -> None:
    """Linux's PID subsystem, 6.1 to 6.19: an executable model, held to real kernels.

    Every command runs on the model (Linux 6.18 unless told --kernel VERSION) unless
    told --backend live; `compare` and `conformance` run both and show where they
    differ; `features` says which version does what, `detect` which version a live
    kernel behaves like.  `pidlab help language` is the reference of the scenario
    language.
    """


@click.command("help")
@click.argument("topic", required=False)
@click.pass_context
def help_command(ctx: click.Context, topic: str | None) -> None:
    """The reference of the scenario language, or the help of a command.

    `pidlab help` lists the topics; `pidlab help language` prints the whole
    reference (steps, expressions, every system call, the /proc files, the
    constants), generated from the Task API and the model itself.
    """
    group = ctx.parent.command if ctx.parent is not None else cli
    commands = getattr(group, "commands", {})
    if topic is None:
        click.echo("Help topics (pidlab help TOPIC):")
        for name, what in script.TOPICS.items():
            click.echo(f"  {name:<13}{what}")
        click.echo("Commands (pidlab help COMMAND is COMMAND --help):")
        for name in sorted(commands):
            if name != "help":
                click.echo(f"  {name:<13}{commands[name].get_short_help_str(70)}")
        return
    if topic in script.TOPICS:
        click.echo(script.reference(topic), nl=False)
        return
    if topic in commands and topic != "help":
        sub = commands[topic]
        with click.Context(sub, info_name=topic, parent=ctx.parent) as sub_ctx:
            click.echo(sub.get_help(sub_ctx))
        return
    raise click.UsageError(f"no help topic or command {topic!r}; topics: "
                           f"{', '.join(script.TOPICS)}; commands: "
                           f"{', '.join(sorted(n for n in commands if n != 'help'))}")


for command in (demo, run, compare, shell, tree, conformance, features, detect, bench,
                explore, replay, stress, help_command):
    cli.add_command(command)
cli.add_command(fuzz)


def main(argv: list[str] | None = None) -> None:
    """Entry point: errors are one line, never a traceback (PIDLAB_DEBUG=1 shows it).

    Ctrl-C outside a scenario step (a step holds it until its next boundary)
    ends the command with status 130, the shell's convention for SIGINT."""
    try:
        rv = cli.main(args=argv, prog_name="pidlab", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("pidlab: interrupted", err=True)
        sys.exit(130)
    except click.ClickException as e:
        e.show()
        sys.exit(e.exit_code)
    except OSError as e:
        if e.errno == errno.EPIPE:          # the reader went away (pidlab ... | head)
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            sys.exit(1)
        if os.environ.get("PIDLAB_DEBUG"):
            raise
        click.echo(f"pidlab: error: {type(e).__name__}: {e}", err=True)
        sys.exit(1)
    except KeyboardInterrupt:
        click.echo("pidlab: interrupted", err=True)
        sys.exit(130)
    except Exception as e:           # noqa: BLE001 -- the promise is one line per error
        if os.environ.get("PIDLAB_DEBUG"):
            raise
        click.echo(f"pidlab: error: {type(e).__name__}: {e}", err=True)
        sys.exit(1)
    sys.exit(rv if isinstance(rv, int) else 0)


if __name__ == "__main__":
    main()
