"""Conversion of LAMMPS unit styles to trajmodes' internal units (LAMMPS ``metal``).

Internal units: length Å, time ps, energy eV, mass amu, velocity Å/ps,
force eV/Å; pressures in GPa (metal's own unit, bar, is not what results quote).
Every reader multiplies by the factors returned by :func:`conversion` at the
boundary, so nothing downstream sees other units.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

#: the public names: every constant and conversion factor, and the conversion of each LAMMPS unit style
__all__ = ["EV_J", "AMU_KG", "AVOGADRO", "BOHR_A", "HARTREE_EV", "KB_EV", "KCALMOL_EV", "KJMOL_EV", "PLANCK_J_S",
           "GAS_CONSTANT", "KAPPA_UNIT", "EV_A2_TO_N_M", "EV_A3_BAR", "EV_A3_GPA", "BAR_GPA", "ATM_GPA", "PA_GPA",
           "H_EV_S", "H_EV_PS", "THZ_EV", "HARTREE_THZ", "TDEP_FREQUENCY_TOL", "EV_KJMOL", "THZ", "NAC_FACTOR",
           "AMU_A2_PS2_EV", "NATURAL_TIME_PS", "ASE_TIME_NAME", "VELOCITY_TIME_UNITS", "time_unit_named",
           "ELECTRON_TIME_PS", "STYLES", "Conversion", "conversion", "DEFAULT_DT"]

# CODATA 2018 exact / recommended values
EV_J = 1.602176634e-19          # J per eV
AMU_KG = 1.66053906660e-27      # kg per amu
AVOGADRO = 6.02214076e23
BOHR_A = 0.529177210903         # Angstrom per Bohr
HARTREE_EV = 27.211386245988    # eV per Hartree
KB_EV = 8.617333262e-5          # Boltzmann constant, eV/K
KCALMOL_EV = 4184.0 / AVOGADRO / EV_J   # eV per kcal/mol
KJMOL_EV = 1000.0 / AVOGADRO / EV_J     # eV per kJ/mol
PLANCK_J_S = 6.62607015e-34    # Planck constant h, J s (exact in SI 2019)
GAS_CONSTANT = AVOGADRO * 1.380649e-23   # R, J/(K mol)
#: W/(m K) from eV/K * (THz A)^2 * ps / A^3: a thermal conductivity from mode heat capacities, group velocities and
#: lifetimes over a cell volume
KAPPA_UNIT = EV_J * (1e12 * 1e-10) ** 2 * 1e-12 / 1e-30
#: 1 eV/A^2 in N/m (J/m^2): force constants in SI
EV_A2_TO_N_M = EV_J / 1e-20
#: 1 eV/A^3 in bar (stress and pressure; LAMMPS ``metal`` reports pressures in bar)
EV_A3_BAR = EV_J * 1e30 / 1e5
#: 1 eV/A^3 in GPa (trajmodes reports pressures in GPa)
EV_A3_GPA = EV_J * 1e30 / 1e9
#: the pressure unit of each LAMMPS unit style in GPa (``lj``: epsilon / sigma^3, see :func:`conversion`)
BAR_GPA = 1e-4
ATM_GPA = 101325.0 * 1e-9
PA_GPA = 1e-9
#: Planck constant in eV s and in eV ps: h nu with nu in THz gives eV (THZ_EV)
H_EV_S = PLANCK_J_S / EV_J
H_EV_PS = H_EV_S * 1e12
THZ_EV = H_EV_PS
#: one Hartree of energy as an ordinary frequency in THz (E = h nu): TDEP's output unit factor (its 6579.683921346519,
#: from its older constants, is 1.3e-10 larger)
HARTREE_THZ = HARTREE_EV / H_EV_PS
#: TDEP's frequency tolerance, 1e-9 Hartree (6.58e-6 THz): modes at or below it take no part, closer frequencies are
#: degenerate (F. Knoop et al., J. Open Source Softw. 9, 6150 (2024))
TDEP_FREQUENCY_TOL = 1e-9 * HARTREE_THZ
#: kJ/mol per eV
EV_KJMOL = EV_J * AVOGADRO / 1000.0
#: nu [THz] = THZ * sqrt(lambda), lambda an eigenvalue of the dynamical matrix in eV/(A^2 amu): phonopy's
#: conversion factor 15.633302 to full precision as phonopy defines it (its physical constants), so that
#: frequencies agree with phonopy's to round-off. CODATA 2018 would give 15.6333042 (1.2e-7 relative more).
THZ = 15.633302300230191
#: e^2 / (4 pi eps0) in eV * A, the value phonopy (4.x) uses for its default (VASP, eV/A) calculator,
#: ``get_calculator_physical_units("vasp").nac_factor`` (its Hartree * Bohr), so that LO-TO frequencies
#: agree with phonopy's to round-off. CODATA 2018 gives 14.3996454784 (4.3e-7 relative less).
NAC_FACTOR = 14.39965172592227
#: kinetic energy of 1 amu moving at 1 A/ps, in eV
AMU_A2_PS2_EV = AMU_KG * 1e-20 / 1e-24 / EV_J
#: time unit sqrt(amu A^2 / eV) in ps (ASE's and LAMMPS lj-type natural unit)
NATURAL_TIME_PS = math.sqrt(AMU_KG * 1e-20 / EV_J) * 1e12
#: the name a user states ASE's time unit by (:data:`NATURAL_TIME_PS`, 10.18 fs): ``units="metal:A/ase"``
#: (``--units metal:A/ase``) reads velocities written in ASE's own unit (``atoms.get_velocities()``, A per ASE time
#: unit, 98.2 times smaller than A/ps), ``velocity_unit=A/ase`` on an extended XYZ comment line says the same
ASE_TIME_NAME = "ase"
#: the time units of velocities a user can state (``units="metal:A/<name>"``, ``--units metal:A/<name>``), ps per unit
VELOCITY_TIME_UNITS = {"fs": 1e-3, ASE_TIME_NAME: NATURAL_TIME_PS, "ps": 1.0, "ns": 1e3}


def time_unit_named(ps: float, tolerance: float = 1.5) -> str | None:
    """The name of the time unit of :data:`VELOCITY_TIME_UNITS` within a factor ``tolerance`` of ``ps`` (ps per
    unit), or None: what a measured ratio of velocities points to (0.0102 ps: ASE's unit, ``"ase"``).

    Parameters
    ----------
    ps : float
        A measured time unit, ps.
    tolerance : float
        The largest factor between ``ps`` and the unit named.
    """
    if not (math.isfinite(ps) and ps > 0):
        return None
    name, unit = min(VELOCITY_TIME_UNITS.items(), key=lambda kv: abs(math.log(ps / kv[1])))
    return name if abs(math.log(ps / unit)) <= math.log(tolerance) else None


#: LAMMPS electron style atomic time unit (Bohr sqrt(amu/Hartree)) in ps
ELECTRON_TIME_PS = 1.03275e-15 * 1e12

STYLES = ("metal", "real", "si", "electron", "lj")


@dataclass(frozen=True)
class Conversion:
    """Multiplicative factors from a unit style to metal units.

    Parameters
    ----------
    style : str
        The LAMMPS unit style (metal, real, si, electron, lj).
    length, time, energy, mass : float
        Factors to Å, ps, eV and amu.
    velocity, force : float
        Factors to Å/ps and eV/Å.
    pressure : float
        Factor to GPa from the style's pressure unit (metal bar, real atm, si and electron Pa).
    """

    style: str
    length: float      # -> Angstrom
    time: float        # -> ps
    energy: float      # -> eV
    mass: float        # -> amu
    velocity: float    # -> A/ps
    force: float       # -> eV/A
    pressure: float    # -> GPa (the style's pressure unit: metal bar, real atm, si and electron Pa)

    @property
    def is_identity(self) -> bool:
        """Whether the metal quantities need no conversion (pressure is always converted: bar -> GPa)."""
        return all(v == 1.0 for v in (self.length, self.time, self.energy, self.mass,
                                      self.velocity, self.force))


def conversion(style: str, lj_scales: dict | None = None) -> Conversion:
    """Factors converting quantities in a LAMMPS unit ``style`` to metal units.

    Parameters
    ----------
    style : {"metal", "real", "si", "electron", "lj"}
        The LAMMPS ``units`` style of the data.
    lj_scales : dict, optional
        Required for ``"lj"``: ``{"sigma": A, "epsilon": eV, "mass": amu}``,
        the physical values of the reduced length, energy and mass.

    Returns
    -------
    Conversion
    """
    style = str(style).lower()
    if style == "metal":
        return Conversion("metal", 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, BAR_GPA)
    if style == "real":
        return Conversion("real", 1.0, 1e-3, KCALMOL_EV, 1.0, 1e3, KCALMOL_EV, ATM_GPA)
    if style == "si":
        return Conversion("si", 1e10, 1e12, 1.0 / EV_J, 1.0 / AMU_KG, 1e10 / 1e12, 1.0 / EV_J / 1e10, PA_GPA)
    if style == "electron":
        return Conversion("electron", BOHR_A, 1e-3, HARTREE_EV, 1.0, BOHR_A / ELECTRON_TIME_PS,
                          HARTREE_EV / BOHR_A, PA_GPA)
    if style == "lj":
        if not lj_scales or not {"sigma", "epsilon", "mass"} <= set(lj_scales):
            raise ValueError(
                "units lj (Lennard-Jones reduced units) need the physical scales of the run: on the command line "
                "--lj-scales SIGMA,EPSILON,MASS (Angstrom, eV, amu; argon: --lj-scales 3.405,0.01032,39.948), in "
                "Python lj_scales={'sigma': <Angstrom>, 'epsilon': <eV>, 'mass': <amu>}")
        s, e, m = (_scale(lj_scales, k) for k in ("sigma", "epsilon", "mass"))
        tau = s * math.sqrt(m / e) * NATURAL_TIME_PS
        return Conversion("lj", s, tau, e, m, s / tau, e / s, e / s ** 3 * EV_A3_GPA)
    raise ValueError(f"unknown unit style {style!r}: use one of {', '.join(STYLES)}")


def _scale(lj_scales: dict, key: str) -> float:
    """One physical scale of ``lj_scales``, refused unless a positive finite number."""
    try:
        v = float(lj_scales[key])
    except (TypeError, ValueError):
        v = float("nan")
    if not (math.isfinite(v) and v > 0):
        raise ValueError(f"lj_scales {key}={lj_scales[key]!r}: the Lennard-Jones scales (sigma in Angstrom, epsilon "
                         "in eV, mass in amu) must be positive numbers (--lj-scales SIGMA,EPSILON,MASS)")
    return v


#: the LAMMPS default integration time step of each style, in that style's time unit
DEFAULT_DT = {"metal": 0.001, "real": 1.0, "si": 1e-8, "electron": 0.001, "lj": 0.005}
