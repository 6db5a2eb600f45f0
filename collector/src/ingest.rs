//! What an ingestion request means: which endpoint, which write key, which events, or why it
//! is rejected. Pure: no I/O. Events are parsed with `sieve::json` and checked with
//! `sieve::core::validate`, the same code the SDK runs, so both sides agree on what an event is.
//!
//! **Invariant:** a request is accepted whole or rejected whole. [`parse_request`] checks every
//! event before returning any, so the store never sees part of a bad batch.

use sieve::core::validate::{validate_sized, MAX_BATCH_BYTES};
use sieve::json::{self, Value};

/// An ingestion endpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Endpoint {
    /// `/v1/batch`, `/v1/b`: `{batch:[...], sentAt, writeKey}`.
    Batch,
    /// `/v1/t`, `/v1/track`, ...: one event whose `type` must be this one (or absent).
    Single(&'static str),
}

/// The endpoint for a request path, or `None` if the path is not an ingestion path.
pub fn endpoint_for(path: &str) -> Option<Endpoint> {
    let rest = path.strip_prefix("/v1/")?;
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    Some(match rest {
        "batch" | "b" | "import" => Endpoint::Batch,
        "t" | "track" => Endpoint::Single("track"),
        "p" | "page" => Endpoint::Single("page"),
        "i" | "identify" => Endpoint::Single("identify"),
        "g" | "group" => Endpoint::Single("group"),
        "a" | "alias" => Endpoint::Single("alias"),
        "s" | "screen" => Endpoint::Single("screen"),
        _ => return None,
    })
}

/// One accepted event, ready to store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Incoming {
    /// `messageId` (validated non-empty).
    pub message_id: String,
    /// `type` (validated).
    pub kind: String,
    /// The event's compact JSON text (without a single-event body's `writeKey`).
    pub json: String,
}

/// An accepted request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Accepted {
    /// From the body's `writeKey`, else from Basic auth, else `None`.
    pub write_key: Option<String>,
    /// The request's top-level `sentAt`, when it is a string.
    pub sent_at: Option<String>,
    /// The events, in body order.
    pub events: Vec<Incoming>,
}

/// A rejected request: answered 400 `{"success":false,"error":..,"index":..}`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rejection {
    /// Why, as a short lowercase sentence.
    pub error: String,
    /// The index of the offending event in `batch` (batch endpoints only).
    pub index: Option<usize>,
    /// How many events the body held, when that is known (for the request log).
    pub events: usize,
}

impl Rejection {
    fn request(error: &str) -> Rejection {
        Rejection {
            error: error.to_string(),
            index: None,
            events: 0,
        }
    }

    /// The 400 response body.
    pub fn to_json(&self) -> String {
        let mut m = json::Map::new();
        m.insert("success", Value::Bool(false));
        m.insert("error", Value::str(self.error.clone()));
        if let Some(i) = self.index {
            m.insert("index", Value::int(i as i64));
        }
        Value::Object(m).to_json()
    }
}

/// The 400 reason for a body over [`MAX_BATCH_BYTES`].
pub const ERR_BODY_TOO_LARGE: &str = "request body is larger than 500 KB";

