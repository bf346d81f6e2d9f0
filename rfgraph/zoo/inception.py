"""Inceptions: torchvision Inception-v3 and TF-Slim ``inception_v2``, ``inception_v4``, ``inception_resnet_v2``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..ops import Concat, Conv, GlobalPool, Identity, Op, Pool, Ref, Residual, Sequential
from ._blocks import _SQ224, _SQ299, SAME, VALID, _alias, _sc, _sp
from ._registry import register

__all__ = ["inception_v3", "inception_v2", "inception_v4", "inception_resnet_v2"]


def _bc(name: str, kernel: Any, stride: int = 1, padding: Any = 0) -> Conv:
    """torchvision's BasicConv2d: the tensor is ``<name>.conv``."""
    return Conv(kernel, stride=stride, padding=padding, name=f"{name}.conv")


def _inception_a(name: str) -> Concat:
    return Concat(
        _bc("branch1x1", 1),
        Sequential(_bc("branch5x5_1", 1), _bc("branch5x5_2", 5, padding=2)),
        Sequential(_bc("branch3x3dbl_1", 1), _bc("branch3x3dbl_2", 3, padding=1), _bc("branch3x3dbl_3", 3, padding=1)),
        Sequential(Pool(3, stride=1, padding=1, name="avg_pool2d"), _bc("branch_pool", 1)),
        name=name,
    )


def _inception_b(name: str) -> Concat:
    return Concat(
        _bc("branch3x3", 3, stride=2),
        Sequential(_bc("branch3x3dbl_1", 1), _bc("branch3x3dbl_2", 3, padding=1), _bc("branch3x3dbl_3", 3, stride=2)),
        Pool(3, stride=2, name="max_pool2d"),
        name=name,
    )


def _inception_c(name: str) -> Concat:
    return Concat(
        _bc("branch1x1", 1),
        Sequential(
            _bc("branch7x7_1", 1),
            _bc("branch7x7_2", (1, 7), padding=(0, 3)),
            _bc("branch7x7_3", (7, 1), padding=(3, 0)),
        ),
        Sequential(
            _bc("branch7x7dbl_1", 1),
            _bc("branch7x7dbl_2", (7, 1), padding=(3, 0)),
            _bc("branch7x7dbl_3", (1, 7), padding=(0, 3)),
            _bc("branch7x7dbl_4", (7, 1), padding=(3, 0)),
            _bc("branch7x7dbl_5", (1, 7), padding=(0, 3)),
        ),
        Sequential(Pool(3, stride=1, padding=1, name="avg_pool2d"), _bc("branch_pool", 1)),
        name=name,
    )


def _inception_d(name: str) -> Concat:
    return Concat(
        Sequential(_bc("branch3x3_1", 1), _bc("branch3x3_2", 3, stride=2)),
        Sequential(
            _bc("branch7x7x3_1", 1),
            _bc("branch7x7x3_2", (1, 7), padding=(0, 3)),
            _bc("branch7x7x3_3", (7, 1), padding=(3, 0)),
            _bc("branch7x7x3_4", 3, stride=2),
        ),
        Pool(3, stride=2, name="max_pool2d"),
        name=name,
    )


def _inception_e(name: str) -> Concat:
    # The inner torch.cat of two convolutions on one tensor: computed with Refs so that the
    # convolutions keep their torch names (a nested Concat would prefix them).
    return Concat(
        _bc("branch1x1", 1),
        Sequential(
            _bc("branch3x3_1", 1),
            _bc("branch3x3_2a", (1, 3), padding=(0, 1)),
            Ref("branch3x3_1.conv"),
            _bc("branch3x3_2b", (3, 1), padding=(1, 0)),
            Concat(Ref("branch3x3_2a.conv"), Identity(), name="cat"),
        ),
        Sequential(
            _bc("branch3x3dbl_1", 1),
            _bc("branch3x3dbl_2", 3, padding=1),
            _bc("branch3x3dbl_3a", (1, 3), padding=(0, 1)),
            Ref("branch3x3dbl_2.conv"),
            _bc("branch3x3dbl_3b", (3, 1), padding=(1, 0)),
            Concat(Ref("branch3x3dbl_3a.conv"), Identity(), name="cat_1"),
        ),
        Sequential(Pool(3, stride=1, padding=1, name="avg_pool2d"), _bc("branch_pool", 1)),
        name=name,
    )


