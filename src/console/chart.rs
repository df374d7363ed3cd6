//! Charts drawn on the server as inline SVG: no JavaScript, no chart library, nothing to
//! fetch. Pure functions from numbers to markup; every label is escaped.

use crate::domain::MessageStamp;
use chrono::{DateTime, Duration, Timelike, Utc};
use std::fmt::Write as _;

const WIDTH: f64 = 720.0;
const HEIGHT: f64 = 180.0;
const PAD: f64 = 28.0;

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Messages by members and by the bot in each of the last 24 hours (oldest first), with
/// the hour labels.
pub fn hourly(stamps: &[MessageStamp], now: DateTime<Utc>) -> (Vec<String>, Vec<u64>, Vec<u64>) {
    let this_hour = now
        .with_minute(0)
        .and_then(|t| t.with_second(0))
        .and_then(|t| t.with_nanosecond(0))
        .unwrap_or(now);
    let start = this_hour - Duration::hours(23);
    let mut members = vec![0u64; 24];
    let mut bot = vec![0u64; 24];
    for s in stamps {
        let Ok(i) = usize::try_from((s.at - start).num_hours()) else {
            continue;
        };
        if s.at < start || i >= 24 {
            continue;
        }
        if s.by_bot {
            bot[i] += 1;
        } else {
            members[i] += 1;
        }
    }
    let labels = (0..24)
        .map(|i| format!("{:02}h", (start + Duration::hours(i)).hour()))
        .collect();
    (labels, members, bot)
}

/// Two stacked series of bars (members below, the bot on top) with a label every few bars.
pub fn stacked_bars(title: &str, labels: &[String], low: &[u64], high: &[u64]) -> String {
    let n = labels.len().max(1);
    let max = low
        .iter()
        .zip(high)
        .map(|(a, b)| a + b)
        .max()
        .unwrap_or(0)
        .max(1);
    let slot = (WIDTH - 2.0 * PAD) / n as f64;
    let bar = (slot * 0.7).max(1.0);
    let plot = HEIGHT - 2.0 * PAD;
    let mut svg = format!(
        r#"<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{}"><title>{}</title>"#,
        escape(title),
        escape(title)
    );
    let _ = write!(
        svg,
        r#"<line class="axis" x1="{PAD}" y1="{y}" x2="{x2}" y2="{y}"/><text class="tick" x="4" y="{ty}">{max}</text>"#,
        y = HEIGHT - PAD,
        x2 = WIDTH - PAD,
        ty = PAD + 4.0
    );
    for (i, label) in labels.iter().enumerate() {
        let x = PAD + i as f64 * slot + (slot - bar) / 2.0;
        let a = low.get(i).copied().unwrap_or(0) as f64 / max as f64 * plot;
        let b = high.get(i).copied().unwrap_or(0) as f64 / max as f64 * plot;
        let base = HEIGHT - PAD;
        let _ = write!(
            svg,
            r#"<rect class="s1" x="{x:.1}" y="{:.1}" width="{bar:.1}" height="{a:.1}"><title>{}: {} from members</title></rect>"#,
            base - a,
            escape(label),
            low.get(i).copied().unwrap_or(0)
        );
        let _ = write!(
            svg,
            r#"<rect class="s2" x="{x:.1}" y="{:.1}" width="{bar:.1}" height="{b:.1}"><title>{}: {} replies</title></rect>"#,
            base - a - b,
            escape(label),
            high.get(i).copied().unwrap_or(0)
        );
        if i % 3 == 0 {
            let _ = write!(
                svg,
                r#"<text class="tick" x="{:.1}" y="{:.1}">{}</text>"#,
                x,
                HEIGHT - PAD + 16.0,
                escape(label)
            );
        }
    }
    svg.push_str("</svg>");
    svg
}

/// One row of [`meters`]: a value on its own scale.
pub struct Meter {
    pub name: String,
    pub value: i64,
    pub min: i64,
    pub max: i64,
}

/// One horizontal bar per value, each on its own scale (mood dimensions, relationship
/// metrics).
pub fn meters(title: &str, rows: &[Meter]) -> String {
    let row = 34.0;
    let height = row * rows.len().max(1) as f64 + 8.0;
    let label_w = 130.0;
    let track = WIDTH - label_w - 60.0;
    let mut svg = format!(
        r#"<svg class="chart meters" viewBox="0 0 {WIDTH} {height}" role="img" aria-label="{}"><title>{}</title>"#,
        escape(title),
        escape(title)
    );
    for (i, m) in rows.iter().enumerate() {
        let y = 6.0 + i as f64 * row;
        let span = (m.max - m.min).max(1);
        let w = ((m.value - m.min).clamp(0, span) as f64 / span as f64) * track;
        let _ = write!(
            svg,
            r#"<text class="label" x="0" y="{:.1}">{}</text><rect class="track" x="{label_w}" y="{y:.1}" width="{track:.1}" height="20" rx="10"/><rect class="s1" x="{label_w}" y="{y:.1}" width="{w:.1}" height="20" rx="10"/><text class="label" x="{:.1}" y="{:.1}">{}</text>"#,
            y + 15.0,
            escape(&m.name),
            label_w + track + 10.0,
            y + 15.0,
            m.value
        );
    }
    svg.push_str("</svg>");
    svg
}

