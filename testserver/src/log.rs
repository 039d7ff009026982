//! The server's log: refused queries, unsupported endpoints and proxy problems go to standard
//! error (visible in test output), unless `ESHUNT_TESTSERVER_QUIET` is set.

/// Logs a warning line.
pub(crate) fn warn(message: &str) {
    if std::env::var_os("ESHUNT_TESTSERVER_QUIET").is_none() {
        eprintln!("eshunt-testserver: {message}");
    }
}
