"""Ab initio MD output files written from known frames, for the tests of the ASE reader (trajmodes.io.ase_reader).

ASE writes its own ``.traj``, extended XYZ and XDATCAR (:func:`ase_images` gives the frames to write), but not VASP's
OUTCAR or vasprun.xml, nor pw.x's output; :func:`write_outcar`, :func:`write_vasprun` and :func:`write_espresso_out`
write those from the same frames, in the layout the programs print (VASP 6, Quantum ESPRESSO 7) and with the
programs' own precision, reduced to what ASE's readers parse (no eigenvalues, augmentation charges, timings...):

- OUTCAR: the header ASE reads up to the first SCF ``Iteration`` line (``POTCAR:`` lines, ``ions per type``, ISPIN,
  IBRION, POTIM), then per ionic step SCF iteration lines, the ``FORCE on cell`` block with ``in kB`` (%12.5f, order
  xx yy zz xy yz zx, positive when compressed), ``direct lattice vectors`` (%13.9f), ``POSITION`` /
  ``TOTAL-FORCE`` (%13.5f, %14.6f), the ``FREE ENERGIE OF THE ION-ELECTRON SYSTEM`` block and the MD energies;
- vasprun.xml: generator, incar, k-points, parameters (IBRION, POTIM, PSTRESS), atominfo, the initial structure and
  one ``<calculation>`` per ionic step (an ``scstep``, the structure in fractional coordinates, forces, stress in kB
  and the energies; %16.8f);
- pw.x: the start-up summary (celldm(1), crystal axes, positions in alat units, %.7f) with the results of the first
  step, then per MD step ``Entering Dynamics: iteration = N``, ``time = T pico-seconds``, ``ATOMIC_POSITIONS
  (angstrom)`` (%.10f) and the SCF results (``!    total energy`` in Ry %.8f, forces in Ry/au %.8f, ``total
  stress`` in Ry/bohr**3 %.8f and kbar).

Frames are given in trajmodes' units: positions and cells (rows a, b, c) in A, forces eV/A, energies eV, pressure
tensors GPa (LAMMPS' sign, positive when compressed), velocities A/ps.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

#: VASP's order of the six stress components in ``in kB`` lines and trajmodes' (i, j) for each
VASP_ORDER = ((0, 0), (1, 1), (2, 2), (0, 1), (1, 2), (0, 2))


def lammps_frames(traj) -> dict:
    """Every frame of a trajmodes Trajectory read from a LAMMPS dump (and its log) as numpy arrays."""
    import dask
    names = ["positions", "velocities", "forces", "cells"] + list(traj.frame_fields)
    arrays = [getattr(traj, n) for n in names]
    return dict(zip(names, dask.compute(*arrays, scheduler="sync")), symbols=list(traj.species),
                times=np.asarray(traj.times), md_timestep=traj.md_timestep, steps=np.asarray(traj.steps))


def ase_images(frames: dict, *, with_velocities: bool = True, with_forces: bool = True) -> list:
    """ASE Atoms of every frame with a single-point calculator holding energy, forces and stress (ASE's units:
    velocities in A per ASE time unit, stress eV/A^3 positive under tension)."""
    from ase import Atoms, units
    from ase.calculators.singlepoint import SinglePointCalculator
    out = []
    for k in range(len(frames["positions"])):
        a = Atoms(frames["symbols"], positions=frames["positions"][k], cell=frames["cells"][k], pbc=True)
        if with_velocities:
            a.set_velocities(frames["velocities"][k] / (1000.0 * units.fs))      # A/ps -> A per ASE time unit
        p = frames["pressure_tensor"][k]
        stress = -np.array([p[0, 0], p[1, 1], p[2, 2], p[1, 2], p[0, 2], p[0, 1]]) * units.GPa
        results = dict(energy=frames["potential_energy"][k], stress=stress)
        if with_forces:
            results["forces"] = frames["forces"][k]
        a.calc = SinglePointCalculator(a, **results)
        out.append(a)
    return out


def _wrap(positions: np.ndarray, cell: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Cartesian positions wrapped into the cell (as VASP prints them) and their fractional coordinates."""
    frac = positions @ np.linalg.inv(cell)
    frac -= np.floor(frac)
    return frac @ cell, frac


