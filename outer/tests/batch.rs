//! Batch uploads through the real router: CSV and XLSX files with good and bad rows, limits,
//! templates; and the OpenAPI description kept in sync with the routes served.

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::{App, app_with};
use outer::config::Limits;
use outer::http::batch::{COLUMNS, XLSX_MEDIA_TYPE};
use outer::http::served_routes;
use serde_json::Value;
use testkit::api::credit_code;

impl App {
    async fn upload(&self, token: &str, content_type: &str, file: Vec<u8>) -> (StatusCode, Value) {
        let request = Request::post("/api/v1/batches")
            .header("authorization", format!("Bearer {token}"))
            .header("content-type", content_type)
            .body(Body::from(file))
            .unwrap();
        let (status, bytes, _) = self.raw(request).await;
        (
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        )
    }

    async fn get(&self, path: &str) -> (StatusCode, Vec<u8>, String) {
        let (status, bytes, headers) = self
            .raw(Request::get(path).body(Body::empty()).unwrap())
            .await;
        let content_type = headers
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        (status, bytes, content_type)
    }
}

/// A row for company number `n` (a valid credit code of its own), changed by `edit`.
fn row(n: u32, domain: &str, edit: &[(&str, &str)]) -> Vec<String> {
    let mut values: Vec<(&str, String)> = vec![
        ("on_behalf_of", "customer_a".into()),
        ("subject_name", "深圳市示例信息技术有限公司".into()),
        ("subject_nature", "enterprise".into()),
        (
            "subject_certificate_type",
            "unified_social_credit_code".into(),
        ),
        ("subject_certificate_number", credit_code(n)),
        ("subject_region_code", "440305".into()),
        ("subject_address", "广东省深圳市南山区科技园路1号".into()),
        ("subject_investor", "深圳市示例信息技术有限公司".into()),
        ("principal_name", "李四海".into()),
        ("principal_certificate_type", "resident_id".into()),
        ("principal_certificate_number", "440524188001010014".into()),
        ("principal_mobile_phones", "13612345670".into()),
        ("principal_office_phones", "0755-86013388".into()),
        ("principal_email", "lisihai@example.com".into()),
        ("website_name", "示例信息门户".into()),
        ("website_domains", format!("{domain};www.{domain}")),
        ("website_home_urls", format!("https://www.{domain}/")),
        ("website_service_types", "portal;blog".into()),
        ("website_pre_approvals", "".into()),
        ("access_method", "colocation".into()),
        ("server_region_code", "440305".into()),
        ("ip_ranges", "202.96.134.0/28;240e:ff::/64".into()),
    ];
    for (column, value) in edit {
        let slot = values.iter_mut().find(|(c, _)| c == column).unwrap();
        slot.1 = (*value).to_owned();
    }
    COLUMNS
        .iter()
        .map(|(c, _)| values.iter().find(|(v, _)| v == c).unwrap().1.clone())
        .collect()
}

fn header() -> Vec<String> {
    COLUMNS.iter().map(|(c, _)| (*c).to_owned()).collect()
}

fn csv_file(rows: &[Vec<String>]) -> Vec<u8> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer.write_record(header()).unwrap();
    for row in rows {
        writer.write_record(row).unwrap();
    }
    writer.into_inner().unwrap()
}

fn xlsx_file(rows: &[Vec<String>]) -> Vec<u8> {
    let mut workbook = rust_xlsxwriter::Workbook::new();
    let sheet = workbook.add_worksheet();
    for (r, cells) in std::iter::once(header())
        .chain(rows.iter().cloned())
        .enumerate()
    {
        for (c, value) in cells.iter().enumerate() {
            sheet
                .write_string(u32::try_from(r).unwrap(), u16::try_from(c).unwrap(), value)
                .unwrap();
        }
    }
    workbook.save_to_buffer().unwrap()
}

fn mixed_rows() -> Vec<Vec<String>> {
    vec![
        row(1, "example-one.cn", &[]),
        // Wrong check character on the credit code.
        row(
            2,
            "example-two.cn",
            &[("subject_certificate_number", "914403001922038217")],
        ),
        row(3, "例子三.中国", &[]),
        // Unknown nature and a private address.
        row(
            4,
            "example-four.cn",
            &[("subject_nature", "company"), ("ip_ranges", "10.0.0.1")],
        ),
        // News site without the news pre-approval.
        row(5, "example-five.cn", &[("website_service_types", "news")]),
        row(
            6,
            "example-six.cn",
            &[
                ("website_service_types", "news"),
                ("website_pre_approvals", "news:国新网许字2026001号"),
            ],
        ),
        // The subject of spreadsheet row 2 files again: one subject files once.
        row(1, "example-seven.cn", &[]),
    ]
}

