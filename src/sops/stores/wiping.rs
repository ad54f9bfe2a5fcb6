//! Output buffers for plaintext that never leave an unwiped copy behind.
//!
//! A `Vec` or `String` that grows reallocates, and the old allocation is
//! freed as it is, plaintext included. These buffers start with a capacity
//! estimated from the tree ([`capacity_for`]) and, should that not be
//! enough, grow by copying into a new wiping allocation and wiping the old
//! one. Whatever they hold is wiped when they are dropped.

use std::fmt;

use zeroize::Zeroizing;

use super::super::tree::{Branch, Item, ListElement, Value};

/// Bytes appended to and wiped on drop and on growth.
pub(super) struct WipingBuf(Zeroizing<Vec<u8>>);

impl WipingBuf {
    pub(super) fn with_capacity(capacity: usize) -> Self {
        Self(Zeroizing::new(Vec::with_capacity(capacity)))
    }

    /// Makes room for `extra` more bytes without a reallocation that would
    /// leave the old contents behind.
    fn reserve(&mut self, extra: usize) {
        let need = self.0.len().saturating_add(extra);
        if need <= self.0.capacity() {
            return;
        }
        let mut grown = Zeroizing::new(Vec::with_capacity(
            need.max(self.0.capacity().saturating_mul(2)),
        ));
        grown.extend_from_slice(&self.0);
        // The old allocation is wiped (its whole capacity) as it drops.
        self.0 = grown;
    }

    pub(super) fn push(&mut self, byte: u8) {
        self.reserve(1);
        self.0.push(byte);
    }

    pub(super) fn extend_from_slice(&mut self, bytes: &[u8]) {
        self.reserve(bytes.len());
        self.0.extend_from_slice(bytes);
    }

    pub(super) fn push_repeated(&mut self, byte: u8, count: usize) {
        self.reserve(count);
        self.0.extend(std::iter::repeat_n(byte, count));
    }

    #[cfg(test)]
    pub(super) fn capacity(&self) -> usize {
        self.0.capacity()
    }

    fn as_slice(&self) -> &[u8] {
        &self.0
    }

    /// Keeps the first `len` bytes; the rest stays in the allocation, which
    /// is wiped whole when it goes.
    fn truncate(&mut self, len: usize) {
        self.0.truncate(len);
    }

    /// The bytes, moved out without a copy; the caller now owns the only
    /// copy (`decrypt` moves it into a `SecretBytes`).
    pub(super) fn into_vec(mut self) -> Vec<u8> {
        std::mem::take(&mut *self.0)
    }
}

/// UTF-8 text over a [`WipingBuf`], with the `String` methods the emitters use.
pub(super) struct WipingString(WipingBuf);

impl WipingString {
    pub(super) fn with_capacity(capacity: usize) -> Self {
        Self(WipingBuf::with_capacity(capacity))
    }

    pub(super) fn push(&mut self, c: char) {
        let mut buf = [0u8; 4];
        self.0.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
    }

    pub(super) fn push_str(&mut self, s: &str) {
        self.0.extend_from_slice(s.as_bytes());
    }

    pub(super) fn push_repeated(&mut self, c: u8, count: usize) {
        debug_assert!(c.is_ascii());
        self.0.push_repeated(c, count);
    }

    pub(super) fn into_bytes(self) -> Vec<u8> {
        self.0.into_vec()
    }

    /// The text (checked again, in one pass: only `str`s go in).
    pub(super) fn as_str(&self) -> &str {
        std::str::from_utf8(self.0.as_slice()).unwrap_or_default()
    }

    pub(super) fn ends_with_byte(&self, byte: u8) -> bool {
        self.0.as_slice().last() == Some(&byte)
    }

    /// Drops the last byte, which must be ASCII (`ends_with_byte`).
    pub(super) fn pop_ascii(&mut self) {
        if self.0.as_slice().last().is_some_and(u8::is_ascii) {
            self.0.truncate(self.0.as_slice().len() - 1);
        }
    }

    pub(super) fn clear(&mut self) {
        self.0.truncate(0);
    }

    /// The text as a wiped `String`, moved out without a copy.
    pub(super) fn into_string(self) -> Zeroizing<String> {
        Zeroizing::new(String::from_utf8(self.into_bytes()).unwrap_or_default())
    }
}

impl fmt::Write for WipingString {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.push_str(s);
        Ok(())
    }
}

fn value_size(v: &Value, depth: usize) -> usize {
    // Per node: its text plus room for indentation, quotes and punctuation.
    let overhead = 16 + 4 * depth;
    overhead
        + match v {
            Value::Str(s) => s.expose_secret().len(),
            Value::Branch(b) => branch_size(b, depth + 1),
            Value::List(l) => l
                .iter()
                .map(|e| match e {
                    ListElement::Value(v) => value_size(v, depth + 1),
                    ListElement::Comment(c) => overhead + c.expose_secret().len(),
                })
                .sum(),
            _ => 32,
        }
}

fn branch_size(b: &Branch, depth: usize) -> usize {
    b.items
        .iter()
        .map(|i| match i {
            Item::Entry { key, value } => key.len() + value_size(value, depth),
            Item::Comment(c) => 16 + 4 * depth + c.expose_secret().len(),
        })
        .sum()
}

/// The capacity an emitter reserves up front: twice the size of the tree's
/// text and layout, plus 4 KiB (the metadata block, mostly). Escaping can
/// still outgrow it; the buffers then grow without leaving copies.
pub(super) fn capacity_for<'a>(branches: impl IntoIterator<Item = &'a Branch>) -> usize {
    let size: usize = branches.into_iter().map(|b| branch_size(b, 0)).sum();
    size.saturating_mul(2).saturating_add(4096)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn growth_keeps_the_contents() {
        let mut b = WipingBuf::with_capacity(2);
        for i in 0..100u8 {
            b.push(i);
        }
        b.extend_from_slice(b"tail");
        b.push_repeated(b' ', 3);
        assert!(b.capacity() >= 107);
        let v = b.into_vec();
        assert_eq!(v.len(), 107);
        assert_eq!(&v[..3], &[0, 1, 2]);
        assert_eq!(&v[100..], b"tail   ");

        let mut s = WipingString::with_capacity(1);
        s.push('é');
        s.push_str("abc");
        s.push_repeated(b'-', 2);
        fmt::Write::write_fmt(&mut s, format_args!("{:02X}", 27)).unwrap();
        assert_eq!(s.into_bytes(), "éabc--1B".as_bytes());
    }
}
