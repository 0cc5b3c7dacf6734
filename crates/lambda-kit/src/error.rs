//! The two error classes every service maps its failures into (docs/architecture.md).

use std::fmt;

/// Whether a failure is worth retrying.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorClass {
    /// Timeouts, transport errors, 429, 5xx, Secrets Manager errors: let AWS retry.
    Retryable,
    /// Bad input, other 4xx, missing configured ids: log, alert once, acknowledge.
    Permanent,
}

impl ErrorClass {
    /// The stable name used as Lambda `errorType` and in the `error_class` log field.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Retryable => "Retryable",
            Self::Permanent => "Permanent",
        }
    }

    /// True for [`ErrorClass::Retryable`].
    pub fn is_retryable(self) -> bool {
        self == Self::Retryable
    }
}

impl fmt::Display for ErrorClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Implemented once per service error type: the single place where library errors are classified.
pub trait Classify {
    /// The class of this failure.
    fn class(&self) -> ErrorClass;
}

/// The error and its sources joined with `": "`, for the one log line at the edge (each `Display` names its
/// own layer only, so the chain is printed once, here).
pub fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("outer")]
    struct Outer(#[source] std::fmt::Error);

    #[test]
    fn the_chain_names_every_layer_once() {
        assert_eq!(
            chain(&Outer(std::fmt::Error)),
            format!("outer: {}", std::fmt::Error)
        );
    }

    #[test]
    fn classes_have_stable_names() {
        assert_eq!(ErrorClass::Retryable.to_string(), "Retryable");
        assert_eq!(ErrorClass::Permanent.as_str(), "Permanent");
        assert!(ErrorClass::Retryable.is_retryable());
        assert!(!ErrorClass::Permanent.is_retryable());
    }
}
