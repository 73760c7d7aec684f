"""``trajmodes qha``: the quasiharmonic free energy of a crystal with a pair or three-body potential, minimised at each
temperature (lattice parameters, thermal expansion, bulk moduli, Grueneisen parameter, heat capacities).

A light module at import: the command line's parser takes the crystals it builds, :data:`STRUCTURES`, from here.
"""
from __future__ import annotations

from dataclasses import dataclass

from trajmodes.lattice.prototypes import CUBE_EDGE, PROTOTYPES

__all__ = ["STRUCTURES", "QuasiHarmonicResult", "quasiharmonic"]

#: the crystals ``trajmodes qha`` builds (``--structure``): the prototypes of :mod:`trajmodes.lattice.prototypes`
STRUCTURES = PROTOTYPES


@dataclass(frozen=True)
class QuasiHarmonicResult:
    """The crystal of ``trajmodes qha`` and its calculator.

    Parameters
    ----------
    calculator : QuasiHarmonic
        :class:`~trajmodes.phonons.thermodynamics.quasiharmonic.QuasiHarmonic` of the potential and crystal (``minimize``).
    crystal : Crystal
        The primitive cell of the prototype, lattice parameters in Å.
    species : list of str
        Its species (given, or the potential's: :func:`trajmodes.lattice.prototypes.default_species`).
    cube_edge : float or None
        The cube edge of a cubic structure in units of the length of its primitive vectors
        (:data:`~trajmodes.lattice.prototypes.CUBE_EDGE`: the conventional lattice parameter is ``a`` times it);
        None for the others.
    """

    calculator: object
    crystal: object
    species: list
    cube_edge: float | None = None


def quasiharmonic(potential, structure: str, a: float, *, species=None, c: float | None = None,
                  u: float | None = None, mesh=16, occupation: str = "quantum") -> QuasiHarmonicResult:
    """The quasiharmonic calculator of ``trajmodes qha``: a potential on a prototype crystal.

    Parameters
    ----------
    potential : str or os.PathLike
        A potential file or a name :func:`trajmodes.potentials.pair.load_potential` knows.
    structure : str
        The prototype, one of :data:`trajmodes.lattice.prototypes.PROTOTYPES` ("fcc", "diamond", "hcp", ...).
    a : float
        Lattice parameter, Å (the cube edge of the cubic structures).
    species : sequence of str, optional
        The element, or the two of a binary structure; default the elements the potential names.
    c : float, optional
        Lattice parameter c of the hexagonal structures, Å.
    u : float, optional
        Internal coordinate of lonsdaleite and wurtzite, a fraction of c (default the ideal 3/8).
    mesh : int, (3,) int or (3, 3) int
        The q mesh of the free energy (:class:`~trajmodes.QuasiHarmonic`'s).
    occupation : {"quantum", "classical"}
        Statistics of the modes' free energy.
    """
    from trajmodes.lattice.prototypes import default_species, prototype
    from trajmodes.phonons.thermodynamics.quasiharmonic import QuasiHarmonic
    from trajmodes.potentials.pair import load_potential
    species = list(species) if species else None
    pot = load_potential(potential, elements=species)
    if species is None:
        elements = list(getattr(pot, "elements", None) or [])
        if not elements:
            raise ValueError("give --species for a pair potential (the element(s) of the crystal)")
        species = default_species(structure, elements)
    crystal = prototype(structure, species if len(species) > 1 else species[0], a, c=c, u=u)
    return QuasiHarmonicResult(QuasiHarmonic(pot, crystal, mesh=mesh, occupation=occupation), crystal, species,
                               CUBE_EDGE.get(structure))
