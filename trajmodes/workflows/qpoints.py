"""The q-points the commands take and print: a mesh from its divisions, q-points with their basis and the special
point they are, names of labelled q-points, and the degenerate sets of the frequencies at one q.

A light module (numpy only at import): the command line's parser reads ``--mesh`` through it.
"""
from __future__ import annotations

import numpy as np

__all__ = ["mesh_divisions", "QpointFormat", "degenerate_sets", "qpoint_names"]


def mesh_divisions(divisions) -> list[int]:
    """The divisions (n1, n2, n3) of a q mesh given as n or (n1, n2, n3), positive (a ValueError otherwise):
    :func:`trajmodes.lattice.qpoints.parse_mesh`, **the** reading of a mesh, without supercell matrices."""
    from trajmodes.lattice.qpoints import parse_mesh
    return parse_mesh(list(divisions), matrix=False).tolist()


def _fmt(v, width: int = 7, digits: int = 4) -> str:
    return "(" + ", ".join(f"{0.0 if abs(x) < 5e-13 else x:{width}.{digits}f}" for x in v) + ")"


class QpointFormat:
    """How the commands print q-points: reduced coordinates *with their basis*, the special point's label, and the
    coordinates that mean the same q whatever primitive cell the constants carry (those of the conventional cubic cell
    in units of 2 pi / a for cubic lattices, else Cartesian in 1/Å). One instance per primitive cell; every command
    that prints q-points uses it (``trajmodes phonons``, ``trajmodes eam``).

    Reduced q are without 2 pi in the primitive reciprocal basis (b_i . a_j = delta_ij, as phonopy); the conventional
    coordinates (h, k, l) are along the Cartesian axes when the cube is (q = 2 pi (h, k, l) / a), else along spglib's
    standard cube; the label is the special point (Setyawan-Curtarolo letters, :func:`trajmodes.lattice.paths.
    special_points`) of which q is a point-group image modulo a reciprocal lattice vector, ``K=U`` where it is two.
    """

    def __init__(self, primitive, symprec: float | None = None):
        from trajmodes.lattice.paths import bravais_lattice, brillouin_zone_path, pretty_label
        from trajmodes.lattice.spglib_calls import SYMPREC
        from trajmodes.lattice.symmetry import reciprocal_rotations
        symprec = SYMPREC if symprec is None else symprec
        self.primitive = primitive
        cell = np.asarray(primitive.cell, float)
        self.reciprocal = np.linalg.inv(cell).T                        # rows b_i, 1/A, without 2 pi
        ds = primitive.symmetry(symprec)
        self.rotations = reciprocal_rotations(ds.rotations)
        bz = brillouin_zone_path(primitive, symprec)
        self.points = {pretty_label(k, bz.name): v for k, v in bz.points.items()}
        self.lattice = bravais_lattice(primitive, symprec)
        self.cubic = self.lattice.startswith("c")
        if self.cubic:
            P = np.asarray(ds.transformation_matrix, float)
            conv = np.linalg.inv(P).T @ cell                            # the standard cube's rows, in this frame
            self.a = float(np.cbrt(abs(np.linalg.det(conv))))
            aligned = np.abs(np.abs(conv / self.a) - np.rint(np.abs(conv / self.a))).max() < 1e-4
            # q_conv = a q_cart / (2 pi) along the Cartesian axes when the cube is along them; else spglib's cube
            self.to_conventional = self.reciprocal * self.a if aligned else np.linalg.inv(P)
            self.aligned = bool(aligned)

    def basis(self) -> str:
        """One line naming the basis of the reduced coordinates and of the other column."""
        cell = self.primitive.cell
        vectors = ", ".join(f"a{i + 1} = {_fmt(cell[i], 1, 4)}" for i in range(3))
        other = (f"conventional (h, k, l) of the cubic cell, a = {self.a:.4f} A, q = 2 pi (h, k, l) / a"
                 + ("" if self.aligned else " (along spglib's standard cube)")) if self.cubic else \
            "Cartesian q in 1/A (2 pi included)"
        return (f"q-points: reduced (h, k, l) in the reciprocal basis of the primitive cell {vectors} A "
                f"(q = h b1 + k b2 + l b3, b_i . a_j = delta_ij); {other}")

    def label(self, q) -> str:
        """The special point(s) q is an image of ('' when none)."""
        images = np.einsum("oij,j->oi", self.rotations, np.asarray(q, float))
        out = []
        for name, s in self.points.items():
            d = images - s
            if np.abs(d - np.rint(d)).max(axis=1).min() < 1e-6:
                out.append(name)
        return "=".join(out)

    def special_points(self) -> np.ndarray:
        """The special points of the lattice, once each (K and U of fcc are one point), reduced (n, 3)."""
        labels = {self.label(v): v for v in reversed(list(self.points.values()))}
        return np.array(list(labels.values())[::-1], dtype=float)

    def other(self, q):
        """The conventional (cubic lattices, 2 pi / a) or Cartesian (1/Å) coordinates of q."""
        q = np.asarray(q, float)
        return q @ self.to_conventional if self.cubic else 2 * np.pi * q @ self.reciprocal

    def describe(self, q) -> str:
        """One q in words: 'X (0.5000, 0.0000, 0.5000) = conventional (0.0000, 1.0000, 0.0000)'."""
        name = self.label(q)
        return (f"{name + ' ' if name else ''}{_fmt(q)} reduced = {'conventional' if self.cubic else 'Cartesian'} "
                f"{_fmt(self.other(q))}{' 2pi/a' if self.cubic else ' 1/A'}")

    def table(self, qpoints, frequencies) -> list[str]:
        """The basis line and one row per q: label, reduced, conventional or Cartesian, frequencies (THz)."""
        q = np.asarray(qpoints, float).reshape(-1, 3)
        f = np.asarray(frequencies, float).reshape(len(q), -1)
        head = "conventional (2pi/a)" if self.cubic else "Cartesian (1/A)"
        lines = [self.basis(), f"  {'label':6s} {'reduced (h, k, l)':28s} {head:28s} frequencies (THz)"]
        for qi, fi in zip(q, f):
            lines.append(f"  {self.label(qi):6s} {_fmt(qi):28s} {_fmt(self.other(qi)):28s} "
                         + " ".join(f"{x:8.4f}" for x in fi))
        return lines


def degenerate_sets(frequencies, max_sets: int | None = None, tol: float = 1e-3) -> list:
    """The branches of one q-point's ``frequencies`` (THz, ascending) in degenerate sets (within ``tol`` THz:
    :func:`~trajmodes.phonons.harmonic.degeneracy.degenerate_groups`), each a list of branch indices; with
    ``max_sets``, at most that many, the lowest and the highest (a soft mode stays in sight), with None where the
    others are left out."""
    from trajmodes.phonons.harmonic.degeneracy import degenerate_groups
    sets = degenerate_groups(frequencies, tol)
    if max_sets is not None and len(sets) > max_sets:
        sets = sets[:max_sets // 2] + [None] + sets[-(max_sets // 2):]
    return sets


def qpoint_names(labels, qpoints) -> list[str]:
    """The names the commands print for q-points: each special-point label as it is written
    (:func:`~trajmodes.lattice.paths.pretty_label`: Greek letters, subscript digits), or the reduced coordinates of a
    q without one."""
    from trajmodes.lattice.paths import pretty_label
    return [pretty_label(str(x)) if str(x) else ", ".join(f"{v:g}" for v in q) for x, q in zip(labels, qpoints)]
