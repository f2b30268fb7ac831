/**
 * The liquidation keeper (DESIGN §10): one implementation, run by `npx hardhat keeper` and
 * in-process by the simulator and the tests.
 *
 * Each tick: discover accounts from the Vault's AccountCreated events (back-fill in chunks from
 * `startBlock`, then new blocks), keep this shard's share (account id mod n), scan their health
 * through MarginLens.candidatesMany in batches (a batch that reverts, e.g. on a stale feed, is split
 * to isolate the accounts concerned), rank the candidates by shortfall, and act: `liquidate` the
 * largest position a call may close, `liquidateCollateral` a flat account in debt, `settleBadDebt`.
 * Every action is simulated with a static call first and, unless configured otherwise, sent only
 * when its reward beats its gas cost at the current fee data by `minProfitUsd`.
 */
import type { Provider, Signer } from "ethers";
import type { Logger } from "pino";
import {
  IERC20Metadata__factory,
  IERC20__factory,
  IPriceOracle__factory,
  type ClearingHouse,
  type IERC20,
  type IMarginLens,
  type MarginLens,
  type Vault,
} from "../../typechain-types";
import { liquidationPayout, toLiquidationParams, type LiquidationParams } from "../math/liquidation";
import { KeeperMetrics } from "./metrics";
import { DEFAULT_RETRY, isRevert, isTransient, sleep, withRetry, type RetryOptions } from "./retry";
import { NotSentError, TxSender } from "./sender";

const WAD = 10n ** 18n;
const MAX_UINT256 = (1n << 256n) - 1n;

/** MarginLens.Candidate.action */
export const ACTION = { liquidate: 1n, liquidateCollateral: 2n, settleBadDebt: 3n } as const;
const ACTION_NAME: Record<string, string> = { "1": "liquidate", "2": "liquidateCollateral", "3": "settleBadDebt" };

export interface KeeperContracts {
  vault: Vault;
  clearingHouse: ClearingHouse;
  lens: MarginLens;
}

export interface KeeperOptions {
  /** First block of the account back-fill (the Vault's deployment block is enough). */
  startBlock: number;
  /** Blocks per eth_getLogs request during the back-fill. */
  chunkSize: number;
  /** Accounts per MarginLens call. */
  batchSize: number;
  /** Milliseconds between ticks when no new block arrives. */
  pollIntervalMs: number;
  /** This keeper's shard: it handles accounts with id % count == index. */
  shard: { index: number; count: number };
  /** Send only actions whose reward exceeds their gas cost by this much (USD, WAD). */
  minProfitUsd: bigint;
  /** false: act on every due account, profitable or not. */
  profitableOnly: boolean;
  /** Repay debts with liquidateCollateral (needs settlement tokens). */
  liquidateCollateral: boolean;
  /** Settle bad debt (costs gas, earns nothing). */
  settleBadDebt: boolean;
  maxInFlight: number;
  /** Candidates handled at once in a tick (1: one after the other in rank order, deterministic). */
  actConcurrency: number;
  /** Cap on maxFeePerGas, wei. */
  maxFeePerGas: bigint;
  replaceAfterMs: number;
  retry: RetryOptions;
  /** Where new-block events come from (e.g. a WebSocketProvider: a subscription); default the
   *  signer's provider (over HTTP, ethers polls). Either way the loop also polls `pollIntervalMs`. */
  blockEvents?: Provider;
  /** USD price (WAD) of the chain's gas token; default: the price of market 1's oracle (ETH). */
  nativeUsdPrice?: () => Promise<bigint>;
  /**
   * What one unit of gas will cost this keeper (wei), for the profit check: e.g. a fixed bid of base
   * fee + priority fee. Default: the node's fee data, capped at `maxFeePerGas`.
   */
  gasPriceWei?: () => Promise<bigint>;
}

