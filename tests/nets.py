"""Network shapes used by several tests (independent of the zoo)."""

from __future__ import annotations

import rfgraph as rf


def vgg16_like() -> rf.Sequential:
    """VGG-16's convolutional part (13 3x3 convs, 5 pools), pool5 as output."""
    return rf.parse_spec("(conv3p1*2,pool2),(conv3p1*2,pool2),(conv3p1*3,pool2)*3")


def resnet_like(blocks=(3, 4, 6, 3), bottleneck: bool = True) -> rf.Sequential:
    """ResNet geometry: 7x7/2 stem, 3x3/2 max pool, four stages of residual blocks."""
    ops: list[rf.Op] = [rf.Conv(7, stride=2, padding=3), rf.Pool(3, stride=2, padding=1)]
    for stage, n in enumerate(blocks):
        for b in range(n):
            stride = 2 if stage > 0 and b == 0 else 1
            if bottleneck:
                body = rf.Sequential(rf.Conv(1), rf.Conv(3, stride=stride, padding=1), rf.Conv(1))
            else:
                body = rf.Sequential(rf.Conv(3, stride=stride, padding=1), rf.Conv(3, padding=1))
            shortcut = rf.Conv(1, stride=stride) if b == 0 and (stride > 1 or bottleneck) else None
            ops.append(rf.Residual(body, shortcut))
    return rf.Sequential(*ops)
