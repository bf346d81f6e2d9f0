"""Write the teaching notebooks (without outputs) from the cells below.

Edit here, then run ``python notebooks/build_notebooks.py``; the ``.ipynb`` files are
generated, committed without outputs and executed top to bottom by
``tests/test_notebooks.py``.

To add a notebook, add an entry ``NOTEBOOKS["NN_topic.ipynb"] = [("md", ...), ("code", ...)]``
below: a markdown title first, then ``("code", SETUP)`` (or ``SETUP + "import torch"`` and
the like), then the lesson.  Figures are shown inline (``SETUP`` says ``%matplotlib inline``;
never call ``matplotlib.use``); speak of what the reader sees, not of internal labels.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = Path(__file__).resolve().parent

SETUP = """\
%matplotlib inline
import numpy as np
import matplotlib.pyplot as plt

import rfgraph as rf
from rfgraph import plot"""

NOTEBOOKS: dict[str, list[tuple[str, str]]] = {}

# --------------------------------------------------------------------------- (a)
NOTEBOOKS["01_importance_profile_and_graph.ipynb"] = [
    (
        "md",
        """\
# (a) The importance profile and its graph

Five 3-tap, stride-1 convolutions over 15 input pixels give 5 outputs. Unroll the
network into a layered graph: one node per position of every tensor, one edge for
every tap. For the centre output (the *target*), the importance-profile article scores
each input pixel by the number of **distinct edges** on all paths from it to the target:
5, 13, 24, 31, 36, 37, 36, ... from the border of the field to its centre. The number of
**paths** is the other metric; it equals the gradient of the target in the
all-ones linear network.""",
    ),
    ("code", SETUP),
    (
        "code",
        """\
net = rf.Sequential(*[rf.Conv(3)] * 5)
edges = rf.contribution_map(net, (15,), metric="edges")
paths = rf.contribution_map(net, (15,), metric="paths")
print("edges:", edges.tolist())
print("paths:", paths.astype(int).tolist())
assert edges[2:13].tolist() == [5, 13, 24, 31, 36, 37, 36, 31, 24, 13, 5]
assert paths[2:13].astype(int).tolist() == [1, 5, 15, 30, 45, 51, 45, 30, 15, 5, 1]""",
    ),
    ("md", "The profile as bars, each bar labelled with its value, as in the article's figure:"),
    (
        "code",
        """\
ax = plot.plot_profile(edges, trim=True, title="distinct edges from each input to the centre output",
                       ylabel="edges")""",
    ),
    (
        "md",
        """\
## The unrolled graph

Layers are drawn bottom-up, every node at the centre of its own receptive field.
Input pixels are coloured by their edge count (written under them). Pale nodes do
not reach the target. The red edges are the paths from input 4 to the target:
15 paths that share 24 distinct edges.""",
    ),
    (
        "code",
        """\
ax = plot.plot_graph(net, (15,), source=4)
print(ax.get_title())""",
    ),
    (
        "md",
        """\
The drawing counts the highlighted edges directly on the networkx graph, so the
fast engine can be checked against it for every input pixel:""",
    ),
    (
        "code",
        """\
counted = [len(plot.path_edges(net, (15,), s)) for s in range(15)]
print(counted)
assert counted == edges.tolist()""",
    ),
    (
        "md",
        """\
Edges grow roughly linearly towards the centre, while paths grow like binomial
coefficients. Scaled to the same maximum, the paths profile is the narrower one:""",
    ),
    (
        "code",
        """\
fig = plot.compare([net, net], ["edges", "paths"], input_shape=(15,), metric=["edges", "paths"],
                   normalize=True)""",
    ),
    (
        "md",
        """\
The same picture from the command line:

```
rfgraph profile "conv3*5" --input 15 --plot --out profile.png
rfgraph graph "conv3*5" --input 15 --source 4 --out graph.png
```""",
    ),
]

# --------------------------------------------------------------------------- (b)
NOTEBOOKS["02_vgg16_resnet50_maps.ipynb"] = [
    (
        "md",
        """\
# (b) Theoretical vs contribution maps: VGG-16 and ResNet-50

The *theoretical* receptive field of an output neuron is the box that the
size/stride/padding arithmetic gives. The *contribution map* says how strongly
each pixel in that box is connected to the neuron. The effective receptive field
drawn here is the smallest centred square that holds 95% of the map's total. It is
centred on the map's peak.""",
    ),
    ("code", SETUP),
    (
        "code",
        """\
SHAPE = (224, 224)
vgg = rf.zoo.build("vgg16")
resnet = rf.zoo.build("resnet50")
# Both end in global pooling and a classifier, whose single output sees everything.
# The maps are drawn for the centre of the last feature map instead:
# VGG-16's pool5 (torchvision calls it "features.30") and ResNet-50's "layer4".
vgg_end, resnet_end = "features.30", "layer4"
print(vgg_end, rf.receptive_field(vgg, SHAPE, vgg_end)[-1].shape, "|", resnet_end,
      rf.receptive_field(resnet, SHAPE, resnet_end)[-1].shape)""",
    ),
    ("md", "The receptive-field arithmetic of the last few tensors:"),
    (
        "code",
        """\
vgg_records = rf.receptive_field(vgg, SHAPE, vgg_end)
resnet_records = rf.receptive_field(resnet, SHAPE, resnet_end)
print(rf.format_table(vgg_records[-4:]))
print()
print(rf.format_table(resnet_records[-4:]))""",
    ),
    (
        "md",
        """\
## VGG-16

The dashed box is the theoretical RF of the centre neuron of the last feature map,
212×212 pixels. The edges map fills it like a pyramid. The paths map (log scale) is
close to a 2-D Gaussian: most paths come from the middle.""",
    ),
    (
        "code",
        """\
vgg_edges = rf.contribution_map(vgg, SHAPE, "edges", endpoint=vgg_end)
vgg_paths = rf.contribution_map(vgg, SHAPE, "paths", endpoint=vgg_end)
fig, axes = plt.subplots(1, 2, figsize=(12, 5), layout="constrained")
plot.plot_map(vgg_edges, axes[0], rf_box=vgg_records, title="VGG-16: distinct edges", label="edges")
plot.plot_map(vgg_paths, axes[1], rf_box=vgg_records, scale="log", title="VGG-16: paths (log)",
              label="paths")
box = plot.theoretical_box(vgg_records, shape=SHAPE)
ys, xs = np.nonzero(vgg_edges)
assert box[0][0] <= ys.min() and ys.max() <= box[0][1]  # nothing outside the theoretical box
print("theoretical box:", box)
print("ERF 95% of edges:", plot.effective_rf(vgg_edges).size,
      "| ERF 95% of paths:", plot.effective_rf(vgg_paths).size)""",
    ),
    (
        "code",
        """\
ax = plot.plot_surface(vgg_paths / vgg_paths.max(), title="VGG-16 paths map as a surface")""",
    ),
    (
        "md",
        """\
## ResNet-50

ResNet-50's theoretical RF (427 pixels) is larger than the image, so the box is
clipped to the image. The contribution stays concentrated near the centre:
the identity shortcuts add many short paths.""",
    ),
    (
        "code",
        """\
resnet_edges = rf.contribution_map(resnet, SHAPE, "edges", endpoint=resnet_end)
resnet_paths = rf.contribution_map(resnet, SHAPE, "paths", endpoint=resnet_end)
fig, axes = plt.subplots(1, 2, figsize=(12, 5), layout="constrained")
plot.plot_map(resnet_edges, axes[0], rf_box=resnet_records, title="ResNet-50: distinct edges", label="edges")
plot.plot_map(resnet_paths, axes[1], rf_box=resnet_records, scale="log", title="ResNet-50: paths (log)",
              label="paths")
print("theoretical RF size:", resnet_records[-1].size, "| clipped box:",
      plot.theoretical_box(resnet_records, shape=SHAPE))
print("ERF 95% of paths:", plot.effective_rf(resnet_paths).size)""",
    ),
    ("md", "Both networks side by side, each map divided by its maximum so that one colour scale fits both:"),
    (
        "code",
        """\
fig = plot.compare([vgg_paths, resnet_paths], ["VGG-16 paths", "ResNet-50 paths"], normalize=True)""",
    ),
    (
        "md",
        """\
From the command line:

```
rfgraph map vgg16 --out vgg16.png
rfgraph map vgg16 --metric paths --scale log --out vgg16_paths.svg
```""",
    ),
]

