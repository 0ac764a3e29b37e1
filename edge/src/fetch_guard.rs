//! Which URLs the service may fetch (sources) or post to (webhooks): http(s) only, at most
//! 2048 characters, and never private, loopback, link-local, carrier-grade NAT, reserved or cloud
//! metadata addresses — in any spelling the URL parser accepts (decimal, octal, hex, trailing
//! dots, IPv4-mapped, -compatible or -translated IPv6, NAT64, 6to4) — nor local names
//! (`localhost`, names without a dot, `.local`, `.internal`, …). The check runs on the host the
//! URL parser (WHATWG, as `fetch`) finds, so userinfo (`http://x@127.0.0.1/`) cannot hide it.
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
            } else if !d.contains('.') || LOCAL_SUFFIXES.iter().any(|s| d.ends_with(s)) {
                // Single-label names (`metadata`, `ip6-localhost`) only resolve on local networks.
                return forbidden("local name");
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

/// Domains that name hosts of a local network, never of the public internet.
const LOCAL_SUFFIXES: [&str; 5] = [".internal", ".local", ".localdomain", ".home.arpa", ".lan"];

fn v4_kind(ip: Ipv4Addr) -> Option<&'static str> {
    let o = ip.octets();
    Some(match o {
        [127, ..] => "loopback",
        [10, ..] | [172, 16..=31, ..] | [192, 168, ..] => "private",
        [169, 254, ..] => "link-local",
        [100, 64..=127, ..] => "shared (carrier-grade NAT)",
        [0, ..] => "unspecified",
        [192, 0, 0, _] | [198, 18..=19, ..] | [192, 88, 99, _] => "reserved",
        [192, 0, 2, _] | [198, 51, 100, _] | [203, 0, 113, _] => "documentation",
        [224..=255, ..] => "multicast or reserved",
        _ => return None,
    })
}

fn v6_kind(ip: Ipv6Addr) -> Option<&'static str> {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return v4_kind(v4);
    }
    let s = ip.segments();
    let v4 = |hi: u16, lo: u16| Ipv4Addr::new((hi >> 8) as u8, hi as u8, (lo >> 8) as u8, lo as u8);
    // Forms that embed an IPv4 address are judged by it: NAT64 (64:ff9b::/96), IPv4-translated
    // (::ffff:0:0/96) and 6to4 (2002::/16).
    if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] || s[..6] == [0, 0, 0, 0, 0xffff, 0] {
        return v4_kind(v4(s[6], s[7]));
    }
    if s[0] == 0x2002 {
        return v4_kind(v4(s[1], s[2]));
    }
    Some(match s[0] {
        _ if ip.is_loopback() => "loopback",
        _ if ip.is_unspecified() => "unspecified",
        _ if s[..6] == [0; 6] => "IPv4-compatible",
        0x0064 if s[1] == 0xff9b && s[2] == 1 => "local-use NAT64",
        0x0100 if s[1..4] == [0; 3] => "discard-only",
        // Teredo hides its IPv4 addresses (one of them inverted): the whole prefix is refused.
        0x2001 if s[1] == 0 => "Teredo",
        0x2001 if s[1] == 0x0db8 => "documentation",
        0xfc00..=0xfdff => "private (unique local)",
        0xfe80..=0xfebf => "link-local",
        0xfec0..=0xfeff => "site-local",
        0xff00..=0xffff => "multicast",
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
            // Unique-local, link-local and site-local IPv6, 169.254.0.0/16 beyond the metadata address.
            "http://[fc00::1]/",
            "http://[fdff:ffff::1]/",
            "http://[febf::1]/",
            "http://[fec0::1]/",
            "http://169.254.0.1/",
            // IPv4 inside IPv6: mapped, compatible, translated, NAT64 (well-known and local-use), 6to4, Teredo.
            "http://[::ffff:10.0.0.1]/",
            "http://[::ffff:7f00:1]/",
            "http://[0:0:0:0:0:ffff:127.0.0.1]/",
            "http://[::127.0.0.1]/",
            "http://[::ffff:0:127.0.0.1]/",
            "http://[::ffff:0:a9fe:a9fe]/",
            "http://[64:ff9b::127.0.0.1]/",
            "http://[64:ff9b::10.0.0.1]/",
            "http://[64:ff9b::169.254.169.254]/",
            "http://[64:ff9b:1::a00:1]/",
            "http://[2002:7f00:1::]/",
            "http://[2002:a9fe:a9fe::1]/",
            "http://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/",
            "http://[100::1]/",
            // Octal, hex, decimal, percent-encoded and full-width IPv4 spellings.
            "http://0177.0.0.01/",
            "http://0x7f.0x0.0x0.0x1/",
            "http://017700000001/",
            "http://0xa9fea9fe/",
            "http://167772161/",
            "http://0/",
            "http://%31%32%37.0.0.1/",
            "http://\u{ff11}\u{ff12}\u{ff17}.\u{ff10}.\u{ff10}.\u{ff11}/",
            // Trailing dots.
            "http://127.0.0.1./",
            "http://localhost./",
            "http://foo.localhost./",
            "http://169.254.169.254./",
            // The host is what follows the userinfo.
            "http://x@127.0.0.1/",
            "http://example.com@127.0.0.1/",
            "http://x:y@[::1]/",
            "http://example.com:80@10.0.0.1/",
            // Local names.
            "http://metadata/",
            "http://ip6-localhost/",
            "http://localhost.localdomain/",
            "http://printer.local/",
            "http://router.home.arpa/",
            "http://instance-data./",
            // Documentation and reserved ranges.
            "http://192.0.2.1/",
            "http://198.51.100.1/",
            "http://203.0.113.1/",
            "http://192.88.99.1/",
            "http://[2001:db8::1]/",
            "http://255.255.255.255/",
            "ftp://example.com/x",
            "file:///etc/passwd",
            "javascript:alert(1)",
        ] {
            assert!(check(bad, false).is_err(), "{bad} should be refused");
        }
        for good in [
            "https://example.com/video.mp4",
            "http://93.184.216.34/v.mp4",
            "https://[2606:4700::1]/x",
            "https://example.com./v.mp4",
            "http://127.0.0.1@example.com/v.mp4",
            "http://[::ffff:93.184.216.34]/v.mp4",
            "http://[64:ff9b::93.184.216.34]/v.mp4",
            "http://[2002:5db8:d822::1]/v.mp4",
        ] {
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
