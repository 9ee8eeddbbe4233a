//! Where measurement runs are kept: the `--store` flag shared by `bench` and `runs`.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use sizewise_store::Store;

/// The results store location.
#[derive(Args, Clone, Debug)]
pub struct StoreArgs {
    /// Results store (SQLite) [default: the user data folder, e.g.
    /// ~/.local/share/sizewise/results.sqlite3].
    #[arg(long, value_name = "PATH", env = "SIZEWISE_STORE", global = true)]
    pub store: Option<PathBuf>,
}

impl StoreArgs {
    /// The path in use.
    pub fn path(&self) -> anyhow::Result<PathBuf> {
        match &self.store {
            Some(p) => Ok(p.clone()),
            None => Store::default_path()
                .context("finding the results store\n  hint: pass --store PATH"),
        }
    }

    /// Opens (or creates) the store.
    pub fn open(&self) -> anyhow::Result<Store> {
        let path = self.path()?;
        Store::open(&path).with_context(|| {
            format!(
                "opening the results store {}\n  hint: pass --store PATH to use another file",
                path.display()
            )
        })
    }
}
