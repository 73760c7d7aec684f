"""``ForceConstants.read(path, format="gpumd")`` of a file that is not one of GPUMD's (a trajmodes netCDF file, as
``trajmodes fit`` writes ``fc.nc``) names that file and what the format needs (the folder of ``model.xyz``,
``clusters_order2.in`` and ``fcs_order2.in``), instead of a missing ``model.xyz`` beside it; a GPUMD folder that
lacks one of its files names the path given and the file missing.

The files are written by the writers of the formats themselves (``ForceConstants.write``: trajmodes' netCDF, and
GPUMD's folder exactly as GPUMD reads it).
"""
from __future__ import annotations

import pytest

from tests.io.test_fc_formats import _case
from trajmodes import ForceConstants
from trajmodes.errors import ForceConstantsFormatError


def test_a_netcdf_file_read_as_gpumd_is_named_with_what_gpumd_needs(tmp_path):
    fc = _case("gaas_diag")
    path = tmp_path / "plain.nc"
    fc.write(path)
    with pytest.raises(ForceConstantsFormatError) as exc:
        ForceConstants.read(path, format="gpumd")
    msg = str(exc.value)
    assert msg.startswith(str(path)) and "model.xyz" in msg and "clusters_order2.in" in msg
    assert "folder" in msg and "without format='gpumd'" in msg
    ForceConstants.read(path)                                    # its own format reads it


def test_a_gpumd_folder_missing_a_file_names_it_and_the_path_given(tmp_path):
    fc = _case("gaas_diag")
    fc.write(tmp_path / "g", "gpumd")
    ForceConstants.read(tmp_path / "g" / "fcs_order2.in", "gpumd")          # a file of the folder reads the folder
    (tmp_path / "g" / "clusters_order2.in").unlink()
    with pytest.raises(FileNotFoundError) as exc:
        ForceConstants.read(tmp_path / "g" / "model.xyz", "gpumd")
    msg = str(exc.value)
    assert msg.startswith(str(tmp_path / "g" / "model.xyz")) and "no clusters_order2.in in" in msg
