//! Identity: anonymousId, userId, groupId and traits; the analytics.js storage keys and
//! encodings; trait-merge and id-change rules; cookie value encoding and cookie-domain
//! candidates. Pure: storage arrives as a [`StorageSnapshot`] read once by the driver, and
//! changes leave as [`StorageWrite`]s. Identity is cached here, so `track()` never touches
//! storage.

use crate::core::host::decode_uri_component;
use crate::core::ids::Entropy;
use crate::json::find_sub;
use crate::json::{self, Map, Value};

/// Cookie and localStorage key of the anonymous id (fixed in analytics.js).
pub const ANONYMOUS_ID_KEY: &str = "ajs_anonymous_id";
/// Default cookie and localStorage key of the user id.
pub const USER_ID_KEY: &str = "ajs_user_id";
/// Default localStorage key of the user traits (never a cookie).
pub const USER_TRAITS_KEY: &str = "ajs_user_traits";
/// Default cookie and localStorage key of the group id.
pub const GROUP_ID_KEY: &str = "ajs_group_id";
/// Default localStorage key of the group traits.
pub const GROUP_TRAITS_KEY: &str = "ajs_group_properties";
/// Legacy analytics.js classic cookie `{id, traits}` (read only).
pub const LEGACY_USER_COOKIE: &str = "ajs_user";
/// Legacy cookie `"<anonymousId>----<userId>"` (read only).
pub const LEGACY_SIO_COOKIE: &str = "_sio";
/// Longest user, anonymous or group id taken (UTF-8 bytes). A userId and an anonymousId ride
/// on every event, which Segment's API refuses over 32 KB: an id of tens of KB, once stored,
/// would make every later event of this browser too large. Longer ids are refused when set
/// and ignored when read back from storage.
pub const MAX_ID_BYTES: usize = 1024;

/// Whether `id` is short enough to be stored ([`MAX_ID_BYTES`]).
pub fn id_fits(id: &str) -> bool {
    id.len() <= MAX_ID_BYTES
}

/// Cookie holding the last ad-click referrer (`s:context.referrer`, name URL-encoded as
/// js-cookie writes it).
pub const AD_REFERRER_COOKIE: &str = "s%3Acontext.referrer";

/// Storage key names: analytics.js's defaults, or the `user.cookie.key`,
/// `user.localStorage.key`, `group.cookie.key`, `group.localStorage.key` load options (an id
/// key names both its cookie and its localStorage entry).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Keys {
    /// The user id.
    pub user_id: String,
    /// The user traits (localStorage only).
    pub user_traits: String,
    /// The group id.
    pub group_id: String,
    /// The group traits (localStorage only).
    pub group_traits: String,
}

impl Default for Keys {
    fn default() -> Keys {
        Keys {
            user_id: USER_ID_KEY.to_owned(),
            user_traits: USER_TRAITS_KEY.to_owned(),
            group_id: GROUP_ID_KEY.to_owned(),
            group_traits: GROUP_TRAITS_KEY.to_owned(),
        }
    }
}

impl Keys {
    /// Every localStorage key the driver must read into the snapshot.
    pub fn local_keys(&self) -> [&str; 5] {
        [
            ANONYMOUS_ID_KEY,
            &self.user_id,
            &self.user_traits,
            &self.group_id,
            &self.group_traits,
        ]
    }
}

/// Which stored value an identity write concerns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Slot {
    AnonymousId,
    UserId,
    UserTraits,
    GroupId,
    GroupTraits,
}

/// What a traits write does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Persist {
    /// Store the traits as they are now.
    Current,
    /// Remove the key.
    Remove,
}

/// A store analytics.js knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Store {
    /// `document.cookie`
    Cookie,
    /// `window.localStorage`
    Local,
}

