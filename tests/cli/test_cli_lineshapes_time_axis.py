"""`trajmodes lineshapes` on a run whose times cannot resolve its lines: refused before the pass where its frames are
too far apart for the modes (every width would be NaN), and never a "Tamura / exact" ratio made from NaN widths."""
from __future__ import annotations

import re
from types import SimpleNamespace

import numpy as np
import pytest

from tests.cli.test_cli_disorder import READ, _bvk_cu, _write_dump
from trajmodes.cli import main


@pytest.fixture(scope="module")
def disordered(tmp_path_factory):
    d = tmp_path_factory.mktemp("time_axis")
    fc = _bvk_cu(2)
    types = 1 + (np.random.default_rng(1).permutation(fc.n_atoms) < fc.n_atoms // 2)
    fc.write(d / "fc.nc")
    dump = _write_dump(d / "run.lammpstrj", fc, types, n=400)
    (d / "bare.lammpstrj").write_text(re.sub(r"ITEM: TIME\n[^\n]*\n", "", dump.read_text()))   # no times
    # no times and no velocities (nothing else to tell the frame interval by): positions and forces
    lines = []
    for line in (d / "bare.lammpstrj").read_text().splitlines():
        parts = line.split()
        if line.startswith("ITEM: ATOMS"):
            line = "ITEM: ATOMS id type xu yu zu fx fy fz"
        elif len(parts) == 11:
            line = " ".join(parts[:5] + parts[8:])
        lines.append(line)
    (d / "positions.lammpstrj").write_text("\n".join(lines) + "\n")
    return d, dump


def test_frames_too_far_apart_for_the_modes_are_refused(disordered, capsys):
    """1 ps between frames (what an XYZ file without times is assumed to have) resolves 0.5 THz; the modes reach
    7.2 THz: one line naming both and the options that give the times, status 2, nothing written. (A run with
    velocities and a wrong interval is refused by the reader already: its velocities tell the interval.)"""
    d, _ = disordered
    out = d / "refused"
    assert main(["lineshapes", str(d / "positions.lammpstrj"), *READ, "--force-constants", str(d / "fc.nc"), "--frame-interval", "1",
                 "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert "1 ps between frames" in err and "up to 0.5 THz" in err and "7.25 THz" in err
    assert "--frame-interval" in err and not out.exists()


def test_an_assumed_time_axis_is_named():
    from trajmodes.workflows.disorder import check_time_axis_resolves
    run = SimpleNamespace(frame_interval=1.0, source=SimpleNamespace(name="run.xyz"),
                          time_axis="ASSUMED: 1 ps between frames (the file gives no times)")
    with pytest.raises(ValueError, match=r"run.xyz: .*ASSUMED \(1 ps between frames \(the file gives no times\)\)"):
        check_time_axis_resolves(run, 7.2)
    check_time_axis_resolves(SimpleNamespace(frame_interval=0.02, time_axis="file"), 7.2)      # 25 THz: fine


def test_no_ratio_over_nan_exact_widths(disordered, capsys):
    """A 0.4 ps run (its frames given 0.001 ps apart; without velocities nothing tells that this is not their
    interval): no exact width is measured through its window, and the Tamura line says there is no ratio instead of
    printing one (it printed a median of the rms widths, labelled as the exact lines'). (The same frames with their
    velocities are refused: the velocities say 0.02 ps.)"""
    d, _ = disordered
    bare = d / "positions.lammpstrj"
    assert main(["lineshapes", str(bare), *READ, "--force-constants", str(d / "fc.nc"), "--md-timestep", "0.001",
                 "-o", str(d / "o")]) == 0
    out = capsys.readouterr().out
    line = next(x for x in out.splitlines() if x.startswith("Tamura's lowest order"))
    assert "no ratio" in line and "median" not in line and "nan" not in line.lower().replace("nan where", "")


def test_the_ratio_names_its_modes_and_reference(disordered, capsys):
    """With the run's own times (0.02 ps, 8 ps) the ratio is over the modes where both widths are numbers, and says
    which exact width it takes."""
    d, dump = disordered
    assert main(["lineshapes", str(dump), *READ, "--force-constants", str(d / "fc.nc"), "--resolution", "0.1",
                 "-o", str(d / "t")]) == 0
    out = capsys.readouterr().out
    line = next(x for x in out.splitlines() if x.startswith("Tamura's lowest order"))
    assert "exact lines' FWHM" in line and re.search(r"median [0-9.]+, from [0-9.e-]+ to [0-9.e+]+ over \d+", line)
