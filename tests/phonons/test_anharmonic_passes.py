"""How the three-phonon sums are done: each triplet's interaction strengths computed once for the width, the shift and
Delta(0) together; the sums at the modes' own frequencies taken on the diagonal only; the tetrahedron weights formed
only for the pairs of bands that can have one; every result the same as the straightforward route's. And the warning
of ``trajmodes anharmonic`` when half of a component of kappa sits in a handful of modes."""
from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from trajmodes.phonons.anharmonic.anharmonic import Anharmonic
from trajmodes.phonons.anharmonic.interaction import Interaction
from trajmodes.phonons.harmonic.degeneracy import degenerate_average, degenerate_averager
from trajmodes.phonons.harmonic.tetrahedron import point_weights


def _counting(monkeypatch) -> list:
    """Count the triplets whose strengths Interaction.strength computes (the expensive part of every sum)."""
    seen = []
    original = Interaction.strength

    def strength(self, q, q1, q2, live=None):
        seen.append(len(np.atleast_1d(q1)))
        return original(self, q, q1, q2, live)
    monkeypatch.setattr(Interaction, "strength", strength)
    return seen


def test_widths_shifts_and_static_shift_take_one_pass_over_the_triplets(cu_fc3, monkeypatch):
    """three_phonon with the static shift (what `trajmodes anharmonic` does for effective constants) computes the
    strength of every triplet once, not once for the widths and shifts and again for Delta(0); the numbers are those of
    the separate routes."""
    from trajmodes.workflows import three_phonon
    seen = _counting(monkeypatch)
    r = three_phonon(cu_fc3, 6, [300.0, 600.0], "quantum", None, kappa=True, static_shift=True)
    an, ds = r.anharmonic, r.dataset
    assert sum(seen) == an.triplet_count()
    seen.clear()
    d0 = an.static_shift()
    lw = an.linewidths(shifts=True)
    np.testing.assert_allclose(ds["frequency_shift_static"].values, d0, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(ds["frequency_shift"].values, lw["frequency_shift"].values, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(ds["gamma"].values, lw["gamma"].values, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(ds["frequency_shift_dynamic"].values, lw["frequency_shift"].values - d0,
                               rtol=1e-12, atol=1e-14)
    assert sum(seen) == 2 * an.triplet_count()


def test_bubble_shifts_are_the_self_energy_at_zero_and_at_each_modes_frequency(si_fc3):
    """Delta(nu0) and Delta(0) of Anharmonic.bubble_shifts (one pass, no widths) against the real part evaluated on
    an explicit frequency axis [0, nu_1, ..., nu_3n], taking each branch at its own frequency."""
    an = Anharmonic(si_fc3, 5, [300.0], occupation="classical", smearing=0.1)
    gps = an.grid.irreducible
    own, zero = an.bubble_shifts(gps, epsilon=0.07)
    for i, g in enumerate(gps):
        f = an.frequencies[g]
        d = an.self_energy(int(g), frequencies=np.concatenate([[0.0], f]), imag=False, real=True,
                           epsilon=0.07).delta[0]
        np.testing.assert_allclose(zero[0, i], d[:, 0], rtol=1e-10, atol=1e-12)
        live = f > an.interaction.cutoff_frequency
        np.testing.assert_allclose(own[0, i][live], degenerate_average(np.diagonal(d[:, 1:])[None], f[None],
                                                                       an.degeneracy_tol)[0][live],
                                   rtol=1e-8, atol=1e-10)


@pytest.mark.parametrize("smearing", [None, 0.1])
def test_sums_at_own_frequencies_are_the_diagonal_of_the_full_ones(si_fc3, smearing):
    """self_energy at the modes' own frequencies sums branch s at nu_s only; the same numbers as every branch at
    every frequency, then the diagonal."""
    an = Anharmonic(si_fc3, 6, [300.0, 900.0], smearing=smearing)
    for g in an.grid.irreducible[[1, 4, -1]]:
        f = an.frequencies[g]
        own = an.self_energy(int(g), real=True, static=True)
        full = an.self_energy(int(g), frequencies=f, real=True)
        zero = an.self_energy(int(g), frequencies=np.zeros(1), imag=False, real=True)
        live = f > an.interaction.cutoff_frequency
        for a, b in ((own.gamma, full.gamma), (own.delta, full.delta)):
            b = np.diagonal(b, axis1=1, axis2=2)
            np.testing.assert_allclose(a[:, live], degenerate_average(b, f[None], an.degeneracy_tol)[:, live],
                                       rtol=1e-10, atol=1e-13)
        np.testing.assert_allclose(own.delta_static, zero.delta[..., 0], rtol=1e-12, atol=1e-14)


def test_tetrahedron_weights_of_the_pairs_kept_are_those_of_every_pair(si_fc3, cu_fc3):
    """The tetrahedron weights are formed only for the pairs of bands whose values can reach a frequency asked for;
    the others are zero. Against every pair of bands through the same kernel, with the degenerate sets averaged: the
    same numbers to the last bit, at the modes' own frequencies and on a grid of frequencies."""
    for fc, mesh in ((si_fc3, 6), (cu_fc3, 5)):
        an = Anharmonic(fc, mesh, [300.0], smearing=None)
        d, g = an.deltas, an.grid
        for q in g.irreducible[[0, 2, -1]]:
            tr = g.triplets(int(q))
            for nu in (an.frequencies[q], np.linspace(0.0, 1.2 * an.frequencies.max(), 37)):
                v1 = d.vertices[tr.q1]
                v2 = g.index(-g.addresses[tr.q][None, None, None, :] - g.addresses[v1])
                fpos = np.maximum(an.frequencies, 0.0)
                a, b = fpos[v1][..., :, None], fpos[v2][..., None, :]
                m1 = degenerate_averager(an.frequencies[tr.q1], d.degeneracy_tol)
                m2 = degenerate_averager(an.frequencies[tr.q2], d.degeneracy_tol)
                every = []
                for vals in (a + b, b - a, a - b):
                    w = np.moveaxis(point_weights(np.moveaxis(vals, (1, 2), (-2, -1)), d.central, nu), -1, 1)
                    every.append(np.einsum("tij,twjk,tlk->twil", m1, w, m2))
                np.testing.assert_allclose(d(tr, nu), np.stack(every), rtol=1e-13, atol=1e-15)


def test_a_kappa_carried_by_a_handful_of_modes_is_flagged():
    """`trajmodes anharmonic` warns where half of a diagonal component of kappa comes from at most 1 % of the modes
    of the mesh (modes that scarcely scatter: their lifetimes are not converged), counting each mode with its star;
    a kappa spread over the modes is not flagged."""
    from trajmodes.workflows.anharmonic import kappa_concentration_lines
    nq, nb = 60, 6
    rng = np.random.default_rng(1)
    mk = np.zeros((1, nq, nb, 3, 3))
    mk[0, :, :, 0, 0] = rng.uniform(0.5, 1.5, (nq, nb))
    mk[0, :, :, 2, 2] = mk[0, :, :, 0, 0]
    mk[0, 0, :2, 2, 2] = 1000.0                                  # two modes at a point of weight 1: most of zz
    tau = np.full((1, nq, nb), 5.0)
    tau[0, 0, :2] = 3e6
    weight = np.full(nq, 8)
    weight[0] = 1
    ds = xr.Dataset(dict(mode_kappa=(("temperature", "q", "branch", "cartesian", "cartesian2"), mk),
                         lifetime=(("temperature", "q", "branch"), tau)),
                    coords=dict(temperature=[300.0], weight=("q", weight)))
    lines = kappa_concentration_lines(ds)
    assert len(lines) == 1 and "kappa_zz" in lines[0] and "2 of the 2838 modes" in lines[0] and "3e+06 ps" in lines[0]
    mk[0, 0, :2, 2, 2] = 1.0
    assert kappa_concentration_lines(ds.assign(mode_kappa=(ds["mode_kappa"].dims, mk))) == []
