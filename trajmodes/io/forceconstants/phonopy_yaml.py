"""One fast parse of a phonopy yaml (``phonopy_params.yaml``, ``phonopy.yaml``, ``phonopy_disp.yaml``).

Nearly all of a large phonopy yaml is lists of 3-vectors, one per line, as phonopy writes them: the force constants
(``force_constants: elements:``, one ``- # (i, j)`` group of three rows per pair) and the displacement-force
dataset (``dataset: displacements: / forces:``, one ``- # n`` group per supercell; or ``forces:`` of each
displacement). PyYAML builds a Python list and float object for every number of them and resolves the type of each
scalar by regular expressions, about 1 MB/s even with its C parser. Here every long block of such lines is read by
numpy instead (the same decimal-to-double conversion, so the same bits), the rest of the file by PyYAML (C loader
where PyYAML has one), once, and the two joined before phonopy's own ``load_phonopy_yaml`` interprets the data.
Anything that does not look exactly as phonopy writes it is left to PyYAML: the result never depends on the path.
"""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np

__all__ = ["parse_phonopy_yaml", "load_yaml_with_vector_blocks"]

#: a mapping key that opens a block (``<indent>key:`` or ``<indent>- key:``, nothing after it), and the block of
#: lines after it that are each a 3-vector as phonopy writes it (``<indent>- [ x, y, z ]``) or a group separator of a
#: list of lists (``<indent>- # comment``)
_BLOCK = re.compile(rb"^( *)((?:- )?)[A-Za-z_]\w*:[ \t]*\r?\n"
                    rb"((?:(?: *-[ \t]*(?:#[^\n]*)?| *- \[[^\[\]#\n]*\][ \t]*)(?:\r?\n|\Z))+)", re.M)
#: the first line after a block that is not blank
_NEXT = re.compile(rb"(?:[ \t]*\r?\n)*( *)(-?)")
#: blocks shorter than this many vectors are left to PyYAML (cells, lattices: a few lines)
MIN_VECTORS = 64
_SENTINEL = "__trajmodes_vectors_{}__"


def _yaml_floats(text: bytes, n: int) -> bool:
    """Whether the ``n`` numbers of ``text`` are all what YAML 1.1 (PyYAML) reads as floats, in their plainest form:
    digits with one decimal point, a sign, an exponent with its sign (``1e-3`` or ``1.5e3`` are strings in YAML 1.1,
    ``.inf``, ``1_000.0`` are left to PyYAML)."""
    if text.translate(None, b"0123456789.-+eE \t\r") or text.count(b".") != n:
        return False
    exponents = text.count(b"e") + text.count(b"E")
    return exponents == sum(text.count(e + s) for e in (b"e", b"E") for s in (b"-", b"+"))


def _vectors(body: bytes, key_indent: int, after: re.Match):
    """The vectors of a block ``body`` (whole lines) that is the whole value of its key: (n, 3), or (groups, n, 3)
    for a list of lists; None if the block is anything else."""
    lines = body.rstrip(b"\n").split(b"\n")
    item = len(lines[0]) - len(lines[0].lstrip(b" "))
    if item < key_indent:
        return None
    lead = b"\n" + b" " * item + b"-"
    text = b"\n" + body
    n_item = text.count(lead)                            # lines that start at the item indent
    if lines[0][item:].startswith(b"- ["):               # a flat list: every line a vector at the item indent
        if text.count(lead + b" [") != len(lines) or n_item != len(lines):
            return None
        vec, starts = lines, None
    else:                                                # groups: "- # k" at the item indent, vectors deeper
        second = lines[1] if len(lines) > 1 else b""
        inner = len(second) - len(second.lstrip(b" "))
        if inner <= item or text.count(lead + b" [") or text.count(b"\n" + b" " * inner + b"- [") != len(lines) - n_item:
            return None
        size = len(lines) // n_item - 1
        if size < 1 or n_item * (size + 1) != len(lines) or any(not ln[item:].startswith(b"-") or ln[item + 1:].lstrip(
                b" \t")[:1] not in (b"", b"#", b"\r") for ln in lines[::size + 1]):
            return None
        vec = [ln for k, ln in enumerate(lines) if k % (size + 1)]
        starts = n_item
    if len(vec) < MIN_VECTORS:
        return None
    ind, dash = len(after.group(1)), after.group(2)      # the block must end where its key's value ends
    if after.end() < after.endpos and (ind > item or (ind == item and dash)):
        return None
    numbers = b" ".join(vec).replace(b"- [", b" ").replace(b"]", b" ").replace(b",", b" ")
    if not _yaml_floats(numbers, 3 * len(vec)):
        return None
    try:
        values = np.array(numbers.split(), dtype=float)
    except ValueError:
        return None
    if values.size != 3 * len(vec):
        return None
    return values.reshape(-1, 3) if starts is None else values.reshape(starts, -1, 3)


