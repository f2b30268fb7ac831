/**
 * Child Hardhat processes for tests that need a real `hardhat node` (or another CLI command):
 * started detached in their own process group, their output kept, and every one of them killed
 * when the test process exits, whatever happened.
 *
 * Hardhat CLIs are started as `node node_modules/hardhat/internal/cli/bootstrap.js …`, which is
 * what `npx hardhat …` runs once npx has resolved the binary: without npm's wrapper process in
 * between, a signal sent to the child reaches the hardhat process itself and its exit code is its own.
 */
import { spawn, type ChildProcess } from "node:child_process";
import net from "node:net";
import path from "node:path";
import { sleep } from "../../src/keeper/retry";

export const ROOT = path.resolve(__dirname, "..", "..");
const HARDHAT_BIN = path.join(ROOT, "node_modules", "hardhat", "internal", "cli", "bootstrap.js");

export interface Proc {
  child: ChildProcess;
  /** stdout and stderr lines (the last `keep`). */
  out: string[];
  /** Resolves when the process has exited and its output is closed. */
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  tail(n?: number): string;
}

/** Every child process started and not yet stopped. */
export const procs = new Set<Proc>();

/** Signals the child's whole process group (it leads one: spawned detached). */
function signalGroup(child: ChildProcess, signal: NodeJS.Signals) {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // the group is gone already
  }
}

// last resort when mocha exits without running `after` (e.g. interrupted): no node left behind
process.once("exit", () => {
  for (const proc of procs) signalGroup(proc.child, "SIGKILL");
});

export function spawnHardhat(args: string[], env: Record<string, string>, keep = 5_000): Proc {
  const childEnv: NodeJS.ProcessEnv = { ...process.env, ...env };
  delete childEnv.HARDHAT_NETWORK;
  delete childEnv.KEEPER_PRIVATE_KEY; // the CLI keeper must use --account-index
  const child = spawn(process.execPath, [HARDHAT_BIN, ...args], {
    cwd: ROOT,
    env: childEnv,
    detached: true, // its own process group, killed as a whole
    stdio: ["ignore", "pipe", "pipe"],
  });
  const out: string[] = [];
  for (const stream of [child.stdout!, child.stderr!]) {
    // always read: a node logs every request, and a full pipe would block it
    let buffer = "";
    stream.setEncoding("utf8");
    stream.on("data", (chunk: string) => {
      buffer += chunk;
      const parts = buffer.split("\n");
      buffer = parts.pop()!;
      for (const line of parts) {
        out.push(line);
        if (out.length > keep) out.shift();
      }
    });
  }
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once("close", (code, signal) => resolve({ code, signal })),
  );
  const proc: Proc = { child, out, exit, tail: (n = 40) => out.slice(-n).join("\n") };
  procs.add(proc);
  return proc;
}

export const running = (proc: Proc) => proc.child.exitCode === null && proc.child.signalCode === null;

/** SIGTERM to the group, SIGKILL if it is still there after `graceMs`. */
export async function stopProc(proc: Proc | undefined, graceMs = 5_000) {
  if (!proc) return;
  if (running(proc)) {
    signalGroup(proc.child, "SIGTERM");
    const exited = await Promise.race([proc.exit.then(() => true), sleep(graceMs).then(() => false)]);
    if (!exited) {
      signalGroup(proc.child, "SIGKILL");
      await Promise.race([proc.exit, sleep(graceMs)]);
    }
    signalGroup(proc.child, "SIGKILL"); // anything it may have left in its group
  }
  procs.delete(proc);
}

/** A port free on 127.0.0.1 right now. */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export async function rpc(url: string, method: string, params: unknown[] = []): Promise<unknown> {
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }),
  });
  const body = (await response.json()) as { result?: unknown; error?: { message?: string } };
  if (body.error) throw new Error(`${method}: ${body.error.message}`);
  return body.result;
}

/** Waits until the node answers eth_chainId; fails early if it exits. */
export async function waitForNode(url: string, node: Proc, timeoutMs: number): Promise<bigint> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (!running(node)) throw new Error(`hardhat node exited before answering on ${url}:\n${node.tail()}`);
    try {
      return BigInt((await rpc(url, "eth_chainId")) as string);
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      throw new Error(`hardhat node did not answer eth_chainId on ${url} within ${timeoutMs} ms:\n${node.tail()}`);
    }
    await sleep(200);
  }
}
