"""Image tests for rfgraph.plot: every function renders under Agg, the picture is not
blank, and the plotted data are the map's."""

from __future__ import annotations

import io
import subprocess
import sys
import types

import numpy as np
import pytest

import rfgraph as rf

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg", force=True)
import matplotlib.pyplot as plt  # noqa: E402

plt.rcParams["figure.dpi"] = 50  # small renders keep the suite fast; the checks do not need detail

from rfgraph import plot  # noqa: E402
from rfgraph.graph import to_networkx  # noqa: E402
from rfgraph.graph.reference import paths_and_edges  # noqa: E402

SEED = rf.Sequential(*[rf.Conv(3)] * 5)
SEED_EDGES = [5, 13, 24, 31, 36, 37, 36, 31, 24, 13, 5]
SEED_PATHS = [1, 5, 15, 30, 45, 51, 45, 30, 15, 5, 1]
SMALL2D = rf.parse_spec("conv3p1*2,pool2,conv3p1*2")


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def pixels(fig) -> np.ndarray:
    """The rendered RGB pixels of a figure (Agg)."""
    fig.canvas.draw()
    return np.asarray(fig.canvas.buffer_rgba())[..., :3].astype(float)


def assert_not_blank(fig, min_ink: float = 0.01) -> None:
    px = pixels(fig)
    ink = np.mean(np.any(px < 250, axis=-1))  # share of non-white pixels
    assert px.std() > 5, "the image is uniform"
    assert ink > min_ink, f"only {ink:.2%} of the image is drawn"
    assert len(np.unique(px.reshape(-1, 3), axis=0)) > 8, "too few colours"


# --------------------------------------------------------------------------- lazy import


def test_import_rfgraph_does_not_import_matplotlib():
    code = "import sys, rfgraph, rfgraph.plot, rfgraph.output; print('matplotlib' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_plot_submodules_do_not_import_matplotlib():
    mods = ", ".join(f"rfgraph.plot.{m}" for m in ("_common", "maps", "profiles", "surfaces", "graph", "comparison"))
    code = f"import sys, {mods}; assert 'matplotlib' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


# The names rfgraph.plot exposed before it became a package (rfgraph 0.1): none may disappear.
_PLOT_API_0_1 = {
    "ERF", "IMAGE_SUFFIXES", "compare", "effective_rf", "path_edges", "plot_graph", "plot_map", "plot_profile",
    "plot_surface", "save_graph_figure", "save_map_figure", "save_profile_figure", "theoretical_box",
    "Box", "ERF_STYLE", "GRAPH_MAX_NODES", "INSTALL_HINT", "RF_BOX_STYLE", "Scale",
}  # fmt: skip


def test_namespace_is_clean():
    # dir(rfgraph.plot) is its API plus its submodules: no helper imports such as np, math or Any.
    assert set(plot.__all__) >= _PLOT_API_0_1
    public = {n for n in dir(plot) if not n.startswith("__")}
    submodules = {n for n in public if isinstance(getattr(plot, n), types.ModuleType)}
    assert submodules <= {"_common", "maps", "profiles", "surfaces", "graph", "comparison"}
    assert public - submodules == set(plot.__all__)
    assert callable(plot.compare)  # the function, not a submodule of the same name


