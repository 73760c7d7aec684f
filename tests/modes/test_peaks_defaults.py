"""The README's chain project -> mode_spectra -> fit_peaks: equivalent modes (the star of q, degenerate branches)
are fitted once by default, and the star-averaged numbers are those the command line reports."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

from tests.support.paths import EXAMPLES
import trajmodes
import trajmodes.modes.peaks as pk

EX = EXAMPLES


@pytest.fixture(scope="module")
def cu_spectra(cu_eam_phonons):
    traj = trajmodes.read(EX / "md" / "cu_300K.lammpstrj.gz", reference=EX / "md" / "cu_300K.data")
    ph = cu_eam_phonons
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return trajmodes.mode_spectra(trajmodes.project(traj, ph), resolution=0.05)


def _counted(monkeypatch):
    calls = []
    orig = pk.fit_spectrum
    monkeypatch.setattr(pk, "fit_spectrum", lambda *a, **k: calls.append(1) or orig(*a, **k))
    return calls


def test_each_star_and_degenerate_set_fitted_once(cu_spectra, monkeypatch):
    calls = _counted(monkeypatch)
    peaks = trajmodes.fit_peaks(cu_spectra, workers=1)          # every fit in this process, where it is counted
    n_stars = int(pk.star_average(cu_spectra)["star"].max()) + 1
    assert peaks["frequency"].shape == (256, 3)
    assert 0 < len(calls) <= 3 * n_stars < 100                    # 768 modes, a few dozen fits
    star = pk.star_average(cu_spectra)["star"].values
    f = peaks["frequency"].values
    for s in np.unique(star):                                     # every member of a star: the same numbers
        members = f[star == s]
        assert np.allclose(np.sort(members, axis=1), np.sort(members[0]), equal_nan=True)


def test_star_false_fits_every_q(cu_spectra, monkeypatch):
    calls = _counted(monkeypatch)
    trajmodes.fit_peaks(cu_spectra.isel(q=slice(0, 20)), star=False, workers=1)     # counted in this process
    assert len(calls) > 3 * 10                                    # each q's own spectra (degenerate sets once)


def test_sed_along_the_band_path(cu_spectra, tmp_path, cu_eam_phonons):
    """The SED is drawn along the band path: every column of a q on the path, its brightest bin on a branch."""
    from trajmodes.lattice.paths import path_coordinates
    from trajmodes.plots import plot_sed, sed_columns
    ph = cu_eam_phonons
    bands = ph.band_structure(npoints=21)
    rot = np.unique(np.asarray(ph.force_constants.primitive.rotations, int), axis=0)
    hits = path_coordinates(cu_spectra.qpoint.values, bands, rot)
    xs, cols = sed_columns(cu_spectra["sed"].values, hits)
    assert np.all(np.diff(xs) > 0) and len(xs) == len({round(float(x), 9) for h in hits for x in h}) >= 10
    f = cu_spectra.frequency.values
    nu_path = np.array([np.interp(x, bands.distance.values, bands.frequency.values[:, b]) for x in xs
                        for b in range(3)]).reshape(len(xs), 3)
    away = np.abs(f[np.argmax(cols, axis=1)][:, None] - nu_path).min(axis=1)
    assert np.median(away[xs > 0.05]) < 0.3                         # THz: the bright bins follow the branches
    out = tmp_path / "sed.png"
    plot_sed(cu_spectra.assign(peak_frequency=cu_spectra["frequency_harmonic"]), str(out), bands=bands,
             rotations=rot)
    assert out.stat().st_size > 10_000


def test_sed_leaves_segments_without_commensurate_q_empty(cu_eam_phonons):
    """A 7x7x7 supercell of the rhombohedral primitive fcc cell: on the L-W-X segment of the path Γ-X-U|K-Γ-L-W-X only
    its end points' neighbourhood holds commensurate q; the columns there stay about one grid spacing wide and the
    rest of the segment is empty (NaN), instead of one q's column stretched across it."""
    import itertools
    from trajmodes.lattice.paths import path_coordinates
    from trajmodes.plots import sed_columns
    from trajmodes.plots.modes import column_edges
    ph = cu_eam_phonons
    bands = ph.band_structure("GXU|KGLWX", npoints=21)
    rot = np.unique(np.asarray(ph.force_constants.primitive.rotations, int), axis=0)
    q = np.array(list(itertools.product(range(7), repeat=3))) / 7.0
    hits = path_coordinates(q, bands, rot)
    xs, cols = sed_columns(np.ones((len(q), 5)), hits)
    edges, filled = column_edges(xs, cols, bands.distance.values)
    assert np.all(np.diff(edges) > 0) and len(edges) == len(filled) + 1
    assert edges[0] == bands.distance.values[0] and edges[-1] == bands.distance.values[-1]
    widths = np.diff(edges)[np.isfinite(filled[:, 0])]
    assert widths.max() <= 2.0 * np.median(np.diff(xs)) + 1e-9
    # L-W-X (the last two segments) holds no commensurate q: empty from just past L to the end of the path
    d, seg = bands.distance.values, bands.segment.values
    l_point, w_point = d[seg == seg.max() - 1][0], d[seg == seg.max()][0]
    assert not np.isfinite(filled[-1, 0]) and edges[-2] < l_point + 0.5 * (w_point - l_point)
    # on a grid that reaches everywhere along the path nothing is left empty
    xs2 = np.linspace(0, bands.distance.values[-1], 40)
    e2, f2 = column_edges(xs2, np.ones((40, 5)), bands.distance.values)
    assert np.isfinite(f2).all() and len(e2) == 41
