"""One-pass summary statistics of a trajectory (what ``trajmodes info`` prints).

:func:`summary_terms` gives the lazy per-frame quantities, read through one layer of the trajectory so that another
computation over the same frames (the netCDF cache :meth:`~trajmodes.trajectory.core.Trajectory.to_netcdf` writes, a
fit) parses each chunk once for both; :func:`summary_dataset` reduces their values; :func:`summarize` does both.
"""
from __future__ import annotations

import os
import shutil
import tempfile
import warnings
from typing import TYPE_CHECKING

import dask
import dask.array as da
import numpy as np
import xarray as xr

from trajmodes.trajectory.chunks import frame_sum

if TYPE_CHECKING:
    from trajmodes.lattice.structure import Structure

__all__ = ["summarize", "summarize_with_average", "summary_terms", "summary_dataset", "summary_layer", "FRAME_TERMS", "DISPLACEMENT_TERMS"]

#: the per-frame quantities that need no reference crystal
FRAME_TERMS = ("temperature", "volume", "pressure", "potential_energy")
#: the per-frame quantities of the displacements from the reference
DISPLACEMENT_TERMS = ("drift", "u2_time", "msd_time", "umax_time")


def summary_layer(traj) -> tuple:
    """The fields :func:`summarize` reads in its one pass: positions, the velocities where the temperature can be
    had (with the forces, where the run has them, for the configurational temperature that checks it), and the
    per-frame quantities the data have."""
    has_t = traj.velocities is not None and traj.masses is not None
    forces = ("forces",) if has_t and traj.forces is not None else ()
    return ("positions",) + (("velocities",) if has_t else ()) + forces + tuple(traj.frame_fields)


def summary_terms(traj, layer: tuple | None = None, *, frame: bool = True, displacements: bool = True) -> dict:
    """The lazy per-frame quantities :func:`summary_dataset` reduces, read through ``layer`` (default
    :func:`summary_layer`; arrays of other work read through the same layer share each chunk's parse).

    Parameters
    ----------
    traj : Trajectory
    layer : tuple of str, optional
        Must hold ``positions`` (for the displacements) and the fields of the quantities asked for: ``velocities``
        for the temperature, the per-frame quantities for themselves (those not in it are left out).
    frame : bool
        The quantities that need no reference (:data:`FRAME_TERMS`): ``temperature`` (K) where velocities and masses
        are known, ``volume`` (Å³) with a cell, ``pressure`` (GPa) and ``potential_energy`` (eV); and ``virial``
        (frames, 3): sum_i u_i . F_i (eV), sum_i u_i^2 (Å²) and sum_i F_i^2 ((eV/Å)²), u the displacement from the
        reference (from the first frame where the reference is the time average still to be taken), where ``layer``
        has the forces beside the velocities (:func:`configurational_temperature`).
    displacements : bool
        The displacements from ``traj.reference`` (:data:`DISPLACEMENT_TERMS`): ``drift`` (frames, 3) Å, ``u2_time``
        (frames, species) and ``msd_time`` (frames, 3, species) Å², means over each species' atoms, ``umax_time``
        (frames,) the largest |u| in Å.

    Returns
    -------
    dict name -> dask array, frames first (chunked as the trajectory)
    """
    layer = summary_layer(traj) if layer is None else tuple(layer)
    terms = {}
    if frame:
        if "velocities" in layer and traj.velocities is not None and traj.masses is not None:
            terms["temperature"] = traj.temperature(layer=layer)
            if "forces" in layer and traj.forces is not None and getattr(traj.source, "kinetic_temperature", True):
                # in the same parse: the displacements from the reference where it is known, else from frame 0 (its
                # cell's fractional coordinates, as the time average's terms take them), against the forces; the
                # crystal's drift followed, then its centre of mass's taken out (a net momentum moves it as a whole)
                u0 = traj.displacements(layer=layer, drift="followed") if traj.reference_known else \
                    traj.average_terms(traj.frame_structure(0), layer)["u"]
                w = np.asarray(traj.masses, float) / np.sum(traj.masses)
                u0 = u0 - (u0 * w[:, None]).sum(axis=1, keepdims=True)
                f = traj.field("forces", layer)
                terms["virial"] = da.stack([(u0 * f).sum(axis=(1, 2)), (u0 * u0).sum(axis=(1, 2)),
                                            (f * f).sum(axis=(1, 2))], axis=1)
        if traj.cells is not None:
            c = traj.field("cells", layer)
            terms["volume"] = abs(c[:, 0, 0] * (c[:, 1, 1] * c[:, 2, 2] - c[:, 1, 2] * c[:, 2, 1])
                                  - c[:, 0, 1] * (c[:, 1, 0] * c[:, 2, 2] - c[:, 1, 2] * c[:, 2, 0])
                                  + c[:, 0, 2] * (c[:, 1, 0] * c[:, 2, 1] - c[:, 1, 1] * c[:, 2, 0]))
        for name in ("pressure", "potential_energy"):
            if name in traj.frame_fields and name in layer:
                terms[name] = traj.field(name, layer)
    if displacements:
        # the drift followed: a crystal carried beyond half a cell by a net momentum would wrap its minimum images
        u = traj.displacements(layer=layer, drift="followed")
        onehot = _onehot(traj.species)[1]
        ns = onehot.shape[1]
        # one task per chunk makes every quantity from the chunk's displacements, which are then freed: separate
        # reductions of u each hold it until the last has run, and Dask may run them late (memory grew with frames)
        packed = u.rechunk({1: -1, 2: -1}).map_blocks(_displacement_terms, onehot, drop_axis=2,
                                                      chunks=(u.chunks[0], (4 + 4 * ns,)), dtype=np.float64)
        terms["drift"] = packed[:, 0:3]
        terms["u2_time"] = packed[:, 3:3 + ns]
        terms["msd_time"] = packed[:, 3 + ns:3 + 4 * ns].reshape(len(traj.times), 3, ns)
        terms["umax_time"] = packed[:, 3 + 4 * ns]
    return terms


