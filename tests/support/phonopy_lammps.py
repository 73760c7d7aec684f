"""0 K force constants from phonopy's finite displacements with LAMMPS' forces, independent of trajmodes: the reference
the tests of crystals that are not cubic compare a fit with (tests/cli/test_noncubic_sic.py,
tests/cli/test_noncubic_rutile.py).

* :func:`read_data_cell`: the box and atoms of a LAMMPS data file (``write_data``'s: a triclinic box with origin, Atoms
  in ``atomic`` or ``charge`` style), parsed here;
* :func:`primitive_of_data`: the primitive cell of a supercell data file made of ``cells`` copies of a basis listed
  first (atom ids 1..n of the cell at the origin, as the generators write them);
* :func:`lammps_forces`: the forces on one configuration from one ``run 0`` of the LAMMPS module (``units metal``, any
  pair commands, charges optional), the box turned into LAMMPS' restricted triclinic form and the forces turned back;
* :func:`zero_kelvin_phonopy`: phonopy on a unit cell of the caller's choosing (another primitive basis, another order
  of the atoms, another origin), its displacements (0.01 A, plus and minus) evaluated by LAMMPS, the force constants
  produced by phonopy and saved as ``phonopy_params.yaml`` (structure and constants, no NAC) in a folder: what
  ``trajmodes fit --compare FOLDER`` reads;
* :func:`run_cli` and :func:`largest_difference_line`: a ``trajmodes`` command's output and warnings, and the line of
  ``--compare`` that names the largest difference.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from tests.support.lammps_md import lammps_module

ARGS = ["-nocite", "-screen", "none", "-log", "none"]


def read_data_cell(path):
    """Cell (rows, A), Cartesian positions (A), types and charges (None for ``atomic``) of a LAMMPS data file, atoms in
    the order of their ids."""
    lines = Path(path).read_text().splitlines()
    lo, hi, tilt = {}, {}, (0.0, 0.0, 0.0)
    n = None
    for ln in lines:
        w = ln.split()
        if len(w) >= 2 and w[1] == "atoms":
            n = int(w[0])
        for ax in "xyz":
            if ln.rstrip().endswith(f"{ax}lo {ax}hi"):
                lo[ax], hi[ax] = float(w[0]), float(w[1])
        if ln.rstrip().endswith("xy xz yz"):
            tilt = tuple(float(x) for x in w[:3])
    xy, xz, yz = tilt
    cell = np.array([[hi["x"] - lo["x"], 0, 0], [xy, hi["y"] - lo["y"], 0], [xz, yz, hi["z"] - lo["z"]]])
    start = next(i for i, ln in enumerate(lines) if ln.strip().startswith("Atoms"))
    charged = "charge" in lines[start]
    rows = []
    for ln in lines[start + 1:]:
        w = ln.split()
        if not w:
            if rows:
                break
            continue
        rows.append(w)
    rows = rows[:n]
    rows.sort(key=lambda w: int(w[0]))
    types = np.array([int(w[1]) for w in rows])
    col = 3 if charged else 2
    pos = np.array([[float(x) for x in w[col:col + 3]] for w in rows]) - np.array([lo["x"], lo["y"], lo["z"]])
    charges = np.array([float(w[2]) for w in rows]) if charged else None
    return cell, pos, types, charges


def primitive_of_data(path, cells, n_basis):
    """The primitive cell (rows, A), the fractional positions of its ``n_basis`` atoms (ids 1..n_basis) and their
    types, from a data file of ``cells`` primitive cells along its box vectors."""
    cell, pos, types, _ = read_data_cell(path)
    prim = cell / np.asarray(cells, float)[:, None]
    frac = np.linalg.solve(prim.T, pos[:n_basis].T).T
    frac = (frac - np.floor(frac[0] + 1e-8)) % 1.0          # the cell of the first atom
    frac[frac > 1 - 1e-8] = 0.0
    return prim, frac, types[:n_basis]


def _lammps_box(cell):
    """LAMMPS' restricted triclinic rows of a right-handed ``cell`` and the rotation R with ``cell @ R`` = those."""
    a, b, c = np.asarray(cell, float)
    ax = np.linalg.norm(a)
    bx = b @ a / ax
    by = np.sqrt(b @ b - bx ** 2)
    cx = c @ a / ax
    cy = (b @ c - bx * cx) / by
    cz = np.sqrt(c @ c - cx ** 2 - cy ** 2)
    L = np.array([[ax, 0, 0], [bx, by, 0], [cx, cy, cz]])
    R = np.linalg.solve(np.asarray(cell, float), L)
    return L, R


