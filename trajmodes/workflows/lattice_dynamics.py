"""``trajmodes phonons`` and ``trajmodes eam``: the harmonic lattice dynamics of force constants (bands, DOS,
thermodynamics, stability) and the force constants of an EAM potential on a cubic crystal with their Born-von Karman
shell constants."""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from trajmodes.phonons.harmonic.stability import ImaginaryModes

__all__ = ["PhononProperties", "phonon_properties", "EAMCrystal", "eam_crystal", "harmonic_bands",
           "shell_constants_of"]

@dataclass(frozen=True)
class PhononProperties:
    """Band structure, DOS and thermodynamics of one set of force constants (``trajmodes phonons``).

    Parameters
    ----------
    phonons : Phonons
        The harmonic phonons of the force constants.
    bands : xarray.Dataset
        Frequencies (THz) along the band path (:meth:`~trajmodes.Phonons.band_structure`).
    dos : xarray.Dataset
        The phonon density of states (states/THz) on the mesh (:meth:`~trajmodes.Phonons.dos`).
    thermal : xarray.Dataset
        Free energy, entropy and heat capacity per primitive cell against temperature (K), in phonopy's units
        (:meth:`~trajmodes.Phonons.thermal_properties`).
    mesh_q : ndarray (nq, 3)
        The mesh's q-points (reduced).
    mesh_frequencies : ndarray (nq, n_branches)
        THz; imaginary modes negative.
    """

    phonons: object
    bands: object
    dos: object
    thermal: object
    mesh_q: np.ndarray
    mesh_frequencies: np.ndarray

    def imaginary(self, tol: float = 1e-2) -> ImaginaryModes:
        """The modes below -``tol`` THz on the mesh (:class:`~trajmodes.phonons.harmonic.stability.ImaginaryModes`: their
        count, the lowest frequency, its q and the special point it is at).

        The three acoustic modes at Gamma are zero up to round-off and are never counted; near Gamma (a tenth of the
        shortest reciprocal vector) they count below -0.1 THz (:func:`~trajmodes.phonons.harmonic.stability.count_imaginary`).

        Parameters
        ----------
        tol : float
            THz: the modes below -tol count.
        """
        from trajmodes.lattice.paths import special_points
        from trajmodes.phonons.harmonic.stability import count_imaginary
        prim = self.phonons.force_constants.primitive
        return count_imaginary(self.mesh_q, self.mesh_frequencies, np.linalg.inv(prim.cell).T, tol,
                               labels=special_points(prim), rotations=prim.symmetry().rotations)


def phonon_properties(force_constants, *, path: str | None = None, npoints: int = 51, mesh=(20, 20, 20),
                      dos: str = "tetrahedron", temperatures=None) -> PhononProperties:
    """Bands along ``path``, the DOS (``dos`` method) and the thermodynamics at ``temperatures`` (K, default
    0 to 1000 in steps of 10) on a ``mesh``.

    Parameters
    ----------
    force_constants : ForceConstants or path
        The constants (or the file or folder that holds them).
    path : str, optional
        Band path as special-point letters; default the lattice's standard path.
    npoints : int
        q-points per path segment.
    mesh : int or (3,) int
        Gamma-centred q-mesh of the DOS and the thermodynamics.
    dos : {"tetrahedron", "gaussian"}
        How the DOS is integrated (:meth:`~trajmodes.Phonons.dos`).
    temperatures : array_like, optional
        K; default 0 to 1000 in steps of 10.
    """
    from trajmodes.phonons.harmonic.phonons import Phonons
    from trajmodes.workflows.reading import load_force_constants
    fc = force_constants if hasattr(force_constants, "fc2") else load_force_constants(force_constants)
    ph = Phonons(fc)
    temperatures = np.arange(0.0, 1001.0, 10.0) if temperatures is None else np.asarray(temperatures, float)
    bands = ph.band_structure(path, npoints=npoints)
    dos_ds = ph.dos(mesh, method=dos)
    thermal = ph.thermal_properties(temperatures, mesh=mesh)
    m = ph.mesh_frequencies(mesh)
    q, f = m.qpoints, m.frequencies
    return PhononProperties(ph, bands, dos_ds, thermal, q, f)


@dataclass(frozen=True)
class EAMCrystal:
    """Force constants of an EAM potential on a cubic crystal (``trajmodes eam``).

    Parameters
    ----------
    force_constants : ForceConstants
        Analytic, or by finite displacements (``method="finite-difference"``).
    shells : xarray.Dataset or None
        Born-von-Karman shell constants with their pair / embedding breakdown of the analytic constants (fcc and
        bcc); with finite displacements also their part ``finite_difference``.
    closed_form_deviation : float or None
        Largest ``|D|`` difference (eV/(Å² amu)) between the closed-form one-atom dynamical matrix and the supercell
        route at commensurate q (fcc and bcc).
    curvature : CurvatureCheck or None
        The analytic constants against finite displacements of the same potential at a few steps
        (:func:`trajmodes.potentials.finite_difference.curvature_check`).
    method : str
        ``"analytic"`` or ``"finite-difference"``.
    species : tuple of str
        The crystal's element (fcc, bcc) or (A, B) of L1_2 A3B.
    potential : EAM or None
        The potential the constants are of.
    """

    force_constants: object
    shells: object | None
    closed_form_deviation: float | None
    curvature: object | None = None
    method: str = "analytic"
    species: tuple = ()
    potential: object = None


