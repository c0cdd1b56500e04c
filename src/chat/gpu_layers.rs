//! The one reading of a GPU-layers value, for `--gpu-layers` on the command line and the
//! `model.gpu_layers` setting in the app: `auto`, `all` or a number of layers. Anything else is
//! an error, never quietly `auto`.
use std::fmt;
use std::str::FromStr;

use super::GpuLayers;

impl FromStr for GpuLayers {
    type Err = String;

    fn from_str(s: &str) -> Result<GpuLayers, String> {
        let s = s.trim();
        if s.eq_ignore_ascii_case("auto") {
            return Ok(GpuLayers::Auto);
        }
        if s.eq_ignore_ascii_case("all") {
            return Ok(GpuLayers::All);
        }
        s.parse::<u32>().map(GpuLayers::Count).map_err(|_| {
            format!(
                "expected a number of layers, `all` or `auto`, got {:?}",
                crate::sanitize::clean_line(s)
            )
        })
    }
}

/// The text [`FromStr`] reads back.
impl fmt::Display for GpuLayers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GpuLayers::Auto => f.write_str("auto"),
            GpuLayers::All => f.write_str("all"),
            GpuLayers::Count(n) => write!(f, "{n}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_auto_all_and_numbers_and_refuses_the_rest() {
        assert_eq!("auto".parse(), Ok(GpuLayers::Auto));
        assert_eq!("ALL".parse(), Ok(GpuLayers::All));
        assert_eq!(" 12 ".parse(), Ok(GpuLayers::Count(12)));
        assert_eq!("0".parse(), Ok(GpuLayers::Count(0)));
        for bad in ["", "-1", "twelve", "1.5", "99999999999"] {
            assert!(bad.parse::<GpuLayers>().is_err(), "{bad:?}");
        }
        for g in [GpuLayers::Auto, GpuLayers::All, GpuLayers::Count(7)] {
            assert_eq!(g.to_string().parse(), Ok(g));
        }
    }
}
