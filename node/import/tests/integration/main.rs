//! The integration tests of `verdict-import`, in one test binary: importing real
//! exporters' ONNX files (the digits models) and every refusal with its message.

mod import_attention;
mod import_digits;
mod import_errors;
mod import_sklearn;
mod import_timeseries;
mod onnx_build;
