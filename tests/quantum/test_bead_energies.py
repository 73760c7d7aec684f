"""The potential energy of every bead of an i-PI path-integral run, from its properties file (``PREFIX.out``), and the
TDEP free energy of the quantum ensemble it gives: F_0 = U_0 + F_h(Phi), U_0 = <U - 1/2 u Phi u> over the beads
(:mod:`trajmodes.quantum.free_energy`).

i-PI 3 writes ``bead_potentials`` (one column per bead: ``# cols.    6-9   --> bead_potentials{electronvolt} : ...``)
and the bead-averaged ``potential`` (``# column   5     --> potential{electronvolt} : ...``); without braces in atomic
units (Hartree). Each bead's frame gets its own column of the row of the frame's MD step; with ``potential`` alone,
the bead average, which gives U_0 exactly (it is linear in U: the mean over the beads of a step is the same)."""
from __future__ import annotations

import re
import shutil

import numpy as np
import pytest
import xarray as xr

import trajmodes
from tests.quantum.support import cached_ipi_run, harmonic_fcc, write_ipi_file, write_ipi_input
from trajmodes.errors import TrajectoryFormatError
from trajmodes.io.trajectories.ipi import IPISource
from trajmodes.io.trajectories.ipi_files import read_properties_energy
from trajmodes.units import HARTREE_EV

ABC = (7.0, 7.0, 7.0, 90.0, 90.0, 90.0)


def _header(columns) -> str:
    """i-PI's header lines of ``columns``: (name, number of columns)."""
    out, c = [], 1
    for name, n in columns:
        where = f"column {c:3d}    " if n == 1 else f"cols.  {c:3d}-{c + n - 1:<3d}"
        out.append(f"# {where} --> {name} : help text of i-PI")
        c += n
    return "\n".join(out) + "\n"


def _beads(folder, n_beads=2, steps=(0, 10, 20)):
    rng = np.random.default_rng(5)
    for b in range(n_beads):
        write_ipi_file(folder / f"sim.pos_{b}.xyz", rng.normal(size=(len(steps), 2, 3)) + 2.0, species=["H", "H"],
                       abc=ABC, steps=list(steps), bead=b)
    write_ipi_input(folder, n_beads=n_beads)


def _bead_energy(step, bead):
    return 0.01 * step + 0.1 * bead + 0.001


def test_bead_potentials_give_each_bead_its_own_energy_matched_by_step(tmp_path):
    """Properties every 5 steps, positions every 10: each frame takes the row of its step, bead K the K-th column of
    ``bead_potentials`` in eV; the bead-averaged ``potential`` (Hartree, no braces) beside it is not used."""
    _beads(tmp_path)
    rows = []
    for s in range(0, 25, 5):
        e = [_bead_energy(s, b) for b in range(2)]
        rows.append(f"  {s:.8e}  {s * 0.5e-3:.8e}  {np.mean(e) / HARTREE_EV:.8e}  {e[0]:.8e} {e[1]:.8e}")  # 0.5 fs
    (tmp_path / "sim.out").write_text(_header([("step", 1), ("time{picosecond}", 1), ("potential", 1),
                                               ("bead_potentials{electronvolt}", 2)]) + "\n".join(rows) + "\n")
    for b in range(2):
        src = IPISource(tmp_path / f"sim.pos_{b}.xyz")
        assert src.frame_fields == ("potential_energy",) and src.energy_problem is None
        assert "bead_potentials{electronvolt}, bead %d" % b in src.energy_from
        np.testing.assert_allclose(src.read([0, 1, 2])["potential_energy"], [_bead_energy(s, b) for s in (0, 10, 20)],
                                   rtol=1e-8)
        np.testing.assert_allclose(src.read([2], ("potential_energy",))["potential_energy"], [_bead_energy(20, b)],
                                   rtol=1e-8)
    # the pooled samples f P + b carry bead b's energy of frame f
    run = trajmodes.read_beads(tmp_path / "sim.pos_0.xyz")
    assert run.pooled.frame_fields == ("potential_energy",)
    got = np.asarray(run.pooled.potential_energy).reshape(3, 2)
    np.testing.assert_allclose(got, [[_bead_energy(s, b) for b in range(2)] for s in (0, 10, 20)], rtol=1e-8)
    assert run.centroid.frame_fields == ()                       # the centroid's energy is not the beads' average


