//! Fault rules: what to do to matching calls.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A rule added through `POST /__fake/faults`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FaultRule {
    /// Assigned by the kit.
    #[serde(default)]
    pub id: u64,
    /// HTTP method to match (any when absent).
    #[serde(default)]
    pub method: Option<String>,
    /// Path pattern (suffix match by segments; `*` one segment, trailing `**` any rest). Any path when absent.
    #[serde(default)]
    pub path: Option<String>,
    /// Uses left; `None` = always.
    #[serde(default)]
    pub times: Option<u32>,
    /// Fraction of matching calls affected, instead of `times`.
    #[serde(default)]
    pub rate: Option<f64>,
    /// What to do.
    pub action: Value,
}

impl FaultRule {
    /// A rule for `method` and `path` with `action`, used `times` times (`None` = always).
    pub fn new(method: Option<&str>, path: &str, times: Option<u32>, action: Value) -> Self {
        Self {
            id: 0,
            method: method.map(str::to_owned),
            path: Some(path.to_owned()),
            times,
            rate: None,
            action,
        }
    }

    pub(crate) fn matches(&self, method: &str, path: &str) -> bool {
        if let Some(m) = &self.method
            && !m.eq_ignore_ascii_case(method)
        {
            return false;
        }
        self.path.as_deref().is_none_or(|p| path_matches(p, path))
    }
}

/// True when `pattern` matches a suffix of `path` segment by segment.
pub(crate) fn path_matches(pattern: &str, path: &str) -> bool {
    let pat: Vec<&str> = pattern.split('/').filter(|s| !s.is_empty()).collect();
    let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    if pat.last() == Some(&"**") {
        let fixed = &pat[..pat.len() - 1];
        return (0..=segs.len().saturating_sub(fixed.len())).any(|start| {
            segs.len() >= start + fixed.len()
                && fixed
                    .iter()
                    .zip(&segs[start..])
                    .all(|(p, s)| *p == "*" || p == s)
        });
    }
    if pat.len() > segs.len() {
        return false;
    }
    let tail = &segs[segs.len() - pat.len()..];
    pat.iter().zip(tail).all(|(p, s)| *p == "*" || p == s)
}

/// The action of the fault rule that matched a call, handed to the fake's handler as a request extension for
/// fake-specific actions (`capLimit`, `ignoreWrite`, …).
#[derive(Debug, Clone)]
pub struct ActiveFault(pub Value);

impl ActiveFault {
    /// True when the action sets `key` to `true`.
    pub fn flag(&self, key: &str) -> bool {
        self.0.get(key).and_then(Value::as_bool).unwrap_or(false)
    }

    /// The action's `key` as a number.
    pub fn number(&self, key: &str) -> Option<u64> {
        self.0.get(key).and_then(Value::as_u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_match_path_suffixes_by_segment() {
        assert!(path_matches("/teams/*", "/api/v1/teams/abc"));
        assert!(path_matches("/api/v1/teams/*", "/api/v1/teams/abc"));
        assert!(!path_matches("/teams/*", "/api/v1/teams"));
        assert!(!path_matches("/teams/*", "/api/v1/users/abc"));
        assert!(path_matches("/requests", "/api/v1/requests"));
        assert!(path_matches("/api/**", "/api/v1/requests/1/messages"));
        assert!(path_matches("/requests/**", "/api/v1/requests/1/tags"));
        assert!(!path_matches("/teams/**", "/api/v1/users/1"));
    }

    #[test]
    fn a_rule_matches_method_case_insensitively() {
        let rule = FaultRule::new(
            Some("patch"),
            "/teams/*",
            Some(1),
            serde_json::json!({"status": 500}),
        );
        assert!(rule.matches("PATCH", "/api/v1/teams/x"));
        assert!(!rule.matches("GET", "/api/v1/teams/x"));
    }
}
