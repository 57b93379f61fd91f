//! The read-only operations page both sides serve (`/ops` on the outer service,
//! `sluice-inner serve-ops` inside): plots over time of the numbers the Prometheus metrics give,
//! as server-rendered HTML with inline SVG, in Chinese with English beside it.
//!
//! It lives here, beside the exit codes both sides share, because `outer` and `inner` never
//! depend on each other. Everything here is pure: samples in, text out; no I/O, no clock.
//!
//! The history is what `sluice-transfer status --prometheus --record-history` keeps: every
//! sample line of the metrics it renders, stored with the time it was taken in the side's own
//! store (`ops_samples`). A plot is therefore exactly the series Prometheus would have scraped
//! from the same runs, one point per metrics run.

use std::collections::BTreeMap;
use std::fmt::Write as _;

/// One metric sample as it was recorded: the time it was taken, the metric's name, its labels as
/// the exposition format writes them (`channel="1"`, or empty), and its value.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// When the metrics run took it, Unix seconds.
    pub taken_at: i64,
    /// Metric name (`sluice_outer_pending_versions`).
    pub metric: String,
    /// Labels inside the braces, as rendered (`channel="1"`), or empty.
    pub labels: String,
    /// The value.
    pub value: f64,
}

/// The samples of a Prometheus text exposition taken at `taken_at`: every line that is not a
/// comment, as (metric, labels, value). Lines that do not parse are left out, never guessed.
pub fn parse_exposition(text: &str, taken_at: i64) -> Vec<Sample> {
    text.lines()
        .filter(|line| !line.starts_with('#') && !line.trim().is_empty())
        .filter_map(|line| {
            let (series, value) = line.rsplit_once(' ')?;
            let value: f64 = value.parse().ok()?;
            let (metric, labels) = match series.split_once('{') {
                Some((metric, rest)) => (metric, rest.strip_suffix('}')?),
                None => (series, ""),
            };
            Some(Sample {
                taken_at,
                metric: metric.to_owned(),
                labels: labels.to_owned(),
                value,
            })
        })
        .collect()
}

/// How a plotted series is made from a metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transform {
    /// The value as recorded.
    Value,
    /// A Unix timestamp turned into its age when the sample was taken (seconds), so that "last
    /// import at" reads as "lag".
    AgeAt,
}

/// One chart: a title in both languages, a unit, and the metrics plotted on it (each label set
/// of a metric is a line of its own).
#[derive(Debug, Clone, Copy)]
pub struct Chart {
    /// Element id, for tests and links (`lag`).
    pub id: &'static str,
    /// Chinese title.
    pub zh: &'static str,
    /// English title.
    pub en: &'static str,
    /// Unit of the y axis, in English (`seconds`, `bundles`).
    pub unit: &'static str,
    /// Metrics plotted, with how each becomes a series.
    pub metrics: &'static [(&'static str, Transform)],
}

/// The chart both sides show of the bundles in quarantine (`sluice_quarantined_bundles`, a
/// metric each side's status gives).
pub const QUARANTINE_CHART: Chart = Chart {
    id: "quarantine",
    zh: "隔离区中的批次",
    en: "Bundles in quarantine",
    unit: "bundles",
    metrics: &[("sluice_quarantined_bundles", Transform::Value)],
};

/// A timer's last run, as the side's ledger shows it.
#[derive(Debug, Clone)]
pub struct LastRun {
    /// The timer (`export`), as its unit is named.
    pub timer: &'static str,
    /// What it does, in Chinese.
    pub zh: &'static str,
    /// What it does, in English.
    pub en: &'static str,
    /// When it last left a trace in the ledger, Unix seconds; `None` if never.
    pub at: Option<i64>,
    /// Which ledger row that is, in English (`last bundle written`).
    pub evidence: &'static str,
}

impl LastRun {
    /// The metrics run's (`status --prometheus`) last run, as both sides show it: when its
    /// newest sample was recorded.
    pub fn metrics(at: Option<i64>) -> LastRun {
        LastRun {
            timer: "status --prometheus",
            zh: "指标",
            en: "metrics",
            at,
            evidence: "newest sample recorded",
        }
    }
}

