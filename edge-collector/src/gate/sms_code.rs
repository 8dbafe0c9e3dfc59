//! Calls an SMS code proves: asking Mindbox to text a code to a phone (`phoneCode` on
//! `SYNC_OPERATIONS`) and binding a loyalty card with that code (`bindCard`). They need no ticket (the
//! code is the proof), so the request is read field by field, in Mindbox's key spelling (any letter
//! case, never two spellings of one key), and rebuilt from exactly these fields:
//!
//! * `phoneCode`: `{"customer": {"mobilePhone"}}`;
//! * `bindCard`: `{"customer": {"mobilePhone"}, "discountCard": {"ids": {"number"}},
//!   "authentificationCode"}` (Mindbox's spelling of the code's key).
//!
//! The phone takes [`mindbox_model::contact`]'s spelling; a card number and a code are text (an integer
//! is read as its digits) of ASCII letters and digits. Anything else is refused (`unexpected_field`,
//! `invalid_identifier`, `ambiguous_key`), never dropped quietly.
//!
//! Each call then takes one attempt from every key it has ([`CodeCall::attempts`]) in a sliding
//! window ([`crate::store::attempts`]): 3 codes and 5 tries per address, device and phone (and card) in
//! ten minutes, 10 codes per phone a day, and the shop's `CODES_PER_HOUR`. A texted code costs the
//! shop money and is the SMS-bombing target; a tried code is a guess. Codes go only to phones on
//! `CODE_PHONE_PREFIXES` (Russia and Kazakhstan's `7` unless set): no premium-rate numbers abroad.

use mindbox_model::contact;
use serde_json::{json, Value};

use crate::gate::spelling::same_key;

/// The attempts window: ten minutes.
pub const WINDOW_MS: f64 = 10.0 * 60.0 * 1000.0;
/// An hour, the window of the shop's budget of texted codes (`CODES_PER_HOUR`).
pub const HOUR_MS: f64 = 60.0 * 60.0 * 1000.0;
/// A day, the second window of codes per phone.
pub const DAY_MS: f64 = 24.0 * HOUR_MS;
/// Codes texted to one phone in a day.
pub const CODES_PER_PHONE_A_DAY: u32 = 10;

/// One attempt a call takes: from `key`, at most `limit` per `window_ms`; `what` names the key in a
/// refusal ("per phone").
#[derive(Debug, PartialEq)]
pub struct Attempt {
    /// The attempts store's key.
    pub key: String,
    /// What the key counts: address, device, phone, card, …
    pub what: &'static str,
    /// Attempts per window.
    pub limit: u32,
    /// The sliding window.
    pub window_ms: f64,
}

/// Which call an SMS code proves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CodeCall {
    /// Mindbox texts a code to the phone.
    SendCode,
    /// A card is bound to the phone with the code.
    BindCard,
}

/// A call read and rebuilt.
#[derive(Debug, PartialEq)]
pub struct Read {
    /// The request Mindbox gets.
    pub data: Value,
    /// The phone, in Mindbox's spelling.
    pub phone: String,
    /// The card number (binding only).
    pub card: Option<String>,
}

/// Why a call is refused: its code, where, and what was expected.
#[derive(Debug, PartialEq)]
pub struct Refusal {
    /// `unexpected_field`, `invalid_identifier`, `ambiguous_key`.
    pub code: &'static str,
    /// Where in the request.
    pub path: String,
    /// What was expected.
    pub reason: String,
}

fn refusal(code: &'static str, path: String, reason: impl Into<String>) -> Refusal {
    Refusal {
        code,
        path,
        reason: reason.into(),
    }
}

