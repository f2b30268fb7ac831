/**
 * The liquidation keeper against a real `hardhat node` (DESIGN §10), over JSON-RPC: the node is a
 * child process this file starts on a free loopback port and stops in `after` (its whole process
 * group, also when a test fails or the run is interrupted). The protocol is deployed to it with
 * `hardhat ignition deploy` (ignition/modules/Protocol.ts + parameters/local.json, the same command
 * as `npm run deploy:local`), then the twelve accounts of test/shared/keeper.ts are opened; every
 * test starts from an `evm_snapshot` of that state.
 * Child processes come from test/shared/node.ts.
 */
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import { expect } from "chai";
import {
  JsonRpcProvider,
  type ContractTransactionResponse,
  type JsonRpcApiProviderOptions,
  type JsonRpcSigner,
} from "ethers";
import {
  ClearingHouse__factory,
  MarginLens__factory,
  MockAggregator__factory,
  MockERC20__factory,
  Vault__factory,
  type ClearingHouse,
  type MarginLens,
  type MockAggregator,
  type MockERC20,
  type Vault,
} from "../typechain-types";
import { Keeper, type KeeperOptions } from "../src/keeper/keeper";
import { KeeperMetrics } from "../src/keeper/metrics";
import { sleep } from "../src/keeper/retry";
import { ACCOUNTS, BTC, ETH, KEEPER_USDC, STETH, memoryLogger, metricValue, type LogLine } from "./shared/keeper";
import { P, U, W, fundingOff } from "./shared/liquidation";
import { ROOT, freePort, procs, rpc, running, spawnHardhat, stopProc, waitForNode, type Proc } from "./shared/node";

const DEPLOYMENTS = path.join(ROOT, "ignition", "deployments");

const LIQUIDATABLE = ACCOUNTS.flatMap((a, i) => (a.expect === "liquidatable" ? [BigInt(i + 1)] : []));
const HEALTHY = ACCOUNTS.flatMap((a, i) => (a.expect === "healthy" ? [BigInt(i + 1)] : []));
/** Accounts the liquidation leaves flat in debt: 7 (bad debt), 8 (1 WETH, then bad debt). */
const UNDERWATER = [7n, 8n];
const WITH_WETH = 8n;

/** Node accounts (of the 20 a hardhat node unlocks): 0 deploys, 2..7 trade (ACCOUNTS), these keep. */
const KEEPER_INDEX = { single: 10, raceA: 11, raceB: 12, proxied: 13, cli: 9 } as const;

/** Fast, deterministic keeper options: short polls and retries, no replacement, small batches. */
const NODE_OPTIONS: Partial<KeeperOptions> = {
  startBlock: 0,
  batchSize: 5,
  pollIntervalMs: 100,
  replaceAfterMs: 60_000,
  retry: { attempts: 3, baseDelayMs: 50, maxDelayMs: 400 },
};

/** Polls `predicate` every 50 ms until true; on timeout, fails with `what` and the diagnostics. */
async function until(
  predicate: () => boolean | Promise<boolean>,
  timeoutMs: number,
  what: string,
  diagnostics: () => unknown = () => "",
) {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) {
      const extra = await diagnostics();
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${extra ? `\n${String(extra)}` : ""}`);
    }
    await sleep(50);
  }
}

/* A TCP PROXY (the keeper's RPC endpoint in the restart test) */

class TcpProxy {
  private server: net.Server | undefined;
  private readonly sockets = new Set<net.Socket>();
  connections = 0;

  constructor(
    readonly port: number,
    private readonly targetPort: number,
  ) {}

  get url() {
    return `http://127.0.0.1:${this.port}`;
  }

  async start() {
    const server = net.createServer((client) => {
      this.connections++;
      const upstream = net.connect(this.targetPort, "127.0.0.1");
      const drop = () => {
        client.destroy();
        upstream.destroy();
        this.sockets.delete(client);
        this.sockets.delete(upstream);
      };
      for (const socket of [client, upstream]) {
        this.sockets.add(socket);
        socket.on("error", drop);
        socket.on("close", drop);
      }
      client.pipe(upstream);
      upstream.pipe(client);
    });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(this.port, "127.0.0.1", () => resolve());
    });
    this.server = server;
  }

  /** Stops listening and cuts every open connection (keep-alive ones included): ECONNREFUSED from now on. */
  async stop() {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
    await closed;
  }
}

