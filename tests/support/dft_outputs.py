"""Ab initio MD output files written from known frames, for the tests of the ASE reader
(trajmodes.io.trajectories.ase_reader).

ASE writes its own ``.traj``, extended XYZ and XDATCAR (:func:`ase_images` gives the frames to write), but not VASP's
OUTCAR or vasprun.xml, nor pw.x's output, nor CP2K's DCD; :func:`write_outcar`, :func:`write_vasprun`,
:func:`write_espresso_out` and :func:`write_cp2k_dcd` write those from the same frames, in the layout the programs
print (VASP 6, Quantum ESPRESSO 7, CP2K) and with the programs' own precision, reduced to what ASE's readers parse
(no eigenvalues, augmentation charges, timings...):

- OUTCAR: the header ASE reads up to the first SCF ``Iteration`` line (``POTCAR:`` lines and each POTCAR's header
  with ``POMASS =   28.085; ZVAL``, ``ions per type``, ISPIN, IBRION, POTIM, ``Mass of Ions in am`` / ``POMASS =``
  with the masses used, F6.2), then per ionic step SCF iteration lines, the ``FORCE on cell`` block with ``in kB``
  (%12.5f, order xx yy zz xy yz zx, positive when compressed), ``direct lattice vectors`` (%13.9f), ``POSITION`` /
  ``TOTAL-FORCE`` (%13.5f, %14.6f), the ``FREE ENERGIE OF THE ION-ELECTRON SYSTEM`` block and the MD energies;
- vasprun.xml: generator, incar, k-points, parameters (IBRION, POTIM, PSTRESS), atominfo (``atoms`` and
  ``atomtypes`` with the masses used), the initial structure and one ``<calculation>`` per ionic step (an
  ``scstep``, the structure in fractional coordinates, forces, stress in kB and the energies; %16.8f);
- pw.x: Quantum ESPRESSO 7's Fortran formats (PW/src: summary.f90, electrons.f90, forces.f90, stress.f90,
  dynamics_module.f90, output_tau.f90): the start-up summary (celldm(1), crystal axes, the species table with the
  masses, positions in alat units, %12.7f) with the results of the first step, pw.x's ``Molecular Dynamics
  Calculation`` block (masses, ``Time step = 20.00 a.u.,  0.9676 femto-seconds``), then per MD step ``Entering
  Dynamics:    iteration =     N`` (I5), ``time      =   0.0010 pico-seconds`` (F8.4), ``ATOMIC_POSITIONS
  (angstrom)`` (A6, 3X, 3F20.10) and the SCF results (``!    total energy`` in Ry F17.8, forces in Ry/au F14.8,
  ``total   stress`` in Ry/bohr**3 F13.8 and kbar F12.2); the last step's positions are printed but not evaluated;
- CP2K: its DCD trajectory (:func:`write_cp2k_dcd`).

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


def random_frames(n: int, symbols=("Si",) * 6 + ("Ge",) * 2, a: float = 5.431, seed: int = 0, scale=None) -> dict:
    """Frames of a conventional diamond cell (8 atoms of ``symbols``) with random displacements (0.05 A), forces,
    velocities, energies and pressure tensors: for the tests of what the formats carry (masses, steps, times,
    joins), not of physics. ``scale`` (n,): each frame's cell and positions scaled by its own factor (NPT-like)."""
    rng = np.random.default_rng(seed)
    base = np.array([[0, 0, 0], [.25, .25, .25], [0, .5, .5], [.25, .75, .75], [.5, 0, .5], [.75, .25, .75],
                     [.5, .5, 0], [.75, .75, .25]]) * a
    f = np.ones(n) if scale is None else np.asarray(scale, float)
    r = rng.normal(0, 0.1, (n, 3, 3))
    return dict(symbols=list(symbols), positions=(base + rng.normal(0, 0.05, (n, 8, 3))) * f[:, None, None],
                cells=np.eye(3) * a * f[:, None, None], forces=rng.normal(0, 1, (n, 8, 3)),
                velocities=rng.normal(0, 5, (n, 8, 3)), potential_energy=rng.normal(-40, 1, n),
                pressure_tensor=np.eye(3) + (r + r.transpose(0, 2, 1)) / 2)


