//! The dispatcher: each command goes to the module that runs it.

use crate::cli::*;
use crate::error::CliResult;
use crate::registry_cmd as r;
use crate::{clock, demo};
use std::process::ExitCode;

pub fn run(cli: &Cli) -> CliResult<ExitCode> {
    let now = clock::now()?;
    match &cli.command {
        Command::Init(a) => r::init(cli, a, now),
        Command::Demo => demo::run(cli, now),
        Command::Profile(c) => r::profile(cli, c, now),
        Command::Agency(c) => r::agency(cli, c, now),
        Command::Person(c) => r::person(cli, c, now),
        Command::User(c) => r::user(cli, c, now),
        Command::Proposal(c) => r::proposal(cli, c, now),
        Command::Subscriber(c) => r::subscriber(cli, c, now),
        Command::Device(c) => r::device(cli, c, now),
        Command::Cert(c) => r::cert(cli, c, now),
        Command::Request(c) => r::request(cli, c, now),
        Command::Report(a) => r::report(cli, a),
        Command::Audit(c) => r::audit(cli, c, now),
        Command::Token(c) => crate::ca_cmd::token(cli, c),
        Command::Ca(c) => crate::ca_cmd::ca(cli, c, now),
        Command::Ts(c) => crate::ca_cmd::ts(cli, c, now),
        Command::Trust(c) => crate::ca_cmd::trust(cli, c, now),
        Command::Backup { out } => crate::backup::backup(cli, out, now),
        Command::Restore { file } => crate::backup::restore(cli, file),
        Command::Serve(a) => crate::ca_cmd::serve(cli, a),
        Command::Sign(a) => crate::sign_cmd::sign(cli, a, now),
        Command::Doc(c) => crate::doc_cmd::doc(cli, c, now),
        Command::Verify(a) => crate::verify_cmd::verify(cli, a, now),
        Command::Agent(c) => crate::doc_cmd::agent(cli, c, now),
    }
}
