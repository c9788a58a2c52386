-- The CSR a subscriber made on its token, attached to its request (for an external CA).
CREATE TABLE request_csrs (
    request_id INTEGER PRIMARY KEY REFERENCES requests(id),
    der        TEXT NOT NULL
);
