//! The review as a receipt, laid out for a terminal of a given size: a fixed header (the step,
//! the sentence of what moves, the worst-case fee), a body that scrolls (the decoded call, then
//! the warnings) and a footer with the keys that is always visible. Pure and shared: `update`
//! bounds the scroll with it and `ui` draws exactly these rows, so the two cannot disagree about
//! how far the body scrolls.
use crate::chain::send::Review;
use crate::sanitize::clean_line;

use super::{SendFlow, SendStep, Steps};

/// The label column of the body is as wide as its widest label within these bounds (a longer
/// argument name is cut), with a gap after it.
const LABEL_MIN: usize = 10;
const LABEL_MAX: usize = 16;
const GAP: usize = 2;

/// Rows the app's frame takes around a screen's body (the tab line and the status line), and a
/// block's border (top and bottom).
pub const FRAME_ROWS: u16 = 2;
pub const BORDER: u16 = 2;

/// A row of the scrolling body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BodyRow {
    /// A label (empty on a value's continuation rows) and its value's text on this row.
    Field {
        label: String,
        text: String,
    },
    Warning {
        loud: bool,
        text: String,
    },
    Blank,
}

/// The review's rows for a block `width` columns wide inside its border.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReviewRows {
    /// "Step 1 of 2", the sentence and the fee, wrapped.
    pub header: Vec<String>,
    pub body: Vec<BodyRow>,
    /// The label column's width.
    pub label_w: usize,
}

/// `text` wrapped to `width` columns (at least 1), cleaned of control characters first.
pub fn wrap(text: &str, width: usize) -> Vec<String> {
    let text = clean_line(text);
    textwrap::wrap(&text, width.max(1))
        .into_iter()
        .map(|l| l.into_owned())
        .collect()
}

/// The step line: "Step 1 of 2: " before the sentence of a review that is one of several.
pub fn step_prefix(steps: Option<&Steps>) -> String {
    match steps {
        Some(st) if st.of > 1 => format!("Step {} of {}: ", st.at, st.of),
        _ => String::new(),
    }
}

pub fn rows(review: &Review, steps: Option<&Steps>, width: u16) -> ReviewRows {
    let width = usize::from(width).max(20);
    let mut header = wrap(
        &format!("{}{}", step_prefix(steps), review.intent.sentence()),
        width,
    );
    header.extend(wrap(&review.fee_sentence(), width));
    let lines = review.lines();
    let label_w = lines
        .iter()
        .map(|(l, _)| l.chars().count())
        .max()
        .unwrap_or(0)
        .clamp(LABEL_MIN, LABEL_MAX);
    let value_w = width.saturating_sub(label_w + GAP).max(8);
    let mut body = Vec::new();
    for (label, value) in lines {
        for (i, text) in wrap(&value, value_w).into_iter().enumerate() {
            body.push(BodyRow::Field {
                label: if i == 0 {
                    crate::market::receipt::cut(&label, label_w)
                } else {
                    String::new()
                },
                text,
            });
        }
    }
    if !review.warnings.is_empty() {
        body.push(BodyRow::Blank);
    }
    for w in &review.warnings {
        for text in wrap(&format!("⚠ {}", review.warning(w)), width) {
            body.push(BodyRow::Warning {
                loud: w.is_loud(),
                text,
            });
        }
    }
    ReviewRows {
        header,
        body,
        label_w,
    }
}

/// How many rows the footer takes: the key line, or for a loud warning the request for the
/// address's characters (wrapped), its input and the way back; and an error line under either.
pub fn footer_rows(review: &Review, error: bool, width: u16) -> usize {
    let keys = if review.has_loud_warning() {
        wrap(&challenge_prompt(review), usize::from(width)).len() + 2
    } else {
        1
    };
    keys + usize::from(error)
}

pub fn challenge_prompt(review: &Review) -> String {
    format!(
        "To sign and send, type the 4 characters that come after {} in the recipient's address and press Enter:",
        review.challenge().after
    )
}

/// The body's rows that fit in a terminal of `size` (columns, rows) under the header and above
/// the footer (one blank row separates each).
pub fn body_height(size: (u16, u16), header: usize, footer: usize) -> usize {
    let inner = usize::from(size.1.saturating_sub(FRAME_ROWS + BORDER));
    inner.saturating_sub(header + 1 + footer + 1).max(1)
}

/// The block's inner width in a terminal `cols` wide.
pub fn inner_width(cols: u16) -> u16 {
    cols.saturating_sub(BORDER)
}

/// The body's length and the rows it has on the screen, for a review in a terminal of `size`.
fn measure(flow: &SendFlow, size: (u16, u16)) -> (usize, usize) {
    let SendStep::Review { review, error, .. } = &flow.step else {
        return (0, 1);
    };
    let width = inner_width(size.0);
    let r = rows(review, flow.steps.as_ref(), width);
    let height = body_height(
        size,
        r.header.len(),
        footer_rows(review, error.is_some(), width),
    );
    (r.body.len(), height)
}

/// The furthest the review's body scrolls in a terminal of `size`: its last row at the bottom.
pub fn max_scroll(flow: &SendFlow, size: (u16, u16)) -> usize {
    let (len, height) = measure(flow, size);
    len.saturating_sub(height)
}

/// What PgUp/PgDn move: the rows on the screen, less one kept for context.
pub fn page(flow: &SendFlow, size: (u16, u16)) -> usize {
    measure(flow, size).1.saturating_sub(1).max(1)
}