def _displacement_terms(u: np.ndarray, onehot: np.ndarray) -> np.ndarray:
    """The per-frame displacement quantities of one chunk, side by side: (frames, 4 + 4 species): the drift (3) Å,
    the species' mean u^2 (species) and mean u_a^2 (3 x species, x first) Å², and the largest |u| A, these three of
    the displacements less the frame's drift: a crystal that stands (or moves) as a whole away from the reference (a
    thermostat's push during thermalisation, kept by the run) holds no thermal displacement in that translation, and
    its square would be counted as one (0.1 Å along y of a 0 K data file: <u_y^2> 0.0103 Å² beside <u_x^2> 0.0027
    in a hexagonal crystal).

    ``u`` (frames, atoms, 3) Å; ``onehot`` (atoms, species) the species' averaging matrix (:func:`_onehot`).
    """
    drift = u.mean(axis=1)
    u2 = u - drift[:, None, :]                          # one array of the chunk's size, squared in place
    np.square(u2, out=u2)
    r2 = u2.sum(axis=2)
    msd = np.einsum("fia,is->fas", u2, onehot).reshape(len(u), -1)
    return np.concatenate([drift, r2 @ onehot, msd, np.sqrt(r2.max(axis=1, initial=0.0))[:, None]], axis=1)


def _onehot(species):
    """The species (sorted) and the (atoms, species) matrix that averages over each species' atoms."""
    species = np.asarray(species)
    kinds = sorted(set(species.tolist()))
    onehot = (species[:, None] == np.array(kinds)[None, :]) / np.array([(species == k).sum() for k in kinds])
    return kinds, onehot


def summary_dataset(traj, values: dict) -> xr.Dataset:
    """The summary (as :func:`summarize`) from the computed :func:`summary_terms` of ``traj`` (both kinds)."""
    kinds = _onehot(traj.species)[0]
    if traj.reference_known:
        values = dict(values, drift=_unfolded_drift(values["drift"], traj.reference.cell))
    msd = np.asarray(values["msd_time"]).mean(axis=0).T
    ds = xr.Dataset(
        {
            "msd": (("species", "cartesian"), msd, {"units": "Angstrom^2", "long_name": "mean square displacement"}),
            "rms_displacement": (("species",), np.sqrt(msd.sum(axis=1)), {"units": "Angstrom"}),
            "max_displacement": ((), float(np.max(values["umax_time"])), {"units": "Angstrom"}),
            "drift": (("time", "cartesian"), values["drift"], {"units": "Angstrom",
                                                            "long_name": "mean displacement of all atoms"}),
            "rms_time": (("time", "species"), np.sqrt(values["u2_time"]), {"units": "Angstrom",
                                                                          "long_name": "rms displacement per frame"}),
        },
        coords={"species": kinds, "cartesian": ["x", "y", "z"], "time": ("time", traj.times, {"units": "ps",
                                                                                "time_axis": traj.time_axis})},
    )
    if "temperature" in values:
        ds["temperature"] = (("time",), values["temperature"], {"units": "K",
                                                               "long_name": "kinetic temperature (3N-3 dof)"})
    checked = check_temperatures(traj, values)
    if checked is not None:
        conf, corr = checked
        ds["configurational_temperature"] = ((), conf, {
            "units": "K", "long_name": "configurational temperature -<sum_i u_i.F_i> / ((3N-3) k_B)",
            "description": "u the displacement from the reference (the first frame where the reference is the time "
                           "average), F the forces: the kinetic temperature of a crystal in equilibrium within a few "
                           "per cent (anharmonicity)",
            "correlation": corr})
    for name, units, long_name in (("volume", "Angstrom^3", "volume of the cell"),
                                   ("pressure", "GPa", "pressure, positive when compressed"),
                                   ("potential_energy", "eV", "potential energy of the cell")):
        if name in values:
            ds[name] = (("time",), np.asarray(values[name], float), {"units": units, "long_name": long_name})
    return ds


