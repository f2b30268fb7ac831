/**
 * The TypeScript mirror of the protocol's margin math (contracts/libraries/*Math.sol), to the wei.
 * The SDK, the demo and the simulator use it; tests hold it equal to the chain.
 */
import { WAD, toWad, wMulDown } from "./fixedPoint";

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
  return holdings.reduce(
    (sum, h) => sum + (haircut ? collateralValueHaircut(h) : collateralValueRaw(h)),
    quoteBalance,
  );
}
