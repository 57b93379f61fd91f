//! Key files against the real `signify-openbsd` and `openssl`, in both directions, plus the
//! RFC 8032 vectors and the refusals a user would run into.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use keys::{KeyFileError, KeyId, PublicKey, SecretKey, SignatureFile, Signer};
use sha2::Digest as _;
use testkit::tools::{assert_success, openssl, signify};

const MESSAGE: &[u8] = b"filing 11-2026-000123, version 4\n";

fn sign_with_sluice_and_check_with_signify(secret: &SecretKey, public_path: &Path, dir: &Path) {
    fs::write(dir.join("msg"), MESSAGE).unwrap();
    let signature = secret.sign_detached(MESSAGE);
    fs::write(
        dir.join("msg.sig"),
        signature.to_signify_file("verify with key.pub"),
    )
    .unwrap();
    let public = public_path.to_str().unwrap();
    let output = signify(
        &["-V", "-p", public, "-m", "msg", "-x", "msg.sig"],
        b"",
        dir,
    );
    assert_success(&output, "signify -V of a Sluice signature");
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        "Signature Verified\n"
    );

    // The same signature over a changed message must fail in signify too.
    fs::write(dir.join("msg"), b"filing 11-2026-000123, version 5\n").unwrap();
    let output = signify(
        &["-V", "-p", public, "-m", "msg", "-x", "msg.sig"],
        b"",
        dir,
    );
    assert!(
        !output.status.success(),
        "signify accepted a changed message"
    );
}

#[test]
fn key_generated_by_signify_without_passphrase_loads_and_signs_for_signify() {
    let dir = tempfile::tempdir().unwrap();
    let output = signify(
        &[
            "-G",
            "-n",
            "-c",
            "outer host 1",
            "-p",
            "a.pub",
            "-s",
            "a.sec",
        ],
        b"",
        dir.path(),
    );
    assert_success(&output, "signify -G -n");

    let secret = SecretKey::read_file(&dir.path().join("a.sec"), None).unwrap();
    let public = PublicKey::read_file(&dir.path().join("a.pub")).unwrap();
    assert_eq!(secret.public_key(), public);
    assert_eq!(secret.key_id(), public.key_id());
    sign_with_sluice_and_check_with_signify(&secret, &dir.path().join("a.pub"), dir.path());
}

#[test]
fn key_generated_by_signify_with_passphrase_needs_the_right_passphrase() {
    let dir = tempfile::tempdir().unwrap();
    // signify reads the passphrase (twice, to confirm) from stdin when stdin is not a tty.
    let output = signify(
        &["-G", "-p", "b.pub", "-s", "b.sec"],
        b"correct horse\ncorrect horse\n",
        dir.path(),
    );
    assert_success(&output, "signify -G with a passphrase");
    let path = dir.path().join("b.sec");
    assert!(
        fs::read_to_string(&path).unwrap().lines().nth(1).unwrap() != "",
        "signify wrote a secret key"
    );

    let error = SecretKey::read_file(&path, None).unwrap_err();
    assert!(
        matches!(error, KeyFileError::PassphraseRequired { .. }),
        "{error:?}"
    );
    assert_eq!(
        error.to_string(),
        format!(
            "{} is encrypted with a passphrase; provide the passphrase",
            path.display()
        )
    );
    let error = SecretKey::read_file(&path, Some(b"correct horse!")).unwrap_err();
    assert!(
        matches!(error, KeyFileError::WrongPassphrase { .. }),
        "{error:?}"
    );
    assert_eq!(
        error.to_string(),
        format!("{}: incorrect passphrase", path.display())
    );

    let secret = SecretKey::read_file(&path, Some(b"correct horse")).unwrap();
    let public = PublicKey::read_file(&dir.path().join("b.pub")).unwrap();
    assert_eq!(secret.public_key(), public);
    sign_with_sluice_and_check_with_signify(&secret, &dir.path().join("b.pub"), dir.path());
}

