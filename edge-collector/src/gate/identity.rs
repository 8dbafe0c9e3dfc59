//! Identity: customer data in an event reaches Mindbox only as an authentication ticket (see
//! [`crate::gate::ticket`]) allows ([`authorize`]), and what this check reads is exactly what Mindbox will read.
//!
//! Mindbox is a .NET API: we assume its JSON binding ignores the case of property names (.NET's
//! `OrdinalIgnoreCase`, under which `ı` is `I` and `ſ` is `S`) and turns numbers into strings. So,
//! before anything is decided, the event's `data` is put in one spelling:
//!
//! * two keys of one object that differ only by case are refused (`ambiguous_key`): there is no
//!   telling which one Mindbox would bind;
//! * every key that names customer data in any case (`Customer`, `IDS`, `eMail`, `mobilephone`,
//!   `discountCard`, `authenticationTicket`, `subscriptions` and a subscription's fields) is renamed to
//!   its canonical spelling, wherever a `customer` object is (any depth);
//! * identifiers are made text: an integer id or phone becomes its digits, phones and emails take the
//!   spelling of [`mindbox_model::contact`] (non-ASCII digits are refused); a boolean, a fraction, an
//!   object or an array where an identifier belongs is refused (`invalid_identifier`); `null` is no
//!   identifier. What is forwarded is this rewritten data.
//!
//! Then the identifiers found under every customer (its `ids`, any `ids` object deeper down, `email`,
//! `mobilePhone`, `discountCard`) must all be what the event's ticket vouches for: an external-id
//! ticket allows that one id and nothing else, an email ticket that email, a phone ticket that phone;
//! a discount card is never vouched for. Without a ticket, an event with identifiers is refused
//! (`ticket_missing`), except on `UNVERIFIED_OPERATIONS` (subscription forms, the back-in-stock list),
//! where it may carry only `customer.email`, `customer.mobilePhone`, `customer.subscriptions` entries
//! with `isSubscribed: true` (and `pointOfContact`, `brand`, `topic`) and an `addProductToList` of a
//! product's ids and a count: anything else needs a ticket (`ticket_required`). `/v1/sync` always needs a ticket and an identifier it vouches for.

use mindbox_model::check::Rejection;
use mindbox_model::contact;
use mindbox_model::event::Event;
use serde_json::Value;

use crate::gate::spelling::{canonicalize, first_ambiguous, same_key};
use crate::gate::ticket::{self, Identity};

/// What an operation may do without a ticket.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Identifiers need a ticket that vouches for them.
    Verified,
    /// On `UNVERIFIED_OPERATIONS`: without a ticket, only subscribe an email or phone.
    Unverified,
    /// `/v1/sync`: a ticket and an identifier it vouches for are required.
    Sync,
    /// The shop's backend (`/v1/backend/operations`, with `BACKEND_TOKEN`): customer data is put in
    /// Mindbox's spelling like everywhere, but needs no ticket.
    Trusted,
}

/// Whom an event's ticket vouched for, once [`authorize`] let it through.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Vouched {
    /// No valid ticket named a customer: the event is anonymous (or from the trusted backend).
    Nobody,
    /// A valid ticket vouched for every identifier the event names, and it names at least one.
    Customer,
}

/// Keys of a customer object that [`authorize`] reads, in their canonical spelling.
const CUSTOMER_KEYS: &[&str] = &[
    "ids",
    "email",
    "mobilePhone",
    "discountCard",
    "authenticationTicket",
    "subscriptions",
];
/// Fields a subscription entry may have without a ticket.
const SUBSCRIPTION_KEYS: &[&str] = &["pointOfContact", "brand", "topic", "isSubscribed"];

/// Identifiers and tickets found in an event, each with its path.
#[derive(Default, Debug)]
struct Claims {
    ids: Vec<(String, String, String)>,
    emails: Vec<(String, String)>,
    phones: Vec<(String, String)>,
    cards: Vec<String>,
    tickets: Vec<(String, String)>,
}

impl Claims {
    fn first_path(&self) -> Option<&str> {
        self.ids
            .first()
            .map(|(p, _, _)| p.as_str())
            .or_else(|| self.emails.first().map(|(p, _)| p.as_str()))
            .or_else(|| self.phones.first().map(|(p, _)| p.as_str()))
            .or_else(|| self.cards.first().map(String::as_str))
    }
}

/// A refusal before it knows the event's id.
struct Refusal {
    code: &'static str,
    path: String,
    reason: String,
}

fn refusal(code: &'static str, path: String, reason: impl Into<String>) -> Refusal {
    Refusal {
        code,
        path,
        reason: reason.into(),
    }
}

