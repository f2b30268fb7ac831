import { ethers } from "hardhat";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";
import type {
  ChainlinkOracle,
  FeeOnTransferToken,
  MockAggregator,
  MockERC20,
  ReentrantToken,
  ReturnsFalseToken,
  Vault,
} from "../../typechain-types";
import type { LedgerToken } from "./ledger";

export const WAD = 10n ** 18n;
export const units = (amount: bigint | number, decimals: number): bigint => BigInt(amount) * 10n ** BigInt(decimals);
export const HEARTBEAT = 86_400n;

export const MODE_CROSS = 0;
export const MODE_ISOLATED = 1;
export const PAUSE_DEPOSIT = 1;
export const PAUSE_WITHDRAW = 2;
export const PAUSE_TRADE = 4;

export interface VaultFixture {
  vault: Vault;
  owner: HardhatEthersSigner;
  guardian: HardhatEthersSigner;
  alice: HardhatEthersSigner;
  bob: HardhatEthersSigner;
  mallory: HardhatEthersSigner;
  usdc: MockERC20;
  weth: MockERC20;
  wbtc: MockERC20;
  /** A listed token with 0 decimals, priced $5 by an 18-decimal feed. */
  zdec: MockERC20;
  ethFeed: MockAggregator;
  btcFeed: MockAggregator;
  zdecFeed: MockAggregator;
  ethOracle: ChainlinkOracle;
  btcOracle: ChainlinkOracle;
  zdecOracle: ChainlinkOracle;
  /** Listed, and rejected at deposit. */
  feeToken: FeeOnTransferToken;
  /** Listed; its transfers return false. */
  falseToken: ReturnsFalseToken;
  /** Listed; calls back into the Vault on transfer once armed. */
  reentrantToken: ReentrantToken;
  /** Every ERC-20 the Vault may hold, settlement first. */
  tokens: LedgerToken[];
  /** alice Cross, alice Isolated, bob Cross. */
  aliceCross: bigint;
  aliceIsolated: bigint;
  bobCross: bigint;
}

export async function deployFeed(
  decimals: number,
  answer: bigint,
  description = "TEST / USD",
): Promise<MockAggregator> {
  return ethers.deployContract("MockAggregator", [decimals, description, answer]);
}

export async function deployOracle(feed: MockAggregator, heartbeat = HEARTBEAT): Promise<ChainlinkOracle> {
  return ethers.deployContract("ChainlinkOracle", [await feed.getAddress(), heartbeat]);
}

/**
 * A Vault with USDC (6 decimals, settlement), WETH (18, 10 % haircut), WBTC (8, 15 %), a 0-decimal
 * token (20 %) and three adversarial tokens listed; three accounts; nothing deposited.
 */
export async function vaultFixture(): Promise<VaultFixture> {
  const [owner, guardian, alice, bob, mallory] = await ethers.getSigners();
  const usdc = await ethers.deployContract("MockERC20", ["USD Coin", "USDC", 6]);
  const weth = await ethers.deployContract("MockERC20", ["Wrapped Ether", "WETH", 18]);
  const wbtc = await ethers.deployContract("MockERC20", ["Wrapped Bitcoin", "WBTC", 8]);
  const zdec = await ethers.deployContract("MockERC20", ["Zero Decimals", "ZDEC", 0]);
  const feeToken = await ethers.deployContract("FeeOnTransferToken", [18, 100]);
  const falseToken = await ethers.deployContract("ReturnsFalseToken", []);
  const reentrantToken = await ethers.deployContract("ReentrantToken", []);

  const ethFeed = await deployFeed(8, units(3_000, 8), "ETH / USD");
  const btcFeed = await deployFeed(8, units(60_000, 8), "BTC / USD");
  const zdecFeed = await deployFeed(18, units(5, 18), "ZDEC / USD");
  const ethOracle = await deployOracle(ethFeed);
  const btcOracle = await deployOracle(btcFeed);
  const zdecOracle = await deployOracle(zdecFeed);

  const vault = await ethers.deployContract("Vault", [await usdc.getAddress(), owner.address, guardian.address]);
  await vault.listCollateral(weth, ethOracle, WAD / 10n, units(100_000, 18));
  await vault.listCollateral(wbtc, btcOracle, (WAD * 15n) / 100n, units(5_000, 8));
  await vault.listCollateral(zdec, zdecOracle, WAD / 5n, 1_000n);
  await vault.listCollateral(feeToken, ethOracle, 0n, units(1_000_000, 18));
  await vault.listCollateral(falseToken, ethOracle, 0n, units(1_000_000, 18));
  await vault.listCollateral(reentrantToken, ethOracle, 0n, units(1_000_000, 18));

  const create = async (signer: HardhatEthersSigner, mode: number) => {
    await vault.connect(signer).createAccount(mode);
    return vault.accountCount();
  };
  const aliceCross = await create(alice, MODE_CROSS);
  const aliceIsolated = await create(alice, MODE_ISOLATED);
  const bobCross = await create(bob, MODE_CROSS);

  return {
    vault,
    owner,
    guardian,
    alice,
    bob,
    mallory,
    usdc,
    weth,
    wbtc,
    zdec,
    ethFeed,
    btcFeed,
    zdecFeed,
    ethOracle,
    btcOracle,
    zdecOracle,
    feeToken,
    falseToken,
    reentrantToken,
    tokens: [usdc, weth, wbtc, zdec, feeToken, falseToken, reentrantToken],
    aliceCross,
    aliceIsolated,
    bobCross,
  };
}

/** Mints `amount` of `token` to `signer`, approves the Vault and deposits into `accountId`. */
export async function fundAccount(
  f: Pick<VaultFixture, "vault">,
  token: MockERC20,
  signer: HardhatEthersSigner,
  accountId: bigint,
  amount: bigint,
): Promise<void> {
  await token.mint(signer.address, amount);
  await token.connect(signer).approve(await f.vault.getAddress(), amount);
  await f.vault.connect(signer).deposit(accountId, await token.getAddress(), amount);
}