# --------------------------------------------------------------------------- (c)
NOTEBOOKS["03_dilation_gridding.ipynb"] = [
    (
        "md",
        """\
# (c) Dilation gridding: rates [2, 2, 2] vs [1, 2, 5]

Stacking dilated convolutions with the same rate leaves a regular grid of pixels
that never reach the output: *gridding*. With rates that share no common factor
([1, 2, 5], as in hybrid dilated convolution) the receptive field has no holes.
The theoretical receptive-field size does not show the holes, but the exact
graph does.""",
    ),
    ("code", SETUP),
    (
        "code",
        """\
same = rf.parse_spec("conv3d2*3")             # rates 2, 2, 2
hybrid = rf.parse_spec("conv3,conv3d2,conv3d5")  # rates 1, 2, 5
for name, net in [("[2,2,2]", same), ("[1,2,5]", hybrid)]:
    rec = rf.receptive_field(net, (41,))[-1]
    mask = rf.reach(net, (41,))
    box = plot.theoretical_box(rec)
    inside = mask[box[0][0]: box[0][1] + 1]
    print(f"{name}: theoretical RF {rec.size[0]} pixels, {inside.sum()} reach the target, "
          f"{(~inside).sum()} holes")""",
    ),
    (
        "md",
        """\
In 1-D, the [2, 2, 2] stack only sees every other pixel of its 13-pixel field, and
the [1, 2, 5] stack sees all 17:""",
    ),
    (
        "code",
        """\
fig = plot.compare([same, hybrid], ["rates [2, 2, 2]", "rates [1, 2, 5]"], input_shape=(41,), metric="paths")""",
    ),
    (
        "md",
        """\
In 2-D the holes multiply: only 7×7 = 49 of the 169 pixels in the [2, 2, 2] box
are ever seen. Both maps use one log colour scale; grey pixels have no path at all.""",
    ),
    (
        "code",
        """\
SHAPE = (41, 41)
fig = plot.compare([same, hybrid], ["rates [2, 2, 2]", "rates [1, 2, 5]"], input_shape=SHAPE,
                   metric="paths", scale="log", erf_mass=None)
for name, net in [("[2,2,2]", same), ("[1,2,5]", hybrid)]:
    m = rf.contribution_map(net, SHAPE, "paths")
    (y0, y1), (x0, x1) = plot.theoretical_box(rf.receptive_field(net, SHAPE), shape=SHAPE)
    box = m[y0: y1 + 1, x0: x1 + 1]
    print(f"{name}: {int((box == 0).sum())} of {box.size} pixels in the theoretical box have no path")""",
    ),
    (
        "md",
        """\
The graph of the gridded stack on a short input. Every other input pixel is cut
off from the target (pale nodes, 0 under them):""",
    ),
    (
        "code",
        """\
ax = plot.plot_graph(same, (17,), source=4)""",
    ),
    (
        "code",
        """\
ax = plot.plot_graph(hybrid, (21,), source=4)""",
    ),
    (
        "md",
        """\
More rate-2 layers widen the field but do not fill it: every tap moves by an
even number of pixels, so one pixel in two per axis reaches the target, however
deep the stack. Neighbouring outputs see disjoint grids:""",
    ),
    (
        "code",
        """\
deep = rf.parse_spec("conv3d2*4")
m0 = rf.reach(deep, (41,), target=(12,))
m1 = rf.reach(deep, (41,), target=(13,))
print("target 12 sees", np.flatnonzero(m0).tolist())
print("target 13 sees", np.flatnonzero(m1).tolist())
assert not (m0 & m1).any()""",
    ),
]

