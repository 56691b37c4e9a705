"""Every CLI value is checked: refused with the option's name and the allowed range, never replaced."""
import argparse

import pytest

from rnnviz.cli import main
from rnnviz.commands.argtypes import float_in, int_in, schedule_point


def _exit_code(argv):
    try:
        return main(argv)
    except SystemExit as exc:
        return exc.code


@pytest.mark.parametrize("argv, words", [
    (["train", "--hidden-size", "0"], ("--hidden-size", "from 1 to 65536", "got 0")),
    (["train", "--hidden-size", "x"], ("--hidden-size", "from 1 to 65536", "'x'")),
    (["train", "--seq-length", "0"], ("--seq-length", "from 1 to")),
    (["train", "--seq-length", "100000"], ("--seq-length", "from 1 to 10", "got 100000")),
    (["train", "--epochs", "0"], ("--epochs", "from 1 to")),
    (["train", "--lr", "nan"], ("--lr", "> 0")),
    (["train", "--lr", "-1"], ("--lr", "> 0")),
    (["train", "--clip", "0"], ("--clip", "> 0")),
    (["train", "--seed", "-3"], ("--seed", "from 0")),
    (["bench", "engine", "--repeats", "0"], ("--repeats", "from 1 to 10000", "got 0")),
    (["bench", "engine", "--repeats", "-1"], ("--repeats", "from 1 to 10000", "got -1")),
    (["bench", "gui", "--repeats", "0"], ("--repeats", "from 1 to 10000")),
    (["screenshot", "-o", "x.png", "--at", "forward:--1"], ("--at", "forward:T or backward:T", "'forward:--1'")),
    (["screenshot", "-o", "x.png", "--at", "middle"], ("--at", "end, forward:T or backward:T")),
    (["screenshot", "-o", "x.png", "--size", "big"], ("--size", "WIDTHxHEIGHT")),
    (["screenshot", "-o", "x.png", "--size", "10x10"], ("--size", "200x200")),
])
def test_bad_values_are_refused_by_name(argv, words, capsys):
    assert _exit_code(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    for word in words:
        assert word in err, err


def test_a_valid_hidden_size_and_seq_length_are_used_as_given(capsys):
    assert main(["train", "--epochs", "1", "--hidden-size", "3", "--seq-length", "4"]) == 0
    err = capsys.readouterr().err
    assert "(hidden 3," in err and "seq_length 4)" in err


def test_the_helpers_accept_their_bounds_and_nothing_past_them():
    assert int_in(1, 5)("1") == 1 and int_in(1, 5)("5") == 5 and int_in(0)("7") == 7
    assert float_in(0.0, 1.0)("1") == 1.0 and float_in(0.0, low_inclusive=True)("0") == 0.0
    assert schedule_point("backward:3") == "backward:3"
    for parse, text in ((int_in(1, 5), "6"), (int_in(1, 5), "0"), (float_in(0.0), "0"), (float_in(0.0), "inf"),
                        (schedule_point, "forward:"), (schedule_point, "forward:-1")):
        with pytest.raises(argparse.ArgumentTypeError):
            parse(text)
