//! Why a request got no HTTP answer, in words a person can act on.
//!
//! The HTTP client reports every such failure as "error sending request for url (…)"; the cause
//! lies deeper in its error chain (`reqwest` → `hyper` → an `io` or `rustls` error), reached
//! through [`std::error::Error::source`]. [`describe`] reads that chain into a [`Cause`] —
//! refused, DNS, TLS handshake, untrusted certificate, timeout — and a message naming the URL
//! (without credentials) and the setting to check.

use crate::time::Span;
use std::error::Error;
use std::io;
use url::Url;

/// Why a request got no HTTP answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cause {
    /// Nothing listens at the address: the TCP connection was refused.
    Refused,
    /// The host name does not resolve.
    Dns,
    /// The TLS handshake failed, typically `https://` to a port that speaks plain http.
    TlsHandshake,
    /// The server's TLS certificate is not trusted (unknown authority, expired, another name…).
    Certificate,
    /// No answer within the request timeout.
    Timeout,
    /// Anything else (a connection reset or closed early, a broken answer…).
    Other,
}

impl Cause {
    /// True for causes that show a setup problem — a wrong URL, scheme or CA, a cluster that is
    /// not running — rather than a passing one: retrying within seconds does not mend them.
    pub fn is_setup_problem(self) -> bool {
        matches!(
            self,
            Cause::Refused | Cause::Dns | Cause::TlsHandshake | Cause::Certificate
        )
    }
}

/// A described transport failure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// The cause.
    pub cause: Cause,
    /// What happened, to which URL, and what to check.
    pub message: String,
}

/// Where the cluster's address is set, for the hints.
const URL_HINT: &str = "check `[elasticsearch] urls` in the config, or ESHUNT_ES_URL";