def test_the_bead_averaged_potential_alone_is_every_beads_energy_in_hartree(tmp_path):
    _beads(tmp_path)
    text = _header([("step", 1), ("potential", 1)]) + "".join(f"  {s:.8e}  {0.5 + s:.8e}\n" for s in (0, 10, 20))
    (tmp_path / "sim.out").write_text(text + "  3.00000000e+01  3.05")             # a cut last row: dropped
    for b in range(2):
        src = IPISource(tmp_path / f"sim.pos_{b}.xyz")
        assert "the bead average" in src.energy_from
        np.testing.assert_allclose(src.read([0, 1, 2])["potential_energy"], (0.5 + np.array([0, 10, 20])) * HARTREE_EV,
                                   rtol=1e-12)
    got = read_properties_energy(str(tmp_path / "sim.out"), 1)
    assert got.bead_average and got.steps.tolist() == [0, 10, 20] and got.lines.tolist() == [3, 4, 5]


def test_a_frame_without_a_row_of_its_step(tmp_path):
    """Properties every 20 steps, positions every 10: the frames have no energy (and say why); the file given
    explicitly is refused, naming the file, the line and what to do."""
    _beads(tmp_path)
    (tmp_path / "sim.out").write_text(_header([("step", 1), ("bead_potentials{electronvolt}", 2)])
                                      + "".join(f"  {s}  1.0 2.0\n" for s in (0, 20)))
    with pytest.warns(UserWarning, match=r"sim.pos_0.xyz: the frames have no potential energy .*no row of step 10"):
        src = IPISource(tmp_path / "sim.pos_0.xyz")           # said once a run: of bead 0's file
    assert src.frame_fields == () and "no row of step 10" in src.energy_problem
    with pytest.warns(UserWarning, match=r"the frames have no potential energy") as said:
        run = trajmodes.read_beads(tmp_path / "sim.pos_0.xyz")
    assert len([w for w in said if "no potential energy" in str(w.message)]) == 1
    assert run.pooled.frame_fields == () and "no row of step 10" in run._source.energy_problem
    with pytest.raises(TrajectoryFormatError, match=r"sim\.out.*line 4.*no row of step 10 \(its rows every 20 "
                                                    r"steps\).*frame 1 of sim\.pos_0\.xyz.*stride that divides"):
        IPISource(tmp_path / "sim.pos_0.xyz", properties=tmp_path / "sim.out")
    assert IPISource(tmp_path / "sim.pos_0.xyz", properties=False).frame_fields == ()
    # a damaged row in the middle is refused with its line; bead_potentials of another length than the run's beads
    (tmp_path / "sim.out").write_text(_header([("step", 1), ("bead_potentials", 2)]) + "  0 1 2\n  10 1\n  20 1 2\n")
    with pytest.raises(TrajectoryFormatError, match=r"line 4.*a row of 2 numbers, but the header names 3"):
        IPISource(tmp_path / "sim.pos_0.xyz", properties=tmp_path / "sim.out")
    (tmp_path / "sim.out").write_text(_header([("step", 1), ("bead_potentials", 3)]) + "  0 1 2 3\n")
    with pytest.raises(TrajectoryFormatError, match=r"line 2.*bead_potentials has 3 columns, but the run has 2 beads"):
        IPISource(tmp_path / "sim.pos_0.xyz", properties=tmp_path / "sim.out")


# --- a real i-PI run of a harmonic crystal (forces -H u exactly; tests/quantum/support.py) --------------------------
P, T = 4, 30.0
CRYSTAL = harmonic_fcc()                          # 32 atoms, fcc nearest-neighbour springs, 1 atom per primitive cell
KEYS = ("hessian", "masses", "positions", "cell", "species")


