"""No silent wrong answer on path-integral runs: files made to mimic i-PI, LAMMPS fix pimd/langevin and GPUMD, with
exact ring-polymer samples (trajmodes.quantum.ring_polymer_configurations) of a 32-atom fcc crystal whose frequencies
are known (3.50-7.00 THz), read and fitted as a careful user would. Each test failed before the fix it guards: the
Kubo estimators without a reference, a contradicting Kubo temperature, a frozen atom, two i-PI inputs of one prefix,
the same bead file twice, a GPUMD temperature ramp, non-integer bead counts, units changing mid-file, a nan in i-PI's
properties file, and the centroid's <u^2> printed as the run's."""
from __future__ import annotations

import re
import warnings

import numpy as np
import pytest

import trajmodes
from tests.quantum.support import harmonic_fcc, write_ipi_file, write_ipi_input
from trajmodes import ForceConstants
from trajmodes.errors import TrajectoryFormatError
from trajmodes.lattice import Crystal
from trajmodes.phonons.thermodynamics.sampling import supercell_modes
from trajmodes.quantum import KuboDisplacementConstants, KuboForceConstants, ring_polymer_configurations

T, P, FRAMES = 30.0, 8, 240


def _fcc() -> ForceConstants:
    c = harmonic_fcc(2)
    N = len(c["positions"])
    sc = Crystal(c["cell"], c["positions"], c["species"], c["masses"])
    return ForceConstants(c["hessian"].reshape(N, 3, N, 3).transpose(0, 2, 1, 3), sc)


def _nu(fc):
    m = supercell_modes(fc, allow_imaginary=True)
    return m.frequencies[~m.translations]


def write_run(folder, samples, *, n_beads=P, temperature=T, steps=None):
    """i-PI's files of the exact samples: PREFIX.pos_K.xyz (A), PREFIX.for_K.xyz (eV/A), input.xml."""
    fc = _fcc()
    L = float(fc.supercell.cell[0, 0])
    pos, frc = samples.positions.values, samples.forces.values
    n = len(pos)
    steps = range(0, 10 * n, 10) if steps is None else steps
    sp = list(fc.supercell.species)
    for b in range(n_beads):
        write_ipi_file(folder / f"sim.pos_{b}.xyz", pos[:, b], species=sp, abc=(L, L, L, 90, 90, 90), steps=steps,
                       bead=b)
        write_ipi_file(folder / f"sim.for_{b}.xyz", frc[:, b], species=sp, abc=(L, L, L, 90, 90, 90), steps=steps,
                       bead=b, quantity="forces", unit="ev/ang")
    write_ipi_input(folder, n_beads=n_beads, temperature=f'<temperature units="kelvin"> {temperature} </temperature>')
    return folder


@pytest.fixture(scope="module")
def samples():
    return ring_polymer_configurations(_fcc(), T, P, FRAMES, seed=11)


@pytest.fixture(scope="module")
def ipi(tmp_path_factory, samples):
    return write_run(tmp_path_factory.mktemp("ipi_exact"), samples)


# ---------------------------------------------------------------------------------------------- 1. Kubo, no reference
@pytest.mark.parametrize("kind", [KuboDisplacementConstants, KuboForceConstants])
def test_kubo_without_a_reference_takes_the_runs_symmetrised_mean_sites(ipi, kind):
    """Before: the centroid's first frame as the crystal, nothing symmetrised, the raw 96 x 96 covariance of 240
    frames inverted: frequencies 2.6-12 THz, up to 16-21 error bars off. Now: the run's time-averaged centroid sites
    rebuilt on their ideal fcc sites, as the fit over the beads takes them."""
    run = trajmodes.read_beads(ipi / "sim.pos_0.xyz")
    with warnings.catch_warnings():
        warnings.simplefilter("error")                                  # nothing to warn about: 80 frames per dof
        est = kind().fit(run)
    truth = _nu(_fcc())
    value, err, _ = est.jackknife(_nu)
    z = (value - truth) / err
    print(f"{kind.__name__}: {value.min():.3f}-{value.max():.3f} THz (exact {truth.min():.3f}-{truth.max():.3f}), "
          f"|z| max {np.abs(z).max():.2f}, largest relative error {np.abs(value / truth - 1).max():.4f}")
    assert est.primitive_.n_atoms == 1 and est.temperature_ == T
    assert np.abs(value / truth - 1).max() < 0.05 and np.abs(z).max() < 4.0


