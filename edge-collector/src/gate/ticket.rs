//! Mindbox authentication tickets: a site backend's signed word that the shopper is who they say.
//!
//! `ticket = hex(utf8(msg)) + "|" + hex(HMAC-SHA512(key = secret key, msg))`, where `msg` is
//! `ExternalIdentityAuthentication|<idSystemName>|<id>|<yyyy-MM-dd HH:mm:ss>` (UTC),
//! `EmailAuthenticationHex|<email>|<time>` or `MobilePhoneAuthenticationHex|<phone>|<time>`.
//! A ticket is valid for 30 minutes. The collector holds the secret key, so it verifies tickets itself
//! before it lets a customer identity through to Mindbox.

use hmac::{Hmac, Mac};
use sha2::Sha512;

/// How long a ticket is valid after it was issued.
pub const VALIDITY_SECS: i64 = 30 * 60;
/// Clock skew tolerated for tickets issued "in the future".
const SKEW_SECS: i64 = 5 * 60;

/// Whom a ticket vouches for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Identity {
    /// A customer id in the shop's own id system (`customer.ids.<system>`).
    External {
        /// The id system's name, e.g. `websiteID`.
        system: String,
        /// The id.
        id: String,
    },
    /// A customer email.
    Email(String),
    /// A customer mobile phone.
    MobilePhone(String),
}

/// Why a ticket was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TicketError {
    /// Not `hex|hex`, or the message is not one of the known forms.
    Malformed(&'static str),
    /// The signature does not match (forged, or signed with another key).
    BadSignature,
    /// Issued more than 30 minutes ago (or too far in the future).
    Expired,
}

impl std::fmt::Display for TicketError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TicketError::Malformed(why) => write!(f, "authentication ticket is malformed: {why}"),
            TicketError::BadSignature => f.write_str(
                "authentication ticket signature does not match: sign it with this endpoint's secret key",
            ),
            TicketError::Expired => f.write_str(
                "authentication ticket has expired (tickets are valid for 30 minutes): issue a fresh one",
            ),
        }
    }
}

type HmacSha512 = Hmac<Sha512>;

fn mac(secret: &[u8], msg: &[u8]) -> HmacSha512 {
    let mut m = HmacSha512::new_from_slice(secret).expect("HMAC takes any key length");
    m.update(msg);
    m
}

/// Verifies a ticket at `now` (seconds since the Unix epoch) and returns whom it vouches for.
pub fn verify(ticket: &str, secret: &[u8], now: i64) -> Result<Identity, TicketError> {
    let (msg_hex, sig_hex) = ticket.trim().split_once('|').ok_or(TicketError::Malformed(
        "expected <hex message>|<hex signature>",
    ))?;
    let msg = hex_decode(msg_hex).ok_or(TicketError::Malformed("message is not hex"))?;
    let sig = hex_decode(sig_hex).ok_or(TicketError::Malformed("signature is not hex"))?;
    mac(secret, &msg)
        .verify_slice(&sig)
        .map_err(|_| TicketError::BadSignature)?;
    let msg = String::from_utf8(msg).map_err(|_| TicketError::Malformed("message is not UTF-8"))?;
    let parts: Vec<&str> = msg.split('|').collect();
    let (identity, time) = match parts.as_slice() {
        ["ExternalIdentityAuthentication", system, id, time] => (
            Identity::External {
                system: system.to_string(),
                id: id.to_string(),
            },
            *time,
        ),
        ["EmailAuthenticationHex", email, time] => (Identity::Email(email.to_string()), *time),
        ["MobilePhoneAuthenticationHex", phone, time] => {
            (Identity::MobilePhone(phone.to_string()), *time)
        }
        _ => return Err(TicketError::Malformed("unknown message kind")),
    };
    let issued =
        parse_utc(time).ok_or(TicketError::Malformed("time is not yyyy-MM-dd HH:mm:ss"))?;
    if now - issued > VALIDITY_SECS || issued - now > SKEW_SECS {
        return Err(TicketError::Expired);
    }
    Ok(identity)
}

