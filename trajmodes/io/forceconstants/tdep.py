"""TDEP force-constant files: ``infile.ucposcar``, ``infile.ssposcar``, ``infile.forceconstant`` and
``infile.forceconstant_thirdorder`` (Hellman et al., Phys. Rev. B 87, 104111 (2013); Hellman and Abrikosov,
Phys. Rev. B 88, 144301 (2013)): the second order and the entry points :func:`read_tdep` and :func:`write_tdep`; the
polar section and ``infile.lotosplitting`` in :mod:`trajmodes.io.forceconstants.tdep_polar`, the third order in
:mod:`trajmodes.io.forceconstants.tdep_third`, the line reader and POSCAR files that ShengBTE and GPUMD share in
:mod:`trajmodes.io.forceconstants.text`.

The layouts, as TDEP's own reader takes them (list-directed Fortran reads: the first numbers of a line count,
text after them is a comment):

``infile.ucposcar``, ``infile.ssposcar``
    VASP 5 POSCAR files of the unit (primitive) cell and of the supercell, lattice and positions in Å,
    positions fractional ("direct"); TDEP wraps fractional coordinates into [0, 1). The supercell must be the
    ideal lattice, commensurate with the unit cell to machine precision. POSCAR files hold no masses: the
    elements' standard masses are used.
``infile.forceconstant`` (second order, eV/Å²)
    ``n_atoms`` (unit cell); the cutoff in Å; then per unit-cell atom ``a``: the number of its pairs,
    and per pair the unit-cell index ``b`` of the partner (1-based), the lattice vector of the partner's cell
    in fractional coordinates of the unit cell, and three lines of the 3 x 3 block
    Phi[a, b + R][x, y] (row x = direction of atom a). Then one line with 0 (no Born charges; a polar file
    has a non-zero correction type and a section of dielectric and Born-charge data after it).
``infile.forceconstant_thirdorder`` (third order, eV/Å³)
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
the dielectric tensor, ``ewald_lambda`` = lambda / bohr (1/Å) and TDEP's e^2 / (4 pi eps0) (Hartree * bohr in its own
constants, :data:`TDEP_NAC_FACTOR`), so that :class:`trajmodes.Phonons` adds the dipole-dipole dynamical matrix back
as TDEP does. Written, short-range constants go out as they are; full ones with Born charges are converted first
(:meth:`~trajmodes.forceconstants.model.ForceConstants.with_convention`), and ``infile.lotosplitting`` (TDEP's input
of Born charges for a polar fit: three lines of the dielectric tensor, then three lines Z[a, E, :] per atom) is
written beside them.

Reading checks every per-atom count against the blocks that follow it (a count one short would drop the last
triplet or quartet; one too many would read the next count as a block) and refuses lines after the last block,
naming the count's line and the atom.

The files name pairs and triplets of the infinite crystal, not of a supercell. Writing, every constant of a
supercell pair is given once per shortest periodic image of the pair, divided by the number of such images
(the Wigner-Seitz treatment of phonopy, phono3py and :class:`trajmodes.Phonons`), and a third-order constant
once per combination of the shortest images of its second and third atoms (weight 1/(m2 m3), as phono3py
and :mod:`trajmodes.phonons.anharmonic.interaction`): TDEP's lattice sums then give the dispersion and three-phonon
couplings of trajmodes and phonopy at every q. Reading, every pair and triplet is folded back onto the
supercell of ``infile.ssposcar`` (constants that land on the same supercell pair add up), so a round trip
gives the supercell constants back to round-off. Units need no conversion: TDEP's files are in eV and
Å, as trajmodes.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from trajmodes.errors import ForceConstantsFormatError, blamed
from trajmodes.io.forceconstants.base import FCFormat
from trajmodes.io.forceconstants.tdep_polar import (TDEP_BOHR_A, TDEP_CHARGE_TOL, TDEP_HARTREE_EV, TDEP_NAC_FACTOR,
                                                    TDEP_POLAR_TYPE, polar_section_lines, read_lotosplitting,
                                                    read_polar_section, write_lotosplitting)
from trajmodes.io.forceconstants.tdep_fourth import read_tdep_fc4, write_tdep_fc4
from trajmodes.io.forceconstants.tdep_third import read_tdep_fc3, write_tdep_fc3
from trajmodes.io.forceconstants.text import (MASS_TOLERANCE, Lines, check_poscar_species, expand_images, image_groups,
                                              pair_images, provenance_line, read_poscar, refuse_nac,
                                              supercell_fractions, wrapped_frame, write_poscar, write_text)
from trajmodes.lattice.crystal import Crystal

# the polar and POSCAR names are imported from here too (their homes: fc_tdep_polar, fc_text)
__all__ = ["FORMAT", "read_tdep", "write_tdep", "read_lotosplitting", "write_lotosplitting", "TDEP_NAC_FACTOR", "TDEP_BOHR_A",
           "read_poscar", "write_poscar", "Lines", "check_poscar_species", "refuse_nac", "provenance_line",
           "wrapped_frame", "supercell_fractions", "write_text", "pair_images", "image_groups", "expand_images",
           "TDEP_FILES", "TDEP_HARTREE_EV", "TDEP_POLAR_TYPE", "TDEP_CHARGE_TOL", "MASS_TOLERANCE"]

#: the file names TDEP's programs read (``outfile.*`` as written by its own programs are read too)
TDEP_FILES = {"unitcell": "infile.ucposcar", "supercell": "infile.ssposcar", "fc2": "infile.forceconstant",
              "fc3": "infile.forceconstant_thirdorder", "fc4": "infile.forceconstant_fourthorder"}


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
        ``infile.forceconstant_thirdorder``, ``infile.forceconstant_fourthorder`` and ``infile.ssposcar``
        (``outfile.*`` names too), or one of the force-constant files itself.
    supercell : Crystal, int, 3 ints or (3, 3) ints, optional
        The supercell to put the constants on instead of that of ``infile.ssposcar`` (a matrix S:
        ``supercell.cell = S @ unitcell.cell``, atoms ordered cell by cell). Default: ``infile.ssposcar``.

    Returns
    -------
    dict, str
        fc2 in the compact layout (eV/Å²), fc3 when there is a third-order file (eV/Å³), fc4 when there is a
        fourth-order one (its quartets and their blocks in eV/Å⁴, as ``(sites, blocks)``), the supercell and
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
        if order not in ("", "_thirdorder", "_fourthorder"):
            raise ForceConstantsFormatError(p, f"TDEP's {order.strip('_') or 'unknown-order'} force constants, which "
                                               "trajmodes does not hold: it reads the second order "
                                               "(infile.forceconstant), the third (infile.forceconstant_thirdorder) "
                                               "and the fourth (infile.forceconstant_fourthorder)",
                                            fix="Give one of those files, or their folder")
        f2 = folder / p.name.removesuffix(order)
        f3 = folder / (f2.name + "_thirdorder")
        f4 = folder / (f2.name + "_fourthorder")
    else:
        f2, f3, f4 = _find(folder, "fc2"), _find(folder, "fc3"), _find(folder, "fc4")
    if f2 is None or not f2.exists():
        raise FileNotFoundError(f"no {f2.name if f2 is not None else 'infile.forceconstant'} in {folder}")
    uc = _find(folder, "unitcell")
    if uc is None:
        raise FileNotFoundError(f"no infile.ucposcar in {folder}: TDEP force constants need their unit cell")
    f3 = f3 if f3 is not None and f3.exists() else None
    f4 = f4 if f4 is not None and f4.exists() else None
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
    # after the last atom's neighbours: the polar flag, then (polar) the dielectric tensor, lambda, n_x, the x
    for a in range(n):
        at = rd.line
        npairs = rd.integer(f"the number of pairs of atom {a + 1}", low=0)
        x, chunk = rd.counted_records(npairs, at, [1, 3, 3, 3, 3], what, f"the neighbour count of atom {a + 1}",
                                      "neighbour", later=n - a, after=([3, 3, 3, 1, 1, 1],))
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
        polar = read_polar_section(rd, n)
    else:
        rd.expect_end("the neighbours of every atom and the line that says the material is not polar")
    fc3 = None if f3 is None else read_tdep_fc3(f3, n, N, smap, L0)
    fc4 = None if f4 is None else read_tdep_fc4(f4, n, N, smap, L0)
    where = ", ".join(str(f) for f in (uc, f2, f3, f4) if f is not None)
    return dict(fc2=fc2, supercell=sc, primitive=pr, smap=smap, p2s=p2s, fc3=fc3, fc4=fc4, **polar), where



def write_tdep(fc, folder: str | os.PathLike, source: str | os.PathLike | None = None, tol: float = 1e-5) -> None:
    """Write ``infile.ucposcar``, ``infile.ssposcar``, ``infile.forceconstant`` and, with fc3,
    ``infile.forceconstant_thirdorder`` into ``folder`` (each atomic).

    The unit cell is the primitive cell (positions wrapped into it, in the supercell's frame); the supercell
    its ideal lattice in this supercell's atom order. Every non-zero supercell constant is written once per
    shortest image of the pair (weight 1/m; images within ``tol`` Å count as equally short), third order
    once per pair of shortest images of its second and third atoms (weight 1/(m2 m3)). The first line of
    every file names trajmodes' version and ``source``.

    Constants with Born charges must be short-ranged (``fc.short_range``; ``ForceConstants.write(folder, "tdep")``
    converts full ones): they make a polar file (the section of the module docstring) and ``infile.lotosplitting``.

    Raises
    ------
    ValueError
        For full constants with Born charges (convert them: ``fc.with_convention("short-range")``), species that
        are not elements or masses that are not the elements' (POSCAR holds none).
    """
    if fc.born is not None and not getattr(fc, "short_range", False):
        raise ValueError("TDEP's polar files hold short-range constants (the dipole-dipole part taken out), and these "
                         "are full constants with Born charges: write them with fc.write(folder, 'tdep'), or convert "
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
        lines += polar_section_lines(fc)
        write_lotosplitting(folder / "infile.lotosplitting", fc.born, fc.epsilon)
    write_text(folder / TDEP_FILES["fc2"], lines)
    if fc.fc3_sparse is not None:
        write_tdep_fc3(fc, folder / TDEP_FILES["fc3"], note, tol)
    if getattr(fc, "fc4", None) is not None:
        write_tdep_fc4(fc, folder / TDEP_FILES["fc4"], note)


#: the format, as :mod:`trajmodes.io.forceconstants.registry` lists it
FORMAT = FCFormat("tdep", "TDEP", read_tdep, write_tdep, convention="short-range",
                  marks=("infile.forceconstant", "outfile.forceconstant", "infile.forceconstant_thirdorder",
                         "outfile.forceconstant_thirdorder", "infile.ucposcar", "infile.ssposcar",
                         "infile.forceconstant_fourthorder", "outfile.forceconstant_fourthorder"))
