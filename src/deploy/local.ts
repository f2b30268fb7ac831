import type { HardhatRuntimeEnvironment } from "hardhat/types";
import ProtocolModule from "../../ignition/modules/Protocol";
import {
  ChainlinkOracle__factory,
  ClearingHouse__factory,
  LiquidityPool__factory,
  MarginLens__factory,
  MockAggregator__factory,
  MockERC20__factory,
  Vault__factory,
  type ChainlinkOracle,
  type ClearingHouse,
  type LiquidityPool,
  type MarginLens,
  type MockAggregator,
  type MockERC20,
  type Vault,
} from "../../typechain-types";
import { loadParameters, type DeploymentParameters } from "./parameters";

/** The local deployment of DESIGN §13 with TypeChain types, connected to the deployer. */
export interface LocalProtocol {
  vault: Vault;
  clearingHouse: ClearingHouse;
  lens: MarginLens;
  pool: LiquidityPool;
  usdc: MockERC20;
  weth: MockERC20;
  wbtc: MockERC20;
  usdcFeed: MockAggregator;
  ethFeed: MockAggregator;
  btcFeed: MockAggregator;
  stethFeed: MockAggregator;
  usdcOracle: ChainlinkOracle;
  ethOracle: ChainlinkOracle;
  btcOracle: ChainlinkOracle;
  stethOracle: ChainlinkOracle;
}

/**
 * Deploys ignition/modules/Protocol.ts with ignition/parameters/local.json on the connected
 * network (the in-process chain by default) and returns typed handles.
 */
export async function deployLocal(
  hre: HardhatRuntimeEnvironment,
  options: {
    deploymentId?: string;
    /** Parameters that replace local.json's, by module (e.g. `{ Markets: { ethOracleHeartbeat: 600n } }`). */
    parameters?: DeploymentParameters;
  } = {},
): Promise<LocalProtocol> {
  // on the in-process network the deployment is ephemeral; elsewhere Ignition keeps a journal under its id
  const deploymentId = hre.network.name === "hardhat" ? undefined : options.deploymentId;
  const parameters = loadParameters("local");
  for (const [module, values] of Object.entries(options.parameters ?? {})) {
    parameters[module] = { ...parameters[module], ...values };
  }
  const deployed = await hre.ignition.deploy(ProtocolModule, { parameters, deploymentId });
  const [deployer] = await hre.ethers.getSigners();
  const at = async (contract: { getAddress(): Promise<string> }) => contract.getAddress();
  return {
    vault: Vault__factory.connect(await at(deployed.vault), deployer),
    clearingHouse: ClearingHouse__factory.connect(await at(deployed.clearingHouse), deployer),
    lens: MarginLens__factory.connect(await at(deployed.lens), deployer),
    pool: LiquidityPool__factory.connect(await at(deployed.pool), deployer),
    usdc: MockERC20__factory.connect(await at(deployed.usdc), deployer),
    weth: MockERC20__factory.connect(await at(deployed.weth), deployer),
    wbtc: MockERC20__factory.connect(await at(deployed.wbtc), deployer),
    usdcFeed: MockAggregator__factory.connect(await at(deployed.usdcFeed), deployer),
    ethFeed: MockAggregator__factory.connect(await at(deployed.ethFeed), deployer),
    btcFeed: MockAggregator__factory.connect(await at(deployed.btcFeed), deployer),
    stethFeed: MockAggregator__factory.connect(await at(deployed.stethFeed), deployer),
    usdcOracle: ChainlinkOracle__factory.connect(await at(deployed.usdcOracle), deployer),
    ethOracle: ChainlinkOracle__factory.connect(await at(deployed.ethOracle), deployer),
    btcOracle: ChainlinkOracle__factory.connect(await at(deployed.btcOracle), deployer),
    stethOracle: ChainlinkOracle__factory.connect(await at(deployed.stethOracle), deployer),
  };
}
