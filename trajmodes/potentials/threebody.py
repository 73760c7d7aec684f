"""Three-body potentials written as zeta(r1, r2, cos theta), with analytic derivatives up to third order.

Every three-body term is a function of the two bond vectors from its vertex atom 0, d1 = x_1 - x_0 and
d2 = x_2 - x_0, through z = (r1, r2, cos theta), r_l = |d_l|, cos theta = d1.d2 / (r1 r2) (M. B. Taylor,
N. L. Allan, J. A. O. Bruno and G. D. Barrera, Phys. Rev. B 59, 353 (1999), eqs. 14-18). A form supplies only its
partial derivatives in z, the Z functions of eq. 19; the geometric derivatives dz/dd, d2z/dd2, d3z/dd3 are derived
once (:func:`trajmodes.potentials.triplets.triplet_coordinates`), and the chain rule (eqs. 20-21, carried to third
order: Faa di Bruno's formula, :func:`trajmodes.potentials.jets.compose`) gives the derivatives with respect to the
six coordinates (d1, d2) that :class:`Terms` carries. The triplets and their geometry are
:mod:`trajmodes.potentials.triplets`; this module holds the forms.

Arithmetic on derivatives is done by :class:`trajmodes.potentials.jets.Jet` (a value with its gradient, Hessian and third-derivative tensors,
for many points at once), so a form is written as plain algebra on jets of (r1, r2, cos theta).

Forms:

* :class:`StillingerWeber`: LAMMPS ``pair_style sw`` (F. H. Stillinger and T. A. Weber, Phys. Rev. B 31, 5262
  (1985); LAMMPS documentation, ``pair_style sw``), with its files (:mod:`trajmodes.io.potentials.sw`);
* :class:`AxilrodTellerMuto`: LAMMPS ``pair_style atm`` (B. M. Axilrod and E. Teller, J. Chem. Phys. 11, 299 (1943);
  Y. Muto, Proc. Phys.-Math. Soc. Jpn. 17, 629 (1943); LAMMPS documentation, ``pair_style atm``);
* :class:`HarmonicAngle`: k_theta/2 (theta - theta0)^2 (Taylor et al. 1999, eq. 65);
* :class:`ExponentialAngle`: k exp(-r1/R1) exp(-r2/R2) (theta - theta0)^2 (Taylor et al. 1999, eqs. 59-64).

Forms in theta rather than cos theta have derivatives in cos theta that diverge at collinear triplets (Taylor et al.
1999, remark after eq. 64). For theta0 = 180 deg (or 0) the term is smooth there, and the Z functions are taken from
the series of arccos(-c)^2 about c = -1; for any other theta0 the energy has a cusp at a collinear triplet (its
derivatives do not exist), and a :class:`ValueError` says so rather than returning infinities or NaN.
"""
from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np

from trajmodes.lattice.geometry import comes_after
from trajmodes.potentials.jets import Jet, distance, fill_terms
from trajmodes.potentials.terms import ShortRangePotential, Terms
from trajmodes.potentials.triplets import (angle_square, neighbours, select, species_index, triplets_from_pairs,
                                           zeta_derivatives)

__all__ = ["StillingerWeber", "AxilrodTellerMuto", "HarmonicAngle", "ExponentialAngle"]


def _check_order(order: int) -> int:
    if order not in (0, 1, 2, 3):
        raise ValueError(f"order must be 0, 1, 2 or 3, not {order!r}")
    return int(order)


# ------------------------------------------------------------------------------------------------ Stillinger-Weber

_SW_FIELDS = ("epsilon", "sigma", "a", "lambda", "gamma", "costheta0", "A", "B", "p", "q", "tol")


