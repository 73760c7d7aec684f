"""Embedded-atom-method (EAM) potentials: LAMMPS file readers, a reference calculator and analytic
second-order force constants.

Energy (metal units, eV and Angstrom)::

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
from pathlib import Path

import numpy as np

__all__ = ["EAM", "interpolate", "pairs_within", "cubic_dynamical_matrix", "cubic_lattice",
           "shell_constant_parts"]

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


def _evaluate(spline: np.ndarray, rdelta: float, x, lower1: bool = False):
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


# ------------------------------------------------------------------------------------- readers

def _read_setfl(path, fs: bool):
    lines = Path(path).read_text().splitlines()
    head = lines[3].split()
    nel = int(head[0])
    elements = head[1:1 + nel]
    nrho, drho, nr, dr, cut = lines[4].split()[:5]
    nrho, nr, drho, dr, cut = int(nrho), int(nr), float(drho), float(dr), float(cut)
    frho, rhor, masses = [], [], []
    # element blocks: a header line (number, mass, a, lattice), then numbers in any line layout
    rest = lines[5:]
    i = 0
    stream: list[str] = []

    def take(k):
        nonlocal i, stream
        while len(stream) < k:
            stream += rest[i].split()
            i += 1
        out, stream = stream[:k], stream[k:]
        return out

    for _ in range(nel):
        if stream:
            raise ValueError(f"{path}: element block does not start on a new line")
        hdr = rest[i].split()
        i += 1
        masses.append(float(hdr[1]))
        frho.append(np.array(take(nrho), dtype=float))
        if fs:
            rhor.append([np.array(take(nr), dtype=float) for _ in range(nel)])
        else:
            rhor.append(np.array(take(nr), dtype=float))
    z2r = {}
    for a in range(nel):
        for b in range(a + 1):
            z2r[a, b] = np.array(take(nr), dtype=float)
    return dict(elements=elements, masses=masses, nrho=nrho, drho=drho, nr=nr, dr=dr, cut=cut,
                frho=frho, rhor=rhor, z2r=z2r)


def _read_funcfl(path):
    lines = Path(path).read_text().splitlines()
    hdr = lines[1].split()
    nrho, drho, nr, dr, cut = lines[2].split()[:5]
    nrho, nr, drho, dr, cut = int(nrho), int(nr), float(drho), float(dr), float(cut)
    v = np.array(" ".join(lines[3:]).split(), dtype=float)
    if len(v) < nrho + 2 * nr:
        raise ValueError(f"{path}: {len(v)} numbers, expected {nrho + 2 * nr}")
    return dict(number=int(hdr[0]), mass=float(hdr[1]), nrho=nrho, drho=drho, nr=nr, dr=dr, cut=cut,
                frho=v[:nrho], zr=v[nrho:nrho + nr], rhor=v[nrho + nr:nrho + 2 * nr])


# ------------------------------------------------------------------------------------- neighbours

def pairs_within(cell, positions, cutoff: float):
    """All ordered pairs (i, j, image) with 0 < |x_j + R - x_i| < cutoff in a periodic cell.

    Returns i, j (int arrays) and d = x_j + R - x_i (n_pairs, 3). Periodic images of the same j are
    separate pairs, so small cells (cutoff > half the cell) are handled exactly."""
    cell = np.asarray(cell, dtype=float)
    x = np.asarray(positions, dtype=float)
    inv = np.linalg.inv(cell)
    frac = x @ inv
    df = frac[None, :, :] - frac[:, None, :]
    df -= np.rint(df)                                        # in [-0.5, 0.5]
    dist = 1.0 / np.linalg.norm(inv, axis=0)                 # interplanar spacings
    nmax = np.floor(cutoff / dist + 0.5).astype(int) + 1
    base = df @ cell                                         # (N, N, 3)
    ii, jj, dd = [], [], []
    rc2 = cutoff * cutoff
    for s0 in range(-nmax[0], nmax[0] + 1):
        for s1 in range(-nmax[1], nmax[1] + 1):
            for s2 in range(-nmax[2], nmax[2] + 1):
                shift = np.array([s0, s1, s2], dtype=float) @ cell
                d = base + shift
                r2 = np.einsum("ijk,ijk->ij", d, d)
                ok = (r2 < rc2) & (r2 > 1e-20)
                i, j = np.nonzero(ok)
                ii.append(i)
                jj.append(j)
                dd.append(d[i, j])
    return np.concatenate(ii), np.concatenate(jj), np.concatenate(dd)


def _K(d1, d2, r, e):
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

    Attributes: ``elements``, ``masses`` (amu), ``cutoff`` (A), and the splines ``frho[a]``,
    ``rhor[a][b]`` (density that an atom of element a puts at an atom of element b), ``z2r[a][b]``
    (r * phi), with grid spacings ``drho``, ``dr``.
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
            self._from_setfl(_read_setfl(paths[0], fs=style == "eam/fs"), fs=style == "eam/fs")
        elif style == "eam":
            if species is None:
                species = [re.split(r"[_.]", p.name)[0] for p in paths]
            self._from_funcfl([_read_funcfl(p) for p in paths], list(species))
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

        ``lam``: one number per element (a dict element -> lambda, a sequence, or a scalar for all).
        Energies, forces and total force constants are unchanged (to round-off: the shift is applied
        to the evaluated spline functions, not re-tabulated); the split of the force constants into
        pair, e1 and e2 changes, e3 (F'' only) does not. Gauges compose additively."""
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
        same F' (bulk crystals with one site per element, e.g. fcc, bcc, L1_2); otherwise ValueError."""
        t, *_, rho, F = self._setup(cell, positions, species)
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
        derivatives, shape (3, len(r)); ``a``, ``b`` element names, F' the embedding slopes."""
        r = np.atleast_1d(np.asarray(r, dtype=float))
        t = self._types([a, b])
        i, j = np.zeros(len(r), np.int64), np.ones(len(r), np.int64)
        phi, f_ba = self._pair_functions(t, i, j, r)
        f_ab = np.array(_evaluate(self.rhor[t[0]][t[1]], self.rdr, r))
        return phi + fprime_a * f_ba + fprime_b * f_ab

    def mass(self, element: str) -> float:
        """The mass in amu that the potential file gives ``element``."""
        return float(self.masses[self._types([element])[0]])

    # -- pieces
    def _types(self, species) -> np.ndarray:
        species = np.asarray(species).reshape(-1)
        try:
            return np.array([self.elements.index(str(s)) for s in species], dtype=np.int64)
        except ValueError:
            raise ValueError(f"species {sorted(set(map(str, species)) - set(self.elements))} not in "
                             f"the potential's elements {self.elements}") from None

    def _pair_functions(self, t, i, j, r):
        """Per ordered pair (i <- j): phi, phi', phi'' and density f_{j->i}, f', f''."""
        nel = len(self.elements)
        phi = np.empty((3, len(r)))
        rho = np.empty((3, len(r)))
        ti, tj = t[i], t[j]
        key = ti * nel + tj
        for k in np.unique(key):
            a, b = divmod(int(k), nel)
            sel = key == k
            rs = r[sel]
            z, z1, z2 = _evaluate(self.z2r[a][b], self.rdr, rs)
            inv = 1.0 / rs
            phi[0, sel] = z * inv
            phi[1, sel] = z1 * inv - z * inv * inv
            phi[2, sel] = z2 * inv - 2.0 * z1 * inv * inv + 2.0 * z * inv ** 3
            rho[:, sel] = _evaluate(self.rhor[b][a], self.rdr, rs)   # density from j (b) at i (a)
            lam = self.gauge
            if lam is not None and (lam[a] != 0.0 or lam[b] != 0.0):
                # phi_ab -> phi_ab - lam_a f_{b->a} - lam_b f_{a->b}   (Riffe et al. eq. 35 with A = -lam)
                back = np.array(_evaluate(self.rhor[a][b], self.rdr, rs))           # f_{a->b}
                phi[:, sel] -= lam[a] * rho[:, sel] + lam[b] * back
        return phi, rho

    def _embedding(self, t, rho):
        F = np.empty((3, len(rho)))
        for a in np.unique(t):
            sel = t == a
            F[:, sel] = _evaluate(self.frho[a], self.rdrho, rho[sel], lower1=True)
            over = rho[sel] > self.rhomax                  # LAMMPS: linear extrapolation above rhomax
            if np.any(over):
                F[0, np.flatnonzero(sel)[over]] += F[1, sel][over] * (rho[sel][over] - self.rhomax)
            if self.gauge is not None:                     # F_a -> F_a + lam_a rho (Riffe et al. eq. 36)
                F[0, sel] += self.gauge[a] * rho[sel]
                F[1, sel] += self.gauge[a]
        return F

    def _setup(self, cell, positions, species):
        t = self._types(species)
        i, j, d = pairs_within(cell, positions, self.cutoff)
        r = np.sqrt(np.einsum("ij,ij->i", d, d))
        phi, f = self._pair_functions(t, i, j, r)
        n = len(t)
        rho = np.bincount(i, weights=f[0], minlength=n)
        F = self._embedding(t, rho)
        return t, i, j, d, r, phi, f, rho, F

    # -- calculator
    def energy_forces(self, cell, positions, species):
        """Potential energy (eV) and forces (N, 3) (eV/A) of atoms in a periodic ``cell`` (rows)."""
        t, i, j, d, r, phi, f, rho, F = self._setup(cell, positions, species)
        n = len(t)
        energy = F[0].sum() + 0.5 * phi[0].sum()
        s = F[1][i] * f[1] + 0.5 * phi[1]                  # dE/dr of ordered pair (i <- j)
        g = (s / r)[:, None] * d                           # dE/dx_j from this pair; -g on x_i
        grad = np.zeros((n, 3))
        for c in range(3):
            grad[:, c] = np.bincount(j, weights=g[:, c], minlength=n) - np.bincount(i, weights=g[:, c], minlength=n)
        return float(energy), -grad

    def energy(self, cell, positions, species) -> float:
        return self.energy_forces(cell, positions, species)[0]

    def densities(self, cell, positions, species) -> np.ndarray:
        """Host electron density rho_i at every atom."""
        return self._setup(cell, positions, species)[7]

    # -- force constants
    def force_constant_parts(self, cell, positions, species) -> dict:
        """Analytic Hessian parts (pair, e1, e2, e3), each (N, N, 3, 3) in eV/A^2 (Riffe eqs. 25,
        32, 33, 34), at the given configuration (need not be an equilibrium one)."""
        t, i, j, d, r, phi, f, rho, F = self._setup(cell, positions, species)
        n = len(t)
        e = d / r[:, None]
        zero = np.zeros(len(r))
        rows = np.concatenate([i, j, i, j])
        cols = np.concatenate([i, j, j, i])

        def four(block):
            return _scatter(n, rows, cols, np.concatenate([block, block, -block, -block]))

        # pair: each ordered pair carries 1/2 phi; scattering it at (i,i),(j,j),(i,j),(j,i) with weight
        # 1/2 is the same as the full pair once
        pair = four(0.5 * _K(phi[1], phi[2], r, e))
        Fp = F[1][i]
        e1 = four(_K(Fp * f[1], zero, r, e))               # F' f'/r (1 - e e)
        e2 = four(_K(zero, Fp * f[2], r, e))               # F' f'' e e
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
        return dict(pair=pair, e1=e1, e2=e2, e3=e3)

    def hessian(self, cell, positions, species) -> np.ndarray:
        p = self.force_constant_parts(cell, positions, species)
        return p["pair"] + p["e1"] + p["e2"] + p["e3"]

    def force_constants(self, supercell, primitive=None, layout: str = "full", **kwargs):
        """Analytic second-order force constants of the crystal ``supercell`` (a :class:`Crystal`,
        any structure: multi-atom basis, alloy, slab with vacuum) as a :class:`ForceConstants` in
        phonopy's ``full`` (N, N, 3, 3) or ``compact`` (n_prim, N, 3, 3) layout. Periodic images
        within the cutoff are summed on the supercell. The attribute ``parts`` holds the pair, e1,
        e2 and e3 contributions in the same layout (their sum is ``fc2``). ``kwargs`` go to
        :class:`ForceConstants` (``smap``, ``p2s``, ...)."""
        from trajmodes.forceconstants.model import ForceConstants
        parts = self.force_constant_parts(supercell.cell, supercell.positions, supercell.species)
        total = parts["pair"] + parts["e1"] + parts["e2"] + parts["e3"]
        fc = ForceConstants(total, supercell, primitive, **kwargs)
        if layout == "compact":
            p2s = fc.p2s
            fc = ForceConstants(total[p2s], supercell, fc.primitive, smap=fc.smap, p2s=p2s, **{
                k: v for k, v in kwargs.items() if k not in ("smap", "p2s")})
            parts = {k: v[p2s] for k, v in parts.items()}
        elif layout != "full":
            raise ValueError(f"layout must be 'full' or 'compact', not {layout!r}")
        fc.parts = parts
        return fc


