"""The executable model of Linux 6.18's PID subsystem, one module per kernel concern."""

from .kernel import Kernel, Task

__all__ = ["Kernel", "Task"]
