"""One registry says what a path is (trajmodes.io.identify): a plain trajectory and its reader, a path-integral run
(LAMMPS partitions, i-PI beads, GPUMD's dump_beads) with its bead files, or a single structure; a file of no kind gets
one message saying what each kind would need, and the commands open every kind of run through one function
(trajmodes.workflows.reading.open_run)."""
from __future__ import annotations

import shutil
import warnings
from pathlib import Path

import numpy as np
import pytest

from tests.quantum.support import write_ipi_file
from tests.support.dumps import default_columns, random_truth, read_quiet, small_dump, write_dump
from trajmodes.errors import TrajectoryFormatError
from trajmodes.io import identify, read_structure
from trajmodes.io.trajectories.ase_reader import ASESource
from trajmodes.io.trajectories.ipi import IPISource
from trajmodes.io.trajectories.lammps import LammpsDumpSource
from trajmodes.io.trajectories.mdanalysis import MDAnalysisSource
from trajmodes.io.trajectories.netcdf import NetCDFSource
from trajmodes.io.trajectories.registry import KINDS
from trajmodes.io.trajectories.xyz import XYZSource
from trajmodes.workflows.reading import open_run

DATA = Path(__file__).resolve().parents[1] / "data"
POSCAR = """Cu fcc
3.61
1.0 0.0 0.0
0.0 1.0 0.0
0.0 0.0 1.0
Cu
4
Direct
0.0 0.0 0.0
0.0 0.5 0.5
0.5 0.0 0.5
0.5 0.5 0.0
"""


def _lammps_pimd(folder: Path, n_beads: int = 2) -> Path:
    """The per-partition dumps of a LAMMPS fix pimd/langevin run at 50 K with its input beside them."""
    values = " ".join(str(k) for k in range(n_beads))
    (folder / "in.pimd").write_text(
        f"variable ibead world {values}\nunits metal\nmass * 39.948\ntimestep 0.0005\n"
        "fix 1 all pimd/langevin method nmpimd ensemble nvt temp 50.0 thermostat PILE_L 1 tau 1.0\n"
        "dump 1 all custom 10 dump.pimd.${ibead} id type x y z vx vy vz fx fy fz\nrun 200\n")
    truth = random_truth(np.random.default_rng(0), n_frames=2, n_atoms=4)
    for k in range(n_beads):
        write_dump(folder / f"dump.pimd.{k}", truth, default_columns("xu"))
    return folder / "dump.pimd.1"


def _ipi(folder: Path, n_beads: int) -> Path:
    x = np.random.default_rng(1).uniform(0.5, 5.0, (n_beads, 3, 2, 3))
    for b in range(n_beads):
        write_ipi_file(folder / f"sim.pos_{b}.xyz", x[b], species=["Cu", "Cu"], abc=(6, 6, 6, 90, 90, 90),
                       steps=[0, 10, 20], bead=b)
    return folder / "sim.pos_0.xyz"


def _ase_traj(path: Path) -> Path:
    import ase
    import ase.io
    atoms = ase.Atoms("Cu2", positions=[[0, 0, 0], [1.8, 1.8, 0]], cell=[3.6] * 3, pbc=True)
    ase.io.write(path, [atoms, atoms], format="traj")
    return path


def _netcdf(folder: Path) -> Path:
    read_quiet(small_dump(folder / "src.lammpstrj")[0]).to_netcdf(folder / "cache.nc")
    return folder / "cache.nc"


