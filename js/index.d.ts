// Types for the npm entry (`sieve-analytics`). Same surface as @segment/analytics-next's
// AnalyticsBrowser for the methods Sieve implements: code written for analytics-next compiles
// unchanged (event properties, traits and options are `Record<string, any>` there too, so
// interfaces and Dates are accepted; tests/consumer/types/ checks it with `tsc --strict`).
// Load options are typed fully, without an index signature: a misspelt key is an error.

export type JSONPrimitive = string | number | boolean | null;
export type JSONValue = JSONPrimitive | JSONObject | JSONArray;
export type JSONObject = { [member: string]: JSONValue };
export type JSONArray = JSONValue[];

/** Event properties: any object (Dates are sent as ISO 8601 strings, as JSON.stringify does). */
export type EventProperties = Record<string, any>;
/** User or group traits. */
export type Traits = Record<string, any>;
export type UserTraits = Traits;
export type GroupTraits = Traits;
export type ID = string | null | undefined;
export type Timestamp = Date | string;
export type Callback = (ctx: Context) => Promise<unknown> | unknown;

export type IntegrationsOptions = {
  All?: boolean | undefined;
  [integrationName: string]: boolean | Record<string, unknown> | undefined;
};

/** Per-call options: keys other than these are copied into the event's `context`. */
export interface Options {
  integrations?: IntegrationsOptions | undefined;
  timestamp?: Timestamp | undefined;
  context?: Record<string, any> | undefined;
  anonymousId?: string | undefined;
  userId?: string | undefined;
  traits?: Traits | undefined;
  messageId?: string | undefined;
  [key: string]: any;
}

export interface SegmentEvent {
  type: 'track' | 'page' | 'screen' | 'identify' | 'group' | 'alias';
  messageId?: string;
  timestamp?: Timestamp;
  anonymousId?: ID;
  userId?: ID;
  event?: string;
  name?: string;
  category?: string;
  properties?: EventProperties;
  traits?: Traits;
  groupId?: ID;
  previousId?: ID;
  context?: Record<string, any>;
  integrations?: IntegrationsOptions;
}

export declare class Context {
  readonly event: SegmentEvent;
  readonly id: string;
  cancel(error?: unknown): never;
  isCancelled(): boolean;
  updateEvent(path: string, value: unknown): SegmentEvent;
  log(level: 'debug' | 'info' | 'warn' | 'error', message: string, extras?: object): void;
  failedDelivery(): undefined;
}

export interface User {
  id(id?: ID | number): ID;
  anonymousId(id?: ID | number): ID;
  traits(traits?: Traits | null): Traits;
}

export interface Group {
  id(): ID;
  traits(): Traits;
}

// --- segment definitions (segments-v1; docs/segments.md) ------------------------------------

/** An ISO 8601 duration: `"P7D"`, `"PT24H"`, `"P1M"`. */
export type Duration = string;
/** A GrowthBook condition: dot paths to values or operator objects (`{"plan": {"$in": ["pro"]}}`). */
export type GBCondition = { [pathOrOperator: string]: JSONValue };
/** A GrowthBook operand or operator object (`{"$gte": 3}`; `{"$gte": "P14D"}` on `since_*`). */
export type GBOperand = JSONValue;
export interface SegmentEventSelector {
  name?: string | string[];
  type?: 'track' | 'page' | 'screen';
  where?: GBCondition;
}
export type SegmentMeasure =
  | 'count'
  | 'exists'
  | 'distinct_days'
  | 'since_last'
  | 'since_first'
  | { sum: string }
  | { avg: string }
  | { min: string }
  | { max: string };
export type SegmentWindow =
  | { type: 'rolling'; duration: Duration; offset?: Duration }
  | { type: 'calendar'; unit: 'day' | 'week' | 'month'; timezone?: 'local' | 'UTC' }
  | { type: 'cycle'; anchor: { trait: string }; period: Duration }
  | { type: 'anchored'; anchor: { event: SegmentEventSelector } | { trait: string }; duration: Duration }
  | { type: 'lifetime' };
export interface SegmentMetric {
  event: SegmentEventSelector;
  measure: SegmentMeasure;
  window?: SegmentWindow;
}
export type SegmentCondition =
  | { and: SegmentCondition[] }
  | { or: SegmentCondition[] }
  | { not: SegmentCondition }
  | { segment: string }
  | { traits: GBCondition; on?: 'user' | 'group' | 'context' | 'page'; missing?: 'unknown' | 'gb' | 'false' }
  | (SegmentMetric & { test: GBOperand; coverage?: 'strict' | 'observed' })
  | {
      funnel: { steps: SegmentEventSelector[]; within: Duration; window: SegmentWindow };
      test: { maxStep: GBOperand };
      settle?: boolean;
    }
  | { compare: { current: SegmentMetric; baseline: SegmentMetric }; test: { ratio: GBOperand }; baselineMin?: number }
  | { traitChange: { trait: string; from?: JSONValue; to?: JSONValue }; window?: SegmentWindow };
