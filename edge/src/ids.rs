//! Job and batch ids from a CSPRNG (the platform's `crypto.getRandomValues`).

/// `n` random bytes as lowercase hex.
pub fn random_hex(n: usize) -> String {
    let mut bytes = vec![0u8; n];
    // getRandomValues does not fail for small buffers; an all-zero id would still be unique
    // enough to fail loudly in the job store rather than here.
    let _ = getrandom::getrandom(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `job_` + 16 lowercase hex digits.
pub fn new_job_id() -> String {
    format!("job_{}", random_hex(8))
}

/// `batch_` + 16 lowercase hex digits.
pub fn new_batch_id() -> String {
    format!("batch_{}", random_hex(8))
}

/// Whether `id` is well formed: `job_` + 16 ASCII letters or digits (the documented examples use
/// `g`/`h`, so well-formed-but-not-hex ids are "not found", not "invalid").
pub fn is_job_id(id: &str) -> bool {
    id.strip_prefix("job_").is_some_and(|rest| rest.len() == 16 && rest.bytes().all(|b| b.is_ascii_alphanumeric()))
}

/// Whether `id` is a well-formed batch id.
pub fn is_batch_id(id: &str) -> bool {
    id.strip_prefix("batch_").is_some_and(|rest| rest.len() == 16 && rest.bytes().all(|b| b.is_ascii_hexdigit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn job_id_rules() {
        assert!(is_job_id("job_0123456789abcdef"));
        assert!(is_job_id("job_a1b2c3d4e5f6g7h8"));
        assert!(!is_job_id("job_xyz"));
        assert!(!is_job_id("job_a1b2c3d4e5f6g7h!"));
        assert!(!is_job_id("batch_0123456789abcdef"));
    }
}
