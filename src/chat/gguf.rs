//! Reads a GGUF file's header (metadata and tensor table) without loading the model.
//!
//! llama.cpp reports a bad file as "failed to load model" (or worse, asserts), so everything a
//! person can get wrong — not a GGUF at all, a download cut short, a header that lies — is caught
//! here first and named. The parser never trusts a length from the file beyond the file's size,
//! so a corrupt header cannot make it allocate gigabytes.
use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufReader, Cursor, Read, Seek};
use std::path::Path;

const MAGIC: &[u8; 4] = b"GGUF";
const DEFAULT_ALIGNMENT: u64 = 32;

#[derive(Debug, thiserror::Error)]
pub enum GgufError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{0} is not a GGUF model file (it does not start with \"GGUF\")")]
    NotGguf(String),
    #[error("{path} uses GGUF version {version}, which keybot does not read (only 2 and 3)")]
    Version { path: String, version: u32 },
    #[error("{path} is truncated or corrupt: {what}")]
    Corrupt { path: String, what: String },
}

/// A metadata value. Arrays keep only their length and, for strings, nothing else: the
/// tokenizer's vocabulary is large and nobody asks for it through this type.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Uint(u64),
    Int(i64),
    Float(f64),
    Bool(bool),
    Str(String),
    Array { len: u64 },
}

/// What a GGUF header says about the model in it.
#[derive(Debug, Clone)]
pub struct GgufHeader {
    pub metadata: BTreeMap<String, Value>,
    /// Where the tensor data ends, in bytes from the start of the file.
    #[cfg_attr(not(test), allow(dead_code))]
    pub data_end: u64,
    pub file_size: u64,
}

impl GgufHeader {
    pub fn str(&self, key: &str) -> Option<&str> {
        match self.metadata.get(key) {
            Some(Value::Str(s)) => Some(s),
            _ => None,
        }
    }

    pub fn uint(&self, key: &str) -> Option<u64> {
        match self.metadata.get(key) {
            Some(Value::Uint(v)) => Some(*v),
            Some(Value::Int(v)) => u64::try_from(*v).ok(),
            _ => None,
        }
    }

    pub fn architecture(&self) -> Option<&str> {
        self.str("general.architecture")
    }

    pub fn name(&self) -> Option<&str> {
        self.str("general.name")
    }

    pub fn context_length(&self) -> Option<u64> {
        self.uint(&format!("{}.context_length", self.architecture()?))
    }

    pub fn chat_template(&self) -> Option<&str> {
        self.str("tokenizer.chat_template")
    }

    /// The quantisation as llama.cpp names it (`Q4_K_M`), from `general.file_type`.
    pub fn quantization(&self) -> Option<String> {
        self.uint("general.file_type").map(file_type_name)
    }
}

/// Parses the header of `path` and checks that the tensor data it describes is all there.
pub fn read_header(path: &Path) -> Result<GgufHeader, GgufError> {
    let shown = path.display().to_string();
    let io = |source| GgufError::Io {
        path: shown.clone(),
        source,
    };
    let file = File::open(path).map_err(io)?;
    let file_size = file.metadata().map_err(io)?.len();
    parse(file, file_size, &shown)
}

/// Parses a GGUF header held in memory (`name` is what errors call it). The fuzz target's way
/// in: the same parser as [`read_header`], without a file.
pub fn parse_bytes(bytes: &[u8], name: &str) -> Result<GgufHeader, GgufError> {
    parse(Cursor::new(bytes), bytes.len() as u64, name)
}