fn signify_signs_and_sluice_verifies(secret_file: &str, passphrase: &[u8], dir: &Path) {
    fs::write(dir.join("msg"), MESSAGE).unwrap();
    let output = signify(
        &["-S", "-s", secret_file, "-m", "msg", "-x", "msg.sig"],
        passphrase,
        dir,
    );
    assert_success(&output, "signify -S with a Sluice key");
    let public = PublicKey::read_file(&dir.join("key.pub")).unwrap();
    let signature = SignatureFile::read_file(&dir.join("msg.sig")).unwrap();
    public.verify(MESSAGE, &signature).unwrap();
    let error = public.verify(b"another message", &signature).unwrap_err();
    assert!(
        matches!(error, KeyFileError::BadSignature { .. }),
        "{error:?}"
    );
    // And signify itself accepts its signature under the Sluice public key file.
    let output = signify(
        &["-V", "-p", "key.pub", "-m", "msg", "-x", "msg.sig"],
        b"",
        dir,
    );
    assert_success(&output, "signify -V with a Sluice public key");
}

/// A new Sluice key written to `key.sec` (encrypted with `passphrase`, if any) and `key.pub`.
fn sluice_key_files(dir: &Path, passphrase: Option<&[u8]>) -> SecretKey {
    let secret = SecretKey::generate();
    secret
        .write_file(&dir.join("key.sec"), "sluice secret key", passphrase)
        .unwrap();
    secret
        .public_key()
        .write_file(&dir.join("key.pub"), "sluice public key")
        .unwrap();
    secret
}

#[test]
fn unencrypted_sluice_key_works_with_signify() {
    let dir = tempfile::tempdir().unwrap();
    let secret = sluice_key_files(dir.path(), None);
    signify_signs_and_sluice_verifies("key.sec", b"", dir.path());
    sign_with_sluice_and_check_with_signify(&secret, &dir.path().join("key.pub"), dir.path());
}

#[test]
fn encrypted_sluice_key_works_with_signify() {
    let dir = tempfile::tempdir().unwrap();
    sluice_key_files(dir.path(), Some(b"s3cret phrase"));
    signify_signs_and_sluice_verifies("key.sec", b"s3cret phrase\n", dir.path());

    // signify refuses the wrong passphrase for a key Sluice encrypted.
    let output = signify(
        &["-S", "-s", "key.sec", "-m", "msg", "-x", "other.sig"],
        b"wrong phrase\n",
        dir.path(),
    );
    assert!(!output.status.success());
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("incorrect passphrase"),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn encrypted_key_round_trips_and_wrong_passphrase_is_refused() {
    let secret = SecretKey::generate();
    let text = secret
        .to_signify_file("round trip", Some(b"passphrase one"))
        .unwrap();
    let plain = secret.to_signify_file("round trip", None).unwrap();
    assert_ne!(
        text.lines().nth(1),
        plain.lines().nth(1),
        "encryption changed nothing"
    );

    let loaded = SecretKey::from_signify_str(&text, Some(b"passphrase one")).unwrap();
    assert_eq!(loaded.public_key(), secret.public_key());
    assert_eq!(loaded.sign(MESSAGE), secret.sign(MESSAGE));
    assert!(matches!(
        SecretKey::from_signify_str(&text, Some(b"passphrase two")),
        Err(KeyFileError::WrongPassphrase { .. })
    ));
    assert!(matches!(
        SecretKey::from_signify_str(&text, Some(b"")),
        Err(KeyFileError::EmptyPassphrase { .. })
    ));
    assert!(matches!(
        secret.to_signify_file("x", Some(b"")),
        Err(KeyFileError::EmptyPassphrase { .. })
    ));
    // The unencrypted file loads without a passphrase.
    let loaded = SecretKey::from_signify_str(&plain, None).unwrap();
    assert_eq!(loaded.public_key(), secret.public_key());
}

#[test]
fn secret_key_readable_by_group_or_others_is_refused_with_the_chmod_to_run() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("exposed.sec");
    SecretKey::generate().write_file(&path, "x", None).unwrap();
    assert_eq!(
        fs::metadata(&path).unwrap().permissions().mode() & 0o777,
        0o600
    );
    SecretKey::read_file(&path, None).unwrap();

    for mode in [0o640, 0o604, 0o660, 0o606] {
        fs::set_permissions(&path, fs::Permissions::from_mode(mode)).unwrap();
        let error = SecretKey::read_file(&path, None).unwrap_err();
        assert!(
            matches!(error, KeyFileError::SecretKeyExposed { mode: found, .. } if found == mode),
            "{error:?}"
        );
        let message = error.to_string();
        assert!(
            message.contains(&format!("run `chmod 600 {}`", path.display())),
            "{message}"
        );
        assert!(message.contains(&format!("{mode:04o}")), "{message}");
    }
}

