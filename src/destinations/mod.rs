//! Device mode: which of the workspace's browser destinations a page loads, from where and
//! with which settings, and what each one receives — the decisions analytics-next 1.84.3
//! makes in `ajs-destination`, `remote-loader`, `remote-middleware`, `schema-filter` and
//! `routing-middleware` (tsub). Pure: no I/O; the vendor code is run by the lazily loaded
//! `js/destinations.js` around `web::destinations`.
//!
//! - [`Router::new`] reads the CDN settings and load options once;
//! - [`Router::load_plan`] says what to load (classic integrations with their script URLs
//!   and merged settings, Actions destinations, remote middleware);
//! - [`Router::schema_filter`] is the tracking plan's effect on the event before it is
//!   queued (what the API receives);
//! - [`Router::route`] is what one destination receives: the classic plan check, then the
//!   routing rules for that destination;
//! - [`Router::metadata`] is `_metadata`'s bundling lists for every API event.

#[cfg(feature = "destinations-rules")]
mod fql;
mod js;
mod metadata;
mod plan;
#[cfg(feature = "destinations-rules")]
mod transform;

use crate::json::find_sub;
use crate::json::{self, Map, Value};
use js::{Js, Thrown};
use plan::TrackingPlan;

/// analytics-next's default CDN, which `remotePlugins` URLs name.
const SEGMENT_CDN_PREFIX: &str = "https://cdn.segment.";

/// What a page with these settings needs, decided once.
#[derive(Clone, Debug)]
pub struct Router {
    settings: Value,
    /// Load-time `integrations` (analytics.js `analytics.integrations`).
    integrations: Map,
    /// Object-valued load-time `integrations` entries (`mergedOptions`' overrides).
    cdn: String,
    plan: Option<TrackingPlan>,
    rules: Vec<Value>,
}

/// How a destination's event came out of [`Router::route`].
#[derive(Clone, Debug, PartialEq)]
pub enum Routed {
    /// What the destination receives.
    Deliver(Value),
    /// The plan or a routing rule dropped it.
    Dropped,
    /// The routing middleware threw (analytics.js logs it; the destination gets nothing).
    Failed(Thrown),
}

fn obj(v: Option<&Value>) -> Option<&Map> {
    v.and_then(Value::as_object)
}

impl Router {
    /// From the CDN settings, the load options and the CDN base URL (`cdnURL`, else
    /// `analytics._cdn`, else Segment's).
    pub fn new(settings: Value, options: &Value, cdn: &str) -> Router {
        let integrations = obj(options.get("integrations"))
            .cloned()
            .unwrap_or_default();
        let plan = TrackingPlan::from_settings(&settings, options);
        let rules = settings
            .get("middlewareSettings")
            .and_then(|m| m.get("routingRules"))
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        Router {
            settings,
            integrations,
            cdn: json::trim_end_byte(cdn, b'/').to_owned(),
            plan,
            rules,
        }
    }

    fn cdn_integrations(&self) -> Option<&Map> {
        obj(self.settings.get("integrations"))
    }

    /// `mergedOptions(cdnSettings, options)[name]`: the CDN's settings for `name` with an
    /// object-valued load-time `integrations[name]` shallow-merged over them (`None` when
    /// the CDN's integrations do not name it).
    fn merged(&self, name: &str) -> Option<Map> {
        let cdn = self.cdn_integrations()?.get(name)?;
        let mut out = cdn.as_object().cloned().unwrap_or_default();
        if let Some(Value::Object(init)) = self.integrations.get(name) {
            out.extend(init.clone());
        }
        Some(out)
    }

    /// `_metadata`'s bundling members for every API event ([`metadata::bundling`]): the
    /// merged `Segment.io` settings are looked up (nothing when the CDN does not name it).
    pub fn metadata(&self) -> String {
        let io = self.merged("Segment.io");
        metadata::bundling(self.cdn_integrations(), |k| io.as_ref()?.get(k))
    }

    /// Whether some routing rule names `destination` (only then does its routing
    /// middleware exist; it then also applies the rules without a destination).
    fn routed(&self, destination: &str) -> bool {
        self.rules
            .iter()
            .any(|r| r.get("destinationName").and_then(Value::as_str) == Some(destination))
    }

