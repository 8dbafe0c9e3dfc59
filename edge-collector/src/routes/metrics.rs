//! `GET /v1/admin/metrics` (and `/metrics` on the self-hosted router), with the admin token: the
//! collector in Prometheus' text format. From the ledger's counters: events by outcome
//! (`mindbox_edge_events_total{outcome}`, the shop backend's with `source="backend"`), rejections
//! by reason, and the Mindbox call-time histogram (`mindbox_edge_mindbox_call_seconds`). On the
//! self-hosted profile, from PostgreSQL too: the queue's depth and the age of its oldest message.

use std::collections::BTreeMap;
use std::fmt::Write;

use worker::{Response, Result};

use crate::delivery::tally::CALL_MS_BUCKETS;
use crate::store::{ledger, Store};

/// Outcome counters, as the ledger names them.
const OUTCOMES: &[&str] = &[
    "accepted",
    "delivered",
    "retried",
    "dead_lettered",
    "superseded",
    "redriven",
    "waited",
    "rate_limited",
    "dead_letters_evicted",
];

/// The metrics page.
pub async fn handle(store: &Store) -> Result<Response> {
    let counters = ledger::counters(store).await?;
    let out = render(&counters) + &queue(store).await?;
    let mut resp = Response::ok(out)?;
    resp.headers_mut()
        .set("content-type", "text/plain; version=0.0.4; charset=utf-8")?;
    Ok(resp)
}

/// The queue's gauges, from PostgreSQL (Cloudflare Queues' own are in Cloudflare's dashboard).
#[cfg(feature = "postgres")]
async fn queue(store: &Store) -> Result<String> {
    let mut out = String::new();
    if let Some(db) = store.db() {
        let (depth, oldest_ms) = crate::store::pg::queue::depth(db).await?;
        gauge(
            &mut out,
            "mindbox_edge_queue_depth",
            "Messages on the events queue (due, delayed and in flight).",
            depth as f64,
        );
        gauge(
            &mut out,
            "mindbox_edge_queue_oldest_age_seconds",
            "Age of the oldest message on the events queue.",
            oldest_ms / 1000.0,
        );
    }
    Ok(out)
}

#[cfg(not(feature = "postgres"))]
async fn queue(_store: &Store) -> Result<String> {
    Ok(String::new())
}

#[cfg(feature = "postgres")]
fn gauge(out: &mut String, name: &str, help: &str, value: f64) {
    let _ = writeln!(
        out,
        "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {value}"
    );
}

/// A label value, escaped as the text format wants.
fn label(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// The counters' part of the page.
pub fn render(c: &BTreeMap<String, u64>) -> String {
    let get = |k: &str| c.get(k).copied().unwrap_or(0);
    let mut out = String::new();
    out.push_str("# HELP mindbox_edge_events_total Events by what became of them.\n");
    out.push_str("# TYPE mindbox_edge_events_total counter\n");
    for o in OUTCOMES {
        let _ = writeln!(
            out,
            "mindbox_edge_events_total{{outcome=\"{o}\",source=\"browser\"}} {}",
            get(o)
        );
        let _ = writeln!(
            out,
            "mindbox_edge_events_total{{outcome=\"{o}\",source=\"backend\"}} {}",
            get(&format!("backend.{o}"))
        );
    }
    out.push_str(
        "# HELP mindbox_edge_rejected_total Events and requests refused at the gate, by reason.\n",
    );
    out.push_str("# TYPE mindbox_edge_rejected_total counter\n");
    for (k, v) in c {
        if let Some(code) = k.strip_prefix("rejected.") {
            let _ = writeln!(
                out,
                "mindbox_edge_rejected_total{{reason=\"{}\"}} {v}",
                label(code)
            );
        }
    }
    let name = "mindbox_edge_mindbox_call_seconds";
    let _ = writeln!(
        out,
        "# HELP {name} Time of one Mindbox call, answer or timeout."
    );
    let _ = writeln!(out, "# TYPE {name} histogram");
    let mut cumulative = 0;
    for b in CALL_MS_BUCKETS {
        cumulative += get(&format!("mindbox_call_ms.le.{b}"));
        let _ = writeln!(
            out,
            "{name}_bucket{{le=\"{}\"}} {cumulative}",
            f64::from(*b) / 1000.0
        );
    }
    cumulative += get("mindbox_call_ms.le.inf");
    let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {cumulative}");
    let _ = writeln!(
        out,
        "{name}_sum {}",
        get("mindbox_call_ms.sum") as f64 / 1000.0
    );
    let _ = writeln!(out, "{name}_count {}", get("mindbox_call_ms.count"));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_become_prometheus_text_with_a_cumulative_histogram() {
        let c: BTreeMap<String, u64> = [
            ("delivered", 7),
            ("backend.delivered", 2),
            ("rejected.bad_origin", 3),
            ("mindbox_call_ms.le.10", 4),
            ("mindbox_call_ms.le.100", 2),
            ("mindbox_call_ms.le.inf", 1),
            ("mindbox_call_ms.sum", 20_500),
            ("mindbox_call_ms.count", 7),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        let text = render(&c);
        for line in [
            "mindbox_edge_events_total{outcome=\"delivered\",source=\"browser\"} 7",
            "mindbox_edge_events_total{outcome=\"delivered\",source=\"backend\"} 2",
            "mindbox_edge_rejected_total{reason=\"bad_origin\"} 3",
            "mindbox_edge_mindbox_call_seconds_bucket{le=\"0.01\"} 4",
            "mindbox_edge_mindbox_call_seconds_bucket{le=\"0.05\"} 4",
            "mindbox_edge_mindbox_call_seconds_bucket{le=\"0.1\"} 6",
            "mindbox_edge_mindbox_call_seconds_bucket{le=\"10\"} 6",
            "mindbox_edge_mindbox_call_seconds_bucket{le=\"+Inf\"} 7",
            "mindbox_edge_mindbox_call_seconds_sum 20.5",
            "mindbox_edge_mindbox_call_seconds_count 7",
        ] {
            assert!(text.lines().any(|l| l == line), "missing {line} in\n{text}");
        }
    }
}
