"""Second- and third-order force constants on a supercell: layouts, sum rule, permutation symmetry,
file formats (netCDF, phonopy, phono3py)."""
from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from trajmodes.lattice.crystal import Crystal
from trajmodes.lattice.supercell import SupercellMap
from trajmodes.lattice.symmetry import SupercellOperations, supercell_operations
from trajmodes.errors import ForceConstantsFormatError
from trajmodes.io.files import atomic_write

__all__ = ["ForceConstants"]

_PHONOPY_YAMLS = ("phonopy_params.yaml", "phonopy.yaml", "phonopy_disp.yaml")
_FC_FILES = ("FORCE_CONSTANTS", "fc2.hdf5", "force_constants.hdf5")


def _need_phono3py(what: str):
    try:
        import phono3py
    except ImportError:
        raise ImportError(f"{what} needs phono3py: pip install phono3py") from None
    return phono3py


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
    nac_factor : float, optional
        e^2 / (4 pi eps0) in eV*A to use with ``born`` and ``epsilon`` when a file names its own
        (phonopy's BORN first line or ``nac: unit_conversion_factor``); None: the default
        :data:`trajmodes.phonons.nac.NAC_FACTOR`. :class:`trajmodes.Phonons` takes it unless told otherwise.
    fc3 : array_like, shape (n_prim, N, N, 3, 3, 3) or (N, N, N, 3, 3, 3), optional
        Third-order constants Psi[i, j, k, a, b, c] = d3U / du_ia du_jb du_kc in eV/A^3. Kept in
        the compact layout (phono3py's): row ``k`` is supercell atom ``p2s[k]``; a full array is
        cut down to its ``p2s`` rows. Attribute ``fc3`` (None when not given).
    """

    def __init__(self, fc2, supercell: Crystal, primitive: Crystal | None = None, *,
                 smap: SupercellMap | None = None, p2s=None, symprec: float = 1e-3, born=None,
                 epsilon=None, nac_factor: float | None = None, fc3=None):
        fc2 = np.asarray(fc2, dtype=float)
        for name, arr in (("fc2", fc2), ("fc3", fc3), ("born", born), ("epsilon", epsilon)):
            if arr is not None and not np.isfinite(np.asarray(arr, dtype=float)).all():
                raise ValueError(f"the {name} force constants hold NaN or infinite values" if name.startswith("fc")
                                 else f"{name} holds NaN or infinite values")
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
        self.nac_factor = None if nac_factor is None else float(nac_factor)
        if fc3 is not None:
            fc3 = np.asarray(fc3, dtype=float)
            if fc3.shape == (N, N, N, 3, 3, 3) and N != n:
                fc3 = fc3[self.p2s]
            if fc3.shape != (n, N, N, 3, 3, 3):
                raise ValueError(f"fc3 has shape {fc3.shape}; expected ({n}, {N}, {N}, 3, 3, 3) "
                                 f"or ({N}, {N}, {N}, 3, 3, 3)")
            fc3 = np.ascontiguousarray(fc3)
        self.fc3 = fc3

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
                              born=self.born, epsilon=self.epsilon, nac_factor=self.nac_factor,
                              fc3=self.fc3)

    # -- symmetry ---------------------------------------------------------------------------
    def _transpose(self) -> np.ndarray:
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

    def operations(self, symprec: float = 1e-3) -> "SupercellOperations":
        """Space-group operations of the (ideal) supercell, as atom permutations and Cartesian rotations.

        Those of the primitive cell's space group (spglib, ``symprec`` in Angstrom) that map the
        supercell lattice onto itself; combined with the lattice translations of the supercell they
        make its whole space group. See :func:`supercell_operations`.
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

    def symmetry_violation(self, symprec: float = 1e-3) -> float:
        """Largest |R^T Phi[g(i), g(j)] R - Phi[i, j]| (eV/A^2) over the supercell's space group.

        Lattice translations included: a full-layout array that is not translation invariant shows.
        """
        c = self.compact()
        v = float(np.abs(self._images(c, self.operations(symprec), "all") - c[None]).max())
        if self.layout == "full":
            v = max(v, float(np.abs(self.full_from_compact(c) - self.fc2).max()))
        return v

    def full_from_compact(self, compact: np.ndarray) -> np.ndarray:
        """The full layout (N, N, 3, 3) of compact constants ``compact`` by lattice translation."""
        return ForceConstants(compact, self.supercell, self.primitive, smap=self.smap, p2s=self.p2s).full()

    def symmetrize(self, symprec: float = 1e-3, tol: float = 1e-13, max_iter: int = 10) -> "ForceConstants":
        """Copy symmetrised under the supercell's space group, with the acoustic sum rule and
        permutation symmetry.

        Phi'_ij = (1/|G|) sum_g R_g^T Phi_{g(i) g(j)} R_g over every operation g of the supercell's
        space group (lattice translations included, :meth:`operations`), R_g its Cartesian rotation
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
            spglib tolerance (Angstrom) for the primitive cell's space group and the atom matching.

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
                              born=born, epsilon=eps, nac_factor=self.nac_factor, fc3=self.fc3)

    # -- phonopy ----------------------------------------------------------------------------
    @classmethod
    def from_phonopy(cls, path: str | os.PathLike, born: str | os.PathLike | bool | None = None,
                     symprec: float = 1e-5) -> "ForceConstants":
        """Read phonopy force constants with their structure, and the Born charges if there are any.

        Parameters
        ----------
        path : str or path
            A folder holding ``phonopy_params.yaml`` / ``phonopy.yaml`` / ``phonopy_disp.yaml`` and
            (unless the yaml holds them) ``FORCE_CONSTANTS`` or ``fc2.hdf5``; or one of those files.
        born : path, bool or None
            Non-analytic correction parameters (Born charges, dielectric tensor, factor). A path: that
            BORN file. None (default): the yaml's ``nac`` section if it has one, else a ``BORN``
            file in the folder if there is one, else none. False: none.
        symprec : float
            Tolerance (Angstrom) with which phonopy finds the symmetry-independent atoms of a BORN
            file (it lists only those; phonopy expands and symmetrises them).

        Notes
        -----
        Parsing is done by phonopy (``phonopy.load``, ``phonopy.file_IO.parse_BORN``), imported
        here only. The current directory is never searched (phonopy's own ``load`` would look for a
        BORN there).
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
        ph = _load_phonopy(phonopy, yaml, fcfile, kw)
        sc = _crystal(ph.supercell)
        pr = _crystal(ph.primitive)
        nac = None
        if born is not False:
            bfile = Path(born) if born not in (None, True) else None
            if bfile is None:
                from phonopy.interface.phonopy_yaml import PhonopyYaml
                py = PhonopyYaml()
                py.read(str(yaml))
                nac = py.nac_params
                if nac is None and (folder / "BORN").exists():
                    bfile = folder / "BORN"
                elif nac is None and born is True:
                    raise FileNotFoundError(f"no nac parameters in {yaml} and no BORN in {folder}")
            if bfile is not None:
                from phonopy.file_IO import parse_BORN
                nac = parse_BORN(ph.primitive, symprec=symprec, filename=str(bfile))
        kw = {}
        if nac is not None:
            from trajmodes.units import NAC_FACTOR
            factor = nac.get("factor")
            if factor is not None and abs(factor - NAC_FACTOR) < 5e-7:      # the default, as phonopy writes it
                factor = None
            kw = dict(born=nac["born"], epsilon=nac["dielectric"], nac_factor=factor)
        with _blamed(fcfile or yaml):
            return cls(np.asarray(ph.force_constants), sc, pr, p2s=np.asarray(ph.primitive.p2s_map), **kw)

    def to_phonopy(self, folder: str | os.PathLike, fc_format: str = "text") -> None:
        """Write ``phonopy_params.yaml`` and ``FORCE_CONSTANTS`` (or ``fc2.hdf5``) into ``folder``;
        with Born charges also ``BORN``.

        The unit cell is the primitive cell and the supercell matrix is ``smap.matrix``, so phonopy
        rebuilds the same supercell (atoms in its own order; the constants are reordered to match).
        Born charges, the dielectric tensor and the factor (``nac_factor`` or the default) go into
        the yaml's ``nac`` section as they are, every atom listed; that is what ``phonopy.load``
        and :meth:`from_phonopy` read first. ``BORN`` is for phonopy's command line: its format lists
        only the symmetry-independent atoms, so phonopy's writer symmetrises the tensors first.

        Parameters
        ----------
        fc_format : {"text", "hdf5"}
        """
        phonopy = _need_phonopy("ForceConstants.to_phonopy")
        from phonopy.file_IO import write_force_constants_to_hdf5, write_FORCE_CONSTANTS
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        ph = phonopy.Phonopy(_phonopy_atoms(self.primitive), supercell_matrix=self.smap.matrix.T,
                             primitive_matrix=None)
        cols, p2s_ph = self._phonopy_columns(ph.supercell, ph.primitive)
        fc = self.compact()[np.arange(self.n_prim)[:, None], cols]         # phonopy's compact layout
        ph.force_constants = fc
        if self.born is not None:
            from phonopy.file_IO import get_BORN_lines
            from trajmodes.units import NAC_FACTOR
            factor = NAC_FACTOR if self.nac_factor is None else self.nac_factor
            ph.nac_params = {"born": self.born, "dielectric": self.epsilon, "factor": factor}
            lines = get_BORN_lines(ph.primitive, self.born, self.epsilon)
            lines[0] = f"{factor!r}  {lines[0]}" if self.nac_factor is not None else lines[0]

            def write_born(tmp):
                with open(tmp, "w") as f:
                    f.write("\n".join(lines) + "\n")
            atomic_write(folder / "BORN", write_born)
        atomic_write(folder / "phonopy_params.yaml", lambda tmp: ph.save(tmp, settings={"force_constants": False}))
        if fc_format == "hdf5":
            atomic_write(folder / "fc2.hdf5",
                         lambda tmp: write_force_constants_to_hdf5(fc, filename=tmp, p2s_map=p2s_ph))
        else:
            atomic_write(folder / "FORCE_CONSTANTS",
                         lambda tmp: write_FORCE_CONSTANTS(fc, filename=tmp, p2s_map=p2s_ph))

    def _phonopy_columns(self, supercell, primitive) -> tuple[np.ndarray, np.ndarray]:
        """Compact columns ``cols`` (n_prim, N) taking our compact layout to phonopy's for the
        supercell phonopy built (atoms in its own order), and phonopy's ``p2s_map``.

        phonopy's compact[k, j'] = ours[k, cols[k, j']]; its primitive atoms are ours, in order
        (unit cell = our primitive cell, primitive matrix the identity)."""
        pr = self.primitive
        psc = _crystal(supercell)
        pmap = psc.supercell_map(pr)
        ours = self.smap.index(pmap.atom, pmap.lattice + np.rint(
            (self.smap.shift - pmap.shift) @ np.linalg.inv(pr.cell)).astype(np.int64))
        p2s_ph = np.asarray(primitive.p2s_map)
        if not np.array_equal(self.smap.atom[ours[p2s_ph]], np.arange(self.n_prim)):
            raise RuntimeError("phonopy's primitive atoms are not ours, in order")
        return self.compact_columns(ours[p2s_ph][:, None], ours[None, :]), p2s_ph

    # -- phono3py ---------------------------------------------------------------------------
    def to_phono3py(self, folder: str | os.PathLike, compression: str | None = "gzip") -> None:
        """Write ``phono3py_params.yaml``, ``fc2.hdf5`` and (when ``fc3`` is set) ``fc3.hdf5`` into
        ``folder``, in phono3py's compact layouts and its own supercell atom order.

        The yaml holds the unit cell (our primitive cell), the supercell matrix (``smap.matrix``;
        the same one for fc2 and fc3) and the identity primitive matrix, so that::

            ph3 = phono3py.load(folder / "phono3py_params.yaml", fc2_filename=folder / "fc2.hdf5",
                                fc3_filename=folder / "fc3.hdf5", symmetrize_fc=False)

        rebuilds the same supercell and takes the constants as they are (phono3py looks for
        ``fc2.hdf5`` / ``fc3.hdf5`` in the current directory unless told the file names). Born
        charges and the dielectric tensor go into the yaml. fc2 in eV/A^2, fc3 in eV/A^3; the files
        carry ``p2s_map``. Written with phono3py's own writers (needs ``phono3py``).
        """
        phono3py = _need_phono3py("ForceConstants.to_phono3py")
        from phono3py.file_IO import write_fc2_to_hdf5, write_fc3_to_hdf5
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        ph3 = phono3py.Phono3py(_phonopy_atoms(self.primitive), supercell_matrix=self.smap.matrix.T,
                                primitive_matrix=np.eye(3), log_level=0)
        cols, p2s = self._phonopy_columns(ph3.supercell, ph3.primitive)
        k = np.arange(self.n_prim)[:, None]
        fc2 = np.ascontiguousarray(self.compact()[k, cols])
        if self.born is not None:
            from trajmodes.units import NAC_FACTOR
            factor = NAC_FACTOR if self.nac_factor is None else self.nac_factor
            ph3.nac_params = {"born": self.born, "dielectric": self.epsilon, "factor": factor}
        atomic_write(folder / "phono3py_params.yaml", lambda tmp: ph3.save(tmp))
        atomic_write(folder / "fc2.hdf5", lambda tmp: write_fc2_to_hdf5(
            fc2, filename=tmp, p2s_map=p2s, physical_unit="eV/angstrom^2", compression=compression))
        if self.fc3 is not None:
            fc3 = np.ascontiguousarray(self.fc3[k[:, :, None], cols[:, :, None], cols[:, None, :]])
            atomic_write(folder / "fc3.hdf5", lambda tmp: write_fc3_to_hdf5(
                fc3, filename=tmp, p2s_map=p2s, compression=compression))

    @classmethod
    def from_phono3py(cls, path: str | os.PathLike, fc2_filename: str | os.PathLike | None = None,
                      fc3_filename: str | os.PathLike | None = None) -> "ForceConstants":
        """Read phono3py's fc2 (and fc3 when there is one) with the structure of its yaml.

        Parameters
        ----------
        path : str or path
            A folder holding ``phono3py_params.yaml`` / ``phono3py.yaml`` / ``phono3py_disp.yaml``
            and ``fc2.hdf5`` (and ``fc3.hdf5``), or the yaml itself.
        fc2_filename, fc3_filename : path, optional
            The hdf5 files; default ``fc2.hdf5`` / ``fc3.hdf5`` beside the yaml.

        Only one supercell is supported: a yaml with a different phonon (fc2) supercell matrix is
        refused. The constants come in phono3py's supercell order; Born charges are read from the
        yaml.
        """
        phono3py = _need_phono3py("ForceConstants.from_phono3py")
        p = Path(path)
        folder = p if p.is_dir() else p.parent
        yaml = p if p.is_file() else next(
            (folder / y for y in ("phono3py_params.yaml", "phono3py.yaml", "phono3py_disp.yaml")
             if (folder / y).exists()), None)
        if yaml is None:
            raise FileNotFoundError(f"no phono3py yaml in {folder}")
        f2 = Path(fc2_filename) if fc2_filename is not None else folder / "fc2.hdf5"
        f3 = Path(fc3_filename) if fc3_filename is not None else folder / "fc3.hdf5"
        if not f2.exists():
            raise FileNotFoundError(f"{f2} not found")
        try:
            ph3 = phono3py.load(str(yaml), fc2_filename=str(f2), fc3_filename=str(f3) if f3.exists() else None,
                                is_nac=True, symmetrize_fc=False, produce_fc=True, log_level=0)
        except Exception as exc:      # phono3py, h5py and yaml raise many types
            raise ForceConstantsFormatError(f"{yaml}, {f2}" + (f", {f3}" if f3.exists() else ""),
                                            f"phono3py cannot read them ({type(exc).__name__}: {_first_line(exc)})",
                                            fix=_DAMAGED) from None
        if ph3.phonon_supercell_matrix is not None and not np.array_equal(
                ph3.phonon_supercell_matrix, ph3.supercell_matrix):
            raise ValueError(f"{yaml}: fc2 supercell differs from the fc3 one; not supported")
        kw = {}
        if ph3.nac_params is not None:
            nac = ph3.nac_params
            kw = dict(born=nac["born"], epsilon=nac["dielectric"], nac_factor=nac.get("factor"))
        fc3 = None if ph3.fc3 is None else np.asarray(ph3.fc3)
        with _blamed(f"{f2}" + (f", {f3}" if f3.exists() else "")):
            return cls(np.asarray(ph3.fc2), _crystal(ph3.supercell), _crystal(ph3.primitive),
                       p2s=np.asarray(ph3.primitive.p2s_map), fc3=fc3, **kw)

    # -- netCDF -----------------------------------------------------------------------------
    def to_netcdf(self, path: str | os.PathLike, attrs: dict | None = None) -> None:
        """Write trajmodes' own netCDF4 file (atomic: a failed write leaves no partial file).

        fc2 in its layout (``fc2``, eV/A^2); fc3, when set, as variable ``fc3`` (compact
        (n_prim, N, N, 3, 3, 3), eV/A^3, zlib-compressed, one chunk per primitive atom: 216-atom
        diamond Si is 20 MB uncompressed). ``attrs``: global attributes to add (the provenance of
        :func:`trajmodes.io.provenance.provenance` by default, without inputs or settings)."""
        import netCDF4
        from trajmodes.io.provenance import clean_attrs, provenance
        meta = clean_attrs({**provenance(), **(attrs or {})})

        def write(tmp):
            with netCDF4.Dataset(tmp, "w", format="NETCDF4") as ds:
                ds.setncatts(meta)
                ds.title = ("trajmodes second- and third-order force constants" if self.fc3 is not None
                            else "trajmodes second-order force constants")
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
                if self.fc3 is not None:
                    ds.createDimension("atom2", self.n_atoms)
                    ds.createDimension("xyz3", 3)
                    v = ds.createVariable("fc3", "f8", ("prim_atom", "atom", "atom2", "xyz", "xyz2", "xyz3"),
                                          zlib=True, chunksizes=(1, self.n_atoms, self.n_atoms, 3, 3, 3))
                    v.units = "eV/A^3"
                    v.layout = "compact"
                    v[:] = self.fc3
                if self.born is not None:
                    v = ds.createVariable("born", "f8", ("prim_atom", "xyz", "xyz2"))
                    v.units = "e"
                    v[:] = self.born
                    v = ds.createVariable("epsilon", "f8", ("xyz", "xyz2"))
                    v.units = "1"
                    v[:] = self.epsilon
                    if self.nac_factor is not None:
                        v.nac_factor = self.nac_factor
        atomic_write(path, write)

    @classmethod
    def from_netcdf(cls, path: str | os.PathLike) -> "ForceConstants":
        """Read a file written by :meth:`to_netcdf`."""
        import netCDF4
        if not os.path.exists(path):
            raise FileNotFoundError(f"{os.fspath(path)}: no such file")
        try:
            with netCDF4.Dataset(path) as ds:
                return cls._from_dataset(ds, path)
        except OSError as exc:
            raise ForceConstantsFormatError(path, f"netCDF cannot open it ({exc})", fix=_DAMAGED) from None
        except (KeyError, IndexError) as exc:
            raise ForceConstantsFormatError(path, f"it has no variable {exc}: not a trajmodes force-constants file, "
                                                  "or an incomplete one", fix=_DAMAGED) from None

    @classmethod
    def _from_dataset(cls, ds, path) -> "ForceConstants":
        """The constants of an open netCDF file written by :meth:`to_netcdf`."""
        ds.set_auto_mask(False)

        def get(name, dtype=None):
            if name not in ds.variables:
                raise KeyError(name)
            return np.asarray(ds[name][:], dtype=dtype)
        cr = {name: Crystal(get(f"{name}_cell"), get(f"{name}_positions"), get(f"{name}_species", str),
                            get(f"{name}_masses"))
              for name in ("supercell", "primitive")}
        born = get("born") if "born" in ds.variables else None
        eps = get("epsilon") if "epsilon" in ds.variables else None
        factor = getattr(ds["epsilon"], "nac_factor", None) if eps is not None else None
        fc3 = get("fc3") if "fc3" in ds.variables else None
        sc, pr = cr["supercell"], cr["primitive"]
        with _blamed(path):
            smap = SupercellMap(get("supercell_matrix"), get("map_atom"), get("map_lattice"), np.zeros(sc.n_atoms),
                                get("map_shift"))
            smap = SupercellMap(smap.matrix, smap.atom, smap.lattice,
                                np.linalg.norm(sc.positions - sc.ideal_positions(pr, smap), axis=1), smap.shift)
            return cls(get("fc2"), sc, pr, smap=smap, p2s=get("p2s"), born=born, epsilon=eps, nac_factor=factor,
                       fc3=fc3)

    def __repr__(self) -> str:
        third = "" if self.fc3 is None else f", fc3 {self.fc3.shape} eV/A^3"
        return (f"ForceConstants({self.layout} {self.fc2.shape}, eV/A^2{third}; {self.n_prim}-atom primitive cell, "
                f"supercell matrix {self.smap.matrix.tolist()})")


_DAMAGED = "The file is incomplete, damaged or not what its name says: write or copy it again"


def _first_line(exc: BaseException) -> str:
    return " ".join(str(exc).split("\n")[0].split()) or type(exc).__name__


@contextmanager
def _blamed(path):
    """Turn a ValueError of the arrays read from ``path`` into a ForceConstantsFormatError naming the file."""
    try:
        yield
    except ForceConstantsFormatError:
        raise
    except ValueError as exc:
        raise ForceConstantsFormatError(path, str(exc), fix=_DAMAGED) from None


def _fc_text_lines(path: Path) -> None:
    """Check that a phonopy FORCE_CONSTANTS text file holds the blocks its first line promises."""
    with open(path, "rb") as f:
        head = f.readline().split()
        n_lines = 1 + sum(1 for line in f if line.strip())
    try:
        rows, cols = (int(x) for x in head[:2]) if len(head) >= 2 else (int(head[0]), int(head[0]))
    except (ValueError, IndexError):
        raise ForceConstantsFormatError(path, "the first line must give the number of atoms (rows, columns)",
                                        line=1, fix=_DAMAGED) from None
    want = 1 + 4 * rows * cols
    if n_lines != want:
        raise ForceConstantsFormatError(path, f"it has {n_lines} non-empty lines but its first line ({rows} x "
                                              f"{cols} atom pairs) promises {want}: it is cut short or damaged",
                                        fix=_DAMAGED)


def _load_phonopy(phonopy, yaml: Path, fcfile: Path | None, kw: dict):
    """``phonopy.load`` with every failure named by file: the yaml, then the force constants."""
    import yaml as pyyaml
    from phonopy.interface.phonopy_yaml import PhonopyYaml
    try:
        PhonopyYaml().read(str(yaml))
    except (pyyaml.YAMLError, KeyError, TypeError, ValueError, IndexError) as exc:
        raise ForceConstantsFormatError(yaml, f"not a readable phonopy yaml ({type(exc).__name__}: "
                                              f"{_first_line(exc)})", fix=_DAMAGED) from None
    if fcfile is not None and fcfile.name == "FORCE_CONSTANTS":
        _fc_text_lines(fcfile)
    try:
        ph = phonopy.load(str(yaml), **kw)
    except Exception as exc:          # phonopy, numpy and h5py raise many types
        raise ForceConstantsFormatError(fcfile or yaml, f"phonopy cannot read it ({type(exc).__name__}: "
                                                        f"{_first_line(exc)})", fix=_DAMAGED) from None
    if ph.force_constants is None:
        raise ForceConstantsFormatError(yaml, "no force constants in it, and no FORCE_CONSTANTS or fc2.hdf5 beside "
                                              "it", fix="Put the force-constants file beside the yaml")
    return ph


def _crystal(atoms) -> Crystal:
    """Crystal from a PhonopyAtoms."""
    return Crystal(np.asarray(atoms.cell), np.asarray(atoms.scaled_positions) @ np.asarray(atoms.cell),
                   list(atoms.symbols), np.asarray(atoms.masses))


def _phonopy_atoms(c: Crystal):
    from phonopy.structure.atoms import PhonopyAtoms
    return PhonopyAtoms(symbols=list(c.species), cell=c.cell, scaled_positions=c.scaled_positions,
                        masses=c.masses)
