//! `keybot model …`: register local GGUF files, pull them from Hugging Face, pick the default.
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Result, bail};
use clap::{Args, Subcommand};

use crate::chat::install;
use crate::chat::registry::{ModelEntry, Registry};
use crate::config::Paths;
use crate::sanitize::clean_line;

#[derive(Debug, Args)]
pub struct ModelArgs {
    #[command(subcommand)]
    command: ModelCommand,
}

#[derive(Debug, Subcommand)]
enum ModelCommand {
    /// Register a GGUF file (its header is checked and its sha256 recorded; the file stays put).
    Add(AddModelArgs),
    /// List registered models.
    List(ListModelsArgs),
    /// Show what is known about a model.
    Info(ModelInfoArgs),
    /// Make NAME the model `keybot chat` uses without --model.
    Default(DefaultModelArgs),
    /// Register a model on an inference server of your own (llama-server, vLLM, ollama, LM
    /// Studio: the OpenAI-compatible chat API at URL); it is then used like a local model.
    AddServer(AddServerArgs),
    /// Download REPO[:FILE] from Hugging Face (HF_ENDPOINT and HF_TOKEN are honoured), check its
    /// sha256 and register it. An interrupted download resumes when run again.
    Pull(PullArgs),
}

impl ModelArgs {
    pub fn run(self, paths: &Paths) -> Result<u8> {
        match self.command {
            ModelCommand::Add(a) => a.run(paths),
            ModelCommand::List(a) => a.run(paths),
            ModelCommand::Info(a) => a.run(paths),
            ModelCommand::Default(a) => a.run(paths),
            ModelCommand::Pull(a) => a.run(paths),
            ModelCommand::AddServer(a) => a.run(paths),
        }
    }
}

#[derive(Debug, Args)]
struct AddModelArgs {
    file: PathBuf,
    /// The name to use with --model (default: the file name).
    #[arg(long)]
    name: Option<String>,
}

impl AddModelArgs {
    fn run(self, paths: &Paths) -> Result<u8> {
        let (entry, is_default) = install::add(&paths.data_dir, &self.file, self.name)?;
        print_entry(&entry, is_default);
        Ok(0)
    }
}

#[derive(Debug, Args)]
struct AddServerArgs {
    /// The name to use with --model.
    name: String,
    /// The server's base URL, e.g. http://127.0.0.1:8080 (plain http only to this machine).
    url: String,
    /// The model to ask the server for (default: the first it lists).
    #[arg(long)]
    model: Option<String>,
    /// Accept plain http to another machine: the conversation then crosses the network
    /// readable by anyone on the way.
    #[arg(long)]
    allow_plain_http: bool,
    /// A file holding the server's API key (one line). It is sealed with the wallet (so the
    /// wallet's password is asked for, now and when the server is used) and never shown.
    #[arg(long, value_name = "FILE")]
    api_key_file: Option<PathBuf>,
    /// Read the wallet's password from this file instead of asking (or KEYBOT_PASSWORD).
    #[arg(long, value_name = "FILE")]
    password_file: Option<PathBuf>,
}

impl AddServerArgs {
    fn run(self, paths: &Paths) -> Result<u8> {
        let url = crate::chat::registry::check_server_url(&self.url, self.allow_plain_http)?;
        if url.scheme() == "http" && !crate::net::is_loopback(&url) {
            eprintln!(
                "WARNING: plain http to {}: every question and answer crosses the network readable and changeable on the way",
                clean_line(url.host_str().unwrap_or("?"))
            );
        }
        let entry = crate::chat::registry::ServerEntry {
            name: self.name,
            url: url.to_string(),
            model: self.model,
            plain_http_accepted: self.allow_plain_http,
            api_key: self.api_key_file.is_some(),
        };
        let mut reg = Registry::load(&paths.data_dir)?;
        // Checked before anything is written: a refused name leaves no key file behind.
        reg.add_server(entry.clone())?;
        let key_file = crate::chat::registry::api_key_file(&paths.data_dir, &entry.name);
        if let Some(f) = &self.api_key_file {
            let text =
                zeroize::Zeroizing::new(super::input::read_limited(f, 4096, "the API key file")?);
            let key = keybot_keystore::api_key::ApiKey::parse(&text)?;
            let wallet = super::common::unlock(paths, self.password_file.as_deref())?;
            let sealed = keybot_keystore::api_key::seal(&wallet, &entry.name, &key)?;
            if let Some(dir) = key_file.parent() {
                keybot_keystore::atomic::create_private_dir(dir)?;
            }
            keybot_keystore::atomic::write_private(&key_file, &sealed)?;
        }
        if let Err(e) = reg.save(&paths.data_dir) {
            let _ = std::fs::remove_file(&key_file);
            return Err(e.into());
        }
        print_server(&entry, reg.default.as_deref() == Some(&entry.name));
        Ok(0)
    }
}

