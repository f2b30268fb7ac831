/**
 * A reference model of the protocol for stateful tests: the whole state the contracts keep (accounts,
 * balances, positions, markets with funding and circuit breaker, ledgers, LP shares, wallets), and
 * every action as the contracts execute it, in their order of checks, valued with the TypeScript
 * mirror (src/math). An action either returns the next state or throws {@link ModelRevert} with the
 * custom error and arguments the chain must revert with. Tests run each action on the model and on
 * the chain and require the two states to be equal to the wei after every step.
 */
import * as mm from "../../src/math/margin";
import * as lq from "../../src/math/liquidation";
import { WAD, abs, fromWadDown, fromWadUp, mulDivDown, toWad, wMulCeil } from "../../src/math/fixedPoint";

export const SIZE_STEP = lq.SIZE_STEP;
export const SETTLEMENT_DECIMALS = 6;
/** Largest trade: int64 lots. */
export const MAX_TRADE_SIZE = (2n ** 63n - 1n) * lq.SIZE_STEP;
const PAUSE_DEPOSIT = 1;
const PAUSE_WITHDRAW = 2;
const PAUSE_TRADE = 4;
const MODE_ISOLATED = 1;
/** ERC-4626 virtual shares: LiquidityPool._decimalsOffset() = 6. */
const VIRTUAL_SHARES = 10n ** 6n;

/** Which contract's ABI names the error (the chain test decodes it with that contract's interface). */
export type ErrorSource = "vault" | "clearingHouse" | "pool" | "oracle" | "token";

/** The revert the chain must produce: contract, custom error name and its exact arguments. */
export class ModelRevert extends Error {
  constructor(
    readonly source: ErrorSource,
    readonly error: string,
    readonly args: readonly unknown[],
  ) {
    super(`${error}(${args.map(String).join(", ")})`);
  }
}

const revert = (source: ErrorSource, error: string, ...args: unknown[]): never => {
  throw new ModelRevert(source, error, args);
};

export interface FeedState {
  address: string;
  /** Latest answer in the feed's decimals. */
  answer: bigint;
  decimals: number;
  updatedAt: bigint;
  heartbeat: bigint;
}

export interface TokenState {
  address: string;
  symbol: string;
  decimals: number;
  /** Index into `feeds` of the token's price; -1 for the settlement token. */
  feed: number;
  haircut: bigint;
  cap: bigint;
  enabled: boolean;
  /** Bit in an account's token mask (listing order). */
  index: number;
  totalDeposits: bigint;
  /** Held by the insurance fund (token units; the settlement token's fund is `insurance`). */
  insurance: bigint;
}

export interface PositionState {
  size: bigint;
  openNotional: bigint;
  /** Funding index the position last settled at (kept after a trade closes it; 0 after a liquidation does). */
  fundingIndex: bigint;
}

export interface MarketModel {
  oracle: string;
  feed: number;
  group: number;
  skewScale: bigint;
  takerFee: bigint;
  maxFundingRatePerDay: bigint;
  maxLong: bigint;
  maxShort: bigint;
  maxPriceDeviation: bigint;
  tiers: mm.Tier[];
  fundingIndex: bigint;
  fundingRate: bigint;
  lastFundingTime: bigint;
  long: bigint;
  short: bigint;
  openNotionalSum: bigint;
  referencePrice: bigint;
  reduceOnlySince: bigint;
  rateLimitCapUsd: bigint;
  rateLimitWindow: bigint;
  windowStart: bigint;
  windowLiquidated: bigint;
}

export interface AccountModel {
  owner: string;
  mode: number;
  /** Settlement-token balance, WAD. */
  quote: bigint;
  /** Non-settlement balances by token address, token units. */
  balances: Record<string, bigint>;
  /** Positions by market id (entries with size 0 keep the funding index a trade settled at). */
  positions: Record<string, PositionState>;
  operators: string[];
}

