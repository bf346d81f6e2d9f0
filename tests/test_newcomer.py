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
