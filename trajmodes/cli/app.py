"""The ``trajmodes`` program: the parser of every command, and ``main`` with its error handling."""
from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
import warnings

from trajmodes.cli.options import (FIGURE_FORMATS, GIVEN, HARMONIC_MESH, QPOINTS_HELP, THREE_PHONON_MESH,
                                   add_cluster_options, add_plot_format, add_read_options, mesh, non_negative_int,
                                   positive, positive_int, refuse_repeated_options, supercell_dims, temperatures,
                                   width_or_adaptive)
from trajmodes.workflows.charges import CHARGE_CHOICES
from trajmodes.workflows.fit import COMMITTEE_WORDS, FIT_DEFAULTS, WEIGHT_WORDS



#: the help of --cutoff2 of run, fit and series
CUTOFF2_HELP = ("pair cutoff in A (default: chosen from the data: the shortest neighbour shell from which the "
                "frequencies at the special points agree within their error bars (5 %% family-wise) or within "
                "max(1 %%, 0.03 THz) with those of the longest cutoff the supercell holds (its sphere at most 300 atoms), never shorter than the "
                "potential's range that the run's LAMMPS input or log states; series: from its first run; the table "
                "is printed)")


#: the help of --keep-reference of run and fit
KEEP_REFERENCE_HELP = ("fit the crystal of --reference even where the run left it (by default a run whose mean sites, "
                       "made symmetric within 7 standard errors, hold another space group or lattice than the "
                       "reference is fitted on its own crystal, as without --reference, and said so in one line)")

#: the help of --charges of run and fit
CHARGES_HELP = ("Born charges of a rigid-ion run: auto (default) reads the charges of the LAMMPS data file (--reference, "
                "else the one the input beside the dump reads) and, where the input's Coulomb is long-ranged "
                "(kspace_style, coul/long, coul/msm), fits polar with Born charges = ionic charges and eps_inf = 1 "
                "(the dipole-dipole forces taken out first, a line says so); none fits without")


#: seconds between two progress lines of a command whose stderr is a file or a pipe (a batch job's log)
PROGRESS_INTERVAL = 2.0


#: --temperature of fit and run: a path-integral run's, where its input does not say
PI_TEMPERATURE_HELP = ("K: the temperature of a path-integral run whose input (i-PI XML, LAMMPS input, GPUMD run.in) "
                       "is not beside its bead files (default: the input's; its beads' velocities sample P times it)")


