//! The CLI's error: a Vietnamese message, the rows of a rejected import, a hint, and the exit
//! code (1 refused, 2 environment or storage, 3 audit chain broken).

use crate::clock;
use kyso_service::{RowError, ServiceError};

pub struct CliError {
    pub code: &'static str,
    pub message: String,
    pub rows: Vec<RowError>,
    pub hint: Option<String>,
    pub exit: u8,
}

impl From<ServiceError> for CliError {
    fn from(e: ServiceError) -> Self {
        let exit = match &e {
            ServiceError::Store(kyso_store::StoreError::Constraint(_)) => 1,
            ServiceError::Store(_) | ServiceError::NotInitialised => 2,
            _ => 1,
        };
        let hint = match &e {
            ServiceError::Domain(kyso_core::DomainError::NotFound { what: "tài khoản", .. }) => {
                Some("chọn tài khoản bằng --as LOGIN (xem 'kyso user list')".to_string())
            }
            _ => None,
        };
        let rows = match &e {
            ServiceError::Import(r) => r.clone(),
            _ => vec![],
        };
        CliError { code: e.code(), message: e.to_string(), rows, hint, exit }
    }
}

impl From<kyso_core::DomainError> for CliError {
    fn from(e: kyso_core::DomainError) -> Self {
        ServiceError::from(e).into()
    }
}

impl From<kyso_store::StoreError> for CliError {
    fn from(e: kyso_store::StoreError) -> Self {
        ServiceError::from(e).into()
    }
}

pub(crate) fn env_err(msg: impl Into<String>) -> CliError {
    CliError { code: "environment", message: msg.into(), rows: vec![], hint: None, exit: 2 }
}

impl From<clock::anyhow_free::Error> for CliError {
    fn from(e: clock::anyhow_free::Error) -> Self {
        env_err(e.0)
    }
}

pub(crate) type CliResult<T> = Result<T, CliError>;
