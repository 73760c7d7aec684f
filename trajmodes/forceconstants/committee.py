"""Committees of learned potentials and force uncertainties in the force-constant fit.

A committee (ensemble) of machine-learned potentials is several force fields on one set of positions (A. A. Peterson,
R. Christensen and A. Khorshidi, Phys. Chem. Chem. Phys. 19, 10978 (2017); F. Musil, M. J. Willatt, M. A. Langovoy and
M. Ceriotti, J. Chem. Theory Comput. 15, 906 (2019); G. Imbalzano, Y. Zhuang, V. Kapil, K. Rossi, E. A. Engel,
F. Grasselli and M. Ceriotti, J. Chem. Phys. 154, 074102 (2021)). The design matrix A depends on the displacements
only, so the members share A'A and differ in A'f_m: the fit's one pass accumulates every member's right-hand side
beside the run's forces (:meth:`~trajmodes.forceconstants.design.DesignKernel.accumulate` ``members=``), and every
member's constants are one more solve with the same A'A (:func:`solve_committee`). The members' spread is the
*committee* error bar of the constants and of everything computed from them, beside the *sampling* (block bootstrap)
one: :func:`committee_view` hands the members' parameters to the routes that take the bootstrap's resamples
(``frequency_samples``, ``resampled_force_constants``).

Generalised least squares: with a force uncertainty sigma per atom or per component (a ``force_std`` column, the
committee's own spread, or values given), ``weights="uncertainty"`` scales every row of A and f by 1/sigma before the
products (:func:`inverse_sigma`), so the fit minimises sum (f - f_model)^2 / sigma^2. The default is the unweighted
fit, TDEP's definition of the effective constants: their residual is mostly the model's (anharmonic forces that
the fitted orders cannot hold), not noise in the forces, and weighting it by the potential's uncertainty would change
which constants are "effective" (configurations where the potential is unsure, often the most anharmonic ones, would
count less). Weighting is what one wants when the forces are noisy about a model that holds (DFT with loose settings,
a potential of very uneven accuracy across species); its scores are then those of the weighted residual
(RMSE in units of sigma: about 1 where sigma is the forces' whole error).
"""
from __future__ import annotations

import copy
import warnings
from dataclasses import dataclass

import numpy as np

from trajmodes.forceconstants.blocks import NormalBlocks

__all__ = ["MemberBlocks", "CommitteeNormal", "inverse_sigma", "committee_sigma", "check_options", "fit_fields",
           "split_committee", "solve_committee", "committee_view", "arrays_committee", "COMMITTEE", "FORCE_STD", "WEIGHTS"]

#: the per-frame fields of a source (``extra_shapes``) that carry a committee's forces and a force uncertainty
COMMITTEE, FORCE_STD = "committee_forces", "force_std"
#: the values ``weights=`` takes besides an array of sigma
WEIGHTS = (None, "uncertainty")


@dataclass
class MemberBlocks:
    """The committee's right-hand sides per block of frames (the blocks of the :class:`NormalBlocks` beside them).

    Attributes
    ----------
    b : ndarray (n_blocks, M, P)
        A'f_m of every member m (weighted as the blocks).
    ff : ndarray (n_blocks, M + 1, M + 1)
        Products of the force sets: set 0 the run's forces, set m + 1 member m, (eV/Å)².
    ids : ndarray (n_blocks,)
        Block labels, those of the :class:`NormalBlocks`.
    """

    b: np.ndarray
    ff: np.ndarray
    ids: np.ndarray

    @classmethod
    def zeros(cls, ids, n_members: int, n_params: int) -> "MemberBlocks":
        ids = np.asarray(ids, dtype=np.int64)
        return cls(np.zeros((len(ids), n_members, n_params)), np.zeros((len(ids), n_members + 1, n_members + 1)), ids)

    @property
    def n_members(self) -> int:
        return self.b.shape[1]

    def __add__(self, other: "MemberBlocks") -> "MemberBlocks":
        if np.array_equal(self.ids, other.ids):
            return MemberBlocks(self.b + other.b, self.ff + other.ff, self.ids)
        ids = np.union1d(self.ids, other.ids)
        out = MemberBlocks.zeros(ids, self.n_members, self.b.shape[-1])
        for part in (self, other):
            at = np.searchsorted(ids, part.ids)
            out.b[at] += part.b
            out.ff[at] += part.ff
        return out

    def grouped(self, labels) -> "MemberBlocks":
        """Blocks summed by ``labels`` (one per stored block), as :meth:`NormalBlocks.grouped`."""
        ids, inv = np.unique(np.asarray(labels, dtype=np.int64), return_inverse=True)
        out = MemberBlocks.zeros(ids, self.n_members, self.b.shape[-1])
        np.add.at(out.b, inv, self.b)
        np.add.at(out.ff, inv, self.ff)
        return out

    def projected(self, T: np.ndarray) -> "MemberBlocks":
        """The right-hand sides in the parameters p = T p' of a narrower basis (``refit(cutoff2=)``): b' = T' b."""
        return MemberBlocks(self.b @ np.asarray(T), self.ff.copy(), self.ids)


