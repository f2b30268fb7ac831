import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import hre from "hardhat";
import { deployLocal } from "../src/deploy/local";
import { DEFAULT_KEEPER_OPTIONS } from "../src/keeper/keeper";
import {
  benchLatency,
  benchScan,
  buildBook,
  deployOnNode,
  freePort,
  nodeProviders,
  progress,
  startNode,
  type BenchChain,
  type LatencyResult,
  type RunningNode,
  type ScanResult,
  type ScanSummary,
} from "../src/bench/keeperBench";
import { renderTable } from "../src/report/format";

const SCAN_GOAL = 20_000; // accounts per second through the lens
const RATIO_GOAL = 10; // lens vs naive
const SHARE_GOAL = 0.99; // liquidations in the same or the next block

/** BENCH_ACCOUNTS, BENCH_RUNS, BENCH_LATENCY_ROUNDS narrow the run (e.g. a quick check). */
const ACCOUNTS = Number(process.env.BENCH_ACCOUNTS ?? 10_000);
const RUNS = Math.max(3, Number(process.env.BENCH_RUNS ?? 3));
const LATENCY_ROUNDS = Number(process.env.BENCH_LATENCY_ROUNDS ?? 3);
const PER_ROUND = 40;
const SIZES = [...new Set([1_000, ACCOUNTS].filter((n) => n <= ACCOUNTS))];
const BATCH_SIZES = [250, 500, 1_000, 2_000];

const fmt = (n: number, digits = 0) =>
  Number.isFinite(n)
    ? n.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits })
    : "-";

type Summary = ScanSummary;

/** What results.json records of a book. */
function bookSummary(book: { withPositions: number; positions: number; setupSeconds: number }) {
  return {
    accounts: ACCOUNTS,
    withPositions: book.withPositions,
    positions: book.positions,
    setupSeconds: book.setupSeconds,
  };
}

function summarize(results: ScanResult[]): Summary[] {
  const out: Summary[] = [];
  const keys = [...new Set(results.map((r) => `${r.chain}|${r.accounts}`))];
  for (const key of keys) {
    const rows = results.filter((r) => `${r.chain}|${r.accounts}` === key);
    const lens = rows.filter((r) => r.method === "lens" && !r.skipped);
    const best = lens.reduce((a, b) => (b.accountsPerSecond > a.accountsPerSecond ? b : a));
    const atDefault = lens.find((r) => r.batchSize === DEFAULT_KEEPER_OPTIONS.batchSize);
    out.push({
      chain: rows[0].chain,
      accounts: rows[0].accounts,
      bestBatch: best.batchSize ?? 0,
      best: best.accountsPerSecond,
      defaultBatch: DEFAULT_KEEPER_OPTIONS.batchSize,
      atDefault: atDefault?.accountsPerSecond ?? NaN,
      sequential: rows.find((r) => r.method === "naive-sequential")?.accountsPerSecond ?? NaN,
      promiseAll: rows.find((r) => r.method === "naive-promise-all")?.accountsPerSecond ?? NaN,
    });
  }
  return out;
}

function printScan(results: ScanResult[]) {
  console.log(
    "\n" +
      renderTable(
        ["chain", "accounts", "method", "batch", "gas/batch", "median ms", "accounts/s", `runs (ms)`],
        results.map((r) => [
          r.chain,
          fmt(r.accounts),
          r.method,
          r.batchSize ? String(r.batchSize) : "",
          r.batchGas ? fmt(Number(r.batchGas)) : r.skipped ? "> cap" : "",
          r.skipped ? "skipped" : fmt(r.medianMs, 1),
          r.skipped ? "" : fmt(r.accountsPerSecond),
          r.runsMs.map((x) => x.toFixed(0)).join(" / "),
        ]),
      ),
  );
  const summaries = summarize(results);
  console.log(
    "\n" +
      renderTable(
        [
          "chain",
          "accounts",
          "lens best (batch)",
          "lens default (500)",
          "naive sequential",
          "naive Promise.all",
          "lens / sequential",
          "lens / Promise.all",
          "goals met",
        ],
        summaries.map((s) => {
          const naive = Math.max(s.sequential, s.promiseAll);
          const met = s.atDefault >= SCAN_GOAL && s.atDefault / naive >= RATIO_GOAL;
          return [
            s.chain,
            fmt(s.accounts),
            `${fmt(s.best)} (${s.bestBatch})`,
            fmt(s.atDefault),
            fmt(s.sequential),
            fmt(s.promiseAll),
            `${fmt(s.atDefault / s.sequential, 1)}x`,
            `${fmt(s.atDefault / s.promiseAll, 1)}x`,
            met
              ? "yes"
              : `no (${s.atDefault < SCAN_GOAL ? `< ${fmt(SCAN_GOAL)}/s` : ""}${s.atDefault / naive < RATIO_GOAL ? ` < ${RATIO_GOAL}x` : ""})`,
          ];
        }),
      ),
  );
  console.log(
    `(accounts/s at the default batch size; goals: >= ${fmt(SCAN_GOAL)} accounts/s and >= ${RATIO_GOAL}x the faster naive scan)`,
  );
  return summaries;
}

