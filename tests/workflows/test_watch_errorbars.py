"""``trajmodes watch``'s error bars: the prediction of the run length from error bars at their blocking plateau
(synthetic stationary series whose standard error of the mean is known analytically, error bars that scatter as a
fit's do, and the statement of the prediction's range), and the live error model (exact harmonic runs whose modes
keep or exchange their energies by construction, so that the frozen share of the mean-square displacement is known
exactly)."""
from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
from scipy.signal import lfilter

from trajmodes.units import AMU_A2_PS2_EV, KB_EV
from trajmodes.workflows.watch_model import SETTLED_EXPONENT, error_bar_state, error_bars_settled, predict_target

#: the updates of the synthetic runs (frames fitted) and the time segments of each update's error bar (the watch's)
UPDATES = (1000, 2000, 3000, 4000)
SEGMENTS = 20


def segment_errors(x: np.ndarray) -> list:
    """The standard error of the mean of ``x[:m]`` at every update m from its :data:`SEGMENTS` time segments (what the
    block bootstrap of the fit's segments gives for a mean), each with its relative scatter 1 / sqrt(2 (S - 1))."""
    out = []
    for m in UPDATES:
        s = x[:m].reshape(SEGMENTS, -1).mean(axis=1)
        out.append(float(np.sqrt(np.sum((s - s.mean()) ** 2) / (SEGMENTS * (SEGMENTS - 1)))))
    return out


def test_error_bars_at_their_plateau_predict_the_analytic_length_where_the_measured_exponent_did_not():
    """AR(1) series x_t = rho x_(t-1) + sqrt(1 - rho^2) eps_t (unit variance; correlation time far below a segment of
    50 frames): the standard error of the mean of n frames is sqrt(g / n), g = (1 + rho) / (1 - rho), so the target
    is reached at n* = g / target^2 frames. Over 16 series, error bars from 20 segments at 1000-4000 frames predict
    n* within their own scatter (the error of 20 segments, 16 %, is 32 % on a length, which goes as err^2) with the
    exponent 1/2 of error bars at their plateau; the exponent measured from the same four updates (the old rule) put
    one series' length 34 times too long (0.46 to 34 times n*)."""
    rho, target = 0.5, 0.01
    n_star = (1 + rho) / (1 - rho) / target ** 2
    settled, measured = [], []
    for seed in range(16):
        x = lfilter([np.sqrt(1 - rho ** 2)], [1.0, -rho], np.random.default_rng(seed).standard_normal(UPDATES[-1]))
        err = segment_errors(x)
        p = predict_target([(m, e, True) for m, e in zip(UPDATES, err)], target)
        q = predict_target([(m, e, False) for m, e in zip(UPDATES, err)], target)
        assert p.settled and p.exponent == SETTLED_EXPONENT and not q.settled
        settled.append((UPDATES[-1] + p.more_time) / n_star)
        measured.append((UPDATES[-1] + q.more_time) / n_star)
        # the range: each update's own t (err / target)^2, the central value between them
        each = np.array(UPDATES) * (np.array(err) / target) ** 2 - UPDATES[-1]
        assert p.low == pytest.approx(each.min(), rel=1e-12) and p.high == pytest.approx(each.max(), rel=1e-12)
        assert p.low <= p.more_time <= p.high
    assert 0.5 < min(settled) and max(settled) < 1.5          # measured 0.60-1.31
    assert 0.8 < np.median(settled) < 1.2                      # measured 0.92
    assert max(measured) > 10                                  # the old rule: 34 times n* for one series


def test_the_exponent_is_measured_unless_every_update_of_the_fit_was_at_its_plateau():
    """Error bars of segments shorter than the correlation time shrink otherwise than t^-1/2 (their blocking ratio
    grows as the segments lengthen): one update of the window not at its plateau, and the exponent is measured, as
    before; an update before the window (fitted time below a quarter of the current one) does not count."""
    t = np.array([2.0, 4.0, 6.0, 8.0])
    e = 0.2 * t ** -0.35
    mixed = [(ti, ei, i != 2) for i, (ti, ei) in enumerate(zip(t, e))]
    p = predict_target(mixed, 0.05)
    assert not p.settled and p.exponent == pytest.approx(0.35, rel=1e-9) and np.isnan(p.low)
    early = [(1.0, 0.3, False)] + [(ti, ei, True) for ti, ei in zip(t, e)]      # 1 ps < 8 ps / 4: outside
    p = predict_target(early, 0.05)
    assert p.settled and p.exponent == 0.5 and p.updates == 4
    # the amplitude: the mean of log err + log(t) / 2 over the window, and where it meets the target
    a = np.exp(np.mean(np.log(e) + 0.5 * np.log(t)))
    assert p.more_time == pytest.approx((a / 0.05) ** 2 - 8.0, rel=1e-9)


