//! QR codes drawn with text: two module rows per terminal row using half blocks.
//!
//! A terminal cell is about twice as tall as wide, so one cell holds two vertically stacked
//! modules: `█` both light, `▀` top light, `▄` bottom light, space both dark. The glyph is the
//! *light* module, so the code must be drawn with a light foreground on a dark background; the
//! default [`style`] sets both explicitly so the result scans on any theme. Under `NO_COLOR` pass
//! `Style::default()`: on a dark terminal that is the same picture, on a light one it is
//! inverted, which phone scanners (iOS, ZXing-based Android apps) also read.

use qrcode::{EcLevel, QrCode};
use ratatui::style::{Color, Style};
use ratatui::text::{Line, Span};

pub use qrcode::types::QrError;

/// Light modules around the code, on every side. ISO/IEC 18004 asks for 4; fewer makes some
/// scanners fail when the terminal around the code is light or busy.
pub const QUIET_ZONE: usize = 4;

/// Light glyphs on a black background: the colours a scanner expects, whatever the theme.
pub fn style() -> Style {
    Style::default().fg(Color::White).bg(Color::Black)
}

/// The EIP-681 payment URI for an address (`ethereum:0x…`), which wallet apps open directly.
pub fn payment_uri(address: &str) -> String {
    format!("ethereum:{address}")
}

/// Draws `text` as a QR code (error correction M: survives a few smudged cells, stays small:
/// an address is 37 columns by 19 rows with the quiet zone). Every line has the same width,
/// `modules + 2 * QUIET_ZONE` cells. Fails only when the text is too long for any QR version.
pub fn render(text: &str, style: Style) -> Result<Vec<Line<'static>>, QrError> {
    let code = QrCode::with_error_correction_level(text.as_bytes(), EcLevel::M)?;
    let modules = code.width();
    let dark: Vec<bool> = code
        .to_colors()
        .into_iter()
        .map(|c| c == qrcode::Color::Dark)
        .collect();
    let grid = Grid { modules, dark };
    Ok(grid
        .half_block_rows()
        .into_iter()
        .map(|row| Line::from(Span::styled(row, style)))
        .collect())
}

/// The code's modules with the quiet zone added around them.
struct Grid {
    modules: usize,
    /// Row-major, `modules * modules`, true for a dark module.
    dark: Vec<bool>,
}

impl Grid {
    fn side(&self) -> usize {
        self.modules + 2 * QUIET_ZONE
    }

    /// Is the module at (x, y) of the quiet-zoned square light? Outside the code (the quiet
    /// zone, and the half row below an odd-sized square) is light.
    fn light(&self, x: usize, y: usize) -> bool {
        let inside = |v: usize| v >= QUIET_ZONE && v < QUIET_ZONE + self.modules;
        if !inside(x) || !inside(y) {
            return true;
        }
        let index = (y - QUIET_ZONE) * self.modules + (x - QUIET_ZONE);
        !self.dark.get(index).copied().unwrap_or(false)
    }

    fn half_block_rows(&self) -> Vec<String> {
        let side = self.side();
        (0..side.div_ceil(2))
            .map(|row| {
                (0..side)
                    .map(
                        |x| match (self.light(x, 2 * row), self.light(x, 2 * row + 1)) {
                            (true, true) => '█',
                            (true, false) => '▀',
                            (false, true) => '▄',
                            (false, false) => ' ',
                        },
                    )
                    .collect()
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use unicode_width::UnicodeWidthStr;

    const ADDRESS: &str = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed";

    fn text_of(lines: &[Line<'_>]) -> Vec<String> {
        lines
            .iter()
            .map(|l| l.spans.iter().map(|s| s.content.as_ref()).collect())
            .collect()
    }

    /// Reads the module grid back out of the half blocks.
    fn modules_of(rows: &[String]) -> Vec<Vec<bool>> {
        let mut grid = Vec::new();
        for row in rows {
            let (top, bottom): (Vec<bool>, Vec<bool>) = row
                .chars()
                .map(|c| match c {
                    '█' => (true, true),
                    '▀' => (true, false),
                    '▄' => (false, true),
                    ' ' => (false, false),
                    other => panic!("unexpected glyph {other:?}"),
                })
                .unzip();
            grid.push(top);
            grid.push(bottom);
        }
        grid
    }

    #[test]
    fn address_code_has_the_expected_size_and_quiet_zone() {
        let code =
            QrCode::with_error_correction_level(ADDRESS.as_bytes(), EcLevel::M).expect("encodes");
        let modules = code.width();
        assert_eq!(modules, 29, "42 bytes at level M is version 3");
        let lines = render(ADDRESS, style()).expect("renders");
        let side = modules + 2 * QUIET_ZONE;
        assert_eq!(lines.len(), side.div_ceil(2));
        for row in text_of(&lines) {
            assert_eq!(row.width(), side);
            assert_eq!(row.chars().count(), side);
        }
    }

    #[test]
    fn half_blocks_encode_exactly_the_qr_matrix() {
        let code =
            QrCode::with_error_correction_level(ADDRESS.as_bytes(), EcLevel::M).expect("encodes");
        let n = code.width();
        let colors = code.to_colors();
        let grid = modules_of(&text_of(&render(ADDRESS, style()).expect("renders")));
        for (y, row) in grid.iter().enumerate() {
            for (x, &light) in row.iter().enumerate() {
                let in_code = |v: usize| (QUIET_ZONE..QUIET_ZONE + n).contains(&v);
                let expect_light = if in_code(x) && in_code(y) {
                    colors[(y - QUIET_ZONE) * n + (x - QUIET_ZONE)] == qrcode::Color::Light
                } else {
                    true
                };
                assert_eq!(light, expect_light, "module ({x}, {y})");
            }
        }
    }

    #[test]
    fn output_is_deterministic_and_styled() {
        let uri = payment_uri(ADDRESS);
        assert_eq!(uri, format!("ethereum:{ADDRESS}"));
        let a = render(&uri, style()).expect("renders");
        let b = render(&uri, style()).expect("renders");
        assert_eq!(a, b);
        assert!(a.iter().flat_map(|l| &l.spans).all(|s| s.style == style()));
        assert_ne!(a, render(ADDRESS, style()).expect("renders"));
    }

    #[test]
    fn rendered_code_decodes_back_to_the_text() {
        // Scan the picture the terminal would show: light glyph cells white, 4 px per module.
        const SCALE: usize = 4;
        for text in [ADDRESS.to_owned(), payment_uri(ADDRESS)] {
            let grid = modules_of(&text_of(&render(&text, style()).expect("renders")));
            let side = grid[0].len();
            let mut image =
                rqrr::PreparedImage::prepare_from_greyscale(side * SCALE, side * SCALE, |x, y| {
                    if grid[y / SCALE][x / SCALE] { 255 } else { 0 }
                });
            let grids = image.detect_grids();
            assert_eq!(grids.len(), 1, "{text}");
            let (_, decoded) = grids[0].decode().expect("decodes");
            assert_eq!(decoded, text);
        }
    }

    #[test]
    fn too_long_text_is_an_error_not_a_panic() {
        let long = "x".repeat(5000);
        assert_eq!(render(&long, style()), Err(QrError::DataTooLong));
    }
}
