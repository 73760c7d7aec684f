"""Effective force constants fitted to the real LAMMPS MD of examples/md (fcc Cu EAM at 300 K and 900 K,
diamond Si SW at 300 K and 1000 K): the physics the fit must carry.

Every run is fitted once (module fixture, every 3rd frame: 100 frames, 5-fold block CV) in the sequential
(TDEP) mode with second and third order, and solved again from the same blocks in the simultaneous mode.
The numbers these assertions were written against are tabulated in docs/fitting.md.
"""
from __future__ import annotations

import copy
import shutil
import warnings

import numpy as np
import pytest

from tests.support.paths import EXAMPLES
import trajmodes
from trajmodes.forceconstants.fit import EffectiveForceConstants
from trajmodes.series import Series

MD = EXAMPLES / "md"
FC0 = EXAMPLES / "fc"
SETTINGS = {"cu": dict(cutoff2=5.5, cutoff3=3.0), "si": dict(cutoff2=6.0, cutoff3=4.0)}
RUNS = {"cu": (300.0, 900.0), "si": (300.0, 1000.0)}
STRIDE = 3


@pytest.fixture(scope="module")
def fits(tmp_path_factory):
    """element -> {"seq": Series (sequential), "sim": Series (simultaneous), "f0": 0 K}."""
    d = tmp_path_factory.mktemp("md_fit")
    out = {}
    for el, temps in RUNS.items():
        seq = {}
        for T in temps:
            name = f"{el}_{T:.0f}K"
            for suffix in (".lammpstrj.gz", ".data"):
                shutil.copy2(MD / (name + suffix), d / (name + suffix))
            tr = trajmodes.read(d / f"{name}.lammpstrj.gz", reference=d / f"{name}.data")
            with warnings.catch_warnings():
                warnings.simplefilter("error")                         # well determined, well conditioned
                seq[T] = EffectiveForceConstants(**SETTINGS[el], stride=STRIDE, folds=5).fit(tr)
        sim = {T: copy.deepcopy(e).refit("simultaneous") for T, e in seq.items()}
        fc0 = trajmodes.ForceConstants.read(FC0 / {"cu": "cu_eam", "si": "si_sw"}[el], "phonopy")
        out[el] = dict(seq=_series(seq), sim=_series(sim), fc0=fc0)
    return out


def _series(fits):
    """The series of fits given by temperature (T -> fitted estimator)."""
    return Series(list(fits.values()), list(fits), [f"{T:g} K" for T in fits])


def _freq(series, T, label):
    fr = series.frequencies.frequency
    return fr.sel(temperature=T).isel(q=list(series.frequencies.qlabel.values).index(label)).values


def _f0(fc0, series, label):
    """0 K frequencies at the special point ``label`` (the 0 K cell's own coordinates)."""
    from trajmodes.lattice import paths as bands
    return trajmodes.Phonons(fc0).frequencies([bands.special_points(fc0.primitive)[label]])[0]


@pytest.mark.parametrize("el", list(RUNS))
def test_setup_and_third_order_raises_r2(fits, el):
    for mode in ("seq", "sim"):
        for T, est in zip(fits[el][mode].temperatures, fits[el][mode].fits):
            s = est.scores_
            assert int(s.n_frames) == 100
            assert s.n_params.values.tolist() == [est.bases_[2].n_params, est.bases_[3].n_params]
            r2 = s.r2.values
            assert 0.75 < r2[0] < r2[1] < 1.0, (el, T, mode, r2)       # (a) R^2 rises with the 3rd order
            cv = s.cv_rmse.values
            assert cv[1] < 0.7 * cv[0]                                 # and it predicts held-out frames better
            assert est.force_constants_.asr_violation() < 1e-8


@pytest.mark.parametrize("el", list(RUNS))
def test_sigma_a_grows_with_temperature(fits, el):
    lo, hi = RUNS[el]
    s = {T: float(e.scores_.sigma_a) for T, e in zip(fits[el]["seq"].temperatures, fits[el]["seq"].fits)}
    assert s[hi] > 1.5 * s[lo]                                         # (e) Cu 0.24 -> 0.44, Si 0.080 -> 0.160
    r2 = {T: e.scores_.r2.values for T, e in zip(fits[el]["seq"].temperatures, fits[el]["seq"].fits)}
    assert r2[hi][0] < r2[lo][0] and r2[hi][1] < r2[lo][1]


