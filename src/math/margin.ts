/**
 * The TypeScript mirror of the protocol's margin math (contracts/libraries/*Math.sol), to the wei.
 * The SDK, the demo and the simulator use it; tests hold it equal to the chain.
 */
import { WAD, abs, mulDivDown, mulDivUp, toWad, wDivDown, wMulCeil, wMulDown, wMulFloor, wMulUp } from "./fixedPoint";

/** One collateral balance as the Vault values it. */
export interface CollateralHolding {
  /** Balance in token units. */
  balance: bigint;
  /** Token decimals (0..18). */
  decimals: number;
  /** Oracle price, WAD. */
  price: bigint;
  /** Haircut, WAD (0.1e18 = 10 %). */
  haircut: bigint;
}

/** USD value (WAD) without haircut, rounded down — CollateralMath.value. */
export function collateralValueRaw(h: Pick<CollateralHolding, "balance" | "decimals" | "price">): bigint {
  return wMulDown(toWad(h.balance, h.decimals), h.price);
}

/** USD value (WAD) after haircut, each step rounded down — CollateralMath.haircutValue. */
export function collateralValueHaircut(h: CollateralHolding): bigint {
  return wMulDown(collateralValueRaw(h), WAD - h.haircut);
}

/**
 * Vault.collateralValue: Σ haircut values of the holdings + quoteBalance (WAD, signed).
 * With `haircut = false`, Vault.rawCollateralValue.
 */
export function accountCollateralValue(holdings: CollateralHolding[], quoteBalance: bigint, haircut = true): bigint {
  return holdings.reduce((sum, h) => sum + (haircut ? collateralValueHaircut(h) : collateralValueRaw(h)), quoteBalance);
}

/* ---------------------------------------------------------------------------------------------
 * Positions, pricing, funding and requirements — MarginMath.sol
 * ------------------------------------------------------------------------------------------- */

export const SECONDS_PER_DAY = 86_400n;

/** One bracket of a progressive margin schedule (WAD). */
export interface Tier {
  upToNotional: bigint;
  mmRate: bigint;
  imRate: bigint;
}

/** fill = oracle × (1 + (skew + sizeDelta/2) / skewScale), rounded up for buys, down for sells. */
export function fillPrice(oraclePrice: bigint, skew: bigint, sizeDelta: bigint, skewScale: bigint): bigint {
  const numerator = 2n * skew + sizeDelta;
  const denominator = 2n * skewScale;
  const buy = sizeDelta > 0n;
  const magnitude = abs(numerator);
  if (numerator >= 0n) {
    const premium = buy
      ? mulDivUp(oraclePrice, magnitude, denominator)
      : mulDivDown(oraclePrice, magnitude, denominator);
    return oraclePrice + premium;
  }
  const discount = buy
    ? mulDivDown(oraclePrice, magnitude, denominator)
    : mulDivUp(oraclePrice, magnitude, denominator);
  if (discount >= oraclePrice) throw new RangeError(`InvalidFillPrice: skew ${skew}, sizeDelta ${sizeDelta}`);
  return oraclePrice - discount;
}

/** |size| × price, rounded up. */
export const notional = (size: bigint, price: bigint): bigint => wMulUp(abs(size), price);

/** |sizeDelta| × fill × feeRate, rounded up. */
export const takerFee = (sizeDelta: bigint, fill: bigint, feeRate: bigint): bigint =>
  wMulUp(notional(sizeDelta, fill), feeRate);

/** clamp(skew / skewScale, −1, 1) × maxRatePerDay, magnitude toward zero — MarginMath.fundingRate. */
export function fundingRate(skew: bigint, skewScale: bigint, maxRatePerDay: bigint): bigint {
  if (skew === 0n) return 0n;
  let ratio = wDivDown(abs(skew), skewScale);
  if (ratio > WAD) ratio = WAD;
  const rate = wMulDown(ratio, maxRatePerDay);
  return skew > 0n ? rate : -rate;
}

