//! Long-term memory rules: reading the facts an LLM extracted, deciding whether a new
//! fact repeats, contradicts or adds to what is stored, and which facts to show.
//!
//! Similarity is an embedding cosine when an embedding model is configured, otherwise a
//! lexical measure. Clear duplicates are merged without asking; borderline pairs go to a
//! cheap LLM judgement (`NeedsJudgement`), so the thresholds trade cost for accuracy.

use std::collections::BTreeSet;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde_json::Value;

use super::json::{ParseError, json_candidates};
use super::model::{MemoryFact, NewFact};

/// Longest fact kept, in characters.
pub const MAX_FACT_CHARS: usize = 500;

/// Cosine similarity; 0 for empty, mismatched or zero vectors.
pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    if a.is_empty() || a.len() != b.len() {
        return 0.0;
    }
    let (mut dot, mut na, mut nb) = (0.0f64, 0.0f64, 0.0f64);
    for (x, y) in a.iter().zip(b) {
        let (x, y) = (f64::from(*x), f64::from(*y));
        dot += x * y;
        na += x * x;
        nb += y * y;
    }
    if na == 0.0 || nb == 0.0 || !dot.is_finite() || !na.is_finite() || !nb.is_finite() {
        return 0.0;
    }
    (dot / (na.sqrt() * nb.sqrt())).clamp(-1.0, 1.0) as f32
}

const STOPWORDS: [&str; 48] = [
    "a", "an", "the", "and", "or", "but", "of", "to", "in", "on", "at", "for", "with", "by",
    "from", "as", "is", "are", "was", "were", "be", "been", "being", "it", "its", "that", "this",
    "their", "they", "them", "he", "she", "his", "her", "has", "have", "had", "do", "does", "did",
    "very", "really", "lot", "lots", "much", "so", "also", "user",
];

/// Words that flip meaning; they are kept (as "not") so "likes tea" and "doesn't like
/// tea" do not look identical.
fn is_negation(word: &str) -> bool {
    matches!(word, "not" | "no" | "never" | "nor" | "cannot")
        || word.ends_with("n't")
        || NEG_CONTRACTIONS.contains(&word)
}

/// Negative contractions typed without the apostrophe.
const NEG_CONTRACTIONS: [&str; 10] = [
    "dont", "doesnt", "didnt", "isnt", "arent", "wasnt", "werent", "wont", "cant", "hasnt",
];

/// Crude suffix stemming, enough to match "likes"/"like"/"liked"/"liking".
fn stem(word: &str) -> String {
    let w = word;
    let n = w.chars().count();
    let strip = |suffix: &str, min: usize| {
        (n > min + suffix.len() && w.ends_with(suffix)).then(|| &w[..w.len() - suffix.len()])
    };
    if let Some(s) = strip("ies", 1) {
        return format!("{s}y");
    }
    for (suffix, min) in [("ing", 2), ("ed", 2), ("es", 2), ("ly", 3), ("s", 2)] {
        if let Some(s) = strip(suffix, min) {
            if suffix == "s" && s.ends_with('s') {
                return w.to_owned();
            }
            return s.trim_end_matches('e').to_owned();
        }
    }
    w.trim_end_matches('e').to_owned()
}

/// Normalised word set: lowercase, punctuation split, stopwords out, negations as "not",
/// crude stems.
fn word_set(text: &str) -> BTreeSet<String> {
    text.to_lowercase()
        .replace('’', "'")
        .split(|c: char| !(c.is_alphanumeric() || c == '\''))
        .map(|w| w.trim_matches('\''))
        .filter(|w| !w.is_empty())
        .filter_map(|w| {
            if is_negation(w) {
                Some("not".to_owned())
            } else if STOPWORDS.contains(&w) {
                None
            } else {
                Some(stem(w.trim_end_matches("'s")))
            }
        })
        .collect()
}

