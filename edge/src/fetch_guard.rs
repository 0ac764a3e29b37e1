//! Which URLs the service may fetch (sources) or post to (webhooks): http(s) only, at most
//! 2048 characters, and never private, loopback, link-local, carrier-grade NAT or cloud metadata
//! addresses — in any spelling the URL parser accepts (decimal, hex, IPv4-mapped IPv6, …).
//! Workers cannot resolve DNS, so a public name that resolves to a private address is not
//! caught here; the platform's own egress rules apply to those.

use std::net::{Ipv4Addr, Ipv6Addr};

use url::{Host, Url};

/// Longest accepted URL.
pub const MAX_URL_LEN: usize = 2048;

/// Checks `raw`; `allow_loopback` admits 127.0.0.0/8, ::1 and localhost (local development).
pub fn check(raw: &str, allow_loopback: bool) -> Result<Url, String> {
    if raw.len() > MAX_URL_LEN {
        return Err(format!("the URL has {} characters; at most {MAX_URL_LEN} are allowed", raw.len()));
    }
    let url = Url::parse(raw).map_err(|e| format!("not a valid URL: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!("the {} scheme is not allowed; use http or https", url.scheme()));
    }
    let forbidden = |what: &str| Err(format!("{what} addresses are not allowed"));
    match url.host() {
        None => return Err("the URL has no host".into()),
        Some(Host::Domain(d)) => {
            let d = d.trim_end_matches('.').to_ascii_lowercase();
            if d == "localhost" || d.ends_with(".localhost") {
                if !allow_loopback {
                    return forbidden("loopback");
                }
            } else if d == "metadata.google.internal" || d.ends_with(".internal") {
                return forbidden("internal");
            }
        }
        Some(Host::Ipv4(ip)) => {
            if let Some(kind) = v4_kind(ip) {
                if !(kind == "loopback" && allow_loopback) {
                    return forbidden(kind);
                }
            }
        }
        Some(Host::Ipv6(ip)) => {
            if let Some(kind) = v6_kind(ip) {
                if !(kind == "loopback" && allow_loopback) {
                    return forbidden(kind);
                }
            }
        }
    }
    Ok(url)
}

fn v4_kind(ip: Ipv4Addr) -> Option<&'static str> {
    let o = ip.octets();
    Some(match o {
        [127, ..] => "loopback",
        [10, ..] | [172, 16..=31, ..] | [192, 168, ..] => "private",
        [169, 254, ..] => "link-local",
        [100, 64..=127, ..] => "shared (carrier-grade NAT)",
        [0, ..] => "unspecified",
        [192, 0, 0, _] | [198, 18..=19, ..] => "reserved",
        [224..=255, ..] => "multicast or reserved",
        _ => return None,
    })
}

fn v6_kind(ip: Ipv6Addr) -> Option<&'static str> {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return v4_kind(v4);
    }
    let s = ip.segments();
    // NAT64 (64:ff9b::/96) embeds an IPv4 address.
    if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        return v4_kind(Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8));
    }
    Some(match s[0] {
        _ if ip.is_loopback() => "loopback",
        _ if ip.is_unspecified() => "unspecified",
        0xfc00..=0xfdff => "private (unique local)",
        0xfe80..=0xfebf => "link-local",
        0xff00..=0xffff => "multicast",
        _ if s[..6] == [0; 6] => "IPv4-compatible",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ssrf_table() {
        for bad in [
            "http://127.0.0.1/x",
            "http://2130706433/",
            "http://0x7f.1/",
            "http://0177.0.0.1/",
            "http://[::1]/",
            "http://[::ffff:127.0.0.1]/",
            "http://[::ffff:a9fe:a9fe]/",
            "http://[64:ff9b::a00:1]/",
            "http://10.1.2.3/",
            "http://172.20.0.1/",
            "http://192.168.1.1/",
            "http://169.254.169.254/latest/meta-data/",
            "http://100.64.0.1/",
            "http://0.0.0.0/",
            "http://[fd00::1]/",
            "http://[fe80::1]/",
            "http://localhost:8080/",
            "http://a.localhost/",
            "http://metadata.google.internal/",
            "ftp://example.com/x",
            "file:///etc/passwd",
            "javascript:alert(1)",
        ] {
            assert!(check(bad, false).is_err(), "{bad} should be refused");
        }
        for good in ["https://example.com/video.mp4", "http://93.184.216.34/v.mp4", "https://[2606:4700::1]/x"] {
            assert!(check(good, false).is_ok(), "{good} should pass");
        }
        assert!(check(&format!("https://example.com/{}", "a".repeat(2100)), false).is_err());
    }

    #[test]
    fn loopback_only_when_allowed() {
        assert!(check("http://127.0.0.1:9000/v.mp4", true).is_ok());
        assert!(check("http://localhost/v.mp4", true).is_ok());
        assert!(check("http://[::1]/v.mp4", true).is_ok());
        assert!(check("http://10.0.0.1/", true).is_err());
        assert!(check("http://169.254.169.254/", true).is_err());
    }
}
