//! An example HTTP service (`examples/aws/`) run as its own process for a test: started with the
//! tokens it accepts, reached at the URL it prints, stopped when dropped, its log kept.

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};

/// A running example service.
pub struct Service {
    child: Child,
    /// `http://ADDRESS`, as the service printed it.
    pub url: String,
}

impl Service {
    /// Starts the example `name` with `args` and the environment `env`, logging at `info`, and
    /// waits for the line that says where it listens.
    pub fn start(name: &str, args: &[&str], env: &[(&str, &str)]) -> Service {
        let mut child = Command::new(crate::example(name))
            .args(args)
            .envs(env.iter().copied())
            .env("RUST_LOG", "info")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the example starts");
        let mut line = String::new();
        BufReader::new(child.stdout.as_mut().unwrap())
            .read_line(&mut line)
            .unwrap();
        let url = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("the service did not start: {line:?}"))
            .to_owned();
        Service { child, url }
    }

    /// Stops the service and returns what it logged.
    pub fn log(mut self) -> String {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
        let mut log = String::new();
        self.child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut log)
            .unwrap();
        log
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.child.kill();
    }
}
