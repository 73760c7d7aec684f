"""A committee of learned potentials whose spread is known exactly, written as an extended XYZ file.

The crystal, the members' Morse constants and the force builders are those of ``test_committee`` (tetragonal, two
species, 54 atoms). Member m's forces are exactly -(Phi + dPhi_m) u; the run's own ``forces`` column is their mean
plus Gaussian noise, so that the sampling error bar (the run's noise) and the committee's (the members' spread) differ.
The displacements have zero mean over the frames, so the run's time average is the ideal crystal (the default
reference of ``trajmodes fit``).
"""
from __future__ import annotations

import numpy as np

from tests.forceconstants.test_committee import MEMBERS, PRIM, SC, _fc, _forces

__all__ = ["PRIM", "SC", "MEMBERS", "member_constants", "committee_run", "write_committee_xyz", "exact_frequencies"]


def member_constants(members=MEMBERS) -> list:
    """The full (N, N, 3, 3) force constants Phi + dPhi_m of every member, eV/A^2."""
    return [_fc(*m) for m in members]


def committee_run(n_frames: int = 40, members=MEMBERS, noise: float = 0.02, seed: int = 5):
    """(u, committee forces (frames, M, atoms, 3), run's forces (frames, atoms, 3)): displacements of 0.04 A rms with
    zero mean per atom, the members' exact forces, and their mean plus ``noise`` eV/A of Gaussian noise."""
    rng = np.random.default_rng(seed)
    u = rng.normal(0.0, 0.04, (n_frames, SC.n_atoms, 3))
    u -= u.mean(axis=0)
    comm = np.stack([_forces(P, u) for P in member_constants(members)], axis=1)
    return u, comm, comm.mean(axis=1) + noise * rng.normal(size=u.shape)


def write_committee_xyz(path, u, committee, forces=None, force_std=None) -> None:
    """Extended XYZ of the frames: positions, the run's ``forces`` (where given), the committee's
    ``forces_committee`` (3 M columns) and a per-atom ``force_std`` (where given), written to round-trip exactly."""
    cell = " ".join(repr(float(x)) for x in SC.cell.ravel())
    M = committee.shape[1]
    props = ("species:S:1:pos:R:3" + (":forces:R:3" if forces is not None else "")
             + f":forces_committee:R:{3 * M}" + (":force_std:R:1" if force_std is not None else ""))
    lines = []
    for t in range(len(u)):
        lines += [str(SC.n_atoms), f'Lattice="{cell}" Properties={props} pbc="T T T" time={0.01 * t:.4f}']
        cols = [SC.positions + u[t]] + ([forces[t]] if forces is not None else [])
        cols.append(committee[t].transpose(1, 0, 2).reshape(SC.n_atoms, -1))
        if force_std is not None:
            cols.append(np.asarray(force_std, float)[:, None])
        body = np.concatenate(cols, axis=1)
        lines += [f"{s} " + " ".join(repr(float(x)) for x in row) for s, row in zip(SC.species, body)]
    path.write_text("\n".join(lines) + "\n")


def exact_frequencies(q_cart, members=MEMBERS) -> np.ndarray:
    """Every member's exact frequencies (M, nq, 6) THz at the cartesian wave vectors ``q_cart`` (1/A, without 2 pi)."""
    from trajmodes import ForceConstants
    from trajmodes.phonons.harmonic.phonons import Phonons
    q = np.atleast_2d(q_cart) @ PRIM.cell.T
    return np.array([Phonons(ForceConstants(P, SC, PRIM)).frequencies(q) for P in member_constants(members)])
