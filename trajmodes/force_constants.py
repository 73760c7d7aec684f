"""Second-order force constants on a supercell: layouts, sum rule, permutation symmetry, file formats."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from .crystal import Crystal, SupercellMap
from .io._files import atomic_write

__all__ = ["ForceConstants"]

_PHONOPY_YAMLS = ("phonopy_params.yaml", "phonopy.yaml", "phonopy_disp.yaml")
_FC_FILES = ("FORCE_CONSTANTS", "fc2.hdf5", "force_constants.hdf5")


def _need_phonopy(what: str):
    try:
        import phonopy
    except ImportError:
        raise ImportError(f"{what} needs phonopy: pip install 'phonopy>=2.20'") from None
    return phonopy


class ForceConstants:
    """Harmonic force constants Phi[i, j, a, b] = d2U / du_ia du_jb on a supercell, in eV/A^2.

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
        spglib tolerance (Angstrom) used when ``primitive`` is not given.
    born : array_like, shape (n_prim, 3, 3), optional
        Born effective charges of the primitive atoms in units of e, ``born[k, E, u]`` (field
        direction E, displacement u: phonopy's BORN convention). For polar crystals; with ``epsilon``
        they switch on the non-analytic correction in :class:`trajmodes.Phonons`.
    epsilon : array_like, shape (3, 3), optional
        High-frequency (electronic) dielectric tensor.
    """

    def __init__(self, fc2, supercell: Crystal, primitive: Crystal | None = None, *,
                 smap: SupercellMap | None = None, p2s=None, symprec: float = 1e-3, born=None,
                 epsilon=None):
        fc2 = np.asarray(fc2, dtype=float)
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
        self.born = None if born is None else np.array(born, dtype=float).reshape(n, 3, 3)
        self.epsilon = None if epsilon is None else np.array(epsilon, dtype=float).reshape(3, 3)
        if (self.born is None) != (self.epsilon is None):
            raise ValueError("give both born and epsilon, or neither")

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

    def compact_columns(self, i, j) -> np.ndarray:
        """Column index c with Phi[i, j] = compact[atom(i), c], for supercell atoms ``i``, ``j`` (broadcast)."""
        m = self.smap
        i, j = np.asarray(i), np.asarray(j)
        L0 = m.lattice[self.p2s]
        ci = m.atom[i]
        return m.index(m.atom[j], m.lattice[j] - m.lattice[i] + L0[ci])

    def compact(self) -> np.ndarray:
        """Force constants in the compact layout (n_prim, N, 3, 3), eV/A^2."""
        return self.fc2 if self.fc2.shape[0] == self.n_prim else self.fc2[self.p2s]

    def full(self) -> np.ndarray:
        """Force constants in the full layout (N, N, 3, 3), eV/A^2 (built by lattice translation)."""
        if self.fc2.shape[0] == self.n_atoms:
            return self.fc2
        idx = np.arange(self.n_atoms)
        cols = self.compact_columns(idx[:, None], idx[None, :])
        return self.fc2[self.smap.atom[:, None], cols]

    def _with(self, fc2) -> "ForceConstants":
        return ForceConstants(fc2, self.supercell, self.primitive, smap=self.smap, p2s=self.p2s,
                              born=self.born, epsilon=self.epsilon)

    # -- symmetry ---------------------------------------------------------------------------
    def _transpose(self) -> np.ndarray:
        """Phi[j, i]^T in the layout of ``fc2``."""
        if self.fc2.shape[0] == self.n_atoms:
            return self.fc2.transpose(1, 0, 3, 2)
        m = self.smap
        j = np.arange(self.n_atoms)
        L0 = m.lattice[self.p2s]
        k = np.arange(self.n_prim)[:, None]
        partner = m.index(np.broadcast_to(k, (self.n_prim, self.n_atoms)),
                          L0[:, None, :] - m.lattice[None, :, :] + L0[m.atom][None, :, :])
        return self.fc2[m.atom[None, :], partner].transpose(0, 1, 3, 2)

    def symmetrize_permutation(self) -> "ForceConstants":
        """Copy with index-permutation symmetry Phi[i, j, a, b] = Phi[j, i, b, a] (average of the two)."""
        return self._with(0.5 * (self.fc2 + self._transpose()))

    def asr_violation(self) -> float:
        """Largest |sum_j Phi[i, j, a, b]| in eV/A^2 (zero when the acoustic sum rule holds)."""
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

    # -- phonopy ----------------------------------------------------------------------------
    @classmethod
    def from_phonopy(cls, path: str | os.PathLike) -> "ForceConstants":
        """Read phonopy force constants with their structure.

        Parameters
        ----------
        path : str or path
            A folder holding ``phonopy_params.yaml`` / ``phonopy.yaml`` / ``phonopy_disp.yaml`` and
            (unless the yaml holds them) ``FORCE_CONSTANTS`` or ``fc2.hdf5``; or one of those files.

        Notes
        -----
        Parsing is done by phonopy (``phonopy.load``), imported here only.
        """
        phonopy = _need_phonopy("ForceConstants.from_phonopy")
        p = Path(path)
        folder = p if p.is_dir() else p.parent
        yaml = p if p.is_file() and p.suffix in (".yaml", ".yml") else next(
            (folder / y for y in _PHONOPY_YAMLS if (folder / y).exists()), None)
        if yaml is None:
            raise FileNotFoundError(f"no phonopy yaml ({', '.join(_PHONOPY_YAMLS)}) in {folder}")
        fcfile = p if p.is_file() and p.name in _FC_FILES or p.suffix == ".hdf5" else next(
            (folder / f for f in _FC_FILES if (folder / f).exists()), None)
        kw = dict(is_nac=False, symmetrize_fc=False, log_level=0)
        if fcfile is not None:
            kw["force_constants_filename"] = str(fcfile)
        ph = phonopy.load(str(yaml), **kw)
        if ph.force_constants is None:
            raise ValueError(f"{yaml}: no force constants found (and no FORCE_CONSTANTS / fc2.hdf5 beside it)")
        sc = _crystal(ph.supercell)
        pr = _crystal(ph.primitive)
        return cls(np.asarray(ph.force_constants), sc, pr, p2s=np.asarray(ph.primitive.p2s_map))

    def to_phonopy(self, folder: str | os.PathLike, fc_format: str = "text") -> None:
        """Write ``phonopy_params.yaml`` and ``FORCE_CONSTANTS`` (or ``fc2.hdf5``) into ``folder``.

        The unit cell is the primitive cell and the supercell matrix is ``smap.matrix``, so phonopy
        rebuilds the same supercell (atoms in its own order; the constants are reordered to match).

        Parameters
        ----------
        fc_format : {"text", "hdf5"}
        """
        phonopy = _need_phonopy("ForceConstants.to_phonopy")
        from phonopy.file_IO import write_force_constants_to_hdf5, write_FORCE_CONSTANTS
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        pr = self.primitive
        ph = phonopy.Phonopy(_phonopy_atoms(pr), supercell_matrix=self.smap.matrix.T,
                             primitive_matrix=None)
        psc = _crystal(ph.supercell)
        pmap = psc.supercell_map(pr)
        ours = self.smap.index(pmap.atom, pmap.lattice + np.rint(
            (self.smap.shift - pmap.shift) @ np.linalg.inv(pr.cell)).astype(np.int64))
        p2s_ph = np.asarray(ph.primitive.p2s_map)
        cols = self.compact_columns(ours[p2s_ph][:, None], ours[None, :])
        fc = self.compact()[np.arange(self.n_prim)[:, None], cols]         # phonopy's compact layout
        ph.force_constants = fc
        atomic_write(folder / "phonopy_params.yaml", lambda tmp: ph.save(tmp, settings={"force_constants": False}))
        if fc_format == "hdf5":
            atomic_write(folder / "fc2.hdf5",
                         lambda tmp: write_force_constants_to_hdf5(fc, filename=tmp, p2s_map=p2s_ph))
        else:
            atomic_write(folder / "FORCE_CONSTANTS",
                         lambda tmp: write_FORCE_CONSTANTS(fc, filename=tmp, p2s_map=p2s_ph))

    # -- netCDF -----------------------------------------------------------------------------
    def to_netcdf(self, path: str | os.PathLike) -> None:
        """Write trajmodes' own netCDF4 file (atomic: a failed write leaves no partial file)."""
        import netCDF4

        def write(tmp):
            with netCDF4.Dataset(tmp, "w", format="NETCDF4") as ds:
                ds.title = "trajmodes second-order force constants"
                ds.layout = self.layout
                ds.createDimension("row", self.fc2.shape[0])
                ds.createDimension("atom", self.n_atoms)
                ds.createDimension("prim_atom", self.n_prim)
                ds.createDimension("xyz", 3)
                ds.createDimension("xyz2", 3)
                v = ds.createVariable("fc2", "f8", ("row", "atom", "xyz", "xyz2"), zlib=True)
                v.units = "eV/A^2"
                v[:] = self.fc2
                for name, c, dim in (("supercell", self.supercell, "atom"), ("primitive", self.primitive, "prim_atom")):
                    v = ds.createVariable(f"{name}_cell", "f8", ("xyz", "xyz2"))
                    v.units = "Angstrom"
                    v[:] = c.cell
                    v = ds.createVariable(f"{name}_positions", "f8", (dim, "xyz"))
                    v.units = "Angstrom"
                    v[:] = c.positions
                    v = ds.createVariable(f"{name}_masses", "f8", (dim,))
                    v.units = "amu"
                    v[:] = c.masses
                    v = ds.createVariable(f"{name}_species", str, (dim,))
                    v[:] = np.asarray(c.species, dtype=object)
                ds.createVariable("p2s", "i8", ("prim_atom",))[:] = self.p2s
                ds.createVariable("supercell_matrix", "i8", ("xyz", "xyz2"))[:] = self.smap.matrix
                ds.createVariable("map_atom", "i8", ("atom",))[:] = self.smap.atom
                ds.createVariable("map_lattice", "i8", ("atom", "xyz"))[:] = self.smap.lattice
                v = ds.createVariable("map_shift", "f8", ("xyz",))
                v.units = "Angstrom"
                v[:] = self.smap.shift
                if self.born is not None:
                    v = ds.createVariable("born", "f8", ("prim_atom", "xyz", "xyz2"))
                    v.units = "e"
                    v[:] = self.born
                    v = ds.createVariable("epsilon", "f8", ("xyz", "xyz2"))
                    v.units = "1"
                    v[:] = self.epsilon
        atomic_write(path, write)

    @classmethod
    def from_netcdf(cls, path: str | os.PathLike) -> "ForceConstants":
        """Read a file written by :meth:`to_netcdf`."""
        import netCDF4
        with netCDF4.Dataset(path) as ds:
            ds.set_auto_mask(False)
            get = lambda n: np.asarray(ds[n][:])
            cr = {name: Crystal(get(f"{name}_cell"), get(f"{name}_positions"),
                                np.asarray(ds[f"{name}_species"][:], dtype=str), get(f"{name}_masses"))
                  for name in ("supercell", "primitive")}
            smap = SupercellMap(get("supercell_matrix"), get("map_atom"), get("map_lattice"),
                                np.zeros(cr["supercell"].n_atoms), get("map_shift"))
            fc2 = get("fc2")
            p2s = get("p2s")
            born = get("born") if "born" in ds.variables else None
            eps = get("epsilon") if "epsilon" in ds.variables else None
        sc = cr["supercell"]
        smap = SupercellMap(smap.matrix, smap.atom, smap.lattice,
                            np.linalg.norm(sc.positions - sc.ideal_positions(cr["primitive"], smap), axis=1),
                            smap.shift)
        return cls(fc2, sc, cr["primitive"], smap=smap, p2s=p2s, born=born, epsilon=eps)

    def __repr__(self) -> str:
        return (f"ForceConstants({self.layout} {self.fc2.shape}, eV/A^2; {self.n_prim}-atom primitive cell, "
                f"supercell matrix {self.smap.matrix.tolist()})")


def _crystal(atoms) -> Crystal:
    """Crystal from a PhonopyAtoms."""
    return Crystal(np.asarray(atoms.cell), np.asarray(atoms.scaled_positions) @ np.asarray(atoms.cell),
                   list(atoms.symbols), np.asarray(atoms.masses))


def _phonopy_atoms(c: Crystal):
    from phonopy.structure.atoms import PhonopyAtoms
    return PhonopyAtoms(symbols=list(c.species), cell=c.cell, scaled_positions=c.scaled_positions,
                        masses=c.masses)