/// Lexical similarity for when no embedding model is configured: Jaccard index of the
/// normalised word sets (see `word_set`). 1.0 for identical meaning-bearing words,
/// 0.0 for nothing in common or an empty side. A negation on one side only costs a
/// word, so "likes tea" vs "doesn't like tea" lands in the judgement band, not duplicate.
pub fn lexical_similarity(a: &str, b: &str) -> f32 {
    let (sa, sb) = (word_set(a), word_set(b));
    if sa.is_empty() || sb.is_empty() {
        return 0.0;
    }
    let inter = sa.intersection(&sb).count();
    let union = sa.union(&sb).count();
    inter as f32 / union as f32
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MergeThresholds {
    /// At or above: ask the LLM whether it is the same fact.
    pub candidate: f32,
    /// At or above: the same fact, merge without asking.
    pub duplicate: f32,
}

impl MergeThresholds {
    /// Sensible defaults for OpenAI `text-embedding-3-*` cosine scores.
    pub const EMBEDDING: MergeThresholds = MergeThresholds {
        candidate: 0.80,
        duplicate: 0.95,
    };
    /// Sensible defaults for [`lexical_similarity`].
    pub const LEXICAL: MergeThresholds = MergeThresholds {
        candidate: 0.5,
        duplicate: 0.9,
    };
}

/// A fact about to be stored.
#[derive(Clone, Copy, Debug)]
pub struct Candidate<'a> {
    pub text: &'a str,
    pub embedding: Option<&'a [f32]>,
}

/// A stored fact as the merge rule sees it.
#[derive(Clone, Copy, Debug)]
pub struct StoredFactView<'a> {
    pub id: i64,
    pub text: &'a str,
    pub embedding: Option<&'a [f32]>,
}

