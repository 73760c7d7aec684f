"""Force constants of a chemically disordered crystal (a substitutional alloy, an isotope mixture): the virtual
crystal of its sites, and second-order constants that depend on the species of the two atoms of each pair.

**The virtual crystal.** Atoms of several species (or masses) placed at random on the sites of one lattice make a
supercell without lattice translations: the decorated cell is P1, and a fit of it would treat every atom as its own
primitive atom. Its *sites* still form the lattice. :func:`virtual_sites` finds it: the finest grouping of the
species whose relabelled supercell has lattice translations (all species on one sublattice for an fcc alloy; the
cations alone for (Ga,In)As), with the mean mass of the atoms on each primitive site. The effective constants fitted
on it are the configuration-averaged constants of the average lattice, the virtual crystal of the run that TDEP users
fit (Hellman et al., Phys. Rev. B 87, 104111 (2013) fit alloys this way). An ordered crystal with several species
(rocksalt, a perovskite) keeps its own lattice translations and is left as it is.

**Species-resolved pair constants.** In the alloy each pair block depends on what sits on its two sites:
Phi_ij = Phi^{(s_i s_j)}(orbit of ij), one 3 x 3 tensor per species pair on each pair orbit of the average lattice
(:class:`SpeciesPairBasis`). The tensor of the orbit's representative bond (i0 -> j0) with species a on i0 and b on
j0, X^{ab}, obeys the operations (R, s) of the average lattice that map the bond onto itself: those that keep its
two ends, X^{ab} = R X^{ab} R^T, and those that swap them, which relate the two orders of the species,
X^{ab} = R (X^{ba})^T R^T (the index symmetry Phi^{ab}_ij = (Phi^{ba}_ji)^T). The group average of these maps on the
(species pair, Cartesian) components is the projector onto the admissible tensors, whose range is the orbit's
basis (as :mod:`trajmodes.forceconstants.clusters` does for one species). The self term of every atom is minus the
sum of its bonds' blocks, so it depends on its neighbourhood and the acoustic sum rule holds atom by atom:

    f_i = - sum_{j != i} Phi^{(s_i s_j)}_ij (u_j - u_i).

The rows of the design matrix are linear in the parameters through one sparse operator on the displacements
(:class:`SpeciesPairKernel`), so the fit streams the frames, takes its scores, cross-validation and block-bootstrap
error bars exactly as the virtual-crystal fit (:class:`~trajmodes.forceconstants.fit.EffectiveForceConstants` with
``species_resolved=True``). The sample's own matrix (sparse, at the Gamma point of its supercell) is
:meth:`SpeciesPairBasis.sample_matrix`, and its average over the lattice translations, the constants of the virtual
crystal of this sample, :meth:`SpeciesPairBasis.to_compact`.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from trajmodes.forceconstants.blocks import NormalBlocks
from trajmodes.forceconstants.cluster_constants import cluster_keys
from trajmodes.forceconstants.clusters import (CUT_TOL, ZERO, kron_power, perm_matrices, rref_basis, sorted_clusters,
                                              symmetry_images)
from trajmodes.lattice.crystal import Crystal
from trajmodes.lattice.spglib_calls import SYMPREC
from trajmodes.resources import one_blas_thread

__all__ = ["VirtualSites", "virtual_sites", "SpeciesPairBasis", "species_pair_basis", "SpeciesPairKernel"]

#: float64 elements of the rows of one block of frames in :class:`SpeciesPairKernel`
BLOCK_ELEMENTS = 1 << 22


# -- the virtual crystal -------------------------------------------------------------------------------------------
@dataclass
class VirtualSites:
    """The virtual crystal of a disordered supercell (:func:`virtual_sites`).

    Attributes
    ----------
    supercell : Crystal
        The sample's atoms (same order, same positions) with the species of their group (``"Cu-Ni"``) and the mean
        mass of the atoms on their primitive site, amu.
    species : ndarray of str (N,)
        The sample's own species of every atom.
    masses : ndarray (N,)
        The sample's own masses, amu.
    groups : list of tuple of str
        The species that share sites, one tuple per group.
    message : str
        One line saying what was found and what is fitted.
    """

    supercell: Crystal
    species: np.ndarray
    masses: np.ndarray
    groups: list
    message: str


def _partitions(items):
    """Every partition of ``items`` into groups, the finest first."""
    items = list(items)
    if not items:
        yield []
        return
    first, rest = items[0], items[1:]
    for part in _partitions(rest):
        yield [(first,)] + part
        for g in range(len(part)):
            yield part[:g] + [(first,) + part[g]] + part[g + 1:]


def virtual_sites(supercell: Crystal, symprec: float = SYMPREC, find=None, ordered: bool | None = None
                  ) -> VirtualSites | None:
    """The virtual crystal of a supercell whose species (or masses) are disordered on the sites of a lattice, or None.

    The supercell is disordered when it has no lattice translations with its atoms told apart by species and mass,
    but has some once the atoms of some species are taken as one: the finest such grouping is taken (every grouping
    of the distinct (species, mass) types is tried, the finest first). Each group becomes one virtual species, each
    primitive site of the lattice found gets the mean mass of the atoms on it.

    Parameters
    ----------
    supercell : Crystal
        The sample (ideal sites or a noisy average).
    symprec : float
        Symmetry tolerance, Å.
    find : callable, optional
        ``find(crystal) -> (ideal Crystal, primitive Crystal)`` or a ValueError when the crystal has no lattice
        translations; default the primitive cell at ``symprec``.
    ordered : bool, optional
        Whether the decorated supercell has lattice translations, when the caller knows (False: not looked for
        again); default found with ``find``.

    Returns
    -------
    VirtualSites or None
        None for an ordered crystal (it has lattice translations as it is) and for one type of atom.
    """
    types = supercell.types
    keys = np.unique(types)
    if len(keys) < 2:
        return None

    def default_find(c):
        prim = c.primitive(symprec)
        if prim.n_atoms == c.n_atoms:
            raise ValueError("no lattice translations")
        return c, prim

    find = default_find if find is None else find
    if ordered is None:
        try:
            find(supercell)
            ordered = True
        except ValueError:
            ordered = False
    if ordered:
        return None                                              # the decorated crystal has translations
    label = {int(t): f"{supercell.species[types == t][0]}" for t in keys}
    masses = np.asarray(supercell.masses, float)
    for part in _partitions([int(t) for t in keys]):
        if len(part) == len(keys):
            continue                                             # the decorated crystal itself: tried above
        group = np.empty(len(types), dtype=np.int64)
        names = []
        for g, members in enumerate(part):
            group[np.isin(types, members)] = g
            names.append("-".join(sorted({label[t] for t in members})) if len({label[t] for t in members}) > 1
                         else label[members[0]])
        gm = np.bincount(group, weights=masses) / np.bincount(group)
        trial = Crystal(supercell.cell, supercell.positions, np.asarray(names)[group], gm[group])
        try:
            ideal, prim = find(trial)
        except ValueError:
            continue
        smap = ideal.supercell_map(prim)
        atom = np.asarray(smap.atom)
        mbar = np.bincount(atom, weights=masses) / np.bincount(atom)
        virtual = Crystal(ideal.cell, ideal.positions, trial.species, mbar[atom])
        mixed = [tuple(sorted({str(s) for s in supercell.species[np.isin(types, m)]})) for m in part]
        what = ", ".join("(" + " ".join(m) + ")" if len(m) > 1 else m[0] for m in mixed)
        isotopes = any(len(m) == 1 and len(members) > 1 for m, members in zip(mixed, part))
        kind = "species and masses" if isotopes and any(len(m) > 1 for m in mixed) else \
            "masses" if isotopes else "species"
        msg = (f"the {kind} of the {supercell.n_atoms} atoms are disordered on the sites of a lattice with "
               f"{prim.n_atoms} site(s) per primitive cell (groups {what}): fitting the virtual crystal (the "
               "configuration-averaged constants of the average lattice, the mean mass on each site); "
               "species_resolved=True fits constants per species pair")
        return VirtualSites(virtual, np.asarray(supercell.species), masses.copy(), mixed, msg)
    return None


# -- species-resolved pair constants -------------------------------------------------------------------------------
@dataclass
class SpeciesPairBasis:
    """Linear map from the parameters of the species-resolved pair constants to the blocks of every bond.

    Attributes
    ----------
    order : int
        The order of the constants: 2, pairs.
    n_prim, n_atoms : int
    p2s : ndarray (n_prim,)
        Supercell atom of each primitive atom (the rows of the compact layout).
    species : list of str
        The sample's species, in the order of their codes.
    codes : ndarray of int (N,)
        The species code of every atom of the sample.
    sites : ndarray of int (n_entries, 2)
        Bonds (k, j): primitive atom k (supercell atom ``p2s[k]``) and a supercell atom j within the cutoff, j != k's
        atom; every order of the pair, as :class:`~trajmodes.forceconstants.clusters.IFCBasis` has them.
    E : scipy.sparse.csr_matrix (n_entries * S^2 * 9, n_params)
        ``(E @ p).reshape(n_entries, S, S, 3, 3)[e, a, b]``: the block of bond e when its first atom holds species a
        and its second species b, eV/Å² (S species).
    orbit : ndarray of int (n_entries,)
        Pair orbit of the average lattice of every bond.
    representatives : ndarray of int (n_orbits, 2)
        ``sites`` row of each orbit's representative bond.
    param_orbit, param_pair : ndarray of int (n_params,)
        Orbit and species pair (a * S + b, the species of the representative's two ends) of every parameter.
    atom_class : ndarray of int (N,)
        The primitive atom of every supercell atom.
    partners : list of ndarray (n_entries_k, n_atoms_k)
        Per primitive atom k, the supercell atom each of its bonds reaches from each atom of class k.
    vectors : ndarray (n_entries, 3)
        The bond vector of every entry on the ideal sites, Å.
    """

    order: int
    cutoff: float
    n_prim: int
    n_atoms: int
    p2s: np.ndarray
    species: list
    codes: np.ndarray
    sites: np.ndarray
    E: sp.csr_matrix
    orbit: np.ndarray
    representatives: np.ndarray
    param_orbit: np.ndarray
    param_pair: np.ndarray
    atom_class: np.ndarray
    partners: list
    vectors: np.ndarray

    @property
    def n_params(self) -> int:
        return self.E.shape[1]

    @property
    def n_species(self) -> int:
        return len(self.species)

    @property
    def n_entries(self) -> int:
        return len(self.sites)

    def species_blocks(self, params) -> np.ndarray:
        """(n_entries, S, S, 3, 3) eV/Å²: every bond's block for every pair of species on its ends."""
        S = self.n_species
        return (self.E @ np.asarray(params, float)).reshape(self.n_entries, S, S, 3, 3)

    def bonds(self):
        """Every ordered bond (i, j) of the sample: atoms i, j and the row of ``E`` (block index) each takes."""
        S = self.n_species
        I, J, G = [], [], []
        for k in range(self.n_prim):
            ent = np.flatnonzero(self.sites[:, 0] == k)
            atoms = np.flatnonzero(self.atom_class == k)
            j = self.partners[k]                                               # (n_e, n_c)
            i = np.broadcast_to(atoms[None, :], j.shape)
            g = (ent[:, None] * S + self.codes[i]) * S + self.codes[j]
            I.append(i.reshape(-1))
            J.append(j.reshape(-1).astype(np.int64))
            G.append(g.reshape(-1))
        return np.concatenate(I), np.concatenate(J), np.concatenate(G)

    def pair_fractions(self) -> np.ndarray:
        """(n_entries, S, S): the fraction of the lattice translations of each bond that hold species a on its first
        atom and b on its second, in this sample."""
        S = self.n_species
        out = np.zeros((self.n_entries, S * S))
        for k in range(self.n_prim):
            ent = np.flatnonzero(self.sites[:, 0] == k)
            atoms = np.flatnonzero(self.atom_class == k)
            j = self.partners[k]
            pair = self.codes[atoms][None, :] * S + self.codes[j]
            for e_pos, e in enumerate(ent):
                out[e] = np.bincount(pair[e_pos], minlength=S * S) / len(atoms)
        return out.reshape(-1, S, S)

    def orbit_fractions(self) -> np.ndarray:
        """(n_entries, S, S): for every bond, the fraction of all the bonds of its orbit in the sample (every
        lattice translation of every member, oriented as the bond) that hold species a on the first atom and b on the
        second: the sample's pair probabilities on the orbit, c_a c_b for a large random alloy."""
        frac = self.pair_fractions()
        n_class = np.bincount(self.atom_class, minlength=self.n_prim)[self.sites[:, 0]].astype(float)
        S = self.n_species
        total = np.zeros((int(self.orbit.max()) + 1, S, S))
        np.add.at(total, self.orbit, frac * n_class[:, None, None])
        total /= np.maximum(total.sum(axis=(1, 2), keepdims=True), 1e-300)
        return total[self.orbit]

    def to_compact(self, params) -> np.ndarray:
        """The virtual crystal of the sample: the species-resolved constants of every bond averaged with the pair
        probabilities of its orbit in the sample (:meth:`orbit_fractions`), compact layout (n_prim, N, 3, 3)
        eV/Å², with the self terms that make the sum rule hold; the configuration average on the average lattice,
        with its full symmetry (the average of :meth:`sample_matrix` over the lattice translations and the members
        of each orbit)."""
        blocks = self.species_blocks(params)
        avg = np.einsum("eab,eabxy->exy", self.orbit_fractions(), blocks)
        out = np.zeros((self.n_prim, self.n_atoms, 3, 3))
        out[self.sites[:, 0], self.sites[:, 1]] = avg
        for k in range(self.n_prim):
            out[k, self.p2s[k]] = -avg[self.sites[:, 0] == k].sum(axis=0)
        return out

    def sample_matrix(self, params):
        """The sample's own second-order constants at the Gamma point of its supercell, scipy.sparse.csr_matrix
        (3N, 3N) eV/Å², rows and columns 3 i + a: every bond's block for the species on its ends, and the self term
        of every atom minus the sum of its bonds' (the sum rule atom by atom)."""
        I, J, G = self.bonds()
        blocks = (self.E @ np.asarray(params, float)).reshape(-1, 3, 3)[G]           # (n_bonds, 3, 3)
        N = self.n_atoms
        self_terms = np.zeros((N, 3, 3))
        np.add.at(self_terms, I, -blocks)
        rows = np.concatenate([I, np.arange(N)])
        cols = np.concatenate([J, np.arange(N)])
        vals = np.concatenate([blocks, self_terms])
        a = np.arange(3)
        ii = (3 * rows[:, None, None] + a[None, :, None]).repeat(3, axis=2).reshape(-1)
        jj = (3 * cols[:, None, None] + a[None, None, :]).repeat(3, axis=1).reshape(-1)
        return sp.csr_matrix((vals.reshape(-1), (ii, jj)), shape=(3 * N, 3 * N))

    def transfer(self, params, other: "SpeciesPairBasis", tol: float = 1e-3) -> np.ndarray:
        """The parameters of ``other`` (the basis of another sample on the same average lattice: another arrangement
        of the species, another supercell) that give its bonds the constants these ``params`` give the same bonds
        (same primitive atom, same bond vector within ``tol`` A, species matched by name): the species-resolved
        constants of a fit carried to any configuration. Raises ValueError for a bond or species this basis lacks."""
        blocks = self.species_blocks(params)                                 # (n_e, S, S, 3, 3)
        pos = {name: i for i, name in enumerate(self.species)}
        missing = [name for name in other.species if name not in pos]
        if missing:
            raise ValueError(f"species {', '.join(missing)} of the other sample have no constants in this fit "
                             f"(species {', '.join(self.species)})")
        idx = np.array([pos[name] for name in other.species])
        reps = np.searchsorted(cluster_keys(other.sites, other.n_atoms),
                               cluster_keys(other.representatives, other.n_atoms))
        rows, target = [], []
        So = other.n_species
        for e in reps:
            same = np.flatnonzero((self.sites[:, 0] == other.sites[e, 0])
                                  & (np.linalg.norm(self.vectors - other.vectors[e], axis=1) < tol))
            if len(same) == 0:
                raise ValueError(f"the bond {np.round(other.vectors[e], 3).tolist()} A of the other sample is not "
                                 f"within this fit's cutoff ({self.cutoff:g} A): give it a cutoff no longer")
            X = blocks[same[0]][np.ix_(idx, idx)]                             # (So, So, 3, 3)
            rows.append((e * So * So + np.arange(So * So))[:, None] * 9 + np.arange(9)[None, :])
            target.append(X.reshape(-1))
        A = other.E[np.concatenate(rows).reshape(-1)]
        p = np.linalg.lstsq((A.T @ A).toarray(), A.T @ np.concatenate(target), rcond=None)[0]
        return p

    def project_sample(self, phi) -> np.ndarray:
        """Least-squares parameters whose bonds' blocks are closest to those of a sample matrix ``phi`` (sparse or
        dense (3N, 3N), eV/Å²): the species-resolved constants of a known model (tests, analytic potentials)."""
        I, J, G = self.bonds()
        phi = sp.csr_matrix(phi)
        a = np.arange(3)
        r = (3 * I[:, None, None] + a[None, :, None]).repeat(3, axis=2).reshape(-1)
        c = (3 * J[:, None, None] + a[None, None, :]).repeat(3, axis=1).reshape(-1)
        y = np.asarray(phi[r, c]).reshape(-1)
        rows = (G[:, None] * 9 + np.arange(9)[None, :]).reshape(-1)
        A = self.E[rows]
        return np.linalg.lstsq((A.T @ A).toarray(), A.T @ y, rcond=None)[0]


def species_pair_basis(supercell: Crystal, primitive: Crystal, smap, p2s, cutoff: float, species,
                       symprec: float = SYMPREC) -> SpeciesPairBasis:
    """The :class:`SpeciesPairBasis` of the pairs within ``cutoff`` (Å) of the average lattice ``supercell`` /
    ``primitive`` (the virtual crystal's, :func:`virtual_sites`), for the sample whose atoms hold ``species`` (N,).

    The pair orbits are those of the average lattice's space group (as
    :func:`~trajmodes.forceconstants.clusters.build_basis` finds them); on each, the admissible tensors of every
    species pair come from the group average of the operations that map the representative bond onto itself, acting
    on the species of its ends too (the module docstring).
    """
    from trajmodes.forceconstants.design import partner_indices
    from trajmodes.lattice.geometry import neighbours, shortest_lattice_vector
    from trajmodes.lattice.supercell import SupercellMap
    from trajmodes.lattice.symmetry import supercell_operations
    p2s = np.asarray(p2s, dtype=np.int64)
    names, codes = np.unique(np.asarray(species, dtype=str), return_inverse=True)
    codes = codes.reshape(-1).astype(np.int64)
    if len(codes) != supercell.n_atoms:
        raise ValueError(f"{len(codes)} species for a supercell of {supercell.n_atoms} atoms: give one per atom")
    S = len(names)
    n, N = primitive.n_atoms, supercell.n_atoms
    cell = supercell.cell
    cutoff = float(cutoff)
    if not np.isfinite(cutoff) or cutoff + CUT_TOL >= 0.5 * shortest_lattice_vector(cell):
        raise ValueError(f"species-resolved constants need a pair cutoff below half the shortest supercell vector "
                         f"({0.5 * shortest_lattice_vector(cell):.4g} A), not {cutoff:g} A: give cutoff2 in A")
    X = supercell.ideal_positions(primitive, smap)
    sites, vecs = [], []
    for k in range(n):
        nb, r = neighbours(X, cell, p2s[k], cutoff, tol=CUT_TOL)
        keep = nb != p2s[k]
        sites.append(np.stack([np.full(keep.sum(), k), nb[keep]], axis=1))
        vecs.append(np.stack([np.zeros((keep.sum(), 3)), r[keep]], axis=1))
    sites, vecs, keys, types = sorted_clusters(sites, vecs, smap, p2s, N)
    unit = SupercellMap(np.eye(3, dtype=np.int64), np.arange(n), np.zeros((n, 3), dtype=np.int64), np.zeros(n))
    ops = supercell_operations(primitive, unit, symprec)
    Rot, kp = ops.rotations, ops.prim_perm
    perms = [(0, 1), (1, 0)]
    M = np.einsum("oab,sbc->osac", kron_power(Rot, 2), perm_matrices(2, perms))     # (nops, 2, 9, 9)
    # the species pair a*S + b that a swap of the bond's ends reads its tensor from
    ab = np.arange(S * S)
    swapped = (ab % S) * S + ab // S
    pair_src = np.stack([ab, swapped])                                                   # (2 perms, S^2)

    images = symmetry_images(primitive, smap, p2s, keys, types, vecs, Rot, kp, perms, N, symprec, what="bond")

    def big(o, s):
        """The map x -> x' of (R, s) on the tensors of every species pair: x'^{ab} = M x^{pair_src[s, ab]}."""
        out = np.zeros((S * S * 9, S * S * 9))
        for q in range(S * S):
            src = pair_src[s, q]
            out[q * 9:(q + 1) * 9, src * 9:(src + 1) * 9] = M[o, s]
        return out

    orbit = np.full(len(sites), -1)
    rows, cols, vals, reps, porb, ppair = [], [], [], [], [], []
    ncol = 0
    dim = S * S * 9
    for e in range(len(sites)):
        if orbit[e] >= 0:
            continue
        img = images(e)
        o, s = np.nonzero(img == e)
        B = rref_basis(np.mean([big(oo, ss) for oo, ss in zip(o, s)], axis=0))       # (dim, m)
        members, first = np.unique(img.ravel(), return_index=True)
        oi, si = np.unravel_index(first, img.shape)
        orbit[members] = len(reps)
        reps.append(e)
        m = B.shape[1]
        if m == 0:
            continue
        piv = np.argmax(np.abs(B) == 1.0, axis=0)                # each parameter is one component of the representative
        porb.extend([len(reps) - 1] * m)
        ppair.extend(list(piv // 9))
        for mem, oo, ss in zip(members, oi, si):
            blk = np.einsum("ab,qbp->qap", M[oo, ss], B.reshape(S * S, 9, m)[pair_src[ss]])   # (S^2, 9, m)
            blk[np.abs(blk) < ZERO] = 0.0
            q, c, p = np.nonzero(blk)
            rows.append(mem * dim + q * 9 + c)
            cols.append(ncol + p)
            vals.append(blk[q, c, p])
        ncol += m
    E = sp.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                      shape=(len(sites) * dim, ncol))
    E.sum_duplicates()
    atom_class = np.asarray(smap.atom, dtype=np.int64)
    partners = []
    for k in range(n):
        ent = np.flatnonzero(sites[:, 0] == k)
        partners.append(partner_indices(smap, p2s, k, sites[ent, 1], np.flatnonzero(atom_class == k)))
    return SpeciesPairBasis(order=2, cutoff=cutoff, n_prim=n, n_atoms=N, p2s=p2s, species=[str(x) for x in names],
                            codes=codes, sites=sites, E=E, orbit=orbit, representatives=sites[np.asarray(reps)],
                            param_orbit=np.asarray(porb, dtype=np.int64), param_pair=np.asarray(ppair, np.int64),
                            atom_class=atom_class, partners=partners, vectors=vecs[:, 1])


class SpeciesPairKernel:
    """The design rows of the species-resolved pair constants, reduced to the normal equations as
    :class:`~trajmodes.forceconstants.design.DesignKernel` does (same interface: ``accumulate``, ``design``).

    One sparse operator W (3N P, 3N) gives the rows of every atom for a frame, A = W u: for the bond (i, j) with
    block index g (its orbit member and the species of its ends) and parameter p,
    A[(i, a), p] = - sum_b E[(g, a, b), p] (u_jb - u_ib).
    """

    def __init__(self, basis: SpeciesPairBasis):
        self.bases = [basis]
        self.p2s = np.asarray(basis.p2s, dtype=np.int64)
        self.n_atoms = basis.n_atoms
        self.n_params = basis.n_params
        self.sizes = [self.n_params]
        self.offsets = np.array([0, self.n_params])
        P, N = self.n_params, self.n_atoms
        I, J, G = basis.bonds()
        Eg = _rows_by_block(basis.E, P)                                         # (n_g, 9 P)
        lengths = np.diff(Eg.indptr)[G]
        start = np.repeat(Eg.indptr[G], lengths)
        within = np.arange(lengths.sum()) - np.repeat(np.cumsum(lengths) - lengths, lengths)
        nz = start + within
        bond = np.repeat(np.arange(len(G)), lengths)
        col, v = Eg.indices[nz], Eg.data[nz]
        c, p = col // P, col % P
        a, b = c // 3, c % 3
        r = (3 * I[bond] + a) * P + p
        W = sp.csr_matrix((np.concatenate([-v, v]),
                           (np.concatenate([r, r]), np.concatenate([3 * J[bond] + b, 3 * I[bond] + b]))),
                          shape=(3 * N * P, 3 * N))
        W.sum_duplicates()
        self.W = W
        self.block_frames = max(1, BLOCK_ELEMENTS // (3 * N * (P + 2)))

    def block_rows(self) -> int:
        """(atom, frame) rows of one block of frames, for the memory estimates."""
        return self.n_atoms * self.block_frames

    def design(self, u: np.ndarray) -> np.ndarray:
        """A (T N 3, P) for frames ``u`` (T, N, 3), rows (t, i, a)."""
        u = np.asarray(u, float).reshape(-1, 3 * self.n_atoms)
        R = (self.W @ u.T).reshape(3 * self.n_atoms, self.n_params, len(u))
        return R.transpose(2, 0, 1).reshape(-1, self.n_params)

    def accumulate(self, u: np.ndarray, f: np.ndarray, out: NormalBlocks, fold: int) -> None:
        """Add frames ``u``, ``f`` (T, N, 3) (f mean-free per frame) to block ``fold`` of ``out``."""
        P = self.n_params
        with one_blas_thread():
            S = np.zeros((P + 2, P + 2))
            for s in range(0, len(u), self.block_frames):
                ub = np.asarray(u[s:s + self.block_frames], float)
                fb = np.asarray(f[s:s + self.block_frames], float)
                Z = np.empty((len(ub) * 3 * self.n_atoms, P + 2))
                Z[:, :P] = self.design(ub)
                Z[:, P] = fb.reshape(-1)
                Z[:, P + 1] = ub.reshape(-1)
                S += Z.T @ Z
                out.n_rows[fold] += Z.shape[0]
                out.n_frames[fold] += len(ub)
        out.G[fold] += S[:P, :P]
        out.b[fold] += S[:P, P]
        out.bu[fold] += S[:P, P + 1]
        out.ff[fold] += S[P, P]


def _rows_by_block(E: sp.csr_matrix, P: int) -> sp.csr_matrix:
    """E (n_g * 9, P) as (n_g, 9 P): the nine components of a block on one row (column c * P + p)."""
    C = sp.coo_matrix(E)
    return sp.csr_matrix((C.data, (C.row // 9, (C.row % 9) * P + C.col)), shape=(E.shape[0] // 9, 9 * P))


def species_pair_table(basis: SpeciesPairBasis, params, samples=None, n_units: int | None = None):
    """The species-resolved constants of every orbit's representative bond as an xarray Dataset.

    Variables ``block`` (orbit, species_i, species_j, 3, 3) eV/Å² and, with bootstrap ``samples`` (n, P),
    ``block_err`` their standard errors (:func:`~trajmodes.forceconstants.uncertainty.bootstrap_std` over ``n_units``
    resampled segments); ``radial`` (orbit, species_i, species_j), e . X . e along the bond
    (-phi''(r) for a pair potential), and ``radial_err``; coordinates ``distance`` (orbit, Å) and ``bond``
    (orbit, 3) Å, the representative's vector; ``n_bonds`` (orbit, species_i, species_j), how many bonds of the orbit
    hold the pair in the sample. A species pair no bond of the sample holds is NaN.
    """
    import xarray as xr
    S = basis.n_species
    reps = basis.representatives
    e_rep = np.searchsorted(cluster_keys(basis.sites, basis.n_atoms), cluster_keys(reps, basis.n_atoms))
    blocks = basis.species_blocks(params)[e_rep]                                # (n_orbit, S, S, 3, 3)
    frac = basis.pair_fractions()
    count = np.zeros((len(reps), S, S))
    for o in range(len(reps)):
        count[o] = frac[basis.orbit == o].sum(axis=0) * np.bincount(basis.atom_class)[reps[o, 0]]
    vec = basis.vectors[e_rep]
    unit = vec / np.maximum(np.linalg.norm(vec, axis=1, keepdims=True), 1e-300)
    radial = np.einsum("ox,oabxy,oy->oab", unit, blocks, unit)
    absent = count == 0
    data = {"block": (("orbit", "species_i", "species_j", "a", "b"), np.where(absent[..., None, None], np.nan, blocks),
                      {"units": "eV/A^2"}),
            "radial": (("orbit", "species_i", "species_j"), np.where(absent, np.nan, radial), {"units": "eV/A^2"}),
            "n_bonds": (("orbit", "species_i", "species_j"), np.rint(count).astype(np.int64))}
    if samples is not None:
        from trajmodes.forceconstants.uncertainty import bootstrap_std
        sb = np.stack([basis.species_blocks(s)[e_rep] for s in np.atleast_2d(samples)])
        units = len(sb) if n_units is None else int(n_units)
        err = bootstrap_std(sb, units)
        rerr = bootstrap_std(np.einsum("ox,noabxy,oy->noab", unit, sb, unit), units)
        data["block_err"] = (("orbit", "species_i", "species_j", "a", "b"),
                             np.where(absent[..., None, None], np.nan, err), {"units": "eV/A^2"})
        data["radial_err"] = (("orbit", "species_i", "species_j"), np.where(absent, np.nan, rerr),
                              {"units": "eV/A^2"})
    return xr.Dataset(data, coords={"species_i": list(basis.species), "species_j": list(basis.species),
                                    "distance": ("orbit", np.linalg.norm(vec, axis=1), {"units": "A"}),
                                    "bond": (("orbit", "xyz"), vec, {"units": "A"})},
                      attrs={"description": "species-resolved pair constants Phi^{ab} of each orbit's representative "
                                            "bond (first atom species_i, second species_j)"})

