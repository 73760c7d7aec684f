"""TDEP force-constant files: ``infile.ucposcar``, ``infile.ssposcar``, ``infile.forceconstant`` and
``infile.forceconstant_thirdorder`` (Hellman et al., Phys. Rev. B 87, 104111 (2013); Hellman and Abrikosov,
Phys. Rev. B 88, 144301 (2013)), and the POSCAR plumbing that :mod:`trajmodes.io.fc_shengbte` shares.

The layouts, as TDEP's own reader takes them (list-directed Fortran reads: the first numbers of a line count,
text after them is a comment):

``infile.ucposcar``, ``infile.ssposcar``
    VASP 5 POSCAR files of the unit (primitive) cell and of the supercell, lattice and positions in Angstrom,
    positions fractional ("direct"); TDEP wraps fractional coordinates into [0, 1). The supercell must be the
    ideal lattice, commensurate with the unit cell to machine precision. POSCAR files hold no masses: the
    elements' standard masses are used.
``infile.forceconstant`` (second order, eV/A^2)
    ``n_atoms`` (unit cell); the cutoff in Angstrom; then per unit-cell atom ``a``: the number of its pairs,
    and per pair the unit-cell index ``b`` of the partner (1-based), the lattice vector of the partner's cell
    in fractional coordinates of the unit cell, and three lines of the 3 x 3 block
    Phi[a, b + R][x, y] (row x = direction of atom a). Then one line with 0 (no Born charges; a polar file
    has a non-zero correction type and a section of dielectric and Born-charge data after it).
``infile.forceconstant_thirdorder`` (third order, eV/A^3)
    ``n_atoms``; the cutoff; per unit-cell atom: the number of its triplets, and per triplet the three unit-cell
    indices (first = the atom itself), the three lattice vectors (fractional; the first zero), and nine
    lines Psi[x, y, :] for x, y = 1..3.
``infile.forceconstant_fourthorder``
    Refused when named (trajmodes holds no fourth order); beside the others it is left out with a warning.

A polar ``infile.forceconstant`` (TDEP's ``extract_forceconstants --polar``) holds short-range constants, the
dipole-dipole part (the reciprocal-space Ewald sum of Gonze and Lee, Phys. Rev. B 55, 10355 (1997)) taken out of
the forces before the fit. After the pairs come: the correction type (3; 0 for a non-polar file), three lines of
the dielectric tensor (line i its column i), the Ewald parameter lambda (1/bohr, with 2 pi), the number n_x of
symmetry-irreducible Born-charge values, the n_x values (one a line), 9 n_atoms lines of n_x coefficients each
(Zflat = coeff @ x, Zflat[9 a + 3 u + E] = Z[a, E, u] in phonopy's BORN convention, 0-based), and the charges
themselves, three lines per atom (line E: Z[a, E, :]; written for reading by eye, TDEP rebuilds them from x).
Read, they give :class:`~trajmodes.forceconstants.model.ForceConstants` with ``short_range=True``, the Born charges,
the dielectric tensor, ``ewald_lambda`` = lambda / bohr (1/A) and TDEP's e^2 / (4 pi eps0) (Hartree * bohr in its own
constants, :data:`TDEP_NAC_FACTOR`), so that :class:`trajmodes.Phonons` adds the dipole-dipole dynamical matrix back
as TDEP does. Written, short-range constants go out as they are; full ones with Born charges are converted first
(:meth:`~trajmodes.forceconstants.model.ForceConstants.with_convention`), and ``infile.lotosplitting`` (TDEP's input
of Born charges for a polar fit: three lines of the dielectric tensor, then three lines Z[a, E, :] per atom) is
written beside them.

The files name pairs and triplets of the infinite crystal, not of a supercell. Writing, every constant of a
supercell pair is given once per shortest periodic image of the pair, divided by the number of such images
(the Wigner-Seitz treatment of phonopy, phono3py and :class:`trajmodes.Phonons`), and a third-order constant
once per combination of the shortest images of its second and third atoms (weight 1/(m2 m3), as phono3py
and :mod:`trajmodes.phonons.interaction`): TDEP's lattice sums then give the dispersion and three-phonon
couplings of trajmodes and phonopy at every q. Reading, every pair and triplet is folded back onto the
supercell of ``infile.ssposcar`` (constants that land on the same supercell pair add up), so a round trip
gives the supercell constants back to round-off. Units need no conversion: TDEP's files are in eV and
Angstrom, as trajmodes.
"""
from __future__ import annotations

import itertools
import os
import warnings
from pathlib import Path

import numpy as np

from trajmodes.errors import ForceConstantsFormatError
from trajmodes.io.fcfiles import DAMAGED, blamed
from trajmodes.io.files import atomic_write
from trajmodes.lattice.crystal import Crystal
from trajmodes.lattice.geometry import wigner_seitz_pairs

