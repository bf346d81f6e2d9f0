"""Small torch U-Nets for the blockwise tests (importable by dask.distributed worker processes).

Written the way users write them: padded ("same") and valid U-Nets with skip concatenation,
a strided U-Net whose output is at half resolution, and a 3-D U-Net.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn as nn
import torch.nn.functional as F


def _double(conv: Any, c_in: int, c_out: int, padding: int) -> nn.Sequential:
    return nn.Sequential(
        conv(c_in, c_out, 3, padding=padding), nn.ReLU(), conv(c_out, c_out, 3, padding=padding), nn.ReLU()
    )


class UNet2d(nn.Module):
    """Padded U-Net, two poolings, bilinear and nearest up-sampling, two output channels."""

    def __init__(self, c_in: int = 2, c: int = 4) -> None:
        super().__init__()
        self.e1 = _double(nn.Conv2d, c_in, c, 1)
        self.e2 = _double(nn.Conv2d, c, 2 * c, 1)
        self.mid = _double(nn.Conv2d, 2 * c, 2 * c, 1)
        self.d2 = _double(nn.Conv2d, 4 * c, c, 1)
        self.d1 = _double(nn.Conv2d, 2 * c, c, 1)
        self.head = nn.Conv2d(c, 2, 1)

    def forward(self, x: Any) -> Any:
        e1 = self.e1(x)
        e2 = self.e2(F.max_pool2d(e1, 2))
        m = self.mid(F.max_pool2d(e2, 2))
        d2 = self.d2(torch.cat([F.interpolate(m, scale_factor=2, mode="nearest"), e2], 1))
        up = F.interpolate(d2, scale_factor=2, mode="bilinear", align_corners=False)
        return self.head(self.d1(torch.cat([up, e1], 1)))


class ValidUNet2d(nn.Module):
    """Valid convolutions, transposed-convolution up-sampling, center-cropped skips (Ronneberger et al.)."""

    def __init__(self, c_in: int = 1, c: int = 3) -> None:
        super().__init__()
        self.e1 = _double(nn.Conv2d, c_in, c, 0)
        self.e2 = _double(nn.Conv2d, c, c, 0)
        self.mid = _double(nn.Conv2d, c, c, 0)
        self.u2 = nn.ConvTranspose2d(c, c, 2, stride=2)
        self.d2 = _double(nn.Conv2d, 2 * c, c, 0)
        self.u1 = nn.ConvTranspose2d(c, c, 2, stride=2)
        self.d1 = _double(nn.Conv2d, 2 * c, c, 0)
        self.head = nn.Conv2d(c, 1, 1)

    def forward(self, x: Any) -> Any:
        e1 = self.e1(x)
        e2 = self.e2(F.max_pool2d(e1, 2))
        m = self.mid(F.max_pool2d(e2, 2))
        d2 = self.d2(torch.cat([self.u2(m), e2[:, :, 4:-4, 4:-4]], 1))
        d1 = self.d1(torch.cat([self.u1(d2), e1[:, :, 16:-16, 16:-16]], 1))
        return self.head(d1)


class StridedUNet2d(nn.Module):
    """A strided stem (stride 2), one U level, output at stride 2."""

    def __init__(self, c_in: int = 1, c: int = 4) -> None:
        super().__init__()
        self.stem = nn.Conv2d(c_in, c, 3, stride=2, padding=1)
        self.e = _double(nn.Conv2d, c, c, 1)
        self.down = nn.Conv2d(c, 2 * c, 3, stride=2, padding=1)
        self.up = nn.ConvTranspose2d(2 * c, c, 2, stride=2)
        self.d = _double(nn.Conv2d, 2 * c, c, 1)
        self.head = nn.Conv2d(c, 3, 1)

    def forward(self, x: Any) -> Any:
        e = self.e(F.relu(self.stem(x)))
        return self.head(self.d(torch.cat([self.up(F.relu(self.down(e))), e], 1)))


class UNet3d(nn.Module):
    """A 3-D padded U-Net: one pooling, trilinear up-sampling, concatenation."""

    def __init__(self, c_in: int = 1, c: int = 2) -> None:
        super().__init__()
        self.e1 = _double(nn.Conv3d, c_in, c, 1)
        self.mid = _double(nn.Conv3d, c, 2 * c, 1)
        self.d1 = _double(nn.Conv3d, 3 * c, c, 1)
        self.head = nn.Conv3d(c, 1, 1)

    def forward(self, x: Any) -> Any:
        e1 = self.e1(x)
        m = F.interpolate(self.mid(F.max_pool3d(e1, 2)), scale_factor=2, mode="trilinear", align_corners=False)
        return self.head(self.d1(torch.cat([m, e1], 1)))


class DilatedFCN2d(nn.Module):
    """Exponentially dilated 3x3 convolutions (Yu & Koltun's context module), stride 1."""

    def __init__(self, c_in: int = 1, c: int = 3) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.Conv2d(c_in, c, 3, padding=1), nn.ReLU()]
        for d in (1, 2, 4):
            layers += [nn.Conv2d(c, c, 3, padding=d, dilation=d), nn.ReLU()]
        self.body = nn.Sequential(*layers, nn.Conv2d(c, 1, 1))

    def forward(self, x: Any) -> Any:
        return self.body(x)


def prepare(model: nn.Module, seed: int = 0) -> nn.Module:
    """float64, eval mode, seeded random weights with non-zero biases."""
    torch.manual_seed(seed)
    model = model.double().eval()
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.Conv2d | nn.Conv3d | nn.ConvTranspose2d) and m.bias is not None:
                m.bias.uniform_(-0.5, 0.5)
    return model


def seeded_unet2d() -> nn.Module:
    """A factory for ``rfgraph predict tests.blockwise_models:seeded_unet2d`` (the same weights every call)."""
    torch.manual_seed(0)
    return prepare(UNet2d(c_in=1))


def seeded_unet3d() -> nn.Module:
    torch.manual_seed(0)
    return prepare(UNet3d())


def whole(model: nn.Module, image: Any) -> Any:
    """The model on the whole array (a NumPy array ``(N, C, *spatial)``), as NumPy."""
    with torch.no_grad():
        return model(torch.from_numpy(image)).numpy()
