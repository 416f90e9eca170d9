"""The live kernel's side of the benchmarks.

A small C program (forkloop.c, compiled with gcc at run time) measures the
kernel itself: every process it makes lives in a fresh pid namespace.  The
live backend (pidlab.LiveKernel) is measured too, to show what driving real
processes from Python costs.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from importlib import resources

import pidlab
from pidlab import CLONE_NEWPID


class LiveUnavailable(Exception):
    """The live side cannot run here (no gcc, not root, ...): the reason."""


_BINARY: str | None = None             # the compiled fork loop, in a directory of its own


def cleanup() -> None:
    """Remove the fork loop's build directory (bench.run does, when it ends)."""
    global _BINARY
    if _BINARY is not None:
        shutil.rmtree(os.path.dirname(_BINARY), ignore_errors=True)
        _BINARY = None


def forkloop() -> str:
    """Compile forkloop.c once per run; the path of the binary."""
    global _BINARY
    if _BINARY and os.path.exists(_BINARY):
        return _BINARY
    cleanup()                           # a failed build's directory
    cc = shutil.which("gcc") or shutil.which("cc")
    if cc is None:
        raise LiveUnavailable("no C compiler (gcc) to build the live fork loop")
    src = resources.files("pidlab.bench") / "forkloop.c"
    out = os.path.join(tempfile.mkdtemp(prefix="pidlab-bench-"), "forkloop")
    _BINARY = out                       # from here on, cleanup() removes the directory
    with resources.as_file(src) as path:
        r = subprocess.run([cc, "-O2", "-o", out, str(path)], capture_output=True, text=True,
                           timeout=120)
    if r.returncode != 0:
        raise LiveUnavailable(f"gcc failed: {r.stderr.strip().splitlines()[-1:]}")
    return out


def _run(*args: str, timeout: float = 300) -> dict[str, float]:
    if os.geteuid() != 0:
        raise LiveUnavailable("the live fork loop needs root (it creates pid namespaces)")
    r = subprocess.run([forkloop(), *args], capture_output=True, text=True, timeout=timeout)
    if r.returncode != 0:
        raise LiveUnavailable(f"forkloop {' '.join(args)}: {r.stderr.strip() or r.returncode}")
    out = {}
    for line in r.stdout.splitlines():
        name, _, value = line.partition(" ")
        out[name] = float(value)
    return out


def churn(n: int, depth: int = 1, vfork: bool = False) -> float:
    """Nanoseconds per fork -> _exit -> waitpid cycle at pid namespace level `depth`."""
    return _run("churn", str(n), str(depth), "vfork" if vfork else "fork")["churn_ns"]


def pidfds(n: int) -> dict[str, float]:
    r = _run("pidfd", str(n))
    return {"pidfd_open_close_per_s": 1e9 / r["pidfd_open_close_ns"],
            "get_info_per_s": 1e9 / r["get_info_ns"],
            "handle_roundtrip_per_s": 1e9 / r["handle_roundtrip_ns"]}


def _used() -> tuple[int, int]:
    fields = {}
    with open("/proc/meminfo") as f:
        for line in f:
            key, _, rest = line.partition(":")
            fields[key] = int(rest.split()[0]) * 1024
    return (fields["MemTotal"] - fields["MemAvailable"],
            fields["Slab"] + fields["KernelStack"] + fields["PageTables"])


def memory(n: int) -> dict[str, float]:
    """Memory per sleeping process: the system's used memory before and after
    `n` children of one namespace exist (noisy: other processes run too)."""
    if os.geteuid() != 0:
        raise LiveUnavailable("needs root")
    used0, kernel0 = _used()
    p = subprocess.Popen([forkloop(), "hold", str(n)], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, text=True)
    try:
        line = p.stdout.readline() if p.stdout else ""
        if not line.startswith("ready"):
            raise LiveUnavailable("forkloop hold did not start")
        time.sleep(0.3)
        used1, kernel1 = _used()
    finally:
        if p.stdin:
            p.stdin.close()         # the namespace's init exits; the kernel kills the rest
        p.wait(timeout=60)
    return {"bytes_per_process": (used1 - used0) / n,
            "kernel_bytes_per_process": (kernel1 - kernel0) / n}


BATCHES = 5


def backend_churn(n: int, agent: str = "python") -> float:
    """Seconds per fork -> exit_group -> waitpid cycle through pidlab.LiveKernel(agent=...)
    (at level 1 of the sandbox: in a namespace of the sandbox's init, as the model's churn):
    the best of BATCHES batches of n / BATCHES cycles, as the model's figures are the best
    of their repetitions (this machine's speed drifts by 20-30% within minutes)."""
    try:
        k = pidlab.LiveKernel(agent=agent)
    except pidlab.BackendUnavailable as e:
        raise LiveUnavailable(str(e)) from None
    with k:
        ns = k.init.clone(CLONE_NEWPID).task

        def cycles(count: int) -> float:
            t0 = time.perf_counter()
            for _ in range(count):
                c = ns.fork()
                c.task.exit_group(0)
                ns.waitpid(c.pid, 0)
            return (time.perf_counter() - t0) / count

        cycles(min(n, 20))                  # warm-up: the first cycles fault pages in
        batch = max(1, n // BATCHES)
        return min(cycles(batch) for _ in range(BATCHES))


GUEST = "6.12"                          # the guest whose figures the bench shows beside the host's


def _in_guest(churn_n: int, python_n: int, native_n: int) -> dict[str, float | str]:
    """Inside the guest's server: its C fork loop and both agents' cycles (reasons for
    what could not run), the fork loop built and removed there."""
    out: dict[str, float | str] = {}
    for key, fn in (("fork_ns", lambda: churn(churn_n)),
                    ("python_s", lambda: backend_churn(python_n, "python")),
                    ("native_s", lambda: backend_churn(native_n, "native"))):
        try:
            out[key] = fn()
        except LiveUnavailable as e:
            out[key] = f"unavailable: {e}"
    cleanup()
    return out


def guest_churn(churn_n: int, python_n: int, native_n: int,
                series: str = GUEST) -> dict[str, float | str]:
    """The same churn inside pidlab's virtual machine of `series`: the loops run in the
    guest (one round trip), so the figures are the guest kernel's and agents', not the
    serial link's.  LiveUnavailable when the machine cannot boot here."""
    from pidlab.live import remote
    from pidlab.live.machine import GuestError
    if os.geteuid() != 0:
        raise LiveUnavailable("pidlab's virtual machines are root's (their images, and QEMU)")
    try:
        out = remote.run_in_guest(series, _in_guest, (churn_n, python_n, native_n),
                                  timeout=900)
        out["accel"] = remote.machine_for(series).accel.upper()
        return out
    except (pidlab.BackendUnavailable, GuestError) as e:
        raise LiveUnavailable(f"the {series} guest: {e}") from None
