//! The page's calls, decided: `mindbox(method, arg)`, with the argument as JSON text (the JS shell's
//! `JSON.stringify`, which leaves out the callbacks), becomes an event to store, a setting, or a
//! message for the console that says what was expected. Pure Rust: the browser layer only adds the
//! event's id and time.

use crate::args;
use crate::check::MAX_DATA_DEPTH;
use crate::json::{self, concat, Json};
use crate::operation;
use crate::payload::{self, Kind};

/// What a page call makes: the event's operation and its data as JSON text.
#[derive(Clone, Debug, PartialEq)]
pub struct PageEvent {
    /// The Mindbox operation.
    pub operation: String,
    /// The operation's body, JSON text the collector's reader takes.
    pub data: String,
}

/// Methods the JS shell loads on their first call (`tracker/js/extras.js`, which reads their
/// `create({operations})` overrides itself): named here so that `create` takes those overrides.
/// They are the calls only some pages make (account, loyalty and card pages, back-in-stock forms).
pub const LAZY_METHODS: &[&str] = &[
    "subscribeToProduct",
    "sendPhoneCode",
    "bindCard",
    "getCards",
    "authorize",
    "register",
    "editCustomer",
    "subscribe",
    "getBalance",
    "getPointsHistory",
    "getTier",
    "calculateCart",
];

/// The page's settings (`mindbox("create", …)`).
#[derive(Clone, Debug, Default)]
pub struct Page {
    /// The Mindbox endpoint the page names (`data-endpoint-id`, `create`'s `endpointId`).
    pub endpoint_id: Option<String>,
    /// `method → operation` overrides from `create`'s `operations`.
    operations: Vec<(String, String)>,
    /// The Mindbox id system of product and category ids (`create`'s `productIdSystem`).
    id_system: String,
    /// `create({consent: "opt-in"})` (or `data-consent="opt-in"`): the page collects only after the
    /// visitor consented, so its batches say so (`"consent": true`).
    pub opt_in: bool,
}

/// The product id system when the page names none (the collector's `PRODUCT_ID_SYSTEM` renames it).
pub use mindbox_model::DEFAULT_ID_SYSTEM;

impl Page {
    /// A page whose script tag names `endpoint_id`.
    pub fn new(endpoint_id: Option<String>) -> Page {
        Page {
            endpoint_id,
            operations: Vec::new(),
            id_system: DEFAULT_ID_SYSTEM.to_string(),
            opt_in: false,
        }
    }

    /// One call. `Ok(Some)`: an event to store; `Ok(None)`: a setting was taken; `Err`: the message
    /// for the console (and the call's `onError`), the call is dropped.
    pub fn call(&mut self, method: &str, arg: &str) -> Result<Option<PageEvent>, String> {
        // The argument's own object plus the data inside it.
        let arg = json::parse_or_why(arg, MAX_DATA_DEPTH + 1)
            .map_err(|why| concat(&["mindbox(\"", method, "\"): the argument ", why]))?;
        match method {
            "create" => self.create(&arg).map(|_| None),
            "async" => raw(arg).map(Some),
            other => match Kind::from_method(other) {
                Some(kind) => self
                    .typed(kind, &arg)
                    .map(Some)
                    .map_err(|e| concat(&["mindbox(\"", kind.method(), "\"): ", &e])),
                None => Err(concat(&[
                    "unknown method \"",
                    other,
                    "\"; see mindbox.d.ts for the calls this tracker takes",
                ])),
            },
        }
    }