/* THE CHAIN */

interface Chain {
  url: string;
  provider: JsonRpcProvider;
  deployer: JsonRpcSigner;
  addresses: { vault: string; clearingHouse: string; lens: string };
  vault: Vault;
  clearingHouse: ClearingHouse;
  lens: MarginLens;
  usdc: MockERC20;
  weth: MockERC20;
  ethFeed: MockAggregator;
  stethFeed: MockAggregator;
  ids: bigint[];
}

async function mined(tx: Promise<ContractTransactionResponse>) {
  const receipt = await (await tx).wait();
  if (receipt?.status !== 1) throw new Error(`setup transaction failed: ${receipt?.hash}`);
}

/** ACCOUNTS of test/shared/keeper.ts opened at ETH 3,000 (funding off), keepers funded with USDC. */
async function openAccounts(c: Chain) {
  for (const market of [ETH, BTC, STETH]) await fundingOff(c.clearingHouse, market);
  for (const spec of ACCOUNTS) {
    const owner = await c.provider.getSigner(spec.owner);
    await mined(c.vault.connect(owner).createAccount(0));
    const id = await c.vault.accountCount();
    c.ids.push(id);
    await mined(c.usdc.mint(owner.address, U(spec.usdc)));
    await mined(c.usdc.connect(owner).approve(c.addresses.vault, U(spec.usdc)));
    await mined(c.vault.connect(owner).deposit(id, c.usdc, U(spec.usdc)));
    if (spec.weth) {
      await mined(c.weth.mint(owner.address, W(spec.weth)));
      await mined(c.weth.connect(owner).approve(c.addresses.vault, W(spec.weth)));
      await mined(c.vault.connect(owner).deposit(id, c.weth, W(spec.weth)));
    }
    for (const [market, size] of spec.trades) {
      await mined(c.clearingHouse.connect(owner).openPosition(id, market, W(size), 0));
    }
  }
  for (const index of [KEEPER_INDEX.single, KEEPER_INDEX.raceA, KEEPER_INDEX.raceB, KEEPER_INDEX.proxied]) {
    await mined(c.usdc.mint((await c.provider.getSigner(index)).address, KEEPER_USDC));
  }
}

/** ETH −10 % (STETH with it): the five accounts ACCOUNTS marks liquidatable become so. */
async function crash(c: Chain) {
  await mined(c.ethFeed.updateAnswer(P("2700")));
  await mined(c.stethFeed.updateAnswer(P("2691")));
}

async function expectHealth(c: Chain, crashed: boolean) {
  const health = await c.lens.healthMany(c.ids);
  for (const [i, h] of health.entries()) {
    const spec = ACCOUNTS[i];
    expect(
      h.liquidatable,
      `account ${i + 1} (${spec.note}) liquidatable ${crashed ? "after" : "before"} the crash`,
    ).to.equal(crashed && spec.expect === "liquidatable");
  }
}

/** Positions, quote balance and WETH of each account, to show the healthy ones untouched. */
async function accountState(c: Chain, ids: bigint[]) {
  const out: Record<string, string> = {};
  for (const id of ids) {
    for (const market of [ETH, BTC, STETH]) {
      const [size, openNotional] = await c.clearingHouse.positionOf(id, market);
      out[`${id}/${market}`] = `${size}/${openNotional}`;
    }
    out[`${id}/quote`] = (await c.vault.quoteBalance(id)).toString();
    out[`${id}/weth`] = (await c.vault.balanceOf(id, c.weth)).toString();
  }
  return out;
}

