/**
 * Sends the keeper's transactions: its own nonce counter (no `pending`-count race between
 * transactions in flight), at most `maxInFlight` at once, EIP-1559 fees capped at `maxFeePerGas`,
 * and a transaction not mined within `replaceAfterMs` replaced at the same nonce with fees raised
 * by 12.5 % (the minimum bump nodes accept), up to the cap.
 */
import type { Provider, Signer, TransactionReceipt, TransactionRequest } from "ethers";
import type { Logger } from "pino";
import { isRevert, isTransient, sleep, withRetry, type RetryOptions } from "./retry";

export interface SenderOptions {
  maxInFlight: number;
  /** Cap on maxFeePerGas, wei. */
  maxFeePerGas: bigint;
  replaceAfterMs: number;
  /** How often a pending transaction is polled, milliseconds. */
  pollMs: number;
  retry: RetryOptions;
}

export interface Sent {
  receipt: TransactionReceipt;
  /** Hashes sent for this nonce, the replacements included. */
  hashes: string[];
}

/** A transaction dropped before broadcast because the sender was closed (shutdown). */
export class NotSentError extends Error {
  constructor() {
    super("not sent: the keeper is stopping");
  }
}

const BUMP_NUM = 1125n;
const BUMP_DEN = 1000n;

export class TxSender {
  private nextNonce: number | undefined;
  private inFlight = 0;
  private readonly waiters: (() => void)[] = [];
  private readonly pending = new Set<Promise<unknown>>();

  constructor(
    private readonly signer: Signer,
    private readonly provider: Provider,
    private readonly options: SenderOptions,
    private readonly log: Logger,
  ) {}

  private closed = false;

  /** From now on, transactions not yet broadcast are dropped (NotSentError); those sent are still followed. */
  close(): void {
    this.closed = true;
  }

  /** Transactions sent and not yet settled. */
  get inFlightCount(): number {
    return this.inFlight;
  }

  /** Waits until every transaction in flight is mined or given up. */
  async drain(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }

  /** Sends `request` (to, data; gasLimit optional) and resolves with its receipt once mined. */
  send(request: TransactionRequest, label: Record<string, unknown>): Promise<Sent> {
    const task = this.run(request, label);
    this.pending.add(task);
    void task.finally(() => this.pending.delete(task)).catch(() => undefined);
    return task;
  }

  private async run(request: TransactionRequest, label: Record<string, unknown>): Promise<Sent> {
    await this.acquire();
    try {
      // Nonces are taken and broadcast one at a time, in order (a node that automines refuses a
      // nonce ahead of the next one); the waits for receipts run side by side.
      const hashes: string[] = [];
      let current!: TransactionRequest & { nonce: number; maxFeePerGas: bigint; maxPriorityFeePerGas: bigint };
      await this.serially(async () => {
        if (this.closed) throw new NotSentError();
        const nonce = await this.takeNonce();
        current = { ...request, nonce, type: 2, ...(await this.fees()) };
        hashes.push(await this.broadcast(current, label));
      });
      const nonce = current.nonce;
      let sentAt = Date.now();
      for (;;) {
        const receipt = await this.findReceipt(hashes);
        if (receipt) return { receipt, hashes };
        if (Date.now() - sentAt >= this.options.replaceAfterMs) {
          const bumped = this.bump(current);
          if (bumped) {
            current = bumped;
            sentAt = Date.now();
            this.log.warn(
              { ...label, nonce, maxFeePerGas: bumped.maxFeePerGas.toString() },
              "replacing stuck transaction",
            );
            try {
              hashes.push(await this.broadcast(current, label));
            } catch (error) {
              // the original was mined meanwhile ("nonce too low"), or the node refused the bump
              this.log.warn({ ...label, nonce, err: String(error) }, "replacement not accepted");
            }
          }
        }
        await sleep(this.options.pollMs);
      }
    } finally {
      this.release();
    }
  }

  private async broadcast(tx: TransactionRequest, label: Record<string, unknown>): Promise<string> {
    try {
      const response = await withRetry(() => this.signer.sendTransaction(tx), this.options.retry);
      this.log.info({ ...label, tx: response.hash, nonce: tx.nonce }, "transaction sent");
      return response.hash;
    } catch (error) {
      // A revert reported at send time (a node that automines) was mined: its nonce is spent.
      // Any other rejection leaves the nonce unused: count again from the chain.
      if (!isTransient(error) && !isRevert(error)) this.nextNonce = undefined;
      throw error;
    }
  }

  private async findReceipt(hashes: string[]): Promise<TransactionReceipt | null> {
    for (const hash of hashes) {
      const receipt = await withRetry(() => this.provider.getTransactionReceipt(hash), this.options.retry);
      if (receipt) return receipt;
    }
    return null;
  }

  private queue: Promise<unknown> = Promise.resolve();

  /** Runs `fn` after every earlier `serially` call has finished. */
  private serially<T>(fn: () => Promise<T>): Promise<T> {
    const result = this.queue.then(fn);
    this.queue = result.catch(() => undefined);
    return result;
  }

  private async takeNonce(): Promise<number> {
    if (this.nextNonce === undefined) {
      const address = await this.signer.getAddress();
      this.nextNonce = await withRetry(() => this.pendingCount(address), this.options.retry);
    }
    return this.nextNonce++;
  }

  /** The pending transaction count, asked of the node itself: ethers' JsonRpcProvider answers a
   *  repeated getTransactionCount from a short cache, which would hand out a spent nonce again. */
  private async pendingCount(address: string): Promise<number> {
    const raw = this.provider as Provider & { send?: (method: string, params: unknown[]) => Promise<unknown> };
    if (typeof raw.send === "function") return Number(await raw.send("eth_getTransactionCount", [address, "pending"]));
    return this.provider.getTransactionCount(address, "pending");
  }

  private async fees(): Promise<{ maxFeePerGas: bigint; maxPriorityFeePerGas: bigint }> {
    const data = await withRetry(() => this.provider.getFeeData(), this.options.retry);
    const cap = this.options.maxFeePerGas;
    const maxFeePerGas = data.maxFeePerGas !== null && data.maxFeePerGas < cap ? data.maxFeePerGas : cap;
    const tip = data.maxPriorityFeePerGas ?? 1_000_000_000n;
    return { maxFeePerGas, maxPriorityFeePerGas: tip < maxFeePerGas ? tip : maxFeePerGas };
  }

  private bump<T extends { maxFeePerGas: bigint; maxPriorityFeePerGas: bigint }>(tx: T): T | undefined {
    if (tx.maxFeePerGas >= this.options.maxFeePerGas) return undefined; // at the cap: keep waiting
    const raise = (fee: bigint) => (fee * BUMP_NUM + BUMP_DEN - 1n) / BUMP_DEN;
    const maxFeePerGas =
      raise(tx.maxFeePerGas) < this.options.maxFeePerGas ? raise(tx.maxFeePerGas) : this.options.maxFeePerGas;
    const tip = raise(tx.maxPriorityFeePerGas);
    return { ...tx, maxFeePerGas, maxPriorityFeePerGas: tip < maxFeePerGas ? tip : maxFeePerGas };
  }

  private async acquire(): Promise<void> {
    while (this.inFlight >= this.options.maxInFlight) {
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
    this.inFlight++;
  }

  private release(): void {
    this.inFlight--;
    this.waiters.shift()?.();
  }
}
