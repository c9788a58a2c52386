//! Bulk import of agencies and persons from CSV. Every row is checked; if any row is bad,
//! the errors are returned with their line numbers and nothing is written.

use crate::*;
use kyso_core::registry::*;
use std::collections::HashSet;
use std::io::Read;

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RowError {
    /// The line in the file (the header is line 1).
    pub line: u64,
    pub message: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct ImportSummary {
    pub imported: usize,
}

/// The columns of each CSV, in order. The header row must name them.
pub const AGENCY_COLUMNS: &[&str] =
    &["code", "name", "parent_code", "legal_entity", "tax_code", "budget_code", "email", "address", "valid_from"];
pub const PERSON_COLUMNS: &[&str] =
    &["full_name", "citizen_id", "date_of_birth", "gender", "position", "position_kind", "title", "agency_code", "email", "phone"];

/// A CSV file held in memory, so that a row's line is counted from its byte offset: the csv
/// crate's own line count is one short per record when lines end in CRLF (Excel on Windows).
pub(crate) struct CsvText {
    pub data: Vec<u8>,
    newlines: Vec<usize>,
}

/// CSV files larger than this are refused (a province's registry is a few MB).
const MAX_CSV: u64 = 256 << 20;

impl CsvText {
    pub fn read(input: impl Read) -> Result<Self, RowError> {
        let mut data = Vec::new();
        input
            .take(MAX_CSV + 1)
            .read_to_end(&mut data)
            .map_err(|e| RowError { line: 0, message: format!("không đọc được tệp CSV: {e}") })?;
        if data.len() as u64 > MAX_CSV {
            return Err(RowError { line: 0, message: format!("tệp CSV lớn hơn {} MB; hãy chia nhỏ", MAX_CSV >> 20) });
        }
        let newlines = newline_offsets(&data);
        Ok(CsvText { data, newlines })
    }
    pub fn reader(&self) -> csv::Reader<&[u8]> {
        csv::ReaderBuilder::new().flexible(true).trim(csv::Trim::All).from_reader(&self.data[..])
    }
    /// The 1-based line on which the record at `pos` begins. After a CRLF the csv crate puts
    /// the next record's start on the LF, so line ends at the start are skipped.
    pub fn line_of(&self, pos: Option<&csv::Position>) -> u64 {
        let Some(p) = pos else { return 0 };
        let mut at = p.byte() as usize;
        while matches!(self.data.get(at), Some(b'\r' | b'\n')) {
            at += 1;
        }
        1 + self.newlines.partition_point(|&n| n < at) as u64
    }
}

fn newline_offsets(data: &[u8]) -> Vec<usize> {
    data.iter().enumerate().filter(|(_, b)| **b == b'\n').map(|(i, _)| i).collect()
}

/// Reads the rows as maps from column name to value, checking the header.
fn read_rows(input: impl Read, columns: &[&str]) -> Result<Vec<(u64, Vec<String>)>, Vec<RowError>> {
    let text = CsvText::read(input).map_err(|e| vec![e])?;
    let mut r = text.reader();
    let header: Vec<String> = match r.headers() {
        Ok(h) => h.iter().map(|s| s.trim_start_matches('\u{feff}').to_lowercase()).collect(),
        Err(e) => return Err(vec![RowError { line: 1, message: format!("không đọc được dòng tiêu đề: {e}") }]),
    };
    let idx: Vec<Option<usize>> = columns.iter().map(|c| header.iter().position(|h| h == c)).collect();
    let missing: Vec<&str> = columns.iter().zip(&idx).filter(|(_, i)| i.is_none()).map(|(c, _)| *c).collect();
    if missing.len() == columns.len() || missing.contains(&columns[0]) {
        return Err(vec![RowError {
            line: 1,
            message: format!("dòng tiêu đề thiếu cột: {}; cần các cột {}", missing.join(", "), columns.join(",")),
        }]);
    }
    let mut rows = Vec::new();
    let mut errors = Vec::new();
    for rec in r.records() {
        match rec {
            Ok(rec) => {
                let line = text.line_of(rec.position());
                if rec.iter().all(|f| f.is_empty()) {
                    continue;
                }
                rows.push((line, idx.iter().map(|i| i.and_then(|i| rec.get(i)).unwrap_or("").to_string()).collect()));
            }
            Err(e) => errors.push(RowError { line: text.line_of(e.position()), message: format!("dòng CSV hỏng: {e}") }),
        }
    }
    if errors.is_empty() {
        Ok(rows)
    } else {
        Err(errors)
    }
}

fn opt(s: &str) -> Option<String> {
    (!s.trim().is_empty()).then(|| s.to_string())
}

fn parse_bool(s: &str) -> Result<bool, String> {
    match s.trim().to_lowercase().as_str() {
        "1" | "true" | "yes" | "có" | "x" => Ok(true),
        "0" | "false" | "no" | "không" | "" => Ok(false),
        _ => Err(format!("legal_entity '{s}' phải là 1/0, có/không")),
    }
}

impl Service {
    pub fn import_agencies(&self, actor: &Principal, input: impl Read, now: DateTime<Utc>) -> ServiceResult<ImportSummary> {
        let rows = read_rows(input, AGENCY_COLUMNS).map_err(ServiceError::Import)?;
        let today = kyso_core::value::vn_date(now);
        self.mutate(actor, "agency.import", "agencies:csv", now, |tx| {
            let mut errors = Vec::new();
            let mut seen = HashSet::new();
            let mut n = 0;
            for (line, f) in &rows {
                let parsed = parse_bool(&f[3]).map_err(|m| DomainError::invalid("legal_entity", m)).and_then(|legal_entity| {
                    NewAgency::parse(
                        &AgencyInput {
                            code: f[0].clone(),
                            name: f[1].clone(),
                            parent_code: opt(&f[2]),
                            legal_entity,
                            tax_code: opt(&f[4]),
                            budget_code: opt(&f[5]),
                            email: opt(&f[6]),
                            address: f[7].clone(),
                            valid_from: opt(&f[8]),
                        },
                        today,
                    )
                });
                let result = parsed.map_err(ServiceError::from).and_then(|a| {
                    if !seen.insert(a.code.clone()) {
                        return Err(DomainError::conflict("mã cơ quan (lặp trong tệp)", &a.code).into());
                    }
                    if tx.agency_by_code(a.code.as_str())?.is_some() {
                        return Err(DomainError::conflict("mã cơ quan", &a.code).into());
                    }
                    let parent_code = a.parent_code.clone().ok_or_else(|| DomainError::invalid("parent_code", "phải có cơ quan cấp trên"))?;
                    // Parents may be earlier rows of the same file, already inserted here.
                    let parent = tx.agency_by_code(parent_code.as_str())?.ok_or_else(|| DomainError::not_found("cơ quan cấp trên", &parent_code))?;
                    kyso_core::value::required_text("address", &a.address, 500).map_err(ServiceError::from)?;
                    require(actor, kyso_core::authz::Permission::ManageAgencies, &parent)?;
                    let created = tx.insert_agency(&a, Some(&parent))?;
                    tx.append_audit(
                        NewEvent::new(&actor.login, "agency.created", format!("agency:{}", created.id))
                            .agency(created.id)
                            .details(serde_json::json!({"code": created.code.as_str(), "name": created.name, "parent": parent.code.as_str(), "import_line": line})),
                        now,
                    )?;
                    Ok(())
                });
                match result {
                    Ok(()) => n += 1,
                    Err(ServiceError::Domain(e)) => errors.push(RowError { line: *line, message: e.to_string() }),
                    Err(other) => return Err(other),
                }
            }
            if errors.is_empty() {
                Ok(ImportSummary { imported: n })
            } else {
                Err(ServiceError::Import(errors))
            }
        })
    }

    pub fn import_persons(&self, actor: &Principal, input: impl Read, now: DateTime<Utc>) -> ServiceResult<ImportSummary> {
        let rows = read_rows(input, PERSON_COLUMNS).map_err(ServiceError::Import)?;
        let today = kyso_core::value::vn_date(now);
        self.mutate(actor, "person.import", "persons:csv", now, |tx| {
            let mut errors = Vec::new();
            let mut seen = HashSet::new();
            let mut n = 0;
            for (line, f) in &rows {
                let input = PersonInput {
                    full_name: f[0].clone(),
                    citizen_id: f[1].clone(),
                    date_of_birth: f[2].clone(),
                    gender: f[3].clone(),
                    position: f[4].clone(),
                    position_kind: f[5].clone(),
                    title: f[6].clone(),
                    agency_code: f[7].clone(),
                    email: f[8].clone(),
                    phone: opt(&f[9]),
                };
                let result = NewPerson::parse(&input, today).map_err(ServiceError::from).and_then(|p| {
                    if !seen.insert(p.citizen_id.clone()) {
                        return Err(DomainError::conflict("số CCCD (lặp trong tệp)", &p.citizen_id).into());
                    }
                    self.insert_person(tx, actor, &p, now)
                });
                match result {
                    Ok(_) => n += 1,
                    Err(ServiceError::Domain(e)) => errors.push(RowError { line: *line, message: e.to_string() }),
                    Err(other) => return Err(other),
                }
            }
            if errors.is_empty() {
                Ok(ImportSummary { imported: n })
            } else {
                Err(ServiceError::Import(errors))
            }
        })
    }
}