__all__ = ["read_tdep", "write_tdep", "read_lotosplitting", "write_lotosplitting", "TDEP_NAC_FACTOR", "TDEP_BOHR_A", "read_poscar", "write_poscar", "Lines", "check_poscar_species", "refuse_nac",
           "provenance_line", "wrapped_frame", "supercell_fractions", "write_text", "pair_images", "image_groups",
           "expand_images", "TDEP_FILES"]

#: the file names TDEP's programs read (``outfile.*`` as written by its own programs are read too)
TDEP_FILES = {"unitcell": "infile.ucposcar", "supercell": "infile.ssposcar", "fc2": "infile.forceconstant",
              "fc3": "infile.forceconstant_thirdorder"}

#: relative difference between a crystal's masses and the standard masses of its elements that a POSCAR may lose
MASS_TOLERANCE = 1e-3
#: TDEP's own bohr radius (A) and Hartree (eV) (its ``konstanter`` module, CODATA 2014): its Ewald parameter is in
#: 1/bohr, and its dipole-dipole sums are in Hartree atomic units
TDEP_BOHR_A = 0.52917721067
TDEP_HARTREE_EV = 27.21138602
#: e^2 / (4 pi eps0) = Hartree * bohr in TDEP's constants, eV*A
TDEP_NAC_FACTOR = TDEP_HARTREE_EV * TDEP_BOHR_A
#: the polar correction type TDEP writes and reads (its types 1 and 2 are retired)
TDEP_POLAR_TYPE = 3
#: Born charges are checked against the charge sum rule to this (e)
TDEP_CHARGE_TOL = 1e-5


# -- text files, line by line, with the line number in every error -------------------------------------------------
class Lines:
    """The non-empty lines of a text file, read in order; every error names the file and the line.

    Parameters
    ----------
    path : path
        The file.
    """

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self.fix = DAMAGED
        try:
            text = self.path.read_text()
        except UnicodeDecodeError:
            raise ForceConstantsFormatError(self.path, "not a text file", fix=self.fix) from None
        self.rows = [(n, ln) for n, ln in enumerate(text.splitlines(), start=1) if ln.strip()]
        self.pos = 0

    def error(self, what: str, line: int | None = None) -> ForceConstantsFormatError:
        return ForceConstantsFormatError(self.path, what, line=line, fix=self.fix)

    @property
    def line(self) -> int:
        """Number of the next line to read (or of the last line, at the end)."""
        if self.pos < len(self.rows):
            return self.rows[self.pos][0]
        return self.rows[-1][0] if self.rows else 1

    @property
    def at_end(self) -> bool:
        return self.pos >= len(self.rows)

    def expect_end(self, announced: str) -> None:
        """Refuse lines left after everything the file announced (``announced`` says what that was): a header
        count that disagrees with what follows would otherwise drop the rest silently."""
        if not self.at_end:
            left = len(self.rows) - self.pos
            raise self.error(f"{left} more non-empty line{'s' if left > 1 else ''} follow {announced}: the count "
                             "does not match the file", line=self.line)

    def _chunk(self, n: int, what: str | list[str]) -> list[tuple[int, str]]:
        """The next ``n`` lines; ``what`` they hold (a list: per line of a repeating record) for the message."""
        chunk = self.rows[self.pos:self.pos + n]
        if len(chunk) < n:
            last = self.rows[-1][0] if self.rows else 0
            missing = what[len(chunk) % len(what)] if isinstance(what, list) else what
            raise self.error(f"the file ends after line {last}, where {missing} should follow: it is cut short",
                             line=last + 1)
        self.pos += n
        return chunk

    def text(self, what: str) -> tuple[str, int]:
        """The next non-empty line (stripped) and its number."""
        (n, ln), = self._chunk(1, what)
        return ln.strip(), n

    def numbers(self, n_lines: int, n_cols: int, what: str) -> np.ndarray:
        """The first ``n_cols`` numbers of each of the next ``n_lines`` lines, shape (n_lines, n_cols)."""
        return self.records(n_lines, [n_cols], [what])[0]

    def integers(self, n_lines: int, n_cols: int, what: str, low: int | None = None,
                 high: int | None = None) -> np.ndarray:
        """Like :meth:`numbers`, for whole numbers (written as integers or as reals like ``-1.000``), each in
        [low, high] when given."""
        x, chunk = self.records(n_lines, [n_cols], [what])
        return self.check_whole(x, chunk, 1, 0, what, low, high)

    def integer(self, what: str, low: int | None = None, high: int | None = None) -> int:
        return int(self.integers(1, 1, what, low, high)[0, 0])

    def records(self, n: int, cols: list[int], what: list[str]) -> tuple[np.ndarray, list[tuple[int, str]]]:
        """``n`` records of ``len(cols)`` lines each, line ``s`` of a record holding ``cols[s]`` numbers (the first
        ones on the line; ``what[s]`` says what they are): shape (n, sum(cols)), and the lines read.

        One vectorised parse; only a file that does not parse is read again line by line, for the message."""
        rec = len(cols)
        chunk = self._chunk(n * rec, what)
        tokens = [tok for s, (_, ln) in enumerate(chunk) for tok in ln.split()[:cols[s % rec]]]
        try:
            out = np.array(tokens, dtype=float)
            if out.size == n * sum(cols) and np.isfinite(out).all():
                return out.reshape(n, sum(cols)), chunk
        except ValueError:
            pass
        for s, (num, ln) in enumerate(chunk):
            c = cols[s % rec]
            try:
                vals = [float(t) for t in ln.split()[:c]]
            except ValueError:
                vals = []
            if len(vals) < c:
                raise self.error(f"expected {c} number{'s' if c > 1 else ''} ({what[s % rec]}), found "
                                 f"{ln.strip()[:60]!r}", line=num)
            if not np.isfinite(vals).all():
                raise self.error(f"{what[s % rec]} holds NaN or infinite values", line=num)
        raise self.error(f"cannot read {what[0]}")            # pragma: no cover - the loop finds the line

    def check_whole(self, x: np.ndarray, chunk: list, rec: int, sub, what: str, low: int | None = None,
                    high: int | None = None) -> np.ndarray:
        """Whole numbers ``x`` (n, c) read from line ``sub`` of every record of :meth:`records` (or, per column,
        from lines ``sub[c]``), as int64, each in [low, high] when given; else an error naming the first bad line."""
        r = np.rint(x)
        bad = np.abs(x - r) > 1e-6
        if low is not None:
            bad |= r < low
        if high is not None:
            bad |= r > high
        if bad.any():
            t, c = np.argwhere(bad.reshape(len(x), -1))[0]
            num, ln = chunk[t * rec + int(np.broadcast_to(sub, (bad.shape[1],))[c])]
            rng = f" from {low} to {high}" if low is not None and high is not None else ""
            raise self.error(f"expected whole numbers{rng} ({what}), found {ln.strip()[:60]!r}", line=num)
        return r.astype(np.int64)


