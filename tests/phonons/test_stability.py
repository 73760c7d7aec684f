"""Imaginary modes of force constants (trajmodes.phonons.harmonic.stability) and the refusal of the three- and four-phonon sums
on unstable constants.

The crystal: a one-atom bcc Born-von Karman model, first-shell constants 1XY > 1XX (the N-point transverse mode
polarised along [1-10] softens, as in bcc Zr) with a negative second-neighbour spring: dynamically unstable, its
lowest mode imaginary at N. The independent route is the closed-form BvK dynamical matrix
(:func:`trajmodes.potentials.bvk.bvk_dynamical_matrix`, no supercell, no Fourier transform of force constants).
"""
import numpy as np
import pytest

from trajmodes.forceconstants.model import ForceConstants
from trajmodes.phonons.harmonic.dynamical import frequencies_from_eigenvalues
from trajmodes.phonons.harmonic.stability import UnstableConstantsError, check_qpoints, count_imaginary, imaginary_modes
from trajmodes.potentials.bvk import bvk_dynamical_matrix, force_constants_from_bvk

A, MASS = 3.6, 91.224
UNSTABLE = {"1XX": 10.0, "1XY": 12.0, "2XX": -1.0}          # N/m
STABLE = {"1XX": 10.0, "1XY": 11.0, "2XX": 2.0, "2YY": 0.5}


def _fc(constants, fc3=False, fc4=False):
    fc = force_constants_from_bvk(constants, "bcc", A, MASS, (3, 3, 3))
    if not (fc3 or fc4):
        return fc
    n = fc.n_atoms
    third = np.zeros((1, n, n, 3, 3, 3)) if fc3 else None
    fourth = (np.zeros((0, 4), np.int64), np.zeros((0, 3, 3, 3, 3))) if fc4 else None
    return ForceConstants(fc.fc2, fc.supercell, fc.primitive, smap=fc.smap, p2s=fc.p2s, fc3=third, fc4=fourth)


def _analytic(constants, fc, q):
    """Frequencies (THz) of the closed-form BvK dynamical matrix at reduced q of ``fc``'s primitive cell."""
    cart = q @ np.linalg.inv(fc.primitive.cell).T * A               # X of fcc at (1, 0, 0)
    return frequencies_from_eigenvalues(np.linalg.eigvalsh(bvk_dynamical_matrix(constants, "bcc", MASS, cart)))


def test_unstable_constants_counted_with_the_lowest_at_N():
    fc = _fc(UNSTABLE)
    found = imaginary_modes(fc)
    q = check_qpoints(fc)
    ref = _analytic(UNSTABLE, fc, q)
    assert found.unstable and found.label == "N"
    # the closed form counted with the same rule (acoustic modes near Gamma within 0.1 THz left out: none here)
    same = count_imaginary(q, ref, np.linalg.inv(fc.primitive.cell).T)
    assert found.count == same.count == int((ref < -0.01).sum()) > 100
    assert found.n_qpoints == same.n_qpoints and found.n_checked == len(q)
    np.testing.assert_allclose(found.lowest, ref.min(), atol=1e-6)
    n = _analytic(UNSTABLE, fc, found.qpoint[None])[0]              # the q it names is N, where the lowest is
    np.testing.assert_allclose(n.min(), ref.min(), atol=1e-6)
    assert "imaginary modes" in found.summary() and "at N" in found.summary()


def test_stable_constants_have_none():
    found = imaginary_modes(_fc(STABLE))
    assert not found.unstable and found.count == 0 and found.lowest >= -0.01
    assert "no imaginary modes" in found.summary()


def test_acoustic_modes_near_gamma_within_the_tolerance_are_not_counted():
    """Round-off of the acoustic sum rule makes the acoustic modes at and near Gamma slightly imaginary: not counted
    within the acoustic tolerance (0.1 THz), counted beyond it; any other mode below -0.01 THz is."""
    q = np.array([[0, 0, 0], [0.02, 0, 0], [0.25, 0, 0]])
    f = np.array([[-0.3, 0.0, 0.0], [-0.05, 1.0, 2.0], [1.0, 2.0, 3.0]])
    assert count_imaginary(q, f, np.eye(3)).count == 0
    f[1, 0] = -0.2
    assert count_imaginary(q, f, np.eye(3)).count == 1
    f[1, 0], f[2, 0] = -0.05, -0.05
    found = count_imaginary(q, f, np.eye(3))
    assert found.count == 1 and found.lowest == -0.05 and np.allclose(found.qpoint, [0.25, 0, 0])


def test_three_phonon_sums_refuse_unstable_constants_unless_allowed():
    from trajmodes.phonons.anharmonic.anharmonic import Anharmonic
    fc = _fc(UNSTABLE, fc3=True)
    with pytest.raises(UnstableConstantsError) as err:
        Anharmonic(fc, 4, [300.0], smearing=0.2)
    msg = str(err.value)
    assert "\n" not in msg and "imaginary modes" in msg and "at N" in msg and "allow_unstable" in msg
    assert "Fit effective constants" in msg
    an = Anharmonic(fc, 4, [300.0], smearing=0.2, allow_unstable=True)
    assert an.imaginary.unstable and an.linewidths().attrs["imaginary_modes"] == an.imaginary.count
    stable = Anharmonic(_fc(STABLE, fc3=True), 4, [300.0], smearing=0.2)
    assert stable.imaginary.count == 0


def test_four_phonon_sums_refuse_unstable_constants_unless_allowed():
    from trajmodes.phonons.anharmonic.fourphonon import FourPhonon
    fc = _fc(UNSTABLE, fc4=True)
    with pytest.raises(UnstableConstantsError, match="four-phonon widths"):
        FourPhonon(fc, 2)
    assert FourPhonon(fc, 2, allow_unstable=True).imaginary.unstable


def test_phonon_properties_name_where_the_lowest_mode_is():
    from trajmodes.workflows import phonon_properties
    res = phonon_properties(_fc(UNSTABLE), npoints=5, mesh=(8, 8, 8), temperatures=[300.0])
    found = res.imaginary()
    assert found.unstable and found.label == "N" and found.n_checked == 512


def test_a_soft_optical_mode_at_gamma_counts():
    """At Gamma the translations are the three frequencies closest to zero, not the three lowest: a soft optical
    mode below them (a ferroelectric's TO mode) is imaginary, and acoustic round-off is not."""
    from trajmodes.phonons.harmonic.stability import count_imaginary
    soft = count_imaginary([[0, 0, 0]], [[-2.0, 0.0, 0.0, 0.0, 5.0, 5.0]])
    assert soft.count == 1 and soft.lowest == -2.0 and soft.unstable
    near = count_imaginary([[0.01, 0, 0]], [[-0.5, 0.02, 0.02, 0.03, 5.0, 5.0]])
    assert near.count == 1 and near.lowest == -0.5                 # not given the acoustic tolerance (0.1 THz)
    assert count_imaginary([[0, 0, 0]], [[-1e-4, 0.0, 1e-4, 3.0, 5.0, 5.0]]).count == 0