async fn check_mixed_result(app: &App, status: StatusCode, body: &Value) {
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["rows"], 7);
    assert_eq!(body["accepted"], 3);
    assert_eq!(body["rejected"], 4);
    let results = body["results"].as_array().unwrap();
    let rows: Vec<u64> = results.iter().map(|r| r["row"].as_u64().unwrap()).collect();
    assert_eq!(
        rows,
        [2, 3, 4, 5, 6, 7, 8],
        "spreadsheet row numbers, header is row 1"
    );
    let accepted: Vec<bool> = results.iter().map(|r| r["receipt"].is_string()).collect();
    assert_eq!(accepted, [true, false, true, false, false, true, false]);
    assert_eq!(results[6]["problems"][0]["code"], "subject.already_filed");
    assert_eq!(
        results[6]["problems"][0]["field"],
        "subject_certificate_number"
    );
    assert_eq!(results[1]["problems"][0]["code"], "uscc.check_digit");
    assert_eq!(results[3]["problems"][0]["code"], "batch.unknown_value");
    assert_eq!(results[3]["problems"][0]["field"], "subject_nature");
    assert_eq!(results[4]["problems"][0]["code"], "pre_approval.required");
    // The good rows are stored, for the customer, by the provider.
    let stored = app.store.versions_to_export(100).await.unwrap();
    assert_eq!(stored.len(), 3);
    assert!(stored.iter().all(|v| v.submitter == "customer_a"
        && v.access_provider.as_deref() == Some("provider_1")
        && v.hash_matches()));
}

#[tokio::test]
async fn csv_batch_stores_good_rows_and_names_bad_ones() {
    let app = app_with(Limits::default());
    let (status, body) = app
        .upload(&app.tokens.provider, "text/csv", csv_file(&mixed_rows()))
        .await;
    check_mixed_result(&app, status, &body).await;
}

#[tokio::test]
async fn xlsx_batch_stores_good_rows_and_names_bad_ones() {
    let app = app_with(Limits::default());
    let (status, body) = app
        .upload(
            &app.tokens.provider,
            XLSX_MEDIA_TYPE,
            xlsx_file(&mixed_rows()),
        )
        .await;
    check_mixed_result(&app, status, &body).await;
}

#[tokio::test]
async fn files_over_the_row_or_size_limit_are_refused_with_a_clear_message() {
    let app = app_with(Limits {
        max_batch_rows: 3,
        max_batch_bytes: 64 * 1024,
        ..Limits::default()
    });
    let rows: Vec<Vec<String>> = (0..4)
        .map(|i| row(i, &format!("example{i}.cn"), &[]))
        .collect();
    let (status, body) = app
        .upload(&app.tokens.provider, "text/csv", csv_file(&rows))
        .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("more than 3 data rows"),
        "{body}"
    );
    let (status, body) = app
        .upload(&app.tokens.provider, "text/csv", vec![b'a'; 65 * 1024])
        .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(body["error"], "payload_too_large");
    let (status, body) = app
        .upload(
            &app.tokens.provider,
            "text/csv",
            b"subject_name,colour\n".to_vec(),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        body["message"].as_str().unwrap().contains("colour"),
        "{body}"
    );
    assert!(app.store.versions_to_export(10).await.unwrap().is_empty());
}

/// A template with one stray value far to the right (XFD1048576, the last cell a sheet can
/// have, or XFD4000 inside the row limit). Read as a whole sheet this asked for 512 GiB and
/// aborted the service (found by the fuzz target `batch`).
fn xlsx_with_stray_cell(row: u32) -> Vec<u8> {
    let mut workbook = rust_xlsxwriter::Workbook::new();
    let sheet = workbook.add_worksheet();
    for (c, value) in header().iter().enumerate() {
        sheet
            .write_string(0, u16::try_from(c).unwrap(), value)
            .unwrap();
    }
    sheet.write_string(row, 16_383, "x").unwrap();
    workbook.save_to_buffer().unwrap()
}

