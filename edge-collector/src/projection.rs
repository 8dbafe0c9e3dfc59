//! What of a Mindbox sync answer reaches the page.
//!
//! `SYNC_OPERATIONS` lists the sync operations a browser may ask through `/v1/sync`, each with its
//! projection: `Operation=projection`, comma-separated. A projection is one of four presets, or the
//! answer's fields to keep as `|`-separated dotted paths (`status|customer.processingStatus`; a path
//! goes through arrays, so `balances.total` keeps `total` of every balance). Nothing else of Mindbox's
//! answer is ever sent to the page.
//!
//! The presets, with what Mindbox's public clients read (sources: docs/integrate.md, "Loyalty on the page"):
//!
//! * `balance`: `{status, balances: [{systemName, name, total, available, blocked}]}`. Mindbox's JSON
//!   clients read `balances[].systemName/total/available/blocked`; its docs page shows
//!   `totalValue/availableValue/blockedValue` and `balanceType.ids.systemName`. Both are read, and the
//!   page always gets the first spelling (`name` is `balanceType.name`, the balance's display name).
//! * `history`: the points history as Mindbox answers it, trimmed to `status`, `customerActionsCount`
//!   and per action `dateTimeUtc`, `actionTemplate.name`, `order.ids` and per balance change
//!   `changeAmount` (positive: accrued, negative: spent), `comment`, `expirationDateTimeUtc`,
//!   `balanceChangeKind.systemName`, `balanceType.name`.
//! * `tier`: `status` and `customerSegmentations[].segmentation/segment` (`ids.externalId`, `name`):
//!   Mindbox keeps a loyalty tier as a segment of a segmentation.
//! * `cart`: the cart calculation's `status`, `order.totalPrice`, its lines' numbers, quantities,
//!   prices and earned/spent points, `order.bonusPointsChanges`, and `earnedPoints`: the points this
//!   cart will earn, summed from `order.bonusPointsChanges[].earnedAmount`, or, where the answer has
//!   none, from the lines' `appliedPromotions` of type `earnedBonusPoints`. Any visitor may ask it;
//!   the other presets and field lists need a verified customer.
//! * `phoneCode`: `status` of Mindbox's "text a confirmation code" (Bitrix module:
//!   `Website.SendMobilePhoneAuthorizationCode`). No ticket: the request is read and counted by
//!   [`crate::gate::sms_code`].
//! * `bindCard`: `status` and `discountCard.processingStatus` (Bound, AlreadyBoundToCurrentCustomer,
//!   AlreadyBoundToAnotherCustomer, NotFound, NotProcessed) of a card bound with an SMS code
//!   (Mindbox's docs, "bind-discount-card-with-sms-confirmation", example `RegCard`). No ticket, like
//!   `phoneCode`.
//! * `cards`: the customer's `discountCards[]`: `ids.number`, `status.ids.systemName`,
//!   `type.ids.systemName`, `type.name` (Mindbox's docs example `GetCustomerDiscountCards`).

use serde_json::{Map, Value};

/// How a sync answer is cut down for the page.
#[derive(Clone, Debug, PartialEq)]
pub enum Projection {
    /// A loyalty balance, in one spelling.
    Balance,
    /// The points history.
    History,
    /// The customer's tier (segments).
    Tier,
    /// A cart calculation, with `earnedPoints`.
    Cart,
    /// Mindbox texts a confirmation code: `status` ([`crate::gate::sms_code`]).
    PhoneCode,
    /// A card bound with a code: the card's processing status ([`crate::gate::sms_code`]; not the
    /// customer's, which would tell a caller without a ticket whether a phone is Mindbox's).
    BindCard,
    /// The customer's loyalty cards.
    Cards,
    /// These dotted paths of the answer, nothing else.
    Fields(Vec<Vec<String>>),
}

/// One operation on `SYNC_OPERATIONS`.
#[derive(Clone, Debug, PartialEq)]
pub struct SyncOperation {
    /// The Mindbox operation.
    pub name: String,
    /// What of its answer reaches the page.
    pub projection: Projection,
}