def frames_slice(frames: dict, start: int, stop: int | None = None) -> dict:
    """Frames ``start:stop`` of ``frames`` (the per-frame arrays sliced, the symbols kept)."""
    return {k: (v[start:stop] if isinstance(v, np.ndarray) else v) for k, v in frames.items()}


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


def _pomass(symbols, pomass: dict | None) -> tuple[list, list, np.ndarray]:
    """The POTCARs' masses (standard atomic weights, 3 decimals), the masses the run uses (``pomass`` by element
    overrides them, as the INCAR's POMASS does) by species, and per atom."""
    from trajmodes.lattice.elements import mass_of
    kinds = [s for s, _ in _species_counts(symbols)]
    potcar = [round(float(mass_of(s)), 3) for s in kinds]
    used = [float((pomass or {}).get(s, m)) for s, m in zip(kinds, potcar)]
    return potcar, used, np.array([used[kinds.index(s)] for s in symbols])


def write_outcar(path, frames: dict, *, potim_fs: float, scf_iterations: int = 2, filler_lines: int = 0,
                 pomass: dict | None = None) -> Path:
    """A VASP MD OUTCAR (IBRION = 0, POTIM = ``potim_fs``) of ``frames``; ``filler_lines`` lines of SCF output per
    step stand in for what a real OUTCAR prints there (eigenvalues, ...). ``pomass``: amu by element, the INCAR's
    POMASS (default: each POTCAR's); the OUTCAR echoes each POTCAR's ``POMASS =   28.085; ZVAL = ...`` and lists
    the masses used after ``Mass of Ions in am`` (F6.2 each), and its EKIN is computed with them."""
    from ase import units
    path = Path(path)
    species = _species_counts(frames["symbols"])
    potcar, used, m_atoms = _pomass(frames["symbols"], pomass)
    n_atoms = len(frames["symbols"])
    out = [" vasp.6.3.0 20Jan22 (build Feb 16 2022 17:18:48) complex                          parallel",
           "  ", " executed on             LinuxIFC date 2025.07.22  10:00:00", " running on    1 total cores",
           " POSCAR found :  1 types and      %d ions" % n_atoms]
    out += [f" POTCAR:    PAW_PBE {s} 05Jan2001" for s, _ in species]
    for (s, _), m in zip(species, potcar):               # VASP echoes the header of every POTCAR
        out += [f" POTCAR:    PAW_PBE {s} 05Jan2001", f"   VRHFIN ={s}: s2p2", "   LEXCH  = PE",
                "   EATOM  =   103.0669 eV,    7.5752 Ry", "", f"   TITEL  = PAW_PBE {s} 05Jan2001",
                "   LULTRA =        F    use ultrasoft PP ?",
                f"   POMASS = {m:8.3f}; ZVAL   =    4.000    mass and valenz",
                "   RCORE  =    1.900    outmost cutoff radius", ""]
    out += ["", " Dimension of arrays:",
            f"   number of dos      NEDOS =    301   number of ions     NIONS = {n_atoms:6d}",
            "   ions per type =   " + "".join(f"{c:6d}" for _, c in species), "",
            " Electronic Relaxation 1", "   ENCUT  =  245.3 eV  18.03 Ry    4.25 a.u.",
            "   ISPIN  =      1    spin polarized calculation?", "",
            " Ionic relaxation", f"   NSW    = {len(frames['positions']):6d}    number of steps for IOM",
            "   IBRION =      0    ionic relax: 0-MD 1-quasi-New 2-CG",
            "   ISIF   =      2    stress and relaxation",
            f"   POTIM  = {potim_fs:6.4f}    time-step for ionic-motion",
            "   TEIN   =  300.0    initial temperature", "   PSTRESS=    0.0 pullay stress", "",
            "  Mass of Ions in am", "   POMASS = " + "".join(f"{m:6.2f}" for m in used),
            "  Ionic Valenz", "   ZVAL   = " + "".join(f"{4.0:6.2f}" for _ in used), ""]
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
        ekin = _ekin_ev(frames, k, m_atoms)
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
                f"% ion-electron   TOTEN  = {e:18.8f}  see above",
                "  kinetic energy EKIN   = %16.6f  (temperature %8.2f K)" % (ekin, 2 * ekin / (3 * n_atoms - 3)
                                                                          / units.kB),
                "", "-" * 104, ""]
    out += ["", " General timing and accounting informations for this job:",
            " ========================================================", "",
            "                  Total CPU time used (sec):        1.000", ""]
    path.write_text("\n".join(out) + "\n")
    return path


