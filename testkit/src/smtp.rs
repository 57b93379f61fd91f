//! A real SMTP server for the tests of e-mailed codes: Debian's `python3-aiosmtpd` on a loopback
//! port, storing every message it accepts in a maildir that the test reads. A missing package
//! fails the test with its name; no test skips itself.

use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;

/// The system Python that Debian's `python3-aiosmtpd` installs for (not a user's pyenv).
pub const PYTHON: &str = "/usr/bin/python3";

/// An SMTP server running until dropped.
pub struct SmtpServer {
    child: Child,
    /// The port it listens on, on 127.0.0.1.
    pub port: u16,
    maildir: PathBuf,
    _dir: tempfile::TempDir,
}

impl SmtpServer {
    /// Starts the server and waits until it accepts connections.
    pub fn start() -> SmtpServer {
        let installed = Command::new(PYTHON)
            .args(["-c", "import aiosmtpd"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|status| status.success());
        assert!(
            installed,
            "{PYTHON} cannot import aiosmtpd: install the Debian package `python3-aiosmtpd` \
             (apt-get install python3-aiosmtpd, or bash scripts/setup.sh)"
        );
        let dir = tempfile::tempdir().expect("a directory for the maildir");
        let maildir = dir.path().join("maildir");
        let port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .and_then(|listener| listener.local_addr())
            .expect("a free port")
            .port();
        let child = Command::new(PYTHON)
            .args(["-m", "aiosmtpd", "-n", "-l"])
            .arg(format!("127.0.0.1:{port}"))
            .args(["-c", "aiosmtpd.handlers.Mailbox"])
            .arg(&maildir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting aiosmtpd");
        let server = SmtpServer {
            child,
            port,
            maildir,
            _dir: dir,
        };
        let started = Instant::now();
        while TcpStream::connect((Ipv4Addr::LOCALHOST, port)).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "aiosmtpd did not start listening on port {port} within 20 s"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        server
    }

    /// Every message received so far, as (headers, decoded text body), oldest first.
    pub fn messages(&self) -> Vec<(String, String)> {
        let mut files: Vec<(std::time::SystemTime, PathBuf)> = ["new", "cur"]
            .iter()
            .filter_map(|sub| std::fs::read_dir(self.maildir.join(sub)).ok())
            .flatten()
            .filter_map(Result::ok)
            .filter_map(|entry| Some((entry.metadata().ok()?.modified().ok()?, entry.path())))
            .collect();
        files.sort();
        files.iter().map(|(_, path)| read_message(path)).collect()
    }

    /// Waits (up to 20 s) for a message to `to` beyond the first `after` such messages, and
    /// returns its decoded text body.
    pub fn wait_for_message_to(&self, to: &str, after: usize) -> String {
        let started = Instant::now();
        loop {
            let to_them: Vec<String> = self
                .messages()
                .into_iter()
                .filter(|(headers, _)| headers.lines().any(|line| is_recipient(line, to)))
                .map(|(_, body)| body)
                .collect();
            if let Some(body) = to_them.get(after) {
                return body.clone();
            }
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "no message {after} to {to} arrived within 20 s; received: {:?}",
                self.messages()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// How many messages went to `to`.
    pub fn count_to(&self, to: &str) -> usize {
        self.messages()
            .iter()
            .filter(|(headers, _)| headers.lines().any(|line| is_recipient(line, to)))
            .count()
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn is_recipient(line: &str, to: &str) -> bool {
    (line.starts_with("X-RcptTo:") || line.starts_with("To:")) && line.contains(to)
}

/// The first run of `digits` decimal digits standing alone in `text` (an e-mailed code).
pub fn code_in(text: &str, digits: usize) -> Option<String> {
    text.split(|c: char| !c.is_ascii_digit())
        .find(|run| run.len() == digits)
        .map(str::to_owned)
}

/// A message's headers and its body, decoded from base64 or quoted-printable. A multipart
/// body becomes its parts one after the other, each attachment preceded by a line
/// `[attachment NAME]`.
fn read_message(path: &Path) -> (String, String) {
    let raw = std::fs::read_to_string(path).unwrap_or_default();
    let raw = raw.replace("\r\n", "\n");
    let (headers, body) = raw.split_once("\n\n").unwrap_or((&raw, ""));
    (headers.to_owned(), decode_part(headers, body))
}

/// The value of header `name` (lower case, without the colon) in `headers`, folded lines
/// joined.
fn header_value(headers: &str, name: &str) -> Option<String> {
    let unfolded = headers.replace("\n ", " ").replace("\n\t", " ");
    unfolded.lines().find_map(|line| {
        let (key, value) = line.split_once(':')?;
        key.trim()
            .eq_ignore_ascii_case(name)
            .then(|| value.trim().to_owned())
    })
}

fn decode_part(headers: &str, body: &str) -> String {
    let content_type = header_value(headers, "content-type").unwrap_or_default();
    if content_type.to_ascii_lowercase().starts_with("multipart/")
        && let Some(boundary) = content_type
            .split(';')
            .find_map(|p| p.trim().strip_prefix("boundary="))
    {
        let boundary = format!("--{}", boundary.trim_matches('"'));
        return body
            .split(boundary.as_str())
            .skip(1)
            .filter(|part| !part.starts_with("--"))
            .map(|part| {
                let part = part.trim_start_matches('\n');
                let (headers, body) = part.split_once("\n\n").unwrap_or((part, ""));
                let decoded = decode_part(headers, body);
                match header_value(headers, "content-disposition").and_then(|d| {
                    d.split_once("filename=")
                        .map(|(_, n)| n.trim_matches('"').to_owned())
                }) {
                    Some(name) => format!("[attachment {name}]\n{decoded}"),
                    None => decoded,
                }
            })
            .collect::<Vec<_>>()
            .join("\n");
    }
    let encoding = header_value(headers, "content-transfer-encoding")
        .unwrap_or_default()
        .to_ascii_lowercase();
    match encoding.as_str() {
        "base64" => {
            let compact: String = body.split_whitespace().collect();
            base64::engine::general_purpose::STANDARD
                .decode(compact)
                .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
                .unwrap_or_default()
        }
        "quoted-printable" => quoted_printable(body),
        _ => body.to_owned(),
    }
}

fn quoted_printable(body: &str) -> String {
    let joined = body.replace("=\n", "");
    let bytes = joined.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'='
            && i + 2 < bytes.len() + 1
            && let Some(hex) = joined.get(i + 1..i + 3)
            && let Ok(byte) = u8::from_str_radix(hex, 16)
        {
            out.push(byte);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}
