#!/usr/bin/env python
"""phono3py's bubble self-energy at Gamma of the alpha-quartz constants ``fc.nc`` beside this script: the reference of
tests/phonons/test_quartz_lineshape_phono3py.py.  Run from the repository root::

    python tests/data/phono3py_quartz/make_reference.py

The constants go to phono3py through trajmodes' writer (``ForceConstants.write(folder, "phono3py")``); phono3py
computes Gamma(W) (``run_imag_self_energy``, Gaussian smearing) and Delta(W) (``run_real_self_energy``, principal
values 1/x -> x / (x^2 + epsilon^2)) at the frequency points W, quantum occupations (phono3py has no classical ones),
on the mesh of the run's 162-atom supercell (3 x 3 x 2 hexagonal cells: the MD grid of ``trajmodes compare``).
Branches of one degenerate set are averaged, as trajmodes averages them.

``fc.nc``: ``python tests/support/lammps_quartz.py OUT --T 300`` (4 ps NVT of 3 x 3 x 2 cells at the 0 K lattice, every
10 fs, seed 4711; the Si atoms move onto the beta-quartz sites), then ``trajmodes fit OUT/quartz_3x3x2_300K.lammpstrj
--reference OUT/quartz_3x3x2_0K.data --cutoff2 5 --cutoff3 3 --keep-reference --committee no -o FIT`` (the 9-atom
P3_221 cell of the reference kept; 19 imaginary modes on an 8 x 8 x 8 mesh, none on the 3 x 3 x 2 one, a soft 0.37
THz mode at Gamma).
"""
import sys
import tempfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[2]))
MESH, SIGMA, EPSILON, T = (3, 3, 2), 0.1, 0.2, 300.0


def main() -> int:
    import phono3py
    from trajmodes.forceconstants.model import ForceConstants
    fc = ForceConstants.read(HERE / "fc.nc")
    with tempfile.TemporaryDirectory() as tmp:
        fc.write(tmp, "phono3py")
        ph3 = phono3py.load(f"{tmp}/phono3py_params.yaml", fc2_filename=f"{tmp}/fc2.hdf5",
                            fc3_filename=f"{tmp}/fc3.hdf5", produce_fc=False, symmetrize_fc=False, log_level=0)
    ph3.mesh_numbers = MESH
    ph3.sigmas = [SIGMA]
    ph3.init_phph_interaction()
    ph3.run_phonon_solver()
    freqs = ph3.get_phonon_data()[0]
    f0 = freqs[0]
    w = np.linspace(0.0, 1.5 * float(freqs.max()), 241)
    w[0] = 1e-4                                   # phono3py leaves W = 0 out: Delta(0) as its limit
    gamma = np.asarray(ph3.run_imag_self_energy([0], [T], frequency_points=w).gammas)[0, 0, 0]
    delta = np.asarray(ph3.run_real_self_energy([0], [T], frequency_points=w, epsilons=[EPSILON])[1])[0, 0, 0]
    for x in (gamma, delta):                      # (branch, W): the mean over each degenerate set
        x[:] = [x[np.abs(f0 - f) < 1e-4].mean(0) for f in f0]
    np.savez_compressed(HERE / "reference.npz", frequency_points=w, gamma=gamma, delta=delta, frequencies=f0,
                        mesh=np.array(MESH), sigma=SIGMA, epsilon=EPSILON, temperature=T,
                        phono3py_version=phono3py.__version__)
    print(f"wrote {HERE / 'reference.npz'} (phono3py {phono3py.__version__})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