def build_parser() -> tuple[argparse.ArgumentParser, dict]:
    """The parser and its subcommand parsers by name."""
    from trajmodes.cli.anharmonic import (add_allow_unstable, add_committee_option, add_phono3py_options,
                                          cmd_anharmonic, cmd_compare)
    from trajmodes.cli.lattice_dynamics import cmd_eam, cmd_phonons
    from trajmodes.cli.modes import add_project_qpoints, cmd_lifetimes, cmd_project
    from trajmodes.cli.quasiharmonic import cmd_qha
    from trajmodes.cli.series import cmd_series
    from trajmodes.cli.runs import cmd_convert, cmd_fit, cmd_info, cmd_run
    from trajmodes.cli.scattering import cmd_sqw
    from trajmodes.cli.convert import cmd_convert_fc
    from trajmodes.workflows.convert import FC_FORMATS
    from trajmodes.cli.transport import cmd_conductivity
    from trajmodes.cli.disorder import add_glass_parser, add_lineshapes_parser
    from trajmodes import __version__
    p = argparse.ArgumentParser(prog="trajmodes", description="Phonons at the simulated temperature from MD "
                                                               "trajectories of crystals.")
    p.add_argument("--version", action="version", version=f"trajmodes {__version__}")
    p.add_argument("--debug", action="store_true", help="show the full traceback of an error (also "
                                                        "TRAJMODES_DEBUG=1)")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    cmds = {}

    def add(name, func, help):
        c = sub.add_parser(name, help=help, description=help)
        c.set_defaults(func=func)     # trajmodes.cli.main runs the function of this name on trajmodes.cli
        c.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                       help="show the full traceback of an error (also TRAJMODES_DEBUG=1)")
        cmds[name] = c
        return c

    pi = add("info", cmd_info, "frames, atoms, box, time step, temperature and displacement statistics")
    add_read_options(pi)
    pc = add("convert", cmd_convert, "write the trajectory as a chunked netCDF-4 cache (fast re-reads)")
    add_read_options(pc)
    pc.add_argument("-o", "--output", default="trajmodes-convert", help="output folder (default trajmodes-convert): "
                                                                        "trajectory.nc")
    pc.add_argument("--displacements", action="store_true", help="store displacements from the reference "
                                                                 "instead of positions")
    pc.add_argument("--start", type=non_negative_int, default=0, help="first frame (default 0)")
    pc.add_argument("--stop", type=positive_int, help="frame to stop before")
    pc.add_argument("--stride", type=positive_int, default=1, help="keep every n-th frame")
    pr = add("run", cmd_run, "the main job: summary, netCDF cache, effective force constants and plots in an "
                             "output folder")
    add_read_options(pr)
    pr.add_argument("-o", "--output", default="trajmodes-out", help="output folder (default trajmodes-out): "
                                                                  "trajectory.nc (the netCDF cache), summary.nc and "
                                                                  "summary.png; with the fit fc.nc, fc.scores.nc, "
                                                                  "fc.cutoffs.nc and the dispersion fc.png")
    pr.add_argument("--cutoff2", type=positive, help=CUTOFF2_HELP)
    pr.add_argument("--cutoff3", type=positive, help="triplet cutoff of the effective fit in A (default: none)")
    pr.add_argument("--compare", help="0 K force constants to plot the effective dispersion against "
                                      "(phonopy folder/file or trajmodes .nc)")
    pr.add_argument("--no-fit", action="store_true", help="skip the effective force constants")
    pr.add_argument("--keep-reference", action="store_true", help=KEEP_REFERENCE_HELP)
    pr.add_argument("--temperature", type=positive, help=PI_TEMPERATURE_HELP)
    pr.add_argument("--charges", choices=CHARGE_CHOICES, default="auto", help=CHARGES_HELP)
    add_plot_format(pr)
    pf = add("fit", cmd_fit, "effective (TDEP) 2nd- and 3rd-order force constants from MD forces: scores, "
                             "netCDF and the effective dispersion")
    add_read_options(pf)
    pf.add_argument("--cutoff2", type=positive, help=CUTOFF2_HELP)
    pf.add_argument("--cutoff3", type=positive, help="triplet cutoff in A (default: second order only)")
    pf.add_argument("--cutoff4", type=positive, help="quartet cutoff in A, with --cutoff3: the fourth order too "
                                                      "(default: none)")
    pf.add_argument("--mode", choices=["sequential", "simultaneous"], default=FIT_DEFAULTS["mode"],
                    help="sequential (TDEP: fc2 alone, then fc3 on the residual; default) or simultaneous")
    pf.add_argument("--folds", type=positive_int, default=FIT_DEFAULTS["folds"],
                    help=f"cross-validation folds (default {FIT_DEFAULTS['folds']})")
    pf.add_argument("--cv", choices=["blocks", "interleaved"], default=FIT_DEFAULTS["cv"],
                    help="folds as contiguous blocks of frames (default) or frame %% folds")
    pf.add_argument("--stride", type=positive_int, default=FIT_DEFAULTS["stride"], help="use every n-th frame")
    pf.add_argument("--n-frames", type=positive_int, help="use this many evenly spaced frames of each trajectory")
    pf.add_argument("--symprec", type=positive, default=FIT_DEFAULTS["symprec"],
                    help=f"symmetry tolerance in A (default {FIT_DEFAULTS['symprec']:g})")
    pf.add_argument("--keep-reference", action="store_true", help=KEEP_REFERENCE_HELP)
    pf.add_argument("--constraints", help="extra exact conditions on the 2nd order, comma separated: "
                                          "rotational, huang (default none)")
    pf.add_argument("--charges", choices=CHARGE_CHOICES, default="auto", help=CHARGES_HELP)
    pf.add_argument("--temperature", type=positive, help=PI_TEMPERATURE_HELP)
    pf.add_argument("--force-weights", dest="weights", choices=list(WEIGHT_WORDS), default=FIT_DEFAULTS["weights"],
                    help="none (default): the unweighted fit, TDEP's effective constants (their residual is mostly "
                         "the anharmonicity the fitted orders cannot hold, not noise, and weighting by the "
                         "potential's uncertainty would count its least certain, often most anharmonic, "
                         "configurations less); uncertainty: generalised least squares, each force weighted by "
                         "1/sigma^2, sigma the file's force_std column or else its committee's spread (for noisy "
                         "forces about a model that holds)")
    pf.add_argument("--committee", choices=list(COMMITTEE_WORDS), default=FIT_DEFAULTS["committee"],
                    help="a committee of learned potentials (extended XYZ forces_committee or forces_0, forces_1, "
                         "... columns): auto (default) fits every member in the same pass where the files carry one "
                         "and prints the members' spread of the frequencies as a second error bar beside the "
                         "sampling one, and writes every member's constants into fc.nc (trajmodes anharmonic gives "
                         "their spread of the widths, shifts and kappa); yes requires one; no fits the forces alone")
    pf.add_argument("-o", "--output", default="trajmodes-fit", help="output folder (default trajmodes-fit): fc.nc, "
                                                                    "fc.scores.nc and the dispersion fc.png")
    pf.add_argument("--compare", help="0 K force constants to plot against: phonopy folder/file or trajmodes .nc")
    pf.add_argument("--path", help="band path as special-point letters, e.g. 'GXU|KGL' (default: standard)")
    pf.add_argument("--npoints", type=positive_int, default=51, help="q-points per path segment (default 51)")
    add_plot_format(pf)
    pk = add("conductivity", cmd_conductivity, "Green-Kubo thermal conductivity of a run's heat current (cepstral "
                                               "analysis with its error bar, the running integral): netCDF files "
                                               "and a figure")
    add_read_options(pk, reference=False, thermo=False)
    pk.add_argument("--current", help="the current's columns in a table or log: a vector's name (flux for "
                                      "c_flux[1..3]) or three names 'Jx,Jy,Jz' (default: the one vector named flux, "
                                      "heat or J)")
    pk.add_argument("--other", action="append", metavar="NAME", help="another current of the run to take out (a "
                                                                      "mass current of a multi-component fluid, "
                                                                      "e.g. vcm[1]); repeat for more")
    pk.add_argument("--run", type=positive_int, action="append", metavar="K", help="the run of a LAMMPS log (or "
                                                                                  "stretch of a table whose steps "
                                                                                  "restart) to read, from 1, where "
                                                                                  "its runs do not continue each "
                                                                                  "other; repeat for several that do")
    pk.add_argument("--temperature", type=positive, help="mean temperature in K (default: the run's)")
    pk.add_argument("--volume", type=positive, help="cell volume in A^3 (default: the run's)")
    pk.add_argument("--fstar", type=positive, help="cut-off frequency f* in THz (default: the band of 90 %% of the "
                                                   "current's power)")
    pk.add_argument("--coefficients", type=positive_int, help="cepstral coefficients P* kept (default: the "
                                                              "Akaike information criterion)")
    pk.add_argument("--tensor", action="store_true", help="the 3x3 tensor too (anisotropic crystals)")
    pk.add_argument("--max-time", type=positive, help="ps of the running integral (default a tenth of the run)")
    pk.add_argument("--force-constants", help="force constants: phonopy folder/file or trajmodes .nc (conductivity: "
                                              "the integral split over their modes, from a dump with per-atom "
                                              "energies, stresses and velocities)")
    pk.add_argument("--cutoff3", type=positive, help="triplet cutoff in A: fit the run's own constants to its forces "
                                                     "(second order from the data, third to this) and use them as "
                                                     "--force-constants, the Boltzmann equation with error bars from "
                                                     "the fit's bootstrap")
    pk.add_argument("--cutoff4", type=positive, help="quartet cutoff in A, with --cutoff3: the fourth order too "
                                                     "(default: none)")
    pk.add_argument("-o", "--output", default="trajmodes-conductivity", help="output folder (default "
                                                                              "trajmodes-conductivity): cepstral.nc, "
                                                                              "green_kubo.nc and conductivity.png; "
                                                                              "tensor.nc with --tensor; modal.nc, "
                                                                              "spectral.nc, modes.png and routes.png "
                                                                              "with --force-constants; fc.nc, "
                                                                              "boltzmann.nc, boltzmann_md_grid.nc and "
                                                                              "mode_lifetimes.nc with --cutoff3")
    add_plot_format(pk)
    pp = add("phonons", cmd_phonons, "band structure, DOS and thermodynamics of force constants: netCDF files "
                                     "and figures")
    pp.add_argument("fc", metavar="FC_PATH", help="force constants: a phonopy folder (phonopy_params.yaml / "
                                                  "phonopy.yaml + FORCE_CONSTANTS or fc2.hdf5), one of those "
                                                  "files, or a trajmodes .nc file")
    pp.add_argument("--path", help="band path as special-point letters, pieces split by '|', e.g. 'GXU|KGL' "
                                   "(G = Gamma); default: the standard path of the Bravais lattice")
    pp.add_argument("--npoints", type=positive_int, default=51, help="q-points per path segment (default 51)")
    pp.add_argument("--mesh", type=mesh, default=[HARMONIC_MESH] * 3,
                    help=f"q mesh for DOS and thermodynamics: N or N1,N2,N3 (default {HARMONIC_MESH})")
    pp.add_argument("--dos", choices=["tetrahedron", "gaussian"], default="tetrahedron",
                    help="DOS method (default tetrahedron)")
    pp.add_argument("--temperatures", type=temperatures, default=None,
                    help="TMIN:TMAX:STEP (TMAX included) or T1,T2,... in K (default 0:1000:10)")
    pp.add_argument("--imaginary-tol", type=positive, default=1e-2, help="modes below -TOL THz are reported as "
                                                                          "imaginary (default 0.01)")
    pp.add_argument("--qpoints", nargs="+", metavar="Q", help=QPOINTS_HELP)
    pp.add_argument("-o", "--output", default="trajmodes-phonons", help="output folder (default trajmodes-phonons): "
                                                                          "band.nc, dos.nc, thermal.nc and the figures "
                                                                          "bands_dos.png, thermal.png")
    add_plot_format(pp)
    pa = add("anharmonic", cmd_anharmonic, "three-phonon linewidths, lifetimes, frequency shifts and the thermal "
                                           "conductivity (RTA or LBTE) of force constants with a third-order part")
    pa.add_argument("fc", metavar="FC_PATH", help="force constants with fc3: a trajmodes .nc file (trajmodes fit "
                                                  "--cutoff3) or a phono3py folder (fc2.hdf5 + fc3.hdf5)")
    pa.add_argument("--mesh", type=mesh, default=[THREE_PHONON_MESH] * 3,
                    help=f"q mesh: N or N1,N2,N3 (default {THREE_PHONON_MESH}; the triplets cost ~N^6)")
    pa.add_argument("--temperatures", type=temperatures,
                    help="TMIN:TMAX:STEP (TMAX included) or T1,T2,... in K (default: the temperature effective "
                         "constants were fitted at, which trajmodes fit writes into fc.nc; 300 for other constants)")
    pa.add_argument("--occupation", choices=["quantum", "classical"], default="quantum",
                    help="phonon occupations: quantum (Bose-Einstein; default) or classical (k_B T / h nu, as in "
                         "classical MD)")
    pa.add_argument("--smearing", type=width_or_adaptive,
                    help="Gaussian smearing of the delta functions in THz, or 'adaptive' (each Gaussian as wide as its "
                         "modes' frequencies change across a cell of the mesh, from their group velocities; TDEP's "
                         "default) (default: the tetrahedron method)")
    pa.add_argument("--method", choices=["rta", "lbte"], default="rta",
                    help="conductivity: rta (relaxation-time approximation; default, with the bubble frequency "
                         "shifts) or lbte (direct solution of the linearised Boltzmann equation, Chaput 2013; "
                         "the RTA comes alongside; no shifts)")
    pa.add_argument("--four-phonon", dest="four_phonon", type=width_or_adaptive, metavar="SIGMA",
                    help="add four-phonon scattering from the constants' fourth order (trajmodes fit --cutoff4), "
                         "Gaussian delta functions of this standard deviation in THz, or 'adaptive' (with "
                         "--smearing adaptive) (with --method lbte: its widths on the diagonal of the collision matrix, its "
                         "scattering-in off it)")
    pa.add_argument("--four-phonon-sample", dest="four_phonon_sample", type=mesh, metavar="N1,N2,N3",
                    help="with --four-phonon: Monte Carlo sums over two stratified samples of the mesh with this many "
                         "cells per axis, drawn for every q (TDEP's -qg4ph); default: every pair of the mesh")
    pa.add_argument("--seed", type=int, help="with --four-phonon-sample: seed of the random draws (reproducible "
                                             "widths)")
    pa.add_argument("--isotopes", action="store_true",
                    help="add isotope (mass-variance) scattering of the natural abundances (Tamura 1983)")
    pa.add_argument("--coherences", action="store_true",
                    help="add the coherences' conductivity of the Wigner transport equation (Simoncelli, Marzari and "
                         "Mauri 2019) from the same widths, beside its populations' (RTA) term")
    add_phono3py_options(pa)
    add_allow_unstable(pa)
    add_committee_option(pa)
    pa.add_argument("-o", "--output", default="trajmodes-anharmonic", help="output folder (default "
                                                                            "trajmodes-anharmonic): anharmonic.nc and "
                                                                            "the figure anharmonic.png")
    add_plot_format(pa)
    add_cluster_options(pa)                    # the q-points of the sums are Dask tasks of Anharmonic
    pm = add("compare", cmd_compare, "MD linewidths, shifts, lineshapes and conductivity (the peak fits of "
                                      "`trajmodes project`) beside three-phonon theory from the run's fitted fc3")
    pm.add_argument("modes", metavar="MODES_NC", help="output of `trajmodes project` on the MD run")
    pm.add_argument("fc", metavar="FC_PATH", help="fc2 + fc3 fitted to the same run (trajmodes fit --cutoff3)")
    pm.add_argument("--smearing", type=positive, help="Gaussian smearing in THz (default: from the theory's own "
                    "widths, the median three-phonon half width on the bulk mesh)")
    pm.add_argument("--temperature", type=positive, help="K (default: the run's kinetic temperature)")
    pm.add_argument("--constants", choices=["effective", "static"], default="effective",
                    help="what FC_PATH holds: effective constants fitted to the run (default; the predicted shift is "
                         "Delta(nu0) - Delta(0), their static bubble being in them already) or 0 K constants "
                         "(Delta(nu0))")
    pm.add_argument("--bulk-points", type=non_negative_int, default=30000,
                    help="q-points of the converged bulk mesh the three-phonon widths are also computed on "
                         "(default 30000, about 32^3; 0: none)")
    add_allow_unstable(pm)
    pm.add_argument("-o", "--output", default="trajmodes-compare", help="output folder (default trajmodes-compare): "
                                                                          "comparison.nc and the figure comparison.png")
    add_plot_format(pm)
    add_cluster_options(pm)
    pq = add("qha", cmd_qha, "quasiharmonic free-energy minimisation with a pair or three-body potential: lattice "
                             "parameters, thermal expansion, bulk moduli, Grueneisen parameter and C_P against T")
    pq.add_argument("potential", metavar="POTENTIAL", help="LAMMPS Stillinger-Weber file (*.sw), or a pair potential "
                                                          "lj/cut:epsilon,sigma,cutoff | morse:D0,alpha,r0,cutoff | "
                                                          "buck:A,rho,C,cutoff (metal units)")
    from trajmodes.workflows.quasiharmonic import STRUCTURES
    pq.add_argument("--structure", choices=STRUCTURES, default="diamond", help="crystal (default diamond)")
    pq.add_argument("--species", help="element(s) of the crystal, A or A,B (default: the potential file's)")
    pq.add_argument("--a", type=positive, required=True, help="starting lattice parameter a in A")
    pq.add_argument("--c", type=positive, help="starting c in A (hexagonal structures; default ideal)")
    pq.add_argument("--u", type=positive, help="starting internal coordinate u (lonsdaleite, wurtzite; default 3/8)")
    pq.add_argument("--temperatures", type=temperatures, default=temperatures("0:1500:50"),
                    help="TMIN:TMAX:STEP (TMAX included) or T1,T2,... in K (default 0:1500:50)")
    pq.add_argument("--mesh", type=mesh, default=[HARMONIC_MESH] * 3,
                    help=f"q mesh of the free energy: N or N1,N2,N3 (default {HARMONIC_MESH})")
    pq.add_argument("--occupation", choices=["quantum", "classical"], default="quantum",
                    help="quantum (Bose-Einstein, zero-point energy; default) or classical (as classical MD samples)")
    pq.add_argument("--pressure", type=float, default=0.0, help="GPa (default 0)")
    pq.add_argument("--internal", choices=["relax", "zsisa", "fixed"], default="relax",
                    help="internal coordinates: relax with the free energy (default), zsisa (zero static internal "
                         "stress), or fixed fractions")
    pq.add_argument("-o", "--output", default="trajmodes-qha", help="output folder (default trajmodes-qha): qha.nc and "
                                                                  "the figure qha.png")
    add_plot_format(pq)
    ps = add("series", cmd_series, "many MD runs (temperatures, volumes, NPT) in one dataset: effective force "
                                   "constants and frequencies with error bars, free energy, the split of every shift "
                                   "into volume and intrinsic parts, figures")
    add_read_options(ps, reference=False, thermo=False)
    ps.add_argument("--reference", dest="references", nargs="+", metavar="REF",
                    help="reference crystal of each run (or one for all): LAMMPS data files "
                                                "(default: RUN's stem + .data beside it, else the run's time "
                                                "average)")
    ps.add_argument("--run-temperatures", dest="temperatures", nargs="+", type=positive, metavar="K",
                    help="temperature of each run, one per RUN (default: the mean kinetic temperature of its "
                         "frames)")
    ps.add_argument("--thermo", nargs="+", metavar="LOG", help="LAMMPS log of each run (or one for all), for "
                                                               "the potential energy and so the free energy")
    ps.add_argument("--cutoff2", type=positive, help=CUTOFF2_HELP)
    ps.add_argument("--cutoff3", type=positive, help="triplet cutoff in A (default: second order only)")
    ps.add_argument("--mode", choices=["sequential", "simultaneous"], default=FIT_DEFAULTS["mode"],
                    help="sequential (TDEP; default) or simultaneous")
    ps.add_argument("--segments", type=positive_int, default=20,
                    help="time segments per run for the block bootstrap (default 20)")
    ps.add_argument("--resamples", type=non_negative_int, default=200,
                    help="bootstrap resamples per run (default 200; 0: no error bars)")
    ps.add_argument("--error-model", choices=["calibrated", "bootstrap"], default="calibrated",
                    help="calibrated (default): each run projected on its modes and, where they kept their energies, "
                         "a fourth order fitted for the error bars, which are then those calibrated for the run, or "
                         "marked as lower bounds with the reason; bootstrap: the block bootstrap alone (a lower bound)")
    ps.add_argument("--static", metavar="FC", help="force constants of the static (0 K) crystal at the runs' volume: "
                                                   "d nu / dT of runs without neighbours in temperature, for their "
                                                   "error bars")
    ps.add_argument("--target-error", type=positive, metavar="THZ",
                    help="report the frames each run needs for this error on every tabulated frequency")
    ps.add_argument("--qpoints", nargs="+", metavar="Q",
                    help="reduced q-points for the tables and the split: 'h k l h k l ...' or 'h,k,l;h,k,l' "
                         "(default: special points)")
    ps.add_argument("--path", help="band path as special-point letters, e.g. 'GXU|KGL' (default: standard)")
    ps.add_argument("--mesh", type=mesh, default=[HARMONIC_MESH] * 3,
                    help=f"q mesh of the free energy: N or N1,N2,N3 (default {HARMONIC_MESH})")
    ps.add_argument("--cubic-mesh", type=mesh, help="q mesh of the second-order cubic free energy, with --cutoff3 "
                                                    "(default 10)")
    ps.add_argument("--occupation", choices=["quantum", "classical"], default="quantum",
                    help="statistics of the harmonic free energy (default quantum)")
    ps.add_argument("--symprec", type=positive, default=FIT_DEFAULTS["symprec"],
                    help=f"symmetry tolerance in A (default {FIT_DEFAULTS['symprec']:g})")
    from trajmodes.workflows.series import SAMPLING_FORMS
    ps.add_argument("--sampling", metavar="POTENTIAL",
                    help="beside every run the self-consistent sampling of this potential at the run's temperature "
                         "on its reference supercell, from its fitted constants, with the same cutoffs: classical "
                         "for classical MD, the P-bead ring polymer for a path-integral run of P beads (like for "
                         f"like); POTENTIAL {SAMPLING_FORMS} (an ASE calculator through the Python API, "
                         "trajmodes.workflows.series_of_runs)")
    ps.add_argument("--sampling-samples", type=positive_int, default=256, metavar="N",
                    help="configurations of the sampling's first iteration, doubled each iteration up to 4N "
                         "(default 256); the last 3 iterations are pooled for the frequencies and their errors")
    ps.add_argument("-o", "--output", default="trajmodes-series", help="output folder (default trajmodes-series): "
                                                                       "series.nc and the figures series.png, "
                                                                       "series.split.png")
    add_plot_format(ps)
    pe = add("eam", cmd_eam, "analytic force constants of an EAM potential (LAMMPS eam, eam/alloy, eam/fs) for a "
                             "cubic crystal: BvK shell constants and their pair/embedding split, netCDF and plots")
    pe.add_argument("potential", metavar="POTENTIAL", help="LAMMPS EAM file (*.eam, *.eam.alloy, *.eam.fs)")
    pe.add_argument("--structure", choices=["fcc", "bcc", "l12"], default="fcc", help="crystal (default fcc)")
    pe.add_argument("--a", type=positive, required=True, help="cubic lattice constant in A")
    pe.add_argument("--species", dest="element",
                    help="element (fcc/bcc; default the potential's first) or A,B for l12 A3B")
    pe.add_argument("--supercell", type=supercell_dims, default=[5, 5, 5],
                    help="N or N,N,N conventional cells: a cube (default 5)")
    pe.add_argument("--constants", choices=["analytic", "finite-difference"], default="analytic",
                    help="which force constants: the curvature of the splines (analytic, default) or central "
                         "differences of the forces (finite-difference: what MD and finite-displacement codes see; "
                         "the analytic ones are always checked against them)")
    pe.add_argument("--displacement", type=positive, default=0.01,
                    help="finite-difference displacement in A (default 0.01)")
    pe.add_argument("--compare", nargs="+", metavar="FC", help="force constants to compare BvK constants with: "
                                                               "phonopy folders/files or trajmodes .nc")
    pe.add_argument("--path", help="band path as special-point letters (default: standard)")
    pe.add_argument("--npoints", type=positive_int, default=51, help="q-points per path segment (default 51)")
    pe.add_argument("--mesh", type=mesh, default=[HARMONIC_MESH] * 3,
                    help=f"q mesh for the DOS: N or N1,N2,N3 (default {HARMONIC_MESH})")
    pe.add_argument("--qpoints", nargs="+", metavar="Q", help=QPOINTS_HELP)
    pe.add_argument("-o", "--output", default="trajmodes-eam", help="output folder (default trajmodes-eam): fc.nc and "
                                                                  "bands_dos.png; fcc and bcc also bvk.nc and bvk.png")
    add_plot_format(pe)
    pj = add("project", cmd_project, "project an MD trajectory onto phonon modes: mode energies, spectra, peak "
                                     "frequencies, linewidths and lifetimes in one netCDF")
    add_read_options(pj)
    pj.add_argument("--force-constants", required=True, help="force constants: phonopy folder/file or trajmodes .nc")
    add_project_qpoints(pj)
    from trajmodes.workflows.modes import DEFAULT_PEAK_MODEL, DEFAULT_RESOLUTION, PEAK_MODELS
    pj.add_argument("--resolution", type=positive,
                    help=f"Welch frequency bin in THz (default {DEFAULT_RESOLUTION:g}, as mode_spectra, or the run's "
                         f"own 1/T where it is shorter than 1/{DEFAULT_RESOLUTION:g} ps)")
    pj.add_argument("--full", action="store_true", help="one periodogram over the whole run (resolution 1/T)")
    pj.add_argument("--model", choices=PEAK_MODELS, default=DEFAULT_PEAK_MODEL,
                    help=f"peak model (default {DEFAULT_PEAK_MODEL}: Lorentzian and damped oscillator, the more likely "
                         "per mode); *_windowed: the expected windowed periodogram of the line, for FWHM near the "
                         "resolution")
    pj.add_argument("--no-star", action="store_true", help="do not average the spectra over the star of q")
    pj.add_argument("--temperature", type=positive, help="K, for the equipartition ratio (default: kinetic)")
    pj.add_argument("--keep-q", action="store_true", help="also store the Q and Qdot time series (real/imag)")
    pj.add_argument("-o", "--output", default="trajmodes-project", help="output folder (default trajmodes-project): "
                                                                        "modes.nc")
    pj.add_argument("--table", action="store_true", help="print every mode (q, branch), not the per-branch summary")
    pw = add("sqw", cmd_sqw, "dynamic structure factor S(q, omega), F(q, t) and current correlations of an MD run "
                             "along a band path, at q-points or powder averaged (dynasor's definitions), with "
                             "neutron or X-ray weights: sqw.nc and figures in a folder")
    add_read_options(pw)
    qsel = pw.add_mutually_exclusive_group(required=True)
    qsel.add_argument("--path", help="band path as special-point letters, pieces split by '|', e.g. GXKGL: every q "
                                     "on it commensurate with the MD cell")
    qsel.add_argument("--qpoints", nargs="+", metavar="Q",
                      help="reduced q-points of the primitive cell, commensurate with the MD cell: 'h k l h k l ...' "
                           "or 'h,k,l;h,k,l'")
    qsel.add_argument("--powder", metavar="QMIN:QMAX:N", help="powder average: |Q| from QMIN to QMAX rad/A "
                                                              "(2 pi included) in N shells")
    pw.add_argument("--window", type=positive_int, required=True, help="frames per correlation window (lags 0 .. "
                                                                       "W-1; frequency resolution 1/((2W-1) dt))")
    pw.add_argument("--step", type=positive_int, default=1, help="frames between time origins (default 1)")
    pw.add_argument("--weights", choices=["neutron", "xray", "none"], default="none",
                    help="neutron: scattering lengths of Sears 1992; xray: form factors f0(|q|) of Waasmaier and "
                         "Kirfel 1995; none: every atom weighs 1 (default)")
    pw.add_argument("--per-shell", type=positive_int, default=20, help="--powder: at most this many q per shell, "
                                                                       "drawn at random (default 20)")
    pw.add_argument("--force-constants", help="draw their dispersion over the S(q, omega) map: phonopy folder/file "
                                              "or trajmodes .nc (harmonic or effective)")
    pw.add_argument("--no-currents", action="store_true", help="leave out the current correlations")
    pw.add_argument("--no-incoherent", action="store_true", help="leave out the incoherent (self) part")
    pw.add_argument("-o", "--output", default="trajmodes-sqw", help="output folder (default trajmodes-sqw): sqw.nc; "
                                                                  "the figures sqw.png and currents.png along --path, "
                                                                  "sqw_powder.png with --powder")
    add_plot_format(pw)
    pl = add("lifetimes", cmd_lifetimes, "table and plots of a 'trajmodes project' file")
    pl.add_argument("modes_file", metavar="MODES_NC", help="the modes.nc that trajmodes project wrote")
    pl.add_argument("--plot", action="store_true", help="spectra with fits, dispersion with FWHM bars, SED map")
    pl.add_argument("--table", action="store_true", help="print every mode (q, branch), not the per-branch summary")
    pl.add_argument("--modes", help="modes to plot with their fit: q:branch,... (q index as in the table)")
    pl.add_argument("-o", "--output", help="output folder of the figures (default: the folder of MODES_NC): "
                                           "with --plot STEM_fits.png, STEM_dispersion.png and "
                                           "STEM_sed.png, STEM the name of MODES_NC")
    pl.add_argument("--force-constants", help="for a file without its band path (written by modes_dataset without "
                                              "phonons): the force constants to draw it from (default: the path in "
                                              "the file)")
    add_plot_format(pl)
    pv = add("convert-fc", cmd_convert_fc, "force constants from one code's files to another's: TDEP, ShengBTE, "
                                           "phonopy, phono3py, hiPhive, GPUMD, trajmodes netCDF")
    pv.add_argument("input", metavar="IN", help="force constants: a folder or file of TDEP (infile.forceconstant), "
                                                "ShengBTE (FORCE_CONSTANTS_2ND), phonopy, phono3py, GPUMD "
                                                "(fcs_order2.in), a hiPhive .fcp or .fcs file, or a .nc file")
    pv.add_argument("-o", "--output", required=True, help="output folder: the files of the --to format (netcdf "
                                                          "and hiphive write fc.nc and fc.fcs inside it; a name "
                                                          "ending in .nc or .fcs is that file)")
    pv.add_argument("--to", required=True, choices=FC_FORMATS, help="output format")
    pv.add_argument("--from", dest="source_format", choices=FC_FORMATS,
                    help="input format (default: known from the file names)")
    pv.add_argument("--supercell", type=supercell_dims, help="TDEP or ShengBTE input without its supercell file, or "
                                                   "a hiPhive potential (.fcp): the supercell as N or N1,N2,N3 unit "
                                                   "cells")
    pv.add_argument("--fc2-only", action="store_true", help="leave the third-order constants out")
    pv.add_argument("--no-nac", action="store_true", help="leave the Born charges and dielectric tensor out")
    add_lineshapes_parser(add)
    add_glass_parser(add)
    for c in cmds.values():
        refuse_repeated_options(c)
    return p, cmds


