//! Writing: branches laid out as go-yaml v3's emitter does with
//! `SetIndent(4)`, the way sops 3.11 writes YAML. A nested collection goes
//! to the next multiple of 4 above its parent's column, content inside a
//! `- ` item starts two columns after the dash, comments sit where sops'
//! head and foot comments come out, and nothing is wrapped.
//!
//! The text of each scalar is `scalar_style.rs`. The output buffer wipes
//! itself (`WipingString`): when a file is opened, it holds the plaintext.

use zeroize::Zeroizing;

use super::scalar_style::{Scalar, double_quoted, is_break, string_scalar, value_scalar};
use crate::secret::SecretBytes;
use crate::sops::Error;
use crate::sops::stores::wiping::{WipingString, capacity_for};
use crate::sops::tree::{Branch, Item, ListElement, Value};

struct Writer {
    out: WipingString,
    /// The emitter's indent (`SetIndent`): 4 unless `.sops.yaml` says.
    step: usize,
}

impl Writer {
    /// The column of a collection nested under a mapping key at `col`
    /// (go-yaml `yaml_emitter_increase_indent`: the next multiple of the
    /// indent).
    fn nested_col(&self, col: usize) -> usize {
        self.step * ((col + self.step) / self.step)
    }

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
                    if c == '\n' {
                        self.out.push('\n');
                        at_line_start = true;
                    } else if is_break(c) {
                        // go-yaml `write_break`: another break (U+2028,
                        // U+2029) is copied as it is, and the next line is
                        // then padded without a `\n` before it.
                        self.out.push(c);
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
                        let child = self.nested_col(col);
                        self.scalar(
                            string_scalar(key.as_bytes(), false, child, self.step),
                            child,
                        );
                        self.pad(col);
                    } else if key == "<<" {
                        // sops writes the key `<<` as go-yaml re-encodes a
                        // merge key; an ordinary key that happens to be
                        // `<<` stays quoted, so that no YAML reader (sops
                        // included) takes it for a merge.
                        self.out.push_str(if b.literal_merge_key {
                            "\"<<\""
                        } else {
                            "!!merge <<"
                        });
                    } else {
                        match string_scalar(key.as_bytes(), true, col, self.step) {
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
        let child = self.nested_col(col);
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
                self.scalar(value_scalar(value, child, self.step), child);
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
                    let inline = first && inline_first;
                    first = false;
                    // The comments a nested collection starts with are its
                    // node's head comment (sops: appendSequence and
                    // appendTreeBranch), which go-yaml writes before the
                    // item's dash: on lines of their own at the dash's
                    // column, or, for an item that continues the line of a
                    // parent's `- `, right there, the dash then starting the
                    // next line.
                    let mut wrote_head = false;
                    let v = match v {
                        Value::Branch(b) => {
                            let lead = b
                                .items
                                .iter()
                                .take_while(|i| matches!(i, Item::Comment(_)))
                                .count();
                            let (head, rest) = b.items.split_at(lead.min(b.items.len()));
                            wrote_head = self.head_comments(
                                head.iter().filter_map(|i| match i {
                                    Item::Comment(c) => Some(c),
                                    Item::Entry { .. } => None,
                                }),
                                col,
                                inline,
                            );
                            Rest::Branch(Branch {
                                items: rest.to_vec(),
                                literal_merge_key: b.literal_merge_key,
                            })
                        }
                        Value::List(l) => {
                            let lead = l
                                .iter()
                                .take_while(|e| matches!(e, ListElement::Comment(_)))
                                .count();
                            let (head, rest) = l.split_at(lead.min(l.len()));
                            wrote_head = self.head_comments(
                                head.iter().filter_map(|e| match e {
                                    ListElement::Comment(c) => Some(c),
                                    ListElement::Value(_) => None,
                                }),
                                col,
                                inline,
                            );
                            Rest::List(rest)
                        }
                        other => Rest::Scalar(other),
                    };
                    if !inline || wrote_head {
                        self.pad(col);
                    }
                    self.out.push_str("- ");
                    let inner = col + 2;
                    match v {
                        Rest::Branch(b)
                            if b.items.iter().any(|i| matches!(i, Item::Entry { .. })) =>
                        {
                            self.mapping(&b, inner, true)
                        }
                        Rest::Branch(_) => self.out.push_str("{}\n"),
                        Rest::List(l) if l.iter().any(|e| matches!(e, ListElement::Value(_))) => {
                            self.sequence(l, inner, true)
                        }
                        Rest::List(_) => self.out.push_str("[]\n"),
                        Rest::Scalar(v) => self.scalar(value_scalar(v, inner, self.step), inner),
                    }
                }
            }
        }
    }

    /// Head comments of a sequence item, before its dash: at `col` on
    /// lines of their own, the first one on the current line when `inline`.
    /// Whether there were any.
    fn head_comments<'a>(
        &mut self,
        comments: impl Iterator<Item = &'a SecretBytes>,
        col: usize,
        inline: bool,
    ) -> bool {
        let mut any = false;
        for c in comments {
            self.comment(if inline && !any { 0 } else { col }, c);
            any = true;
        }
        any
    }
}

/// A sequence item once its head comments are written.
enum Rest<'a> {
    Branch(Branch),
    List(&'a [ListElement]),
    Scalar(&'a Value),
}

/// Writes every branch as one document, separated by `---`, with the
/// emitter's indent `step` (sops: `stores: yaml: indent:`, 4 by default).
pub(in crate::sops::stores) fn emit(branches: &[Branch], step: usize) -> Result<Vec<u8>, Error> {
    let mut w = Writer {
        out: WipingString::with_capacity(capacity_for(branches)),
        step: step.max(1),
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
    use super::super::round;

    #[test]
    fn nested_layout_round_trips() {
        let input = "# top\napp:\n    name: demo\n    # inside\n    tags:\n        - a\n        # in list\n        - 7\n    servers:\n        - host: db1\n          port: 5432\n    matrix:\n        - - 1\n          - 2\n        - - 3\n    empty: \"\"\n    nothing: null\ndescription: |\n    multi\n    line\n";
        assert_eq!(round(input), input);
    }
}