#[tokio::test]
async fn xlsx_cell_at_xfd1048576_is_refused_without_building_the_sheet() {
    let app = app_with(Limits::default());
    for row in [1_048_575, 3_999] {
        let (status, body) = app
            .upload(
                &app.tokens.provider,
                XLSX_MEDIA_TYPE,
                xlsx_with_stray_cell(row),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        let message = body["message"].as_str().unwrap();
        assert!(
            message.contains("column 16384") && message.contains(&format!("row {}", row + 1)),
            "{body}"
        );
    }
    assert!(app.store.versions_to_export(10).await.unwrap().is_empty());
}

#[tokio::test]
async fn templates_download_and_upload_as_they_are() {
    let app = app_with(Limits::default());
    let (status, xlsx, content_type) = app.get("/api/v1/batches/template.xlsx").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(content_type, XLSX_MEDIA_TYPE);
    let (status, csv, content_type) = app.get("/api/v1/batches/template.csv").await;
    assert_eq!(status, StatusCode::OK);
    assert!(content_type.starts_with("text/csv"));
    // The example row of each template is a valid filing (its provider is the uploader); the
    // two templates show the same subject, so each goes to a store of its own.
    for (file, media_type) in [(xlsx, XLSX_MEDIA_TYPE), (csv, "text/csv")] {
        let fresh = app_with(Limits::default());
        let (status, body) = fresh.upload(&fresh.tokens.provider, media_type, file).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body["accepted"], 1, "{body}");
    }
}

#[tokio::test]
async fn openapi_describes_exactly_the_routes_served() {
    let app = app_with(Limits::default());
    let (status, bytes, _) = app.get("/api/openapi.json").await;
    assert_eq!(status, StatusCode::OK);
    let document: Value = serde_json::from_slice(&bytes).unwrap();
    let paths = document["paths"].as_object().unwrap();
    let served = served_routes();
    for (method, path) in &served {
        assert!(
            paths.get(*path).and_then(|p| p.get(*method)).is_some(),
            "{method} {path} is served but not described"
        );
    }
    for (path, item) in paths {
        for method in item.as_object().unwrap().keys() {
            assert!(
                served.iter().any(|(m, p)| m == method && p == path),
                "{method} {path} is described but not served"
            );
        }
    }
}

/// Found by the `batch` fuzz target: a shared-string cell whose index (40) is past the end of
/// an empty shared-string table made calamine 0.26 panic on an index out of bounds.
#[tokio::test]
async fn xlsx_shared_string_index_out_of_range_is_refused_with_its_cell_named() {
    let file = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/regressions/batch/xlsx_shared_string_index_out_of_range.xlsx");
    let bytes = std::fs::read(&file).unwrap();
    let error = outer::http::batch::read_rows(&bytes, 100)
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("refers to shared string 40") && error.contains("the file has 0"),
        "{error}"
    );
    let app = app_with(Limits::default());
    let (status, body) = app
        .upload(&app.tokens.provider, XLSX_MEDIA_TYPE, bytes)
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("refers to shared string 40"),
        "{body}"
    );
    assert!(app.store.versions_to_export(10).await.unwrap().is_empty());
}

/// A zip archive of `entries` (name, bytes), deflated.
fn zip_archive(entries: &[(&str, &[u8])]) -> Vec<u8> {
    use std::io::Write as _;
    let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (name, bytes) in entries {
        writer.start_file(*name, options).unwrap();
        writer.write_all(bytes).unwrap();
    }
    writer.finish().unwrap().into_inner()
}

/// A CSV sheet with the optional `scans` column: each row with its cell.
fn csv_with_scans(rows: &[(Vec<String>, &str)]) -> Vec<u8> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    let mut head = header();
    head.push("scans".to_owned());
    writer.write_record(head).unwrap();
    for (row, scans) in rows {
        let mut row = row.clone();
        row.push((*scans).to_owned());
        writer.write_record(row).unwrap();
    }
    writer.into_inner().unwrap()
}

const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR-a scan";
const JPEG: &[u8] = &[0xff, 0xd8, 0xff, 0xe0, 0, 0x10, b'J', b'F', b'I', b'F'];

