// @ts-check
// The calls only some pages make, in their own file (`tracker-extras.js`), which the loader fetches on
// the first of them: every other page pays a few bytes of names for them.
//
// - Events, stored and sent like any other (as `async` calls, through the Rust half): the customer
//   calls of account pages (`authorize`, `register`, `editCustomer`, `subscribe`) and back-in-stock
//   (`subscribeToProduct`).
// - Questions the collector asks Mindbox at once (`/v1/sync`): the loyalty screens (`getBalance`,
//   `getPointsHistory`, `getTier`, `calculateCart`) and loyalty cards by SMS code (`sendPhoneCode`,
//   `bindCard`, `getCards`).
//
// The bodies are Mindbox's. The collector reads them strictly: it puts every email and phone in
// Mindbox's spelling (and rejects one that is neither, with the reason), checks tickets, and counts
// codes and tries (edge-collector/src/gate/identity.rs, sms_code.rs).

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
  authorize: "Website.AuthorizeCustomer",
  register: "Website.RegisterCustomer",
  editCustomer: "Website.EditCustomer",
  subscribe: "Website.SubscribeCustomer",
  getBalance: "Website.GetCustomerBalance",
  getPointsHistory: "Website.GetCustomerBonusPointsHistory",
  getTier: "Website.GetCustomerSegments",
  // `Website.CalculateUnauthorizedCart` when the call names no customer.
  calculateCart: "Website.CalculateAuthorizedCart",
};

/** The customer's fields sent as text, in the order Mindbox's examples give them. */
var FIELDS = ["email", "mobilePhone", "firstName", "lastName", "birthDate"];
var SUBSCRIPTIONS = 'subscriptions: expected [{pointOfContact: "Email", isSubscribed: true or false}]';
var WHO = '{customer: {ids: {…}, authenticationTicket: "…"}}';

/** A string, or a finite number's text; else undefined. @param {unknown} v */
function text(v) {
  return typeof v === "string" ? v : typeof v === "number" && isFinite(v) ? String(v) : undefined;
}

/** Whether `v` is a plain object (not an array, not null). @param {unknown} v */
function isObject(v) {
  return !!v && typeof v === "object" && !Array.isArray(v);
}

/** A product or category id: what was expected, or "" when it is one. @param {string} what @param {string | undefined} id */
function badId(what, id) {
  return id && id.length <= 256 ? "" : what + ": expected a non-empty id string of at most 256 characters";
}

/**
 * The page's customer as Mindbox's `customer` object (only what is set), or the message that says
 * what was expected. With `email`, it subscribes to Email when no subscription is given.
 *
 * @param {any} v
 * @param {boolean} [email]
 * @returns {any}
 */
function customer(v, email) {
  if (!isObject(v)) return 'expected a customer object such as {ids: {websiteID: "…"}, email: "…"}';
  /** @type {any} */
  var c = {};
  if (v.ids != null) {
    if (!isObject(v.ids)) return 'ids: expected an object such as {websiteID: "…"}';
    /** @type {any} */
    var ids = {};
    for (var k in v.ids) {
      var id = text(v.ids[k]);
      if (id === undefined) return "ids: expected string or number values";
      if (badId(k, id)) return badId(k, id);
      ids[k] = id;
      c.ids = ids;
    }
  }
  FIELDS.forEach(function (f) {
    var t = v[f] == null ? undefined : text(v[f]);
    if (t !== undefined) c[f] = t;
  });
  if (c.birthDate !== undefined && !/^\d{4}-\d\d-\d\d$/.test(c.birthDate)) return "birthDate: expected YYYY-MM-DD";
  var subs = v.subscriptions == null && email ? [{ pointOfContact: "Email" }] : v.subscriptions;
  if (subs != null) {
    if (!Array.isArray(subs)) return SUBSCRIPTIONS;
    /** @type {any[]} */
    var list = [];
    for (var i = 0; i < subs.length; i++) {
      var sub = subs[i] || {};
      var point = text(sub.pointOfContact);
      // Only a boolean says it: "false", 0 or null must not subscribe anyone.
      var on = sub.isSubscribed === undefined ? true : sub.isSubscribed;
      if (point === undefined || typeof on !== "boolean") return SUBSCRIPTIONS;
      /** @type {any} */
      var s = { pointOfContact: point };
      if (sub.brand != null && text(sub.brand) !== undefined) s.brand = text(sub.brand);
      if (sub.topic != null && text(sub.topic) !== undefined) s.topic = text(sub.topic);
      s.isSubscribed = on;
      list.push(s);
    }
    if (list.length) c.subscriptions = list;
  }
  if (v.customFields != null) {
    if (!isObject(v.customFields)) return "customFields: expected a JSON object";
    c.customFields = v.customFields;
  }
  var ticket = v.authenticationTicket == null ? undefined : text(v.authenticationTicket);
  if (ticket !== undefined) c.authenticationTicket = ticket;
  return { customer: c };
}

