"""Write ``docs/theory.md``: classic ERF results reproduced exactly, each beside the paper's number (issue 26).

Every number in the page is computed here (nothing typed by hand but the papers' own numbers):
Luo et al. 2016 (Gaussian shape, sqrt(n) growth, uniform vs random vs ReLU, skip connections,
subsampling and dilation), Araujo et al. (Distill 2019: the receptive-field table and the
alignment of ResNets), Ding et al. (RepLKNet, CVPR 2022: high-contribution area ratios of
ResNet-101/152) and Veit et al. 2016 (path lengths of ResNet-110).

Usage::

    python docs/make_theory.py           # writes docs/theory.md
    python docs/make_theory.py --check   # exit 1 when docs/theory.md is not what the code gives

Takes about a minute on one core (the ReLU rows run a few thousand torch networks).
"""

from __future__ import annotations

import importlib.util
import math
import sys
from math import comb
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

import rfgraph as rf  # noqa: E402
from rfgraph import erf  # noqa: E402

OUT = HERE / "theory.md"


def _distill():
    spec = importlib.util.spec_from_file_location("distill_table", ROOT / "tests" / "distill_table.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _std(values: np.ndarray, axis: int = 0) -> float:
    return erf.erf_stats(values, thresholds=()).std[axis]


def _pct(x: float) -> str:
    return f"{100 * x:+.0f} %"


def _convs(n: int, **kw) -> rf.Sequential:
    return rf.Sequential(*[rf.Conv(3, padding=1, **kw) for _ in range(n)])


# --------------------------------------------------------------------------- Luo et al. 2016


def luo() -> list[str]:
    out = ["## Luo et al. 2016: the effective receptive field", ""]
    out.append(
        "Luo, Li, Urtasun & Zemel, *Understanding the Effective Receptive Field in Deep Convolutional Neural "
        "Networks*, NeurIPS 2016. Their maps are gradients; ours are exact: the path count "
        '(`metric="paths"`, uniform weights), the averaging network (`weights="mean"`) and the expected '
        "squared gradient over kaiming initialisations (`rf.erf.expected_erf`)."
    )
    out.append("")

    # Gaussian shape
    n = 10
    net = rf.Sequential(*[rf.Conv(3) for _ in range(n)])
    s2 = erf.erf_stats(rf.contribution_map(net, (2 * n + 1, 2 * n + 1), "paths"), thresholds=())
    deep = rf.Sequential(*[rf.Conv(3) for _ in range(50)])
    s1 = erf.erf_stats(rf.contribution_map(deep, (101,), "paths"), thresholds=())
    out += [
        "| claim | paper | rfgraph (exact) |",
        "|---|---|---|",
        f"| ERF of stacked convolutions is Gaussian | Gaussian in the limit (central limit theorem) | "
        f"{n} 3x3 convs: Gaussian fit R2 {s2.gaussian_r2:.4f}, TV {s2.gaussian_tv:.4f}; "
        f"50 3-tap convs: R2 {s1.gaussian_r2:.6f}, TV {s1.gaussian_tv:.5f} |",
    ]
    # growth against depth
    study = erf.scaling_study(range(1, 65), ndim=1, fractions=(0.5,))
    span_slope = float(np.polyfit(np.log(study.ns), np.log(np.array(study.std) / np.array(study.span)), 1)[0])
    out += [
        f"| ERF size grows like sqrt(n) | O(sqrt(n)) | std exponent {study.exponents['std']:.4f} over n = 1..64; "
        f"std = sqrt(2n/3) exactly (n = 5: {study.std[4]:.6f} = {math.sqrt(10 / 3):.6f}) |",
        f"| ERF / RF shrinks like 1/sqrt(n) | O(1/sqrt(n)) | std / depth exponent {study.exponents['ratio']:.4f} "
        f"(dividing by the RF size 2n + 1 instead bends it to {span_slope:.3f}) |",
    ]

    # uniform vs random vs ReLU
    depth, size, draws = 5, 21, 3000
    chain = _convs(depth)
    uniform = rf.contribution_map(chain, (size,), "paths")
    mean = rf.contribution_map(chain, (size,), "paths", weights="mean")
    linear = erf.expected_erf(chain, (size,))
    rule = erf.expected_erf(chain, (size,), activation="relu")
    mc_lin = erf.sampled_erf(chain, (size,), draws=draws, channels=8, seed=0)
    mc_relu = erf.sampled_erf(chain, (size,), activation="relu", draws=draws, channels=8, seed=0)
    dev_lin = float(np.abs(mc_lin.mean - linear).max() / linear.max())
    dev_relu = float(np.abs(mc_relu.mean - rule).max() / rule.max())
    z_lin = float((np.abs(mc_lin.mean - linear) / np.where(mc_lin.stderr > 0, mc_lin.stderr, np.inf)).max())
    out += [
        f"| uniform and random weights give the same shape | Fig. 1: both Gaussian | {depth} 3-tap convs: std "
        f"uniform {_std(uniform):.4f}, mean {_std(mean):.4f}, expected (kaiming, linear) {_std(linear):.4f}: "
        "one shape, since E[(dy/dx)^2] of a chain is its mean-weighted path sum |",
        f"| Monte Carlo agrees with the exact expectation (linear) | - | {draws} torch networks, 8 channels: max "
        f"deviation {100 * dev_lin:.1f} % of the peak, {z_lin:.2f} standard errors at most |",
        f"| ReLU networks: the 1/2-per-ReLU rule | rule of He et al. 2015 | rule std {_std(rule):.4f}, Monte Carlo "
        f"std {_std(mc_relu.mean):.4f}; the rule is off by up to {100 * dev_relu:.1f} % of the peak, peak ratio "
        f"MC / rule {mc_relu.mean.max() / rule.max():.3f} |",
    ]

    # skip connections
    blocks, size2 = 8, 33
    plain = _convs(blocks)
    res = rf.Sequential(*[rf.Residual(rf.Conv(3, padding=1)) for _ in range(blocks)])
    shape = (size2, size2)
    rows = []
    for label, fn in (
        ("paths", lambda net: rf.contribution_map(net, shape, "paths")),
        ('weights="mean"', lambda net: rf.contribution_map(net, shape, "paths", weights="mean")),
        ("expected_erf", lambda net: erf.expected_erf(net, shape)),
    ):
        a, b = _std(fn(plain)), _std(fn(res))
        rows.append(f"{label} {a:.3f} -> {b:.3f} ({_pct(b / a - 1)})")
    out.append(
        f"| skip connections make the ERF smaller | smaller with skip connections | {blocks} blocks of 3x3 convs, "
        f"std plain -> residual: {'; '.join(rows)}. Path counts barely move (each body has 9 paths against the "
        "shortcut's 1); weighted by the averaging or the random network the shortcut's one path dominates |"
    )

    # subsampling and dilation
    base = rf.Sequential(*[rf.Conv(3) for _ in range(4)])
    strided = rf.Sequential(rf.Conv(3), rf.Conv(3, stride=2), rf.Conv(3), rf.Conv(3))
    dilated = rf.Sequential(rf.Conv(3), rf.Conv(3, dilation=2), rf.Conv(3), rf.Conv(3))

    def std_of(net):
        span = erf.predict(net).span[0]
        return _std(erf.expected_erf(net, (span,), target=(0,)))

    b0 = std_of(base)
    out.append(
        f"| subsampling and dilation enlarge the ERF | both enlarge it | expected-ERF std of 4 3-tap convs {b0:.3f}; one "
        f"of them strided {std_of(strided):.3f} ({_pct(std_of(strided) / b0 - 1)}), dilated by 2 "
        f"{std_of(dilated):.3f} ({_pct(std_of(dilated) / b0 - 1)}) |"
    )
    out += [
        "| training enlarges the ERF | larger after training (CamVid, CIFAR-10) | trained in the notebook "
        "`notebooks/09_erf_theory.ipynb` (a small dense task), not here |",
        "",
    ]
    return out


# --------------------------------------------------------------------------- expected ERF against Monte Carlo

RULE_NETS = {
    "chain": (rf.Sequential(*[rf.Conv(3) for _ in range(4)]), (9,)),
    "residual stack": (rf.Sequential(*[rf.Residual(rf.Conv(3, padding=1)) for _ in range(4)]), (11,)),
    "pooling": (rf.Sequential(rf.Conv(3, padding=1), rf.Pool(2), rf.Conv(3, padding=1), rf.Conv(3, padding=1)), (12,)),
    "up-sampling": (
        rf.Sequential(rf.Conv(3, padding=1), rf.Upsample(2, mode="linear"), rf.Conv(3, padding=1)),
        (8,),
    ),
    "dilation": (rf.Sequential(rf.Conv(3, dilation=2), rf.Conv(3, dilation=2), rf.Conv(3)), (13,)),
}


def monte_carlo() -> list[str]:
    draws = 2000
    out = [
        "## expected_erf against Monte Carlo, and the ReLU rule",
        "",
        f"`rf.erf.expected_erf` (exact for linear networks) beside `rf.erf.sampled_erf` ({draws} kaiming-normal "
        "torch networks of 8 channels, one seed). Linear: the largest deviation in standard errors of the "
        "estimate (the tests accept 4.5) and in % of the peak. ReLU: how far the 1/2-per-ReLU rule "
        "(He et al. 2015; Luo et al. 2016) is from the Monte Carlo truth: largest deviation in % of the "
        "peak and the ratio of the standard deviations (MC / rule).",
        "",
        "| network | linear: max deviation | ReLU rule: max deviation | ReLU: std MC / rule |",
        "|---|---|---|---|",
    ]
    for name, (net, shape) in RULE_NETS.items():
        exact = erf.expected_erf(net, shape)
        lin = erf.sampled_erf(net, shape, draws=draws, channels=8, seed=0)
        z = float((np.abs(lin.mean - exact) / np.where(lin.stderr > 0, lin.stderr, np.inf)).max())
        rule = erf.expected_erf(net, shape, activation="relu")
        relu = erf.sampled_erf(net, shape, activation="relu", draws=draws, channels=8, seed=0)
        dev = float(np.abs(relu.mean - rule).max() / rule.max())
        ratio = _std(relu.mean) / _std(rule)
        lin_dev = float(np.abs(lin.mean - exact).max() / exact.max())
        out.append(f"| {name} | {z:.2f} SE ({100 * lin_dev:.1f} %) | {100 * dev:.1f} % | {ratio:.3f} |")
    out.append("")
    return out


# --------------------------------------------------------------------------- Distill


def distill() -> list[str]:
    table = _distill()
    out = [
        "## Araujo, Norris & Sim (Distill 2019): receptive fields of modern networks",
        "",
        "At 224 x 224: size r, effective stride S and effective padding P of the final end-point, "
        "the article's table beside `rf.receptive_field`.",
        "",
        "| network | end-point | paper r, S, P | rfgraph r, S, P |",
        "|---|---|---|---|",
    ]
    for net, endpoint, r, s, p in table.SUMMARY:
        rec = rf.receptive_field(rf.zoo.build(net), (224, 224), endpoint=endpoint)[-1]
        got = (rec.size[0], int(rec.stride[0]), int(rec.padding[0]))
        out.append(f"| {net} | {endpoint} | {r}, {s}, {p} | {got[0]}, {got[1]}, {got[2]} |")
    out += ["", "Alignment: the centre of output position k of the last stage, `center + k * stride`:", ""]
    out += ["| network | end-point | centres of k = 0, 1, 2 |", "|---|---|---|"]
    for net, endpoint in (("resnet50", "layer4"), ("resnet_v1_50", "block4")):
        rec = rf.receptive_field(rf.zoo.build(net), (224, 224), endpoint=endpoint)[-1]
        cs = ", ".join(f"{rec.center[0] + k * rec.stride[0]:g}" for k in range(3))
        kind = "torchvision" if net == "resnet50" else "TF-slim"
        out.append(f"| {net} ({kind}) | {endpoint} | {cs}, ... |")
    out += [
        "",
        "torchvision pads every strided 3x3 convolution symmetrically, so the centres sit on input pixels "
        "0, 32, 64, ...; TF-slim's 'SAME' padding puts the extra pixel on the right, shifting them to 2 + 32k "
        "(the article's alignment discussion).",
        "",
    ]
    return out


# --------------------------------------------------------------------------- RepLKNet

# Ding et al. 2022 (arXiv:2203.06717), table of high-contribution area ratios r at thresholds t
# (gradients of trained models, 1024 x 1024 inputs, log10(1 + x) first).
REPLKNET_PAPER = {"resnet101": (0.009, 0.015, 0.032, 0.227), "resnet152": (0.011, 0.018, 0.039, 0.344)}
THRESHOLDS = (0.2, 0.3, 0.5, 0.99)


def replknet() -> list[str]:
    out = [
        "## Ding et al. (RepLKNet, CVPR 2022): high-contribution area ratios",
        "",
        "The ratio r(t) is the area of the smallest centred square holding a share t of the map, over the "
        "image. RepLKNet's script first replaces the map A by log10(A + 1) and divides by its maximum. "
        "Below: their numbers (gradients of the trained models), and ours for the exact path-count map of "
        "the same architectures (centre of `layer4`, 1024 x 1024 input), both on the map itself (linear) "
        "and after the script's logarithm (log).",
        "",
        "| network | t | paper r | rfgraph linear r | rfgraph log r |",
        "|---|---|---|---|---|",
    ]
    peaks = {}
    for net in ("resnet101", "resnet152"):
        values = rf.contribution_map(rf.zoo.build(net), (1024, 1024), "paths", endpoint="layer4")
        peaks[net] = float(values.max())
        lin = erf.area_ratio(values, THRESHOLDS)
        log = erf.area_ratio(values, THRESHOLDS, log=True)
        for t, paper in zip(THRESHOLDS, REPLKNET_PAPER[net], strict=True):
            out.append(
                f"| {net} | {t:g} | {100 * paper:.1f} % | {100 * lin[t].ratio:.2f} % | {100 * log[t].ratio:.1f} % |"
            )
    out += [
        "",
        f"Why they differ: the path counts peak at {peaks['resnet101']:.2e} (ResNet-101) and "
        f"{peaks['resnet152']:.2e} (ResNet-152). For x >> 1, log10(1 + x) ~ log10(x) squeezes "
        f"{math.log10(peaks['resnet101']):.0f} orders of magnitude into values 0 .. "
        f"{math.log10(peaks['resnet101']):.0f}, so the log map is nearly flat over the whole support and its squares "
        "grow towards the full image; on the map itself almost all of the mass sits near the centre. "
        "RepLKNet's gradients are of order 1 or smaller, where log10(1 + x) is nearly linear: the log metric "
        "depends on the map's units and compares maps only in the same units. The linear ratio does not.",
        "",
    ]
    return out


# --------------------------------------------------------------------------- Veit et al. 2016


def resnet110() -> rf.Sequential:
    """CIFAR ResNet-110 (He et al. 2016): 3 stages of 18 basic blocks, option-A shortcuts."""
    ops: list[rf.Op] = [rf.Conv(3, padding=1, name="stem")]
    for stage in range(3):
        for block in range(18):
            stride = 2 if stage > 0 and block == 0 else 1
            body = rf.Sequential(rf.Conv(3, stride=stride, padding=1), rf.Conv(3, padding=1))
            shortcut = rf.Slice(0, None, 2) if stride == 2 else rf.Identity()
            ops.append(rf.Residual(body, shortcut, name=f"s{stage + 1}b{block + 1}"))
    ops.append(rf.GlobalPool(name="pool"))
    return rf.Sequential(*ops)


def veit() -> list[str]:
    counts = rf.path_lengths(resnet110())
    base = 2  # the stem convolution and the global pool
    by_blocks = [int(counts[base + 2 * k]) for k in range(55)]
    total = sum(int(c) for c in counts)
    within = sum(by_blocks[19:36]) / total
    out = [
        "## Veit, Wilber & Belongie 2016: residual networks as ensembles of paths",
        "",
        "`rf.path_lengths` on CIFAR ResNet-110 (54 residual blocks of two 3x3 convolutions, option-A "
        "shortcuts): a path's length counts computing ops, so passing k blocks gives length 2 + 2k.",
        "",
        "| claim | paper | rfgraph (exact) |",
        "|---|---|---|",
        f"| number of paths | 2^54 = {2**54:,} | {total:,} |",
        f"| length distribution | Binomial(54, 1/2) | counts by blocks passed equal C(54, k) for every k: "
        f"{all(c == comb(54, k) for k, c in enumerate(by_blocks))}; most common k = {int(np.argmax(by_blocks))} "
        f"({by_blocks[27]:,} paths) |",
        f"| almost all paths pass 19 to 35 blocks | 'almost all' | {100 * within:.2f} % of the paths |",
        f"| odd lengths | none | {sum(int(c) for i, c in enumerate(counts) if i % 2)} paths |",
        "",
    ]
    return out


def generate() -> str:
    lines = [
        "# ERF theory, exactly",
        "",
        "Classic effective-receptive-field results reproduced with rfgraph's exact maps, each beside the "
        "paper's number. Generated by `python docs/make_theory.py` (every number computed; "
        "`tests/test_theory_doc.py` checks the page against the code).",
        "",
    ]
    for section in (luo, monte_carlo, distill, replknet, veit):
        lines += section()
    return "\n".join(lines).rstrip() + "\n"


def main(argv: list[str]) -> int:
    text = generate()
    if "--check" in argv:
        if OUT.read_text() != text:
            print("docs/theory.md differs from what docs/make_theory.py computes; run it")
            return 1
        print("docs/theory.md is up to date")
        return 0
    OUT.write_text(text)
    print(f"wrote {OUT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
