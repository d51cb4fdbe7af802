//! Argument types that validate themselves while they are deserialized, and carry their limits
//! into the input schema. One type states a rule once: the schema an agent sees and the check a
//! call goes through cannot drift apart.
//!
//! A value that breaks a rule fails deserialization with a message that quotes the rule; the
//! argument parser (see `tools::Args`) prefixes it with the field's path, so the agent reads
//! `limit: must be an integer from 1 to 100 (got 500)`. No HTTP request is made.

use std::borrow::Cow;
use std::fmt;

use rmcp::schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};

/// Longest id accepted (the API's own ids are far shorter; this only stops abuse).
pub const MAX_ID_CHARS: usize = 256;

// ---------------------------------------------------------------------------------------------
// Pure checks (used by the types below, and directly where a rule has no type of its own).

/// An id that will become exactly one path segment.
pub fn check_id(raw: &str) -> Result<String, String> {
    let id = raw.trim();
    if id.is_empty() {
        return Err("must not be empty".into());
    }
    if id == "." || id == ".." {
        return Err(format!("{id:?} is not an id"));
    }
    if id.chars().any(char::is_control) {
        return Err("must not contain control characters".into());
    }
    if id.chars().count() > MAX_ID_CHARS {
        return Err(format!("must be at most {MAX_ID_CHARS} characters"));
    }
    Ok(id.to_owned())
}

/// An email address that plausibly reaches a person: `local@domain.tld`, no spaces.
pub fn check_email(raw: &str) -> Result<String, String> {
    let email = raw.trim();
    let bad = || {
        Err(format!(
            "{email:?} is not an email address (expected name@example.com)"
        ))
    };
    if email.len() > 254 || email.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return bad();
    }
    let Some((local, domain)) = email.rsplit_once('@') else {
        return bad();
    };
    let domain_ok = domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains("..")
        && !domain.contains('@');
    if local.is_empty() || local.contains('@') || !domain_ok {
        return bad();
    }
    Ok(email.to_owned())
}

/// A webhook endpoint as the API accepts it: an absolute `https://` URL of at most 2048
/// characters, or plain `http://` to a loopback host (`localhost`, `127.x.x.x`, `[::1]`) for
/// development (updates-webhooks.md: "absolute `https` URL, max 2048 chars; plain `http` allowed
/// only for `localhost` (development)").
pub fn check_webhook_url(raw: &str) -> Result<String, String> {
    let text = raw.trim();
    if text.len() > 2048 {
        return Err("must be at most 2048 characters".into());
    }
    let url = url::Url::parse(text).map_err(|e| format!("{text:?} is not a URL ({e})"))?;
    let loopback = match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    };
    match url.scheme() {
        "https" => {}
        "http" if loopback => {}
        "http" => {
            return Err(
                "must be an https:// URL (plain http:// only to localhost, for development)".into(),
            );
        }
        other => return Err(format!("must be an https:// URL (got {other}://)")),
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err("must name a host".into());
    }
    Ok(text.to_owned())
}

/// Text of `min..=max` characters (Unicode scalar values, as the API counts them).
pub fn check_text(raw: &str, min: usize, max: usize) -> Result<(), String> {
    let n = raw.chars().count();
    if n < min || n > max {
        if min == 1 && n == 0 {
            return Err("must not be empty".into());
        }
        return Err(format!("must be {min} to {max} characters (got {n})"));
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Deserialization helpers.

struct StringVisitor;

impl Visitor<'_> for StringVisitor {
    type Value = String;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a string")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<String, E> {
        Ok(v.to_owned())
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<String, E> {
        Ok(v)
    }
}

// ---------------------------------------------------------------------------------------------
// Numbers: every numeric argument is read as the agent wrote it and refused, rather than changed
// on the wire, when it cannot be sent exactly.

/// The largest integer every JSON reader keeps exactly: 2^53 − 1 (RFC 8259 §6). The API reads
/// numbers as IEEE doubles (it is JavaScript), so a larger integer would be rounded.
pub const MAX_EXACT_INTEGER: u64 = (1 << 53) - 1;

/// A JSON number as the agent wrote it: an integer stays exact (serde_json reads it as u64 or
/// i64), anything else is the double serde_json parsed.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Number {
    Int(i128),
    Float(f64),
}

impl fmt::Display for Number {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Number::Int(n) => write!(f, "{n}"),
            // Plain digits for the usual range, an exponent beyond it (`1e-320`, not 320 zeros).
            Number::Float(x) if x.abs() >= 1e-5 && x.abs() < 1e16 => write!(f, "{x}"),
            Number::Float(x) => write!(f, "{x:?}"),
        }
    }
}