impl CodeCall {
    /// The refusal code when a key is over its limit.
    pub fn over_limit_code(self) -> &'static str {
        match self {
            CodeCall::SendCode => "too_many_codes",
            CodeCall::BindCard => "too_many_tries",
        }
    }

    /// The attempts a call from `device` at `ip_key` ([`crate::gate::admission::ip_key`]) takes, in
    /// the order they are taken: address, device, phone (and, for codes, the phone's day), card,
    /// then the shop's hourly budget of texted codes (`codes_per_hour`), which only a call every
    /// other key let through spends. A refusal gives the keys taken before it back
    /// ([`crate::store::attempts::refund`]). `per_ip` overrides the address's limit.
    pub fn attempts(
        self,
        read: &Read,
        device: &str,
        ip_key: &str,
        per_ip: Option<u32>,
        codes_per_hour: u32,
    ) -> Vec<Attempt> {
        let (what, limit) = match self {
            CodeCall::SendCode => ("code", 3),
            CodeCall::BindCard => ("bind", 5),
        };
        let take = |key: String, what: &'static str, limit: u32, window_ms: f64| Attempt {
            key,
            what,
            limit,
            window_ms,
        };
        let mut out = vec![
            take(
                format!("{what}:{ip_key}"),
                "address",
                per_ip.unwrap_or(limit),
                WINDOW_MS,
            ),
            take(
                format!("{what}:device:{device}"),
                "device",
                limit,
                WINDOW_MS,
            ),
            take(
                format!("{what}:phone:{}", read.phone),
                "phone",
                limit,
                WINDOW_MS,
            ),
        ];
        if self == CodeCall::SendCode {
            out.push(take(
                format!("code:phone-day:{}", read.phone),
                "phone a day",
                CODES_PER_PHONE_A_DAY,
                DAY_MS,
            ));
        }
        if let Some(card) = &read.card {
            // One card in any letter case, with or without leading zeros, is one card to count.
            let card = card.to_ascii_uppercase();
            let card = match card.trim_start_matches('0') {
                "" => "0",
                c => c,
            };
            out.push(take(format!("bind:card:{card}"), "card", limit, WINDOW_MS));
        }
        if self == CodeCall::SendCode {
            out.push(take(
                "code:all".into(),
                "shop an hour",
                codes_per_hour,
                HOUR_MS,
            ));
        }
        out
    }

    /// Reads `data` (the sync request's `data`, at `path`) as this call, rebuilt.
    pub fn read(self, data: &Value, path: &str) -> Result<Read, Refusal> {
        let top: &[&str] = match self {
            CodeCall::SendCode => &["customer"],
            CodeCall::BindCard => &["customer", "discountCard", "authentificationCode"],
        };
        let f = fields(data, path, top)?;
        let customer = fields(
            need(f[0], path, "customer")?,
            &format!("{path}.customer"),
            &["mobilePhone"],
        )?;
        let phone_path = format!("{path}.customer.mobilePhone");
        let raw = text(
            need(customer[0], &format!("{path}.customer"), "mobilePhone")?,
            &phone_path,
        )?;
        let phone = contact::normalize_phone(&raw)
            .map_err(|why| refusal("invalid_identifier", phone_path, why))?;
        if self == CodeCall::SendCode {
            return Ok(Read {
                data: json!({"customer": {"mobilePhone": phone}}),
                phone,
                card: None,
            });
        }
        let card_path = format!("{path}.discountCard");
        let card = fields(need(f[1], path, "discountCard")?, &card_path, &["ids"])?;
        let ids_path = format!("{card_path}.ids");
        let ids = fields(need(card[0], &card_path, "ids")?, &ids_path, &["number"])?;
        let number = token(
            need(ids[0], &ids_path, "number")?,
            &format!("{ids_path}.number"),
            64,
        )?;
        let code_path = format!("{path}.authentificationCode");
        let code = token(need(f[2], path, "authentificationCode")?, &code_path, 16)?;
        Ok(Read {
            data: json!({
                "customer": {"mobilePhone": phone},
                "discountCard": {"ids": {"number": number}},
                "authentificationCode": code,
            }),
            phone,
            card: Some(number),
        })
    }
}

/// The values of `allowed` keys of the object `v` (any letter case; `null` is absent).
fn fields<'a>(
    v: &'a Value,
    path: &str,
    allowed: &[&str],
) -> Result<Vec<Option<&'a Value>>, Refusal> {
    let Value::Object(m) = v else {
        return Err(refusal(
            "unexpected_field",
            path.to_string(),
            format!("expected an object with {}", allowed.join(", ")),
        ));
    };
    let mut out = vec![None; allowed.len()];
    let mut seen = vec![false; allowed.len()];
    for (k, x) in m {
        let at = format!("{path}.{k}");
        let Some(i) = allowed.iter().position(|a| same_key(k, a)) else {
            return Err(refusal(
                "unexpected_field",
                at,
                format!("this call takes only {} here", allowed.join(", ")),
            ));
        };
        if seen[i] {
            return Err(refusal(
                "ambiguous_key",
                at,
                format!("{} is given twice (in two letter cases); Mindbox reads them as one key: keep one", allowed[i]),
            ));
        }
        seen[i] = true;
        out[i] = Some(x).filter(|x| !x.is_null());
    }
    Ok(out)
}