    fn create(&mut self, arg: &Json) -> Result<(), String> {
        if let Some(id) = arg.field("endpointId").and_then(Json::text) {
            self.endpoint_id = Some(id.to_string());
        }
        let mut wrong = String::new();
        match arg.field("consent").map(Json::text) {
            None => {}
            Some(Some("opt-in")) => self.opt_in = true,
            Some(_) => wrong.push_str("create: consent must be \"opt-in\""),
        }
        if let Some(system) = arg.field("productIdSystem") {
            match system
                .text()
                .filter(|s| operation::is_valid_name(s) && s.len() <= 64)
            {
                Some(s) => self.id_system = s.to_string(),
                None => wrong.push_str(
                    "create: productIdSystem must be an id system's name such as \"website\"",
                ),
            }
        }
        if let Some(Json::Obj(ops)) = arg.get("operations") {
            for (k, v) in ops {
                match v.text() {
                    Some(op)
                        if (Kind::from_method(k).is_some()
                            || LAZY_METHODS.contains(&k.as_str()))
                            && operation::is_valid_name(op) =>
                    {
                        self.operations.push((k.clone(), op.to_string()))
                    }
                    _ => {
                        if !wrong.is_empty() {
                            wrong.push_str("; ");
                        }
                        wrong.push_str(&concat(&[
                            "create: operations.",
                            k,
                            " must name a typed method and a Mindbox operation",
                        ]))
                    }
                }
            }
        }
        if wrong.is_empty() {
            Ok(())
        } else {
            Err(wrong)
        }
    }

    fn operation(&self, kind: Kind) -> String {
        self.operations
            .iter()
            .rev()
            .find(|(k, _)| k == kind.method())
            .map(|(_, op)| op.clone())
            .unwrap_or_else(|| kind.default_operation().to_string())
    }

    /// A typed call such as `mindbox("viewProduct", {productId: "123"})`.
    fn typed(&self, kind: Kind, arg: &Json) -> Result<PageEvent, String> {
        let system = &self.id_system;
        let data = match kind {
            Kind::ViewProduct => {
                payload::view_product(&args::product(arg, system)?, args::price(arg)?)
            }
            Kind::ViewCategory => payload::view_category(system, &args::category(arg)?),
            Kind::SetCart | Kind::SetWishlist => payload::product_list(&args::lines(arg, system)?),
            Kind::AddToCart | Kind::AddToWishlist => {
                payload::add_to_list(&args::line(arg, system)?)
            }
            Kind::RemoveFromCart | Kind::RemoveFromWishlist => {
                payload::remove_from_list(&args::line(arg, system)?)
            }
            Kind::ClearCart | Kind::ClearWishlist => payload::empty(),
        };
        Ok(PageEvent {
            operation: self.operation(kind),
            data,
        })
    }
}

/// `mindbox("async", {operation, data})`: any allowed-looking operation, data as the page gave it
/// (half an emoji already became U+FFFD when it was read). The collector puts every customer's email
/// and phone in Mindbox's spelling.
fn raw(arg: Json) -> Result<PageEvent, String> {
    let operation = arg
        .get("operation")
        .and_then(Json::text)
        .filter(|o| operation::is_valid_name(o))
        .ok_or("mindbox(\"async\"): operation must be a Mindbox operation name such as \"Website.ViewProduct\"")?
        .to_string();
    let data = match arg.get("data") {
        None => "{}".to_string(),
        Some(d @ Json::Obj(_)) => text(d),
        Some(_) => return Err("mindbox(\"async\"): data must be a JSON object".into()),
    };
    Ok(PageEvent { operation, data })
}

