//! `sluice-keys`: generate, show and export keys, and manage keysets.

fn main() {}
