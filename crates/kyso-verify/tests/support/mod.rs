//! Running one test of this binary again in a child process, under a watchdog and an
//! address-space cap, so that a panic, a hang or a memory blow-up is a named failure.
#![allow(dead_code)]

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Runs the test `name` of the current test binary with `envs`, limited to `cap_kb` of address
/// space and `watchdog` of time; its standard output when it exits successfully.
pub fn run_child(name: &str, envs: &[(&str, &str)], watchdog: Duration, cap_kb: u64) -> Result<String, String> {
    let exe = std::env::current_exe().unwrap();
    let mut cmd = Command::new("sh");
    cmd.args(["-c", &format!("ulimit -v {cap_kb}; exec \"$0\" --exact {name} --nocapture --test-threads 1")])
        .arg(&exe)
        .env("RUST_BACKTRACE", "0")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().unwrap();
    // Read the pipes while waiting, or a large report fills them and the child blocks.
    let mut out_pipe = child.stdout.take().unwrap();
    let mut err_pipe = child.stderr.take().unwrap();
    let out_reader = std::thread::spawn(move || {
        let mut b = Vec::new();
        std::io::Read::read_to_end(&mut out_pipe, &mut b).ok();
        b
    });
    let err_reader = std::thread::spawn(move || {
        let mut b = Vec::new();
        std::io::Read::read_to_end(&mut err_pipe, &mut b).ok();
        b
    });
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > watchdog {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!("quá {} s (treo)", watchdog.as_secs()));
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let (stdout, stderr) = (out_reader.join().unwrap(), err_reader.join().unwrap());
    if !status.success() {
        let why: Vec<String> = String::from_utf8_lossy(&stderr).lines().take(8).map(str::to_string).collect();
        return Err(format!("exit {:?}: {}", status.code(), why.join(" | ")));
    }
    Ok(String::from_utf8_lossy(&stdout).into_owned())
}