# -- POSCAR files -------------------------------------------------------------------------------------------------
def read_poscar(path: str | os.PathLike, wrap: bool = False) -> Crystal:
    """A crystal from a VASP 5 POSCAR file (element names on line 6).

    Parameters
    ----------
    path : path
    wrap : bool
        Wrap the fractional coordinates into [0, 1) (as TDEP does; ShengBTE and thirdorder.py take them as
        written).

    Returns
    -------
    Crystal
        Cell and positions in Angstrom (the scale factor applied; a negative one is the volume in A^3);
        masses the elements' standard masses.
    """
    rd = Lines(path)
    rd.text("the comment line")
    scale = rd.numbers(1, 1, "the scale factor")[0, 0]
    cell = rd.numbers(3, 3, "the lattice vectors")
    if scale < 0:
        scale = (-scale / abs(np.linalg.det(cell))) ** (1 / 3)
    elif scale == 0:
        raise rd.error("the scale factor is zero", line=rd.rows[1][0])
    cell = cell * scale
    if abs(np.linalg.det(cell)) < 1e-8:
        raise rd.error("the lattice vectors are not independent (singular cell)", line=rd.rows[2][0])
    names, n_names = rd.text("the element names")
    if all(_is_number(t) for t in names.split()):
        raise rd.error("line 6 holds numbers, not element names: a VASP 4 POSCAR names no elements; add a "
                       "line with them (VASP 5 format)", line=n_names)
    names = names.split()
    counts = rd.integers(1, len(names), "the number of atoms of each element", low=0)[0]
    mode, n_mode = rd.text("'Direct' or 'Cartesian'")
    if mode[0] in "sS":                                           # selective dynamics: skip that line
        mode, n_mode = rd.text("'Direct' or 'Cartesian'")
    if mode[0] not in "dDcCkK":
        raise rd.error(f"expected 'Direct' or 'Cartesian', found {mode[:40]!r}", line=n_mode)
    n = int(counts.sum())
    if n == 0:
        raise rd.error("the cell holds no atoms", line=n_names + 1)
    x = rd.numbers(n, 3, "the atomic positions")
    frac = x if mode[0] in "dD" else (x * scale) @ np.linalg.inv(cell)
    if wrap:
        frac = frac - np.floor(frac)
        frac[frac >= 1 - 1e-12] = 0.0
    species = np.repeat(names, counts)
    try:
        return Crystal(cell, frac @ cell, species)
    except ValueError as exc:
        raise rd.error(f"{exc} (a POSCAR names elements, and the elements give the masses)", line=n_names) from None


def _is_number(text: str) -> bool:
    try:
        float(text)
        return True
    except ValueError:
        return False