export interface SegmentDefinition {
  /** snake_case, unique; becomes `audience_key`. */
  key: string;
  version?: number;
  condition: SegmentCondition;
  exitCondition?: SegmentCondition | null;
  membership?: {
    onUnknown?: 'hold' | 'exit';
    minDwell?: Duration;
    exitGrace?: Duration;
    reentry?: 'allow' | 'once' | { cooldown: Duration };
  };
  outputs?: { track?: boolean; identify?: boolean };
}

// --- settings and load options ------------------------------------------------------------

/** The source's settings, as the settings endpoint returns them (or `cdnSettings`). */
export interface CDNSettings {
  integrations?: Record<string, any>;
  segments?: SegmentDefinition[];
  [key: string]: unknown;
}

export interface AnalyticsBrowserSettings {
  writeKey: string;
  /** The settings; when given, nothing is fetched from `cdnURL`. */
  cdnSettings?: CDNSettings;
  /** Where settings are fetched from (`${cdnURL}/v1/projects/<writeKey>/settings`). Default `https://cdn.segment.com`. */
  cdnURL?: string;
  /**
   * Sieve addition: the directory URL the wasm files (`sieve_bg.wasm` and the lazy parts' `sieve_*_bg.wasm`) are served
   * from, for bundlers that do not emit files referenced with `new URL(…, import.meta.url)`
   * (esbuild: copy `node_modules/sieve-analytics/dist/*.wasm` there). Vite and webpack need
   * nothing.
   */
  assetsURL?: string;
}

export interface CookieOptions {
  /** Days. */
  maxage?: number;
  domain?: string;
  path?: string;
  secure?: boolean;
  sameSite?: string;
}
export type StoreType = 'cookie' | 'localStorage' | 'memory';
export interface UserOptions {
  disable?: boolean;
  localStorageFallbackDisabled?: boolean;
  persist?: boolean;
  cookie?: { key?: string; oldKey?: string };
  localStorage?: { key?: string };
  storage?: { stores: StoreType[] };
}
// A type alias, not an interface: it must fit IntegrationsOptions' index signature.
export type SegmentioIntegrationInitOptions = {
  apiHost?: string;
  protocol?: 'http' | 'https';
  deliveryStrategy?: {
    strategy?: 'standard' | 'batching';
    config?: { size?: number; timeout?: number; keepalive?: boolean; maxRetries?: number };
  };
  httpConfig?: Record<string, any>;
};
export interface IntegrationsInitOptions extends IntegrationsOptions {
  'Segment.io'?: SegmentioIntegrationInitOptions | boolean;
}

/**
 * Load options (analytics-next's `InitOptions` plus `segments`). Keys analytics-next has and
 * Sieve does not implement are accepted and ignored (marked "ignored" below).
 */
export interface InitOptions {
  /** Script tag (`analytics.load(writeKey, {cdnURL})`): where settings are fetched from. The npm entry takes it in its first argument. */
  cdnURL?: string;
  /** Script tag: the settings, instead of fetching them. The npm entry takes them in its first argument. */
  cdnSettings?: CDNSettings;
  integrations?: IntegrationsInitOptions;
  cookie?: CookieOptions;
  storage?: { stores: StoreType[] };
  disableClientPersistence?: boolean;
  initialPageview?: boolean;
  useQueryString?: boolean | { aid?: RegExp; uid?: RegExp };
  /** Custom storage keys (`user.cookie.key` etc.): ignored (not yet implemented). */
  user?: UserOptions;
  /** Custom storage keys: ignored (not yet implemented). */
  group?: UserOptions;
  /** Sieve addition: segments evaluated in the browser (docs/segments.md). */
  segments?: {
    /** JSON definitions, or compiled ones (the text `sieve-segments compile` writes). */
    definitions?: SegmentDefinition[] | string;
    /** Fetched at load and every 5 minutes: a JSON array, or `{"segments": [...]}`. */
    url?: string;
    /** Every event carries `context.segments`: `{[key]: true | false}`, each segment's membership. */
    stampContext?: boolean;
  };
  /** Device mode: classic integrations get ISO date strings as they are (no Date objects). */
  disableAutoISOConversion?: boolean;
  /** Device mode: a tracking plan (`{track: {[event]: {enabled, integrations}}}`) when the settings have none. */
  plan?: { track?: Record<string, { enabled?: boolean; integrations?: Record<string, boolean> }> };
  /** Ignored: events are always persisted and retried (docs/delivery.md). */
  retryQueue?: boolean;
  /** Ignored. */
  obfuscate?: boolean;
  /** Ignored. */
  updateCDNSettings?: (settings: CDNSettings) => CDNSettings;
  /** Ignored. */
  highEntropyValuesClientHints?: string[];
  /** The snippet's global (`window.analytics`); the npm entry has none. */
  globalAnalyticsKey?: string;
  /** Ignored (not yet implemented). */
  disable?: boolean | ((settings: CDNSettings) => boolean | Promise<boolean>);
}

