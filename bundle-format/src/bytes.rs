//! One bounds-checked reader over untrusted bytes (SPEC.md §1.2). Every parser in this crate
//! reads through it, so no parser indexes a slice directly and every short read is an error that
//! names the offset and the field.

/// A field could not be read because the input ended first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ShortRead {
    /// Offset (from the start of what the reader was made over) where the field begins.
    pub offset: usize,
    /// Bytes the field needs.
    pub needed: usize,
    /// Bytes that were left.
    pub available: usize,
    /// Name of the field, as SPEC.md spells it.
    pub field: &'static str,
}

/// Bytes were left over after the last field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TrailingBytes {
    /// Offset of the first byte nobody read.
    pub offset: usize,
    /// How many bytes were left.
    pub count: usize,
}

/// A cursor over a byte slice that only moves forward and never reads past the end.
#[derive(Debug, Clone)]
pub(crate) struct Reader<'a> {
    bytes: &'a [u8],
    offset: usize,
    /// Offset of `bytes[0]` in the outer input, so errors quote positions the reader can find.
    base: usize,
}

impl<'a> Reader<'a> {
    /// A reader over `bytes`, reporting offsets relative to `base`.
    pub(crate) fn new(bytes: &'a [u8], base: usize) -> Self {
        Reader {
            bytes,
            offset: 0,
            base,
        }
    }

    /// Offset of the next unread byte, relative to the outer input.
    pub(crate) fn position(&self) -> usize {
        self.base.saturating_add(self.offset)
    }

    /// Bytes not read yet.
    pub(crate) fn remaining(&self) -> usize {
        self.bytes.len().saturating_sub(self.offset)
    }

    /// Takes the next `n` bytes.
    pub(crate) fn take(&mut self, n: usize, field: &'static str) -> Result<&'a [u8], ShortRead> {
        let rest = self.bytes.get(self.offset..).unwrap_or_default();
        match rest.get(..n) {
            Some(taken) => {
                self.offset += n;
                Ok(taken)
            }
            None => Err(ShortRead {
                offset: self.position(),
                needed: n,
                available: rest.len(),
                field,
            }),
        }
    }

    /// Takes the next `n` bytes as a reader of their own (offsets stay relative to the outer
    /// input).
    pub(crate) fn sub(&mut self, n: usize, field: &'static str) -> Result<Reader<'a>, ShortRead> {
        let base = self.position();
        let bytes = self.take(n, field)?;
        Ok(Reader::new(bytes, base))
    }

    /// Takes a fixed-size array.
    pub(crate) fn array<const N: usize>(
        &mut self,
        field: &'static str,
    ) -> Result<[u8; N], ShortRead> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N, field)?);
        Ok(out)
    }

    /// Takes one byte.
    pub(crate) fn u8(&mut self, field: &'static str) -> Result<u8, ShortRead> {
        Ok(self.array::<1>(field)?[0])
    }

    /// Takes a little-endian `u16`.
    pub(crate) fn u16(&mut self, field: &'static str) -> Result<u16, ShortRead> {
        Ok(u16::from_le_bytes(self.array(field)?))
    }

    /// Takes a little-endian `u32`.
    pub(crate) fn u32(&mut self, field: &'static str) -> Result<u32, ShortRead> {
        Ok(u32::from_le_bytes(self.array(field)?))
    }

    /// Takes a little-endian `u64`.
    pub(crate) fn u64(&mut self, field: &'static str) -> Result<u64, ShortRead> {
        Ok(u64::from_le_bytes(self.array(field)?))
    }

    /// Takes a little-endian `i64`.
    pub(crate) fn i64(&mut self, field: &'static str) -> Result<i64, ShortRead> {
        Ok(i64::from_le_bytes(self.array(field)?))
    }

    /// Everything not read yet, leaving the reader empty.
    pub(crate) fn rest(&mut self) -> &'a [u8] {
        let rest = self.bytes.get(self.offset..).unwrap_or_default();
        self.offset = self.bytes.len();
        rest
    }

    /// Succeeds only if every byte was read.
    pub(crate) fn all(&self) -> Result<(), TrailingBytes> {
        match self.remaining() {
            0 => Ok(()),
            count => Err(TrailingBytes {
                offset: self.position(),
                count,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_reads_name_offset_and_field_and_do_not_advance() {
        let mut reader = Reader::new(&[1, 2, 3], 10);
        assert_eq!(reader.u16("a").unwrap(), 0x0201);
        let err = reader.u32("b").unwrap_err();
        assert_eq!(
            err,
            ShortRead {
                offset: 12,
                needed: 4,
                available: 1,
                field: "b"
            }
        );
        assert_eq!(reader.u8("c").unwrap(), 3);
        reader.all().unwrap();
    }

    #[test]
    fn all_rejects_trailing_bytes_with_their_offset() {
        let mut reader = Reader::new(&[0; 5], 100);
        let mut sub = reader.sub(4, "s").unwrap();
        assert_eq!(sub.position(), 100);
        sub.take(3, "x").unwrap();
        assert_eq!(
            sub.all(),
            Err(TrailingBytes {
                offset: 103,
                count: 1
            })
        );
        assert_eq!(reader.position(), 104);
        assert_eq!(reader.rest(), &[0]);
        reader.all().unwrap();
    }

    #[test]
    fn huge_lengths_are_short_reads_not_panics() {
        let mut reader = Reader::new(&[0; 8], 0);
        reader.take(3, "x").unwrap();
        assert!(reader.take(usize::MAX, "huge").is_err());
        assert!(reader.sub(usize::MAX - 1, "huge").is_err());
        assert_eq!(reader.remaining(), 5);
    }
}
