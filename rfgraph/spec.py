"""Networks from text: the compact spec grammar and JSON/YAML descriptions.

The compact grammar (used by the CLI) is a comma-separated list of layers::

    conv3            Conv(3)
    conv3s2p1        Conv(3, stride=2, padding=1)
    conv3d2          Conv(3, dilation=2)
    conv3x5s2x1      Conv((3, 5), stride=(2, 1))       per-axis values joined by x
    conv3psame       Conv(3, padding="same")           also pvalid
    conv3p1reflect   Conv(3, padding=1, padding_mode="reflect")   also replicate, circular
    pool2 / maxpool2 / avgpool3s2p1                    Pool (stride defaults to kernel)
    pool3s2c         Pool(3, stride=2, ceil_mode=True) trailing c = ceil_mode
    deconv4s2p1o1    ConvTranspose(4, stride=2, padding=1, output_padding=1)
    up2 / up2linear  Upsample(2) / Upsample(2, mode="linear")
    gpool / gap / fc GlobalPool()
    id               Identity()
    pad2 / pad1x2reflect           Pad(2) / Pad((1, 2), mode="reflect")   also replicate, circular
    resize17 / resize17x9          Resize(size=17) / Resize(size=(17, 9))
    resize0.5 / resize2.0linear    Resize(scale_factor=...): a decimal point makes a scale factor
    resize1.5cubicac               modes nearest, exact (nearest-exact), linear, cubic, area;
                                   suffix ac = align_corners, rs = recompute_scale_factor
    apool7 / apool7x5              AdaptivePool(7) / AdaptivePool((7, 5))
    shuffle2 / unshuffle2          PixelShuffle(2) / PixelUnshuffle(2)
    slice0x1s2 / slice1to-1        Slice(start=(0, 1), step=2) / Slice(start=1, stop=-1)
    flip / flip1                   Flip() / Flip(axes=1)
    roll3 / roll3x-3               Roll(3) / Roll((3, -3))
    gmix                           GlobalMix()
    wmix7 / wmix7s3                WindowMix(7) / WindowMix(7, shift=3)
    wmix7d2 / wmix7s3d2            WindowMix(7, dilation=2) / WindowMix(7, shift=3, dilation=2):
                                   dilated windows, 7 positions 2 apart (grid attention)
    conv3*5          five Conv(3) in a row (any layer or group)
    (conv3,pool2)*2  a group, repeated
    res(conv3p1,conv3p1)           Residual(Sequential(...)), identity shortcut
    res(conv3p1s2 | conv1s2)       Residual(body, shortcut)
    add(id | conv3p1 | conv5p2)    Add of branches separated by |
    cat(conv1 | conv3p1)           Concat of branches (channels)
    cat1(id | id)                  Concat(..., axis=1): along spatial axis 1
    conv3p1:conv1_1                a name after a colon
    res:block1(conv3p1,conv3p1)    a named merge

Whitespace is ignored.

>>> parse_spec("conv3*2,pool2")
Sequential(Conv(3), Conv(3), Pool(2))
>>> parse_spec("res(conv3p1,conv3p1)")
Sequential(Residual(Sequential(Conv(3, padding=1), Conv(3, padding=1))))
"""

from __future__ import annotations

import re
import reprlib
from typing import Any

from .errors import RFGraphError
from .geometry import limits
from .ops import (
    AdaptivePool,
    Add,
    Concat,
    Conv,
    ConvTranspose,
    Crop,
    Flip,
    GlobalMix,
    GlobalPool,
    Identity,
    Op,
    Pad,
    PixelShuffle,
    PixelUnshuffle,
    Pool,
    Ref,
    Residual,
    Resize,
    Roll,
    Sequential,
    Slice,
    Upsample,
    WindowMix,
)

__all__ = ["parse_spec", "network_from_dict", "network_to_dict", "GRAMMAR"]

GRAMMAR = __doc__.split("::", 1)[1].split("Whitespace", 1)[0] if __doc__ else ""

