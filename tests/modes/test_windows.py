"""The segment windows of the mode spectra: "hann" and "boxcar" computed without importing scipy.signal (0.65 s of
every ``trajmodes project``), the same numbers as :func:`scipy.signal.get_window`, bit for bit."""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import scipy.signal

from trajmodes.modes.windows import window_values

LENGTHS = list(range(1, 260)) + [511, 512, 1023, 1024, 4097, 10000, 65536]


def scipy_window(name: str, n: int) -> np.ndarray:
    return scipy.signal.get_window(name, n, fftbins=True).astype(float)


@pytest.mark.parametrize("name", ["hann", "boxcar"])
def test_the_windows_computed_here_are_scipys_bit_for_bit(name):
    for n in LENGTHS + [np.int64(77)]:
        ours, theirs = window_values(name, n), scipy_window(name, int(n))
        assert ours.dtype == theirs.dtype and ours.shape == (int(n),)
        assert ours.tobytes() == theirs.tobytes(), (name, n)


def test_other_windows_and_bad_lengths_are_scipys():
    for name in ("blackman", "hamming", ("tukey", 0.3)):
        assert window_values(name, 100).tobytes() == scipy_window(name, 100).tobytes()
    for n in (0, -3):                               # scipy's own error, as before
        with pytest.raises(ValueError, match="positive integer"):
            window_values("hann", n)


def test_the_default_window_does_not_import_scipy_signal():
    code = ("import sys\n"
            "from trajmodes.modes.windows import window_values\n"
            "w = window_values('hann', 256)\n"
            "assert w.shape == (256,) and w[0] == 0.0 and w[128] == 1.0\n"
            "print('scipy.signal' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
