"""The special points and paths of W. Setyawan and S. Curtarolo, Comput. Mater. Sci. 49, 299 (2010), for the 14
Bravais lattices and their variants, tabulated from the paper.

Every lattice is given by its conventional parameters in the paper's convention (lengths in Å, angles in
degrees; :func:`trajmodes.lattice.paths.brillouin_zone_path` brings a crystal into it) and its primitive cell is
``PRIMITIVE[lattice] @ conventional`` (rows); the points are reduced in the reciprocal basis of that primitive cell
(no 2 pi), for TRI in the reduced reciprocal basis itself. Labels are ASCII: 'G' for Gamma, 'S' for Sigma (BCT2),
digits for subscripts ('Z1' for Z_1).
"""
from __future__ import annotations

import numpy as np

__all__ = ["PRIMITIVE", "lattice_points", "triclinic_points", "VARIANT_TOLERANCE"]

_H = 0.5
_FACE = np.array([[0, _H, _H], [_H, 0, _H], [_H, _H, 0]])
_BODY = np.array([[-_H, _H, _H], [_H, -_H, _H], [_H, _H, -_H]])

#: lattice -> M, the primitive cell as rows M @ (a, b, c) of the conventional cell (the paper's primitive vectors)
PRIMITIVE = {
    "CUB": np.eye(3), "FCC": _FACE, "BCC": _BODY, "TET": np.eye(3), "BCT": _BODY, "ORC": np.eye(3),
    "ORCF": _FACE, "ORCI": _BODY, "ORCC": np.array([[_H, -_H, 0], [_H, _H, 0], [0, 0, 1]]), "HEX": np.eye(3),
    "RHL": np.eye(3), "MCL": np.eye(3), "MCLC": np.array([[_H, _H, 0], [-_H, _H, 0], [0, 0, 1]]), "TRI": np.eye(3),
}

#: relative tolerance of the equalities that separate variants (ORCF3, MCLC2, MCLC4, TRI2a/b)
VARIANT_TOLERANCE = 1e-5


def _cubic(lattice):
    if lattice == "CUB":
        return "CUB", dict(M=(_H, _H, 0), R=(_H, _H, _H), X=(0, _H, 0)), "GXMGRX,MR"
    if lattice == "FCC":
        return "FCC", dict(K=(3 / 8, 3 / 8, 3 / 4), L=(_H, _H, _H), U=(5 / 8, 1 / 4, 5 / 8), W=(_H, 1 / 4, 3 / 4),
                           X=(_H, 0, _H)), "GXWKGLUWLK,UX"
    return "BCC", dict(H=(_H, -_H, _H), N=(0, 0, _H), P=(1 / 4, 1 / 4, 1 / 4)), "GHNGPH,PN"


def _tetragonal(lattice, a, c):
    if lattice == "TET":
        return "TET", dict(A=(_H, _H, _H), M=(_H, _H, 0), R=(0, _H, _H), X=(0, _H, 0), Z=(0, 0, _H)), \
            "GXMGZRAZ,XR,MA"
    if c < a:
        e = (1 + c * c / (a * a)) / 4
        return "BCT1", dict(M=(-_H, _H, _H), N=(0, _H, 0), P=(1 / 4, 1 / 4, 1 / 4), X=(0, 0, _H), Z=(e, e, -e),
                            Z1=(-e, 1 - e, e)), "GXMGZPNZ1M,XP"
    e, z = (1 + a * a / (c * c)) / 4, a * a / (2 * c * c)
    return "BCT2", dict(N=(0, _H, 0), P=(1 / 4, 1 / 4, 1 / 4), S=(-e, e, e), S1=(e, 1 - e, -e), X=(0, 0, _H),
                        Y=(-z, z, _H), Y1=(_H, _H, -z), Z=(_H, _H, -_H)), "GXYSGZS1NPY1Z,XP"