# ASCII digits only: ``\d`` would also take full-width and other Unicode digits.
_NUM = r"[0-9]+(?:x[0-9]+)*"
_LAYER = re.compile(
    rf"^(?P<kind>conv|maxpool|avgpool|pool|deconv|convt|up|upsample)(?P<k>{_NUM})"
    rf"(?P<mods>(?:s{_NUM}|d{_NUM}|o{_NUM}|psame|pvalid|p{_NUM})*)"
    r"(?P<extra>c|linear|bilinear|trilinear|nearest|reflect|replicate|circular)?$"
)
_INT = r"-?[0-9]+(?:x-?[0-9]+)*"
_FLOAT = r"[0-9]+(?:\.[0-9]*)?(?:x[0-9]+(?:\.[0-9]*)?)*"
_RESIZE = re.compile(
    rf"^resize(?P<v>{_FLOAT})(?P<mode>nearest|exact|linear|bilinear|trilinear|cubic|bicubic|area)?"
    r"(?P<ac>ac)?(?P<rs>rs)?$"
)
_PAD = re.compile(rf"^pad(?P<v>{_NUM})(?P<mode>zeros|reflect|replicate|circular)?$")
_SLICE = re.compile(rf"^slice(?P<start>{_INT})?(?:to(?P<stop>{_INT}))?(?:s(?P<step>{_NUM}))?$")
_SIMPLE = re.compile(
    rf"^(?P<kind>apool|shuffle|unshuffle|roll|flip|wmix)(?P<v>{_INT})?(?:s(?P<s>{_NUM}))?(?:d(?P<d>{_NUM}))?$"
)
_MOD = re.compile(rf"(s|d|o)({_NUM})|p(same|valid|{_NUM})")
_WORD = re.compile(r"[A-Za-z0-9_:.\-]+", re.ASCII)
_COUNT = re.compile(r"[0-9]+")


_REPR = reprlib.Repr()
_REPR.maxlevel, _REPR.maxstring, _REPR.maxother = 2, 40, 40


def _brief(data: Any) -> str:
    """A bounded repr of parsed JSON/YAML (a shared alias structure must not be printed in full)."""
    return _REPR.repr(data)


def _short(spec: str) -> str:
    """A spec as quoted in errors: long ones are cut so that the message stays one short line."""
    return spec if len(spec) <= 60 else spec[:57] + "..."


_GLOBAL = {"gpool", "gap", "fc", "globalpool"}


def _value(text: str, what: str = "value", where: str = "spec") -> int | tuple[int, ...]:
    if any(len(p) > 12 for p in text.split("x")):  # refuse before int() builds a huge number
        raise RFGraphError(f"{where}: {what} {_short(text)!r} is far above rfgraph's maximum of {limits.MAX_PARAM:,}")
    parts = tuple(int(p) for p in text.split("x"))
    for p in parts:
        limits.check_param(p, what, where)
    return parts[0] if len(parts) == 1 else parts