def _unfolded_drift(drift, cell) -> np.ndarray:
    """The drift (frames, 3) Å of the displacements with the crystal's drift followed, which jumps by a lattice vector
    of ``cell`` (3, 3) Å (None: no cell, left as it is) where it passes half a cell, as one path: each step from frame
    to frame taken as the shortest (the crystal moves less than half a cell between frames)."""
    drift = np.asarray(drift, float)
    if cell is None or len(drift) < 2:
        return drift
    cell = np.asarray(cell, float)
    f = drift @ np.linalg.inv(cell)
    step = np.diff(f, axis=0)
    step -= np.rint(step)
    return np.concatenate([f[:1], f[:1] + np.cumsum(step, axis=0)]) @ cell


#: the kinetic over the configurational temperature of a crystal lies within these bounds: 1 within a few per cent in
#: equilibrium (measured: 1.000 for 256 Cu atoms over 401 frames, 1.03-1.04 for 32 over 41-61 frames, ASE and EMT;
#: 1.03 for the LAMMPS run of tests/data/cu32_xu.lammpstrj, 20 frames), up to about 2 over a run shorter than a
#: vibration period (1.9 over 7 frames of 60 fs: the displacements from the first frame are then too small); a
#: velocity unit misread gives its square: 9645 (ASE's A per 10.18 fs read as A/ps), 104 (read as A/fs), 1e6 (A/fs
#: as A/ps), or their inverses
TEMPERATURE_RATIO = (0.1, 10.0)
#: the two temperatures are compared only where the displacements from the first frame and the forces correlate below
#: this (-0.54 to -0.8 on the tests' runs, -0.25 over 3 frames 10 fs apart): over a run shorter than a vibration
#: period the displacements are the velocities' (uncorrelated with the forces) and the configurational temperature is
#: too small; nor are synthetic frames of random numbers judged
CORRELATION_BELOW = -0.3
#: and beyond this many standard errors of a correlation of unrelated numbers, 1 / sqrt(3 N frames) (a few frames of a
#: few atoms of random numbers reach -0.3 by chance)
CORRELATION_SIGMAS = 5.0
#: nor where the atoms leave their sites: an rms displacement above this (A; a liquid), as the readers' time-scale check
SITES_RMS_A = 1.0


def configurational_temperature(virial, n_atoms: int) -> tuple[float, float]:
    """The configurational temperature (K) of a crystal, and the correlation of displacements and forces, from the
    per-frame sums ``virial`` (frames, 3): sum_i u_i . F_i (eV), sum_i u_i^2, sum_i F_i^2, u the displacement from a
    site and F the force.

    T_conf = -<sum u.F> / ((3N-3) k_B): the classical virial theorem (equipartition of the potential energy:
    <u.F> = -k_B T per degree of freedom of a harmonic crystal; anharmonic corrections are a few per cent). No time
    axis and no velocities enter: it checks the kinetic temperature, and with it the velocities' unit. The site is the
    reference's position of each atom (the first frame's where the reference is the time average still to be taken),
    not necessarily the mean one: the difference, (mean - site) . <F>, vanishes as the mean force on each atom does
    (0.1-2 % from the first frame on the tests' runs of 41-401 frames)."""
    from trajmodes.units import KB_EV
    v = np.asarray(virial, float).reshape(-1, 3)
    uf, uu, ff = v.sum(axis=0)
    corr = float(uf / np.sqrt(uu * ff)) if uu > 0 and ff > 0 else 0.0
    return float(-uf / len(v) / (max(3 * n_atoms - 3, 1) * KB_EV)), corr


