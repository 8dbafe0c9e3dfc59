//! The Mindbox v3 operations API client: the one place that builds a request with the secret key.
//!
//! `POST {MINDBOX_API_BASE}/v3/operations/{async|sync}?endpointId&operation&deviceUUID[&transactionId&dateTimeOffset]`
//! with `Authorization: SecretKey …`, `X-Customer-IP`, the shopper's `User-Agent` and the
//! `Mindbox-Integration` headers; the JSON body is the operation's data. The call is abandoned after
//! `MINDBOX_TIMEOUT_MS`.

use std::time::Duration;

use worker::js_sys;
use worker::url;
use worker::wasm_bindgen::{self, prelude::wasm_bindgen, JsCast, JsValue};
use worker::wasm_bindgen_futures::JsFuture;

use crate::config::Config;
use crate::delivery::failure::Failure;

/// Which Mindbox endpoint.
#[derive(Clone, Copy, Debug)]
pub enum Mode {
    /// `/v3/operations/async`: queued at Mindbox, answer carries only a status.
    Async,
    /// `/v3/operations/sync`: the answer carries data.
    Sync,
}

/// One operation call.
pub struct Call<'a> {
    /// Async or sync.
    pub mode: Mode,
    /// Operation system name.
    pub operation: &'a str,
    /// The shopper's device id.
    pub device_uuid: &'a str,
    /// Idempotency key (the event id) for async calls.
    pub transaction_id: Option<&'a str>,
    /// For async calls: milliseconds between the event's making and this attempt (`dateTimeOffset`,
    /// as Mindbox's mobile SDKs send it), so Mindbox records the event at the time it happened.
    pub date_time_offset_ms: Option<u64>,
    /// The JSON body.
    pub body: &'a serde_json::Value,
    /// For `X-Customer-IP`.
    pub client_ip: Option<&'a str>,
    /// The shopper's browser.
    pub user_agent: Option<&'a str>,
}

/// What Mindbox answered.
pub struct Answer {
    /// HTTP status.
    pub status: u16,
    /// The body as text.
    pub body: String,
    /// `Retry-After`, if sent.
    pub retry_after: Option<String>,
}

impl Call<'_> {
    /// Sends the call; `Err` says why no answer came: [`Failure::Collector`] when the body could not
    /// be written, [`Failure::NoAnswer`] for a connection error or timeout.
    ///
    /// One crossing into JavaScript per call ([`mindbox_fetch`]): measured cheaper than building the
    /// request and reading the answer through `web_sys`, which costs two futures and a dozen calls.
    pub async fn send(&self, config: &Config) -> Result<Answer, Failure> {
        let (url, body) = self.request(config).map_err(Failure::Collector)?;
        let auth = format!("SecretKey {}", config.secret_key.expose());
        let got = JsFuture::from(mindbox_fetch(
            &url,
            &auth,
            env!("CARGO_PKG_VERSION"),
            self.client_ip,
            self.user_agent,
            &body,
            config.timeout_ms,
        ))
        .await
        .unwrap_or(JsValue::NULL);
        let got: js_sys::Array = match got.dyn_into() {
            Ok(a) => a,
            Err(_) => return Err(Failure::NoAnswer("connection error: no answer".into())),
        };
        let first = got.get(0);
        if let Some(status) = first.as_f64() {
            return Ok(Answer {
                status: status as u16,
                retry_after: got.get(1).as_string(),
                body: got.get(2).as_string().unwrap_or_default(),
            });
        }
        if first.as_string().as_deref() == Some("timeout") {
            let timeout = Duration::from_millis(config.timeout_ms.into());
            return Err(Failure::NoAnswer(format!(
                "Mindbox did not answer within {timeout:?}"
            )));
        }
        let why = got.get(1).as_string().unwrap_or_default();
        Err(Failure::NoAnswer(format!("connection error: {why}")))
    }

    /// The request's URL, with the query parameters, and its JSON body.
    fn request(&self, config: &Config) -> Result<(String, String), String> {
        let path = match self.mode {
            Mode::Async => "async",
            Mode::Sync => "sync",
        };
        // The query is appended to the base URL as text: `MINDBOX_API_BASE` was parsed once, with
        // the configuration, not for every call.
        let mut query = url::form_urlencoded::Serializer::new(format!(
            "{}/v3/operations/{path}?",
            config.api_base
        ));
        query
            .append_pair("endpointId", &config.endpoint_id)
            .append_pair("operation", self.operation)
            .append_pair("deviceUUID", self.device_uuid);
        if let Some(t) = self.transaction_id {
            query.append_pair("transactionId", t);
        }
        if let Some(o) = self.date_time_offset_ms {
            query.append_pair("dateTimeOffset", &o.to_string());
        }
        let url = query.finish();
        let body = serde_json::to_string(self.body).map_err(|e| e.to_string())?;
        Ok((url, body))
    }
}

/// The call itself: `POST` with the headers (the secret key in `auth`), answered `[status,
/// Retry-After, body]`, or `["timeout"]` when the runtime's timer (`AbortSignal.timeout`, the answer's
/// body included) aborted it, or `["error", message]` when no answer came. It never rejects.
#[wasm_bindgen(inline_js = r#"
export function mindboxFetch(url, auth, version, ip, ua, body, timeoutMs) {
  const signal = AbortSignal.timeout(timeoutMs);
  const headers = {
    "Content-Type": "application/json; charset=utf-8",
    Accept: "application/json",
    Authorization: auth,
    "Mindbox-Integration": "MindboxEdge",
    "Mindbox-Integration-Version": version,
  };
  if (ip != null) headers["X-Customer-IP"] = ip;
  if (ua != null) headers["User-Agent"] = ua;
  const failed = (e) => [signal.aborted ? "timeout" : "error", String(e)];
  try {
    return fetch(url, { method: "POST", headers, body, signal }).then(
      (r) =>
        r.text().then(
          (text) => [r.status, r.headers.get("Retry-After"), text],
          (e) => (signal.aborted ? failed(e) : [r.status, r.headers.get("Retry-After"), ""]),
        ),
      failed,
    );
  } catch (e) {
    return Promise.resolve(failed(e));
  }
}
"#)]
extern "C" {
    #[wasm_bindgen(js_name = mindboxFetch)]
    fn mindbox_fetch(
        url: &str,
        auth: &str,
        version: &str,
        ip: Option<&str>,
        ua: Option<&str>,
        body: &str,
        timeout_ms: u32,
    ) -> js_sys::Promise;
}