/** A positive whole number field, or `d` when absent. @param {any} a @param {string} k @param {number} d */
function whole(a, k, d) {
  var n = a[k];
  return n == null ? d : Number.isSafeInteger(n) && n >= 1 ? n : k + ": expected a whole number ≥ 1";
}

/**
 * The cart's lines as Mindbox's order lines, or the message that says what was expected.
 *
 * @param {any} a an array of `{productId | productGroupId, count?, price}`, or `{items: [...]}`
 * @param {string} system the product id system
 */
function lines(a, system) {
  var items = Array.isArray(a) ? a : a.items;
  if (!Array.isArray(items)) return "expected an array of {productId, count, price} (or {items: [...]})";
  /** @type {any[]} */
  var out = [];
  for (var i = 0; i < items.length; i++) {
    var l = items[i] || {};
    var group = l.productId == null && l.productGroupId != null;
    var id = text(group ? l.productGroupId : l.productId);
    if (id === undefined) return 'expected {productId: "…"} or {productGroupId: "…"}';
    if (badId("productId", id)) return badId("productId", id);
    var count = l.count == null ? 1 : l.count;
    if (typeof count !== "number" || !(count > 0) || !isFinite(count)) return "count: expected a positive number";
    if (typeof l.price !== "number" || !(l.price >= 0) || !isFinite(l.price)) return "price: expected the price of one item";
    /** @type {any} */
    var ids = {};
    ids[system] = id;
    /** @type {any} */
    var line = { lineNumber: i + 1, quantity: count, basePricePerItem: l.price };
    line[group ? "productGroup" : "product"] = { ids: ids };
    out.push(line);
  }
  return out;
}

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
    var contact = {};
    if (given(a.email)) contact.email = String(a.email);
    if (given(a.mobilePhone)) contact.mobilePhone = String(a.mobilePhone);
    /** @type {any} */
    var ids = {};
    ids[api.settings.productIdSystem || "website"] = String(product === "product" ? a.productId : a.productGroupId);
    /** @type {any} */
    var line = { count: 1 };
    line[product] = { ids: ids };
    return api.event(method, op, { customer: contact, addProductToList: line }, cbs);
  }
  if (method === "authorize" || method === "register" || method === "editCustomer" || method === "subscribe") {
    var c = customer(arg, method === "subscribe");
    return typeof c === "string" ? api.fail(method, c, cbs) : api.event(method, op, c, cbs);
  }
  if (method === "calculateCart") {
    var body = a.customer == null ? {} : customer(a.customer);
    if (typeof body === "string") return api.fail(method, body, cbs);
    var order = lines(a, api.settings.productIdSystem || "website");
    if (typeof order === "string") return api.fail(method, order, cbs);
    body.order = { lines: order };
    return api.ask(body.customer ? op : "Website.CalculateUnauthorizedCart", body, cbs);
  }
  if (method === "getBalance" || method === "getTier" || method === "getPointsHistory") {
    if (a.customer == null) return need(WHO);
    var who = customer(a.customer);
    if (typeof who === "string") return api.fail(method, who, cbs);
    if (method === "getPointsHistory") {
      var pageNumber = whole(a, "pageNumber", 1);
      var itemsPerPage = whole(a, "itemsPerPage", 20);
      if (typeof pageNumber === "string" || typeof itemsPerPage === "string")
        return api.fail(method, String(typeof pageNumber === "string" ? pageNumber : itemsPerPage), cbs);
      who.page = { pageNumber: pageNumber, itemsPerPage: itemsPerPage };
    }
    return api.ask(op, who, cbs);
  }
  if (method === "getCards") {
    if (!a.customer) return need(WHO);
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
