"""``gradient_erf`` in every output layout (SPEC section 12): channels first, channels last, tokens.

Each map is checked against a hand-written autograd loop (the target picked by hand in the
tensor's own layout) and its support against :func:`rfgraph.reach` of the same module
imported with :func:`rfgraph.from_torch`.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import rfgraph as rf
from rfgraph.erf.layout import Layout, guess_layout

torch = pytest.importorskip("torch")
nn = torch.nn


def _by_hand(model, x, output, pick):
    """Luo et al.'s loop written out: hook ``output``, ``pick(y)`` the target's channels, |grad| summed."""
    captured = []
    module = model.get_submodule(output) if output else model
    handle = module.register_forward_hook(lambda m, a, out: captured.append(out))
    total = 0
    try:
        for i in range(x.shape[0]):
            xi = x[i : i + 1].clone().requires_grad_(True)
            captured.clear()
            y = model(xi) if output else None
            y = captured[0] if output else model(xi)
            (grad,) = torch.autograd.grad(pick(y).sum(), xi)
            total = total + grad.abs().sum(dim=1)[0].double().numpy()
    finally:
        handle.remove()
    return total / x.shape[0]


def _check(model, shape, output, pick, layout=None):
    model = model.double().eval()
    x = torch.randn(3, 3, *shape, dtype=torch.float64)
    g = rf.erf.gradient_erf(model, x, output=output, layout=layout)
    assert g.shape == shape
    np.testing.assert_allclose(g, _by_hand(model, x, output, pick), rtol=1e-10, atol=1e-14)
    lay = rf.erf.output_layout(model, x, output, layout)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        net = rf.from_torch(model, shape)
    assert rf.build_plan(net, shape, output).output.shape == lay.grid
    centre = tuple(n // 2 for n in lay.grid)
    assert ((g > 0) == rf.reach(net, shape, centre, endpoint=output)).all()
    return g, lay


class _ChannelsLast(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 5)

    def forward(self, x):
        return self.conv(x).permute(0, 2, 3, 1)


class _Tokens(nn.Module):
    """A patch embedding, a class token and a per-token MLP: (B, 1 + h*w, C)."""

    def __init__(self) -> None:
        super().__init__()
        self.patch = nn.Conv2d(3, 8, 4, stride=4)
        self.cls = nn.Parameter(torch.randn(1, 1, 8))
        self.mlp = nn.Linear(8, 8)

    def forward(self, x):
        t = self.patch(x).flatten(2).transpose(1, 2)
        return self.mlp(torch.cat([self.cls.expand(x.shape[0], -1, -1), t], dim=1))


def test_layouts_are_guessed_from_shapes() -> None:
    assert guess_layout((2, 96, 56, 56), (224, 224)) == Layout("channels_first", (56, 56))
    assert guess_layout((2, 56, 56, 96), (224, 224)) == Layout("channels_last", (56, 56))
    assert guess_layout((2, 197, 192), (224, 224)) == Layout("tokens", (14, 14), 1)
    assert guess_layout((2, 198, 192), (224, 224)) == Layout("tokens", (14, 14), 2)  # DeiT: class + distillation
    assert guess_layout((2, 35, 768), (224, 160)) == Layout("tokens", (7, 5), 0)
    assert guess_layout((2, 3, 197, 64), (224, 224)) is None  # attention heads are not spatial
    assert guess_layout((2, 1000), (224, 224)) is None
    assert guess_layout((2, 8, 8, 8), (64, 64)).kind == "channels_first"  # a tie: PyTorch's default
    assert guess_layout((2, 8, 8, 8), (64, 64), layout="channels_last").kind == "channels_last"
    with pytest.raises(rf.RFGraphError, match="layout"):
        guess_layout((2, 8, 8, 8), (64, 64), layout="NCWH")


def test_channels_last_is_a_square_not_a_band() -> None:
    # issue 24 item 6: conv5 then permute(0, 2, 3, 1) gave a full-height band
    torch.manual_seed(0)
    g, lay = _check(_ChannelsLast(), (16, 12), None, lambda y: y[:, 6, 4, :])
    assert lay.kind == "channels_last" and (g > 0).sum() == 25


def test_tokens_with_a_class_token_map_back_to_their_grid() -> None:
    torch.manual_seed(0)
    model = _Tokens()
    # centre token of the 4x4 grid: row 2, column 2, after the class token
    g, lay = _check(model, (16, 16), None, lambda y: y[:, 1 + 2 * 4 + 2, :])
    assert lay == Layout("tokens", (4, 4), 1) and (g > 0).sum() == 16
    assert [n for n, _ in rf.erf.spatial_outputs(model, torch.zeros(1, 3, 16, 16).double())] == ["patch", "mlp"]
    with pytest.raises(rf.RFGraphError, match="layout"):
        rf.erf.gradient_erf(model, torch.zeros(1, 3, 16, 16).double(), layout="channels_last")


@pytest.mark.slow
@pytest.mark.parametrize(
    ("name", "options", "shape", "output", "kind"),
    [
        ("vit_tiny_patch16_224", {"img_size": 64}, (64, 64), "patch_embed", "tokens"),
        ("vit_tiny_patch16_224", {"img_size": 64}, (64, 64), "blocks.0", "tokens"),
        ("deit_tiny_distilled_patch16_224", {"img_size": 64}, (64, 64), "blocks.1", "tokens"),
        ("swin_tiny_patch4_window7_224", {"img_size": 56}, (56, 56), "layers.0", "channels_last"),
        ("swin_tiny_patch4_window7_224", {"img_size": 56}, (56, 56), "layers.1", "channels_last"),
        ("convnext_atto", {"conv_mlp": False}, (64, 64), "stages.1.blocks.0.mlp", "channels_last"),
        ("convnext_atto", {}, (64, 64), "stages.1", "channels_first"),
    ],
)
def test_timm_transformers_equal_a_hand_written_loop(name, options, shape, output, kind) -> None:
    timm = pytest.importorskip("timm")
    torch.manual_seed(0)
    model = timm.create_model(name, pretrained=False, **options)
    x = torch.zeros(1, 3, *shape, dtype=torch.float64)
    lay = rf.erf.output_layout(model.double(), x, output)
    assert lay is not None and lay.kind == kind
    centre = tuple(n // 2 for n in lay.grid)
    if kind == "tokens":
        index = lay.prefix + centre[0] * lay.grid[1] + centre[1]

        def pick(y):
            return y[:, index, :]
    elif kind == "channels_last":

        def pick(y):
            return y[:, centre[0], centre[1], :]
    else:

        def pick(y):
            return y[:, :, centre[0], centre[1]]

    g, _ = _check(model, shape, output, pick)
    if output == "patch_embed":
        assert (g > 0).sum() == 16 * 16  # one 16x16 patch


def test_without_weights_a_registry_model_is_never_called_trained(capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("torchvision")
    import json

    from rfgraph.cli import main

    argv = ["erf-model", "torchvision:resnet18", "-l", "layer1", "-i", "32", "--images", "noise:2", "--no-progress"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "untrained (random init)" in out and "trained:" not in out.replace("untrained", "")
    assert main([*argv, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["weights"] == "untrained (random init)" and "trained" not in data["stats"]
