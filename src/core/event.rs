//! Event building: analytics.js's event factory, `normalize`, page-context and environment
//! enrichment, and the Segment.io fix-ups, producing Segment-spec events. Pure: identity,
//! time, entropy and the page context are passed in.

use crate::core::args::{AliasArgs, PageArgs, TrackArgs, UserArgs};
use crate::core::config::{Config, LIBRARY_NAME, LIBRARY_VERSION};
use crate::core::identity::Identity;
use crate::core::ids::Entropy;
use crate::core::page::{campaign_from_query, BufferedPageContext};
use crate::core::time::Millis;
use crate::json::{emit_json_str, Map, Value};

/// Browser facts read once by the driver at start-up.
#[derive(Clone, Debug, Default)]
pub struct Env {
    /// `navigator.userAgent`
    pub user_agent: String,
    /// `navigator.language`
    pub locale: Option<String>,
    /// The host's time zone id, as `Intl.DateTimeFormat().resolvedOptions().timeZone` gives it
    pub timezone: Option<String>,
    /// `navigator.userAgentData.toJSON()` when available.
    pub user_agent_data: Option<Value>,
}

/// The Segment event types; the number is the method's code at the wasm boundary
/// ([`crate::core::boundary::method_from_u8`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum EventType {
    /// `track`
    Track = 0,
    /// `page`
    Page = 1,
    /// `screen`
    Screen = 2,
    /// `identify`
    Identify = 3,
    /// `group`
    Group = 4,
    /// `alias`
    Alias = 5,
}

impl EventType {
    /// From the `type` field, which is also the analytics.js method name.
    pub fn from_name(name: &str) -> Option<EventType> {
        Some(match name {
            "track" => EventType::Track,
            "page" => EventType::Page,
            "screen" => EventType::Screen,
            "identify" => EventType::Identify,
            "group" => EventType::Group,
            "alias" => EventType::Alias,
            _ => return None,
        })
    }

    /// The `type` field.
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::Track => "track",
            EventType::Page => "page",
            EventType::Screen => "screen",
            EventType::Identify => "identify",
            EventType::Group => "group",
            EventType::Alias => "alias",
        }
    }
    /// The standard-mode endpoint letter (`/v1/t` ...).
    pub fn endpoint(self) -> &'static str {
        match self {
            EventType::Track => "t",
            EventType::Page => "p",
            EventType::Screen => "s",
            EventType::Identify => "i",
            EventType::Group => "g",
            EventType::Alias => "a",
        }
    }
}

/// The type-specific part of an event.
#[derive(Clone, Debug)]
pub enum Payload {
    /// track
    Track(TrackArgs),
    /// page or screen
    Page(EventType, PageArgs),
    /// identify (traits already merged into identity)
    Identify(UserArgs),
    /// group
    Group(UserArgs),
    /// alias
    Alias(AliasArgs),
}

impl Payload {
    /// The call's options.
    pub fn options(&self) -> &Map {
        match self {
            Payload::Track(a) => &a.options,
            Payload::Page(_, a) => &a.options,
            Payload::Identify(a) | Payload::Group(a) => &a.options,
            Payload::Alias(a) => &a.options,
        }
    }

    pub(crate) fn options_mut(&mut self) -> &mut Map {
        match self {
            Payload::Track(a) => &mut a.options,
            Payload::Page(_, a) => &mut a.options,
            Payload::Identify(a) | Payload::Group(a) => &mut a.options,
            Payload::Alias(a) => &mut a.options,
        }
    }
}

/// Everything one event build needs besides the payload.
#[derive(Debug)]
pub struct BuildInput<'a> {
    /// Now.
    pub now: Millis,
    /// Instance configuration.
    pub config: &'a Config,
    /// Browser facts.
    pub env: &'a Env,
    /// Identity after the call's identity effects.
    pub identity: &'a Identity,
    /// The page context of the call.
    pub page: &'a BufferedPageContext,
}