export interface ModelState {
  /** Timestamp of the latest block. */
  time: bigint;
  feeds: FeedState[];
  /** Settlement token first, then the collateral in listing order. */
  tokens: TokenState[];
  markets: Record<string, MarketModel>;
  accounts: Record<string, AccountModel>;
  pool: bigint;
  insurance: bigint;
  fees: bigint;
  lp: { address: string; supply: bigint; shares: Record<string, bigint> };
  /** ERC-20 balances of every address the tests follow (including the Vault), by token address. */
  wallets: Record<string, Record<string, bigint>>;
  vault: string;
  liquidation: lq.LiquidationParams;
  breakerTimeout: bigint;
  maxPositions: bigint;
  groupOffsets: Record<string, bigint>;
  vaultPaused: number;
  clearingHousePaused: number;
}

/* ------------------------------------------------------------------------------------------------
 * Reads (no state change)
 * ---------------------------------------------------------------------------------------------- */

export const settlement = (s: ModelState): TokenState => s.tokens[0];
export const tokenOf = (s: ModelState, address: string): TokenState | undefined =>
  s.tokens.find((t) => t.address === address);
export const market = (s: ModelState, id: bigint): MarketModel | undefined => s.markets[id.toString()];
export const account = (s: ModelState, id: bigint): AccountModel | undefined => s.accounts[id.toString()];

/** OracleLib.read / ChainlinkOracle.price at the state's time: WAD price or the oracle's revert. */
export function priceOf(s: ModelState, feedIndex: number, at: bigint = s.time): bigint {
  const f = s.feeds[feedIndex];
  if (f.answer <= 0n) revert("oracle", "InvalidPrice", f.address, f.answer);
  if (f.updatedAt < at && at - f.updatedAt > f.heartbeat)
    revert("oracle", "StalePrice", f.address, f.updatedAt, f.heartbeat);
  return f.answer * 10n ** BigInt(18 - f.decimals);
}

/** Markets the account holds a position in, ascending (the Vault's market mask). */
export const openMarkets = (a: AccountModel): bigint[] =>
  Object.entries(a.positions)
    .filter(([, p]) => p.size !== 0n)
    .map(([id]) => BigInt(id))
    .sort((x, y) => (x < y ? -1 : 1));

/** Vault._collateralValue: Σ token values (haircut or not) + quote, token order (oracle reads in that order). */
export function collateralValue(s: ModelState, a: AccountModel, haircut: boolean, at: bigint = s.time): bigint {
  let total = a.quote;
  for (const t of s.tokens.slice(1)) {
    const balance = a.balances[t.address] ?? 0n;
    if (balance === 0n) continue;
    const h = { balance, decimals: t.decimals, price: priceOf(s, t.feed, at), haircut: t.haircut };
    total += haircut ? mm.collateralValueHaircut(h) : mm.collateralValueRaw(h);
  }
  return total;
}

/** The market's funding index accrued to `at` at `price` (ClearingHouse._indexNow). */
export const indexNow = (m: MarketModel, price: bigint, at: bigint): bigint =>
  m.fundingIndex + mm.fundingIndexDelta(m.fundingRate, price, at - m.lastFundingTime);

/** ClearingHouse.accountMargin at `at`: collateral first, then each market's feed in id order. */
export function margin(s: ModelState, accountId: bigint, at: bigint = s.time): mm.AccountMargin {
  const a = account(s, accountId);
  if (!a) return mm.accountMargin(0n, [], {});
  const collateral = collateralValue(s, a, true, at);
  const positions: mm.PositionInput[] = [];
  const offsets: Record<number, bigint> = {};
  for (const id of openMarkets(a)) {
    const m = s.markets[id.toString()];
    const p = a.positions[id.toString()];
    const price = priceOf(s, m.feed, at);
    positions.push({
      size: p.size,
      openNotional: p.openNotional,
      entryFundingIndex: p.fundingIndex,
      fundingIndex: indexNow(m, price, at),
      price,
      tiers: m.tiers,
      group: m.group,
    });
    if (m.group !== 0) offsets[m.group] = s.groupOffsets[m.group.toString()] ?? 0n;
  }
  return mm.accountMargin(collateral, positions, offsets);
}

/** ClearingHouse.tradersUnrealizedPnl at `at` (markets with no interest skipped). */
export function tradersUnrealizedPnl(s: ModelState, at: bigint = s.time): bigint {
  let total = 0n;
  for (const m of Object.values(s.markets)) {
    if (m.long === 0n && m.short === 0n && m.openNotionalSum === 0n) continue;
    // rounded up: the reserve kept for traders is never understated
    total += wMulCeil(m.long - m.short, priceOf(s, m.feed, at)) + m.openNotionalSum;
  }
  return total;
}

