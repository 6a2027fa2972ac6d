//! A statistic's values from an initializer: typed fields, `raw_data`, or external data
//! read by byte range from a file inside the model's folder.

use super::proto::TensorProto;
use super::type_name;
use crate::error::short;
use crate::model::error::{Error, Result};
use crate::model::{decode_le, ElemKind, Stat};
use std::io::{Read, Seek, SeekFrom};
use std::path::{Component, Path};

/// The values of a float tensor, exactly.
pub(super) fn tensor_values(t: &TensorProto, base_dir: Option<&Path>) -> Result<Stat> {
    let kind = match t.data_type {
        1 => ElemKind::F32,
        11 => ElemKind::F64,
        10 => ElemKind::F16,
        16 => ElemKind::Bf16,
        other => {
            return Err(Error::UnsupportedTensorType {
                tensor: short(&t.name),
                dtype: type_name(other),
            })
        }
    };
    let expected: Option<usize> = t.dims.iter().try_fold(1usize, |a, &d| {
        usize::try_from(d).ok().and_then(|d| a.checked_mul(d))
    });
    let stat = if t.data_location == 1 {
        let bytes = expected
            .and_then(|n| n.checked_mul(kind.size()))
            .ok_or_else(|| {
                Error::Format(format!(
                    "tensor {:?}: dims {:?} are not a valid size",
                    short(&t.name),
                    t.dims
                ))
            })?;
        decode_le(&external_bytes(t, base_dir, bytes)?, kind, &t.name)?
    } else if !t.raw_data.is_empty() {
        decode_le(&t.raw_data, kind, &t.name)?
    } else {
        // float16/bfloat16 bits are the low 16 bits of each int32; onnxruntime refuses
        // ("data overflow") anything else rather than truncate it, and so does this.
        if matches!(kind, ElemKind::F16 | ElemKind::Bf16) {
            if let Some((k, b)) = t
                .int32_data
                .iter()
                .enumerate()
                .find(|(_, &b)| !(0..=0xffff).contains(&b))
            {
                return Err(Error::Format(format!(
                    "tensor {:?}: int32_data[{k}] = {b} is not 16 bits of {}",
                    short(&t.name),
                    type_name(t.data_type)
                )));
            }
        }
        let values: Vec<f64> = match kind {
            ElemKind::F32 => t.float_data.iter().map(|&x| x as f64).collect(),
            ElemKind::F64 => t.double_data.clone(),
            ElemKind::F16 => t
                .int32_data
                .iter()
                .map(|&b| half::f16::from_bits(b as u16).to_f64())
                .collect(),
            ElemKind::Bf16 => t
                .int32_data
                .iter()
                .map(|&b| half::bf16::from_bits(b as u16).to_f64())
                .collect(),
        };
        kind.stat(values)
    };
    if expected != Some(stat.values.len()) {
        return Err(Error::Format(format!(
            "tensor {:?}: dims {:?} do not match its {} values",
            short(&t.name),
            t.dims,
            stat.values.len()
        )));
    }
    Ok(stat)
}

/// The `size` bytes of an external-data tensor: `location` (a plain relative path that
/// must resolve, links followed, inside `base_dir`), optional `offset` and `length`. Only
/// `offset..offset + size` is read, after checking it lies inside the file.
fn external_bytes(t: &TensorProto, base_dir: Option<&Path>, size: usize) -> Result<Vec<u8>> {
    let tensor = short(&t.name);
    let bad = |m: String| Error::Format(format!("tensor {tensor:?}: external data {m}"));
    let get = |k: &str| {
        t.external_data
            .iter()
            .find(|e| e.key == k)
            .map(|e| e.value.as_str())
    };
    let location = get("location").ok_or_else(|| bad("without a location".to_string()))?;
    let outside = |reason: &str| Error::ExternalDataOutside {
        tensor: tensor.clone(),
        location: short(location),
        reason: reason.to_string(),
    };
    let rel = Path::new(location);
    if location.is_empty() || !rel.components().all(|c| matches!(c, Component::Normal(_))) {
        return Err(outside("not a plain relative path"));
    }
    let dir = base_dir.ok_or_else(|| bad("but no model folder is known".to_string()))?;
    let num = |k: &str| -> Result<Option<u64>> {
        get(k)
            .map(|v| {
                v.parse::<u64>()
                    .map_err(|_| bad(format!("{k} {:?} is not a number", short(v))))
            })
            .transpose()
    };
    let (offset, length) = (num("offset")?.unwrap_or(0), num("length")?);
    let real = std::fs::canonicalize(dir.join(rel))
        .map_err(|e| bad(format!("{:?}: {e}", short(location))))?;
    if !real.starts_with(dir) {
        return Err(outside("it resolves outside the model's folder"));
    }
    let mut file =
        std::fs::File::open(&real).map_err(|e| bad(format!("{:?}: {e}", short(location))))?;
    let meta = file
        .metadata()
        .map_err(|e| bad(format!("{:?}: {e}", short(location))))?;
    if !meta.is_file() {
        return Err(outside("not a regular file"));
    }
    let file_len = meta.len();
    let length = length.unwrap_or_else(|| file_len.saturating_sub(offset));
    if length != size as u64 {
        return Err(bad(format!(
            "length {length} does not match the tensor's {size} bytes"
        )));
    }
    let end = offset.checked_add(length).filter(|&e| e <= file_len);
    if end.is_none() {
        return Err(bad(format!(
            "range {offset}..{offset}+{length} is outside {:?} ({file_len} bytes)",
            short(location)
        )));
    }
    // `size` ≤ the file's length: allocating it is bounded by what is on disk.
    let mut data = vec![0u8; size];
    file.seek(SeekFrom::Start(offset))
        .and_then(|_| file.read_exact(&mut data))
        .map_err(|e| bad(format!("{:?}: {e}", short(location))))?;
    Ok(data)
}