/// `ajs-next`-style message id: `sieve-<ms>-<uuid v4>`.
pub fn new_message_id(now: Millis, entropy: &mut Entropy) -> String {
    let mut id = Vec::with_capacity(56);
    write_message_id(&mut id, now, entropy);
    crate::json::into_string(id)
}

/// Appends a new message id (ASCII, nothing to escape): `sieve-<ms>-<uuid v4>`.
fn write_message_id(out: &mut Vec<u8>, now: Millis, entropy: &mut Entropy) {
    out.extend_from_slice(b"sieve-");
    crate::json::write_u64(out, now.0, 1);
    out.push(b'-');
    out.extend_from_slice(&entropy.uuid_v4_text());
}

fn id_value(id: Option<&str>) -> Value {
    id.map_or(Value::Null, Value::str)
}

/// Builds a Segment event, field for field as analytics.js sends it to Segment.io.
pub fn build(input: &BuildInput<'_>, mut payload: Payload, entropy: &mut Entropy) -> Map {
    // Taken, not cloned: the payload's options are not read again.
    let options = std::mem::take(payload.options_mut());

    // normalize(): options split into overrides (top level) and context (everything else).
    let mut context = Map::new();
    let mut overrides = Map::new();
    for (key, value) in options.iter() {
        match key {
            "userId" | "anonymousId" | "timestamp" | "messageId" => {
                overrides.insert(key, value.clone())
            }
            "context" => {
                if let Value::Object(c) = value {
                    let mut merged = c.clone();
                    merged.extend(std::mem::take(&mut context));
                    context = merged;
                }
            }
            _ => context.insert(key, value.clone()),
        }
    }
    let mut integrations = input.config.integrations.clone();
    if let Some(Value::Object(per_call)) = options.get("integrations") {
        integrations.extend(per_call.clone());
    }
    context.remove("integrations");

    let mut event = Map::new();
    event.insert("timestamp", Value::String(input.now.to_iso()));
    event.insert("integrations", Value::Object(integrations));

    let page_ctx = input.page.to_page_context();
    let kind = match payload {
        Payload::Track(a) => {
            event.insert("event", Value::String(a.name));
            event.insert("type", Value::str("track"));
            event.insert("properties", Value::Object(a.properties));
            EventType::Track
        }
        Payload::Page(kind, a) => {
            let mut properties = a.properties;
            event.insert("type", Value::str(kind.as_str()));
            if let Some(category) = &a.category {
                event.insert("category", Value::str(category.as_str()));
                if kind == EventType::Page {
                    properties.insert("category", Value::str(category.as_str()));
                }
            }
            if let Some(name) = &a.name {
                event.insert("name", Value::str(name.as_str()));
            }
            if kind == EventType::Page {
                // context.page = {...pageCtx, ...page fields of properties, ...options.context.page}
                let mut page = page_ctx.clone();
                for (k, v) in properties.iter() {
                    if page_ctx.contains_key(k) {
                        page.insert(k, v.clone());
                    }
                }
                if let Some(Value::Object(explicit)) = context.get("page") {
                    page.extend(explicit.clone());
                }
                context.insert("page", Value::Object(page));
                // properties = {...pageCtx, ...properties, name}
                let mut merged = page_ctx.clone();
                merged.extend(properties);
                // `...(event.name ? {name} : {})`: an empty name is not copied.
                if let Some(name) = a.name.as_ref().filter(|n| !n.is_empty()) {
                    merged.insert("name", Value::str(name.as_str()));
                }
                properties = merged;
            }
            event.insert("properties", Value::Object(properties));
            kind
        }
        Payload::Identify(_) => {
            event.insert("type", Value::str("identify"));
            event.insert(
                "traits",
                Value::Object(input.identity.user_traits().clone()),
            );
            EventType::Identify
        }
        Payload::Group(_) => {
            event.insert("type", Value::str("group"));
            event.insert("groupId", id_value(input.identity.group_id()));
            event.insert(
                "traits",
                Value::Object(input.identity.group_traits().clone()),
            );
            EventType::Group
        }
        Payload::Alias(a) => {
            event.insert("type", Value::str("alias"));
            // Segment.io fix-ups run after addIdentity: a stored userId wins over `to`, and
            // previousId falls back to the user id, then the anonymous id.
            let user_id = input.identity.user_id().map(str::to_owned).or(a.to);
            let previous = a
                .from
                .or_else(|| input.identity.user_id().map(str::to_owned))
                .or_else(|| input.identity.anonymous_id().map(str::to_owned));
            event.insert("userId", id_value(user_id.as_deref()));
            event.insert("previousId", id_value(previous.as_deref()));
            EventType::Alias
        }
    };

    if kind != EventType::Page {
        let mut page = page_ctx;
        if let Some(Value::Object(explicit)) = context.get("page") {
            page.extend(explicit.clone());
        }
        context.insert("page", Value::Object(page));
    }
    enrich_context(&mut context, input.env);
    if let Some(segments) = &input.config.context_segments {
        context.insert("segments", segments.clone());
    }
    if let Some(ad) = input.identity.ad_referrer() {
        let mut referrer = match context.remove("referrer") {
            Some(Value::Object(existing)) => existing,
            _ => Map::new(),
        };
        referrer.extend(ad.clone());
        context.insert("referrer", Value::Object(referrer));
    }

    // Overrides, then identity (addIdentity runs last: a stored userId beats options.userId).
    for (k, v) in overrides.iter() {
        event.insert(k, v.clone());
    }
    if kind != EventType::Alias {
        let user_id = input
            .identity
            .user_id()
            .map(Value::str)
            .or_else(|| overrides.get("userId").cloned());
        event.insert("userId", user_id.unwrap_or(Value::Null));
    }
    if let Some(anonymous_id) = input.identity.anonymous_id() {
        event.insert("anonymousId", Value::str(anonymous_id));
    }
    event.insert("context", Value::Object(context));
    let message_id = match overrides.get("messageId") {
        Some(Value::String(s)) if !s.is_empty() => s.clone(),
        _ => new_message_id(input.now, entropy),
    };
    event.insert("messageId", Value::String(message_id));
    event
}