def _layer(token: str, spec: str) -> Op:
    name = None
    if ":" in token:
        token, name = token.split(":", 1)
        if not name:
            raise RFGraphError(f"spec {_short(spec)!r}: empty name after ':' in {token + ':'!r}")
    word = token.lower()
    if word in _GLOBAL:
        return GlobalPool(name=name)
    if word in ("id", "identity"):
        return Identity(name=name)
    if word in ("gmix", "globalmix"):
        return GlobalMix(name=name)
    if word.startswith(("resize", "pad", "slice", "apool", "shuffle", "unshuffle", "roll", "flip", "wmix")):
        try:
            return _index_layer(word, token, spec, name)
        except RFGraphError as err:
            if str(err).startswith("spec "):
                raise
            raise RFGraphError(f"spec {_short(spec)!r}: layer {token!r}: {err}") from None
    m = _LAYER.match(word)
    if not m:
        raise RFGraphError(
            f"spec {_short(spec)!r}: cannot read layer {token!r}; write e.g. conv3s2p1, pool2, deconv4s2p1, up2, "
            "resize17, pad1reflect, gpool, gmix, res(...), add(a|b), cat(a|b) (see `rfgraph spec-help`)"
        )
    kind, extra = m["kind"], m["extra"]
    where = f"spec {_short(spec)!r}: layer {_short(token)!r}"
    params: dict[str, Any] = {}
    for mod in _MOD.finditer(m["mods"]):
        if mod.group(1):
            key = {"s": "stride", "d": "dilation", "o": "output_padding"}[mod.group(1)]
            params[key] = _value(mod.group(2), key, where)
        else:
            pad = mod.group(3)
            params["padding"] = pad if pad in ("same", "valid") else _value(pad, "padding", where)
    k = _value(m["k"], "scale_factor" if kind in ("up", "upsample") else "kernel_size", where)
    try:
        if kind in ("up", "upsample"):
            mode = extra if extra in ("linear", "bilinear", "trilinear", "nearest") else "nearest"
            if params:
                raise RFGraphError(f"spec {_short(spec)!r}: {token!r}: upsampling takes only a factor and a mode")
            return Upsample(k, mode=mode, name=name)
        if extra in ("reflect", "replicate", "circular") and kind == "conv":
            return Conv(k, padding_mode=extra, name=name, **params)
        if extra not in (None, "c") or (extra == "c" and "pool" not in kind):
            raise RFGraphError(f"spec {_short(spec)!r}: {token!r}: suffix {extra!r} does not apply to {kind}")
        if "output_padding" in params and kind not in ("deconv", "convt"):
            raise RFGraphError(f"spec {_short(spec)!r}: {token!r}: o (output_padding) is only for deconv")
        if kind in ("deconv", "convt"):
            return ConvTranspose(k, name=name, **params)
        if "pool" in kind:
            return Pool(k, ceil_mode=extra == "c", name=name, **params)
        return Conv(k, name=name, **params)
    except RFGraphError as err:
        if str(err).startswith("spec "):
            raise
        raise RFGraphError(f"spec {_short(spec)!r}: layer {token!r}: {err}") from None


def _values(text: str, cast: type) -> Any:
    if any(len(p.lstrip("-")) > 15 for p in text.split("x")):  # before int()/float() see a huge number
        raise RFGraphError(f"value {_short(text)!r} is far above rfgraph's maximum of {limits.MAX_PARAM:,}")
    parts = tuple(cast(p) for p in text.split("x"))
    return parts[0] if len(parts) == 1 else parts


def _index_layer(word: str, token: str, spec: str, name: str | None) -> Op:
    """The index-map layers: resize, pad, slice, apool, (un)shuffle, roll, flip, wmix."""
    bad = RFGraphError(
        f"spec {_short(spec)!r}: cannot read layer {token!r}; write e.g. resize17, resize0.5linear, pad1reflect, "
        "slice0x1s2, apool7, shuffle2, unshuffle2, roll3, flip, wmix7s3 (see `rfgraph spec-help`)"
    )
    m = _RESIZE.match(word)
    if m:
        text = m["v"]
        mode = {None: "nearest", "exact": "nearest-exact"}.get(m["mode"], m["mode"])
        options: dict[str, Any] = {"mode": mode, "align_corners": bool(m["ac"]), "name": name}
        if "." in text:
            return Resize(scale_factor=_values(text, float), recompute_scale_factor=bool(m["rs"]), **options)
        if m["rs"]:
            raise RFGraphError(f"spec {_short(spec)!r}: {token!r}: rs (recompute_scale_factor) needs a scale like 1.5")
        return Resize(size=_values(text, int), **options)
    m = _PAD.match(word)
    if m:
        return Pad(_value(m["v"]), mode=m["mode"] or "zeros", name=name)
    m = _SLICE.match(word)
    if m:
        start = 0 if m["start"] is None else _values(m["start"], int)
        stop = None if m["stop"] is None else _values(m["stop"], int)
        step = 1 if m["step"] is None else _value(m["step"])
        return Slice(start, stop, step, name=name)
    m = _SIMPLE.match(word)
    if not m:
        raise bad
    kind, v, shift, dilation = m["kind"], m["v"], m["s"], m["d"]
    if (shift is not None or dilation is not None) and kind != "wmix":
        raise bad
    if kind == "flip":
        return Flip(None if v is None else _values(v, int), name=name)
    if v is None:
        raise bad
    value = _values(v, int)
    if kind == "apool":
        return AdaptivePool(value, name=name)
    if kind == "shuffle":
        return PixelShuffle(value, name=name)
    if kind == "unshuffle":
        return PixelUnshuffle(value, name=name)
    if kind == "roll":
        return Roll(value, name=name)
    return WindowMix(
        value,
        shift=0 if shift is None else _value(shift),
        dilation=1 if dilation is None else _value(dilation),
        name=name,
    )


