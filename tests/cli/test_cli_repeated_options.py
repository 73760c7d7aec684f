"""An option of one value given twice with different values (issue 67): argparse kept the last without a word
(``--temperature 300 --temperature 600``; ``series --run-temperatures 300 400 --run-temperatures 500`` then said one
temperature was missing). It is refused naming both; given twice alike it is taken; options meant to repeat
(``--other``, ``--run``) repeat."""
from __future__ import annotations

import pytest

from trajmodes.cli import main


@pytest.mark.parametrize("argv, said", [
    (["conductivity", "J.dat", "--temperature", "300", "--temperature", "600"],
     "--temperature is given twice (--temperature 300.0, then --temperature 600.0)"),
    (["series", "a.lammpstrj", "b.lammpstrj", "--run-temperatures", "300", "400", "--run-temperatures", "500"],
     "--run-temperatures is given twice (--run-temperatures 300.0 400.0, then --run-temperatures 500.0)"),
    (["glass", "g.data", "--potential", "x.sw", "--width", "0.1", "--width", "0.2"], "--width is given twice"),
    (["lineshapes", "run.lammpstrj", "-o", "a", "--output", "b"], "--output is given twice (-o a, then --output b)"),
])
def test_an_option_given_twice_is_refused(argv, said, capsys):
    with pytest.raises(SystemExit) as e:
        main(argv)
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert said in err and "give it once" in err and f"usage: trajmodes {argv[0]}" in err


def test_options_given_twice_alike_or_meant_to_repeat(tmp_path):
    from trajmodes.cli.app import build_parser
    parser, _ = build_parser()
    args, extra = parser.parse_known_args(["conductivity", "J.dat", "--fstar", "5", "--fstar", "5", "--other",
                                           "vcm[1]", "--other", "vcm[2]", "--run", "1", "--run", "2"])
    assert not extra and args.fstar == 5.0 and args.other == ["vcm[1]", "vcm[2]"] and args.run == [1, 2]
