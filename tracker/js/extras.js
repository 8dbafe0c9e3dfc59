// @ts-check
// The calls only some pages make, in their own file (`tracker-extras.js`), which the loader fetches on
// the first of them: every other page pays a few bytes of names for them. Back-in-stock
// (`subscribeToProduct`: an event, stored and sent like any other) and loyalty cards by SMS code
// (`sendPhoneCode`, `bindCard`, `getCards`: questions the collector asks Mindbox at once).
//
// The bodies are Mindbox's; the collector reads them strictly, puts the phone in Mindbox's spelling
// and counts codes and tries (edge-collector/src/gate/sms_code.rs). The event's email and phone are
// put in that spelling by the Rust half, as for any `async` call.

/**
 * What the loader lends this file.
 *
 * @typedef {object} Api
 * @property {{operations?: Record<string, string>, productIdSystem?: string}} settings what `create` set
 * @property {(method: string, operation: string, data: object, cbs: any) => void} event stores and sends an event
 * @property {(operation: string, data: object, cbs: any) => void} ask asks the collector's `/v1/sync`
 * @property {(method: string, message: string, cbs: any) => void} fail drops the call with a message
 */

/** The Mindbox operations unless `create({operations})` names others (the collector's defaults too). */
var DEFAULTS = {
  // Mindbox publishes no name for a back-in-stock list: ours.
  subscribeToProduct: "Website.AddToWaitingList",
  // The names of Mindbox's Bitrix module and of its docs' examples.
  sendPhoneCode: "Website.SendMobilePhoneAuthorizationCode",
  bindCard: "RegCard",
  getCards: "GetCustomerDiscountCards",
};

/** Text, or a whole number that is exactly what was printed (not 1e21, NaN, or rounded past 2^53). @param {unknown} v */
function given(v) {
  return typeof v === "string" ? v !== "" : Number.isSafeInteger(v) && /** @type {number} */ (v) >= 0;
}

/**
 * One call.
 *
 * @param {string} method
 * @param {any} arg
 * @param {any} cbs the page's `onSuccess` / `onError`
 * @param {Api} api
 */
function extras(method, arg, cbs, api) {
  var ops = api.settings.operations || {};
  var op = ops[method] || /** @type {any} */ (DEFAULTS)[method];
  var a = arg || {};
  var need = function (/** @type {string} */ what) {
    api.fail(method, "expected " + what, cbs);
  };
  if (method === "subscribeToProduct") {
    var product = given(a.productId) ? "product" : given(a.productGroupId) ? "productGroup" : "";
    if (!(given(a.email) || given(a.mobilePhone)) || !product)
      return need("{email or mobilePhone, productId}");
    /** @type {any} */
    var customer = {};
    if (given(a.email)) customer.email = String(a.email);
    if (given(a.mobilePhone)) customer.mobilePhone = String(a.mobilePhone);
    /** @type {any} */
    var ids = {};
    ids[api.settings.productIdSystem || "website"] = String(product === "product" ? a.productId : a.productGroupId);
    /** @type {any} */
    var line = { count: 1 };
    line[product] = { ids: ids };
    return api.event(method, op, { customer: customer, addProductToList: line }, cbs);
  }
  if (method === "getCards") {
    if (!a.customer) return need("{customer: {ids: {…}, authenticationTicket: \"…\"}}");
    return api.ask(op, { customer: a.customer }, cbs);
  }
  if (!given(a.mobilePhone)) return need("{mobilePhone: \"…\"}");
  var customerPhone = { mobilePhone: String(a.mobilePhone) };
  if (method === "sendPhoneCode") return api.ask(op, { customer: customerPhone }, cbs);
  if (!given(a.cardNumber) || !given(a.code)) return need("{mobilePhone, cardNumber, code}");
  api.ask(
    op,
    { customer: customerPhone, discountCard: { ids: { number: String(a.cardNumber) } }, authentificationCode: String(a.code) },
    cbs
  );
}

/** @type {any} */ (window).mindboxEdgeExtras = extras;