/** rate × price × elapsed / 1 day, magnitude toward zero — MarginMath.fundingIndexDelta. */
export function fundingIndexDelta(ratePerDay: bigint, price: bigint, elapsed: bigint): bigint {
  if (ratePerDay === 0n || elapsed === 0n) return 0n;
  const delta = mulDivDown(wMulDown(abs(ratePerDay), price), elapsed, SECONDS_PER_DAY);
  return ratePerDay > 0n ? delta : -delta;
}

/** size × (index − entryIndex), rounded toward +∞. */
export function pendingFunding(size: bigint, index: bigint, entryIndex: bigint): bigint {
  const diff = index - entryIndex;
  return size >= 0n === diff >= 0n ? wMulUp(abs(diff), abs(size)) : -wMulDown(abs(diff), abs(size));
}

/** size × price + openNotional, rounded toward −∞. */
export const unrealizedPnl = (size: bigint, openNotional: bigint, price: bigint): bigint =>
  wMulFloor(size, price) + openNotional;

/** Progressive requirement: each bracket's slice pays its own rate, each slice rounded up. */
export function tieredRequirement(notionalValue: bigint, tiers: readonly Tier[], initial: boolean): bigint {
  let requirement = 0n;
  let lower = 0n;
  const last = tiers.length - 1;
  for (let i = 0; i <= last && notionalValue > lower; i++) {
    const t = tiers[i];
    const upper = i === last || notionalValue < t.upToNotional ? notionalValue : t.upToNotional;
    requirement += wMulUp(upper - lower, initial ? t.imRate : t.mmRate);
    lower = upper;
  }
  return requirement;
}

/** standAlone × (1 − offset × (gross − net) / gross): reduction rounded down, result up. */
export function groupRequirement(standAlone: bigint, gross: bigint, net: bigint, offset: bigint): bigint {
  if (gross === 0n || offset === 0n) return standAlone;
  const reduction = mulDivDown(offset, gross - net, gross);
  return wMulUp(standAlone, WAD - reduction);
}

/** A trade applied to a position: new size, new open notional, realized PnL (MarginMath.applyTrade). */
export function applyTrade(
  size: bigint,
  openNotional: bigint,
  sizeDelta: bigint,
  fill: bigint,
): { size: bigint; openNotional: bigint; realized: bigint } {
  const newSize = size + sizeDelta;
  if (size === 0n || size > 0n === sizeDelta > 0n) {
    return { size: newSize, openNotional: openNotional - wMulCeil(sizeDelta, fill), realized: 0n };
  }
  const absSize = abs(size);
  const absDelta = abs(sizeDelta);
  if (absDelta <= absSize) {
    const closed =
      openNotional >= 0n ? mulDivDown(openNotional, absDelta, absSize) : -mulDivUp(-openNotional, absDelta, absSize);
    return { size: newSize, openNotional: openNotional - closed, realized: wMulFloor(-sizeDelta, fill) + closed };
  }
  return { size: newSize, openNotional: -wMulCeil(newSize, fill), realized: wMulFloor(size, fill) + openNotional };
}

/** One position as the margin engine sees it, with its market's data at the current price. */
export interface PositionInput {
  size: bigint;
  openNotional: bigint;
  /** The funding index the position last settled at. */
  entryFundingIndex: bigint;
  /** The market's funding index accrued to now. */
  fundingIndex: bigint;
  /** Oracle price, WAD. */
  price: bigint;
  tiers: readonly Tier[];
  /** Correlation group, 0 = none. */
  group: number;
}

/** ClearingHouse.accountMargin: figures of an account (WAD). */
export interface AccountMargin {
  collateralValue: bigint;
  equity: bigint;
  maintenanceMargin: bigint;
  initialMargin: bigint;
  freeCollateral: bigint;
  liquidatable: boolean;
  /**
   * Σ over the positions of |size| × oracle price, each rounded up (WAD): the base of the
   * liquidation close factor (AccountMargin.notional on chain).
   */
  notional: bigint;
}

