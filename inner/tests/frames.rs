//! A pending version read back from its own zstd frame (migration 18, bundle format version
//! 10): the import records where each frame of a bundle's message lies, a reviewer's view of a
//! filing decodes only the frame holding it, a bundle imported before the frames were recorded
//! is still read from its whole message, and a frame row that points at the wrong frame is
//! caught (the record found is not the version asked for), never shown as that filing.

mod common;

use bundle_format::header::{FORMAT_VERSION_10, HEADER_V1_BYTES, Header};
use bundle_format::payload::frame_spans;
use bundle_format::records::SubmissionVersion;
use common::*;
use testkit::pg::TestDatabase;

/// Enough one-site filings, each of its own company and domain, for several frames.
const FILINGS: usize = 3_000;

fn receipt(i: usize) -> String {
    format!("R{i:05}")
}

fn company(i: usize) -> String {
    format!("北京第{i}科技有限公司")
}

fn filings() -> Vec<SubmissionVersion> {
    (0..FILINGS)
        .map(|i| {
            let domain = format!("site{i}.example.cn");
            one_site_filing(
                &receipt(i),
                &company(i),
                &format!("C{i:05}"),
                "官网",
                &[&domain],
                u8::try_from(i % 250).unwrap() + 1,
            )
        })
        .collect()
}

/// A store holding one bundle of [`filings`], all pending; the bundle's message.
fn imported() -> (TestDatabase, Vec<u8>) {
    let db = TestDatabase::with_schema().expect("db");
    let bundle = bundle_at(1, &filings());
    let report = apply(&db, &bundle.incoming());
    assert_eq!(report.outcomes.len(), FILINGS);
    (db, bundle.message)
}

/// The `bundle_frames` rows: first record, offset in the message, length.
fn frame_rows(db: &TestDatabase) -> Vec<(i32, i32, i32)> {
    db.connect()
        .expect("connect")
        .query(
            "SELECT first_record, message_offset, frame_length FROM bundle_frames
             ORDER BY first_record",
            &[],
        )
        .expect("frame rows")
        .iter()
        .map(|row| (row.get(0), row.get(1), row.get(2)))
        .collect()
}

/// The organiser a reviewer sees for filing `i`, or why it cannot be shown.
fn organiser_of(db: &TestDatabase, i: usize) -> Result<Option<String>, String> {
    inner::queue::show(&mut db.connect().expect("connect"), &receipt(i))
        .map(|view| view.organiser)
        .map_err(|e| e.to_string())
}

#[test]
fn a_pending_version_is_read_back_from_its_own_frame() {
    let (db, message) = imported();
    let (header, payload) = Header::parse(&message, u64::MAX).unwrap();
    assert_eq!(header.format_version, FORMAT_VERSION_10);
    let spans = frame_spans(payload, header.content_length, header.format_version).unwrap();
    assert!(spans.len() >= 2, "{} frames", spans.len());
    let expected: Vec<(i32, i32, i32)> = spans
        .iter()
        .map(|span| {
            (
                i32::try_from(span.first_record).unwrap(),
                i32::try_from(HEADER_V1_BYTES + span.payload_offset).unwrap(),
                i32::try_from(span.payload_length).unwrap(),
            )
        })
        .collect();
    assert_eq!(frame_rows(&db), expected);

    let last_frame = spans.last().unwrap().first_record;
    for i in [0, 1, last_frame - 1, last_frame, FILINGS - 1] {
        assert_eq!(organiser_of(&db, i), Ok(Some(company(i))), "filing {i}");
    }
}

/// The importer of real bundles reads the versions again from the message (once, to stage
/// them) and takes the frame table from that reading: the rows are those the message holds, as
/// when the versions are handed over decoded, and every filing reads back.
#[test]
fn the_frames_found_while_reading_the_message_are_the_ones_recorded() {
    let (decoded, _) = imported();
    let db = TestDatabase::with_schema().expect("db");
    let bundle = bundle_at(1, &filings());
    let header = Header::parse(&bundle.message, u64::MAX).unwrap().0;
    let incoming = inner::import::IncomingBundle::verified_in_message(
        bundle_format::BundleId::of_message(&bundle.message),
        &header,
        keys::KeyId(*b"outerkey"),
        FILINGS,
        &bundle.message,
    );
    assert_eq!(apply(&db, &incoming).outcomes.len(), FILINGS);
    assert!(frame_rows(&db).len() >= 2, "{:?}", frame_rows(&db));
    assert_eq!(frame_rows(&db), frame_rows(&decoded));
    for i in [0, FILINGS / 2, FILINGS - 1] {
        assert_eq!(organiser_of(&db, i), Ok(Some(company(i))), "filing {i}");
    }
}

#[test]
fn a_bundle_imported_before_its_frames_were_recorded_is_read_from_its_whole_message() {
    let (db, _) = imported();
    db.connect()
        .unwrap()
        .batch_execute("DELETE FROM bundle_frames")
        .unwrap();
    for i in [0, FILINGS / 2, FILINGS - 1] {
        assert_eq!(organiser_of(&db, i), Ok(Some(company(i))), "filing {i}");
    }
}

#[test]
fn a_frame_row_pointing_at_another_frame_is_caught_not_shown() {
    let (db, _) = imported();
    let rows = frame_rows(&db);
    let (first, last) = (rows[0], *rows.last().unwrap());
    // The last frame's row now names the first frame's bytes.
    db.connect()
        .unwrap()
        .execute(
            "UPDATE bundle_frames SET message_offset = $1, frame_length = $2
             WHERE first_record = $3",
            &[&first.1, &first.2, &last.0],
        )
        .unwrap();
    let index = usize::try_from(last.0).unwrap();
    let refused = organiser_of(&db, index).unwrap_err();
    assert!(
        refused.contains(&format!(
            "its stored record is version 1 of receipt {}",
            receipt(0)
        )),
        "{refused}"
    );
    // Filings in the frames that still point right are shown.
    assert_eq!(organiser_of(&db, 0), Ok(Some(company(0))));
}
