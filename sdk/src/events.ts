/**
 * Typed ClearingHouse events: decoders, live subscriptions and chunked back-fills of
 * `PositionChanged` and `Liquidated`. Everything here takes the typed ClearingHouse contract, so it
 * works with a CrossmarginClient's `clearingHouse` or any other connection to it.
 */
import type { BigNumberish, Log, Provider } from "ethers";
import { ClearingHouse__factory, type ClearingHouse } from "../../typechain-types";
import type { LiquidatedEvent, PositionChangedEvent } from "../../typechain-types/contracts/ClearingHouse";
import { CrossmarginError } from "./errors";

/** Blocks per `eth_getLogs` request in a back-fill (many providers cap a request at 10,000). */
export const LOG_CHUNK_BLOCKS = 10_000;

/** Where an event was emitted. */
export interface EventMeta {
  blockNumber: number;
  transactionHash: string;
  /** Index of the log in its block. */
  logIndex: number;
}

/** A trade changed a position (ClearingHouse `PositionChanged`); amounts WAD. */
export interface PositionChange extends EventMeta {
  accountId: bigint;
  marketId: bigint;
  /** Size traded, signed (> 0 bought). */
  sizeDelta: bigint;
  fillPrice: bigint;
  fee: bigint;
  /** PnL realized by the trade, excluding the fee and the funding paid. */
  realizedPnl: bigint;
  /** Funding settled by the trade (> 0 paid by the account). */
  fundingPaid: bigint;
  /** The position's size after the trade, signed. */
  newSize: bigint;
  newOpenNotional: bigint;
}

/** A liquidation closed part or all of a position (ClearingHouse `Liquidated`); amounts WAD. */
export interface Liquidation extends EventMeta {
  accountId: bigint;
  marketId: bigint;
  /** Who called `liquidate` and received the keeper reward. */
  liquidator: string;
  /** Size closed, signed like the position. */
  closedSize: bigint;
  /** The oracle price it closed at. */
  price: bigint;
  realizedPnl: bigint;
  fundingPaid: bigint;
  /** liquidationFee × closed notional. */
  penalty: bigint;
  /** Paid to the liquidator. */
  keeperReward: bigint;
  /** Credited to the insurance fund. */
  insuranceFee: bigint;
  /** Part of the penalty the account's equity could not pay. */
  shortfall: bigint;
  /** The account's equity before the liquidation. */
  equityBefore: bigint;
  /** The position's size afterwards, signed. */
  newSize: bigint;
}

/** A block range for a back-fill; `toBlock` defaults to the latest block. */
export interface BlockRange {
  fromBlock?: number;
  toBlock?: number | "latest";
}

/** Stops a subscription. */
export type Unsubscribe = () => Promise<void>;

const CLEARING_HOUSE = ClearingHouse__factory.createInterface();

function meta(log: Log): EventMeta {
  return { blockNumber: log.blockNumber, transactionHash: log.transactionHash, logIndex: log.index };
}

/**
 * Decodes a ClearingHouse `PositionChanged` log; `null` for any other log. The caller checks that
 * the log comes from the ClearingHouse.
 */
export function decodePositionChange(log: Log): PositionChange | null {
  const parsed = CLEARING_HOUSE.parseLog(log);
  if (!parsed || parsed.name !== "PositionChanged") return null;
  const a = parsed.args.toObject() as PositionChangedEvent.OutputObject;
  return {
    accountId: a.accountId,
    marketId: a.marketId,
    sizeDelta: a.sizeDelta,
    fillPrice: a.fillPrice,
    fee: a.fee,
    realizedPnl: a.realizedPnl,
    fundingPaid: a.fundingPaid,
    newSize: a.newSize,
    newOpenNotional: a.newOpenNotional,
    ...meta(log),
  };
}

/**
 * Decodes a ClearingHouse `Liquidated` log; `null` for any other log. The caller checks that the
 * log comes from the ClearingHouse.
 */
export function decodeLiquidation(log: Log): Liquidation | null {
  const parsed = CLEARING_HOUSE.parseLog(log);
  if (!parsed || parsed.name !== "Liquidated") return null;
  const a = parsed.args.toObject() as LiquidatedEvent.OutputObject;
  return {
    accountId: a.accountId,
    marketId: a.marketId,
    liquidator: a.liquidator,
    closedSize: a.closedSize,
    price: a.price,
    realizedPnl: a.realizedPnl,
    fundingPaid: a.fundingPaid,
    penalty: a.penalty,
    keeperReward: a.keeperReward,
    insuranceFee: a.insuranceFee,
    shortfall: a.shortfall,
    equityBefore: a.equityBefore,
    newSize: a.newSize,
    ...meta(log),
  };
}

/** The log an ethers contract listener received as its last argument (a ContractEventPayload). */
function payloadLog(args: readonly unknown[]): Log | null {
  const last = args[args.length - 1] as { log?: unknown; topics?: unknown } | undefined;
  if (last && typeof last === "object") {
    const log = (last.log ?? last) as Partial<Log>;
    if (Array.isArray(log.topics) && typeof log.data === "string") return log as Log;
  }
  return null;
}

/**
 * Calls `listener` for every `Liquidated` event from now on (of one account when `accountId` is
 * given). Resolves once the subscription is active, with the function that ends it.
 *
 * @param clearingHouse The ClearingHouse, connected to a provider that can subscribe or poll.
 * @param listener Receives each liquidation, decoded.
 * @param filter `accountId`: only this account's liquidations.
 */
