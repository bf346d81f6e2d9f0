"""The command line's table of sub-commands and its fast start."""

from __future__ import annotations

import subprocess
import sys

import pytest

from rfgraph.cli import COMMANDS, build_parser


def _subcommands(parser):
    action = next(a for a in parser._actions if a.dest == "command")
    return action.choices


def test_every_command_is_registered_by_its_module():
    for name, (module, _line) in COMMANDS.items():
        choices = _subcommands(build_parser(name))
        assert name in choices, f"{module}.register does not add {name!r}"
        assert choices[name].description is None or isinstance(choices[name].description, str)
    assert set(_subcommands(build_parser())) == set(COMMANDS)


def test_help_lists_every_command_and_imports_no_command_module():
    code = (
        "import sys\n"
        "from rfgraph.cli import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        "heavy = sorted(m for m in sys.modules if m.startswith(('numpy', 'numba', 'networkx', 'torch', 'matplotlib')))\n"
        "commands = sorted(m for m in sys.modules if m.startswith('rfgraph.cli.') and m not in "
        "('rfgraph.cli._commands', 'rfgraph.cli.__main__'))\n"
        "print(heavy, commands, file=sys.stderr)\n"
        "assert not heavy and not commands, (heavy, commands)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    for name in COMMANDS:
        assert name in result.stdout


@pytest.mark.parametrize("name", ["table", "map", "serve"])
def test_a_command_imports_only_its_own_module(name):
    code = (
        "import sys\n"
        "from rfgraph.cli import main\n"
        f"try:\n    main([{name!r}, '--help'])\nexcept SystemExit:\n    pass\n"
        "print(sorted(m for m in sys.modules if m.startswith('rfgraph.cli.')))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    own = COMMANDS[name][0]
    loaded = {m.rsplit(".", 1)[1] for m in eval(result.stdout.strip().splitlines()[-1])}
    assert own in loaded and not (loaded - {own, "_commands", "_common"}), loaded
