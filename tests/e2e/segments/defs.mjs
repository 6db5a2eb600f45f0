// Segment definitions from segments-v1.md section 3, used by the browser tests and the demo.
export const POWER_USER = {
  key: 'power_user',
  version: 1,
  condition: {
    event: { name: 'Core Feature Used' },
    measure: 'count',
    window: { type: 'rolling', duration: 'P7D' },
    test: { $gte: 3 },
  },
  outputs: { track: true, identify: false },
};
export const AT_RISK = {
  key: 'at_risk',
  version: 1,
  condition: {
    and: [
      { event: { name: 'Logged In' }, measure: 'exists', window: { type: 'lifetime' }, test: { $eq: true } },
      { event: { name: 'Logged In' }, measure: 'since_last', window: { type: 'lifetime' }, test: { $gte: 'P14D' } },
    ],
  },
  outputs: { track: true, identify: false },
};
export const CHECKOUT_ABANDONER = {
  key: 'checkout_abandoner',
  version: 1,
  condition: {
    funnel: {
      steps: [
        { name: 'Checkout Started' },
        { name: 'Shipping Entered' },
        { name: 'Payment Entered' },
        { name: 'Order Completed' },
      ],
      within: 'P1D',
      window: { type: 'rolling', duration: 'P30D' },
    },
    test: { maxStep: { $eq: 3 } },
    settle: true,
  },
};
export const HIGH_MRR = {
  key: 'high_mrr',
  version: 1,
  condition: { traits: { mrr: { $gte: 1000 } }, on: 'group' },
  exitCondition: { traits: { mrr: { $lt: 900 } }, on: 'group' },
};
export const CHURN_RISK = {
  key: 'churn_risk',
  version: 1,
  condition: {
    event: { name: 'Core Feature Used' },
    measure: 'count',
    window: { type: 'rolling', duration: 'P21D' },
    test: { $eq: 0 },
    coverage: 'observed',
  },
};
export const HEALTHY_HIGH_MRR = {
  key: 'healthy_high_mrr',
  version: 1,
  condition: { and: [{ segment: 'high_mrr' }, { not: { segment: 'churn_risk' } }] },
};
