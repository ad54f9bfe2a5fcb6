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
use crate::sops::tree::{Branch, Item, ListElement, Value, float_is_exact};
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

/// Why a file is read: sealing refuses what sops refuses (and what sops
/// would change), opening takes what sops wrote.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(in crate::sops::stores) enum Mode {
    /// A plaintext to seal (or a configuration to read).
    Seal,
    /// A sealed file to open or inspect.
    Open,
}

/// The tree builder: takes the parsed events in order, once each.
struct Reader<'a> {
    events: Vec<(Event<'a>, Span)>,
    pos: usize,
    comments: Comments,
    /// Anchored values: the value, its node count (the alias cap) and its
    /// height (the depth cap counts aliases expanded).
    anchors: HashMap<usize, (Value, usize, usize)>,
    alias_nodes: usize,
    /// Set by a sequence for a mapping item: go-yaml makes a comment after
    /// the item's last key, down to the dash's column, the mapping's foot.
    item_foot_col: Option<usize>,
    depth: usize,
    /// The index of the document being read.
    document: usize,
    /// Chars in the source: a block scalar that ends there ended at EOF.
    total_chars: usize,
    /// Where flow collections (`[`, `{`) start, by char index.
    flow_starts: std::collections::HashSet<usize>,
    /// The column of the `?` before a scalar written as an explicit key
    /// (`? key`, as go-yaml writes a key of over 128 bytes), by the
    /// scalar's char index: the entry, and so the mapping, starts there.
    explicit_key_cols: HashMap<usize, usize>,
    mode: Mode,
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

/// The core-schema suffix of a tag (`!!int`, `!<tag:yaml.org,2002:int>`),
/// `None` for custom tags (`!Ref`), which go-yaml decodes as the plain text.
fn core_tag(tag: Option<&saphyr_parser::Tag>) -> Option<&str> {
    const CORE: &str = "tag:yaml.org,2002:";
    let t = tag?;
    if t.is_yaml_core_schema() || t.handle == "!!" {
        Some(t.suffix.as_str())
    } else if t.handle.is_empty() || t.handle == "!" {
        // A verbatim tag, `!<tag:yaml.org,2002:int>`.
        t.suffix.strip_prefix(CORE)
    } else {
        None
    }
}

/// Whether a key event is a merge key: a plain `<<`, or one tagged
/// `!!merge` (how go-yaml writes it back). A quoted `"<<"` is an ordinary key.
fn is_merge_key(ev: &Event<'_>) -> bool {
    match ev {
        Event::Scalar(text, style, _, tag) => {
            &**text == "<<"
                && match core_tag(tag.as_deref()) {
                    Some(suffix) => suffix == "merge",
                    None => tag.is_none() && *style == ScalarStyle::Plain,
                }
        }
        _ => false,
    }
}

/// What a merge key may hold (go-yaml `d.merge`): a mapping or a list of
/// mappings.
fn is_mergeable(v: &Value) -> bool {
    match v {
        Value::Branch(_) => true,
        Value::List(l) => l.iter().all(|e| {
            matches!(
                e,
                ListElement::Value(Value::Branch(_)) | ListElement::Comment(_)
            )
        }),
        _ => false,
    }
}

/// The typed value of a resolved scalar, as go-yaml decodes it.
fn resolved_value(r: Resolved, text: &str, line: usize) -> Result<Value, Error> {
    Ok(match r {
        Resolved::Null => Value::Null,
        Resolved::Bool(b) => Value::Bool(b),
        Resolved::Int(i) => Value::Int(i),
        Resolved::Float(f) => Value::Float(f),
        Resolved::Time(t) => Value::Time(t),
        Resolved::Str => Value::str(text),
        Resolved::Uint => {
            return Err(Error::UnsupportedValue {
                path: format!("line {line}").into(),
                reason: "integer above the signed 64-bit range (sops 3.11 refuses it too)",
            });
        }
    })
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

    /// One scalar as go-yaml v3 decodes it into sops's tree (`decode.go`
    /// `d.scalar`, `resolve.go` `resolve`): a quoted or block scalar is a
    /// string unless a core tag says otherwise; an explicit `!!int`,
    /// `!!bool`, `!!float`, `!!null` or `!!timestamp` resolves the text as a
    /// plain scalar would be, and must come out of that type (a `!!float`
    /// may be written as an integer); `!!binary` is base64; any other tag is
    /// dropped and the text kept.
    fn scalar(
        &self,
        text: &str,
        style: ScalarStyle,
        tag: Option<&saphyr_parser::Tag>,
        line: usize,
    ) -> Result<Value, Error> {
        let wrong_type = |tag: &str| {
            parse_error(
                Some(line),
                format!(
                    "the value does not resolve as the type its tag !!{tag} says (sops 3.11 refuses it too)"
                ),
            )
        };
        match core_tag(tag) {
            Some("str") => return Ok(Value::str(text)),
            Some("binary") => {
                // Go's base64 decoder skips line breaks, nothing else.
                let mut cleaned = Zeroizing::new(String::with_capacity(text.len()));
                cleaned.extend(text.chars().filter(|&c| c != '\n' && c != '\r'));
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(cleaned.as_bytes())
                    .map_err(|_| parse_error(Some(line), "invalid !!binary base64"))?;
                return Ok(Value::Str(SecretBytes::new(bytes)));
            }
            Some(suffix @ ("int" | "bool" | "float" | "null" | "timestamp")) => {
                let r = resolve(text);
                let ok = match (&r, suffix) {
                    (Resolved::Int(_) | Resolved::Uint, "int")
                    | (Resolved::Bool(_), "bool")
                    | (Resolved::Float(_), "float")
                    | (Resolved::Null, "null")
                    | (Resolved::Time(_), "timestamp") => true,
                    (Resolved::Int(i), "float") => {
                        // go-yaml turns an integer under !!float into a float.
                        #[allow(clippy::cast_precision_loss)]
                        let f = *i as f64;
                        return Ok(Value::Float(f));
                    }
                    _ => false,
                };
                if !ok {
                    return Err(wrong_type(suffix));
                }
                return resolved_value(r, text, line);
            }
            _ => {}
        }
        if style != ScalarStyle::Plain {
            return Ok(Value::str(text));
        }
        match resolve(text) {
            // A plain timestamp resolves only without a tag (go-yaml).
            Resolved::Time(_) if tag.is_some() => Ok(Value::str(text)),
            Resolved::Float(f)
                if self.mode == Mode::Seal && f.is_finite() && !float_is_exact(text, f) =>
            {
                Err(Error::UnsupportedValue {
                    path: format!("line {line}").into(),
                    reason: "a number that a 64-bit float cannot hold exactly: sops 3.11 would write back another number; quote it to keep it as text",
                })
            }
            r => resolved_value(r, text, line),
        }
    }

    fn enter(&mut self, line: usize) -> Result<(), Error> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(parse_error(Some(line), "nesting too deep"));
        }
        Ok(())
    }

    fn remember(&mut self, anchor: usize, v: &Value, height: usize) {
        if anchor != 0 {
            self.anchors
                .insert(anchor, (v.clone(), node_count(v), height));
        }
    }

    /// Reads the node whose first event is `ev`; returns it with its
    /// height (0 for a scalar, 1 + the highest child for a collection).
    fn node(&mut self, ev: Event<'a>, span: Span) -> Result<(Value, usize), Error> {
        let line = span.start.line();
        match ev {
            Event::Scalar(text, style, anchor, tag) => {
                let mut v = self.scalar(&text, style, tag.as_deref(), line);
                // saphyr-parser adds a line break to a block scalar whose
                // last line is cut off by the end of the input; libyaml (so
                // go-yaml and sops) gives the lines without one.
                if let (Ok(Value::Str(s)), ScalarStyle::Literal | ScalarStyle::Folded) =
                    (&mut v, style)
                {
                    let at_eof = span.end.index() >= self.total_chars;
                    if at_eof && span.end.col() >= span.start.col().max(1) {
                        if let Some(cut) = s.expose_secret().strip_suffix(b"\n") {
                            *s = SecretBytes::from_slice(cut);
                        }
                    }
                }
                wipe_scalar(text);
                let v = v?;
                self.remember(anchor, &v, 0);
                Ok((v, 0))
            }
            Event::Alias(id) => {
                let (value, size, height) = self
                    .anchors
                    .get(&id)
                    .ok_or_else(|| parse_error(Some(line), "unknown alias"))?;
                self.alias_nodes = self.alias_nodes.saturating_add(*size);
                if self.alias_nodes > MAX_ALIAS_NODES {
                    return Err(parse_error(Some(line), "aliases expand to too many nodes"));
                }
                // The copy is as deep as the anchored value: count it, or
                // aliases of aliases build a tree deeper than the source.
                if self.depth + height > MAX_DEPTH {
                    return Err(parse_error(
                        Some(line),
                        "nesting too deep once aliases are expanded",
                    ));
                }
                Ok((value.clone(), *height))
            }
            Event::MappingStart(anchor, _) => {
                self.enter(line)?;
                let b = self.mapping(span);
                self.depth -= 1;
                let (b, height) = b?;
                let v = Value::Branch(b);
                self.remember(anchor, &v, height + 1);
                Ok((v, height + 1))
            }
            Event::SequenceStart(anchor, _) => {
                self.enter(line)?;
                let l = self.sequence(span);
                self.depth -= 1;
                let (l, height) = l?;
                let v = Value::List(l);
                self.remember(anchor, &v, height + 1);
                Ok((v, height + 1))
            }
            _ => Err(parse_error(Some(line), "unexpected event")),
        }
    }

    fn mapping(&mut self, start: Span) -> Result<(Branch, usize), Error> {
        let mut branch = Branch::new();
        let mut height = 0;
        let mut col: Option<usize> = None;
        let foot_col = self.item_foot_col.take();
        // A set, not a list: a mapping of 160,000 keys must not take
        // 160,000² comparisons.
        let mut seen: std::collections::HashSet<String> = std::collections::HashSet::new();
        loop {
            let (ev, span) = self.next()?;
            if matches!(ev, Event::MappingEnd) {
                // After the last key of a list item, a comment at the dash's
                // column belongs to the item when the list ends there, and
                // to the list (before the next item) otherwise, as go-yaml
                // attaches it.
                let list_goes_on = !matches!(self.peek(), Some((Event::SequenceEnd, _)));
                let min = match foot_col {
                    Some(dash) if !list_goes_on => dash,
                    Some(dash) => col.unwrap_or(dash + 1).max(dash + 1),
                    None => col.unwrap_or(start.start.col()),
                };
                for c in self.comments.own_line_before(span.start.index(), min) {
                    branch.items.push(Item::Comment(c));
                }
                return Ok((branch, height));
            }
            let entry_col = self
                .explicit_key_cols
                .get(&span.start.index())
                .copied()
                .unwrap_or(span.start.col());
            let key_col = *col.get_or_insert(entry_col);
            let line = span.start.line();
            for c in self.comments.own_line_before(span.start.index(), key_col) {
                branch.items.push(Item::Comment(c));
            }
            let merge = is_merge_key(&ev);
            let literal_merge = !merge && matches!(&ev, Event::Scalar(t, ..) if &**t == "<<");
            // An inline comment on the key's line belongs to the flow
            // collection that follows on that line, if one does.
            let flow_value = matches!(
                self.peek(),
                Some((Event::MappingStart(..) | Event::SequenceStart(..), s))
                    if s.start.line() == line && self.flow_starts.contains(&s.start.index())
            );
            if !flow_value {
                for c in self.comments.inline_on(line) {
                    branch.items.push(Item::Comment(c));
                }
            }
            let key = match self.node(ev, span)?.0 {
                Value::Str(s) => String::from_utf8(s.expose_secret().to_vec())
                    .map_err(|_| parse_error(Some(line), "key is not UTF-8"))?,
                _ => return Err(Error::NonStringKey { line }),
            };
            // sops reads the top of a sealed file's first document into a
            // struct to find its metadata, and that read refuses a key given
            // twice; deeper down, and in later documents, it keeps both.
            let refused = self.mode == Mode::Seal || (self.document == 0 && self.depth == 1);
            if !seen.insert(key.clone()) && refused {
                return Err(Error::DuplicateKey {
                    key: key.into(),
                    line,
                });
            }
            let (vev, vspan) = self.next()?;
            if let Event::Scalar(..) = vev {
                for c in self.comments.inline_on(vspan.start.line()) {
                    branch.items.push(Item::Comment(c));
                }
            }
            let (value, h) = self.node(vev, vspan)?;
            height = height.max(h);
            if merge && !is_mergeable(&value) {
                if self.mode == Mode::Seal {
                    return Err(parse_error(
                        Some(line),
                        "a merge key (<<) must hold a mapping or a list of mappings (sops 3.11 refuses it too)",
                    ));
                }
                // What sops wrote for a quoted "<<" key: sops itself cannot
                // open it again; keep it the ordinary key it was.
                branch.literal_merge_key = true;
            }
            if literal_merge {
                branch.literal_merge_key = true;
            }
            branch.push(key, value);
        }
    }

    fn sequence(&mut self, start: Span) -> Result<(Vec<ListElement>, usize), Error> {
        let mut list = Vec::new();
        let mut height = 0;
        let mut col: Option<usize> = None;
        loop {
            let (ev, span) = self.next()?;
            if matches!(ev, Event::SequenceEnd) {
                let min = col.unwrap_or(start.start.col());
                for c in self.comments.own_line_before(span.start.index(), min) {
                    list.push(ListElement::Comment(c));
                }
                return Ok((list, height));
            }
            // The dash's column: where the sequence starts, or two columns
            // before its first item on the same line (an indentless
            // sequence, `key:` then `- item` at the key's column, starts
            // elsewhere).
            let flow = self.flow_starts.contains(&start.start.index());
            let item_col = *col.get_or_insert_with(|| {
                if flow {
                    start.start.col()
                } else {
                    start.start.col().min(span.start.col().saturating_sub(2))
                }
            });
            // A comment after a dash with nothing behind it goes after the
            // empty (null) item, before the next one, where go-yaml puts
            // it; on any other item's line, before the item.
            let empty = matches!(&ev, Event::Scalar(text, ScalarStyle::Plain, _, None) if text.is_empty())
                && span.start.index() == span.end.index();
            let after: Vec<ListElement> = if empty {
                self.comments
                    .inline_on(span.start.line())
                    .into_iter()
                    .map(ListElement::Comment)
                    .collect()
            } else {
                Vec::new()
            };
            // A block collection that starts on a later line than its dash
            // takes the comment after the dash (`- # c`, then the
            // collection): go-yaml makes it the head comment of the
            // collection's first scalar.
            let block_collection = matches!(ev, Event::MappingStart(..) | Event::SequenceStart(..))
                && !self.flow_starts.contains(&span.start.index());
            let before = if block_collection {
                self.comments
                    .own_line_before_a_dash_comment(span.start.index(), item_col)
            } else {
                self.comments.own_line_before(span.start.index(), item_col)
            };
            for c in before {
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
            let (v, h) = self.node(ev, span)?;
            height = height.max(h);
            list.push(ListElement::Value(v));
            list.extend(after);
        }
    }
}