class _Parser:
    """Recursive descent over the compact grammar, with the caps of :mod:`rfgraph.geometry.limits`.

    Every item returns its ops and how many layers they hold once repeats are
    expanded, so that ``"(conv3*1000)*1000"`` is refused before a list of a million
    ops exists; the nesting depth is bounded before Python's recursion limit is near.
    """

    def __init__(self, text: str, budget: limits.Budget | None = None) -> None:
        self.spec = text
        self.text = re.sub(r"\s+", "", text)
        self.pos = 0
        self.depth = 0
        self.budget = budget or limits.Budget(f"spec {_short(text)!r}")

    def error(self, what: str) -> RFGraphError:
        return RFGraphError(f"spec {_short(self.spec)!r}: {what} at character {self.pos}")

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def nest(self) -> None:
        self.depth += 1
        self.budget.depth(self.depth)

    def sequence(self, stops: str) -> tuple[list[Op], int]:
        ops: list[Op] = []
        count = 0
        while True:
            more, n = self.item()
            ops.extend(more)
            count += n
            if count > limits.MAX_OPS:
                self.budget.add(count)
            if self.peek() == ",":
                self.pos += 1
                continue
            if self.peek() == "" or self.peek() in stops:
                return ops, count
            raise self.error(f"unexpected {self.peek()!r}")

    def item(self) -> tuple[list[Op], int]:
        if self.peek() == "(":
            self.pos += 1
            self.nest()
            ops, count = self.sequence(")")
            self.expect(")")
            self.depth -= 1
        else:
            m = _WORD.match(self.text, self.pos)
            if not m:
                raise self.error("expected a layer")
            word = m.group(0)
            self.pos = m.end()
            if self.peek() == "(" and re.fullmatch(r"(res|residual|add|cat|concat)[0-9]*", word.split(":")[0].lower()):
                op, count = self.merge(word)
                ops = [op]
            else:
                ops, count = [_layer(word, self.spec)], 1
        if self.peek() == "*":
            self.pos += 1
            m = _COUNT.match(self.text, self.pos)
            digits = m.group(0).lstrip("0") if m else ""
            if not digits:
                raise self.error("expected a positive repeat count after '*'")
            self.pos = m.end()  # type: ignore[union-attr]
            # Exact integers: the product is compared with the cap before any list grows.
            repeat = int(digits) if len(digits) <= 12 else limits.MAX_OPS + 1
            if count * repeat > limits.MAX_OPS:
                self.budget.add(count * repeat)
            ops, count = ops * repeat, count * repeat
        return ops, count

    def merge(self, word: str) -> tuple[Op, int]:
        kind, _, name = word.partition(":")
        self.expect("(")
        self.nest()
        first, count = self.sequence("|)")
        branches = [first]
        while self.peek() == "|":
            self.pos += 1
            more, n = self.sequence("|)")
            branches.append(more)
            count += n
        self.expect(")")
        self.depth -= 1
        # Single-op branches stay bare so that reprs and names read naturally.
        ops = [b[0] if len(b) == 1 else Sequential(*b) for b in branches]
        label = name or None
        kind = kind.lower()
        if kind in ("res", "residual"):
            if len(ops) > 2:
                raise self.error("res(body | shortcut) takes at most two branches")
            return Residual(ops[0], ops[1] if len(ops) == 2 else None, name=label), count
        if kind == "add":
            return Add(*ops, name=label), count
        if kind in ("res", "residual") or not kind.startswith(("cat", "concat")):
            raise self.error(f"unknown merge {kind!r}")
        digits = re.sub(r"^[^0-9]+", "", kind)
        if len(digits) > 2:
            raise self.error(f"{kind!r}: concatenation axis {digits} is not a spatial axis (0, 1 or 2)")
        return Concat(*ops, axis=int(digits) if digits else None, name=label), count

    def expect(self, char: str) -> None:
        if self.peek() != char:
            raise self.error(f"expected {char!r}")
        self.pos += 1


