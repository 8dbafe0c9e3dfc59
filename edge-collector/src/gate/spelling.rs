//! Keys as Mindbox reads them. Mindbox is a .NET API: we assume its JSON binding ignores the case of
//! property names (.NET's `OrdinalIgnoreCase`, under which `ı` is `I` and `ſ` is `S`), so two keys
//! that differ only by case are one key to it, and a key in any case is the canonical one.

use serde_json::{Map, Value};

/// A key as .NET's `OrdinalIgnoreCase` sees it: each character upper-cased by its simple mapping.
pub fn fold(key: &str) -> String {
    key.chars()
        .map(|c| {
            let mut up = c.to_uppercase();
            match (up.next(), up.next()) {
                (Some(u), None) => u,
                _ => c,
            }
        })
        .collect()
}

/// Whether two keys are one key to Mindbox.
pub fn same_key(a: &str, b: &str) -> bool {
    a == b || fold(a) == fold(b)
}

/// The first object, anywhere in `v`, with two keys that differ only by letter case: its path and
/// the two keys.
pub fn first_ambiguous(v: &Value, path: &str) -> Option<(String, String, String)> {
    match v {
        Value::Object(m) => {
            if m.len() > 1 {
                let mut folded: Vec<(String, &String)> = m.keys().map(|k| (fold(k), k)).collect();
                folded.sort();
                if let Some(w) = folded.windows(2).find(|w| w[0].0 == w[1].0) {
                    return Some((path.to_string(), w[0].1.clone(), w[1].1.clone()));
                }
            }
            m.iter()
                .filter(|(_, x)| matches!(x, Value::Object(_) | Value::Array(_)))
                .find_map(|(k, x)| first_ambiguous(x, &format!("{path}.{k}")))
        }
        Value::Array(a) => a
            .iter()
            .enumerate()
            .filter(|(_, x)| matches!(x, Value::Object(_) | Value::Array(_)))
            .find_map(|(i, x)| first_ambiguous(x, &format!("{path}[{i}]"))),
        _ => None,
    }
}

/// Renames a key of `m` that is `canonical` in another case to `canonical`; returns whether `m` has it.
pub fn canonicalize(m: &mut Map<String, Value>, canonical: &str) -> bool {
    if m.contains_key(canonical) {
        return true;
    }
    let Some(key) = m.keys().find(|k| same_key(k, canonical)).cloned() else {
        return false;
    };
    let v = m.remove(&key).expect("key just found");
    m.insert(canonical.to_string(), v);
    true
}