impl Number {
    /// The number as the double that will be sent, when that double is exactly what was
    /// written: an integer of at most [`MAX_EXACT_INTEGER`] in magnitude, or a finite double
    /// that is neither subnormal (too small to keep its digits) nor a whole number beyond
    /// 2^53 (which parsing may already have rounded). Every numeric type goes through this.
    pub fn exact(self) -> Result<f64, String> {
        let beyond = || {
            format!(
                "cannot be sent exactly: {self} is beyond {MAX_EXACT_INTEGER}, the largest \
                 integer a JSON number keeps exactly (RFC 8259 §6)"
            )
        };
        match self {
            Number::Int(n) if n.unsigned_abs() > u128::from(MAX_EXACT_INTEGER) => Err(beyond()),
            Number::Int(n) => Ok(n as f64),
            Number::Float(x) if !x.is_finite() => Err(format!("{x} is not a number")),
            Number::Float(x) if x != 0.0 && x.abs() < f64::MIN_POSITIVE => Err(format!(
                "cannot be sent exactly: {self} is too small to be represented without loss"
            )),
            Number::Float(x) if x.fract() == 0.0 && x.abs() > MAX_EXACT_INTEGER as f64 => {
                Err(beyond())
            }
            Number::Float(x) => Ok(x),
        }
    }
}

/// [`Number::exact`], then whole cents: the API keeps money as integer cents ("amountCents =
/// amountUsd * 100", credits-payments.md), so a fraction of a cent cannot be sent as written.
pub fn exact_dollars(n: Number) -> Result<f64, String> {
    let x = n.exact()?;
    let cents = (x * 100.0).round();
    if cents.abs() > MAX_EXACT_INTEGER as f64 {
        return Err(format!(
            "cannot be sent exactly: {n} USD is more cents than a JSON number keeps exactly"
        ));
    }
    if cents / 100.0 != x {
        return Err(format!(
            "must be whole cents, at most 2 decimal places (got {n}): the API keeps amounts in \
             cents"
        ));
    }
    Ok(x)
}

/// Any JSON number, as the agent wrote it (LLMs sometimes write `25.0` for an integer).
struct NumberVisitor;

impl Visitor<'_> for NumberVisitor {
    type Value = Number;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a number")
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Number, E> {
        Ok(Number::Int(v.into()))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Number, E> {
        Ok(Number::Int(v.into()))
    }
    fn visit_u128<E: de::Error>(self, v: u128) -> Result<Number, E> {
        Ok(i128::try_from(v).map_or(Number::Float(v as f64), Number::Int))
    }
    fn visit_i128<E: de::Error>(self, v: i128) -> Result<Number, E> {
        Ok(Number::Int(v))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Number, E> {
        Ok(Number::Float(v))
    }
}

impl<'de> Deserialize<'de> for Number {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(NumberVisitor)
    }
}

/// A whole number from `min` to `max` (at most [`MAX_EXACT_INTEGER`]), sent exactly.
fn integer_in<'de, D: Deserializer<'de>>(d: D, min: u64, max: u64) -> Result<u64, D::Error> {
    let n = Number::deserialize(d)?;
    let x = n.exact().map_err(de::Error::custom)?;
    let max = max.min(MAX_EXACT_INTEGER);
    if x.fract() != 0.0 || x < min as f64 || x > max as f64 {
        return Err(de::Error::custom(if max == MAX_EXACT_INTEGER {
            format!("must be a whole number of at least {min} (got {n})")
        } else {
            format!("must be a whole number from {min} to {max} (got {n})")
        }));
    }
    Ok(x as u64)
}