def write_poscar(path: str | os.PathLike, cell, frac, species, comment: str) -> None:
    """Write a VASP 5 POSCAR (atomic): ``cell`` rows in Angstrom (scale 1), fractional positions ``frac``
    (direct), ``species`` in the given order (runs of the same element make one group, so the atom order is
    kept). ``comment``: the first line."""
    species = [str(s) for s in species]
    runs = [(k, len(list(g))) for k, g in itertools.groupby(species)]
    lines = [" ".join(comment.split()) or "trajmodes", "   1.0"]
    lines += ["  " + " ".join(f"{x:22.16f}" for x in row) for row in np.asarray(cell, float)]
    lines.append("   " + " ".join(f"{k:>4s}" for k, _ in runs))
    lines.append("   " + " ".join(f"{c:>4d}" for _, c in runs))
    lines.append("Direct")
    lines += ["  " + " ".join(f"{x:20.16f}" for x in row) for row in np.asarray(frac, float)]
    write_text(path, lines)


def check_poscar_species(fc, code: str) -> None:
    """Refuse force constants whose crystal a POSCAR cannot describe: species that are not elements, or masses
    that differ (relative ``MASS_TOLERANCE``) from the elements' standard masses (POSCAR files hold none)."""
    from trajmodes.lattice.elements import masses_of
    pr = fc.primitive
    std = masses_of(pr.species)
    if std is None:
        bad = sorted({str(s) for s in pr.species if masses_of([s]) is None})
        raise ValueError(f"{code} files name the atoms by element, and {', '.join(bad)} is not an element: give the "
                         "crystal element symbols")
    off = np.abs(pr.masses - std) > MASS_TOLERANCE * std
    if off.any():
        k = int(np.flatnonzero(off)[0])
        raise ValueError(f"{code} files hold no masses (the elements' standard masses are used), but the "
                         f"{pr.species[k]} mass here is {pr.masses[k]:g} amu, not {std[k]:g}: keep these force "
                         "constants in a format that holds masses (netcdf, phonopy, phono3py)")


def refuse_nac(fc, code: str, where: str) -> None:
    if fc.born is not None:
        raise ValueError(f"{code} force-constant files have no place for the Born charges and dielectric tensor "
                         f"of these force constants ({where}): write them without (drop born and epsilon, or "
                         "`trajmodes convert-fc --no-nac`), or keep them in netcdf, phonopy or phono3py files")


def provenance_line(source) -> str:
    from trajmodes import __version__
    text = f"written by trajmodes {__version__}"
    if source is not None:
        text += f" from {os.path.abspath(os.fspath(source))}"
    return " ".join(text.split())


# -- the frame of the written files ----------------------------------------------------------------------------
def wrapped_frame(fc) -> tuple[np.ndarray, np.ndarray]:
    """The primitive atoms' fractional coordinates wrapped into [0, 1) in the supercell's frame, and the integer
    cell of every supercell atom relative to them.

    Returns
    -------
    frac : ndarray (n_prim, 3)
        Fractional coordinates (primitive cell) of ``primitive.positions + smap.shift``, wrapped.
    cells : ndarray of int (N, 3)
        Supercell atom ``j`` sits (ideally) at ``(frac[atom_j] + cells[j]) @ primitive.cell``.
    """
    m = fc.smap
    f = (fc.primitive.positions + m.shift) @ np.linalg.inv(fc.primitive.cell)
    w = np.floor(f + 1e-10)
    frac = f - w
    frac[np.abs(frac) < 1e-12] = 0.0
    return frac, m.lattice + w.astype(np.int64)[m.atom]


def supercell_fractions(fc, order=None) -> np.ndarray:
    """Ideal fractional coordinates (supercell basis, wrapped into [0, 1)) of the supercell atoms, in ``order``
    (default: the supercell's own), in the frame of :func:`wrapped_frame`."""
    frac, cells = wrapped_frame(fc)
    sites = frac[fc.smap.atom] + cells
    out = (sites if order is None else sites[order]) @ np.linalg.inv(fc.smap.matrix.astype(float))
    out -= np.floor(out)
    out[(out >= 1 - 1e-12) | (np.abs(out) < 1e-12)] = 0.0
    return out


def write_text(path: str | os.PathLike, lines: list[str]) -> None:
    """Write ``lines`` (joined by newlines, one at the end) to ``path``, atomically."""
    text = "\n".join(lines)
    text += "" if text.endswith("\n") else "\n"

    def write(tmp):
        with open(tmp, "w") as f:
            f.write(text)
    atomic_write(path, write)


def pair_images(fc, tol: float = 1e-5) -> tuple[np.ndarray, ...]:
    """Every pair (primitive atom k = row ``p2s[k]``, supercell atom j) with each of its shortest periodic images.

    Parameters
    ----------
    fc : ForceConstants
    tol : float
        Images within ``tol`` (Angstrom) of the shortest count as equally short (phonopy's tolerance).

    Returns
    -------
    k, j : ndarray of int (n_images,)
        Sorted by k, then j.
    lattice : ndarray of int (n_images, 3)
        The image's cell relative to the cell of k, in primitive lattice vectors (with :func:`wrapped_frame`'s
        positions: image vector = ``(frac[atom_j] + lattice - frac[k]) @ primitive.cell``).
    weight : ndarray (n_images,)
        1 / (number of equally short images of the pair).
    vector : ndarray (n_images, 3)
        The image vector in Angstrom.
    """
    frac, cells = wrapped_frame(fc)
    return wigner_seitz_pairs(frac, fc.smap.atom, cells, fc.p2s, fc.primitive.cell, fc.smap.matrix, tol)[:5]


