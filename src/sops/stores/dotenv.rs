//! dotenv store (sops: `stores/dotenv/store.go`).
//!
//! Lines are split on `\n`; empty lines are dropped (and not written back), a
//! line starting with `#` is a comment, anything else is `KEY=VALUE` split at
//! the first `=`. Only the two characters `\n` are unescaped: quotes stay
//! part of the value. The metadata is flattened into sorted `sops_*` lines.

use super::super::tree::{Branch, Item};
use super::super::{Error, Format};
use super::val_to_string;
use super::wiping::{WipingBuf, capacity_for};
use crate::secret::SecretBytes;

const PREFIX: &str = "sops_";

pub(super) fn parse(input: &[u8]) -> Result<Branch, Error> {
    let mut branch = Branch::new();
    for (n, line) in input.split(|&b| b == b'\n').enumerate() {
        if line.is_empty() {
            continue;
        }
        if let Some(text) = line.strip_prefix(b"#") {
            branch
                .items
                .push(Item::Comment(SecretBytes::from_slice(text)));
            continue;
        }
        let mut parts = line.splitn(2, |&b| b == b'=');
        let (Some(key), Some(value)) = (parts.next(), parts.next()) else {
            return Err(Error::Parse {
                format: Format::Dotenv,
                line: Some(n + 1),
                reason: "line has no '='".into(),
            });
        };
        let key = String::from_utf8(key.to_vec()).map_err(|_| Error::Parse {
            format: Format::Dotenv,
            line: Some(n + 1),
            reason: "key is not UTF-8".into(),
        })?;
        let value = unescape_newlines(value);
        branch.push(key, super::super::tree::Value::Str(SecretBytes::new(value)));
    }
    Ok(branch)
}

fn unescape_newlines(v: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(v.len());
    let mut rest = v;
    while let Some((&b, tail)) = rest.split_first() {
        if b == b'\\' && tail.first() == Some(&b'n') {
            out.push(b'\n');
            rest = tail.get(1..).unwrap_or_default();
        } else {
            out.push(b);
            rest = tail;
        }
    }
    out
}

/// Splits an encrypted file into its data and its flattened metadata.
pub(super) fn parse_encrypted(input: &[u8]) -> Result<(Branch, Vec<(String, String)>), Error> {
    let all = parse(input)?;
    let mut data = Branch::new();
    let mut meta = Vec::new();
    for item in all.items {
        match item {
            Item::Entry { key, value } if key.starts_with(PREFIX) => {
                let text = val_to_string(&value, &key)?;
                let text =
                    String::from_utf8(text.to_vec()).map_err(|_| Error::InvalidMetadata {
                        field: key.clone(),
                        reason: "not UTF-8".into(),
                    })?;
                // parse() already turned `\n` into newlines; flatten's reader
                // expects the escaped form, so put it back.
                meta.push((key[PREFIX.len()..].to_string(), text.replace('\n', "\\n")));
            }
            other => data.items.push(other),
        }
    }
    Ok((data, meta))
}

pub(super) fn emit(branch: &Branch, meta: &[(String, String)]) -> Result<Vec<u8>, Error> {
    let mut out = WipingBuf::with_capacity(capacity_for([branch]));
    for item in &branch.items {
        match item {
            Item::Comment(c) => {
                out.push(b'#');
                out.extend_from_slice(c.expose_secret());
            }
            Item::Entry { key, value } => {
                let v = val_to_string(value, key)?;
                out.extend_from_slice(key.as_bytes());
                out.push(b'=');
                for &b in v.iter() {
                    if b == b'\n' {
                        out.extend_from_slice(b"\\n");
                    } else {
                        out.push(b);
                    }
                }
            }
        }
        out.push(b'\n');
    }
    for (k, v) in meta {
        out.extend_from_slice(PREFIX.as_bytes());
        out.extend_from_slice(k.as_bytes());
        out.push(b'=');
        out.extend_from_slice(v.as_bytes());
        out.push(b'\n');
    }
    Ok(out.into_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_emit_round_trip_drops_blank_lines_and_keeps_quotes() {
        let input = b"# c\nA=1\n\nQ=\"a b\"\nM=x\\ny\nE=\n";
        let b = parse(input).unwrap();
        assert_eq!(b.items.len(), 5);
        let out = emit(&b, &[]).unwrap();
        assert_eq!(out, b"# c\nA=1\nQ=\"a b\"\nM=x\\ny\nE=\n");
    }

    #[test]
    fn a_line_without_equals_is_an_error_with_its_line() {
        assert!(matches!(
            parse(b"A=1\nnope\n"),
            Err(Error::Parse { line: Some(2), .. })
        ));
    }
}
