"""The unfolded spectral function of a mass-disordered crystal (docs/disorder.md): fcc Cu (EAM, Mishin et al. 2001,
analytic constants at a = 3.615 Å), 8 x 8 x 8 conventional cells (2,048 atoms), half the atoms 15 % lighter and half
15 % heavier, by the kernel polynomial method along Gamma-X-W-L-Gamma (the q of the sample's supercell on that path),
beside the virtual crystal's bands.

    PYTHONPATH=. python docs/figures/disorder/unfolded.py [CACHE.nc]   (from the repository root; under 10 minutes on
    2 cores)

With CACHE.nc the spectral function is written there the first time and read back after, so that the figure can be
redrawn without the computation.
"""
import sys
from pathlib import Path

import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from tests.support.lammps_md import find_potential  # noqa: E402
from trajmodes.disorder.mass_disorder import kpm_lineshapes  # noqa: E402
from trajmodes.workflows import eam_crystal  # noqa: E402

here = Path(__file__).resolve().parent
n = 8
fc = eam_crystal(find_potential("Cu_mishin1.eam.alloy"), "fcc", 3.615, supercell=n).force_constants
rng = np.random.default_rng(0)
m0 = fc.primitive.masses[fc.smap.atom]
m = m0 * np.where(rng.permutation(len(m0)) < len(m0) // 2, 1.15, 0.85)
# Gamma-X-W-L-Gamma in the primitive fcc basis: the q of the 8x8x8 conventional supercell on it
corners = {"G": [0, 0, 0], "X": [0, 0.5, 0.5], "W": [0.25, 0.75, 0.5], "L": [0.5, 0.5, 0.5]}
S = np.asarray(fc.smap.matrix, float)
commensurate = lambda x: np.allclose(S @ x, np.rint(S @ x), atol=1e-8)     # noqa: E731
path, ticks, labels = [], [], []
for a, b in zip("GXWLG"[:-1], "GXWLG"[1:]):
    p, e = np.array(corners[a], float), np.array(corners[b], float)
    steps = int(round(np.abs(e - p).max() * 4 * n))
    ticks.append(len(path))
    labels.append("Γ" if a == "G" else a)
    path += [x for x in (p + (e - p) * k / steps for k in range(steps)) if commensurate(x)]
ticks.append(len(path))
labels.append("Γ")
path.append(np.zeros(3))
q = np.array(path)
axis = np.linspace(0, 8.5, 500)
cache = Path(sys.argv[1]) if len(sys.argv) > 1 else None
if cache is not None and cache.exists():
    import xarray as xr
    ds = xr.load_dataset(cache)
else:
    ds = kpm_lineshapes(fc, m, q, frequencies=axis, n_moments=1024)
    if cache is not None:
        ds.to_netcdf(cache)
fig, ax = plt.subplots(figsize=(7.6, 4.4), layout="constrained")
A = ds.unfolded.values.T
im = ax.imshow(A, origin="lower", aspect="auto", extent=(-0.5, len(q) - 0.5, axis[0], axis[-1]), cmap="viridis",
               vmin=0.0, vmax=np.percentile(A, 99.5))
for b in range(3):
    ax.plot(np.arange(len(q)), ds.frequency_vca.values[:, b], "w--", lw=0.8, alpha=0.8)
ax.set_xticks(ticks, labels)
ax.set(xlabel="wave vector", ylabel="frequency (THz)",
       title=f"Cu, 30 % mass contrast, {len(m0):,} atoms: unfolded spectral function\n"
             "kernel polynomial method; dashed: the virtual crystal")
fig.colorbar(im, ax=ax, extend="max", pad=0.01, label=r"unfolded spectral function $A(\mathbf{q}, \nu)$ (THz$^{-1}$)")
fig.savefig(here / "cu_isotopes_unfolded.png", dpi=130)
print("wrote", here / "cu_isotopes_unfolded.png")