# ------------------------------------------------------------------------------------- cubic crystals

_CUBIC_BASIS = {"fcc": [[0, 0, 0], [0, .5, .5], [.5, 0, .5], [.5, .5, 0]],
                "bcc": [[0, 0, 0], [.5, .5, .5]],
                "l12": [[0, 0, 0], [0, .5, .5], [.5, 0, .5], [.5, .5, 0]]}


def cubic_lattice(structure: str, a: float, n: int, species, masses=None):
    """Supercell of n x n x n conventional cubes and its primitive cell, as (:class:`Crystal`,
    :class:`Crystal`). ``structure``: ``fcc``, ``bcc`` (one species) or ``l12`` (A3B, ``species``
    = (A, B): B at the cube corner). ``masses``: per species (default: the potential's if you pass
    them in, else 1)."""
    from trajmodes.lattice.crystal import Crystal
    structure = structure.lower()
    if structure not in _CUBIC_BASIS:
        raise ValueError(f"structure must be fcc, bcc or l12, not {structure!r}")
    sp = [species] if isinstance(species, str) else list(species)
    if structure == "l12":
        if len(sp) != 2:
            raise ValueError("l12 needs two species (A, B) for A3B")
        basis_sp = [sp[1], sp[0], sp[0], sp[0]]
    else:
        basis_sp = [sp[0]] * len(_CUBIC_BASIS[structure])
    mass_of = dict(zip(sp, masses)) if masses is not None else {s: 1.0 for s in sp}
    basis = np.array(_CUBIC_BASIS[structure], float)
    if structure == "l12":
        pcell, pfrac, psp = a * np.eye(3), basis, basis_sp
    else:
        from trajmodes.potentials.bvk import _PRIMITIVE
        pcell, pfrac, psp = _PRIMITIVE[structure] * a, np.zeros((1, 3)), basis_sp[:1]
    prim = Crystal(pcell, np.asarray(pfrac) @ (np.eye(3) * a if structure == "l12" else pcell), psp,
                   [mass_of[s] for s in psp])
    g = np.array([[i, j, k] for i in range(n) for j in range(n) for k in range(n)], float)
    frac = (g[:, None, :] + basis[None]).reshape(-1, 3)
    ssp = basis_sp * len(g)
    sc = Crystal(a * n * np.eye(3), frac * a, ssp, [mass_of[s] for s in ssp])
    return sc, prim


