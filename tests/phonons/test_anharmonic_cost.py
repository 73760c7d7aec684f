"""Three-phonon sums that take minutes say what they will cost before they start (``trajmodes anharmonic`` took 8.5
min on alpha-quartz's 9-atom cell, 127,773 triplets x 27 branches, with no word of it): the time of one q-point
scaled by the triplets, and the temporaries per core; sums of seconds say nothing."""
from __future__ import annotations

import re

import numpy as np
import pytest

from tests.support.paths import DATA


@pytest.fixture(scope="module")
def quartz_3x3x3():
    from trajmodes.forceconstants.model import ForceConstants
    from trajmodes.phonons.anharmonic.anharmonic import Anharmonic
    fc = ForceConstants.read(DATA / "phono3py_quartz" / "fc.nc")
    return Anharmonic(fc, [3, 3, 3], temperatures=300.0, occupation="classical", smearing=0.1, allow_unstable=True)


def test_cost_words_time_one_point_and_scale_by_the_triplets(quartz_3x3x3):
    """Quartz on the 3 x 3 x 3 mesh: 59 triplets x 27^3 (1.2e6) is under the default threshold (nothing said); with
    none, the words name the point timed (the fewest triplets that fill a block: on 27 branches and own frequencies
    one block is 8 triplets, filled first by the point of 8 of the counts 7, 8 and 10) and a time and memory."""
    an = quartz_3x3x3
    assert an.triplet_count() == 59
    assert an.cost_words() == ""
    words = an.cost_words(at_least=0)
    m = re.fullmatch(r"; about (\d+) s on (\d+) cores, (\d+) MB per core \(one q-point timed: 8 triplets in (\S+) s\)",
                     words)
    assert m, words
    # twice the largest array of a block of 8 triplets, 8 bytes x max(27^3, 3 x 27 x 27^2)
    assert int(m.group(3)) == round(2 * 8.0 * 8 * 3 * 27 ** 3 / 1e6)
    # on frequencies the size is triplets x nw x 27^2 where larger: 59 x 401 x 27^2 = 1.7e7 (under 1e8), 59 x 41 x 27^2
    # = 1.8e6 (over 1e6)
    assert an.cost_words(frequencies=np.linspace(0, 50, 401), at_least=1e8) == ""
    assert "one q-point timed" in an.cost_words(frequencies=np.linspace(0, 50, 41), at_least=1e6)


def test_anharmonic_workflow_says_the_cost_in_its_step_line(quartz_3x3x3, monkeypatch):
    """``trajmodes anharmonic``'s step line (:func:`trajmodes.workflows.anharmonic.three_phonon`, printed by the
    command as it starts) carries the estimate where the sums are large enough (threshold lowered here)."""
    from trajmodes.phonons.anharmonic.anharmonic import Anharmonic
    from trajmodes.workflows.anharmonic import three_phonon
    import contextlib
    orig = Anharmonic.cost_words
    monkeypatch.setattr(Anharmonic, "cost_words", lambda self, *a, **k: orig(self, *a, **{**k, "at_least": 0}))
    labels = []

    def progress(label):
        labels.append(label)
        return contextlib.nullcontext()
    three_phonon(quartz_3x3x3.force_constants, [2, 2, 2], [300.0], smearing=0.1, kappa=False, progress=progress,
                 allow_unstable=True)
    assert any(re.search(r"triplets; about \d+ s on \d+ cores, \d+ MB per core \(one q-point timed", lab)
               for lab in labels), labels
