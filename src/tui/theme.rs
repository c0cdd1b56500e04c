//! Colour themes keyed by semantic role, in the manner of helix's `runtime/themes/`.
//!
//! A theme is a TOML file. Top-level keys are role names ([`Role::key`]); each maps to a colour
//! string (the foreground) or to `{ fg = …, bg = …, modifiers = [...] }`. Colours are names from
//! the theme's `[palette]` table, ANSI names (`red`, `light-blue`, `dark-gray`), indexes `0`..`255`
//! or `#rrggbb`. `inherits = "NAME"` takes every role and palette entry of NAME first; the child's
//! roles replace whole entries and its palette entries replace the parent's, so a parent role that
//! names a palette colour picks up the child's value (this is how `light` reuses `dark`'s roles).
//!
//! Built-in themes are compiled in. User themes live in a directory (`<config_dir>/themes`) as
//! `NAME.toml` and win over a built-in of the same name; a user theme that inherits its own name
//! (`dark.toml` with `inherits = "dark"`) extends the built-in. Built-ins only ever inherit
//! built-ins, so a broken user file cannot break them.
//!
//! Loading never fails: a missing or broken theme gives the built-in dark theme and a one-line
//! message for the status bar. Decisions on lenient input, so a typo is visible but not fatal:
//! an unknown role name or an unknown field in a role table is *reported* in that message and
//! otherwise ignored; a role the theme does not define takes the dark theme's style and is
//! reported too. A colour or modifier that does not parse, a value of the wrong type, an
//! inheritance cycle or unparsable TOML rejects the whole theme.

use std::collections::HashMap;
use std::path::Path;
use std::str::FromStr;

use ratatui::style::{Color, Modifier, Style};

/// What a piece of the screen *is*; screens ask the theme for a role, never for a colour.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Role {
    Text,
    Muted,
    Title,
    Border,
    BorderFocus,
    Accent,
    Selection,
    Error,
    Warning,
    Success,
    /// Chat messages written by the user.
    User,
    /// Chat messages written by the model.
    Assistant,
    /// Code blocks and inline code: the base the `Code*` roles are drawn over.
    Code,
    CodeKeyword,
    CodeString,
    CodeComment,
    StatusBar,
    StatusOk,
    StatusWarn,
    StatusErr,
    Input,
    /// A secret removed from a sale-vault preview (seed phrase, private key, token…).
    RedactSecret,
    /// Contact or financial data removed from a preview (e-mail, phone, card…).
    RedactPii,
    /// Text the user removed by hand from a preview.
    RedactManual,
    /// A detected span the user chose to keep: the buyer gets it.
    RedactKept,
    /// Another person's name or a place removed from a preview.
    RedactPerson,
}

impl Role {
    pub const COUNT: usize = 26;
    pub const ALL: [Role; Role::COUNT] = [
        Role::Text,
        Role::Muted,
        Role::Title,
        Role::Border,
        Role::BorderFocus,
        Role::Accent,
        Role::Selection,
        Role::Error,
        Role::Warning,
        Role::Success,
        Role::User,
        Role::Assistant,
        Role::Code,
        Role::CodeKeyword,
        Role::CodeString,
        Role::CodeComment,
        Role::StatusBar,
        Role::StatusOk,
        Role::StatusWarn,
        Role::StatusErr,
        Role::Input,
        Role::RedactSecret,
        Role::RedactPii,
        Role::RedactManual,
        Role::RedactKept,
        Role::RedactPerson,
    ];

