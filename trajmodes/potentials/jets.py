"""Derivative jets: a function's value with its gradient, Hessian and third-derivative tensors at many points, with
the arithmetic and the chain rule (Faa di Bruno, to third order) that carry them through a potential's formula.

Every short-ranged term of :mod:`trajmodes.potentials` is a function of relative vectors; a pair term is phi(|d|)
(:func:`distance` then :meth:`Jet.apply`), a three-body term zeta(r1, r2, cos theta) (:mod:`trajmodes.potentials.threebody`,
M. B. Taylor, N. L. Allan, J. A. O. Bruno and G. D. Barrera, Phys. Rev. B 59, 353 (1999), eqs. 19-21).
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from trajmodes.potentials.terms import Terms

__all__ = ["Jet", "compose", "distance", "fill_terms"]


def _sym3(x: np.ndarray) -> np.ndarray:
    """a_ij b_k + a_ik b_j + a_jk b_i from x[n, i, j, k] = a_ij b_k."""
    return x + x.transpose(0, 1, 3, 2) + x.transpose(0, 3, 1, 2)


def _per_point(c, nd: int):
    """A constant (scalar, or one value per point, shape (n,)) shaped to broadcast against (n, k, ...) (nd axes)."""
    c = np.asarray(c, dtype=float)
    return c if c.ndim == 0 else c.reshape(c.shape + (1,) * nd)


class Jet:
    """A function's value and its derivatives with respect to k variables, up to third order, at n points.

    Parameters
    ----------
    value : ndarray, shape (n,)
    d1, d2, d3 : ndarray or None
        Gradient (n, k), Hessian (n, k, k) and third derivatives (n, k, k, k) (symmetric); None above the order
        carried. All operations keep the lowest order of their operands.

    Supports ``+ - * / **`` with jets, scalars and per-point constants (shape (n,)), :meth:`exp`, :meth:`sqrt`,
    :meth:`apply` (any univariate function given its derivatives) and :func:`compose` (multivariate chain rule).
    """

    __slots__ = ("value", "d1", "d2", "d3")
    __array_ufunc__ = None            # ndarray (op) Jet -> Jet's reflected operator

    def __init__(self, value, d1=None, d2=None, d3=None):
        self.value = np.asarray(value, dtype=float)
        self.d1 = d1
        self.d2 = d2 if d1 is not None else None
        self.d3 = d3 if self.d2 is not None else None

    @property
    def order(self) -> int:
        """Highest derivative carried (0..3)."""
        return 0 if self.d1 is None else 1 if self.d2 is None else 2 if self.d3 is None else 3

    @classmethod
    def variables(cls, values, order: int) -> list["Jet"]:
        """The m independent variables with values ``values`` (n, m), as jets over those m variables."""
        values = np.asarray(values, dtype=float)
        n, m = values.shape
        out = []
        for a in range(m):
            d1 = d2 = d3 = None
            if order >= 1:
                d1 = np.zeros((n, m))
                d1[:, a] = 1.0
            if order >= 2:
                d2 = np.zeros((n, m, m))
            if order >= 3:
                d3 = np.zeros((n, m, m, m))
            out.append(cls(values[:, a], d1, d2, d3))
        return out

    def parts(self) -> list[np.ndarray]:
        """The value and the derivatives it carries, lowest order first."""
        return [p for p in (self.value, self.d1, self.d2, self.d3) if p is not None]

    # -- arithmetic
    def __add__(self, other):
        if isinstance(other, Jet):
            k = min(self.order, other.order)
            return Jet(*(a + b for a, b in zip(self.parts()[:k + 1], other.parts()[:k + 1])))
        return Jet(self.value + other, self.d1, self.d2, self.d3)

    __radd__ = __add__

    def __neg__(self):
        return Jet(*(-p for p in self.parts()))

    def __sub__(self, other):
        return self + (-other)

    def __rsub__(self, other):
        return (-self) + other

    def __mul__(self, other):
        if not isinstance(other, Jet):
            return Jet(*(p * _per_point(other, p.ndim - 1) for p in self.parts()))
        f, g = self, other
        k = min(f.order, g.order)
        out = [f.value * g.value]
        if k >= 1:
            out.append(f.d1 * g.value[:, None] + f.value[:, None] * g.d1)
        if k >= 2:
            fg = np.einsum("ni,nj->nij", f.d1, g.d1)
            out.append(f.d2 * g.value[:, None, None] + f.value[:, None, None] * g.d2 + fg + fg.transpose(0, 2, 1))
        if k >= 3:
            out.append(f.d3 * g.value[:, None, None, None] + f.value[:, None, None, None] * g.d3
                       + _sym3(np.einsum("nij,nk->nijk", f.d2, g.d1)) + _sym3(np.einsum("nij,nk->nijk", g.d2, f.d1)))
        return Jet(*out)

    __rmul__ = __mul__

    def __pow__(self, p):
        p = np.asarray(p, dtype=float)
        v = self.value
        return self.apply(v ** p, p * v ** (p - 1), p * (p - 1) * v ** (p - 2), p * (p - 1) * (p - 2) * v ** (p - 3))

    def __truediv__(self, other):
        if isinstance(other, Jet):
            return self * other ** -1.0
        return self * (1.0 / np.asarray(other, dtype=float))

    def __rtruediv__(self, other):
        return self ** -1.0 * other

    def exp(self) -> "Jet":
        e = np.exp(self.value)
        return self.apply(e, e, e, e)

    def sqrt(self) -> "Jet":
        s = np.sqrt(self.value)
        return self.apply(s, 0.5 / s, -0.25 / (s * self.value), 0.375 / (s * self.value ** 2))

    def apply(self, f0, f1, f2, f3) -> "Jet":
        """h(self) for a univariate h given h, h', h'', h''' at ``self.value`` (arrays (n,) or scalars): the chain
        rule of :func:`compose` with one inner function."""
        n = len(self.value)
        out = [np.array(np.broadcast_to(f0, (n,)), dtype=float)]
        g, h, t = self.d1, self.d2, self.d3
        if g is not None:
            out.append(g * _per_point(f1, 1))
        if h is not None:
            gg = np.einsum("ni,nj->nij", g, g)
            out.append(h * _per_point(f1, 2) + gg * _per_point(f2, 2))
        if t is not None:
            out.append(t * _per_point(f1, 3) + _sym3(np.einsum("nij,nk->nijk", h, g)) * _per_point(f2, 3)
                       + np.einsum("nij,nk->nijk", gg, g) * _per_point(f3, 3))
        return Jet(*out)


def compose(outer: Jet, inner: Sequence[Jet]) -> Jet:
    """The chain rule to third order (Faa di Bruno): derivatives of Z(z(x)) in x from those of Z in z and of z in x.

    Parameters
    ----------
    outer : Jet over m variables
        Z and its partial derivatives Z^a, Z^ab, Z^abc at z(x) (Taylor et al. 1999, eq. 19).
    inner : sequence of m Jets over k variables
        The m functions z_a(x) and their derivatives.

    Returns
    -------
    Jet over k variables, to the lower of the two orders::

        E_i   = Z^a z_a,i                                                       (eq. 20)
        E_ij  = Z^a z_a,ij + Z^ab z_a,i z_b,j                                   (eq. 21)
        E_ijk = Z^a z_a,ijk + Z^ab (z_a,ij z_b,k + z_a,ik z_b,j + z_a,jk z_b,i) + Z^abc z_a,i z_b,j z_c,k
    """
    k = min([outer.order] + [z.order for z in inner])
    out = [outer.value]
    if k >= 1:
        g = np.stack([z.d1 for z in inner], axis=1)                        # (n, m, k)
        out.append(np.einsum("na,nai->ni", outer.d1, g))
    if k >= 2:
        h = np.stack([z.d2 for z in inner], axis=1)                        # (n, m, k, k)
        zg = np.einsum("nab,nbj->naj", outer.d2, g)                        # Z^ab z_b,j
        out.append(np.einsum("na,naij->nij", outer.d1, h) + np.einsum("nai,naj->nij", g, zg))
    if k >= 3:
        third = _sym3(np.einsum("naij,nak->nijk", h, zg))
        for a, z in enumerate(inner):                                     # Z^a z_a,ijk without stacking them
            third += outer.d1[:, a, None, None, None] * z.d3
        zgg = np.einsum("nabc,nbj,nck->najk", outer.d3, g, g, optimize=True)
        out.append(third + np.einsum("nai,najk->nijk", g, zgg))
    return Jet(*out)


# ---------------------------------------------------------------------------------------------------- geometry

def distance(d: np.ndarray, order: int) -> Jet:
    """r = |d| and its derivatives in the 3 components of d (n, 3): e, (1 - e e)/r,
    -(delta_ab e_c + delta_ac e_b + delta_bc e_a - 3 e_a e_b e_c)/r^2 with e = d/r."""
    r = np.sqrt(np.einsum("na,na->n", d, d))
    parts = [r]
    e = d / r[:, None]
    eye = np.eye(3)
    if order >= 1:
        parts.append(e)
    if order >= 2:
        ee = np.einsum("na,nb->nab", e, e)
        parts.append((eye - ee) / r[:, None, None])
    if order >= 3:
        de = np.einsum("ab,nc->nabc", eye, e)
        parts.append(-(_sym3(de) - 3.0 * np.einsum("nab,nc->nabc", ee, e)) / (r * r)[:, None, None, None])
    return Jet(*parts)


def fill_terms(terms: Terms, jet: Jet) -> Terms:
    """``terms`` (atoms, cells, vectors) with the energy and derivatives of ``jet`` (a jet over their 3 (m - 1)
    relative coordinates)."""
    k = 3 * (terms.order - 1)
    n = len(terms)
    shaped = [None if p is None else p.reshape((n,) + (k,) * q) for q, p in
              enumerate((jet.d1, jet.d2, jet.d3), start=1)]
    return Terms(atoms=terms.atoms, cells=terms.cells, vectors=terms.vectors, energy=jet.value, gradient=shaped[0],
                 hessian=shaped[1], third=shaped[2])
