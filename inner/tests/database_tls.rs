//! The inner store's database on another host, over TLS: a PostgreSQL cluster started by the
//! test with a certificate from a test CA, reached through `inner::db` with libpq's
//! `sslmode=verify-full` and `sslrootcert`.

use inner::db::{DbError, Target};
use inner::testing::TlsCluster;
use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair};

/// A certificate authority and its key.
struct Authority {
    certificate: rcgen::Certificate,
    key: KeyPair,
}

fn authority(name: &str) -> Authority {
    let key = KeyPair::generate().expect("CA key");
    let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA parameters");
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, name);
    let certificate = params.self_signed(&key).expect("CA certificate");
    Authority { certificate, key }
}

/// A server certificate for `localhost` issued by `ca`, and its key, in PEM.
fn server_certificate(ca: &Authority) -> (String, String) {
    let key = KeyPair::generate().expect("server key");
    let params = CertificateParams::new(vec!["localhost".to_owned()]).expect("server parameters");
    let certificate = params
        .signed_by(&key, &ca.certificate, &ca.key)
        .expect("server certificate");
    (certificate.pem(), key.serialize_pem())
}

struct Setup {
    cluster: TlsCluster,
    dir: tempfile::TempDir,
}

impl Setup {
    /// A cluster with a certificate from the CA "sluice test CA", whose certificate is in the
    /// returned directory as `ca.pem`, beside another CA's as `stranger.pem`.
    fn start() -> Setup {
        let ca = authority("sluice test CA");
        let stranger = authority("sluice test CA");
        let (certificate, key) = server_certificate(&ca);
        let cluster = TlsCluster::start(&certificate, &key).expect(
            "a PostgreSQL cluster with TLS (Debian's `postgresql` package provides the server)",
        );
        let dir = tempfile::tempdir().expect("temporary directory");
        std::fs::write(dir.path().join("ca.pem"), ca.certificate.pem()).expect("write CA");
        std::fs::write(dir.path().join("stranger.pem"), stranger.certificate.pem())
            .expect("write CA");
        Setup { cluster, dir }
    }

    fn url(&self, host: &str, ca: &str) -> String {
        format!(
            "host={host} hostaddr=127.0.0.1 port={} user=postgres dbname=postgres \
             connect_timeout=10 sslmode=verify-full sslrootcert={}",
            self.cluster.port(),
            self.dir.path().join(ca).display()
        )
    }
}

fn refusal(result: Result<postgres::Client, DbError>) -> String {
    match result {
        Ok(_) => panic!("the connection was made, but it should have been refused"),
        Err(error) => format!("{error}: {:?}", std::error::Error::source(&error)),
    }
}

#[test]
fn the_inner_store_reaches_a_database_on_another_host_over_verified_tls() {
    let setup = Setup::start();
    let target = Target::parse(&setup.url("localhost", "ca.pem")).expect("URL");
    assert!(target.uses_tls());
    let mut client = target.connect().expect("TLS connection");
    let row = client
        .query_one(
            "SELECT ssl, version FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
            &[],
        )
        .expect("the server's view of this connection");
    assert!(row.get::<_, bool>(0), "the server sees a TLS connection");
    let version: String = row.get(1);
    assert!(version.starts_with("TLSv1."), "{version}");
    // The store works over it: the migrations apply.
    let report = inner::schema::migrate(&mut client).expect("migrations over TLS");
    assert!(!report.applied.is_empty());
}

#[test]
fn a_server_impersonated_with_another_cas_certificate_is_refused() {
    let setup = Setup::start();
    // The impostor's CA even carries the genuine CA's name: the chain is matched by name and
    // then fails on the signature.
    let text = refusal(inner::db::connect(&setup.url("localhost", "stranger.pem")));
    assert!(text.contains("InvalidCertificate(BadSignature)"), "{text}");
    // The genuine CA still works against the same server: the refusal was the certificate's.
    inner::db::connect(&setup.url("localhost", "ca.pem")).expect("genuine CA");
}

#[test]
fn a_certificate_for_another_host_name_is_refused() {
    let setup = Setup::start();
    // The certificate names `localhost` only; the URL says the server is `db.inner`.
    let text = refusal(inner::db::connect(&setup.url("db.inner", "ca.pem")));
    assert!(text.contains("NotValidForName"), "{text}");
}

#[test]
fn a_plain_connection_to_the_tls_server_still_works_where_the_url_asks_for_none() {
    // Over the Unix socket on this host, as every deployment so far: no TLS settings, no TLS.
    let setup = Setup::start();
    let mut client = setup.cluster.connect_locally().expect("socket connection");
    let ssl: Option<bool> = client
        .query_one(
            "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
            &[],
        )
        .expect("query")
        .get(0);
    assert_eq!(ssl, Some(false));
}