    /// What to load, as JSON: `{"base": "<cdn>/next-integrations" (classic dependencies'
    /// URLs are relative to it), "classic": [{name, path, version, url, settings, routed}],
    /// "actions": [{name, creationName, url, libraryName, settings, routed}], "middleware":
    /// [{name, global, url}], "plan": bool, "metadata": "<_metadata's bundling members>"}` in
    /// analytics.js's order.
    pub fn load_plan(&self) -> String {
        let mut classic = Vec::new();
        for (name, config) in self.cdn_integrations().into_iter().flat_map(Map::iter) {
            if !installable(name, config) || self.disabled_classic(name) {
                continue;
            }
            let path = path_name(name);
            let version = match config
                .get("versionSettings")
                .and_then(|v| v.get("override").or_else(|| v.get("version")))
            {
                Some(Value::String(v)) => v.clone(),
                Some(v) if !v.is_null() => js::stringify_primitive(v),
                _ => String::from("latest"),
            };
            let url = json::concat(&[
                &self.cdn,
                "/next-integrations/integrations/",
                &path,
                "/",
                &version,
                "/",
                &path,
                ".dynamic.js.gz",
            ]);
            let mut settings = self.merged(name).unwrap_or_default();
            // analytics.js drops the `type: 'browser'` the CDN adds.
            if settings.get("type").and_then(Value::as_str) == Some("browser") {
                settings.remove("type");
            }
            let mut entry = Map::new();
            entry.insert("name", Value::str(name));
            entry.insert("path", Value::String(path));
            entry.insert("version", Value::String(version));
            entry.insert("url", Value::String(url));
            entry.insert("settings", Value::Object(settings));
            entry.insert("routed", Value::Bool(self.routed(name)));
            classic.push(Value::Object(entry));
        }
        let mut actions = Vec::new();
        for plugin in self
            .settings
            .get("remotePlugins")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let text = |k: &str| plugin.get(k).and_then(Value::as_str).unwrap_or("");
            let (name, creation) = (text("name"), text("creationName"));
            if self.disabled_action(plugin) {
                continue;
            }
            let mut settings = obj(plugin.get("settings")).cloned().unwrap_or_default();
            if let Some(merged) = self.merged(name) {
                settings.extend(merged);
            }
            let mut entry = Map::new();
            entry.insert("name", Value::str(name));
            entry.insert("creationName", Value::str(creation));
            entry.insert("url", Value::String(self.rewrite_cdn(text("url"))));
            entry.insert("libraryName", Value::str(text("libraryName")));
            entry.insert("settings", Value::Object(settings));
            entry.insert("routed", Value::Bool(self.routed(creation)));
            actions.push(Value::Object(entry));
        }
        let mut middleware = Vec::new();
        for (name, enabled) in obj(self.settings.get("enabledMiddleware"))
            .into_iter()
            .flat_map(Map::iter)
        {
            if !Js::of(Some(enabled)).truthy() {
                continue;
            }
            // `name.replace('@segment/', '')`: the first occurrence.
            let bare = match find_sub(name, "@segment/") {
                Some(at) => json::concat(&[&name[..at], &name[at + 9..]]),
                None => name.to_owned(),
            };
            let mut entry = Map::new();
            entry.insert("name", Value::str(name));
            entry.insert(
                "global",
                Value::String(json::concat(&[&bare, "Middleware"])),
            );
            entry.insert(
                "url",
                Value::String(json::concat(&[
                    &self.cdn,
                    "/next-integrations/middleware/",
                    &bare,
                    "/latest/",
                    &bare,
                    ".js.gz",
                ])),
            );
            middleware.push(Value::Object(entry));
        }
        let mut out = Map::new();
        out.insert(
            "base",
            Value::String(json::concat(&[&self.cdn, "/next-integrations"])),
        );
        out.insert("classic", Value::Array(classic));
        out.insert("actions", Value::Array(actions));
        out.insert("middleware", Value::Array(middleware));
        out.insert("plan", Value::Bool(self.plan.is_some()));
        out.insert("metadata", Value::String(self.metadata()));
        out.to_json()
    }

    /// `isDisabledIntegration`: `integrations[name] === false`, or `All: false` without an
    /// entry for it.
    fn disabled_classic(&self, name: &str) -> bool {
        let all_off = matches!(self.integrations.get("All"), Some(Value::Bool(false)));
        match self.integrations.get(name) {
            Some(Value::Bool(false)) => true,
            None => all_off,
            Some(_) => false,
        }
    }

    /// `isPluginDisabled`: its creation name or name set to `false`, or `All: false` with
    /// neither truthy.
    fn disabled_action(&self, plugin: &Value) -> bool {
        let look = |k: &str| {
            plugin
                .get(k)
                .and_then(Value::as_str)
                .and_then(|n| self.integrations.get(n))
        };
        let (creation, name) = (look("creationName"), look("name"));
        let truthy = |v: Option<&Value>| Js::of(v).truthy();
        let all_off = matches!(self.integrations.get("All"), Some(Value::Bool(false)));
        (all_off && !truthy(creation) && !truthy(name))
            || matches!(creation, Some(Value::Bool(false)))
            || matches!(name, Some(Value::Bool(false)))
    }

    /// A `remotePlugins` URL with Segment's CDN (`https://cdn.segment.com` or `.build`)
    /// replaced by the configured one (the first occurrence, as `String.replace` does).
    fn rewrite_cdn(&self, url: &str) -> String {
        if let Some(at) = find_sub(url, SEGMENT_CDN_PREFIX) {
            let rest = &url[at + SEGMENT_CDN_PREFIX.len()..];
            // The regex's `.` before `(com|build)` is any character.
            for tld in ["com", "build"] {
                if let Some(after) = rest.strip_prefix(tld) {
                    return json::concat(&[&url[..at], &self.cdn, after]);
                }
            }
        }
        url.to_owned()
    }

    /// The tracking plan's Schema Filter: the event's new `integrations` (JSON), when it
    /// changes them.
    pub fn schema_filter(&self, event: &Value) -> Option<Map> {
        let event = event.as_object()?;
        self.plan.as_ref()?.filter(event, &self.settings)
    }

    /// What `destination` receives of `event` (the event as queued, without its `writeKey`
    /// and a null `userId`, which analytics.js's events do not carry): a classic destination's plan check
    /// first, then the routing rules (only when some rule names the destination; then the
    /// rules without a destination apply too). `random` stands for `Math.random()`.
    pub fn route(
        &self,
        destination: &str,
        classic: bool,
        mut event: Value,
        random: &mut impl FnMut() -> f64,
    ) -> Routed {
        if let Some(m) = event.as_object_mut() {
            // What the core adds for the API only: analytics.js's events carry neither a
            // `writeKey` nor a `userId` before there is one.
            m.remove("writeKey");
            if m.get("userId").is_some_and(Value::is_null) {
                m.remove("userId");
            }
        }
        if classic {
            if let Some(plan) = &self.plan {
                if !plan.classic_allows(&event, destination) {
                    return Routed::Dropped;
                }
            }
        }
        if !self.routed(destination) {
            return Routed::Deliver(event);
        }
        match self.apply_rules(destination, &mut event, random) {
            Ok(true) => Routed::Deliver(event),
            Ok(false) => Routed::Dropped,
            Err(e) => Routed::Failed(e),
        }
    }

    /// tsub's middleware: every rule for the destination (or for none), each matcher in
    /// turn, its transformers when it matches.
    #[cfg(feature = "destinations-rules")]
    fn apply_rules(
        &self,
        destination: &str,
        event: &mut Value,
        random: &mut impl FnMut() -> f64,
    ) -> Result<bool, Thrown> {
        for rule in &self.rules {
            if rule.is_null() {
                return Err(Thrown("cannot read a rule of null"));
            }
            match rule.get("destinationName") {
                None => {}
                Some(Value::String(d)) if d == destination => {}
                Some(_) => continue,
            }
            let Some(Value::Array(matchers)) = rule.get("matchers") else {
                return Err(Thrown("rule without matchers"));
            };
            let transformers = rule.get("transformers");
            for (i, matcher) in matchers.iter().enumerate() {
                if fql::matches(event, matcher)? {
                    let list = transformers
                        .and_then(|t| t.as_array())
                        .and_then(|t| t.get(i))
                        .ok_or(Thrown("no transformers for a matcher"))?;
                    if !transform::transform(event, list, random)? {
                        return Ok(false);
                    }
                }
            }
        }
        Ok(true)
    }

    /// Without the rules evaluator (the smaller destinations wasm, which the shim loads only
    /// for settings without routing rules), a rule makes the destination get nothing.
    #[cfg(not(feature = "destinations-rules"))]
    fn apply_rules(
        &self,
        _destination: &str,
        _event: &mut Value,
        _random: &mut impl FnMut() -> f64,
    ) -> Result<bool, Thrown> {
        if self.rules.is_empty() {
            Ok(true)
        } else {
            Err(Thrown(
                "routing rules need dist/sieve_destinations_rules_bg.wasm",
            ))
        }
    }
}

