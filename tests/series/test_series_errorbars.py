"""The default error bars of fit_series and `trajmodes series` (trajmodes.series.errorbars), on short real LAMMPS runs
of 32-atom Cu EAM at 300 K (tests/support/lammps_series.py, about 0.4 s each): a run whose modes keep their energies
(NVE) gets the partition estimate, its terms equal to those computed here independently from their definitions;
runs whose modes exchange their energies (Langevin) get the blocking bootstrap; what cannot be had is marked as a
lower bound with its reason; the series table names runs of one file name apart and shows every branch."""
from __future__ import annotations

import shutil
import warnings

import numpy as np
import pytest

from tests.support.cli_warnings import assert_warned
import trajmodes
from trajmodes.phonons.thermodynamics.uncertainty import FrequenciesWithErrors, classical_dnu_dT, frequencies_with_errors

pytest.importorskip("lammps")
from tests.support.lammps_series import generate_run  # noqa: E402

Q = np.array([[0.5, 0.0, 0.5], [0.5, 0.5, 0.5]])             # X and L of fcc
A = 3.6319                                                  # the 0 bar lattice parameter of this Cu at 300 K
SETTINGS = dict(qpoints=Q, cutoff2=3.0, mesh=(4, 4, 4), npoints=2, path="GX", n_resamples=100)


def _run(tmp, T, seed, thermostat="nve", frames=125, damp=0.5):
    """A 32-atom Cu run: 2.5 ps (125 frames 0.02 ps apart) after 2 ps of Langevin thermalisation."""
    return generate_run(tmp, "cu", T, A, seed, cells=2, frames=frames, nevery=10, dt=0.002, thermostat=thermostat,
                        prod_damp=damp, equil_ps=2.0)


def _read(run):
    return trajmodes.read(run["dump"], reference=run["data"])


@pytest.fixture(scope="module")
def md(tmp_path_factory):
    out = tmp_path_factory.mktemp("errorbars")
    return dict(nve=_run(out, 300.0, 11), hot=_run(out, 450.0, 12),
                langevin=_run(out, 300.0, 13, "langevin", frames=250, damp=0.1), out=out)


def _quiet(fn, *a, **k):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*a, **k)


