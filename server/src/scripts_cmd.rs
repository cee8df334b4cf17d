//! `plugboard scripts …`: deploy JS transformers from
//! `scripts/adapters/<provider>/<topic>.js` and list what is stored.
use std::path::PathBuf;
use std::sync::Arc;

use app::domain::scripts::sandbox::{Limits, Sandbox, Script};
use app::domain::scripts::{source, store};
use clap::Subcommand;

use crate::cli::CliError;
use crate::config::Config;

/// `plugboard scripts …`
#[derive(Debug, Subcommand)]
pub enum ScriptsCommand {
    /// Deploy every script under the folder: a new version becomes active;
    /// a changed file with an unchanged @version is refused.
    Deploy {
        /// Show what would change and write nothing.
        #[arg(long)]
        dry_run: bool,
        /// Where the scripts are.
        #[arg(long, default_value = "scripts/adapters")]
        dir: PathBuf,
    },
    /// List every stored version, the active one marked.
    List,
}

pub async fn run(config: Config, command: ScriptsCommand) -> Result<(), CliError> {
    match command {
        ScriptsCommand::Deploy { dry_run, dir } => deploy(config, dry_run, dir).await,
        ScriptsCommand::List => {
            let database = crate::cli::open(&config).await?;
            for s in store::all(&database.conn).await? {
                println!(
                    "{} {}/{} {} sha256:{} deployed by {} at {}",
                    if s.active { "*" } else { " " },
                    s.provider,
                    s.topic,
                    s.version,
                    &s.checksum[..12],
                    s.deployed_by,
                    s.created_at
                );
            }
            Ok(())
        }
    }
}

async fn deploy(config: Config, dry_run: bool, dir: PathBuf) -> Result<(), CliError> {
    let files = source::discover(&dir).map_err(|e| CliError::Usage(e.to_string()))?;
    if files.is_empty() {
        return Err(CliError::Usage(format!(
            "no scripts under {} (expected <provider>/<topic>.js)",
            dir.display()
        )));
    }
    // Every file must compile before anything is written.
    let sandbox = Sandbox::start(Limits {
        workers: 1,
        ..Limits::default()
    });
    let mut broken = Vec::new();
    for f in &files {
        let script = Arc::new(Script {
            checksum: f.checksum.clone(),
            source: f.source.clone(),
        });
        if let Err(e) = sandbox.check(script).await {
            broken.push(format!("{}: {e}", f.path.display()));
        }
    }
    if !broken.is_empty() {
        return Err(CliError::Usage(format!(
            "not deployed, scripts that do not compile:\n  {}",
            broken.join("\n  ")
        )));
    }
    let database = crate::cli::open(&config).await?;
    let plan = store::plan(&database.conn, files).await?;
    for p in &plan {
        println!("{}", p.describe());
    }
    if dry_run {
        println!("dry run: nothing written");
        return Ok(());
    }
    let changed = store::apply(&database.conn, &plan, "cli").await?;
    println!("deployed: {changed} change(s)");
    Ok(())
}
