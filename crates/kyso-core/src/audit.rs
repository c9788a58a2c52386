//! The tamper-evident audit log. Each event carries the hash of the one before it, so a
//! changed, removed or reordered event breaks the chain at that point.

use crate::registry::AgencyId;
use serde::Serialize;
use sha2::{Digest, Sha256};

/// The hash that precedes the first event.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The operation was carried out.
    Ok,
    /// The actor was not allowed to do it; nothing else changed.
    Denied,
}

impl Outcome {
    pub fn code(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Denied => "denied",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "ok" => Some(Outcome::Ok),
            "denied" => Some(Outcome::Denied),
            _ => None,
        }
    }
}

/// An event before it is chained: what the service layer writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEvent {
    /// The login of the actor ("system" for the installer).
    pub actor: String,
    /// What happened, e.g. "request.confirmed", "agency.created".
    pub action: String,
    /// What it happened to, e.g. "request:42".
    pub object: String,
    /// The agency the object belongs to, for scoped reports.
    pub agency_id: Option<AgencyId>,
    pub outcome: Outcome,
    /// For report figures: what is counted (a request kind, "document").
    pub subject: Option<String>,
    /// For report figures: "org" or "personal".
    pub class: Option<String>,
    /// Compact JSON with the particulars.
    pub details: String,
}

impl NewEvent {
    pub fn new(actor: &str, action: &str, object: String) -> Self {
        NewEvent {
            actor: actor.into(),
            action: action.into(),
            object,
            agency_id: None,
            outcome: Outcome::Ok,
            subject: None,
            class: None,
            details: "{}".into(),
        }
    }
    pub fn agency(mut self, a: AgencyId) -> Self {
        self.agency_id = Some(a);
        self
    }
    pub fn figure(mut self, subject: &str, class: &str) -> Self {
        self.subject = Some(subject.into());
        self.class = Some(class.into());
        self
    }
    pub fn details(mut self, v: serde_json::Value) -> Self {
        self.details = v.to_string();
        self
    }
    pub fn denied(mut self) -> Self {
        self.outcome = Outcome::Denied;
        self
    }
}

/// A stored event with its place in the chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditRecord {
    pub seq: i64,
    /// Microseconds since the Unix epoch (UTC).
    pub at_micros: i64,
    pub actor: String,
    pub action: String,
    pub object: String,
    pub agency_id: Option<AgencyId>,
    /// The outcome's code as stored ("ok", "denied"); kept as text so that a damaged row
    /// still reads and fails verification instead of failing to load.
    pub outcome: String,
    pub subject: Option<String>,
    pub class: Option<String>,
    pub details: String,
    pub prev_hash: String,
    pub hash: String,
}

fn put(h: &mut Sha256, bytes: &[u8]) {
    h.update((bytes.len() as u64).to_be_bytes());
    h.update(bytes);
}

fn put_opt(h: &mut Sha256, s: Option<&str>) {
    match s {
        None => h.update([0u8]),
        Some(s) => {
            h.update([1u8]);
            put(h, s.as_bytes());
        }
    }
}

/// What a checkpoint of the audit log time-stamps: the head's sequence and hash.
pub fn checkpoint_message(seq: i64, hash: &str) -> String {
    format!("kyso-audit-checkpoint/1\n{seq}\n{hash}")
}

/// The hash of an event given the previous hash: SHA-256 over every field, each
/// length-prefixed so that no two different events encode alike.
pub fn event_hash(prev_hash: &str, seq: i64, at_micros: i64, e: &NewEvent) -> String {
    event_hash_parts(prev_hash, seq, at_micros, e, e.outcome.code())
}

fn event_hash_parts(prev_hash: &str, seq: i64, at_micros: i64, e: &NewEvent, outcome: &str) -> String {
    let mut h = Sha256::new();
    h.update(b"kyso-audit-v1");
    put(&mut h, prev_hash.as_bytes());
    h.update(seq.to_be_bytes());
    h.update(at_micros.to_be_bytes());
    put(&mut h, e.actor.as_bytes());
    put(&mut h, e.action.as_bytes());
    put(&mut h, e.object.as_bytes());
    match e.agency_id {
        None => h.update([0u8]),
        Some(a) => {
            h.update([1u8]);
            h.update(a.0.to_be_bytes());
        }
    }
    put(&mut h, outcome.as_bytes());
    put_opt(&mut h, e.subject.as_deref());
    put_opt(&mut h, e.class.as_deref());
    put(&mut h, e.details.as_bytes());
    hex::encode(h.finalize())
}

