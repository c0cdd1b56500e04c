//! The KV state of a prompt's public head, kept between runs as llama.cpp's `--prompt-cache`
//! keeps a prompt's: every `keybot ask` starts with the same ~750 tokens (the chat template's
//! system block and the bot's tools), and decoding them costs a 0.5B model on two cores about
//! four seconds, half the time to an answer. The first run saves their state; later runs load
//! it in milliseconds.
//!
//! Only the head that every question shares is saved, never the question: the engine finds it
//! by rendering the same tools with an empty question ([`head_probe`]) and keeping the tokens
//! both renderings share. A conversation with a system prompt (the user's own words) is not
//! cached. A file is keyed by the model's sha256, the context's shape and the head's tokens,
//! and what it loads is checked against the head it was asked for; anything else (a file from
//! another llama.cpp, a truncated one) is ignored and written again.
use std::path::{Path, PathBuf};

use llama_cpp_2::token::LlamaToken;
use sha2::{Digest, Sha256};

use super::engine::Prompt;
use super::template::Message;

/// A head shorter than this is not worth a file (a chat's default system block).
pub const MIN_HEAD: usize = 64;

/// The most state files kept (about 9 MB each with the 0.5B model): a new model, context size
/// or set of tokens makes a new head, and the oldest go.
pub const KEEP_FILES: usize = 4;

/// Where a model's prompt heads are kept, and what a saved state depends on besides the head.
#[derive(Debug, Clone)]
pub struct PromptCache {
    pub dir: PathBuf,
    /// The model file's sha256, as registered.
    pub model_sha256: String,
    pub n_ctx: u32,
    /// The KV cache's layout: flash attention stores V untransposed.
    pub flash_attention: bool,
}

impl PromptCache {
    /// The file for `head`'s state.
    pub fn file_for(&self, head: &[LlamaToken]) -> PathBuf {
        let mut h = Sha256::new();
        h.update(self.model_sha256.as_bytes());
        h.update(self.n_ctx.to_le_bytes());
        h.update([u8::from(self.flash_attention)]);
        for t in head {
            h.update(t.0.to_le_bytes());
        }
        self.dir.join(format!("{}.kv", hex::encode(h.finalize())))
    }
}

/// The conversation whose rendering with `prompt`'s tools (returned beside it) shares exactly
/// the public head with `prompt`'s: an empty question. None where nothing may be cached: not a
/// tools prompt, or one with a system prompt (the user's own words).
pub fn head_probe(prompt: &Prompt) -> Option<(Vec<Message>, &serde_json::Value)> {
    let Prompt::Tools { messages, tools } = prompt else {
        return None;
    };
    if messages.iter().any(|m| m.role == "system") {
        return None;
    }
    Some((vec![Message::user(String::new())], tools))
}

/// Writes `path` through `write` (llama.cpp writes the file it is given by name) into a
/// temporary file beside it, made 0600 before it takes the final name: a reader never sees half
/// a state. A failed write leaves the old file and no temporary one.
pub fn save_atomically(
    path: &Path,
    write: impl FnOnce(&Path) -> Result<(), String>,
) -> Result<(), String> {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = path.parent().ok_or("no folder")?;
    keybot_keystore::atomic::create_private_dir(dir).map_err(|e| e.to_string())?;
    let tmp = path.with_extension(format!("tmp-{}", std::process::id()));
    let saved = write(&tmp).and_then(|()| {
        std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o600))
            .and_then(|()| std::fs::rename(&tmp, path))
            .map_err(|e| e.to_string())
    });
    if saved.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    saved
}

/// Removes all but the `keep` most recently written state files in `dir`.
pub fn prune(dir: &Path, keep: usize) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut files: Vec<(std::time::SystemTime, PathBuf)> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "kv"))
        .filter_map(|p| Some((std::fs::metadata(&p).ok()?.modified().ok()?, p)))
        .collect();
    files.sort_by_key(|f| std::cmp::Reverse(f.0));
    for (_, old) in files.into_iter().skip(keep) {
        let _ = std::fs::remove_file(old);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cache(dir: &Path) -> PromptCache {
        PromptCache {
            dir: dir.to_path_buf(),
            model_sha256: "ab".repeat(32),
            n_ctx: 4096,
            flash_attention: false,
        }
    }

    #[test]
    fn a_file_is_keyed_by_model_context_layout_and_head() {
        let dir = Path::new("/x");
        let head = [LlamaToken(1), LlamaToken(2)];
        let base = cache(dir).file_for(&head);
        assert!(base.starts_with(dir));
        assert_ne!(base, cache(dir).file_for(&[LlamaToken(1), LlamaToken(3)]));
        let other_ctx = PromptCache {
            n_ctx: 2048,
            ..cache(dir)
        };
        assert_ne!(base, other_ctx.file_for(&head));
        let fa = PromptCache {
            flash_attention: true,
            ..cache(dir)
        };
        assert_ne!(base, fa.file_for(&head));
        let model = PromptCache {
            model_sha256: "cd".repeat(32),
            ..cache(dir)
        };
        assert_ne!(base, model.file_for(&head));
    }

    #[test]
    fn only_a_tools_prompt_without_a_system_prompt_has_a_head() {
        let tools = serde_json::json!([{"type": "function"}]);
        let prompt = Prompt::Tools {
            messages: vec![Message::user("what are my balances?")],
            tools: tools.clone(),
        };
        let (messages, probe_tools) = head_probe(&prompt).unwrap();
        assert_eq!(messages, vec![Message::user(String::new())]);
        assert_eq!(probe_tools, &tools);
        assert!(head_probe(&Prompt::Chat(vec![Message::user("hi")])).is_none());
        assert!(head_probe(&Prompt::Raw("hi".into())).is_none());
        assert!(
            head_probe(&Prompt::Tools {
                messages: vec![Message::new("system", "my notes"), Message::user("hi")],
                tools,
            })
            .is_none()
        );
    }

    #[test]
    fn a_save_is_whole_and_private_or_nothing() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/a.kv");
        save_atomically(&path, |p| {
            std::fs::write(p, b"state").map_err(|e| e.to_string())
        })
        .unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"state");
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        // A write that fails leaves the old file and no stray temporary one.
        let err = save_atomically(&path, |p| {
            std::fs::write(p, b"half").unwrap();
            Err("disk full".into())
        });
        assert_eq!(err.unwrap_err(), "disk full");
        assert_eq!(std::fs::read(&path).unwrap(), b"state");
        assert_eq!(
            std::fs::read_dir(dir.path().join("sub")).unwrap().count(),
            1
        );
    }

    #[test]
    fn only_the_newest_state_files_are_kept() {
        let dir = tempfile::tempdir().unwrap();
        let start = std::time::SystemTime::now() - std::time::Duration::from_secs(100);
        for i in 0..6u64 {
            let p = dir.path().join(format!("{i}.kv"));
            std::fs::write(&p, b"x").unwrap();
            let f = std::fs::File::options().write(true).open(&p).unwrap();
            f.set_modified(start + std::time::Duration::from_secs(i))
                .unwrap();
        }
        std::fs::write(dir.path().join("other.txt"), b"y").unwrap();
        prune(dir.path(), 4);
        let mut left: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        assert_eq!(left, ["2.kv", "3.kv", "4.kv", "5.kv", "other.txt"]);
    }
}
