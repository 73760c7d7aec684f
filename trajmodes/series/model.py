"""One model over the runs of a series: every run fitted in the first run's symmetry basis (so its parameters mean
the same force constants), the checks that the runs are of one crystal and one model, and the map of a run's
parameters into the first run's basis where the bases differ."""
from __future__ import annotations

import numpy as np

from trajmodes.forceconstants.fit import EffectiveForceConstants
from trajmodes.lattice.spglib_calls import SYMPREC

__all__ = ["formula", "shared_basis", "check_same_model", "in_first_basis"]


def formula(species) -> str:
    """Species counts, e.g. 'Cu32' or 'Ga4As4'."""
    names, counts = np.unique(np.asarray(species).astype(str), return_counts=True)
    return "".join(f"{n}{c}" for n, c in zip(names, counts))


def shared_basis(first: EffectiveForceConstants, build=None):
    """A ``build_basis`` that returns the bases of the fit ``first`` after checking that the run at hand has the same
    clusters (the same atoms within the cutoffs): the parameters of every run then mean the same force constants and
    can be compared and interpolated. (A basis built anew for each run may span the same space with other basis
    vectors: the null space of the symmetry conditions has no unique basis.)"""
    from trajmodes.forceconstants.fit import default_build_basis
    build = build or default_build_basis

    def shared(fc, order, cutoff, primitive=None, symprec=SYMPREC):
        mine = build(fc, order, cutoff, primitive=primitive, symprec=symprec)
        ref = first.bases_[order]
        if mine.n_params != ref.n_params or not np.array_equal(np.asarray(mine.sites), np.asarray(ref.sites)):
            raise ValueError(f"its order-{order} clusters within the {cutoff:g} A cutoff are not those of the first "
                             f"run ({mine.n_params} vs {ref.n_params} parameters"
                             + (", on other sites" if mine.n_params == ref.n_params else "") + "): either the runs "
                             "are of different crystals, or the cutoff falls on a neighbour shell that moves across it "
                             "with the volume (choose a cutoff between shells)")
        return ref
    return shared


def check_same_model(fits) -> list[dict]:
    """Check that the fits share run 0's supercell and model, and return per fit and order the matrix ``M`` that
    takes its parameters into run 0's basis (``E_0 M = E_k``; None where the bases are the same). Independent fits
    of one crystal span the same force constants, but where an orbit has several free parameters the basis vectors
    chosen for it may differ between runs (they depend on the reference's round-off)."""
    ref = fits[0]
    maps = [{} for _ in fits]
    for k, f in enumerate(fits[1:], 1):
        if f.supercell_.n_atoms != ref.supercell_.n_atoms or not np.array_equal(f.supercell_.species,
                                                                                  ref.supercell_.species):
            raise ValueError(f"run {k} has other atoms than run 0: a series needs the same supercell throughout")
        for o in ref.bases_:
            if o not in f.bases_ or f.bases_[o].n_params != ref.bases_[o].n_params:
                raise ValueError(f"run {k} has another order-{o} model than run 0 ("
                                 f"{f.bases_.get(o) and f.bases_[o].n_params} vs {ref.bases_[o].n_params} "
                                 "parameters): the same cutoffs must hold the same neighbour shells at every "
                                 "volume; choose cutoffs between shells")
            E0, E = ref.bases_[o].E, f.bases_[o].E
            d = abs(E - E0)
            if not d.nnz or d.max() <= 1e-8:
                maps[k][o] = None
                continue
            E0d, Ed = E0.toarray(), E.toarray()
            M = np.linalg.lstsq(E0d, Ed, rcond=None)[0]
            if np.abs(E0d @ M - Ed).max() > 1e-8 * max(1.0, np.abs(Ed).max()):
                raise ValueError(f"run {k}'s order-{o} parameters mean other force constants than run 0's (their "
                                 "symmetry bases span different spaces): a series needs the same crystal symmetry "
                                 "throughout")
            maps[k][o] = M
    return maps


def in_first_basis(M, values):
    """Parameters (..., P) of a run expressed in run 0's basis through its map ``M`` (None: the same basis)."""
    return values if M is None else values @ M.T
