/**
 * Keeper benchmark (`npm run bench:keeper`): how fast the keeper scans accounts through
 * MarginLens.candidatesMany compared with one eth_call per account, in-process and over JSON-RPC
 * to a `hardhat node`; and how soon after a price crash its liquidations land on chain.
 */
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import { JsonRpcProvider, type Provider, type Signer } from "ethers";
import type { HardhatRuntimeEnvironment } from "hardhat/types";
import pino from "pino";
import { ClearingHouse__factory, MarginLens__factory, MockERC20__factory, Vault__factory } from "../../typechain-types";
import type { LocalProtocol } from "../deploy/local";
import { Keeper, type KeeperContracts } from "../keeper/keeper";

const WAD = 10n ** 18n;
const USDC = 10n ** 6n;
const GWEI = 10n ** 9n;
const MAX_UINT256 = (1n << 256n) - 1n;
/**
 * What an eth_call may use: Hardhat 2.29 runs the osaka hardfork, whose per-transaction gas cap
 * (EIP-7825, 2^24) is below the 60M block gas limit. A batch is timed only if one real eth_call of
 * it succeeds.
 */
export const CALL_GAS_CAP = 16_777_216n;

/** A provider that also takes raw JSON-RPC calls (HardhatEthersProvider, JsonRpcProvider). */
export interface RpcProvider extends Provider {
  send(method: string, params: unknown[]): Promise<unknown>;
}

export interface BenchAddresses {
  vault: string;
  clearingHouse: string;
  lens: string;
  usdc: string;
}

/** Where a benchmark runs: `provider` for the measured calls, `setup` for the setup transactions. */
export interface BenchChain {
  name: string;
  provider: RpcProvider;
  setup: RpcProvider;
  signer: Signer;
  addresses: BenchAddresses;
}

const started = Date.now();
/** A progress line with the time since the benchmark started. */
export function progress(message: string): void {
  const s = ((Date.now() - started) / 1000).toFixed(1).padStart(6);
  console.log(`[${s} s] ${message}`);
}

/** A small deterministic PRNG (mulberry32), so every run builds the same book. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

const hex = (value: bigint | number) => `0x${value.toString(16)}`;

interface QueuedTx {
  from: string;
  to: string;
  data: string;
  gas: bigint;
}

/**
 * Sends setup transactions without waiting for each one: explicit nonces per sender, automine
 * off, up to `chunk` transactions in the mempool, then blocks mined with evm_mine until the last
 * transaction of every sender is in. The base fee is pinned at 1 gwei before each block (full
 * blocks would otherwise raise it past the fee the transactions were sent with).
 */
class TxBatcher {
  private queue: QueuedTx[] = [];
  private readonly nonces = new Map<string, number>();

  constructor(
    private readonly provider: RpcProvider,
    private readonly chunk = 1_000,
  ) {}

  add(from: string, to: string, data: string, gas: bigint): void {
    this.queue.push({ from, to, data, gas });
  }

  private async nonce(from: string): Promise<number> {
    let next = this.nonces.get(from);
    if (next === undefined) {
      next = Number(await this.provider.send("eth_getTransactionCount", [from, "pending"]));
    }
    this.nonces.set(from, next + 1);
    return next;
  }

  /** Sends and mines everything queued; throws if a sender's last transaction reverted. */
  async flush(label: string): Promise<void> {
    const txs = this.queue;
    this.queue = [];
    await this.provider.send("evm_setAutomine", [false]);
    try {
      for (let i = 0; i < txs.length; i += this.chunk) {
        const chunk = txs.slice(i, i + this.chunk);
        const payloads: {
          from: string;
          to: string;
          data: string;
          gas: string;
          nonce: string;
          maxFeePerGas: string;
          maxPriorityFeePerGas: string;
        }[] = [];
        for (const tx of chunk) {
          payloads.push({
            from: tx.from,
            to: tx.to,
            data: tx.data,
            gas: hex(tx.gas),
            nonce: hex(await this.nonce(tx.from)),
            maxFeePerGas: hex(100n * GWEI),
            maxPriorityFeePerGas: hex(GWEI),
          });
        }
        const hashes = (await Promise.all(
          payloads.map((p) => this.provider.send("eth_sendTransaction", [p])),
        )) as string[];
        const last = new Map<string, string>();
        hashes.forEach((hash, j) => last.set(payloads[j].from, hash));
        for (let blocks = 0; ; blocks++) {
          if (blocks > 10_000) throw new Error(`${label}: transactions still pending after 10,000 blocks`);
          await this.provider.send("hardhat_setNextBlockBaseFeePerGas", [hex(GWEI)]);
          await this.provider.send("evm_mine", []);
          const receipts = (await Promise.all(
            [...last.values()].map((hash) => this.provider.send("eth_getTransactionReceipt", [hash])),
          )) as ({ status: string } | null)[];
          if (receipts.every((r) => r !== null)) {
            if (receipts.some((r) => r?.status !== "0x1")) throw new Error(`${label}: a transaction reverted`);
            break;
          }
        }
        progress(
          `  ${label}: ${Math.min(i + this.chunk, txs.length).toLocaleString("en-US")} / ${txs.length.toLocaleString("en-US")}`,
        );
      }
    } finally {
      await this.provider.send("evm_setAutomine", [true]);
    }
  }
}