    /// The key this role has in a theme file.
    pub fn key(self) -> &'static str {
        match self {
            Role::Text => "text",
            Role::Muted => "muted",
            Role::Title => "title",
            Role::Border => "border",
            Role::BorderFocus => "border_focus",
            Role::Accent => "accent",
            Role::Selection => "selection",
            Role::Error => "error",
            Role::Warning => "warning",
            Role::Success => "success",
            Role::User => "user",
            Role::Assistant => "assistant",
            Role::Code => "code",
            Role::CodeKeyword => "code_keyword",
            Role::CodeString => "code_string",
            Role::CodeComment => "code_comment",
            Role::StatusBar => "status_bar",
            Role::StatusOk => "status_ok",
            Role::StatusWarn => "status_warn",
            Role::StatusErr => "status_err",
            Role::Input => "input",
            Role::RedactSecret => "redact_secret",
            Role::RedactPii => "redact_pii",
            Role::RedactManual => "redact_manual",
            Role::RedactKept => "redact_kept",
            Role::RedactPerson => "redact_person",
        }
    }

    pub fn from_key(key: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.key() == key)
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// A resolved theme: one `Style` per role. Cheap to clone.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Theme {
    name: String,
    styles: [Style; Role::COUNT],
}

impl Theme {
    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn style(&self, role: Role) -> Style {
        self.styles[role.index()]
    }

    /// The built-in dark theme. Its file is checked by the tests; should it still fail to parse,
    /// this gives the terminal's own colours rather than panicking.
    pub fn fallback() -> Theme {
        match build(DEFAULT, None, None) {
            Ok((theme, _)) => theme,
            Err(_) => Theme {
                name: DEFAULT.to_owned(),
                styles: [Style::default(); Role::COUNT],
            },
        }
    }

    /// The same theme without any colour, for `NO_COLOR`. Modifiers stay, so bold titles and
    /// errors still stand out; the selection and the focused border get a modifier if they had
    /// none, since without their colours they would be invisible.
    pub fn without_colors(&self) -> Theme {
        let mut styles = self
            .styles
            .map(|s| Style::default().add_modifier(s.add_modifier));
        let must_show = [
            (Role::Selection, Modifier::REVERSED),
            (Role::BorderFocus, Modifier::BOLD),
            (Role::StatusBar, Modifier::REVERSED),
        ];
        for (role, modifier) in must_show {
            let s = &mut styles[role.index()];
            if s.add_modifier.is_empty() {
                *s = s.add_modifier(modifier);
            }
        }
        Theme {
            name: self.name.clone(),
            styles,
        }
    }
}

/// The theme used when none is configured or the configured one cannot be used.
pub const DEFAULT: &str = "dark";

const BUILTIN: [(&str, &str); 3] = [
    ("dark", include_str!("../../themes/dark.toml")),
    ("light", include_str!("../../themes/light.toml")),
    (
        "high-contrast",
        include_str!("../../themes/high-contrast.toml"),
    ),
];

/// Deeper than any sane theme chain; stops cycles (`a` inherits `b` inherits `a`).
const MAX_INHERIT_DEPTH: usize = 8;

/// A theme file larger than this is refused rather than read into memory.
const MAX_FILE_BYTES: u64 = 256 * 1024;

pub fn builtin_names() -> Vec<&'static str> {
    BUILTIN.iter().map(|(name, _)| *name).collect()
}

/// Built-in and user theme names, sorted, each once. `user_dir` is the themes directory itself
/// (`<config_dir>/themes`); a missing or unreadable directory just adds nothing.
pub fn available(user_dir: Option<&Path>) -> Vec<String> {
    let mut names: Vec<String> = builtin_names().into_iter().map(str::to_owned).collect();
    if let Some(entries) = user_dir.and_then(|d| std::fs::read_dir(d).ok()) {
        for entry in entries.flatten() {
            let path = entry.path();
            if path.extension().is_some_and(|e| e == "toml")
                && let Some(stem) = path.file_stem().and_then(|s| s.to_str())
                && valid_name(stem)
            {
                names.push(stem.to_owned());
            }
        }
    }
    names.sort();
    names.dedup();
    names
}

/// True when the user asked for no colour: `NO_COLOR` set and non-empty (no-color.org).
pub fn no_color_requested() -> bool {
    std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty())
}

/// Loads theme `name` (user directory first, then built-in), honouring `NO_COLOR`. Returns the
/// theme and, when something was wrong, one line saying what (the dark theme is then used if the
/// named one could not be).
pub fn load(name: &str, user_dir: Option<&Path>) -> (Theme, Option<String>) {
    load_with(name, user_dir, no_color_requested())
}