class StillingerWeber(ShortRangePotential):
    """The Stillinger-Weber potential exactly as LAMMPS ``pair_style sw`` computes it.

    E = sum_i sum_{j>i} phi2(r_ij) + sum_i sum_{j != i} sum_{k>j} phi3(r_ij, r_ik, theta_jik)::

        phi2 = A_ij eps_ij (B_ij (sigma_ij/r)^p_ij - (sigma_ij/r)^q_ij) exp(sigma_ij / (r - a_ij sigma_ij))
        phi3 = lambda_ijk eps_ijk (cos theta - cos theta0_ijk)^2
               exp(gamma_ij sigma_ij / (r_ij - a_ij sigma_ij)) exp(gamma_ik sigma_ik / (r_ik - a_ik sigma_ik))

    (F. H. Stillinger and T. A. Weber, Phys. Rev. B 31, 5262 (1985); LAMMPS documentation, ``pair_style sw``). With
    several elements, the entry of element triplet (i, j, k) gives lambda, epsilon and cos theta0 of phi3; the
    two-body parameters of the pair (i, j) (and gamma_ij, a_ij sigma_ij of phi3) come from the (i, j, j) entry. A pair
    interacts (in phi2 and as a leg of phi3) when r < a sigma, shortened as LAMMPS does when ``tol`` > 0 (r < a sigma
    + s / ln(min(tol, 0.01)), s = gamma sigma if gamma < 1 else sigma).

    Parameters
    ----------
    parameters : mapping
        (element i, element j, element k) -> the eleven parameters of the LAMMPS file, a sequence in the file's
        order (epsilon eV, sigma A, a, lambda, gamma, costheta0, A, B, p, q, tol) or a mapping with those names.
        Every triplet of the elements must be present.
    elements : sequence of str, optional
        The elements used (default: all in ``parameters``); entries with other elements are ignored.

    Raises
    ------
    ValueError
        For a missing entry, a negative parameter (as LAMMPS), a parameter set that is not symmetric where LAMMPS'
        result would depend on its neighbour order ((i, j, j) and (j, i, i) two-body parameters; lambda epsilon and
        cos theta0 of (i, j, k) and (i, k, j)), or a wrong number of parameters.
    """

    def __init__(self, parameters: Mapping, elements: Sequence[str] | None = None):
        if elements is None:
            elements = list(dict.fromkeys(e for key in parameters for e in key))
        self.elements = [str(e) for e in elements]
        if len(set(self.elements)) != len(self.elements):
            raise ValueError(f"elements repeated: {self.elements}")
        ns = len(self.elements)
        table = np.full((ns, ns, ns, len(_SW_FIELDS)), np.nan)
        for key, values in parameters.items():
            if len(key) != 3:
                raise ValueError(f"Stillinger-Weber entries are keyed by three elements, not {key!r}")
            if not all(e in self.elements for e in key):
                continue
            if isinstance(values, Mapping):
                unknown = set(values) - set(_SW_FIELDS) - {"elements", "line"}
                if unknown or any(f not in values for f in _SW_FIELDS):
                    raise ValueError(f"entry {key}: parameters must be {', '.join(_SW_FIELDS)}"
                                     + (f" (unknown: {', '.join(sorted(unknown))})" if unknown else ""))
                values = [values[f] for f in _SW_FIELDS]
            values = np.asarray(values, dtype=float).reshape(-1)
            if len(values) != len(_SW_FIELDS):
                raise ValueError(f"entry {key}: {len(values)} parameters, expected {len(_SW_FIELDS)} "
                                 f"({', '.join(_SW_FIELDS)})")
            if not np.all(np.isfinite(values)) or np.any(values[[0, 1, 2, 3, 4, 6, 7, 8, 9, 10]] < 0):
                raise ValueError(f"entry {key}: illegal Stillinger-Weber parameters {values.tolist()} (all but "
                                 "costheta0 must be finite and >= 0)")
            table[tuple(self.elements.index(e) for e in key)] = values
        missing = [tuple(self.elements[x] for x in idx) for idx in zip(*np.nonzero(np.isnan(table[..., 0])))]
        if missing:
            raise ValueError(f"Stillinger-Weber parameters missing for element triplet(s) "
                             f"{', '.join(' '.join(m) for m in missing)}")
        self.parameters = {(a, b, c): dict(zip(_SW_FIELDS, table[x, y, z].tolist()))
                           for x, a in enumerate(self.elements) for y, b in enumerate(self.elements)
                           for z, c in enumerate(self.elements)}
        cos0 = table[..., 5]
        pair = np.arange(ns)
        two = table[:, pair, pair]                              # (i, j, j) entries: (S, S, 11)
        self._eps, self._sigma, self._p, self._q = two[..., 0], two[..., 1], two[..., 8], two[..., 9]
        self._cut = two[..., 1] * two[..., 2]                   # a sigma
        self._sigma_gamma = two[..., 1] * two[..., 4]
        self._c5 = two[..., 6] * two[..., 0] * two[..., 7] * two[..., 1] ** two[..., 8]   # A eps B sigma^p
        self._c6 = two[..., 6] * two[..., 0] * two[..., 1] ** two[..., 9]                 # A eps sigma^q
        cutsq = np.empty((ns, ns))
        for x in range(ns):
            for y in range(ns):
                s, g, t = two[x, y, 1], two[x, y, 4], two[x, y, 10]
                r = self._cut[x, y]
                if t > 0.0:                                     # LAMMPS PairSW::setup_params
                    t = min(t, 0.01)
                    r = r + (g * s if g < 1.0 else s) / np.log(t)
                cutsq[x, y] = r * r
        self._cutsq = cutsq
        self._lambda_eps = table[..., 3] * table[..., 0]        # lambda_ijk epsilon_ijk, (S, S, S)
        self._cos0 = cos0
        for x in range(ns):
            for y in range(ns):
                f_xy = [two[x, y, f] for f in (0, 1, 2, 6, 7, 8, 9)] + [cutsq[x, y]]
                f_yx = [two[y, x, f] for f in (0, 1, 2, 6, 7, 8, 9)] + [cutsq[y, x]]
                if not np.allclose(f_xy, f_yx, rtol=1e-14, atol=0):
                    raise ValueError(f"the two-body parameters of {self.elements[x]}-{self.elements[y]} differ "
                                     f"between entries {self.elements[x]} {self.elements[y]} {self.elements[y]} and "
                                     f"{self.elements[y]} {self.elements[x]} {self.elements[x]}: LAMMPS' energy "
                                     "would depend on its neighbour order")
        asym = ~(np.isclose(self._lambda_eps, self._lambda_eps.transpose(0, 2, 1), rtol=1e-14, atol=0)
                 & np.isclose(cos0, cos0.transpose(0, 2, 1), rtol=1e-14, atol=0))
        if asym.any():
            x, y, z = (int(v[0]) for v in np.nonzero(asym))
            names = [self.elements[v] for v in (x, y, z)]
            raise ValueError(f"lambda epsilon or costheta0 differ between entries {' '.join(names)} and "
                             f"{names[0]} {names[2]} {names[1]}: LAMMPS' energy would depend on its neighbour order")
        self.cutoff = float(np.sqrt(cutsq.max()))

    @classmethod
    def from_lammps(cls, path, elements: Sequence[str] | None = None) -> "StillingerWeber":
        """The potential of a LAMMPS ``.sw`` file (as ``pair_coeff * * path elements...``).

        Parameters
        ----------
        path : str or Path
            The LAMMPS ``.sw`` file.
        elements : sequence of str, optional
            The elements to use (default: every element of the file).

        Raises
        ------
        ValueError
            For a malformed file (naming file and line), an element absent from the file, a duplicate or missing
            entry.
        """
        from trajmodes.io.potentials.sw import read_sw
        entries = read_sw(path)
        present = list(dict.fromkeys(e for entry in entries for e in entry["elements"]))
        if elements is None:
            elements = present
        absent = [e for e in elements if e not in present]
        if absent:
            raise ValueError(f"{path}: no Stillinger-Weber entries for {', '.join(absent)} (the file has "
                             f"{', '.join(present)})")
        params: dict = {}
        for entry in entries:
            key = entry["elements"]
            if all(e in elements for e in key):
                if key in params:
                    raise ValueError(f"{path}: line {entry['line']}: duplicate entry {' '.join(key)} (first on line "
                                     f"{params[key]['line']})")
                params[key] = entry
        try:
            return cls(params, elements)
        except ValueError as exc:
            raise ValueError(f"{path}: {exc}") from None

    def terms(self, crystal, order: int = 3) -> list[Terms]:
        """The pair terms (each pair once) and the three-body terms (every vertex, each pair of its neighbours once),
        with derivatives up to ``order``; energies in eV (see :class:`Terms`).

        Parameters
        ----------
        crystal : Crystal
            The crystal whose terms are listed.
        order : int
            The highest derivative of the energy computed, 0 to 3 (2: force constants, 3: third order).
        """
        order = _check_order(order)
        s = species_index(crystal.species, self.elements, "Stillinger-Weber potential")
        i, j, d, n = neighbours(crystal, self._cutsq, s)
        half = comes_after(i, j, n)
        pi, pj = s[i[half]], s[j[half]]
        r = distance(d[half], order)
        phi2 = ((self._c5[pi, pj] * r ** -self._p[pi, pj] - self._c6[pi, pj] * r ** -self._q[pi, pj])
                * (self._sigma[pi, pj] / (r - self._cut[pi, pj])).exp())
        pairs = Terms(atoms=np.stack([i[half], j[half]], axis=1),
                      cells=np.stack([np.zeros_like(n[half]), n[half]], axis=1).astype(np.int64),
                      vectors=d[half][:, None, :], energy=np.zeros(int(half.sum())))
        trip = triplets_from_pairs(i, j, d, n, crystal.n_atoms)
        si, sj, sk = (s[trip.atoms[:, a]] for a in range(3))
        lam_eps, cos0 = self._lambda_eps[si, sj, sk], self._cos0[si, sj, sk]
        gs1, cut1 = self._sigma_gamma[si, sj], self._cut[si, sj]
        gs2, cut2 = self._sigma_gamma[si, sk], self._cut[si, sk]

        def zeta(r1, r2, c):
            dc = c - cos0
            return lam_eps * (dc * dc) * (gs1 / (r1 - cut1) + gs2 / (r2 - cut2)).exp()

        jet = zeta_derivatives(zeta, trip.vectors[:, 0], trip.vectors[:, 1], order)
        return [fill_terms(pairs, phi2), fill_terms(trip, jet)]