export const DEFAULT_KEEPER_OPTIONS: KeeperOptions = {
  startBlock: 0,
  chunkSize: 2_000,
  batchSize: 500,
  pollIntervalMs: 1_000,
  shard: { index: 0, count: 1 },
  minProfitUsd: 0n,
  profitableOnly: true,
  liquidateCollateral: true,
  settleBadDebt: true,
  maxInFlight: 16,
  actConcurrency: 16,
  maxFeePerGas: 500n * 10n ** 9n,
  replaceAfterMs: 30_000,
  retry: DEFAULT_RETRY,
};

/** What one tick saw and did. */
export interface TickReport {
  block: number;
  tracked: number;
  candidates: number;
  sent: number;
  succeeded: number;
  failed: number;
  skipped: number;
  rewardUsd: bigint;
}

interface Outcome {
  kind: "sent" | "skipped";
  ok?: boolean;
  rewardUsd?: bigint;
}

/** Parses "i/n" into a shard (0 ≤ i < n). */
export function parseShard(text: string): { index: number; count: number } {
  const match = /^(\d+)\/(\d+)$/.exec(text.trim());
  const index = match ? Number(match[1]) : NaN;
  const count = match ? Number(match[2]) : NaN;
  if (!match || count < 1 || index >= count) {
    throw new Error(`--shard must be "i/n" with 0 ≤ i < n (e.g. 0/2 and 1/2 for two keepers), got "${text}"`);
  }
  return { index, count };
}

export class Keeper {
  readonly options: KeeperOptions;
  readonly metrics: KeeperMetrics;
  private readonly sender: TxSender;
  private readonly provider: Provider;
  private readonly accounts = new Set<bigint>();
  private readonly busy = new Set<bigint>();
  private nextBlock: number;
  private lastBlock = -1;
  private stopping = false;
  private readonly abort = new AbortController();
  private loop: Promise<void> | undefined;
  private settlement: IERC20 | undefined;
  private approval: Promise<void> | undefined;
  private address = "";

  constructor(
    private readonly contracts: KeeperContracts,
    private readonly signer: Signer,
    options: Partial<KeeperOptions>,
    private readonly log: Logger,
    metrics?: KeeperMetrics,
  ) {
    this.options = { ...DEFAULT_KEEPER_OPTIONS, ...options };
    if (!signer.provider) throw new Error("the keeper's signer must be connected to a provider");
    this.provider = signer.provider;
    this.metrics = metrics ?? new KeeperMetrics();
    this.nextBlock = this.options.startBlock;
    this.sender = new TxSender(
      signer,
      this.provider,
      {
        maxInFlight: this.options.maxInFlight,
        maxFeePerGas: this.options.maxFeePerGas,
        replaceAfterMs: this.options.replaceAfterMs,
        pollMs: Math.min(this.options.pollIntervalMs, 500),
        // no abort signal: transactions in flight are followed to the end, through RPC hiccups too
        retry: { ...this.retry(), signal: undefined },
      },
      log,
    );
  }

  /** Account ids this keeper watches (its shard), in id order. */
  tracked(): bigint[] {
    return [...this.accounts].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  }

  /** Runs ticks until `stop()`. RPC failures are logged and retried; the loop never throws. */
  start(): Promise<void> {
    this.loop ??= this.run();
    return this.loop;
  }