def parse_spec(text: str, *, _budget: limits.Budget | None = None) -> Sequential:
    """Parse the compact text grammar (see the module docstring) into a network.

    Specs longer than :data:`rfgraph.geometry.limits.MAX_SPEC_CHARS`, nested deeper than
    ``MAX_DEPTH`` or holding more than ``MAX_OPS`` layers once repeats are expanded
    are refused, as is any parameter above ``MAX_PARAM``.

    >>> parse_spec("conv3s2p1, pool3s2c, deconv4s2p1:up1")
    Sequential(Conv(3, stride=2, padding=1), Pool(3, stride=2, ceil_mode=True), ConvTranspose(4, stride=2, padding=1, name='up1'))
    """
    if not isinstance(text, str) or not text.strip():
        raise RFGraphError(f"spec {text!r} is empty; write layers such as 'conv3,conv3s2p1,pool2'")
    if len(text) > limits.MAX_SPEC_CHARS:
        raise RFGraphError(
            f"spec {_short(text)!r} is {len(text):,} characters long, above rfgraph's maximum of "
            f"{limits.MAX_SPEC_CHARS:,}; use repeats such as 'conv3*100' or a JSON/YAML file"
        )
    odd = next((i for i, c in enumerate(text) if not c.isascii()), None)
    if odd is not None:
        raise RFGraphError(
            f"spec {_short(text)!r}: character {text[odd]!r} at position {odd} is not ASCII; "
            "write sizes with the digits 0-9 and layers such as conv3s2p1"
        )
    parser = _Parser(text, _budget)
    ops, count = parser.sequence("")
    if _budget is not None:
        _budget.add(count)
    return Sequential(*ops)


_KINDS: dict[str, type[Op]] = {
    "conv": Conv,
    "pool": Pool,
    "maxpool": Pool,
    "avgpool": Pool,
    "convtranspose": ConvTranspose,
    "deconv": ConvTranspose,
    "upsample": Upsample,
    "globalpool": GlobalPool,
    "identity": Identity,
    "crop": Crop,
    "ref": Ref,
    "sequential": Sequential,
    "add": Add,
    "concat": Concat,
    "residual": Residual,
    "pad": Pad,
    "resize": Resize,
    "adaptivepool": AdaptivePool,
    "pixelshuffle": PixelShuffle,
    "pixelunshuffle": PixelUnshuffle,
    "slice": Slice,
    "flip": Flip,
    "roll": Roll,
    "globalmix": GlobalMix,
    "windowmix": WindowMix,
}
# Keys written by network_to_dict only when they differ from the op's default.
_OPTIONAL_KEYS = {"padding_mode": "zeros", "axis": None}
_NEW_KEYS = (
    "pads",
    "size",
    "align_corners",
    "recompute_scale_factor",
    "output_size",
    "factor",
    "start",
    "stop",
    "step",
    "axes",
    "shift",
    "window",
)
# WindowMix's dilation is written by the first key list of network_to_dict (as Conv's).


def network_from_dict(data: Any, where: str = "network") -> Op:
    """Build a network from plain data (parsed JSON/YAML).

    A list is a Sequential.  A dict has ``type`` (one of ``conv``, ``pool``,
    ``convtranspose``, ``upsample``, ``globalpool``, ``identity``, ``crop``, ``ref``, ``sequential``,
    ``add``, ``concat``, ``residual``, ``pad``, ``resize``, ``adaptive_pool``, ``pixel_shuffle``,
    ``pixel_unshuffle``, ``slice``, ``flip``, ``roll``, ``global_mix``, ``window_mix``) and the op's
    parameters (the constructor's keyword names); ``layers``
    holds a Sequential's ops, ``branches`` a merge's, ``body``/``shortcut`` a
    Residual's.  A string is parsed with :func:`parse_spec`.  At most
    :data:`rfgraph.geometry.limits.MAX_OPS` nodes are read (a YAML alias bomb is refused
    while it is converted) and nesting is bounded by ``MAX_DEPTH``.

    >>> network_from_dict([{"type": "conv", "kernel_size": 3, "stride": 2}, "pool2"])
    Sequential(Conv(3, stride=2), Sequential(Pool(2)))
    """
    return _from_data(data, where, limits.Budget(where), 1)