/// Checks one event and rewrites its customer data into the spelling Mindbox gets; `path` names the
/// event in a rejection (e.g. `events[0]`).
pub fn authorize(
    event: &mut Event,
    path: &str,
    mode: Mode,
    secret: &[u8],
    now_secs: i64,
) -> Result<Vouched, Rejection> {
    let operation = event.operation.clone();
    authorize_data(&mut event.data, &operation, path, mode, secret, now_secs).map_err(|r| {
        Rejection {
            id: Some(event.id.clone()).filter(|i| !i.is_empty()),
            code: r.code,
            path: r.path,
            reason: r.reason,
        }
    })
}

fn authorize_data(
    data: &mut Value,
    operation: &str,
    path: &str,
    mode: Mode,
    secret: &[u8],
    now_secs: i64,
) -> Result<Vouched, Refusal> {
    let root = format!("{path}.data");
    unambiguous(data, &root)?;
    let mut claims = Claims::default();
    find_customers(data, &root, &mut claims)?;
    let ticket = match claims.tickets.as_slice() {
        [] => None,
        [(p, t), rest @ ..] => {
            if let Some((other, _)) = rest.iter().find(|(_, u)| u != t) {
                return Err(refusal(
                    "ambiguous_key",
                    other.clone(),
                    "two different authentication tickets in one event",
                ));
            }
            Some((p.clone(), t.clone()))
        }
    };
    if mode == Mode::Trusted {
        return Ok(Vouched::Nobody);
    }
    let claimed = claims.first_path().map(String::from);
    let Some((ticket_path, ticket)) = ticket else {
        return match (mode, claimed) {
            (Mode::Unverified, _) => subscribe_only(data, &root, operation).map(|_| Vouched::Nobody),
            (Mode::Verified, None) => Ok(Vouched::Nobody),
            (Mode::Verified, Some(p)) => Err(refusal(
                "ticket_missing",
                p,
                format!(
                    "{operation} names a customer: add customer.authenticationTicket, issued by the shop's backend with the Mindbox secret key"
                ),
            )),
            (Mode::Trusted, _) => Ok(Vouched::Nobody),
            (Mode::Sync, p) => Err(refusal(
                "ticket_missing",
                p.unwrap_or_else(|| format!("{root}.customer")),
                "a sync call is for a verified customer: give the customer's id, email or phone and its authenticationTicket",
            )),
        };
    };
    let identity = ticket::verify(&ticket, secret, now_secs)
        .map_err(|e| refusal("ticket_invalid", ticket_path.clone(), e.to_string()))?;
    // A ticket that vouches for a customer lets the whole event through, so a discount card anywhere
    // in it (an order's too, not only a customer's) is a card the ticket would vouch for: never.
    if claimed.is_some() {
        cards_anywhere(data, &root, &mut claims.cards);
    }
    if mode == Mode::Sync && claimed.is_none() {
        return Err(refusal(
            "ticket_missing",
            format!("{root}.customer"),
            "a sync call names the customer the ticket vouches for (ids, email or mobilePhone)",
        ));
    }
    bind(&identity, &claims)?;
    Ok(if claimed.is_some() {
        Vouched::Customer
    } else {
        Vouched::Nobody
    })
}

/// Every identifier must be the one the ticket vouches for.
fn bind(identity: &Identity, claims: &Claims) -> Result<(), Refusal> {
    let mismatch = |p: &str, why: String| refusal("ticket_mismatch", p.to_string(), why);
    let vouches = match identity {
        Identity::External { system, id } => format!("the ticket vouches for {system} {id:?}"),
        Identity::Email(e) => format!("the ticket vouches for the email {e:?}"),
        Identity::MobilePhone(p) => format!("the ticket vouches for the phone {p:?}"),
    };
    if let Some(p) = claims.cards.first() {
        return Err(mismatch(
            p,
            format!("{vouches}; a discount card is never vouched for by a ticket: send it from the shop's backend"),
        ));
    }
    for (p, system, value) in &claims.ids {
        let ok = matches!(identity, Identity::External { system: s, id } if same_key(s, system) && id == value);
        if !ok {
            return Err(mismatch(
                p,
                format!("{vouches}, not for {system} {value:?}"),
            ));
        }
    }
    for (p, email) in &claims.emails {
        let ok = matches!(identity, Identity::Email(e) if contact::normalize_email(e).as_deref() == Ok(email.as_str()));
        if !ok {
            return Err(mismatch(
                p,
                format!("{vouches}, not for this email: an email needs a ticket for that email"),
            ));
        }
    }
    // A ticket's phone is taken as written: Mindbox's tickets carry international digits, and read
    // as a Russian number, a foreign one without its `+` (a Lebanese 9613123456) would vouch for
    // someone else's (79613123456).
    for (p, phone) in &claims.phones {
        let ok = matches!(identity, Identity::MobilePhone(t) if t == phone);
        if !ok {
            return Err(mismatch(
                p,
                format!(
                    "{vouches}, not for this phone: a phone needs a ticket for that phone, \
                     in Mindbox's spelling (international digits only, such as 79001112233)"
                ),
            ));
        }
    }
    Ok(())
}

