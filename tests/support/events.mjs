// Events and operations as the tests send them: a page's view, cart, any event; the shop backend's
// order and order status. Each has a fresh UUID for its id unless told otherwise.
import { randomUUID } from "node:crypto";

/** Any event: `operation` with `data`; `extra` over its fields (an `id`, a `createdAt`, a field that does not belong). */
export const event = (operation, data, extra = {}) => ({ id: randomUUID(), operation, data, ...extra });

/** A Website.ViewProduct of product `product` ("1"); `extra` as for `event`. */
export const view = (extra = {}, product = "1") => event("Website.ViewProduct", { viewProduct: { product: { ids: { website: product } } } }, extra);

/**
 * A Website.SetCart snapshot of `count` of product "7" (`price`: with a pricePerItem); `extra` as
 * for `event` (a `createdAt` orders snapshots).
 */
export const cart = (count = 1, { price, ...extra } = {}) =>
  event("Website.SetCart", { productList: [{ product: { ids: { website: "7" } }, count, ...(price === undefined ? {} : { pricePerItem: price }) }] }, extra);

/** A backend's Website.UpdateOrderStatus: order `orderId`'s lines now `value`; `extra` as for `event`. */
export const status = (orderId, value, extra = {}) =>
  event("Website.UpdateOrderStatus", { order: { ids: { websiteID: orderId } }, orderLinesStatus: value }, extra);

/** A backend's Website.CreateAuthorizedOrder for customer u1 (a phone in a shopper's spelling), one line of 1 990. */
export const order = ({ id = randomUUID(), orderId = `o-${randomUUID().slice(0, 8)}` } = {}) => ({
  id,
  operation: "Website.CreateAuthorizedOrder",
  data: {
    customer: { ids: { websiteID: "u1" }, mobilePhone: "8 (912) 345-67-89" },
    order: { ids: { websiteID: orderId }, totalPrice: 1990, lines: [{ lineNumber: 1, quantity: 1, basePricePerItem: 1990, product: { ids: { website: "7" } } }] },
  },
});
