//! The outer service's batch archive reader (`batch::read_archive`) on arbitrary bytes: a zip
//! of the sheet and its scans. Whatever it accepts holds a sheet and only plain relative file
//! names, each file within the scan limit; everything else is refused with an error, never a
//! panic and never more memory than the caps allow.
#![no_main]

use libfuzzer_sys::fuzz_target;
use outer::http::batch::read_archive;

/// A small scan limit, so that inputs reach it; the cap is the same code for any value.
const MAX_SCAN_BYTES: usize = 4096;

fuzz_target!(|bytes: &[u8]| {
    let Ok(archive) = read_archive(bytes, MAX_SCAN_BYTES) else {
        return;
    };
    for (name, file) in &archive.files {
        assert!(file.len() <= MAX_SCAN_BYTES, "{name} is over the scan limit");
        assert!(
            !name.starts_with('/')
                && !name.contains('\\')
                && !name.split('/').any(|part| part == ".." || part == "."),
            "{name} is not a plain relative path"
        );
    }
});
