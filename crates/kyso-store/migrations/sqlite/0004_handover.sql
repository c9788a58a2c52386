-- Handover records of key devices (TT 185 Mẫu 14; NĐ 68 Mẫu 07): who gave the device to
-- whom, when, under which decision, and why.
CREATE TABLE handover_records (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    device_id    INTEGER NOT NULL REFERENCES devices(id),
    from_person  INTEGER REFERENCES persons(id),
    to_person    INTEGER NOT NULL REFERENCES persons(id),
    at           INTEGER NOT NULL,
    form         TEXT NOT NULL,
    decision_ref TEXT,
    reason       TEXT NOT NULL,
    recorded_by  TEXT NOT NULL
);
CREATE INDEX handover_device ON handover_records(device_id);
