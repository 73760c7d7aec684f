"""Writes reference.json: phono3py 3.19.4's Wigner conductivity (its ``conductivity_type="wigner"``, M. Simoncelli's
implementation) on the Si-PBEsol constants of ../phono3py_si_pbesol, Gaussian smearing 0.1 THz, 300 and 800 K, meshes
5^3 and 7^3.

Run with phono3py 3.19.4 (phonopy 2.43.6, spglib < 2.6) in a separate environment, on a folder holding the constants
as ``tests.support.phono3py_cases.si_pbesol_constants(folder)`` writes them (phono3py_params.yaml, fc2.hdf5,
fc3.hdf5): ``python generate.py FOLDER``.
"""
import json
import sys

import numpy as np
import phono3py

d = sys.argv[1].rstrip("/") + "/"
out = {}
for mesh in (5, 7):
    ph3 = phono3py.load(d + "phono3py_params.yaml", fc2_filename=d + "fc2.hdf5", fc3_filename=d + "fc3.hdf5",
                        produce_fc=False, symmetrize_fc=False, log_level=0)
    ph3.mesh_numbers = [mesh] * 3
    ph3.sigmas = [0.1]
    ph3.init_phph_interaction()
    ph3.run_thermal_conductivity(temperatures=[300.0, 800.0], conductivity_type="wigner", write_kappa=False)
    tc = ph3.thermal_conductivity
    out[mesh] = dict(kappa_P_RTA=np.asarray(tc.kappa_P_RTA)[0].tolist(), kappa_C=np.asarray(tc.kappa_C)[0].tolist(),
                     gamma=np.asarray(tc.gamma)[0].tolist(), qpoints=np.asarray(tc.qpoints).tolist(),
                     grid_points=np.asarray(tc.grid_points).tolist())
with open("reference.json", "w") as f:
    json.dump(out, f, separators=(",", ":"))