fn parse<R: Read + Seek>(source: R, file_size: u64, shown: &str) -> Result<GgufHeader, GgufError> {
    let shown = shown.to_owned();
    let mut r = Reader {
        inner: BufReader::with_capacity(1 << 16, source),
        file_size,
        path: &shown,
    };

    let mut magic = [0u8; 4];
    if file_size < 4 {
        return Err(GgufError::NotGguf(shown.clone()));
    }
    r.exact(&mut magic)?;
    if &magic != MAGIC {
        return Err(GgufError::NotGguf(shown.clone()));
    }
    let version = r.u32()?;
    if !(2..=3).contains(&version) {
        return Err(GgufError::Version {
            path: shown.clone(),
            version,
        });
    }
    let tensor_count = r.u64()?;
    let kv_count = r.u64()?;
    // Every entry takes at least a few bytes, so counts beyond the file size are lies.
    if tensor_count > file_size || kv_count > file_size {
        return Err(r.corrupt("impossible tensor or metadata count"));
    }

    let mut metadata = BTreeMap::new();
    for _ in 0..kv_count {
        let key = r.string()?;
        let ty = r.u32()?;
        let value = r.value(ty)?;
        metadata.insert(key, value);
    }

    let mut data_len = 0u64;
    for _ in 0..tensor_count {
        let name = r.string()?;
        let n_dims = r.u32()?;
        if n_dims > 8 {
            return Err(r.corrupt(&format!("tensor {name} has {n_dims} dimensions")));
        }
        let mut elements: u64 = 1;
        let mut first_dim = 1;
        for i in 0..n_dims {
            let d = r.u64()?;
            if i == 0 {
                first_dim = d;
            }
            elements = elements
                .checked_mul(d)
                .ok_or_else(|| r.corrupt(&format!("tensor {name} is impossibly large")))?;
        }
        let ty = r.u32()?;
        let offset = r.u64()?;
        let bytes = tensor_bytes(ty, elements, first_dim).unwrap_or(0);
        let end = offset
            .checked_add(bytes)
            .ok_or_else(|| r.corrupt(&format!("tensor {name} lies beyond any file")))?;
        data_len = data_len.max(end);
    }

    let alignment = match metadata.get("general.alignment") {
        Some(Value::Uint(a)) if *a > 0 && a.is_power_of_two() => *a,
        _ => DEFAULT_ALIGNMENT,
    };
    let header_end = r.position()?;
    let data_start = header_end.div_ceil(alignment) * alignment;
    let data_end = data_start.saturating_add(data_len);
    if data_end > file_size {
        return Err(GgufError::Corrupt {
            path: shown.clone(),
            what: format!(
                "its tensors need {data_end} bytes but the file has only {file_size} (an interrupted download?)"
            ),
        });
    }
    Ok(GgufHeader {
        metadata,
        data_end,
        file_size,
    })
}

struct Reader<'a, R> {
    inner: BufReader<R>,
    file_size: u64,
    path: &'a str,
}

