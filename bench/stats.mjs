// Small statistics helpers for the bench. Quantiles use linear interpolation between closest
// ranks (the "R-7" / numpy default), so p50 of an even-sized sample is the mean of the middle two.

export function quantile(values, q) {
  const xs = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  if (xs.length === 0) return NaN;
  const pos = (xs.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo);
}

export const median = (values) => quantile(values, 0.5);

/** { n, median, p10, p90, min, max } of the finite values. */
export function summary(values) {
  const xs = values.filter((v) => Number.isFinite(v));
  return {
    n: xs.length,
    median: quantile(xs, 0.5),
    p10: quantile(xs, 0.1),
    p90: quantile(xs, 0.9),
    min: xs.length ? Math.min(...xs) : NaN,
    max: xs.length ? Math.max(...xs) : NaN,
  };
}
