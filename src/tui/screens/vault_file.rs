//! The sale vault's "add a file" prompt (`f` on the vault): a path typed on one line, Tab
//! completing it from the folder's listing, Enter adding the file through the service the
//! command line's `market add --file` uses (so it refuses the same files with the same line).
//! The listing and the add are the runtime's (effects); what a Tab does with a listing is
//! [`complete`], a pure function. Also the default path of the "save a delivery" prompt.
use std::path::{Path, PathBuf};

use super::market::{MarketEffect, MarketItem, MarketMode};
use crate::sanitize::clean_line;
use crate::store::ItemId;
use crate::tui::action::Action;
use crate::tui::effect::Effect;
use crate::tui::state::*;

/// The vault key that opens the prompt.
pub const KEY: char = 'f';

/// The prompt's state.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FilePrompt {
    /// The path as typed (a leading `~` is the home folder).
    pub path: Input,
    /// Why the last Enter was refused (the service's line), or what a Tab could not do.
    pub error: Option<String>,
    /// The names a Tab found more than one of, folders with a trailing `/`.
    pub matches: Vec<String>,
    /// Enter was pressed: the runtime is adding the file.
    pub adding: bool,
}

/// One name in a folder, as the runtime lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirEntry {
    pub name: String,
    /// A folder (a link to one counts): completed with a trailing `/`.
    pub dir: bool,
}

/// What a Tab does with a folder's listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Completion {
    /// No name in the folder starts with what was typed.
    None,
    /// One name did: the whole path, a folder's with a `/`.
    One(String),
    /// Several did: the path as far as they agree, and their names (folders with a `/`).
    Several { text: String, names: Vec<String> },
}

/// The folder part of a typed path, as typed (up to and with its last `/`; empty for the
/// working folder). `~` alone is the home folder.
pub fn folder_of(input: &str) -> &str {
    if input == "~" {
        return "~/";
    }
    input.rfind('/').map_or("", |i| &input[..=i])
}

/// Completes `input` from `entries`, the listing of [`folder_of`]`(input)`: the common prefix
/// of the names that start with the typed name, a folder with a trailing `/`. Names that start
/// with `.` only when the typed name does; names holding a control character never (they are
/// not put into the prompt, where they would be printed).
pub fn complete(input: &str, entries: &[DirEntry]) -> Completion {
    let folder = folder_of(input);
    let stem = input.get(folder.len()..).unwrap_or_default();
    let mut found: Vec<&DirEntry> = entries
        .iter()
        .filter(|e| e.name.starts_with(stem) && e.name != "." && e.name != "..")
        .filter(|e| stem.starts_with('.') || !e.name.starts_with('.'))
        .filter(|e| clean_line(&e.name) == e.name.as_str())
        .collect();
    found.sort_by(|a, b| a.name.cmp(&b.name));
    let shown = |e: &DirEntry| {
        if e.dir {
            format!("{}/", e.name)
        } else {
            e.name.clone()
        }
    };
    match found.as_slice() {
        [] => Completion::None,
        [one] => Completion::One(format!("{folder}{}", shown(one))),
        [first, rest @ ..] => {
            let mut prefix: &str = &first.name;
            for e in rest {
                let same = prefix
                    .char_indices()
                    .zip(e.name.chars())
                    .find(|((_, a), b)| a != b)
                    .map_or(prefix.len().min(e.name.len()), |((i, _), _)| i);
                prefix = &prefix[..same];
            }
            Completion::Several {
                text: format!("{folder}{prefix}"),
                names: found.iter().map(|e| shown(e)).collect(),
            }
        }
    }
}

/// A typed path with a leading `~` (alone or before `/`) in `home`; any other path as it is
/// (a relative one is the working folder's, as on the command line).
pub fn expand_home(typed: &str, home: Option<&Path>) -> PathBuf {
    match (typed, home) {
        ("~", Some(home)) => home.to_path_buf(),
        (t, Some(home)) => match t.strip_prefix("~/") {
            Some(rest) => home.join(rest),
            None => PathBuf::from(t),
        },
        (t, None) => PathBuf::from(t),
    }
}

/// Where the "save a delivery" prompt offers to write purchase `id`: a new file in the home
/// folder (the buyer's text is UTF-8 text, as the vault takes only that).
pub fn default_save_path(purchase: u64) -> Input {
    let mut input = Input::default();
    input.set(&format!("~/keybot-purchase-{purchase}.txt"));
    input
}

/// `f` on the vault: the prompt, empty.
pub(crate) fn open(s: &mut State) -> Vec<Effect> {
    s.market.mode = MarketMode::AddFile(FilePrompt::default());
    vec![]
}

/// The prompt's keys: text, Tab (asks the runtime for the folder's listing), Enter (asks it to
/// add the file; the prompt stays until it answers), Esc.
pub(crate) fn key(s: &mut State, action: Action) -> Vec<Effect> {
    let MarketMode::AddFile(p) = &mut s.market.mode else {
        return vec![];
    };
    match action {
        Action::Edit(e) if !p.adding => {
            p.path.apply(&e, false);
            p.error = None;
            p.matches.clear();
        }
        Action::FocusNext if !p.adding => {
            return vec![Effect::Market(MarketEffect::ListFolder {
                folder: folder_of(&p.path.text).to_owned(),
                input: p.path.text.clone(),
            })];
        }
        Action::Submit if !p.adding => {
            let path = p.path.text.trim().to_owned();
            if path.is_empty() {
                p.error = Some("type the path of a text file (Tab completes it)".into());
                return vec![];
            }
            p.adding = true;
            p.error = None;
            p.matches.clear();
            return vec![Effect::Market(MarketEffect::AddFile(path))];
        }
        Action::Back => s.market.mode = MarketMode::Browse,
        _ => {}
    }
    vec![]
}