fn print_server(s: &crate::chat::registry::ServerEntry, is_default: bool) {
    let c = |s: &str| clean_line(s).into_owned();
    println!(
        "name:          {}{}",
        c(&s.name),
        if is_default { " (default)" } else { "" }
    );
    println!("server:        {}", c(&s.url));
    println!(
        "model:         {}",
        c(s.model.as_deref().unwrap_or("the server's first"))
    );
    if s.api_key {
        println!("api key:       sealed with the wallet (never shown)");
    }
}

#[derive(Debug, Args)]
struct ListModelsArgs {
    #[arg(long)]
    json: bool,
}

impl ListModelsArgs {
    fn run(self, paths: &Paths) -> Result<u8> {
        let reg = Registry::load(&paths.data_dir)?;
        if self.json {
            println!("{}", serde_json::to_string_pretty(&reg)?);
        } else if reg.models.is_empty() && reg.servers.is_empty() {
            eprintln!(
                "no models registered; add one with `keybot model add FILE.gguf` or `keybot model pull REPO`"
            );
        } else {
            println!(
                "{:<2}{:<32} {:<10} {:<9} {:>8} {:>10}",
                "", "NAME", "ARCH", "QUANT", "CTX", "SIZE"
            );
            let mark = |name: &str| {
                if reg.default.as_deref() == Some(name) {
                    "*"
                } else {
                    ""
                }
            };
            for m in &reg.models {
                // The architecture and quantisation come from the GGUF file: cleaned.
                println!(
                    "{:<2}{:<32} {:<10} {:<9} {:>8} {:>10}",
                    mark(&m.name),
                    clean_line(&m.name),
                    clean_line(&m.architecture),
                    clean_line(m.quantization.as_deref().unwrap_or("?")),
                    m.context_length.map_or("?".to_owned(), |c| c.to_string()),
                    human_size(m.size),
                );
            }
            for m in &reg.servers {
                println!(
                    "{:<2}{:<32} {:<10} {}",
                    mark(&m.name),
                    clean_line(&m.name),
                    "server",
                    clean_line(&m.url),
                );
            }
        }
        Ok(0)
    }
}

#[derive(Debug, Args)]
struct ModelInfoArgs {
    name: String,
    #[arg(long)]
    json: bool,
}

impl ModelInfoArgs {
    fn run(self, paths: &Paths) -> Result<u8> {
        let reg = Registry::load(&paths.data_dir)?;
        if let Some(s) = reg.server(&self.name) {
            return server_info(paths, s, reg.default.as_deref() == Some(&s.name), self.json);
        }
        let m = reg.get(&self.name)?;
        if self.json {
            println!("{}", serde_json::to_string_pretty(m)?);
        } else {
            print_entry(m, reg.default.as_deref() == Some(&m.name));
            if !m.path.is_file() {
                eprintln!(
                    "warning: {} no longer exists",
                    clean_line(&m.path.display().to_string())
                );
            }
        }
        Ok(0)
    }
}

/// `model info` for a server: what it says it serves (`/v1/models`), asked now.
fn server_info(
    paths: &Paths,
    s: &crate::chat::registry::ServerEntry,
    is_default: bool,
    json: bool,
) -> Result<u8> {
    let server = server_with_key(paths, s, None)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let client = crate::chat::remote::client()?;
    let models = runtime.block_on(crate::chat::remote::list_models(&client, &server))?;
    let tools = runtime.block_on(crate::chat::remote::tool_support(&client, &server));
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "name": s.name, "url": s.url, "model": s.model, "server_models": models,
                "tools": tools,
            }))?
        );
        return Ok(0);
    }
    print_server(s, is_default);
    println!("it serves:     {}", models.join(", "));
    println!(
        "tools:         {}",
        match tools {
            Some(true) => "yes (its chat template calls tools: the bot works with it)",
            Some(false) => "no (its chat template has no tool calls: the bot chats without them)",
            None => "it does not say (the bot sends its tools and reads what comes back)",
        }
    );
    Ok(0)
}