/// Refuses any object, anywhere in `v`, with two keys that differ only by case.
fn unambiguous(v: &Value, path: &str) -> Result<(), Refusal> {
    match first_ambiguous(v, path) {
        None => Ok(()),
        Some((at, a, b)) => Err(refusal(
            "ambiguous_key",
            format!("{at}.{b}"),
            format!(
                "keys {a:?} and {b:?} differ only by letter case; Mindbox reads them as one key: keep one"
            ),
        )),
    }
}

/// Collects the path of every non-null `discountCard` (any letter case), anywhere in `v`.
fn cards_anywhere(v: &Value, path: &str, cards: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                let p = format!("{path}.{k}");
                if same_key(k, "discountCard") && !x.is_null() && !cards.contains(&p) {
                    cards.push(p.clone());
                }
                cards_anywhere(x, &p, cards);
            }
        }
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                cards_anywhere(x, &format!("{path}[{i}]"), cards);
            }
        }
        _ => {}
    }
}

/// Finds every `customer` object (any case, any depth) and reads its claims.
fn find_customers(v: &mut Value, path: &str, claims: &mut Claims) -> Result<(), Refusal> {
    match v {
        Value::Object(m) => {
            if canonicalize(m, "customer") {
                customer(
                    m.get_mut("customer").expect("renamed"),
                    &format!("{path}.customer"),
                    claims,
                )?;
            }
            for (k, x) in m.iter_mut().filter(|(k, _)| *k != "customer") {
                find_customers(x, &format!("{path}.{k}"), claims)?;
            }
        }
        Value::Array(a) => {
            for (i, x) in a.iter_mut().enumerate() {
                find_customers(x, &format!("{path}[{i}]"), claims)?;
            }
        }
        _ => {}
    }
    Ok(())
}

fn invalid(path: String, what: &str) -> Refusal {
    refusal(
        "invalid_identifier",
        path,
        format!("{what} must be text (a number is read as its digits); a boolean, fraction, object or list is not an identifier"),
    )
}

/// An identifier as text: a string, or an integer's digits; `None` for `null`.
fn identifier(v: &Value, path: &str, what: &str) -> Result<Option<String>, Refusal> {
    match v {
        Value::Null => Ok(None),
        Value::String(s) => Ok(Some(s.clone())),
        Value::Number(n) if n.is_u64() || n.is_i64() => Ok(Some(n.to_string())),
        _ => Err(invalid(path.to_string(), what)),
    }
}

/// Reads one customer object: canonical keys, identifiers as text, claims collected.
fn customer(v: &mut Value, path: &str, claims: &mut Claims) -> Result<(), Refusal> {
    let m = match v {
        Value::Null => return Ok(()),
        Value::Object(m) => m,
        _ => {
            return Err(refusal(
                "invalid_customer",
                path.to_string(),
                "customer must be an object",
            ))
        }
    };
    for key in CUSTOMER_KEYS.iter().chain(&["customer"]) {
        canonicalize(m, key);
    }
    if let Some(e) = m.get_mut("email") {
        let p = format!("{path}.email");
        if let Some(raw) = identifier(e, &p, "email")? {
            let email = contact::normalize_email(&raw)
                .map_err(|why| refusal("invalid_identifier", p.clone(), why))?;
            *e = Value::String(email.clone());
            claims.emails.push((p, email));
        }
    }
    if let Some(ph) = m.get_mut("mobilePhone") {
        let p = format!("{path}.mobilePhone");
        if let Some(raw) = identifier(ph, &p, "mobilePhone")? {
            let phone = contact::normalize_phone(&raw)
                .map_err(|why| refusal("invalid_identifier", p.clone(), why))?;
            *ph = Value::String(phone.clone());
            claims.phones.push((p, phone));
        }
    }
    match m.get("authenticationTicket") {
        None | Some(Value::Null) => {}
        Some(Value::String(t)) => claims
            .tickets
            .push((format!("{path}.authenticationTicket"), t.clone())),
        Some(_) => {
            return Err(refusal(
                "ticket_invalid",
                format!("{path}.authenticationTicket"),
                "authenticationTicket must be the ticket's text",
            ))
        }
    }
    if let Some(Value::Array(subs)) = m.get_mut("subscriptions") {
        for s in subs.iter_mut() {
            if let Value::Object(s) = s {
                for key in SUBSCRIPTION_KEYS {
                    canonicalize(s, key);
                }
            }
        }
    }
    for (k, x) in m.iter_mut() {
        if !matches!(k.as_str(), "email" | "mobilePhone" | "authenticationTicket") {
            identifiers_under(k, x, &format!("{path}.{k}"), claims)?;
        }
    }
    Ok(())
}

