"""LAMMPS EAM potential files: ``pair_style eam`` (funcfl), ``eam/alloy`` (setfl) and ``eam/fs``."""
from __future__ import annotations

from pathlib import Path

import numpy as np

__all__ = ["read_setfl", "read_funcfl", "setfl_cutoff", "funcfl_cutoff"]


def read_setfl(path, fs: bool = False) -> dict:
    """The tables of a LAMMPS ``eam/alloy`` (setfl) or, with ``fs``, ``eam/fs`` file: elements, masses (amu),
    grids (nrho, drho, nr, dr, cut) and the tabulated F(rho), rho(r) and r*phi(r), as LAMMPS reads them."""
    lines = Path(path).read_text().splitlines()
    head = lines[3].split()
    nel = int(head[0])
    elements = head[1:1 + nel]
    nrho, drho, nr, dr, cut = lines[4].split()[:5]
    nrho, nr, drho, dr, cut = int(nrho), int(nr), float(drho), float(dr), float(cut)
    frho, rhor, masses = [], [], []
    # element blocks: a header line (number, mass, a, lattice), then numbers in any line layout
    rest = lines[5:]
    i = 0
    stream: list[str] = []

    def take(k):
        nonlocal i, stream
        while len(stream) < k:
            stream += rest[i].split()
            i += 1
        out, stream = stream[:k], stream[k:]
        return out

    for _ in range(nel):
        if stream:
            raise ValueError(f"{path}: element block does not start on a new line")
        hdr = rest[i].split()
        i += 1
        masses.append(float(hdr[1]))
        frho.append(np.array(take(nrho), dtype=float))
        if fs:
            rhor.append([np.array(take(nr), dtype=float) for _ in range(nel)])
        else:
            rhor.append(np.array(take(nr), dtype=float))
    z2r = {}
    for a in range(nel):
        for b in range(a + 1):
            z2r[a, b] = np.array(take(nr), dtype=float)
    return dict(elements=elements, masses=masses, nrho=nrho, drho=drho, nr=nr, dr=dr, cut=cut,
                frho=frho, rhor=rhor, z2r=z2r)


def read_funcfl(path) -> dict:
    """The tables of a LAMMPS ``eam`` (funcfl) file: atomic number, mass, grids, F(rho), Z(r) and rho(r)."""
    lines = Path(path).read_text().splitlines()
    hdr = lines[1].split()
    nrho, drho, nr, dr, cut = lines[2].split()[:5]
    nrho, nr, drho, dr, cut = int(nrho), int(nr), float(drho), float(dr), float(cut)
    v = np.array(" ".join(lines[3:]).split(), dtype=float)
    if len(v) < nrho + 2 * nr:
        raise ValueError(f"{path}: {len(v)} numbers, expected {nrho + 2 * nr}")
    return dict(number=int(hdr[0]), mass=float(hdr[1]), nrho=nrho, drho=drho, nr=nr, dr=dr, cut=cut,
                frho=v[:nrho], zr=v[nrho:nrho + nr], rhor=v[nrho + nr:nrho + 2 * nr])


def _header_cutoff(path, line: int) -> float:
    """The cutoff (A in metal units), the fifth number of the grid line ``line`` (0-based) of an EAM file."""
    with open(path, encoding="utf-8", errors="replace") as f:
        for k, text in enumerate(f):
            if k == line:
                words = text.split()
                try:
                    cut = float(words[4])
                except (IndexError, ValueError):
                    raise ValueError(f"{path}, line {line + 1}: expected Nrho drho Nr dr cutoff, found "
                                     f"{text.strip()[:60]!r}") from None
                if not cut > 0:
                    raise ValueError(f"{path}, line {line + 1}: the cutoff {cut} is not positive")
                return cut
    raise ValueError(f"{path}: ends before line {line + 1}, the line of its grids and cutoff")


def setfl_cutoff(path) -> float:
    """The cutoff of an ``eam/alloy`` (setfl) or ``eam/fs`` file (its fifth line: Nrho drho Nr dr cutoff), without
    reading its tables."""
    return _header_cutoff(path, 4)


def funcfl_cutoff(path) -> float:
    """The cutoff of an ``eam`` (funcfl) file (its third line: Nrho drho Nr dr cutoff), without reading its tables."""
    return _header_cutoff(path, 2)
