// @ts-check
// The JS shell's half of the wire contract (model/src/wire.rs defines it; tracker/tests/contract.rs
// checks that this file says the same).

/** Statuses whose body has one result per event: settle each. */
export var SETTLED = [202, 422];
/** Statuses that refuse the request as a whole (not a batch, too big): halve it and resend. */
export var SPLIT = [400, 413];
/** An event result's status when the event is on the collector's queue. */
export var ACCEPTED = "accepted";
/** An event result's status when the event will never be accepted as it is. */
export var REJECTED = "rejected";
