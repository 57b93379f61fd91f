//! Headless Chromium for the tests of the server-rendered pages: the DOM a real browser builds
//! from a page, and a screenshot of it kept under `target/` for a person to look at. A missing
//! browser fails the test with the Debian package to install; no test skips itself.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Where Debian's `chromium` package installs the browser.
pub const CHROMIUM: &str = "/usr/bin/chromium";

/// The flags of a locked-down test browser: headless, no sandbox, no GPU, no network of its
/// own beyond the page, and one window size for every screenshot.
pub(crate) const LOCKED_DOWN: &[&str] = &[
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--hide-scrollbars",
    "--window-size=1000,1400",
];

/// Fails the test, naming the Debian package to install, when Chromium is missing.
pub(crate) fn assert_installed() {
    assert!(
        Path::new(CHROMIUM).exists(),
        "{CHROMIUM} is missing: install the Debian package `chromium` (apt-get install chromium)"
    );
}

/// Runs headless Chromium with the flags of a locked-down test browser (its own profile in
/// `profile`, no network beyond the page, no GPU) plus `extra`, and returns what it printed.
/// Two minutes is a guard against a hung browser, not a speed assertion.
pub fn chromium(profile: &Path, extra: &[String]) -> Output {
    assert_installed();
    let mut child = Command::new(CHROMIUM)
        .args(LOCKED_DOWN)
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("chromium could not be started");
    let started = Instant::now();
    while child.try_wait().expect("waiting for chromium").is_none() {
        if started.elapsed() > Duration::from_secs(120) {
            let _ = child.kill();
            panic!("chromium did not finish within two minutes");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child.wait_with_output().expect("chromium's output")
}

/// The DOM Chromium builds from `url`, after checking that it ran.
pub fn dump_dom(profile: &Path, url: &str) -> String {
    let output = chromium(profile, &["--dump-dom".into(), url.to_owned()]);
    assert!(
        output.status.success(),
        "chromium failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Takes a screenshot of `url` into `target/tmp/NAME` (the integration tests' scratch directory
/// Cargo keeps, `CARGO_TARGET_TMPDIR` of the calling test, given as `target_tmp`) and returns
/// its path; it stays there after the test as its artefact.
pub fn screenshot(profile: &Path, url: &str, target_tmp: &Path, name: &str) -> PathBuf {
    std::fs::create_dir_all(target_tmp).expect("creating the screenshot directory");
    let shot = target_tmp.join(name);
    let _ = std::fs::remove_file(&shot);
    let output = chromium(
        profile,
        &[format!("--screenshot={}", shot.display()), url.to_owned()],
    );
    assert!(
        output.status.success(),
        "chromium failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    shot
}

/// Dark pixels and distinct coarse colours of a PNG screenshot: text shows as dark pixels,
/// plotted lines as colours beyond the page's grey and white.
pub fn screenshot_ink(path: &Path) -> (usize, usize) {
    let file = std::fs::File::open(path)
        .unwrap_or_else(|e| panic!("no screenshot at {}: {e}", path.display()));
    let mut decoder = png::Decoder::new(std::io::BufReader::new(file));
    decoder.set_transformations(png::Transformations::normalize_to_color8());
    let mut reader = decoder.read_info().expect("a PNG screenshot");
    let mut pixels = vec![0; reader.output_buffer_size()];
    let frame = reader.next_frame(&mut pixels).expect("a PNG frame");
    let channels = frame.color_type.samples();
    let mut dark = 0;
    let mut colours = std::collections::HashSet::new();
    for pixel in pixels[..frame.buffer_size()].chunks(channels) {
        let (r, g, b) = if channels >= 3 {
            (pixel[0], pixel[1], pixel[2])
        } else {
            (pixel[0], pixel[0], pixel[0])
        };
        if u16::from(r) + u16::from(g) + u16::from(b) < 300 {
            dark += 1;
        }
        colours.insert((r >> 5, g >> 5, b >> 5));
    }
    (dark, colours.len())
}

/// Checks that the table of latest values on an operations page (either side's `/ops`), as
/// Chromium built it in `dom`, shows `value` for the metric `series`.
pub fn assert_latest_value(dom: &str, series: &str, value: &str) {
    assert!(
        dom.contains(&format!(
            "<code>{series}</code></td><td class=\"num\">{value}</td>"
        )),
        "{series} = {value} in {dom}"
    );
}

/// Checks the ink of an operations page's screenshot (`(dark, colours)`, as
/// [`screenshot_ink`] counts them): text to read, and the colours of its plots.
pub fn assert_plots_rendered((dark, colours): (usize, usize)) {
    assert!(
        dark > 2000,
        "the screenshot shows almost no text ({dark} dark pixels)"
    );
    assert!(
        colours >= 4,
        "the screenshot has {colours} colours; the plots did not render"
    );
}
