//! The tracking plan (`settings.plan.track`): which events reach which destinations, as
//! analytics-next 1.84.3's Schema Filter plugin and its classic destinations apply it.
//! Pure: no I/O.

use super::js::Js;
use crate::json::{Map, Value};

/// `plan.track`, when a plan applies.
#[derive(Clone, Debug)]
pub(crate) struct TrackingPlan {
    track: Map,
}

impl TrackingPlan {
    /// The plan analytics-next applies: the settings' `plan` when the settings' integrations
    /// name more than one entry (it copies it onto the load options only when it loads classic
    /// destinations: with only Actions destinations the plan is ignored), else the `plan`
    /// load option; its `track` must be an object.
    pub(crate) fn from_settings(settings: &Value, options: &Value) -> Option<TrackingPlan> {
        let classic = settings
            .get("integrations")
            .and_then(Value::as_object)
            .is_some_and(|i| i.iter().count() > 1);
        let plan = match settings.get("plan") {
            Some(plan) if classic && Js::of(Some(plan)).truthy() => plan,
            _ => options.get("plan")?,
        };
        match plan.get("track") {
            Some(Value::Object(track)) => Some(TrackingPlan {
                track: track.clone(),
            }),
            _ => None,
        }
    }

    /// The plan's entry for an event name (`plan[ev]`).
    fn entry(&self, name: &str) -> Option<&Value> {
        self.track.get(name)
    }

    /// `isPlanEventEnabled`: the entry's boolean `enabled`, else `__default.enabled` (any
    /// value, read as JavaScript reads it), else true.
    fn enabled(&self, entry: Option<&Value>) -> bool {
        if let Some(Value::Bool(b)) = entry.and_then(|e| e.get("enabled")) {
            return *b;
        }
        match self.entry("__default").and_then(|d| d.get("enabled")) {
            None | Some(Value::Null) => true,
            Some(v) => Js::of(Some(v)).truthy(),
        }
    }

    /// The Schema Filter (a `before` plugin): the event's new `integrations`, or `None` when
    /// it does not change. A blocked event still goes to the API, to it alone:
    /// `{...integrations, All: false, 'Segment.io': true}`; an allowed one gets the entry's
    /// `integrations` and, for each `remotePlugins` entry whose creation name the entry
    /// disables, `"<name> <partnerAction>": false` per subscription.
    pub(crate) fn filter(&self, event: &Map, settings: &Value) -> Option<Map> {
        let name = event
            .get("event")
            .and_then(Value::as_str)
            .filter(|n| !n.is_empty())?;
        let entry = self.entry(name);
        let mut integrations = match event.get("integrations") {
            Some(Value::Object(m)) => m.clone(),
            _ => Map::new(),
        };
        if !self.enabled(entry) {
            integrations.insert("All", Value::Bool(false));
            integrations.insert("Segment.io", Value::Bool(true));
            return Some(integrations);
        }
        let listed = entry.and_then(|e| e.get("integrations"));
        if let Some(Value::Object(listed)) = listed {
            integrations.extend(listed.clone());
        }
        let disabled: Vec<&str> = match listed {
            Some(Value::Object(m)) => m
                .iter()
                .filter(|(_, v)| matches!(v, Value::Bool(false)))
                .map(|(k, _)| k)
                .collect(),
            _ => Vec::new(),
        };
        let plugins = settings.get("remotePlugins").and_then(Value::as_array);
        let plugins = plugins.map_or(&[][..], Vec::as_slice);
        fn name_of(p: &Value) -> Option<&str> {
            p.get("name").and_then(Value::as_str)
        }
        // By name, as analytics.js collects them: a plugin sharing the name of a disabled one
        // is disabled too.
        let off: Vec<Option<&str>> = plugins
            .iter()
            .filter(|p| {
                let creation = p.get("creationName").and_then(Value::as_str);
                disabled.iter().any(|d| Some(*d) == creation)
            })
            .map(name_of)
            .collect();
        for plugin in plugins.iter().filter(|p| off.contains(&name_of(p))) {
            let name = name_of(plugin).unwrap_or("undefined");
            let subscriptions = plugin
                .get("settings")
                .and_then(|s| s.get("subscriptions"))
                .and_then(Value::as_array);
            for sub in subscriptions.into_iter().flatten() {
                let action = match sub.get("partnerAction") {
                    Some(Value::String(s)) => s.clone(),
                    Some(v) => super::js::stringify_primitive(v),
                    None => String::from("undefined"),
                };
                let mut key = String::from(name);
                key.push(' ');
                key.push_str(&action);
                integrations.insert(key, Value::Bool(false));
            }
        }
        Some(integrations)
    }

    /// A classic destination's own check before it takes an event: false when the plan
    /// blocks the event, or enables it with `integrations[destination] === false` (an
    /// enabled entry without `integrations` throws in analytics.js: not delivered either).
    pub(crate) fn classic_allows(&self, event: &Value, destination: &str) -> bool {
        let Some(name) = event
            .get("event")
            .and_then(Value::as_str)
            .filter(|n| !n.is_empty())
        else {
            return true;
        };
        if destination == "Segment.io" {
            return true;
        }
        let entry = self.entry(name);
        if !self.enabled(entry) {
            return false;
        }
        if Js::of(entry.and_then(|e| e.get("enabled"))).truthy() {
            return match entry.and_then(|e| e.get("integrations")) {
                None | Some(Value::Null) => false,
                Some(i) => !matches!(i.get(destination), Some(Value::Bool(false))),
            };
        }
        true
    }
}
