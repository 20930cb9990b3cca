//! Element-wise non-linearities, each a `Table` op in the integer model: Sigmoid, Tanh,
//! Exp, Erf, Gelu, HardSigmoid, HardSwish, LeakyRelu, Elu, Softplus, Clip, and SiLU
//! (`x * Sigmoid(x)`, as torch exports `nn.SiLU` before opset 22 and Keras its swish).

use super::{NodeCtx, Parser, Val};
use crate::activation::Activation;
use crate::error::ImportResult;
use crate::float::FloatOp;

impl Parser {
    /// `op` is one of the element-wise functions the integer model computes by table.
    pub(super) fn activation(&mut self, op: &str, ctx: &NodeCtx<'_>) -> ImportResult<()> {
        let a = &ctx.attrs;
        let f = match op {
            "Sigmoid" => Activation::Sigmoid,
            "Tanh" => Activation::Tanh,
            "Exp" => Activation::Exp,
            "Erf" => Activation::Erf,
            "Gelu" => match a.string("approximate")?.as_deref() {
                None | Some("none") => Activation::Gelu { tanh: false },
                Some("tanh") => Activation::Gelu { tanh: true },
                Some(other) => {
                    return Err(a.fail(format!("attribute approximate = {other:?} is unknown")));
                }
            },
            "HardSigmoid" => Activation::HardSigmoid {
                alpha: f64::from(a.float("alpha", 0.2)?),
                beta: f64::from(a.float("beta", 0.5)?),
            },
            "HardSwish" => Activation::HardSwish,
            "LeakyRelu" => Activation::LeakyRelu {
                alpha: f64::from(a.float("alpha", 0.01)?),
            },
            "Elu" => Activation::Elu {
                alpha: f64::from(a.float("alpha", 1.0)?),
            },
            "Softplus" => Activation::Softplus,
            "Clip" => self.clip_bounds(ctx)?,
            _ => unreachable!("dispatched for table activations only"),
        };
        let input = self.value_input(ctx, 0)?;
        let shape = self.graph.shape(input).to_vec();
        self.push(ctx, FloatOp::Table { input, f }, shape);
        Ok(())
    }

    /// Clip's bounds: attributes `min`/`max` before opset 11, optional constant inputs after.
    fn clip_bounds(&self, ctx: &NodeCtx<'_>) -> ImportResult<Activation> {
        let a = &ctx.attrs;
        let bound = |slot: usize, attr: &str, default: f64| -> ImportResult<f64> {
            if self.opset < 11 {
                return Ok(f64::from(a.float(attr, default as f32)?));
            }
            match self.optional_input(ctx, slot)? {
                None => Ok(default),
                Some(Val::Const(c)) if c.batch_at.is_empty() && c.data.len() == 1 => Ok(c.data[0]),
                Some(_) => Err(a.fail(format!("input {slot} ({attr}) must be a constant scalar"))),
            }
        };
        let min = bound(1, "min", f64::NEG_INFINITY)?;
        let max = bound(2, "max", f64::INFINITY)?;
        if min > max {
            return Err(a.fail(format!("min {min} is above max {max}")));
        }
        Ok(Activation::Clip { min, max })
    }

    /// `Mul(x, Sigmoid(x))` (either order) where nothing else reads the Sigmoid: the
    /// Sigmoid's table becomes SiLU's. Returns whether the node was that pattern.
    pub(super) fn silu(&mut self, ctx: &NodeCtx<'_>) -> ImportResult<bool> {
        let (Val::Value(a), Val::Value(b)) = (self.input(ctx, 0)?, self.input(ctx, 1)?) else {
            return Ok(false);
        };
        for (x, s, slot) in [(a, b, 1), (b, a, 0)] {
            let name = &ctx.attrs.node.input[slot];
            let sigmoid_of_x = s > 0
                && matches!(
                    self.graph.nodes[s - 1].op,
                    FloatOp::Table { input, f: Activation::Sigmoid } if input == x
                )
                && self.value_names[s] == *name
                && self.readers.get(name).copied() == Some(1);
            if sigmoid_of_x {
                self.graph.nodes[s - 1].op = FloatOp::Table {
                    input: x,
                    f: Activation::Silu,
                };
                self.graph.notes.push(format!(
                    "'{}': x * sigmoid(x) computed as one SiLU table",
                    ctx.attrs.label
                ));
                self.fold_into(ctx, s);
                return Ok(true);
            }
        }
        Ok(false)
    }
}
