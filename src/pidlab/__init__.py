"""pidlab: Linux 6.18's PID subsystem as an executable Python model, held to the real kernel.

    import pidlab
    k = pidlab.Kernel()                 # the model
    with pidlab.LiveKernel() as k:      # the running kernel, in a fresh pid namespace
        ...
"""

from . import constants as _constants
from .api import (BackendUnavailable, Child, FileHandle, InvariantError, PidfdInfo,
                  PidlabError, StatfsResult, StatResult, TaskExited, TaskView, Unsupported,
                  WaitidResult, WouldBlock)
from .constants import *  # noqa: F401,F403  (Linux's names and values)
from .model import Kernel, Task
from .versions import DEFAULT_VERSION, KERNEL_VERSIONS, Change, changes
from .live import LiveKernel, LiveTask
from .explore import WOULD_BLOCK, Crashed, Errno, Exploration, Witness, explore, replay, trace
from .stress import LOST, Check, ModelBug, Stress, stress
from .bulk import bulk

__version__ = "0.1.0"

__all__ = [
    "Kernel", "Task", "LiveKernel", "LiveTask", "Child", "WaitidResult", "PidfdInfo",
    "FileHandle", "StatResult", "StatfsResult",
    "TaskView",
    "PidlabError", "WouldBlock", "TaskExited", "InvariantError", "BackendUnavailable",
    "Unsupported", "KERNEL_VERSIONS", "DEFAULT_VERSION", "Change", "changes",
    "explore", "replay", "trace", "Errno", "WOULD_BLOCK", "Crashed", "Exploration", "Witness",
    "stress", "Stress", "Check", "ModelBug", "LOST",
    "bulk",
] + [n for n in dir(_constants) if n[:1].isupper()]