# ------------------------------------------------------------------------------------------- Axilrod-Teller-Muto

class AxilrodTellerMuto(ShortRangePotential):
    """The Axilrod-Teller-Muto triple-dipole dispersion as LAMMPS ``pair_style atm cutoff cutoff_triple``.

    E = sum over triplets, each once, of nu (1 + 3 cos g1 cos g2 cos g3) / (r12 r23 r31)^3 (B. M. Axilrod and
    E. Teller, J. Chem. Phys. 11, 299 (1943); Y. Muto, Proc. Phys.-Math. Soc. Jpn. 17, 629 (1943)). As in LAMMPS
    (documentation and ``PairATM::compute``), a triplet counts when all three distances are at most ``cutoff`` and
    r12 r23 r31 <= ``cutoff_triple**3``, and triplets whose nu is zero are skipped. From the vertex with bonds d1, d2,
    r3^2 = r1^2 + r2^2 - 2 r1 r2 cos theta, so the term is a zeta(r1, r2, cos theta)::

        E = nu [ (r1^2 r2^2 r3^2) - 3 (d1.d2) (d1.d2 - r1^2) (r2^2 - d1.d2) ] / (r1^2 r2^2 r3^2)^(5/2)

    Parameters
    ----------
    cutoff : float
        Å; no distance in a triplet may exceed it.
    cutoff_triple : float
        Å; the product of the three distances may not exceed its cube.
    nu : float or mapping
        eV Å⁹: one value for every triplet (``pair_coeff * * * nu``), or {(A, B, C): nu} by species, symmetric under
        permutations (any one order given; conflicting orders are an error). Species triplets absent from the
        mapping have nu = 0.

    Raises
    ------
    ValueError
        For non-positive cutoffs, non-finite nu, conflicting permutations, or (in :meth:`terms`) a crystal species
        that the mapping does not name.
    """

    def __init__(self, cutoff: float, cutoff_triple: float, nu):
        if not (np.isfinite(cutoff) and cutoff > 0 and np.isfinite(cutoff_triple) and cutoff_triple > 0):
            raise ValueError(f"cutoffs must be finite and positive, not {cutoff!r}, {cutoff_triple!r}")
        self.cutoff = float(cutoff)
        self.cutoff_triple = float(cutoff_triple)
        if isinstance(nu, Mapping):
            self.elements = list(dict.fromkeys(e for key in nu for e in key))
            ns = len(self.elements)
            table = np.full((ns, ns, ns), np.nan)
            for key, value in nu.items():
                if len(key) != 3 or not np.isfinite(value):
                    raise ValueError(f"nu entries are (A, B, C) -> finite number, not {key!r} -> {value!r}")
                idx = [self.elements.index(e) for e in key]
                for perm in ((0, 1, 2), (0, 2, 1), (1, 0, 2), (1, 2, 0), (2, 0, 1), (2, 1, 0)):
                    slot = tuple(idx[p] for p in perm)
                    if np.isfinite(table[slot]) and table[slot] != value:
                        raise ValueError(f"nu of {key} conflicts with the value {table[slot]} given for a "
                                         "permutation of it (nu is symmetric)")
                    table[slot] = value
            self._nu = np.nan_to_num(table, nan=0.0)
        else:
            if not np.isfinite(nu):
                raise ValueError(f"nu must be finite, not {nu!r}")
            self.elements = None
            self._nu = float(nu)

    def terms(self, crystal, order: int = 3) -> list[Terms]:
        """The triplet terms, each triplet once (vertex: its first atom in the order (atom index, cell)), with
        derivatives up to ``order``.

        Parameters
        ----------
        crystal : Crystal
            The crystal whose terms are listed.
        order : int
            The highest derivative of the energy computed, 0 to 3 (2: force constants, 3: third order).
        """
        order = _check_order(order)
        rc2 = self.cutoff * self.cutoff
        i, j, d, n = neighbours(crystal, rc2)
        # LAMMPS: rij^2 <= cutoff^2 (pairs_within keeps <, a difference of measure zero)
        trip = triplets_from_pairs(i, j, d, n, crystal.n_atoms)
        a, c = trip.atoms, trip.cells
        d1, d2 = trip.vectors[:, 0], trip.vectors[:, 1]
        d3 = d2 - d1
        r6 = np.einsum("na,na->n", d1, d1) * np.einsum("na,na->n", d2, d2) * np.einsum("na,na->n", d3, d3)
        t3 = self.cutoff_triple ** 3
        keep = (comes_after(a[:, 0], a[:, 1], c[:, 1]) & comes_after(a[:, 0], a[:, 2], c[:, 2])
                & (np.einsum("na,na->n", d3, d3) <= rc2) & (r6 <= t3 * t3))
        if self.elements is None:
            nu = np.full(len(a), self._nu)
        else:
            s = species_index(crystal.species, self.elements, "Axilrod-Teller-Muto potential")
            nu = self._nu[s[a[:, 0]], s[a[:, 1]], s[a[:, 2]]]
        keep &= nu != 0.0
        trip, nu = select(trip, keep), nu[keep]

        def zeta(r1, r2, c):
            a2, b2 = r1 * r1, r2 * r2
            x = r1 * r2 * c                                   # d1.d2
            prod = a2 * b2 * (a2 + b2 - 2.0 * x)              # (r1 r2 r3)^2
            return nu * (prod - 3.0 * x * (x - a2) * (b2 - x)) * prod ** -2.5

        return [fill_terms(trip, zeta_derivatives(zeta, trip.vectors[:, 0], trip.vectors[:, 1], order))]