/// Under a customer: `ids` objects and `discountCard`s at any depth, and customers inside customers.
fn identifiers_under(
    key: &str,
    v: &mut Value,
    path: &str,
    claims: &mut Claims,
) -> Result<(), Refusal> {
    if key == "ids" {
        match v {
            Value::Null => {}
            Value::Object(ids) => {
                for (system, id) in ids.iter_mut() {
                    let p = format!("{path}.{system}");
                    if let Some(text) = identifier(id, &p, "an id")? {
                        *id = Value::String(text.clone());
                        claims.ids.push((p, system.clone(), text));
                    }
                }
            }
            _ => {
                return Err(refusal(
                    "invalid_identifier",
                    path.to_string(),
                    "ids must be an object of id system → id",
                ))
            }
        }
        return Ok(());
    }
    if key == "discountCard" && !v.is_null() {
        claims.cards.push(path.to_string());
    }
    if key == "customer" {
        return customer(v, path, claims);
    }
    match v {
        Value::Object(m) => {
            for k in ["ids", "discountCard", "customer"] {
                canonicalize(m, k);
            }
            for (k, x) in m.iter_mut() {
                identifiers_under(k, x, &format!("{path}.{k}"), claims)?;
            }
        }
        Value::Array(a) => {
            for (i, x) in a.iter_mut().enumerate() {
                identifiers_under("", x, &format!("{path}[{i}]"), claims)?;
            }
        }
        _ => {}
    }
    Ok(())
}

/// Without a ticket, an unverified operation only subscribes: `customer` with `email`,
/// `mobilePhone` and `subscriptions` entries that say `isSubscribed: true`.
fn subscribe_only(data: &Value, root: &str, operation: &str) -> Result<(), Refusal> {
    let needs = |p: String, what: &str| {
        refusal(
            "ticket_required",
            p,
            format!(
                "{operation} without an authentication ticket may only subscribe an email or phone \
                 (customer.email, customer.mobilePhone, customer.subscriptions with isSubscribed: true); {what} needs a ticket for that customer"
            ),
        )
    };
    let Value::Object(top) = data else {
        return Ok(());
    };
    // A back-in-stock request names one contact: with two, a stranger could tie their phone to
    // someone's email in a project that updates the customer it finds.
    if top.contains_key("addProductToList") {
        if let Some(Value::Object(c)) = top.get("customer") {
            if c.contains_key("email") && c.contains_key("mobilePhone") {
                return Err(needs(
                    format!("{root}.customer.mobilePhone"),
                    "a second contact beside the email",
                ));
            }
        }
    }
    for (k, v) in top {
        if k == "addProductToList" {
            // A back-in-stock list takes the product asked about: its ids and a count, nothing else.
            let p = format!("{root}.{k}");
            product_only(v).map_err(|at| {
                needs(
                    format!("{p}{at}"),
                    "anything but a product's ids and a count",
                )
            })?;
            continue;
        }
        if k != "customer" {
            return Err(needs(format!("{root}.{k}"), k));
        }
        let Value::Object(c) = v else { continue };
        for (ck, cv) in c {
            let p = format!("{root}.customer.{ck}");
            match ck.as_str() {
                "email" | "mobilePhone" => {}
                "subscriptions" => {
                    let Value::Array(subs) = cv else {
                        return Err(needs(p, "subscriptions that are not a list"));
                    };
                    for (i, s) in subs.iter().enumerate() {
                        let sp = format!("{p}[{i}]");
                        let Value::Object(s) = s else {
                            return Err(needs(sp, "a subscription that is not an object"));
                        };
                        if s.get("isSubscribed") != Some(&Value::Bool(true)) {
                            return Err(needs(
                                format!("{sp}.isSubscribed"),
                                "anything but isSubscribed: true (an unsubscription)",
                            ));
                        }
                        for (sk, sv) in s {
                            let known = SUBSCRIPTION_KEYS.contains(&sk.as_str());
                            if !known || (sk != "isSubscribed" && !(sv.is_string() || sv.is_null()))
                            {
                                return Err(needs(format!("{sp}.{sk}"), sk));
                            }
                        }
                    }
                }
                _ => return Err(needs(p, ck)),
            }
        }
    }
    Ok(())
}