export interface Plugin {
  name: string;
  type: 'before' | 'enrichment' | 'destination' | 'after' | 'utility';
  version: string;
  alternativeNames?: string[];
  isLoaded(): boolean;
  load(ctx: Context, analytics: Analytics): Promise<unknown>;
  unload?(ctx: Context, analytics: Analytics): Promise<unknown> | unknown;
  ready?(): Promise<unknown>;
  track?(ctx: Context): Promise<Context> | Context;
  page?(ctx: Context): Promise<Context> | Context;
  screen?(ctx: Context): Promise<Context> | Context;
  identify?(ctx: Context): Promise<Context> | Context;
  group?(ctx: Context): Promise<Context> | Context;
  alias?(ctx: Context): Promise<Context> | Context;
}

export interface MiddlewarePayload {
  obj: SegmentEvent;
  type(): string;
  event(): string | undefined;
  properties(): EventProperties | undefined;
  traits(): Traits | undefined;
  userId(): ID;
  anonymousId(): ID;
}
export type SourceMiddleware = (input: {
  payload: MiddlewarePayload;
  integrations?: Record<string, boolean>;
  next: (payload: MiddlewarePayload | null) => void;
}) => void | Promise<void>;
export type DestinationMiddleware = (input: {
  payload: MiddlewarePayload;
  integration: string;
  next: (payload: MiddlewarePayload | null) => void;
}) => void | Promise<void>;

/** Segment membership change, as hooks and `sieve:segment-enter/exit` DOM events get it. */
export interface SegmentChange {
  key: string;
  entered: boolean;
  reason: 'baseline' | 'event' | 'time';
  at: number;
}
export interface SegmentsApi {
  /** JSON definitions, or compiled ones (the text `sieve-segments compile` writes). */
  load(
    definitions: SegmentDefinition[] | string,
  ): Promise<{ accepted: string[]; errors: Array<{ key: string | null; path: string; message: string }> }>;
  /** Resolves once the segment engine has loaded the current definitions (at once without any). */
  ready(): Promise<void>;
  isMember(key: string): boolean | null;
  list(): Array<{ key: string; state: boolean | null; since: number | null }>;
  explain(key: string): JSONObject | null;
  on(
    kind: 'enter' | 'exit' | 'change',
    key: string | ((change: SegmentChange) => void),
    cb?: (change: SegmentChange) => void,
  ): SegmentsApi;
  off(
    kind: 'enter' | 'exit' | 'change',
    key: string | ((change: SegmentChange) => void),
    cb?: (change: SegmentChange) => void,
  ): SegmentsApi;
}

/** Elements to bind: one, an array, a NodeList or a jQuery object. */
export type Elements = Element | Element[] | ArrayLike<Element> | null | undefined;
export type LinkArgs = [
  links: Elements,
  event: string | ((el: Element) => string),
  properties?: EventProperties | ((el: Element) => EventProperties),
  options?: Options,
];
export type FormArgs = [
  forms: Elements,
  event: string | ((el: Element) => string),
  properties?: EventProperties | ((el: Element) => EventProperties),
  options?: Options,
];

// Argument lists as analytics-next's resolvers take them (any position may be a callback).
export type EventParams = [
  eventName: string | SegmentEvent,
  properties?: EventProperties | Callback,
  options?: Options | Callback,
  callback?: Callback,
];
export type PageParams = [
  category?: string | object | null,
  name?: string | object | Callback | null,
  properties?: EventProperties | Options | Callback | null,
  options?: Options | Callback,
  callback?: Callback,
];
export type IdentifyParams = [
  id?: ID | number | object,
  traits?: Traits | Callback | null,
  options?: Options | Callback,
  callback?: Callback,
];
export type GroupParams = IdentifyParams;
export type AliasParams = [
  to: string | number,
  from?: string | number | Options,
  options?: Options | Callback,
  callback?: Callback,
];