/// `isInstallableIntegration`: not `Segment*`, not `Iterable`, not `bundlingStatus:
/// 'unbundled'`, and `type: 'browser'` or `browser` among `versionSettings.componentTypes`.
fn installable(name: &str, config: &Value) -> bool {
    let Some(config) = config.as_object() else {
        return false;
    };
    let browser = config.get("type").and_then(Value::as_str) == Some("browser")
        || match config
            .get("versionSettings")
            .and_then(|v| v.get("componentTypes"))
        {
            Some(Value::Array(types)) => types.iter().any(|t| t.as_str() == Some("browser")),
            Some(Value::String(s)) => find_sub(s, "browser").is_some(),
            _ => false,
        };
    !name.starts_with("Segment")
        && name != "Iterable"
        && config.get("bundlingStatus").and_then(Value::as_str) != Some("unbundled")
        && browser
}

/// The integration's path and global names: lowercased, the *first* `.` removed, each run
/// of whitespace turned into `-` (`Google Analytics 4` → `google-analytics-4`).
pub fn path_name(name: &str) -> String {
    let mut lowered = js::lower(name);
    if let Some(dot) = json::find_byte(&lowered, b'.') {
        lowered.remove(dot);
    }
    let mut out = String::with_capacity(lowered.len());
    let mut in_space = false;
    for c in lowered.chars() {
        if js::is_js_space(c) {
            if !in_space {
                out.push('-');
            }
            in_space = true;
        } else {
            out.push(c);
            in_space = false;
        }
    }
    out
}
