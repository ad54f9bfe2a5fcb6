//! The YAML store's reader and writer (see the module doc in `mod.rs`).

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt::Write as _;

use base64::Engine;
use saphyr_parser::{Event, Parser, ScalarStyle, Span};
use zeroize::{Zeroize, Zeroizing};

use crate::secret::SecretBytes;
use crate::sops::stores::wiping::{WipingString, capacity_for};
use crate::sops::tree::{Branch, GoTime, Item, ListElement, Value, yaml_format_float};
use crate::sops::{Error, Format};

const INDENT: usize = 4;

/// Deepest nesting accepted, so a hostile file cannot exhaust the stack of
/// the recursive tree builder, walker and emitter.
const MAX_DEPTH: usize = 256;

/// Most nodes that alias expansion may copy in one file: aliases are
/// expanded into copies (as sops does), so without a cap a few nested
/// aliases ("billion laughs") would exhaust memory.
const MAX_ALIAS_NODES: usize = 1_000_000;

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

// ---------------------------------------------------------------- resolving

/// What a plain scalar resolves to (go-yaml v3 `resolve`).
enum Resolved {
    Null,
    Bool(bool),
    Int(i64),
    /// An integer that only fits u64: sops cannot walk it.
    Uint,
    Float(f64),
    Time(GoTime),
    Str,
}

fn go_parse_int(s: &str) -> Option<i128> {
    // strconv.ParseInt(s, 0, 64) on the text with `_` removed by the caller.
    let (neg, body) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let (radix, digits) = if let Some(d) = body.strip_prefix("0x").or(body.strip_prefix("0X")) {
        (16, d)
    } else if let Some(d) = body.strip_prefix("0b").or(body.strip_prefix("0B")) {
        (2, d)
    } else if let Some(d) = body.strip_prefix("0o").or(body.strip_prefix("0O")) {
        (8, d)
    } else if body.len() > 1 && body.starts_with('0') {
        (8, &body[1..])
    } else {
        (10, body)
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    let v = u128::from_str_radix(digits, radix).ok()?;
    let v = i128::try_from(v).ok()?;
    Some(if neg { -v } else { v })
}

fn is_yaml_style_float(s: &str) -> bool {
    // ^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$
    let b = s.as_bytes();
    let mut i = 0;
    if matches!(b.first(), Some(b'-' | b'+')) {
        i += 1;
    }
    let digits = |i: &mut usize| {
        let start = *i;
        while *i < b.len() && b[*i].is_ascii_digit() {
            *i += 1;
        }
        *i - start
    };
    if b.get(i) == Some(&b'.') {
        i += 1;
        if digits(&mut i) == 0 {
            return false;
        }
    } else {
        if digits(&mut i) == 0 {
            return false;
        }
        if b.get(i) == Some(&b'.') {
            i += 1;
            digits(&mut i);
        }
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'-' | b'+')) {
            i += 1;
        }
        if digits(&mut i) == 0 {
            return false;
        }
    }
    i == b.len()
}

fn resolve(s: &str) -> Resolved {
    match s {
        "" | "~" | "null" | "Null" | "NULL" => return Resolved::Null,
        "true" | "True" | "TRUE" => return Resolved::Bool(true),
        "false" | "False" | "FALSE" => return Resolved::Bool(false),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => {
            return Resolved::Float(f64::INFINITY);
        }
        "-.inf" | "-.Inf" | "-.INF" => return Resolved::Float(f64::NEG_INFINITY),
        ".nan" | ".NaN" | ".NAN" => return Resolved::Float(f64::NAN),
        _ => {}
    }
    let first = s.as_bytes().first().copied().unwrap_or(b' ');
    if first == b'.' {
        return match s.parse::<f64>() {
            Ok(f) if is_yaml_style_float(s) => Resolved::Float(f),
            _ => Resolved::Str,
        };
    }
    if !(first.is_ascii_digit() || first == b'-' || first == b'+') {
        return Resolved::Str;
    }
    if let Some(t) = GoTime::parse_yaml(s) {
        return Resolved::Time(t);
    }
    let mut plain = Zeroizing::new(String::with_capacity(s.len()));
    plain.extend(s.chars().filter(|&c| c != '_'));
    if let Some(v) = go_parse_int(&plain) {
        if let Ok(i) = i64::try_from(v) {
            return Resolved::Int(i);
        }
        if u64::try_from(v).is_ok() {
            return Resolved::Uint;
        }
    }
    if is_yaml_style_float(&plain) {
        if let Ok(f) = plain.parse::<f64>() {
            return Resolved::Float(f);
        }
    }
    Resolved::Str
}

