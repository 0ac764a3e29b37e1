//! The route table: both `/v1/...` and `/audio-extract/v1/...`, one handler per endpoint.

mod batch;
mod download;
mod extract;
mod meta;
mod status;

use converso_core::ErrorCode;
use worker::{Env, Method, Request, Response};

use crate::config::{self, Config};
use crate::envelope::ApiError;
use crate::ids;

pub(crate) use extract::submit;

/// Dispatches a request to its handler.
pub async fn route(req: &mut Request, env: &Env) -> Result<Response, ApiError> {
    let path = req.path();
    let rest = path.strip_prefix("/audio-extract").unwrap_or(&path);
    let Some(rest) = rest.strip_prefix("/v1/") else {
        return Err(not_found(&path));
    };
    let segments: Vec<&str> = rest.trim_end_matches('/').split('/').collect();
    let method = req.method();
    let cfg = Config::from_env(env);
    // Public routes first: they work in maintenance too.
    match segments.as_slice() {
        ["health"] => {
            only(&method, Method::Get, "GET")?;
            return Ok(meta::health(env)?);
        }
        ["openapi.json"] => {
            only(&method, Method::Get, "GET")?;
            return Ok(meta::openapi()?);
        }
        _ => {}
    }
    let (allowed, allow) = match segments.as_slice() {
        ["extract"] | ["batch"] | ["webhooks", _, "redeliver"] => (Method::Post, "POST"),
        ["status", _] | ["download", _] | ["batch", _] => (Method::Get, "GET"),
        _ => return Err(not_found(&path)),
    };
    only(&method, allowed, allow)?;
    if cfg.maintenance {
        return Err(ApiError::new(ErrorCode::ServiceUnavailable, "the service is under maintenance")
            .details("retry after the time in Retry-After"));
    }
    check_bindings(env)?;
    match segments.as_slice() {
        ["extract"] => extract::handle(req, env, &cfg).await,
        ["batch"] => batch::handle(req, env, &cfg).await,
        ["batch", id] => batch::status(req, env, id).await,
        ["status", id] => status::handle(req, env, job_id(id)?).await,
        ["download", id] => download::handle(req, env, job_id(id)?).await,
        ["webhooks", id, "redeliver"] => meta::redeliver(req, env, job_id(id)?).await,
        _ => Err(not_found(&path)),
    }
}

fn only(method: &Method, allowed: Method, allow: &'static str) -> Result<(), ApiError> {
    if *method == allowed || (allowed == Method::Get && *method == Method::Head) {
        return Ok(());
    }
    let mut e = ApiError::new(ErrorCode::MethodNotAllowed, format!("this route accepts {allow} only"));
    e.allow = Some(allow);
    Err(e)
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
