//! Serde helpers for the tolerant reading rules (crate README, "Behaviour", **Decoding**).

use serde::Deserialize;
use serde::de::{DeserializeOwned, Deserializer, Error as _};
use serde_json::Value;

/// Builds a string newtype used for Spoke ids.
macro_rules! id_type {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Default, serde::Serialize, serde::Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// Wraps an id as Spoke spells it.
            pub fn new(id: impl Into<String>) -> Self {
                Self(id.into())
            }

            /// The id as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// The id as an owned string.
            pub fn into_string(self) -> String {
                self.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl From<String> for $name {
            fn from(id: String) -> Self {
                Self(id)
            }
        }

        impl From<&str> for $name {
            fn from(id: &str) -> Self {
                Self(id.to_owned())
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
    };
}

/// Builds a string enum with an `Unknown(String)` fallback that keeps the raw value.
macro_rules! string_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vmeta])* $variant,)+
            /// A value this client does not know, kept verbatim.
            Unknown(String),
        }

        impl $name {
            /// The value as Spoke spells it.
            pub fn as_str(&self) -> &str {
                match self {
                    $(Self::$variant => $text,)+
                    Self::Unknown(raw) => raw,
                }
            }

            /// Parses a value; unknown text becomes [`Self::Unknown`]. Known values match case-insensitively.
            pub fn parse(raw: &str) -> Self {
                $(if raw.eq_ignore_ascii_case($text) { return Self::$variant; })+
                Self::Unknown(raw.to_owned())
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let raw = $crate::lenient::scalar_text(d)?;
                Ok(Self::parse(&raw))
            }
        }
    };
}

pub(crate) use id_type;
pub(crate) use string_enum;

/// Reads any JSON scalar as text (an enum that arrives as a number still decodes, as `Unknown`).
pub(crate) fn scalar_text<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    match Value::deserialize(d)? {
        Value::String(s) => Ok(s),
        Value::Null => Ok(String::new()),
        other => Ok(other.to_string()),
    }
}

/// The text of an id-like value: a string, a number, or an object carrying `id`/`_id`. Empty means unset.
fn id_text(value: &Value) -> Option<String> {
    let text = match value {
        Value::String(s) => s.trim().to_owned(),
        Value::Number(n) => n.to_string(),
        Value::Object(map) => {
            return [map.get("id"), map.get("_id")]
                .into_iter()
                .flatten()
                .find_map(id_text);
        }
        _ => return None,
    };
    (!text.is_empty()).then_some(text)
}

/// An optional reference: absent, `null` and `""` are unset; an object with an id is reduced to its id
/// (an id-like field may be empty, and may arrive as an id or as a whole object).
pub(crate) fn opt_ref<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: From<String>,
{
    let value = Option::<Value>::deserialize(d)?;
    Ok(value.as_ref().and_then(id_text).map(T::from))
}

/// A list of references (strings or objects with ids); `null` is empty and unusable items are dropped.
pub(crate) fn ref_vec<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: From<String>,
{
    let value = Option::<Value>::deserialize(d)?;
    Ok(match value {
        Some(Value::Array(items)) => items.iter().filter_map(id_text).map(T::from).collect(),
        Some(single) => id_text(&single).map(T::from).into_iter().collect(),
        None => Vec::new(),
    })
}

/// The object id: `id`, else `_id` (when both differ, `id` wins). Used as `#[serde(flatten, deserialize_with = ...)]`.
pub(crate) fn object_id<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: From<String>,
{
    #[derive(Deserialize)]
    struct Ids {
        #[serde(default)]
        id: Option<Value>,
        #[serde(default, rename = "_id")]
        underscore_id: Option<Value>,
    }
    let ids = Ids::deserialize(d)?;
    [ids.id, ids.underscore_id]
        .iter()
        .flatten()
        .find_map(id_text)
        .map(T::from)
        .ok_or_else(|| D::Error::custom("object has neither `id` nor `_id`"))
}

/// An optional string that also accepts numbers and booleans; `null` is unset.
pub(crate) fn opt_text<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(match Option::<Value>::deserialize(d)? {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s),
        Some(Value::Array(_) | Value::Object(_)) => None,
        Some(other) => Some(other.to_string()),
    })
}

/// An optional count that may arrive as a number or a numeric string (`"25"`).
pub(crate) fn opt_count<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    Ok(match Option::<Value>::deserialize(d)? {
        Some(Value::Number(n)) => n
            .as_u64()
            .or_else(|| n.as_f64().filter(|f| *f >= 0.0).map(|f| f as u64)),
        Some(Value::String(s)) => s.trim().parse::<u64>().ok(),
        _ => None,
    })
}

/// An optional boolean that may arrive as `"true"`/`"false"`.
pub(crate) fn opt_bool<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    Ok(match Option::<Value>::deserialize(d)? {
        Some(Value::Bool(b)) => Some(b),
        Some(Value::String(s)) => s.trim().parse::<bool>().ok(),
        _ => None,
    })
}

/// A list whose items are decoded one by one; `null` is empty and items that fail are dropped.
pub(crate) fn lenient_vec<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: DeserializeOwned,
{
    Ok(match Option::<Value>::deserialize(d)? {
        Some(Value::Array(items)) => items
            .into_iter()
            .filter_map(|item| serde_json::from_value(item).ok())
            .collect(),
        _ => Vec::new(),
    })
}

/// An optional nested object; `null` or a value of the wrong shape is unset rather than an error.
pub(crate) fn opt_object<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: DeserializeOwned,
{
    Ok(match Option::<Value>::deserialize(d)? {
        Some(value @ Value::Object(_)) => serde_json::from_value(value).ok(),
        _ => None,
    })
}
