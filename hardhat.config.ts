import path from "node:path";
import { extendEnvironment, subtask } from "hardhat/config";
import { HardhatPluginError } from "hardhat/plugins";
import { TASK_COMPILE_SOLIDITY_GET_SOLC_BUILD } from "hardhat/builtin-tasks/task-names";
import type { HardhatUserConfig } from "hardhat/config";
import "@nomicfoundation/hardhat-toolbox";
import { ETHERSCAN_KEY_VARIABLE, missingNetworkVariable, publicNetworksConfig, variable } from "./src/deploy/networks";
import "./tasks/bench";
import "./tasks/deploy";
import "./tasks/keeper";
import "./tasks/simulate";

const SOLC_VERSION = "0.8.28";

// Hardhat downloads compilers from the internet; these machines have no such access. The npm
// package `solc` (pinned to SOLC_VERSION in package.json) ships the same compiler as soljson.js,
// so we hand Hardhat that build instead. It is slower than the native binary but fully offline.
subtask(TASK_COMPILE_SOLIDITY_GET_SOLC_BUILD, async (args: { solcVersion: string }, _hre, runSuper) => {
  if (args.solcVersion !== SOLC_VERSION) {
    return runSuper();
  }
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const solcPackage = require("solc/package.json") as { version: string };
  if (solcPackage.version !== SOLC_VERSION) {
    throw new Error(
      `npm package solc is ${solcPackage.version}, expected ${SOLC_VERSION}: run \`npm ci\` to restore the pinned version`,
    );
  }
  return {
    compilerPath: path.join(path.dirname(require.resolve("solc/package.json")), "soljson.js"),
    isSolcJs: true,
    version: SOLC_VERSION,
    longVersion: "0.8.28+commit.7893614a",
  };
});

// A public network without its RPC URL is configured with an unreachable one (so that the config
// loads and every other network works); using it stops here with the variable to set.
extendEnvironment((hre) => {
  const missing = missingNetworkVariable(hre.network.name);
  if (missing) throw new HardhatPluginError("crossmargin", missing);
});

// `npm run coverage` sets COVERAGE_BUILD=1: solidity-coverage compiles instrumented contracts, into
// a build of their own (cache/coverage/), so that artifacts/ and typechain-types/ stay the normal
// build for concurrent `hardhat test --no-compile` runs, bench:gas and the SDK.
const COVERAGE_BUILD = process.env.COVERAGE_BUILD === "1";

const config: HardhatUserConfig = {
  ...(COVERAGE_BUILD ? { paths: { artifacts: "cache/coverage/artifacts", cache: "cache/coverage/cache" } } : {}),
  solidity: {
    version: SOLC_VERSION,
    settings: {
      evmVersion: "cancun",
      optimizer: { enabled: true, runs: 10_000 },
      viaIR: true,
    },
  },
  networks: {
    hardhat: {
      // Keeps block timestamps predictable for oracle staleness tests.
      allowBlocksWithSameTimestamp: false,
      // HARDHAT_CHAIN_ID=11155111 npx hardhat node: a local node posing as a public chain, to rehearse
      // `npx hardhat deploy --network sepolia` against it (README, "Public test networks")
      ...(process.env.HARDHAT_CHAIN_ID ? { chainId: Number(process.env.HARDHAT_CHAIN_ID) } : {}),
    },
    // LOCALHOST_URL points --network localhost at another node (tests start one on a free port)
    localhost: { url: process.env.LOCALHOST_URL ?? "http://127.0.0.1:8545" },
    // sepolia, arbitrumSepolia: URLs and the deployer key from configuration variables
    ...publicNetworksConfig(),
  },
  // hardhat-verify: one Etherscan key for every chain (Etherscan API v2); only `verify` needs it
  etherscan: { apiKey: variable(ETHERSCAN_KEY_VARIABLE) },
  sourcify: { enabled: false },
  // no typings from the instrumented build: the contract tests deploy through hre.artifacts and
  // take only types and ABIs from typechain-types/
  typechain: { outDir: "typechain-types", target: "ethers-v6", dontOverrideCompile: COVERAGE_BUILD },
  gasReporter: {
    enabled: process.env.REPORT_GAS !== undefined,
    offline: true,
  },
  mocha: { timeout: 120_000 },
};

export default config;
