/**
 * The TypeScript mirror of the liquidation engine (ClearingHouse.liquidate with _closable, _payout
 * and Vault.settleLiquidation; Vault.liquidateCollateral; Vault.settleBadDebt), to the wei: same
 * operations, same order, same rounding, on bigints. Position and funding math is not copied here:
 * it comes from ./margin (applyTrade, pendingFunding, notional), itself held equal to MarginMath.sol.
 *
 * Units as on chain: WAD (1e18) for prices, USD and rates; sizes are signed WAD base units in lots of
 * {@link SIZE_STEP}; token amounts in the token's own decimals. Results that the chain would refuse
 * are returned as typed errors (`ok: false`, `error` named like the Solidity custom error, with its
 * arguments) rather than thrown, so callers can compare them with a revert.
 */
import {
  WAD,
  abs,
  fromWadDown,
  fromWadUp,
  mulDivDown,
  mulDivUp,
  toWad,
  wDivDown,
  wDivUp,
  wMulDown,
  wMulUp,
} from "./fixedPoint";
import { applyTrade, notional, pendingFunding, type AccountMargin } from "./margin";

/** Lot size of every position, in WAD base units (1e-8 of a unit): Constants.SIZE_STEP. */
export const SIZE_STEP = 10n ** 10n;

/** Decimals of the settlement token (USDC) the keeper reward is paid in. */
export const SETTLEMENT_DECIMALS = 6;

/**
 * Protocol-wide liquidation parameters (IClearingHouse.LiquidationParams), all WAD bigints.
 */
export interface LiquidationParams {
  /** Penalty on the closed notional (0.01e18 = 1 %). */
  liquidationFee: bigint;
  /** Share of the penalty paid to the liquidator. */
  keeperShare: bigint;
  /** Most of the account's total notional one partial liquidation may close. */
  closeFactor: bigint;
  /** Below equity < MM × this, a position may be closed whole. */
  fullLiquidationThreshold: bigint;
  /** USD notional (WAD) at or under which a position is closed whole and may not be left behind. */
  dustThreshold: bigint;
  /** Bonus value a collateral liquidator receives on top of the debt repaid. */
  collateralDiscount: bigint;
}

/**
 * The constructor defaults (DESIGN §13, ignition/parameters/local.json): fee 1 %, keeper share 50 %,
 * close factor 50 %, full-liquidation threshold 0.5, dust $100, collateral discount 5 %.
 */
/** The parameters as plain bigints, from `ClearingHouse.liquidationParams()` (an ethers Result). */
export function toLiquidationParams(p: LiquidationParams): LiquidationParams {
  return {
    liquidationFee: p.liquidationFee,
    keeperShare: p.keeperShare,
    closeFactor: p.closeFactor,
    fullLiquidationThreshold: p.fullLiquidationThreshold,
    dustThreshold: p.dustThreshold,
    collateralDiscount: p.collateralDiscount,
  };
}

export const DEFAULT_LIQUIDATION_PARAMS: Readonly<LiquidationParams> = Object.freeze({
  liquidationFee: WAD / 100n,
  keeperShare: WAD / 2n,
  closeFactor: WAD / 2n,
  fullLiquidationThreshold: WAD / 2n,
  dustThreshold: 100n * WAD,
  collateralDiscount: (WAD * 5n) / 100n,
});

/** The margin figures the liquidation engine reads (a {@link AccountMargin} satisfies it). */
export type LiquidationMargin = Pick<AccountMargin, "equity" | "maintenanceMargin" | "notional">;

/** Notional of `lots` (unsigned) at `price`, rounded up: ClearingHouse._notionalOfLots. */
export const notionalOfLots = (lots: bigint, price: bigint): bigint => notional(lots * SIZE_STEP, price);

/** Whether an account may be liquidated: MM > 0 and equity < MM (AccountMargin.liquidatable). */
export const isLiquidatable = (margin: Pick<AccountMargin, "equity" | "maintenanceMargin">): boolean =>
  margin.maintenanceMargin > 0n && margin.equity < margin.maintenanceMargin;

/** What one liquidation of a position may close. */
export interface ClosableLots {
  /** Most lots one liquidation may close. */
  allowed: bigint;
  /** Whether that is the whole position. */
  whole: boolean;
}