/** LiquidityPool.totalAssets: the pool ledger in token units, rounded down; 0 while negative. */
export const poolAssets = (s: ModelState): bigint => (s.pool > 0n ? fromWadDown(s.pool, SETTLEMENT_DECIMALS) : 0n);

/** LiquidityPool.withdrawable: assets − reserve for traders' unrealized profit (rounded up). */
export function poolWithdrawable(s: ModelState): bigint {
  const owed = tradersUnrealizedPnl(s);
  const reserve = owed > 0n ? fromWadUp(owed, SETTLEMENT_DECIMALS) : 0n;
  const assets = poolAssets(s);
  return assets > reserve ? assets - reserve : 0n;
}

const toShares = (s: ModelState, assets: bigint): bigint =>
  mulDivDown(assets, s.lp.supply + VIRTUAL_SHARES, poolAssets(s) + 1n);
const toAssets = (s: ModelState, shares: bigint): bigint =>
  mulDivDown(shares, poolAssets(s) + 1n, s.lp.supply + VIRTUAL_SHARES);

/* ------------------------------------------------------------------------------------------------
 * Actions. Each takes the state (not modified), returns the next one or throws ModelRevert.
 * `at` is the block timestamp the transaction is mined at.
 * ---------------------------------------------------------------------------------------------- */

const clone = (s: ModelState): ModelState => structuredClone(s);

function wallet(s: ModelState, token: string, holder: string): bigint {
  return s.wallets[token]?.[holder] ?? 0n;
}

function move(s: ModelState, token: string, from: string, to: string, amount: bigint, source: ErrorSource = "token") {
  const have = wallet(s, token, from);
  if (have < amount) revert(source, "ERC20InsufficientBalance", from, have, amount);
  s.wallets[token] ??= {};
  s.wallets[token][from] = have - amount;
  s.wallets[token][to] = wallet(s, token, to) + amount;
}

function existing(s: ModelState, accountId: bigint): AccountModel {
  return account(s, accountId) ?? revert("vault", "UnknownAccount", accountId);
}

/** Vault._checkAmount: neither zero nor above 2^128 − 1 token units. */
export const MAX_AMOUNT = 2n ** 128n - 1n;
function checkAmount(amount: bigint) {
  if (amount === 0n) revert("vault", "ZeroAmount");
  if (amount > MAX_AMOUNT) revert("vault", "AmountTooLarge", amount, MAX_AMOUNT);
}

const authorized = (a: AccountModel, caller: string) => caller === a.owner || a.operators.includes(caller);

function debitQuote(s: ModelState, accountId: bigint, a: AccountModel, amount: bigint) {
  const wad = toWad(amount, SETTLEMENT_DECIMALS);
  if (a.quote < 0n || a.quote < wad) {
    const available = a.quote > 0n ? fromWadDown(a.quote, SETTLEMENT_DECIMALS) : 0n;
    revert("vault", "InsufficientBalance", accountId, settlement(s).address, available, amount);
  }
  a.quote -= wad;
}

function debit(accountId: bigint, a: AccountModel, t: TokenState | undefined, token: string, amount: bigint) {
  if (!t) return revert("vault", "UnsupportedToken", token);
  const balance = a.balances[t.address] ?? 0n;
  if (balance < amount) revert("vault", "InsufficientBalance", accountId, t.address, balance, amount);
  a.balances[t.address] = balance - amount;
}

/** Vault._requireFreeCollateral. */
function requireFreeCollateral(s: ModelState, accountId: bigint, at: bigint) {
  const a = s.accounts[accountId.toString()];
  let free: bigint;
  if (openMarkets(a).length !== 0) free = margin(s, accountId, at).freeCollateral;
  else {
    if (a.quote >= 0n) return;
    free = collateralValue(s, a, true, at);
  }
  if (free < 0n) revert("vault", "InsufficientFreeCollateral", accountId, free);
}

