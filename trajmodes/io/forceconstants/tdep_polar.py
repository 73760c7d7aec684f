"""The polar part of TDEP's force-constant files (TDEP's ``extract_forceconstants --polar``): the section of a polar
``infile.forceconstant`` after its pairs (correction type, dielectric tensor, Ewald parameter, Born charges; the layout
in :mod:`trajmodes.io.forceconstants.tdep`), ``infile.lotosplitting``, and TDEP's own constants that convert them.
"""
from __future__ import annotations

import os

import numpy as np

from trajmodes.io.forceconstants.text import Lines, write_text

__all__ = ["read_polar_section", "polar_section_lines", "read_lotosplitting", "write_lotosplitting", "TDEP_BOHR_A",
           "TDEP_HARTREE_EV", "TDEP_NAC_FACTOR", "TDEP_POLAR_TYPE", "TDEP_CHARGE_TOL"]

#: TDEP's own bohr radius (A) and Hartree (eV) (its ``konstanter`` module, CODATA 2014): its Ewald parameter is in
#: 1/bohr, and its dipole-dipole sums are in Hartree atomic units
TDEP_BOHR_A = 0.52917721067
TDEP_HARTREE_EV = 27.21138602
#: e^2 / (4 pi eps0) = Hartree * bohr in TDEP's constants, eV*A
TDEP_NAC_FACTOR = TDEP_HARTREE_EV * TDEP_BOHR_A
#: the polar correction type TDEP writes and reads (its types 1 and 2 are retired)
TDEP_POLAR_TYPE = 3
#: Born charges are checked against the charge sum rule to this (e)
TDEP_CHARGE_TOL = 1e-5


def read_polar_section(rd: Lines, n: int) -> dict:
    """The polar section after the correction type: the keywords of a short-range ForceConstants."""
    eps_line = rd.line
    eps = rd.numbers(3, 3, "a line of the dielectric tensor").T           # line i is column i
    first = rd.line
    lam = float(rd.numbers(1, 1, "the Ewald parameter (1/bohr)")[0, 0])
    if not lam > 0:
        raise rd.error(f"the Ewald parameter must be positive, not {lam}", line=first)
    nx = rd.integer("the number of irreducible Born-charge values", low=1, high=9 * n)
    x = rd.numbers(nx, 1, "an irreducible Born-charge value")[:, 0]
    coeff = rd.numbers(9 * n, nx, f"a row of {nx} Born-charge coefficients")
    at = rd.line
    rd.numbers(3 * n, 3, "a line of the Born charges as written")         # TDEP rebuilds them from x too
    rd.expect_end(f"the polar section (the dielectric tensor, the Ewald parameter and the Born charges of {n} atoms)")
    born = (coeff @ x).reshape(n, 3, 3).transpose(0, 2, 1)                 # Zflat[9a + 3u + E] -> Z[a, E, u]
    total = born.sum(axis=0)
    if np.abs(total).max() > TDEP_CHARGE_TOL:
        raise rd.error(f"the Born charges do not add up to zero (sum {np.round(total, 6).tolist()} e): TDEP refuses "
                       "them too; correct the irreducible values", line=at)
    if np.abs(eps - eps.T).max() > 1e-8 * np.abs(eps).max() or np.linalg.eigvalsh(0.5 * (eps + eps.T)).min() <= 0:
        raise rd.error(f"the dielectric tensor is not symmetric positive definite: {eps.tolist()}",
                       line=eps_line)
    return dict(born=born, epsilon=0.5 * (eps + eps.T), nac_factor=TDEP_NAC_FACTOR, short_range=True,
                ewald_lambda=lam / TDEP_BOHR_A)


def read_lotosplitting(path: str | os.PathLike, n_atoms: int) -> tuple[np.ndarray, np.ndarray]:
    """TDEP's ``infile.lotosplitting``: the dielectric tensor (three lines, line i its column i) and the Born charges
    (three lines per atom, line E: Z[a, E, :]).

    Returns
    -------
    born : ndarray (n_atoms, 3, 3)
        Z[a, E, u], e (phonopy's BORN convention).
    epsilon : ndarray (3, 3)
    """
    rd = Lines(path)
    eps = rd.numbers(3, 3, "a line of the dielectric tensor").T
    born = rd.numbers(3 * n_atoms, 3, "a line of the Born charges").reshape(n_atoms, 3, 3)
    rd.expect_end(f"the dielectric tensor and the Born charges of {n_atoms} atoms")
    return born, eps


def write_lotosplitting(path: str | os.PathLike, born, epsilon) -> None:
    """Write TDEP's ``infile.lotosplitting`` (the layout of :func:`read_lotosplitting`), atomically."""
    fmt = " ".join(["{: 20.12f}"] * 3)
    lines = [fmt.format(*col) for col in np.asarray(epsilon, float).T]
    lines += [fmt.format(*row) for Z in np.asarray(born, float) for row in Z]
    write_text(path, lines)


def polar_section_lines(fc) -> list[str]:
    """The polar section of ``infile.forceconstant`` for short-range constants ``fc``.

    The irreducible values are the distinct magnitudes of the non-zero charge components (to 1e-12 relative), each
    component a +-1 multiple of one of them: exact, and as compact as the charges' own repetitions allow."""
    born = np.asarray(fc.born, float)
    flat = born.transpose(0, 2, 1).reshape(-1)                             # Zflat[9a + 3u + E] = Z[a, E, u]
    scale = max(np.abs(flat).max(), 1e-300)
    mag = np.abs(flat)
    values: list[float] = []
    cols = np.full(len(flat), -1)
    for i in np.argsort(-mag, kind="stable"):
        if mag[i] <= 1e-14 * scale:
            continue
        hit = [c for c, v in enumerate(values) if abs(v - mag[i]) <= 1e-12 * scale]
        if hit:
            cols[i] = hit[0]
        else:
            values.append(float(mag[i]))
            cols[i] = len(values) - 1
    if not values:
        values = [0.0]
    coeff = np.zeros((len(flat), len(values)))
    nz = cols >= 0
    coeff[np.flatnonzero(nz), cols[nz]] = np.sign(flat[nz])
    lines = [f"{TDEP_POLAR_TYPE:11d} # This is a forceconstant for a polar material."]
    eps = np.asarray(fc.epsilon, float)
    for i, name in enumerate(("xx xy xz", "yx yy yz", "zx zy zz")):
        lines.append(" ".join(f"{v:24.16f}" for v in eps[:, i]) + f" Dielectric tensor {name}")
    lines.append(f"{fc.ewald_lambda * TDEP_BOHR_A:24.17f}       # Coupling parameter in Ewald summation (1/bohr)")
    lines.append(f"{len(values):11d}  # number of irreducible components in the Born charges")
    lines += [f"{v:24.16f}" + (" # irrep of Born charge" if k == 0 else "") for k, v in enumerate(values)]
    lines += [" ".join(f"{c:5.1f}" for c in row) for row in coeff]
    for a, Z in enumerate(born):
        for E in range(3):
            lines.append(" ".join(f"{v:24.16f}" for v in Z[E]) + (f" Born effective charge atom {a + 1}" if E == 0
                                                                  else ""))
    return lines
