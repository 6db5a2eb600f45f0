// Event emitter for the analytics.js `on/once/off` API. Listeners are isolated: one that
// throws is logged and does not stop the others or the SDK. Listeners are kept in a Map:
// any event name is safe (`constructor`, `__proto__`, objects whose conversion to a string
// throws), and numbers name the same event as their string, as object keys would.
const key = (name) => (typeof name === 'number' ? String(name) : name);

export class Emitter {
  constructor() {
    this._l = new Map();
  }
  on(name, fn) {
    if (typeof fn === 'function') {
      const list = this._l.get(key(name));
      if (list) list.push(fn);
      else this._l.set(key(name), [fn]);
    }
    return this;
  }
  once(name, fn) {
    if (typeof fn !== 'function') return this;
    const wrapped = (...args) => {
      this.off(name, wrapped);
      fn(...args);
    };
    return this.on(name, wrapped);
  }
  off(name, fn) {
    const list = this._l.get(key(name));
    if (list)
      this._l.set(
        key(name),
        list.filter((f) => f !== fn),
      );
    return this;
  }
  listens(name) {
    const list = this._l.get(key(name));
    return !!(list && list.length);
  }
  emit(name, ...args) {
    const list = this._l.get(key(name));
    if (list) {
      // Listeners added meanwhile wait for the next emit (as analytics.js's forEach does).
      for (let i = 0, n = list.length; i < n; i++) {
        try {
          list[i](...args);
        } catch (err) {
          console.error('[sieve] an "' + (typeof name === 'string' ? name : typeof name) + '" listener threw', err);
        }
      }
    }
    return this;
  }
}