/// Reads the error chain of a failed request. `timeout` is the configured request timeout,
/// named in the message of a timeout.
pub fn describe(error: &(dyn Error + 'static), timeout: Span) -> Failure {
    let cause = cause(error);
    let url = request_url(error).map_or_else(|| "the cluster".to_string(), |u| redacted(&u));
    let detail = innermost(error);
    let message = match cause {
        Cause::Refused => format!(
            "connection refused by {url}: nothing listens there (is the cluster running, on this host and port?); {URL_HINT}"
        ),
        Cause::Dns => format!("cannot resolve the host name of {url} ({detail}); {URL_HINT}"),
        Cause::TlsHandshake => format!(
            "TLS handshake with {url} failed ({detail}): does the server speak TLS on this port? For a cluster on plain http use an http:// URL; {URL_HINT}"
        ),
        Cause::Certificate => format!(
            "the TLS certificate of {url} is not trusted ({detail}): give the cluster's CA certificate with `[elasticsearch] ca_file`"
        ),
        Cause::Timeout => format!(
            "no answer from {url} within {timeout} (`[elasticsearch] request_timeout`)"
        ),
        Cause::Other => format!("request to {url} failed: {}", chain_text(error)),
    };
    Failure { cause, message }
}

/// The cause of the first error in the chain that tells one.
pub fn cause(error: &(dyn Error + 'static)) -> Cause {
    chain(error).find_map(cause_of).unwrap_or(Cause::Other)
}

/// The cause one error of the chain tells, if any.
fn cause_of(error: &(dyn Error + 'static)) -> Option<Cause> {
    if error
        .downcast_ref::<reqwest::Error>()
        .is_some_and(reqwest::Error::is_timeout)
    {
        return Some(Cause::Timeout);
    }
    if let Some(tls) = error.downcast_ref::<rustls::Error>() {
        return Some(tls_cause(tls));
    }
    if let Some(io) = error.downcast_ref::<io::Error>() {
        return io_cause(io);
    }
    // hyper-util's `ConnectError`, a private type, names a failed name resolution so.
    (error.to_string() == "dns error").then_some(Cause::Dns)
}

/// An `io::Error` hides the error it wraps from `source()` (it returns that error's source),
/// so what it wraps is looked into with `get_ref`: the TLS stream wraps its `rustls::Error` in
/// an `io::Error`, which the HTTPS connector wraps in another.
fn io_cause(error: &io::Error) -> Option<Cause> {
    match error.kind() {
        io::ErrorKind::ConnectionRefused => Some(Cause::Refused),
        io::ErrorKind::TimedOut => Some(Cause::Timeout),
        _ => {
            let inner = error.get_ref()?;
            match inner.downcast_ref::<rustls::Error>() {
                Some(tls) => Some(tls_cause(tls)),
                None => inner.downcast_ref::<io::Error>().and_then(io_cause),
            }
        }
    }
}

fn tls_cause(error: &rustls::Error) -> Cause {
    match error {
        rustls::Error::InvalidCertificate(_) => Cause::Certificate,
        _ => Cause::TlsHandshake,
    }
}

/// The URL the client was sending to, from its error.
fn request_url(error: &(dyn Error + 'static)) -> Option<Url> {
    chain(error).find_map(|e| e.downcast_ref::<reqwest::Error>()?.url().cloned())
}

/// A URL for messages: no user name or password, no query string or fragment.
pub fn redacted(url: &Url) -> String {
    let mut url = url.clone();
    // Both fail only for URLs that cannot hold credentials at all.
    let _ = url.set_username("");
    let _ = url.set_password(None);
    url.set_query(None);
    url.set_fragment(None);
    url.to_string()
}

fn chain<'a>(error: &'a (dyn Error + 'static)) -> impl Iterator<Item = &'a (dyn Error + 'static)> {
    std::iter::successors(Some(error), |&e| e.source())
}

/// The deepest error's message (e.g. the resolver's or the TLS library's own words).
fn innermost(error: &(dyn Error + 'static)) -> String {
    chain(error)
        .last()
        .map_or_else(String::new, |e| e.to_string())
}

/// The messages of the chain below the HTTP client's own error (whose text repeats the whole
/// URL, query string included), outermost first, each once.
fn chain_text(error: &(dyn Error + 'static)) -> String {
    let below_client = chain(error)
        .position(|e| e.is::<reqwest::Error>())
        .map_or(0, |at| at + 1);
    let mut parts: Vec<String> = Vec::new();
    for e in chain(error).skip(below_client) {
        let text = e.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
    }
    if parts.is_empty() {
        return "the HTTP client gave no reason".into();
    }
    parts.join(": ")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An error with a source, as the client's layers are.
    #[derive(Debug)]
    struct Layer(&'static str, Box<dyn Error + Send + Sync>);

    impl std::fmt::Display for Layer {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str(self.0)
        }
    }

    impl Error for Layer {
        fn source(&self) -> Option<&(dyn Error + 'static)> {
            Some(&*self.1)
        }
    }

    fn timeout() -> Span {
        Span::parse("60s").unwrap()
    }

    #[test]
    fn an_untrusted_certificate_names_the_ca_setting() {
        let tls = rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer);
        // As the HTTPS connector hands it over: the TLS stream's io error, wrapped again.
        let stream_error = io::Error::new(io::ErrorKind::InvalidData, tls);
        let error = Layer(
            "client error (Connect)",
            Box::new(io::Error::other(stream_error)),
        );
        let failure = describe(&error, timeout());
        assert_eq!(failure.cause, Cause::Certificate);
        assert!(failure.message.contains("UnknownIssuer"), "{failure:?}");
        assert!(failure.message.contains("ca_file"), "{failure:?}");
    }

    #[test]
    fn a_corrupt_handshake_is_a_tls_handshake_failure() {
        let tls = rustls::Error::InvalidMessage(rustls::InvalidMessage::InvalidContentType);
        let error = Layer("client error (Connect)", Box::new(tls));
        assert_eq!(cause(&error), Cause::TlsHandshake);
    }

    #[test]
    fn io_kinds_and_the_resolver_error_are_read() {
        let refused = Layer(
            "tcp connect error",
            Box::new(io::Error::from(io::ErrorKind::ConnectionRefused)),
        );
        assert_eq!(cause(&refused), Cause::Refused);
        let dns = Layer(
            "client error (Connect)",
            Box::new(Layer(
                "dns error",
                Box::new(io::Error::other("no such host")),
            )),
        );
        let failure = describe(&dns, timeout());
        assert_eq!(failure.cause, Cause::Dns);
        assert!(failure.message.contains("(no such host)"), "{failure:?}");
        let reset = Layer(
            "client error (SendRequest)",
            Box::new(io::Error::from(io::ErrorKind::ConnectionReset)),
        );
        let failure = describe(&reset, timeout());
        assert_eq!(failure.cause, Cause::Other);
        assert!(failure.message.contains("SendRequest"), "{failure:?}");
        assert!(!Cause::Other.is_setup_problem() && !Cause::Timeout.is_setup_problem());
    }

    #[test]
    fn urls_in_messages_carry_no_credentials() {
        let url = Url::parse("https://elastic:changeme@es.example:9200/_search?scroll=1m").unwrap();
        assert_eq!(redacted(&url), "https://es.example:9200/_search");
    }
}
