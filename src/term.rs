//! Text for a person's terminal: control characters from logs, dumps and folder names shown,
//! never obeyed.
//!
//! A folder named `WEB\e[31mX\e]0;T\a` or a URL with raw ESC bytes would otherwise recolour the
//! terminal, retitle its window or worse. Every C0 and C1 control character and DEL becomes a
//! visible escape (`\x1b`, `\u{9b}`); the rest of the text is unchanged.

use std::borrow::Cow;
use std::fmt::Write as _;

/// `s` with its control characters escaped; borrowed when there are none.
pub fn safe(s: &str) -> Cow<'_, str> {
    if !s.chars().any(is_control) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if is_control(c) {
            let n = c as u32;
            if n < 0x80 {
                let _ = write!(out, "\\x{n:02x}");
            } else {
                let _ = write!(out, "\\u{{{n:x}}}");
            }
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// [`safe`] of a path as displayed.
pub fn path(p: &std::path::Path) -> String {
    safe(&p.display().to_string()).into_owned()
}

fn is_control(c: char) -> bool {
    c.is_control()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_are_shown_not_obeyed() {
        assert_eq!(
            safe("WEB\u{1b}[31mX\u{1b}]0;T\u{7}"),
            "WEB\\x1b[31mX\\x1b]0;T\\x07"
        );
        assert_eq!(safe("a\nb\tc\u{9b}d\u{7f}"), "a\\x0ab\\x09c\\u{9b}d\\x7f");
        assert!(matches!(safe("plain · text"), Cow::Borrowed(_)));
    }
}