def check_temperatures(traj, values: dict) -> tuple[float, float] | None:
    """Refuse a run whose kinetic temperature is far from the configurational one (:data:`TEMPERATURE_RATIO`):
    velocities in another unit than the one read (ASE's own unit, ``atoms.get_velocities()``, read as Å/ps; Å/fs as
    Å/ps), which the time-scale check of the readers cannot see without a time axis. Judged only where the
    displacements correlate with the forces (:data:`CORRELATION_BELOW`), the atoms stay at their sites (rms
    displacement below :data:`SITES_RMS_A`, 1 Å: not a liquid) and there are 3 frames or more.

    ``values``: the computed :func:`summary_terms` (``temperature`` and ``virial``; their frame terms are enough, so
    ``trajmodes run`` checks them before its fit). Returns (configurational temperature K, correlation), or None
    without them.

    Raises
    ------
    TrajectoryFormatError
        Naming the file, the frames, both temperatures, their ratio and the velocity unit to state.
    """
    from trajmodes.errors import TrajectoryFormatError
    if "temperature" not in values or "virial" not in values:
        return None
    configurational, correlation = configurational_temperature(values["virial"], traj.n_atoms)
    kinetic = float(np.mean(values["temperature"]))
    uu = float(np.asarray(values["virial"], float).reshape(-1, 3)[:, 1].sum())
    rms_u = float(np.sqrt(uu / max(traj.n_atoms * traj.n_frames, 1)))      # from the reference or the first frame
    checked = (configurational, correlation)
    if not (traj.n_frames >= 3 and kinetic > 0 and configurational > 0 and np.isfinite(kinetic + configurational)
            and correlation < min(CORRELATION_BELOW, -CORRELATION_SIGMAS / np.sqrt(3 * traj.n_atoms * traj.n_frames))
            and rms_u < SITES_RMS_A):
        return checked
    ratio = kinetic / configurational
    lo, hi = TEMPERATURE_RATIO
    if lo <= ratio <= hi:
        return checked
    paths = list(getattr(traj.source, "paths", None) or [traj.source.describe()])
    what = (f"the kinetic temperature of the velocities, {kinetic:.4g} K, is {ratio:.3g} times the configurational "
            f"temperature of the displacements and forces, {configurational:.4g} K (-<sum u.F>/((3N-3) k_B) over "
            f"frames 0-{traj.n_frames - 1}), where a crystal's two agree within a few per cent")
    raise TrajectoryFormatError(paths[0], what, fix=_velocity_unit_fix(traj, ratio))


def _velocity_unit_fix(traj, ratio: float) -> str:
    """What to do about velocities whose kinetic temperature is ``ratio`` times the configurational one: the time unit
    the velocities are then in (:func:`trajmodes.units.time_unit_named`), as ``--units`` states it."""
    from trajmodes.units import ASE_TIME_NAME, STYLES, time_unit_named
    read = getattr(traj.source, "velocity_time_unit", None) or 1.0       # ps per time unit of the velocities read
    unit = time_unit_named(read * float(np.sqrt(ratio)))
    style = getattr(traj.source, "units", None)
    style = style if style in STYLES else "metal"
    said = {ASE_TIME_NAME: "A per ASE time unit (sqrt(amu A^2/eV) = 10.18 fs: ASE's atoms.get_velocities())",
            "fs": "A/fs", "ps": "A/ps", "ns": "A/ns"}
    if unit is None:
        return ("The velocities are in another unit than read, or the forces are not the run's: state the "
                "velocities' unit (units='metal:A/fs', units='metal:A/ase' for ASE's; --units), or check the forces")
    return (f"The velocities look like {said[unit]}: read the file with units='{style}:A/{unit}' (--units "
            f"{style}:A/{unit}), or write velocity_unit=A/{unit} on the comment lines of an extended XYZ file; ASE's "
            "own files (.traj, momenta= columns) carry momenta, whose unit is known")


def summarize(traj, *, progress: bool = False, scratch: str | None = None) -> xr.Dataset:
    """The summary of :func:`summarize_with_average` alone (the time average it may take is not kept)."""
    return summarize_with_average(traj, progress=progress, scratch=scratch)[0]


