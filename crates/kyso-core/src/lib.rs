//! kyso-core: the domain of kyso. Pure: no I/O, no database, no clock. Time comes in as a
//! parameter; rules and province profiles are data.

pub mod audit;
pub mod authz;
pub mod calendar;
pub mod document;
pub mod duties;
pub mod error;
pub mod identity;
pub mod onboarding;
pub mod person_event;
pub mod profile;
pub mod registry;
pub mod report;
pub mod request;
pub mod rules;
pub mod value;

pub use error::{DomainError, DomainResult};
