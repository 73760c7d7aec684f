"""Extended XYZ with a committee of learned potentials: every member's forces (one 3M-column array, or forces_0 ...
forces_{M-1}) and a per-atom or per-component force uncertainty, read lazily through the FrameSource, and the
refusals of a committee that changes or is written wrongly."""
from __future__ import annotations

import numpy as np
import pytest

from trajmodes.errors import TrajectoryFormatError
from trajmodes.io.trajectories.xyz import XYZSource

M, N = 3, 2
RNG = np.random.default_rng(1)
POS = np.array([[0.0, 0.0, 0.0], [1.5, 1.5, 1.5]])
MEMBERS = RNG.normal(size=(2, M, N, 3)).round(4)               # frames, members, atoms, 3
STD1 = RNG.uniform(0.05, 0.2, (2, N)).round(4)
STD3 = RNG.uniform(0.05, 0.2, (2, N, 3)).round(4)


def _write(path, layout: str, per_component: bool, frames=2, members=(M, M), forces: bool = False):
    std = STD3 if per_component else STD1
    out = []
    for k in range(frames):
        m = members[k]
        if layout == "array":
            cols = f"forces_committee:R:{3 * m}"
        else:
            cols = ":".join(f"forces_{i}:R:3" for i in range(m))
        props = "species:S:1:pos:R:3" + (":forces:R:3" if forces else "") + f":{cols}:force_std:R:{3 if per_component else 1}"
        out += [str(N), f'Lattice="3 0 0 0 3 0 0 0 3" Properties={props} pbc="T T T" time={0.01 * k}']
        for i, sp in enumerate(("Na", "Cl")):
            vals = list(POS[i] + 0.01 * k)
            if forces:
                vals += list(MEMBERS[k, :, i].mean(axis=0) + 1.0)
            vals += list(MEMBERS[k, :m, i].ravel()) if m <= M else list(np.tile(MEMBERS[k, 0, i], m))
            vals += list(np.atleast_1d(std[k, i]))
            out.append(sp + " " + " ".join(f"{v:.6f}" for v in vals))
    path.write_text("\n".join(out) + "\n")
    return path


@pytest.mark.parametrize("layout", ["array", "columns"])
@pytest.mark.parametrize("per_component", [False, True])
def test_committee_and_uncertainty_read(tmp_path, layout, per_component):
    src = XYZSource(_write(tmp_path / "c.xyz", layout, per_component))
    assert src.committee_size == M
    assert src.extra_shapes["committee_forces"] == (M, N, 3)
    assert src.extra_shapes["force_std"] == ((N, 3) if per_component else (N,))
    d = src.read([0, 1], fields=("positions", "forces", "committee_forces", "force_std"))
    np.testing.assert_allclose(d["committee_forces"], MEMBERS, atol=1e-12)
    np.testing.assert_allclose(d["forces"], MEMBERS.mean(axis=1), atol=1e-12)     # no forces column: the mean
    np.testing.assert_allclose(d["force_std"], STD3 if per_component else STD1, atol=1e-12)
    plain = src.read([1], fields=("positions", "forces"))
    assert "force_std" not in plain                                  # parsed only where asked for
    np.testing.assert_allclose(plain["forces"], MEMBERS[1:].mean(axis=1), atol=1e-12)
    assert set(src.read([0], fields=("positions",))) == {"positions", "cells", "origins"}


def test_forces_column_is_kept_beside_the_committee(tmp_path):
    src = XYZSource(_write(tmp_path / "f.xyz", "array", False, forces=True))
    d = src.read([0, 1])
    np.testing.assert_allclose(d["forces"], MEMBERS.mean(axis=1) + 1.0, atol=1e-6)   # written to 6 digits
    np.testing.assert_allclose(d["committee_forces"], MEMBERS, atol=1e-12)
    plain = src.read([1], fields=("positions", "forces"))
    assert "committee_forces" not in plain and "force_std" not in plain   # the members parsed only where asked for


def test_variance_column_is_read_as_its_square_root(tmp_path):
    p = tmp_path / "v.xyz"
    _write(p, "array", True)
    p.write_text(p.read_text().replace("force_std:R:3", "forces_var:R:3"))
    d = XYZSource(p).read([0])
    np.testing.assert_allclose(d["force_std"], np.sqrt(STD3[:1]), atol=1e-12)


def test_a_committee_that_changes_its_members_is_refused(tmp_path):
    p = _write(tmp_path / "m.xyz", "columns", False, members=(M, M - 1))
    with pytest.raises(TrajectoryFormatError) as exc:
        XYZSource(p)
    msg = str(exc.value)
    assert "committee of 2 members" in msg and "frame 0's carry 3" in msg
    assert exc.value.frame == 1 and exc.value.line == 6                   # frame 1's comment line


@pytest.mark.parametrize("props, what", [
    ("species:S:1:pos:R:3:forces_committee:R:8", "not 3 columns per member"),
    ("species:S:1:pos:R:3:forces_0:R:3:forces_2:R:3", "numbered [0, 2]"),
    ("species:S:1:pos:R:3:forces_0:R:3:forces_committee:R:6", "comes with other member columns"),
    ("species:S:1:pos:R:3:forces_0:R:3:forces_1:R:3:force_std:R:2", "1 column (per atom) or 3"),
])
def test_a_committee_written_wrongly_is_refused(tmp_path, props, what):
    ntok = sum(int(n) for n in props.split(":")[2::3]) - 1
    rows = [f"{sp} " + " ".join(["0.1"] * ntok) for sp in ("Na", "Cl")]
    p = tmp_path / "w.xyz"
    p.write_text("\n".join([str(N), f'Lattice="3 0 0 0 3 0 0 0 3" Properties={props}', *rows]) + "\n")
    with pytest.raises(TrajectoryFormatError) as exc:
        XYZSource(p)
    assert what in str(exc.value) and exc.value.frame == 0 and exc.value.line == 2
