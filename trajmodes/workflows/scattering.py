"""``trajmodes sqw``: the dynamic structure factor S(q, omega), F(q, t) and the current correlations of an MD run at
q-points commensurate with its cell (along a band path, given, or in |q| shells of a powder), with the dispersion of
force constants to draw over the map."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["ScatteringQpoints", "scattering_qpoints", "check_correlation_window", "structure_factor",
           "path_dispersion"]


@dataclass(frozen=True)
class ScatteringQpoints:
    """The q-points of ``trajmodes sqw``: along a band path, given, or in ``|q|`` shells (powder).

    Parameters
    ----------
    qpoints : ndarray (n, 3)
        Reduced q of the primitive cell (no 2 pi), or Cartesian rad/Å for a powder (``cartesian``).
    cartesian : bool
        Whether ``qpoints`` are Cartesian (a powder).
    primitive : Crystal or None
        The primitive cell of the run's reference (None for a powder).
    shell, edges : ndarray or None
        A powder's shell of every q and the shell edges (rad/Å).
    path : str or None
        The band path, as special-point letters.
    distance : ndarray (n,) or None
        The distance of every q along the path, 1/Å (no 2 pi).
    ticks : list of (float, str) or None
        The path's special points: their distance (1/Å) and label.
    """

    qpoints: np.ndarray
    cartesian: bool = False
    primitive: object = None
    shell: np.ndarray | None = None
    edges: np.ndarray | None = None
    path: str | None = None
    distance: np.ndarray | None = None
    ticks: list | None = None


def scattering_qpoints(trajectory, *, powder=None, per_shell: int | None = 20, qpoints=None, path: str | None = None,
                       seed: int = 0, reading=None) -> ScatteringQpoints:
    """The q-points commensurate with the MD cell of ``trajectory`` (its reference cell) at which ``trajmodes sqw``
    computes S(q, omega): one of ``powder`` = (q_min, q_max, n_shells) in rad/Å (at most ``per_shell`` q of
    each shell, drawn at random, ``seed``: :func:`trajmodes.modes.scattering_qpoints.powder_qpoints`), ``qpoints``
    (reduced q of the primitive cell, checked commensurate and resolvable) or ``path`` (special-point letters: every
    commensurate q on it, :func:`trajmodes.modes.scattering_qpoints.path_qpoints`). ``reading``: the pass of the
    run's read after it (:meth:`~trajmodes.trajectory.core.Trajectory.read_pass`), which holds the frames of a
    provisional reference taken for the primitive cell, and the pass's first chunks, parsed by a thread while the
    primitive cell is searched for (:meth:`~trajmodes.trajectory.passes.Pass.reading_ahead`), for
    :func:`structure_factor` given it to take.

    Parameters
    ----------
    trajectory : Trajectory
        The run; its reference cell gives the commensurate q.
    powder : (float, float, int), optional
        (q_min, q_max, n_shells), rad/Å: q in ``|q|`` shells.
    per_shell : int or None
        At most this many q of each powder shell, drawn at random; None: all.
    qpoints : array_like (n, 3), optional
        Given q, reduced in the primitive cell.
    path : str, optional
        Every commensurate q on this band path (special-point letters).
    seed : int
        Seed of the powder's random draw.
    reading : Pass, optional
        The pass of the run's read after it, which holds the frames of a provisional reference and those read ahead.
    """
    from trajmodes.modes.scattering_qpoints import cartesian_qpoints, path_qpoints, powder_qpoints, run_primitive
    cell = np.asarray(trajectory.lattice_cell, float)     # no frame parsed for the cell
    if powder is not None:
        q_min, q_max, n_shells = powder
        q, shell, edges = powder_qpoints(cell, q_min, q_max, n_shells, per_shell, seed=seed)
        return ScatteringQpoints(q, cartesian=True, shell=shell, edges=edges)
    if reading is None:
        prim = run_primitive(trajectory)
    else:
        # the frames of the provisional reference first (held for the pass), then the symmetry search while a thread
        # parses the pass's first chunks (as the fit's), so that a second core is not idle during it
        if not trajectory.reference_known:
            reading.provisional_reference()
        with reading.reading_ahead():
            prim = run_primitive(trajectory, reading=reading)
    if qpoints is not None:
        q = np.asarray(qpoints, float)
        cartesian_qpoints(q, cell, prim.cell)         # commensurate and resolvable, before the run is read
        return ScatteringQpoints(q, primitive=prim)
    from trajmodes.phonons.harmonic.bands import path_pieces
    pieces, labels = path_pieces(prim, path)
    q, dist, ticks = path_qpoints(prim, cell, pieces, labels)
    return ScatteringQpoints(q, primitive=prim, path=path, distance=dist, ticks=ticks)


def check_correlation_window(trajectory, window: int, step: int = 1) -> None:
    """Refuse, before the run is read, a correlation window or step of time origins that the run cannot give
    (:func:`trajmodes.modes.structure_factor.check_window`).

    Parameters
    ----------
    trajectory : Trajectory
        The run.
    window : int
        Frames of the time correlation window.
    step : int
        Frames between time origins.
    """
    from trajmodes.modes.structure_factor import check_window
    check_window(trajectory, window, step)


def structure_factor(trajectory, qpoints: ScatteringQpoints, reading=None, **options):
    """S(q, omega), F(q, t) and the current correlations of ``trajectory`` at ``qpoints`` (:func:`scattering_qpoints`):
    :func:`trajmodes.modes.structure_factor.dynamic_structure_factor` with ``options`` (window, step, currents,
    incoherent, weights), averaged over each ``|q|`` shell for a powder, with the band-path distance for a path;
    read in the pass ``reading`` where given (:func:`scattering_qpoints`'s).

    Parameters
    ----------
    trajectory : Trajectory
        The run.
    qpoints : ScatteringQpoints
        Where S(q, omega) is computed (:func:`scattering_qpoints`).
    reading : Pass, optional
        The pass the run is read in.
    **options
        ``window``, ``step``, ``currents``, ``incoherent``, ``weights`` of
        :func:`trajmodes.modes.structure_factor.dynamic_structure_factor`.
    """
    from trajmodes.modes.structure_factor import dynamic_structure_factor
    ds = dynamic_structure_factor(trajectory, qpoints.qpoints, cartesian=qpoints.cartesian,
                                  primitive=qpoints.primitive, reading=reading, **options)
    if qpoints.shell is not None:
        from trajmodes.modes.scattering_qpoints import shell_average
        return shell_average(ds, qpoints.shell, qpoints.edges)
    if qpoints.distance is not None:
        ds = ds.assign_coords(path_distance=("q", qpoints.distance, {"units": "1/Angstrom (no 2 pi)",
                                                                     "long_name": "band path"}))
        ds.attrs.update(path=qpoints.path, path_tick_distance=np.array([t[0] for t in qpoints.ticks]),
                        path_tick_labels=",".join(t[1] for t in qpoints.ticks))
    return ds


def path_dispersion(force_constants, path: str, primitive=None):
    """The harmonic band structure of ``force_constants`` (or the file or folder that holds them) along ``path`` and
    the point group of their primitive cell (unique integer rotations, reduced), to draw over a map along the path:
    (bands, rotations). ``primitive``, the run's primitive cell the map is drawn for: constants of another crystal
    are refused (:func:`~trajmodes.lattice.qpoints.qpoints_in`; another choice of primitive vectors is the same
    crystal, and its path's special points are the same points of the zone).

    Parameters
    ----------
    force_constants : ForceConstants or path
        The constants (or the file or folder that holds them).
    path : str
        Band path as special-point letters.
    primitive : Crystal, optional
        The run's primitive cell: constants of another crystal are refused.
    """
    from trajmodes.lattice.qpoints import qpoints_in
    from trajmodes.forceconstants.model import ForceConstants
    from trajmodes.phonons.harmonic.phonons import Phonons
    from trajmodes.workflows.reading import load_force_constants
    name = str(force_constants)
    if not isinstance(force_constants, ForceConstants):
        force_constants = load_force_constants(force_constants)
    if primitive is not None:
        qpoints_in(np.zeros((1, 3)), primitive, force_constants.primitive,
                   names=("the run's primitive cell", f"that of the force constants {name}"))
    ph = Phonons(force_constants)
    return ph.band_structure(path), np.unique(np.asarray(ph.force_constants.primitive.rotations, int), axis=0)