/// Parses and validates one ingestion request body.
///
/// `auth_user` is the Basic-auth user name, used as the write key when the body has none.
///
/// # Errors
/// The first problem found: body too large, not UTF-8, not JSON, wrong shape, or the first
/// event that fails `validate_sized` (with its index).
pub fn parse_request(
    endpoint: Endpoint,
    body: &[u8],
    auth_user: Option<&str>,
) -> Result<Accepted, Rejection> {
    if body.len() > MAX_BATCH_BYTES {
        return Err(Rejection::request(ERR_BODY_TOO_LARGE));
    }
    let text =
        std::str::from_utf8(body).map_err(|_| Rejection::request("request body is not UTF-8"))?;
    // Events nest as deep as the SDK's parser lets them ([`json::MAX_DEPTH`]); a batch adds
    // two levels around them (the body and its `batch` array).
    let value = json::parse_enveloped(text, 2)
        .map_err(|e| Rejection::request(&format!("invalid JSON: {}", e.message())))?;
    let Value::Object(mut top) = value else {
        return Err(Rejection::request("request body must be a JSON object"));
    };
    let write_key = match top.get("writeKey") {
        None | Some(Value::Null) => auth_user.map(str::to_string),
        Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
        Some(_) => return Err(Rejection::request("writeKey must be a non-empty string")),
    };
    let sent_at = top
        .get("sentAt")
        .and_then(Value::as_str)
        .map(str::to_string);

    let events = match endpoint {
        Endpoint::Batch => {
            let Some(Value::Array(batch)) = top.remove("batch") else {
                return Err(Rejection::request("batch must be an array of events"));
            };
            let total = batch.len();
            let mut events = Vec::with_capacity(total);
            for (index, event) in batch.into_iter().enumerate() {
                let incoming = check_event(event).map_err(|error| Rejection {
                    error,
                    index: Some(index),
                    events: total,
                })?;
                events.push(incoming);
            }
            events
        }
        Endpoint::Single(kind) => {
            // The path names the type; Segment accepts single events without `type`.
            match top.get("type") {
                None => top.insert("type", Value::str(kind)),
                Some(t) if t.as_str() == Some(kind) => {}
                Some(_) => {
                    return Err(Rejection {
                        error: format!("event type does not match the endpoint (expected {kind})"),
                        index: None,
                        events: 1,
                    })
                }
            }
            // The write key is the request's credential, not part of the event.
            top.remove("writeKey");
            let incoming = check_event(Value::Object(top)).map_err(|error| Rejection {
                error,
                index: None,
                events: 1,
            })?;
            vec![incoming]
        }
    };
    Ok(Accepted {
        write_key,
        sent_at,
        events,
    })
}