# --------------------------------------------------------------------------- (d)
NOTEBOOKS["04_residual_identity_path.ipynb"] = [
    (
        "md",
        """\
# (d) Residual connections and the identity path

`Residual(body)` is `Add(Identity(), body)`. The identity shortcut is one extra edge
that skips the body. In the graph drawing it is the arc that bypasses the two
convolutions.""",
    ),
    ("code", SETUP),
    (
        "code",
        """\
block = "res(conv3p1,conv3p1)"
resnet = rf.parse_spec(f"{block}*2")
plain = rf.parse_spec("conv3p1*4")
ax = plot.plot_graph(resnet, (11,), source=3)""",
    ),
    (
        "md",
        """\
## Paths multiply like polynomials

In 1-D, one all-ones 3-tap convolution is the polynomial `1 + z + z²`. The body of a
block is its square. The block adds the identity: `1 + (1 + z + z²)²` (centred). Two
blocks give the square of that. Far from the borders, the paths profile is exactly
these coefficients:""",
    ),
    (
        "code",
        """\
conv = np.ones(3)
body = np.convolve(conv, conv)            # [1, 2, 3, 2, 1]
blk = body.copy()
blk[2] += 1                               # + identity at the centre: [1, 2, 4, 2, 1]
two_blocks = np.convolve(blk, blk)
paths = rf.contribution_map(resnet, (31,), "paths")
centre = 15
print("predicted:", two_blocks.astype(int).tolist())
print("rfgraph:  ", paths[centre - 4: centre + 5].astype(int).tolist())
assert np.array_equal(paths[centre - 4: centre + 5], two_blocks)""",
    ),
    (
        "md",
        """\
Without the shortcuts the same four convolutions give `(1 + z + z²)⁴`. The
receptive field is the same 9 pixels, but the residual network puts relatively
more weight on the centre pixel:""",
    ),
    (
        "code",
        """\
fig = plot.compare([plain, resnet], ["plain conv3p1 × 4", "2 residual blocks"], input_shape=(21,),
                   metric="paths", normalize=True)""",
    ),
    (
        "md",
        """\
## Do shortcuts shrink the effective receptive field?

With 8 blocks (16 convolutions) the theoretical RF is 33×33 pixels either way. If
we only count connections, the shortcuts change very little. Each block adds one
path through the identity but nine through its two 3×3 convolutions, so the maps
almost coincide: same 95% square, nearly the same share at the centre. The strong
centring reported for trained ResNets comes from the weights, which these counts
ignore. The identity path carries much more weight there than it does here.""",
    ),
    (
        "code",
        """\
SHAPE = (49, 49)
deep_plain = rf.parse_spec("conv3p1*16")
deep_res = rf.parse_spec("res(conv3p1,conv3p1)*8")
fig = plot.compare([deep_plain, deep_res], ["16 plain convolutions", "8 residual blocks"],
                   input_shape=SHAPE, metric="paths", normalize=True)
for name, net in [("plain", deep_plain), ("residual", deep_res)]:
    m = rf.contribution_map(net, SHAPE, "paths")
    print(f"{name:8s}: theoretical RF {rf.receptive_field(net, SHAPE)[-1].size}, "
          f"95% ERF {plot.effective_rf(m, 0.95).size}, centre pixel share {m[24, 24] / m.sum():.2%}")""",
    ),
]

# --------------------------------------------------------------------------- (e)
NOTEBOOKS["05_import_pytorch_model.ipynb"] = [
    (
        "md",
        """\
# (e) Importing your own PyTorch model

`rf.from_torch(module, input_shape)` traces a `torch.nn.Module` and keeps what
changes the graph: convolutions, pooling, up-sampling and merges. Activations,
normalisation and channel counts do not change it. Names follow the module
paths, so any module can be an end-point.""",
    ),
    (
        "code",
        SETUP
        + """
import torch
from torch import nn""",
    ),
    (
        "code",
        """\
model = nn.Sequential(
    nn.Conv2d(3, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(),
    nn.Conv2d(16, 16, 3, padding=1), nn.ReLU(),
    nn.MaxPool2d(2),
    nn.Conv2d(16, 32, 3, padding=2, dilation=2), nn.ReLU(),
    nn.Conv2d(32, 32, 3, stride=2, padding=1), nn.ReLU(),
    nn.Conv2d(32, 8, 1),
)
SHAPE = (64, 64)


net = rf.from_torch(model, SHAPE)
print(net)
print(rf.format_table(rf.receptive_field(net, SHAPE)))""",
    ),
    (
        "md",
        """\
The output has 16×16 positions. This is the contribution map of the centre one.
The network's final shape comes from PyTorch itself:""",
    ),
    (
        "code",
        """\
with torch.no_grad():
    out = model.eval()(torch.zeros(1, 3, *SHAPE))
print("torch output:", tuple(out.shape[2:]), "| rfgraph output:", rf.receptive_field(net, SHAPE)[-1].shape)
assert tuple(out.shape[2:]) == rf.receptive_field(net, SHAPE)[-1].shape
paths = rf.contribution_map(net, SHAPE, "paths")
ax = plot.plot_map(paths, rf_box=rf.receptive_field(net, SHAPE), title="paths to the centre output")""",
    ),
    (
        "md",
        """\
## Check against autograd

The number of paths equals the gradient of the target in the *linear, all-ones*
version of the network: every convolution has one channel and a kernel of ones,
every pooling is a sum, and nothing else is kept.""",
    ),
    (
        "code",
        """\
def all_ones_copy(module):
    layers = []
    for m in module.modules():
        if isinstance(m, nn.Conv2d):
            conv = nn.Conv2d(1, 1, m.kernel_size, stride=m.stride, padding=m.padding, dilation=m.dilation,
                             bias=False)
            nn.init.ones_(conv.weight)
            layers.append(conv)
        elif isinstance(m, (nn.MaxPool2d, nn.AvgPool2d)):
            layers.append(nn.AvgPool2d(m.kernel_size, m.stride, m.padding, ceil_mode=m.ceil_mode,
                                       divisor_override=1))  # a sum
    return nn.Sequential(*layers).double()


x = torch.zeros(1, 1, *SHAPE, dtype=torch.float64, requires_grad=True)
y = all_ones_copy(model)(x)
y[0, 0, y.shape[2] // 2, y.shape[3] // 2].backward()
grad = x.grad[0, 0].numpy()
print("max |gradient - paths| =", np.abs(grad - paths).max())
assert np.array_equal(grad, paths)""",
    ),
    (
        "md",
        """\
## A residual model from torchvision

Branches and merges come through torch.fx: here torchvision's ResNet-18 (no
weights are downloaded), with the map of the centre of `layer4`.""",
    ),
    (
        "code",
        """\
import torchvision

resnet = rf.from_torch(torchvision.models.resnet18(weights=None), (224, 224))
table = rf.receptive_field(resnet, (224, 224), endpoint="layer4")
print(table[-1])
edges = rf.contribution_map(resnet, (224, 224), endpoint="layer4")
ax = plot.plot_map(edges, rf_box=table, title="ResNet-18, centre of layer4: distinct edges")""",
    ),
    (
        "md",
        """\
## On an image

Any image of the input size can go underneath the map. Here it is a synthetic one.
The edges map is drawn with transparency over it:""",
    ),
    (
        "code",
        """\
yy, xx = np.mgrid[0:64, 0:64]
image = 0.5 + 0.5 * np.sin(np.hypot(yy - 20, xx - 40) / 3.0)
edges = rf.contribution_map(net, SHAPE, "edges")
ax = plot.plot_map(edges, image=image, alpha=0.55, rf_box=rf.receptive_field(net, SHAPE),
                   title="edges map over an image")""",
    ),
]