def test_too_few_frames_per_degree_of_freedom_is_said(samples):
    """The raw covariance (symmetrize=False: p = 93 directions) of 240 frames: the inverse's bias (~ +60 %) is said,
    with what to do; 60 frames for 93 directions are refused."""
    fc = _fcc()
    uc = samples.displacements.values.mean(axis=1)
    with pytest.warns(UserWarning, match=r"p = 93 directions.*biases the constants by about \+\d+ %.*longer run"):
        KuboDisplacementConstants(T, symmetrize=False).fit_arrays(fc.supercell, uc)
    with pytest.raises(ValueError, match="60 frames are too few for the 93 directions"):
        KuboDisplacementConstants(T, symmetrize=False, blocks=4).fit_arrays(fc.supercell, uc[:60])


# ---------------------------------------------------------------------------------------------- 2. Kubo temperature
@pytest.mark.parametrize("kind", [KuboDisplacementConstants, KuboForceConstants])
def test_a_kubo_temperature_that_contradicts_the_runs_input_is_refused(ipi, kind):
    """Before: 300 K given to a 30 K run was used (frequencies sqrt(10) off). read_beads(temperature=) refuses the
    same contradiction; so do the estimators, in its words. The input's own value is accepted."""
    run = trajmodes.read_beads(ipi / "sim.pos_0.xyz")
    with pytest.raises(ValueError, match=r"temperature=300\) was given, but 30 K is what .*input.xml states.*leave "
                                         "temperature= out"):
        kind(temperature=300.0).fit(run)
    assert kind(temperature=30.0).fit(run).temperature_ == T


# ---------------------------------------------------------------------------------------------- 3. a frozen atom
@pytest.mark.parametrize("kind", [KuboDisplacementConstants, KuboForceConstants])
def test_an_atom_whose_centroid_never_moves_is_refused_by_name(samples, kind):
    fc = _fcc()
    uc = samples.displacements.values.mean(axis=1).copy()
    uc[:, 7] = 0.0
    with pytest.raises(ValueError, match=r"the centroid of atom 7 \(0-based; 1 of 32 atoms\) never moves"):
        kind(T).fit_arrays(fc.supercell, uc, samples.forces.values.mean(axis=1))


def test_a_frozen_atom_in_the_files_is_refused_in_the_pass(tmp_path, samples):
    s = samples.copy(deep=True)
    s["positions"][:, :, 5] = s["positions"].values[0, 0, 5]            # every bead of atom 5 at one place
    run = trajmodes.read_beads(write_run(tmp_path, s) / "sim.pos_0.xyz")
    with pytest.raises(ValueError, match=r"centroid of atom 5 .* never moves"):
        KuboDisplacementConstants().fit(run)


# ---------------------------------------------------------------------------------------------- 4. two i-PI inputs
def test_two_ipi_inputs_of_the_runs_prefix_that_disagree_are_refused_naming_both(tmp_path, samples):
    """Before: fc.nc (an old input, 100 K) was taken by its name over the run's own input.xml (30 K)."""
    s = samples.isel(sample=slice(0, 8))
    write_run(tmp_path, s)
    (tmp_path / "fc.xml").write_text((tmp_path / "input.xml").read_text().replace("> 30.0 <", "> 100 <"))
    with pytest.raises(TrajectoryFormatError, match=r"input\.xml.*this input and fc\.xml both write the run's prefix "
                                                    r"'sim', but the temperature is 30 K here, 100 K in fc\.xml"):
        trajmodes.read_beads(tmp_path / "sim.pos_0.xyz")
    # inputs that agree: the first by name is taken, and named
    (tmp_path / "fc.xml").write_text((tmp_path / "input.xml").read_text())
    run = trajmodes.read_beads(tmp_path / "sim.pos_0.xyz")
    assert run.temperature == T and run.describe().endswith("(fc.xml)")


