"""What the comment lines of an extended XYZ state must hold for the whole file: a per-frame quantity (energy=, stress=)
that stops or starts in the middle, Properties that gain or lose a column (velocities, forces) and pbc are refused at
the frame where they change, naming the file and line; none is dropped or read with frame 0's layout without a word.
pbc="F F F" is a cluster: its Lattice is not taken as a periodic cell."""
from __future__ import annotations

import re

import numpy as np
import pytest

from tests.support.paths import DATA
from trajmodes.errors import TrajectoryFormatError
from trajmodes.io import open_source

PROPERTIES = "Properties=species:S:1:pos:R:3:vel:R:3:forces:R:3"


def _frames(lammps_header: bool = True) -> list[list[str]]:
    """tests/data/cu32.extxyz as 20 frames of 34 lines; its comment lines are LAMMPS' dump extxyz header (Time=,
    Timestep=), or ASE's (time=) without ``lammps_header``."""
    lines = (DATA / "cu32.extxyz").read_text().splitlines()
    frames = [lines[k:k + 34] for k in range(0, len(lines), 34)]
    if not lammps_header:
        for k, f in enumerate(frames):
            f[1] = re.sub(r" source=\S+", "", re.sub(r" Time=\S+ Timestep=\S+", f" time={k * 0.01!r}", f[1]))
    return frames


def _write(tmp_path, frames, name="run.extxyz") -> str:
    path = tmp_path / name
    path.write_text("\n".join(line for f in frames for line in f) + "\n")
    return str(path)


def _comment(frames, add) -> list[list[str]]:
    """The frames with ``add(k)`` appended to frame k's comment line."""
    return [[f[0], f[1] + add(k)] + f[2:] for k, f in enumerate(frames)]


@pytest.mark.parametrize("key, value", [("energy", "-100.5"), ("stress", '"0.01 0 0 0 0.01 0 0 0 0.01"')])
def test_a_quantity_on_frames_0_to_9_only_is_refused_at_frame_10(tmp_path, key, value):
    """The regression: on LAMMPS' dump extxyz header (Time=, Timestep=), ASE's energy= and stress= were dropped without
    a word (as on ASE's header they are refused)."""
    path = _write(tmp_path, _comment(_frames(), lambda k: f" {key}={value}" if k < 10 else ""))
    with pytest.raises(TrajectoryFormatError, match=rf"run.extxyz, frame 10, line 342: the comment line has no "
                                                    rf"readable {key}= value"):
        open_source(path)


def test_an_energy_on_every_frame_of_a_lammps_header_is_read(tmp_path):
    path = _write(tmp_path, _comment(_frames(), lambda k: f" energy={-100 - 0.01 * k!r}"))
    src = open_source(path)
    assert "potential_energy" in src.frame_fields
    np.testing.assert_allclose(src.read(np.arange(3), fields=("potential_energy",))["potential_energy"],
                               [-100.0, -100.01, -100.02])


@pytest.mark.parametrize("key, value", [("energy", "-100.5"), ("stress", '"0.01 0 0 0 0.01 0 0 0 0.01"')])
def test_a_quantity_on_middle_frames_only_is_refused_where_it_begins(tmp_path, key, value):
    """Neither on frame 0 nor on the last, energy= or stress= on frames 5-9 used to be dropped without a word."""
    path = _write(tmp_path, _comment(_frames(False), lambda k: f" {key}={value}" if 5 <= k < 10 else ""))
    with pytest.raises(TrajectoryFormatError, match=rf"run.extxyz, frame 5, line 172: the comment line has {key}=, "
                                                    "which frame 0 and the last frame have not"):
        open_source(path)


def _columns(frame, properties, keep: int) -> list[str]:
    """A frame with ``properties`` and the first ``keep`` tokens of every atom line."""
    return [frame[0], frame[1].replace(PROPERTIES, properties)] + [" ".join(r.split()[:keep]) for r in frame[2:]]


@pytest.mark.parametrize("change", ["velocities appear", "velocities vanish", "forces appear", "forces vanish"])
def test_columns_that_come_or_go_mid_file_are_refused(tmp_path, change):
    """Columns that appear in frame 10 were read with frame 0's layout, without a word."""
    frames = _frames(False)
    few = ("Properties=species:S:1:pos:R:3", 4) if change.startswith("velocities") else \
        ("Properties=species:S:1:pos:R:3:vel:R:3", 7)
    late = change.endswith("vanish")
    frames = [_columns(f, *few) if (k >= 10) == late else f for k, f in enumerate(frames)]
    path = _write(tmp_path, frames)
    with pytest.raises(TrajectoryFormatError, match=r"run.extxyz, frame 10, line 342: the comment line states "
                                                    r"Properties=.*, but frame 0 states Properties="):
        open_source(path)


def test_pbc_false_is_a_cluster_without_a_periodic_cell(tmp_path):
    path = _write(tmp_path, [[f[0], f[1].replace('pbc="T T T"', 'pbc="F F F"')] + f[2:] for f in _frames(False)])
    src = open_source(path)
    assert not src.has_cell and src.pbc == (False, False, False)
    assert np.isnan(src.read([0])["cells"]).all()
    assert open_source(_write(tmp_path, _frames(False), "periodic.extxyz")).has_cell


def test_a_slab_and_a_pbc_that_changes_are_refused(tmp_path):
    slab = _write(tmp_path, [[f[0], f[1].replace('pbc="T T T"', 'pbc="T T F"')] + f[2:] for f in _frames(False)])
    with pytest.raises(TrajectoryFormatError, match=r"frame 0, line 2: pbc='T T F': the cell is periodic along some "
                                                    "axes only"):
        open_source(slab)
    frames = _frames(False)
    frames[7][1] = frames[7][1].replace('pbc="T T T"', 'pbc="F F F"')
    with pytest.raises(TrajectoryFormatError, match=r"frame 7, line 240: the comment line states pbc=\"F F F\", but "
                                                    r"frame 0 states pbc=\"T T T\""):
        open_source(_write(tmp_path, frames, "changes.extxyz"))
