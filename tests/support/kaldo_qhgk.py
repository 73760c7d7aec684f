"""kALDo's quasi-harmonic Green-Kubo conductivity of the amorphous Si cell of tests/data/kaldo with a linewidth of its
own for every mode, the reference of tests/disorder/test_qhgk.py.

kALDo is never a dependency of trajmodes: it runs in a venv of its own, on the constants that
tests/support/kaldo_reference.py stored (step 1 there), and writes tests/data/kaldo/asi216_kaldo_qhgk.npz::

    python3.11 -m venv /work/kaldo-venv && /work/kaldo-venv/bin/pip install kaldo==2.3.0
    /work/kaldo-venv/bin/python tests/support/kaldo_qhgk.py

The linewidths (FWHM, THz) are drawn once, ``0.02 + 0.03 nu (1 + u)`` with u uniform in [0, 1) (seed 7), and stored
with the result. kALDo takes them as ``Conductivity(method='qhgk', diffusivity_bandwidth=b)`` with one b per mode:
its Lorentzian has full width sigma = 2 (b_i + b_j) in rad/ps, so b_i = Gamma_i / 2 = pi FWHM_i (the
per-mode array broadcasts where kALDo multiplies its constant b by ones; kALDo 2.3.0, ``kaldo/conductivity.py``).
Stored: the 3 x 3 conductivity (W/(m K), summed over modes) and the diffusivity per mode (mm^2/s) for quantum
heat capacities at ``TEMPERATURES`` and classical ones at 300 K.
"""
from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parents[1] / "data" / "kaldo"
CONSTANTS = HERE / "asi216_constants.npz"
QHGK_REFERENCE = HERE / "asi216_kaldo_qhgk.npz"
TEMPERATURES = (50.0, 300.0)
SEED = 7


def linewidths(frequencies) -> np.ndarray:
    """The FWHM (THz) given to every mode, from the frequencies (THz)."""
    u = np.random.default_rng(SEED).random(len(frequencies))
    return 0.02 + 0.03 * np.abs(np.asarray(frequencies, float)) * (1.0 + u)


def main() -> None:
    import kaldo
    from ase import Atoms
    from kaldo.conductivity import Conductivity
    from kaldo.forceconstants import ForceConstants
    from kaldo.observables.secondorder import SecondOrder
    from kaldo.phonons import Phonons
    z = np.load(CONSTANTS)
    n = len(z["positions"])
    phi = np.zeros((3 * n, 3 * n))
    np.add.at(phi, (z["rows"], z["cols"]), z["values"])
    atoms = Atoms(["Si"] * n, positions=z["positions"], cell=z["cell"], pbc=True)
    atoms.set_masses(z["masses"])
    out = {"kaldo_version": np.array(getattr(kaldo, "__version__", "2.3.0"))}
    with tempfile.TemporaryDirectory() as tmp:
        second = SecondOrder.from_supercell(atoms, grid_type="C", supercell=(1, 1, 1),
                                            value=phi.reshape(1, n, 3, 1, n, 3), folder=tmp)
        fc = ForceConstants(atoms=atoms, supercell=(1, 1, 1), folder=tmp, second_order=second)
        cases = [(f"quantum_{int(T)}", T, False) for T in TEMPERATURES] + [("classical_300", 300.0, True)]
        for name, T, classic in cases:
            ph = Phonons(forceconstants=fc, is_classic=classic, temperature=T, folder=tmp, storage="memory")
            nu = np.asarray(ph.frequency, dtype=float).reshape(-1)
            fwhm = linewidths(nu)
            cond = Conductivity(phonons=ph, method="qhgk", storage="memory", diffusivity_bandwidth=np.pi * fwhm,
                                diffusivity_shape="lorentz")
            out[f"conductivity_{name}"] = np.asarray(cond.conductivity, dtype=float).sum(axis=0)
            out[f"diffusivity_{name}"] = np.asarray(cond.diffusivity, dtype=float).reshape(-1)
            out["frequency"], out["linewidth"] = nu, fwhm
            out["physical"] = np.asarray(ph.physical_mode).reshape(-1)
    np.savez_compressed(QHGK_REFERENCE, **out)
    print(f"wrote {QHGK_REFERENCE}")


if __name__ == "__main__":
    main()
