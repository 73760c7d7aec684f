"""One read of a run: the frames held for it, what it reads ahead, and the accumulators that join it.

A command reads a run once. The workflow that starts the read creates its pass (``reading = Pass(run)``, as
MDAnalysis' ``AnalysisBase`` owns its iteration over a trajectory) and gives it to the work that adds to it and to
the work that computes it; nothing of it is kept on the run. What a read must give besides the work that reads the
frames is said by adding accumulators to the pass (:meth:`Pass.add`): the summary's sums, the mean displacement from
a provisional reference, frames to hold for an error model. The computation that reads the frames (a fit's normal
equations, :meth:`Pass.compute`) computes them in the same graph, so each chunk of the file is parsed once for all of
them; whoever added an accumulator holds its :class:`PassResult` (as MDAnalysis' ``Results``), set then. Two
workflows on one run create two passes: neither computes nor takes what the other added or holds.

Before the pass, frames of a text trajectory may already be parsed and held by it: the few frames of a provisional
reference (:meth:`Pass.provisional_reference`) and those read ahead while serial work runs
(:meth:`Pass.reading_ahead`). The pass's read tasks take them from its memory instead of parsing them again
(:func:`~trajmodes.trajectory.chunks.read_chunk`); on a ``dask.distributed`` cluster the pass's read tasks are computed
on the workers ahead of it and kept there, under the keys of the pass's graph.

The work of a pass reads its frames through :attr:`Pass.run` (:meth:`~trajmodes.trajectory.core.Trajectory.
in_pass`), a view of the run whose read tasks take the frames the pass holds, and so do the views of its frames
(slices, other chunks, a reference given ``same_pass``): they read the same file, so frames held for one are those of
the others. Nothing is held on the run, between passes or in the module.
"""
from __future__ import annotations

import threading
from contextlib import contextmanager

import numpy as np

from trajmodes.lattice.structure import Structure
from trajmodes.trajectory.chunks import (READ_AHEAD_SHARE, boxes_and_positions, check_finite, frame_sum,
                                       held_frame_bytes, parse_in_threads, read_chunk)
from trajmodes.trajectory.displacements import displacements_of_frames

#: frame formats read from a store (a cache, memory): nothing to gain from holding their frames
STORED_FORMATS = ("trajmodes-netcdf", "memory")

#: frames averaged at most for :meth:`Pass.provisional_reference`, and at most this share of the run (two at
#: least)
PREFIX_FRAMES = 10
PREFIX_SHARE = 0.1
#: frames of the denser provisional reference, at least (:meth:`Pass.provisional_reference`)
DENSER_FRAMES = 8


def provisional_count(n_frames: int) -> int:
    """How many frames the provisional reference of a run of ``n_frames`` averages by default
    (:meth:`Pass.provisional_reference`): :data:`PREFIX_SHARE` of them, at least 2, at most
    :data:`PREFIX_FRAMES`."""
    return max(2, min(PREFIX_FRAMES, int(PREFIX_SHARE * n_frames)))


def provisional_frames(n_frames: int, denser: bool = False) -> np.ndarray:
    """The frames (indices into the run) :meth:`Pass.provisional_reference` averages: :func:`provisional_count`
    of them spread evenly, the first and the last among them; ``denser``: those and the frames halfway between them,
    halved again until there are at least :data:`DENSER_FRAMES` (or every frame), so that the denser average reads
    only the frames the first one did not."""
    k = max(1, min(n_frames, provisional_count(n_frames)))
    if denser:
        k = (k - 1) * 2 + 1
        while k < min(DENSER_FRAMES, n_frames):
            k = (k - 1) * 2 + 1
    return np.unique(np.rint(np.linspace(0, n_frames - 1, min(k, 2 * n_frames))).astype(int))




