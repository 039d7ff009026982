//! Identifiers: index uuids, auto-generated document `_id`s, and the opaque ids of points in
//! time and scrolls (base64 of a readable token, as ES ids are base64 of binary data).

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use std::sync::atomic::{AtomicU64, Ordering};

/// A 22-character uuid-looking string derived from `n` (ES index uuids are url-safe base64).
pub(crate) fn uuid_like(n: u64) -> String {
    let a = mix(n ^ 0x5EED_0F1D);
    let b = mix(a ^ n.rotate_left(17));
    let mut bytes = a.to_le_bytes().to_vec();
    bytes.extend_from_slice(&b.to_le_bytes()[..8]);
    URL_SAFE_NO_PAD.encode(&bytes[..16])
}

/// A fresh 20-character document id, like ES's auto-generated ones.
pub(crate) fn auto_id() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(1);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    let mut bytes = mix(nanos ^ n.rotate_left(32)).to_le_bytes().to_vec();
    bytes.extend_from_slice(&n.to_be_bytes()[1..]);
    URL_SAFE_NO_PAD.encode(&bytes[..15])
}

/// The opaque id of a search context: base64 of `eshunt:{kind}:{number}:{generation}`.
pub(crate) fn context_id(kind: &str, number: u64, generation: u64) -> String {
    STANDARD.encode(format!("eshunt:{kind}:{number}:{generation}"))
}

/// Reads a context id of `kind`: `(number, generation)`.
pub(crate) fn parse_context_id(kind: &str, id: &str) -> Option<(u64, u64)> {
    let text = String::from_utf8(STANDARD.decode(id.trim()).ok()?).ok()?;
    let rest = text
        .strip_prefix("eshunt:")?
        .strip_prefix(kind)?
        .strip_prefix(':')?;
    let (n, g) = rest.split_once(':')?;
    Some((n.parse().ok()?, g.parse().ok()?))
}

fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn context_ids_round_trip() {
        let id = context_id("pit", 7, 2);
        assert_eq!(parse_context_id("pit", &id), Some((7, 2)));
        assert_eq!(parse_context_id("scroll", &id), None);
        assert_eq!(parse_context_id("pit", "garbage!"), None);
    }

    #[test]
    fn auto_ids_are_unique_and_20_chars() {
        let a = auto_id();
        let b = auto_id();
        assert_ne!(a, b);
        assert_eq!(a.len(), 20);
        assert_eq!(uuid_like(3).len(), 22);
    }
}
