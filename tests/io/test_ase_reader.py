"""The ASE frame source (trajmodes.io.trajectories.ase_reader): VASP OUTCAR, vasprun.xml and XDATCAR, Quantum ESPRESSO
pw.x output, ASE .traj, extended XYZ and a sequentially read format, each written from one real LAMMPS run and read back
against that run's dump: positions, forces, velocities, energies, pressure tensors, frame times and fitted force
constants.

The run (module fixture): diamond Si, Stillinger-Weber, 2x2x2 conventional cells (64 atoms), Nose-Hoover NVT at
300 K after 2 ps of Langevin thermalisation, 101 frames every 20 steps of 1 fs (tests/support/lammps_series.py),
dumped with ``%.10g`` and its log read for the pressure tensor. ASE writes the .traj, extended XYZ, XDATCAR (its
header before every frame; a copy in VASP's fixed-cell layout has it once) and CASTEP .md (read sequentially) files;
the OUTCAR, vasprun.xml and pw.x output are written by tests/support/dft_outputs.py in the programs' layouts and
precisions (ASE has no writer for them). Tolerances are those precisions: OUTCAR positions %.5f, forces %.6f, stress
%.5f kB; vasprun.xml %.8f; pw.x Ry and Bohr %.8f, positions %.10f (start-up %.7f alat units). ASE's own test data
(real VASP and pw.x outputs, where the installed ASE ships them) are read against ``ase.io.read``.
"""
from __future__ import annotations

import gzip
import json
import pickle
import re
import shutil
import subprocess
import sys
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

ase = pytest.importorskip("ase")
import ase.io  # noqa: E402
from ase.calculators.singlepoint import SinglePointCalculator  # noqa: E402

import trajmodes  # noqa: E402
from tests.support import dft_outputs  # noqa: E402
from tests.support.lammps_md import lammps_module  # noqa: E402
from tests.support.paths import ROOT  # noqa: E402
from trajmodes.errors import TrajectoryFormatError, TruncatedFrameWarning  # noqa: E402
from trajmodes.io import identify  # noqa: E402
from trajmodes.io.trajectories import ase_reader  # noqa: E402
from trajmodes.io.trajectories.ase_reader import ASESource  # noqa: E402

needs_lammps = pytest.mark.skipif(lammps_module() is None, reason="the lammps Python module is not installed")

FRAMES, NEVERY, DT = 100, 20, 0.001           # 101 frames, one every 0.02 ps
INTERVAL = NEVERY * DT
CUTOFF2 = 5.0                                 # A: 1st to 3rd neighbour shells of Si


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """The LAMMPS run, its frames, and every file written from them (name -> path)."""
    if lammps_module() is None:
        pytest.skip("the lammps Python module is not installed")
    from tests.support.lammps_series import generate_run
    d = tmp_path_factory.mktemp("ase_md")
    r = generate_run(d, "si", 300.0, 5.431, 11, frames=FRAMES, nevery=NEVERY, equil_ps=2.0, cells=2)
    lmp = trajmodes.read(r["dump"], reference=r["data"], thermo=r["log"])
    frames = dft_outputs.lammps_frames(lmp)
    images = dft_outputs.ase_images(frames)
    files = {"traj": d / "run.traj", "extxyz": d / "run.xyz", "xdatcar": d / "XDATCAR", "outcar": d / "OUTCAR",
             "vasprun": d / "vasprun.xml", "espresso": d / "md.pwo", "castep": d / "run.md"}
    ase.io.write(files["traj"], images)
    ase.io.write(files["extxyz"], images, format="extxyz")
    ase.io.write(files["xdatcar"], images, format="vasp-xdatcar")    # ASE repeats the header before every frame
    lines = files["xdatcar"].read_text().rstrip("\n").split("\n")     # VASP's fixed-cell layout: the header once
    files["xdatcar_fixed"] = d / "XDATCAR_fixed"
    files["xdatcar_fixed"].write_text("\n".join(lines[:7] + [x for k, x in enumerate(lines[7:]) if k % 72 < 65])
                                      + "\n")
    ase.io.write(files["castep"], images, format="castep-md")
    dft_outputs.write_outcar(files["outcar"], frames, potim_fs=INTERVAL * 1e3)
    dft_outputs.write_vasprun(files["vasprun"], frames, potim_fs=INTERVAL * 1e3)
    dft_outputs.write_espresso_out(files["espresso"], frames, dt_ps=INTERVAL)
    return dict(dir=d, lammps=lmp, frames=frames, files=files, data=r["data"], images=images)


