//! The domain's one error type. Messages are in Vietnamese because they reach the official
//! who made the mistake; `field` and `rule` stay machine-readable for scripts and tests.

use std::fmt;

/// What went wrong, with the field or rule that failed, so that the CLI and the web can say
/// exactly what to fix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DomainError {
    /// A value does not have the required form (a citizen ID with 11 digits, say).
    Invalid { field: &'static str, message: String },
    /// A rule of the law or of the province profile forbids the operation.
    Rule { rule: &'static str, message: String },
    /// The actor's role or agency scope does not allow the operation.
    Forbidden { message: String },
    /// The request is not in a state where this action is possible.
    Transition { from: &'static str, action: &'static str, message: String },
    /// Something named does not exist.
    NotFound { what: &'static str, key: String },
    /// Something with the same key already exists.
    Conflict { what: &'static str, key: String },
}

impl DomainError {
    pub fn invalid(field: &'static str, message: impl Into<String>) -> Self {
        DomainError::Invalid { field, message: message.into() }
    }
    pub fn rule(rule: &'static str, message: impl Into<String>) -> Self {
        DomainError::Rule { rule, message: message.into() }
    }
    pub fn forbidden(message: impl Into<String>) -> Self {
        DomainError::Forbidden { message: message.into() }
    }
    pub fn not_found(what: &'static str, key: impl fmt::Display) -> Self {
        DomainError::NotFound { what, key: key.to_string() }
    }
    pub fn conflict(what: &'static str, key: impl fmt::Display) -> Self {
        DomainError::Conflict { what, key: key.to_string() }
    }
    /// A short stable code for scripts: `invalid`, `rule`, `forbidden`, ...
    pub fn code(&self) -> &'static str {
        match self {
            DomainError::Invalid { .. } => "invalid",
            DomainError::Rule { .. } => "rule",
            DomainError::Forbidden { .. } => "forbidden",
            DomainError::Transition { .. } => "transition",
            DomainError::NotFound { .. } => "not_found",
            DomainError::Conflict { .. } => "conflict",
        }
    }
}

impl fmt::Display for DomainError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DomainError::Invalid { field, message } => {
                write!(f, "trường '{field}' không hợp lệ: {message}")
            }
            DomainError::Rule { rule, message } => {
                write!(f, "vi phạm quy định [{rule}]: {message}")
            }
            DomainError::Forbidden { message } => write!(f, "không có quyền: {message}"),
            DomainError::Transition { from, action, message } => {
                write!(f, "không thể thực hiện '{action}' khi yêu cầu đang ở trạng thái '{from}': {message}")
            }
            DomainError::NotFound { what, key } => write!(f, "không tìm thấy {what} '{key}'"),
            DomainError::Conflict { what, key } => write!(f, "{what} '{key}' đã tồn tại"),
        }
    }
}

impl std::error::Error for DomainError {}

pub type DomainResult<T> = Result<T, DomainError>;
