//! The whole appliance on one machine, for the README's first command and for the end-to-end
//! tests: keys and a keyset, the outer intake service on loopback with its SQLite, a PostgreSQL
//! (throwaway, or a configured one), sample filings over HTTP, and every transfer step between.
//!
//! This module is a harness, not a library API for production: its functions return
//! `anyhow::Result` and its sample data is synthetic (valid check digits, invented names).

use crate::outcome::FileResult;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, anyhow, bail};
use bundle_format::encryption::Identities;
use keys::keyset::{Direction, RecipientEntry};
use keys::{ChannelId, KeyEntry, Keyset, KeysetDocument, KeysetFile, Role, SecretKey};
use serde_json::Value;

use crate::inner_side::{self, ImportSettings, ReturnSettings};
use crate::keysets::KeysetStore;
use crate::outer_side::{self, ApplySettings, ExportSettings, OuterHost};
use crate::spool::Spool;

mod samples;
pub use samples::{
    batch_csv, credit_code, domain, new_filing, person, subject, subject_name, website,
    website_serving,
};

/// Key files of a demo appliance.
#[derive(Debug, Clone)]
pub struct DemoKeys {
    /// Directory holding them.
    pub dir: PathBuf,
    /// The root key (signs the keyset).
    pub root: PathBuf,
    /// One `outer-bundle` secret key per channel.
    pub outer: Vec<(ChannelId, PathBuf)>,
    /// The `inner-return` secret key.
    pub inner_return: PathBuf,
    /// The `inner-cert` secret key.
    pub inner_cert: PathBuf,
    /// The `inner-cert` public key (what site owners verify certificates with).
    pub inner_cert_pub: PathBuf,
    /// The signed keyset (version 1).
    pub keyset: PathBuf,
    /// The inner host's age identity (decrypts submissions bundles when the keyset names its
    /// recipient inward).
    pub inner_identity: PathBuf,
    /// The outer hosts' age identity (decrypts return bundles when the keyset names its
    /// recipient outward).
    pub outer_identity: PathBuf,
}

impl DemoKeys {
    /// The outer signing key file of `channel`.
    pub fn outer_key(&self, channel: ChannelId) -> anyhow::Result<&Path> {
        self.outer
            .iter()
            .find(|(c, _)| *c == channel)
            .map(|(_, p)| p.as_path())
            .ok_or_else(|| anyhow!("no outer key for channel {channel}"))
    }

    /// Loads the keyset, checked at `at`.
    pub fn load_keyset(&self, at: i64) -> anyhow::Result<Keyset> {
        Ok(crate::config::load_keyset(
            std::slice::from_ref(&self.keyset),
            at,
        )?)
    }

    /// The keysets a host trusts whose keyset directory is `dir`: version 1 from these keys,
    /// then whatever was installed in `dir`, checked at `at`.
    pub fn keyset_store(&self, dir: &Path, at: i64) -> anyhow::Result<KeysetStore> {
        Ok(KeysetStore::load(
            std::slice::from_ref(&self.keyset),
            Some(dir),
            at,
        )?)
    }
}

/// Generates a root key, an `outer-bundle` key per channel, the `inner-return` key for
/// `return_channel` and the `inner-cert` key, and a version-1 keyset signed by the root key,
/// all valid from an hour before `now` for two years; and an age identity for each side, which
/// this keyset does not name (bundles travel unencrypted; see [`generate_keys_encrypted`]).
pub fn generate_keys(
    dir: &Path,
    channels: &[u32],
    return_channel: u32,
    now: i64,
) -> anyhow::Result<DemoKeys> {
    make_keys(dir, channels, return_channel, now, false)
}

/// [`generate_keys`] with a keyset that names the inner's age identity as the inward recipient
/// of every channel and the outer's as the outward recipient of the return channel: every
/// submissions and return bundle is encrypted on the medium.
pub fn generate_keys_encrypted(
    dir: &Path,
    channels: &[u32],
    return_channel: u32,
    now: i64,
) -> anyhow::Result<DemoKeys> {
    make_keys(dir, channels, return_channel, now, true)
}

