//! The emulated loyalty cards and SMS codes: Mindbox texts a code to a phone
//! (`Website.SendMobilePhoneAuthorizationCode`), binds a card to the phone with that code (`RegCard`,
//! Mindbox's docs example) and lists a customer's cards (`GetCustomerDiscountCards`). Tests read the
//! texted codes from the control API (`GET /__emulator/sms`), as a shopper reads their phone.
//!
//! Answers carry fields a page must never see (a card's PIN, the customer's email); the collector's
//! projections leave them out. A wrong or used code is Mindbox's `ValidationError` at
//! `/authentificationCode`: Mindbox documents no answer for it, this is our reading.

use std::collections::HashMap;

use serde_json::{json, Value};

/// Cards of the emulated project.
#[derive(Default)]
pub struct Cards {
    /// Card number → the phone it is bound to.
    pub owners: HashMap<String, Option<String>>,
    /// Phone → the last code texted to it, not used yet.
    pub codes: HashMap<String, String>,
    /// Every code texted, oldest first: `{mobilePhone, code, at}`.
    pub sms: Vec<Value>,
    /// `websiteID` → phone, learnt from accepted requests that name both.
    pub phone_of: HashMap<String, String>,
    /// Codes made so far (the next code derives from it).
    made: u64,
}

/// Cards every emulator starts with: free ones, and one bound to another phone.
pub const FREE_CARDS: &[&str] = &[
    "2000000000001",
    "2000000000002",
    "2000000000003",
    "2000000000004",
    "2000000000005",
];
/// A card bound to [`TAKEN_BY`] from the start.
pub const TAKEN_CARD: &str = "2000000000099";
/// The phone [`TAKEN_CARD`] is bound to.
pub const TAKEN_BY: &str = "79990000099";

impl Cards {
    /// The starting cards.
    pub fn new() -> Cards {
        let mut c = Cards::default();
        c.reset();
        c
    }

    /// Back to the starting cards, no codes.
    pub fn reset(&mut self) {
        self.owners = FREE_CARDS.iter().map(|n| (n.to_string(), None)).collect();
        self.owners
            .insert(TAKEN_CARD.to_string(), Some(TAKEN_BY.to_string()));
        self.codes.clear();
        self.sms.clear();
        self.phone_of.clear();
    }

    /// Notes the phone of a customer an accepted request names by `websiteID` and phone.
    pub fn learn(&mut self, body: &Value) {
        let c = &body["customer"];
        if let (Some(id), Some(phone)) = (c["ids"]["websiteID"].as_str(), c["mobilePhone"].as_str())
        {
            self.phone_of.insert(id.to_string(), phone.to_string());
        }
    }

    /// The answer to one of the card operations (`None` for others); `Err` is a validation error
    /// with its location.
    pub fn answer(
        &mut self,
        operation: &str,
        body: &Value,
    ) -> Option<Result<Value, (String, String)>> {
        let phone = body["customer"]["mobilePhone"].as_str().map(String::from);
        let invalid = |m: &str, at: &str| Err((m.to_string(), at.to_string()));
        Some(match operation {
            "Website.SendMobilePhoneAuthorizationCode" => match phone {
                Some(p) if p.len() >= 5 && p.bytes().all(|c| c.is_ascii_digit()) => {
                    self.made += 1;
                    let code = format!("{:04}", (self.made * 7919 + 1234) % 10_000);
                    self.codes.insert(p.clone(), code.clone());
                    let at = std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .map_or(0, |d| d.as_millis() as u64);
                    self.sms
                        .push(json!({"mobilePhone": p, "code": code, "at": at}));
                    Ok(json!({"status": "Success"}))
                }
                _ => invalid("Укажите мобильный телефон", "/customer/mobilePhone"),
            },
            "RegCard" => {
                let Some(p) = phone else {
                    return Some(invalid(
                        "Укажите мобильный телефон",
                        "/customer/mobilePhone",
                    ));
                };
                let number = body["discountCard"]["ids"]["number"].as_str().unwrap_or("");
                let code = body["authentificationCode"].as_str().unwrap_or("");
                if code.is_empty() || self.codes.get(&p).map(String::as_str) != Some(code) {
                    return Some(invalid(
                        "Неверный код подтверждения",
                        "/authentificationCode",
                    ));
                }
                self.codes.remove(&p);
                let status = match self.owners.get(number) {
                    None => "NotFound",
                    Some(None) => {
                        self.owners.insert(number.to_string(), Some(p.clone()));
                        "Bound"
                    }
                    Some(Some(owner)) if *owner == p => "AlreadyBoundToCurrentCustomer",
                    Some(Some(_)) => "AlreadyBoundToAnotherCustomer",
                };
                Ok(json!({
                    "status": "Success",
                    "customer": {"processingStatus": "Found", "email": "private@example.com", "ids": {"mindboxId": 77}},
                    "discountCard": {"processingStatus": status, "ids": {"number": number}, "pin": "0000"}
                }))
            }
            "GetCustomerDiscountCards" => {
                let c = &body["customer"];
                let phone = c["mobilePhone"].as_str().map(String::from).or_else(|| {
                    c["ids"]["websiteID"]
                        .as_str()
                        .and_then(|id| self.phone_of.get(id).cloned())
                });
                let mut cards: Vec<&String> = self
                    .owners
                    .iter()
                    .filter(|(_, o)| phone.is_some() && o.as_ref() == phone.as_ref())
                    .map(|(n, _)| n)
                    .collect();
                cards.sort();
                Ok(json!({
                    "status": "Success",
                    "customer": {"processingStatus": "Found", "email": "private@example.com"},
                    "discountCards": cards.iter().map(|n| json!({
                        "ids": {"number": n},
                        "status": {"ids": {"systemName": "Activated"}},
                        "type": {"ids": {"systemName": "Loyalty"}, "name": "Карта лояльности"},
                        "pin": "0000"
                    })).collect::<Vec<_>>()
                }))
            }
            _ => return None,
        })
    }
}