/// What the driver read from storage at start-up.
#[derive(Clone, Debug, Default)]
pub struct StorageSnapshot {
    /// Cookies (name, raw value as in `document.cookie`).
    pub cookies: Vec<(String, String)>,
    /// localStorage values of [`Keys::local_keys`].
    pub local: Vec<(String, String)>,
}

impl StorageSnapshot {
    /// Parses a `document.cookie` string.
    pub fn parse_cookie_header(header: &str) -> Vec<(String, String)> {
        let mut cookies = Vec::new();
        for part in json::split_byte(header, b';') {
            if let Some((name, value)) = json::split_once_byte(json::trim_ws(part, false), b'=') {
                cookies.push((name.to_owned(), value.to_owned()));
            }
        }
        cookies
    }

    fn local(&self, key: &str) -> Option<&str> {
        lookup(&self.local, key)
    }
}

/// The value of the first `key` entry (document.cookie lists the most specific path first:
/// the first match wins).
fn lookup<'a>(entries: &'a [(String, String)], key: &str) -> Option<&'a str> {
    entries
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

/// A JSON object text's map (`None` for anything else).
fn parse_object(text: &str) -> Option<Map> {
    match json::parse(text) {
        Ok(Value::Object(m)) => Some(m),
        _ => None,
    }
}

/// A storage change for the driver to apply.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StorageWrite {
    /// Where.
    pub store: Store,
    /// The key (cookie name or localStorage key).
    pub key: String,
    /// The encoded value, or `None` to remove.
    pub value: Option<String>,
}

/// Which stores identity uses (analytics.js `storage.stores` minus memory, which is us).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stores {
    /// Read/write cookies.
    pub cookie: bool,
    /// Read/write localStorage.
    pub local: bool,
    /// localStorage before cookies (the default order) when reading userId/groupId.
    pub local_first: bool,
}

impl Stores {
    /// The default: localStorage, then cookie, then memory.
    pub const DEFAULT: Stores = Stores {
        cookie: true,
        local: true,
        local_first: true,
    };
    /// Memory only (`disableClientPersistence`).
    pub const MEMORY: Stores = Stores {
        cookie: false,
        local: false,
        local_first: true,
    };
}

/// Decodes a cookie value as js-cookie + analytics.js `CookieStorage.get` do: percent
/// decoding, then JSON when it parses (a JSON string or number), else the raw text.
pub fn decode_cookie_value(raw: &str) -> Option<String> {
    let decoded = decode_uri_component(raw).unwrap_or_else(|| raw.to_owned());
    decode_id(&decoded, Store::Cookie)
}

/// A stored id value: JSON string → the string; JSON number → its text; other JSON (`null`,
/// objects...) → the raw text from a cookie, nothing from localStorage; not JSON (a raw
/// value written by other code) → the raw text. Empty → `None`.
fn decode_id(text: &str, store: Store) -> Option<String> {
    let id = match json::parse(text) {
        Ok(Value::String(s)) => s,
        Ok(Value::Number(n)) => n.as_str().to_owned(),
        Ok(_) if store == Store::Local => return None,
        _ => text.to_owned(),
    };
    Some(id).filter(|s| !s.is_empty() && id_fits(s))
}

/// Encodes a cookie value as js-cookie 3 does: `encodeURIComponent`, then the characters
/// allowed in cookie values (`#$&+/:<=>?@[]^`{|}`) decoded back.
pub fn encode_cookie_value(value: &str) -> String {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = String::with_capacity(value.len());
    for &b in value.as_bytes() {
        let keep = b.is_ascii_alphanumeric()
            || matches!(
                b,
                b'-' | b'_'
                    | b'.'
                    | b'!'
                    | b'~'
                    | b'*'
                    | b'\''
                    | b'('
                    | b')'
                    | b'#'
                    | b'$'
                    | b'&'
                    | b'+'
                    | b'/'
                    | b':'
                    | b'<'
                    | b'='
                    | b'>'
                    | b'?'
                    | b'@'
                    | b'['
                    | b']'
                    | b'^'
                    | b'`'
                    | b'{'
                    | b'|'
                    | b'}'
            );
        if keep {
            out.push(b as char);
        } else {
            out.push('%');
            out.push(HEX[usize::from(b >> 4)] as char);
            out.push(HEX[usize::from(b & 15)] as char);
        }
    }
    out
}