/// One line of [`lines`]: points in time order.
pub struct Series {
    pub name: String,
    /// Colour class `c0`..`c3`.
    pub colour: usize,
    pub points: Vec<(DateTime<Utc>, i64)>,
}

/// Lines over time on one scale (`min..=max`), each series in its own colour class; the
/// time axis spans `window` when given, else the points.
pub fn lines(
    title: &str,
    series: &[Series],
    (min, max): (i64, i64),
    window: Option<(DateTime<Utc>, DateTime<Utc>)>,
) -> String {
    let times = series.iter().flat_map(|s| s.points.iter().map(|p| p.0));
    let (Some(first), Some(last)) = (times.clone().min(), times.max()) else {
        return String::new();
    };
    let (first, last) = window.unwrap_or((first, last));
    let span = (last - first).num_seconds().max(1) as f64;
    let range = (max - min).max(1) as f64;
    let plot_w = WIDTH - 2.0 * PAD - 90.0;
    let plot_h = HEIGHT - 2.0 * PAD;
    let x = |t: DateTime<Utc>| PAD + (t - first).num_seconds() as f64 / span * plot_w;
    let y = |v: i64| HEIGHT - PAD - (v - min) as f64 / range * plot_h;
    let mut svg = format!(
        r#"<svg class="chart lines" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{}"><title>{}</title><line class="axis" x1="{PAD}" y1="{b}" x2="{r}" y2="{b}"/><text class="tick" x="2" y="{top}">{max}</text><text class="tick" x="2" y="{b}">{min}</text>"#,
        escape(title),
        escape(title),
        b = HEIGHT - PAD,
        r = PAD + plot_w,
        top = PAD + 4.0
    );
    // Labels at the lines' ends, moved apart when two lines end at the same height.
    let mut placed: Vec<f64> = Vec::new();
    for s in series {
        let i = s.colour % 4;
        let path: Vec<String> = s
            .points
            .iter()
            .map(|(t, v)| format!("{:.1},{:.1}", x(*t), y(*v)))
            .collect();
        let Some(end) = s.points.last() else { continue };
        let mut label_y = y(end.1) + 5.0;
        while placed.iter().any(|p| (p - label_y).abs() < 14.0) {
            label_y += 14.0;
        }
        for (t, v) in &s.points {
            let _ = write!(
                svg,
                r#"<circle class="dot c{i}" cx="{:.1}" cy="{:.1}" r="3.5"/>"#,
                x(*t),
                y(*v)
            );
        }
        let _ = write!(
            svg,
            r#"<polyline class="line c{i}" points="{}"/><text class="label c{i}" x="{:.1}" y="{:.1}">{}</text>"#,
            path.join(" "),
            PAD + plot_w + 8.0,
            label_y,
            escape(&s.name)
        );
        placed.push(label_y);
    }
    let _ = write!(
        svg,
        r#"<text class="tick" x="{PAD}" y="{:.1}">{}</text><text class="tick" x="{:.1}" y="{:.1}">{}</text>"#,
        HEIGHT - PAD + 16.0,
        first.format("%Y-%m-%d"),
        PAD + plot_w - 60.0,
        HEIGHT - PAD + 16.0,
        last.format("%Y-%m-%d")
    );
    svg.push_str("</svg>");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn counts_fall_in_their_hour_and_labels_are_escaped() {
        let now = Utc
            .with_ymd_and_hms(2026, 1, 2, 10, 30, 0)
            .single()
            .expect("time");
        let stamps = [
            MessageStamp {
                at: now,
                by_bot: false,
            },
            MessageStamp {
                at: now - Duration::minutes(20),
                by_bot: true,
            },
            MessageStamp {
                at: now - Duration::hours(5),
                by_bot: false,
            },
            MessageStamp {
                at: now - Duration::hours(30),
                by_bot: false,
            },
        ];
        let (labels, members, bot) = hourly(&stamps, now);
        assert_eq!(labels.last().map(String::as_str), Some("10h"));
        assert_eq!((members[23], bot[23], members[18]), (1, 1, 1));
        assert_eq!(members.iter().sum::<u64>(), 2);
        let row = Meter {
            name: "<b>".into(),
            value: 5,
            min: 0,
            max: 10,
        };
        let svg = meters("<mood>", &[row]);
        assert!(svg.contains("&lt;b&gt;") && !svg.contains("<b>"));
    }
}
