"""The registry's entries of single structures: a VASP POSCAR / CONTCAR and a LAMMPS data file, each with its test on
a file's name and first bytes and its reading as a :class:`~trajmodes.lattice.structure.Structure`
(:func:`trajmodes.io.read_structure`; the first frame of a trajectory is a structure too). Units are metal (Å, amu)."""
from __future__ import annotations

import os
import warnings

from trajmodes.errors import UnitsWarning
from trajmodes.io.filesystem import BOM
from trajmodes.io.trajectories.ase_reader import ASESource
from trajmodes.io.trajectories.lammps_data import read_data
from trajmodes.lattice.structure import Structure

__all__ = ["looks_like_poscar", "ase_structure", "VaspStructure", "LammpsDataStructure"]


def looks_like_poscar(head: bytes) -> bool:
    """Whether ``head`` has VASP's POSCAR layout, whatever the file's name (TDEP's ``infile.ucposcar`` and
    ``infile.ssposcar``, ``*.POSCAR``, ...): a comment line, the scale (one number or three), three lattice lines of
    three numbers, the species names (VASP 5; absent in VASP 4) and the atom counts, an optional ``Selective
    dynamics`` line, then ``Direct`` or ``Cartesian``."""
    lines = (head[3:] if head.startswith(BOM) else head).split(b"\n", 10)
    if len(lines) < 8:
        return False

    def numbers(line: bytes, n: int, kind=float) -> bool:
        toks = line.split()
        try:
            return len(toks) >= n and all(kind(t) is not None for t in toks[:n])
        except ValueError:
            return False
    if not (numbers(lines[1], 1) and all(numbers(ln, 3) for ln in lines[2:5])):
        return False
    k = 5
    names = lines[k].split()
    if names and all(t[:1].isalpha() for t in names):
        k += 1                                      # VASP 5: the species line
    counts = lines[k].split()
    if not counts or not numbers(lines[k], len(counts), int):
        return False
    k += 1
    if lines[k].strip()[:1] in (b"S", b"s"):        # Selective dynamics
        k += 1
    return k < len(lines) and lines[k].strip()[:1] in (b"D", b"d", b"C", b"c", b"K", b"k")


def ase_structure(path: str, ase_format: str, *, units: str | None = None) -> Structure:
    """The first configuration of the file ``path`` that ASE reads as ``ase_format``, with its masses only where the
    file states them (a POSCAR's are not those of the run: VASP's POMASS)."""
    with warnings.catch_warnings():                     # one structure: the frame times do not matter
        warnings.simplefilter("ignore", UnitsWarning)
        src = ASESource.from_options([path], f"ase:{ase_format}", units=units)
    d = src.read([0])
    masses = src.masses if src.masses_stated else None
    return Structure(d["positions"][0], d["cells"][0] if src.has_cell else None, src.species, masses,
                     d["origins"][0])


class VaspStructure:
    """A VASP POSCAR or CONTCAR (read by ASE): named so (``POSCAR*``, ``CONTCAR*``, ``*.vasp``) or laid out so
    (:func:`looks_like_poscar`)."""

    kind = "structure"
    format_names = ("ase:vasp",)
    takes_folders = False
    needs = ("a VASP POSCAR/CONTCAR needs the name POSCAR*, CONTCAR* or *.vasp, or its layout: a comment line, the "
             "scale, three lattice vectors, the atom counts, then Direct or Cartesian")

    @classmethod
    def can_open(cls, head: bytes, path: str) -> bool:
        base = os.path.basename(path)
        return base.startswith(("POSCAR", "CONTCAR")) or base.endswith(".vasp") or looks_like_poscar(head)

    @classmethod
    def format_name(cls, head: bytes, path: str) -> str:
        return cls.format_names[0]

    @classmethod
    def read_structure(cls, path: str, *, units: str | None = None, species=None, lj_scales=None) -> Structure:
        return ase_structure(path, "vasp", units=units)


class LammpsDataStructure:
    """A LAMMPS data file (``write_data``, ``read_data``'s input): an ``atoms`` count and the box (``xlo xhi``, or
    ``avec`` of a general triclinic box) in its header."""

    kind = "structure"
    format_names = ("lammps-data",)
    takes_folders = False
    needs = ("a LAMMPS data file needs an 'N atoms' line and the box ('xlo xhi' or 'avec') in its header")

    @classmethod
    def can_open(cls, head: bytes, path: str) -> bool:
        return b"atoms" in head and (b"xlo xhi" in head or b"avec" in head)

    @classmethod
    def format_name(cls, head: bytes, path: str) -> str:
        return cls.format_names[0]

    @classmethod
    def read_structure(cls, path: str, *, units: str | None = None, species=None, lj_scales=None) -> Structure:
        return read_data(path, units=units or "metal", species=species, lj_scales=lj_scales)
