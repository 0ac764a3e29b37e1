//! Reading and validating request bodies: size, content type, JSON, and the extract request's
//! fields, with the error code and field name the API documents for each failure.

use converso_core::{ErrorCode, ExtractOptions};
use serde_json::{Map, Value};
use worker::Request;

use crate::envelope::ApiError;
use crate::fetch_guard;

/// Largest accepted request body.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// The body as JSON, after the content-type and size checks.
pub async fn json_body(req: &mut Request) -> Result<Value, ApiError> {
    let ct = req.headers().get("Content-Type")?.unwrap_or_default();
    if !ct.to_ascii_lowercase().starts_with("application/json") {
        return Err(ApiError::new(ErrorCode::UnsupportedMediaType, "the request body must be JSON")
            .details("send Content-Type: application/json"));
    }
    let declared: Option<usize> = req.headers().get("Content-Length")?.and_then(|v| v.parse().ok());
    let too_large = || {
        ApiError::new(ErrorCode::PayloadTooLarge, "the request body is too large")
            .details(format!("at most {MAX_BODY_BYTES} bytes"))
    };
    if declared.is_some_and(|n| n > MAX_BODY_BYTES) {
        return Err(too_large());
    }
    let bytes = req.bytes().await?;
    if bytes.len() > MAX_BODY_BYTES {
        return Err(too_large());
    }
    serde_json::from_slice(&bytes).map_err(|e| {
        ApiError::new(ErrorCode::InvalidRequest, "the request body is not valid JSON").details(e.to_string())
    })
}

/// A validated extraction request.
#[derive(Clone, Debug)]
pub struct ExtractRequest {
    pub source_url: String,
    /// The `output` object as received (echoed in status).
    pub output_json: Value,
    pub filename: Option<String>,
    pub webhook: Option<String>,
    pub priority: String,
}

fn invalid(code: ErrorCode, message: impl Into<String>) -> ApiError {
    ApiError::new(code, message)
}

fn object<'a>(v: &'a Value, field: &str, required: bool) -> Result<Option<&'a Map<String, Value>>, ApiError> {
    match v.get(field) {
        None | Some(Value::Null) if !required => Ok(None),
        None | Some(Value::Null) => Err(invalid(ErrorCode::InvalidRequest, format!("{field} is required"))),
        Some(Value::Object(m)) => Ok(Some(m)),
        Some(_) => Err(invalid(ErrorCode::InvalidRequest, format!("{field} must be an object"))),
    }
}

/// Validates a webhook URL (`INVALID_WEBHOOK`).
pub fn webhook(v: &Value, field: &str, allow_loopback: bool) -> Result<Option<String>, ApiError> {
    match v {
        Value::Null => Ok(None),
        Value::String(s) => fetch_guard::check(s, allow_loopback).map(|u| Some(u.to_string())).map_err(|why| {
            invalid(ErrorCode::InvalidWebhook, format!("{field} is not an acceptable webhook URL")).details(why)
        }),
        _ => Err(invalid(ErrorCode::InvalidWebhook, format!("{field} must be a URL string"))),
    }
}

