"""What the session of a command sets up around its work: the program's memory allocator, in its own process and in
the workers of the Dask cluster it is given, and how long it waits for that cluster's scheduler."""
from __future__ import annotations

__all__ = ["use_program_allocator", "use_program_allocator_on_workers", "scheduler_connect_timeout"]


def use_program_allocator() -> bool:
    """The allocator settings of the program ``trajmodes`` (glibc's: large freed arrays handed back to the system,
    :func:`~trajmodes.resources.return_freed_memory`), made once at its start; a library leaves its host's as they
    are. Whether they were made (not where the environment sets them, or without glibc)."""
    from trajmodes.resources import return_freed_memory
    return return_freed_memory()


def use_program_allocator_on_workers(client):
    """The program's allocator settings in every worker of ``client``'s ``dask.distributed`` cluster, those there now
    and those that join (:func:`~trajmodes.resources.return_freed_memory_on_workers`; they parse the command's frames).
    Returns the call that hands the memory the workers' heaps keep back to the system, for the command's end
    (:func:`~trajmodes.resources.trim_freed_memory_on_workers`), so that a worker serving the next command starts from
    what it holds. Raises what the cluster raises where it refuses the plugin (the computations do not depend on
    it)."""
    from trajmodes.resources import return_freed_memory_on_workers, trim_freed_memory_on_workers
    return_freed_memory_on_workers(client)
    return lambda: trim_freed_memory_on_workers(client)


def scheduler_connect_timeout() -> float:
    """Seconds ``dask.distributed`` waits for a scheduler to answer (its ``distributed.comm.timeouts.connect``)."""
    import dask
    from dask.utils import parse_timedelta
    return float(parse_timedelta(dask.config.get("distributed.comm.timeouts.connect"), default="s"))
