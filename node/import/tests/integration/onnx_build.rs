//! Building ONNX graphs by hand for the importer's tests, and the random data they
//! calibrate and score on.

use onnx_protobuf::attribute_proto::AttributeType;
use onnx_protobuf::tensor_proto::DataType;
use onnx_protobuf::type_proto;
use onnx_protobuf::{
    AttributeProto, GraphProto, Message, ModelProto, NodeProto, OperatorSetIdProto, TensorProto,
    TensorShapeProto, TypeProto, ValueInfoProto, tensor_shape_proto,
};
use verdict_import::dataset::Dataset;
use verdict_import::{ImportOptions, import_onnx};
use verdict_specs::vectors::SplitMix64;

pub(crate) fn attr_int(name: &str, v: i64) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        type_: AttributeType::INT.into(),
        i: v,
        ..Default::default()
    }
}

pub(crate) fn attr_ints(name: &str, v: &[i64]) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        type_: AttributeType::INTS.into(),
        ints: v.to_vec(),
        ..Default::default()
    }
}

pub(crate) fn attr_float(name: &str, v: f32) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        type_: AttributeType::FLOAT.into(),
        f: v,
        ..Default::default()
    }
}

pub(crate) fn node(
    op: &str,
    inputs: &[&str],
    output: &str,
    attrs: Vec<AttributeProto>,
) -> NodeProto {
    NodeProto {
        name: format!("{op}_{output}"),
        op_type: op.into(),
        input: inputs.iter().map(|s| s.to_string()).collect(),
        output: vec![output.into()],
        attribute: attrs,
        ..Default::default()
    }
}

pub(crate) fn floats(name: &str, dims: &[i64], data: Vec<f32>) -> TensorProto {
    TensorProto {
        name: name.into(),
        dims: dims.to_vec(),
        data_type: DataType::FLOAT as i32,
        float_data: data,
        ..Default::default()
    }
}

pub(crate) fn ints(name: &str, data: &[i64]) -> TensorProto {
    TensorProto {
        name: name.into(),
        dims: vec![data.len() as i64],
        data_type: DataType::INT64 as i32,
        int64_data: data.to_vec(),
        ..Default::default()
    }
}

pub(crate) fn value_info(name: &str, dims: &[i64]) -> ValueInfoProto {
    let dim = dims
        .iter()
        .map(|&d| {
            let mut dim = tensor_shape_proto::Dimension::new();
            if d > 0 {
                dim.set_dim_value(d);
            } else {
                dim.set_dim_param("batch".into());
            }
            dim
        })
        .collect();
    let mut tensor = type_proto::Tensor::new();
    tensor.elem_type = DataType::FLOAT as i32;
    tensor.shape = Some(TensorShapeProto {
        dim,
        ..Default::default()
    })
    .into();
    let mut ty = TypeProto::new();
    ty.set_tensor_type(tensor);
    ValueInfoProto {
        name: name.into(),
        type_: Some(ty).into(),
        ..Default::default()
    }
}

/// A model with input `x` of `input_dims` (batch first, -1 = symbolic) and output `y`.
pub(crate) fn model(
    input_dims: &[i64],
    nodes: Vec<NodeProto>,
    initializers: Vec<TensorProto>,
) -> Vec<u8> {
    let graph = GraphProto {
        name: "test".into(),
        node: nodes,
        initializer: initializers,
        input: vec![value_info("x", input_dims)],
        output: vec![value_info("y", &[-1])],
        ..Default::default()
    };
    let model = ModelProto {
        ir_version: 8,
        opset_import: vec![OperatorSetIdProto {
            domain: String::new(),
            version: 17,
            ..Default::default()
        }],
        producer_name: "verdict-tests".into(),
        graph: Some(graph).into(),
        ..Default::default()
    };
    model.write_to_bytes().expect("serializes")
}

pub(crate) fn random(rng: &mut SplitMix64, n: usize) -> Vec<f32> {
    (0..n)
        .map(|_| rng.range(-1000, 1000) as f32 / 1000.0)
        .collect()
}

/// Rows of uniform random features in [-1, 1], label 0.
pub(crate) fn dataset(rows: usize, features: usize, seed: u64) -> Dataset {
    let mut rng = SplitMix64::new(seed);
    Dataset {
        features: (0..rows)
            .map(|_| {
                (0..features)
                    .map(|_| rng.range(-1000, 1000) as f64 / 1000.0)
                    .collect()
            })
            .collect(),
        targets: vec![0.0; rows],
    }
}

pub(crate) fn error_of(bytes: &[u8], features: usize) -> String {
    match import_onnx(
        bytes,
        &dataset(8, features, 1),
        None,
        &ImportOptions::default(),
        &mut |_| {},
    ) {
        Ok(_) => panic!("import should fail"),
        Err(e) => e.to_string(),
    }
}

/// The int8 model and the float graph agree on most rows of random data.
pub(crate) fn agreement(bytes: &[u8], features: usize) -> f64 {
    let report = import_onnx(
        bytes,
        &dataset(64, features, 2),
        Some(&dataset(200, features, 3)),
        &ImportOptions::default(),
        &mut |_| {},
    )
    .expect("imports");
    report.agreement.expect("scored")
}

pub(crate) fn attr_string(name: &str, v: &str) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        type_: AttributeType::STRING.into(),
        s: v.as_bytes().to_vec(),
        ..Default::default()
    }
}

pub(crate) fn attr_floats(name: &str, v: &[f32]) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        type_: AttributeType::FLOATS.into(),
        floats: v.to_vec(),
        ..Default::default()
    }
}

pub(crate) fn attr_strings(name: &str, v: &[&str]) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        type_: AttributeType::STRINGS.into(),
        strings: v.iter().map(|s| s.as_bytes().to_vec()).collect(),
        ..Default::default()
    }
}
