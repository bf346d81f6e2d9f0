"""Regenerate the pictures in docs/ with the same commands the README shows.

python docs/make_figures.py
"""

from __future__ import annotations

import os
import shlex
from pathlib import Path

from rfgraph.cli import main

DOCS = Path(__file__).resolve().parent

COMMANDS = [
    'rfgraph graph "conv3*5" --input 15 --source 4 --out docs/seed_graph.png',
    'rfgraph profile "conv3*5" --input 15 --plot --out docs/seed_profile.png',
    'rfgraph map "(conv3p1*2,pool2),(conv3p1*2,pool2),(conv3p1*3,pool2)*3" --input 224x224 '
    "--metric paths --scale log --out docs/vgg16_paths.png",
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