#[test]
fn key_files_are_never_overwritten() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("k.sec");
    let first = SecretKey::generate();
    first.write_file(&path, "first", None).unwrap();
    let error = SecretKey::generate()
        .write_file(&path, "second", None)
        .unwrap_err();
    assert!(
        matches!(error, KeyFileError::AlreadyExists { .. }),
        "{error:?}"
    );
    let kept = SecretKey::read_file(&path, None).unwrap();
    assert_eq!(kept.public_key(), first.public_key());

    let pub_path = dir.path().join("k.pub");
    first.public_key().write_file(&pub_path, "first").unwrap();
    assert!(matches!(
        SecretKey::generate()
            .public_key()
            .write_file(&pub_path, "second"),
        Err(KeyFileError::AlreadyExists { .. })
    ));
    // Nothing but the two key files is left behind (no temp files).
    let mut names: Vec<_> = fs::read_dir(dir.path())
        .unwrap()
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["k.pub", "k.sec"]);
}

fn public_key_file(record: &[u8]) -> String {
    use base64::Engine as _;
    format!(
        "untrusted comment: test\n{}\n",
        base64::engine::general_purpose::STANDARD.encode(record)
    )
}

fn record_with_point(point: [u8; 32]) -> Vec<u8> {
    let mut record = b"Ed".to_vec();
    record.extend_from_slice(&[7u8; 8]);
    record.extend_from_slice(&point);
    record
}

#[test]
fn weak_public_keys_are_refused() {
    let identity = {
        let mut point = [0u8; 32];
        point[0] = 1;
        point
    };
    let order_eight: [u8; 32] =
        hex::decode("c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a")
            .unwrap()
            .try_into()
            .unwrap();
    for point in [identity, order_eight] {
        let error =
            PublicKey::from_signify_str(&public_key_file(&record_with_point(point))).unwrap_err();
        assert!(matches!(error, KeyFileError::WeakKey { .. }), "{error:?}");
        assert_eq!(
            error.to_string(),
            "<text>: public key 0707070707070707 is a weak (small-order) key; refusing it"
        );
    }
    // A file on disk names itself.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("weak.pub");
    fs::write(&path, public_key_file(&record_with_point(identity))).unwrap();
    let error = PublicKey::read_file(&path).unwrap_err();
    assert!(error.to_string().starts_with(&path.display().to_string()));
}

#[test]
fn malformed_key_files_get_errors_naming_line_and_field() {
    let good = SecretKey::generate().public_key().to_signify_file("ok");
    assert!(PublicKey::from_signify_str(&good).is_ok());
    let record_line = good.lines().nth(1).unwrap();

    let cases: Vec<(String, &str)> = vec![
        (
            format!("trusted comment: x\n{record_line}\n"),
            "<text> line 1: expected it to start with `untrusted comment: `",
        ),
        (
            "untrusted comment: x".to_owned(),
            "<text> line 2: missing the public key line",
        ),
        (
            "untrusted comment: x\n\n".to_owned(),
            "<text> line 2: missing the public key line",
        ),
        (
            "untrusted comment: x\nRWT*notbase64*\n".to_owned(),
            "<text> line 2: the public key is not valid base64",
        ),
        (
            "untrusted comment: x\nRWRCSwAAAA==\n".to_owned(),
            "<text> line 2: the public key is 7 bytes, expected 42",
        ),
        (
            format!("untrusted comment: x\n{}\n", "A".repeat(200)),
            "<text> line 2: the public key is 150 bytes, expected 42",
        ),
        (
            format!("{good}extra line\n"),
            "<text> line 3: unexpected text after the key or signature",
        ),
        (
            public_key_file(&{
                let mut record = record_with_point([9u8; 32]);
                record[0] = b'X';
                record
            }),
            "<text> line 2: pkalg is \"Xd\", expected \"Ed\"",
        ),
        (
            format!("untrusted comment: {}\n{record_line}\n", "c".repeat(1024)),
            "<text> line 1: the comment is 1024 bytes, longer than signify's 1023",
        ),
    ];
    for (text, expected) in cases {
        let error = PublicKey::from_signify_str(&text).unwrap_err();
        assert_eq!(error.to_string(), expected, "for {text:?}");
    }

    // A secret key file with the wrong kdf algorithm.
    let secret_text = SecretKey::generate().to_signify_file("x", None).unwrap();
    use base64::Engine as _;
    let mut record = base64::engine::general_purpose::STANDARD
        .decode(secret_text.lines().nth(1).unwrap())
        .unwrap();
    record[2] = b'Z';
    let text = format!(
        "untrusted comment: x\n{}\n",
        base64::engine::general_purpose::STANDARD.encode(&record)
    );
    let error = SecretKey::from_signify_str(&text, None).unwrap_err();
    assert_eq!(
        error.to_string(),
        "<text> line 2: kdfalg is \"ZK\", expected \"BK\""
    );
    // A flipped bit in an unencrypted secret key is caught by the checksum.
    record[2] = b'B';
    record[50] ^= 1;
    let text = format!(
        "untrusted comment: x\n{}\n",
        base64::engine::general_purpose::STANDARD.encode(&record)
    );
    assert!(matches!(
        SecretKey::from_signify_str(&text, None),
        Err(KeyFileError::Corrupt { .. })
    ));
}

