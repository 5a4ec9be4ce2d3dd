//! Model files: one safetensors file, the [`ModelConfig`] as JSON in its metadata.
//!
//! Every way a file can be wrong gets its own [`ModelError`], naming the tensor or field.

use std::collections::HashMap;
use std::path::Path;

use candle_core::{DType, Device, Tensor};

use super::{ModelConfig, ModelError};

/// Metadata key holding the config JSON.
pub const CONFIG_KEY: &str = "phrasegen";

/// A loaded model: its config and its tensors (f32, on the CPU), checked against each other.
#[derive(Clone, Debug)]
pub struct ModelFile {
    pub config: ModelConfig,
    pub tensors: HashMap<String, Tensor>,
}

/// The tensors a config calls for, with their shapes (PyTorch names, see `model`).
pub fn expected_shapes(config: &ModelConfig) -> Vec<(String, Vec<usize>)> {
    let (f, o, h) = (config.input_size(), config.output_size(), config.hidden);
    let mut shapes = Vec::new();
    for layer in 0..config.layers {
        let input = if layer == 0 { f } else { h };
        shapes.push((format!("lstm.weight_ih_l{layer}"), vec![4 * h, input]));
        shapes.push((format!("lstm.weight_hh_l{layer}"), vec![4 * h, h]));
        shapes.push((format!("lstm.bias_ih_l{layer}"), vec![4 * h]));
        shapes.push((format!("lstm.bias_hh_l{layer}"), vec![4 * h]));
    }
    shapes.push(("out.weight".into(), vec![o, h]));
    shapes.push(("out.bias".into(), vec![o]));
    shapes
}

/// Checks a config is usable at all (before looking at tensors).
pub fn validate_config(config: &ModelConfig) -> Result<(), ModelError> {
    let bad = |m: String| Err(ModelError::BadConfig(m));
    if !(1..=8).contains(&config.layers) {
        return bad(format!("layers is {}, must be 1..=8", config.layers));
    }
    if !(1..=4096).contains(&config.hidden) {
        return bad(format!("hidden is {}, must be 1..=4096", config.hidden));
    }
    if !(1..=96).contains(&config.steps_per_quarter) {
        return bad(format!(
            "steps_per_quarter is {}, must be 1..=96",
            config.steps_per_quarter
        ));
    }
    let r = config.pitch_range;
    if r.lo > r.hi || r.hi > 127 {
        return bad(format!(
            "pitch range {}..{} is not within 0..127",
            r.lo, r.hi
        ));
    }
    Ok(())
}

/// Reads and checks a model from bytes.
pub fn read_model_bytes(bytes: &[u8]) -> Result<ModelFile, ModelError> {
    let (_, metadata) = safetensors::SafeTensors::read_metadata(bytes)
        .map_err(|e| ModelError::NotSafetensors(e.to_string()))?;
    let json = metadata
        .metadata()
        .as_ref()
        .and_then(|m| m.get(CONFIG_KEY))
        .ok_or(ModelError::MissingConfig)?;
    let config: ModelConfig =
        serde_json::from_str(json).map_err(|e| ModelError::BadConfig(e.to_string()))?;
    validate_config(&config)?;
    let st = safetensors::SafeTensors::deserialize(bytes)
        .map_err(|e| ModelError::NotSafetensors(e.to_string()))?;
    let mut tensors = HashMap::new();
    for (name, shape) in expected_shapes(&config) {
        let view = st
            .tensor(&name)
            .map_err(|_| ModelError::MissingTensor(name.clone()))?;
        if view.dtype() != safetensors::Dtype::F32 {
            return Err(ModelError::WrongDtype {
                name,
                found: format!("{:?}", view.dtype()),
            });
        }
        if view.shape() != shape.as_slice() {
            return Err(ModelError::WrongShape {
                name,
                expected: shape,
                found: view.shape().to_vec(),
            });
        }
        let values: Vec<f32> = view
            .data()
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        if let Some(i) = values.iter().position(|v| !v.is_finite()) {
            return Err(ModelError::NonFinite {
                name,
                index: i,
                value: values[i],
            });
        }
        tensors.insert(name, Tensor::from_vec(values, shape, &Device::Cpu)?);
    }
    Ok(ModelFile { config, tensors })
}

/// Reads and checks a model file.
pub fn read_model_file(path: &Path) -> Result<ModelFile, ModelError> {
    let bytes = std::fs::read(path).map_err(|source| ModelError::Io {
        path: path.display().to_string(),
        source,
    })?;
    read_model_bytes(&bytes)
}

/// The tensor named `name`, checked for its shape.
pub(crate) fn checked_tensor<'t>(
    tensors: &'t HashMap<String, Tensor>,
    name: &str,
    shape: &[usize],
) -> Result<&'t Tensor, ModelError> {
    let t = tensors
        .get(name)
        .ok_or_else(|| ModelError::MissingTensor(name.to_string()))?;
    if t.dims() != shape {
        return Err(ModelError::WrongShape {
            name: name.to_string(),
            expected: shape.to_vec(),
            found: t.dims().to_vec(),
        });
    }
    Ok(t)
}

/// Serializes a model (config in metadata) to bytes, checking shapes first.
pub fn model_bytes(
    config: &ModelConfig,
    tensors: &HashMap<String, Tensor>,
) -> Result<Vec<u8>, ModelError> {
    validate_config(config)?;
    let mut ordered = Vec::new();
    for (name, shape) in expected_shapes(config) {
        let t = checked_tensor(tensors, &name, &shape)?.to_dtype(DType::F32)?;
        ordered.push((name, t));
    }
    let json = serde_json::to_string(config).map_err(|e| ModelError::BadConfig(e.to_string()))?;
    let metadata = HashMap::from([(CONFIG_KEY.to_string(), json)]);
    safetensors::serialize(ordered, Some(metadata)).map_err(|e| ModelError::Compute(e.to_string()))
}

/// Writes a model file atomically (temporary file, then rename): an interrupted run never
/// leaves a broken model.
pub fn write_model_file(
    path: &Path,
    config: &ModelConfig,
    tensors: &HashMap<String, Tensor>,
) -> Result<(), ModelError> {
    let bytes = model_bytes(config, tensors)?;
    crate::fsutil::write_atomically(path, &bytes).map_err(|source| ModelError::Io {
        path: path.display().to_string(),
        source,
    })
}

/// The model with every weight matrix rounded to the nearest f16 value (biases as they are),
/// still stored as f32: every reader sees the same numbers, and the generator holds them in
/// half the bytes (`infer::FastLstm::weight_bytes`), which is what a one-phrase step costs.
/// A weight beyond f16's range (65504) is an error, not infinity.
pub fn round_weights_to_f16(file: &ModelFile) -> Result<ModelFile, ModelError> {
    let mut tensors = file.tensors.clone();
    for (name, tensor) in tensors.iter_mut().filter(|(n, _)| n.contains("weight")) {
        let values: Vec<f32> = tensor.flatten_all()?.to_vec1()?;
        let rounded: Vec<f32> = values
            .iter()
            .map(|&v| half::f16::from_f32(v).to_f32())
            .collect();
        if let Some(index) = rounded.iter().position(|v| !v.is_finite()) {
            return Err(ModelError::BeyondHalf {
                name: name.clone(),
                index,
                value: values[index],
            });
        }
        *tensor = Tensor::from_vec(rounded, tensor.dims(), &Device::Cpu)?;
    }
    Ok(ModelFile {
        config: file.config.clone(),
        tensors,
    })
}