def test_the_prediction_says_its_range_and_why_its_exponent_is_one_half():
    """The line printed at every update: the time still needed, the range of the updates it was fitted to, and that
    the exponent is that of error bars at their blocking plateau; the wall time at the run's pace after it."""
    history = [(2.0, 0.02, True), (4.0, 0.015, True), (6.0, 0.011, True), (8.0, 0.0105, True)]
    p = predict_target(history, 0.008, pace=16.0)
    line = p.sentence(0.008)
    assert f"after about {p.more_time:.3g} ps more (90% range {p.low:.3g} to {p.high:.3g} by each of the last 4 " \
           "updates" in line
    assert "at their blocking plateau shrink as t^-0.5" in line
    assert line.endswith(f": {p.wall_hours:.3g} h at the run's pace of 16 ps per hour")
    assert p.wall_hours == pytest.approx(p.more_time / 16.0, rel=1e-12)


def test_the_range_covers_the_length_needed_within_the_sampling_error_of_error_bars_from_twenty_segments():
    """200 series of independent unit-variance frames, error bars from 20 segments at 1000-4000 frames: the target
    0.004 is reached at n* = 1 / 0.004^2 = 62500 frames exactly, and the error bars (n_eff = 20) scatter by
    1 / sqrt(2 x 19) = 16 %, 32 % on a length. The range by each update alone (the old rule) covered n* in 60 % of
    the series; with the error bars' sampling error, (n_eff - 1) / chi^2_(n_eff - 1) at the 5 % and 95 % quantiles on
    the length (0.63 to 1.88 times it), in 99.5 % (more than 90 %: the prediction averages the updates of its window,
    whose error bars scatter partly independently)."""
    from scipy.stats import chi2
    target, n_star = 0.004, 1.0 / 0.004 ** 2
    covered = covered_old = 0
    for seed in range(200):
        err = segment_errors(np.random.default_rng(seed).standard_normal(UPDATES[-1]))
        p = predict_target([(m, e, True, float(SEGMENTS), 1.0) for m, e in zip(UPDATES, err)], target)
        old = predict_target([(m, e, True) for m, e in zip(UPDATES, err)], target)     # n_eff not known
        need = n_star - UPDATES[-1]
        covered += p.low <= need <= p.high
        covered_old += old.low <= need <= old.high
        assert p.segments == SEGMENTS and not p.provisional and p.more_time == old.more_time
        total, each = UPDATES[-1] + p.more_time, np.array(UPDATES) * (np.array(err) / target) ** 2
        assert p.high + UPDATES[-1] == pytest.approx(max(each.max(), total * 19 / chi2.ppf(0.05, 19)), rel=1e-9)
        assert p.low + UPDATES[-1] == pytest.approx(max(min(each.min(), total * 19 / chi2.ppf(0.95, 19)),
                                                        UPDATES[-1]), rel=1e-9)
    assert covered >= 190                       # measured 199 of 200
    assert covered_old <= 140                   # measured 120 of 200


