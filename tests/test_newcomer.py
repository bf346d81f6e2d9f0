"""Issue 25's newcomer's list: each surprise a new user met, as behaviour."""

from __future__ import annotations

import json

import numpy as np
import pytest

import rfgraph as rf
from rfgraph.cli import main

# --- specs are accepted wherever a network is --------------------------------------------------


@pytest.mark.parametrize(
    "call",
    [
        lambda net: rf.contribution_map(net, (15,)),
        lambda net: rf.contribution_map(net, (15,), metric="paths"),
        lambda net: rf.reach(net, (15,)),
        lambda net: rf.profile(net, (15,)),
        lambda net: rf.coverage(net, (15,)),
        lambda net: rf.receptive_field(net, (15,)),
        lambda net: rf.halo(net, (15,)),
        lambda net: rf.tiles(net, (15,), (8,)),
        lambda net: rf.valid_region(net, (15,)),
        lambda net: rf.padding_share(net, (15,)),
        lambda net: rf.min_input_shape(net, 1),
        lambda net: rf.build_plan(net, (15,)).output.shape,
        lambda net: sorted(rf.to_networkx(net, (15,)).nodes),
    ],
)
def test_every_function_taking_a_network_takes_a_spec(call):
    op = rf.parse_spec("conv3*5")
    a, b = call("conv3*5"), call(op)
    if isinstance(a, np.ndarray):
        np.testing.assert_array_equal(a, b)
    else:
        assert a == b


def test_zoo_names_and_files_work_too(tmp_path):
    assert rf.receptive_field("vgg16", (224, 224), endpoint="pool5")[-1].size == (212, 212)
    path = tmp_path / "net.json"
    path.write_text(json.dumps(rf.spec.network_to_dict(rf.parse_spec("conv3*5"))))
    assert rf.contribution_map(path, (15,)).tolist() == rf.contribution_map("conv3*5", (15,)).tolist()
    assert rf.contribution_map(str(path), (15,)).tolist() == rf.contribution_map("conv3*5", (15,)).tolist()
    with pytest.raises(rf.RFGraphError, match="cannot read layer"):
        rf.contribution_map("conv3*5,bogus", (15,))


# --- whitespace inside a layer ------------------------------------------------------------------


@pytest.mark.parametrize("spec", ["conv3 s2", "conv 3*5", "conv3,conv3 p1", "res(conv3 p1|conv1)"])
def test_whitespace_inside_a_layer_is_an_error(spec):
    with pytest.raises(rf.RFGraphError, match="whitespace inside the layer"):
        rf.parse_spec(spec)


def test_whitespace_between_layers_is_fine():
    assert rf.parse_spec(" conv3 , conv3s2 ,pool2 ") == rf.parse_spec("conv3,conv3s2,pool2")
    assert rf.parse_spec("res( conv3p1 | conv1 ) * 2") == rf.parse_spec("res(conv3p1|conv1)*2")
    assert rf.parse_spec("conv3 * 5") == rf.parse_spec("conv3*5")


