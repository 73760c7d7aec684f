"""The masses of an ab initio MD run are those the program moved the atoms with: VASP's POMASS (each POTCAR's, or the
INCAR's when it sets them: deuterium, heavy atoms), echoed in the OUTCAR and in vasprun.xml's atominfo, and pw.x's
ATOMIC_SPECIES masses, printed in its start-up summary. ASE's readers drop them (its Atoms get the standard atomic
weights); trajmodes' ASE reader takes them from the files (trajmodes.io.trajectories.vasp_format: outcar_masses,
vasprun_masses; trajmodes.io.trajectories.espresso_format: espresso_masses).

Files are written by tests/support/dft_outputs.py in the programs' layouts: OUTCAR ``POMASS =   28.085; ZVAL`` per
POTCAR and ``Mass of Ions in am`` / ``POMASS =`` with F6.2 fields (which touch for masses of 100 amu and more),
vasprun.xml's ``atomtypes`` array (%16.8f), pw.x's ``atomic species valence mass pseudopotential`` table (F10.5).
The physics test runs an exact harmonic crystal with a mass twice Cu's: force constants fitted from its vasprun.xml
give the exact frequencies, and the kinetic temperature of its mode projection the run's, only with the POMASS.
"""
from __future__ import annotations

import warnings

import numpy as np
import pytest

pytest.importorskip("ase")
import ase.io  # noqa: E402

import trajmodes  # noqa: E402
from tests.support import dft_outputs  # noqa: E402
from trajmodes.io import read_structure  # noqa: E402
from trajmodes.lattice.elements import mass_of  # noqa: E402

SYMBOLS = ["Si"] * 6 + ["Ge"] * 2
POTCAR = {s: round(float(mass_of(s)), 3) for s in ("Si", "Ge")}       # the POTCARs' POMASS (3 decimals)


def _expected(masses: dict) -> np.ndarray:
    return np.array([masses[s] for s in SYMBOLS])


# INCAR POMASS: none (the POTCARs'), Ge heavy (fields touch: " 28.09195.08"), Si as light as deuterium
@pytest.mark.parametrize("pomass", [None, {"Ge": 195.08}, {"Si": 2.01, "Ge": 195.08}])
def test_vasp_masses_are_pomass(tmp_path, pomass):
    """OUTCAR and vasprun.xml give the masses VASP used: the POTCAR's (at its three decimals) unless the INCAR set
    others (at the two decimals the OUTCAR prints, the eight of vasprun.xml), not the standard atomic weights."""
    frames = dft_outputs.random_frames(4, SYMBOLS)
    want = _expected({**POTCAR, **(pomass or {})})
    outcar = dft_outputs.write_outcar(tmp_path / "OUTCAR", frames, potim_fs=1.0, pomass=pomass)
    vasprun = dft_outputs.write_vasprun(tmp_path / "vasprun.xml", frames, potim_fs=1.0, pomass=pomass)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for p in (outcar, vasprun):
            traj = trajmodes.read(p)
            assert np.array_equal(traj.masses, want), (p.name, traj.masses)
            assert np.array_equal(read_structure(p).masses, want), p.name   # an OUTCAR as the reference
    if pomass is not None:                                    # what ASE alone gives: the standard weights
        assert not np.allclose(ase.io.read(outcar).get_masses(), want)


def test_espresso_masses_are_atomic_species(tmp_path):
    """pw.x's masses are those of its ATOMIC_SPECIES card (printed to 5 decimals in the start-up summary)."""
    frames = dft_outputs.random_frames(4, SYMBOLS)
    p = dft_outputs.write_espresso_out(tmp_path / "md.pwo", frames, dt_ps=0.001, masses={"Si": 28.0855, "Ge": 73.5})
    assert np.array_equal(trajmodes.read(p).masses, _expected({"Si": 28.0855, "Ge": 73.5}))


def test_masses_given_win_and_missing_pomass_is_said(tmp_path):
    """masses= overrides the file's; an OUTCAR whose header lost its POMASS lines reads with the standard weights and
    a warning saying so."""
    frames = dft_outputs.random_frames(4, SYMBOLS)
    p = dft_outputs.write_outcar(tmp_path / "OUTCAR", frames, potim_fs=1.0, pomass={"Ge": 195.08})
    t = trajmodes.read(p, masses={"Si": 28.0, "Ge": 70.0})
    assert np.array_equal(t.masses, _expected({"Si": 28.0, "Ge": 70.0}))
    q = tmp_path / "cut" / "OUTCAR"
    q.parent.mkdir()
    q.write_text("\n".join(line for line in p.read_text().split("\n") if "POMASS" not in line) + "\n")
    with pytest.warns(UserWarning, match=r"OUTCAR: the OUTCAR's 'Mass of Ions in am' / POMASS lines not found.*"
                                         r"standard atomic weights are used. Pass masses="):
        t = trajmodes.read(q)
    assert np.allclose(t.masses, _expected({"Si": mass_of("Si"), "Ge": mass_of("Ge")}))


