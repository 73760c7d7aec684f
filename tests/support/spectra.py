"""Datasets shaped like trajmodes.project's output, from given mode amplitudes."""
import dask.array as da
import numpy as np
import xarray as xr

def modes_dataset(qdot, dt, chunk=None, harmonic=None):
    """A dataset shaped like trajmodes.project's output from a (time, q, branch) complex array."""
    nt, nq, nb = qdot.shape
    data = da.from_array(qdot, chunks=(chunk or nt, nq, nb))
    coords = {"time": ("time", np.arange(nt) * dt, {"units": "ps"}),
              "qpoint": (("q", "reduced"), np.zeros((nq, 3)))}
    if harmonic is not None:
        coords["frequency_harmonic"] = (("q", "branch"), np.asarray(harmonic, float), {"units": "THz"})
    return xr.Dataset({"Qdot": (("time", "q", "branch"), data, {"units": "amu^1/2*A/ps"}),
                       "Q": (("time", "q", "branch"), data / 1.0)}, coords=coords)


def count_pools(monkeypatch) -> list:
    """The numbers of processes of every pool of worker processes the peak fits start from now on (a list that grows
    as they start)."""
    from trajmodes.modes import peaks
    started, real = [], peaks._worker_pool

    def counted(processes, method):
        started.append(processes)
        return real(processes, method)
    monkeypatch.setattr(peaks, "_worker_pool", counted)
    return started