/// Pre-written JSON for [`write_track`]: the environment members of `context`, and the
/// `page` / `campaign` members for the last page context seen (keyed by its JSON text).
#[derive(Debug, Default)]
pub struct Fragments {
    /// `,"userAgent":…` up to and including `library` (what [`enrich_context`] puts before
    /// `campaign`).
    env_head: Vec<u8>,
    /// `,"timezone":…` (or empty): what comes after `campaign`.
    env_tail: Vec<u8>,
    /// The page context's JSON text the members below were written for.
    page_key: String,
    /// `"page":{…}`
    page: Vec<u8>,
    /// `,"campaign":{…}` or empty.
    campaign: Vec<u8>,
    /// The ad-click referrer in this page's query, if any.
    ad_referrer: Option<Map>,
}

impl Fragments {
    /// Writes the environment members through [`enrich_context`] itself, so the two event
    /// writers cannot drift apart.
    pub fn new(env: &Env) -> Fragments {
        let mut context = Map::new();
        enrich_context(&mut context, env);
        let mut f = Fragments::default();
        for (key, value) in context.iter() {
            let out = if key == "timezone" {
                &mut f.env_tail
            } else {
                &mut f.env_head
            };
            push_key(out, key);
            value.emit(out);
        }
        f
    }

    /// Re-writes the page members when `key` (the page context's JSON text) changed.
    pub fn set_page(&mut self, key: &str) {
        if self.page_key != key || self.page.is_empty() {
            let page = BufferedPageContext::from_json(key);
            let page_ctx = page.to_page_context();
            // The first member of `context`: no leading comma.
            self.page.clear();
            self.page.extend_from_slice(b"\"page\":");
            page_ctx.emit(&mut self.page);
            self.campaign.clear();
            if !page.search.is_empty() {
                push_key(&mut self.campaign, "campaign");
                campaign_from_query(&page.search).emit(&mut self.campaign);
            }
            self.ad_referrer = crate::core::page::ad_referrer_from_query(&page.search);
            self.page_key = key.to_owned();
        }
    }