def test_a_temperature_correlated_over_more_than_a_segment_makes_the_prediction_provisional_and_longer():
    """The kinetic temperature's blocking ratio above BLOCKING_WARN (1.3) at an update of the window (its energy
    relaxes more slowly than a time segment, as in 64-atom Si under Langevin at 6 ps: 1.41-1.95): the error bars may
    be that ratio too small, the upper end of the range is the ratio squared longer and the line says the prediction
    is provisional; at 1.2, or at an update before the window, nothing changes."""
    t, e = (1.0, 2.0, 4.0, 6.0, 8.0), (0.03, 0.02, 0.015, 0.011, 0.0105)

    def with_ratios(*ratios):
        return predict_target([(ti, ei, True, 20.0, r) for ti, ei, r in zip(t, e, ratios)], 0.005)

    plain = with_ratios(1.0, 1.0, 1.0, 1.0, 1.0)
    for ratios in [(1.0, 1.0, 1.0, 1.2, 1.0), (1.9, 1.0, 1.0, 1.0, 1.0)]:      # 1 ps < 8 ps / 4: outside the window
        same = with_ratios(*ratios)
        assert not same.provisional and same.high == plain.high and "provisional" not in same.sentence(0.005)
    p = with_ratios(1.0, 1.0, 1.9, 1.2, 1.0)
    assert p.provisional and p.temperature_blocking == 1.9
    assert p.more_time == plain.more_time and p.low == plain.low
    assert p.high + 8.0 == pytest.approx(1.9 ** 2 * (plain.high + 8.0), rel=1e-12)
    assert p.sentence(0.005).endswith("provisional: the kinetic temperature is correlated over more than a time "
                                      "segment (blocking ratio 1.90), the error bars may be that much too small")


def test_the_state_of_a_fits_error_bars_is_read_off_its_bootstrap():
    fit = SimpleNamespace(blocking_converged_=True, blocking_ratio_=1.0, n_effective_=20.0, temperature_blocking_=1.4)
    assert error_bar_state(fit) == (True, 20.0, 1.4)
    settled, n_eff, ratio = error_bar_state(SimpleNamespace())
    assert settled is False and np.isnan(n_eff) and np.isnan(ratio)


@pytest.mark.parametrize("fit, settled", [
    (SimpleNamespace(blocking_converged_=True, blocking_ratio_=1.0), True),
    (SimpleNamespace(blocking_converged_=True, blocking_ratio_=1.29), True),
    (SimpleNamespace(blocking_converged_=True, blocking_ratio_=1.31), False),   # segments shorter than the correlation
    (SimpleNamespace(blocking_converged_=False, blocking_ratio_=1.0), False),   # still rising at the longest blocks
    (SimpleNamespace(), False),                                                  # not bootstrapped
])
def test_error_bars_are_settled_at_a_plateau_with_segments_longer_than_the_correlation_time(fit, settled):
    """The fit's blocking analysis (Flyvbjerg and Petersen 1989) says whether its error bars shrink as t^-1/2: a
    plateau reached, with a ratio of the plateau to the segments' own error at most BLOCKING_WARN (1.3)."""
    assert error_bars_settled(fit) is settled


# -- the live error model ------------------------------------------------------------------------------------------

def _bvk_cu():
    """Born-von Karman fcc Cu (three first-shell constants) on 2 x 2 x 2 conventional cells (32 atoms)."""
    from trajmodes.potentials.bvk import force_constants_from_bvk
    return force_constants_from_bvk({"1XX": 13.3, "1ZZ": -1.3, "1XY": 14.7}, "fcc", a=3.615, mass=63.55,
                                    supercell=(2, 2, 2))