/// Everything one page shows.
#[derive(Debug)]
pub struct Page<'a> {
    /// `outer` or `inner`.
    pub side: &'static str,
    /// Chinese page title.
    pub zh: &'static str,
    /// English page title.
    pub en: &'static str,
    /// When the page is rendered, Unix seconds.
    pub now: i64,
    /// The history window shown, seconds back from `now`.
    pub window: i64,
    /// The charts, in order.
    pub charts: &'a [Chart],
    /// Samples within the window, any order.
    pub samples: &'a [Sample],
    /// Each timer's last run.
    pub last_runs: &'a [LastRun],
}

/// The Content-Security-Policy the page is served with: no script at all, the one inline style
/// sheet, inline SVG only, never framed.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; style-src 'unsafe-inline'; \
     img-src 'self' data:; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// How much history a page shows by default, in hours.
pub const DEFAULT_HOURS: i64 = 48;
/// The most history a page shows, in hours (the samples are kept 30 days).
pub const MAX_HOURS: i64 = 24 * 30;

/// The window asked for in a page's query string with `hours=N`, from 1 to [`MAX_HOURS`];
/// anything else (missing, malformed, repeated: the first counts) is [`DEFAULT_HOURS`].
pub fn hours_asked(query: Option<&str>) -> i64 {
    query
        .unwrap_or_default()
        .split('&')
        .find_map(|pair| pair.strip_prefix("hours="))
        .and_then(|hours| hours.parse::<i64>().ok())
        .unwrap_or(DEFAULT_HOURS)
        .clamp(1, MAX_HOURS)
}

/// The history window a page's query string asks for ([`hours_asked`]), in seconds.
pub fn window_asked(query: Option<&str>) -> i64 {
    hours_asked(query) * 3600
}

/// Escapes text for HTML and SVG element content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Line colours, distinguishable in print and for the common colour blindnesses.
const COLOURS: [&str; 6] = [
    "#0b5394", "#b22222", "#38761d", "#b45f06", "#674ea7", "#444444",
];
const WIDTH: f64 = 720.0;
const HEIGHT: f64 = 200.0;
const LEFT: f64 = 64.0;
const RIGHT: f64 = 12.0;
const TOP: f64 = 12.0;
const BOTTOM: f64 = 28.0;

/// One plotted line: its name (metric and labels) and its points.
struct Series {
    name: String,
    points: Vec<(i64, f64)>,
}

fn series_of(chart: &Chart, samples: &[Sample]) -> Vec<Series> {
    let mut by_name: BTreeMap<String, Vec<(i64, f64)>> = BTreeMap::new();
    for (metric, transform) in chart.metrics {
        for sample in samples.iter().filter(|s| s.metric == *metric) {
            let name = if sample.labels.is_empty() {
                (*metric).to_owned()
            } else {
                format!("{metric}{{{}}}", sample.labels)
            };
            let value = match transform {
                Transform::Value => sample.value,
                Transform::AgeAt => (sample.taken_at as f64 - sample.value).max(0.0),
            };
            by_name
                .entry(name)
                .or_default()
                .push((sample.taken_at, value));
        }
    }
    by_name
        .into_iter()
        .map(|(name, mut points)| {
            points.sort_by_key(|(t, _)| *t);
            Series { name, points }
        })
        .collect()
}

/// A number for an axis or a table: whole numbers without decimals.
fn number(value: f64) -> String {
    if value.fract() == 0.0 && value.abs() < 1e15 {
        format!("{value:.0}")
    } else {
        format!("{value:.2}")
    }
}