def _from_data(data: Any, where: str, budget: limits.Budget, depth: int) -> Op:
    budget.depth(depth)
    if not isinstance(data, str):
        budget.add(1)
    if isinstance(data, str):
        return parse_spec(data, _budget=budget)
    if isinstance(data, list):
        return Sequential(*(_from_data(d, f"{where}[{i}]", budget, depth + 1) for i, d in enumerate(data)))
    if not isinstance(data, dict):
        raise RFGraphError(f"{where}: expected a list, a dict with 'type', or a spec string, got {_brief(data)}")
    params = dict(data)
    kind = params.pop("type", "sequential" if "layers" in params else "")
    kind = kind.lower().replace("_", "") if isinstance(kind, str) else ""
    cls = _KINDS.get(kind)
    if cls is None:
        raise RFGraphError(f"{where}: unknown type {_brief(data.get('type'))}; use one of {', '.join(_KINDS)}")
    name = params.pop("name", None)
    try:
        if cls is Sequential:
            layers = params.pop("layers", params.pop("ops", []))
            if not isinstance(layers, list):
                raise RFGraphError(f"{where}: 'layers' must be a list of layers, got {_brief(layers)}")
            op: Op = Sequential(
                *(_from_data(d, f"{where}.layers[{i}]", budget, depth + 1) for i, d in enumerate(layers)), name=name
            )
        elif cls in (Add, Concat):
            branches = params.pop("branches", [])
            if not isinstance(branches, list):
                raise RFGraphError(f"{where}: 'branches' must be a list, got {_brief(branches)}")
            extra = {"axis": params.pop("axis")} if cls is Concat and "axis" in params else {}
            op = cls(
                *(_from_data(d, f"{where}.branches[{i}]", budget, depth + 1) for i, d in enumerate(branches)),
                name=name,
                **extra,
            )  # type: ignore[call-arg]
        elif cls is Residual:
            body = _from_data(params.pop("body", []), f"{where}.body", budget, depth + 1)
            shortcut = params.pop("shortcut", None)
            op = Residual(
                body,
                None if shortcut is None else _from_data(shortcut, f"{where}.shortcut", budget, depth + 1),
                name=name,
            )
        else:
            op = cls(**params, name=name)
            params = {}
            limits.check_op_params(op, f"{where}: {cls.__name__}")
    except TypeError as err:
        raise RFGraphError(f"{where}: {err}; check the parameter names of {cls.__name__}") from None
    if params:
        raise RFGraphError(f"{where}: unexpected keys {sorted(params)} for {cls.__name__}")
    return op


def network_to_dict(op: Op) -> Any:
    """The inverse of :func:`network_from_dict` (JSON-ready data)."""
    out: dict[str, Any] = {"type": type(op).__name__.lower()}
    if op.name is not None:
        out["name"] = op.name
    if isinstance(op, Sequential):
        out["layers"] = [network_to_dict(o) for o in op.ops]
    elif isinstance(op, Add | Concat):
        out["branches"] = [network_to_dict(o) for o in op.branches]
        if isinstance(op, Concat) and op.axis is not None:
            out["axis"] = op.axis
    elif isinstance(op, Residual):
        out["body"] = network_to_dict(op.body)
        if op.shortcut != Identity():
            out["shortcut"] = network_to_dict(op.shortcut)
    else:
        for key in (
            "kernel_size",
            "stride",
            "padding",
            "dilation",
            "ceil_mode",
            "output_padding",
            "scale_factor",
            "mode",
            "crop",
            "target",
        ):
            if hasattr(op, key):
                out[key] = getattr(op, key)
        for key in _NEW_KEYS:
            if hasattr(op, key):
                out[key] = getattr(op, key)
        for key, default in _OPTIONAL_KEYS.items():
            if getattr(op, key, default) != default:
                out[key] = getattr(op, key)
    return out