export function deposit(
  state: ModelState,
  caller: string,
  accountId: bigint,
  token: string,
  amount: bigint,
  at: bigint,
) {
  const s = clone(state);
  s.time = at;
  if (s.vaultPaused & PAUSE_DEPOSIT) revert("vault", "ActionPaused", PAUSE_DEPOSIT);
  checkAmount(amount);
  const a = existing(s, accountId);
  const t = tokenOf(s, token);
  if (t && t.feed < 0) a.quote += toWad(amount, SETTLEMENT_DECIMALS);
  else {
    if (!t) return revert("vault", "UnsupportedToken", token);
    if (!t.enabled) revert("vault", "TokenDisabled", token);
    const totalAfter = t.totalDeposits + amount;
    if (totalAfter > t.cap) revert("vault", "DepositCapExceeded", token, t.cap, totalAfter);
    t.totalDeposits = totalAfter;
    a.balances[token] = (a.balances[token] ?? 0n) + amount;
  }
  move(s, token, caller, s.vault, amount);
  return s;
}

export function withdraw(
  state: ModelState,
  caller: string,
  accountId: bigint,
  token: string,
  amount: bigint,
  to: string,
  at: bigint,
) {
  const s = clone(state);
  s.time = at;
  if (s.vaultPaused & PAUSE_WITHDRAW) revert("vault", "ActionPaused", PAUSE_WITHDRAW);
  checkAmount(amount);
  const a = existing(s, accountId);
  if (a.owner !== caller) revert("vault", "NotAccountOwner", accountId, caller);
  const t = tokenOf(s, token);
  if (t && t.feed < 0) debitQuote(s, accountId, a, amount);
  else {
    debit(accountId, a, t, token, amount);
    t!.totalDeposits -= amount;
  }
  requireFreeCollateral(s, accountId, at);
  move(s, token, s.vault, to, amount);
  return s;
}

export function transferCollateral(
  state: ModelState,
  caller: string,
  fromId: bigint,
  toId: bigint,
  token: string,
  amount: bigint,
  at: bigint,
) {
  const s = clone(state);
  s.time = at;
  checkAmount(amount);
  if (fromId === toId) revert("vault", "SameAccount", fromId);
  const from = existing(s, fromId);
  const to = existing(s, toId);
  if (!authorized(from, caller)) revert("vault", "NotAccountOwnerOrOperator", fromId, caller);
  if (from.owner !== to.owner) revert("vault", "AccountOwnerMismatch", fromId, toId);
  const t = tokenOf(s, token);
  if (t && t.feed < 0) {
    debitQuote(s, fromId, from, amount);
    to.quote += toWad(amount, SETTLEMENT_DECIMALS);
  } else {
    debit(fromId, from, t, token, amount);
    to.balances[token] = (to.balances[token] ?? 0n) + amount;
  }
  requireFreeCollateral(s, fromId, at);
  return s;
}

/** What a successful trade did (the PositionChanged event's figures). */
export interface TradeResult {
  fill: bigint;
  fee: bigint;
  realized: bigint;
  funding: bigint;
  size: bigint;
  openNotional: bigint;
  increases: boolean;
  tripped: boolean;
}

const deviates = (price: bigint, ref: bigint, maxDeviation: bigint) => abs(price - ref) * WAD > maxDeviation * ref;

/** ClearingHouse._breaker: refuses, trips or re-anchors; returns whether it tripped. */
function breaker(s: ModelState, marketId: bigint, m: MarketModel, price: bigint, trade: boolean, increases: boolean) {
  if (trade && s.clearingHousePaused & PAUSE_TRADE) revert("clearingHouse", "ActionPaused", PAUSE_TRADE);
  let ref = m.referencePrice;
  let since = m.reduceOnlySince;
  if (since !== 0n && s.time >= since + s.breakerTimeout) [ref, since] = [0n, 0n];
  const moved = ref !== 0n && deviates(price, ref, m.maxPriceDeviation);
  let tripped = false;
  if (increases) {
    if (since !== 0n) revert("clearingHouse", "MarketReduceOnly", marketId, since + s.breakerTimeout);
    if (moved) revert("clearingHouse", "PriceDeviationExceeded", marketId, ref, price);
  } else if (moved && since === 0n) {
    since = s.time;
    tripped = true;
  }
  m.referencePrice = price;
  m.reduceOnlySince = since;
  return tripped;
}

