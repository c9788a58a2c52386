//! kyso: the binary. Parses the command line, builds the service (the composition root)
//! and maps errors to exit codes: 0 success, 1 refused (bad input, rule, permission),
//! 2 storage or environment failure, 3 audit chain broken.

mod backup;
mod ca_cmd;
mod cli;
mod clock;
mod commands;
mod config;
mod demo;
mod demo_docs;
mod deployment;
mod doc_cmd;
mod error;
mod http;
mod output;
mod registry_cmd;
mod sign_cmd;
mod tokens;
mod verify_cmd;

use std::process::ExitCode;

fn main() -> ExitCode {
    // Everything kyso writes (the database, tokens, documents, configuration) is the
    // operator's alone, whatever the caller's umask: directories 0700, files 0600.
    rustix::process::umask(rustix::fs::Mode::from_raw_mode(0o077));
    // `println!` panics when the reader of a pipe has gone (`kyso person list | head -1`).
    // That is the reader's choice, not a failure: end quietly, as other command-line tools do.
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let payload = info.payload();
        let message = payload.downcast_ref::<String>().map(String::as_str).or_else(|| payload.downcast_ref::<&str>().copied());
        if message.is_some_and(|m| m.contains("Broken pipe")) {
            std::process::exit(0);
        }
        default_hook(info);
    }));
    // The command line with clap's own headings and built-in flags in Vietnamese.
    let matches = cli::command_vi().get_matches();
    let cli = <cli::Cli as clap::FromArgMatches>::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    match commands::run(&cli) {
        Ok(code) => code,
        Err(e) => {
            if cli.json {
                output::json(&serde_json::json!({"error": {"code": e.code, "message": e.message, "rows": e.rows}}));
            } else {
                eprintln!("Lỗi: {}", e.message);
                for r in &e.rows {
                    eprintln!("  dòng {}: {}", r.line, r.message);
                }
                if let Some(h) = &e.hint {
                    eprintln!("Gợi ý: {h}");
                }
            }
            ExitCode::from(e.exit)
        }
    }
}
