"""What the machine offers a computation: memory, for the estimates made before large allocations; and the BLAS
threads that computations running side by side on the cores may use."""
from __future__ import annotations

import contextlib
import os
import sys
import threading

#: the public names: the memory estimates and what may be held, the allocator and the BLAS threads, dask's clients
__all__ = ["require_memory", "available_memory", "may_hold", "HOLD_BYTES", "task_memory", "one_blas_thread",
           "return_freed_memory", "return_freed_memory_on_workers", "trim_freed_memory", "trim_freed_memory_on_workers",
           "distributed_client", "scattering_client", "on_workers"]

_CONTROLLER = None
_LOCK = threading.Lock()
_DEPTH = 0                 # blocks of one_blas_thread open now, in all threads
_LIMITER = None            # the limits the first of them saved
_SCIPY_BLAS = False        # whether scipy's own BLAS was loaded when the controller looked the libraries up


@contextlib.contextmanager
def one_blas_thread():
    """BLAS on one thread inside the block.

    Tasks that run side by side on the cores (Dask threads) must not each start BLAS threads: the two levels
    oversubscribe the cores (the normal equations of a fit ran 1.5-1.8x slower on 2 idle cores, and up to 10x beside
    another process). The libraries are looked up once (:class:`threadpoolctl.ThreadpoolController`), so entering
    costs microseconds and the block can wrap every chunk of work (and once more when scipy's own BLAS, which the fit
    uses, is loaded after the first block). Blocks open at the same time in several threads
    (Dask tasks) share one limit: the first to open sets it, the last to close restores the limits found before
    (each block restoring what it found would leave BLAS at one thread for the rest of the process when blocks
    overlap in time).
    """
    global _CONTROLLER, _DEPTH, _LIMITER, _SCIPY_BLAS
    with _LOCK:
        if _CONTROLLER is None or (_DEPTH == 0 and not _SCIPY_BLAS and "scipy.linalg" in sys.modules):
            # looked up again once scipy's BLAS is loaded (the fit's row kernel calls its dsyrk; the phonons of
            # constants without Born charges do not import it, so it may come after the first block)
            from threadpoolctl import ThreadpoolController
            _SCIPY_BLAS = "scipy.linalg" in sys.modules
            _CONTROLLER = ThreadpoolController()
        if _DEPTH == 0:                                  # the first block in any thread saves the limits and sets 1
            _LIMITER = _CONTROLLER.limit(limits=1, user_api="blas")
        _DEPTH += 1
    try:
        yield
    finally:
        with _LOCK:
            _DEPTH -= 1
            if _DEPTH == 0:                              # the last block to end, in whichever thread, restores them
                _LIMITER.restore_original_limits()
                _LIMITER = None


#: glibc's allocator: blocks of this many bytes and more are mapped on their own and unmapped when freed
MMAP_THRESHOLD = 32 << 20
#: glibc's allocator: free memory at the top of a heap beyond this many bytes goes back to the system
TRIM_THRESHOLD = 64 << 20
#: glibc's allocator: at most this many arenas (memory pools of threads)
ARENA_MAX = 2


def return_freed_memory(dask_worker: bool = False) -> bool:
    """Have glibc's allocator give memory back to the system when large arrays are freed (the program ``trajmodes``
    sets this at its start; a library does not change its host's allocator).

    By default glibc raises its mmap threshold up to 32 MB after the first large arrays are freed, so later arrays
    of up to 32 MB come from its heaps and pools (eight per core), where freed memory stays with the process: at
    864,000 atoms ``trajmodes run`` peaked at 4.00 GB of resident memory with 2.2 GB of live arrays. Here the
    threshold is fixed at 32 MB (arrays above it mapped on their own), two pools serve the threads, and a heap keeps
    up to 64 MB of freed memory at its top (``MALLOC_MMAP_THRESHOLD_=33554432 MALLOC_TRIM_THRESHOLD_=67108864
    MALLOC_ARENA_MAX=2``): `run` 2.41-2.54 GB in 95.9-99.4 s. Arrays of a few MB to 32 MB (a frame's field of 10^6
    atoms is 24 MB) are reused from the heaps: with a 1 MB threshold and the default 128 kB trim every kernel
    temporary was new pages from the system, zeroed on first touch (the incoherent sums of S(q, omega) at 864,000
    atoms ran 3.5x slower, `run` 10 %); with an 8 MB threshold each frame's arrays were (`fit` of that dump 20.1 s,
    8.6 s of it system time; 18.4-18.7 s and 6 s now, peak 2.68 -> 2.9 GB).
    Where the environment sets any of these variables, or the C library is not glibc, nothing is changed;
    ``dask_worker``: in a ``dask.distributed`` worker, whose nanny sets ``MALLOC_TRIM_THRESHOLD_`` to the value of
    Dask's ``distributed.nanny.pre-spawn-environ`` (64 kB unless configured), that value does not count as set.

    Returns
    -------
    bool
        Whether the settings were made.
    """
    set_here = [k for k in ("MALLOC_MMAP_THRESHOLD_", "MALLOC_ARENA_MAX", "MALLOC_TRIM_THRESHOLD_") if k in os.environ]
    if dask_worker and "MALLOC_TRIM_THRESHOLD_" in set_here:
        import importlib

        import dask
        importlib.import_module("distributed.config")            # Dask's defaults for its workers
        nanny = dask.config.get("distributed.nanny.pre-spawn-environ", {}) or {}
        if str(nanny.get("MALLOC_TRIM_THRESHOLD_")) == os.environ["MALLOC_TRIM_THRESHOLD_"]:
            set_here.remove("MALLOC_TRIM_THRESHOLD_")
    if set_here:
        return False
    import ctypes
    mallopt = _glibc("mallopt", [ctypes.c_int, ctypes.c_int])
    if mallopt is None:
        return False
    M_TRIM_THRESHOLD, M_MMAP_THRESHOLD, M_ARENA_MAX = -1, -3, -8
    return all(bool(mallopt(k, v)) for k, v in ((M_MMAP_THRESHOLD, MMAP_THRESHOLD),
                                                 (M_TRIM_THRESHOLD, TRIM_THRESHOLD), (M_ARENA_MAX, ARENA_MAX)))