def _orthorhombic(lattice, a, b, c):
    a2, b2, c2 = a * a, b * b, c * c
    if lattice == "ORC":
        return "ORC", dict(R=(_H, _H, _H), S=(_H, _H, 0), T=(0, _H, _H), U=(_H, 0, _H), X=(_H, 0, 0),
                           Y=(0, _H, 0), Z=(0, 0, _H)), "GXSYGZURTZ,YT,UX,SR"
    if lattice == "ORCF":
        d = 1 - a2 / b2 - a2 / c2                     # a^2 (1/a^2 - 1/b^2 - 1/c^2)
        if d > -VARIANT_TOLERANCE:
            z, e = (1 + a2 / b2 - a2 / c2) / 4, (1 + a2 / b2 + a2 / c2) / 4
            pts = dict(A=(_H, _H + z, z), A1=(_H, _H - z, 1 - z), L=(_H, _H, _H), T=(1, _H, _H), X=(0, e, e),
                       X1=(1, 1 - e, 1 - e), Y=(_H, 0, _H), Z=(_H, _H, 0))
            if d < VARIANT_TOLERANCE:
                return "ORCF3", pts, "GYTZGXA1Y,XAZ,LG"
            return "ORCF1", pts, "GYTZGXA1Y,TX1,XAZ,LG"
        e = (1 + a2 / b2 - a2 / c2) / 4
        f = (1 + c2 / b2 - c2 / a2) / 4
        d = (1 + b2 / a2 - b2 / c2) / 4
        return "ORCF2", dict(C=(_H, _H - e, 1 - e), C1=(_H, _H + e, e), D=(_H - d, _H, 1 - d), D1=(_H + d, _H, d),
                             H=(1 - f, _H - f, _H), H1=(f, _H + f, _H), L=(_H, _H, _H), X=(0, _H, _H),
                             Y=(_H, 0, _H), Z=(_H, _H, 0)), "GYCDXGZD1HC,C1Z,XH1,HY,LG"
    if lattice == "ORCI":
        z, e = (1 + a2 / c2) / 4, (1 + b2 / c2) / 4
        d, m = (b2 - a2) / (4 * c2), (a2 + b2) / (4 * c2)
        return "ORCI", dict(L=(-m, m, _H - d), L1=(m, -m, _H + d), L2=(_H - d, _H + d, -m), R=(0, _H, 0),
                            S=(_H, 0, 0), T=(0, 0, _H), W=(1 / 4, 1 / 4, 1 / 4), X=(-z, z, z), X1=(z, 1 - z, -z),
                            Y=(e, -e, e), Y1=(1 - e, e, -e), Z=(_H, _H, -_H)), "GXLTWRX1ZGYSW,L1Y,Y1Z"
    z = (1 + a2 / b2) / 4
    return "ORCC", dict(A=(z, z, _H), A1=(-z, 1 - z, _H), R=(0, _H, _H), S=(0, _H, 0), T=(-_H, _H, _H),
                        X=(z, z, 0), X1=(-z, 1 - z, 0), Y=(-_H, _H, 0), Z=(0, 0, _H)), "GXSRAZGYX1A1TY,ZT"


def _hexagonal(lattice, alpha):
    if lattice == "HEX":
        t = 1 / 3
        return "HEX", dict(A=(0, 0, _H), H=(t, t, _H), K=(t, t, 0), L=(_H, 0, _H), M=(_H, 0, 0)), "GMKGALHA,LM,KH"
    ca = np.cos(np.radians(alpha))
    if alpha < 90:
        e = (1 + 4 * ca) / (2 + 4 * ca)
        n = 3 / 4 - e / 2
        return "RHL1", dict(B=(e, _H, 1 - e), B1=(_H, 1 - e, e - 1), F=(_H, _H, 0), L=(_H, 0, 0), L1=(0, 0, -_H),
                            P=(e, n, n), P1=(1 - n, 1 - n, 1 - e), P2=(n, n, e - 1), Q=(1 - n, n, 0),
                            X=(n, 0, -n), Z=(_H, _H, _H)), "GLB1,BZGX,QFP1Z,LP"
    e = 1 / (2 * np.tan(np.radians(alpha) / 2) ** 2)
    n = 3 / 4 - e / 2
    return "RHL2", dict(F=(_H, -_H, 0), L=(_H, 0, 0), P=(1 - n, -n, 1 - n), P1=(n, n - 1, n - 1), Q=(e, e, e),
                        Q1=(1 - e, -e, -e), Z=(_H, -_H, _H)), "GPZQGFP1Q1LZ"