def image_groups(k: np.ndarray, j: np.ndarray, n: int, N: int) -> tuple[np.ndarray, np.ndarray]:
    """Start and count of the images of every (k, j) in arrays sorted by (k, j)."""
    key = k * N + j
    count = np.bincount(key, minlength=n * N).reshape(n, N)
    start = (np.cumsum(count.ravel()) - count.ravel()).reshape(n, N)
    return start, count


def expand_images(start, count, k: int, j: np.ndarray, l: np.ndarray):
    """All combinations of the images of (k, j) and of (k, l) for triplets (k, j[t], l[t]): the triplet of each
    combination and the image rows (into :func:`pair_images`'s arrays) of its second and third atoms."""
    cj, cl = count[k, j], count[k, l]
    tot = cj * cl
    t = np.repeat(np.arange(len(j)), tot)
    local = np.arange(int(tot.sum())) - np.repeat(np.cumsum(tot) - tot, tot)
    return t, start[k, j][t] + local // cl[t], start[k, l][t] + local % cl[t]


# -- TDEP ---------------------------------------------------------------------------------------------------------
def _find(folder: Path, key: str) -> Path | None:
    name = TDEP_FILES[key]
    for cand in (folder / name, folder / name.replace("infile.", "outfile.", 1)):
        if cand.exists():
            return cand
    return None


def read_tdep(path: str | os.PathLike, supercell=None) -> tuple[dict, str]:
    """Read TDEP force constants onto a supercell: the keywords of
    :class:`~trajmodes.forceconstants.model.ForceConstants` and the files to name if they are inconsistent.

    Parameters
    ----------
    path : path
        A folder with ``infile.ucposcar``, ``infile.forceconstant`` and (optional)
        ``infile.forceconstant_thirdorder`` and ``infile.ssposcar`` (``outfile.*`` names too), or the
        ``infile.forceconstant`` itself.
    supercell : Crystal, int, 3 ints or (3, 3) ints, optional
        The supercell to put the constants on instead of that of ``infile.ssposcar`` (a matrix S:
        ``supercell.cell = S @ unitcell.cell``, atoms ordered cell by cell). Default: ``infile.ssposcar``.

    Returns
    -------
    dict, str
        fc2 in the compact layout (eV/A^2), fc3 when there is a third-order file (eV/A^3), the supercell and
        the unit cell as primitive cell (masses: the elements' standard masses).

    Raises
    ------
    ForceConstantsFormatError
        A file that cannot be read as it stands (named, with the line), or a polar file (its constants
        are short-ranged, with the dipole-dipole part taken out: not the supercell constants trajmodes holds).
    """
    p = Path(path)
    folder = p if p.is_dir() else p.parent
    if p.is_file() and "forceconstant" in p.name:                   # either file names the pair
        order = p.name.split("forceconstant", 1)[1]
        if order not in ("", "_thirdorder"):
            raise ForceConstantsFormatError(p, f"TDEP's {order.strip('_') or 'unknown-order'} force constants, which "
                                               "trajmodes does not hold: it reads the second order "
                                               "(infile.forceconstant) and the third (infile.forceconstant_thirdorder)",
                                            fix="Give one of those files, or their folder")
        f2 = folder / p.name.removesuffix("_thirdorder")
        f3 = folder / (f2.name + "_thirdorder")
    else:
        f2, f3 = _find(folder, "fc2"), _find(folder, "fc3")
        higher = sorted(x.name for x in folder.glob("*.forceconstant_fourthorder"))
        if higher:
            warnings.warn(f"{folder / higher[0]} is not read: trajmodes holds the second and third orders, not the "
                          "fourth", stacklevel=3)
    if f2 is None or not f2.exists():
        raise FileNotFoundError(f"no {f2.name if f2 is not None else 'infile.forceconstant'} in {folder}")
    uc = _find(folder, "unitcell")
    if uc is None:
        raise FileNotFoundError(f"no infile.ucposcar in {folder}: TDEP force constants need their unit cell")
    f3 = f3 if f3 is not None and f3.exists() else None
    pr = read_poscar(uc, wrap=True)
    if supercell is None:
        ss = _find(folder, "supercell")
        if ss is None:
            raise FileNotFoundError(f"no infile.ssposcar in {folder}: give the supercell to put the constants on "
                                    "(supercell=)")
        sc = read_poscar(ss, wrap=True)
        with blamed(ss):
            smap = sc.supercell_map(pr)
    else:
        sc = supercell if isinstance(supercell, Crystal) else pr.supercell(supercell)
        with blamed(uc):
            smap = sc.supercell_map(pr)
    n, N = pr.n_atoms, sc.n_atoms
    p2s = np.array([np.flatnonzero(smap.atom == a)[0] for a in range(n)])
    L0 = smap.lattice[p2s]

    rd = Lines(f2)
    na = rd.integer("the number of atoms per unit cell", low=1)
    if na != n:
        raise rd.error(f"it is for {na} atoms per unit cell, but {uc.name} has {n}", line=rd.rows[0][0])
    rd.numbers(1, 1, "the cutoff")
    fc2 = np.zeros((n, N, 3, 3))
    what = ["the index of a partner atom", "a lattice vector (fractional)"] + ["a 3 x 3 force constant"] * 3
    for a in range(n):
        npairs = rd.integer(f"the number of pairs of atom {a + 1}", low=0)
        x, chunk = rd.records(npairs, [1, 3, 3, 3, 3], what)
        b = rd.check_whole(x[:, :1], chunk, 5, 0, what[0], low=1, high=n)[:, 0] - 1
        lv = rd.check_whole(x[:, 1:4], chunk, 5, 1, what[1])
        np.add.at(fc2[a], smap.index(b, L0[a] + lv), x[:, 4:].reshape(-1, 3, 3))
    flag_line = rd.line
    flag = rd.integer("the line that says whether the material is polar (0: not)")
    polar = {}
    if flag != 0:
        if flag != TDEP_POLAR_TYPE:
            raise rd.error(f"polar correction type {flag}: TDEP writes type {TDEP_POLAR_TYPE} (its types 1 and 2 are "
                           "retired, and others do not exist); write the file again with a current TDEP",
                           line=flag_line)
        if rd.at_end:
            raise rd.error(f"a polar TDEP force constant (correction type {flag}) ends at its correction type: the "
                           "dielectric tensor, the Ewald parameter and the Born charges that must follow are missing "
                           "(the file is cut short)", line=flag_line)
        polar = _read_polar(rd, n)
    fc3 = None if f3 is None else _read_fc3(f3, n, N, smap, L0)
    where = ", ".join(str(f) for f in (uc, f2, f3) if f is not None)
    return dict(fc2=fc2, supercell=sc, primitive=pr, smap=smap, p2s=p2s, fc3=fc3, **polar), where


