// @ts-check
// The visitor's consent, shared by every tab of the shop: `mindbox("consent", false)` in one tab stops
// collection and sending in all of them, and survives a reload.

/** localStorage key: `"0"` when the visitor withdrew consent. */
export var CONSENT_KEY = "mindboxEdgeConsent";

/** Consent read from localStorage each time it is asked, so a change in another tab counts at once. */
export class Consent {
  /** @param {Storage | undefined} store localStorage, when this page may use it */
  constructor(store) {
    this.store_ = store;
    /** Consent where localStorage is unavailable (this tab only, plus what other tabs tell it). */
    this.here_ = true;
  }

  /** Whether the visitor lets the shop collect. */
  allowed() {
    try {
      if (this.store_) return this.store_.getItem(CONSENT_KEY) !== "0";
    } catch (e) {}
    return this.here_;
  }

  /** @param {boolean} on the visitor's choice, made in this tab */
  set(on) {
    this.here_ = on;
    try {
      if (this.store_) this.store_.setItem(CONSENT_KEY, on ? "1" : "0");
    } catch (e) {}
  }

  /** @param {boolean} on what another tab said (counts only where localStorage does not carry it) */
  heard(on) {
    if (!this.store_) this.here_ = on;
  }
}