def return_freed_memory_on_workers(client) -> None:
    """:func:`return_freed_memory` in every worker process of ``client``'s ``dask.distributed`` cluster, those there
    now and those that join (a worker plugin): the program ``trajmodes`` makes its own settings there too for the
    cluster it is given (``--scheduler``, ``--workers``), whose workers parse its frames. Workers whose environment
    sets glibc's variables keep them (but for the trim threshold Dask's nanny sets by default). `fit` of an
    864,000-atom dump: 27.6-29.2 s on one worker with Dask's settings, 24.5-24.6 s with these; 22.4-24.0 s and
    21.4-21.8 s on two (``benchmarks/bench_large.py``)."""
    from distributed.diagnostics.plugin import WorkerPlugin

    class ReturnFreedMemory(WorkerPlugin):
        def setup(self, worker):
            from trajmodes.resources import return_freed_memory
            worker.trajmodes_freed_memory = return_freed_memory(dask_worker=True)   # whether they were made there
    client.register_plugin(ReturnFreedMemory(), name="trajmodes-return-freed-memory")


def trim_freed_memory() -> bool:
    """Give back to the system the memory glibc's allocator keeps in its heaps after arrays were freed
    (``malloc_trim``), between the stages of a command: a pass's held frames and temporaries of up to
    :data:`MMAP_THRESHOLD` bytes are reused from the heaps within a pass, but what a pass leaves between arrays still
    in use is not at a heap's top, which is all :data:`TRIM_THRESHOLD` returns. Whether glibc was there to ask."""
    import ctypes
    trim = _glibc("malloc_trim", [ctypes.c_size_t])
    if trim is None:
        return False
    trim(0)
    return True


def trim_freed_memory_on_workers(client) -> None:
    """:func:`trim_freed_memory` in every worker process of ``client``'s ``dask.distributed`` cluster; a worker or
    scheduler that cannot be asked is left as it is (the computations do not depend on it)."""
    try:
        client.run(trim_freed_memory, on_error="ignore")
    except Exception:
        pass


def _glibc(name: str, argtypes: list):
    """The C library's function ``name`` (taking ``argtypes``, returning an int) where it is glibc's, else None."""
    import ctypes
    try:
        function = getattr(ctypes.CDLL("libc.so.6"), name)
    except (OSError, AttributeError):
        return None
    function.argtypes, function.restype = argtypes, ctypes.c_int
    return function


def available_memory() -> int | None:
    """Memory (bytes) available to new allocations: ``MemAvailable`` of /proc/meminfo (Linux), bounded by a
    cgroup memory limit when one applies; None where neither can be read."""
    avail = None
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    avail = int(line.split()[1]) * 1024
                    break
    except OSError:
        pass
    if avail is None:
        try:
            avail = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        except (ValueError, OSError, AttributeError):
            return None
    for path, used in (("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current"),
                       ("/sys/fs/cgroup/memory/memory.limit_in_bytes", "/sys/fs/cgroup/memory/memory.usage_in_bytes")):
        try:
            with open(path) as f:
                limit = f.read().strip()
            with open(used) as f:
                current = int(f.read().strip())
        except (OSError, ValueError):
            continue
        if limit.isdigit() and int(limit) < 1 << 60:
            avail = min(avail, max(int(limit) - current, 0))
    return avail


#: share of the available memory, and bytes, that a command may hold until its one pass over a run ends (the modes of
#: every frame of a projection from the run's time average; the frames its error model projects beside a fit): beyond
#: them, memory bounded by the chunks is worth a second pass
HOLD_SHARE = 0.25
HOLD_BYTES = 1 << 30