def test_missing_matplotlib_gives_install_hint(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(rf.RFGraphError, match=r"pip install 'rfgraph\[plot\]'"):
        plot.plot_profile([1, 2, 3])


# --------------------------------------------------------------------------- profile


def test_profile_seed_bars_and_labels():
    m = rf.contribution_map(SEED, (15,))
    ax = plot.plot_profile(m)
    assert [p.get_height() for p in ax.patches] == m.tolist()
    labels = [t.get_text() for t in ax.texts]
    assert [int(t) for t in labels if t] == SEED_EDGES
    assert_not_blank(ax.figure)


def test_profile_trim_and_log():
    m = rf.contribution_map(SEED, (15,), "paths")
    ax = plot.plot_profile(m, trim=True, scale="log")
    assert [p.get_height() for p in ax.patches] == SEED_PATHS
    assert [round(p.get_x() + p.get_width() / 2) for p in ax.patches] == list(range(2, 13))
    assert ax.get_yscale() == "log"
    assert_not_blank(ax.figure)


def test_profile_rejects_2d():
    with pytest.raises(rf.RFGraphError, match="1"):
        plot.plot_profile(np.ones((3, 3)))


# --------------------------------------------------------------------------- map


def test_map_linear_data_box_and_erf():
    m = rf.contribution_map(SMALL2D, (32, 32))
    recs = rf.receptive_field(SMALL2D, (32, 32))
    ax = plot.plot_map(m, rf_box=recs)
    np.testing.assert_array_equal(np.asarray(ax.images[-1].get_array()), m)
    rects = [p for p in ax.patches]
    assert len(rects) == 2  # theoretical RF and effective RF
    box = plot.theoretical_box(recs, shape=m.shape)
    (y0, y1), (x0, x1) = box
    assert rects[0].get_xy() == (x0 - 0.5, y0 - 0.5)
    assert rects[0].get_width() == x1 - x0 + 1
    # every non-zero pixel lies in the theoretical box
    ys, xs = np.nonzero(m)
    assert ys.min() >= y0 and ys.max() <= y1 and xs.min() >= x0 and xs.max() <= x1
    assert len(ax.figure.axes) == 2  # the colour bar
    assert_not_blank(ax.figure, 0.2)


def test_map_log_masks_zeros():
    m = rf.contribution_map(SMALL2D, (32, 32), "paths")
    ax = plot.plot_map(m, scale="log", erf_mass=None)
    data = ax.images[-1].get_array()
    assert np.ma.is_masked(data)
    np.testing.assert_array_equal(data.mask, m == 0)
    np.testing.assert_array_equal(data.filled(0), m)
    assert type(ax.images[-1].norm).__name__ == "LogNorm"
    assert_not_blank(ax.figure, 0.2)


def test_map_overlay_on_image():
    m = rf.contribution_map(SMALL2D, (32, 32))
    rng = np.random.default_rng(0)
    image = rng.random((32, 32, 3))
    ax = plot.plot_map(m, image=image, alpha=0.5, target=(0, 0), rf_box=rf.receptive_field(SMALL2D, (32, 32)))
    assert len(ax.images) == 2
    np.testing.assert_array_equal(ax.images[0].get_array(), image)
    assert ax.images[-1].get_alpha() == 0.5
    np.testing.assert_array_equal(ax.images[-1].get_array().mask, m == 0)  # the image shows through
    assert_not_blank(ax.figure, 0.2)
    with pytest.raises(rf.RFGraphError, match="does not match"):
        plot.plot_map(m, image=np.zeros((10, 10)))


def test_map_explicit_box_and_errors():
    m = np.zeros((9, 9))
    m[3:6, 3:6] = 1
    ax = plot.plot_map(m, rf_box=((2, 6), (2, 6)))
    assert ax.patches[0].get_width() == 5
    with pytest.raises(rf.RFGraphError, match="2"):
        plot.plot_map(np.ones(5))
    with pytest.raises(rf.RFGraphError, match="scale"):
        plot.plot_map(m, scale="sqrt")


# --------------------------------------------------------------------------- geometry helpers


def test_theoretical_box_matches_reach_for_chain():
    net = rf.parse_spec("conv3s2p1,conv3p1,pool2,conv5p2")
    shape = (40, 40)
    recs = rf.receptive_field(net, shape)
    for target in [(0, 0), (2, 3), (4, 4)]:
        box = plot.theoretical_box(recs, target, shape)
        mask = rf.reach(net, shape, target)
        ys, xs = np.nonzero(mask)
        assert box == ((ys.min(), ys.max()), (xs.min(), xs.max()))


def test_seed_theoretical_box():
    assert plot.theoretical_box(rf.receptive_field(SEED, (15,))) == ((2, 12),)


def test_effective_rf_is_smallest():
    m = rf.contribution_map(SMALL2D, (32, 32), "paths")
    erf = plot.effective_rf(m, 0.9)
    assert erf.fraction >= 0.9
    c = np.array(erf.center)
    yy, xx = np.indices(m.shape)
    dist = np.maximum(abs(yy - c[0]), abs(xx - c[1]))
    assert m[dist <= erf.half_width].sum() >= 0.9 * m.sum()
    assert m[dist <= erf.half_width - 0.5].sum() < 0.9 * m.sum()
    assert plot.effective_rf(m, 1.0).fraction == 1.0
    full = plot.effective_rf(m, 1.0)
    nz = np.argwhere(m)
    assert full.box[0][0] <= nz[:, 0].min() and full.box[0][1] >= nz[:, 0].max()


def test_effective_rf_centre_options_and_errors():
    m = np.zeros(10)
    m[[4, 5]] = 2
    m[[3, 6]] = 1
    erf = plot.effective_rf(m, 0.5)
    assert erf.center == (4.5,) and erf.box == ((4.0, 5.0),) and erf.size == (2,)
    assert plot.effective_rf(m, 0.5, center=(4,)).box == ((3.0, 5.0),)
    with pytest.raises(rf.RFGraphError, match="zero"):
        plot.effective_rf(np.zeros(4))
    with pytest.raises(rf.RFGraphError, match="mass"):
        plot.effective_rf(m, 1.5)


# --------------------------------------------------------------------------- surface


def test_surface_renders():
    m = rf.contribution_map(SMALL2D, (32, 32), "paths")
    ax = plot.plot_surface(m)
    assert ax.name == "3d"
    assert len(ax.collections) == 1
    assert_not_blank(ax.figure, 0.05)
    ax = plot.plot_surface(m, scale="log")
    assert ax.get_zlabel().startswith("log10")


# --------------------------------------------------------------------------- graph


def test_graph_seed_figure_counts():
    ax = plot.plot_graph(SEED, (15,), source=4)
    assert ax.get_title() == "input 4 → conv5[2]: 15 paths, 24 distinct edges"
    values = [t.get_text() for t in ax.texts]
    assert values == [str(v) for v in [0, 0, *SEED_EDGES, 0, 0]]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["input", *[f"conv{i}" for i in range(1, 6)]]
    assert_not_blank(ax.figure, 0.03)


@pytest.mark.parametrize(
    "net, n",
    [
        (SEED, 15),
        (rf.parse_spec("res(conv3p1,conv3p1),conv3s2,conv3d2"), 17),
    ],
)
def test_path_edges_equal_engine_and_reference(net, n):
    edges = rf.contribution_map(net, (n,))
    graph = to_networkx(net, (n,))
    target = (max(k for k, *_ in graph.nodes), rf.receptive_field(net, (n,))[-1].shape[0] // 2)
    for s in range(n):
        found = plot.path_edges(net, (n,), s)
        assert len(found) == len(set(found)) == edges[s]
        if s % 4 == 0:
            assert paths_and_edges(graph, (0, s), target)[1] == edges[s]


def test_graph_residual_and_no_source():
    net = rf.parse_spec("res(conv3p1,conv3p1)*2")
    ax = plot.plot_graph(net, (9,))
    assert "edges lie on paths" in ax.get_title()
    assert_not_blank(ax.figure, 0.03)


def test_graph_refuses_2d_and_big():
    with pytest.raises(rf.RFGraphError, match="1-D"):
        plot.plot_graph(SEED, (15, 15))
    with pytest.raises(rf.RFGraphError, match="smaller input"):
        plot.plot_graph(SEED, (500,))
    with pytest.raises(rf.RFGraphError, match="outside"):
        plot.plot_graph(SEED, (15,), source=15)


# --------------------------------------------------------------------------- compare


def test_compare_networks_shared_scale():
    a, b = rf.parse_spec("conv3d2*3"), rf.parse_spec("conv3,conv3d2,conv3d5")
    fig = plot.compare([a, b], ["[2,2,2]", "[1,2,5]"], input_shape=(33, 33), metric="paths")
    ma, mb = rf.contribution_map(a, (33, 33), "paths"), rf.contribution_map(b, (33, 33), "paths")
    panels = [ax for ax in fig.axes if ax.images]
    assert len(panels) == 2 and len(fig.axes) == 3
    norms = {id(ax.images[-1].norm) for ax in panels}
    assert len(norms) == 1
    assert panels[0].images[-1].norm.vmax == max(ma.max(), mb.max())
    np.testing.assert_array_equal(panels[1].images[-1].get_array(), mb)
    assert [ax.get_title() for ax in panels] == ["[2,2,2]", "[1,2,5]"]
    assert_not_blank(fig, 0.2)


def test_compare_two_metrics_normalized_and_profiles():
    fig = plot.compare([SMALL2D, SMALL2D], input_shape=(24, 24), metric=["edges", "paths"], normalize=True, scale="log")
    panels = [ax for ax in fig.axes if ax.images]
    assert all(ax.images[-1].get_array().max() == 1.0 for ax in panels)
    assert_not_blank(fig, 0.2)
    m1, m2 = rf.contribution_map(SEED, (15,)), rf.contribution_map(SEED, (15,), "paths")
    fig = plot.compare([m1, m2], ["edges", "paths"])
    assert [p.get_height() for p in fig.axes[1].patches] == m2.tolist()
    assert fig.axes[0].get_ylim() == fig.axes[1].get_ylim()
    assert_not_blank(fig, 0.02)
    with pytest.raises(rf.RFGraphError, match="input_shape"):
        plot.compare([SEED, SEED])
    with pytest.raises(rf.RFGraphError, match="same number of axes"):
        plot.compare([m1, np.ones((3, 3))])


# --------------------------------------------------------------------------- files for the CLI


@pytest.mark.parametrize("suffix, magic", [(".png", b"\x89PNG"), (".svg", b"<?xml"), (".pdf", b"%PDF")])
def test_save_map_figure_formats(tmp_path, suffix, magic):
    m = rf.contribution_map(SMALL2D, (32, 32))
    out = plot.save_map_figure(m, tmp_path / f"sub/map{suffix}", dpi=40, records=rf.receptive_field(SMALL2D, (32, 32)))
    assert out.read_bytes()[:5].startswith(magic)


def test_save_figures_png_not_blank(tmp_path):
    mimg = pytest.importorskip("matplotlib.image")
    paths = [
        plot.save_map_figure(rf.contribution_map(SMALL2D, (32, 32)), tmp_path / "a.png", scale="log", dpi=50),
        plot.save_map_figure(rf.contribution_map(SEED, (15,)), tmp_path / "b.png", dpi=50),
        plot.save_map_figure(rf.contribution_map(rf.parse_spec("conv3*2"), (8, 8, 8)), tmp_path / "c.png", dpi=50),
        plot.save_profile_figure(rf.contribution_map(SEED, (15,)), tmp_path / "d.png", dpi=50),
    ]
    summary = plot.save_graph_figure(SEED, (15,), tmp_path / "e.png", source=7, dpi=50)
    assert summary["edges_from_source"] == 37 and summary["paths_from_source"] == 51
    assert summary["nodes"] == 15 + 13 + 11 + 9 + 7 + 5
    for p in [*paths, tmp_path / "e.png"]:
        px = mimg.imread(p)[..., :3]
        assert px.std() > 0.02 and np.mean(px < 0.98) > 0.01, p


def test_save_rejects_unknown_suffix(tmp_path):
    with pytest.raises(rf.RFGraphError, match=r"\.png"):
        plot.save_map_figure(np.ones((4, 4)), tmp_path / "map.jpg2")


# --------------------------------------------------------------------------- progress helper


def test_progress_prints_only_after_delay():
    from rfgraph.output import progress

    quiet = io.StringIO()
    with progress("fast", total=2, enabled=True, delay=5.0, stream=quiet) as bar:
        bar.update("a")
        bar.update("b")
    assert quiet.getvalue() == "" and bar.n == 2
    pytest.importorskip("tqdm")
    import time

    loud = io.StringIO()
    with progress("slow", total=1, enabled=True, delay=0.05, stream=loud) as bar:
        time.sleep(0.4)
        bar.update("done")
    assert "slow" in loud.getvalue()


# --------------------------------------------------------------------------- command line (picture outputs)


def run_cli(*argv: str) -> int:
    from rfgraph.cli import main

    return main(list(argv))


def test_cli_map_picture_and_json(tmp_path, capsys):
    import json

    out = tmp_path / "map.png"
    assert run_cli("map", "conv3p1*2,pool2,conv3p1", "--input", "32x32", "--out", str(out), "--json") == 0
    result = json.loads(capsys.readouterr().out)
    assert out.read_bytes()[:4] == b"\x89PNG"
    assert result["out"] == str(out) and result["shape"] == [32, 32]
    assert result["max"] == int(rf.contribution_map(rf.parse_spec("conv3p1*2,pool2,conv3p1"), (32, 32)).max())
    for suffix in (".svg", ".pdf"):
        assert (
            run_cli(
                "map",
                "conv3*3",
                "--input",
                "16x16",
                "--metric",
                "paths",
                "--scale",
                "log",
                "--out",
                str(tmp_path / f"m{suffix}"),
            )
            == 0
        )
        assert (tmp_path / f"m{suffix}").stat().st_size > 1000


def test_cli_map_data_outputs(tmp_path):
    assert run_cli("map", "conv3*5", "--input", "15", "--out", str(tmp_path / "m.npy")) == 0
    assert np.load(tmp_path / "m.npy")[2:13].tolist() == SEED_EDGES
    assert run_cli("map", "conv3*2", "--input", "6x6", "--out", str(tmp_path / "m.csv")) == 0
    np.testing.assert_array_equal(
        np.loadtxt(tmp_path / "m.csv", delimiter=","), rf.contribution_map(rf.parse_spec("conv3*2"), (6, 6))
    )


def test_cli_profile_plot(tmp_path, capsys, monkeypatch):
    out = tmp_path / "p.svg"
    assert run_cli("profile", "conv3*5", "--input", "15", "--plot", "--out", str(out)) == 0
    assert capsys.readouterr().out.split() == [str(v) for v in SEED_EDGES]
    assert b"<svg" in out.read_bytes()[:400]
    monkeypatch.chdir(tmp_path)
    assert run_cli("profile", "conv3*5", "--input", "15", "--plot", "--metric", "paths") == 0
    assert (tmp_path / "profile.png").exists()


def test_cli_graph(tmp_path, capsys):
    import json

    out = tmp_path / "graph.png"
    assert run_cli("graph", "conv3*5", "--input", "15", "--source", "4", "--out", str(out), "--json") == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["edges_from_source"] == 24 and summary["paths_from_source"] == 15
    assert out.read_bytes()[:4] == b"\x89PNG"


@pytest.mark.parametrize(
    "argv, message",
    [
        (["graph", "conv3*5", "--input", "15x15"], "1-D"),
        (["map", "conv3*5", "--input", "15", "--out", "x.jpg"], ".npy or .csv"),
        (["graph", "conv3*5", "--input", "15", "--source", "99"], "outside"),
    ],
)
def test_cli_errors_are_one_line(argv, message, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert run_cli(*argv) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err


def test_cli_help_has_examples(capsys):
    with pytest.raises(SystemExit):
        run_cli("map", "--help")
    text = capsys.readouterr().out
    assert "rfgraph map vgg16 --out vgg16.png" in text and "rfgraph graph" in text


def test_cli_map_vgg16_picture(tmp_path):
    out = tmp_path / "vgg16.png"
    assert run_cli("map", "vgg16", "--out", str(out)) == 0
    assert out.read_bytes()[:4] == b"\x89PNG"


def test_legend_avoids_corner_targets_and_clipped_boxes_say_so():
    pytest.importorskip("matplotlib")
    from rfgraph.plot import plot_map
    from rfgraph.plot._common import _bare_figure

    net = rf.parse_spec("conv3s2p1*4")
    recs = rf.receptive_field(net, (48, 48))
    for target, corner in (((0, 0), 4), ((0, 2), 3), ((2, 0), 1), ((2, 2), 2)):  # 2 upper left ... 4 lower right
        m = rf.contribution_map(net, (48, 48), target=target)
        ax = _bare_figure((5, 4)).add_subplot()
        plot_map(m, ax, rf_box=recs, target=target, erf_mass=None)
        legend = ax.get_legend()
        assert legend._loc == corner  # the corner farthest from the target's field
        label = legend.get_texts()[0].get_text()
        size, shown = recs[-1].size[0], rf.plot.theoretical_box(recs, target, (48, 48))
        assert label.startswith(f"theoretical RF {size}×{size}")
        if shown[0][1] - shown[0][0] + 1 < size:
            assert "clipped to" in label