def test_one_call_names_every_kind_of_path(tmp_path):
    """identify() tells apart each kind of file the package reads: a LAMMPS dump and the same dumps as partitions of
    a fix pimd run, an i-PI run of several beads and of one, GPUMD's bead files and their folder, extended XYZ, an
    ASE trajectory, a POSCAR (by name and by layout), a LAMMPS data file and trajmodes' netCDF cache."""
    pimd, ipi, classical = tmp_path / "pimd", tmp_path / "ipi", tmp_path / "ipi1"
    for d in (pimd, ipi, classical):
        d.mkdir()
    (tmp_path / "POSCAR").write_text(POSCAR)
    (tmp_path / "infile.ucposcar").write_text(POSCAR)
    cases = {
        DATA / "cu32_xu.lammpstrj": ("trajectory", "lammps", LammpsDumpSource),
        _lammps_pimd(pimd): ("path-integral", "lammps-pimd", None),
        _ipi(ipi, 3): ("path-integral", "ipi-beads", None),
        _ipi(classical, 1): ("trajectory", "ipi", IPISource),             # one bead: a classical run
        DATA / "gpumd_pimd" / "beads_dump_2.xyz": ("path-integral", "gpumd-beads", None),
        DATA / "gpumd_pimd": ("path-integral", "gpumd-beads", None),
        DATA / "cu32.extxyz": ("trajectory", "xyz", XYZSource),
        _ase_traj(tmp_path / "md.traj"): ("trajectory", "ase:traj", ASESource),
        tmp_path / "POSCAR": ("structure", "ase:vasp", None),
        tmp_path / "infile.ucposcar": ("structure", "ase:vasp", None),
        DATA / "cu32.data": ("structure", "lammps-data", None),
        _netcdf(tmp_path): ("trajectory", "netcdf", NetCDFSource),
    }
    for path, (kind, fmt, reader) in cases.items():
        found = identify(path)
        assert (found.kind, found.format, found.reader) == (kind, fmt, reader), path
        assert (found.beads is not None) == (kind == "path-integral"), path
    pi = {p.name: identify(p).beads for p, c in cases.items() if c[0] == "path-integral"}
    assert pi["dump.pimd.1"].n_beads == 2 and pi["dump.pimd.1"].temperature == 50.0
    assert pi["sim.pos_0.xyz"].n_beads == 3 and pi["gpumd_pimd"].n_beads == 4
    assert identify(pimd / "dump.pimd.1").describe() == "LAMMPS fix pimd path-integral run: 2 beads at 50 K (in.pimd)"
    # a reader of frames asks for the trajectory readers only: one partition's dump is a LAMMPS dump
    assert identify(pimd / "dump.pimd.0", kinds=("trajectory",)).reader is LammpsDumpSource
    assert isinstance(read_quiet(pimd / "dump.pimd.0").source, LammpsDumpSource)


def test_a_structure_is_read_by_the_entry_that_named_it(tmp_path):
    """read_structure takes the registry's answer: the POSCAR by ASE (its masses not stated), the data file by
    read_data (its Masses section), a trajectory's first frame."""
    (tmp_path / "infile.ucposcar").write_text(POSCAR)
    s = read_structure(tmp_path / "infile.ucposcar")
    assert len(s.species) == 4 and s.masses is None
    np.testing.assert_allclose(s.cell, 3.61 * np.eye(3))
    data = read_structure(DATA / "cu32.data")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")                 # the frame times of a structure do not matter
        first = read_structure(DATA / "cu32_xu.lammpstrj")
    assert len(data.species) == len(first.species) == 32 and data.masses is not None


def test_a_file_of_no_kind_gets_one_message_with_what_each_kind_needs(tmp_path):
    """A text file no kind takes: the one message names, for every kind, what it would need (the first line for
    trajmodes' own formats, what the others look for), and what MDAnalysis, asked last, said."""
    path = tmp_path / "notes.dat"
    path.write_text("the run of Tuesday\n300 K, 4000 atoms\n")
    own = (LammpsDumpSource, XYZSource, NetCDFSource, MDAnalysisSource)
    for read, kinds in ((open_run, ("trajectory", "path-integral", "structure")),
                        (read_structure, ("trajectory", "structure"))):
        with pytest.raises(TrajectoryFormatError) as err, warnings.catch_warnings():
            warnings.simplefilter("ignore")
            read(path)
        text = str(err.value)
        assert "'the run of Tuesday' is not 'ITEM: TIMESTEP'" in text and "not an XYZ file" in text
        assert "not a trajmodes netCDF cache" in text
        needs = [entry.needs for entry in KINDS if entry.kind in kinds and entry not in own]
        assert len(needs) >= (7 if "path-integral" in kinds else 4)
        for said in needs:
            assert said and said in text, (read, said)
    with pytest.raises(TrajectoryFormatError, match="MDAnalysis cannot read it either"):
        open_run(path)


def test_a_folder_that_holds_no_run(tmp_path):
    """A folder is a run only where it holds GPUMD's bead files; else the message says what it would need."""
    with pytest.raises(TrajectoryFormatError, match="it is a folder, and a GPUMD path-integral run needs"):
        identify(tmp_path)
    with pytest.raises(TrajectoryFormatError, match="it is a folder, not a regular file"):
        identify(tmp_path, kinds=("trajectory",))


def test_the_commands_open_every_kind_of_run_through_one_function(tmp_path):
    """open_run returns the plain run as its trajectory, and a path-integral run's ring with its centroid as the
    trajectory, whichever code wrote it; the temperature given is the path-integral run's."""
    plain = open_run(DATA / "cu32_xu.lammpstrj", species=["Cu"], md_timestep=0.001)
    assert plain.ring is None and plain.trajectory.n_atoms == 32
    copy = tmp_path / "gpumd"
    shutil.copytree(DATA / "gpumd_pimd", copy)
    for path in (_lammps_pimd(tmp_path), copy):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            run = open_run(path, temperature=50.0)
        assert run.ring is not None and run.trajectory is run.ring.centroid and run.ring.temperature == 50.0, path
        assert run.ring.n_beads == (2 if path.name.startswith("dump") else 4)
