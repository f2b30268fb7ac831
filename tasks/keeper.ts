import { task, types } from "hardhat/config";
import { HardhatPluginError } from "hardhat/plugins";

// The keeper's code is loaded when the task runs, not when the config loads: it needs the
// TypeChain bindings, which do not exist before the first compile.
task("keeper", "Runs the liquidation keeper against the protocol deployed on --network")
  .addOptionalParam("shard", "This keeper's share of accounts: i/n takes ids with id % n == i", "0/1")
  .addOptionalParam("metricsPort", "Prometheus /metrics port (0 = any free port, -1 = off)", 9464, types.int)
  .addOptionalParam("batchSize", "Accounts per MarginLens call", 500, types.int)
  .addOptionalParam("chunkSize", "Blocks per eth_getLogs request of the account back-fill", 2000, types.int)
  .addOptionalParam(
    "startBlock",
    "First block of the account back-fill (default: the deployment's first block from the registry)",
    -1,
    types.int,
  )
  .addOptionalParam("pollMs", "Milliseconds between scans when no block arrives", 1000, types.int)
  .addOptionalParam("minProfit", "Least profit (USD) over the gas cost for an action to be sent", "0")
  .addFlag("all", "Act on every due account, profitable or not")
  .addOptionalParam("maxFeeGwei", "Cap on maxFeePerGas, gwei", "500")
  .addOptionalParam("maxInFlight", "Most transactions in flight at once", 16, types.int)
  .addOptionalParam(
    "replaceAfterMs",
    "Replace a transaction not mined after this long (fees +12.5 %)",
    30000,
    types.int,
  )
  .addOptionalParam("accountIndex", "Local networks only: use the node's account N when no key is set", -1, types.int)
  .addOptionalParam("vault", "Vault address (default: deployments/<chainId>.json)", "")
  .addOptionalParam("lens", "MarginLens address (default: deployments/<chainId>.json)", "")
  .addOptionalParam("logLevel", "pino log level: debug, info, warn, error", "info")
  .addFlag("ws", "Follow new blocks by WebSocket subscription (ws:// on the network's URL) instead of polling")
  .setAction(async (args, hre) => {
    const { runKeeperTask } = await import("../src/keeper/cli");
    try {
      await runKeeperTask(args, hre);
    } catch (error) {
      // a configuration problem is a message for the operator, not a stack trace
      throw new HardhatPluginError("keeper", error instanceof Error ? error.message : String(error));
    }
  });
