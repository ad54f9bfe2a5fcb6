//! Reading: `saphyr-parser`'s event stream turned into one branch per
//! document, as sops 3.11 loads YAML through go-yaml v3.
//!
//! This file owns the tree building: mappings in file order with duplicate
//! keys refused, tags (`!!str`, `!!binary`), anchors and aliases (expanded
//! into copies, as sops does), and the caps that keep a hostile file from
//! exhausting the stack (`MAX_DEPTH`) or memory (`MAX_ALIAS_NODES`). It
//! decides which column bound applies to the comments before each item;
//! finding comments and handing them out is `comments.rs`, typing plain
//! scalars is `resolve.rs`.
//!
//! Scalars are plaintext: each owned copy the parser made is wiped once the
//! reader holds it, also when the reader stops on an error (`Reader`'s
//! `Drop`).

use std::borrow::Cow;
use std::collections::HashMap;

use base64::Engine;
use saphyr_parser::{Event, Parser, ScalarStyle, Span};
use zeroize::{Zeroize, Zeroizing};

use super::comments::Comments;
use super::resolve::{Resolved, resolve};
use crate::secret::SecretBytes;
use crate::sops::tree::{Branch, Item, ListElement, Value};
use crate::sops::{Error, Format};

/// Deepest nesting accepted, so a hostile file cannot exhaust the stack of
/// the recursive tree builder, walker and emitter.
const MAX_DEPTH: usize = 256;

/// Most nodes that alias expansion may copy in one file: aliases are
/// expanded into copies (as sops does), so without a cap a few nested
/// aliases ("billion laughs") would exhaust memory.
const MAX_ALIAS_NODES: usize = 1_000_000;

/// The nodes in `v`, as the alias cap counts them.
fn node_count(v: &Value) -> usize {
    match v {
        Value::Branch(b) => {
            1 + b
                .items
                .iter()
                .map(|i| match i {
                    Item::Entry { value, .. } => 1 + node_count(value),
                    Item::Comment(_) => 1,
                })
                .sum::<usize>()
        }
        Value::List(l) => {
            1 + l
                .iter()
                .map(|e| match e {
                    ListElement::Value(v) => node_count(v),
                    ListElement::Comment(_) => 1,
                })
                .sum::<usize>()
        }
        _ => 1,
    }
}

/// The tree builder: takes the parsed events in order, once each.
struct Reader<'a> {
    events: Vec<(Event<'a>, Span)>,
    pos: usize,
    comments: Comments,
    anchors: HashMap<usize, (Value, usize)>,
    alias_nodes: usize,
    /// Set by a sequence for a mapping item: go-yaml makes a comment after
    /// the item's last key, down to the dash's column, the mapping's foot.
    item_foot_col: Option<usize>,
    depth: usize,
}

/// Wipes a scalar's text if the parser had to make its own copy (quoted or
/// folded scalars, escapes); a borrowed one points into the input.
fn wipe_scalar(text: Cow<'_, str>) {
    if let Cow::Owned(mut owned) = text {
        owned.zeroize();
    }
}

impl Drop for Reader<'_> {
    /// Events not consumed (after an error) still hold their scalars.
    fn drop(&mut self) {
        for (ev, _) in self.events.drain(..) {
            if let Event::Scalar(text, ..) = ev {
                wipe_scalar(text);
            }
        }
    }
}

fn parse_error(line: Option<usize>, reason: impl Into<String>) -> Error {
    Error::Parse {
        format: Format::Yaml,
        line,
        reason: reason.into(),
    }
}

impl<'a> Reader<'a> {
    fn next(&mut self) -> Result<(Event<'a>, Span), Error> {
        // Moved out, not cloned: a clone of an owned scalar would be a copy
        // of the plaintext that nothing wipes.
        let slot = self
            .events
            .get_mut(self.pos)
            .ok_or_else(|| parse_error(None, "unexpected end of input"))?;
        let span = slot.1;
        let ev = std::mem::replace(slot, (Event::Nothing, span));
        self.pos += 1;
        Ok(ev)
    }

    fn peek(&self) -> Option<&(Event<'a>, Span)> {
        self.events.get(self.pos)
    }