/** ClearingHouse._updateMarket: open interest (capped when a side grows), Σ open notional, funding. */
function updateMarket(
  marketId: bigint,
  m: MarketModel,
  oldSize: bigint,
  newSize: bigint,
  oldOpenNotional: bigint,
  newOpenNotional: bigint,
  index: bigint,
  at: bigint,
) {
  const [longBefore, shortBefore] = [m.long, m.short];
  let [long, short] = [m.long, m.short];
  if (oldSize > 0n) long -= oldSize;
  else short -= -oldSize;
  if (newSize > 0n) {
    long += newSize;
    if (long > longBefore && long > m.maxLong)
      revert("clearingHouse", "OpenInterestCapExceeded", marketId, true, m.maxLong, long);
  } else {
    short += -newSize;
    if (short > shortBefore && short > m.maxShort) {
      revert("clearingHouse", "OpenInterestCapExceeded", marketId, false, m.maxShort, short);
    }
  }
  m.long = long;
  m.short = short;
  m.openNotionalSum += newOpenNotional - oldOpenNotional;
  m.fundingIndex = index;
  m.fundingRate = mm.fundingRate(long - short, m.skewScale, m.maxFundingRatePerDay);
  m.lastFundingTime = at;
}

const lowest = (ids: bigint[]) => ids[0];

/** ClearingHouse.openPosition (and closePosition with sizeDelta = −size). */
export function trade(
  state: ModelState,
  caller: string,
  accountId: bigint,
  marketId: bigint,
  sizeDelta: bigint,
  priceLimit: bigint,
  at: bigint,
): { state: ModelState; result: TradeResult } {
  const s = clone(state);
  s.time = at;
  if (sizeDelta === 0n) revert("clearingHouse", "ZeroSize");
  if (abs(sizeDelta) > MAX_TRADE_SIZE) revert("clearingHouse", "SizeTooLarge", sizeDelta, MAX_TRADE_SIZE);
  if (sizeDelta % SIZE_STEP !== 0n) revert("clearingHouse", "InvalidSizeStep", sizeDelta);
  const m = market(s, marketId) ?? revert("clearingHouse", "UnknownMarket", marketId);
  const price = priceOf(s, m.feed, at);
  const index = indexNow(m, price, at);
  const a = account(s, accountId);
  const pos = a?.positions[marketId.toString()] ?? { size: 0n, openNotional: 0n, fundingIndex: 0n };
  const oldSize = pos.size;
  const fill = mm.fillPrice(price, m.long - m.short, sizeDelta, m.skewScale);
  const fee = mm.takerFee(sizeDelta, fill, m.takerFee);
  const funding = mm.pendingFunding(oldSize, index, pos.fundingIndex);
  const applied = mm.applyTrade(oldSize, pos.openNotional, sizeDelta, fill);
  const quoteDelta = applied.realized - funding - fee;
  if (priceLimit !== 0n && (sizeDelta > 0n ? fill > priceLimit : fill < priceLimit)) {
    revert("clearingHouse", "PriceLimitExceeded", fill, priceLimit);
  }
  const increases = abs(applied.size) > abs(oldSize) || (applied.size !== 0n && oldSize > 0n !== applied.size > 0n);
  const before = increases ? undefined : margin(s, accountId, at);
  updateMarket(marketId, m, oldSize, applied.size, pos.openNotional, applied.openNotional, index, at);
  const tripped = breaker(s, marketId, m, price, true, increases);
  // settleTrade: existence and caller, then the quote moves against the pool
  if (!a) return revert("vault", "UnknownAccount", accountId);
  if (!authorized(a, caller)) revert("vault", "NotAccountOwnerOrOperator", accountId, caller);
  const maskBefore = openMarkets(a);
  a.positions[marketId.toString()] = { size: applied.size, openNotional: applied.openNotional, fundingIndex: index };
  s.pool -= quoteDelta;
  a.quote += quoteDelta;
  if (oldSize === 0n && maskBefore.length !== 0) {
    if (a.mode === MODE_ISOLATED) revert("clearingHouse", "IsolatedAccountMarketLimit", accountId, lowest(maskBefore));
    if (BigInt(maskBefore.length) >= s.maxPositions)
      revert("clearingHouse", "TooManyPositions", accountId, s.maxPositions);
  }
  const after = margin(s, accountId, at);
  if (increases) {
    if (after.freeCollateral < 0n) revert("clearingHouse", "InsufficientMargin", accountId, after.freeCollateral);
  } else if (after.liquidatable) {
    if (after.equity * before!.maintenanceMargin < before!.equity * after.maintenanceMargin) {
      revert("clearingHouse", "MarginRatioWorsened", accountId, after.equity, after.maintenanceMargin);
    }
  }
  return {
    state: s,
    result: {
      fill,
      fee,
      realized: applied.realized,
      funding,
      size: applied.size,
      openNotional: applied.openNotional,
      increases,
      tripped,
    },
  };
}

