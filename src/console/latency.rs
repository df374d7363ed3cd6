//! Model latency quantiles for the dashboard, read from the ops server's own Prometheus
//! histogram (`personabot_model_call_seconds`): the bucket bound under which the given share
//! of calls finished. Pure: text in, figures out.

/// For each of `quantiles`, the smallest bucket bound (seconds) at or under which that share
/// of the `kind` calls of `metric` finished; `None` before the first call.
pub fn bucket_quantiles(
    text: &str,
    metric: &str,
    kind: &str,
    quantiles: &[f64],
) -> Option<Vec<f64>> {
    let prefix = format!("{metric}_bucket{{");
    let label = format!("kind=\"{kind}\"");
    let mut buckets: Vec<(f64, f64)> = text
        .lines()
        .filter(|l| l.starts_with(&prefix) && l.contains(&label))
        .filter_map(|l| {
            let le = l.split("le=\"").nth(1)?.split('"').next()?;
            let bound = if le == "+Inf" {
                f64::INFINITY
            } else {
                le.parse().ok()?
            };
            let count: f64 = l.rsplit(' ').next()?.parse().ok()?;
            Some((bound, count))
        })
        .collect();
    buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
    let total = buckets.last()?.1;
    if total <= 0.0 {
        return None;
    }
    Some(
        quantiles
            .iter()
            .map(|q| {
                buckets
                    .iter()
                    .find(|(_, count)| *count >= q * total)
                    .map_or(f64::INFINITY, |(bound, _)| *bound)
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_come_from_cumulative_buckets() {
        let text = "\
# TYPE personabot_model_call_seconds histogram
personabot_model_call_seconds_bucket{kind=\"chat\",le=\"0.1\"} 50
personabot_model_call_seconds_bucket{kind=\"chat\",le=\"0.5\"} 90
personabot_model_call_seconds_bucket{kind=\"chat\",le=\"1\"} 100
personabot_model_call_seconds_bucket{kind=\"chat\",le=\"+Inf\"} 100
personabot_model_call_seconds_bucket{kind=\"judge\",le=\"+Inf\"} 7
";
        let q = bucket_quantiles(text, "personabot_model_call_seconds", "chat", &[0.5, 0.95]);
        assert_eq!(q, Some(vec![0.1, 1.0]));
        assert_eq!(
            bucket_quantiles("", "personabot_model_call_seconds", "chat", &[0.5]),
            None
        );
    }
}
