"""The same API on the running kernel: real tasks in a fresh pid namespace."""

from .kernel import LiveKernel, LiveTask, LiveTimeout

__all__ = ["LiveKernel", "LiveTask", "LiveTimeout"]