@dataclass
class CommitteeNormal:
    """The normal equations of a pass with a committee: the run's (:class:`NormalBlocks`) and the members'
    right-hand sides (:class:`MemberBlocks`), summed together up the pass's tree."""

    normal: NormalBlocks
    members: MemberBlocks

    def __add__(self, other: "CommitteeNormal") -> "CommitteeNormal":
        return CommitteeNormal(self.normal + other.normal, self.members + other.members)


def split_committee(result) -> tuple[NormalBlocks, MemberBlocks | None]:
    """(normal equations, members' right-hand sides or None) of what a pass returned."""
    if isinstance(result, CommitteeNormal):
        return result.normal, result.members
    return result, None


def check_options(weights, committee) -> None:
    """Refuse ``weights=`` and ``committee=`` values that make no fit, before any work."""
    if not (isinstance(weights, np.ndarray) or isinstance(weights, (list, tuple)) or
            (weights is None or isinstance(weights, str)) and weights in WEIGHTS):
        raise ValueError(f"weights must be None (an unweighted fit), 'uncertainty' (1/sigma^2 from the data's force "
                         f"uncertainty or committee) or an array of sigma in eV/A, per atom (N,) or per component "
                         f"(N, 3), not {weights!r}")
    if committee not in ("auto", True, False):
        raise ValueError(f"committee must be 'auto' (fit every member where the data carry a committee), True or False,"
                         f" not {committee!r}")


def _describe(traj) -> str:
    return traj.source.describe()


def fit_fields(trajectories, weights, committee, plain: bool = True) -> tuple:
    """The fields beyond positions and forces that a fit's pass reads for its committee and its weights: ``()`` for a
    plain fit (the layer of :func:`~trajmodes.forceconstants.normal.fit_layer` unchanged).

    ``plain``: the fit's kernel takes a committee and weights (not a polar or species-resolved fit, nor a held fc2).

    Raises
    ------
    ValueError
        ``committee=True`` where a run carries no committee (or the fit takes none), runs with committees of other
        sizes, or ``weights="uncertainty"`` where a run carries neither a force uncertainty nor a committee.
    """
    shapes = [dict(getattr(t.source, "extra_shapes", {}) or {}) for t in trajectories]
    single = next((t for t, s in zip(trajectories, shapes) if COMMITTEE in s and s[COMMITTEE][0] < 2), None)
    if single is not None and committee is True:
        raise ValueError(f"committee=True, but {_describe(single)} carries the forces of a committee of one member: a "
                         "committee's error bar is the spread of 2 or more members; fit with committee=False "
                         "(--committee no: an ordinary fit of the run's forces), or write the run with every "
                         "member's forces")
    if single is not None and committee == "auto" and plain:
        warnings.warn(f"{_describe(single)} carries the forces of a committee of one member: fitted as an ordinary fit "
                      "of the run's forces, without a committee error bar (that takes 2 or more members)",
                      UserWarning, stacklevel=3)
        committee = False
    sizes = {s[COMMITTEE][0] if COMMITTEE in s else 0 for s in shapes}
    use = committee is True or (committee == "auto" and plain and 0 not in sizes)
    if use and not plain:
        raise ValueError("committee=True: the committee's members are fitted in plain fits only (not with born=, fc2= "
                         "or species_resolved=True)")
    if use and 0 in sizes:
        which = next(_describe(t) for t, s in zip(trajectories, shapes) if COMMITTEE not in s)
        raise ValueError(f"committee=True, but {which} carries no committee's forces (forces_0 ... forces_{{M-1}} or "
                         "forces_committee columns): read the run written with them, or fit with committee=False")
    if use and len(sizes) > 1:
        raise ValueError(f"the runs carry committees of {sorted(sizes)} members: pool runs of one committee")
    extra = (COMMITTEE,) if use else ()
    if isinstance(weights, str) and weights == "uncertainty":
        if not plain:
            raise ValueError("weights= is for plain fits only (not with born=, fc2= or species_resolved=True)")
        for t, s in zip(trajectories, shapes):
            if FORCE_STD not in s and (COMMITTEE not in s or s[COMMITTEE][0] < 2):
                raise ValueError(f"weights='uncertainty', but {_describe(t)} carries no force uncertainty (force_std "
                                 "column) and no committee of 2 or more members to take one from: give the "
                                 "uncertainty as weights=sigma (eV/A, per atom or per component), or fit unweighted "
                                 "(weights=None)")
        have_std = all(FORCE_STD in s for s in shapes)
        extra += (FORCE_STD,) if have_std else (COMMITTEE,) if COMMITTEE not in extra else ()
    elif weights is not None and not plain:
        raise ValueError("weights= is for plain fits only (not with born=, fc2= or species_resolved=True)")
    return extra


