// Types for the npm entry (`sieve-analytics`). Same surface as @segment/analytics-next's
// AnalyticsBrowser for the methods Sieve implements.

export type JSONValue = string | number | boolean | null | JSONValue[] | { [key: string]: JSONValue };
export type JSONObject = { [key: string]: JSONValue | undefined };
export type Callback = (ctx: Context) => void;
export type Options = JSONObject & {
  integrations?: Record<string, boolean | JSONObject>;
  userId?: string;
  anonymousId?: string;
  timestamp?: string | Date;
  messageId?: string;
  context?: JSONObject;
};

export interface SegmentEvent {
  type: 'track' | 'page' | 'screen' | 'identify' | 'group' | 'alias';
  messageId: string;
  timestamp: string;
  anonymousId: string;
  userId: string | null;
  event?: string;
  name?: string;
  category?: string;
  properties?: JSONObject;
  traits?: JSONObject;
  groupId?: string;
  previousId?: string;
  context: JSONObject;
  integrations: Record<string, boolean | JSONObject>;
}

export declare class Context {
  readonly event: SegmentEvent;
  readonly id: string;
  isCancelled(): boolean;
  failedDelivery(): undefined;
}

export interface User {
  id(id?: string | null): string | null;
  anonymousId(id?: string | null): string | null;
  traits(traits?: JSONObject | null): JSONObject;
}

export interface Group {
  id(): string | null;
  traits(): JSONObject;
}

export interface AnalyticsBrowserSettings {
  writeKey: string;
  cdnURL?: string;
  cdnSettings?: JSONObject;
}

export interface InitOptions {
  integrations?: Record<string, boolean | JSONObject>;
  cookie?: { maxage?: number; domain?: string; path?: string; secure?: boolean; sameSite?: string };
  storage?: { stores: Array<'cookie' | 'localStorage' | 'memory'> };
  disableClientPersistence?: boolean;
  /** Device mode: classic integrations get ISO date strings as they are (no Date objects). */
  disableAutoISOConversion?: boolean;
  /** Device mode: a tracking plan (`{track: {[event]: {enabled, integrations}}}`) when the settings have none. */
  plan?: { track?: Record<string, { enabled?: boolean; integrations?: Record<string, boolean> }> };
  [key: string]: unknown;
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
  properties(): JSONObject | undefined;
  traits(): JSONObject | undefined;
  userId(): string | null;
  anonymousId(): string;
}
export type SourceMiddleware = (input: {
  payload: MiddlewarePayload;
  integrations: Record<string, boolean>;
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
    definitions: JSONObject[] | string,
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

export declare class Analytics {
  readonly VERSION: string;
  readonly initialized: boolean;
  track(
    event: string | { event: string; properties?: JSONObject },
    properties?: JSONObject | Callback,
    options?: Options | Callback,
    callback?: Callback,
  ): Promise<Context>;
  page(
    category?: string | JSONObject | Callback,
    name?: string | JSONObject | Callback,
    properties?: JSONObject | Callback,
    options?: Options | Callback,
    callback?: Callback,
  ): Promise<Context>;
  screen(
    category?: string | JSONObject | Callback,
    name?: string | JSONObject | Callback,
    properties?: JSONObject | Callback,
    options?: Options | Callback,
    callback?: Callback,
  ): Promise<Context>;
  identify(
    id?: string | number | null | JSONObject | Callback,
    traits?: JSONObject | null | Callback,
    options?: Options | Callback,
    callback?: Callback,
  ): Promise<Context>;
  group(): Group;
  group(
    id?: string | number | null | JSONObject | Callback,
    traits?: JSONObject | null | Callback,
    options?: Options | Callback,
    callback?: Callback,
  ): Promise<Context>;
  alias(
    to: string | number,
    from?: string | number | Options | Callback,
    options?: Options | Callback,
    callback?: Callback,
  ): Promise<Context>;
  reset(): void;
  user(): User;
  setAnonymousId(id?: string | null): string | null;
  ready(callback?: (res: unknown[]) => void): Promise<unknown[]>;
  on(event: string, fn: (...args: any[]) => void): this;
  once(event: string, fn: (...args: any[]) => void): this;
  off(event: string, fn: (...args: any[]) => void): this;
  timeout(ms: number): void;
  debug(on: boolean): this;
  flush(): void;
  register(...plugins: Plugin[]): Promise<Context>;
  deregister(...names: string[]): Promise<Context>;
  addSourceMiddleware(fn: SourceMiddleware): Promise<Analytics>;
  addDestinationMiddleware(integrationName: string, ...fns: DestinationMiddleware[]): Promise<Analytics>;
  trackLink(
    links: Element | Element[] | ArrayLike<Element>,
    event: string | ((el: Element) => string),
    properties?: JSONObject | ((el: Element) => JSONObject),
    options?: Options,
  ): Promise<Analytics>;
  trackClick: Analytics['trackLink'];
  trackForm(
    forms: Element | Element[] | ArrayLike<Element>,
    event: string | ((el: Element) => string),
    properties?: JSONObject | ((el: Element) => JSONObject),
    options?: Options,
  ): Promise<Analytics>;
  trackSubmit: Analytics['trackForm'];
  readonly segments: SegmentsApi;
}

export declare class AnalyticsBrowser implements PromiseLike<[Analytics, Context]> {
  static load(settings: AnalyticsBrowserSettings, options?: InitOptions): AnalyticsBrowser;
  static standalone(writeKey: string, options?: InitOptions): Promise<Analytics>;
  readonly VERSION: string;
  instance?: Analytics;
  load(settings: AnalyticsBrowserSettings, options?: InitOptions): AnalyticsBrowser;
  then<T1 = [Analytics, Context], T2 = never>(
    onfulfilled?: ((value: [Analytics, Context]) => T1 | PromiseLike<T1>) | null,
    onrejected?: ((reason: unknown) => T2 | PromiseLike<T2>) | null,
  ): Promise<T1 | T2>;
  catch<T = never>(onrejected?: ((reason: unknown) => T | PromiseLike<T>) | null): Promise<[Analytics, Context] | T>;
  finally(onfinally?: (() => void) | null): Promise<[Analytics, Context]>;
  track: Analytics['track'];
  page: Analytics['page'];
  screen: Analytics['screen'];
  identify: Analytics['identify'];
  alias: Analytics['alias'];
  group(...args: Parameters<Analytics['group']>): Promise<Context | Group>;
  reset(): Promise<void>;
  user(): Promise<User>;
  setAnonymousId(id?: string | null): Promise<string | null>;
  ready(callback?: (res: unknown[]) => void): Promise<unknown[]>;
  on(event: string, fn: (...args: any[]) => void): this;
  once(event: string, fn: (...args: any[]) => void): this;
  off(event: string, fn: (...args: any[]) => void): this;
  debug(on: boolean): this;
  register(...plugins: Plugin[]): Promise<Context>;
  deregister(...names: string[]): Promise<Context>;
  addSourceMiddleware(fn: SourceMiddleware): Promise<Analytics>;
  addDestinationMiddleware(integrationName: string, ...fns: DestinationMiddleware[]): Promise<Analytics>;
  readonly segments: SegmentsApi;
}