def test_poscar_reference_keeps_the_runs_masses(tmp_path):
    """A POSCAR states no masses: as the reference of an OUTCAR it leaves the run's POMASS in place (ASE would give
    it the standard weights, and the fit would take those)."""
    frames = dft_outputs.random_frames(4, SYMBOLS)
    p = dft_outputs.write_outcar(tmp_path / "OUTCAR", frames, potim_fs=1.0, pomass={"Ge": 195.08})
    poscar = tmp_path / "POSCAR"
    ase.io.write(poscar, ase.Atoms(SYMBOLS, positions=frames["positions"][0], cell=frames["cells"][0], pbc=True),
                 format="vasp", direct=True)
    assert read_structure(poscar).masses is None
    t = trajmodes.read(p, reference=poscar)
    assert np.array_equal(t.masses, _expected({**POTCAR, "Ge": 195.08})) and t.reference.masses is None


@pytest.mark.slow
def test_frequencies_and_kinetic_temperature_follow_pomass(tmp_path):
    """An fcc crystal of Morse pairs (4x4x4 primitive cells, 64 atoms) with a mass of 127.09 amu (POMASS, twice
    Cu's), run exactly (every normal mode analytic, 300 K, 100 frames 2 fs apart) and written as vasprun.xml; read
    with a POSCAR as the reference. The effective force constants fitted to it give the run's frequencies (exact
    diagonalisation of Phi / M) to 1e-6, and the kinetic temperature of its mode projection (Q' by centred
    differences, which lower the highest modes' by (sin x / x)^2, x = 2 pi nu dt: 0.14% here) is the run's
    2 <KE> / ((3N - 3) k_B) to 0.3%. With the standard mass instead, the frequencies would be sqrt(2) higher and the
    temperature half. About 6 s: slow tier."""
    from tests.support.crystals import CU, supercell
    from tests.support.harmonic_md import harmonic_run
    from tests.support.morse import morse_fc
    from trajmodes.forceconstants.fit import EffectiveForceConstants
    from trajmodes.lattice.qpoints import commensurate_qpoints
    from trajmodes.modes.energies import mode_energies
    from trajmodes.units import KB_EV
    S = np.diag([4, 4, 4])
    sc = supercell(CU, S)
    M, n = 127.09, 100
    run = harmonic_run(sc, morse_fc(sc, cutoff=4.7), np.full(sc.n_atoms, M), T=300.0, dt=0.002, n=n, seed=1)
    frames = dict(symbols=list(sc.species), positions=sc.positions + run["displacements"],
                  cells=np.tile(sc.cell, (n, 1, 1)), forces=run["forces"], velocities=run["velocities"],
                  potential_energy=run["energies"], pressure_tensor=np.zeros((n, 3, 3)))
    p = dft_outputs.write_vasprun(tmp_path / "vasprun.xml", frames, potim_fs=2.0, pomass={"Cu": M})
    poscar = tmp_path / "POSCAR"
    ase.io.write(poscar, ase.Atoms(sc.species, positions=sc.positions, cell=sc.cell, pbc=True), format="vasp")
    traj = trajmodes.read(p, reference=poscar)
    assert np.array_equal(traj.masses, np.full(sc.n_atoms, M))
    ph = trajmodes.Phonons(EffectiveForceConstants(cutoff2=4.8).fit(traj).force_constants_)
    nu = np.sort(ph.frequencies(commensurate_qpoints(S)).ravel())[3:]
    exact = np.sort(run["frequencies"])[3:]
    assert np.abs(nu / exact - 1).max() < 1e-6                   # measured 1.4e-7
    with pytest.warns(UserWarning, match="no velocities"):
        modes = trajmodes.project(traj, ph)
    T = mode_energies(modes).attrs["temperature"]
    T_run = 2 * run["kinetic"].mean() / ((3 * sc.n_atoms - 3) * KB_EV)
    assert abs(T / T_run - 1) < 3e-3                            # measured -1.3e-3