/// [`load`] with the `NO_COLOR` decision passed in (tests cannot safely set the environment).
pub fn load_with(name: &str, user_dir: Option<&Path>, no_color: bool) -> (Theme, Option<String>) {
    let fallback = Theme::fallback();
    let (theme, warning) = match build(name, user_dir, Some(&fallback)) {
        Ok((theme, notes)) if notes.is_empty() => (theme, None),
        Ok((theme, notes)) => (theme, Some(format!("theme {name}: {}", notes.join("; ")))),
        Err(e) => (
            fallback,
            Some(format!("theme {name}: {e}; using {DEFAULT}")),
        ),
    };
    let theme = if no_color {
        theme.without_colors()
    } else {
        theme
    };
    (theme, warning)
}

/// Why a theme could not be used.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ThemeError {
    #[error("not a theme name (letters, digits, '-' and '_' only)")]
    BadName,
    #[error("no theme named {0:?}")]
    NotFound(String),
    #[error("cannot read {0}")]
    Unreadable(String),
    #[error("file is larger than {MAX_FILE_BYTES} bytes")]
    TooLarge,
    #[error("invalid TOML: {0}")]
    Toml(String),
    #[error("inherits too deeply (a cycle?) at {0}")]
    Cycle(String),
    #[error("{key}: {problem}")]
    Value { key: String, problem: String },
}

fn valid_name(name: &str) -> bool {
    // Also what keeps a name from being a path ("../../etc/x").
    !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// A theme's text with where it came from.
struct Source {
    text: String,
    from_user: bool,
}

fn find_source(name: &str, user_dir: Option<&Path>) -> Result<Source, ThemeError> {
    if !valid_name(name) {
        return Err(ThemeError::BadName);
    }
    if let Some(dir) = user_dir {
        let path = dir.join(format!("{name}.toml"));
        match std::fs::metadata(&path) {
            Ok(meta) if meta.len() > MAX_FILE_BYTES => return Err(ThemeError::TooLarge),
            Ok(_) => {
                let text = std::fs::read_to_string(&path)
                    .map_err(|e| ThemeError::Unreadable(format!("{}: {e}", path.display())))?;
                return Ok(Source {
                    text,
                    from_user: true,
                });
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(ThemeError::Unreadable(format!("{}: {e}", path.display()))),
        }
    }
    BUILTIN
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, text)| Source {
            text: (*text).to_owned(),
            from_user: false,
        })
        .ok_or_else(|| ThemeError::NotFound(name.to_owned()))
}

/// A theme file after inheritance, before colours are resolved.
#[derive(Default)]
struct Merged {
    palette: HashMap<String, String>,
    roles: HashMap<Role, toml::Value>,
}

fn merge_chain(
    name: &str,
    user_dir: Option<&Path>,
    depth: usize,
    notes: &mut Vec<String>,
) -> Result<Merged, ThemeError> {
    if depth > MAX_INHERIT_DEPTH {
        return Err(ThemeError::Cycle(name.to_owned()));
    }
    let source = find_source(name, user_dir)?;
    let table: toml::Table =
        toml::from_str(&source.text).map_err(|e| ThemeError::Toml(one_line(&e.to_string())))?;

    let mut merged = match table.get("inherits") {
        None => Merged::default(),
        Some(toml::Value::String(parent)) => {
            // A user theme inheriting its own name extends the built-in; built-ins never look
            // at the user directory.
            let parent_dir = if source.from_user && parent != name {
                user_dir
            } else {
                None
            };
            merge_chain(parent, parent_dir, depth + 1, notes)?
        }
        Some(_) => return Err(value_error("inherits", "must be a theme name")),
    };

    for (key, value) in table {
        match key.as_str() {
            "inherits" => {}
            "palette" => {
                let toml::Value::Table(entries) = value else {
                    return Err(value_error("palette", "must be a table"));
                };
                for (colour_name, colour) in entries {
                    let toml::Value::String(colour) = colour else {
                        return Err(value_error(&colour_name, "palette entry must be a string"));
                    };
                    merged.palette.insert(colour_name, colour);
                }
            }
            other => match Role::from_key(other) {
                Some(role) => {
                    merged.roles.insert(role, value);
                }
                None => notes.push(format!("unknown role {other:?} ignored")),
            },
        }
    }
    Ok(merged)
}