#[derive(Debug, Args)]
struct DefaultModelArgs {
    name: String,
}

impl DefaultModelArgs {
    fn run(self, paths: &Paths) -> Result<u8> {
        let name = self.name;
        let mut reg = Registry::load(&paths.data_dir)?;
        reg.set_default(&name)?;
        reg.save(&paths.data_dir)?;
        println!("default model: {name}");
        Ok(0)
    }
}

#[derive(Debug, Args)]
struct PullArgs {
    spec: String,
    #[arg(long)]
    name: Option<String>,
    /// Expected sha256, when the server does not give one.
    #[arg(long, value_name = "HEX")]
    sha256: Option<String>,
}

impl PullArgs {
    /// The download's progress on a terminal, then the registered model.
    fn run(self, paths: &Paths) -> Result<u8> {
        let spec = self.spec.as_str();
        let mut bar: Option<ProgressBar> = None;
        let result = install::pull(
            &paths.data_dir,
            spec,
            self.name,
            self.sha256.as_deref(),
            &mut |done, total| {
                bar.get_or_insert_with(|| ProgressBar::new(spec))
                    .update(done, total)
            },
        );
        if let Some(bar) = bar.as_mut() {
            bar.finish();
        }
        let (entry, is_default) = result?;
        print_entry(&entry, is_default);
        Ok(0)
    }
}

/// A model file to load, with the sha256 it was registered with (if it is registered).
#[derive(Debug, Clone)]
pub struct ModelFile {
    pub path: PathBuf,
    /// Checked by the engine before loading: a registered file swapped on disk is refused.
    pub sha256: Option<String>,
    /// A registered server instead of a file.
    pub server: Option<crate::chat::remote::ServerModel>,
}

/// The model file for `keybot chat`: a path, a registered name, or the default.
pub fn resolve_model(paths: &Paths, arg: Option<&str>) -> Result<ModelFile> {
    resolve_model_with(paths, arg, None)
}

/// [`resolve_model`] for a command that has unlocked the wallet already: a server's API key
/// opens with it (without it, the password is asked for).
pub fn resolve_model_with(
    paths: &Paths,
    arg: Option<&str>,
    wallet: Option<&keybot_keystore::Wallet>,
) -> Result<ModelFile> {
    let registered = |m: &ModelEntry| ModelFile {
        path: m.path.clone(),
        sha256: Some(m.sha256.clone()),
        server: None,
    };
    let by_name = |reg: &Registry, name: &str| -> Result<ModelFile> {
        if let Some(s) = reg.server(name) {
            return Ok(ModelFile {
                path: PathBuf::from(name),
                sha256: None,
                server: Some(server_with_key(paths, s, wallet)?),
            });
        }
        Ok(registered(reg.get(name)?))
    };
    if let Some(a) = arg {
        let p = Path::new(a);
        if p.exists() || a.ends_with(".gguf") || a.contains('/') {
            // A path: the engine names what is wrong with it (missing, not GGUF, truncated). A
            // registered file given by its path is checked like one given by its name.
            let reg = Registry::load(&paths.data_dir)?;
            return Ok(match reg.find_by_path(p) {
                Some(m) => registered(m),
                None => ModelFile {
                    path: p.to_owned(),
                    sha256: None,
                    server: None,
                },
            });
        }
        let reg = Registry::load(&paths.data_dir)?;
        return by_name(&reg, a);
    }
    let reg = Registry::load(&paths.data_dir)?;
    match &reg.default {
        Some(name) => by_name(&reg, name),
        None => bail!(
            "no model given: pass --model FILE.gguf, or register one with `keybot model add FILE.gguf` (the first becomes the default)"
        ),
    }
}

