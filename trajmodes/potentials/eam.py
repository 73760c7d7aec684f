"""Embedded-atom-method (EAM) potentials: LAMMPS's splines of the tabulated functions (files read by
:mod:`trajmodes.io.potentials.eam`), a reference calculator and analytic second-order force constants.

Energy (metal units, eV and Å)::

    E = sum_i F_i(rho_i) + 1/2 sum_{i != j} phi_ij(r_ij),     rho_i = sum_{j != i} f_{j->i}(r_ij)

Files: LAMMPS ``pair_style eam`` (funcfl, one element per file, several files allowed),
``eam/alloy`` (setfl) and ``eam/fs`` (Finnis-Sinclair setfl). The tabulated functions are turned
into the same cubic splines as LAMMPS' ``PairEAM::interpolate`` (7 coefficients per knot, slopes
from 4th-order finite differences) and evaluated with the same index arithmetic as
``PairEAM::compute``; funcfl files are first resampled onto the common grid with LAMMPS'
4-point Lagrange ``file2array`` and their effective charges turned into r*phi = 27.2*0.529 Z_i Z_j.
Energies and forces therefore agree with LAMMPS to round-off.

Force constants (D. M. Riffe, J. D. Christensen and R. B. Wilson, J. Phys.: Condens. Matter 30 (2018), eqs. 25 and 31-34), on a periodic supercell with
all periodic images summed (what finite displacements of that supercell measure)::

    Phi = pair + e1 + e2 + e3
    pair : phi''  r r + phi'/r (1 - r r)                              (eq. 25)
    e1   : F'(rho_i) f'/r (1 - r r)          (transverse, eq. 32)   } F'(rho) d2 rho
    e2   : F'(rho_i) f''  r r                (longitudinal, eq. 33) }
    e3   : sum_i F''(rho_i) (d rho_i/du)(d rho_i/du)^T               (eq. 34; couples two neighbours
           j, k of a common atom i: the only three-body part)

Each part obeys the acoustic sum rule on its own.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np

from trajmodes.io.potentials.eam import read_funcfl, read_setfl
from trajmodes.lattice.geometry import pairs_within
from trajmodes.potentials.terms import EnergyForces          # its home (every potential's energy_forces)

__all__ = ["EAM", "interpolate", "evaluate_spline", "pair_hessian", "EnergyForces", "ForceConstantParts"]


@dataclass(frozen=True)
class ForceConstantParts:
    """The parts of the analytic EAM Hessian (:meth:`EAM.force_constant_parts`), each (N, N, 3, 3) eV/Å²
    and each obeying the acoustic sum rule on its own: ``pair`` (the pair potential, Riffe et al. eq. 25), ``e1``
    (embedding F' f'/r, transverse, eq. 32), ``e2`` (F' f'', longitudinal, eq. 33), ``e3`` (F'', the three-body
    part, eq. 34)."""

    pair: np.ndarray
    e1: np.ndarray
    e2: np.ndarray
    e3: np.ndarray

    @property
    def total(self) -> np.ndarray:
        """pair + e1 + e2 + e3, eV/Å²."""
        return self.pair + self.e1 + self.e2 + self.e3

    def as_dict(self) -> dict:
        """The parts by name, a new dict."""
        return {f.name: getattr(self, f.name) for f in fields(self)}

Z2R_CONV = 27.2 * 0.529          # LAMMPS funcfl: r*phi = 27.2*0.529 * Z_i(r) Z_j(r)


# ------------------------------------------------------------------------------------- splines

def interpolate(f, delta: float) -> np.ndarray:
    """LAMMPS ``PairEAM::interpolate``: spline coefficients (n, 7) of the tabulated values ``f``
    (0-based row m = LAMMPS knot m+1). Columns 3-6: value cubic in p in [0, 1); 0-2: its r-derivative."""
    f = np.asarray(f, dtype=float)
    n = len(f)
    s = np.zeros((n, 7))
    s[:, 6] = f
    s[0, 5] = s[1, 6] - s[0, 6]
    s[1, 5] = 0.5 * (s[2, 6] - s[0, 6])
    s[n - 2, 5] = 0.5 * (s[n - 1, 6] - s[n - 3, 6])
    s[n - 1, 5] = s[n - 1, 6] - s[n - 2, 6]
    m = np.arange(2, n - 2)
    s[m, 5] = ((s[m - 2, 6] - s[m + 2, 6]) + 8.0 * (s[m + 1, 6] - s[m - 1, 6])) / 12.0
    m = np.arange(0, n - 1)
    s[m, 4] = 3.0 * (s[m + 1, 6] - s[m, 6]) - 2.0 * s[m, 5] - s[m + 1, 5]
    s[m, 3] = s[m, 5] + s[m + 1, 5] - 2.0 * (s[m + 1, 6] - s[m, 6])
    s[n - 1, 4] = 0.0
    s[n - 1, 3] = 0.0
    s[:, 2] = s[:, 5] / delta
    s[:, 1] = 2.0 * s[:, 4] / delta
    s[:, 0] = 3.0 * s[:, 3] / delta
    return s


def evaluate_spline(spline: np.ndarray, rdelta: float, x, lower1: bool = False):
    """Value, first and second derivative of a LAMMPS spline at ``x`` (same index arithmetic as
    ``PairEAM::compute``: p = x/delta + 1, m = int(p) clipped to [1 or 0, n-1], p clipped to <= 1)."""
    x = np.asarray(x, dtype=float)
    n = len(spline)
    p = x * rdelta + 1.0
    m = p.astype(np.int64)
    m = np.minimum(m, n - 1)
    if lower1:
        m = np.maximum(m, 1)
    p = p - m
    clipped = p > 1.0
    p = np.minimum(p, 1.0)
    c = spline[m - 1]
    val = ((c[..., 3] * p + c[..., 4]) * p + c[..., 5]) * p + c[..., 6]
    d1 = (c[..., 0] * p + c[..., 1]) * p + c[..., 2]
    d2 = np.where(clipped, 0.0, (2.0 * c[..., 0] * p + c[..., 1]) * rdelta)
    return val, d1, d2


def _lagrange_resample(values, fdelta: float, delta: float, n: int) -> np.ndarray:
    """LAMMPS ``PairEAM::file2array`` (funcfl): 4-point Lagrange resampling of a 1-based table with
    spacing ``fdelta`` onto n points of spacing ``delta``."""
    f = np.concatenate([[0.0], np.asarray(values, dtype=float)])   # 1-based like LAMMPS
    nf = len(values)
    out = np.empty(n)
    sixth = 1.0 / 6.0
    for m in range(1, n + 1):
        r = (m - 1) * delta
        p = r / fdelta + 1.0
        k = int(p)
        k = min(k, nf - 2)
        k = max(k, 2)
        p -= k
        p = min(p, 2.0)
        cof1 = -sixth * p * (p - 1.0) * (p - 2.0)
        cof2 = 0.5 * (p * p - 1.0) * (p - 2.0)
        cof3 = -0.5 * p * (p + 1.0) * (p - 2.0)
        cof4 = sixth * p * (p * p - 1.0)
        out[m - 1] = cof1 * f[k - 1] + cof2 * f[k] + cof3 * f[k + 1] + cof4 * f[k + 2]
    return out


# ------------------------------------------------------------------------------------- neighbours

def pair_hessian(d1, d2, r, e):
    """d^2 g(|x_j - x_i|) / dx_i dx_i = d2 e e^T + d1/r (1 - e e^T) for each pair: (n, 3, 3)."""
    ee = e[:, :, None] * e[:, None, :]
    return d2[:, None, None] * ee + (d1 / r)[:, None, None] * (np.eye(3) - ee)


def _scatter(n: int, rows, cols, blocks) -> np.ndarray:
    """Sum (n_pairs, 3, 3) blocks into a dense (n, n, 3, 3) array at (rows, cols)."""
    flat = rows * n + cols
    out = np.empty((n * n, 9))
    b = blocks.reshape(-1, 9)
    for c in range(9):
        out[:, c] = np.bincount(flat, weights=b[:, c], minlength=n * n)
    return out.reshape(n, n, 3, 3)


# ------------------------------------------------------------------------------------- potential

class EAM:
    """An EAM potential from LAMMPS files.

    Parameters
    ----------
    path : str or Path, or a sequence of them (funcfl only)
        The potential file(s).
    style : {"eam", "eam/alloy", "eam/fs"}, optional
        LAMMPS pair style; by default from the file name (``*.eam.alloy``, ``*.eam.fs``, ``*.eam``).
    species : sequence of str, optional
        funcfl only: the species label of each file (default: the file name up to the first ``_`` or
        ``.``). setfl / fs files name their elements.

    Attributes
    ----------
    elements : list of str
        The elements, in the order of the file (setfl / fs) or of ``species`` (funcfl).
    masses : ndarray (n_elements,)
        Their masses, amu.
    cutoff : float
        The potential's cutoff radius, Å.
    frho : list of ndarray (nrho, 7)
        ``frho[a]``: the embedding energy F_a(rho) of element a (eV), as LAMMPS' spline coefficients on a grid of
        spacing ``drho``.
    rhor : list of list of ndarray (nr, 7)
        ``rhor[a][b]``: the electron density that an atom of element a puts at an atom of element b at distance r,
        as LAMMPS' spline coefficients on a grid of spacing ``dr``.
    z2r : list of list of ndarray (nr, 7)
        ``z2r[a][b]``: r * phi_ab(r), the pair energy (eV) times the distance (Å), as spline coefficients on the
        grid of ``rhor``.
    drho : float
        Grid spacing of the densities that ``frho`` is tabulated on, in the file's density unit.
    dr : float
        Grid spacing of the distances that ``rhor`` and ``z2r`` are tabulated on, Å.
    """

    def __init__(self, path, style: str | None = None, species=None):
        paths = [Path(p) for p in (path if isinstance(path, (list, tuple)) else [path])]
        if style is None:
            name = paths[0].name
            style = "eam/alloy" if name.endswith(".alloy") else "eam/fs" if name.endswith(".fs") else "eam"
        self.style = style
        self.paths = paths
        if style in ("eam/alloy", "eam/fs"):
            if len(paths) != 1:
                raise ValueError(f"{style} takes one file")
            self._from_setfl(read_setfl(paths[0], fs=style == "eam/fs"), fs=style == "eam/fs")
        elif style == "eam":
            if species is None:
                species = [re.split(r"[_.]", p.name)[0] for p in paths]
            self._from_funcfl([read_funcfl(p) for p in paths], list(species))
        else:
            raise ValueError(f"unknown EAM style {style!r}")
        self.rdr = 1.0 / self.dr
        self.rdrho = 1.0 / self.drho
        self.rhomax = (self.nrho - 1) * self.drho
        self.gauge = None                                  # per-element lambda of gauge_transformed

    # -- LAMMPS file2array + array2spline
    def _from_setfl(self, s, fs: bool):
        self.elements = list(s["elements"])
        self.masses = np.array(s["masses"])
        self.nrho, self.drho, self.nr, self.dr, self.cutoff = s["nrho"], s["drho"], s["nr"], s["dr"], s["cut"]
        nel = len(self.elements)
        self.frho = [interpolate(f, self.drho) for f in s["frho"]]
        if fs:
            self.rhor = [[interpolate(s["rhor"][a][b], self.dr) for b in range(nel)] for a in range(nel)]
        else:
            self.rhor = [[interpolate(s["rhor"][a], self.dr)] * nel for a in range(nel)]
        z = {k: interpolate(v, self.dr) for k, v in s["z2r"].items()}
        self.z2r = [[z[max(a, b), min(a, b)] for b in range(nel)] for a in range(nel)]

    def _from_funcfl(self, files, species):
        self.elements = species
        self.masses = np.array([f["mass"] for f in files])
        self.dr = max(f["dr"] for f in files)
        self.drho = max(f["drho"] for f in files)
        rmax = max((f["nr"] - 1) * f["dr"] for f in files)
        rhomax = max((f["nrho"] - 1) * f["drho"] for f in files)
        self.nr = int(rmax / self.dr + 0.5)
        self.nrho = int(rhomax / self.drho + 0.5)
        self.cutoff = max(f["cut"] for f in files)
        self.frho = [interpolate(_lagrange_resample(f["frho"], f["drho"], self.drho, self.nrho), self.drho)
                     for f in files]
        rh = [interpolate(_lagrange_resample(f["rhor"], f["dr"], self.dr, self.nr), self.dr) for f in files]
        nel = len(files)
        self.rhor = [[rh[a]] * nel for a in range(nel)]
        zr = [_lagrange_resample(f["zr"], f["dr"], self.dr, self.nr) for f in files]
        self.z2r = [[None] * nel for _ in range(nel)]
        for a in range(nel):
            for b in range(a + 1):
                self.z2r[a][b] = self.z2r[b][a] = interpolate(Z2R_CONV * zr[a] * zr[b], self.dr)

    def __repr__(self) -> str:
        g = "" if self.gauge is None else f", gauge={self.gauge.tolist()}"
        return f"EAM({', '.join(map(str, self.paths))}, style={self.style!r}, elements={self.elements}{g})"

    # -- normalisation (Riffe et al. eqs. 35-40)
    def gauge_transformed(self, lam) -> "EAM":
        """The same potential in another gauge (Riffe et al. eqs. 35-36 with A = -lambda)::

            F_a(rho)   -> F_a(rho) + lambda_a rho
            phi_ab(r)  -> phi_ab(r) - lambda_a f_{b->a}(r) - lambda_b f_{a->b}(r)

        Energies, forces and total force constants are unchanged (to round-off: the shift is applied
        to the evaluated spline functions, not re-tabulated); the split of the force constants into
        pair, e1 and e2 changes, e3 (F'' only) does not. Gauges compose additively.

        Parameters
        ----------
        lam : float, sequence or dict
            lambda, one number per element, eV per unit of the potential's host density: a dict element ->
            lambda (missing elements 0), a sequence in the order of ``elements``, or a scalar for all.
        """
        import copy
        nel = len(self.elements)
        if isinstance(lam, dict):
            v = np.array([float(lam.get(e, 0.0)) for e in self.elements])
        else:
            v = np.broadcast_to(np.asarray(lam, dtype=float), (nel,)).copy()
        out = copy.copy(self)
        out.gauge = v if self.gauge is None else self.gauge + v
        return out

    def normalized(self, cell, positions, species, tol: float = 1e-8) -> "EAM":
        """The normalised potential (Riffe et al. eqs. 37-39): the gauge lambda_a = -F_a'(rho) at the given
        (equilibrium) configuration, so that F' = 0 there and all pair-like interactions sit in the
        effective pair potentials phi_bar_ab = phi_ab + F_a' f_{b->a} + F_b' f_{a->b} (eq. 43 for one
        element: phi + 2 F' f). The gauge is per element, so every atom of an element must have the
        same F' (bulk crystals with one site per element, e.g. fcc, bcc, L1_2); otherwise ValueError.

        Parameters
        ----------
        cell : ndarray (3, 3)
            Rows are the lattice vectors of the periodic configuration, Å.
        positions : ndarray (N, 3)
            Cartesian positions of its atoms, Å.
        species : sequence of str (N,)
            The element of each atom, among :attr:`elements`.
        tol : float
            Largest spread of F' among the atoms of one element, relative to the largest ``|F'|`` (at least 1 eV per
            density unit), for them to count as equal.

        Returns
        -------
        EAM
            The same potential in the normalised gauge.
        """
        t, *_, rho, F = self.local_terms(cell, positions, species)
        lam = np.zeros(len(self.elements))
        for a in np.unique(t):
            fp = F[1][t == a]
            if np.ptp(fp) > tol * max(1.0, np.abs(fp).max()):
                raise ValueError(f"atoms of {self.elements[a]} have different F' (spread {np.ptp(fp):.3g}): "
                                 "a per-element gauge cannot normalise this configuration")
            lam[a] = -fp.mean()
        return self.gauge_transformed(lam)

    def effective_pair_potential(self, r, a, b, fprime_a: float, fprime_b: float):
        """phi_bar_ab(r) = phi_ab + F_a' f_{b->a} + F_b' f_{a->b} (Riffe et al. eq. 37): value and first two
        derivatives, shape (3, len(r)), in eV, eV/Å and eV/Å².

        Parameters
        ----------
        r : array_like
            Distances, Å.
        a, b : str
            The two elements, among :attr:`elements`.
        fprime_a, fprime_b : float
            Their embedding slopes F'(rho) at the configuration, eV per unit of the file's density.
        """
        r = np.atleast_1d(np.asarray(r, dtype=float))
        t = self.type_indices([a, b])
        i, j = np.zeros(len(r), np.int64), np.ones(len(r), np.int64)
        phi, f_ba = self.pair_functions(t, i, j, r)
        f_ab = np.array(evaluate_spline(self.rhor[t[0]][t[1]], self.rdr, r))
        return phi + fprime_a * f_ba + fprime_b * f_ab

    def mass(self, element: str) -> float:
        """The mass in amu that the potential file gives ``element``.

        Parameters
        ----------
        element : str
            One of :attr:`elements`.
        """
        return float(self.masses[self.type_indices([element])[0]])

    # -- pieces
    def type_indices(self, species) -> np.ndarray:
        species = np.asarray(species).reshape(-1)
        try:
            return np.array([self.elements.index(str(s)) for s in species], dtype=np.int64)
        except ValueError:
            raise ValueError(f"species {sorted(set(map(str, species)) - set(self.elements))} not in "
                             f"the potential's elements {self.elements}") from None

    def pair_functions(self, t, i, j, r):
        """Per ordered pair (i <- j): phi, phi', phi'' (eV, eV/Å, eV/Å²) and density f_{j->i}, f', f'' (the
        potential file's density unit, per Å, per Å²), each (3, n_pairs).

        Parameters
        ----------
        t : ndarray of int (N,)
            Type index of every atom (:meth:`type_indices`).
        i, j : ndarray of int (n_pairs,)
            The ordered pairs (i <- j): atom i receives the density of atom j.
        r : ndarray (n_pairs,)
            Pair distances, Å.
        """
        nel = len(self.elements)
        phi = np.empty((3, len(r)))
        rho = np.empty((3, len(r)))
        ti, tj = t[i], t[j]
        key = ti * nel + tj
        for k in np.unique(key):
            a, b = divmod(int(k), nel)
            sel = key == k
            rs = r[sel]
            z, z1, z2 = evaluate_spline(self.z2r[a][b], self.rdr, rs)
            inv = 1.0 / rs
            phi[0, sel] = z * inv
            phi[1, sel] = z1 * inv - z * inv * inv
            phi[2, sel] = z2 * inv - 2.0 * z1 * inv * inv + 2.0 * z * inv ** 3
            rho[:, sel] = evaluate_spline(self.rhor[b][a], self.rdr, rs)   # density from j (b) at i (a)
            lam = self.gauge
            if lam is not None and (lam[a] != 0.0 or lam[b] != 0.0):
                # phi_ab -> phi_ab - lam_a f_{b->a} - lam_b f_{a->b}   (Riffe et al. eq. 35 with A = -lam)
                back = np.array(evaluate_spline(self.rhor[a][b], self.rdr, rs))           # f_{a->b}
                phi[:, sel] -= lam[a] * rho[:, sel] + lam[b] * back
        return phi, rho

    def embedding(self, t, rho):
        """F(rho), F'(rho), F''(rho) (3, n_atoms) of atoms of types ``t`` at host densities ``rho`` (eV).

        Parameters
        ----------
        t : ndarray of int (n_atoms,)
            Type index of every atom (:meth:`type_indices`).
        rho : ndarray (n_atoms,)
            Host electron density at every atom, in the potential file's density unit.
        """
        F = np.empty((3, len(rho)))
        for a in np.unique(t):
            sel = t == a
            F[:, sel] = evaluate_spline(self.frho[a], self.rdrho, rho[sel], lower1=True)
            over = rho[sel] > self.rhomax                  # LAMMPS: linear extrapolation above rhomax
            if np.any(over):
                F[0, np.flatnonzero(sel)[over]] += F[1, sel][over] * (rho[sel][over] - self.rhomax)
            if self.gauge is not None:                     # F_a -> F_a + lam_a rho (Riffe et al. eq. 36)
                F[0, sel] += self.gauge[a] * rho[sel]
                F[1, sel] += self.gauge[a]
        return F

    def local_terms(self, cell, positions, species):
        """Every per-atom and per-pair quantity of the potential at one configuration.

        Parameters
        ----------
        cell : (3, 3) array_like
            Rows are the periodic lattice vectors, Å.
        positions : (N, 3) array_like
            Cartesian positions of the atoms, Å.
        species : sequence of str (N,)
            Element of every atom, among the potential's ``elements``.

        Returns
        -------
        tuple
            ``(t, i, j, d, r, phi, f, rho, F)``: the type index of every atom; the ordered pairs (i <- j) within
            the cutoff, their vectors d (Å) and lengths r (Å); ``phi`` and ``f`` (3, n_pairs), the pair energy and
            the density f_{j->i} with their first and second derivatives in r (eV, eV/Å, eV/Å²); the host
            density rho of every atom; ``F`` (3, n_atoms), the embedding energy F(rho), F' and F'' (eV).
        """
        t = self.type_indices(species)
        i, j, d = pairs_within(cell, positions, self.cutoff)
        r = np.sqrt(np.einsum("ij,ij->i", d, d))
        phi, f = self.pair_functions(t, i, j, r)
        n = len(t)
        rho = np.bincount(i, weights=f[0], minlength=n)
        F = self.embedding(t, rho)
        return t, i, j, d, r, phi, f, rho, F

    # -- calculator
    def energy_forces(self, cell, positions, species) -> EnergyForces:
        """Potential energy (eV) and forces (N, 3) (eV/Å) of atoms in a periodic ``cell`` (rows), as
        :class:`EnergyForces`.

        Parameters
        ----------
        cell : (3, 3) array_like
            Rows are the periodic lattice vectors, Å.
        positions : (N, 3) array_like
            Cartesian positions of the atoms, Å.
        species : sequence of str (N,)
            Element of every atom, among the potential's ``elements``.
        """
        t, i, j, d, r, phi, f, rho, F = self.local_terms(cell, positions, species)
        n = len(t)
        energy = F[0].sum() + 0.5 * phi[0].sum()
        s = F[1][i] * f[1] + 0.5 * phi[1]                  # dE/dr of ordered pair (i <- j)
        g = (s / r)[:, None] * d                           # dE/dx_j from this pair; -g on x_i
        grad = np.zeros((n, 3))
        for c in range(3):
            grad[:, c] = np.bincount(j, weights=g[:, c], minlength=n) - np.bincount(i, weights=g[:, c], minlength=n)
        return EnergyForces(energy=float(energy), forces=-grad)

    def energy(self, cell, positions, species) -> float:
        return self.energy_forces(cell, positions, species).energy

    def densities(self, cell, positions, species) -> np.ndarray:
        """Host electron density rho_i at every atom (N,), in the potential file's density unit.

        Parameters
        ----------
        cell : (3, 3) array_like
            Rows are the periodic lattice vectors, Å.
        positions : (N, 3) array_like
            Cartesian positions of the atoms, Å.
        species : sequence of str (N,)
            Element of every atom, among the potential's ``elements``.
        """
        return self.local_terms(cell, positions, species)[7]

    # -- force constants
    def force_constant_parts(self, cell, positions, species) -> ForceConstantParts:
        """Analytic Hessian parts (pair, e1, e2, e3), each (N, N, 3, 3) in eV/Å² (Riffe eqs. 25,
        32, 33, 34), at the given configuration (need not be an equilibrium one), as :class:`ForceConstantParts`.

        Parameters
        ----------
        cell : (3, 3) array_like
            Rows are the periodic lattice vectors, Å.
        positions : (N, 3) array_like
            Cartesian positions of the atoms, Å.
        species : sequence of str (N,)
            Element of every atom, among the potential's ``elements``.
        """
        t, i, j, d, r, phi, f, rho, F = self.local_terms(cell, positions, species)
        n = len(t)
        e = d / r[:, None]
        zero = np.zeros(len(r))
        rows = np.concatenate([i, j, i, j])
        cols = np.concatenate([i, j, j, i])

        def four(block):
            return _scatter(n, rows, cols, np.concatenate([block, block, -block, -block]))

        # pair: each ordered pair carries 1/2 phi; scattering it at (i,i),(j,j),(i,j),(j,i) with weight
        # 1/2 is the same as the full pair once
        pair = four(0.5 * pair_hessian(phi[1], phi[2], r, e))
        Fp = F[1][i]
        e1 = four(pair_hessian(Fp * f[1], zero, r, e))               # F' f'/r (1 - e e)
        e2 = four(pair_hessian(zero, Fp * f[2], r, e))               # F' f'' e e
        # e3 = sum_i F''_i g_i g_i^T, g_i = d rho_i / d x (3N vector): G^T diag(F'') G
        v = f[1][:, None] * e                              # d rho_i / d x_j  per pair
        from scipy import sparse
        c3 = np.arange(3)
        data = np.concatenate([v.reshape(-1), -v.reshape(-1)])
        grow = np.concatenate([np.repeat(i, 3), np.repeat(i, 3)])
        gcol = np.concatenate([(3 * j[:, None] + c3).reshape(-1), (3 * i[:, None] + c3).reshape(-1)])
        G = sparse.csr_matrix((data, (grow, gcol)), shape=(n, 3 * n))
        H = (G.T @ sparse.diags(F[2]) @ G).toarray()
        e3 = H.reshape(n, 3, n, 3).transpose(0, 2, 1, 3).copy()
        return ForceConstantParts(pair=pair, e1=e1, e2=e2, e3=e3)

    def hessian(self, cell, positions, species) -> np.ndarray:
        return self.force_constant_parts(cell, positions, species).total

    def force_constants(self, supercell, primitive=None, layout: str = "full", **kwargs):
        """Analytic second-order force constants of the crystal ``supercell`` (a :class:`Crystal`,
        any structure: multi-atom basis, alloy, slab with vacuum) as a :class:`ForceConstants` in
        phonopy's ``full`` (N, N, 3, 3) or ``compact`` (n_prim, N, 3, 3) layout. Periodic images
        within the cutoff are summed on the supercell. ``kwargs`` go to :class:`ForceConstants`
        (``smap``, ``p2s``, ...); :meth:`force_constant_contributions` splits them into their parts.

        Parameters
        ----------
        supercell : Crystal
            The crystal, positions in Å.
        primitive : Crystal, optional
            Its primitive cell (needed for the ``compact`` layout).
        layout : {"full", "compact"}
            The layout of the returned constants (eV/Å²).
        **kwargs
            Passed to :class:`ForceConstants` (``smap``, ``p2s``, ...).
        """
        return self._assembled(supercell, primitive, layout, kwargs)[0]

    def force_constant_contributions(self, supercell, primitive=None, layout: str = "full"):
        """The pair, e1, e2 and e3 contributions (Riffe et al. eqs. 31-34) to :meth:`force_constants`.

        Parameters
        ----------
        supercell, primitive, layout
            As in :meth:`force_constants`.

        Returns
        -------
        xarray.Dataset
            ``pair``, ``e1``, ``e2``, ``e3`` over (row, atom, cartesian, cartesian2) in eV/Å², in the layout
            asked for (rows: every atom, or the primitive representatives ``p2s`` (row) for ``compact``); their sum
            is ``force_constants(supercell, primitive, layout).fc2``.
        """
        import xarray as xr
        fc, parts = self._assembled(supercell, primitive, layout, {})
        dims = ("row", "atom", "cartesian", "cartesian2")
        names = {"pair": "pair potential", "e1": "embedding F' f'/r, transverse", "e2": "embedding F' f'', longitudinal",
                 "e3": "embedding F'', three-body"}
        return xr.Dataset({k: (dims, v, {"units": "eV/Angstrom^2", "long_name": names[k]}) for k, v in parts.items()},
                          coords=dict(p2s=("row", np.asarray(fc.p2s if layout == "compact" else
                                                             np.arange(fc.n_atoms)))),
                          attrs=dict(layout=layout))

    def _assembled(self, supercell, primitive, layout, kwargs):
        """(ForceConstants of the total, dict of the parts in the same layout)."""
        from trajmodes.forceconstants.model import ForceConstants
        found = self.force_constant_parts(supercell.cell, supercell.positions, supercell.species)
        total = found.total
        parts = found.as_dict()
        fc = ForceConstants(total, supercell, primitive, **kwargs)
        if layout == "compact":
            p2s = fc.p2s
            fc = ForceConstants(total[p2s], supercell, fc.primitive, smap=fc.smap, p2s=p2s, **{
                k: v for k, v in kwargs.items() if k not in ("smap", "p2s")})
            parts = {k: v[p2s] for k, v in parts.items()}
        elif layout != "full":
            raise ValueError(f"layout must be 'full' or 'compact', not {layout!r}")
        return fc, parts


# ------------------------------------------------------------------------------------- cubic crystals