def test_nve_series_gets_the_partition_estimate(md):
    """Two NVE runs (300 and 450 K, one volume; sigma_A below 0.3): the modes keep their energies over 2.5 ps, so the default is the
    partition estimate, not a lower bound; frequency_err^2 = bootstrap^2 + max(partition^2 + temperature^2,
    net_slope^2) with each term recomputed here from its definition (a fourth order fitted to the run, the run
    projected on its modes, d nu / dT between the two runs less its variance, the NVE energy draw T / sqrt(3N - 3));
    the error is larger than the bootstrap's alone (which under-covers such runs: docs/series.md)."""
    from trajmodes.forceconstants.fit import EffectiveForceConstants
    from trajmodes.forceconstants.model import ForceConstants
    from trajmodes.modes.energies import frozen_energy_fraction
    from trajmodes.phonons.harmonic.phonons import Phonons
    from trajmodes.phonons.thermodynamics.uncertainty import partition_err, partition_temperature_err
    from trajmodes.series import fit_series
    runs = [_read(md["nve"]), _read(md["hot"])]
    s = _quiet(fit_series, runs, **SETTINGS)
    ds = s.dataset
    assert list(ds.error_model.values) == ["partition", "partition"]
    assert not ds.error_is_lower_bound.values.any() and ds.frequency_err.attrs["error_is_lower_bound"] == 0
    assert ds.frequency_err.attrs["error_model"] == "partition"
    assert list(ds.energy_conserved.values) == [1, 1] and (ds.sigma_a.values < 0.3).all()
    nu = ds.frequency.values
    parts, boots = [], []
    for f, traj in zip(s.fits, runs):
        boots.append(frequencies_with_errors(f, Q).frequency_err)                # the bootstrap alone
        em = _quiet(EffectiveForceConstants(cutoff2=3.0, cutoff3=3.0, cutoff4=3.0).fit, traj)
        fc = ForceConstants(f.fc2_, f.supercell_, f.primitive_, smap=f.smap_, p2s=f.p2s_, fc4=em.fc4_)
        frozen = _quiet(frozen_energy_fraction, trajmodes.project(traj, Phonons(f.harmonic_force_constants_)),
                        temperature=f.temperature_)
        both = np.concatenate([Q, ds.path_qpoint.values])        # the series' batch: the same degenerate bases
        parts.append(partition_err(fc, frozen, both)[:len(Q)])
    boots, parts = np.array(boots), np.array(parts)
    assert np.allclose(ds.frequency_bootstrap_err.values, boots, rtol=1e-10, atol=1e-12)
    assert np.allclose(ds.frequency_partition_err.values, parts, rtol=1e-6, atol=1e-9)
    T = ds.temperature.values
    e0 = np.sqrt(boots ** 2 + parts ** 2)                                        # without the temperature term
    d = (nu[1] - nu[0]) / (T[1] - T[0])
    var_d = (e0[0] ** 2 + e0[1] ** 2) / (T[1] - T[0]) ** 2
    d_used = np.sqrt(np.maximum(d ** 2 - var_d, 0.0))
    assert np.allclose(np.abs(ds.dnu_dT.values), d_used[None], rtol=1e-6, atol=1e-12)
    for r, f in enumerate(s.fits):
        t_err = np.hypot(f.temperature_err_, f.temperature_ / np.sqrt(3 * 32 - 3))     # NVE: its energy draw
        temp = d_used * t_err
        net = d_used * partition_temperature_err(f, thermostatted=False)
        expect = np.sqrt(boots[r] ** 2 + np.maximum(parts[r] ** 2 + temp ** 2, net ** 2))
        assert np.allclose(ds.frequency_err.values[r], expect, rtol=1e-6)
    moving = np.abs(nu) > 0.5
    assert np.all(ds.frequency_err.values[moving] > boots[moving])
    assert np.median(ds.frequency_err.values[moving] / boots[moving]) > 1.2


def test_runs_that_exchange_mode_energies_keep_the_blocking_bootstrap(md):
    """A Langevin run (5 ps, damping 0.1 ps) redraws every mode's energy: its frozen share is small, no fourth order is
    fitted, and the blocking bootstrap (calibrated for such runs: 1.06-1.21 in docs/series.md) is its error, not
    marked as a lower bound."""
    from trajmodes.series import fit_series
    from trajmodes.series.errorbars import EXCHANGE_SHARE, error_model_inputs
    s = _quiet(fit_series, [_read(md["langevin"])], **SETTINGS)
    ds = s.dataset
    assert list(ds.error_model.values) == ["bootstrap"] and not ds.error_is_lower_bound.values[0]
    assert ds.frozen_share.values[0] < EXCHANGE_SHARE and ds.energy_conserved.values[0] == 0
    assert np.array_equal(ds.frequency_err.values, ds.frequency_bootstrap_err.values)
    assert _quiet(error_model_inputs, s.fits[0], _read(md["langevin"])).quartic is None


