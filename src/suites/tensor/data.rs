//! A tensor's description (shape and element type), its bytes as the host makes them, and the
//! checksum by which a worker proves that it received them.

use crate::suites::tensor::config::DType;

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

/// The tensor's pattern: word `i` (bytes `8i..8i+8`) is `i` times an odd constant, little-endian,
/// so that every page differs and a page from the wrong place gives another checksum.
fn pattern_word(i: u64) -> [u8; 8] {
    i.wrapping_mul(0x9E37_79B9_7F4A_7C15).to_le_bytes()
}

/// Fills a buffer with the pattern.
pub fn fill(buf: &mut [u8]) {
    fill_at(buf, 0);
}

/// Fills `buf`, which holds the tensor's bytes from `offset` on, with the pattern: a tensor on the
/// GPU is filled a slice at a time.
pub fn fill_at(buf: &mut [u8], offset: u64) {
    let skip = (offset % 8) as usize;
    let mut word = offset / 8;
    let mut at = 0;
    if skip != 0 {
        let head = (8 - skip).min(buf.len());
        buf[..head].copy_from_slice(&pattern_word(word)[skip..skip + head]);
        word += 1;
        at = head;
    }
    for chunk in buf[at..].chunks_mut(8) {
        chunk.copy_from_slice(&pattern_word(word)[..chunk.len()]);
        word += 1;
    }
}

/// One word per [`CHECKSUM_STRIDE`] bytes and the last word, mixed with the length.
pub fn checksum(data: &[u8]) -> u64 {
    // Read straight from the slice: a worker runs this on every tensor it receives.
    let word = |at: usize| match data.get(at..at + 8) {
        Some(w) => u64::from_le_bytes(w.try_into().expect("8 bytes")),
        None => {
            let mut w = [0u8; 8];
            w[..data.len() - at].copy_from_slice(&data[at..]);
            u64::from_le_bytes(w)
        }
    };
    words_checksum(data.len(), word)
}

/// The checksum of the pattern of `len` bytes (what [`fill`] writes), without writing it.
pub fn pattern_checksum(len: usize) -> u64 {
    checksum_with(len, |at, word| fill_at(word, at as u64))
}

/// The checksum of `len` bytes that `read(at, word)` reads: it fills `word` (8 bytes, fewer at
/// the end) with the bytes from `at` on.
fn checksum_with(len: usize, mut read: impl FnMut(usize, &mut [u8])) -> u64 {
    words_checksum(len, |at| {
        let mut w = [0u8; 8];
        read(at, &mut w[..(len - at).min(8)]);
        u64::from_le_bytes(w)
    })
}

/// The checksum itself: the words `word(at)` at every [`CHECKSUM_STRIDE`] bytes and the last word
/// (little-endian, zero-padded past the end) mixed, with the length.
fn words_checksum(len: usize, mut word: impl FnMut(usize) -> u64) -> u64 {
    let mut h = 0xCBF2_9CE4_8422_2325u64 ^ len as u64;
    let mut mix = |word: u64| {
        h = (h ^ word).wrapping_mul(0x0100_0000_01B3).rotate_left(29);
    };
    let mut at = 0;
    while at < len {
        mix(word(at));
        at += CHECKSUM_STRIDE;
    }
    if len > 0 {
        mix(word(len.saturating_sub(8)));
    }
    h
}

/// The bytes the checksum reads, as a worker copies them back from the GPU: the whole words at
/// every [`CHECKSUM_STRIDE`] bytes, one strided copy of `rows` rows of 8 bytes, and the last
/// (up to) 8 bytes, a plain copy. Every other word the checksum reads lies in those last bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sample {
    /// The tensor's length.
    pub len: usize,
    /// Whole words at `0, STRIDE, 2·STRIDE, …`.
    pub rows: usize,
}

impl Sample {
    /// The sample of a `len`-byte tensor.
    pub fn of(len: usize) -> Sample {
        let rows = if len >= 8 { (len - 8) / CHECKSUM_STRIDE + 1 } else { 0 };
        Sample { len, rows }
    }

    /// Where the tail starts.
    pub fn tail_start(&self) -> usize {
        self.len.saturating_sub(8)
    }

    /// The checksum from the gathered rows (`rows × 8` bytes) and the tail (the bytes from
    /// [`Sample::tail_start`] on).
    pub fn checksum(&self, rows: &[u8], tail: &[u8]) -> u64 {
        assert_eq!((rows.len(), tail.len()), (self.rows * 8, self.len - self.tail_start()), "a whole sample");
        let tail_start = self.tail_start();
        checksum_with(self.len, |at, word| {
            let row = at / CHECKSUM_STRIDE;
            if at % CHECKSUM_STRIDE == 0 && row < self.rows {
                word.copy_from_slice(&rows[row * 8..row * 8 + word.len()]);
            } else {
                let from = at - tail_start;
                word.copy_from_slice(&tail[from..from + word.len()]);
            }
        })
    }
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

    #[test]
    fn the_pattern_is_the_same_filled_at_once_or_a_slice_at_a_time() {
        let mut whole = vec![0u8; 3 * CHECKSUM_STRIDE + 13];
        fill(&mut whole);
        let mut sliced = vec![0u8; whole.len()];
        let mut at = 0;
        for len in [5, 3, 8, 1000, 4096, 17] {
            fill_at(&mut sliced[at..at + len], at as u64);
            at += len;
        }
        fill_at(&mut sliced[at..], at as u64);
        assert_eq!(sliced, whole);
    }

    #[test]
    fn a_gathered_sample_and_the_pattern_give_the_checksum_of_the_bytes() {
        for len in [0, 1, 7, 8, 9, 4095, 4096, 4097, 4103, 4104, 4105, 8192, 3 * 4096 + 5, 100_000] {
            let mut data = vec![0u8; len];
            fill(&mut data);
            let sum = checksum(&data);
            assert_eq!(pattern_checksum(len), sum, "len {len}");
            // What the strided copy and the tail copy would bring back from the device.
            let sample = Sample::of(len);
            let rows: Vec<u8> = (0..sample.rows).flat_map(|k| data[k * CHECKSUM_STRIDE..][..8].to_vec()).collect();
            assert!(sample.rows == 0 || (sample.rows - 1) * CHECKSUM_STRIDE + 8 <= len, "rows inside, len {len}");
            assert_eq!(sample.checksum(&rows, &data[sample.tail_start()..]), sum, "len {len}");
            // A page changed on the device changes the sample's checksum.
            if sample.rows > 1 {
                let mut bad = rows.clone();
                bad[8] ^= 1;
                assert_ne!(sample.checksum(&bad, &data[sample.tail_start()..]), sum, "len {len}");
            }
        }
    }
}