fn make_keys(
    dir: &Path,
    channels: &[u32],
    return_channel: u32,
    now: i64,
    encrypted: bool,
) -> anyhow::Result<DemoKeys> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let not_before = now - 3600;
    let not_after = now + 2 * 366 * 24 * 3600;
    let mut entries = Vec::new();
    let mut make = |name: &str, role: Role, channels: Vec<ChannelId>| -> anyhow::Result<PathBuf> {
        let key = SecretKey::generate();
        let secret = dir.join(format!("{name}.sec"));
        key.write_file(&secret, &format!("sluice demo {name} secret key"), None)?;
        key.public_key().write_file(
            &dir.join(format!("{name}.pub")),
            &format!("sluice demo {name} public key"),
        )?;
        entries.push(KeyEntry {
            public_key: key.public_key(),
            role,
            channels,
            not_before,
            not_after,
            revoked_at: None,
        });
        Ok(secret)
    };
    let root = make("root", Role::Root, Vec::new())?;
    let mut outer = Vec::new();
    for &channel in channels {
        let path = make(
            &format!("outer-bundle-{channel}"),
            Role::OuterBundle,
            vec![ChannelId(channel)],
        )?;
        outer.push((ChannelId(channel), path));
    }
    let inner_return = make(
        "inner-return",
        Role::InnerReturn,
        vec![ChannelId(return_channel)],
    )?;
    let inner_cert = make("inner-cert", Role::InnerCert, Vec::new())?;
    let created = keys::time::rfc3339(now);
    let inner_identity = dir.join("inner.age");
    let inner_recipient = keys::age_identity::write_new_identity(&inner_identity, &created)?;
    let outer_identity = dir.join("outer.age");
    let outer_recipient = keys::age_identity::write_new_identity(&outer_identity, &created)?;
    let mut document = KeysetDocument::new(1, entries)?;
    if encrypted {
        let all: Vec<ChannelId> = channels.iter().copied().map(ChannelId).collect();
        document.add_recipient(RecipientEntry::new(
            Direction::Inward,
            all,
            &inner_recipient.to_string(),
        )?)?;
        document.add_recipient(RecipientEntry::new(
            Direction::Outward,
            vec![ChannelId(return_channel)],
            &outer_recipient.to_string(),
        )?)?;
    }
    let mut file = KeysetFile::unsigned(document);
    file.sign(&SecretKey::read_file(&root, None)?)?;
    let keyset = dir.join("keyset-1.txt");
    file.write_file(&keyset)?;
    Ok(DemoKeys {
        dir: dir.to_owned(),
        root,
        outer,
        inner_return,
        inner_cert_pub: dir.join("inner-cert.pub"),
        inner_cert,
        keyset,
        inner_identity,
        outer_identity,
    })
}

/// One HTTP/1.1 request over a fresh loopback connection; returns the status and body bytes.
pub fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    token: Option<&str>,
    content_type: &str,
    body: &[u8],
) -> anyhow::Result<(u16, Vec<u8>)> {
    let mut stream = TcpStream::connect(addr).with_context(|| format!("connecting to {addr}"))?;
    stream.set_read_timeout(Some(Duration::from_secs(60)))?;
    let request = request_head(addr, method, path, token, content_type, body.len());
    stream.write_all(request.as_bytes())?;
    stream.write_all(body)?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response)?;
    let split = response
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| anyhow!("no HTTP header in the answer to {method} {path}"))?;
    let head = String::from_utf8_lossy(&response[..split]).into_owned();
    let status: u16 = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| anyhow!("not an HTTP status line: {head:?}"))?;
    let mut body = response[split + 4..].to_vec();
    if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        body = dechunk(&body)?;
    }
    Ok((status, body))
}