function printLatency(latency: LatencyResult[]) {
  console.log(
    "\n" +
      renderTable(
        [
          "keeper maxInFlight",
          "rounds",
          "liquidations",
          "blocks after the price update",
          "same or next",
          "share",
          "goal 99 %",
        ],
        latency.map((l) => [
          String(l.maxInFlight),
          String(l.rounds),
          String(l.liquidations) + (l.missed ? ` (${l.missed} not done)` : ""),
          Object.entries(l.byDelay)
            .sort(([a], [b]) => Number(a) - Number(b))
            .map(([d, n]) => `+${d}: ${n}`)
            .join(", "),
          String(l.sameOrNext),
          `${fmt(l.share * 100, 1)} %`,
          l.share >= SHARE_GOAL ? "met" : "missed",
          `${fmt(l.medianSendDelaySeconds, 2)} s`,
        ]),
      ),
  );
}

async function main() {
  const root = hre.config.paths.root;
  const scan: ScanResult[] = [];
  const latency: LatencyResult[] = [];
  const books: Record<string, { accounts: number; withPositions: number; positions: number; setupSeconds: number }> =
    {};
  progress(
    `keeper benchmark: ${SIZES.join(" and ")} accounts, batch sizes ${BATCH_SIZES.join("/")}, ${RUNS} runs each, ` +
      `${LATENCY_ROUNDS} crash rounds of ${PER_ROUND} accounts per keeper configuration`,
  );

  // 1. JSON-RPC to a hardhat node on a free loopback port, first: the in-process chain below starts
  // only then: with both 10,000-account chains alive at once the node was OOM-killed on a 24 GB machine
  const port = await freePort();
  let node: RunningNode | undefined;
  let folder: string | undefined;
  try {
    progress(`json-rpc: starting hardhat node on 127.0.0.1:${port}`);
    node = await startNode(root, port);
    progress("json-rpc: deploying with Ignition");
    const deployed = await deployOnNode(root, node);
    folder = deployed.folder;
    const { provider, setup } = nodeProviders(node.url);
    const chain: BenchChain = {
      name: "json-rpc",
      provider,
      setup,
      signer: await provider.getSigner(0),
      addresses: deployed.addresses,
    };
    const nodeBook = await buildBook(chain, ACCOUNTS);
    books[chain.name] = bookSummary(nodeBook);
    scan.push(...(await benchScan(chain, nodeBook.ids, SIZES, BATCH_SIZES, DEFAULT_KEEPER_OPTIONS.batchSize, RUNS)));
    provider.destroy();
    setup.destroy();
  } finally {
    await node?.stop();
    if (folder) fs.rmSync(folder, { recursive: true, force: true });
    progress("json-rpc: node stopped, deployment folder removed");
  }

  // 2. in-process: the liquidation latency on a snapshot, then the scan
  progress("in-process: deploying the local protocol");
  const p = await deployLocal(hre);
  const snapshot = await hre.ethers.provider.send("evm_snapshot", []);
  for (const maxInFlight of [DEFAULT_KEEPER_OPTIONS.maxInFlight, 64]) {
    progress(`latency: keeper with maxInFlight ${maxInFlight}, interval mining 1 s`);
    latency.push(await benchLatency(hre, p, maxInFlight, LATENCY_ROUNDS, PER_ROUND));
  }
  printLatency(latency);
  await hre.ethers.provider.send("evm_revert", [snapshot]);

  const [signer] = await hre.ethers.getSigners();
  const inProcess: BenchChain = {
    name: "in-process",
    provider: hre.ethers.provider,
    setup: hre.ethers.provider,
    signer,
    addresses: {
      vault: await p.vault.getAddress(),
      clearingHouse: await p.clearingHouse.getAddress(),
      lens: await p.lens.getAddress(),
      usdc: await p.usdc.getAddress(),
    },
  };
  const book = await buildBook(inProcess, ACCOUNTS);
  books[inProcess.name] = bookSummary(book);
  scan.push(...(await benchScan(inProcess, book.ids, SIZES, BATCH_SIZES, DEFAULT_KEEPER_OPTIONS.batchSize, RUNS)));

  printLatency(latency);
  const summaries = printScan(scan);
  const cpus = os.cpus();
  const out = {
    date: new Date().toISOString(),
    cpu: cpus[0]?.model ?? "unknown",
    cores: cpus.length,
    node: process.version,
    hardhat: (
      JSON.parse(fs.readFileSync(path.join(root, "node_modules/hardhat/package.json"), "utf8")) as {
        version: string;
      }
    ).version,
    defaultBatchSize: DEFAULT_KEEPER_OPTIONS.batchSize,
    goals: { accountsPerSecond: SCAN_GOAL, ratio: RATIO_GOAL, sameOrNextBlockShare: SHARE_GOAL },
    books,
    scan,
    summary: summaries,
    latency,
    totalSeconds: process.uptime(),
  };
  fs.mkdirSync(path.join(root, "bench"), { recursive: true });
  const file = path.join(root, "bench", "keeper-results.json");
  fs.writeFileSync(file, JSON.stringify(out, null, 2) + "\n");
  progress(`results written to ${path.relative(root, file)} (${out.cpu}, ${out.cores} cores, Node ${out.node})`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