def test_lower_bounds_say_why(md):
    """What the calibrated estimate needs and the run does not give is named, and the error bar marked as a lower
    bound: one NVE run alone has no d nu / dT (its energy draw cannot be turned into a frequency error); a run without
    velocities cannot tell whether its modes kept their energies; a series built from fits alone was never projected.
    """
    from trajmodes.series import Series, fit_series
    nve = _read(md["nve"])
    ds = _quiet(fit_series, [nve], **SETTINGS).dataset
    assert ds.error_is_lower_bound.values[0] and ds.frequency_err.attrs["error_is_lower_bound"] == 1
    assert ds.error_model.values[0] == "partition" and "no d nu / dT" in str(ds.error_model_reason.values[0])
    assert "no d nu / dT" in ds.frequency_err.attrs["error_lower_bound_reason"]
    from trajmodes.cli.series import _frequency_table
    assert "LOWER BOUND (partition): the modes kept their energies" in _frequency_table(ds).splitlines()[-1]
    # a crystal too anharmonic for the lowest-order partition estimate (sigma_A above 0.3, as bcc Zr at 1300 K)
    import dataclasses
    from trajmodes.series.errorbars import error_model_inputs, run_frequency_errors
    fit = _quiet(fit_series, [nve], **dict(SETTINGS, error_model="bootstrap")).fits[0]
    found = dataclasses.replace(_quiet(error_model_inputs, fit, nve, fourth_order=False), share=0.9, sigma_a=0.6)
    r = run_frequency_errors(fit, Q, found)
    assert r.lower_bound and r.model == "bootstrap" and "strongly anharmonic" in r.reason
    frames = nve.positions.compute(), nve.forces.compute()
    bare = trajmodes.from_arrays(frames[0], nve.reference.cell, nve.species, forces=frames[1], masses=nve.masses,
                                 frame_interval=nve.frame_interval, reference=nve.reference)
    s = _quiet(fit_series, [bare], temperatures=[300.0], **SETTINGS)
    ds = s.dataset
    assert ds.error_model.values[0] == "bootstrap" and ds.error_is_lower_bound.values[0]
    assert "no velocities" in str(ds.error_model_reason.values[0])
    fits = s.fits
    ds = _quiet(Series, fits, [300.0], ["x"], qpoints=Q, mesh=(4, 4, 4), npoints=2, path="GX").dataset
    assert ds.error_is_lower_bound.values[0] and "not projected" in str(ds.error_model_reason.values[0])


def test_error_bars_of_strongly_anharmonic_runs_are_lower_bounds_whichever_model(md, monkeypatch):
    """Every model was calibrated on sigma_A 0.08-0.21: a run above SIGMA_A_LIMIT whose modes exchanged their energies
    (wurtzite GaN at 1200 K: sigma_A 0.43, once printed "bootstrap, calibrated") gets the bootstrap labelled as a lower
    bound with the reason first, in the printed line, the dataset's attributes and those of frequency_err; the same
    run at its own sigma_A stays calibrated."""
    import dataclasses
    import trajmodes.series.errorbars as errorbars
    from trajmodes.cli.options import error_model_line
    from trajmodes.workflows import fit_effective, frequency_error_bars
    run = _read(md["langevin"])
    res = _quiet(fit_effective, run, cutoff2=3.0)
    ds = _quiet(frequency_error_bars, res, run, qpoints=Q, qlabels=["X", "L"], n_resamples=50)
    assert ds.attrs["error_model"] == "bootstrap" and not ds.attrs["error_is_lower_bound"]
    assert ds.attrs["error_bars"].startswith("calibrated (the modes exchanged their energies")
    assert ds.frequency_err.attrs["error_bars"] == ds.attrs["error_bars"]
    found = _quiet(errorbars.error_model_inputs, res.estimator, run, fourth_order=False)
    assert found.exchanging
    hot = dataclasses.replace(found, sigma_a=0.43)
    r = errorbars.run_frequency_errors(res.estimator, Q, hot)
    assert r.lower_bound and r.model == "bootstrap"
    assert r.reason.startswith("sigma_A = 0.43 > 0.3: strongly anharmonic") and "exchanged" in r.reason
    real = errorbars.error_model_inputs
    monkeypatch.setattr(errorbars, "error_model_inputs",
                        lambda *a, **k: dataclasses.replace(real(*a, **k), sigma_a=0.43))
    ds = _quiet(frequency_error_bars, res, run, qpoints=Q, qlabels=["X", "L"], n_resamples=50)
    assert ds.attrs["error_is_lower_bound"] == 1
    assert ds.attrs["error_bars"].startswith("lower bound (sigma_A = 0.43 > 0.3: strongly anharmonic")
    assert ds.frequency_err.attrs["error_bars"] == ds.attrs["error_bars"]
    line = error_model_line(ds.attrs["error_model"], True, ds.attrs["error_model_reason"])
    assert line.startswith("LOWER BOUND (bootstrap): sigma_A = 0.43 > 0.3: strongly anharmonic")


