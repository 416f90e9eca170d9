"""pidlab: the command line."""

from __future__ import annotations

import click

from .demo import demo


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="pidlab")
def main() -> None:
    """Linux 6.18's PID subsystem: an executable model, held to the real kernel."""


main.add_command(demo)


if __name__ == "__main__":
    main()
