"""The alloy figure of docs/disorder.md: fcc Cu-Ni with force-constant disorder (Lennard-Jones bonds of three
stiffnesses, tests/support/lammps_alloy.py). A 100 ps LAMMPS run of 256 atoms at 5 K is fitted twice, as its virtual
crystal and per species pair (with block-bootstrap error bars); the species-resolved constants are then carried to a
larger random arrangement (8 x 8 x 8 conventional cells, 2,048 atoms, half Cu and half Ni), whose unfolded spectral
function (exact_lineshapes, the sample's own matrix diagonalised) is drawn along Gamma-X-W-L-Gamma, with the masses
alone disordered (left) and with the constants disordered too (right), beside the virtual crystal's bands.

    PYTHONPATH=. python docs/figures/disorder/alloy.py [WORKDIR] [--figure-only]   (from the repository root; a few
    minutes)

Prints the constants it fitted and the widths it draws; with ``--figure-only`` it stops once the figure is written
(without the run's own lines). The LAMMPS runs in WORKDIR are reused when they are there."""
import sys
import tempfile
import warnings
from pathlib import Path

import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

import trajmodes  # noqa: E402
from tests.support.lammps_alloy import SPECIES, bond_stiffness, generate  # noqa: E402
from trajmodes.disorder.mass_disorder import exact_lineshapes  # noqa: E402
from trajmodes.disorder.perturbative import disorder_widths  # noqa: E402
from trajmodes.forceconstants.alloy import species_pair_basis  # noqa: E402
from trajmodes.forceconstants.fit import EffectiveForceConstants  # noqa: E402
from trajmodes.forceconstants.model import ForceConstants  # noqa: E402

here = Path(__file__).resolve().parent
figure_only = "--figure-only" in sys.argv[1:]
given = [a for a in sys.argv[1:] if a != "--figure-only"]
work = Path(given[0]) if given else Path(tempfile.mkdtemp())
run = generate(work, temperature=5.0, ps=100.0)
warnings.simplefilter("ignore")
traj = trajmodes.read(str(run["dump"]), species=run["species"], masses=run["masses"], reference=str(run["data"]))
vca = EffectiveForceConstants(cutoff2=4.0).fit(traj).bootstrap()
res = EffectiveForceConstants(cutoff2=4.0, species_resolved=True).fit(traj).bootstrap()
print(vca.scores_table())
print(res.scores_table())
tab = res.species_constants_.sel(species_i=list(SPECIES), species_j=list(SPECIES))
nn = int(np.argmin(tab.distance.values))
print("nearest-neighbour bond: -e.Phi.e (eV/A^2), fitted at 5 K and the potential's phi''(r0)")
for a in SPECIES:
    for b in SPECIES:
        print(f"  {a}-{b}: {-float(tab.radial.sel(species_i=a, species_j=b)[nn]):.5f} "
              f"+- {float(tab.radial_err.sel(species_i=a, species_j=b)[nn]):.5f}   analytic {bond_stiffness(a, b):.5f}")
bond = tab.bond.values[nn]


def radial(est):
    """-e . Phi . e of the compact constants' bond ``bond`` from the primitive atom (eV/A^2)."""
    X = est.supercell_.positions
    j = int(np.argmin(np.linalg.norm(X - X[est.p2s_[0]] - bond, axis=1)))
    e = bond / np.linalg.norm(bond)
    return float(-e @ est.fc2_[0, j] @ e)


print(f"  virtual crystal fit: {radial(vca):.5f}; the species constants averaged with the sample's pair "
      f"probabilities: {radial(res):.5f}")

# the anharmonic renormalisation: a second run at a quarter of the temperature, and the constants extrapolated
# linearly to T = 0, k0 = (4 k(T/4) - k(T)) / 3
cold_run = generate(work / "cold", temperature=1.25, ps=100.0)
cold = EffectiveForceConstants(cutoff2=4.0, species_resolved=True).fit(
    trajmodes.read(str(cold_run["dump"]), species=cold_run["species"], masses=cold_run["masses"],
                   reference=str(cold_run["data"]))).bootstrap()
