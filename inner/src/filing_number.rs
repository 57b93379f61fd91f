//! Filing numbers: province prefix + `ICP备` + year + six-digit serial + `号`, e.g.
//! `京ICP备2026000123号`; a website's number adds `-1`, `-2`… The serials are handed out by the
//! database (see [`crate::review`]); the format is the filing manuals' rule and lives in the
//! `filing` crate with the intake's checks of it, re-exported here under the inner's names.

pub use filing::number::{
    MAX_SERIAL, format_filing_number as format, split_website_number, website_number,
};
pub use filing::province::province_of_region;
