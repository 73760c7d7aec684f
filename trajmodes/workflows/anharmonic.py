"""``trajmodes anharmonic``: three-phonon (and four-phonon) linewidths, lifetimes and shifts of force constants with
a third order on a q mesh, with the thermal conductivity (RTA or LBTE, and the coherences of the Wigner transport
equation)."""
from __future__ import annotations

from dataclasses import dataclass

__all__ = ["ThreePhonon", "three_phonon", "add_wigner_terms", "implausible_kappa_lines", "kappa_concentration_lines",
           "IMPLAUSIBLE_KAPPA", "CONCENTRATED_MODES"]


@dataclass(frozen=True)
class ThreePhonon:
    """What :func:`three_phonon` computes: the calculator (``anharmonic``, an
    :class:`~trajmodes.phonons.anharmonic.anharmonic.Anharmonic`) and its ``dataset`` (widths, shifts, conductivity).

    Parameters
    ----------
    anharmonic : Anharmonic
        The three-phonon calculator of the force constants (fc2 and fc3) on its q-mesh.
    dataset : xarray.Dataset
        Linewidths and shifts (THz) per mode and temperature (K), and the conductivity (W/(m K)) where computed.
    warnings : tuple of str
        What the conductivity's physics puts in doubt, one line each, in words (``trajmodes anharmonic`` prints
        them): :func:`kappa_concentration_lines` (half of a component carried by a few modes) and
        :func:`implausible_kappa_lines` (a kappa above any crystal's). Empty where nothing is in doubt or without
        the conductivity.
    """

    anharmonic: object
    dataset: object
    warnings: tuple = ()


def add_wigner_terms(an, ds, populations: bool = True) -> None:
    """Add to the conductivity dataset ``ds`` of ``an`` (an :class:`~trajmodes.phonons.anharmonic.Anharmonic`) the
    terms of the Wigner transport equation from its widths
    (:func:`~trajmodes.phonons.anharmonic.coherence.wigner_conductivity`; Simoncelli, Marzari and Mauri, Nat. Phys.
    15, 809 (2019)): ``kappa_coherences`` and, with ``populations``, ``kappa_populations`` (temperature, cartesian,
    cartesian2), W/(m K)."""
    w = an.wigner_conductivity(ds["gamma"].transpose("temperature", "q", "branch").values, ds["grid_point"].values)
    dims = ("temperature", "cartesian", "cartesian2")
    if populations:
        ds["kappa_populations"] = (dims, w.kappa_p, {"units": "W/(m K)", "long_name": "populations' conductivity "
                                                     "(Wigner transport equation, RTA)"})
    ds["kappa_coherences"] = (dims, w.kappa_c, {"units": "W/(m K)", "long_name": "coherences' conductivity (Wigner "
                                                "transport equation; Simoncelli, Marzari and Mauri, Nat. Phys. 15, "
                                                "809 (2019))"})