def _shell_vectors(lattice: str, a: float, cutoff: float) -> np.ndarray:
    """All lattice vectors 0 < |R| < cutoff of a one-atom fcc/bcc lattice (A)."""
    nmax = int(np.ceil(cutoff / a)) + 1
    g = np.array(np.meshgrid(*[np.arange(-2 * nmax, 2 * nmax + 1)] * 3, indexing="ij")).reshape(3, -1).T
    if lattice == "fcc":
        g = g[g.sum(axis=1) % 2 == 0]
    elif lattice == "bcc":
        g = g[(g % 2 == g[:, :1] % 2).all(axis=1)]
    else:
        raise ValueError(f"lattice must be 'fcc' or 'bcc', not {lattice!r}")
    R = g * (a / 2)
    r = np.linalg.norm(R, axis=1)
    return R[(r > 0) & (r < cutoff)]


def cubic_dynamical_matrix(eam: EAM, lattice: str, a: float, qpoints_cart, element: str | None = None,
                           parts: bool = False):
    """Closed-form dynamical matrix of a one-atom cubic (fcc/bcc) EAM crystal, Riffe et al. eqs. 43, 44, 48::

        D(k)   = D_ep(k) + D_e3(k)
        D_ep   = 1/M sum_R [phi_bar'/R (1 - R^R^) + phi_bar'' R^R^] (1 - cos k.R),  phi_bar = phi + 2 F' f
        D_e3   = F''/M  s(k) s(k)^T,      s(k) = sum_R f'(R) R^ sin(k.R)

    with F', F'' at the crystal's host density rho = sum_R f(R): two single lattice sums, no supercell.

    ``qpoints_cart``: (nq, 3) Cartesian q in units of 1/a without 2 pi (k = 2 pi q / a), as in
    :func:`trajmodes.potentials.bvk.bvk_dynamical_matrix` (fcc X = (1, 0, 0), L = (1/2, 1/2, 1/2)).
    Returns (nq, 3, 3) real, eV/(A^2 amu); with ``parts=True`` the pair (D_ep) and e3 parts too.
    """
    el = eam.elements[0] if element is None else element
    t = eam._types([el])
    M = float(eam.masses[t[0]])
    R = _shell_vectors(lattice, a, eam.cutoff)
    r = np.linalg.norm(R, axis=1)
    e = R / r[:, None]
    tt = np.zeros(2, np.int64) + t[0]
    z = np.zeros(len(r), np.int64)
    phi, f = eam._pair_functions(tt, z, z + 1, r)
    rho = f[0].sum()
    F = eam._embedding(t, np.array([rho]))[:, 0]
    pbar = phi + 2.0 * F[1] * f                                     # eq. 43 (value, d1, d2)
    K = _K(pbar[1], pbar[2], r, e)                                  # (nR, 3, 3)
    q = np.atleast_2d(np.asarray(qpoints_cart, float))
    kR = 2.0 * np.pi * (q @ R.T) / a                                # (nq, nR)
    D_ep = np.einsum("qm,mab->qab", 1.0 - np.cos(kR), K) / M        # eq. 44
    s = np.einsum("qm,m,ma->qa", np.sin(kR), f[1], e)
    D_e3 = F[2] * s[:, :, None] * s[:, None, :] / M                 # eq. 48
    D = D_ep + D_e3
    return (D, D_ep, D_e3) if parts else D


