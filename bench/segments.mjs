// Segment definitions for the "Sieve + 50 segments" case (issue 6): 49 mixed definitions over
// the events the bench sends (counts in rolling windows with and without property filters,
// exists + since_last, traits, funnels) plus one that the enter-hook probe qualifies for.

export const ENTER_KEY = 'bench_enter';
export const ENTER_EVENT = 'Bench Qualify';

const NAMES = [
  'Bench Event',
  'Logged In',
  'Bench Event',
  'Report Created',
  'Checkout Started',
  'Bench Event',
  'Payment Entered',
];

export function benchSegments(n = 50) {
  const defs = [];
  for (let i = 0; i < n - 1; i++) {
    const name = NAMES[i % NAMES.length];
    let condition;
    switch (i % 5) {
      case 0:
        condition = {
          event: { name },
          measure: 'count',
          window: { type: 'rolling', duration: 'P' + (7 + i) + 'D' },
          test: { $gte: 3 + (i % 4) },
        };
        break;
      case 1:
        condition = {
          event: { name, where: { plan: 'pro' } },
          measure: 'count',
          window: { type: 'rolling', duration: 'PT' + (12 + i) + 'H' },
          test: { $gte: 2 },
        };
        break;
      case 2:
        condition = {
          and: [
            { event: { name }, measure: 'exists', window: { type: 'lifetime' }, test: { $eq: true } },
            { event: { name }, measure: 'since_last', window: { type: 'lifetime' }, test: { $gte: 'P14D' } },
          ],
        };
        break;
      case 3:
        condition = { traits: { plan: { $in: ['pro', 'enterprise'] }, 'company.employees': { $gte: 50 } }, on: 'user' };
        break;
      default:
        condition = {
          funnel: {
            steps: [{ name: 'Checkout Started' }, { name: 'Bench Event' }, { name: 'Payment Entered' }],
            within: 'P1D',
            window: { type: 'rolling', duration: 'P30D' },
          },
          test: { maxStep: { $eq: 2 } },
          settle: true,
        };
    }
    defs.push({ key: 'bench_' + i, version: 1, condition });
  }
  defs.push({
    key: ENTER_KEY,
    version: 1,
    condition: { event: { name: ENTER_EVENT }, measure: 'count', window: { type: 'lifetime' }, test: { $gte: 1 } },
  });
  return defs;
}
