"""The registry of every kind of path (trajmodes.io.trajectories.registry): every format name reaches its reader,
the file a reader says it can open is identified as its format and opened by it, and one call says what any path is
(a plain trajectory, a path-integral run, a structure), or why it is none of them."""
from __future__ import annotations

import warnings

import pytest

from tests.support.dumps import read_quiet, small_dump
from tests.support import dft_outputs
from trajmodes.io import identify, open_source
from trajmodes.io.filesystem import read_head
from trajmodes.io.trajectories.ase_reader import ASESource
from trajmodes.io.trajectories.lammps import LammpsDumpSource
from trajmodes.io.trajectories.mdanalysis import MDAnalysisSource
from trajmodes.io.trajectories.netcdf import NetCDFSource
from trajmodes.io.trajectories.registry import KINDS, reader_for
from trajmodes.io.trajectories.ipi import IPISource
from trajmodes.io.trajectories.xyz import XYZSource

#: the names ``format=`` takes for each reader (the first: the one identify names)
NAMES = {LammpsDumpSource: ("lammps", "lammps-dump", "lammpsdump", "dump", "lammpstrj"),
         XYZSource: ("xyz", "extxyz"), IPISource: ("ipi", "i-pi"), NetCDFSource: ("netcdf", "nc", "trajmodes")}


def test_every_format_name_reaches_its_reader():
    readers = [k for k in KINDS if k.kind == "trajectory"]
    assert set(readers) == {LammpsDumpSource, XYZSource, IPISource, NetCDFSource, ASESource, MDAnalysisSource}
    assert KINDS[-1] is MDAnalysisSource                        # asked last: it takes any file and any name
    for reader, names in NAMES.items():
        assert reader.format_names == names
        for name in names:
            assert reader_for(name) is reader and reader_for(name.upper()) is reader, name
    assert reader_for("ase") is ASESource and reader_for("ase:vasp-out") is ASESource
    assert reader_for("DCD") is MDAnalysisSource and reader_for("mdanalysis") is MDAnalysisSource


def _xyz(path):
    path.write_text("2\nLattice=\"4 0 0 0 4 0 0 0 4\" Properties=species:S:1:pos:R:3\nCu 0 0 0\nCu 2 2 2\n" * 3)
    return path


@pytest.mark.parametrize("kind", ["lammps", "xyz", "netcdf", "ase:vasp-out"])
def test_the_reader_that_can_open_a_file_opens_it(tmp_path, kind):
    if kind == "lammps":
        path, reader = small_dump(tmp_path / "run.lammpstrj")[0], LammpsDumpSource
    elif kind == "xyz":
        path, reader = _xyz(tmp_path / "run.xyz"), XYZSource
    elif kind == "netcdf":
        path, reader = tmp_path / "cache.nc", NetCDFSource
        read_quiet(small_dump(tmp_path / "src.lammpstrj")[0]).to_netcdf(path)
    else:
        path, reader = tmp_path / "OUTCAR", ASESource
        dft_outputs.write_outcar(path, dft_outputs.random_frames(3), potim_fs=1.0)
    head = read_head(str(path))
    asked = [r for r in KINDS if r.kind == "trajectory" and r.can_open(head, str(path))]
    assert asked[0] is reader and asked[-1] is MDAnalysisSource
    found = identify(path)
    assert (found.kind, found.format, found.reader) == ("trajectory", kind, reader) and reader_for(kind) is reader
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")                     # the frame times some of these files leave assumed
        assert isinstance(open_source(path), reader)
