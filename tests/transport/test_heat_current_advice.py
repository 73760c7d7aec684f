"""What ``trajmodes conductivity`` says when a dump cannot give the heat current: exactly what it lacks (the dump's
columns as read, the columns or options that would give each missing quantity), and which per-atom stress to dump for
the run's pair style (LAMMPS computes ``compute centroid/stress/atom`` for pair potentials and EAM only; for Tersoff and
the other many-body styles it refuses it, and the six columns of ``compute stress/atom`` give a wrong current: Fan et
al., Phys. Rev. B 92, 094301 (2015)). Small dumps written here; no LAMMPS run."""
from __future__ import annotations

import numpy as np
import pytest

import trajmodes
from trajmodes.cli import main
from trajmodes.io.potentials.pair_style import PotentialRange, potential_range_of
from trajmodes.transport.current import heat_current_missing, heat_current_of_run, stress_advice

STRESS6 = [f"c_s[{k}]" for k in range(1, 7)]


def _dump(folder, columns, pair: str | None = "pair_style tersoff\npair_coeff * * GaN.tersoff Ga N",
          mass: bool = True) -> str:
    """Three frames of four atoms (types 1, 2) with ``columns``, and beside the dump the input that wrote it (with
    ``pair`` and, with ``mass``, the mass commands); the dump's path."""
    rng = np.random.default_rng(3)
    rows = []
    for step in (0, 10, 20):
        rows += [f"ITEM: TIMESTEP\n{step}\nITEM: NUMBER OF ATOMS\n4\nITEM: BOX BOUNDS pp pp pp\n0 6\n0 6\n0 6\n"
                 f"ITEM: ATOMS {' '.join(columns)}"]
        for i in range(4):
            values = {"id": i + 1, "type": 1 + i % 2, "xu": 1.5 * i + 0.01 * rng.normal(), "yu": 1.0 * i,
                      "zu": 0.5 * i}
            rows.append(" ".join(str(values.get(c, round(float(rng.normal()), 6))) for c in columns))
    dump = folder / "run.lammpstrj"
    dump.write_text("\n".join(rows) + "\n")
    if pair is not None:
        masses = "mass 1 69.723\nmass 2 14.007\n" if mass else ""
        (folder / "in.run").write_text(f"units metal\natom_style atomic\nread_data start.data\n{masses}{pair}\n"
                                       f"timestep 0.001\ndump d all custom 10 run.lammpstrj {' '.join(columns)}\n"
                                       "run 20\n")
    return str(dump)


def _message(dump, **read) -> str:
    traj = trajmodes.read(dump, **read)
    with pytest.raises(ValueError) as err:
        heat_current_of_run(traj, potential_range_of([traj]))
    return str(err.value)


def test_a_tersoff_run_without_energies_and_stresses_names_them_and_what_works(tmp_path, capsys):
    """The user's GaN run (positions, velocities, forces): the energies and the stresses are named, not the
    velocities nor the masses (the input's mass commands give them); LAMMPS refuses the centroid stress for Tersoff,
    so the advice is not to dump it but a route that works."""
    dump = _dump(tmp_path, ["id", "type", "xu", "yu", "zu", "vx", "vy", "vz", "fx", "fy", "fz"])
    out = tmp_path / "k"
    assert main(["conductivity", dump, "-o", str(out)]) != 0
    err = " ".join(capsys.readouterr().err.split())
    assert "the dump lacks per-atom potential energies (a column c_pe" in err
    assert "per-atom stresses (the columns c_ID[1] .. c_ID[9] of compute ID all centroid/stress/atom" in err
    assert "(the dump's columns: id type xu yu zu vx vy vz fx fy fz)" in err
    assert "velocities (the columns" not in err and "the atoms' masses (" not in err
    assert "for pair_style tersoff" in err and "LAMMPS refuses compute centroid/stress/atom" in err
    assert "Fan et al., Phys. Rev. B 92, 094301 (2015)" in err
    assert "trajmodes fit DUMP --cutoff3" in err and "trajmodes anharmonic" in err and "GPUMD" in err
    assert "compute heat/flux in the log" not in err        # LAMMPS' heat/flux is as wrong for Tersoff
    assert not out.exists()


def test_only_the_missing_masses_are_named(tmp_path):
    dump = _dump(tmp_path, ["id", "type", "xu", "yu", "zu", "vx", "vy", "vz", "c_pe"] + STRESS6, pair=None)
    text = _message(dump, md_timestep=0.001)
    assert "the dump lacks the atoms' masses (LAMMPS types without elements: --species or --masses)" in text
    assert "per-atom potential energies (" not in text and "per-atom stresses (" not in text
    assert "velocities (" not in text


