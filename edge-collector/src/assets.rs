//! The tracker files (`/tracker.js`, `/tracker_bg.wasm`, …), served from the `ASSETS` binding of this
//! same deploy, with CORS (the wasm is fetched by pages on the shop's origin) and caching headers.

use worker::{Env, Headers, Request, Response, Result};

/// Serves a static file, or 404.
pub async fn serve(req: Request, env: &Env) -> Result<Response> {
    let resp = env
        .assets(crate::bindings::ASSETS)?
        .fetch_request(req)
        .await?;
    let status = resp.status_code();
    // A fetched response's headers are immutable: copy them into a new response.
    let headers = Headers::new();
    for (k, v) in resp.headers().entries() {
        headers.append(&k, &v)?;
    }
    headers.set("Access-Control-Allow-Origin", "*")?;
    if status == 200 {
        // Short cache: a new deploy reaches every shop page within minutes.
        headers.set("Cache-Control", "public, max-age=300")?;
    }
    let (_, body) = resp.into_parts();
    Ok(Response::from_body(body)?
        .with_status(status)
        .with_headers(headers))
}
