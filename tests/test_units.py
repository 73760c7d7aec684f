"""Unit conversion factors against independent values."""
import math

import pytest

from trajmodes.units import conversion


def test_metal_is_identity():
    assert conversion("metal").is_identity


def test_real():
    c = conversion("real")
    assert c.time == 1e-3 and c.velocity == 1e3
    assert c.energy == pytest.approx(0.0433641, rel=1e-6)       # 1 kcal/mol in eV
    assert c.force == pytest.approx(0.0433641, rel=1e-6)


def test_si():
    c = conversion("si")
    assert c.length == 1e10 and c.velocity == pytest.approx(0.01)
    assert c.force == pytest.approx(6.241509074e8, rel=1e-9)    # 1 N = 1 J/m in eV/A
    assert c.mass == pytest.approx(6.02214076e26, rel=1e-8)     # 1 kg in amu


def test_electron():
    c = conversion("electron")
    assert c.length == pytest.approx(0.529177210903)
    assert c.force == pytest.approx(51.422067476, rel=1e-9)     # Hartree/Bohr in eV/A (CODATA 2018)
    # LAMMPS' electron velocity unit is Bohr per 1.03275e-15 s
    assert c.velocity == pytest.approx(0.529177210903 / 1.03275e-3, rel=1e-12)


def test_lj_needs_scales_and_time_unit():
    with pytest.raises(ValueError, match="lj_scales"):
        conversion("lj")
    c = conversion("lj", {"sigma": 3.4, "epsilon": 0.0104, "mass": 39.948})   # argon
    tau_s = 3.4e-10 * math.sqrt(39.948 * 1.66053906660e-27 / (0.0104 * 1.602176634e-19))
    assert c.time == pytest.approx(tau_s * 1e12, rel=1e-12)      # tau = sigma sqrt(m/eps), ~2.145 ps
    assert c.time == pytest.approx(2.145, rel=1e-3)
    assert c.velocity == pytest.approx(3.4 / c.time)


def test_unknown_style():
    with pytest.raises(ValueError, match="unknown unit style"):
        conversion("cgs-ish")
