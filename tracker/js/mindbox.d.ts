// Type declarations for the Mindbox Edge tracker (`tracker.js`).
//
// Every call works before the script has loaded: with the official snippet (or the tracker's own
// queue), calls are queued and replayed in order. Nothing throws; bad arguments are reported once on
// the console with what was expected, and the call is dropped.

export interface ProductRef {
  /** The product's id on the site (in the id system `create({productIdSystem})` names; `website` by default). */
  productId?: string | number;
  /** Or a product group (model) id. */
  productGroupId?: string | number;
}

export interface CartLine extends ProductRef {
  /** How many; default 1. */
  count?: number;
  /** Price of one item. */
  price?: number;
}

export interface Customer {
  /** Ids by id system, e.g. `{websiteID: "u1"}`. Needs `authenticationTicket` (the collector checks it). */
  ids?: Record<string, string | number>;
  /** Reaches Mindbox trimmed and lower-cased (the collector's spelling); not an email (`name@domain`): the event is rejected, to `onError`. */
  email?: string;
  /** Reaches Mindbox as international digits: `8 (912) 345-67-89` becomes `79123456789`; not a phone: the event is rejected, to `onError`. */
  mobilePhone?: string;
  firstName?: string;
  lastName?: string;
  /** `YYYY-MM-DD` */
  birthDate?: string;
  subscriptions?: {
    pointOfContact: "Email" | "Sms" | "Viber" | "Webpush" | string;
    isSubscribed?: boolean;
    brand?: string;
    topic?: string;
  }[];
  customFields?: Record<string, unknown>;
  /** Issued by the shop's backend with the Mindbox secret key; valid 30 minutes. */
  authenticationTicket?: string;
}

export interface Callbacks {
  /** The collector accepted the event (it is queued for Mindbox). */
  onSuccess?: () => void;
  /** The event was rejected (reason), or could not be made. */
  onError?: (reason: string) => void;
}

export interface AsyncCall extends Callbacks {
  /** Mindbox operation system name, e.g. `Website.ViewProduct` (must be on the collector's allowlist). */
  operation: string;
  /** The operation body. */
  data?: Record<string, unknown>;
}

export interface SyncCall {
  /** A sync operation on the collector's `SYNC_OPERATIONS`, e.g. `Website.GetCustomerBalance`. */
  operation: string;
  data?: { customer?: Customer } & Record<string, unknown>;
  /** The fields of Mindbox's answer that the operation's projection lets through. */
  onSuccess?: (answer: any) => void;
  /** The collector's refusal (`{error, reason}`), or a message when it cannot be reached. */
  onError?: (error: unknown) => void;
}

/** Callbacks of a question: the answer, or why there is none. */
export interface Answered<T> {
  onSuccess?: (answer: T) => void;
  onError?: (error: unknown) => void;
}

/** A customer the shop's backend vouches for: ids (or email/phone) and its authentication ticket. */
export interface Verified {
  customer: Customer;
}

/** `getBalance`: one entry per balance (points) type. */
export interface Balance {
  status: string;
  balances: { systemName?: string; name?: string; total?: number; available?: number; blocked?: number }[];
}

/** `getPointsHistory`: Mindbox's customer actions, newest first, with their balance changes. */
export interface PointsHistory {
  status: string;
  customerActionsCount?: number;
  customerActions?: {
    dateTimeUtc?: string;
    actionTemplate?: { name?: string };
    order?: { ids?: Record<string, string> };
    customerBalanceChanges?: {
      /** Positive: points accrued; negative: spent or expired. */
      changeAmount?: number;
      comment?: string;
      expirationDateTimeUtc?: string;
      balanceChangeKind?: { systemName?: string };
      balanceType?: { name?: string };
    }[];
  }[];
}

/** `getTier`: the customer's segment in each segmentation (a loyalty tier is one of them). */
export interface Tier {
  status: string;
  customerSegmentations?: {
    segmentation?: { ids?: { externalId?: string }; name?: string };
    /** Absent when the customer is in no segment of this segmentation. */
    segment?: { ids?: { externalId?: string }; name?: string };
  }[];
}