def three_phonon(force_constants, mesh, temperatures, occupation: str = "quantum", smearing: float | str | None = None,
                 kappa: bool = True, method: str = "rta", isotopes=None, four_phonon: float | str | None = None,
                 four_phonon_sample=None, four_phonon_seed: int | None = None, coherences: bool = False,
                 static_shift: bool = False, progress=None, members=None, **options):
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

    ``members``: the constants of every member of a committee of learned potentials fitted to the same frames as
    ``force_constants`` (a list of M >= 2 :class:`~trajmodes.ForceConstants` with fc3, and fc4 with ``four_phonon``:
    ``EffectiveForceConstants.committee_force_constants_``, or ``load_committee`` of the file ``trajmodes fit``
    wrote, :func:`trajmodes.workflows.fit.load_committee`). Each member gets the same calculation (mesh, temperatures,
    occupations, smearing and options; its own harmonic phonons, so a full three-phonon calculation per member: M + 1
    in all, each step named by its member), and the dataset the committee's error bar of what was computed: the
    standard deviation (ddof 1) over the members,
    sigma_X = [sum_m (X_m - mean X)^2 / (M - 1)]^(1/2): ``linewidth_committee_err`` (temperature, q, branch) THz of the
    FWHM, ``frequency_shift_committee_err`` (temperature, q, branch) THz of the bubble shift (where shifts are
    computed: not with "lbte"), ``kappa_committee_err`` (temperature, cartesian, cartesian2) W/(m K) (with ``kappa``),
    with ``kappa_members`` (member, temperature, cartesian, cartesian2) W/(m K), each member's conductivity; the
    attribute ``committee_members`` = M on them and on the dataset. The members' coherences, static shifts and
    lineshapes are not computed.

    Returns :class:`ThreePhonon`: the calculator, its dataset and the warnings of its conductivity.

    Parameters
    ----------
    force_constants : ForceConstants
        With fc3 (and fc4 for ``four_phonon``).
    mesh : int, (3,) int or (3, 3) int
        The q-mesh: n, (n1, n2, n3) or a supercell matrix.
    temperatures : array_like
        The temperatures, K.
    occupation : {"quantum", "classical"}
        Bose-Einstein phonon populations, or classical ones (equipartition, to compare with classical MD).
    smearing : float, "adaptive" or None
        Gaussian width of the delta functions (THz), adaptive widths, or None for the tetrahedron method.
    kappa : bool
        Also the lattice thermal conductivity, W/(m K).
    method : {"rta", "lbte"}
        The relaxation-time approximation, or the direct solution of the linearised Boltzmann equation (no shifts).
    isotopes : optional
        Isotope scattering, as :class:`~trajmodes.phonons.anharmonic.anharmonic.Anharmonic` takes it.
    four_phonon : float, "adaptive" or None
        Add four-phonon scattering from fc4: the Gaussian width of its delta functions (THz) or "adaptive".
    four_phonon_sample : (3,) int, optional
        Monte Carlo sampling of the four-phonon sums (cells per axis of the samples); None: the whole mesh.
    four_phonon_seed : int, optional
        Seed of that sampling, for reproducible widths.
    coherences : bool
        Add the Wigner transport equation's populations and coherences terms (needs ``kappa``).
    static_shift : bool
        Add the bubble shift at zero frequency and the dynamic part of the shift (method "rta").
    progress : callable, optional
        Turns the label of each step into a context manager around it; default silent.
    members : list of ForceConstants, optional
        The constants of every member of a committee of learned potentials (M >= 2): the committee's error bars.
    **options
        ``make_r0_average``, ``sigma_cutoff``, ``allow_unstable``, as
        :class:`~trajmodes.phonons.anharmonic.anharmonic.Anharmonic`.

    Raises
    ------
    ValueError
        ``coherences`` without ``kappa``; ``members`` that are fewer than 2, lack fc3 (or fc4 with ``four_phonon``),
        or whose mesh differs (another crystal); a member's calculation that fails (an unstable member without
        ``allow_unstable``), named by its number.
    """
    import contextlib
    if coherences and not kappa:
        raise ValueError("coherences=True is a part of the conductivity: leave kappa=True")
    step = progress if progress is not None else (lambda label: contextlib.nullcontext())
    members = None if members is None else list(members)
    if members is not None:
        _check_members(members, four_phonon)
    run = dict(mesh=mesh, temperatures=temperatures, occupation=occupation, smearing=smearing, kappa=kappa,
               method=method, isotopes=isotopes, four_phonon=four_phonon, four_phonon_sample=four_phonon_sample,
               four_phonon_seed=four_phonon_seed, options=options)
    an, ds = _calculate(force_constants, step=step, static_shift=static_shift, **run)
    if coherences:
        add_wigner_terms(an, ds)
    if members is not None:
        done = []
        for i, fc in enumerate(members):
            def member_step(label, i=i):
                return step(f"committee member {i + 1} of {len(members)}: {label}")
            try:
                done.append(_calculate(fc, step=member_step, static_shift=False, **run)[1])
            except ValueError as exc:
                raise ValueError(f"committee member {i + 1} of {len(members)}: {exc}") from exc
        _with_committee(ds, done)
    warned = kappa_concentration_lines(ds) + implausible_kappa_lines(ds) if "kappa" in ds else []
    return ThreePhonon(an, ds, tuple(warned))


#: the quantities of :func:`three_phonon` whose committee error bar it gives, where it computes them
_SPREADS = {"linewidth": "FWHM (linewidth)", "frequency_shift": "bubble frequency shift",
                     "kappa": "lattice thermal conductivity"}


def _check_members(members, four_phonon) -> None:
    """Refuse, before any work, committee ``members`` that make no error bar (:func:`three_phonon`)."""
    if len(members) < 2:
        raise ValueError(f"members= takes the constants of every member of a committee (2 or more, for a standard "
                         f"deviation), not {len(members)}")
    for i, fc in enumerate(members):
        if getattr(fc, "fc3_sparse", None) is None:
            raise ValueError(f"committee member {i + 1} of {len(members)} has no third-order constants: fit the "
                             "committee with a third order (trajmodes fit --cutoff3)")
        if four_phonon is not None and getattr(fc, "fc4", None) is None:
            raise ValueError(f"committee member {i + 1} of {len(members)} has no fourth-order constants for "
                             "four_phonon=: fit the committee with --cutoff4, or leave four-phonon scattering out")


def _calculate(force_constants, mesh, temperatures, occupation, smearing, kappa, method, isotopes, four_phonon,
               four_phonon_sample, four_phonon_seed, options, static_shift, step):
    """(Anharmonic, dataset) of one set of constants: :func:`three_phonon` without the coherences."""
    from trajmodes.phonons.anharmonic.anharmonic import Anharmonic
    from trajmodes.lattice.qpoints import parse_mesh
    m = parse_mesh(mesh)
    words = "x".join(map(str, m.tolist())) + " mesh" if m.ndim == 1 else f"grid of the supercell {m.tolist()}"
    with step(f"phonons, symmetry, stability and delta-function weights on the {words}"):
        an = Anharmonic(force_constants, mesh, temperatures, occupation=occupation, smearing=smearing,
                        isotopes=isotopes, **options)
    four = dict(four_phonon=four_phonon, four_phonon_sample=four_phonon_sample, four_phonon_seed=four_phonon_seed)
    # sums that take minutes say what they will cost before they start (one q-point timed)
    sums = (f"at the {len(an.grid.irreducible)} irreducible of its {an.grid.n_points} q-points "
            f"({an.triplet_count():,} triplets{an.cost_words(real=not (kappa and method == 'lbte'))})")
    if kappa and method == "lbte":
        with step(f"three-phonon collision matrix {sums} and the LBTE conductivity"):
            return an, an.thermal_conductivity(method="lbte", **four)
    # Delta(0) from the same interaction strengths as the widths and Delta(nu0): one pass over the triplets
    with step(f"three-phonon widths and shifts{', Delta(0)' if static_shift else ''} {sums}"
              + (", four-phonon widths" if four_phonon is not None else "")):
        lw = an.linewidths(shifts=True, static_shift=static_shift, **four)
    if not kappa:
        return an, lw
    with step("group velocities, heat capacities and the RTA conductivity"):
        return an, an.thermal_conductivity(method=method, linewidths=lw)


def _with_committee(ds, members) -> None:
    """Put into ``ds`` the committee's error bar of its widths, shifts and kappa from the members' datasets
    ``members`` of the same calculation (:func:`three_phonon`)."""
    import numpy as np
    M = len(members)
    for i, m in enumerate(members):
        if not np.array_equal(m["grid_point"].values, ds["grid_point"].values):
            raise ValueError(f"committee member {i + 1} of {M} has other irreducible q-points than the constants "
                             "(another crystal or symmetry): give the members of the same fit")
    words = f"committee of {M} members"
    for name, what in _SPREADS.items():
        if name not in ds:
            continue
        dims = ds[name].dims
        values = np.stack([m[name].transpose(*dims).values for m in members])
        ds[f"{name}_committee_err"] = (dims, values.std(axis=0, ddof=1), {
            "units": ds[name].attrs.get("units", ""), "committee_members": M,
            "long_name": f"committee error bar of the {what}: standard deviation (ddof 1) over the {words}' force "
                         "constants (the learned potential's uncertainty; more MD does not shrink it)"})
        if name == "kappa":
            ds["kappa_members"] = (("member",) + dims, values, {
                "units": ds[name].attrs.get("units", ""), "committee_members": M,
                "long_name": f"the lattice thermal conductivity of each member's force constants ({words})"})
    ds.attrs["committee_members"] = M


#: a diagonal component of kappa is flagged when this share of the modes of the mesh carries half of it
CONCENTRATED_MODES = 0.01


#: W/(m K): a conductivity above this is no crystal's (isotopically enriched diamond peaks at about 4 x 10^4 W/(m K)
#: near 100 K: Wei et al., Phys. Rev. Lett. 70, 3764 (1993)); an RTA kappa above it comes from widths that vanish
IMPLAUSIBLE_KAPPA = 1e6


def implausible_kappa_lines(ds) -> list[str]:
    """A warning line per temperature at which a diagonal component of kappa exceeds :data:`IMPLAUSIBLE_KAPPA`: the
    three-phonon widths (nearly) vanish, as they do for third-order constants fitted from a harmonic run (or one with
    too few frames for its anharmonicity), so that kappa is not a conductivity of the crystal. Where every width is
    exactly zero (a third order that is zero), every mode has an infinite lifetime and is left out of the sum, so
    that kappa is 0 W/(m K): said as well. Nothing otherwise.

    Parameters
    ----------
    ds : xarray.Dataset
        The conductivity of :func:`three_phonon`: ``kappa`` (temperature, cartesian, cartesian2) W/(m K) and
        ``linewidth`` (temperature, q, branch) THz over the coordinate ``temperature`` (K).

    Returns
    -------
    list of str
        One warning line per temperature in doubt; empty where none is.
    """
    import numpy as np
    out = []
    for i, t in enumerate(np.atleast_1d(ds["temperature"].values)):
        k = np.diagonal(np.asarray(ds["kappa"].values[i], float))
        lw = np.asarray(ds["linewidth"].values[i], float)
        if not np.nanmax(lw, initial=0.0) > 0:
            out.append(f"warning: at {t:g} K every mode's width (FWHM) is zero: the third-order constants scatter "
                       f"nothing, every lifetime is infinite and no mode enters the sum, so kappa "
                       f"({np.max(np.abs(k)):.3g} W/(m K)) is not a conductivity of the crystal. A third order that is "
                       "zero gives this; check the fit's third-order rows (R^2 and CV RMSE against second order "
                       "alone) or the file the constants came from")
            continue
        if not np.nanmax(np.abs(k)) > IMPLAUSIBLE_KAPPA:
            continue
        out.append(f"warning: at {t:g} K kappa reaches {np.nanmax(np.abs(k)):.3g} W/(m K), above any crystal's "
                   f"(isotopically enriched diamond peaks near 4e4 W/(m K)): the three-phonon widths nearly vanish "
                   f"(median FWHM {np.nanmedian(lw):.3g} THz), so the third-order constants scatter almost nothing. "
                   "Constants fitted from a harmonic run (or from too few frames to resolve the anharmonicity) give "
                   "this; check the fit's third-order rows (R^2 and CV RMSE against second order alone)")
    return out


def kappa_concentration_lines(ds) -> list[str]:
    """Warning lines for the diagonal components of kappa of which half is carried by at most
    :data:`CONCENTRATED_MODES` of the mesh's modes (each irreducible mode counted with its star): the sum is then set
    by a few modes that scarcely scatter, whose lifetimes the mesh does not converge (near-infinite in the RTA where
    three-phonon scattering vanishes by symmetry or phase space), so that it moves with the mesh and the broadening.
    Nothing where kappa is spread over the modes (or without ``mode_kappa``).

    Parameters
    ----------
    ds : xarray.Dataset
        The conductivity of :func:`three_phonon`: ``mode_kappa`` (temperature, q, branch, cartesian, cartesian2)
        W/(m K), each irreducible q's share, with the coordinate ``weight`` (q, the star sizes) and ``lifetime``
        (temperature, q, branch) ps where computed.

    Returns
    -------
    list of str
        One warning line per temperature and diagonal component so concentrated; empty where none is.
    """
    import numpy as np
    if "mode_kappa" not in ds or "weight" not in ds.coords:
        return []
    mk = ds["mode_kappa"].transpose("temperature", "q", "branch", ...).values
    w = np.broadcast_to(np.asarray(ds["weight"].values, float)[:, None], mk.shape[1:3]).reshape(-1)
    tau = ds["lifetime"].transpose("temperature", "q", "branch").values if "lifetime" in ds else None
    total_modes = w.sum()
    out = []
    for i, t in enumerate(np.atleast_1d(ds["temperature"].values)):
        for c, name in enumerate("xyz"):
            x = mk[i, ..., c, c].reshape(-1)
            total = x.sum()
            if not total > 0:
                continue
            order = np.argsort(x)[::-1]
            k = int(np.searchsorted(np.cumsum(x[order]), 0.5 * total)) + 1      # the fewest modes with half of it
            few = order[:k]
            share = w[few].sum() / total_modes
            if share > CONCENTRATED_MODES:
                continue
            life = "" if tau is None else \
                f", lifetimes {np.min(tau[i].reshape(-1)[few]):.3g} ps and longer"
            out.append(f"warning: at {t:g} K half of kappa_{name}{name} ({total:.4g} W/(m K)) comes from "
                       f"{int(w[few].sum())} of the {int(total_modes)} modes of the mesh ({100 * share:.2g} %{life}): "
                       "modes that scarcely scatter by three phonons, whose lifetimes this mesh does not converge; "
                       "the sum moves with the mesh and the broadening (a denser --mesh, --smearing, --isotopes or "
                       "--four-phonon say how much of it stands)")
    return out
