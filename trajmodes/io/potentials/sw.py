"""LAMMPS Stillinger-Weber potential files (``pair_style sw``, ``.sw``).

The format (LAMMPS documentation, ``pair_style sw``): ``#`` starts a comment; every entry is 14 words, which may run
over several lines: three element names (i, j, k) and the eleven numbers

    epsilon (energy), sigma (distance), a, lambda, gamma, costheta0, A, B, p, q, tol

The file's first line may say ``UNITS: metal`` (or ``real``); LAMMPS converts ``real`` energies to ``metal`` (epsilon
divided by 23.060549), and so does this reader.
"""
from __future__ import annotations

import re
from pathlib import Path

__all__ = ["read_sw", "SW_FIELDS"]

#: the eleven numbers of an entry, in the file's order
SW_FIELDS = ("epsilon", "sigma", "a", "lambda", "gamma", "costheta0", "A", "B", "p", "q", "tol")

#: kcal/mol -> eV, as LAMMPS converts ``real`` potential files for ``units metal``
_REAL_TO_METAL = 1.0 / 23.060549


def read_sw(path, units: str = "metal") -> list[dict]:
    """The entries of a LAMMPS ``.sw`` file, in the file's order.

    Parameters
    ----------
    path : str or Path
        The file.
    units : {"metal", "real"}
        The units wanted (trajmodes works in ``metal``); a file whose first line declares the other unit system has
        its energies (epsilon) converted the way LAMMPS does.

    Returns
    -------
    list of dict
        One per entry: ``elements`` (i, j, k), the eleven numbers under the names of :data:`SW_FIELDS` (epsilon in
        eV for ``metal``, sigma in Å, the rest dimensionless) and ``line`` (the entry's first line, 1-based).

    Raises
    ------
    ValueError
        For an entry whose numbers do not parse, an entry cut short by the end of the file, or a declared unit
        system that cannot be converted; the message names the file and the line.
    """
    path = Path(path)
    lines = path.read_text().splitlines()
    factor = 1.0
    if lines:
        m = re.search(r"UNITS:\s*(\S+)", lines[0])
        if m and m.group(1) != units:
            pair = (m.group(1), units)
            if pair == ("real", "metal"):
                factor = _REAL_TO_METAL
            elif pair == ("metal", "real"):
                factor = 1.0 / _REAL_TO_METAL
            else:
                raise ValueError(f"{path}: line 1: the file's units are {m.group(1)!r}; cannot convert to {units!r}")
    entries = []
    words: list[str] = []
    start = 0
    for number, text in enumerate(lines, start=1):
        text = text.split("#", 1)[0].split()
        if not text:
            continue
        if not words:
            start = number
        words += text
        if len(words) < 3 + len(SW_FIELDS):
            continue
        if len(words) > 3 + len(SW_FIELDS):
            raise ValueError(f"{path}: line {number}: entry starting on line {start} has {len(words)} words, "
                             f"expected {3 + len(SW_FIELDS)} (3 elements and {', '.join(SW_FIELDS)})")
        try:
            values = [float(w) for w in words[3:]]
        except ValueError:
            bad = next(w for w in words[3:] if not _is_number(w))
            raise ValueError(f"{path}: line {start}: {bad!r} is not a number (entry {' '.join(words[:3])})") from None
        entry = dict(zip(SW_FIELDS, values))
        entry["epsilon"] *= factor
        entry.update(elements=tuple(words[:3]), line=start)
        entries.append(entry)
        words = []
    if words:
        raise ValueError(f"{path}: line {start}: the file ends inside an entry ({len(words)} of "
                         f"{3 + len(SW_FIELDS)} words)")
    if not entries:
        raise ValueError(f"{path}: no Stillinger-Weber entry in it (empty, or only comments): a LAMMPS sw file has "
                         f"lines of three elements and {len(SW_FIELDS)} parameters, e.g. the Si.sw shipped with LAMMPS")
    return entries


def _is_number(word: str) -> bool:
    try:
        float(word)
    except ValueError:
        return False
    return True