// ------------------------------------------------------------------ reading

#[derive(Clone, Debug)]
struct Comment {
    index: usize,
    line: usize,
    col: usize,
    own_line: bool,
    /// Comments are encrypted like values: wiped.
    text: Zeroizing<String>,
}

/// Finds comments in the source: a `#` at the start of a line or after
/// whitespace, outside every scalar's span.
fn find_comments(chars: &[char], scalar_spans: &[(usize, usize)]) -> Vec<Comment> {
    let mut in_scalar = vec![false; chars.len() + 1];
    for &(s, e) in scalar_spans {
        for slot in in_scalar.iter_mut().take(e.min(chars.len())).skip(s) {
            *slot = true;
        }
    }
    let mut out = Vec::new();
    let (mut line, mut col) = (1usize, 0usize);
    let mut own_line = true;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '\n' {
            line += 1;
            col = 0;
            own_line = true;
            i += 1;
            continue;
        }
        let after_space = i == 0 || matches!(chars[i - 1], ' ' | '\t' | '\n' | '\r');
        if c == '#' && after_space && !in_scalar[i] {
            let start = i;
            let mut end = i + 1;
            while end < chars.len() && chars[end] != '\n' {
                end += 1;
            }
            // The text without trailing CRs, built once at its final size.
            let mut text_end = end;
            while text_end > start + 1 && chars[text_end - 1] == '\r' {
                text_end -= 1;
            }
            let body = &chars[start + 1..text_end];
            let mut text = Zeroizing::new(String::with_capacity(
                body.iter().map(|c| c.len_utf8()).sum(),
            ));
            text.extend(body);
            out.push(Comment {
                index: start,
                line,
                col,
                own_line,
                text,
            });
            col += end - i;
            i = end;
            continue;
        }
        if !matches!(c, ' ' | '\t' | '\r') {
            own_line = false;
        }
        col += 1;
        i += 1;
    }
    out
}