# --------------------------------------------------------------------------- (f)
NOTEBOOKS["06_move_the_target.ipynb"] = [
    (
        "md",
        """\
# (f) Move the target

Every output neuron has its own map. In the middle of the output all maps have the
same shape, shifted by the network's stride; near the border the image cuts them off,
and a border neuron is wired to fewer pixels. Move the sliders to see it.""",
    ),
    ("code", SETUP + "\nimport ipywidgets as widgets"),
    (
        "code",
        """\
net = rf.parse_spec("conv3p1*2,pool2,conv3p1*2")
SHAPE = (32, 32)
records = rf.receptive_field(net, SHAPE)
rows, cols = records[-1].shape
print(f"output {rows}x{cols}, theoretical field {records[-1].size}, stride {records[-1].stride}")""",
    ),
    ("md", "Three targets side by side: the centre, an edge and a corner. The colour scale is shared."),
    (
        "code",
        """\
targets = [(rows // 2, cols // 2), (rows // 2, 0), (0, 0)]
maps = [rf.contribution_map(net, SHAPE, "paths", target=t) for t in targets]
fig = plot.compare(maps, [f"target {t}" for t in targets])
for t, m in zip(targets, maps):
    print(f"target {t}: {np.count_nonzero(m)} pixels reach it, {int(m.sum())} paths in all")""",
    ),
    (
        "md",
        """\
Now drag the sliders (in a running notebook; a saved or printed copy shows the first
picture only). The dashed box is the theoretical field of the chosen neuron, the solid
square the 95% effective field.""",
    ),
    (
        "code",
        """\
def show(row=rows // 2, col=cols // 2, metric="paths"):
    m = rf.contribution_map(net, SHAPE, metric, target=(row, col))
    plot.plot_map(m, rf_box=records, target=(row, col), title=f"{metric} to output ({row}, {col})", label=metric)
    plt.show()


widgets.interact(
    show,
    row=widgets.IntSlider(value=rows // 2, min=0, max=rows - 1, description="row"),
    col=widgets.IntSlider(value=cols // 2, min=0, max=cols - 1, description="column"),
    metric=widgets.ToggleButtons(options=["paths", "edges"], description="metric"),
);""",
    ),
    (
        "md",
        """\
The same in 1-D with the network of notebook (a), five 3-tap convolutions over 15
inputs: a corner target loses the left half of its profile.""",
    ),
    (
        "code",
        """\
seed = rf.Sequential(*[rf.Conv(3)] * 5)


def show_profile(target=2):
    plot.plot_profile(rf.contribution_map(seed, (15,), target=(target,)), title=f"edges to output {target}",
                      ylabel="edges")
    plt.show()


widgets.interact(show_profile, target=widgets.IntSlider(value=2, min=0, max=4, description="target"));""",
    ),
]

