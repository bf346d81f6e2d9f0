"""The zoo: registry, seed numbers, the Distill table, segmentation nets, Ref/Crop, CLI."""

from __future__ import annotations

import json

import numpy as np
import pytest

import rfgraph as rf
from rfgraph import zoo
from rfgraph.arithmetic import plan_receptive_field
from rfgraph.cli import main

from .distill_table import ENDPOINTS, SUMMARY
from .plan_compare import assert_same_graph, canonical_form, plans_equivalent


def _records(net: rf.Op, shape: tuple[int, ...]) -> tuple[rf.Plan, list[rf.RFRecord]]:
    plan = rf.build_plan(net, shape)
    return plan, plan_receptive_field(plan)


def _at(plan: rf.Plan, records: list[rf.RFRecord], endpoint: str) -> rf.RFRecord:
    return records[plan.endpoints[endpoint]]


# --- registry ---------------------------------------------------------------------------


def test_registry_lists_every_required_network() -> None:
    required = {
        "alexnet_seed",
        "alexnet",
        "vgg11",
        "vgg13",
        "vgg16",
        "vgg19",
        "resnet18",
        "resnet34",
        "resnet50",
        "resnet101",
        "resnet152",
        "inception_v3",
        "mobilenet_v1",
        "mobilenet_v2",
        "densenet121",
        "unet",
        "unet_same",
        "deeplabv3_resnet50",
        "alexnet_v2",
        "vgg_16",
        "resnet_v1_50",
        "resnet_v1_101",
        "resnet_v1_152",
        "resnet_v1_200",
        "inception_v2",
        "inception_v4",
        "inception_resnet_v2",
    }
    assert required <= set(zoo.names())
    assert zoo.names() == sorted(zoo.names())
    assert set(zoo.names("tf-slim")) | set(zoo.names("torchvision")) | set(zoo.names("seed")) | set(
        zoo.names("segmentation")
    ) == set(zoo.names())


@pytest.mark.parametrize("name", zoo.names())
def test_every_network_builds_and_unrolls_at_its_default_input(name: str) -> None:
    net = zoo.build(name)
    assert isinstance(net, rf.Op)
    assert zoo.describe(name) and isinstance(zoo.default_input(name), tuple)
    plan = rf.build_plan(net, zoo.default_input(name))
    assert len(plan.tensors) > 2
    assert rf.load_network(name) == net  # the CLI's path


def test_unknown_name_and_option_list_the_choices() -> None:
    with pytest.raises(rf.RFGraphError, match="unknown zoo name 'vgg17'.*vgg16"):
        zoo.build("vgg17")
    with pytest.raises(rf.RFGraphError, match="no option 'fc_as_cnv'.*fc_as_conv=False"):
        zoo.build("vgg16", fc_as_cnv=True)
    with pytest.raises(rf.RFGraphError, match="unknown zoo name"):
        zoo.describe("nope")
    with pytest.raises(rf.RFGraphError, match="family"):
        zoo.names("keras")


# --- seed numbers -----------------------------------------------------------------------


def test_seed_001_alexnet_table() -> None:
    net = zoo.build("alexnet_seed")
    plan, recs = _records(net, zoo.default_input("alexnet_seed"))
    assert [r.name for r in recs[1:]] == [
        "conv1",
        "pool1",
        "conv2",
        "pool2",
        "conv3",
        "conv4",
        "conv5",
        "pool5",
        "fc6-conv",
        "fc7-conv",
    ]
    pool5, fc6 = _at(plan, recs, "pool5"), _at(plan, recs, "fc6-conv")
    assert (pool5.shape[0], pool5.stride[0], pool5.size[0], pool5.start[0]) == (6, 32, 195, 33.5)
    assert (fc6.shape[0], fc6.stride[0], fc6.size[0], fc6.start[0]) == (1, 32, 355, 113.5)


@pytest.mark.parametrize(("depth", "pool5", "fc6"), [(11, 150, 342), (13, 156, 348), (16, 212, 404), (19, 268, 460)])
def test_vgg_fc6_as_convolution(depth: int, pool5: int, fc6: int) -> None:
    plan, recs = _records(zoo.build(f"vgg{depth}", fc_as_conv=True), (224, 224))
    assert _at(plan, recs, "pool5").size == (pool5, pool5)
    assert _at(plan, recs, "fc6").size == (fc6, fc6)
    assert _at(plan, recs, "fc6").shape == (1, 1)
    last = {11: 2, 13: 2, 16: 3, 19: 4}[depth]
    assert _at(plan, recs, f"conv5_{last}").size == (pool5 - 16, pool5 - 16)
    assert _at(plan, recs, "features").size == (pool5, pool5)


# --- the Distill table (Araujo, Norris & Sim 2019) ---------------------------------------

_VARIANTS = {
    "inception_v2-no-separable-conv": ("inception_v2", {"separable": False}),
    "inception_resnet_v2-same": ("inception_resnet_v2", {"align_feature_maps": True}),
}


