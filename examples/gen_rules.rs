//! Synthetic detection rules for benchmarks (see `gen_rules/mod.rs` for their shapes).
//!
//! ```text
//! cargo run --release --example gen_rules -- --count 300 --seed 1 --out target/synthetic-rules
//! ```
//!
//! Writes one rule file per rule into `--out` (created; existing `synthetic_*.toml` files are
//! replaced). Load them beside the shipped rules with `eshunt scan --rules queries --rules DIR`.

#[path = "gen_rules/mod.rs"]
mod synthetic;

use clap::Parser;
use std::path::PathBuf;
use std::process::ExitCode;

/// Write synthetic detection rules into a folder.
#[derive(Parser, Debug)]
#[command(name = "gen_rules")]
struct Args {
    /// Number of rules.
    #[arg(long, default_value_t = 300)]
    count: usize,
    /// Seed; the same seed and count give the same rules.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Folder to write the rule files into.
    #[arg(long)]
    out: PathBuf,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let write = || -> std::io::Result<()> {
        std::fs::create_dir_all(&args.out)?;
        for rule in synthetic::rules(args.count, args.seed) {
            std::fs::write(args.out.join(rule.file_name), rule.toml)?;
        }
        Ok(())
    };
    match write() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("gen_rules: {}: {e}", args.out.display());
            ExitCode::FAILURE
        }
    }
}