@pytest.fixture(scope="module")
def ipi(tmp_path_factory):
    pytest.importorskip("ipi")
    return cached_ipi_run(tmp_path_factory, n_beads=P, temperature=T, steps=1200, stride=4, bead_potentials=True,
                          **{k: CRYSTAL[k] for k in KEYS})


def _reference():
    c = CRYSTAL
    return trajmodes.Crystal(c["cell"], c["positions"], list(c["species"]), c["masses"])


def _exact(n_beads=P, mesh=8):
    """The harmonic free energy of ``n_beads`` beads (None: P -> infinity) on a q ``mesh`` and the P-bead <U> of the
    32-atom crystal, eV per cell.

    <U> = (omega / 2) dF_P / d omega per mode: omega enters the discretised partition function only through the
    beads' potential (1/P) sum_j 1/2 m omega^2 q_j^2."""
    from trajmodes.forceconstants import ForceConstants
    from trajmodes.lattice import mesh_qpoints
    from trajmodes.phonons.harmonic import Phonons, zero_gamma_acoustic
    from trajmodes.quantum.free_energy import ring_polymer_mode_free_energy
    from trajmodes.units import AMU_A2_PS2_EV
    c, n = CRYSTAL, len(CRYSTAL["positions"])
    fc = ForceConstants(c["hessian"].reshape(n, 3, n, 3).transpose(0, 2, 1, 3), _reference())
    q = mesh_qpoints(mesh)
    F = float(ring_polymer_mode_free_energy(zero_gamma_acoustic(q, Phonons(fc).frequencies(q)), T, n_beads).sum()) / len(q)
    m3 = np.repeat(c["masses"], 3)
    lam = np.linalg.eigvalsh(c["hessian"] / np.sqrt(np.outer(m3, m3)))
    nu = np.sqrt(lam[lam > 1e-8] / AMU_A2_PS2_EV) / (2 * np.pi)                 # THz, the 3 translations left out
    h = 1e-5
    dF = (ring_polymer_mode_free_energy(nu * (1 + h), T, P) - ring_polymer_mode_free_energy(nu * (1 - h), T, P)) / 2 / h
    return F, 0.5 * dF.sum() / n