impl<R: Read + Seek> Reader<'_, R> {
    fn corrupt(&self, what: &str) -> GgufError {
        GgufError::Corrupt {
            path: self.path.to_owned(),
            what: what.to_owned(),
        }
    }

    fn exact(&mut self, buf: &mut [u8]) -> Result<(), GgufError> {
        self.inner.read_exact(buf).map_err(|e| {
            if e.kind() == std::io::ErrorKind::UnexpectedEof {
                self.corrupt("the header ends early")
            } else {
                GgufError::Io {
                    path: self.path.to_owned(),
                    source: e,
                }
            }
        })
    }

    fn position(&mut self) -> Result<u64, GgufError> {
        self.inner.stream_position().map_err(|e| GgufError::Io {
            path: self.path.to_owned(),
            source: e,
        })
    }

    fn u8(&mut self) -> Result<u8, GgufError> {
        let mut b = [0u8; 1];
        self.exact(&mut b)?;
        Ok(b[0])
    }
    fn u16(&mut self) -> Result<u16, GgufError> {
        let mut b = [0u8; 2];
        self.exact(&mut b)?;
        Ok(u16::from_le_bytes(b))
    }
    fn u32(&mut self) -> Result<u32, GgufError> {
        let mut b = [0u8; 4];
        self.exact(&mut b)?;
        Ok(u32::from_le_bytes(b))
    }
    fn u64(&mut self) -> Result<u64, GgufError> {
        let mut b = [0u8; 8];
        self.exact(&mut b)?;
        Ok(u64::from_le_bytes(b))
    }

    fn string(&mut self) -> Result<String, GgufError> {
        let len = self.u64()?;
        if len > self.file_size {
            return Err(self.corrupt("a string longer than the file"));
        }
        let len = usize::try_from(len).map_err(|_| self.corrupt("a string too long to read"))?;
        let mut buf = vec![0u8; len];
        self.exact(&mut buf)?;
        // Metadata strings are UTF-8 by the spec; a stray byte should not make a model unusable.
        Ok(String::from_utf8_lossy(&buf).into_owned())
    }

    fn skip(&mut self, n: u64) -> Result<(), GgufError> {
        if n > self.file_size {
            return Err(self.corrupt("an array longer than the file"));
        }
        let n = i64::try_from(n).map_err(|_| self.corrupt("an array too long to skip"))?;
        self.inner.seek_relative(n).map_err(|e| GgufError::Io {
            path: self.path.to_owned(),
            source: e,
        })
    }

    fn value(&mut self, ty: u32) -> Result<Value, GgufError> {
        Ok(match ty {
            0 => Value::Uint(u64::from(self.u8()?)),
            1 => Value::Int(i64::from(self.u8()? as i8)),
            2 => Value::Uint(u64::from(self.u16()?)),
            3 => Value::Int(i64::from(self.u16()? as i16)),
            4 => Value::Uint(u64::from(self.u32()?)),
            5 => Value::Int(i64::from(self.u32()? as i32)),
            6 => Value::Float(f64::from(f32::from_bits(self.u32()?))),
            7 => Value::Bool(self.u8()? != 0),
            8 => Value::Str(self.string()?),
            9 => {
                let item = self.u32()?;
                let len = self.u64()?;
                if len > self.file_size {
                    return Err(self.corrupt("an array longer than the file"));
                }
                match item {
                    8 => {
                        for _ in 0..len {
                            let n = self.u64()?;
                            self.skip(n)?;
                        }
                    }
                    9 => return Err(self.corrupt("nested arrays are not supported")),
                    _ => {
                        let size = scalar_size(item).ok_or_else(|| {
                            self.corrupt(&format!("unknown array item type {item}"))
                        })?;
                        self.skip(len.saturating_mul(size))?;
                    }
                }
                Value::Array { len }
            }
            10 => Value::Uint(self.u64()?),
            11 => Value::Int(self.u64()? as i64),
            12 => Value::Float(f64::from_bits(self.u64()?)),
            other => return Err(self.corrupt(&format!("unknown metadata type {other}"))),
        })
    }
}

fn scalar_size(ty: u32) -> Option<u64> {
    Some(match ty {
        0 | 1 | 7 => 1,
        2 | 3 => 2,
        4..=6 => 4,
        10..=12 => 8,
        _ => return None,
    })
}

/// Bytes a tensor of `ty` with `elements` takes; `None` for types this table does not know
/// (the size check then trusts the offset alone rather than refusing a newer file).
fn tensor_bytes(ty: u32, elements: u64, first_dim: u64) -> Option<u64> {
    // (elements per block, bytes per block), from ggml.c's type_traits.
    let (block, size): (u64, u64) = match ty {
        0 => (1, 4),
        1 | 30 => (1, 2),
        2 => (32, 18),
        3 => (32, 20),
        6 => (32, 22),
        7 => (32, 24),
        8 => (32, 34),
        9 => (32, 36),
        10 => (256, 84),
        11 => (256, 110),
        12 => (256, 144),
        13 => (256, 176),
        14 => (256, 210),
        15 => (256, 292),
        16 => (256, 66),
        17 => (256, 74),
        18 => (256, 98),
        19 => (256, 50),
        20 => (32, 18),
        21 => (256, 110),
        22 => (256, 82),
        23 => (256, 136),
        24 => (1, 1),
        25 => (1, 2),
        26 => (1, 4),
        27 | 28 => (1, 8),
        29 => (256, 56),
        34 => (256, 54),
        35 => (256, 66),
        39 => (32, 17),
        _ => return None,
    };
    if !first_dim.is_multiple_of(block) {
        return None;
    }
    (elements / block).checked_mul(size)
}

