"""The ideal crystal behind a reference structure that may be an MD snapshot (thermal noise)."""
from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from trajmodes.lattice.crystal import SPGLIB_ATOMS, Crystal
from trajmodes.lattice.symmetry import supercell_group, symmetrize_sites
from trajmodes.lattice.spglib_calls import SYMPREC

__all__ = ["ideal_crystal", "operation_count", "MeanSites", "mean_sites", "SITE_SIGNIFICANCE", "SITE_SETTLE",
           "RunCrystal", "run_crystal", "PHASE_SIGMAS", "PHASE_SIGNIFICANCE"]


def operation_count(supercell: Crystal, symprec: float, search: str = "auto") -> int:
    """The number of space-group operations of ``supercell`` within ``symprec`` (Å), lattice translations included:
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

    When ``symprec`` (Å) finds no primitive cell smaller than the supercell, the tolerance (up to
    0.5 Å; for a time average of more than :data:`~trajmodes.lattice.crystal.SPGLIB_ATOMS` atoms that shows no lattice
    up to 0.5 Å, up to :data:`NOISE_SPACING_SHARE` of its mean atomic spacing: the average of 4 frames of 864,000 Cu
    atoms at 300 K sits 0.30 Å at most from its sites, two of its atoms 0.5-0.6 Å apart after a translation) at which
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
        The symmetry tolerance (Å) to use with it (the averaged sites keep ~0.01 Å of noise).
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
    """0.5 Å times powers of sqrt(2), up to :data:`NOISE_SPACING_SHARE` of the mean atomic spacing of ``supercell``
    (Cu: 0.71 Å): a translation within them cannot send an atom onto a neighbour, only miss its own site by noise."""
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
    """The primitive cell at ``tol`` (Å) whose lattice maps every atom of ``supercell`` onto a site, with its map:
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


#: standard errors beyond which the run's mean sites are taken to have moved from the reference's (the noise of a
#: sublattice's mean, from the spread of its atoms' means: its time correlation included)
SITE_SIGNIFICANCE = 3.0

#: standard errors beyond which the sites are settled at the run's own mean (a static offset of the sites is read as
#: softness of the fully symmetric optical mode, N_cells times over: measured on wurtzite GaN at 1200 K (576 atoms,
#: 2001 frames), a sublattice offset of 2.4 standard errors (0.0012 A, the average of a few frames against the run's)
#: lowered the top optical frequency at Gamma by 0.52 THz (2 %); settled, the fit equals the one from the run's full
#: average to 1e-3 THz)
SITE_SETTLE = 1.0


@dataclass(frozen=True)
class MeanSites:
    """The run's mean sites against a reference crystal, sublattice by sublattice (:func:`mean_sites`).

    Attributes
    ----------
    offset : ndarray (N, 3)
        The part of every atom's mean displacement that the space group allows (the group average of the
        sublattices' mean displacements, less one translation of the whole crystal): how the free internal
        coordinates moved, A. Zero where nothing moved beyond the noise.
    site_offset, site_error : ndarray (n_prim, 3), (n_prim,)
        That offset and its standard error per primitive atom (sublattice), Å.
    broken, broken_error : ndarray (n_prim, 3), (n_prim,)
        The part of each sublattice's mean displacement that the space group does not allow, and its standard
        error, Å.
    moved : bool
        Whether the allowed offset is beyond :data:`SITE_SETTLE` standard errors (the sites are then settled at the
        run's mean).
    noticed, breaks : bool
        Whether the allowed offset, or the part not allowed, is beyond :data:`SITE_SIGNIFICANCE` standard errors (a
        user is told).
    """

    offset: np.ndarray
    site_offset: np.ndarray
    site_error: np.ndarray
    broken: np.ndarray
    broken_error: np.ndarray
    moved: bool
    noticed: bool
    breaks: bool

    def words(self, primitive: Crystal, source: str = "the reference") -> str:
        """The largest move between two sublattices, in one clause: 'the N sublattice (primitive atom 2) sits 0.0110 Å
        from the Ga one (primitive atom 0) ..., relative to their sites in the reference'."""
        ref = int(np.argmax(primitive.masses))                       # measured from the heaviest sublattice
        rel = self.site_offset - self.site_offset[ref]
        k = int(np.argmax(np.linalg.norm(rel, axis=1)))
        d = rel[k]
        frac = d @ np.linalg.inv(primitive.cell)
        along = max(range(3), key=lambda i: abs(frac[i]) * np.linalg.norm(primitive.cell[i]))
        error = np.hypot(self.site_error[k], self.site_error[ref])
        return (f"the {primitive.species[k]} sublattice (primitive atom {k}) sits {np.linalg.norm(d):.4f} A from the "
                f"{primitive.species[ref]} one (atom {ref}) relative to their sites in {source} ({frac[along]:+.5f} "
                f"of {'abc'[along]}; {np.linalg.norm(d) / error:.0f} standard errors)")


    def messages(self, primitive: Crystal, where: str, source: str = "the reference") -> list[str]:
        """What the sites show, one warning each, for the run ``where`` measured from the sites of ``source``: sites
        that break its symmetry, and free internal coordinates that moved (the fit then measures from the run's own
        sites)."""
        out = []
        if self.breaks:
            k = int(np.argmax(np.linalg.norm(self.broken, axis=1) / np.maximum(self.broken_error, 1e-12)))
            d = np.linalg.norm(self.broken[k])
            out.append(f"{where}: the mean sites of the run break the symmetry of the reference: the "
                       f"{primitive.species[k]} sublattice (primitive atom {k}) sits {d:.4f} A off in a direction its "
                       f"space group does not allow ({d / max(self.broken_error[k], 1e-12):.0f} standard errors): the crystal may "
                       "have another structure at this temperature (a phase transition, a defect); the constants are "
                       "those of the reference's symmetry, measured from its sites")
        if self.noticed:
            out.append(f"{where}: {self.words(primitive, source)}: the free internal coordinates of the crystal "
                       f"are not the run's{' (they moved with temperature)' if source == 'the reference' else ''}, "
                       "and displacements measured from those sites would read that static offset as softness. The "
                       "fit measures them from the run's own mean sites (the lattice and the atom order kept; one "
                       "more pass over the run)")
        return out

    def reference(self, ideal):
        """The reference structure ``ideal`` (a :class:`~trajmodes.lattice.structure.Structure`, the sites the
        displacements were measured from) with its atoms moved by :attr:`offset`: its lattice, atoms and order
        kept."""
        from trajmodes.lattice.structure import Structure
        return Structure(np.asarray(ideal.positions, float) + self.offset, ideal.cell, ideal.species, ideal.masses,
                         ideal.origin)