/** `calculateCart`: the cart as Mindbox prices it, and the points it will earn. */
export interface CartCalculation {
  status: string;
  /** Points this cart will earn. */
  earnedPoints: number;
  order?: {
    totalPrice?: number;
    lines?: {
      lineNumber?: number;
      quantity?: number;
      basePricePerItem?: number;
      discountedPriceOfLine?: number;
      appliedPromotions?: { type?: string; amount?: number }[];
    }[];
    bonusPointsChanges?: { balanceType?: { ids?: { systemName?: string } }; earnedAmount?: number; spentAmount?: number }[];
  };
}

/** `sendPhoneCode`: Mindbox took the request and texts the code. */
export interface PhoneCodeSent {
  status: string;
}

/** `bindCard`: Mindbox's processing statuses, and nothing else of its answer. */
export interface CardBinding {
  status: string;
  discountCard?: {
    processingStatus?: "Bound" | "AlreadyBoundToCurrentCustomer" | "AlreadyBoundToAnotherCustomer" | "NotFound" | "NotProcessed" | string;
  };
}

/** `getCards`: the customer's loyalty cards. */
export interface Cards {
  status: string;
  discountCards?: {
    ids?: { number?: string };
    status?: { ids?: { systemName?: string } };
    type?: { ids?: { systemName?: string }; name?: string };
  }[];
}

export interface CreateOptions {
  endpointId?: string;
  /**
   * `"opt-in"`: nothing is collected until `mindbox("consent", true)` (152-FZ): no cookie, nothing in
   * localStorage, sessionStorage or IndexedDB, nothing sent. Calls wait in memory (the newest 100) with
   * the time they were made. Also `data-consent="opt-in"` on the script tag. Give it before the tracker
   * loads (the tag, or the first queued `create`).
   */
  consent?: "opt-in";
  /** The Mindbox id system of product and category ids (e.g. `bitrixId`); default `website`. */
  productIdSystem?: string;
  /** Operation names for the typed methods, where the shop's Mindbox project names them differently. */
  operations?: Partial<Record<TypedMethod, string>>;
}

export type TypedMethod =
  | "viewProduct" | "viewCategory" | "setCart" | "addToCart" | "removeFromCart" | "clearCart"
  | "setWishlist" | "addToWishlist" | "removeFromWishlist" | "clearWishlist"
  | "authorize" | "register" | "editCustomer" | "subscribe"
  | "getBalance" | "getPointsHistory" | "getTier" | "calculateCart"
  | "subscribeToProduct" | "sendPhoneCode" | "bindCard" | "getCards";

/**
 * A record of the tracker's outbox, as the QA API lists it. The outbox keeps the same record with
 * `data` as JSON text (outbox.js `Record` is defined from this one).
 */
export interface OutboxRecord {
  id: string;
  operation: string;
  createdAt: number;
  data: unknown;
  /**
   * `call`: a page call made before the tracker's wasm was in, kept until it is made into its event
   * (`operation` is then the method, `data` the argument).
   */
  state: "pending" | "sent" | "rejected" | "call";
  attempts: number;
  lastError: string | null;
  reason: string | null;
  settledAt: number | null;
  replayOf: string | null;
}

/** A call the tracker dropped for bad arguments (kept for QA, the newest 20; never the call's data). */
export interface DroppedCall {
  at: number;
  method: string;
  /** What the console got. */
  message: string;
}

/** Where collection stands in this browser. */
export type ConsentState = "given" | "opt-in" | "withdrawn";

/** A call held in memory until the visitor consents (opt-in). */
export interface WaitingCall {
  /** When the page made it (ms since the epoch): Mindbox gets this time. */
  at: number;
  method: string;
  /** The Mindbox operation it makes (questions too). */
  operation?: string;
}

/**
 * The QA API (`mindbox.qa`). Its code is `tracker-qa.js`, fetched on the first call; every method's
 * promise rejects with the reason when that file cannot be fetched.
 */
export interface QA {
  /** The collector's base URL this tracker sends to (ends with `/`): where the QA page asks about its events. */
  collector: string;
  list(): Promise<{
    storage: "indexeddb" | "memory" | "none";
    sender: boolean;
    evicted: number;
    events: OutboxRecord[];
    dropped: DroppedCall[];
    /** `"opt-in"` until the visitor consents, `"given"` after, `"withdrawn"` after `consent(false)`. */
    consent: ConsentState;
  }>;
  /**
   * The calls waiting for the visitor's consent in every open tab of the shop (asked over the tabs'
   * channel; nothing is stored), and how many each tab dropped past its 100.
   */
  waiting(): Promise<{ calls: WaitingCall[]; dropped: number }>;
  /** Sends copies (new ids) of these events; resolves to how many. */
  replay(ids: string[]): Promise<number>;
  exportJSON(): Promise<string>;
  importJSON(json: string): Promise<number>;
  flush(): Promise<void>;
  /** Forgets sent and rejected events and dropped calls in this browser; pending ones stay and are still sent. */
  clearHistory(): Promise<void>;
}

