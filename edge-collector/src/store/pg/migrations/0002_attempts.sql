-- Attempts per key in a sliding window (`crate::store::attempts`): SMS codes asked and tried per
-- phone, card, device and address. `times` are the granted attempts (ms, the database's clock).
CREATE TABLE attempts (
  key        text     PRIMARY KEY,
  times      float8[] NOT NULL,
  expires_at float8   NOT NULL
);
CREATE INDEX attempts_expires_at ON attempts (expires_at);
