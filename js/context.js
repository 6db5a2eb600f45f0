// analytics.js's Context: what event methods resolve to and what plugins receive. The event
// is kept as the JSON the core built (as bytes, see `textOf`) and decoded and parsed only
// when someone reads it.

let counter = 0;
const decoder = new TextDecoder();

/** The bytes the core's `call` returns (`{b, o, n}`: arena, offset, length), as a view. */
export const bytesOf = (event) => event.b.subarray(event.o, event.o + event.n);
/** Their text. */
export const textOf = (event) => decoder.decode(bytesOf(event));
// analytics.js's per-context stats; no-ops here, one object shared by every context.
const STATS = { increment() {}, gauge() {}, flush() {} };

export class Context {
  /** `source` is an event object, or `bytes` the event's JSON as the core's `call` returns it. */
  constructor(source, bytes) {
    this._bytes = bytes;
    this._json = undefined; // the text of `_bytes`, once decoded
    this._event = source;
    // attempts, stats, _logs (created on the first log()), _cancelled, _failed: rarely set,
    // their defaults are on the prototype (one context per call).
  }
  static system() {
    return new Context({ type: 'track', event: 'system', messageId: 'system-' + ++counter });
  }
  get event() {
    if (this._event === undefined) this._event = JSON.parse((this._json ??= textOf(this._bytes)));
    return this._event;
  }
  set event(event) {
    // `undefined` would mean "not decoded yet": a plugin that sets it gets null (and the
    // event, no longer an object, is refused with a warning instead of breaking every read).
    this._event = event === undefined ? null : event;
    this._bytes = this._json = undefined;
  }
  get id() {
    return this.event.messageId;
  }
  /** The event as JSON text (the core's, when nobody changed the event). */
  json() {
    return this._event === undefined ? (this._json ??= textOf(this._bytes)) : JSON.stringify(this._event);
  }
  cancel(error) {
    this._cancelled = error || new Error('cancelled');
    throw this._cancelled;
  }
  isCancelled() {
    return this._cancelled !== undefined;
  }
  /** `updateEvent('a.b', v)`: sets a path, refusing to re-enable a disabled integration. */
  updateEvent(path, value) {
    const keys = path.split('.');
    if (keys[0] === 'integrations' && keys.length > 1 && this.event.integrations?.[keys[1]] === false)
      return this.event;
    let target = this.event;
    for (const key of keys.slice(0, -1))
      target = target[key] = target[key] && typeof target[key] === 'object' ? target[key] : {};
    target[keys[keys.length - 1]] = value;
    return this.event;
  }
  log(level, message, extras) {
    (this._logs ||= []).push({ level, message, extras, time: new Date() });
  }
  logs() {
    return (this._logs ||= []);
  }
  failedDelivery() {
    return this._failed;
  }
  setFailedDelivery(failure) {
    this._failed = failure;
  }
  toJSON() {
    return { id: this.id, event: this.event, logs: this.logs() };
  }
}
Object.assign(Context.prototype, {
  attempts: 0,
  stats: STATS,
  _logs: undefined,
  _cancelled: undefined,
  _failed: undefined,
});
