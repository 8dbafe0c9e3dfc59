//! Calling the collector's Durable Objects: one small JSON-over-fetch helper they all share.

use serde::{de::DeserializeOwned, Serialize};
use worker::{Env, Method, Request, RequestInit, Result};

/// POSTs `body` as JSON to `path` on the Durable Object `name` of namespace `binding` and reads the
/// JSON answer.
pub async fn call<B: Serialize, T: DeserializeOwned>(
    env: &Env,
    binding: &str,
    name: &str,
    path: &str,
    body: &B,
) -> Result<T> {
    let stub = env.durable_object(binding)?.get_by_name(name)?;
    let mut init = RequestInit::new();
    init.with_method(Method::Post)
        .with_body(Some(serde_json::to_string(body)?.into()));
    let req = Request::new_with_init(&format!("https://do.internal{path}"), &init)?;
    let mut resp = stub.fetch_with_request(req).await?;
    if resp.status_code() != 200 {
        return Err(worker::Error::RustError(format!(
            "{binding}/{name}{path}: HTTP {} {}",
            resp.status_code(),
            resp.text().await.unwrap_or_default()
        )));
    }
    let text = text(resp).await?;
    Ok(serde_json::from_str(&text)?)
}

/// A response's whole body as text, read by the runtime in one call: cheaper than the `worker`
/// crate's [`worker::Response::text`], which pulls the body through its stream chunk by chunk.
pub async fn text(resp: worker::Response) -> Result<String> {
    let web: worker::web_sys::Response = resp.into();
    let text = worker::wasm_bindgen_futures::JsFuture::from(web.text()?).await?;
    Ok(text.as_string().unwrap_or_default())
}

/// Reads a JSON request body inside a Durable Object.
pub async fn body<T: DeserializeOwned>(req: &mut Request) -> Result<T> {
    let text = req.text().await?;
    Ok(serde_json::from_str(&text)?)
}

/// A JSON answer from a Durable Object.
pub fn json<T: Serialize>(value: &T) -> Result<worker::Response> {
    worker::Response::from_json(value)
}

/// The text entries of a storage read (`get_multiple`, `list`), as `(key, value)`.
pub fn entries(map: &js_sys::Map) -> Vec<(String, String)> {
    let mut out = Vec::new();
    map.for_each(&mut |value, key| {
        if let (Some(k), Some(v)) = (key.as_string(), value.as_string()) {
            out.push((k, v));
        }
    });
    out
}