def inception_v3(include_top: bool = True) -> Sequential:
    """torchvision Inception-v3 (``aux_logits=False``); the TF-Slim end-points are aliases.

    The geometry equals TF-Slim's ``inception_v3`` (valid stem, "same" 1-stride
    convolutions), so ``MaxPool_3a_3x3``/``MaxPool_5a_3x3`` name ``maxpool1``/``maxpool2``.
    """
    ops: list[Op] = [
        _bc("Conv2d_1a_3x3", 3, stride=2),
        _alias("Conv2d_1a_3x3"),
        _bc("Conv2d_2a_3x3", 3),
        _alias("Conv2d_2a_3x3"),
        _bc("Conv2d_2b_3x3", 3, padding=1),
        _alias("Conv2d_2b_3x3"),
        Pool(3, stride=2, name="maxpool1"),
        _alias("MaxPool_3a_3x3"),
        _bc("Conv2d_3b_1x1", 1),
        _alias("Conv2d_3b_1x1"),
        _bc("Conv2d_4a_3x3", 3),
        _alias("Conv2d_4a_3x3"),
        Pool(3, stride=2, name="maxpool2"),
        _alias("MaxPool_5a_3x3"),
        _inception_a("Mixed_5b"),
        _inception_a("Mixed_5c"),
        _inception_a("Mixed_5d"),
        _inception_b("Mixed_6a"),
        _inception_c("Mixed_6b"),
        _inception_c("Mixed_6c"),
        _inception_c("Mixed_6d"),
        _inception_c("Mixed_6e"),
        _inception_d("Mixed_7a"),
        _inception_e("Mixed_7b"),
        _inception_e("Mixed_7c"),
    ]
    if include_top:
        ops += [GlobalPool(name="avgpool"), Conv(1, name="fc")]
    return Sequential(*ops)


def _branch(name: str, *ops: Op) -> Sequential:
    return Sequential(*ops, name=name)


def _mixed(name: str, *branches: Sequence[Op]) -> Concat:
    return Concat(*(_branch(f"Branch_{i}", *ops) for i, ops in enumerate(branches)), name=name)


def inception_v2(include_top: bool = False, separable: bool = True) -> Sequential:
    """TF-Slim ``inception_v2`` ("same" padding everywhere).

    ``Conv2d_1a_7x7`` is a separable convolution (a 7x7 stride-2 depthwise then a 1x1
    pointwise convolution) unless ``separable=False``.
    """
    first: Op = (
        Sequential(_sc("depthwise", 7, 2), _sc("pointwise", 1), name="Conv2d_1a_7x7")
        if separable
        else _sc("Conv2d_1a_7x7", 7, 2)
    )

    def block_a(name: str, pool: str = "AvgPool_0a_3x3") -> Concat:
        return _mixed(
            name,
            [_sc("Conv2d_0a_1x1", 1)],
            [_sc("Conv2d_0a_1x1", 1), _sc("Conv2d_0b_3x3", 3)],
            [_sc("Conv2d_0a_1x1", 1), _sc("Conv2d_0b_3x3", 3), _sc("Conv2d_0c_3x3", 3)],
            [_sp(pool, 3, 1, SAME), _sc("Conv2d_0b_1x1", 1)],
        )

    def reduction(name: str) -> Concat:
        return _mixed(
            name,
            [_sc("Conv2d_0a_1x1", 1), _sc("Conv2d_1a_3x3", 3, 2)],
            [_sc("Conv2d_0a_1x1", 1), _sc("Conv2d_0b_3x3", 3), _sc("Conv2d_1a_3x3", 3, 2)],
            [_sp("MaxPool_1a_3x3", 3, 2, SAME)],
        )

    ops: list[Op] = [
        first,
        _sp("MaxPool_2a_3x3", 3, 2, SAME),
        _sc("Conv2d_2b_1x1", 1),
        _sc("Conv2d_2c_3x3", 3),
        _sp("MaxPool_3a_3x3", 3, 2, SAME),
        block_a("Mixed_3b"),
        block_a("Mixed_3c"),
        reduction("Mixed_4a"),
        block_a("Mixed_4b"),
        block_a("Mixed_4c"),
        block_a("Mixed_4d"),
        block_a("Mixed_4e"),
        reduction("Mixed_5a"),
        block_a("Mixed_5b"),
        block_a("Mixed_5c", pool="MaxPool_0a_3x3"),
    ]
    if include_top:
        ops += [GlobalPool(name="AvgPool_1a"), _sc("Conv2d_1c_1x1", 1)]
    return Sequential(*ops)