/// Validates an extract request body (also each job of a batch).
pub fn extract_request(body: &Value, allow_loopback: bool) -> Result<ExtractRequest, ApiError> {
    if !body.is_object() {
        return Err(invalid(ErrorCode::InvalidRequest, "the body must be a JSON object"));
    }
    let source =
        object(body, "source", true)?.ok_or_else(|| invalid(ErrorCode::InvalidRequest, "source is required"))?;
    let source_url = match source.get("type").and_then(Value::as_str) {
        Some("url") => {
            let url = source.get("url").and_then(Value::as_str).ok_or_else(|| {
                invalid(ErrorCode::InvalidSource, "source.url is required when source.type is \"url\"")
            })?;
            fetch_guard::check(url, allow_loopback)
                .map_err(|why| invalid(ErrorCode::InvalidSource, "source.url cannot be fetched").details(why))?
                .to_string()
        }
        Some("upload") => {
            return Err(invalid(ErrorCode::InvalidSource, "source.type \"upload\" is not available yet")
                .details("use source.type \"url\""));
        }
        Some(other) => {
            return Err(invalid(ErrorCode::InvalidSource, format!("source.type \"{other}\" is not supported"))
                .details("allowed: url"));
        }
        None => return Err(invalid(ErrorCode::InvalidSource, "source.type is required").details("allowed: url")),
    };
    let output_map =
        object(body, "output", true)?.ok_or_else(|| invalid(ErrorCode::InvalidRequest, "output is required"))?;
    let output_json = Value::Object(output_map.clone());
    let output = ExtractOptions::from_json(&output_json.to_string())?;
    let options = object(body, "options", false)?;
    let get = |k: &str| options.and_then(|o| o.get(k)).unwrap_or(&Value::Null);
    let filename = match get("filename") {
        Value::Null => None,
        Value::String(s) => Some(sanitize_filename(s, output.format.extension())).filter(|s| !s.is_empty()),
        _ => return Err(invalid(ErrorCode::InvalidRequest, "options.filename must be a string")),
    };
    let webhook = webhook(get("webhook"), "options.webhook", allow_loopback)?;
    let priority = match get("priority") {
        Value::Null => "normal".to_string(),
        Value::String(p) if ["low", "normal", "high"].contains(&p.as_str()) => p.clone(),
        _ => {
            return Err(invalid(ErrorCode::InvalidRequest, "options.priority is not valid")
                .details("allowed: low, normal, high"));
        }
    };
    Ok(ExtractRequest { source_url, output_json, filename, webhook, priority })
}

/// A safe output name: no path separators, quotes, control characters, invisible or
/// direction-changing characters; at most 100 characters; the format's extension removed if the
/// caller included it.
pub fn sanitize_filename(name: &str, extension: &str) -> String {
    let cleaned: String = name
        .chars()
        .filter(|&c| {
            !c.is_control()
                && !is_invisible_format(c)
                && !matches!(c, '/' | '\\' | '"' | '\'' | ':' | '*' | '?' | '<' | '>' | '|')
        })
        .collect();
    let trimmed = cleaned.trim().trim_matches('.');
    let without_ext = trimmed.strip_suffix(&format!(".{extension}")).unwrap_or(trimmed);
    without_ext.chars().take(100).collect::<String>().trim().to_string()
}

/// Zero-width and bidirectional formatting characters: a right-to-left override makes
/// `x\u{202e}3pm.exe` show as `xexe.mp3`.
fn is_invisible_format(c: char) -> bool {
    matches!(c, '\u{061c}' | '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2060}'..='\u{2069}' | '\u{feff}')
}

/// The default output name: the source URL's file name without its extension.
pub fn name_from_url(url: &str, extension: &str) -> Option<String> {
    let parsed = url::Url::parse(url).ok()?;
    let last = parsed.path_segments()?.rev().find(|s| !s.is_empty())?;
    let decoded = percent_encoding::percent_decode_str(last).decode_utf8_lossy().into_owned();
    let stem = match decoded.rsplit_once('.') {
        Some((stem, _)) if !stem.is_empty() => stem.to_string(),
        _ => decoded,
    };
    Some(sanitize_filename(&stem, extension)).filter(|s| !s.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filenames_are_made_safe() {
        assert_eq!(sanitize_filename("my-audio-file", "mp3"), "my-audio-file");
        assert_eq!(sanitize_filename("../../etc/passwd", "mp3"), "etcpasswd");
        assert_eq!(sanitize_filename("a\"b\r\nc.mp3", "mp3"), "abc");
        assert_eq!(sanitize_filename("Größe", "mp3"), "Größe");
        assert_eq!(sanitize_filename("song\u{202e}3pm.exe", "mp3"), "song3pm.exe");
        assert_eq!(sanitize_filename("a\u{200b}b\u{feff}c\u{2066}d", "mp3"), "abcd");
        assert_eq!(name_from_url("https://x.com/a%E2%80%AEb.mp4", "mp3").as_deref(), Some("ab"));
        assert_eq!(
            name_from_url("https://x.com/%2e%2e%2f%2e%2e%2fetc%2fpasswd.mp4", "mp3").as_deref(),
            Some("etcpasswd")
        );
        assert_eq!(name_from_url("https://x.com/a%0d%0aSet-Cookie:%20x.mp4", "mp3").as_deref(), Some("aSet-Cookie x"));
        assert_eq!(name_from_url("https://x.com/v/My%20Video.mp4?a=1", "mp3").as_deref(), Some("My Video"));
        assert_eq!(name_from_url("https://x.com/", "mp3"), None);
    }
}