/// The end of a quoted scalar starting at `start` (its opening quote), one
/// past the closing quote. saphyr-parser's span runs on to the end of the
/// line, over any comment there.
fn quoted_end(chars: &[char], start: usize, single: bool) -> Option<usize> {
    let mut i = start + 1;
    loop {
        match (chars.get(i)?, chars.get(i + 1)) {
            ('\'', Some('\'')) if single => i += 2,
            ('\'', _) if single => return Some(i + 1),
            ('\\', _) if !single => i += 2,
            ('"', _) if !single => return Some(i + 1),
            _ => i += 1,
        }
    }
}

/// A `%YAML` directive for another version than 1.1, which go-yaml (and so
/// sops) refuses: "found incompatible YAML document". Directives sit at the
/// start of a line before `---`, outside every scalar.
fn incompatible_directive(chars: &[char], spans: &[(usize, usize)]) -> Option<usize> {
    let mut line = 1;
    let mut at_line_start = true;
    for (i, &c) in chars.iter().enumerate() {
        if at_line_start && c == '%' && !spans.iter().any(|&(s, e)| s <= i && i < e) {
            let rest: String = chars.iter().skip(i).take_while(|&&c| c != '\n').collect();
            if let Some(version) = rest.strip_prefix("%YAML") {
                if version.trim() != "1.1" {
                    return Some(line);
                }
            }
        }
        at_line_start = c == '\n';
        if c == '\n' {
            line += 1;
        }
    }
    None
}

