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

/// One horizontal bar per value on a 0..=`max` scale (mood dimensions, relationship metrics).
pub fn meters(title: &str, values: &[(String, i64)], min: i64, max: i64) -> String {
    let row = 26.0;
    let height = row * values.len().max(1) as f64 + 8.0;
    let label_w = 110.0;
    let span = (max - min).max(1) as f64;
    let track = WIDTH - label_w - 60.0;
    let mut svg = format!(
        r#"<svg class="chart meters" viewBox="0 0 {WIDTH} {height}" role="img" aria-label="{}"><title>{}</title>"#,
        escape(title),
        escape(title)
    );
    for (i, (name, value)) in values.iter().enumerate() {
        let y = 4.0 + i as f64 * row;
        let w = ((*value - min).clamp(0, max - min) as f64 / span) * track;
        let _ = write!(
            svg,
            r#"<text class="label" x="0" y="{:.1}">{}</text><rect class="track" x="{label_w}" y="{y:.1}" width="{track:.1}" height="16" rx="8"/><rect class="s1" x="{label_w}" y="{y:.1}" width="{w:.1}" height="16" rx="8"/><text class="tick" x="{:.1}" y="{:.1}">{value}</text>"#,
            y + 13.0,
            escape(name),
            label_w + track + 8.0,
            y + 13.0
        );
    }
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
        let svg = meters("<mood>", &[("<b>".into(), 5)], 0, 10);
        assert!(svg.contains("&lt;b&gt;") && !svg.contains("<b>"));
    }
}