def test_the_fourth_order_of_the_error_model_is_bounded_and_said(md, monkeypatch):
    """The error model's fourth order is fitted to at most ERROR_MODEL_ATOM_FRAMES atom-frames: the runs it was
    calibrated on (32-atom Cu, 64-atom Si, up to 500 frames) keep every frame, a 576-atom supercell (GaN, where 201
    frames took 4 minutes) fits 55; each step is said before it starts."""
    import trajmodes.series.errorbars as errorbars
    from trajmodes.forceconstants.fit import EffectiveForceConstants
    assert errorbars.quartic_frames(32) == errorbars.quartic_frames(64) == errorbars.ERROR_MODEL_FRAMES
    assert errorbars.quartic_frames(576) == 55 and errorbars.quartic_frames(10 ** 6) == errorbars.MIN_FRAMES
    nve = _read(md["nve"])
    fit = _quiet(EffectiveForceConstants(cutoff2=3.0).fit, nve).bootstrap(20)
    lines = []
    found = _quiet(errorbars.error_model_inputs, fit, nve, progress=lines.append)
    n = nve.n_frames
    assert found.quartic is not None and found.fourth_order_frames == n
    assert lines[0].startswith(f"error model: the run projected on its modes ({n} frames)")
    assert lines[1].startswith("error model: the modes kept their energies") and f"fitted to {n} frames" in lines[1]
    monkeypatch.setattr(errorbars, "ERROR_MODEL_ATOM_FRAMES", 60 * nve.n_atoms)       # as 576 atoms would have it
    small = _quiet(errorbars.error_model_inputs, fit, nve, progress=lines.append)
    assert small.fourth_order_frames == 60 and "fitted to 60 frames" in lines[-1]
    part = [frequencies_with_errors(fit, Q, partition=f.frozen, quartic=f.quartic).partition_term
            for f in (found, small)]
    moving = part[0] > 0
    ratio = part[1][moving] / part[0][moving]
    print("partition term, 60 frames over all:", np.round(ratio, 3))
    assert np.all(np.abs(ratio - 1) < 0.15)                 # the same error bars within 15 % (measured 2-6 %)


def test_nve_is_recognised_from_the_velocities_alone(md):
    """Without potential energies the fit cannot tell an NVE run from a thermostatted one; the variance of its
    kinetic energy can (about half the canonical one at constant energy: Lebowitz, Percus and Verlet 1967)."""
    from trajmodes.forceconstants.fit import EffectiveForceConstants
    from trajmodes.series.errorbars import error_model_inputs
    for key, nve in (("nve", True), ("langevin", False)):
        t = _read(md[key])
        frames = t.positions.compute(), t.velocities.compute(), t.forces.compute()
        bare = trajmodes.from_arrays(frames[0], t.reference.cell, t.species, velocities=frames[1], forces=frames[2],
                                     masses=t.masses, frame_interval=t.frame_interval, reference=t.reference)
        fit = _quiet(EffectiveForceConstants(cutoff2=3.0).fit, bare).bootstrap(50)
        assert not np.isfinite(fit.energies_["potential"]) and not fit.energy_conserved_
        found = _quiet(error_model_inputs, fit, bare, fourth_order=False)
        assert found.energy_conserved is nve, key


def test_the_error_model_keeps_what_the_error_bars_read_and_skips_what_a_short_run_cannot_use(md, monkeypatch):
    """A run's error model keeps, beside the later runs' fits, only the frozen fractions by mode with their q-points
    and harmonic frequencies (not the modes' energies and variances: 3N values each, 24 MB apiece at 10^6 atoms);
    a run too short to tell whether its modes kept their energies is not diagonalised at every q-point of its
    supercell for the note alone (1.2 s at 10^6 atoms)."""
    from trajmodes.forceconstants.fit import EffectiveForceConstants
    from trajmodes.phonons.harmonic.phonons import Phonons
    from trajmodes.series.errorbars import MIN_FRAMES, error_model_inputs
    nve = _read(md["nve"])
    fit = _quiet(EffectiveForceConstants(cutoff2=3.0).fit, nve).bootstrap(20)
    found = _quiet(error_model_inputs, fit, nve, fourth_order=False)
    assert set(found.frozen.data_vars) == {"frozen_fraction"}
    assert {"qpoint", "frequency_harmonic"} <= set(found.frozen.coords)
    assert found.frozen["frozen_fraction"].size == 3 * nve.n_atoms
    calls, real = [], Phonons.frequencies

    def counted(self, q, *a, **k):
        calls.append(len(np.atleast_2d(q)))
        return real(self, q, *a, **k)
    monkeypatch.setattr(Phonons, "frequencies", counted)
    short = _quiet(error_model_inputs, fit, nve[:MIN_FRAMES - 1], fourth_order=False)
    assert short.frozen is None and "too few" in short.notes[0] and calls == []


