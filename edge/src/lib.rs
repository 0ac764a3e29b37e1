//! converso's HTTP API as a Cloudflare Worker: the Converso-compatible routes (see
//! `docs/api.md`), a queue consumer that does the work, and a cron cleanup of expired outputs.

mod auth;
mod config;
mod cors;
mod download;
mod envelope;
mod fetch_guard;
mod ids;
mod jobs;
mod lease;
mod places;
mod process;
mod r2_source;
mod request;
mod routes;
mod webhook;
mod work;

/// Request parsing for the fuzz targets in `fuzz/` (not a stable API).
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing {
    pub use crate::envelope::{status_of, ApiError};
    pub use crate::request::{extract_request, name_from_url, sanitize_filename, ExtractRequest};
}

use worker::{event, Context, Env, MessageBatch, Request, Response, ScheduleContext, ScheduledEvent};

pub use jobs::JobStore;

#[event(fetch)]
pub async fn fetch(mut req: Request, env: Env, _ctx: Context) -> worker::Result<Response> {
    let resp = match routes::route(&mut req, &env).await {
        Ok(resp) => resp,
        Err(e) => envelope::error(&e)?,
    };
    cors::apply(resp)
}

#[event(queue)]
pub async fn queue(batch: MessageBatch<work::Work>, env: Env, _ctx: Context) -> worker::Result<()> {
    work::consume(batch, &env).await
}

#[event(scheduled)]
pub async fn scheduled(_event: ScheduledEvent, env: Env, _ctx: ScheduleContext) {
    if let Err(e) = process::delete_expired_outputs(&env).await {
        worker::console_error!("cleanup failed: {e}");
    }
}