def shell_constant_parts(eam: EAM, lattice: str, a: float, element: str | None = None, supercell: int = 5,
                         n_shells: int = 5):
    """BvK shell constants of a one-atom cubic EAM crystal and their breakdown (Riffe et al., Tables II-III).

    Parts (dimension ``part``): ``total``; the raw split of this potential file's gauge ``pair``
    (eq. 25), ``e12`` (F' d2 rho, eqs. 32-33), ``e3`` (F'' three-body, eq. 34); and the normalised split
    of the paper's tables ``effective_pair`` (phi_bar = phi + 2 F' f, eq. 41; = pair + e12) and ``e3``.
    ``total = pair + e12 + e3 = effective_pair + e3`` constant by constant.

    The constants come from the analytic force constants of an ``supercell``^3 cube supercell; e3
    couples atoms up to twice the cutoff apart, so shells are free of periodic images when
    ``supercell * a >= r_shell + 2 * cutoff`` (a warning is not raised; the default 5 suffices for Cu).

    Returns (xarray.Dataset of :func:`trajmodes.potentials.bvk.shell_constants` with a ``part`` dimension,
    :class:`ForceConstants` of the total with ``parts``).
    """
    import xarray as xr
    from trajmodes.potentials import bvk
    from trajmodes.forceconstants.model import ForceConstants
    el = eam.elements[0] if element is None else element
    sc, prim = cubic_lattice(lattice, a, supercell, el, masses=[eam.mass(el)])
    fc = eam.force_constants(sc, prim)
    p = fc.parts
    arrays = {"total": fc.fc2, "pair": p["pair"], "e12": p["e1"] + p["e2"], "e3": p["e3"],
              "effective_pair": p["pair"] + p["e1"] + p["e2"]}
    dss = [bvk.shell_constants(ForceConstants(v, fc.supercell, fc.primitive, smap=fc.smap, p2s=fc.p2s),
                               lattice=lattice, n_shells=n_shells) for v in arrays.values()]
    ds = xr.concat(dss, dim="part", data_vars=["value", "value_ev", "residual", "relative_residual"],
                   coords="minimal", compat="override").assign_coords(part=list(arrays))
    ds.attrs.update(potential=str(eam.paths[0]), element=el, supercell=supercell)
    return ds, fc
