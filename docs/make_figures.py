"""Regenerate the pictures in docs/ with the same commands the README shows.

python docs/make_figures.py
"""

from __future__ import annotations

import os
import shlex
from pathlib import Path

from rfgraph.cli import main

DOCS = Path(__file__).resolve().parent

# The README's "Pictures" section shows these exact lines (tests/test_readme_facts.py checks it).
COMMANDS = [
    'rfgraph graph "conv3*5" --input 15 --source 4 --out docs/seed_graph.png --force',
    'rfgraph profile "conv3*5" --input 15 --plot --out docs/seed_profile.png --force',
    "rfgraph map vgg16 --metric paths --scale log --out docs/vgg16_paths.png --force",
]


def run() -> None:
    os.environ.setdefault("MPLBACKEND", "Agg")
    os.chdir(DOCS.parent)
    for command in COMMANDS:
        print("$", command)
        status = main(shlex.split(command)[1:])
        if status:
            raise SystemExit(status)


if __name__ == "__main__":
    run()
