"""``trajmodes anharmonic``: three-phonon (and four-phonon) linewidths, lifetimes and shifts of force constants with
a third order on a q mesh, with the thermal conductivity (RTA or LBTE, and the coherences of the Wigner transport
equation)."""
from __future__ import annotations

from dataclasses import dataclass

__all__ = ["ThreePhonon", "three_phonon"]


@dataclass(frozen=True)
class ThreePhonon:
    """What :func:`three_phonon` computes: the calculator (``anharmonic``, an
    :class:`~trajmodes.phonons.anharmonic.anharmonic.Anharmonic`) and its ``dataset`` (widths, shifts, conductivity)."""

    anharmonic: object
    dataset: object


def three_phonon(force_constants, mesh, temperatures, occupation: str = "quantum", smearing: float | str | None = None,
                 kappa: bool = True, method: str = "rta", isotopes=None, four_phonon: float | str | None = None,
                 four_phonon_sample=None, four_phonon_seed: int | None = None, coherences: bool = False,
                 static_shift: bool = False, progress=None, **options):
    """Three-phonon linewidths, lifetimes and shifts of every irreducible q of ``mesh``, with the conductivity
    (``kappa``; ``method`` "rta" or "lbte", the latter without shifts): what ``trajmodes anharmonic`` computes.
    ``force_constants`` carry fc3; ``mesh`` is n, (n1, n2, n3) or a
    3 x 3 supercell matrix (:func:`trajmodes.lattice.qpoints.parse_mesh`).
    ``smearing`` (THz, "adaptive" or None for tetrahedra), ``isotopes`` and ``options`` (``make_r0_average``,
    ``sigma_cutoff``) as :class:`~trajmodes.phonons.anharmonic.anharmonic.Anharmonic`; ``four_phonon`` (THz, the Gaussian of its
    delta functions, or "adaptive") adds four-phonon scattering from the constants' ``fc4`` to the widths (with
    "lbte", on the diagonal of the collision matrix: :meth:`~trajmodes.phonons.anharmonic.anharmonic.Anharmonic.thermal_conductivity`),
    summed over the whole mesh or, with ``four_phonon_sample``, sampled (:meth:`~trajmodes.phonons.anharmonic.anharmonic.Anharmonic.linewidths`).
    ``coherences`` adds the Wigner transport equation's two terms from the same widths
    (:func:`~trajmodes.phonons.anharmonic.coherence.wigner_conductivity`, Simoncelli's defaults): ``kappa_populations`` and
    ``kappa_coherences`` (temperature, cartesian, cartesian2) in W/(m K); kappa_coherences is what the coherences
    add to ``kappa`` (RTA or LBTE), kappa_populations its RTA counterpart.
    ``static_shift`` (with the shifts, method "rta") adds ``frequency_shift_static``, the bubble at zero frequency
    Delta(0), and ``frequency_shift_dynamic`` = Delta(nu0) - Delta(0), the shift of the lines of effective constants
    (fitted at T: they hold Delta(0) already; :meth:`~trajmodes.phonons.anharmonic.anharmonic.Anharmonic.static_shift`).
    ``options`` also take ``allow_unstable`` (constants with imaginary modes are refused without it).
    ``progress``: a callable that turns the label of each step (the phonons of the mesh, the sums over its triplets,
    the conductivity) into a context manager around it (the command line's step lines); default silent.
    Returns :class:`ThreePhonon`: the calculator and its dataset."""
    import contextlib
    from trajmodes.phonons.anharmonic.anharmonic import Anharmonic
    from trajmodes.lattice.qpoints import parse_mesh
    if coherences and not kappa:
        raise ValueError("coherences=True is a part of the conductivity: leave kappa=True")
    step = progress if progress is not None else (lambda label: contextlib.nullcontext())
    m = parse_mesh(mesh)
    words = "x".join(map(str, m.tolist())) + " mesh" if m.ndim == 1 else f"grid of the supercell {m.tolist()}"
    with step(f"phonons, symmetry, stability and delta-function weights on the {words}"):
        an = Anharmonic(force_constants, mesh, temperatures, occupation=occupation, smearing=smearing,
                        isotopes=isotopes, **options)
    four = dict(four_phonon=four_phonon, four_phonon_sample=four_phonon_sample, four_phonon_seed=four_phonon_seed)
    sums = (f"at the {len(an.grid.irreducible)} irreducible of its {an.grid.n_points} q-points "
            f"({an.triplet_count():,} triplets)")
    if kappa and method == "lbte":
        with step(f"three-phonon collision matrix {sums} and the LBTE conductivity"):
            ds = an.thermal_conductivity(method="lbte", **four)
    else:
        # Delta(0) from the same interaction strengths as the widths and Delta(nu0): one pass over the triplets
        with step(f"three-phonon widths and shifts{', Delta(0)' if static_shift else ''} {sums}"
                  + (", four-phonon widths" if four_phonon is not None else "")):
            lw = an.linewidths(shifts=True, static_shift=static_shift, **four)
        if kappa:
            with step("group velocities, heat capacities and the RTA conductivity"):
                ds = an.thermal_conductivity(method=method, linewidths=lw)
        else:
            ds = lw
    if coherences:
        w = an.wigner_conductivity(ds["gamma"].transpose("temperature", "q", "branch").values,
                                   ds["grid_point"].values)
        dims = ("temperature", "cartesian", "cartesian2")
        ds["kappa_populations"] = (dims, w.kappa_p, {"units": "W/(m K)", "long_name": "populations' conductivity "
                                                     "(Wigner transport equation, RTA)"})
        ds["kappa_coherences"] = (dims, w.kappa_c, {"units": "W/(m K)", "long_name": "coherences' conductivity "
                                                    "(Wigner transport equation; Simoncelli, Marzari and Mauri, "
                                                    "Nat. Phys. 15, 809 (2019))"})
    return ThreePhonon(an, ds)