def mean_sites(supercell: Crystal, primitive: Crystal, atom: np.ndarray, mean_u: np.ndarray,
               symprec: float = SYMPREC) -> MeanSites:
    """Where the run's atoms sit on average, measured from the sites of an ideal crystal: the part of the mean
    displacement that the crystal's space group allows (a change of its free internal coordinates, as the u of
    wurtzite moves with temperature) and the part it does not (a change of structure), each against its noise.

    A static offset of the sites the displacements are measured from is read by a fit of forces as softness: the
    mean force vanishes at the run's mean sites, not at the reference's, and the fully symmetric optical mode of the
    sublattices that moved takes the offset, N_cells times over, as a displacement without a restoring force.

    Parameters
    ----------
    supercell : Crystal
        The ideal supercell the displacements were measured from.
    primitive : Crystal
        Its primitive cell (same Cartesian frame); ``atom`` maps the supercell's atoms onto it.
    atom : ndarray of int (N,)
        Primitive atom of every supercell atom.
    mean_u : ndarray (N, 3)
        The time average of every atom's displacement from ``supercell``, Å.
    symprec : float
        spglib tolerance for the primitive cell's space group, Å.
    """
    from trajmodes.lattice.symmetry import cartesian_rotations, site_images
    u = np.asarray(mean_u, float)
    u = u - u.mean(axis=0)                                   # one translation of the whole crystal: not seen
    atom = np.asarray(atom, np.int64)
    n = primitive.n_atoms
    count = np.bincount(atom, minlength=n).astype(float)
    site = np.zeros((n, 3))
    np.add.at(site, atom, u)
    site /= count[:, None]
    spread = np.zeros(n)
    np.add.at(spread, atom, ((u - site[atom]) ** 2).sum(axis=1))
    # standard error of a sublattice's mean, per Cartesian component (the atoms' means scatter by the run's noise)
    err = np.sqrt(spread / np.maximum(count - 1, 1) / 3 / count)
    ds = primitive.symmetry(symprec)
    W, w = np.asarray(ds.rotations, np.int64), np.asarray(ds.translations, float)
    kp, _, _ = site_images(primitive, W, w)
    R = cartesian_rotations(W, primitive.cell)
    sym = np.zeros((n, 3))
    for o in range(len(W)):                                   # the group average: operation o takes k to kp[o, k]
        np.add.at(sym, kp[o], site @ R[o].T)
    sym /= len(W)
    sym -= sym.mean(axis=0)
    broken = site - site.mean(axis=0) - sym
    orbit = np.array([len(np.unique(kp[:, k])) for k in range(n)], float)
    sym_err = err / np.sqrt(orbit)                            # averaged over the sublattices of its orbit
    size = np.linalg.norm(sym, axis=1)
    z = np.where(sym_err > 0, size / np.where(sym_err > 0, np.sqrt(3) * sym_err, 1.0), np.where(size > 1e-6, np.inf, 0))
    moved, noticed = bool((z > SITE_SETTLE).any()), bool((z > SITE_SIGNIFICANCE).any())
    breaks = bool((np.linalg.norm(broken, axis=1) > np.maximum(SITE_SIGNIFICANCE * np.sqrt(3) * err, 1e-6)).any())
    offset = sym[atom] if moved else np.zeros_like(u)
    return MeanSites(offset, sym, np.sqrt(3) * sym_err, broken, np.sqrt(3) * err, moved, noticed, breaks)