class Accumulator:
    """What a pass sums or keeps of the chunks it reads, over the frames of ``run`` (a trajectory: the run of the
    pass or a view of its frames).

    :meth:`start` gives the lazy work over the run's chunks (Dask collections read through the pass's read layer, so
    that they share each chunk's parse with the pass), :meth:`finish` the result from their computed values.
    :class:`ChunkSum` is the common case: a sum over the chunks of :meth:`ChunkSum.add`.
    """

    def __init__(self, run):
        self.run = run

    def start(self, layer: tuple):
        """The lazy work over the run's frames, read through ``layer``."""
        raise NotImplementedError

    def finish(self, value):
        """The result, from the computed value of :meth:`start`."""
        return value


class Terms(Accumulator):
    """Lazy arrays over the frames of ``run`` that ``build(run, layer)`` makes (a dict name -> Dask collection),
    computed in the pass; the result is their values."""

    def __init__(self, run, build):
        super().__init__(run)
        self.build = build

    def start(self, layer: tuple):
        return self.build(self.run, tuple(layer))


class ChunkSum(Accumulator):
    """A sum over the run's chunks of :meth:`add` (one chunk's read, a dict of its fields, to an array of
    :attr:`shape`)."""

    shape: tuple = ()

    def add(self, chunk: dict, *args) -> np.ndarray:
        raise NotImplementedError

    def arguments(self) -> tuple:
        """The further arguments of :meth:`add` (objects every chunk shares)."""
        return ()

    def start(self, layer: tuple):
        import uuid
        sums = self.run.map_chunks(_added, self, *self.arguments(), layer=tuple(layer), shape=self.shape,
                                   dtype=np.float64, name=f"trajmodes-{type(self).__name__}-" + uuid.uuid4().hex,
                                   per_chunk=True)
        return frame_sum(sums).rechunk(-1)


def _added(chunk: dict, acc: ChunkSum, *args) -> np.ndarray:
    return acc.add(chunk, *args)[None]


class MeanDisplacement(ChunkSum):
    """The mean over the run's frames of the displacements from ``reference``, (atoms, 3) Å (lazy from
    :meth:`start`, for other lazy work: the projection's), the crystal's drift as a whole "followed"
    (:meth:`~trajmodes.trajectory.core.Trajectory.displacements`): the minimum images' mean while it is small, and a
    crystal carried farther by a net momentum still averages onto its sites (moved uniformly)."""

    def __init__(self, run, reference: Structure):
        super().__init__(run)
        self.reference = reference
        self.shape = (run.n_atoms, 3)

    def arguments(self) -> tuple:
        return (self.run.displacements_of_chunks(self.reference, drift="followed"),)

    def add(self, chunk: dict, displacements) -> np.ndarray:
        return displacements(chunk).sum(axis=0)

    def start(self, layer: tuple):
        return super().start(layer) / self.run.n_frames

    def finish(self, value):
        return np.asarray(value)


class HeldFrames(Accumulator):
    """Some ``frames`` of the run (indices into it) kept in memory from the pass: the per-atom fields of its layer
    with their cells and origins; the result is a dict name -> array, ``frames`` first, that
    :meth:`~trajmodes.trajectory.core.Trajectory.held` makes a trajectory (once the run's reference is known: a time
    average taken in the same pass is known only after it)."""

    def __init__(self, run, frames):
        super().__init__(run)
        self.frames = np.asarray(frames, dtype=np.int64)
        if not run.source.has_cell:
            raise ValueError(f"{run.source.describe()} has no periodic cell: its frames are not held")

    def start(self, layer: tuple):
        run, sel = self.run, self.frames
        out = {name: run.field(name, layer)[sel] for name in layer if name in ("positions", "velocities", "forces")}
        if "positions" not in out:
            raise ValueError(f"layer={tuple(layer)} does not read the positions: add them to the layer")
        out["cells"] = run.field("cells", layer)[sel]
        out["origins"] = run.field("origins", layer)[sel]
        return out