/**
 * ClearingHouse._closable: the most lots one liquidation of a position of `positionLots` (signed or
 * not) may close at `price`. All of it when its notional is at most the dust threshold, or when
 * equity < MM × fullLiquidationThreshold (compared exactly, both sides × WAD); else
 * floor(floor(floor(notional × closeFactor) / price) / SIZE_STEP) lots (at least one), extended to
 * all when the rest would be dust. Does not check that the account is liquidatable
 * (ClearingHouse.liquidationSize reports 0 then: see {@link isLiquidatable}).
 *
 * @param margin The account's margin (funding accrued to the liquidation's timestamp).
 * @param positionLots The position's size in lots.
 * @param price The market's oracle price (WAD).
 */
export function closableLots(
  margin: LiquidationMargin,
  positionLots: bigint,
  price: bigint,
  params: LiquidationParams = DEFAULT_LIQUIDATION_PARAMS,
): ClosableLots {
  const absLots = abs(positionLots);
  const whole = { allowed: absLots, whole: true };
  if (notionalOfLots(absLots, price) <= params.dustThreshold) return whole;
  if (margin.equity * WAD < margin.maintenanceMargin * params.fullLiquidationThreshold) return whole;
  let cap = wDivDown(wMulDown(margin.notional, params.closeFactor), price) / SIZE_STEP;
  if (cap === 0n) cap = 1n;
  if (cap < absLots && notionalOfLots(absLots - cap, price) > params.dustThreshold)
    return { allowed: cap, whole: false };
  return whole;
}

/** A liquidation of zero lots (maxSize below one lot): ClearingHouse error ZeroSize(). */
export interface ZeroSizeError {
  ok: false;
  error: "ZeroSize";
}

/**
 * The liquidation would leave a position of `remainingNotional` (WAD), at or under the dust
 * threshold: ClearingHouse error LiquidationLeavesDust(accountId, marketId, remainingNotional).
 */
export interface LeavesDustError {
  ok: false;
  error: "LiquidationLeavesDust";
  remainingNotional: bigint;
}

/** The account has no position in the market: ClearingHouse error NoPosition(accountId, marketId). */
export interface NoPositionError {
  ok: false;
  error: "NoPosition";
}

/** equity ≥ MM or MM = 0: ClearingHouse error AccountNotLiquidatable(accountId, equity, maintenanceMargin). */
export interface NotLiquidatableError {
  ok: false;
  error: "AccountNotLiquidatable";
  equity: bigint;
  maintenanceMargin: bigint;
}

/** Every refusal {@link planLiquidation} predicts (the rate limit is not modelled: off by default). */
export type LiquidationError = NoPositionError | NotLiquidatableError | ZeroSizeError | LeavesDustError;

/**
 * Step 4 of ClearingHouse.liquidate: lots = min(floor(maxSize / SIZE_STEP), allowed); zero is
 * refused (ZeroSize), and so is a partial close whose rest has a notional at or under `dust`
 * (LiquidationLeavesDust with that rest's notional, rounded up).
 *
 * @param allowed From {@link closableLots}.
 * @param absLots |position| in lots.
 * @param maxSize The liquidator's cap, WAD base units (any uint256).
 * @param price The market's oracle price (WAD).
 * @param dust The dust threshold (WAD USD).
 */
export function liquidationCloseLots(
  allowed: bigint,
  absLots: bigint,
  maxSize: bigint,
  price: bigint,
  dust: bigint,
): { ok: true; lots: bigint } | ZeroSizeError | LeavesDustError {
  let lots = maxSize / SIZE_STEP;
  if (lots > allowed) lots = allowed;
  if (lots === 0n) return { ok: false, error: "ZeroSize" };
  if (lots < absLots) {
    const rest = notionalOfLots(absLots - lots, price);
    if (rest <= dust)
      return {
        ok: false,
        error: "LiquidationLeavesDust",
        remainingNotional: rest,
      };
  }
  return { ok: true, lots };
}

/** The penalty of a liquidation and its split (WAD). */
export interface LiquidationPayout {
  /** ceil(closed notional × liquidationFee). */
  penalty: bigint;
  /** Paid to the liquidator (before rounding down to settlement-token units). */
  keeperReward: bigint;
  /** Credited to the insurance fund. */
  insuranceFee: bigint;
  /** penalty − keeperReward − insuranceFee: what the account's equity could not pay. */
  shortfall: bigint;
}

