"""`trajmodes lineshapes` of a run far too short for its lines: every width it fits is NaN (the spectra's bins are
wider than a third of the modes' frequencies), and the table of NaN widths comes with the note docs/cli.md promises:
which lines have no width, why (the run too short, its segments and bins), and about how long a run they need."""
from __future__ import annotations

import numpy as np

from tests.cli.test_cli_disorder import READ, _bvk_cu, _write_dump
from trajmodes.cli import main
from tests.support.cli_warnings import assert_warned


def test_a_table_of_nan_widths_says_the_run_is_too_short_and_for_which_lines(tmp_path, capsys):
    fc = _bvk_cu(2)
    types = 1 + (np.random.default_rng(1).permutation(fc.n_atoms) < fc.n_atoms // 2)
    fc.write(tmp_path / "fc.nc")
    dump = _write_dump(tmp_path / "short.lammpstrj", fc, types, n=12)
    assert main(["lineshapes", str(dump), *READ, "--force-constants", str(tmp_path / "fc.nc"), "-o",
                 str(tmp_path / "out")]) == 0
    captured = capsys.readouterr()
    assert_warned(captured.err, "longer than the trajectory")
    text = captured.out
    rows = [line for line in text.splitlines() if line.strip()[:1].isdigit() and " nan " in line]
    assert len(rows) == 9                                  # every distinct line of the table has no width
    note = next(line for line in text.splitlines() if line.startswith("the run measures no width"))
    assert "for 93 of its 93 modes" in note and "3.19, 3.394, 4.8" in note and "93 zero-frequency mode" in note
    assert "the run is too short for them" in note and "segment of 0.24 ps" in note and "bins of 4.17 THz" in note
    assert "run at least about" in note
