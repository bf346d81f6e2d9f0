"""The numbers the README states, computed from the code (issue 14: README truths).

Each fact pairs a pattern that finds the claim in README.md with a function that computes it.
``python docs/readme_facts.py`` prints every fact with the README's value and the computed one
and exits 1 on a mismatch; ``tests/test_readme_facts.py`` runs the same check.  Timings are
not facts here: they come from ``bench/`` and depend on the machine.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _seed():
    import rfgraph as rf

    return rf.Sequential(*[rf.Conv(3) for _ in range(5)])


def _profile(metric: str) -> str:
    import numpy as np

    import rfgraph as rf

    values = rf.contribution_map(_seed(), (15,), metric=metric)
    return " ".join(str(int(v)) for v in values[np.flatnonzero(values)])


def _seed_2d_centre() -> str:
    import rfgraph as rf

    return str(int(rf.contribution_map(_seed(), (15, 15))[7, 7]))


def _rounded_paths() -> str:
    import rfgraph as rf

    net = rf.parse_spec("conv3*40")
    rounded = rf.contribution_map(net, (81,), metric="paths")[40]
    exact = rf.contribution_map(net, (81,), metric="paths", exact=None)[40]
    return f"`{float(rounded)!r}` for the exact {int(exact)}"


def _notebook_count() -> str:
    words = {7: "seven", 8: "eight", 9: "nine", 10: "ten", 11: "eleven", 12: "twelve"}
    n = len(list((ROOT / "notebooks").glob("*.ipynb")))
    return words.get(n, str(n))


def _zoo_count() -> str:
    import rfgraph as rf

    return str(len(rf.zoo.names()))


def _vgg_pool5() -> str:
    import rfgraph as rf

    vgg = rf.parse_spec("(conv3p1*2,pool2),(conv3p1*2,pool2),(conv3p1*3,pool2)*3")
    rec = rf.receptive_field(vgg, (224, 224))[-1]
    return f"{rec.size[0]}, stride {int(rec.stride[0])}"


def _resnet50_layer4() -> str:
    import rfgraph as rf

    rec = rf.receptive_field(rf.zoo.build("resnet50"), (224, 224), endpoint="layer4")[-1]
    return str(tuple(int(s) for s in rec.size))


def _graph_source_4() -> str:

    import rfgraph as rf

    paths = rf.contribution_map(_seed(), (15,), metric="paths")
    edges = rf.contribution_map(_seed(), (15,))
    return f"{int(paths[4])} paths, {int(edges[4])} distinct edges"


def _chain_variance() -> str:
    from fractions import Fraction

    import rfgraph as rf

    paths = rf.contribution_map(_seed(), (15,), metric="paths", exact=True)
    total = sum(int(p) for p in paths)
    mean = Fraction(sum(i * int(p) for i, p in enumerate(paths)), total)
    var = sum(int(p) * (i - mean) ** 2 for i, p in enumerate(paths)) / total
    return f"{var.numerator}/{var.denominator}"


@dataclass(frozen=True)
class Fact:
    what: str
    pattern: str  # a regex with one group: the README's value
    compute: Callable[[], str]


FACTS = [
    Fact("seed edges profile", r"importance profile `([0-9 ]+)`", lambda: _profile("edges")),
    Fact("seed edges (profile command)", r'profile "conv3\*5" --input 15 +# ([0-9 ]+)\n', lambda: _profile("edges")),
    Fact(
        "seed paths (profile command)",
        r'profile "conv3\*5" --input 15 --metric paths +# ([0-9 ]+)\n',
        lambda: _profile("paths"),
    ),
    Fact("seed 2-D centre", r"# ([0-9]+) in 2-D", _seed_2d_centre),
    Fact("float64 rounding", r"at 81 pixels gives\s+(`[0-9.e+]+` for the exact [0-9]+)", _rounded_paths),
    Fact("notebook count", r"The ([a-z]+) notebooks cover", _notebook_count),
    Fact("zoo size", r"# ([0-9]+) built-ins", _zoo_count),
    Fact("VGG-16 pool5 field", r"# size ([0-9]+, stride [0-9]+) at pool5", _vgg_pool5),
    Fact("ResNet-50 layer4 field", r"endpoint=\"layer4\"\)\[-1\]\.size +# (\([0-9]+, [0-9]+\))", _resnet50_layer4),
    Fact("graph caption", r"centre output \(([0-9]+ paths, [0-9]+ distinct edges)\)", _graph_source_4),
    Fact("closed-form variance", r"exactly\s+([0-9]+/[0-9]+) for five 3-tap", _chain_variance),
]


def check(readme: str) -> list[tuple[str, str | None, str]]:
    """``(what, README value or None if the claim is not found, computed value)`` for every fact."""
    rows = []
    for fact in FACTS:
        m = re.search(fact.pattern, readme)
        rows.append((fact.what, m.group(1).strip() if m else None, fact.compute()))
    return rows


def main() -> int:
    readme = (ROOT / "README.md").read_text()
    bad = 0
    for what, said, computed in check(readme):
        status = "ok" if said == computed else ("not found" if said is None else "MISMATCH")
        bad += status != "ok"
        print(f"{status:>9}  {what}: README {said!r}, code {computed!r}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    sys.exit(main())