macro_rules! string_newtype {
    ($(#[$doc:meta])* $name:ident, $check:expr, $schema:tt) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq)]
        pub struct $name(String);

        impl $name {
            pub fn as_str(&self) -> &str {
                &self.0
            }
            /// Builds the value through the same check as deserialization.
            pub fn parse(raw: &str) -> Result<Self, String> {
                let check: fn(&str) -> Result<String, String> = $check;
                check(raw).map($name)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let raw = d.deserialize_str(StringVisitor)?;
                Self::parse(&raw).map_err(de::Error::custom)
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.0)
            }
        }

        impl JsonSchema for $name {
            fn inline_schema() -> bool {
                true
            }
            fn schema_name() -> Cow<'static, str> {
                stringify!($name).into()
            }
            fn json_schema(_: &mut SchemaGenerator) -> Schema {
                json_schema!($schema)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

string_newtype!(
    /// An OpenTrain id (job, proposal, contract, …). Becomes exactly one percent-encoded path
    /// segment; empty, `.`, `..` and control characters are refused.
    Id,
    check_id,
    {"type": "string", "minLength": 1}
);

string_newtype!(
    /// A human's email address.
    Email,
    check_email,
    {"type": "string", "format": "email"}
);

string_newtype!(
    /// A webhook endpoint: https, or http to localhost for development.
    WebhookUrl,
    check_webhook_url,
    {"type": "string", "format": "uri", "pattern": "^https?://"}
);

string_newtype!(
    /// A plain-text message: 1 to 10,000 characters.
    MessageText,
    |raw| check_text(raw, 1, 10_000).map(|()| raw.to_owned()),
    {"type": "string", "minLength": 1, "maxLength": 10000}
);

string_newtype!(
    /// A plain-text job description: 1 to 60,000 characters (the API's limit).
    JobDescription,
    |raw| check_text(raw.trim(), 1, 60_000).map(|()| raw.to_owned()),
    {"type": "string", "minLength": 1, "maxLength": 60000}
);

/// An optional free-text argument (a name, a due date, a claim token, an external id). A blank
/// value counts as not given: nothing is sent for it, as when it is left out. (Models often fill
/// optional fields with `""`; no endpoint documents an empty value as meaningful.)
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OptionalText(Option<String>);

impl OptionalText {
    /// The text, when one was given.
    pub fn get(&self) -> Option<&str> {
        self.0.as_deref()
    }
    pub fn is_none(&self) -> bool {
        self.0.is_none()
    }
}

impl<'de> Deserialize<'de> for OptionalText {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = Option::<String>::deserialize(d)?;
        Ok(OptionalText(raw.filter(|s| !s.trim().is_empty())))
    }
}

impl Serialize for OptionalText {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(s)
    }
}

impl JsonSchema for OptionalText {
    fn inline_schema() -> bool {
        true
    }
    fn schema_name() -> Cow<'static, str> {
        "OptionalText".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({"type": "string"})
    }
}

string_newtype!(
    /// A non-empty string (a required free text, e.g. a milestone's description).
    NonEmpty,
    |raw| if raw.trim().is_empty() { Err("must not be empty".to_owned()) } else { Ok(raw.trim().to_owned()) },
    {"type": "string", "minLength": 1}
);

/// A page size from 1 to `MAX`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limit<const MAX: u32>(u32);

impl<const MAX: u32> Limit<MAX> {
    pub fn get(self) -> u32 {
        self.0
    }
}

impl<'de, const MAX: u32> Deserialize<'de> for Limit<MAX> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        integer_in(d, 1, MAX as u64).map(|n| Limit(n as u32))
    }
}

impl<const MAX: u32> Serialize for Limit<MAX> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u32(self.0)
    }
}

impl<const MAX: u32> JsonSchema for Limit<MAX> {
    fn inline_schema() -> bool {
        true
    }
    fn schema_name() -> Cow<'static, str> {
        format!("Limit{MAX}").into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({"type": "integer", "minimum": 1, "maximum": MAX})
    }
}

/// A number greater than zero (a unit volume: labels, or hours, which may be fractional),
/// written on the wire as the docs write numbers: `5000`, `2.5`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PositiveNumber(f64);

impl PositiveNumber {
    pub fn get(self) -> f64 {
        self.0
    }
}

impl<'de> Deserialize<'de> for PositiveNumber {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let n = Number::deserialize(d)?;
        let x = n.exact().map_err(de::Error::custom)?;
        if x <= 0.0 {
            return Err(de::Error::custom(format!(
                "must be a number greater than 0 (got {n})"
            )));
        }
        Ok(PositiveNumber(x))
    }
}

impl Serialize for PositiveNumber {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        serialize_dollars(self.0, s)
    }
}

impl JsonSchema for PositiveNumber {
    fn inline_schema() -> bool {
        true
    }
    fn schema_name() -> Cow<'static, str> {
        "PositiveNumber".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({"type": "number", "exclusiveMinimum": 0})
    }
}

/// A number the way the docs write one: whole values as an integer (`300`, not `300.0`),
/// anything else as a decimal (`12.5`).
fn serialize_dollars<S: Serializer>(n: f64, s: S) -> Result<S::Ok, S::Error> {
    // Whole amounts below 2^53 are exact as integers.
    if n.fract() == 0.0 && n.abs() < 9_007_199_254_740_992.0 {
        s.serialize_i64(n as i64)
    } else {
        s.serialize_f64(n)
    }
}

