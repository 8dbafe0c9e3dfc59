// @ts-check
// Who sends: one tab of the shop sends the shared outbox, so no event is sent twice by two tabs.
//
// The tab holding the Web Lock `mindbox-edge-sender` sends. It asks with `ifAvailable` first, so it
// knows at once where it stands, then queues for the lock and holds it until the tab goes away. Where
// Web Locks are missing, a lease in localStorage (`tab id|expiry`, renewed every second, 3 s long)
// stands in; without localStorage either, every tab sends (nothing is shared to send twice).

export var LOCK = "mindbox-edge-sender";
export var LEASE_KEY = "mindboxEdgeSender";
export var LEASE_MS = 3000;
export var RENEW_MS = 1000;

/**
 * @typedef {object} RoleEnv
 * @property {LockManager | undefined} locks `navigator.locks`, where the browser has it
 * @property {Storage | undefined} store localStorage, for the lease
 * @property {() => void} onGain this tab became the sending tab
 * @property {() => void} onDecided this tab learnt it does not send (called once, at most)
 */

export class SenderRole {
  /** @param {RoleEnv} env */
  constructor(env) {
    this.env_ = env;
    /** Whether this tab sends. */
    this.leader = false;
    /** Whether this tab knows yet if it sends. */
    this.decided = false;
    var locks = env.locks;
    var self = this;
    if (locks && locks.request) {
      /** @param {Lock | null} lock */
      var hold = function (lock) {
        if (!lock) return self.lose_();
        self.gain_();
        return new Promise(function () {});
      };
      locks
        .request(LOCK, { ifAvailable: true }, function (lock) {
          var held = hold(lock);
          if (!lock && locks) locks.request(LOCK, hold).catch(function () {});
          return held;
        })
        .catch(function () {});
    } else {
      this.tab_ = String(Math.random()).slice(2);
      this.lease_();
      this.renewal_ = setInterval(function () {
        self.lease_();
      }, RENEW_MS);
    }
  }

  /** Takes or renews the lease when it is free, expired or this tab's. */
  lease_() {
    var store = this.env_.store;
    if (!store) return this.gain_();
    var now = Date.now();
    try {
      var current = (store.getItem(LEASE_KEY) || "").split("|");
      if (current[0] === this.tab_ || !(+current[1] >= now)) {
        store.setItem(LEASE_KEY, this.tab_ + "|" + (now + LEASE_MS));
        if ((store.getItem(LEASE_KEY) || "").split("|")[0] === this.tab_) return this.gain_();
      }
    } catch (e) {
      return this.gain_();
    }
    this.lose_();
  }

  /** Stops renewing the lease (tests; a tab that goes away simply stops). */
  stop() {
    clearInterval(this.renewal_);
  }

  gain_() {
    this.decided = true;
    if (!this.leader) {
      this.leader = true;
      this.env_.onGain();
    }
  }

  lose_() {
    if (!this.decided) this.env_.onDecided();
    this.decided = true;
    this.leader = false;
  }
}
