"""Differential fuzzing in make test: the lockstep machine of pidlab.fuzz, a bounded run.

The machine (pidlab/fuzz.py) drives the model and the live kernel with the same
calls and compares every result, every errno and the /proc/self/status of every
task that can read it.  CI runs a bounded number of examples; set
PIDLAB_FUZZ_EXAMPLES for more (and PIDLAB_FUZZ_STEPS for longer sequences;
PIDLAB_FUZZ_STEPLOG names a file that gets the number of steps of every example).
PIDLAB_FUZZ_KERNEL=6.1 (or 6.12) runs the live side in pidlab's virtual machine of
that kernel instead of the running one; either way the model is built at the live
kernel's own version.  Every divergence it finds becomes a named regression test in
test_fuzz_regressions.py.  `pidlab fuzz --jobs N` runs longer campaigns, sharded.

A long campaign must run with SIGINT at its default: a background job (`cmd &`,
nohup) inherits it ignored, and the live agents then catch signals with no
sa_restorer (see test_regression_live_agents_catch_signals_when_started_with_sigint_ignored).
"""

from __future__ import annotations

import os

import pytest

pytest.importorskip("hypothesis", reason="the fuzzer needs hypothesis (pip install 'pidlab[fuzz]')")

from hypothesis import HealthCheck, settings  # noqa: E402

from pidlab import fuzz  # noqa: E402

EXAMPLES = int(os.environ.get("PIDLAB_FUZZ_EXAMPLES", "12"))
STEPS = int(os.environ.get("PIDLAB_FUZZ_STEPS", "30"))
STEPLOG = os.environ.get("PIDLAB_FUZZ_STEPLOG")    # a campaign's record: one line per example
KERNEL = os.environ.get("PIDLAB_FUZZ_KERNEL") or None   # a guest series; None: the running kernel


class LockstepMachine(fuzz.LockstepMachine):
    kernel = KERNEL
    steplog = STEPLOG

    def unavailable(self, reason: str):
        pytest.skip(reason)


LockstepMachine.TestCase.settings = settings(
    max_examples=EXAMPLES, stateful_step_count=STEPS, deadline=None,
    suppress_health_check=list(HealthCheck), derandomize=False)
TestLockstep = LockstepMachine.TestCase
