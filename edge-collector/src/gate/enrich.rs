//! Enrichment: what only the server knows about the shopper, added to each event.
//!
//! * the device id: the `mindboxDeviceUUID` cookie when it is valid, else the batch's `deviceUUID`,
//!   else a new one; the collector sets the cookie again from the server (HTTP cookies are not capped
//!   at 7 days by Safari the way script-set ones are);
//! * the client IP, only from `CF-Connecting-IP` (set by Cloudflare, not forgeable by the client);
//! * the shopper's `User-Agent`;
//! * the shop's product id system (`PRODUCT_ID_SYSTEM`, [`product_id_system`]): product, product-group
//!   and category ids under the tracker's default system `website` are renamed to it (every route).
//!
//! Nothing else from the request (its cookies, its other headers) is carried upstream.

use mindbox_model::uuid;
use serde_json::Value;
use worker::Request;

/// Name of the device-id cookie, shared with Mindbox's own tracker.
pub const DEVICE_COOKIE: &str = "mindboxDeviceUUID";
/// One year, in seconds.
const COOKIE_MAX_AGE: u32 = 365 * 24 * 3600;

/// Renames `{"ids": {"website": id}}` of every `product`, `productGroup` and `productCategory` in
/// `data` to `{"ids": {system: id}}`: the tracker writes `website` unless the page set
/// `create({productIdSystem})`, and the shop's collector knows the system its Mindbox project uses.
/// Ids with another system, or with several, are left as the page wrote them.
pub fn product_id_system(data: &mut Value, system: &str) {
    match data {
        Value::Object(fields) => {
            for (k, v) in fields.iter_mut() {
                if matches!(k.as_str(), "product" | "productGroup" | "productCategory") {
                    if let Some(Value::Object(ids)) = v.get_mut("ids") {
                        if ids.len() == 1 {
                            if let Some(id) = ids.remove(mindbox_model::DEFAULT_ID_SYSTEM) {
                                ids.insert(system.to_string(), id);
                            }
                        }
                    }
                }
                product_id_system(v, system);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| product_id_system(v, system)),
        _ => {}
    }
}

/// The shopper a request came from.
#[derive(Clone, Debug)]
pub struct Shopper {
    /// Canonical device id.
    pub device_uuid: String,
    /// Value of `CF-Connecting-IP`.
    pub client_ip: Option<String>,
    /// The shopper's browser.
    pub user_agent: Option<String>,
}

impl Shopper {
    /// Reads the shopper from the request; `batch_device` is the tracker's own idea of the device id.
    pub fn from_request(req: &Request, batch_device: Option<&str>) -> Shopper {
        let header = |name: &str| req.headers().get(name).ok().flatten();
        let device_uuid = cookie_device(req)
            .or_else(|| batch_device.map(String::from))
            .unwrap_or_else(new_uuid);
        Shopper {
            device_uuid,
            client_ip: header("CF-Connecting-IP"),
            user_agent: header("User-Agent"),
        }
    }

    /// The `Set-Cookie` value that keeps the device id for a year: `Secure` on https, and on the
    /// shop's registrable domain when `COOKIE_DOMAIN` is set (e.g. `shop.example`, so that
    /// `www.shop.example` and `mbx.shop.example` share it); host-only otherwise.
    pub fn device_cookie(&self, req: &Request, domain: Option<&str>) -> String {
        let secure = req.url().map(|u| u.scheme() == "https").unwrap_or(false);
        device_cookie(&self.device_uuid, secure, domain)
    }
}

/// Formats the device-id `Set-Cookie` value.
pub fn device_cookie(id: &str, secure: bool, domain: Option<&str>) -> String {
    let mut cookie =
        format!("{DEVICE_COOKIE}={id}; Path=/; Max-Age={COOKIE_MAX_AGE}; SameSite=Lax");
    if let Some(d) = domain {
        cookie.push_str("; Domain=");
        cookie.push_str(d);
    }
    if secure {
        cookie.push_str("; Secure");
    }
    cookie
}

/// The device id of the collector's own cookie, when the request carries a valid one.
pub fn cookie_device(req: &Request) -> Option<String> {
    let cookies = req.headers().get("Cookie").ok().flatten()?;
    cookie_value(&cookies, DEVICE_COOKIE).filter(|d| uuid::is_canonical(d))
}

/// The value of cookie `name` in a `Cookie` header.
pub fn cookie_value(header: &str, name: &str) -> Option<String> {
    header.split(';').find_map(|pair| {
        let (k, v) = pair.trim().split_once('=')?;
        (k == name).then(|| v.trim().to_string())
    })
}

/// A new random UUID v4 (a device id, or a backend operation's transactionId when it brings none).
pub fn new_uuid() -> String {
    let mut bytes = [0u8; 16];
    getrandom::getrandom(&mut bytes).expect("crypto.getRandomValues");
    uuid::v4_from_bytes(bytes)
}

/// How old an event may say it is (the tracker keeps events through days offline).
pub const MAX_AGE_MS: f64 = 30.0 * 24.0 * 3600.0 * 1000.0;

/// When an event was made, on the collector's clock: its receive time minus its age, where the age is
/// measured on the tracker's own clock (`sentAt − createdAt`, both from the same clock, so a clock
/// that is hours or years wrong cancels out), between 0 and 30 days. Without `sentAt` (a client that
/// does not send it) the age is `received − createdAt`, so a `createdAt` in the future counts as now.
/// No client can place an event after the moment it reached the collector.
pub fn event_time(created_at: Option<f64>, sent_at: Option<f64>, received: f64) -> f64 {
    let age = match (created_at, sent_at) {
        (Some(c), Some(s)) => s - c,
        (Some(c), None) => received - c,
        (None, _) => 0.0,
    };
    received - age.clamp(0.0, MAX_AGE_MS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_product_id_system_becomes_the_shops() {
        let mut data = serde_json::json!({"productList": [
            {"product": {"ids": {"website": "1"}}, "count": 1},
            {"productGroup": {"ids": {"bitrixId": "2"}}},
            {"product": {"ids": {"website": "3", "sku": "x"}}}],
            "viewProductCategory": {"productCategory": {"ids": {"website": "c"}}}});
        product_id_system(&mut data, "bitrixId");
        assert_eq!(
            data,
            serde_json::json!({"productList": [
            {"product": {"ids": {"bitrixId": "1"}}, "count": 1},
            {"productGroup": {"ids": {"bitrixId": "2"}}},
            {"product": {"ids": {"website": "3", "sku": "x"}}}],
            "viewProductCategory": {"productCategory": {"ids": {"bitrixId": "c"}}}})
        );
    }

    #[test]
    fn event_times_no_clock_can_poison() {
        let r = 1_795_000_000_000.0;
        // The tracker's clock two hours behind: the age (5 s) is what counts.
        let behind = r - 7_200_000.0;
        assert_eq!(
            event_time(Some(behind - 5000.0), Some(behind), r),
            r - 5000.0
        );
        // Years ahead: still 5 s old.
        let ahead = r + 3.0e11;
        assert_eq!(event_time(Some(ahead - 5000.0), Some(ahead), r), r - 5000.0);
        // Made "after" it was sent, or without sentAt and in the future: now, never later.
        assert_eq!(event_time(Some(ahead + 1.0), Some(ahead), r), r);
        assert_eq!(event_time(Some(ahead), None, r), r);
        assert_eq!(event_time(None, None, r), r);
        // Older than 30 days counts as 30 days.
        assert_eq!(event_time(Some(0.0), Some(r), r), r - MAX_AGE_MS);
        // Two hours offline: two hours old.
        assert_eq!(event_time(Some(r - 7_200_000.0), None, r), r - 7_200_000.0);
    }

    #[test]
    fn reads_cookies() {
        let h = "a=1; mindboxDeviceUUID=0f8fad5b-d9cb-469f-a165-70867728950e; b=2";
        assert_eq!(
            cookie_value(h, DEVICE_COOKIE).as_deref(),
            Some("0f8fad5b-d9cb-469f-a165-70867728950e")
        );
        assert_eq!(cookie_value("xmindboxDeviceUUID=1", DEVICE_COOKIE), None);
        assert_eq!(cookie_value("", DEVICE_COOKIE), None);
    }

    #[test]
    fn sets_the_cookie_for_a_year_on_the_shop_domain() {
        let id = "0f8fad5b-d9cb-469f-a165-70867728950e";
        assert_eq!(
            device_cookie(id, true, Some("shop.example")),
            format!("mindboxDeviceUUID={id}; Path=/; Max-Age=31536000; SameSite=Lax; Domain=shop.example; Secure")
        );
        assert_eq!(
            device_cookie(id, false, None),
            format!("mindboxDeviceUUID={id}; Path=/; Max-Age=31536000; SameSite=Lax")
        );
    }
}