def _v(row, fmt="{:16.8f}") -> str:
    return "<v>" + " ".join(fmt.format(x) for x in row) + " </v>"


def write_vasprun(path, frames: dict, *, potim_fs: float, pomass: dict | None = None) -> Path:
    """A vasprun.xml of a VASP MD run (IBRION = 0, POTIM = ``potim_fs``) of ``frames``; ``pomass`` as for
    :func:`write_outcar` (the ``atomtypes`` array of ``atominfo`` lists the masses used)."""
    path = Path(path)
    symbols = frames["symbols"]
    species = _species_counts(symbols)
    _, used, _ = _pomass(symbols, pomass)
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
    x += ["   </set>", "  </array>", '  <array name="atomtypes" >', '   <dimension dim="1">type</dimension>',
          '   <field type="int">atomspertype</field>', '   <field type="string">element</field>',
          "   <field>mass</field>", "   <field>valence</field>", '   <field type="string">pseudopotential</field>',
          "   <set>"]
    x += [f"    <rc><c>{c:4d}</c><c>{s:2s}</c><c>{m:16.8f}</c><c>{4.0:16.8f}</c><c>  PAW_PBE {s} 05Jan2001"
          "                   </c></rc>" for (s, c), m in zip(species, used)]
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


def _ekin_ev(frames: dict, k: int, masses: np.ndarray) -> float:
    """Kinetic energy (eV) of frame ``k`` from its velocities (A/ps) and ``masses`` (amu); 0 without velocities."""
    from trajmodes.units import AMU_A2_PS2_EV
    v = frames.get("velocities")
    return 0.0 if v is None else float(0.5 * (masses[:, None] * v[k] ** 2).sum() * AMU_A2_PS2_EV)