export interface Book {
  ids: bigint[];
  withPositions: number;
  positions: number;
  setupSeconds: number;
}

/**
 * Creates `count` Cross accounts spread over eight owners, each funded with USDC; one in five
 * (every id ≡ 1 mod 5 in creation order) holds 1–3 positions (ETH, BTC, STETH; long or short,
 * notional up to ~$9,000 each against 10,000–20,000 USDC). The others hold 100–5,000 USDC.
 * Checked afterwards through MarginLens.healthMany: every account has equity, and exactly the
 * accounts meant to hold positions have a maintenance margin.
 */
export async function buildBook(chain: BenchChain, count: number): Promise<Book> {
  const t0 = Date.now();
  const { setup, addresses } = chain;
  const accounts = (await setup.send("eth_accounts", [])) as string[];
  const [deployer, ...rest] = accounts;
  const owners = rest.slice(0, 8);
  const vaultIface = Vault__factory.createInterface();
  const usdcIface = MockERC20__factory.createInterface();
  const chIface = ClearingHouse__factory.createInterface();
  const batcher = new TxBatcher(setup);
  const random = rng(42);

  progress(`${chain.name}: building ${count.toLocaleString("en-US")} accounts (20 % with 1-3 positions)`);
  for (const owner of owners) {
    batcher.add(deployer, addresses.usdc, usdcIface.encodeFunctionData("mint", [owner, 10n ** 12n * USDC]), 200_000n);
    batcher.add(
      owner,
      addresses.usdc,
      usdcIface.encodeFunctionData("approve", [addresses.vault, MAX_UINT256]),
      100_000n,
    );
  }
  await batcher.flush("mint and approve USDC");

  const vault = Vault__factory.connect(addresses.vault, setup);
  const firstBlock = Number(await setup.send("eth_blockNumber", [])) + 1;
  for (let i = 0; i < count; i++) {
    batcher.add(
      owners[i % owners.length],
      addresses.vault,
      vaultIface.encodeFunctionData("createAccount", [0]),
      150_000n,
    );
  }
  await batcher.flush("createAccount");
  const created = await vault.queryFilter(vault.filters.AccountCreated(), firstBlock, "latest");
  const owner = new Map<bigint, string>(created.map((e) => [e.args.accountId, e.args.owner]));
  const ids = [...owner.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  if (ids.length !== count) throw new Error(`${chain.name}: ${ids.length} accounts created, expected ${count}`);

  const holders = new Set<bigint>();
  for (const [i, id] of ids.entries()) {
    const holds = i % 5 === 0;
    if (holds) holders.add(id);
    const amount = holds ? BigInt(10_000 + Math.floor(random() * 10_000)) : BigInt(100 + Math.floor(random() * 4_900));
    batcher.add(
      owner.get(id) ?? deployer,
      addresses.vault,
      vaultIface.encodeFunctionData("deposit", [id, addresses.usdc, amount * USDC]),
      150_000n,
    );
  }
  await batcher.flush("deposit USDC");

  // sizes in hundredths of a unit: ETH / STETH 0.5-3, BTC 0.01-0.15
  const sizeRange: Record<number, [number, number]> = { 1: [50, 300], 2: [1, 15], 3: [50, 300] };
  let positions = 0;
  for (const id of holders) {
    const markets = [1, 2, 3].sort(() => random() - 0.5).slice(0, 1 + Math.floor(random() * 3));
    for (const market of markets) {
      const [lo, hi] = sizeRange[market];
      const hundredths = BigInt(lo + Math.floor(random() * (hi - lo + 1)));
      const size = ((random() < 0.5 ? -1n : 1n) * hundredths * WAD) / 100n;
      batcher.add(
        owner.get(id) ?? deployer,
        addresses.clearingHouse,
        chIface.encodeFunctionData("openPosition", [id, market, size, 0]),
        500_000n,
      );
      positions++;
    }
  }
  await batcher.flush("openPosition");

  const lens = MarginLens__factory.connect(addresses.lens, setup);
  let funded = 0;
  let margined = 0;
  for (let i = 0; i < ids.length; i += 250) {
    const health = await lens.healthMany(ids.slice(i, i + 250));
    for (const [j, h] of health.entries()) {
      if (h.equity > 0n) funded++;
      if (h.maintenanceMargin > 0n !== holders.has(ids[i + j])) {
        throw new Error(`${chain.name}: account #${ids[i + j]} does not hold the positions it should`);
      }
      if (h.maintenanceMargin > 0n) margined++;
    }
  }
  if (funded !== count) throw new Error(`${chain.name}: ${count - funded} accounts have no equity`);
  const setupSeconds = (Date.now() - t0) / 1000;
  progress(
    `${chain.name}: ${count} accounts, ${margined} holding ${positions} positions, checked (${setupSeconds.toFixed(0)} s)`,
  );
  return { ids, withPositions: margined, positions, setupSeconds };
}

/** Per chain and book size: the lens at its best and default batch, next to both naive scans (accounts/s). */
export interface ScanSummary {
  chain: string;
  accounts: number;
  bestBatch: number;
  best: number;
  defaultBatch: number;
  atDefault: number;
  sequential: number;
  promiseAll: number;
}

/** Most requests the naive Promise.all scan has in flight (a wave); 1,000 accounts go in one wave. */
export const NAIVE_WAVE = 1_000;

export interface ScanResult {
  chain: string;
  accounts: number;
  method: "lens" | "naive-sequential" | "naive-promise-all";
  /** Accounts per candidatesMany call (lens only). */
  batchSize?: number;
  /** eth_estimateGas of the first candidatesMany batch (lens only). */
  batchGas?: string;
  runsMs: number[];
  medianMs: number;
  accountsPerSecond: number;
  /** Why the configuration was not timed (e.g. over the eth_call gas cap). */
  skipped?: string;
}

async function timed(runs: number, label: string, fn: () => Promise<unknown>): Promise<number[]> {
  const out: number[] = [];
  for (let r = 0; r < runs; r++) {
    const t = process.hrtime.bigint();
    await fn();
    out.push(Number(process.hrtime.bigint() - t) / 1e6);
    if (out[r] > 2_000) progress(`  ${label}: run ${r + 1}/${runs} ${(out[r] / 1000).toFixed(2)} s`);
  }
  return out;
}

function result(base: Omit<ScanResult, "medianMs" | "accountsPerSecond">): ScanResult {
  const medianMs = base.runsMs.length ? median(base.runsMs) : NaN;
  return { ...base, medianMs, accountsPerSecond: base.runsMs.length ? (base.accounts / medianMs) * 1000 : NaN };
}

/**
 * Times, over the first `n` ids of the book for each n in `sizes`: Keeper.scan (batched
 * candidatesMany) at each batch size that fits the eth_call gas cap, and the naive keeper's one
 * `lens.health(id)` per account, awaited one by one and all at once (Promise.all). Medians of `runs`
 * runs after one warm-up (the naive warm-up covers 200 accounts).
 */
export async function benchScan(
  chain: BenchChain,
  ids: bigint[],
  sizes: number[],
  batchSizes: number[],
  defaultBatch: number,
  runs: number,
): Promise<ScanResult[]> {
  const { provider, signer, addresses } = chain;
  const contracts: KeeperContracts = {
    vault: Vault__factory.connect(addresses.vault, signer),
    clearingHouse: ClearingHouse__factory.connect(addresses.clearingHouse, signer),
    lens: MarginLens__factory.connect(addresses.lens, signer),
  };
  const silent = pino({ level: "silent" });
  const lens = MarginLens__factory.connect(addresses.lens, provider);
  const results: ScanResult[] = [];
  let warm = true;
  for (const n of sizes) {
    const subset = ids.slice(0, n);
    // the first size tries every batch size up to n; the larger ones the default, the best so far
    // and any larger batch size
    const timedBefore = results.filter((r) => r.method === "lens" && !r.skipped);
    const best = timedBefore.reduce<ScanResult | undefined>(
      (a, b) => (a && a.accountsPerSecond >= b.accountsPerSecond ? a : b),
      undefined,
    );
    const tried =
      n === sizes[0]
        ? batchSizes.filter((b) => b <= n)
        : [
            ...new Set([
              defaultBatch,
              ...(best?.batchSize ? [best.batchSize] : []),
              ...batchSizes.filter((b) => b > sizes[0] && b <= n),
            ]),
          ];
    for (const batchSize of tried) {
      const label = `${chain.name}, ${n} accounts, lens batch ${batchSize}`;
      const data = lens.interface.encodeFunctionData("candidatesMany", [subset.slice(0, batchSize)]);
      let gas: bigint | undefined;
      let failure = "";
      try {
        gas = await provider.estimateGas({ to: addresses.lens, data });
        await provider.call({ to: addresses.lens, data });
      } catch (error) {
        failure = (error instanceof Error ? error.message : String(error)).split("\n")[0].slice(0, 120);
      }
      if (failure) {
        progress(`${label}: one eth_call of the batch fails (${failure}); skipped`);
        results.push(
          result({
            chain: chain.name,
            accounts: n,
            method: "lens",
            batchSize,
            batchGas: gas?.toString(),
            runsMs: [],
            skipped: failure,
          }),
        );
        continue;
      }
      const keeper = new Keeper(
        contracts,
        signer,
        { batchSize, retry: { attempts: 1, baseDelayMs: 1, maxDelayMs: 1 } },
        silent,
      );
      if (warm) await keeper.scan(subset); // warm-up, once per chain
      warm = false;
      const runsMs = await timed(runs, label, () => keeper.scan(subset));
      const r = result({
        chain: chain.name,
        accounts: n,
        method: "lens",
        batchSize,
        batchGas: gas?.toString(),
        runsMs,
      });
      progress(`${label}: median ${r.medianMs.toFixed(1)} ms, ${Math.round(r.accountsPerSecond)} accounts/s`);
      results.push(r);
    }
    if (n === sizes[0]) await Promise.all(subset.slice(0, 200).map((id) => lens.health(id))); // warm-up
    for (const method of ["naive-sequential", "naive-promise-all"] as const) {
      const label = `${chain.name}, ${n} accounts, ${method}`;
      const runsMs = await timed(runs, label, async () => {
        if (method === "naive-sequential") {
          for (const id of subset) await lens.health(id);
        } else {
          // all at once, in waves of NAIVE_WAVE: 10,000 requests at once grew the hardhat node past 20 GB
          // until the kernel killed it
          for (let i = 0; i < subset.length; i += NAIVE_WAVE) {
            await Promise.all(subset.slice(i, i + NAIVE_WAVE).map((id) => lens.health(id)));
          }
        }
      });
      const r = result({ chain: chain.name, accounts: n, method, runsMs });
      progress(`${label}: median ${r.medianMs.toFixed(1)} ms, ${Math.round(r.accountsPerSecond)} accounts/s`);
      results.push(r);
    }
  }
  return results;
}

export interface LatencyResult {
  maxInFlight: number;
  rounds: number;
  accounts: number;
  liquidations: number;
  /** Liquidated events by blocks after the price update: {"0": n, "1": n, "2": n, ...}. */
  byDelay: Record<string, number>;
  sameOrNext: number;
  share: number;
  /** Accounts the keeper had not closed when the round timed out. */
  missed: number;
  /** Median seconds from the crash's receipt (as the bench saw it) to the keeper's broadcast of a liquidation. */
  medianSendDelaySeconds: number;
}

/**
 * On the in-process chain (interval mining, one block a second): a Keeper started with start()
 * (pollIntervalMs 100, maxInFlight as given) watches the accounts created from now on. Each round
 * opens `perRound` ETH longs of 1–3 ETH with ~$170 of margin per ETH, then ETH falls 5 % (every
 * account ends below MM / 2: one whole liquidation each); the Liquidated events' blocks are
 * compared with the price update's block. ETH is put back between rounds.
 */
export async function benchLatency(
  hre: HardhatRuntimeEnvironment,
  p: LocalProtocol,
  maxInFlight: number,
  rounds: number,
  perRound: number,
): Promise<LatencyResult> {
  const { ethers } = hre;
  const provider = ethers.provider;
  const signers = await ethers.getSigners();
  const trader = signers[12];
  const keeperSigner = signers[13];
  const random = rng(7);
  /** Wall-clock times (ms) at which the keeper broadcast a liquidation. */
  const sends: number[] = [];
  const sendDelays: number[] = [];
  await (await p.usdc.mint(trader.address, 10n ** 9n * USDC)).wait();
  await (await p.usdc.connect(trader).approve(p.vault, MAX_UINT256)).wait();
  const basePrice = (await p.ethFeed.latestRoundData()).answer;
  const keeper = new Keeper(
    {
      vault: p.vault.connect(keeperSigner),
      clearingHouse: p.clearingHouse.connect(keeperSigner),
      lens: p.lens.connect(keeperSigner),
    },
    keeperSigner,
    { startBlock: await provider.getBlockNumber(), pollIntervalMs: 100, maxInFlight, replaceAfterMs: 120_000 },
    pino(
      { level: "info" },
      {
        write(line: string) {
          const parsed = JSON.parse(line) as { msg?: string; time?: number; action?: string };
          if (parsed.msg === "transaction sent" && parsed.action === "liquidate") sends.push(parsed.time ?? Date.now());
        },
      },
    ),
  );
  const loop = keeper.start();
  const byDelay: Record<string, number> = {};
  let liquidations = 0;
  let missed = 0;
  try {
    for (let round = 1; round <= rounds; round++) {
      const first = (await p.vault.accountCount()) + 1n;
      const ids = Array.from({ length: perRound }, (_, i) => first + BigInt(i));
      for (const id of ids) {
        const eth = BigInt(1 + Math.floor(random() * 3));
        await (await p.vault.connect(trader).createAccount(0)).wait();
        await (await p.vault.connect(trader).deposit(id, p.usdc, eth * 170n * USDC)).wait();
        await (await p.clearingHouse.connect(trader).openPosition(id, 1, eth * WAD, 0)).wait();
      }
      if ((await p.lens.candidatesMany(ids)).length !== 0) throw new Error("a fresh account is already due");
      await provider.send("evm_setAutomine", [false]);
      await provider.send("evm_setIntervalMining", [1_000]);
      const crash = await p.ethFeed.updateAnswer((basePrice * 95n) / 100n);
      sends.length = 0;
      const crashBlock = (await crash.wait())?.blockNumber;
      if (crashBlock === undefined) throw new Error("the price update was not mined");
      const crashTime = Date.now(); // when the receipt was seen (block timestamps run ahead of the wall clock)
      const deadline = Date.now() + 120_000;
      let open = ids.length;
      while (open > 0 && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 500));
        // one call a poll: the keeper shares this thread with the chain
        open = (await p.lens.healthMany(ids)).filter((h) => h.maintenanceMargin > 0n).length;
      }
      sendDelays.push(...sends.map((t) => t - crashTime));
      await provider.send("evm_setIntervalMining", [0]);
      await provider.send("evm_setAutomine", [true]);
      missed += open;
      const wanted = new Set(ids);
      const events = await p.clearingHouse.queryFilter(p.clearingHouse.filters.Liquidated(), crashBlock, "latest");
      const delays: number[] = [];
      for (const e of events) {
        if (!wanted.has(e.args.accountId)) continue;
        const delay = e.blockNumber - crashBlock;
        delays.push(delay);
        byDelay[String(delay)] = (byDelay[String(delay)] ?? 0) + 1;
        liquidations++;
      }
      await (await p.ethFeed.updateAnswer(basePrice)).wait();
      progress(
        `  latency, maxInFlight ${maxInFlight}, round ${round}/${rounds}: ${delays.length} liquidations, ` +
          `blocks after the crash ${Math.min(...delays)}-${Math.max(...delays)}, ` +
          `first / last send ${sends.length ? ((Math.min(...sends) - crashTime) / 1000).toFixed(1) : "-"} / ` +
          `${sends.length ? ((Math.max(...sends) - crashTime) / 1000).toFixed(1) : "-"} s after the crash was seen mined` +
          (open ? `, ${open} positions left open` : ""),
      );
    }
  } finally {
    await provider.send("evm_setIntervalMining", [0]);
    await provider.send("evm_setAutomine", [true]);
    await keeper.stop();
    await loop;
  }
  const sameOrNext = (byDelay["0"] ?? 0) + (byDelay["1"] ?? 0);
  return {
    maxInFlight,
    rounds,
    accounts: rounds * perRound,
    liquidations,
    byDelay,
    sameOrNext,
    share: liquidations ? sameOrNext / liquidations : 0,
    missed,
    medianSendDelaySeconds: sendDelays.length ? median(sendDelays) / 1000 : NaN,
  };
}

