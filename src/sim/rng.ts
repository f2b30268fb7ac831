/**
 * Seeded, deterministic pseudo-random numbers for the simulator: sfc32 (Chris Doty-Humphrey's
 * Small Fast Chaotic generator, 128-bit state) seeded by the cyrb128 string hash. The same seed
 * always gives the same stream on every platform; nothing here reads Math.random or the clock.
 *
 * Streams are organised by `fork(label)`: a fork's seed is derived from its parent's seed key and
 * the label only, so adding draws to one part of the simulation never shifts another part.
 */

/** A deterministic random stream. */
export interface Rng {
  /** Uniform in [0, 1), 32 bits of resolution. */
  next(): number;
  /** Standard normal N(0, 1) (Box–Muller; the second value of each pair is cached). */
  normal(): number;
  /** Poisson(lambda): Knuth's method below 30, a rounded normal approximation (≥ 0) from 30 up. */
  poisson(lambda: number): number;
  /** Uniform integer in [lo, hi], both inclusive. */
  int(lo: number, hi: number): number;
  /** A uniformly chosen element of a non-empty list. */
  pick<T>(items: readonly T[]): T;
  /**
   * A key chosen with probability proportional to its weight. Keys are visited in sorted order, so
   * the result does not depend on the object's key insertion order; zero-weight keys are never chosen.
   */
  weighted<K extends string>(weights: Record<K, number>): K;
  /** An independent stream derived from this stream's seed and `label` only (not from its draws). */
  fork(label: string): Rng;
}

/** Separates a parent key from a fork label (a character that does not occur in sane labels). */
const FORK_SEPARATOR = "\u241f";
/** Outputs discarded after seeding, so that similar seeds give unrelated streams. */
const WARM_UP = 20;
const TWO_POW_32 = 4294967296;
const TWO_PI = 2 * Math.PI;
/** Poisson means from which the normal approximation is used. */
const POISSON_NORMAL_FROM = 30;

/** cyrb128: a fast 128-bit string hash, used only to seed sfc32. */
function cyrb128(text: string): [number, number, number, number] {
  let h1 = 1779033703;
  let h2 = 3144134277;
  let h3 = 1013904242;
  let h4 = 2773480762;
  for (let i = 0; i < text.length; i++) {
    const k = text.charCodeAt(i);
    h1 = h2 ^ Math.imul(h1 ^ k, 597399067);
    h2 = h3 ^ Math.imul(h2 ^ k, 2869860233);
    h3 = h4 ^ Math.imul(h3 ^ k, 951274213);
    h4 = h1 ^ Math.imul(h4 ^ k, 2716044179);
  }
  h1 = Math.imul(h3 ^ (h1 >>> 18), 597399067);
  h2 = Math.imul(h4 ^ (h2 >>> 22), 2869860233);
  h3 = Math.imul(h1 ^ (h3 >>> 17), 951274213);
  h4 = Math.imul(h2 ^ (h4 >>> 19), 2716044179);
  h1 ^= h2 ^ h3 ^ h4;
  h2 ^= h1;
  h3 ^= h1;
  h4 ^= h1;
  return [h1 >>> 0, h2 >>> 0, h3 >>> 0, h4 >>> 0];
}

class Sfc32 implements Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;
  private spare = 0;
  private hasSpare = false;

  constructor(private readonly key: string) {
    [this.a, this.b, this.c, this.d] = cyrb128(key);
    for (let i = 0; i < WARM_UP; i++) this.nextUint32();
  }

  private nextUint32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  next(): number {
    return this.nextUint32() / TWO_POW_32;
  }

  normal(): number {
    if (this.hasSpare) {
      this.hasSpare = false;
      return this.spare;
    }
    const u1 = 1 - this.next(); // (0, 1]: log is finite
    const u2 = this.next();
    const r = Math.sqrt(-2 * Math.log(u1));
    const theta = TWO_PI * u2;
    this.spare = r * Math.sin(theta);
    this.hasSpare = true;
    return r * Math.cos(theta);
  }

  poisson(lambda: number): number {
    if (!Number.isFinite(lambda) || lambda < 0) {
      throw new RangeError(`poisson: expected a finite lambda ≥ 0, got ${lambda}`);
    }
    if (lambda === 0) return 0;
    if (lambda >= POISSON_NORMAL_FROM) {
      return Math.max(0, Math.round(lambda + Math.sqrt(lambda) * this.normal()));
    }
    const limit = Math.exp(-lambda);
    let k = 0;
    let p = this.next();
    while (p > limit) {
      k++;
      p *= this.next();
    }
    return k;
  }

  int(lo: number, hi: number): number {
    if (!Number.isSafeInteger(lo) || !Number.isSafeInteger(hi) || lo > hi) {
      throw new RangeError(`int: expected integers lo ≤ hi, got [${lo}, ${hi}]`);
    }
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new RangeError("pick: expected a non-empty list");
    return items[Math.floor(this.next() * items.length)];
  }

  weighted<K extends string>(weights: Record<K, number>): K {
    const keys = (Object.keys(weights) as K[]).sort();
    let total = 0;
    for (const key of keys) {
      const w = weights[key] ?? 0;
      if (!Number.isFinite(w) || w < 0) {
        throw new RangeError(`weighted: expected finite weights ≥ 0, got ${key} = ${w}`);
      }
      total += w;
    }
    if (!(total > 0)) throw new RangeError("weighted: expected at least one positive weight");
    let target = this.next() * total;
    let last: K | undefined;
    for (const key of keys) {
      const w = weights[key] ?? 0;
      if (w <= 0) continue;
      if (target < w) return key;
      target -= w;
      last = key;
    }
    // rounding left `target` a hair above the last weight: that key is the one
    return last as K;
  }

  fork(label: string): Rng {
    return new Sfc32(`${this.key}${FORK_SEPARATOR}${label}`);
  }
}

/**
 * A random stream for `seed`. Numbers and strings are hashed by their text, so `createRng(7)` and
 * `createRng("7")` are the same stream.
 */
export function createRng(seed: number | string): Rng {
  if (typeof seed === "number" && !Number.isFinite(seed)) {
    throw new RangeError(`createRng: expected a finite seed, got ${seed}`);
  }
  return new Sfc32(String(seed));
}