def test_cu_softens_with_temperature(fits):
    """(b) Cu: every mode at X and L softens from 300 K to 900 K (mostly the lattice expanding 3.6319 -> 3.6726 A),
    and both lie below the 0 K EAM frequencies (a = 3.615 A)."""
    f = fits["cu"]
    for mode in ("seq", "sim"):
        for label in ("X", "L"):
            lo, hi, zero = _freq(f[mode], 300.0, label), _freq(f[mode], 900.0, label), _f0(f["fc0"], f[mode], label)
            assert np.all(hi < lo - 0.1), (mode, label, lo, hi)
            assert np.all(lo < zero), (mode, label, lo, zero)
    x_lo, x_hi = _freq(f["seq"], 300.0, "X").max(), _freq(f["seq"], 900.0, "X").max()
    assert 0.03 < 1 - x_hi / x_lo < 0.10                              # 7.62 -> 7.17 THz: -6 %


def test_si_optical_softens_with_temperature(fits):
    """(b) Si SW: the Gamma optical mode softens from 300 K to 1000 K, both below the 0 K value 17.832 THz."""
    f = fits["si"]
    zero = _f0(f["fc0"], f["seq"], "G")[3:]
    assert np.allclose(zero, 17.832, atol=1e-3)
    for mode in ("seq", "sim"):
        lo, hi = _freq(f[mode], 300.0, "G")[3:], _freq(f[mode], 1000.0, "G")[3:]
        assert np.all(hi < lo - 0.2) and np.all(lo < zero), (mode, lo, hi)


def test_sequential_below_simultaneous(fits):
    """(c) The sequential (TDEP) fc2 gives lower optical (Si, Gamma) and LA (Cu, X) frequencies than the
    simultaneous one, and the gap grows with T."""
    gaps = {}
    for el, label, branch in (("si", "G", slice(3, 6)), ("cu", "X", slice(2, 3))):
        for T in RUNS[el]:
            seq = _freq(fits[el]["seq"], T, label)[branch]
            sim = _freq(fits[el]["sim"], T, label)[branch]
            assert np.all(seq < sim), (el, T, seq, sim)
            gaps[el, T] = float((sim - seq).mean())
    assert gaps["si", 1000.0] > gaps["si", 300.0] and gaps["cu", 900.0] > gaps["cu", 300.0]


@pytest.mark.parametrize("el", list(RUNS))
def test_symmetry_degeneracies_exact(fits, el):
    """(d) The symmetric basis makes the degeneracies at G, X, L exact (to round-off), not approximate."""
    pairs = {"cu": {"X": [(0, 1)], "L": [(0, 1)]},
             "si": {"G": [(3, 4), (4, 5)], "X": [(0, 1), (2, 3), (4, 5)], "L": [(0, 1), (4, 5)]}}[el]
    for mode in ("seq", "sim"):
        for T in RUNS[el]:
            for label, pp in pairs.items():
                w = _freq(fits[el][mode], T, label)
                for a, b in pp:
                    assert abs(w[a] - w[b]) < 1e-9 * w.max(), (mode, T, label, w)
                if label == "G":
                    assert np.abs(w[:3]).max() < 1e-5                  # acoustic sum rule: zero at Gamma


def test_temperature_series_of_an_unsorted_dict(fits):
    """Fits given hottest first: each temperature keeps its own fit, and the frequencies follow them."""
    seq = fits["cu"]["seq"]
    back = _series({T: seq.fit_at(T) for T in reversed(seq.temperatures.tolist())})
    assert sorted(back.temperatures) == sorted(seq.temperatures) and all(back.fit_at(T) is seq.fit_at(T)
                                                                         for T in seq.temperatures)
    np.testing.assert_array_equal(back.frequencies.frequency.values, seq.frequencies.frequency.values)


def test_temperature_series_interpolation(fits):
    s = fits["si"]["seq"]
    assert s.temperatures.tolist() == [300.0, 1000.0]
    mid = trajmodes.Phonons(s.force_constants(650.0)).frequencies([[0, 0, 0]])[0, 3:]
    lo, hi = _freq(s, 300.0, "G")[3:], _freq(s, 1000.0, "G")[3:]
    assert np.all((mid < lo) & (mid > hi))
