//! The route table: every route with its method and the API-key permission it needs, served
//! under both `/v1/...` and `/audio-extract/v1/...`. CORS preflights, the method check,
//! maintenance and authentication are decided here once, for every route, before any handler
//! sees the request.

mod batch;
mod download;
mod extract;
mod meta;
mod status;

use converso_core::ErrorCode;
use worker::{Env, Method, Request, Response};

use crate::auth::{self, Endpoint};
use crate::config::{self, Config};
use crate::cors;
use crate::envelope::ApiError;
use crate::ids;

pub(crate) use extract::submit;

/// Who may call a route.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Access {
    /// Anyone, also in maintenance.
    Public(Public),
    /// A valid API key whose plan allows the endpoint.
    Key(Endpoint),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Public {
    Health,
    OpenApi,
}

/// A route: its path as written in openapi.json (`{name}` matches one path segment), its method
/// (`GET` routes answer `HEAD` too) and who may call it.
struct Route {
    path: &'static str,
    method: Method,
    access: Access,
}

const ROUTES: &[Route] = &[
    Route { path: "/v1/health", method: Method::Get, access: Access::Public(Public::Health) },
    Route { path: "/v1/openapi.json", method: Method::Get, access: Access::Public(Public::OpenApi) },
    Route { path: "/v1/extract", method: Method::Post, access: Access::Key(Endpoint::Extract) },
    Route { path: "/v1/batch", method: Method::Post, access: Access::Key(Endpoint::Batch) },
    Route { path: "/v1/batch/{batchId}", method: Method::Get, access: Access::Key(Endpoint::BatchStatus) },
    Route { path: "/v1/status/{jobId}", method: Method::Get, access: Access::Key(Endpoint::Status) },
    Route { path: "/v1/download/{jobId}", method: Method::Get, access: Access::Key(Endpoint::Download) },
    Route { path: "/v1/webhooks/{jobId}/redeliver", method: Method::Post, access: Access::Key(Endpoint::Redeliver) },
];

impl Route {
    /// The `Allow` header: the route's method, `HEAD` with `GET`, and `OPTIONS` (preflights).
    fn allow(&self) -> &'static str {
        match self.method {
            Method::Get => "GET, HEAD, OPTIONS",
            _ => "POST, OPTIONS",
        }
    }

    fn accepts(&self, method: &Method) -> bool {
        *method == self.method || (self.method == Method::Get && *method == Method::Head)
    }
}

/// The route whose pattern matches `path` (either prefix, trailing `/` ignored), with the value
/// of its one parameter (empty when it has none).
fn find(path: &str) -> Option<(&'static Route, &str)> {
    let path = path.strip_prefix("/audio-extract").unwrap_or(path);
    let path = path.trim_end_matches('/');
    ROUTES.iter().find_map(|r| {
        let (pattern, given): (Vec<&str>, Vec<&str>) = (r.path.split('/').collect(), path.split('/').collect());
        if pattern.len() != given.len() {
            return None;
        }
        let mut param = "";
        for (p, g) in pattern.iter().zip(given) {
            if p.starts_with('{') && !g.is_empty() {
                param = g;
            } else if *p != g {
                return None;
            }
        }
        Some((r, param))
    })
}

/// Dispatches a request to its handler.
pub async fn route(req: &mut Request, env: &Env) -> Result<Response, ApiError> {
    let path = req.path();
    let Some((route, param)) = find(&path) else {
        return Err(not_found(&path));
    };
    let method = req.method();
    if method == Method::Options {
        return Ok(cors::preflight(route.allow())?);
    }
    if !route.accepts(&method) {
        let mut e = ApiError::new(ErrorCode::MethodNotAllowed, format!("this route accepts {} only", route.method));
        e.allow = Some(route.allow());
        return Err(e);
    }
    let endpoint = match route.access {
        Access::Public(Public::Health) => return Ok(meta::health(env)?),
        Access::Public(Public::OpenApi) => return Ok(meta::openapi()?),
        Access::Key(endpoint) => endpoint,
    };
    let cfg = Config::from_env(env);
    if cfg.maintenance {
        return Err(ApiError::new(ErrorCode::ServiceUnavailable, "the service is under maintenance")
            .details("retry after the time in Retry-After"));
    }
    check_bindings(env)?;
    let caller = auth::require_key(req, env, endpoint).await?;
    match endpoint {
        Endpoint::Extract => extract::handle(req, env, &cfg, &caller).await,
        Endpoint::Batch => batch::handle(req, env, &cfg, &caller).await,
        Endpoint::BatchStatus => batch::status(env, &caller, param).await,
        Endpoint::Status => status::handle(env, &caller, job_id(param)?).await,
        Endpoint::Download => download::handle(req, env, &caller, job_id(param)?).await,
        Endpoint::Redeliver => meta::redeliver(env, &caller, job_id(param)?).await,
    }
}

