"""The plumbing of the text force-constant formats (TDEP, :mod:`~trajmodes.io.forceconstants.tdep`; ShengBTE,
:mod:`~trajmodes.io.forceconstants.shengbte`; GPUMD, :mod:`~trajmodes.io.forceconstants.gpumd`): a reader of a file's
lines that names the line of every error, VASP 5 POSCAR files and the checks of what they can hold, the frame of the
written files (the primitive atoms wrapped into their cell, the supercell's fractional coordinates), and every pair with
its shortest periodic images (weight 1/m), the way pairs and triplets of a supercell are written for codes that sum over
the infinite crystal.
"""
from __future__ import annotations

import itertools
import os
from pathlib import Path

import numpy as np

from trajmodes.errors import DAMAGED, ForceConstantsFormatError
from trajmodes.io.filesystem import atomic_write
from trajmodes.lattice.crystal import Crystal
from trajmodes.lattice.geometry import wigner_seitz_pairs

__all__ = ["Lines", "read_poscar", "write_poscar", "check_poscar_species", "refuse_nac", "provenance_line",
           "wrapped_frame", "supercell_fractions", "write_text", "pair_images", "image_groups", "expand_images",
           "MASS_TOLERANCE"]

#: relative difference between a crystal's masses and the standard masses of its elements that a POSCAR may lose
MASS_TOLERANCE = 1e-3


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

    def error(self, what: str, line: int | None = None, fix: str | None = None) -> ForceConstantsFormatError:
        return ForceConstantsFormatError(self.path, what, line=line, fix=fix or self.fix)

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
            raise self.error(f"{left} more non-empty line{'s follow' if left > 1 else ' follows'} {announced}: a count "
                             "that does not match the file, or lines appended to it", line=self.line)

    def width(self, p: int) -> int:
        """How many numbers row ``p`` (an index into :attr:`rows`) starts with, counted up to 3 (text after them is
        a comment); -1 past the end. Tells a line of one number (a count, an atom index) from a line of three."""
        if p >= len(self.rows):
            return -1
        w = 0
        for tok in self.rows[p][1].split()[:3]:
            try:
                float(tok)
            except ValueError:
                break
            w += 1
        return w

    def record_at(self, p: int, cols: list[int]) -> bool:
        """Whether rows ``p``, ``p + 1``, ... have the layout of one record of :meth:`records` (a line of one number
        where ``cols`` says 1, at least ``cols[s]`` numbers where it says more)."""
        return all((w == c) if c == 1 else (w >= min(c, 3)) for w, c in
                   ((self.width(p + s), c) for s, c in enumerate(cols)))

    def counted_records(self, count: int, count_line: int, cols: list[int], what: list[str], counted: str,
                        noun: str, later: int = 0, after: tuple = ()) -> tuple[np.ndarray, list[tuple[int, str]]]:
        """The ``count`` records of :meth:`records` that a count line announces, checked against the blocks that
        are there: a count that is too small (a record of the same layout follows the last one read) or too large
        (the records end, at the end of the file or at the next count, before ``count`` of them) is refused,
        naming the count's line, instead of dropping records or reading the next count as a record.

        Parameters
        ----------
        count, count_line : int
            The count read and the number of its line.
        cols, what
            The layout of a record, as :meth:`records` takes it.
        counted : str
            What the count is, for the message ("the triplet count of atom 2").
        noun : str
            What a record is ("triplet"; the plural adds an s).
        later : int
            How many more one-number lines (the counts of the atoms that follow; a closing flag) may stand
            between these records and the next record.
        after : tuple of lists
            Layouts of what may follow those lines instead of a record (besides the end of the file).
        """
        start = self.pos
        rec = len(cols)
        fix = f"Correct the count to the number of {noun}s that follow, or write the file again"
        try:
            x, chunk = self.records(count, cols, what)
        except ForceConstantsFormatError as exc:
            k = 0
            while k < count and self.record_at(start + k * rec, cols):
                k += 1
            p = start + k * rec
            boundary = self.rows[p][0] if p < len(self.rows) else self.rows[-1][0] + 1 if self.rows else 1
            if exc.line is not None and exc.line < boundary:
                raise                                       # a damaged line inside a record of the right layout
            if p >= len(self.rows):
                last = self.rows[-1][0] if self.rows else count_line
                raise self.error(f"{counted} says {count} {noun}s, but the file ends after {k} of them (line {last}): "
                                 "the count disagrees with the blocks, or the file is cut short", line=count_line,
                                 fix=fix) from None
            if self._next_item(p, cols, later, after):
                raise self.error(f"{counted} says {count} {noun}s, but {k} follow (up to line "
                                 f"{self.rows[p - 1][0] if p > start else count_line}): the count disagrees with the "
                                 "blocks", line=count_line, fix=fix) from None
            raise
        k = 0
        while self.record_at(self.pos + k * rec, cols):
            k += 1
        if k:
            raise self.error(f"{counted} says {count} {noun}s, but {count + k} follow (the first beyond the count at "
                             f"line {self.rows[self.pos][0]}): the count disagrees with the blocks", line=count_line,
                             fix=fix)
        return x, chunk

    def _next_item(self, p: int, cols: list[int], later: int, after: tuple) -> bool:
        """Whether row ``p`` starts what follows a run of records: up to ``later`` one-number lines, then a record
        of layout ``cols``, one of the layouts ``after``, or the end of the file (after lines that all say 0: counts
        of atoms without records, a closing flag 0; a file that ends after an atom index is cut short)."""
        zeros = True
        for j in range(1, later + 1):
            if self.width(p + j - 1) != 1:
                return False
            zeros = zeros and float(self.rows[p + j - 1][1].split()[0]) == 0
            q = p + j
            if (q >= len(self.rows) and zeros) or self.record_at(q, cols) or any(self.record_at(q, a) for a in after):
                return True
        return False

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
        Cell and positions in Å (the scale factor applied; a negative one is the volume in Å³);
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
    """Write a VASP 5 POSCAR (atomic): ``cell`` rows in Å (scale 1), fractional positions ``frac``
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
        Images within ``tol`` (Å) of the shortest count as equally short (phonopy's tolerance).

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
        The image vector in Å.
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
