"""tests/support/lammps_series.py makes a real LAMMPS run whose dump and log agree (per-atom energies sum to the log's
PotEng at every frame step), and reuses it from its cache. Parsed with plain numpy, independently of trajmodes."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.support import lammps_series
from tests.support.lammps_md import find_potential, lammps_module

pytestmark = pytest.mark.slow            # one LAMMPS run of 64 atoms, 1250 steps: about 1 s

PARAMS = dict(frames=50, nevery=5, equil_ps=1.0, cells=2)


def _dump_frames(path: Path):
    """Steps and per-atom rows (n_frames, n_atoms, n_columns) of a LAMMPS custom dump, and its column names."""
    lines = path.read_text().splitlines()
    steps, frames, i = [], [], 0
    n = columns = None
    while i < len(lines):
        if lines[i] == "ITEM: TIMESTEP":
            steps.append(int(lines[i + 1]))
            i += 2
        elif lines[i] == "ITEM: NUMBER OF ATOMS":
            n = int(lines[i + 1])
            i += 2
        elif lines[i].startswith("ITEM: ATOMS"):
            columns = lines[i].split()[2:]
            frames.append(np.array([s.split() for s in lines[i + 1:i + 1 + n]], dtype=float))
            i += 1 + n
        else:
            i += 1
    return np.array(steps), np.stack(frames), columns


def _thermo_blocks(path: Path):
    """Every thermo block of a log whose header starts with Step: [(columns, rows array)]."""
    blocks, current = [], None
    for s in path.read_text().splitlines():
        tok = s.split()
        if tok[:1] == ["Step"]:
            current = (tok, [])
            blocks.append(current)
        elif current is not None:
            if s.startswith("Loop time"):
                current = None
            elif len(tok) == len(current[0]):
                current[1].append([float(x) for x in tok])
    return [(cols, np.array(rows)) for cols, rows in blocks]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    if lammps_module() is None or find_potential("Si.sw") is None:
        pytest.skip("LAMMPS (pip install 'lammps[mpi]') and its Si.sw are needed")
    out = tmp_path_factory.mktemp("lammps_series")
    return lammps_series.generate_run(out, "si", 300.0, 5.4373, 7, **PARAMS)


def test_dump_energies_match_log(run):
    steps, frames, columns = _dump_frames(run["dump"])
    assert columns == "id type xu yu zu vx vy vz fx fy fz c_pe".split()
    assert frames.shape == (PARAMS["frames"] + 1, 64, 12)
    np.testing.assert_array_equal(steps, PARAMS["nevery"] * np.arange(PARAMS["frames"] + 1))
    np.testing.assert_array_equal(frames[:, :, 0], np.tile(np.arange(1, 65), (len(steps), 1)))  # sorted by id
    blocks = _thermo_blocks(run["log"])
    assert len(blocks) == 1                              # the thermalisation block has no Step column
    cols, rows = blocks[0]
    np.testing.assert_array_equal(rows[:, 0], steps)     # a thermo row at every frame step
    pe_log = rows[:, cols.index("PotEng")]
    pe_dump = frames[:, :, -1].sum(axis=1)
    np.testing.assert_allclose(pe_dump, pe_log, rtol=1e-8, atol=0)
    assert np.ptp(pe_log) > 0.1                          # it moves: a real trajectory
    info = run["info"]
    assert info["n_atoms"] == 64 and info["frames"] == PARAMS["frames"] + 1
    assert info["mean_temperature"] == pytest.approx(rows[:, cols.index("Temp")].mean())
    assert info["mean_pe"] == pytest.approx(pe_log.mean())
    assert abs(info["mean_temperature"] - 300.0) < 60.0  # 64 atoms, 0.25 ps: loose
    assert "64 atoms" in run["data"].read_text()


def test_rerun_reuses_cache(run, monkeypatch):
    files = [run[k] for k in ("dump", "data", "log", "meta")]
    before = [p.stat().st_mtime_ns for p in files]

    def no_lammps(*args, **kwargs):
        raise AssertionError("LAMMPS was called for a cached run")

    monkeypatch.setattr(lammps_series, "run_lammps", no_lammps)
    again = lammps_series.generate_run(run["dump"].parent, "si", 300.0, 5.4373, 7, **PARAMS)
    assert [p.stat().st_mtime_ns for p in files] == before
    assert again["info"] == run["info"]
    assert again["dump"] == run["dump"]
