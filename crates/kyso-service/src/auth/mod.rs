//! Who is acting. A [`Principal`] is made only in this module: by a login (password and
//! second factor, the official's certificate, OpenID Connect), by checking a session or an API
//! token, by the CLI's local-operator path, or as a named system job. Every use case takes one,
//! so a handler cannot act for a login string it was merely given.

use crate::{load_actor, Service, ServiceResult};
use kyso_core::authz::{Actor, AuthMethod};

/// An authenticated account: its grants (narrowed to an API token's roles), and how it got in.
/// The fields are private and there is no public constructor outside this module; a
/// compile-fail test (`tests/compile_fail`) keeps it so.
#[derive(Debug, Clone)]
pub struct Principal {
    actor: Actor,
    method: AuthMethod,
}

impl Principal {
    fn new(actor: Actor, method: AuthMethod) -> Principal {
        Principal { actor, method }
    }

    /// The CA's services (periodic CRLs, OCSP refresh, time-stamps served over HTTP, audit
    /// checkpoints): a named system principal that holds only `OperateCaServices` and
    /// `AnchorAudit`, with no account behind it.
    pub fn ca_service() -> Principal {
        Principal::new(Actor::ca_service(), AuthMethod::System)
    }

    pub fn method(&self) -> AuthMethod {
        self.method
    }

    pub fn actor(&self) -> &Actor {
        &self.actor
    }
}

impl std::ops::Deref for Principal {
    type Target = Actor;
    fn deref(&self) -> &Actor {
        &self.actor
    }
}

impl Service {
    /// The operator of the server's own data directory, acting as `login` (`kyso --as`).
    /// Whoever can open the database file could change it anyway, so the CLI is trusted;
    /// this is the one door that takes a bare login, and only the binary's CLI and the tests
    /// call it (`crates/kyso/tests/architecture.rs`).
    pub fn local_operator(&self, login: &str) -> ServiceResult<Principal> {
        let actor = self.db.read(|tx| load_actor(tx, login))?;
        Ok(Principal::new(actor, AuthMethod::LocalOperator))
    }
}