/// Cookie-domain candidates for `hostname`, most general first (`co.uk`, `example.co.uk`,
/// `www.example.co.uk`). Empty for IPv4 addresses and single labels (`localhost`): those
/// get host-only cookies. The driver probes each with a throwaway `__tld__` cookie.
pub fn cookie_domain_candidates(hostname: &str) -> Vec<&str> {
    let mut dots = 0;
    let mut digits_only = true;
    for b in hostname.bytes() {
        if b == b'.' {
            dots += 1;
        } else if !b.is_ascii_digit() {
            digits_only = false;
        }
    }
    // Four non-empty labels of digits.
    let is_ipv4 = dots == 3
        && digits_only
        && !hostname.starts_with(".")
        && !hostname.ends_with(".")
        && find_sub(hostname, "..").is_none();
    if dots == 0 || is_ipv4 || json::find_byte(hostname, b':').is_some() {
        return Vec::new();
    }
    // The suffixes of two labels or more: what follows each dot but the last, right to left.
    let mut candidates = Vec::new();
    let mut dots = 0;
    for (i, b) in hostname.bytes().enumerate().rev() {
        if b == b'.' {
            dots += 1;
            if dots >= 2 {
                candidates.extend(hostname.get(i + 1..));
            }
        }
    }
    candidates.push(hostname);
    candidates
}

/// The identity state (user and group), cached in memory and written through on change.
#[derive(Clone, Debug)]
pub struct Identity {
    stores: Stores,
    keys: Keys,
    user_id: Option<String>,
    anonymous_id: Option<String>,
    user_traits: Map,
    group_id: Option<String>,
    group_traits: Map,
    /// The ad-click referrer (`context.referrer`), persisted in a cookie.
    ad_referrer: Option<Map>,
    /// An absent user/group id has been written back as JSON `null` (analytics.js does that
    /// whenever it reads an absent id: the user id on every event, the group id on
    /// `group().id()`); cleared by `reset()`, which removes the keys.
    null_user_synced: bool,
    null_group_synced: bool,
    writes: Vec<StorageWrite>,
}

