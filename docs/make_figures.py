"""Regenerate the pictures in docs/ with the same commands the README shows.

python docs/make_figures.py

The README's commands write into a temporary folder (``$out``); here ``$out`` is ``docs`` and
``--force`` replaces the pictures that are there.
"""

from __future__ import annotations

import os
import shlex
from pathlib import Path

from rfgraph.cli import main

DOCS = Path(__file__).resolve().parent

# The README's "Pictures" section shows these exact lines (tests/test_readme_facts.py checks it).
COMMANDS = [
    'rfgraph graph "conv3*5" --input 15 --source 4 --out $out/profile_graph.png',
    'rfgraph profile "conv3*5" --input 15 --plot --out $out/profile_bars.png',
    "rfgraph map vgg16 --metric paths --scale log --out $out/vgg16_paths.png",
]


def run() -> None:
    os.environ.setdefault("MPLBACKEND", "Agg")
    os.chdir(DOCS.parent)
    for command in COMMANDS:
        command = command.replace("$out/", "docs/") + " --force"
        print("$", command)
        status = main(shlex.split(command)[1:])
        if status:
            raise SystemExit(status)


if __name__ == "__main__":
    run()
