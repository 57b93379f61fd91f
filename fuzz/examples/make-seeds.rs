//! Writes small seed corpora for every fuzz target into `fuzz/corpus/<target>/`, from valid
//! inputs made by the libraries themselves (the bundle writer, the keyset and key encoders,
//! the batch templates). Run from the repository root:
//!
//! ```text
//! cargo run --manifest-path fuzz/Cargo.toml --example make-seeds
//! ```
//!
//! The corpora are generated, not committed (see `fuzz/.gitignore`).

use std::fs;
use std::path::{Path, PathBuf};

use bundle_format::Kind;
use bundle_format::header::HEADER_V1_BYTES;
use sluice_fuzz::{fixture, header_and_content, sample_records, signer_role, write_bundle};

fn write(dir: &Path, name: &str, bytes: &[u8]) {
    fs::create_dir_all(dir).expect("create the corpus directory");
    fs::write(dir.join(name), bytes).expect("write a seed");
}

fn main() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("corpus");
    let dir = |target: &str| root.join(target);
    let fixture = fixture();

    for kind in Kind::ALL {
        let name = kind.as_str();
        let file = write_bundle(kind, &sample_records(kind));
        let opened = bundle_format::envelope::open(&file, file.len()).expect("seed opens");
        let message = opened.message.to_vec();
        let payload = message[HEADER_V1_BYTES..].to_vec();
        let (header, content) = header_and_content(&file);
        let role_bit = if signer_role(kind) == keys::Role::InnerReturn {
            2
        } else {
            0
        };

        write(&dir("envelope"), &format!("{name}.bundle"), &file);
        write(&dir("header"), &format!("{name}.message"), &message);
        // payload: mode 0 (zstd payload) and mode 1 (content) for this kind.
        let kind_index = Kind::ALL
            .iter()
            .position(|k| *k == kind)
            .expect("kind listed") as u8;
        let mut zstd = vec![kind_index];
        zstd.extend_from_slice(&payload);
        write(&dir("payload"), &format!("{name}.zstd"), &zstd);
        let mut raw = vec![kind_index | 4];
        raw.extend_from_slice(&content);
        write(&dir("payload"), &format!("{name}.content"), &raw);
        // resigned_bundle: mode 0 (whole M) and mode 1 (header template + content).
        let mut whole = vec![role_bit];
        whole.extend_from_slice(&message);
        write(&dir("resigned_bundle"), &format!("{name}.message"), &whole);
        let mut parts = vec![role_bit | 1];
        parts.extend_from_slice(&header);
        parts.extend_from_slice(&content);
        write(&dir("resigned_bundle"), &format!("{name}.parts"), &parts);
    }

    let keyset = fixture.keyset.file().to_bytes();
    write(&dir("keyset"), "keyset-v1", &keyset);
    let mut next = keys::KeysetFile::unsigned(fixture.keyset.document().next_version());
    next.sign(&fixture.root).expect("root signs version 2");
    write(&dir("keyset"), "keyset-v2", &next.to_bytes());
    let public = fixture.outer_bundle.public_key();
    write(
        &dir("keyset"),
        "key.pub",
        public.to_signify_file("fuzz public key").as_bytes(),
    );
    write(&dir("keyset"), "key.record", &public.to_record());
    let secret = fixture
        .outer_bundle
        .to_signify_file("fuzz secret key", None)
        .expect("an unencrypted secret key file");
    write(&dir("keyset"), "key.sec", secret.as_bytes());
    let signature = fixture.outer_bundle.sign_detached(b"sluice fuzz");
    write(
        &dir("keyset"),
        "sig",
        signature.to_signify_file("fuzz signature").as_bytes(),
    );
    write(&dir("keyset"), "sig.record", &signature.to_record());

    write(
        &dir("batch"),
        "template.csv",
        &outer::http::batch::template_csv_bytes(),
    );
    write(
        &dir("batch"),
        "template.xlsx",
        &outer::http::batch::template_xlsx_bytes().expect("the template writes"),
    );
    println!("seed corpora written under {}", root.display());
}