/// An amount in US dollars greater than zero.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Usd(f64);

impl Serialize for Usd {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        serialize_dollars(self.0, s)
    }
}

impl Usd {
    pub fn get(self) -> f64 {
        self.0
    }
}

impl<'de> Deserialize<'de> for Usd {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let n = Number::deserialize(d)?;
        let x = exact_dollars(n).map_err(de::Error::custom)?;
        if x <= 0.0 {
            return Err(de::Error::custom(format!(
                "must be an amount in USD greater than 0 (got {n})"
            )));
        }
        Ok(Usd(x))
    }
}

impl JsonSchema for Usd {
    fn inline_schema() -> bool {
        true
    }
    fn schema_name() -> Cow<'static, str> {
        "Usd".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({"type": "number", "exclusiveMinimum": 0})
    }
}

/// A credit top-up in US dollars: 10 to 10,000.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TopUpUsd(f64);

impl Serialize for TopUpUsd {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        serialize_dollars(self.0, s)
    }
}

impl TopUpUsd {
    pub fn get(self) -> f64 {
        self.0
    }
}

impl<'de> Deserialize<'de> for TopUpUsd {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let n = Number::deserialize(d)?;
        let x = exact_dollars(n).map_err(de::Error::custom)?;
        if !(10.0..=10_000.0).contains(&x) {
            return Err(de::Error::custom(format!(
                "must be from 10 to 10000 USD (got {n})"
            )));
        }
        Ok(TopUpUsd(x))
    }
}

impl JsonSchema for TopUpUsd {
    fn inline_schema() -> bool {
        true
    }
    fn schema_name() -> Cow<'static, str> {
        "TopUpUsd".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({"type": "number", "minimum": 10, "maximum": 10000})
    }
}

/// A JSON object with at least one key (a field patch).
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(transparent)]
pub struct Patch(serde_json::Map<String, serde_json::Value>);

impl Patch {
    pub fn into_inner(self) -> serde_json::Map<String, serde_json::Value> {
        self.0
    }
}

impl<'de> Deserialize<'de> for Patch {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let map = serde_json::Map::deserialize(d)?;
        if map.is_empty() {
            return Err(de::Error::custom(
                "must name at least one field, e.g. {\"experienceLevel\": \"INTERMEDIATE\"}",
            ));
        }
        Ok(Patch(map))
    }
}

impl JsonSchema for Patch {
    fn inline_schema() -> bool {
        true
    }
    fn schema_name() -> Cow<'static, str> {
        "Patch".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({"type": "object", "minProperties": 1})
    }
}

/// A non-empty list of non-empty strings.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(transparent)]
pub struct NonEmptyList(Vec<String>);

impl NonEmptyList {
    pub fn as_slice(&self) -> &[String] {
        &self.0
    }
}

impl<'de> Deserialize<'de> for NonEmptyList {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let items = Vec::<String>::deserialize(d)?;
        if items.is_empty() {
            return Err(de::Error::custom("must list at least one item"));
        }
        if items.iter().any(|s| s.trim().is_empty()) {
            return Err(de::Error::custom("must not contain empty strings"));
        }
        Ok(NonEmptyList(items))
    }
}

impl JsonSchema for NonEmptyList {
    fn inline_schema() -> bool {
        true
    }
    fn schema_name() -> Cow<'static, str> {
        "NonEmptyList".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({"type": "array", "items": {"type": "string", "minLength": 1}, "minItems": 1})
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse<T: for<'de> Deserialize<'de>>(v: serde_json::Value) -> Result<T, String> {
        serde_json::from_value(v).map_err(|e| e.to_string())
    }

    #[test]
    fn ids() {
        assert_eq!(check_id(" job_1 ").unwrap(), "job_1");
        for bad in ["", "   ", ".", "..", "a\nb", "\u{7f}"] {
            assert!(check_id(bad).is_err(), "{bad:?} should be refused");
        }
        assert!(check_id(&"x".repeat(257)).is_err());
        // Hostile-looking ids are fine here: they are encoded, not refused.
        for ok in ["../tokens", "x?y=1", "x#y", "%2e%2e", "a/../../b"] {
            assert!(check_id(ok).is_ok());
        }
        assert!(
            parse::<Id>(json!(5))
                .unwrap_err()
                .contains("expected a string")
        );
    }

