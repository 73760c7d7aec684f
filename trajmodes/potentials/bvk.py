"""Born-von-Karman (BvK) shell force constants of one-atom cubic crystals (fcc, bcc).

The BvK constants of a shell are the independent components of the 3x3 coupling between the atom
at the origin and one representative atom of the shell, at (a/2) h with h_x >= h_y >= h_z
(D. M. Riffe, J. D. Christensen and R. B. Wilson, J. Phys.: Condens. Matter 30 (2018), eq. 49 and
Table I). They are defined as *minus* the force
constants of this package: ``K(R) = -Phi[0, R]`` ("the force on the atom at the origin in x when the
atom at R moves a unit distance in y", Riffe et al., after Table I). The couplings to the other members of
the shell follow by the cubic point group: ``K(g h) = g K(h) g^T``.

Names follow the experimental literature (nXX, nXY, ...): for the representative h of Table I,
``K = [[1XX, 1XY, 1XZ], [1XY, 1YY, 1YZ], [1XZ, 1YZ, 1ZZ]]``; the paper's symbols are
``alpha_k1 = XX, alpha_k2 = YY, alpha_k3 = ZZ, beta_k1 = YZ, beta_k2 = XZ, beta_k3 = XY`` (eq. 49).

==========  ========  =========================  ========  ==========================
shell       fcc h     fcc constants              bcc h     bcc constants
==========  ========  =========================  ========  ==========================
1           (1,1,0)   1XX, 1ZZ, 1XY              (1,1,1)   1XX, 1XY
2           (2,0,0)   2XX, 2YY                   (2,0,0)   2XX, 2YY
3           (2,1,1)   3XX, 3YY, 3YZ, 3XZ         (2,2,0)   3XX, 3ZZ, 3XY
4           (2,2,0)   4XX, 4ZZ, 4XY              (3,1,1)   4XX, 4YY, 4YZ, 4XZ
5           (3,1,0)   5XX, 5YY, 5ZZ, 5XY         (2,2,2)   5XX, 5XY
==========  ========  =========================  ========  ==========================

Units: the constants are reported in N/m (1 eV/Å² = 16.0218 N/m; 1 N/m = 1000 dyn/cm). The cubic axes must lie along
x, y, z.
"""
from __future__ import annotations

import itertools

import numpy as np

from trajmodes.lattice.crystal import Crystal
from trajmodes.forceconstants.model import ForceConstants
from trajmodes.lattice.cubic import ATOMS_PER_CUBE, PRIMITIVE_VECTORS
from trajmodes.units import EV_A2_TO_N_M

__all__ = ["shell_constants", "force_constants_from_bvk", "bvk_dynamical_matrix", "shell_dynamical_matrix", "constant_names",
           "SHELLS", "EV_A2_TO_N_M"]

_UNIT_TO_EV_A2 = {"N/m": 1.0 / EV_A2_TO_N_M, "dyn/cm": 1e-3 / EV_A2_TO_N_M, "eV/Angstrom^2": 1.0, "eV/A^2": 1.0}

# (i, j) position of each named component in the 3x3 matrix, and the components it fills
_COMP = {"XX": [(0, 0)], "YY": [(1, 1)], "ZZ": [(2, 2)], "XY": [(0, 1), (1, 0)],
         "XZ": [(0, 2), (2, 0)], "YZ": [(1, 2), (2, 1)]}
_PAPER = {"XX": "alpha_{k}1", "YY": "alpha_{k}2", "ZZ": "alpha_{k}3", "YZ": "beta_{k}1",
          "XZ": "beta_{k}2", "XY": "beta_{k}3"}

