// Types for `sieve-analytics/react` (React 18 or later).
import type { ReactElement, ReactNode } from 'react';
import type { Analytics, AnalyticsBrowser } from './index.js';

export interface SieveProviderProps {
  /** The `AnalyticsBrowser` from `AnalyticsBrowser.load()` (or a loaded `Analytics`). */
  analytics: AnalyticsBrowser | Analytics;
  children?: ReactNode;
}
export declare function SieveProvider(props: SieveProviderProps): ReactElement;
/** The instance given to the nearest `SieveProvider` (throws without one). */
export declare function useAnalytics(): AnalyticsBrowser | Analytics;
/**
 * The visitor's membership of segment `key`: `true`, `false`, or `null` while unknown (on the
 * server, during hydration, before the SDK and its engine have loaded). Re-renders on change.
 */
export declare function useSegment(key: string): boolean | null;
