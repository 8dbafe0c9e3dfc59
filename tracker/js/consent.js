// @ts-check
// The visitor's consent, shared by every tab of the shop: `mindbox("consent", false)` in one tab stops
// collection and sending in all of them, and survives a reload.
//
// Two modes. By default collection is on until the visitor withdraws it (`"0"` remembered). In opt-in
// mode (`create({consent: "opt-in"})`, `data-consent="opt-in"`: 152-FZ) it is off until the visitor
// consents (`"1"` remembered); before that nothing at all is written, a refusal included.

/** localStorage key: `"0"` when the visitor withdrew consent, `"1"` when they gave it. */
export var CONSENT_KEY = "mindboxEdgeConsent";

/** Consent read from localStorage each time it is asked, so a change in another tab counts at once. */
export class Consent {
  /**
   * @param {Storage | undefined} store localStorage, when this page may use it
   * @param {boolean} [optIn] collection waits for the visitor's consent
   */
  constructor(store, optIn) {
    this.store_ = store;
    /** Whether collection waits for the visitor's consent. */
    this.optIn = !!optIn;
    /** Consent where localStorage is unavailable (this tab only, plus what other tabs tell it). */
    this.here_ = !optIn;
  }

  /** Whether the visitor lets the shop collect. */
  allowed() {
    try {
      if (this.store_) {
        var v = this.store_.getItem(CONSENT_KEY);
        return this.optIn ? v === "1" || (v === null && this.here_) : v !== "0";
      }
    } catch (e) {}
    return this.here_;
  }

  /** @param {boolean} on the visitor's choice, made in this tab */
  set(on) {
    // Opt-in: a refusal where nothing was given changes nothing, and is not written anywhere.
    if (!on && this.optIn && !this.allowed()) return;
    this.here_ = on;
    try {
      if (this.store_) this.store_.setItem(CONSENT_KEY, on ? "1" : "0");
    } catch (e) {}
  }

  /** @param {boolean} on what another tab said (counts only where localStorage does not carry it) */
  heard(on) {
    if (!this.store_) this.here_ = on;
  }

  /** `"given"`, `"opt-in"` (waiting for the visitor) or `"withdrawn"`. @returns {import("./mindbox").ConsentState} */
  state() {
    return this.allowed() ? "given" : this.optIn && !this.withdrawn_() ? "opt-in" : "withdrawn";
  }

  withdrawn_() {
    try {
      return !!this.store_ && this.store_.getItem(CONSENT_KEY) === "0";
    } catch (e) {
      return false;
    }
  }
}