# shell -> (representative h in units of a/2, {constant: components equal to it}), Riffe et al., Table I
SHELLS = {
    "fcc": [((1, 1, 0), {"XX": ["XX", "YY"], "ZZ": ["ZZ"], "XY": ["XY"]}),
            ((2, 0, 0), {"XX": ["XX"], "YY": ["YY", "ZZ"]}),
            ((2, 1, 1), {"XX": ["XX"], "YY": ["YY", "ZZ"], "YZ": ["YZ"], "XZ": ["XZ", "XY"]}),
            ((2, 2, 0), {"XX": ["XX", "YY"], "ZZ": ["ZZ"], "XY": ["XY"]}),
            ((3, 1, 0), {"XX": ["XX"], "YY": ["YY"], "ZZ": ["ZZ"], "XY": ["XY"]})],
    "bcc": [((1, 1, 1), {"XX": ["XX", "YY", "ZZ"], "XY": ["XY", "XZ", "YZ"]}),
            ((2, 0, 0), {"XX": ["XX"], "YY": ["YY", "ZZ"]}),
            ((2, 2, 0), {"XX": ["XX", "YY"], "ZZ": ["ZZ"], "XY": ["XY"]}),
            ((3, 1, 1), {"XX": ["XX"], "YY": ["YY", "ZZ"], "YZ": ["YZ"], "XZ": ["XZ", "XY"]}),
            ((2, 2, 2), {"XX": ["XX", "YY", "ZZ"], "XY": ["XY", "XZ", "YZ"]})],
}


def _cubic_group() -> np.ndarray:
    """The 48 signed permutation matrices (cubic point group O_h), shape (48, 3, 3)."""
    out = []
    for perm in itertools.permutations(range(3)):
        for signs in itertools.product((1, -1), repeat=3):
            g = np.zeros((3, 3))
            g[range(3), perm] = signs
            out.append(g)
    return np.array(out)


_OH = _cubic_group()


def constant_names(lattice: str, n_shells: int = 5) -> list[str]:
    """Names of the independent BvK constants of the first ``n_shells`` shells, in order.

    Parameters
    ----------
    lattice : {"fcc", "bcc"}
        The Bravais lattice.
    n_shells : int
        Neighbour shells.
    """
    _check(lattice, n_shells)
    return [f"{k + 1}{c}" for k in range(n_shells) for c in SHELLS[lattice][k][1]]


def _check(lattice, n_shells):
    if lattice not in SHELLS:
        raise ValueError(f"lattice must be 'fcc' or 'bcc', not {lattice!r}")
    if not 1 <= int(n_shells) <= 5:
        raise ValueError(f"n_shells must be 1..5 (Table I of Riffe et al. stops at 5), not {n_shells}")


def _templates(lattice: str, k: int) -> np.ndarray:
    """Basis matrices E_p (n_const, 3, 3) of shell k (0-based): K(h) = sum_p c_p E_p."""
    mats = []
    for comps in SHELLS[lattice][k][1].values():
        E = np.zeros((3, 3))
        for c in comps:
            for i, j in _COMP[c]:
                E[i, j] = 1.0
        mats.append(E)
    return np.array(mats)