# --------------------------------------------------------------------------- Luo et al.'s ERF layout
NOTEBOOKS["erf_luo_layout.ipynb"] = [
    (
        "md",
        """\
# Effective receptive fields: Luo et al.'s figure layout, exact and empirical

Luo, Li, Urtasun & Zemel (NeurIPS 2016, Fig. 1) show the effective receptive field (ERF) of
stacks of 3x3 convolutions with 5, 10, 20 and 40 layers, for **uniform** weights, **random**
weights and **random weights + ReLU**. With uniform (all-ones) weights the input gradient of
the centre output is exactly rfgraph's path-count map, so that row needs no sampling at all.
The random rows are empirical gradient maps (mean |gradient| over seeds and random inputs, Luo's
protocol) of torch networks built from the same description (`rfgraph.erf.empirical_erf`).
The last row is the exact edge-count map: the importance of each pixel as the number of
distinct edges on its paths to the target (the importance-profile article's measure).

Needs `torch`; runs in well under a minute on 2 CPU cores.""",
    ),
    (
        "code",
        SETUP
        + """
import torch

from rfgraph import erf

torch.set_num_threads(2)
DEPTHS = (5, 10, 20, 40)
SIZE = 64                      # input 64x64 as in a small Luo-style experiment; 40 layers overflow it
SEEDS, INPUTS, CHANNELS = 6, 4, 4


def network(depth):
    return rf.Sequential(*[rf.Conv(3, padding=1)] * depth)""",
    ),
    (
        "code",
        """\
maps = {}
for depth in DEPTHS:
    net = network(depth)
    shape = (SIZE, SIZE)
    maps["uniform (exact paths)", depth] = rf.contribution_map(net, shape, "paths")
    common = dict(seeds=SEEDS, inputs=INPUTS, channels=CHANNELS, dtype=torch.float32)
    maps["random", depth] = erf.empirical_erf(net, shape, **common)
    maps["random + ReLU", depth] = erf.empirical_erf(net, shape, relu=True, **common)
    maps["exact edges", depth] = rf.contribution_map(net, shape, "edges").astype(float)

# With all-ones weights the torch gradient *is* the path-count map.
ones = erf.empirical_erf(network(5), (SIZE, SIZE), weights="ones", channels=1, seeds=1, inputs=1)
print("uniform torch gradient == exact path count:",
      np.allclose(ones, maps["uniform (exact paths)", 5], rtol=1e-12))""",
    ),
    (
        "code",
        """\
rows = ["uniform (exact paths)", "random", "random + ReLU", "exact edges"]
fig, axes = plt.subplots(len(rows), len(DEPTHS), figsize=(2.6 * len(DEPTHS), 2.6 * len(rows)))
for i, row in enumerate(rows):
    for j, depth in enumerate(DEPTHS):
        ax = axes[i, j]
        m = maps[row, depth]
        ax.imshow(m / m.max(), cmap="viridis", vmin=0, vmax=1)
        ax.set_xticks([])
        ax.set_yticks([])
        if i == 0:
            ax.set_title(f"{depth} layers")
        if j == 0:
            ax.set_ylabel(row)
fig.suptitle("ERF of 3x3 conv stacks on a 64x64 input (each map scaled to its maximum)")
fig.tight_layout()""",
    ),
    (
        "md",
        """\
## Profiles through the centre

Normalised centre rows: the empirical random maps are Gaussian-like and close to the exact
path counts (mean |g| is about the square root of the path count for linear nets, hence a bit
wider); the edge-count maps are much flatter.""",
    ),
    (
        "code",
        """\
fig, axes = plt.subplots(1, len(DEPTHS), figsize=(3.2 * len(DEPTHS), 2.8), sharey=True)
for ax, depth in zip(axes, DEPTHS):
    for row in rows:
        line = maps[row, depth][SIZE // 2]
        ax.plot(line / line.max(), label=row)
    ax.set_title(f"{depth} layers")
axes[0].legend(fontsize=7)
fig.tight_layout()""",
    ),
    (
        "md",
        """\
## Numbers: correlation, variance ratio, area ratios

`compare_empirical` gives the Pearson correlation of the empirical map with the exact maps,
the ratio of their variances, and the high-contribution area ratios (scale-free, and RepLKNet's
log10(1+x) version, which depends on the units of the map: for huge path counts it inflates the area).""",
    ),
    (
        "code",
        """\
print(f"{'depth':>5} {'variant':>14} {'corr paths':>10} {'corr edges':>10} {'var/var_paths':>13} "
      f"{'area50 emp':>10} {'area50 paths':>12} {'RepLK50 paths':>13}")
for depth in DEPTHS:
    net = network(depth)
    for relu in (False, True):
        c = erf.compare_empirical(net, (SIZE, SIZE), relu=relu, seeds=SEEDS, inputs=INPUTS,
                                  channels=CHANNELS, dtype=torch.float32, thresholds=(0.5,))
        print(f"{depth:>5} {'random + ReLU' if relu else 'random':>14} {c.correlation['paths']:>10.3f} "
              f"{c.correlation['edges']:>10.3f} {c.variance_ratio['paths'][0]:>13.3f} "
              f"{c.area_ratio['empirical'][0.5].ratio:>10.4f} {c.area_ratio['paths'][0.5].ratio:>12.4f} "
              f"{c.replknet_area_ratio['paths'][0.5].ratio:>13.4f}")""",
    ),
    (
        "md",
        """\
## Scaling: ERF size ~ sqrt(n), theoretical RF ~ n

Uniform chains of n = 1..64 3x3 layers, each on an input exactly as large as its receptive field.
The ERF size (standard deviation of the normalised path-count map) is exactly sqrt(2n/3); the
fitted exponent is 0.5 and the ratio to the theoretical RF shrinks like 1/sqrt(n). The edge
metric behaves differently: its ERF grows linearly, like the theoretical RF.""",
    ),
    (
        "code",
        """\
paths = erf.scaling_study(range(1, 65), metric="paths", fractions=(0.5, 0.9))
edges = erf.scaling_study((1, 2, 4, 8, 16, 32, 64), metric="edges", fractions=(0.5, 0.9))
for s in (paths, edges):
    print(s.metric, {k: round(v, 3) for k, v in s.exponents.items()})
fig, ax = plt.subplots(figsize=(4.5, 3.2))
ax.loglog(paths.ns, paths.span, "k-", label="theoretical RF")
ax.loglog(paths.ns, paths.std, "C0-", label="std, paths")
ax.loglog(edges.ns, edges.std, "C3o-", label="std, edges")
ax.set_xlabel("layers n")
ax.legend(fontsize=8)
fig.tight_layout()""",
    ),
]


# --------------------------------------------------------------------------- ERF of your model (issue 11)