    /// The ad-click referrer of the page the fragments were last written for.
    pub fn ad_referrer(&self) -> Option<&Map> {
        self.ad_referrer.as_ref()
    }
}

/// Appends `,"key":` (the value follows).
fn push_key(out: &mut Vec<u8>, key: &str) {
    out.push(b',');
    emit_json_str(out, key);
    out.push(b':');
}

/// The event [`build`] makes for `track(name, properties)` without options, written straight
/// as JSON (same members, same order, `writeKey` last as the core adds it): no tree, and the
/// name and properties copied verbatim from the JSON texts the shim sent (`name` a string
/// literal, `properties` an object). `fragments` must be set for the call's page context.
pub fn write_track(
    input: &TrackInput<'_>,
    fragments: &Fragments,
    name: &str,
    properties: &str,
    entropy: &mut Entropy,
) -> String {
    let mut out = Vec::with_capacity(
        320 + fragments.env_head.len() + fragments.page.len() + properties.len(),
    );
    out.extend_from_slice(b"{\"timestamp\":\"");
    input.now.write_iso(&mut out);
    out.extend_from_slice(b"\",\"integrations\":");
    input.config.integrations.emit(&mut out);
    out.extend_from_slice(b",\"event\":");
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b",\"type\":\"track\",\"properties\":");
    out.extend_from_slice(properties.as_bytes());
    out.extend_from_slice(b",\"userId\":");
    id_value(input.identity.user_id()).emit(&mut out);
    if let Some(anonymous_id) = input.identity.anonymous_id() {
        out.extend_from_slice(b",\"anonymousId\":");
        emit_json_str(&mut out, anonymous_id);
    }
    out.extend_from_slice(b",\"context\":{");
    out.extend_from_slice(&fragments.page);
    out.extend_from_slice(&fragments.env_head);
    out.extend_from_slice(&fragments.campaign);
    out.extend_from_slice(&fragments.env_tail);
    if let Some(segments) = &input.config.context_segments {
        push_key(&mut out, "segments");
        segments.emit(&mut out);
    }
    if let Some(ad) = input.identity.ad_referrer() {
        push_key(&mut out, "referrer");
        ad.emit(&mut out);
    }
    out.extend_from_slice(b"},\"messageId\":\"");
    write_message_id(&mut out, input.now, entropy);
    out.push(b'"');
    out.extend_from_slice(b",\"writeKey\":");
    emit_json_str(&mut out, &input.config.write_key);
    out.push(b'}');
    crate::json::into_string(out)
}

/// What [`write_track`] reads besides the call itself.
#[derive(Debug)]
pub struct TrackInput<'a> {
    /// Now.
    pub now: Millis,
    /// Instance configuration.
    pub config: &'a Config,
    /// Identity after the call's identity effects.
    pub identity: &'a Identity,
}

/// The environment enrichment plugin: userAgent (always), userAgentData, locale (unless
/// given), library (unless given), timezone, and campaign from the page's query.
fn enrich_context(context: &mut Map, env: &Env) {
    context.insert("userAgent", Value::str(env.user_agent.as_str()));
    if let Some(data) = &env.user_agent_data {
        context.insert("userAgentData", data.clone());
    }
    if !context.contains_key("locale") {
        if let Some(locale) = &env.locale {
            context.insert("locale", Value::str(locale.as_str()));
        }
    }
    if !context.contains_key("library") {
        let mut library = Map::new();
        library.insert("name", Value::str(LIBRARY_NAME));
        library.insert("version", Value::str(LIBRARY_VERSION));
        context.insert("library", Value::Object(library));
    }
    let search = context
        .get("page")
        .and_then(|p| p.get("search"))
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned();
    if !search.is_empty() && !context.contains_key("campaign") {
        context.insert("campaign", Value::Object(campaign_from_query(&search)));
    }
    if let Some(tz) = &env.timezone {
        context.insert("timezone", Value::str(tz.as_str()));
    }
}