class PassResult:
    """What an accumulator added to a pass (:meth:`Pass.add`) gives, once the pass is computed.

    Attributes
    ----------
    accumulator : Accumulator
    ready : bool
        Whether the pass has been computed.
    """

    def __init__(self, accumulator: Accumulator, reading: "Pass"):
        self.accumulator = accumulator
        self.where = reading.source.describe()        # the run, named in the error
        self.ready = False
        self._value = None

    def _set(self, value) -> None:
        self._value, self.ready = value, True

    @property
    def value(self):
        """The accumulator's result.

        Raises
        ------
        RuntimeError
            Before the pass it was added to is computed.
        """
        if not self.ready:
            raise RuntimeError(f"{type(self.accumulator).__name__} over {self.where}: the pass it "
                               "was added to has not been computed yet: compute that pass (Pass.compute, or give it "
                               "to the work that reads the run, e.g. EffectiveForceConstants.fit(run, reading=...)) "
                               "before asking for its result")
        return self._value


class Pass:
    """One read of a run, created by the workflow that starts it: the frames held for it, the read tasks a cluster's
    workers keep for it, and the accumulators added to it. As a context manager it lets go of what it holds at the
    end of the block (:meth:`release`).

    Parameters
    ----------
    run : Trajectory
        The run it reads; left as it was (the pass is not kept on it).

    Attributes
    ----------
    run : Trajectory
        The run's frames read in this pass (:meth:`~trajmodes.trajectory.core.Trajectory.in_pass`): the work of the
        pass reads through it (and through the views of its frames), so that its read tasks take the frames held.
    source : FrameSource
        The run's source, whose frames it holds.

    The accumulators added to it (:meth:`add`) are computed with the work of :meth:`compute`; each gives back a
    :class:`PassResult`, whose :attr:`~PassResult.value` is set when the pass is computed (as MDAnalysis' analysis
    ``Results``): no names, nothing to pop, and a result asked for before its pass says so.
    """

    def __init__(self, run):
        self.source = run.source
        self.run = run.in_pass(self)
        self.frames: dict[int, dict] = {}          # source frame -> its parsed fields, (1, ...) each
        self.taking = False                        # the pass running is the last reader of the frames held
        self.kept: dict = {}                       # task key -> future, on a dask.distributed cluster
        self.lock = threading.Lock()               # one thread at a time parses frames to hold
        self.added: list = []                      # (accumulator, its PassResult) to compute in the pass
        self._provisional = None

    def __getstate__(self) -> dict:
        # a copy sent to a cluster's workers holds nothing: they read the file
        return {"run": None, "source": None, "frames": {}, "taking": False, "kept": {}, "added": [],
                "_provisional": None}

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self.lock = threading.Lock()

    def __enter__(self) -> "Pass":
        return self

    def __exit__(self, *exc) -> None:
        self.release()

    # --- the accumulators ---------------------------------------------------------------------
    def add(self, accumulator: Accumulator) -> "PassResult":
        """Compute ``accumulator`` in this pass over the run (:meth:`compute`); its run must be this pass's run or a
        view of its frames.

        Returns
        -------
        PassResult
            Its result, set when the pass is computed.
        """
        if not isinstance(accumulator, Accumulator):
            raise TypeError(f"add() takes an Accumulator, not {type(accumulator).__name__}")
        if accumulator.run.source is not self.source:
            raise ValueError(f"the accumulator reads {accumulator.run.source.describe()} and this pass "
                             f"{self.source.describe()}: add it to a pass of its own run")
        accumulator.run = accumulator.run.in_pass(self)        # read through the pass: its frames held are taken
        handle = PassResult(accumulator, self)
        self.added.append((accumulator, handle))
        return handle

    def compute(self, work, layer: tuple):
        """Compute ``work`` (a Dask collection over the run's frames, read through ``layer``) with the accumulators
        added (each started through ``layer``), in one graph: each chunk of the file is parsed once.
        The frames held for the pass are taken as it reads them (it is their last reader), the read tasks a cluster
        keeps are let go once the graph is submitted, and each accumulator's :class:`PassResult` is set.

        Returns
        -------
        The value of ``work``.
        """
        added, self.added = self.added, []
        lazy = {k: acc.start(tuple(layer)) for k, (acc, _) in enumerate(added)}
        self.taking = True
        try:
            value, values = _compute_releasing(self, work, lazy)
        finally:
            self.taking = False
        for k, (acc, handle) in enumerate(added):
            handle._set(acc.finish(values[k]))
        return value

    # --- frames held for the pass -------------------------------------------------------------
    def take(self, source, frames: np.ndarray, fields: tuple) -> dict | None:
        """A read task's chunk from the frames held (:func:`~trajmodes.trajectory.chunks.read_chunk`), the others
        read; None where none of its frames is held (or a field asked for is not)."""
        held = self.frames
        if not held:
            return None
        frames = np.asarray(frames)
        mine = np.array([int(f) in held for f in frames.tolist()])
        if not mine.any():
            return None
        sample = held[int(frames[mine][0])]
        if fields is not None and any(f not in sample for f in fields):
            return None
        rest = frames[~mine]
        read = check_finite(source, rest, source.read(rest, fields)) if len(rest) else None
        keys = [k for k in (read if read is not None else sample) if k in sample and isinstance(sample[k], np.ndarray)]
        if read is not None:
            keys = [k for k in keys if isinstance(read[k], np.ndarray)]
        out = {}
        for k in keys:
            block = np.empty((len(frames),) + sample[k].shape[1:], dtype=sample[k].dtype)
            for i in np.flatnonzero(mine):
                block[i] = held[int(frames[i])][k][0]
            if read is not None:
                block[~mine] = read[k]
            out[k] = block
        if self.taking:                             # their last reader: let go of them as the pass goes
            for i in np.flatnonzero(mine):
                held.pop(int(frames[i]), None)
        return out

    def release(self) -> None:
        """Let go of the frames held for the pass and the provisional reference, once the pass is over
        (the workflow that created it does, or the end of its ``with`` block; so does a pass that only needed the
        reference's lattice), and hand the memory they and the pass took back to the system
        (:func:`~trajmodes.resources.trim_freed_memory`), here and in a cluster's workers (a command of two fits,
        ``series``, held the first's freed memory through the second: 10^6 atoms on 2 workers peaked at 4.75 GB)."""
        from trajmodes.resources import scattering_client, trim_freed_memory, trim_freed_memory_on_workers
        self.frames = {}
        self._provisional = None
        self.release_kept()
        trim_freed_memory()
        client = scattering_client()
        if client is not None:
            trim_freed_memory_on_workers(client)

    @property
    def kept_on_workers(self) -> bool:
        """Whether a cluster's workers keep read tasks of the run for the pass (:meth:`provisional_reference`,
        :meth:`reading_ahead`)."""
        return bool(self.kept)

    def release_kept(self) -> None:
        """Let go of the read tasks kept on a cluster's workers for the pass; once its graph is on the scheduler,
        which then holds them, each goes when the pass is done with it."""
        self.kept = {}

    # --- reading ahead ------------------------------------------------------------------------
    def hold(self, frames) -> dict:
        """The fields of ``frames`` (source indices: a look at a few frames before the pass, as the crystal a run holds,
        :func:`trajmodes.forceconstants.phase.left_crystal`) parsed here and, where memory allows, held for the pass,
        whose read tasks then take them instead of parsing them again: a dict name -> (frames, ...) array with
        ``positions``, ``cells`` and ``origins`` (:meth:`_read_and_hold`)."""
        return self._read_and_hold(np.asarray(frames, dtype=np.int64))

    def provisional_reference(self, denser: bool = False, layer: tuple | None = None) -> Structure | None:
        """A stand-in for the run's time average that needs no pass over the run, for work that takes the
        displacements from it and the average in the same pass (the projection, the fit): the mean cell and origin of
        every frame, read from the frames' headers alone (exact), with each atom at its mean fractional position over
        :data:`PREFIX_FRAMES` frames spread evenly over the run, the first and the last among them (at most
        :data:`PREFIX_SHARE` of the run, at least two) in that cell; ``denser``: over about twice as many, at least
        :data:`DENSER_FRAMES` (at most the run's), for a run whose default average is too noisy for the symmetry
        search (108,000 atoms of Cu at 600 K: no lattice translations within 0.5 Å over 4 frames, its lattice at
        0.5 Å over 8). The frames are those of :func:`provisional_frames`; the denser average reads only those the
        first did not. ``layer``: the fields the pass after it reads (its read layer): on a ``dask.distributed``
        cluster the workers parse the chunks of those frames as that pass's read tasks and keep them for it (no frame
        parsed twice); without it the frames' positions are parsed here.

        In that cell, the displacements from the time average are those from this reference less their time mean,
        a constant per atom (:meth:`~trajmodes.trajectory.core.Trajectory.average_from_mean`), wherever no atom strays half a cell from its site.

        Returns
        -------
        Structure, or None where the reference is not a time average still to be taken, the trajectory is a
        selection of another's frames (whose average it shares), or the source cannot read its boxes alone.
        """
        run = self.run
        if not run.provisional_allowed():
            return None
        kept = self._provisional
        if kept is None or kept[0] != denser:
            # spread over the run: frames far apart in time carry independent noise (neighbours hardly any); the
            # denser average reads only the frames halfway between those of the first
            wanted = provisional_frames(run.n_frames, denser)
            cell, origin = run.mean_box()
            first, u_sum, done = (None, 0.0, set()) if kept is None else kept[2]
            new = np.array([f for f in wanted.tolist() if f not in done], dtype=int)
            if len(new):
                head = self._read_and_hold(run.source_frames[new], layer=layer)
                if first is None:        # frame 0, the first of the frames read (a copy: not a view of them all)
                    first = Structure(head["positions"][0].copy(), head["cells"][0], run.species, run.masses,
                                      head["origins"][0])
                u_sum = u_sum + displacements_of_frames(head["positions"], head["cells"], head["origins"], first,
                                                        "followed", run.masses).sum(axis=0)
            done = done | set(new.tolist())
            s = (first.positions - first.origin + u_sum / len(done)) @ np.linalg.inv(first.cell)
            kept = self._provisional = (denser, Structure(s @ cell + origin, cell, run.species, run.masses, origin),
                                        (first, u_sum, done))
        return kept[1]

    def _read_and_hold(self, frames: np.ndarray, cap: float | None = None, split: bool = True,
                       layer: tuple | None = None) -> dict:
        """The positions of ``frames`` (source indices) for the provisional reference. From a text trajectory, where
        memory allows (:func:`~trajmodes.resources.may_hold`), every field of those frames is parsed and held, so that
        the pass after the reference (the fit's, the projection's) takes them from memory instead of parsing them
        again: a run of 41 frames averages 13 of them for a denser reference, a third of its bytes. Frames already
        held (read ahead, :meth:`reading_ahead`) are taken from memory; one thread parses a frame at a time, so no
        frame is parsed twice. ``cap``: the bytes held at most (default :data:`~trajmodes.resources.HOLD_BYTES`);
        ``split``: the frames parsed a share per core (else in one read, as a read task of the pass would).
        On a ``dask.distributed`` cluster, given the pass's read ``layer``, the workers parse the frames' chunks as
        the pass's read tasks and keep them for it (:meth:`_keep_on_workers`)."""
        from trajmodes.resources import may_hold, scattering_client
        source = self.run.source
        frames = np.asarray(frames)
        client = scattering_client()
        if client is not None and layer is not None and source.format not in STORED_FORMATS:
            return self._keep_on_workers(client, frames, layer)
        per_frame = held_frame_bytes(source)
        with self.lock:
            held = self.frames
            new = np.array([f for f in frames.tolist() if int(f) not in held], dtype=int)
            if source.format in STORED_FORMATS or not may_hold(per_frame * (len(held) + len(new)), cap=cap):
                return read_chunk(source, frames, ("positions",))
            # every field a plain read gives; with the pass's heat-flux matrices (read only when asked) those of
            # its layer, so that its read tasks take the frames
            fields = None if layer is None or "heat_flux" not in layer else tuple(dict.fromkeys(("positions",) +
                                                                                               tuple(layer)))
            if len(new):
                data = check_finite(source, new, parse_in_threads(source, new, fields) if split
                                    else source.read(new, fields))
                for i, f in enumerate(new.tolist()):
                    held[int(f)] = {k: v[i:i + 1] for k, v in data.items()
                                    if isinstance(v, np.ndarray) and len(v) == len(new)}
            return {k: np.concatenate([held[int(f)][k] for f in frames.tolist()]) for k in held[int(frames[0])]}

    def _keep_on_workers(self, client, frames: np.ndarray, layer: tuple) -> dict:
        """The positions, cells and origins of ``frames`` (source indices), parsed by a cluster's workers: the read
        tasks of their chunks in the read layer ``layer`` are computed there and kept
        (:attr:`kept`) for the pass that reads through that layer, whose graph has the
        same task keys, within the bytes the workers hold for a pass (:meth:`_workers_hold_cap`, with the chunks kept
        already); the chunks beyond them are parsed for their positions and let go (the pass parses them again)."""
        from trajmodes.resources import may_hold
        chunks = self.run.read_chunks()
        where = {int(f): (i, j) for i, c in enumerate(chunks) for j, f in enumerate(c.tolist())}
        wanted: dict[int, list] = {}
        for f in frames.tolist():
            i, j = where[int(f)]
            wanted.setdefault(i, []).append(j)
        read, graph, sizes = self.run.read_layer(tuple(layer))
        kept = self.kept
        cap, workers = self._workers_hold_cap(client)
        per_frame = held_frame_bytes(self.run.source)
        total = sum(sizes[k[1]] for k in kept if k[0] == read)
        keep, once = [], []
        for i in wanted:
            if (read, i) in kept:
                keep.append(i)
            elif may_hold(per_frame * (total + sizes[i]), where="workers", cap=cap / max(workers, 1)):
                total += sizes[i]
                keep.append(i)
            else:
                once.append(i)
        self._keep(client, layer, keep)
        kept = self.kept
        tasks = {i: kept[(read, i)] for i in keep}
        if once:          # 10^6 atoms at 600 K: the denser average's 12 frames of 18 held 0.86 GB on 2 workers
            keys = [(read, i) for i in once]
            tasks.update(zip(once, client.get({k: graph[k] for k in keys}, keys, sync=False)))
        parts = client.gather([client.submit(boxes_and_positions, tasks[i], rows, pure=False)
                               for i, rows in wanted.items()])
        del tasks
        order = {(i, j): n for n, (i, j) in enumerate((i, j) for i, rows in wanted.items() for j in rows)}
        at = [order[where[int(f)]] for f in frames.tolist()]
        return {k: np.concatenate([p[k] for p in parts])[at] for k in parts[0]}

    @staticmethod
    def _workers_hold_cap(client) -> tuple[float, int]:
        """The bytes a cluster's workers hold for the pass ahead (the frames of a provisional reference, frames read
        ahead) and the number of workers: :data:`~trajmodes.resources.HOLD_BYTES` on one worker, which parses alone
        while this process works; a quarter of it per worker on more, which parse as much in less time and each hold
        their share beside their own work (10^6 atoms on 2 workers: the fit peaked at 4.16 GB with 1 GB, 3.67 GB with
        half). (0, 0) where the scheduler does not answer: nothing is held."""
        from trajmodes import resources
        try:
            workers = len(client.scheduler_info()["workers"])
        except Exception:
            return 0.0, 0
        return (resources.HOLD_BYTES if workers <= 1 else resources.HOLD_BYTES / 4 * workers), workers

    def _keep(self, client, layer: tuple, indices: list) -> str:
        """Compute the read tasks of chunks ``indices`` of the read layer ``layer`` on the cluster's workers now and
        keep their results there (:attr:`kept`) until :meth:`release_kept`; the layer's
        name."""
        read, graph, _ = self.run.read_layer(tuple(layer))
        kept = self.kept
        keys = [(read, i) for i in indices if (read, i) not in kept]
        if keys:
            kept.update(zip(keys, client.get({k: graph[k] for k in keys}, keys, sync=False)))
        return read

    @contextmanager
    def reading_ahead(self, layer: tuple | None = None):
        """Within the block, a thread parses the frames of a text trajectory in the order and the chunks a pass reads
        them and holds them (as :meth:`provisional_reference` holds its own; with those, up to
        :data:`~trajmodes.trajectory.chunks.READ_AHEAD_SHARE` times :data:`~trajmodes.resources.HOLD_BYTES` and
        :data:`~trajmodes.resources.HOLD_SHARE` of the memory available), so that serial work before a pass (a fit's
        symmetry search and basis: seconds at 10^6 atoms, one core busy) leaves no core idle; the pass takes them
        from memory. Stopped at the end of the block, within one chunk's parse. Nothing is read ahead from a stored
        format or of a selection of another trajectory's frames. On a ``dask.distributed`` cluster, whose workers
        read the file, given the pass's read ``layer``, the read tasks of the pass's first chunks are computed on the
        workers at the start of the block and kept there for the pass (:meth:`_keep`; up to
        :data:`~trajmodes.resources.HOLD_BYTES` on one worker, a quarter of it per worker on more, within
        :func:`~trajmodes.resources.may_hold` of the workers): the workers parse while this process works."""
        from trajmodes import resources
        from trajmodes.resources import may_hold, scattering_client
        run = self.run
        source = run.source
        per_frame = held_frame_bytes(source)
        cap = READ_AHEAD_SHARE * resources.HOLD_BYTES
        if source.format in STORED_FORMATS or getattr(run, "_parent", None) is not None:
            yield
            return
        client = scattering_client()
        if client is not None:
            if layer is not None:
                self._read_ahead_on_workers(client, layer, per_frame)
            yield
            return
        stop = threading.Event()

        def parse():
            for chunk in run.read_chunks():       # as the pass's read tasks will read them (whole chunks of the file)
                held = self.frames
                new = [f for f in chunk.tolist() if f not in held]
                if stop.is_set() or not may_hold(per_frame * (len(held) + len(new)), cap=cap):
                    return
                if new:
                    try:
                        self._read_and_hold(np.array(new), cap=cap, split=False)
                    except Exception:          # the pass reads the frames again and says what is wrong with them
                        return

        thread = threading.Thread(target=parse, name="trajmodes-read-ahead", daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join()

    def _read_ahead_on_workers(self, client, layer: tuple, per_frame: float) -> None:
        """:meth:`reading_ahead` on a cluster: the pass's first chunks (with those kept already) within the bytes
        the workers hold for a pass (:meth:`_workers_hold_cap`)."""
        from trajmodes.resources import may_hold
        cap, workers = self._workers_hold_cap(client)
        if not workers:                                            # no answer from the scheduler: read nothing ahead
            return
        read, _, sizes = self.run.read_layer(tuple(layer))
        kept = self.kept
        total = sum(sizes[k[1]] for k in kept if k[0] == read)
        ahead = []
        for i, n in enumerate(sizes):
            if (read, i) in kept:
                continue
            if not may_hold(per_frame * (total + n), where="workers", cap=cap / workers):
                break
            total += n
            ahead.append(i)
        if ahead:
            self._keep(client, layer, ahead)



def _compute_releasing(reading: Pass, *args):
    """``dask.compute(*args, optimize_graph=False)`` (unoptimised: each kind of collection optimised on its own would
    fuse the shared read tasks into its own, and the frames be parsed once per kind); on a ``dask.distributed``
    cluster whose workers keep read tasks for the pass ``reading``, the graph is submitted first and then they are let
    go, so that each chunk leaves the workers' memory when the pass is done with it, not at its end."""
    import dask
    from dask.base import unpack_collections
    from trajmodes.resources import scattering_client

    client = scattering_client()
    if client is None or not reading.kept_on_workers:
        return dask.compute(*args, optimize_graph=False)
    collections, repack = unpack_collections(*args)
    futures = client.compute(list(collections), optimize_graph=False)
    reading.release_kept()
    return repack(client.gather(futures))


__all__ = ["Pass", "Accumulator", "Terms", "ChunkSum", "MeanDisplacement", "HeldFrames", "STORED_FORMATS",
           "provisional_frames", "provisional_count"]