# ------------------------------------------------------------------------------------------------ angle terms

class _AngleTerm(ShortRangePotential):
    """Common part of the angle potentials: one vertex species, two end species, bond cutoffs; the term is
    oriented so that d1 points to an atom of ``ends[0]`` and d2 to one of ``ends[1]``."""

    def __init__(self, vertex: str, ends, theta0: float, cutoff, r_scales=None):
        self.vertex = str(vertex)
        ends = (ends, ends) if isinstance(ends, str) else tuple(str(e) for e in ends)
        if len(ends) != 2:
            raise ValueError(f"ends must be one species or two, not {ends!r}")
        self.ends = ends
        cut = np.broadcast_to(np.asarray(cutoff, dtype=float), (2,)).copy()
        if not (np.all(np.isfinite(cut)) and np.all(cut > 0)):
            raise ValueError(f"cutoffs must be finite and positive, not {cutoff!r}")
        if not (np.isfinite(theta0) and 0.0 <= theta0 <= 180.0):
            raise ValueError(f"theta0 must be an angle in degrees in [0, 180], not {theta0!r}")
        self.theta0 = float(theta0)
        self._theta0 = np.radians(self.theta0)
        if ends[0] == ends[1]:
            if cut[0] != cut[1]:
                raise ValueError(f"both ends are {ends[0]}: give one cutoff, not {cut.tolist()}")
            if r_scales is not None and np.ptp(r_scales) != 0:
                raise ValueError(f"both ends are {ends[0]}: give one decay length, not {list(r_scales)}")
        self.cutoffs = tuple(cut.tolist())
        self.cutoff = float(cut.max())

    def _zeta(self, r1: Jet, r2: Jet, c: Jet) -> Jet:
        raise NotImplementedError

    def terms(self, crystal, order: int = 3) -> list[Terms]:
        """The angle terms (every vertex atom of the vertex species, every pair of end atoms within the cutoffs),
        with derivatives up to ``order``."""
        order = _check_order(order)
        names = list(dict.fromkeys([self.vertex, *self.ends]))
        present = set(map(str, crystal.species))
        absent = [e for e in names if e not in present]
        if absent:
            raise ValueError(f"species {', '.join(absent)} of the angle term {self.ends[0]}-{self.vertex}-"
                             f"{self.ends[1]} not in the crystal (it has {', '.join(sorted(present))})")
        s = np.array([names.index(x) if x in names else -1 for x in map(str, crystal.species)])
        v, e1, e2 = names.index(self.vertex), names.index(self.ends[0]), names.index(self.ends[1])
        cutsq = np.zeros((len(names) + 1, len(names) + 1))     # the last row and column: other species
        cutsq[v, e1] = self.cutoffs[0] ** 2
        cutsq[v, e2] = self.cutoffs[1] ** 2
        i, j, d, n = neighbours(crystal, cutsq, s)
        trip = triplets_from_pairs(i, j, d, n, crystal.n_atoms)
        sj, sk = s[trip.atoms[:, 1]], s[trip.atoms[:, 2]]
        keep = ((sj == e1) & (sk == e2)) | ((sj == e2) & (sk == e1))
        trip = select(trip, keep)
        swap = (s[trip.atoms[:, 1]] != e1)
        if swap.any():
            for arr in (trip.atoms, trip.cells, trip.vectors):
                arr[swap, -2:] = arr[swap, -2:][:, ::-1].copy()
        d1, d2 = trip.vectors[:, 0], trip.vectors[:, 1]
        within = ((np.einsum("na,na->n", d1, d1) < self.cutoffs[0] ** 2)
                  & (np.einsum("na,na->n", d2, d2) < self.cutoffs[1] ** 2))
        trip = select(trip, within)
        return [fill_terms(trip, zeta_derivatives(self._zeta, trip.vectors[:, 0], trip.vectors[:, 1], order))]

    def _angular(self, c: Jet) -> Jet:
        """(theta - theta0)^2 as a jet of cos theta."""
        return c.apply(*angle_square(c.value, self._theta0, c.order), *([0.0] * (3 - c.order)))


