"""Force constants on a supercell (second order, with the third and fourth when given): layouts, sum rule,
permutation and space-group symmetry, the polar conventions, and their files: :meth:`ForceConstants.read` and
:meth:`ForceConstants.write`, through the registry of formats (:mod:`trajmodes.forceconstants.formats`; this package
parses no file and imports no format)."""
from __future__ import annotations

import os

import numpy as np

from trajmodes.errors import blamed

from trajmodes.lattice.crystal import Crystal
from trajmodes.lattice.supercell import SupercellMap
from trajmodes.lattice.symmetry import SupercellOperations, supercell_operations
from trajmodes.lattice.spglib_calls import SYMPREC
from trajmodes.resources import one_blas_thread

__all__ = ["ForceConstants"]


#: the share of the nearest-neighbour distance within which :meth:`ForceConstants.folded_fc2` takes two sites for one
#: (a fit's mean sites sit a few mA from the ideal ones: 0.0088 A for quartz's O sublattice at 300 K; a quarter of the
#: nearest-neighbour distance keeps the match one to one)
FOLD_SITE_FRACTION = 0.25


class ForceConstants:
    """Harmonic force constants Phi[i, j, a, b] = d2U / du_ia du_jb on a supercell, in eV/Å².

    Parameters
    ----------
    fc2 : array_like, shape (N, N, 3, 3) or (n_prim, N, 3, 3)
        Full or compact layout (phonopy's). Row ``k`` of the compact layout is supercell atom ``p2s[k]``.
    supercell : Crystal
        The supercell the constants live on (N atoms; may be a noisy MD reference).
    primitive : Crystal, optional
        Its primitive cell; found with spglib (``symprec``) if not given.
    smap : SupercellMap, optional
        ``supercell.supercell_map(primitive)`` if not given.
    p2s : array_like of int, shape (n_prim,), optional
        Supercell index of every primitive atom (rows of the compact layout); by default the
        first supercell atom of each primitive atom.
    symprec : float
        spglib tolerance (Å) used when ``primitive`` is not given.
    born : array_like, shape (n_prim, 3, 3), optional
        Born effective charges of the primitive atoms in units of e, ``born[k, E, u]`` (field
        direction E, displacement u: phonopy's BORN convention). For polar crystals; with ``epsilon``
        they switch on the non-analytic correction in :class:`trajmodes.Phonons`. Checked by
        :func:`~trajmodes.forceconstants.dipole.check_born` (one tensor per primitive atom, finite, the
        charge-neutrality sum rule: a small violation corrected with a warning, a large one refused).
    epsilon : array_like, shape (3, 3), optional
        High-frequency (electronic) dielectric tensor: symmetric (to printed digits) and positive definite.
    nac_factor : float, optional
        e^2 / (4 pi eps0) in eV Å to use with ``born`` and ``epsilon`` when a file names its own
        (phonopy's BORN first line or ``nac: unit_conversion_factor``); None: the default
        :data:`trajmodes.phonons.harmonic.nac.NAC_FACTOR`. :class:`trajmodes.Phonons` takes it unless told otherwise.
    fc3 : ClusterConstants or (sites, blocks) or array_like (n_prim, N, N, 3, 3, 3) or (N, N, N, 3, 3, 3), optional
        Third-order constants Psi[i, j, k, a, b, c] = d3U / du_ia du_jb du_kc in eV/Å³: as their triplets
        (:class:`~trajmodes.forceconstants.cluster_constants.ClusterConstants` of order 3 on this supercell, or its
        ``sites`` (T, 3: primitive atom, then two supercell atoms) and ``blocks`` (T, 3, 3, 3) arrays; each triplet
        once, in any order), or dense in the compact layout (phono3py's: row ``k`` is supercell atom ``p2s[k]``; a full
        array is cut down to its ``p2s`` rows). Kept as triplets, attribute ``fc3_sparse`` (None when not given);
        attribute ``fc3`` is the dense compact array, built on first access (216 n_prim N^2 bytes: said above 1 GB,
        refused above half the memory available).
    short_range : bool
        With ``born``: the constants are short-ranged, the dipole-dipole part Phi_dd (the reciprocal-space Ewald sum
        of Gonze and Lee, Phys. Rev. B 55, 10355 (1997), with parameter ``ewald_lambda``) taken out, as TDEP fits
        them (``extract_forceconstants --polar``) and :class:`~trajmodes.EffectiveForceConstants` does with
        ``born=``. :class:`trajmodes.Phonons` then adds the dipole-dipole D(q) back at every q. False (default):
        full supercell constants, phonopy's convention. :meth:`with_convention` converts between the two.
    fc4 : ClusterConstants or (sites, blocks) or array_like, optional
        Fourth-order constants Chi = d4U / du du du du in eV/Å⁴ as their quartets
        (:class:`~trajmodes.forceconstants.cluster_constants.ClusterConstants` of order 4 on this supercell, or its
        ``sites`` (Q, 4) and ``blocks`` (Q, 3, 3, 3, 3) arrays), or dense as ``fc3``. Attribute ``fc4`` (None when not
        given).
    phonon_fc2 : ForceConstants, optional
        Second-order constants of the same primitive cell on another, usually larger, supercell, for the phonons that
        the third order scatters (phono3py's ``--dim-fc2``: fc2 on 4x4x4, fc3 on 2x2x2). ``Phonons(fc)`` still uses
        ``fc2``; :class:`~trajmodes.phonons.anharmonic.anharmonic.Anharmonic` takes its phonons from ``phonon_fc2``. Constants
        whose primitive cell is another cell of the same crystal (another basis of the same lattice, the atoms in
        another order or origin) are put on this one (:meth:`on_primitive`); those of another crystal are refused.
    ewald_lambda : float, optional
        For ``short_range``: the Ewald parameter Phi_dd was made with, 1/Å *with* 2 pi (the Gaussian is
        exp(-K.eps.K / 4 lambda^2), K with 2 pi; TDEP's lambda in 1/bohr divided by the bohr radius in Å).
        Default: TDEP's choice for this crystal (:func:`~trajmodes.forceconstants.dipole.tdep_ewald_lambda`).
    """

    def __init__(self, fc2, supercell: Crystal, primitive: Crystal | None = None, *,
                 smap: SupercellMap | None = None, p2s=None, symprec: float = SYMPREC, born=None,
                 epsilon=None, nac_factor: float | None = None, fc3=None, short_range: bool = False,
                 ewald_lambda: float | None = None, fc4=None, phonon_fc2: "ForceConstants | None" = None):
        fc2 = np.asarray(fc2, dtype=float)
        if not np.isfinite(fc2).all():
            raise ValueError("the fc2 force constants hold NaN or infinite values")
        self.supercell = supercell
        self.primitive = primitive if primitive is not None else supercell.primitive(symprec)
        self.smap = smap if smap is not None else supercell.supercell_map(self.primitive)
        n, N = self.primitive.n_atoms, supercell.n_atoms
        if p2s is None:
            p2s = np.array([np.flatnonzero(self.smap.atom == k)[0] for k in range(n)])
        self.p2s = np.asarray(p2s, dtype=np.int64)
        if not np.array_equal(self.smap.atom[self.p2s], np.arange(n)):
            raise ValueError("p2s does not list the primitive atoms in order")
        if fc2.shape not in ((N, N, 3, 3), (n, N, 3, 3)):
            raise ValueError(f"fc2 has shape {fc2.shape}; expected ({N}, {N}, 3, 3) or ({n}, {N}, 3, 3)")
        self.fc2 = fc2
        if (born is None) != (epsilon is None):
            raise ValueError("give both born and epsilon, or neither")
        self.short_range = bool(short_range)
        self.born = self.epsilon = None
        if born is not None:
            from trajmodes.forceconstants.dipole import check_born
            self.born, self.epsilon = check_born(born, epsilon, n, where="ForceConstants(born=, epsilon=)",
                                                 correct=not self.short_range, species=self.primitive.species)
        self.nac_factor = None if nac_factor is None else float(nac_factor)
        if self.short_range and self.born is None:
            raise ValueError("short_range constants (the dipole-dipole part taken out) need the Born charges and "
                             "dielectric tensor it was made from: give born= and epsilon=")
        if self.short_range:
            from trajmodes.forceconstants.dipole import tdep_ewald_lambda
            if ewald_lambda is None:
                ewald_lambda = tdep_ewald_lambda(self.primitive, self.epsilon)
            if not (np.isfinite(ewald_lambda) and ewald_lambda > 0):
                raise ValueError(f"ewald_lambda must be a positive number (1/A, with 2 pi), not {ewald_lambda!r}")
        self.ewald_lambda = float(ewald_lambda) if self.short_range else None
        self._fc3_dense = None
        self.fc3_sparse = self._clusters(fc3, 3)
        self.fc4 = self._clusters(fc4, 4)
        if phonon_fc2 is not None:
            if not isinstance(phonon_fc2, ForceConstants):
                raise ValueError(f"phonon_fc2 must be ForceConstants, not {type(phonon_fc2).__name__}")
            other = self.primitive.differences(phonon_fc2.primitive)
            if other is not None:
                phonon_fc2 = phonon_fc2.on_primitive(self.primitive, why=other)
        self.phonon_fc2 = phonon_fc2

    def _clusters(self, value, order: int):
        """The argument ``fc3`` (``order`` 3) or ``fc4`` (4) as :class:`ClusterConstants` of this supercell, or None;
        a ValueError that names the argument and says what to give where it cannot be."""
        if value is None:
            return None
        from trajmodes.forceconstants.cluster_constants import ClusterConstants
        name, n, N = f"fc{order}", self.n_prim, self.n_atoms
        forms = (f"ClusterConstants, a tuple (sites (T, {order}), blocks (T{', 3' * order})), or the dense compact "
                 f"array ({n}{f', {N}' * (order - 1)}{', 3' * order}) or full one ({N}{f', {N}' * (order - 1)}"
                 f"{', 3' * order})")
        if isinstance(value, tuple):
            if len(value) != 2:
                raise ValueError(f"{name} as a tuple is (sites, blocks), not {len(value)} items: give {forms}")
            sites, blocks = value
            if np.size(sites) == 0 and np.size(blocks) == 0:                 # no clusters at all
                sites, blocks = np.zeros((0, order), np.int64), np.zeros((0,) + (3,) * order)
            if np.ndim(sites) == 2 and np.shape(sites)[1] != order:
                raise ValueError(f"{name}: sites has shape {np.shape(sites)}; the order-{order} constants take "
                                 f"{order} atoms per cluster (T, {order}): the primitive atom, then {order - 1} "
                                 "supercell atoms")
            try:
                value = ClusterConstants(sites, blocks, N)
            except ValueError as exc:
                raise ValueError(f"{name}: {exc}") from None
        elif not isinstance(value, ClusterConstants):
            dense = np.asarray(value)
            if dense.dtype.kind not in "iuf":
                raise ValueError(f"{name} must be {forms}; not {type(value).__name__} of {dense.dtype}")
            dense = np.asarray(dense, dtype=float)
            if dense.shape == (N,) * order + (3,) * order and N != n:
                dense = dense[self.p2s]
            if dense.shape != (n,) + (N,) * (order - 1) + (3,) * order:
                raise ValueError(f"{name} has shape {dense.shape}; give {forms}")
            if not np.isfinite(dense).all():
                raise ValueError(f"the {name} force constants hold NaN or infinite values: give finite constants")
            value = ClusterConstants.from_dense(dense)
        if value.order != order:
            raise ValueError(f"{name} takes constants of order {order}, not {value.order} (clusters of "
                             f"{value.order} atoms): give {forms}")
        if value.n_atoms != N:
            raise ValueError(f"{name} is for a {value.n_atoms}-atom supercell, these constants' supercell has {N} "
                             f"atoms: give {name} on the supercell of fc2")
        if len(value) and value.sites[:, 0].max() >= n:
            raise ValueError(f"{name} names primitive atom {int(value.sites[:, 0].max())} first in a cluster "
                             f"(sites[:, 0]), the primitive cell has {n} atoms: the first site is the primitive atom "
                             f"(0 to {n - 1}, supercell atom p2s[k]), not a supercell atom")
        return value

    # -- layouts ----------------------------------------------------------------------------
    @property
    def layout(self) -> str:
        """``"full"`` or ``"compact"``."""
        return "compact" if self.fc2.shape[0] == self.n_prim != self.n_atoms else "full"

    @property
    def n_prim(self) -> int:
        return self.primitive.n_atoms

    @property
    def n_atoms(self) -> int:
        return self.supercell.n_atoms

    @property
    def fc3(self) -> np.ndarray | None:
        """The third order as the dense compact array (n_prim, N, N, 3, 3, 3) in eV/Å³ (phono3py's layout), or None.

        Built from :attr:`fc3_sparse` on first access and kept, read-only (the constants are the triplets: change
        those): 216 n_prim N^2 bytes (3.5 GB for one primitive atom of a 4000-atom supercell, 26 GB at 10,976 atoms),
        where the triplets take kilobytes. Routes that scale (the fit, the netCDF file, the transforms of these
        constants) use :attr:`fc3_sparse`; ask whether there is a third order with ``fc3_sparse is None``."""
        if self.fc3_sparse is None:
            return None
        if self._fc3_dense is None:
            dense = self.fc3_sparse.dense(self.n_prim, what="the dense fc3 (ForceConstants.fc3)")
            dense.flags.writeable = False
            self._fc3_dense = dense
        return self._fc3_dense

    def compact_columns(self, i, j) -> np.ndarray:
        """Column index c with Phi[i, j] = compact[atom(i), c], for supercell atoms ``i``, ``j`` (broadcast).

        Parameters
        ----------
        i, j : int or array_like of int
            Indices of supercell atoms (broadcast against each other).
        """
        m = self.smap
        i, j = np.asarray(i), np.asarray(j)
        L0 = m.lattice[self.p2s]
        ci = m.atom[i]
        return m.index(m.atom[j], m.lattice[j] - m.lattice[i] + L0[ci])

    def compact(self) -> np.ndarray:
        """Force constants in the compact layout (n_prim, N, 3, 3), eV/Å²."""
        return self.fc2 if self.fc2.shape[0] == self.n_prim else self.fc2[self.p2s]

    def full(self) -> np.ndarray:
        """Force constants in the full layout (N, N, 3, 3), eV/Å² (built by lattice translation)."""
        if self.fc2.shape[0] == self.n_atoms:
            return self.fc2
        idx = np.arange(self.n_atoms)
        cols = self.compact_columns(idx[:, None], idx[None, :])
        return self.fc2[self.smap.atom[:, None], cols]

    def fold_sites(self, supercell: Crystal, tol: float | None = None):
        """Each atom of this (larger) supercell matched to the atom of ``supercell`` at its position modulo
        ``supercell``'s lattice, for :meth:`folded_fc2`.

        The two sets of sites need not be identical: a fit's supercell holds the run's mean sites (the free internal
        coordinates of its space group, a few mA from the ideal ones), the static crystal the ideal sites. An atom is
        matched to its nearest site within ``tol``; the default is :data:`FOLD_SITE_FRACTION` of the nearest-neighbour
        distance of ``supercell``'s sites, which keeps the match one to one: what folding
        needs, as the constants belong to the pair of sites whatever their offsets.

        Parameters
        ----------
        supercell : Crystal
            The smaller supercell to fold onto; its lattice must hold this one's.
        tol : float, optional
            Largest distance between an atom and the site it is matched to, Å (default as above).

        Returns
        -------
        to_small : ndarray of int (N_big,)
            The atom of ``supercell`` of each atom of this supercell.
        offset : float
            The largest distance between a matched pair, Å.
        tol : float
            The tolerance used, Å.

        Raises
        ------
        ValueError
            Where an atom has no site within ``tol`` (the largest offset and the tolerance named).
        """
        from trajmodes.lattice.geometry import nearest_neighbour_distance
        big, small = self.supercell, supercell
        Xb, Xs = np.asarray(big.positions, float), np.asarray(small.positions, float)
        cell_s = np.asarray(small.cell, float)
        d = (Xb[:, None, :] - Xs[None, :, :]) @ np.linalg.inv(cell_s)          # (N_big, N_small, 3)
        dist = np.linalg.norm((d - np.rint(d)) @ cell_s, axis=-1)
        to_small = np.argmin(dist, axis=1)
        near = dist[np.arange(len(Xb)), to_small]
        nn = nearest_neighbour_distance(cell_s, Xs)
        tol = FOLD_SITE_FRACTION * nn if tol is None else float(tol)
        offset = float(near.max())
        if offset > tol or len(Xb) % len(Xs) or (np.bincount(to_small, minlength=len(Xs)) != len(Xb) // len(Xs)).any():
            worst = int(np.argmax(near))
            raise ValueError(f"atom {worst} of the given fc2's supercell is {offset:.4g} A from the nearest atom of the "
                             f"fitted supercell (modulo its lattice), beyond the {tol:.3g} A allowed "
                             f"({FOLD_SITE_FRACTION:g} of the nearest-neighbour distance, {nn:.3g} A): the two are not "
                             "the same sites; give constants of the same crystal in the same Cartesian frame and "
                             "origin (as phonopy builds them from the run's unit cell)")
        return to_small, offset, tol

    def folded_fc2(self, supercell: Crystal, p2s) -> np.ndarray:
        """These second-order constants, of a supercell that is a multiple of ``supercell``, folded onto ``supercell``.

        The constant between atoms i and j of a periodic supercell is the sum over every periodic image of j;
        when the lattice of :attr:`supercell` is a sublattice of that of ``supercell`` (phono3py's ``--dim-fc2``:
        fc2 on 4x4x4, fc3 on 2x2x2), ``Phi_small[i, j] = sum_{j' = j mod small lattice} Phi_big[i', j']`` is exact
        (i' the big-supercell atom at the position of i). Both supercells must share the Cartesian frame and the
        origin of their atoms (as phonopy and phono3py build them from one unit cell); the sites may differ by less
        than a fraction of the nearest-neighbour distance (:meth:`fold_sites`: a fit's mean sites against the ideal
        ones).

        Parameters
        ----------
        supercell : Crystal
            The supercell to fold onto (ideal positions, Å).
        p2s : array_like of int (n_prim,)
            The rows of the compact layout wanted (atoms of ``supercell``).

        Returns
        -------
        ndarray (n_prim, N, 3, 3)
            Compact layout on ``supercell``, eV/Å².

        Raises
        ------
        ValueError
            If this supercell's lattice is not made of lattice vectors of ``supercell``, or an atom of one has no
            counterpart in the other.
        """
        big, small = self.supercell, supercell
        m = np.asarray(big.cell, float) @ np.linalg.inv(np.asarray(small.cell, float))
        if np.abs(m - np.rint(m)).max() > 1e-4:
            raise ValueError("the given fc2's supercell is not a multiple of the fitted supercell (its lattice vectors "
                             f"in the fitted supercell's basis are {np.round(m, 4).tolist()}): fc2 cannot be folded "
                             "onto it")
        to_small, _, _ = self.fold_sites(small)                               # big atom -> small atom
        rows = np.array([np.flatnonzero(to_small == i)[0] for i in np.asarray(p2s, dtype=np.int64)])   # i' of each i
        cols = self.compact_columns(rows[:, None], np.arange(big.n_atoms)[None, :])
        blocks = self.compact()[self.smap.atom[rows][:, None], cols]          # Phi_big[i', j'] (n_prim, N_big, 3, 3)
        out = np.zeros((len(rows), small.n_atoms, 3, 3))
        for k in range(len(rows)):
            np.add.at(out[k], to_small, blocks[k])
        return out

    def on_primitive(self, primitive: Crystal, why: str | None = None, tol: float = 1e-4) -> "ForceConstants":
        """These constants on another primitive cell of the same crystal: ``primitive``'s lattice vectors another basis
        of the same lattice (an integer unimodular transformation of this primitive cell's), its atoms the same up to
        their order and a lattice translation (a global translation of the crystal allowed). The supercell and every
        constant stay; the compact rows, the map of the supercell and the order of the Born charges follow
        ``primitive``, so that reduced q-points and eigenvectors mean those of ``primitive``.

        Parameters
        ----------
        primitive : Crystal
            The primitive cell to put the constants on (the same Cartesian frame).
        why : str, optional
            What differs between the two cells (:meth:`Crystal.differences`), for the message of a refusal.
        tol : float
            Largest distance (Å) of a supercell atom from its site of ``primitive``.

        Raises
        ------
        ValueError
            If ``primitive`` is not a cell of this crystal (another lattice, other atoms, other positions), saying
            what differs.
        """
        mine = self.primitive
        what = f" ({why})" if why else ""
        t = np.asarray(mine.cell, float) @ np.linalg.inv(np.asarray(primitive.cell, float))
        tr = np.rint(t)
        if np.abs(tr @ primitive.cell - mine.cell).max() > tol or round(abs(np.linalg.det(tr))) != 1:
            raise ValueError(f"the constants are of another crystal{what}: their primitive cell "
                             f"{np.round(mine.cell, 4).tolist()} A is not a basis of the lattice of "
                             f"{np.round(primitive.cell, 4).tolist()} A (in that basis its vectors are "
                             f"{np.round(t, 4).tolist()}, not an integer matrix of determinant +-1): fit or read both "
                             "on one crystal")
        if sorted(map(str, mine.species)) != sorted(map(str, primitive.species)):
            raise ValueError(f"the constants are of another crystal{what}: their primitive cell holds "
                             f"{' '.join(mine.species)}, not {' '.join(primitive.species)}")
        try:
            smap = self.supercell.supercell_map(primitive, tol=tol)
        except ValueError as exc:
            raise ValueError(f"the constants are of another crystal{what}: the atoms of their supercell do not sit on "
                             f"the sites of the given primitive cell ({exc})") from None
        n = primitive.n_atoms
        p2s = np.array([np.flatnonzero(smap.atom == k)[0] for k in range(n)])
        cols = self.compact_columns(p2s[:, None], np.arange(self.n_atoms)[None, :])
        fc2 = self.compact()[self.smap.atom[p2s][:, None], cols]
        old = self.smap.atom[p2s]                                         # this cell's atom of each new one
        # Phi_new[k, j, ..., m] = Phi[old[k], cols[k, j], ..., cols[k, m]] at every order
        back = np.empty_like(cols)
        back[np.arange(n)[:, None], cols] = np.arange(self.n_atoms)[None, :]
        new_of_old = np.argsort(old)                                      # the new primitive atom of each old one
        fc3, fc4 = (None if c is None else c.renumbered(new_of_old, back[new_of_old])
                    for c in (self.fc3_sparse, self.fc4))
        return ForceConstants(fc2, self.supercell, primitive, smap=smap, p2s=p2s,
                              born=None if self.born is None else self.born[old], epsilon=self.epsilon,
                              nac_factor=self.nac_factor, fc3=fc3, fc4=fc4, short_range=self.short_range,
                              ewald_lambda=self.ewald_lambda, phonon_fc2=self.phonon_fc2)

    def _with(self, fc2) -> "ForceConstants":
        return ForceConstants(fc2, self.supercell, self.primitive, smap=self.smap, p2s=self.p2s,
                              born=self.born, epsilon=self.epsilon, nac_factor=self.nac_factor,
                              fc3=self.fc3_sparse, fc4=self.fc4, short_range=self.short_range,
                              ewald_lambda=self.ewald_lambda, phonon_fc2=self.phonon_fc2)._sharing_fc3(self)

    def _sharing_fc3(self, other: "ForceConstants") -> "ForceConstants":
        """This object, holding the dense fc3 ``other`` has built (the same triplets), so that it is built once."""
        if self.fc3_sparse is other.fc3_sparse:
            self._fc3_dense = other._fc3_dense
        return self

    # -- polar crystals: full and short-range constants ----------------------------------------
    def dipole_constants(self, ewald_lambda: float | None = None) -> np.ndarray:
        """The dipole-dipole part Phi_dd of the supercell constants, compact (n_prim, N, 3, 3), eV/Å².

        The reciprocal-space Ewald sum of Gonze and Lee (Phys. Rev. B 55, 10355 (1997)) with the Born charges, the
        dielectric tensor and e^2 / (4 pi eps0) (``nac_factor``, default :data:`trajmodes.units.NAC_FACTOR`) of
        these constants, transformed back onto the supercell over its commensurate q
        (:func:`~trajmodes.forceconstants.dipole.dipole_supercell_constants`); ``ewald_lambda`` (1/Å, with 2 pi)
        defaults to this object's, else TDEP's choice. Full constants = short-range constants + Phi_dd.

        Parameters
        ----------
        ewald_lambda : float, optional
            The Ewald parameter, 1/Å (with 2 pi); default this object's, else TDEP's choice.
        """
        from trajmodes.forceconstants.dipole import dipole_supercell_constants, tdep_ewald_lambda
        from trajmodes.units import NAC_FACTOR
        if self.born is None:
            raise ValueError("these force constants carry no Born charges and dielectric tensor: give born= and "
                             "epsilon= (a polar crystal's dipole-dipole part is built from them)")
        born, eps = self.born, self.epsilon
        lam = ewald_lambda if ewald_lambda is not None else self.ewald_lambda
        if lam is None:
            lam = tdep_ewald_lambda(self.primitive, eps)
        return dipole_supercell_constants(self.primitive, self.smap, self.p2s, born, eps, lam,
                                          NAC_FACTOR if self.nac_factor is None else self.nac_factor)

    def with_convention(self, convention: str, ewald_lambda: float | None = None) -> "ForceConstants":
        """These constants in the ``"full"`` (phonopy's) or ``"short-range"`` (TDEP's) convention of polar crystals.

        Full = short-range + Phi_dd on the same supercell (:meth:`dipole_constants`), so the two give the same
        dynamical matrix at every commensurate q of the supercell. ``ewald_lambda`` (1/Å, with 2 pi) for a conversion
        to short-range constants (default TDEP's choice; ignored when they already are). Constants without Born
        charges have one convention only and come back as they are; fc3 is carried over unchanged.

        Parameters
        ----------
        convention : {"full", "short-range"}
            The convention wanted.
        ewald_lambda : float, optional
            Ewald parameter of the dipole-dipole sum for the short-range constants, 1/Å with 2 pi.
        """
        if convention not in ("full", "short-range"):
            raise ValueError(f"convention must be 'full' or 'short-range', not {convention!r}")
        if self.born is None or (convention == "full") != self.short_range:
            return self
        dd = self.dipole_constants(ewald_lambda if convention == "short-range" else None)
        compact = self.compact() + dd if convention == "full" else self.compact() - dd
        fc2 = compact if self.layout == "compact" else self.full_from_compact(compact)
        short = convention == "short-range"
        lam = None
        if short:
            from trajmodes.forceconstants.dipole import tdep_ewald_lambda
            lam = ewald_lambda if ewald_lambda is not None else tdep_ewald_lambda(self.primitive, self.epsilon)
        return ForceConstants(fc2, self.supercell, self.primitive, smap=self.smap, p2s=self.p2s, born=self.born,
                              epsilon=self.epsilon, nac_factor=self.nac_factor, fc3=self.fc3_sparse, fc4=self.fc4,
                              short_range=short, ewald_lambda=lam)._sharing_fc3(self)

    # -- symmetry ---------------------------------------------------------------------------
    def transposed(self) -> np.ndarray:
        """Phi[j, i]^T in the layout of ``fc2``."""
        if self.fc2.shape[0] == self.n_atoms:
            return self.fc2.transpose(1, 0, 3, 2)
        m = self.smap
        L0 = m.lattice[self.p2s]
        k = np.arange(self.n_prim)[:, None]
        partner = m.index(np.broadcast_to(k, (self.n_prim, self.n_atoms)),
                          L0[:, None, :] - m.lattice[None, :, :] + L0[m.atom][None, :, :])
        return self.fc2[m.atom[None, :], partner].transpose(0, 1, 3, 2)

    def symmetrize_permutation(self) -> "ForceConstants":
        """Copy with index-permutation symmetry Phi[i, j, a, b] = Phi[j, i, b, a] (average of the two)."""
        return self._with(0.5 * (self.fc2 + self.transposed()))

    def asr_violation(self) -> float:
        """Largest :math:`|\\sum_j \\Phi_{ij}^{ab}|` in eV/Å² (zero when the acoustic sum rule holds)."""
        return float(np.abs(self.fc2.sum(axis=1)).max())

    def symmetrize_asr(self) -> "ForceConstants":
        """Copy obeying the acoustic sum rule and permutation symmetry.

        The result is the orthogonal (least-squares) projection onto symmetric force constants
        with zero row and column sums: Phi' = Q Phi_sym Q with Q = 1 - T T^T, T the three
        uniform translations, i.e. Phi'_ij = Phi_ij - r_i - r_j^T + g with r_i the mean of row i.
        Exact in one step; lattice-translation invariance is kept.
        """
        sym = self.symmetrize_permutation().fc2
        N = self.n_atoms
        if sym.shape[0] == N:
            r = sym.mean(axis=1)                                           # (N, 3, 3)
            g = r.mean(axis=0)
            out = sym - r[:, None] - r.transpose(0, 2, 1)[None, :] + g
        else:
            r = sym.mean(axis=1)                                           # (n_prim, 3, 3), per class
            g = r.mean(axis=0)
            rt = r.transpose(0, 2, 1)
            out = sym - r[:, None] - rt[self.smap.atom][None, :] + g
        return self._with(out)

    def operations(self, symprec: float = SYMPREC) -> "SupercellOperations":
        """Space-group operations of the (ideal) supercell, as atom permutations and Cartesian rotations.

        Those of the primitive cell's space group (spglib, ``symprec`` in Å) that map the
        supercell lattice onto itself; combined with the lattice translations of the supercell they
        make its whole space group. See :func:`supercell_operations`.

        Parameters
        ----------
        symprec : float
            spglib tolerance, Å.
        """
        return supercell_operations(self.primitive, self.smap, symprec)

    def _translation_average(self) -> np.ndarray:
        """Compact constants (n_prim, N, 3, 3) averaged over the lattice translations of the supercell."""
        if self.fc2.shape[0] != self.n_atoms or self.n_atoms == self.n_prim:
            return self.compact()
        N, idx = self.n_atoms, np.arange(self.n_atoms)
        cols = self.compact_columns(idx[:, None], idx[None, :])          # Phi[i, j] -> compact[atom(i), cols]
        inv = np.empty_like(cols)
        inv[idx[:, None], cols] = idx[None, :]                          # j of compact column c, per i
        out = np.zeros((self.n_prim, N, 3, 3))
        np.add.at(out, self.smap.atom, self.fc2[idx[:, None], inv])
        return out / self.smap.n_cells

    def _images(self, compact: np.ndarray, ops: "SupercellOperations", reduce: str) -> np.ndarray:
        """R_g^T Phi[g(i), g(j)] R_g for every operation g, compact rows i = p2s: (nops, n, N, 3, 3),
        or their mean over g (``reduce="mean"``)."""
        rows = ops.perm[:, self.p2s]                                    # (nops, n): g(p2s_k)
        cols = self.compact_columns(rows[:, :, None], ops.perm[:, None, :])      # (nops, n, N)
        X = compact[self.smap.atom[rows][:, :, None], cols]             # (nops, n, N, 3, 3)
        R = ops.rotations
        if reduce == "mean":
            return np.einsum("oba,oknbc,ocd->knad", R, X, R, optimize=True) / len(R)
        return np.einsum("oba,oknbc,ocd->oknad", R, X, R, optimize=True)

    def symmetry_violation(self, symprec: float = SYMPREC) -> float:
        """Largest :math:`|R^T \\Phi_{g(i) g(j)} R - \\Phi_{ij}|` (eV/Å²) over the supercell's space group.

        Lattice translations included: a full-layout array that is not translation invariant shows.

        Parameters
        ----------
        symprec : float
            spglib tolerance, Å.
        """
        c = self.compact()
        v = float(np.abs(self._images(c, self.operations(symprec), "all") - c[None]).max())
        if self.layout == "full":
            v = max(v, float(np.abs(self.full_from_compact(c) - self.fc2).max()))
        return v

    def fc3_symmetry_violation(self, symprec: float = SYMPREC) -> tuple[float, tuple]:
        """Largest ``abs((R x R x R)^T Psi[g(i), g(j), g(k)] - Psi[i, j, k])`` (eV/Å³) of the third-order constants
        over the supercell's space group (rows i = p2s), and where: ``(violation, (operation, i, j, k))``, ``i`` a primitive
        atom, ``j``, ``k`` supercell atoms. Near round-off for constants of this crystal; of the order of the constants
        themselves for those of another crystal whose array has this one's shape (phono3py's fc3.hdf5 holds no
        structure of its own). (0, None) without ``fc3``. :meth:`cluster_symmetry_violation` of :attr:`fc3_sparse`.

        Parameters
        ----------
        symprec : float
            spglib tolerance, Å.
        """
        return self.cluster_symmetry_violation(self.fc3_sparse, symprec)

    def cluster_symmetry_violation(self, constants, symprec: float = SYMPREC) -> tuple[float, tuple]:
        """Largest ``abs((R x ... x R)^T Phi[g(i), g(j), ..., g(m)] - Phi[i, j, ..., m])`` (eV/Å^k) of constants of
        order k on this supercell (:class:`~trajmodes.forceconstants.cluster_constants.ClusterConstants`:
        :attr:`fc3_sparse`, :attr:`fc4`) over the supercell's space group (rows i = p2s), and where: ``(violation,
        (operation, i, j, ..., m))``, ``i`` a primitive atom, the others supercell atoms; (0, None) for None. From the
        clusters, without the dense array: only the clusters where either side has one can differ.

        Parameters
        ----------
        constants : ClusterConstants or None
            Constants of any order on this supercell.
        symprec : float
            spglib tolerance, Å.
        """
        if constants is None or not len(constants.sites):
            return 0.0, None
        from trajmodes.forceconstants.cluster_constants import cluster_keys
        ops = self.operations(symprec)
        N, n, k, worst, where = self.n_atoms, self.n_prim, constants.order, 0.0, None
        size, sites = 3 ** k, constants.sites
        flat = constants.blocks.reshape(len(sites), size)
        rows_per = max(1, (1 << 18) // size)                     # clusters per product: 2 MB of blocks
        own = cluster_keys(sites, N)                             # increasing: the clusters are sorted
        for g, R in enumerate(ops.rotations):
            if np.array_equal(ops.perm[g], np.arange(N)) and np.array_equal(R, np.eye(3)):
                continue                                         # the identity
            rows = ops.perm[g, self.p2s]                                            # g(p2s_i)
            cols = self.compact_columns(rows[:, None], ops.perm[g][None, :])        # (n, N)
            inv = np.empty((n, N), dtype=np.int64)
            inv[np.arange(n)[:, None], cols] = np.arange(N)[None, :]                # j of compact column c, per row
            # Phi[g(i), g(j), ...] is row m(i)'s cluster (m(i), cols[i, j], ...): each cluster of row m is the image
            # of one in row i; the operation permutes the primitive atoms, so that i is m's one preimage
            preimage = np.empty(n, dtype=np.int64)
            preimage[self.smap.atom[rows]] = np.arange(n)
            i = preimage[sites[:, 0]]
            image = cluster_keys(np.column_stack([i, inv[i[:, None], sites[:, 1:]]]), N)
            pos = np.minimum(np.searchsorted(own, image), len(own) - 1)
            hit = own[pos] == image                              # where the image has a cluster of its own to match
            K = R
            for _ in range(k - 1):
                K = np.kron(K, R)                                # [(a c e ..), (b d f ..)] = R_ab R_cd R_ef ..
            everywhere = bool(hit.all())
            for s in range(0, len(sites), rows_per):
                part = slice(s, s + rows_per)
                with one_blas_thread():                          # small products: BLAS threads cost 3x more
                    X = flat[part] @ K
                if everywhere:
                    X -= flat[pos[part]]
                else:
                    h = hit[part]
                    X[h] -= flat[pos[part][h]]
                X = np.abs(X, out=X)
                at = int(np.argmax(X))
                if X.flat[at] > worst:
                    worst, key = float(X.flat[at]), int(image[part][at // size])
                    where = (g,) + tuple(int(x) for x in np.unravel_index(key, (n,) + (N,) * (k - 1)))
            alone = np.ones(len(own), dtype=bool)                # clusters no image lands on: against zero
            alone[pos[hit]] = False
            if alone.any():
                X = np.abs(flat[alone])
                at = int(np.argmax(X))
                if X.flat[at] > worst:
                    worst, key = float(X.flat[at]), int(own[alone][at // size])
                    where = (g,) + tuple(int(x) for x in np.unravel_index(key, (n,) + (N,) * (k - 1)))
        return worst, where

    def full_from_compact(self, compact: np.ndarray) -> np.ndarray:
        """The full layout (N, N, 3, 3) of compact constants ``compact`` by lattice translation.

        Parameters
        ----------
        compact : ndarray (n_prim, N, 3, 3)
            Compact constants (rows the primitive atoms in the supercell), eV/Å².
        """
        return ForceConstants(compact, self.supercell, self.primitive, smap=self.smap, p2s=self.p2s).full()

    def symmetrize(self, symprec: float = SYMPREC, tol: float = 1e-13, max_iter: int = 10) -> "ForceConstants":
        """Copy symmetrised under the supercell's space group, with the acoustic sum rule and
        permutation symmetry.

        :math:`\\Phi'_{ij} = \\frac{1}{|G|} \\sum_g R_g^T \\Phi_{g(i) g(j)} R_g` over every operation g of the
        supercell's space group (lattice translations included, :meth:`operations`), R_g its Cartesian rotation
        and g(i) the atom it moves atom i onto; then the sum-rule and permutation projection of
        :meth:`symmetrize_asr`. The group average is the orthogonal projection onto invariant
        constants, and commutes with the sum-rule projection (the sum-rule and permutation
        conditions are themselves invariant), so one pass gives both; the pair is repeated until it
        changes nothing (``tol``, relative to the largest constant; ``max_iter`` passes at most) to
        wash out round-off. Born charges and the dielectric tensor, when present, are averaged over
        the same operations. ``fc3``, when present, is carried over unchanged.

        Parameters
        ----------
        symprec : float
            spglib tolerance (Å) for the primitive cell's space group and the atom matching.
        tol : float
            Largest change of a pass, relative to the largest constant, below which the passes stop (default 1e-13).
        max_iter : int
            Most passes (default 10).

        Returns
        -------
        ForceConstants
            In the layout of this one.
        """
        ops = self.operations(symprec)
        c = self._translation_average()
        fc = ForceConstants(c, self.supercell, self.primitive, smap=self.smap, p2s=self.p2s)
        scale = max(float(np.abs(c).max()), 1e-300)
        for _ in range(max_iter):
            new = fc._with(fc._images(fc.fc2, ops, "mean")).symmetrize_asr()
            done = np.abs(new.fc2 - fc.fc2).max() <= tol * scale
            fc = new
            if done:
                break
        born, eps = self.born, self.epsilon
        if born is not None:
            R = ops.rotations
            born = np.einsum("oba,okbc,ocd->kad", R, born[ops.prim_perm], R) / len(R)
            eps = np.einsum("oba,bc,ocd->ad", R, eps, R) / len(R)
        out = fc.fc2 if self.layout == "compact" else self.full_from_compact(fc.fc2)
        return ForceConstants(out, self.supercell, self.primitive, smap=self.smap, p2s=self.p2s,
                              born=born, epsilon=eps, nac_factor=self.nac_factor, fc3=self.fc3_sparse, fc4=self.fc4,
                              short_range=self.short_range, ewald_lambda=self.ewald_lambda)._sharing_fc3(self)

    # -- files: every format through the registry of formats (trajmodes.forceconstants.formats), which the formats'
    # package fills through its entry point; the readers return the constructor's keywords
    @classmethod
    def read(cls, path: str | os.PathLike, format: str | None = None, **options) -> "ForceConstants":
        """Force constants of any format trajmodes reads: TDEP, ShengBTE, phonopy, phono3py, hiPhive (``.fcp``,
        ``.fcs``), GPUMD or a trajmodes netCDF file, the one place every command and function reads them through.

        Parameters
        ----------
        path : path
            A file or a folder of the format's files.
        format : {"tdep", "shengbte", "phonopy", "phono3py", "netcdf", "gpumd", "hiphive"}, optional
            A name of :func:`~trajmodes.forceconstants.formats.format_names`. Default: the format the path holds
            (:func:`~trajmodes.forceconstants.formats.detect_fc_format`: from the file names).
        **options
            The format reader's options (:func:`~trajmodes.forceconstants.formats.format_options`):

            - tdep, shengbte: ``supercell`` (a Crystal, or N / three ints / a 3 x 3 matrix of unit cells), for files
              without their supercell file (``infile.ssposcar``, ``SPOSCAR``);
            - hiphive: ``supercell``, the supercell a potential (``.fcp``) is put on (a ``.fcs`` file holds its own);
            - phonopy: ``born`` (a BORN file, or False to leave the Born charges out), ``symprec``;
            - phono3py: ``fc2_filename``, ``fc3_filename``;
            - gpumd: ``primitive`` (a Crystal or a POSCAR; default ``POSCAR`` beside the files, or spglib's);
            - netcdf: ``member``, the index of a committee member whose constants the file holds beside the fit's
              (``trajmodes fit`` of a run with a committee of learned potentials); default the fit's own.

        Raises
        ------
        TypeError
            An option the format does not take (:class:`~trajmodes.errors.FormatOptionError`, also a ValueError; the
            message names the format and the options it takes).
        ValueError
            An unknown format, or a path whose format cannot be told (the message says what to pass);
            :class:`~trajmodes.errors.ForceConstantsFormatError` for a file that cannot be read as it stands.
        """
        from trajmodes.forceconstants.formats import read_keywords
        data, where = read_keywords(path, format, options)
        return cls._from_file(data, where)

    def write(self, target: str | os.PathLike, format: str | None = None, **options) -> None:
        """Write these constants in any format trajmodes writes, each in its convention (TDEP's short-range constants
        with Born charges, the others full: :meth:`with_convention`).

        Parameters
        ----------
        target : path
            The file (netcdf, hiphive) or the folder the format's files go into (the others). Not ``path``: that is
            an option of gpumd's writer.
        format : {"tdep", "shengbte", "phonopy", "phono3py", "netcdf", "gpumd", "hiphive"}, optional
            Default: the format the name ends with (``.nc``: netcdf, ``.fcs``: hiphive); the folder formats must be
            named.
        **options
            The format writer's options (:func:`~trajmodes.forceconstants.formats.format_options` with ``"write"``):

            - netcdf: ``attrs``, the provenance attributes of the file; ``members``, the constants of every member of
              a committee of learned potentials fitted to the same frames (a ``committee`` group of the file);
            - phonopy: ``fc_format`` (``"text"``: ``FORCE_CONSTANTS``, ``"hdf5"``: ``fc2.hdf5``);
            - phono3py: ``compression`` of the hdf5 files (default ``"gzip"``);
            - tdep: ``source``, named in the headers; ``tol``;
            - shengbte: ``source``, ``mesh`` and ``temperature`` (K) of ``CONTROL``, ``tol``;
            - gpumd: ``source``, ``path`` (the folder ``fcp.txt`` names; default ``target``), ``heat_current_order``;
            - hiphive: none.

        Raises
        ------
        TypeError
            An option the format does not take (:class:`~trajmodes.errors.FormatOptionError`, also a ValueError; the
            message names the format and the options it takes).
        ValueError
            An unknown format, one trajmodes does not write, or a name that says no format.
        """
        from trajmodes.forceconstants.formats import format_to_write, write_options
        fmt = format_to_write(target, format)
        options = write_options(fmt, options)
        fmt.write(self.with_convention(fmt.convention), target, **options)

    @classmethod
    def _from_file(cls, data: dict, where: str) -> "ForceConstants":
        """The constants of a reader's keywords, every inconsistency named by its file: the Born charges and the
        dielectric tensor checked first (:func:`~trajmodes.forceconstants.dipole.check_born`), named by the file they
        came from (``nac_source``, else ``where``), the rest by ``where``."""
        data = dict(data)
        fc3_source = data.pop("fc3_source", None)
        source = str(data.pop("nac_source", None) or where)
        _checked_nac(data, source)
        if data.get("phonon") is not None:
            data["phonon"] = dict(data["phonon"])
            _checked_nac(data["phonon"], str(data["phonon"].pop("nac_source", None) or source))
        with blamed(where):
            fc = cls._from_keywords(data)
        if fc3_source is not None:
            fc._refuse_foreign_fc3(str(fc3_source))
        return fc

    def _refuse_foreign_fc3(self, path: str) -> None:
        """Refuse, naming ``path``, third-order constants that the space group of this crystal changes by more than
        :data:`FOREIGN_FC3` of their largest value (:meth:`fc3_symmetry_violation`): constants of another crystal
        whose array has the shape of this one's (a file that holds no structure of its own: phono3py's fc3.hdf5)."""
        from trajmodes.errors import ForceConstantsFormatError
        cubic = self.fc3_sparse
        scale = float(np.abs(cubic.blocks).max()) if cubic is not None and cubic.blocks.size else 0.0
        if scale == 0.0:
            return
        v, where = self.fc3_symmetry_violation()
        if v <= FOREIGN_FC3 * scale:
            return
        g, i, j, k = where
        sc = self.supercell
        x0 = sc.positions[self.p2s[i]]

        def atom(a: int) -> str:
            from trajmodes.lattice.geometry import shortest_vectors
            d = float(np.linalg.norm(shortest_vectors(sc.positions[a] - x0, sc.cell)))
            return f"{a} ({sc.species[a]}, {d:.3g} A away)"
        nops = len(self.operations().rotations)
        raise ForceConstantsFormatError(
            path, f"these third-order constants are not those of the crystal beside them "
                  f"({self.primitive.n_atoms}-atom primitive cell {', '.join(map(str, self.primitive.species))}, {sc.n_atoms}-atom supercell): its "
                  f"space group ({nops} point operations) must leave them unchanged, but operation {g} changes them by "
                  f"up to {v:.3g} eV/A^3, {100 * v / scale:.0f} % of the largest constant (the constant of primitive "
                  f"atom {i} ({self.primitive.species[i]}) with supercell atoms {atom(j)} and {atom(k)}): they are of "
                  "another crystal (another structure, or another atom order) whose array has the same shape",
            fix="Give the fc3 computed with this structure (and this fc2), or the structure it was computed with")

    @classmethod
    def _from_keywords(cls, data: dict) -> "ForceConstants":
        """The constants of a reader's keywords; ``phonon`` (the keywords of an fc2 on a larger supercell, phono3py's
        ``--dim-fc2``) becomes :attr:`phonon_fc2`, folded onto these constants' supercell where they have no fc2. fc3
        and fc4 given as (sites, blocks) may list a cluster more than once (a file's images that fold onto the same
        supercell atoms; fc.nc files that kept TDEP's): their blocks are added (:meth:`ClusterConstants.summed`)."""
        data = dict(data)
        for name in ("fc3", "fc4"):
            value = data.get(name)
            if isinstance(value, tuple) and len(value) == 2 and data.get("supercell") is not None:
                from trajmodes.forceconstants.cluster_constants import ClusterConstants
                try:
                    data[name] = ClusterConstants.summed(*value, data["supercell"].n_atoms)
                except ValueError as exc:
                    raise ValueError(f"{name}: {exc}") from None
        if data.get("phonon") is not None:
            phonon = cls(**data.pop("phonon"))
            if data.get("fc2") is None:
                data["fc2"] = phonon.folded_fc2(data["supercell"], data["p2s"])
            data["phonon_fc2"] = phonon
        data.pop("phonon", None)
        return cls(**data)

    def __repr__(self) -> str:
        third = "" if self.fc3_sparse is None else \
            f", fc3 {(self.n_prim,) + (self.n_atoms,) * 2 + (3,) * 3} eV/A^3 ({len(self.fc3_sparse)} triplets)"
        if self.phonon_fc2 is not None:
            third += f"; phonons from fc2 on supercell matrix {self.phonon_fc2.smap.matrix.tolist()}"
        return (f"ForceConstants({self.layout} {self.fc2.shape}, eV/A^2{third}; {self.n_prim}-atom primitive cell, "
                f"supercell matrix {self.smap.matrix.tolist()})")


#: third-order constants read beside a structure that its space group changes by more than this fraction of their
#: largest value are refused as another crystal's (:meth:`ForceConstants._refuse_foreign_fc3`); those of the crystal
#: change by round-off, or by the noise of a fit that did not symmetrise them (percents at most)
FOREIGN_FC3 = 0.1


def _checked_nac(data: dict, source: str) -> None:
    """Replace a reader's ``born`` and ``epsilon`` by their checked forms (a small breach of the charge sum rule
    corrected with a warning that names ``source``); a ForceConstantsFormatError naming ``source`` if they cannot be
    used."""
    if data.get("born") is None or data.get("epsilon") is None or data.get("primitive") is None:
        return
    from trajmodes.forceconstants.dipole import check_born
    with blamed(source, fix=None):
        try:
            data["born"], data["epsilon"] = check_born(data["born"], data["epsilon"], data["primitive"].n_atoms,
                                                       where=source, correct=not data.get("short_range", False),
                                                       species=data["primitive"].species)
        except ValueError as exc:                    # named by the file once, as a ForceConstantsFormatError
            raise ValueError(str(exc).removeprefix(f"{source}: ")) from None
