"""phono3py data where one displaced supercell's forces are missing are refused naming that supercell and the file
(and line): a ``phono3py_params.yaml`` of random displacements whose forces lack one supercell's block, a
``FORCES_FC3`` without one ``# File: k`` block beside its ``phono3py_disp.yaml``, and a six-column ``FORCES_FC3``
without one supercell's rows. Before, the first said "forces of shape (99, 64, 3) for displacements of shape
(100, 64, 3)", the second "110 blocks, but ... lists 111", the third named a displacement that does not match.

The files are phono3py's own: its MgO test file (tests/data/phono3py_mgo), the Si dataset of tests/data, and a
type-2 ``FORCES_FC3`` and ``phono3py_disp.yaml`` written by phono3py and phonopy from the MgO file; one supercell's
part is cut out of each as it stands.
"""
from __future__ import annotations

import lzma
import shutil

import pytest

from tests.support.paths import DATA
from trajmodes.errors import TrajectoryFormatError
from trajmodes.io.forceconstants.displacement_sets import parse_displacement_dataset

MGO = DATA / "phono3py_mgo" / "phono3py_params_MgO-222rd-444rd.yaml.xz"
SI = DATA / "phono3py_si_pbesol"


def _refused(path, *words):
    with pytest.raises(TrajectoryFormatError) as info:
        parse_displacement_dataset(path)
    msg = str(info.value)
    assert all(w in msg for w in words), msg
    return msg


def test_params_yaml_without_one_supercells_forces_names_it(tmp_path):
    lines = lzma.open(MGO, "rt").read().split("\n")
    at = lines.index("dataset:")
    forces = lines.index("  forces:", at)
    b = lines.index("  - # 57", forces)
    e = lines.index("  - # 58", b)
    path = tmp_path / "phono3py_params.yaml"
    path.write_text("\n".join(lines[:b] + lines[e:]))
    msg = _refused(path, f"{path}, line ", "the forces of supercell 57 of its 100 displaced supercells are missing",
                   "Add the forces of supercell 57")
    assert "shape" not in msg
    assert parse_displacement_dataset(path, harmonic=True).forces.shape == (4, 512, 3)   # the fc2 data are whole


def test_forces_fc3_without_one_file_block_names_it(tmp_path):
    shutil.copy(SI / "phono3py_disp.yaml", tmp_path)
    lines = (SI / "FORCES_FC3").read_text().split("\n")
    b, e = lines.index("# File: 57"), lines.index("# File: 58")
    (tmp_path / "FORCES_FC3").write_text("\n".join(lines[:b] + lines[e:]))
    _refused(tmp_path / "phono3py_disp.yaml", f"{tmp_path / 'FORCES_FC3'}, line {lines.index('# File: 56') + 1}:",
             "the forces of supercell 57 of the 111 that phono3py_disp.yaml lists are missing: no '# File: 57' block",
             "'# File: 56'", "disp-00057")


def test_six_column_forces_fc3_without_one_supercell_names_it(tmp_path):
    phono3py = pytest.importorskip("phono3py")
    from phonopy.file_IO import write_FORCE_SETS
    params = tmp_path / "phono3py_params.yaml"
    params.write_text(lzma.open(MGO, "rt").read())
    ph3 = phono3py.load(str(params), produce_fc=False, log_level=0)
    folder = tmp_path / "run"
    folder.mkdir()
    write_FORCE_SETS(ph3.dataset, filename=str(folder / "FORCES_FC3"))   # type 2: displacement and force columns
    ph3.save(str(folder / "phono3py_disp.yaml"), settings={"force_sets": False})
    rows = (folder / "FORCES_FC3").read_text().split("\n")
    (folder / "FORCES_FC3").write_text("\n".join(rows[:56 * 64] + rows[57 * 64:]))
    _refused(folder / "phono3py_disp.yaml", f"{folder / 'FORCES_FC3'}, line {56 * 64 + 1}:",
             "the forces of supercell 57 of the 100 that phono3py_disp.yaml lists are missing",
             "displacements of its supercell 58")