def _monoclinic(lattice, a, b, c, alpha):
    ca, sa = np.cos(np.radians(alpha)), np.sin(np.radians(alpha))
    a2, b2, s2 = a * a, b * b, sa * sa
    if lattice == "MCL":
        e = (1 - b * ca / c) / (2 * s2)
        n = _H - e * c * ca / b
        return "MCL", dict(A=(_H, _H, 0), C=(0, _H, _H), D=(_H, 0, _H), D1=(_H, 0, -_H), E=(_H, _H, _H),
                           H=(0, e, 1 - n), H1=(0, 1 - e, n), H2=(0, e, -n), M=(_H, e, 1 - n), M1=(_H, 1 - e, n),
                           M2=(_H, e, -n), X=(0, _H, 0), Y=(0, 0, _H), Y1=(0, 0, -_H), Z=(_H, 0, 0)), \
            "GYHCEM1AXH1,MDZ,YD"
    conv = np.array([[a, 0, 0], [0, b, 0], [0, c * ca, c * sa]])
    rec = np.linalg.inv(PRIMITIVE["MCLC"] @ conv).T
    cos_kgamma = rec[0] @ rec[1] / (np.linalg.norm(rec[0]) * np.linalg.norm(rec[1]))
    common = dict(N=(_H, 0, 0), N1=(0, -_H, 0), M=(_H, 0, _H), Z=(0, 0, _H))
    if cos_kgamma <= VARIANT_TOLERANCE:                          # k_gamma >= 90 degrees: MCLC1, MCLC2
        z = (2 - b * ca / c) / (4 * s2)
        e = _H + 2 * z * c * ca / b
        p = 3 / 4 - a2 / (4 * b2 * s2)
        f = p + (3 / 4 - p) * b * ca / c
        pts = dict(common, F=(1 - z, 1 - z, 1 - e), F1=(z, z, e), F2=(-z, -z, 1 - e), F3=(1 - z, -z, 1 - e),
                   I=(f, 1 - f, _H), I1=(1 - f, f - 1, _H), L=(_H, _H, _H), X=(1 - p, p - 1, 0), X1=(p, 1 - p, 0),
                   X2=(p - 1, -p, 0), Y=(_H, _H, 0), Y1=(-_H, -_H, 0))
        if cos_kgamma < -VARIANT_TOLERANCE:
            return "MCLC1", pts, "GYFLI,I1ZF1,YX1,XGN,MG"
        return "MCLC2", pts, "GYFLI,I1ZF1,NGM"
    x = b * ca / c + b2 * s2 / a2
    y_points = lambda m, d: dict(Y=(m, m, d), Y1=(1 - m, -m, -d), Y2=(-m, -m, -d), Y3=(m, m - 1, d))  # noqa: E731
    if x < 1 + VARIANT_TOLERANCE:                                 # MCLC3, MCLC4
        m = (1 + b2 / a2) / 4
        d = b * c * ca / (2 * a2)
        z = m - 1 / 4 + (1 - b * ca / c) / (4 * s2)
        e = _H + 2 * z * c * ca / b
        f, p = 1 + z - 2 * m, e - 2 * d
        pts = dict(common, **y_points(m, d), F=(1 - f, 1 - f, 1 - p), F1=(f, f - 1, p), F2=(1 - f, -f, 1 - p),
                   H=(z, z, e), H1=(1 - z, -z, 1 - e), H2=(-z, -z, 1 - e), I=(_H, -_H, _H), X=(_H, -_H, 0))
        if x < 1 - VARIANT_TOLERANCE:
            return "MCLC3", pts, "GYFHZIF1,H1Y1XGN,MG"
        return "MCLC4", pts, "GYFHZI,H1Y1XGN,MG"
    z = (b2 / a2 + (1 - b * ca / c) / s2) / 4
    e = _H + 2 * z * c * ca / b
    m = e / 2 + b2 / (4 * a2) - b * c * ca / (2 * a2)
    n = 2 * m - z
    w = (4 * n - 1 - b2 * s2 / a2) * c / (2 * b * ca)
    d = z * c * ca / b + w / 2 - 1 / 4
    r = 1 - z * a2 / b2
    return "MCLC5", dict(common, **y_points(m, d), F=(n, n, w), F1=(1 - n, 1 - n, 1 - w), F2=(n, n - 1, w),
                         H=(z, z, e), H1=(1 - z, -z, 1 - e), H2=(-z, -z, 1 - e), I=(r, 1 - r, _H),
                         I1=(1 - r, r - 1, _H), L=(_H, _H, _H), X=(_H, -_H, 0)), "GYFLI,I1ZHF1,H1Y1XGN,MG"