export async function onLiquidation(
  clearingHouse: ClearingHouse,
  listener: (liquidation: Liquidation) => void,
  filter: { accountId?: BigNumberish } = {},
): Promise<Unsubscribe> {
  const topics = clearingHouse.filters.Liquidated(filter.accountId ?? undefined);
  const handler = (...args: unknown[]) => {
    const log = payloadLog(args);
    const decoded = log && decodeLiquidation(log);
    if (decoded) listener(decoded);
  };
  await clearingHouse.on(topics, handler);
  return async () => {
    await clearingHouse.off(topics, handler);
  };
}

/**
 * Calls `listener` for every `PositionChanged` event from now on, of one account and/or one market
 * when given. Resolves once the subscription is active, with the function that ends it.
 *
 * @param clearingHouse The ClearingHouse, connected to a provider that can subscribe or poll.
 * @param listener Receives each trade, decoded.
 * @param filter `accountId`, `marketId`: only trades of this account / in this market.
 */
export async function onPositionChanged(
  clearingHouse: ClearingHouse,
  listener: (change: PositionChange) => void,
  filter: { accountId?: BigNumberish; marketId?: BigNumberish } = {},
): Promise<Unsubscribe> {
  const topics = clearingHouse.filters.PositionChanged(filter.accountId ?? undefined, filter.marketId ?? undefined);
  const handler = (...args: unknown[]) => {
    const log = payloadLog(args);
    const decoded = log && decodePositionChange(log);
    if (decoded) listener(decoded);
  };
  await clearingHouse.on(topics, handler);
  return async () => {
    await clearingHouse.off(topics, handler);
  };
}

/** The provider behind a contract, or an error saying how to give it one. */
export function providerOf(contract: { runner: { provider: Provider | null } | null }): Provider {
  const provider = contract.runner?.provider;
  if (!provider) {
    throw new CrossmarginError(
      "the contract's runner has no provider: connect the client with a Provider, or a Signer connected to one",
    );
  }
  return provider;
}

/**
 * Runs `query` over `[fromBlock, toBlock]` in consecutive ranges of at most `chunk` blocks and
 * concatenates the results in block order. With `openEnded`, the last range ends at "latest"
 * instead of `toBlock`: a block number read a moment ago may already be behind the node (ethers
 * caches it briefly), and an open end still includes what was mined since.
 *
 * @param fromBlock First block (inclusive).
 * @param toBlock Last block (inclusive), or the latest known when `openEnded`.
 * @param query One `eth_getLogs`-sized request.
 * @param chunk Blocks per request.
 * @param openEnded End the last range at "latest".
 */
export async function queryInChunks<T>(
  fromBlock: number,
  toBlock: number,
  query: (from: number, to: number | "latest") => Promise<readonly T[]>,
  chunk: number = LOG_CHUNK_BLOCKS,
  openEnded = false,
): Promise<T[]> {
  if (!Number.isSafeInteger(chunk) || chunk < 1)
    throw new CrossmarginError(`chunk must be a positive integer, got ${chunk}`);
  if (fromBlock < 0) throw new CrossmarginError(`fromBlock must be 0 or more, got ${fromBlock}`);
  const out: T[] = [];
  for (let from = fromBlock; from <= toBlock; from += chunk) {
    const to = Math.min(from + chunk - 1, toBlock);
    out.push(...(await query(from, openEnded && to === toBlock ? "latest" : to)));
  }
  return out;
}

async function resolveRange(clearingHouse: ClearingHouse, range: BlockRange): Promise<[number, number, boolean]> {
  const openEnded = range.toBlock === undefined || range.toBlock === "latest";
  const toBlock = openEnded ? await providerOf(clearingHouse).getBlockNumber() : (range.toBlock as number);
  return [range.fromBlock ?? 0, toBlock, openEnded];
}

const byPosition = (a: EventMeta, b: EventMeta) => a.blockNumber - b.blockNumber || a.logIndex - b.logIndex;

/**
 * Past liquidations in a block range (of one account when `accountId` is given), oldest first.
 * Queries the logs in ranges of {@link LOG_CHUNK_BLOCKS} blocks.
 *
 * @param clearingHouse The ClearingHouse.
 * @param options The block range (from block 0 to the latest by default) and an optional account.
 */
export async function liquidations(
  clearingHouse: ClearingHouse,
  options: BlockRange & { accountId?: BigNumberish } = {},
): Promise<Liquidation[]> {
  const [fromBlock, toBlock, openEnded] = await resolveRange(clearingHouse, options);
  const filter = clearingHouse.filters.Liquidated(options.accountId ?? undefined);
  const query = (from: number, to: number | "latest") => clearingHouse.queryFilter(filter, from, to);
  const logs = await queryInChunks(fromBlock, toBlock, query, LOG_CHUNK_BLOCKS, openEnded);
  return logs
    .map(decodeLiquidation)
    .filter((e): e is Liquidation => e !== null)
    .sort(byPosition);
}

/**
 * An account's past trades in a block range, oldest first. Queries the logs in ranges of
 * {@link LOG_CHUNK_BLOCKS} blocks.
 *
 * @param clearingHouse The ClearingHouse.
 * @param accountId The account.
 * @param options The block range (from block 0 to the latest by default) and an optional market.
 */
export async function positionHistory(
  clearingHouse: ClearingHouse,
  accountId: BigNumberish,
  options: BlockRange & { marketId?: BigNumberish } = {},
): Promise<PositionChange[]> {
  const [fromBlock, toBlock, openEnded] = await resolveRange(clearingHouse, options);
  const filter = clearingHouse.filters.PositionChanged(accountId, options.marketId ?? undefined);
  const query = (from: number, to: number | "latest") => clearingHouse.queryFilter(filter, from, to);
  const logs = await queryInChunks(fromBlock, toBlock, query, LOG_CHUNK_BLOCKS, openEnded);
  return logs
    .map(decodePositionChange)
    .filter((e): e is PositionChange => e !== null)
    .sort(byPosition);
}
