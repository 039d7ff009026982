//! The server's own view of a request and a response, independent of hyper: what the API
//! handlers, the fault injector, the recorder and the proxy all work on.

use crate::error::EsError;
use bytes::Bytes;
use percent_encoding::percent_decode_str;
use serde_json::Value;
use std::time::Duration;

/// A request whose body has been read.
#[derive(Debug, Clone)]
pub(crate) struct Req {
    /// `GET`, `POST`, … (upper case).
    pub method: String,
    /// The raw path, as sent (percent-encoded).
    pub path: String,
    /// The raw query string, without `?`.
    pub query: String,
    /// Decoded query parameters, in order.
    pub params: Vec<(String, String)>,
    /// The `Authorization` header, if any.
    pub authorization: Option<String>,
    /// The `Content-Type` header, if any.
    pub content_type: Option<String>,
    /// The body.
    pub body: Bytes,
}

impl Req {
    /// Builds a request, decoding the query string.
    pub fn new(method: &str, path: &str, query: &str, body: Bytes) -> Req {
        Req {
            method: method.to_ascii_uppercase(),
            path: path.to_string(),
            query: query.to_string(),
            params: parse_query(query),
            authorization: None,
            content_type: None,
            body,
        }
    }

    /// The percent-decoded, non-empty path segments.
    pub fn segments(&self) -> Vec<String> {
        self.path
            .split('/')
            .filter(|s| !s.is_empty())
            .map(|s| percent_decode_str(s).decode_utf8_lossy().into_owned())
            .collect()
    }

    /// The last value of query parameter `name`.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// A boolean query parameter (`?x`, `?x=true` are true).
    pub fn flag(&self, name: &str) -> Option<bool> {
        self.param(name).map(|v| v.is_empty() || v == "true")
    }

    /// The body as JSON; an empty body is `None`; malformed JSON is ES's 400.
    pub fn json(&self) -> Result<Option<Value>, EsError> {
        if self.body.iter().all(u8::is_ascii_whitespace) {
            return Ok(None);
        }
        serde_json::from_slice(&self.body)
            .map(Some)
            .map_err(|e| EsError::bad_json(&e))
    }

    /// The body as a JSON object (an empty body is `{}`); other JSON values are a 400.
    pub fn json_object(&self) -> Result<serde_json::Map<String, Value>, EsError> {
        match self.json()? {
            None => Ok(serde_json::Map::new()),
            Some(Value::Object(o)) => Ok(o),
            Some(_) => Err(EsError::parsing(
                "request body or source parameter is required",
            )),
        }
    }
}

/// Decodes `a=1&b=x%20y&c` into pairs (`c` has an empty value).
pub(crate) fn parse_query(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            let decode = |s: &str| {
                percent_decode_str(&s.replace('+', " "))
                    .decode_utf8_lossy()
                    .into_owned()
            };
            (decode(k), decode(v))
        })
        .collect()
}

/// A response to send.
#[derive(Debug, Clone)]
pub(crate) struct Resp {
    /// HTTP status.
    pub status: u16,
    /// `Content-Type`.
    pub content_type: String,
    /// Extra headers.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Bytes,
}

impl Resp {
    /// A JSON answer.
    pub fn json(status: u16, body: &Value) -> Resp {
        Resp::raw_json(status, body.to_string())
    }

    /// A JSON answer already serialized.
    pub fn raw_json(status: u16, body: String) -> Resp {
        Resp {
            status,
            content_type: "application/json".to_string(),
            headers: Vec::new(),
            body: Bytes::from(body),
        }
    }

    /// An answer without a body (HEAD).
    pub fn empty(status: u16) -> Resp {
        Resp {
            status,
            content_type: "application/json".to_string(),
            headers: Vec::new(),
            body: Bytes::new(),
        }
    }

    /// An error answer.
    pub fn error(e: &EsError) -> Resp {
        Resp::json(e.status, &e.to_json())
    }

    /// The body as JSON, if it is.
    pub fn body_json(&self) -> Option<Value> {
        serde_json::from_slice(&self.body).ok()
    }

    /// Adds a header.
    pub fn header(mut self, name: &str, value: &str) -> Resp {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }
}

/// Parses an Elasticsearch time value (`30s`, `2m`, `1h`, `500ms`, `1d`; `-1` and `0` allowed).
pub(crate) fn parse_time_value(text: &str, setting: &str) -> Result<Duration, EsError> {
    let t = text.trim();
    if t == "-1" || t == "0" {
        return Ok(Duration::ZERO);
    }
    let units: [(&str, f64); 7] = [
        ("nanos", 1e-9),
        ("micros", 1e-6),
        ("ms", 1e-3),
        ("s", 1.0),
        ("m", 60.0),
        ("h", 3600.0),
        ("d", 86400.0),
    ];
    for (suffix, secs) in units {
        if let Some(n) = t.strip_suffix(suffix) {
            if let Ok(n) = n.trim().parse::<f64>() {
                if n >= 0.0 && n.is_finite() {
                    return Ok(Duration::from_secs_f64(n * secs));
                }
            }
        }
    }
    Err(EsError::new(
        400,
        "parse_exception",
        format!("failed to parse setting [{setting}] with value [{text}] as a time value: unit is missing or unrecognized"),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_values() {
        assert_eq!(
            parse_time_value("2m", "k").unwrap(),
            Duration::from_secs(120)
        );
        assert_eq!(
            parse_time_value("500ms", "k").unwrap(),
            Duration::from_millis(500)
        );
        assert!(parse_time_value("5", "k").is_err());
        assert!(parse_time_value("xs", "k").is_err());
    }

    #[test]
    fn query_strings_decode() {
        let q = parse_query("a=1&b=x%20y&c&d=e+f");
        assert_eq!(q[1], ("b".into(), "x y".into()));
        assert_eq!(q[2], ("c".into(), "".into()));
        assert_eq!(q[3], ("d".into(), "e f".into()));
    }
}