def _species_counts(symbols) -> list[tuple[str, int]]:
    out = []
    for s in symbols:
        if out and out[-1][0] == s:
            out[-1] = (s, out[-1][1] + 1)
        else:
            out.append((s, 1))
    return out


def write_outcar(path, frames: dict, *, potim_fs: float, scf_iterations: int = 2, filler_lines: int = 0) -> Path:
    """A VASP MD OUTCAR (IBRION = 0, POTIM = ``potim_fs``) of ``frames``; ``filler_lines`` lines of SCF output per
    step stand in for what a real OUTCAR prints there (eigenvalues, ...)."""
    from ase import units
    path = Path(path)
    species = _species_counts(frames["symbols"])
    n_atoms = len(frames["symbols"])
    out = [" vasp.6.3.0 20Jan22 (build Feb 16 2022 17:18:48) complex                          parallel",
           "  ", " executed on             LinuxIFC date 2025.07.22  10:00:00", " running on    1 total cores",
           " POSCAR found :  1 types and      %d ions" % n_atoms]
    for _ in range(2):                                   # VASP lists every POTCAR twice
        out += [f" POTCAR:    PAW_PBE {s} 05Jan2001" for s, _ in species]
    out += ["", " Dimension of arrays:",
            f"   number of dos      NEDOS =    301   number of ions     NIONS = {n_atoms:6d}",
            "   ions per type =   " + "".join(f"{c:6d}" for _, c in species), "",
            " Electronic Relaxation 1", "   ENCUT  =  245.3 eV  18.03 Ry    4.25 a.u.",
            "   ISPIN  =      1    spin polarized calculation?", "",
            " Ionic relaxation", f"   NSW    = {len(frames['positions']):6d}    number of steps for IOM",
            "   IBRION =      0    ionic relax: 0-MD 1-quasi-New 2-CG",
            "   ISIF   =      2    stress and relaxation",
            f"   POTIM  = {potim_fs:6.4f}    time-step for ionic-motion",
            "   TEIN   =  300.0    initial temperature", ""]
    cell0 = frames["cells"][0]
    out += ["      direct lattice vectors                 reciprocal lattice vectors"]
    rec0 = np.linalg.inv(cell0).T
    out += [f"  {' '.join(f'{x:13.9f}' for x in cell0[i])}  {' '.join(f'{x:13.9f}' for x in rec0[i])}"
            for i in range(3)]
    out += ["", "--------------------------------------------------------------------------------------------------"
                "------", ""]
    for k in range(len(frames["positions"])):
        cell, e = frames["cells"][k], float(frames["potential_energy"][k])
        for it in range(1, scf_iterations + 1):
            if k or it > 1:
                out.append(f"----------------------------------------- Iteration {k + 1:6d}({it:4d})  "
                           "---------------------------------------")
            else:                      # the header ends at the first Iteration line
                out.append("----------------------------------------- Iteration      1(   1)  "
                           "---------------------------------------")
            out += ["", "    POTLOK:  cpu time    0.0100: real time    0.0100",
                    f"  free energy    TOTEN  = {e + 10.0 ** -it:18.8f} eV", ""]
            out += [f"  eigenvalue filler {j:6d}   {0.001 * j:10.4f}   2.00000" for j in range(filler_lines)]
        p = frames["pressure_tensor"][k]
        vol = abs(np.linalg.det(cell))
        kb = [p[i, j] * 10.0 for i, j in VASP_ORDER]                # GPa -> kB
        total = [x * 0.1 * units.GPa * vol for x in kb]                 # kB * A^3 -> eV
        out += ["", "  FORCE on cell =-STRESS in cart. coord.  units (eV):",
                "  Direction    XX          YY          ZZ          XY          YZ          ZX",
                "  " + "-" * 86, "  Total   " + "".join(f"{x:12.5f}" for x in total),
                "  in kB   " + "".join(f"{x:12.5f}" for x in kb),
                f"  external pressure = {sum(kb[:3]) / 3:12.2f} kB  Pullay stress =        0.00 kB", "",
                " VOLUME and BASIS-vectors are now :", " " + "-" * 77, "  energy-cutoff  :      245.35",
                f"  volume of cell : {vol:12.2f}", "      direct lattice vectors                 reciprocal lattice "
                                                    "vectors"]
        rec = np.linalg.inv(cell).T
        out += [f"  {''.join(f'{x:13.9f}' for x in cell[i])}  {''.join(f'{x:13.9f}' for x in rec[i])}"
                for i in range(3)]
        out += ["", "  length of vectors", "", "", " POSITION                                       TOTAL-FORCE "
                                                "(eV/Angst)", " " + "-" * 83]
        pos, _ = _wrap(frames["positions"][k], cell)
        f = frames["forces"][k]
        out += ["".join(f"{x:13.5f}" for x in pos[i]) + "   " + "".join(f"{x:14.6f}" for x in f[i])
                for i in range(n_atoms)]
        out += [" " + "-" * 83, f"    total drift:                         {0:14.6f}{0:14.6f}{0:14.6f}", "", "",
                "-" * 104, "", "", "",
                "  FREE ENERGIE OF THE ION-ELECTRON SYSTEM (eV)", "  " + "-" * 51,
                f"  free  energy   TOTEN  = {e:18.8f} eV", "",
                f"  energy  without entropy= {e:18.8f}  energy(sigma->0) = {e:18.8f}", "", "",
                "  ENERGIE OF THE ELECTRON-ION-THERMOSTAT SYSTEM (eV)", "  " + "-" * 51,
                f"% ion-electron   TOTEN  = {e:18.8f}  see above", "  kinetic energy EKIN   =         1.000000",
                "", "-" * 104, ""]
    out += ["", " General timing and accounting informations for this job:",
            " ========================================================", "",
            "                  Total CPU time used (sec):        1.000", ""]
    path.write_text("\n".join(out) + "\n")
    return path