fn check_event(event: Value) -> Result<Incoming, String> {
    let text = event.to_json();
    validate_sized(&event, text.len()).map_err(|e| e.message().to_string())?;
    // Both are present: `validate` checked them.
    let message_id = event
        .get("messageId")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let kind = event
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    Ok(Incoming {
        message_id,
        kind,
        json: text,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const TRACK: &str = r#"{"type":"track","event":"Clicked","messageId":"m1","anonymousId":"a1","timestamp":"2024-01-02T03:04:05.000Z"}"#;

    #[track_caller]
    fn reject(endpoint: Endpoint, body: &str, error: &str, index: Option<usize>) {
        let got = parse_request(endpoint, body.as_bytes(), None).expect_err("should be rejected");
        assert_eq!((got.error.as_str(), got.index), (error, index), "{body}");
    }

    #[test]
    fn endpoints() {
        assert_eq!(endpoint_for("/v1/batch"), Some(Endpoint::Batch));
        assert_eq!(endpoint_for("/v1/b"), Some(Endpoint::Batch));
        assert_eq!(endpoint_for("/v1/t"), Some(Endpoint::Single("track")));
        assert_eq!(endpoint_for("/v1/screen"), Some(Endpoint::Single("screen")));
        assert_eq!(endpoint_for("/v1/x"), None);
        assert_eq!(endpoint_for("/batch"), None);
    }

    #[test]
    fn accepts_a_batch_keeping_event_text() {
        let body =
            format!(r#"{{"batch":[{TRACK}],"sentAt":"2024-01-02T03:04:06.000Z","writeKey":"wk"}}"#);
        let got = parse_request(Endpoint::Batch, body.as_bytes(), Some("ignored")).unwrap();
        assert_eq!(got.write_key.as_deref(), Some("wk"));
        assert_eq!(got.sent_at.as_deref(), Some("2024-01-02T03:04:06.000Z"));
        assert_eq!(
            got.events,
            vec![Incoming {
                message_id: "m1".into(),
                kind: "track".into(),
                json: TRACK.into()
            }]
        );
    }

    #[test]
    fn events_nest_as_deep_in_a_batch_as_on_their_own() {
        // The deepest event the SDK's parser takes: its properties hold MAX_DEPTH - 1 levels.
        let levels = json::MAX_DEPTH - 1;
        let deep = format!("{}1{}", r#"{"d":"#.repeat(levels), "}".repeat(levels));
        let event = TRACK.replacen('}', &format!(r#","properties":{deep}}}"#), 1);
        assert!(json::parse(&event).is_ok());
        let single = parse_request(Endpoint::Single("track"), event.as_bytes(), Some("wk"));
        assert!(single.is_ok());
        let batch = format!(r#"{{"batch":[{event}],"writeKey":"wk"}}"#);
        assert_eq!(
            parse_request(Endpoint::Batch, batch.as_bytes(), None).map(|a| a.events.len()),
            Ok(1)
        );
        // One level more than the envelope allows is refused.
        let batch = format!(r#"{{"batch":[[{event}]],"writeKey":"wk"}}"#);
        reject(
            Endpoint::Batch,
            &batch,
            "invalid JSON: JSON nested too deeply",
            None,
        );
    }

    #[test]
    fn write_key_falls_back_to_basic_auth() {
        let got = parse_request(Endpoint::Batch, br#"{"batch":[]}"#, Some("wk2")).unwrap();
        assert_eq!(got.write_key.as_deref(), Some("wk2"));
        assert!(got.events.is_empty());
    }

    #[test]
    fn single_event_type_comes_from_the_path() {
        let body = r#"{"event":"E","messageId":"m2","userId":"u","writeKey":"wk"}"#;
        let got = parse_request(Endpoint::Single("track"), body.as_bytes(), None).unwrap();
        assert_eq!(got.write_key.as_deref(), Some("wk"));
        assert_eq!(
            got.events[0].json,
            r#"{"event":"E","messageId":"m2","userId":"u","type":"track"}"#
        );
        reject(
            Endpoint::Single("page"),
            TRACK,
            "event type does not match the endpoint (expected page)",
            None,
        );
    }

    #[test]
    fn rejects_whole_requests() {
        reject(
            Endpoint::Batch,
            "{",
            "invalid JSON: unexpected end of JSON input",
            None,
        );
        reject(
            Endpoint::Batch,
            "[]",
            "request body must be a JSON object",
            None,
        );
        reject(
            Endpoint::Batch,
            r#"{"batch":{}}"#,
            "batch must be an array of events",
            None,
        );
        reject(
            Endpoint::Batch,
            r#"{"batch":[],"writeKey":5}"#,
            "writeKey must be a non-empty string",
            None,
        );
        let bad = r#"{"type":"track","messageId":"m9","anonymousId":"a"}"#;
        reject(
            Endpoint::Batch,
            &format!(r#"{{"batch":[{TRACK},{bad}]}}"#),
            "track events need a non-empty string event",
            Some(1),
        );
        let big = format!(
            r#"{{"type":"track","event":"E","messageId":"m3","anonymousId":"a","properties":{{"x":"{}"}}}}"#,
            "y".repeat(33 * 1024)
        );
        reject(
            Endpoint::Batch,
            &format!(r#"{{"batch":[{big}]}}"#),
            "event is larger than 32 KB",
            Some(0),
        );
        let huge = format!(r#"{{"batch":[],"pad":"{}"}}"#, "z".repeat(MAX_BATCH_BYTES));
        reject(Endpoint::Batch, &huge, ERR_BODY_TOO_LARGE, None);
        assert!(parse_request(Endpoint::Batch, &[0xff, 0xfe], None).is_err());
    }

    #[test]
    fn never_panics_on_mutated_bodies() {
        const MUTATIONS: &[u8] = b"{}[]\\\",:0-e\"x\x80";
        let seed = format!(
            r#"{{"batch":[{TRACK},{{"type":"group","groupId":1,"messageId":"g","userId":2}}],"writeKey":"k"}}"#
        );
        let mut state = 11u64;
        let mut next = move || {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (state >> 33) as usize
        };
        for _ in 0..20_000 {
            let mut body = seed.clone().into_bytes();
            for _ in 0..next() % 3 + 1 {
                let i = next() % body.len().max(1);
                match next() % 3 {
                    0 if !body.is_empty() => body[i] = MUTATIONS[next() % MUTATIONS.len()],
                    1 => body.truncate(i),
                    _ => body.insert(i.min(body.len()), b'['),
                }
            }
            for endpoint in [Endpoint::Batch, Endpoint::Single("track")] {
                let _ = parse_request(endpoint, &body, Some("u"));
            }
        }
    }
}
