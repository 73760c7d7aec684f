"""``trajmodes watch``'s prediction of the run length from error bars at their blocking plateau: synthetic stationary
series whose standard error of the mean is known analytically, error bars that scatter as a fit's do, and the
statement of the prediction's range."""
from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
from scipy.signal import lfilter

from trajmodes.workflows.watch_model import SETTLED_EXPONENT, error_bars_settled, predict_target

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
    assert f"after about {p.more_time:.3g} ps more ({p.low:.3g} to {p.high:.3g} by each of the last 4 updates" in line
    assert "at their blocking plateau shrink as t^-0.5" in line
    assert line.endswith(f": {p.wall_hours:.3g} h at the run's pace of 16 ps per hour")
    assert p.wall_hours == pytest.approx(p.more_time / 16.0, rel=1e-12)


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