def test_frequencies_with_errors_named_as_the_datasets(md):
    """``FrequenciesWithErrors`` says ``frequency`` and ``frequency_err`` as every dataset does (no other names)."""
    from trajmodes.forceconstants.fit import EffectiveForceConstants
    fit = _quiet(EffectiveForceConstants(cutoff2=3.0).fit, _read(md["nve"])).bootstrap(50)
    res = frequencies_with_errors(fit, Q)
    assert isinstance(res, FrequenciesWithErrors)
    assert res.frequency.shape == res.frequency_err.shape == (2, 3)
    assert not hasattr(res, "frequencies") and not hasattr(res, "errors")


def test_static_crystal_in_the_model(md):
    """static_frequencies refits the static constants in the run's model: constants already in the model come back
    exactly; static_slope gives the classical slope of a static crystal whose eigenvalues are 5 % lower, and refuses
    one whose eigenvalues are 5 times lower (a shift far beyond lowest order, as the soft TA of bcc Zr at N: there
    it gave 0.004 THz/K where independent runs show 0.0003)."""
    from trajmodes.forceconstants.fit import EffectiveForceConstants
    from trajmodes.phonons.harmonic.phonons import Phonons
    from trajmodes.series.errorbars import static_frequencies
    from trajmodes.forceconstants.model import ForceConstants
    from trajmodes.series.errorbars import static_slope
    fit = _quiet(EffectiveForceConstants(cutoff2=3.0).fit, _read(md["nve"]))
    nu = Phonons(fit.harmonic_force_constants_).frequencies(Q)
    assert np.allclose(static_frequencies(fit, fit.harmonic_force_constants_, Q), nu, atol=1e-9)
    # a static crystal 5 % softer in every eigenvalue: nu^2 - nu0^2 = 0.05 nu^2, d nu / dT = 0.05 nu / (2 T)
    for scale, slope in ((0.95, 0.05 * nu / (2 * fit.temperature_)), (0.2, None)):
        soft = ForceConstants(scale * fit.fc2_, fit.supercell_, fit.primitive_, smap=fit.smap_, p2s=fit.p2s_)
        d, why = static_slope(fit, soft, Q)
        if slope is None:                        # the eigenvalue moved by 4 times itself: not lowest order
            assert d is None and "not small" in why
        else:
            assert np.allclose(d, slope, rtol=1e-8) and why == ""


def test_classical_slope_from_an_unstable_static_crystal():
    """classical_dnu_dT moves the eigenvalue, not |nu0|^2, linearly in T: for a static crystal with an imaginary mode
    (bcc Zr's TA at N, negative by convention) the slope is the derivative of sign(lam) sqrt(|lam|),
    lam = lam0 + a T (it took nu0^2 as positive and gave the wrong sign and size)."""
    lam0, a, T = np.array([-6.25, 4.0]), np.array([0.01, -0.002]), 1300.0      # THz^2, THz^2/K
    nu_T = np.sqrt(lam0 + a * T)
    nu0 = np.sign(lam0) * np.sqrt(np.abs(lam0))
    assert np.allclose(classical_dnu_dT(nu_T, nu0, T), a / (2 * nu_T), rtol=1e-12)


