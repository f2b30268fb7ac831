/**
 * npm run bench:sim — the simulator's throughput against the chain's own limit, in one process on
 * one in-process chain:
 *   1. raw simple transfers per second through the simulator's own send path (clocked timestamp +
 *      eth_sendTransaction), before and after the runs (median of BENCH_RUNS batches each);
 *   2. protocol transactions per second of the simulator on the default scenario (cross mode);
 *   3. a large run: BENCH_SIM_ACCOUNTS traders × BENCH_SIM_STEPS steps (default 1,000 × 500,
 *      goal ≤ 10 minutes on 2 cores), with peak memory.
 * Results go to bench/simulator-results.json. BENCH_SIM_LARGE=0 skips part 3.
 */
import { createHash } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import hre from "hardhat";
import { deployLocal } from "../src/deploy/local";
import { renderTable } from "../src/report/format";
import { SimChain } from "../src/sim/chain";
import { runSimulation } from "../src/sim/engine";
import { createProgress } from "../src/sim/progress";
import { canonicalJson, loadScenario, parseScenario, type LoadedScenario } from "../src/sim/scenario";

const RUNS = Math.max(3, Number(process.env.BENCH_RUNS ?? 5));
const TRANSFERS = Number(process.env.BENCH_TRANSFERS ?? 500);
const LARGE = process.env.BENCH_SIM_LARGE !== "0";
const ACCOUNTS = Number(process.env.BENCH_SIM_ACCOUNTS ?? 1_000);
const STEPS = Number(process.env.BENCH_SIM_STEPS ?? 500);
const RATIO_GOAL = 0.5;
const LARGE_GOAL_SECONDS = 600;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Simple transfers per second through SimChain.send, one batch. */
async function transferBatch(chain: SimChain, from: string, to: string): Promise<number> {
  const t0 = performance.now();
  for (let i = 0; i < TRANSFERS; i++) {
    const r = await chain.send(from, to, "0x");
    if (!r.ok) throw new Error(`a plain transfer failed: ${r.reason}`);
  }
  return TRANSFERS / ((performance.now() - t0) / 1000);
}

async function rawTransfers(label: string): Promise<number[]> {
  const raw = hre.network.provider;
  const chain = new SimChain(raw, []);
  const latest = (await raw.send("eth_getBlockByNumber", ["latest", false])) as { timestamp: string };
  chain.time = Number(latest.timestamp) + 1;
  const from = "0x00000000000000000000000000000000000b3c01";
  await chain.fund(from);
  const rates: number[] = [];
  for (let r = 0; r < RUNS; r++)
    rates.push(await transferBatch(chain, from, "0x00000000000000000000000000000000000b3c02"));
  console.error(`raw transfers (${label}): ${rates.map((x) => x.toFixed(0)).join(", ")} tx/s`);
  return rates;
}

/**
 * Protocol transactions alone, through the same send path: a trader opens and reduces an ETH-PERP
 * position in turn (each a full margin check, funding accrual, fee and pool settlement).
 */
async function protocolTransactions(): Promise<number[]> {
  const raw = hre.network.provider;
  const p = await deployLocal(hre);
  const chain = new SimChain(raw, [p.clearingHouse.interface, p.vault.interface]);
  const latest = (await raw.send("eth_getBlockByNumber", ["latest", false])) as { timestamp: string };
  chain.time = Number(latest.timestamp) + 1;
  const [deployer] = await hre.ethers.getSigners();
  const trader = "0x00000000000000000000000000000000000b3c03";
  await chain.fund(trader);
  const must = async (from: string, to: string, data: string) => {
    const r = await chain.send(from, to, data);
    if (!r.ok) throw new Error(`bench setup failed: ${r.reason}`);
  };
  for (const feed of [p.usdcFeed, p.ethFeed, p.btcFeed, p.stethFeed]) {
    const [, answer] = await feed.latestRoundData();
    await must(deployer.address, await feed.getAddress(), feed.interface.encodeFunctionData("updateAnswer", [answer]));
  }
  const [usdc, vault, ch] = [await p.usdc.getAddress(), await p.vault.getAddress(), await p.clearingHouse.getAddress()];
  const amount = 1_000_000n * 10n ** 6n;
  await must(trader, usdc, p.usdc.interface.encodeFunctionData("mint", [trader, amount]));
  await must(trader, usdc, p.usdc.interface.encodeFunctionData("approve", [vault, amount]));
  await must(trader, vault, p.vault.interface.encodeFunctionData("createAccount", [0]));
  const id = await p.vault.accountCount();
  await must(trader, vault, p.vault.interface.encodeFunctionData("deposit", [id, usdc, amount]));
  const open = p.clearingHouse.interface.encodeFunctionData("openPosition", [id, 1n, 10n ** 18n, 0n]);
  const reduce = p.clearingHouse.interface.encodeFunctionData("openPosition", [id, 1n, -(10n ** 17n), 0n]);
  const rates: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    const t0 = performance.now();
    for (let i = 0; i < TRANSFERS; i++) {
      const result = await chain.send(trader, ch, i % 2 === 0 ? open : reduce);
      if (!result.ok) throw new Error(`a benchmark trade failed: ${result.reason}`);
    }
    rates.push(TRANSFERS / ((performance.now() - t0) / 1000));
  }
  console.error(`protocol transactions alone: ${rates.map((x) => x.toFixed(0)).join(", ")} tx/s`);
  return rates;
}

