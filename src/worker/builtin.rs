//! The methods every worker has, and the payloads the RPC suite calls them with. Each is a plain
//! function of the argument's bytes, so the suite can call the very same function in-process for
//! the baseline that a call's overhead is measured against.

/// A built-in call of the suite: its method, its payload size and what the payload holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Call {
    /// An 8-byte integer in, the next integer out.
    SmallInt,
    /// A string of about 110 characters in, the same reversed out.
    SmallString,
    /// 8 MiB of `f64` in, their sum (8 bytes) out.
    ArrayF64,
    /// 50 MiB of bytes in, their CRC-32 (4 bytes) out.
    Bytes,
}

/// The string of `small_string`: 110 characters, as a log line or a short JSON value would be.
pub const SMALL_STRING: &str =
    "The quick brown fox jumps over the lazy dog; pack my box with five dozen liquor jugs. Sphinx of black quartz!!";

impl Call {
    /// Every built-in call, in report order.
    pub const ALL: [Call; 4] = [Call::SmallInt, Call::SmallString, Call::ArrayF64, Call::Bytes];

    /// The method's name.
    pub fn method(self) -> &'static str {
        match self {
            Call::SmallInt => "small_int",
            Call::SmallString => "small_string",
            Call::ArrayF64 => "array_f64",
            Call::Bytes => "bytes",
        }
    }

    /// The size of its payload.
    pub fn payload_size(self) -> usize {
        match self {
            Call::SmallInt => 8,
            Call::SmallString => SMALL_STRING.len(),
            Call::ArrayF64 => 8 << 20,
            Call::Bytes => 50 << 20,
        }
    }

    /// Its payload.
    pub fn payload(self) -> Vec<u8> {
        match self {
            Call::SmallInt => 41u64.to_le_bytes().to_vec(),
            Call::SmallString => SMALL_STRING.as_bytes().to_vec(),
            Call::ArrayF64 => (0..(8 << 20) / 8).flat_map(|i| (i as f64 * 0.5).to_le_bytes()).collect(),
            Call::Bytes => (0..50u32 << 20).map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8).collect(),
        }
    }

    /// The function itself.
    pub fn function(self) -> fn(&[u8]) -> Result<Vec<u8>, String> {
        match self {
            Call::SmallInt => small_int,
            Call::SmallString => small_string,
            Call::ArrayF64 => array_f64,
            Call::Bytes => bytes,
        }
    }
}

/// `small_int`: the integer plus one.
pub fn small_int(arg: &[u8]) -> Result<Vec<u8>, String> {
    let n: [u8; 8] = arg.try_into().map_err(|_| format!("small_int takes 8 bytes, got {}", arg.len()))?;
    Ok(u64::from_le_bytes(n).wrapping_add(1).to_le_bytes().to_vec())
}

/// `small_string`: the string reversed.
pub fn small_string(arg: &[u8]) -> Result<Vec<u8>, String> {
    let s = std::str::from_utf8(arg).map_err(|_| "small_string takes UTF-8".to_string())?;
    Ok(s.chars().rev().collect::<String>().into_bytes())
}

/// `array_f64`: the sum of little-endian `f64`s.
pub fn array_f64(arg: &[u8]) -> Result<Vec<u8>, String> {
    if !arg.len().is_multiple_of(8) {
        return Err(format!("array_f64 takes a multiple of 8 bytes, got {}", arg.len()));
    }
    let sum: f64 = arg.chunks_exact(8).map(|c| f64::from_le_bytes(c.try_into().unwrap())).sum();
    Ok(sum.to_le_bytes().to_vec())
}

/// `bytes`: the CRC-32 of the bytes (zlib's, which every language's standard library has), a
/// `u32`. Computed at the speed of memory, so that a large call costs its transport.
pub fn bytes(arg: &[u8]) -> Result<Vec<u8>, String> {
    Ok(crc32fast::hash(arg).to_le_bytes().to_vec())
}

/// `echo`: the argument back.
pub fn echo(arg: &[u8]) -> Result<Vec<u8>, String> {
    Ok(arg.to_vec())
}

/// A `u32` argument (a depth, a count).
pub fn count_arg(arg: &[u8]) -> Result<u32, String> {
    let n: [u8; 4] = arg.try_into().map_err(|_| format!("takes a 4-byte count, got {} bytes", arg.len()))?;
    Ok(u32::from_le_bytes(n))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_builtin_functions_compute_what_they_say() {
        assert_eq!(small_int(&Call::SmallInt.payload()).unwrap(), 42u64.to_le_bytes());
        assert_eq!(SMALL_STRING.len(), 110);
        assert_eq!(small_string(b"abc").unwrap(), b"cba");
        assert_eq!(array_f64(&[1.5f64.to_le_bytes(), 2.0f64.to_le_bytes()].concat()).unwrap(), 3.5f64.to_le_bytes());
        // The check value of CRC-32/ISO-HDLC, as zlib.crc32(b"123456789") gives it.
        assert_eq!(bytes(b"123456789").unwrap(), 0xCBF4_3926u32.to_le_bytes());
        for call in Call::ALL {
            assert_eq!(call.payload().len(), call.payload_size(), "{call:?}");
            assert!(call.function()(&call.payload()).is_ok());
        }
        assert!(small_int(b"1234").is_err() && array_f64(&[0; 9]).is_err());
    }
}
