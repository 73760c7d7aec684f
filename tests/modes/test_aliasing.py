"""Frames too far apart for a mode (its harmonic frequency near or above the Nyquist frequency): flagged, never
reported as a shift, announced once with the frame interval that would be needed. And short runs: the command
line prints a per-branch summary, the full table on request."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

from tests.support.paths import EXAMPLES
import trajmodes
from trajmodes.cli import main
from trajmodes.modes.spectra import ALIAS_FRACTION
from tests.support.cli_warnings import assert_warned

EX = EXAMPLES
SI = [str(EX / "md" / "si_300K.lammpstrj.gz"), "--reference", str(EX / "md" / "si_300K.data")]


@pytest.fixture(scope="module")
def si_chain():
    """The Si example (frames 0.04 ps apart: Nyquist 12.5 THz; optical modes up to 17.8 THz) through the
    README's chain, recording the warnings."""
    traj = trajmodes.read(SI[0], reference=SI[2])
    ph = trajmodes.Phonons(trajmodes.ForceConstants.read(EX / "fc" / "si_sw", "phonopy"))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        modes = trajmodes.project(traj, ph)
        spectra = trajmodes.mode_spectra(modes, resolution=0.1)
        peaks = trajmodes.fit_peaks(spectra)
    return modes, spectra, peaks, [str(w.message) for w in caught]


def test_warned_once_with_the_interval_needed(si_chain):
    *_, messages = si_chain
    nyq = [m for m in messages if "Nyquist" in m]
    assert len(nyq) == 1, messages
    assert "12.50 THz" in nyq[0] and "0.04 ps" in nyq[0] and "every 0.0224 ps" in nyq[0]


def test_aliased_modes_are_flagged_not_reported(si_chain):
    modes, spectra, peaks, _ = si_chain
    H = np.abs(modes["frequency_harmonic"].values)
    flagged = peaks["status"].values == "above Nyquist: aliased"
    assert np.array_equal(flagged, H >= ALIAS_FRACTION * 12.5) and flagged.sum() > 300
    for name in ("frequency", "shift", "fwhm", "lifetime"):
        assert np.isnan(peaks[name].values[flagged]).all()
    assert not np.isnan(peaks["frequency"].values[~flagged & (H > 1)]).all()     # the others are fitted
    assert spectra.attrs["nyquist_thz"] == pytest.approx(12.5)


def test_no_warning_when_the_frames_are_close_enough(cu_eam_phonons):
    traj = trajmodes.read(EX / "md" / "cu_300K.lammpstrj.gz", reference=EX / "md" / "cu_300K.data")
    ph = cu_eam_phonons
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        modes = trajmodes.project(traj[:100], ph, qpoints=[[0.5, 0, 0.5]])
    assert "aliasing_warned" not in modes.attrs


@pytest.mark.slow
def test_cli_summary_per_branch(tmp_path, capsys):
    out = tmp_path / "m" / "modes.nc"
    assert main(["project", *SI, "--force-constants", str(EX / "fc" / "si_sw"), "-o", str(out.parent)]) == 0
    captured = capsys.readouterr()
    assert_warned(captured.err, r"fold back \(alias\)")
    text = captured.out
    assert len(text.splitlines()) < 20 and "aliased" in text and "narrower than this run resolves" in text
    lines = [ln.split() for ln in text.splitlines() if ln.split() and ln.split()[0] == "5"]
    assert lines and lines[0][4] == "108"                         # the top optical branch: all aliased
    assert main(["lifetimes", str(out), "--table"]) == 0
    assert capsys.readouterr().out.count("above Nyquist: aliased") > 300