/* THE NODE */

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export interface RunningNode {
  port: number;
  url: string;
  stop(): Promise<void>;
}

/** Starts `npx hardhat node` on 127.0.0.1:port in its own process group; resolves once it answers. */
export async function startNode(root: string, port: number): Promise<RunningNode> {
  const child: ChildProcess = spawn("npx", ["hardhat", "node", "--port", String(port), "--hostname", "127.0.0.1"], {
    cwd: root,
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout?.on("data", (chunk: Buffer) => {
    if (output.length < 20_000) output += chunk.toString();
  });
  child.stderr?.on("data", (chunk: Buffer) => {
    if (output.length < 20_000) output += chunk.toString();
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const kill = (signal: NodeJS.Signals) => {
    try {
      if (child.pid !== undefined) process.kill(-child.pid, signal);
    } catch {
      // already gone
    }
  };
  const onExit = () => kill("SIGKILL");
  process.once("exit", onExit);
  const stop = async () => {
    process.off("exit", onExit);
    kill("SIGTERM");
    const timeout = new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 5_000));
    if (!(await Promise.race([exited.then(() => true), timeout]))) kill("SIGKILL");
  };
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 90_000;
  for (;;) {
    try {
      const response = await fetch(url, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "eth_chainId", params: [] }),
      });
      if (response.ok) break;
    } catch {
      // not up yet
    }
    if (child.exitCode !== null || Date.now() > deadline) {
      await stop();
      throw new Error(`hardhat node on port ${port} did not start:\n${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  return { port, url, stop };
}

/** Runs a command to completion; rejects with its output when it fails. */
export function run(command: string, args: string[], cwd: string, env: NodeJS.ProcessEnv): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, env, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.once("error", reject);
    child.once("exit", (code) =>
      code === 0 ? resolve(output) : reject(new Error(`${command} ${args.join(" ")} exited ${code}:\n${output}`)),
    );
  });
}

/** Deploys the Protocol module on the node with Ignition (deployment id bench-<port>); its addresses. */
export async function deployOnNode(
  root: string,
  node: RunningNode,
): Promise<{ addresses: BenchAddresses; folder: string }> {
  const id = `bench-${node.port}`;
  const folder = path.join(root, "ignition", "deployments", id);
  await run(
    "npx",
    [
      "hardhat",
      "ignition",
      "deploy",
      "ignition/modules/Protocol.ts",
      "--network",
      "localhost",
      "--parameters",
      "ignition/parameters/local.json",
      "--deployment-id",
      id,
    ],
    root,
    { ...process.env, LOCALHOST_URL: node.url },
  );
  const record = JSON.parse(fs.readFileSync(path.join(folder, "deployed_addresses.json"), "utf8")) as Record<
    string,
    string
  >;
  // Ignition names futures <module>#<id>: the protocol's contracts are in Core, the tokens in Mocks
  const get = (futureId: string) => {
    const address = record[futureId];
    if (!address) throw new Error(`${folder}: no ${futureId}`);
    return address;
  };
  return {
    addresses: {
      vault: get("Core#Vault"),
      clearingHouse: get("Core#ClearingHouse"),
      lens: get("Core#MarginLens"),
      usdc: get("Mocks#USDC"),
    },
    folder,
  };
}

/**
 * Providers for the node: the measured one sends one HTTP request per call (no JSON-RPC batching,
 * as Hardhat's own HTTP provider behind `npx hardhat keeper --network localhost`); the setup one
 * batches.
 */
export function nodeProviders(url: string): { provider: JsonRpcProvider; setup: JsonRpcProvider } {
  return {
    provider: new JsonRpcProvider(url, undefined, { staticNetwork: true, batchMaxCount: 1 }),
    setup: new JsonRpcProvider(url, undefined, { staticNetwork: true }),
  };
}
