"""Ray, for the passes that scale out (`embed`'s dataset pass, feature visualization of many channels,
and `record`'s segments in engine/record/distributed.py): the one-line checks of --workers and
--ray-address, the connection (a local Ray instance of N CPUs, or a cluster's head node), and a pool
of actors that each build their model once and then run jobs on it, each result handed back as it
comes. Ray is imported only when --workers asks for it: without it everything runs in one process.

Why actors: a worker loads the model once and keeps it for every batch it is given (a task per batch
would load it again, or need a cache in the worker process). A worker that dies is restarted and its
jobs run again; a failure that persists is one line, and the caller writes nothing."""
from __future__ import annotations

import socket
import time
from dataclasses import dataclass, field
from typing import Any, Callable

from engine.errors import NeuroscapeError

__all__ = ["ClusterError", "Workers", "Spread", "check_workers", "connect", "failure_line", "segments", "spread",
           "RETRIES", "IN_FLIGHT"]

RETRIES = 2          # a worker that dies is restarted (its jobs run again) this many times
IN_FLIGHT = 2        # jobs queued on each worker, so it never waits for the driver between jobs


class ClusterError(NeuroscapeError):
    """A run on Ray that cannot start or did not finish."""


def check_workers(workers: int, address: str | None) -> None:
    """One-line errors for --workers / --ray-address before anything is loaded."""
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ClusterError(f"--workers {workers}: use 1 or more (1 runs in this process)")
    try:
        import ray  # noqa: F401
    except ImportError:
        raise ClusterError("--workers needs Ray: pip install 'ray>=2.9' (or leave out --workers)") from None
    if address and address != "auto":
        host, _, port = address.removeprefix("ray://").rpartition(":")
        if not host or not port.isdigit():
            raise ClusterError(f"--ray-address {address!r}: use HOST:PORT of a Ray head node, e.g. 10.0.0.5:6379")
        try:
            socket.create_connection((host, int(port)), timeout=5).close()
        except OSError as e:
            raise ClusterError(f"cannot reach a Ray cluster at {address} ({e.strerror or e}): start one with "
                               f"`ray start --head` there, or leave out --ray-address") from None


def connect(workers: int, address: str | None):
    """The ray module, initialized: on the cluster at ``address``, else a local instance of ``workers``
    CPUs (an instance already running in this process is used as it is)."""
    import ray
    if not ray.is_initialized():
        kwargs = {"address": address} if address else {"num_cpus": workers}
        try:
            ray.init(include_dashboard=False, log_to_driver=False, configure_logging=False, **kwargs)
        except (ConnectionError, RuntimeError, ValueError) as e:      # e.g. something else listens at the port
            what = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            if address:
                raise ClusterError(f"no Ray cluster at {address} ({what}): is it the head node's port (6379 unless "
                                   f"`ray start --head --port` said otherwise)? Or leave out --ray-address") from None
            raise ClusterError(f"cannot start a local Ray instance ({what}): try `ray start --head` and "
                               f"--ray-address, or leave out --workers") from None
    return ray


def failure_line(e: BaseException) -> str:
    """``Type: last line`` of what went wrong on a worker (the original exception when Ray wraps one)."""
    cause = getattr(e, "cause", None) or e
    text = [line for line in str(cause).strip().splitlines() if line.strip()]
    last = text[-1].strip() if text else "?"
    if len(last) > 160:                  # Ray's own long explanations: their first sentence
        last = last.split(". ")[0]
    return f"{type(cause).__name__}: {last}"


def segments(items: int, parts: int) -> list[tuple[int, int]]:
    """Contiguous [start, end) ranges of about equal length, at most ``parts`` of them."""
    n = max(1, min(parts, items))
    cuts = [round(k * items / n) for k in range(n + 1)]
    return [(a, b) for a, b in zip(cuts, cuts[1:]) if b > a]


@dataclass(frozen=True)
class Workers:
    """How a pass is spread: ``count`` Ray workers (a local instance of that many CPUs, or the cluster
    at ``address``); ``setup`` -- picklable, called once on each worker -- builds what its jobs use
    (the model, the input source)."""

    count: int
    address: str | None
    setup: Callable[[], Any]


@dataclass
class Spread:
    """Where the time of a spread pass went: the scaling model's terms."""

    workers: int                                          # actors started
    setup_s: list[float] = field(default_factory=list)    # each worker's setup (load the model ...)
    job_s: list[float] = field(default_factory=list)      # each job's time on its worker, in job order
    wall_s: float = 0.0                                   # on the driver, from connecting to the last result


class _Worker:
    """A Ray actor: ``setup()`` once, then ``fn(state, *job)`` for each job it is given."""

    def __init__(self, setup: Callable[[], Any]) -> None:
        t0 = time.perf_counter()
        self.state = setup()
        self.setup_s = time.perf_counter() - t0

    def run(self, fn: Callable, job: tuple) -> tuple[Any, float, float]:
        t0 = time.perf_counter()
        out = fn(self.state, *job)
        return out, time.perf_counter() - t0, self.setup_s


def spread(workers: Workers, fn: Callable, jobs: list[tuple], what: str,
           on_result: Callable[[int, Any], None]) -> Spread:
    """``fn(state, *job)`` for every job, on at most ``workers.count`` actors (each built by
    ``workers.setup`` once); ``on_result(index, result)`` on this process as each job finishes (any
    order). A worker that dies is restarted RETRIES times and its jobs run again; an error in the setup
    or a job, or a worker that keeps dying, is a ClusterError naming ``what``."""
    t0 = time.perf_counter()
    ray = connect(workers.count, workers.address)
    cpus = int(ray.cluster_resources().get("CPU", 0))
    n = max(1, min(workers.count, len(jobs), cpus or 1))    # actors beyond the cluster's CPUs would wait forever
    actor = ray.remote(num_cpus=1, max_restarts=RETRIES, max_task_retries=RETRIES)(_Worker)
    pool = [actor.remote(workers.setup) for _ in range(n)]
    stats = Spread(n, [0.0] * n, [0.0] * len(jobs))
    queue = list(range(len(jobs)))[::-1]
    pending: dict[Any, tuple[int, int]] = {}              # ref -> (job, actor)

    def submit(a: int) -> None:
        if queue:
            k = queue.pop()
            pending[pool[a].run.remote(fn, jobs[k])] = (k, a)

    try:
        for a in range(n):
            for _ in range(IN_FLIGHT):
                submit(a)
        while pending:
            ready, _ = ray.wait(list(pending), num_returns=1)
            k, a = pending.pop(ready[0])
            out, seconds, setup_s = ray.get(ready[0])
            stats.job_s[k], stats.setup_s[a] = seconds, setup_s
            submit(a)
            on_result(k, out)
    except ray.exceptions.RayError as e:      # RayTaskError, ActorDiedError ...: one line with the cause
        raise ClusterError(f"a Ray worker failed while {what} ({failure_line(e)}); nothing written") from None
    finally:
        for p in pool:
            ray.kill(p)
    stats.wall_s = time.perf_counter() - t0
    return stats
