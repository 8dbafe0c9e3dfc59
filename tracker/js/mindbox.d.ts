// Type declarations for the Mindbox Edge tracker (`tracker.js`).
//
// Every call works before the script has loaded: with the official snippet (or the tracker's own
// queue), calls are queued and replayed in order. Nothing throws; bad arguments are reported once on
// the console with what was expected, and the call is dropped.

export interface ProductRef {
  /** The product's id on the site (Mindbox id system `website`). */
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
  email?: string;
  mobilePhone?: string;
  firstName?: string;
  lastName?: string;
  /** `YYYY-MM-DD` */
  birthDate?: string;
  subscriptions?: { pointOfContact: "Email" | "Sms" | "Viber" | "Webpush" | string; isSubscribed?: boolean }[];
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
  data?: { customer: Customer } & Record<string, unknown>;
  onSuccess?: (answer: {
    status: string;
    balances: { systemName: string; totalValue: number; availableValue: number; blockedValue: number }[];
  }) => void;
  onError?: (error: unknown) => void;
}

export interface CreateOptions {
  endpointId?: string;
  /** Operation names for the typed methods, where the shop's Mindbox project names them differently. */
  operations?: Partial<Record<TypedMethod, string>>;
}

export type TypedMethod =
  | "viewProduct" | "viewCategory" | "setCart" | "addToCart" | "removeFromCart" | "clearCart"
  | "setWishlist" | "authorize" | "register" | "editCustomer" | "subscribe";

/** A record of the tracker's outbox, as the QA API lists it. */
export interface OutboxRecord {
  id: string;
  operation: string;
  createdAt: number;
  data: unknown;
  state: "pending" | "sent" | "rejected";
  attempts: number;
  lastError: string | null;
  reason: string | null;
  settledAt: number | null;
  replayOf: string | null;
}

export interface QA {
  list(): Promise<{ storage: "indexeddb" | "memory"; sender: boolean; evicted: number; events: OutboxRecord[] }>;
  /** Sends copies (new ids) of these events; resolves to how many. */
  replay(ids: string[]): Promise<number>;
  exportJSON(): Promise<string>;
  importJSON(json: string): Promise<number>;
  flush(): Promise<void>;
}

export interface Mindbox {
  (method: "create", options: CreateOptions): void;
  (method: "async", call: AsyncCall): void;
  (method: "sync", call: SyncCall): void;
  (method: "helpers.getDeviceUUID", callback: (deviceUUID: string) => void): void;
  /** `false` stops collection and clears the outbox; `true` resumes. Remembered per browser. */
  (method: "consent", granted: boolean): void;
  (method: "viewProduct", product: ProductRef & { price?: number }, callbacks?: Callbacks): void;
  (method: "viewCategory", category: { categoryId: string | number }, callbacks?: Callbacks): void;
  (method: "setCart" | "setWishlist", lines: CartLine[] | { items: CartLine[] }, callbacks?: Callbacks): void;
  (method: "addToCart" | "removeFromCart", line: CartLine, callbacks?: Callbacks): void;
  (method: "clearCart", _?: undefined, callbacks?: Callbacks): void;
  (method: "authorize" | "register" | "editCustomer" | "subscribe", customer: Customer, callbacks?: Callbacks): void;
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
