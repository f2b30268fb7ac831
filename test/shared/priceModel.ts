/** Shared by the price-model tests: a base model and sample statistics. */
import type { PriceProcessSpec } from "../../src/sim/prices";

export const SYMBOLS = ["ETH", "BTC", "STETH", "USDC"];
/** The default correlation of the four symbols (ETH/BTC 0.7, ETH/STETH 0.98, BTC/STETH 0.7). */
export const CORRELATION = [
  [1, 0.7, 0.98, 0],
  [0.7, 1, 0.7, 0],
  [0.98, 0.7, 1, 0],
  [0, 0, 0, 1],
];

/** A price model over the four symbols at the default prices and volatilities, with `overrides`. */
export function baseSpec(overrides: Partial<PriceProcessSpec> = {}): PriceProcessSpec {
  return {
    symbols: SYMBOLS,
    initial: { ETH: 3_000, BTC: 60_000, STETH: 2_990, USDC: 1 },
    volatility: { ETH: 0.8, BTC: 0.6, STETH: 0.8, USDC: 0 },
    drift: {},
    correlation: CORRELATION,
    jumps: [],
    shocks: [],
    ...overrides,
  };
}

export function meanVar(xs: ArrayLike<number>): { mean: number; variance: number } {
  let sum = 0;
  for (let i = 0; i < xs.length; i++) sum += xs[i];
  const mean = sum / xs.length;
  let sq = 0;
  for (let i = 0; i < xs.length; i++) sq += (xs[i] - mean) ** 2;
  return { mean, variance: sq / (xs.length - 1) };
}

export function logReturns(path: number[]): number[] {
  return path.slice(1).map((p, i) => Math.log(p / path[i]));
}

export function correlationOf(a: number[], b: number[]): number {
  const ma = meanVar(a).mean;
  const mb = meanVar(b).mean;
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let i = 0; i < a.length; i++) {
    ab += (a[i] - ma) * (b[i] - mb);
    aa += (a[i] - ma) ** 2;
    bb += (b[i] - mb) ** 2;
  }
  return ab / Math.sqrt(aa * bb);
}