/// Default for `SYNC_OPERATIONS`: the loyalty screens of a shop, by the operation names of Mindbox's
/// Bitrix and PHP SDKs where they name them (a project may name them otherwise).
pub const DEFAULT_SYNC_OPERATIONS: &str = "Website.GetCustomerBalance=balance,\
Website.GetCustomerBonusPointsHistory=history,Website.GetCustomerSegments=tier,\
Website.CalculateAuthorizedCart=cart,Website.CalculateUnauthorizedCart=cart,\
Website.SendMobilePhoneAuthorizationCode=phoneCode,RegCard=bindCard,GetCustomerDiscountCards=cards";

const BALANCE: &[&str] = &[
    "status",
    "balances.systemName",
    "balances.name",
    "balances.total",
    "balances.available",
    "balances.blocked",
];
const HISTORY: &[&str] = &[
    "status",
    "customerActionsCount",
    "customerActions.dateTimeUtc",
    "customerActions.actionTemplate.name",
    "customerActions.order.ids",
    "customerActions.customerBalanceChanges.changeAmount",
    "customerActions.customerBalanceChanges.comment",
    "customerActions.customerBalanceChanges.expirationDateTimeUtc",
    "customerActions.customerBalanceChanges.balanceChangeKind.systemName",
    "customerActions.customerBalanceChanges.balanceType.name",
];
const TIER: &[&str] = &[
    "status",
    "customerSegmentations.segmentation.ids.externalId",
    "customerSegmentations.segmentation.name",
    "customerSegmentations.segment.ids.externalId",
    "customerSegmentations.segment.name",
];
const CART: &[&str] = &[
    "status",
    "earnedPoints",
    "order.totalPrice",
    "order.lines.lineNumber",
    "order.lines.quantity",
    "order.lines.basePricePerItem",
    "order.lines.discountedPriceOfLine",
    "order.lines.appliedPromotions.type",
    "order.lines.appliedPromotions.amount",
    "order.bonusPointsChanges.balanceType.ids.systemName",
    "order.bonusPointsChanges.earnedAmount",
    "order.bonusPointsChanges.spentAmount",
];

const PHONE_CODE: &[&str] = &["status"];
const BIND_CARD: &[&str] = &["status", "discountCard.processingStatus"];
const CARDS: &[&str] = &[
    "status",
    "discountCards.ids.number",
    "discountCards.status.ids.systemName",
    "discountCards.type.ids.systemName",
    "discountCards.type.name",
];

/// What of an anonymous cart calculation's request goes to Mindbox: the lines, nothing else.
const ANONYMOUS_CART: &[&str] = &[
    "order.lines.lineNumber",
    "order.lines.quantity",
    "order.lines.basePricePerItem",
    "order.lines.product.ids",
    "order.lines.productGroup.ids",
];

/// The request of a cart calculation that names no customer, cut to its lines' numbers, quantities,
/// prices and product ids (as the tracker's `calculateCart` writes it).
pub fn anonymous_cart(data: &Value) -> Value {
    keep(data, &paths(ANONYMOUS_CART))
}

fn paths(list: &[&str]) -> Vec<Vec<String>> {
    list.iter()
        .map(|p| p.split('.').map(String::from).collect())
        .collect()
}

/// Reads `SYNC_OPERATIONS`; the error names the entry that is wrong.
pub fn parse(list: &str) -> Result<Vec<SyncOperation>, String> {
    let mut out = Vec::new();
    for entry in list.split(',').map(str::trim).filter(|e| !e.is_empty()) {
        let Some((name, projection)) = entry.split_once('=') else {
            return Err(format!(
                "{entry:?} needs a projection: Operation=balance, history, tier, cart, phoneCode, bindCard, cards or field.paths|…"
            ));
        };
        let name = name.trim();
        if !mindbox_model::operation::is_valid_name(name) {
            return Err(format!("{name:?} is not an operation name"));
        }
        let projection = match projection.trim() {
            "balance" => Projection::Balance,
            "history" => Projection::History,
            "tier" => Projection::Tier,
            "cart" => Projection::Cart,
            "phoneCode" => Projection::PhoneCode,
            "bindCard" => Projection::BindCard,
            "cards" => Projection::Cards,
            paths => Projection::Fields(split_paths(paths).map_err(|e| format!("{name}: {e}"))?),
        };
        out.push(SyncOperation {
            name: name.to_string(),
            projection,
        });
    }
    Ok(out)
}

