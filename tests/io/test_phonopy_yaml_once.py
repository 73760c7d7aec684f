"""``ForceConstants.read`` of phonopy files parses the phonopy yaml once (a 47 MB yaml took three parses, three
times ``phonopy.load``'s time) and gives what ``phonopy.load`` gives from the same files.

Oracle: ``phonopy.load`` itself on the same folder (the constants phonopy builds: from the yaml, from
FORCE_CONSTANTS / fc2.hdf5 beside it, or by its own finite differences from the yaml's displacement-force
dataset), compared bit for bit; the Morse constants of ``tests/support/morse.py`` as the forces.
"""
from __future__ import annotations

import numpy as np
import pytest

from tests.support.crystals import FCC
from tests.support.morse import morse_fc
from trajmodes import Crystal, ForceConstants

phonopy = pytest.importorskip("phonopy")
yaml = pytest.importorskip("yaml")


def _phonopy(n=3):
    """phonopy on fcc Cu, primitive unit cell, n x n x n supercell."""
    from phonopy.structure.atoms import PhonopyAtoms
    prim = Crystal(FCC, [[0, 0, 0]], ["Cu"])
    return phonopy.Phonopy(PhonopyAtoms(symbols=["Cu"], cell=prim.cell, scaled_positions=prim.scaled_positions),
                           supercell_matrix=np.eye(3, dtype=int) * n, primitive_matrix=np.eye(3), log_level=0)


def _full_fc(ph):
    from trajmodes.io.forceconstants.phonopy import crystal_from_phonopy
    return morse_fc(crystal_from_phonopy(ph.supercell))


def _write(kind: str, folder):
    """A phonopy folder whose constants phonopy finds in the way ``kind`` names."""
    from phonopy.file_IO import write_force_constants_to_hdf5, write_FORCE_CONSTANTS
    folder.mkdir()
    ph = _phonopy()
    fc = _full_fc(ph)
    if kind == "dataset":                                 # phonopy's finite differences from the yaml's forces
        ph.generate_displacements(distance=0.01)
        u = np.array([s.positions - ph.supercell.positions for s in ph.supercells_with_displacements])
        ph.forces = -np.einsum("iajb,njb->nia", fc.transpose(0, 2, 1, 3), u)
        ph.save(folder / "phonopy_params.yaml")
        return
    ph.force_constants = fc[ph.primitive.p2s_map] if kind != "yaml_full" else fc
    ph.save(folder / "phonopy_params.yaml", settings={"force_constants": kind.startswith("yaml")})
    if kind == "FORCE_CONSTANTS":
        write_FORCE_CONSTANTS(ph.force_constants, filename=folder / "FORCE_CONSTANTS", p2s_map=ph.primitive.p2s_map)
    elif kind == "fc2.hdf5":
        write_force_constants_to_hdf5(ph.force_constants, filename=folder / "fc2.hdf5", p2s_map=ph.primitive.p2s_map)


def _counting_yaml_load(monkeypatch):
    calls = []
    load = yaml.load

    def counted(stream, Loader=None, **kw):
        calls.append(Loader)
        return load(stream, Loader=Loader, **kw)
    monkeypatch.setattr(yaml, "load", counted)
    return calls


@pytest.mark.parametrize("kind", ["yaml", "yaml_full", "FORCE_CONSTANTS", "fc2.hdf5", "dataset"])
def test_the_yaml_is_parsed_once_and_the_constants_are_phonopys(kind, tmp_path, monkeypatch):
    folder = tmp_path / kind
    _write(kind, folder)
    calls = _counting_yaml_load(monkeypatch)
    fc = ForceConstants.read(folder, "phonopy")
    assert len(calls) == 1, f"the yaml was parsed {len(calls)} times"
    if yaml.__with_libyaml__:
        assert calls[0] is yaml.CSafeLoader                  # PyYAML's C loader where it has one
    fcfile = {"FORCE_CONSTANTS": "FORCE_CONSTANTS", "fc2.hdf5": "fc2.hdf5"}.get(kind)
    ph = phonopy.load(folder / "phonopy_params.yaml", is_nac=False, symmetrize_fc=False, log_level=0,
                      force_constants_filename=str(folder / fcfile) if fcfile else None)
    monkeypatch.undo()
    ours = ForceConstants(np.asarray(ph.force_constants), _crystal(ph.supercell), _crystal(ph.primitive),
                          p2s=np.asarray(ph.primitive.p2s_map))
    assert np.array_equal(fc.compact(), ours.compact())
    assert np.array_equal(fc.supercell.positions, ours.supercell.positions)
    assert np.array_equal(fc.primitive.cell, ours.primitive.cell)
    assert np.abs(fc.compact()).max() > 1.0


