"""The split of every frequency shift of a series into a volume (quasiharmonic) and an intrinsic (anharmonic) part
(G. Lucazeau, J. Raman Spectrosc. 34, 478 (2003)): a base class of :class:`~trajmodes.series.core.Series`."""
from __future__ import annotations

import numpy as np

from trajmodes.lattice.crystal import Crystal
from trajmodes.series.thermodynamics import SAME, SAME_T_SPLIT

__all__ = ["ShiftSplit"]


class ShiftSplit:
    """:meth:`shift_split` of a :class:`~trajmodes.series.core.Series` (its ``dataset`` and interpolation)."""

    def shift_split(self, harmonic=None, reference: int | None = None, t_tolerance: float = SAME_T_SPLIT):
        """Split every tabulated frequency's shift into its quasiharmonic (volume) and intrinsic parts.

        Parameters
        ----------
        harmonic : callable, optional
            ``harmonic(crystal) -> ForceConstants``: the harmonic (0 K) constants of the supercell ``crystal`` at a
            run's cell, e.g. ``potential.force_constants``. Without it the series' own runs at the reference volume
            serve (see the module docstring): every temperature needs a run at the reference volume.
        reference : int, optional
            The run whose temperature and volume are the origin (T_0, V_0); default the lowest-temperature run of the
            smallest volume.
        t_tolerance : float
            Relative difference within which two runs count as one temperature (runs at one thermostat setting
            differ in their mean kinetic temperature by its scatter).

        Returns
        -------
        xarray.Dataset over (run, q, branch), THz: ``total`` = ``quasiharmonic`` + ``intrinsic``, with ``*_err``
        from the runs' error bars (independent runs, added in quadrature); NaN where a run has no partner at the
        reference volume.
        """
        import xarray as xr
        ds = self.dataset
        T, V = self.temperatures, self.volumes
        nu = ds.frequency.values
        err = ds.frequency_err.values if "frequency_err" in ds else np.zeros_like(nu)
        if reference is None:
            low = np.flatnonzero(np.isclose(T, T.min(), rtol=t_tolerance))
            reference = int(low[np.argmin(V[low])])
        nu0, e0 = nu[reference], err[reference]
        shift = nu - nu0
        shift_err = np.sqrt(err ** 2 + e0 ** 2)
        shift_err[reference] = 0.0
        if harmonic is None:
            V0 = V[reference]
            qh, qh_err = np.full_like(nu, np.nan), np.full_like(nu, np.nan)
            intr_err = np.full_like(nu, np.nan)
            for i in range(len(T)):
                same = np.flatnonzero(np.isclose(T, T[i], rtol=t_tolerance) & np.isclose(V, V0, rtol=SAME))
                if len(same):                  # j: the run at this temperature and the reference volume
                    j = same[0]
                    qh[i] = nu[i] - nu[j]
                    qh_err[i] = 0.0 if i == j else np.sqrt(err[i] ** 2 + err[j] ** 2)
                    intr_err[i] = 0.0 if j == reference else np.sqrt(err[j] ** 2 + e0 ** 2)
            intr = shift - qh
            method = ("runs at the reference volume: quasiharmonic nu(T, V_T) - nu(T, V_0), intrinsic "
                      "nu(T, V_0) - nu(T_0, V_0)")
        else:
            from trajmodes.phonons.harmonic.phonons import Phonons
            q = ds.qpoint.values
            model = self._basis_model()
            sc = model.supercell_
            nh = []
            for cell in ds.cell.values:
                strain = np.linalg.solve(sc.cell, cell)
                nh.append(Phonons(harmonic(Crystal(cell, sc.positions @ strain, sc.species, sc.masses))
                                  ).frequencies(q))
            nh = np.array(nh)
            shift = nu - nh[reference]
            shift_err = err
            qh, qh_err = nh - nh[reference], np.zeros_like(nu)
            intr, intr_err = nu - nh, err
            method = "harmonic constants of each volume: quasiharmonic nu_h(V_T) - nu_h(V_0), intrinsic nu - nu_h(V_T)"
        thz = {"units": "THz"}
        out = xr.Dataset(dict(total=(("run", "q", "branch"), shift, dict(thz, long_name="shift from the reference")),
                              quasiharmonic=(("run", "q", "branch"), qh, dict(thz, long_name="volume part")),
                              intrinsic=(("run", "q", "branch"), intr, dict(thz, long_name="fixed-volume part")),
                              total_err=(("run", "q", "branch"), shift_err, thz),
                              quasiharmonic_err=(("run", "q", "branch"), qh_err, thz),
                              intrinsic_err=(("run", "q", "branch"), intr_err, thz)),
                         coords={k: ds[k] for k in ("run", "name", "temperature", "volume", "qpoint", "qlabel",
                                                    "branch")},
                         attrs=dict(reference_run=int(reference), method=method))
        return out