    fn scalar(
        &self,
        text: &str,
        style: ScalarStyle,
        tag: Option<&saphyr_parser::Tag>,
        line: usize,
    ) -> Result<Value, Error> {
        if let Some(tag) = tag {
            if tag.is_yaml_core_schema() || tag.handle == "!!" {
                match tag.suffix.as_str() {
                    "str" => return Ok(Value::str(text)),
                    // go-yaml decodes !!binary into a (byte) string.
                    "binary" => {
                        let mut cleaned = Zeroizing::new(String::with_capacity(text.len()));
                        cleaned.extend(text.split_whitespace());
                        let bytes = base64::engine::general_purpose::STANDARD
                            .decode(cleaned.as_bytes())
                            .map_err(|_| parse_error(Some(line), "invalid !!binary base64"))?;
                        return Ok(Value::Str(SecretBytes::new(bytes)));
                    }
                    _ => {}
                }
            }
        }
        if style != ScalarStyle::Plain {
            return Ok(Value::str(text));
        }
        Ok(match resolve(text) {
            Resolved::Null => Value::Null,
            Resolved::Bool(b) => Value::Bool(b),
            Resolved::Int(i) => Value::Int(i),
            Resolved::Float(f) => Value::Float(f),
            Resolved::Time(t) => Value::Time(t),
            Resolved::Str => Value::str(text),
            Resolved::Uint => {
                return Err(Error::UnsupportedValue {
                    path: format!("line {line}"),
                    reason: "integer above the signed 64-bit range",
                });
            }
        })
    }

    fn enter(&mut self, line: usize) -> Result<(), Error> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(parse_error(Some(line), "nesting too deep"));
        }
        Ok(())
    }

    fn remember(&mut self, anchor: usize, v: &Value) {
        if anchor != 0 {
            self.anchors.insert(anchor, (v.clone(), node_count(v)));
        }
    }

    /// Reads the node whose first event is `ev`.
    fn node(&mut self, ev: Event<'a>, span: Span) -> Result<Value, Error> {
        let line = span.start.line();
        match ev {
            Event::Scalar(text, style, anchor, tag) => {
                let v = self.scalar(&text, style, tag.as_deref(), line);
                wipe_scalar(text);
                let v = v?;
                self.remember(anchor, &v);
                Ok(v)
            }
            Event::Alias(id) => {
                let (value, size) = self
                    .anchors
                    .get(&id)
                    .ok_or_else(|| parse_error(Some(line), "unknown alias"))?;
                self.alias_nodes = self.alias_nodes.saturating_add(*size);
                if self.alias_nodes > MAX_ALIAS_NODES {
                    return Err(parse_error(Some(line), "aliases expand to too many nodes"));
                }
                Ok(value.clone())
            }
            Event::MappingStart(anchor, _) => {
                self.enter(line)?;
                let b = self.mapping(span);
                self.depth -= 1;
                let b = b?;
                let v = Value::Branch(b);
                self.remember(anchor, &v);
                Ok(v)
            }
            Event::SequenceStart(anchor, _) => {
                self.enter(line)?;
                let l = self.sequence(span);
                self.depth -= 1;
                let v = Value::List(l?);
                self.remember(anchor, &v);
                Ok(v)
            }
            _ => Err(parse_error(Some(line), "unexpected event")),
        }
    }

    fn mapping(&mut self, start: Span) -> Result<Branch, Error> {
        let mut branch = Branch::new();
        let mut col: Option<usize> = None;
        let foot_col = self.item_foot_col.take();
        // A set, not a list: a mapping of 160,000 keys must not take
        // 160,000² comparisons.
        let mut seen: std::collections::HashSet<String> = std::collections::HashSet::new();
        loop {
            let (ev, span) = self.next()?;
            if matches!(ev, Event::MappingEnd) {
                let min = foot_col.or(col).unwrap_or(start.start.col());
                for c in self.comments.own_line_before(span.start.index(), min) {
                    branch.items.push(Item::Comment(c));
                }
                return Ok(branch);
            }
            let key_col = *col.get_or_insert(span.start.col());
            let line = span.start.line();
            for c in self.comments.own_line_before(span.start.index(), key_col) {
                branch.items.push(Item::Comment(c));
            }
            for c in self.comments.inline_on(line) {
                branch.items.push(Item::Comment(c));
            }
            let key = match self.node(ev, span)? {
                Value::Str(s) => String::from_utf8(s.expose_secret().to_vec())
                    .map_err(|_| parse_error(Some(line), "key is not UTF-8"))?,
                _ => return Err(Error::NonStringKey { line }),
            };
            if !seen.insert(key.clone()) {
                return Err(Error::DuplicateKey { key, line });
            }
            let (vev, vspan) = self.next()?;
            if let Event::Scalar(..) = vev {
                for c in self.comments.inline_on(vspan.start.line()) {
                    branch.items.push(Item::Comment(c));
                }
            }
            let value = self.node(vev, vspan)?;
            branch.push(key, value);
        }
    }

    fn sequence(&mut self, start: Span) -> Result<Vec<ListElement>, Error> {
        let mut list = Vec::new();
        let mut col: Option<usize> = None;
        loop {
            let (ev, span) = self.next()?;
            if matches!(ev, Event::SequenceEnd) {
                let min = col.unwrap_or(start.start.col());
                for c in self.comments.own_line_before(span.start.index(), min) {
                    list.push(ListElement::Comment(c));
                }
                return Ok(list);
            }
            // The dash is where the sequence started for the first item; for
            // later items the item's own column is a safe lower bound.
            let item_col = *col.get_or_insert(start.start.col());
            for c in self.comments.own_line_before(span.start.index(), item_col) {
                list.push(ListElement::Comment(c));
            }
            if let Event::Scalar(..) | Event::Alias(_) = ev {
                for c in self.comments.inline_on(span.start.line()) {
                    list.push(ListElement::Comment(c));
                }
            }
            if let Event::MappingStart(..) = ev {
                self.item_foot_col = Some(item_col);
            }
            list.push(ListElement::Value(self.node(ev, span)?));
        }
    }
}

