"""The range of the interatomic potential of a LAMMPS run, from its input or log: ``pair_style`` and ``pair_coeff``.

The pair cutoff of a force-constant fit should not be shorter than the potential's range, and LAMMPS states it: a pair
style's global cutoff (``pair_style lj/cut 8.0``) and the per-pair cutoffs of its ``pair_coeff`` lines, or, for the
many-body styles, the potential file's own (the header of an EAM file, ``funcfl``, ``setfl`` and ``eam/fs`` alike;
``a sigma`` of every Stillinger-Weber entry; ``R + D`` of every Tersoff entry; the last knot of the radial
splines of ``meam/spline``). This module reads them from the input
or log that names the dump (:func:`~trajmodes.io.trajectories.lammps_input.lammps_settings_in`: a log given as ``thermo``, else
the one beside the dump that writes it, :func:`~trajmodes.io.trajectories.lammps_input.lammps_settings_beside`), up to the
first ``run`` after the ``dump`` command. A file named by ``pair_coeff`` is looked for beside the input, beside the
dump, and in ``$LAMMPS_POTENTIALS``, as LAMMPS does. The range is converted to Å from the input's ``units``.

What is not read gives no range, with the reason in words (:attr:`PotentialRange.reason`): long-range electrostatics
(``coul/long``, ``kspace_style``; their range is the whole crystal), variables in the commands, styles whose range
is not read here (machine-learned, ``meam``, tabulated), a missing potential file, ``lj`` units.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass

from trajmodes.io.potentials.eam import funcfl_cutoff, setfl_cutoff
from trajmodes.io.trajectories.lammps_input import LammpsInput
from trajmodes.io.trajectories.lammps_input import lammps_settings_beside, lammps_settings_in

__all__ = ["PotentialRange", "potential_range", "potential_range_of", "potential_range_in", "potential_range_from",
           "pair_styles", "sw_cutoff", "tersoff_cutoff", "meam_spline_cutoff"]

#: accelerator suffixes of pair styles (the same potential)
_SUFFIXES = ("/opt", "/omp", "/gpu", "/intel", "/kk", "/kk/device", "/kk/host")
#: pair styles with a global cutoff: the position of the cutoff among the pair_style arguments (the first cutoff; a
#: second, Coulomb one, follows for the coul/cut variants), and how many coefficients a pair_coeff line gives before
#: its optional own cutoff
_GLOBAL = {
    "lj/cut": (0, 2), "lj/cut/coul/cut": (0, 2), "lj/cut/coul/debye": (1, 2), "lj/cut/coul/dsf": (1, 2),
    "lj96/cut": (0, 2), "lj/expand": (0, 3), "lj/smooth/linear": (0, 2), "lj/gromacs": (1, 2), "lj/mdf": (1, 2),
    "mie/cut": (0, 4), "morse": (0, 3), "morse/smooth/linear": (0, 3), "buck": (0, 3), "buck/coul/cut": (0, 3),
    "born": (0, 5), "born/coul/wolf": (1, 5), "born/coul/dsf": (1, 5), "yukawa": (1, 1), "soft": (0, 1),
    "coul/cut": (0, 0), "coul/debye": (1, 0), "coul/dsf": (1, 0), "coul/wolf": (1, 0), "gauss": (0, 2),
    "beck": (0, 5), "ufm": (0, 2), "lj/cubic": (None, 2), "zbl": (1, 2), "table": (None, None),
}
_EAM_FUNCFL = ("eam",)
_EAM_SETFL = ("eam/alloy", "eam/fs", "eam/he")
_FILE_STYLES = {"sw", "sw/mod", "tersoff", "meam/spline"} | set(_EAM_FUNCFL) | set(_EAM_SETFL)
_LONG_RANGE = re.compile(r"coul/(long|msm)|/long\b|lj/long|ewald")
#: many-body pair styles of LAMMPS' own packages, which refuse ``compute centroid/stress/atom`` ("Pair style does not
#: support compute centroid/stress/atom"): its documentation (compute stress/atom, Restrictions: many-body pair styles
#: are not supported, EAM excepted); tersoff, tersoff/mod, tersoff/zbl, sw, sw/mod, meam, meam/spline, snap, mliap,
#: adp, vashishta, airebo and extep checked with LAMMPS 22 Jul 2025
_NO_CENTROID = {"tersoff", "tersoff/mod", "tersoff/mod/c", "tersoff/zbl", "tersoff/table", "sw", "sw/mod",
                "sw/angle/table", "meam", "meam/c", "meam/spline", "meam/sw/spline", "snap", "mliap", "pace",
                "pace/extrapolation", "adp", "vashishta", "vashishta/table", "airebo", "airebo/morse", "rebo", "bop",
                "comb", "comb3", "edip", "edip/multi", "extep", "gw", "gw/zbl", "lcbop", "polymorphic",
                "nb3b/harmonic", "nb3b/screened", "threebody/table", "eim", "rann", "pod", "kim", "reaxff",
                "reax/c", "ilp/graphene/hbn", "kolmogorov/crespi/full", "saip/metal", "mgpt"}
#: pair styles from outside LAMMPS' own packages whose per-atom virial has the centroid form (DeePMD-kit's and NEP's
#: LAMMPS plugins set it)
_CENTROID_PLUGINS = {"deepmd", "nep"}


@dataclass(frozen=True)
class PotentialRange:
    """The range of a run's interatomic potential, as its LAMMPS input states it.

    Attributes
    ----------
    cutoff : float or None
        The largest distance (Å) at which two atoms interact directly: the largest pair cutoff, or the cutoff of the
        potential file; None when it could not be read (then ``reason`` says why).
    style : str
        The ``pair_style`` line (its arguments included).
    source : str
        The input or log it was read from.
    files : tuple of str
        The potential files read.
    reason : str
        Why ``cutoff`` is None; empty otherwise.

    Many-body potentials couple atoms further apart than ``cutoff`` (an EAM atom's embedding energy couples every
    two of its neighbours, up to twice the cutoff apart): their force constants reach beyond it, never less far.
    """

    cutoff: float | None
    style: str
    source: str
    files: tuple = ()
    reason: str = ""
    #: whether the input sets a ``kspace_style`` (long-range electrostatics or dispersion)
    kspace: bool = False

    def __float__(self) -> float:
        return float("nan") if self.cutoff is None else float(self.cutoff)

    @property
    def pairwise_forces(self) -> bool:
        """Whether every sub-style's forces are sums of pair forces (pair potentials, and EAM, whose embedding term
        acts along the pair vectors): only then does the six-component per-atom stress give the heat current; other
        many-body potentials (Stillinger-Weber, Tersoff, MEAM, machine-learned ones, or a style this module does not
        know) need its centroid form (Surblys et al., Phys. Rev. E 99, 051301 (2019))."""
        return bool(pair_styles(self.style.split())) and not self.many_body

    @property
    def centroid_stress(self) -> bool | None:
        """Whether LAMMPS computes ``compute centroid/stress/atom`` (the nine-column per-atom stress) for this
        potential: True for pair potentials and EAM (and the deepmd and nep plugins) without a ``kspace_style``; False
        for long-range electrostatics and for LAMMPS' many-body styles (Tersoff, Stillinger-Weber, MEAM, SNAP, ...),
        which it refuses (its documentation of compute stress/atom, Restrictions); None for a style not known here."""
        styles = pair_styles(self.style.split())
        if self.kspace or _LONG_RANGE.search(self.style) or any(st in _NO_CENTROID for st, _ in styles):
            return False
        if styles and all(st in _GLOBAL or st in ("zero", "none") or st in _EAM_FUNCFL or st in _EAM_SETFL
                          or st in _CENTROID_PLUGINS for st, _ in styles):
            return True
        return None

    @property
    def many_body(self) -> tuple:
        """The sub-styles whose forces are not sums of pair forces (all but pair potentials and EAM)."""
        return tuple(st for st, _ in pair_styles(self.style.split())
                     if not (st in _GLOBAL or _LONG_RANGE.search(st) or st in ("zero", "none")
                             or st in _EAM_FUNCFL or st in _EAM_SETFL))

    def describe(self) -> str:
        """One phrase: ``7.6 A (pair_style eam/fs, Zr_mm.eam.fs, in zr.log)``."""
        where = ", ".join([f"pair_style {self.style}"] + [os.path.basename(f) for f in self.files]
                          + [f"in {os.path.basename(self.source)}"])
        return (f"{self.cutoff:.4g} A ({where})" if self.cutoff is not None else f"unknown ({where}: {self.reason})")


def _strip(style: str) -> str:
    for s in _SUFFIXES:
        if style.endswith(s):
            return style[:-len(s)]
    return style


def _number(word: str) -> float | None:
    try:
        return float(word)
    except ValueError:
        return None


def pair_styles(style_args: list[str]) -> list[tuple[str, list[str]]]:
    """The (style, arguments) of a ``pair_style`` command's arguments: one, or the sub-styles of ``hybrid`` and
    ``hybrid/overlay`` (a word that names a pair style starts the next)."""
    if not style_args:
        return []
    head = _strip(style_args[0])
    if head not in ("hybrid", "hybrid/overlay", "hybrid/scaled"):
        return [(head, style_args[1:])]
    out = []
    for w in style_args[1:]:
        if _number(w) is None and (_strip(w) in _GLOBAL or _strip(w) in _FILE_STYLES or "/" in w or w.isalpha()):
            out.append((_strip(w), []))
        elif out:
            out[-1][1].append(w)
    return out


def sw_cutoff(path, elements=None) -> float:
    """The largest cutoff a sigma (A in metal units) of the entries of a Stillinger-Weber file (``pair_style sw``:
    three elements and epsilon, sigma, a, lambda, gamma, cos theta0, A, B, p, q, tol); of those LAMMPS uses where
    ``elements`` (the names ``pair_coeff`` maps the atom types to) is given (:func:`_used`)."""
    entries = _used(_entries(path, 14), elements)
    return max(float(e[4]) * float(e[5]) for e in entries)


def tersoff_cutoff(path, elements=None) -> float:
    """The largest cutoff R + D of the entries of a Tersoff file (``pair_style tersoff``: three elements and m, gamma,
    lambda3, c, d, cos theta0, n, beta, lambda2, B, R, D, lambda1, A); of those LAMMPS uses where ``elements`` (the
    names ``pair_coeff`` maps the atom types to) is given (:func:`_used`)."""
    entries = _used(_entries(path, 17), elements)
    return max(float(e[13]) + float(e[14]) for e in entries)


def _used(entries: list[list[str]], elements) -> list[list[str]]:
    """The entries of a three-body file whose three elements are all among ``elements`` (LAMMPS reads only those:
    ``pair_coeff * * SiCGe.tersoff Si(C)`` uses the Si(C) entry, not the file's Si(B), C or Ge ones); every entry
    where ``elements`` is None or no entry matches (LAMMPS would stop on a missing entry: the range of the whole file
    is then the safe side)."""
    if not elements:
        return entries
    names = set(elements)
    used = [e for e in entries if e[0] in names and e[1] in names and e[2] in names]
    return used or entries


def meam_spline_cutoff(path) -> float:
    """The cutoff (A in metal units) of a ``pair_style meam/spline`` file: the last knot of its pair (phi), density
    (rho) and three-body radial (f) splines (the embedding U and angular g splines are not functions of distance).

    Both layouts: one element (a comment line, then phi, rho, U, f, g, each as its knot count, a line of the two end
    derivatives, in the old format a line of four integers, then one line x y y'' per knot), and the multi-element
    one whose second line is ``meam/spline N E1 .. EN`` and whose splines each follow a ``spline3eq`` line (phi for
    every pair, then rho, U and f for every element,
    then g for every pair)."""
    with open(path, encoding="utf-8", errors="replace") as f:
        lines = [ln.split("#", 1)[0].split() for ln in f][1:]
    lines = [ln for ln in lines if ln]
    n_el = 1
    if lines and lines[0][0].startswith("meam/spline"):
        n_el = int(lines[0][1])
        lines = lines[1:]
    pairs = n_el * (n_el + 1) // 2
    kinds = ["r"] * pairs + ["r"] * n_el + ["u"] * n_el + ["r"] * n_el + ["g"] * pairs
    ends, i = [], 0
    for kind in kinds:
        while _number(lines[i][0]) is None:
            i += 1                                                    # "spline3eq" before each spline
        n = int(lines[i][0])
        i += 2                                                        # the count, the end derivatives
        if len(lines[i]) == 4 and all(w.lstrip("-").isdigit() for w in lines[i]):
            i += 1                                                    # the old format's flags
        if kind == "r":
            ends.append(float(lines[i + n - 1][0]))
        i += n
    return max(ends)


def _entries(path, width: int) -> list[list[str]]:
    with open(path, encoding="utf-8", errors="replace") as f:
        words = [w for line in f for w in line.split("#", 1)[0].split()]
    if not words or len(words) % width:
        raise ValueError(f"{path}: {len(words)} numbers and names, not whole entries of {width}")
    return [words[i:i + width] for i in range(0, len(words), width)]


def _mapped(coeffs: list[list[str]], name: str) -> set[str]:
    """The element names the ``pair_coeff * * <name> E1 E2 ...`` commands ``coeffs`` map atom types to (NULL, an
    unmapped type, left out)."""
    return {w for c in coeffs if len(c) > 3 and c[2] == name for w in c[3:] if w != "NULL"}


def _find(name: str, folders) -> str | None:
    if os.path.isabs(name):
        return name if os.path.isfile(name) else None
    for d in list(folders) + [os.environ.get("LAMMPS_POTENTIALS", "")]:
        if d and os.path.isfile(os.path.join(d, name)):
            return os.path.join(d, name)
    return None


def potential_range_in(path: str, dump_path: str | None = None) -> PotentialRange | None:
    """The potential's range from the LAMMPS input or log ``path`` (the commands before the first ``run`` after
    the ``dump`` command writing ``dump_path``, or before the first ``run`` without one), read as LAMMPS ran them
    (:class:`~trajmodes.io.trajectories.lammps_input.LammpsInput`: variables substituted); None when it has no
    ``pair_style``."""
    model = LammpsInput.read(path)
    if model is None:
        raise OSError(f"{path}: not a LAMMPS input or log")
    settings = None
    if dump_path is not None:
        base = os.path.basename(dump_path)
        settings = model.settings(base[:-3] if base.endswith(".gz") else base)
    if settings is None:
        settings = model.settings(None)
    return potential_range_from(settings, dump_path)


def potential_range_from(settings, dump_path: str | None = None) -> PotentialRange | None:
    """The potential's range from what a LAMMPS input says about a dump
    (:class:`~trajmodes.io.trajectories.lammps_settings.LammpsSettings`: its commands before the run); None when it has
    no ``pair_style``."""
    path = settings.path
    style, coeffs, kspace, unknown_at = None, [], False, None
    units = settings.units
    for c in settings.commands:
        if c.name == "pair_style":
            style, coeffs, unknown_at = list(c.args), [], c if c.unknown else None
        elif c.name == "pair_coeff":
            coeffs.append(list(c.args))
            if c.unknown and unknown_at is None:
                unknown_at = c
        elif c.name == "kspace_style" and c.args and c.args[0] != "none":
            kspace = True
    if style is None:
        return None
    line = " ".join(style)
    folders = [os.path.dirname(os.path.abspath(path))]
    if dump_path is not None:
        folders.append(os.path.dirname(os.path.abspath(dump_path)))

    def unknown(reason, files=()):
        return PotentialRange(None, line, path, tuple(files), reason, kspace)
    if unknown_at is not None:
        return unknown(f"{unknown_at.name} at {unknown_at.where()} cannot be known: {unknown_at.unknown}")
    if any(w.startswith("v_") for w in style + [w for c in coeffs for w in c]):
        return unknown("the commands use variables that LAMMPS evaluates while it runs")
    if _LONG_RANGE.search(line) or kspace:
        return unknown("long-range electrostatics reach through the whole crystal")
    if units == "lj":
        return unknown("lj units: the range is in units of sigma")
    try:
        from trajmodes.units import conversion
        scale = conversion(units or "metal").length
    except ValueError:
        return unknown(f"units {units}")
    ranges, files = [], []
    for sub, args in pair_styles(style):
        mine = [c for c in coeffs if len(pair_styles(style)) == 1 or (len(c) > 2 and _strip(c[2]) == sub)]
        if len(pair_styles(style)) > 1:
            mine = [c[:2] + c[3:] for c in mine]
        if sub in _EAM_FUNCFL or sub in _EAM_SETFL or sub in _FILE_STYLES:
            names = {c[2] for c in mine if len(c) > 2}
            if not names:
                return unknown(f"pair_style {sub} without a pair_coeff naming its file")
            for name in sorted(names):
                found = _find(name, folders)
                if found is None:
                    return unknown(f"its potential file {name} is neither beside the input nor in "
                                   "$LAMMPS_POTENTIALS", files)
                files.append(found)
                try:
                    if sub in _EAM_FUNCFL:
                        ranges.append(funcfl_cutoff(found))
                    elif sub in _EAM_SETFL:
                        ranges.append(setfl_cutoff(found))
                    elif sub.startswith("sw"):
                        ranges.append(sw_cutoff(found, _mapped(mine, name)))
                    elif sub == "tersoff":
                        ranges.append(tersoff_cutoff(found, _mapped(mine, name)))
                    elif sub == "meam/spline":
                        ranges.append(meam_spline_cutoff(found))
                    else:
                        return unknown(f"the range of pair_style {sub} is not read here", files)
                except (OSError, ValueError, IndexError) as exc:
                    return unknown(f"{name} could not be read ({exc})", files)
        elif sub in _GLOBAL:
            at, n_coeff = _GLOBAL[sub]
            if at is None or n_coeff is None:
                return unknown(f"the range of pair_style {sub} is not read here")
            glob = [x for x in map(_number, args[at:]) if x is not None]      # with a Coulomb cutoff after it
            if not glob:
                return unknown(f"pair_style {sub} gives no cutoff")
            cut = glob + [x for c in mine for x in map(_number, c[2 + n_coeff:]) if x is not None]
            # lj/expand shifts the whole potential by each pair's delta: it reaches cutoff + delta
            delta = [x for c in mine for x in map(_number, c[4:5]) if x is not None] if sub == "lj/expand" else []
            ranges.append(max(cut) + max(delta, default=0.0))
        else:
            return unknown(f"the range of pair_style {sub} is not read here")
    if not ranges:
        return unknown("no pair style with a range")
    return PotentialRange(max(ranges) * scale, line, path, tuple(files), kspace=kspace)


def potential_range(dump_paths, logs=()) -> PotentialRange | None:
    """The range of the potential of the run that wrote the LAMMPS dump(s) ``dump_paths``: from the first of
    ``logs`` (its ``--thermo`` logs) that names the dump, else from the input or log beside it that does
    (:func:`~trajmodes.io.trajectories.lammps_input.lammps_settings_beside`). None when no input names the dump or it has no
    ``pair_style``."""
    paths = [dump_paths] if isinstance(dump_paths, (str, os.PathLike)) else list(dump_paths)
    for dump in paths:
        dump = str(dump)
        found = None
        for log in logs or ():
            found = lammps_settings_in(str(log), dump)
            if found is not None:
                break
        if found is None:
            found = lammps_settings_beside(dump)
        if found is not None:
            try:
                return potential_range_in(found.path, dump)
            except OSError:
                return None
    return None


def potential_range_of(trajectories, logs=()):
    """The range of the potential of the runs ``trajectories``, from the LAMMPS input or log that names their dumps
    (``logs``, the runs' thermo logs, read first): :func:`potential_range` of the first LAMMPS run whose input names
    one; None when none does."""
    for t in trajectories:
        if str(getattr(t.source, "format", "")).startswith("lammps"):
            settings = getattr(t.source, "lammps_settings", None)      # found once by the reader
            if settings is not None:
                found = potential_range_from(settings, t.source.paths[0])
            else:
                found = potential_range(t.source.paths, logs=logs or ())
            if found is not None:
                return found
    return None
