"""The free energy of an MD run from its effective force constants (TDEP).

O. Hellman, P. Steneteg, I. A. Abrikosov and S. I. Simak, Phys. Rev. B 87, 104111 (2013), eqs. 8-9: with the
effective harmonic constants Phi fitted to the run,

    F = U_0 + F_harm(Phi),      U_0 = < U_MD - 1/2 u Phi u >,

the mean over the frames of the MD potential energy less the harmonic energy of the same displacements, plus the
free energy of the harmonic crystal with Phi (quantum or classical oscillators). For a harmonic crystal U_0 is the
static energy and F the harmonic free energy exactly. The cubic and higher terms enter only through Phi and U_0;
the next correction (Hellman et al., eq. 10) is left out.

In a variable-cell (NPT) run the displacements are measured in the reference cell (a uniformly strained crystal has
none), so the box's own fluctuations are not phonons of Phi, but their elastic energy is in <U_MD>: classically
k_B T / 2 for every independent strain that fluctuates (one for an isotropic barostat, three anisotropic, six
triclinic; :attr:`EffectiveForceConstants.cell_dofs_`). It is taken out of U_0, so that the free energy of an NPT run
is that of the crystal at its mean volume, as an NVT run there gives it.
"""
from __future__ import annotations

import numpy as np

from trajmodes.forceconstants.uncertainty import bootstrap_std
from trajmodes.phonons.harmonic import Phonons
from trajmodes.phonons.uncertainty import harmonic_samples
from trajmodes.units import KB_EV

__all__ = ["tdep_free_energy"]


def tdep_free_energy(fit, temperature: float, mesh=(20, 20, 20), occupation: str = "quantum",
                     errors: bool = True):
    """TDEP free energy of one fitted run, per primitive cell.

    Parameters
    ----------
    fit : EffectiveForceConstants
        Fitted to a run whose every frame has its potential energy (``fit.energies_["potential"]`` finite).
    temperature : float
        K (the run's temperature).
    mesh : (3,) int
        q mesh of the harmonic free energy.
    occupation : {"quantum", "classical"}
    errors : bool
        Bootstrap error bars (the fit's resamples: :meth:`~trajmodes.EffectiveForceConstants.bootstrap` is called
        unless it has been).

    Returns
    -------
    xarray.Dataset
        Scalars, eV per primitive cell: ``free_energy`` F, ``harmonic_free_energy`` F_harm(Phi),
        ``baseline_energy`` U_0, ``potential_energy`` <U_MD>, ``harmonic_energy`` <1/2 u Phi u>, ``cell_energy``
        (the box's elastic energy taken out of U_0; module docstring); in eV/K per
        primitive cell ``harmonic_entropy`` and ``harmonic_heat_capacity`` (Cv) of the effective phonons at fixed
        Phi (the entropy and heat capacity of the run itself are derivatives of F along a series,
        :class:`trajmodes.series.Series`); with ``*_err`` standard errors when ``errors``.
    """
    import xarray as xr
    if occupation not in ("quantum", "classical"):
        raise ValueError(f"occupation must be 'quantum' or 'classical', not {occupation!r}")
    if not np.isfinite(fit.energies_["potential"]):
        raise ValueError("the free energy needs the MD potential energy of every frame, and the fitted run has none "
                         "(or not for every frame): read it with the trajectory (a LAMMPS log: "
                         "trajmodes.read(dump, thermo='log.lammps'); a per-atom c_pe column of the dump; extended "
                         "XYZ energy=)")
    classical = occupation == "classical"
    n_cells = fit.supercell_.n_atoms / fit.primitive_.n_atoms
    T = float(temperature)

    def harmonic(fc):
        th = Phonons(fc).thermal_properties([T], mesh, classical=classical)
        return tuple(float(th[k][0]) for k in ("free_energy_eV", "entropy_eV", "heat_capacity_eV"))

    f_harm, s_harm, c_harm = harmonic(fit.harmonic_force_constants_)
    e = {k: v / n_cells for k, v in fit.energies_.items()}
    box = getattr(fit, "cell_dofs_", 0) * KB_EV * T / 2 / n_cells       # the box's elastic energy (variable cells)
    u_0 = e["baseline"] - box
    values = dict(free_energy=u_0 + f_harm, harmonic_free_energy=f_harm, baseline_energy=u_0,
                  potential_energy=e["potential"], harmonic_energy=e["harmonic"], harmonic_entropy=s_harm,
                  harmonic_heat_capacity=c_harm, cell_energy=box)
    names = dict(free_energy="TDEP free energy U_0 + F_harm", harmonic_free_energy="harmonic free energy of the "
                 "effective constants", baseline_energy="U_0 = <U_MD - 1/2 u Phi u> - E_cell",
                 cell_energy="E_cell = k_B T / 2 per fluctuating strain of the box (zero in a fixed cell)",
                 potential_energy="mean MD potential energy", harmonic_energy="mean harmonic energy 1/2 u Phi u",
                 harmonic_entropy="entropy of the effective phonons", harmonic_heat_capacity="heat capacity (Cv) "
                 "of the effective phonons")
    units = dict(harmonic_entropy="eV/K", harmonic_heat_capacity="eV/K")
    data = {k: ((), v, {"units": units.get(k, "eV"), "long_name": names[k] + " per primitive cell"})
            for k, v in values.items()}
    if errors:
        if not hasattr(fit, "params_samples_"):
            fit.bootstrap()
        B = fit.segments_.n_blocks
        h = harmonic_samples(fit, T, mesh, classical)
        fh, sh, ch = h["free_energy"], h["entropy"], h["heat_capacity"]
        u0 = fit.energies_samples_["baseline"] / n_cells - box
        samples = dict(free_energy=u0 + fh, harmonic_free_energy=fh, baseline_energy=u0,
                       potential_energy=fit.energies_samples_["potential"] / n_cells,
                       harmonic_energy=fit.energies_samples_["harmonic"] / n_cells, harmonic_entropy=sh,
                       harmonic_heat_capacity=ch)
        for k, v in samples.items():
            data[k + "_err"] = ((), float(bootstrap_std(v, B)), {"units": units.get(k, "eV"),
                                                                  "long_name": f"standard error of {k} (block "
                                                                               "bootstrap)"})
    return xr.Dataset(data, attrs=dict(temperature=T, occupation=occupation, mesh=list(map(int, mesh)),
                                       per="primitive cell", n_cells=float(n_cells),
                                       cell_dofs=int(getattr(fit, "cell_dofs_", 0)),
                                       method="O. Hellman et al., Phys. Rev. B 87, 104111 (2013), eqs. 8-9"))