def _mode_run(fc, kept, T: float = 10.0, dt: float = 0.02, n: int = 720, segment: int = 8, seed: int = 0) -> dict:
    """``n`` frames ``dt`` ps apart of the exact harmonic crystal ``fc`` whose every normal mode oscillates with an
    energy set by construction: the modes of frequency ``kept(nu)`` (THz) keep k_B T each for the whole run (their
    sets' energies constant: frozen fraction 1); every other set of degenerate modes (the same frequency) has its
    energy switched every ``segment`` frames through 0, 0 and 3 k_B T per mode (mean k_B T; variance 2 g^2 (k_B T)^2
    over the run for a set of g modes, above its canonical g (k_B T)^2: frozen fraction 0), the sets out of step so
    that the total stays about even. The frozen share of the mean-square displacement is then exactly
    sum over the kept modes of nu^-4 over that sum over every vibrating mode (``share``)."""
    sc = fc.supercell
    N = sc.n_atoms
    K = fc.full().transpose(0, 2, 1, 3).reshape(3 * N, 3 * N)
    m = np.repeat(np.asarray(sc.masses, float), 3)
    w2, V = np.linalg.eigh(K / np.sqrt(m[:, None] * m[None, :]))
    w2 = w2 / AMU_A2_PS2_EV                                                 # 1/ps^2
    moving = w2 > 1e-8 * w2.max()
    w = np.sqrt(np.where(moving, w2, 1.0))
    nu = np.where(moving, w / (2 * np.pi), 0.0)
    sets = np.unique(np.round(nu, 6), return_inverse=True)[1]
    keep = moving & kept(nu)
    phase = np.random.default_rng(seed).uniform(0, 2 * np.pi, 3 * N)
    t = np.arange(n) * dt
    level = np.array([0.0, 0.0, 3.0])[(np.arange(n)[:, None] // segment + sets[None, :]) % 3]
    energy = KB_EV * T * np.where(keep, 1.0, level) * moving                # eV per mode, per frame
    amplitude = np.sqrt(2 * energy / AMU_A2_PS2_EV) / w                     # sqrt(amu) A
    x = amplitude * np.cos(np.outer(t, w) + phase)
    xd = -amplitude * w * np.sin(np.outer(t, w) + phase)
    u, v = (x @ V.T) / np.sqrt(m), (xd @ V.T) / np.sqrt(m)
    weight = np.where(moving, nu, 1.0) ** -4.0 * moving
    return dict(displacements=u.reshape(n, N, 3), velocities=v.reshape(n, N, 3), forces=(-u @ K).reshape(n, N, 3),
                times=t, share=float(weight[keep].sum() / weight.sum()))


def _write_dump(path, fc, run, velocities: bool = True):
    """``run`` as a LAMMPS dump (id type xu yu zu [vx vy vz] fx fy fz, ITEM: TIME in ps)."""
    sc = fc.supercell
    x = sc.positions[None] + run["displacements"]
    box = "".join(f"0.0 {float(b)!r}\n" for b in np.diag(sc.cell))
    columns = "xu yu zu vx vy vz fx fy fz" if velocities else "xu yu zu fx fy fz"
    with open(path, "w") as f:
        for k, t in enumerate(run["times"]):
            f.write(f"ITEM: TIME\n{float(t)!r}\nITEM: TIMESTEP\n{k}\nITEM: NUMBER OF ATOMS\n{sc.n_atoms}\n"
                    f"ITEM: BOX BOUNDS pp pp pp\n{box}ITEM: ATOMS id type {columns}\n")
            rows = np.concatenate([x[k]] + ([run["velocities"][k]] if velocities else []) + [run["forces"][k]], axis=1)
            f.write("".join(f"{i + 1} 1 " + " ".join(f"{c:.12g}" for c in r) + "\n" for i, r in enumerate(rows)))
    return str(path)


def _watched(path):
    """Every update of the dump at ``path`` replayed by the watch, an update every 4.8 ps."""
    from trajmodes.workflows.watch import Watch, WatchSettings
    w = Watch(WatchSettings(path, replay=True, every=4.8, options=dict(species={1: "Cu"}, masses={1: 63.55})))
    return w, list(w.follow())


@pytest.mark.parametrize("kept, share, lower_bound", [
    (lambda nu: nu < 4.0, 0.798343, True),      # the soft modes kept their energies: most of the displacement
    (lambda nu: nu > 6.0, 0.054838, False),     # only the stiff ones did: the modes exchanged their energies
])
def test_the_live_error_model_measures_the_frozen_share_the_modes_were_given(tmp_path, kept, share, lower_bound):
    """An exact harmonic run whose sets of modes keep their energies or exchange them by construction: every update
    measures the frozen share of the mean-square displacement the run was given (to 1e-6), and says what its error
    bars are as `trajmodes fit`'s error model says it of the same frames (the bootstrap is blind to the energy the
    modes kept: a lower bound above the share 0.2, calibrated below); watch.nc holds the share and the verdict of
    every update. Before, the error bars were the bootstrap's alone, nothing said that they are a lower bound."""
    import xarray as xr

    from trajmodes.forceconstants import EffectiveForceConstants
    from trajmodes.lattice import special_points
    from trajmodes.lattice.structure import Structure
    from trajmodes.series import error_model_inputs, run_frequency_errors
    from trajmodes.trajectory import read
    from trajmodes.workflows.watch_outputs import watch_dataset
    fc = _bvk_cu()
    run = _mode_run(fc, kept)
    assert run["share"] == pytest.approx(share, abs=1e-6)
    path = _write_dump(tmp_path / "run.lammpstrj", fc, run)
    w, updates = _watched(path)
    assert len(updates) == 3 and all(u.first_frame == 0 for u in updates)
    for u in updates:
        assert u.errors.share == pytest.approx(run["share"], abs=1e-6)
        assert u.errors.lower_bound is lower_bound
        assert u.errors.sentence() in u.table(0.05)
    last = updates[-1]
    assert last.errors.frames == 360                     # 720 frames: every second held, as `trajmodes fit` projects
    if lower_bound:
        assert "error bars lower bound (the modes kept their energies over the run (frozen share of the mean-square " \
               f"displacement {share:.2f}), which the bootstrap cannot see" in last.table(0.05)
        assert "`trajmodes fit` on the finished run adds it" in last.errors.sentence()
    else:
        assert "error bars calibrated (the modes exchanged their energies over the run (frozen share of the " \
               f"mean-square displacement {share:.2f})" in last.table(0.05)
    # `trajmodes fit`'s error model on the whole run: the same share, the same verdict, the same error bars
    sc = fc.supercell
    ideal = Structure(sc.positions, sc.cell, np.array(["Cu"] * sc.n_atoms), np.full(sc.n_atoms, 63.55), np.zeros(3))
    traj = read(path, species={1: "Cu"}, masses={1: 63.55}, reference=ideal)
    fit = EffectiveForceConstants(cutoff2=float(last.cutoff2)).fit(traj)
    fit.bootstrap(200, 0)
    found = error_model_inputs(fit, traj, fourth_order=False)
    pts = special_points(fit.primitive_)
    verdict = run_frequency_errors(fit, np.array(list(pts.values()), float), found)
    assert found.share == pytest.approx(last.errors.share, abs=1e-6)
    assert verdict.lower_bound is lower_bound and verdict.model == last.errors.errors.model
    data = watch_dataset(w)
    assert isinstance(data, xr.Dataset) and np.allclose(data["frozen_share"].values, run["share"], atol=1e-6)
    assert data["error_is_lower_bound"].values.tolist() == [int(lower_bound)] * 3
    assert last.errors.sentence() in data["frequency_err"].attrs["error_bars"]


def test_a_run_without_velocities_has_its_error_bars_marked_as_a_lower_bound_saying_why(tmp_path):
    """Without velocities the modes' energies cannot be followed: no frame is held, and every update's error bars are
    the bootstrap's, marked as a lower bound with what to write (as `trajmodes fit` says it)."""
    fc = _bvk_cu()
    path = _write_dump(tmp_path / "run.lammpstrj", fc, _mode_run(fc, lambda nu: nu > 6.0, n=240), velocities=False)
    w, updates = _watched(path)
    assert len(w.live.index) == 0 and updates
    for u in updates:
        assert u.errors.lower_bound and np.isnan(u.errors.share) and u.errors.frames == 0
        assert "error bars lower bound (the run has no velocities, so whether its modes kept their energies over it " \
               "cannot be measured (write vx vy vz)" in u.table(0.05)


def test_the_frames_held_for_the_projection_stay_few_and_evenly_spaced_however_long_the_run():
    """The projection at an update costs the frames held, not the run's length: at most max_frames, every
    stride-th frame of the run (the stride doubling as it grows), those from the fit's first frame on given to it."""
    from trajmodes.lattice.structure import Structure
    from trajmodes.workflows.watch_model import LiveErrorModel
    ideal = Structure(np.eye(3)[:2] * 1.5, 3.0 * np.eye(3), np.array(["Ar", "Ar"]), np.array([39.95, 39.95]),
                      np.zeros(3))
    live = LiveErrorModel(ideal, max_frames=64)
    rng = np.random.default_rng(0)
    n = 0
    for size in [37] * 27 + [1]:                                 # 1000 frames in batches, as a watch reads them
        u = rng.normal(0, 0.01, (size, 2, 3))
        live.add(n, u, -u, 0.01 * (n + np.arange(size)))
        n += size
        assert len(live.index) == min(n, 64) if n <= 64 else 32 < len(live.index) <= 64
        assert np.all(live.index % live.stride == 0) and live.index.tolist() == sorted(set(live.index.tolist()))
    assert n == 1000 and live.stride == 16 and live.index.tolist() == list(range(0, 1000, 16))
    held = live.frames(300)
    assert held.n_frames == len(range(304, 1000, 16))
    assert np.allclose(held.displacements().compute()[0], live.u[live.index == 304][0], atol=1e-12)
