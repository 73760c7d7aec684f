"""Spherically symmetric pair potentials phi(r) with per-species-pair parameters, as LAMMPS defines them
(``units metal``: eV, Å): Lennard-Jones (``pair_style lj/cut``), Morse (``pair_style morse``) and
Buckingham (``pair_style buck``), all unshifted at their cutoffs (LAMMPS's default ``pair_modify shift no``).

Each unordered pair of atoms (atom i in the home cell, atom j in any cell) is one term of the static energy per
cell, a function of its relative vector d = x_j + n . cell - x_i (:class:`trajmodes.potentials.terms.Terms`,
m = 2). From the ordered pairs of :func:`trajmodes.lattice.geometry.pairs_within` the pair (i, j, n) is kept when
i < j, or i = j and n is lexicographically positive; its partner (j, i, -n) is dropped, so every interaction counts
once with weight 1. The derivatives with respect to d follow from phi', phi'', phi''' by the chain rule
(r = |d|, e = d / r):

    g_a    = phi' e_a
    H_ab   = phi'' e_a e_b + (phi'/r) (delta_ab - e_a e_b)
    T_abc  = (phi''' - 3 phi''/r + 3 phi'/r^2) e_a e_b e_c
             + (phi''/r - phi'/r^2) (delta_ab e_c + delta_ac e_b + delta_bc e_a)

(M. B. Taylor, G. D. Barrera, N. L. Allan, T. H. K. Barron and W. C. Mackrodt, Phys. Rev. B 56, 14380 (1997),
for the pair lattice sums). Every lattice sum (energy, forces, stress, force constants, static strain derivatives,
dynamical matrices and their derivatives) is inherited from
:class:`~trajmodes.potentials.terms.ShortRangePotential`.

:func:`load_potential` reads a potential as ``trajmodes qha`` names it: ``STYLE:p1,p2,...,cutoff`` of one of these
styles, or a LAMMPS Stillinger-Weber file.
"""
from __future__ import annotations

import os
from collections.abc import Mapping

import numpy as np

from trajmodes.lattice.geometry import comes_after, pairs_within
from trajmodes.potentials.jets import distance, fill_terms
from trajmodes.potentials.terms import ShortRangePotential, Terms

__all__ = ["PairPotential", "LennardJones", "Morse", "Buckingham", "load_potential"]

#: the key that gives parameters to every species pair
ANY = ("*", "*")