def _read_polar(rd: Lines, n: int) -> dict:
    """The polar section after the correction type: the keywords of a short-range ForceConstants."""
    eps_line = rd.line
    eps = rd.numbers(3, 3, "a line of the dielectric tensor").T           # line i is column i
    first = rd.line
    lam = float(rd.numbers(1, 1, "the Ewald parameter (1/bohr)")[0, 0])
    if not lam > 0:
        raise rd.error(f"the Ewald parameter must be positive, not {lam}", line=first)
    nx = rd.integer("the number of irreducible Born-charge values", low=1, high=9 * n)
    x = rd.numbers(nx, 1, "an irreducible Born-charge value")[:, 0]
    coeff = rd.numbers(9 * n, nx, f"a row of {nx} Born-charge coefficients")
    at = rd.line
    rd.numbers(3 * n, 3, "a line of the Born charges as written")         # TDEP rebuilds them from x too
    born = (coeff @ x).reshape(n, 3, 3).transpose(0, 2, 1)                 # Zflat[9a + 3u + E] -> Z[a, E, u]
    total = born.sum(axis=0)
    if np.abs(total).max() > TDEP_CHARGE_TOL:
        raise rd.error(f"the Born charges do not add up to zero (sum {np.round(total, 6).tolist()} e): TDEP refuses "
                       "them too; correct the irreducible values", line=at)
    if np.abs(eps - eps.T).max() > 1e-8 * np.abs(eps).max() or np.linalg.eigvalsh(0.5 * (eps + eps.T)).min() <= 0:
        raise rd.error(f"the dielectric tensor is not symmetric positive definite: {eps.tolist()}",
                       line=eps_line)
    return dict(born=born, epsilon=0.5 * (eps + eps.T), nac_factor=TDEP_NAC_FACTOR, short_range=True,
                ewald_lambda=lam / TDEP_BOHR_A)


def read_lotosplitting(path: str | os.PathLike, n_atoms: int) -> tuple[np.ndarray, np.ndarray]:
    """TDEP's ``infile.lotosplitting``: the dielectric tensor (three lines, line i its column i) and the Born charges
    (three lines per atom, line E: Z[a, E, :]).

    Returns
    -------
    born : ndarray (n_atoms, 3, 3)
        Z[a, E, u], e (phonopy's BORN convention).
    epsilon : ndarray (3, 3)
    """
    rd = Lines(path)
    eps = rd.numbers(3, 3, "a line of the dielectric tensor").T
    born = rd.numbers(3 * n_atoms, 3, "a line of the Born charges").reshape(n_atoms, 3, 3)
    rd.expect_end(f"the dielectric tensor and the Born charges of {n_atoms} atoms")
    return born, eps


def write_lotosplitting(path: str | os.PathLike, born, epsilon) -> None:
    """Write TDEP's ``infile.lotosplitting`` (the layout of :func:`read_lotosplitting`), atomically."""
    fmt = " ".join(["{: 20.12f}"] * 3)
    lines = [fmt.format(*col) for col in np.asarray(epsilon, float).T]
    lines += [fmt.format(*row) for Z in np.asarray(born, float) for row in Z]
    write_text(path, lines)