def _v(row, fmt="{:16.8f}") -> str:
    return "<v>" + " ".join(fmt.format(x) for x in row) + " </v>"


def write_vasprun(path, frames: dict, *, potim_fs: float) -> Path:
    """A vasprun.xml of a VASP MD run (IBRION = 0, POTIM = ``potim_fs``) of ``frames``."""
    path = Path(path)
    symbols = frames["symbols"]
    species = _species_counts(symbols)
    cell0 = frames["cells"][0]
    _, frac0 = _wrap(frames["positions"][0], cell0)
    x = ['<?xml version="1.0" encoding="ISO-8859-1"?>', "<modeling>", " <generator>",
         '  <i name="program" type="string">vasp </i>', '  <i name="version" type="string">6.3.0  </i>',
         " </generator>", " <incar>", '  <i type="int" name="IBRION">     0</i>',
         f'  <i name="POTIM">{potim_fs:16.8f}</i>', " </incar>", " <kpoints>", '  <generation param="Gamma">',
         '   <v type="int" name="divisions">       1        1        1 </v>', "  </generation>",
         '  <varray name="kpointlist" >', "   " + _v([0, 0, 0]), "  </varray>", '  <varray name="weights" >',
         "   " + _v([1.0]), "  </varray>", " </kpoints>", " <parameters>", '  <separator name="ionic" >',
         f'   <i type="int" name="NSW">{len(frames["positions"]):6d}</i>',
         '   <i type="int" name="IBRION">     0</i>', '   <i type="int" name="ISIF">     2</i>',
         '   <i name="PSTRESS">      0.00000000</i>', f'   <i name="POTIM">{potim_fs:16.8f}</i>',
         "  </separator>", " </parameters>", " <atominfo>", f"  <atoms> {len(symbols):7d} </atoms>",
         f"  <types> {len(species):7d} </types>", '  <array name="atoms" >',
         '   <dimension dim="1">ion</dimension>', '   <field type="string">element</field>',
         '   <field type="int">atomtype</field>', "   <set>"]
    types = {s: i + 1 for i, s in enumerate(dict.fromkeys(symbols))}
    x += [f"    <rc><c>{s:2s}</c><c>{types[s]:4d}</c></rc>" for s in symbols]
    x += ["   </set>", "  </array>", " </atominfo>", ' <structure name="initialpos" >', "  <crystal>",
          '   <varray name="basis" >'] + ["    " + _v(r) for r in cell0] + \
         ["   </varray>", f'   <i name="volume">{abs(np.linalg.det(cell0)):16.8f} </i>', "  </crystal>",
          '  <varray name="positions" >'] + ["   " + _v(r) for r in frac0] + ["  </varray>", " </structure>"]
    for k in range(len(frames["positions"])):
        cell, e = frames["cells"][k], float(frames["potential_energy"][k])
        _, frac = _wrap(frames["positions"][k], cell)
        energy = [f'   <i name="e_fr_energy">{e:16.8f} </i>', f'   <i name="e_wo_entrp">{e:16.8f} </i>',
                  f'   <i name="e_0_energy">{e:16.8f} </i>']
        x += [" <calculation>", "  <scstep>", '   <time name="total">    0.01    0.01</time>', "   <energy>"]
        x += ["    " + s.strip() for s in energy] + ["   </energy>", "  </scstep>", "  <structure>", "   <crystal>",
                                                     '    <varray name="basis" >']
        x += ["     " + _v(r) for r in cell] + ["    </varray>",
                                               f'    <i name="volume">{abs(np.linalg.det(cell)):16.8f} </i>',
                                               "   </crystal>", '   <varray name="positions" >']
        x += ["    " + _v(r) for r in frac] + ["   </varray>", "  </structure>", '  <varray name="forces" >']
        x += ["   " + _v(r) for r in frames["forces"][k]] + ["  </varray>", '  <varray name="stress" >']
        x += ["   " + _v(r) for r in frames["pressure_tensor"][k] * 10.0] + ["  </varray>", "  <energy>"]
        x += energy + ['   <i name="kinetic">      1.00000000 </i>', f'   <i name="total">{e + 1.0:16.8f} </i>',
                       "  </energy>", '  <time name="totalsc">    0.10    0.10</time>', " </calculation>"]
    x += [' <structure name="finalpos" >', "  <crystal>", '   <varray name="basis" >']
    x += ["    " + _v(r) for r in frames["cells"][-1]] + ["   </varray>", "  </crystal>", " </structure>",
                                                          "</modeling>"]
    path.write_text("\n".join(x) + "\n")
    return path


