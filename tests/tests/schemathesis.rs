//! The outer intake service against its own OpenAPI description, probed by schemathesis
//! (PyPI package `schemathesis`): the real `sluice-outer serve` on a loopback port with a fresh
//! SQLite database, once with a token of each account kind, a bounded number of generated
//! requests per operation. No response may be a server error or break the schema it documents.
//!
//! Left out, on purpose: `positive_data_acceptance`. The document describes a submission body by
//! its `kind` only (the full filing shape is validated by the service and reported field by
//! field), so schema-valid bodies that lack, say, the filing are rightly refused with 400.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use testkit::binaries::workspace_binary;

const INSTALL: &str = "install it with `python3 -m pip install schemathesis==4.32.5`";
/// Generated requests per operation and token.
const EXAMPLES: &str = "40";

struct Service(Child);

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn outer(database: &Path, args: &[&str]) -> String {
    let output = Command::new(workspace_binary("sluice-outer").unwrap())
        .args(args)
        .arg("--database")
        .arg(database)
        .output()
        .unwrap();
    testkit::tools::assert_success(&output, &format!("sluice-outer {args:?}"));
    String::from_utf8(output.stdout).unwrap()
}

#[test]
fn schemathesis_finds_no_server_error_and_no_response_outside_the_schema() {
    match Command::new("schemathesis")
        .arg("--version")
        .stdout(Stdio::null())
        .status()
    {
        Ok(status) if status.success() => {}
        other => panic!("cannot run schemathesis ({other:?}); {INSTALL}"),
    }
    let dir = tempfile::tempdir().unwrap();
    let database = dir.path().join("outer.sqlite");
    let mut tokens = Vec::new();
    for (name, kind) in [
        ("owner_probe", "website-owner"),
        ("provider_probe", "access-provider"),
        ("operator_probe", "operator"),
    ] {
        outer(&database, &["accounts", "add", "--kind", kind, name]);
        let token = outer(&database, &["tokens", "issue", name])
            .trim()
            .to_owned();
        assert!(token.starts_with("sluice_"), "{token}");
        tokens.push((kind, token));
    }
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let address: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let _service = Service(
        Command::new(workspace_binary("sluice-outer").unwrap())
            .arg("serve")
            .arg("--database")
            .arg(&database)
            .arg("--listen")
            .arg(address.to_string())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let started = Instant::now();
    while TcpStream::connect(address).is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "sluice-outer serve did not listen on {address}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let mut failures = Vec::new();
    for (kind, token) in &tokens {
        let output = Command::new("schemathesis")
            .arg("run")
            .arg(format!("http://{address}/api/openapi.json"))
            .arg("--header")
            .arg(format!("Authorization: Bearer {token}"))
            .args(["--max-examples", EXAMPLES, "--seed", "20261122"])
            .args([
                "--checks",
                "all",
                "--exclude-checks",
                "positive_data_acceptance",
            ])
            .args([
                "--workers",
                "1",
                "--no-color",
                "--generation-database",
                "none",
            ])
            .current_dir(dir.path())
            .output()
            .unwrap_or_else(|e| panic!("cannot run schemathesis ({e}); {INSTALL}"));
        let stdout = String::from_utf8_lossy(&output.stdout);
        let summary = stdout
            .lines()
            .rev()
            .find(|l| l.contains("generated"))
            .unwrap_or("no summary")
            .trim()
            .to_owned();
        println!("schemathesis as {kind}: {summary}");
        if !output.status.success() {
            failures.push(format!(
                "as {kind}:\n{stdout}\n{}",
                String::from_utf8_lossy(&output.stderr)
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