/// `{"product"|"productGroup": {"ids": {system: id}}, "count"?: number}`, or where it is not.
fn product_only(v: &Value) -> Result<(), String> {
    let Value::Object(line) = v else {
        return Err(String::new());
    };
    if !line.keys().any(|k| k == "product" || k == "productGroup") {
        return Err(".product".into());
    }
    for (k, x) in line {
        match (k.as_str(), x) {
            ("count", Value::Number(n)) if n.as_u64().is_some_and(|n| (1..=1000).contains(&n)) => {}
            ("product" | "productGroup", Value::Object(p)) if !p.is_empty() => {
                for (pk, ids) in p {
                    let Value::Object(ids) = ids else {
                        return Err(format!(".{k}.{pk}"));
                    };
                    if pk != "ids" || ids.is_empty() {
                        return Err(format!(".{k}.{pk}"));
                    }
                    if let Some((system, _)) =
                        ids.iter().find(|(_, id)| !(id.is_string() || id.is_u64()))
                    {
                        return Err(format!(".{k}.ids.{system}"));
                    }
                }
            }
            _ => return Err(format!(".{k}")),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gate::spelling::fold;
    use serde_json::json;

    const KEY: &[u8] = b"k";
    const NOW: i64 = 1_795_000_000;

    fn external(id: &str) -> String {
        ticket::sign(
            &Identity::External {
                system: "websiteID".into(),
                id: id.into(),
            },
            NOW,
            KEY,
        )
    }
    fn email_ticket(e: &str) -> String {
        ticket::sign(&Identity::Email(e.into()), NOW, KEY)
    }
    fn phone_ticket(p: &str) -> String {
        ticket::sign(&Identity::MobilePhone(p.into()), NOW, KEY)
    }

    fn run(mode: Mode, data: Value) -> (Result<(), (&'static str, String)>, Value) {
        let mut e = Event {
            id: "0f8fad5b-d9cb-469f-a165-70867728950e".into(),
            operation: "Website.EditCustomer".into(),
            data,
            created_at: None,
        };
        let r = authorize(&mut e, "events[0]", mode, KEY, NOW)
            .map(|_| ())
            .map_err(|r| (r.code, r.path));
        (r, e.data)
    }
    fn code(mode: Mode, data: Value) -> Result<(), &'static str> {
        run(mode, data).0.map_err(|(c, _)| c)
    }

    fn vouched(data: Value) -> Result<Vouched, &'static str> {
        let mut e = Event {
            id: String::new(),
            operation: "Website.CalculateUnauthorizedCart".into(),
            data,
            created_at: None,
        };
        authorize(&mut e, "request", Mode::Verified, KEY, NOW).map_err(|r| r.code)
    }

    #[test]
    fn only_a_valid_ticket_with_the_identifier_it_vouches_for_is_a_customer() {
        let t = external("u1");
        for anonymous in [
            json!({"customer": null, "order": {"ids": {"websiteID": "x"}}}),
            json!({"customer": {}}),
            json!({"customer": {"firstName": "Анна", "area": {"name": "x"}}}),
            json!({"Customer": {"authenticationTicket": null}}),
            json!({"customer": {"authenticationTicket": t}}),
            json!({"order": {"discountCard": {"ids": {"number": "1"}}}}),
        ] {
            assert_eq!(
                vouched(anonymous.clone()),
                Ok(Vouched::Nobody),
                "{anonymous}"
            );
        }
        assert_eq!(
            vouched(json!({"customer": {"ids": {"websiteID": "u1"}, "authenticationTicket": t}})),
            Ok(Vouched::Customer)
        );
        assert_eq!(
            vouched(json!({"customer": {"ids": {"websiteID": "u1"}}})),
            Err("ticket_missing")
        );
        // With a ticket, someone else's card under the order is not vouched for either.
        assert_eq!(
            vouched(
                json!({"customer": {"ids": {"websiteID": "u1"}, "authenticationTicket": t},
                "order": {"DiscountCard": {"ids": {"number": "4242"}}, "lines": []}})
            ),
            Err("ticket_mismatch")
        );
    }

    #[test]
    fn events_without_a_customer_pass() {
        assert_eq!(
            code(
                Mode::Verified,
                json!({"viewProduct": {"product": {"ids": {"website": "1"}}}})
            ),
            Ok(())
        );
        assert_eq!(
            code(Mode::Verified, json!({"customer": {"firstName": "Анна"}})),
            Ok(())
        );
        assert_eq!(code(Mode::Verified, json!({"customer": null})), Ok(()));
    }

    #[test]
    fn a_customer_needs_a_matching_ticket() {
        let v = Mode::Verified;
        assert_eq!(
            code(v, json!({"customer": {"ids": {"websiteID": "u1"}}})),
            Err("ticket_missing")
        );
        assert_eq!(
            code(
                v,
                json!({"customer": {"ids": {"websiteID": "u1"}, "authenticationTicket": external("u1")}})
            ),
            Ok(())
        );
        assert_eq!(
            code(
                v,
                json!({"customer": {"ids": {"websiteID": "u2"}, "authenticationTicket": external("u1")}})
            ),
            Err("ticket_mismatch")
        );
        assert_eq!(
            code(
                v,
                json!({"customer": {"ids": {"websiteID": "u1", "mindboxId": 7}, "authenticationTicket": external("u1")}})
            ),
            Err("ticket_mismatch")
        );
        assert_eq!(
            code(
                v,
                json!({"customer": {"email": "a@b.ru", "authenticationTicket": "00|00"}})
            ),
            Err("ticket_invalid")
        );
        assert_eq!(
            code(
                v,
                json!({"customer": {"email": "a@b.ru", "authenticationTicket": 7}})
            ),
            Err("ticket_invalid")
        );
    }

    #[test]
    fn keys_in_any_case_are_the_same_key() {
        let v = Mode::Verified;
        for data in [
            json!({"Customer": {"ids": {"websiteID": "victim"}}}),
            json!({"CUSTOMER": {"Ids": {"websiteID": "victim"}}}),
            json!({"customer": {"IDS": {"websiteID": "victim"}}}),
            json!({"customer": {"EMAIL": "victim@x.ru"}}),
            json!({"customer": {"MobilePhone": "79001112233"}}),
            json!({"customer": {"DiscountCard": {"ids": {"number": "1"}}}}),
            json!({"cuſtomer": {"ıds": {"websiteID": "victim"}}}),
            json!({"order": {"customer": {"ids": {"websiteID": "victim"}}}}),
            json!({"list": [{"Customer": {"email": "victim@x.ru"}}]}),
        ] {
            assert_eq!(code(v, data.clone()), Err("ticket_missing"), "{data}");
        }
        // And they are forwarded in the canonical spelling.
        let (r, out) = run(
            v,
            json!({"Customer": {"IDS": {"websiteID": "u1"}, "AuthenticationTicket": external("u1")}}),
        );
        assert_eq!(r, Ok(()));
        assert_eq!(out["customer"]["ids"]["websiteID"], "u1");
        assert!(out["customer"]["authenticationTicket"].is_string());
    }

    #[test]
    fn keys_that_differ_only_by_case_are_ambiguous() {
        for data in [
            json!({"customer": {}, "Customer": {"ids": {"websiteID": "victim"}}}),
            json!({"customer": {"ids": {"websiteID": "u1"}, "Ids": {"websiteID": "victim"}, "authenticationTicket": external("u1")}}),
            json!({"customer": {"ids": {"websiteID": "u1", "WebsiteId": "victim"}, "authenticationTicket": external("u1")}}),
            json!({"viewProduct": {"product": {"ids": {"website": "1", "Website": "2"}}}}),
        ] {
            let (r, _) = run(Mode::Verified, data.clone());
            assert_eq!(r.map_err(|(c, _)| c), Err("ambiguous_key"), "{data}");
        }
    }

    #[test]
    fn numbers_booleans_and_objects_never_look_anonymous() {
        let v = Mode::Verified;
        assert_eq!(
            code(v, json!({"customer": {"mobilePhone": 79001112233u64}})),
            Err("ticket_missing")
        );
        assert_eq!(
            code(v, json!({"customer": {"ids": {"websiteID": 42}}})),
            Err("ticket_missing")
        );
        for data in [
            json!({"customer": {"email": true}}),
            json!({"customer": {"email": {"value": "victim@x.ru"}}}),
            json!({"customer": {"mobilePhone": 7.9e10}}),
            json!({"customer": {"mobilePhone": ["79001112233"]}}),
            json!({"customer": {"ids": {"websiteID": {"id": "victim"}}}}),
            json!({"customer": {"ids": "victim"}}),
            json!({"customer": "victim"}),
        ] {
            assert!(
                matches!(
                    code(v, data.clone()),
                    Err("invalid_identifier" | "invalid_customer")
                ),
                "{data}"
            );
        }
        // A number vouched for by the ticket is its digits, and is forwarded as text.
        let (r, out) = run(
            v,
            json!({"customer": {"ids": {"websiteID": 42}, "authenticationTicket": external("42")}}),
        );
        assert_eq!(r, Ok(()));
        assert_eq!(out["customer"]["ids"]["websiteID"], "42");
        let (r, out) = run(
            v,
            json!({"customer": {"mobilePhone": 89001112233u64, "authenticationTicket": phone_ticket("79001112233")}}),
        );
        assert_eq!(r, Ok(()));
        assert_eq!(out["customer"]["mobilePhone"], "79001112233");
    }

    #[test]
    fn every_identifier_is_bound_to_the_ticket() {
        let v = Mode::Verified;
        let e = email_ticket("anna@x.ru");
        assert_eq!(
            code(
                v,
                json!({"customer": {"email": " Anna@X.ru ", "authenticationTicket": e}})
            ),
            Ok(())
        );
        assert_eq!(
            code(
                v,
                json!({"customer": {"email": "anna@x.ru", "mobilePhone": "79001112233", "authenticationTicket": e}})
            ),
            Err("ticket_mismatch")
        );
        assert_eq!(
            code(
                v,
                json!({"customer": {"email": "anna@x.ru", "ids": {"websiteID": "u1"}, "authenticationTicket": e}})
            ),
            Err("ticket_mismatch")
        );
        assert_eq!(
            code(
                v,
                json!({"customer": {"email": "anna@x.ru", "discountCard": {"ids": {"number": "1"}}, "authenticationTicket": e}})
            ),
            Err("ticket_mismatch")
        );
        let p = phone_ticket("79001112233");
        assert_eq!(
            code(
                v,
                json!({"customer": {"mobilePhone": "8 (900) 111 22 33", "authenticationTicket": p}})
            ),
            Ok(())
        );
        // A ticket's phone is taken as written: a Lebanese 9613123456 never vouches for the Russian
        // 79613123456, and a ticket not in Mindbox's spelling vouches for no phone.
        for (written, claimed) in [
            ("9613123456", "+7 961 312-34-56"),
            ("+7 900 111-22-33", "79001112233"),
        ] {
            assert_eq!(
                code(
                    v,
                    json!({"customer": {"mobilePhone": claimed, "authenticationTicket": phone_ticket(written)}})
                ),
                Err("ticket_mismatch"),
                "{written}"
            );
        }
        assert_eq!(
            code(
                v,
                json!({"customer": {"mobilePhone": "79001112233", "email": "victim@x.ru", "authenticationTicket": p}})
            ),
            Err("ticket_mismatch")
        );
        // Non-ASCII digits are not digits: not the ticket's phone, and not a phone at all.
        assert_eq!(
            code(
                v,
                json!({"customer": {"mobilePhone": "79001112233٥", "authenticationTicket": p}})
            ),
            Err("invalid_identifier")
        );
        assert_eq!(
            code(
                v,
                json!({"customer": {"mobilePhone": "７９００１１１２２３３", "authenticationTicket": p}})
            ),
            Err("invalid_identifier")
        );
        let x = external("u1");
        assert_eq!(
            code(
                v,
                json!({"customer": {"ids": {"websiteID": "u1"}, "email": "victim@x.ru", "authenticationTicket": x}})
            ),
            Err("ticket_mismatch")
        );
        assert_eq!(
            code(
                v,
                json!({"customer": {"ids": {"websiteID": "u1"}, "area": {"ids": {"externalId": "victim"}}, "authenticationTicket": x}})
            ),
            Err("ticket_mismatch")
        );
        assert_eq!(
            code(
                v,
                json!({"customer": {"ids": {"websiteID": "u1"}, "authenticationTicket": x}, "order": {"customer": {"ids": {"websiteID": "victim"}}}})
            ),
            Err("ticket_mismatch")
        );
        let (r, _) = run(
            v,
            json!({"customer": {"ids": {"websiteID": "u1"}, "authenticationTicket": x}, "other": {"customer": {"authenticationTicket": external("u2")}}}),
        );
        assert_eq!(r.map_err(|(c, _)| c), Err("ambiguous_key"));
    }

    #[test]
    fn unverified_operations_only_subscribe_without_a_ticket() {
        let u = Mode::Unverified;
        let sub = json!([{"pointOfContact": "Email", "isSubscribed": true}]);
        assert_eq!(
            code(
                u,
                json!({"customer": {"email": "a@b.ru", "subscriptions": sub}})
            ),
            Ok(())
        );
        assert_eq!(
            code(
                u,
                json!({"customer": {"mobilePhone": "+7 900 111 22 33", "subscriptions": [{"pointOfContact": "SMS", "brand": "shop", "topic": "news", "IsSubscribed": true}]}})
            ),
            Ok(())
        );
        for (data, at) in [
            (
                json!({"customer": {"email": "a@b.ru", "subscriptions": [{"pointOfContact": "Email", "isSubscribed": false}]}}),
                "subscriptions[0].isSubscribed",
            ),
            (
                json!({"customer": {"email": "a@b.ru", "subscriptions": [{"pointOfContact": "Email", "isSubscribed": "true"}]}}),
                "subscriptions[0].isSubscribed",
            ),
            (
                json!({"customer": {"email": "a@b.ru", "subscriptions": [{"pointOfContact": "Email"}]}}),
                "subscriptions[0].isSubscribed",
            ),
            (
                json!({"customer": {"email": "a@b.ru", "ids": {"websiteID": "victim"}}}),
                "customer.ids",
            ),
            (
                json!({"customer": {"email": "a@b.ru", "firstName": "Mallory"}}),
                "customer.firstName",
            ),
            (
                json!({"customer": {"email": "a@b.ru", "customFields": {"x": 1}}}),
                "customer.customFields",
            ),
            (
                json!({"customer": {"email": "a@b.ru"}, "order": {}}),
                "data.order",
            ),
            (
                json!({"customer": {"email": "a@b.ru"}, "addProductToList": {"product": {"ids": {"website": "7"}, "name": "x"}}}),
                "addProductToList.product.name",
            ),
            (
                json!({"customer": {"email": "a@b.ru"}, "addProductToList": {"product": {"ids": {"website": {"a": 1}}}}}),
                "addProductToList.product.ids.website",
            ),
            (
                json!({"customer": {"email": "a@b.ru"}, "addProductToList": {"product": {"ids": {"website": "7"}}, "pricePerItem": 1}}),
                "addProductToList.pricePerItem",
            ),
            (
                json!({"customer": {"email": "a@b.ru"}, "addProductToList": [1]}),
                "data.addProductToList",
            ),
            (
                json!({"customer": {"email": "a@b.ru"}, "AddProductToList": {"product": {"ids": {"website": "7"}}}}),
                "data.AddProductToList",
            ),
            (
                json!({"customer": {"email": "a@b.ru"}, "addProductToList": {"product": {"ids": {"website": "7"}}, "count": -1}}),
                "addProductToList.count",
            ),
            (
                json!({"customer": {"email": "a@b.ru"}, "addProductToList": {"product": {"ids": {"website": "7"}}, "count": 1.5}}),
                "addProductToList.count",
            ),
            (
                json!({"customer": {"email": "a@b.ru"}, "addProductToList": {"product": {"ids": {}}}}),
                "addProductToList.product.ids",
            ),
            (
                json!({"customer": {"email": "a@b.ru"}, "addProductToList": {"count": 1}}),
                "addProductToList.product",
            ),
            (
                json!({"customer": {"email": "a@b.ru", "mobilePhone": "79001112233"}, "addProductToList": {"product": {"ids": {"website": "7"}}}}),
                "customer.mobilePhone",
            ),
        ] {
            let (r, _) = run(u, data.clone());
            let (c, p) = r.expect_err(&data.to_string());
            assert_eq!(c, "ticket_required", "{data}");
            assert!(p.ends_with(at), "{p} for {data}");
        }
        // A back-in-stock request: the contact and the product's ids.
        assert_eq!(
            code(
                u,
                json!({"customer": {"email": "a@b.ru"}, "addProductToList": {"product": {"ids": {"website": "7"}}, "count": 1}})
            ),
            Ok(())
        );
        // With a ticket for that customer, anything goes.
        assert_eq!(
            code(
                u,
                json!({"customer": {"email": "a@b.ru", "firstName": "Анна", "subscriptions": [{"pointOfContact": "Email", "isSubscribed": false}], "authenticationTicket": email_ticket("a@b.ru")}})
            ),
            Ok(())
        );
        assert_eq!(
            code(
                u,
                json!({"customer": {"email": "victim@b.ru", "subscriptions": [{"pointOfContact": "Email", "isSubscribed": false}], "authenticationTicket": email_ticket("a@b.ru")}})
            ),
            Err("ticket_mismatch")
        );
    }

    #[test]
    fn sync_needs_a_ticket_and_the_customer_it_names() {
        let s = Mode::Sync;
        assert_eq!(
            code(s, json!({"customer": {"ids": {"websiteID": "u1"}}})),
            Err("ticket_missing")
        );
        assert_eq!(
            code(
                s,
                json!({"customer": {"authenticationTicket": external("u1")}})
            ),
            Err("ticket_missing")
        );
        assert_eq!(
            code(
                s,
                json!({"customer": {"ids": {"websiteID": "u1"}, "authenticationTicket": external("u1")}})
            ),
            Ok(())
        );
        assert_eq!(
            code(
                s,
                json!({"customer": {"email": "a@b.ru", "authenticationTicket": email_ticket("a@b.ru")}})
            ),
            Ok(())
        );
        assert_eq!(
            code(
                s,
                json!({"customer": {"mobilePhone": "79001112233", "authenticationTicket": phone_ticket("79001112233")}})
            ),
            Ok(())
        );
        assert_eq!(
            code(
                s,
                json!({"Customer": {"Ids": {"websiteID": "u2"}, "authenticationTicket": external("u1")}})
            ),
            Err("ticket_mismatch")
        );
    }

    #[test]
    fn fold_is_dotnet_ordinal_ignore_case() {
        assert_eq!(fold("customer"), fold("CUSTOMER"));
        assert_eq!(fold("ıds"), fold("IDS"));
        assert_eq!(fold("ſ"), "S");
        assert_ne!(fold("\u{212a}"), fold("k"), "the Kelvin sign is not K");
        assert_eq!(fold("ß"), "ß");
    }
}