/// The head of an HTTP/1.1 request that closes the connection after its answer, with a bearer
/// `token` if given and, for a body of `body_len` bytes, its type and length.
pub fn request_head(
    addr: SocketAddr,
    method: &str,
    path: &str,
    token: Option<&str>,
    content_type: &str,
    body_len: usize,
) -> String {
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    if let Some(token) = token {
        head.push_str(&format!("Authorization: Bearer {token}\r\n"));
    }
    if body_len > 0 {
        head.push_str(&format!(
            "Content-Type: {content_type}\r\nContent-Length: {body_len}\r\n"
        ));
    }
    head.push_str("\r\n");
    head
}

fn dechunk(mut data: &[u8]) -> anyhow::Result<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let line_end = data
            .windows(2)
            .position(|w| w == b"\r\n")
            .ok_or_else(|| anyhow!("chunk size line without CRLF"))?;
        let size_text = String::from_utf8_lossy(&data[..line_end]);
        let size = usize::from_str_radix(size_text.split(';').next().unwrap_or("").trim(), 16)
            .context("chunk size")?;
        data = &data[line_end + 2..];
        if size == 0 {
            return Ok(out);
        }
        let chunk = data
            .get(..size)
            .ok_or_else(|| anyhow!("chunk shorter than its size"))?;
        out.extend_from_slice(chunk);
        data = data.get(size + 2..).unwrap_or_default();
    }
}

/// A JSON request; returns the status and the parsed body (`null` for an empty one).
pub fn http_json(
    addr: SocketAddr,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<&Value>,
) -> anyhow::Result<(u16, Value)> {
    let bytes = body.map(|b| b.to_string().into_bytes()).unwrap_or_default();
    let (status, body) = http(addr, method, path, token, "application/json", &bytes)?;
    let value = if body.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&body)
            .with_context(|| format!("{method} {path}: answer is not JSON"))?
    };
    Ok((status, value))
}

/// An outer intake service running on loopback on its own thread, with one website owner and
/// one access provider account.
pub struct OuterNode {
    /// The SQLite database.
    pub database: PathBuf,
    /// Where it listens.
    pub addr: SocketAddr,
    /// Bearer token of the website owner `owner`.
    pub owner_token: String,
    /// Bearer token of the access provider `provider_1`.
    pub provider_token: String,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<anyhow::Result<()>>>,
}