struct Reader<'a> {
    events: Vec<(Event<'a>, Span)>,
    pos: usize,
    comments: Vec<Comment>,
    next_comment: usize,
    taken: Vec<bool>,
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

    /// Own-line comments before `index` whose column is at least `min_col`,
    /// in order. Stops at the first one that is further left: it belongs to
    /// an enclosing collection.
    fn own_line_before(&mut self, index: usize, min_col: usize) -> Vec<SecretBytes> {
        let mut out = Vec::new();
        while let Some(c) = self.comments.get(self.next_comment) {
            if c.index >= index {
                break;
            }
            if self.taken[self.next_comment] {
                self.next_comment += 1;
                continue;
            }
            if c.own_line && c.col < min_col {
                break;
            }
            out.push(SecretBytes::from_slice(c.text.as_bytes()));
            self.taken[self.next_comment] = true;
            self.next_comment += 1;
        }
        out
    }

    /// Inline comments on `line` (taken out of order, before their item).
    fn inline_on(&mut self, line: usize) -> Vec<SecretBytes> {
        let mut out = Vec::new();
        for (i, c) in self.comments.iter().enumerate().skip(self.next_comment) {
            if c.line > line {
                break;
            }
            if c.line == line && !c.own_line && !self.taken[i] {
                out.push(SecretBytes::from_slice(c.text.as_bytes()));
                self.taken[i] = true;
            }
        }
        out
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
        let mut seen: Vec<String> = Vec::new();
        loop {
            let (ev, span) = self.next()?;
            if matches!(ev, Event::MappingEnd) {
                let min = foot_col.or(col).unwrap_or(start.start.col());
                for c in self.own_line_before(span.start.index(), min) {
                    branch.items.push(Item::Comment(c));
                }
                return Ok(branch);
            }
            let key_col = *col.get_or_insert(span.start.col());
            let line = span.start.line();
            for c in self.own_line_before(span.start.index(), key_col) {
                branch.items.push(Item::Comment(c));
            }
            for c in self.inline_on(line) {
                branch.items.push(Item::Comment(c));
            }
            let key = match self.node(ev, span)? {
                Value::Str(s) => String::from_utf8(s.expose_secret().to_vec())
                    .map_err(|_| parse_error(Some(line), "key is not UTF-8"))?,
                _ => return Err(Error::NonStringKey { line }),
            };
            if seen.contains(&key) {
                return Err(Error::DuplicateKey { key, line });
            }
            seen.push(key.clone());
            let (vev, vspan) = self.next()?;
            if let Event::Scalar(..) = vev {
                for c in self.inline_on(vspan.start.line()) {
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
                for c in self.own_line_before(span.start.index(), min) {
                    list.push(ListElement::Comment(c));
                }
                return Ok(list);
            }
            // The dash is where the sequence started for the first item; for
            // later items the item's own column is a safe lower bound.
            let item_col = *col.get_or_insert(start.start.col());
            for c in self.own_line_before(span.start.index(), item_col) {
                list.push(ListElement::Comment(c));
            }
            if let Event::Scalar(..) | Event::Alias(_) = ev {
                for c in self.inline_on(span.start.line()) {
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
    let comments = find_comments(&chars, &scalar_spans);
    drop(chars);
    let n = comments.len();
    let mut r = Reader {
        events,
        pos: 0,
        comments,
        next_comment: 0,
        taken: vec![false; n],
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
                        for c in r.own_line_before(rspan.start.index(), 0) {
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
                for c in r.own_line_before(end.max(span.start.index()), 0) {
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
        for c in r.own_line_before(usize::MAX, 0) {
            b.items.push(Item::Comment(c));
        }
        branches.push(b);
    }
    Ok(branches)
}

// ------------------------------------------------------------------ writing

struct ScalarAnalysis {
    multiline: bool,
    block_plain_allowed: bool,
    single_quoted_allowed: bool,
    block_allowed: bool,
}

fn is_printable(c: char) -> bool {
    // go-yaml is_printable, with the emitter in unicode mode.
    matches!(c, '\n' | '\u{20}'..='\u{7e}' | '\u{a0}'..='\u{d7ff}')
        || (('\u{e000}'..='\u{fffd}').contains(&c) && c != '\u{feff}')
}

fn is_break(c: char) -> bool {
    matches!(c, '\r' | '\n' | '\u{85}' | '\u{2028}' | '\u{2029}')
}

/// go-yaml `yaml_emitter_analyze_scalar` (block context only).
fn analyze(value: &str) -> ScalarAnalysis {
    if value.is_empty() {
        return ScalarAnalysis {
            multiline: false,
            block_plain_allowed: true,
            single_quoted_allowed: true,
            block_allowed: false,
        };
    }
    let mut block_indicators = value.starts_with("---") || value.starts_with("...");
    let (mut line_breaks, mut special, mut tabs) = (false, false, false);
    let (mut leading_space, mut leading_break, mut trailing_space, mut trailing_break) =
        (false, false, false, false);
    let (mut break_space, mut space_break) = (false, false);
    let (mut prev_space, mut prev_break) = (false, false);
    let mut preceded_by_ws = true;
    let mut chars: Zeroizing<Vec<char>> = Zeroizing::new(Vec::with_capacity(value.len()));
    chars.extend(value.chars());
    for (i, &c) in chars.iter().enumerate() {
        let next = chars.get(i + 1).copied();
        let followed_by_ws = next.is_none_or(|n| n == ' ' || n == '\t' || is_break(n));
        let last = i + 1 == chars.len();
        if i == 0 {
            match c {
                '#' | ',' | '[' | ']' | '{' | '}' | '&' | '*' | '!' | '|' | '>' | '\'' | '"'
                | '%' | '@' | '`' => block_indicators = true,
                '?' | ':' if followed_by_ws => block_indicators = true,
                '-' if followed_by_ws => block_indicators = true,
                _ => {}
            }
        } else {
            match c {
                ':' if followed_by_ws => block_indicators = true,
                '#' if preceded_by_ws => block_indicators = true,
                _ => {}
            }
        }
        if c == '\t' {
            tabs = true;
        } else if !is_printable(c) {
            special = true;
        }
        if c == ' ' {
            if i == 0 {
                leading_space = true;
            }
            if last {
                trailing_space = true;
            }
            if prev_break {
                break_space = true;
            }
            prev_space = true;
            prev_break = false;
        } else if is_break(c) {
            line_breaks = true;
            if i == 0 {
                leading_break = true;
            }
            if last {
                trailing_break = true;
            }
            if prev_space {
                space_break = true;
            }
            prev_space = false;
            prev_break = true;
        } else {
            prev_space = false;
            prev_break = false;
        }
        preceded_by_ws = c == ' ' || c == '\t' || is_break(c);
    }
    let mut a = ScalarAnalysis {
        multiline: line_breaks,
        block_plain_allowed: true,
        single_quoted_allowed: true,
        block_allowed: true,
    };
    if leading_space || leading_break || trailing_space || trailing_break {
        a.block_plain_allowed = false;
    }
    if trailing_space {
        a.block_allowed = false;
    }
    if break_space {
        a.block_plain_allowed = false;
        a.single_quoted_allowed = false;
    }
    if space_break || tabs || special {
        a.block_plain_allowed = false;
        a.single_quoted_allowed = false;
    }
    if space_break || special {
        a.block_allowed = false;
    }
    if line_breaks {
        a.block_plain_allowed = false;
    }
    if block_indicators {
        a.block_plain_allowed = false;
    }
    a
}

fn is_old_bool(s: &str) -> bool {
    matches!(
        s,
        "y" | "Y"
            | "yes"
            | "Yes"
            | "YES"
            | "on"
            | "On"
            | "ON"
            | "n"
            | "N"
            | "no"
            | "No"
            | "NO"
            | "off"
            | "Off"
            | "OFF"
    )
}

fn is_base60_float(s: &str) -> bool {
    // ^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$
    let s = s.strip_prefix(['-', '+']).unwrap_or(s);
    let (head, frac) = match s.split_once('.') {
        Some((h, f)) => (h, Some(f)),
        None => (s, None),
    };
    if frac.is_some_and(|f| !f.chars().all(|c| c.is_ascii_digit() || c == '_')) {
        return false;
    }
    let mut parts = head.split(':');
    let first = parts.next().unwrap_or("");
    if !first.starts_with(|c: char| c.is_ascii_digit())
        || !first.chars().all(|c| c.is_ascii_digit() || c == '_')
    {
        return false;
    }
    let mut n = 0;
    for p in parts {
        n += 1;
        let ok = match p.as_bytes() {
            [d] => d.is_ascii_digit(),
            [a, b] => (b'0'..=b'5').contains(a) && b.is_ascii_digit(),
            _ => false,
        };
        if !ok {
            return false;
        }
    }
    n > 0
}

enum Style {
    Plain,
    Single,
    Double,
    Literal,
}

/// A string scalar as go-yaml v3 writes it (`encode.go` stringv, then the
/// emitter's style selection).
fn choose_style(s: &str, simple_key: bool) -> Style {
    let can_plain = matches!(resolve(s), Resolved::Str) && !is_base60_float(s) && !is_old_bool(s);
    let requested = if s.contains('\n') {
        Style::Literal
    } else if can_plain {
        Style::Plain
    } else {
        Style::Double
    };
    let a = analyze(s);
    let mut style = requested;
    if simple_key && a.multiline {
        style = Style::Double;
    }
    if let Style::Plain = style {
        if !a.block_plain_allowed || (s.is_empty() && simple_key) {
            style = Style::Single;
        }
    }
    if let Style::Single = style {
        if !a.single_quoted_allowed {
            style = Style::Double;
        }
    }
    if let Style::Literal = style {
        if !a.block_allowed || simple_key {
            style = Style::Double;
        }
    }
    style
}

fn double_quoted(s: &str) -> Zeroizing<String> {
    // An escape is at most 4 bytes per input byte (`\x1B` for one byte), so
    // this never reallocates.
    let mut out = Zeroizing::new(String::with_capacity(s.len() * 4 + 2));
    out.push('"');
    for c in s.chars() {
        match c {
            '\0' => out.push_str("\\0"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\u{b}' => out.push_str("\\v"),
            '\u{c}' => out.push_str("\\f"),
            '\r' => out.push_str("\\r"),
            '\u{1b}' => out.push_str("\\e"),
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{85}' => out.push_str("\\N"),
            '\u{a0}' => out.push_str("\\_"),
            '\u{2028}' => out.push_str("\\L"),
            '\u{2029}' => out.push_str("\\P"),
            c if !is_printable(c) || c == '\u{feff}' => {
                let v = c as u32;
                // Writing to a String cannot fail.
                let _ = if v <= 0xff {
                    write!(out, "\\x{v:02X}")
                } else if v <= 0xffff {
                    write!(out, "\\u{v:04X}")
                } else {
                    write!(out, "\\U{v:08X}")
                };
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A scalar's text: either inline (the value itself, or a quoted copy that
/// is wiped), or a block header plus content lines.
enum Scalar<'a> {
    Text(&'a str),
    Owned(Zeroizing<String>),
    Block { header: String, body: &'a str },
}

fn string_scalar(bytes: &[u8], simple_key: bool) -> Scalar<'_> {
    let Ok(s) = std::str::from_utf8(bytes) else {
        // go-yaml writes non-UTF-8 strings as !!binary.
        let prefix = "!!binary ";
        let mut out = Zeroizing::new(String::with_capacity(
            prefix.len() + bytes.len().div_ceil(3) * 4,
        ));
        out.push_str(prefix);
        base64::engine::general_purpose::STANDARD.encode_string(bytes, &mut out);
        return Scalar::Owned(out);
    };
    match choose_style(s, simple_key) {
        Style::Plain => Scalar::Text(s),
        Style::Single => {
            let mut out = Zeroizing::new(String::with_capacity(s.len() * 2 + 2));
            out.push('\'');
            for c in s.chars() {
                if c == '\'' {
                    out.push('\'');
                }
                out.push(c);
            }
            out.push('\'');
            Scalar::Owned(out)
        }
        Style::Double => Scalar::Owned(double_quoted(s)),
        Style::Literal => {
            let mut header = String::from("|");
            if s.starts_with(' ') || s.starts_with(is_break) {
                header.push_str(&INDENT.to_string());
            }
            let trailing = s.chars().rev().take_while(|&c| is_break(c)).count();
            if trailing == 0 {
                header.push('-');
            } else if trailing > 1 || s.chars().count() == 1 {
                header.push('+');
            }
            Scalar::Block { header, body: s }
        }
    }
}

fn value_scalar(v: &Value) -> Scalar<'_> {
    match v {
        Value::Str(s) => string_scalar(s.expose_secret(), false),
        Value::Int(i) => Scalar::Owned(Zeroizing::new(i.to_string())),
        Value::Float(f) => Scalar::Owned(Zeroizing::new(yaml_format_float(*f))),
        Value::Bool(b) => Scalar::Text(if *b { "true" } else { "false" }),
        Value::Time(t) => Scalar::Text(t.as_str()),
        Value::Null => Scalar::Text("null"),
        Value::Branch(_) => Scalar::Text("{}"),
        Value::List(_) => Scalar::Text("[]"),
    }
}

/// The column of a collection nested under a mapping key at `col`
/// (go-yaml `yaml_emitter_increase_indent`: the next multiple of the indent).
fn nested_col(col: usize) -> usize {
    INDENT * ((col + INDENT) / INDENT)
}

struct Writer {
    out: WipingString,
}

impl Writer {
    fn pad(&mut self, col: usize) {
        self.out.push_repeated(b' ', col);
    }

    fn comment(&mut self, col: usize, text: &SecretBytes) {
        self.pad(col);
        self.out.push('#');
        match std::str::from_utf8(text.expose_secret()) {
            Ok(text) => self.out.push_str(text),
            Err(_) => self.out.push_str(&Zeroizing::new(
                String::from_utf8_lossy(text.expose_secret()).into_owned(),
            )),
        }
        self.out.push('\n');
    }

    /// Writes a scalar after `key:` or `- `; `content_col` is where a block
    /// scalar's lines go.
    fn scalar(&mut self, s: Scalar, content_col: usize) {
        match s {
            Scalar::Text(t) => {
                self.out.push_str(t);
                self.out.push('\n');
            }
            Scalar::Owned(t) => {
                self.out.push_str(&t);
                self.out.push('\n');
            }
            Scalar::Block { header, body } => {
                self.out.push_str(&header);
                let mut at_line_start = true;
                self.out.push('\n');
                for c in body.chars() {
                    if is_break(c) {
                        self.out.push('\n');
                        at_line_start = true;
                    } else {
                        if at_line_start {
                            self.pad(content_col);
                            at_line_start = false;
                        }
                        self.out.push(c);
                    }
                }
                if !at_line_start {
                    self.out.push('\n');
                }
            }
        }
    }

    fn is_empty_collection(v: &Value) -> bool {
        match v {
            Value::Branch(b) => !b.items.iter().any(|i| matches!(i, Item::Entry { .. })),
            Value::List(l) => !l.iter().any(|e| matches!(e, ListElement::Value(_))),
            _ => false,
        }
    }

    /// A block mapping whose keys sit at `col`. With `inline_first`, the first
    /// key continues the current line (after `- `).
    fn mapping(&mut self, b: &Branch, col: usize, inline_first: bool) {
        let mut first = true;
        for item in &b.items {
            match item {
                Item::Comment(c) => self.comment(col, c),
                Item::Entry { key, value } => {
                    if !(first && inline_first) {
                        self.pad(col);
                    }
                    first = false;
                    // go-yaml `yaml_emitter_check_simple_key`: a key longer
                    // than 128 bytes, or with a line break, is written in the
                    // explicit `? key` / `: value` form.
                    if key.len() > 128 || key.contains(is_break) {
                        self.out.push_str("? ");
                        self.scalar(string_scalar(key.as_bytes(), false), nested_col(col));
                        self.pad(col);
                    } else {
                        match string_scalar(key.as_bytes(), true) {
                            Scalar::Text(k) => self.out.push_str(k),
                            Scalar::Owned(k) => self.out.push_str(&k),
                            Scalar::Block { body, .. } => self.out.push_str(&double_quoted(body)),
                        }
                    }
                    self.out.push(':');
                    self.entry_value(value, col);
                }
            }
        }
    }

    fn entry_value(&mut self, value: &Value, col: usize) {
        let child = nested_col(col);
        match value {
            Value::Branch(b) if !Self::is_empty_collection(value) => {
                self.out.push('\n');
                self.mapping(b, child, false);
            }
            Value::List(l) if !Self::is_empty_collection(value) => {
                self.out.push('\n');
                self.sequence(l, child, false);
            }
            _ => {
                self.out.push(' ');
                self.scalar(value_scalar(value), child);
            }
        }
    }

    /// A block sequence with its dashes at `col`.
    fn sequence(&mut self, l: &[ListElement], col: usize, inline_first: bool) {
        let mut first = true;
        // sops makes comments after the last item that item's foot comment
        // (stores/yaml appendSequence); go-yaml writes the foot comment of a
        // collection item at that collection's indentation, two columns in.
        let last_value = l.iter().rposition(|e| matches!(e, ListElement::Value(_)));
        let foot_col = match last_value.and_then(|i| l.get(i)) {
            Some(ListElement::Value(v @ (Value::Branch(_) | Value::List(_))))
                if !Self::is_empty_collection(v) =>
            {
                col + 2
            }
            _ => col,
        };
        for (i, e) in l.iter().enumerate() {
            match e {
                ListElement::Comment(c) if last_value.is_some_and(|last| i > last) => {
                    self.comment(foot_col, c)
                }
                ListElement::Comment(c) => self.comment(col, c),
                ListElement::Value(v) => {
                    // Head comments of a mapping item go before its dash.
                    let v = match v {
                        Value::Branch(b) if !Self::is_empty_collection(v) => {
                            let lead = b
                                .items
                                .iter()
                                .take_while(|i| matches!(i, Item::Comment(_)))
                                .count();
                            for i in &b.items[..lead] {
                                if let Item::Comment(c) = i {
                                    self.comment(col, c);
                                }
                            }
                            Some(Branch {
                                items: b.items[lead..].to_vec(),
                            })
                        }
                        _ => None,
                    };
                    if !(first && inline_first) {
                        self.pad(col);
                    }
                    first = false;
                    self.out.push_str("- ");
                    let inner = col + 2;
                    match (v, e) {
                        (Some(b), _) => self.mapping(&b, inner, true),
                        (None, ListElement::Value(v @ Value::List(l)))
                            if !Self::is_empty_collection(v) =>
                        {
                            self.sequence(l, inner, true)
                        }
                        (None, ListElement::Value(v)) => self.scalar(value_scalar(v), inner),
                        (None, ListElement::Comment(_)) => {}
                    }
                }
            }
        }
    }
}

/// Writes every branch as one document, separated by `---`.
pub(in crate::sops::stores) fn emit(branches: &[Branch]) -> Result<Vec<u8>, Error> {
    let mut w = Writer {
        out: WipingString::with_capacity(capacity_for(branches)),
    };
    for (i, b) in branches.iter().enumerate() {
        if i > 0 {
            w.out.push_str("---\n");
        }
        if b.items.iter().any(|i| matches!(i, Item::Entry { .. })) {
            w.mapping(b, 0, false);
        } else {
            for item in &b.items {
                if let Item::Comment(c) = item {
                    w.comment(0, c);
                }
            }
            w.out.push_str("{}\n");
        }
    }
    Ok(w.out.into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round(input: &str) -> String {
        String::from_utf8(emit(&parse(input.as_bytes()).unwrap()).unwrap()).unwrap()
    }

    #[test]
    fn nested_layout_round_trips() {
        let input = "# top\napp:\n    name: demo\n    # inside\n    tags:\n        - a\n        # in list\n        - 7\n    servers:\n        - host: db1\n          port: 5432\n    matrix:\n        - - 1\n          - 2\n        - - 3\n    empty: \"\"\n    nothing: null\ndescription: |\n    multi\n    line\n";
        assert_eq!(round(input), input);
    }

    #[test]
    fn go_yaml_quoting() {
        let b = |s: &str| match string_scalar(s.as_bytes(), false) {
            Scalar::Text(t) => t.to_string(),
            Scalar::Owned(t) => t.to_string(),
            Scalar::Block { header, .. } => header,
        };
        assert_eq!(b("123"), "\"123\"");
        assert_eq!(b("yes"), "\"yes\"");
        assert_eq!(b(""), "\"\"");
        assert_eq!(b("2026-11-26T13:24:10Z"), "\"2026-11-26T13:24:10Z\"");
        assert_eq!(b("3.11.0"), "3.11.0");
        assert_eq!(b("^(data|stringData)$"), "^(data|stringData)$");
        assert_eq!(b("a: b"), "'a: b'");
        assert_eq!(b(" lead"), "' lead'");
        assert_eq!(b("tab\there"), "\"tab\\there\"");
        assert_eq!(b("x\n"), "|");
        assert_eq!(b("x"), "x");
        assert_eq!(b("x\ny"), "|-");
        assert_eq!(b("x\n\n"), "|+");
        assert_eq!(b("1:20"), "\"1:20\"");
        assert_eq!(b("null"), "\"null\"");
        assert_eq!(b("- x"), "'- x'");
        assert_eq!(b("#c"), "'#c'");
    }

    #[test]
    fn scalars_resolve_like_go_yaml() {
        let v = parse(b"a: 0x1F\nb: 017\nc: 1_000\nd: yes\ne: 1.0\nf: 2024-01-02\ng: '5'\nh: ~\ni: .inf\nj: 08\n").unwrap();
        let b = &v[0];
        assert!(matches!(b.get("a"), Some(Value::Int(31))));
        assert!(matches!(b.get("b"), Some(Value::Int(15))));
        assert!(matches!(b.get("c"), Some(Value::Int(1000))));
        assert!(matches!(b.get("d"), Some(Value::Str(_))));
        assert!(matches!(b.get("e"), Some(Value::Float(f)) if *f == 1.0));
        assert!(matches!(b.get("f"), Some(Value::Time(_))));
        assert!(matches!(b.get("g"), Some(Value::Str(_))));
        assert!(matches!(b.get("h"), Some(Value::Null)));
        assert!(matches!(b.get("i"), Some(Value::Float(f)) if f.is_infinite()));
        assert!(matches!(b.get("j"), Some(Value::Float(f)) if *f == 8.0));
        assert!(matches!(
            parse(b"a: 18446744073709551615\n"),
            Err(Error::UnsupportedValue { .. })
        ));
    }

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
    fn inline_comments_move_above_their_item_and_multi_docs_split() {
        let out = round("a: 1 # note\nb:\n    c: 2\n    # foot\n---\nd: x\n");
        assert_eq!(out, "# note\na: 1\nb:\n    c: 2\n    # foot\n---\nd: x\n");
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