def load_yaml_with_vector_blocks(path: str | Path):
    """The data of a yaml file, its long blocks of 3-vectors as numpy arrays (see the module), with one PyYAML load.

    Returns
    -------
    data : object
        What ``yaml.load`` gives, the vector blocks as float arrays, (n, 3) or (groups, n, 3).
    blocks : int
        How many blocks numpy read.
    """
    import yaml
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    raw = Path(path).read_bytes()
    out: list[bytes] = []
    arrays: list[np.ndarray] = []
    done = 0
    for m in _BLOCK.finditer(raw):
        after = _NEXT.match(raw, m.end())
        vectors = _vectors(m.group(3), len(m.group(1)) + len(m.group(2)), after)
        if vectors is None:
            continue
        out += [raw[done:m.start(3)].rstrip(b"\r\n"), b" " + _SENTINEL.format(len(arrays)).encode() + b"\n"]
        arrays.append(vectors)
        done = m.end()
    if not arrays:
        return yaml.load(raw, Loader=loader), 0
    out.append(raw[done:])
    data = yaml.load(b"".join(out), Loader=loader)
    placed = [0] * len(arrays)
    data = _put_back(data, arrays, placed)
    if placed != [1] * len(arrays):
        raise ValueError("a block of vectors did not come back where it was taken")   # never by phonopy's files
    return data, len(arrays)


def _put_back(obj, arrays, placed):
    if isinstance(obj, str) and obj.startswith("__trajmodes_vectors_"):
        m = re.fullmatch(r"__trajmodes_vectors_(\d+)__", obj)
        if m:
            k = int(m.group(1))
            placed[k] += 1
            return arrays[k]
        return obj
    if isinstance(obj, dict):
        return {key: _put_back(v, arrays, placed) for key, v in obj.items()}
    if isinstance(obj, list):
        return [_put_back(v, arrays, placed) for v in obj]
    return obj


def parse_phonopy_yaml(path: str | Path):
    """phonopy's reading of a phonopy yaml (``PhonopyYamlData``: ``unitcell``, ``supercell_matrix``,
    ``primitive_matrix``, ``force_constants``, ``dataset``, ``nac_params``, ``calculator``, ...) from one parse.

    With a phonopy that has ``phonopy.interface.phonopy_yaml.load_phonopy_yaml`` (the interpretation of loaded
    data) the file is loaded by :func:`load_yaml_with_vector_blocks`; with an older one by ``PhonopyYaml.read``
    (PyYAML alone). Either way the file is parsed once."""
    from phonopy.interface import phonopy_yaml as pyml
    interpret = getattr(pyml, "load_phonopy_yaml", None)
    if interpret is None:
        parsed = pyml.PhonopyYaml()
        parsed.read(str(path))
        return parsed
    data, _ = load_yaml_with_vector_blocks(path)
    if not isinstance(data, dict):
        raise ValueError(f"the file holds a {type(data).__name__}, not a mapping")
    return interpret(data)
