"""The ideal crystal behind a reference structure that may be an MD snapshot (thermal noise)."""
from __future__ import annotations

import warnings

import numpy as np

from trajmodes.lattice.crystal import SPGLIB_ATOMS, Crystal
from trajmodes.lattice.symmetry import supercell_group, symmetrize_sites
from trajmodes.lattice.spglib_calls import SYMPREC

__all__ = ["ideal_crystal", "operation_count"]


def operation_count(supercell: Crystal, symprec: float, search: str = "auto") -> int:
    """The number of space-group operations of ``supercell`` within ``symprec`` (A), lattice translations included:
    what spglib counts on the whole cell, up to :data:`~trajmodes.lattice.crystal.SPGLIB_ATOMS` atoms; above, the
    lattice translations (found in O(N log N)) times the operations spglib finds on the primitive cell that keep the
    supercell's lattice (:func:`~trajmodes.lattice.symmetry.supercell_group`, as spglib on the whole cell), whose
    averaged positions carry less noise than the cell's atoms (so a noisy cell can show its whole group at a
    smaller tolerance); a big cell without lattice translations counts 1 (spglib on all its atoms is what this
    avoids). ``search`` as in :meth:`Crystal.primitive`."""
    if search == "spglib" or (search == "auto" and supercell.n_atoms <= SPGLIB_ATOMS):
        try:
            return len(supercell.symmetry(symprec).rotations)
        except ValueError:                     # no symmetry at this tolerance (atoms closer than it, for spglib)
            return 1
    # primitive cells of up to SPGLIB_ATOMS atoms of the rarest species (spglib runs on the primitive cell): below
    # the noise of a big snapshot every atom would be tested as a candidate translation
    if supercell.lattice_translations(symprec, max_rare=SPGLIB_ATOMS).n_cells == 1:
        return 1
    primitive = supercell.primitive(symprec, search="translations")
    if primitive.n_atoms == supercell.n_atoms:
        return 1                               # no lattice translation: its point operations are not searched
    S = np.rint(supercell.cell @ np.linalg.inv(primitive.cell))
    return supercell.n_atoms // primitive.n_atoms * len(supercell_group(primitive, S, symprec)[0])


def ideal_crystal(supercell: Crystal, symprec: float = SYMPREC, allow_p1: bool = False,
                  stacklevel: int = 2, averaged: bool = False) -> tuple[Crystal, float]:
    """The ideal crystal behind a reference that may be an MD snapshot (thermal noise).

    When ``symprec`` (A) finds no primitive cell smaller than the supercell, the tolerance (up to
    0.5 A; for a time average of more than :data:`~trajmodes.lattice.crystal.SPGLIB_ATOMS` atoms that shows no lattice
    up to 0.5 A, up to :data:`NOISE_SPACING_SHARE` of its mean atomic spacing: the average of 4 frames of 864,000 Cu
    atoms at 300 K sits 0.30 A at most from its sites, two of its atoms 0.5-0.6 A apart after a translation) at which
    the most symmetry operations are found (:func:`operation_count`) is used instead; the supercell
    is then rebuilt on the ideal lattice sites (exact lattice translations, the primitive cell's sites made
    symmetric under its space group and repeated over the supercell), with a
    warning (none when ``averaged``: a time average of the run is expected to sit off the sites by its noise).
    A time average of the run (``averaged``) is rebuilt on the ideal sites even where it shows its symmetry at
    ``symprec``: its atoms sit off them by the run's noise, and the sites, unlike the average, are the same (up to one
    translation of the whole crystal) for the average of any part of the run.
    Raises ValueError when no lattice translations are found at any tolerance, unless ``allow_p1``.

    Returns
    -------
    Crystal
        The ideal supercell (``supercell`` itself when it already is one).
    float
        The symmetry tolerance (A) to use with it (the averaged sites keep ~0.01 A of noise).
    """
    tol = float(symprec)
    if supercell.n_atoms == 1:
        return supercell, tol
    # an ideal cell at symprec? (a big one: its primitive cells of up to SPGLIB_ATOMS atoms of the rarest species,
    # without a search that tests every atom of a noisy cell; bigger ones are looked for if the scan finds nothing)
    big = supercell.n_atoms > SPGLIB_ATOMS
    if not big or supercell.lattice_translations(tol, max_rare=SPGLIB_ATOMS).n_cells > 1:
        if supercell.primitive(tol).n_atoms < supercell.n_atoms:
            found = _mapped_primitive(supercell, tol, None)[0] if averaged else None
            return (supercell if found is None else _on_sites(supercell, *found, tol)), tol
    # the tolerance (up to 0.5 A) at which the snapshot shows the most symmetry operations; where spglib's lattice at
    # that tolerance does not map the cell's atoms onto its sites (a large tolerance can skew it), the translations
    # found directly at the same tolerance, then the tolerance with the next most operations
    tols = tol * 2.0 ** np.arange(0, 12)
    tols = np.append(tols[tols < 0.5], 0.5)
    # no crystal has more operations than a lattice of one atom per primitive cell of each species' share, times the
    # 48 of the cubic holohedry: a tolerance that reaches it cannot be beaten by a larger one (ties go to the smaller
    # tolerance), so the scan counts the larger ones only if its sites cannot be mapped (4 s a tolerance at 864,000
    # atoms)
    most = 48 * int(np.gcd.reduce(np.unique(supercell.types, return_counts=True)[1]))
    # a time average (noise of ~0.01 A on every atom) is scanned by its lattice translations, found in O(N log N),
    # and spglib on the primitive cell: spglib on all the noisy atoms costs seconds a tolerance above 0.1 A
    scan = "translations" if averaged else "auto"
    n_ops = []
    for t in tols:
        n_ops.append(operation_count(supercell, float(t), scan))
        if n_ops[-1] >= most:
            break
    found, why, tried = None, None, set()
    # where the scan stopped early, the tolerances that reached the most come first whatever the rest count
    rounds = [[i for i in range(len(n_ops)) if n_ops[i] >= most], None] if len(n_ops) < len(tols) else [None]
    for cands in rounds:
        if cands is None:
            n_ops += [operation_count(supercell, float(t), scan) for t in tols[len(n_ops):]]
            cands = [i for i in range(len(tols)) if i not in tried]
        for i in sorted(cands, key=lambda i: (-n_ops[i], i)):
            if n_ops[i] <= 1:
                break
            tried.add(i)
            found, why = _mapped_primitive(supercell, float(tols[i]), why)
            if found is not None:
                tol = float(tols[i])
                break
        if found is not None:
            break
    if found is None and averaged and big and max(n_ops) <= 1:
        # a time average of few frames over many atoms: its noise's tail (the largest of 10^6 atoms' offsets, twice
        # over in the offset between two atoms) can reach beyond 0.5 A where its lattice is plain
        for t in _noise_tolerances(supercell):
            if operation_count(supercell, t, scan) > 1:
                found, why = _mapped_primitive(supercell, t, why)
                if found is not None:
                    tol = t
                    break
    # an ideal cell of a primitive cell beyond the limit (a time average is no ideal cell: its noise exceeds symprec,
    # and the search for a primitive cell of any size costs seconds at 10^6 atoms)
    if found is None and big and not averaged and supercell.primitive(float(symprec)).n_atoms < supercell.n_atoms:
        return supercell, float(symprec)
    if found is None:
        if not allow_p1:
            raise ValueError(
                f"the reference crystal shows no lattice translations ({supercell.n_atoms} atoms, searched with "
                f"symmetry tolerances {float(symprec):g} to 0.5 A{'; ' + why if why else ''}): it is too far from "
                f"a crystal, so the fit would treat all {supercell.n_atoms} atoms as independent (a model without "
                "translational symmetry, far more parameters and memory). Pass the ideal reference (the LAMMPS data "
                "file the run started from, or reference='average'), or allow_p1=True if the crystal really has no "
                "translational symmetry in this cell")
        return supercell, float(symprec)
    ideal = _on_sites(supercell, *found, tol)
    rms = float(np.sqrt(((ideal.positions - supercell.positions) ** 2).sum(axis=1).mean()))
    if averaged:
        # a time average sits off the sites by the run's statistical noise (and, NPT, in the mean cell, which no
        # data file of the run holds): rebuilding it on the ideal sites is what is wanted, nothing to warn about
        return ideal, tol
    warnings.warn(f"the reference is not an ideal crystal (rms {rms:.3f} A from the lattice sites found with "
                  f"symprec = {tol:g} A); fitting against the ideal sites. Pass the ideal reference (for "
                  "example the LAMMPS data file of a constant-volume run, or reference='average') to avoid this",
                  UserWarning, stacklevel=stacklevel + 1)
    return ideal, tol


