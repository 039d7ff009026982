//! The `eshunt` command line. Each command lives in its own module under `cli/` and only parses
//! arguments, calls the library and prints.

// Commands print through `cli::with_stdout`: `println!` panics when stdout is closed.
#![deny(clippy::print_stdout)]

mod cli;

/// Allocation-heavy work (a JSON tree per matching record, a document per alert) runs faster
/// on mimalloc than on the system allocator.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    cli::main()
}