fn chart_svg(out: &mut String, chart: &Chart, series: &[Series], from: i64, to: i64) {
    let top = series
        .iter()
        .flat_map(|s| s.points.iter().map(|(_, v)| *v))
        .fold(0.0_f64, f64::max);
    let top = if top <= 0.0 { 1.0 } else { top * 1.1 };
    let span = (to - from).max(1) as f64;
    let x = |t: i64| LEFT + (t - from) as f64 / span * (WIDTH - LEFT - RIGHT);
    let y = |v: f64| TOP + (1.0 - v / top) * (HEIGHT - TOP - BOTTOM);
    let _ = write!(
        out,
        r##"<svg class="chart" id="chart-{id}" role="img" aria-label="{en}" viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}" xmlns="http://www.w3.org/2000/svg">
<rect x="{LEFT}" y="{TOP}" width="{w}" height="{h}" fill="#fafafa" stroke="#999"/>
<text x="{lx}" y="{ty}" text-anchor="end" font-size="11">{top_label}</text>
<text x="{lx}" y="{by}" text-anchor="end" font-size="11">0</text>
<text x="{LEFT}" y="{ay}" font-size="11">{from_label}</text>
<text x="{rx}" y="{ay}" text-anchor="end" font-size="11">{to_label}</text>
"##,
        id = chart.id,
        en = escape(chart.en),
        w = WIDTH - LEFT - RIGHT,
        h = HEIGHT - TOP - BOTTOM,
        lx = LEFT - 4.0,
        ty = TOP + 10.0,
        by = HEIGHT - BOTTOM,
        ay = HEIGHT - 10.0,
        rx = WIDTH - RIGHT,
        top_label = number(top),
        from_label = crate::time::rfc3339(from),
        to_label = crate::time::rfc3339(to),
    );
    for (i, line) in series.iter().enumerate() {
        let colour = COLOURS[i % COLOURS.len()];
        let points: Vec<String> = line
            .points
            .iter()
            .map(|(t, v)| format!("{:.1},{:.1}", x(*t), y(*v)))
            .collect();
        if points.len() == 1 {
            let _ = writeln!(
                out,
                r#"<circle cx="{:.1}" cy="{:.1}" r="3" fill="{colour}"/>"#,
                x(line.points[0].0),
                y(line.points[0].1)
            );
        } else {
            let _ = writeln!(
                out,
                r#"<polyline fill="none" stroke="{colour}" stroke-width="2" points="{}"><title>{}</title></polyline>"#,
                points.join(" "),
                escape(&line.name)
            );
        }
    }
    out.push_str("</svg>\n");
}