  /** Stops after the current tick and waits for every transaction in flight. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.sender.close(); // nothing new is broadcast; what is in flight is waited for
    this.abort.abort();
    await this.loop;
    await this.sender.drain();
  }

  private async run(): Promise<void> {
    let wake: (() => void) | undefined;
    const onBlock = () => wake?.();
    // a new block wakes the loop early (a subscription over WebSocket, polling over HTTP); a
    // provider without block events leaves the loop on its poll interval
    const subscribed = await Promise.resolve()
      .then(() => (this.options.blockEvents ?? this.provider).on("block", onBlock))
      .then(() => true)
      .catch(() => false);
    let failures = 0;
    while (!this.stopping) {
      try {
        await this.tick();
        failures = 0;
      } catch (error) {
        failures++;
        const delay = Math.min(this.options.retry.baseDelayMs * 2 ** failures, this.options.retry.maxDelayMs);
        this.log.error({ err: String(error), retryInMs: delay }, "tick failed; the keeper keeps going");
        await sleep(delay, this.abort.signal);
        continue;
      }
      await new Promise<void>((resolve) => {
        wake = resolve;
        void sleep(this.options.pollIntervalMs, this.abort.signal).then(resolve);
      });
      wake = undefined;
    }
    if (subscribed) {
      await Promise.resolve((this.options.blockEvents ?? this.provider).off("block", onBlock)).catch(() => undefined);
    }
  }

  /** One pass: discover, scan, act; waits for the transactions it sent. */
  async tick(): Promise<TickReport> {
    if (!this.address) this.address = await this.signer.getAddress();
    this.paramsCache = undefined; // governance may have changed them
    this.tickPrices = undefined;
    const block = await this.discover();
    const started = process.hrtime.bigint();
    const candidates = await this.scan(this.tracked());
    this.metrics.scanDuration.observe(Number(process.hrtime.bigint() - started) / 1e9);
    const report: TickReport = {
      block,
      tracked: this.accounts.size,
      candidates: candidates.length,
      sent: 0,
      succeeded: 0,
      failed: 0,
      skipped: 0,
      rewardUsd: 0n,
    };
    const outcomes = await mapPool(candidates, Math.max(1, this.options.actConcurrency), (c) => this.act(c));
    for (const o of outcomes) {
      if (o.kind === "skipped") report.skipped++;
      else {
        report.sent++;
        if (o.ok) report.succeeded++;
        else report.failed++;
        report.rewardUsd += o.rewardUsd ?? 0n;
      }
    }
    return report;
  }

  /* DISCOVERY */

  /** Reads AccountCreated logs from `nextBlock` to the head in chunks; returns the head. */
  private async discover(): Promise<number> {
    const head = await withRetry(() => this.provider.getBlockNumber(), this.retry());
    if (head !== this.lastBlock) this.metrics.lastBlockSeen.set(head);
    this.lastBlock = head;
    const { index, count } = this.options.shard;
    const filter = this.contracts.vault.filters.AccountCreated();
    while (this.nextBlock <= head && !this.stopping) {
      const to = Math.min(this.nextBlock + this.options.chunkSize - 1, head);
      const from = this.nextBlock;
      const events = await withRetry(() => this.contracts.vault.queryFilter(filter, from, to), this.retry());
      for (const event of events) {
        const id = event.args.accountId;
        if (id % BigInt(count) === BigInt(index)) this.accounts.add(id);
      }
      this.nextBlock = to + 1;
    }
    this.metrics.accountsTracked.set(this.accounts.size);
    return head;
  }

  /* SCAN */

  /** Candidates among `ids`, ranked: liquidations by shortfall (MM − equity), then the others. */
  async scan(ids: bigint[]): Promise<IMarginLens.CandidateStructOutput[]> {
    const found: IMarginLens.CandidateStructOutput[] = [];
    for (let i = 0; i < ids.length; i += this.options.batchSize) {
      found.push(...(await this.scanBatch(ids.slice(i, i + this.options.batchSize))));
    }
    for (const action of [ACTION.liquidate, ACTION.liquidateCollateral, ACTION.settleBadDebt]) {
      this.metrics.candidates.set(
        { action: ACTION_NAME[action.toString()] },
        found.filter((c) => c.action === action).length,
      );
    }
    const shortfall = (c: IMarginLens.CandidateStructOutput) =>
      c.action === ACTION.liquidate ? c.maintenanceMargin - c.equity : -1n;
    return found.sort((a, b) => {
      const d = shortfall(b) - shortfall(a);
      return d > 0n ? 1 : d < 0n ? -1 : a.accountId < b.accountId ? -1 : 1;
    });
  }

  /** One lens call; a batch that reverts is split in halves until the failing accounts are alone. */
  private async scanBatch(ids: bigint[]): Promise<IMarginLens.CandidateStructOutput[]> {
    if (ids.length === 0) return [];
    try {
      return [...(await withRetry(() => this.contracts.lens.candidatesMany(ids), this.retry()))];
    } catch (error) {
      // a revert (a stale feed) or a batch over the call's gas cap: split; only RPC faults propagate
      if (isTransient(error)) throw error;
      if (ids.length === 1) {
        this.metrics.skipped.inc({ reason: "scan_revert" });
        this.log.warn(
          { account: ids[0].toString(), err: shortError(error) },
          "account cannot be scanned (e.g. a stale feed); skipped",
        );
        return [];
      }
      const half = Math.ceil(ids.length / 2);
      return [...(await this.scanBatch(ids.slice(0, half))), ...(await this.scanBatch(ids.slice(half)))];
    }
  }

