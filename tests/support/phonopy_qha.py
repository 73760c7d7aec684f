"""phonopy's quasiharmonic route (finite displacements per volume, thermal properties, PhonopyQHA) on a trajmodes
potential, for the tests and the benchmark (no pytest import: the benchmark runs without the test extras)."""
import numpy as np


def phonopy_qha(potential, lattice_parameters, mesh: int, temperatures, classical: bool = False):
    """phonopy's quasiharmonic route for diamond Si with a trajmodes potential: per lattice parameter, finite
    displacements (0.01 A) of the 16-atom supercell with the potential's forces, force constants, thermal properties
    on a Gamma-centred mesh (Gamma's acoustic modes excluded); then ``PhonopyQHA`` (Vinet). Returns (V(T), B_T(T))
    in A^3 per cell and GPa, for the temperatures PhonopyQHA keeps (it drops the last)."""
    import warnings
    from phonopy import Phonopy, PhonopyQHA
    from phonopy.structure.atoms import PhonopyAtoms
    from trajmodes.lattice.crystal import Crystal
    from trajmodes.lattice.prototypes import prototype
    T = np.asarray(temperatures, dtype=float)
    vols, E, F, C, S = [], [], [], [], []
    for a in lattice_parameters:
        cr = prototype("diamond", "Si", a)
        ph = Phonopy(PhonopyAtoms(symbols=["Si"] * 2, cell=cr.cell, positions=cr.positions),
                     supercell_matrix=[[-2, 2, 2], [2, -2, 2], [2, 2, -2]])
        ph.generate_displacements(distance=0.01)
        ph.forces = [potential.energy_forces(Crystal(s.cell, s.positions, s.symbols)).forces
                     for s in ph.supercells_with_displacements]
        ph.produce_force_constants()
        ph.run_mesh([mesh] * 3, is_gamma_center=True)
        ph.run_thermal_properties(temperatures=T, classical=classical, exclude_gamma_acoustic=True)
        tp = ph.thermal_properties
        vols.append(cr.volume)
        E.append(potential.energy(cr))
        F.append(tp.free_energy)
        C.append(tp.heat_capacity)
        S.append(tp.entropy)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)          # PhonopyQHA's successor API is still moving
        qha = PhonopyQHA(vols, E, temperatures=T, free_energy=np.array(F).T, cv=np.array(C).T,
                         entropy=np.array(S).T, eos="vinet", t_max=T[-1])
        return np.array(qha.volume_temperature), np.array(qha.bulk_modulus_temperature)
