"""One-shot static LAMMPS calculations (``run 0``, ``units metal``) for the potential tests: energy, forces and the
pressure tensor of a configuration, in the orientation of the given cell."""
from __future__ import annotations

import numpy as np
import pytest

from tests.support import lammps_md
from trajmodes.io.trajectories.lammps_format import restricted_triclinic

ARGS = ["-nocite", "-screen", "none", "-log", "none"]


def lammps_class():
    """``lammps.lammps`` with its MPI runtime preloaded, or skip the calling test."""
    mod = lammps_md.lammps_module()
    if mod is None:
        pytest.skip("LAMMPS cannot be imported here")
    try:
        lmp = mod.lammps(cmdargs=ARGS)
        lmp.close()
    except Exception as exc:   # pragma: no cover - depends on the environment
        pytest.skip(f"LAMMPS cannot run here: {exc}")
    return mod.lammps


def lammps_static(pair_commands, elements, cell, positions, species):
    """Energy (eV), forces (N, 3) (eV/A) and pressure tensor (3, 3) in eV/A^3 (LAMMPS's ``pxx .. pyz`` divided by
    its own metal factor ``nktv2p``, bar per eV/A^3) from one ``run 0`` with the pair commands ``pair_commands``
    (``pair_style`` and ``pair_coeff`` lines), atom types 1.. = ``elements``."""
    lammps = lammps_class()
    L, Q = restricted_triclinic(np.asarray(cell, float))
    x = np.asarray(positions, float) @ Q
    types = [list(elements).index(s) + 1 for s in species]
    lmp = lammps(cmdargs=ARGS)
    try:
        (ax, _, _), (xy, by, _), (xz, yz, cz) = L.tolist()
        for cmd in ["units metal", "atom_style atomic", "boundary p p p", "atom_modify map array",
                    f"region box prism 0 {ax!r} 0 {by!r} 0 {cz!r} {xy!r} {xz!r} {yz!r} units box",
                    f"create_box {len(elements)} box",
                    *[f"mass {k + 1} 1.0" for k in range(len(elements))], *pair_commands]:
            lmp.command(cmd)
        lmp.command("neighbor 2.0 bin")
        n = len(x)
        lmp.create_atoms(n, list(range(1, n + 1)), types, x.reshape(-1).tolist())
        assert lmp.get_natoms() == n
        lmp.command("thermo_style custom step pe pxx pyy pzz pxy pxz pyz")
        lmp.command("thermo_modify format float %.17g")
        lmp.command("run 0")
        e = lmp.get_thermo("pe")
        p = {k: lmp.get_thermo(k) for k in ("pxx", "pyy", "pzz", "pxy", "pxz", "pyz")}
        nktv2p = lmp.extract_global("nktv2p")
        f = np.ctypeslib.as_array(lmp.gather_atoms("f", 1, 3)).reshape(n, 3).copy()
    finally:
        lmp.close()
    P = np.array([[p["pxx"], p["pxy"], p["pxz"]], [p["pxy"], p["pyy"], p["pyz"]],
                  [p["pxz"], p["pyz"], p["pzz"]]]) / nktv2p
    return e, f @ Q.T, Q @ P @ Q.T


def lammps_energy_forces(style, files, elements, cell, positions, species):
    """Energy and forces of an EAM potential (``pair_style`` ``style``: eam with one file per element, or
    eam/alloy, eam/fs) from one LAMMPS ``run 0`` (metal units) in the orientation of ``cell``."""
    if style == "eam":
        pair = [f"pair_coeff {k + 1} {k + 1} {f}" for k, f in enumerate(files)]
    else:
        pair = [f"pair_coeff * * {files[0]} {' '.join(elements)}"]
    e, f, _ = lammps_static([f"pair_style {style}", *pair], elements, cell, positions, species)
    return e, f
