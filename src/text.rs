//! Text helpers with no dependencies inside the crate: cutting strings at a character boundary,
//! reducing HTML to one plain line, and recognising markup. Both the API layer (error bodies)
//! and the configuration (base URLs in messages) use them, so they live in this leaf module.

/// HTML elements whose tags mark a string as markup.
const HTML_ELEMENTS: [&str; 31] = [
    "a", "b", "body", "br", "center", "div", "em", "font", "form", "h1", "h2", "h3", "h4", "head",
    "hr", "html", "i", "iframe", "img", "input", "li", "link", "meta", "p", "pre", "script",
    "span", "strong", "style", "table", "title",
];

/// Whether a string carries HTML markup: a closing tag (`</x`), a comment or doctype (`<!`), a
/// processing instruction (`<?`), or the opening tag of a common element (`<div`, `<br/>`).
/// Placeholders such as `<JOB_ID>` in an otherwise plain message are not markup.
pub fn looks_like_html(s: &str) -> bool {
    s.match_indices('<').any(|(at, _)| {
        let after = &s[at + 1..];
        let mut chars = after.chars();
        match chars.next() {
            Some('!' | '?') => true,
            Some('/') => chars.next().is_some_and(|c| c.is_ascii_alphabetic()),
            Some(c) if c.is_ascii_alphabetic() => {
                let name_len = after
                    .find(|c: char| !c.is_ascii_alphanumeric())
                    .unwrap_or(after.len());
                let name = &after[..name_len];
                HTML_ELEMENTS.iter().any(|e| e.eq_ignore_ascii_case(name))
            }
            _ => false,
        }
    })
}

/// `text` as one plain line: HTML tags dropped (a `<` starts a tag only when a letter, `/`, `!`
/// or `?` follows it, so `a < b` survives), the contents of `<script>` and `<style>` dropped,
/// control characters and runs of whitespace collapsed to one space, and cut to `max`
/// characters with `…` marking the cut. It scans lazily and stops once it has enough, so a
/// megabyte-sized page costs no more memory than the excerpt.
pub fn plain_text(text: &str, max: usize) -> String {
    let mut out = String::new();
    let mut count = 0;
    let mut pending_space = false;
    let mut in_tag = false;
    let mut in_skipped = false; // inside <script> or <style>
    for (at, c) in text.char_indices() {
        if in_tag {
            if c == '>' {
                in_tag = false;
                pending_space = true;
            }
            continue;
        }
        if c == '<' && starts_tag(&text[at + 1..]) {
            let rest = &text.as_bytes()[at..];
            if starts_with_ignore_case(rest, b"<script") || starts_with_ignore_case(rest, b"<style")
            {
                in_skipped = true;
            } else if starts_with_ignore_case(rest, b"</script")
                || starts_with_ignore_case(rest, b"</style")
            {
                in_skipped = false;
            }
            in_tag = true;
            continue;
        }
        if in_skipped {
            continue;
        }
        if c.is_whitespace() || c.is_control() {
            pending_space = true;
            continue;
        }
        if pending_space && count > 0 {
            out.push(' ');
            count += 1;
        }
        pending_space = false;
        if count >= max {
            // There is more to show than fits.
            let cut: String = out.chars().take(max).collect();
            return format!("{}…", cut.trim_end());
        }
        out.push(c);
        count += 1;
    }
    out
}

/// Whether the text after a `<` makes it the start of a tag, comment or declaration.
fn starts_tag(after: &str) -> bool {
    after
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || matches!(c, '/' | '!' | '?'))
}

fn starts_with_ignore_case(text: &[u8], prefix: &[u8]) -> bool {
    text.len() >= prefix.len() && text[..prefix.len()].eq_ignore_ascii_case(prefix)
}

/// Cuts `text` to at most `max` characters, marking the cut with `…`.
pub fn truncate_chars(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        None => text.to_owned(),
        Some((at, _)) => format!("{}…", &text[..at]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cuts_at_characters() {
        assert_eq!(truncate_chars("héllo", 2), "hé…");
        assert_eq!(truncate_chars("hé", 2), "hé");
        assert_eq!(plain_text("<p>a</p>\n<b>b</b>", 10), "a b");
    }
}
