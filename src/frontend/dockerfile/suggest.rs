//! "Did you mean": the closest known word by edit distance (Levenshtein), for unknown instructions and
//! for the keys and values of flags such as `RUN --mount`.

use super::instruction::KEYWORDS;

/// The closest keyword within edit distance 2.
pub fn suggest(word: &str) -> Option<&'static str> {
    closest(word, KEYWORDS)
}

/// The candidate closest to `word` within edit distance 2 (the first of equally close ones).
pub fn closest<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    candidates
        .iter()
        .map(|k| (distance(word, k), *k))
        .filter(|(d, _)| *d <= 2)
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k)
}

fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur.push((prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}