fn split_paths(paths: &str) -> Result<Vec<Vec<String>>, String> {
    paths
        .split('|')
        .map(|p| {
            let segments: Vec<String> = p.trim().split('.').map(String::from).collect();
            if segments
                .iter()
                .any(|s| s.is_empty() || !s.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'_'))
            {
                Err(format!("{p:?} is not a field path such as balances.total"))
            } else {
                Ok(segments)
            }
        })
        .collect()
}

impl Projection {
    /// Whether the call must name a customer its ticket vouches for (every projection but `cart`,
    /// which any visitor may ask, a cart calculation that names a customer still needing the ticket;
    /// and the two an SMS code proves, [`Projection::code_call`]).
    pub fn needs_customer(&self) -> bool {
        !matches!(
            self,
            Projection::Cart | Projection::PhoneCode | Projection::BindCard
        )
    }

    /// The call an SMS code proves, for the two presets that take no ticket but a code.
    pub fn code_call(&self) -> Option<crate::gate::sms_code::CodeCall> {
        match self {
            Projection::PhoneCode => Some(crate::gate::sms_code::CodeCall::SendCode),
            Projection::BindCard => Some(crate::gate::sms_code::CodeCall::BindCard),
            _ => None,
        }
    }

    /// The page's part of `answer`.
    pub fn apply(&self, answer: &Value) -> Value {
        let (preset, answer) = match self {
            Projection::Balance => (BALANCE, balance_in_one_spelling(answer)),
            Projection::History => (HISTORY, answer.clone()),
            Projection::Tier => (TIER, answer.clone()),
            Projection::Cart => (CART, with_earned_points(answer)),
            Projection::PhoneCode => (PHONE_CODE, answer.clone()),
            Projection::BindCard => (BIND_CARD, answer.clone()),
            Projection::Cards => (CARDS, answer.clone()),
            Projection::Fields(paths) => return keep(answer, paths),
        };
        keep(&answer, &paths(preset))
    }
}

/// Only `paths` of `answer` (arrays are gone through, their length kept).
fn keep(answer: &Value, paths: &[Vec<String>]) -> Value {
    let mut out = Value::Object(Map::new());
    for path in paths {
        copy(answer, &mut out, path);
    }
    out
}

fn copy(src: &Value, dst: &mut Value, path: &[String]) {
    let Some((first, rest)) = path.split_first() else {
        *dst = src.clone();
        return;
    };
    match src {
        Value::Array(items) => {
            if !matches!(dst, Value::Array(d) if d.len() == items.len()) {
                *dst = Value::Array(vec![Value::Object(Map::new()); items.len()]);
            }
            if let Value::Array(d) = dst {
                for (s, d) in items.iter().zip(d.iter_mut()) {
                    copy(s, d, path);
                }
            }
        }
        Value::Object(fields) => {
            let Some(child) = fields.get(first.as_str()) else {
                return;
            };
            if !dst.is_object() {
                *dst = Value::Object(Map::new());
            }
            if let Value::Object(d) = dst {
                let slot = d.entry(first.clone()).or_insert(Value::Null);
                copy(child, slot, rest);
            }
        }
        _ => {}
    }
}

/// `balances[]` with `systemName`, `name`, `total`, `available`, `blocked`, whichever spelling
/// Mindbox used.
fn balance_in_one_spelling(answer: &Value) -> Value {
    let mut answer = answer.clone();
    if let Some(list) = answer.get_mut("balances").and_then(Value::as_array_mut) {
        for b in list.iter_mut().filter_map(Value::as_object_mut) {
            let read = |b: &Map<String, Value>, short: &str, long: &str| {
                b.get(short).or_else(|| b.get(long)).cloned()
            };
            let system = b
                .get("systemName")
                .or_else(|| {
                    b.get("balanceType")
                        .and_then(|t| t.pointer("/ids/systemName"))
                })
                .cloned();
            let name = b.get("balanceType").and_then(|t| t.get("name")).cloned();
            let total = read(b, "total", "totalValue");
            let available = read(b, "available", "availableValue");
            let blocked = read(b, "blocked", "blockedValue");
            for (k, v) in [
                ("systemName", system),
                ("name", name),
                ("total", total),
                ("available", available),
                ("blocked", blocked),
            ] {
                if let Some(v) = v {
                    b.insert(k.to_string(), v);
                }
            }
        }
    }
    answer
}