def _polar_lines(fc) -> list[str]:
    """The polar section of ``infile.forceconstant`` for short-range constants ``fc``.

    The irreducible values are the distinct magnitudes of the non-zero charge components (to 1e-12 relative), each
    component a +-1 multiple of one of them: exact, and as compact as the charges' own repetitions allow."""
    born = np.asarray(fc.born, float)
    flat = born.transpose(0, 2, 1).reshape(-1)                             # Zflat[9a + 3u + E] = Z[a, E, u]
    scale = max(np.abs(flat).max(), 1e-300)
    mag = np.abs(flat)
    values: list[float] = []
    cols = np.full(len(flat), -1)
    for i in np.argsort(-mag, kind="stable"):
        if mag[i] <= 1e-14 * scale:
            continue
        hit = [c for c, v in enumerate(values) if abs(v - mag[i]) <= 1e-12 * scale]
        if hit:
            cols[i] = hit[0]
        else:
            values.append(float(mag[i]))
            cols[i] = len(values) - 1
    if not values:
        values = [0.0]
    coeff = np.zeros((len(flat), len(values)))
    nz = cols >= 0
    coeff[np.flatnonzero(nz), cols[nz]] = np.sign(flat[nz])
    lines = [f"{TDEP_POLAR_TYPE:11d} # This is a forceconstant for a polar material."]
    eps = np.asarray(fc.epsilon, float)
    for i, name in enumerate(("xx xy xz", "yx yy yz", "zx zy zz")):
        lines.append(" ".join(f"{v:24.16f}" for v in eps[:, i]) + f" Dielectric tensor {name}")
    lines.append(f"{fc.ewald_lambda * TDEP_BOHR_A:24.17f}       # Coupling parameter in Ewald summation (1/bohr)")
    lines.append(f"{len(values):11d}  # number of irreducible components in the Born charges")
    lines += [f"{v:24.16f}" + (" # irrep of Born charge" if k == 0 else "") for k, v in enumerate(values)]
    lines += [" ".join(f"{c:5.1f}" for c in row) for row in coeff]
    for a, Z in enumerate(born):
        for E in range(3):
            lines.append(" ".join(f"{v:24.16f}" for v in Z[E]) + (f" Born effective charge atom {a + 1}" if E == 0
                                                                  else ""))
    return lines


def _read_fc3(path: Path, n: int, N: int, smap, L0) -> np.ndarray:
    rd = Lines(path)
    na = rd.integer("the number of atoms per unit cell", low=1)
    if na != n:
        raise rd.error(f"it is for {na} atoms per unit cell, but the unit cell has {n}", line=rd.rows[0][0])
    rd.numbers(1, 1, "the cutoff")
    fc3 = np.zeros((n, N, N, 3, 3, 3))
    what = ["the first atom of a triplet", "the second atom of a triplet", "the third atom of a triplet"] + \
        ["a lattice vector (fractional)"] * 3 + ["a 3 x 3 x 3 force constant"] * 9
    for a in range(n):
        nt = rd.integer(f"the number of triplets of atom {a + 1}", low=0)
        x, chunk = rd.records(nt, [1] * 3 + [3] * 12, what)             # 15 lines per triplet
        idx = np.stack([rd.check_whole(x[:, s:s + 1], chunk, 15, s, what[s], low=1, high=n)[:, 0] - 1
                        for s in range(3)], axis=1)
        bad = np.flatnonzero(idx[:, 0] != a)
        if len(bad):
            raise rd.error(f"a triplet of atom {a + 1} starts with atom {idx[bad[0], 0] + 1}",
                           line=chunk[15 * bad[0]][0])
        lv = [rd.check_whole(x[:, 3 + 3 * s:6 + 3 * s], chunk, 15, 3 + s, what[3]) for s in range(3)]
        j = smap.index(idx[:, 1], L0[a] + lv[1] - lv[0])
        l = smap.index(idx[:, 2], L0[a] + lv[2] - lv[0])
        np.add.at(fc3[a], (j, l), x[:, 12:].reshape(-1, 3, 3, 3))
    return fc3


