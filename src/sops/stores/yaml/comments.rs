//! Comments, which `saphyr-parser` does not report: the source scan that
//! finds them, and the two queries through which the reader places them the
//! way sops 3.11 places go-yaml v3's head, line and foot comments (see the
//! module doc in `mod.rs` and `docs/decisions/yaml-parser.md`).
//!
//! The scan needs every scalar's span from the parser, so that a `#` inside
//! a value is never taken for a comment. Which column bound applies where
//! (the innermost open collection, a mapping item's foot) is decided by the
//! reader as it walks the events; this file only hands each comment out
//! once, in the order those bounds allow.

use zeroize::Zeroizing;

use crate::secret::SecretBytes;

/// One comment as the scan found it. Comments are secret in sops (they are
/// encrypted like values), so there is no `Debug` that could print one.
#[derive(Clone)]
struct Comment {
    /// Char index of its `#` in the source.
    index: usize,
    /// 1-based, as the parser counts lines.
    line: usize,
    /// 0-based char column of the `#`.
    col: usize,
    /// Nothing but whitespace before it on its line.
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
    while let Some(&c) = chars.get(i) {
        // A line ends at LF, CRLF or a CR alone, as YAML (and go-yaml, and
        // the parser's line numbers) has it.
        if c == '\n' || c == '\r' {
            if c == '\n' || chars.get(i + 1) != Some(&'\n') {
                line += 1;
            }
            col = 0;
            own_line = true;
            i += 1;
            continue;
        }
        let after_space =
            i == 0 || matches!(chars.get(i.wrapping_sub(1)), Some(' ' | '\t' | '\n' | '\r'));
        if c == '#' && after_space && !in_scalar.get(i).copied().unwrap_or(false) {
            let start = i;
            let end = chars
                .iter()
                .skip(i + 1)
                .position(|&c| c == '\n' || c == '\r')
                .map_or(chars.len(), |p| i + 1 + p);
            // The text without trailing CRs, built once at its final size.
            let mut body = chars.get(start + 1..end).unwrap_or_default();
            while let Some(rest) = body.strip_suffix(&['\r']) {
                body = rest;
            }
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
        if !matches!(c, ' ' | '\t') {
            own_line = false;
        }
        col += 1;
        i += 1;
    }
    out
}

/// The comments of one source, in source order, each handed out once.
pub(super) struct Comments {
    found: Vec<Comment>,
    /// The first comment not yet handed out in order; inline comments
    /// after it may already be taken (see `inline_on`).
    next: usize,
    taken: Vec<bool>,
}

impl Comments {
    /// Scans `chars` (the whole source, one char per element so that the
    /// parser's char-indexed spans index it) for comments outside
    /// `scalar_spans`.
    pub(super) fn scan(chars: &[char], scalar_spans: &[(usize, usize)]) -> Self {
        let found = find_comments(chars, scalar_spans);
        let taken = vec![false; found.len()];
        Self {
            found,
            next: 0,
            taken,
        }
    }

    /// Own-line comments before `index` whose column is at least `min_col`,
    /// in order. Stops at the first one that is further left: it belongs to
    /// an enclosing collection.
    pub(super) fn own_line_before(&mut self, index: usize, min_col: usize) -> Vec<SecretBytes> {
        self.before(index, min_col, false)
    }

    /// As [`Comments::own_line_before`], but stopping at a comment that
    /// follows something on its line to the right of `min_col` (a bare
    /// `- ` at `min_col`, then the comment): go-yaml makes that one the
    /// head comment of the first node inside the item, so the collection
    /// that starts on a later line takes it.
    pub(super) fn own_line_before_a_dash_comment(
        &mut self,
        index: usize,
        min_col: usize,
    ) -> Vec<SecretBytes> {
        self.before(index, min_col, true)
    }