impl OuterNode {
    /// Creates the store at `database` with the two accounts and starts the service.
    pub fn start(database: &Path) -> anyhow::Result<OuterNode> {
        use outer::store::{AccountKind, Store};
        let store = Store::open(database)?;
        if store.accounts()?.iter().all(|a| a.name != "owner") {
            store.add_account("owner", AccountKind::WebsiteOwner)?;
            store.add_account("provider_1", AccountKind::AccessProvider)?;
        }
        let owner_token = store.issue_token("owner", "demo")?.secret;
        let provider_token = store.issue_token("provider_1", "demo")?.secret;
        let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let limits = outer::config::Limits {
            rate_per_minute: 1_000_000,
            rate_burst: 1_000_000,
            ..outer::config::Limits::default()
        };
        let thread = std::thread::spawn(move || -> anyhow::Result<()> {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()?;
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener)?;
                let state = outer::http::AppState::new(store, limits);
                outer::http::serve(listener, state, async move {
                    let _ = rx.await;
                })
                .await?;
                Ok(())
            })
        });
        Ok(OuterNode {
            database: database.to_owned(),
            addr,
            owner_token,
            provider_token,
            shutdown: Some(tx),
            thread: Some(thread),
        })
    }

    /// Submits a new filing as the website owner; returns the receipt id. Its access names
    /// the demo's provider, so it waits for that provider's check.
    pub fn submit(&self, request: &Value) -> anyhow::Result<String> {
        self.submit_with(&self.owner_token, request)
    }

    /// Submits a new filing as the access provider `provider_1`, for its customer `customer`;
    /// returns the receipt id. A filing its provider sent waits for no provider check, so its
    /// payload goes with its acknowledgement.
    pub fn submit_for_customer(&self, customer: &str, request: &Value) -> anyhow::Result<String> {
        let mut request = request.clone();
        request["on_behalf_of"] = Value::String(customer.to_owned());
        self.submit_with(&self.provider_token, &request)
    }

    fn submit_with(&self, token: &str, request: &Value) -> anyhow::Result<String> {
        let (status, body) = http_json(
            self.addr,
            "POST",
            "/api/v1/submissions",
            Some(token),
            Some(request),
        )?;
        if status != 201 {
            bail!("submission refused with {status}: {body}");
        }
        body["receipt"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| anyhow!("no receipt in {body}"))
    }

    /// Edits a receipt as the website owner (a new version); returns the version number.
    pub fn edit(&self, receipt: &str, request: &Value) -> anyhow::Result<u64> {
        let (status, body) = http_json(
            self.addr,
            "PUT",
            &format!("/api/v1/submissions/{receipt}"),
            Some(&self.owner_token),
            Some(request),
        )?;
        if !(200..300).contains(&status) {
            bail!("edit of {receipt} refused with {status}: {body}");
        }
        body["version"]
            .as_u64()
            .ok_or_else(|| anyhow!("no version in {body}"))
    }

    /// Uploads a CSV batch as the access provider; returns the answer.
    pub fn batch(&self, csv: &str) -> anyhow::Result<Value> {
        let (status, body) = http(
            self.addr,
            "POST",
            "/api/v1/batches",
            Some(&self.provider_token),
            "text/csv",
            csv.as_bytes(),
        )?;
        let value: Value = serde_json::from_slice(&body).context("batch answer is not JSON")?;
        if !(200..300).contains(&status) {
            bail!("batch refused with {status}: {value}");
        }
        Ok(value)
    }

    /// The public status of a receipt.
    pub fn status(&self, receipt: &str) -> anyhow::Result<Value> {
        let (status, body) = http_json(
            self.addr,
            "GET",
            &format!("/api/v1/submissions/{receipt}/status"),
            None,
            None,
        )?;
        if status != 200 {
            bail!("status of {receipt}: {status}: {body}");
        }
        Ok(body)
    }

    /// The answer to the account that filed `filing_number` asking for its certificate by
    /// number alone (only that account may): with the owner's token, or the provider's when
    /// the owner's finds none.
    pub fn certificate_answer(&self, filing_number: &str) -> anyhow::Result<(u16, Vec<u8>)> {
        let path = format!("/api/v1/certificates/{}", percent_encode(filing_number));
        let answer = http(self.addr, "GET", &path, Some(&self.owner_token), "", &[])?;
        if answer.0 != 404 {
            return Ok(answer);
        }
        http(self.addr, "GET", &path, Some(&self.provider_token), "", &[])
    }

    /// Downloads the certificate of a filing number as the account that filed it.
    pub fn certificate(&self, filing_number: &str) -> anyhow::Result<Vec<u8>> {
        let (status, body) = self.certificate_answer(filing_number)?;
        if status != 200 {
            bail!(
                "certificate {filing_number}: {status}: {}",
                String::from_utf8_lossy(&body)
            );
        }
        Ok(body)
    }

    /// Downloads a certificate as anyone may: by filing number and filing password, no
    /// account. The status and the body (the certificate, or the error).
    pub fn certificate_by_password(
        &self,
        filing_number: &str,
        filing_password: &str,
    ) -> anyhow::Result<(u16, Vec<u8>)> {
        let body = serde_json::to_vec(&serde_json::json!({
            "filing_number": filing_number,
            "filing_password": filing_password,
        }))?;
        http(
            self.addr,
            "POST",
            "/api/v1/certificates",
            None,
            "application/json",
            &body,
        )
    }

    /// Stops the service, letting it finish in-flight requests.
    pub fn stop(mut self) -> anyhow::Result<()> {
        self.halt()
    }

    fn halt(&mut self) -> anyhow::Result<()> {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(thread) = self.thread.take() {
            thread
                .join()
                .map_err(|_| anyhow!("the outer service thread panicked"))??;
        }
        Ok(())
    }
}

impl Drop for OuterNode {
    fn drop(&mut self) {
        let _ = self.halt();
    }
}

