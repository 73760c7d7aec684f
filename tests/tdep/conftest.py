"""Fixtures shared by the tests of TDEP's thermal-conductivity programs."""
from __future__ import annotations

from pathlib import Path

import pytest

from trajmodes import ForceConstants
from tests.io.test_tdep_polar import TDEP_MASS, with_masses

#: TDEP's fitted MgO constants (tests/data/tdep_thermal_conductivity/README.md)
TDEP_RUN = Path(__file__).parent.parent / "data" / "tdep_thermal_conductivity" / "tdep_run"


@pytest.fixture(scope="module")
def mgo() -> ForceConstants:
    """TDEP's fitted fc2 (polar) and fc3 with TDEP's masses (its frequencies are those of its own mass table)."""
    fc = ForceConstants.read(TDEP_RUN, "tdep")
    out = with_masses(fc, TDEP_MASS)
    out.fc3_sparse = fc.fc3_sparse
    return out
