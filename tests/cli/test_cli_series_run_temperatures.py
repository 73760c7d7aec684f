"""`trajmodes series A B --run-temperatures 600` labelled both runs 600 K without a word: one temperature per run,
else a refusal that names the counts, before any run is read."""
from __future__ import annotations

import pytest

from tests.support.paths import DATA
from trajmodes.cli import main

RUNS = [str(DATA / "cu32_xu.lammpstrj"), str(DATA / "cu32_x_image.lammpstrj")]


@pytest.mark.parametrize("given", [["600"], ["300", "600", "900"]])
def test_one_run_temperature_per_run(tmp_path, capsys, given):
    out = tmp_path / "out"
    assert main(["series", *RUNS, "--run-temperatures", *given, "-o", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert f"give one temperature (--run-temperatures) per run (2 runs), not {len(given)}" in err
    assert not out.exists()