#[test]
fn oversized_key_file_is_refused_before_parsing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("huge.pub");
    fs::write(&path, vec![b'a'; 1 << 20]).unwrap();
    let error = PublicKey::read_file(&path).unwrap_err();
    assert!(matches!(error, KeyFileError::TooLarge { .. }), "{error:?}");
}

#[test]
fn secret_material_never_shows_in_debug_or_errors() {
    let seed = [0x5au8; 32];
    let secret = SecretKey::from_seed(KeyId([1, 2, 3, 4, 5, 6, 7, 8]), &seed);
    let debug = format!("{secret:?}");
    assert_eq!(debug, "SecretKey(0102030405060708, secret withheld)");
    let text = secret.to_signify_file("x", None).unwrap();
    let error =
        SecretKey::from_signify_str(&text.replace("untrusted", "trusted"), None).unwrap_err();
    let shown = format!("{error} {error:?}");
    assert!(!shown.contains(text.lines().nth(1).unwrap()));
    assert!(!shown.contains(&hex::encode(seed)));
}

struct Vector {
    name: String,
    secret: [u8; 32],
    public: [u8; 32],
    message: Vec<u8>,
    signature: [u8; 64],
}

fn rfc8032_vectors() -> Vec<Vector> {
    let text = include_str!("vectors/rfc8032-ed25519.txt");
    let mut vectors = Vec::new();
    for block in text.split("\n\n").skip(1) {
        let field = |name: &str| -> String {
            block
                .lines()
                .find_map(|line| line.strip_prefix(&format!("{name} ")))
                .unwrap_or_else(|| panic!("vector field {name} missing in {block}"))
                .to_owned()
        };
        let message = field("message");
        vectors.push(Vector {
            name: field("name"),
            secret: hex::decode(field("secret")).unwrap().try_into().unwrap(),
            public: hex::decode(field("public")).unwrap().try_into().unwrap(),
            message: if message == "-" {
                Vec::new()
            } else {
                hex::decode(message).unwrap()
            },
            signature: hex::decode(field("signature")).unwrap().try_into().unwrap(),
        });
    }
    vectors
}

#[test]
fn rfc8032_section_7_1_vectors() {
    let vectors = rfc8032_vectors();
    let names: Vec<&str> = vectors.iter().map(|v| v.name.as_str()).collect();
    assert_eq!(
        names,
        ["TEST 1", "TEST 2", "TEST 3", "TEST 1024", "TEST SHA(abc)"]
    );
    assert_eq!(vectors[3].message.len(), 1023);
    assert_eq!(
        vectors[4].message,
        sha2::Sha512::digest(b"abc").as_slice(),
        "SHA(abc) signs the SHA-512 of \"abc\""
    );
    for vector in &vectors {
        let secret = SecretKey::from_seed(KeyId(*b"rfc-8032"), &vector.secret);
        let public = secret.public_key();
        assert_eq!(
            public.verifying_key().to_bytes(),
            vector.public,
            "{}",
            vector.name
        );
        let signature = secret.sign_detached(&vector.message);
        assert_eq!(
            signature.signature.to_bytes(),
            vector.signature,
            "{}",
            vector.name
        );
        // Through the signify file formats and back, the signature still verifies.
        let public = PublicKey::from_signify_str(&public.to_signify_file("v")).unwrap();
        let signature =
            SignatureFile::from_signify_str(&signature.to_signify_file("verify with v")).unwrap();
        public.verify(&vector.message, &signature).unwrap();
        let mut tampered = vector.message.clone();
        tampered.push(0);
        assert!(
            public.verify(&tampered, &signature).is_err(),
            "{}",
            vector.name
        );
    }
}