export declare class Analytics {
  readonly VERSION: string;
  readonly initialized: boolean;
  track(...args: EventParams): Promise<Context>;
  page(...args: PageParams): Promise<Context>;
  screen(...args: PageParams): Promise<Context>;
  identify(...args: IdentifyParams): Promise<Context>;
  group(): Group;
  group(...args: GroupParams): Promise<Context>;
  alias(...args: AliasParams): Promise<Context>;
  reset(): void;
  user(): User;
  setAnonymousId(id?: ID | number): ID;
  ready(callback?: (res: unknown[]) => void): Promise<unknown[]>;
  on(event: string, fn: (...args: any[]) => void): this;
  once(event: string, fn: (...args: any[]) => void): this;
  off(event: string, fn: (...args: any[]) => void): this;
  timeout(ms: number): void;
  debug(on: boolean): this;
  /** Sends queued events now (Sieve addition). */
  flush(): void;
  push(args: [method: string, ...args: unknown[]]): void;
  register(...plugins: Plugin[]): Promise<Context>;
  deregister(...names: string[]): Promise<Context>;
  addSourceMiddleware(fn: SourceMiddleware): Promise<Analytics>;
  addDestinationMiddleware(integrationName: string, ...fns: DestinationMiddleware[]): Promise<Analytics>;
  trackLink(...args: LinkArgs): Promise<Analytics>;
  trackClick(...args: LinkArgs): Promise<Analytics>;
  trackForm(...args: FormArgs): Promise<Analytics>;
  trackSubmit(...args: FormArgs): Promise<Analytics>;
  /** Deprecated in analytics.js: `page({path: url})`. */
  pageview(url: string): Promise<Analytics>;
  readonly segments: SegmentsApi;
}

/**
 * analytics-next's buffered wrapper: every call made before the SDK has loaded is kept and
 * replayed in order. Browser only: in Node (SSR) `load()` prints one line and every call
 * rejects (pre-handled).
 */
export declare class AnalyticsBrowser implements PromiseLike<[Analytics, Context]> {
  static load(settings: AnalyticsBrowserSettings, options?: InitOptions): AnalyticsBrowser;
  static standalone(writeKey: string, options?: InitOptions): Promise<Analytics>;
  readonly VERSION: string;
  instance?: Analytics;
  ctx?: Context;
  load(settings: AnalyticsBrowserSettings, options?: InitOptions): AnalyticsBrowser;
  then<T1 = [Analytics, Context], T2 = never>(
    onfulfilled?: ((value: [Analytics, Context]) => T1 | PromiseLike<T1>) | null,
    onrejected?: ((reason: unknown) => T2 | PromiseLike<T2>) | null,
  ): Promise<T1 | T2>;
  catch<T = never>(onrejected?: ((reason: unknown) => T | PromiseLike<T>) | null): Promise<[Analytics, Context] | T>;
  finally(onfinally?: (() => void) | null): Promise<[Analytics, Context]>;
  track(...args: EventParams): Promise<Context>;
  page(...args: PageParams): Promise<Context>;
  screen(...args: PageParams): Promise<Context>;
  identify(...args: IdentifyParams): Promise<Context>;
  group(): Promise<Group>;
  group(...args: GroupParams): Promise<Context>;
  alias(...args: AliasParams): Promise<Context>;
  reset(): Promise<void>;
  user(): Promise<User>;
  setAnonymousId(id?: ID | number): Promise<ID>;
  ready(callback?: (res: unknown[]) => void): Promise<unknown[]>;
  on(event: string, fn: (...args: any[]) => void): this;
  once(event: string, fn: (...args: any[]) => void): this;
  off(event: string, fn: (...args: any[]) => void): this;
  debug(on: boolean): this;
  register(...plugins: Plugin[]): Promise<Context>;
  deregister(...names: string[]): Promise<Context>;
  addSourceMiddleware(fn: SourceMiddleware): Promise<Analytics>;
  addDestinationMiddleware(integrationName: string, ...fns: DestinationMiddleware[]): Promise<Analytics>;
  trackLink(...args: LinkArgs): Promise<Analytics>;
  trackClick(...args: LinkArgs): Promise<Analytics>;
  trackForm(...args: FormArgs): Promise<Analytics>;
  trackSubmit(...args: FormArgs): Promise<Analytics>;
  /** analytics.js's `pageview(url)`: a page() with `{path: url}`. */
  pageView(url: string): Promise<Analytics>;
  readonly segments: SegmentsApi;
}

/** `window.analytics` on a script-tag page: the snippet's stub, then the live instance. */
export interface AnalyticsSnippet extends Analytics {
  load(writeKey: string, options?: InitOptions): void;
  _loadOptions?: InitOptions;
  _writeKey?: string;
  _cdn?: string;
}