def lattice_points(lattice: str, a: float, b: float | None = None, c: float | None = None,
                   alpha: float | None = None):
    """The variant, special points and default path of a Setyawan-Curtarolo lattice.

    Parameters
    ----------
    lattice : str
        'CUB', 'FCC', 'BCC', 'TET', 'BCT', 'ORC', 'ORCF', 'ORCI', 'ORCC', 'HEX', 'RHL', 'MCL' or 'MCLC' (for 'TRI'
        see :func:`triclinic_points`).
    a, b, c : float
        Conventional lengths in Å in the paper's order (a < b < c for ORC, ORCF, ORCI; a < b for ORCC; the
        unique axis a and b <= c for MCL; c of TET, BCT, HEX); RHL: a only.
    alpha : float
        Degrees: the rhombohedral angle (RHL), the angle between b and c, below 90 (MCL, MCLC).

    Returns
    -------
    variant : str
    points : dict of str -> ndarray (3,)
        Reduced in the reciprocal basis of the primitive cell ``PRIMITIVE[lattice] @ conventional``; Gamma is 'G'.
    path : str
        Labels, pieces separated by ','.
    """
    if lattice in ("CUB", "FCC", "BCC"):
        out = _cubic(lattice)
    elif lattice in ("TET", "BCT"):
        out = _tetragonal(lattice, a, c)
    elif lattice in ("ORC", "ORCF", "ORCI", "ORCC"):
        out = _orthorhombic(lattice, a, b, c)
    elif lattice in ("HEX", "RHL"):
        out = _hexagonal(lattice, alpha)
    elif lattice in ("MCL", "MCLC"):
        out = _monoclinic(lattice, a, b, c, alpha)
    else:
        raise ValueError(f"no Setyawan-Curtarolo lattice {lattice!r}")
    variant, pts, path = out
    return variant, {"G": np.zeros(3), **{k: np.array(v, dtype=float) for k, v in pts.items()}}, path


def triclinic_points(acute: bool, right: bool):
    """TRI1a, TRI2a (reciprocal angles all obtuse, k_gamma the smallest; TRI2a: k_gamma = 90 degrees) or TRI1b,
    TRI2b (all acute, k_gamma the largest): variant, points reduced in that reciprocal basis, path."""
    if acute:
        pts = dict(L=(_H, -_H, 0), M=(0, 0, _H), N=(-_H, -_H, _H), R=(0, -_H, _H), X=(0, -_H, 0), Y=(_H, 0, 0),
                   Z=(-_H, 0, _H))
    else:
        pts = dict(L=(_H, _H, 0), M=(0, _H, _H), N=(_H, 0, _H), R=(_H, _H, _H), X=(_H, 0, 0), Y=(0, _H, 0),
                   Z=(0, 0, _H))
    variant = "TRI" + ("2" if right else "1") + ("b" if acute else "a")
    return variant, {"G": np.zeros(3), **{k: np.array(v, dtype=float) for k, v in pts.items()}}, "XGY,LGZ,NGM,RG"