class HarmonicAngle(_AngleTerm):
    """The harmonic angle term zeta = k_theta/2 (theta - theta0)^2 (Taylor et al. 1999, eq. 65) for every
    ``ends[0]``-``vertex``-``ends[1]`` angle whose bonds are shorter than the cutoffs.

    Parameters
    ----------
    vertex : str
        Species at the apex of the angle.
    ends : str or (str, str)
        Species of the two end atoms.
    k_theta : float
        eV/rad².
    theta0 : float
        Equilibrium angle, degrees.
    cutoff : float or (float, float)
        Bond length below which an end atom is bonded to the vertex, Å (per end when two; equal ends take one).

    Raises
    ------
    ValueError
        For malformed parameters; in :meth:`terms`, for species absent from the crystal and for collinear triplets
        unless theta0 is 0 or 180 deg (the energy has a cusp there).
    """

    def __init__(self, vertex: str, ends, k_theta: float, theta0: float, cutoff):
        if not np.isfinite(k_theta):
            raise ValueError(f"k_theta must be finite, not {k_theta!r}")
        super().__init__(vertex, ends, theta0, cutoff)
        self.k_theta = float(k_theta)

    def _zeta(self, r1, r2, c):
        return 0.5 * self.k_theta * self._angular(c)


class ExponentialAngle(_AngleTerm):
    """zeta = k exp(-r1/R1) exp(-r2/R2) (theta - theta0)^2 (Taylor et al. 1999, eq. 59; its Z functions,
    eqs. 60-64, are those of :func:`~trajmodes.potentials.triplets.angle_square` times the exponentials and their
    factors -1/R_L) for every ``ends[0]``-``vertex``-``ends[1]`` angle whose bonds are shorter than the cutoffs.

    Parameters
    ----------
    vertex : str
        Species at the apex.
    ends : str or (str, str)
        Species of the end atoms (r1 to ``ends[0]``, r2 to ``ends[1]``).
    k : float
        eV/rad².
    theta0 : float
        Degrees.
    decay : float or (float, float)
        R1, R2, Å (equal ends take one).
    cutoff : float or (float, float)
        Bond cutoffs, Å.

    Raises
    ------
    ValueError
        For malformed parameters, species absent from the crystal, and collinear triplets unless theta0 is 0 or
        180 deg.
    """

    def __init__(self, vertex: str, ends, k: float, theta0: float, decay, cutoff):
        decay = np.broadcast_to(np.asarray(decay, dtype=float), (2,)).copy()
        if not np.isfinite(k) or not (np.all(np.isfinite(decay)) and np.all(decay > 0)):
            raise ValueError(f"k must be finite and the decay lengths positive, not {k!r}, {decay.tolist()}")
        super().__init__(vertex, ends, theta0, cutoff, r_scales=decay)
        self.k = float(k)
        self.decay = tuple(decay.tolist())

    def _zeta(self, r1, r2, c):
        return self.k * (r1 * (-1.0 / self.decay[0]) + r2 * (-1.0 / self.decay[1])).exp() * self._angular(c)