def erf_of_your_model_cells() -> list[tuple[str, str]]:
    """Cells of "ERF of your model": a small CNN trained here, its gradient ERF beside the exact maps."""
    return [
        (
            "md",
            """\
# ERF of your model

The exact path and edge maps describe the *architecture*. The effective receptive field
(ERF) of Luo et al. is a property of the *weights*: the mean |gradient| of one output
position with respect to the input pixels. `rf.erf.gradient_erf` computes it for any
torch model (your own, a torchvision or timm one, a TorchScript or `torch.export` file);
`rf.erf.compare_trained` puts it beside the exact maps and the theoretical field of the
same module, before and after training.

Here a small CNN is trained for a few seconds on synthetic images (rings against
squares, nothing downloaded).""",
        ),
        (
            "code",
            SETUP
            + """
import copy
import time

import torch
import torch.nn as nn

torch.manual_seed(0)
torch.set_num_threads(1)


def make_data(n, size=32, seed=0):
    \"\"\"Noisy ring (label 0) or square outline (label 1) of random size and position.\"\"\"
    g = torch.Generator().manual_seed(seed)
    yy, xx = torch.meshgrid(torch.arange(size), torch.arange(size), indexing="ij")
    labels = torch.randint(0, 2, (n,), generator=g)
    cy, cx = torch.rand(2, n, 1, 1, generator=g) * 12 + 10
    r = torch.rand(n, 1, 1, generator=g) * 4 + 5
    ring = ((torch.hypot(yy - cy, xx - cx) - r).abs() < 1.0).float()
    square = ((torch.maximum((yy - cy).abs(), (xx - cx).abs()) - r).abs() < 1.0).float()
    x = torch.where(labels[:, None, None] == 1, square, ring) + 0.5 * torch.randn(n, size, size, generator=g)
    return x[:, None], labels


class SmallCNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(),
            nn.Conv2d(16, 32, 3, stride=2, padding=1), nn.BatchNorm2d(32), nn.ReLU(),
            nn.Conv2d(32, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(),
            nn.Conv2d(32, 32, 3, stride=2, padding=1), nn.BatchNorm2d(32), nn.ReLU(),
            nn.Conv2d(32, 32, 3, padding=1),
        )
        self.head = nn.Sequential(nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(32, 2))

    def forward(self, x):
        return self.head(self.features(x))


model = SmallCNN()
untrained = copy.deepcopy(model)  # the same architecture before training
x_train, y_train = make_data(1536)
x_test, y_test = make_data(512, seed=1)""",
        ),
        ("md", "Train for three epochs (a few seconds on one CPU thread):"),
        (
            "code",
            """\
opt = torch.optim.Adam(model.parameters(), lr=3e-3)
start = time.perf_counter()
for epoch in range(3):
    model.train()
    for i in range(0, len(x_train), 64):
        loss = nn.functional.cross_entropy(model(x_train[i : i + 64]), y_train[i : i + 64])
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()
    with torch.no_grad():
        accuracy = (model(x_test).argmax(1) == y_test).float().mean().item()
    print(f"epoch {epoch}: loss {loss.item():.3f}, test accuracy {accuracy:.3f}")
print(f"trained in {time.perf_counter() - start:.1f} s")""",
        ),
        (
            "md",
            """\
## The ERF beside the exact maps

The output of `features` (8 x 8 positions) is the last spatial tensor; its centre is the
target. The inputs are 32 test images. `compare_trained` imports the same module with
`rf.from_torch` for the exact maps and the theoretical field (dashed box), and computes
the ERF of the trained weights and of the untrained copy.""",
        ),
        (
            "code",
            """\
cmp = rf.erf.compare_trained(model, x_test[:32], "features", untrained=untrained)
print(cmp.summary())
fig = rf.erf.plot_trained(cmp, title="SmallCNN: ERF of features[centre], before and after training")""",
        ),
        (
            "md",
            """\
The exact maps are the same before and after training (they depend on the
architecture only); the gradient maps are not. Compare the spread (std), the share of
mass inside the theoretical field and the RepLKNet area ratios of the two:""",
        ),
        (
            "code",
            """\
for name in ("untrained", "trained"):
    s = cmp.stats[name]
    ratios = {t: round(sq.ratio, 3) for t, sq in s.replknet_area_ratio.items()}
    print(f"{name:>9}: std {s.std[0]:.2f} x {s.std[1]:.2f} px, r(paths) {cmp.correlation[name]['paths']:.3f}, "
          f"RepLKNet area ratios {ratios}")
assert cmp.maps["trained"].shape == (32, 32)
assert abs(cmp.inside["trained"] - 1) < 1e-9  # a gradient never leaves the theoretical field""",
        ),
        (
            "md",
            """\
## Your own checkpoint

A state dict, or a checkpoint wrapping one (`{"state_dict": ...}`, `{"model": ...}`,
`module.` prefixes), loads with `torch.load(..., weights_only=True)`: a checkpoint never
runs code. On the command line: `rfgraph erf-model package.module:SmallCNN --weights
ckpt.pth --output features --input 32 --channels 1 --out erf.png`.""",
        ),
        (
            "code",
            """\
import os
import tempfile

path = os.path.join(tempfile.mkdtemp(), "ckpt.pth")
torch.save({"epoch": 4, "state_dict": {"module." + k: v for k, v in model.state_dict().items()}}, path)
reloaded = rf.erf.load_model(SmallCNN(), weights=path)
erf = rf.erf.gradient_erf(reloaded, x_test[:32], output="features")
assert np.allclose(erf, cmp.maps["trained"])
print("same ERF from the checkpoint:", erf.shape)""",
        ),
    ]


NOTEBOOKS["07_erf_of_your_model.ipynb"] = erf_of_your_model_cells()