/**
 * ClearingHouse._payout: penalty = ceil(closed × fee); keeperReward = floor(penalty × keeperShare);
 * the insurance share is the rest. With equity⁺ = max(0, equityBefore): a caller that owns or
 * operates the account gets at most equity⁺ (self-liquidation earns nothing beyond it); the
 * insurance fund gets min(its share, max(0, equity⁺ − keeperReward)); the shortfall is the rest.
 *
 * @param closedNotional notionalOfLots(lots, price), WAD.
 * @param equityBefore The account's equity before the liquidation (WAD, signed).
 * @param callerIsOwnerOrOperator Whether msg.sender is authorized on the account.
 */
export function liquidationPayout(
  closedNotional: bigint,
  equityBefore: bigint,
  params: LiquidationParams,
  callerIsOwnerOrOperator: boolean,
): LiquidationPayout {
  const penalty = wMulUp(closedNotional, params.liquidationFee);
  let keeperReward = wMulDown(penalty, params.keeperShare);
  const insuranceShare = penalty - keeperReward;
  const equity = equityBefore > 0n ? equityBefore : 0n;
  if (keeperReward > equity && callerIsOwnerOrOperator) keeperReward = equity;
  const left = equity > keeperReward ? equity - keeperReward : 0n;
  const insuranceFee = insuranceShare < left ? insuranceShare : left;
  return {
    penalty,
    keeperReward,
    insuranceFee,
    shortfall: penalty - keeperReward - insuranceFee,
  };
}

/**
 * Vault.settleLiquidation's payment of the keeper reward: floor(keeperReward) in settlement-token
 * units is transferred; the sub-unit remainder (WAD) goes to the insurance fund.
 *
 * @param keeperReward WAD.
 * @param decimals The settlement token's decimals (USDC: 6).
 */
export function keeperPaidTokens(
  keeperReward: bigint,
  decimals: number = SETTLEMENT_DECIMALS,
): { paid: bigint; remainderToInsurance: bigint } {
  const paid = fromWadDown(keeperReward, decimals);
  return { paid, remainderToInsurance: keeperReward - toWad(paid, decimals) };
}

/** A position as stored by the ClearingHouse. */
export interface LiquidatedPosition {
  /** Signed WAD base units (whole lots). */
  size: bigint;
  /** Open notional (WAD, signed). */
  openNotional: bigint;
  /** The market funding index the position last settled at. */
  entryFundingIndex: bigint;
}

/** Inputs of {@link planLiquidation}: the state of the chain at the liquidation's block. */
export interface LiquidationInput {
  /**
   * The account's margin with funding accrued to the liquidation's timestamp (e.g. snapshotMargin of
   * a snapshot whose funding indexes are those of that timestamp).
   */
  margin: LiquidationMargin;
  /** The position liquidated. */
  position: LiquidatedPosition;
  /** The market's funding index accrued to the liquidation's timestamp. */
  fundingIndex: bigint;
  /** The market's oracle price (WAD): the fill of the liquidation. */
  price: bigint;
  /** The liquidator's cap on the size closed, WAD base units (type(uint256).max for no cap). */
  maxSize: bigint;
  /** Whether the caller owns or operates the account (caps the keeper reward at equity⁺). */
  callerIsOwnerOrOperator: boolean;
  /** Defaults to {@link DEFAULT_LIQUIDATION_PARAMS}. */
  params?: LiquidationParams;
  /** Settlement-token decimals, default 6 (USDC). */
  settlementDecimals?: number;
}

/** Everything a successful ClearingHouse.liquidate does, as {@link planLiquidation} predicts it. */
export interface LiquidationPlan extends LiquidationPayout {
  ok: true;
  /** equity of the margin before (the event's equityBefore). */
  equityBefore: bigint;
  /** From {@link closableLots}: the most lots this liquidation could close. */
  allowedLots: bigint;
  /** Whether allowedLots is the whole position (ClearingHouse.liquidationSize's `whole`). */
  whole: boolean;
  /** Lots closed. */
  lots: bigint;
  /** Size closed, signed like the position (the event's closedSize). */
  closedSize: bigint;
  /** notionalOfLots(lots, price): the base of the penalty (and of the rate limit). */
  closedNotional: bigint;
  /** PnL realized by the close at the oracle price (MarginMath.applyTrade). */
  realizedPnl: bigint;
  /** Funding settled: pendingFunding(size, index now, entry index), > 0 when the account pays. */
  fundingPaid: bigint;
  /** The position's size after (the event's newSize). */
  newSize: bigint;
  /** The position's open notional after (the closed share rounds toward −∞, see applyTrade). */
  newOpenNotional: bigint;
  /** The funding index stored with the rest of the position (0 when it is gone). */
  newEntryFundingIndex: bigint;
  /** Whether the position is gone (the market's bit is cleared from the account). */
  positionClosed: boolean;
  /** Change of the account's quote balance: realized − funding − keeperReward − insuranceFee (WAD). */
  quoteDelta: bigint;
  /** Change of the pool ledger: −(realized − funding) (WAD). */
  poolDelta: bigint;
  /** Change of the insurance fund: insuranceFee + the keeper reward's sub-unit remainder (WAD). */
  insuranceDelta: bigint;
  /** Settlement-token units transferred to the liquidator. */
  keeperTokens: bigint;
}