export function closePosition(
  state: ModelState,
  caller: string,
  accountId: bigint,
  marketId: bigint,
  at: bigint,
): { state: ModelState; result: TradeResult } {
  if (marketId > 71n) revert("clearingHouse", "UnknownMarket", marketId);
  const size = account(state, accountId)?.positions[marketId.toString()]?.size ?? 0n;
  if (size === 0n) revert("clearingHouse", "NoPosition", accountId, marketId);
  return trade(state, caller, accountId, marketId, -size, 0n, at);
}

/** What a successful liquidation did. */
export interface LiquidationResult {
  plan: lq.LiquidationPlan;
  before: mm.AccountMargin;
  tripped: boolean;
}

/** ClearingHouse.liquidate by `caller`. */
export function liquidate(
  state: ModelState,
  caller: string,
  accountId: bigint,
  marketId: bigint,
  maxSize: bigint,
  at: bigint,
): { state: ModelState; result: LiquidationResult } {
  const s = clone(state);
  s.time = at;
  const m = market(s, marketId) ?? revert("clearingHouse", "UnknownMarket", marketId);
  const price = priceOf(s, m.feed, at);
  const a = account(s, accountId);
  const pos = a?.positions[marketId.toString()];
  if (!a || !pos || pos.size === 0n) return revert("clearingHouse", "NoPosition", accountId, marketId);
  const before = margin(s, accountId, at);
  const index = indexNow(m, price, at);
  const plan = lq.planLiquidation({
    margin: before,
    position: { size: pos.size, openNotional: pos.openNotional, entryFundingIndex: pos.fundingIndex },
    price,
    fundingIndex: index,
    maxSize,
    params: s.liquidation,
    callerIsOwnerOrOperator: authorized(a, caller),
    settlementDecimals: SETTLEMENT_DECIMALS,
  });
  if (!plan.ok) {
    if (plan.error === "AccountNotLiquidatable") {
      revert("clearingHouse", "AccountNotLiquidatable", accountId, plan.equity, plan.maintenanceMargin);
    }
    if (plan.error === "LiquidationLeavesDust") {
      revert("clearingHouse", "LiquidationLeavesDust", accountId, marketId, plan.remainingNotional);
    }
    if (plan.error === "ZeroSize") revert("clearingHouse", "ZeroSize");
    revert("clearingHouse", "NoPosition", accountId, marketId);
  }
  const ok = plan as lq.LiquidationPlan;
  updateMarket(marketId, m, pos.size, ok.newSize, pos.openNotional, ok.newOpenNotional, index, at);
  const tripped = breaker(s, marketId, m, price, false, false);
  if (m.rateLimitCapUsd !== 0n) {
    let [start, used] = [m.windowStart, m.windowLiquidated];
    if (at >= start + m.rateLimitWindow) [start, used] = [at, 0n];
    const cap = m.rateLimitCapUsd * WAD;
    if (before.equity >= 0n && used + ok.closedNotional > cap) {
      revert("clearingHouse", "LiquidationRateLimited", marketId, cap, used, start + m.rateLimitWindow);
    }
    [m.windowStart, m.windowLiquidated] = [start, used + ok.closedNotional];
  }
  a.positions[marketId.toString()] =
    ok.newSize === 0n
      ? { size: 0n, openNotional: 0n, fundingIndex: 0n }
      : { size: ok.newSize, openNotional: ok.newOpenNotional, fundingIndex: index };
  s.pool += ok.poolDelta;
  s.insurance += ok.insuranceDelta;
  a.quote += ok.quoteDelta;
  if (ok.keeperTokens !== 0n) move(s, settlement(s).address, s.vault, caller, ok.keeperTokens);
  return { state: s, result: { plan: ok, before, tripped } };
}

