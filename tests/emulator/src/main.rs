//! # Mindbox emulator
//!
//! Mindbox itself is out of reach of tests, so this small HTTP server stands in for the v3 operations
//! API (`POST /v3/operations/{async,sync}`). It checks each request the way Mindbox does — path, query
//! parameters, `Authorization: SecretKey`, endpoint, known operation, JSON body — and answers with
//! Mindbox's own response classes (see `api.rs`). Tests steer and inspect it through a control API
//! under `/__emulator/` (see `control.rs`).
//!
//! Usage: `mindbox-emulator [--port N] [--endpoint-id ID] [--secret-key KEY] [--operations A,B]`.
//! The endpoint id and key default to `MINDBOX_ENDPOINT_ID` / `MINDBOX_SECRET_KEY` from the
//! environment. Port 0 picks a free port; the first line printed is `listening on http://127.0.0.1:PORT`.

mod api;
mod cards;
mod control;

use std::sync::{Arc, Mutex};

use api::{Config, State};

fn main() {
    let config = match parse_args(std::env::args().skip(1)) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("mindbox-emulator: {e}");
            std::process::exit(2);
        }
    };
    let (port, config) = config;
    let server = match tiny_http::Server::http(("127.0.0.1", port)) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("mindbox-emulator: cannot listen on 127.0.0.1:{port}: {e}");
            std::process::exit(1);
        }
    };
    let addr = server.server_addr().to_ip().expect("tcp listener");
    println!("listening on http://{addr}");
    let state = Arc::new(Mutex::new(State::new(config)));
    for request in server.incoming_requests() {
        let state = Arc::clone(&state);
        // One thread per request: a request held open to emulate a timeout must not block others.
        std::thread::spawn(move || handle(request, &state));
    }
}

fn handle(mut request: tiny_http::Request, state: &Mutex<State>) {
    let mut body = Vec::new();
    if let Err(e) = std::io::Read::read_to_end(request.as_reader(), &mut body) {
        eprintln!("mindbox-emulator: reading body: {e}");
        return;
    }
    let url = request.url().to_string();
    let method = request.method().as_str().to_string();
    let headers: Vec<(String, String)> = request
        .headers()
        .iter()
        .map(|h| {
            (
                h.field.as_str().as_str().to_ascii_lowercase(),
                h.value.to_string(),
            )
        })
        .collect();
    let reply = if url.starts_with("/__emulator/") {
        control::handle(&method, &url, &body, state)
    } else {
        // Counted in flight from arrival to answer, with the configured latency in between.
        let latency = {
            let mut s = state.lock().expect("state lock");
            s.in_flight += 1;
            s.max_in_flight = s.max_in_flight.max(s.in_flight);
            s.latency
        };
        std::thread::sleep(latency);
        api::handle(&method, &url, &headers, &body, state)
    };
    let api_call = !url.starts_with("/__emulator/");
    match reply {
        api::Reply::Respond {
            status,
            body,
            headers,
        } => {
            let mut response = tiny_http::Response::from_data(body).with_status_code(status);
            for (k, v) in headers {
                response.add_header(
                    tiny_http::Header::from_bytes(k.as_bytes(), v.as_bytes()).expect("header"),
                );
            }
            let _ = request.respond(response);
        }
        api::Reply::Hang(duration) => {
            // Emulates Mindbox not answering: hold the connection, then drop it unanswered.
            std::thread::sleep(duration);
            drop(request.into_writer());
        }
    }
    if api_call {
        state.lock().expect("state lock").in_flight -= 1;
    }
}

fn parse_args(args: impl Iterator<Item = String>) -> Result<(u16, Config), String> {
    let mut port = 0u16;
    let mut config = Config {
        endpoint_id: std::env::var("MINDBOX_ENDPOINT_ID").unwrap_or_else(|_| "demo-shop".into()),
        secret_key: std::env::var("MINDBOX_SECRET_KEY").unwrap_or_default(),
        operations: {
            // The browser defaults, the sync operation the collector's /v1/sync serves, and what a
            // shop's backend sends (orders, statuses, customer updates).
            let mut ops = mindbox_model::operation::parse_list(None)?;
            for op in [
                "Website.GetCustomerBalance",
                "Website.GetCustomerBonusPointsHistory",
                "Website.GetCustomerSegments",
                "Website.CalculateAuthorizedCart",
                "Website.CalculateUnauthorizedCart",
                "Website.CreateAuthorizedOrder",
                "Website.CreateUnauthorizedOrder",
                "Website.UpdateOrder",
                "Website.UpdateOrderStatus",
                "Website.UpdateCustomerSegments",
                "Website.UpdateCustomerCustomFields",
                "Website.SendMobilePhoneAuthorizationCode",
                "RegCard",
                "GetCustomerDiscountCards",
            ] {
                ops.push(op.into());
            }
            ops
        },
    };
    let mut args = args.peekable();
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--port" => port = value()?.parse().map_err(|e| format!("--port: {e}"))?,
            "--endpoint-id" => config.endpoint_id = value()?,
            "--secret-key" => config.secret_key = value()?,
            "--operations" => {
                config.operations = mindbox_model::operation::parse_list(Some(&value()?))?
            }
            other => {
                return Err(format!(
                    "unknown argument {other:?}; see the crate docs for usage"
                ))
            }
        }
    }
    if config.secret_key.is_empty() {
        return Err("no secret key: pass --secret-key or set MINDBOX_SECRET_KEY".into());
    }
    Ok((port, config))
}
