//! Compression of messages (`none`, `snappy`, `lz4`, `zstd`) and the payloads it is measured on
//! (`random`, `text`, `zeros`).

use serde::Deserialize;

/// A compression codec applied to every message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Codec {
    /// Bytes as they are.
    None,
    /// Snappy (the `snap` crate, raw format).
    Snappy,
    /// LZ4 block format with the size prepended (`lz4_flex`).
    Lz4,
    /// Zstandard at level 3 (`zstd`).
    Zstd,
}

impl Codec {
    /// `none`, `snappy`, `lz4`, `zstd`.
    pub fn as_str(self) -> &'static str {
        match self {
            Codec::None => "none",
            Codec::Snappy => "snappy",
            Codec::Lz4 => "lz4",
            Codec::Zstd => "zstd",
        }
    }

    /// Compresses `data`.
    pub fn compress(self, data: &[u8]) -> Vec<u8> {
        match self {
            Codec::None => data.to_vec(),
            Codec::Snappy => snap::raw::Encoder::new().compress_vec(data).expect("snappy takes any input"),
            Codec::Lz4 => lz4_flex::compress_prepend_size(data),
            Codec::Zstd => zstd::bulk::compress(data, 3).expect("zstd takes any input"),
        }
    }

    /// Decompresses what [`Codec::compress`] made; an error names the codec.
    pub fn decompress(self, data: &[u8], max_size: usize) -> Result<Vec<u8>, String> {
        match self {
            Codec::None => Ok(data.to_vec()),
            Codec::Snappy => snap::raw::Decoder::new().decompress_vec(data).map_err(|e| format!("snappy: {e}")),
            Codec::Lz4 => lz4_flex::decompress_size_prepended(data).map_err(|e| format!("lz4: {e}")),
            Codec::Zstd => zstd::bulk::decompress(data, max_size).map_err(|e| format!("zstd: {e}")),
        }
    }

    /// Parses a codec name.
    pub fn parse(name: &str) -> Option<Codec> {
        [Codec::None, Codec::Snappy, Codec::Lz4, Codec::Zstd].into_iter().find(|c| c.as_str() == name)
    }
}

/// How compressible a payload is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Data {
    /// Pseudo-random bytes: incompressible.
    Random,
    /// English-like text: compresses about 2–3×.
    Text,
    /// Zero bytes: compresses to almost nothing.
    Zeros,
}

impl Data {
    /// `random`, `text`, `zeros`.
    pub fn as_str(self) -> &'static str {
        match self {
            Data::Random => "random",
            Data::Text => "text",
            Data::Zeros => "zeros",
        }
    }

    /// A payload of `size` bytes of this kind, the same every time.
    pub fn generate(self, size: usize) -> Vec<u8> {
        match self {
            Data::Zeros => vec![0; size],
            Data::Random => {
                let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
                (0..size)
                    .map(|_| {
                        x ^= x << 13;
                        x ^= x >> 7;
                        x ^= x << 17;
                        x as u8
                    })
                    .collect()
            }
            Data::Text => {
                const WORDS: [&str; 16] = [
                    "the ",
                    "quick ",
                    "server ",
                    "answers ",
                    "every ",
                    "request ",
                    "with ",
                    "a ",
                    "payload ",
                    "of ",
                    "bytes ",
                    "that ",
                    "compress ",
                    "well, ",
                    "mostly. ",
                    "\n",
                ];
                let mut out = Vec::with_capacity(size + 16);
                let mut x: u32 = 12345;
                while out.len() < size {
                    x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
                    out.extend_from_slice(WORDS[(x >> 16) as usize % WORDS.len()].as_bytes());
                }
                out.truncate(size);
                out
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_codec_round_trips_and_compresses_as_its_data_allows() {
        for data in [Data::Random, Data::Text, Data::Zeros] {
            let payload = data.generate(100 * 1024);
            for codec in [Codec::None, Codec::Snappy, Codec::Lz4, Codec::Zstd] {
                let packed = codec.compress(&payload);
                assert_eq!(codec.decompress(&packed, payload.len()).unwrap(), payload, "{codec:?} {data:?}");
                let ratio = payload.len() as f64 / packed.len() as f64;
                match (codec, data) {
                    (Codec::None, _) => assert_eq!(ratio, 1.0),
                    (_, Data::Random) => assert!(ratio < 1.01, "{codec:?}: {ratio}"),
                    (_, Data::Text) => assert!(ratio > 1.5, "{codec:?}: {ratio}"),
                    (_, Data::Zeros) => assert!(ratio > 15.0, "{codec:?}: {ratio}"),
                }
            }
        }
        assert!(Codec::Zstd.decompress(b"not zstd", 10).unwrap_err().starts_with("zstd"));
    }
}
