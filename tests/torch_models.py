"""Small real torch models for the practitioners' tests (tiling, valid region, pyramids).

Each is an ordinary ``torch.nn.Module`` written the way users write them (pooling,
dilation, up-sampling, skip concatenation, center-crop skips, residual blocks),
imported with :func:`rfgraph.from_torch` by the tests.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn as nn
import torch.nn.functional as F


def _block(c_in: int, c_out: int, padding: int, dilation: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, 3, padding=padding * dilation, dilation=dilation),
        nn.ReLU(),
        nn.Conv2d(c_out, c_out, 3, padding=padding),
        nn.ReLU(),
    )


class PaddedUNet(nn.Module):
    """Three levels, max pooling, a dilated bottleneck, nearest and bilinear up-sampling, concatenation."""

    def __init__(self, c: int = 3) -> None:
        super().__init__()
        self.enc1 = _block(1, c, 1)
        self.enc2 = _block(c, c, 1)
        self.mid = _block(c, c, 1, dilation=2)
        self.dec2 = _block(2 * c, c, 1)
        self.dec1 = _block(2 * c, c, 1)
        self.head = nn.Conv2d(c, 1, 1)
        self.up_nearest = nn.Upsample(scale_factor=2, mode="nearest")
        self.pool = nn.MaxPool2d(2)

    def forward(self, x: Any) -> Any:
        e1 = self.enc1(x)
        e2 = self.enc2(self.pool(e1))
        m = self.mid(self.pool(e2))
        d2 = self.dec2(torch.cat([self.up_nearest(m), e2], dim=1))
        up = F.interpolate(d2, scale_factor=2, mode="bilinear", align_corners=False)
        d1 = self.dec1(torch.cat([up, e1], dim=1))
        return self.head(d1)


def _center_crop(x: Any, d: int) -> Any:
    # The margins of a valid U-Net's skips do not depend on the input size (4, 16, 40, 88 in the
    # original); constant slices also keep the model traceable by torch.fx.
    return x[:, :, d:-d, d:-d]


class ValidUNet(nn.Module):
    """The original U-Net's layout at depth two: valid convolutions, transposed-convolution
    up-sampling and center-cropped skips."""

    def __init__(self, c: int = 3) -> None:
        super().__init__()
        self.enc1 = _block(1, c, 0)
        self.enc2 = _block(c, c, 0)
        self.mid = _block(c, c, 0)
        self.up2 = nn.ConvTranspose2d(c, c, 2, stride=2)
        self.dec2 = _block(2 * c, c, 0)
        self.up1 = nn.ConvTranspose2d(c, c, 2, stride=2)
        self.dec1 = _block(2 * c, c, 0)
        self.head = nn.Conv2d(c, 1, 1)
        self.pool = nn.MaxPool2d(2)

    def forward(self, x: Any) -> Any:
        e1 = self.enc1(x)
        e2 = self.enc2(self.pool(e1))
        m = self.mid(self.pool(e2))
        u2 = self.up2(m)
        d2 = self.dec2(torch.cat([u2, _center_crop(e2, 4)], dim=1))
        u1 = self.up1(d2)
        d1 = self.dec1(torch.cat([u1, _center_crop(e1, 16)], dim=1))
        return self.head(d1)


class DilatedFCN(nn.Module):
    """A context module (Yu & Koltun): exponentially dilated 3x3 convolutions, stride 1."""

    def __init__(self, c: int = 3) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.Conv2d(1, c, 3, padding=1), nn.ReLU()]
        for d in (1, 2, 4, 8):
            layers += [nn.Conv2d(c, c, 3, padding=d, dilation=d), nn.ReLU()]
        layers.append(nn.Conv2d(c, 1, 1))
        self.body = nn.Sequential(*layers)

    def forward(self, x: Any) -> Any:
        return self.body(x)


class BasicBlock(nn.Module):
    def __init__(self, c_in: int, c_out: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.relu = nn.ReLU()
        self.down = (
            nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride=stride, bias=False), nn.BatchNorm2d(c_out))
            if stride != 1 or c_in != c_out
            else None
        )

    def forward(self, x: Any) -> Any:
        y = self.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return self.relu(y + (x if self.down is None else self.down(x)))


class ResNetFCN(nn.Module):
    """A ResNet-style stem and two stages, a 1x1 head: dense predictions at stride 8."""

    def __init__(self, c: int = 4) -> None:
        super().__init__()
        self.stem = nn.Sequential(
            nn.Conv2d(1, c, 7, stride=2, padding=3, bias=False), nn.BatchNorm2d(c), nn.ReLU(), nn.MaxPool2d(3, 2, 1)
        )
        self.layer1 = BasicBlock(c, c, 1)
        self.layer2 = BasicBlock(c, 2 * c, 2)
        self.head = nn.Conv2d(2 * c, 1, 1)

    def forward(self, x: Any) -> Any:
        return self.head(self.layer2(self.layer1(self.stem(x))))


def prepare(model: nn.Module, seed: int = 0) -> nn.Module:
    """float64, eval mode, random weights and non-trivial batch-norm statistics."""
    torch.manual_seed(seed)
    model = model.double().eval()
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.uniform_(-0.5, 0.5)
                m.running_var.uniform_(0.5, 1.5)
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.5, 0.5)
            elif isinstance(m, nn.Conv2d | nn.ConvTranspose2d) and m.bias is not None:
                m.bias.uniform_(-0.5, 0.5)
    return model


def linearize(model: nn.Module) -> nn.Module:
    """The same graph with no cancellations (SPEC's autograd check): positive weights, identity
    activations, average instead of max pooling, batch norm as a positive scale."""
    with torch.no_grad():
        for m in list(model.modules()):
            for child_name, child in list(m.named_children()):
                if isinstance(child, nn.ReLU):
                    setattr(m, child_name, nn.Identity())
                elif isinstance(child, nn.MaxPool2d):
                    setattr(m, child_name, nn.AvgPool2d(child.kernel_size, child.stride, child.padding))
            if isinstance(m, nn.Conv2d | nn.ConvTranspose2d):
                m.weight.abs_().add_(0.1)
            elif isinstance(m, nn.BatchNorm2d):
                m.running_mean.zero_()
                m.bias.zero_()
    return model