#[test]
fn exported_pem_verifies_with_openssl_pkeyutl() {
    let dir = tempfile::tempdir().unwrap();
    let secret = SecretKey::generate();
    let public = secret.public_key();
    let pem = public.to_openssl_pem();
    assert!(pem.starts_with("-----BEGIN PUBLIC KEY-----\n"), "{pem}");
    fs::write(dir.path().join("key.pem"), &pem).unwrap();
    fs::write(dir.path().join("msg"), MESSAGE).unwrap();
    fs::write(
        dir.path().join("msg.raw-sig"),
        secret.sign(MESSAGE).to_bytes(),
    )
    .unwrap();
    let verify = |message: &str| {
        openssl(
            &[
                "pkeyutl",
                "-verify",
                "-pubin",
                "-inkey",
                "key.pem",
                "-rawin",
                "-in",
                message,
                "-sigfile",
                "msg.raw-sig",
            ],
            dir.path(),
        )
    };
    let output = verify("msg");
    assert_success(&output, "openssl pkeyutl -verify");
    assert!(String::from_utf8_lossy(&output.stdout).contains("Signature Verified Successfully"));
    fs::write(dir.path().join("other"), b"another message").unwrap();
    assert!(!verify("other").status.success());

    // The fingerprint is SHA-256 of the raw key, checkable from the PEM with openssl.
    let output = openssl(
        &["pkey", "-pubin", "-in", "key.pem", "-outform", "DER"],
        dir.path(),
    );
    assert_success(&output, "openssl pkey");
    let raw = &output.stdout[output.stdout.len() - 32..];
    assert_eq!(
        public.fingerprint().to_string(),
        format!("SHA256:{}", hex::encode(sha2::Sha256::digest(raw)))
    );
}

mod robustness {
    use super::*;
    use proptest::prelude::*;

    fn mutated(text: String, position: prop::sample::Index, byte: u8) -> Vec<u8> {
        let mut bytes = text.into_bytes();
        let index = position.index(bytes.len());
        bytes[index] = byte;
        bytes
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

        /// Arbitrary text never panics any key or signature parser.
        #[test]
        fn parsers_never_panic_on_arbitrary_text(text in "(untrusted comment: )?[ -~\n]{0,300}") {
            let _ = PublicKey::from_signify_str(&text);
            let _ = SecretKey::from_signify_str(&text, Some(b"x"));
            let _ = SignatureFile::from_signify_str(&text);
        }

        /// A changed byte in a public key file never panics, and whatever is accepted is a
        /// non-weak key whose record re-encodes to exactly the line that was read. (Nothing in
        /// a public key file is authenticated; that is what fingerprints are for.)
        #[test]
        fn accepted_public_key_files_are_canonical(
            position in any::<prop::sample::Index>(),
            byte in any::<u8>(),
        ) {
            let public = SecretKey::from_seed(KeyId([3; 8]), &[3; 32]).public_key();
            let bytes = mutated(public.to_signify_file("c"), position, byte);
            if let Ok(text) = std::str::from_utf8(&bytes)
                && let Ok(parsed) = PublicKey::from_signify_str(text)
            {
                prop_assert!(!parsed.verifying_key().is_weak());
                let encoded = parsed.to_signify_file("c");
                prop_assert_eq!(encoded.lines().nth(1), text.lines().nth(1));
            }
        }

        /// A changed byte in an unencrypted secret key file is refused or yields the same
        /// signing key: the checksum catches every change to the secret. (The comment and key
        /// number are not protected by signify's format.)
        #[test]
        fn changed_secret_key_file_never_yields_another_key(
            position in any::<prop::sample::Index>(),
            byte in any::<u8>(),
        ) {
            let secret = SecretKey::from_seed(KeyId([4; 8]), &[4; 32]);
            let text = secret.to_signify_file("c", None).unwrap().to_string();
            let bytes = mutated(text, position, byte);
            if let Ok(text) = std::str::from_utf8(&bytes)
                && let Ok(parsed) = SecretKey::from_signify_str(text, None)
            {
                prop_assert_eq!(
                    parsed.public_key().verifying_key(),
                    secret.public_key().verifying_key()
                );
                prop_assert_eq!(parsed.sign(MESSAGE), secret.sign(MESSAGE));
            }
        }
    }
}
