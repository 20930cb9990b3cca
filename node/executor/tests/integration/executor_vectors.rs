//! The burn executor against the recorded traces of `specs/vectors/models.json`.

use verdict_executor::{BurnExecutor, Executor, ReferenceExecutor};
use verdict_specs::Model;
use verdict_specs::model::Metadata;
use verdict_specs::vectors::{ModelCase, model_cases};

fn model(case: &ModelCase) -> Model {
    Model::new(
        case.graph.clone(),
        case.weights.clone(),
        Metadata::default(),
    )
    .unwrap_or_else(|e| panic!("{}: {e}", case.name))
}

#[test]
fn every_model_vector_matches_its_recorded_trace() {
    let cases = model_cases();
    assert!(cases.len() >= 10, "expected the full set of model vectors");
    for case in &cases {
        let model = model(case);
        let exec = BurnExecutor::ndarray(&model).expect("vector models are supported");
        let expected = case.trace.last().expect("a trace ends with the output");

        let out = exec
            .run_batch(std::slice::from_ref(&case.input))
            .unwrap_or_else(|e| panic!("{}: {e}", case.name));
        assert_eq!(
            &out,
            std::slice::from_ref(expected),
            "{}: output",
            case.name
        );

        let trace = exec
            .trace_batch(std::slice::from_ref(&case.input))
            .unwrap_or_else(|e| panic!("{}: {e}", case.name));
        assert_eq!(trace, vec![case.trace.clone()], "{}: trace", case.name);

        // The same example three times in one batch.
        let batch = vec![case.input.clone(); 3];
        let out = exec.run_batch(&batch).expect("valid inputs");
        assert_eq!(out, vec![expected.clone(); 3], "{}: batch of 3", case.name);
    }
}

#[test]
fn the_vectors_file_matches_the_generated_cases() {
    // The committed JSON is what Solidity reads; make sure the burn executor is checked
    // against the same data.
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../specs/vectors/models.json"
    );
    let text = std::fs::read_to_string(path).expect("models.json is committed");
    let from_file: Vec<ModelCase> = serde_json::from_str(&text).expect("models.json parses");
    assert_eq!(from_file, model_cases());
    for case in &from_file {
        let model = model(case);
        let reference = ReferenceExecutor::new(model.clone().into());
        let burn = BurnExecutor::ndarray(&model).expect("supported");
        let input = std::slice::from_ref(&case.input);
        assert_eq!(
            burn.run_batch(input).expect("valid"),
            reference.run_batch(input).expect("valid"),
            "{}",
            case.name
        );
    }
}
