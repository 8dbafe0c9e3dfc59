// CONSENT=opt-in: the collector sets its device cookie only in answer to a batch that says the
// visitor consented (the tracker's opt-in mode sends `"consent": true`, and sends nothing before).
import { test } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { useStack, PROFILE } from "../support/stack.mjs";
import { view } from "../support/events.mjs";

const stack = useStack({ profile: PROFILE, vars: { CONSENT: "opt-in" } });

test("the device cookie only for a batch that says consent was given; anything but true is not saying it", async () => {
  const device = randomUUID();
  const without = await stack.post({ deviceUUID: device, events: [view()] });
  assert.equal(without.status, 202, without.text);
  assert.equal(without.headers.get("set-cookie"), null, "no cookie before the page says consent was given");
  const refused = await stack.post({ deviceUUID: device, consent: false, events: [view()] });
  assert.equal(refused.headers.get("set-cookie"), null);
  const given = await stack.post({ deviceUUID: device, consent: true, events: [view()] });
  assert.equal(given.status, 202, given.text);
  assert.match(given.headers.get("set-cookie") || "", new RegExp(`^mindboxDeviceUUID=${device};`));
  for (const trick of ["true", 1, { yes: true }]) {
    const r = await stack.post({ deviceUUID: device, consent: trick, events: [view()] });
    assert.equal(r.status, 400, `${JSON.stringify(trick)}: ${r.text}`);
    assert.equal(r.json.error, "not_a_batch");
  }
  const twice = await stack.post(`{"deviceUUID":"${device}","consent":false,"consent":true,"events":[]}`);
  assert.equal(twice.status, 400, twice.text);
  assert.equal(twice.headers.get("set-cookie"), null);
});