def test_only_the_missing_velocities_are_named(tmp_path):
    dump = _dump(tmp_path, ["id", "type", "xu", "yu", "zu", "c_pe", "c_s[1]", "c_s[2]", "c_s[3]", "c_s[4]",
                            "c_s[5]", "c_s[6]", "c_s[7]", "c_s[8]", "c_s[9]"],
                 pair="pair_style lj/cut 8.0\npair_coeff * * 0.01 3.0")
    text = _message(dump)
    assert "the dump lacks velocities (the columns vx vy vz) (the dump's columns: id type xu" in text
    assert "per-atom" not in text.split("(the dump's columns")[0]


@pytest.mark.parametrize("pair, says, not_said", [
    ("pair_style lj/cut 8.0\npair_coeff * * 0.01 3.0",
     "for pair_style lj/cut 8.0 (in in.run), whose forces are pairwise, dump the nine columns of compute ID all "
     "centroid/stress/atom NULL (dumped as c_ID[*]), or the six of compute ID all stress/atom NULL: they give the same "
     "current", "refuses"),
    ("pair_style eam/alloy\npair_coeff * * CuNi.eam.alloy Cu Ni", "for pair_style eam/alloy (in in.run), whose forces "
     "are pairwise, dump the nine columns", "refuses"),
    ("pair_style lj/cut/coul/long 8.0\npair_coeff * * 0.01 3.0\nkspace_style pppm 1e-5",
     "LAMMPS refuses compute centroid/stress/atom (long-range electrostatics, a kspace_style); its forces are "
     "pairwise: dump the six of compute ID all stress/atom NULL", "dump the nine"),
    ("pair_style sw\npair_coeff * * GaN.sw Ga N", "for pair_style sw (in in.run) LAMMPS refuses compute "
     "centroid/stress/atom (its documentation: many-body pair styles, sw here, are not supported", "dump the nine"),
])
def test_the_stress_to_dump_follows_the_pair_style(tmp_path, pair, says, not_said):
    dump = _dump(tmp_path, ["id", "type", "xu", "yu", "zu", "vx", "vy", "vz", "c_pe"], pair=pair)
    text = " ".join(_message(dump).split())
    assert "the dump lacks per-atom stresses (" in text and "per-atom potential energies (" not in text
    assert says in text
    assert not_said not in text


def test_six_columns_of_a_many_body_run_are_refused_with_what_works(tmp_path):
    """Stillinger-Weber with compute stress/atom: refused (as before), and now without the advice LAMMPS would refuse
    (the centroid stress), with the routes that work instead."""
    dump = _dump(tmp_path, ["id", "type", "xu", "yu", "zu", "vx", "vy", "vz", "c_pe"] + STRESS6,
                 pair="pair_style sw\npair_coeff * * GaN.sw Ga N")
    text = _message(dump)
    assert "six columns (compute stress/atom)" in text and "pair_style sw, in in.run" in text
    assert "LAMMPS refuses compute centroid/stress/atom" in text and "dump the nine" not in text
    assert "the six columns of compute stress/atom, in a dump or in compute heat/flux, give" in text
    assert "trajmodes anharmonic" in text


def test_without_the_runs_input_both_cases_are_said():
    advice = stress_advice(None)
    assert "dump the nine columns of compute ID all centroid/stress/atom NULL" in advice
    assert "LAMMPS refuses the centroid form for many-body potentials (Tersoff" in advice
    assert "Fan et al., Phys. Rev. B 92, 094301 (2015)" in advice


@pytest.mark.parametrize("style, kspace, centroid", [
    ("tersoff", False, False), ("sw", False, False), ("meam/spline", False, False), ("snap", False, False),
    ("eam/alloy", False, True), ("eam", False, True), ("lj/cut 8.0", False, True), ("morse 8.0", False, True),
    ("lj/cut/coul/long 8.0", True, False), ("hybrid/overlay lj/cut 8.0 tersoff", False, False),
    ("deepmd graph.pb", False, True), ("some/new/style", False, None)])
def test_which_pair_styles_have_a_centroid_stress(style, kspace, centroid):
    """LAMMPS' documentation of compute stress/atom (Restrictions): pair styles and EAM, not many-body styles nor
    kspace; checked on LAMMPS 22 Jul 2025 for tersoff, sw, meam/spline, snap (refused) and lj/cut, morse, eam,
    eam/alloy (computed)."""
    assert PotentialRange(None, style, "in.run", kspace=kspace).centroid_stress is centroid


def test_a_cache_without_the_current_says_so(tmp_path):
    """A format without per-atom energies and stresses: the message says the format holds neither."""
    dump = _dump(tmp_path, ["id", "type", "xu", "yu", "zu", "vx", "vy", "vz"], pair=None)
    traj = trajmodes.read(dump, species=["Ga", "N"], md_timestep=0.001)
    traj.to_netcdf(tmp_path / "c.nc")
    text = heat_current_missing(trajmodes.read(tmp_path / "c.nc"))
    assert "the data lack per-atom potential energies and stresses (trajmodes-netcdf data hold neither" in text