/// Resolves theme `name`. Roles it leaves undefined come from `base` (or the terminal default
/// when there is no base) and are listed in the notes.
fn build(
    name: &str,
    user_dir: Option<&Path>,
    base: Option<&Theme>,
) -> Result<(Theme, Vec<String>), ThemeError> {
    let mut notes = Vec::new();
    let merged = merge_chain(name, user_dir, 0, &mut notes)?;
    let mut styles = [Style::default(); Role::COUNT];
    let mut missing = Vec::new();
    for role in Role::ALL {
        styles[role.index()] = match merged.roles.get(&role) {
            Some(value) => parse_style(role.key(), value, &merged.palette, &mut notes)?,
            None => {
                missing.push(role.key());
                base.map(|b| b.style(role)).unwrap_or_default()
            }
        };
    }
    if !missing.is_empty() {
        notes.push(format!(
            "{} not defined, using {DEFAULT}'s",
            missing.join(", ")
        ));
    }
    Ok((
        Theme {
            name: name.to_owned(),
            styles,
        },
        notes,
    ))
}

fn parse_style(
    key: &str,
    value: &toml::Value,
    palette: &HashMap<String, String>,
    notes: &mut Vec<String>,
) -> Result<Style, ThemeError> {
    match value {
        toml::Value::String(fg) => Ok(Style::default().fg(parse_color(key, fg, palette)?)),
        toml::Value::Table(fields) => {
            let mut style = Style::default();
            for (field, v) in fields {
                match (field.as_str(), v) {
                    ("fg", toml::Value::String(c)) => {
                        style = style.fg(parse_color(key, c, palette)?)
                    }
                    ("bg", toml::Value::String(c)) => {
                        style = style.bg(parse_color(key, c, palette)?)
                    }
                    ("modifiers", toml::Value::Array(items)) => {
                        for item in items {
                            let toml::Value::String(m) = item else {
                                return Err(value_error(key, "modifiers must be strings"));
                            };
                            style = style.add_modifier(parse_modifier(key, m)?);
                        }
                    }
                    ("fg" | "bg", _) => return Err(value_error(key, "a colour must be a string")),
                    ("modifiers", _) => return Err(value_error(key, "modifiers must be a list")),
                    (other, _) => notes.push(format!("{key}: unknown field {other:?} ignored")),
                }
            }
            Ok(style)
        }
        _ => Err(value_error(key, "must be a colour or a table")),
    }
}

fn parse_color(key: &str, s: &str, palette: &HashMap<String, String>) -> Result<Color, ThemeError> {
    // Palette names first, so a palette may shadow an ANSI name ("red" = "#f48771").
    let raw = palette.get(s).map_or(s, String::as_str);
    Color::from_str(raw).map_err(|_| value_error(key, &format!("unknown colour {s:?}")))
}

fn parse_modifier(key: &str, s: &str) -> Result<Modifier, ThemeError> {
    Ok(match s {
        "bold" => Modifier::BOLD,
        "italic" => Modifier::ITALIC,
        "underlined" => Modifier::UNDERLINED,
        "reversed" => Modifier::REVERSED,
        "dim" => Modifier::DIM,
        "crossed_out" => Modifier::CROSSED_OUT,
        other => return Err(value_error(key, &format!("unknown modifier {other:?}"))),
    })
}

fn value_error(key: &str, problem: &str) -> ThemeError {
    ThemeError::Value {
        key: key.to_owned(),
        problem: problem.to_owned(),
    }
}