def summarize_with_average(traj, *, progress: bool = False,
                           scratch: str | None = None) -> tuple[xr.Dataset, Structure | None]:
    """Frame, box, temperature and displacement statistics, each chunk of frames parsed once.

    Where the reference is the run's time average, not yet known, the displacements from it need the average first.
    From a text trajectory (a dump) the one parse then also writes the displacements from the first frame to a
    scratch file (float32, 12 bytes per atom and frame, in ``scratch``, default the system's temporary folder,
    deleted at the end) while it sums the average and the per-frame quantities; the displacements from the average
    are measured in a read of that file (:func:`_summarize_through_scratch`). A netCDF cache stores its average, so
    it is read once. On a ``dask.distributed`` cluster, whose workers may not see this machine's temporary folder,
    the scratch folder is made beside the trajectory (which they read). Without room for the scratch file, or where
    it cannot be made, the trajectory is read twice (a warning says so).

    Returns
    -------
    xarray.Dataset
        ``temperature`` (time) in K when velocities and masses are known;
        ``msd`` (species, cartesian): mean square displacement <u_a^2> in Å², each frame's drift taken out of u
        (so are ``rms_displacement``, ``max_displacement`` and ``rms_time``);
        ``rms_displacement`` (species) in Å; ``max_displacement`` in Å;
        ``rms_time`` (time, species): rms |u| of each species in every frame, Å;
        ``drift`` (time, cartesian): mean displacement of all atoms (centre-of-mass drift
        for one species) in Å, the path of a crystal carried across cells;
        ``volume`` (time) in Å³ per cell when the frames hold a box; ``pressure`` (time) in GPa and
        ``potential_energy`` (time) in eV per cell when the data have them (a LAMMPS log, energy or stress columns).
    Structure or None
        The run's time average where this pass took it (the reference was the time average still to be taken, and
        the frames are a run of their own, not a view); None where the reference was known. Returned, not kept:
        ``traj`` is left as it was, and ``traj.with_average(average)`` measures its frames from it with no pass
        to take it again.
    """
    from trajmodes.resources import distributed_client
    if (not traj.reference_known and traj.source.format != "netcdf" and traj.n_frames > 1
            and getattr(traj, "_parent", None) is None):
        if scratch is None and distributed_client() is not None:
            # a cluster's workers may not see this machine's temporary folder; they read the trajectory's
            scratch = os.path.dirname(os.path.abspath(traj.source.paths[0]))
        folder = _scratch_folder(traj, scratch)
        if folder is not None:
            try:
                return _summarize_through_scratch(traj, progress, folder)
            finally:
                shutil.rmtree(folder, ignore_errors=True)
        average = traj.average_structure()                 # a pass of its own, then one for the displacements
        return summary_dataset(traj, _compute(summary_terms(traj.with_average(average)), progress)), average
    return summary_dataset(traj, _compute(summary_terms(traj), progress)), None


def _compute(terms: dict, progress: bool) -> dict:
    if progress:
        from dask.diagnostics import ProgressBar
        with ProgressBar(minimum=1.0):
            return dask.compute(terms)[0]
    return dask.compute(terms)[0]


def _scratch_folder(traj, scratch: str | None) -> str | None:
    """A new folder for the scratch file of the displacements, or None (and a warning) where it would not fit."""
    base = tempfile.gettempdir() if scratch is None else scratch
    need = 12.0 * traj.n_atoms * traj.n_frames + (8 << 20)
    try:
        free = shutil.disk_usage(base).free
    except OSError:
        free = 0
    if free < 1.2 * need:
        warnings.warn(f"no room for the scratch file of the displacements ({need / 1e9:.2f} GB; {free / 1e9:.2f} GB free "
                      f"in {base}): the trajectory is read twice, once for the time average and once for the "
                      "displacements from it (set TMPDIR to a folder with room)", ResourceWarning, stacklevel=3)
        return None
    try:
        return tempfile.mkdtemp(prefix=".trajmodes-summary-", dir=base)
    except OSError as e:
        warnings.warn(f"cannot make the scratch file of the displacements in {base} ({e.strerror}): the trajectory "
                      "is read twice, once for the time average and once for the displacements from it (set TMPDIR "
                      "to a folder with room)", ResourceWarning, stacklevel=3)
        return None


