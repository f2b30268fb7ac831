/**
 * The public networks Crossmargin deploys to, and where their secrets come from. Loaded by
 * hardhat.config.ts, so it must not import the TypeChain bindings or anything heavy.
 *
 * Secrets are Hardhat configuration variables (`npx hardhat vars set NAME`, stored outside the
 * repository) or environment variables of the same name; the environment wins. A missing one is
 * an error only when its network is used.
 */
import { vars } from "hardhat/config";
import type { HttpNetworkUserConfig } from "hardhat/types";

export interface PublicNetwork {
  /** Hardhat's network name (`--network <name>`), also hardhat-verify's chain name. */
  name: string;
  chainId: number;
  /** The variable holding the network's JSON-RPC URL. */
  urlVariable: string;
  /** A block explorer, for links in messages. */
  explorer: string;
}

export const PUBLIC_NETWORKS: readonly PublicNetwork[] = [
  { name: "sepolia", chainId: 11155111, urlVariable: "SEPOLIA_RPC_URL", explorer: "https://sepolia.etherscan.io" },
  {
    name: "arbitrumSepolia",
    chainId: 421614,
    urlVariable: "ARBITRUM_SEPOLIA_RPC_URL",
    explorer: "https://sepolia.arbiscan.io",
  },
];

/** The deployer's private key on public networks. */
export const DEPLOYER_KEY_VARIABLE = "DEPLOYER_PRIVATE_KEY";
/** Etherscan API key (one key serves every chain through Etherscan's v2 API). */
export const ETHERSCAN_KEY_VARIABLE = "ETHERSCAN_API_KEY";
/** The networks with no secrets: the in-process chain and a `hardhat node`. */
export const LOCAL_NETWORKS: readonly string[] = ["hardhat", "localhost"];

/** A configuration variable from the environment, else Hardhat's variable store; "" when unset. */
export function variable(name: string): string {
  const fromEnv = process.env[name];
  if (fromEnv !== undefined && fromEnv.trim() !== "") return fromEnv.trim();
  return vars.has(name) ? vars.get(name).trim() : "";
}

/** How to set a variable, for error messages. */
export const howToSet = (name: string, example: string): string =>
  `set ${name}: \`npx hardhat vars set ${name}\` (stored outside the repository) or \`export ${name}=${example}\``;

// A URL that can never be reached; configured when the variable is missing so that Hardhat accepts
// the configuration. The environment check below stops any task on that network before it is used.
const UNSET_URL = "http://unset.invalid";

/** Hardhat `networks` entries of the public networks, from the variables present now. */
const PRIVATE_KEY = /^(0x)?[0-9a-fA-F]{64}$/;

/**
 * Why the deployer key cannot be used ("" when it can): unset, or not a 32-byte hex key. A
 * malformed key is left out of the configuration (Hardhat would refuse to load it, breaking every
 * network) and reported here when a deployment needs it.
 */
export function deployerKeyProblem(): string {
  const key = variable(DEPLOYER_KEY_VARIABLE);
  if (!key) return `no deployer account: ${howToSet(DEPLOYER_KEY_VARIABLE, "0x…")}`;
  if (!PRIVATE_KEY.test(key)) {
    return `${DEPLOYER_KEY_VARIABLE} is set but is not a private key (64 hex digits, optionally after 0x): set it again`;
  }
  return "";
}

export function publicNetworksConfig(): Record<string, HttpNetworkUserConfig> {
  const key = variable(DEPLOYER_KEY_VARIABLE);
  const accounts = PRIVATE_KEY.test(key) ? [key.startsWith("0x") ? key : `0x${key}`] : [];
  return Object.fromEntries(
    PUBLIC_NETWORKS.map((n) => [n.name, { url: variable(n.urlVariable) || UNSET_URL, chainId: n.chainId, accounts }]),
  );
}

export const publicNetwork = (name: string): PublicNetwork | undefined => PUBLIC_NETWORKS.find((n) => n.name === name);

/**
 * The reason `networkName` cannot be used yet (its URL variable is unset), or undefined. Called
 * when the Hardhat runtime is created, so `--network sepolia` without SEPOLIA_RPC_URL stops at
 * once with what to set, and every other network is unaffected.
 */
export function missingNetworkVariable(networkName: string): string | undefined {
  const network = publicNetwork(networkName);
  if (!network || variable(network.urlVariable)) return undefined;
  return `network "${network.name}" needs its JSON-RPC URL: ${howToSet(network.urlVariable, "https://…")}`;
}
