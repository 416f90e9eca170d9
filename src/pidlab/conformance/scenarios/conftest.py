"""The conformance scenarios: every test runs on the model and on the live kernel."""

from pidlab.conformance.helpers import kernel, model  # noqa: F401  (fixtures)