def write_tdep(fc, folder: str | os.PathLike, source: str | os.PathLike | None = None, tol: float = 1e-5) -> None:
    """Write ``infile.ucposcar``, ``infile.ssposcar``, ``infile.forceconstant`` and, with fc3,
    ``infile.forceconstant_thirdorder`` into ``folder`` (each atomic).

    The unit cell is the primitive cell (positions wrapped into it, in the supercell's frame); the supercell
    its ideal lattice in this supercell's atom order. Every non-zero supercell constant is written once per
    shortest image of the pair (weight 1/m; images within ``tol`` Angstrom count as equally short), third order
    once per pair of shortest images of its second and third atoms (weight 1/(m2 m3)). The first line of
    every file names trajmodes' version and ``source``.

    Constants with Born charges must be short-ranged (``fc.short_range``; :meth:`ForceConstants.to_tdep` converts
    full ones): they make a polar file (the section of the module docstring) and ``infile.lotosplitting``.

    Raises
    ------
    ValueError
        For full constants with Born charges (convert them: ``fc.with_convention("short-range")``), species that
        are not elements or masses that are not the elements' (POSCAR holds none).
    """
    if fc.born is not None and not getattr(fc, "short_range", False):
        raise ValueError("TDEP's polar files hold short-range constants (the dipole-dipole part taken out), and these "
                         "are full constants with Born charges: write them with ForceConstants.to_tdep, or convert "
                         "them first (fc.with_convention('short-range'))")
    check_poscar_species(fc, "TDEP")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    note = provenance_line(source)
    pr, m = fc.primitive, fc.smap
    write_poscar(folder / TDEP_FILES["unitcell"], pr.cell, wrapped_frame(fc)[0], pr.species, f"unit cell, {note}")
    write_poscar(folder / TDEP_FILES["supercell"], m.matrix @ pr.cell, supercell_fractions(fc),
                 fc.supercell.species, f"supercell {m.matrix.tolist()}, {note}")
    k, j, lat, w, vec = pair_images(fc, tol)
    compact = fc.compact()
    lines = [f"{fc.n_prim:11d}               How many atoms per unit cell ({note})"]
    nz = np.abs(compact).reshape(fc.n_prim, fc.n_atoms, 9).max(axis=2) > 0
    sel = nz[k, j]
    k, j, lat, w, vec = k[sel], j[sel], lat[sel], w[sel], vec[sel]
    dist = np.linalg.norm(vec, axis=1)
    lines.append(f"{(dist.max() if len(dist) else 0.0) + 1e-5:21.15f}     Realspace cutoff (A)")
    block = "{:11d}               In the unit cell, what is the index of neighbour {} of atom {}\n" + \
            " ".join(["{:21.16f}"] * 3) + "\n" + ("\n".join([" ".join(["{: .16e}"] * 3)] * 3))
    for a in range(fc.n_prim):
        mine = np.flatnonzero(k == a)
        mine = mine[np.lexsort((lat[mine, 2], lat[mine, 1], lat[mine, 0], m.atom[j[mine]], np.round(dist[mine], 8)))]
        lines.append(f"{len(mine):11d}               How many neighbours does atom {a + 1:3d} have")
        vals = compact[a, j[mine]] * w[mine][:, None, None]
        for i, (r, v) in enumerate(zip(mine, vals), start=1):
            lines.append(block.format(m.atom[j[r]] + 1, i, a + 1, *lat[r].astype(float), *v.ravel()))
    if fc.born is None:
        lines.append("  0   # This contains no information about Born charges or dielectric tensors")
    else:
        lines += _polar_lines(fc)
        write_lotosplitting(folder / "infile.lotosplitting", fc.born, fc.epsilon)
    write_text(folder / TDEP_FILES["fc2"], lines)
    if fc.fc3 is not None:
        _write_fc3(fc, folder / TDEP_FILES["fc3"], note, tol)


def _write_fc3(fc, path: Path, note: str, tol: float) -> None:
    k, j, lat, w, vec = pair_images(fc, tol)
    n, N = fc.n_prim, fc.n_atoms
    start, count = image_groups(k, j, n, N)
    atom = fc.smap.atom
    lines = [f"{n:11d}               How many atoms per unit cell ({note})", None]
    cutoff = 0.0
    block = ("{:11d}                atom 1 in triplet {}\n{:11d}                atom 2 in triplet {}\n"
             "{:11d}                atom 3 in triplet {}\n" + "\n".join([" ".join(["{:21.16f}"] * 3)] * 3) + "\n"
             + "\n".join([" ".join(["{: .16e}"] * 3)] * 9))
    for a in range(n):
        nz = np.abs(fc.fc3[a]).reshape(N, N, 27).max(axis=2) > 0
        jj, ll = np.nonzero(nz)
        t, ij, il = expand_images(start, count, a, jj, ll)
        lines.append(f"{len(t):11d}               How many triplets are atom {a + 1:3d} part of")
        if len(t):
            sides = np.linalg.norm(np.stack([vec[ij], vec[il], vec[ij] - vec[il]]), axis=-1)
            cutoff = max(cutoff, float(sides.max()))
        vals = fc.fc3[a][jj[t], ll[t]] * (w[ij] * w[il])[:, None, None, None]
        zero = np.zeros(3)
        for i in range(len(t)):
            lines.append(block.format(a + 1, i + 1, atom[jj[t[i]]] + 1, i + 1, atom[ll[t[i]]] + 1, i + 1,
                                      *zero, *lat[ij[i]].astype(float), *lat[il[i]].astype(float),
                                      *vals[i].ravel()))
    lines[1] = f"{cutoff + 1e-5:21.15f}     Realspace cutoff (A)"
    write_text(path, lines)