class PairPotential(ShortRangePotential):
    """Base of the pair potentials phi(r; parameters) with parameters per unordered species pair.

    Subclasses name their parameters in ``parameter_names`` (in LAMMPS ``pair_coeff`` order), their LAMMPS style in
    ``lammps_style`` and implement :meth:`radial`.

    Parameters
    ----------
    pairs : mapping
        {(species1, species2): parameters}, unordered pairs; the key ``("*", "*")`` applies to every pair not named.
        Parameters are a mapping of ``parameter_names`` (and optionally ``"cutoff"``, Å) or a sequence in
        ``parameter_names`` order with an optional trailing cutoff.
    cutoff : float, optional
        Cutoff in Å of the pairs that do not give their own; the attribute ``cutoff`` is the longest of all.
    """

    parameter_names: tuple[str, ...] = ()
    lammps_style: str = ""

    def __init__(self, pairs: Mapping, cutoff: float | None = None):
        if not isinstance(pairs, Mapping) or not pairs:
            raise ValueError(f"{type(self).__name__} needs parameters: {{(species1, species2): parameters}}")
        self.default_cutoff = None if cutoff is None else _length(cutoff, "cutoff")
        self.pairs: dict[tuple[str, str], dict[str, float]] = {}
        for key, value in pairs.items():
            if isinstance(key, str) or len(key) != 2:
                raise ValueError(f"pair keys are (species1, species2), not {key!r}")
            a, b = (str(k) for k in key)
            if (a == "*") != (b == "*"):
                raise ValueError(f"a wildcard key is ('*', '*'), not {key!r}")
            self.pairs[tuple(sorted((a, b)))] = self._parameters(value, key)
        self.cutoff = max(p["cutoff"] for p in self.pairs.values())

    @classmethod
    def _arguments(cls, first, rest, cutoff):
        """(pairs, cutoff) from a subclass's arguments: a mapping of pairs, or the parameters of every pair."""
        if isinstance(first, Mapping):
            if any(v is not None for v in rest):
                raise ValueError(f"give either a mapping of pairs or the parameters {cls.parameter_names}, not both")
            return first, cutoff
        values = (first, *rest)
        missing = [n for n, v in zip(cls.parameter_names, values) if v is None]
        if missing:
            raise ValueError(f"{cls.__name__} needs {', '.join(missing)}")
        return {ANY: values}, cutoff

    def _parameters(self, value, key) -> dict[str, float]:
        names = self.parameter_names
        if isinstance(value, Mapping):
            unknown = set(value) - set(names) - {"cutoff"}
            if unknown:
                raise ValueError(f"unknown {type(self).__name__} parameters {sorted(unknown)} for {key}: "
                                 f"expected {names} and optionally 'cutoff'")
            missing = [n for n in names if n not in value]
            if missing:
                raise ValueError(f"{type(self).__name__} pair {key} lacks {missing}")
            out = {n: float(value[n]) for n in names}
            rc = value.get("cutoff")
        else:
            value = list(np.atleast_1d(value))
            if len(value) not in (len(names), len(names) + 1):
                raise ValueError(f"{type(self).__name__} pair {key} takes {names} (+ cutoff), not {value}")
            out = {n: float(v) for n, v in zip(names, value)}
            rc = value[len(names)] if len(value) > len(names) else None
        bad = [n for n, v in out.items() if not np.isfinite(v)]
        if bad:
            raise ValueError(f"{type(self).__name__} pair {key}: {bad} not finite")
        if rc is None:
            if self.default_cutoff is None:
                raise ValueError(f"{type(self).__name__} pair {key} has no cutoff: give cutoff=")
            rc = self.default_cutoff
        out["cutoff"] = _length(rc, f"cutoff of {key}")
        self._check(out, key)
        return out

    def _check(self, params: dict, key) -> None:
        """Subclass hook: ValueError for unphysical parameters."""

    def __repr__(self) -> str:
        body = ", ".join(f"{k}: {v}" for k, v in self.pairs.items())
        return f"{type(self).__name__}({{{body}}})"

    # -- parameters per pair ------------------------------------------------------------------
    def parameters(self, species1: str, species2: str) -> dict[str, float]:
        """The parameters (and ``"cutoff"``) of the unordered pair (species1, species2)."""
        key = tuple(sorted((str(species1), str(species2))))
        if key in self.pairs:
            return self.pairs[key]
        if ANY in self.pairs:
            return self.pairs[ANY]
        known = [k for k in self.pairs]
        raise ValueError(f"{type(self).__name__} has no parameters for the species pair {key}; it knows {known}")

    def _tables(self, species):
        """Type index per atom, parameter table (nparam, nt, nt) and cutoff table (nt, nt) for ``species``."""
        names, types = np.unique(np.asarray(species, dtype=str), return_inverse=True)
        nt = len(names)
        P = np.empty((len(self.parameter_names), nt, nt))
        rc = np.empty((nt, nt))
        for a in range(nt):
            for b in range(nt):
                p = self.parameters(names[a], names[b])
                P[:, a, b] = [p[n] for n in self.parameter_names]
                rc[a, b] = p["cutoff"]
        return types.reshape(-1), P, rc

    # -- the function -------------------------------------------------------------------------
    def radial(self, r: np.ndarray, params: dict, order: int = 3) -> list[np.ndarray]:
        """[phi, phi', phi'', phi'''][:order + 1] at distances ``r`` for per-pair parameter arrays ``params``: eV,
        eV/Å, eV/Å², eV/Å³.

        Parameters
        ----------
        r : ndarray
            Pair distances, Å.
        params : dict
            Parameter name (:attr:`parameter_names`) -> array shaped like ``r``, in the units of the constructor's
            arguments (eV, Å, 1/Å).
        order : int
            Highest derivative in r returned, 0 to 3.
        """
        raise NotImplementedError

    def pair_energy(self, r, species1: str, species2: str, order: int = 0):
        """phi(r) (and derivatives up to ``order``) of one species pair, without the cutoff: eV (eV/Å^k)."""
        p = self.parameters(species1, species2)
        r = np.asarray(r, dtype=float)
        out = self.radial(r, {n: np.full(r.shape, p[n]) for n in self.parameter_names}, order)
        return out[0] if order == 0 else out

    def terms(self, crystal, order: int = 3) -> list[Terms]:
        """The pair terms of ``crystal``: every unordered pair within its species pair's cutoff once (see the module
        notes), with derivatives with respect to its relative vector up to ``order``."""
        types, P, rcut = self._tables(crystal.species)
        i, j, d, n = pairs_within(crystal.cell, crystal.positions, self.cutoff, return_cells=True)
        ti, tj = types[i], types[j]
        r2 = np.einsum("ij,ij->i", d, d)
        keep = comes_after(i, j, n) & (r2 < rcut[ti, tj] ** 2)
        i, j, d, n, ti, tj = i[keep], j[keep], d[keep], n[keep], ti[keep], tj[keep]
        r = distance(d, order)                                   # |d| and its derivatives in d
        phi = self.radial(r.value, {name: P[k, ti, tj] for k, name in enumerate(self.parameter_names)}, order)
        pairs = Terms(atoms=np.stack([i, j], axis=1), cells=np.stack([np.zeros_like(n), n], axis=1),
                      vectors=d[:, None, :].copy(), energy=phi[0])
        return [fill_terms(pairs, r.apply(*phi, *[0.0] * (3 - order)))]

    # -- LAMMPS -------------------------------------------------------------------------------
    def lammps_commands(self, elements) -> list[str]:
        """The ``pair_style`` and ``pair_coeff`` commands (``units metal``) of this potential for LAMMPS atom types
        1.. = ``elements``: every pair named explicitly with its own cutoff (no mixing)."""
        lines = [f"pair_style {self.lammps_style} {self.cutoff!r}"]
        for a in range(len(elements)):
            for b in range(a, len(elements)):
                p = self.parameters(elements[a], elements[b])
                vals = " ".join(repr(p[n]) for n in (*self.parameter_names, "cutoff"))
                lines.append(f"pair_coeff {a + 1} {b + 1} {vals}")
        return lines


