"""Campaigns that outgrow one machine: explorations' and fuzz campaigns' shards on a Dask cluster.

    with cluster.executor("tcp://scheduler:8786") as (ex, workers):
        x = pidlab.explore(setup, threads, jobs=workers, executor=ex)
        c = pidlab.fuzz.campaign(1000, jobs=workers, executor=ex)

`pidlab explore SCRIPT --scheduler ADDRESS` and `pidlab fuzz --scheduler ADDRESS`
do the same.  An exploration's shard is a subtree of the search (or a slice of
PCT's runs) and pickles its scenario by value (cloudpickle), so a worker needs
only pidlab installed; a fuzz shard runs live sandboxes, so its worker must be
a machine where pidlab's live backend can run (root, a pid namespace).

Why Dask (the optional extra `pidlab[cluster]`, dask[distributed]) and not Ray.
The explorer already hands its shards to any concurrent.futures executor, and
distributed's `Client.get_executor()` is one (`distributed.cfexecutor.
ClientExecutor` subclasses `concurrent.futures.Executor`), so the engine needs no
adapter and the local (`jobs=N`, a ProcessPoolExecutor) and remote paths are the
same code.  dask and distributed are pure-Python wheels (`py3-none-any`; dask
2026.8.0 is 1.5 MB) whose dependencies (tornado, msgpack, psutil, cloudpickle, ...)
are ordinary wheels: the extra installs in seconds with pip on any Python pidlab
supports, and `distributed.LocalCluster(n_workers=2, threads_per_worker=1)` starts
real worker processes for the test suite and stops them.  Ray 2.60 is one 79 MB
binary wheel per Python version (202 MB unpacked: its raylet and GCS server
binaries, a Java jar, the dashboard), runs its own object store and control
plane beside the workers, and offers tasks (`ray.remote`) and a
multiprocessing.Pool look-alike but no concurrent.futures executor, so pidlab
would need an adapter and heavier tests for a workload (shards of a few KB in,
a tally out) that needs none of its shared-memory object store.
"""

from __future__ import annotations

import contextlib
from typing import Any, Iterator


TIMEOUT = 30.0      # seconds to reach a scheduler


class ClusterUnavailable(Exception):
    """Dask is not installed, or no scheduler answers at the address (or it has no workers)."""


@contextlib.contextmanager
def executor(address: str, timeout: float | None = None) -> Iterator[tuple[Any, int]]:
    """A concurrent.futures executor on the Dask scheduler at `address`, and the number
    of worker threads behind it (the shards worth making); the client closes after."""
    try:
        from distributed import Client
    except ImportError as e:
        raise ClusterUnavailable(f"a Dask scheduler needs the cluster extra (pip install "
                                 f"'pidlab[cluster]'): {e}") from None
    try:
        client = Client(address, timeout=TIMEOUT if timeout is None else timeout)
    except (OSError, TimeoutError, ValueError) as e:
        raise ClusterUnavailable(f"no Dask scheduler at {address}: {e}") from None
    try:
        workers = sum(client.nthreads().values())
        if not workers:
            raise ClusterUnavailable(f"the Dask scheduler at {address} has no workers")
        # pure=False: a fuzz shard runs the live kernel, and an exploration's shard is
        # worth running again rather than hashing its scenario to look for a copy.
        yield client.get_executor(pure=False), workers
    finally:
        client.close()