/// Percent-encodes everything outside unreserved ASCII (filing numbers hold Chinese text).
pub fn percent_encode(text: &str) -> String {
    let mut out = String::new();
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// Now, Unix seconds.
pub fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// The channel numbers the demo uses: outer channel 1, return channel 100.
pub const DEMO_CHANNEL: u32 = 1;
/// The demo's return channel.
pub const DEMO_RETURN_CHANNEL: u32 = 100;

/// One outer host of an appliance: its service, store and spool.
pub struct OuterSide {
    /// The intake service.
    pub node: OuterNode,
    /// Transfer's handle on its store.
    pub host: OuterHost,
    /// Its spool.
    pub spool: Spool,
    /// Its channel.
    pub channel: ChannelId,
    /// Its signing key.
    pub key: SecretKey,
    /// The keysets it trusts (installed versions in `keysets/` beside the spool).
    pub keysets: KeysetStore,
    /// Its age identities (for encrypted return bundles).
    pub identities: Identities,
}

impl OuterSide {
    /// Starts an outer host in `dir` on `channel`.
    pub fn start(dir: &Path, channel: ChannelId, keys: &DemoKeys) -> anyhow::Result<OuterSide> {
        std::fs::create_dir_all(dir)?;
        let database = dir.join("outer.sqlite");
        let node = OuterNode::start(&database)?;
        let host = OuterHost::open(&database)?;
        let spool = Spool::under(&dir.join("spool"));
        spool.create_all()?;
        let key = SecretKey::read_file(keys.outer_key(channel)?, None)?;
        let keysets = keys.keyset_store(&dir.join("keysets"), now())?;
        let identities = Identities(keys::age_identity::read_identity_file(
            &keys.outer_identity,
        )?);
        Ok(OuterSide {
            node,
            host,
            spool,
            channel,
            key,
            keysets,
            identities,
        })
    }

    /// Runs `export` now.
    pub fn export(&self) -> anyhow::Result<outer_side::ExportReport> {
        self.export_at(now())
    }

    /// Runs `export` as if the clock said `at`.
    pub fn export_at(&self, at: i64) -> anyhow::Result<outer_side::ExportReport> {
        let settings = self.export_settings(at);
        Ok(outer_side::export(
            &self.host,
            &self.spool,
            &self.key,
            &settings,
        )?)
    }

    /// The configuration's defaults, encrypting to the inward recipients the current keyset
    /// names for this channel.
    fn export_settings(&self, at: i64) -> ExportSettings {
        ExportSettings {
            recipients: self
                .keysets
                .current()
                .document()
                .recipients_for(Direction::Inward, self.channel),
            ..ExportSettings::defaults(self.channel, at)
        }
    }

    /// Runs `apply` now, with the keysets this host trusts.
    pub fn apply(&mut self) -> anyhow::Result<outer_side::ApplyReport> {
        let settings = ApplySettings {
            channel: self.channel,
            return_channel: ChannelId(DEMO_RETURN_CHANNEL),
            now: now(),
            identities: self.identities.clone(),
        };
        Ok(outer_side::apply(
            &self.host,
            &self.spool,
            &mut self.keysets,
            &settings,
        )?)
    }

    /// Runs `publish-keyset` now with the keyset file `file` (its bytes).
    pub fn publish_keyset(
        &mut self,
        file: &[u8],
    ) -> anyhow::Result<outer_side::PublishKeysetReport> {
        let settings = self.export_settings(now());
        Ok(outer_side::publish_keyset(
            &self.host,
            &self.spool,
            &self.key,
            &settings,
            &mut self.keysets,
            file,
        )?)
    }
}

/// The inner host of an appliance: its database connection and spool.
pub struct InnerSide {
    /// Connection to the inner database.
    pub client: postgres::Client,
    /// Its spool.
    pub spool: Spool,
    /// The return key.
    pub key: SecretKey,
    /// The certificate key.
    pub cert_key: SecretKey,
    /// Channels accepted.
    pub channels: Vec<ChannelId>,
    /// The keysets it trusts (installed versions in `keysets/` beside the spool).
    pub keysets: KeysetStore,
    /// Its age identities (for encrypted submissions bundles).
    pub identities: Identities,
    /// The demo's reviewer: a ministry account, which may decide every stage of every province.
    pub reviewer: inner::reviewers::Reviewer,
    /// The largest scan its import accepts (`max_scan_bytes`; the default unless a test lowers
    /// it).
    pub max_scan_bytes: usize,
}

/// The demo's reviewer account, a ministry account made as the operator would make the first
/// one (`sluice-inner reviewers bootstrap`).
pub const DEMO_REVIEWER: &str = "demo-reviewer";
/// Its password. A demo database is thrown away; a real one never has a password in the code.
const DEMO_REVIEWER_PASSWORD: &str = "demo-ministry-2026";

/// Logs in as [`DEMO_REVIEWER`], making the account first on a new database.
fn demo_reviewer(client: &mut postgres::Client) -> anyhow::Result<inner::reviewers::Reviewer> {
    use inner::reviewers::{AuthError, authenticate, bootstrap_ministry};
    match authenticate(client, DEMO_REVIEWER, DEMO_REVIEWER_PASSWORD, now()) {
        Err(AuthError::WrongCredentials(_)) => Ok(bootstrap_ministry(
            client,
            DEMO_REVIEWER,
            DEMO_REVIEWER_PASSWORD,
            now(),
        )?),
        other => Ok(other?),
    }
}

impl InnerSide {
    /// Connects to `url` and prepares the spool in `dir`.
    pub fn start(
        dir: &Path,
        url: &str,
        channels: Vec<ChannelId>,
        keys: &DemoKeys,
    ) -> anyhow::Result<InnerSide> {
        let mut client = inner_side::connect(url)?;
        let reviewer = demo_reviewer(&mut client)?;
        let spool = Spool::under(&dir.join("spool"));
        spool.create_all()?;
        Ok(InnerSide {
            client,
            spool,
            key: SecretKey::read_file(&keys.inner_return, None)?,
            cert_key: SecretKey::read_file(&keys.inner_cert, None)?,
            channels,
            keysets: keys.keyset_store(&dir.join("keysets"), now())?,
            identities: Identities(keys::age_identity::read_identity_file(
                &keys.inner_identity,
            )?),
            reviewer,
            max_scan_bytes: filing::scan::DEFAULT_MAX_SCAN_BYTES,
        })
    }

    /// Runs `import` now, with the keysets this host trusts.
    pub fn import(&mut self) -> anyhow::Result<inner_side::ImportReport> {
        let settings = ImportSettings {
            channels: self.channels.clone(),
            now: now(),
            identities: self.identities.clone(),
            max_scan_bytes: self.max_scan_bytes,
        };
        Ok(inner_side::import(
            &mut self.client,
            &self.spool,
            &mut self.keysets,
            &settings,
        )?)
    }

    /// Runs `publish-keyset` now with the keyset file `file` (its bytes).
    pub fn publish_keyset(
        &mut self,
        file: &[u8],
    ) -> anyhow::Result<inner_side::PublishKeysetReport> {
        let settings = self.return_settings();
        Ok(inner_side::publish_keyset(
            &mut self.client,
            &self.spool,
            &self.key,
            &settings,
            &mut self.keysets,
            file,
        )?)
    }

    /// Runs `return` now.
    pub fn write_return(&mut self) -> anyhow::Result<inner_side::ReturnReport> {
        let settings = self.return_settings();
        Ok(inner_side::write_return(
            &mut self.client,
            &self.spool,
            &self.key,
            &settings,
        )?)
    }

    /// Receipts waiting for a reviewer.
    pub fn awaiting_review(&mut self) -> anyhow::Result<Vec<String>> {
        let entries = inner::queue::list(
            &mut self.client,
            &inner::queue::ListFilter::default(),
            now(),
        )?;
        Ok(entries.into_iter().map(|e| e.receipt).collect())
    }

    /// Passes every review stage of `receipt` until it is approved (a cancellation: until the
    /// filing is cancelled); returns the filing number.
    pub fn approve(&mut self, receipt: &str) -> anyhow::Result<Option<String>> {
        for _ in 0..8 {
            let mut tx = self.client.transaction()?;
            let decision = inner::review::approve(
                &mut tx,
                receipt,
                &self.reviewer,
                None,
                &self.cert_key,
                now(),
            )?;
            tx.commit()?;
            // A cancellation's last stage ends in "cancelled" rather than "approved".
            if matches!(
                decision.to,
                bundle_format::records::ReviewState::Approved
                    | bundle_format::records::ReviewState::Cancelled
            ) {
                return Ok(decision.filing_number);
            }
        }
        bail!("{receipt} was not approved after eight review stages")
    }

    /// Returns `receipt` to its submitter with `reason`.
    pub fn send_back(&mut self, receipt: &str, reason: &str) -> anyhow::Result<()> {
        let mut tx = self.client.transaction()?;
        inner::review::return_submission(
            &mut tx,
            receipt,
            inner::workflow::ReturnTo::Submitter,
            &self.reviewer,
            reason,
            now(),
        )?;
        tx.commit()?;
        Ok(())
    }
}

impl InnerSide {
    /// The configuration's defaults, encrypting to the outward recipients the current keyset
    /// names for the return channel.
    fn return_settings(&self) -> ReturnSettings {
        ReturnSettings {
            channel: ChannelId(DEMO_RETURN_CHANNEL),
            for_channel: None,
            validity_seconds: crate::config::DEFAULT_VALIDITY_SECONDS,
            max_entries: crate::config::DEFAULT_RETURN_ENTRIES,
            now: now(),
            recipients: self
                .keysets
                .current()
                .document()
                .recipients_for(Direction::Outward, ChannelId(DEMO_RETURN_CHANNEL)),
        }
    }
}

/// Carries every bundle from one spool's outbox through a carrier directory into another's
/// inbox, as two site carriers would; returns how many arrived.
pub fn carry(from: &Spool, medium: &Path, to: &Spool) -> anyhow::Result<usize> {
    std::fs::create_dir_all(medium)?;
    crate::carry::carry(&from.outbox, medium, false)?;
    let report = crate::carry::carry(medium, &to.inbox, false)?;
    Ok(report.carried.len() + report.already_there.len())
}

/// One receipt's final status, for the summary.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FinalStatus {
    /// Receipt id.
    pub receipt: String,
    /// State.
    pub state: String,
    /// Version the state refers to.
    pub version: u64,
    /// Filing number, once approved.
    pub filing_number: Option<String>,
    /// Whether the certificate can be downloaded outside.
    pub certificate_ready: bool,
    /// Reviewer's reason for returns.
    pub reason: Option<String>,
}