def _length(value, what: str) -> float:
    v = float(value)
    if not np.isfinite(v) or v <= 0.0:
        raise ValueError(f"the {what} must be a positive length in Angstrom, not {value!r}")
    return v


class LennardJones(PairPotential):
    """Lennard-Jones, LAMMPS ``pair_style lj/cut``: phi(r) = 4 epsilon [(sigma/r)^12 - (sigma/r)^6] for r < cutoff,
    unshifted.

    Parameters
    ----------
    epsilon : float or mapping
        Well depth, eV; or a mapping {(species1, species2): (epsilon, sigma[, cutoff]) or
        {"epsilon":, "sigma":[, "cutoff":]}} for several species (key ("*", "*"): every other pair).
    sigma : float
        Zero crossing, Å (with a single ``epsilon``).
    cutoff : float
        Å; the cutoff of every pair that does not give its own (LAMMPS's global cutoff).

    Examples
    --------
    >>> ar = LennardJones(0.0104, 3.40, cutoff=8.5)
    >>> mix = LennardJones({("Ar", "Ar"): (0.0104, 3.40), ("Kr", "Kr"): (0.0140, 3.65),
    ...                     ("Ar", "Kr"): (0.0121, 3.52, 9.0)}, cutoff=8.5)
    """

    parameter_names = ("epsilon", "sigma")
    lammps_style = "lj/cut"

    def __init__(self, epsilon=None, sigma=None, cutoff=None):
        super().__init__(*self._arguments(epsilon, (sigma,), cutoff))

    def _check(self, p, key):
        if p["sigma"] <= 0.0:
            raise ValueError(f"LennardJones pair {key}: sigma must be positive, not {p['sigma']}")

    def radial(self, r, params, order=3):
        eps4, s6 = 4.0 * params["epsilon"], (params["sigma"] / r) ** 6
        s12 = s6 * s6
        out = [eps4 * (s12 - s6)]
        if order >= 1:
            out.append(eps4 * (6.0 * s6 - 12.0 * s12) / r)
        if order >= 2:
            out.append(eps4 * (156.0 * s12 - 42.0 * s6) / r ** 2)
        if order >= 3:
            out.append(eps4 * (336.0 * s6 - 2184.0 * s12) / r ** 3)
        return out


class Morse(PairPotential):
    """Morse, LAMMPS ``pair_style morse``: phi(r) = D0 [e^{-2 alpha (r - r0)} - 2 e^{-alpha (r - r0)}] for
    r < cutoff, unshifted.

    Parameters
    ----------
    D0 : float or mapping
        Well depth, eV; or {(species1, species2): (D0, alpha, r0[, cutoff]) or a mapping of them}.
    alpha : float
        Inverse width of the well, 1/Å.
    r0 : float
        Equilibrium distance, Å.
    cutoff : float
        Distance beyond which phi is zero, Å.
    """

    parameter_names = ("D0", "alpha", "r0")
    lammps_style = "morse"

    def __init__(self, D0=None, alpha=None, r0=None, cutoff=None):
        super().__init__(*self._arguments(D0, (alpha, r0), cutoff))

    def radial(self, r, params, order=3):
        D0, a = params["D0"], params["alpha"]
        x = np.exp(-a * (r - params["r0"]))
        out = [D0 * (x * x - 2.0 * x)]
        if order >= 1:
            out.append(2.0 * a * D0 * (x - x * x))
        if order >= 2:
            out.append(2.0 * a * a * D0 * (2.0 * x * x - x))
        if order >= 3:
            out.append(2.0 * a ** 3 * D0 * (x - 4.0 * x * x))
        return out