export function liquidateCollateral(
  state: ModelState,
  caller: string,
  accountId: bigint,
  token: string,
  repayAmount: bigint,
  at: bigint,
) {
  const s = clone(state);
  s.time = at;
  if (repayAmount === 0n) revert("vault", "ZeroAmount");
  const a = existing(s, accountId);
  if (openMarkets(a).length !== 0) revert("vault", "AccountHasPositions", accountId);
  if (a.quote >= 0n) revert("vault", "NoDebt", accountId, a.quote);
  const t = tokenOf(s, token);
  if (!t || t.feed < 0) return revert("vault", "UnsupportedToken", token);
  const balance = a.balances[token] ?? 0n;
  if (balance === 0n) revert("vault", "NoCollateral", accountId, token);
  const price = priceOf(s, t.feed, at);
  const r = lq.collateralLiquidation(
    a.quote,
    repayAmount,
    balance,
    t.decimals,
    price,
    s.liquidation.collateralDiscount,
    SETTLEMENT_DECIMALS,
  );
  if (!r.ok) return revert("vault", "NothingToSeize", accountId, token, repayAmount);
  s.insurance += r.insuranceExcess;
  a.quote = r.quoteAfter;
  a.balances[token] = balance - r.seized;
  t.totalDeposits -= r.seized;
  move(s, settlement(s).address, caller, s.vault, r.repaid);
  move(s, token, s.vault, caller, r.seized);
  return { state: s, result: r };
}

export function settleBadDebt(state: ModelState, accountId: bigint, at: bigint) {
  const s = clone(state);
  s.time = at;
  const a = existing(s, accountId);
  if (openMarkets(a).length !== 0) revert("vault", "AccountHasPositions", accountId);
  const value = collateralValue(s, a, false, at);
  if (value >= 0n) revert("vault", "NoBadDebt", accountId, value);
  const debt = -a.quote;
  const covered = debt < s.insurance ? debt : s.insurance;
  s.insurance -= covered;
  s.pool -= debt - covered;
  a.quote = 0n;
  for (const t of s.tokens.slice(1)) {
    const amount = a.balances[t.address] ?? 0n;
    if (amount === 0n) continue;
    a.balances[t.address] = 0n;
    t.insurance += amount;
    t.totalDeposits -= amount;
  }
  return { state: s, result: { debt, covered, socialized: debt - covered, value } };
}

/** LiquidityPool.deposit(assets, caller) through the Vault's pool ledger. */
export function lpDeposit(state: ModelState, caller: string, assets: bigint, at: bigint) {
  const s = clone(state);
  s.time = at;
  const max = fromWadDown(2n ** 95n - 1n - s.pool, SETTLEMENT_DECIMALS); // room left in the int96 pool ledger
  if (assets > max) revert("pool", "ERC4626ExceededMaxDeposit", caller, assets, max);
  const shares = toShares(s, assets);
  const usdc = settlement(s).address;
  move(s, usdc, caller, s.lp.address, assets);
  if (assets === 0n) revert("vault", "ZeroAmount");
  s.pool += toWad(assets, SETTLEMENT_DECIMALS);
  move(s, usdc, s.lp.address, s.vault, assets);
  s.lp.supply += shares;
  s.lp.shares[caller] = (s.lp.shares[caller] ?? 0n) + shares;
  return { state: s, result: { shares } };
}

/** LiquidityPool.redeem(shares, caller, caller): limited by the reserve for traders' profit. */
export function lpRedeem(state: ModelState, caller: string, shares: bigint, at: bigint) {
  const s = clone(state);
  s.time = at;
  const held = s.lp.shares[caller] ?? 0n;
  const byReserve = toShares(s, poolWithdrawable(s));
  const max = held < byReserve ? held : byReserve;
  if (shares > max) revert("pool", "ERC4626ExceededMaxRedeem", caller, shares, max);
  const assets = toAssets(s, shares);
  s.lp.supply -= shares;
  s.lp.shares[caller] = held - shares;
  if (assets === 0n) revert("vault", "ZeroAmount");
  const wad = toWad(assets, SETTLEMENT_DECIMALS);
  const available = s.pool > 0n ? s.pool : 0n;
  if (available < wad) revert("vault", "InsufficientLedger", POOL_LEDGER, available, wad);
  s.pool = available - wad;
  move(s, settlement(s).address, s.vault, caller, assets);
  return { state: s, result: { assets } };
}

