"""The folder `trajmodes fit -o` writes is read as its constants (`fc.nc`), as a phonopy or TDEP folder is: before,
`trajmodes anharmonic <fit folder>` answered "no force-constant files in it"."""
import shutil

import numpy as np

from tests.support.paths import DATA
from trajmodes.forceconstants.formats import detect_fc_format
from trajmodes.forceconstants.model import ForceConstants


def test_the_folder_of_a_fit_is_read_as_its_fc_nc(tmp_path):
    source = DATA / "phono3py_quartz" / "fc.nc"
    shutil.copy(source, tmp_path / "fc.nc")
    (tmp_path / "fc.png").write_bytes(b"")                          # what else the fit writes there
    assert detect_fc_format(tmp_path) == "netcdf"
    folder, file = ForceConstants.read(tmp_path), ForceConstants.read(source)
    np.testing.assert_array_equal(folder.fc2, file.fc2)
    np.testing.assert_array_equal(folder.fc3_sparse.blocks, file.fc3_sparse.blocks)