    #[test]
    fn emails() {
        assert!(check_email("owner@example.com").is_ok());
        for bad in [
            "owner",
            "owner@",
            "@example.com",
            "a b@example.com",
            "a@b",
            "a@.com",
            "a@b..com",
            "a@b.com.",
        ] {
            assert!(check_email(bad).is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn webhook_urls() {
        for ok in [
            "https://example.com/hooks",
            "http://localhost:3000/hooks",
            "http://LOCALHOST/x",
            "http://127.0.0.1:8080/x",
            "http://127.1.2.3/x",
            "http://[::1]:9/x",
        ] {
            assert!(check_webhook_url(ok).is_ok(), "{ok}");
        }
        assert!(
            check_webhook_url("http://example.com/hooks")
                .unwrap_err()
                .contains("https")
        );
        assert!(check_webhook_url("http://localhost.example.com/").is_err());
        assert!(check_webhook_url("ftp://example.com/").is_err());
        assert!(check_webhook_url("not a url").is_err());
        assert!(check_webhook_url(&format!("https://x.com/{}", "a".repeat(2040))).is_err());
    }

    #[test]
    fn optional_text_treats_blank_as_absent() {
        assert_eq!(parse::<OptionalText>(json!("")).unwrap().get(), None);
        assert_eq!(parse::<OptionalText>(json!("  ")).unwrap().get(), None);
        assert_eq!(parse::<OptionalText>(json!(null)).unwrap().get(), None);
        assert_eq!(
            parse::<OptionalText>(json!(" x ")).unwrap().get(),
            Some(" x ")
        );
        assert!(parse::<OptionalText>(json!(5)).is_err());
    }

    #[test]
    fn limits_and_amounts() {
        assert_eq!(parse::<Limit<100>>(json!(25)).unwrap().get(), 25);
        assert_eq!(parse::<Limit<100>>(json!(25.0)).unwrap().get(), 25);
        assert!(
            parse::<Limit<100>>(json!(0))
                .unwrap_err()
                .contains("from 1 to 100")
        );
        assert!(parse::<Limit<100>>(json!(101)).is_err());
        assert!(parse::<Limit<100>>(json!(2.5)).is_err());
        assert!(parse::<Limit<100>>(json!("25")).is_err());
        assert!(parse::<Usd>(json!(0)).is_err());
        assert!(parse::<Usd>(json!(-3)).is_err());
        assert_eq!(parse::<Usd>(json!(0.5)).unwrap().get(), 0.5);
        assert!(parse::<TopUpUsd>(json!(9.99)).is_err());
        assert!(parse::<TopUpUsd>(json!(10_001)).is_err());
        assert!(parse::<PositiveNumber>(json!(0)).is_err());
        assert!(parse::<PositiveNumber>(json!(-2)).is_err());
        assert_eq!(parse::<PositiveNumber>(json!(1.5)).unwrap().get(), 1.5);
        assert_eq!(
            serde_json::to_string(&parse::<PositiveNumber>(json!(5000.0)).unwrap()).unwrap(),
            "5000"
        );
        // Exactly representable, or refused.
        assert!(parse::<PositiveNumber>(json!(9_007_199_254_740_991u64)).is_ok());
        assert!(parse::<PositiveNumber>(json!(9_007_199_254_740_992u64)).is_err());
        assert!(parse::<PositiveNumber>(json!(1e-320)).is_err());
        assert!(parse::<Usd>(json!(0.07)).is_ok());
        assert!(parse::<Usd>(json!(0.1 + 0.2)).is_err());
        assert!(parse::<Usd>(json!(-0.0)).is_err());
        assert_eq!(Number::Float(1e-320).to_string(), "1e-320");
        assert_eq!(Number::Float(12.5).to_string(), "12.5");
        // Dollars go out as the docs write them.
        assert_eq!(
            serde_json::to_string(&parse::<Usd>(json!(300.0)).unwrap()).unwrap(),
            "300"
        );
        assert_eq!(
            serde_json::to_string(&parse::<Usd>(json!(12.5)).unwrap()).unwrap(),
            "12.5"
        );
        assert_eq!(
            serde_json::to_string(&parse::<TopUpUsd>(json!(100)).unwrap()).unwrap(),
            "100"
        );
    }

    #[test]
    fn text_lists_patches() {
        assert!(parse::<MessageText>(json!("")).is_err());
        assert!(parse::<MessageText>(json!("x".repeat(10_001))).is_err());
        assert!(parse::<MessageText>(json!("é".repeat(10_000))).is_ok());
        assert!(parse::<Patch>(json!({})).is_err());
        assert!(parse::<Patch>(json!([])).is_err());
        assert!(parse::<NonEmptyList>(json!([])).is_err());
        assert!(parse::<NonEmptyList>(json!([""])).is_err());
    }
}
