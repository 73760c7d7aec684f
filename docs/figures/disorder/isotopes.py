"""The figure of docs/disorder.md: fcc Cu (EAM, 256 atoms) with a 30 % mass contrast at 5 K, 200 ps of LAMMPS
(tests/support/lammps_isotopes.py): the full widths of its lines against the exact harmonic lineshapes of the same
sample and Tamura's lowest order, and the lines of three modes.

    PYTHONPATH=. python docs/figures/disorder/isotopes.py [WORKDIR]   (from the repository root; about 3 minutes)

Prints the table of widths it draws."""
import sys
import tempfile
import warnings
from pathlib import Path

import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

import trajmodes  # noqa: E402
from tests.support.lammps_isotopes import generate  # noqa: E402
from tests.support.lammps_md import find_potential  # noqa: E402
from trajmodes.disorder.mass_disorder import exact_lineshapes, expected_spectra, site_masses  # noqa: E402
from trajmodes.lattice.grid import Grid  # noqa: E402
from trajmodes.modes.projection import trajectory_map  # noqa: E402
from trajmodes.phonons.anharmonic.isotope import isotope_gamma  # noqa: E402
from trajmodes.workflows import eam_crystal  # noqa: E402

here = Path(__file__).resolve().parent
work = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp())
run = generate(work, temperature=5.0, ps=200.0)
warnings.simplefilter("ignore")
traj = trajmodes.read(str(run["dump"]), species={1: "Cu", 2: "Cu"}, masses=run["masses"], reference="average")
fc = eam_crystal(find_potential("Cu_mishin1.eam.alloy"), "fcc", 3.615, supercell=4).force_constants
ph = trajmodes.Phonons(fc)
smap, _, masses = trajectory_map(traj, ph)
mbar, g2 = site_masses(masses, smap)
spectra = trajmodes.mode_spectra(trajmodes.project(traj, ph), resolution=0.05)
md = trajmodes.fit_peaks(spectra)
m_fc = np.empty(len(masses))
m_fc[fc.smap.index(smap.atom, smap.lattice)] = masses
lines = exact_lineshapes(fc, m_fc)
expected = expected_spectra(lines, spectra, run["temperature"])
exact = trajmodes.fit_peaks(expected)
grid = Grid(40)
f, e = ph.dm.frequencies_and_eigenvectors(grid.qpoints)
gps = grid.index(np.rint(spectra.qpoint.values * 40).astype(int) % 40)
tamura = 2 * isotope_gamma(f, e, g2, grid, gps, smearing=None, reciprocal_cell=fc.primitive.reciprocal_cell)

nu = spectra.frequency_harmonic.values
ok = np.isfinite(md.fwhm.values) & np.isfinite(exact.fwhm.values) & (nu > 0.5)
fig, (a, b) = plt.subplots(1, 2, figsize=(11, 4.2))
# the lines the run resolves (its width known better than itself); narrower ones sit at the resolution
res = ok & (md.fwhm_err.values < md.fwhm.values)
a.errorbar(nu[res], md.fwhm.values[res], md.fwhm_err.values[res], fmt="o", ms=3, alpha=0.5,
           label="MD (LAMMPS, 5 K, 200 ps)")
a.plot(nu[ok], exact.fwhm.values[ok], "s", mfc="none", ms=5, label="exact harmonic lineshapes of the sample")
a.plot(nu[ok], tamura[ok], "k.", ms=4, label="Tamura, lowest order")
a.axhline(0.1, color="0.6", lw=0.8, ls=":")
a.text(1.0, 0.11, "twice the spectra's resolution", color="0.5", fontsize=8)
a.set_ylim(0, 0.8)
a.set(xlabel="virtual-crystal frequency (THz)", ylabel="FWHM (THz)",
      title=f"Cu, 30 % mass contrast ($g_2$ = {g2[0]:.4f}), 256 atoms: linewidths")
a.legend(fontsize=8)
ax = spectra.frequency.values
picks = [int(np.argmin(np.abs(np.where(ok, nu, np.inf) - x))) for x in (3.3, 5.2, 7.2)]
for n, flat in enumerate(picks):
    iq, br = np.unravel_index(flat, nu.shape)
    s = spectra.psd.values[iq, br]
    t = expected.psd.values[iq, br]
    sel = (ax > nu[iq, br] - 1.2) & (ax < nu[iq, br] + 1.2)
    b.plot(ax[sel], s[sel] / t.max() + n, color=f"C{n}", lw=1)
    b.plot(ax[sel], t[sel] / t.max() + n, color="k", lw=1, ls="--")
    qtext = ", ".join(f"{x:.3g}" for x in np.asarray(spectra.qpoint.values[iq], float) + 0.0)
    top = max(float(s[sel].max()), float(t[sel].max())) / t.max() + n        # the label above the line's peak
    b.text(ax[sel][0], top + 0.06, f"q = ({qtext}), branch {br}", fontsize=7, va="bottom")
b.set_ylim(-0.1, max(text.get_position()[1] for text in b.texts) + 0.35)     # room for the highest label
b.set(xlabel="frequency (THz)", ylabel="kinetic-energy spectrum, scaled and offset",
      title="three lines: MD (colour), exact harmonic (dashed)")
fig.tight_layout()
fig.savefig(here / "cu_isotopes_widths.png", dpi=130)
print("wrote", here / "cu_isotopes_widths.png")
order = np.argsort(nu[ok])
_, first = np.unique(np.round(nu[ok][order], 3), return_index=True)
for i in order[first]:
    print(f"{nu[ok][i]:6.3f} MD {md.fwhm.values[ok][i]:.3f} +- {md.fwhm_err.values[ok][i]:.3f}  exact "
          f"{exact.fwhm.values[ok][i]:.3f}  Tamura {tamura[ok][i]:.3f}")
