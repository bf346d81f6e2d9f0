"""CLI: `rfgraph coverage`, `--target all`, `--exact`, exact numbers in text and strict JSON."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

import rfgraph as rf
from rfgraph.cli import main


def _strict(text: str):
    def refuse(name):
        raise ValueError(f"not JSON: {name}")

    return json.loads(text, parse_constant=refuse)


def test_coverage_command(tmp_path, capsys):
    out = tmp_path / "cov.csv"
    assert main(["coverage", "conv3*2", "--input", "9", "--json", "--out", str(out)]) == 0
    data = _strict(capsys.readouterr().out)
    assert data["max"] == 5 and data["sum"] == 25 and data["metric"] == "coverage"
    assert np.loadtxt(out, delimiter=",", dtype=int).tolist() == [1, 2, 3, 4, 5, 4, 3, 2, 1]
    assert main(["coverage", "conv3s2", "--input", "7"]) == 0
    assert "at most 2 output fields" in capsys.readouterr().out


def test_target_all_and_exact(capsys):
    assert main(["profile", "conv3*5", "--input", "15", "--metric", "paths", "--target", "all"]) == 0
    assert capsys.readouterr().out.split() == "1 6 21 51 96 146 186 201 186 146 96 51 21 6 1".split()
    assert main(["map", "conv3*5", "--input", "15", "--metric", "paths", "--exact", "--json"]) == 0
    assert _strict(capsys.readouterr().out)["max"] == 51


def test_huge_counts_are_exact_never_inf(tmp_path, capsys):
    # issue 19: 2**1100 paths printed inf; 40 residual blocks printed false digits
    assert main(["map", "res(conv1)*1100", "--input", "3", "--metric", "paths", "--json"]) == 0
    assert _strict(capsys.readouterr().out)["max"] == 2**1100
    assert main(["profile", "res(conv1)*1100", "--input", "3", "--metric", "paths"]) == 0
    assert capsys.readouterr().out.split()[0] == str(2**1100)
    assert main(["map", "res(conv3p1)*40", "--input", "81", "--metric", "paths", "--json"]) == 0
    assert _strict(capsys.readouterr().out)["max"] == 107507208733336176461620
    out = tmp_path / "paths.csv"
    assert main(["map", "res(conv1)*1100", "--input", "3", "--metric", "paths", "--out", str(out)]) == 0
    assert out.read_text().strip() == f"0,{2**1100},0"


def test_numbers_beyond_2_53_are_exact_ints_in_json(capsys):
    assert main(["map", "conv3p1*20", "--input", "64x64", "--metric", "paths", "--target", "all", "--json"]) == 0
    data = _strict(capsys.readouterr().out)
    values = rf.contribution_map(rf.parse_spec("conv3p1*20"), (64, 64), "paths", "all", exact=True)
    assert data["sum"] == sum(values.ravel().tolist()) > 2**53 and data["max"] == values.max()


def test_number_never_prints_false_digits():
    from rfgraph.cli._common import number

    assert number(np.float64(2.0**60)) == 2.0**60 and isinstance(number(np.float64(2.0**60)), float)
    assert number(np.float64(12.0)) == 12 and isinstance(number(np.float64(12.0)), int)
    assert number(2**100) == 2**100 and number(np.int64(5)) == 5


@pytest.mark.parametrize(
    "argv, message",
    [
        (["coverage", "conv3", "--input", "5", "--out", "x.txt"], "unknown extension"),
        (["map", "conv3", "--input", "5", "--target", "everything"], "not a position"),
    ],
)
def test_bad_input_is_one_line_exit_2(argv, message, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1


def test_help_imports_nothing_heavy():
    code = (
        "import sys\nfrom rfgraph.cli import main\ntry:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        "print(sorted(m for m in ('numpy', 'numba', 'networkx', 'matplotlib', 'torch') if m in sys.modules), "
        "file=sys.stderr)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stderr.strip() == "[]"


def test_coverage_stays_a_function_after_the_cli_loads():
    import rfgraph.cli.coverage  # noqa: F401  (a submodule import must not shadow rf.coverage)

    assert callable(rf.coverage) and rf.coverage(rf.Conv(3), (5,)).tolist() == [1, 2, 3, 2, 1]