/// Parses every document into a branch.
pub(in crate::sops::stores) fn parse(input: &[u8]) -> Result<Vec<Branch>, Error> {
    let text = std::str::from_utf8(input).map_err(|_| parse_error(None, "input is not UTF-8"))?;
    let mut events = Vec::new();
    let mut scalar_spans = Vec::new();
    for ev in Parser::new_from_str(text) {
        let (ev, span) =
            ev.map_err(|e| parse_error(Some(e.marker().line()), e.info().to_string()))?;
        if let Event::Scalar(..) = ev {
            scalar_spans.push((span.start.index(), span.end.index()));
        }
        events.push((ev, span));
    }
    // One char per element, so that scalar spans (in chars) index it; the
    // whole plaintext, so wiped.
    let mut chars: Zeroizing<Vec<char>> = Zeroizing::new(Vec::with_capacity(text.len()));
    chars.extend(text.chars());
    let comments = Comments::scan(&chars, &scalar_spans);
    drop(chars);
    let mut r = Reader {
        events,
        pos: 0,
        comments,
        anchors: HashMap::new(),
        item_foot_col: None,
        depth: 0,
        alias_nodes: 0,
    };
    let mut branches = Vec::new();
    loop {
        let (ev, span) = r.next()?;
        match ev {
            Event::StreamStart | Event::DocumentEnd | Event::Nothing => {}
            Event::StreamEnd => break,
            Event::DocumentStart(_) => {
                let document = branches.len();
                let (root, rspan) = r.next()?;
                let mut branch = match root {
                    Event::MappingStart(..) => {
                        let mut head = Branch::new();
                        for c in r.comments.own_line_before(rspan.start.index(), 0) {
                            head.items.push(Item::Comment(c));
                        }
                        let body = match r.node(root, rspan)? {
                            Value::Branch(b) => b,
                            _ => return Err(Error::NotAMapping { document }),
                        };
                        head.items.extend(body.items);
                        head
                    }
                    // An empty document is allowed (go-yaml gives null).
                    Event::Scalar(ref t, ScalarStyle::Plain, _, None)
                        if t.is_empty() || &**t == "~" || &**t == "null" =>
                    {
                        Branch::new()
                    }
                    other => {
                        if let Event::Scalar(text, ..) = other {
                            wipe_scalar(text);
                        }
                        return Err(Error::NotAMapping { document });
                    }
                };
                // Comments after the root mapping belong to it.
                let end = r.peek().map(|(_, s)| s.end.index()).unwrap_or(usize::MAX);
                for c in r.comments.own_line_before(end.max(span.start.index()), 0) {
                    branch.items.push(Item::Comment(c));
                }
                branches.push(branch);
            }
            _ => return Err(parse_error(Some(span.start.line()), "unexpected event")),
        }
    }
    // A file that is only comments still has one (empty) document for sops.
    if branches.is_empty() {
        let mut b = Branch::new();
        for c in r.comments.own_line_before(usize::MAX, 0) {
            b.items.push(Item::Comment(c));
        }
        branches.push(b);
    }
    Ok(branches)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn structural_errors() {
        assert!(matches!(parse(b"- a\n"), Err(Error::NotAMapping { .. })));
        assert!(matches!(
            parse(b"1: a\n"),
            Err(Error::NonStringKey { line: 1 })
        ));
        assert!(matches!(
            parse(b"a: 1\na: 2\n"),
            Err(Error::DuplicateKey { .. })
        ));
        assert!(matches!(parse(b"a: [\n"), Err(Error::Parse { .. })));
        let deep = format!("a: {}{}\n", "[".repeat(1000), "]".repeat(1000));
        assert!(matches!(parse(deep.as_bytes()), Err(Error::Parse { .. })));
    }

    #[test]
    fn alias_bombs_are_refused() {
        let mut doc = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..10 {
            let p = i - 1;
            doc.push_str(&format!(
                "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
            ));
        }
        assert!(matches!(parse(doc.as_bytes()), Err(Error::Parse { .. })));
    }

    #[test]
    fn anchors_expand() {
        let v = parse(b"base: &b\n    x: 1\ncopy: *b\n").unwrap();
        assert!(matches!(v[0].get("copy"), Some(Value::Branch(b)) if b.get("x").is_some()));
    }
}