def _members(lattice: str, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Shell members h' (in a/2 units, (m, 3) int) and one operation g with g h = h' for each (m, 3, 3)."""
    h = np.array(SHELLS[lattice][k][0], float)
    seen, hs, gs = set(), [], []
    for g in _OH:
        hp = tuple(np.rint(g @ h).astype(int))
        if hp not in seen:
            seen.add(hp)
            hs.append(hp)
            gs.append(g)
    return np.array(hs), np.array(gs)


def _shell_basis(lattice: str, n_shells: int):
    """Per shell k: members (m, 3) and B (m, n_const_k, 3, 3) with K(member) = sum_p c_p B[m, p]."""
    out = []
    for k in range(n_shells):
        hs, gs = _members(lattice, k)
        E = _templates(lattice, k)
        out.append((hs, np.einsum("mab,pbc,mdc->mpad", gs, E, gs)))
    return out


def _detect(fc: ForceConstants, lattice: str | None, tol: float) -> tuple[str, float]:
    """Lattice type and cubic lattice constant a (Å) of a one-atom cubic primitive cell."""
    prim = fc.primitive
    if prim.n_atoms != 1:
        raise ValueError(f"BvK shells need a one-atom (Bravais) crystal; the primitive cell has {prim.n_atoms} atoms")
    cands = [lattice] if lattice is not None else ["fcc", "bcc"]
    for lat in cands:
        if lat not in SHELLS:
            raise ValueError(f"lattice must be 'fcc', 'bcc' or None, not {lat!r}")
        a = (prim.volume * ATOMS_PER_CUBE[lat]) ** (1 / 3)
        h = prim.cell / (a / 2)
        if np.abs(h - np.rint(h)).max() > tol:
            continue
        hi = np.rint(h).astype(int)
        # the integer cell must generate the fcc (h sum even) or bcc (all-even or all-odd) lattice
        ok = (hi.sum(axis=1) % 2 == 0).all() if lat == "fcc" else \
            all(len(set(np.mod(r, 2))) == 1 for r in hi)
        if ok and abs(round(abs(np.linalg.det(hi)))) == (2 if lat == "fcc" else 4):
            return lat, a
    raise ValueError("the primitive cell is not an fcc or bcc cell with its cubic axes along x, y, z"
                     + (f" (asked for {lattice})" if lattice else ""))


def shell_constants(force_constants: ForceConstants, lattice: str | None = None, n_shells: int = 5,
                    tol: float = 0.02):
    """BvK shell constants of a one-atom cubic crystal, least squares over each shell's members.

    Every member R of shell k contributes the nine equations ``-Phi[0, R] = g K(h) g^T`` (g the
    cubic operation taking the representative h onto R) to a least-squares fit of the shell's
    constants; that is the average over the members after rotating each back to h. Where the
    supercell is so small that several shell members are the same supercell atom, the equation of
    that atom is the sum of their couplings (what a finite-displacement supercell holds); a
    constant that such aliasing leaves undetermined (e.g. 5XY of fcc in a 3x3x3 cubic supercell)
    is NaN.

    Parameters
    ----------
    force_constants : ForceConstants
        Any second-order constants of a one-atom fcc or bcc crystal (analytic, fitted, phonopy), its
        cubic axes along x, y, z.
    lattice : {"fcc", "bcc"}, optional
        Found from the primitive cell if not given.
    n_shells : int
        1 to 5.
    tol : float
        Tolerance (in units of a/2) on the integer coordinates of the primitive vectors.

    Returns
    -------
    xarray.Dataset
        ``value`` (constant) N/m (divide by :data:`trajmodes.units.EV_A2_TO_N_M` for eV/Å²),
        ``shell_of`` (constant),
        ``paper_symbol`` (constant: alpha_k1 ... of Riffe et al. eq. 49); per shell ``distance`` (Å),
        ``multiplicity``, ``direction`` (shell, cartesian: h in units of a/2), ``residual`` (rms over the
        shell's members and components of -Phi minus the BvK form, N/m) and ``relative_residual``
        (residual / rms of -Phi over the shell); attrs ``lattice``, ``a`` (Å), ``mass`` (amu),
        ``units``, ``sign_convention``.
    """
    fc = force_constants
    import xarray as xr
    lat, a = _detect(fc, lattice, tol)
    _check(lat, n_shells)
    comp = fc.compact()[0]                                          # (N, 3, 3), row p2s[0]
    m = fc.smap
    dL = m.lattice - m.lattice[fc.p2s[0]]
    vec = dL @ fc.primitive.cell                                    # one image of every column
    h_col = vec / (a / 2)                                           # in a/2 units
    # supercell lattice in a/2 units: images of a column are h_col + n @ Sh
    Sh = fc.supercell.cell / (a / 2)
    if np.abs(Sh - np.rint(Sh)).max() > 1e-6 * max(1.0, np.abs(Sh).max()):
        raise ValueError("the supercell is not commensurate with the cubic axes")
    Sh = np.rint(Sh).astype(np.int64)
    h_col = np.rint(h_col).astype(np.int64)
    basis = _shell_basis(lat, n_shells)
    # map every shell member to its supercell column (reduced modulo the supercell lattice)
    det = int(round(abs(np.linalg.det(Sh))))
    adj = np.rint(np.linalg.inv(Sh.astype(float)) * det).astype(np.int64)   # Sh^-1 * det, integer

    def key(hv):
        return tuple(np.mod(np.asarray(hv, dtype=np.int64) @ adj, det))

    col_of = {key(hv): j for j, hv in enumerate(h_col)}
    names, shell_of, paper = [], [], []
    offsets = [0]
    for k in range(n_shells):
        for c in SHELLS[lat][k][1]:
            names.append(f"{k + 1}{c}")
            shell_of.append(k + 1)
            paper.append(_PAPER[c].format(k=k + 1))
        offsets.append(len(names))
    P = len(names)
    # equations: one 3x3 block per supercell column touched by a shell
    rows: dict[int, np.ndarray] = {}
    col_shell: dict[int, set] = {}
    for k, (hs, B) in enumerate(basis):
        for hv, Bm in zip(hs, B):
            j = col_of[key(hv)]
            if j == fc.p2s[0]:
                raise ValueError(f"the supercell is too small: shell {k + 1} folds onto the atom itself")
            A = rows.setdefault(j, np.zeros((3, 3, P)))
            A[..., offsets[k]:offsets[k + 1]] += Bm.transpose(1, 2, 0)
            col_shell.setdefault(j, set()).add(k)
    cols = np.array(sorted(rows))
    A = np.concatenate([rows[j].reshape(9, P) for j in cols])       # (9 n_cols, P)
    y = np.concatenate([-comp[j].reshape(9) for j in cols])         # BvK = -Phi, eV/A^2
    # column-wise solve with a rank check: undetermined constants -> NaN
    U, s, Vt = np.linalg.svd(A, full_matrices=False)
    keep = s > s.max() * 1e-10
    c = Vt[keep].T @ ((U[:, keep].T @ y) / s[keep])
    null = Vt[~keep]
    undetermined = (np.abs(null) > 1e-8).any(axis=0) if len(null) else np.zeros(P, bool)
    c[undetermined] = np.nan
    fit = A @ np.where(undetermined, 0.0, c)
    res = (y - fit).reshape(-1, 9)
    yb = y.reshape(-1, 9)
    resid, rel, dist, mult, dirs = [], [], [], [], []
    for k, (hs, _) in enumerate(basis):
        sel = np.array([k in col_shell[j] for j in cols])
        r = float(np.sqrt(np.mean(res[sel] ** 2)))
        norm = float(np.sqrt(np.mean(yb[sel] ** 2)))
        resid.append(r * EV_A2_TO_N_M)
        rel.append(r / norm if norm > 0 else np.nan)
        h = np.array(SHELLS[lat][k][0])
        dist.append(float(np.linalg.norm(h) * a / 2))
        mult.append(len(hs))
        dirs.append(h)
    ds = xr.Dataset(
        {"value": ("constant", c * EV_A2_TO_N_M, {"units": "N/m", "long_name": "BvK constant (= -Phi)"}),
         "shell_of": ("constant", np.array(shell_of)),
         "paper_symbol": ("constant", np.array(paper)),
         "distance": ("shell", np.array(dist), {"units": "Angstrom"}),
         "multiplicity": ("shell", np.array(mult)),
         "direction": (("shell", "cartesian"), np.array(dirs), {"units": "a/2"}),
         "residual": ("shell", np.array(resid), {"units": "N/m",
                                                  "long_name": "rms misfit of -Phi to the cubic BvK form"}),
         "relative_residual": ("shell", np.array(rel))},
        coords={"constant": names, "shell": np.arange(1, n_shells + 1), "cartesian": ["x", "y", "z"]},
        attrs={"lattice": lat, "a": a, "mass": float(fc.primitive.masses[0]), "units": "N/m",
               "sign_convention": "BvK constant = -Phi[0, R] (Riffe et al., J. Phys.: Condens. Matter 30 (2018), after Table I)"})
    return ds


def _to_ev(constants, units: str) -> dict:
    if units not in _UNIT_TO_EV_A2:
        raise ValueError(f"units must be one of {sorted(_UNIT_TO_EV_A2)}, not {units!r}")
    f = _UNIT_TO_EV_A2[units]
    if hasattr(constants, "data_vars"):                 # a Dataset from shell_constants
        constants = {str(n): float(v) for n, v in zip(constants["constant"].values,
                                                      constants["value"].values) if np.isfinite(v)}
        f = _UNIT_TO_EV_A2["N/m"]
    return {str(k).upper(): float(v) * f for k, v in constants.items()}


def _shell_matrices(constants_ev: dict, lattice: str):
    """[(members h (m, 3), K (m, 3, 3) in eV/Å²)] for the shells that have a constant."""
    names = constant_names(lattice, 5)
    bad = sorted(set(constants_ev) - set(names))
    if bad:
        raise ValueError(f"unknown {lattice} BvK constants {bad}; known: {names}")
    n_sh = max((int(k[0]) for k in constants_ev), default=0)
    out = []
    for k, (hs, B) in enumerate(_shell_basis(lattice, n_sh)):
        cvec = np.array([constants_ev.get(f"{k + 1}{c}", 0.0) for c in SHELLS[lattice][k][1]])
        out.append((hs, np.einsum("p,mpab->mab", cvec, B)))
    return out


def force_constants_from_bvk(constants, lattice: str, a: float, mass: float, supercell=(4, 4, 4),
                             units: str = "N/m", species: str = "X") -> ForceConstants:
    """Force constants of a one-atom cubic crystal from a set of BvK shell constants.

    Every member R of each shell gets ``Phi[0, R] = -g K(h) g^T``; members that fall on the same
    supercell atom add up (periodic images); the on-site block follows from the acoustic sum rule.

    Parameters
    ----------
    constants : dict or xarray.Dataset
        ``{"1XX": ..., "1XY": ...}`` (names as in :data:`SHELLS`; missing ones are zero), or the
        Dataset of :func:`shell_constants` (its ``value`` in N/m; NaN constants are left out).
    lattice : {"fcc", "bcc"}
        The cubic Bravais lattice, whose shells :data:`SHELLS` lists.
    a : float
        Cubic lattice constant, Å.
    mass : float
        Atomic mass, amu.
    supercell : (int, int, int)
        Supercell in conventional cubic cells; (4, 4, 4) or larger keeps all five shells free of
        periodic images (a 5th shell reaches 1.5 a).
    units : {"N/m", "dyn/cm", "eV/Angstrom^2"}
        Units of a dict of constants ("eV/A^2" is taken for "eV/Angstrom^2").
    species : str
        Label of the atoms.

    Returns
    -------
    ForceConstants
        Compact layout (1, N, 3, 3), eV/Å², primitive cell ``a/2 * [[0,1,1],[1,0,1],[1,1,0]]`` (fcc)
        or ``a/2 * [[-1,1,1],[1,-1,1],[1,1,-1]]`` (bcc).
    """
    if lattice not in SHELLS:
        raise ValueError(f"lattice must be 'fcc' or 'bcc', not {lattice!r}")
    c_ev = _to_ev(constants, units)
    pcell = PRIMITIVE_VECTORS[lattice] * a
    prim = Crystal(pcell, [[0.0, 0.0, 0.0]], [species], [mass])
    n = np.asarray(supercell, dtype=int).reshape(3)
    S = np.rint(np.diag(n) @ np.linalg.inv(PRIMITIVE_VECTORS[lattice])).astype(int)   # cube cells in primitive units
    scell = S @ pcell
    grid = np.array(list(itertools.product(*[range(-2 * int(x), 2 * int(x) + 1) for x in n])))
    frac = (grid @ pcell) @ np.linalg.inv(scell)
    inside = np.all((frac > -1e-9) & (frac < 1 - 1e-9), axis=1)
    pts = grid[inside]
    order = np.lexsort(pts.T[::-1])
    pts = pts[order]
    zero = np.flatnonzero((pts == 0).all(axis=1))[0]
    pts = np.concatenate([pts[zero:zero + 1], np.delete(pts, zero, axis=0)])
    sc = Crystal(scell, pts @ pcell, [species] * len(pts), [mass] * len(pts))
    smap = sc.supercell_map(prim)
    compact = np.zeros((1, sc.n_atoms, 3, 3))
    hinv = np.linalg.inv(PRIMITIVE_VECTORS[lattice] * 2)                  # a/2 units -> primitive coords
    for hs, K in _shell_matrices(c_ev, lattice):
        L = np.rint(hs @ hinv).astype(np.int64)
        j = smap.index(np.zeros(len(L), dtype=np.int64), L)
        np.add.at(compact[0], j, -K)
    compact[0, 0] -= compact[0].sum(axis=0)
    return ForceConstants(compact, sc, prim, smap=smap, p2s=[0])


def bvk_dynamical_matrix(constants, lattice: str, mass: float, qpoints_cart, units: str = "N/m") -> np.ndarray:
    """Analytic BvK dynamical matrix D(q) = (1/m) sum_R K(R) (1 - cos(2 pi q.R)), eV/(Å² amu).

    ``qpoints_cart`` (nq, 3) Cartesian q in units of 2/a (so the X point of fcc is (1, 0, 0) and
    L is (1/2, 1/2, 1/2)); R in units of a/2, so 2 pi q.R = pi q.h. Independent of any supercell.

    Parameters
    ----------
    constants : dict or xarray.Dataset
        The shell constants by name (:func:`constant_names`), in ``units``; or the Dataset of
        :func:`shell_constants` (N/m, whatever ``units`` says).
    lattice : {"fcc", "bcc"}
        The Bravais lattice.
    mass : float
        amu.
    qpoints_cart : array_like (nq, 3)
        Cartesian q in units of 2/a.
    units : {"N/m", "eV/Angstrom^2", "dyn/cm"}
        The units of ``constants``.
    """
    c_ev = _to_ev(constants, units)
    q = np.atleast_2d(np.asarray(qpoints_cart, float))
    shells = _shell_matrices(c_ev, lattice)
    hs = np.concatenate([h for h, _ in shells]) if shells else np.zeros((0, 3))
    K = np.concatenate([k for _, k in shells]) if shells else np.zeros((0, 3, 3))
    return shell_dynamical_matrix(np.pi * q @ hs.T, K, mass)


def shell_dynamical_matrix(phases: np.ndarray, K: np.ndarray, mass: float) -> np.ndarray:
    """D(q) = (1/m) sum_R K(R) (1 - cos(q.R)) of a one-atom crystal from its pair force-constant blocks.

    Parameters
    ----------
    phases : ndarray (nq, n_R)
        q.R in radians for every q-point and lattice vector R.
    K : ndarray (n_R, 3, 3)
        The coupling of the atom at the origin and the one at R, eV/Å² (BvK constant matrices, or the pair
        part of a potential's second derivatives).
    mass : float
        Mass of the atom, amu.

    Returns
    -------
    ndarray (nq, 3, 3)
        eV/(Å² amu).
    """
    return np.einsum("qm,mab->qab", 1.0 - np.cos(phases), K) / mass