/// The answer with `earnedPoints`: the sum of `order.bonusPointsChanges[].earnedAmount`, or, when
/// there are none, of the lines' `earnedBonusPoints` promotions; 0 when neither is there.
fn with_earned_points(answer: &Value) -> Value {
    let sum = |items: Vec<&Value>| items.iter().filter_map(|v| v.as_f64()).sum::<f64>();
    let list = |v: Option<&Value>| v.and_then(Value::as_array).cloned().unwrap_or_default();
    let order = answer.get("order");
    let changes = list(order.and_then(|o| o.get("bonusPointsChanges")));
    let earned = if changes.is_empty() {
        let lines = list(order.and_then(|o| o.get("lines")));
        let promotions: Vec<Value> = lines
            .iter()
            .flat_map(|l| list(l.get("appliedPromotions")))
            .filter(|p| p.get("type").and_then(Value::as_str) == Some("earnedBonusPoints"))
            .collect();
        sum(promotions.iter().filter_map(|p| p.get("amount")).collect())
    } else {
        sum(changes
            .iter()
            .filter_map(|c| c.get("earnedAmount"))
            .collect())
    };
    let mut answer = answer.clone();
    if let Value::Object(m) = &mut answer {
        let n = serde_json::Number::from_f64(earned).unwrap_or_else(|| 0.into());
        // Whole points stay integers on the page (`40`, not `40.0`).
        let n = if earned.fract() == 0.0 && earned.abs() < 1e15 {
            (earned as i64).into()
        } else {
            n
        };
        m.insert("earnedPoints".into(), Value::Number(n));
    }
    answer
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn one(entry: &str) -> Projection {
        parse(entry).unwrap().remove(0).projection
    }

    #[test]
    fn the_trackers_card_calls_default_to_operations_this_list_serves() {
        let extras = include_str!("../../tracker/js/extras.js");
        let ops = parse(DEFAULT_SYNC_OPERATIONS).unwrap();
        for (method, preset) in [
            ("sendPhoneCode", Projection::PhoneCode),
            ("bindCard", Projection::BindCard),
            ("getCards", Projection::Cards),
        ] {
            let at = extras.find(&format!("  {method}: \"")).expect(method) + method.len() + 5;
            let name = &extras[at..at + extras[at..].find('"').unwrap()];
            assert!(
                ops.iter().any(|o| o.name == name && o.projection == preset),
                "{method}'s default {name} is not on DEFAULT_SYNC_OPERATIONS as {preset:?}"
            );
        }
        let at = extras.find("  subscribeToProduct: \"").unwrap() + 23;
        let name = &extras[at..at + extras[at..].find('"').unwrap()];
        assert!(crate::config::DEFAULT_UNVERIFIED_OPERATIONS.contains(&name));
        assert!(mindbox_model::operation::DEFAULT_OPERATIONS.contains(&name));
    }

    #[test]
    fn reads_the_list_and_says_what_is_wrong() {
        let ops = parse(DEFAULT_SYNC_OPERATIONS).unwrap();
        assert_eq!(ops.len(), 8);
        assert!(ops[5..]
            .iter()
            .all(|o| o.projection.code_call().is_some() != o.projection.needs_customer()));
        assert_eq!(ops[3].projection, Projection::Cart);
        assert!(!ops[3].projection.needs_customer() && ops[0].projection.needs_customer());
        assert_eq!(
            one("Shop.X = status|customer.ids"),
            Projection::Fields(vec![
                vec!["status".into()],
                vec!["customer".into(), "ids".into()]
            ])
        );
        for bad in [
            "Website.GetCustomerBalance",
            "bad name=balance",
            "Shop.X=a..b",
            "Shop.X=",
            "Shop.X=a|b c",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn balance_in_either_spelling_reaches_the_page_in_one() {
        let docs = json!({"status": "Success", "customer": {"email": "private@example.com"},
            "balances": [{"totalValue": 150, "availableValue": 100, "blockedValue": 50,
                          "balanceType": {"ids": {"systemName": "Main"}, "name": "Баллы"}, "internal": "x"}]});
        let clients = json!({"status": "Success", "balances": [{"systemName": "Main", "total": 150,
            "available": 100, "blocked": 50, "balanceType": {"ids": {"systemName": "Main"}, "name": "Баллы"},
            "nearestExpiration": {"total": 5}}]});
        let page = json!({"status": "Success", "balances": [
            {"systemName": "Main", "name": "Баллы", "total": 150, "available": 100, "blocked": 50}]});
        assert_eq!(Projection::Balance.apply(&docs), page);
        assert_eq!(Projection::Balance.apply(&clients), page);
    }

    #[test]
    fn fields_keep_only_their_paths_through_arrays() {
        let answer = json!({"status": "Success", "secret": 1, "customerActions": [
            {"dateTimeUtc": "2026-01-01", "ids": {"mindboxId": 9},
             "customerBalanceChanges": [{"changeAmount": 40, "internal": true}]},
            {"dateTimeUtc": "2026-02-01"}]});
        assert_eq!(
            Projection::History.apply(&answer),
            json!({"status": "Success", "customerActions": [
                {"dateTimeUtc": "2026-01-01", "customerBalanceChanges": [{"changeAmount": 40}]},
                {"dateTimeUtc": "2026-02-01"}]})
        );
        assert_eq!(
            one("S.X=status|nope.deeper").apply(&answer),
            json!({"status": "Success"})
        );
    }

    #[test]
    fn an_anonymous_cart_sends_only_its_lines() {
        let asked = json!({"order": {"ids": {"websiteID": "someone-elses-order"},
            "discountCard": {"ids": {"number": "1"}}, "coupons": [{"ids": {"code": "SECRET"}}],
            "lines": [{"lineNumber": 1, "quantity": 2, "basePricePerItem": 10,
                       "product": {"ids": {"website": "7"}}, "requestedPromotions": [1]}]},
            "pointOfContact": "x"});
        assert_eq!(
            anonymous_cart(&asked),
            json!({"order": {"lines": [{"lineNumber": 1, "quantity": 2, "basePricePerItem": 10,
                "product": {"ids": {"website": "7"}}}]}})
        );
    }

    #[test]
    fn cart_points_from_bonus_changes_or_else_from_line_promotions() {
        let with_changes = json!({"status": "Success", "order": {"totalPrice": 9980,
            "bonusPointsChanges": [{"earnedAmount": 499, "spentAmount": 0,
                "balanceType": {"ids": {"systemName": "Main"}, "name": "x"}}],
            "lines": [{"lineNumber": 1, "appliedPromotions": [{"type": "earnedBonusPoints", "amount": 1,
                "promotion": {"name": "private"}}]}]}});
        let page = Projection::Cart.apply(&with_changes);
        assert_eq!(page["earnedPoints"], json!(499));
        assert_eq!(
            page["order"]["lines"][0]["appliedPromotions"][0],
            json!({"type": "earnedBonusPoints", "amount": 1})
        );
        let lines_only = json!({"status": "Success", "order": {"lines": [
            {"appliedPromotions": [{"type": "earnedBonusPoints", "amount": 12.5}, {"type": "discount", "amount": 100}]},
            {"appliedPromotions": [{"type": "earnedBonusPoints", "amount": 7.5}]}]}});
        assert_eq!(
            Projection::Cart.apply(&lines_only)["earnedPoints"],
            json!(20)
        );
        assert_eq!(
            Projection::Cart.apply(&json!({"status": "Success"}))["earnedPoints"],
            json!(0)
        );
    }
}