impl Identity {
    /// Restores identity from storage, analytics.js-compatible: the anonymousId cookie wins
    /// over localStorage when they disagree; userId/groupId read localStorage first; legacy
    /// `ajs_user` and `_sio` cookies are migrated. A missing anonymousId is generated.
    /// Values found are written back to every store (`getAndSync`).
    pub fn restore(
        snapshot: &StorageSnapshot,
        stores: Stores,
        keys: Keys,
        entropy: &mut Entropy,
    ) -> Identity {
        // What each store holds, or nothing when it is not used.
        let cookies: &[(String, String)] = if stores.cookie {
            &snapshot.cookies
        } else {
            &[]
        };
        let locals: &[(String, String)] = if stores.local { &snapshot.local } else { &[] };
        let cookie = |k: &str| lookup(cookies, k).and_then(decode_cookie_value);
        let local = |k: &str| lookup(locals, k).and_then(|v| decode_id(v, Store::Local));
        let ordered = |k: &str| {
            if stores.local_first {
                local(k).or_else(|| cookie(k))
            } else {
                cookie(k).or_else(|| local(k))
            }
        };
        let legacy_user = lookup(cookies, LEGACY_USER_COOKIE).and_then(|raw| {
            let text = decode_uri_component(raw).unwrap_or_else(|| raw.to_owned());
            json::parse(&text).ok()
        });
        let sio = lookup(cookies, LEGACY_SIO_COOKIE).and_then(decode_uri_component);
        // `_sio` (`<anonymousId>----<userId>`) only supplies an anonymousId, read as a
        // fallback and never synced.
        let sio_anonymous_id = sio
            .as_deref()
            .and_then(|s| s.get(..find_sub(s, "----")?))
            .filter(|a| !a.is_empty())
            .map(str::to_owned);

        // The legacy `ajs_user` cookie backs both the user and (an analytics.js quirk: Group
        // inherits User's legacy key) the group.
        let legacy_id = legacy_user.as_ref().and_then(|v| match v.get("id") {
            Some(Value::String(s)) => Some(s.clone()),
            Some(Value::Number(n)) => Some(n.as_str().to_owned()),
            _ => None,
        });
        let user_id = ordered(&keys.user_id).or_else(|| legacy_id.clone());
        let anonymous_id = cookie(ANONYMOUS_ID_KEY).or_else(|| local(ANONYMOUS_ID_KEY));
        let read_traits = |k: &str| lookup(locals, k).and_then(parse_object).unwrap_or_default();
        let legacy_traits = match legacy_user.as_ref().and_then(|v| v.get("traits")) {
            Some(Value::Object(t)) => t.clone(),
            _ => Map::new(),
        };
        let mut user_traits = read_traits(&keys.user_traits);
        if user_traits.is_empty() {
            user_traits = legacy_traits.clone();
        }
        let mut group_traits = read_traits(&keys.group_traits);
        let group_traits_from_legacy = group_traits.is_empty() && !legacy_traits.is_empty();
        if group_traits.is_empty() {
            group_traits = legacy_traits;
        }
        let group_id = ordered(&keys.group_id).or(legacy_id);
        let null_group_synced = snapshot.local(&keys.group_id) == Some("null");
        let ad_referrer = lookup(cookies, AD_REFERRER_COOKIE)
            .and_then(decode_uri_component)
            .and_then(|t| parse_object(&t));
        let mut identity = Identity {
            stores,
            keys,
            user_id,
            anonymous_id,
            user_traits,
            group_id,
            group_traits,
            ad_referrer,
            writes: Vec::new(),
            null_user_synced: false,
            null_group_synced,
        };
        // analytics.js reads ids with `getAndSync`: what was found is written back to every
        // store (cookie ↔ localStorage consistency, and a fresh 365-day cookie expiry), and an
        // absent id is stored as JSON `null` in localStorage.
        if identity.anonymous_id.is_some() {
            identity.write_id(Slot::AnonymousId);
        } else if let Some(sio) = sio_anonymous_id {
            // Stores are synced to "nothing found"; the id keeps coming from `_sio`.
            identity.write_id(Slot::AnonymousId);
            identity.anonymous_id = Some(sio);
        } else {
            identity.anonymous_id = Some(entropy.uuid_v4());
            identity.write_id(Slot::AnonymousId);
        }
        identity.write_id(Slot::UserId);
        identity.null_user_synced = true;
        if identity.group_id.is_some() {
            identity.write_id(Slot::GroupId);
        }
        if group_traits_from_legacy {
            // analytics.js's Group reads the legacy cookie's traits and stores them.
            identity.write_traits(Slot::GroupTraits, Persist::Current);
        }
        identity
    }

    /// The current user id.
    pub fn user_id(&self) -> Option<&str> {
        self.user_id.as_deref()
    }
    /// The current anonymous id.
    pub fn anonymous_id(&self) -> Option<&str> {
        self.anonymous_id.as_deref()
    }
    /// The persisted user traits.
    pub fn user_traits(&self) -> &Map {
        &self.user_traits
    }
    /// The current group id.
    pub fn group_id(&self) -> Option<&str> {
        self.group_id.as_deref()
    }
    /// The persisted group traits.
    pub fn group_traits(&self) -> &Map {
        &self.group_traits
    }

