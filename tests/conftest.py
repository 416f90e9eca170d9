"""pidlab's own tests beyond the conformance scenarios (fuzzer, CLI, benchmarks)."""

from pidlab.conformance.helpers import kernel, model  # noqa: F401  (fixtures)