# --------------------------------------------------------------------------- (h)
NOTEBOOKS["08_attention_fields.ipynb"] = [
    (
        "md",
        """\
# (h) Attention fields: a Swin stage next to a CNN stage

Self-attention connects every token with every token it attends to. In the graph
that is simply an all-to-all layer: *global* attention (ViT) joins every position
to every position, *window* attention (Swin) joins the positions inside each
window of 7×7 tokens. Swin alternates plain windows and windows shifted by 3
tokens, so a block reaches into the neighbouring windows and the field grows by a
**whole window per block**, where a 3×3 convolution grows it by one token on
each side.""",
    ),
    ("code", SETUP),
    (
        "md",
        """\
Both stages start with the same patch embedding, a 4×4 convolution with stride 4
(one token per 4×4 pixels). A Swin block is a residual window attention followed
by a residual MLP (two 1×1 convolutions, which do not move the field). The CNN
block is a residual 3×3 convolution followed by a 1×1 convolution. In a spec
string the Swin stage reads `conv4s4, res(wmix7), res(conv1,conv1), res(wmix7s3), ...`.""",
    ),
    (
        "code",
        """\
SHAPE = (140, 140)  # 35×35 tokens: five windows of 7 on each axis
BLOCKS = [f"block{i}" for i in range(1, 5)]


def swin_block(i):
    shift = 3 if i % 2 == 0 else 0  # every second block shifts its windows
    return rf.Sequential(rf.Residual(rf.WindowMix(7, shift=shift)),
                         rf.Residual(rf.Sequential(rf.Conv(1), rf.Conv(1))), name=f"block{i}")


def cnn_block(i):
    return rf.Sequential(rf.Residual(rf.Conv(3, padding=1)), rf.Conv(1), name=f"block{i}")


swin = rf.Sequential(rf.Conv(4, stride=4, name="embed"), *[swin_block(i) for i in range(1, 5)])
cnn = rf.Sequential(rf.Conv(4, stride=4, name="embed"), *[cnn_block(i) for i in range(1, 5)])
print(swin)""",
    ),
    (
        "md",
        """\
The receptive-field table after each block (`rf.receptive_field`), in pixels and in
tokens (pixels / 4). Swin's field grows by 7 tokens, one window, per block; the
CNN's by 2 tokens per 3×3 convolution:""",
    ),
    (
        "code",
        """\
fields = {}
for label, net in [("Swin", swin), ("CNN", cnn)]:
    fields[label] = [rf.receptive_field(net, SHAPE, b)[-1].size[0] for b in BLOCKS]
print(f"{'block':8s}{'Swin px':>9s}{'tokens':>8s}{'CNN px':>9s}{'tokens':>8s}")
for b, s, c in zip(BLOCKS, fields["Swin"], fields["CNN"]):
    print(f"{b:8s}{s:9d}{s // 4:8d}{c:9d}{c // 4:8d}")
assert [s // 4 for s in fields["Swin"]] == [7, 14, 21, 28]
assert [c // 4 for c in fields["CNN"]] == [3, 5, 7, 9]""",
    ),
    (
        "md",
        """\
The same growth seen from the centre token: which input pixels reach it after each
block (`rf.reach`, top row Swin, bottom row CNN; the number of paths from each
pixel, `rf.contribution_map`, as the shade). The centre token sits in the middle of
its window, and after one block it sees exactly that window. The shifted windows of
the next block straddle two plain windows, so the field gains a whole window on one
side (lopsided); the next plain block gains one on the other side. The CNN's field
is a small square that grows by one token per side.""",
    ),
    (
        "code",
        """\
fig, axes = plt.subplots(2, 4, figsize=(10, 5.4))
for row, (label, net) in zip(axes, [("Swin", swin), ("CNN", cnn)]):
    for ax, b in zip(row, BLOCKS):
        paths = rf.contribution_map(net, SHAPE, "paths", endpoint=b)
        reached = rf.reach(net, SHAPE, endpoint=b)
        assert np.array_equal(paths > 0, reached)
        ax.imshow(np.log1p(paths), cmap="magma")
        ys, xs = np.nonzero(reached)
        ax.set_title(f"{label} {b}: {xs.max() - xs.min() + 1}×{ys.max() - ys.min() + 1} px", fontsize=9)
        ax.axis("off")
fig.tight_layout()""",
    ),
    (
        "md",
        """\
In the spec, shifted windows wrap around the border as a plain `roll` does.

## A real Swin stage: torchvision `swin_t`

The first stage of `swin_t` (patch embedding and two blocks: plain, then shifted
windows) imported with `rf.from_torch`, randomly initialised (nothing is
downloaded). Its shifted windows wrap around too: the shift mask adds -100 to the
scores between tokens that the roll brought across the border, which makes their
weight tiny (about e⁻¹⁰⁰) but not zero. So the bottom-right token reads the top-left
corner, in the exact graph as in torch's gradient:""",
    ),
    (
        "code",
        """\
import warnings

import torch
import torchvision

model = torchvision.models.swin_t(weights=None).eval()
stage = torch.nn.Sequential(model.features[0], model.features[1])
with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # torch's tracer warns about shape arithmetic
    real = rf.from_torch(stage, (112, 112))
print(sorted({type(op).__name__ for op in real.ops}))
for r in rf.receptive_field(real, (112, 112)):
    if r.name in ("0.0", "1.0", "1.1"):  # patch embedding, block 1, block 2 (shifted)
        print(f"{r.name:4s} tokens {r.shape}  field {r.size[0]} px")
reached = rf.reach(real, (112, 112))
ys, xs = np.nonzero(reached)
print("the centre token reaches", f"{xs.max() - xs.min() + 1}×{ys.max() - ys.min() + 1}", "pixels")
corner = rf.reach(real, (112, 112), target=(27, 27))  # the last of 28×28 tokens
print("the bottom-right token reads the top-left corner:", bool(corner[:4, :4].any()))
fig, axes = plt.subplots(1, 2, figsize=(5, 2.6))
for ax, m, title in zip(axes, [reached, corner], ["centre token", "bottom-right token"]):
    ax.imshow(m, cmap="gray_r", vmin=0, vmax=1)
    ax.set_title(title, fontsize=9)
    ax.set_xticks([])
    ax.set_yticks([])
fig.suptitle("swin_t stage 1: pixels each token reads", fontsize=10)
fig.tight_layout()""",
    ),
    (
        "md",
        """\
## A ViT: one attention layer makes the field global

A small torchvision `VisionTransformer` (16×16 patches on a 64×64 input, two
layers). After the patch embedding each token sees its own 16×16 patch; after the
first attention layer every token sees every pixel, and the table says
`global_context`:""",
    ),
    (
        "code",
        """\
vit = torchvision.models.VisionTransformer(image_size=64, patch_size=16, num_layers=2, num_heads=2,
                                           hidden_dim=32, mlp_dim=64).eval()
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    vnet = rf.from_torch(vit, (64, 64))
for r in rf.receptive_field(vnet, (64, 64)):
    if r.name in ("conv_proj", "encoder.layers.encoder_layer_0", "encoder.layers.encoder_layer_1"):
        print(f"{r.name:32s} tokens {r.shape}  global: {r.global_context}")
patch = rf.reach(vnet, (64, 64), endpoint="conv_proj")
layer = rf.reach(vnet, (64, 64), endpoint="encoder.layers.encoder_layer_0")
print("pixels reached by the centre token:", int(patch.sum()), "after the embedding,", int(layer.sum()),
      "after one attention layer")
assert layer.all()
fig, axes = plt.subplots(1, 2, figsize=(5, 2.6))
for ax, m, title in zip(axes, [patch, layer], ["patch embedding", "after attention layer 1"]):
    ax.imshow(m, cmap="gray_r", vmin=0, vmax=1)
    ax.set_title(title, fontsize=9)
    ax.set_xticks([])
    ax.set_yticks([])
fig.tight_layout()""",
    ),
]


# --------------------------------------------------------------------------- ERF theory (issue 26)