fn need<'a>(v: Option<&'a Value>, path: &str, what: &str) -> Result<&'a Value, Refusal> {
    v.ok_or_else(|| {
        refusal(
            "unexpected_field",
            format!("{path}.{what}"),
            format!("{what} is required"),
        )
    })
}

/// Text, or an integer's digits.
fn text(v: &Value, path: &str) -> Result<String, Refusal> {
    match v {
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) if n.is_u64() => Ok(n.to_string()),
        _ => Err(refusal(
            "invalid_identifier",
            path.to_string(),
            "expected text (a whole number is read as its digits)",
        )),
    }
}

/// Text of 1 to `max` ASCII letters and digits.
fn token(v: &Value, path: &str, max: usize) -> Result<String, Refusal> {
    let t = text(v, path)?;
    if t.is_empty() || t.len() > max || !t.bytes().all(|c| c.is_ascii_alphanumeric()) {
        return Err(refusal(
            "invalid_identifier",
            path.to_string(),
            format!("expected 1 to {max} ASCII letters and digits, as printed"),
        ));
    }
    Ok(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(call: CodeCall, v: Value) -> Result<Read, (&'static str, String)> {
        call.read(&v, "request.data").map_err(|r| (r.code, r.path))
    }

    #[test]
    fn a_code_is_asked_for_one_phone_in_mindboxs_spelling() {
        let r = read(
            CodeCall::SendCode,
            json!({"Customer": {"MOBILEPHONE": "8 (912) 345-67-89"}}),
        )
        .unwrap();
        assert_eq!(r.data, json!({"customer": {"mobilePhone": "79123456789"}}));
        assert_eq!(
            read(
                CodeCall::SendCode,
                json!({"customer": {"mobilePhone": 79123456789u64}})
            )
            .unwrap()
            .phone,
            "79123456789",
            "a number is its digits"
        );
        for (bad, code, at) in [
            (
                json!({"customer": {"mobilePhone": "79123456789", "ids": {"websiteID": "v"}}}),
                "unexpected_field",
                "customer.ids",
            ),
            (
                json!({"customer": {"mobilePhone": "79123456789", "email": "v@x.ru"}}),
                "unexpected_field",
                "customer.email",
            ),
            (
                json!({"customer": {"mobilePhone": "79123456789"}, "discountCard": {}}),
                "unexpected_field",
                "data.discountCard",
            ),
            (
                json!({"customer": {"mobilePhone": ["79123456789", "79990000000"]}}),
                "invalid_identifier",
                "mobilePhone",
            ),
            (
                json!({"customer": {"mobilePhone": "79123456789", "MobilePhone": "79990000000"}}),
                "ambiguous_key",
                "customer.mobilePhone",
            ),
            (
                json!({"customer": {"mobilePhone": "７９１２３４５６７８９"}}),
                "invalid_identifier",
                "mobilePhone",
            ),
            (
                json!({"customer": {"mobilePhone": 7.9e10}}),
                "invalid_identifier",
                "mobilePhone",
            ),
            (
                json!({"customer": {"mobilePhone": true}}),
                "invalid_identifier",
                "mobilePhone",
            ),
            (
                json!({"customer": {"mobilePhone": null}}),
                "unexpected_field",
                "customer.mobilePhone",
            ),
            (
                json!({"customer": {}}),
                "unexpected_field",
                "customer.mobilePhone",
            ),
            (json!({}), "unexpected_field", "data.customer"),
            (json!([]), "unexpected_field", "request.data"),
            (
                json!({"customer": "79123456789"}),
                "unexpected_field",
                "data.customer",
            ),
        ] {
            let (c, p) = read(CodeCall::SendCode, bad.clone()).expect_err(&bad.to_string());
            assert_eq!(c, code, "{bad}");
            assert!(p.ends_with(at), "{p} for {bad}");
        }
    }

    #[test]
    fn a_card_is_bound_with_exactly_a_phone_a_number_and_a_code() {
        let r = read(
            CodeCall::BindCard,
            json!({"customer": {"mobilePhone": "+7 912 345 67 89"}, "DiscountCard": {"IDS": {"Number": 231534554262u64}}, "authentificationcode": "0123"}),
        )
        .unwrap();
        assert_eq!(
            r.data,
            json!({"customer": {"mobilePhone": "79123456789"}, "discountCard": {"ids": {"number": "231534554262"}}, "authentificationCode": "0123"})
        );
        assert_eq!(r.card.as_deref(), Some("231534554262"));
        let ok = |extra: Value| {
            let mut v = json!({"customer": {"mobilePhone": "79123456789"}, "discountCard": {"ids": {"number": "1"}}, "authentificationCode": "1234"});
            for (k, x) in extra.as_object().unwrap() {
                v[k] = x.clone();
            }
            v
        };
        for (bad, code, at) in [
            (
                ok(json!({"authentificationCode": "12 34"})),
                "invalid_identifier",
                "authentificationCode",
            ),
            (
                ok(json!({"authentificationCode": -1234})),
                "invalid_identifier",
                "authentificationCode",
            ),
            (
                ok(json!({"authentificationCode": "1".repeat(17)})),
                "invalid_identifier",
                "authentificationCode",
            ),
            (
                ok(json!({"authenticationCode": "1234"})),
                "unexpected_field",
                "authenticationCode",
            ),
            (
                ok(json!({"discountCard": {"ids": {"number": "1", "externalId": "2"}}})),
                "unexpected_field",
                "ids.externalId",
            ),
            (
                ok(
                    json!({"discountCard": {"ids": {"number": "1"}, "customer": {"ids": {"websiteID": "v"}}}}),
                ),
                "unexpected_field",
                "discountCard.customer",
            ),
            (
                ok(json!({"discountCard": {"ids": {"number": "../1"}}})),
                "invalid_identifier",
                "ids.number",
            ),
            (
                ok(
                    json!({"customer": {"mobilePhone": "79123456789", "discountCard": {"ids": {"number": "2"}}}}),
                ),
                "unexpected_field",
                "customer.discountCard",
            ),
            (ok(json!({"order": {}})), "unexpected_field", "data.order"),
            (
                ok(json!({"AUTHENTIFICATIONCODE": "9999"})),
                "ambiguous_key",
                "ficationCode",
            ),
        ] {
            let (c, p) = read(CodeCall::BindCard, bad.clone()).expect_err(&bad.to_string());
            assert_eq!(c, code, "{bad}");
            assert!(p.ends_with(at), "{p} for {bad}");
        }
    }

    #[test]
    fn attempts_are_counted_per_address_device_phone_and_card() {
        let r = read(
            CodeCall::BindCard,
            json!({"customer": {"mobilePhone": "79123456789"}, "discountCard": {"ids": {"number": "00ab12"}}, "authentificationCode": "1"}),
        )
        .unwrap();
        let keys = |call: CodeCall, per_ip| {
            call.attempts(&r, "d", "ip:198.51.100.9", per_ip, 300)
                .into_iter()
                .map(|a| (a.key, a.limit))
                .collect::<Vec<_>>()
        };
        let k = |s: &str, n: u32| (s.to_string(), n);
        assert_eq!(
            keys(CodeCall::BindCard, None),
            [
                k("bind:ip:198.51.100.9", 5),
                k("bind:device:d", 5),
                k("bind:phone:79123456789", 5),
                k("bind:card:AB12", 5)
            ]
        );
        assert_eq!(
            keys(CodeCall::SendCode, Some(30)),
            [
                k("code:ip:198.51.100.9", 30),
                k("code:device:d", 3),
                k("code:phone:79123456789", 3),
                k("code:phone-day:79123456789", 10),
                k("bind:card:AB12", 3),
                k("code:all", 300)
            ]
        );
    }
}