def _summarize_through_scratch(traj, progress: bool, folder: str) -> tuple[xr.Dataset, Structure]:
    """The summary in one parse of ``traj`` (reference: its time average, not yet known), and that average.

    The parse sums the per-frame quantities and the average's terms (:meth:`~trajmodes.trajectory.core.Trajectory.
    average_terms`: the displacements u0 from the first frame, in its cell, and the cells and origins) and writes u0
    to a scratch file in ``folder`` as float32 (12 bytes per atom and frame, the eighth to tenth of a dump's bytes; its
    rounding, 6e-8 of u0, is far below the digits a trajectory file prints). The displacements from the average are
    then exactly ``s @ C``, with ``s = (u0 - mean u0) @ inv(C0)`` wrapped to the nearest image, C0 the first frame's
    cell and C the mean cell (both map fractional displacements onto the cell; without a cell, ``u0 - mean u0``): a
    read of the scratch file gives them."""
    first = traj.frame_structure(0)
    layer = summary_layer(traj)
    terms = traj.average_terms(first, layer)
    path = os.path.join(folder, "displacements.f32")
    shape = (traj.n_frames, traj.n_atoms, 3)
    with open(path, "wb") as f:
        f.truncate(4 * int(np.prod(shape)))
    rows = _RowFile(path, shape)
    # each task writes its own frames: no lock
    stored = da.store(terms["u"].astype(np.float32), rows, lock=False, compute=False)
    values, sums = _compute([stored, summary_terms(traj, layer, displacements=False),
                             {k: frame_sum(v) for k, v in terms.items()}], progress)[1:]
    avg = traj.average_from_sums(first, sums)
    mean_u0 = sums["u"] / traj.n_frames
    cells = (np.linalg.inv(first.cell), avg.cell) if avg.cell is not None else None
    onehot = _onehot(traj.species)[1]
    bounds = np.concatenate([[0], np.cumsum(terms["u"].chunks[0])]).astype(int)
    blocks = [dask.delayed(_scratch_terms)(rows, lo, hi, mean_u0, cells, onehot)
              for lo, hi in zip(bounds[:-1], bounds[1:])]
    packed = np.concatenate(_compute(blocks, progress), axis=0)
    ns = onehot.shape[1]
    values.update(drift=_unfolded_drift(packed[:, 0:3], avg.cell), u2_time=packed[:, 3:3 + ns],
                  msd_time=packed[:, 3 + ns:3 + 4 * ns].reshape(len(packed), 3, ns), umax_time=packed[:, 3 + 4 * ns])
    return summary_dataset(traj, values), avg


def _scratch_terms(rows, lo: int, hi: int, mean_u0: np.ndarray, cells: tuple | None,
                   onehot: np.ndarray) -> np.ndarray:
    """:func:`_displacement_terms` of frames ``lo:hi`` of the scratch file ``rows`` (displacements u0 from the first
    frame), measured from the time average: ``mean_u0`` (atoms, 3) A is their mean; ``cells`` (the inverse of the first
    frame's cell, the mean cell) map the fractional difference, wrapped about the crystal's drift as
    :func:`~trajmodes.trajectory.displacements.displacements_of_frames` wraps it with ``drift="followed"``, onto the
    mean cell (None: no cell, plain differences)."""
    from trajmodes.trajectory.displacements import remove_drift
    u = rows.read(lo, hi).astype(np.float64) - mean_u0
    if cells is not None:
        u = remove_drift(u @ cells[0], np.eye(3), drift="followed") @ cells[1]      # in fractional coordinates
    return _displacement_terms(u, onehot)


class _RowFile:
    """A raw C-ordered float32 array (frames, atoms, 3) in the file ``path``, written and read by whole blocks with
    ``os.pwrite``/``os.pread`` (no memory map: its pages would count as the process's memory); ``__setitem__`` takes
    the blocks :func:`dask.array.store` gives. Each call opens the file itself, so a cluster's workers can write and
    read it where they see the path."""

    def __init__(self, path: str, shape: tuple):
        self.path, self.shape = path, tuple(shape)
        self.row = int(np.prod(shape[1:])) * 4

    def __setitem__(self, key, value) -> None:
        frames, atoms = key[0], key[1]
        value = np.ascontiguousarray(value, dtype=np.float32)
        a0 = atoms.indices(self.shape[1])[0]
        fd = os.open(self.path, os.O_WRONLY)
        try:
            for k, f in enumerate(range(*frames.indices(self.shape[0]))):
                os.pwrite(fd, value[k].tobytes(), f * self.row + a0 * 12)
        finally:
            os.close(fd)

    def read(self, lo: int, hi: int) -> np.ndarray:
        fd = os.open(self.path, os.O_RDONLY)
        try:
            data = os.pread(fd, (hi - lo) * self.row, lo * self.row)
        finally:
            os.close(fd)
        return np.frombuffer(data, dtype=np.float32).reshape((hi - lo,) + self.shape[1:])
