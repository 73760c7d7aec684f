"""An engine's own failure during sampling (an ASE calculator whose SCF did not converge, LAMMPS that cannot open its
potential file) reaches the user with its message kept and where it happened: the configuration, and the iteration
of the self-consistent phonons, the Langevin step or the batch of the Gibbs-Bogoliubov bound; with what to do.

The failures are the programs' own: ASE's ``SCFError`` raised by a calculator as ASE's DFT calculators raise it, and
the LAMMPS Python module's exception for a ``pair_coeff`` whose EAM file does not exist (LAMMPS' own message).
"""
from __future__ import annotations

import pytest

from trajmodes.lattice.cubic import cubic_lattice
from trajmodes.phonons.thermodynamics.self_consistent import SelfConsistentPhonons
from trajmodes.potentials.engines import AseEngine, EngineError, HarmonicEngine
from trajmodes.potentials.pair import Morse


@pytest.fixture(scope="module")
def copper():
    sc, prim = cubic_lattice("fcc", 3.615, 2, ["Cu"], masses=[63.546])
    return Morse(0.3429, 1.3588, 2.866, cutoff=6.0).force_constants(sc, prim)


def _unconverged_calculator(fc, fail_at: int):
    """An ASE calculator with the harmonic crystal's energy and forces whose SCF does not converge on its
    ``fail_at``-th call (0-based), as an ASE DFT calculator reports it (ase.calculators.calculator.SCFError)."""
    ase_calc = pytest.importorskip("ase.calculators.calculator")
    exact = HarmonicEngine(fc)

    class Unconverged(ase_calc.Calculator):
        implemented_properties = ["energy", "forces"]

        def __init__(self):
            super().__init__()
            self.calls = 0

        def calculate(self, atoms=None, properties=("energy",), system_changes=ase_calc.all_changes):
            super().calculate(atoms, properties, system_changes)
            self.calls += 1
            if self.calls - 1 == fail_at:
                raise ase_calc.SCFError("SCF not converged after 100 iterations (energy change 3.2e-03 eV)")
            r = exact.evaluate(self.atoms.positions)
            self.results = {"energy": float(r.energies[0]), "forces": r.forces[0]}

    return Unconverged()


def test_an_ase_calculator_that_does_not_converge_is_named_with_its_iteration_and_configuration(copper):
    n0 = 4                                           # configurations of the first iteration; the second has 8
    engine = AseEngine(copper.supercell, _unconverged_calculator(copper, fail_at=n0 + 5))
    with pytest.raises(EngineError) as info:
        SelfConsistentPhonons(300.0, n_samples=n0, growth=2.0, max_iter=3, cutoff2=3.0).fit(engine, copper)
    msg = str(info.value)
    assert "SCFError: SCF not converged after 100 iterations" in msg            # the calculator's own message
    assert "AseEngine ('ase') failed on configuration 5 (0-based, of 8 evaluated together)" in msg
    assert "iteration 2 of the self-consistent phonons (8 configurations sampled at 300 K)" in msg
    assert "more SCF steps" in msg
    assert info.value.configuration == 5 and info.value.positions.shape == (copper.n_atoms, 3)
    assert type(info.value.__cause__).__name__ == "SCFError"


def test_an_ase_calculator_failing_in_langevin_sampling_names_the_step(copper):
    engine = AseEngine(copper.supercell, _unconverged_calculator(copper, fail_at=3))
    with pytest.raises(EngineError) as info:
        engine.sample_langevin(300.0, 10, every=2)
    msg = str(info.value)
    assert "SCFError: SCF not converged" in msg and "Langevin step 3 of 10 at 300 K (lambda 1" in msg


def _lammps_engine(copper, tmp_path):
    from tests.support.lammps_md import lammps_module
    if lammps_module() is None:
        pytest.skip("the lammps Python module is not installed")
    from trajmodes.potentials.lammps_engine import LammpsEngine
    return LammpsEngine(copper.supercell, "eam/alloy", f"* * {tmp_path / 'Cu_mishin1.eam.alloy'} Cu")


def test_lammps_that_cannot_open_its_potential_file_is_named_with_the_command_and_iteration(copper, tmp_path):
    engine = _lammps_engine(copper, tmp_path)
    with pytest.raises(EngineError) as info:
        SelfConsistentPhonons(300.0, n_samples=4, max_iter=2, cutoff2=3.0).fit(engine, copper)
    msg = str(info.value)
    assert "cannot open eam/alloy potential file" in msg and str(tmp_path / "Cu_mishin1.eam.alloy") in msg
    assert "LammpsEngine ('lammps') failed on" in msg and "setting LAMMPS up (its command 'pair_coeff * *" in msg
    assert "iteration 1 of the self-consistent phonons (4 configurations sampled at 300 K)" in msg
    assert "pair_coeff" in msg.split(". It is LAMMPS' own error")[1]


def test_lammps_langevin_that_cannot_open_its_potential_file_is_named(copper, tmp_path):
    engine = _lammps_engine(copper, tmp_path)
    with pytest.raises(EngineError) as info:
        engine.sample_langevin(300.0, 10, every=2)
    msg = str(info.value)
    assert "cannot open eam/alloy potential file" in msg and "setting LAMMPS up" in msg