impl AuditRecord {
    pub fn chain(prev_hash: &str, seq: i64, at_micros: i64, e: NewEvent) -> Self {
        let hash = event_hash(prev_hash, seq, at_micros, &e);
        AuditRecord {
            seq,
            at_micros,
            actor: e.actor,
            action: e.action,
            object: e.object,
            agency_id: e.agency_id,
            outcome: e.outcome.code().to_string(),
            subject: e.subject,
            class: e.class,
            details: e.details,
            prev_hash: prev_hash.to_string(),
            hash,
        }
    }
    fn recompute(&self) -> String {
        let e = NewEvent {
            actor: self.actor.clone(),
            action: self.action.clone(),
            object: self.object.clone(),
            agency_id: self.agency_id,
            outcome: Outcome::Ok,
            subject: self.subject.clone(),
            class: self.class.clone(),
            details: self.details.clone(),
        };
        event_hash_parts(&self.prev_hash, self.seq, self.at_micros, &e, &self.outcome)
    }
}

/// Where and why the chain breaks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChainBreak {
    /// The sequence number of the first event that fails (or is missing).
    pub seq: i64,
    pub reason: String,
}

/// Walks the chain in order and checks every link. Stops at the first break. `head` is the
/// (seq, hash) the store recorded for the last event, which catches a removed tail.
#[derive(Debug, Default)]
pub struct ChainVerifier {
    expected_seq: i64,
    prev_hash: String,
    last_at: i64,
}

impl ChainVerifier {
    pub fn new() -> Self {
        ChainVerifier { expected_seq: 1, prev_hash: GENESIS.to_string(), last_at: i64::MIN }
    }
    pub fn push(&mut self, r: &AuditRecord) -> Result<(), ChainBreak> {
        if r.seq != self.expected_seq {
            let reason = if r.seq > self.expected_seq {
                format!("thiếu sự kiện số {} đến {} (đã bị xóa)", self.expected_seq, r.seq - 1)
            } else {
                format!("số thứ tự {} lặp lại hoặc sai thứ tự", r.seq)
            };
            return Err(ChainBreak { seq: self.expected_seq.min(r.seq), reason });
        }
        if r.prev_hash != self.prev_hash {
            return Err(ChainBreak {
                seq: r.seq,
                reason: "liên kết với sự kiện trước bị đứt (sự kiện bị xóa, chèn hoặc đổi thứ tự)".into(),
            });
        }
        if r.recompute() != r.hash {
            return Err(ChainBreak { seq: r.seq, reason: "nội dung sự kiện đã bị sửa (mã băm không khớp)".into() });
        }
        if r.at_micros < self.last_at {
            return Err(ChainBreak {
                seq: r.seq, reason: "thời điểm sự kiện lùi về trước sự kiện trước đó".into()
            });
        }
        self.last_at = r.at_micros;
        self.prev_hash = r.hash.clone();
        self.expected_seq += 1;
        Ok(())
    }
    /// Checks the end of the chain against the recorded head.
    pub fn finish(&self, head: Option<(i64, &str)>) -> Result<i64, ChainBreak> {
        let count = self.expected_seq - 1;
        match head {
            None if count == 0 => Ok(0),
            Some((seq, hash)) if seq == count && hash == self.prev_hash => Ok(count),
            Some((seq, _)) if seq > count => Err(ChainBreak {
                seq: count + 1,
                reason: format!("thiếu các sự kiện cuối từ số {} đến {}", count + 1, seq),
            }),
            _ => Err(ChainBreak { seq: count, reason: "đầu chuỗi đã ghi không khớp với sự kiện cuối".into() }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain(n: i64) -> Vec<AuditRecord> {
        let mut prev = GENESIS.to_string();
        (1..=n)
            .map(|i| {
                let r = AuditRecord::chain(&prev, i, i * 1000, NewEvent::new("admin", "agency.created", format!("agency:{i}")));
                prev = r.hash.clone();
                r
            })
            .collect()
    }

    fn verify(rs: &[AuditRecord]) -> Result<i64, ChainBreak> {
        let mut v = ChainVerifier::new();
        for r in rs {
            v.push(r)?;
        }
        let last = rs.last().map(|r| (r.seq, r.hash.as_str()));
        v.finish(last)
    }

    #[test]
    fn tampering_is_found_at_the_right_event() {
        let good = chain(5);
        assert_eq!(verify(&good), Ok(5));
        type Tamper = fn(&mut Vec<AuditRecord>);
        let cases: &[(&str, Tamper, i64)] = &[
            ("changed details", |v| v[2].details = "{\"x\":1}".into(), 3),
            ("changed actor", |v| v[1].actor = "mallory".into(), 2),
            (
                "removed middle",
                |v| {
                    v.remove(2);
                },
                3,
            ),
            ("swapped", |v| v.swap(1, 2), 2),
            ("changed outcome", |v| v[4].outcome = "denied".into(), 5),
        ];
        for (name, f, at) in cases {
            let mut v = good.clone();
            f(&mut v);
            assert_eq!(verify(&v).map_err(|b| b.seq), Err(*at), "{name}");
        }
        // A removed tail is caught by the recorded head.
        let mut v = ChainVerifier::new();
        for r in &good[..3] {
            v.push(r).unwrap();
        }
        assert_eq!(v.finish(Some((5, &good[4].hash))).map_err(|b| b.seq), Err(4));
    }
}