def test_series_table_names_runs_apart_and_shows_every_branch(md, tmp_path, capsys):
    """Two runs of one file name in two folders are named nvt/cu.lammpstrj and nve/cu.lammpstrj (they were both
    cu.lammpstrj), and every branch at each point is printed (the soft transverse branch at L, not only the highest;
    without error bars here, --resamples 0)."""
    from trajmodes.cli import main
    paths = []
    for name, key in (("nvt", "langevin"), ("nve", "nve")):
        d = tmp_path / name
        d.mkdir()
        shutil.copy(md[key]["dump"], d / "cu.lammpstrj")
        shutil.copy(md[key]["data"], d / "cu.data")
        paths.append(str(d / "cu.lammpstrj"))
    assert main(["series", *paths, "--cutoff2", "3.0", "--resamples", "0",
                 "--qpoints", "0.5 0.5 0.5", "--mesh", "4", "--path", "GX", "-o", str(tmp_path / "out")]) == 0
    text = capsys.readouterr().out
    assert "nvt/cu.lammpstrj" in text and "nve/cu.lammpstrj" in text
    ds = trajmodes.series.load_series(tmp_path / "out" / "series.nc").dataset
    nu = ds.frequency.values[:, 0]
    rows = [ln for ln in text.splitlines() if ln.startswith(("nvt/cu", "nve/cu"))]
    assert len(rows) >= 2
    for r, row in enumerate(rows[-2:]):
        assert f"{nu[r, 0]:.4f} x2" in row and f"{nu[r, -1]:.4f}" in row               # TA (x2) and LA
    from trajmodes.cli.series import distinct_names
    assert distinct_names(paths) == ["nvt/cu.lammpstrj", "nve/cu.lammpstrj"]
    assert distinct_names(["a/x.dump", "b/y.dump"]) == ["x.dump", "y.dump"]
    assert distinct_names(["a/x.dump", "a/x.dump"]) == ["a/x.dump", "a/x.dump (#2)"]


def test_slope_of_runs_at_one_nominal_temperature():
    """Runs repeated at one nominal temperature (NVE runs scattered by their energy draws) get d nu / dT from the
    least-squares line through all of them, with its error from theirs; runs far apart in temperature keep the
    gradient between neighbours (exact for a parabola between two neighbours)."""
    from trajmodes.series.thermodynamics import temperature_slope_errors, temperature_slopes
    T = np.array([285.0, 297.0, 301.0, 318.0, 276.0])
    nu = 5.0 - 2e-4 * T + np.array([3e-3, -2e-3, 1e-3, 0.0, -2e-3])
    e = np.full((5, 1), 0.01)
    b = np.polyfit(T, nu, 1)[0]
    assert np.allclose(temperature_slopes(T, np.ones(5), nu[:, None]), b, rtol=1e-10)
    assert np.allclose(temperature_slope_errors(T, np.ones(5), e), 0.01 / np.sqrt(np.sum((T - T.mean()) ** 2)))
    T3 = np.array([100.0, 300.0, 600.0])
    nu3 = 2.0 + 1e-3 * T3 + 1e-6 * T3 ** 2
    assert np.isclose(temperature_slopes(T3, np.ones(3), nu3[:, None])[1, 0], 1e-3 + 2e-6 * 300.0, rtol=1e-10)


def test_fit_prints_frequencies_with_their_error_model(md, tmp_path, capsys):
    """`trajmodes fit` prints the frequencies at the special points with the error bars of the run's error model and
    one line naming it (a Langevin run: the blocking bootstrap, calibrated)."""
    from trajmodes.cli import main
    run = md["langevin"]
    assert main(["fit", str(run["dump"]), "--reference", str(run["data"]), "--cutoff2", "3.0",
                 "-o", str(tmp_path / "fit")]) == 0
    captured = capsys.readouterr()
    assert_warned(captured.err, "cutoff2 = 3 A is shorter than the range of the potential")
    text = captured.out
    table = text[text.index("frequencies at the special points"):]
    assert "  X " in table and "+-" in table and " x2" in table
    assert "error bars: bootstrap, calibrated: the modes exchanged their energies" in table