#: options that would be ambiguous, with what to use instead
_AMBIGUOUS = {"--timestep": "--timestep is ambiguous: give --md-timestep PS (the MD integration step; frame times = "
                            "MD step x PS) or --frame-interval PS (the time between two frames)"}


def _unknown(cmd: argparse.ArgumentParser, name: str, extra: list[str]):
    """Report unknown arguments with the subcommand's usage (argparse would show the top-level one), and the
    command's option closest to an unknown one ("did you mean --species?")."""
    import difflib
    known = [o for action in cmd._actions for o in action.option_strings if o.startswith("--")]
    hints = []
    for e in extra:
        opt = e.split("=", 1)[0]
        if opt in _AMBIGUOUS:
            cmd.error(_AMBIGUOUS[opt])
        if opt == "--format" and "--plot-format" in cmd.format_help():
            cmd.error(f"'{name}' reads no trajectory, so it has no --format: give the figure format with "
                      "--plot-format")
        close = difflib.get_close_matches(opt, known, n=1, cutoff=0.75) if opt.startswith("--") else []
        if close:
            hints.append(f"{opt}: did you mean {close[0]}?")
    cmd.error(f"unrecognized arguments: {' '.join(extra)}" + (f" ({'; '.join(hints)})" if hints else ""))


def main(argv=None, commands=None) -> int:
    """Run one command; returns the exit status (0 success, 2 error, 130 Ctrl-C, 143 SIGTERM).

    Parameters
    ----------
    argv : list of str, optional
        The command line without the program's name (``sys.argv[1:]`` when None).
    commands : object, optional
        Where the command's function is looked up by its name (``cmd_info``, ...) when it runs:
        :func:`trajmodes.cli.main` passes the package ``trajmodes.cli``, so that a function replaced there (a test's
        monkeypatch) is the one that runs. None: the function the parser was built with.
    """
    parser, cmds = build_parser()
    args, extra = parser.parse_known_args(argv)
    vars(args).pop(GIVEN, None)
    if extra:
        _unknown(cmds[args.command], args.command, extra)
    if getattr(args, "format", None) in FIGURE_FORMATS:
        cmds[args.command].error(f"--format names the trajectory format; give the figure format with "
                                 f"--plot-format {args.format}")
    debug = args.debug or os.environ.get("TRAJMODES_DEBUG", "") not in ("", "0")
    from trajmodes.workflows.outputs import staged_outputs
    from trajmodes.cli.interrupt import exit_now, message, report, signals
    out = staged_outputs(notify=report)
    with signals() as received, printed_warnings():
        try:
            from trajmodes.cli.options import cluster
            from trajmodes.cli.progress import progress
            # every Dask computation longer than 1 s, a line at most every PROGRESS_INTERVAL s in a log
            with cluster(args), progress(minimum=1.0, out=sys.stderr, interval=PROGRESS_INTERVAL):
                run = args.func if commands is None else getattr(commands, args.func.__name__)
                status = run(args, out)
            out.commit()
            return status
        except KeyboardInterrupt as exc:             # Ctrl-C, or Interrupted (SIGINT, SIGTERM) from signals()
            out.discard()
            signum = getattr(exc, "signum", signal.SIGINT)
            print(message(signum, out.kept), file=sys.stderr, flush=True)
            if received:        # a real signal: Dask's threads may be in the middle of a chunk; do not wait for them
                exit_now(128 + signum)
            return 128 + signum
        except Exception as exc:
            out.discard()
            if received or isinstance(exc.__context__, KeyboardInterrupt):
                # the signal surfaced as another error (a C extension's import it cut short says "initialization
                # failed"): the user interrupted, and that is what is said
                signum = received[0] if received else getattr(exc.__context__, "signum", signal.SIGINT)
                print(message(signum, out.kept), file=sys.stderr, flush=True)
                if received:
                    exit_now(128 + signum)
                return 128 + signum
            if debug:
                raise
            print(f"trajmodes: error: {_one_line(exc)}", file=sys.stderr)
            return 2