def committee_sigma(members: np.ndarray) -> np.ndarray:
    """The force uncertainty a committee states: the members' standard deviation of every component (frames, atoms,
    3), eV/Å, from ``members`` (frames, M, atoms, 3) (ddof 1: the committee's unbiased spread; Musil et al. 2019
    calibrate it further, which a ``force_std`` column written by the run carries)."""
    return np.asarray(members, float).std(axis=1, ddof=1)


def inverse_sigma(sigma, shape: tuple, where: str = "") -> np.ndarray:
    """1/sigma of every force component, ``shape`` (frames, atoms, 3), from a force uncertainty sigma (eV/Å): per atom
    (atoms,) or per component (atoms, 3), the same on every frame, or per frame (frames, atoms) or (frames, atoms, 3).

    Raises
    ------
    ValueError
        For another shape, or a sigma that is not a positive number (naming the first such atom and ``where``).
    """
    T, N, _ = shape
    s = np.asarray(sigma, float)
    if s.shape in ((N,), (T, N)):
        s = s[..., None]
    if s.shape not in ((N, 1), (N, 3), (T, N, 1), (T, N, 3)):
        raise ValueError(f"the force uncertainty{where} has shape {s.shape}: give it per atom ({N},) or per component "
                         f"({N}, 3), in eV/A")
    with np.errstate(invalid="ignore"):
        bad = ~(np.isfinite(s) & (s > 0))
    if bad.any():
        at = np.argwhere(bad)[0]
        atom = int(at[-2])
        raise ValueError(f"the force uncertainty{where} of atom {atom + 1} is {float(s[tuple(at)])!r}: every sigma "
                         "must be a positive number of eV/A (a zero weighs that force infinitely); correct the "
                         "force_std column, or fit unweighted (weights=None)")
    return np.broadcast_to(1.0 / s, shape)


def solve_committee(fit, G: np.ndarray, sizes) -> dict | None:
    """Every member's parameters (dict order -> (M, P_o)), solved with the fit's A'A ``G``, mode and ``rcond`` from the
    members' right-hand sides ``fit.committee_blocks_``; None without a committee."""
    from trajmodes.forceconstants.solve import fit_params
    members = getattr(fit, "committee_blocks_", None)
    if members is None:
        return None
    b = members.b.sum(axis=0)
    p = np.array([fit_params(G, bm, sizes, fit.mode, fit.rcond)[0] for bm in b])
    off = np.concatenate([[0], np.cumsum(sizes)]).astype(int)
    return {o: p[:, off[i]:off[i + 1]] for i, o in enumerate(sorted(fit.bases_))}


def committee_view(fit):
    """The fit with its committee's members standing for its bootstrap resamples: ``params_samples_`` holds the
    members' parameters (:attr:`~trajmodes.forceconstants.fit.EffectiveForceConstants.committee_params_`), so that
    whatever takes the resamples gives the members' values, by the same route: ``frequency_samples(view, q)`` the
    members' frequencies (their standard deviation over the members the committee error bar, beside the bootstrap's),
    ``view.resampled_force_constants()`` the members' :class:`ForceConstants`.

    Raises
    ------
    ValueError
        Where the fit has no committee.
    """
    if getattr(fit, "committee_params_", None) is None:
        raise ValueError("the fit has no committee: fit data that carry a committee's forces (forces_0 ... or "
                         "forces_committee columns) with committee='auto' or True")
    view = copy.copy(fit)
    view.params_samples_ = {o: p.copy() for o, p in fit.committee_params_.items()}
    for name in ("params_err_", "energies_samples_", "energies_err_", "blocking_ratio_"):
        view.__dict__.pop(name, None)                  # the bootstrap's, not the members'
    return view


def arrays_committee(fit, committee_forces, force_std, sel, shape: tuple) -> tuple:
    """(members, sigma) of a fit to arrays (``fit_arrays``): the committee's forces of the frames ``sel``
    (frames, M, atoms, 3), None where there are none or ``committee=False``; and the force uncertainty its ``weights``
    ask for (None unweighted; ``force_std`` of the frames, else the committee's spread; an array given as it is)."""
    weights, committee = getattr(fit, "weights", None), getattr(fit, "committee", "auto")
    members = None if committee_forces is None else np.asarray(committee_forces, float)
    if members is not None:
        if members.ndim != 4 or members.shape[2:] != shape[1:] or members.shape[1] < 2:
            raise ValueError(f"committee_forces has shape {members.shape}: give (frames, members, {shape[1]}, 3) eV/A "
                             "with at least 2 members")
        members = members[sel]
    if committee is True and members is None:
        raise ValueError("committee=True, but no committee_forces were given")
    sigma = None
    if isinstance(weights, str):
        if force_std is not None:
            sigma = np.asarray(force_std, float)[sel]
        elif members is not None:
            sigma = committee_sigma(members)
        else:
            raise ValueError("weights='uncertainty' needs force_std= or committee_forces=: give the force uncertainty "
                             "(eV/A), or weights=sigma, or fit unweighted (weights=None)")
    elif weights is not None:
        sigma = np.asarray(weights, float)
    return (None if committee is False else members), sigma
