"""The minimum of the quasiharmonic free energy: relaxation of the strains and internal coordinates at each
temperature (the quasi-Newton scheme of M. B. Taylor, N. L. Allan, J. A. O. Bruno and G. D. Barrera, Phys. Rev. B 59,
353 (1999): the static Hessian, improved by BFGS updates from the analytic gradients), the free-energy Hessian at the
minimum, and what follows from it (elastic constants, thermal expansion, C_P, the Grueneisen parameter). A base class
of :class:`~trajmodes.phonons.thermodynamics.quasiharmonic.QuasiHarmonic`, whose free energy and gradients it minimises.
"""
from __future__ import annotations

import warnings

import numpy as np

from trajmodes.lattice.crystal import Crystal
from trajmodes.lattice.strain import deformed
from trajmodes.units import EV_A3_GPA

__all__ = ["FreeEnergyMinimum", "NEAR_SPINODAL"]

#: a minimum whose isothermal bulk modulus has fallen below this fraction of its value at the lowest temperature is
#: flagged ``near_instability``: approaching the quasiharmonic spinodal, alpha ~ 1/B_T diverges
NEAR_SPINODAL = 0.25


class FreeEnergyMinimum:
    """The minimisation of :class:`~trajmodes.phonons.thermodynamics.quasiharmonic.QuasiHarmonic` (module docstring); it calls the
    free energy, gradients and symmetry of the class it is a base of."""

    def _step(self, crystal: Crystal, dx: np.ndarray) -> Crystal:
        n = crystal.n_atoms
        return deformed(crystal, dx[:6], dx[6:].reshape(n, 3))

    def _relax(self, crystal: Crystal, T: float, pressure: float, internal: str, tol: float, max_iter: int):
        """Quasi-Newton minimisation from ``crystal``: (crystal, local quantities at the minimum, iterations)."""
        n = crystal.n_atoms
        loc = self._local(crystal, T, pressure)
        H = None
        for it in range(1, max_iter + 1):
            g = self._projected(loc["gradient"], n)
            if internal == "fixed":
                g[6:] = 0.0
            if H is None:
                H = self._static_hessian(loc["hessian"], n)
            if internal == "zsisa":
                # internal coordinates at zero static internal stress; the strains minimise G along that path
                Hs = loc["hessian"]
                inv = np.linalg.pinv(Hs[6:, 6:], rcond=1e-10)
                du_de = -inv @ Hs[6:, :6]
                ge = loc["gradient"][:6] + du_de.T @ loc["gradient"][6:]
                He = Hs[:6, :6] + Hs[:6, 6:] @ du_de
                de = -np.linalg.solve(He + 1e-12 * np.eye(6), ge)
                du = -inv @ (loc["static_gradient"][6:]) + du_de @ de
                dx = np.concatenate([de, du])
            else:
                dx = -np.linalg.pinv(H, rcond=1e-12) @ g
                if internal == "fixed":
                    dx[6:] = 0.0
            R, perm = self._symmetry(crystal)[:2]
            dx = self._symmetrised(dx, R, perm, step=True)           # round-off must not break the symmetry
            big = np.abs(dx[:6]).max() / 0.02
            if big > 1:
                dx /= big                                   # no strain step above 2 %
            new = self._step(crystal, dx)
            new_loc = self._local(new, T, pressure)
            # BFGS update of the Hessian in local coordinates (the frames differ by O(dx^2))
            y = self._projected(new_loc["gradient"], n) - g
            if internal == "fixed":
                y[6:] = 0.0
            sy = dx @ y
            if internal != "zsisa" and sy > 1e-16:
                Hs_ = H @ dx
                H = H + np.outer(y, y) / sy - np.outer(Hs_, Hs_) / (dx @ Hs_)
            crystal, loc = new, new_loc
            if np.abs(dx[:6]).max() < tol and np.abs(dx[6:]).max(initial=0.0) < tol * 10:
                return crystal, loc, it
        raise RuntimeError(f"the free-energy minimisation at {T:g} K did not converge in {max_iter} steps "
                           f"(last step {np.abs(dx).max():.3g}); the structure may be unstable at this temperature")

    @staticmethod
    def _translations(n: int) -> np.ndarray:
        """Orthonormal basis (6 + 3n, 3) of rigid translations of the internal coordinates."""
        t = np.zeros((6 + 3 * n, 3))
        for a in range(3):
            t[6 + a::3, a][:n] = 1.0 / np.sqrt(n)
        return t

    def _projected(self, g: np.ndarray, n: int) -> np.ndarray:
        t = self._translations(n)
        return g - t @ (t.T @ g)

    def _static_hessian(self, H: np.ndarray, n: int) -> np.ndarray:
        """The static Hessian with the rigid translations given unit stiffness (so it is invertible)."""
        t = self._translations(n)
        P = np.eye(len(H)) - t @ t.T
        return P @ H @ P + t @ t.T

    def _operation_matrices(self, R: np.ndarray, perm: np.ndarray, step: bool) -> np.ndarray:
        """Each operation as a matrix (m, 6 + 3n, 6 + 3n) on steps (``step``) or on gradients."""
        nx = 6 + 3 * perm.shape[1]
        out = np.empty((len(R), nx, nx))
        for o in range(len(R)):
            for i in range(nx):
                v = np.zeros(nx)
                v[i] = 1.0
                out[o, :, i] = self._symmetrised(v, R[o:o + 1], perm[o:o + 1], step=step)
        return out

    def free_energy_hessian(self, crystal: Crystal, temperature: float, pressure: float = 0.0,
                            step: float = 1e-5) -> np.ndarray:
        """The Hessian of G (6 + 3n)^2 at ``crystal`` in its local coordinates: central differences of the analytic
        gradient (step in strain and in A), one column per orbit of coordinates under the crystal's symmetry
        (H S v = S' H v for every operation), symmetrised. ``temperature`` in K."""
        T = float(temperature)
        n = crystal.n_atoms
        nx = 6 + 3 * n
        R, perm = self._symmetry(crystal)[:2]
        Sx, Sg = self._operation_matrices(R, perm, True), self._operation_matrices(R, perm, False)
        V, HV = np.zeros((0, nx)), np.zeros((0, nx))
        for i in range(nx):
            e = np.zeros(nx)
            e[i] = 1.0
            if len(V) and np.linalg.norm(e - V.T @ np.linalg.lstsq(V.T, e, rcond=None)[0]) < 1e-8:
                continue                                          # already spanned by the images of earlier columns
            dx = step * e
            gp = self._to_global(self._local(self._step(crystal, dx), T, pressure, hessian=False)["gradient"],
                                 dx[:6], dx[6:])
            gm = self._to_global(self._local(self._step(crystal, -dx), T, pressure, hessian=False)["gradient"],
                                 -dx[:6], -dx[6:])
            col = (gp - gm) / (2 * step)
            V = np.concatenate([V, Sx[:, :, i]])
            HV = np.concatenate([HV, Sg @ col])
        H = np.linalg.lstsq(V, HV, rcond=None)[0].T             # H V^T = HV^T
        return 0.5 * (H + H.T)

    def minimize(self, temperatures, pressure: float = 0.0, internal: str = "relax", tol: float = 1e-9,
                 max_iter: int = 60, properties: bool = True):
        """Minimise G = Phi_stat + F_vib + p V over the strains and internal coordinates at each temperature.

        Parameters
        ----------
        temperatures : sequence of float
            K; solved in increasing order, each from the previous minimum.
        pressure : float
            GPa.
        internal : {"relax", "zsisa", "fixed"}
            ``relax``: full minimisation over internal coordinates; ``zsisa``: internal coordinates at zero static
            internal stress (the zero-static-internal-stress approximation, Allan et al., Phys. Rev. B 54 (1996);
            Taylor et al. 1999, Sec. V); ``fixed``: internal coordinates held at the reference's fractions.
        tol : float
            Convergence: largest strain step (internal steps 10 tol in A).
        properties : bool
            Also the free-energy Hessian at each minimum (central differences of the analytic gradient): elastic
            constants, bulk moduli, thermal expansion, C_P and the Grueneisen parameter.

        Returns
        -------
        xarray.Dataset over ``temperature``: ``cell`` (cell_vector, cartesian) A, ``scaled_positions`` (atom,
        reduced), ``volume`` A^3, ``lattice_parameters`` (cell_vector: a, b, c) A, ``free_energy`` F and
        ``gibbs_energy`` G eV per cell, ``static_energy``, ``entropy``, ``heat_capacity_v`` (eV/K per cell); with
        ``properties``: ``thermal_expansion`` (Voigt, 1/K),
        ``volumetric_expansion`` 1/K, ``elastic_constants_t``/``_s`` (6, 6) GPa (isothermal, adiabatic, internal
        strains relaxed), ``bulk_modulus_t``/``_s`` GPa (Reuss), ``heat_capacity_p`` eV/K, ``gruneisen``
        (V alpha_V B_T / C_V); ``iterations``. Where the lattice has no minimum (an imaginary mode: the
        quasiharmonic free energy stops existing on heating), a RuntimeWarning says so and the results stop at the
        last temperature with one (attribute ``unstable``); at the first temperature it is a ValueError.
        """
        if internal not in ("relax", "zsisa", "fixed"):
            raise ValueError(f"internal must be 'relax', 'zsisa' or 'fixed', not {internal!r}")
        T = np.sort(np.atleast_1d(np.asarray(temperatures, dtype=float)))
        if (T < 0).any():
            raise ValueError("temperatures must be >= 0 K")
        p = float(pressure) / EV_A3_GPA
        from trajmodes.resources import one_blas_thread
        with one_blas_thread():                     # 3n x 3n matrices: BLAS threads only cost here
            return self._minimize(T, p, float(pressure), internal, tol, max_iter, properties)

    def _minimize(self, T, p, pressure, internal, tol, max_iter, properties):
        import xarray as xr
        crystal = self.crystal
        n = crystal.n_atoms
        rows = []
        unstable = ""
        for t in T:
            try:
                crystal, loc, it = self._relax(crystal, t, p, internal, tol, max_iter)
            except (ValueError, RuntimeError) as exc:
                if not rows:
                    raise ValueError(f"at {t:g} K: {exc}") from None
                unstable = f"no minimum at {t:g} K ({exc}); the results stop at {T[len(rows) - 1]:g} K"
                warnings.warn(f"quasiharmonic minimisation: {unstable}", RuntimeWarning, stacklevel=2)
                T = T[:len(rows)]
                break
            row = dict(cell=crystal.cell.copy(), scaled_positions=crystal.scaled_positions.copy(),
                       volume=loc["volume"], free_energy=loc["F"], gibbs_energy=loc["G"], static_energy=loc["static"],
                       entropy=loc["vib_entropy"], heat_capacity_v=loc["vib_heat_capacity"], iterations=it)
            if properties:
                row.update(self._properties(crystal, loc, t, p, internal))
            rows.append(row)
        V0 = rows[0]["volume"]
        ds = xr.Dataset(
            dict(cell=(("temperature", "cell_vector", "cartesian"), np.array([r["cell"] for r in rows]),
                       {"units": "Angstrom"}),
                 scaled_positions=(("temperature", "atom", "reduced"), np.array([r["scaled_positions"] for r in rows])),
                 lattice_parameters=(("temperature", "cell_vector"),
                                     np.linalg.norm([r["cell"] for r in rows], axis=-1),
                                     {"units": "Angstrom", "long_name": "lengths of the vectors of the cell minimised "
                                      "(the crystal given: for the prototypes, the primitive cell, e.g. a / sqrt(2) of "
                                      "a cubic fcc or diamond crystal), not the cube edge"}),
                 volume=("temperature", np.array([r["volume"] for r in rows]), {"units": "Angstrom^3 per cell"}),
                 free_energy=("temperature", np.array([r["free_energy"] for r in rows]), {"units": "eV per cell"}),
                 gibbs_energy=("temperature", np.array([r["gibbs_energy"] for r in rows]), {"units": "eV per cell"}),
                 static_energy=("temperature", np.array([r["static_energy"] for r in rows]), {"units": "eV per cell"}),
                 entropy=("temperature", np.array([r["entropy"] for r in rows]), {"units": "eV/K per cell"}),
                 heat_capacity_v=("temperature", np.array([r["heat_capacity_v"] for r in rows]),
                                  {"units": "eV/K per cell"}),
                 iterations=("temperature", np.array([r["iterations"] for r in rows]))),
            coords=dict(temperature=("temperature", T, {"units": "K"}), cell_vector=["a", "b", "c"],
                        voigt=["xx", "yy", "zz", "yz", "xz", "xy"], species=("atom", list(self.crystal.species))),
            attrs=dict(mesh=self.mesh.reshape(-1).tolist(), occupation=self.occupation, pressure_GPa=float(pressure),
                       internal=internal, n_atoms=n, volume_T0=V0, unstable=unstable,
                       method="quasiharmonic free-energy minimisation (Taylor et al., Phys. Rev. B 59, 353 (1999))"))
        if properties:
            for name, dims, unit in (("thermal_expansion", ("voigt",), "1/K"), ("volumetric_expansion", (), "1/K"),
                                     ("elastic_constants_t", ("voigt", "voigt2"), "GPa"),
                                     ("elastic_constants_s", ("voigt", "voigt2"), "GPa"),
                                     ("bulk_modulus_t", (), "GPa"), ("bulk_modulus_s", (), "GPa"),
                                     ("heat_capacity_p", (), "eV/K per cell"), ("gruneisen", (), "")):
                ds[name] = (("temperature",) + dims, np.array([r[name] for r in rows]), {"units": unit})
            ds["gruneisen"].attrs["long_name"] = ("thermodynamic Grueneisen parameter V alpha_V B_T / C_V; NaN where "
                                                  "C_V = 0 (0 K with quantum occupations: 0/0)")
            ds = ds.assign_coords(voigt2=["xx", "yy", "zz", "yz", "xz", "xy"])
            bt = ds["bulk_modulus_t"].values
            ds["near_instability"] = ("temperature", bt < NEAR_SPINODAL * bt[0], {
                "long_name": f"B_T below {NEAR_SPINODAL:g} of its value at the lowest temperature: the free-energy "
                             "minimum is about to vanish on heating (B_T -> 0, alpha and C_P diverge), where the "
                             "quasiharmonic approximation no longer describes the crystal"})
        return ds

    def _properties(self, crystal: Crystal, loc: dict, T: float, p: float, internal: str) -> dict:
        """Elastic constants, expansion, C_P and the Grueneisen parameter at a minimum."""
        n = crystal.n_atoms
        H = self.free_energy_hessian(crystal, T, p)
        P = np.eye(len(H)) - self._translations(n) @ self._translations(n).T
        V = loc["volume"]
        Hee, Heu, Huu = H[:6, :6], H[:6, 6:], H[6:, 6:]
        Huu_inv = np.linalg.pinv(P[6:, 6:] @ Huu @ P[6:, 6:], rcond=1e-10)
        if internal == "fixed":
            Ct = Hee / V
        else:
            Ct = (Hee - Heu @ Huu_inv @ Heu.T) / V                     # eV/A^3, internal strains relaxed
        gT = loc["dgradient_dT"]
        if internal == "fixed":
            alpha = -np.linalg.solve(Hee, gT[:6])
        else:
            full = np.linalg.pinv(P @ H @ P, rcond=1e-10)
            alpha = -(full @ (P @ gT))[:6]
        aV = alpha[:3].sum()
        S = np.linalg.inv(Ct)
        BT = 1.0 / S[:3, :3].sum()
        Cv = loc["vib_heat_capacity"]
        b = Ct @ alpha                                                   # eV/(A^3 K)
        Cp = Cv + V * T * alpha @ b
        Cs = Ct + (V * T / Cv) * np.outer(b, b) if Cv > 0 else Ct.copy()
        BS = 1.0 / np.linalg.inv(Cs)[:3, :3].sum()
        gam = V * aV * BT / Cv if Cv > 0 else np.nan
        return dict(thermal_expansion=alpha, volumetric_expansion=aV, elastic_constants_t=Ct * EV_A3_GPA,
                    elastic_constants_s=Cs * EV_A3_GPA, bulk_modulus_t=BT * EV_A3_GPA, bulk_modulus_s=BS * EV_A3_GPA,
                    heat_capacity_p=Cp, gruneisen=gam)