def _arrays(traj, names) -> dict:
    import dask
    return dict(zip(names, dask.compute(*[getattr(traj, n) for n in names], scheduler="threads")))


def _min_image(d: np.ndarray, cells: np.ndarray) -> np.ndarray:
    s = np.einsum("tij,tjk->tik", d, np.linalg.inv(cells))
    s -= np.round(s)
    return np.einsum("tij,tjk->tik", s, cells)


# name: (ASE format, access, read options, tolerances: positions A, forces eV/A, velocities (relative), energy eV,
#        pressure tensor GPa, cell A; None: the format has no such field)
CASES = {
    "traj": ("traj", "native", dict(frame_interval=INTERVAL), dict(pos=1e-12, frc=1e-12, vel=1e-7, e=1e-10,
                                                                    p=1e-7, cell=1e-12)),
    "extxyz": ("extxyz", "indexed", dict(format="ase", frame_interval=INTERVAL),
               dict(pos=6e-9, frc=6e-9, vel=1e-7, e=1e-10, p=1e-7, cell=1e-12)),
    "outcar": ("vasp-out", "indexed", {}, dict(pos=6e-6, frc=6e-7, vel=None, e=6e-9, p=6e-7, cell=6e-10)),
    "vasprun": ("vasp-xml", "indexed", {}, dict(pos=1e-7, frc=6e-9, vel=None, e=6e-9, p=1e-7, cell=6e-9)),
    "espresso": ("espresso-out", "indexed", {}, dict(pos=1e-6, frc=4e-7, vel=None, e=2e-7, p=1e-4, cell=1e-6)),
    "xdatcar": ("vasp-xdatcar", "indexed", dict(md_timestep=INTERVAL),
                dict(pos=1e-7, frc=None, vel=None, e=None, p=None, cell=6e-7)),
    "xdatcar_fixed": ("vasp-xdatcar", "indexed", dict(md_timestep=INTERVAL),
                      dict(pos=1e-7, frc=None, vel=None, e=None, p=None, cell=6e-7)),
    "castep": ("castep-md", "sequential", dict(format="ase", frame_interval=INTERVAL),
               dict(pos=1e-6, frc=1e-6, vel=1e-6, e=None, p=1e-6, cell=1e-6)),
}


