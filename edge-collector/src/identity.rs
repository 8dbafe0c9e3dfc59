//! The identity gate: customer ids, email and phone in an event are trusted only with a valid
//! authentication ticket (see [`crate::ticket`]) for that same customer.
//!
//! An event "claims a customer" when `data.customer` has non-empty `ids`, an `email` or a
//! `mobilePhone`. Such an event needs `data.customer.authenticationTicket`, valid and vouching for the
//! claimed customer, unless its operation is on `UNVERIFIED_OPERATIONS` (subscription forms, where
//! anyone may leave an email). With an external-id ticket, `customer.ids` may hold only that id system,
//! so a ticket for one id cannot carry another customer's id along.

use mindbox_tracker::check::Rejection;
use mindbox_tracker::event::Event;
use serde_json::Value;

use crate::ticket::{self, Identity};

/// Checks one accepted event; `path` names it in a rejection (e.g. `events[0]`).
pub fn gate(
    event: &Event,
    path: &str,
    unverified_operations: &[String],
    secret: &[u8],
    now_secs: i64,
) -> Result<(), Rejection> {
    let Some(customer) = event.data.get("customer").and_then(Value::as_object) else {
        return Ok(());
    };
    let ids = customer.get("ids").and_then(Value::as_object);
    let email = customer.get("email").and_then(Value::as_str);
    let phone = customer.get("mobilePhone").and_then(Value::as_str);
    let claims = ids.is_some_and(|m| !m.is_empty()) || email.is_some() || phone.is_some();
    if !claims || unverified_operations.iter().any(|o| o == &event.operation) {
        return Ok(());
    }
    let reject = |code: &'static str, field: &str, reason: String| Rejection {
        id: Some(event.id.clone()),
        code,
        path: format!("{path}.data.customer{field}"),
        reason,
    };
    let Some(ticket) = customer.get("authenticationTicket").and_then(Value::as_str) else {
        return Err(reject(
            "ticket_missing",
            ".authenticationTicket",
            format!(
                "{} sets customer identity: add authenticationTicket, issued by the shop's backend with the Mindbox secret key",
                event.operation
            ),
        ));
    };
    let identity = ticket::verify(ticket, secret, now_secs)
        .map_err(|e| reject("ticket_invalid", ".authenticationTicket", e.to_string()))?;
    let as_text = |v: &Value| match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    };
    match &identity {
        Identity::External { system, id } => {
            let claimed = ids.and_then(|m| m.get(system)).and_then(as_text);
            if claimed.as_deref() != Some(id.as_str()) {
                return Err(reject(
                    "ticket_mismatch",
                    &format!(".ids.{system}"),
                    format!("the ticket vouches for {system} {id:?}, not for the customer in this event"),
                ));
            }
            if let Some(other) = ids.and_then(|m| m.keys().find(|k| *k != system)) {
                return Err(reject(
                    "ticket_mismatch",
                    &format!(".ids.{other}"),
                    format!("the ticket vouches only for the {system} id; remove ids.{other}"),
                ));
            }
        }
        Identity::Email(e) => {
            if !email.is_some_and(|c| c.eq_ignore_ascii_case(e))
                || ids.is_some_and(|m| !m.is_empty())
            {
                return Err(reject(
                    "ticket_mismatch",
                    ".email",
                    "the ticket vouches for another email, or ids were added".into(),
                ));
            }
        }
        Identity::MobilePhone(p) => {
            let digits = |s: &str| s.chars().filter(char::is_ascii_digit).collect::<String>();
            if phone.is_none_or(|c| digits(c) != digits(p)) || ids.is_some_and(|m| !m.is_empty()) {
                return Err(reject(
                    "ticket_mismatch",
                    ".mobilePhone",
                    "the ticket vouches for another phone, or ids were added".into(),
                ));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const KEY: &[u8] = b"k";
    const NOW: i64 = 1_795_000_000;

    fn event(operation: &str, data: Value) -> Event {
        Event {
            id: "0f8fad5b-d9cb-469f-a165-70867728950e".into(),
            operation: operation.into(),
            data,
            created_at: None,
        }
    }

    fn ticket_for(id: &str) -> String {
        ticket::sign(
            &Identity::External {
                system: "websiteID".into(),
                id: id.into(),
            },
            NOW,
            KEY,
        )
    }

    fn check(e: &Event) -> Result<(), &'static str> {
        gate(
            e,
            "events[0]",
            &["Website.SubscribeCustomer".into()],
            KEY,
            NOW,
        )
        .map_err(|r| r.code)
    }

    #[test]
    fn events_without_a_customer_pass() {
        assert_eq!(
            check(&event("Website.ViewProduct", json!({"viewProduct": {}}))),
            Ok(())
        );
        assert_eq!(
            check(&event("Website.EditCustomer", json!({"customer": {}}))),
            Ok(())
        );
    }

    #[test]
    fn a_customer_needs_a_matching_ticket() {
        let op = "Website.AuthorizeCustomer";
        let e = |c: Value| event(op, json!({ "customer": c }));
        assert_eq!(
            check(&e(json!({"ids": {"websiteID": "u1"}}))),
            Err("ticket_missing")
        );
        assert_eq!(
            check(&e(
                json!({"ids": {"websiteID": "u1"}, "authenticationTicket": ticket_for("u1")})
            )),
            Ok(())
        );
        assert_eq!(
            check(&e(
                json!({"ids": {"websiteID": "u2"}, "authenticationTicket": ticket_for("u1")})
            )),
            Err("ticket_mismatch")
        );
        assert_eq!(
            check(&e(
                json!({"ids": {"websiteID": "u1", "mindboxId": 7}, "authenticationTicket": ticket_for("u1")})
            )),
            Err("ticket_mismatch")
        );
        assert_eq!(
            check(&e(
                json!({"email": "a@b.ru", "authenticationTicket": "00|00"})
            )),
            Err("ticket_invalid")
        );
    }

    #[test]
    fn unverified_operations_pass_without_a_ticket() {
        let e = event(
            "Website.SubscribeCustomer",
            json!({"customer": {"email": "a@b.ru"}}),
        );
        assert_eq!(check(&e), Ok(()));
    }
}