def lammps_forces(cell, positions, types, setup, charges=None, n_types=2):
    """Forces (N, 3) in eV/A, in the orientation of ``cell``, from one LAMMPS ``run 0``: ``setup`` are the commands
    after the atoms exist (masses, pair and kspace styles, ...); ``charges`` {type: charge} for ``atom_style
    charge``."""
    mod = lammps_module()
    L, R = _lammps_box(cell)
    x = np.asarray(positions, float) @ R
    lmp = mod.lammps(cmdargs=ARGS)
    try:
        (ax, _, _), (xy, by, _), (xz, yz, cz) = L.tolist()
        for cmd in ["units metal", f"atom_style {'atomic' if charges is None else 'charge'}", "boundary p p p",
                    "atom_modify map array",
                    f"region box prism 0 {ax!r} 0 {by!r} 0 {cz!r} {xy!r} {xz!r} {yz!r} units box",
                    f"create_box {n_types} box"]:
            lmp.command(cmd)
        n = len(x)
        lmp.create_atoms(n, list(range(1, n + 1)), [int(t) for t in types], x.reshape(-1).tolist())
        for t, qt in (charges or {}).items():
            lmp.command(f"set type {int(t)} charge {float(qt)!r}")
        lmp.commands_list(list(setup))
        lmp.command("run 0")
        f = np.ctypeslib.as_array(lmp.gather_atoms("f", 1, 3)).reshape(n, 3).copy()
    finally:
        lmp.close()
    return f @ np.linalg.inv(R)


def zero_kelvin_phonopy(cell, scaled_positions, symbols, masses, supercell_matrix, setup, type_of, charge_of=None,
                        folder=None, distance=0.01):
    """phonopy's force constants of the unit cell (``cell`` rows, ``scaled_positions``, ``symbols``, ``masses``) on
    the supercell ``supercell_matrix`` (rows: supercell rows = matrix @ cell rows; phonopy's own is its transpose),
    from LAMMPS forces
    (``setup`` commands, LAMMPS type ``type_of[symbol]``, charge ``charge_of[symbol]``) at +-``distance`` A; saved in
    ``folder`` as ``phonopy_params.yaml`` with the constants when given. Returns the Phonopy object."""
    import phonopy
    from phonopy.structure.atoms import PhonopyAtoms
    ph = phonopy.Phonopy(PhonopyAtoms(symbols=list(symbols), cell=np.asarray(cell, float),
                                      scaled_positions=np.asarray(scaled_positions, float), masses=list(masses)),
                         supercell_matrix=np.asarray(supercell_matrix, int).T, primitive_matrix="P")
    ph.generate_displacements(distance=distance, is_plusminus=True)
    forces = []
    for sc in ph.supercells_with_displacements:
        types = [type_of[s] for s in sc.symbols]
        q = None if charge_of is None else {type_of[s]: charge_of[s] for s in type_of}
        forces.append(lammps_forces(sc.cell, sc.positions, types, setup, q, n_types=len(set(type_of.values()))))
    ph.forces = np.array(forces)
    ph.produce_force_constants(show_drift=False)
    if folder is not None:
        Path(folder).mkdir(parents=True, exist_ok=True)
        ph.save(Path(folder) / "phonopy_params.yaml", settings={"force_constants": True})
    return ph


def another_basis(prim, frac, labels, M, order, origin=0):
    """The same crystal on other primitive vectors ``M @ prim`` (M unimodular, rows), its atoms in the order ``order``
    and the atom ``order[origin]`` moved to the origin: (cell, fractional positions, labels in that order)."""
    M = np.asarray(M)
    assert round(abs(np.linalg.det(M))) == 1
    order = list(order)
    f = (np.asarray(frac)[order] - np.asarray(frac)[order[origin]]) @ np.linalg.inv(M)
    f %= 1.0
    f[f > 1 - 1e-10] = 0.0
    return np.asarray(M, float) @ np.asarray(prim, float), f, [labels[i] for i in order]


def reduced_path(points, segments, n=51):
    """Reduced q-points along ``segments`` (pieces of letters, e.g. ``["GMKGALHA", "LM", "KH"]``) between the special
    points ``points`` (letter: reduced q), ``n`` per straight segment, ends included."""
    qs = []
    for piece in segments:
        for s, e in zip(piece[:-1], piece[1:]):
            t = np.linspace(0.0, 1.0, n)[:, None]
            qs.append((1 - t) * np.asarray(points[s], float) + t * np.asarray(points[e], float))
    return np.concatenate(qs)


def phonopy_frequencies(ph, q_cartesian):
    """phonopy's frequencies (THz) at Cartesian q (1/A, without 2 pi), put into its own primitive's reduced
    coordinates."""
    q = np.asarray(q_cartesian, float) @ np.asarray(ph.primitive.cell, float).T
    ph.run_qpoints(q)
    return ph.qpoints.frequencies


def largest_difference_line(text):
    """(difference THz, branch, reduced q of the fit's basis) of ``trajmodes fit --compare``'s line
    ``against ...: largest difference +x THz (branch b at q = [...])``."""
    import re
    line = [s for s in text.splitlines() if "largest difference" in s and "against" in s]
    assert line, text[-3000:]
    m = re.search(r"largest difference ([-+0-9.]+) THz \(branch (\d+) at q = \[([^\]]*)\]", line[0])
    assert m, line[0]
    return float(m.group(1)), int(m.group(2)), np.array([float(x) for x in m.group(3).split(",")]), line[0]


def run_cli(argv) -> tuple[str, list[str]]:
    """``trajmodes`` with ``argv`` (through ``trajmodes.cli.main``): its standard output and the messages of the
    warnings it printed (its ``warning: ...`` lines on stderr; the command prints each once and raises none)."""
    import contextlib
    import io
    from tests.support.cli_warnings import printed_warnings
    from trajmodes.cli import main
    buf, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(buf), contextlib.redirect_stderr(err):
        assert main([str(a) for a in argv]) == 0
    return buf.getvalue(), printed_warnings(err.getvalue())
