//! The `eshunt` command line. Each command lives in its own module under `cli/` and only parses
//! arguments, calls the library and prints.

mod cli;

fn main() -> std::process::ExitCode {
    cli::main()
}
