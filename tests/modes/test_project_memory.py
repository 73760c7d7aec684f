"""Peak memory of the mode spectra of a projection: bounded by the result (q, branch, frequency) and the memory
budget of one block of q-points, not by the modes x frames of the run (the 864,000-atom case: a run shorter than
one Welch segment held every mode of every frame, (864000, 3, 100) complex, and ran out of memory)."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

#: the child: project a generated fcc Cu run (netCDF) onto the EAM constants, then the spectra of a run shorter than
#: one segment (one periodogram of every mode over the whole run), with the block of q-points held to ``memory``
CHILD = r"""
import json, sys, warnings
warnings.simplefilter("ignore")
import trajmodes
from trajmodes.modes.spectra import mode_spectra
from trajmodes.workflows import project_modes

def status(key):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key):
                return int(line.split()[1]) / 1024.0

t = trajmodes.read(sys.argv[1], chunk_frames=20)
ph, modes = project_modes(t, sys.argv[2])
modes.isel(time=slice(0, 20))["Qdot"].values        # warm up: the projector, lazy imports, allocator arenas
n_modes = modes.sizes["q"] * modes.sizes["branch"]
with open("/proc/self/clear_refs", "w") as f:
    f.write("5")                                    # the peak from here on
start = status("VmRSS:")
kw = {} if sys.argv[3] == "old" else {"memory": 16.0 * n_modes * t.n_frames / 2}
s = mode_spectra(modes, resolution=0.01, **kw)
print(json.dumps(dict(grow_mb=status("VmHWM:") - start, result_mb=s["psd"].nbytes / 2 ** 20,
                      modes_mb=16 * n_modes * t.n_frames / 2 ** 20, blocks=s.attrs.get("q_blocks", 1))))
"""


def _cache(tmp_path, monkeypatch, cells: int, gb: float, frames: int) -> Path:
    """The netCDF cache of a generated fcc Cu dump (``benchmarks/gen_dump.py``, seeded: the same file every time)."""
    sys.path.insert(0, str(ROOT))
    from benchmarks.gen_dump import generate
    import trajmodes
    from trajmodes.io.trajectories import netcdf
    dump, nc = tmp_path / f"cu{cells}.dump", tmp_path / f"cu{cells}.nc"
    generate(str(dump), gb, cells=cells)
    # the cache in rows of the child's 20-frame chunks (read tasks hold whole rows of the cache's chunks, 16 MB of
    # each field by default): what is measured is the spectra's memory, not the reader's rows
    chunks = netcdf.cache_chunks
    with monkeypatch.context() as m:
        m.setattr(netcdf, "cache_chunks", lambda nf, na, **kw: chunks(nf, na, row_bytes=20 * na * 24))
        with pytest.warns(UserWarning):             # no ITEM: TIME: the default timestep, said
            trajmodes.read(str(dump), species=["Cu"])[:frames].to_netcdf(nc)
    return nc


def _run(nc: Path, old: bool = False) -> dict:
    """The child's measurement on the cache ``nc``, in a fresh process."""
    out = subprocess.run([sys.executable, "-c", CHILD, str(nc), str(ROOT / "examples" / "fc" / "cu_eam"),
                          "old" if old else "new"], capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.slow                                   # four fresh processes: 12-14 s on two cores
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="peak memory from /proc/self (Linux)")
def test_spectra_memory_follows_the_result_not_modes_times_frames(tmp_path, monkeypatch):
    """Two runs, 864 atoms x 60 frames and 4000 atoms x 160 frames (12x the modes x frames): the peak grows by
    about the result's arrays (psd, its spread and error: 1/4 of the modes' series each) and the block, half the
    series. Measured: +49 MB for +27 MB of series (the code before held every mode's series and its FFT: +111 MB)."""
    # the lower of two runs each (of the same cache): the peak of the threads varies by 10 MB from run to run beside
    # other work
    small_nc, big_nc = _cache(tmp_path, monkeypatch, 6, 0.012, 60), _cache(tmp_path, monkeypatch, 10, 0.1, 160)
    small = min((_run(small_nc) for _ in range(2)), key=lambda r: r["grow_mb"])
    big = min((_run(big_nc) for _ in range(2)), key=lambda r: r["grow_mb"])
    assert big["blocks"] >= 3
    series = big["modes_mb"] - small["modes_mb"]
    grow = big["grow_mb"] - small["grow_mb"]
    assert grow < 2.2 * series + 10, (small, big)