#: tolerances beyond 0.5 A, for a big time average that shows no lattice up to 0.5 A: up to this share of its mean
#: atomic spacing (the cube root of the volume per atom; nearest neighbours sit about 0.9-1.1 of it apart)
NOISE_SPACING_SHARE = 0.35


def _noise_tolerances(supercell: Crystal) -> list[float]:
    """0.5 A times powers of sqrt(2), up to :data:`NOISE_SPACING_SHARE` of the mean atomic spacing of ``supercell``
    (Cu: 0.71 A): a translation within them cannot send an atom onto a neighbour, only miss its own site by noise."""
    spacing = (abs(np.linalg.det(supercell.cell)) / supercell.n_atoms) ** (1 / 3)
    out, t = [], 0.5 * np.sqrt(2.0)
    while t <= NOISE_SPACING_SHARE * spacing:
        out.append(float(t))
        t *= np.sqrt(2.0)
    return out


def _on_sites(supercell: Crystal, primitive: Crystal, smap, tol: float) -> Crystal:
    """``supercell`` with its atoms on the ideal sites of ``primitive`` (``smap``: where each atom is): the sites made
    symmetric in the primitive cell (the supercell's space group within ``tol`` A, spglib on the few atoms), then
    repeated on the exact lattice translations (no array over pairs of supercell atoms)."""
    sites = symmetrize_sites(primitive.cell, primitive.positions, *supercell_group(primitive, smap.matrix, tol))
    ideal = Crystal(supercell.cell, sites[smap.atom] + smap.lattice @ primitive.cell + smap.shift, supercell.species,
                    supercell.masses)
    ideal.take_translations(primitive.cell, smap.atom, tol)          # not searched for on its atoms again
    return ideal


def _mapped_primitive(supercell: Crystal, tol: float, why: str | None):
    """The primitive cell at ``tol`` (A) whose lattice maps every atom of ``supercell`` onto a site, with its map:
    spglib's (below :data:`~trajmodes.lattice.crystal.SPGLIB_ATOMS` atoms), else the lattice translations found
    directly; ``(None, why)`` when neither does."""
    searches = ("auto", "translations") if supercell.n_atoms <= SPGLIB_ATOMS else ("auto",)
    for search in searches:
        try:
            primitive = supercell.primitive(tol, search=search)
            if primitive.n_atoms == supercell.n_atoms:
                continue
            return (primitive, supercell.supercell_map(primitive)), why
        except ValueError as exc:
            why = f"at {tol:g} A: {exc}"
    return None, why
