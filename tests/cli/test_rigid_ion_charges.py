"""``--charges auto`` of ``trajmodes fit`` and ``run``: when a run's own LAMMPS files make it a rigid-ion model (per-atom
charges in its data file, long-range Coulomb in its input), the fit gets Born charges Z = q I and eps_inf = 1
(trajmodes.workflows.charges); otherwise nothing, or one line saying why not. No LAMMPS needed: a tiny rocksalt dump,
its data file and an input written here."""
from __future__ import annotations

import numpy as np
import pytest

import trajmodes
from trajmodes.io.potentials.pair_style import potential_range_of
from trajmodes.io.trajectories.lammps_data import data_file_charges
from trajmodes.workflows.charges import rigid_ion_charges

A = 5.6
FRAC = np.array([[0, 0, 0], [0, .5, .5], [.5, 0, .5], [.5, .5, 0], [.5, 0, 0], [0, .5, 0], [0, 0, .5], [.5, .5, .5]])
TYPES = [1, 1, 1, 1, 2, 2, 2, 2]
POTENTIALS = {
    "long": "pair_style buck/coul/long 2.7\npair_coeff * * 100.0 0.3 0.0\nkspace_style ewald 1e-6",
    "kspace_pppm": "pair_style born/coul/long 2.7\npair_coeff * * 0.1 0.3 2.0 1.0 1.0\nkspace_style pppm 1e-5",
    "msm": "pair_style lj/cut/coul/msm 2.7\npair_coeff * * 0.01 2.0\nkspace_style msm 1e-4",
    "cut": "pair_style buck/coul/cut 2.7\npair_coeff * * 100.0 0.3 0.0",
    "wolf": "pair_style born/coul/wolf 0.25 2.7\npair_coeff * * 0.1 0.3 2.0 1.0 1.0",
    "none_kspace": "pair_style buck/coul/cut 2.7\npair_coeff * * 100.0 0.3 0.0\nkspace_style none",
}


def _write(tmp, charges=(1.1, -1.1), style="charge", potential="long", extra="", ids=None):
    """data file, input and a two-frame dump of 8 atoms (Na4Cl4) in ``tmp``."""
    tmp.mkdir(parents=True, exist_ok=True)
    pos = FRAC * A
    ids = list(range(1, 9)) if ids is None else ids
    head = [f"{style} test", "", "8 atoms", "2 atom types", "", f"0 {A} xlo xhi", f"0 {A} ylo yhi",
            f"0 {A} zlo zhi", "", "Masses", "", "1 22.99 # Na", "2 35.45 # Cl", "", f"Atoms # {style}", ""]
    rows = []
    for i, (t, p) in enumerate(zip(TYPES, pos)):
        q = charges[t - 1]
        if style == "charge":
            rows.append(f"{ids[i]} {t} {q} {p[0]} {p[1]} {p[2]}")
        elif style == "full":
            rows.append(f"{ids[i]} 1 {t} {q} {p[0]} {p[1]} {p[2]}")
        else:
            rows.append(f"{ids[i]} {t} {p[0]} {p[1]} {p[2]}")
    (tmp / "nacl.data").write_text("\n".join(head + rows) + "\n")
    (tmp / "in.nacl").write_text(f"units metal\natom_style {style}\nread_data nacl.data\n{POTENTIALS[potential]}\n"
                                 f"{extra}timestep 0.001\ndump d all custom 10 nacl.lammpstrj id type x y z fx fy fz\n"
                                 "run 20\n")
    rng = np.random.default_rng(1)
    frames = []
    for k in range(2):
        u = rng.normal(0, 0.02, (8, 3))
        f = -u
        lines = ["ITEM: TIMESTEP", str(10 * k), "ITEM: NUMBER OF ATOMS", "8", "ITEM: BOX BOUNDS pp pp pp",
                 f"0 {A}", f"0 {A}", f"0 {A}", "ITEM: ATOMS id type x y z fx fy fz"]
        lines += [f"{ids[i]} {TYPES[i]} " + " ".join(f"{x:.8f}" for x in (*pos[i] + u[i], *f[i])) for i in range(8)]
        frames.append("\n".join(lines))
    (tmp / "nacl.lammpstrj").write_text("\n".join(frames) + "\n")
    return tmp / "nacl.lammpstrj", tmp / "nacl.data"


