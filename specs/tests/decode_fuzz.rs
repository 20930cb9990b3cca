//! Untrusted model bytes: random bytes and corrupted copies of real model files never
//! make the decoder panic, and whatever decodes and validates can also be run without
//! panicking (validation is the only gate before execution).

use proptest::prelude::*;
use verdict_specs::vectors::{SplitMix64, model_cases};
use verdict_specs::{DType, Model, Tensor, interpreter};

fn valid_models() -> Vec<Vec<u8>> {
    model_cases()
        .iter()
        .map(|c| hex::decode(c.model_hex.trim_start_matches("0x")).expect("hex"))
        .collect()
}

fn run_if_valid(bytes: &[u8]) {
    if let Ok(model) = Model::decode(bytes) {
        let shape = model.graph().input.shape.clone();
        let n = shape.iter().map(|&d| d as usize).product();
        let values = SplitMix64::new(n as u64).i8s(n);
        let input = match model.graph().input.dtype {
            DType::I8 => Tensor::from_i8(shape, values),
            DType::I32 => {
                Tensor::from_i32(shape, values.iter().map(|&v| i32::from(v) << 20).collect())
            }
        }
        .expect("sized");
        interpreter::run(&model, &input).expect("valid input");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let _ = Model::decode(&bytes);
        let mut with_magic = b"VERDICTM\x00\x01".to_vec();
        with_magic.extend_from_slice(&bytes);
        run_if_valid(&with_magic);
    }

    #[test]
    fn corrupted_models_never_panic(
        pick in any::<prop::sample::Index>(),
        flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6),
        cut in any::<prop::sample::Index>(),
        truncate in any::<bool>(),
    ) {
        let models = valid_models();
        let mut bytes = models[pick.index(models.len())].clone();
        for (at, value) in flips {
            let i = at.index(bytes.len());
            bytes[i] = value;
        }
        if truncate {
            bytes.truncate(cut.index(bytes.len()));
        }
        run_if_valid(&bytes);
    }
}

#[test]
fn errors_name_the_offset_and_field() {
    let bytes = valid_models().remove(0);
    let err = Model::decode(&bytes[..bytes.len() - 3])
        .unwrap_err()
        .to_string();
    assert!(err.contains("metadata"), "{err}");
    let mut bad = bytes.clone();
    bad[0] = b'X';
    assert!(
        Model::decode(&bad)
            .unwrap_err()
            .to_string()
            .contains("magic")
    );
    let mut bad_op = bytes;
    // The first opcode sits after magic (8), version (2), graph length (4), graph
    // version (2), input shape (1 + 4), scales (8) and node count (4).
    bad_op[8 + 2 + 4 + 2 + 5 + 8 + 4] = 99;
    let err = Model::decode(&bad_op).unwrap_err().to_string();
    assert!(
        err.contains("graph.nodes[0]") && err.contains("unknown opcode 99"),
        "{err}"
    );
}