def eam_crystal(potential, structure: str, a: float, species=None, supercell: int = 5, *,
                method: str = "analytic", step: float = 0.01, check: bool = True) -> EAMCrystal:
    """Force constants of ``potential`` (an :class:`~trajmodes.EAM` or its file) for an fcc, bcc or L1_2 crystal of
    lattice constant ``a`` (Å) in a cube of ``supercell**3`` conventional cells.

    ``species``: the element (fcc/bcc; default the potential's first) or the pair (A, B) of L1_2 A3B.
    For fcc and bcc also the BvK shell constants split into pair and embedding parts (Riffe et al.) and the
    check of the closed-form one-atom dynamical matrix against the supercell route.

    ``method``: ``"analytic"`` (the curvature of the splines at the lattice point) or ``"finite-difference"``
    (central differences of the forces, displacement ``step`` in Å: what finite-displacement codes and MD see).
    With ``check`` the analytic constants are compared with finite displacements at a few steps; where they differ at
    every step (a table whose curvature changes from knot to knot) a warning says by how much.

    Parameters
    ----------
    potential : EAM or str
        The potential, or its file (setfl, funcfl).
    structure : {"fcc", "bcc", "L12"}
        The crystal (any case).
    a : float
        Lattice constant of the conventional cubic cell, Å.
    species : str or (str, str), optional
        The element (fcc, bcc; default the potential's first), or the pair (A, B) of L1_2 A3B.
    supercell : int
        Conventional cells along each edge of the cube of the force constants.
    method : {"analytic", "finite-difference"}
        The splines' curvature at the lattice point, or central differences of the forces.
    step : float
        The displacement of the finite differences, Å.
    check : bool
        Compare the analytic constants with finite displacements at a few steps and warn where they differ.
    """
    import warnings
    from trajmodes.lattice.cubic import cubic_lattice
    from trajmodes.potentials.eam import EAM
    from trajmodes.potentials.eam_cubic import cubic_dynamical_matrix, shell_constant_parts
    from trajmodes.potentials.engines import PotentialEngine
    from trajmodes.potentials.finite_difference import curvature_check, finite_difference_force_constants
    from trajmodes.phonons.harmonic.phonons import Phonons
    if method not in ("analytic", "finite-difference"):
        raise ValueError(f"method must be 'analytic' or 'finite-difference', not {method!r}")
    pot = potential if isinstance(potential, EAM) else EAM(potential)
    structure = structure.lower()
    if species is None:
        from trajmodes.lattice.prototypes import default_species
        if structure == "l12" and len(pot.elements) != 2:
            raise ValueError("l12 needs the two elements A, B (A3B) of a potential with two elements")
        species = default_species(structure, pot.elements)
    species = [species] if isinstance(species, str) else list(species)
    shells = dev = None
    if structure in ("fcc", "bcc"):
        shells, fc = shell_constant_parts(pot, structure, a, element=species[0], supercell=supercell)
        n = supercell
        qc = np.array([[1, 0, 0], [0.5, 0.5, 0.5], [1 / n, 0, 0], [2 / n, 1 / n, 0]])
        qr = (qc / a) @ fc.primitive.cell.T
        dev = float(np.abs(cubic_dynamical_matrix(pot, structure, a, qc, element=species[0])
                           - Phonons(fc).dynamical_matrix(qr)).max())
    else:
        sc, prim = cubic_lattice(structure, a, supercell, species, masses=[pot.mass(s) for s in species])
        fc = pot.force_constants(sc, prim)
    curvature = curvature_check(pot, fc.supercell, fc.primitive, analytic=fc) if check else None
    if method == "finite-difference":
        fc = finite_difference_force_constants(PotentialEngine(pot, fc.supercell), fc.primitive, step)
        if shells is not None:
            import xarray as xr
            from trajmodes.potentials import bvk
            fd = bvk.shell_constants(fc, lattice=structure)
            fd = fd[["value", "residual", "relative_residual"]]
            shells = xr.concat([shells, fd.expand_dims(part=["finite_difference"])], dim="part",
                               data_vars=["value", "residual", "relative_residual"], coords="minimal",
                               compat="override", join="override")
    elif curvature is not None and not curvature.consistent:
        warnings.warn(curvature.message(os.path.basename(str(pot.paths[0]))), UserWarning, stacklevel=2)
    return EAMCrystal(fc, shells, dev, curvature, method, tuple(species), pot)


def harmonic_bands(force_constants, path: str | None = None, npoints: int = 51, mesh=(20, 20, 20)):
    """The harmonic phonons of ``force_constants``, their band structure along ``path`` (``npoints`` per segment) and
    their DOS on ``mesh``: (:class:`~trajmodes.phonons.harmonic.Phonons`, bands, dos), frequencies in THz.

    Parameters
    ----------
    force_constants : ForceConstants or path
        The constants (or the file or folder that holds them).
    path : str, optional
        Band path as special-point letters; default the lattice's standard path.
    npoints : int
        q-points per path segment.
    mesh : int or (3,) int
        Gamma-centred q-mesh of the DOS.
    """
    from trajmodes.phonons.harmonic.phonons import Phonons
    ph = Phonons(force_constants)
    return ph, ph.band_structure(path, npoints=npoints), ph.dos(mesh)


def shell_constants_of(force_constants, lattice: str | None = None):
    """The Born-von Karman shell constants (N/m) of ``force_constants`` (or the file or folder that holds them):
    :func:`trajmodes.potentials.bvk.shell_constants`.

    Parameters
    ----------
    force_constants : ForceConstants or str or os.PathLike
        Constants (eV/Å²) of a one-atom cubic crystal, or the file or folder that holds them.
    lattice : {"fcc", "bcc"}, optional
        The cubic lattice; default the one the primitive cell has.
    """
    from trajmodes.forceconstants.model import ForceConstants
    from trajmodes.potentials import bvk
    from trajmodes.workflows.reading import load_force_constants
    if not isinstance(force_constants, ForceConstants):
        force_constants = load_force_constants(force_constants)
    return bvk.shell_constants(force_constants, lattice=lattice)