NOTEBOOKS["09_erf_theory.ipynb"] = [
    (
        "md",
        """\
# ERF theory, exactly

Luo et al. (2016) studied the *effective* receptive field: how strongly each input pixel moves
one output. rfgraph computes three exact versions of it for any architecture: the path count
(every weight one), the averaging network (`weights="mean"`: every op averages its inputs) and
the expected squared gradient over random initialisations (`rf.erf.expected_erf`). This notebook
reproduces Luo's findings with them, checks the random one against Monte Carlo, counts paths by
length as Veit et al. (2016) did, and trains a small network to watch its ERF grow.
`docs/theory.md` has the same results as a table, beside the papers' numbers.""",
    ),
    ("code", SETUP + "\nfrom rfgraph import erf"),
    (
        "md",
        """\
## Gaussian, and growing like the square root of the depth

For n stacked 3-tap convolutions the ERF's standard deviation is exactly sqrt(2n/3), so it grows
like sqrt(n) while the theoretical field grows like n: the ratio shrinks like 1/sqrt(n).""",
    ),
    (
        "code",
        """\
study = erf.scaling_study(range(1, 33), ndim=1, fractions=(0.5,))
print({k: round(v, 3) for k, v in study.exponents.items()})
fig, ax = plt.subplots(figsize=(4.5, 3.2))
ax.loglog(study.ns, study.span, "k-", label="theoretical RF (pixels)")
ax.loglog(study.ns, study.std, "C0-", label="ERF std (pixels)")
ax.set_xlabel("depth n")
ax.legend(fontsize=8)
fig.tight_layout()""",
    ),
    (
        "md",
        """\
## Uniform, random and ReLU weights

For a chain, E[(dy/dx)^2] over kaiming initialisations is the averaging network's map: the same
shape as the uniform one. With ReLU the usual rule (each ReLU halves the expectation) keeps that
shape; the Monte Carlo estimate over 1000 random torch networks shows how close the rule is.""",
    ),
    (
        "code",
        """\
chain = rf.Sequential(*[rf.Conv(3, padding=1) for _ in range(5)])
shape = (21,)
uniform = rf.contribution_map(chain, shape, "paths")
random_linear = erf.expected_erf(chain, shape)
rule = erf.expected_erf(chain, shape, activation="relu")
mc = erf.sampled_erf(chain, shape, activation="relu", draws=1000, channels=8)
fig, ax = plt.subplots(figsize=(5.5, 3.2))
for values, label, style in [
    (uniform, "uniform weights (paths)", "k-"),
    (random_linear, "random linear (exact)", "C0--"),
    (rule, "random ReLU, 1/2 rule", "C1:"),
    (mc.mean, "random ReLU, Monte Carlo", "C3o"),
]:
    ax.plot(values / values.sum(), style, label=label)
ax.set_xlabel("input position")
ax.legend(fontsize=7)
fig.tight_layout()""",
    ),
    (
        "md",
        """\
## Skip connections shrink the ERF, subsampling and dilation enlarge it

Counting paths, a residual stack looks almost like the plain chain (every 3x3 body has 9 paths,
the shortcut 1). Weighted as the averaging or the random network, the shortcut's single path
weighs as much as all nine, and the ERF shrinks.""",
    ),
    (
        "code",
        """\
plain = rf.Sequential(*[rf.Conv(3, padding=1) for _ in range(8)])
residual = rf.Sequential(*[rf.Residual(rf.Conv(3, padding=1)) for _ in range(8)])
shape = (33, 33)
fig, axes = plt.subplots(1, 3, figsize=(9, 3))
maps = [
    ("plain chain", erf.expected_erf(plain, shape)),
    ("residual, paths", rf.contribution_map(residual, shape, "paths")),
    ("residual, expected", erf.expected_erf(residual, shape)),
]
for ax, (title, values) in zip(axes, maps):
    ax.imshow(values[8:25, 8:25], cmap="viridis")
    ax.set_title(f"{title}: std {erf.erf_stats(values).std[0]:.2f}", fontsize=8)
    ax.set_xticks([])
    ax.set_yticks([])
for name, net in [("strided", rf.Sequential(rf.Conv(3), rf.Conv(3, stride=2), rf.Conv(3), rf.Conv(3))),
                  ("dilated", rf.Sequential(rf.Conv(3), rf.Conv(3, dilation=2), rf.Conv(3), rf.Conv(3))),
                  ("plain", rf.Sequential(*[rf.Conv(3)] * 4))]:
    n = erf.predict(net).span[0]
    print(name, "expected-ERF std", round(erf.erf_stats(erf.expected_erf(net, (n,), target=(0,))).std[0], 3))""",
    ),
    (
        "md",
        """\
## Paths by length (Veit et al.)

n residual blocks with one-convolution bodies have C(n, k) paths through k convolutions. On
pixels, the paths of each length carry their own field: short paths stay near the centre.""",
    ),
    (
        "code",
        """\
blocks = rf.Sequential(*[rf.Residual(rf.Conv(3, padding=1)) for _ in range(8)])
print(rf.path_lengths(blocks).tolist())
fig = plot.plot_path_lengths(blocks, (33,), scale="log")""",
    ),
    (
        "md",
        """\
## Training enlarges the ERF

A small fully convolutional network (theoretical field 15 x 15) learns a dense task that needs
more context than its untrained ERF uses: reproduce its input blurred by a Gaussian of std 6 pixels. Its gradient ERF (Luo's definition, `rf.erf.gradient_erf`) before and
after a few hundred steps:""",
    ),
    (
        "code",
        """\
import torch
import torch.nn as nn

torch.manual_seed(0)
torch.set_num_threads(1)
layers = []
for i in range(6):
    layers += [nn.Conv2d(1 if i == 0 else 8, 8, 3, padding=1), nn.ReLU()]
model = nn.Sequential(*layers, nn.Conv2d(8, 1, 3, padding=1))
grid = torch.arange(-12, 13, dtype=torch.float32)
kernel = torch.exp(-(grid[:, None] ** 2 + grid[None, :] ** 2) / (2 * 6.0**2))
kernel = (kernel / kernel.sum())[None, None]


def batch(n=16):
    x = torch.randn(n, 1, 32, 32)
    return x, nn.functional.conv2d(x, kernel, padding=12)


probe = torch.randn(16, 1, 32, 32)
before = erf.gradient_erf(model, probe)
opt = torch.optim.Adam(model.parameters(), lr=3e-3)
for step in range(300):
    x, y = batch()
    loss = nn.functional.mse_loss(model(x), y)
    opt.zero_grad()
    loss.backward()
    opt.step()
after = erf.gradient_erf(model, probe)
print(f"loss {loss.item():.4f}")
std_before, std_after = np.mean(erf.erf_stats(before).std), np.mean(erf.erf_stats(after).std)
print(f"ERF std before {std_before:.2f} px, after {std_after:.2f} px ({100 * (std_after / std_before - 1):+.0f} %)")
fig, axes = plt.subplots(1, 2, figsize=(6, 3))
for ax, values, title in [(axes[0], before, "before training"), (axes[1], after, "after training")]:
    ax.imshow(values, cmap="viridis")
    ax.set_title(title, fontsize=9)
    ax.set_xticks([])
    ax.set_yticks([])""",
    ),
]


def build() -> list[Path]:
    written = []
    for name, cells in NOTEBOOKS.items():
        nb = new_notebook(
            cells=[new_markdown_cell(src) if kind == "md" else new_code_cell(src) for kind, src in cells],
            metadata={
                "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
                "language_info": {"name": "python"},
            },
        )
        # Stable cell ids keep the diff small when the notebooks are rebuilt.
        for i, cell in enumerate(nb.cells):
            cell["id"] = f"{Path(name).stem[:3].rstrip('_')}-{i:02d}"
        nbformat.validate(nb)
        path = HERE / name
        nbformat.write(nb, path)
        written.append(path)
    return written


if __name__ == "__main__":
    for p in build():
        print("wrote", p.relative_to(HERE.parent))
