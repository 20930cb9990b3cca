//! Bad inputs are typed errors naming their batch index, never panics.

use std::sync::Arc;
use verdict_executor::{BurnExecutor, ExecError, Executor, ReferenceExecutor};
use verdict_specs::interpreter::InputError;
use verdict_specs::model::{Graph, InputSpec, Metadata, Op, Requant};
use verdict_specs::{DType, Model, Tensor};

fn model() -> Model {
    let graph = Graph {
        input: InputSpec::per_tensor(vec![2, 3], 0.1),
        nodes: vec![
            Op::MatMul {
                input: 0,
                weight: 0,
                bias: None,
            },
            Op::Requantize {
                input: 1,
                axis: 1,
                params: vec![Requant {
                    multiplier: 1 << 30,
                    shift: 31,
                }],
            },
        ],
        output_scale: 0.1,
    };
    let weight = Tensor::from_i8(vec![4, 3], vec![1, -2, 3, 4, -5, 6, 7, -8, 9, 10, -11, 12])
        .expect("sized");
    Model::new(graph, vec![weight], Metadata::default()).expect("valid")
}

fn executors(model: &Model) -> Vec<Box<dyn Executor>> {
    vec![
        Box::new(BurnExecutor::ndarray(model).expect("supported")),
        Box::new(ReferenceExecutor::new(Arc::new(model.clone()))),
    ]
}

fn good() -> Tensor {
    Tensor::from_i8(vec![2, 3], vec![1, 2, 3, -127, 127, 0]).expect("sized")
}

#[test]
fn wrong_shape_is_rejected_with_its_index() {
    let model = model();
    let bad = Tensor::from_i8(vec![3, 2], vec![0; 6]).expect("sized");
    for exec in executors(&model) {
        let err = exec
            .run_batch(&[good(), good(), bad.clone(), good()])
            .expect_err("wrong shape");
        match err {
            ExecError::BadInput {
                index: 2,
                source: InputError::Shape { expected, actual },
            } => {
                assert_eq!(expected, vec![2, 3]);
                assert_eq!(actual, vec![3, 2]);
            }
            other => panic!("{}: unexpected {other:?}", exec.name()),
        }
    }
}

#[test]
fn i32_input_is_rejected_with_its_index() {
    let model = model();
    let bad = Tensor::from_i32(vec![2, 3], vec![0; 6]).expect("sized");
    for exec in executors(&model) {
        let err = exec
            .run_batch(std::slice::from_ref(&bad))
            .expect_err("wrong dtype");
        assert!(
            matches!(
                err,
                ExecError::BadInput {
                    index: 0,
                    source: InputError::DType {
                        expected: DType::I8,
                        actual: DType::I32
                    }
                }
            ),
            "{}: unexpected {err:?}",
            exec.name()
        );
    }
}

#[test]
fn minus_128_is_rejected_with_its_index() {
    let model = model();
    let bad = Tensor::from_i8(vec![2, 3], vec![0, 0, 0, 0, -128, 0]).expect("sized");
    for exec in executors(&model) {
        let err = exec.run_batch(&[good(), bad.clone()]).expect_err("-128");
        assert!(
            matches!(
                err,
                ExecError::BadInput {
                    index: 1,
                    source: InputError::Range {
                        index: 4,
                        value: -128,
                        dtype: DType::I8
                    }
                }
            ),
            "{}: unexpected {err:?}",
            exec.name()
        );
        assert!(err.to_string().contains("batch input 1"), "{err}");
    }
}

#[test]
fn an_empty_batch_gives_no_outputs() {
    let model = model();
    for exec in executors(&model) {
        assert!(exec.run_batch(&[]).expect("empty is fine").is_empty());
    }
    let burn = BurnExecutor::ndarray(&model).expect("supported");
    assert!(burn.trace_batch(&[]).expect("empty is fine").is_empty());
}

#[test]
fn good_inputs_still_agree() {
    let model = model();
    let outs: Vec<_> = executors(&model)
        .iter()
        .map(|e| e.run_batch(&[good(), good()]).expect("valid"))
        .collect();
    assert_eq!(outs[0], outs[1]);
}