  /* ACTIONS */

  private async act(c: IMarginLens.CandidateStructOutput): Promise<Outcome> {
    const account = c.accountId;
    if (this.busy.has(account)) return { kind: "skipped" };
    this.busy.add(account);
    try {
      if (c.action === ACTION.liquidate) return await this.liquidate(c);
      if (c.action === ACTION.liquidateCollateral && this.options.liquidateCollateral) return await this.repay(c);
      if (c.action === ACTION.settleBadDebt && this.options.settleBadDebt) return await this.settle(c);
      return { kind: "skipped" };
    } catch (error) {
      // one bad account never stops the loop
      this.metrics.skipped.inc({ reason: "error" });
      this.log.error({ account: account.toString(), err: shortError(error) }, "action failed");
      return { kind: "skipped" };
    } finally {
      this.busy.delete(account);
    }
  }

  private async liquidate(c: IMarginLens.CandidateStructOutput): Promise<Outcome> {
    const { clearingHouse, lens } = this.contracts;
    const plan = await withRetry(() => lens.liquidationPlan(c.accountId), this.retry());
    const step = [...plan].filter((s) => s.maxCloseSize > 0n).sort((a, b) => (a.notional > b.notional ? -1 : 1))[0];
    if (!step) return this.skip("lost_race", c, "nothing to close any more");
    const size = step.size < 0n ? -step.size : step.size;
    const closed = (step.notional * step.maxCloseSize) / size;
    const params = await this.liquidationParams();
    const expected = liquidationPayout(closed, c.equity, params, false).keeperReward;
    const args = [c.accountId, step.marketId, step.maxCloseSize] as const;
    const label = { action: "liquidate", account: c.accountId.toString(), market: step.marketId.toString() };
    return this.simulateAndSend(
      "liquidate",
      label,
      expected,
      () => clearingHouse.liquidate.staticCall(...args),
      async () => clearingHouse.liquidate.populateTransaction(...args),
    );
  }

  private async repay(c: IMarginLens.CandidateStructOutput): Promise<Outcome> {
    const { clearingHouse } = this.contracts;
    const token = await this.settlementToken();
    const balance = await withRetry(() => token.balanceOf(this.address), this.retry());
    if (balance === 0n) return this.skip("no_funds", c, "the keeper holds no settlement tokens to repay with");
    await this.ensureApproval(token);
    const debtWad = -c.quoteBalance;
    const settlementDecimals = await this.settlementDecimals();
    const unit = 10n ** BigInt(18 - settlementDecimals);
    const debt = (debtWad + unit - 1n) / unit;
    const repay = debt < balance ? debt : balance;
    const params = await this.liquidationParams();
    const expected = (repay * unit * params.collateralDiscount) / WAD; // the discount's value
    const args = [c.accountId, c.token, repay] as const;
    const label = { action: "liquidateCollateral", account: c.accountId.toString(), token: c.token };
    return this.simulateAndSend(
      "liquidateCollateral",
      label,
      expected,
      () => clearingHouse.liquidateCollateral.staticCall(...args),
      () => clearingHouse.liquidateCollateral.populateTransaction(...args),
    );
  }

  private async settle(c: IMarginLens.CandidateStructOutput): Promise<Outcome> {
    const { clearingHouse } = this.contracts;
    const label = { action: "settleBadDebt", account: c.accountId.toString() };
    // no reward: bad debt is settled whatever it costs
    return this.simulateAndSend(
      "settleBadDebt",
      label,
      undefined,
      () => clearingHouse.settleBadDebt.staticCall(c.accountId),
      () => clearingHouse.settleBadDebt.populateTransaction(c.accountId),
    );
  }

