"""LAMMPS EAM potential files: ``pair_style eam`` (funcfl), ``eam/alloy`` (setfl) and ``eam/fs``."""
from __future__ import annotations

from pathlib import Path

import numpy as np

__all__ = ["read_setfl", "read_funcfl"]


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
