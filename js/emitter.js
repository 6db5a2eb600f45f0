// Event emitter for the analytics.js `on/once/off` API. Listeners are isolated: one that
// throws is logged and does not stop the others or the SDK.
export class Emitter {
  constructor() {
    this._l = {};
  }
  on(name, fn) {
    if (typeof fn === 'function') (this._l[name] ||= []).push(fn);
    return this;
  }
  once(name, fn) {
    const wrapped = (...args) => {
      this.off(name, wrapped);
      fn(...args);
    };
    return this.on(name, wrapped);
  }
  off(name, fn) {
    const list = this._l[name];
    if (list) this._l[name] = list.filter((f) => f !== fn);
    return this;
  }
  listens(name) {
    return !!(this._l[name] && this._l[name].length);
  }
  emit(name, ...args) {
    for (const fn of this._l[name] || []) {
      try {
        fn(...args);
      } catch (err) {
        console.error('[sieve] an "' + name + '" listener threw', err);
      }
    }
    return this;
  }
}
