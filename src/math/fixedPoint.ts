/**
 * The TypeScript twin of contracts/libraries/FixedPointMath.sol: same operations, same rounding,
 * on bigints, so results match the chain to the wei.
 */
export const WAD = 10n ** 18n;

const UINT256_MAX = (1n << 256n) - 1n;

function mulDiv(x: bigint, y: bigint, d: bigint, roundUp: boolean): bigint {
  if (x < 0n || y < 0n || d <= 0n)
    throw new RangeError(`mulDiv takes non-negative operands and d > 0, got ${x}, ${y}, ${d}`);
  const product = x * y;
  // the contracts multiply in 256 bits with checked arithmetic and revert beyond it
  if (product > UINT256_MAX) throw new RangeError(`x * y overflows 256 bits: ${x} * ${y}`);
  const q = product / d;
  return roundUp && q * d !== product ? q + 1n : q;
}

/** x * y / WAD, rounded down. */
export const wMulDown = (x: bigint, y: bigint): bigint => mulDiv(x, y, WAD, false);
/** x * y / WAD, rounded up. */
export const wMulUp = (x: bigint, y: bigint): bigint => mulDiv(x, y, WAD, true);
/** x * WAD / y, rounded down. */
export const wDivDown = (x: bigint, y: bigint): bigint => mulDiv(x, WAD, y, false);
/** x * WAD / y, rounded up. */
export const wDivUp = (x: bigint, y: bigint): bigint => mulDiv(x, WAD, y, true);
/** x * y / d, rounded down. */
export const mulDivDown = (x: bigint, y: bigint, d: bigint): bigint => mulDiv(x, y, d, false);
/** x * y / d, rounded up. */
export const mulDivUp = (x: bigint, y: bigint, d: bigint): bigint => mulDiv(x, y, d, true);

function unit(decimals: number): bigint {
  if (!Number.isInteger(decimals) || decimals < 0 || decimals > 18) {
    throw new RangeError(`token decimals must be an integer from 0 to 18, got ${decimals}`);
  }
  return 10n ** BigInt(18 - decimals);
}

/** Token amount in its own decimals to WAD (exact). */
export const toWad = (amount: bigint, decimals: number): bigint => amount * unit(decimals);
/** WAD to token units, rounded down (payouts). */
export const fromWadDown = (wad: bigint, decimals: number): bigint => wad / unit(decimals);
/** WAD to token units, rounded up (what an account must pay in). */
export const fromWadUp = (wad: bigint, decimals: number): bigint => (wad + unit(decimals) - 1n) / unit(decimals);

/** |a|. */
export const abs = (a: bigint): bigint => (a < 0n ? -a : a);
/** a × b / WAD for signed a, unsigned b, rounded toward −∞ — FixedPointMath.wMulFloor. */
export const wMulFloor = (a: bigint, b: bigint): bigint => (a >= 0n ? wMulDown(a, b) : -wMulUp(-a, b));
/** a × b / WAD for signed a, unsigned b, rounded toward +∞ — FixedPointMath.wMulCeil. */
export const wMulCeil = (a: bigint, b: bigint): bigint => (a >= 0n ? wMulUp(a, b) : -wMulDown(-a, b));