  /**
   * Static call first (a revert here is a lost race: someone acted first, or the account recovered);
   * then the profit check against the gas cost at the current fee data; then the send.
   */
  private async simulateAndSend(
    kind: string,
    label: Record<string, string>,
    expectedRewardUsd: bigint | undefined,
    simulate: () => Promise<unknown>,
    populate: () => Promise<{ to: string; data: string }>,
  ): Promise<Outcome> {
    try {
      await withRetry(simulate, this.retry());
    } catch (error) {
      if (!isRevert(error)) throw error;
      this.metrics.skipped.inc({ reason: "lost_race" });
      this.log.info(
        { ...label, reason: shortError(error) },
        "simulation reverted: lost race or no longer due; skipped",
      );
      return { kind: "skipped" };
    }
    const tx = await populate();
    const gas = await withRetry(() => this.provider.estimateGas({ ...tx, from: this.address }), this.retry()).catch(
      (error: unknown) => {
        if (isRevert(error)) return undefined;
        throw error;
      },
    );
    if (gas === undefined) {
      this.metrics.skipped.inc({ reason: "lost_race" });
      return { kind: "skipped" };
    }
    if (this.options.profitableOnly && expectedRewardUsd !== undefined) {
      const costUsd = await this.gasCostUsd(gas);
      if (expectedRewardUsd < costUsd + this.options.minProfitUsd) {
        this.metrics.skipped.inc({ reason: "unprofitable" });
        this.log.info(
          { ...label, rewardUsd: expectedRewardUsd.toString(), gasCostUsd: costUsd.toString() },
          "unprofitable; skipped",
        );
        return { kind: "skipped" };
      }
    }
    this.metrics.sent.inc({ kind });
    try {
      const { receipt, hashes } = await this.sender.send({ ...tx, gasLimit: (gas * 12n) / 10n }, label);
      if (receipt.status !== 1) {
        this.metrics.skipped.inc({ reason: "lost_race" });
        this.log.warn({ ...label, tx: receipt.hash }, "transaction reverted: lost race; skipped");
        return { kind: "skipped" };
      }
      const reward = this.rewardFromReceipt(receipt.logs, expectedRewardUsd);
      this.metrics.succeeded.inc({ kind });
      if (reward > 0n) this.metrics.rewardsUsd.inc(Number(reward) / 1e18);
      this.log.info(
        {
          ...label,
          tx: receipt.hash,
          replaced: hashes.length - 1,
          block: receipt.blockNumber,
          rewardUsd: formatUsd(reward),
        },
        `${kind} succeeded`,
      );
      return { kind: "sent", ok: true, rewardUsd: reward };
    } catch (error) {
      if (error instanceof NotSentError) {
        this.metrics.skipped.inc({ reason: "stopping" });
        return { kind: "skipped" };
      }
      if (isRevert(error)) {
        // mined and reverted between the simulation and the block (a node that automines reports
        // it as a send error): another keeper was faster, or the account recovered
        this.metrics.skipped.inc({ reason: "lost_race" });
        this.log.warn({ ...label, reason: shortError(error) }, "transaction reverted: lost race; skipped");
        return { kind: "skipped" };
      }
      this.metrics.failed.inc({ kind });
      this.log.error({ ...label, err: shortError(error) }, "transaction failed");
      return { kind: "sent", ok: false };
    }
  }

  /** The keeper reward of a Liquidated event in the logs (WAD), else the expected figure. */
  private rewardFromReceipt(
    logs: readonly { topics: readonly string[]; data: string }[],
    expected: bigint | undefined,
  ) {
    const iface = this.contracts.clearingHouse.interface;
    for (const log of logs) {
      try {
        const parsed = iface.parseLog(log);
        if (parsed?.name === "Liquidated") return parsed.args.keeperReward as bigint;
      } catch {
        // a log of another contract
      }
    }
    return expected ?? 0n;
  }

  /* HELPERS */

  private skip(reason: string, c: IMarginLens.CandidateStructOutput, message: string): Outcome {
    this.metrics.skipped.inc({ reason });
    this.log.info({ account: c.accountId.toString(), reason }, message);
    return { kind: "skipped" };
  }