    /// The storage key of `slot`.
    fn key(&self, slot: Slot) -> &str {
        match slot {
            Slot::AnonymousId => ANONYMOUS_ID_KEY,
            Slot::UserId => &self.keys.user_id,
            Slot::UserTraits => &self.keys.user_traits,
            Slot::GroupId => &self.keys.group_id,
            Slot::GroupTraits => &self.keys.group_traits,
        }
    }

    /// Writes the current value of id `slot` to every store as analytics.js
    /// `UniversalStorage.set` does: a JSON string (or JSON `null`) in localStorage, the raw
    /// value (or a removal) as a cookie.
    fn write_id(&mut self, slot: Slot) {
        // The slot's current value (an id slot).
        let value = match slot {
            Slot::AnonymousId => self.anonymous_id.as_deref(),
            Slot::UserId => self.user_id.as_deref(),
            _ => self.group_id.as_deref(),
        };
        let local = self.stores.local.then(|| {
            let mut json = String::new();
            match value {
                Some(v) => json::push_json_str(&mut json, v),
                None => json.push_str("null"),
            }
            json
        });
        let cookie = self.stores.cookie.then(|| value.map(encode_cookie_value));
        let key = self.key(slot).to_owned();
        if let Some(json) = local {
            self.writes.push(StorageWrite {
                store: Store::Local,
                key: key.clone(),
                value: Some(json),
            });
        }
        if let Some(value) = cookie {
            self.writes.push(StorageWrite {
                store: Store::Cookie,
                key,
                value,
            });
        }
    }

    /// Removes an id from every store (analytics.js `clear`).
    fn remove_id(&mut self, slot: Slot) {
        let key = self.key(slot).to_owned();
        if self.stores.local {
            self.writes.push(StorageWrite {
                store: Store::Local,
                key: key.clone(),
                value: None,
            });
        }
        if self.stores.cookie {
            self.writes.push(StorageWrite {
                store: Store::Cookie,
                key,
                value: None,
            });
        }
    }

    /// analytics.js reads the user id for every event, writing an absent one back as JSON
    /// `null`: the same storage state after the first event following a reset.
    pub fn touch_user_id(&mut self) {
        if self.user_id.is_none() && !self.null_user_synced {
            self.null_user_synced = true;
            self.write_id(Slot::UserId);
        }
    }

    /// `group().id()` read: an absent group id is written back as JSON `null`.
    pub fn touch_group_id(&mut self) {
        if self.group_id.is_none() && !self.null_group_synced {
            self.null_group_synced = true;
            self.write_id(Slot::GroupId);
        }
    }

    /// Writes the user or group traits (`slot`) as they are now, or removes them.
    fn write_traits(&mut self, slot: Slot, what: Persist) {
        if self.stores.local {
            let traits = if slot == Slot::GroupTraits {
                &self.group_traits
            } else {
                &self.user_traits
            };
            let value = match what {
                Persist::Current => Some(traits.to_json()),
                Persist::Remove => None,
            };
            let key = self.key(slot).to_owned();
            self.writes.push(StorageWrite {
                store: Store::Local,
                key,
                value,
            });
        }
    }

    /// `user().anonymousId(id)`: sets the id; `None` clears it (a fresh one is generated on the
    /// next read, [`Identity::ensure_anonymous_id`]).
    pub fn set_anonymous_id(&mut self, id: Option<String>) {
        let id = id.filter(|s| !s.is_empty());
        if self.anonymous_id != id {
            self.anonymous_id = id;
            self.write_id(Slot::AnonymousId);
        }
    }

    /// The anonymous id, generated (and stored) first when it was cleared
    /// (`setAnonymousId(null)`), as analytics.js does on its next read.
    pub fn ensure_anonymous_id(&mut self, entropy: &mut Entropy) -> &str {
        if self.anonymous_id.is_none() {
            self.anonymous_id = Some(entropy.uuid_v4());
            self.write_id(Slot::AnonymousId);
        }
        self.anonymous_id.as_deref().unwrap_or_default()
    }

