//! The benchmarks' synthetic filings (`inner::bench_support`) are filings the intake accepts
//! and the import's re-check lets through: a benchmark whose bundles were quarantined would
//! measure the quarantine, not the import.

use inner::bench_support::{self, MAX_FILINGS};

const NOW: i64 = 1_795_334_400;

#[test]
fn bench_filings_pass_the_import_recheck() {
    let mut filings: Vec<_> = (0..3_000).map(|i| bench_support::filing(i, NOW)).collect();
    for i in [199_999, 999_999, 1_000_000, MAX_FILINGS - 1] {
        filings.push(bench_support::filing(i, NOW));
    }
    if let Err(breach) = transfer::recheck::recheck(&filings) {
        panic!("{breach}");
    }
}

#[test]
fn bench_check_characters_agree_with_the_intake() {
    for i in (0..MAX_FILINGS).step_by(9_973).chain(0..2_000) {
        let code = bench_support::credit_code(i);
        assert_eq!(
            filing::unified_social_credit_code(&code).map_err(|r| r.message),
            Ok(code.clone())
        );
        let id = bench_support::resident_id(i);
        assert_eq!(
            filing::resident_id(&id).map_err(|r| r.message),
            Ok(id.clone())
        );
    }
}
