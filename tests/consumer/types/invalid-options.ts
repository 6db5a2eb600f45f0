// Must NOT compile: each line marked `// error: <text>` is an error tsc must report, with
// that text, on that line (tests/e2e/consumer.test.mjs checks that no other line has one).
import { AnalyticsBrowser } from 'sieve-analytics';

AnalyticsBrowser.load({ writeKey: 'K' }, { segmnets: { definitions: [] } }); // error: 'segmnets' does not exist in type 'InitOptions'
AnalyticsBrowser.load({ writeKey: 'K', cdnURL: 42 }); // error: Type 'number' is not assignable to type 'string'
AnalyticsBrowser.load({ writeKey: 'K' }, { cdnURL: 42 }); // error: Type 'number' is not assignable to type 'string'
AnalyticsBrowser.load({ writeKey: 'K', cdnUrl: 'https://cdn.example.com' }); // error: 'cdnUrl' does not exist
AnalyticsBrowser.load({ writeKey: 'K' }, { cookie: { maxAge: 30 } }); // error: 'maxAge' does not exist
AnalyticsBrowser.load({ writeKey: 'K' }, { storage: { stores: ['sessionStorage'] } }); // error: Type '"sessionStorage"' is not assignable
AnalyticsBrowser.load(
  { writeKey: 'K' },
  {
    segments: {
      definitions: [
        {
          key: 'k',
          condition: { event: { name: 'E' }, measure: 'cnt', test: { $gte: 1 } }, // error: not assignable
        },
      ],
    },
  },
);
AnalyticsBrowser.load(
  { writeKey: 'K' },
  { segments: { definitions: [{ key: 'k', condition: { segment: 'a' }, outputs: { trak: true } }] } }, // error: 'trak' does not exist
);
AnalyticsBrowser.load({ writeKey: 'K' }, { segments: { stampContext: 'yes' } }); // error: Type 'string' is not assignable to type 'boolean