#: standard errors of a site's mean (one Cartesian component, the rms over the run's atoms) within which the run's
#: mean sites are made symmetric to find the crystal the run holds (:func:`run_crystal`): the largest distance between
#: two of 10^3 atoms' noisy means (each component sqrt(2) standard errors) reaches about 6 of them, so the crystal the
#: run holds shows at 7, while a site that moved by more than 7 standard errors shows as a change of crystal
PHASE_SIGMAS = 7.0
#: where the run's crystal at that tolerance has fewer symmetry operations than the reference's (a change that noise
#: can fake: one atom's mean in the tail of its noise), the atoms that the reference puts on one site of different cells
#: must differ by this many standard errors in the rms over the run's atoms (noise alone: 1) for the run to have left
#: the reference's crystal
PHASE_SIGNIFICANCE = 3.0


@dataclass(frozen=True)
class RunCrystal:
    """The crystal the run's mean sites hold against the reference's, each found at the same tolerance, set by the
    noise of the run's mean sites (:func:`run_crystal`).

    Attributes
    ----------
    left : bool
        Whether the run holds another crystal than the reference (another space group, or another lattice of
        translations) at :attr:`tolerance`.
    tolerance : float
        The symmetry tolerance, A: :data:`PHASE_SIGMAS` standard errors of a site's mean (at least the fit's
        ``symprec``).
    error : float
        The standard error of one Cartesian component of a site's mean, rms over the atoms, Å.
    reference, run : tuple
        (space-group symbol, number, atoms of the primitive cell, primitive cell (3, 3) Å) of each, at
        :attr:`tolerance`; the run's cell is None where its mean sites show no lattice translation.
    spread, spread_errors : float
        The largest distance between the mean sites of two atoms that the reference puts on the same site of different
        cells (after the shift their sublattice shares), A, and in standard errors.
    spread_rms : float
        Those distances' rms over the run's atoms, in standard errors (noise alone: about 1).
    moved, moved_errors : float
        The largest distance of an atom's site in the run's crystal from its site in the reference (the whole
        crystal's translation taken out), A, and in standard errors of a site's mean.
    supercell : Crystal or None
        The reference's supercell with its atoms (same order) on the sites of the run's crystal (symmetrised at
        :attr:`tolerance`); None where the run's mean sites show no lattice translation.
    n_frames : int
        The frames whose mean sites were measured.
    """

    left: bool
    tolerance: float
    error: float
    reference: tuple
    run: tuple
    spread: float
    spread_errors: float
    spread_rms: float
    moved: float
    moved_errors: float
    supercell: Crystal | None
    n_frames: int

    @staticmethod
    def _words(found) -> str:
        symbol, number, atoms, cell = found
        if cell is None:
            return f"{symbol} ({number}) without lattice translations in this cell"
        a, b, c = np.linalg.norm(cell, axis=1)
        return f"{symbol} ({number}), {atoms}-atom primitive cell {a:.3f} {b:.3f} {c:.3f} A"

    def line(self, where: str) -> str:
        """One line: what the run holds against the reference, the evidence, what the fit does and what to do."""
        ref, run = self.reference, self.run
        out = (f"{where}: the run left the crystal of the reference: its mean sites over {self.n_frames} frames, made "
               f"symmetric within {self.tolerance:.3f} A ({PHASE_SIGMAS:g} standard errors of a site's mean, "
               f"{self.error:.4f} A), are {self._words(run)}; the reference's at the same tolerance are "
               f"{self._words(ref)}. Atoms the reference puts on one site of different cells sit up to "
               f"{self.spread:.3f} A apart ({self.spread_errors:.0f} standard errors; rms over the atoms "
               f"{self.spread_rms:.1f}), and the run's sites are up to "
               f"{self.moved:.3f} A from the reference's ({self.moved_errors:.0f} standard errors)")
        if self.supercell is None:
            return out + (": the run is not one crystal in this cell (a transition under way, domains, a melt), and "
                          "constants of the reference's cell would average different sites as one. Run longer, or "
                          "in a cell that holds the new crystal; keep_reference=True (--keep-reference) fits the "
                          "reference's cell regardless")
        return out + (". The fit uses the run's crystal (its primitive cell; the reference's atoms on the run's "
                      "mean sites), as a fit without a reference would; keep_reference=True (--keep-reference) fits "
                      "the reference's cell regardless (its constants then average sites the run holds apart)")