def test_the_tdep_free_energy_over_the_beads_is_the_exact_quantum_harmonic_one(ipi, tmp_path):
    from trajmodes import EffectiveForceConstants
    from trajmodes.phonons.thermodynamics import tdep_free_energy
    from trajmodes.quantum import path_integral_free_energy
    run = trajmodes.read_beads(str(ipi / "sim.pos_0.xyz"), reference=_reference())
    assert run.pooled.frame_fields == ("potential_energy",) and "bead_potentials" in run._source.energy_from
    e = np.asarray(run.pooled.potential_energy).reshape(run.n_frames, P)
    prop = np.loadtxt(ipi / "sim.out")
    np.testing.assert_allclose(e.mean(axis=1), prop[:, 4], atol=2e-8)   # the beads' mean: i-PI's bead average
    assert np.ptp(e[10:], axis=1).min() > 0                             # the beads' energies differ
    fit = EffectiveForceConstants(cutoff2=4.0).fit(run.pooled)
    F = path_integral_free_energy(fit, T, mesh=8, n_beads=P)
    ds = tdep_free_energy(fit, T, mesh=8, occupation="quantum", errors=True)
    F_exact, U_exact = _exact()
    print(f"F_0 over {P} x {run.n_frames} beads {F['free_energy']:.9f} eV/cell (U_0 {F['baseline_energy']:.2e} +- "
          f"{float(ds.baseline_energy_err):.1e}), exact P = {P}: {F_exact:.9f}; <U> {float(ds.potential_energy):.5f} "
          f"+- {float(ds.potential_energy_err):.5f}, exact {U_exact:.5f}")
    # U_0 is the static energy 0 (within its error), F_h of the fitted constants the crystal's: F_0 exact
    assert abs(F["baseline_energy"]) < 4 * float(ds.baseline_energy_err) + 1e-8
    assert abs(F["harmonic_free_energy"] - F_exact) < 1e-6 * abs(F_exact)
    assert abs(F["free_energy"] - F_exact) < 4 * float(ds.baseline_energy_err) + 1e-6 * abs(F_exact)
    # and <U> over the beads (read from i-PI, eV) is the exact P-bead one: the energies are the beads' own
    assert abs(float(ds.potential_energy) - U_exact) < 3.5 * float(ds.potential_energy_err)
    assert float(ds.potential_energy_err) < 0.05 * U_exact

    # the same run with the bead-averaged potential alone: U_0 the same to round-off (it is linear in U)
    copy = tmp_path / "run"
    shutil.copytree(ipi, copy)
    lines = (copy / "sim.out").read_text().splitlines()
    head = [h for h in lines if h.startswith("#") and "bead_potentials" not in h]
    (copy / "sim.out").write_text("\n".join(head + [" ".join(r.split()[:5]) for r in lines if not r.startswith("#")])
                                  + "\n")
    avg = trajmodes.read_beads(str(copy / "sim.pos_0.xyz"), reference=_reference())
    assert "the bead average" in avg._source.energy_from
    fit_avg = EffectiveForceConstants(cutoff2=4.0).fit(avg.pooled)
    n = fit.supercell_.n_atoms
    for k in ("potential", "baseline"):
        assert abs(fit_avg.energies_[k] - fit.energies_[k]) / n < 1e-8, k
    assert abs(path_integral_free_energy(fit_avg, T, mesh=8, n_beads=P)["free_energy"] - F["free_energy"]) < 1e-8


def test_series_prints_the_free_energy_of_a_path_integral_run(ipi, tmp_path, capsys):
    from trajmodes.cli import main
    out = tmp_path / "series"
    assert main(["series", str(ipi / "sim.pos_0.xyz"), "--cutoff2", "4", "--resamples", "10", "-o", str(out)]) == 0
    text = capsys.readouterr().out
    assert "fitted over its 4 beads" in text and "no free energy" not in text
    row = next(r for r in text.splitlines() if r.startswith("sim.pos_0.xyz (4 beads)") and "+-" in r)
    F = float(re.search(r"(-?\d+\.\d+)\+-", row).group(1))
    with xr.open_dataset(out / "series.nc") as ds:
        assert float(ds["free_energy"].values[0]) == pytest.approx(F, abs=1e-5)
    # U_0 (0 here) + the quantum (P -> infinity) harmonic free energy of the constants: the crystal's
    exact = _exact(n_beads=None, mesh=16)[0]
    print(f"series: F_0 = {F:.5f} eV/cell, exact quantum harmonic {exact:.5f}")
    assert abs(F - exact) < 1e-4


def test_series_says_why_a_path_integral_run_has_no_free_energy(ipi, tmp_path, capsys):
    """The properties file of the run written every other step of the bead files: the frames between have no
    potential energy, and the series names the run and the reader's reason (the step without a row)."""
    from trajmodes.cli import main
    copy = tmp_path / "run"
    shutil.copytree(ipi, copy)
    lines = (copy / "sim.out").read_text().splitlines()
    rows = [r for r in lines if not r.startswith("#")]
    (copy / "sim.out").write_text("\n".join([h for h in lines if h.startswith("#")] + rows[::2]) + "\n")
    missing = int(float(rows[1].split()[0]))
    assert main(["series", str(copy / "sim.pos_0.xyz"), "--cutoff2", "4", "--resamples", "10",
                 "-o", str(tmp_path / "series")]) == 0
    text = capsys.readouterr().out
    note = next(r for r in text.splitlines() if r.startswith("note:"))
    assert "no free energy: not every frame has a potential energy in sim.pos_0.xyz (4 beads)" in note
    assert "sim.pos_0.xyz (4 beads): " in note and f"no row of step {missing}" in note
