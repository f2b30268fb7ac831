import type { HardhatRuntimeEnvironment } from "hardhat/types";

/** Cold accesses of a transaction (EIP-2929): each costs 2,100 (storage slot) or 2,600 (account). */
export interface ColdAccesses {
  /** Distinct (contract, slot) pairs read or written, each first access cold. */
  slots: number;
  /** Distinct accounts touched by calls or EXT* / BALANCE, other than sender, recipient and precompiles. */
  accounts: number;
}

export const COLD_SLOAD_GAS = 2_100n;
export const COLD_ACCOUNT_GAS = 2_600n;

interface StructLog {
  op: string;
  depth: number;
  stack?: string[];
}

const CALLS = new Set(["CALL", "CALLCODE", "DELEGATECALL", "STATICCALL"]);
const ADDRESS_OPS = new Set(["EXTCODESIZE", "EXTCODEHASH", "EXTCODECOPY", "BALANCE"]);
const word = (hex: string) => BigInt(hex.startsWith("0x") ? hex : `0x${hex}`);
const addressOf = (hex: string) => `0x${(word(hex) & ((1n << 160n) - 1n)).toString(16).padStart(40, "0")}`;

/**
 * Counts a mined transaction's cold storage slots and cold accounts from its step-by-step trace
 * (debug_traceTransaction), following the storage context through calls (DELEGATECALL keeps the
 * caller's). A reverted sub-call's accesses are counted as if they stayed warm, which is what the
 * margin check (no reverting sub-calls) needs.
 */
export async function coldAccesses(hre: HardhatRuntimeEnvironment, txHash: string): Promise<ColdAccesses> {
  const tx = await hre.ethers.provider.getTransaction(txHash);
  if (!tx?.to) throw new Error(`transaction ${txHash} not found, or a contract creation`);
  const trace = (await hre.network.provider.send("debug_traceTransaction", [
    txHash,
    { disableMemory: true, disableStorage: true },
  ])) as { structLogs: StructLog[] };
  const logs = trace.structLogs;
  const warmAccounts = new Set([tx.from.toLowerCase(), tx.to.toLowerCase()]);
  const warmSlots = new Set<string>();
  // storage context (contract address) per call depth, depth 1 = the transaction's recipient
  const context: string[] = [tx.to.toLowerCase()];
  let slots = 0;
  let accounts = 0;
  const touch = (address: string) => {
    const n = BigInt(address);
    if (n >= 1n && n <= 0x11n) return; // precompiles are always warm
    if (!warmAccounts.has(address)) {
      warmAccounts.add(address);
      accounts++;
    }
  };
  for (let i = 0; i < logs.length; i++) {
    const log = logs[i];
    context.length = log.depth; // returning from calls drops their contexts
    const stack = log.stack ?? [];
    const top = (n: number) => stack[stack.length - 1 - n];
    if (log.op === "SLOAD" || log.op === "SSTORE") {
      const key = `${context[log.depth - 1]}:${word(top(0))}`;
      if (!warmSlots.has(key)) {
        warmSlots.add(key);
        slots++;
      }
    } else if (CALLS.has(log.op)) {
      const target = addressOf(top(1));
      touch(target);
      const next = logs[i + 1];
      if (next && next.depth === log.depth + 1) {
        const keepsStorage = log.op === "DELEGATECALL" || log.op === "CALLCODE";
        context[log.depth] = keepsStorage ? context[log.depth - 1] : target;
      }
    } else if (ADDRESS_OPS.has(log.op)) {
      touch(addressOf(top(0)));
    }
  }
  return { slots, accounts };
}