def inception_v4(include_top: bool = False) -> Sequential:
    """TF-Slim ``inception_v4``: valid stem and reductions, "same" elsewhere."""

    def block_a(name: str) -> Concat:
        return _mixed(
            name,
            [_sc("Conv2d_0a_1x1", 1)],
            [_sc("Conv2d_0a_1x1", 1), _sc("Conv2d_0b_3x3", 3)],
            [_sc("Conv2d_0a_1x1", 1), _sc("Conv2d_0b_3x3", 3), _sc("Conv2d_0c_3x3", 3)],
            [_sp("AvgPool_0a_3x3", 3, 1, SAME), _sc("Conv2d_0b_1x1", 1)],
        )

    def block_b(name: str) -> Concat:
        return _mixed(
            name,
            [_sc("Conv2d_0a_1x1", 1)],
            [_sc("Conv2d_0a_1x1", 1), _sc("Conv2d_0b_1x7", (1, 7)), _sc("Conv2d_0c_7x1", (7, 1))],
            [
                _sc("Conv2d_0a_1x1", 1),
                _sc("Conv2d_0b_7x1", (7, 1)),
                _sc("Conv2d_0c_1x7", (1, 7)),
                _sc("Conv2d_0d_7x1", (7, 1)),
                _sc("Conv2d_0e_1x7", (1, 7)),
            ],
            [_sp("AvgPool_0a_3x3", 3, 1, SAME), _sc("Conv2d_0b_1x1", 1)],
        )

    def block_c(name: str) -> Concat:
        # The inner tf.concat of a 1x3 and a 3x1 conv on one tensor, written with a Ref.
        return _mixed(
            name,
            [_sc("Conv2d_0a_1x1", 1)],
            [
                _sc("Conv2d_0a_1x1", 1),
                _sc("Conv2d_0b_1x3", (1, 3)),
                Ref("Conv2d_0a_1x1"),
                _sc("Conv2d_0c_3x1", (3, 1)),
                Concat(Ref("Conv2d_0b_1x3"), Identity(), name="concat"),
            ],
            [
                _sc("Conv2d_0a_1x1", 1),
                _sc("Conv2d_0b_3x1", (3, 1)),
                _sc("Conv2d_0c_1x3", (1, 3)),
                _sc("Conv2d_0d_1x3", (1, 3)),
                Ref("Conv2d_0c_1x3"),
                _sc("Conv2d_0e_3x1", (3, 1)),
                Concat(Ref("Conv2d_0d_1x3"), Identity(), name="concat"),
            ],
            [_sp("AvgPool_0a_3x3", 3, 1, SAME), _sc("Conv2d_0b_1x1", 1)],
        )

    ops: list[Op] = [
        _sc("Conv2d_1a_3x3", 3, 2, VALID),
        _sc("Conv2d_2a_3x3", 3, 1, VALID),
        _sc("Conv2d_2b_3x3", 3),
        _mixed("Mixed_3a", [_sp("MaxPool_0a_3x3")], [_sc("Conv2d_0a_3x3", 3, 2, VALID)]),
        _mixed(
            "Mixed_4a",
            [_sc("Conv2d_0a_1x1", 1), _sc("Conv2d_1a_3x3", 3, 1, VALID)],
            [
                _sc("Conv2d_0a_1x1", 1),
                _sc("Conv2d_0b_1x7", (1, 7)),
                _sc("Conv2d_0c_7x1", (7, 1)),
                _sc("Conv2d_1a_3x3", 3, 1, VALID),
            ],
        ),
        _mixed("Mixed_5a", [_sc("Conv2d_1a_3x3", 3, 2, VALID)], [_sp("MaxPool_1a_3x3")]),
        *(block_a(f"Mixed_5{c}") for c in "bcde"),
        _mixed(
            "Mixed_6a",
            [_sc("Conv2d_1a_3x3", 3, 2, VALID)],
            [_sc("Conv2d_0a_1x1", 1), _sc("Conv2d_0b_3x3", 3), _sc("Conv2d_1a_3x3", 3, 2, VALID)],
            [_sp("MaxPool_1a_3x3")],
        ),
        *(block_b(f"Mixed_6{c}") for c in "bcdefgh"),
        _mixed(
            "Mixed_7a",
            [_sc("Conv2d_0a_1x1", 1), _sc("Conv2d_1a_3x3", 3, 2, VALID)],
            [
                _sc("Conv2d_0a_1x1", 1),
                _sc("Conv2d_0b_1x7", (1, 7)),
                _sc("Conv2d_0c_7x1", (7, 1)),
                _sc("Conv2d_1a_3x3", 3, 2, VALID),
            ],
            [_sp("MaxPool_1a_3x3")],
        ),
        *(block_c(f"Mixed_7{c}") for c in "bcd"),
    ]
    if include_top:
        ops += [GlobalPool(name="AvgPool_1a"), _sc("Logits", 1)]
    return Sequential(*ops)


