"""Float features to the model's integer input tensor (specs/quantize.md).

``q = clamp(floor((x - offset) / scale + 1/2), -m, m)`` with ``m = 127`` for an ``i8``
input and ``2^31 - 1`` for an ``i32`` one, in IEEE double precision from the feature and
the model's *f32* scale and offset widened to double. Only clients run this rule, but
the tensor it makes is what gets signed, so it must match the node's (and
``verdict model run``'s) bit for bit.

``verdict_getModel`` sends each f32 as its shortest decimal (``0.011729415``); parsed as
a double that is not the f32 the node holds, and one step off at rounding boundaries.
:func:`f32` rounds every parsed scale and offset back to f32 before use.
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass
from typing import Any, List, Mapping, Optional, Sequence

from .errors import FeatureCountError, NonFiniteFeatureError, QuantizeError
from .tensors import Tensor, element_count

#: The largest magnitude a quantized input of each dtype takes.
INPUT_MAX = {"i8": 127, "i32": (1 << 31) - 1}


def f32(value: float) -> float:
    """``value`` rounded to the nearest IEEE single, as a double."""
    return float(struct.unpack("<f", struct.pack("<f", float(value)))[0])


@dataclass(frozen=True)
class FeatureQuant:
    """One feature's ``(scale, offset)``, held as f32 values widened to double."""

    scale: float
    offset: float = 0.0


@dataclass(frozen=True)
class InputSpec:
    """What quantization needs of a model: its input dtype and shape, and one
    ``(scale, offset)`` per element (or one scale for all, offset 0)."""

    dtype: str
    shape: List[int]
    scale: float
    features: Optional[List[FeatureQuant]] = None

    @classmethod
    def from_model(cls, model: Mapping[str, Any]) -> "InputSpec":
        """From ``verdict_getModel``'s answer (``inputDtype``, ``inputShape``,
        ``inputScale``, ``inputFeatures``); scales and offsets are rounded to f32."""
        try:
            dtype = model.get("inputDtype", "i8")
            shape = [int(d) for d in model["inputShape"]]
            scale = f32(model["inputScale"])
            raw = model.get("inputFeatures")
            features = (
                None
                if raw is None
                else [FeatureQuant(f32(f["scale"]), f32(f.get("offset", 0.0))) for f in raw]
            )
        except (KeyError, TypeError, ValueError) as e:
            raise QuantizeError(f"the model description lacks its input quantization: {e}") from e
        if dtype not in INPUT_MAX:
            raise QuantizeError(f"input dtype {dtype!r} is not one this client knows (i8, i32)")
        spec = cls(dtype=dtype, shape=shape, scale=scale, features=features)
        count = element_count(shape)
        for i, q in enumerate(features or [FeatureQuant(scale)]):
            if not (math.isfinite(q.scale) and q.scale > 0 and math.isfinite(q.offset)):
                raise QuantizeError(
                    f"input quantization {i} (scale {q.scale}, offset {q.offset}) is not usable"
                )
        if features is not None and len(features) != count:
            raise QuantizeError(
                f"the model lists {len(features)} feature quantizations for {count} input elements"
            )
        return spec

    def feature(self, index: int) -> FeatureQuant:
        """Element ``index``'s quantization."""
        if self.features:
            return self.features[index]
        return FeatureQuant(self.scale, 0.0)


def quantize_feature(x: float, quant: FeatureQuant, dtype: str = "i8") -> int:
    """One feature, by the rule above (``quant`` already in f32 precision)."""
    limit = float(INPUT_MAX[dtype])
    v = (float(x) - quant.offset) / quant.scale + 0.5
    # Clamping before the floor is the same (the limits are integers) and keeps a huge
    # or infinite quotient out of math.floor.
    return int(math.floor(min(max(v, -limit), limit)))


def quantize(spec: InputSpec, features: Sequence[float]) -> Tensor:
    """The input tensor of one example: ``features`` row-major in the input's shape."""
    values = list(features)
    expected = element_count(spec.shape)
    if len(values) != expected:
        raise FeatureCountError(expected, len(values))
    out = []
    for i, x in enumerate(values):
        if isinstance(x, bool) or not isinstance(x, (int, float)):
            raise QuantizeError(f"feature {i} ({x!r}) is not a number")
        if not math.isfinite(x):
            raise NonFiniteFeatureError(i, float(x))
        out.append(quantize_feature(x, spec.feature(i), spec.dtype))
    return Tensor(spec.dtype, spec.shape, out)


def quantize_for_model(model: Mapping[str, Any], features: Sequence[float]) -> Tensor:
    """:func:`quantize` with the spec of a ``verdict_getModel`` answer."""
    return quantize(InputSpec.from_model(model), features)