class Buckingham(PairPotential):
    """Buckingham, LAMMPS ``pair_style buck``: phi(r) = A e^{-r/rho} - C / r^6 for r < cutoff, unshifted (no
    Coulomb part: for ionic crystals add the charges' electrostatics separately).

    Parameters
    ----------
    A : float or mapping
        Prefactor of the repulsion, eV; or {(species1, species2): (A, rho, C[, cutoff]) or a mapping of them}.
    rho : float
        Decay length of the repulsion, Å.
    C : float
        Coefficient of the dispersion term C / r^6, eV Å⁶.
    cutoff : float
        Distance beyond which phi is zero, Å.
    """

    parameter_names = ("A", "rho", "C")
    lammps_style = "buck"

    def __init__(self, A=None, rho=None, C=None, cutoff=None):
        super().__init__(*self._arguments(A, (rho, C), cutoff))

    def _check(self, p, key):
        if p["rho"] <= 0.0:
            raise ValueError(f"Buckingham pair {key}: rho must be positive, not {p['rho']}")

    def radial(self, r, params, order=3):
        A, rho, C = params["A"], params["rho"], params["C"]
        x = A * np.exp(-r / rho)
        r6 = r ** -6
        out = [x - C * r6]
        if order >= 1:
            out.append(-x / rho + 6.0 * C * r6 / r)
        if order >= 2:
            out.append(x / rho ** 2 - 42.0 * C * r6 / r ** 2)
        if order >= 3:
            out.append(-x / rho ** 3 + 336.0 * C * r6 / r ** 3)
        return out


#: pair styles :func:`load_potential` (``trajmodes qha``) reads as STYLE:p1,p2,...,cutoff (LAMMPS's pair_coeff order)
PAIR_STYLES = {"lj/cut": (LennardJones, ("epsilon", "sigma")), "morse": (Morse, ("D0", "alpha", "r0")),
               "buck": (Buckingham, ("A", "rho", "C"))}
#: each parameter of :data:`PAIR_STYLES`: its unit, whether zero is allowed (else it must be positive), and what it is
_PAIR_PARAMETERS = {"epsilon": ("eV", False, "the depth of the well"), "sigma": ("A", False, "the distance where the "
                                                                                 "energy is zero"),
                    "D0": ("eV", False, "the depth of the well"), "alpha": ("1/A", False, "the well's stiffness"),
                    "r0": ("A", False, "the distance of the minimum"), "A": ("eV", True, "the repulsion"),
                    "rho": ("A", False, "the repulsion's range"), "C": ("eV A^6", True, "the dispersion"),
                    "cutoff": ("A", False, "the range")}


def load_potential(spec: str, elements=None, option: str | None = None):
    """A pair or three-body potential from a LAMMPS Stillinger-Weber file (``*.sw``; ``elements`` in the order of
    the crystal's species, default every element of the file) or a one-species pair potential written
    ``STYLE:p1,p2,...,cutoff`` with LAMMPS's ``pair_coeff`` parameters in metal units: ``lj/cut:epsilon,sigma,cutoff``,
    ``morse:D0,alpha,r0,cutoff``, ``buck:A,rho,C,cutoff``. A parameter that is not a finite number, or negative
    (zero too, but for Buckingham's A and C), is refused naming it and ``option`` (the command-line option that gave
    ``spec``, where one did)."""
    style, sep, params = str(spec).partition(":")
    if sep and style in PAIR_STYLES:
        cls, names = PAIR_STYLES[style]
        try:
            values = [float(v) for v in params.split(",")]
        except ValueError:
            values = []
        if len(values) != len(names) + 1:
            raise ValueError(f"{spec!r}: {style} takes {', '.join(names)}, cutoff (metal units), e.g. "
                             f"{style}:{','.join('P' for _ in names)},8.0")
        for name, v in zip((*names, "cutoff"), values):
            unit, zero, what = _PAIR_PARAMETERS[name]
            if not (np.isfinite(v) and (v > 0 or (zero and v == 0))):
                raise ValueError(f"{option + ' ' if option else ''}{spec}: {style}'s {name} is {v:g} {unit}, but "
                                 f"{name} ({what}) must be {'zero or ' if zero else ''}a positive number: give "
                                 f"LAMMPS' pair_coeff parameters of the potential ({', '.join(names)}, cutoff; "
                                 "metal units)")
        return cls(*values[:-1], cutoff=values[-1])
    if not os.path.exists(spec):
        raise FileNotFoundError(f"{spec}: no such potential file (give a LAMMPS .sw file, or a pair potential as "
                                f"{' or '.join(k + ':...' for k in PAIR_STYLES)})")
    if spec.endswith(".sw"):
        from trajmodes.potentials.threebody import StillingerWeber
        return StillingerWeber.from_lammps(spec, elements)
    raise ValueError(f"{spec}: not a potential trajmodes can differentiate to third order (LAMMPS .sw files, "
                     f"{', '.join(PAIR_STYLES)} pair potentials)")