/** bytes32("pool"), the Vault's name of the pool ledger in InsufficientLedger. */
export const POOL_LEDGER = "0x706f6f6c00000000000000000000000000000000000000000000000000000000";

/** A feed update (MockAggregator.updateAnswer): a new round stamped `at`. */
export function setFeed(state: ModelState, feedIndex: number, answer: bigint, at: bigint) {
  const s = clone(state);
  s.time = at;
  s.feeds[feedIndex].answer = answer;
  s.feeds[feedIndex].updatedAt = at;
  return s;
}

/* ---- governance ---- */

export function setMarketParams(
  state: ModelState,
  marketId: bigint,
  changes: Partial<Pick<MarketModel, "takerFee" | "maxFundingRatePerDay" | "maxPriceDeviation">>,
  at: bigint,
) {
  const s = clone(state);
  s.time = at;
  const m = market(s, marketId) ?? revert("clearingHouse", "UnknownMarket", marketId);
  const price = priceOf(s, m.feed, at);
  m.fundingIndex = indexNow(m, price, at);
  m.lastFundingTime = at;
  Object.assign(m, changes);
  m.fundingRate = mm.fundingRate(m.long - m.short, m.skewScale, m.maxFundingRatePerDay);
  return s;
}

export function setGroupOffset(state: ModelState, group: number, offset: bigint, at: bigint) {
  const s = clone(state);
  s.time = at;
  s.groupOffsets[group.toString()] = offset;
  return s;
}

export function setLiquidationParams(state: ModelState, params: lq.LiquidationParams, at: bigint) {
  const s = clone(state);
  s.time = at;
  s.liquidation = { ...params };
  return s;
}

export function setHaircut(state: ModelState, token: string, haircut: bigint, at: bigint) {
  const s = clone(state);
  s.time = at;
  tokenOf(s, token)!.haircut = haircut;
  return s;
}

export function setMaxPositions(state: ModelState, maxPositions: bigint, at: bigint) {
  const s = clone(state);
  s.time = at;
  s.maxPositions = maxPositions;
  return s;
}

export function setRateLimit(state: ModelState, marketId: bigint, capUsd: bigint, window: bigint, at: bigint) {
  const s = clone(state);
  s.time = at;
  const m = market(s, marketId)!;
  [m.rateLimitCapUsd, m.rateLimitWindow, m.windowStart, m.windowLiquidated] = [capUsd, window, at, 0n];
  return s;
}

export function setPaused(state: ModelState, contract: "vault" | "clearingHouse", flags: number, at: bigint) {
  const s = clone(state);
  s.time = at;
  if (contract === "vault") s.vaultPaused = flags;
  else s.clearingHousePaused = flags;
  return s;
}

/** The oracle price (feed answer) at which the account's position in `marketId` crosses maintenance. */
export function liquidationAnswer(s: ModelState, accountId: bigint, marketId: bigint): bigint | null {
  const a = account(s, accountId);
  const m = market(s, marketId);
  const p = a?.positions[marketId.toString()];
  if (!a || !m || !p || p.size === 0n) return null;
  const feed = s.feeds[m.feed];
  const scale = 10n ** BigInt(18 - feed.decimals);
  const withPrice = (price: bigint): ModelState => {
    const t = clone(s);
    t.feeds[m.feed].answer = price / scale;
    t.feeds[m.feed].updatedAt = s.time;
    return t;
  };
  // bisection over the feed's answers: positions and collateral priced by the same feed move together
  const liquidatableAt = (answer: bigint) => margin(withPrice(answer * scale), accountId).liquidatable;
  const long = p.size > 0n;
  let inside = long ? 1n : 10n ** 20n;
  let outside = long ? 10n ** 20n : 1n;
  if (!liquidatableAt(inside) || liquidatableAt(outside)) return null;
  while (abs(outside - inside) > 1n) {
    const mid = (inside + outside) / 2n;
    if (liquidatableAt(mid)) inside = mid;
    else outside = mid;
  }
  return inside;
}
