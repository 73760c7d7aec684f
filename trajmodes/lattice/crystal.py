"""Crystal: a periodic cell with species and masses, its symmetry (spglib), primitive cell and supercell map."""
from __future__ import annotations


import numpy as np

from trajmodes.lattice.elements import masses_of
from trajmodes.lattice.supercell import SupercellMap
from trajmodes.lattice.spglib_calls import SYMPREC, quiet_spglib

__all__ = ["Crystal", "masses_or_error", "SPGLIB_ATOMS"]

#: Up to this many atoms spglib finds the lattice translations of a cell (:meth:`Crystal.primitive`); above, they are
#: found in O(N log N) (:mod:`trajmodes.lattice.translations`) and spglib runs on the primitive cell only.
SPGLIB_ATOMS = 2000


def masses_or_error(species, masses=None, why: str | None = None) -> np.ndarray:
    """``masses`` (amu), or the standard masses of ``species``; a ValueError saying what to give when neither is
    known (LAMMPS types without elements): ``why``, where the caller knows it (the run's files that were looked at and
    what they lack, :attr:`~trajmodes.io.trajectories.base.FrameSource.masses_problem`), else a general one."""
    if masses is not None:
        return np.asarray(masses, dtype=float)
    found = masses_of(species)
    if found is None and why:
        raise ValueError(why)
    if found is None:
        bad = sorted({str(s) for s in np.asarray(species, dtype=str).reshape(-1) if masses_of([s]) is None})
        types = all(b.isdigit() for b in bad)
        raise ValueError(
            (f"LAMMPS type(s) {', '.join(bad)} have no element, so no mass: give the elements of the types "
             "(--species Cu, or species=['Cu'] to trajmodes.read) or their masses (--masses, masses=), or put the "
             "LAMMPS input of the run beside the dump: its mass commands, or the data file its read_data names, "
             "with a Masses section")
            if types else f"no standard mass for species {', '.join(bad)}: give masses= (amu)")
    return np.asarray(found, dtype=float)