/// The column of the `?` indicator right before the scalar at char `start`
/// (blanks between them), if there is one.
fn explicit_key_col(chars: &[char], start: usize) -> Option<usize> {
    let before = chars.get(..start)?;
    let blanks = before
        .iter()
        .rev()
        .take_while(|&&c| c == ' ' || c == '\t')
        .count();
    if blanks == 0 {
        return None;
    }
    let at = start.checked_sub(blanks + 1)?;
    if chars.get(at) != Some(&'?') {
        return None;
    }
    let line_start = chars
        .get(..at)?
        .iter()
        .rposition(|&c| c == '\n' || c == '\r')
        .map_or(0, |n| n + 1);
    Some(at - line_start)
}

/// Parses every document into a branch.
pub(in crate::sops::stores) fn parse(input: &[u8], mode: Mode) -> Result<Vec<Branch>, Error> {
    let text = std::str::from_utf8(input).map_err(|_| parse_error(None, "input is not UTF-8"))?;
    // One char per element, so that scalar spans (in chars) index it; the
    // whole plaintext, so wiped.
    let mut chars: Zeroizing<Vec<char>> = Zeroizing::new(Vec::with_capacity(text.len()));
    chars.extend(text.chars());
    let mut events = Vec::new();
    let mut scalar_spans = Vec::new();
    let mut flow_starts = std::collections::HashSet::new();
    let mut explicit_key_cols = HashMap::new();
    for ev in Parser::new_from_str(text) {
        let (ev, span) =
            ev.map_err(|e| parse_error(Some(e.marker().line()), e.info().to_string()))?;
        if let Event::MappingStart(..) | Event::SequenceStart(..) = &ev {
            if matches!(chars.get(span.start.index()), Some('[' | '{')) {
                flow_starts.insert(span.start.index());
            }
        }
        if let Event::Scalar(_, style, ..) = &ev {
            let (start, end) = (span.start.index(), span.end.index());
            if let Some(col) = explicit_key_col(&chars, start) {
                explicit_key_cols.insert(start, col);
            }
            let end = match style {
                ScalarStyle::SingleQuoted | ScalarStyle::DoubleQuoted => {
                    quoted_end(&chars, start, *style == ScalarStyle::SingleQuoted)
                        .map_or(end, |e| e.min(end))
                }
                _ => end,
            };
            scalar_spans.push((start, end));
        }
        events.push((ev, span));
    }
    if let Some(line) = incompatible_directive(&chars, &scalar_spans) {
        return Err(parse_error(
            Some(line),
            "only YAML 1.1 documents may carry a %YAML directive (sops 3.11 refuses others: \"found incompatible YAML document\")",
        ));
    }
    let comments = Comments::scan(&chars, &scalar_spans);
    let total_chars = chars.len();
    drop(chars);
    let mut r = Reader {
        events,
        pos: 0,
        comments,
        anchors: HashMap::new(),
        item_foot_col: None,
        depth: 0,
        document: 0,
        alias_nodes: 0,
        total_chars,
        flow_starts,
        explicit_key_cols,
        mode,
    };
    let mut branches = Vec::new();
    loop {
        let (ev, span) = r.next()?;
        match ev {
            Event::StreamStart | Event::DocumentEnd | Event::Nothing => {}
            Event::StreamEnd => break,
            Event::DocumentStart(_) => {
                let document = branches.len();
                r.document = document;
                let (root, rspan) = r.next()?;
                let mut branch = match root {
                    Event::MappingStart(..) => {
                        let mut head = Branch::new();
                        for c in r.comments.own_line_before(rspan.start.index(), 0) {
                            head.items.push(Item::Comment(c));
                        }
                        let body = match r.node(root, rspan)?.0 {
                            Value::Branch(b) => b,
                            _ => return Err(Error::NotAMapping { document }),
                        };
                        head.literal_merge_key = body.literal_merge_key;
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
    // go-yaml finds no document in an empty or comment-only stream, and
    // sops refuses the file ("File cannot be completely empty", or "EOF"):
    // sealing it would give a file that `sops -d` prints as `{}`.
    if branches.is_empty() {
        return Err(Error::NoDocument);
    }
    Ok(branches)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_seal(input: &[u8]) -> Result<Vec<Branch>, Error> {
        parse(input, Mode::Seal)
    }

    #[test]
    fn structural_errors() {
        assert!(matches!(
            parse_seal(b"- a\n"),
            Err(Error::NotAMapping { .. })
        ));
        assert!(matches!(
            parse_seal(b"1: a\n"),
            Err(Error::NonStringKey { line: 1 })
        ));
        assert!(matches!(
            parse_seal(b"a: 1\na: 2\n"),
            Err(Error::DuplicateKey { .. })
        ));
        assert!(matches!(parse_seal(b"a: [\n"), Err(Error::Parse { .. })));
        let deep = format!("a: {}{}\n", "[".repeat(1000), "]".repeat(1000));
        assert!(matches!(
            parse_seal(deep.as_bytes()),
            Err(Error::Parse { .. })
        ));
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
        assert!(matches!(
            parse_seal(doc.as_bytes()),
            Err(Error::Parse { .. })
        ));
    }

    #[test]
    fn anchors_expand() {
        let v = parse_seal(b"base: &b\n    x: 1\ncopy: *b\n").unwrap();
        assert!(matches!(v[0].get("copy"), Some(Value::Branch(b)) if b.get("x").is_some()));
    }
}
