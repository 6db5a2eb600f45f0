// Typical code written for @segment/analytics-next (the patterns of its README, docs and
// tests, written anew), with only the import changed to sieve-analytics. It must compile
// with `tsc --strict`: properties and traits typed by interfaces, Dates, callbacks in any
// position, plugins, middleware, the lazy-load and error-handling patterns, window.analytics.
import { AnalyticsBrowser } from 'sieve-analytics';
import type { AnalyticsSnippet, Context, Plugin, InitOptions, SegmentEvent } from 'sieve-analytics';

declare global {
  interface Window {
    analytics: AnalyticsSnippet;
  }
}

export const analytics = AnalyticsBrowser.load(
  { writeKey: 'WRITE_KEY', cdnURL: 'https://cdn.example.com' },
  {
    initialPageview: true,
    integrations: { All: true, Mixpanel: false, 'Segment.io': { apiHost: 'api.example.com/v1', protocol: 'https' } },
    cookie: { domain: 'example.com', maxage: 30, secure: true, sameSite: 'Strict' },
    storage: { stores: ['localStorage', 'cookie', 'memory'] },
    user: { cookie: { key: 'my_user_id' } },
    disableClientPersistence: false,
    useQueryString: { aid: /^[a-z0-9-]+$/, uid: /^\d+$/ },
    retryQueue: true,
    obfuscate: false,
  },
);

// Interfaces (no index signature) as properties and traits.
interface OrderProps {
  orderId: string;
  total: number;
  placedAt: Date;
  coupon?: string;
  items: Array<{ sku: string; quantity: number }>;
}
interface Traits {
  email: string;
  plan: 'free' | 'pro';
  createdAt: Date;
}
const order: OrderProps = { orderId: 'o-1', total: 42.5, placedAt: new Date(), items: [{ sku: 'A', quantity: 2 }] };
const traits: Traits = { email: 'ada@example.com', plan: 'pro', createdAt: new Date() };

analytics.identify('user-1', traits);
analytics.identify('user-1', { ...traits, company: { name: 'Acme', employees: 120 } });
analytics.identify(traits);
analytics.identify(42, { at: new Date() }, { context: { ip: '0.0.0.0' } });
analytics.track('Order Completed', order);
analytics.track('Order Completed', order, { timestamp: new Date(), integrations: { Mixpanel: false } });
analytics.track('Signed Up', { at: new Date(), referrer: undefined, tags: ['a', 'b'] });
analytics.track('Clicked', {}, {}, (ctx: Context) => console.log(ctx.event.messageId));
analytics.track('Clicked', () => console.log('sent'));
analytics.track({ type: 'track', event: 'Object Form', properties: { a: 1 } } as SegmentEvent);
analytics.page();
analytics.page('Docs');
analytics.page('Docs', 'Getting Started', { path: '/docs' }, { context: { campaign: { name: 'x' } } });
analytics.page({ title: 'Home' });
analytics.screen('Home');
analytics.group('acme', { name: 'Acme', plan: 'enterprise', employees: 120 });
analytics.alias('user-1', 'anon-1');
analytics.alias('user-1');
analytics.reset();
analytics.setAnonymousId('anon-2');
analytics.debug(true).on('track', (event: string, properties: unknown) => console.log(event, properties));
analytics.once('page', () => {}).off('track', () => {});
analytics.ready(() => console.log('ready'));
analytics.pageView('/docs');
analytics.trackLink(document.getElementById('link'), 'Link Clicked', { position: 'header' });
analytics.trackClick(
  document.querySelectorAll('a.cta'),
  (el) => 'Clicked ' + el.id,
  (el) => ({ id: el.id }),
);
analytics.trackForm(document.forms[0], 'Signed Up', { source: 'footer' });
analytics.trackSubmit(document.querySelector('form'), 'Signed Up');

// The instance, the context and the user, from the promise.
async function afterLoad(): Promise<string | null | undefined> {
  const [instance, context] = await analytics;
  instance.track('Loaded', { at: new Date() });
  console.log(context.id, instance.VERSION);
  const ctx = await analytics.track('Awaited', { ok: true });
  console.log(ctx.event.properties?.ok, ctx.event.timestamp);
  const user = await analytics.user();
  user.traits({ plan: 'pro' });
  return user.id() ?? user.anonymousId();
}
void afterLoad();

// Plugins and middleware.
const enrich: Plugin = {
  name: 'Enrich',
  type: 'enrichment',
  version: '1.0.0',
  isLoaded: () => true,
  load: () => Promise.resolve(),
  track: (ctx) => {
    ctx.updateEvent('properties.enriched', true);
    ctx.event.context = { ...ctx.event.context, app: 'web' };
    return ctx;
  },
  identify: async (ctx) => ctx,
};
analytics.register(enrich).then((ctx) => ctx.isCancelled());
analytics.deregister('Enrich');
analytics.addSourceMiddleware(({ payload, next }) => {
  if (payload.obj.properties) payload.obj.properties.source = 'middleware';
  next(payload);
});
analytics.addDestinationMiddleware('Amplitude', ({ payload, next }) => next(payload));

// Lazy loading (consent first) and initialization errors.
export const lazy = new AnalyticsBrowser();
lazy.identify('hello');
const consent = true;
if (consent) lazy.load({ writeKey: 'WRITE_KEY' }).catch((err) => console.error(err));
const options: InitOptions = { initialPageview: false };
void AnalyticsBrowser.standalone('WRITE_KEY', options).then((a) => a.track('Standalone'));

// The snippet's global.
window.analytics.track('From the snippet', order);
window.analytics.identify('user-1', traits, { timestamp: new Date() });
window.analytics.ready(() => window.analytics.page());

// Sieve's additions.
analytics.segments.on('enter', 'power_user', ({ key, at }) => console.log(key, at));
const member: boolean | null = analytics.segments.isMember('power_user');
void analytics.segments.load([
  {
    key: 'power_user',
    version: 1,
    condition: {
      event: { name: 'Core Feature Used' },
      measure: 'count',
      window: { type: 'rolling', duration: 'P7D' },
      test: { $gte: 3 },
    },
    outputs: { track: true },
  },
]);
console.log(member);
