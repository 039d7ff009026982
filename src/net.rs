//! IP addresses and CIDR blocks, for the `cidr` operator.

use std::net::IpAddr;

/// An address block such as `10.0.0.0/8` or `2001:db8::/32` (a bare address is a /32 or /128).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    network: IpAddr,
    prefix: u8,
}

/// Why a CIDR block is invalid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid CIDR block `{text}`: {reason}")]
pub struct CidrError {
    /// The offending text.
    pub text: String,
    /// What is wrong.
    pub reason: &'static str,
}

impl Cidr {
    /// Parses `addr/prefix` or a bare address.
    pub fn parse(text: &str) -> Result<Cidr, CidrError> {
        let error = |reason| CidrError {
            text: text.to_string(),
            reason,
        };
        let (addr, prefix) = match text.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (text, None),
        };
        let network: IpAddr = addr
            .trim()
            .parse()
            .map_err(|_| error("not an IP address"))?;
        let max = if network.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            Some(p) => p
                .trim()
                .parse::<u8>()
                .ok()
                .filter(|&p| p <= max)
                .ok_or_else(|| error("the prefix length is out of range"))?,
            None => max,
        };
        Ok(Cidr { network, prefix })
    }

    /// True when `ip` is inside the block (an IPv4 address never matches an IPv6 block).
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.network, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                masked(u32::from(net).into(), self.prefix, 32)
                    == masked(u32::from(ip).into(), self.prefix, 32)
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                masked(u128::from(net), self.prefix, 128)
                    == masked(u128::from(ip), self.prefix, 128)
            }
            _ => false,
        }
    }
}

impl std::fmt::Display for Cidr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.network, self.prefix)
    }
}

fn masked(bits: u128, prefix: u8, width: u32) -> u128 {
    if prefix == 0 {
        return 0;
    }
    let shift = width - u32::from(prefix);
    (bits >> shift) << shift
}

/// Parses an IP address as CloudTrail writes it in `sourceIPAddress` (surrounding spaces
/// tolerated). Service names such as `lambda.amazonaws.com` are not addresses.
pub fn parse_ip(text: &str) -> Option<IpAddr> {
    text.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inside(block: &str, ip: &str) -> bool {
        Cidr::parse(block).unwrap().contains(ip.parse().unwrap())
    }

    #[test]
    fn ipv4_and_ipv6_blocks() {
        assert!(inside("10.0.0.0/8", "10.255.0.1"));
        assert!(!inside("10.0.0.0/8", "11.0.0.1"));
        assert!(inside("0.0.0.0/0", "8.8.8.8"));
        assert!(inside("203.0.113.7", "203.0.113.7"));
        assert!(!inside("203.0.113.7", "203.0.113.8"));
        assert!(inside("2001:db8::/32", "2001:db8:ffff::1"));
        assert!(!inside("2001:db8::/32", "10.0.0.1"));
        assert!(inside("::/0", "::1"));
    }

    #[test]
    fn rejects_bad_blocks() {
        for bad in ["10.0.0.0/33", "nope", "10.0.0.0/x", "::/129"] {
            assert!(Cidr::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn service_names_are_not_addresses() {
        assert_eq!(parse_ip("lambda.amazonaws.com"), None);
        assert!(parse_ip(" 203.0.113.1 ").is_some());
    }
}