@needs_lammps
@pytest.mark.parametrize("case", sorted(CASES))
def test_same_frames_as_the_lammps_dump(run, case):
    """Every format ASE reads gives the dump's positions (minimum image: VASP wraps them), forces, velocities, cells,
    energies and pressure tensors to the precision the format prints, through several Dask chunks; and the times."""
    fmt, access, opts, tol = CASES[case]
    ref = run["frames"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")                           # no assumed times, no dropped frame
        traj = trajmodes.read(run["files"][case], chunk_frames=16, **opts)
    src = traj.source
    assert isinstance(src, ASESource) and (src.ase_format, src.access) == (fmt, access)
    assert (traj.n_frames, traj.n_atoms) == (FRAMES + 1, 64) and set(traj.species) == {"Si"}
    assert np.allclose(traj.masses, 28.0855, atol=1e-3)
    expect = ["positions"] + [f for f, k in (("velocities", "vel"), ("forces", "frc")) if tol[k] is not None]
    assert src.fields == tuple(expect)
    assert traj.frame_fields == (() if tol["e"] is None else ("potential_energy",)) + \
        (() if tol["p"] is None else ("pressure", "pressure_tensor"))
    got = _arrays(traj, list(src.fields) + list(traj.frame_fields) + ["cells"])
    cells = ref["cells"]
    assert np.abs(got["cells"] - cells).max() < tol["cell"]
    assert np.abs(_min_image(got["positions"] - ref["positions"], cells)).max() < tol["pos"]
    if tol["frc"] is not None:
        assert np.abs(got["forces"] - ref["forces"]).max() < tol["frc"]
    if tol["vel"] is not None:
        v = ref["velocities"]
        assert np.abs(got["velocities"] - v).max() < tol["vel"] * np.abs(v).max()
    if tol["e"] is not None:
        assert np.abs(got["potential_energy"] - ref["potential_energy"]).max() < tol["e"]
    if tol["p"] is not None:
        assert np.abs(got["pressure_tensor"] - ref["pressure_tensor"]).max() < tol["p"]
        assert np.allclose(got["pressure"], np.trace(got["pressure_tensor"], axis1=1, axis2=2) / 3, atol=1e-12)
    assert np.allclose(traj.times - traj.times[0], np.arange(FRAMES + 1) * INTERVAL, atol=1e-9)
    if case in ("outcar", "vasprun"):                             # POTIM of an IBRION = 0 run
        assert traj.md_timestep == pytest.approx(INTERVAL) and "POTIM" in traj.time_axis
    if case == "espresso":                     # pw.x's iteration numbers, its Time step line in a.u. and fs
        assert traj.md_timestep == pytest.approx(INTERVAL, rel=1e-12)
        assert "'Time step = 413.41 a.u., 20.0000 femto-seconds'" in traj.time_axis
        assert np.array_equal(traj.steps, np.arange(FRAMES + 1))
        assert np.allclose(traj.times, ref["times"], atol=1e-9)


@needs_lammps
def test_names_and_content_are_sniffed(run, tmp_path):
    """trajmodes.read("OUTCAR") just works: OUTCAR, vasprun.xml, XDATCAR, .traj and .pwo by name, pw.x output and ASE
    trajectories by content under any name; extended XYZ stays with trajmodes' own reader and agrees with ASE's."""
    f = run["files"]
    assert identify(f["outcar"]).format == "ase:vasp-out" and identify(f["vasprun"]).format == "ase:vasp-xml"
    assert identify(f["xdatcar"]).format == "ase:vasp-xdatcar" and identify(f["traj"]).format == "ase:traj"
    assert identify(f["espresso"]).format == "ase:espresso-out" and identify(f["extxyz"]).format == "xyz"
    for src, name in ((f["espresso"], "pw.out"), (f["traj"], "trajectory.bin"), (f["vasprun"], "run.xml"),
                      (f["xdatcar"], "positions.dat"), (f["outcar"], "OUTCAR_0001.gz")):
        p = tmp_path / name
        p.write_bytes(gzip.compress(src.read_bytes()) if name.endswith(".gz") else src.read_bytes())
        assert identify(p).format.startswith("ase:"), name
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            t = trajmodes.read(p)
        assert t.n_frames == FRAMES + 1, name
    p = tmp_path / "dft.log"                                     # a name nothing recognises: format= decides
    shutil.copy(f["outcar"], p)
    t = trajmodes.read(p, format="ase:vasp-out")
    assert t.source.ase_format == "vasp-out"
    own = trajmodes.read(f["extxyz"], frame_interval=INTERVAL)
    via_ase = trajmodes.read(f["extxyz"], format="ase", frame_interval=INTERVAL)
    assert type(own.source).__name__ == "XYZSource" and via_ase.source.ase_format == "extxyz"
    for name in ("positions", "forces", "pressure_tensor"):
        a, b = getattr(own, name).compute(), getattr(via_ase, name).compute()
        assert np.allclose(a, b, rtol=1e-8, atol=1e-12), name
    # momenta: ASE divides by the masses it multiplied them with (its Si: 28.085), trajmodes' own reader by the
    # standard atomic weight (28.0855): 2e-5 apart
    a, b = own.velocities.compute(), via_ase.velocities.compute()
    assert np.allclose(a, b * ase.data.atomic_masses[14] / own.masses[0], rtol=1e-8, atol=1e-12)


@needs_lammps
def test_reference_from_poscar_and_outcar(run, tmp_path):
    """A POSCAR (the ideal crystal, written by ASE) or an OUTCAR serves as the reference, as a LAMMPS data file does."""
    from trajmodes.io import read_structure
    ideal = read_structure(run["data"])
    poscar = tmp_path / "POSCAR"
    ase.io.write(poscar, ase.Atoms(["Si"] * 64, positions=ideal.positions, cell=ideal.cell, pbc=True),
                 format="vasp", direct=True)
    t = trajmodes.read(run["files"]["outcar"], reference=poscar)
    d = t.reference.positions - ideal.positions
    assert np.abs(_min_image(d[None], ideal.cell[None])).max() < 1e-7
    first = read_structure(run["files"]["outcar"])
    assert np.abs(_min_image((first.positions - run["frames"]["positions"][0])[None],
                             ideal.cell[None])).max() < 6e-6


@pytest.fixture(scope="module")
def lammps_fit(run):
    from trajmodes.forceconstants.fit import EffectiveForceConstants
    return EffectiveForceConstants(cutoff2=CUTOFF2).fit(run["lammps"])


@needs_lammps
@pytest.mark.parametrize("case", ["traj", "outcar", "vasprun", "espresso"])
def test_same_fitted_force_constants(run, lammps_fit, case):
    """Effective second-order force constants fitted (TDEP, trajmodes' EffectiveForceConstants, cutoff 5 A, reference
    the ideal crystal of the run) to each file equal those fitted to the LAMMPS dump, to the files' precision."""
    from trajmodes.forceconstants.fit import EffectiveForceConstants
    _, _, opts, _ = CASES[case]
    traj = trajmodes.read(run["files"][case], reference=run["data"], **opts)
    est = EffectiveForceConstants(cutoff2=CUTOFF2).fit(traj)
    fc, fc0 = est.force_constants_.fc2, lammps_fit.force_constants_.fc2
    rel = np.abs(fc - fc0).max() / np.abs(fc0).max()              # measured: 0, 1.5e-6, 4e-9, 1.2e-8
    assert rel < {"traj": 1e-12, "outcar": 1e-5, "vasprun": 1e-7, "espresso": 1e-7}[case], rel
    assert float(est.scores_.r2[0]) == pytest.approx(float(lammps_fit.scores_.r2[0]), abs=1e-6)
    x = [[0.5, 0.5, 0.0]]                                           # X: frequencies within 2.3e-5 THz (OUTCAR)
    nu, nu0 = (trajmodes.Phonons(e.force_constants_).frequencies(x)[0] for e in (est, lammps_fit))
    assert np.abs(nu - nu0).max() < 1e-4


@needs_lammps
def test_random_access_pickling_threads_and_saved_index(run, tmp_path):
    """Frames read in any grouping, by a pickled source, from several threads, equal one eager read; the frame index
    is saved beside the file and reused by the next opening."""
    p = tmp_path / "OUTCAR"
    shutil.copy(run["files"]["outcar"], p)
    src = ASESource(p)
    assert (tmp_path / ".OUTCAR.tmidx.npz").exists()
    whole = src.read(np.arange(src.n_frames))
    again = ASESource(p)
    assert np.array_equal(again._index["starts"], src._index["starts"])
    some = pickle.loads(pickle.dumps(src)).read([3, 4, 5, 50, 100])
    for k in ("positions", "forces", "cells", "potential_energy", "pressure_tensor"):
        assert np.array_equal(some[k], whole[k][[3, 4, 5, 50, 100]]), k
    lean = src.read([7, 8], fields=("potential_energy",))
    assert np.array_equal(lean["potential_energy"], whole["potential_energy"][7:9])
    with ThreadPoolExecutor(4) as ex:
        outs = list(ex.map(lambda k: src.read([k, k + 1])["forces"], range(0, 100, 7)))
    assert all(np.array_equal(o, whole["forces"][k:k + 2]) for o, k in zip(outs, range(0, 100, 7)))
    tr = trajmodes.read(run["files"]["traj"], frame_interval=INTERVAL)
    t2 = pickle.loads(pickle.dumps(tr.source))
    assert np.array_equal(t2.read([99, 100])["velocities"], tr.velocities[99:].compute())


@needs_lammps
def test_xdatcar_positions_only(run):
    """An XDATCAR has positions and cells only: its configuration numbers are the MD steps md_timestep= scales, and a
    fit says the forces are missing, naming the file."""
    from trajmodes.forceconstants.fit import EffectiveForceConstants
    traj = trajmodes.read(run["files"]["xdatcar"], md_timestep=INTERVAL, reference=run["data"])
    assert np.array_equal(traj.steps, np.arange(1, FRAMES + 2)) and traj.frame_interval == pytest.approx(INTERVAL)
    assert traj.forces is None and traj.velocities is None and traj.potential_energy is None
    with pytest.raises(ValueError, match=r"XDATCAR has no forces"):
        EffectiveForceConstants(cutoff2=CUTOFF2).fit(traj)


@needs_lammps
def test_variable_cell_frames(run, tmp_path):
    """NPT-like frames (every frame's cell and positions strained by its own factor) keep their cells through the
    .traj, OUTCAR, vasprun.xml and XDATCAR (variable-cell layout), and a uniform strain gives the same displacements."""
    ref = run["frames"]
    n = 12
    scale = 1.0 + 0.002 * np.arange(n)
    frames = dict(ref, positions=ref["positions"][:n] * scale[:, None, None],
                  cells=ref["cells"][:n] * scale[:, None, None], velocities=ref["velocities"][:n],
                  forces=ref["forces"][:n], potential_energy=ref["potential_energy"][:n],
                  pressure_tensor=ref["pressure_tensor"][:n])
    images = dft_outputs.ase_images(frames)
    paths = [tmp_path / "npt.traj", tmp_path / "OUTCAR", tmp_path / "vasprun.xml", tmp_path / "XDATCAR"]
    ase.io.write(paths[0], images)
    dft_outputs.write_outcar(paths[1], frames, potim_fs=20.0)
    dft_outputs.write_vasprun(paths[2], frames, potim_fs=20.0)
    ase.io.write(paths[3], images, format="vasp-xdatcar")
    want = trajmodes.read(run["lammps"].source.paths[0], reference=run["data"])[:n].displacements().compute()
    for p in paths:
        t = trajmodes.read(p, frame_interval=INTERVAL, reference=run["data"], chunk_frames=5)
        assert np.abs(t.cells.compute() - frames["cells"]).max() < 1e-6, p.name
        assert np.abs(t.displacements().compute() - want).max() < 1e-5, p.name


# ------------------------------------------------------------------------------------------------------ broken files
def _cut(src, dst, fraction: float):
    data = src.read_bytes()
    dst.write_bytes(data[:int(len(data) * fraction)])
    return dst


@needs_lammps
@pytest.mark.parametrize("case", ["outcar", "vasprun", "xdatcar", "extxyz", "espresso", "traj"])
def test_truncated_file_drops_its_last_frame(run, tmp_path, case):
    """A file cut inside its last frame loses that frame, with a TruncatedFrameWarning naming it; the others read."""
    name = run["files"][case].name
    p = _cut(run["files"][case], tmp_path / name, 0.995)
    opts = {"format": "ase"} if case == "extxyz" else {}
    with pytest.warns(TruncatedFrameWarning, match=name):
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", category=UserWarning, message=".*(ASSUMED|no times).*")
            t = trajmodes.read(p, **opts)
    assert t.n_frames == FRAMES
    pos = t.positions.compute()
    assert np.abs(_min_image(pos - run["frames"]["positions"][:FRAMES], run["frames"]["cells"][:FRAMES])).max() < 1e-5


@needs_lammps
def test_changed_atom_count_names_the_frame(run, tmp_path):
    """A frame with another number of atoms is an error naming the file and the frame, for every access path."""
    images = [a.copy() for a in run["images"][:6]]
    for a, b in zip(images, run["images"][:6]):
        a.calc = b.calc
    short = images[4][:-1]
    short.calc = None
    images[4] = short
    traj_path = tmp_path / "changed.traj"
    ase.io.write(traj_path, images)
    src = ASESource(traj_path, frame_interval=INTERVAL)          # frames 0 and 5 agree: found when frame 4 is read
    with pytest.raises(TrajectoryFormatError, match=r"changed.traj, frame 4: atom count changed from 64 to 63"):
        src.read(np.arange(6))
    xyz = tmp_path / "changed.xyz"
    ase.io.write(xyz, images, format="extxyz")
    with pytest.raises(TrajectoryFormatError, match=r"changed.xyz, frame 4: atom count changed from 64 to 63"):
        trajmodes.read(xyz, format="ase")
    text = run["files"]["xdatcar_fixed"].read_text().split("\n")  # header, then "Direct configuration=" + 64 lines
    header, third = text[:7], text[7 + 2 * 65:7 + 3 * 65]
    lines = text[:7 + 2 * 65] + header[:6] + ["   63"] + third[:64]   # a variable-cell block with one atom less
    bad = tmp_path / "XDATCAR"
    bad.write_text("\n".join(lines) + "\n")
    with pytest.raises(TrajectoryFormatError, match=r"XDATCAR, frame 2.*atom count changed from 64 to 63"):
        trajmodes.read(bad, md_timestep=DT)


@needs_lammps
def test_missing_forces_and_nan_name_the_frame(run, tmp_path):
    """Frames without the energy or forces frame 0 has, and NaN forces, are errors naming the file and the frame."""
    images = [a.copy() for a in run["images"][:6]]
    for k, (a, b) in enumerate(zip(images, run["images"][:6])):
        res = dict(b.calc.results)
        res.pop({2: "energy", 3: "forces"}.get(k, "nothing"), None)
        a.calc = SinglePointCalculator(a, **res)
    p = tmp_path / "noforces.traj"
    ase.io.write(p, images)
    t = trajmodes.read(p, frame_interval=INTERVAL, chunk_frames=2)
    with pytest.raises(TrajectoryFormatError, match=r"noforces.traj, frame 2: this frame has no energy, frame 0 has"):
        t.potential_energy.compute()
    with pytest.raises(TrajectoryFormatError, match=r"noforces.traj, frame 3: this frame has no forces, frame 0 has"):
        t[3:].forces.compute()
    text = run["files"]["outcar"].read_text()
    at = [m.start() for m in re.finditer("TOTAL-FORCE", text)][7]
    line = text.index("\n", text.index("\n", text.index("\n", at) + 1) + 1) + 1    # 2nd atom line of frame 7
    end = text.index("\n", line)
    q = tmp_path / "OUTCAR"
    q.write_text(text[:line] + text[line:end][:-14] + "           NaN" + text[end:])
    t = trajmodes.read(q, chunk_frames=4)
    with pytest.raises(TrajectoryFormatError, match=r"OUTCAR, frame 7: the forces of frame 7 hold NaN"):
        t.forces.compute()


def test_files_ase_cannot_read(tmp_path):
    """Text that is not of the format named, damaged frames, unknown format names and unit styles give clear errors."""
    p = tmp_path / "OUTCAR"
    p.write_text(" vasp.6.3.0\n POTCAR:    PAW_PBE Si 05Jan2001\n nothing else\n")
    with pytest.raises(TrajectoryFormatError, match=r"OUTCAR: no SCF 'Iteration' line"):
        trajmodes.read(p)
    q = tmp_path / "notes.txt"
    q.write_text("hello\nworld\n")
    with pytest.raises(TrajectoryFormatError, match=r"notes.txt, frame 0: ASE finds no frame.*castep-md"):
        trajmodes.read(q, format="ase:castep-md")
    with pytest.raises(ValueError, match=r"'vasp-outcar' is not a format ASE knows \(similar: .*vasp-out"):
        trajmodes.read(q, format="ase:vasp-outcar")
    with pytest.raises(ValueError, match=r"units= and lj_scales= do not apply"):
        trajmodes.read(p, units="real")
    e = tmp_path / "vasprun.xml"
    e.write_text("")
    with pytest.raises(TrajectoryFormatError, match=r"vasprun.xml: the file is empty"):
        trajmodes.read(e)


@needs_lammps
def test_damaged_frame_in_the_middle(run, tmp_path):
    """A frame ASE cannot parse (a position that is not a number) is an error naming that frame when its chunk is read;
    the other chunks read."""
    text = run["files"]["vasprun"].read_text()
    k = [m.start() for m in re.finditer('<varray name="positions" >', text)][6]   # frame 5 (after initialpos)
    v = text.index("<v>", k) + 3
    p = tmp_path / "vasprun.xml"
    p.write_text(text[:v] + "  0.1x3  " + text[v + 9:])
    t = trajmodes.read(p, chunk_frames=8)
    with pytest.raises(TrajectoryFormatError, match=r"vasprun.xml, frame 5: ASE \(vasp-xml\) cannot parse this frame"):
        t.positions.compute()
    assert t[8:].positions.compute().shape == (FRAMES + 1 - 8, 64, 3)


# ------------------------------------------------------------------------------------------------------ memory
MEMORY_SCRIPT = r"""
import json, sys, warnings
import numpy as np
warnings.simplefilter("ignore")
import trajmodes, ase.io
def status(key):                                   # kB -> MB, this process only (not inherited like ru_maxrss)
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith(key)) / 1024.0
def phase(run):                                    # peak memory above the start while run() runs, MB
    start = status("VmRSS:")
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")
    out = run()
    return out, status("VmHWM:") - start
t = trajmodes.read(sys.argv[1], chunk_frames=100)
t[:300].positions.sum(axis=0).compute(scheduler="sync")     # warm up: lazy imports, caches, allocator arenas
total, chunked = phase(lambda: t.positions.sum(axis=0).compute(scheduler="sync"))
images, everything = phase(lambda: ase.io.read(sys.argv[1], index=":"))
print(json.dumps(dict(chunked_mb=chunked, ase_read_all_mb=everything, frames=t.n_frames,
                      same=bool(np.allclose(total, sum(a.positions for a in images))))))
"""


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="peak memory from /proc/self (Linux)")
def test_chunked_read_memory_is_bounded(tmp_path):
    """Reading an 18 MB vasprun.xml (2000 frames of 64 atoms) in chunks of 100 frames raises the process' peak
    memory by one chunk's text and XML tree (never more than RUN_BYTES of text at a time), whatever the file's size:
    2.4-5.5 MB measured here (the same for a 35 MB file), while ASE's own read of the whole file keeps every ionic
    step's XML element: +123 MB (+252 MB for the 35 MB file). About 10 s: slow tier."""
    rng = np.random.default_rng(1)
    n, atoms, a = 2000, 64, 10.862
    base = rng.uniform(0, a, (atoms, 3))
    frames = dict(symbols=["Si"] * atoms, positions=base + rng.normal(0, 0.05, (n, atoms, 3)),
                  cells=np.tile(np.eye(3) * a, (n, 1, 1)), forces=rng.normal(0, 1, (n, atoms, 3)),
                  potential_energy=rng.normal(-300, 1, n), pressure_tensor=np.tile(np.eye(3), (n, 1, 1)))
    p = dft_outputs.write_vasprun(tmp_path / "vasprun.xml", frames, potim_fs=1.0)
    size_mb = p.stat().st_size / 2 ** 20
    res = subprocess.run([sys.executable, "-c", MEMORY_SCRIPT, str(p)], capture_output=True, text=True, cwd=ROOT,
                         timeout=300)
    assert res.returncode == 0, res.stderr[-2000:]
    m = json.loads(res.stdout.strip().splitlines()[-1])
    assert m["frames"] == n and m["same"]
    bound = 4 * ase_reader.RUN_BYTES / 2 ** 20                       # a few runs of text and their XML trees
    assert m["chunked_mb"] < min(bound, size_mb), (m, size_mb)
    assert m["ase_read_all_mb"] > 3 * size_mb, (m, size_mb)