def run_crystal(supercell: Crystal, primitive: Crystal, atom: np.ndarray, mean_u: np.ndarray, error,
                n_frames: int, symprec: float = SYMPREC) -> RunCrystal:
    """The crystal the run's mean sites hold, against the reference's: both found at one tolerance set by the noise of
    the mean sites (:data:`PHASE_SIGMAS` standard errors), with the machinery that finds the crystal of a run without a
    reference (the primitive cell of its time average, its sites made symmetric: :func:`ideal_crystal`).

    A free internal coordinate that moved with temperature (the u of wurtzite) keeps the space group and the cell: the
    run holds the reference's crystal, and :func:`mean_sites` settles its sites. A run that changed phase (a
    transition in the potential, a learned potential with another ground state, tilts that vanish) holds another
    space group or another lattice: the reference then puts sites the run holds apart on one site (or leaves apart
    sites the run holds equal), and constants fitted on its cell average them.

    Parameters
    ----------
    supercell : Crystal
        The reference's ideal supercell the displacements were measured from.
    primitive : Crystal
        Its primitive cell; ``atom`` maps the supercell's atoms onto it.
    mean_u : ndarray (N, 3)
        The mean displacement of every atom from ``supercell``, Å.
    error : float or ndarray (N,)
        The standard error of one Cartesian component of each atom's mean, Å.
    n_frames : int
        The frames of the mean (for the message).
    symprec : float
        The fit's tolerance, A: the least tolerance used.
    """
    u = np.asarray(mean_u, float)
    u = u - u.mean(axis=0)
    atom = np.asarray(atom, np.int64)
    n = primitive.n_atoms
    err = np.broadcast_to(np.asarray(error, float), (len(u),))
    sigma = float(np.sqrt(np.mean(err ** 2)))
    tol = max(PHASE_SIGMAS * sigma, float(symprec))
    # the spread of each sublattice's atoms about their shared shift: what the reference says are equal sites
    count = np.bincount(atom, minlength=n).astype(float)
    site = np.zeros((n, 3))
    np.add.at(site, atom, u)
    site /= np.maximum(count, 1)[:, None]
    dev = np.linalg.norm(u - site[atom], axis=1)
    i = int(np.argmax(dev))
    spread = float(dev[i])
    spread_errors = spread / max(float(np.sqrt(3) * err[i]), 1e-12)
    spread_rms = float(np.sqrt(np.mean(dev ** 2) / max(3 * float(np.mean(err ** 2)), 1e-24)))

    def found(c: Crystal, cell):
        try:
            ds = c.symmetry(tol)
            return (str(ds.international), int(ds.number), c.n_atoms, cell), len(ds.rotations)
        except ValueError:
            return ("P1", 1, c.n_atoms, cell), 1
    ref_prim = primitive.primitive(tol)
    ref, ops = found(ref_prim, ref_prim.cell)
    ref_ops = ops * (supercell.n_atoms // ref_prim.n_atoms)   # the operations of the supercell, translations included
    avg = Crystal(supercell.cell, supercell.positions + u, supercell.species, supercell.masses)
    mapped, _ = _mapped_primitive(avg, tol, None)
    ideal = None
    if mapped is None:
        run, run_ops = (found(avg, None) if avg.n_atoms <= SPGLIB_ATOMS else (("P1", 1, avg.n_atoms, None), 1))
        moved = float(np.linalg.norm(u, axis=1).max())
        left = ref_prim.n_atoms < supercell.n_atoms          # the reference has cells to hold apart; the run none
    else:
        run_prim, smap = mapped
        run, ops = found(run_prim, run_prim.cell)
        run_ops = ops * (supercell.n_atoms // run_prim.n_atoms)
        ideal = _on_sites(avg, run_prim, smap, tol)
        d = ideal.positions - supercell.positions
        d -= d.mean(axis=0)
        moved = float(np.linalg.norm(d, axis=1).max())
        M = run_prim.cell @ np.linalg.inv(ref_prim.cell)
        same_lattice = bool(np.allclose(M, np.rint(M), atol=1e-3) and abs(round(np.linalg.det(M))) == 1)
        left = not (same_lattice and run[1] == ref[1] and run[2] == ref[2])
    # less symmetry than the reference's: noise can fake that (one mean in the tail of its noise), unless the cells
    # the reference says are equal differ over the run's atoms; more symmetry it cannot (the reference keeps its own
    # at the same tolerance)
    if left and run_ops <= ref_ops and spread_rms < PHASE_SIGNIFICANCE:
        left = False
    return RunCrystal(left, tol, sigma, ref, run, spread, spread_errors, spread_rms, moved,
                      moved / max(np.sqrt(3) * sigma, 1e-12), ideal if left else None, n_frames)