fn not_found(path: &str) -> ApiError {
    ApiError::new(ErrorCode::RouteNotFound, format!("there is no route {path}"))
        .details("see /v1/openapi.json for the routes")
}

/// A well-formed job id, else `INVALID_JOB_ID`.
fn job_id(id: &str) -> Result<&str, ApiError> {
    if ids::is_job_id(id) {
        Ok(id)
    } else {
        Err(ApiError::new(ErrorCode::InvalidJobId, format!("\"{id}\" is not a job id"))
            .details("job ids are job_ followed by 16 letters or digits"))
    }
}

/// Every binding the API needs is present, else `SERVICE_UNAVAILABLE`.
fn check_bindings(env: &Env) -> Result<(), ApiError> {
    let missing: Vec<&str> = [
        (config::KEYS, env.kv(config::KEYS).is_ok()),
        (config::MEDIA, env.bucket(config::MEDIA).is_ok()),
        (config::JOBS, env.durable_object(config::JOBS).is_ok()),
        (config::WORK, env.queue(config::WORK).is_ok()),
    ]
    .into_iter()
    .filter(|(_, ok)| !ok)
    .map(|(name, _)| name)
    .collect();
    if missing.is_empty() {
        return Ok(());
    }
    worker::console_error!("missing bindings: {missing:?}");
    Err(ApiError::new(ErrorCode::ServiceUnavailable, "the service is not fully configured")
        .details(format!("missing bindings: {}", missing.join(", "))))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    /// The router and openapi.json list the same routes, and a route is public in one exactly
    /// when it is in the other: a route added to either without the other fails here (and the
    /// end-to-end auth table, built from openapi.json, then covers it). Every path documents its
    /// CORS preflight, public.
    #[test]
    fn routes_are_those_of_the_openapi_document() {
        let doc: Value = serde_json::from_str(meta::OPENAPI).unwrap_or_default();
        let global_security = doc["security"].as_array().is_some_and(|s| !s.is_empty());
        let keyed =
            |op: &Value| op.get("security").and_then(Value::as_array).map_or(global_security, |s| !s.is_empty());
        let mut documented: Vec<(String, String, bool)> = Vec::new();
        for (path, ops) in doc["paths"].as_object().into_iter().flatten() {
            assert!(ops.get("options").is_some_and(|op| !keyed(op)), "{path}: a public OPTIONS (preflight)");
            for (method, op) in ops.as_object().into_iter().flatten() {
                if ["get", "post", "put", "patch", "delete", "head"].contains(&method.as_str()) {
                    documented.push((path.clone(), method.to_uppercase(), keyed(op)));
                }
            }
        }
        let mut routed: Vec<(String, String, bool)> = ROUTES
            .iter()
            .map(|r| (r.path.to_string(), r.method.to_string(), matches!(r.access, Access::Key(_))))
            .collect();
        documented.sort();
        routed.sort();
        assert!(!routed.is_empty());
        assert_eq!(routed, documented);
        for r in ROUTES {
            assert!(r.allow().starts_with(r.method.as_ref()), "{}: Allow {}", r.path, r.allow());
        }
    }

    #[test]
    fn paths_find_their_route() {
        fn found(p: &str) -> Option<(&'static str, &str)> {
            find(p).map(|(r, param)| (r.path, param))
        }
        assert_eq!(found("/v1/extract"), Some(("/v1/extract", "")));
        assert_eq!(found("/audio-extract/v1/extract/"), Some(("/v1/extract", "")));
        assert_eq!(found("/v1/status/job_x"), Some(("/v1/status/{jobId}", "job_x")));
        assert_eq!(found("/v1/webhooks/j/redeliver"), Some(("/v1/webhooks/{jobId}/redeliver", "j")));
        assert_eq!(found("/v1/batch/b"), Some(("/v1/batch/{batchId}", "b")));
        for none in ["/v1/status", "/v1/status/", "/v1/status/a/b", "/v1/nope", "/v2/extract", "/extract", "/v1//"] {
            assert_eq!(found(none), None, "{none}");
        }
    }
}
