import { ethers } from "hardhat";
import type { ClearingHouse, IClearingHouse } from "../../typechain-types";
import { WAD, deployFeed, deployOracle, fundAccount, units, vaultFixture, type VaultFixture } from "./fixtures";

export const TIERS: IClearingHouse.MarketParamsStruct["tiers"] = [
  { upToNotional: units(1_000_000, 18), mmRate: units(25, 15), imRate: units(5, 16) },
  { upToNotional: units(5_000_000, 18), mmRate: units(5, 16), imRate: units(10, 16) },
  { upToNotional: 0n, mmRate: units(10, 16), imRate: units(20, 16) },
];

export function marketParams(
  oracle: string,
  overrides: Partial<IClearingHouse.MarketParamsStruct> = {},
): IClearingHouse.MarketParamsStruct {
  return {
    oracle,
    group: 0,
    skewScale: units(1_000_000, 18),
    takerFee: units(5, 14), // 0.05 %
    maxFundingRatePerDay: units(1, 17), // 10 %
    maxLongOpenInterest: units(100_000, 18),
    maxShortOpenInterest: units(100_000, 18),
    maxPriceDeviation: units(2, 17),
    tiers: TIERS,
    ...overrides,
  };
}

export const ETH = 1n;
export const BTC = 2n;
export const STETH = 3n;

export interface ProtocolFixture extends VaultFixture {
  clearingHouse: ClearingHouse;
  stethFeed: Awaited<ReturnType<typeof deployFeed>>;
}

/** Deploys a ClearingHouse linked to a fresh MarketConfig library (its governance-time code). */
export async function deployClearingHouse(vault: string, owner: string, guardian: string): Promise<ClearingHouse> {
  const library = await ethers.deployContract("MarketConfig");
  const factory = await clearingHouseFactory(await library.getAddress());
  const clearingHouse = await factory.deploy(vault, owner, guardian);
  await clearingHouse.waitForDeployment();
  return clearingHouse;
}

/** The ClearingHouse factory linked to a deployed MarketConfig library. */
export async function clearingHouseFactory(library: string) {
  return ethers.getContractFactory("ClearingHouse", { libraries: { MarketConfig: library } });
}

/**
 * The Vault fixture plus a ClearingHouse with the three markets of DESIGN §13 (ETH, BTC, STETH;
 * ETH and STETH in correlation group 1 with offset 0.8) and a pool ledger of 1,000,000 USDC,
 * seeded by a signer standing in for the pool contract.
 */
export async function protocolFixture(): Promise<ProtocolFixture> {
  const f = await vaultFixture();
  const clearingHouse = await deployClearingHouse(await f.vault.getAddress(), f.owner.address, f.guardian.address);
  await f.vault.setClearingHouse(clearingHouse);
  const stethFeed = await deployFeed(8, units(2_990, 8), "STETH / USD");
  const stethOracle = await deployOracle(stethFeed);
  await clearingHouse.addMarket(marketParams(await f.ethOracle.getAddress(), { group: 1 }));
  await clearingHouse.addMarket(
    marketParams(await f.btcOracle.getAddress(), {
      skewScale: units(50_000, 18),
      maxLongOpenInterest: units(5_000, 18),
      maxShortOpenInterest: units(5_000, 18),
    }),
  );
  await clearingHouse.addMarket(marketParams(await stethOracle.getAddress(), { group: 1 }));
  await clearingHouse.setGroupOffset(1, (WAD * 8n) / 10n);

  const pool = f.mallory; // stands in for the ERC-4626 pool contract
  await f.vault.setLiquidityPool(pool.address);
  await f.usdc.mint(pool.address, units(1_000_000, 6));
  await f.usdc.connect(pool).approve(f.vault, units(1_000_000, 6));
  await f.vault.connect(pool).poolDeposit(units(1_000_000, 6));
  return { ...f, clearingHouse, stethFeed };
}

/** Deposits `usdc` whole USDC into the account of `signer`. */
export async function fundUsdc(f: ProtocolFixture, signer: ProtocolFixture["alice"], accountId: bigint, usdc: number) {
  await fundAccount(f, f.usdc, signer, accountId, units(usdc, 6));
}