def test_cli_whitespace_inside_a_layer_is_one_line(capsys):
    assert main(["table", "conv3 s2", "--input", "15"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "whitespace inside the layer 'conv3 s2'" in err


# --- a zoo network knows its rank; typos get near names ----------------------------------------


def test_zoo_network_refuses_another_rank():
    net = rf.zoo.build("resnet50")
    with pytest.raises(rf.RFGraphError, match=r"zoo network 'resnet50' is 2-D.*\(224, 224\)"):
        rf.receptive_field(net, (224,))
    with pytest.raises(rf.RFGraphError, match="is 2-D"):
        rf.contribution_map("resnet50", (224,))
    assert rf.receptive_field(net, (64, 64))[-1].shape == (1, 1)
    assert net == rf.zoo.build("resnet50")  # the mark changes neither equality nor hashing
    assert hash(net) == hash(rf.zoo.build("resnet50"))


def test_page_refuses_another_rank():
    from rfgraph.web import api

    with pytest.raises(rf.RFGraphError, match="is 2-D"):
        api.view_payload("net=resnet50&input=224")


def test_zoo_typos_suggest_near_names():
    with pytest.raises(rf.RFGraphError, match="unknown zoo name 'resnet5'; did you mean 'resnet50'"):
        rf.zoo.build("resnet5")


def test_page_typo_says_unknown_network_not_missing_input():
    from rfgraph.web import api

    for query in ("net=resnet5", "net=resnet5&input=224x224"):
        with pytest.raises(api.ApiError, match="unknown network 'resnet5'; did you mean 'resnet50'"):
            api.view_payload(query)
    with pytest.raises(api.ApiError, match="input is missing"):
        api.view_payload("net=conv3*5")


# --- DeepLab at any input -----------------------------------------------------------------------


@pytest.mark.parametrize("shape", [(224, 224), (300, 200), (513, 513)])
def test_deeplab_from_the_zoo_works_at_any_input(shape):
    net = rf.zoo.build("deeplabv3_resnet50")
    plan = rf.build_plan(net, shape)
    assert plan.output.shape == plan.tensor("backbone.layer4").shape
    # the 1x1 pooling branch broadcasts: the same graph as resizing it back to the feature size
    sized = rf.zoo.build("deeplabv3_resnet50", input_size=shape)
    centre = tuple(n // 2 for n in plan.output.shape)
    np.testing.assert_array_equal(
        rf.contribution_map(net, shape, "paths", target=centre, endpoint="classifier.0.cat"),
        rf.contribution_map(sized, shape, "paths", target=centre, endpoint="classifier.0.cat"),
    )


# --- the README's numbers and float64 --------------------------------------------------------


def test_python_paths_are_float64_and_rounded_beyond_2_53_as_the_readme_says():
    net = rf.parse_spec("conv3*40")
    rounded = rf.contribution_map(net, (81,), metric="paths")
    assert rounded.dtype == np.float64 and rounded[40] == 9.348372172717325e17
    assert rf.contribution_map(net, (81,), metric="paths", exact=None)[40] == 934837217271732457
    seed = rf.contribution_map(rf.Sequential(*[rf.Conv(3)] * 5), (15,), metric="paths")
    assert seed.dtype == np.float64  # SPEC section 6; the README's comment says float64


# --- rfgraph map: plateau, alignment, clipped squares, one-index targets --------------------


def test_map_reports_the_plateau_and_why_the_resnet_peak_sits_at_96(capsys):
    assert main(["map", "resnet50"]) == 0
    out = capsys.readouterr().out
    assert "max 12888 at 16 pixels in [91, 101]x[91, 101], centred at (96, 96)" in out
    assert "centred at (96, 96), not at the image centre (111.5, 111.5)" in out and "0 + 32*o" in out
    assert "Araujo et al., Distill 2019" in out
    assert main(["map", "resnet50", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["peak_count"] == 16 and data["peak_center"] == [96.0, 96.0]
    assert data["peak_box"] == [[91, 101], [91, 101]]
    assert main(["map", "conv3*5", "--input", "15x15"]) == 0
    out = capsys.readouterr().out
    assert "max 349 at (7, 7)" in out and "image centre" not in out  # centred: nothing to explain


def test_map_picture_clips_the_effective_square_to_the_image(tmp_path):
    pytest.importorskip("matplotlib")
    from rfgraph import plot

    m = rf.contribution_map("resnet50", (224, 224), endpoint="layer4.2")
    ax = plot.plot_map(m, rf_box=rf.receptive_field("resnet50", (224, 224), endpoint="layer4.2"))
    labels = [p.get_label() for p in ax.patches]
    erf = next(text for text in labels if text.startswith("effective RF"))
    assert "235×235 (clipped to 214×214)" in erf
    for patch in ax.patches:
        x, y = patch.get_xy()
        assert x >= -0.5 and x + patch.get_width() <= 223.5 and y >= -0.5 and y + patch.get_height() <= 223.5


def test_one_index_for_a_2d_output_says_so(capsys):
    assert main(["map", "vgg16", "--target", "3"]) == 2
    err = capsys.readouterr().err
    assert "target=(3,) has 1 index, but the output of 'features.30' is 2-D (shape (7, 7))" in err
    assert "3x3 on the command line" in err


# --- one name for an end-point -----------------------------------------------------------------


def test_table_and_check_name_an_end_point_alike(capsys):
    assert main(["table", "vgg16", "--endpoint", "pool5"]) == 0
    table = capsys.readouterr().out
    assert table.rstrip().splitlines()[-1].strip() == "end-point 'pool5' is the tensor 'features.30' (the last row)"
    assert "\nfeatures.30 " in table
    assert main(["check", "vgg16", "--endpoint", "pool5"]) == 0
    assert "receptive field of 'features.30' (end-point 'pool5') is 212 px" in capsys.readouterr().out
    from rfgraph.answers.testing import assert_receptive_field

    with pytest.raises(AssertionError, match=r"'features.30' \(end-point 'pool5'\)"):
        assert_receptive_field("vgg16", (224, 224), endpoint="pool5", stride=16)


# --- rfgraph graph: the target's cone; a source outside the field ---------------------------


def test_graph_of_a_long_input_draws_the_targets_cone(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    out = tmp_path / "g.png"
    assert main(["graph", "conv3*5", "--input", "200", "--source", "99", "--out", str(out), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["nodes"] == 1170 and info["drawn_nodes"] == 11 + 9 + 7 + 5 + 3 + 1
    assert info["paths_from_source"] == 45 and info["edges_from_source"] == 36  # as at input 15, pixel 5
    assert "45 paths, 36 distinct edges" in info["title"] and "inputs 95 to 105 of 200" in info["title"]


def test_graph_source_outside_the_field_says_so(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    assert main(["graph", "conv3*5", "--input", "15", "--source", "0", "--out", str(tmp_path / "g.png")]) == 0
    out = capsys.readouterr().out
    assert "input 0 is outside the target's field (inputs 2 to 12): no path to conv5[2]" in out


# --- classifier heads: no fake stride, the feature end-point named ----------------------------


def test_a_global_pool_keeps_the_stride_of_the_grid_it_pools():
    records = rf.receptive_field("vgg16", (224, 224))
    assert records[-1].name == "classifier.6" and records[-1].size == (404, 404)
    assert records[-1].stride == (32, 32)  # not 404: one position has no neighbour to step to
    pooled = rf.receptive_field(rf.parse_spec("conv3s2,gpool"), (15,))
    assert pooled[-1].stride == (2,) and pooled[-1].global_context
    # the exact maps are untouched: every pixel reaches the pooled output
    assert rf.reach("conv3s2,gpool", (15,)).all()


def test_table_of_a_classifier_names_its_feature_end_point(capsys):
    assert main(["table", "inception_v3"]) == 0
    out = capsys.readouterr().out
    assert "the output 'fc' is a classifier head (one position, global); the feature end-point is 'Mixed_7c'" in out
    assert "field 1311 px, stride 32" in out
    assert main(["table", "conv3*5", "--input", "15"]) == 0
    assert "classifier head" not in capsys.readouterr().out


# --- compare_trained's Gaussian fit in words ----------------------------------------------------


def test_gaussian_fit_is_explained_or_called_not_gaussian():
    from rfgraph.erf.side_by_side import _gaussian_fit

    assert _gaussian_fit(0.987) == "Gaussian fit R2 0.987 (1 = Gaussian)"
    assert _gaussian_fit(-1.821) == "not Gaussian-shaped (fit R2 -1.82 < 0: worse than a flat map)"
    assert _gaussian_fit(float("nan")) == "Gaussian fit n/a"
