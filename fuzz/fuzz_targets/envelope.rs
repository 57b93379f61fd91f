//! The signify envelope parser (`bundle_format::envelope::open`, SPEC.md §2.2) on arbitrary
//! bytes, then signature verification against the fixture keyset.
#![no_main]

use bundle_format::bundle::{MAX_FILE_BYTES, ReadLimits};
use keys::Role;
use libfuzzer_sys::fuzz_target;
use sluice_fuzz::{CHANNEL, NOW, fixture};

fuzz_target!(|file: &[u8]| {
    let Ok(opened) = bundle_format::envelope::open(file, MAX_FILE_BYTES) else {
        return;
    };
    // The message is every byte after line 2, exactly as received (§2.1).
    assert_eq!(opened.message_offset + opened.message.len(), file.len());
    assert_eq!(&file[opened.message_offset..], opened.message);
    assert!(!opened.comment.is_empty() && !opened.comment.contains(&b'\n'));
    let _ = opened.comment_text();
    for role in [Role::OuterBundle, Role::InnerReturn] {
        let _ = opened.verify(&fixture().keyset, role, Some(CHANNEL), NOW);
    }
    let _ = bundle_format::peek_unverified(file, &ReadLimits::default());
});
