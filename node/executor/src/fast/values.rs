//! The live values of one batch run.
//!
//! Every value is a flat batch `[B, numel]`: the example's elements in row-major order
//! behind a batch index, so a `Reshape` costs nothing and each op reshapes to the layout
//! it needs. A value is held as `f32` (exact small integers: every int8 value, and the
//! accumulators of the contraction fast path) or as `i64` (every other integer), or both
//! once converted; each form is made at most once.
//!
//! A value is moved, not copied, into its last reader, so kernels can often work in place
//! and memory is freed as early as possible.

use burn::tensor::{FloatDType, Int, IntDType, Tensor};

/// A value in one of its two forms.
pub(super) enum Form {
    /// Integers exactly representable in `f32` (`|v| <= 2^24`).
    Float(Tensor<2>),
    /// Integers as `i64`.
    Int(Tensor<2, Int>),
}

struct Slot {
    float: Option<Tensor<2>>,
    int: Option<Tensor<2, Int>>,
    /// Reads still to come; at zero the slot is emptied by the read.
    reads_left: usize,
}

/// The values computed so far, by value id.
pub(super) struct Values<'a> {
    slots: Vec<Slot>,
    /// Reads of each value (see [`super::BurnExecutor`]); `None` keeps every value.
    reads: Option<&'a [usize]>,
}

impl<'a> Values<'a> {
    /// An empty store; `reads[v]` is how often value `v` will be read (`None`: keep all).
    pub(super) fn new(reads: Option<&'a [usize]>) -> Self {
        Self {
            slots: Vec::new(),
            reads,
        }
    }

    /// Stores the next value.
    pub(super) fn push(&mut self, form: Form) {
        let id = self.slots.len();
        let reads_left = match self.reads {
            Some(reads) => reads[id],
            None => usize::MAX,
        };
        let (float, int) = match form {
            Form::Float(t) => (Some(t), None),
            Form::Int(t) => (None, Some(t)),
        };
        self.slots.push(Slot {
            float,
            int,
            reads_left,
        });
    }

    /// Counts one read of `id`; true when it is the last one.
    fn read(&mut self, id: u32) -> (&mut Slot, bool) {
        let slot = &mut self.slots[id as usize];
        slot.reads_left = slot.reads_left.saturating_sub(1);
        let last = slot.reads_left == 0;
        (slot, last)
    }

    /// Value `id` as `f32`. Only for values whose every element is exact in `f32`
    /// (int8 values, and whatever is already held as `f32`).
    pub(super) fn float(&mut self, id: u32) -> Tensor<2> {
        let (slot, last) = self.read(id);
        if let Some(t) = take_or_clone(&mut slot.float, last) {
            if last {
                slot.int = None;
            }
            return t;
        }
        let int = take_or_clone(&mut slot.int, last).expect("a live value has a form");
        let float = int.cast(FloatDType::F32);
        if !last {
            slot.float = Some(float.clone());
        }
        float
    }

    /// Value `id` as `i64`.
    pub(super) fn int(&mut self, id: u32) -> Tensor<2, Int> {
        let (slot, last) = self.read(id);
        if let Some(t) = take_or_clone(&mut slot.int, last) {
            if last {
                slot.float = None;
            }
            return t;
        }
        let float = take_or_clone(&mut slot.float, last).expect("a live value has a form");
        let int = float.cast(IntDType::I64);
        if !last {
            slot.int = Some(int.clone());
        }
        int
    }

    /// Value `id` in whichever form it is held (`f32` if both).
    pub(super) fn any(&mut self, id: u32) -> Form {
        let (slot, last) = self.read(id);
        if let Some(t) = take_or_clone(&mut slot.float, last) {
            if last {
                slot.int = None;
            }
            return Form::Float(t);
        }
        Form::Int(take_or_clone(&mut slot.int, last).expect("a live value has a form"))
    }

    /// Takes every value (for traces), in value order.
    pub(super) fn into_forms(self) -> Vec<Form> {
        self.slots
            .into_iter()
            .map(|slot| match (slot.float, slot.int) {
                (Some(t), _) => Form::Float(t),
                (None, Some(t)) => Form::Int(t),
                (None, None) => unreachable!("values are kept when tracing"),
            })
            .collect()
    }

    /// Takes the last value (the model output).
    pub(super) fn into_last(mut self) -> Form {
        let slot = self.slots.pop().expect("a model has at least one node");
        match (slot.float, slot.int) {
            (Some(t), _) => Form::Float(t),
            (None, Some(t)) => Form::Int(t),
            (None, None) => unreachable!("the output has one read more than its readers"),
        }
    }
}

fn take_or_clone<T: Clone>(slot: &mut Option<T>, take: bool) -> Option<T> {
    if take { slot.take() } else { slot.clone() }
}
