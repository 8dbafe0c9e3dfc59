//! The Mindbox v3 operations API client: the one place that builds a request with the secret key.
//!
//! `POST {MINDBOX_API_BASE}/v3/operations/{async|sync}?endpointId&operation&deviceUUID[&transactionId&dateTimeOffset]`
//! with `Authorization: SecretKey …`, `X-Customer-IP`, the shopper's `User-Agent` and the
//! `Mindbox-Integration` headers; the JSON body is the operation's data. The call is abandoned after
//! `MINDBOX_TIMEOUT_MS`.

use std::time::Duration;

use worker::js_sys;
use worker::wasm_bindgen::{JsCast, JsValue};
use worker::wasm_bindgen_futures::JsFuture;
use worker::{url, web_sys};

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
    /// Sends the call; `Err` says why no answer came: [`Failure::Collector`] when the request could not
    /// even be built (a bad `MINDBOX_API_BASE`), [`Failure::NoAnswer`] for a connection error or timeout.
    ///
    /// Straight through the runtime's `fetch` and `Response`: the `worker` crate's wrappers would
    /// build the request twice and wrap the answer's body in a second `Response`.
    pub async fn send(&self, config: &Config) -> Result<Answer, Failure> {
        let (url, init) = self.request(config).map_err(Failure::Collector)?;
        // The runtime's own timer aborts the call, its answer's body included: no timer of ours to
        // set and clear for every call.
        let signal = web_sys::AbortSignal::timeout_with_u32(config.timeout_ms);
        init.set_signal(Some(&signal));
        let timed_out = || {
            let timeout = Duration::from_millis(config.timeout_ms.into());
            Failure::NoAnswer(format!("Mindbox did not answer within {timeout:?}"))
        };
        let global: web_sys::WorkerGlobalScope = js_sys::global().unchecked_into();
        let response: web_sys::Response =
            match JsFuture::from(global.fetch_with_str_and_init(&url, &init)).await {
                Ok(r) => r.unchecked_into(),
                Err(_) if signal.aborted() => return Err(timed_out()),
                Err(e) => {
                    let e = worker::Error::from(e);
                    return Err(Failure::NoAnswer(format!("connection error: {e}")));
                }
            };
        let status = response.status();
        let retry_after = response.headers().get("Retry-After").ok().flatten();
        let body = match response.text().map(JsFuture::from) {
            Ok(text) => match text.await {
                Ok(t) => t.as_string().unwrap_or_default(),
                Err(_) if signal.aborted() => return Err(timed_out()),
                Err(_) => String::new(),
            },
            Err(_) => String::new(),
        };
        Ok(Answer {
            status,
            retry_after,
            body,
        })
    }

    /// The HTTP request: URL with the query parameters, and the init (`POST`, the headers with the
    /// secret key, the JSON body).
    fn request(&self, config: &Config) -> Result<(String, web_sys::RequestInit), String> {
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
        let headers = web_sys::Headers::new().map_err(|e| worker::Error::from(e).to_string())?;
        let set = |k: &str, v: &str| {
            headers
                .set(k, v)
                .map_err(|e| worker::Error::from(e).to_string())
        };
        set("Content-Type", "application/json; charset=utf-8")?;
        set("Accept", "application/json")?;
        set(
            "Authorization",
            &format!("SecretKey {}", config.secret_key.expose()),
        )?;
        set("Mindbox-Integration", "MindboxEdge")?;
        set("Mindbox-Integration-Version", env!("CARGO_PKG_VERSION"))?;
        if let Some(ip) = self.client_ip {
            set("X-Customer-IP", ip)?;
        }
        if let Some(ua) = self.user_agent {
            set("User-Agent", ua)?;
        }
        let body = serde_json::to_string(self.body).map_err(|e| e.to_string())?;
        let init = web_sys::RequestInit::new();
        init.set_method("POST");
        init.set_headers(&headers);
        init.set_body(&JsValue::from_str(&body));
        Ok((url, init))
    }
}