# ---------------------------------------------------------------------------------------------- 5. a bead file twice
def test_the_same_bead_file_twice_or_out_of_order_is_refused(tmp_path, samples):
    """Before: [pos_0, pos_0, pos_2] of a 3-bead run was read as three beads: bead 0 counted twice, bead 1 never."""
    write_run(tmp_path, samples.isel(sample=slice(0, 8), bead=slice(0, 3)), n_beads=3)
    f = [tmp_path / f"sim.pos_{b}.xyz" for b in range(3)]
    with pytest.raises(TrajectoryFormatError, match="the same file is given as bead 0 and as bead 1 of the 3 files"):
        trajmodes.read_beads([f[0], f[0], f[2]])
    with pytest.raises(TrajectoryFormatError, match=r"sim\.pos_2\.xyz.*its frames say Bead: 2, but it is given as "
                                                    "bead 1"):
        trajmodes.read_beads([f[0], f[2], f[1]])
    assert trajmodes.read_beads(f).n_beads == 3


# ---------------------------------------------------------------------------------------------- 8. units mid-file
def test_unit_braces_that_change_mid_file_are_refused_whatever_the_comments_first_80_bytes(tmp_path):
    """i-PI's fixed-cell comment 'CELL(abcABC): ...' is 82 bytes before Step:, so the first 80 bytes of every frame's
    comment are alike; before, the check of the units was skipped and frame 1 was read in frame 0's unit."""
    x = np.full((2, 1, 3), 1.0)
    write_ipi_file(tmp_path / "a.xyz", x[:1], species=["H"], abc=(20.0,) * 3 + (90.0,) * 3, steps=[0], unit="angstrom")
    write_ipi_file(tmp_path / "b.xyz", x[:1], species=["H"], abc=(20.0,) * 3 + (90.0,) * 3, steps=[10],
                   unit="atomic_unit")
    text = (tmp_path / "a.xyz").read_text() + (tmp_path / "b.xyz").read_text()
    lines = text.splitlines()
    assert lines[1][:80] == lines[4][:80] and "angstrom" not in lines[4][:80]
    (tmp_path / "sim.pos_0.xyz").write_text(text)
    from trajmodes.io.trajectories.ipi import IPIFile
    with pytest.raises(TrajectoryFormatError, match=r"frame 1.*states positions\{atomic_unit\}.*but frame 0 "
                                                    r"positions\{angstrom\}"):
        IPIFile(tmp_path / "sim.pos_0.xyz")


# ---------------------------------------------------------------------------------------------- 9. nan in PREFIX.out
def test_a_nan_in_the_properties_file_names_it_and_its_line(tmp_path, samples):
    """Before: 'sim.pos_0.xyz, sim.for_0.xyz, ..., frame 34: the potential energy ... is NaN' (a pooled sample's
    index, no word of the file that holds the nan)."""
    s = samples.isel(sample=slice(0, 20), bead=slice(0, 2))
    write_run(tmp_path, s, n_beads=2)
    head = ("# column   1     --> step : help text of i-PI\n"
            "# column   2     --> potential{electronvolt} : help text of i-PI\n")
    rows = [f"  {10 * i:.8e}  {0.1 + 0.001 * i:.8e}" for i in range(20)]
    rows[7] = f"  {70:.8e}  nan"
    (tmp_path / "sim.out").write_text(head + "\n".join(rows) + "\n")
    run = trajmodes.read_beads(tmp_path / "sim.pos_0.xyz", reference="average")
    with pytest.raises(TrajectoryFormatError, match=r"sim\.out, line 10: potential\{electronvolt\} \(column 2\): the "
                                                    r"bead average is nan at step 70 \(frame 7 of sim\.pos_\d\.xyz"):
        trajmodes.EffectiveForceConstants(cutoff2=4.0).fit(run.pooled)


