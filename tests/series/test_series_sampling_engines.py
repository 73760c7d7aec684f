"""What ``series --sampling`` (``series_of_runs(sampling=...)``) takes: an ASE calculator from Python, and a refusal
that lists every accepted form, the same text as ``--help``."""
from __future__ import annotations

import contextlib
import io
from pathlib import Path

import numpy as np
import pytest

from trajmodes.workflows.series import SAMPLING_FORMS, sampling_potential, series_of_runs

DATA = Path(__file__).resolve().parents[1] / "data"


@pytest.mark.filterwarnings("ignore:the error of the fit still grows")
def test_an_ase_calculator_samples_beside_the_run():
    """fcc Cu (tests/data/cu32.extxyz, 300 K) with ASE's EMT: the sampling runs through AseEngine, classical, and the
    dataset names the calculator."""
    pytest.importorskip("ase")
    import trajmodes
    from ase.calculators.emt import EMT
    lines = []
    res = series_of_runs([trajmodes.read(str(DATA / "cu32.extxyz"), reference=str(DATA / "cu32.data"))], sampling=EMT(), cutoff2=3.0, mesh=(4, 4, 4),
                         n_resamples=20, error_model="bootstrap", progress=lines.append,
                         sampling_options=dict(n_samples=8, max_iter=2, n_average=1, n_resamples=10))
    ds = res.dataset
    assert ds.attrs["sampling_potential"] == "ASE EMT calculator"
    assert list(ds.sampling_n_beads.values) == [0] and res.samplings[0].occupation == "classical"
    nu = ds.sampling_frequency.values[0]
    assert np.isfinite(nu).all() and nu.max() > 4.0                     # Cu's optical-free bands reach 7 THz
    assert any("self-consistent sampling of ASE EMT calculator" in line and "classical" in line for line in lines)


def test_an_object_that_is_no_potential_is_refused_with_what_is_taken():
    with pytest.raises(TypeError, match="EAM file"):
        series_of_runs([], sampling=object())


@pytest.mark.parametrize("spec, error", [("missing.eam.alloy", FileNotFoundError), ("tersoff:1,2,3", ValueError),
                                         ("notes.txt", FileNotFoundError)])
def test_the_refusal_lists_every_form_help_lists(spec, error, tmp_path):
    """The user's refusal listed the pair and .sw forms and left out EAM, which --help lists: both print
    SAMPLING_FORMS now."""
    with pytest.raises(error) as e:
        sampling_potential(spec, ["Cu"])
    assert SAMPLING_FORMS in str(e.value) and "EAM" in str(e.value)
    other = tmp_path / "notes.txt"
    other.write_text("no potential\n")
    with pytest.raises(ValueError, match="EAM file"):
        sampling_potential(str(other), ["Cu"])


def test_help_and_the_pair_styles_are_the_same_text():
    from trajmodes.cli import main
    from trajmodes.potentials.pair import PAIR_STYLES
    for style, (_, names) in PAIR_STYLES.items():
        assert f"{style}:{','.join(names)},cutoff" in SAMPLING_FORMS
    out = io.StringIO()
    with contextlib.redirect_stdout(out), pytest.raises(SystemExit):
        main(["series", "--help"])
    assert " ".join(SAMPLING_FORMS.split()) in " ".join(out.getvalue().split())