/// llama.cpp's name for a `general.file_type` (`llama_model_ftype_name`).
pub fn file_type_name(ft: u64) -> String {
    let name = match ft {
        0 => "F32",
        1 => "F16",
        2 => "Q4_0",
        3 => "Q4_1",
        7 => "Q8_0",
        8 => "Q5_0",
        9 => "Q5_1",
        10 => "Q2_K",
        11 => "Q3_K_S",
        12 => "Q3_K_M",
        13 => "Q3_K_L",
        14 => "Q4_K_S",
        15 => "Q4_K_M",
        16 => "Q5_K_S",
        17 => "Q5_K_M",
        18 => "Q6_K",
        19 => "IQ2_XXS",
        20 => "IQ2_XS",
        21 => "Q2_K_S",
        22 => "IQ3_XS",
        23 => "IQ3_XXS",
        24 => "IQ1_S",
        25 => "IQ4_NL",
        26 => "IQ3_S",
        27 => "IQ3_M",
        28 => "IQ2_S",
        29 => "IQ2_M",
        30 => "IQ4_XS",
        31 => "IQ1_M",
        32 => "BF16",
        36 => "TQ1_0",
        37 => "TQ2_0",
        38 => "MXFP4_MOE",
        39 => "NVFP4",
        40 => "Q1_0",
        41 => "Q2_0",
        other => return format!("file type {other}"),
    };
    name.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn tiny_gguf(tensor_bytes: usize, truncate: usize) -> tempfile::NamedTempFile {
        let mut b = Vec::new();
        b.extend_from_slice(b"GGUF");
        b.extend_from_slice(&3u32.to_le_bytes());
        b.extend_from_slice(&1u64.to_le_bytes()); // tensors
        b.extend_from_slice(&2u64.to_le_bytes()); // kv
        let key = |b: &mut Vec<u8>, k: &str| {
            b.extend_from_slice(&(k.len() as u64).to_le_bytes());
            b.extend_from_slice(k.as_bytes());
        };
        key(&mut b, "general.architecture");
        b.extend_from_slice(&8u32.to_le_bytes());
        key(&mut b, "llama");
        key(&mut b, "llama.context_length");
        b.extend_from_slice(&4u32.to_le_bytes());
        b.extend_from_slice(&2048u32.to_le_bytes());
        key(&mut b, "w");
        b.extend_from_slice(&1u32.to_le_bytes());
        b.extend_from_slice(&((tensor_bytes / 4) as u64).to_le_bytes());
        b.extend_from_slice(&0u32.to_le_bytes()); // F32
        b.extend_from_slice(&0u64.to_le_bytes());
        while b.len() % 32 != 0 {
            b.push(0);
        }
        b.extend(std::iter::repeat_n(0u8, tensor_bytes));
        b.truncate(b.len() - truncate);
        let mut f = tempfile::NamedTempFile::new().unwrap();
        f.write_all(&b).unwrap();
        f
    }

    #[test]
    fn reads_metadata_and_checks_size() {
        let f = tiny_gguf(64, 0);
        let h = read_header(f.path()).unwrap();
        assert_eq!(h.architecture(), Some("llama"));
        assert_eq!(h.context_length(), Some(2048));
        assert_eq!(h.data_end, h.file_size);
    }

    #[test]
    fn truncated_tensor_data_is_named() {
        let f = tiny_gguf(64, 10);
        let e = read_header(f.path()).unwrap_err().to_string();
        assert!(e.contains("truncated"), "{e}");
    }

    #[test]
    fn text_file_is_not_gguf() {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        f.write_all(b"hello, I am not a model\n").unwrap();
        let e = read_header(f.path()).unwrap_err();
        assert!(matches!(e, GgufError::NotGguf(_)), "{e}");
    }

    #[test]
    fn damaged_headers_are_errors_not_panics() {
        // What the fuzz target does, over every single-byte change of a small valid file and
        // every length it can be cut to.
        let f = tiny_gguf(64, 0);
        let good = std::fs::read(f.path()).unwrap();
        assert!(parse_bytes(&good, "t").is_ok());
        for i in 0..good.len() {
            for v in [0x00, 0x01, 0x7f, 0x80, 0xff] {
                let mut b = good.clone();
                b[i] = v;
                let _ = parse_bytes(&b, "t");
            }
            let _ = parse_bytes(&good[..i], "t");
        }
    }

    #[test]
    fn header_cut_short_is_corrupt() {
        let f = tiny_gguf(64, 0);
        let bytes = std::fs::read(f.path()).unwrap();
        let mut g = tempfile::NamedTempFile::new().unwrap();
        g.write_all(&bytes[..40]).unwrap();
        let e = read_header(g.path()).unwrap_err().to_string();
        assert!(e.contains("truncated or corrupt"), "{e}");
    }
}