def test_born_charges_of_the_yaml_come_from_the_same_parse(tmp_path, monkeypatch):
    folder = tmp_path / "nac"
    folder.mkdir()
    ph = _phonopy()
    ph.force_constants = _full_fc(ph)[ph.primitive.p2s_map]
    born = np.diag([3e-6, 3e-6, 3e-6])[None]          # one atom: neutral charges are zero (to the sum rule's 1e-5 e)
    ph.nac_params = {"born": born, "dielectric": np.eye(3) * 4.0, "factor": 14.4}
    ph.save(folder / "phonopy_params.yaml", settings={"force_constants": True})
    calls = _counting_yaml_load(monkeypatch)
    fc = ForceConstants.read(folder, "phonopy")
    assert len(calls) == 1
    assert np.allclose(fc.born, born) and np.allclose(fc.epsilon, 4 * np.eye(3)) and fc.nac_factor == 14.4


def _crystal(atoms):
    from trajmodes.io.forceconstants.phonopy import crystal_from_phonopy
    return crystal_from_phonopy(atoms)


def _type2(folder):
    """A phonopy yaml with a dataset of random displacements (type 2) and its forces."""
    folder.mkdir()
    ph = _phonopy()
    fc = _full_fc(ph)
    rng = np.random.default_rng(3)
    u = rng.normal(scale=0.03, size=(3, len(ph.supercell), 3))
    ph.dataset = {"displacements": u, "forces": -np.einsum("iajb,njb->nia", fc.transpose(0, 2, 1, 3), u)}
    ph.save(folder / "phonopy_params.yaml")
    return folder / "phonopy_params.yaml"


@pytest.mark.parametrize("kind", ["yaml", "yaml_full", "dataset", "type2"])
def test_vector_blocks_read_by_numpy_are_what_pyyaml_reads(kind, tmp_path, monkeypatch):
    """The long blocks of vectors read by numpy give the same data, bit for bit, as PyYAML's parse of the whole
    file; and they are read by numpy (the data as arrays; blocks from 16 vectors on, for this small supercell)."""
    from trajmodes.io.forceconstants import phonopy_yaml
    from trajmodes.io.forceconstants.phonopy_yaml import load_yaml_with_vector_blocks
    monkeypatch.setattr(phonopy_yaml, "MIN_VECTORS", 16)
    if kind == "type2":
        path = _type2(tmp_path / kind)
    else:
        _write(kind, tmp_path / kind)
        path = tmp_path / kind / "phonopy_params.yaml"
    fast, blocks = load_yaml_with_vector_blocks(path)
    with open(path) as f:
        slow = yaml.load(f, Loader=yaml.SafeLoader)
    assert blocks >= 1

    def same(a, b):
        if isinstance(a, np.ndarray):
            return np.array_equal(a, np.asarray(b, dtype=float))
        if isinstance(a, dict):
            return isinstance(b, dict) and a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
        if isinstance(a, list):
            return isinstance(b, list) and len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
        return a == b and type(a) is type(b)
    assert same(fast, slow)


def test_blocks_that_are_not_phonopys_are_left_to_pyyaml(tmp_path):
    """A block of vectors that ends where its list goes on (another item after it), vectors with a comment, a
    ragged list of lists: PyYAML reads those, with the same data as without the fast path."""
    from trajmodes.io.forceconstants.phonopy_yaml import load_yaml_with_vector_blocks
    vec = "\n".join(f"  - [ {i}.5, -{i}.25, 1.0e-3 ]" for i in range(80))
    texts = {
        "list goes on": f"a:\n{vec}\n  - 7\nb: 1\n",
        "comment": f"a:\n{vec}\n  - [ 1.0, 2.0, 3.0 ] # c\nb: 1\n",
        "ragged": "a:\n  - # 1\n" + "\n".join(f"    - [ {i}.0, 0.0, 0.0 ]" for i in range(70)) + "\n  - # 2\n"
                  "    - [ 1.0, 2.0, 3.0 ]\nb: 1\n",
        "not floats in YAML 1.1": "a:\n" + "\n".join(f"  - [ {i}.0, 1e-3, 1.5e3 ]" for i in range(70)) + "\n",
        "four numbers": "a:\n" + "\n".join(f"  - [ {i}.0, 0.0, 0.0, 1.0 ]" for i in range(70)) + "\n",
    }
    for name, text in texts.items():
        path = tmp_path / "x.yaml"
        path.write_text(text)
        data, blocks = load_yaml_with_vector_blocks(path)
        assert blocks == 0, name
        assert data == yaml.safe_load(text), name
    path.write_text(f"a:\n{vec}\nb: 1\n")                   # the plain case is taken, with the same numbers
    data, blocks = load_yaml_with_vector_blocks(path)
    assert blocks == 1 and np.array_equal(data["a"], yaml.safe_load(path.read_text())["a"]) and data["b"] == 1