ctab = cold.species_constants_.sel(species_i=list(SPECIES), species_j=list(SPECIES))
print("| bond | phi''(r0) | 5 K | 1.25 K | extrapolated to 0 K | (k0 - phi'') / error |")
print("|---|---|---|---|---|---|")
for a, b in ((SPECIES[0], SPECIES[0]), (SPECIES[0], SPECIES[1]), (SPECIES[1], SPECIES[1])):
    k5, e5 = -float(tab.radial.sel(species_i=a, species_j=b)[nn]), float(tab.radial_err.sel(species_i=a, species_j=b)[nn])
    k1, e1 = -float(ctab.radial.sel(species_i=a, species_j=b)[nn]), float(ctab.radial_err.sel(species_i=a, species_j=b)[nn])
    k0, e0 = (4 * k1 - k5) / 3, np.hypot(4 * e1, e5) / 3
    print(f"| {a}-{b} | {bond_stiffness(a, b):.5f} | {k5:.5f} +- {e5:.5f} | {k1:.5f} +- {e1:.5f} | "
          f"{k0:.5f} +- {e0:.5f} | {(k0 - bond_stiffness(a, b)) / e0:+.2f} |")

# a larger random arrangement on the same lattice, the fitted constants carried to it
n = 8
prim = res.primitive_
S = np.rint(n * np.array([[-1, 1, 1], [1, -1, 1], [1, 1, -1]])).astype(int)
sc = prim.supercell(S)
rng = np.random.default_rng(0)
species = np.where(rng.permutation(sc.n_atoms) < sc.n_atoms // 2, SPECIES[0], SPECIES[1])
masses = np.where(species == SPECIES[0], run["masses"][1], run["masses"][2])
smap = sc.supercell_map(prim)
p2s = [int(np.flatnonzero(smap.atom == 0)[0])]
basis = species_pair_basis(sc, prim, smap, p2s, 4.0, species)
params = res.bases_[2].transfer(res.params_[2], basis)
phi = basis.sample_matrix(params)
fc = ForceConstants(basis.to_compact(params), sc, prim, smap=smap, p2s=p2s)
corners = {"G": [0, 0, 0], "X": [0, 0.5, 0.5], "W": [0.25, 0.75, 0.5], "L": [0.5, 0.5, 0.5]}
Sf = np.asarray(fc.smap.matrix, float)
commensurate = lambda x: np.allclose(Sf @ x, np.rint(Sf @ x), atol=1e-8)     # noqa: E731
path, ticks, labels = [], [], []
for a, b in zip("GXWLG"[:-1], "GXWLG"[1:]):
    p, q1 = np.array(corners[a], float), np.array(corners[b], float)
    steps = int(round(np.abs(q1 - p).max() * 4 * n))
    ticks.append(len(path))
    labels.append("Γ" if a == "G" else a)
    path += [x for x in (p + (q1 - p) * k / steps for k in range(steps)) if commensurate(x)]
ticks.append(len(path))
labels.append("Γ")
path.append(np.zeros(3))
q = np.array(path)
axis = np.linspace(0, 10.0, 500)
both = exact_lineshapes(fc, masses, q, frequencies=axis, sigma=0.05, sample_constants=phi)
mass = exact_lineshapes(fc, masses, q, frequencies=axis, sigma=0.05)
axis = both.frequency.values
widths = disorder_widths(fc, masses, phi, qpoints=q, sigma=0.1)
ok = both.frequency_vca.values > 0.5
print(f"{sc.n_atoms} atoms, {len(q)} q on the path: rms width (THz) of the exact lines, masses alone "
      f"{float(np.median(mass.rms_width.values[ok])):.3f}, with the constants "
      f"{float(np.median(both.rms_width.values[ok])):.3f}; mean shift from the virtual crystal "
      f"{float(np.median(both.frequency_shift.values[ok])):.3f} (medians over the modes above 0.5 THz)")
print("lowest-order half widths (THz, medians): mass {:.4f}, force constants {:.4f}, cross {:.4f}".format(
    *(float(np.median(widths[k].values[ok])) for k in ("gamma_mass", "gamma_fc", "gamma_cross"))))
fig, axes = plt.subplots(1, 2, figsize=(12, 4.6), sharey=True, layout="constrained")
vmax = np.percentile(both.unfolded.values, 99.5)
for ax, ds, title in ((axes[0], mass, "masses disordered, virtual-crystal constants"),
                      (axes[1], both, "masses and constants disordered (fitted per species pair)")):
    A = ds.unfolded.values.T
    im = ax.imshow(A, origin="lower", aspect="auto", extent=(-0.5, len(q) - 0.5, axis[0], axis[-1]),
                   cmap="viridis", vmin=0.0, vmax=vmax)
    for br in range(3):
        ax.plot(np.arange(len(q)), ds.frequency_vca.values[:, br], "w--", lw=0.7, alpha=0.7)
    ax.set_xticks(ticks, labels)
    ax.set_xlabel("wave vector")
    ax.set_title(title, fontsize=10)
axes[0].set_ylabel("frequency (THz)")
fig.colorbar(im, ax=axes, extend="max", pad=0.01,
             label=r"unfolded spectral function $A(\mathbf{q}, \nu)$ (THz$^{-1}$)")
pairs = ", ".join(f"{a}-{b} {bond_stiffness(a, b):.2f}" for a, b in ((SPECIES[0], SPECIES[0]),
                                                                      (SPECIES[0], SPECIES[1]),
                                                                      (SPECIES[1], SPECIES[1])))
fig.suptitle(f"Cu-Ni, {sc.n_atoms:,} atoms (Lennard-Jones bonds {pairs} eV Å$^{{-2}}$): unfolded spectral function "
             "(exact); dashed: the virtual crystal", fontsize=10)
fig.savefig(here / "alloy_unfolded.png", dpi=130)
print("wrote", here / "alloy_unfolded.png")
if figure_only:
    sys.exit(0)

# the run's own lines (256 atoms) on the virtual crystal of the species-resolved fit: widths against the exact
# lineshapes of its fitted sample matrix, those of the masses alone, and the lowest order
from trajmodes.disorder.mass_disorder import expected_spectra  # noqa: E402
from trajmodes.modes.projection import trajectory_map  # noqa: E402
fc_run = res.force_constants_
ph = trajmodes.Phonons(fc_run)
traj_v = traj                     # the run as read (Cu and Ni): its atoms sit on the virtual crystal's Cu-Ni sites
smap_run, _, m_run = trajectory_map(traj_v, ph)
m_fc = np.empty(len(m_run))
m_fc[fc_run.smap.index(smap_run.atom, smap_run.lattice)] = m_run
spectra = trajmodes.mode_spectra(trajmodes.project(traj_v, ph), resolution=0.05)
md = trajmodes.fit_peaks(spectra)
exact = trajmodes.fit_peaks(expected_spectra(exact_lineshapes(fc_run, m_fc,
                                                              sample_constants=res.sample_force_constants_),
                                             spectra, run["temperature"]))
mass_only = trajmodes.fit_peaks(expected_spectra(exact_lineshapes(fc_run, m_fc), spectra, run["temperature"]))
low = disorder_widths(fc_run, m_fc, res.sample_force_constants_, qpoints=spectra.qpoint.values, sigma=0.1)
fitted = np.isfinite(md.fwhm.values) & np.isfinite(exact.fwhm.values) & (md.fwhm_err.values < md.fwhm.values)
broad = fitted & (exact.fwhm.values > 0.1)
z = (md.fwhm.values - exact.fwhm.values)[broad] / md.fwhm_err.values[broad]
print(f"run ({len(m_fc)} atoms, 5 K, 100 ps, resolution 0.05 THz): {int(broad.sum())} lines broader than 0.1 THz; "
      f"FWHM medians (THz): MD {np.median(md.fwhm.values[broad]):.3f}, exact with the fitted constants "
      f"{np.median(exact.fwhm.values[broad]):.3f} ({100 * np.mean(np.abs(z) < 2):.0f} % within 2 standard errors of "
      f"the run), masses alone {np.nanmedian(mass_only.fwhm.values[broad]):.4f}, lowest order 2 Gamma "
      f"{np.median(2 * low.gamma.values[broad]):.3f} (ratio to exact, median "
      f"{np.median(2 * low.gamma.values[broad] / exact.fwhm.values[broad]):.2f})")
for lo, hi in ((0.5, 3.0), (3.0, 5.0), (5.0, 7.0), (7.0, 9.0)):
    sel = broad & (spectra.frequency_harmonic.values >= lo) & (spectra.frequency_harmonic.values < hi)
    if sel.any():
        print(f"  {lo:.1f}-{hi:.1f} THz ({int(sel.sum())} lines): MD {np.median(md.fwhm.values[sel]):.3f}, exact "
              f"{np.median(exact.fwhm.values[sel]):.3f}, lowest order {np.median(2 * low.gamma.values[sel]):.3f} "
              f"(mass {np.median(2 * low.gamma_mass.values[sel]):.4f}, constants "
              f"{np.median(2 * low.gamma_fc.values[sel]):.3f}, cross {np.median(2 * low.gamma_cross.values[sel]):.3f})")
