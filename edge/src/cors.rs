//! CORS: any web page may call the API with its own key. Keys travel in the `X-API-Key` header,
//! never in cookies, so a request from another origin carries no authority of the browser's
//! user: every response allows any origin (`*`, without credentials), and preflights are
//! answered without a key.

use worker::{Cors, Response};

/// Request headers a page may send.
const ALLOWED_HEADERS: [&str; 2] = ["X-API-Key", "Content-Type"];
/// Response headers a page may read besides the CORS-safelisted ones.
const EXPOSED_HEADERS: [&str; 3] = ["Retry-After", "Content-Disposition", "Allow"];
/// How long a browser may cache a preflight (browsers cap it lower: Chromium at 2 hours).
const MAX_AGE_SECONDS: u32 = 86_400;

fn base() -> Cors {
    Cors::new().with_origins(["*"]).with_exposed_headers(EXPOSED_HEADERS)
}

/// Adds the CORS headers every response carries, errors included.
pub fn apply(resp: Response) -> worker::Result<Response> {
    resp.with_cors(&base())
}

/// The answer to `OPTIONS` on a route: 204, the route's methods (`allow`, as in `Allow`), the
/// headers a page may send, and the cache time.
pub fn preflight(allow: &str) -> worker::Result<Response> {
    let methods = allow.split(", ").map(|m| m.to_string().into());
    let cors = base().with_methods(methods).with_allowed_headers(ALLOWED_HEADERS).with_max_age(MAX_AGE_SECONDS);
    let resp = Response::empty()?.with_status(204).with_cors(&cors)?;
    resp.headers().set("Allow", allow)?;
    Ok(resp)
}