/** accountId → the liquidators (one per event) of the ClearingHouse / Vault event `name`, since the snapshot. */
async function eventsByAccount(c: Chain, name: "Liquidated" | "CollateralLiquidated" | "BadDebtSettled") {
  const logs =
    name === "Liquidated"
      ? (await c.clearingHouse.queryFilter(c.clearingHouse.filters.Liquidated(), 0, "latest")).map((l) => ({
          id: l.args.accountId,
          by: l.args.liquidator,
        }))
      : name === "CollateralLiquidated"
        ? (await c.vault.queryFilter(c.vault.filters.CollateralLiquidated(), 0, "latest")).map((l) => ({
            id: l.args.accountId,
            by: l.args.liquidator,
          }))
        : (await c.vault.queryFilter(c.vault.filters.BadDebtSettled(), 0, "latest")).map((l) => ({
            id: l.args.accountId,
            by: "",
          }));
  const byAccount = new Map<bigint, string[]>();
  for (const { id, by } of logs) byAccount.set(id, [...(byAccount.get(id) ?? []), by]);
  return byAccount;
}

const sortIds = (ids: Iterable<bigint>) => [...ids].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));

/**
 * Whatever must hold once every opportunity of the crash has been taken: nothing due any more; each
 * liquidatable account liquidated exactly once (one call restores the partials' health; the others
 * are closed whole), #8's WETH sold once, the bad debt of #7 and #8 settled once; no healthy account
 * in any event.
 */
async function expectAllDone(c: Chain) {
  expect(await c.lens.candidatesMany(c.ids), "candidates left").to.deep.equal([]);
  const liquidated = await eventsByAccount(c, "Liquidated");
  expect(sortIds(liquidated.keys()), "accounts liquidated").to.deep.equal(LIQUIDATABLE);
  for (const id of LIQUIDATABLE) expect(liquidated.get(id), `Liquidated events of #${id}`).to.have.length(1);
  const collateral = await eventsByAccount(c, "CollateralLiquidated");
  expect(sortIds(collateral.keys()), "accounts whose collateral was sold").to.deep.equal([WITH_WETH]);
  expect(collateral.get(WITH_WETH)).to.have.length(1);
  const badDebt = await eventsByAccount(c, "BadDebtSettled");
  expect(sortIds(badDebt.keys()), "accounts whose bad debt was settled").to.deep.equal(UNDERWATER);
  for (const id of UNDERWATER) expect(badDebt.get(id), `BadDebtSettled events of #${id}`).to.have.length(1);
  return { liquidated, collateral };
}

/* IN-PROCESS KEEPERS OVER JSON-RPC */

interface RunningKeeper {
  keeper: Keeper;
  provider: JsonRpcProvider;
  address: string;
  lines: LogLine[];
  /** "running" until start() settles: "resolved", or the error it rejected with. */
  state: { loop: "running" | "resolved" | Error };
  stop(): Promise<void>;
}

const keepers: RunningKeeper[] = [];

/** A Keeper on its own JsonRpcProvider to `url` (the node or the proxy), signing with node account `index`; started. */
async function startKeeper(
  c: Chain,
  url: string,
  index: number,
  providerOptions: JsonRpcApiProviderOptions = {},
): Promise<RunningKeeper> {
  const provider = new JsonRpcProvider(url, undefined, { pollingInterval: 100, ...providerOptions });
  const signer = await provider.getSigner(index);
  const { log, lines } = memoryLogger();
  const keeper = new Keeper(
    {
      vault: Vault__factory.connect(c.addresses.vault, signer),
      clearingHouse: ClearingHouse__factory.connect(c.addresses.clearingHouse, signer),
      lens: MarginLens__factory.connect(c.addresses.lens, signer),
    },
    signer,
    NODE_OPTIONS,
    log,
    new KeeperMetrics(),
  );
  const state: RunningKeeper["state"] = { loop: "running" };
  const loop = keeper.start().then(
    () => void (state.loop = "resolved"),
    (error: unknown) => void (state.loop = error instanceof Error ? error : new Error(String(error))),
  );
  let stopped: Promise<void> | undefined;
  const k: RunningKeeper = {
    keeper,
    provider,
    address: signer.address,
    lines,
    state,
    stop: () =>
      (stopped ??= (async () => {
        await keeper.stop();
        await loop;
        provider.destroy();
      })()),
  };
  keepers.push(k);
  return k;
}