def _decide(tmp, reference=True, **kw):
    dump, data = _write(tmp, **kw)
    traj = trajmodes.read(str(dump), reference=str(data))
    return rigid_ion_charges(traj, reference=str(data) if reference else None,
                             potential_range=potential_range_of([traj])), traj


@pytest.mark.parametrize("potential", ["long", "kspace_pppm", "msm"])
@pytest.mark.parametrize("style", ["charge", "full"])
def test_long_range_coulomb_with_charges_gives_rigid_ion_born_charges(tmp_path, potential, style):
    found, traj = _decide(tmp_path, potential=potential, style=style)
    assert found.polar
    q = np.where(np.asarray(traj.species) == "Na", 1.1, -1.1)
    np.testing.assert_allclose(found.born, q[:, None, None] * np.eye(3))
    np.testing.assert_allclose(found.epsilon, np.eye(3))
    assert "rigid-ion: Born charges = ionic charges, eps_inf = 1" in found.line
    assert "Na +1.1" in found.line and "Cl -1.1" in found.line and "nacl.data" in found.line
    assert "\n" not in found.line


def test_the_charges_of_the_data_file_the_input_reads_without_reference(tmp_path):
    found, _ = _decide(tmp_path, reference=False)
    assert found.polar and "read_data in in.nacl" in found.line


def test_charges_mapped_by_atom_id(tmp_path):
    """Ids not in the order of the rows: the charges follow the atoms, not the lines."""
    found, traj = _decide(tmp_path, ids=[8, 3, 5, 1, 2, 7, 4, 6])
    q = np.where(np.asarray(traj.species) == "Na", 1.1, -1.1)
    np.testing.assert_allclose(found.born[:, 0, 0], q)


@pytest.mark.parametrize("potential", ["cut", "wolf", "none_kspace"])
def test_short_ranged_coulomb_gets_no_dipole_correction(tmp_path, potential):
    found, _ = _decide(tmp_path, potential=potential)
    assert not found.polar
    assert "no long-range Coulomb tail" in found.line and "\n" not in found.line


@pytest.mark.parametrize("kw", [dict(charges=(0.0, 0.0)), dict(style="atomic")])
def test_no_charges_nothing_said(tmp_path, kw):
    found, _ = _decide(tmp_path, **kw)
    assert not found.polar and found.line == ""


def test_charges_not_neutral_are_refused_in_one_line(tmp_path):
    found, _ = _decide(tmp_path, charges=(1.1, -0.9))
    assert not found.polar and "not neutral" in found.line


def test_set_type_charge_commands_of_the_input_override_the_data_file(tmp_path):
    found, traj = _decide(tmp_path, charges=(0.0, 0.0), extra="set type 1 charge 0.8\nset type 2 charge -0.8\n")
    assert found.polar
    q = np.where(np.asarray(traj.species) == "Na", 0.8, -0.8)
    np.testing.assert_allclose(found.born[:, 0, 0], q)


def test_without_input_the_range_is_unknown_and_said(tmp_path):
    dump, data = _write(tmp_path)
    (tmp_path / "in.nacl").unlink()
    traj = trajmodes.read(str(dump), reference=str(data), md_timestep=0.001)
    found = rigid_ion_charges(traj, reference=str(data), potential_range=potential_range_of([traj]))
    assert not found.polar and "no LAMMPS input names the dump" in found.line


def test_data_file_charges_units(tmp_path):
    _, data = _write(tmp_path)
    c = data_file_charges(str(data))
    assert c.style == "charge" and c.ids.tolist() == list(range(1, 9))
    np.testing.assert_allclose(c.charges, [1.1] * 4 + [-1.1] * 4)
    np.testing.assert_allclose(data_file_charges(str(data), "si").charges[0], 1.1 / 1.602176634e-19)
    assert data_file_charges(str(data), "lj") is None


def test_fit_and_run_take_the_option():
    from trajmodes.cli.app import build_parser
    p, cmds = build_parser()
    for name in ("fit", "run"):
        assert cmds[name].parse_args(["x.lammpstrj"]).charges == "auto"
        assert cmds[name].parse_args(["x.lammpstrj", "--charges", "none"]).charges == "none"
        with pytest.raises(SystemExit):
            cmds[name].parse_args(["x.lammpstrj", "--charges", "file"])
