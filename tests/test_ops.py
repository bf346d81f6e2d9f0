"""Network description, plan building and the errors of SPEC section 7."""

from __future__ import annotations

import pytest

import rfgraph as rf
from rfgraph.geometry import conv_output_size, pool_output_size, same_padding


def test_ops_are_immutable_hashable_and_readable():
    a = rf.Sequential(rf.Conv(3, stride=2, padding="same"), rf.Pool(2), name="block")
    b = rf.Sequential(rf.Conv(3, stride=2, padding="same"), rf.Pool(2), name="block")
    assert a == b and hash(a) == hash(b) and {a: 1}[b] == 1
    assert repr(a) == "Sequential(Conv(3, stride=2, padding='same'), Pool(2), name='block')"
    with pytest.raises(AttributeError):
        a.name = "x"  # type: ignore[misc]
    assert rf.Conv([3, 5]) == rf.Conv((3, 5))  # lists from JSON become tuples
    assert rf.Residual(rf.Conv(3)) == rf.Residual(rf.Conv(3), rf.Identity())


def test_default_names_and_endpoints():
    net = rf.Sequential(
        rf.Conv(3, name="stem"),
        rf.Sequential(
            rf.Residual(rf.Sequential(rf.Conv(3, padding=1), rf.Conv(3, padding=1)), name="0"), name="layer1"
        ),
        rf.Pool(2),
        rf.Concat(rf.Conv(1), rf.Conv(3, padding=1)),
        rf.GlobalPool(),
    )
    plan = rf.build_plan(net, (16, 16))
    assert [t.name for t in plan.tensors] == [
        "input",
        "stem",
        "layer1.0.conv1",
        "layer1.0.conv2",
        "layer1.0",
        "pool1",
        "concat1.conv1",
        "concat1.conv2",
        "concat1",
        "gpool1",
    ]
    assert plan.endpoints["layer1"] == plan.endpoints["layer1.0"]
    assert rf.build_plan(net, (16, 16), endpoint="layer1").output.name == "layer1.0"
    with pytest.raises(rf.RFGraphError, match="end-point 'nope' is not a tensor"):
        rf.build_plan(net, (16, 16), endpoint="nope")


def test_output_size_formulas():
    assert conv_output_size(7, 3, 2, (1, 1), 1) == 4
    assert pool_output_size(5, 2, 2, (0, 0), 1, ceil_mode=True) == 3
    assert pool_output_size(5, 2, 2, (0, 0), 1, ceil_mode=False) == 2
    # the last window must start inside the input or the left padding
    assert pool_output_size(6, 3, 2, (1, 1), 1, ceil_mode=True) == 4
    assert pool_output_size(5, 2, 2, (1, 1), 1, ceil_mode=True) == 3
    assert same_padding(7, 3, 2, 1) == (1, 1) and same_padding(8, 3, 2, 1) == (0, 1)
    assert same_padding(224, 7, 2, 1) == (2, 3)


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: rf.Conv(0), "kernel_size=0 must be >= 1"),
        (lambda: rf.Conv(3, stride=0), "stride=0 must be >= 1"),
        (lambda: rf.Conv(3, dilation=(1, 0)), r"dilation=\(1, 0\) must be >= 1"),
        (lambda: rf.Conv(3, padding=-1), "padding=-1 is negative"),
        (lambda: rf.Conv(3, padding="full"), "padding='full' is unknown"),
        (lambda: rf.Upsample(0), "scale_factor=0 must be >= 1"),
        (lambda: rf.Upsample(2, mode="cubic"), "mode='cubic' is unknown"),
        (lambda: rf.Sequential(rf.Conv(3), "conv3"), "entry 1 is str"),
        (lambda: rf.Add(), "needs at least one branch"),
    ],
)
def test_invalid_ops(make, message):
    with pytest.raises(rf.RFGraphError, match=message):
        make()


@pytest.mark.parametrize(
    "net, shape, message",
    [
        (
            rf.Sequential(rf.Conv(3), rf.Conv(5, name="big")),
            (5,),
            r"Conv 'big' \(op 2 of the network\): output size would be -1",
        ),
        (rf.Conv((3, 3)), (9,), r"kernel_size=\(3, 3\) has 2 entries but the input has 1 spatial axis"),
        (rf.Add(rf.Conv(3), rf.Identity()), (9,), "branch outputs must have equal spatial shapes"),
        (rf.Add(rf.Identity(), rf.Sequential()), (9,), "two branches return the same tensor"),
        (rf.Sequential(rf.Conv(3, name="a"), rf.Conv(3, name="a")), (9,), "two different ops are named 'a'"),
        (rf.ConvTranspose(3, stride=2, output_padding=2), (4,), "output_padding=2 on axis 0 must be smaller"),
        (rf.Conv(3), (0,), "must hold 1 to 3 positive ints"),
        (rf.Conv(3), (4, 4, 4, 4), "must hold 1 to 3 positive ints"),
        ([rf.Conv(3)], (9,), "network must be an rfgraph op"),
    ],
)
def test_invalid_networks(net, shape, message):
    with pytest.raises(rf.RFGraphError, match=message):
        rf.build_plan(net, shape)


def test_build_plan_reads_a_spec_like_every_rf_function():
    # Issue 25: every rf. function that takes a network also takes its text (a spec, a zoo name, a file).
    assert rf.build_plan("conv3", (9,)).output.shape == rf.build_plan(rf.Conv(3), (9,)).output.shape == (7,)


def test_to_networkx_and_limit():
    g = rf.to_networkx(rf.Sequential(*[rf.Conv(3)] * 5), (15,))
    assert g.number_of_nodes() == 15 + 13 + 11 + 9 + 7 + 5
    assert g.nodes[(1, 0)]["op"] == "conv1" and g.nodes[(0, 3)]["layer"] == 0
    with pytest.raises(rf.RFGraphError, match="above the limit"):
        rf.to_networkx(rf.Conv(3), (1000, 1000))