/**
 * ClearingHouse.liquidate(accountId, marketId, maxSize) in full, for a position of an account
 * whose margin is known at the liquidation's block: refusals in the contract's order (NoPosition,
 * AccountNotLiquidatable, ZeroSize, LiquidationLeavesDust), else the close at the oracle price, the
 * funding settled, the penalty split and every ledger movement of Vault.settleLiquidation.
 * The per-market rate limit (off unless governance sets a cap) is not modelled.
 */
export function planLiquidation(input: LiquidationInput): LiquidationPlan | LiquidationError {
  const params = input.params ?? DEFAULT_LIQUIDATION_PARAMS;
  const decimals = input.settlementDecimals ?? SETTLEMENT_DECIMALS;
  const { margin, position, price } = input;
  if (position.size === 0n) return { ok: false, error: "NoPosition" };
  const positionLots = position.size / SIZE_STEP;
  const { allowed, whole } = closableLots(margin, positionLots, price, params);
  if (!isLiquidatable(margin)) {
    return {
      ok: false,
      error: "AccountNotLiquidatable",
      equity: margin.equity,
      maintenanceMargin: margin.maintenanceMargin,
    };
  }
  const absLots = abs(positionLots);
  const close = liquidationCloseLots(allowed, absLots, input.maxSize, price, params.dustThreshold);
  if (!close.ok) return close;
  const { lots } = close;

  const sizeDelta = position.size > 0n ? -(lots * SIZE_STEP) : lots * SIZE_STEP;
  const fundingPaid = pendingFunding(position.size, input.fundingIndex, position.entryFundingIndex);
  const trade = applyTrade(position.size, position.openNotional, sizeDelta, price);
  const closedNotional = notionalOfLots(lots, price);
  const payout = liquidationPayout(closedNotional, margin.equity, params, input.callerIsOwnerOrOperator);
  const { paid, remainderToInsurance } = keeperPaidTokens(payout.keeperReward, decimals);
  const pnl = trade.realized - fundingPaid;
  return {
    ok: true,
    equityBefore: margin.equity,
    allowedLots: allowed,
    whole,
    lots,
    closedSize: -sizeDelta,
    closedNotional,
    realizedPnl: trade.realized,
    fundingPaid,
    newSize: trade.size,
    newOpenNotional: trade.openNotional,
    newEntryFundingIndex: trade.size === 0n ? 0n : input.fundingIndex,
    positionClosed: trade.size === 0n,
    ...payout,
    quoteDelta: pnl - payout.keeperReward - payout.insuranceFee,
    poolDelta: -pnl,
    insuranceDelta: payout.insuranceFee + remainderToInsurance,
    keeperTokens: paid,
  };
}

/* ---------------------------------------------------------------------------------------------
 * Collateral liquidation and bad debt — Vault.sol
 * ------------------------------------------------------------------------------------------- */

/** What Vault.liquidateCollateral does when it succeeds. */
export interface CollateralLiquidation {
  ok: true;
  /** Settlement-token units pulled from the liquidator. */
  repaid: bigint;
  /** Collateral token units sent to the liquidator. */
  seized: bigint;
  /** The part of the repayment above the debt (WAD, < one settlement unit), to the insurance fund. */
  insuranceExcess: bigint;
  /** The account's quote balance after (WAD, ≤ 0). */
  quoteAfter: bigint;
}

/** Errors of {@link collateralLiquidation}, named like the Vault's custom errors. */
export type CollateralLiquidationError =
  | { ok: false; error: "ZeroAmount" }
  | { ok: false; error: "NoDebt"; quoteBalance: bigint }
  | { ok: false; error: "NoCollateral" }
  | { ok: false; error: "NothingToSeize"; repayAmount: bigint };

