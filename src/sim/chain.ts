/**
 * How the simulator talks to the chain: every block it causes gets a timestamp from the
 * simulator's own clock (evm_setNextBlockTimestamp before each transaction), so that funding,
 * staleness and circuit-breaker windows depend only on the scenario, never on the wall clock.
 * Trader transactions go out as eth_sendTransaction from impersonated addresses (no signing in
 * JavaScript); the keeper keeps its own ethers signer, wrapped so that its transactions are
 * clocked the same way. Views are read at the latest block, whose timestamp is clocked too.
 */
import {
  AbstractSigner,
  type Interface,
  type Provider,
  type Signer,
  type TransactionRequest,
  type TransactionResponse,
  type TypedDataDomain,
  type TypedDataField,
} from "ethers";

/** The EIP-1193-ish provider of a Hardhat network (in-process or over HTTP). */
export interface RawProvider {
  send(method: string, params?: unknown[]): Promise<unknown>;
}

export type SendResult = { ok: true } | { ok: false; reason: string };

const TX_GAS = 8_000_000;

export class SimChain {
  /** Timestamp of the next block. */
  time = 0;
  /** Transactions sent through `send` (traders, oracle updates, setup) and through clocked signers. */
  transactions = 0;
  /** Of which sent by clocked signers (the keepers). */
  signerTransactions = 0;

  constructor(
    readonly provider: RawProvider,
    private readonly interfaces: Interface[],
  ) {}

  /** Pins the next block's timestamp to the clock. */
  async pin(): Promise<void> {
    await this.provider.send("evm_setNextBlockTimestamp", [this.time]);
  }

  /** Moves the clock forward to `t` (never back). */
  advanceTo(t: number): void {
    if (t > this.time) this.time = t;
  }

  /**
   * Sends one transaction from an unlocked or impersonated address and mines it (automine), at
   * the clock's time. A revert is returned, not thrown, with the custom error's name.
   */
  async send(from: string, to: string, data: string): Promise<SendResult> {
    await this.pin();
    this.time += 1;
    this.transactions++;
    try {
      await this.provider.send("eth_sendTransaction", [{ from, to, data, gas: `0x${TX_GAS.toString(16)}` }]);
      return { ok: true };
    } catch (error) {
      return { ok: false, reason: this.decodeRevert(error) };
    }
  }

  /** Makes `address` usable as a sender with `ether` of gas money. */
  async fund(address: string, ether = 1_000n): Promise<void> {
    await this.provider.send("hardhat_impersonateAccount", [address]);
    await this.provider.send("hardhat_setBalance", [address, `0x${(ether * 10n ** 18n).toString(16)}`]);
  }

  async blockNumber(): Promise<number> {
    return Number(await this.provider.send("eth_blockNumber", []));
  }

  async latestTimestamp(): Promise<number> {
    const block = (await this.provider.send("eth_getBlockByNumber", ["latest", false])) as { timestamp: string };
    return Number(block.timestamp);
  }

  /** The name of the custom error in a failed send, else the node's short message. */
  decodeRevert(error: unknown): string {
    const data = findRevertData(error);
    if (data && data.length >= 10) {
      for (const iface of this.interfaces) {
        try {
          const parsed = iface.parseError(data);
          if (parsed) return parsed.name;
        } catch {
          // not this contract's error
        }
      }
      if (data.startsWith("0x08c379a0")) return "Error(string)";
      if (data.startsWith("0x4e487b71")) return "Panic";
      return `unknown error ${data.slice(0, 10)}`;
    }
    const message = error instanceof Error ? error.message : String(error);
    return message.split("\n")[0].slice(0, 120);
  }
}

function findRevertData(error: unknown, depth = 0): string | undefined {
  if (depth > 4 || typeof error !== "object" || error === null) return undefined;
  const e = error as { data?: unknown; error?: unknown; cause?: unknown };
  if (typeof e.data === "string" && e.data.startsWith("0x")) return e.data;
  if (typeof e.data === "object" && e.data !== null) {
    const inner = (e.data as { data?: unknown }).data;
    if (typeof inner === "string" && inner.startsWith("0x")) return inner;
  }
  return findRevertData(e.error, depth + 1) ?? findRevertData(e.cause, depth + 1);
}

/**
 * An ethers signer whose transactions are mined at the simulator's clock: the keeper class runs
 * unchanged on top of it.
 */
export class ClockedSigner extends AbstractSigner {
  /** Hashes of the transactions sent since the owner last took them (`takeHashes`). */
  private hashes: string[] = [];

  constructor(
    private readonly inner: Signer,
    private readonly chain: SimChain,
  ) {
    super(inner.provider);
  }

  getAddress(): Promise<string> {
    return this.inner.getAddress();
  }

  connect(provider: Provider | null): Signer {
    return new ClockedSigner(this.inner.connect(provider), this.chain);
  }

  override async sendTransaction(tx: TransactionRequest): Promise<TransactionResponse> {
    await this.chain.pin();
    this.chain.time += 1;
    this.chain.transactions++;
    this.chain.signerTransactions++;
    const response = await this.inner.sendTransaction(tx);
    this.hashes.push(response.hash);
    return response;
  }

  /** The hashes of the transactions sent since the last call, in order. */
  takeHashes(): string[] {
    const taken = this.hashes;
    this.hashes = [];
    return taken;
  }

  signTransaction(tx: TransactionRequest): Promise<string> {
    return this.inner.signTransaction(tx);
  }

  signMessage(message: string | Uint8Array): Promise<string> {
    return this.inner.signMessage(message);
  }

  signTypedData(
    domain: TypedDataDomain,
    types: Record<string, TypedDataField[]>,
    value: Record<string, unknown>,
  ): Promise<string> {
    return this.inner.signTypedData(domain, types, value);
  }
}
