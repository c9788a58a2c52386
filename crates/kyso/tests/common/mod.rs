//! What several test binaries of the CLI share: the local agent on a terminal of its own.
// Each test binary uses its own part of this module.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

pub struct Agent {
    child: Child,
    pub url: String,
    pub code: String,
    pub lines: std::sync::mpsc::Receiver<String>,
    /// What the holder types at the agent's terminal (kept open: the terminal stays).
    _keyboard: Option<std::process::ChildStdin>,
}
impl Drop for Agent {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `kyso agent serve` on a terminal of its own (a pty, through util-linux `script`), with
/// `typed` the PINs its holder types, one per prompt. With `typed` None it has no terminal and
/// KYSO_PIN in its environment, which it must ignore.
pub fn start_agent(data: &Path, label: &str, typed: Option<&[&str]>, extra: &[&str]) -> Agent {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut args: Vec<String> =
        ["agent", "serve", "--label", label, "--listen", &format!("127.0.0.1:{port}"), "--data"].iter().map(|a| a.to_string()).collect();
    args.push(data.to_str().unwrap().to_string());
    args.extend(extra.iter().map(|a| a.to_string()));
    let mut child = match typed {
        Some(_) => {
            let line =
                std::iter::once(env!("CARGO_BIN_EXE_kyso").to_string()).chain(args).map(|a| format!("'{a}'")).collect::<Vec<_>>().join(" ");
            Command::new("script")
                .args(["-qfec", &line, "/dev/null"])
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .spawn()
                .unwrap()
        }
        None => Command::new(env!("CARGO_BIN_EXE_kyso"))
            .args(&args)
            .env("KYSO_PIN", "123456")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    };
    let mut keyboard = child.stdin.take();
    if let (Some(k), Some(pins)) = (keyboard.as_mut(), typed) {
        use std::io::Write;
        for p in pins {
            writeln!(k, "{p}").unwrap();
        }
        k.flush().unwrap();
    }
    let out = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for l in BufReader::new(out).lines().map_while(Result::ok) {
            let _ = tx.send(l);
        }
    });
    let mut code = String::new();
    while let Ok(l) = rx.recv_timeout(std::time::Duration::from_secs(20)) {
        if let Some(c) = l.split("Mã ghép nối").nth(1) {
            code = c.rsplit(' ').next().unwrap().trim().to_string();
            break;
        }
    }
    assert_eq!(code.len(), 6, "the agent shows a pairing code");
    Agent { child, url: format!("http://127.0.0.1:{port}"), code, lines: rx, _keyboard: keyboard }
}
