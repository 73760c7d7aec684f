"""The memory of the dynamical matrices behind the three-phonon sums' stability check (alpha-quartz, 27 branches,
tests/data/phono3py_quartz): a block of q made Hermitian in place, and the check's few hundred q-points diagonalised
one block at a time on the calling thread (in threads, each block's arrays stayed in the threads' memory pools)."""
from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

from tests.support.paths import DATA


@pytest.fixture(scope="module")
def quartz_phonons():
    from trajmodes.forceconstants.model import ForceConstants
    from trajmodes.phonons.harmonic.phonons import Phonons
    return Phonons(ForceConstants.read(DATA / "phono3py_quartz" / "fc.nc"))


def test_a_block_of_dynamical_matrices_holds_about_two_copies_of_itself(quartz_phonons):
    """The frequencies of 256 q (one block) peak at under 2.6 times the block's matrices (256 x 27 x 27 complex, 3.0
    MB; 2.2 here, 3.2 when D + D^H was formed in new arrays and halved into a third). Traced, deterministic."""
    q = np.random.default_rng(0).random((256, 3))
    first = quartz_phonons.frequencies(q)                            # (first calls' tables out of the count)
    tracemalloc.start()
    again = quartz_phonons.frequencies(q)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    ratio = peak / (256 * 27 * 27 * 16.0)
    assert ratio < 2.6, ratio
    np.testing.assert_array_equal(again, first)


def test_stability_check_diagonalises_a_block_at_a_time_with_the_same_frequencies(quartz_phonons, monkeypatch):
    """:func:`imaginary_modes` asks for the frequencies of its q-points (the supercell's, an 8 x 8 x 8 mesh, the special
    points: 500 and more) at most 256 at a time, one block of the dynamical matrix, and gets the frequencies, bit for
    bit, of one call over all of them (the blocks are multiples of 256 q in either case)."""
    from trajmodes.phonons.harmonic import stability
    sizes, got = [], []
    run = quartz_phonons.frequencies

    def frequencies(q, *args, **kwargs):
        sizes.append(len(q))
        got.append((np.array(q), run(q, *args, **kwargs)))
        return got[-1][1]
    monkeypatch.setattr(quartz_phonons, "frequencies", frequencies)
    stability.imaginary_modes(quartz_phonons)
    assert sum(sizes) > 512 and max(sizes) <= 256, sizes
    q = np.concatenate([x for x, _ in got])
    np.testing.assert_array_equal(np.concatenate([f for _, f in got]), run(q))