class Crystal:
    """A periodic arrangement of atoms.

    Parameters
    ----------
    cell : array_like, shape (3, 3)
        Rows are the lattice vectors a, b, c in Å.
    positions : array_like, shape (n_atoms, 3)
        Cartesian positions in Å.
    species : sequence of str, shape (n_atoms,)
        Element symbols (or any labels; then ``masses`` is required).
    masses : array_like, shape (n_atoms,), optional
        Atomic masses in amu; by default the standard mass of each element.
    """

    def __init__(self, cell, positions, species, masses=None):
        self.cell = np.array(cell, dtype=float).reshape(3, 3)
        self.positions = np.array(positions, dtype=float).reshape(-1, 3)
        self.species = np.array(species, dtype=str).reshape(-1)
        if len(self.species) != len(self.positions):
            raise ValueError(f"{len(self.species)} species for {len(self.positions)} positions")
        self.masses = np.array(masses_or_error(self.species, masses), dtype=float).reshape(-1)
        if len(self.masses) != len(self.positions):
            raise ValueError(f"{len(self.masses)} masses for {len(self.positions)} positions")
        if abs(np.linalg.det(self.cell)) < 1e-8:
            raise ValueError("the cell is singular")
        self._datasets: dict[float, object] = {}
        self._translations: dict[float, object] = {}
        self._finder = None
        self._types = None

    @classmethod
    def from_structure(cls, structure, masses=None) -> "Crystal":
        """A crystal from a :class:`trajmodes.Structure` (positions taken relative to its origin).

        Parameters
        ----------
        structure : Structure
            With a cell (Å) and species (element symbols); positions in Å.
        masses : array_like (n,), optional
            Atomic masses, amu; default the structure's, else the elements' standard masses.
        """
        if structure.cell is None:
            raise ValueError("a structure without a cell is not a crystal")
        species = structure.species
        if species is None:
            raise ValueError("the structure has no species: set them (element symbols) first")
        if masses is None and structure.masses is not None:
            masses = structure.masses
        return cls(structure.cell, structure.positions - structure.origin, species, masses)

    def __repr__(self) -> str:
        formula = ", ".join(f"{s}{n}" for s, n in zip(*np.unique(self.species, return_counts=True)))
        return f"Crystal({self.n_atoms} atoms: {formula}; volume {self.volume:.4g} A^3)"

    def differences(self, other: "Crystal", tol: float = 1e-5) -> str | None:
        """What makes ``other`` another cell than this one: its lattice vectors, its atoms (species and order), or
        their positions (modulo the lattice, ``tol`` in Å); None when it is the same cell. Reduced q-points and
        eigenvectors of two sets of constants mean the same only on the same cell.

        Parameters
        ----------
        other : Crystal
            The cell compared.
        tol : float
            Tolerance on positions and lattice vectors, Å.
        """
        if not np.allclose(self.cell, other.cell, rtol=0, atol=tol):
            return f"other lattice vectors ({np.round(other.cell, 4).tolist()} A, not {np.round(self.cell, 4).tolist()})"
        if self.n_atoms != other.n_atoms or not np.array_equal(self.species, other.species):
            return f"other atoms ({' '.join(other.species)}, not {' '.join(self.species)})"
        d = (other.positions - self.positions) @ np.linalg.inv(self.cell)
        off = np.abs((d - np.rint(d)) @ self.cell).max()
        if off > tol:
            return f"atoms at other positions (by up to {off:.3g} A)"
        return None

    # -- geometry ---------------------------------------------------------------------------
    @property
    def n_atoms(self) -> int:
        return len(self.positions)

    @property
    def volume(self) -> float:
        """Cell volume in Å³."""
        return float(abs(np.linalg.det(self.cell)))

    @property
    def scaled_positions(self) -> np.ndarray:
        """Fractional coordinates, shape (n_atoms, 3)."""
        return self.positions @ np.linalg.inv(self.cell)

    @property
    def reciprocal_cell(self) -> np.ndarray:
        """Rows are the reciprocal vectors b1, b2, b3 in 1/Å, without 2 pi (``cell @ rec.T = I``)."""
        return np.linalg.inv(self.cell).T

    @property
    def types(self) -> np.ndarray:
        """Integer type of every atom: same species and mass, same type (spglib's numbers)."""
        kept = self._types           # kept for the species and masses it was made of (36 ms at 10^6 atoms, asked often)
        if kept is not None and kept[0] is self.species and kept[1] is self.masses:
            return kept[2]
        # the distinct (species, mass) pairs first, then their string keys in sorted order (few strings, not N)
        names, code = np.unique(self.species, return_inverse=True)
        values, mass = np.unique(np.round(self.masses, 6), return_inverse=True)
        pairs, inverse = np.unique(code.reshape(-1) * len(values) + mass.reshape(-1), return_inverse=True)
        key = np.char.add(np.char.add(names[pairs // len(values)], "|"), values[pairs % len(values)].astype(str))
        rank = np.unique(key, return_inverse=True)[1].reshape(-1)
        types = rank[inverse.reshape(-1)] + 1
        types.flags.writeable = False
        self._types = (self.species, self.masses, types)
        return types

    def spglib_cell(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(lattice, scaled_positions, numbers)`` as spglib wants it."""
        return self.cell, self.scaled_positions, self.types

    # -- symmetry ---------------------------------------------------------------------------
    def symmetry(self, symprec: float = SYMPREC):
        """spglib symmetry dataset (cached per ``symprec``, Å).

        Parameters
        ----------
        symprec : float
            spglib tolerance, Å.

        Raises
        ------
        ValueError
            If spglib cannot find the symmetry.
        """
        symprec = float(symprec)
        if symprec not in self._datasets:
            import spglib
            with quiet_spglib():
                ds = spglib.get_symmetry_dataset(self.spglib_cell(), symprec=symprec)
            if ds is None:
                raise ValueError(f"spglib found no symmetry at symprec={symprec}")
            self._datasets[symprec] = ds
        return self._datasets[symprec]

    @property
    def space_group_symbol(self) -> str:
        """International (Hermann-Mauguin) symbol at the default tolerance
        (:data:`~trajmodes.lattice.spglib_calls.SYMPREC`)."""
        return str(self.symmetry().international)

    @property
    def space_group_number(self) -> int:
        return int(self.symmetry().number)

    @property
    def rotations(self) -> np.ndarray:
        """Rotations of the space-group operations in fractional coordinates, shape (n_ops, 3, 3) int."""
        return np.asarray(self.symmetry().rotations)

    @property
    def translations(self) -> np.ndarray:
        """Fractional translations of the operations, shape (n_ops, 3)."""
        return np.asarray(self.symmetry().translations)

    # -- primitive cell and supercell map ---------------------------------------------------
    def lattice_translations(self, symprec: float = SYMPREC, max_rare: int | None = None):
        """The lattice translations of this cell within ``symprec`` (Å), cached per ``symprec``: found in
        O(N log N) without spglib (:func:`trajmodes.lattice.translations.lattice_translations`, whose KD-trees are
        built once for every tolerance). ``max_rare``: look for primitive cells of up to about this many atoms of the
        rarest species only (a scan of tolerances).

        Parameters
        ----------
        symprec : float
            Tolerance, Å.
        max_rare : int, optional
            Look for primitive cells of up to about this many atoms of the rarest species only.

        Returns
        -------
        trajmodes.lattice.translations.Translations
        """
        from trajmodes.lattice.translations import finder_of, lattice_translations
        symprec = float(symprec)
        if symprec in self._translations:
            return self._translations[symprec]
        if max_rare is not None and (symprec, max_rare) in self._translations:
            return self._translations[(symprec, max_rare)]
        if self._finder is None:
            self._finder = finder_of(self.cell, self.positions, self.types)
        found = lattice_translations(self.cell, self.positions, self.types, symprec, finder=self._finder,
                                     max_rare=max_rare)
        # a translation found within the limit is the answer without it too
        self._translations[symprec if max_rare is None or found.n_cells > 1 else (symprec, max_rare)] = found
        return found

    def take_translations(self, lattice: np.ndarray, sites: np.ndarray, symprec: float) -> None:
        """Take the lattice translations of this crystal as known, for a crystal built on the sites of a lattice (the
        ideal sites of a noisy cell): ``lattice`` (3, 3) Å, rows, a basis of its translations; ``sites`` (n_atoms,)
        the site of every atom. They are not searched for again at ``symprec`` (Å); the basis is the one spglib
        chooses on this crystal's atoms (:func:`~trajmodes.lattice.translations.spglib_choice`), as the search would
        give: 0.3 s instead of 1.3 s at 864,000 atoms.

        Parameters
        ----------
        lattice : ndarray (3, 3)
            Rows, a basis of the lattice translations, Å.
        sites : ndarray of int (n_atoms,)
            The lattice site of every atom.
        symprec : float
            The tolerance the translations stand for, Å.
        """
        from trajmodes.lattice.translations import Translations, first_order, spglib_choice
        lattice = np.asarray(lattice, dtype=float)
        sites = np.asarray(sites, dtype=np.int64).reshape(-1)
        known = Translations(lattice, np.rint(self.cell @ np.linalg.inv(lattice)).astype(np.int64),
                             first_order(sites, int(sites.max()) + 1))
        self._translations[float(symprec)] = spglib_choice(self.cell, self.positions, self.types, known,
                                                           float(symprec))

    def primitive(self, symprec: float = SYMPREC, search: str = "auto") -> "Crystal":
        """The primitive cell, in the frame and orientation of this crystal.

        The lattice is the Niggli-reduced lattice of the pure translations found within ``symprec`` with the
        handedness of ``cell``; the positions are the averages of the equivalent atoms (so thermal noise averages
        out), wrapped into the primitive cell.

        Parameters
        ----------
        symprec : float
            Tolerance in Å; raise it (1e-2 .. 1e-1) for noisy references.
        search : {"auto", "spglib", "translations"}
            How the translations are found: spglib on the whole cell (cost ~N^2: minutes at 10^5 atoms, hours at
            10^6), or :meth:`lattice_translations` (O(N log N), the same lattice; its Niggli basis may differ from
            spglib's by an operation of the lattice's point group). "auto": spglib up to :data:`SPGLIB_ATOMS`
            atoms, the translations above.
        """
        from trajmodes.lattice.geometry import niggli_reduce
        if search == "auto":
            search = "spglib" if self.n_atoms <= SPGLIB_ATOMS else "translations"
        if search == "spglib":
            ds = self.symmetry(symprec)
            lattice, groups = ds.primitive_lattice, np.asarray(ds.mapping_to_primitive)
        elif search == "translations":
            tr = self.lattice_translations(symprec)
            lattice, groups = tr.basis, tr.orbit
        else:
            raise ValueError(f"search must be 'auto', 'spglib' or 'translations', not {search!r}")
        plat = niggli_reduce(lattice)
        if np.linalg.det(plat) * np.linalg.det(self.cell) < 0:
            plat = -plat
        S = np.rint(self.cell @ np.linalg.inv(plat))
        plat = np.linalg.solve(S, self.cell)          # exactly commensurate
        n = groups.max() + 1
        by = np.argsort(groups, kind="stable")
        first = by[np.searchsorted(groups[by], np.arange(n))]
        # displacement of every atom from its group's first atom, reduced by the primitive lattice
        fr = np.einsum("ij,jk->ik", self.positions, np.linalg.inv(plat))
        d = fr - fr[first[groups]]
        d -= np.rint(d)
        count = np.bincount(groups, minlength=n)
        mean = np.stack([np.bincount(groups, weights=d[:, k], minlength=n) for k in range(3)], axis=1) / count[:, None]
        pf = fr[first] + mean
        pf -= np.floor(pf + 1e-10)
        return Crystal(plat, pf @ plat, self.species[first], self.masses[first])

    def supercell(self, matrix) -> "Crystal":
        """The supercell with lattice ``matrix @ cell``. Atoms are ordered cell by cell, this crystal's atoms in order
        within each cell, positions wrapped into the supercell.

        Parameters
        ----------
        matrix : int, 3 ints or (3, 3) int array_like
            An int (n x n x n), 3 ints for a diagonal, or a 3 x 3 integer matrix with a positive determinant.
        """
        M = np.asarray(matrix)
        M = np.diag(np.broadcast_to(M, (3,))) if M.ndim <= 1 else M
        if M.shape != (3, 3) or not np.allclose(M, np.rint(M)) or np.linalg.det(M) < 0.5:
            raise ValueError(f"a supercell matrix must be integer with a positive determinant, not {matrix!r}")
        M = np.rint(M).astype(np.int64)
        n = int(round(np.linalg.det(M)))
        # the lattice points inside the supercell: corners of the box spanned by M's rows bound the search
        corners = np.array([[i, j, k] for i in (0, 1) for j in (0, 1) for k in (0, 1)]) @ M
        lo, hi = corners.min(axis=0), corners.max(axis=0)
        g = np.stack(np.meshgrid(*[np.arange(a, b + 1) for a, b in zip(lo, hi)], indexing="ij"), -1).reshape(-1, 3)
        f = g @ np.linalg.inv(M)
        g = g[np.all((f > -1e-9) & (f < 1 - 1e-9), axis=1)]
        if len(g) != n:                                       # pragma: no cover - guards the search above
            raise RuntimeError(f"found {len(g)} lattice points in a supercell of {n} cells")
        g = g[np.lexsort(g.T[::-1])]
        cell = M @ self.cell
        pos = (g @ self.cell)[:, None, :] + self.positions[None]
        fr = pos.reshape(-1, 3) @ np.linalg.inv(cell)
        fr -= np.floor(fr + 1e-12)
        return Crystal(cell, fr @ cell, np.tile(self.species, n), np.tile(self.masses, n))

    def supercell_map(self, primitive: "Crystal", tol: float = 0.5) -> SupercellMap:
        """Map every atom of this supercell onto ``primitive``.

        Parameters
        ----------
        primitive : Crystal
            A primitive cell in the same Cartesian frame (for instance ``self.primitive()``); a
            global translation between the two is found if needed.
        tol : float
            Largest distance in Å between an atom and its ideal site (thermal noise).

        Returns
        -------
        SupercellMap

        Raises
        ------
        ValueError
            If the cells are not commensurate, or atoms cannot be placed one-to-one.
        """
        Sf = self.cell @ np.linalg.inv(primitive.cell)
        S = np.rint(Sf).astype(np.int64)
        if np.abs(Sf - S).max() > 1e-4 or round(abs(np.linalg.det(S))) == 0:
            raise ValueError(f"cell is not an integer supercell of the primitive cell (S = {np.round(Sf, 4).tolist()})")
        det = int(round(abs(np.linalg.det(S))))
        if self.n_atoms != det * primitive.n_atoms:
            raise ValueError(f"{self.n_atoms} atoms, but |det S| x n_prim = {det * primitive.n_atoms}")
        inv = np.linalg.inv(primitive.cell)
        fs = np.einsum("ij,jk->ik", self.positions, inv)
        _, code = np.unique(np.concatenate([self.species, primitive.species]), return_inverse=True)
        code = code.reshape(-1)
        same = code[:self.n_atoms, None] == code[None, self.n_atoms:]       # (N, n_prim)
        pfrac = primitive.positions @ inv
        rows = np.arange(self.n_atoms)
        P = primitive.cell
        best, why = None, "no atom of a species present in the primitive cell"
        # candidate frames: the same one, and those that put atom 0 on a primitive site of its species
        for shift in [np.zeros(3)] + [fs[0] - pfrac[k] for k in np.flatnonzero(same[0])]:
            for _ in range(2):                 # second pass: shift refined to the mean residual
                shift = shift - np.rint(shift)
                d = fs[:, None, :] - shift - pfrac[None, :, :]               # (N, n_prim, 3)
                R = np.rint(d)
                d -= R
                c = np.einsum("npj,jk->npk", d, P)
                dist = np.where(same, np.sqrt(np.einsum("npk,npk->np", c, c)), np.inf)
                atom = np.argmin(dist, axis=1)
                resid = d[rows, atom]
                shift = shift + resid.mean(axis=0)
            lat = R[rows, atom].astype(np.int64)
            dmin = dist[rows, atom]
            if dmin.max() > tol:
                why = f"an atom is {dmin.max():.3g} A from every primitive site (tol={tol})"
                continue
            m = SupercellMap(S, atom, lat, dmin, (shift - resid.mean(axis=0)) @ primitive.cell)
            if not m.one_to_one:
                why = "two atoms map onto the same site (noise larger than half a bond?)"
                continue
            if best is None or dmin.max() < best.distance.max() - 1e-9:
                best = m
        if best is None:
            raise ValueError(f"cannot map the supercell onto the primitive cell: {why}")
        return best

    def ideal_positions(self, primitive: "Crystal", smap: SupercellMap) -> np.ndarray:
        """Noise-free Cartesian positions of this supercell's atoms from ``smap``, in Å.

        Parameters
        ----------
        primitive : Crystal
            The primitive cell whose sites the positions are built from.
        smap : SupercellMap
            Each atom's primitive atom and lattice translation.
        """
        return primitive.positions[smap.atom] + smap.lattice @ primitive.cell + smap.shift