def may_hold(nbytes: float, where: str = "tasks", cap: float | None = None) -> bool:
    """Whether ``nbytes`` may be held through one pass over a run instead of read again in a second
    (``cap``, default :data:`HOLD_BYTES`, and :data:`HOLD_SHARE` of the memory that holds them).

    ``where`` says who holds them:

    * ``"tasks"``: this process, for the pass's tasks to read (a process-wide store): on a ``dask.distributed``
      cluster the tasks run on its workers, which cannot see it, so nothing is held there;
    * ``"here"``: results of the pass gathered into this process (the frames an error model projects, a run's
      velocities), on threads and on a cluster alike: :func:`available_memory`;
    * ``"workers"``: results waiting in the graph for the end of the pass (the modes of every frame waiting for the
      pass's mean): this process on threads, the workers on a cluster (the sum of their memory limits, as the
      scheduler states them; :data:`HOLD_BYTES` per worker).
    """
    if where not in ("tasks", "here", "workers"):
        raise ValueError(f"where={where!r}: one of 'tasks', 'here', 'workers'")
    cap = HOLD_BYTES if cap is None else cap
    client = distributed_client() if where != "here" else None
    if client is not None:
        if where == "tasks":
            return False
        try:
            limits = [w.get("memory_limit") or 0 for w in client.scheduler_info()["workers"].values()]
        except Exception:                                          # no answer from the scheduler: hold nothing
            return False
        return bool(limits) and min(limits) > 0 and float(nbytes) <= min(HOLD_SHARE * sum(limits),
                                                                         cap * len(limits))
    avail = available_memory()
    return avail is not None and float(nbytes) <= min(HOLD_SHARE * avail, cap)


#: bounds of :func:`task_memory`, bytes
TASK_MEMORY_BOUNDS = (16 << 20, 64 << 20)


def task_memory() -> int:
    """Bytes of data one Dask read task holds by default (the frames it reads, all fields).

    A sixty-fourth of the memory available (:func:`available_memory`) per core, bounded by
    :data:`TASK_MEMORY_BOUNDS`: tasks run one per core, and what a consumer makes of a chunk (displacements, their
    squares, the projections) and the chunks waiting to be reduced are several times the read; 64 MB a task keeps a
    command within about 1 GB on 2 cores whatever the atom count (10^6 atoms: one frame of positions, velocities and
    forces is 72 MB, the least a task reads).
    """
    lo, hi = TASK_MEMORY_BOUNDS
    have = available_memory()
    if have is None:
        return hi
    return int(min(hi, max(lo, have // (64 * (os.cpu_count() or 1)))))


def require_memory(nbytes: float, what: str, fix: str, fraction: float = 0.5) -> None:
    """Refuse, before anything is allocated, a computation that needs more than ``fraction`` of the memory
    available (:func:`available_memory`).

    Parameters
    ----------
    nbytes : float
        The computation's estimated peak, bytes.
    what : str
        What needs it ("the eigenvectors of the 1e15 q-points of the mesh"), for the message.
    fix : str
        What to do instead, for the message.

    Raises
    ------
    MemoryError
        Naming the size, what needs it, the memory available and ``fix``.
    """
    have = available_memory()
    if have is not None and nbytes > fraction * have:
        raise MemoryError(f"{what} need about {_size(nbytes)}, more than {fraction:.0%} of the {_size(have)} "
                          f"available: {fix}")


def _size(nbytes: float) -> str:
    """A byte count for people: 3.2 GB, 7.1 PB."""
    for unit in ("B", "kB", "MB", "GB", "TB", "PB"):
        if nbytes < 1000 or unit == "PB":
            return f"{nbytes:.1f} {unit}" if unit != "B" else f"{int(nbytes)} B"
        nbytes /= 1000
    return f"{nbytes:.1f} PB"                                      # pragma: no cover - the loop returns


def on_workers(obj):
    """``obj`` as the argument of many Dask tasks: itself on threads; on a ``dask.distributed`` cluster (the default
    client, :func:`distributed_client`) a Future of it, scattered to every worker once. Inside the graph every task
    would carry its own copy, which the scheduler sends with the task and the worker holds while the task waits (a
    reference crystal of 10^6 atoms is 20 MB a task); scattered, each worker holds one. The same object given twice
    is held once (its hash names it), though sent with each call. A graph built for this process's threads
    (``dask.config.set(scheduler="threads")`` beside a client) keeps the object itself (:func:`scattering_client`)."""
    client = scattering_client()
    return obj if client is None else client.scatter(obj, broadcast=True)


def scattering_client():
    """The ``dask.distributed`` client that graphs built now run on and :func:`on_workers` scatters to, or None: no
    client, or one beside which ``dask.config.set(scheduler=...)`` picked another scheduler."""
    import dask
    client = distributed_client()
    if client is None or dask.config.get("scheduler", None) not in (None, "dask.distributed", "distributed"):
        return None
    return client


def distributed_client():
    """The ``dask.distributed`` client Dask computes with now (the default client: ``--scheduler`` / ``--workers``, a
    ``Client`` made by the caller), or None (threads of this process, or no ``distributed`` installed). Its workers
    may run on other machines: files they read must be on a file system they share. A client is made through
    ``distributed``, so where nothing has imported it there is none, and it is not imported to ask (17 MB of every
    process that computes on threads)."""
    if "distributed" not in sys.modules:
        return None
    try:
        from distributed import default_client
        return default_client()
    except (ImportError, ValueError):
        return None

