//! The signify envelope (SPEC.md §2): our files verify with signify-openbsd, signify's files
//! verify with us, forgeries fail both, and the Ed25519 signatures are RFC 8032's.

mod common;

use bundle_format::envelope::{self, EnvelopeError};
use common::{KeyTable, NOW, TestSigner};
use keys::{ChannelId, KeyId, Role, Signer};
use testkit::tools::{self, words};

const MAX: usize = envelope::SIGNIFY_MAX_FILE_BYTES;

fn table(signer: &TestSigner) -> KeyTable {
    KeyTable::default().with(signer, Role::InnerCert, None)
}

#[test]
fn sealed_file_opens_and_verifies_with_the_exact_message() {
    let signer = TestSigner::named("cert");
    let file = envelope::seal(&signer, "a certificate", b"hello\nworld").unwrap();
    assert!(file.starts_with(b"untrusted comment: a certificate\n"));
    let opened = envelope::open(&file, MAX).unwrap();
    assert_eq!(opened.comment, b"a certificate");
    assert_eq!(opened.key_id, signer.key_id);
    assert_eq!(opened.message, b"hello\nworld");
    assert_eq!(&file[opened.message_offset..], b"hello\nworld");
    let key = opened
        .verify(&table(&signer), Role::InnerCert, None, NOW)
        .unwrap();
    assert_eq!(key, signer.verifying_key());
}

#[test]
fn changed_message_fails_verification() {
    let signer = TestSigner::named("cert");
    let mut file = envelope::seal(&signer, "c", b"pay 10").unwrap();
    let last = file.len() - 1;
    file[last] = b'9';
    let opened = envelope::open(&file, MAX).unwrap();
    let err = opened
        .verify(&table(&signer), Role::InnerCert, None, NOW)
        .unwrap_err();
    assert_eq!(
        err,
        EnvelopeError::BadSignature {
            key_id: signer.key_id,
            message_len: 6
        }
    );
}

#[test]
fn edited_comment_still_verifies_because_it_is_unsigned() {
    let signer = TestSigner::named("cert");
    let file = envelope::seal(&signer, "original", b"m").unwrap();
    let mut edited = b"untrusted comment: someone else wrote this".to_vec();
    edited.extend_from_slice(&file[file.iter().position(|&b| b == b'\n').unwrap()..]);
    let opened = envelope::open(&edited, MAX).unwrap();
    opened
        .verify(&table(&signer), Role::InnerCert, None, NOW)
        .unwrap();
}

#[test]
fn key_lookup_refusals_are_reported_with_the_reason() {
    let signer = TestSigner::named("cert");
    let file = envelope::seal(&signer, "c", b"m").unwrap();
    let opened = envelope::open(&file, MAX).unwrap();
    let err = opened
        .verify(&KeyTable::default(), Role::InnerCert, None, NOW)
        .unwrap_err();
    assert_eq!(err.code(), "envelope.key-unknown");
    let err = opened
        .verify(&table(&signer), Role::OuterBundle, Some(ChannelId(1)), NOW)
        .unwrap_err();
    assert_eq!(err.code(), "envelope.key-wrong-role");
}

#[test]
fn malformed_envelopes_get_distinct_errors() {
    let signer = TestSigner::named("cert");
    let file = envelope::seal(&signer, "c", b"m").unwrap();
    let code = |bytes: &[u8]| envelope::open(bytes, MAX).unwrap_err().code();
    assert_eq!(code(b""), "envelope.missing-comment-prefix");
    assert_eq!(
        code(b"trusted comment: x\n"),
        "envelope.missing-comment-prefix"
    );
    assert_eq!(code(b"untrusted comment: \n"), "envelope.empty-comment");
    assert_eq!(
        code(b"untrusted comment: a\0b\n"),
        "envelope.nul-in-comment"
    );
    let mut long = b"untrusted comment: ".to_vec();
    long.extend(std::iter::repeat_n(b'x', 1024));
    long.push(b'\n');
    assert_eq!(code(&long), "envelope.comment-too-long");
    // Signature line one character short, and truncated.
    let mut short = file.clone();
    short.remove(25);
    assert_eq!(code(&short), "envelope.signature-line-length");
    assert_eq!(code(&file[..60]), "envelope.signature-line-length");
    // A character outside the base64 alphabet.
    let mut bad = file.clone();
    bad[30] = b'*';
    assert_eq!(code(&bad), "envelope.signature-base64");
    // Another algorithm: "Ed" replaced by "Xd" re-encoded in base64.
    let mut other = file.clone();
    other[22] = b'Y'; // 'R' (first char after "untrusted comment: c\n") encodes the 'E'
    assert_eq!(code(&other), "envelope.unsupported-algorithm");
    assert_eq!(
        envelope::open(&file, 10).unwrap_err(),
        EnvelopeError::FileTooLarge {
            len: file.len(),
            max: 10
        }
    );
}