function largeScenario(): LoadedScenario {
  const scenario = parseScenario(
    {
      name: "bench-large",
      description: `${ACCOUNTS} directional traders (two legs each) for ${STEPS} steps, one keeper`,
      seed: 1,
      steps: STEPS,
      stepSeconds: 60,
      prices: { shocks: [{ step: Math.max(1, Math.floor(STEPS / 2)), symbol: "ETH", pct: -10, overSteps: 20 }] },
      population: [
        {
          name: "directional",
          count: ACCOUNTS,
          strategy: "directional",
          markets: { ETH: 0.5, BTC: 0.4, STETH: 0.1 },
          legs: 2,
          leverage: [2, 10],
          tradeProbability: 0.01,
        },
      ],
      keepers: { count: 1 },
      checks: { mirrorSample: 1 },
    },
    "bench-large",
  );
  return { scenario, file: "(generated)", hash: createHash("sha256").update(canonicalJson(scenario)).digest("hex") };
}

async function main() {
  const before = await rawTransfers("before");

  const loaded = loadScenario("default");
  const report = await runSimulation(hre, loaded, { modes: ["cross"], progress: createProgress() });
  const cross = report.timing.perMode.cross;

  const after = await rawTransfers("after");
  const raw = median([...before, ...after]);
  const protocol = await protocolTransactions();
  const protocolMedian = median(protocol);

  const out = path.join(process.cwd(), "bench", "simulator-results.json");
  let large: Record<string, unknown> | undefined;
  if (!LARGE && fs.existsSync(out)) {
    // a quick run keeps the last large run's figures, with their own date
    const previous = JSON.parse(fs.readFileSync(out, "utf8")) as { date: string; large?: Record<string, unknown> };
    large = previous.large ? { date: previous.date, ...previous.large } : undefined;
  }
  if (LARGE) {
    const big = await runSimulation(hre, largeScenario(), { modes: ["cross"], progress: createProgress() });
    const t = big.timing.perMode.cross;
    large = {
      date: new Date().toISOString(),
      accounts: ACCOUNTS,
      steps: STEPS,
      seconds: t.seconds,
      stepsPerSecond: t.stepsPerSecond,
      transactions: t.transactions,
      transactionsPerSecond: t.transactionsPerSecond,
      phaseSeconds: t.phaseSeconds,
      peakRssMb: big.timing.peakRssMb,
      goalSeconds: LARGE_GOAL_SECONDS,
      liquidations: big.modes.cross!.summary.liquidations,
    };
  }

  const results = {
    date: new Date().toISOString(),
    cpu: os.cpus()[0]?.model.trim() ?? "unknown",
    cores: os.availableParallelism(),
    node: process.version,
    hardhat: (JSON.parse(fs.readFileSync(require.resolve("hardhat/package.json"), "utf8")) as { version: string })
      .version,
    method:
      "raw: simple value transfers sent the way the simulator sends (clocked timestamp + eth_sendTransaction from an impersonated address, automine), median of batches before and after the runs; simulator: every transaction of the run (setup, oracle updates, traders, keepers) over the mode's wall time, which also pays for every view the run reads",
    raw: { batches: [...before, ...after].map((x) => Number(x.toFixed(1))), medianTxPerSecond: Number(raw.toFixed(1)) },
    simulator: {
      scenario: "default (cross mode)",
      seconds: cross.seconds,
      transactions: cross.transactions,
      transactionsPerSecond: cross.transactionsPerSecond,
      phaseSeconds: cross.phaseSeconds,
      peakRssMb: report.timing.peakRssMb,
    },
    ratio: Number((cross.transactionsPerSecond / raw).toFixed(4)),
    ratioGoal: RATIO_GOAL,
    protocolOnly: {
      what: "openPosition / reduce of one account, back to back through the simulator's send path, no views",
      batches: protocol.map((x) => Number(x.toFixed(1))),
      medianTxPerSecond: Number(protocolMedian.toFixed(1)),
      ratio: Number((protocolMedian / raw).toFixed(4)),
    },
    large,
  };
  fs.mkdirSync(path.dirname(out), { recursive: true });
  fs.writeFileSync(out, `${JSON.stringify(results, null, 2)}\n`);

  const rows = [
    ["raw transfers (median)", `${raw.toFixed(0)} tx/s`, "", ""],
    [
      "simulator, default scenario",
      `${cross.transactionsPerSecond} tx/s`,
      `≥ ${RATIO_GOAL} × raw`,
      `${results.ratio} × raw ${results.ratio >= RATIO_GOAL ? "(met)" : "(missed)"}`,
    ],
    [
      "protocol transactions alone",
      `${protocolMedian.toFixed(0)} tx/s`,
      `≥ ${RATIO_GOAL} × raw`,
      `${results.protocolOnly.ratio} × raw ${results.protocolOnly.ratio >= RATIO_GOAL ? "(met)" : "(missed)"}`,
    ],
  ];
  if (large) {
    rows.push([
      `${ACCOUNTS} accounts × ${STEPS} steps`,
      `${large.seconds} s, peak ${large.peakRssMb} MB`,
      `≤ ${LARGE_GOAL_SECONDS} s`,
      Number(large.seconds) <= LARGE_GOAL_SECONDS ? "met" : "missed",
    ]);
  }
  console.log(renderTable(["", "measured", "goal", "verdict"], rows));
  console.log(`\nphases of the default run (s): ${JSON.stringify(cross.phaseSeconds)}`);
  if (large) console.log(`phases of the large run (s): ${JSON.stringify(large.phaseSeconds)}`);
  console.log(`written: ${path.relative(process.cwd(), out)}`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