  private retry(): RetryOptions {
    return {
      ...this.options.retry,
      signal: this.abort.signal,
      onRetry: (error, attempt, delayMs) => {
        this.metrics.rpcRetries.inc();
        this.log.warn({ err: shortError(error), attempt, delayMs }, "RPC call failed; retrying");
      },
    };
  }

  private paramsCache: LiquidationParams | undefined;
  private async liquidationParams(): Promise<LiquidationParams> {
    if (!this.paramsCache) {
      const p = await withRetry(() => this.contracts.clearingHouse.liquidationParams(), this.retry());
      this.paramsCache = toLiquidationParams(p);
    }
    return this.paramsCache;
  }

  private decimalsCache: number | undefined;
  private async settlementDecimals(): Promise<number> {
    if (this.decimalsCache === undefined) {
      const token = IERC20Metadata__factory.connect(await (await this.settlementToken()).getAddress(), this.provider);
      this.decimalsCache = Number(await withRetry(() => token.decimals(), this.retry()));
    }
    return this.decimalsCache;
  }

  private async settlementToken(): Promise<IERC20> {
    if (!this.settlement) {
      this.address = await this.signer.getAddress();
      const address = await withRetry(() => this.contracts.vault.settlementToken(), this.retry());
      this.settlement = IERC20__factory.connect(address, this.signer);
    }
    return this.settlement;
  }

  /** Approves the Vault for the settlement token once; concurrent repayments share the approval. */
  private ensureApproval(token: IERC20): Promise<void> {
    this.approval ??= (async () => {
      const vault = await this.contracts.vault.getAddress();
      const allowance = await withRetry(() => token.allowance(this.address, vault), this.retry());
      if (allowance < MAX_UINT256 / 2n) {
        const tx = await token.approve.populateTransaction(vault, MAX_UINT256);
        await this.sender.send(tx, { action: "approve", spender: vault });
      }
    })().catch((error: unknown) => {
      this.approval = undefined; // try again next time
      throw error;
    });
    return this.approval;
  }

  /** Gas price (capped) and the gas token's USD price, read once per tick and shared by its actions. */
  private tickPrices: Promise<{ perGas: bigint; native: bigint }> | undefined;

  private async gasCostUsd(gas: bigint): Promise<bigint> {
    this.tickPrices ??= (async () => {
      const perGas = this.options.gasPriceWei
        ? await this.options.gasPriceWei()
        : await withRetry(() => this.provider.getFeeData(), this.retry()).then(
            (fee) => fee.maxFeePerGas ?? fee.gasPrice ?? 0n,
          );
      const native = await (this.options.nativeUsdPrice ?? (() => this.defaultNativePrice()))();
      return { perGas: perGas < this.options.maxFeePerGas ? perGas : this.options.maxFeePerGas, native };
    })().catch((error: unknown) => {
      this.tickPrices = undefined;
      throw error;
    });
    const { perGas, native } = await this.tickPrices;
    return (gas * perGas * native) / WAD;
  }

  private async defaultNativePrice(): Promise<bigint> {
    const params = await withRetry(() => this.contracts.clearingHouse.marketParams(1), this.retry());
    return withRetry(() => IPriceOracle__factory.connect(params.oracle, this.provider).price(), this.retry());
  }
}

/** `items.map(fn)` with at most `limit` calls running at once; results in input order. */
async function mapPool<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

function shortError(error: unknown): string {
  if (typeof error === "object" && error !== null) {
    const e = error as { shortMessage?: unknown; message?: unknown; revert?: { name?: unknown; args?: unknown } };
    if (e.revert && typeof e.revert.name === "string") return `${e.revert.name}(${String(e.revert.args)})`;
    if (typeof e.shortMessage === "string") return e.shortMessage;
    if (typeof e.message === "string") return e.message.split("\n")[0];
  }
  return String(error);
}

function formatUsd(wad: bigint): string {
  const cents = wad / 10n ** 16n;
  return `${cents / 100n}.${(cents % 100n).toString().padStart(2, "0")}`;
}