/**
 * Vault.liquidateCollateral for a flat account (no positions) and a listed token:
 * debt = ceil(−quote) in settlement units; repaid = min(repayAmount, debt); seized =
 * floor(floor(repaid × (1 + discount)) × 10^dec / price); when that exceeds the balance, the whole
 * balance for at most ceil(ceil(ceil(balance × price / 10^dec) / (1 + discount)) in settlement
 * units); a repayment above the debt (sub-unit) goes to the insurance fund.
 *
 * @param quoteBalance The account's quote balance (WAD).
 * @param repayAmount The liquidator's offer, settlement-token units.
 * @param balance The account's balance of the token, token units.
 * @param tokenDecimals The token's decimals.
 * @param price The token's un-haircut oracle price (WAD).
 * @param discount LiquidationParams.collateralDiscount (WAD).
 * @param settlementDecimals The settlement token's decimals (USDC: 6).
 */
export function collateralLiquidation(
  quoteBalance: bigint,
  repayAmount: bigint,
  balance: bigint,
  tokenDecimals: number,
  price: bigint,
  discount: bigint,
  settlementDecimals: number = SETTLEMENT_DECIMALS,
): CollateralLiquidation | CollateralLiquidationError {
  if (repayAmount === 0n) return { ok: false, error: "ZeroAmount" };
  if (quoteBalance >= 0n) return { ok: false, error: "NoDebt", quoteBalance };
  if (balance === 0n) return { ok: false, error: "NoCollateral" };
  const scale = 10n ** BigInt(tokenDecimals);
  const debt = fromWadUp(-quoteBalance, settlementDecimals);
  let repaid = repayAmount < debt ? repayAmount : debt;
  let seized = mulDivDown(wMulDown(toWad(repaid, settlementDecimals), WAD + discount), scale, price);
  if (seized > balance) {
    seized = balance;
    const cost = fromWadUp(wDivUp(mulDivUp(balance, price, scale), WAD + discount), settlementDecimals);
    if (cost < repaid) repaid = cost;
  }
  if (seized === 0n) return { ok: false, error: "NothingToSeize", repayAmount };
  let quoteAfter = quoteBalance + toWad(repaid, settlementDecimals);
  let insuranceExcess = 0n;
  if (quoteAfter > 0n) {
    insuranceExcess = quoteAfter;
    quoteAfter = 0n;
  }
  return { ok: true, repaid, seized, insuranceExcess, quoteAfter };
}

/** What Vault.settleBadDebt does when it succeeds (WAD). */
export interface BadDebtSettlement {
  ok: true;
  /** Un-haircut collateral value before (quote + Σ token values), < 0. */
  value: bigint;
  /** −quoteBalance: the debt written off (event BadDebtSettled.debt). */
  debt: bigint;
  /** −value (event BadDebtSettled.deficit). */
  deficit: bigint;
  /** min(debt, insurance fund): taken from the insurance fund. */
  covered: bigint;
  /** debt − covered: taken from the pool ledger (lowers the pool's share price). */
  socialized: bigint;
}

/**
 * Vault.settleBadDebt for a flat account: refused with NoBadDebt(value) unless the un-haircut value
 * quote + Σ token values is negative; else the whole debt (−quote, not the deficit) is written off,
 * the insurance fund first, the pool ledger for the rest. The token balances themselves move to the
 * insurance fund's holdings (not valued here).
 *
 * @param quoteBalance The account's quote balance (WAD).
 * @param tokenValuesRaw Un-haircut USD value (WAD) of each token held (collateralValueRaw).
 * @param insuranceFund The insurance fund ledger (WAD).
 */
export function badDebtWaterfall(
  quoteBalance: bigint,
  tokenValuesRaw: readonly bigint[],
  insuranceFund: bigint,
): BadDebtSettlement | { ok: false; error: "NoBadDebt"; value: bigint } {
  const value = tokenValuesRaw.reduce((sum, v) => sum + v, quoteBalance);
  if (value >= 0n) return { ok: false, error: "NoBadDebt", value };
  const debt = -quoteBalance;
  const covered = debt < insuranceFund ? debt : insuranceFund;
  return {
    ok: true,
    value,
    debt,
    deficit: -value,
    covered,
    socialized: debt - covered,
  };
}
