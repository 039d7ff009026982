//! `eshunt kql`: translate KQL to the Elasticsearch query DSL Kibana would run.

use super::{exit, with_stdout};

/// Arguments of `eshunt kql`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The KQL query (quote it for the shell); it may start with `-`.
    #[arg(value_name = "QUERY", allow_hyphen_values = true)]
    query: String,
    /// Print the DSL on one line instead of pretty-printed.
    #[arg(long)]
    compact: bool,
}

/// Runs `eshunt kql`: the DSL on stdout, or Kibana's error text on stderr and exit 1.
pub fn run(args: Args) -> u8 {
    with_stdout(|out| match esquery::kql::translate(&args.query) {
        Ok(dsl) => {
            let text = if args.compact {
                dsl.to_string()
            } else {
                serde_json::to_string_pretty(&dsl).unwrap_or_else(|_| dsl.to_string())
            };
            writeln!(out, "{text}")?;
            Ok(exit::OK)
        }
        Err(e) => {
            eprintln!("{e}");
            Ok(exit::FAILURE)
        }
    })
}