# ---------------------------------------------------------------------------------------------- 7. bead counts
@pytest.mark.parametrize("n_beads", [True, float("nan"), 2.5, "four"])
def test_self_consistent_phonons_refuse_a_bead_count_that_is_no_whole_number(n_beads):
    from trajmodes.phonons.thermodynamics import SelfConsistentPhonons
    with pytest.raises(ValueError, match=r"n_beads must be a positive whole number .*not "):
        SelfConsistentPhonons(T, n_beads=n_beads)


# ---------------------------------------------------------------------------------------------- 10. info
def test_info_says_the_centroids_u2_and_prints_the_beads_beside_it(ipi, capsys):
    """Before: one <u^2>, the centroid's (for a harmonic crystal the classical value), as the run's. Now both, each
    within 5 % of its exact value (classical, and the 8-bead ring polymer's)."""
    from trajmodes.cli import main
    from trajmodes.quantum import mean_square_displacements
    assert main(["info", str(ipi / "sim.pos_0.xyz")]) == 0
    text = capsys.readouterr().out
    got = {w: np.array(re.search(rf"Ar: <u\^2> x y z = ([\d.]+) ([\d.]+) ([\d.]+) A\^2, rms \|u\| = [\d.]+ A \({w}\)",
                                 text).groups(), float) for w in ("centroid", "beads")}
    fc = _fcc()
    exact = {"centroid": mean_square_displacements(fc, T, occupation="classical"),
             "beads": mean_square_displacements(fc, T, n_beads=P)}
    for w, g in got.items():
        e = float(np.asarray(exact[w]).mean())
        print(f"{w}: <u^2> {g.mean():.5f} A^2, exact {e:.5f}")
        assert abs(g.mean() / e - 1) < 0.05, (w, g, e)
    assert "of the centroid (every atom's bead average" in text and "zero-point motion included" in text


# ---------------------------------------------------------------------------------------------- 6. a GPUMD ramp
def test_a_gpumd_temperature_ramp_is_refused_before_anything_is_fitted_or_written(tmp_path, capsys):
    """run.in ramps the temperature of the runs with dump_beads (ensemble pimd 4 50 100 100): before, `trajmodes run`
    wrote the centroid's cache and summary (its kinetic temperature as the run's) before the fit refused; the Kubo
    estimators said only 'give temperature='. Now both refuse first, naming run.in's line and --temperature."""
    import shutil
    from pathlib import Path
    from trajmodes.cli import main
    data = Path(__file__).resolve().parents[1] / "data" / "gpumd_pimd"
    run_dir = tmp_path / "run"
    shutil.copytree(data, run_dir, ignore=shutil.ignore_patterns("*.py", "*.md", "*.tmidx.npz"))
    text = (run_dir / "run.in").read_text()
    assert "ensemble      rpmd 4" in text
    (run_dir / "run.in").write_text(text.replace("ensemble      rpmd 4", "ensemble      pimd 4 50 100 100"))
    why = r"run\.in: line 11 ramps the temperature from 50 K to 100 K.*\(--temperature\)"
    out = tmp_path / "out"
    assert main(["run", str(run_dir), "--cutoff2", "4", "-o", str(out)]) != 0
    assert re.search(why, capsys.readouterr().err) and not (out / "trajectory.nc").exists()
    with pytest.raises(ValueError, match=why):
        KuboForceConstants().fit(trajmodes.read_beads(run_dir))
