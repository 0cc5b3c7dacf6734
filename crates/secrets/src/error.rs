//! Errors that tell the caller what to do.

/// A secret could not be read or written. Never contains the secret's value.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SecretsError {
    /// No secret with this id (or it is scheduled for deletion).
    #[error("secret {id} not found")]
    NotFound {
        /// Name or ARN.
        id: String,
    },
    /// The role may not read or write this secret, or may not use its KMS key.
    #[error("access to secret {id} denied")]
    AccessDenied {
        /// Name or ARN.
        id: String,
    },
    /// The secret exists but is not the expected JSON.
    #[error("secret {id} is malformed: {reason}")]
    Malformed {
        /// Name or ARN.
        id: String,
        /// What is wrong (never the value).
        reason: String,
    },
    /// A network, throttling or service failure: worth retrying.
    #[error("secret {id}: Secrets Manager call failed ({operation})")]
    Transient {
        /// Name or ARN.
        id: String,
        /// The API operation.
        operation: &'static str,
        /// The cause.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// A request the service refused for a reason retrying will not fix.
    #[error("secret {id}: {operation} was rejected ({code})")]
    Rejected {
        /// Name or ARN.
        id: String,
        /// The API operation.
        operation: &'static str,
        /// The service's error code.
        code: String,
    },
}

impl SecretsError {
    /// True when a later attempt may succeed (Secrets Manager errors are retryable, docs/architecture.md).
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Transient { .. })
    }

    /// The secret id the error is about.
    pub fn id(&self) -> &str {
        match self {
            Self::NotFound { id }
            | Self::AccessDenied { id }
            | Self::Malformed { id, .. }
            | Self::Transient { id, .. }
            | Self::Rejected { id, .. } => id,
        }
    }
}

impl lambda_kit::Classify for SecretsError {
    fn class(&self) -> lambda_kit::ErrorClass {
        // Secrets Manager errors are retryable, except a secret that can never parse.
        match self {
            Self::Malformed { .. } => lambda_kit::ErrorClass::Permanent,
            _ => lambda_kit::ErrorClass::Retryable,
        }
    }
}
