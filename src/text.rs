//! Characters that must not reach a reader unescaped.
//!
//! Text that witnesses read off a screen (a version's note beside its
//! SHA-256, a file name in a report) must look like what it is. Control
//! characters (Unicode Cc) move the cursor or ring; format characters (Cf:
//! bidi overrides such as U+202E, zero-width spaces and joiners, the BOM)
//! reorder or hide what follows; line and paragraph separators break a line
//! where no newline is seen. This module names them once, for the checks
//! that refuse them and the renderers that escape them.

/// Whether `c` changes how the text around it reads without being seen:
/// a control character, a Unicode format character (Cf), or a line or
/// paragraph separator.
pub fn is_hidden(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{00AD}'
                | '\u{0600}'..='\u{0605}'
                | '\u{061C}'
                | '\u{06DD}'
                | '\u{070F}'
                | '\u{0890}'..='\u{0891}'
                | '\u{08E2}'
                | '\u{180E}'
                | '\u{200B}'..='\u{200F}'
                | '\u{2028}'..='\u{202E}'
                | '\u{2060}'..='\u{2064}'
                | '\u{2066}'..='\u{206F}'
                | '\u{FEFF}'
                | '\u{FFF9}'..='\u{FFFB}'
                | '\u{110BD}'
                | '\u{110CD}'
                | '\u{13430}'..='\u{1343F}'
                | '\u{1BCA0}'..='\u{1BCA3}'
                | '\u{1D173}'..='\u{1D17A}'
                | '\u{E0001}'
                | '\u{E0020}'..='\u{E007F}'
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_bidi_overrides_and_zero_widths_are_hidden_letters_are_not() {
        for c in [
            '\n', '\u{1b}', '\u{202E}', '\u{200B}', '\u{2066}', '\u{FEFF}', '\u{2028}',
        ] {
            assert!(is_hidden(c), "{:?}", c);
        }
        for c in ['a', 'é', 'ß', '中', ' ', '-', '✓'] {
            assert!(!is_hidden(c), "{c:?}");
        }
    }
}