def test_importing_trajmodes_does_not_import_ase():
    """ASE is imported only when an ASE format is read (sniffing names and first bytes needs none of it)."""
    code = ("import sys, trajmodes, trajmodes.io; trajmodes.io.identify(sys.argv[1]); "
            "print('ase' in sys.modules)")
    res = subprocess.run([sys.executable, "-c", code, str(ROOT / "pyproject.toml")], capture_output=True, text=True,
                         cwd=ROOT, timeout=120)
    assert res.stdout.strip() == "False", res.stderr[-2000:]


# ASE's own test data (real VASP 5/6 OUTCAR and vasprun.xml files, pw.x outputs), where the installed ASE ships them
ASE_TESTDATA = Path(ase.__file__).parent / "test" / "testdata" / "vasp"


def _pw_outputs() -> dict:
    try:
        from ase.test.fio import test_espresso
        return {"pw_relax.pwo": test_espresso.pw_output_text, "pw_restarted_vc.pwo": test_espresso.pw_output_cell}
    except (ImportError, AttributeError):
        return {}


#: the masses these files state: the OUTCAR's "Mass of Ions in am / POMASS = 58.69", vasprun.xml's atomtypes
REAL_MASSES = {"OUTCAR_example_1": {"Ni": 58.69}, "vasprun_pstress.xml": {"C": 12.011},
               "vasprun_dfpt.xml": {"Na": 22.99, "Cl": 35.453}}


