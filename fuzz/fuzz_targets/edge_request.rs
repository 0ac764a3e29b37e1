//! The edge's extract request validation (`POST /v1/extract` bodies) on arbitrary JSON: every
//! refusal is a 4xx with the API's codes, and an accepted request has a fetchable http(s) source,
//! a safe file name and a known priority.
#![no_main]

use converso_edge::fuzzing::{extract_request, name_from_url, sanitize_filename, status_of};
use libfuzzer_sys::fuzz_target;

fn check_name(name: &str) {
    assert!(name.chars().count() <= 100);
    assert!(!name.chars().any(|c| c.is_control() || "/\\\"':*?<>|".contains(c)), "{name:?}");
}

fuzz_target!(|data: &[u8]| {
    let Some((&flags, body)) = data.split_first() else {
        return;
    };
    if let Ok(text) = std::str::from_utf8(body) {
        check_name(&sanitize_filename(text, "mp3"));
    }
    let Ok(body) = serde_json::from_slice::<serde_json::Value>(body) else {
        return;
    };
    match extract_request(&body, flags & 1 == 1) {
        Ok(r) => {
            assert!(r.source_url.starts_with("http://") || r.source_url.starts_with("https://"));
            assert!(["low", "normal", "high"].contains(&r.priority.as_str()));
            if let Some(f) = &r.filename {
                assert!(!f.is_empty());
                check_name(f);
            }
            if let Some(name) = name_from_url(&r.source_url, "mp3") {
                check_name(&name);
            }
        }
        Err(e) => {
            let status = status_of(e.error.code);
            assert!((400..500).contains(&status), "{:?} is a {status}", e.error.code);
        }
    }
});
