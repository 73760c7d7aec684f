"""``species`` given as one string, as ``--species`` writes it: the types' elements in order, never the letters of
the string one by one ("Cu" once read a one-type dump as carbon and a second type "u")."""
from __future__ import annotations

import numpy as np

import trajmodes


def _dump(path, types):
    n = len(types)
    rows = "".join(f"{i + 1} {t} {1.8 * i:.3f} 0.5 0.5\n" for i, t in enumerate(types))
    frames = "".join(f"ITEM: TIMESTEP\n{step}\nITEM: NUMBER OF ATOMS\n{n}\nITEM: BOX BOUNDS pp pp pp\n"
                     f"0 {1.8 * n} \n0 3.6\n0 3.6\nITEM: ATOMS id type x y z\n{rows}" for step in (0, 10))
    path.write_text(frames)
    return path


def test_one_element_string_is_that_element(tmp_path):
    traj = trajmodes.read(_dump(tmp_path / "cu.lammpstrj", [1, 1]), md_timestep=0.001, species="Cu")
    assert list(np.unique(traj.species)) == ["Cu"]


def test_comma_or_space_separated_string_names_each_type(tmp_path):
    dump = _dump(tmp_path / "sio.lammpstrj", [1, 2, 2])
    for given in ("Si,O", "Si O", " Si, O "):
        traj = trajmodes.read(dump, md_timestep=0.001, species=given)
        assert list(traj.species) == ["Si", "O", "O"], given