@pytest.mark.parametrize("name", ["OUTCAR_example_1", "vasprun_pstress.xml", "vasprun_dfpt.xml", "pw_relax.pwo",
                                  "pw_restarted_vc.pwo"])
def test_real_program_outputs_read_as_ase_reads_them(tmp_path, name):
    """Outputs of the real programs (ASE's test data: a spin-polarised VASP 5.3 OUTCAR, VASP 6 vasprun.xml files with
    PSTRESS and DFPT, a pw.x vc-relax, two concatenated pw.x runs with CELL_PARAMETERS) give through the frame index
    exactly the frames, cells, forces, energies and stresses ASE reads from the whole file, and the masses VASP
    states (POMASS)."""
    p = tmp_path / name
    if name.endswith(".pwo"):
        text = _pw_outputs().get(name)
        if text is None:
            pytest.skip("this ASE does not ship its pw.x test outputs")
        p.write_text(text)
    else:
        if not (ASE_TESTDATA / name).exists():
            pytest.skip("this ASE does not ship its VASP test data")
        shutil.copy(ASE_TESTDATA / name, p)
    ref = ase.io.read(p, index=":", format=identify(p).format.partition(":")[2])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        src = ASESource(p, frame_interval=1.0)
    assert src.n_frames == len(ref)
    if name in REAL_MASSES:                         # the masses the run used (POMASS), whatever ASE gives
        symbols = ref[0].get_chemical_symbols()
        assert np.array_equal(src.masses, [REAL_MASSES[name][s] for s in symbols]) and not caught
    else:                                           # ASE's pw.x snippets lack the summary's species table
        assert any("masses the run used are unknown" in str(w.message) for w in caught)
    got = src.read(np.arange(src.n_frames))
    for k, atoms in enumerate(ref):
        res = atoms.calc.results
        assert np.array_equal(got["positions"][k], atoms.positions)
        assert np.array_equal(got["cells"][k], atoms.cell.array)
        assert np.array_equal(got["forces"][k], res["forces"])
        assert got["potential_energy"][k] == res.get("free_energy", res.get("energy"))
        s = res["stress"]
        p_ref = -np.array([[s[0], s[5], s[4]], [s[5], s[1], s[3]], [s[4], s[3], s[2]]]) / ase.units.GPa
        assert np.allclose(got["pressure_tensor"][k], p_ref, rtol=1e-8, atol=1e-12)
