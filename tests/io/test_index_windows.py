"""The windowed frame scan gives exactly the whole-file scan, whatever the window size."""
import gzip

import numpy as np
import pytest

from tests.support.paths import DATA, EXAMPLES
from trajmodes import _fastparse
from trajmodes.io.trajectories.lammps_format import scan_windows

EX = EXAMPLES
FILES = sorted(DATA.glob("cu32_*.lammpstrj")) + [EX / "cu_fcc_300K.lammpstrj.gz"]


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
@pytest.mark.parametrize("window, margin", [(61, 40), (997, 64), (4096, 300)])
def test_windows_match_single_scan(path, window, margin, tmp_path):
    text = gzip.open(path).read() if path.suffix == ".gz" else path.read_bytes()
    plain = tmp_path / "dump.lammpstrj"
    plain.write_bytes(text)
    whole = _fastparse.scan_lammps(text)
    expect = (np.frombuffer(whole[0], np.int64), np.frombuffer(whole[1], np.int64), np.frombuffer(whole[2]))
    got = scan_windows(str(plain), window, margin)
    assert len(expect[0]) >= 10
    for g, e in zip(got, expect):
        assert np.array_equal(g, e, equal_nan=True)


def test_scan_range_arguments():
    text = b"ITEM: TIME\n0.5\nITEM: TIMESTEP\n10\nx\nITEM: TIMESTEP\n20\n"
    starts, steps, _ = _fastparse.scan_lammps(text, 16, len(text))   # the first TIMESTEP line starts at 15
    assert np.frombuffer(steps, np.int64).tolist() == [20]
    starts, steps, times = _fastparse.scan_lammps(text, 0, 16)
    assert np.frombuffer(steps, np.int64).tolist() == [10] and np.frombuffer(times).tolist() == [0.5]
    assert np.frombuffer(starts, np.int64).tolist() == [0]
