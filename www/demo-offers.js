// "Demo Offers": the demo's device-mode destination, a classic integration in the shape
// analytics.js loads from its CDN (`window['<name>Deps']`, `window['<name>Loader']`, which
// defines `window['<name>Integration']`). scripts/serve.mjs names it in the settings and
// serves this file where Sieve loads it from. Sieve hands it every event as a Facade; with
// `segments.stampContext` an event carries `context.segments` (segment key -> membership),
// so the destination can act on the visitor's in-browser segments with no code in the page:
// it shows its offer once an event says the visitor is a power_user.
(function () {
  var NAME = 'demo-offers';
  window[NAME + 'Deps'] = [];
  window[NAME + 'Loader'] = function () {
    function Integration(settings) {
      this.settings = settings;
      this.received = 0;
      this.listeners = {};
    }
    Integration.prototype.on = function (event, fn) {
      (this.listeners[event] = this.listeners[event] || []).push(fn);
    };
    Integration.prototype.once = function (event, fn) {
      var self = this;
      var once = function () {
        self.listeners[event] = self.listeners[event].filter(function (f) {
          return f !== once;
        });
        fn();
      };
      this.on(event, once);
    };
    Integration.prototype.emit = function (event) {
      (this.listeners[event] || []).slice().forEach(function (fn) {
        fn();
      });
    };
    Integration.prototype.status = function () {
      var el = document.getElementById('offers-received');
      if (el) el.textContent = 'Demo Offers: loaded, received ' + this.received + ' events';
    };
    Integration.prototype.initialize = function () {
      var self = this;
      this.status();
      setTimeout(function () {
        self.emit('initialize');
        self.emit('ready');
      }, 0);
    };
    Integration.prototype.invoke = function (method, facade) {
      this.received++;
      this.status();
      var context = facade.obj.context || {};
      var segments = context.segments || {};
      var offer = document.getElementById('offer');
      if (offer && segments.power_user === true) {
        offer.textContent =
          'Demo Offers (a device-mode destination): ' + this.settings.offer + ', because this event says power_user.';
        offer.hidden = false;
      }
    };
    window[NAME + 'Integration'] = Integration;
  };
})();
