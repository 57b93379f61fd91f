//! Scanned documents (the manuals' 扫描件): what a scan may be and how large.
//!
//! A scan is a JPEG or PNG image, told by its first bytes, never by a file name or a declared
//! type alone; the declared media type must agree with them. Its size limit is a setting of
//! each side (the manuals disagree: one says 100 KB, another 512 KB), never above the wire's
//! [`MAX_ATTACHMENT_BYTES`], checked at intake and again at import.

use bundle_format::records::MAX_ATTACHMENT_BYTES;

/// The size limit of a scan when the configuration sets none: 512 KiB.
pub const DEFAULT_MAX_SCAN_BYTES: usize = 512 * 1024;

/// The smallest size limit a configuration may set (a scan below 1 KiB shows nothing legible).
pub const MIN_MAX_SCAN_BYTES: usize = 1024;

/// What is wrong with a scan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScanProblem {
    /// Larger than the limit.
    TooLarge {
        /// Its size.
        bytes: usize,
        /// The limit.
        max: usize,
    },
    /// Neither a JPEG nor a PNG image by its first bytes.
    NotImage,
    /// The declared media type is not the one the bytes are.
    MediaTypeMismatch {
        /// As declared.
        declared: String,
        /// As the bytes say.
        found: &'static str,
    },
}

impl std::fmt::Display for ScanProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ScanProblem::TooLarge { bytes, max } => {
                write!(
                    f,
                    "the scan is {bytes} bytes; scans are at most {max} bytes"
                )
            }
            ScanProblem::NotImage => f.write_str("the bytes are neither a JPEG nor a PNG image"),
            ScanProblem::MediaTypeMismatch { declared, found } => {
                write!(f, "declared {declared}, but the bytes are {found}")
            }
        }
    }
}

/// The media type of an image by its first bytes: `image/jpeg` (`FF D8 FF`) or `image/png`
/// (the 8-byte PNG signature); `None` for anything else.
pub fn media_type_of(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(&[0xff, 0xd8, 0xff]) {
        Some("image/jpeg")
    } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some("image/png")
    } else {
        None
    }
}

/// Checks one scan: at most `max` bytes, a JPEG or PNG by its bytes, declared as what it is.
pub fn check(declared: &str, bytes: &[u8], max: usize) -> Result<(), ScanProblem> {
    if bytes.len() > max {
        return Err(ScanProblem::TooLarge {
            bytes: bytes.len(),
            max,
        });
    }
    let found = media_type_of(bytes).ok_or(ScanProblem::NotImage)?;
    if declared != found {
        return Err(ScanProblem::MediaTypeMismatch {
            declared: declared.to_owned(),
            found,
        });
    }
    Ok(())
}

/// Whether `max` may be a configured size limit: between [`MIN_MAX_SCAN_BYTES`] and the wire's
/// [`MAX_ATTACHMENT_BYTES`]. The error is a sentence naming both bounds.
pub fn valid_limit(max: usize) -> Result<usize, String> {
    if (MIN_MAX_SCAN_BYTES..=MAX_ATTACHMENT_BYTES).contains(&max) {
        Ok(max)
    } else {
        Err(format!(
            "{max} bytes; the scan size limit is between {MIN_MAX_SCAN_BYTES} and \
             {MAX_ATTACHMENT_BYTES} (the wire format's limit)"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn media_type_comes_from_the_bytes_not_the_declaration() {
        let png = b"\x89PNG\r\n\x1a\nrest";
        assert_eq!(check("image/png", png, 1024), Ok(()));
        assert_eq!(
            check("image/jpeg", png, 1024),
            Err(ScanProblem::MediaTypeMismatch {
                declared: "image/jpeg".into(),
                found: "image/png"
            })
        );
        assert_eq!(
            check("image/png", b"<svg", 1024),
            Err(ScanProblem::NotImage)
        );
        assert_eq!(
            check("image/jpeg", &[0xff, 0xd8, 0xff, 0], 3),
            Err(ScanProblem::TooLarge { bytes: 4, max: 3 })
        );
    }

    #[test]
    fn a_limit_above_the_wire_limit_is_refused() {
        assert_eq!(valid_limit(100 * 1000), Ok(100 * 1000));
        assert!(valid_limit(MAX_ATTACHMENT_BYTES + 1).is_err());
        assert!(valid_limit(0).is_err());
    }
}