fn text(v: &Json) -> String {
    let mut out = String::new();
    json::write(&mut out, v);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(page: &mut Page, method: &str, arg: &str) -> Result<Option<PageEvent>, String> {
        page.call(method, arg)
    }

    #[test]
    fn typed_calls_make_mindbox_payloads_and_bad_ones_say_what_was_expected() {
        let mut page = Page::new(None);
        let made = call(
            &mut page,
            "viewProduct",
            r#"{"productId":123,"price":99.5}"#,
        )
        .unwrap()
        .unwrap();
        assert_eq!(made.operation, "Website.ViewProduct");
        assert_eq!(
            made.data,
            r#"{"viewProduct":{"product":{"ids":{"website":"123"}},"price":99.5}}"#
        );
        let e = call(&mut page, "setCart", r#"[{"productId":"1","count":-1}]"#).unwrap_err();
        assert!(e.contains("count: expected a positive number"), "{e}");
        let e = call(&mut page, "viewProduct", "{}").unwrap_err();
        assert!(e.starts_with("mindbox(\"viewProduct\")"), "{e}");
        assert!(call(&mut page, "noSuchMethod", "{}")
            .unwrap_err()
            .contains("noSuchMethod"));
    }

    #[test]
    fn raw_calls_keep_the_data_and_fix_half_an_emoji() {
        let mut page = Page::new(None);
        let made = call(
            &mut page,
            "async",
            r#"{"operation":"Website.X","data":{"n":"cut \ud83d","k":[1,2e3]}}"#,
        )
        .unwrap()
        .unwrap();
        assert_eq!(made.data, "{\"n\":\"cut \u{fffd}\",\"k\":[1,2e3]}");
        assert_eq!(
            call(&mut page, "async", r#"{"operation":"Website.X"}"#)
                .unwrap()
                .unwrap()
                .data,
            "{}"
        );
        assert!(call(&mut page, "async", r#"{"operation":"not one"}"#).is_err());
        // Phones and emails go as the page wrote them: the collector puts every customer's in
        // Mindbox's spelling (and refuses one that is neither).
        let phone =
            r#"{"operation":"Website.X","data":{"customer":{"mobilePhone":"8 (912) 345-67-89"}}}"#;
        assert_eq!(
            call(&mut page, "async", phone).unwrap().unwrap().data,
            r#"{"customer":{"mobilePhone":"8 (912) 345-67-89"}}"#
        );
        assert!(call(
            &mut page,
            "async",
            r#"{"operation":"Website.X","data":[1]}"#
        )
        .is_err());
        let deep = format!(
            r#"{{"operation":"Website.X","data":{{"d":{}1{}}}}}"#,
            "[".repeat(70),
            "]".repeat(70)
        );
        assert!(call(&mut page, "async", &deep)
            .unwrap_err()
            .contains("nests too deeply"));
    }

    #[test]
    fn the_lazy_methods_are_the_loaders_and_extras_js_serves_each() {
        let loader = include_str!("../js/loader.js");
        let extras = include_str!("../js/extras.js");
        let list = LAZY_METHODS
            .iter()
            .map(|m| format!("\"{m}\""))
            .collect::<Vec<_>>()
            .join(", ");
        assert!(
            loader.contains(&format!("var LAZY = [{list}];")),
            "loader.js's LAZY is not {list}"
        );
        for m in LAZY_METHODS {
            assert!(
                extras.contains(&format!("  {m}: \"")),
                "extras.js has no default for {m}"
            );
        }
    }

    #[test]
    fn create_sets_the_endpoint_and_operation_overrides() {
        let mut page = Page::new(Some("tag-endpoint".into()));
        let set = r#"{"endpointId":"shop","operations":{"viewProduct":"Shop.View","nope":"X.Y"}}"#;
        let e = call(&mut page, "create", set).unwrap_err();
        assert!(e.contains("operations.nope"), "{e}");
        assert_eq!(page.endpoint_id.as_deref(), Some("shop"));
        let made = call(&mut page, "viewProduct", r#"{"productId":"1"}"#)
            .unwrap()
            .unwrap();
        assert_eq!(made.operation, "Shop.View");
        let e = call(&mut page, "create", r#"{"productIdSystem":"no spaces"}"#).unwrap_err();
        assert!(e.contains("productIdSystem"), "{e}");
        call(&mut page, "create", r#"{"productIdSystem":"bitrixId"}"#).unwrap();
        let data = |page: &mut Page, m: &str, a: &str| call(page, m, a).unwrap().unwrap().data;
        assert_eq!(
            data(&mut page, "addToWishlist", r#"{"productId":"7"}"#),
            r#"{"addProductToList":{"product":{"ids":{"bitrixId":"7"}},"count":1}}"#
        );
        assert_eq!(
            data(&mut page, "viewCategory", r#"{"categoryId":"c"}"#),
            r#"{"viewProductCategory":{"productCategory":{"ids":{"bitrixId":"c"}}}}"#
        );
    }

    #[test]
    fn the_calls_of_some_pages_are_not_made_here() {
        let mut page = Page::new(None);
        let e = call(&mut page, "editCustomer", r#"{"email":"a@b.c"}"#).unwrap_err();
        assert!(e.contains("unknown method"), "{e}");
        call(
            &mut page,
            "create",
            r#"{"operations":{"getBalance":"Shop.Balance","authorize":"Shop.Login"}}"#,
        )
        .unwrap();
        assert_eq!(
            call(&mut page, "clearWishlist", "{}")
                .unwrap()
                .unwrap()
                .operation,
            "Website.ClearWishList"
        );
    }
}