/// The page.
pub fn render(page: &Page<'_>) -> String {
    let from = page.now - page.window;
    let mut out = String::new();
    let _ = write!(
        out,
        r#"<!DOCTYPE html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="refresh" content="60">
<title>{zh} · {en}</title>
<style>
body {{ font-family: "Noto Sans CJK SC", "WenQuanYi Micro Hei", sans-serif; margin: 1.5em auto; max-width: 60em; color: #1a1a1a; background: #ffffff; }}
h1 {{ font-size: 1.6em; border-bottom: 3px solid #0b5394; padding-bottom: .3em; }}
h2 {{ font-size: 1.2em; margin-top: 1.5em; }}
table {{ border-collapse: collapse; margin: .5em 0; }}
th, td {{ border: 1px solid #999; padding: .3em .6em; text-align: left; }}
th {{ background: #eeeeee; }}
td.num {{ text-align: right; font-variant-numeric: tabular-nums; }}
.en {{ color: #555; }}
.never {{ color: #b22222; font-weight: bold; }}
.legend span {{ margin-right: 1.2em; font-size: .9em; }}
.empty {{ color: #b22222; }}
</style>
</head>
<body>
<h1 id="title">{zh} <span class="en">{en}</span></h1>
<p>只读页面，每分钟刷新；数据取自指标运行时记录的样本。 <span class="en">Read-only; refreshes every minute; from the samples the metrics runs recorded.</span><br>
时间窗口 <span class="en">Window</span>: {from_label} — {to_label} (UTC)</p>
"#,
        zh = escape(page.zh),
        en = escape(page.en),
        from_label = crate::time::rfc3339(from),
        to_label = crate::time::rfc3339(page.now),
    );
    out.push_str(
        "<h2>定时任务最近一次运行 <span class=\"en\">Last run of each timer</span></h2>\n\
         <table id=\"last-runs\">\n<tr><th>任务 <span class=\"en\">Timer</span></th>\
         <th>最近运行 <span class=\"en\">Last run</span></th><th>距今 <span class=\"en\">Ago</span></th>\
         <th>依据 <span class=\"en\">Evidence</span></th></tr>\n",
    );
    for run in page.last_runs {
        let (at, ago) = match run.at {
            Some(at) => (
                crate::time::rfc3339(at),
                format!("{} s", page.now.saturating_sub(at).max(0)),
            ),
            None => (
                "<span class=\"never\">从未 never</span>".to_owned(),
                "—".to_owned(),
            ),
        };
        let _ = writeln!(
            out,
            "<tr data-timer=\"{timer}\"><td>{zh} <span class=\"en\">{en}</span> (<code>{timer}</code>)</td><td>{at}</td><td class=\"num\">{ago}</td><td class=\"en\">{evidence}</td></tr>",
            timer = escape(run.timer),
            zh = escape(run.zh),
            en = escape(run.en),
            evidence = escape(run.evidence),
        );
    }
    out.push_str("</table>\n");
    if page.samples.is_empty() {
        out.push_str(
            "<p class=\"empty\" id=\"no-history\">尚无历史样本：请以 <code>--record-history</code> 运行指标任务。 \
             <span class=\"en\">No history yet: run the metrics timer with \
             <code>sluice-transfer status --prometheus --record-history</code>.</span></p>\n",
        );
    }
    for chart in page.charts {
        let series = series_of(chart, page.samples);
        // A history shorter than the window is drawn across the whole width.
        let first = page.samples.iter().map(|s| s.taken_at).min();
        let chart_from = first.map_or(from, |first| first.max(from));
        let _ = writeln!(
            out,
            "<section id=\"{id}\"><h2>{zh} <span class=\"en\">{en} ({unit})</span></h2>",
            id = chart.id,
            zh = escape(chart.zh),
            en = escape(chart.en),
            unit = escape(chart.unit),
        );
        chart_svg(&mut out, chart, &series, chart_from, page.now);
        out.push_str("<table class=\"latest\"><tr><th>序列 <span class=\"en\">Series</span></th><th>最新值 <span class=\"en\">Latest</span></th><th>时间 <span class=\"en\">At</span></th></tr>\n");
        for (i, line) in series.iter().enumerate() {
            if let Some((at, value)) = line.points.last() {
                let _ = writeln!(
                    out,
                    "<tr><td><span style=\"color:{colour}\">■</span> <code>{name}</code></td><td class=\"num\">{value}</td><td>{at}</td></tr>",
                    colour = COLOURS[i % COLOURS.len()],
                    name = escape(&line.name),
                    value = number(*value),
                    at = crate::time::rfc3339(*at),
                );
            }
        }
        if series.is_empty() {
            out.push_str("<tr><td colspan=\"3\" class=\"empty\">无数据 <span class=\"en\">no data</span></td></tr>\n");
        }
        out.push_str("</table></section>\n");
    }
    out.push_str("</body>\n</html>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_window_is_the_first_hours_given_within_thirty_days() {
        assert_eq!(hours_asked(None), DEFAULT_HOURS);
        assert_eq!(hours_asked(Some("hours=6&hours=9")), 6);
        assert_eq!(hours_asked(Some("x=1&hours=100000")), MAX_HOURS);
        assert_eq!(hours_asked(Some("hours=-5")), 1);
        assert_eq!(hours_asked(Some("hours=abc")), DEFAULT_HOURS);
    }

    #[test]
    fn every_sample_line_is_read_and_comments_and_damage_are_left_out() {
        let text = "# HELP a b\n# TYPE a gauge\na 3\nb{channel=\"1\"} 4.5\nbroken\nc{x=\"1\" 2\n";
        let samples = parse_exposition(text, 100);
        assert_eq!(
            samples,
            [
                Sample {
                    taken_at: 100,
                    metric: "a".into(),
                    labels: String::new(),
                    value: 3.0
                },
                Sample {
                    taken_at: 100,
                    metric: "b".into(),
                    labels: "channel=\"1\"".into(),
                    value: 4.5
                },
            ]
        );
    }

    #[test]
    fn a_timestamp_metric_is_plotted_as_its_age_and_labels_are_escaped() {
        const CHARTS: [Chart; 1] = [Chart {
            id: "lag",
            zh: "滞后",
            en: "Lag",
            unit: "seconds",
            metrics: &[("last_import", Transform::AgeAt)],
        }];
        let samples = [
            Sample {
                taken_at: 1000,
                metric: "last_import".into(),
                labels: "channel=\"<1>\"".into(),
                value: 940.0,
            },
            Sample {
                taken_at: 1060,
                metric: "last_import".into(),
                labels: "channel=\"<1>\"".into(),
                value: 1060.0,
            },
        ];
        let html = render(&Page {
            side: "inner",
            zh: "运行",
            en: "Operations",
            now: 1100,
            window: 3600,
            charts: &CHARTS,
            samples: &samples,
            last_runs: &[],
        });
        assert!(html.contains("<polyline"), "{html}");
        assert!(html.contains("channel=&quot;&lt;1&gt;&quot;"), "{html}");
        assert!(!html.contains("<1>"), "{html}");
        // The latest point is an age of 0 s (imported when sampled), the first 60 s.
        assert!(html.contains("<td class=\"num\">0</td>"), "{html}");
        assert!(!html.contains("<script"), "{html}");
    }
}