/**
 * The whole account computation of DESIGN §5, in the ClearingHouse's order and rounding:
 * equity = collateral + Σ uPnL − Σ pending funding; MM and IM tiered per market, grouped
 * markets reduced by their offset; freeCollateral = min(collateral, equity) − IM; notional =
 * Σ |size| × price, each rounded up.
 */
export function accountMargin(
  collateralValue: bigint,
  positions: readonly PositionInput[],
  groupOffsets: Readonly<Record<number, bigint>>,
): AccountMargin {
  let equity = collateralValue;
  let mmSum = 0n;
  let imSum = 0n;
  let notionalSum = 0n;
  const groups = new Map<number, { mm: bigint; im: bigint; gross: bigint; net: bigint }>();
  for (const p of positions) {
    if (p.size === 0n) continue;
    equity +=
      unrealizedPnl(p.size, p.openNotional, p.price) - pendingFunding(p.size, p.fundingIndex, p.entryFundingIndex);
    const n = notional(p.size, p.price);
    notionalSum += n;
    const mmPart = tieredRequirement(n, p.tiers, false);
    const imPart = tieredRequirement(n, p.tiers, true);
    if (p.group === 0) {
      mmSum += mmPart;
      imSum += imPart;
    } else {
      const g = groups.get(p.group) ?? { mm: 0n, im: 0n, gross: 0n, net: 0n };
      g.mm += mmPart;
      g.im += imPart;
      g.gross += n;
      g.net += p.size > 0n ? n : -n;
      groups.set(p.group, g);
    }
  }
  for (const [group, g] of [...groups.entries()].sort((a, b) => a[0] - b[0])) {
    const offset = groupOffsets[group] ?? 0n;
    mmSum += groupRequirement(g.mm, g.gross, abs(g.net), offset);
    imSum += groupRequirement(g.im, g.gross, abs(g.net), offset);
  }
  const floor = collateralValue < equity ? collateralValue : equity;
  return {
    collateralValue,
    equity,
    maintenanceMargin: mmSum,
    initialMargin: imSum,
    freeCollateral: floor - imSum,
    liquidatable: mmSum > 0n && equity < mmSum,
    notional: notionalSum,
  };
}

/**
 * The oracle price of one market at which the account becomes liquidatable (equity < MM), every
 * other price, balance and funding held where they are — the figure a trading UI shows next to
 * a position. Found by bisection on {@link accountMargin} itself, so tiers, hedge offsets and
 * rounding are exactly the contracts'. For a long the account is liquidatable at and below the
 * returned price; for a short at and above it. `null` when no price in (0, maxPrice] liquidates it.
 *
 * @param positionsAt Builds the account's positions with the market at a given price (WAD).
 * @param collateralValue The account's collateral value (WAD): a bigint to hold it fixed, or a
 *        function of the market's price for collateral priced by the same oracle (e.g. WETH under
 *        ETH-PERP), which should revalue those holdings with {@link accountCollateralValue}.
 * @param isLong Whether the position whose price moves is long.
 */
export function liquidationPrice(
  positionsAt: (price: bigint) => readonly PositionInput[],
  collateralValue: bigint | ((price: bigint) => bigint),
  groupOffsets: Readonly<Record<number, bigint>>,
  isLong: boolean,
  maxPrice: bigint = 1n << 128n,
): bigint | null {
  const collateralAt = typeof collateralValue === "bigint" ? () => collateralValue : collateralValue;
  const liquidatableAt = (price: bigint) =>
    accountMargin(collateralAt(price), positionsAt(price), groupOffsets).liquidatable;
  // A long is liquidatable at low prices, a short at high ones: bisect between the two ends for
  // the last liquidating price next to the first safe one.
  let inside = isLong ? 1n : maxPrice;
  let outside = isLong ? maxPrice : 1n;
  if (!liquidatableAt(inside)) return null;
  if (liquidatableAt(outside)) return outside;
  while (abs(outside - inside) > 1n) {
    const mid = (inside + outside) / 2n;
    if (liquidatableAt(mid)) inside = mid;
    else outside = mid;
  }
  return inside;
}
