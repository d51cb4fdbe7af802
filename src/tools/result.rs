//! How a tool's result is put together, beyond the summary each tool writes.
//!
//! - [`links`]: the one place that finds the links and ids an agent needs next (`approvalUrl`,
//!   `checkoutUrl`, `verification_uri`, a job's URL, an approval id, `nextCursor`, …) wherever an
//!   answer puts them, and says what an answer contains when the expected field is missing.
//! - [`format`]: the result format, applied once to every finished result in the server's
//!   dispatch: `text` (the default: the summary, then the API's answer as compact JSON marked as
//!   data, cut to fit) or `structured` (the summary, and the answer as `structuredContent`).
//! - Notes added to a finished result (arguments that were ignored, a second call that failed).

pub mod format;
pub mod links;

use rmcp::model::{CallToolResult, ContentBlock};

/// Adds a paragraph at the end of a result's text (success or error alike).
pub fn append_text(result: &mut CallToolResult, extra: &str) {
    let mut text: Vec<String> = result
        .content
        .iter()
        .filter_map(|c| c.as_text().map(|t| t.text.clone()))
        .collect();
    text.push(extra.to_owned());
    result.content = vec![ContentBlock::text(text.join("\n"))];
}

/// Adds a note on arguments that were given but not sent, naming each one and why; nothing when
/// `ignored` is empty.
pub fn note_ignored(result: &mut CallToolResult, ignored: &[(&str, &str)]) {
    if ignored.is_empty() {
        return;
    }
    let parts: Vec<String> = ignored
        .iter()
        .map(|(name, why)| format!("{name} ({why})"))
        .collect();
    append_text(
        result,
        &format!("Ignored and not sent: {}.", parts.join("; ")),
    );
}