const byMsg = (lines: LogLine[], msg: string) => lines.filter((l) => l.msg === msg);
const errors = (lines: LogLine[]) => lines.filter((l) => l.level >= 50).map((l) => `${l.msg}: ${String(l.err)}`);
const lastLines = (k: RunningKeeper, n = 15) =>
  k.lines
    .slice(-n)
    .map((l) => JSON.stringify(l))
    .join("\n");

async function discovered(k: RunningKeeper, c: Chain) {
  await until(
    () => k.keeper.tracked().length === c.ids.length,
    30_000,
    `keeper ${k.address} to discover the accounts`,
    () => lastLines(k),
  );
}

async function allDone(c: Chain, ks: RunningKeeper[], timeoutMs = 40_000) {
  await until(
    async () => (await c.lens.candidatesMany(c.ids)).length === 0,
    timeoutMs,
    "every opportunity of the crash to be taken",
    () => ks.map((k) => `keeper ${k.address}:\n${lastLines(k)}`).join("\n"),
  );
}

/* PROMETHEUS TEXT */

function promValue(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split("\n")) {
    const match = /^([A-Za-z_:][\w:]*)(?:\{([^}]*)\})?\s+(\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const have = Object.fromEntries([...(match[2] ?? "").matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) return Number(match[3]);
  }
  return undefined;
}

async function scrape(url: string): Promise<string> {
  const response = await fetch(url);
  expect(response.status, `GET ${url}`).to.equal(200);
  return response.text();
}

/** The pino JSON lines among a process's output. */
function jsonLines(proc: Proc): LogLine[] {
  return proc.out.flatMap((line) => {
    if (!line.startsWith("{")) return [];
    try {
      return [JSON.parse(line) as LogLine];
    } catch {
      return [];
    }
  });
}