def write_espresso_out(path, frames: dict, *, dt_ps: float, first_step: int = 0, masses: dict | None = None,
                       finished: bool = True) -> Path:
    """pw.x output of an MD run (``calculation = 'md'``, Verlet, fixed cell) of ``frames``, one MD step of ``dt_ps``
    apart, in Quantum ESPRESSO 7's layout (PW/src: summary.f90, electrons.f90, forces.f90, stress.f90,
    dynamics_module.f90, output_tau.f90). Rydberg and Bohr are CODATA 2006's, the constants of ASE's espresso-out
    reader.

    Frame 0 is the start-up configuration, at MD step ``first_step``; frame k the positions of iteration
    ``first_step + k``, printed after ``Entering Dynamics: iteration = N`` (I5) and ``time = T pico-seconds``
    (F8.4: 0.1 fs), then evaluated (energy, forces, stress). A run from scratch (``first_step = 0``) prints pw.x's
    ``Molecular Dynamics Calculation`` block after its first evaluation: ``mass Si = 28.09`` and ``Time step =
    X a.u., Y femto-seconds`` (F8.2 in 2 hbar / E_h, F8.4 fs); a restart (``first_step > 0``) prints none, and its
    iteration count and time go on from the run it resumes. ``finished``: the run ends as pw.x's does after
    ``nstep`` steps, with the next positions printed but not evaluated (here 2 x_K - x_{K-1}) and ``The maximum
    number of steps has been reached.``; otherwise the output stops after the last evaluation, as a job killed
    before its next step. ``masses``: amu by element (ATOMIC_SPECIES), default the standard atomic weights."""
    from ase.units import create_units
    from trajmodes.io.trajectories.espresso_format import PW_TIME_UNIT_PS
    from trajmodes.lattice.elements import mass_of
    units = create_units("2006")
    path = Path(path)
    symbols = frames["symbols"]
    n_atoms = len(symbols)
    kinds = list(dict.fromkeys(symbols))
    amass = {s: float((masses or {}).get(s, mass_of(s))) for s in kinds}
    m_atoms = np.array([amass[s] for s in symbols])
    cell = frames["cells"][0]
    alat = float(np.linalg.norm(cell[0]))                # A; QE's celldm(1) is in Bohr
    alat_bohr = alat / units.Bohr
    alat = round(alat_bohr, 6) * units.Bohr               # what ASE reads back from celldm(1)
    ry_bohr = units.Ry / units.Bohr
    ry_bohr3 = units.Ry / units.Bohr ** 3
    recip = np.linalg.inv(cell / alat).T
    out = ["", "     Program PWSCF v.7.2 starts on 22Jul2025 at 10: 0: 0 ", "",
           "     This program is part of the open-source Quantum ESPRESSO suite", "", "",
           "     bravais-lattice index     = %12d" % 0,
           "     lattice parameter (alat)  = %12.4f  a.u." % alat_bohr,
           "     unit-cell volume          = %12.4f (a.u.)^3" % (abs(np.linalg.det(cell)) / units.Bohr ** 3),
           "     number of atoms/cell      = %12d" % n_atoms, "     number of atomic types    = %12d" % len(kinds),
           "     kinetic-energy cutoff     = %12.4f  Ry" % 30.0, "",
           "   " + "".join("  celldm(%d)=%11.6f" % (i + 1, x) for i, x in enumerate([alat_bohr, 0, 0])),
           "   " + "".join("  celldm(%d)=%11.6f" % (i + 4, 0.0) for i in range(3)), "",
           "     crystal axes: (cart. coord. in units of alat)"]
    out += ["               a(%d) = (%s )  " % (i + 1, "".join("%11.6f" % x for x in cell[i] / alat))
            for i in range(3)]
    out += ["", "     reciprocal axes: (cart. coord. in units 2 pi/alat)"]
    out += ["               b(%d) = (%s )  " % (i + 1, "".join("%10.6f" % x for x in recip[i])) for i in range(3)]
    out += ["", "     atomic species   valence    mass     pseudopotential"]
    out += ["     %-6s      %10.2f  %10.5f     %-2s( 1.00)" % (s, 4.0, amass[s], s) for s in kinds]
    out += ["", "     No symmetry found", "", "", "   Cartesian axes", "",
            "     site n.     atom                  positions (alat units)"]
    out += ["      %4d        %-6s tau(%4d) = (%s  )" % (i + 1, s, i + 1, "".join("%12.7f" % x for x in r / alat))
            for i, (s, r) in enumerate(zip(symbols, frames["positions"][0]))]
    out += ["", "     Dense  grid:     8000 G-vectors     FFT dimensions: (  20,  20,  20)", ""]

    def verlet_step(k: int, positions) -> None:
        """pw.x's Verlet step to iteration first_step + k: the step and time, then the new positions."""
        step = first_step + k
        out.extend(["", "     Entering Dynamics:    iteration = %5d" % step,
                    "                           time      = %8.4f pico-seconds" % (step * dt_ps), "", "",
                    "ATOMIC_POSITIONS (angstrom)"])
        out.extend("%-6s   %s" % (s, "".join("%20.10f" % x for x in r)) for s, r in zip(symbols, positions))
        ekin = _ekin_ev(frames, k - 1, m_atoms) / units.Ry
        temp = 2 * ekin * units.Ry / (3 * n_atoms - 3) / units.kB
        out.extend(["", "", "     kinetic energy (Ekin) = %20.8f Ry" % ekin,
                    "     temperature           = %20.8f K " % temp,
                    "     Ekin + Etot (const)   = %20.8f Ry" % (ekin + e), "",
                    "     Linear momentum :    0.0000000000    0.0000000000    0.0000000000", ""])

    n = len(frames["positions"])
    for k in range(n):
        if k:
            verlet_step(k, frames["positions"][k])
        e = float(frames["potential_energy"][k]) / units.Ry
        f = frames["forces"][k] / ry_bohr
        p = frames["pressure_tensor"][k] * units.GPa / ry_bohr3                # GPa -> eV/A^3 -> Ry/bohr^3
        kbar = frames["pressure_tensor"][k] * 10.0
        out += ["     Self-consistent Calculation", "", "     iteration #  1     ecut=    30.00 Ry     beta= 0.70",
                "     total cpu time spent up to now is        1.0 secs", "", "     End of self-consistent calculation",
                "", "     Number of k-points >= 100: set verbosity='high' to print the bands.", "",
                "!    total energy              =%17.8f Ry" % e,
                "     estimated scf accuracy    <%17.8f Ry" % 1e-9, "",
                "     convergence has been achieved in   5 iterations", "",
                "     Forces acting on atoms (cartesian axes, Ry/au):", ""]
        out += ["     atom %4d type %2d   force = %14.8f%14.8f%14.8f" % (i + 1, kinds.index(symbols[i]) + 1, *f[i])
                for i in range(n_atoms)]
        out += ["", "     Total force = %12.6f     Total SCF correction = %12.6f" % (np.linalg.norm(f), 0.0), "", "",
                "     Computing stress (Cartesian axis) and pressure", "",
                "          total   stress  (Ry/bohr**3)                   (kbar)     P=%12.2f" % (np.trace(kbar) / 3)]
        out += ["%13.8f%13.8f%13.8f    %12.2f%12.2f%12.2f" % (*p[i], *kbar[i]) for i in range(3)]
        out += ["", ""]
        if k == 0 and first_step == 0:                   # md_init: a run from scratch
            out += ["", "     Molecular Dynamics Calculation"]
            out += ["     mass %-2s               = %8.2f" % (s, amass[s]) for s in kinds]
            out += ["     Time step             = %8.2f a.u.,%8.4f femto-seconds" % (dt_ps / PW_TIME_UNIT_PS,
                                                                                 dt_ps * 1e3)]
    if finished:
        last = frames["positions"][-1]
        verlet_step(n, 2 * last - frames["positions"][-2] if n > 1 else last)
        out += ["", "     The maximum number of steps has been reached.", "",
                "     End of molecular dynamics calculation", "", "     Writing output data file ./pwscf.save/",
                "", "     PWSCF        :      1.00s CPU      1.00s WALL", "", "", "   JOB DONE."]
    path.write_text("\n".join(out) + "\n")
    return path