def write_espresso_out(path, frames: dict, *, dt_ps: float) -> Path:
    """pw.x output of an MD run (``calculation = 'md'``, fixed cell) of ``frames``, one MD step of ``dt_ps`` apart (pw.x
    prints every step): frame 0 is the start-up configuration, frame k the positions of iteration k. Rydberg and Bohr
    are CODATA 2006's, the constants of pw.x and so of ASE's espresso-out reader."""
    from ase.units import create_units
    units = create_units("2006")
    path = Path(path)
    symbols = frames["symbols"]
    n_atoms = len(symbols)
    cell = frames["cells"][0]
    alat = float(np.linalg.norm(cell[0]))                # A; QE's celldm(1) is in Bohr
    alat_bohr = alat / units.Bohr
    alat = round(alat_bohr, 6) * units.Bohr               # what ASE reads back from celldm(1)
    ry_bohr = units.Ry / units.Bohr
    ry_bohr3 = units.Ry / units.Bohr ** 3
    out = ["", "     Program PWSCF v.7.2 starts on 22Jul2025 at 10: 0: 0 ", "",
           "     This program is part of the open-source Quantum ESPRESSO suite", "",
           "     bravais-lattice index     =            0",
           f"     lattice parameter (alat)  = {alat_bohr:12.4f}  a.u.",
           f"     unit-cell volume          = {abs(np.linalg.det(cell)) / units.Bohr ** 3:12.4f} (a.u.)^3",
           f"     number of atoms/cell      = {n_atoms:12d}",
           f"     number of atomic types    = {len(set(symbols)):12d}",
           "     kinetic-energy cutoff     =      30.0000  Ry", "",
           f"     celldm(1)= {alat_bohr:10.6f}  celldm(2)=   0.000000  celldm(3)=   0.000000",
           "     celldm(4)=   0.000000  celldm(5)=   0.000000  celldm(6)=   0.000000", "",
           "     crystal axes: (cart. coord. in units of alat)"]
    out += [f"               a({i + 1}) = ( {' '.join(f'{x:10.6f}' for x in cell[i] / alat)} )  " for i in range(3)]
    out += ["", "   Cartesian axes", "", "     site n.     atom                  positions (alat units)"]
    out += [f"     {i + 1:5d}           {s:2s}  tau({i + 1:4d}) = ({' '.join(f'{x:11.7f}' for x in r / alat)}  )"
            for i, (s, r) in enumerate(zip(symbols, frames["positions"][0]))]
    out += ["", "     Dense  grid:     8000 G-vectors     FFT dimensions: (  20,  20,  20)", ""]
    for k in range(len(frames["positions"])):
        if k:
            out += ["", "     Molecular Dynamics Calculation", "",
                    f"     Entering Dynamics:    iteration = {k:5d}",
                    f"     time      = {k * dt_ps:12.4f} pico-seconds", "", "ATOMIC_POSITIONS (angstrom)"]
            out += [f"{s:2s}   {' '.join(f'{x:17.10f}' for x in r)}" for s, r in zip(symbols, frames["positions"][k])]
            out += ["", "     kinetic energy (Ekin) =           0.01000000 Ry",
                    "     temperature           =         300.00000000 K", ""]
        e = float(frames["potential_energy"][k]) / units.Ry
        f = frames["forces"][k] / ry_bohr
        p = frames["pressure_tensor"][k] * units.GPa / ry_bohr3                # GPa -> eV/A^3 -> Ry/bohr^3
        out += ["     Self-consistent Calculation", "", "     iteration #  1     ecut=    30.00 Ry     beta= 0.70",
                "     total cpu time spent up to now is        1.0 secs", "", "     End of self-consistent calculation",
                "", "     Number of k-points >= 100: set verbosity='high' to print the bands.", "",
                f"!    total energy              = {e:18.8f} Ry",
                "     estimated scf accuracy    <          1.0E-09 Ry", "",
                "     convergence has been achieved in   5 iterations", "",
                "     Forces acting on atoms (cartesian axes, Ry/au):", ""]
        out += [f"     atom {i + 1:4d} type  1   force = {f[i, 0]:14.8f}{f[i, 1]:14.8f}{f[i, 2]:14.8f}"
                for i in range(n_atoms)]
        kbar = frames["pressure_tensor"][k] * 10.0
        out += ["", "     Total force =     0.100000     Total SCF correction =     0.000000", "", "",
                "     Computing stress (Cartesian axis) and pressure", "",
                f"          total   stress  (Ry/bohr**3)                   (kbar)     P= {np.trace(kbar) / 3:12.2f}"]
        out += [f"  {p[i, 0]:12.8f} {p[i, 1]:12.8f} {p[i, 2]:12.8f}   {kbar[i, 0]:12.2f} {kbar[i, 1]:12.2f} "
                f"{kbar[i, 2]:12.2f}" for i in range(3)]
        out += ["", ""]
    out += ["     End of molecular dynamics calculation", "", "     JOB DONE.", ""]
    path.write_text("\n".join(out) + "\n")
    return path
