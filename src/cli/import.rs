//! `eshunt import elastic|sigma PATH… --out DIR`: a checkout of a public catalogue becomes
//! eshunt rule files, with a summary of what was imported and what was refused, and why.

use super::{exit, with_stdout};
use eshunt::import::{import, Catalogue};
use std::path::PathBuf;

/// Arguments of `eshunt import`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The catalogue the paths hold.
    #[arg(value_enum)]
    catalogue: Which,
    /// Rule files or folders of the checkout (e.g. `detection-rules/rules/integrations/aws`,
    /// `sigma/rules/cloud/aws/cloudtrail`).
    #[arg(value_name = "PATH", required = true)]
    paths: Vec<PathBuf>,
    /// The folder the eshunt rule files are written to (one per imported rule).
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
}

/// The catalogues `eshunt import` reads.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum Which {
    /// elastic/detection-rules TOML rules.
    Elastic,
    /// SigmaHQ YAML rules (`logsource: product aws, service cloudtrail`).
    Sigma,
}

/// Runs `eshunt import`: the summary on stdout; exit 3 when some file could not be read or
/// translated, 1 when nothing could be written.
pub fn run(args: Args) -> u8 {
    let catalogue = match args.catalogue {
        Which::Elastic => Catalogue::Elastic,
        Which::Sigma => Catalogue::Sigma,
    };
    with_stdout(|out| {
        let report = import(catalogue, &args.paths, &args.out)
            .map_err(|e| format!("cannot write into {}: {e}", args.out.display()))?;
        write!(out, "{}", report.render(&args.out))?;
        Ok(match report.errors.is_empty() {
            true => exit::OK,
            false => exit::PARTIAL,
        })
    })
}