/// What the demo did.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct DemoSummary {
    /// Submissions accepted over HTTP (singles and good batch rows).
    pub accepted: usize,
    /// Batch rows refused at intake.
    pub batch_rows_refused: usize,
    /// Bundles exported, over both rounds.
    pub bundles_exported: usize,
    /// Bundles imported.
    pub bundles_imported: usize,
    /// Return bundles applied.
    pub returns_applied: usize,
    /// Submission payloads deleted outside after acks.
    pub payloads_deleted: usize,
    /// Every receipt's final status.
    pub statuses: Vec<FinalStatus>,
    /// The certificate checked, and the signer's key number.
    pub certificate_checked: Option<(String, String)>,
    /// Wall-clock seconds.
    pub seconds: f64,
}

/// Runs the whole round trip in `dir`. PostgreSQL: `database_url`, or a throwaway cluster.
pub fn run(
    dir: &Path,
    database_url: Option<&str>,
    progress: &dyn Fn(&str),
) -> anyhow::Result<DemoSummary> {
    let started = std::time::Instant::now();
    let mut summary = DemoSummary::default();
    progress("generating keys and a keyset signed by the root key");
    let keys = generate_keys(
        &dir.join("keys"),
        &[DEMO_CHANNEL],
        DEMO_RETURN_CHANNEL,
        now(),
    )?;

    progress("starting PostgreSQL and the outer intake service on loopback");
    let throwaway;
    let url = match database_url {
        Some(url) => url.to_owned(),
        None => {
            throwaway = inner::testing::TestDatabase::new()?;
            throwaway.connection_string()
        }
    };
    let mut outer = OuterSide::start(&dir.join("outer"), ChannelId(DEMO_CHANNEL), &keys)?;
    let mut inner = InnerSide::start(
        &dir.join("inner"),
        &url,
        vec![ChannelId(DEMO_CHANNEL)],
        &keys,
    )?;
    let medium = dir.join("carrier");

    progress("submitting sample filings over HTTP");
    let mut receipts = Vec::new();
    for n in 1..=6 {
        receipts.push(outer.node.submit(&new_filing(n, "企业展示网站"))?);
    }
    let batch = outer.node.batch(&batch_csv(&[7, 8, 9], &[10, 11]))?;
    summary.batch_rows_refused =
        usize::try_from(batch["rejected"].as_u64().unwrap_or(0)).unwrap_or(0);
    for row in batch["results"].as_array().into_iter().flatten() {
        if let Some(receipt) = row["receipt"].as_str() {
            receipts.push(receipt.to_owned());
        }
    }
    summary.accepted = receipts.len();

    progress("export, carry, edit one filing while it is in transit, import");
    summary.bundles_exported += outer.export()?.written.len();
    carry(&outer.spool, &medium, &inner.spool)?;
    outer
        .node
        .edit(&receipts[0], &new_filing(1, "企业展示门户网站"))?;
    summary.bundles_imported += inner.import()?.count(FileResult::Applied);

    progress("review: approve some, return others to their submitters");
    let waiting = inner.awaiting_review()?;
    for (i, receipt) in receipts.iter().enumerate() {
        if !waiting.contains(receipt) || i == 0 {
            continue;
        }
        if i % 3 == 2 {
            inner.send_back(receipt, "网站名称与主体性质不符，请修改")?;
        } else {
            inner.approve(receipt)?;
        }
    }

    progress("return, carry back, apply");
    inner.write_return()?;
    carry(&inner.spool, &medium, &outer.spool)?;
    let applied = outer.apply()?;
    summary.returns_applied += applied.count(FileResult::Applied);
    summary.payloads_deleted += applied
        .files
        .iter()
        .map(|f| f.payloads_deleted)
        .sum::<usize>();

    progress("second round: the edit goes out, is approved, and comes back");
    summary.bundles_exported += outer.export()?.written.len();
    carry(&outer.spool, &medium, &inner.spool)?;
    summary.bundles_imported += inner.import()?.count(FileResult::Applied);
    inner.approve(&receipts[0])?;
    inner.write_return()?;
    carry(&inner.spool, &medium, &outer.spool)?;
    let applied = outer.apply()?;
    summary.returns_applied += applied.count(FileResult::Applied);
    summary.payloads_deleted += applied
        .files
        .iter()
        .map(|f| f.payloads_deleted)
        .sum::<usize>();

    for receipt in &receipts {
        let status = outer.node.status(receipt)?;
        summary.statuses.push(FinalStatus {
            receipt: receipt.clone(),
            state: status["state"].as_str().unwrap_or("?").to_owned(),
            version: status["version"].as_u64().unwrap_or(0),
            filing_number: status["filing_number"].as_str().map(str::to_owned),
            certificate_ready: status["certificate_ready"].as_bool().unwrap_or(false),
            reason: status["reason"].as_str().map(str::to_owned),
        });
    }
    if let Some(number) = summary
        .statuses
        .iter()
        .find(|s| s.certificate_ready)
        .and_then(|s| s.filing_number.clone())
    {
        progress("downloading one certificate outside and verifying its signature");
        let document = outer.node.certificate(&number)?;
        let public = keys::PublicKey::read_file(&keys.inner_cert_pub)?;
        inner::certificates::verify(&document, &public)?;
        summary.certificate_checked = Some((number, public.key_id().to_string()));
    }
    outer.node.stop()?;
    summary.seconds = started.elapsed().as_secs_f64();
    Ok(summary)
}
