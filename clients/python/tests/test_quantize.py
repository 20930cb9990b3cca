"""Float features to input tensors (specs/quantize.md), and the error paths."""

import math

import pytest

from verdict_client.errors import FeatureCountError, NonFiniteFeatureError, QuantizeError
from verdict_client.quantize import FeatureQuant, InputSpec, f32, quantize, quantize_feature, quantize_for_model


def model(shape, scale, features=None, dtype="i8"):
    m = {"inputShape": shape, "inputScale": scale, "inputDtype": dtype}
    if features is not None:
        m["inputFeatures"] = [{"scale": s, "offset": o} for s, o in features]
    return m


def test_per_tensor_rounds_half_up_and_saturates():
    t = quantize_for_model(model([5], 0.5), [0.25, -0.25, 1000, -1000, 1.0])
    assert t.dtype == "i8" and t.shape == (5,)
    assert list(t.data) == [1, 0, 127, -127, 2]


def test_per_feature_examples_of_the_spec():
    t = quantize_for_model(model([2], 1.0, [(2, 10), (0.1, 0)]), [14, -0.3])
    # (14 - 10) / 2 = 2 -> 2; -0.3 / f32(0.1) -> -3
    assert list(t.data) == [2, -3]


def test_wide_inputs_clamp_to_i32():
    scale = 2.0**-20
    t = quantize_for_model(model([3], 1.0, [(scale, 4)] * 3, dtype="i32"), [5.5, 1e9, -1e9])
    assert t.dtype == "i32"
    assert list(t.data) == [1572864, 2**31 - 1, -(2**31 - 1)]


def test_huge_quotients_saturate_instead_of_overflowing():
    t = quantize_for_model(model([2], 1e-30), [1e300, -1.7e308])
    assert list(t.data) == [127, -127]


def test_scales_are_rounded_to_f32_first():
    # 0.1 as a double and as an f32 differ; x = 0.15 sits at a boundary for one of them.
    assert f32(0.1) != 0.1
    assert f32(0.011729415) == pytest.approx(0.011729415, rel=1e-7)
    spec = InputSpec.from_model(model([1], 0.1))
    assert spec.scale == f32(0.1)
    # 0.25 / f32(0.1) = 2.4999999627... -> floor(2.99..) = 2; with the double 0.1 it is
    # 2.5 + 0.5 = 3.
    assert quantize(spec, [0.25]).data == (2,)
    assert quantize_feature(0.25, FeatureQuant(0.1), "i8") == 3


def test_wrong_count():
    with pytest.raises(FeatureCountError) as e:
        quantize_for_model(model([1, 4], 0.5), [1.0, 2.0])
    assert e.value.expected == 4 and e.value.actual == 2
    assert "expected 4 input features, got 2" in str(e.value)


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_non_finite(bad):
    with pytest.raises(NonFiniteFeatureError) as e:
        quantize_for_model(model([3], 0.5), [1.0, bad, 2.0])
    assert e.value.index == 1


@pytest.mark.parametrize("bad", ["1.0", None, True, [1]])
def test_not_a_number(bad):
    with pytest.raises(QuantizeError, match="not a number"):
        quantize_for_model(model([1], 0.5), [bad])


def test_model_descriptions_that_cannot_quantize():
    with pytest.raises(QuantizeError, match="lacks"):
        InputSpec.from_model({"inputScale": 0.5})
    with pytest.raises(QuantizeError, match="dtype"):
        InputSpec.from_model(model([1], 0.5, dtype="f32"))
    with pytest.raises(QuantizeError, match="not usable"):
        InputSpec.from_model(model([1], 0.0))
    with pytest.raises(QuantizeError, match="not usable"):
        InputSpec.from_model(model([2], 1.0, [(1, 0), (-1, 0)]))
    with pytest.raises(QuantizeError, match="2 feature quantizations for 3"):
        InputSpec.from_model(model([3], 1.0, [(1, 0), (1, 0)]))


def test_errors_are_value_errors():
    # Callers that catch ValueError for bad input keep working.
    with pytest.raises(ValueError):
        quantize_for_model(model([1], 0.5), [])