def _slim(net: str) -> rf.Op:
    name, options = _VARIANTS.get(net, (net, {}))
    return zoo.build(name, **options)


def _endpoint(net: str, endpoint: str) -> str:
    prefix = net.split("-")[0] + "/"
    return endpoint.removeprefix(prefix).replace("/", ".")


@pytest.mark.parametrize(("net", "endpoint", "r", "s", "p"), SUMMARY)
def test_distill_summary_table(net: str, endpoint: str, r: int, s: int, p: int) -> None:
    rec = rf.receptive_field(zoo.build(net), (224, 224), endpoint=endpoint)[-1]
    assert (rec.size, rec.stride, rec.padding) == ((r, r), (s, s), (p, p))
    assert rec.aligned


@pytest.mark.parametrize("net", sorted({row[0] for row in ENDPOINTS}))
def test_distill_every_endpoint_at_224(net: str) -> None:
    plan, recs = _records(_slim(net), (224, 224))
    rows = [row for row in ENDPOINTS if row[0] == net]
    got = []
    for _, endpoint, _r, _s, _p in rows:
        rec = _at(plan, recs, _endpoint(net, endpoint))
        got.append((endpoint, rec.size[0], rec.stride[0], rec.padding[0]))
        assert rec.size[0] == rec.size[1] and rec.padding[0] == rec.padding[1]
    assert got == [(e, r, s, p) for _, e, r, s, p in rows]


def test_distill_rows_cover_the_article_table() -> None:
    assert len(SUMMARY) == 12
    assert len(ENDPOINTS) == 187  # every 224x224 row of the companion table


# --- segmentation --------------------------------------------------------------------------


def test_unet_original_572_to_388() -> None:
    plan = rf.build_plan(zoo.build("unet"), (572, 572))
    assert plan.output.shape == (388, 388)
    assert plan.tensor("bottleneck").shape == (28, 28)
    assert plan.tensor("crop4").shape == (56, 56) and plan.tensor("enc4").shape == (64, 64)
    assert plan.tensor("crop1").shape == (392, 392)
    # every skip concatenation reads the crop and the up-convolution
    cat1 = plan.tensor("cat1")
    assert sorted(plan.tensors[link.source].name for link in cat1.links) == ["crop1", "up1"]


def test_unet_same_keeps_the_size_and_other_inputs() -> None:
    assert rf.build_plan(zoo.build("unet_same"), (512, 512)).output.shape == (512, 512)
    assert rf.build_plan(zoo.build("unet", input_size=(188, 204)), (188, 204)).output.shape == (4, 20)
    with pytest.raises(rf.RFGraphError, match="odd size"):
        zoo.build("unet", input_size=570)


def test_deeplabv3_aspp_head() -> None:
    net = zoo.build("deeplabv3_resnet50")
    plan = rf.build_plan(net, (513, 513))
    assert plan.output.shape == (65, 65) and plan.tensor("backbone.layer4").shape == (65, 65)
    cat = plan.tensor("classifier.0.cat")
    assert len(cat.links) == 5
    rec = rf.receptive_field(zoo.build("deeplabv3_resnet50", aspp_pooling=False), (513, 513))[-1]
    assert rec.stride == (8, 8) and rec.aligned
    # the pooling branch sees everything: the table says so (SPEC section 5) and describes the local part
    cat_rec = next(r for r in rf.receptive_field(net, (513, 513)) if r.name == "classifier.0.cat")
    assert cat_rec.global_context and cat_rec.stride == (8, 8)
    up = rf.build_plan(zoo.build("deeplabv3_resnet50", input_size=512, upsample=True), (512, 512))
    assert up.output.shape == (512, 512)


def test_densenet_layers_read_all_earlier_tensors_of_their_block() -> None:
    plan = rf.build_plan(zoo.build("densenet121"), (224, 224))
    names = [t.name for t in plan.tensors]
    cat6 = plan.tensor("features.denseblock1.denselayer6.cat")
    assert [names[link.source] for link in cat6.links] == [
        "features.pool0",
        *(f"features.denseblock1.denselayer{j}.conv2" for j in range(1, 6)),
    ]
    assert len(plan.tensor("features.denseblock4").links) == 17
    assert plan.tensor("features").shape == (7, 7)


# --- Ref and Crop (ops added for the zoo) --------------------------------------------------


def test_ref_reuses_a_tensor_without_copying_it() -> None:
    net = rf.Sequential(
        rf.Conv(3, name="a"),
        rf.Conv(3, name="b"),
        rf.Add(rf.Sequential(rf.Ref("a"), rf.Crop(1)), rf.Identity(), name="sum"),
    )
    plan = rf.build_plan(net, (9,))
    assert [t.name for t in plan.tensors] == ["input", "a", "b", "sum.crop1", "sum"]
    assert [link.source for link in plan.tensors[3].links] == [1]
    assert plan.tensors[3].links[0].maps[0].indices.tolist() == [1, 2, 3, 4, 5]
    rec = rf.receptive_field(net, (9,))
    assert rec[3].size == (3,) and rec[3].padding == (-1,) and rec[-1].size == (5,)
    with pytest.raises(rf.RFGraphError, match="Ref 'zz'.*names no tensor"):
        rf.build_plan(rf.Sequential(rf.Conv(3), rf.Ref("zz")), (9,))