#[tokio::test]
async fn a_zip_of_the_sheet_and_its_scans_files_each_row_with_its_scans() {
    use bundle_format::records::{PreApprovalItem, ScanOf, Submission};
    let app = app_with(Limits::default());
    let news = [
        ("website_service_types", "news"),
        ("website_pre_approvals", "news:国新网许字2026001号"),
    ];
    let sheet = csv_with_scans(&[
        (
            row(1, "example-one.cn", &news),
            "subject_certificate:scans/licence.png; pre_approval/news:scans/news.jpg",
        ),
        (
            row(2, "example-two.cn", &[]),
            "subject_certificate:scans/absent.png",
        ),
        (
            row(3, "example-three.cn", &[]),
            "principal_photo:scans/notes.txt",
        ),
        (row(4, "example-four.cn", &[]), ""),
    ]);
    let archive = zip_archive(&[
        ("batch.csv", &sheet),
        ("scans/licence.png", PNG),
        ("scans/news.jpg", JPEG),
        ("scans/notes.txt", b"not an image"),
    ]);
    let (status, body) = app
        .upload(&app.tokens.provider, "application/zip", archive)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let results = body["results"].as_array().unwrap();
    assert_eq!(body["accepted"], 2, "{body}");
    // Errors name the row, the cell and the file.
    assert_eq!(results[1]["row"], 3);
    assert_eq!(results[1]["problems"][0]["field"], "scans[0]");
    assert_eq!(results[1]["problems"][0]["code"], "batch.scan_missing");
    assert!(
        results[1]["problems"][0]["message"]
            .as_str()
            .unwrap()
            .contains("scans/absent.png"),
        "{body}"
    );
    assert_eq!(results[2]["row"], 4);
    assert_eq!(results[2]["problems"][0]["code"], "attachment.not_image");
    assert!(
        results[2]["problems"][0]["message"]
            .as_str()
            .unwrap()
            .contains("scans/notes.txt"),
        "{body}"
    );

    let stored = app.store.versions_to_export(100).await.unwrap();
    assert_eq!(stored.len(), 2);
    let Submission::NewFilingWithScans { scans, .. } = &stored[0].body else {
        panic!("row 2 is not a new filing with scans: {:?}", stored[0].body)
    };
    assert_eq!(scans[0].shows, ScanOf::Submission);
    assert_eq!(scans[0].attachment.bytes, PNG);
    assert_eq!(
        scans[1].shows,
        ScanOf::PreApproval {
            website: 0,
            item: PreApprovalItem::News
        }
    );
    assert_eq!(scans[1].attachment.media_type, "image/jpeg");
    assert!(matches!(stored[1].body, Submission::NewFiling(_)));
}

#[tokio::test]
async fn a_sheet_alone_naming_scans_gets_the_row_refused_with_what_to_do() {
    let app = app_with(Limits::default());
    let sheet = csv_with_scans(&[(row(1, "example-one.cn", &[]), "other:scan.png")]);
    let (status, body) = app.upload(&app.tokens.provider, "text/csv", sheet).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body["results"][0]["problems"][0]["code"],
        "batch.scans_without_archive"
    );
}

#[tokio::test]
async fn zip_bomb_in_batch_scans_is_refused() {
    let app = app_with(Limits::default());
    let sheet = csv_with_scans(&[(row(1, "example-one.cn", &[]), "other:bomb.png")]);
    // 64 MiB of zeros after a PNG signature deflate to about 64 KiB.
    let mut bomb = PNG.to_vec();
    bomb.resize(64 * 1024 * 1024, 0);
    let archive = zip_archive(&[("batch.csv", &sheet), ("bomb.png", &bomb)]);
    assert!(archive.len() < 1024 * 1024, "{}", archive.len());
    let (status, body) = app
        .upload(&app.tokens.provider, "application/zip", archive)
        .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    let message = body["message"].as_str().unwrap();
    assert!(
        message.contains("bomb.png") && message.contains("limits.max_scan_bytes"),
        "{message}"
    );
    assert!(app.store.versions_to_export(10).await.unwrap().is_empty());
}

#[tokio::test]
async fn zip_path_traversal_is_refused() {
    let app = app_with(Limits::default());
    let sheet = csv_with_scans(&[(row(1, "example-one.cn", &[]), "other:../escape.png")]);
    for name in ["../escape.png", "/etc/escape.png", "scans\\..\\escape.png"] {
        let archive = zip_archive(&[("batch.csv", &sheet), (name, PNG)]);
        let (status, body) = app
            .upload(&app.tokens.provider, "application/zip", archive)
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{name}: {body}");
        let message = body["message"].as_str().unwrap();
        assert!(
            message.contains(&format!("{name:?}")) && message.contains("plain relative paths"),
            "{message}"
        );
    }
    assert!(app.store.versions_to_export(10).await.unwrap().is_empty());
}

/// Every byte of a small archive changed in turn, and every truncation: each is read or
/// refused, never a panic, and what is read keeps its caps.
#[test]
fn damaged_archives_are_refused_or_read_within_their_caps() {
    let good = zip_archive(&[
        ("batch.csv", b"on_behalf_of\n"),
        ("a.png", b"\x89PNG\r\n\x1a\n0123456789"),
    ]);
    assert!(outer::http::batch::read_archive(&good, 64).is_ok());
    for i in 0..good.len() {
        for value in [0x00, 0xff, good[i] ^ 0x01] {
            let mut damaged = good.clone();
            damaged[i] = value;
            if let Ok(read) = outer::http::batch::read_archive(&damaged, 64) {
                assert!(read.files.values().all(|f| f.len() <= 64));
            }
        }
        let _ = outer::http::batch::read_archive(&good[..i], 64);
    }
}