def inception_resnet_v2(include_top: bool = False, align_feature_maps: bool = False) -> Sequential:
    """TF-Slim ``inception_resnet_v2``: 10 ``block35``, 20 ``block17``, 10 ``block8`` residual units.

    ``align_feature_maps=True`` pads the stem and reductions "same" (the table's
    ``inception_resnet_v2-same``); the default is TF-Slim's "valid".
    """
    pad = SAME if align_feature_maps else VALID

    def unit(name: str, *branches: Sequence[Op]) -> Residual:
        body = Sequential(_mixed("concat", *branches), _sc("Conv2d_1x1", 1))
        return Residual(body, name=name)

    def block35(name: str) -> Residual:
        return unit(
            name,
            [_sc("Conv2d_1x1", 1)],
            [_sc("Conv2d_0a_1x1", 1), _sc("Conv2d_0b_3x3", 3)],
            [_sc("Conv2d_0a_1x1", 1), _sc("Conv2d_0b_3x3", 3), _sc("Conv2d_0c_3x3", 3)],
        )

    def block17(name: str) -> Residual:
        return unit(
            name,
            [_sc("Conv2d_1x1", 1)],
            [_sc("Conv2d_0a_1x1", 1), _sc("Conv2d_0b_1x7", (1, 7)), _sc("Conv2d_0c_7x1", (7, 1))],
        )

    def block8(name: str) -> Residual:
        return unit(
            name,
            [_sc("Conv2d_1x1", 1)],
            [_sc("Conv2d_0a_1x1", 1), _sc("Conv2d_0b_1x3", (1, 3)), _sc("Conv2d_0c_3x1", (3, 1))],
        )

    ops: list[Op] = [
        _sc("Conv2d_1a_3x3", 3, 2, pad),
        _sc("Conv2d_2a_3x3", 3, 1, pad),
        _sc("Conv2d_2b_3x3", 3),
        _sp("MaxPool_3a_3x3", 3, 2, pad),
        _sc("Conv2d_3b_1x1", 1, 1, pad),
        _sc("Conv2d_4a_3x3", 3, 1, pad),
        _sp("MaxPool_5a_3x3", 3, 2, pad),
        _mixed(
            "Mixed_5b",
            [_sc("Conv2d_1x1", 1)],
            [_sc("Conv2d_0a_1x1", 1), _sc("Conv2d_0b_5x5", 5)],
            [_sc("Conv2d_0a_1x1", 1), _sc("Conv2d_0b_3x3", 3), _sc("Conv2d_0c_3x3", 3)],
            [_sp("AvgPool_0a_3x3", 3, 1, SAME), _sc("Conv2d_0b_1x1", 1)],
        ),
        *(block35(f"block35_{i}") for i in range(1, 11)),
        _mixed(
            "Mixed_6a",
            [_sc("Conv2d_1a_3x3", 3, 2, pad)],
            [_sc("Conv2d_0a_1x1", 1), _sc("Conv2d_0b_3x3", 3), _sc("Conv2d_1a_3x3", 3, 2, pad)],
            [_sp("MaxPool_1a_3x3", 3, 2, pad)],
        ),
        *(block17(f"block17_{i}") for i in range(1, 21)),
        _alias("PreAuxLogits"),
        _mixed(
            "Mixed_7a",
            [_sc("Conv2d_0a_1x1", 1), _sc("Conv2d_1a_3x3", 3, 2, pad)],
            [_sc("Conv2d_0a_1x1", 1), _sc("Conv2d_1a_3x3", 3, 2, pad)],
            [_sc("Conv2d_0a_1x1", 1), _sc("Conv2d_0b_3x3", 3), _sc("Conv2d_1a_3x3", 3, 2, pad)],
            [_sp("MaxPool_1a_3x3", 3, 2, pad)],
        ),
        *(block8(f"block8_{i}") for i in range(1, 10)),
        block8("Block8"),
        _sc("Conv2d_7b_1x1", 1),
    ]
    if include_top:
        ops += [GlobalPool(name="AvgPool_1a_8x8"), _sc("Logits", 1)]
    return Sequential(*ops)


register(
    "inception_v3",
    inception_v3,
    "Inception-v3 (torchvision geometry and names; TF-Slim end-points MaxPool_3a_3x3 ... Mixed_7c)",
    _SQ299,
    "torchvision",
)
register(
    "inception_v2", inception_v2, "TF-Slim inception_v2 (end-points Conv2d_1a_7x7 ... Mixed_5c)", _SQ224, "tf-slim"
)
register(
    "inception_v4", inception_v4, "TF-Slim inception_v4 (end-points Conv2d_1a_3x3 ... Mixed_7d)", _SQ299, "tf-slim"
)
register(
    "inception_resnet_v2",
    inception_resnet_v2,
    "TF-Slim inception_resnet_v2 (end-points Conv2d_1a_3x3 ... PreAuxLogits, Mixed_7a, Conv2d_7b_1x1)",
    _SQ299,
    "tf-slim",
)