def test_crop_validation() -> None:
    with pytest.raises(rf.RFGraphError, match="negative"):
        rf.Crop(-1)
    with pytest.raises(rf.RFGraphError, match="leaves"):
        rf.build_plan(rf.Crop(3), (5,))
    assert rf.build_plan(rf.Crop(((1, 2), (0, 0))), (6, 4)).output.shape == (3, 4)


def test_ref_and_crop_round_trip_through_dicts() -> None:
    from rfgraph.spec import network_from_dict, network_to_dict

    net = rf.Sequential(rf.Conv(3, name="a"), rf.Concat(rf.Ref("a"), rf.Identity()), rf.Crop((1, 2)))
    assert network_from_dict(json.loads(json.dumps(network_to_dict(net)))) == net


def test_plan_comparison_helper() -> None:
    a = rf.Sequential(rf.Conv(3, name="x"), rf.Residual(rf.Conv(3, padding=1)))
    b = rf.Sequential(rf.Conv(3), rf.Add(rf.Identity(), rf.Conv(3, padding=1, name="other")))
    pa, pb = rf.build_plan(a, (12,)), rf.build_plan(b, (12,))
    assert plans_equivalent(pa, pb) and canonical_form(pa) == canonical_form(pb)
    c = rf.Sequential(rf.Conv(3), rf.Add(rf.Identity(), rf.Conv(3, padding=1, dilation=1), rf.Pool(1, stride=1)))
    assert not plans_equivalent(pa, rf.build_plan(c, (12,)))
    assert_same_graph(pa, pa, by_name=True)
    with pytest.raises(AssertionError, match="names differ"):
        assert_same_graph(pa, pb, by_name=True)


# --- engine (skipped until rf.contribution_map is merged) -----------------------------------


@pytest.mark.parametrize(("name", "shape"), [("resnet50", (224, 224)), ("inception_v3", (299, 299))])
def test_engine_maps_for_big_zoo_networks(name: str, shape: tuple[int, int]) -> None:
    net = zoo.build(name, include_top=False)
    edges = rf.contribution_map(net, shape, metric="edges")
    paths = rf.contribution_map(net, shape, metric="paths")
    assert edges.shape == shape and paths.shape == shape
    assert (edges > 0).sum() > 0 and np.all((edges > 0) == (paths > 0))


# --- CLI ------------------------------------------------------------------------------------


def test_cli_zoo_lists_names_descriptions_and_inputs(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["zoo"]) == 0
    out = capsys.readouterr().out
    assert "inception_v3" in out and "299x299" in out and "TF-Slim inception_v4" in out
    assert main(["zoo", "--json", "--family", "seed"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data == [
        {
            "name": "alexnet_seed",
            "family": "seed",
            "default_input": [227, 227],
            "description": zoo.describe("alexnet_seed"),
            "options": {"include_top": True},
        }
    ]
    assert main(["zoo", "--family", "keras"]) == 2
    assert "choose one of" in capsys.readouterr().err


def test_cli_table_uses_the_default_input_and_endpoint(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["table", "alexnet_seed", "--endpoint", "pool5", "--json"]) == 0
    last = json.loads(capsys.readouterr().out)[-1]
    assert last["name"] == "pool5" and last["shape"] == [6, 6] and last["size"] == [195, 195]
    assert main(["table", "resnet_v1_50", "-e", "block3"]) == 0
    assert "291" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("name", "options", "shape"),
    [("unet", {"input_size": 188}, (188, 188)), ("densenet121", {"include_top": False}, (64, 64))],
)
def test_crop_and_ref_networks_count_paths_like_autograd(name: str, options: dict, shape: tuple[int, int]) -> None:
    pytest.importorskip("torch")
    from rfgraph.importers.to_torch import paths_by_autograd

    net = zoo.build(name, **options)
    np.testing.assert_allclose(
        rf.contribution_map(net, shape, metric="paths"), paths_by_autograd(net, shape), rtol=1e-9
    )


def test_a_zoo_network_built_for_a_3d_input_is_3d(capsys):
    # U-Net is built for its input: a 3-D input_size gives a 3-D network (the rank check follows
    # it), in rf.zoo.build, every rf. function that takes a name, and the command line.
    from rfgraph.cli import main

    net = rf.zoo.build("unet_same", input_size=(32, 32, 32))
    assert rf.receptive_field(net, (32, 32, 32))[-1].shape == (32, 32, 32)
    assert rf.contribution_map("unet_same", (32, 32, 32), "paths").shape == (32, 32, 32)
    with pytest.raises(rf.RFGraphError, match="is 2-D"):
        rf.receptive_field(rf.zoo.build("unet_same"), (32, 32, 32))
    assert main(["table", "unet_same", "--input", "32x32x32"]) == 0
    assert "out" in capsys.readouterr().out
