// Mindbox authentication tickets, as a shop's backend signs them with the secret key: the demo's
// /api/login hands them out, and the tests sign their own with the same functions.
import { createHmac } from "node:crypto";

/** A ticket for the shop's customer id (`ExternalIdentityAuthentication`, system `websiteID`). */
export function ticket(id, secretKey, issued = new Date()) {
  return signed(`ExternalIdentityAuthentication|websiteID|${id}`, secretKey, issued);
}

/** A ticket for an email (`EmailAuthenticationHex`). */
export function emailTicket(email, secretKey, issued = new Date()) {
  return signed(`EmailAuthenticationHex|${email}`, secretKey, issued);
}

/** A ticket for a phone (`MobilePhoneAuthenticationHex`). */
export function phoneTicket(phone, secretKey, issued = new Date()) {
  return signed(`MobilePhoneAuthenticationHex|${phone}`, secretKey, issued);
}

/** `what|time` in hex, `|`, its HMAC-SHA512 with the secret key in hex. */
function signed(what, secretKey, issued) {
  const msg = `${what}|${issued.toISOString().slice(0, 19).replace("T", " ")}`;
  return `${Buffer.from(msg).toString("hex")}|${createHmac("sha512", secretKey).update(msg).digest("hex")}`;
}
