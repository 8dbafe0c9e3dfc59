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
    this.env = env;
    /** Whether this tab sends. */
    this.leader = false;
    /** Whether this tab knows yet if it sends. */
    this.decided = false;
    var locks = env.locks;
    var self = this;
    if (locks && locks.request) {
      /** @param {Lock | null} lock */
      var hold = function (lock) {
        if (!lock) return self.lose();
        self.gain();
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
      this.tab = String(Math.random()).slice(2);
      this.lease();
      this.renewal = setInterval(function () {
        self.lease();
      }, RENEW_MS);
    }
  }

  /** Takes or renews the lease when it is free, expired or this tab's. */
  lease() {
    var store = this.env.store;
    if (!store) return this.gain();
    var now = Date.now();
    try {
      var current = (store.getItem(LEASE_KEY) || "").split("|");
      if (current[0] === this.tab || !(+current[1] >= now)) {
        store.setItem(LEASE_KEY, this.tab + "|" + (now + LEASE_MS));
        if ((store.getItem(LEASE_KEY) || "").split("|")[0] === this.tab) return this.gain();
      }
    } catch (e) {
      return this.gain();
    }
    this.lose();
  }

  /** Stops renewing the lease (tests; a tab that goes away simply stops). */
  stop() {
    clearInterval(this.renewal);
  }

  gain() {
    this.decided = true;
    if (!this.leader) {
      this.leader = true;
      this.env.onGain();
    }
  }

  lose() {
    if (!this.decided) this.env.onDecided();
    this.decided = true;
    this.leader = false;
  }
}