/// TOML errors span lines (with a caret diagram); the status bar has one.
fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user_dir_with(files: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("tempdir");
        for (name, text) in files {
            std::fs::write(dir.path().join(format!("{name}.toml")), text).expect("write theme");
        }
        dir
    }

    #[test]
    fn role_keys_round_trip_and_are_distinct() {
        for role in Role::ALL {
            assert_eq!(Role::from_key(role.key()), Some(role));
            assert_eq!(Role::ALL[role.index()], role);
        }
    }

    #[test]
    fn every_bundled_theme_parses_and_defines_every_role() {
        for name in builtin_names() {
            let (theme, notes) = build(name, None, None)
                .unwrap_or_else(|e| panic!("built-in theme {name} does not parse: {e}"));
            assert!(notes.is_empty(), "built-in theme {name}: {notes:?}");
            assert_eq!(theme.name(), name);
            let (loaded, warning) = load_with(name, None, false);
            assert_eq!(warning, None);
            assert_eq!(loaded, theme);
        }
    }

    #[test]
    fn every_theme_file_in_the_themes_directory_is_built_in() {
        // A file added to themes/ but not to BUILTIN would silently never be shipped.
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("themes");
        let on_disk = available(Some(&dir));
        assert_eq!(on_disk, available(None));
    }

    #[test]
    fn light_inherits_dark_roles_with_its_own_palette() {
        let (dark, _) = load_with("dark", None, false);
        let (light, _) = load_with("light", None, false);
        // `title` is only in dark.toml, as { fg = "blue", bold }: light's "blue" applies.
        assert_eq!(
            light.style(Role::Title),
            Style::default()
                .fg(Color::Rgb(0x0b, 0x5c, 0xad))
                .add_modifier(Modifier::BOLD)
        );
        assert_ne!(light.style(Role::Title), dark.style(Role::Title));
        assert_eq!(
            light.style(Role::CodeKeyword).add_modifier,
            dark.style(Role::CodeKeyword).add_modifier
        );
    }

    #[test]
    fn user_theme_overrides_and_extends_a_builtin() {
        let dir = user_dir_with(&[
            ("dark", "inherits = \"dark\"\nerror = \"#010203\"\n"),
            (
                "mine",
                "inherits = \"dark\"\n[palette]\ngreen = \"#00ff00\"\n",
            ),
        ]);
        let (builtin, _) = load_with("dark", None, false);
        let (over, warning) = load_with("dark", Some(dir.path()), false);
        assert_eq!(warning, None);
        assert_eq!(
            over.style(Role::Error),
            Style::default().fg(Color::Rgb(1, 2, 3))
        );
        assert_eq!(over.style(Role::Title), builtin.style(Role::Title));
        // "mine" inherits the user's dark (which inherits the built-in one).
        let (mine, warning) = load_with("mine", Some(dir.path()), false);
        assert_eq!(warning, None);
        assert_eq!(
            mine.style(Role::Error),
            Style::default().fg(Color::Rgb(1, 2, 3))
        );
        assert_eq!(mine.style(Role::Success).fg, Some(Color::Rgb(0, 255, 0)));
        let names = available(Some(dir.path()));
        assert_eq!(names, ["dark", "high-contrast", "light", "mine"]);
    }

    #[test]
    fn builtins_ignore_a_broken_user_parent() {
        let dir = user_dir_with(&[("dark", "text = \"nonsense-colour\"\n")]);
        let (light, warning) = load_with("light", Some(dir.path()), false);
        assert_eq!(warning, None);
        assert_eq!(light, load_with("light", None, false).0);
    }

    #[test]
    fn broken_user_theme_gives_a_one_line_warning_and_the_default() {
        let default = Theme::fallback();
        let cases = [
            ("syntax", "text = { fg = \n\n"),
            ("colour", "text = \"ultraviolet\"\n"),
            ("modifier", "text = { modifiers = [\"blinky\"] }\n"),
            ("kind", "text = 42\n"),
            ("cycle", "inherits = \"cycle2\"\n"),
            ("cycle2", "inherits = \"cycle\"\n"),
            ("orphan", "inherits = \"nowhere\"\n"),
        ];
        let dir = user_dir_with(&cases);
        for (name, _) in cases {
            let (theme, warning) = load_with(name, Some(dir.path()), false);
            let warning = warning.unwrap_or_else(|| panic!("{name}: no warning"));
            assert!(!warning.contains('\n'), "{name}: {warning:?}");
            assert!(warning.contains(name), "{name}: {warning:?}");
            assert_eq!(theme, default, "{name}");
        }
    }

    #[test]
    fn missing_or_unsafe_names_give_the_default() {
        for name in ["no-such-theme", "../dark", "", "a/b"] {
            let (theme, warning) = load_with(name, None, false);
            assert!(warning.is_some(), "{name:?}");
            assert_eq!(theme, Theme::fallback());
        }
    }

    #[test]
    fn unknown_roles_and_fields_are_reported_but_the_theme_is_used() {
        let dir = user_dir_with(&[(
            "typo",
            "inherits = \"dark\"\ntitel = \"red\"\nerror = { fg = \"#102030\", fgg = \"blue\" }\n",
        )]);
        let (theme, warning) = load_with("typo", Some(dir.path()), false);
        let warning = warning.expect("a warning");
        assert!(warning.contains("\"titel\""), "{warning}");
        assert!(warning.contains("\"fgg\""), "{warning}");
        assert_eq!(
            theme.style(Role::Error),
            Style::default().fg(Color::Rgb(0x10, 0x20, 0x30))
        );
    }

    #[test]
    fn roles_a_user_theme_leaves_out_come_from_dark_and_are_named() {
        let dir = user_dir_with(&[("partial", "text = \"white\"\n")]);
        let (theme, warning) = load_with("partial", Some(dir.path()), false);
        assert!(warning.expect("a warning").contains("muted"));
        assert_eq!(theme.style(Role::Text), Style::default().fg(Color::White));
        assert_eq!(
            theme.style(Role::Muted),
            Theme::fallback().style(Role::Muted)
        );
    }

    #[test]
    fn no_color_strips_colours_but_keeps_modifiers_and_a_visible_selection() {
        for name in builtin_names() {
            let (theme, _) = load_with(name, None, true);
            for role in Role::ALL {
                let s = theme.style(role);
                assert_eq!((s.fg, s.bg), (None, None), "{name} {role:?}");
            }
            assert!(!theme.style(Role::Selection).add_modifier.is_empty());
            assert!(!theme.style(Role::StatusBar).add_modifier.is_empty());
        }
        let (plain, _) = load_with("dark", None, true);
        assert!(
            plain
                .style(Role::Title)
                .add_modifier
                .contains(Modifier::BOLD)
        );
    }

    /// The sale vault's preview: each kind of removal looks different in every bundled theme,
    /// and without colour a removal, a secret and a kept span still stand out from the text.
    #[test]
    fn redaction_roles_differ_in_every_theme_and_show_without_colour() {
        let roles = [
            Role::RedactSecret,
            Role::RedactPii,
            Role::RedactManual,
            Role::RedactKept,
            Role::RedactPerson,
        ];
        for name in builtin_names() {
            let (theme, _) = load_with(name, None, false);
            for (i, a) in roles.iter().enumerate() {
                assert_ne!(theme.style(*a), theme.style(Role::Text), "{name} {a:?}");
                for b in &roles[i + 1..] {
                    assert_ne!(theme.style(*a), theme.style(*b), "{name} {a:?} {b:?}");
                }
            }
            let (plain, _) = load_with(name, None, true);
            let look = |r: Role| plain.style(r).add_modifier;
            for r in roles {
                assert!(
                    !look(r).is_empty(),
                    "{name} {r:?} is invisible without colour"
                );
            }
            assert_ne!(look(Role::RedactSecret), look(Role::RedactPii), "{name}");
            assert_ne!(look(Role::RedactKept), look(Role::RedactPii), "{name}");
        }
    }

    #[test]
    fn palette_colours_shadow_ansi_names() {
        let dir = user_dir_with(&[(
            "p",
            "inherits = \"dark\"\ntext = \"red\"\n[palette]\nred = \"#ff0000\"\n",
        )]);
        let (theme, _) = load_with("p", Some(dir.path()), false);
        assert_eq!(theme.style(Role::Text).fg, Some(Color::Rgb(255, 0, 0)));
    }
}
