//! Typed configuration read once at start-up from any lookup function.
//!
//! `Config::from_env()` in each service calls `Config::from_lookup(env_lookup())`; tests pass a map.

use std::collections::HashMap;
use std::str::FromStr;
use std::time::Duration;

use url::Url;

/// A configuration value is missing or invalid. Always names the variable, never echoes a secret value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("configuration variable {var}: {reason}")]
pub struct ConfigError {
    /// The environment variable at fault.
    pub var: String,
    /// What is wrong with it.
    pub reason: String,
}

impl ConfigError {
    /// A new error for `var`.
    pub fn new(var: &str, reason: impl Into<String>) -> Self {
        Self {
            var: var.to_owned(),
            reason: reason.into(),
        }
    }
}

/// The process environment as a lookup function. The only place that reads environment variables.
#[allow(clippy::disallowed_methods)]
pub fn env_lookup() -> impl Fn(&str) -> Option<String> {
    |name| std::env::var(name).ok()
}

/// A lookup from a map, for tests and the demo.
pub fn map_lookup(map: HashMap<String, String>) -> impl Fn(&str) -> Option<String> {
    move |name| map.get(name).cloned()
}

/// A lookup from `(name, value)` pairs (a later pair wins), for tests.
pub fn pairs_lookup(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> + use<> {
    map_lookup(
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
    )
}

/// The reader a service's `Config::from_reader` is given by [`config_entry_points!`].
pub type EnvReader<'a> = ConfigReader<&'a dyn Fn(&str) -> Option<String>>;

/// Gives a service's `Config` its entry points from the one function it writes,
/// `fn from_reader(env: &EnvReader<'_>) -> Result<Self, ConfigError>`:
/// `from_env()` (the process environment, read once at cold start), `from_lookup(lookup)` (the demo and the
/// benchmark pass a map) and `from_pairs(&[(name, value)])` (tests).
#[macro_export]
macro_rules! config_entry_points {
    ($config:ty) => {
        impl $config {
            /// Reads the process environment.
            pub fn from_env() -> ::core::result::Result<Self, $crate::config::ConfigError> {
                Self::from_lookup($crate::config::env_lookup())
            }

            /// Reads any lookup (the demo and the benchmark pass a map).
            pub fn from_lookup<F: Fn(&str) -> Option<String>>(
                lookup: F,
            ) -> ::core::result::Result<Self, $crate::config::ConfigError> {
                let lookup: &dyn Fn(&str) -> Option<String> = &lookup;
                Self::from_reader(&$crate::config::ConfigReader::new(lookup))
            }

            /// Reads `(name, value)` pairs, a later pair winning (tests).
            pub fn from_pairs(
                pairs: &[(&str, &str)],
            ) -> ::core::result::Result<Self, $crate::config::ConfigError> {
                Self::from_lookup($crate::config::pairs_lookup(pairs))
            }
        }
    };
}

/// Typed getters over a lookup. Blank values count as unset.
pub struct ConfigReader<F> {
    lookup: F,
}

impl<F: Fn(&str) -> Option<String>> ConfigReader<F> {
    /// Wraps a lookup function.
    pub fn new(lookup: F) -> Self {
        Self { lookup }
    }

    /// The trimmed value, or `None` when unset or blank.
    pub fn optional(&self, var: &str) -> Option<String> {
        (self.lookup)(var)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    }

    /// The first of several names that is set (canonical name first, then aliases).
    pub fn first_of(&self, vars: &[&str]) -> Option<String> {
        vars.iter().find_map(|v| self.optional(v))
    }

    /// The value, or an error naming `var`.
    pub fn required(&self, var: &str) -> Result<String, ConfigError> {
        self.optional(var)
            .ok_or_else(|| ConfigError::new(var, "is required but not set"))
    }

    /// The value parsed as `T`, or `default` when unset.
    pub fn parse_or<T: FromStr>(&self, var: &str, default: T) -> Result<T, ConfigError> {
        match self.optional(var) {
            None => Ok(default),
            Some(raw) => raw
                .parse()
                .map_err(|_| ConfigError::new(var, format!("cannot parse {raw:?}"))),
        }
    }

    /// A boolean: `true`/`false`/`1`/`0`/`yes`/`no` (any case), or `default` when unset.
    pub fn bool_or(&self, var: &str, default: bool) -> Result<bool, ConfigError> {
        match self.optional(var).map(|v| v.to_ascii_lowercase()) {
            None => Ok(default),
            Some(v) if matches!(v.as_str(), "true" | "1" | "yes") => Ok(true),
            Some(v) if matches!(v.as_str(), "false" | "0" | "no") => Ok(false),
            Some(v) => Err(ConfigError::new(
                var,
                format!("expected true or false, got {v:?}"),
            )),
        }
    }

    /// A whole number of seconds, or `default_secs` when unset.
    pub fn secs_or(&self, var: &str, default_secs: u64) -> Result<Duration, ConfigError> {
        self.parse_or(var, default_secs).map(Duration::from_secs)
    }

    /// A comma-separated list (items trimmed, blanks dropped); empty when unset.
    pub fn list(&self, var: &str) -> Vec<String> {
        self.optional(var)
            .map(|v| {
                v.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default()
    }

    /// A base URL from the first set name of `vars`, or `default`. It must be `https://` unless its host is
    /// loopback. A trailing slash is removed.
    pub fn base_url(&self, vars: &[&str], default: &str) -> Result<Url, ConfigError> {
        let var = vars.first().copied().unwrap_or("base URL");
        let raw = self.first_of(vars).unwrap_or_else(|| default.to_owned());
        check_base_url(&raw).map_err(|reason| ConfigError::new(var, reason))
    }
}

/// Parses a base URL and enforces `https://` for every host but loopback.
pub fn check_base_url(raw: &str) -> Result<Url, String> {
    let trimmed = raw.trim().trim_end_matches('/');
    let url = Url::parse(trimmed).map_err(|e| format!("not a URL: {e}"))?;
    match url.scheme() {
        "https" => Ok(url),
        "http" if is_loopback(&url) => Ok(url),
        "http" => Err("must use https:// unless the host is loopback".to_owned()),
        other => Err(format!("unsupported scheme {other}")),
    }
}

/// True when the URL's host is `localhost` or a loopback address.
pub fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reader(pairs: &[(&str, &str)]) -> ConfigReader<impl Fn(&str) -> Option<String>> {
        ConfigReader::new(pairs_lookup(pairs))
    }

    // The macro's functions are `pub`, as a service's are; here they are reachable from this module only.
    #[allow(unreachable_pub)]
    mod sample {
        use crate::config::{ConfigError, EnvReader};

        #[derive(Debug, PartialEq)]
        pub struct Sample {
            pub org: String,
        }

        impl Sample {
            fn from_reader(env: &EnvReader<'_>) -> Result<Self, ConfigError> {
                Ok(Self {
                    org: env.required("LAMBDA_KIT_SAMPLE_ORG")?,
                })
            }
        }

        crate::config_entry_points!(Sample);
    }

    #[test]
    fn the_entry_points_read_through_from_reader() {
        use sample::Sample;
        let read = Sample::from_pairs(&[
            ("LAMBDA_KIT_SAMPLE_ORG", "acme"),
            ("LAMBDA_KIT_SAMPLE_ORG", "globex"),
        ])
        .unwrap();
        assert_eq!(read.org, "globex", "a later pair wins");
        let from_map =
            Sample::from_lookup(|name| (name == "LAMBDA_KIT_SAMPLE_ORG").then(|| "a".to_owned()));
        assert_eq!(from_map.unwrap().org, "a");
        assert_eq!(
            Sample::from_pairs(&[]).unwrap_err().var,
            "LAMBDA_KIT_SAMPLE_ORG"
        );
        // Nothing sets this variable: the process environment is read and the missing value named.
        assert_eq!(Sample::from_env().unwrap_err().var, "LAMBDA_KIT_SAMPLE_ORG");
    }

    #[test]
    fn a_missing_required_value_names_the_variable() {
        let err = reader(&[]).required("ONCALL_SPOKE_ORG").unwrap_err();
        assert_eq!(err.var, "ONCALL_SPOKE_ORG");
        assert!(err.to_string().contains("ONCALL_SPOKE_ORG"));
    }

    #[test]
    fn blank_values_count_as_unset() {
        assert_eq!(reader(&[("A", "  ")]).optional("A"), None);
    }

    #[test]
    fn typed_getters_parse_or_fall_back() {
        let r = reader(&[("N", "42"), ("B", "YES"), ("L", "a, b,,c"), ("BAD", "x")]);
        assert_eq!(r.parse_or("N", 1u32).unwrap(), 42);
        assert_eq!(r.parse_or("MISSING", 7u32).unwrap(), 7);
        assert!(r.bool_or("B", false).unwrap());
        assert_eq!(r.list("L"), vec!["a", "b", "c"]);
        assert_eq!(r.parse_or("BAD", 1u32).unwrap_err().var, "BAD");
        assert_eq!(r.secs_or("N", 0).unwrap(), Duration::from_secs(42));
    }

    #[test]
    fn base_urls_must_be_https_unless_loopback() {
        let r = reader(&[
            ("LOCAL", "http://127.0.0.1:8800/spoke/api/v1/"),
            ("PLAIN", "http://example.com/api"),
            ("ALIAS", "https://api.example.com"),
        ]);
        assert_eq!(
            r.base_url(&["LOCAL"], "https://x").unwrap().as_str(),
            "http://127.0.0.1:8800/spoke/api/v1"
        );
        assert!(r.base_url(&["PLAIN"], "https://x").is_err());
        assert_eq!(
            r.base_url(&["UNSET", "ALIAS"], "https://x")
                .unwrap()
                .as_str(),
            "https://api.example.com/"
        );
        assert_eq!(
            r.base_url(&["UNSET"], "https://default.example")
                .unwrap()
                .host_str(),
            Some("default.example")
        );
    }
}