export interface Mindbox {
  (method: "create", options: CreateOptions): void;
  (method: "async", call: AsyncCall): void;
  (method: "sync", call: SyncCall): void;
  (method: "helpers.getDeviceUUID", callback: (deviceUUID: string) => void): void;
  /**
   * The visitor's choice, remembered per browser. `false` stops collection, clears the outbox and
   * drops the calls waiting for consent; `true` starts (or resumes) it and stores and sends the
   * waiting calls, each with the time it was made. Only `true` and `false` count (anything else is
   * ignored with a console warning). A consent banner's "accept" callback calls
   * `mindbox("consent", true)`.
   */
  (method: "consent", granted: boolean): void;
  (method: "viewProduct", product: ProductRef & { price?: number }, callbacks?: Callbacks): void;
  (method: "viewCategory", category: { categoryId: string | number }, callbacks?: Callbacks): void;
  (method: "setCart" | "setWishlist", lines: CartLine[] | { items: CartLine[] }, callbacks?: Callbacks): void;
  (method: "addToCart" | "removeFromCart" | "addToWishlist" | "removeFromWishlist", line: CartLine, callbacks?: Callbacks): void;
  (method: "clearCart" | "clearWishlist", _?: undefined, callbacks?: Callbacks): void;
  (method: "authorize" | "register" | "editCustomer" | "subscribe", customer: Customer, callbacks?: Callbacks): void;
  /** The customer's loyalty balance (asked at once through the collector; nothing is stored). */
  (method: "getBalance", who: Verified, answered: Answered<Balance>): void;
  /** The customer's points history, `itemsPerPage` (default 20) per page. */
  (method: "getPointsHistory", who: Verified & { pageNumber?: number; itemsPerPage?: number }, answered: Answered<PointsHistory>): void;
  (method: "getTier", who: Verified, answered: Answered<Tier>): void;
  /** For any visitor: the points this cart will earn (every line needs its `price`). With a `customer`, it
   * needs the ticket, and Mindbox prices the cart for that customer. */
  (method: "calculateCart", cart: { items: CartLine[]; customer?: Customer }, answered: Answered<CartCalculation>): void;
  /**
   * Back-in-stock: tell this email or phone when the product is back. No ticket: it may only
   * subscribe, and nothing but the contact and the product is sent.
   */
  (method: "subscribeToProduct", what: ProductRef & { email?: string; mobilePhone?: string }, callbacks?: Callbacks): void;
  /**
   * Mindbox texts the shopper a confirmation code. No ticket; at most 3 codes per phone, device and
   * address in 10 minutes and 10 per phone a day (the collector refuses more, `onError` says
   * `too_many_codes`), and only to the country codes the collector allows (`phone_not_allowed`).
   */
  (method: "sendPhoneCode", who: { mobilePhone: string }, answered: Answered<PhoneCodeSent>): void;
  /**
   * Binds a loyalty card to the phone with the code Mindbox texted. At most 5 tries per phone, card,
   * device and address in 10 minutes. A wrong or used code: `onError` gets 422 `code_not_accepted`.
   */
  (method: "bindCard", card: { mobilePhone: string; cardNumber: string | number; code: string | number }, answered: Answered<CardBinding>): void;
  // (A number for cardNumber or code must be a whole number as printed, up to 2^53: give text for a
  // code with leading zeros or a long card number.)
  /** The customer's loyalty cards (a "my cards" page). */
  (method: "getCards", who: Verified, answered: Answered<Cards>): void;
  queue: unknown[] | { push(args: IArguments | unknown[]): void };
  /** Present once the tracker has loaded. */
  qa?: QA;
  deviceUUID?: () => string;
}

declare global {
  interface Window {
    mindbox: Mindbox;
  }
  var mindbox: Mindbox;
}
