"""A copy of a run given to a series as another run (``cp A B; trajmodes series A B``): the paths differ and so do
the files, but they hold the same run, which would be fitted twice and counted as two independent runs. The series
compares what the runs hold (atoms, frames, the positions of the first and the last frame: two frames read) and
refuses naming both files; runs that differ in their last frame (another seed from the same start) are kept.
The run is the extended XYZ file of tests/data (fcc Cu, 20 frames), the copy a byte-for-byte copy."""
from __future__ import annotations

import shutil

import numpy as np

from tests.support.dumps import read_quiet
from tests.support.paths import DATA
from trajmodes.cli import main
from trajmodes.series.fitting import refuse_repeated_runs


def test_the_command_line_refuses_a_copy_of_a_run_naming_both_files(tmp_path, capsys):
    a, b = tmp_path / "A.extxyz", tmp_path / "B.extxyz"
    shutil.copy(DATA / "cu32.extxyz", a)
    shutil.copy(a, b)
    out = tmp_path / "out"
    code = main(["series", str(a), str(b), "--cutoff2", "3", "--run-temperatures", "300", "300", "-o", str(out)])
    err = capsys.readouterr().err
    assert code != 0
    assert "A.extxyz (run 1) and B.extxyz (run 2)" in err, err
    assert f"{a} and {b} hold the same run, though they are different files: 20 frames of 32 atoms" in err
    assert "give each run once" in err and not (out / "series.nc").exists()


def test_runs_from_one_start_that_part_later_are_kept(tmp_path):
    rows = (DATA / "cu32.extxyz").read_text().splitlines()
    last = rows[-1].split()
    last[1] = repr(float(last[1]) + 0.01)               # the same start, another last frame
    (tmp_path / "B.extxyz").write_text("\n".join(rows[:-1] + [" ".join(last)]) + "\n")
    runs = [read_quiet(p) for p in (DATA / "cu32.extxyz", tmp_path / "B.extxyz")]
    assert np.array_equal(runs[0].positions[0].compute(), runs[1].positions[0].compute())
    refuse_repeated_runs(runs, ["A", "B"])              # no error