def write_cp2k_dcd(path, frames: dict, *, step_fs: float, every: int = 1) -> Path:
    """CP2K's DCD trajectory of positions (``&MOTION / &PRINT / &TRAJECTORY FORMAT DCD_ALIGNED_CELL``) of
    ``frames``, orthorhombic cells, as CP2K writes it (src/motion_utils.F, src/particle_methods.F): Fortran
    unformatted records (4-byte length before and after) of the header ``CORD``, 0, first step, ``EACH`` interval,
    six 0, the time step (float32), 1, eight 0, 24; the two 80-character remarks (``REMARK CORD DCD file created by
    CP2K ...``); the atom count; then per frame a, gamma, b, beta, alpha, c (float64, A and degrees) and the x, y, z
    of every atom (float32, A). ASE reads it (``cp2k-dcd``) without elements (no species in a DCD)."""
    path = Path(path)

    def record(*arrays) -> bytes:
        body = b"".join(np.asarray(a).tobytes() for a in arrays)
        n = np.int32(len(body)).tobytes()
        return n + body + n

    i4 = np.int32
    out = [record(np.frombuffer(b"CORD", np.uint8), np.array([0, 0, every, 0, 0, 0, 0, 0, 0], i4),
                  np.float32(step_fs), np.array([1, 0, 0, 0, 0, 0, 0, 0, 0, 24], i4)),
           record(i4(2), np.frombuffer(b"REMARK CORD DCD file created by CP2K version 2025.1 (revision git:0000000)"
                                       .ljust(80), np.uint8),
                  np.frombuffer(b"REMARK user@host 2025-07-22 10:00:00".ljust(80), np.uint8)),
           record(i4(len(frames["symbols"])))]
    for pos, cell in zip(frames["positions"], frames["cells"]):
        if np.abs(cell - np.diag(np.diag(cell))).max() > 0:
            raise ValueError("write_cp2k_dcd writes orthorhombic cells only")
        a, b, c = np.diag(cell)
        out += [record(np.array([a, 90.0, b, 90.0, 90.0, c], np.float64)),
                record(pos[:, 0].astype(np.float32)), record(pos[:, 1].astype(np.float32)),
                record(pos[:, 2].astype(np.float32))]
    path.write_bytes(b"".join(out))
    return path