/// The server to ask, with its API key opened when it has one (the wallet's password is asked
/// for then, or read from KEYBOT_PASSWORD).
pub fn server_with_key(
    paths: &Paths,
    s: &crate::chat::registry::ServerEntry,
    wallet: Option<&keybot_keystore::Wallet>,
) -> Result<crate::chat::remote::ServerModel> {
    let mut server = s.server_model()?;
    if server.key_sealed {
        let sealed = crate::chat::registry::read_sealed_key(&paths.data_dir, &s.name)
            .map_err(anyhow::Error::msg)?;
        let unlocked;
        let wallet = match wallet {
            Some(w) => w,
            None => {
                unlocked = super::common::unlock(paths, None)?;
                &unlocked
            }
        };
        let key = keybot_keystore::api_key::open(wallet, &s.name, &sealed)?;
        server.api_key = Some(std::sync::Arc::new(key));
    }
    Ok(server)
}

/// Prints what the registry knows about `m`. The model name, architecture and quantisation come
/// from the GGUF header and the path and source from a file name or a server, so every value is
/// cleaned: a header could otherwise write escape sequences to the terminal.
fn print_entry(m: &ModelEntry, is_default: bool) {
    let c = |s: &str| clean_line(s).into_owned();
    println!(
        "name:          {}{}",
        c(&m.name),
        if is_default { " (default)" } else { "" }
    );
    println!("file:          {}", c(&m.path.display().to_string()));
    if let Some(n) = &m.model_name {
        println!("model:         {}", c(n));
    }
    println!("architecture:  {}", c(&m.architecture));
    println!(
        "quantisation:  {}",
        c(m.quantization.as_deref().unwrap_or("unknown"))
    );
    println!(
        "context:       {}",
        m.context_length
            .map_or("unknown".to_owned(), |c| format!("{c} tokens"))
    );
    println!("size:          {} ({} bytes)", human_size(m.size), m.size);
    println!("sha256:        {}", c(&m.sha256));
    println!(
        "chat template: {}",
        if m.has_chat_template {
            "yes"
        } else {
            "no (ChatML fallback)"
        }
    );
    if let Some(s) = &m.source {
        println!("source:        {}", c(s));
    }
}

fn human_size(b: u64) -> String {
    const MB: f64 = 1024.0 * 1024.0;
    if b as f64 >= 1024.0 * MB {
        format!("{:.2} GiB", b as f64 / (1024.0 * MB))
    } else {
        format!("{:.1} MiB", b as f64 / MB)
    }
}

/// A one-line progress bar on standard error, drawn only on a terminal.
struct ProgressBar {
    label: String,
    tty: bool,
    start: Instant,
    last_draw: Option<Instant>,
    drew: bool,
}

impl ProgressBar {
    fn new(label: &str) -> ProgressBar {
        ProgressBar {
            label: clean_line(label).into_owned(),
            tty: std::io::stderr().is_terminal(),
            start: Instant::now(),
            last_draw: None,
            drew: false,
        }
    }

    fn update(&mut self, done: u64, total: u64) {
        if !self.tty
            || self
                .last_draw
                .is_some_and(|t| t.elapsed().as_millis() < 100 && done < total)
        {
            return;
        }
        self.last_draw = Some(Instant::now());
        let secs = self.start.elapsed().as_secs_f64().max(0.001);
        let rate = done as f64 / secs / (1024.0 * 1024.0);
        let line = if total > 0 {
            let frac = (done as f64 / total as f64).clamp(0.0, 1.0);
            let filled = (frac * 30.0) as usize;
            format!(
                "{} [{}{}] {:>5.1}% {} / {} {:.1} MiB/s",
                self.label,
                "#".repeat(filled),
                " ".repeat(30 - filled),
                frac * 100.0,
                human_size(done),
                human_size(total),
                rate
            )
        } else {
            format!("{} {} {:.1} MiB/s", self.label, human_size(done), rate)
        };
        let mut err = std::io::stderr().lock();
        let _ = write!(err, "\r\x1b[2K{line}");
        let _ = err.flush();
        self.drew = true;
    }

    fn finish(&mut self) {
        if self.drew {
            eprintln!();
        }
    }
}