    /// `user.identify(id?, traits)`: same (or no) user ⇒ traits merge; a different user ⇒
    /// traits replaced and a new anonymousId (analytics.js `id()` rule).
    pub fn identify(&mut self, id: Option<String>, traits: Map, entropy: &mut Entropy) {
        let same_user = self.user_id.is_none() || id.is_none() || id == self.user_id;
        if same_user {
            self.user_traits.extend(traits);
        } else {
            self.user_traits = traits;
        }
        if let Some(id) = id {
            if self.user_id.as_deref() != Some(id.as_str()) {
                self.set_user_id(Some(id));
                self.ensure_anonymous_id(entropy);
            }
        }
        self.write_traits(Slot::UserTraits, Persist::Current);
    }

    /// `user().id(id)`: sets (or with `None` clears) the user id without an event; a
    /// different user replacing another clears the anonymous id (a fresh one comes with the
    /// next read), as analytics.js does.
    pub fn set_user_id(&mut self, id: Option<String>) {
        let changing_user = id.is_some() && self.user_id.is_some() && id != self.user_id;
        self.user_id = id;
        self.write_id(Slot::UserId);
        self.null_user_synced = true;
        if changing_user {
            self.anonymous_id = None;
            self.write_id(Slot::AnonymousId);
        }
    }

    /// `group.identify(id?, traits)`, same merge rules as the user.
    pub fn group(&mut self, id: Option<String>, traits: Map) {
        let same = self.group_id.is_none() || id.is_none() || id == self.group_id;
        if same {
            self.group_traits.extend(traits);
        } else {
            self.group_traits = traits;
        }
        if let Some(id) = id {
            if self.group_id.as_deref() != Some(id.as_str()) {
                self.group_id = Some(id);
                self.write_id(Slot::GroupId);
            }
        }
        self.write_traits(Slot::GroupTraits, Persist::Current);
    }

    /// `analytics.reset()`: user and group cleared from every store; a new anonymousId.
    pub fn reset(&mut self, entropy: &mut Entropy) {
        self.user_id = None;
        self.user_traits = Map::new();
        self.group_id = None;
        self.group_traits = Map::new();
        self.remove_id(Slot::UserId);
        self.remove_id(Slot::GroupId);
        self.null_user_synced = false;
        self.null_group_synced = false;
        self.write_traits(Slot::UserTraits, Persist::Remove);
        self.write_traits(Slot::GroupTraits, Persist::Remove);
        self.anonymous_id = Some(entropy.uuid_v4());
        self.write_id(Slot::AnonymousId);
    }

    /// The ad-click referrer to merge into `context.referrer`, if any.
    pub fn ad_referrer(&self) -> Option<&Map> {
        self.ad_referrer.as_ref()
    }

    /// A page with an ad-click id in its query: remembered (cookie) for later events. The
    /// same referrer again (as JSON text: these maps hold strings) writes nothing.
    pub fn set_ad_referrer(&mut self, ad: &Map) {
        // Text, not `Map ==`: the tree comparison (with numeric equality) costs wasm that
        // nothing else needs.
        let json = ad.to_json();
        if self
            .ad_referrer
            .as_ref()
            .is_some_and(|old| old.to_json() == json)
        {
            return;
        }
        if self.stores.cookie {
            self.writes.push(StorageWrite {
                store: Store::Cookie,
                key: AD_REFERRER_COOKIE.to_owned(),
                value: Some(encode_cookie_value(&json)),
            });
        }
        self.ad_referrer = Some(ad.clone());
    }

    /// Storage writes produced since the last call, in order.
    pub fn take_writes(&mut self) -> Vec<StorageWrite> {
        std::mem::take(&mut self.writes)
    }
}

impl Identity {
    /// Replaces the user traits (`user().traits(t)`).
    pub fn replace_user_traits(&mut self, traits: Map) {
        self.user_traits = traits;
        self.write_traits(Slot::UserTraits, Persist::Current);
    }
}
