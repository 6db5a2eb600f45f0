//! What a well-formed Segment event is: the one check shared by the SDK and the collector.
//! Pure: no I/O.

use crate::core::time::parse_iso;
use crate::json::{Map, Value};

/// Largest accepted event, in bytes of JSON (Segment's HTTP API limit).
pub const MAX_EVENT_BYTES: usize = 32 * 1024;
/// Largest accepted batch request body, in bytes (Segment's HTTP API limit).
pub const MAX_BATCH_BYTES: usize = 500 * 1024;

/// Why an event is malformed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ValidationError {
    /// The event is not a JSON object.
    NotAnObject,
    /// `type` is missing or not one of track/page/screen/identify/group/alias.
    BadType,
    /// `messageId` is missing or not a non-empty string.
    BadMessageId,
    /// Neither a `userId` nor an `anonymousId` string.
    NoIdentity,
    /// `timestamp` is present but not an ISO 8601 string.
    BadTimestamp,
    /// A track event without a non-empty string `event`.
    MissingEventName,
    /// `properties` (track/page/screen) or `traits` (identify/group) is not an object.
    BadPayloadObject,
    /// A group event without a `groupId`.
    MissingGroupId,
    /// An alias event without `userId` and `previousId`.
    BadAlias,
    /// `context` or `integrations` is present but not an object.
    BadEnvelope,
    /// More than [`MAX_EVENT_BYTES`] of JSON.
    TooLarge,
}

impl ValidationError {
    /// A short, lowercase reason, suitable for a 400 response or an `error` event.
    pub fn message(self) -> &'static str {
        match self {
            ValidationError::NotAnObject => "event is not a JSON object",
            ValidationError::BadType => {
                "type must be one of track, page, screen, identify, group, alias"
            }
            ValidationError::BadMessageId => "messageId must be a non-empty string",
            ValidationError::NoIdentity => "userId or anonymousId is required",
            ValidationError::BadTimestamp => "timestamp must be an ISO 8601 string",
            ValidationError::MissingEventName => "track events need a non-empty string event",
            ValidationError::BadPayloadObject => "properties/traits must be an object",
            ValidationError::MissingGroupId => "group events need a groupId",
            ValidationError::BadAlias => "alias events need userId and previousId",
            ValidationError::BadEnvelope => "context and integrations must be objects",
            ValidationError::TooLarge => "event is larger than 32 KB",
        }
    }
}

impl std::fmt::Display for ValidationError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.message())
    }
}

impl std::error::Error for ValidationError {}

fn non_empty_str(v: Option<&Value>) -> bool {
    v.and_then(Value::as_str).is_some_and(|s| !s.is_empty())
}

fn id_like(v: Option<&Value>) -> bool {
    match v {
        Some(Value::String(s)) => !s.is_empty(),
        Some(Value::Number(_)) => true,
        _ => false,
    }
}

fn object_or_absent(v: Option<&Value>) -> bool {
    matches!(v, None | Some(Value::Object(_)))
}

/// Checks one event as Segment's HTTP API would accept it.
///
/// # Errors
/// The first rule the event breaks.
pub fn validate(event: &Value) -> Result<(), ValidationError> {
    validate_map(event.as_object().ok_or(ValidationError::NotAnObject)?)
}

/// [`validate`] for an event already known to be an object.
///
/// # Errors
/// The first rule the event breaks.
pub fn validate_map(map: &Map) -> Result<(), ValidationError> {
    let kind = map.get("type").and_then(Value::as_str).unwrap_or("");
    if !matches!(
        kind,
        "track" | "page" | "screen" | "identify" | "group" | "alias"
    ) {
        return Err(ValidationError::BadType);
    }
    if !non_empty_str(map.get("messageId")) {
        return Err(ValidationError::BadMessageId);
    }
    if !id_like(map.get("userId")) && !id_like(map.get("anonymousId")) {
        return Err(ValidationError::NoIdentity);
    }
    if let Some(ts) = map.get("timestamp") {
        if ts.as_str().is_none_or(|s| parse_iso(s).is_none()) {
            return Err(ValidationError::BadTimestamp);
        }
    }
    if !object_or_absent(map.get("context")) || !object_or_absent(map.get("integrations")) {
        return Err(ValidationError::BadEnvelope);
    }
    match kind {
        "track" => {
            if !non_empty_str(map.get("event")) {
                return Err(ValidationError::MissingEventName);
            }
            if !object_or_absent(map.get("properties")) {
                return Err(ValidationError::BadPayloadObject);
            }
        }
        "page" | "screen" => {
            if !object_or_absent(map.get("properties")) {
                return Err(ValidationError::BadPayloadObject);
            }
        }
        "identify" => {
            if !object_or_absent(map.get("traits")) {
                return Err(ValidationError::BadPayloadObject);
            }
        }
        "group" => {
            if !id_like(map.get("groupId")) {
                return Err(ValidationError::MissingGroupId);
            }
            if !object_or_absent(map.get("traits")) {
                return Err(ValidationError::BadPayloadObject);
            }
        }
        _ => {
            if !id_like(map.get("userId")) || !id_like(map.get("previousId")) {
                return Err(ValidationError::BadAlias);
            }
        }
    }
    Ok(())
}

/// [`validate`] plus the 32 KB size limit, for an event whose JSON text is known.
///
/// # Errors
/// As [`validate`], or [`ValidationError::TooLarge`].
pub fn validate_sized(event: &Value, json_len: usize) -> Result<(), ValidationError> {
    if json_len > MAX_EVENT_BYTES {
        return Err(ValidationError::TooLarge);
    }
    validate(event)
}
