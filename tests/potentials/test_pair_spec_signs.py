"""A pair potential written ``STYLE:p1,...,cutoff`` (``trajmodes series --sampling``, ``qha``/``glass --potential``)
whose epsilon, sigma or another parameter is negative or zero (``lj/cut:-0.0104,3.4,8.5``: a sign slipped in) is
refused where it is parsed, naming the option, the parameter and what it must be; before, it was accepted and the
sampling failed later with "imaginary modes"."""
from __future__ import annotations

import pytest

from tests.support.paths import DATA
from trajmodes.cli import main
from trajmodes.potentials.pair import load_potential
from trajmodes.workflows.series import sampling_potential


@pytest.mark.parametrize("spec, words", [
    ("lj/cut:-0.0104,3.4,8.5", ["lj/cut's epsilon is -0.0104 eV", "epsilon (the depth of the well) must be a "
                                "positive number"]),
    ("lj/cut:0.0104,-3.4,8.5", ["lj/cut's sigma is -3.4 A"]),
    ("lj/cut:0.0104,3.4,0", ["lj/cut's cutoff is 0 A"]),
    ("morse:0.34,-1.36,2.87,6.0", ["morse's alpha is -1.36 1/A"]),
    ("buck:1000,0.3,-5,8", ["buck's C is -5 eV A^6", "must be zero or a positive number"]),
    ("lj/cut:nan,3.4,8.5", ["lj/cut's epsilon is nan eV"]),
])
def test_a_negative_parameter_is_refused_naming_it(spec, words):
    with pytest.raises(ValueError) as info:
        load_potential(spec)
    assert all(w in str(info.value) for w in words), str(info.value)
    with pytest.raises(ValueError) as info:
        sampling_potential(spec, ["Ar"])
    assert str(info.value).startswith(f"--sampling {spec}: ") and all(w in str(info.value) for w in words)


def test_accepted_forms_still_read():
    assert load_potential("lj/cut:0.0104,3.4,8.5") is not None
    assert load_potential("buck:1000,0.3,0,8") is not None                  # no dispersion: C = 0


def test_series_refuses_a_negative_epsilon_before_any_fit(tmp_path, capsys):
    code = main(["series", str(DATA / "cu32.extxyz"), "--cutoff2", "3", "--run-temperatures", "300",
                 "--sampling", "lj/cut:-0.0104,3.4,8.5", "-o", str(tmp_path / "s")])
    captured = capsys.readouterr()
    text = captured.out + captured.err
    assert code != 0 and "--sampling lj/cut:-0.0104,3.4,8.5: lj/cut's epsilon is -0.0104 eV" in text
    assert "fitting" not in text and "imaginary" not in text