#[test]
fn comments_that_signify_would_refuse_are_not_written() {
    let signer = TestSigner::named("cert");
    for comment in ["", "two\nlines", "nul\0", &"x".repeat(1024)] {
        let err = envelope::seal(&signer, comment, b"m").unwrap_err();
        assert_eq!(err.code(), "envelope.invalid-comment", "{comment:?}");
    }
    envelope::seal(&signer, &"x".repeat(1023), b"m").unwrap();
}

/// RFC 8032 §7.1 tests 1–3: our envelope carries exactly the signature the RFC lists for the
/// message, so nothing but M is signed.
#[test]
fn rfc8032_section_7_1_vectors() {
    let vectors = [
        (
            "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
            "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
            "",
            "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
        ),
        (
            "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
            "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
            "72",
            "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00",
        ),
        (
            "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
            "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025",
            "af82",
            "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a",
        ),
    ];
    for (secret, public, message, signature) in vectors {
        let seed: [u8; 32] = hex::decode(secret).unwrap().try_into().unwrap();
        let signer = TestSigner::from_seed(KeyId(*b"rfc-8032"), &seed);
        assert_eq!(hex::encode(signer.verifying_key().as_bytes()), public);
        let message = hex::decode(message).unwrap();
        let file = envelope::seal(&signer, "rfc 8032", &message).unwrap();
        let opened = envelope::open(&file, MAX).unwrap();
        assert_eq!(hex::encode(opened.signature.to_bytes()), signature);
        opened
            .verify(&table(&signer), Role::InnerCert, None, NOW)
            .unwrap();
    }
}

/// signify-openbsd verifies what we seal, and we verify what signify-openbsd signs; a forged
/// message fails both.
#[test]
fn signify_openbsd_agrees_with_us_in_both_directions() {
    let dir = tempfile::tempdir().unwrap();
    let signer = TestSigner::named("cert");
    std::fs::write(dir.path().join("ours.pub"), signer.signify_public_file()).unwrap();

    // Ours → signify.
    let message = b"a message with\nnewlines and \x00 bytes\xff".to_vec();
    let file = envelope::seal(&signer, "sealed by sluice", &message).unwrap();
    std::fs::write(dir.path().join("ours.sig"), &file).unwrap();
    let signify = |line: &str| tools::signify(&words(line), b"", dir.path());
    tools::assert_success(
        &signify("-V -e -p ours.pub -x ours.sig -m ours.out"),
        "signify -V of our envelope",
    );
    assert_eq!(std::fs::read(dir.path().join("ours.out")).unwrap(), message);

    // A forgery of ours → signify refuses it too.
    let mut forged = file.clone();
    *forged.last_mut().unwrap() ^= 1;
    std::fs::write(dir.path().join("forged.sig"), &forged).unwrap();
    assert!(
        !signify("-V -e -p ours.pub -x forged.sig -m forged.out")
            .status
            .success(),
        "signify accepted a forged message"
    );

    // signify → ours.
    let mut generate = words("-G -n -p theirs.pub -s theirs.sec");
    generate.extend(["-c", "made by signify"]);
    let made = tools::signify(&generate, b"", dir.path());
    tools::assert_success(&made, "signify -G");
    std::fs::write(dir.path().join("msg"), &message).unwrap();
    tools::assert_success(
        &signify("-S -e -s theirs.sec -m msg -x theirs.sig"),
        "signify -S -e",
    );
    let theirs = keys::PublicKey::read_file(&dir.path().join("theirs.pub")).unwrap();
    let their_key = TheirKey {
        key_id: theirs.key_id(),
        key: theirs.verifying_key(),
    };
    let lookup = common::KeyTable(vec![common::Entry {
        key_id: their_key.key_id,
        key: their_key.key,
        role: Role::InnerCert,
        channel: None,
        not_before: 0,
        not_after: i64::MAX,
    }]);
    let signed = std::fs::read(dir.path().join("theirs.sig")).unwrap();
    let opened = envelope::open(&signed, MAX).unwrap();
    assert_eq!(opened.message, message.as_slice());
    assert_eq!(opened.key_id, their_key.key_id);
    opened.verify(&lookup, Role::InnerCert, None, NOW).unwrap();

    let mut forged = signed.clone();
    let at = opened.message_offset + 3;
    forged[at] ^= 0x20;
    let opened = envelope::open(&forged, MAX).unwrap();
    assert_eq!(
        opened
            .verify(&lookup, Role::InnerCert, None, NOW)
            .unwrap_err()
            .code(),
        "envelope.bad-signature"
    );
}

struct TheirKey {
    key_id: KeyId,
    key: ed25519_dalek::VerifyingKey,
}

#[test]
fn test_signer_key_number_is_what_the_signature_line_carries() {
    let signer = TestSigner::named("x");
    let file = envelope::seal(&signer, "c", b"").unwrap();
    assert_eq!(envelope::open(&file, MAX).unwrap().key_id, signer.key_id());
}