    fn before(&mut self, index: usize, min_col: usize, stop_at_inline: bool) -> Vec<SecretBytes> {
        let mut out = Vec::new();
        while let Some(c) = self.found.get(self.next) {
            if c.index >= index {
                break;
            }
            if self.taken.get(self.next).copied().unwrap_or(true) {
                self.next += 1;
                continue;
            }
            if c.own_line && c.col < min_col || !c.own_line && stop_at_inline && c.col > min_col {
                break;
            }
            out.push(SecretBytes::from_slice(c.text.as_bytes()));
            if let Some(taken) = self.taken.get_mut(self.next) {
                *taken = true;
            }
            self.next += 1;
        }
        out
    }

    /// Inline comments on `line` (taken out of order, before their item).
    /// Found by a binary search for the line: `next` can stay behind an
    /// own-line comment that belongs further out, and scanning from there
    /// for every item would take quadratic time.
    pub(super) fn inline_on(&mut self, line: usize) -> Vec<SecretBytes> {
        let mut out = Vec::new();
        let from = self.next.max(self.found.partition_point(|c| c.line < line));
        for (c, taken) in self.found.iter().zip(self.taken.iter_mut()).skip(from) {
            if c.line > line {
                break;
            }
            if c.line == line && !c.own_line && !*taken {
                out.push(SecretBytes::from_slice(c.text.as_bytes()));
                *taken = true;
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::super::round;
    use super::*;

    /// Every item's comment is found by its line, however far back an
    /// earlier comment left the scan: 20,000 items, each with a comment,
    /// after an own-line comment that belongs to the mapping around them,
    /// all come back in one pass.
    #[test]
    fn many_commented_items_after_an_outer_comment_all_come_back() {
        let n = 20_000;
        let mut input = String::from("a:\n    - x\n# outer\n");
        for i in 0..n {
            input.push_str(&format!("    - # c{i}\n"));
        }
        let out = round(&input);
        assert_eq!(out.matches("# c").count(), n);
        assert!(out.contains("# c0\n") && out.contains(&format!("# c{}\n", n - 1)));
    }

    #[test]
    fn inline_comments_move_above_their_item_and_multi_docs_split() {
        let out = round("a: 1 # note\nb:\n    c: 2\n    # foot\n---\nd: x\n");
        assert_eq!(out, "# note\na: 1\nb:\n    c: 2\n    # foot\n---\nd: x\n");
    }

    /// A CR alone ends a line, as it does for YAML and go-yaml: the comment
    /// stops there, and the next line is the next line.
    #[test]
    fn a_carriage_return_ends_a_line_and_its_comment() {
        let src: Vec<char> = "a: 1\r#c\rb: 2 # d\r\n  # e\r\n".chars().collect();
        let spans = [(0, 1), (3, 4), (8, 9), (11, 12)];
        let found = find_comments(&src, &spans);
        let seen: Vec<(&str, usize, usize, bool)> = found
            .iter()
            .map(|c| (c.text.as_str(), c.line, c.col, c.own_line))
            .collect();
        assert_eq!(
            seen,
            [("c", 2, 0, true), (" d", 3, 5, false), (" e", 4, 2, true)]
        );
        assert_eq!(round("a: 1\r#c\rb: 2\r"), "a: 1\n#c\nb: 2\n");
    }

    #[test]
    fn scan_skips_scalar_spans_and_hashes_inside_words() {
        let src: Vec<char> = "a: 'x # y'\nb: c#d # real\n  # own\n".chars().collect();
        // The char spans saphyr-parser reports for `a`, `'x # y'`, `b`, `c#d`.
        let spans = [(0, 1), (3, 10), (11, 12), (14, 17)];
        let found = find_comments(&src, &spans);
        let seen: Vec<(&str, usize, usize, bool)> = found
            .iter()
            .map(|c| (c.text.as_str(), c.line, c.col, c.own_line))
            .collect();
        assert_eq!(seen, [(" real", 2, 7, false), (" own", 3, 2, true)]);
    }
}
