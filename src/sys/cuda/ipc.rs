//! A CUDA IPC memory handle as it crosses between processes: 64 opaque bytes from
//! `cuIpcGetMemHandle`, written as `cuda-ipc:` and 128 hex digits so that it travels in a text
//! frame like a shared-memory segment's path.

/// The handle of device memory another process can map.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpcHandle(pub(super) [u8; 64]);

const PREFIX: &str = "cuda-ipc:";

impl IpcHandle {
    /// Its text: `cuda-ipc:` and 128 hex digits.
    pub fn to_text(&self) -> String {
        let hex: String = self.0.iter().map(|b| format!("{b:02x}")).collect();
        format!("{PREFIX}{hex}")
    }

    /// Reads a handle's text.
    pub fn parse(text: &str) -> Result<IpcHandle, String> {
        let hex = text
            .strip_prefix(PREFIX)
            .ok_or_else(|| format!("`{}` is not a CUDA IPC handle (`{PREFIX}` and 128 hex digits)", shorten(text)))?;
        if !hex.is_ascii() {
            return Err("a CUDA IPC handle is written in hex digits only".into());
        }
        if hex.len() != 128 {
            return Err(format!("a CUDA IPC handle has 128 hex digits, not {}", hex.len()));
        }
        let mut bytes = [0u8; 64];
        for (i, b) in bytes.iter_mut().enumerate() {
            *b = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16)
                .map_err(|_| format!("`{}` in a CUDA IPC handle is not hex", &hex[2 * i..2 * i + 2]))?;
        }
        Ok(IpcHandle(bytes))
    }
}

fn shorten(text: &str) -> String {
    match text.char_indices().nth(40) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_handle_round_trips_through_its_text() {
        let mut bytes = [0u8; 64];
        for (i, b) in bytes.iter_mut().enumerate() {
            *b = (i as u8).wrapping_mul(37) ^ 0xa5;
        }
        let handle = IpcHandle(bytes);
        let text = handle.to_text();
        assert_eq!(text.len(), 9 + 128);
        assert!(text.starts_with("cuda-ipc:a5"), "{text}");
        assert_eq!(IpcHandle::parse(&text).unwrap(), handle);
    }

    #[test]
    fn a_bad_handle_says_what_is_wrong_with_it() {
        let err = IpcHandle::parse("/proc/123/fd/7").unwrap_err();
        assert!(err.contains("`/proc/123/fd/7` is not a CUDA IPC handle"), "{err}");
        let err = IpcHandle::parse("cuda-ipc:abcd").unwrap_err();
        assert_eq!(err, "a CUDA IPC handle has 128 hex digits, not 4");
        let err = IpcHandle::parse(&format!("cuda-ipc:zz{}", "0".repeat(126))).unwrap_err();
        assert_eq!(err, "`zz` in a CUDA IPC handle is not hex");
        let err = IpcHandle::parse(&format!("cuda-ipc:é{}", "0".repeat(126))).unwrap_err();
        assert_eq!(err, "a CUDA IPC handle is written in hex digits only");
    }
}