#: warnings no user of the command line acts on (Python's default filters leave them out too); trajmodes' own
#: deprecations are still printed
_QUIET = (DeprecationWarning, PendingDeprecationWarning, ImportWarning, ResourceWarning)


@contextlib.contextmanager
def printed_warnings():
    """While a command runs, every warning (of trajmodes or of a library it calls, in any thread) is printed on stderr
    as one ``warning: MESSAGE`` line, each message once, whatever warnings filter the caller set (``python -W error``,
    ``PYTHONWARNINGS``, a test's ``warnings.simplefilter("error")``): a warning the command may print is never
    raised as an exception, so it never becomes the exit status. Deprecations of other packages are left out, as
    Python's default filters leave them out. The caller's filters and ``warnings.showwarning`` are restored after.

    Yields the set of the messages printed so far.
    """
    printed: set[str] = set()

    def show(message, category, filename, lineno, file=None, line=None):
        text = str(message).rstrip()
        if text in printed:
            return
        printed.add(text)
        print(f"warning: {text}", file=sys.stderr, flush=True)

    with warnings.catch_warnings():
        warnings.resetwarnings()
        warnings.simplefilter("always")              # every one reaches show(), which prints each message once
        for category in _QUIET:
            warnings.filterwarnings("ignore", category=category)
        warnings.filterwarnings("always", category=DeprecationWarning, module=r"trajmodes(\.|$)")
        warnings.showwarning = show
        yield printed


