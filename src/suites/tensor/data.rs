//! A tensor's description (shape and element type), its bytes as the host makes them, and the
//! checksum by which a worker proves that it received them.

use crate::discover::config::tensor::DType;

/// Shape and element type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TensorSpec {
    /// Dimensions.
    pub shape: Vec<u64>,
    /// Element type.
    pub dtype: DType,
}

/// The checksum reads one 8-byte word per page: enough to prove that every page arrived with
/// the right bytes, without a full pass over the data, which would cost as much as the copy
/// being measured and hide the difference between the modes.
pub const CHECKSUM_STRIDE: usize = 4096;

impl TensorSpec {
    /// Its size in bytes.
    pub fn bytes(&self) -> u64 {
        self.shape.iter().product::<u64>() * self.dtype.size()
    }

    /// `512×512`.
    pub fn shape_text(&self) -> String {
        self.shape.iter().map(u64::to_string).collect::<Vec<_>>().join("×")
    }

    /// The header that crosses with the tensor: `f32 512x512`.
    pub fn header(&self) -> String {
        let dims: Vec<String> = self.shape.iter().map(u64::to_string).collect();
        format!("{} {}", self.dtype.as_str(), dims.join("x"))
    }

    /// Reads a header.
    pub fn parse_header(text: &str) -> Result<TensorSpec, String> {
        let (dtype, dims) = text.split_once(' ').ok_or_else(|| format!("bad tensor header `{text}`"))?;
        let dtype = DType::parse(dtype).ok_or_else(|| format!("unknown dtype `{dtype}`"))?;
        let shape = dims
            .split('x')
            .map(|d| d.parse::<u64>().map_err(|_| format!("bad dimension `{d}` in `{text}`")))
            .collect::<Result<_, _>>()?;
        Ok(TensorSpec { shape, dtype })
    }
}

/// Fills a buffer with a pattern that differs from page to page, so that a page from the wrong
/// place gives another checksum.
pub fn fill(buf: &mut [u8]) {
    for (i, chunk) in buf.chunks_mut(8).enumerate() {
        let word = (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15).to_le_bytes();
        chunk.copy_from_slice(&word[..chunk.len()]);
    }
}

/// One word per [`CHECKSUM_STRIDE`] bytes and the last word, mixed with the length.
pub fn checksum(data: &[u8]) -> u64 {
    let mut h = 0xCBF2_9CE4_8422_2325u64 ^ data.len() as u64;
    let mut mix = |word: u64| {
        h = (h ^ word).wrapping_mul(0x0100_0000_01B3).rotate_left(29);
    };
    let word = |at: usize| match data.get(at..at + 8) {
        Some(w) => u64::from_le_bytes(w.try_into().expect("8 bytes")),
        None => {
            let mut w = [0u8; 8];
            w[..data.len() - at].copy_from_slice(&data[at..]);
            u64::from_le_bytes(w)
        }
    };
    let mut at = 0;
    while at < data.len() {
        mix(word(at));
        at += CHECKSUM_STRIDE;
    }
    if !data.is_empty() {
        mix(word(data.len().saturating_sub(8)));
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_round_trip_and_sizes_follow_the_dtype() {
        let spec = TensorSpec { shape: vec![3, 8192, 8192], dtype: DType::Bf16 };
        assert_eq!(spec.bytes(), 3 * 8192 * 8192 * 2);
        assert_eq!(spec.shape_text(), "3×8192×8192");
        assert_eq!(TensorSpec::parse_header(&spec.header()).unwrap(), spec);
        assert!(TensorSpec::parse_header("f64 3x3").is_err());
    }

    #[test]
    fn a_changed_page_changes_the_checksum() {
        let mut a = vec![0u8; 3 * CHECKSUM_STRIDE + 5];
        fill(&mut a);
        let sum = checksum(&a);
        let mut b = a.clone();
        b[2 * CHECKSUM_STRIDE] ^= 1;
        assert_ne!(checksum(&b), sum);
        let mut c = a.clone();
        c[a.len() - 1] ^= 1;
        assert_ne!(checksum(&c), sum);
        assert_ne!(checksum(&a[..a.len() - 1]), sum);
    }
}
