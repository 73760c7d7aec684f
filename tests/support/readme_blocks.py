"""The fenced code blocks of README.md, for the README test and for CI.

A block may be tagged by an HTML comment on the line before its fence (invisible when the README is
rendered): ``<!-- ci: main-job outputs=a.nc,b.png -->`` marks the install-and-run command, ``<!-- ci:
test-command -->`` the test command, ``<!-- ci: slow -->`` an example that tests/test_readme.py runs only in
the whole suite (it takes more than a few seconds). ``python tests/support/readme_blocks.py main-job`` prints the main job's
command line, ``main-job-outputs`` the output folder and the files it must write (one per line),
``test-command`` the test command; .ci/run runs exactly those.
"""
from __future__ import annotations

import re
import shlex
import sys
from dataclasses import dataclass, field
from pathlib import Path

README = Path(__file__).resolve().parents[2] / "README.md"
_FENCE = re.compile(r"^```(\w*)\s*$")
_TAG = re.compile(r"^<!--\s*ci:\s*(\S+)(.*?)-->\s*$")


@dataclass
class Block:
    lang: str
    code: str
    line: int                       # 1-based line of the opening fence
    tag: str | None = None
    options: dict = field(default_factory=dict)


def blocks(path: Path = README) -> list[Block]:
    """Every fenced block of ``path`` in order, with its language, first line and ci tag."""
    lines = Path(path).read_text().splitlines()
    out, i, tag = [], 0, None
    while i < len(lines):
        m = _TAG.match(lines[i].strip())
        if m:
            tag = (m.group(1), dict(kv.split("=", 1) for kv in m.group(2).split()))
            i += 1
            continue
        f = _FENCE.match(lines[i])
        if f:
            j = i + 1
            while j < len(lines) and not lines[j].startswith("```"):
                j += 1
            out.append(Block(f.group(1), "\n".join(lines[i + 1:j]) + "\n", i + 1,
                             tag[0] if tag else None, tag[1] if tag else {}))
            tag, i = None, j + 1
            continue
        if lines[i].strip():
            tag = None                  # a tag applies to the block right after it only
        i += 1
    return out


def tagged(tag: str, path: Path = README) -> Block:
    found = [b for b in blocks(path) if b.tag == tag]
    if len(found) != 1:
        raise SystemExit(f"{path}: expected one block tagged '<!-- ci: {tag} -->', found {len(found)}")
    return found[0]


def commands(block: Block) -> list[str]:
    """The command lines of a shell block: comments dropped, backslash continuations joined."""
    text = block.code.replace("\\\n", " ")
    return [ln.split("  #")[0].strip() for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]


def output_folder(command: str) -> str:
    """The ``-o``/``--output`` argument of the (last) trajmodes command of a command line."""
    words = shlex.split(command.split("&&")[-1])
    for k, w in enumerate(words[:-1]):
        if w in ("-o", "--output"):
            return words[k + 1]
    raise SystemExit(f"no -o in {command!r}")


def main(argv: list[str]) -> int:
    what = argv[1] if len(argv) > 1 else ""
    if what == "main-job":
        print(" ".join(commands(tagged("main-job"))))
    elif what == "main-job-outputs":
        b = tagged("main-job")
        print(output_folder(" ".join(commands(b))))
        print("\n".join(b.options.get("outputs", "").split(",")))
    elif what == "test-command":
        print(" ".join(commands(tagged("test-command"))))
    else:
        print("usage: python tests/support/readme_blocks.py main-job|main-job-outputs|test-command", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
