"""The warnings a command of the command line printed: ``trajmodes.cli.app.printed_warnings`` prints every warning
raised while a command runs as one ``warning: MESSAGE`` line on stderr, each message once, and never raises it (the
caller's warnings filter, the suite's ``error::UserWarning:trajmodes.*`` included, does not apply inside a command).
A test asserts a command's warning from its stderr, not with ``pytest.warns``."""
from __future__ import annotations

import re

PREFIX = "warning: "


def printed_warnings(err: str) -> list[str]:
    """The messages of the ``warning: ...`` lines of a command's stderr, in order."""
    return [line[len(PREFIX):] for line in err.splitlines() if line.startswith(PREFIX)]


def assert_warned(err: str, match: str) -> list[str]:
    """Assert that the command printed a warning whose message matches the regular expression ``match``
    (``re.search``, as ``pytest.warns(match=)``); returns every warning it printed."""
    said = printed_warnings(err)
    assert any(re.search(match, w) for w in said), f"no warning matching {match!r} among {said}"
    return said
