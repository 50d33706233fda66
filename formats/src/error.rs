//! The one error type of this crate.

use std::fmt;
use std::path::{Path, PathBuf};

/// An error reading or writing a trace, with where it happened.
///
/// Its `Display` is one line: `file: byte N: what went wrong (hint)`.
#[derive(Debug)]
pub struct Error {
    path: Option<PathBuf>,
    offset: Option<u64>,
    line: Option<u64>,
    kind: ErrorKind,
}

/// What went wrong.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ErrorKind {
    /// An I/O error from the underlying reader or writer.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// The file is empty.
    #[error("the file is empty: expected an hb trace or an STD text trace")]
    Empty,
    /// The file does not start with the hb magic number.
    #[error("not an hb trace: expected the magic bytes \"HBTRACE\\n\", found {found:?}")]
    NotATrace {
        /// The first bytes found instead.
        found: String,
    },
    /// The trace's major format version is not one this reader knows.
    #[error(
        "format version {major}.{minor} is not supported (this hb reads {}.x): upgrade hb",
        crate::FORMAT_VERSION_MAJOR
    )]
    UnsupportedVersion {
        /// Major version found.
        major: u16,
        /// Minor version found.
        minor: u16,
    },
    /// The input ended inside a record.
    #[error("truncated: the file ends inside {expected} (the recording was probably killed)")]
    Truncated {
        /// What was being read.
        expected: &'static str,
    },
    /// A frame's checksum does not match its bytes.
    #[error(
        "frame checksum mismatch (stored {stored:#010x}, computed {computed:#010x}): the frame is damaged"
    )]
    BadChecksum {
        /// Checksum stored in the frame.
        stored: u32,
        /// Checksum of the bytes found.
        computed: u32,
    },
    /// Bytes that should start a frame do not.
    #[error("damaged data: {what}; {skipped} bytes skipped up to the next intact frame")]
    Damaged {
        /// What was found.
        what: String,
        /// How many bytes were skipped to resynchronize.
        skipped: u64,
    },
    /// A frame written by a newer hb, skipped whole.
    #[error(
        "frame of unknown version {version} or kind {kind} skipped ({len} bytes): written by a newer hb?"
    )]
    UnknownFrame {
        /// Frame format version.
        version: u8,
        /// Frame kind.
        kind: u8,
        /// Payload length.
        len: u32,
    },
    /// The frame is intact but its content is not valid.
    #[error("invalid frame content: {}", one_line(.0))]
    BadPayload(String),
    /// An STD text trace line could not be parsed.
    #[error("{0}")]
    Std(String),
}

/// Escapes control characters (newlines above all) that a decoder's message may quote
/// from the damaged data, so that every error stays one line.
fn one_line(s: &str) -> String {
    if !s.chars().any(char::is_control) {
        return s.to_owned();
    }
    s.chars()
        .map(|c| {
            if c.is_control() {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

impl Error {
    pub(crate) fn new(kind: ErrorKind) -> Self {
        Error {
            path: None,
            offset: None,
            line: None,
            kind,
        }
    }

    pub(crate) fn at(kind: ErrorKind, offset: u64) -> Self {
        Error {
            offset: Some(offset),
            ..Error::new(kind)
        }
    }

    pub(crate) fn at_line(kind: ErrorKind, line: u64) -> Self {
        Error {
            line: Some(line),
            ..Error::new(kind)
        }
    }

    /// Attaches the path of the file being read (used in the message).
    pub fn with_path(mut self, path: impl AsRef<Path>) -> Self {
        self.path = Some(path.as_ref().to_path_buf());
        self
    }

    /// What went wrong.
    pub fn kind(&self) -> &ErrorKind {
        &self.kind
    }

    /// Byte offset in the file where the problem starts, for binary traces.
    pub fn offset(&self) -> Option<u64> {
        self.offset
    }

    /// 1-based line number, for text traces.
    pub fn line(&self) -> Option<u64> {
        self.line
    }

    /// The file, where known.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(p) = &self.path {
            write!(f, "{}: ", p.display())?;
        }
        if let Some(o) = self.offset {
            write!(f, "byte {o}: ")?;
        }
        if let Some(l) = self.line {
            write!(f, "line {l}: ")?;
        }
        write!(f, "{}", self.kind)
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.kind {
            ErrorKind::Io(e) => Some(e),
            _ => None,
        }
    }
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        Error::new(ErrorKind::Io(e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_damaged_data_cannot_break_the_line() {
        let e = Error::at(
            ErrorKind::BadPayload("unknown variant `On\nce\t\u{0}`".into()),
            31,
        );
        assert_eq!(
            e.to_string(),
            "byte 31: invalid frame content: unknown variant `On\\nce\\t\\u{0}`"
        );
    }
}