describe("Keeper against a real hardhat node (JSON-RPC)", function () {
  this.timeout(150_000);

  let node: Proc | undefined;
  let c: Chain;
  let snapshot = "";
  const deploymentId = `keeper-node-test-${process.pid}-${Date.now()}`;
  const deploymentsExisted = fs.existsSync(DEPLOYMENTS);

  /** Back to the state right after the setup (the snapshot is used up by the revert: take it again). */
  async function fresh() {
    expect(await c.provider.send("evm_revert", [snapshot]), "evm_revert").to.equal(true);
    snapshot = (await c.provider.send("evm_snapshot", [])) as string;
  }

  before(async function () {
    this.timeout(150_000);
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    node = spawnHardhat(["node", "--port", String(port), "--hostname", "127.0.0.1"], {}, 300);
    expect(await waitForNode(url, node, 60_000), "chain id").to.equal(31337n);

    // the local deployment, by the command of `npm run deploy:local`, under its own deployment id
    const deploy = spawnHardhat(
      [
        "ignition",
        "deploy",
        "ignition/modules/Protocol.ts",
        "--network",
        "localhost",
        "--parameters",
        "ignition/parameters/local.json",
        "--deployment-id",
        deploymentId,
      ],
      { LOCALHOST_URL: url },
    );
    const result = await Promise.race([deploy.exit, sleep(90_000).then(() => undefined)]);
    if (!result || result.code !== 0) {
      await stopProc(deploy);
      throw new Error(`ignition deploy failed (${JSON.stringify(result ?? "timed out")}):\n${deploy.tail()}`);
    }
    procs.delete(deploy);
    const record = JSON.parse(
      fs.readFileSync(path.join(DEPLOYMENTS, deploymentId, "deployed_addresses.json"), "utf8"),
    ) as Record<string, string>;
    const at = (key: string) => {
      expect(record[key], `${key} in deployed_addresses.json`).to.match(/^0x[0-9a-fA-F]{40}$/);
      return record[key];
    };

    const provider = new JsonRpcProvider(url, undefined, { pollingInterval: 100 });
    const deployer = await provider.getSigner(0);
    c = {
      url,
      provider,
      deployer,
      addresses: {
        vault: at("Core#Vault"),
        clearingHouse: at("Core#ClearingHouse"),
        lens: at("Core#MarginLens"),
      },
      vault: Vault__factory.connect(at("Core#Vault"), deployer),
      clearingHouse: ClearingHouse__factory.connect(at("Core#ClearingHouse"), deployer),
      lens: MarginLens__factory.connect(at("Core#MarginLens"), deployer),
      usdc: MockERC20__factory.connect(at("Mocks#USDC"), deployer),
      weth: MockERC20__factory.connect(at("Mocks#WETH"), deployer),
      ethFeed: MockAggregator__factory.connect(at("Mocks#ethFeed"), deployer),
      stethFeed: MockAggregator__factory.connect(at("Mocks#stethFeed"), deployer),
      ids: [],
    };
    expect(await c.lens.clearingHouse()).to.equal(c.addresses.clearingHouse);
    await openAccounts(c);
    expect(c.ids).to.deep.equal(ACCOUNTS.map((_, i) => BigInt(i + 1)));
    await expectHealth(c, false);
    snapshot = (await provider.send("evm_snapshot", [])) as string;
  });

  afterEach(async function () {
    this.timeout(30_000);
    // a failed test may leave manual mining on and keepers running: mine what they wait for
    if (node && running(node)) await c.provider.send("evm_setAutomine", [true]).catch(() => undefined);
    for (const k of keepers.splice(0)) {
      await Promise.race([k.stop(), sleep(10_000)]).catch(() => undefined);
    }
  });

  after(async function () {
    this.timeout(30_000);
    c?.provider.destroy();
    await stopProc(node);
    for (const proc of [...procs]) await stopProc(proc, 2_000);
    fs.rmSync(path.join(DEPLOYMENTS, deploymentId), { recursive: true, force: true });
    if (!deploymentsExisted && fs.existsSync(DEPLOYMENTS) && fs.readdirSync(DEPLOYMENTS).length === 0) {
      fs.rmdirSync(DEPLOYMENTS);
    }
  });

  it("after a price crash every liquidatable account is liquidated and no healthy one is touched", async function () {
    this.timeout(90_000);
    await fresh();
    const before = await accountState(c, HEALTHY);
    const k = await startKeeper(c, c.url, KEEPER_INDEX.single);
    await discovered(k, c);
    expect(byMsg(k.lines, "transaction sent"), "sent before the crash").to.deep.equal([]);

    await crash(c);
    await expectHealth(c, true);
    await allDone(c, [k]);
    expect(k.state.loop, "the loop before stop()").to.equal("running");
    await k.stop();
    expect(k.state.loop).to.equal("resolved");

    const { liquidated, collateral } = await expectAllDone(c);
    for (const id of LIQUIDATABLE) expect(liquidated.get(id), `liquidator of #${id}`).to.deep.equal([k.address]);
    expect(collateral.get(WITH_WETH)).to.deep.equal([k.address]);
    expect(await accountState(c, HEALTHY), "healthy accounts").to.deep.equal(before);
    // the keeper never even sent a transaction about a healthy account
    const sent = byMsg(k.lines, "transaction sent");
    const targeted = new Set(sent.flatMap((l) => (l.account === undefined ? [] : [BigInt(l.account as string)])));
    expect(sent.filter((l) => l.account === undefined).map((l) => l.action)).to.deep.equal(["approve"]); // of the Vault, for #8
    expect(sortIds(targeted)).to.deep.equal(LIQUIDATABLE);
    expect(errors(k.lines), "error logs").to.deep.equal([]);
    expect(await metricValue(k.keeper.metrics, "keeper_tx_succeeded_total", { kind: "liquidate" })).to.equal(5);
    expect(await metricValue(k.keeper.metrics, "keeper_tx_succeeded_total", { kind: "liquidateCollateral" })).to.equal(
      1,
    );
    expect(await metricValue(k.keeper.metrics, "keeper_tx_succeeded_total", { kind: "settleBadDebt" })).to.equal(2);
    expect(await metricValue(k.keeper.metrics, "keeper_accounts_tracked")).to.equal(12);
  });

  /**
   * Two keepers (node accounts 11 and 12, each on its own provider) running side by side through a
   * crash: every opportunity taken exactly once on chain, no healthy account touched, both loops
   * still running at the end and stopping cleanly, every race they lost a skipped lost race.
   */
  async function race(providerOptions: JsonRpcApiProviderOptions) {
    await fresh();
    const before = await accountState(c, HEALTHY);
    const a = await startKeeper(c, c.url, KEEPER_INDEX.raceA, providerOptions);
    const b = await startKeeper(c, c.url, KEEPER_INDEX.raceB, providerOptions);
    await discovered(a, c);
    await discovered(b, c);

    await crash(c);
    await allDone(c, [a, b]);
    await sleep(500); // let the loser of the last race finish its attempt
    for (const k of [a, b]) expect(k.state.loop, `keeper ${k.address}'s loop before stop()`).to.equal("running");
    // both keepers still work after the race: a tick of each sees nothing due
    expect((await a.keeper.tick()).candidates).to.equal(0);
    expect((await b.keeper.tick()).candidates).to.equal(0);
    await Promise.all([a.stop(), b.stop()]);

    const { liquidated, collateral } = await expectAllDone(c);
    for (const by of [...liquidated.values(), ...collateral.values()].flat()) {
      expect([a.address, b.address]).to.include(by);
    }
    expect(await accountState(c, HEALTHY), "healthy accounts").to.deep.equal(before);
    for (const k of [a, b]) expect(k.state.loop, `keeper ${k.address}'s loop`).to.equal("resolved");

    let succeeded = 0;
    let attempts = 0;
    for (const k of [a, b]) {
      expect(errors(k.lines), `error logs of ${k.address}`).to.deep.equal([]);
      expect(await metricValue(k.keeper.metrics, "keeper_skipped_total", { reason: "error" })).to.equal(0);
      let mine = 0;
      for (const kind of ["liquidate", "liquidateCollateral", "settleBadDebt"]) {
        mine += await metricValue(k.keeper.metrics, "keeper_tx_succeeded_total", { kind });
        expect(await metricValue(k.keeper.metrics, "keeper_tx_failed_total", { kind }), `${kind} failed`).to.equal(0);
      }
      succeeded += mine;
      attempts += mine + (await metricValue(k.keeper.metrics, "keeper_skipped_total", { reason: "lost_race" }));
    }
    // between them every action once (5 liquidations, 1 collateral sale, 2 bad debts), no more
    expect(succeeded).to.equal(5 + 1 + 2);
    expect(attempts, "both keepers went for the opportunities").to.be.greaterThan(succeeded);
  }

  it("two keepers racing liquidate each opportunity once and neither crashes", async function () {
    this.timeout(90_000);
    // cacheTimeout -1: see the KEEPER BUG test below for what ethers' default request cache does to a
    // keeper that lost a race on chain. (The CLI's Hardhat provider has no such cache.)
    await race({ cacheTimeout: -1 });
  });

  // Regression: a lost race's transaction is mined and reverts, which an automining node reports as
  // a send error. The sender once forgot its nonce then and counted again with
  // provider.getTransactionCount, which an ethers JsonRpcProvider answers from a 250 ms cache: the
  // next sends reused the spent nonce and failed. Now a revert keeps the nonce spent, and counts are
  // asked of the node itself. This runs the race with a default JsonRpcProvider (cache on).
  it("two keepers racing on default ethers JsonRpcProviders (request cache on) never reuse a spent nonce", async function () {
    this.timeout(90_000);
    await race({});
  });

  it("the node is stopped and restarted mid-run and the keeper recovers", async function () {
    // What restarts is the keeper's RPC endpoint, not the chain: a restarted `hardhat node` starts
    // from an empty chain (no deployment, no accounts: nothing left to keep). So the keeper talks to
    // the node through a TCP proxy, and the proxy is stopped (its open connections cut, new ones
    // refused: ECONNREFUSED, as from a node that is down) and started again on the same port, while
    // the chain behind it goes on: the crash happens while the keeper is cut off.
    this.timeout(90_000);
    await fresh();
    const proxy = new TcpProxy(await freePort(), Number(new URL(c.url).port));
    await proxy.start();
    try {
      const k = await startKeeper(c, proxy.url, KEEPER_INDEX.proxied);
      await discovered(k, c);
      const ticksFailed = () => byMsg(k.lines, "tick failed; the keeper keeps going").length;
      const retries = () => metricValue(k.keeper.metrics, "keeper_rpc_retries_total");
      expect(ticksFailed(), "failed ticks before the outage").to.equal(0);

      await proxy.stop();
      await crash(c); // straight to the node: the keeper cannot see it
      await until(
        async () => ticksFailed() >= 2 && (await retries()) >= 2,
        20_000,
        "the keeper to fail and retry",
        () => lastLines(k),
      );
      await sleep(1_000); // a while down
      expect(k.state.loop, "the keeper's loop while its node is away").to.equal("running");
      expect((await eventsByAccount(c, "Liquidated")).size, "liquidations while cut off").to.equal(0);
      const retried = byMsg(k.lines, "RPC call failed; retrying");
      expect(retried.length).to.be.greaterThan(0);
      expect(String(retried[0].err)).to.match(/ECONNREFUSED|ECONNRESET|socket hang up|network|connect/i);

      const failedWhileDown = ticksFailed();
      await proxy.start();
      await allDone(c, [k]);
      expect(k.state.loop).to.equal("running");
      await k.stop();
      expect(k.state.loop).to.equal("resolved");

      const { liquidated } = await expectAllDone(c);
      for (const id of LIQUIDATABLE) expect(liquidated.get(id), `liquidator of #${id}`).to.deep.equal([k.address]);
      expect(ticksFailed(), "failed ticks after the endpoint came back").to.be.at.most(failedWhileDown + 1);
      expect(await metricValue(k.keeper.metrics, "keeper_tx_succeeded_total", { kind: "liquidate" })).to.equal(5);
      expect(await metricValue(k.keeper.metrics, "keeper_tx_failed_total", { kind: "liquidate" })).to.equal(0);
      // errors logged: the failed ticks only (no action failed: the outage came while nothing was due)
      expect(new Set(k.lines.filter((l) => l.level >= 50).map((l) => l.msg))).to.deep.equal(
        new Set(["tick failed; the keeper keeps going"]),
      );
    } finally {
      await proxy.stop();
    }
  });

  it("SIGTERM exits cleanly with nothing in flight lost (`hardhat keeper` CLI, manual mining)", async function () {
    this.timeout(120_000);
    await fresh();
    const account = (await c.provider.getSigner(KEEPER_INDEX.cli)).address;
    const cli = spawnHardhat(
      [
        "keeper",
        "--network",
        "localhost",
        "--account-index",
        String(KEEPER_INDEX.cli),
        "--vault",
        c.addresses.vault,
        "--lens",
        c.addresses.lens,
        "--metrics-port",
        "0",
        "--poll-ms",
        "200",
      ],
      { LOCALHOST_URL: c.url },
    );
    const logs = () => jsonLines(cli);
    const line = (pred: (l: LogLine) => boolean) => logs().find(pred);
    const waitLine = async (pred: (l: LogLine) => boolean, what: string, timeoutMs: number) => {
      await until(
        () => {
          if (!running(cli)) throw new Error(`the keeper CLI exited while waiting for ${what}:\n${cli.tail()}`);
          return line(pred) !== undefined;
        },
        timeoutMs,
        what,
        () => cli.tail(),
      );
      return line(pred)!;
    };
    try {
      const started = await waitLine((l) => l.msg === "keeper started", '"keeper started"', 60_000);
      expect(started.keeper, "the keeper's address (--account-index 9)").to.equal(account);
      expect(started.vault).to.equal(c.addresses.vault);
      const metricsUrl = started.metrics as string;
      expect(metricsUrl).to.match(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
      await until(
        async () => promValue(await scrape(metricsUrl), "keeper_accounts_tracked") === 12,
        30_000,
        "keeper_accounts_tracked 12 on /metrics",
        () => cli.tail(),
      );

      // manual mining: the keeper's liquidations wait in the mempool until evm_mine
      await c.provider.send("evm_setAutomine", [false]);
      const updates = [await c.ethFeed.updateAnswer(P("2700")), await c.stethFeed.updateAnswer(P("2691"))];
      await c.provider.send("evm_mine", []);
      for (const tx of updates) expect((await tx.wait())?.status, "the crash is mined").to.equal(1);
      const sent = await waitLine((l) => l.msg === "transaction sent", '"transaction sent"', 30_000);
      const hash = sent.tx as string;

      const metrics = await scrape(metricsUrl);
      expect(promValue(metrics, "keeper_tx_sent_total", { kind: "liquidate" }), "/metrics tx sent").to.be.at.least(1);
      expect(promValue(metrics, "keeper_candidates", { action: "liquidate" }), "/metrics candidates").to.equal(5);
      expect(promValue(metrics, "keeper_accounts_tracked", { shard: "0/1" })).to.equal(12);

      expect(process.kill(cli.child.pid!, "SIGTERM")).to.equal(true);
      await waitLine((l) => l.msg.startsWith("stopping"), '"stopping"', 15_000);
      // still in flight: not mined, and the keeper waits for it
      expect(await c.provider.getTransactionReceipt(hash), `receipt of ${hash} before mining`).to.equal(null);
      await sleep(500);
      expect(running(cli), "the keeper exited with a transaction in flight").to.equal(true);
      expect(line((l) => l.msg === "keeper stopped cleanly")).to.equal(undefined);

      // mine until the keeper is done with what it had started
      const deadline = Date.now() + 30_000;
      while (running(cli)) {
        if (Date.now() > deadline) throw new Error(`the keeper CLI did not exit after SIGTERM:\n${cli.tail()}`);
        await c.provider.send("evm_mine", []);
        await sleep(250);
      }
      expect(await cli.exit, `exit of the keeper CLI:\n${cli.tail()}`).to.deep.equal({ code: 0, signal: null });

      const all = logs();
      const at = (pred: (l: LogLine) => boolean) => all.findIndex(pred);
      const stopping = at((l) => l.msg.startsWith("stopping"));
      const success = at((l) => l.msg === "liquidate succeeded" && l.tx === hash);
      const clean = at((l) => l.msg === "keeper stopped cleanly");
      expect(stopping, `"stopping" logged:\n${cli.tail()}`).to.be.greaterThan(-1);
      expect(all[stopping].signal).to.equal("SIGTERM");
      expect(success, `the in-flight transaction's success after "stopping":\n${cli.tail()}`).to.be.greaterThan(
        stopping,
      );
      expect(clean, `"keeper stopped cleanly" last:\n${cli.tail()}`).to.be.greaterThan(success);
      expect(errors(all), "error logs").to.deep.equal([]);

      // nothing in flight lost: every transaction sent was mined, succeeded, and liquidated its account
      const liquidated = await eventsByAccount(c, "Liquidated");
      const sentLines = all.filter((l) => l.msg === "transaction sent");
      expect(sentLines.length).to.be.at.least(1);
      for (const s of sentLines) {
        const receipt = await c.provider.getTransactionReceipt(s.tx as string);
        expect(receipt?.status, `receipt of ${String(s.tx)} (account ${String(s.account)})`).to.equal(1);
        expect(
          at((l) => l.msg === "liquidate succeeded" && l.tx === s.tx),
          `success of ${String(s.tx)}`,
        ).to.be.lessThan(clean);
        expect(liquidated.get(BigInt(s.account as string)), `Liquidated of #${String(s.account)}`).to.deep.equal([
          account,
        ]);
      }
    } finally {
      await c.provider.send("evm_setAutomine", [true]).catch(() => undefined);
      await stopProc(cli);
    }
  });
});