#: exception types whose message says it all (raised by trajmodes and the libraries for bad input, files,
#: folders and missing packages)
_PLAIN = (ValueError, OSError, ImportError)


#: other exceptions that input, files or the machine can cause: the message says which kind
_EXPECTED = (KeyError, MemoryError, RuntimeError)


def _one_line(exc: BaseException) -> str:
    """The message of ``exc`` on one line; an exception no input can cause (a TypeError, AttributeError, ...)
    is a bug, and the message says so and how to get the traceback for a report."""
    msg = " ".join(str(exc).split()) or type(exc).__name__
    if isinstance(exc, ImportError) and "pip install" not in msg:
        name = getattr(exc, "name", None)
        msg += f" (install it: pip install {name})" if name else ""
    if isinstance(exc, MemoryError):
        return f"out of memory ({msg}): use smaller chunks (--chunk-frames), fewer frames or smaller cutoffs"
    if isinstance(exc, KeyError):
        key = str(exc.args[0]) if exc.args else "?"
        return (f"missing entry {key!r}: the input file is incomplete, or not the kind of file it looks like "
                "(--debug shows where it was needed)")
    if isinstance(exc, _PLAIN):
        return msg
    if isinstance(exc, _EXPECTED):
        return f"{msg} ({type(exc).__name__} from {type(exc).__module__.split('.')[0]})"
    return (f"{type(exc).__name__}: {msg}. This is a bug in trajmodes: please report it to its developers with "
            "the command and the traceback that --debug (or TRAJMODES_DEBUG=1) shows")