/// The listing a Tab asked for, for the path `input` as it was typed then: completed where the
/// prompt still holds that path (a key typed meanwhile wins).
pub(crate) fn listed(s: &mut State, input: &str, entries: Result<Vec<DirEntry>, String>) {
    let MarketMode::AddFile(p) = &mut s.market.mode else {
        return;
    };
    if p.path.text != input || p.adding {
        return;
    }
    let entries = match entries {
        Ok(e) => e,
        Err(why) => {
            p.error = Some(why);
            return;
        }
    };
    p.matches.clear();
    match complete(input, &entries) {
        Completion::None => {
            let folder = folder_of(input);
            let stem = &input[folder.len()..];
            let folder = if folder.is_empty() {
                "the working folder"
            } else {
                folder
            };
            p.error = Some(format!(
                "nothing in {} starts with \"{}\"",
                clean_line(folder),
                clean_line(stem)
            ));
        }
        Completion::One(text) => p.path.set(&text),
        Completion::Several { text, names } => {
            p.path.set(&text);
            p.matches = names;
        }
    }
}

/// The line shown when the runtime added the file as item `id` (the screen then opens on its
/// preview, as for a conversation).
pub(crate) fn added(items: &[MarketItem], id: ItemId) -> String {
    let title = items.iter().find(|i| i.item.id == id).map_or_else(
        || "the file".into(),
        |i| clean_line(&i.item.title).into_owned(),
    );
    format!("{title} is item {id} of the sale vault: check what a buyer gets")
}

/// The runtime refused the file: the prompt stays with the path typed and the reason under it
/// (on the message line if the prompt was closed meanwhile).
pub(crate) fn refused(s: &mut State, why: String) {
    match &mut s.market.mode {
        MarketMode::AddFile(p) => {
            p.adding = false;
            p.error = Some(why);
        }
        _ => s.message = Some((Level::Error, why)),
    }
}

/// A folder's listing from (name, is a folder) pairs, for tests.
#[cfg(test)]
pub(crate) fn entries(list: &[(&str, bool)]) -> Vec<DirEntry> {
    list.iter()
        .map(|(name, dir)| DirEntry {
            name: (*name).into(),
            dir: *dir,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_folder_of_a_typed_path() {
        assert_eq!(folder_of(""), "");
        assert_eq!(folder_of("notes"), "");
        assert_eq!(folder_of("~"), "~/");
        assert_eq!(folder_of("~/Doc"), "~/");
        assert_eq!(folder_of("/etc/"), "/etc/");
        assert_eq!(folder_of("a/b/c.txt"), "a/b/");
    }

    #[test]
    fn tab_completes_the_common_prefix_and_a_folder_gets_a_slash() {
        let list = entries(&[
            ("notes-2024.txt", false),
            ("notes-2025.txt", false),
            ("Documents", true),
            ("music", true),
            (".notes", false),
        ]);
        assert_eq!(
            complete("~/no", &list),
            Completion::Several {
                text: "~/notes-202".into(),
                names: vec!["notes-2024.txt".into(), "notes-2025.txt".into()],
            }
        );
        assert_eq!(
            complete("~/notes-2025", &list),
            Completion::One("~/notes-2025.txt".into())
        );
        assert_eq!(
            complete("~/Doc", &list),
            Completion::One("~/Documents/".into())
        );
        assert_eq!(complete("mu", &list), Completion::One("music/".into()));
        assert_eq!(complete("~/x", &list), Completion::None);
        // Hidden names only when a dot is typed.
        assert_eq!(complete(".n", &list), Completion::One(".notes".into()));
        // Nothing typed: every visible name, in order, nothing to add to the path.
        assert_eq!(
            complete("~/", &list),
            Completion::Several {
                text: "~/".into(),
                names: vec![
                    "Documents/".into(),
                    "music/".into(),
                    "notes-2024.txt".into(),
                    "notes-2025.txt".into()
                ],
            }
        );
    }

    #[test]
    fn a_common_prefix_stops_on_a_char_boundary_and_a_control_character_is_never_completed() {
        let list = entries(&[
            ("café-1", false),
            ("café-2", false),
            ("evil\u{1b}[2J", false),
        ]);
        assert_eq!(
            complete("ca", &list),
            Completion::Several {
                text: "café-".into(),
                names: vec!["café-1".into(), "café-2".into()],
            }
        );
        let list = entries(&[("été", false), ("éte", false)]);
        assert!(matches!(complete("", &list), Completion::Several { text, .. } if text == "ét"));
        let list = entries(&[("evil\u{1b}[2J", false)]);
        assert_eq!(complete("ev", &list), Completion::None);
    }

    #[test]
    fn home_is_expanded_only_at_the_start() {
        let home = Path::new("/home/ann");
        assert_eq!(expand_home("~", Some(home)), PathBuf::from("/home/ann"));
        assert_eq!(
            expand_home("~/a.txt", Some(home)),
            PathBuf::from("/home/ann/a.txt")
        );
        assert_eq!(expand_home("~bob/a", Some(home)), PathBuf::from("~bob/a"));
        assert_eq!(expand_home("a/~/b", Some(home)), PathBuf::from("a/~/b"));
        assert_eq!(expand_home("~/a", None), PathBuf::from("~/a"));
    }
}