/// Makes a ticket, as a shop's backend does (used by tests and the demo).
pub fn sign(identity: &Identity, issued: i64, secret: &[u8]) -> String {
    let time = format_utc(issued);
    let msg = match identity {
        Identity::External { system, id } => {
            format!("ExternalIdentityAuthentication|{system}|{id}|{time}")
        }
        Identity::Email(e) => format!("EmailAuthenticationHex|{e}|{time}"),
        Identity::MobilePhone(p) => format!("MobilePhoneAuthenticationHex|{p}|{time}"),
    };
    let sig = mac(secret, msg.as_bytes()).finalize().into_bytes();
    format!("{}|{}", hex_encode(msg.as_bytes()), hex_encode(&sig))
}

fn hex_encode(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn hex_decode(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) || s.is_empty() {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (m + if m > 2 { -3 } else { 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146097 + doe - 719468
}

/// `yyyy-MM-dd HH:mm:ss` (UTC) to seconds since the Unix epoch.
fn parse_utc(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() != 19
        || b[4] != b'-'
        || b[7] != b'-'
        || b[10] != b' '
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let n = |r: std::ops::Range<usize>| s.get(r)?.parse::<i64>().ok();
    let (y, mo, d, h, mi, se) = (
        n(0..4)?,
        n(5..7)?,
        n(8..10)?,
        n(11..13)?,
        n(14..16)?,
        n(17..19)?,
    );
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || se > 60 {
        return None;
    }
    Some(days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + se)
}

fn format_utc(t: i64) -> String {
    let days = t.div_euclid(86400);
    let secs = t.rem_euclid(86400);
    // civil_from_days
    let z = days + 719468;
    let era = z.div_euclid(146097);
    let doe = z - era * 146097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + if m <= 2 { 1 } else { 0 };
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &[u8] = b"secret";
    const NOW: i64 = 1_795_000_000; // 2026-11-18

    fn user() -> Identity {
        Identity::External {
            system: "websiteID".into(),
            id: "u1".into(),
        }
    }

    #[test]
    fn dates_round_trip() {
        assert_eq!(parse_utc("1970-01-01 00:00:00"), Some(0));
        assert_eq!(parse_utc("2000-03-01 12:34:56"), Some(951_914_096));
        assert_eq!(format_utc(951_914_096), "2000-03-01 12:34:56");
        assert_eq!(parse_utc(&format_utc(NOW)), Some(NOW));
        assert_eq!(parse_utc("2000-13-01 00:00:00"), None);
        assert_eq!(parse_utc("2000-01-01T00:00:00"), None);
    }

    #[test]
    fn a_fresh_ticket_verifies() {
        let t = sign(&user(), NOW - 60, KEY);
        assert_eq!(verify(&t, KEY, NOW), Ok(user()));
        let e = Identity::Email("a@b.ru".into());
        assert_eq!(verify(&sign(&e, NOW, KEY), KEY, NOW), Ok(e));
    }

    #[test]
    fn forged_expired_and_malformed_tickets_fail() {
        let t = sign(&user(), NOW, KEY);
        assert_eq!(
            verify(&t, b"other key", NOW),
            Err(TicketError::BadSignature)
        );
        let (msg, sig) = t.split_once('|').unwrap();
        let other = hex_encode(
            format!(
                "ExternalIdentityAuthentication|websiteID|u2|{}",
                format_utc(NOW)
            )
            .as_bytes(),
        );
        assert_eq!(
            verify(&format!("{other}|{sig}"), KEY, NOW),
            Err(TicketError::BadSignature)
        );
        assert_eq!(
            verify(&t, KEY, NOW + VALIDITY_SECS + 1),
            Err(TicketError::Expired)
        );
        assert_eq!(verify(&t, KEY, NOW - 3600), Err(TicketError::Expired));
        assert!(matches!(
            verify(msg, KEY, NOW),
            Err(TicketError::Malformed(_))
        ));
        assert!(matches!(
            verify("zz|zz", KEY, NOW),
            Err(TicketError::Malformed(_))
        ));
    }
}