impl<'a> From<&'a MemoryFact> for StoredFactView<'a> {
    fn from(f: &'a MemoryFact) -> Self {
        Self {
            id: f.id,
            text: &f.fact,
            embedding: f.embedding.as_deref(),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum MergeDecision {
    New,
    Duplicate { id: i64, score: f32 },
    NeedsJudgement { id: i64, score: f32 },
}

/// Compares `new` with every stored fact and classifies the best match.
///
/// With `use_embeddings`, pairs that both carry an embedding are scored by cosine; any
/// other pair falls back to [`lexical_similarity`]. Identical text (ignoring case and
/// surrounding whitespace) always scores 1.0. Ties go to the earlier fact.
pub fn classify(
    new: &Candidate<'_>,
    existing: &[StoredFactView<'_>],
    thresholds: MergeThresholds,
    use_embeddings: bool,
) -> MergeDecision {
    let mut best: Option<(i64, f32)> = None;
    for fact in existing {
        let score = if new.text.trim().eq_ignore_ascii_case(fact.text.trim()) {
            1.0
        } else {
            match (use_embeddings, new.embedding, fact.embedding) {
                (true, Some(a), Some(b)) => cosine(a, b),
                _ => lexical_similarity(new.text, fact.text),
            }
        };
        if best.is_none_or(|(_, s)| score > s) {
            best = Some((fact.id, score));
        }
    }
    match best {
        Some((id, score)) if score >= thresholds.duplicate => {
            MergeDecision::Duplicate { id, score }
        }
        Some((id, score)) if score >= thresholds.candidate => {
            MergeDecision::NeedsJudgement { id, score }
        }
        _ => MergeDecision::New,
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MergeVerdict {
    /// Same information: bump the old fact's reference count.
    Duplicate,
    /// The new fact replaces the old one (which is kept as superseded).
    Contradiction,
    /// Different information: store both.
    New,
}

/// Reads `{"verdict": "duplicate" | "contradiction" | "new"}` (or the bare word).
pub fn parse_merge_judgement(text: &str) -> Option<MergeVerdict> {
    let from_json = json_candidates(text).into_iter().find_map(|v| {
        let map = v.as_object()?;
        let verdict = map.get("verdict").or_else(|| map.get("decision"))?;
        verdict.as_str().and_then(verdict_word)
    });
    from_json.or_else(|| {
        let word: String = text
            .trim()
            .chars()
            .take_while(|c| c.is_alphabetic() || *c == '_')
            .collect();
        verdict_word(&word)
    })
}

fn verdict_word(word: &str) -> Option<MergeVerdict> {
    match word.trim().to_ascii_lowercase().as_str() {
        "duplicate" | "same" | "identical" => Some(MergeVerdict::Duplicate),
        "contradiction" | "contradicts" | "update" | "updated" | "supersedes" => {
            Some(MergeVerdict::Contradiction)
        }
        "new" | "different" | "distinct" | "unrelated" => Some(MergeVerdict::New),
        _ => None,
    }
}

/// Known fact categories; anything else becomes `other`.
pub const CATEGORIES: [&str; 6] = [
    "preference",
    "personal",
    "relationship",
    "event",
    "opinion",
    "other",
];

#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct ExtractedFact {
    pub fact: String,
    pub category: String,
}

/// Maps a model's category to one of [`CATEGORIES`].
pub fn normalise_category(raw: &str) -> &'static str {
    let c = raw.trim().to_lowercase();
    let c = c.trim_end_matches('s');
    match c {
        "preference" | "like" | "dislike" | "taste" | "hobby" | "hobbie" | "interest" => {
            "preference"
        }
        "personal" | "personal info" | "bio" | "background" | "identity" | "job" | "work"
        | "location" | "health" | "pet" => "personal",
        "relationship" | "family" | "friend" | "social" => "relationship",
        "event" | "plan" | "life event" | "milestone" => "event",
        "opinion" | "belief" | "view" => "opinion",
        _ => "other",
    }
}

/// Parses fact extraction output: `{"facts":[{"fact":…,"category":…}]}` or a bare array
/// (of objects or strings), fenced or wrapped in prose. Empty and over-long facts are
/// dropped, categories normalised, duplicates removed, and relative day words replaced
/// with the absolute date of `day`.
pub fn parse_extracted_facts(text: &str, day: NaiveDate) -> Result<Vec<ExtractedFact>, ParseError> {
    let candidates = json_candidates(text);
    if candidates.is_empty() {
        return Err(ParseError::NoJson);
    }
    let items = candidates
        .into_iter()
        .find_map(|v| match v {
            Value::Array(items) => Some(items),
            Value::Object(mut map) => match map.remove("facts") {
                Some(Value::Array(items)) => Some(items),
                Some(Value::Null) => Some(Vec::new()),
                _ => None,
            },
            _ => None,
        })
        .ok_or(ParseError::Shape("expected {\"facts\": [...]} or an array"))?;

    let mut out: Vec<ExtractedFact> = Vec::new();
    for item in items {
        let (fact, category) = match &item {
            Value::String(s) => (s.as_str(), "other"),
            Value::Object(map) => {
                let Some(fact) = map
                    .get("fact")
                    .or_else(|| map.get("text"))
                    .and_then(Value::as_str)
                else {
                    continue;
                };
                (
                    fact,
                    map.get("category")
                        .and_then(Value::as_str)
                        .unwrap_or("other"),
                )
            }
            _ => continue,
        };
        let fact = absolute_dates(fact.trim(), day);
        let fact = fact.split_whitespace().collect::<Vec<_>>().join(" ");
        if fact.is_empty() || fact.chars().count() > MAX_FACT_CHARS {
            continue;
        }
        if out.iter().any(|f| f.fact.eq_ignore_ascii_case(&fact)) {
            continue;
        }
        out.push(ExtractedFact {
            fact,
            category: normalise_category(category).to_owned(),
        });
    }
    Ok(out)
}

/// Replaces "today", "yesterday", "tomorrow", "tonight", "this morning", … (whole words,
/// any case) with the absolute date: "went hiking today" → "went hiking on 2026-11-24".
/// A preceding "on" is not doubled, and a possessive keeps its "'s".
pub fn absolute_dates(text: &str, day: NaiveDate) -> String {
    let d = |offset: i64| {
        (day + Duration::days(offset))
            .format("%Y-%m-%d")
            .to_string()
    };
    let phrases: [(&str, String, String); 10] = [
        ("this morning", d(0), format!("on the morning of {}", d(0))),
        (
            "this afternoon",
            d(0),
            format!("on the afternoon of {}", d(0)),
        ),
        ("this evening", d(0), format!("on the evening of {}", d(0))),
        ("last night", d(-1), format!("on the night of {}", d(-1))),
        ("tomorrow night", d(1), format!("on the night of {}", d(1))),
        ("tonight", d(0), format!("on the night of {}", d(0))),
        ("yesterday", d(-1), format!("on {}", d(-1))),
        ("tomorrow", d(1), format!("on {}", d(1))),
        ("today", d(0), format!("on {}", d(0))),
        ("this week", d(0), format!("in the week of {}", d(0))),
    ];
    let mut out = text.to_owned();
    for (phrase, date, replacement) in &phrases {
        out = replace_phrase(&out, phrase, date, replacement);
    }
    out
}

fn replace_phrase(text: &str, phrase: &str, date: &str, replacement: &str) -> String {
    let lower = text.to_ascii_lowercase();
    // ASCII lowercasing keeps byte offsets identical.
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    let is_word = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '-');
    for (start, _) in lower.match_indices(phrase) {
        let end = start + phrase.len();
        if start < last
            || is_word(text[..start].chars().next_back())
            || is_word(text[end..].chars().next())
        {
            continue;
        }
        let before = &text[last..start];
        out.push_str(before);
        let possessive = text[end..].starts_with("'s") || text[end..].starts_with("’s");
        let preceded_by_on =
            lower[..start].trim_end().ends_with(" on") || lower[..start].trim_end() == "on";
        if possessive || preceded_by_on {
            out.push_str(date);
        } else {
            out.push_str(replacement);
        }
        last = end;
    }
    out.push_str(&text[last..]);
    out
}

/// Ranks facts for a prompt, best first, skipping superseded and expired ones.
///
/// score = 0.6 · recency + 0.4 · frequency, where
/// recency = 0.5^(days since last mentioned / 30) (a 30-day half-life) and
/// frequency = min(1, ln(1 + reference_count) / ln(21)) (20 references saturate).
/// Ties go to the more recently mentioned fact.
pub fn rank_facts(facts: &[MemoryFact], now: DateTime<Utc>) -> Vec<&MemoryFact> {
    let mut scored: Vec<(f64, &MemoryFact)> = facts
        .iter()
        .filter(|f| f.superseded_by.is_none())
        .filter(|f| f.valid_until.is_none_or(|until| until > now))
        .map(|f| (fact_score(f, now), f))
        .collect();
    scored.sort_by(|(sa, a), (sb, b)| {
        sb.total_cmp(sa)
            .then_with(|| b.last_mentioned_at.cmp(&a.last_mentioned_at))
    });
    scored.into_iter().map(|(_, f)| f).collect()
}

/// The ranking score of one fact (see [`rank_facts`]).
pub fn fact_score(fact: &MemoryFact, now: DateTime<Utc>) -> f64 {
    let age_days = (now - fact.last_mentioned_at).num_seconds().max(0) as f64 / 86_400.0;
    let recency = 0.5f64.powf(age_days / 30.0);
    let refs = f64::from(fact.reference_count.max(0));
    let frequency = ((1.0 + refs).ln() / 21f64.ln()).min(1.0);
    0.6 * recency + 0.4 * frequency
}

/// One change to a member's facts, decided before the transaction opens.
#[derive(Clone, Debug)]
pub enum FactChange {
    Add(NewFact),
    Bump(i64),
    Supersede {
        old: i64,
        new: NewFact,
    },
    /// A stored fact without a vector from the current embedding model gets one.
    Reembed {
        id: i64,
        vector: Vec<f32>,
    },
}

/// Bumps of facts added earlier in the same run become nothing: the addition already
/// counts as the first mention. Likewise a stored fact mentioned several times in one day
/// counts once, and a fact superseded tonight is not also bumped or superseded twice.
pub fn resolve_pending_bumps(changes: Vec<FactChange>) -> Vec<FactChange> {
    let superseded: std::collections::HashSet<i64> = changes
        .iter()
        .filter_map(|c| match c {
            FactChange::Supersede { old, .. } => Some(*old),
            _ => None,
        })
        .collect();
    let mut bumped = std::collections::HashSet::new();
    let mut replaced = std::collections::HashSet::new();
    changes
        .into_iter()
        .filter_map(|c| match c {
            FactChange::Bump(id) if id < 0 || superseded.contains(&id) || !bumped.insert(id) => {
                None
            }
            // Contradicting a fact that is itself new tonight: keep the newer one as well.
            FactChange::Supersede { old, new } if old < 0 || !replaced.insert(old) => {
                Some(FactChange::Add(new))
            }
            other => Some(other),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ids::UserId;
    use chrono::TimeZone;

    fn day() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 24).unwrap_or_default()
    }

    fn at(days_ago: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 24, 12, 0, 0)
            .single()
            .unwrap_or_default()
            - Duration::days(days_ago)
    }

    fn fact(id: i64, text: &str, days_ago: i64, refs: i32) -> MemoryFact {
        MemoryFact {
            id,
            guild_id: crate::domain::GuildId(5),
            user_id: UserId(7),
            fact: text.to_owned(),
            category: "preference".into(),
            first_mentioned_at: at(days_ago + 10),
            last_mentioned_at: at(days_ago),
            reference_count: refs,
            superseded_by: None,
            valid_until: None,
            embedding: None,
        }
    }

    #[test]
    fn cosine_edge_cases() {
        assert!((cosine(&[1.0, 0.0], &[1.0, 0.0]) - 1.0).abs() < 1e-6);
        assert!(cosine(&[1.0, 0.0], &[0.0, 1.0]).abs() < 1e-6);
        assert!((cosine(&[1.0, 2.0], &[-1.0, -2.0]) + 1.0).abs() < 1e-6);
        assert_eq!(cosine(&[], &[]), 0.0);
        assert_eq!(cosine(&[1.0], &[1.0, 2.0]), 0.0);
        assert_eq!(cosine(&[0.0, 0.0], &[1.0, 1.0]), 0.0);
        assert_eq!(cosine(&[f32::NAN, 1.0], &[1.0, 1.0]), 0.0);
    }

    #[test]
    fn lexical_similarity_behaves() {
        let same = lexical_similarity("likes green tea", "likes green tea a lot");
        assert!(same >= 0.9, "{same}");
        assert!(lexical_similarity("Likes green tea.", "liked GREEN teas") >= 0.9);
        let unrelated = lexical_similarity("likes green tea", "works as a nurse in Lyon");
        assert!(unrelated < 0.1, "{unrelated}");
        let negated = lexical_similarity("likes green tea", "doesn't like green tea");
        assert!((0.5..0.9).contains(&negated), "{negated}");
        let partial = lexical_similarity("has a cat named Miso", "has a dog named Miso");
        assert!((0.3..0.9).contains(&partial), "{partial}");
        assert_eq!(lexical_similarity("", "tea"), 0.0);
        assert_eq!(lexical_similarity("the a of", "the a of"), 0.0);
    }

    #[test]
    fn classify_picks_best_match() {
        let stored = [
            fact(1, "works as a nurse", 0, 1),
            fact(2, "likes green tea", 0, 1),
        ];
        let views: Vec<StoredFactView<'_>> = stored.iter().map(StoredFactView::from).collect();
        let t = MergeThresholds::LEXICAL;
        let c = |text| Candidate {
            text,
            embedding: None,
        };
        assert!(matches!(
            classify(&c("Likes green tea a lot"), &views, t, false),
            MergeDecision::Duplicate { id: 2, .. }
        ));
        assert!(matches!(
            classify(&c("doesn't like green tea anymore"), &views, t, false),
            MergeDecision::NeedsJudgement { id: 2, .. }
        ));
        assert_eq!(
            classify(&c("plays the cello"), &views, t, false),
            MergeDecision::New
        );
        assert_eq!(classify(&c("anything"), &[], t, false), MergeDecision::New);
    }

    #[test]
    fn classify_uses_embeddings_when_asked() {
        let a = [1.0f32, 0.0, 0.0];
        let b = [0.9f32, 0.1, 0.0];
        let views = [StoredFactView {
            id: 9,
            text: "completely different words",
            embedding: Some(&b),
        }];
        let new = Candidate {
            text: "nothing in common",
            embedding: Some(&a),
        };
        assert!(matches!(
            classify(&new, &views, MergeThresholds::EMBEDDING, true),
            MergeDecision::Duplicate { id: 9, .. }
        ));
        assert_eq!(
            classify(&new, &views, MergeThresholds::EMBEDDING, false),
            MergeDecision::New
        );
    }

    #[test]
    fn parses_merge_verdicts() {
        assert_eq!(
            parse_merge_judgement(r#"{"verdict":"duplicate"}"#),
            Some(MergeVerdict::Duplicate)
        );
        assert_eq!(
            parse_merge_judgement("```json\n{\"verdict\": \"Contradiction\"}\n```"),
            Some(MergeVerdict::Contradiction)
        );
        assert_eq!(parse_merge_judgement("new"), Some(MergeVerdict::New));
        assert_eq!(parse_merge_judgement("New."), Some(MergeVerdict::New));
        assert_eq!(parse_merge_judgement(r#"{"verdict": 3}"#), None);
        assert_eq!(parse_merge_judgement("I am not sure"), None);
    }

    #[test]
    fn parses_fact_object_with_fences_and_prose() {
        let text = "Here are the facts:\n```json\n{\"facts\": [\n  {\"fact\": \"Went hiking today\", \"category\": \"Events\"},\n  {\"fact\": \"  \", \"category\": \"other\"},\n  {\"fact\": \"Has a cat named Miso\", \"category\": \"pets\"}\n]}\n```\nLet me know!";
        let facts = parse_extracted_facts(text, day()).unwrap_or_default();
        assert_eq!(
            facts,
            vec![
                ExtractedFact {
                    fact: "Went hiking on 2026-11-24".into(),
                    category: "event".into()
                },
                ExtractedFact {
                    fact: "Has a cat named Miso".into(),
                    category: "personal".into()
                },
            ]
        );
    }

    #[test]
    fn parses_bare_arrays_and_empty_lists() {
        let facts = parse_extracted_facts(
            r#"[{"fact":"likes jazz","category":"weird"}, "plays chess"]"#,
            day(),
        );
        assert_eq!(
            facts,
            Ok(vec![
                ExtractedFact {
                    fact: "likes jazz".into(),
                    category: "other".into()
                },
                ExtractedFact {
                    fact: "plays chess".into(),
                    category: "other".into()
                },
            ])
        );
        assert_eq!(parse_extracted_facts(r#"{"facts": []}"#, day()), Ok(vec![]));
    }

    #[test]
    fn rejects_unusable_output() {
        assert_eq!(
            parse_extracted_facts("Nothing worth remembering.", day()),
            Err(ParseError::NoJson)
        );
        assert!(matches!(
            parse_extracted_facts(r#"{"memories": 3}"#, day()),
            Err(ParseError::Shape(_))
        ));
    }

    #[test]
    fn drops_over_long_and_duplicate_facts() {
        let long = "x".repeat(MAX_FACT_CHARS + 1);
        let text = format!(
            r#"{{"facts":[{{"fact":"{long}"}},{{"fact":"likes tea"}},{{"fact":"Likes tea"}}]}}"#
        );
        let facts = parse_extracted_facts(&text, day()).unwrap_or_default();
        assert_eq!(facts.len(), 1);
        assert_eq!(facts[0].category, "other");
    }

    #[test]
    fn relative_dates_become_absolute() {
        let d = day();
        assert_eq!(
            absolute_dates("went hiking today", d),
            "went hiking on 2026-11-24"
        );
        assert_eq!(
            absolute_dates("Yesterday they moved house", d),
            "on 2026-11-23 they moved house"
        );
        assert_eq!(
            absolute_dates("has an exam tomorrow.", d),
            "has an exam on 2026-11-25."
        );
        assert_eq!(
            absolute_dates("concert tonight", d),
            "concert on the night of 2026-11-24"
        );
        assert_eq!(
            absolute_dates("ran 5k this morning", d),
            "ran 5k on the morning of 2026-11-24"
        );
        assert_eq!(
            absolute_dates("today's plan is rest", d),
            "2026-11-24's plan is rest"
        );
        assert_eq!(
            absolute_dates("a party on Tomorrow", d),
            "a party on 2026-11-25"
        );
        assert_eq!(
            absolute_dates("todayish and yesterdays stay", d),
            "todayish and yesterdays stay"
        );
        assert_eq!(absolute_dates("été: today", d), "été: on 2026-11-24");
    }

    #[test]
    fn ranking_mixes_recency_and_references() {
        let mut facts = vec![
            fact(1, "old and rarely mentioned", 200, 1),
            fact(2, "recent", 1, 1),
            fact(3, "old but mentioned a lot", 90, 30),
            fact(4, "superseded", 0, 50),
            fact(5, "expired", 0, 50),
        ];
        facts[3].superseded_by = Some(2);
        facts[4].valid_until = Some(at(1));
        let ranked: Vec<i64> = rank_facts(&facts, at(0)).iter().map(|f| f.id).collect();
        assert_eq!(ranked, vec![2, 3, 1]);
        assert!(fact_score(&facts[1], at(0)) <= 1.0);
    }

    #[test]
    fn pending_bumps_collapse_into_the_addition() {
        let new = NewFact {
            guild_id: crate::domain::GuildId(5),
            user_id: UserId(1),
            fact: "likes tea".into(),
            category: "preference".into(),
            embedding: None,
        };
        let changes = vec![
            FactChange::Add(new),
            FactChange::Bump(-1),
            FactChange::Bump(7),
        ];
        let resolved = resolve_pending_bumps(changes);
        assert_eq!(resolved.len(), 2);
        assert!(matches!(resolved[1], FactChange::Bump(7)));
    }

    #[test]
    fn one_day_counts_a_stored_fact_once_and_supersedes_it_once() {
        let new = |fact: &str| NewFact {
            guild_id: crate::domain::GuildId(5),
            user_id: UserId(1),
            fact: fact.into(),
            category: "personal".into(),
            embedding: None,
        };
        let changes = vec![
            FactChange::Bump(7),
            FactChange::Bump(7),
            FactChange::Bump(8),
            FactChange::Supersede {
                old: 8,
                new: new("lives in Bergen"),
            },
            FactChange::Supersede {
                old: 8,
                new: new("moved to Bergen in March"),
            },
        ];
        let resolved = resolve_pending_bumps(changes);
        assert_eq!(resolved.len(), 3, "{resolved:?}");
        assert!(matches!(resolved[0], FactChange::Bump(7)));
        assert!(
            matches!(&resolved[1], FactChange::Supersede { old: 8, new } if new.fact == "lives in Bergen")
        );
        assert!(
            matches!(&resolved[2], FactChange::Add(new) if new.fact == "moved to Bergen in March")
        );
    }
}
