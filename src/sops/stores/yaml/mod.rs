//! YAML store (sops: `stores/yaml/store.go` on go-yaml v3).
//!
//! **Reading** uses `saphyr-parser`'s event stream, which gives positions but
//! no comments. Comments are found by a scan of the source that skips every
//! scalar's span (see `docs/decisions/yaml-parser.md`), then placed the way
//! sops places go-yaml's head, line and foot comments:
//! * an own-line comment goes before the next item of the innermost open
//!   collection whose column it reaches, or at the end of that collection;
//! * an inline comment (`a: 1 # note`) goes before the item on its line, as
//!   sops 3.11 does (it turns line comments into comment items).
//!
//! Plain scalars are typed as go-yaml v3 resolves them (`resolve.go`):
//! YAML 1.2 core schema plus `0o`/`0b`/legacy-octal ints, `_` separators and
//! plain timestamps; `yes`/`no`/`on`/`off` stay strings.
//!
//! **Writing** reproduces go-yaml v3's emitter with `SetIndent(4)`: a nested
//! collection is indented to the next multiple of 4 above its parent's
//! column, content inside a `- ` item starts two columns after the dash,
//! strings that would resolve to another type are double-quoted, strings
//! with a newline become `|` literal blocks, and nothing is wrapped.
//!
//! The parts, in the order data flows through them:
//! * `read.rs`: events to branches; anchors, aliases, tags, duplicate keys,
//!   and the depth and alias-expansion caps;
//! * `comments.rs`: the comment scan and the queries that place comments;
//! * `resolve.rs`: plain scalar typing, shared by reader and writer;
//! * `emit.rs`: branches to text, the go-yaml layout;
//! * `scalar_style.rs`: one scalar's text, its quoting style and escapes.
//!
//! Only `parse` and `emit` are seen by the other stores.

mod comments;
mod emit;
mod read;
mod resolve;
mod scalar_style;

pub(super) use emit::emit;
pub(super) use read::{Mode, parse};

/// go-yaml v3's indent as sops sets it by default (`SetIndent(4)`,
/// `stores/yaml/store.go` `IndentDefault`).
pub(in crate::sops) const DEFAULT_INDENT: usize = 4;

/// Parses and emits again: the round trip the tests of each part check.
#[cfg(test)]
fn round(input: &str) -> String {
    String::from_utf8(
        emit(
            &parse(input.as_bytes(), Mode::Seal).unwrap(),
            DEFAULT_INDENT,
        )
        .unwrap(),
    )
    .unwrap()
}
