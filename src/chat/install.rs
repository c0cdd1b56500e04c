//! Getting a model onto the machine: register a GGUF file that is already here, or pull one from
//! the Hub, then record it in the registry. The `model` command and the terminal app both call
//! these, so the checks (name, header, sha256) are the same on both paths.
use std::path::Path;

use anyhow::{Context, Result, bail};

use super::pull::{self, Downloader, Progress, PullSpec};
use super::registry::{self, ModelEntry, Registry};

/// Registers `file`; returns the entry and whether it became the default model.
pub fn add(data_dir: &Path, file: &Path, name: Option<String>) -> Result<(ModelEntry, bool)> {
    let mut reg = Registry::load(data_dir)?;
    let name = name.unwrap_or_else(|| registry::name_from_path(file));
    check_free(&reg, &name)?;
    let entry = registry::describe(file, name, None)?;
    record(data_dir, &mut reg, entry)
}

/// Downloads `spec` (`REPO[:FILE]`) with resume and a sha256 check, then registers it.
pub fn pull(
    data_dir: &Path,
    spec: &str,
    name: Option<String>,
    sha256: Option<&str>,
    progress: Progress<'_>,
) -> Result<(ModelEntry, bool)> {
    let spec = PullSpec::parse(spec)?;
    if let Some(s) = sha256
        && !(s.len() == 64 && s.chars().all(|c| c.is_ascii_hexdigit()))
    {
        bail!("--sha256 must be 64 hex digits");
    }
    let mut reg = Registry::load(data_dir)?;
    let dl = Downloader::new(pull::endpoint())?;
    let file = dl.pick_file(&spec)?;
    let name = name.unwrap_or_else(|| registry::name_from_path(Path::new(&file)));
    check_free(&reg, &name)?;
    let dest = pull::dest_path(&registry::models_dir(data_dir), &spec.repo, &file)?;
    let sha = dl.download(&spec.repo, &file, &dest, sha256, progress)?;
    let mut entry = registry::describe(&dest, name, Some(sha))
        .with_context(|| format!("downloaded {} but it is not a usable GGUF", dest.display()))?;
    entry.source = Some(format!("{}:{}", spec.repo, file));
    record(data_dir, &mut reg, entry)
}

fn check_free(reg: &Registry, name: &str) -> Result<()> {
    registry::check_name(name)?;
    if reg.models.iter().any(|m| m.name == name) {
        bail!("a model named {name:?} is already registered; pick another name with --name");
    }
    Ok(())
}

fn record(data_dir: &Path, reg: &mut Registry, entry: ModelEntry) -> Result<(ModelEntry, bool)> {
    let becomes_default = reg.default.is_none();
    reg.add(entry.clone())?;
    reg.save(data_dir)?;
    Ok((entry, becomes_default))
}
