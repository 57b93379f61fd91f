//! The keys crate's parsers of untrusted text: keyset files (`KeysetFile::parse`, then
//! `Keyset::anchor` and `Keyset::accept_next` against the fixture keyset) and signify public
//! key, secret key and signature files and records. Every parser sees every input; each
//! refuses foreign formats on its first line.
#![no_main]

use keys::{Keyset, KeysetFile, PublicKey, SecretKey, SignatureFile};
use libfuzzer_sys::fuzz_target;
use sluice_fuzz::{NOW, fixture};

fuzz_target!(|bytes: &[u8]| {
    if let Ok(file) = KeysetFile::parse(bytes) {
        // What the parser accepted is what it re-emits: document bytes verbatim, signatures
        // re-encoded from their records.
        let again = KeysetFile::parse(&file.to_bytes()).expect("a parsed keyset re-parses");
        assert_eq!(again.document(), file.document());
        assert_eq!(again.document_bytes(), file.document_bytes());
        assert_eq!(again.signatures().len(), file.signatures().len());
        let _ = Keyset::anchor(file.clone(), NOW);
        let _ = fixture().keyset.accept_next(file, NOW);
    }
    let _ = PublicKey::from_record(bytes);
    let _ = SignatureFile::from_record(bytes);
    let Ok(text) = std::str::from_utf8(bytes) else {
        return;
    };
    if let Ok(public) = PublicKey::from_signify_str(text) {
        let again = PublicKey::from_signify_str(&public.to_signify_file("again"))
            .expect("a parsed public key re-parses");
        assert_eq!(again.to_record(), public.to_record());
    }
    // No passphrase: an encrypted key stops at `PassphraseRequired` instead of running up to
    // 1024 bcrypt_pbkdf rounds per input, which would slow the fuzzer a thousandfold.
    let _ = SecretKey::from_signify_str(text, None);
    if let Ok(signature) = SignatureFile::from_signify_str(text) {
        let _ = fixture()
            .root
            .public_key()
            .verify(b"sluice fuzz", &signature);
    }
});
