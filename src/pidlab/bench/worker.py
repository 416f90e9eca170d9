"""Runs one model benchmark in a fresh interpreter and prints its result as JSON.

    python -m pidlab.bench.worker scale N [WRAP_CYCLES]
"""

from __future__ import annotations

import json
import sys

from . import model


def main(argv: list[str]) -> int:
    if len(argv) >= 2 and argv[0] == "scale":
        wrap_cycles = int(argv[2]) if len(argv) > 2 else 0
        print(json.dumps(model.scale(int(argv[1]), wrap_cycles)))
        return 0
    print("usage: python -m pidlab.bench.worker scale N [WRAP_CYCLES]", file=sys.stderr)
    return 64


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
